/*
** fn_grants.c: dbx_grants_sql() and dbx_revoke_sql(), the Unity Catalog
** grants a job needs, as SQL text to run as an owner or an admin.
**
**   SELECT dbx_grants_sql('etl@example.com', 'main.web.events', 'appender');
**   SELECT dbx_grants_sql('6f1c...', 'main.crm', 'reader', '{"browse": true}');
**   SELECT dbx_revoke_sql('etl@example.com', 'main.web.events', 'appender');
**   SELECT dbx_grants_sql('etl@example.com', 'events');  -- a databricks table
**
** With a role (3 or 4 arguments) the text follows from the arguments alone
** (grants.h), so those forms are registered SQLITE_DETERMINISTIC |
** SQLITE_INNOCUOUS. With 2 arguments the second names a `databricks`
** virtual table of the main database: its stored definition (the text in
** sqlite_schema, read with the module's own argument parser) says the
** remote table and what the table does with it, which picks the role:
**
**   changes=true                    changes_reader
**   merge keys (merge_keys=, model= with keys, no mode='append')   merger
**   any write argument (create=, model=, mode=, staging_volume=,
**   ingested_at=, ...)              appender (CREATE TABLE only with
**                                   create= or model=)
**   none                            reader, with a line saying so
**
** That form reads the schema and the connection's settings (the catalog
** and schema of a short table name, the warehouse of the comment lines),
** so it is neither deterministic nor innocuous; it is SQLITE_DIRECTONLY
** like every function that reads settings. Nothing here uses the network.
*/
#include <string.h>

#include "args.h"
#include "grants.h"
#include "vtab.h"

/*
** Reads the definition of `databricks` table zName of the main database
** into *a (dbx_vtab_args_free after either result). Returns SQLITE_OK, or
** an error in pErr: no such table, or not a databricks table.
*/
static int grants_vtab_args(sqlite3 *db, const char *zName, DbxVtabArgs *a,
                            DbxError *pErr) {
  sqlite3_stmt *pStmt = NULL;
  char *zModule = NULL;
  DbxError e;
  int rc;
  memset(a, 0, sizeof(*a));
  rc = sqlite3_prepare_v2(db,
                          "SELECT sql FROM main.sqlite_schema WHERE type = "
                          "'table' AND name = ?1 COLLATE NOCASE",
                          -1, &pStmt, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(pStmt, 1, zName, -1, SQLITE_STATIC);
    rc = sqlite3_step(pStmt);
  }
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(pStmt);
    if (rc != SQLITE_DONE) {
      return dbx_error_set(pErr, rc, "cannot read the schema: %s",
                           sqlite3_errmsg(db));
    }
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "no table '%s' in the main database: give a "
                         "databricks table, or a securable and a role: "
                         "dbx_grants_sql(principal, 'catalog.schema.table', "
                         "role) with role one of %s",
                         zName, dbx_grants_role_names());
  }
  dbx_error_clear(&e);
  rc = dbx_vtab_args_from_sql((const char *)sqlite3_column_text(pStmt, 0),
                              &zModule, a, &e);
  if (zModule == NULL || sqlite3_stricmp(zModule, "databricks") != 0) {
    rc = dbx_error_set(pErr, rc == SQLITE_NOMEM ? rc : SQLITE_ERROR,
                       "'%s' is not a databricks table: give one, or a "
                       "securable and a role: dbx_grants_sql(principal, "
                       "'catalog.schema.table', role)",
                       zName);
  } else if (rc) {
    *pErr = e;
  }
  sqlite3_free(zModule);
  sqlite3_finalize(pStmt);
  return rc;
}

/* Whether the definition gives any argument of the write path. */
static int grants_vtab_writes(const DbxVtabArgs *a) {
  int i;
  for (i = 0; i < a->nArg; i++) {
    if (a->aeKind[i] == DBX_VTAB_ARG_WRITE) return 1;
  }
  return 0;
}

/* The value of the last of the settings named z1, z2, z3 (NULL for none)
** that the definition gives, or NULL. */
static const char *grants_setting(const DbxVtabArgs *a, const char *z1,
                                  const char *z2, const char *z3) {
  const char *zVal = NULL;
  int i;
  for (i = 0; i < a->opts.nOpt; i++) {
    const char *zKey = a->opts.aOpt[i].zKey;
    if (strcmp(zKey, z1) == 0 || (z2 && strcmp(zKey, z2) == 0) ||
        (z3 && strcmp(zKey, z3) == 0)) {
      zVal = a->opts.aOpt[i].zValue;
    }
  }
  return zVal;
}

/*
** Fills *pReq from the databricks table zName: the role, the securable
** (the remote table, quoted, in *pzSecurable), the staging volume and the
** warehouse. pzWarehouse (sqlite3_free) holds the warehouse id when the
** settings give one. Returns SQLITE_OK or an error in pErr. Also serves
** dbx_check() and dbx_grants_apply() (dbx_int.h).
*/
int dbx_grants_from_vtab(sqlite3 *db, DbxSession *pSession, const char *zName,
                         DbxGrantRequest *pReq, DbxVtabArgs *a,
                         char **pzSecurable, char **pzWarehouse,
                         DbxError *pErr) {
  DbxConfig *pConfig = NULL;
  DbxError eConfig;
  char *azPart[3] = {0, 0, 0}, **azKey = NULL, **azVersion = NULL;
  int nPart = 0, bMerge = 0, nKey = 0, nVersion = 0, i, rc;
  rc = grants_vtab_args(db, zName, a, pErr);
  if (rc) return rc;
  if (a->zQuery) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "'%s' reads a query (query=), whose tables its text "
                         "names: grant reader on each of them, "
                         "dbx_grants_sql(principal, 'catalog.schema.table', "
                         "'reader')",
                         zName);
  }
  /* The settings the table resolves with (no network; config_file is
  ** refused in a table definition, as when it connects). */
  dbx_error_clear(&eConfig);
  for (i = 0; i < a->opts.nOpt; i++) {
    if (sqlite3_stricmp(a->opts.aOpt[i].zKey, "config_file") == 0) {
      dbx_error_set(&eConfig, SQLITE_ERROR,
                    "config_file cannot be set in a table definition");
    }
  }
  if (eConfig.rc == SQLITE_OK) {
    dbx_session_config(pSession, a->opts.aOpt, a->opts.nOpt, &pConfig,
                       &eConfig);
  }
  rc = dbx_sql_name_split(a->zTable, azPart, &nPart, pErr);
  if (rc == SQLITE_OK && nPart < 3) {
    /* a short name: the catalog and schema of the definition, else of
    ** the settings */
    const char *zCatalog = grants_setting(a, "catalog", NULL, NULL);
    const char *zSchema = grants_setting(a, "schema", NULL, NULL);
    if (zCatalog && (nPart == 2 || zSchema)) {
      azPart[2] = azPart[nPart - 1];
      azPart[1] = nPart == 2 ? azPart[0] : dbx_strdup(zSchema);
      azPart[0] = dbx_strdup(zCatalog);
      if (!azPart[0] || !azPart[1]) {
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      }
    } else if (pConfig) {
      dbx_sql_name_free(azPart);
      rc = dbx_session_name3(pConfig, a->zTable, "table", azPart, pErr);
    } else {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "the table of '%s', '%s', takes its catalog and "
                         "schema from the settings, which do not resolve "
                         "(%s): fix them, or give dbx_grants_sql(principal, "
                         "'catalog.schema.table', role)",
                         zName, a->zTable, eConfig.zMsg);
    }
  }
  if (rc == SQLITE_OK) {
    DbxBuf b = {0};
    for (i = 0; i < 3; i++) {
      if (i) dbx_buf_append(&b, ".", 1);
      dbx_sql_ident(&b, azPart[i]);
    }
    *pzSecurable = dbx_buf_take(&b);
    if (*pzSecurable == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  dbx_sql_name_free(azPart);
  /* the warehouse of the comment lines, when one is known */
  pReq->zWarehouse =
      grants_setting(a, "warehouse", "warehouse_id", "http_path");
  if (pReq->zWarehouse == NULL && pConfig &&
      dbx_config_get(pConfig, "warehouse_id")) {
    *pzWarehouse = dbx_strdup(dbx_config_get(pConfig, "warehouse_id"));
    pReq->zWarehouse = *pzWarehouse;
  }
  dbx_config_free(pConfig);
  if (rc == SQLITE_OK) {
    rc = dbx_vtab_merge_names(a, &bMerge, &azKey, &nKey, &azVersion, &nVersion,
                              pErr);
    sqlite3_free(azKey);
    sqlite3_free(azVersion);
  }
  if (rc) return rc;
  pReq->zSecurable = *pzSecurable;
  pReq->zStagingVolume = a->zStagingVolume;
  if (a->bChanges) {
    pReq->zRole = "changes_reader";
  } else if (bMerge) {
    pReq->zRole = "merger";
  } else if (grants_vtab_writes(a)) {
    pReq->zRole = "appender";
    pReq->bCreateTable = a->zCreate != NULL || a->zModel != NULL;
  } else {
    pReq->zRole = "reader";
    if (!pReq->bRevoke) {
      pReq->zNote = "the table gives no write argument (create=, model=, "
                    "mode=, staging_volume=, ...), so these grants read it; "
                    "INSERT into it needs the role appender on the same "
                    "remote table";
    }
  }
  return SQLITE_OK;
}

/*
** dbx_grants_sql() and dbx_revoke_sql(): (principal, securable, role
** [, options_json]) or (principal, vtab_name). The 2-argument form is
** registered with the connection's session as user data.
*/
static void grants_func(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                        int bRevoke) {
  static const char *const azWhat[] = {"principal", "securable", "role",
                                       "options_json"};
  DbxGrantRequest req;
  DbxVtabArgs a;
  DbxError e;
  char *zOut = NULL, *zSecurable = NULL, *zWarehouse = NULL;
  int i, rc = SQLITE_OK;
  dbx_error_clear(&e);
  dbx_grants_request_init(&req);
  memset(&a, 0, sizeof(a));
  req.bRevoke = bRevoke;
  for (i = 0; rc == SQLITE_OK && i < argc && i < 4; i++) {
    const char *zWhat = argc == 2 && i == 1 ? "the table name" : azWhat[i];
    rc = dbx_args_check(argv[i], zWhat, i == 3, &e);
    if (rc == SQLITE_OK && i < 3 &&
        sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      rc = dbx_error_set(&e, SQLITE_ERROR,
                         "%s is NULL: usage: %s(principal, securable, role "
                         "[, options_json]) or %s(principal, "
                         "databricks_table)",
                         zWhat, bRevoke ? "dbx_revoke_sql" : "dbx_grants_sql",
                         bRevoke ? "dbx_revoke_sql" : "dbx_grants_sql");
    }
  }
  if (rc == SQLITE_OK) {
    req.zPrincipal = (const char *)sqlite3_value_text(argv[0]);
    if (argc == 2) {
      rc = dbx_grants_from_vtab(sqlite3_context_db_handle(ctx),
                                (DbxSession *)sqlite3_user_data(ctx),
                                (const char *)sqlite3_value_text(argv[1]), &req,
                                &a, &zSecurable, &zWarehouse, &e);
    } else {
      req.zSecurable = (const char *)sqlite3_value_text(argv[1]);
      req.zRole = (const char *)sqlite3_value_text(argv[2]);
      if (argc == 4)
        rc = dbx_grants_options(&req, dbx_args_text(argc, argv, 3), &e);
    }
  }
  if (rc == SQLITE_OK) rc = dbx_grants_text(&req, &zOut, &e);
  if (rc == SQLITE_OK) {
    sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  } else {
    dbx_error_to_context(ctx, &e);
  }
  dbx_grants_request_free(&req);
  dbx_vtab_args_free(&a);
  sqlite3_free(zSecurable);
  sqlite3_free(zWarehouse);
}

void dbx_fn_grants_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  grants_func(ctx, argc, argv, 0);
}

void dbx_fn_revoke_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  grants_func(ctx, argc, argv, 1);
}
