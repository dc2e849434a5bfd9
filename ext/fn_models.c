/*
** fn_models.c: dbx_models, the table schemas the extension ships.
**
**   SELECT name, description, columns, merge_keys, version_columns,
**          ingested_at FROM dbx_models;
**
** One row per model of sql/models/ (models.h): `columns` is the column
** list as create='...' takes it, `merge_keys` and `version_columns` comma
** lists ('' for an append-only model), `ingested_at` the column set to the
** commit time ('' when none). An eponymous module only; it reads the
** models built into the extension, no network, so it is INNOCUOUS.
*/
#include <string.h>

#include "models.h"

typedef struct ModelsCursor {
  sqlite3_vtab_cursor base; /* must be first */
  int iModel;               /* current model */
  DbxModel *pModel;         /* it, read; NULL before the first xColumn */
} ModelsCursor;

/* xConnect: the fixed schema of dbx_models. */
static int modelsConnect(sqlite3 *db, void *pAux, int argc,
                         const char *const *argv, sqlite3_vtab **ppVtab,
                         char **pzErr) {
  sqlite3_vtab *p;
  int rc;
  DBX_UNUSED(pAux);
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  DBX_UNUSED(pzErr);
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(name TEXT, description TEXT, "
                                "columns TEXT, merge_keys TEXT, "
                                "version_columns TEXT, ingested_at TEXT)");
  if (rc) return rc;
  /* pure: usable from views and triggers of any database */
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  *ppVtab = p;
  return SQLITE_OK;
}

/* xDisconnect */
static int modelsDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* xBestIndex: a full scan of a handful of rows. */
static int modelsBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  DBX_UNUSED(pVtab);
  pInfo->estimatedCost = 10;
  pInfo->estimatedRows = dbx_model_count();
  return SQLITE_OK;
}

/* xOpen */
static int modelsOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  ModelsCursor *p = sqlite3_malloc64(sizeof(*p));
  DBX_UNUSED(pVtab);
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  *ppCur = &p->base;
  return SQLITE_OK;
}

/* xClose */
static int modelsClose(sqlite3_vtab_cursor *pCur) {
  dbx_model_free(((ModelsCursor *)pCur)->pModel);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* xFilter: from the first model. */
static int modelsFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                        const char *idxStr, int argc, sqlite3_value **argv) {
  ModelsCursor *p = (ModelsCursor *)pCur;
  DBX_UNUSED(idxNum);
  DBX_UNUSED(idxStr);
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  dbx_model_free(p->pModel);
  p->pModel = NULL;
  p->iModel = 0;
  return SQLITE_OK;
}

/* xNext */
static int modelsNext(sqlite3_vtab_cursor *pCur) {
  ModelsCursor *p = (ModelsCursor *)pCur;
  dbx_model_free(p->pModel);
  p->pModel = NULL;
  p->iModel++;
  return SQLITE_OK;
}

/* xEof */
static int modelsEof(sqlite3_vtab_cursor *pCur) {
  return ((ModelsCursor *)pCur)->iModel >= dbx_model_count();
}

/* xColumn: one field of the current model, read on first use. */
static int modelsColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx,
                        int iCol) {
  ModelsCursor *p = (ModelsCursor *)pCur;
  const DbxModel *m;
  const char *z;
  if (p->pModel == NULL) {
    DbxError e = {0};
    if (dbx_model_find(dbx_model_name(p->iModel), &p->pModel, &e)) {
      dbx_error_to_context(ctx, &e);
      return e.rc;
    }
  }
  m = p->pModel;
  /* clang-format off */
  switch (iCol) {
    case 0: z = m->zName; break;
    case 1: z = m->zDescription; break;
    case 2: z = m->zColumns; break;
    case 3: z = m->zMergeKeys; break;
    case 4: z = m->zVersionColumns; break;
    default: z = m->zIngestedAt; break;
  }
  /* clang-format on */
  sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
  return SQLITE_OK;
}

/* xRowid: the model's position. */
static int modelsRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  *pRowid = ((ModelsCursor *)pCur)->iModel + 1;
  return SQLITE_OK;
}

/* Eponymous only (no xCreate): the table exists in every schema. */
const sqlite3_module dbx_models_module = {
    .iVersion = 0,
    .xConnect = modelsConnect,
    .xBestIndex = modelsBestIndex,
    .xDisconnect = modelsDisconnect,
    .xOpen = modelsOpen,
    .xClose = modelsClose,
    .xFilter = modelsFilter,
    .xNext = modelsNext,
    .xEof = modelsEof,
    .xColumn = modelsColumn,
    .xRowid = modelsRowid,
};

int dbx_models_aux(sqlite3 *db, const char *zName, void **ppAux,
                   void (**pxDestroy)(void *)) {
  DBX_UNUSED(db);
  DBX_UNUSED(zName);
  *ppAux = NULL;
  *pxDestroy = NULL;
  return SQLITE_OK;
}
