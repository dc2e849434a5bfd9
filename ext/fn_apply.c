/*
** fn_apply.c: dbx_grants_apply() and dbx_warehouse_grant(), the setup of a
** principal carried out rather than written down.
**
**   SELECT dbx_grants_apply('etl@example.com', 'main.web.events', 'appender');
**   SELECT dbx_grants_apply('etl@example.com', 'events');  -- a databricks
*table
**   SELECT dbx_warehouse_grant('abc123', 'etl@example.com');
**   SELECT dbx_warehouse_grant('abc123', 'data-team', 'CAN_MONITOR',
**                              '{"principal_type": "group"}');
**
** dbx_grants_apply() runs the statements dbx_grants_sql() writes for the
** same arguments (grants.h: the one table of roles) through the warehouse,
** one at a time, as the configured identity, which must be allowed to
** grant them (an owner, or MANAGE). It keeps going after a failure and
** returns a JSON array of {"statement", "ok", "error"}. Its options_json
** takes the options of dbx_grants_sql() (browse, create_table,
** create_volume, staging_volume, principal_type) and the connection
** settings (host, warehouse, profile, token as env:NAME ...).
**
** dbx_warehouse_grant() gives a principal a permission level on a SQL
** warehouse (default CAN_USE) through the Permissions API (PATCH adds to
** the warehouse's list, it never removes) and returns the principal's
** entry of the list as the server answers it. Both are SQLITE_DIRECTONLY:
** they change a workspace.
*/
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "grants.h"
#include "vtab.h"
#include "warehouses.h"

/* The members of options_json that belong to dbx_grants_sql()'s options. */
static const char *const azGrantOpt[] = {"format",         "browse",
                                         "create_table",   "create_volume",
                                         "staging_volume", "principal_type"};

/*
** The DbxArgsMemberFn of both functions: a grants option goes into the
** cJSON object *(cJSON **)pArg (for dbx_grants_options, or for
** principal_type); every other member is a connection setting.
*/
static int apply_member(void *pArg, const cJSON *pItem, int *pbTaken,
                        DbxError *pErr) {
  cJSON *pOut = *(cJSON **)pArg;
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(azGrantOpt); i++) {
    if (strcmp(pItem->string, azGrantOpt[i]) == 0) break;
  }
  if (i == DBX_ARRAY_SIZE(azGrantOpt)) return SQLITE_OK;
  *pbTaken = 1;
  if (!cJSON_AddItemToObject(pOut, pItem->string, cJSON_Duplicate(pItem, 1))) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  return SQLITE_OK;
}

/*
** Parses options_json zJson into the connection settings *pOpts and the
** grants options *ppGrant (a cJSON object, cJSON_Delete it). Returns
** SQLITE_OK or an error in pErr; dbx_args_options_free(pOpts) after
** either.
*/
static int apply_options(const char *zJson, DbxArgsOptions *pOpts,
                         cJSON **ppGrant, DbxError *pErr) {
  *ppGrant = cJSON_CreateObject();
  if (*ppGrant == NULL) {
    memset(pOpts, 0, sizeof(*pOpts));
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  return dbx_args_options_parse(
      zJson && zJson[0] ? zJson : NULL,
      "{\"warehouse\": \"<id>\", \"create_table\": false}", DBX_ARGS_STMT,
      apply_member, ppGrant, pOpts, pErr);
}

/* Whether z is empty or holds a control character. */
static int apply_bad_principal(const char *z) {
  if (z == NULL || z[0] == 0) return 1;
  for (; *z; z++) {
    if ((unsigned char)*z < 0x20 || *z == 0x7f) return 1;
  }
  return 0;
}

/* ---------------------------------------------------------------------
** dbx_grants_apply(principal, securable_or_vtab [, role [, options_json]])
*/

/*
** Runs each statement of pList, one after the other, and appends
** {"statement", "ok", "error"} for each to pOut (a JSON array).
*/
static void apply_run(DbxClient *pClient, const DbxStmtOptions *pOpt,
                      const DbxGrantList *pList, DbxBuf *pOut) {
  int i;
  dbx_buf_append(pOut, "[", 1);
  for (i = 0; i < pList->nItem; i++) {
    const char *z = pList->aItem[i].zStatement;
    DbxRows *pRows = NULL;
    DbxError e;
    int rc;
    dbx_error_clear(&e);
    rc = dbx_rows_execute(pClient, z, NULL, 0, pOpt, &pRows, &e);
    dbx_rows_free(pRows);
    dbx_buf_appendf(pOut, "%s{\"statement\":", i ? "," : "");
    dbx_buf_append_json(pOut, z, strlen(z));
    if (rc == SQLITE_OK) {
      dbx_buf_appendf(pOut, ",\"ok\":true,\"error\":null}");
    } else {
      char *zErr = dbx_error_text(&e);
      const char *zText = zErr ? zErr : "out of memory";
      if (strncmp(zText, "databricks: ", 12) == 0) zText += 12;
      dbx_buf_appendf(pOut, ",\"ok\":false,\"error\":");
      dbx_buf_append_json(pOut, zText, strlen(zText));
      dbx_buf_append(pOut, "}", 1);
      sqlite3_free(zErr);
    }
    if (rc == SQLITE_INTERRUPT) break; /* the caller asked to stop */
  }
  dbx_buf_append(pOut, "]", 1);
}

void dbx_fn_grants_apply(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char *const azWhat[] = {"principal", "securable_or_vtab", "role",
                                       "options_json"};
  DbxSession *pSession = sqlite3_user_data(ctx);
  DbxGrantRequest req;
  DbxGrantList *pList = NULL;
  DbxArgsOptions opts;
  DbxStmtOptions stmt;
  DbxConfig *pConfig = NULL;
  DbxClient *pClient = NULL;
  DbxVtabArgs a;
  DbxError e;
  DbxBuf out = {0};
  cJSON *pGrant = NULL;
  sqlite3_stmt *pProbe = NULL;
  char *zSecurable = NULL, *zWarehouse = NULL, *zGrant = NULL;
  const char *zRole = dbx_args_text(argc, argv, 2);
  int rc = SQLITE_OK;

  dbx_error_clear(&e);
  dbx_grants_request_init(&req);
  memset(&a, 0, sizeof(a));
  memset(&opts, 0, sizeof(opts));
  dbx_stmt_options_init(&stmt);
  if (argc < 2 || argc > 4 || dbx_args_text(argc, argv, 0) == NULL ||
      dbx_args_text(argc, argv, 1) == NULL) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_grants_apply(principal, securable, "
                         "role [, options_json]) or dbx_grants_apply("
                         "principal, databricks_table)",
                         -1);
    return;
  }
  rc = dbx_args_check_all(argc, argv, azWhat, 3, 0, NULL, &e);
  if (rc == SQLITE_OK) {
    rc = apply_options(dbx_args_text(argc, argv, 3), &opts, &pGrant, &e);
  }
  req.zPrincipal = dbx_args_text(argc, argv, 0);
  if (rc == SQLITE_OK && zRole == NULL) {
    /* a databricks table: its definition says the role */
    rc = dbx_grants_from_vtab(sqlite3_context_db_handle(ctx), pSession,
                              dbx_args_text(argc, argv, 1), &req, &a,
                              &zSecurable, &zWarehouse, &e);
    if (rc == SQLITE_OK && pGrant->child) {
      rc = dbx_error_set(&e, SQLITE_ERROR,
                         "the options of dbx_grants_sql() (%s ...) come from "
                         "the table's definition when a table is given: give "
                         "a securable and a role to set them",
                         pGrant->child->string);
    }
  } else if (rc == SQLITE_OK) {
    req.zSecurable = dbx_args_text(argc, argv, 1);
    req.zRole = zRole;
    zGrant = cJSON_PrintUnformatted(pGrant);
    rc = zGrant ? dbx_grants_options(&req, zGrant, &e)
                : dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
  }
  if (rc == SQLITE_OK) rc = dbx_grants_list(&req, &pList, &e);
  if (rc == SQLITE_OK) {
    rc = dbx_session_connect(pSession, opts.aOpt, opts.nOpt, &pConfig, &pClient,
                             &e);
  }
  if (rc == SQLITE_OK) {
    dbx_session_stmt_options(pSession, pConfig, &stmt);
    rc = dbx_args_options_apply(&opts, &stmt, &e);
  }
  if (rc == SQLITE_OK) rc = dbx_config_require(pConfig, "warehouse_id", &e);
  if (rc == SQLITE_OK) {
    pProbe = dbx_probe_open(sqlite3_context_db_handle(ctx));
    stmt.xInterrupt = dbx_probe_interrupted;
    stmt.pInterruptArg = pProbe;
    stmt.bIdempotent = 1; /* a GRANT given twice is given once */
    apply_run(pClient, &stmt, pList, &out);
    if (out.rc) rc = dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
  }
  if (rc == SQLITE_OK) {
    sqlite3_result_text(ctx, dbx_buf_take(&out), -1, sqlite3_free);
    sqlite3_result_subtype(ctx, 'J');
  } else {
    dbx_error_to_context(ctx, &e);
  }
  sqlite3_finalize(pProbe);
  dbx_buf_free(&out);
  dbx_config_free(pConfig);
  dbx_grants_list_free(pList);
  dbx_grants_request_free(&req);
  dbx_vtab_args_free(&a);
  dbx_args_options_free(&opts);
  cJSON_Delete(pGrant);
  if (zGrant) cJSON_free(zGrant);
  sqlite3_free(zSecurable);
  sqlite3_free(zWarehouse);
}

/* ---------------------------------------------------------------------
** dbx_warehouse_grant(warehouse_id, principal [, level [, options_json]])
*/

void dbx_fn_warehouse_grant(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv) {
  static const char *const azWhat[] = {"warehouse_id", "principal", "level",
                                       "options_json"};
  DbxSession *pSession = sqlite3_user_data(ctx);
  const char *zWarehouse = dbx_args_text(argc, argv, 0);
  const char *zPrincipal = dbx_args_text(argc, argv, 1);
  const char *zType = NULL;
  DbxArgsOptions opts;
  DbxConfig *pConfig = NULL;
  DbxClient *pClient = NULL;
  DbxAcl *pAcl = NULL;
  const DbxAclEntry *pEntry = NULL;
  DbxError e;
  cJSON *pGrant = NULL;
  char zLevel[16], zId[64];
  int i, rc = SQLITE_OK;

  dbx_error_clear(&e);
  memset(&opts, 0, sizeof(opts));
  if (argc < 2 || argc > 4 || zWarehouse == NULL || zPrincipal == NULL) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_warehouse_grant(warehouse_id, "
                         "principal [, level [, options_json]]) needs the "
                         "warehouse id and the principal",
                         -1);
    return;
  }
  rc = dbx_args_check_all(argc, argv, azWhat, 3, 0, NULL, &e);
  /* the level, upper-cased: CAN_USE unless given */
  snprintf(zLevel, sizeof(zLevel), "%s",
           dbx_args_text(argc, argv, 2) ? dbx_args_text(argc, argv, 2)
                                        : "CAN_USE");
  for (i = 0; zLevel[i]; i++) {
    if (zLevel[i] >= 'a' && zLevel[i] <= 'z')
      zLevel[i] = (char)(zLevel[i] - 32);
  }
  if (rc == SQLITE_OK &&
      (!dbx_warehouse_level_ok(zLevel) ||
       strlen(dbx_args_text(argc, argv, 2) ? dbx_args_text(argc, argv, 2)
                                           : "") >= sizeof(zLevel))) {
    rc = dbx_error_set(&e, SQLITE_ERROR,
                       "level must be CAN_USE (run statements), "
                       "CAN_MONITOR, CAN_VIEW, CAN_MANAGE or IS_OWNER");
  }
  if (rc == SQLITE_OK) rc = dbx_warehouse_id(zWarehouse, zId, sizeof(zId), &e);
  if (rc == SQLITE_OK && apply_bad_principal(zPrincipal)) {
    rc = dbx_error_set(&e, SQLITE_ERROR,
                       "give a principal: a user's e-mail, a group's name or "
                       "a service principal's application id, without "
                       "control characters");
  }
  if (rc == SQLITE_OK) {
    rc = apply_options(dbx_args_text(argc, argv, 3), &opts, &pGrant, &e);
  }
  if (rc == SQLITE_OK) {
    const cJSON *pType = NULL, *pItem;
    cJSON_ArrayForEach(pItem, pGrant) {
      if (strcmp(pItem->string, "principal_type") == 0) {
        pType = pItem;
      } else {
        rc = dbx_error_set(&e, SQLITE_ERROR,
                           "dbx_warehouse_grant takes principal_type and "
                           "the connection settings, not %s",
                           pItem->string);
        break;
      }
    }
    if (rc == SQLITE_OK && pType) {
      zType = cJSON_IsString(pType) ? pType->valuestring : "";
      if (strcmp(zType, "user") && strcmp(zType, "group") &&
          strcmp(zType, "service_principal")) {
        rc = dbx_error_set(&e, SQLITE_ERROR,
                           "option principal_type must be \"user\", "
                           "\"group\" or \"service_principal\"");
      }
    }
  }
  if (rc == SQLITE_OK) {
    rc = dbx_session_connect(pSession, opts.aOpt, opts.nOpt, &pConfig, &pClient,
                             &e);
  }
  if (rc == SQLITE_OK) {
    rc = dbx_warehouse_acl_patch(pClient, zId,
                                 dbx_grants_acl_member(zPrincipal, zType),
                                 zPrincipal, zLevel, &pAcl, &e);
  }
  if (rc == SQLITE_OK && (pEntry = dbx_acl_find(pAcl, zPrincipal)) == NULL) {
    rc = dbx_error_set(&e, SQLITE_ERROR,
                       "the warehouse %s accepted the permission, but its "
                       "access control list does not show %s: check it in "
                       "the warehouse's Permissions",
                       zId, zPrincipal);
  }
  if (rc == SQLITE_OK) {
    sqlite3_result_text(ctx, pEntry->zJson, -1, SQLITE_TRANSIENT);
    sqlite3_result_subtype(ctx, 'J');
  } else {
    dbx_error_to_context(ctx, &e);
  }
  dbx_acl_free(pAcl);
  dbx_config_free(pConfig);
  dbx_args_options_free(&opts);
  cJSON_Delete(pGrant);
}
