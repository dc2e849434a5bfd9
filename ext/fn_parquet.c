/*
** fn_parquet.c: dbx_parquet(query, path [, options_json]), the rows of a
** local query written as Parquet by the writer of parquet.c.
**
**   SELECT dbx_parquet('SELECT * FROM events', '/tmp/events.parquet');
**   SELECT dbx_parquet('SELECT id, payload FROM events', '/tmp/out/',
**                      '{"schema": "id BIGINT NOT NULL, payload VARIANT",
**                        "file_size_mb": 64, "compression": "zstd"}');
**
** Returns {"rows": N, "files": N, "bytes": N, "seconds": S, "paths": [..]}.
** The query must be one read-only statement. Options: schema, file_size_mb,
** row_group_mb, row_group_rows, compression ("zstd" or "none"),
** zstd_level, dictionary; any other key is an error.
**
** Without schema, a column's type comes from its declared type when the
** query reads a table column: a type the type table knows is used, except
** that INT / INTEGER widen to BIGINT and FLOAT / REAL to DOUBLE (SQLite
** stores 64 bits), DECIMAL / NUMERIC need an explicit (p,s), JSON means
** JSON text (Parquet's JSON, a VARIANT remotely) and DATETIME a TIMESTAMP; else
** SQLite's affinity rules decide (INT -> BIGINT, CHAR/CLOB/TEXT -> STRING,
** BLOB -> BINARY, REAL/FLOA/DOUB -> DOUBLE). Columns still open (numeric
** affinity, expressions) take the storage classes of their values in the
** first 100 rows: integers only -> BIGINT, integers and reals -> DOUBLE,
** any text -> STRING, blobs only (or blobs and text) -> BINARY, all NULL
** -> STRING. A later value that does not fit the chosen type is an error.
**
** Reading the rows, and converting, encoding and writing them, overlap in
** two threads when SQLite is thread-safe; the conversions are shared
** between the two so that both stay busy (see pqf_pipe_run).
**
** SQLITE_DIRECTONLY: it writes files. No network; no session.
*/
#include <pthread.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "parquet.h"
#include "sqlgen.h"

/* Rows read ahead to type the columns that their declarations leave open. */
#define PQF_LOOKAHEAD 100

/* Reads options_json into *pOpt and *pzSchema (borrowed from pJson). */
static int pqf_options(const cJSON *pJson, DbxPqOptions *pOpt,
                       const char **pzSchema, DbxError *pErr) {
  const cJSON *pItem;
  *pzSchema = NULL;
  if (pJson == NULL) return SQLITE_OK;
  if (!cJSON_IsObject(pJson)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_parquet: options_json must be an object such "
                         "as {\"file_size_mb\": 64}");
  }
  cJSON_ArrayForEach(pItem, pJson) {
    const char *zKey = pItem->string;
    double r = pItem->valuedouble;
    int bNum = cJSON_IsNumber(pItem);
    if (strcmp(zKey, "schema") == 0 && cJSON_IsString(pItem)) {
      *pzSchema = pItem->valuestring;
    } else if (strcmp(zKey, "file_size_mb") == 0 && bNum && r >= 0 &&
               r <= 1e6) {
      pOpt->nFileBytes = (int64_t)(r * 1000 * 1000);
    } else if (strcmp(zKey, "row_group_mb") == 0 && bNum && r > 0 &&
               r <= 4096) {
      pOpt->nRowGroupBytes = (int64_t)(r * 1024 * 1024);
    } else if (strcmp(zKey, "row_group_rows") == 0 && bNum && r >= 1 &&
               r <= 1e9) {
      pOpt->nRowGroupRows = (int64_t)r;
    } else if (strcmp(zKey, "compression") == 0 && cJSON_IsString(pItem) &&
               (sqlite3_stricmp(pItem->valuestring, "zstd") == 0 ||
                sqlite3_stricmp(pItem->valuestring, "none") == 0 ||
                sqlite3_stricmp(pItem->valuestring, "uncompressed") == 0)) {
      pOpt->eCodec = sqlite3_stricmp(pItem->valuestring, "zstd") == 0
                         ? DBX_PQ_ZSTD
                         : DBX_PQ_UNCOMPRESSED;
    } else if (strcmp(zKey, "zstd_level") == 0 && bNum && r >= 1 && r <= 22 &&
               r == (int)r) {
      pOpt->iZstdLevel = (int)r;
    } else if (strcmp(zKey, "dictionary") == 0 && cJSON_IsBool(pItem)) {
      pOpt->bDictionary = cJSON_IsTrue(pItem);
    } else {
      static const char *const azKey[] = {
          "schema",      "file_size_mb", "row_group_mb", "row_group_rows",
          "compression", "zstd_level",   "dictionary"};
      size_t i;
      for (i = 0; i < DBX_ARRAY_SIZE(azKey); i++) {
        if (strcmp(zKey, azKey[i]) == 0) break;
      }
      if (i == DBX_ARRAY_SIZE(azKey)) {
        return dbx_error_set(pErr, SQLITE_ERROR,
                             "dbx_parquet: unknown option \"%.60s\" (known: "
                             "schema, file_size_mb, row_group_mb, "
                             "row_group_rows, compression, zstd_level, "
                             "dictionary)",
                             zKey);
      }
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "dbx_parquet: bad value for option \"%s\" "
                           "(schema: \"col TYPE, ...\"; file_size_mb: "
                           "0..1000000, 0 for one file; row_group_mb: "
                           "up to 4096; row_group_rows: 1 or more; "
                           "compression: \"zstd\" or \"none\"; zstd_level: "
                           "1..22; dictionary: true or false)",
                           zKey);
    }
  }
  return SQLITE_OK;
}

/*
** The type of column i from its declared type, into *pCol. Returns 1 when
** the declaration decides it, 0 when the values must.
*/
static int pqf_decltype(sqlite3_stmt *pStmt, int i, DbxPqColumn *pCol) {
  const char *zDecl = sqlite3_column_decltype(pStmt, i);
  const char *zRest;
  const DbxSqlType *pType;
  DbxError err;
  if (zDecl == NULL || zDecl[0] == 0) return 0;
  dbx_error_clear(&err);
  pType = dbx_sql_type_head(zDecl, &zRest);
  if (pType && dbx_parquet_type_parse(zDecl, pCol, &err) == SQLITE_OK) {
    pCol->bNotNull = 0; /* NOT NULL is not part of a declared type */
    switch (pCol->eType) {
    case DBX_PQ_INT:
      pCol->eType = DBX_PQ_BIGINT;
      return 1;
    case DBX_PQ_FLOAT:
      pCol->eType = DBX_PQ_DOUBLE;
      return 1;
    case DBX_PQ_DECIMAL:
      while (*zRest == ' ')
        zRest++;
      return *zRest == '(';
    default:
      return 1;
    }
  }
  /* two SQLite spellings Databricks lacks: JSON text, and DATETIME as
  ** datetime() writes it */
  if (sqlite3_strnicmp(zDecl, "JSON", 4) == 0 &&
      (zDecl[4] == 0 || zDecl[4] == ' ' || zDecl[4] == '(')) {
    pCol->eType = DBX_PQ_JSON;
    return 1;
  }
  if (sqlite3_strnicmp(zDecl, "DATETIME", 8) == 0 &&
      (zDecl[8] == 0 || zDecl[8] == ' ' || zDecl[8] == '(')) {
    pCol->eType = DBX_PQ_TIMESTAMP;
    return 1;
  }
  switch (dbx_sql_affinity(zDecl)) {
  case 'i':
    pCol->eType = DBX_PQ_BIGINT;
    return 1;
  case 't':
    pCol->eType = DBX_PQ_STRING;
    return 1;
  case 'b':
    pCol->eType = DBX_PQ_BINARY;
    return 1;
  case 'r':
    pCol->eType = DBX_PQ_DOUBLE;
    return 1;
  default:
    return 0;
  }
}

/* The type for column values of the storage classes in mask m (bit
** 1 << SQLITE_x for each class seen). */
static DbxPqType pqf_from_values(unsigned m) {
  if (m & (1u << SQLITE_TEXT)) {
    return (m & (1u << SQLITE_BLOB)) &&
                   !(m & ((1u << SQLITE_INTEGER) | (1u << SQLITE_FLOAT)))
               ? DBX_PQ_BINARY
               : DBX_PQ_STRING;
  }
  if (m & (1u << SQLITE_BLOB)) return DBX_PQ_BINARY;
  if (m & (1u << SQLITE_FLOAT)) return DBX_PQ_DOUBLE;
  if (m & (1u << SQLITE_INTEGER)) return DBX_PQ_BIGINT;
  return DBX_PQ_STRING;
}

/* Reads one SQLite value into *v (its text or blob borrowed from p). */
static inline void pqf_value(sqlite3_value *p, DbxPqValue *v) {
  v->eType = sqlite3_value_type(p);
  switch (v->eType) {
  case SQLITE_INTEGER:
    v->i = sqlite3_value_int64(p);
    break;
  case SQLITE_FLOAT:
    v->r = sqlite3_value_double(p);
    break;
  case SQLITE_TEXT:
    v->z = (const char *)sqlite3_value_text(p);
    v->n = sqlite3_value_bytes(p);
    break;
  case SQLITE_BLOB:
    v->z = sqlite3_value_blob(p);
    v->n = sqlite3_value_bytes(p);
    break;
  default:
    break;
  }
}

/* The same from protected values (sqlite3_value_dup, xUpdate's argv). */
void dbx_parquet_values(sqlite3_value **apVal, int nCol, DbxPqValue *aVal) {
  int i;
  for (i = 0; i < nCol; i++)
    pqf_value(apVal[i], &aVal[i]);
}

/* Steps pStmt, turning an error into pErr. Returns SQLITE_ROW,
** SQLITE_DONE or an error code. */
static int pqf_step(sqlite3 *db, sqlite3_stmt *pStmt, DbxError *pErr) {
  int rc = sqlite3_step(pStmt);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return rc;
  return dbx_error_set(pErr, rc, "dbx_parquet: the query failed: %s",
                       sqlite3_errmsg(db));
}

/* ---------------------------------------------------------------------
** The pipeline: one thread steps the query and copies its rows into a
** batch while another converts, encodes, compresses and writes the batch
** before it, so that reading SQLite and writing Parquet overlap.
** PQF_BATCHES batches, taken in turn; memory is bounded by them. Without
** a thread, rows go straight to the writer.
**
** Converting is shared: the reading thread converts the first nSplit
** columns of each row as it reads them, the writing thread the others
** before it appends the batch. nSplit moves by one column whenever one
** thread had to wait for the other, towards the side that waited, so
** that both stay busy. Conversion does not depend on the thread, so the
** file does not depend on nSplit; the first error in row order is the
** one reported, whichever thread found it. A text or blob equal to the
** one before it in its column (event rows repeat many) is kept once and
** converted once.
*/

/* A batch holds up to 256 rows, fewer for more than 64 columns (about
** 16384 values), and stops at PQF_BATCH_BYTES of text and blobs: with
** PQF_BATCHES of them, memory stays bounded however wide the rows. */
#define PQF_BATCH_ROWS   256
#define PQF_BATCH_VALUES 16384
#define PQF_BATCH_BYTES  (1 << 20)
#define PQF_AHEAD        4  /* rows: how far the writer prefetches */
#define PQF_BATCHES      16 /* in a ring: slack for either thread's bursts */

/* Bytes kept for a batch (SQLite's text and blobs, and the bytes
** conversions made), in blocks that never move once written, so that
** nothing pointing into them has to follow; emptied for the next batch,
** the blocks kept. */
#define PQF_BLOCK ((size_t)256 << 10)

typedef struct PqfBytes {
  char **azBlock;  /* owned: nBlock blocks */
  size_t *anBlock; /* the size of each */
  int nBlock;
  int iBlock;   /* the block being filled */
  size_t iUsed; /* bytes used in it */
  size_t nKept; /* bytes kept since emptied */
} PqfBytes;

/* Makes the next block of p the one being filled, with room for n
** bytes (a block too small for them is replaced by a bigger one).
** Returns SQLITE_OK or SQLITE_NOMEM. */
static int pqf_next_block(PqfBytes *p, size_t n) {
  size_t nNew = n > PQF_BLOCK ? n : PQF_BLOCK;
  if (p->iBlock < p->nBlock) p->iBlock++; /* this one is full */
  if (p->iBlock == p->nBlock) {
    int nMore = p->nBlock + 1;
    char **az = sqlite3_realloc64(p->azBlock, sizeof(char *) * nMore);
    size_t *an;
    if (az == NULL) return SQLITE_NOMEM;
    p->azBlock = az;
    an = sqlite3_realloc64(p->anBlock, sizeof(size_t) * nMore);
    if (an == NULL) return SQLITE_NOMEM;
    p->anBlock = an;
    az[p->nBlock] = NULL;
    an[p->nBlock] = 0;
    p->nBlock = nMore;
  }
  if (p->anBlock[p->iBlock] < n) {
    sqlite3_free(p->azBlock[p->iBlock]);
    p->anBlock[p->iBlock] = 0;
    p->azBlock[p->iBlock] = sqlite3_malloc64(nNew);
    if (p->azBlock[p->iBlock] == NULL) return SQLITE_NOMEM;
    p->anBlock[p->iBlock] = nNew;
  }
  p->iUsed = 0;
  return SQLITE_OK;
}

/* Copies the n bytes at z into p; returns the copy, NULL when out of
** memory. */
static inline const char *pqf_keep(PqfBytes *p, const char *z, size_t n) {
  char *zCopy;
  if ((p->iBlock >= p->nBlock || p->iUsed + n > p->anBlock[p->iBlock]) &&
      pqf_next_block(p, n)) {
    return NULL;
  }
  zCopy = p->azBlock[p->iBlock] + p->iUsed;
  memcpy(zCopy, z, n);
  p->iUsed += n;
  p->nKept += n;
  return zCopy;
}

/* Empties p for the next batch, keeping its blocks. */
static void pqf_bytes_empty(PqfBytes *p) {
  p->iBlock = 0;
  p->iUsed = 0;
  p->nKept = 0;
}

static void pqf_bytes_free(PqfBytes *p) {
  int i;
  for (i = 0; i < p->nBlock; i++)
    sqlite3_free(p->azBlock[i]);
  sqlite3_free(p->azBlock);
  sqlite3_free(p->anBlock);
}

/* Rows read by the reading thread, stored column after column: row r of
** column i at [i * nStride + r]. The values of the writer's
** columns (aVal, from nSplit on) and the cells of the reader's (aCell,
** before nSplit) that have bytes (SQLite's, or a conversion's) point
** into bytes. */
typedef struct PqfBatch {
  DbxPqValue *aVal; /* owned; nCol columns of nStride values */
  DbxPqCell *aCell; /* owned; nCol columns of nStride cells */
  int nStride;      /* the rows it holds at most */
  PqfBytes bytes;   /* the bytes of those values and cells */
  int nRow;
  int nSplit;    /* columns converted by the reading thread */
  int64_t iRow0; /* the number of the batch's first row, 1-based */
  int bFull;     /* handed to the writer thread */
} PqfBatch;

typedef struct PqfPipe {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  PqfBatch a[PQF_BATCHES];
  const DbxPqColumn *aCol; /* borrowed */
  int nCol;
  int bEnd;          /* no batch is coming any more */
  int bWriterWaited; /* the writer waited for a batch since last looked */
  int rc;            /* the writer's error (sticky), in err */
  DbxError err;
  DbxParquet *pW; /* borrowed */
  pthread_t tid;  /* the writing thread, when it runs */
  PqfBytes made;  /* the writer's: bytes its conversions made (number
                  ** text, wide DECIMALs) for the batch it writes */
} PqfPipe;

/* Whether v is a text or blob of at least one byte. */
static inline int pqf_has_bytes(const DbxPqValue *v) {
  return (v->eType == SQLITE_TEXT || v->eType == SQLITE_BLOB) && v->n > 0;
}

/* Whether the reading thread found text or blob v to be the value before
** it in its column (and kept its bytes once). */
static inline int pqf_repeat(const DbxPqValue *v) {
  return pqf_has_bytes(v) && v[-1].eType == v->eType && v[-1].n == v->n &&
         v[-1].z == v->z;
}

/*
** Converts the writer's columns of batch b into its cells and appends its
** rows. A conversion error stops at the first failing value in row order:
** the rows before it are appended (the file is removed anyway), the error
** returned. Returns SQLITE_OK or an error in pErr.
*/
static int pqf_write_batch(PqfPipe *p, PqfBatch *b, DbxError *pErr) {
  int nCol = p->nCol, nRow = b->nRow, i, r, rc = SQLITE_OK;
  int iBadRow = nRow, iBadCol = -1;
  unsigned char aScratch[DBX_PQ_SCRATCH];
  DbxError err;
  dbx_error_clear(&err);
  pqf_bytes_empty(&p->made);
  /* column by column: one type at a time */
  for (i = b->nSplit; i < nCol; i++) {
    const DbxPqColumn *pCol = &p->aCol[i];
    for (r = 0; r < iBadRow; r++) {
      int k = i * b->nStride + r;
      DbxPqCell *c = &b->aCell[k];
      if (r + PQF_AHEAD < nRow) {
        /* the bytes of a value a few rows on, stored by the other thread:
        ** on their way while these are converted */
        const DbxPqValue *w = &b->aVal[k + PQF_AHEAD];
        if (pqf_has_bytes(w)) __builtin_prefetch(w->z);
      }
      if (r > 0 && pqf_repeat(&b->aVal[k])) {
        *c = c[-1]; /* the previous row's value: its cell */
        continue;
      }
      if (dbx_parquet_convert(pCol, &b->aVal[k], b->iRow0 + r, c, aScratch,
                              &err)) {
        iBadRow = r; /* the earliest so far; later columns only before */
        iBadCol = i;
        dbx_error_clear(&err);
        break;
      }
      if (!c->bNull && dbx_parquet_cell_bytes(pCol) && c->z == aScratch &&
          (c->z = (const unsigned char *)pqf_keep(
               &p->made, (const char *)aScratch, (size_t)c->n)) == NULL) {
        return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      }
    }
  }
  rc = dbx_parquet_append_rows(p->pW, b->aCell, iBadRow, b->nStride, pErr);
  if (rc == SQLITE_OK && iBadCol >= 0) {
    DbxPqCell cell;
    int k = iBadCol * b->nStride + iBadRow;
    /* again, for the message */
    rc = dbx_parquet_convert(&p->aCol[iBadCol], &b->aVal[k], b->iRow0 + iBadRow,
                             &cell, aScratch, pErr);
  }
  return rc;
}

/* The writer thread: converts and appends the rows of each full batch,
** in turn. */
static void *pqf_writer(void *pArg) {
  PqfPipe *p = pArg;
  int k = 0;
  pthread_setname_np(pthread_self(), "dbx_parquet"); /* for top and perf */
  for (;;) {
    PqfBatch *b = &p->a[k];
    DbxError err;
    int rc;
    pthread_mutex_lock(&p->mu);
    if (!b->bFull && !p->bEnd) p->bWriterWaited = 1;
    while (!b->bFull && !p->bEnd)
      pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (!b->bFull) break; /* the end, and nothing left */
    dbx_error_clear(&err);
    rc = pqf_write_batch(p, b, &err);
    pthread_mutex_lock(&p->mu);
    if (rc) {
      p->rc = rc;
      p->err = err;
    }
    b->bFull = 0;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (rc) break;
    k = (k + 1) % PQF_BATCHES;
  }
  return NULL;
}

/* Whether text or blob v has the type and bytes of w. */
static inline int pqf_same(const DbxPqValue *v, const DbxPqValue *w) {
  return v->eType == w->eType && v->n == w->n &&
         dbx_parquet_same((const unsigned char *)v->z,
                          (const unsigned char *)w->z, (size_t)v->n);
}

/*
** Reads row iRow (1-based), whose values are apVal (nCol of them, valid
** until the next step), into batch b: converts its first b->nSplit
** columns, keeps the values of the others, copying the bytes that are
** SQLite's. Returns SQLITE_OK or an error in pErr: a conversion's (the row
** is left out), or out of memory.
*/
static int pqf_read_row(sqlite3_value **apVal, const DbxPqColumn *aCol,
                        int nCol, int64_t iRow, PqfBatch *b, DbxError *pErr) {
  int i, r = b->nRow, rc;
  unsigned char aScratch[DBX_PQ_SCRATCH];
  for (i = 0; i < b->nSplit; i++) {
    DbxPqCell *c = &b->aCell[i * b->nStride + r];
    DbxPqValue v;
    if (r + 2 < b->nStride) __builtin_prefetch(c + 2, 1);
    pqf_value(apVal[i], &v);
    rc = dbx_parquet_convert(&aCol[i], &v, iRow, c, aScratch, pErr);
    if (rc) return rc;
    /* SQLite's bytes, or the scratch's: kept in the batch */
    if (!c->bNull && c->n > 0 && dbx_parquet_cell_bytes(&aCol[i])) {
      c->z = (const unsigned char *)pqf_keep(&b->bytes, (const char *)c->z,
                                             (size_t)c->n);
      if (c->z == NULL) goto nomem;
    }
  }
  for (; i < nCol; i++) {
    DbxPqValue *v = &b->aVal[i * b->nStride + r], x;
    /* the line of this column a few rows on, last in the other thread's
    ** cache: on its way while this row is read */
    if ((r & 3) == 0) __builtin_prefetch(v + PQF_AHEAD, 1);
    /* read into x and stored once: v is not read back (a load of what
    ** was just stored in parts stalls) */
    pqf_value(apVal[i], &x);
    if (pqf_has_bytes(&x)) {
      if (r > 0 && pqf_same(&x, v - 1)) {
        x.z = v[-1].z; /* the previous row's, kept already */
      } else if ((x.z = pqf_keep(&b->bytes, x.z, (size_t)x.n)) == NULL) {
        goto nomem;
      }
    }
    *v = x;
  }
  b->nRow++;
  return SQLITE_OK;
nomem:
  return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
}

/* ---------------------------------------------------------------------
** The rows as an aggregate's arguments. sqlite3_column_value() takes the
** connection's mutex on every call, and each row returned costs a trip
** out of SQLite and back. So the reading thread runs the query as
**
**   WITH "dbx_parquet rows"(c0, .., cN) AS (<query>)
**   SELECT dbx_parquet_row(?1, c0, .., cN) FROM "dbx_parquet rows"
**
** with ?1 bound to its state (sqlite3_bind_pointer: no SQL can forge it;
** after the query's own parameters when their values were handed over).
** dbx_parquet_row() is an aggregate: one step reads every row, each call
** taking its row (pqf_take_row). SQLite keeps the rows in the query's
** order (an aggregate over one source with no GROUP BY reads them as they
** come). When the query has parameters whose values were not handed
** over, has more columns than a function takes, or does not fit in a
** WITH (PRAGMA, EXPLAIN), its rows are read with sqlite3_column_value(),
** one step each, and taken the same way.
**
** The first PQF_LOOKAHEAD rows are kept aside while a column's type is
** open (its declaration does not say it): their values decide it. Then
** the file is opened, those rows written, and the writing thread started
** (pqf_settle); the rows after them go through the batches.
*/

#define PQF_ROW_POINTER "dbx_parquet_row"

/* Where the rows come from and go, and the state of reading them. */
typedef struct PqfSource {
  sqlite3 *db;
  sqlite3_stmt *pStmt;           /* borrowed: the query */
  sqlite3_value *const *apParam; /* borrowed: nParam values bound to it */
  int nParam;
  sqlite3_stmt *pRows;   /* owned: the query through dbx_parquet_row() */
  sqlite3_value **apVal; /* owned: nCol values of pStmt's current row */
  DbxPqColumn *aCol;     /* borrowed; open types set by pqf_settle */
  int nCol;
  /* reading ahead */
  const int *abOpen;       /* borrowed: whether column i's type is open */
  unsigned *aMask;         /* owned: the storage classes seen in each */
  sqlite3_value **apSaved; /* owned: nAhead rows of nCol values */
  int nAhead;              /* rows to read ahead: PQF_LOOKAHEAD, or 0 */
  int nSaved;              /* rows read ahead so far */
  /* the file */
  const char *zPath;
  const DbxPqOptions *pOpt;
  DbxParquet *pW;   /* owned; open once settled */
  DbxPqValue *aTmp; /* owned: nCol values for dbx_parquet_append() */
  PqfPipe *pPipe;   /* borrowed: the batches and the writer */
  int bThread;      /* the writing thread runs */
  /* the batch being filled */
  int k;        /* the batch filled next */
  int nSplit;   /* columns converted here, adjusted batch by batch */
  PqfBatch *b;  /* the batch being filled, or NULL */
  int64_t iRow; /* rows read so far */
  int rc;       /* the first error of a row, in err */
  DbxError err;
} PqfSource;

/* Hands the batch being filled, if it holds rows, to the writer. */
static void pqf_batch_done(PqfSource *p) {
  PqfPipe *pipe = p->pPipe;
  if (p->b == NULL) return;
  if (p->b->nRow) {
    pthread_mutex_lock(&pipe->mu);
    p->b->bFull = 1;
    pthread_cond_broadcast(&pipe->cv);
    pthread_mutex_unlock(&pipe->mu);
    p->k = (p->k + 1) % PQF_BATCHES;
  }
  p->b = NULL;
}

/* Makes the next batch the one being filled, once the writer is done
** with it; converts one column more here when the writer was behind,
** one less when it waited. Returns SQLITE_OK or the writer's error
** (its message in the pipe). */
static int pqf_batch_next(PqfSource *p) {
  PqfPipe *pipe = p->pPipe;
  PqfBatch *b = &pipe->a[p->k];
  int rc;
  pthread_mutex_lock(&pipe->mu);
  if (b->bFull && pipe->rc == SQLITE_OK) {
    if (p->nSplit < p->nCol) p->nSplit++;
  } else if (pipe->bWriterWaited) {
    if (p->nSplit > 0) p->nSplit--;
  }
  pipe->bWriterWaited = 0;
  while (b->bFull && pipe->rc == SQLITE_OK)
    pthread_cond_wait(&pipe->cv, &pipe->mu);
  rc = pipe->rc;
  pthread_mutex_unlock(&pipe->mu);
  if (rc) return rc;
  b->nRow = 0;
  pqf_bytes_empty(&b->bytes);
  b->nSplit = p->nSplit;
  b->iRow0 = p->iRow + 1;
  p->b = b;
  return SQLITE_OK;
}

/* Keeps a copy of the row apVal aside, noting its storage classes.
** Returns SQLITE_OK or SQLITE_NOMEM in p->err. */
static int pqf_save_row(PqfSource *p, sqlite3_value **apVal) {
  sqlite3_value **ap = &p->apSaved[p->nSaved * p->nCol];
  int i;
  for (i = 0; i < p->nCol; i++) {
    ap[i] = sqlite3_value_dup(apVal[i]);
    if (ap[i] == NULL) {
      for (i--; i >= 0; i--)
        sqlite3_value_free(ap[i]);
      return dbx_error_set(&p->err, SQLITE_NOMEM, "out of memory");
    }
    p->aMask[i] |= 1u << sqlite3_value_type(ap[i]);
  }
  p->nSaved++;
  return SQLITE_OK;
}

/* Settles the open types from the rows read ahead, opens the file,
** writes those rows, and starts the writing thread (rows go straight to
** the file when there is none). Returns SQLITE_OK or an error in p->err. */
static int pqf_settle(PqfSource *p) {
  PqfPipe *pipe = p->pPipe;
  int i, k, rc;
  for (i = 0; p->nAhead && i < p->nCol; i++) {
    if (p->abOpen[i]) p->aCol[i].eType = pqf_from_values(p->aMask[i]);
  }
  rc = dbx_parquet_open(p->zPath, p->aCol, p->nCol, p->pOpt, &p->pW, &p->err);
  for (k = 0; rc == SQLITE_OK && k < p->nSaved; k++) {
    dbx_parquet_values(&p->apSaved[k * p->nCol], p->nCol, p->aTmp);
    rc = dbx_parquet_append(p->pW, p->aTmp, &p->err);
  }
  if (rc) return rc;
  p->iRow = dbx_parquet_rows(p->pW);
  pipe->pW = p->pW;
  /* the writer allocates from SQLite's heap, which only a thread-safe
  ** SQLite lets two threads share */
  p->bThread = sqlite3_threadsafe() &&
               pthread_create(&pipe->tid, NULL, pqf_writer, pipe) == 0;
  return SQLITE_OK;
}

/* Takes the next row, whose values are apVal (valid until the next
** step): aside while reading ahead, else into the batch being filled
** (or straight to the file without a writing thread). Returns SQLITE_OK,
** or an error in p->err: the row's (a conversion's, out of memory: the
** row is left out), the file's, or the writer's (its message in the
** pipe). */
static int pqf_take_row(PqfSource *p, sqlite3_value **apVal) {
  int rc;
  if (p->pW == NULL) {
    if (p->nSaved < p->nAhead) {
      rc = pqf_save_row(p, apVal);
      if (rc || p->nSaved < p->nAhead) return rc;
      return pqf_settle(p); /* the last row read ahead: written there */
    }
    if ((rc = pqf_settle(p)) != SQLITE_OK) return rc;
  }
  if (!p->bThread) {
    dbx_parquet_values(apVal, p->nCol, p->aTmp);
    return dbx_parquet_append(p->pW, p->aTmp, &p->err);
  }
  if (p->b == NULL && (rc = pqf_batch_next(p)) != SQLITE_OK) return rc;
  rc = pqf_read_row(apVal, p->aCol, p->nCol, p->iRow + 1, p->b, &p->err);
  if (rc) return rc;
  p->iRow++;
  if (p->b->nRow == p->b->nStride || p->b->bytes.nKept >= PQF_BATCH_BYTES) {
    pqf_batch_done(p);
  }
  return SQLITE_OK;
}

void dbx_fn_parquet_row(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  PqfSource *p =
      argc > 0 ? sqlite3_value_pointer(argv[0], PQF_ROW_POINTER) : NULL;
  if (p == NULL || argc - 1 != p->nCol) {
    sqlite3_result_error(ctx,
                         "dbx_parquet_row() only serves dbx_parquet(): call "
                         "that instead",
                         -1);
    return;
  }
  p->rc = pqf_take_row(p, argv + 1);
  if (p->rc) sqlite3_result_error_code(ctx, p->rc);
}

void dbx_fn_parquet_row_final(sqlite3_context *ctx) {
  (void)ctx; /* the rows went to the batches; the result is NULL */
}

/* Binds the query's parameter values, and the state, to p->pRows.
** Returns whether all were bound. */
static int pqf_rows_bind(PqfSource *p) {
  int i, rc = SQLITE_OK;
  for (i = 0; rc == SQLITE_OK && i < p->nParam; i++) {
    rc = p->apParam[i] ? sqlite3_bind_value(p->pRows, i + 1, p->apParam[i])
                       : sqlite3_bind_null(p->pRows, i + 1);
  }
  if (rc == SQLITE_OK) {
    rc =
        sqlite3_bind_pointer(p->pRows, p->nParam + 1, p, PQF_ROW_POINTER, NULL);
  }
  return rc == SQLITE_OK;
}

/* Prepares p->pRows when the query allows it (see above); leaves it NULL
** otherwise. Returns SQLITE_OK or SQLITE_NOMEM. */
static int pqf_rows_prepare(PqfSource *p) {
  const char *zSql = sqlite3_sql(p->pStmt), *zTail = NULL;
  size_t nSql;
  DbxBuf b = {0};
  int i;
  if (zSql == NULL || sqlite3_bind_parameter_count(p->pStmt) != p->nParam ||
      p->nCol + 1 > sqlite3_limit(p->db, SQLITE_LIMIT_FUNCTION_ARG, -1)) {
    return SQLITE_OK;
  }
  nSql = strlen(zSql);
  while (nSql > 0 && (zSql[nSql - 1] == ';' || zSql[nSql - 1] == ' ' ||
                      zSql[nSql - 1] == '\t' || zSql[nSql - 1] == '\n' ||
                      zSql[nSql - 1] == '\r')) {
    nSql--;
  }
  dbx_buf_appendf(&b, "WITH \"dbx_parquet rows\"(");
  for (i = 0; i < p->nCol; i++)
    dbx_buf_appendf(&b, "%sc%d", i ? "," : "", i);
  /* the query on lines of its own: a comment at its end ends there; its
  ** parameters keep their numbers (it comes first), the state is the
  ** one after them */
  dbx_buf_appendf(&b, ") AS (\n%.*s\n) SELECT dbx_parquet_row(?%d", (int)nSql,
                  zSql, p->nParam + 1);
  for (i = 0; i < p->nCol; i++)
    dbx_buf_appendf(&b, ",c%d", i);
  dbx_buf_appendf(&b, ") FROM \"dbx_parquet rows\"");
  if (b.rc) {
    dbx_buf_free(&b);
    return SQLITE_NOMEM;
  }
  if (sqlite3_prepare_v2(p->db, b.z, (int)b.n, &p->pRows, &zTail) !=
          SQLITE_OK ||
      p->pRows == NULL || zTail != b.z + b.n ||
      sqlite3_column_count(p->pRows) != 1 || !sqlite3_stmt_readonly(p->pRows) ||
      sqlite3_bind_parameter_count(p->pRows) != p->nParam + 1 ||
      !pqf_rows_bind(p)) {
    sqlite3_finalize(p->pRows);
    p->pRows = NULL;
  }
  dbx_buf_free(&b);
  return SQLITE_OK;
}

/* Reads every row of the query and takes it, settling at the end when
** fewer rows came than are read ahead. Returns SQLITE_OK or an error in
** pErr: a row's or the file's (p->err), or the query's; the writer's is
** the caller's to take from the pipe. */
static int pqf_read_rows(PqfSource *p, DbxError *pErr) {
  sqlite3_stmt *pStmt;
  int rc, i;
  rc = pqf_rows_prepare(p);
  if (rc) return dbx_error_set(pErr, rc, "out of memory");
  pStmt = p->pRows ? p->pRows : p->pStmt;
  while ((rc = pqf_step(p->db, pStmt, pErr)) == SQLITE_ROW) {
    if (p->pRows) continue; /* the aggregate's one row, all read */
    for (i = 0; i < p->nCol; i++)
      p->apVal[i] = sqlite3_column_value(pStmt, i);
    if ((p->rc = pqf_take_row(p, p->apVal)) != SQLITE_OK) break;
  }
  if (rc == SQLITE_DONE && p->rc == SQLITE_OK && p->pW == NULL) {
    p->rc = pqf_settle(p);
  }
  if (p->bThread) pqf_batch_done(p); /* the rows before an error too */
  if (p->rc) {
    *pErr = p->err; /* the row's error, not the statement's */
    return p->rc;
  }
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
** Writes the rows of pStmt (apParam: the nParam values bound to it),
** whose columns are aCol (abOpen: those whose types the rows read ahead
** decide, or NULL), to zPath: one thread reads while
** another encodes and writes, both converting (one thread does all when
** no second one can be started). Returns SQLITE_OK or the first error in
** pErr: the writer's (about earlier rows), else the reader's, else the
** query's; then no file is left.
*/
static int pqf_run(sqlite3 *db, sqlite3_stmt *pStmt,
                   sqlite3_value *const *apParam, int nParam, const char *zPath,
                   const DbxPqOptions *pOpt, DbxPqColumn *aCol, int nCol,
                   const int *abOpen, DbxPqReport *pReport, DbxError *pErr) {
  PqfPipe pipe;
  PqfSource src;
  int rc = SQLITE_OK, i, k, bOk;
  int nStride = PQF_BATCH_VALUES / nCol;
  if (nStride > PQF_BATCH_ROWS) nStride = PQF_BATCH_ROWS;
  if (nStride < 8) nStride = 8;
  memset(&pipe, 0, sizeof(pipe));
  memset(&src, 0, sizeof(src));
  src.db = db;
  src.pStmt = pStmt;
  src.apParam = apParam;
  src.nParam = nParam;
  src.aCol = aCol;
  src.nCol = nCol;
  src.abOpen = abOpen;
  for (i = 0; abOpen && i < nCol; i++) {
    if (abOpen[i]) src.nAhead = PQF_LOOKAHEAD;
  }
  if (src.nAhead) {
    src.aMask = sqlite3_malloc64(sizeof(unsigned) * (uint64_t)nCol);
    src.apSaved = sqlite3_malloc64(sizeof(sqlite3_value *) * (uint64_t)nCol *
                                   PQF_LOOKAHEAD);
    if (src.aMask) memset(src.aMask, 0, sizeof(unsigned) * (size_t)nCol);
  }
  src.zPath = zPath;
  src.pOpt = pOpt;
  src.apVal = sqlite3_malloc64(sizeof(sqlite3_value *) * (uint64_t)nCol);
  src.aTmp = sqlite3_malloc64(sizeof(DbxPqValue) * (uint64_t)nCol);
  src.pPipe = &pipe;
  src.nSplit = (nCol + 1) / 2;
  pipe.nCol = nCol;
  pipe.aCol = aCol;
  for (i = 0; i < PQF_BATCHES; i++) {
    pipe.a[i].nStride = nStride;
    pipe.a[i].aCell =
        sqlite3_malloc64(sizeof(DbxPqCell) * (uint64_t)nStride * nCol);
    pipe.a[i].aVal =
        sqlite3_malloc64(sizeof(DbxPqValue) * (uint64_t)nStride * nCol);
  }
  bOk = src.aTmp != NULL && src.apVal != NULL &&
        (src.nAhead == 0 || (src.aMask != NULL && src.apSaved != NULL));
  for (i = 0; i < PQF_BATCHES; i++) {
    bOk = bOk && pipe.a[i].aCell != NULL && pipe.a[i].aVal != NULL;
  }
  if (!bOk || pthread_mutex_init(&pipe.mu, NULL) != 0) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  if (pthread_cond_init(&pipe.cv, NULL) != 0) {
    pthread_mutex_destroy(&pipe.mu);
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  rc = pqf_read_rows(&src, pErr);
  if (src.bThread) {
    pthread_mutex_lock(&pipe.mu);
    pipe.bEnd = 1;
    pthread_cond_broadcast(&pipe.cv);
    pthread_mutex_unlock(&pipe.mu);
    pthread_join(pipe.tid, NULL);
    if (pipe.rc) {
      rc = pipe.rc;
      *pErr = pipe.err; /* it is about rows before any other error */
    }
  }
  pthread_cond_destroy(&pipe.cv);
  pthread_mutex_destroy(&pipe.mu);
  if (rc == SQLITE_OK) {
    rc = dbx_parquet_close(src.pW, pReport, pErr);
    src.pW = NULL;
  }
done:
  dbx_parquet_abort(src.pW);
  sqlite3_finalize(src.pRows);
  sqlite3_free(src.apVal);
  sqlite3_free(src.aTmp);
  for (k = 0; k < src.nSaved * nCol; k++)
    sqlite3_value_free(src.apSaved[k]);
  sqlite3_free(src.apSaved);
  sqlite3_free(src.aMask);
  for (i = 0; i < PQF_BATCHES; i++) {
    sqlite3_free(pipe.a[i].aCell);
    sqlite3_free(pipe.a[i].aVal);
    pqf_bytes_free(&pipe.a[i].bytes);
  }
  pqf_bytes_free(&pipe.made);
  return rc;
}

/* The JSON report. */
static char *pqf_report(const DbxPqReport *r, double rSeconds) {
  DbxBuf b = {0};
  int i;
  dbx_buf_appendf(&b,
                  "{\"rows\":%lld,\"files\":%d,\"bytes\":%lld,\"seconds\":%.3f,"
                  "\"paths\":[",
                  (long long)r->nRow, r->nFile, (long long)r->nByte, rSeconds);
  for (i = 0; i < r->nFile; i++) {
    if (i) dbx_buf_append(&b, ",", 1);
    dbx_buf_append_json(&b, r->azPath[i], strlen(r->azPath[i]));
  }
  dbx_buf_append(&b, "]}", 2);
  if (b.rc) {
    dbx_buf_free(&b);
    return NULL;
  }
  return dbx_buf_take(&b);
}

/*
** Runs the write: columns typed, rows appended, files closed. Fills
** *pReport. Without zSchema a column named in aFixed (nFixed of them)
** takes its type there, the others as the top of this file says. The
** columns written go to *paCol and *pnCol when paCol is not NULL. Returns
** SQLITE_OK or an error in pErr (every file removed).
*/
static int pqf_write(sqlite3 *db, sqlite3_stmt *pStmt,
                     sqlite3_value *const *apParam, int nParam,
                     const char *zPath, const char *zSchema,
                     const DbxPqColumn *aFixed, int nFixed,
                     const DbxPqOptions *pOpt, DbxPqReport *pReport,
                     DbxPqColumn **paCol, int *pnCol, DbxError *pErr) {
  int nCol = sqlite3_column_count(pStmt), i, rc = SQLITE_OK, k;
  DbxPqColumn *aCol = NULL;
  int *abOpen = NULL;

  if (zSchema) {
    int nSchema;
    rc = dbx_parquet_schema_parse(zSchema, &aCol, &nSchema, pErr);
    if (rc == SQLITE_OK && nSchema != nCol) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_parquet: the schema has %d columns but the "
                         "query returns %d",
                         nSchema, nCol);
      dbx_parquet_schema_free(aCol, nSchema);
    }
    if (rc) return rc;
  } else {
    aCol = sqlite3_malloc64(sizeof(*aCol) * (uint64_t)nCol);
    abOpen = sqlite3_malloc64(sizeof(int) * (uint64_t)nCol);
    if (aCol == NULL || abOpen == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    } else {
      memset(aCol, 0, sizeof(*aCol) * (size_t)nCol);
    }
    for (i = 0; rc == SQLITE_OK && i < nCol; i++) {
      const char *zName = sqlite3_column_name(pStmt, i);
      aCol[i].zName = dbx_strdup(zName ? zName : "");
      if (aCol[i].zName == NULL) {
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      }
      abOpen[i] = !pqf_decltype(pStmt, i, &aCol[i]);
      for (k = 0; aCol[i].zName && k < nFixed; k++) {
        if (sqlite3_stricmp(aFixed[k].zName, aCol[i].zName) == 0) {
          aCol[i].eType = aFixed[k].eType;
          aCol[i].nPrecision = aFixed[k].nPrecision;
          aCol[i].nScale = aFixed[k].nScale;
          abOpen[i] = 0;
          break;
        }
      }
    }
  }
  if (rc == SQLITE_OK) {
    rc = pqf_run(db, pStmt, apParam, nParam, zPath, pOpt, aCol, nCol, abOpen,
                 pReport, pErr);
  }
  sqlite3_free(abOpen);
  if (rc == SQLITE_OK && paCol) {
    *paCol = aCol;
    *pnCol = nCol;
  } else {
    dbx_parquet_schema_free(aCol, nCol);
  }
  return rc;
}

int dbx_parquet_query(sqlite3 *db, sqlite3_stmt *pStmt,
                      sqlite3_value *const *apParam, int nParam,
                      const char *zPath, const DbxPqColumn *aFixed, int nFixed,
                      const DbxPqOptions *pOpt, DbxPqReport *pReport,
                      DbxPqColumn **paCol, int *pnCol, DbxError *pErr) {
  *paCol = NULL;
  *pnCol = 0;
  return pqf_write(db, pStmt, apParam, nParam, zPath, NULL, aFixed, nFixed,
                   pOpt, pReport, paCol, pnCol, pErr);
}

/*
** dbx_parquet(query, path [, options_json]): writes the rows of query to
** Parquet and returns the JSON report.
*/
void dbx_fn_parquet(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *zSql = dbx_args_text(argc, argv, 0);
  const char *zPath = dbx_args_text(argc, argv, 1);
  const char *zOpts = dbx_args_text(argc, argv, 2);
  const char *zSchema = NULL, *zTail = NULL;
  sqlite3_stmt *pStmt = NULL;
  cJSON *pJson = NULL;
  DbxPqOptions opt;
  DbxPqReport report;
  DbxError err;
  int64_t iStart = dbx_now_ms();
  char *zOut;
  int rc = SQLITE_OK;

  dbx_error_clear(&err);
  memset(&report, 0, sizeof(report));
  if (argc < 2 || argc > 3 || zSql == NULL || zPath == NULL) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_parquet(query, path [, "
                         "options_json]) needs the query and the file path",
                         -1);
    return;
  }
  {
    static const char *const azWhat[] = {"the query", "the path",
                                         "options_json"};
    rc = dbx_args_check_all(argc, argv, azWhat, 2, 0, "dbx_parquet", &err);
  }
  dbx_parquet_options_init(&opt);
  if (rc == SQLITE_OK && zOpts && zOpts[0]) {
    pJson = cJSON_Parse(zOpts);
    if (pJson == NULL) {
      rc = dbx_error_set(&err, SQLITE_ERROR,
                         "dbx_parquet: options_json is not valid JSON (write "
                         "an object such as {\"file_size_mb\": 64})");
    } else {
      rc = pqf_options(pJson, &opt, &zSchema, &err);
    }
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, &zTail);
    if (rc) {
      dbx_error_set(&err, rc, "dbx_parquet: the query does not prepare: %s",
                    sqlite3_errmsg(db));
    } else if (pStmt == NULL || sqlite3_column_count(pStmt) == 0) {
      rc = dbx_error_set(&err, SQLITE_ERROR,
                         "dbx_parquet: the query returns no columns (give "
                         "a SELECT)");
    } else if (!sqlite3_stmt_readonly(pStmt)) {
      rc = dbx_error_set(&err, SQLITE_ERROR,
                         "dbx_parquet: the query must only read (give a "
                         "SELECT)");
    } else {
      while (zTail && (*zTail == ' ' || *zTail == '\n' || *zTail == '\t' ||
                       *zTail == '\r' || *zTail == ';'))
        zTail++;
      if (zTail && *zTail) {
        rc = dbx_error_set(&err, SQLITE_ERROR,
                           "dbx_parquet: give one statement (text follows "
                           "the first: '%.40s')",
                           zTail);
      }
    }
  }
  if (rc == SQLITE_OK) {
    rc = pqf_write(db, pStmt, NULL, 0, zPath, zSchema, NULL, 0, &opt, &report,
                   NULL, NULL, &err);
  }
  sqlite3_finalize(pStmt);
  cJSON_Delete(pJson);
  if (rc) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  zOut = pqf_report(&report, (double)(dbx_now_ms() - iStart) / 1000.0);
  dbx_parquet_report_free(&report);
  if (zOut == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}
