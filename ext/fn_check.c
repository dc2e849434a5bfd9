/*
** fn_check.c: dbx_check(), the preflight: can this configuration do its
** job, and if not, what exactly to change.
**
**   SELECT * FROM dbx_check();
**   SELECT check, status, fix FROM dbx_check(
**     '{"table": "main.web.events", "operation": "append"}');
**   SELECT * FROM dbx_check('{"vtab": "events"}') WHERE status != 'ok';
**
** One row per check: `check`, `status` (ok, fail, warn, skip), `detail`
** and `fix`, in this order:
**
**   config             the settings resolve, and where each came from
**   host               the host answers (TLS, or plain http on loopback)
**   token              a token is obtained for the configured auth type
**   identity           whom it maps to (SCIM Me): userName, applicationId
**   warehouse          the warehouse exists, and its state
**   warehouse_can_use  the identity may run statements on it
**   select_1           SELECT 1 runs
**
** and, for a target (options "table" with "operation" read, append, merge
** or changes, or "vtab", a `databricks` table whose definition says both,
** read as dbx_grants_sql() reads it):
**
**   catalog, schema, table   they exist (a missing table is fine for an
**                            append or merge that may create it)
**   privileges         the identity's effective privileges (or ownership)
**                      cover what the job needs, the role's list of
**                      grants.c; fix: the GRANT statements that are missing
**   staging_volume     append, merge: the staging volume exists (or may be
**                      created) and accepts a probe file, written and
**                      deleted at once under a name of its own
**   change_data_feed   changes: delta.enableChangeDataFeed is on; fix: the
**                      ALTER TABLE of cdf.c
**
** Every check runs even after another failed, so one run shows every
** problem; a check that cannot run because an earlier one failed is skip,
** with the reason. A server reply of the wrong shape fails its check
** (with the reason), never the query. The only write is the probe file:
** no table data changes. xFilter runs every check; the rows are then read
** from memory. Eponymous-only and DIRECTONLY, like the other functions that
** use the network.
**
** This is the SQL surface: sqlite3 contexts and vtabs stop here.
*/
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "catalog.h"
#include "cdf.h"
#include "files.h"
#include "grants.h"
#include "sqlgen.h"
#include "vtab.h"
#include "warehouses.h"

/* Column numbers. */
#define COL_CHECK   0
#define COL_STATUS  1
#define COL_DETAIL  2
#define COL_FIX     3
#define COL_OPTIONS 4

/* One row of the result. */
typedef struct CheckRow {
  const char *zCheck;  /* static */
  const char *zStatus; /* static: ok, fail, warn, skip */
  char *zDetail;       /* owned */
  char *zFix;          /* owned, or NULL */
} CheckRow;

/* The check-specific members of options_json. */
typedef struct CheckOpts {
  const char *zTable;     /* "table": catalog.schema.table (or shorter) */
  const char *zOperation; /* "operation": read, append, merge, changes */
  const char *zVtab;      /* "vtab": a databricks table of main */
  int bCreateTable;       /* "create_table": a missing table may be created
                          ** (append, merge; default 1) */
  int bCreateVolume;      /* "create_volume": a missing staging volume may
                          ** be created (default 1) */
  const char *zStaging;   /* "staging_volume": catalog.schema.volume */
} CheckOpts;

/* What one run knows, as the checks go. */
typedef struct Check {
  sqlite3 *db;          /* the connection (the vtab form reads it) */
  DbxSession *pSession; /* borrowed */
  sqlite3_stmt *pProbe; /* owned; interrupt probe */
  CheckRow *aRow;       /* owned; the rows so far */
  int nRow, nAlloc;     /* rows used and allocated */
  int bNomem;           /* an allocation failed */
  CheckOpts o;          /* the target, from options_json */
  DbxConfig *pConfig;   /* owned; resolved settings */
  DbxClient *pClient;   /* borrowed from the session */
  DbxIdentity *pMe;     /* owned; SCIM Me, or NULL */
  char zWarehouse[64];  /* the warehouse id, or "" */
} Check;

/* ---------------------------------------------------------------------
** Rows
*/

/*
** Appends a row: zFix (may be NULL) is copied, the detail formatted.
*/
static void check_row(Check *p, const char *zCheck, const char *zStatus,
                      const char *zFix, const char *zFmt, ...)
    __attribute__((format(printf, 5, 6)));
static void check_row(Check *p, const char *zCheck, const char *zStatus,
                      const char *zFix, const char *zFmt, ...) {
  CheckRow *r;
  va_list ap;
  if (p->nRow == p->nAlloc) {
    int nNew = p->nAlloc ? p->nAlloc * 2 : 16;
    CheckRow *aNew =
        sqlite3_realloc64(p->aRow, sizeof(CheckRow) * (sqlite3_uint64)nNew);
    if (aNew == NULL) {
      p->bNomem = 1;
      return;
    }
    p->aRow = aNew;
    p->nAlloc = nNew;
  }
  r = &p->aRow[p->nRow++];
  r->zCheck = zCheck;
  r->zStatus = zStatus;
  va_start(ap, zFmt);
  r->zDetail = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  r->zFix = zFix && zFix[0] ? dbx_strdup(zFix) : NULL;
  if (r->zDetail == NULL || (zFix && zFix[0] && r->zFix == NULL)) p->bNomem = 1;
}

/* The message of an error, for a detail: one line, no "databricks: ". */
static const char *check_msg(const DbxError *e) {
  return e->zMsg[0] ? e->zMsg : "failed";
}

/* Where a setting came from, in words. */
static const char *check_source(const DbxConfig *pConfig, const char *zKey) {
  switch (dbx_config_source(pConfig, zKey)) {
  case DBX_SRC_OPTION:
    return "options";
  case DBX_SRC_SESSION:
    return "dbx_config()";
  case DBX_SRC_ENV:
    return "environment";
  case DBX_SRC_PROFILE:
    return "config file profile";
  case DBX_SRC_DEFAULT:
    return "default";
  default:
    return "unset";
  }
}

/* `a`.`b`.`c` of n names, into a new string (NULL when out of memory). */
static char *check_quoted(char *const *az, int n) {
  DbxBuf b = {0};
  int i;
  for (i = 0; i < n; i++) {
    if (i) dbx_buf_append(&b, ".", 1);
    dbx_sql_ident(&b, az[i]);
  }
  return dbx_buf_take(&b);
}

/*
** The fix of a missing warehouse permission: the dbx_warehouse_grant()
** call a manager of the warehouse runs. sqlite3_free the result.
*/
static char *check_warehouse_fix(const Check *p) {
  const char *zWho = dbx_identity_name(p->pMe);
  const char *zKind = dbx_grants_acl_member(zWho, NULL);
  int bSp = p->pMe->zApplicationId != NULL;
  /* say the kind when the name would be guessed wrong */
  int bSay = bSp ? strcmp(zKind, "service_principal_name") != 0
                 : strcmp(zKind, "user_name") != 0;
  return sqlite3_mprintf(
      "SELECT dbx_warehouse_grant(%Q, %Q%s%s);\n-- as a manager of the "
      "warehouse (CAN_MANAGE), or in the warehouse's Permissions: CAN USE "
      "for %s",
      p->zWarehouse, zWho, bSay ? ", 'CAN_USE', " : "",
      bSay ? (bSp ? "'{\"principal_type\": \"service_principal\"}'"
                  : "'{\"principal_type\": \"user\"}'")
           : "",
      zWho);
}

/* ---------------------------------------------------------------------
** Options
*/

/* The DbxArgsMemberFn of dbx_check(): takes the target's members. */
static int check_member(void *pArg, const cJSON *pItem, int *pbTaken,
                        DbxError *pErr) {
  CheckOpts *o = (CheckOpts *)pArg;
  const char *zKey = pItem->string;
  const char **pz = NULL;
  int *pb = NULL;
  if (strcmp(zKey, "table") == 0) pz = &o->zTable;
  if (strcmp(zKey, "operation") == 0) pz = &o->zOperation;
  if (strcmp(zKey, "vtab") == 0) pz = &o->zVtab;
  if (strcmp(zKey, "staging_volume") == 0) pz = &o->zStaging;
  if (strcmp(zKey, "create_table") == 0) pb = &o->bCreateTable;
  if (strcmp(zKey, "create_volume") == 0) pb = &o->bCreateVolume;
  if (pz == NULL && pb == NULL) return SQLITE_OK;
  *pbTaken = 1;
  if (pz && (!cJSON_IsString(pItem) || pItem->valuestring[0] == 0)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_check: option %s must be a non-empty string",
                         zKey);
  }
  if (pb && !cJSON_IsBool(pItem)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_check: option %s must be true or false", zKey);
  }
  if (pz) *pz = pItem->valuestring;
  if (pb) *pb = cJSON_IsTrue(pItem);
  return SQLITE_OK;
}

/* The role of an operation, or NULL. */
static const char *check_role(const char *zOperation) {
  static const char *const az[][2] = {{"read", "reader"},
                                      {"changes", "changes_reader"},
                                      {"append", "appender"},
                                      {"merge", "merger"}};
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(az); i++) {
    if (strcmp(az[i][0], zOperation) == 0) return az[i][1];
  }
  return NULL;
}

/* ---------------------------------------------------------------------
** The checks of the connection
*/

/*
** config, host, token, identity. Returns 1 when the identity is known
** (the later checks can run), else 0 with skip rows written for the rest
** of this group.
*/
static int check_connection(Check *p, DbxArgsOptions *pOpts) {
  static const char *const azGroup[] = {"config", "host", "token", "identity"};
  DbxError e;
  long status = 0;
  int i, iFailed = -1;
  const char *zWhy = NULL;
  const char *zHost, *zAuth;

  /* config: the settings resolve */
  dbx_error_clear(&e);
  if (dbx_session_config(p->pSession, pOpts->aOpt, pOpts->nOpt, &p->pConfig,
                         &e)) {
    check_row(p, "config", "fail",
              "set the workspace URL and a credential: DATABRICKS_HOST and "
              "DATABRICKS_TOKEN (or client_id / client_secret ...) in the "
              "environment, a profile of ~/.databrickscfg, or "
              "dbx_config('host', ...)",
              "%s", check_msg(&e));
    iFailed = 0;
    zWhy = "the configuration does not resolve (see config)";
  } else {
    const char *zWh = dbx_config_get(p->pConfig, "warehouse_id");
    const char *zProfile = dbx_config_get(p->pConfig, "profile");
    const char *zCred;
    zAuth = dbx_config_get(p->pConfig, "auth_type");
    if (zWh) snprintf(p->zWarehouse, sizeof(p->zWarehouse), "%s", zWh);
    /* where the credential came from says more than the auth type's */
    zCred = zAuth && strcmp(zAuth, "pat") == 0         ? "token"
            : zAuth && strcmp(zAuth, "oauth-m2m") == 0 ? "client_id"
                                                       : "auth_type";
    check_row(p, "config", "ok", NULL,
              "host %s (%s), auth %s (%s from %s), warehouse %s (%s)%s%s%s",
              dbx_config_get(p->pConfig, "host"),
              check_source(p->pConfig, "host"), zAuth ? zAuth : "?", zCred,
              check_source(p->pConfig, zCred), zWh ? zWh : "none",
              check_source(p->pConfig, "warehouse_id"),
              zProfile ? ", profile [" : "", zProfile ? zProfile : "",
              zProfile ? "]" : "");
  }

  /* host: the TLS policy, a client, then an answer */
  dbx_error_clear(&e);
  if (iFailed < 0) {
    DbxConfig *pConfig = NULL;
    zHost = dbx_config_get(p->pConfig, "host");
    if (dbx_http_check_url(zHost, &e)) {
      check_row(p, "host", "fail",
                "give the workspace URL with https:// (plain http is only "
                "for a workspace on this machine's loopback)",
                "%s", check_msg(&e));
      iFailed = 1;
      zWhy = "the host is refused (see host)";
    } else if (dbx_session_connect(p->pSession, pOpts->aOpt, pOpts->nOpt,
                                   &pConfig, &p->pClient, &e)) {
      /* the URL is fine, so the credential settings are not */
      check_row(p, "host", "skip", NULL,
                "no client for these settings (see token)");
      check_row(p, "token", "fail",
                "check the settings of the auth type (dbx_config() shows "
                "them)",
                "%s", check_msg(&e));
      iFailed = 2;
      zWhy = "no client for these settings (see token)";
    } else {
      /* Ctrl-C reaches every call from here on */
      dbx_client_set_interrupt(p->pClient, dbx_probe_interrupted, p->pProbe);
      if (dbx_client_ping(p->pClient, &status, &e)) {
        check_row(p, "host", "fail",
                  "check host= (the workspace URL, https://<name>.cloud."
                  "databricks.com or the like), the network, and ca_bundle "
                  "when a proxy re-signs TLS",
                  "%s did not answer: %s", zHost, check_msg(&e));
        iFailed = 1;
        zWhy = "the host does not answer (see host)";
      } else {
        check_row(p, "host", "ok", NULL,
                  "%s answered (HTTP %ld without credentials) %s", zHost,
                  status,
                  strncmp(zHost, "https:", 6) == 0
                      ? "over TLS"
                      : "over plain http, allowed on loopback only");
      }
    }
    dbx_config_free(pConfig); /* the same settings as p->pConfig */
  }

  /* token */
  dbx_error_clear(&e);
  if (iFailed < 0) {
    zAuth = dbx_client_auth_type(p->pClient);
    if (dbx_client_token_check(p->pClient, &e)) {
      const char *zFix =
          strcmp(zAuth, "oauth-m2m") == 0
              ? "check client_id (the service principal's application id) "
                "and client_secret (an OAuth secret of it that has not "
                "expired)"
          : strncmp(zAuth, "pat", 3) == 0
              ? "create a new personal access token (User Settings, "
                "Developer) and set it as token"
              : "check that a federation policy of the service principal "
                "accepts the subject token's issuer, subject and audience "
                "(dbx_federation_policy() writes one), and the oidc_* "
                "settings";
      check_row(p, "token", "fail", zFix, "auth %s: %s", zAuth, check_msg(&e));
      iFailed = 2;
      zWhy = "no token (see token)";
    } else {
      check_row(p, "token", "ok", NULL, "auth %s: a token %s", zAuth,
                strcmp(zAuth, "pat") == 0
                    ? "is configured (a personal access token); the "
                      "identity check shows whether the workspace takes it"
                    : "was obtained from the workspace's token endpoint");
    }
  }

  /* identity */
  dbx_error_clear(&e);
  if (iFailed < 0) {
    if (dbx_identity_me(p->pClient, &p->pMe, &e)) {
      int bRefused = e.httpStatus == 401 || e.httpStatus == 403;
      check_row(p, "identity", "fail",
                bRefused ? "the workspace refused the token: create a new "
                           "one, or check that it belongs to this workspace "
                           "and has not expired or been revoked"
                         : NULL,
                "GET /api/2.0/preview/scim/v2/Me: %s", check_msg(&e));
      iFailed = 3;
      zWhy = bRefused ? "the workspace refused the token (see identity)"
                      : "the identity is unknown (see identity)";
    } else {
      DbxBuf groups = {0};
      for (i = 0; i < p->pMe->nGroup; i++) {
        dbx_buf_appendf(&groups, "%s%s", i ? ", " : "", p->pMe->azGroup[i]);
      }
      check_row(p, "identity", "ok", NULL, "%s %s%s%s%s%s%s",
                p->pMe->zApplicationId ? "service principal" : "user",
                dbx_identity_name(p->pMe), p->pMe->zDisplayName[0] ? " (" : "",
                p->pMe->zDisplayName, p->pMe->zDisplayName[0] ? ")" : "",
                groups.n ? ", groups: " : "", groups.n ? groups.z : "");
      if (groups.rc) p->bNomem = 1;
      dbx_buf_free(&groups);
    }
  }
  for (i = iFailed + 1; iFailed >= 0 && i < (int)DBX_ARRAY_SIZE(azGroup); i++) {
    check_row(p, azGroup[i], "skip", NULL, "%s", zWhy);
  }
  return iFailed < 0;
}

/* Whether the error says the warehouse permission is missing. */
static int check_is_warehouse_denied(const DbxError *e) {
  return e->httpStatus == 403 || strstr(e->zMsg, "CAN_USE") != NULL;
}

/* warehouse, warehouse_can_use, select_1. */
static void check_warehouse(Check *p) {
  DbxWarehouseInfo wh;
  DbxAcl *pAcl = NULL;
  DbxStmtOptions stmt;
  DbxRows *pRows = NULL;
  DbxError eWh, eAcl, eSel;
  char *zFix = NULL;
  int rcWh, rcAcl = SQLITE_OK, rcSel = SQLITE_OK, bSkip = 0, i;
  int64_t tStart;

  if (p->zWarehouse[0] == 0) {
    check_row(p, "warehouse", "fail",
              "set warehouse_id: DATABRICKS_WAREHOUSE_ID, warehouse= in the "
              "options, a profile, or dbx_config('warehouse', '<id>') with "
              "the id (or HTTP path) of the warehouse's Connection details",
              "no warehouse configured");
    check_row(p, "warehouse_can_use", "skip", NULL,
              "no warehouse configured (see warehouse)");
    check_row(p, "select_1", "skip", NULL,
              "no warehouse configured (see warehouse)");
    return;
  }
  zFix = check_warehouse_fix(p);
  if (zFix == NULL) p->bNomem = 1;

  /* the three calls first: the permission row reads what SELECT 1 did */
  dbx_error_clear(&eWh);
  dbx_error_clear(&eAcl);
  dbx_error_clear(&eSel);
  rcWh = dbx_warehouse_get(p->pClient, p->zWarehouse, &wh, &eWh);
  bSkip = rcWh && eWh.httpStatus == 404;
  if (rcWh == SQLITE_OK && (strcmp(wh.zState, "DELETED") == 0 ||
                            strcmp(wh.zState, "DELETING") == 0)) {
    bSkip = 1;
  }
  if (!bSkip) {
    rcAcl = dbx_warehouse_acl_get(p->pClient, p->zWarehouse, &pAcl, &eAcl);
    dbx_stmt_options_init(&stmt);
    dbx_session_stmt_options(p->pSession, p->pConfig, &stmt);
    stmt.xInterrupt = dbx_probe_interrupted;
    stmt.pInterruptArg = p->pProbe;
    stmt.bProgress = 0;
    tStart = dbx_client_now_ms(p->pClient);
    rcSel =
        dbx_rows_execute(p->pClient, "SELECT 1", NULL, 0, &stmt, &pRows, &eSel);
    if (rcSel == SQLITE_OK) rcSel = dbx_rows_next(pRows, &eSel);
    if (rcSel == SQLITE_ROW) {
      DbxCell c;
      rcSel = dbx_rows_cell(pRows, 0, &c, &eSel);
      if (rcSel == SQLITE_OK && !(c.eType == DBX_CELL_INTEGER && c.iVal == 1)) {
        rcSel = dbx_error_set(&eSel, SQLITE_ERROR,
                              "SELECT 1 did not answer 1: check that the "
                              "host is a Databricks workspace");
      }
    } else if (rcSel == SQLITE_DONE) {
      rcSel = dbx_error_set(&eSel, SQLITE_ERROR,
                            "SELECT 1 answered no row: check that the host "
                            "is a Databricks workspace");
    }
    dbx_rows_free(pRows);
    tStart = dbx_client_now_ms(p->pClient) - tStart;
  }

  /* warehouse */
  if (rcWh == SQLITE_OK) {
    const char *zState = wh.zState[0] ? wh.zState : "in an unknown state";
    if (bSkip) {
      check_row(p, "warehouse", "fail",
                "pick a running warehouse (SQL Warehouses) and set "
                "warehouse_id to its id",
                "warehouse %s (%s) is %s", wh.zId, wh.zName, zState);
    } else {
      check_row(p, "warehouse", "ok", NULL, "warehouse %s (%s) is %s%s", wh.zId,
                wh.zName, zState,
                strcmp(wh.zState, "RUNNING") == 0
                    ? ""
                    : ": it starts with the first statement, which then "
                      "waits for it");
    }
  } else if (eWh.httpStatus == 404) {
    check_row(p, "warehouse", "fail",
              "set warehouse_id to the id of an existing warehouse (SQL "
              "Warehouses, Connection details)",
              "warehouse %s does not exist (or the identity cannot see it): "
              "%s",
              p->zWarehouse, check_msg(&eWh));
  } else if (eWh.httpStatus == 403) {
    check_row(p, "warehouse", "fail", zFix,
              "%s has no permission on warehouse %s: %s",
              dbx_identity_name(p->pMe), p->zWarehouse, check_msg(&eWh));
  } else {
    check_row(p, "warehouse", "fail", NULL, "warehouse %s: %s", p->zWarehouse,
              check_msg(&eWh));
  }

  /* warehouse_can_use */
  if (bSkip) {
    check_row(p, "warehouse_can_use", "skip", NULL,
              "the warehouse does not exist (see warehouse)");
  } else if (rcAcl == SQLITE_OK) {
    const DbxAclEntry *pUse = NULL;
    for (i = 0; i < pAcl->nEntry && pUse == NULL; i++) {
      if (pAcl->aEntry[i].bCanUse &&
          dbx_identity_is(p->pMe, pAcl->aEntry[i].zName)) {
        pUse = &pAcl->aEntry[i];
      }
    }
    if (pUse) {
      check_row(p, "warehouse_can_use", "ok", NULL, "%s %s holds %s%s",
                pUse->zKind, pUse->zName, pUse->zLevels,
                strcmp(pUse->zName, dbx_identity_name(p->pMe))
                    ? " (a group of the identity)"
                    : "");
    } else if (rcSel == SQLITE_OK) {
      /* the list is not the whole story (nested groups, inheritance) */
      check_row(p, "warehouse_can_use", "warn", NULL,
                "the access control list of warehouse %s gives %s no CAN "
                "USE, yet SELECT 1 ran: it holds it some other way (a "
                "nested group?)",
                p->zWarehouse, dbx_identity_name(p->pMe));
    } else {
      check_row(p, "warehouse_can_use", "fail", zFix,
                "the access control list of warehouse %s gives %s no CAN USE "
                "(nor CAN MANAGE), directly or through its groups",
                p->zWarehouse, dbx_identity_name(p->pMe));
    }
  } else if (eAcl.httpStatus == 403 || eAcl.httpStatus == 404) {
    /* reading the list needs CAN_MANAGE: SELECT 1 says what it would */
    if (rcSel == SQLITE_OK) {
      check_row(p, "warehouse_can_use", "ok", NULL,
                "SELECT 1 ran, so %s may use warehouse %s (its access "
                "control list takes CAN MANAGE to read)",
                dbx_identity_name(p->pMe), p->zWarehouse);
    } else if (check_is_warehouse_denied(&eSel)) {
      check_row(p, "warehouse_can_use", "fail", zFix,
                "%s may not use warehouse %s: %s", dbx_identity_name(p->pMe),
                p->zWarehouse, check_msg(&eSel));
    } else {
      check_row(p, "warehouse_can_use", "warn", NULL,
                "cannot read the access control list of warehouse %s (it "
                "takes CAN MANAGE): %s",
                p->zWarehouse, check_msg(&eAcl));
    }
  } else {
    check_row(p, "warehouse_can_use", "warn", NULL,
              "cannot read the access control list of warehouse %s: %s",
              p->zWarehouse, check_msg(&eAcl));
  }

  /* select_1 */
  if (bSkip) {
    check_row(p, "select_1", "skip", NULL,
              "the warehouse does not exist (see warehouse)");
  } else if (rcSel == SQLITE_OK) {
    check_row(p, "select_1", "ok", NULL,
              "SELECT 1 ran on warehouse %s in %lld "
              "ms",
              p->zWarehouse, (long long)tStart);
  } else {
    check_row(p, "select_1", "fail",
              check_is_warehouse_denied(&eSel) ? zFix : NULL, "%s",
              check_msg(&eSel));
  }
  dbx_acl_free(pAcl);
  sqlite3_free(zFix);
}

/* ---------------------------------------------------------------------
** The checks of a target
*/

/* What is known of one Unity Catalog object. */
typedef struct UcState {
  int eState;        /* UC_* */
  DbxUcObject *pObj; /* owned; when it was read */
  DbxError err;      /* why not */
} UcState;

#define UC_UNKNOWN 0 /* not asked, or the answer was unusable */
#define UC_EXISTS  1 /* exists (pObj when it could be read) */
#define UC_MISSING 2 /* does not exist */
#define UC_HIDDEN  3 /* exists as far as can be told, but not visible */

/* Reads object zType azName[nName] into *s. */
static void check_object(Check *p, const char *zType, char *const *azName,
                         int nName, UcState *s) {
  memset(s, 0, sizeof(*s));
  if (dbx_catalog_object_get(p->pClient, zType, azName, nName, &s->pObj,
                             &s->err) == SQLITE_OK) {
    s->eState = UC_EXISTS;
  } else if (s->err.httpStatus == 404) {
    s->eState = UC_MISSING;
  } else if (s->err.httpStatus == 403) {
    s->eState = UC_HIDDEN;
  }
}

/* Whether the identity (or one of its groups) owns s's object. */
static int check_owns(const Check *p, const UcState *s) {
  return s->pObj && s->pObj->zOwner[0] &&
         dbx_identity_is(p->pMe, s->pObj->zOwner);
}

/* xIs of dbx_catalog_effective_has: the identity or one of its groups. */
static int check_is_me(void *pArg, const char *zPrincipal) {
  return dbx_identity_is((const DbxIdentity *)pArg, zPrincipal);
}

/* The effective privileges of one securable, read once. */
typedef struct EffCache {
  char *zKey;           /* owned; type + full name */
  DbxUcEffective *pEff; /* owned; NULL when they could not be read */
  DbxError err;         /* why not */
} EffCache;

/* What the checks of a target share. */
typedef struct Target {
  DbxGrantRequest req;    /* the grants request (principal: the identity) */
  DbxVtabArgs a;          /* the vtab form's definition */
  char *zSecurable;       /* owned; the vtab form's quoted table name */
  char *zWh;              /* owned; the vtab form's warehouse, unused */
  char *azT[3];           /* owned; the table's names */
  char *azV[3];           /* owned; the staging volume's names */
  const char *zOperation; /* read, append, merge, changes */
  int bMayCreate;         /* a missing table may be created */
  UcState cat, sch, tab, vol;
  int bTableExists; /* 1 exists, 0 missing, -1 unknown */
  EffCache aEff[DBX_GRANT_MAX];
  int nEff;
} Target;

/*
** Resolves the target of the options into *t: the table's names, the
** operation, the role and the staging volume. Returns SQLITE_OK or an
** error in pErr that says what is wrong with the target.
*/
static int check_target(Check *p, Target *t, DbxError *pErr) {
  char *zQuoted = NULL;
  int nPart = 0, rc;
  dbx_grants_request_init(&t->req);
  t->req.zPrincipal = dbx_identity_name(p->pMe);
  if (p->o.zVtab) {
    rc = dbx_grants_from_vtab(p->db, p->pSession, p->o.zVtab, &t->req, &t->a,
                              &t->zSecurable, &t->zWh, pErr);
    if (rc) return rc;
    t->req.zPrincipal = dbx_identity_name(p->pMe);
    t->req.zNote = NULL;
    t->zOperation = strcmp(t->req.zRole, "reader") == 0           ? "read"
                    : strcmp(t->req.zRole, "changes_reader") == 0 ? "changes"
                    : strcmp(t->req.zRole, "appender") == 0       ? "append"
                                                                  : "merge";
    t->bMayCreate = t->a.zCreate != NULL || t->a.zModel != NULL;
    rc = dbx_sql_name_split(t->zSecurable, t->azT, &nPart, pErr);
  } else {
    t->zOperation = p->o.zOperation ? p->o.zOperation : "read";
    t->req.zRole = check_role(t->zOperation);
    t->bMayCreate = p->o.bCreateTable;
    t->req.zStagingVolume = p->o.zStaging;
    rc = dbx_session_name3(p->pConfig, p->o.zTable, "dbx_check: table", t->azT,
                           pErr);
    nPart = 3;
    if (rc == SQLITE_OK) {
      zQuoted = check_quoted(t->azT, 3);
      t->zSecurable = zQuoted;
      if (zQuoted == NULL)
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  if (rc == SQLITE_OK && nPart != 3) {
    rc = dbx_error_set(pErr, SQLITE_ERROR, "the target must be a table");
  }
  t->req.zSecurable = t->zSecurable;
  /* the staging volume's names, as grants.c takes them */
  if (rc == SQLITE_OK && t->req.zStagingVolume) {
    rc = dbx_sql_name_split(t->req.zStagingVolume, t->azV, &nPart, pErr);
    if (rc == SQLITE_OK && nPart != 3) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "staging_volume must be catalog.schema.volume");
    }
  } else if (rc == SQLITE_OK) {
    t->azV[0] = dbx_strdup(t->azT[0]);
    t->azV[1] = dbx_strdup(t->azT[1]);
    t->azV[2] = dbx_strdup(DBX_GRANT_DEFAULT_VOLUME);
    if (!t->azV[0] || !t->azV[1] || !t->azV[2]) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  return rc;
}

static void check_target_free(Target *t) {
  int i;
  dbx_grants_request_free(&t->req);
  dbx_vtab_args_free(&t->a);
  sqlite3_free(t->zSecurable);
  sqlite3_free(t->zWh);
  dbx_sql_name_free(t->azT);
  dbx_sql_name_free(t->azV);
  dbx_catalog_object_free(t->cat.pObj);
  dbx_catalog_object_free(t->sch.pObj);
  dbx_catalog_object_free(t->tab.pObj);
  dbx_catalog_object_free(t->vol.pObj);
  for (i = 0; i < t->nEff; i++) {
    sqlite3_free(t->aEff[i].zKey);
    dbx_catalog_effective_free(t->aEff[i].pEff);
  }
}

/* Whether the job writes through the staging volume. */
static int check_writes(const Target *t) {
  return strcmp(t->zOperation, "append") == 0 ||
         strcmp(t->zOperation, "merge") == 0;
}

/* catalog, schema, table: existence. */
static void check_objects(Check *p, Target *t) {
  char *zC = check_quoted(t->azT, 1), *zS = check_quoted(t->azT, 2);
  char *zT = check_quoted(t->azT, 3);
  DbxError e;
  int bExists = 0;
  if (!zC || !zS || !zT) p->bNomem = 1;

  check_object(p, "CATALOG", t->azT, 1, &t->cat);
  if (t->cat.eState == UC_EXISTS) {
    check_row(p, "catalog", "ok", NULL, "catalog %s exists (owner %s)", zC,
              t->cat.pObj->zOwner[0] ? t->cat.pObj->zOwner : "unknown");
  } else if (t->cat.eState == UC_MISSING) {
    check_row(p, "catalog", "fail",
              "check the name; an identity without any privilege on the "
              "catalog cannot see it either (the privileges check gives the "
              "grants)",
              "catalog %s does not exist, or %s cannot see it: %s", zC,
              dbx_identity_name(p->pMe), check_msg(&t->cat.err));
  } else {
    check_row(p, "catalog", "fail",
              t->cat.eState == UC_HIDDEN ? "see the privileges check" : NULL,
              "catalog %s: %s", zC, check_msg(&t->cat.err));
  }

  check_object(p, "SCHEMA", t->azT, 2, &t->sch);
  if (t->sch.eState == UC_EXISTS) {
    check_row(p, "schema", "ok", NULL, "schema %s exists (owner %s)", zS,
              t->sch.pObj->zOwner[0] ? t->sch.pObj->zOwner : "unknown");
  } else if (t->sch.eState == UC_MISSING && t->cat.eState == UC_EXISTS) {
    check_row(p, "schema", "fail",
              "check the name, or create it: CREATE SCHEMA IF NOT EXISTS "
              "(run by someone with CREATE SCHEMA on the catalog)",
              "schema %s does not exist, or %s cannot see it: %s", zS,
              dbx_identity_name(p->pMe), check_msg(&t->sch.err));
  } else if (t->sch.eState == UC_MISSING) {
    check_row(p, "schema", "skip", NULL,
              "the catalog is not there (see "
              "catalog)");
  } else {
    check_row(p, "schema", "fail",
              t->sch.eState == UC_HIDDEN ? "see the privileges check" : NULL,
              "schema %s: %s", zS, check_msg(&t->sch.err));
  }

  /* the table: the exists call answers where a GET may not */
  t->bTableExists = -1;
  dbx_error_clear(&e);
  if (t->sch.eState == UC_MISSING) {
    check_row(p, "table", "skip", NULL,
              "the schema is not there (see "
              "schema)");
  } else if (dbx_catalog_table_exists(p->pClient, t->azT, &bExists, &e) ==
             SQLITE_OK) {
    t->bTableExists = bExists;
  } else if (e.httpStatus == 403) {
    t->bTableExists = 1; /* most likely there, and not readable */
  } else {
    check_row(p, "table", "fail", NULL, "table %s: %s", zT, check_msg(&e));
  }
  if (t->bTableExists == 1) {
    check_object(p, "TABLE", t->azT, 3, &t->tab);
    if (t->tab.eState == UC_EXISTS) {
      check_row(p, "table", "ok", NULL, "table %s exists (owner %s)", zT,
                t->tab.pObj->zOwner[0] ? t->tab.pObj->zOwner : "unknown");
    } else {
      check_row(p, "table", "fail", "see the privileges check",
                "table %s exists but %s cannot read it: %s", zT,
                dbx_identity_name(p->pMe),
                check_msg(t->tab.err.rc ? &t->tab.err : &e));
    }
  } else if (t->bTableExists == 0 && check_writes(t) && t->bMayCreate) {
    check_row(p, "table", "ok", NULL,
              "table %s does not exist; the first commit creates it (CREATE "
              "TABLE on the schema, see privileges)",
              zT);
  } else if (t->bTableExists == 0 && check_writes(t)) {
    check_row(p, "table", "fail",
              p->o.zVtab ? "give the databricks table create= (its columns) "
                           "or model=, or create the remote table"
                         : "create the table, or let the job create it "
                           "(create_table: true)",
              "table %s does not exist, and the %s does not create it", zT,
              p->o.zVtab ? "table's definition" : "check was told it");
  } else if (t->bTableExists == 0) {
    check_row(p, "table", "fail", "check the catalog, schema and table names",
              "table %s does not exist", zT);
  }
  sqlite3_free(zC);
  sqlite3_free(zS);
  sqlite3_free(zT);
}

/*
** The effective privileges on zType azName[nName], read once per run.
** Returns the cache entry (its pEff NULL when they could not be read).
*/
static EffCache *check_effective(Check *p, Target *t, const char *zType,
                                 char *const *azName, int nName) {
  char *zKey =
      sqlite3_mprintf("%s %s.%s.%s", zType, azName[0],
                      nName > 1 ? azName[1] : "", nName > 2 ? azName[2] : "");
  EffCache *c;
  int i;
  if (zKey == NULL) {
    p->bNomem = 1;
    return NULL;
  }
  for (i = 0; i < t->nEff; i++) {
    if (strcmp(t->aEff[i].zKey, zKey) == 0) {
      sqlite3_free(zKey);
      return &t->aEff[i];
    }
  }
  if (t->nEff == DBX_GRANT_MAX) {
    sqlite3_free(zKey);
    return NULL;
  }
  c = &t->aEff[t->nEff++];
  memset(c, 0, sizeof(*c));
  c->zKey = zKey;
  dbx_catalog_effective_get(p->pClient, zType, azName, nName, &c->pEff,
                            &c->err);
  return c;
}

/* Whether the identity owns the securable of pItem or one of its parents. */
static int check_item_owned(const Check *p, const Target *t,
                            const DbxGrantListItem *pItem) {
  int bVol = strcmp(pItem->zType, "VOLUME") == 0;
  int bSame = sqlite3_stricmp(pItem->azName[0], t->azT[0]) == 0;
  if (bSame && check_owns(p, &t->cat)) return 1;
  if (pItem->nName >= 2 && bSame &&
      sqlite3_stricmp(pItem->azName[1], t->azT[1]) == 0 &&
      check_owns(p, &t->sch)) {
    return 1;
  }
  if (strcmp(pItem->zType, "TABLE") == 0) return check_owns(p, &t->tab);
  if (bVol) return check_owns(p, &t->vol);
  return 0;
}

/* privileges: the role's list against the identity's effective ones. */
static void check_privileges(Check *p, Target *t) {
  DbxGrantList *pList = NULL;
  DbxBuf fix = {0}, missing = {0}, held = {0}, notes = {0};
  DbxError e;
  int i, nHeld = 0, bWrites = check_writes(t);
  dbx_error_clear(&e);
  if (t->cat.eState == UC_MISSING || t->sch.eState == UC_MISSING) {
    check_row(p, "privileges", "skip", NULL, "the %s does not exist (see %s)",
              t->cat.eState == UC_MISSING ? "catalog" : "schema",
              t->cat.eState == UC_MISSING ? "catalog" : "schema");
    return;
  }
  /* what the job needs given what exists */
  if (strcmp(t->req.zRole, "appender") == 0) {
    t->req.bCreateTable = t->bTableExists == 0 && t->bMayCreate;
  }
  if (bWrites) {
    t->req.bCreateVolume = t->vol.eState == UC_MISSING && p->o.bCreateVolume;
  }
  if (dbx_grants_list(&t->req, &pList, &e)) {
    check_row(p, "privileges", "fail", NULL, "%s", check_msg(&e));
    return;
  }
  for (i = 0; i < pList->nItem; i++) {
    const DbxGrantListItem *pItem = &pList->aItem[i];
    int bTable = strcmp(pItem->zType, "TABLE") == 0;
    int bVol = strcmp(pItem->zType, "VOLUME") == 0;
    EffCache *c;
    /* an object the job creates is its own: no grant on it */
    if ((bTable && t->bTableExists == 0) ||
        (bVol && t->vol.eState == UC_MISSING)) {
      continue;
    }
    if (check_item_owned(p, t, pItem)) {
      dbx_buf_appendf(&held, "%s%s on %s (owner)", nHeld++ ? ", " : "",
                      pItem->zPriv, pItem->zOn);
      continue;
    }
    c = check_effective(p, t, pItem->zType, pItem->azName, pItem->nName);
    if (c && c->pEff &&
        dbx_catalog_effective_has(c->pEff, pItem->zPriv, check_is_me, p->pMe)) {
      dbx_buf_appendf(&held, "%s%s on %s", nHeld++ ? ", " : "", pItem->zPriv,
                      pItem->zOn);
      continue;
    }
    if (c && c->pEff == NULL && c->err.httpStatus != 403 &&
        c->err.httpStatus != 404) {
      /* could not be read for another reason: say so */
      dbx_buf_appendf(&notes, "; the privileges on %s could not be read (%s)",
                      pItem->zOn, check_msg(&c->err));
    }
    dbx_buf_appendf(&missing, "%s%s on %s", missing.n ? ", " : "", pItem->zPriv,
                    pItem->zOn);
    dbx_buf_appendf(&fix, "%s;\n", pItem->zStatement);
  }
  if (fix.n) fix.z[--fix.n] = 0; /* the last newline */
  if (fix.rc || missing.rc || held.rc || notes.rc) {
    p->bNomem = 1;
  } else if (missing.n) {
    check_row(p, "privileges", "fail", fix.z,
              "%s lacks %s for %s of %s (role %s)%s", dbx_identity_name(p->pMe),
              missing.z, t->zOperation, t->zSecurable, t->req.zRole,
              notes.n ? notes.z : "");
  } else {
    check_row(p, "privileges", "ok", NULL,
              "%s holds what %s of %s needs (role %s)%s%s",
              dbx_identity_name(p->pMe), t->zOperation, t->zSecurable,
              t->req.zRole, nHeld ? ": " : "", nHeld ? held.z : "");
  }
  dbx_buf_free(&fix);
  dbx_buf_free(&missing);
  dbx_buf_free(&held);
  dbx_buf_free(&notes);
  dbx_grants_list_free(pList);
}

/* staging_volume: exists (or may be created) and takes a probe file. */
static void check_staging(Check *p, Target *t) {
  char *zV = check_quoted(t->azV, 3);
  char *zPath = NULL;
  DbxError e;
  unsigned char aByte[] = "dbx_check probe: safe to delete\n";
  if (zV == NULL) p->bNomem = 1;
  dbx_error_clear(&e);
  if (t->vol.eState == UC_MISSING && p->o.bCreateVolume) {
    check_row(p, "staging_volume", "ok", NULL,
              "volume %s does not exist; the first commit creates it (CREATE "
              "VOLUME on the schema, see privileges)",
              zV);
  } else if (t->vol.eState == UC_MISSING) {
    check_row(p, "staging_volume", "fail",
              "create it: CREATE VOLUME IF NOT EXISTS, or let the job create "
              "it (create_volume: true)",
              "volume %s does not exist", zV);
  } else if (t->vol.eState == UC_UNKNOWN) {
    check_row(p, "staging_volume", "fail", NULL, "volume %s: %s", zV,
              check_msg(&t->vol.err));
  } else {
    /* a name no one else uses, in the volume's top directory (no
    ** directory is left behind) */
    zPath =
        sqlite3_mprintf("/Volumes/%s/%s/%s/.dbx_check_%lld_%d_%08x", t->azV[0],
                        t->azV[1], t->azV[2], (long long)time(NULL),
                        (int)getpid(), dbx_client_rand(p->pClient));
    if (zPath == NULL) {
      p->bNomem = 1;
    } else if (dbx_files_put_bytes(p->pClient, aByte, sizeof(aByte) - 1, zPath,
                                   0, &e)) {
      check_row(p, "staging_volume", "fail",
                e.httpStatus == 403 ? "see the privileges check for the "
                                      "WRITE VOLUME grant"
                                    : NULL,
                "volume %s did not accept a probe file: %s", zV, check_msg(&e));
    } else if (dbx_files_delete(p->pClient, zPath, &e)) {
      char *zRm = sqlite3_mprintf("SELECT dbx_volume_rm(%Q);", zPath);
      check_row(p, "staging_volume", "warn", zRm,
                "volume %s accepted a probe file but it could not be "
                "deleted: %s",
                zV, check_msg(&e));
      sqlite3_free(zRm);
    } else {
      check_row(p, "staging_volume", "ok", NULL,
                "volume %s accepted a probe file (written and deleted)", zV);
    }
  }
  sqlite3_free(zPath);
  sqlite3_free(zV);
}

/* change_data_feed: the table's properties turn the feed on. */
static void check_cdf(Check *p, Target *t) {
  DbxCdfTable ct;
  DbxBuf alter = {0};
  if (t->bTableExists == 0) {
    check_row(p, "change_data_feed", "skip", NULL,
              "the table does not exist (see table)");
    return;
  }
  if (t->tab.eState != UC_EXISTS) {
    check_row(p, "change_data_feed", "skip", NULL,
              "the table's properties cannot be read (see table)");
    return;
  }
  if (t->tab.pObj->bCdf) {
    check_row(p, "change_data_feed", "ok", NULL,
              "delta.enableChangeDataFeed is true on %s", t->zSecurable);
    return;
  }
  ct.zCatalog = t->azT[0];
  ct.zSchema = t->azT[1];
  ct.zName = t->azT[2];
  dbx_cdf_enable_sql(&alter, &ct);
  dbx_buf_append(&alter, ";", 1);
  if (alter.rc) {
    p->bNomem = 1;
  } else {
    check_row(p, "change_data_feed", "fail", alter.z,
              "the change data feed of %s is off: changes are recorded only "
              "from the version that turns it on",
              t->zSecurable);
  }
  dbx_buf_free(&alter);
}

/* The rows of a target whose checks cannot run. */
static void check_target_skip(Check *p, const char *zOperation,
                              const char *zWhy) {
  static const char *const azAll[] = {"catalog", "schema", "table",
                                      "privileges"};
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(azAll); i++) {
    check_row(p, azAll[i], "skip", NULL, "%s", zWhy);
  }
  if (zOperation &&
      (strcmp(zOperation, "append") == 0 || strcmp(zOperation, "merge") == 0)) {
    check_row(p, "staging_volume", "skip", NULL, "%s", zWhy);
  }
  if (zOperation && strcmp(zOperation, "changes") == 0) {
    check_row(p, "change_data_feed", "skip", NULL, "%s", zWhy);
  }
}

/* Every check of the target. */
static void check_target_all(Check *p) {
  Target t;
  DbxError e;
  memset(&t, 0, sizeof(t));
  dbx_error_clear(&e);
  if (check_target(p, &t, &e)) {
    check_row(p, "table", "fail", NULL, "%s", check_msg(&e));
    check_row(p, "privileges", "skip", NULL,
              "the target does not resolve (see table)");
    check_target_free(&t);
    return;
  }
  check_objects(p, &t);
  if (check_writes(&t) && t.sch.eState != UC_MISSING) {
    check_object(p, "VOLUME", t.azV, 3, &t.vol);
  }
  check_privileges(p, &t);
  if (check_writes(&t)) {
    if (t.sch.eState == UC_MISSING) {
      check_row(p, "staging_volume", "skip", NULL,
                "the schema is not there (see schema)");
    } else {
      check_staging(p, &t);
    }
  }
  if (strcmp(t.zOperation, "changes") == 0) check_cdf(p, &t);
  check_target_free(&t);
}

/* ---------------------------------------------------------------------
** The virtual table
*/

typedef struct CheckVtab {
  sqlite3_vtab base;    /* must be first */
  sqlite3 *db;          /* the connection */
  DbxSession *pSession; /* borrowed: the module's client data */
} CheckVtab;

typedef struct CheckCursor {
  sqlite3_vtab_cursor base; /* must be first */
  CheckRow *aRow;           /* owned */
  int nRow;                 /* rows in aRow */
  int iRow;                 /* the current row */
  char *zOptions;           /* owned; the argument, or NULL */
} CheckCursor;

static int checkConnect(sqlite3 *db, void *pAux, int argc,
                        const char *const *argv, sqlite3_vtab **ppVtab,
                        char **pzErr) {
  CheckVtab *p;
  int rc;
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  DBX_UNUSED(pzErr);
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(\"check\" TEXT, status TEXT, "
                                "detail TEXT, fix TEXT, options HIDDEN)");
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

static int checkDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* options_json comes as an equality constraint on the hidden column. */
static int checkBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  int i, bSeen = 0;
  DBX_UNUSED(pVtab);
  pInfo->idxNum = 0;
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    if (c->iColumn != COL_OPTIONS) continue;
    bSeen = 1;
    if (c->op == SQLITE_INDEX_CONSTRAINT_EQ && c->usable) {
      pInfo->aConstraintUsage[i].argvIndex = 1;
      pInfo->aConstraintUsage[i].omit = 1;
      pInfo->idxNum = 1;
      break;
    }
  }
  if (bSeen && pInfo->idxNum == 0) return SQLITE_CONSTRAINT;
  pInfo->estimatedCost = 1e6;
  pInfo->estimatedRows = 16;
  return SQLITE_OK;
}

static int checkOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  CheckCursor *p = sqlite3_malloc64(sizeof(*p));
  DBX_UNUSED(pVtab);
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  *ppCur = &p->base;
  return SQLITE_OK;
}

/* Frees n rows of a. */
static void check_rows_free(CheckRow *a, int n) {
  int i;
  for (i = 0; i < n; i++) {
    sqlite3_free(a[i].zDetail);
    sqlite3_free(a[i].zFix);
  }
  sqlite3_free(a);
}

static void checkReset(CheckCursor *p) {
  check_rows_free(p->aRow, p->nRow);
  p->aRow = NULL;
  p->nRow = 0;
  p->iRow = 0;
  dbx_free_secret(p->zOptions); /* may hold a refused secret */
  p->zOptions = NULL;
}

static int checkClose(sqlite3_vtab_cursor *pCur) {
  checkReset((CheckCursor *)pCur);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* xFilter: runs every check, keeping the rows. */
static int checkFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                       const char *idxStr, int argc, sqlite3_value **argv) {
  static const char *const azWhat[] = {"options_json"};
  CheckCursor *pC = (CheckCursor *)pCur;
  CheckVtab *pTab = (CheckVtab *)pCur->pVtab;
  DbxArgsOptions opts;
  DbxError err;
  Check c;
  int rc;
  DBX_UNUSED(idxStr);
  checkReset(pC);
  dbx_error_clear(&err);
  memset(&opts, 0, sizeof(opts));
  memset(&c, 0, sizeof(c));
  c.db = pTab->db;
  c.pSession = pTab->pSession;
  c.o.bCreateTable = 1;
  c.o.bCreateVolume = 1;
  rc = dbx_args_copy(idxNum, 1, argc, argv, azWhat, 1, &pC->zOptions, &err);
  if (rc == SQLITE_OK) {
    rc = dbx_args_options_parse(
        pC->zOptions,
        "{\"table\": \"main.web.events\", \"operation\": \"append\"}",
        DBX_ARGS_STMT, check_member, &c.o, &opts, &err);
  }
  if (rc == SQLITE_OK && c.o.zTable && c.o.zVtab) {
    rc = dbx_error_set(&err, SQLITE_ERROR,
                       "dbx_check: give table (with operation) or vtab, not "
                       "both");
  }
  if (rc == SQLITE_OK && c.o.zOperation && c.o.zVtab) {
    rc = dbx_error_set(&err, SQLITE_ERROR,
                       "dbx_check: the table's definition says its "
                       "operation: give vtab without operation");
  }
  if (rc == SQLITE_OK && c.o.zOperation && !check_role(c.o.zOperation)) {
    rc = dbx_error_set(&err, SQLITE_ERROR,
                       "dbx_check: operation must be read, append, merge or "
                       "changes, not '%s'",
                       c.o.zOperation);
  }
  if (rc == SQLITE_OK && c.o.zOperation && !c.o.zTable) {
    rc = dbx_error_set(&err, SQLITE_ERROR,
                       "dbx_check: operation needs a table: {\"table\": "
                       "\"catalog.schema.table\", \"operation\": \"%s\"}",
                       c.o.zOperation);
  }
  if (rc == SQLITE_OK) {
    int bTarget = c.o.zTable || c.o.zVtab;
    c.pProbe = dbx_probe_open(pTab->db);
    if (check_connection(&c, &opts)) {
      check_warehouse(&c);
      if (bTarget) check_target_all(&c);
    } else {
      check_row(&c, "warehouse", "skip", NULL,
                "no working identity (see "
                "above)");
      check_row(&c, "warehouse_can_use", "skip", NULL,
                "no working identity "
                "(see above)");
      check_row(&c, "select_1", "skip", NULL,
                "no working identity (see "
                "above)");
      if (bTarget) {
        check_target_skip(&c,
                          c.o.zVtab        ? NULL
                          : c.o.zOperation ? c.o.zOperation
                                           : "read",
                          "no working identity (see above)");
      }
    }
    if (c.pClient) dbx_client_set_interrupt(c.pClient, NULL, NULL);
    if (c.bNomem) rc = dbx_error_set(&err, SQLITE_NOMEM, "out of memory");
    if (dbx_probe_interrupted(c.pProbe)) {
      rc = dbx_error_set(&err, SQLITE_INTERRUPT, "interrupted");
    }
  }
  sqlite3_finalize(c.pProbe);
  dbx_config_free(c.pConfig);
  dbx_identity_free(c.pMe);
  dbx_args_options_free(&opts);
  if (rc) {
    check_rows_free(c.aRow, c.nRow);
    return dbx_error_to_vtab(pCur->pVtab, &err);
  }
  pC->aRow = c.aRow;
  pC->nRow = c.nRow;
  pC->iRow = 0;
  return SQLITE_OK;
}

static int checkNext(sqlite3_vtab_cursor *pCur) {
  ((CheckCursor *)pCur)->iRow++;
  return SQLITE_OK;
}

static int checkEof(sqlite3_vtab_cursor *pCur) {
  CheckCursor *p = (CheckCursor *)pCur;
  return p->iRow >= p->nRow;
}

static int checkColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx,
                       int iCol) {
  CheckCursor *p = (CheckCursor *)pCur;
  const CheckRow *r = &p->aRow[p->iRow];
  const char *z = NULL;
  switch (iCol) {
  case COL_CHECK:
    z = r->zCheck;
    break;
  case COL_STATUS:
    z = r->zStatus;
    break;
  case COL_DETAIL:
    z = r->zDetail;
    break;
  case COL_FIX:
    z = r->zFix;
    break;
  case COL_OPTIONS:
    z = p->zOptions;
    break;
  }
  if (z) sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
  return SQLITE_OK;
}

static int checkRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  *pRowid = ((CheckCursor *)pCur)->iRow + 1;
  return SQLITE_OK;
}

/* Eponymous only (no xCreate): dbx_check exists in every schema. */
const sqlite3_module dbx_check_module = {
    .iVersion = 0,
    .xConnect = checkConnect,
    .xBestIndex = checkBestIndex,
    .xDisconnect = checkDisconnect,
    .xOpen = checkOpen,
    .xClose = checkClose,
    .xFilter = checkFilter,
    .xNext = checkNext,
    .xEof = checkEof,
    .xColumn = checkColumn,
    .xRowid = checkRowid,
};
