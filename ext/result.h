/*
** result.h: result decoding (result.c), the "formats" layer of reads.
**
** Turns the column schema of a Statement Execution API manifest and the
** JSON_ARRAY values of its chunks into SQLite-independent cells, with the
** type mapping of the README:
**
**   TINYINT/SMALLINT/INT/BIGINT, BOOLEAN   -> INTEGER (true = 1)
**   FLOAT, DOUBLE                          -> REAL ("NaN", "Infinity" too)
**   DECIMAL(p,s), p <= 15                  -> REAL
**   DECIMAL(p,s), p > 15                   -> TEXT, the exact digits
**   TIMESTAMP                              -> TEXT 'YYYY-MM-DD HH:MM:SS[.f]'
**                                             in UTC (what datetime() and
**                                             julianday() read; fraction
**                                             kept, trailing zeros dropped)
**   TIMESTAMP_NTZ                          -> TEXT, same form, no zone shift
**   DATE, STRING, CHAR, INTERVAL           -> TEXT
**   BINARY                                 -> BLOB (hex decoded)
**   ARRAY, MAP, STRUCT, VARIANT            -> TEXT holding JSON (bJson set)
**   an unknown type_name                   -> decided from type_text
**
** Nothing here knows about HTTP or sqlite3 contexts; the cell type codes
** have the values of SQLite's fundamental types so the SQL surface can pass
** them straight through.
*/
#ifndef DBX_RESULT_H
#define DBX_RESULT_H

#include <cjson/cJSON.h>

#include "dbx_int.h"
#include "sqlgen.h"

/* One result column. */
typedef struct DbxColumn {
  char *zName;     /* owned; column name as Databricks reports it */
  char *zTypeName; /* owned; type_name (upper case), "" when absent */
  char *zTypeText; /* owned; type_text as sent, e.g. "DECIMAL(10,2)" */
  int nPrecision;  /* DECIMAL precision, else 0 */
  int nScale;      /* DECIMAL scale, else 0 */
  DbxKind eKind;   /* how values decode */
} DbxColumn;

/* Cell types: equal to SQLITE_INTEGER .. SQLITE_NULL. */
#define DBX_CELL_INTEGER 1
#define DBX_CELL_REAL    2
#define DBX_CELL_TEXT    3
#define DBX_CELL_BLOB    4
#define DBX_CELL_NULL    5

/*
** One decoded value. z points either into the parsed chunk or into a
** scratch buffer of the caller; either way it is borrowed and valid until
** the next row is decoded.
*/
typedef struct DbxCell {
  int eType;     /* DBX_CELL_* */
  int bJson;     /* TEXT that is JSON (complex types, VARIANT) */
  int64_t iVal;  /* DBX_CELL_INTEGER */
  double rVal;   /* DBX_CELL_REAL */
  const char *z; /* DBX_CELL_TEXT (NUL-terminated) / DBX_CELL_BLOB; borrowed */
  size_t n;      /* bytes at z, without the NUL */
} DbxCell;

/*
** Decides the kind of a column (DbxKind, in sqlgen.h) from its type_name
** and type_text (either may be NULL; compared case-insensitively) by the
** type table of sqlgen.c. Also returns the DECIMAL precision
** and scale read from type_text when pnPrecision/pnScale are not NULL and
** the caller has none (leave them 0 to have them parsed).
*/
DbxKind dbx_result_kind(const char *zTypeName, const char *zTypeText,
                        int *pnPrecision, int *pnScale);

/*
** Reads manifest.schema ({"column_count":N,"columns":[ColumnInfo...]}) into
** a new array of columns ordered by position. *paCol is freed with
** dbx_result_columns_free(*paCol, *pnCol). pSchema may be NULL or lack
** columns (a statement without a result set): zero columns. Returns
** SQLITE_OK, SQLITE_NOMEM, or SQLITE_ERROR with pErr set when malformed.
*/
int dbx_result_columns(const cJSON *pSchema, DbxColumn **paCol, int *pnCol,
                       DbxError *pErr);
void dbx_result_columns_free(DbxColumn *aCol, int nCol);

/*
** Decodes one JSON_ARRAY value (a JSON string, or null for SQL NULL; JSON
** numbers and booleans are accepted too) of column pCol into *pCell.
** pScratch holds converted bytes (TIMESTAMP text, BINARY bytes): it is reset
** first, so use one scratch buffer per column of a row. Returns SQLITE_OK,
** SQLITE_NOMEM, or SQLITE_MISMATCH with pErr naming the column when the text
** cannot be read as the column's type (e.g. a bad hex string).
*/
int dbx_result_decode(const DbxColumn *pCol, const cJSON *pValue,
                      DbxBuf *pScratch, DbxCell *pCell, DbxError *pErr);

/* The same for a raw value: z (n bytes) or z == NULL for SQL NULL. */
int dbx_result_decode_text(const DbxColumn *pCol, const char *z, size_t n,
                           DbxBuf *pScratch, DbxCell *pCell, DbxError *pErr);

/*
** Appends a row as a JSON object {"col": value, ...} to pOut: INTEGER and
** REAL as JSON numbers (non-finite REAL as null), BOOLEAN columns as
** true/false, JSON-holding TEXT embedded as JSON, other TEXT as strings,
** BLOB as a lower-case hex string, NULL as null. Duplicate column names
** are kept as sent. Errors are left in pOut->rc.
*/
void dbx_result_row_json(const DbxColumn *aCol, const DbxCell *aCell, int nCol,
                         DbxBuf *pOut);

/*
** A cursor over a downloaded JSON_ARRAY chunk, `[[v, ...], ...]`, that
** decodes one row at a time in place: no tree is built, so a chunk costs its
** own bytes and nothing more. Strings are unescaped where they stand and
** NUL-terminated; null is SQL NULL; a bare number, boolean or nested value
** (Databricks sends strings, but these are unambiguous) is kept as its text.
*/
typedef struct DbxRowScan {
  char *z;   /* borrowed; the chunk body, rewritten in place */
  size_t n;  /* bytes at z */
  size_t i;  /* next byte to read */
  int bOpen; /* the outer '[' was read */
} DbxRowScan;

/* Starts a scan of the n bytes at z (which must outlive the scan). */
void dbx_rowscan_init(DbxRowScan *p, char *z, size_t n);

/*
** Reads the next row into azVal/anVal (nCol slots: a missing value is
** NULL, extra values are skipped) and the number of values the row really
** holds into *pnVal (when not NULL), so the caller can refuse a row wider
** or narrower than its schema. Returns SQLITE_ROW, SQLITE_DONE after the
** last row, or SQLITE_ERROR with pErr set when the body is not a JSON array
** of rows. The values are borrowed from the body; a string keeps every
** byte, an escaped NUL included (anVal says how many).
*/
int dbx_rowscan_next(DbxRowScan *p, int nCol, const char **azVal, size_t *anVal,
                     int *pnVal, DbxError *pErr);

/* ---------------------------------------------------------------------
** A reader of result chunks: the result schema, the rows of the chunk it
** was last fed, and the cells of the current row. What moves the bytes
** (statements.c) feeds it chunk by chunk and checks the counts it reports
** against what was promised; the reader only parses and decodes.
**
**   dbx_result_reader_new(pSchema, &pReader, &err);
**   dbx_result_reader_feed(pReader, zChunk, nChunk);
**   while ((rc = dbx_result_reader_next(pReader, &nVal, &err)) == SQLITE_ROW)
**     dbx_result_reader_cell(pReader, i, &cell, &err);
*/
typedef struct DbxResultReader DbxResultReader;

/*
** Makes a reader for the columns of manifest.schema pSchema (read as
** dbx_result_columns does; NULL: zero columns). Returns SQLITE_OK with
** *ppOut (free with dbx_result_reader_free), or an error with pErr set and
** *ppOut NULL.
*/
int dbx_result_reader_new(const cJSON *pSchema, DbxResultReader **ppOut,
                          DbxError *pErr);
void dbx_result_reader_free(DbxResultReader *p);

/*
** Makes the JSON_ARRAY rows at z (n bytes, `[[v, ...], ...]`) the current
** chunk. They are read in place: z is rewritten and must stay until the
** next feed. No row is current until dbx_result_reader_next().
*/
void dbx_result_reader_feed(DbxResultReader *p, char *z, size_t n);

/*
** Reads the next row of the current chunk: SQLITE_ROW with *pnVal the
** number of values the row really holds (which may differ from the column
** count: the caller decides), SQLITE_DONE at the end of the chunk (or
** without one), or SQLITE_ERROR with pErr set when the chunk is not a JSON
** array of rows.
*/
int dbx_result_reader_next(DbxResultReader *p, int *pnVal, DbxError *pErr);

/*
** Decodes column iCol of the current row (see dbx_result_decode_text). The
** cell's text or blob is borrowed, valid until the next row is read.
** SQLITE_RANGE (cell NULL) without a current row or such a column.
*/
int dbx_result_reader_cell(DbxResultReader *p, int iCol, DbxCell *pCell,
                           DbxError *pErr);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12,
** d 1..31; Howard Hinnant's algorithm), for result.c and parquet_value.c. */
int64_t dbx_result_days_from_civil(int64_t y, int m, int d);

/* The result schema (borrowed; zero columns for most DDL). */
int dbx_result_reader_column_count(const DbxResultReader *p);
const DbxColumn *dbx_result_reader_column(const DbxResultReader *p, int iCol);

#endif /* DBX_RESULT_H */
