/*
** args.c: how the SQL functions read their arguments (args.h): NUL checks
** of text and JSON arguments, options_json split into settings and
** statement options, params_json turned into typed parameters, the
** (sql, params_json, options_json) of a call made ready to run, and the
** JSON summary dbx_exec() returns for a finished statement. dbx_exec()
*(fn_exec.c), dbx_query() (fn_query.c),
** the discovery functions (discover.c) and the databricks module's
** options (vtab_args.c) share it, so each rule and each of its messages is
** written once.
**
** This is the SQL surface: it reads sqlite3_values, never a context.
*/
#include <math.h>
#include <stdio.h>
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

int dbx_args_check_all(int argc, sqlite3_value **argv,
                       const char *const *azWhat, int iJson, int nRequired,
                       const char *zFn, DbxError *pErr) {
  int i, rc = SQLITE_OK;
  for (i = 0; rc == SQLITE_OK && i < argc; i++) {
    rc = dbx_args_check(argv[i], azWhat[i], i == iJson, pErr);
    if (rc == SQLITE_OK && i < nRequired &&
        sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      rc = dbx_error_set(pErr, SQLITE_ERROR, "%s: %s is NULL", zFn, azWhat[i]);
    }
  }
  return rc;
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
  rc = dbx_args_params_parse(zParams, &a->aParam, &a->nParam, pErr);
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

/* See args.h. */
char *dbx_args_exec_summary(DbxRows *pRows, DbxError *pErr) {
  DbxStmt *p = dbx_rows_stmt(pRows);
  DbxBuf b = {0};
  int i, nCol = dbx_rows_column_count(pRows), rc = SQLITE_ROW;
  if (dbx_stmt_rownum(p) == 0 && nCol > 0) rc = dbx_rows_next(pRows, pErr);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return NULL;
  dbx_buf_append(&b, "{\"statement_id\":", 16);
  dbx_buf_append_json(&b, dbx_stmt_id(p), strlen(dbx_stmt_id(p)));
  dbx_buf_appendf(&b, ",\"state\":\"%s\"", dbx_stmt_state(p));
  if (rc == SQLITE_ROW) {
    /* DML answers with one row of counters: num_affected_rows, ... */
    for (i = 0; i < nCol; i++) {
      const char *zName = dbx_rows_column(pRows, i)->zName;
      DbxCell c;
      if (strncmp(zName, "num_", 4) != 0) continue;
      if (dbx_rows_cell(pRows, i, &c, pErr) != SQLITE_OK) {
        dbx_buf_free(&b);
        return NULL;
      }
      dbx_buf_append(&b, ",", 1);
      dbx_buf_append_json(&b, zName, strlen(zName));
      if (c.eType == DBX_CELL_INTEGER)
        dbx_buf_appendf(&b, ":%lld", (long long)c.iVal);
      else if (c.eType == DBX_CELL_TEXT) {
        dbx_buf_append(&b, ":", 1);
        dbx_buf_append_json(&b, c.z, c.n);
      } else {
        dbx_buf_append(&b, ":null", 5);
      }
    }
  }
  if (dbx_stmt_total_rows(p) >= 0) {
    dbx_buf_appendf(&b, ",\"total_row_count\":%lld",
                    (long long)dbx_stmt_total_rows(p));
  }
  dbx_buf_append(&b, "}", 1);
  if (b.rc) {
    dbx_buf_free(&b);
    dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    return NULL;
  }
  return dbx_buf_take(&b);
}

/* ---------------------------------------------------------------------
** params_json
*/

/* The string member zName of pObj, or NULL when absent or not a string. */
static const char *args_json_str(const cJSON *pObj, const char *zName) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(pObj, zName);
  return cJSON_IsString(p) ? p->valuestring : NULL;
}

/* Reads one params entry: the value, name and type (NULL when absent) of
** {"name": value} member pItem, or of array element pItem when bArray. */
static void param_fields(const cJSON *pItem, int bArray, const cJSON **ppV,
                         const char **pzName, const char **pzType) {
  *ppV = bArray ? cJSON_GetObjectItemCaseSensitive(pItem, "value") : pItem;
  *pzName = bArray ? args_json_str(pItem, "name") : pItem->string;
  *pzType = bArray ? args_json_str(pItem, "type") : NULL;
}

/* Checks every entry of pRoot and adds to *pnByte the pool bytes its texts
** need (40 for a formatted number). Returns SQLITE_OK, or SQLITE_ERROR with
** pErr set for an entry without a name or with a non-scalar value. */
static int params_size(const cJSON *pRoot, int bArray, size_t *pnByte,
                       DbxError *pErr) {
  const cJSON *pItem, *pV;
  const char *zName, *zType;
  int i = 0;
  cJSON_ArrayForEach(pItem, pRoot) {
    param_fields(pItem, bArray, &pV, &zName, &zType);
    if (zName == NULL || zName[0] == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "params entry %d has no name; write "
                           "[{\"name\":\"x\",\"value\":1}]",
                           i + 1);
    }
    if (cJSON_IsObject(pV) || cJSON_IsArray(pV)) {
      dbx_error_set(pErr, SQLITE_ERROR,
                    "parameter %s is an object or array; Databricks "
                    "parameters are scalars: pass JSON text as a string",
                    zName);
      return SQLITE_ERROR;
    }
    *pnByte += strlen(zName) + 1 + (zType ? strlen(zType) + 1 : 0) + 40 +
               (cJSON_IsString(pV) ? strlen(pV->valuestring) + 1 : 0);
    i++;
  }
  return SQLITE_OK;
}

/* Copies z (with its terminator) to *pzPool, advances it, returns the copy. */
static char *pool_copy(char **pzPool, const char *z) {
  size_t k = strlen(z) + 1;
  char *zCopy = *pzPool;
  memcpy(zCopy, z, k);
  *pzPool += k;
  return zCopy;
}

/* Fills *pParam from entry pItem (checked by params_size()), its texts in
** the pool at *pzPool, which advances. A number or boolean without a
** "type" gets BIGINT, DOUBLE or BOOLEAN. */
static void param_fill(const cJSON *pItem, int bArray, DbxParam *pParam,
                       char **pzPool) {
  const cJSON *pV;
  const char *zName, *zType;
  param_fields(pItem, bArray, &pV, &zName, &zType);
  pParam->zName = pool_copy(pzPool, zName);
  if (cJSON_IsString(pV)) {
    pParam->zValue = pool_copy(pzPool, pV->valuestring);
  } else if (cJSON_IsNumber(pV)) {
    double r = pV->valuedouble;
    size_t k;
    if (r == floor(r) && fabs(r) < 9.2e18) {
      k = (size_t)snprintf(*pzPool, 40, "%lld", (long long)r) + 1;
      if (zType == NULL) zType = "BIGINT";
    } else {
      k = (size_t)snprintf(*pzPool, 40, "%.17g", r) + 1;
      if (zType == NULL) zType = "DOUBLE";
    }
    pParam->zValue = *pzPool;
    *pzPool += k;
  } else if (cJSON_IsBool(pV)) {
    pParam->zValue = cJSON_IsTrue(pV) ? "true" : "false";
    if (zType == NULL) zType = "BOOLEAN";
  }
  if (zType) pParam->zType = pool_copy(pzPool, zType);
}

int dbx_args_params_parse(const char *zJson, DbxParam **paParam, int *pnParam,
                          DbxError *pErr) {
  cJSON *pRoot, *pItem;
  DbxParam *aParam;
  size_t nByte;
  char *zPool;
  int n, i = 0, bArray;

  *paParam = NULL;
  *pnParam = 0;
  if (zJson == NULL || zJson[0] == 0) return SQLITE_OK;
  pRoot = cJSON_Parse(zJson);
  if (pRoot == NULL || !(cJSON_IsObject(pRoot) || cJSON_IsArray(pRoot))) {
    cJSON_Delete(pRoot);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "params must be a JSON object {\"name\": value} or an "
                         "array [{\"name\":..,\"value\":..,\"type\":..}]");
  }
  bArray = cJSON_IsArray(pRoot);
  n = cJSON_GetArraySize(pRoot);
  /* One allocation: the array, then each name, value and type text. */
  nByte = sizeof(DbxParam) * (size_t)(n + 1);
  if (params_size(pRoot, bArray, &nByte, pErr) != SQLITE_OK) {
    cJSON_Delete(pRoot);
    return SQLITE_ERROR;
  }
  aParam = sqlite3_malloc64(nByte);
  if (aParam == NULL) {
    cJSON_Delete(pRoot);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memset(aParam, 0, sizeof(DbxParam) * (size_t)(n + 1));
  zPool = (char *)&aParam[n + 1];
  cJSON_ArrayForEach(pItem, pRoot) {
    param_fill(pItem, bArray, &aParam[i++], &zPool);
  }
  cJSON_Delete(pRoot);
  *paParam = aParam;
  *pnParam = n;
  return SQLITE_OK;
}

const char *dbx_args_text(int argc, sqlite3_value **argv, int i) {
  if (i >= argc || sqlite3_value_type(argv[i]) == SQLITE_NULL) return NULL;
  return (const char *)sqlite3_value_text(argv[i]);
}
