/*
** catalog.c: Unity Catalog table lookup for the `databricks` virtual table.
**
**   CREATE VIRTUAL TABLE t USING databricks(table='main.sales.orders');
**
** asks GET /api/2.1/unity-catalog/tables/main.sales.orders for the column
** names and types. Every call goes through the workspace client, so this
** file knows nothing of auth, retries or TLS.
*/
#include <stdio.h>
#include <string.h>

#include "catalog.h"

void dbx_catalog_table_free(DbxTableInfo *p) {
  int i;
  if (p == NULL) return;
  for (i = 0; i < p->nCol; i++) {
    sqlite3_free(p->aCol[i].zName);
    sqlite3_free(p->aCol[i].zTypeText);
    sqlite3_free(p->aCol[i].zTypeName);
  }
  sqlite3_free(p->aCol);
  sqlite3_free(p->zFullName);
  sqlite3_free(p->zTableType);
  sqlite3_free(p);
}

/* The string member zKey of pObj, or "" (never NULL). */
static const char *json_str(const cJSON *pObj, const char *zKey) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(pObj, zKey);
  return cJSON_IsString(p) && p->valuestring ? p->valuestring : "";
}

int dbx_catalog_table_parse(const cJSON *pBody, DbxTableInfo **ppOut,
                            DbxError *pErr) {
  const cJSON *pCols = cJSON_GetObjectItemCaseSensitive(pBody, "columns");
  const cJSON *pCol;
  DbxTableInfo *p;
  int nCol, i, iPos;
  *ppOut = NULL;
  if (!cJSON_IsArray(pCols) || (nCol = cJSON_GetArraySize(pCols)) == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "table %s has no columns in Unity Catalog: check that "
                         "it is a table or view",
                         json_str(pBody, "full_name"));
  }
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  p->aCol = sqlite3_malloc64(sizeof(DbxTableColumn) * (sqlite3_uint64)nCol);
  p->zFullName = dbx_strdup(json_str(pBody, "full_name"));
  p->zTableType = dbx_strdup(json_str(pBody, "table_type"));
  if (p->aCol == NULL || p->zFullName == NULL || p->zTableType == NULL) {
    dbx_catalog_table_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memset(p->aCol, 0, sizeof(DbxTableColumn) * (size_t)nCol);
  p->nCol = nCol;
  /* Columns are placed by their "position" when every one has a distinct
  ** valid position, else kept in array order. */
  i = 0;
  cJSON_ArrayForEach(pCol, pCols) {
    const cJSON *pPos = cJSON_GetObjectItemCaseSensitive(pCol, "position");
    const cJSON *pNull = cJSON_GetObjectItemCaseSensitive(pCol, "nullable");
    DbxTableColumn *c;
    iPos = cJSON_IsNumber(pPos) ? pPos->valueint : i;
    if (iPos < 0 || iPos >= nCol || p->aCol[iPos].zName) iPos = i;
    if (p->aCol[iPos].zName) {
      /* a duplicate position took this slot: find the first free one */
      for (iPos = 0; iPos < nCol && p->aCol[iPos].zName; iPos++) {
      }
    }
    c = &p->aCol[iPos];
    if (json_str(pCol, "name")[0] == 0) {
      dbx_catalog_table_free(p);
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "Unity Catalog sent a column without a name for "
                           "table %s",
                           json_str(pBody, "full_name"));
    }
    c->zName = dbx_strdup(json_str(pCol, "name"));
    c->zTypeText = dbx_strdup(json_str(pCol, "type_text"));
    c->zTypeName = dbx_strdup(json_str(pCol, "type_name"));
    c->bNullable = !cJSON_IsFalse(pNull);
    if (!c->zName || !c->zTypeText || !c->zTypeName) {
      dbx_catalog_table_free(p);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    i++;
  }
  *ppOut = p;
  return SQLITE_OK;
}

/* Appends z percent-encoded as one path segment (dots kept). */
static void append_segment(DbxBuf *pBuf, const char *z) {
  for (; *z; z++) {
    unsigned char c = (unsigned char)*z;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~') {
      dbx_buf_append(pBuf, z, 1);
    } else {
      dbx_buf_appendf(pBuf, "%%%02X", c);
    }
  }
}

int dbx_catalog_table_get(DbxClient *pClient, const char *zCatalog,
                          const char *zSchema, const char *zTable,
                          DbxTableInfo **ppOut, DbxError *pErr) {
  DbxBuf path = {0};
  DbxError e;
  cJSON *pBody = NULL;
  int rc;
  *ppOut = NULL;
  dbx_buf_appendf(&path, "/api/2.1/unity-catalog/tables/");
  append_segment(&path, zCatalog);
  dbx_buf_append(&path, ".", 1);
  append_segment(&path, zSchema);
  dbx_buf_append(&path, ".", 1);
  append_segment(&path, zTable);
  if (path.rc) {
    dbx_buf_free(&path);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  dbx_error_clear(&e);
  rc = dbx_client_call(pClient, "GET", path.z, NULL, &pBody, &e);
  dbx_buf_free(&path);
  if (rc == SQLITE_OK) {
    rc = dbx_catalog_table_parse(pBody, ppOut, pErr);
    cJSON_Delete(pBody);
    return rc;
  }
  /* Say what to check; keep Databricks' code and status for the caller. */
  if (e.httpStatus == 404) {
    dbx_error_set_api(pErr, rc, e.httpStatus, e.zCode,
                      "table %s.%s.%s not found: check the catalog, schema "
                      "and table names, and that you have USE CATALOG, USE "
                      "SCHEMA and SELECT on it",
                      zCatalog, zSchema, zTable);
  } else if (e.httpStatus == 403) {
    dbx_error_set_api(pErr, rc, e.httpStatus, e.zCode,
                      "no permission to read table %s.%s.%s: ask its owner "
                      "for USE CATALOG on %s, USE SCHEMA on %s.%s and SELECT "
                      "on the table (%s)",
                      zCatalog, zSchema, zTable, zCatalog, zCatalog, zSchema,
                      e.zMsg);
  } else if (pErr && pErr->rc == SQLITE_OK) {
    *pErr = e;
  }
  return rc;
}
