/*
** databricks.c: the extension's entry point.
**
** `.load ./build/databricks` calls sqlite3_databricks_init(), which walks
** the registration tables below, one row per SQL function (name, arity,
** flags, implementation) and one per module, and stops at the first
** failure with an error naming what failed. The SQL surface files provide
** the implementations (dbx_int.h); this file also serves
**
**   SELECT dbx_version();
**
** which names the extension version and the library versions it runs with.
*/
#include <stdio.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <zstd.h>

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "session.h"

const char *dbx_version_text(void) {
  static char zText[256];
  if (zText[0] == 0) {
    const curl_version_info_data *pCurl = curl_version_info(CURLVERSION_NOW);
    snprintf(zText, sizeof(zText),
             "sqlite-databricks %s (sqlite %s, libcurl %s, %s, cJSON %s, "
             "zstd %s)",
             DBX_VERSION, sqlite3_libversion(), pCurl->version,
             OpenSSL_version(OPENSSL_VERSION), cJSON_Version(),
             ZSTD_versionString());
  }
  return zText;
}

/*
** SQLite 3.40 has no sqlite3_is_interrupted(). While the caller's statement
** is active, a trivial statement stepped on the same connection fails with
** SQLITE_INTERRUPT once sqlite3_interrupt() was called (SQLite clears the
** flag only when no statement is active), which is what the probe asks.
*/
sqlite3_stmt *dbx_probe_open(sqlite3 *db) {
  sqlite3_stmt *p = NULL;
  if (sqlite3_prepare_v2(db, "SELECT 1", -1, &p, NULL) != SQLITE_OK) {
    sqlite3_finalize(p);
    return NULL;
  }
  return p;
}

int dbx_probe_interrupted(void *pProbe) {
  int rc;
  if (pProbe == NULL) return 0;
  rc = sqlite3_step((sqlite3_stmt *)pProbe);
  sqlite3_reset((sqlite3_stmt *)pProbe);
  return rc == SQLITE_INTERRUPT;
}

int dbx_error_to_vtab(sqlite3_vtab *pVtab, const DbxError *pErr) {
  sqlite3_free(pVtab->zErrMsg);
  pVtab->zErrMsg = dbx_error_text(pErr);
  return pErr->rc ? pErr->rc : SQLITE_ERROR;
}

void dbx_error_to_context(sqlite3_context *ctx, const DbxError *pErr) {
  char *z = dbx_error_text(pErr);
  if (z == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_error(ctx, z, -1);
  if (pErr->rc != SQLITE_ERROR && pErr->rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, pErr->rc);
  }
  sqlite3_free(z);
}

/* dbx_version(): the one-line version report. */
static void versionFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  sqlite3_result_text(ctx, dbx_version_text(), -1, SQLITE_STATIC);
}

/* ---------------------------------------------------------------------
** Registration
*/

/* A function that uses the network, or may point it elsewhere: no view,
** trigger or other schema object of a database file may call it. */
#define DBX_FN_NETWORK (SQLITE_UTF8 | SQLITE_DIRECTONLY)
/* A pure function: same answer for the same arguments, safe anywhere. */
#define DBX_FN_PURE (SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS)
/* A function without network that reads the schema and the connection's
** settings (environment, profiles): its answer may change between calls,
** and no schema object of a database file may call it. */
#define DBX_FN_SETTINGS (SQLITE_UTF8 | SQLITE_DIRECTONLY)

/*
** The SQL functions. nArg is what SQLite checks; -1 leaves the count to
** the function, whose own usage line then answers a wrong one. With
** bSession the connection's DbxSession is the user data (one reference
** per row, released by SQLite with the function).
*/
static const struct {
  const char *zName; /* SQL name */
  int nArg;          /* argument count, or -1 for any */
  int flags;         /* SQLITE_UTF8 | DBX_FN_* */
  int bSession;      /* user data: the connection's DbxSession */
  void (*xFunc)(sqlite3_context *, int, sqlite3_value **);
} aFunc[] = {
    {"dbx_version", 0, DBX_FN_PURE, 0, versionFunc},
    {"dbx_exec", -1, DBX_FN_NETWORK, 1, dbx_fn_exec},
    {"dbx_config", -1, DBX_FN_NETWORK, 1, dbx_fn_config},
    {"dbx_refresh", 1, DBX_FN_NETWORK, 1, dbx_vtab_refresh},
    {"dbx_volume_put", -1, DBX_FN_NETWORK, 1, dbx_fn_volume_put},
    {"dbx_volume_get", -1, DBX_FN_NETWORK, 1, dbx_fn_volume_get},
    {"dbx_volume_rm", -1, DBX_FN_NETWORK, 1, dbx_fn_volume_rm},
    {"dbx_volume_mkdir", -1, DBX_FN_NETWORK, 1, dbx_fn_volume_mkdir},
    {"dbx_export", -1, DBX_FN_NETWORK, 1, dbx_fn_export},
    {"dbx_sync", -1, DBX_FN_NETWORK, 1, dbx_fn_sync},
    /* with a role: pure; with a databricks table: reads its definition */
    {"dbx_grants_sql", 3, DBX_FN_PURE, 0, dbx_fn_grants_sql},
    {"dbx_grants_sql", 4, DBX_FN_PURE, 0, dbx_fn_grants_sql},
    {"dbx_grants_sql", 2, DBX_FN_SETTINGS, 1, dbx_fn_grants_sql},
    {"dbx_revoke_sql", 3, DBX_FN_PURE, 0, dbx_fn_revoke_sql},
    {"dbx_revoke_sql", 4, DBX_FN_PURE, 0, dbx_fn_revoke_sql},
    {"dbx_revoke_sql", 2, DBX_FN_SETTINGS, 1, dbx_fn_revoke_sql},
    {"dbx_grants_apply", -1, DBX_FN_NETWORK, 1, dbx_fn_grants_apply},
    {"dbx_warehouse_grant", -1, DBX_FN_NETWORK, 1, dbx_fn_warehouse_grant},
    /* DIRECTONLY because it writes files; no network */
    {"dbx_parquet", -1, DBX_FN_NETWORK, 0, dbx_fn_parquet},
    /* workload identity federation: the policy is text; the keys are
    ** files (DIRECTONLY; no network) */
    {"dbx_federation_policy", 3, DBX_FN_PURE, 0, dbx_fn_federation_policy},
    {"dbx_federation_policy", 4, DBX_FN_PURE, 0, dbx_fn_federation_policy},
    {"dbx_jwks", -1, DBX_FN_NETWORK, 0, dbx_fn_jwks},
    {"dbx_keygen", -1, DBX_FN_NETWORK, 0, dbx_fn_keygen},
};

/*
** The modules. xAux makes the client data of one registration and says
** how it goes; NULL means the connection's DbxSession (one reference,
** released by dbx_session_release). Each module says itself whether it
** is DIRECTONLY (sqlite3_vtab_config).
*/
static const struct {
  const char *zName;             /* SQL name */
  const sqlite3_module *pModule; /* its methods */
  int (*xAux)(sqlite3 *, const char *, void **, void (**)(void *));
} aModule[] = {
    {"databricks", &dbx_vtab_module, NULL},
    {"dbx_query", &dbx_query_module, NULL},
    {"dbx_statements", &dbx_statements_module, NULL},
    {"dbx_catalogs", &dbx_discover_module, dbx_discover_aux},
    {"dbx_schemas", &dbx_discover_module, dbx_discover_aux},
    {"dbx_tables", &dbx_discover_module, dbx_discover_aux},
    {"dbx_volumes", &dbx_discover_module, dbx_discover_aux},
    {"dbx_volume_ls", &dbx_volume_ls_module, NULL},
    {"dbx_models", &dbx_models_module, dbx_models_aux},
    {"dbx_check", &dbx_check_module, NULL},
};

/* Registers function i of aFunc. Returns an SQLite result code. */
static int register_function(sqlite3 *db, size_t i) {
  DbxSession *pSession = NULL;
  if (aFunc[i].bSession && dbx_session_attach(db, &pSession) != SQLITE_OK) {
    return SQLITE_NOMEM;
  }
  /* SQLite calls the destructor also when the registration fails. */
  return sqlite3_create_function_v2(
      db, aFunc[i].zName, aFunc[i].nArg, aFunc[i].flags, pSession,
      aFunc[i].xFunc, NULL, NULL, pSession ? dbx_session_release : NULL);
}

/* Registers module i of aModule. Returns an SQLite result code. */
static int register_module(sqlite3 *db, size_t i) {
  void *pAux = NULL;
  void (*xDestroy)(void *) = dbx_session_release;
  int rc;
  if (aModule[i].xAux) {
    rc = aModule[i].xAux(db, aModule[i].zName, &pAux, &xDestroy);
  } else {
    DbxSession *pSession = NULL;
    rc = dbx_session_attach(db, &pSession) == SQLITE_OK ? SQLITE_OK
                                                        : SQLITE_NOMEM;
    pAux = pSession;
  }
  if (rc) return rc;
  return sqlite3_create_module_v2(db, aModule[i].zName, aModule[i].pModule,
                                  pAux, xDestroy);
}

/* Records the failure of registering zName in *pzErrMsg (when given). */
static int register_failed(sqlite3 *db, const char *zName, int rc,
                           char **pzErrMsg) {
  if (pzErrMsg) {
    *pzErrMsg = sqlite3_mprintf("databricks: cannot register %s: %s", zName,
                                rc == SQLITE_NOMEM ? sqlite3_errstr(rc)
                                                   : sqlite3_errmsg(db));
  }
  return rc;
}

__attribute__((visibility("default"))) int
sqlite3_databricks_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi) {
  size_t i;
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    if (pzErrMsg)
      *pzErrMsg = sqlite3_mprintf("databricks: libcurl failed to start");
    return SQLITE_ERROR;
  }
  /* The first failure stops the walk; what was registered stays. */
  for (i = 0; i < DBX_ARRAY_SIZE(aFunc); i++) {
    rc = register_function(db, i);
    if (rc) return register_failed(db, aFunc[i].zName, rc, pzErrMsg);
  }
  /* how dbx_parquet() reads rows, an aggregate; refuses any other caller */
  rc = sqlite3_create_function_v2(db, "dbx_parquet_row", -1, DBX_FN_NETWORK,
                                  NULL, NULL, dbx_fn_parquet_row,
                                  dbx_fn_parquet_row_final, NULL);
  if (rc) return register_failed(db, "dbx_parquet_row", rc, pzErrMsg);
  for (i = 0; i < DBX_ARRAY_SIZE(aModule); i++) {
    rc = register_module(db, i);
    if (rc) return register_failed(db, aModule[i].zName, rc, pzErrMsg);
  }
  return SQLITE_OK;
}
