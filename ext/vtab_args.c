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
*/
#include <string.h>

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
  if (rc == SQLITE_OK && a->zQuery && a->zQuery[0] == 0) {
    rc = dbx_error_set(pErr, SQLITE_ERROR, "query= is empty: give a SELECT");
  }
  /* Settings and statement options, in order; the latter checked now. */
  if (rc == SQLITE_OK) {
    rc = dbx_args_options_init(&a->opts, a->nArg, DBX_ARGS_STMT, pErr);
  }
  for (i = 0; rc == SQLITE_OK && i < a->nArg; i++) {
    if (a->aeKind[i] == DBX_VTAB_ARG_SOURCE) continue;
    rc = dbx_args_option_add(&a->opts, a->azKey[i], a->azVal[i], pErr);
  }
  return rc;
}
