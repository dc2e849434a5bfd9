/*
** discover.c: the discovery table-valued functions, what exists in Unity
** Catalog without SHOW statements or a warehouse.
**
**   SELECT name, owner FROM dbx_catalogs();
**   SELECT name, comment FROM dbx_schemas('main');
**   SELECT name, table_type, columns FROM dbx_tables('main', 'default');
**   SELECT name, volume_type FROM dbx_volumes('main', 'default');
**
** Each takes an optional last argument, options_json, with the same
** config settings as dbx_query() (host, token as env:NAME, profile ...)
** plus page_size, the entries asked for per request (0, the default, lets
** the server choose). The catalog and schema may also be given as
** equality constraints, so `WHERE catalog = 'main'` and joins such as
**
**   SELECT t.* FROM dbx_schemas('main') s, dbx_tables(s.catalog, s.name) t;
**
** work. Rows are read page by page from the Unity Catalog list calls
** (catalog.h); a principal sees only what it may. Times are ISO-8601 UTC
** text, as TIMESTAMP columns are when reading; `columns` (dbx_tables) is
** a JSON array of {name, type, nullable, comment}; `properties` a JSON
** object. All four are eponymous-only and DIRECTONLY: they use the
** network, so a view or trigger in a database file cannot call them.
**
** This is the SQL surface: sqlite3 contexts and vtabs stop here.
*/
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "catalog.h"
#include "session.h"

/* ---------------------------------------------------------------------
** The four functions, described by tables.
*/

/* Where the value of a column comes from. */
typedef enum Field {
  F_NAME,
  F_CATALOG,
  F_SCHEMA,
  F_FULL_NAME,
  F_TYPE,
  F_FORMAT,
  F_OWNER,
  F_COMMENT,
  F_STORAGE,
  F_COLUMNS,
  F_PROPERTIES,
  F_CREATED_AT,
  F_CREATED_BY,
  F_UPDATED_AT,
  F_UPDATED_BY,
  F_ARG /* a hidden argument column: catalog_name, schema_name, options */
} Field;

/* One declared column. */
typedef struct DiscoverCol {
  const char *zDecl; /* its declaration in CREATE TABLE */
  Field eField;      /* its value */
} DiscoverCol;

/* One table-valued function. */
typedef struct DiscoverDef {
  const char *zName;       /* SQL name */
  const char *zUsage;      /* call syntax, for errors */
  DbxCatalogKind eKind;    /* the list call */
  int nName;               /* name arguments before options: 0, 1 or 2 */
  const DiscoverCol *aCol; /* visible columns, then nName + 1 hidden ones */
  int nCol;                /* entries in aCol */
} DiscoverDef;

/* The visible columns every function ends with. */
#define COLS_TAIL                                                              \
  {"owner TEXT", F_OWNER}, {"comment TEXT", F_COMMENT},                        \
      {"created_at TEXT", F_CREATED_AT}, {"created_by TEXT", F_CREATED_BY},    \
      {"updated_at TEXT", F_UPDATED_AT}, {                                     \
    "updated_by TEXT", F_UPDATED_BY                                            \
  }

static const DiscoverCol aCatalogCol[] = {
    {"name TEXT", F_NAME},
    {"catalog_type TEXT", F_TYPE},
    COLS_TAIL,
    {"options HIDDEN", F_ARG},
};

static const DiscoverCol aSchemaCol[] = {
    {"catalog TEXT", F_CATALOG},     {"name TEXT", F_NAME},
    {"full_name TEXT", F_FULL_NAME}, COLS_TAIL,
    {"catalog_name HIDDEN", F_ARG},  {"options HIDDEN", F_ARG},
};

static const DiscoverCol aTableCol[] = {
    {"catalog TEXT", F_CATALOG},
    {"schema TEXT", F_SCHEMA},
    {"name TEXT", F_NAME},
    {"full_name TEXT", F_FULL_NAME},
    {"table_type TEXT", F_TYPE},
    {"data_source_format TEXT", F_FORMAT},
    {"columns TEXT", F_COLUMNS},
    {"properties TEXT", F_PROPERTIES},
    {"storage_location TEXT", F_STORAGE},
    COLS_TAIL,
    {"catalog_name HIDDEN", F_ARG},
    {"schema_name HIDDEN", F_ARG},
    {"options HIDDEN", F_ARG},
};

static const DiscoverCol aVolumeCol[] = {
    {"catalog TEXT", F_CATALOG},
    {"schema TEXT", F_SCHEMA},
    {"name TEXT", F_NAME},
    {"full_name TEXT", F_FULL_NAME},
    {"volume_type TEXT", F_TYPE},
    {"storage_location TEXT", F_STORAGE},
    COLS_TAIL,
    {"catalog_name HIDDEN", F_ARG},
    {"schema_name HIDDEN", F_ARG},
    {"options HIDDEN", F_ARG},
};

static const DiscoverDef aDef[] = {
    {"dbx_catalogs", "dbx_catalogs([options_json])", DBX_UC_CATALOGS, 0,
     aCatalogCol, (int)DBX_ARRAY_SIZE(aCatalogCol)},
    {"dbx_schemas", "dbx_schemas(catalog [, options_json])", DBX_UC_SCHEMAS, 1,
     aSchemaCol, (int)DBX_ARRAY_SIZE(aSchemaCol)},
    {"dbx_tables", "dbx_tables(catalog, schema [, options_json])",
     DBX_UC_TABLES, 2, aTableCol, (int)DBX_ARRAY_SIZE(aTableCol)},
    {"dbx_volumes", "dbx_volumes(catalog, schema [, options_json])",
     DBX_UC_VOLUMES, 2, aVolumeCol, (int)DBX_ARRAY_SIZE(aVolumeCol)},
};

/* Arguments: catalog, schema (when the function takes them), options. */
#define MAX_ARG 3

/* idxNum: bit k (k < MAX_ARG) when argument k is given, and these. */
#define IDX_OMIT_COLUMNS    0x10 /* `columns` is not read */
#define IDX_OMIT_PROPERTIES 0x20 /* `properties` is not read */

/* First hidden column of pDef: its argument 0. */
static int def_first_arg(const DiscoverDef *pDef) {
  return pDef->nCol - pDef->nName - 1;
}

/* The visible column holding field e, or -1. */
static int def_column(const DiscoverDef *pDef, Field e) {
  int i;
  for (i = 0; i < def_first_arg(pDef); i++) {
    if (pDef->aCol[i].eField == e) return i;
  }
  return -1;
}

/* ---------------------------------------------------------------------
** options_json
*/

/* Reads page_size from pItem (a number or a numeric string). */
static int opts_page_size(const cJSON *pItem, int *pn, DbxError *pErr) {
  double d = -1;
  if (cJSON_IsNumber(pItem)) {
    d = pItem->valuedouble;
  } else if (cJSON_IsString(pItem) && pItem->valuestring[0]) {
    char *zEnd = NULL;
    d = strtod(pItem->valuestring, &zEnd);
    if (*zEnd) d = -1;
  }
  if (!(d >= 0 && d <= 2147483647.0) || d != (double)(int)d) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "page_size must be a whole number from 0 (the "
                         "server's choice) to 2147483647");
  }
  *pn = (int)d;
  return SQLITE_OK;
}

/*
** The DbxArgsMemberFn of the list calls: takes page_size into *(int *)pArg;
** every other member is a setting for dbx_session_connect(), which names
** an unknown one (statement options are unknown here).
*/
static int opts_member(void *pArg, const cJSON *pItem, int *pbTaken,
                       DbxError *pErr) {
  if (strcmp(pItem->string, "page_size") != 0) return SQLITE_OK;
  *pbTaken = 1;
  return opts_page_size(pItem, (int *)pArg, pErr);
}

/* ---------------------------------------------------------------------
** Values of the columns.
*/

/*
** Writes ms (milliseconds since 1970, UTC; years 0000 to 9999) as
** 'YYYY-MM-DD HH:MM:SS[.fff]' into zOut, without trailing zeros in the
** fraction, as the read path writes TIMESTAMP values. The date is the
** proleptic Gregorian calendar (days-from-civil, inverted).
*/
void dbx_time_format_ms(int64_t ms, char zOut[32]) {
  int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int64_t frac = ms - s * 1000;
  int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
  int64_t sod = s - days * 86400;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int d = (int)(doy - (153 * mp + 2) / 5 + 1);
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  int y = (int)(yoe + era * 400 + (m <= 2));
  int n;
  sqlite3_snprintf(32, zOut, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d,
                   (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
  n = (int)strlen(zOut);
  if (frac) {
    sqlite3_snprintf(32 - n, zOut + n, ".%03d", (int)frac);
    n += 4;
    while (zOut[n - 1] == '0')
      zOut[--n] = 0;
  }
}

/*
** The `columns` value of a table: a JSON array of {name, type, nullable,
** comment} in the order Unity Catalog lists them (catalog.c checked their
** types). Returns text from cJSON's allocator (cJSON_free), or NULL when
** out of memory.
*/
static char *columns_json(const cJSON *pCols) {
  cJSON *pOut = cJSON_CreateArray();
  const cJSON *pCol;
  char *z = NULL;
  int bOk = pOut != NULL;
  cJSON_ArrayForEach(pCol, pCols) {
    const cJSON *pType = cJSON_GetObjectItemCaseSensitive(pCol, "type_text");
    const cJSON *pNull = cJSON_GetObjectItemCaseSensitive(pCol, "nullable");
    const cJSON *pNote = cJSON_GetObjectItemCaseSensitive(pCol, "comment");
    cJSON *pObj = cJSON_CreateObject();
    if (!bOk || pObj == NULL || !cJSON_AddItemToArray(pOut, pObj)) {
      cJSON_Delete(pObj);
      bOk = 0;
      break;
    }
    if (!cJSON_IsString(pType)) {
      pType = cJSON_GetObjectItemCaseSensitive(pCol, "type_name");
    }
    bOk =
        cJSON_AddStringToObject(
            pObj, "name",
            cJSON_GetObjectItemCaseSensitive(pCol, "name")->valuestring) &&
        (cJSON_IsString(pType)
             ? cJSON_AddStringToObject(pObj, "type", pType->valuestring) != NULL
             : cJSON_AddNullToObject(pObj, "type") != NULL) &&
        cJSON_AddBoolToObject(pObj, "nullable", !cJSON_IsFalse(pNull)) &&
        (cJSON_IsString(pNote)
             ? cJSON_AddStringToObject(pObj, "comment", pNote->valuestring) !=
                   NULL
             : cJSON_AddNullToObject(pObj, "comment") != NULL);
    if (!bOk) break;
  }
  if (bOk) z = cJSON_PrintUnformatted(pOut);
  cJSON_Delete(pOut);
  return z;
}

/* ---------------------------------------------------------------------
** The virtual table.
*/

/* The module's client data: one per registered function. */
typedef struct DiscoverAux {
  DbxSession *pSession;    /* one reference, released with the module */
  const DiscoverDef *pDef; /* static */
} DiscoverAux;

/* The destructor of a registration. */
static void discoverAuxFree(void *p) {
  if (p == NULL) return;
  dbx_session_release(((DiscoverAux *)p)->pSession);
  sqlite3_free(p);
}

typedef struct DiscoverVtab {
  sqlite3_vtab base;       /* must be first */
  sqlite3 *db;             /* the connection, for the interrupt probe */
  DbxSession *pSession;    /* borrowed: the module's client data */
  const DiscoverDef *pDef; /* what this function lists */
} DiscoverVtab;

typedef struct DiscoverCursor {
  sqlite3_vtab_cursor base; /* must be first */
  DbxCatalogList *pList;    /* owned; NULL before xFilter */
  sqlite3_stmt *pProbe;     /* owned; interrupt probe */
  DbxCatalogEntry entry;    /* the current row, borrowed from pList */
  char *azArg[MAX_ARG];     /* owned; the arguments as given, or NULL */
  sqlite3_int64 iRow;       /* 1-based number of the current row */
  int bEof;                 /* no current row */
} DiscoverCursor;

/* xConnect: declares the columns of the function named by pAux. */
static int discoverConnect(sqlite3 *db, void *pAux, int argc,
                           const char *const *argv, sqlite3_vtab **ppVtab,
                           char **pzErr) {
  const DiscoverAux *pA = pAux;
  DiscoverVtab *p;
  DbxBuf decl = {0};
  int i, rc;
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  DBX_UNUSED(pzErr);
  dbx_buf_appendf(&decl, "CREATE TABLE x(");
  for (i = 0; i < pA->pDef->nCol; i++) {
    dbx_buf_appendf(&decl, "%s%s", i ? ", " : "", pA->pDef->aCol[i].zDecl);
  }
  dbx_buf_appendf(&decl, ")");
  rc = decl.rc ? decl.rc : sqlite3_declare_vtab(db, decl.z);
  dbx_buf_free(&decl);
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->pSession = pA->pSession;
  p->pDef = pA->pDef;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &p->base;
  return SQLITE_OK;
}

/* xDisconnect: nothing remote to drop. */
static int discoverDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/*
** Arguments come from equality constraints on the hidden columns or, for
** the catalog and schema names, on the visible `catalog` / `schema`
** columns (which SQLite then still checks). idxNum has bit k for each
** argument given, in argv order, and IDX_OMIT_* for the unread columns.
** A plan where an argument's only constraints are unusable is refused;
** one without a name argument at all is accepted, so that xFilter can say
** which argument is missing.
*/
static int discoverBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  const DiscoverDef *pDef = ((DiscoverVtab *)pVtab)->pDef;
  int iFirst = def_first_arg(pDef);
  int nArg = pDef->nName + 1;
  int aIdx[MAX_ARG], aMirror[MAX_ARG], aSeen[MAX_ARG];
  int i, k, nUsed = 0, mask = 0, iCol;
  for (k = 0; k < MAX_ARG; k++) {
    aIdx[k] = aMirror[k] = -1;
    aSeen[k] = 0;
  }
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    if (c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    for (k = 0; k < nArg; k++) {
      int bHidden = c->iColumn == iFirst + k;
      int bMirror =
          k < pDef->nName &&
          c->iColumn == def_column(pDef, k == 0 ? F_CATALOG : F_SCHEMA);
      if (!bHidden && !bMirror) continue;
      aSeen[k] = 1;
      if (!c->usable) continue;
      if (bHidden) aIdx[k] = i;
      if (bMirror && aMirror[k] < 0) aMirror[k] = i;
    }
  }
  for (k = 0; k < nArg; k++) {
    if (aIdx[k] < 0 && aMirror[k] < 0 && aSeen[k]) return SQLITE_CONSTRAINT;
    if (aIdx[k] >= 0) {
      pInfo->aConstraintUsage[aIdx[k]].argvIndex = ++nUsed;
      pInfo->aConstraintUsage[aIdx[k]].omit = 1;
    } else if (aMirror[k] >= 0) {
      pInfo->aConstraintUsage[aMirror[k]].argvIndex = ++nUsed;
    } else {
      continue;
    }
    mask |= 1 << k;
  }
  iCol = def_column(pDef, F_COLUMNS);
  if (iCol >= 0 && (pInfo->colUsed & ((sqlite3_uint64)1 << iCol)) == 0) {
    mask |= IDX_OMIT_COLUMNS;
  }
  iCol = def_column(pDef, F_PROPERTIES);
  if (iCol >= 0 && (pInfo->colUsed & ((sqlite3_uint64)1 << iCol)) == 0) {
    mask |= IDX_OMIT_PROPERTIES;
  }
  pInfo->idxNum = mask;
  /* A remote round trip; far dearer still when a name argument is absent,
  ** so that a plan which supplies it wins. */
  pInfo->estimatedCost =
      (mask & ((1 << pDef->nName) - 1)) == (1 << pDef->nName) - 1 ? 1e6 : 1e12;
  pInfo->estimatedRows = 100;
  return SQLITE_OK;
}

/* xOpen: a cursor at EOF until xFilter lists something. */
static int discoverOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  DiscoverCursor *p = sqlite3_malloc64(sizeof(*p));
  DBX_UNUSED(pVtab);
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->bEof = 1;
  *ppCur = &p->base;
  return SQLITE_OK;
}

/* Drops the cursor's listing, keeping the cursor. */
static void discoverReset(DiscoverCursor *p) {
  int k;
  dbx_catalog_list_free(p->pList);
  p->pList = NULL;
  sqlite3_finalize(p->pProbe);
  p->pProbe = NULL;
  for (k = 0; k < MAX_ARG; k++) {
    dbx_free_secret(p->azArg[k]); /* options may hold a refused secret */
    p->azArg[k] = NULL;
  }
  memset(&p->entry, 0, sizeof(p->entry));
  p->iRow = 0;
  p->bEof = 1;
}

/* xClose */
static int discoverClose(sqlite3_vtab_cursor *pCur) {
  discoverReset((DiscoverCursor *)pCur);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* Moves to the next entry (or EOF). */
static int discoverStep(DiscoverCursor *p) {
  DbxError err;
  int rc;
  dbx_error_clear(&err);
  rc = dbx_catalog_list_next(p->pList, &p->entry, &err);
  if (rc == SQLITE_ROW) {
    p->iRow++;
    return SQLITE_OK;
  }
  p->bEof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  return dbx_error_to_vtab(p->base.pVtab, &err);
}

/*
** Copies the arguments idxNum names from argv into p->azArg and checks
** them: names given and without NUL, options without NUL (its \u0000
** escapes are found when it is parsed, after the names). Returns SQLITE_OK
** or an error in pErr.
*/
static int discoverArgs(DiscoverCursor *p, const DiscoverDef *pDef, int idxNum,
                        int argc, sqlite3_value **argv, DbxError *pErr) {
  static const char *const azName[] = {"the catalog name", "the schema name"};
  const char *azWhat[MAX_ARG];
  int k, rc;
  for (k = 0; k < pDef->nName; k++)
    azWhat[k] = azName[k];
  azWhat[pDef->nName] = "options_json";
  rc = dbx_args_copy(idxNum, pDef->nName + 1, argc, argv, azWhat, 0, p->azArg,
                     pErr);
  if (rc) return rc;
  for (k = 0; k < pDef->nName; k++) {
    if (p->azArg[k] == NULL || p->azArg[k][0] == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR, "%s needs %s (got %s)",
                           pDef->zUsage, azName[k],
                           p->azArg[k] ? "''" : "none or NULL");
    }
  }
  return SQLITE_OK;
}

/* xFilter: connects as options_json says and reads the first entry. */
static int discoverFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                          const char *idxStr, int argc, sqlite3_value **argv) {
  DiscoverCursor *p = (DiscoverCursor *)pCur;
  DiscoverVtab *pTab = (DiscoverVtab *)pCur->pVtab;
  const DiscoverDef *pDef = pTab->pDef;
  DbxArgsOptions opts;
  DbxConfig *pConfig = NULL;
  DbxClient *pClient = NULL;
  DbxError err;
  int rc, flags = 0, nPageSize = 0;
  DBX_UNUSED(idxStr);
  discoverReset(p);
  dbx_error_clear(&err);
  memset(&opts, 0, sizeof(opts));
  rc = discoverArgs(p, pDef, idxNum, argc, argv, &err);
  if (rc == SQLITE_OK) {
    rc = dbx_args_options_parse(
        p->azArg[pDef->nName],
        "{\"host\": \"https://...\", \"page_size\": 100}", 0, opts_member,
        &nPageSize, &opts, &err);
  }
  if (rc == SQLITE_OK) {
    rc = dbx_session_connect(pTab->pSession, opts.aOpt, opts.nOpt, &pConfig,
                             &pClient, &err);
  }
  dbx_config_free(pConfig); /* the client keeps its own copy */
  if (rc == SQLITE_OK) {
    if (idxNum & IDX_OMIT_COLUMNS) flags |= DBX_UC_OMIT_COLUMNS;
    if (idxNum & IDX_OMIT_PROPERTIES) flags |= DBX_UC_OMIT_PROPERTIES;
    p->pProbe = dbx_probe_open(pTab->db);
    rc = dbx_catalog_list_open(
        pClient, pDef->eKind, pDef->nName > 0 ? p->azArg[0] : NULL,
        pDef->nName > 1 ? p->azArg[1] : NULL, nPageSize, flags,
        dbx_probe_interrupted, p->pProbe, &p->pList, &err);
  }
  dbx_args_options_free(&opts);
  if (rc) return dbx_error_to_vtab(pCur->pVtab, &err);
  p->bEof = 0;
  return discoverStep(p);
}

/* xNext: the next entry, fetching the next page when needed. */
static int discoverNext(sqlite3_vtab_cursor *pCur) {
  return discoverStep((DiscoverCursor *)pCur);
}

/* xEof */
static int discoverEof(sqlite3_vtab_cursor *pCur) {
  return ((DiscoverCursor *)pCur)->bEof;
}

/* Sets a text result, NULL for a NULL pointer. */
static void result_text(sqlite3_context *ctx, const char *z) {
  if (z)
    sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
  else
    sqlite3_result_null(ctx);
}

/* Sets a time result: ISO-8601 UTC text, or NULL when not sent. */
static void result_time(sqlite3_context *ctx, int bSet, int64_t ms) {
  char zTime[32];
  if (!bSet) return;
  dbx_time_format_ms(ms, zTime);
  sqlite3_result_text(ctx, zTime, -1, SQLITE_TRANSIENT);
}

/* Sets a JSON result made by cJSON (z freed here); NULL z: out of memory. */
static void result_json(sqlite3_context *ctx, char *z) {
  if (z == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
  sqlite3_result_subtype(ctx, 'J'); /* for json_each() and friends */
  cJSON_free(z);
}

/* xColumn: one field of the current entry, or an argument. */
static int discoverColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx,
                          int iCol) {
  DiscoverCursor *p = (DiscoverCursor *)pCur;
  const DiscoverDef *pDef = ((DiscoverVtab *)pCur->pVtab)->pDef;
  const DbxCatalogEntry *e = &p->entry;
  if (iCol < 0 || iCol >= pDef->nCol) return SQLITE_OK;
  /* One line per field reads as the entry does. */
  /* clang-format off */
  switch (pDef->aCol[iCol].eField) {
    case F_NAME: result_text(ctx, e->zName); break;
    case F_CATALOG: result_text(ctx, e->zCatalog); break;
    case F_SCHEMA: result_text(ctx, e->zSchema); break;
    case F_FULL_NAME: result_text(ctx, e->zFullName); break;
    case F_TYPE: result_text(ctx, e->zType); break;
    case F_FORMAT: result_text(ctx, e->zFormat); break;
    case F_OWNER: result_text(ctx, e->zOwner); break;
    case F_COMMENT: result_text(ctx, e->zComment); break;
    case F_STORAGE: result_text(ctx, e->zStorage); break;
    case F_CREATED_AT: result_time(ctx, e->bCreatedAt, e->iCreatedAt); break;
    case F_CREATED_BY: result_text(ctx, e->zCreatedBy); break;
    case F_UPDATED_AT: result_time(ctx, e->bUpdatedAt, e->iUpdatedAt); break;
    case F_UPDATED_BY: result_text(ctx, e->zUpdatedBy); break;
    case F_COLUMNS:
      if (e->pColumns) result_json(ctx, columns_json(e->pColumns));
      break;
    case F_PROPERTIES:
      if (e->pProperties) {
        result_json(ctx, cJSON_PrintUnformatted(e->pProperties));
      }
      break;
    case F_ARG: result_text(ctx, p->azArg[iCol - def_first_arg(pDef)]); break;
  }
  /* clang-format on */
  return SQLITE_OK;
}

/* xRowid: the 1-based row number. */
static int discoverRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  *pRowid = ((DiscoverCursor *)pCur)->iRow;
  return SQLITE_OK;
}

/* Eponymous only (no xCreate): the functions exist in every schema. */
const sqlite3_module dbx_discover_module = {
    .iVersion = 0,
    .xConnect = discoverConnect,
    .xBestIndex = discoverBestIndex,
    .xDisconnect = discoverDisconnect,
    .xOpen = discoverOpen,
    .xClose = discoverClose,
    .xFilter = discoverFilter,
    .xNext = discoverNext,
    .xEof = discoverEof,
    .xColumn = discoverColumn,
    .xRowid = discoverRowid,
};

int dbx_discover_aux(sqlite3 *db, const char *zName, void **ppAux,
                     void (**pxDestroy)(void *)) {
  DiscoverAux *pAux;
  size_t i;
  *ppAux = NULL;
  *pxDestroy = discoverAuxFree;
  for (i = 0; i < DBX_ARRAY_SIZE(aDef); i++) {
    if (strcmp(aDef[i].zName, zName) == 0) break;
  }
  if (i == DBX_ARRAY_SIZE(aDef)) return SQLITE_MISUSE;
  pAux = sqlite3_malloc64(sizeof(*pAux));
  if (pAux == NULL) return SQLITE_NOMEM;
  pAux->pDef = &aDef[i];
  if (dbx_session_attach(db, &pAux->pSession)) {
    sqlite3_free(pAux);
    return SQLITE_NOMEM;
  }
  *ppAux = pAux;
  return SQLITE_OK;
}
