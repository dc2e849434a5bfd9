/*
** functions.c: the dbx_* SQL functions and table-valued functions.
**
**   SELECT row, rownum FROM dbx_query('SELECT * FROM main.default.t WHERE
**          id > :min', '{"min": 10}', '{"warehouse": "..."}');
**   SELECT dbx_exec('INSERT INTO main.default.t VALUES (1)');
**   SELECT dbx_config();                       -- effective settings, sources
**   SELECT dbx_config('warehouse', '/sql/1.0/warehouses/abc');
**   SELECT * FROM dbx_statements;              -- what ran remotely
**
** params_json is {"name": value} or [{"name","value","type"}]: strings are
** STRING, integral numbers BIGINT, other numbers DOUBLE, true/false BOOLEAN,
** null SQL NULL; the SQL refers to them as :name. options_json holds
** config settings (profile, host, warehouse, catalog, schema, token as
** env:NAME ...) and statement options (disposition, statement_timeout,
** wait_timeout, row_limit).
**
** dbx_query's `row` is a JSON object of the row: integers and REAL as JSON
** numbers, BOOLEAN as true/false, DECIMAL over 15 digits, TIMESTAMP, DATE
** and STRING as strings, ARRAY/MAP/STRUCT/VARIANT embedded as JSON, BINARY
** as a lower-case hex string, NULL as null.
**
** This is the SQL surface: sqlite3 contexts and vtabs stop here. Every
** function and module shares the connection's DbxSession (session.h).
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "session.h"

/* ---------------------------------------------------------------------
** Options and parameters shared by dbx_query and dbx_exec.
*/

/* What one call needs: its parsed arguments and the connection's client. */
typedef struct CallArgs {
  DbxParam *aParam;    /* owned (sqlite3_free), one allocation */
  int nParam;          /* entries in aParam */
  DbxArgsOptions opts; /* owned; options_json, split */
  DbxStmtOptions stmt; /* statement options */
  DbxConfig *pConfig;  /* owned; resolved */
  DbxClient *pClient;  /* borrowed from the session */
} CallArgs;

/* The arguments sql, params_json and options_json, as errors name them. */
static const char *const azCallArg[] = {"the SQL text", "params_json",
                                        "options_json"};

/* Which of them are JSON, whose \u0000 escapes are refused (args.h). */
#define CALL_ARGS_JSON 0x06

/* Frees what call_args_prepare() made; the options JSON is wiped. */
static void call_args_free(CallArgs *a) {
  sqlite3_free(a->aParam);
  dbx_args_options_free(&a->opts);
  dbx_config_free(a->pConfig);
  memset(a, 0, sizeof(*a));
}

/*
** Parses params_json and options_json (either may be NULL; an empty
** options_json is none), resolves the configuration and finds the client.
** Statement options of the call are checked first and applied after the
** connection's dbx_config() defaults, so they override them. Returns
** SQLITE_OK or an error in pErr.
*/
static int call_args_prepare(DbxSession *pSession, const char *zParams,
                             const char *zOptions, CallArgs *a,
                             DbxError *pErr) {
  int rc;
  memset(a, 0, sizeof(*a));
  dbx_stmt_options_init(&a->stmt);
  rc = dbx_stmt_params_parse(zParams, &a->aParam, &a->nParam, pErr);
  if (rc) return rc;
  rc = dbx_args_options_parse(
      zOptions && zOptions[0] ? zOptions : NULL,
      "{\"warehouse\": \"<id>\", \"statement_timeout\": 30}", DBX_ARGS_STMT,
      NULL, NULL, &a->opts, pErr);
  if (rc) return rc;
  rc = dbx_session_connect(pSession, a->opts.aOpt, a->opts.nOpt, &a->pConfig,
                           &a->pClient, pErr);
  if (rc) return rc;
  dbx_session_stmt_options(pSession, a->pConfig, &a->stmt);
  return dbx_args_options_apply(&a->opts, &a->stmt, pErr);
}

/* Text of an argument, or NULL when absent or SQL NULL. */
static const char *arg_text(int argc, sqlite3_value **argv, int i) {
  if (i >= argc || sqlite3_value_type(argv[i]) == SQLITE_NULL) return NULL;
  return (const char *)sqlite3_value_text(argv[i]);
}

/* ---------------------------------------------------------------------
** dbx_exec(sql [, params_json [, options_json]])
*/

/* Reads one identifier at *pz (bare, or `quoted` with `` for a backtick)
** into a new string; NULL when there is none or out of memory. */
static char *use_ident(const char **pz) {
  const char *z = *pz;
  DbxBuf b = {0};
  if (*z == '`') {
    for (z++; *z; z++) {
      if (*z == '`' && z[1] != '`') break;
      if (*z == '`') z++;
      dbx_buf_append(&b, z, 1);
    }
    if (*z != '`' || b.n == 0) {
      dbx_buf_free(&b);
      return NULL;
    }
    z++;
  } else {
    while (isalnum((unsigned char)*z) || *z == '_')
      dbx_buf_append(&b, z++, 1);
  }
  *pz = z;
  if (b.rc == SQLITE_OK && b.n) return dbx_buf_take(&b);
  dbx_buf_free(&b);
  return NULL;
}

/* Skips blanks at z. */
static const char *use_skip(const char *z) {
  while (isspace((unsigned char)*z))
    z++;
  return z;
}

/* Whether z starts with the keyword zWord followed by a blank. */
static int use_word(const char **pz, const char *zWord) {
  size_t n = strlen(zWord);
  if (sqlite3_strnicmp(*pz, zWord, (int)n) != 0 ||
      !isspace((unsigned char)(*pz)[n])) {
    return 0;
  }
  *pz = use_skip(*pz + n);
  return 1;
}

/*
** Recognises USE [CATALOG | SCHEMA | DATABASE | NAMESPACE] name (a schema
** may be catalog.schema): each remote statement runs in a session of its
** own, so USE can only take effect as a connection default. Sets
** *pzCatalog and/or *pzSchema (sqlite3_free them); USE CATALOG resets the
** schema to `default`, as Databricks does. Returns 1 when zSql is a USE.
*/
static int use_target(const char *zSql, char **pzCatalog, char **pzSchema) {
  const char *z = use_skip(zSql);
  char *zA, *zB = NULL;
  int bCatalog = 0;
  *pzCatalog = *pzSchema = NULL;
  if (!use_word(&z, "USE")) return 0;
  if (use_word(&z, "CATALOG")) {
    bCatalog = 1;
  } else if (!use_word(&z, "SCHEMA") && !use_word(&z, "DATABASE")) {
    use_word(&z, "NAMESPACE");
  }
  zA = use_ident(&z);
  if (zA && !bCatalog && *z == '.') {
    z++;
    zB = use_ident(&z);
    if (zB == NULL) {
      sqlite3_free(zA);
      return 0;
    }
  }
  z = use_skip(z);
  if (*z == ';') z = use_skip(z + 1);
  if (zA == NULL || *z) {
    sqlite3_free(zA);
    sqlite3_free(zB);
    return 0;
  }
  if (bCatalog) {
    *pzCatalog = zA;
    *pzSchema = dbx_strdup("default");
  } else if (zB) {
    *pzCatalog = zA;
    *pzSchema = zB;
  } else {
    *pzSchema = zA;
  }
  return 1;
}

/*
** After a USE ran remotely (so the catalog or schema exists and may be
** used): makes it the connection default and says so in the summary
** *pzOut (replaced). Returns SQLITE_OK or an error in pErr.
*/
static int use_apply(DbxSession *pSession, const char *zCatalog,
                     const char *zSchema, char **pzOut, DbxError *pErr) {
  DbxBuf b = {0};
  int rc = SQLITE_OK;
  if (zCatalog)
    rc = dbx_session_set_default(pSession, "catalog", zCatalog, pErr);
  if (rc == SQLITE_OK && zSchema) {
    rc = dbx_session_set_default(pSession, "schema", zSchema, pErr);
  }
  if (rc) return rc;
  dbx_buf_append(&b, *pzOut, strlen(*pzOut) - 1); /* without the '}' */
  if (zCatalog) {
    dbx_buf_append(&b, ",\"catalog\":", 11);
    dbx_buf_append_json(&b, zCatalog, strlen(zCatalog));
  }
  if (zSchema) {
    dbx_buf_append(&b, ",\"schema\":", 10);
    dbx_buf_append_json(&b, zSchema, strlen(zSchema));
  }
  dbx_buf_appendf(&b,
                  ",\"note\":\"each remote statement runs in a session "
                  "of its own, so this is now the default %s of this "
                  "connection (see dbx_config())\"}",
                  zCatalog ? "catalog and schema" : "schema");
  if (b.rc) {
    dbx_buf_free(&b);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  sqlite3_free(*pzOut);
  *pzOut = dbx_buf_take(&b);
  return SQLITE_OK;
}
static void execFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  DbxSession *pSession = sqlite3_user_data(ctx);
  const char *zSql = arg_text(argc, argv, 0);
  sqlite3_stmt *pProbe;
  DbxStmt *pStmt = NULL;
  DbxError err;
  CallArgs a;
  char *zOut = NULL;
  int i, rc;

  dbx_error_clear(&err);
  if (argc < 1 || argc > 3 || zSql == NULL) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_exec(sql [, params_json [, "
                         "options_json]]) needs the SQL text",
                         -1);
    return;
  }
  memset(&a, 0, sizeof(a));
  for (i = 0, rc = SQLITE_OK; rc == SQLITE_OK && i < argc; i++) {
    rc = dbx_args_check(argv[i], azCallArg[i], (CALL_ARGS_JSON >> i) & 1, &err);
  }
  if (rc == SQLITE_OK) {
    rc = call_args_prepare(pSession, arg_text(argc, argv, 1),
                           arg_text(argc, argv, 2), &a, &err);
  }
  pProbe = dbx_probe_open(sqlite3_context_db_handle(ctx));
  a.stmt.xInterrupt = dbx_probe_interrupted;
  a.stmt.pInterruptArg = pProbe;
  if (rc == SQLITE_OK) {
    rc = dbx_stmt_execute(a.pClient, zSql, a.aParam, a.nParam, &a.stmt, &pStmt,
                          &err);
  }
  if (rc == SQLITE_OK) {
    zOut = dbx_stmt_summary_json(pStmt, &err);
    if (zOut == NULL) rc = err.rc ? err.rc : SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    char *zCatalog, *zSchema;
    if (use_target(zSql, &zCatalog, &zSchema)) {
      rc = use_apply(pSession, zCatalog, zSchema, &zOut, &err);
    }
    sqlite3_free(zCatalog);
    sqlite3_free(zSchema);
  }
  dbx_stmt_free(pStmt);
  sqlite3_finalize(pProbe);
  call_args_free(&a);
  if (rc) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J'); /* JSON, for json_extract() and friends */
}

/* ---------------------------------------------------------------------
** dbx_config([key [, value]])
*/
static void configFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  DbxSession *pSession = sqlite3_user_data(ctx);
  const char *zKey = arg_text(argc, argv, 0);
  DbxError err;
  char *zJson = NULL;
  int rc;

  dbx_error_clear(&err);
  if (argc > 2 || (argc >= 1 && zKey == NULL)) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_config([key [, value]]) takes a "
                         "setting name and optionally its new value",
                         -1);
    return;
  }
  if (argc == 1 && dbx_session_check_key(zKey, &err) != SQLITE_OK &&
      strcmp(zKey, "config_file_read") != 0 &&
      strcmp(zKey, "profile_read") != 0) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  dbx_error_clear(&err);
  if (argc == 2) {
    rc = dbx_session_set_default(pSession, zKey, arg_text(argc, argv, 1), &err);
    if (rc) {
      dbx_error_to_context(ctx, &err);
      return;
    }
  }
  rc = dbx_session_config_json(pSession, &zJson, &err);
  if (rc) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  if (argc == 0) {
    sqlite3_result_text(ctx, zJson, -1, sqlite3_free);
    sqlite3_result_subtype(ctx, 'J');
    return;
  }
  /* One key: its effective value ("***" for a secret), or NULL. */
  {
    cJSON *pRoot = cJSON_Parse(zJson);
    const char *zName = zKey;
    const cJSON *pVal;
    if (sqlite3_stricmp(zName, "warehouse") == 0 ||
        sqlite3_stricmp(zName, "http_path") == 0) {
      zName = "warehouse_id";
    } else if (sqlite3_stricmp(zName, "timeout") == 0) {
      zName = "statement_timeout";
    }
    pVal = cJSON_GetObjectItem(cJSON_GetObjectItemCaseSensitive(pRoot, zName),
                               "value");
    if (cJSON_IsString(pVal)) {
      sqlite3_result_text(ctx, pVal->valuestring, -1, SQLITE_TRANSIENT);
    } else {
      sqlite3_result_null(ctx);
    }
    cJSON_Delete(pRoot);
    sqlite3_free(zJson);
  }
}

/* ---------------------------------------------------------------------
** dbx_query: an eponymous table-valued function.
*/

#define QUERY_COL_ROW     0
#define QUERY_COL_ROWNUM  1
#define QUERY_COL_SQL     2 /* hidden: argument 1 */
#define QUERY_COL_PARAMS  3 /* hidden: argument 2 */
#define QUERY_COL_OPTIONS 4 /* hidden: argument 3 */

typedef struct QueryVtab {
  sqlite3_vtab base;    /* must be first */
  sqlite3 *db;          /* the connection, for the interrupt probe */
  DbxSession *pSession; /* borrowed: the module's client data */
} QueryVtab;

typedef struct QueryCursor {
  sqlite3_vtab_cursor base; /* must be first */
  DbxStmt *pStmt;           /* owned; NULL at EOF before any query */
  sqlite3_stmt *pProbe;     /* owned; interrupt probe */
  CallArgs args;            /* owned; the call's options */
  char *azArg[3];           /* owned; sql, params, options as given */
  DbxCell *aCell;           /* owned; decoded cells of the current row */
  DbxBuf row;               /* the JSON object of the current row */
  int bRowBuilt;            /* row holds the current row */
  int bEof;                 /* no current row */
} QueryCursor;

/* xConnect: the fixed schema; the session is the module's client data. */
static int queryConnect(sqlite3 *db, void *pAux, int argc,
                        const char *const *argv, sqlite3_vtab **ppVtab,
                        char **pzErr) {
  QueryVtab *p;
  int rc;
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  DBX_UNUSED(pzErr);
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(row, rownum, sql HIDDEN, "
                                "params HIDDEN, options HIDDEN)");
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->pSession = pAux;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &p->base;
  return SQLITE_OK;
}

/* xDisconnect: nothing remote to drop. */
static int queryDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/*
** The hidden arguments must be given as equality constraints; idxNum has a
** bit per argument present (1 sql, 2 params, 4 options). Without sql the
** plan is refused, which SQLite reports as "no query solution".
*/
static int queryBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  int i, aIdx[3] = {-1, -1, -1}, nArg = 0, mask = 0;
  DBX_UNUSED(pVtab);
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    int iArg = c->iColumn - QUERY_COL_SQL;
    if (iArg < 0 || iArg > 2) continue;
    if (c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c->usable) return SQLITE_CONSTRAINT;
    aIdx[iArg] = i;
  }
  if (aIdx[0] < 0) return SQLITE_CONSTRAINT;
  for (i = 0; i < 3; i++) {
    if (aIdx[i] < 0) continue;
    pInfo->aConstraintUsage[aIdx[i]].argvIndex = ++nArg;
    pInfo->aConstraintUsage[aIdx[i]].omit = 1;
    mask |= 1 << i;
  }
  pInfo->idxNum = mask;
  pInfo->estimatedCost = 1e6; /* a remote round trip */
  pInfo->estimatedRows = 1000;
  return SQLITE_OK;
}

/* xOpen: a cursor at EOF until xFilter runs a query. */
static int queryOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  QueryCursor *p = sqlite3_malloc64(sizeof(*p));
  DBX_UNUSED(pVtab);
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->bEof = 1;
  *ppCur = &p->base;
  return SQLITE_OK;
}

/* Drops the cursor's query, keeping the cursor. */
static void queryReset(QueryCursor *p) {
  int i;
  dbx_stmt_free(p->pStmt);
  p->pStmt = NULL;
  sqlite3_finalize(p->pProbe);
  p->pProbe = NULL;
  call_args_free(&p->args);
  for (i = 0; i < 3; i++) {
    dbx_free_secret(p->azArg[i]); /* options may hold a refused secret */
    p->azArg[i] = NULL;
  }
  sqlite3_free(p->aCell);
  p->aCell = NULL;
  dbx_buf_free(&p->row);
  p->bRowBuilt = 0;
  p->bEof = 1;
}

/* xClose: unread rows need no remote call (results expire). */
static int queryClose(sqlite3_vtab_cursor *pCur) {
  QueryCursor *p = (QueryCursor *)pCur;
  queryReset(p);
  sqlite3_free(p);
  return SQLITE_OK;
}

/* Advances to the next row (or EOF). */
static int queryStep(QueryCursor *p) {
  DbxError err;
  int rc;
  dbx_error_clear(&err);
  p->bRowBuilt = 0;
  rc = dbx_stmt_next(p->pStmt, &err);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  p->bEof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  return dbx_error_to_vtab(p->base.pVtab, &err);
}

/*
** xFilter: takes sql, params and options from argv as idxNum says, runs
** the statement and stands on its first row. Errors go to zErrMsg.
*/
static int queryFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                       const char *idxStr, int argc, sqlite3_value **argv) {
  QueryCursor *p = (QueryCursor *)pCur;
  QueryVtab *pTab = (QueryVtab *)pCur->pVtab;
  DbxError err;
  int rc;
  DBX_UNUSED(idxStr);
  queryReset(p);
  dbx_error_clear(&err);
  rc = dbx_args_copy(idxNum, 3, argc, argv, azCallArg, CALL_ARGS_JSON, p->azArg,
                     &err);
  if (rc) return dbx_error_to_vtab(pCur->pVtab, &err);
  if (p->azArg[0] == NULL) {
    dbx_error_set(
        &err, SQLITE_ERROR,
        "dbx_query(sql [, params_json [, options_json]]) needs the SQL text");
    return dbx_error_to_vtab(pCur->pVtab, &err);
  }
  rc = call_args_prepare(pTab->pSession, p->azArg[1], p->azArg[2], &p->args,
                         &err);
  if (rc) return dbx_error_to_vtab(pCur->pVtab, &err);
  p->pProbe = dbx_probe_open(pTab->db);
  p->args.stmt.xInterrupt = dbx_probe_interrupted;
  p->args.stmt.pInterruptArg = p->pProbe;
  rc = dbx_stmt_execute(p->args.pClient, p->azArg[0], p->args.aParam,
                        p->args.nParam, &p->args.stmt, &p->pStmt, &err);
  if (rc) return dbx_error_to_vtab(pCur->pVtab, &err);
  if (dbx_stmt_column_count(p->pStmt) > 0) {
    p->aCell = sqlite3_malloc64(sizeof(DbxCell) *
                                (size_t)dbx_stmt_column_count(p->pStmt));
    if (p->aCell == NULL) return SQLITE_NOMEM;
  }
  p->bEof = 0;
  return queryStep(p);
}

/* xNext: the next row, fetching the next chunk when needed. */
static int queryNext(sqlite3_vtab_cursor *pCur) {
  return queryStep((QueryCursor *)pCur);
}

/* xEof */
static int queryEof(sqlite3_vtab_cursor *pCur) {
  return ((QueryCursor *)pCur)->bEof;
}

/* Builds the JSON object of the current row into p->row. */
static int queryBuildRow(QueryCursor *p, DbxError *pErr) {
  int i, nCol = dbx_stmt_column_count(p->pStmt), rc;
  DbxColumn *aCol;
  if (p->bRowBuilt) return SQLITE_OK;
  dbx_buf_reset(&p->row);
  for (i = 0; i < nCol; i++) {
    rc = dbx_stmt_cell(p->pStmt, i, &p->aCell[i], pErr);
    if (rc) return rc;
  }
  aCol = (DbxColumn *)dbx_stmt_column(p->pStmt, 0);
  dbx_result_row_json(aCol, p->aCell, nCol, &p->row);
  if (p->row.rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  p->bRowBuilt = 1;
  return SQLITE_OK;
}

/* xColumn: row (JSON, built once per row), rownum or an argument. */
static int queryColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx,
                       int iCol) {
  QueryCursor *p = (QueryCursor *)pCur;
  DbxError err;
  switch (iCol) {
  case QUERY_COL_ROW:
    dbx_error_clear(&err);
    if (queryBuildRow(p, &err)) return dbx_error_to_vtab(pCur->pVtab, &err);
    sqlite3_result_text(ctx, p->row.z ? p->row.z : "{}", (int)p->row.n,
                        SQLITE_TRANSIENT);
    sqlite3_result_subtype(ctx, 'J');
    break;
  case QUERY_COL_ROWNUM:
    sqlite3_result_int64(ctx, dbx_stmt_rownum(p->pStmt));
    break;
  default:
    if (p->azArg[iCol - QUERY_COL_SQL]) {
      sqlite3_result_text(ctx, p->azArg[iCol - QUERY_COL_SQL], -1,
                          SQLITE_TRANSIENT);
    }
    break;
  }
  return SQLITE_OK;
}

/* xRowid: the 1-based row number. */
static int queryRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  *pRowid = dbx_stmt_rownum(((QueryCursor *)pCur)->pStmt);
  return SQLITE_OK;
}

/* Eponymous only (no xCreate): the table exists in every schema. */
static sqlite3_module queryModule = {
    .iVersion = 0,
    .xConnect = queryConnect,
    .xBestIndex = queryBestIndex,
    .xDisconnect = queryDisconnect,
    .xOpen = queryOpen,
    .xClose = queryClose,
    .xFilter = queryFilter,
    .xNext = queryNext,
    .xEof = queryEof,
    .xColumn = queryColumn,
    .xRowid = queryRowid,
};

/* ---------------------------------------------------------------------
** dbx_statements: the recent remote statements of this connection.
*/

typedef struct LogVtab {
  sqlite3_vtab base;    /* must be first */
  DbxSession *pSession; /* borrowed */
} LogVtab;

typedef struct LogCursor {
  sqlite3_vtab_cursor base; /* must be first */
  int64_t iSeq;             /* current entry */
  int64_t iLast;            /* last entry when the scan began */
} LogCursor;

/* xConnect: the fixed schema of dbx_statements. */
static int logConnect(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr) {
  LogVtab *p;
  int rc;
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  DBX_UNUSED(pzErr);
  rc = sqlite3_declare_vtab(db,
                            "CREATE TABLE x(seq INTEGER, statement_id TEXT, "
                            "sql TEXT, params TEXT, state TEXT, rows INTEGER, "
                            "bytes INTEGER, chunks INTEGER, ms INTEGER, "
                            "error TEXT)");
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pSession = pAux;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

/* xBestIndex: always a full scan of the small ring. */
static int logBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  DBX_UNUSED(pVtab);
  pInfo->estimatedCost = DBX_SESSION_LOG_SIZE;
  pInfo->estimatedRows = DBX_SESSION_LOG_SIZE;
  return SQLITE_OK;
}

/* xOpen */
static int logOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  LogCursor *p = sqlite3_malloc64(sizeof(*p));
  DBX_UNUSED(pVtab);
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  *ppCur = &p->base;
  return SQLITE_OK;
}

/* xClose */
static int logClose(sqlite3_vtab_cursor *pCur) {
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* Moves to the first entry still held at or after iSeq. */
static void logSkip(LogCursor *p, DbxSession *pSession) {
  while (p->iSeq <= p->iLast &&
         dbx_session_log_entry(pSession, p->iSeq) == NULL) {
    p->iSeq++;
  }
}

/* xFilter: the entries held now; later statements are not seen. */
static int logFilter(sqlite3_vtab_cursor *pCur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv) {
  LogCursor *p = (LogCursor *)pCur;
  DbxSession *pSession = ((LogVtab *)pCur->pVtab)->pSession;
  DBX_UNUSED(idxNum);
  DBX_UNUSED(idxStr);
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  dbx_session_log_range(pSession, &p->iSeq, &p->iLast);
  logSkip(p, pSession);
  return SQLITE_OK;
}

/* xNext */
static int logNext(sqlite3_vtab_cursor *pCur) {
  LogCursor *p = (LogCursor *)pCur;
  p->iSeq++;
  logSkip(p, ((LogVtab *)pCur->pVtab)->pSession);
  return SQLITE_OK;
}

/* xEof */
static int logEof(sqlite3_vtab_cursor *pCur) {
  LogCursor *p = (LogCursor *)pCur;
  return p->iSeq > p->iLast;
}

/* Sets a text result, NULL for a NULL pointer. */
static void result_text_or_null(sqlite3_context *ctx, const char *z) {
  if (z)
    sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
  else
    sqlite3_result_null(ctx);
}

/* xColumn: one field of the entry, in the order the schema declares. */
static int logColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx,
                     int iCol) {
  LogCursor *p = (LogCursor *)pCur;
  const DbxLogEntry *e =
      dbx_session_log_entry(((LogVtab *)pCur->pVtab)->pSession, p->iSeq);
  if (e == NULL) return SQLITE_OK;
  /* One line per column reads as the schema does. */
  /* clang-format off */
  switch (iCol) {
    case 0: sqlite3_result_int64(ctx, e->iSeq); break;
    case 1: result_text_or_null(ctx, e->zStatementId); break;
    case 2: result_text_or_null(ctx, e->zSql); break;
    case 3: result_text_or_null(ctx, e->zParams); break;
    case 4: result_text_or_null(ctx, e->zState); break;
    case 5: sqlite3_result_int64(ctx, e->nRows); break;
    case 6: sqlite3_result_int64(ctx, e->nBytes); break;
    case 7: sqlite3_result_int(ctx, e->nChunks); break;
    case 8: sqlite3_result_int64(ctx, e->nMs); break;
    default: result_text_or_null(ctx, e->zError); break;
  }
  /* clang-format on */
  return SQLITE_OK;
}

/* xRowid: the entry's sequence number. */
static int logRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  *pRowid = ((LogCursor *)pCur)->iSeq;
  return SQLITE_OK;
}

/* Eponymous only (no xCreate): the table exists in every schema. */
static sqlite3_module logModule = {
    .iVersion = 0,
    .xConnect = logConnect,
    .xBestIndex = logBestIndex,
    .xDisconnect = queryDisconnect, /* a plain free */
    .xOpen = logOpen,
    .xClose = logClose,
    .xFilter = logFilter,
    .xNext = logNext,
    .xEof = logEof,
    .xColumn = logColumn,
    .xRowid = logRowid,
};

/* ---------------------------------------------------------------------
** Registration.
*/

int dbx_functions_register(sqlite3 *db) {
  static const struct {
    const char *zName; /* SQL name */
    void (*xFunc)(sqlite3_context *, int, sqlite3_value **);
  } aFunc[] = {
      {"dbx_exec", execFunc},
      {"dbx_config", configFunc},
  };
  static const struct {
    const char *zName;          /* SQL name */
    const sqlite3_module *pMod; /* the module */
  } aMod[] = {
      {"dbx_query", &queryModule},
      {"dbx_statements", &logModule},
  };
  DbxSession *pSession;
  size_t i;
  int rc = SQLITE_OK;
  /* Each registration holds one reference, released by its destructor
  ** (which SQLite also calls when the registration itself fails). */
  for (i = 0; rc == SQLITE_OK && i < DBX_ARRAY_SIZE(aFunc); i++) {
    if (dbx_session_attach(db, &pSession)) return SQLITE_NOMEM;
    rc = sqlite3_create_function_v2(
        db, aFunc[i].zName, -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, pSession,
        aFunc[i].xFunc, NULL, NULL, dbx_session_release);
  }
  for (i = 0; rc == SQLITE_OK && i < DBX_ARRAY_SIZE(aMod); i++) {
    if (dbx_session_attach(db, &pSession)) return SQLITE_NOMEM;
    rc = sqlite3_create_module_v2(db, aMod[i].zName, aMod[i].pMod, pSession,
                                  dbx_session_release);
  }
  return rc;
}
