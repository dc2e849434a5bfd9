/*
** catalog.h: the Unity Catalog REST client (catalog.c).
**
** What the `databricks` virtual table needs to know about a remote table
** before it can declare its columns: GET /api/2.1/unity-catalog/tables/
** {catalog.schema.table} through the workspace client (client.h), reduced
** to the column list.
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

#endif /* DBX_CATALOG_H */
