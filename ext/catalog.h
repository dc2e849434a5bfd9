/*
** catalog.h: the Unity Catalog REST client (catalog.c).
**
** What the `databricks` virtual table needs to know about a remote table
** before it can declare its columns: GET /api/2.1/unity-catalog/tables/
** {catalog.schema.table} through the workspace client (client.h), reduced
** to the column list.
**
** And the list calls behind the discovery functions (dbx_catalogs() ...):
** GET /api/2.1/unity-catalog/{catalogs,schemas,tables,volumes}, read one
** page at a time, every entry checked before it is handed out.
*/
#ifndef DBX_CATALOG_H
#define DBX_CATALOG_H

#include "client.h"
#include "dbx_int.h"

/* One column of a Unity Catalog table. */
typedef struct DbxTableColumn {
  char *zName;     /* owned; column name */
  char *zTypeText; /* owned; type_text as sent, e.g. "decimal(10,2)" */
  char *zTypeName; /* owned; UC type_name (LONG, STRING, ...), "" if absent */
  int bNullable;   /* nullable (default true) */
} DbxTableColumn;

/* A Unity Catalog table, as far as reading it is concerned. */
typedef struct DbxTableInfo {
  char *zFullName;      /* owned; catalog.schema.table as UC spells it */
  char *zTableType;     /* owned; MANAGED, EXTERNAL, VIEW, ... or "" */
  int nCol;             /* columns in aCol */
  DbxTableColumn *aCol; /* owned; ordered by position */
} DbxTableInfo;

/*
** Looks up table zCatalog.zSchema.zTable (unquoted names). Returns SQLITE_OK
** and *ppOut (free with dbx_catalog_table_free), or an error code with pErr
** set: a missing table and a missing privilege each get one line that says
** what to check, with the Databricks error code (TABLE_DOES_NOT_EXIST,
** PERMISSION_DENIED ...) and HTTP status kept.
*/
int dbx_catalog_table_get(DbxClient *pClient, const char *zCatalog,
                          const char *zSchema, const char *zTable,
                          DbxTableInfo **ppOut, DbxError *pErr);
void dbx_catalog_table_free(DbxTableInfo *p);

/*
** Reads a TableInfo JSON object (the body of the call above) into a new
** DbxTableInfo; split out so unit tests can feed canned bodies. Returns
** SQLITE_OK, SQLITE_NOMEM, or SQLITE_ERROR with pErr set when the body has
** no usable column list.
*/
int dbx_catalog_table_parse(const cJSON *pBody, DbxTableInfo **ppOut,
                            DbxError *pErr);

/* A Unity Catalog volume. */
typedef struct DbxVolumeInfo {
  char *zFullName; /* owned; catalog.schema.volume as UC spells it */
  char *zType;     /* owned; MANAGED, EXTERNAL, or "" when not sent */
  char *zStorage;  /* owned; storage_location, or "" */
  char *zOwner;    /* owned; owner, or "" */
} DbxVolumeInfo;

/*
** Looks up volume zCatalog.zSchema.zVolume (unquoted names) with GET
** /api/2.1/unity-catalog/volumes/{full name}. Returns SQLITE_OK and *ppOut
** (free with dbx_catalog_volume_free), or an error in pErr: a missing
** volume keeps httpStatus 404 and says how to create it, a missing
** privilege names what to grant; a reply whose name is not the one asked
** for is refused.
*/
int dbx_catalog_volume_get(DbxClient *pClient, const char *zCatalog,
                           const char *zSchema, const char *zVolume,
                           DbxVolumeInfo **ppOut, DbxError *pErr);
void dbx_catalog_volume_free(DbxVolumeInfo *p);

/*
** What a preflight (dbx_check) asks of Unity Catalog: whether an object
** exists and who owns it, whether a table exists, and the effective
** privileges on an object. zType is CATALOG, SCHEMA, TABLE or VOLUME;
** azName its nName names (1 for a catalog, 2 for a schema, 3 otherwise),
** unquoted.
*/

/* A catalog, schema, table or volume. */
typedef struct DbxUcObject {
  char *zOwner; /* owned; owner, or "" when not sent */
  int bCdf;     /* a table whose properties set delta.enableChangeDataFeed
                ** to true */
} DbxUcObject;

/*
** GET /api/2.1/unity-catalog/{catalogs,schemas,tables,volumes}/{full
** name} into *ppOut (dbx_catalog_object_free). Returns SQLITE_OK, or an
** error in pErr: 404 and 403 keep their status and Databricks' code; a
** reply for another object or of the wrong shape is an error.
*/
int dbx_catalog_object_get(DbxClient *pClient, const char *zType,
                           char *const *azName, int nName, DbxUcObject **ppOut,
                           DbxError *pErr);
int dbx_catalog_object_parse(const cJSON *pBody, const char *zType,
                             char *const *azName, int nName,
                             DbxUcObject **ppOut, DbxError *pErr);
void dbx_catalog_object_free(DbxUcObject *p);

/*
** GET /api/2.1/unity-catalog/tables/{full name}/exists: *pbExists says
** whether the table exists. Returns SQLITE_OK or an error in pErr (403
** keeps its status: the caller may not know).
*/
int dbx_catalog_table_exists(DbxClient *pClient, char *const *azName,
                             int *pbExists, DbxError *pErr);

/* One effective privilege: a principal holds zPrivilege (REST spelling,
** USE_CATALOG), directly or inherited from a parent. */
typedef struct DbxUcGrant {
  char *zPrincipal; /* owned */
  char *zPrivilege; /* owned; upper case with underscores */
} DbxUcGrant;

/* The effective privileges on one object. */
typedef struct DbxUcEffective {
  int nGrant;         /* entries in aGrant */
  DbxUcGrant *aGrant; /* owned */
} DbxUcEffective;

/*
** GET /api/2.1/unity-catalog/effective-permissions/{zType}/{full name}
** into *ppOut (dbx_catalog_effective_free). Returns SQLITE_OK or an error
** in pErr (403 and 404 keep their status).
*/
int dbx_catalog_effective_get(DbxClient *pClient, const char *zType,
                              char *const *azName, int nName,
                              DbxUcEffective **ppOut, DbxError *pErr);
int dbx_catalog_effective_parse(const cJSON *pBody, DbxUcEffective **ppOut,
                                DbxError *pErr);
void dbx_catalog_effective_free(DbxUcEffective *p);

/*
** Whether p grants zPrivilege (SQL spelling, "USE CATALOG", or REST
** spelling) or ALL PRIVILEGES to a principal xIs(pArg, principal) accepts.
*/
int dbx_catalog_effective_has(const DbxUcEffective *p, const char *zPrivilege,
                              int (*xIs)(void *, const char *), void *pArg);

/*
** Listing. A DbxCatalogList walks the pages of one list call: it asks for
** max_results entries a page (0: the server's choice), follows
** next_page_token until the server leaves it out (a page may be empty while
** a token is still given), and holds one page at a time. A token the server
** already gave is an error naming the call, not an endless loop.
*/

/* What a list call lists. */
typedef enum DbxCatalogKind {
  DBX_UC_CATALOGS = 0, /* GET .../catalogs */
  DBX_UC_SCHEMAS,      /* GET .../schemas?catalog_name= */
  DBX_UC_TABLES,       /* GET .../tables?catalog_name=&schema_name= */
  DBX_UC_VOLUMES       /* GET .../volumes?catalog_name=&schema_name= */
} DbxCatalogKind;

/* Flags of dbx_catalog_list_open(): what the caller will not read. */
#define DBX_UC_OMIT_COLUMNS    0x01 /* tables: omit_columns=true */
#define DBX_UC_OMIT_PROPERTIES 0x02 /* tables: omit_properties=true */

/*
** One listed object. Every pointer is borrowed from the current page and
** valid until the next dbx_catalog_list_next() or dbx_catalog_list_free();
** a string is NULL when the server left the field out (or sent null).
*/
typedef struct DbxCatalogEntry {
  const char *zName;        /* never NULL nor empty */
  const char *zCatalog;     /* catalog_name (for a catalog: its name) */
  const char *zSchema;      /* schema_name; NULL for a catalog */
  const char *zFullName;    /* full_name as UC spells it */
  const char *zType;        /* catalog_type, table_type or volume_type */
  const char *zFormat;      /* data_source_format (tables) */
  const char *zOwner;       /* owner */
  const char *zComment;     /* comment */
  const char *zStorage;     /* storage_location */
  const char *zCreatedBy;   /* created_by */
  const char *zUpdatedBy;   /* updated_by */
  int bCreatedAt;           /* iCreatedAt was sent */
  int64_t iCreatedAt;       /* created_at, ms since 1970 UTC */
  int bUpdatedAt;           /* iUpdatedAt was sent */
  int64_t iUpdatedAt;       /* updated_at, ms since 1970 UTC */
  const cJSON *pColumns;    /* tables: array of ColumnInfo objects whose
                            ** name is a non-empty string and whose
                            ** type_text, comment (strings), nullable
                            ** (bool) and position (integer) have their
                            ** types when present; NULL when not sent */
  const cJSON *pProperties; /* object of string values, or NULL */
} DbxCatalogEntry;

typedef struct DbxCatalogList DbxCatalogList;

/*
** Starts a list call (nothing is sent yet). zCatalog is needed for
** schemas, zCatalog and zSchema for tables and volumes (unquoted names,
** percent-encoded here). nPageSize >= 0 is sent as max_results. flags are
** DBX_UC_OMIT_*. xInterrupt (may be NULL) is polled during each request.
** Returns SQLITE_OK and *ppOut (free with dbx_catalog_list_free), or
** SQLITE_NOMEM / SQLITE_MISUSE with pErr set.
*/
int dbx_catalog_list_open(DbxClient *pClient, DbxCatalogKind eKind,
                          const char *zCatalog, const char *zSchema,
                          int nPageSize, int flags, DbxInterruptFn xInterrupt,
                          void *pInterruptArg, DbxCatalogList **ppOut,
                          DbxError *pErr);

/*
** Moves to the next entry, fetching pages as needed. Returns SQLITE_ROW
** with *pEntry filled, SQLITE_DONE at the end, or an error code with pErr
** set: a missing catalog or schema and a missing privilege each get one
** line saying what to check (Databricks' error code and status kept); an
** entry or page of the wrong shape, or a repeated page token, an error
** naming the call. After an error or SQLITE_DONE it returns the same again.
*/
int dbx_catalog_list_next(DbxCatalogList *p, DbxCatalogEntry *pEntry,
                          DbxError *pErr);

void dbx_catalog_list_free(DbxCatalogList *p);

#endif /* DBX_CATALOG_H */
