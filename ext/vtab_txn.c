/*
** vtab_txn.c: writing to a `databricks` table (vtab.h).
**
**   CREATE VIRTUAL TABLE events USING databricks(
**     table='main.analytics.events', create='id BIGINT, name STRING');
**   BEGIN;
**   INSERT INTO events VALUES (1, 'signup'), (2, 'login');
**   COMMIT;            -- the rows are in main.analytics.events now
**
** xUpdate converts each inserted row for the remote column types at once
** (a bad value fails its statement, naming the column, the row and the
** value) and appends it to the transaction's spool (spool.h): on disk,
** so memory does not grow with the rows. SQLite's savepoints, and the
** statement savepoint that undoes a statement failing midway, cut the
** spool back. xSync, SQLite's commit point, writes the spool into Parquet
** files and hands them to the commit engine (commit.h); an error there
** makes SQLite roll the whole transaction back. xCommit and xRollback
** only drop the spool.
**
** The commit's name in the staging volume (see commit.c for why it makes
** the load exactly-once) is "<identity>-<sequence>-<rows digest>". The
** identity and the sequence number live in the shadow table
** "<name>_state", one row made with the table; xSync increments the
** sequence in the same SQLite transaction as everything else the user
** wrote, so the number only moves when the local commit happens.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commit.h"
#include "spool.h"
#include "vtab.h"

/* The open write transaction of one table. */
typedef struct DbxVtabTxn {
  DbxSpool *pSpool; /* the rows */
  DbxPqColumn *aPq; /* the columns as the Parquet writer takes them */
  int nPq;
  DbxPqValue *aVal; /* one row's values, reused */
  DbxPqValue *aKey; /* merge: a key's values, reused */
} DbxVtabTxn;

/* Sets the table's error message to pErr as one line; returns its code. */
static int txn_error(DbxVtab *p, const DbxError *pErr) {
  sqlite3_free(p->base.zErrMsg);
  p->base.zErrMsg = dbx_error_text(pErr);
  return pErr->rc ? pErr->rc : SQLITE_ERROR;
}

void dbx_vtab_txn_free(DbxVtab *p) {
  DbxVtabTxn *t = p->pTxn;
  if (t == NULL) return;
  dbx_spool_free(t->pSpool);
  dbx_parquet_schema_free(t->aPq, t->nPq);
  sqlite3_free(t->aVal);
  sqlite3_free(t->aKey);
  sqlite3_free(t);
  p->pTxn = NULL;
}

/* ---------------------------------------------------------------------
** The shadow table of the commit sequence
*/

int dbx_vtab_state_create(DbxVtab *p, DbxError *pErr) {
  unsigned char aId[16];
  char zId[33];
  char *zSql;
  int i, rc;
  sqlite3_randomness(sizeof(aId), aId);
  for (i = 0; i < 16; i++)
    sprintf(zId + 2 * i, "%02x", aId[i]);
  zSql = sqlite3_mprintf(
      "CREATE TABLE IF NOT EXISTS \"%w\".\"%w_state\"("
      "k INTEGER PRIMARY KEY CHECK (k = 1), identity TEXT NOT NULL, "
      "seq INTEGER NOT NULL);"
      "INSERT OR IGNORE INTO \"%w\".\"%w_state\" VALUES (1, '%s', 0)",
      p->zDb, p->zVtabName, p->zDb, p->zVtabName, zId);
  rc = zSql ? sqlite3_exec(p->db, zSql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc) {
    return dbx_error_set(pErr, rc, "cannot store the write state of %s: %s",
                         p->zVtabName, sqlite3_errmsg(p->db));
  }
  return SQLITE_OK;
}

/*
** Reads the identity (into zId, 33 bytes) and the next sequence number,
** and stores that number in the caller's transaction. What the database
** file holds is checked: it may come from someone else.
*/
static int state_next(DbxVtab *p, char *zId, int64_t *piSeq, DbxError *pErr) {
  sqlite3_stmt *pStmt = NULL;
  char *zSql;
  int rc, bOk = 0;
  zSql = sqlite3_mprintf("SELECT identity, seq FROM \"%w\".\"%w_state\" "
                         "WHERE k = 1",
                         p->zDb, p->zVtabName);
  rc = zSql ? sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, NULL) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    int64_t iSeq = sqlite3_column_int64(pStmt, 1);
    if (z && strlen(z) == 32 && strspn(z, "0123456789abcdef") == 32 &&
        sqlite3_column_type(pStmt, 1) == SQLITE_INTEGER && iSeq >= 0 &&
        iSeq < ((int64_t)1 << 62)) {
      memcpy(zId, z, 33);
      *piSeq = iSeq + 1;
      bOk = 1;
    }
  }
  sqlite3_finalize(pStmt);
  if (rc == SQLITE_NOMEM) {
    return dbx_error_set(pErr, rc, "out of memory");
  }
  if (!bOk) {
    return dbx_error_set(pErr, SQLITE_CORRUPT,
                         "the write state of %s (table %s_state) is missing "
                         "or damaged: run SELECT dbx_refresh('%s') to make "
                         "it again",
                         p->zVtabName, p->zVtabName, p->zVtabName);
  }
  zSql = sqlite3_mprintf("UPDATE \"%w\".\"%w_state\" SET seq = %lld "
                         "WHERE k = 1",
                         p->zDb, p->zVtabName, (long long)*piSeq);
  rc = zSql ? sqlite3_exec(p->db, zSql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc) {
    return dbx_error_set(pErr, rc, "cannot store the write state of %s: %s",
                         p->zVtabName, sqlite3_errmsg(p->db));
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** The hidden key of a merge table: per key column a tag, then for 'i'
** and 'r' 8 bytes little-endian, for 't' and 'b' a 4-byte length and the
** bytes; 'n' alone is NULL.
*/

void dbx_vtab_key_put(DbxBuf *pBuf, const DbxPqValue *aVal, int nKey) {
  int i, k;
  for (i = 0; i < nKey; i++) {
    const DbxPqValue *v = &aVal[i];
    unsigned char a[9];
    uint64_t u = 0;
    int n = 1;
    switch (v->eType) {
    case SQLITE_INTEGER:
      a[0] = 'i';
      u = (uint64_t)v->i;
      n = 9;
      break;
    case SQLITE_FLOAT:
      a[0] = 'r';
      memcpy(&u, &v->r, 8);
      n = 9;
      break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:
      a[0] = v->eType == SQLITE_TEXT ? 't' : 'b';
      u = (uint64_t)(uint32_t)v->n;
      n = 5;
      break;
    default:
      a[0] = 'n';
    }
    for (k = 1; k < n; k++, u >>= 8)
      a[k] = (unsigned char)u;
    dbx_buf_append(pBuf, a, (size_t)n);
    if (a[0] == 't' || a[0] == 'b') dbx_buf_append(pBuf, v->z, (size_t)v->n);
  }
}

int dbx_vtab_key_get(const unsigned char *z, int n, DbxPqValue *aVal,
                     int nKey) {
  int i, k, iAt = 0;
  for (i = 0; i < nKey; i++) {
    DbxPqValue *v = &aVal[i];
    uint64_t u = 0;
    unsigned char tag;
    if (z == NULL || iAt >= n) return 0;
    tag = z[iAt++];
    memset(v, 0, sizeof(*v));
    if (tag == 'i' || tag == 'r') {
      if (n - iAt < 8) return 0;
      for (k = 7; k >= 0; k--)
        u = (u << 8) | z[iAt + k];
      iAt += 8;
      if (tag == 'i') {
        v->eType = SQLITE_INTEGER;
        v->i = (int64_t)u;
      } else {
        v->eType = SQLITE_FLOAT;
        memcpy(&v->r, &u, 8);
      }
    } else if (tag == 't' || tag == 'b') {
      if (n - iAt < 4) return 0;
      for (k = 3; k >= 0; k--)
        u = (u << 8) | z[iAt + k];
      iAt += 4;
      if (u > (uint64_t)(n - iAt)) return 0;
      v->eType = tag == 't' ? SQLITE_TEXT : SQLITE_BLOB;
      v->z = (const char *)z + iAt;
      v->n = (int)u;
      iAt += (int)u;
    } else if (tag == 'n') {
      v->eType = SQLITE_NULL;
    } else {
      return 0;
    }
  }
  return iAt == n;
}

/* ---------------------------------------------------------------------
** Staging rows
*/

/* Opens the transaction's spool over the declared columns. */
static int txn_open(DbxVtab *p, DbxError *pErr) {
  DbxVtabTxn *t;
  DbxSqlCol *aSpec = NULL;
  const char *zIngested = NULL;
  int i, nSpec = 0, iFill = -1, rc;
  if (p->args.bChanges) {
    return dbx_error_set(pErr, SQLITE_READONLY,
                         "%s is a change feed (changes=true) and read-only: "
                         "write to a table without changes=true, or run SQL "
                         "with dbx_exec()",
                         p->zVtabName);
  }
  if (p->args.zQuery) {
    return dbx_error_set(pErr, SQLITE_READONLY,
                         "a query= table is read-only: write to a table= "
                         "table, or run SQL with dbx_exec()");
  }
  if (p->broken.rc)
    return dbx_error_set(pErr, p->broken.rc, "%s", p->broken.zMsg);
  t = sqlite3_malloc64(sizeof(*t));
  if (t == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(t, 0, sizeof(*t));
  p->pTxn = t;
  t->nPq = p->remote.nCol;
  t->aPq = sqlite3_malloc64(sizeof(DbxPqColumn) * (sqlite3_uint64)t->nPq);
  t->aVal = sqlite3_malloc64(sizeof(DbxPqValue) * (sqlite3_uint64)t->nPq);
  t->aKey =
      sqlite3_malloc64(sizeof(DbxPqValue) * (sqlite3_uint64)(p->nKey + 1));
  if (t->aPq == NULL || t->aVal == NULL || t->aKey == NULL) {
    dbx_vtab_txn_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memset(t->aPq, 0, sizeof(DbxPqColumn) * (size_t)t->nPq);
  rc = dbx_vtab_spec_columns(&p->args, &aSpec, &nSpec, &zIngested, pErr);
  for (i = 0; rc == SQLITE_OK && i < t->nPq; i++) {
    t->aPq[i].zName = dbx_strdup(p->azCol[i]);
    if (t->aPq[i].zName == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      break;
    }
    rc = dbx_parquet_type_parse(p->azType[i], &t->aPq[i], pErr);
    if (zIngested && sqlite3_stricmp(p->azCol[i], zIngested) == 0) iFill = i;
  }
  if (rc == SQLITE_OK && zIngested && iFill < 0) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "ingested_at='%s' is not a column of %s: DROP the "
                       "table and create it again to add the column",
                       zIngested, p->zVtabName);
  }
  if (rc == SQLITE_OK && iFill >= 0 &&
      t->aPq[iFill].eType != DBX_PQ_TIMESTAMP) {
    rc =
        dbx_error_set(pErr, SQLITE_ERROR,
                      "ingested_at='%s' must be a TIMESTAMP column", zIngested);
  }
  sqlite3_free(aSpec);
  if (rc == SQLITE_OK && p->bMerge) {
    rc = dbx_spool_open_keyed(t->aPq, t->nPq, iFill, p->aiKey, p->nKey,
                              p->aiVersion, p->nVersion, &t->pSpool, pErr);
  } else if (rc == SQLITE_OK) {
    rc = dbx_spool_open(t->aPq, t->nPq, iFill, &t->pSpool, pErr);
  }
  if (rc) dbx_vtab_txn_free(p);
  return rc;
}

int dbx_vtab_begin(sqlite3_vtab *pVtab) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DbxError e;
  dbx_error_clear(&e);
  dbx_vtab_txn_free(p); /* a transaction that ended without xCommit */
  if (txn_open(p, &e)) return txn_error(p, &e);
  return SQLITE_OK;
}

/* Reads the hidden key of a row (a merge table's argv[0]) into t->aKey. */
static int txn_old_key(DbxVtab *p, sqlite3_value *pKey, DbxError *pErr) {
  const unsigned char *z = sqlite3_value_blob(pKey);
  int n = sqlite3_value_bytes(pKey);
  if (!dbx_vtab_key_get(z, n, p->pTxn->aKey, p->nKey)) {
    return dbx_error_set(pErr, SQLITE_MISMATCH,
                         "%s: the row to change has no key that this table "
                         "made: change rows found by their columns",
                         p->zVtabName);
  }
  return SQLITE_OK;
}

/* Whether the key columns in t->aVal hold the key in t->aKey. */
static int txn_same_key(DbxVtab *p) {
  DbxVtabTxn *t = p->pTxn;
  int i;
  for (i = 0; i < p->nKey; i++) {
    const DbxPqValue *a = &t->aVal[p->aiKey[i]], *b = &t->aKey[i];
    if (a->eType != b->eType) return 0;
    switch (a->eType) {
    case SQLITE_INTEGER:
      if (a->i != b->i) return 0;
      break;
    case SQLITE_FLOAT:
      if (a->r != b->r) return 0;
      break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:
      if (a->n != b->n || (a->n && memcmp(a->z, b->z, (size_t)a->n))) return 0;
      break;
    default:
      break;
    }
  }
  return 1;
}

/*
** xUpdate. An append table takes INSERT only. A merge table stages an
** upsert for INSERT, a delete for DELETE (its hidden key names the row),
** and for UPDATE an upsert of the new row, after a delete of the old key
** when the update changed a key column.
*/
int dbx_vtab_update(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                    sqlite3_int64 *pRowid) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DbxVtabTxn *t;
  DbxError e;
  int rc = SQLITE_OK;
  int bInsert = argc > 1 && sqlite3_value_type(argv[0]) == SQLITE_NULL;
  dbx_error_clear(&e);
  if (!bInsert && !p->bMerge) {
    dbx_error_set(&e, SQLITE_READONLY,
                  "%s takes INSERT only: UPDATE and DELETE need a merge "
                  "table (merge_keys='col, ...' when creating it); change "
                  "remote rows with dbx_exec('UPDATE ...')",
                  p->zDisplay ? p->zDisplay : p->zVtabName);
    return txn_error(p, &e);
  }
  if (p->pTxn == NULL && txn_open(p, &e)) return txn_error(p, &e);
  t = p->pTxn;
  /* argv[2..]: the columns, then a merge table's hidden key (ignored: the
  ** key is what the key columns hold) */
  if (argc > 1 && argc - 2 != t->nPq + p->bMerge) {
    dbx_error_set(&e, SQLITE_ERROR, "INSERT gives %d values for %d columns",
                  argc - 2 - p->bMerge, t->nPq);
    return txn_error(p, &e);
  }
  if (argc > 1) dbx_parquet_values(&argv[2], t->nPq, t->aVal);
  if (!bInsert) {
    rc = txn_old_key(p, argv[0], &e);
    if (rc == SQLITE_OK && (argc == 1 || !txn_same_key(p))) {
      rc = dbx_spool_delete(t->pSpool, t->aKey, &e);
    }
  }
  if (rc == SQLITE_OK && argc > 1)
    rc = dbx_spool_append(t->pSpool, t->aVal, &e);
  if (rc) {
    DbxError w;
    dbx_error_clear(&w);
    dbx_error_set(&w, rc, "%s %s: %s",
                  bInsert     ? "INSERT into"
                  : argc == 1 ? "DELETE from"
                              : "UPDATE of",
                  p->zVtabName, e.zMsg);
    return txn_error(p, &w);
  }
  *pRowid = dbx_spool_rows(t->pSpool);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** The commit
*/

/* Removes the files of a Parquet report and the directory zDir. */
static void txn_remove_local(const DbxPqReport *pRep, const char *zDir) {
  int i;
  for (i = 0; i < pRep->nFile; i++)
    unlink(pRep->azPath[i]);
  if (zDir) rmdir(zDir);
}

/* Microseconds since 1970 UTC, the commit time of ingested_at. */
static int64_t txn_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
** The commit of a table's staged rows: Parquet files written from the
** spool into a private temporary directory, loaded by the commit engine,
** then removed.
*/
static int txn_commit(DbxVtab *p, DbxError *pErr) {
  DbxVtabTxn *t = p->pTxn;
  DbxParquet *pW = NULL;
  DbxPqReport rep;
  DbxCommitSpec spec;
  DbxCommitReport crep;
  DbxStmtOptions opt;
  DbxSqlCol *aCol = NULL;
  sqlite3_stmt *pProbe = NULL;
  char *azStage[3] = {NULL, NULL, NULL};
  char zId[33], zDigest[33], zKey[120], *zDir = NULL, *zPath = NULL;
  DbxPqColumn *aFile = NULL;
  char **azKey = NULL;
  int64_t iSeq = 0;
  int i, nPart = 0, rc;

  memset(&rep, 0, sizeof(rep));
  rc = dbx_vtab_ready(p, pErr);
  if (rc == SQLITE_OK) rc = state_next(p, zId, &iSeq, pErr);
  if (rc) return rc;

  /* the Parquet files */
  zDir = sqlite3_mprintf("%s/dbx-commit-XXXXXX", dbx_temp_dir());
  if (zDir == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  if (mkdtemp(zDir) == NULL) {
    rc = dbx_error_set(pErr, SQLITE_IOERR,
                       "cannot make a directory for the commit's files in "
                       "%s (%s): set TMPDIR to a writable directory",
                       dbx_temp_dir(), strerror(errno));
    sqlite3_free(zDir);
    return rc;
  }
  zPath = sqlite3_mprintf("%s/", zDir);
  aFile = sqlite3_malloc64(sizeof(DbxPqColumn) * (sqlite3_uint64)(t->nPq + 1));
  azKey = sqlite3_malloc64(sizeof(char *) *
                           (sqlite3_uint64)(p->nKey + p->nVersion + 1));
  if (zPath == NULL || aFile == NULL || azKey == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  /* a merge's files have one more column: what each row does */
  memcpy(aFile, t->aPq, sizeof(DbxPqColumn) * (size_t)t->nPq);
  memset(&aFile[t->nPq], 0, sizeof(DbxPqColumn));
  aFile[t->nPq].zName = DBX_SQL_OP_COLUMN;
  aFile[t->nPq].eType = DBX_PQ_STRING;
  aFile[t->nPq].bNotNull = 1;
  rc = dbx_parquet_open(zPath, aFile, t->nPq + (p->bMerge ? 1 : 0), NULL, &pW,
                        pErr);
  if (rc == SQLITE_OK) {
    rc = dbx_spool_write(t->pSpool, pW, txn_now_us(), zDigest, pErr);
  }
  if (rc == SQLITE_OK) {
    rc = dbx_parquet_close(pW, &rep, pErr);
  } else {
    dbx_parquet_abort(pW);
  }
  if (rc) goto done;

  /* where it goes */
  if (p->args.zStagingVolume) {
    rc = dbx_sql_name_split(p->args.zStagingVolume, azStage, &nPart, pErr);
  } else {
    azStage[0] = dbx_strdup(p->zCatalog);
    azStage[1] = dbx_strdup(p->zSchema);
    azStage[2] = dbx_strdup("_dbx_staging");
    if (!azStage[0] || !azStage[1] || !azStage[2]) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  aCol = sqlite3_malloc64(sizeof(DbxSqlCol) * (sqlite3_uint64)t->nPq);
  if (rc == SQLITE_OK && aCol == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  if (rc) goto done;
  for (i = 0; i < t->nPq; i++) {
    aCol[i].zName = p->azCol[i];
    aCol[i].zType = p->azType[i];
  }
  snprintf(zKey, sizeof(zKey), "%s-%lld-%s", zId, (long long)iSeq, zDigest);
  memset(&spec, 0, sizeof(spec));
  spec.zCatalog = p->zCatalog;
  spec.zSchema = p->zSchema;
  spec.zTable = p->zName;
  spec.aCol = aCol;
  spec.nCol = t->nPq;
  spec.bCreate = p->args.zCreate != NULL || p->args.zModel != NULL;
  spec.bCdf = p->args.bCdf;
  spec.zHowToCreate = "give create='col TYPE, ...' or model= when creating "
                      "the virtual table";
  spec.zStageCatalog = azStage[0];
  spec.zStageSchema = azStage[1];
  spec.zStageVolume = azStage[2];
  spec.zKey = zKey;
  spec.nParallel = p->args.nParallel;
  spec.azLocal = (const char *const *)rep.azPath;
  spec.nLocal = rep.nFile;
  if (p->bMerge) {
    for (i = 0; i < p->nKey; i++)
      azKey[i] = p->azCol[p->aiKey[i]];
    for (i = 0; i < p->nVersion; i++)
      azKey[p->nKey + i] = p->azCol[p->aiVersion[i]];
    spec.azKey = (const char *const *)azKey;
    spec.nKey = p->nKey;
    spec.azVersion = (const char *const *)azKey + p->nKey;
    spec.nVersion = p->nVersion;
  }

  pProbe = dbx_probe_open(p->db);
  rc = dbx_vtab_stmt_options(p, &opt, pProbe, pErr);
  if (rc == SQLITE_OK)
    rc = dbx_commit_append(p->pClient, &opt, &spec, &crep, pErr);
  if (rc == SQLITE_OK && crep.zCleanup[0]) {
    sqlite3_log(SQLITE_WARNING,
                "databricks: the rows are committed, but their staged files "
                "remain in %s: %s",
                crep.zDir, crep.zCleanup);
  }

done:
  sqlite3_finalize(pProbe);
  txn_remove_local(&rep, zDir);
  dbx_parquet_report_free(&rep);
  dbx_sql_name_free(azStage);
  sqlite3_free(aCol);
  sqlite3_free(aFile);
  sqlite3_free(azKey);
  sqlite3_free(zPath);
  sqlite3_free(zDir);
  return rc;
}

int dbx_vtab_sync(sqlite3_vtab *pVtab) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DbxError e;
  if (p->pTxn == NULL || dbx_spool_rows(p->pTxn->pSpool) == 0) return SQLITE_OK;
  dbx_error_clear(&e);
  if (txn_commit(p, &e)) return txn_error(p, &e);
  return SQLITE_OK;
}

int dbx_vtab_commit(sqlite3_vtab *pVtab) {
  dbx_vtab_txn_free((DbxVtab *)pVtab);
  return SQLITE_OK;
}

int dbx_vtab_rollback(sqlite3_vtab *pVtab) {
  dbx_vtab_txn_free((DbxVtab *)pVtab);
  return SQLITE_OK;
}

int dbx_vtab_savepoint(sqlite3_vtab *pVtab, int iSave) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DbxError e;
  dbx_error_clear(&e);
  if (p->pTxn && dbx_spool_savepoint(p->pTxn->pSpool, iSave, &e)) {
    return txn_error(p, &e);
  }
  return SQLITE_OK;
}

int dbx_vtab_release(sqlite3_vtab *pVtab, int iSave) {
  DbxVtab *p = (DbxVtab *)pVtab;
  if (p->pTxn) dbx_spool_release(p->pTxn->pSpool, iSave);
  return SQLITE_OK;
}

int dbx_vtab_rollback_to(sqlite3_vtab *pVtab, int iSave) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DbxError e;
  dbx_error_clear(&e);
  if (p->pTxn && dbx_spool_rollback_to(p->pTxn->pSpool, iSave, &e)) {
    return txn_error(p, &e);
  }
  return SQLITE_OK;
}
