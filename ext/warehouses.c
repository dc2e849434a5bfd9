/*
** warehouses.c: a SQL warehouse, its permissions, and who the caller is
** (see warehouses.h).
**
**   SELECT * FROM dbx_check();                       -- reads all three
**   SELECT dbx_warehouse_grant('abc123', 'etl@example.com');  -- PATCH
**
** Each reply is checked before it is used: a member of the wrong type, a
** name too long for its buffer or an unknown permission level is an error
** naming the call and saying the host may not be a Databricks workspace.
*/
#include <stdio.h>
#include <string.h>

#include "warehouses.h"

/* The permission levels of a warehouse (spec 4.4). */
static const char *const azLevel[] = {"CAN_USE", "CAN_MONITOR", "CAN_VIEW",
                                      "CAN_MANAGE", "IS_OWNER"};

/* The members that name the principal of an access control entry. */
static const char *const azKind[] = {"user_name", "group_name",
                                     "service_principal_name"};

int dbx_warehouse_level_ok(const char *zLevel) {
  size_t i;
  for (i = 0; zLevel && i < DBX_ARRAY_SIZE(azLevel); i++) {
    if (strcmp(zLevel, azLevel[i]) == 0) return 1;
  }
  return 0;
}

/* Records that zCall answered something of the wrong shape (zWhat). */
static int bad_reply(DbxError *pErr, const char *zCall, const char *zWhat) {
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "%s answered %s: check that the host is a Databricks "
                       "workspace",
                       zCall, zWhat);
}

/*
** Reads the optional string member zKey of pObj into *pz (borrowed; NULL
** when absent or null). Returns 0, or 1 when it is there but not a string.
*/
static int opt_string(const cJSON *pObj, const char *zKey, const char **pz) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(pObj, zKey);
  *pz = NULL;
  if (v == NULL || cJSON_IsNull(v)) return 0;
  if (!cJSON_IsString(v) || v->valuestring == NULL) return 1;
  *pz = v->valuestring;
  return 0;
}

int dbx_warehouse_id(const char *zWarehouse, char *zOut, size_t nOut,
                     DbxError *pErr) {
  const char *z = zWarehouse ? zWarehouse : "", *p;
  if (strncmp(z, "/sql/1.0/warehouses/", 20) == 0) z += 20;
  for (p = z; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9');
       p++) {
  }
  if (p == z || *p || (size_t)(p - z) >= nOut) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "'%.80s' is not a warehouse id: give the id (letters "
                         "and digits) or the HTTP path /sql/1.0/warehouses/"
                         "<id> of the warehouse's Connection details",
                         zWarehouse ? zWarehouse : "");
  }
  snprintf(zOut, nOut, "%s", z);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** The warehouse
*/

int dbx_warehouse_parse(const cJSON *pBody, const char *zId,
                        DbxWarehouseInfo *pOut, DbxError *pErr) {
  static const char zCall[] = "GET /api/2.0/sql/warehouses";
  const char *zGotId = NULL, *zName = NULL, *zState = NULL;
  memset(pOut, 0, sizeof(*pOut));
  if (!cJSON_IsObject(pBody)) {
    return bad_reply(pErr, zCall, "something that is not a JSON object");
  }
  if (opt_string(pBody, "id", &zGotId) || opt_string(pBody, "name", &zName) ||
      opt_string(pBody, "state", &zState)) {
    return bad_reply(pErr, zCall, "an id, name or state that is not text");
  }
  if (zGotId && strcmp(zGotId, zId) != 0) {
    return bad_reply(pErr, zCall, "for another warehouse than the one asked");
  }
  if ((zName && strlen(zName) >= sizeof(pOut->zName)) ||
      (zState && strlen(zState) >= sizeof(pOut->zState))) {
    return bad_reply(pErr, zCall, "a name or state too long to be one");
  }
  snprintf(pOut->zId, sizeof(pOut->zId), "%s", zId);
  snprintf(pOut->zName, sizeof(pOut->zName), "%s", zName ? zName : "");
  snprintf(pOut->zState, sizeof(pOut->zState), "%s", zState ? zState : "");
  return SQLITE_OK;
}

int dbx_warehouse_get(DbxClient *pClient, const char *zId,
                      DbxWarehouseInfo *pOut, DbxError *pErr) {
  char zPath[128];
  cJSON *pBody = NULL;
  int rc;
  memset(pOut, 0, sizeof(*pOut));
  rc = dbx_warehouse_id(zId, pOut->zId, sizeof(pOut->zId), pErr);
  if (rc) return rc;
  snprintf(zPath, sizeof(zPath), "/api/2.0/sql/warehouses/%s", pOut->zId);
  rc = dbx_client_call(pClient, "GET", zPath, NULL, &pBody, pErr);
  if (rc == SQLITE_OK) {
    char zCopy[64];
    snprintf(zCopy, sizeof(zCopy), "%s", pOut->zId);
    rc = dbx_warehouse_parse(pBody, zCopy, pOut, pErr);
  }
  cJSON_Delete(pBody);
  return rc;
}

/* ---------------------------------------------------------------------
** Its access control list
*/

void dbx_acl_free(DbxAcl *p) {
  int i;
  if (p == NULL) return;
  for (i = 0; i < p->nEntry; i++) {
    sqlite3_free(p->aEntry[i].zName);
    sqlite3_free(p->aEntry[i].zLevels);
    sqlite3_free(p->aEntry[i].zJson);
  }
  sqlite3_free(p->aEntry);
  sqlite3_free(p);
}

/* Reads one access control entry into *e. Returns SQLITE_OK or an error. */
static int acl_entry(const cJSON *pItem, DbxAclEntry *e, DbxError *pErr) {
  static const char zCall[] = "GET /api/2.0/permissions/warehouses";
  const cJSON *pPerms, *pPerm;
  const char *zName = NULL;
  DbxBuf levels = {0};
  char *zJson;
  size_t i;
  if (!cJSON_IsObject(pItem)) {
    return bad_reply(pErr, zCall,
                     "an access control entry that is not an "
                     "object");
  }
  for (i = 0; i < DBX_ARRAY_SIZE(azKind) && zName == NULL; i++) {
    if (opt_string(pItem, azKind[i], &zName)) {
      return bad_reply(pErr, zCall, "a principal name that is not text");
    }
    if (zName) e->zKind = azKind[i];
  }
  if (zName == NULL || zName[0] == 0) {
    return bad_reply(pErr, zCall,
                     "an access control entry without a "
                     "principal");
  }
  pPerms = cJSON_GetObjectItemCaseSensitive(pItem, "all_permissions");
  if (pPerms && !cJSON_IsNull(pPerms) && !cJSON_IsArray(pPerms)) {
    return bad_reply(pErr, zCall, "all_permissions that is not a list");
  }
  cJSON_ArrayForEach(pPerm, pPerms) {
    const char *zLevel = NULL;
    if (!cJSON_IsObject(pPerm) ||
        opt_string(pPerm, "permission_level", &zLevel) || zLevel == NULL) {
      dbx_buf_free(&levels);
      return bad_reply(pErr, zCall, "a permission without a level");
    }
    if (!dbx_warehouse_level_ok(zLevel)) {
      dbx_buf_free(&levels);
      return bad_reply(pErr, zCall, "an unknown permission level");
    }
    dbx_buf_appendf(&levels, "%s%s", levels.n ? "," : "", zLevel);
    if (strcmp(zLevel, "CAN_USE") == 0 || strcmp(zLevel, "CAN_MANAGE") == 0 ||
        strcmp(zLevel, "IS_OWNER") == 0) {
      e->bCanUse = 1;
    }
  }
  dbx_buf_append(&levels, "", 0);
  e->zName = dbx_strdup(zName);
  e->zLevels = dbx_buf_take(&levels);
  zJson = cJSON_PrintUnformatted(pItem);
  e->zJson = zJson ? dbx_strdup(zJson) : NULL;
  cJSON_free(zJson);
  if (!e->zName || !e->zLevels || !e->zJson) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  return SQLITE_OK;
}

int dbx_acl_parse(const cJSON *pBody, DbxAcl **ppOut, DbxError *pErr) {
  const cJSON *pList, *pItem;
  DbxAcl *p;
  int n, rc = SQLITE_OK;
  *ppOut = NULL;
  pList = cJSON_GetObjectItemCaseSensitive(pBody, "access_control_list");
  if (!cJSON_IsObject(pBody) ||
      (pList && !cJSON_IsNull(pList) && !cJSON_IsArray(pList))) {
    return bad_reply(pErr, "GET /api/2.0/permissions/warehouses",
                     "an access control list that is not a list");
  }
  n = cJSON_GetArraySize(pList);
  p = sqlite3_malloc64(sizeof(*p));
  if (p) {
    memset(p, 0, sizeof(*p));
    p->aEntry = sqlite3_malloc64(sizeof(DbxAclEntry) * (sqlite3_uint64)(n + 1));
  }
  if (p == NULL || p->aEntry == NULL) {
    dbx_acl_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  cJSON_ArrayForEach(pItem, pList) {
    DbxAclEntry *e = &p->aEntry[p->nEntry++];
    memset(e, 0, sizeof(*e));
    rc = acl_entry(pItem, e, pErr);
    if (rc) break;
  }
  if (rc) {
    dbx_acl_free(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

const DbxAclEntry *dbx_acl_find(const DbxAcl *p, const char *zPrincipal) {
  int i;
  for (i = 0; p && i < p->nEntry; i++) {
    const char *z = p->aEntry[i].zName;
    if (strcmp(z, zPrincipal) == 0 ||
        (strchr(z, '@') && sqlite3_stricmp(z, zPrincipal) == 0)) {
      return &p->aEntry[i];
    }
  }
  return NULL;
}

int dbx_warehouse_acl_get(DbxClient *pClient, const char *zId, DbxAcl **ppOut,
                          DbxError *pErr) {
  char zPath[128], zWh[64];
  cJSON *pBody = NULL;
  int rc;
  *ppOut = NULL;
  rc = dbx_warehouse_id(zId, zWh, sizeof(zWh), pErr);
  if (rc) return rc;
  snprintf(zPath, sizeof(zPath), "/api/2.0/permissions/warehouses/%s", zWh);
  rc = dbx_client_call(pClient, "GET", zPath, NULL, &pBody, pErr);
  if (rc == SQLITE_OK) rc = dbx_acl_parse(pBody, ppOut, pErr);
  cJSON_Delete(pBody);
  return rc;
}

int dbx_warehouse_acl_patch(DbxClient *pClient, const char *zId,
                            const char *zKind, const char *zPrincipal,
                            const char *zLevel, DbxAcl **ppOut,
                            DbxError *pErr) {
  char zPath[128], zWh[64];
  cJSON *pReq = NULL, *pList, *pEntry, *pBody = NULL;
  int rc;
  *ppOut = NULL;
  rc = dbx_warehouse_id(zId, zWh, sizeof(zWh), pErr);
  if (rc) return rc;
  if (!dbx_warehouse_level_ok(zLevel)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "unknown warehouse permission level '%.40s': give "
                         "CAN_USE, CAN_MONITOR, CAN_VIEW, CAN_MANAGE or "
                         "IS_OWNER",
                         zLevel ? zLevel : "");
  }
  snprintf(zPath, sizeof(zPath), "/api/2.0/permissions/warehouses/%s", zWh);
  pReq = cJSON_CreateObject();
  pList = cJSON_AddArrayToObject(pReq, "access_control_list");
  pEntry = cJSON_CreateObject();
  if (pList == NULL || pEntry == NULL || !cJSON_AddItemToArray(pList, pEntry)) {
    cJSON_Delete(pEntry);
    cJSON_Delete(pReq);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  if (!cJSON_AddStringToObject(pEntry, zKind, zPrincipal) ||
      !cJSON_AddStringToObject(pEntry, "permission_level", zLevel)) {
    cJSON_Delete(pReq);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  rc = dbx_client_call(pClient, "PATCH", zPath, pReq, &pBody, pErr);
  cJSON_Delete(pReq);
  if (rc == SQLITE_OK) rc = dbx_acl_parse(pBody, ppOut, pErr);
  cJSON_Delete(pBody);
  return rc;
}

/* ---------------------------------------------------------------------
** SCIM Me
*/

void dbx_identity_free(DbxIdentity *p) {
  int i;
  if (p == NULL) return;
  sqlite3_free(p->zUserName);
  sqlite3_free(p->zApplicationId);
  sqlite3_free(p->zDisplayName);
  for (i = 0; i < p->nGroup; i++)
    sqlite3_free(p->azGroup[i]);
  sqlite3_free(p->azGroup);
  sqlite3_free(p);
}

int dbx_identity_parse(const cJSON *pBody, DbxIdentity **ppOut,
                       DbxError *pErr) {
  static const char zCall[] = "GET /api/2.0/preview/scim/v2/Me";
  const char *zUser = NULL, *zApp = NULL, *zDisplay = NULL;
  const cJSON *pGroups, *pGroup;
  DbxIdentity *p;
  int n;
  *ppOut = NULL;
  if (!cJSON_IsObject(pBody)) {
    return bad_reply(pErr, zCall, "something that is not a JSON object");
  }
  if (opt_string(pBody, "userName", &zUser) ||
      opt_string(pBody, "applicationId", &zApp) ||
      opt_string(pBody, "displayName", &zDisplay)) {
    return bad_reply(pErr, zCall,
                     "a userName, applicationId or displayName "
                     "that is not text");
  }
  if (zUser == NULL) zUser = zApp;
  if (zUser == NULL || zUser[0] == 0 || strlen(zUser) > 1024) {
    return bad_reply(pErr, zCall, "no userName");
  }
  pGroups = cJSON_GetObjectItemCaseSensitive(pBody, "groups");
  if (pGroups && !cJSON_IsNull(pGroups) && !cJSON_IsArray(pGroups)) {
    return bad_reply(pErr, zCall, "groups that are not a list");
  }
  n = cJSON_GetArraySize(pGroups);
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  p->azGroup = sqlite3_malloc64(sizeof(char *) * (sqlite3_uint64)(n + 1));
  p->zUserName = dbx_strdup(zUser);
  p->zApplicationId = zApp && zApp[0] ? dbx_strdup(zApp) : NULL;
  p->zDisplayName = dbx_strdup(zDisplay ? zDisplay : "");
  if (!p->azGroup || !p->zUserName || !p->zDisplayName ||
      (zApp && zApp[0] && !p->zApplicationId)) {
    dbx_identity_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  cJSON_ArrayForEach(pGroup, pGroups) {
    const char *zName = NULL;
    if (!cJSON_IsObject(pGroup) || opt_string(pGroup, "display", &zName)) {
      dbx_identity_free(p);
      return bad_reply(pErr, zCall, "a group that is not {\"display\": ...}");
    }
    if (zName == NULL || zName[0] == 0) continue;
    if ((p->azGroup[p->nGroup] = dbx_strdup(zName)) == NULL) {
      dbx_identity_free(p);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    p->nGroup++;
  }
  *ppOut = p;
  return SQLITE_OK;
}

int dbx_identity_me(DbxClient *pClient, DbxIdentity **ppOut, DbxError *pErr) {
  cJSON *pBody = NULL;
  int rc;
  *ppOut = NULL;
  rc = dbx_client_call(pClient, "GET", "/api/2.0/preview/scim/v2/Me", NULL,
                       &pBody, pErr);
  if (rc == SQLITE_OK) rc = dbx_identity_parse(pBody, ppOut, pErr);
  cJSON_Delete(pBody);
  return rc;
}

const char *dbx_identity_name(const DbxIdentity *p) {
  return p->zApplicationId ? p->zApplicationId : p->zUserName;
}

int dbx_identity_is(const DbxIdentity *p, const char *zPrincipal) {
  int i;
  if (zPrincipal == NULL) return 0;
  if (strcmp(zPrincipal, p->zUserName) == 0) return 1;
  if (strchr(zPrincipal, '@') && sqlite3_stricmp(zPrincipal, p->zUserName) == 0)
    return 1;
  if (p->zApplicationId && strcmp(zPrincipal, p->zApplicationId) == 0) return 1;
  for (i = 0; i < p->nGroup; i++) {
    if (strcmp(zPrincipal, p->azGroup[i]) == 0) return 1;
  }
  return 0;
}
