/*
** vtab_args.c: the arguments of the `databricks` virtual table.
**
**   CREATE VIRTUAL TABLE orders USING databricks(
**     table='main.sales.orders', profile='prod', wait_timeout='10s');
**
** Each argument is key=value; the value may be quoted with ' or " (a
** doubled quote inside stands for one). A key names what the table reads
** (table=, query=), a statement option (statements.h) or a config setting
** (config.h, where literal secrets are refused). The keys are rows of
** aArgDef below: a new kind of source or option is a new row and, when it
** needs one, a new handler, not a longer function.
**
** An argument's text is echoed in an error only when it is a name: an
** argument without a key may be a token (databricks('dapi...')).
**
** dbx_grants_sql(principal, 'orders') reads a table's arguments back from
** the text sqlite_schema stores (dbx_vtab_args_from_sql), split where
** SQLite splits them and parsed by the same table.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "vtab.h"

/* ---------------------------------------------------------------------
** Reading one argument
*/

/* A copy of z[0..n) with surrounding blanks removed and, when quoted with
** ' or ", the quotes removed and doubled quotes undone. */
static char *arg_value(const char *z, size_t n) {
  char *zOut, q;
  size_t i, j;
  while (n && (*z == ' ' || *z == '\t' || *z == '\n' || *z == '\r'))
    z++, n--;
  while (n && (z[n - 1] == ' ' || z[n - 1] == '\t' || z[n - 1] == '\n' ||
               z[n - 1] == '\r')) {
    n--;
  }
  zOut = sqlite3_malloc64(n + 1);
  if (zOut == NULL) return NULL;
  q = n >= 2 ? z[0] : 0;
  if ((q == '\'' || q == '"') && z[n - 1] == q) {
    for (i = 1, j = 0; i + 1 < n; i++) {
      zOut[j++] = z[i];
      if (z[i] == q && z[i + 1] == q) i++;
    }
    zOut[j] = 0;
  } else {
    memcpy(zOut, z, n);
    zOut[n] = 0;
  }
  return zOut;
}

/* Whether z is an option name: a letter or '_', then letters, digits and
** '_'. Only such a key may be echoed in an error: anything else may be
** part of a secret written without its key. */
static int arg_is_name(const char *z) {
  if (!((*z >= 'a' && *z <= 'z') || (*z >= 'A' && *z <= 'Z') || *z == '_'))
    return 0;
  for (z++; *z; z++) {
    if (!((*z >= 'a' && *z <= 'z') || (*z >= 'A' && *z <= 'Z') ||
          (*z >= '0' && *z <= '9') || *z == '_')) {
      return 0;
    }
  }
  return 1;
}

/* ---------------------------------------------------------------------
** The table of known arguments
*/

/* The parse in progress, as the handlers of aArgDef see it. */
typedef struct ArgParse {
  DbxVtabArgs *a;    /* the arguments parsed so far */
  DbxConfig *pCheck; /* settings are tried on this scratch config */
} ArgParse;

/*
** A handler: takes argument zKey = zVal (both borrowed from *p->a, which
** keeps them). Returns SQLITE_OK or an error in pErr, which ends the parse.
*/
typedef int (*ArgHandler)(ArgParse *p, const char *zKey, const char *zVal,
                          DbxError *pErr);

/* table='catalog.schema.table' (or a shorter name): a Unity Catalog table. */
static int arg_table(ArgParse *p, const char *zKey, const char *zVal,
                     DbxError *pErr) {
  DBX_UNUSED(zKey);
  DBX_UNUSED(pErr);
  p->a->zTable = zVal;
  return SQLITE_OK;
}

/* query='SELECT ...': the rows of a remote query. */
static int arg_query(ArgParse *p, const char *zKey, const char *zVal,
                     DbxError *pErr) {
  DBX_UNUSED(zKey);
  DBX_UNUSED(pErr);
  p->a->zQuery = zVal;
  return SQLITE_OK;
}

/* Reads a true/false argument into *pb. */
static int arg_bool(const char *zKey, const char *zVal, int *pb,
                    DbxError *pErr) {
  if (sqlite3_stricmp(zVal, "true") == 0 || strcmp(zVal, "1") == 0) {
    *pb = 1;
  } else if (sqlite3_stricmp(zVal, "false") == 0 || strcmp(zVal, "0") == 0) {
    *pb = 0;
  } else {
    return dbx_error_set(pErr, SQLITE_ERROR, "%s must be true or false", zKey);
  }
  return SQLITE_OK;
}

/* changes=true: the Change Data Feed of the table= table (cdf.h). */
static int arg_changes(ArgParse *p, const char *zKey, const char *zVal,
                       DbxError *pErr) {
  return arg_bool(zKey, zVal, &p->a->bChanges, pErr);
}

/* create='col TYPE, ...': checked as the CREATE TABLE will read it. */
static int arg_create(ArgParse *p, const char *zKey, const char *zVal,
                      DbxError *pErr) {
  DbxSqlCol *aCol = NULL;
  int nCol = 0;
  int rc = dbx_sql_cols_parse(zVal, &aCol, &nCol, pErr);
  DBX_UNUSED(zKey);
  sqlite3_free(aCol);
  if (rc == SQLITE_OK) p->a->zCreate = zVal;
  return rc;
}

/* model='name': one of the models of sql/models/. */
static int arg_model(ArgParse *p, const char *zKey, const char *zVal,
                     DbxError *pErr) {
  DbxModel *pModel = NULL;
  int rc = dbx_model_find(zVal, &pModel, pErr);
  DBX_UNUSED(zKey);
  dbx_model_free(pModel);
  if (rc == SQLITE_OK) p->a->zModel = zVal;
  return rc;
}

/* The other write arguments: names, flags and a count. */
static int arg_write(ArgParse *p, const char *zKey, const char *zVal,
                     DbxError *pErr) {
  DbxVtabArgs *a = p->a;
  if (strcmp(zKey, "change_data_feed") == 0) {
    return arg_bool(zKey, zVal, &a->bCdf, pErr);
  }
  if (strcmp(zKey, "json_as") == 0) {
    if (sqlite3_stricmp(zVal, "variant") && sqlite3_stricmp(zVal, "string")) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "json_as must be 'variant' or 'string'");
    }
    a->bJsonString = sqlite3_stricmp(zVal, "string") == 0;
    return SQLITE_OK;
  }
  if (strcmp(zKey, "parallel_uploads") == 0) {
    int n = atoi(zVal);
    if (n < 1 || n > 64 || strspn(zVal, "0123456789") != strlen(zVal)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "parallel_uploads must be a number from 1 to 64");
    }
    a->nParallel = n;
    return SQLITE_OK;
  }
  if (strcmp(zKey, "mode") == 0) {
    if (strcmp(zVal, "append") && strcmp(zVal, "merge")) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "mode must be 'append' or 'merge'");
    }
    a->zMode = zVal;
    return SQLITE_OK;
  }
  if (zVal[0] == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR, "%s is empty: give a name", zKey);
  }
  if (strcmp(zKey, "merge_keys") == 0) {
    a->zMergeKeys = zVal;
    return SQLITE_OK;
  }
  if (strcmp(zKey, "version_columns") == 0) {
    a->zVersionColumns = zVal;
    return SQLITE_OK;
  }
  if (strcmp(zKey, "ingested_at") == 0) {
    a->zIngestedAt = zVal;
  } else {
    char *azPart[3];
    int nPart = 0;
    int rc = dbx_sql_name_split(zVal, azPart, &nPart, pErr);
    if (rc) return rc;
    dbx_sql_name_free(azPart);
    if (nPart != 3) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "staging_volume must be catalog.schema.volume");
    }
    a->zStagingVolume = zVal;
  }
  return SQLITE_OK;
}

/* A config setting: checked now, so that an unknown value or a literal
** secret is refused at CREATE time; resolved at the first use. */
static int arg_setting(ArgParse *p, const char *zKey, const char *zVal,
                       DbxError *pErr) {
  return dbx_config_set(p->pCheck, zKey, zVal, DBX_SRC_OPTION, pErr);
}

/*
** The known arguments, looked up in order: a row with zName takes that key;
** a row without one takes every key its xIs accepts (the lists are kept
** by statements.c and config.c). Statement options are checked after the
** table or query is known (dbx_args_option_add), so they need no handler.
*/
static const struct ArgDef {
  const char *zName;            /* the key, or NULL for a family of keys */
  int (*xIs)(const char *zKey); /* a family: whether zKey belongs to it */
  DbxVtabArgKind eKind;         /* what the argument is for */
  ArgHandler xHandler;          /* NULL: nothing to do while parsing */
} aArgDef[] = {
    {"table", NULL, DBX_VTAB_ARG_SOURCE, arg_table},
    {"query", NULL, DBX_VTAB_ARG_SOURCE, arg_query},
    {"changes", NULL, DBX_VTAB_ARG_SOURCE, arg_changes},
    {"create", NULL, DBX_VTAB_ARG_WRITE, arg_create},
    {"model", NULL, DBX_VTAB_ARG_WRITE, arg_model},
    {"change_data_feed", NULL, DBX_VTAB_ARG_WRITE, arg_write},
    {"json_as", NULL, DBX_VTAB_ARG_WRITE, arg_write},
    {"ingested_at", NULL, DBX_VTAB_ARG_WRITE, arg_write},
    {"staging_volume", NULL, DBX_VTAB_ARG_WRITE, arg_write},
    {"parallel_uploads", NULL, DBX_VTAB_ARG_WRITE, arg_write},
    {"mode", NULL, DBX_VTAB_ARG_WRITE, arg_write},
    {"merge_keys", NULL, DBX_VTAB_ARG_WRITE, arg_write},
    {"version_columns", NULL, DBX_VTAB_ARG_WRITE, arg_write},
    {NULL, dbx_stmt_is_option, DBX_VTAB_ARG_STMT, NULL},
    {NULL, dbx_config_is_key, DBX_VTAB_ARG_SETTING, arg_setting},
};

/* The row of aArgDef that takes zKey, or NULL. */
static const struct ArgDef *arg_def(const char *zKey) {
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(aArgDef); i++) {
    if (aArgDef[i].zName ? strcmp(aArgDef[i].zName, zKey) == 0
                         : aArgDef[i].xIs(zKey)) {
      return &aArgDef[i];
    }
  }
  return NULL;
}

/* The error for an unknown key: it lists the named rows of aArgDef, then
** the statement options and the config settings. */
static int arg_unknown(const char *zKey, DbxError *pErr) {
  char zKnown[800];
  DbxBuf named = {0};
  size_t i;
  int rc;
  for (i = 0; i < DBX_ARRAY_SIZE(aArgDef); i++) {
    if (aArgDef[i].zName) dbx_buf_appendf(&named, "%s, ", aArgDef[i].zName);
  }
  if (named.rc) {
    dbx_buf_free(&named);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  dbx_config_known_keys(zKnown, sizeof(zKnown));
  rc = dbx_error_set(pErr, SQLITE_ERROR,
                     "unknown option '%s': known options are "
                     "%s" DBX_STMT_OPTION_NAMES ", warehouse, %s",
                     zKey, named.z ? named.z : "", zKnown);
  dbx_buf_free(&named);
  return rc;
}

/* ---------------------------------------------------------------------
** Parsing
*/

void dbx_vtab_args_free(DbxVtabArgs *a) {
  int i;
  dbx_args_options_free(&a->opts);
  for (i = 0; i < a->nArg; i++) {
    sqlite3_free(a->azKey[i]);
    dbx_free_secret(a->azVal[i]); /* may be an env:/file: reference */
  }
  sqlite3_free(a->azKey);
  sqlite3_free(a->azVal);
  sqlite3_free(a->aeKind);
  memset(a, 0, sizeof(*a));
}

/*
** Reads argv[i] into the next slot of *a: its key lower-cased, its value
** dequoted. An argument without '=', or whose key is not a name, is named
** by its position (1 for the first argument) and never shown.
*/
static int arg_read(DbxVtabArgs *a, const char *zArg, int iPos,
                    DbxError *pErr) {
  const char *zEq = strchr(zArg, '=');
  char *zKey = NULL, *zVal = NULL, *p;
  if (zEq) {
    zKey = arg_value(zArg, (size_t)(zEq - zArg));
    zVal = arg_value(zEq + 1, strlen(zEq + 1));
    if (zKey == NULL || zVal == NULL) {
      sqlite3_free(zKey);
      dbx_free_secret(zVal);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  if (zEq == NULL || !arg_is_name(zKey)) {
    /* The text may be a secret (a token without its key), so the
    ** message says which argument, never what it holds. */
    sqlite3_free(zKey);
    dbx_free_secret(zVal);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "argument %d is not key=value: write it as "
                         "name='value', for example "
                         "databricks(table='main.default.orders')",
                         iPos);
  }
  for (p = zKey; *p; p++) {
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  }
  a->azKey[a->nArg] = zKey;
  a->azVal[a->nArg] = zVal;
  a->aeKind[a->nArg] = 0;
  a->nArg++;
  return SQLITE_OK;
}

int dbx_vtab_args_parse(int argc, const char *const *argv, DbxVtabArgs *a,
                        DbxError *pErr) {
  ArgParse parse;
  int i, j, rc = SQLITE_OK;
  sqlite3_uint64 nSlot = (sqlite3_uint64)(argc > 3 ? argc - 3 : 0) + 1;
  memset(a, 0, sizeof(*a));
  memset(&parse, 0, sizeof(parse));
  parse.a = a;
  a->nParallel = 4;
  a->azKey = sqlite3_malloc64(sizeof(char *) * nSlot);
  a->azVal = sqlite3_malloc64(sizeof(char *) * nSlot);
  a->aeKind = sqlite3_malloc64(sizeof(DbxVtabArgKind) * nSlot);
  if (!a->azKey || !a->azVal || !a->aeKind ||
      dbx_config_new(&parse.pCheck) != SQLITE_OK) {
    dbx_config_free(parse.pCheck);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  for (i = 3; i < argc && rc == SQLITE_OK; i++) {
    const struct ArgDef *pDef;
    const char *zKey;
    rc = arg_read(a, argv[i], i - 2, pErr);
    if (rc) break;
    zKey = a->azKey[a->nArg - 1];
    for (j = 0; j < a->nArg - 1; j++) {
      if (strcmp(a->azKey[j], zKey) == 0) {
        rc = dbx_error_set(pErr, SQLITE_ERROR,
                           "option '%s' is given twice: keep one", zKey);
      }
    }
    if (rc) break;
    pDef = arg_def(zKey);
    if (pDef == NULL) {
      rc = arg_unknown(zKey, pErr);
      break;
    }
    a->aeKind[a->nArg - 1] = pDef->eKind;
    if (pDef->xHandler) {
      rc = pDef->xHandler(&parse, zKey, a->azVal[a->nArg - 1], pErr);
    }
  }
  dbx_config_free(parse.pCheck);
  if (rc == SQLITE_OK && (a->zTable == NULL) == (a->zQuery == NULL)) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "give exactly one of table='catalog.schema.table' or "
                       "query='SELECT ...'");
  }
  if (rc == SQLITE_OK && a->zCreate && a->zModel) {
    rc = dbx_error_set(pErr, SQLITE_ERROR, "give create= or model=, not both");
  }
  if (rc == SQLITE_OK && a->zQuery &&
      (a->zCreate || a->zModel || a->zIngestedAt || a->zStagingVolume ||
       a->zMode || a->zMergeKeys || a->zVersionColumns)) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "a query= table is read-only: create=, model=, "
                       "ingested_at= and staging_volume= need "
                       "table='catalog.schema.table'");
  }
  if (rc == SQLITE_OK && a->bChanges && a->zQuery) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "changes=true reads the change feed of a table: give "
                       "table='catalog.schema.table', not query=");
  }
  if (rc == SQLITE_OK && a->bChanges &&
      (a->zCreate || a->zModel || a->zIngestedAt || a->zStagingVolume ||
       a->zMode || a->zMergeKeys || a->zVersionColumns || a->bCdf)) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "a changes=true table is read-only: give the write "
                       "options to a table without changes=true");
  }
  if (rc == SQLITE_OK && a->zQuery && a->zQuery[0] == 0) {
    rc = dbx_error_set(pErr, SQLITE_ERROR, "query= is empty: give a SELECT");
  }
  if (rc == SQLITE_OK) {
    /* merge_keys=, version_columns= and mode= hold together */
    char **azKey = NULL, **azVersion = NULL;
    int bMerge, nKey, nVersion;
    rc = dbx_vtab_merge_names(a, &bMerge, &azKey, &nKey, &azVersion, &nVersion,
                              pErr);
    /* (a model's version columns are left out with its keys) */
    if (rc == SQLITE_OK && a->zVersionColumns && !bMerge) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "version_columns needs merge_keys='col, ...'");
    }
    sqlite3_free(azKey);
    sqlite3_free(azVersion);
  }
  /* Settings and statement options, in order; the latter checked now. */
  if (rc == SQLITE_OK) {
    rc = dbx_args_options_init(&a->opts, a->nArg, DBX_ARGS_STMT, pErr);
  }
  for (i = 0; rc == SQLITE_OK && i < a->nArg; i++) {
    if (a->aeKind[i] == DBX_VTAB_ARG_SOURCE ||
        a->aeKind[i] == DBX_VTAB_ARG_WRITE) {
      continue;
    }
    rc = dbx_args_option_add(&a->opts, a->azKey[i], a->azVal[i], pErr);
  }
  return rc;
}

/* ---------------------------------------------------------------------
** The columns of a write
*/

int dbx_vtab_spec_columns(const DbxVtabArgs *a, DbxSqlCol **paCol, int *pnCol,
                          const char **pzIngested, DbxError *pErr) {
  DbxSqlCol *aParsed = NULL, *aOut = NULL;
  const DbxSqlCol *aSrc = NULL;
  DbxModel *pModel = NULL;
  const char *zIngested = a->zIngestedAt;
  size_t nByte = 0;
  int i, nSrc = 0, nOut, bAddIngested = 0, rc = SQLITE_OK;
  char *z;
  *paCol = NULL;
  *pnCol = 0;
  if (pzIngested) *pzIngested = NULL;
  if (a->zCreate) {
    rc = dbx_sql_cols_parse(a->zCreate, &aParsed, &nSrc, pErr);
    aSrc = aParsed;
  } else if (a->zModel) {
    rc = dbx_model_find(a->zModel, &pModel, pErr);
    if (rc == SQLITE_OK) {
      aSrc = pModel->aCol;
      nSrc = pModel->nCol;
      if (zIngested == NULL && pModel->zIngestedAt[0]) {
        zIngested = pModel->zIngestedAt;
      }
    }
  }
  if (rc) goto done;
  if (zIngested) {
    bAddIngested = 1;
    for (i = 0; i < nSrc; i++) {
      if (sqlite3_stricmp(aSrc[i].zName, zIngested) == 0) bAddIngested = 0;
    }
  }
  nOut = nSrc + bAddIngested;
  if (nOut == 0) goto done;
  for (i = 0; i < nSrc; i++) {
    nByte += strlen(aSrc[i].zName) + strlen(aSrc[i].zType) + 2;
  }
  if (bAddIngested) nByte += strlen(zIngested) + sizeof("TIMESTAMP") + 1;
  aOut = sqlite3_malloc64(sizeof(DbxSqlCol) * (sqlite3_uint64)nOut + nByte);
  if (aOut == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  z = (char *)&aOut[nOut];
  for (i = 0; i < nOut; i++) {
    const char *zName = i < nSrc ? aSrc[i].zName : zIngested;
    const char *zType = i < nSrc ? aSrc[i].zType : "TIMESTAMP";
    const DbxSqlType *pHead = dbx_sql_type_head(zType, NULL);
    if (a->bJsonString && pHead && strcmp(pHead->zName, "VARIANT") == 0) {
      zType = "STRING";
    }
    aOut[i].zName = z;
    z += sprintf(z, "%s", zName) + 1;
    aOut[i].zType = z;
    z += sprintf(z, "%s", zType) + 1;
    if (zIngested && pzIngested && sqlite3_stricmp(zName, zIngested) == 0) {
      *pzIngested = aOut[i].zName;
    }
  }
  *paCol = aOut;
  *pnCol = nOut;
done:
  sqlite3_free(aParsed);
  dbx_model_free(pModel);
  return rc;
}

int dbx_vtab_merge_names(const DbxVtabArgs *a, int *pbMerge, char ***pazKey,
                         int *pnKey, char ***pazVersion, int *pnVersion,
                         DbxError *pErr) {
  DbxModel *pModel = NULL;
  const char *zKeys = a->zMergeKeys, *zVersions = a->zVersionColumns;
  int rc = SQLITE_OK;
  *pbMerge = 0;
  *pazKey = *pazVersion = NULL;
  *pnKey = *pnVersion = 0;
  if (zKeys == NULL && a->zModel) {
    rc = dbx_model_find(a->zModel, &pModel, pErr);
    if (rc) return rc;
    if (pModel->zMergeKeys[0]) {
      zKeys = pModel->zMergeKeys;
      if (zVersions == NULL && pModel->zVersionColumns[0]) {
        zVersions = pModel->zVersionColumns;
      }
    }
  }
  if (zKeys == NULL && a->zMode && strcmp(a->zMode, "merge") == 0) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "mode='merge' needs merge_keys='col, ...'");
  }
  if (rc == SQLITE_OK && zKeys) {
    rc = dbx_sql_name_list(zKeys, "merge_keys", pazKey, pnKey, pErr);
  }
  if (rc == SQLITE_OK && zVersions) {
    rc = dbx_sql_name_list(zVersions, "version_columns", pazVersion, pnVersion,
                           pErr);
  }
  dbx_model_free(pModel);
  if (rc) {
    sqlite3_free(*pazKey);
    sqlite3_free(*pazVersion);
    *pazKey = *pazVersion = NULL;
    *pnKey = *pnVersion = 0;
    return rc;
  }
  *pbMerge = *pnKey > 0 && !(a->zMode && strcmp(a->zMode, "append") == 0);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** The arguments of a stored definition
*/

/*
** The end of the token at z[i] (z[i] is not blank): a quoted name or
** string ('...', "...", `...` with the quote doubled inside, [...]), a
** word, or one other character. An unclosed quote ends at the end.
*/
static size_t sql_token_end(const char *z, size_t i) {
  char q = z[i] == '[' ? ']' : z[i];
  if (z[i] == 0) return i; /* the end: no token */
  if (q == '\'' || q == '"' || q == '`' || q == ']') {
    for (i++; z[i]; i++) {
      if (z[i] == q) {
        if (q != ']' && z[i + 1] == q) {
          i++;
          continue;
        }
        return i + 1;
      }
    }
    return i;
  }
  if ((z[i] >= 'a' && z[i] <= 'z') || (z[i] >= 'A' && z[i] <= 'Z') ||
      (z[i] >= '0' && z[i] <= '9') || z[i] == '_' || z[i] == '$' ||
      (unsigned char)z[i] >= 0x80) {
    while ((z[i] >= 'a' && z[i] <= 'z') || (z[i] >= 'A' && z[i] <= 'Z') ||
           (z[i] >= '0' && z[i] <= '9') || z[i] == '_' || z[i] == '$' ||
           (unsigned char)z[i] >= 0x80) {
      i++;
    }
    return i;
  }
  return i + 1;
}

/* Skips blanks and SQL comments from z[i]; returns the next index. */
static size_t sql_skip_blank(const char *z, size_t i) {
  for (;;) {
    if (z[i] == ' ' || z[i] == '\t' || z[i] == '\n' || z[i] == '\r' ||
        z[i] == '\f') {
      i++;
    } else if (z[i] == '-' && z[i + 1] == '-') {
      while (z[i] && z[i] != '\n')
        i++;
    } else if (z[i] == '/' && z[i + 1] == '*') {
      const char *zEnd = strstr(z + i + 2, "*/");
      i = zEnd ? (size_t)(zEnd - z) + 2 : strlen(z);
    } else {
      return i;
    }
  }
}

int dbx_vtab_args_from_sql(const char *zSql, char **pzModule, DbxVtabArgs *a,
                           DbxError *pErr) {
  static const char *const azHead[] = {"CREATE", "VIRTUAL", "TABLE"};
  const char **azArg = NULL;
  char *zCopy = NULL;
  size_t i = 0, iEnd, nSql = strlen(zSql);
  int nArg = 3, rc = SQLITE_OK, k;
  memset(a, 0, sizeof(*a));
  *pzModule = NULL;
  /* CREATE VIRTUAL TABLE <name, any tokens> USING <module> */
  for (k = 0; k < 3; k++) {
    i = sql_skip_blank(zSql, i);
    iEnd = sql_token_end(zSql, i);
    if (zSql[i] == 0 || iEnd - i != strlen(azHead[k]) ||
        sqlite3_strnicmp(zSql + i, azHead[k], (int)(iEnd - i)) != 0) {
      return dbx_error_set(pErr, SQLITE_ERROR, "not a virtual table");
    }
    i = iEnd;
  }
  for (;;) {
    i = sql_skip_blank(zSql, i);
    if (zSql[i] == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR, "not a virtual table");
    }
    iEnd = sql_token_end(zSql, i);
    if (iEnd - i == 5 && sqlite3_strnicmp(zSql + i, "USING", 5) == 0) break;
    i = iEnd;
  }
  i = sql_skip_blank(zSql, iEnd);
  iEnd = sql_token_end(zSql, i);
  if (iEnd == i) {
    return dbx_error_set(pErr, SQLITE_ERROR, "not a virtual table");
  }
  *pzModule = sqlite3_mprintf("%.*s", (int)(iEnd - i), zSql + i);
  /* the arguments: at most one per byte, split where SQLite splits them */
  azArg = sqlite3_malloc64(sizeof(char *) * (nSql + 4));
  zCopy = sqlite3_malloc64(nSql * 2 + 2);
  if (*pzModule == NULL || azArg == NULL || zCopy == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  azArg[0] = *pzModule;
  azArg[1] = "main";
  azArg[2] = "";
  i = sql_skip_blank(zSql, iEnd);
  if (zSql[i] == '(') {
    size_t iStart = 0, iLast = 0, nCopy = 0;
    int nDepth = 0, bAny = 0;
    for (i++;; i = iEnd) {
      i = sql_skip_blank(zSql, i);
      if (zSql[i] == 0) {
        /* cut short before its closing parenthesis */
        rc = dbx_error_set(pErr, SQLITE_ERROR, "not a virtual table");
        goto done;
      }
      iEnd = sql_token_end(zSql, i);
      if (nDepth == 0 && (zSql[i] == ',' || zSql[i] == ')')) {
        if (bAny) {
          memcpy(zCopy + nCopy, zSql + iStart, iLast - iStart);
          zCopy[nCopy + iLast - iStart] = 0;
          azArg[nArg++] = zCopy + nCopy;
          nCopy += iLast - iStart + 1;
        }
        bAny = 0;
        if (zSql[i] == ')') break;
        continue;
      }
      if (zSql[i] == '(') nDepth++;
      if (zSql[i] == ')') nDepth--;
      if (!bAny) iStart = i;
      bAny = 1;
      iLast = iEnd;
    }
  }
  rc = dbx_vtab_args_parse(nArg, azArg, a, pErr);
done:
  sqlite3_free(azArg);
  sqlite3_free(zCopy);
  return rc;
}
