/*
** stage.c: the staging volume of a commit (engine layer, see stage.h).
**
** The write path stages Parquet files in a Unity Catalog volume and loads
** them with COPY INTO. Its first step is here: the volume must exist, and
** when the user allowed it, it is created. Unity Catalog's REST create
** call makes managed volumes only, and what a SQL user has been granted
** is CREATE VOLUME on a schema, which the SQL statement honours the same
** way: the statement is used, so the same warehouse and identity that run
** COPY INTO create the volume.
*/
#include <string.h>

#include "sqlgen.h"
#include "stage.h"

/* Appends `c`.`s` (nPart 2) or `c`.`s`.`v` (nPart 3) to pBuf. */
static void stage_name(DbxBuf *pBuf, const char *const azPart[3], int nPart) {
  int k;
  for (k = 0; k < nPart; k++) {
    if (k) dbx_buf_append(pBuf, ".", 1);
    dbx_sql_ident(pBuf, azPart[k]);
  }
}

int dbx_stage_volume_ensure(DbxClient *pClient, const DbxStmtOptions *pOpt,
                            const char *zCatalog, const char *zSchema,
                            const char *zVolume, int bCreate, int *pbCreated,
                            DbxError *pErr) {
  const char *const azPart[3] = {zCatalog, zSchema, zVolume};
  DbxVolumeInfo *pInfo = NULL;
  DbxStmtOptions opt;
  DbxStmt *pStmt = NULL;
  DbxBuf schema = {0};
  DbxError e;
  char *zSql;
  int rc;
  if (pbCreated) *pbCreated = 0;
  dbx_error_clear(&e);
  rc = dbx_catalog_volume_get(pClient, zCatalog, zSchema, zVolume, &pInfo, &e);
  dbx_catalog_volume_free(pInfo);
  if (rc == SQLITE_OK) return SQLITE_OK;
  if (e.httpStatus != 404 || !bCreate) {
    if (pErr && pErr->rc == SQLITE_OK) *pErr = e;
    return rc;
  }
  zSql = dbx_sql_create_volume(zCatalog, zSchema, zVolume);
  if (zSql == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  opt = *pOpt;
  opt.bIdempotent = 1; /* IF NOT EXISTS: running it twice changes nothing */
  dbx_error_clear(&e);
  rc = dbx_stmt_execute(pClient, zSql, NULL, 0, &opt, &pStmt, &e);
  dbx_stmt_free(pStmt);
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) {
    if (pbCreated) *pbCreated = 1;
    return SQLITE_OK;
  }
  stage_name(&schema, azPart, 2);
  if (schema.rc == SQLITE_OK &&
      (strstr(e.zMsg, "CREATE VOLUME") || strstr(e.zCode, "PERMISSION"))) {
    DbxBuf name = {0};
    stage_name(&name, azPart, 3);
    dbx_error_set_api(pErr, rc, e.httpStatus, e.zCode,
                      "cannot create volume %s: no CREATE VOLUME privilege "
                      "on schema %s: an owner or admin can run GRANT CREATE "
                      "VOLUME ON SCHEMA %s TO <principal> (with USE CATALOG "
                      "and USE SCHEMA), or create the volume once",
                      name.rc ? "" : name.z, schema.z, schema.z);
    dbx_buf_free(&name);
  } else if (pErr && pErr->rc == SQLITE_OK) {
    *pErr = e;
  }
  dbx_buf_free(&schema);
  return rc;
}
