/*
** warehouses.h: the workspace REST calls around a SQL warehouse and the
** caller's identity (warehouses.c), part of the "api clients" layer.
**
**   GET   /api/2.0/sql/warehouses/{id}              exists, name, state
**   GET   /api/2.0/permissions/warehouses/{id}      its access control list
**   PATCH /api/2.0/permissions/warehouses/{id}      adds a permission
**   GET   /api/2.0/preview/scim/v2/Me               who the token is
**
** Every reply is checked member by member (types, sizes) before use: a
** reply of the wrong shape is an error naming the call, never a crash or
** a guess. Calls go through the workspace client (client.h). Serves
** dbx_check() and dbx_warehouse_grant().
*/
#ifndef DBX_WAREHOUSES_H
#define DBX_WAREHOUSES_H

#include "client.h"
#include "dbx_int.h"

/* A SQL warehouse, as far as a preflight needs it. */
typedef struct DbxWarehouseInfo {
  char zId[64];    /* id as sent */
  char zName[256]; /* name, or "" when not sent */
  char zState[32]; /* STARTING, RUNNING, STOPPING, STOPPED, DELETING,
                   ** DELETED, or "" when not sent */
} DbxWarehouseInfo;

/*
** Checks a warehouse id (or its HTTP path /sql/1.0/warehouses/<id>) and
** writes the id into zOut[nOut]: letters and digits only, since it goes
** into URL paths. Returns SQLITE_OK or an error in pErr.
*/
int dbx_warehouse_id(const char *zWarehouse, char *zOut, size_t nOut,
                     DbxError *pErr);

/*
** GET /api/2.0/sql/warehouses/{zId} into *pOut. Returns SQLITE_OK, or an
** error in pErr: 404 and 403 keep their status (a warehouse the caller
** has no permission on answers 403 or 404); a reply of the wrong shape is
** an error.
*/
int dbx_warehouse_get(DbxClient *pClient, const char *zId,
                      DbxWarehouseInfo *pOut, DbxError *pErr);

/* Reads a warehouse reply (split out for unit tests). */
int dbx_warehouse_parse(const cJSON *pBody, const char *zId,
                        DbxWarehouseInfo *pOut, DbxError *pErr);

/* One entry of a warehouse's access control list. */
typedef struct DbxAclEntry {
  const char *zKind; /* static; user_name, group_name or
                     ** service_principal_name */
  char *zName;       /* owned; the principal */
  char *zLevels;     /* owned; its levels, comma-separated ("CAN_USE") */
  int bCanUse;       /* a level that runs statements: CAN_USE, CAN_MANAGE,
                     ** IS_OWNER */
  char *zJson;       /* owned; the entry as JSON text */
} DbxAclEntry;

/* A warehouse's access control list. */
typedef struct DbxAcl {
  int nEntry;          /* entries in aEntry */
  DbxAclEntry *aEntry; /* owned */
} DbxAcl;

/*
** GET /api/2.0/permissions/warehouses/{zId} (reading it needs CAN_MANAGE)
** into *ppOut (dbx_acl_free). Returns SQLITE_OK or an error in pErr (403
** and 404 keep their status).
*/
int dbx_warehouse_acl_get(DbxClient *pClient, const char *zId, DbxAcl **ppOut,
                          DbxError *pErr);

/*
** PATCH /api/2.0/permissions/warehouses/{zId} with one entry: zKind
** (user_name, group_name or service_principal_name) = zPrincipal at level
** zLevel (CAN_USE, CAN_MONITOR, CAN_VIEW, CAN_MANAGE or IS_OWNER, checked
** here). *ppOut (dbx_acl_free) is the list the server answers with.
** Returns SQLITE_OK or an error in pErr.
*/
int dbx_warehouse_acl_patch(DbxClient *pClient, const char *zId,
                            const char *zKind, const char *zPrincipal,
                            const char *zLevel, DbxAcl **ppOut, DbxError *pErr);

/* Reads an access control list reply (split out for unit tests). */
int dbx_acl_parse(const cJSON *pBody, DbxAcl **ppOut, DbxError *pErr);
void dbx_acl_free(DbxAcl *p);

/*
** The entry of zPrincipal in p (an exact match of the name, ASCII case
** ignored for e-mails), or NULL.
*/
const DbxAclEntry *dbx_acl_find(const DbxAcl *p, const char *zPrincipal);

/* Whether zLevel is a warehouse permission level (upper case). */
int dbx_warehouse_level_ok(const char *zLevel);

/* The identity a token maps to (SCIM Me). */
typedef struct DbxIdentity {
  char *zUserName;      /* owned; userName (a user's e-mail; a service
                        ** principal's application id), never NULL */
  char *zApplicationId; /* owned; applicationId of a service principal,
                        ** or NULL */
  char *zDisplayName;   /* owned; displayName, or "" */
  int nGroup;           /* entries in azGroup */
  char **azGroup;       /* owned; display names of its groups */
} DbxIdentity;

/*
** GET /api/2.0/preview/scim/v2/Me into *ppOut (dbx_identity_free).
** Returns SQLITE_OK or an error in pErr (401/403 keep their status).
*/
int dbx_identity_me(DbxClient *pClient, DbxIdentity **ppOut, DbxError *pErr);

/* Reads a SCIM Me reply (split out for unit tests). */
int dbx_identity_parse(const cJSON *pBody, DbxIdentity **ppOut, DbxError *pErr);
void dbx_identity_free(DbxIdentity *p);

/* The name grants use for the identity: its application id, else its
** userName (borrowed). */
const char *dbx_identity_name(const DbxIdentity *p);

/* Whether zPrincipal is the identity or one of its groups. */
int dbx_identity_is(const DbxIdentity *p, const char *zPrincipal);

#endif /* DBX_WAREHOUSES_H */
