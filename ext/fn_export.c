/*
** fn_export.c: dbx_export(source, target [, options_json]), a local table
** or query loaded into a Delta table in one batch, exactly once.
**
**   SELECT dbx_export('events', 'main.analytics.events');
**   SELECT dbx_export('SELECT * FROM events WHERE event_type = ''checkout''',
**                     'main.analytics.checkouts',
**                     '{"watermark": "event_time", "model":
*"amplitude_events"}');
**
** The rows are written to Parquet (fn_parquet.c), then loaded by the
** commit engine (commit.h): the target created from the source's columns
** (or create=, or a model) when missing, columns it lacks added, files
** staged in a volume, one COPY INTO. With a watermark (a column whose
** values do not decrease as rows are added) each call takes only the rows
** beyond the last value exported, up to the largest value present when it
** starts; rows added meanwhile wait for the next call.
**
** State. The table dbx_export_state of the main database holds, per
** (source, target), a random identity, the number of the last export and
** the watermark reached. It is written in the statement that runs
** dbx_export(), so it changes only when that statement's transaction
** commits, after the remote load.
**
** Exactly once. Export number N of an identity stages its files in the
** directory "<identity>-<N>" (commit.c gives the rest of the path), which
** first receives _plan.json: the watermark range the export covers. A
** repeat of export N (the process died after the load, before the local
** commit, so N was not recorded) finds that plan and exports the same
** range again to the same file names, which COPY INTO, run without force,
** skips when they were loaded and loads when they were not. The range must
** be fixed before the first file can be loaded, or rows added between the
** two tries would ride in a file name already loaded and be lost: hence
** the plan, and the directory is kept until export N+1, which removes it.
** Rows are matched by range, not by content, so two exports of equal rows
** (without a watermark) load them twice, as two INSERTs would.
**
** SQLITE_DIRECTONLY: it talks to the network and writes state.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "catalog.h"
#include "commit.h"
#include "files.h"
#include "models.h"
#include "parquet.h"
#include "session.h"

/* ---------------------------------------------------------------------
** Options
*/

typedef struct ExportOpts {
  const char *zWatermark;     /* watermark column, or NULL */
  int bMerge;                 /* mode = 'merge' */
  int bReplace;               /* mode = 'replace' */
  const char *zMergeKeys;     /* merge_keys, or NULL */
  const char *zVersions;      /* version_columns, or NULL */
  const char *zCreate;        /* create: a column list, or NULL */
  int bCreate;                /* create: the target may be created (default) */
  const char *zModel;         /* model, or NULL */
  int bCdf;                   /* change_data_feed */
  int bJsonString;            /* json_as = 'string' */
  const char *zStagingVolume; /* staging_volume, or NULL */
  int nFileMb;                /* file_size_mb, 0: the writer's default */
  int nParallel;              /* parallel_uploads */
  int eProgress;              /* progress: -1 when stderr is a terminal */
} ExportOpts;

/* The DbxArgsMemberFn of dbx_export(): takes its own options and leaves
** the connection settings and statement options to args.c. */
static int export_member(void *pArg, const cJSON *pItem, int *pbTaken,
                         DbxError *pErr) {
  ExportOpts *o = (ExportOpts *)pArg;
  const char *zKey = pItem->string;
  const char *zText = cJSON_IsString(pItem) ? pItem->valuestring : NULL;
  double r = cJSON_IsNumber(pItem) ? pItem->valuedouble : -1;
  *pbTaken = 1;
  if (strcmp(zKey, "mode") == 0) {
    if (zText == NULL ||
        (strcmp(zText, "append") != 0 && strcmp(zText, "merge") != 0 &&
         strcmp(zText, "replace") != 0)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "dbx_export: mode must be 'append' (the default), "
                           "'merge' or 'replace'");
    }
    o->bMerge = strcmp(zText, "merge") == 0;
    o->bReplace = strcmp(zText, "replace") == 0;
  } else if (strcmp(zKey, "merge_keys") == 0 && zText && zText[0]) {
    o->zMergeKeys = zText;
  } else if (strcmp(zKey, "version_columns") == 0 && zText && zText[0]) {
    o->zVersions = zText;
  } else if (strcmp(zKey, "watermark") == 0 && zText && zText[0]) {
    o->zWatermark = zText;
  } else if (strcmp(zKey, "create") == 0 && cJSON_IsBool(pItem)) {
    o->bCreate = cJSON_IsTrue(pItem);
  } else if (strcmp(zKey, "create") == 0 && zText) {
    DbxSqlCol *aCol = NULL;
    int nCol = 0, rc = dbx_sql_cols_parse(zText, &aCol, &nCol, pErr);
    sqlite3_free(aCol);
    if (rc) return rc;
    o->zCreate = zText;
  } else if (strcmp(zKey, "model") == 0 && zText) {
    o->zModel = zText;
  } else if (strcmp(zKey, "change_data_feed") == 0 && cJSON_IsBool(pItem)) {
    o->bCdf = cJSON_IsTrue(pItem);
  } else if (strcmp(zKey, "json_as") == 0 && zText &&
             (strcmp(zText, "variant") == 0 || strcmp(zText, "string") == 0)) {
    o->bJsonString = strcmp(zText, "string") == 0;
  } else if (strcmp(zKey, "staging_volume") == 0 && zText) {
    o->zStagingVolume = zText;
  } else if (strcmp(zKey, "file_size_mb") == 0 && r >= 1 && r <= 1024 &&
             r == (int)r) {
    o->nFileMb = (int)r;
  } else if (strcmp(zKey, "parallel_uploads") == 0 && r >= 1 && r <= 64 &&
             r == (int)r) {
    o->nParallel = (int)r;
  } else if (strcmp(zKey, "progress") == 0 && cJSON_IsBool(pItem)) {
    o->eProgress = cJSON_IsTrue(pItem);
  } else {
    static const char *const azOwn[] = {
        "mode",           "merge_keys",   "version_columns",  "watermark",
        "create",         "model",        "change_data_feed", "json_as",
        "staging_volume", "file_size_mb", "parallel_uploads", "progress"};
    size_t i;
    for (i = 0; i < DBX_ARRAY_SIZE(azOwn); i++) {
      if (strcmp(zKey, azOwn[i]) == 0) {
        return dbx_error_set(
            pErr, SQLITE_ERROR,
            "dbx_export: option %s has a bad value (watermark, merge_keys, "
            "version_columns: column names; create: true, false or 'col TYPE, "
            "...'; model: a name; "
            "json_as: 'variant' or 'string'; file_size_mb: 1 to 1024; "
            "parallel_uploads: 1 to 64; change_data_feed and progress: "
            "true or false)",
            zKey);
      }
    }
    *pbTaken = 0; /* a setting or a statement option */
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Local state
*/

/* The state of one (source, target): what the last export reached. */
typedef struct ExportState {
  char zId[33];         /* identity: 32 hex digits */
  int64_t iSeq;         /* number of the last export, 0 before the first */
  sqlite3_value *pMark; /* watermark reached (owned), or NULL */
  int bRow;             /* the row exists */
} ExportState;

/* Creates dbx_export_state when missing and reads the row of zSource,
** zTarget. What the file holds is checked: it may come from someone else. */
static int state_read(sqlite3 *db, const char *zSource, const char *zTarget,
                      ExportState *s, DbxError *pErr) {
  sqlite3_stmt *pStmt = NULL;
  int rc;
  memset(s, 0, sizeof(*s));
  rc = sqlite3_exec(db,
                    "CREATE TABLE IF NOT EXISTS main.dbx_export_state("
                    "source TEXT NOT NULL, target TEXT NOT NULL, "
                    "identity TEXT NOT NULL, seq INTEGER NOT NULL, "
                    "watermark ANY, rows INTEGER, exported_at TEXT, "
                    "PRIMARY KEY (source, target))",
                    NULL, NULL, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(db,
                            "SELECT identity, seq, watermark FROM "
                            "main.dbx_export_state WHERE source = ?1 AND "
                            "target = ?2",
                            -1, &pStmt, NULL);
  }
  if (rc) {
    return dbx_error_set(pErr, rc,
                         "dbx_export: cannot read its state in table "
                         "dbx_export_state: %s",
                         sqlite3_errmsg(db));
  }
  sqlite3_bind_text(pStmt, 1, zSource, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, zTarget, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    int eMark = sqlite3_column_type(pStmt, 2);
    s->iSeq = sqlite3_column_int64(pStmt, 1);
    s->bRow = 1;
    if (z == NULL || strlen(z) != 32 || strspn(z, "0123456789abcdef") != 32 ||
        sqlite3_column_type(pStmt, 1) != SQLITE_INTEGER || s->iSeq < 0 ||
        s->iSeq >= ((int64_t)1 << 62) || eMark == SQLITE_BLOB) {
      sqlite3_finalize(pStmt);
      return dbx_error_set(pErr, SQLITE_CORRUPT,
                           "dbx_export: its state for this source and target "
                           "in dbx_export_state is damaged: delete that row "
                           "to export everything again");
    }
    memcpy(s->zId, z, 33);
    if (eMark != SQLITE_NULL) {
      s->pMark = sqlite3_value_dup(sqlite3_column_value(pStmt, 2));
      if (s->pMark == NULL) rc = SQLITE_NOMEM;
    }
  } else {
    unsigned char a[16];
    int i;
    sqlite3_randomness(sizeof(a), a);
    for (i = 0; i < 16; i++)
      sprintf(s->zId + 2 * i, "%02x", a[i]);
  }
  sqlite3_finalize(pStmt);
  if (rc) return dbx_error_set(pErr, rc, "out of memory");
  return SQLITE_OK;
}

/* Records export iSeq, which reached pMark (may be NULL) with nRow rows. */
static int state_write(sqlite3 *db, const char *zSource, const char *zTarget,
                       const ExportState *s, int64_t iSeq, sqlite3_value *pMark,
                       int64_t nRow, DbxError *pErr) {
  sqlite3_stmt *pStmt = NULL;
  int rc = sqlite3_prepare_v2(
      db,
      "INSERT INTO main.dbx_export_state(source, target, identity, seq, "
      "watermark, rows, exported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
      "strftime('%Y-%m-%d %H:%M:%f', 'now')) ON CONFLICT (source, target) "
      "DO UPDATE SET seq = excluded.seq, watermark = excluded.watermark, "
      "rows = excluded.rows, exported_at = excluded.exported_at",
      -1, &pStmt, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(pStmt, 1, zSource, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, zTarget, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 3, s->zId, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 4, iSeq);
    if (pMark) sqlite3_bind_value(pStmt, 5, pMark);
    sqlite3_bind_int64(pStmt, 6, nRow);
    rc = sqlite3_step(pStmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
  }
  sqlite3_finalize(pStmt);
  if (rc) {
    return dbx_error_set(pErr, rc,
                         "dbx_export: the rows are loaded but its state "
                         "could not be stored (%s): the next call finds "
                         "the load and does not repeat it",
                         sqlite3_errmsg(db));
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** The plan: the watermark range of an export, as JSON
*/

/* Appends a watermark value as {"t": type, "v": text}, or null. */
static void plan_value(DbxBuf *b, sqlite3_value *v) {
  char zNum[40];
  const char *z;
  switch (v ? sqlite3_value_type(v) : SQLITE_NULL) {
  case SQLITE_INTEGER:
    snprintf(zNum, sizeof(zNum), "%lld", (long long)sqlite3_value_int64(v));
    dbx_buf_appendf(b, "{\"t\":\"integer\",\"v\":\"%s\"}", zNum);
    break;
  case SQLITE_FLOAT:
    snprintf(zNum, sizeof(zNum), "%.17g", sqlite3_value_double(v));
    dbx_buf_appendf(b, "{\"t\":\"real\",\"v\":\"%s\"}", zNum);
    break;
  case SQLITE_TEXT:
    z = (const char *)sqlite3_value_text(v);
    dbx_buf_appendf(b, "{\"t\":\"text\",\"v\":");
    dbx_buf_append_json(b, z, (size_t)sqlite3_value_bytes(v));
    dbx_buf_append(b, "}", 1);
    break;
  default:
    dbx_buf_append(b, "null", 4);
  }
}

/* Binds a plan value (JSON as plan_value writes it) to parameter i.
** Returns 0 when it is not such a value. */
static int plan_bind(sqlite3_stmt *pStmt, int i, const cJSON *p) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "t");
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "v");
  char *zEnd = NULL;
  if (cJSON_IsNull(p)) return sqlite3_bind_null(pStmt, i) == SQLITE_OK;
  if (!cJSON_IsString(t) || !cJSON_IsString(v)) return 0;
  errno = 0;
  if (strcmp(t->valuestring, "integer") == 0) {
    long long n = strtoll(v->valuestring, &zEnd, 10);
    if (errno || zEnd == v->valuestring || *zEnd) return 0;
    return sqlite3_bind_int64(pStmt, i, n) == SQLITE_OK;
  }
  if (strcmp(t->valuestring, "real") == 0) {
    double r = strtod(v->valuestring, &zEnd);
    if (zEnd == v->valuestring || *zEnd) return 0;
    return sqlite3_bind_double(pStmt, i, r) == SQLITE_OK;
  }
  if (strcmp(t->valuestring, "text") == 0) {
    return sqlite3_bind_text(pStmt, i, v->valuestring, -1, SQLITE_TRANSIENT) ==
           SQLITE_OK;
  }
  return 0;
}

/* ---------------------------------------------------------------------
** The export
*/

/* Everything one call holds, freed by export_free. */
typedef struct Export {
  sqlite3 *db;
  sqlite3_context *ctx;
  ExportOpts o;
  DbxArgsOptions args;
  DbxConfig *pConfig;
  DbxClient *pClient; /* borrowed from the session */
  DbxStmtOptions stmt;
  sqlite3_stmt *pProbe;
  char *azTarget[3]; /* catalog, schema, table */
  char *zTarget;     /* "catalog.schema.table" */
  char *azStage[3];  /* the staging volume */
  char *zSource;     /* the source as a query */
  ExportState state;
  char *zTmp;           /* local directory of the files */
  char *zPlanLocal;     /* local _plan.json */
  sqlite3_value *pUpto; /* the range's upper bound (owned), or NULL */
  DbxPqColumn *aFixed;  /* types the target or the model fix */
  int nFixed;
  DbxModel *pModel;
  DbxSqlCol *aCreate; /* create= columns (one block) */
  int nCreate;
  DbxPqColumn *aCol; /* the columns written */
  int nCol;
  DbxPqReport files;
  DbxProgress prog;
  char **azKey; /* merge: key columns (one block) */
  int nKey;
  char **azVersion; /* merge: version columns (one block) */
  int nVersion;
} Export;

static void export_free(Export *x) {
  int i;
  for (i = 0; i < x->files.nFile; i++)
    unlink(x->files.azPath[i]);
  if (x->zPlanLocal) unlink(x->zPlanLocal);
  if (x->zTmp) rmdir(x->zTmp);
  dbx_parquet_report_free(&x->files);
  dbx_parquet_schema_free(x->aCol, x->nCol);
  dbx_parquet_schema_free(x->aFixed, x->nFixed);
  dbx_model_free(x->pModel);
  sqlite3_free(x->aCreate);
  sqlite3_value_free(x->pUpto);
  sqlite3_value_free(x->state.pMark);
  sqlite3_free(x->zPlanLocal);
  sqlite3_free(x->zTmp);
  sqlite3_free(x->zSource);
  sqlite3_free(x->zTarget);
  sqlite3_free(x->azKey);
  sqlite3_free(x->azVersion);
  dbx_sql_name_free(x->azTarget);
  dbx_sql_name_free(x->azStage);
  sqlite3_finalize(x->pProbe);
  dbx_args_options_free(&x->args);
  dbx_config_free(x->pConfig);
}

/* Whether z starts with a keyword that begins a query. */
static int export_is_query(const char *z) {
  static const char *const azKw[] = {"SELECT", "WITH", "VALUES"};
  size_t i, n;
  while (*z == ' ' || *z == '\t' || *z == '\n' || *z == '\r' || *z == '(')
    z++;
  for (i = 0; i < DBX_ARRAY_SIZE(azKw); i++) {
    n = strlen(azKw[i]);
    if (sqlite3_strnicmp(z, azKw[i], (int)n) == 0 &&
        !((z[n] >= 'a' && z[n] <= 'z') || (z[n] >= 'A' && z[n] <= 'Z') ||
          (z[n] >= '0' && z[n] <= '9') || z[n] == '_')) {
      return 1;
    }
  }
  return 0;
}

/* Prepares zSql, which must be one read-only statement over the source. */
static int export_prepare(Export *x, const char *zSql, sqlite3_stmt **pp,
                          DbxError *pErr) {
  const char *zTail = NULL;
  int rc = sqlite3_prepare_v2(x->db, zSql, -1, pp, &zTail);
  if (rc) {
    return dbx_error_set(pErr, rc,
                         "dbx_export: the source does not prepare: "
                         "%s",
                         sqlite3_errmsg(x->db));
  }
  if (*pp == NULL || !sqlite3_stmt_readonly(*pp) ||
      sqlite3_column_count(*pp) == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_export: the source must be a table name or "
                         "one SELECT");
  }
  while (zTail && strchr(" \t\r\n;", *zTail) && *zTail)
    zTail++;
  if (zTail && *zTail) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_export: give one statement as the source (text "
                         "follows it: '%.40s')",
                         zTail);
  }
  return SQLITE_OK;
}

/* The merge keys and version columns: the options', else the model's. */
static int export_merge_names(Export *x, DbxError *pErr) {
  const char *zKeys = x->o.zMergeKeys, *zVersions = x->o.zVersions;
  DbxModel *pModel = NULL;
  int rc = SQLITE_OK;
  if (!x->o.bMerge) {
    if (zKeys || zVersions) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "dbx_export: merge_keys and version_columns need "
                           "{\"mode\": \"merge\"}");
    }
    return SQLITE_OK;
  }
  if (zKeys == NULL && x->o.zModel) {
    rc = dbx_model_find(x->o.zModel, &pModel, pErr);
    if (rc) return rc;
    if (pModel->zMergeKeys[0]) {
      zKeys = pModel->zMergeKeys;
      if (zVersions == NULL && pModel->zVersionColumns[0]) {
        zVersions = pModel->zVersionColumns;
      }
    }
  }
  if (zKeys == NULL) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "dbx_export: mode 'merge' needs merge_keys (or a model "
                       "that has them)");
  }
  if (rc == SQLITE_OK) {
    rc = dbx_sql_name_list(zKeys, "merge_keys", &x->azKey, &x->nKey, pErr);
  }
  if (rc == SQLITE_OK && zVersions) {
    rc = dbx_sql_name_list(zVersions, "version_columns", &x->azVersion,
                           &x->nVersion, pErr);
  }
  dbx_model_free(pModel);
  return rc;
}

/* Resolves the target name and the staging volume; connects. */
static int export_setup(Export *x, const char *zSourceArg,
                        const char *zTargetArg, const char *zOpts,
                        DbxError *pErr) {
  DbxSession *pSession = sqlite3_user_data(x->ctx);
  int nPart = 0, rc, i;
  x->o.bCreate = 1;
  x->o.nParallel = 4;
  x->o.eProgress = -1;
  rc = dbx_args_options_parse(zOpts && zOpts[0] ? zOpts : NULL,
                              "{\"watermark\": \"event_time\"}", DBX_ARGS_STMT,
                              export_member, &x->o, &x->args, pErr);
  if (rc == SQLITE_OK && x->o.bReplace && x->o.zWatermark) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "dbx_export: mode 'replace' sends every row; leave out "
                       "the watermark");
  }
  if (rc == SQLITE_OK && x->o.zModel && x->o.zCreate) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "dbx_export: give create or model, not both");
  }
  if (rc == SQLITE_OK) rc = export_merge_names(x, pErr);
  if (rc == SQLITE_OK) {
    rc = dbx_session_connect(pSession, x->args.aOpt, x->args.nOpt, &x->pConfig,
                             &x->pClient, pErr);
  }
  if (rc) return rc;
  dbx_stmt_options_init(&x->stmt);
  dbx_session_stmt_options(pSession, x->pConfig, &x->stmt);
  rc = dbx_args_options_apply(&x->args, &x->stmt, pErr);
  if (rc) return rc;
  x->pProbe = dbx_probe_open(x->db);
  x->stmt.xInterrupt = dbx_probe_interrupted;
  x->stmt.pInterruptArg = x->pProbe;

  /* the target: catalog.schema.table, the first two from the settings */
  rc = dbx_session_name3(x->pConfig, zTargetArg, "dbx_export: target",
                         x->azTarget, pErr);
  if (rc) return rc;
  x->zTarget = sqlite3_mprintf("%s.%s.%s", x->azTarget[0], x->azTarget[1],
                               x->azTarget[2]);
  if (x->o.zStagingVolume) {
    rc = dbx_sql_name_split(x->o.zStagingVolume, x->azStage, &nPart, pErr);
    if (rc == SQLITE_OK && nPart != 3) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_export: staging_volume must be "
                         "catalog.schema.volume");
    }
    if (rc) return rc;
  } else {
    x->azStage[0] = dbx_strdup(x->azTarget[0]);
    x->azStage[1] = dbx_strdup(x->azTarget[1]);
    x->azStage[2] = dbx_strdup("_dbx_staging");
  }
  x->zSource = export_is_query(zSourceArg)
                   ? sqlite3_mprintf("%s", zSourceArg)
                   : sqlite3_mprintf("SELECT * FROM \"%w\"", zSourceArg);
  for (i = 0; i < 3; i++) {
    if (x->azTarget[i] == NULL || x->azStage[i] == NULL) break;
  }
  if (i < 3 || x->zTarget == NULL || x->zSource == NULL) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  {
    /* the source must prepare as it is: a bad name fails here */
    sqlite3_stmt *pStmt = NULL;
    rc = export_prepare(x, x->zSource, &pStmt, pErr);
    sqlite3_finalize(pStmt);
  }
  return rc;
}

/* The types fixed before the rows are seen: the target's columns when it
** exists, else the model's or create='s; also what a created table gets. */
static int export_types(Export *x, DbxError *pErr) {
  DbxTableInfo *pInfo = NULL;
  const DbxSqlCol *aSrc = NULL;
  DbxError e;
  int i, nSrc = 0, rc;
  if (x->o.zModel) {
    rc = dbx_model_find(x->o.zModel, &x->pModel, pErr);
    if (rc) return rc;
    aSrc = x->pModel->aCol;
    nSrc = x->pModel->nCol;
  } else if (x->o.zCreate) {
    rc = dbx_sql_cols_parse(x->o.zCreate, &x->aCreate, &x->nCreate, pErr);
    if (rc) return rc;
    aSrc = x->aCreate;
    nSrc = x->nCreate;
  }
  dbx_error_clear(&e);
  rc = dbx_catalog_table_get(x->pClient, x->azTarget[0], x->azTarget[1],
                             x->azTarget[2], &pInfo, &e);
  if (rc && e.httpStatus != 404) {
    if (pErr->rc == SQLITE_OK) *pErr = e;
    return rc;
  }
  if (pInfo) {
    nSrc = pInfo->nCol;
  }
  x->aFixed =
      sqlite3_malloc64(sizeof(DbxPqColumn) * (sqlite3_uint64)(nSrc + 1));
  if (x->aFixed == NULL) {
    dbx_catalog_table_free(pInfo);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memset(x->aFixed, 0, sizeof(DbxPqColumn) * (size_t)(nSrc + 1));
  for (i = 0, rc = SQLITE_OK; rc == SQLITE_OK && i < nSrc; i++) {
    const char *zName = pInfo ? pInfo->aCol[i].zName : aSrc[i].zName;
    const char *zType = pInfo ? pInfo->aCol[i].zTypeText : aSrc[i].zType;
    DbxPqColumn *c = &x->aFixed[x->nFixed];
    if (x->o.bJsonString && !pInfo) {
      const DbxSqlType *pHead = dbx_sql_type_head(zType, NULL);
      if (pHead && strcmp(pHead->zName, "VARIANT") == 0) zType = "STRING";
    }
    c->zName = dbx_strdup(zName);
    if (c->zName == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      break;
    }
    x->nFixed++;
    /* a remote type the writer has no form for is left to the values */
    if (dbx_parquet_type_parse(zType, c, &e) != SQLITE_OK) {
      sqlite3_free(c->zName);
      c->zName = NULL;
      x->nFixed--;
      dbx_error_clear(&e);
    }
    c->bNotNull = 0;
  }
  dbx_catalog_table_free(pInfo);
  return rc;
}

/* The name of export iSeq in the staging volume: "<identity>-<iSeq>". */
static void export_key(const Export *x, int64_t iSeq, char *zKey, size_t n) {
  snprintf(zKey, n, "%s-%lld", x->state.zId, (long long)iSeq);
}

/* The staged directory of export iSeq (sqlite3_malloc), or NULL. */
static char *export_dir(const Export *x, int64_t iSeq) {
  char zKey[80];
  export_key(x, iSeq, zKey, sizeof(zKey));
  return dbx_commit_dir((const char *const *)x->azStage,
                        (const char *const *)x->azTarget, zKey);
}

/* Decides the watermark range: after the last value exported, up to the
** largest present now, or as the plan of an interrupted try says. */
static int export_range(Export *x, int64_t iSeq, int *pbEmpty, DbxError *pErr) {
  sqlite3_stmt *pStmt = NULL;
  char *zSql, *zDir, *zPlanRemote = NULL;
  DbxBuf plan = {0};
  int rc;
  *pbEmpty = 0;
  /* an interrupted try of this export left its plan: follow it */
  zDir = export_dir(x, iSeq);
  if (zDir) zPlanRemote = sqlite3_mprintf("%s" DBX_COMMIT_PLAN, zDir);
  sqlite3_free(zDir);
  x->zPlanLocal = sqlite3_mprintf("%s/" DBX_COMMIT_PLAN, x->zTmp);
  if (zPlanRemote == NULL || x->zPlanLocal == NULL) {
    sqlite3_free(zPlanRemote);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  {
    DbxError e;
    dbx_error_clear(&e);
    rc = dbx_files_download_to(x->pClient, zPlanRemote, x->zPlanLocal, 0, -1,
                               NULL, &e);
    sqlite3_free(zPlanRemote);
    if (rc && e.httpStatus != 404) {
      if (pErr->rc == SQLITE_OK) *pErr = e;
      return rc;
    }
    rc = SQLITE_OK;
  }
  if (access(x->zPlanLocal, F_OK) == 0) {
    FILE *f = fopen(x->zPlanLocal, "rb");
    char aBuf[8192];
    size_t n = f ? fread(aBuf, 1, sizeof(aBuf) - 1, f) : 0;
    cJSON *pPlan, *pUpto;
    if (f) fclose(f);
    aBuf[n] = 0;
    pPlan = cJSON_Parse(aBuf);
    pUpto = cJSON_GetObjectItemCaseSensitive(pPlan, "upto");
    if (x->o.zWatermark && pUpto) {
      rc = sqlite3_prepare_v2(x->db, "SELECT ?1", -1, &pStmt, NULL);
      if (rc == SQLITE_OK && plan_bind(pStmt, 1, pUpto) &&
          sqlite3_step(pStmt) == SQLITE_ROW) {
        x->pUpto = sqlite3_value_dup(sqlite3_column_value(pStmt, 0));
      }
      sqlite3_finalize(pStmt);
      pStmt = NULL;
    }
    cJSON_Delete(pPlan);
    if (x->o.zWatermark && x->pUpto == NULL) {
      return dbx_error_set(pErr, SQLITE_CORRUPT,
                           "dbx_export: the plan an earlier try left in the "
                           "staging volume cannot be read: remove the "
                           "directory %s-%lld there and check the target",
                           x->state.zId, (long long)iSeq);
    }
    return SQLITE_OK;
  }
  /* a new plan */
  if (x->o.zWatermark) {
    zSql = sqlite3_mprintf("SELECT max(\"%w\") FROM (%s) WHERE ?1 IS NULL OR "
                           "\"%w\" > ?1",
                           x->o.zWatermark, x->zSource, x->o.zWatermark);
    rc = zSql ? export_prepare(x, zSql, &pStmt, pErr)
              : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    sqlite3_free(zSql);
    if (rc == SQLITE_OK) {
      if (x->state.pMark) sqlite3_bind_value(pStmt, 1, x->state.pMark);
      rc = sqlite3_step(pStmt);
      if (rc == SQLITE_ROW) {
        int eType = sqlite3_column_type(pStmt, 0);
        rc = SQLITE_OK;
        if (eType == SQLITE_NULL) {
          *pbEmpty = 1;
        } else if (eType == SQLITE_BLOB) {
          rc = dbx_error_set(pErr, SQLITE_ERROR,
                             "dbx_export: watermark column %s holds blobs: "
                             "use a column of numbers or text",
                             x->o.zWatermark);
        } else {
          x->pUpto = sqlite3_value_dup(sqlite3_column_value(pStmt, 0));
          if (x->pUpto == NULL) rc = SQLITE_NOMEM;
        }
      } else {
        dbx_error_set(pErr, rc, "dbx_export: %s", sqlite3_errmsg(x->db));
      }
    }
    sqlite3_finalize(pStmt);
    if (rc) return pErr->rc ? pErr->rc : rc;
    if (*pbEmpty) return SQLITE_OK;
  }
  dbx_buf_appendf(&plan, "{\"target\":");
  dbx_buf_append_json(&plan, x->zTarget, strlen(x->zTarget));
  dbx_buf_appendf(&plan, ",\"after\":");
  plan_value(&plan, x->state.pMark);
  dbx_buf_appendf(&plan, ",\"upto\":");
  plan_value(&plan, x->pUpto);
  dbx_buf_appendf(&plan, "}\n");
  if (plan.rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  {
    FILE *f = fopen(x->zPlanLocal, "wb");
    int bOk = f && fwrite(plan.z, 1, plan.n, f) == plan.n;
    if (f && fclose(f) != 0) bOk = 0;
    dbx_buf_free(&plan);
    if (!bOk) {
      return dbx_error_set(pErr, SQLITE_IOERR,
                           "dbx_export: cannot write in %s (%s): set TMPDIR "
                           "to a writable directory",
                           x->zTmp, strerror(errno));
    }
  }
  return SQLITE_OK;
}

/*
** A merge's rows: one per key, the one with the greatest versions (NULL
** lowest), and the operation column; SQLite sorts them, in its temporary
** storage.
*/
static int export_merge_sql(Export *x, const char *zRows, char **pzOut,
                            DbxError *pErr) {
  sqlite3_stmt *pStmt = NULL;
  DbxBuf b = {0};
  int i, k, n, rc;
  *pzOut = NULL;
  rc = export_prepare(x, zRows, &pStmt, pErr);
  n = rc == SQLITE_OK ? sqlite3_column_count(pStmt) : 0;
  for (k = 0; rc == SQLITE_OK && k < x->nKey + x->nVersion; k++) {
    const char *zName = k < x->nKey ? x->azKey[k] : x->azVersion[k - x->nKey];
    for (i = 0; i < n; i++) {
      if (sqlite3_stricmp(sqlite3_column_name(pStmt, i), zName) == 0) break;
    }
    if (i == n) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_export: %s column %s is not a column of the "
                         "source",
                         k < x->nKey ? "merge key" : "version", zName);
    }
  }
  dbx_buf_appendf(&b, "SELECT ");
  for (i = 0; rc == SQLITE_OK && i < n; i++) {
    const char *zName = sqlite3_column_name(pStmt, i);
    if (sqlite3_stricmp(zName, DBX_SQL_OP_COLUMN) == 0 ||
        sqlite3_stricmp(zName, "_dbx_rn") == 0) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_export: a merge source may not have a column "
                         "named %s",
                         zName);
    }
    dbx_buf_append_name(&b, zName);
    dbx_buf_append(&b, ", ", 2);
  }
  dbx_buf_appendf(&b, "'upsert' AS \"" DBX_SQL_OP_COLUMN "\" FROM (SELECT *, "
                      "row_number() OVER (PARTITION BY ");
  for (k = 0; k < x->nKey; k++) {
    if (k) dbx_buf_append(&b, ", ", 2);
    dbx_buf_append_name(&b, x->azKey[k]);
  }
  dbx_buf_appendf(&b, " ORDER BY ");
  for (k = 0; k < x->nVersion; k++) {
    dbx_buf_append_name(&b, x->azVersion[k]);
    dbx_buf_appendf(&b, " DESC NULLS LAST, ");
  }
  dbx_buf_appendf(&b, "1) AS _dbx_rn FROM (%s)) WHERE _dbx_rn = 1", zRows);
  sqlite3_finalize(pStmt);
  if (rc == SQLITE_OK && b.rc)
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  if (rc) {
    dbx_buf_free(&b);
    return rc;
  }
  *pzOut = dbx_buf_take(&b);
  return SQLITE_OK;
}

/* Writes the rows of the range to Parquet files in x->zTmp. */
static int export_files(Export *x, DbxError *pErr) {
  sqlite3_stmt *pStmt = NULL;
  sqlite3_value *apParam[2];
  DbxPqOptions po;
  char *zSql, *zDir;
  int rc;
  if (x->o.zWatermark) {
    zSql = sqlite3_mprintf("SELECT * FROM (%s) WHERE (?1 IS NULL OR \"%w\" > "
                           "?1) AND \"%w\" <= ?2",
                           x->zSource, x->o.zWatermark, x->o.zWatermark);
  } else {
    zSql = sqlite3_mprintf("%s", x->zSource);
  }
  if (zSql && x->o.bMerge) {
    char *zMerge = NULL;
    rc = export_merge_sql(x, zSql, &zMerge, pErr);
    sqlite3_free(zSql);
    if (rc) return rc;
    zSql = zMerge;
  }
  zDir = sqlite3_mprintf("%s/", x->zTmp);
  rc = zSql && zDir ? export_prepare(x, zSql, &pStmt, pErr)
                    : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  /* the range's bounds, bound here and handed on with the statement */
  apParam[0] = x->state.pMark;
  apParam[1] = x->pUpto;
  if (rc == SQLITE_OK && x->o.zWatermark) {
    if (apParam[0]) sqlite3_bind_value(pStmt, 1, apParam[0]);
    sqlite3_bind_value(pStmt, 2, apParam[1]);
  }
  dbx_parquet_options_init(&po);
  if (x->o.nFileMb) po.nFileBytes = (int64_t)x->o.nFileMb * 1000000;
  if (rc == SQLITE_OK) {
    rc = dbx_parquet_query(x->db, pStmt, apParam, x->o.zWatermark ? 2 : 0, zDir,
                           x->aFixed, x->nFixed, &po, &x->files, &x->aCol,
                           &x->nCol, pErr);
  }
  sqlite3_finalize(pStmt);
  sqlite3_free(zSql);
  sqlite3_free(zDir);
  return rc;
}

/* The report: rows, files, bytes, what ran, the watermark, seconds. */
static char *export_report(Export *x, const DbxCommitReport *c, int64_t nRow,
                           int64_t msQuery) {
  DbxBuf b = {0};
  dbx_buf_appendf(&b, "{\"target\":");
  dbx_buf_append_json(&b, x->zTarget, strlen(x->zTarget));
  dbx_buf_appendf(&b,
                  ",\"rows\":%lld,\"loaded\":%lld,\"files\":%d,\"bytes\":%lld,"
                  "\"created\":%s,\"columns_added\":%d,\"statement_id\":",
                  (long long)nRow, (long long)(c ? c->nLoaded : 0),
                  c ? c->nFile : 0, (long long)(c ? c->nByte : 0),
                  c && c->bCreated ? "true" : "false", c ? c->nAdded : 0);
  if (c && c->zStatement[0]) {
    dbx_buf_append_json(&b, c->zStatement, strlen(c->zStatement));
  } else {
    dbx_buf_append(&b, "null", 4);
  }
  dbx_buf_appendf(&b, ",\"watermark\":");
  if (x->pUpto && sqlite3_value_type(x->pUpto) == SQLITE_TEXT) {
    dbx_buf_append_json(&b, (const char *)sqlite3_value_text(x->pUpto),
                        (size_t)sqlite3_value_bytes(x->pUpto));
  } else if (x->pUpto && sqlite3_value_type(x->pUpto) == SQLITE_INTEGER) {
    dbx_buf_appendf(&b, "%lld", (long long)sqlite3_value_int64(x->pUpto));
  } else if (x->pUpto) {
    dbx_buf_appendf(&b, "%.17g", sqlite3_value_double(x->pUpto));
  } else {
    dbx_buf_append(&b, "null", 4);
  }
  dbx_buf_appendf(&b,
                  ",\"seconds\":{\"stage\":%.3f,\"prepare\":%.3f,"
                  "\"upload\":%.3f,\"load\":%.3f,\"cleanup\":%.3f}}",
                  (double)msQuery / 1000, c ? (double)c->msPrepare / 1000 : 0.0,
                  c ? (double)c->msUpload / 1000 : 0.0,
                  c ? (double)c->msLoad / 1000 : 0.0,
                  c ? (double)c->msCleanup / 1000 : 0.0);
  if (b.rc) {
    dbx_buf_free(&b);
    return NULL;
  }
  return dbx_buf_take(&b);
}

/* Removes the directory export iSeq kept (see the top of this file). */
static void export_forget(Export *x, int64_t iSeq) {
  char *zDir = export_dir(x, iSeq);
  DbxError e;
  dbx_error_clear(&e);
  if (zDir) dbx_files_rmdir(x->pClient, zDir, 1, &e);
  sqlite3_free(zDir);
}

static int export_run(Export *x, char **pzOut, DbxError *pErr) {
  DbxCommitSpec spec;
  DbxCommitReport crep;
  DbxSqlCol *aCol = NULL;
  DbxBuf types = {0};
  char zKey[80];
  int64_t iSeq = x->state.iSeq + 1, t0 = dbx_now_ms(), msQuery;
  size_t *aiType = NULL;
  int i, bEmpty = 0, rc;

  x->zTmp = sqlite3_mprintf("%s/dbx-export-XXXXXX", dbx_temp_dir());
  if (x->zTmp == NULL)
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  if (mkdtemp(x->zTmp) == NULL) {
    sqlite3_free(x->zTmp);
    x->zTmp = NULL;
    return dbx_error_set(pErr, SQLITE_IOERR,
                         "dbx_export: cannot make a directory in %s (%s): set "
                         "TMPDIR to a writable directory",
                         dbx_temp_dir(), strerror(errno));
  }
  dbx_progress_show(&x->prog, "query", 0, 0, 0);
  rc = export_range(x, iSeq, &bEmpty, pErr);
  if (rc == SQLITE_OK && bEmpty) {
    /* nothing beyond the watermark: it stays where it is */
    if (x->state.pMark) x->pUpto = sqlite3_value_dup(x->state.pMark);
    *pzOut = export_report(x, NULL, 0, dbx_now_ms() - t0);
    return *pzOut ? SQLITE_OK
                  : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  if (rc == SQLITE_OK) rc = export_types(x, pErr);
  if (rc == SQLITE_OK) rc = export_files(x, pErr);
  msQuery = dbx_now_ms() - t0;
  if (rc) return rc;
  if (x->files.nRow == 0 && !x->o.zWatermark && !x->o.bReplace) {
    *pzOut = export_report(x, NULL, 0, msQuery);
    return *pzOut ? SQLITE_OK
                  : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  dbx_progress_show(&x->prog, "load", x->files.nRow, x->files.nByte, 0);

  /* the columns written, with their Databricks types */
  aCol = sqlite3_malloc64(sizeof(DbxSqlCol) * (sqlite3_uint64)x->nCol);
  aiType = sqlite3_malloc64(sizeof(size_t) * (sqlite3_uint64)x->nCol);
  if (aCol == NULL || aiType == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  for (i = 0; i < x->nCol; i++) {
    aiType[i] = types.n;
    if (x->aCol[i].eType == DBX_PQ_JSON) {
      /* JSON text: VARIANT, or STRING under json_as='string' */
      dbx_buf_appendf(&types, "%s", x->o.bJsonString ? "STRING" : "VARIANT");
    } else {
      dbx_parquet_type_text(&x->aCol[i], &types);
    }
    dbx_buf_append(&types, "", 1);
  }
  if (types.rc) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  for (i = 0; i < x->nCol; i++) {
    aCol[i].zName = x->aCol[i].zName;
    aCol[i].zType = types.z + aiType[i];
  }
  export_key(x, iSeq, zKey, sizeof(zKey));
  memset(&spec, 0, sizeof(spec));
  spec.zCatalog = x->azTarget[0];
  spec.zSchema = x->azTarget[1];
  spec.zTable = x->azTarget[2];
  spec.aCol = aCol;
  spec.nCol = x->nCol - (x->o.bMerge ? 1 : 0); /* a merge's last: the op */
  if (x->o.bMerge) {
    spec.azKey = (const char *const *)x->azKey;
    spec.nKey = x->nKey;
    spec.azVersion = (const char *const *)x->azVersion;
    spec.nVersion = x->nVersion;
  }
  if (x->pModel) {
    spec.aCreate = x->pModel->aCol;
    spec.nCreate = x->pModel->nCol;
  } else if (x->aCreate) {
    spec.aCreate = x->aCreate;
    spec.nCreate = x->nCreate;
  }
  spec.bCreate = x->o.bCreate;
  spec.bReplace = x->o.bReplace;
  spec.bCdf = x->o.bCdf;
  spec.zHowToCreate = "leave out {\"create\": false}";
  spec.zStageCatalog = x->azStage[0];
  spec.zStageSchema = x->azStage[1];
  spec.zStageVolume = x->azStage[2];
  spec.zKey = zKey;
  spec.nParallel = x->o.nParallel;
  spec.azLocal = (const char *const *)x->files.azPath;
  spec.nLocal = x->files.nFile;
  spec.zPlanLocal = x->zPlanLocal;
  spec.bKeep = 1;
  rc = dbx_commit_append(x->pClient, &x->stmt, &spec, &crep, pErr);
  if (rc == SQLITE_OK) {
    rc = state_write(x->db, x->zSource, x->zTarget, &x->state, iSeq, x->pUpto,
                     x->files.nRow, pErr);
  }
  if (rc == SQLITE_OK && iSeq > 1) export_forget(x, iSeq - 1);
  if (rc == SQLITE_OK) {
    dbx_progress_show(&x->prog, "done", x->files.nRow, x->files.nByte, 1);
    *pzOut = export_report(x, &crep, x->files.nRow, msQuery);
    if (*pzOut == NULL) rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
done:
  sqlite3_free(aCol);
  sqlite3_free(aiType);
  dbx_buf_free(&types);
  return rc;
}

/*
** dbx_export(source, target [, options_json]): see the top of this file.
** Returns the JSON report.
*/
void dbx_fn_export(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char *const azWhat[] = {"the source", "the target",
                                       "options_json"};
  Export x;
  DbxError err;
  char *zOut = NULL;
  int rc;
  dbx_error_clear(&err);
  memset(&x, 0, sizeof(x));
  x.db = sqlite3_context_db_handle(ctx);
  x.ctx = ctx;
  if (argc < 2 || argc > 3) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_export(source, target [, "
                         "options_json]) needs a local table or SELECT and a "
                         "catalog.schema.table",
                         -1);
    return;
  }
  rc = dbx_args_check_all(argc, argv, azWhat, 2, 2, "dbx_export", &err);
  if (rc == SQLITE_OK) {
    rc = export_setup(&x, dbx_args_text(argc, argv, 0),
                      dbx_args_text(argc, argv, 1),
                      dbx_args_text(argc, argv, 2), &err);
  }
  if (rc == SQLITE_OK) {
    x.prog.zWho = "dbx_export";
    x.prog.bOn = x.o.eProgress < 0 ? isatty(2) : x.o.eProgress;
    x.prog.t0 = dbx_now_ms();
    rc = state_read(x.db, x.zSource, x.zTarget, &x.state, &err);
  }
  if (rc == SQLITE_OK) rc = export_run(&x, &zOut, &err);
  if (x.prog.bOn && rc) fprintf(stderr, "\n");
  export_free(&x);
  if (rc) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}
