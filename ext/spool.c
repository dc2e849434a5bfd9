/*
** spool.c: the rows of an open write transaction, on disk (spool.h).
**
** A row is kept as a record: its length (4 bytes), then one cell per
** column:
**
**   tag 0             NULL (also the fill column, set when written out)
**   tag 1, 8 bytes    an integer, DATE, timestamp or DECIMAL up to 18
**                     digits, little-endian
**   tag 2, 8 bytes    a FLOAT or DOUBLE, its IEEE bits little-endian
**   tag 3, 4 bytes n  a byte array or wide DECIMAL: n, then n bytes
**
** A plain spool appends records to a file of its own (made with mkstemp
** and unlinked at once, so a crash leaves nothing). A keyed spool keeps
** them in a private SQLite database (an anonymous temporary file), one row
** per key, whose key is the record of the key columns alone:
**
**   CREATE TABLE ops(k BLOB PRIMARY KEY, seq INTEGER, del INTEGER, row BLOB)
**
** Both are the extension's own, read back without distrust beyond staying
** inside what was written.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

/* Bytes of the write buffer, and of the first read window. */
#define SPOOL_BUFFER (256 * 1024)

/* Savepoint marks kept at most (SQLite nests far fewer in practice). */
#define SPOOL_MAX_MARKS 64

/* Where a savepoint left the spool. */
typedef struct SpoolMark {
  int iSave;       /* SQLite's savepoint number */
  int64_t iOffset; /* bytes in the file then */
  int64_t nRow;    /* rows then */
} SpoolMark;

struct DbxSpool {
  DbxPqColumn *aCol; /* owned copies (names included) */
  int nCol;
  int iFill;         /* column set at the write, or -1 */
  char *aKind;       /* per column: 1 integer, 2 real, 3 bytes */
  int64_t nRow;      /* rows (keyed: keys) */
  int rcSticky;      /* an I/O error ends the spool */
  DbxPqCell *aCell;  /* nCol cells of the row being converted, and one */
  DbxPqCell *aOld;   /* nCol cells of a row read back */
  uint8_t *aScratch; /* DBX_PQ_SCRATCH bytes for each of aCell's */
  DbxBuf rec;        /* the record being made */
  SpoolMark aMark[SPOOL_MAX_MARKS];
  int nMark;
  /* plain */
  int fd;          /* the unlinked file, or -1 */
  DbxBuf out;      /* bytes not yet written to fd */
  int64_t iOffset; /* bytes in the file plus out.n */
  /* keyed */
  sqlite3 *db;        /* the private database, or NULL */
  sqlite3_stmt *pGet; /* SELECT del, row FROM ops WHERE k = ?1 */
  sqlite3_stmt *pPut; /* INSERT OR REPLACE INTO ops ... */
  int *aiKey;         /* key columns */
  int nKey;
  int *aiVersion; /* version columns */
  int nVersion;
  int64_t iSeq; /* operations so far */
  DbxBuf key;   /* the key record being made */
};

/* The record tag of a column's cells: which field of DbxPqCell it sets. */
static char spool_kind(const DbxPqColumn *pCol) {
  switch (pCol->eType) {
  case DBX_PQ_FLOAT:
  case DBX_PQ_DOUBLE:
    return 2;
  case DBX_PQ_STRING:
  case DBX_PQ_BINARY:
  case DBX_PQ_JSON:
    return 3;
  case DBX_PQ_DECIMAL:
    return pCol->nPrecision > 18 ? 3 : 1;
  default:
    return 1;
  }
}

static void put_le(DbxBuf *b, uint64_t u, int n) {
  unsigned char a[8];
  int k;
  for (k = 0; k < n; k++, u >>= 8)
    a[k] = (unsigned char)u;
  dbx_buf_put(b, a, (size_t)n);
}

static uint64_t get_le(const unsigned char *z, int n) {
  uint64_t u = 0;
  while (n-- > 0)
    u = (u << 8) | z[n];
  return u;
}

/*
** Appends the record of the cells of columns ai (or 0..n-1 when ai is
** NULL) to b: the length, then each cell.
*/
static void record_put(const DbxSpool *p, const DbxPqCell *aCell, const int *ai,
                       int n, DbxBuf *b) {
  size_t iLen = b->n;
  int i;
  put_le(b, 0, 4); /* the length, filled in below */
  for (i = 0; i < n; i++) {
    int iCol = ai ? ai[i] : i;
    const DbxPqCell *c = &aCell[iCol];
    unsigned char tag = c->bNull ? 0 : (unsigned char)p->aKind[iCol];
    dbx_buf_put(b, &tag, 1);
    if (tag == 1) {
      put_le(b, (uint64_t)c->i, 8);
    } else if (tag == 2) {
      uint64_t u;
      memcpy(&u, &c->r, 8);
      put_le(b, u, 8);
    } else if (tag == 3) {
      put_le(b, (uint64_t)(uint32_t)c->n, 4);
      dbx_buf_put(b, c->z, (size_t)c->n);
    }
  }
  if (b->rc == SQLITE_OK) {
    uint32_t nRec = (uint32_t)(b->n - iLen - 4);
    int k;
    for (k = 0; k < 4; k++)
      b->z[iLen + k] = (char)(nRec >> (8 * k));
  }
}

/*
** Reads the nRec bytes of a record body at z into the cells of columns
** ai (or 0..n-1), byte arrays pointing into z. Returns 0 when the bytes
** are not such a record.
*/
static int record_get(const DbxSpool *p, const unsigned char *z, size_t nRec,
                      const int *ai, int n, DbxPqCell *aCell) {
  size_t i = 0;
  int k;
  for (k = 0; k < n; k++) {
    int iCol = ai ? ai[k] : k;
    DbxPqCell *c = &aCell[iCol];
    unsigned char tag;
    if (i >= nRec) return 0;
    tag = z[i++];
    c->bNull = tag == 0;
    if (tag == 1 || tag == 2) {
      uint64_t u;
      if (nRec - i < 8) return 0;
      u = get_le(z + i, 8);
      if (tag == 1)
        c->i = (int64_t)u;
      else
        memcpy(&c->r, &u, 8);
      i += 8;
    } else if (tag == 3) {
      if (nRec - i < 4) return 0;
      c->n = (int)get_le(z + i, 4);
      i += 4;
      if (c->n < 0 || nRec - i < (size_t)c->n) return 0;
      c->z = z + i;
      i += (size_t)c->n;
    } else if (tag != 0) {
      return 0;
    }
    if (tag && tag != (unsigned char)p->aKind[iCol]) return 0;
  }
  return i == nRec;
}

static int spool_io_error(DbxSpool *p, const char *zWhat, DbxError *pErr) {
  p->rcSticky = SQLITE_IOERR;
  return dbx_error_set(pErr, SQLITE_IOERR,
                       "cannot %s the rows staged for the commit in %s (%s): "
                       "free space there, or set TMPDIR to a directory with "
                       "room",
                       zWhat, dbx_temp_dir(), strerror(errno));
}

/* The error of the private database of a keyed spool; sticky. */
static int spool_db_error(DbxSpool *p, int rc, DbxError *pErr) {
  p->rcSticky = rc;
  return dbx_error_set(pErr, rc,
                       "cannot keep the rows staged for the commit in %s "
                       "(%s): free space there, or set TMPDIR to a "
                       "directory with room",
                       dbx_temp_dir(), sqlite3_errstr(rc));
}

static int spool_lost(DbxSpool *p, DbxError *pErr) {
  return dbx_error_set(pErr, p->rcSticky,
                       "the rows staged for the commit were lost to an "
                       "earlier error: roll back");
}

/* Writes out what the buffer of a plain spool holds. */
static int spool_flush(DbxSpool *p, DbxError *pErr) {
  size_t i = 0;
  while (i < p->out.n) {
    ssize_t n = write(p->fd, p->out.z + i, p->out.n - i);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return spool_io_error(p, "write", pErr);
    i += (size_t)n;
  }
  dbx_buf_reset(&p->out);
  return SQLITE_OK;
}

/* The part both kinds share: columns copied, cells allocated. */
static int spool_new(const DbxPqColumn *aCol, int nCol, int iFill,
                     DbxSpool **pp, DbxError *pErr) {
  DbxSpool *p;
  int i;
  *pp = NULL;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  p->fd = -1;
  p->nCol = nCol;
  p->iFill = iFill;
  p->aCol = sqlite3_malloc64(sizeof(DbxPqColumn) * (sqlite3_uint64)nCol);
  p->aKind = sqlite3_malloc64((sqlite3_uint64)nCol);
  /* one more cell: the operation of a keyed spool's rows */
  p->aCell = sqlite3_malloc64(sizeof(DbxPqCell) * (sqlite3_uint64)(nCol + 1));
  p->aOld = sqlite3_malloc64(sizeof(DbxPqCell) * (sqlite3_uint64)nCol);
  p->aScratch =
      sqlite3_malloc64((sqlite3_uint64)DBX_PQ_SCRATCH * (sqlite3_uint64)nCol);
  if (p->aCol) memset(p->aCol, 0, sizeof(DbxPqColumn) * (size_t)nCol);
  for (i = 0; p->aCol && p->aKind && i < nCol; i++) {
    p->aCol[i] = aCol[i];
    p->aCol[i].zName = dbx_strdup(aCol[i].zName);
    p->aKind[i] = spool_kind(&aCol[i]);
  }
  if (!p->aCol || !p->aKind || !p->aCell || !p->aOld || !p->aScratch ||
      (nCol && p->aCol[nCol - 1].zName == NULL)) {
    dbx_spool_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  *pp = p;
  return SQLITE_OK;
}

int dbx_spool_open(const DbxPqColumn *aCol, int nCol, int iFill, DbxSpool **pp,
                   DbxError *pErr) {
  DbxSpool *p;
  char *zPath;
  int rc = spool_new(aCol, nCol, iFill, &p, pErr);
  if (rc) return rc;
  zPath = sqlite3_mprintf("%s/dbx-spool-XXXXXX", dbx_temp_dir());
  if (zPath) p->fd = mkstemp(zPath);
  if (zPath && p->fd >= 0) unlink(zPath);
  sqlite3_free(zPath);
  if (p->fd < 0) {
    rc = spool_io_error(p, "create a file for", pErr);
    dbx_spool_free(p);
    return rc;
  }
  *pp = p;
  return SQLITE_OK;
}

int dbx_spool_open_keyed(const DbxPqColumn *aCol, int nCol, int iFill,
                         const int *aiKey, int nKey, const int *aiVersion,
                         int nVersion, DbxSpool **pp, DbxError *pErr) {
  DbxSpool *p;
  int i, rc = spool_new(aCol, nCol, iFill, &p, pErr);
  if (rc) return rc;
  p->aiKey = sqlite3_malloc64(sizeof(int) * (sqlite3_uint64)(nKey + 1));
  p->aiVersion = sqlite3_malloc64(sizeof(int) * (sqlite3_uint64)(nVersion + 1));
  if (p->aiKey == NULL || p->aiVersion == NULL) {
    dbx_spool_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memcpy(p->aiKey, aiKey, sizeof(int) * (size_t)nKey);
  if (nVersion) memcpy(p->aiVersion, aiVersion, sizeof(int) * (size_t)nVersion);
  p->nKey = nKey;
  p->nVersion = nVersion;
  for (i = 0; i < nVersion; i++) {
    if (p->aKind[aiVersion[i]] != 1) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "version column \"%s\" must hold integers (BIGINT, "
                         "INT, ...)",
                         aCol[aiVersion[i]].zName);
      dbx_spool_free(p);
      return rc;
    }
  }
  /* "": a private database in a temporary file, removed when closed */
  rc = sqlite3_open_v2("", &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                       NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(p->db,
                      "PRAGMA cache_size = -2048;"
                      "CREATE TABLE ops(k BLOB PRIMARY KEY, seq INTEGER NOT "
                      "NULL, del INTEGER NOT NULL, row BLOB) WITHOUT ROWID;"
                      "SAVEPOINT base",
                      NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(p->db, "SELECT del, row FROM ops WHERE k = ?1", -1,
                            &p->pGet, NULL);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(p->db,
                            "INSERT OR REPLACE INTO ops(k, seq, del, row) "
                            "VALUES (?1, ?2, ?3, ?4)",
                            -1, &p->pPut, NULL);
  }
  if (rc) {
    rc = spool_db_error(p, rc, pErr);
    dbx_spool_free(p);
    return rc;
  }
  *pp = p;
  return SQLITE_OK;
}

/* Converts the values of columns ai (0..n-1 when NULL) into p->aCell. */
static int spool_convert(DbxSpool *p, const DbxPqValue *aVal, const int *ai,
                         int n, DbxError *pErr) {
  int i, rc;
  for (i = 0; i < n; i++) {
    int iCol = ai ? ai[i] : i;
    DbxPqCell *c = &p->aCell[iCol];
    if (iCol == p->iFill) {
      c->bNull = 1;
      continue;
    }
    rc = dbx_parquet_convert(&p->aCol[iCol], &aVal[i], p->nRow + 1, c,
                             &p->aScratch[iCol * DBX_PQ_SCRATCH], pErr);
    if (rc) return rc;
  }
  return SQLITE_OK;
}

/* Keyed: whether the upsert in p->aCell replaces the one in p->aOld. */
static int spool_newer(const DbxSpool *p) {
  int i;
  for (i = 0; i < p->nVersion; i++) {
    const DbxPqCell *a = &p->aCell[p->aiVersion[i]];
    const DbxPqCell *b = &p->aOld[p->aiVersion[i]];
    if (a->bNull != b->bNull) return b->bNull; /* NULL is lowest */
    if (!a->bNull && a->i != b->i) return a->i > b->i;
  }
  return 1; /* equal versions: the later one */
}

/*
** Keyed: stores the operation of p->key (bDelete, or the upsert in
** p->rec), unless the key holds an upsert with greater versions.
*/
static int spool_keyed_put(DbxSpool *p, int bDelete, DbxError *pErr) {
  int rc, bNew = 1, bKeep = 0;
  sqlite3_bind_blob(p->pGet, 1, p->key.z, (int)p->key.n, SQLITE_STATIC);
  rc = sqlite3_step(p->pGet);
  if (rc == SQLITE_ROW) {
    bNew = 0;
    if (!bDelete && sqlite3_column_int(p->pGet, 0) == 0) {
      const unsigned char *z = sqlite3_column_blob(p->pGet, 1);
      int n = sqlite3_column_bytes(p->pGet, 1);
      if (z == NULL || n < 4 ||
          !record_get(p, z + 4, (size_t)n - 4, NULL, p->nCol, p->aOld)) {
        sqlite3_reset(p->pGet);
        return spool_db_error(p, SQLITE_CORRUPT, pErr);
      }
      bKeep = !spool_newer(p);
    }
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
  }
  sqlite3_reset(p->pGet);
  if (rc) return spool_db_error(p, rc, pErr);
  if (bKeep) return SQLITE_OK;
  sqlite3_bind_blob(p->pPut, 1, p->key.z, (int)p->key.n, SQLITE_STATIC);
  sqlite3_bind_int64(p->pPut, 2, ++p->iSeq);
  sqlite3_bind_int(p->pPut, 3, bDelete);
  if (bDelete) {
    sqlite3_bind_null(p->pPut, 4);
  } else {
    sqlite3_bind_blob(p->pPut, 4, p->rec.z, (int)p->rec.n, SQLITE_STATIC);
  }
  rc = sqlite3_step(p->pPut);
  sqlite3_reset(p->pPut);
  if (rc != SQLITE_DONE) return spool_db_error(p, rc, pErr);
  if (bNew) p->nRow++;
  return SQLITE_OK;
}

int dbx_spool_append(DbxSpool *p, const DbxPqValue *aVal, DbxError *pErr) {
  int rc;
  if (p->rcSticky) return spool_lost(p, pErr);
  /* convert every value first, so that a refused row leaves no trace */
  rc = spool_convert(p, aVal, NULL, p->nCol, pErr);
  if (rc) return rc;
  if (p->db) {
    dbx_buf_reset(&p->rec);
    dbx_buf_reset(&p->key);
    record_put(p, p->aCell, NULL, p->nCol, &p->rec);
    record_put(p, p->aCell, p->aiKey, p->nKey, &p->key);
    if (p->rec.rc || p->key.rc) {
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    return spool_keyed_put(p, 0, pErr);
  } else {
    size_t nBefore = p->out.n;
    record_put(p, p->aCell, NULL, p->nCol, &p->out);
    if (p->out.rc) {
      p->out.n = nBefore;
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    p->iOffset += (int64_t)(p->out.n - nBefore);
    p->nRow++;
    if (p->out.n >= SPOOL_BUFFER) return spool_flush(p, pErr);
    return SQLITE_OK;
  }
}

int dbx_spool_delete(DbxSpool *p, const DbxPqValue *aKey, DbxError *pErr) {
  int rc;
  if (p->rcSticky) return spool_lost(p, pErr);
  if (p->db == NULL) {
    return dbx_error_set(pErr, SQLITE_MISUSE, "a delete needs a keyed spool");
  }
  rc = spool_convert(p, aKey, p->aiKey, p->nKey, pErr);
  if (rc) return rc;
  dbx_buf_reset(&p->key);
  record_put(p, p->aCell, p->aiKey, p->nKey, &p->key);
  if (p->key.rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  return spool_keyed_put(p, 1, pErr);
}

int64_t dbx_spool_rows(const DbxSpool *p) {
  return p ? p->nRow : 0;
}

/* Keyed: runs one savepoint statement on the private database. */
static int spool_keyed_exec(DbxSpool *p, const char *zVerb, int iSave,
                            DbxError *pErr) {
  char zSql[64];
  int rc;
  if (iSave < 0) {
    snprintf(zSql, sizeof(zSql), "%s base", zVerb);
  } else {
    snprintf(zSql, sizeof(zSql), "%s s%d", zVerb, iSave);
  }
  rc = sqlite3_exec(p->db, zSql, NULL, NULL, NULL);
  return rc ? spool_db_error(p, rc, pErr) : SQLITE_OK;
}

int dbx_spool_savepoint(DbxSpool *p, int iSave, DbxError *pErr) {
  dbx_spool_release(p, iSave);
  if (p->nMark == SPOOL_MAX_MARKS) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "more than %d nested savepoints over a databricks "
                         "table: release some",
                         SPOOL_MAX_MARKS);
  }
  if (p->db && spool_keyed_exec(p, "SAVEPOINT", iSave, pErr)) {
    return p->rcSticky;
  }
  p->aMark[p->nMark].iSave = iSave;
  p->aMark[p->nMark].iOffset = p->iOffset;
  p->aMark[p->nMark].nRow = p->nRow;
  p->nMark++;
  return SQLITE_OK;
}

void dbx_spool_release(DbxSpool *p, int iSave) {
  int i = p->nMark;
  while (i > 0 && p->aMark[i - 1].iSave >= iSave)
    i--;
  if (i < p->nMark && p->db) {
    DbxError e;
    dbx_error_clear(&e);
    spool_keyed_exec(p, "RELEASE", p->aMark[i].iSave, &e);
  }
  p->nMark = i;
}

int dbx_spool_rollback_to(DbxSpool *p, int iSave, DbxError *pErr) {
  const SpoolMark *m = NULL;
  int i;
  for (i = p->nMark - 1; i >= 0; i--) {
    if (p->aMark[i].iSave <= iSave) {
      m = &p->aMark[i];
      break;
    }
  }
  /* No mark at or below iSave: the savepoint came before this table
  ** joined the transaction, so every row goes. A mark below iSave but not
  ** at it cannot happen (each savepoint level is marked while the table is
  ** in the transaction); its state is the nearest one kept. */
  p->nMark = i + 1;
  if (p->db) {
    if (spool_keyed_exec(p, "ROLLBACK TO", m ? m->iSave : -1, pErr)) {
      return p->rcSticky;
    }
  } else {
    if (spool_flush(p, pErr)) return p->rcSticky;
    if (ftruncate(p->fd, m ? m->iOffset : 0) != 0 ||
        lseek(p->fd, 0, SEEK_END) < 0) {
      return spool_io_error(p, "cut back", pErr);
    }
    p->iOffset = m ? m->iOffset : 0;
  }
  p->nRow = m ? m->nRow : 0;
  p->rcSticky = SQLITE_OK;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Reading back
*/

/* A window over the file, read with pread so the write position stays. */
typedef struct SpoolReader {
  int fd;
  int64_t iFile;    /* file offset of z[0] */
  int64_t iEnd;     /* bytes in the file */
  unsigned char *z; /* the window */
  size_t n;         /* bytes held */
  size_t nAlloc;
  size_t i; /* read position in z */
} SpoolReader;

/* Makes nNeed bytes from z[i] available; returns 0 on I/O error or
** when the file ends first. May move the window (pointers into it go
** stale; positions stay valid relative to i). */
static int reader_need(SpoolReader *r, size_t nNeed) {
  if (r->n - r->i >= nNeed) return 1;
  if (r->i > 0) {
    memmove(r->z, r->z + r->i, r->n - r->i);
    r->iFile += (int64_t)r->i;
    r->n -= r->i;
    r->i = 0;
  }
  if (nNeed > r->nAlloc) {
    size_t nNew = r->nAlloc * 2 > nNeed ? r->nAlloc * 2 : nNeed;
    unsigned char *zNew = sqlite3_realloc64(r->z, nNew);
    if (zNew == NULL) return 0;
    r->z = zNew;
    r->nAlloc = nNew;
  }
  while (r->n < nNeed) {
    int64_t iAt = r->iFile + (int64_t)r->n;
    size_t nWant = r->nAlloc - r->n;
    ssize_t nGot;
    if (iAt >= r->iEnd) return 0;
    if ((int64_t)nWant > r->iEnd - iAt) nWant = (size_t)(r->iEnd - iAt);
    nGot = pread(r->fd, r->z + r->n, nWant, (off_t)iAt);
    if (nGot < 0 && errno == EINTR) continue;
    if (nGot <= 0) return 0;
    r->n += (size_t)nGot;
  }
  return 1;
}

/* Appends the row in p->aCell (and, keyed, its operation) to the writer,
** the fill column set. */
static int spool_emit(DbxSpool *p, DbxParquet *pW, int64_t iFillUs, int bDelete,
                      DbxError *pErr) {
  if (p->iFill >= 0 && !bDelete) {
    p->aCell[p->iFill].bNull = 0;
    p->aCell[p->iFill].i = iFillUs;
  }
  if (p->db) {
    DbxPqCell *c = &p->aCell[p->nCol];
    c->bNull = 0;
    c->z = (const unsigned char *)(bDelete ? "delete" : "upsert");
    c->n = 6;
  }
  return dbx_parquet_append_cells(pW, p->aCell, pErr);
}

/* Plain: every record of the file, in order. */
static int spool_write_plain(DbxSpool *p, DbxParquet *pW, int64_t iFillUs,
                             DbxDigest *pDigest, DbxError *pErr) {
  SpoolReader r;
  int64_t iRow;
  int rc = SQLITE_OK;
  if (spool_flush(p, pErr)) return p->rcSticky;
  memset(&r, 0, sizeof(r));
  r.fd = p->fd;
  r.iEnd = p->iOffset;
  r.nAlloc = SPOOL_BUFFER;
  r.z = sqlite3_malloc64(r.nAlloc);
  if (r.z == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  for (iRow = 0; rc == SQLITE_OK && iRow < p->nRow; iRow++) {
    size_t nRec = 0;
    if (reader_need(&r, 4)) nRec = (size_t)get_le(r.z + r.i, 4);
    if (!reader_need(&r, 4 + nRec) ||
        !record_get(p, r.z + r.i + 4, nRec, NULL, p->nCol, p->aCell)) {
      rc = dbx_error_set(pErr, SQLITE_IOERR,
                         "cannot read back the rows staged for the commit "
                         "(row %lld): roll back and try again",
                         (long long)iRow + 1);
      break;
    }
    dbx_digest_update(pDigest, r.z + r.i, 4 + nRec);
    r.i += 4 + nRec;
    rc = spool_emit(p, pW, iFillUs, 0, pErr);
  }
  sqlite3_free(r.z);
  return rc;
}

/* Keyed: one row per key, in the order the keys were last written. */
static int spool_write_keyed(DbxSpool *p, DbxParquet *pW, int64_t iFillUs,
                             DbxDigest *pDigest, DbxError *pErr) {
  sqlite3_stmt *pAll = NULL;
  int rc = sqlite3_prepare_v2(p->db, "SELECT del, k, row FROM ops ORDER BY seq",
                              -1, &pAll, NULL);
  if (rc) return spool_db_error(p, rc, pErr);
  while ((rc = sqlite3_step(pAll)) == SQLITE_ROW) {
    int bDelete = sqlite3_column_int(pAll, 0);
    int iData = bDelete ? 1 : 2;
    const unsigned char *z = sqlite3_column_blob(pAll, iData);
    int n = sqlite3_column_bytes(pAll, iData), i;
    unsigned char del = (unsigned char)bDelete;
    if (bDelete) {
      for (i = 0; i < p->nCol; i++)
        p->aCell[i].bNull = 1;
    }
    if (z == NULL || n < 4 ||
        !record_get(p, z + 4, (size_t)n - 4, bDelete ? p->aiKey : NULL,
                    bDelete ? p->nKey : p->nCol, p->aCell)) {
      rc = spool_db_error(p, SQLITE_CORRUPT, pErr);
      break;
    }
    dbx_digest_update(pDigest, &del, 1);
    dbx_digest_update(pDigest, z, (size_t)n);
    rc = spool_emit(p, pW, iFillUs, bDelete, pErr);
    if (rc) break;
  }
  if (rc == SQLITE_DONE)
    rc = SQLITE_OK;
  else if (rc && pErr && pErr->rc == SQLITE_OK)
    rc = spool_db_error(p, rc, pErr);
  sqlite3_finalize(pAll);
  return rc;
}

int dbx_spool_write(DbxSpool *p, DbxParquet *pW, int64_t iFillUs, char *zDigest,
                    DbxError *pErr) {
  DbxDigest *pDigest;
  int rc;
  zDigest[0] = 0;
  if (p->rcSticky) return spool_lost(p, pErr);
  pDigest = dbx_digest_new();
  if (pDigest == NULL)
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  rc = p->db ? spool_write_keyed(p, pW, iFillUs, pDigest, pErr)
             : spool_write_plain(p, pW, iFillUs, pDigest, pErr);
  dbx_digest_final(pDigest, zDigest);
  if (rc == SQLITE_OK && zDigest[0] == 0) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  if (rc) zDigest[0] = 0;
  return rc;
}

void dbx_spool_free(DbxSpool *p) {
  int i;
  if (p == NULL) return;
  if (p->fd >= 0) close(p->fd);
  sqlite3_finalize(p->pGet);
  sqlite3_finalize(p->pPut);
  if (p->db) sqlite3_close(p->db);
  for (i = 0; p->aCol && i < p->nCol; i++)
    sqlite3_free(p->aCol[i].zName);
  sqlite3_free(p->aCol);
  sqlite3_free(p->aKind);
  sqlite3_free(p->aCell);
  sqlite3_free(p->aScratch);
  sqlite3_free(p->aOld);
  sqlite3_free(p->aiKey);
  sqlite3_free(p->aiVersion);
  dbx_buf_free(&p->out);
  dbx_buf_free(&p->rec);
  dbx_buf_free(&p->key);
  sqlite3_free(p);
}
