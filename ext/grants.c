/*
** grants.c: the Unity Catalog grants of a job, as SQL text (engine layer,
** see grants.h).
**
** A role is a row of aRole: the privileges one job of the extension needs,
** each with the level of the securable it is granted on and the option
** that decides whether it is needed. A new role is a new row; the code
** below only reads the table. What each job needs, and why:
**
**   reader          SELECT on the table, USE CATALOG and USE SCHEMA on its
**                   parents: a databricks table= table or dbx_query() reads
**                   it, and its columns come from the Unity Catalog table
**                   API, which asks the same. BROWSE (option) on the
**                   catalog shows the other objects' metadata.
**   changes_reader  table_changes() and DESCRIBE HISTORY need SELECT on the
**                   table and nothing more: a changes=true table and
**                   dbx_sync() read no other object.
**   appender        an append commit (INSERT into a databricks table,
**                   dbx_export()): CREATE TABLE on the schema when the
**                   table may be created, SELECT and MODIFY on the table
**                   (its columns are read, ADD COLUMNS and COPY INTO write
**                   it), CREATE VOLUME on the staging volume's schema when
**                   the volume may be created, READ VOLUME (COPY INTO reads
**                   the files) and WRITE VOLUME (uploads, deletes) on it.
**   merger          the same, and CREATE TABLE on the table's schema in any
**                   case: a merge commit creates its stage table beside the
**                   target and drops it (which it may, owning it).
**   owner           ALL PRIVILEGES on a catalog dedicated to the extension.
**
** A privilege meant for the table is granted on the schema or the catalog
** when that is all the securable names (SELECT ON SCHEMA covers every
** table of the schema, as Unity Catalog inherits it); a role whose job
** needs a schema (the staging volume lives in one) refuses a bare catalog.
** Every name and the principal are backticked by dbx_sql_ident (a backtick
** doubled), so no input ends a statement, adds one or comments the rest
** out; control characters are refused, so each statement stays one line.
*/
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "grants.h"
#include "sqlgen.h"

/* ---------------------------------------------------------------------
** The roles
*/

/* The securable a privilege is granted on. */
typedef enum GrantOn {
  ON_CATALOG = 1,   /* the target's catalog */
  ON_SCHEMA,        /* the target's schema (its catalog when that is all) */
  ON_TABLE,         /* the target table (its schema or catalog when that is
                    ** all the securable names) */
  ON_STAGE_CATALOG, /* the staging volume's catalog */
  ON_STAGE_SCHEMA,  /* the staging volume's schema */
  ON_VOLUME         /* the staging volume */
} GrantOn;

/* Whether a privilege is needed: always, or when an option says so. */
typedef enum GrantIf {
  IF_ALWAYS = 0,
  IF_BROWSE,        /* browse: true */
  IF_CREATE_TABLE,  /* create_table (default true) */
  IF_CREATE_VOLUME, /* create_volume (default true) */
} GrantIf;

/* One privilege of a role. */
typedef struct GrantItem {
  const char *zPriv; /* SQL spelling; NULL ends the list */
  GrantOn eOn;
  GrantIf eIf;
} GrantItem;

#define GRANT_MAX_ITEM DBX_GRANT_MAX

/* The options that only some roles take. */
#define OPT_STAGE (DBX_GRANT_OPT_CREATE_VOLUME | DBX_GRANT_OPT_STAGING_VOLUME)

/*
** The roles. Items go from the outermost securable in, and a statement
** already written (the staging volume's catalog is most often the
** table's) is not written twice. REVOKE goes in the reverse order.
*/
static const struct GrantRole {
  const char *zName;
  int nMinPart, nMaxPart; /* parts of the securable it takes */
  unsigned mOpt;          /* the DBX_GRANT_OPT_* options it takes */
  const char *zTakes;     /* what the error says it takes */
  const char *zWhy;       /* NULL, or why an option is not taken */
  GrantItem aItem[GRANT_MAX_ITEM];
} aRole[] = {
    {"reader",
     1,
     3,
     DBX_GRANT_OPT_BROWSE,
     "catalog, catalog.schema or catalog.schema.table",
     NULL,
     {{"USE CATALOG", ON_CATALOG, IF_ALWAYS},
      {"BROWSE", ON_CATALOG, IF_BROWSE},
      {"USE SCHEMA", ON_SCHEMA, IF_ALWAYS},
      {"SELECT", ON_TABLE, IF_ALWAYS}}},
    {"changes_reader",
     1,
     3,
     0,
     "catalog, catalog.schema or catalog.schema.table",
     NULL,
     {{"USE CATALOG", ON_CATALOG, IF_ALWAYS},
      {"USE SCHEMA", ON_SCHEMA, IF_ALWAYS},
      {"SELECT", ON_TABLE, IF_ALWAYS}}},
    {"appender",
     2,
     3,
     DBX_GRANT_OPT_CREATE_TABLE | OPT_STAGE,
     "catalog.schema (every table of the schema) or catalog.schema.table",
     NULL,
     {{"USE CATALOG", ON_CATALOG, IF_ALWAYS},
      {"USE CATALOG", ON_STAGE_CATALOG, IF_ALWAYS},
      {"USE SCHEMA", ON_SCHEMA, IF_ALWAYS},
      {"USE SCHEMA", ON_STAGE_SCHEMA, IF_ALWAYS},
      {"CREATE TABLE", ON_SCHEMA, IF_CREATE_TABLE},
      {"CREATE VOLUME", ON_STAGE_SCHEMA, IF_CREATE_VOLUME},
      {"SELECT", ON_TABLE, IF_ALWAYS},
      {"MODIFY", ON_TABLE, IF_ALWAYS},
      {"READ VOLUME", ON_VOLUME, IF_ALWAYS},
      {"WRITE VOLUME", ON_VOLUME, IF_ALWAYS}}},
    {"merger",
     2,
     3,
     OPT_STAGE,
     "catalog.schema (every table of the schema) or catalog.schema.table",
     "a merge creates and drops its stage table in the table's schema, so it "
     "always needs CREATE TABLE",
     {{"USE CATALOG", ON_CATALOG, IF_ALWAYS},
      {"USE CATALOG", ON_STAGE_CATALOG, IF_ALWAYS},
      {"USE SCHEMA", ON_SCHEMA, IF_ALWAYS},
      {"USE SCHEMA", ON_STAGE_SCHEMA, IF_ALWAYS},
      {"CREATE TABLE", ON_SCHEMA, IF_ALWAYS},
      {"CREATE VOLUME", ON_STAGE_SCHEMA, IF_CREATE_VOLUME},
      {"SELECT", ON_TABLE, IF_ALWAYS},
      {"MODIFY", ON_TABLE, IF_ALWAYS},
      {"READ VOLUME", ON_VOLUME, IF_ALWAYS},
      {"WRITE VOLUME", ON_VOLUME, IF_ALWAYS}}},
    {"owner",
     1,
     1,
     0,
     "a catalog alone (ALL PRIVILEGES on a catalog dedicated to this use)",
     NULL,
     {{"ALL PRIVILEGES", ON_CATALOG, IF_ALWAYS}}},
};

const char *dbx_grants_role_names(void) {
  static char zNames[128]; /* the same bytes whoever writes them */
  if (zNames[0] == 0) {
    char zBuf[sizeof(zNames)];
    size_t i, n = 0;
    for (i = 0; i < DBX_ARRAY_SIZE(aRole); i++) {
      n += (size_t)snprintf(zBuf + n, sizeof(zBuf) - n, "%s%s", i ? ", " : "",
                            aRole[i].zName);
    }
    memcpy(zNames, zBuf, sizeof(zNames));
  }
  return zNames;
}

/* The row of aRole named z, or NULL. */
static const struct GrantRole *grant_role(const char *z) {
  size_t i;
  for (i = 0; z && i < DBX_ARRAY_SIZE(aRole); i++) {
    if (strcmp(aRole[i].zName, z) == 0) return &aRole[i];
  }
  return NULL;
}

/* ---------------------------------------------------------------------
** Options
*/

/* The option names of the DBX_GRANT_OPT_* bits, in bit order. */
static const char *const azOptName[] = {"browse", "create_table",
                                        "create_volume", "staging_volume"};

void dbx_grants_request_init(DbxGrantRequest *p) {
  memset(p, 0, sizeof(*p));
  p->bCreateTable = 1;
  p->bCreateVolume = 1;
}

void dbx_grants_request_free(DbxGrantRequest *p) {
  cJSON_Delete(p->pJson);
  p->pJson = NULL;
}

/* Reads a true/false member into *pb. */
static int opt_bool(const cJSON *pItem, int *pb, DbxError *pErr) {
  if (!cJSON_IsBool(pItem)) {
    return dbx_error_set(pErr, SQLITE_ERROR, "option %s must be true or false",
                         pItem->string);
  }
  *pb = cJSON_IsTrue(pItem);
  return SQLITE_OK;
}

/* Reads a string member into *pz (borrowed from the tree). */
static int opt_text(const cJSON *pItem, const char **pz, DbxError *pErr) {
  if (!cJSON_IsString(pItem) || pItem->valuestring[0] == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR, "option %s must be a string",
                         pItem->string);
  }
  *pz = pItem->valuestring;
  return SQLITE_OK;
}

int dbx_grants_options(DbxGrantRequest *p, const char *zJson, DbxError *pErr) {
  cJSON *pItem;
  int rc = SQLITE_OK;
  if (zJson == NULL || zJson[0] == 0) return SQLITE_OK;
  cJSON_Delete(p->pJson);
  p->pJson = cJSON_Parse(zJson);
  if (!cJSON_IsObject(p->pJson)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "options_json must be a JSON object, for example "
                         "{\"format\": \"json\", \"browse\": true}");
  }
  cJSON_ArrayForEach(pItem, p->pJson) {
    const char *zKey = pItem->string;
    if (strcmp(zKey, "format") == 0) {
      const char *z = NULL;
      rc = opt_text(pItem, &z, pErr);
      if (rc == SQLITE_OK && strcmp(z, "sql") && strcmp(z, "json")) {
        rc = dbx_error_set(pErr, SQLITE_ERROR,
                           "option format must be \"sql\" or \"json\"");
      }
      if (rc == SQLITE_OK) p->bJson = strcmp(z, "json") == 0;
    } else if (strcmp(zKey, "browse") == 0) {
      rc = opt_bool(pItem, &p->bBrowse, pErr);
      p->mGiven |= DBX_GRANT_OPT_BROWSE;
    } else if (strcmp(zKey, "create_table") == 0) {
      rc = opt_bool(pItem, &p->bCreateTable, pErr);
      p->mGiven |= DBX_GRANT_OPT_CREATE_TABLE;
    } else if (strcmp(zKey, "create_volume") == 0) {
      rc = opt_bool(pItem, &p->bCreateVolume, pErr);
      p->mGiven |= DBX_GRANT_OPT_CREATE_VOLUME;
    } else if (strcmp(zKey, "staging_volume") == 0) {
      rc = opt_text(pItem, &p->zStagingVolume, pErr);
      p->mGiven |= DBX_GRANT_OPT_STAGING_VOLUME;
    } else if (strcmp(zKey, "warehouse") == 0) {
      rc = opt_text(pItem, &p->zWarehouse, pErr);
    } else if (strcmp(zKey, "principal_type") == 0) {
      const char *z = NULL;
      rc = opt_text(pItem, &z, pErr);
      if (rc == SQLITE_OK && strcmp(z, "user") && strcmp(z, "group") &&
          strcmp(z, "service_principal")) {
        rc = dbx_error_set(pErr, SQLITE_ERROR,
                           "option principal_type must be \"user\", "
                           "\"group\" or \"service_principal\"");
      }
      p->zPrincipalType = z;
    } else {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "unknown option '%s': known options are format, "
                         "browse, create_table, create_volume, "
                         "staging_volume, warehouse, principal_type",
                         zKey);
    }
    if (rc) break;
  }
  return rc;
}

/* ---------------------------------------------------------------------
** Names
*/

/* Whether z holds a control character (a newline would split a statement
** over two lines, and no Unity Catalog name or principal has one). */
static int grant_has_control(const char *z) {
  for (; *z; z++) {
    if ((unsigned char)*z < 0x20 || *z == 0x7f) return 1;
  }
  return 0;
}

/*
** Splits zName (what zWhat calls it) into azPart, between nMin and nMax
** parts, none holding a control character. Returns SQLITE_OK with *pnPart
** set, or an error in pErr saying zForm, the shape wanted.
*/
static int grant_split(const char *zName, const char *zWhat, int nMin, int nMax,
                       const char *zForm, char *azPart[3], int *pnPart,
                       DbxError *pErr) {
  DbxError e;
  int i, rc;
  dbx_error_clear(&e);
  rc = dbx_sql_name_split(zName, azPart, pnPart, &e);
  if (rc == SQLITE_NOMEM) return dbx_error_set(pErr, rc, "out of memory");
  for (i = 0; rc == SQLITE_OK && i < *pnPart; i++) {
    if (grant_has_control(azPart[i])) {
      dbx_sql_name_free(azPart);
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s holds a control character (a newline, a tab, "
                           "...): Unity Catalog names have none",
                           zWhat);
    }
  }
  if (rc || *pnPart < nMin || *pnPart > nMax) {
    if (rc == SQLITE_OK) dbx_sql_name_free(azPart);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s '%s' must be %s, with `backticks` around a "
                         "part that holds a dot",
                         zWhat, zName ? zName : "", zForm);
  }
  return SQLITE_OK;
}

/* Appends the securable text: CATALOG `c`, SCHEMA `c`.`s`, zType `c`.`s`.`t`.
 */
static void grant_securable(DbxBuf *pBuf, char *const *azPart, int nPart,
                            const char *zType) {
  int i;
  dbx_buf_appendf(pBuf, "%s ",
                  nPart == 1   ? "CATALOG"
                  : nPart == 2 ? "SCHEMA"
                               : zType);
  for (i = 0; i < nPart; i++) {
    if (i) dbx_buf_append(pBuf, ".", 1);
    dbx_sql_ident(pBuf, azPart[i]);
  }
}

/* ---------------------------------------------------------------------
** The warehouse permission
*/

/*
** The warehouse id of zWarehouse (an id, or its HTTP path
** /sql/1.0/warehouses/<id>) into zOut, or "<warehouse-id>" when NULL.
** Only letters and digits are taken, since the id goes into a URL path
** and a shell command. Returns SQLITE_OK or an error in pErr.
*/
static int grant_warehouse(const char *zWarehouse, char *zOut, size_t nOut,
                           DbxError *pErr) {
  const char *z = zWarehouse, *p;
  if (z == NULL) {
    snprintf(zOut, nOut, "<warehouse-id>");
    return SQLITE_OK;
  }
  if (strncmp(z, "/sql/1.0/warehouses/", 20) == 0) z += 20;
  for (p = z; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9');
       p++) {
  }
  if (p == z || *p || (size_t)(p - z) >= nOut) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "option warehouse must be a warehouse id (letters "
                         "and digits) or /sql/1.0/warehouses/<id>");
  }
  snprintf(zOut, nOut, "%s", z);
  return SQLITE_OK;
}

/* Whether z is an application id: a UUID, 8-4-4-4-12 hex digits. */
static int grant_is_uuid(const char *z) {
  int i;
  for (i = 0; i < 36; i++) {
    int bDash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = z[i];
    if (bDash ? c != '-'
              : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                  (c >= 'A' && c <= 'F'))) {
      return 0;
    }
  }
  return z[36] == 0;
}

/*
** The member of an access control list entry that names the principal:
** user_name for an e-mail, service_principal_name for an application id,
** group_name for anything else, unless zType says which.
*/
const char *dbx_grants_acl_member(const char *zPrincipal, const char *zType) {
  if (zType) {
    return strcmp(zType, "user") == 0    ? "user_name"
           : strcmp(zType, "group") == 0 ? "group_name"
                                         : "service_principal_name";
  }
  if (strchr(zPrincipal, '@')) return "user_name";
  if (grant_is_uuid(zPrincipal)) return "service_principal_name";
  return "group_name";
}

/* Appends z inside a single-quoted shell word: ' as '\''. */
static void grant_shell(DbxBuf *pBuf, const char *z) {
  for (; *z; z++) {
    if (*z == '\'') {
      dbx_buf_append(pBuf, "'\\''", 4);
    } else {
      dbx_buf_append(pBuf, z, 1);
    }
  }
}

/*
** Appends the comment lines of the warehouse permission, which SQL cannot
** grant: the REST call of the Permissions API and the CLI command.
*/
static void grant_warehouse_lines(DbxBuf *pBuf, const DbxGrantRequest *p,
                                  const char *zId) {
  DbxBuf entry = {0}, body = {0};
  dbx_buf_appendf(&entry, "{\"%s\":",
                  dbx_grants_acl_member(p->zPrincipal, p->zPrincipalType));
  dbx_buf_append_json(&entry, p->zPrincipal, strlen(p->zPrincipal));
  if (!p->bRevoke) {
    dbx_buf_appendf(&entry, ",\"permission_level\":\"CAN_USE\"}");
    dbx_buf_appendf(&body, "{\"access_control_list\":[%s]}",
                    entry.z ? entry.z : "");
    dbx_buf_appendf(pBuf,
                    "-- the SQL warehouse's CAN USE permission is not granted "
                    "by SQL: grant it in the warehouse's Permissions, or with "
                    "the Permissions API or the databricks CLI:\n"
                    "-- PATCH /api/2.0/permissions/warehouses/%s %s\n"
                    "-- databricks permissions update warehouses %s --json '",
                    zId, body.z ? body.z : "", zId);
    grant_shell(pBuf, body.z ? body.z : "");
    dbx_buf_appendf(pBuf, "'\n");
  } else {
    dbx_buf_appendf(&entry, "}");
    dbx_buf_appendf(pBuf,
                    "-- the SQL warehouse's CAN USE permission is not revoked "
                    "by SQL: remove it in the warehouse's Permissions, or "
                    "read the warehouse's access control list, drop the "
                    "entry %s and put the rest back (PUT replaces every "
                    "direct permission):\n"
                    "-- GET /api/2.0/permissions/warehouses/%s, then PUT "
                    "/api/2.0/permissions/warehouses/%s "
                    "{\"access_control_list\":[<the other entries>]}\n"
                    "-- databricks permissions get warehouses %s, then "
                    "databricks permissions set warehouses %s --json "
                    "'{\"access_control_list\":[<the other entries>]}'\n",
                    entry.z ? entry.z : "", zId, zId, zId, zId);
  }
  if (entry.rc || body.rc) pBuf->rc = SQLITE_NOMEM;
  dbx_buf_free(&entry);
  dbx_buf_free(&body);
}

/* ---------------------------------------------------------------------
** The statements
*/

/* One statement to write: a privilege on a securable (owned text). */
typedef struct GrantStmt {
  const char *zPriv;
  char *zOn;
  const char *zType; /* CATALOG, SCHEMA, TABLE or VOLUME */
  char *const *azOn; /* the securable's names (borrowed: azT or azV) */
  int nOn;           /* parts of azOn it names */
} GrantStmt;

/* Whether the role's option bits allow what the request was given; sets
** the error naming the first option the role does not take. */
static int grant_check_options(const struct GrantRole *pRole,
                               const DbxGrantRequest *p, DbxError *pErr) {
  unsigned mBad = p->mGiven & ~pRole->mOpt;
  size_t i;
  for (i = 0; mBad && i < DBX_ARRAY_SIZE(azOptName); i++) {
    if (mBad & (1u << i)) {
      DbxBuf takes = {0};
      size_t j;
      int rc;
      for (j = 0; j < DBX_ARRAY_SIZE(azOptName); j++) {
        if (pRole->mOpt & (1u << j)) {
          dbx_buf_appendf(&takes, "%s%s", takes.n ? ", " : "", azOptName[j]);
        }
      }
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "role %s does not take option %s%s%s%s%s%s",
                         pRole->zName, azOptName[i], pRole->zWhy ? " (" : "",
                         pRole->zWhy ? pRole->zWhy : "", pRole->zWhy ? ")" : "",
                         takes.n ? ": it takes " : "", takes.n ? takes.z : "");
      dbx_buf_free(&takes);
      return rc;
    }
  }
  return SQLITE_OK;
}

/* Whether the item's condition holds for the request. */
static int grant_wanted(const GrantItem *pItem, const DbxGrantRequest *p) {
  switch (pItem->eIf) {
  case IF_BROWSE:
    return p->bBrowse;
  case IF_CREATE_TABLE:
    return p->bCreateTable;
  case IF_CREATE_VOLUME:
    return p->bCreateVolume;
  default:
    return 1;
  }
}

/* Appends one statement as SQL text (with ';' and a newline) or as a
** JSON object (bFirst: no comma before it). */
static void grant_write(DbxBuf *pOut, const DbxGrantRequest *p,
                        const GrantStmt *s, const char *zWho, int bFirst) {
  DbxBuf stmt = {0};
  dbx_buf_appendf(&stmt, "%s %s ON %s %s %s", p->bRevoke ? "REVOKE" : "GRANT",
                  s->zPriv, s->zOn, p->bRevoke ? "FROM" : "TO", zWho);
  if (stmt.rc) {
    pOut->rc = SQLITE_NOMEM;
  } else if (p->bJson) {
    dbx_buf_appendf(pOut, "%s{\"statement\":", bFirst ? "" : ",");
    dbx_buf_append_json(pOut, stmt.z, stmt.n);
    dbx_buf_appendf(pOut, ",\"privilege\":\"%s\",\"securable\":", s->zPriv);
    dbx_buf_append_json(pOut, s->zOn, strlen(s->zOn));
    dbx_buf_append(pOut, "}", 1);
  } else {
    dbx_buf_appendf(pOut, "%s;\n", stmt.z);
  }
  dbx_buf_free(&stmt);
}

/* The statements of one request, built by grant_build(). */
typedef struct GrantPlan {
  char *azT[3];                    /* owned; the securable's names */
  char *azV[3];                    /* owned; the staging volume's names */
  int nT, nV;                      /* parts in azT, azV */
  int bVolume;                     /* the role uses the staging volume */
  GrantStmt aStmt[GRANT_MAX_ITEM]; /* the statements, in the role's order */
  int nStmt;                       /* entries in aStmt */
  char zId[72];                    /* the warehouse id of the comments */
} GrantPlan;

/* Frees what a GrantPlan owns. */
static void grant_plan_free(GrantPlan *g) {
  int i;
  for (i = 0; i < g->nStmt; i++)
    sqlite3_free(g->aStmt[i].zOn);
  g->nStmt = 0;
  dbx_sql_name_free(g->azT);
  dbx_sql_name_free(g->azV);
}

/*
** Checks the request and fills *g (zeroed by the caller) with the
** statements it asks for. Returns SQLITE_OK or an error in pErr;
** grant_plan_free(g) after either.
*/
static int grant_build(const DbxGrantRequest *p, GrantPlan *g, DbxError *pErr) {
  const struct GrantRole *pRole = grant_role(p->zRole);
  char **azT = g->azT, **azV = g->azV;
  GrantStmt *aStmt = g->aStmt;
  int i, j, rc;
  if (pRole == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "unknown role '%s': give one of %s",
                         p->zRole ? p->zRole : "", dbx_grants_role_names());
  }
  if (p->zPrincipal == NULL || p->zPrincipal[0] == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "give a principal: a user's e-mail, a group's name "
                         "or a service principal's application id");
  }
  if (grant_has_control(p->zPrincipal)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "the principal holds a control character (a "
                         "newline, a tab, ...): Databricks principals have "
                         "none");
  }
  rc = grant_check_options(pRole, p, pErr);
  if (rc == SQLITE_OK)
    rc = grant_warehouse(p->zWarehouse, g->zId, sizeof(g->zId), pErr);
  if (rc) return rc;
  rc = grant_split(p->zSecurable, "securable", 1, 3,
                   "catalog, catalog.schema or catalog.schema.table", azT,
                   &g->nT, pErr);
  if (rc) return rc;
  if (g->nT < pRole->nMinPart || g->nT > pRole->nMaxPart) {
    return dbx_error_set(pErr, SQLITE_ERROR, "role %s takes %s, not '%s'",
                         pRole->zName, pRole->zTakes, p->zSecurable);
  }
  for (i = 0; i < GRANT_MAX_ITEM && pRole->aItem[i].zPriv; i++) {
    if (pRole->aItem[i].eOn >= ON_STAGE_CATALOG) g->bVolume = 1;
  }
  if (g->bVolume && p->zStagingVolume) {
    rc = grant_split(p->zStagingVolume, "staging_volume", 3, 3,
                     "catalog.schema.volume", azV, &g->nV, pErr);
  } else if (g->bVolume) {
    azV[0] = dbx_strdup(azT[0]);
    azV[1] = dbx_strdup(azT[1]);
    azV[2] = dbx_strdup(DBX_GRANT_DEFAULT_VOLUME);
    g->nV = 3;
    if (!azV[0] || !azV[1] || !azV[2]) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }

  /* the statements, in the role's order, each once */
  for (i = 0; rc == SQLITE_OK && i < GRANT_MAX_ITEM && pRole->aItem[i].zPriv;
       i++) {
    const GrantItem *pItem = &pRole->aItem[i];
    DbxBuf on = {0};
    char *const *azOn = azT;
    const char *zType = "TABLE";
    int nOn = g->nT;
    if (!grant_wanted(pItem, p)) continue;
    switch (pItem->eOn) {
    case ON_CATALOG:
      nOn = 1;
      break;
    case ON_SCHEMA:
      nOn = g->nT < 2 ? g->nT : 2;
      break;
    case ON_TABLE:
      break;
    case ON_STAGE_CATALOG:
      azOn = azV;
      nOn = 1;
      break;
    case ON_STAGE_SCHEMA:
      azOn = azV;
      nOn = 2;
      break;
    case ON_VOLUME:
      azOn = azV;
      nOn = 3;
      zType = "VOLUME";
      break;
    }
    grant_securable(&on, azOn, nOn, zType);
    if (on.rc) {
      dbx_buf_free(&on);
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      break;
    }
    for (j = 0; j < g->nStmt; j++) {
      if (strcmp(aStmt[j].zPriv, pItem->zPriv) == 0 &&
          strcmp(aStmt[j].zOn, on.z) == 0) {
        break;
      }
    }
    if (j < g->nStmt) {
      dbx_buf_free(&on);
      continue;
    }
    aStmt[g->nStmt].zPriv = pItem->zPriv;
    aStmt[g->nStmt].zType = nOn == 1 ? "CATALOG" : nOn == 2 ? "SCHEMA" : zType;
    aStmt[g->nStmt].azOn = azOn;
    aStmt[g->nStmt].nOn = nOn;
    aStmt[g->nStmt++].zOn = dbx_buf_take(&on);
  }
  return rc;
}

int dbx_grants_text(const DbxGrantRequest *p, char **pzOut, DbxError *pErr) {
  GrantPlan g;
  DbxBuf out = {0}, who = {0};
  int i, rc;
  *pzOut = NULL;
  memset(&g, 0, sizeof(g));
  rc = grant_build(p, &g, pErr);

  /* the text */
  if (rc == SQLITE_OK) {
    dbx_sql_ident(&who, p->zPrincipal);
    if (p->bJson) dbx_buf_append(&out, "[", 1);
    for (i = 0; i < g.nStmt; i++) {
      int k = p->bRevoke ? g.nStmt - 1 - i : i;
      grant_write(&out, p, &g.aStmt[k], who.z ? who.z : "", i == 0);
    }
    if (p->bJson) {
      dbx_buf_append(&out, "]", 1);
    } else {
      if (p->zNote) dbx_buf_appendf(&out, "-- %s\n", p->zNote);
      if (!p->bRevoke && g.bVolume &&
          ((g.nT == 3 && p->bCreateTable) || p->bCreateVolume)) {
        dbx_buf_appendf(&out,
                        "-- a GRANT ON TABLE or ON VOLUME fails while the "
                        "object does not exist: an object the principal "
                        "creates itself is its own and needs no grant\n");
      }
      grant_warehouse_lines(&out, p, g.zId);
      if (out.n && out.z[out.n - 1] == '\n') out.z[--out.n] = 0;
    }
    if (out.rc || who.rc) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    } else {
      *pzOut = dbx_buf_take(&out);
    }
  }
  grant_plan_free(&g);
  dbx_buf_free(&out);
  dbx_buf_free(&who);
  return rc;
}

/* ---------------------------------------------------------------------
** The statements as a list, for callers that check or run them
*/

void dbx_grants_list_free(DbxGrantList *p) {
  int i;
  if (p == NULL) return;
  for (i = 0; i < p->nItem; i++) {
    sqlite3_free(p->aItem[i].zStatement);
    sqlite3_free(p->aItem[i].zOn);
    dbx_sql_name_free(p->aItem[i].azName);
  }
  sqlite3_free(p);
}

int dbx_grants_list(const DbxGrantRequest *p, DbxGrantList **ppOut,
                    DbxError *pErr) {
  GrantPlan g;
  DbxGrantList *pList = NULL;
  DbxBuf who = {0};
  int i, k, rc;
  *ppOut = NULL;
  memset(&g, 0, sizeof(g));
  rc = grant_build(p, &g, pErr);
  if (rc == SQLITE_OK) {
    dbx_sql_ident(&who, p->zPrincipal);
    pList = sqlite3_malloc64(sizeof(*pList));
    if (pList == NULL || who.rc) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    } else {
      memset(pList, 0, sizeof(*pList));
    }
  }
  for (i = 0; rc == SQLITE_OK && i < g.nStmt; i++) {
    const GrantStmt *s = &g.aStmt[p->bRevoke ? g.nStmt - 1 - i : i];
    DbxGrantListItem *pItem = &pList->aItem[pList->nItem++];
    DbxBuf stmt = {0};
    dbx_buf_appendf(&stmt, "%s %s ON %s %s %s", p->bRevoke ? "REVOKE" : "GRANT",
                    s->zPriv, s->zOn, p->bRevoke ? "FROM" : "TO", who.z);
    pItem->zPriv = s->zPriv;
    pItem->zType = s->zType;
    pItem->nName = s->nOn;
    pItem->zStatement = dbx_buf_take(&stmt);
    pItem->zOn = dbx_strdup(s->zOn);
    for (k = 0; k < s->nOn; k++) {
      pItem->azName[k] = dbx_strdup(s->azOn[k]);
      if (pItem->azName[k] == NULL) rc = SQLITE_NOMEM;
    }
    if (rc || pItem->zStatement == NULL || pItem->zOn == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  if (rc == SQLITE_OK) {
    *ppOut = pList;
  } else {
    dbx_grants_list_free(pList);
  }
  grant_plan_free(&g);
  dbx_buf_free(&who);
  return rc;
}
