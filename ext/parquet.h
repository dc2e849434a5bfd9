/*
** parquet.h: a streaming Parquet writer (parquet.c) and the conversion of
** SQLite values into Parquet cells (parquet_value.c), part of the
** "formats" layer.
**
** Pure: no sqlite3 values or contexts and no network; the SQLite allocator
** only. A caller hands in values through DbxPqValue (the five SQLite
** storage classes, borrowed), so the SQL surface and the commit path
** share one set of conversions and checks.
**
**   DbxPqColumn *aCol; int nCol;
**   DbxPqOptions o;
**   DbxParquet *p;
**   dbx_parquet_schema_parse("id BIGINT NOT NULL, name STRING", &aCol,
**                            &nCol, &err);
**   dbx_parquet_options_init(&o);
**   rc = dbx_parquet_open("/tmp/out.parquet", aCol, nCol, &o, &p, &err);
**   while (rc == SQLITE_OK && more rows)
**     rc = dbx_parquet_append(p, aVal, &err);     (nCol values)
**   if (rc == SQLITE_OK) rc = dbx_parquet_close(p, &report, &err);
**   else dbx_parquet_abort(p);
**   dbx_parquet_schema_free(aCol, nCol);
**
** Files: the writer writes "<name>.tmp" and renames every file into place
** only when dbx_parquet_close() succeeds; dbx_parquet_abort(), and a
** failed close, remove every file it created, so no partial file is left
** behind under any name. A path ending in '/' is a directory (created if
** missing, one level) that receives part-00000.parquet, part-00001.parquet
** ...; any other path is the first file, and later ones are path.1,
** path.2 ... Files of an earlier run beyond the ones written are not
** removed.
*/
#ifndef DBX_PARQUET_H
#define DBX_PARQUET_H

#include "dbx_int.h"

/* ---------------------------------------------------------------------
** Column types
*/

/* The Databricks type of a column, as far as the writer cares. */
typedef enum DbxPqType {
  DBX_PQ_BOOLEAN = 0,   /* BOOLEAN */
  DBX_PQ_TINYINT,       /* INT32, INT(8, signed) */
  DBX_PQ_SMALLINT,      /* INT32, INT(16, signed) */
  DBX_PQ_INT,           /* INT32 */
  DBX_PQ_BIGINT,        /* INT64 */
  DBX_PQ_FLOAT,         /* FLOAT */
  DBX_PQ_DOUBLE,        /* DOUBLE */
  DBX_PQ_DECIMAL,       /* INT32 / INT64 / FIXED_LEN_BYTE_ARRAY by precision */
  DBX_PQ_DATE,          /* INT32 days since 1970-01-01 */
  DBX_PQ_TIMESTAMP,     /* INT64 microseconds, UTC (isAdjustedToUTC=true) */
  DBX_PQ_TIMESTAMP_NTZ, /* INT64 microseconds, wall clock */
  DBX_PQ_STRING,        /* BYTE_ARRAY, STRING (UTF8) */
  DBX_PQ_BINARY,        /* BYTE_ARRAY */
  DBX_PQ_JSON /* BYTE_ARRAY, JSON: VARIANT, ARRAY, MAP, STRUCT as text */
} DbxPqType;

/* One column of a file. */
typedef struct DbxPqColumn {
  char *zName; /* owned (sqlite3_free) */
  DbxPqType eType;
  int nPrecision; /* DECIMAL: 1..38 */
  int nScale;     /* DECIMAL: 0..nPrecision */
  int bNotNull;   /* REQUIRED: a NULL is an error */
} DbxPqColumn;

/*
** Reads a Databricks type text ("BIGINT", "decimal(10,2)", "ARRAY<INT>",
** "STRING NOT NULL") into *pCol (the name is left alone), through the type
** table of sqlgen.h. A trailing NOT NULL sets bNotNull. Returns SQLITE_OK,
** or SQLITE_ERROR with a message naming the type when the writer has no
** Parquet form for it (INTERVAL, VOID) or its parameters are wrong.
*/
int dbx_parquet_type_parse(const char *zType, DbxPqColumn *pCol,
                           DbxError *pErr);

/*
** Parses "name TYPE [NOT NULL], ..." (names bare or `quoted`; commas inside
** <> and () belong to the type) into a new array *paCol of *pnCol columns
** (free with dbx_parquet_schema_free). Returns SQLITE_OK or an error.
*/
int dbx_parquet_schema_parse(const char *zSchema, DbxPqColumn **paCol,
                             int *pnCol, DbxError *pErr);

/* Frees an array of nCol columns and their names (NULL is fine). */
void dbx_parquet_schema_free(DbxPqColumn *aCol, int nCol);

/* The type as Databricks SQL spells it ("DECIMAL(10,2)") into pBuf. */
void dbx_parquet_type_text(const DbxPqColumn *pCol, DbxBuf *pBuf);

/* ---------------------------------------------------------------------
** Values (parquet_value.c)
*/

/* A SQLite value, borrowed: eType is SQLITE_NULL, SQLITE_INTEGER,
** SQLITE_FLOAT, SQLITE_TEXT or SQLITE_BLOB; only the field of its type is
** set (16 bytes: the writer's batches hold many). */
typedef struct DbxPqValue {
  int eType;
  int n; /* SQLITE_TEXT / SQLITE_BLOB: the bytes at z */
  union {
    int64_t i;     /* SQLITE_INTEGER */
    double r;      /* SQLITE_FLOAT */
    const char *z; /* SQLITE_TEXT / SQLITE_BLOB: borrowed */
  };
} DbxPqValue;

/*
** A value converted for its column: what the file stores, in 16 bytes
** (rows of them are handed between threads). The field of its type is
** set: i, r, or (byte arrays, DECIMAL over 18 digits) z and n, which
** point into the DbxPqValue it came from or into the scratch bytes the
** conversion was given.
*/
typedef struct DbxPqCell {
  union {
    int64_t i;              /* integers, DATE days, timestamps, DECIMAL <= 18 */
    double r;               /* FLOAT / DOUBLE */
    const unsigned char *z; /* byte arrays and wide DECIMAL; borrowed */
  };
  int n;
  int bNull;
} DbxPqCell;

/* The scratch bytes a conversion may write (number text, DECIMAL
** big-endian bytes), which the cell then points into. */
#define DBX_PQ_SCRATCH 40

/*
** Converts pVal for column pCol (row iRow, 1-based, for the message) into
** *pCell, using aScratch (DBX_PQ_SCRATCH bytes, which must outlive the
** cell) for bytes it makes. Refused, with SQLITE_ERROR and a one-line
** message naming the column, the row and the value (cut to 60
** characters): a NULL in a NOT NULL column; a value of a storage class the
** type does not take; text that is not valid UTF-8 (STRING, JSON) or, for
** JSON, not one JSON value (dbx_json_valid); an integer out of range; text
** that is not a number; a DECIMAL needing more digits than its precision;
** a date or timestamp that does not parse or is out of range. The rules
** are the README's table of dbx_parquet() input conversions.
*/
int dbx_parquet_convert(const DbxPqColumn *pCol, const DbxPqValue *pVal,
                        int64_t iRow, DbxPqCell *pCell, unsigned char *aScratch,
                        DbxError *pErr);

/* Whether cells of column pCol point at bytes (byte arrays, a DECIMAL
** over 18 digits). */
static inline int dbx_parquet_cell_bytes(const DbxPqColumn *pCol) {
  return pCol->eType == DBX_PQ_STRING || pCol->eType == DBX_PQ_BINARY ||
         pCol->eType == DBX_PQ_JSON ||
         (pCol->eType == DBX_PQ_DECIMAL && pCol->nPrecision > 18);
}

/*
** The last bytes of the n at z as one word, read in whole loads (never
** byte by byte into a word: a load of bytes just stored one at a time
** stalls): the last 8, overlapping what comes before; for 4 to 7, two
** overlapping 4-byte loads; for 1 to 3, the first, middle and last byte;
** 0 for none. Every byte of the tail is in the word, each in a byte of
** its own, so two tails of the same length are equal when their words
** are.
*/
static inline uint64_t dbx_parquet_tail(const unsigned char *z, size_t n) {
  uint64_t v;
  uint32_t a, b;
  if (n >= 8) {
    memcpy(&v, z + n - 8, 8);
    return v;
  }
  if (n >= 4) {
    memcpy(&a, z, 4);
    memcpy(&b, z + n - 4, 4);
    return (uint64_t)a << 32 | b;
  }
  if (n == 0) return 0;
  return (uint64_t)z[0] << 16 | (uint64_t)z[n / 2] << 8 | z[n - 1];
}

/* Whether the n bytes at a and b are the same: short values (most
** dictionary entries, most repeated texts) in whole loads, without a
** call. */
static inline int dbx_parquet_same(const unsigned char *a,
                                   const unsigned char *b, size_t n) {
  uint64_t x, y;
  size_t k;
  if (n > 32) return memcmp(a, b, n) == 0;
  for (k = 8; k < n; k += 8) {
    memcpy(&x, a + k - 8, 8);
    memcpy(&y, b + k - 8, 8);
    if (x != y) return 0;
  }
  return dbx_parquet_tail(a, n) == dbx_parquet_tail(b, n);
}

/* Whether the n bytes at z are valid UTF-8 (no overlongs, surrogates or
** code points past U+10FFFF; NUL bytes are valid). */
int dbx_parquet_utf8_valid(const unsigned char *z, size_t n);

/* The bytes of a FIXED_LEN_BYTE_ARRAY for DECIMAL(nPrecision): 1..16. */
int dbx_parquet_decimal_bytes(int nPrecision);

/* ---------------------------------------------------------------------
** The writer (parquet.c)
*/

/* Compression codecs. */
#define DBX_PQ_UNCOMPRESSED 0
#define DBX_PQ_ZSTD         6 /* the CompressionCodec number of the format */

typedef struct DbxPqOptions {
  int64_t nFileBytes;     /* rotate after a row group once a file has this
                          ** much; 0: never. Default 128 MB */
  int64_t nRowGroupBytes; /* flush a row group at this many value bytes
                          ** (plain encoding size). Default 32 MiB */
  int64_t nRowGroupRows;  /* ... or this many rows. Default 1,000,000 */
  int eCodec;             /* DBX_PQ_ZSTD (default) or DBX_PQ_UNCOMPRESSED */
  int iZstdLevel;         /* 1..22, default 1 */
  int bDictionary;        /* try dictionary encoding; default 1 */
  int64_t nDictBytes;     /* fall back to PLAIN past this dictionary size;
                          ** default 1 MiB */
  int64_t nPageBytes;     /* data page size; default 256 KiB */
} DbxPqOptions;

/* Fills *p with the defaults. */
void dbx_parquet_options_init(DbxPqOptions *p);

/* What a finished write made. */
typedef struct DbxPqReport {
  int64_t nRow;  /* rows written */
  int nFile;     /* files written */
  int64_t nByte; /* bytes in all files */
  char **azPath; /* owned (dbx_parquet_report_free): the nFile paths */
} DbxPqReport;

void dbx_parquet_report_free(DbxPqReport *p);

typedef struct DbxParquet DbxParquet;

/*
** Starts a write to zPath (see the top of this file for the names) of nCol
** columns aCol (copied) with options pOpt (NULL: the defaults). Nothing is
** created until the first file is needed; a file is always made, even for
** zero rows. Returns SQLITE_OK and *ppOut, or an error (bad options, a
** directory that cannot be made) and *ppOut NULL.
*/
int dbx_parquet_open(const char *zPath, const DbxPqColumn *aCol, int nCol,
                     const DbxPqOptions *pOpt, DbxParquet **ppOut,
                     DbxError *pErr);

/*
** Converts and appends one row of nCol values aVal. A conversion error
** (dbx_parquet_convert) leaves the row out and the writer usable; an I/O
** or memory error is sticky: every later call returns it. Returns SQLITE_OK
** or an error in pErr.
*/
int dbx_parquet_append(DbxParquet *p, const DbxPqValue *aVal, DbxError *pErr);

/* Rows appended so far. */
int64_t dbx_parquet_rows(const DbxParquet *p);

/*
** Appends one row of cells that dbx_parquet_convert() made for these
** columns. Returns SQLITE_OK or an I/O or memory error (sticky).
*/
int dbx_parquet_append_cells(DbxParquet *p, const DbxPqCell *aCell,
                             DbxError *pErr);

/*
** Appends nRow rows of cells that dbx_parquet_convert() made for these
** columns, stored column after column: the cell of row r in column i is
** aCell[i * nStride + r]. The same file as dbx_parquet_append_cells() on
** each row; written column by column. Returns SQLITE_OK or an I/O or
** memory error (sticky).
*/
int dbx_parquet_append_rows(DbxParquet *p, const DbxPqCell *aCell, int nRow,
                            int nStride, DbxError *pErr);

/*
** Flushes the last row group, writes each footer, renames every file into
** place and frees p. Fills *pReport (may be NULL). On error every file is
** removed (as dbx_parquet_abort) and p is freed all the same.
*/
int dbx_parquet_close(DbxParquet *p, DbxPqReport *pReport, DbxError *pErr);

/* Removes every file the writer created and frees it (NULL is fine). */
void dbx_parquet_abort(DbxParquet *p);

/* ---------------------------------------------------------------------
** Encoders, exposed for the unit tests
*/

/* Thrift compact protocol: a struct being written into a DbxBuf. */
typedef struct DbxThrift {
  DbxBuf *pBuf;
  int aLast[8]; /* last field id per open struct */
  int nDepth;
} DbxThrift;

/* Thrift compact types. */
#define DBX_TH_BOOL_TRUE  1
#define DBX_TH_BOOL_FALSE 2
#define DBX_TH_I8         3
#define DBX_TH_I16        4
#define DBX_TH_I32        5
#define DBX_TH_I64        6
#define DBX_TH_BINARY     8
#define DBX_TH_LIST       9
#define DBX_TH_STRUCT     12

/* Starts writing into pBuf: the first dbx_thrift_begin(t, 0) opens the
** outermost struct. */
void dbx_thrift_init(DbxThrift *t, DbxBuf *pBuf);
/* An unsigned LEB128 varint. */
void dbx_thrift_varint(DbxBuf *p, uint64_t v);
/* A field header (and the value for a bool field). */
void dbx_thrift_field(DbxThrift *t, int id, int eType);
void dbx_thrift_i32(DbxThrift *t, int id, int32_t v);
void dbx_thrift_i64(DbxThrift *t, int id, int64_t v);
void dbx_thrift_bool(DbxThrift *t, int id, int b);
void dbx_thrift_binary(DbxThrift *t, int id, const void *z, size_t n);
/* A list field header: nElem elements of eType follow. */
void dbx_thrift_list(DbxThrift *t, int id, int eType, int nElem);
/* Opens a struct: as field id (id > 0), or as a list element (id == 0). */
void dbx_thrift_begin(DbxThrift *t, int id);
/* Writes the stop byte of the innermost open struct. */
void dbx_thrift_end(DbxThrift *t);

/*
** The RLE / bit-packing hybrid encoding of n values of bit width nBit
** (1..32), without a length prefix: runs of 8 or more equal values that
** start at a group boundary become RLE runs, the rest bit-packed groups
** of 8 (the last one padded with zeros).
*/
void dbx_parquet_rle(DbxBuf *p, const uint32_t *a, size_t n, int nBit);

#endif /* DBX_PARQUET_H */
