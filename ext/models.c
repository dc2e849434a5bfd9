/*
** models.c: the fixed table schemas of sql/models/ (see models.h).
**
** The build turns each sql/models/<name>.sql into a C string
** (dbx_model_text, in a generated file), so the extension carries its
** models and needs no file at run time. A model is read from its text on
** each lookup: they are small, and a caller then owns what it gets.
*/
#include <ctype.h>
#include <string.h>

#include "models.h"

int dbx_model_count(void) {
  return dbx_model_text_count;
}

const char *dbx_model_name(int i) {
  if (i < 0 || i >= dbx_model_text_count) return NULL;
  return dbx_model_text[i].zName;
}

void dbx_model_free(DbxModel *p) {
  int i;
  if (p == NULL) return;
  sqlite3_free(p->zDescription);
  sqlite3_free(p->zColumns);
  sqlite3_free(p->zMergeKeys);
  sqlite3_free(p->zVersionColumns);
  sqlite3_free(p->zIngestedAt);
  sqlite3_free(p->aCol);
  for (i = 0; i < p->nMergeKey; i++)
    sqlite3_free(p->azMergeKey[i]);
  sqlite3_free(p->azMergeKey);
  for (i = 0; i < p->nVersion; i++)
    sqlite3_free(p->azVersion[i]);
  sqlite3_free(p->azVersion);
  sqlite3_free(p);
}

/* The column of p named z (ASCII case ignored), or NULL. */
static const DbxSqlCol *model_column(const DbxModel *p, const char *z,
                                     size_t n) {
  int i;
  for (i = 0; i < p->nCol; i++) {
    if (strlen(p->aCol[i].zName) == n &&
        sqlite3_strnicmp(p->aCol[i].zName, z, (int)n) == 0) {
      return &p->aCol[i];
    }
  }
  return NULL;
}

/*
** Reads the comma list zList of column names of p into *pazOut and *pnOut
** (each the column's own spelling) and rewrites *pzList as "a, b".
** eKind is the kind of type each must have (DBX_KIND_NULL: any). Returns
** SQLITE_OK or an error in pErr.
*/
static int model_names(DbxModel *p, char **pzList, DbxKind eKind,
                       const char *zWhat, char ***pazOut, int *pnOut,
                       DbxError *pErr) {
  const char *z = *pzList;
  DbxBuf b = {0};
  char **az = NULL;
  int n = 0;
  while (*z) {
    const char *zStart, *zEnd;
    const DbxSqlCol *pCol;
    char **azNew;
    while (*z == ' ' || *z == ',')
      z++;
    if (*z == 0) break;
    zStart = z;
    while (*z && *z != ',')
      z++;
    for (zEnd = z; zEnd > zStart && zEnd[-1] == ' '; zEnd--) {
    }
    pCol = model_column(p, zStart, (size_t)(zEnd - zStart));
    if (pCol == NULL ||
        (eKind != DBX_KIND_NULL &&
         dbx_sql_type_head(pCol->zType, NULL)->eKind != eKind)) {
      dbx_buf_free(&b);
      *pazOut = az;
      *pnOut = n;
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "model %s: %s '%.*s' is not a column of the right "
                           "type",
                           p->zName, zWhat, (int)(zEnd - zStart), zStart);
    }
    azNew = sqlite3_realloc64(az, sizeof(char *) * (size_t)(n + 1));
    if (azNew == NULL) break;
    az = azNew;
    az[n] = sqlite3_mprintf("%s", pCol->zName);
    if (az[n] == NULL) break;
    dbx_buf_appendf(&b, "%s%s", n ? ", " : "", pCol->zName);
    n++;
  }
  *pazOut = az;
  *pnOut = n;
  if (*z || b.rc) {
    dbx_buf_free(&b);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  sqlite3_free(*pzList);
  *pzList = b.n ? dbx_buf_take(&b) : sqlite3_mprintf("");
  dbx_buf_free(&b);
  return *pzList ? SQLITE_OK
                 : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
}

/* The header key of p that zKey (nKey bytes) names, or NULL. */
static char **model_header(DbxModel *p, const char *zKey, size_t nKey) {
  static const char *const azKey[] = {"description", "merge_keys",
                                      "version_columns", "ingested_at"};
  char **apField[] = {&p->zDescription, &p->zMergeKeys, &p->zVersionColumns,
                      &p->zIngestedAt};
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(azKey); i++) {
    if (strlen(azKey[i]) == nKey && memcmp(azKey[i], zKey, nKey) == 0) {
      return apField[i];
    }
  }
  return NULL;
}

/* Reads the text of model zName into p. Returns SQLITE_OK or an error. */
static int model_read(DbxModel *p, const char *zText, DbxError *pErr) {
  const char *z = zText;
  DbxBuf b = {0};
  int i;
  /* header lines: "-- key: value" */
  while (z[0] == '-' && z[1] == '-') {
    const char *zKey, *zVal, *zEol = strchr(z, '\n');
    size_t nKey, nVal;
    char **pz;
    if (zEol == NULL) zEol = z + strlen(z);
    for (zKey = z + 2; *zKey == ' '; zKey++) {
    }
    for (zVal = zKey; zVal < zEol && *zVal != ':'; zVal++) {
    }
    nKey = (size_t)(zVal - zKey);
    pz = zVal < zEol ? model_header(p, zKey, nKey) : NULL;
    if (pz == NULL || *pz) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "model %s: bad header line '%.*s'", p->zName,
                           (int)(zEol - z), z);
    }
    for (zVal++; *zVal == ' '; zVal++) {
    }
    for (nVal = (size_t)(zEol - zVal);
         nVal > 0 && isspace((unsigned char)zVal[nVal - 1]); nVal--) {
    }
    *pz = sqlite3_mprintf("%.*s", (int)nVal, zVal);
    if (*pz == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    z = *zEol ? zEol + 1 : zEol;
  }
  {
    char **apField[] = {&p->zDescription, &p->zMergeKeys, &p->zVersionColumns,
                        &p->zIngestedAt};
    for (i = 0; i < (int)DBX_ARRAY_SIZE(apField); i++) {
      if (*apField[i] == NULL) *apField[i] = sqlite3_mprintf("");
      if (*apField[i] == NULL) {
        return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      }
    }
  }
  {
    DbxError e = {0};
    if (dbx_sql_cols_parse(z, &p->aCol, &p->nCol, &e)) {
      return dbx_error_set(pErr, e.rc, "model %s: %s", p->zName, e.zMsg);
    }
  }
  /* the column list again, on one line, as create='...' takes it */
  for (i = 0; i < p->nCol; i++) {
    const char *q = p->aCol[i].zName;
    int bPlain = 1;
    for (; *q; q++) {
      if (!isalnum((unsigned char)*q) && *q != '_') bPlain = 0;
    }
    if (i) dbx_buf_append(&b, ", ", 2);
    if (bPlain) {
      dbx_buf_appendf(&b, "%s", p->aCol[i].zName);
    } else {
      dbx_sql_ident(&b, p->aCol[i].zName);
    }
    dbx_buf_appendf(&b, " %s", p->aCol[i].zType);
  }
  if (b.rc) {
    dbx_buf_free(&b);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  p->zColumns = dbx_buf_take(&b);
  if (model_names(p, &p->zMergeKeys, DBX_KIND_NULL, "merge key", &p->azMergeKey,
                  &p->nMergeKey, pErr) ||
      model_names(p, &p->zVersionColumns, DBX_KIND_INTEGER, "version column",
                  &p->azVersion, &p->nVersion, pErr)) {
    return SQLITE_ERROR;
  }
  if (p->zIngestedAt[0]) {
    const DbxSqlCol *pCol =
        model_column(p, p->zIngestedAt, strlen(p->zIngestedAt));
    if (pCol == NULL ||
        dbx_sql_type_head(pCol->zType, NULL)->eKind != DBX_KIND_TIMESTAMP) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "model %s: ingested_at '%s' is not a TIMESTAMP "
                           "column",
                           p->zName, p->zIngestedAt);
    }
  }
  if (p->nVersion > 0 && p->nMergeKey == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "model %s: version columns need merge keys", p->zName);
  }
  return SQLITE_OK;
}

int dbx_model_parse(const char *zName, const char *zText, DbxModel **ppModel,
                    DbxError *pErr) {
  DbxModel *p;
  *ppModel = NULL;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  p->zName = zName;
  if (model_read(p, zText ? zText : "", pErr)) {
    dbx_model_free(p);
    return pErr->rc ? pErr->rc : SQLITE_ERROR;
  }
  *ppModel = p;
  return SQLITE_OK;
}

int dbx_model_find(const char *zName, DbxModel **ppModel, DbxError *pErr) {
  DbxBuf b = {0};
  int i;
  *ppModel = NULL;
  for (i = 0; i < dbx_model_text_count; i++) {
    if (zName && strcmp(zName, dbx_model_text[i].zName) == 0) {
      return dbx_model_parse(dbx_model_text[i].zName, dbx_model_text[i].zText,
                             ppModel, pErr);
    }
  }
  for (i = 0; i < dbx_model_text_count; i++) {
    dbx_buf_appendf(&b, "%s%s", i ? ", " : "", dbx_model_text[i].zName);
  }
  dbx_error_set(pErr, b.rc ? b.rc : SQLITE_ERROR,
                "unknown model '%s': use one of %s", zName ? zName : "",
                b.z ? b.z : "(none)");
  dbx_buf_free(&b);
  return pErr->rc;
}
