/*
** commit.c: staged Parquet files into a Delta table, once (commit.h).
**
** Exactly once. A commit's files go to
**
**   /Volumes/<stage catalog>/<stage schema>/<stage volume>/
**       <digest of the target's name>/<key>/part-NNNNN.parquet
**
** where the caller's key names the commit and nothing else. The vtab's
** key (vtab_txn.c) is "<identity>-<sequence>-<rows digest>": a random
** identity made when the table was created in the local database, the
** number of the commit in that database (kept in a shadow table and
** written in the same SQLite transaction as the rows), and the digest of
** the rows as converted. COPY INTO runs without `force`, and Delta
** remembers every file path it loaded into a table, so:
**
** - a COPY INTO sent again after its reply was lost finds its files
**   loaded and loads nothing;
** - a transaction killed after the load and before its local commit has
**   not advanced the sequence: run again with the same rows it gets the
**   same key and loads nothing; with other rows the digest differs and
**   they load;
** - two transactions inserting equal rows have different sequence
**   numbers, so both load, as SQL says they must.
**
** Files are uploaded with overwrite: a retried or repeated upload of a
** commit writes the same bytes under the same name, and a file cut off
** mid-upload is replaced whole before any COPY INTO names it (COPY INTO
** runs only after every upload succeeded). The name is never reused for
** other bytes, because the key includes the digest.
*/
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "commit.h"
#include "files.h"
#include "rows.h"
#include "stage.h"

/* Appends `c`.`s`.`t`, the dotted form the statement builders read. */
static void commit_name(DbxBuf *pBuf, const char *zCatalog, const char *zSchema,
                        const char *zTable) {
  dbx_sql_ident(pBuf, zCatalog);
  dbx_buf_append(pBuf, ".", 1);
  dbx_sql_ident(pBuf, zSchema);
  dbx_buf_append(pBuf, ".", 1);
  dbx_sql_ident(pBuf, zTable);
}

/* Whether z is 1..nMax bytes of [A-Za-z0-9._-] and not "." or "..". */
static int commit_word_ok(const char *z, size_t nMax) {
  size_t n = 0;
  if (z == NULL || strcmp(z, ".") == 0 || strcmp(z, "..") == 0) return 0;
  for (; z[n]; n++) {
    char c = z[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
      return 0;
    }
  }
  return n >= 1 && n <= nMax;
}

/* The last part of a local path. */
static const char *commit_base(const char *zPath) {
  const char *z = strrchr(zPath, '/');
  return z ? z + 1 : zPath;
}

char *dbx_commit_dir(const char *const azStage[3], const char *const azTable[3],
                     const char *zKey) {
  char zTarget[33];
  dbx_digest_hex(azTable, 3, zTarget);
  if (zTarget[0] == 0) return NULL;
  return sqlite3_mprintf("/Volumes/%s/%s/%s/%s/%s/", azStage[0], azStage[1],
                         azStage[2], zTarget, zKey);
}

/* Runs zSql once or, when bIdempotent, as often as the client retries;
** the statement id goes to zId (80 bytes, may be NULL). */
static int commit_run(DbxClient *pClient, const DbxStmtOptions *pOpt,
                      const char *zSql, int bIdempotent, char *zId,
                      int64_t *pnInserted, DbxError *pErr) {
  DbxStmtOptions o = *pOpt;
  DbxRows *pRows = NULL;
  int rc;
  o.bIdempotent = bIdempotent;
  o.eDisposition = DBX_DISP_INLINE;
  rc = dbx_rows_execute(pClient, zSql, NULL, 0, &o, &pRows, pErr);
  if (rc == SQLITE_OK && zId) {
    snprintf(zId, 80, "%s", dbx_stmt_id(dbx_rows_stmt(pRows)));
  }
  if (rc == SQLITE_OK && pnInserted) {
    /* COPY INTO answers one row: num_affected_rows, num_inserted_rows,
    ** ...; the count is checked, not trusted to be there */
    int i, n = dbx_rows_column_count(pRows);
    *pnInserted = -1;
    if (dbx_rows_next(pRows, pErr) == SQLITE_ROW) {
      for (i = 0; i < n; i++) {
        const DbxColumn *pCol = dbx_rows_column(pRows, i);
        DbxCell c;
        if (pCol && pCol->zName &&
            strcmp(pCol->zName, "num_inserted_rows") == 0 &&
            dbx_rows_cell(pRows, i, &c, pErr) == SQLITE_OK &&
            c.eType == DBX_CELL_INTEGER && c.iVal >= 0) {
          *pnInserted = c.iVal;
        }
      }
    }
  }
  dbx_rows_free(pRows);
  return rc;
}

int dbx_commit_columns(const DbxTableInfo *pInfo, const DbxSqlCol *aCol,
                       int nCol, DbxSqlCol **paOut, int *pnOut,
                       const char **azType) {
  DbxSqlCol *aOut;
  int i, j, n = 0;
  *paOut = NULL;
  *pnOut = 0;
  aOut = sqlite3_malloc64(sizeof(DbxSqlCol) * (sqlite3_uint64)(nCol + 1));
  if (aOut == NULL) return SQLITE_NOMEM;
  for (i = 0; i < nCol; i++) {
    const char *zRemote = NULL;
    for (j = 0; pInfo && j < pInfo->nCol; j++) {
      if (sqlite3_stricmp(pInfo->aCol[j].zName, aCol[i].zName) == 0) {
        zRemote = pInfo->aCol[j].zTypeText;
        break;
      }
    }
    if (zRemote == NULL) aOut[n++] = aCol[i];
    azType[i] = zRemote ? zRemote : aCol[i].zType;
  }
  *paOut = aOut;
  *pnOut = n;
  return SQLITE_OK;
}

/*
** Step 1: the target exists with every column of the spec. Fills azType
** (the type each staged column is loaded as).
*/
static int commit_target(DbxClient *pClient, const DbxStmtOptions *pOpt,
                         const DbxCommitSpec *s, const char *zName,
                         const char **azType, DbxTableInfo **ppInfo,
                         DbxCommitReport *pRep, DbxError *pErr) {
  DbxSqlCol *aAdd = NULL;
  DbxBuf sql = {0};
  DbxError e;
  int nAdd = 0, i, rc;
  dbx_error_clear(&e);
  rc = dbx_catalog_table_get(pClient, s->zCatalog, s->zSchema, s->zTable,
                             ppInfo, &e);
  if (rc && e.httpStatus == 404) {
    if (!s->bCreate) {
      return dbx_error_set_api(
          pErr, rc, 404, e.zCode,
          "table %s.%s.%s does not exist: create it, or %s so that the "
          "first commit creates it",
          s->zCatalog, s->zSchema, s->zTable,
          s->zHowToCreate ? s->zHowToCreate : "let the commit create it");
    }
    rc = dbx_sql_create_table(&sql, zName, s->aCreate ? s->aCreate : s->aCol,
                              s->aCreate ? s->nCreate : s->nCol, s->bCdf, pErr);
    /* IF NOT EXISTS: a repeat changes nothing */
    if (rc == SQLITE_OK)
      rc = commit_run(pClient, pOpt, sql.z, 1, NULL, NULL, pErr);
    dbx_buf_free(&sql);
    if (rc) return rc;
    pRep->bCreated = 1;
    if (s->aCreate == NULL) {
      for (i = 0; i < s->nCol; i++)
        azType[i] = s->aCol[i].zType;
      return SQLITE_OK;
    }
    /* a model's table: its types, and the columns it lacks added */
    rc = dbx_catalog_table_get(pClient, s->zCatalog, s->zSchema, s->zTable,
                               ppInfo, pErr);
    if (rc) return rc;
  } else if (rc) {
    if (pErr && pErr->rc == SQLITE_OK) *pErr = e;
    return rc;
  }
  rc = dbx_commit_columns(*ppInfo, s->aCol, s->nCol, &aAdd, &nAdd, azType);
  if (rc) return dbx_error_set(pErr, rc, "out of memory");
  if (nAdd > 0) {
    rc = dbx_sql_add_columns(&sql, zName, aAdd, nAdd, pErr);
    /* Sent once: a repeat after it ran would fail on columns that exist. */
    if (rc == SQLITE_OK)
      rc = commit_run(pClient, pOpt, sql.z, 0, NULL, NULL, pErr);
    if (rc == SQLITE_OK) pRep->nAdded = nAdd;
  }
  dbx_buf_free(&sql);
  sqlite3_free(aAdd);
  return rc;
}

/*
** Whether a failed COPY INTO may have loaded its files: unless the server
** said it failed (an error class with a 4xx status, or a statement that
** ended FAILED), its outcome is unknown.
*/
static int commit_load_unknown(const DbxError *e) {
  if (e->rc == SQLITE_INTERRUPT) return 1;
  if (e->bUncertain) return 1;
  if (e->zCode[0] == 0) return 1;
  return e->httpStatus >= 500 && e->httpStatus != 503;
}

/*
** Reports a failed load or merge: its outcome unknown (the one-line error
** names the staged files and the statement, and bUncertain is set), or
** the server's error as it came.
*/
static void commit_load_error(const DbxCommitSpec *s, const char *zWhat,
                              const char *zDir, int rc, const DbxError *e,
                              DbxError *pErr) {
  if (rc == SQLITE_OK) return;
  if (commit_load_unknown(e)) {
    dbx_error_set_api(pErr, rc, e->httpStatus, e->zCode,
                      "the %s %s.%s.%s may or may not have happened (%s): "
                      "check the table for the files of %s (statement %s); "
                      "running the same transaction again is safe, it "
                      "applies them at most once",
                      zWhat, s->zCatalog, s->zSchema, s->zTable, e->zMsg, zDir,
                      e->zStatement[0] ? e->zStatement : "id unknown");
    if (pErr) pErr->bUncertain = 1;
  } else if (pErr && pErr->rc == SQLITE_OK) {
    *pErr = *e;
  }
}

/*
** Step 4 of a merge or a replace: the files into a stage table named after
** the commit, one MERGE or INSERT OVERWRITE, the stage dropped whatever
** happened.
*/
static int commit_staged(DbxClient *pClient, const DbxStmtOptions *pOpt,
                         const DbxCommitSpec *s, const char *zName,
                         const DbxSqlCol *aLoad, const char *zDir,
                         const char **azFile, DbxCommitReport *pRep,
                         DbxError *pErr) {
  const char *azKey[1] = {s->zKey};
  DbxSqlCol *aStage = NULL;
  DbxBuf stage = {0}, sql = {0};
  DbxError e;
  char zSuffix[33];
  int rc, bMade = 0;
  /* the stage's name: the digest of the commit's, which is too long and
  ** has '-' in it */
  dbx_digest_hex(azKey, 1, zSuffix);
  aStage = sqlite3_malloc64(sizeof(DbxSqlCol) * (sqlite3_uint64)(s->nCol + 1));
  if (aStage == NULL || !zSuffix[0]) {
    sqlite3_free(aStage);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memcpy(aStage, aLoad, sizeof(DbxSqlCol) * (size_t)s->nCol);
  aStage[s->nCol].zName = DBX_SQL_OP_COLUMN;
  aStage[s->nCol].zType = "STRING";
  int nStage = s->nCol + (s->bReplace ? 0 : 1); /* a merge's op column */
  rc = dbx_sql_stage_table(&stage, zName, zSuffix, pErr);
  if (rc == SQLITE_OK) {
    rc = dbx_sql_create_stage(&sql, zName, zSuffix, aLoad, s->nCol, pErr);
  }
  /* IF NOT EXISTS: a repeat finds it, and COPY INTO skips its files */
  if (rc == SQLITE_OK)
    rc = commit_run(pClient, pOpt, sql.z, 1, NULL, NULL, pErr);
  if (rc == SQLITE_OK) {
    bMade = 1;
    dbx_buf_reset(&sql);
    rc = dbx_sql_copy_into(&sql, stage.z, aStage, nStage, zDir, azFile,
                           s->nLocal, 0, pErr);
  }
  if (rc == SQLITE_OK)
    rc = commit_run(pClient, pOpt, sql.z, 1, NULL, NULL, pErr);
  if (rc == SQLITE_OK) {
    dbx_buf_reset(&sql);
    if (s->bReplace) {
      rc = dbx_sql_insert_overwrite(&sql, zName, zSuffix, aLoad, s->nCol, pErr);
    } else {
      rc = dbx_sql_merge(&sql, zName, zSuffix, aLoad, s->nCol, s->azKey,
                         s->nKey, s->azVersion, s->nVersion, pErr);
    }
  }
  if (rc == SQLITE_OK) {
    /* applying the same stage twice changes nothing: safe to send again */
    dbx_error_clear(&e);
    rc = commit_run(pClient, pOpt, sql.z, 1, pRep->zStatement, &pRep->nLoaded,
                    &e);
    commit_load_error(s, s->bReplace ? "replace of" : "merge into", zDir, rc,
                      &e, pErr);
  }
  if (bMade) {
    dbx_buf_reset(&sql);
    dbx_error_clear(&e);
    if (dbx_sql_drop_stage(&sql, zName, zSuffix, &e) == SQLITE_OK &&
        commit_run(pClient, pOpt, sql.z, 1, NULL, NULL, &e) != SQLITE_OK &&
        rc == SQLITE_OK) {
      snprintf(pRep->zCleanup, sizeof(pRep->zCleanup), "%.255s", e.zMsg);
    }
  }
  sqlite3_free(aStage);
  dbx_buf_free(&stage);
  dbx_buf_free(&sql);
  return rc;
}

int dbx_commit_append(DbxClient *pClient, const DbxStmtOptions *pOpt,
                      const DbxCommitSpec *s, DbxCommitReport *pRep,
                      DbxError *pErr) {
  DbxTableInfo *pInfo = NULL;
  DbxFilesJob *aJob = NULL;
  const char **azType = NULL;
  const char **azFile = NULL;
  DbxSqlCol *aLoad = NULL;
  DbxBuf name = {0}, sql = {0};
  char *zDir = NULL;
  const char *azName[3], *azStage[3];
  int64_t t0 = dbx_now_ms(), t1;
  int i, bStaged = 0, rc = SQLITE_OK;

  memset(pRep, 0, sizeof(*pRep));
  if (s->nCol < 1 || s->nLocal < 1 || !commit_word_ok(s->zKey, 200)) {
    return dbx_error_set(pErr, SQLITE_MISUSE,
                         "commit: no columns, no files or a bad key");
  }
  for (i = 0; i < s->nLocal; i++) {
    if (!commit_word_ok(commit_base(s->azLocal[i]), 200)) {
      return dbx_error_set(pErr, SQLITE_MISUSE,
                           "commit: staged file %d has a bad name", i + 1);
    }
  }
  commit_name(&name, s->zCatalog, s->zSchema, s->zTable);
  azName[0] = s->zCatalog;
  azName[1] = s->zSchema;
  azName[2] = s->zTable;
  azStage[0] = s->zStageCatalog;
  azStage[1] = s->zStageSchema;
  azStage[2] = s->zStageVolume;
  zDir = dbx_commit_dir(azStage, azName, s->zKey);
  azType = sqlite3_malloc64(sizeof(char *) * (sqlite3_uint64)s->nCol);
  azFile = sqlite3_malloc64(sizeof(char *) * (sqlite3_uint64)s->nLocal);
  aJob = sqlite3_malloc64(sizeof(DbxFilesJob) * (sqlite3_uint64)s->nLocal);
  aLoad = sqlite3_malloc64(sizeof(DbxSqlCol) * (sqlite3_uint64)s->nCol);
  if (aJob) memset(aJob, 0, sizeof(DbxFilesJob) * (size_t)s->nLocal);
  if (name.rc || !zDir || !azType || !azFile || !aJob || !aLoad) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  snprintf(pRep->zDir, sizeof(pRep->zDir), "%s", zDir);

  /* 1, 2: the table and the volume */
  rc = commit_target(pClient, pOpt, s, name.z, azType, &pInfo, pRep, pErr);
  if (rc == SQLITE_OK) {
    rc = dbx_stage_volume_ensure(pClient, pOpt, s->zStageCatalog,
                                 s->zStageSchema, s->zStageVolume, 1,
                                 &pRep->bVolumeCreated, pErr);
  }
  t1 = dbx_now_ms();
  pRep->msPrepare = t1 - t0;
  if (rc) goto done;

  /* 3: the files, to names fixed by the key */
  for (i = 0; i < s->nLocal && rc == SQLITE_OK; i++) {
    azFile[i] = commit_base(s->azLocal[i]);
    aJob[i].zLocal = s->azLocal[i];
    aJob[i].zRemote = sqlite3_mprintf("%s%s", zDir, azFile[i]);
    aJob[i].nBytes = 0;
    if (aJob[i].zRemote == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  bStaged = 1;
  if (rc == SQLITE_OK && s->zPlanLocal) {
    /* first, so that a repeat finds what it must do again before any file
    ** of the commit can have been loaded */
    char *zPlan = sqlite3_mprintf("%s" DBX_COMMIT_PLAN, zDir);
    rc = zPlan ? dbx_files_upload(pClient, s->zPlanLocal, zPlan, 1, NULL, pErr)
               : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    sqlite3_free(zPlan);
  }
  if (rc == SQLITE_OK) {
    rc = dbx_files_upload_many(pClient, aJob, s->nLocal, s->nParallel, 1,
                               pOpt->xInterrupt, pOpt->pInterruptArg,
                               &pRep->nByte, pErr);
  }
  pRep->msUpload = dbx_now_ms() - t1;
  t1 = dbx_now_ms();
  if (rc) goto done;
  pRep->nFile = s->nLocal;

  /* 4: one COPY INTO, safe to send again; or a merge */
  for (i = 0; i < s->nCol; i++) {
    aLoad[i].zName = s->aCol[i].zName;
    aLoad[i].zType = azType[i];
  }
  if (s->nKey > 0 || s->bReplace) {
    rc = commit_staged(pClient, pOpt, s, name.z, aLoad, zDir, azFile, pRep,
                       pErr);
  } else {
    rc = dbx_sql_copy_into(&sql, name.z, aLoad, s->nCol, zDir,
                           (const char *const *)azFile, s->nLocal, 0, pErr);
    if (rc == SQLITE_OK) {
      DbxError e;
      dbx_error_clear(&e);
      rc = commit_run(pClient, pOpt, sql.z, 1, pRep->zStatement, &pRep->nLoaded,
                      &e);
      commit_load_error(s, "load into", zDir, rc, &e, pErr);
    }
  }
  pRep->msLoad = dbx_now_ms() - t1;
  t1 = dbx_now_ms();
  if (rc) goto done;

  /* 5: the staged files go; the rows are in whatever happens here */
  if (!s->bKeep) {
    DbxError e;
    dbx_error_clear(&e);
    if (dbx_files_rmdir(pClient, zDir, 1, &e) != SQLITE_OK) {
      snprintf(pRep->zCleanup, sizeof(pRep->zCleanup), "%.255s", e.zMsg);
    }
  }
  pRep->msCleanup = dbx_now_ms() - t1;

done:
  if (rc && bStaged && !(pErr && pErr->bUncertain)) {
    /* the files of a known failure are of no further use; those of a load
    ** whose outcome is unknown stay for the user to check */
    DbxError e;
    dbx_error_clear(&e);
    dbx_files_rmdir(pClient, zDir, 1, &e);
  }
  for (i = 0; aJob && i < s->nLocal; i++)
    sqlite3_free((char *)aJob[i].zRemote);
  dbx_catalog_table_free(pInfo);
  sqlite3_free(azType);
  sqlite3_free(azFile);
  sqlite3_free(aJob);
  sqlite3_free(aLoad);
  dbx_buf_free(&name);
  sqlite3_free(zDir);
  dbx_buf_free(&sql);
  return rc;
}
