/*
** args.c: how the SQL functions read their arguments (args.h): NUL checks
** of text and JSON arguments, options_json split into settings and
** statement options, and the (sql, params_json, options_json) of a call
** made ready to run. dbx_exec() (fn_exec.c), dbx_query() (fn_query.c),
** the discovery functions (discover.c) and the databricks module's
** options (vtab_args.c) share it, so each rule and each of its messages is
** written once.
**
** This is the SQL surface: it reads sqlite3_values, never a context.
*/
#include <string.h>

#include <cjson/cJSON.h>

#include "args.h"

/* ---------------------------------------------------------------------
** NUL characters
*/

/*
** Whether JSON text z holds the escape \u0000 inside a string: cJSON would
** end the decoded string there, silently dropping the rest of the value.
** An escaped backslash (\\u0000) is text, not an escape.
*/
static int json_has_nul_escape(const char *z) {
  int bStr = 0;
  for (; *z; z++) {
    if (*z == '"') {
      bStr = !bStr;
    } else if (bStr && *z == '\\') {
      if (strncmp(z + 1, "u0000", 5) == 0) return 1;
      if (z[1]) z++; /* the escaped character, e.g. \" or \\ */
    }
  }
  return 0;
}

/* The error for a \u0000 escape in the JSON argument zWhat. */
static int json_nul_error(const char *zWhat, DbxError *pErr) {
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "%s contains \\u0000, a NUL character, which a "
                       "value cannot carry here; remove it",
                       zWhat);
}

int dbx_args_check(sqlite3_value *pVal, const char *zWhat, int bJson,
                   DbxError *pErr) {
  const char *z;
  if (pVal == NULL || sqlite3_value_type(pVal) == SQLITE_NULL) return SQLITE_OK;
  z = (const char *)sqlite3_value_text(pVal);
  if (z == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  /* sqlite3_value_bytes counts every byte, strlen stops at the first NUL */
  if (strlen(z) != (size_t)sqlite3_value_bytes(pVal)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s contains a NUL character (char(0)); remove it",
                         zWhat);
  }
  if (bJson && json_has_nul_escape(z)) return json_nul_error(zWhat, pErr);
  return SQLITE_OK;
}

int dbx_args_copy(int idxNum, int nArg, int argc, sqlite3_value **argv,
                  const char *const *azWhat, int mJson, char **azArg,
                  DbxError *pErr) {
  int j = 0, k, rc;
  for (k = 0; k < nArg; k++) {
    sqlite3_value *pVal;
    if ((idxNum & (1 << k)) == 0 || j >= argc) continue;
    pVal = argv[j++];
    rc = dbx_args_check(pVal, azWhat[k], (mJson >> k) & 1, pErr);
    if (rc) return rc;
    if (sqlite3_value_type(pVal) == SQLITE_NULL) continue;
    azArg[k] = dbx_strdup((const char *)sqlite3_value_text(pVal));
    if (azArg[k] == NULL) {
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** options_json
*/

int dbx_args_options_init(DbxArgsOptions *o, int nMax, int flags,
                          DbxError *pErr) {
  size_t n = (size_t)(nMax > 0 ? nMax : 0) + 1;
  memset(o, 0, sizeof(*o));
  o->bStmt = (flags & DBX_ARGS_STMT) != 0;
  o->aOpt = sqlite3_malloc64(sizeof(DbxOption) * n);
  o->aStmt = sqlite3_malloc64(sizeof(DbxOption) * n);
  o->azNum = sqlite3_malloc64(sizeof(char *) * n);
  if (o->aOpt == NULL || o->aStmt == NULL || o->azNum == NULL) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  o->nMax = (int)n - 1;
  return SQLITE_OK;
}

int dbx_args_option_add(DbxArgsOptions *o, const char *zKey, const char *zValue,
                        DbxError *pErr) {
  DbxOption *pOpt;
  if (o->nOpt + o->nStmt >= o->nMax) {
    return dbx_error_set(pErr, SQLITE_MISUSE, "too many options");
  }
  if (o->bStmt && dbx_stmt_is_option(zKey)) {
    DbxStmtOptions check; /* applied later, after the defaults */
    int rc;
    dbx_stmt_options_init(&check);
    rc = dbx_stmt_option(&check, zKey, zValue, pErr);
    if (rc) return rc;
    pOpt = &o->aStmt[o->nStmt++];
  } else {
    pOpt = &o->aOpt[o->nOpt++];
  }
  pOpt->zKey = zKey;
  pOpt->zValue = zValue;
  return SQLITE_OK;
}

/*
** The text of one member of options_json in *pzVal: a string as is, a
** number written into a new string kept in o->azNum, true/false, or NULL
** for null. Returns SQLITE_OK, or an error for an object or an array.
*/
static int options_text(DbxArgsOptions *o, const cJSON *pItem,
                        const char **pzVal, DbxError *pErr) {
  *pzVal = NULL;
  if (cJSON_IsString(pItem)) {
    *pzVal = pItem->valuestring;
  } else if (cJSON_IsNumber(pItem)) {
    char *zNum = sqlite3_mprintf("%.17g", pItem->valuedouble);
    if (zNum == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    o->azNum[o->nNum++] = zNum; /* one member, at most one number */
    *pzVal = zNum;
  } else if (cJSON_IsBool(pItem)) {
    *pzVal = cJSON_IsTrue(pItem) ? "true" : "false";
  } else if (!cJSON_IsNull(pItem)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "option %s must be a string or a number",
                         pItem->string);
  }
  return SQLITE_OK;
}

int dbx_args_options_parse(const char *zJson, const char *zExample, int flags,
                           DbxArgsMemberFn xMember, void *pArg,
                           DbxArgsOptions *o, DbxError *pErr) {
  const cJSON *pItem;
  cJSON *pJson;
  int rc;
  memset(o, 0, sizeof(*o));
  if (zJson == NULL) return SQLITE_OK;
  if (json_has_nul_escape(zJson)) return json_nul_error("options_json", pErr);
  pJson = cJSON_Parse(zJson);
  if (!cJSON_IsObject(pJson)) {
    dbx_json_free_secret(pJson);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "options must be a JSON object such as %s", zExample);
  }
  rc = dbx_args_options_init(o, cJSON_GetArraySize(pJson), flags, pErr);
  o->pJson = pJson;
  if (rc) return rc;
  cJSON_ArrayForEach(pItem, pJson) {
    const char *zVal;
    int bTaken = 0;
    if (xMember) {
      rc = xMember(pArg, pItem, &bTaken, pErr);
      if (rc) return rc;
      if (bTaken) continue;
    }
    rc = options_text(o, pItem, &zVal, pErr);
    if (rc == SQLITE_OK) rc = dbx_args_option_add(o, pItem->string, zVal, pErr);
    if (rc) return rc;
  }
  return SQLITE_OK;
}

int dbx_args_options_apply(const DbxArgsOptions *o, DbxStmtOptions *pStmt,
                           DbxError *pErr) {
  int i, rc;
  for (i = 0; i < o->nStmt; i++) {
    rc = dbx_stmt_option(pStmt, o->aStmt[i].zKey, o->aStmt[i].zValue, pErr);
    if (rc) return rc;
  }
  return SQLITE_OK;
}

void dbx_args_options_free(DbxArgsOptions *o) {
  int i;
  for (i = 0; i < o->nNum; i++)
    sqlite3_free(o->azNum[i]);
  sqlite3_free(o->azNum);
  sqlite3_free(o->aOpt);
  sqlite3_free(o->aStmt);
  dbx_json_free_secret(o->pJson); /* may hold a refused literal secret */
  memset(o, 0, sizeof(*o));
}

/* ---------------------------------------------------------------------
** dbx_exec() and dbx_query(): sql, params_json, options_json
*/

const char *const dbx_args_call_what[3] = {"the SQL text", "params_json",
                                           "options_json"};

void dbx_args_call_free(DbxArgsCall *a) {
  sqlite3_free(a->aParam);
  dbx_args_options_free(&a->opts);
  dbx_config_free(a->pConfig);
  memset(a, 0, sizeof(*a));
}

int dbx_args_call_prepare(DbxSession *pSession, const char *zParams,
                          const char *zOptions, DbxArgsCall *a,
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

const char *dbx_args_text(int argc, sqlite3_value **argv, int i) {
  if (i >= argc || sqlite3_value_type(argv[i]) == SQLITE_NULL) return NULL;
  return (const char *)sqlite3_value_text(argv[i]);
}
