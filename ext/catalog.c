/*
** catalog.c: Unity Catalog REST calls.
**
**   CREATE VIRTUAL TABLE t USING databricks(table='main.sales.orders');
**
** asks GET /api/2.1/unity-catalog/tables/main.sales.orders for the column
** names and types; dbx_catalogs(), dbx_schemas(), dbx_tables() and
** dbx_volumes() walk the pages of the list calls. Every call goes through
** the workspace client, so this file knows nothing of auth, retries or TLS.
*/
#include <stdarg.h>
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

int dbx_catalog_table_get(DbxClient *pClient, const char *zCatalog,
                          const char *zSchema, const char *zTable,
                          DbxTableInfo **ppOut, DbxError *pErr) {
  DbxBuf path = {0};
  DbxError e;
  cJSON *pBody = NULL;
  int rc;
  *ppOut = NULL;
  dbx_buf_appendf(&path, "/api/2.1/unity-catalog/tables/");
  dbx_buf_append_url(&path, zCatalog, 0);
  dbx_buf_append(&path, ".", 1);
  dbx_buf_append_url(&path, zSchema, 0);
  dbx_buf_append(&path, ".", 1);
  dbx_buf_append_url(&path, zTable, 0);
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

/* ---------------------------------------------------------------------
** Volumes
*/

void dbx_catalog_volume_free(DbxVolumeInfo *p) {
  if (p == NULL) return;
  sqlite3_free(p->zFullName);
  sqlite3_free(p->zType);
  sqlite3_free(p->zStorage);
  sqlite3_free(p->zOwner);
  sqlite3_free(p);
}

static void append_quoted(DbxBuf *pBuf, const char *z);

/* True when the string member zKey of pObj is z, ignoring ASCII case (UC
** names are case-insensitive). */
static int json_is_name(const cJSON *pObj, const char *zKey, const char *z) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(pObj, zKey);
  return cJSON_IsString(p) && sqlite3_stricmp(p->valuestring, z) == 0;
}

int dbx_catalog_volume_get(DbxClient *pClient, const char *zCatalog,
                           const char *zSchema, const char *zVolume,
                           DbxVolumeInfo **ppOut, DbxError *pErr) {
  DbxBuf path = {0}, name = {0};
  DbxError e;
  cJSON *pBody = NULL;
  DbxVolumeInfo *p;
  int rc;
  *ppOut = NULL;
  dbx_buf_appendf(&path, "/api/2.1/unity-catalog/volumes/");
  dbx_buf_append_url(&path, zCatalog, 0);
  dbx_buf_append(&path, ".", 1);
  dbx_buf_append_url(&path, zSchema, 0);
  dbx_buf_append(&path, ".", 1);
  dbx_buf_append_url(&path, zVolume, 0);
  append_quoted(&name, zCatalog);
  dbx_buf_append(&name, ".", 1);
  append_quoted(&name, zSchema);
  dbx_buf_append(&name, ".", 1);
  append_quoted(&name, zVolume);
  if (path.rc || name.rc) {
    dbx_buf_free(&path);
    dbx_buf_free(&name);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  dbx_error_clear(&e);
  rc = dbx_client_call(pClient, "GET", path.z, NULL, &pBody, &e);
  dbx_buf_free(&path);
  if (rc == SQLITE_OK) {
    if (!json_is_name(pBody, "catalog_name", zCatalog) ||
        !json_is_name(pBody, "schema_name", zSchema) ||
        !json_is_name(pBody, "name", zVolume)) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "Unity Catalog answered for another volume than %s: "
                         "refused",
                         name.z);
    } else if ((p = sqlite3_malloc64(sizeof(*p))) == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    } else {
      p->zFullName = dbx_strdup(json_str(pBody, "full_name"));
      p->zType = dbx_strdup(json_str(pBody, "volume_type"));
      p->zStorage = dbx_strdup(json_str(pBody, "storage_location"));
      p->zOwner = dbx_strdup(json_str(pBody, "owner"));
      if (!p->zFullName || !p->zType || !p->zStorage || !p->zOwner) {
        dbx_catalog_volume_free(p);
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      } else {
        *ppOut = p;
      }
    }
  } else if (e.httpStatus == 404) {
    dbx_error_set_api(pErr, rc, 404, e.zCode,
                      "volume %s does not exist: create it with CREATE VOLUME "
                      "IF NOT EXISTS %s, or check the catalog and schema "
                      "names and that you have USE CATALOG and USE SCHEMA",
                      name.z, name.z);
  } else if (e.httpStatus == 403) {
    dbx_error_set_api(pErr, rc, 403, e.zCode,
                      "no permission to see volume %s: ask its owner for USE "
                      "CATALOG and USE SCHEMA on its catalog and schema, and "
                      "READ VOLUME on it (%s)",
                      name.z, e.zMsg);
  } else if (pErr && pErr->rc == SQLITE_OK) {
    *pErr = e;
  }
  cJSON_Delete(pBody);
  dbx_buf_free(&name);
  return rc;
}

/* ---------------------------------------------------------------------
** Listing catalogs, schemas, tables and volumes, page by page.
*/

/* What differs between the four list calls. */
static const struct {
  const char *zPath;    /* endpoint, without the query string */
  const char *zArray;   /* member of a page holding the entries */
  const char *zWhat;    /* one entry, for messages */
  const char *zTypeKey; /* member read into zType, or NULL */
} aListKind[] = {
    {"/api/2.1/unity-catalog/catalogs", "catalogs", "catalog", "catalog_type"},
    {"/api/2.1/unity-catalog/schemas", "schemas", "schema", NULL},
    {"/api/2.1/unity-catalog/tables", "tables", "table", "table_type"},
    {"/api/2.1/unity-catalog/volumes", "volumes", "volume", "volume_type"},
};

struct DbxCatalogList {
  DbxClient *pClient;        /* borrowed */
  DbxCatalogKind eKind;      /* what is listed */
  char *zCatalog;            /* owned; catalog_name, or NULL */
  char *zSchema;             /* owned; schema_name, or NULL */
  char *zScope;              /* owned; "`c`.`s`" for messages, or "" */
  int nPageSize;             /* sent as max_results */
  int flags;                 /* DBX_UC_OMIT_* */
  DbxInterruptFn xInterrupt; /* polled during a request, or NULL */
  void *pInterruptArg;       /* its argument */
  cJSON *pPage;              /* owned; the current page, or NULL */
  const cJSON *pNext;        /* next entry of pPage to hand out, or NULL */
  char *zToken;              /* owned; next_page_token to send, or NULL */
  int nPage;                 /* pages requested so far */
  DbxTokenSet seen;          /* owned; the tokens sent */
  DbxError done;             /* sticky: the error that ended the walk */
  int bDone;                 /* the walk is over (done.rc says how) */
};

/* Appends z as a backtick-quoted name, as Databricks SQL spells one. */
static void append_quoted(DbxBuf *pBuf, const char *z) {
  dbx_buf_append(pBuf, "`", 1);
  for (; *z; z++) {
    dbx_buf_append(pBuf, z, 1);
    if (*z == '`') dbx_buf_append(pBuf, "`", 1);
  }
  dbx_buf_append(pBuf, "`", 1);
}

void dbx_catalog_list_free(DbxCatalogList *p) {
  if (p == NULL) return;
  cJSON_Delete(p->pPage);
  sqlite3_free(p->zCatalog);
  sqlite3_free(p->zSchema);
  sqlite3_free(p->zScope);
  sqlite3_free(p->zToken);
  dbx_token_set_free(&p->seen);
  sqlite3_free(p);
}

int dbx_catalog_list_open(DbxClient *pClient, DbxCatalogKind eKind,
                          const char *zCatalog, const char *zSchema,
                          int nPageSize, int flags, DbxInterruptFn xInterrupt,
                          void *pInterruptArg, DbxCatalogList **ppOut,
                          DbxError *pErr) {
  DbxCatalogList *p;
  DbxBuf scope = {0};
  int nName = eKind == DBX_UC_CATALOGS ? 0 : eKind == DBX_UC_SCHEMAS ? 1 : 2;
  *ppOut = NULL;
  if ((unsigned)eKind >= DBX_ARRAY_SIZE(aListKind) || nPageSize < 0 ||
      (nName >= 1 && zCatalog == NULL) || (nName >= 2 && zSchema == NULL)) {
    return dbx_error_set(pErr, SQLITE_MISUSE,
                         "a Unity Catalog list call is missing its catalog "
                         "or schema name");
  }
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  p->pClient = pClient;
  p->eKind = eKind;
  p->nPageSize = nPageSize;
  p->flags = flags;
  p->xInterrupt = xInterrupt;
  p->pInterruptArg = pInterruptArg;
  dbx_error_clear(&p->done);
  dbx_buf_append(&scope, "", 0);
  if (nName >= 1) {
    p->zCatalog = dbx_strdup(zCatalog);
    append_quoted(&scope, zCatalog);
  }
  if (nName >= 2) {
    p->zSchema = dbx_strdup(zSchema);
    dbx_buf_append(&scope, ".", 1);
    append_quoted(&scope, zSchema);
  }
  p->zScope = dbx_buf_take(&scope);
  if (p->zScope == NULL || (nName >= 1 && p->zCatalog == NULL) ||
      (nName >= 2 && p->zSchema == NULL)) {
    dbx_catalog_list_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  *ppOut = p;
  return SQLITE_OK;
}

/* Ends the walk with the error in e (or SQLITE_DONE); returns its code. */
static int list_finish(DbxCatalogList *p, const DbxError *e, DbxError *pErr) {
  p->bDone = 1;
  p->done = *e;
  if (e->rc != SQLITE_DONE && pErr && pErr->rc == SQLITE_OK) *pErr = *e;
  return e->rc;
}

/* "tables of `c`.`s`" or "catalogs": what the walk lists, for messages. */
static const char *list_what(const DbxCatalogList *p, char *zBuf, int nBuf) {
  const char *zArray = aListKind[p->eKind].zArray;
  if (p->zScope[0] == 0) return zArray;
  sqlite3_snprintf(nBuf, zBuf, "%s of %s", zArray, p->zScope);
  return zBuf;
}

/*
** Records that the server sent something of the wrong shape: zFmt says
** what ("a table without a name"). Returns the error code.
*/
static int list_bad(DbxCatalogList *p, DbxError *pErr, const char *zFmt, ...)
    __attribute__((format(printf, 3, 4)));
static int list_bad(DbxCatalogList *p, DbxError *pErr, const char *zFmt, ...) {
  char zWhat[400], zMsg[300];
  DbxError e;
  va_list ap;
  va_start(ap, zFmt);
  sqlite3_vsnprintf(sizeof(zMsg), zMsg, zFmt, ap);
  va_end(ap);
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_ERROR,
                "Unity Catalog sent %s while listing %s (GET %s): check that "
                "the host is a Databricks workspace",
                zMsg, list_what(p, zWhat, sizeof(zWhat)),
                aListKind[p->eKind].zPath);
  return list_finish(p, &e, pErr);
}

/*
** Reads string member zKey of pItem into *pz (NULL when absent or null).
** Returns SQLITE_OK, or an error naming the member when it is not a
** string.
*/
static int entry_str(DbxCatalogList *p, const cJSON *pItem, const char *zKey,
                     const char **pz, DbxError *pErr) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(pItem, zKey);
  *pz = NULL;
  if (v == NULL || cJSON_IsNull(v)) return SQLITE_OK;
  if (cJSON_IsString(v) && v->valuestring) {
    *pz = v->valuestring;
    return SQLITE_OK;
  }
  return list_bad(p, pErr, "a %s whose %s is not a string",
                  aListKind[p->eKind].zWhat, zKey);
}

/* Milliseconds since 1970 of 0000-01-01 and of 10000-01-01 (excluded). */
#define UC_TIME_MIN (-62167219200000.0)
#define UC_TIME_END (253402300800000.0)

/* Reads time member zKey (ms since 1970) into *pb / *pi. */
static int entry_time(DbxCatalogList *p, const cJSON *pItem, const char *zKey,
                      int *pb, int64_t *pi, DbxError *pErr) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(pItem, zKey);
  double d;
  *pb = 0;
  *pi = 0;
  if (v == NULL || cJSON_IsNull(v)) return SQLITE_OK;
  d = cJSON_IsNumber(v) ? v->valuedouble : 0.5;
  if (d >= UC_TIME_MIN && d < UC_TIME_END && d == (double)(int64_t)d) {
    *pb = 1;
    *pi = (int64_t)d;
    return SQLITE_OK;
  }
  return list_bad(p, pErr, "a %s whose %s is not a time in milliseconds",
                  aListKind[p->eKind].zWhat, zKey);
}

/* Checks a table's columns: the shape DbxCatalogEntry.pColumns promises. */
static int entry_columns(DbxCatalogList *p, const cJSON *pCols,
                         const char *zTable, DbxError *pErr) {
  static const char *const azStr[] = {"type_text", "type_name", "comment"};
  const cJSON *pCol;
  size_t i;
  if (!cJSON_IsArray(pCols)) {
    return list_bad(p, pErr, "table `%.100s` with columns that are not a list",
                    zTable);
  }
  cJSON_ArrayForEach(pCol, pCols) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(pCol, "name");
    const char *zBad = NULL;
    if (!cJSON_IsObject(pCol)) {
      zBad = "entry";
    } else if (!cJSON_IsString(v) || v->valuestring[0] == 0) {
      zBad = "name";
    }
    for (i = 0; zBad == NULL && i < DBX_ARRAY_SIZE(azStr); i++) {
      v = cJSON_GetObjectItemCaseSensitive(pCol, azStr[i]);
      if (v && !cJSON_IsNull(v) && !cJSON_IsString(v)) zBad = azStr[i];
    }
    v = cJSON_GetObjectItemCaseSensitive(pCol, "nullable");
    if (zBad == NULL && v && !cJSON_IsNull(v) && !cJSON_IsBool(v)) {
      zBad = "nullable";
    }
    v = cJSON_GetObjectItemCaseSensitive(pCol, "position");
    if (zBad == NULL && v && !cJSON_IsNull(v) &&
        (!cJSON_IsNumber(v) || v->valuedouble != (double)v->valueint)) {
      zBad = "position";
    }
    if (zBad) {
      return list_bad(p, pErr,
                      "table `%.100s` with a column whose %s is "
                      "malformed",
                      zTable, zBad);
    }
  }
  return SQLITE_OK;
}

/* Checks a properties object: string values only. */
static int entry_properties(DbxCatalogList *p, const cJSON *pProps,
                            const char *zName, DbxError *pErr) {
  const cJSON *v = NULL;
  if (cJSON_IsObject(pProps)) {
    cJSON_ArrayForEach(v, pProps) {
      if (!cJSON_IsString(v)) break;
    }
    if (v == NULL) return SQLITE_OK;
  }
  return list_bad(p, pErr, "%s `%.100s` with properties that are not strings",
                  aListKind[p->eKind].zWhat, zName);
}

/* Reads and checks one entry of a page into *e. */
static int entry_read(DbxCatalogList *p, const cJSON *pItem, DbxCatalogEntry *e,
                      DbxError *pErr) {
  const char *zTypeKey = aListKind[p->eKind].zTypeKey;
  const cJSON *v;
  int rc;
  memset(e, 0, sizeof(*e));
  if (!cJSON_IsObject(pItem)) {
    return list_bad(p, pErr, "a %s that is not an object",
                    aListKind[p->eKind].zWhat);
  }
  rc = entry_str(p, pItem, "name", &e->zName, pErr);
  if (rc == SQLITE_OK && (e->zName == NULL || e->zName[0] == 0)) {
    return list_bad(p, pErr, "a %s without a name", aListKind[p->eKind].zWhat);
  }
  if (rc == SQLITE_OK && p->eKind != DBX_UC_CATALOGS) {
    rc = entry_str(p, pItem, "catalog_name", &e->zCatalog, pErr);
  }
  if (rc == SQLITE_OK && p->eKind >= DBX_UC_TABLES) {
    rc = entry_str(p, pItem, "schema_name", &e->zSchema, pErr);
  }
  if (rc == SQLITE_OK)
    rc = entry_str(p, pItem, "full_name", &e->zFullName, pErr);
  if (rc == SQLITE_OK && zTypeKey) {
    rc = entry_str(p, pItem, zTypeKey, &e->zType, pErr);
  }
  if (rc == SQLITE_OK && p->eKind == DBX_UC_TABLES) {
    rc = entry_str(p, pItem, "data_source_format", &e->zFormat, pErr);
  }
  if (rc == SQLITE_OK) rc = entry_str(p, pItem, "owner", &e->zOwner, pErr);
  if (rc == SQLITE_OK) rc = entry_str(p, pItem, "comment", &e->zComment, pErr);
  if (rc == SQLITE_OK && p->eKind >= DBX_UC_TABLES) {
    rc = entry_str(p, pItem, "storage_location", &e->zStorage, pErr);
  }
  if (rc == SQLITE_OK) {
    rc = entry_str(p, pItem, "created_by", &e->zCreatedBy, pErr);
  }
  if (rc == SQLITE_OK) {
    rc = entry_str(p, pItem, "updated_by", &e->zUpdatedBy, pErr);
  }
  if (rc == SQLITE_OK) {
    rc = entry_time(p, pItem, "created_at", &e->bCreatedAt, &e->iCreatedAt,
                    pErr);
  }
  if (rc == SQLITE_OK) {
    rc = entry_time(p, pItem, "updated_at", &e->bUpdatedAt, &e->iUpdatedAt,
                    pErr);
  }
  v = cJSON_GetObjectItemCaseSensitive(pItem, "columns");
  if (rc == SQLITE_OK && p->eKind == DBX_UC_TABLES && v && !cJSON_IsNull(v)) {
    rc = entry_columns(p, v, e->zName, pErr);
    e->pColumns = v;
  }
  v = cJSON_GetObjectItemCaseSensitive(pItem, "properties");
  if (rc == SQLITE_OK && v && !cJSON_IsNull(v)) {
    rc = entry_properties(p, v, e->zName, pErr);
    e->pProperties = v;
  }
  if (rc) return rc;
  /* The listed parent, when the server leaves it out of the entry. */
  if (p->eKind == DBX_UC_CATALOGS) e->zCatalog = e->zName;
  if (e->zCatalog == NULL) e->zCatalog = p->zCatalog;
  if (e->zSchema == NULL && p->eKind == DBX_UC_SCHEMAS) e->zSchema = e->zName;
  if (e->zSchema == NULL) e->zSchema = p->zSchema;
  return SQLITE_OK;
}

/* Appends "&key=" and the percent-encoded value. */
static void append_param(DbxBuf *pBuf, const char *zKey, const char *zValue) {
  dbx_buf_appendf(pBuf, "&%s=", zKey);
  dbx_buf_append_url(pBuf, zValue, 0);
}

/* Says what to check when the list call itself failed with e. */
static int list_failed(DbxCatalogList *p, DbxError *e, DbxError *pErr) {
  DbxError out;
  int bCatalog;
  dbx_error_clear(&out);
  bCatalog = p->eKind == DBX_UC_SCHEMAS || strstr(e->zCode, "CATALOG") != NULL;
  if (e->httpStatus == 404 && p->eKind != DBX_UC_CATALOGS && bCatalog) {
    dbx_error_set_api(&out, e->rc, e->httpStatus, e->zCode,
                      "catalog `%s` not found: check its name and that you "
                      "have USE CATALOG on it",
                      p->zCatalog);
  } else if (e->httpStatus == 404 && p->eKind != DBX_UC_CATALOGS) {
    dbx_error_set_api(&out, e->rc, e->httpStatus, e->zCode,
                      "schema %s not found: check its name and that you have "
                      "USE CATALOG on `%s` and USE SCHEMA on the schema",
                      p->zScope, p->zCatalog);
  } else if (e->httpStatus == 403 && p->eKind != DBX_UC_CATALOGS) {
    char zWhat[400];
    dbx_error_set_api(
        &out, e->rc, e->httpStatus, e->zCode,
        "no permission to list %s: ask for USE CATALOG on `%s`%s "
        "(%s)",
        list_what(p, zWhat, sizeof(zWhat)), p->zCatalog,
        p->eKind == DBX_UC_SCHEMAS ? "" : " and USE SCHEMA on the schema",
        e->zMsg);
  } else {
    out = *e;
  }
  return list_finish(p, &out, pErr);
}

/*
** Fetches the next page into p->pPage. Returns SQLITE_OK, or an error
** (the walk is then over).
*/
static int list_fetch(DbxCatalogList *p, DbxError *pErr) {
  DbxBuf path = {0};
  DbxError e;
  cJSON *pBody = NULL;
  const cJSON *pArr, *pTok;
  int rc;
  dbx_error_clear(&e);
  dbx_buf_appendf(&path, "%s?max_results=%d", aListKind[p->eKind].zPath,
                  p->nPageSize);
  if (p->zCatalog) append_param(&path, "catalog_name", p->zCatalog);
  if (p->zSchema) append_param(&path, "schema_name", p->zSchema);
  if (p->eKind == DBX_UC_TABLES && (p->flags & DBX_UC_OMIT_COLUMNS)) {
    dbx_buf_appendf(&path, "&omit_columns=true");
  }
  if (p->eKind == DBX_UC_TABLES && (p->flags & DBX_UC_OMIT_PROPERTIES)) {
    dbx_buf_appendf(&path, "&omit_properties=true");
  }
  if (p->zToken) append_param(&path, "page_token", p->zToken);
  if (path.rc) {
    dbx_buf_free(&path);
    dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
    return list_finish(p, &e, pErr);
  }
  cJSON_Delete(p->pPage);
  p->pPage = NULL;
  p->pNext = NULL;
  p->nPage++;
  dbx_client_set_interrupt(p->pClient, p->xInterrupt, p->pInterruptArg);
  rc = dbx_client_call(p->pClient, "GET", path.z, NULL, &pBody, &e);
  dbx_client_set_interrupt(p->pClient, NULL, NULL);
  dbx_buf_free(&path);
  if (rc) return list_failed(p, &e, pErr);
  p->pPage = pBody;
  if (pBody == NULL || !cJSON_IsObject(pBody)) {
    return list_bad(p, pErr, "a page that is not a JSON object");
  }
  /* An empty list is left out of the page, as proto3 JSON does. */
  pArr = cJSON_GetObjectItemCaseSensitive(pBody, aListKind[p->eKind].zArray);
  if (pArr && !cJSON_IsNull(pArr) && !cJSON_IsArray(pArr)) {
    return list_bad(p, pErr, "a page whose %s is not a list",
                    aListKind[p->eKind].zArray);
  }
  p->pNext = cJSON_IsArray(pArr) ? pArr->child : NULL;
  sqlite3_free(p->zToken);
  p->zToken = NULL;
  pTok = cJSON_GetObjectItemCaseSensitive(pBody, "next_page_token");
  if (pTok && !cJSON_IsNull(pTok) && !cJSON_IsString(pTok)) {
    return list_bad(p, pErr, "a next_page_token that is not a string");
  }
  if (cJSON_IsString(pTok) && pTok->valuestring[0]) {
    int rcSeen = dbx_token_set_add(&p->seen, pTok->valuestring);
    if (rcSeen == SQLITE_CONSTRAINT) {
      return list_bad(p, pErr,
                      "a next_page_token it had already sent, so "
                      "the pages would never end; stopped");
    }
    if (rcSeen) {
      dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
      return list_finish(p, &e, pErr);
    }
    p->zToken = dbx_strdup(pTok->valuestring);
    if (p->zToken == NULL) {
      dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
      return list_finish(p, &e, pErr);
    }
  }
  return SQLITE_OK;
}

int dbx_catalog_list_next(DbxCatalogList *p, DbxCatalogEntry *pEntry,
                          DbxError *pErr) {
  const cJSON *pItem;
  int rc;
  memset(pEntry, 0, sizeof(*pEntry));
  if (p->bDone) return list_finish(p, &p->done, pErr);
  /* Pages may be empty while a token still says there are more. */
  while (p->pNext == NULL) {
    if (p->nPage > 0 && p->zToken == NULL) {
      DbxError e;
      dbx_error_clear(&e);
      e.rc = SQLITE_DONE;
      return list_finish(p, &e, pErr);
    }
    rc = list_fetch(p, pErr);
    if (rc) return rc;
  }
  pItem = p->pNext;
  p->pNext = pItem->next;
  rc = entry_read(p, pItem, pEntry, pErr);
  return rc ? rc : SQLITE_ROW;
}

/* ---------------------------------------------------------------------
** Objects, existence and effective privileges, for a preflight.
*/

/* The REST collection of an object type, or NULL. */
static const char *uc_collection(const char *zType) {
  if (strcmp(zType, "CATALOG") == 0) return "catalogs";
  if (strcmp(zType, "SCHEMA") == 0) return "schemas";
  if (strcmp(zType, "TABLE") == 0) return "tables";
  if (strcmp(zType, "VOLUME") == 0) return "volumes";
  return NULL;
}

/* Appends the percent-encoded full name c[.s[.t]] to pPath and the quoted
** one (for messages) to pName. */
static void uc_full_name(DbxBuf *pPath, DbxBuf *pName, char *const *azName,
                         int nName) {
  int i;
  for (i = 0; i < nName; i++) {
    if (i) {
      dbx_buf_append(pPath, ".", 1);
      dbx_buf_append(pName, ".", 1);
    }
    dbx_buf_append_url(pPath, azName[i], 0);
    append_quoted(pName, azName[i]);
  }
}

/* Records that zCall answered zWhat (something of the wrong shape). */
static int uc_bad(DbxError *pErr, const char *zCall, const char *zName,
                  const char *zWhat) {
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "Unity Catalog answered %s for %s (%s): check that "
                       "the host is a Databricks workspace",
                       zWhat, zName, zCall);
}

void dbx_catalog_object_free(DbxUcObject *p) {
  if (p == NULL) return;
  sqlite3_free(p->zOwner);
  sqlite3_free(p);
}

int dbx_catalog_object_parse(const cJSON *pBody, const char *zType,
                             char *const *azName, int nName,
                             DbxUcObject **ppOut, DbxError *pErr) {
  const cJSON *pOwner, *pName, *pProps, *v;
  DbxBuf path = {0}, name = {0};
  DbxUcObject *p;
  int rc = SQLITE_OK;
  *ppOut = NULL;
  uc_full_name(&path, &name, azName, nName);
  dbx_buf_free(&path);
  if (name.rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  pOwner = cJSON_GetObjectItemCaseSensitive(pBody, "owner");
  pName = cJSON_GetObjectItemCaseSensitive(pBody, "name");
  pProps = cJSON_GetObjectItemCaseSensitive(pBody, "properties");
  if (!cJSON_IsObject(pBody)) {
    rc = uc_bad(pErr, "GET", name.z, "something that is not a JSON object");
  } else if (pOwner && !cJSON_IsNull(pOwner) && !cJSON_IsString(pOwner)) {
    rc = uc_bad(pErr, "GET", name.z, "an owner that is not text");
  } else if (pName && !cJSON_IsNull(pName) &&
             (!cJSON_IsString(pName) ||
              sqlite3_stricmp(pName->valuestring, azName[nName - 1]) != 0)) {
    rc = uc_bad(pErr, "GET", name.z, "another object's name");
  } else if (pProps && !cJSON_IsNull(pProps) && !cJSON_IsObject(pProps)) {
    rc = uc_bad(pErr, "GET", name.z, "properties that are not an object");
  }
  if (rc == SQLITE_OK && (p = sqlite3_malloc64(sizeof(*p))) == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  if (rc == SQLITE_OK) {
    memset(p, 0, sizeof(*p));
    p->zOwner = dbx_strdup(cJSON_IsString(pOwner) ? pOwner->valuestring : "");
    if (!cJSON_IsObject(pProps)) pProps = NULL;
    cJSON_ArrayForEach(v, pProps) {
      if (!cJSON_IsString(v)) {
        rc = uc_bad(pErr, "GET", name.z, "a property that is not text");
        break;
      }
      if (strcmp(zType, "TABLE") == 0 &&
          sqlite3_stricmp(v->string, "delta.enableChangeDataFeed") == 0) {
        p->bCdf = sqlite3_stricmp(v->valuestring, "true") == 0;
      }
    }
    if (rc == SQLITE_OK && p->zOwner == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    if (rc) {
      dbx_catalog_object_free(p);
    } else {
      *ppOut = p;
    }
  }
  dbx_buf_free(&name);
  return rc;
}

int dbx_catalog_object_get(DbxClient *pClient, const char *zType,
                           char *const *azName, int nName, DbxUcObject **ppOut,
                           DbxError *pErr) {
  const char *zColl = uc_collection(zType);
  DbxBuf path = {0}, name = {0};
  cJSON *pBody = NULL;
  int rc;
  *ppOut = NULL;
  if (zColl == NULL || nName < 1 || nName > 3) {
    return dbx_error_set(pErr, SQLITE_MISUSE, "no such securable type");
  }
  dbx_buf_appendf(&path, "/api/2.1/unity-catalog/%s/", zColl);
  uc_full_name(&path, &name, azName, nName);
  if (path.rc || name.rc) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  } else {
    rc = dbx_client_call(pClient, "GET", path.z, NULL, &pBody, pErr);
  }
  if (rc == SQLITE_OK) {
    rc = dbx_catalog_object_parse(pBody, zType, azName, nName, ppOut, pErr);
  }
  cJSON_Delete(pBody);
  dbx_buf_free(&path);
  dbx_buf_free(&name);
  return rc;
}

int dbx_catalog_table_exists(DbxClient *pClient, char *const *azName,
                             int *pbExists, DbxError *pErr) {
  DbxBuf path = {0}, name = {0};
  cJSON *pBody = NULL;
  const cJSON *v;
  int rc;
  *pbExists = 0;
  dbx_buf_appendf(&path, "/api/2.1/unity-catalog/tables/");
  uc_full_name(&path, &name, azName, 3);
  dbx_buf_appendf(&path, "/exists");
  if (path.rc || name.rc) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  } else {
    rc = dbx_client_call(pClient, "GET", path.z, NULL, &pBody, pErr);
  }
  if (rc == SQLITE_OK) {
    v = cJSON_GetObjectItemCaseSensitive(pBody, "table_exists");
    if (!cJSON_IsBool(v)) {
      rc = uc_bad(pErr, "GET .../exists", name.z,
                  "no table_exists true or false");
    } else {
      *pbExists = cJSON_IsTrue(v);
    }
  }
  cJSON_Delete(pBody);
  dbx_buf_free(&path);
  dbx_buf_free(&name);
  return rc;
}

void dbx_catalog_effective_free(DbxUcEffective *p) {
  int i;
  if (p == NULL) return;
  for (i = 0; i < p->nGrant; i++) {
    sqlite3_free(p->aGrant[i].zPrincipal);
    sqlite3_free(p->aGrant[i].zPrivilege);
  }
  sqlite3_free(p->aGrant);
  sqlite3_free(p);
}

/* Appends one effective privilege to p, which has room for it. */
static int effective_add(DbxUcEffective *p, const char *zPrincipal,
                         const char *zPrivilege) {
  DbxUcGrant *g = &p->aGrant[p->nGrant];
  char *z;
  g->zPrincipal = dbx_strdup(zPrincipal);
  g->zPrivilege = dbx_strdup(zPrivilege);
  if (g->zPrincipal == NULL || g->zPrivilege == NULL) {
    sqlite3_free(g->zPrincipal);
    sqlite3_free(g->zPrivilege);
    return SQLITE_NOMEM;
  }
  for (z = g->zPrivilege; *z; z++) {
    if (*z == ' ') *z = '_';
    if (*z >= 'a' && *z <= 'z') *z = (char)(*z - 'a' + 'A');
  }
  p->nGrant++;
  return SQLITE_OK;
}

int dbx_catalog_effective_parse(const cJSON *pBody, DbxUcEffective **ppOut,
                                DbxError *pErr) {
  static const char zCall[] = "GET /api/2.1/unity-catalog/effective-"
                              "permissions";
  const cJSON *pList, *pItem, *pPriv;
  DbxUcEffective *p;
  int n = 0, rc = SQLITE_OK;
  *ppOut = NULL;
  pList = cJSON_GetObjectItemCaseSensitive(pBody, "privilege_assignments");
  if (!cJSON_IsObject(pBody) ||
      (pList && !cJSON_IsNull(pList) && !cJSON_IsArray(pList))) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s answered privilege_assignments that are not a "
                         "list: check that the host is a Databricks workspace",
                         zCall);
  }
  /* first pass: check the shape and count */
  cJSON_ArrayForEach(pItem, pList) {
    const cJSON *pWho = cJSON_GetObjectItemCaseSensitive(pItem, "principal");
    const cJSON *pPrivs = cJSON_GetObjectItemCaseSensitive(pItem, "privileges");
    if (!cJSON_IsObject(pItem) || !cJSON_IsString(pWho) ||
        (pPrivs && !cJSON_IsNull(pPrivs) && !cJSON_IsArray(pPrivs))) {
      rc = SQLITE_ERROR;
      break;
    }
    cJSON_ArrayForEach(pPriv, pPrivs) {
      const cJSON *v =
          cJSON_IsObject(pPriv)
              ? cJSON_GetObjectItemCaseSensitive(pPriv, "privilege")
              : pPriv;
      if (!cJSON_IsString(v) || n >= 100000) {
        rc = SQLITE_ERROR;
        break;
      }
      n++;
    }
    if (rc) break;
  }
  if (rc) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s answered a privilege assignment without a "
                         "principal or with a privilege that is not text: "
                         "check that the host is a Databricks workspace",
                         zCall);
  }
  p = sqlite3_malloc64(sizeof(*p));
  if (p) {
    memset(p, 0, sizeof(*p));
    p->aGrant = sqlite3_malloc64(sizeof(DbxUcGrant) * (sqlite3_uint64)(n + 1));
  }
  if (p == NULL || p->aGrant == NULL) {
    dbx_catalog_effective_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  cJSON_ArrayForEach(pItem, pList) {
    const char *zWho =
        cJSON_GetObjectItemCaseSensitive(pItem, "principal")->valuestring;
    cJSON_ArrayForEach(pPriv,
                       cJSON_GetObjectItemCaseSensitive(pItem, "privileges")) {
      const cJSON *v =
          cJSON_IsObject(pPriv)
              ? cJSON_GetObjectItemCaseSensitive(pPriv, "privilege")
              : pPriv;
      if (rc == SQLITE_OK) rc = effective_add(p, zWho, v->valuestring);
    }
  }
  if (rc) {
    dbx_catalog_effective_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  *ppOut = p;
  return SQLITE_OK;
}

int dbx_catalog_effective_get(DbxClient *pClient, const char *zType,
                              char *const *azName, int nName,
                              DbxUcEffective **ppOut, DbxError *pErr) {
  DbxBuf path = {0}, name = {0};
  cJSON *pBody = NULL;
  int rc;
  *ppOut = NULL;
  if (uc_collection(zType) == NULL || nName < 1 || nName > 3) {
    return dbx_error_set(pErr, SQLITE_MISUSE, "no such securable type");
  }
  dbx_buf_appendf(&path, "/api/2.1/unity-catalog/effective-permissions/%s/",
                  zType);
  uc_full_name(&path, &name, azName, nName);
  if (path.rc || name.rc) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  } else {
    rc = dbx_client_call(pClient, "GET", path.z, NULL, &pBody, pErr);
  }
  if (rc == SQLITE_OK) rc = dbx_catalog_effective_parse(pBody, ppOut, pErr);
  cJSON_Delete(pBody);
  dbx_buf_free(&path);
  dbx_buf_free(&name);
  return rc;
}

int dbx_catalog_effective_has(const DbxUcEffective *p, const char *zPrivilege,
                              int (*xIs)(void *, const char *), void *pArg) {
  char zWant[64];
  size_t i;
  int k;
  for (i = 0; zPrivilege[i] && i + 1 < sizeof(zWant); i++) {
    char c = zPrivilege[i];
    zWant[i] = c == ' ' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
  }
  zWant[i] = 0;
  for (k = 0; p && k < p->nGrant; k++) {
    const DbxUcGrant *g = &p->aGrant[k];
    if ((strcmp(g->zPrivilege, zWant) == 0 ||
         strcmp(g->zPrivilege, "ALL_PRIVILEGES") == 0) &&
        xIs(pArg, g->zPrincipal)) {
      return 1;
    }
  }
  return 0;
}
