/*
** grants.h: the Unity Catalog grants a job needs, as SQL text (grants.c),
** part of the "engine" layer.
**
**   GRANT USE CATALOG ON CATALOG `main` TO `etl@example.com`;
**   GRANT USE SCHEMA ON SCHEMA `main`.`web` TO `etl@example.com`;
**   GRANT SELECT ON TABLE `main`.`web`.`events` TO `etl@example.com`;
**   -- the SQL warehouse's CAN USE permission is not granted by SQL: ...
**
** A role is the least set of privileges for one job of the extension
** (reading, reading the change feed, an append commit, a merge commit,
** owning a catalog), kept as rows of one table in grants.c. Given a
** principal, a securable (catalog, catalog.schema or catalog.schema.table)
** and a role, dbx_grants_text() writes one GRANT (or REVOKE) per privilege,
** every name and the principal backticked, then comment lines for the
** warehouse permission, which SQL cannot grant. Pure: no network and no
** sqlite3 values; the SQLite allocator and cJSON only.
*/
#ifndef DBX_GRANTS_H
#define DBX_GRANTS_H

#include "dbx_int.h"

/* What to write: the request of one dbx_grants_sql() / dbx_revoke_sql(). */
typedef struct DbxGrantRequest {
  const char *zPrincipal; /* user e-mail, group name or application id */
  const char *zSecurable; /* catalog[.schema[.table]], parts may be
                          ** `backticked` (a part that holds a dot) */
  const char *zRole;      /* a role of grants.c: reader, appender, ... */
  int bRevoke;            /* REVOKE ... FROM instead of GRANT ... TO */
  /* options (dbx_grants_options): defaults by dbx_grants_request_init */
  int bJson;                  /* a JSON array instead of SQL text */
  int bBrowse;                /* reader: BROWSE on the catalog too */
  int bCreateTable;           /* appender: the table may be created (1) */
  int bCreateVolume;          /* appender, merger: the staging volume may be
                              ** created (1) */
  const char *zStagingVolume; /* catalog.schema.volume, or NULL for the
                              ** target's <catalog>.<schema>._dbx_staging */
  const char *zWarehouse;     /* warehouse id for the comments, or NULL */
  const char *zPrincipalType; /* "user", "group", "service_principal" or
                              ** NULL: guessed from the principal */
  const char *zNote;          /* NULL, or one more comment line (no newline)
                              ** written before the warehouse lines */
  unsigned mGiven;            /* DBX_GRANT_OPT_* bits the options set */
  struct cJSON *pJson;        /* owned: the parsed options (strings above
                              ** borrow from it); dbx_grants_request_free */
} DbxGrantRequest;

/* Bits of DbxGrantRequest.mGiven: the options a request was given. */
#define DBX_GRANT_OPT_BROWSE         0x01
#define DBX_GRANT_OPT_CREATE_TABLE   0x02
#define DBX_GRANT_OPT_CREATE_VOLUME  0x04
#define DBX_GRANT_OPT_STAGING_VOLUME 0x08

/* The staging volume of a target without staging_volume: the name of a
** volume in the target's schema. */
#define DBX_GRANT_DEFAULT_VOLUME "_dbx_staging"

/*
** Makes *p a request with the defaults of every option (SQL text, tables
** and volumes may be created, no BROWSE, the default staging volume, the
** warehouse and the principal's kind unknown) and no names.
*/
void dbx_grants_request_init(DbxGrantRequest *p);

/*
** Reads options_json (NULL or "" is none) into *p: an object with format
** ("sql" or "json"), browse, create_table, create_volume (true/false),
** staging_volume ("catalog.schema.volume"), warehouse (a warehouse id, or
** its HTTP path) and principal_type ("user", "group" or
** "service_principal"). An unknown member is an error naming the known
** ones. Returns SQLITE_OK or an error in pErr; dbx_grants_request_free()
** after either.
*/
int dbx_grants_options(DbxGrantRequest *p, const char *zJson, DbxError *pErr);

/* Frees what *p owns (the parsed options). */
void dbx_grants_request_free(DbxGrantRequest *p);

/*
** The text of the request: one statement a line, each ending in ';', then
** the comment lines (zNote, then the warehouse permission: the REST call
** and the `databricks` CLI command); or with bJson a JSON array of
** {"statement", "privilege", "securable"}, the statement without ';' and
** the securable as the statement names it (SCHEMA `c`.`s`). An unknown
** role lists the roles; a securable the role cannot take (appender on a
** bare catalog, owner on a schema), an option it does not take, and a
** principal or name that is empty or holds a control character are errors
** that say what to give. *pzOut is from sqlite3_malloc. Returns SQLITE_OK
** or an error in pErr.
*/
int dbx_grants_text(const DbxGrantRequest *p, char **pzOut, DbxError *pErr);

/* The most statements one request writes (a role's items). */
#define DBX_GRANT_MAX 12

/* One statement of a request, for a caller that checks or runs them. */
typedef struct DbxGrantListItem {
  const char *zPriv; /* static; SQL spelling: "USE CATALOG", "SELECT" ... */
  const char *zType; /* static; CATALOG, SCHEMA, TABLE or VOLUME */
  char *azName[3];   /* owned; the securable's names, unquoted */
  int nName;         /* parts in azName: 1, 2 or 3 */
  char *zOn;         /* owned; the securable as the statement names it:
                     ** SCHEMA `c`.`s` */
  char *zStatement;  /* owned; GRANT ... TO ... (or REVOKE), no ';' */
} DbxGrantListItem;

/* The statements of a request, in the order dbx_grants_text() writes. */
typedef struct DbxGrantList {
  int nItem;                             /* entries in aItem */
  DbxGrantListItem aItem[DBX_GRANT_MAX]; /* the statements */
} DbxGrantList;

/*
** The statements of the request as a list (the options bJson and zNote
** play no part): what dbx_grants_text() writes, one item a statement,
** with the privilege and the securable apart. Returns SQLITE_OK and
** *ppOut (dbx_grants_list_free), or an error in pErr as
** dbx_grants_text() gives it.
*/
int dbx_grants_list(const DbxGrantRequest *p, DbxGrantList **ppOut,
                    DbxError *pErr);
void dbx_grants_list_free(DbxGrantList *p);

/*
** The member of a warehouse access control entry that names zPrincipal:
** user_name for an e-mail, service_principal_name for an application id
** (a UUID), group_name for anything else; zType ("user", "group",
** "service_principal", or NULL to guess) decides when given. Static text.
*/
const char *dbx_grants_acl_member(const char *zPrincipal, const char *zType);

/* The names of the roles, comma-separated ("reader, changes_reader, ..."):
** static storage. */
const char *dbx_grants_role_names(void);

#endif /* DBX_GRANTS_H */
