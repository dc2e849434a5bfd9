/*
** spool.c: the rows of an open write transaction, on disk (spool.h).
**
** The file holds one record per row and, in a record, one cell per column:
**
**   tag 0             NULL (also the fill column, set when written out)
**   tag 1, 8 bytes    an integer, DATE, timestamp or DECIMAL up to 18
**                     digits, little-endian
**   tag 2, 8 bytes    a FLOAT or DOUBLE, its IEEE bits little-endian
**   tag 3, 4 bytes n  a byte array or wide DECIMAL: n, then n bytes
**
** The file is ours alone (made with mkstemp and unlinked at once), so it
** is read back without distrust beyond staying inside what was written.
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
  int iFill;        /* column set at the write, or -1 */
  char *aKind;      /* per column: 1 integer, 2 real, 3 bytes */
  int fd;           /* the unlinked file */
  DbxBuf out;       /* bytes not yet written to fd */
  int64_t iOffset;  /* bytes in the file plus out.n */
  int64_t nRow;     /* rows appended */
  int rcSticky;     /* an I/O error ends the spool */
  DbxPqCell *aCell; /* nCol cells of the row being converted */
  SpoolMark aMark[SPOOL_MAX_MARKS];
  int nMark;
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

static int spool_io_error(DbxSpool *p, const char *zWhat, DbxError *pErr) {
  p->rcSticky = SQLITE_IOERR;
  return dbx_error_set(pErr, SQLITE_IOERR,
                       "cannot %s the rows staged for the commit in %s (%s): "
                       "free space there, or set TMPDIR to a directory with "
                       "room",
                       zWhat, dbx_temp_dir(), strerror(errno));
}

/* Writes out what the buffer holds. */
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

int dbx_spool_open(const DbxPqColumn *aCol, int nCol, int iFill, DbxSpool **pp,
                   DbxError *pErr) {
  DbxSpool *p;
  char *zPath;
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
  p->aCell = sqlite3_malloc64(sizeof(DbxPqCell) * (sqlite3_uint64)nCol);
  if (p->aCol) memset(p->aCol, 0, sizeof(DbxPqColumn) * (size_t)nCol);
  for (i = 0; p->aCol && p->aKind && i < nCol; i++) {
    p->aCol[i] = aCol[i];
    p->aCol[i].zName = dbx_strdup(aCol[i].zName);
    p->aKind[i] = spool_kind(&aCol[i]);
  }
  if (!p->aCol || !p->aKind || !p->aCell ||
      (nCol && p->aCol[nCol - 1].zName == NULL)) {
    dbx_spool_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  zPath = sqlite3_mprintf("%s/dbx-spool-XXXXXX", dbx_temp_dir());
  if (zPath) p->fd = mkstemp(zPath);
  if (zPath && p->fd >= 0) unlink(zPath);
  sqlite3_free(zPath);
  if (p->fd < 0) {
    int rc = spool_io_error(p, "create a file for", pErr);
    dbx_spool_free(p);
    return rc;
  }
  *pp = p;
  return SQLITE_OK;
}

int dbx_spool_append(DbxSpool *p, const DbxPqValue *aVal, DbxError *pErr) {
  size_t nBefore = p->out.n;
  int i, rc = p->rcSticky;
  if (rc) {
    return dbx_error_set(pErr, rc, "the rows staged for the commit were "
                                   "lost to an earlier error: roll back");
  }
  /* convert every value first, so that a refused row leaves no trace */
  for (i = 0; i < p->nCol; i++) {
    DbxPqCell *c = &p->aCell[i];
    if (i == p->iFill) {
      c->bNull = 1;
      continue;
    }
    rc = dbx_parquet_convert(&p->aCol[i], &aVal[i], p->nRow + 1, c, pErr);
    if (rc) return rc;
  }
  for (i = 0; i < p->nCol; i++) {
    const DbxPqCell *c = &p->aCell[i];
    unsigned char a[9];
    int n = 1;
    uint64_t u = 0;
    if (c->bNull) {
      a[0] = 0;
    } else {
      a[0] = (unsigned char)p->aKind[i];
      if (a[0] == 1) {
        u = (uint64_t)c->i;
        n = 9;
      } else if (a[0] == 2) {
        memcpy(&u, &c->r, 8);
        n = 9;
      } else {
        u = (uint64_t)(uint32_t)c->n;
        n = 5;
      }
      for (int k = 1; k < n; k++, u >>= 8)
        a[k] = (unsigned char)u;
    }
    dbx_buf_put(&p->out, a, (size_t)n);
    if (a[0] == 3) dbx_buf_put(&p->out, c->z, (size_t)c->n);
  }
  if (p->out.rc) {
    p->out.n = nBefore;
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  p->iOffset += (int64_t)(p->out.n - nBefore);
  p->nRow++;
  if (p->out.n >= SPOOL_BUFFER) return spool_flush(p, pErr);
  return SQLITE_OK;
}

int64_t dbx_spool_rows(const DbxSpool *p) {
  return p ? p->nRow : 0;
}

int dbx_spool_savepoint(DbxSpool *p, int iSave, DbxError *pErr) {
  dbx_spool_release(p, iSave);
  if (p->nMark == SPOOL_MAX_MARKS) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "more than %d nested savepoints over a databricks "
                         "table: release some",
                         SPOOL_MAX_MARKS);
  }
  p->aMark[p->nMark].iSave = iSave;
  p->aMark[p->nMark].iOffset = p->iOffset;
  p->aMark[p->nMark].nRow = p->nRow;
  p->nMark++;
  return SQLITE_OK;
}

void dbx_spool_release(DbxSpool *p, int iSave) {
  while (p->nMark > 0 && p->aMark[p->nMark - 1].iSave >= iSave)
    p->nMark--;
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
  if (spool_flush(p, pErr)) return p->rcSticky;
  if (ftruncate(p->fd, m ? m->iOffset : 0) != 0 ||
      lseek(p->fd, 0, SEEK_END) < 0) {
    return spool_io_error(p, "cut back", pErr);
  }
  p->iOffset = m ? m->iOffset : 0;
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

static uint64_t get_le(const unsigned char *z, int n) {
  uint64_t u = 0;
  while (n-- > 0)
    u = (u << 8) | z[n];
  return u;
}

int dbx_spool_write(DbxSpool *p, DbxParquet *pW, int64_t iFillUs,
                    char *zDigest, DbxError *pErr) {
  SpoolReader r;
  DbxDigest *pDigest;
  size_t *aAt; /* per column: position in the window of its bytes */
  int64_t iRow;
  int rc = p->rcSticky;
  zDigest[0] = 0;
  if (rc) {
    return dbx_error_set(pErr, rc, "the rows staged for the commit were "
                                   "lost to an earlier error: roll back");
  }
  if (spool_flush(p, pErr)) return p->rcSticky;
  memset(&r, 0, sizeof(r));
  r.fd = p->fd;
  r.iEnd = p->iOffset;
  r.nAlloc = SPOOL_BUFFER;
  r.z = sqlite3_malloc64(r.nAlloc);
  aAt = sqlite3_malloc64(sizeof(size_t) * (sqlite3_uint64)(p->nCol + 1));
  pDigest = dbx_digest_new();
  if (r.z == NULL || aAt == NULL || pDigest == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  for (iRow = 0; rc == SQLITE_OK && iRow < p->nRow; iRow++) {
    size_t iPos = 0; /* offset from the row's start at r.i */
    int i;
    /* find the row's extent first: the window may move while it grows */
    for (i = 0; rc == SQLITE_OK && i < p->nCol; i++) {
      DbxPqCell *c = &p->aCell[i];
      unsigned char tag;
      if (!reader_need(&r, iPos + 1)) break;
      tag = r.z[r.i + iPos];
      c->bNull = tag == 0;
      iPos++;
      if (tag == 1 || tag == 2) {
        uint64_t u;
        if (!reader_need(&r, iPos + 8)) break;
        u = get_le(r.z + r.i + iPos, 8);
        if (tag == 1) c->i = (int64_t)u;
        else memcpy(&c->r, &u, 8);
        iPos += 8;
      } else if (tag == 3) {
        if (!reader_need(&r, iPos + 4)) break;
        c->n = (int)get_le(r.z + r.i + iPos, 4);
        iPos += 4;
        aAt[i] = iPos;
        if (c->n < 0 || !reader_need(&r, iPos + (size_t)c->n)) break;
        iPos += (size_t)c->n;
      } else if (tag != 0) {
        break;
      }
    }
    if (i < p->nCol) {
      rc = dbx_error_set(pErr, SQLITE_IOERR,
                         "cannot read back the rows staged for the commit "
                         "(row %lld): roll back and try again",
                         (long long)iRow + 1);
      break;
    }
    for (i = 0; i < p->nCol; i++) {
      DbxPqCell *c = &p->aCell[i];
      if (!c->bNull && p->aKind[i] == 3) c->z = r.z + r.i + aAt[i];
    }
    dbx_digest_update(pDigest, r.z + r.i, iPos);
    if (p->iFill >= 0) {
      p->aCell[p->iFill].bNull = 0;
      p->aCell[p->iFill].i = iFillUs;
    }
    r.i += iPos;
    rc = dbx_parquet_append_cells(pW, p->aCell, pErr);
  }
  if (rc == SQLITE_OK) {
    dbx_digest_final(pDigest, zDigest);
    pDigest = NULL;
    if (zDigest[0] == 0) rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  if (pDigest) dbx_digest_final(pDigest, zDigest);
  if (rc) zDigest[0] = 0;
  sqlite3_free(r.z);
  sqlite3_free(aAt);
  return rc;
}

void dbx_spool_free(DbxSpool *p) {
  int i;
  if (p == NULL) return;
  if (p->fd >= 0) close(p->fd);
  for (i = 0; p->aCol && i < p->nCol; i++)
    sqlite3_free(p->aCol[i].zName);
  sqlite3_free(p->aCol);
  sqlite3_free(p->aKind);
  sqlite3_free(p->aCell);
  dbx_buf_free(&p->out);
  sqlite3_free(p);
}
