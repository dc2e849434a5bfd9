/*
** databricks.c: the extension's entry point.
**
** `.load ./build/databricks` calls sqlite3_databricks_init(), which walks
** the registration table below and stops at the first failure. Each SQL
** surface file contributes one registrar; this file also serves
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

#include "dbx_int.h"

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

/* Registers the functions defined in this file. */
static int registerCore(sqlite3 *db) {
  return sqlite3_create_function(db, "dbx_version", 0,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC |
                                     SQLITE_INNOCUOUS,
                                 NULL, versionFunc, NULL, NULL);
}

/* One entry per SQL surface file, in the order they are registered. */
static const struct {
  const char *zWhat;           /* for the error message */
  int (*xRegister)(sqlite3 *); /* returns an SQLite result code */
} aRegistrar[] = {
    {"dbx_version", registerCore},
    {"dbx_exec, dbx_config, dbx_query, dbx_statements", dbx_functions_register},
    {"the databricks module", dbx_vtab_register},
    {"dbx_catalogs, dbx_schemas, dbx_tables, dbx_volumes",
     dbx_discover_register},
};

__attribute__((visibility("default"))) int
sqlite3_databricks_init(sqlite3 *db, char **pzErrMsg,
                        const sqlite3_api_routines *pApi) {
  size_t i;
  int rc = SQLITE_OK;
  SQLITE_EXTENSION_INIT2(pApi);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    if (pzErrMsg)
      *pzErrMsg = sqlite3_mprintf("databricks: libcurl failed to start");
    return SQLITE_ERROR;
  }
  for (i = 0; i < DBX_ARRAY_SIZE(aRegistrar) && rc == SQLITE_OK; i++) {
    rc = aRegistrar[i].xRegister(db);
    if (rc != SQLITE_OK && pzErrMsg) {
      *pzErrMsg = sqlite3_mprintf("databricks: cannot register %s: %s",
                                  aRegistrar[i].zWhat, sqlite3_errmsg(db));
    }
  }
  return rc;
}
