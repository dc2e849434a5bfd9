/*
** vtab.c: the `databricks` virtual table module (read side).
**
**   CREATE VIRTUAL TABLE orders USING databricks(table='main.sales.orders');
**   CREATE VIRTUAL TABLE big USING databricks(
**     query='SELECT user_id, count(*) AS n FROM main.web.events GROUP BY 1',
**     warehouse='/sql/1.0/warehouses/abc123', profile='prod');
**   SELECT * FROM orders WHERE status IN ('open','held') ORDER BY id LIMIT 10;
**
** table= columns come from the Unity Catalog table API, query= columns from
** running the query wrapped as `SELECT * FROM (<query>) AS _dbx_q LIMIT 0`
** (LIMIT 0 rather than row_limit=0, whose meaning the API leaves open).
** Declared types say the remote type (`amount DECIMAL(10,2)`); see
** dbx_pushdown_decltype for the few that need a TEXT suffix.
**
** xBestIndex hands the constraints, ORDER BY and LIMIT/OFFSET to
** pushdown.c, which says what can run remotely without changing SQLite's
** answer; the plan travels to xFilter as idxStr, where the actual values
** become typed statement parameters. The cursor streams rows from the
** statement handle (statements.h), one chunk at a time.
**
** The module is SQLITE_VTAB_DIRECTONLY (it talks to the network) and, for
** now, read-only: writes are refused with an error that says what to use.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "pushdown.h"
#include "session.h"

/* The parsed arguments of CREATE VIRTUAL TABLE. */
typedef struct VtabArgs {
  int nArg;           /* pairs in azKey/azVal */
  char **azKey;       /* owned; lower-case keys */
  char **azVal;       /* owned; dequoted values */
  const char *zTable; /* borrowed from azVal: table= */
  const char *zQuery; /* borrowed from azVal: query= */
} VtabArgs;

/* One `databricks` virtual table. */
typedef struct DbxVtab {
  sqlite3_vtab base;     /* must come first */
  sqlite3 *db;           /* the connection (interrupt probe) */
  DbxSession *pSession;  /* borrowed: the module's client data */
  char *zDb;             /* owned; schema holding the table ("main") */
  char *zVtabName;       /* owned; the table's name in SQLite */
  VtabArgs args;         /* owned; the CREATE VIRTUAL TABLE arguments */
  DbxConfig *pConfig;    /* owned; resolved settings, NULL until first use */
  DbxClient *pClient;    /* borrowed from the session; NULL until first use */
  char *zCatalog;        /* owned; table=: resolved catalog */
  char *zSchema;         /* owned; table=: resolved schema */
  char *zName;           /* owned; table=: the table's own name */
  DbxError broken;       /* why the stored columns are missing, or clear */
  int bListed;           /* in the session's list of connected tables */
  struct DbxVtab *pNext; /* next connected table of the session */
  int nStmtOpt;          /* statement options in azStmtOpt (pairs) */
  char **azStmtOpt;      /* owned; key, value, key, value ... */
  char *zDisplay;        /* owned; what errors call the table */
  DbxRemote remote;      /* what pushdown.c reads; strings below */
  char *zTable;          /* owned; quoted three-part name, or NULL */
  char *zQuery;          /* owned; query= text, or NULL */
  char **azCol;          /* owned; remote column names */
  DbxColClass *aClass;   /* owned; class of each column */
} DbxVtab;

/* A scan in progress. */
typedef struct DbxCursor {
  sqlite3_vtab_cursor base; /* must come first */
  DbxStmt *pStmt;           /* owned; the remote statement, or NULL */
  int bEof;                 /* no current row */
  int *aiOut;               /* owned; vtab column -> result column or -1 */
  sqlite3_stmt *pProbe;     /* owned; interrupt probe */
} DbxCursor;

/* ---------------------------------------------------------------------
** Arguments
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

/* Frees parsed arguments; values are wiped (they may name secrets). */
static void args_free(VtabArgs *a) {
  int i;
  for (i = 0; i < a->nArg; i++) {
    sqlite3_free(a->azKey[i]);
    dbx_free_secret(a->azVal[i]); /* may be an env:/file: reference */
  }
  sqlite3_free(a->azKey);
  sqlite3_free(a->azVal);
  memset(a, 0, sizeof(*a));
}

/*
** Parses key=value arguments. Checks each config key against config.h
** (unknown keys and literal secrets are refused there) so the error comes
** at CREATE time with the list of known options.
*/
static int args_parse(int argc, const char *const *argv, VtabArgs *a,
                      DbxError *pErr) {
  int i, j, rc = SQLITE_OK;
  DbxConfig *pCheck = NULL;
  memset(a, 0, sizeof(*a));
  a->azKey = sqlite3_malloc64(sizeof(char *) * (sqlite3_uint64)(argc + 1));
  a->azVal = sqlite3_malloc64(sizeof(char *) * (sqlite3_uint64)(argc + 1));
  if (!a->azKey || !a->azVal || dbx_config_new(&pCheck) != SQLITE_OK) {
    dbx_config_free(pCheck);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  for (i = 3; i < argc && rc == SQLITE_OK; i++) {
    const char *zEq = strchr(argv[i], '=');
    char *zKey = NULL, *zVal = NULL, *p;
    if (zEq) {
      zKey = arg_value(argv[i], (size_t)(zEq - argv[i]));
      zVal = arg_value(zEq + 1, strlen(zEq + 1));
      if (zKey == NULL || zVal == NULL) {
        sqlite3_free(zKey);
        dbx_free_secret(zVal);
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
        break;
      }
    }
    if (zEq == NULL || !arg_is_name(zKey)) {
      /* The text may be a secret (a token without its key), so the
      ** message says which argument, never what it holds. */
      sqlite3_free(zKey);
      dbx_free_secret(zVal);
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "argument %d is not key=value: write it as "
                         "name='value', for example "
                         "databricks(table='main.default.orders')",
                         i - 2);
      break;
    }
    for (p = zKey; *p; p++) {
      if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    }
    a->azKey[a->nArg] = zKey;
    a->azVal[a->nArg] = zVal;
    a->nArg++;
    for (j = 0; j < a->nArg - 1; j++) {
      if (strcmp(a->azKey[j], zKey) == 0) {
        rc = dbx_error_set(pErr, SQLITE_ERROR,
                           "option '%s' is given twice: keep one", zKey);
      }
    }
    if (rc) break;
    if (strcmp(zKey, "table") == 0) {
      a->zTable = zVal;
    } else if (strcmp(zKey, "query") == 0) {
      a->zQuery = zVal;
    } else if (!dbx_stmt_is_option(zKey) && !dbx_config_is_key(zKey)) {
      char zKnown[800];
      dbx_config_known_keys(zKnown, sizeof(zKnown));
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "unknown option '%s': known options are table, "
                         "query, " DBX_STMT_OPTION_NAMES ", warehouse, %s",
                         zKey, zKnown);
    } else if (!dbx_stmt_is_option(zKey)) {
      rc = dbx_config_set(pCheck, zKey, zVal, DBX_SRC_OPTION, pErr);
    }
  }
  dbx_config_free(pCheck);
  if (rc == SQLITE_OK && (a->zTable == NULL) == (a->zQuery == NULL)) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "give exactly one of table='catalog.schema.table' or "
                       "query='SELECT ...'");
  }
  if (rc == SQLITE_OK && a->zQuery && a->zQuery[0] == 0) {
    rc = dbx_error_set(pErr, SQLITE_ERROR, "query= is empty: give a SELECT");
  }
  return rc;
}

/* ---------------------------------------------------------------------
** Connecting: options, columns, the declared schema
*/

/* Frees a vtab and everything it owns (NULL is fine). */
static void vtab_free(DbxVtab *p) {
  int i;
  if (p == NULL) return;
  for (i = 0; i < p->nStmtOpt * 2; i++)
    sqlite3_free(p->azStmtOpt[i]);
  sqlite3_free(p->azStmtOpt);
  for (i = 0; i < p->remote.nCol; i++)
    sqlite3_free(p->azCol[i]);
  sqlite3_free(p->azCol);
  sqlite3_free(p->aClass);
  sqlite3_free(p->zTable);
  sqlite3_free(p->zQuery);
  sqlite3_free(p->zDisplay);
  sqlite3_free(p->zCatalog);
  sqlite3_free(p->zSchema);
  sqlite3_free(p->zName);
  sqlite3_free(p->zDb);
  sqlite3_free(p->zVtabName);
  args_free(&p->args);
  dbx_config_free(p->pConfig);
  if (p->bListed) {
    struct DbxVtab **pp = (struct DbxVtab **)dbx_session_tables(p->pSession);
    while (*pp && *pp != p)
      pp = &(*pp)->pNext;
    if (*pp) *pp = p->pNext;
  }
  sqlite3_free(p->base.zErrMsg);
  sqlite3_free(p);
}

/* Fills the statement options of a scan or of the schema query: session
** settings, then this table's statement options, then the probe. */
static int vtab_stmt_options(DbxVtab *p, DbxStmtOptions *pOpt,
                             sqlite3_stmt *pProbe, DbxError *pErr) {
  int i, rc = SQLITE_OK;
  dbx_stmt_options_init(pOpt);
  dbx_session_stmt_options(p->pSession, p->pConfig, pOpt);
  for (i = 0; i < p->nStmtOpt && rc == SQLITE_OK; i++) {
    rc = dbx_stmt_option(pOpt, p->azStmtOpt[2 * i], p->azStmtOpt[2 * i + 1],
                         pErr);
  }
  pOpt->xInterrupt = dbx_probe_interrupted;
  pOpt->pInterruptArg = pProbe;
  return rc;
}

/* Allocates the column arrays for nCol columns; SQLITE_NOMEM on failure. */
static int vtab_alloc_cols(DbxVtab *p, int nCol) {
  p->azCol = sqlite3_malloc64(sizeof(char *) * (sqlite3_uint64)(nCol + 1));
  p->aClass =
      sqlite3_malloc64(sizeof(DbxColClass) * (sqlite3_uint64)(nCol + 1));
  if (p->azCol == NULL || p->aClass == NULL) return SQLITE_NOMEM;
  memset(p->azCol, 0, sizeof(char *) * (size_t)(nCol + 1));
  return SQLITE_OK;
}

/*
** Resolves the settings of the table and finds its client, the first time
** the table needs the network (xCreate, or the first scan after
** xConnect): connecting a table only reads what xCreate stored. The
** options are those of the table definition, so the trust rule of
** dbx_session_connect_stored applies. Also sets p->zTable / p->zDisplay
** for table= (a one- or two-part name takes catalog and schema from the
** settings). Returns SQLITE_OK or an error in pErr.
*/
static int vtab_ready(DbxVtab *p, DbxError *pErr) {
  DbxOption *aOpt;
  char *azPart[3];
  int i, nOpt = 0, nPart, rc;
  if (p->pClient) return SQLITE_OK;
  aOpt =
      sqlite3_malloc64(sizeof(DbxOption) * (sqlite3_uint64)(p->args.nArg + 1));
  if (aOpt == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  for (i = 0; i < p->args.nArg; i++) {
    const char *zKey = p->args.azKey[i];
    if (!strcmp(zKey, "table") || !strcmp(zKey, "query")) continue;
    if (dbx_stmt_is_option(zKey)) continue; /* in azStmtOpt */
    aOpt[nOpt].zKey = zKey;
    aOpt[nOpt].zValue = p->args.azVal[i];
    nOpt++;
  }
  rc = dbx_session_connect_stored(p->pSession, aOpt, nOpt, &p->pConfig,
                                  &p->pClient, pErr);
  sqlite3_free(aOpt);
  if (rc || p->args.zTable == NULL) return rc;

  rc = dbx_pushdown_name_split(p->args.zTable, azPart, &nPart, pErr);
  if (rc) return rc;
  p->zCatalog = dbx_strdup(nPart == 3 ? azPart[0]
                                      : dbx_config_get(p->pConfig, "catalog"));
  p->zSchema = dbx_strdup(nPart == 3   ? azPart[1]
                          : nPart == 2 ? azPart[0]
                                       : dbx_config_get(p->pConfig, "schema"));
  p->zName = dbx_strdup(azPart[nPart - 1]);
  dbx_pushdown_name_free(azPart);
  if (p->zName == NULL)
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  if (p->zCatalog == NULL || p->zSchema == NULL) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "table '%s' needs a catalog and a schema: write "
                       "catalog.schema.table, or set catalog= and schema=",
                       p->args.zTable);
  } else {
    DbxBuf q = {0};
    dbx_pushdown_ident(&q, p->zCatalog);
    dbx_buf_append(&q, ".", 1);
    dbx_pushdown_ident(&q, p->zSchema);
    dbx_buf_append(&q, ".", 1);
    dbx_pushdown_ident(&q, p->zName);
    p->zTable = dbx_buf_take(&q);
    sqlite3_free(p->zDisplay);
    p->zDisplay =
        sqlite3_mprintf("%s.%s.%s", p->zCatalog, p->zSchema, p->zName);
    p->remote.zTable = p->zTable;
    if (!p->zTable || !p->zDisplay) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  if (rc) { /* try again, whole, at the next use */
    p->pClient = NULL;
    dbx_config_free(p->pConfig);
    p->pConfig = NULL;
  }
  return rc;
}

/*
** query=: runs the query under LIMIT 0 (its schema without its rows) and
** returns the statement in *ppStmt for the columns.
*/
static int vtab_run_schema_query(DbxVtab *p, DbxStmt **ppStmt, DbxError *pErr) {
  DbxRemote r;
  DbxPlan plan;
  DbxScanSql s;
  DbxStmtOptions o;
  char *zSql;
  int rc;
  memset(&r, 0, sizeof(r));
  memset(&plan, 0, sizeof(plan));
  r.zQuery = p->zQuery;
  r.bNoProject = 1;
  rc = dbx_pushdown_build(&r, &plan, NULL, 0, &s, pErr);
  if (rc) return rc;
  zSql = sqlite3_mprintf("%s LIMIT 0", s.zSql);
  dbx_pushdown_scan_clear(&s);
  if (zSql == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  rc = vtab_stmt_options(p, &o, NULL, pErr);
  if (rc == SQLITE_OK) {
    o.eDisposition = DBX_DISP_INLINE;
    rc = dbx_stmt_execute(p->pClient, zSql, NULL, 0, &o, ppStmt, pErr);
  }
  sqlite3_free(zSql);
  if (rc == SQLITE_OK && dbx_stmt_column_count(*ppStmt) == 0) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "query= returns no columns: give a SELECT");
  }
  return rc;
}

/*
** Appends column i of the declaration: its name quoted, with ":2", ":3"
** after a name the query already returned (a.id, b.id), which SQLite
** cannot declare twice and the remote side could not select by name
** either, so such a query is never projected.
*/
static void vtab_decl_column(DbxVtab *p, int i, const char *zDecl,
                             DbxBuf *pDecl) {
  const char *z;
  int j, nSame = 0;
  for (j = 0; j < i; j++) {
    if (sqlite3_stricmp(p->azCol[j], p->azCol[i]) == 0) nSame++;
  }
  if (nSame) p->remote.bNoProject = 1;
  dbx_buf_appendf(pDecl, "%s\"", i ? ", " : "");
  for (z = p->azCol[i]; *z; z++) {
    dbx_buf_append(pDecl, z, 1);
    if (*z == '"') dbx_buf_append(pDecl, "\"", 1);
  }
  if (nSame) dbx_buf_appendf(pDecl, ":%d", nSame + 1);
  dbx_buf_appendf(pDecl, "\" %s", zDecl);
}

/* A column as stored: name and remote type (borrowed strings). */
typedef struct VtabColumn {
  const char *zName;     /* column name */
  const char *zTypeText; /* type_text, e.g. "decimal(10,2)" */
  const char *zTypeName; /* type_name, e.g. "DECIMAL", may be "" */
} VtabColumn;

/* SQLite allows at most this many columns in a table (SQLITE_MAX_COLUMN). */
#define VTAB_MAX_COLUMNS 2000

/*
** Declares the columns of the table and fills p->azCol, p->aClass and
** p->remote (what pushdown.c reads). The names and types may come from a
** database file someone else wrote: names are quoted, types pass through
** dbx_pushdown_decltype, which quotes anything but a plain type.
*/
static int vtab_declare(DbxVtab *p, const VtabColumn *aCol, int nCol,
                        DbxError *pErr) {
  DbxBuf decl = {0};
  int i, rc;
  if (nCol < 1 || nCol > VTAB_MAX_COLUMNS) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s has %d columns; a table takes 1 to %d",
                         p->zDisplay, nCol, VTAB_MAX_COLUMNS);
  }
  rc = vtab_alloc_cols(p, nCol);
  if (rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  p->remote.nCol = nCol;
  dbx_buf_appendf(&decl, "CREATE TABLE x(");
  for (i = 0; i < nCol; i++) {
    char *zDecl = dbx_pushdown_decltype(aCol[i].zTypeText, aCol[i].zTypeName);
    p->azCol[i] = dbx_strdup(aCol[i].zName);
    p->aClass[i] = dbx_pushdown_class(aCol[i].zTypeText, aCol[i].zTypeName);
    if (p->azCol[i] == NULL || zDecl == NULL) {
      sqlite3_free(zDecl);
      dbx_buf_free(&decl);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    vtab_decl_column(p, i, zDecl, &decl);
    sqlite3_free(zDecl);
  }
  dbx_buf_appendf(&decl, ")");
  if (decl.rc) {
    dbx_buf_free(&decl);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  p->remote.zTable = p->zTable;
  p->remote.zQuery = p->zQuery;
  p->remote.azCol = (const char *const *)p->azCol;
  p->remote.aClass = p->aClass;
  rc = sqlite3_declare_vtab(p->db, decl.z);
  if (rc) {
    rc = dbx_error_set(pErr, rc, "cannot declare the columns of %s: %s",
                       p->zDisplay, sqlite3_errmsg(p->db));
  }
  dbx_buf_free(&decl);
  return rc;
}

/* One text per column list, to tell whether a refresh changed it. */
static void columns_signature(const VtabColumn *aCol, int nCol, DbxBuf *pOut) {
  int i;
  for (i = 0; i < nCol; i++) {
    dbx_buf_appendf(pOut, "%s\t%s\t%s\n", aCol[i].zName, aCol[i].zTypeText,
                    aCol[i].zTypeName);
  }
}

/* The stored column list as columns_signature writes it (empty if none). */
static void stored_signature(DbxVtab *p, DbxBuf *pOut) {
  sqlite3_stmt *pSel = NULL;
  char *zSql = sqlite3_mprintf(
      "SELECT name, type_text, type_name FROM \"%w\".\"%w_columns\" "
      "ORDER BY cid",
      p->zDb, p->zVtabName);
  if (zSql && sqlite3_prepare_v2(p->db, zSql, -1, &pSel, NULL) == SQLITE_OK) {
    while (sqlite3_step(pSel) == SQLITE_ROW) {
      dbx_buf_appendf(pOut, "%s\t%s\t%s\n", sqlite3_column_text(pSel, 0),
                      sqlite3_column_text(pSel, 1),
                      sqlite3_column_text(pSel, 2));
    }
  }
  sqlite3_finalize(pSel);
  sqlite3_free(zSql);
}

/* Writes aCol into the shadow table: created by xCreate (bCreate), or
** emptied and refilled by dbx_refresh(). */
static int vtab_store_columns(DbxVtab *p, const VtabColumn *aCol, int nCol,
                              int bCreate, DbxError *pErr) {
  sqlite3_stmt *pIns = NULL;
  char *zSql;
  int i, rc;
  zSql = sqlite3_mprintf(
      "CREATE TABLE %s\"%w\".\"%w_columns\"(cid INTEGER PRIMARY KEY, "
      "name TEXT NOT NULL, type_text TEXT NOT NULL, type_name TEXT NOT NULL)",
      bCreate ? "" : "IF NOT EXISTS ", p->zDb, p->zVtabName);
  rc = zSql ? sqlite3_exec(p->db, zSql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  zSql = NULL;
  if (rc == SQLITE_OK && !bCreate) {
    zSql = sqlite3_mprintf("DELETE FROM \"%w\".\"%w_columns\"", p->zDb,
                           p->zVtabName);
    rc = zSql ? sqlite3_exec(p->db, zSql, NULL, NULL, NULL) : SQLITE_NOMEM;
    sqlite3_free(zSql);
    zSql = NULL;
  }
  if (rc == SQLITE_OK) {
    zSql = sqlite3_mprintf("INSERT INTO \"%w\".\"%w_columns\" VALUES(?,?,?,?)",
                           p->zDb, p->zVtabName);
    rc = zSql ? sqlite3_prepare_v2(p->db, zSql, -1, &pIns, NULL) : SQLITE_NOMEM;
  }
  for (i = 0; rc == SQLITE_OK && i < nCol; i++) {
    sqlite3_bind_int(pIns, 1, i);
    sqlite3_bind_text(pIns, 2, aCol[i].zName, -1, SQLITE_STATIC);
    sqlite3_bind_text(pIns, 3, aCol[i].zTypeText, -1, SQLITE_STATIC);
    sqlite3_bind_text(pIns, 4, aCol[i].zTypeName, -1, SQLITE_STATIC);
    rc = sqlite3_step(pIns) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(p->db);
    sqlite3_reset(pIns);
  }
  if (rc) {
    dbx_error_set(pErr, rc, "cannot store the columns of %s: %s", p->zDisplay,
                  sqlite3_errmsg(p->db));
  }
  sqlite3_finalize(pIns);
  sqlite3_free(zSql);
  return rc;
}

/*
** Reads the remote columns (Unity Catalog for table=, the result schema of
** the query under LIMIT 0 for query=) and stores them in the shadow table
** "<name>_columns", from which every later connection declares them
** without a network call. xCreate (bCreate) also declares them; a refresh
** (dbx_refresh()) only rewrites what is stored and sets *pbChanged.
*/
static int vtab_fetch_columns(DbxVtab *p, int bCreate, int *pbChanged,
                              DbxError *pErr) {
  DbxTableInfo *pInfo = NULL;
  DbxStmt *pStmt = NULL;
  VtabColumn *aCol = NULL;
  int i, nCol = 0, rc;
  if (p->args.zTable) {
    rc = dbx_catalog_table_get(p->pClient, p->zCatalog, p->zSchema, p->zName,
                               &pInfo, pErr);
  } else {
    rc = vtab_run_schema_query(p, &pStmt, pErr);
  }
  if (rc) goto done;
  nCol = pInfo ? pInfo->nCol : dbx_stmt_column_count(pStmt);
  aCol = sqlite3_malloc64(sizeof(VtabColumn) * (sqlite3_uint64)(nCol + 1));
  if (aCol == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  for (i = 0; i < nCol; i++) {
    const char *zN, *zT, *zTn;
    if (pInfo) {
      zN = pInfo->aCol[i].zName;
      zT = pInfo->aCol[i].zTypeText;
      zTn = pInfo->aCol[i].zTypeName;
    } else {
      zN = dbx_stmt_column_name(pStmt, i);
      zT = dbx_stmt_column_type_text(pStmt, i);
      zTn = dbx_stmt_column_type_name(pStmt, i);
    }
    aCol[i].zName = zN ? zN : "";
    aCol[i].zTypeText = zT ? zT : "";
    aCol[i].zTypeName = zTn ? zTn : "";
  }
  if (bCreate) {
    rc = vtab_declare(p, aCol, nCol, pErr);
  } else if (nCol < 1 || nCol > VTAB_MAX_COLUMNS) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "%s has %d columns; a table takes 1 to %d", p->zDisplay,
                       nCol, VTAB_MAX_COLUMNS);
  } else {
    DbxBuf before = {0}, after = {0};
    stored_signature(p, &before);
    columns_signature(aCol, nCol, &after);
    *pbChanged = before.n != after.n ||
                 (after.n && memcmp(before.z, after.z, after.n) != 0);
    if (before.rc || after.rc)
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    dbx_buf_free(&before);
    dbx_buf_free(&after);
  }
  if (rc == SQLITE_OK) rc = vtab_store_columns(p, aCol, nCol, bCreate, pErr);
done:
  sqlite3_free(aCol);
  dbx_catalog_table_free(pInfo);
  dbx_stmt_free(pStmt);
  return rc;
}

/*
** xConnect's part: declares the columns that xCreate stored, without any
** network call. Returns SQLITE_OK, or SQLITE_NOTFOUND (pErr set) when the
** shadow table is missing or unreadable: the caller then declares a
** placeholder, so that the table can at least be dropped.
*/
static int vtab_load_columns(DbxVtab *p, DbxError *pErr) {
  sqlite3_stmt *pSel = NULL;
  VtabColumn *aCol = NULL;
  char **azText = NULL;
  int i, nCol = 0, nAlloc = 0, rc;
  char *zSql = sqlite3_mprintf(
      "SELECT name, type_text, type_name FROM \"%w\".\"%w_columns\" "
      "ORDER BY cid",
      p->zDb, p->zVtabName);
  if (zSql == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pSel, NULL);
  sqlite3_free(zSql);
  while (rc == SQLITE_OK && sqlite3_step(pSel) == SQLITE_ROW) {
    if (nCol >= VTAB_MAX_COLUMNS) {
      nCol = VTAB_MAX_COLUMNS + 1; /* vtab_declare says what is wrong */
      break;
    }
    if (nCol == nAlloc) {
      int nNew = nAlloc ? nAlloc * 2 : 16;
      char **azNew =
          sqlite3_realloc64(azText, sizeof(char *) * 3 * (sqlite3_uint64)nNew);
      if (azNew == NULL) {
        rc = SQLITE_NOMEM;
        break;
      }
      azText = azNew;
      nAlloc = nNew;
    }
    for (i = 0; i < 3; i++) {
      const char *z = (const char *)sqlite3_column_text(pSel, i);
      azText[3 * nCol + i] = dbx_strdup(z ? z : "");
      if (azText[3 * nCol + i] == NULL) rc = SQLITE_NOMEM;
    }
    nCol++;
  }
  sqlite3_finalize(pSel);
  if (rc == SQLITE_OK && nCol > 0 && nCol <= VTAB_MAX_COLUMNS) {
    aCol = sqlite3_malloc64(sizeof(VtabColumn) * (sqlite3_uint64)nCol);
    if (aCol == NULL) rc = SQLITE_NOMEM;
    for (i = 0; aCol && i < nCol; i++) {
      aCol[i].zName = azText[3 * i];
      aCol[i].zTypeText = azText[3 * i + 1];
      aCol[i].zTypeName = azText[3 * i + 2];
    }
  }
  if (rc == SQLITE_NOMEM) {
    dbx_error_set(pErr, rc, "out of memory");
  } else if (rc || nCol == 0) {
    rc = dbx_error_set(pErr, SQLITE_NOTFOUND,
                       "the column list of %s is missing from the database "
                       "(table %s_columns): DROP TABLE %s and create it again",
                       p->zVtabName, p->zVtabName, p->zVtabName);
  } else {
    rc = vtab_declare(p, aCol, nCol > VTAB_MAX_COLUMNS ? 0 : nCol, pErr);
  }
  for (i = 0; i < 3 * (nCol > nAlloc ? nAlloc : nCol); i++)
    sqlite3_free(azText[i]);
  sqlite3_free(azText);
  sqlite3_free(aCol);
  return rc;
}

/*
** Parses the arguments into a new DbxVtab: the table= / query= target and
** the statement options, checked now so a mistake shows at CREATE time.
** Nothing is resolved or sent.
*/
static int vtab_new(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                    DbxVtab **ppOut, DbxError *pErr) {
  DbxVtab *p;
  int i, rc;
  *ppOut = NULL;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->pSession = pAux;
  p->zDb = dbx_strdup(argv[1]);
  p->zVtabName = dbx_strdup(argv[2]);
  if (p->zDb == NULL || p->zVtabName == NULL) {
    vtab_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  rc = args_parse(argc, argv, &p->args, pErr);
  if (rc == SQLITE_OK) {
    p->azStmtOpt = sqlite3_malloc64(sizeof(char *) * 2 *
                                    (sqlite3_uint64)(p->args.nArg + 1));
    p->zDisplay = dbx_strdup(p->args.zTable ? p->args.zTable : "query");
    p->zQuery = p->args.zQuery ? dbx_strdup(p->args.zQuery) : NULL;
    if (p->azStmtOpt == NULL || p->zDisplay == NULL ||
        (p->args.zQuery && p->zQuery == NULL)) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  for (i = 0; rc == SQLITE_OK && i < p->args.nArg; i++) {
    DbxStmtOptions o;
    if (!dbx_stmt_is_option(p->args.azKey[i])) continue;
    /* Checked now, applied to every statement of this table. */
    dbx_stmt_options_init(&o);
    rc = dbx_stmt_option(&o, p->args.azKey[i], p->args.azVal[i], pErr);
    if (rc) break;
    p->azStmtOpt[2 * p->nStmtOpt] = dbx_strdup(p->args.azKey[i]);
    p->azStmtOpt[2 * p->nStmtOpt + 1] = dbx_strdup(p->args.azVal[i]);
    p->nStmtOpt++;
    if (!p->azStmtOpt[2 * p->nStmtOpt - 2] ||
        !p->azStmtOpt[2 * p->nStmtOpt - 1]) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  if (rc) {
    vtab_free(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

/*
** The end of xCreate and xConnect: the table is usable inside views only
** when the user allowed it for this connection (dbx_config('allow_views',
** 'true')); otherwise SQLite refuses it there ("unsafe use of virtual
** table"). On error *pzErr gets the one line and p is freed.
*/
static int vtab_finish(DbxVtab *p, int rc, DbxError *pErr,
                       sqlite3_vtab **ppVtab, char **pzErr) {
  if (rc == SQLITE_OK && !dbx_session_allow_views(p->pSession)) {
    rc = sqlite3_vtab_config(p->db, SQLITE_VTAB_DIRECTONLY);
  }
  if (rc != SQLITE_OK) {
    if (pErr->rc == SQLITE_OK)
      dbx_error_set(pErr, rc, "%s", sqlite3_errstr(rc));
    *pzErr = dbx_error_text(pErr);
    vtab_free(p);
    return rc;
  }
  {
    struct DbxVtab **pp = (struct DbxVtab **)dbx_session_tables(p->pSession);
    p->pNext = *pp;
    *pp = p;
  }
  p->bListed = 1;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

/*
** xCreate (bCreate) reads the remote columns and stores them; xConnect
** declares the stored ones, resolving no setting and sending nothing until
** the table is scanned. Nothing is created remotely either way.
*/
static int vtab_init(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                     sqlite3_vtab **ppVtab, char **pzErr, int bCreate) {
  DbxVtab *p = NULL;
  DbxError e;
  int rc;
  *ppVtab = NULL;
  dbx_error_clear(&e);
  rc = vtab_new(db, pAux, argc, argv, &p, &e);
  if (rc) {
    *pzErr = dbx_error_text(&e);
    return rc;
  }
  if (bCreate) {
    rc = vtab_ready(p, &e);
    if (rc == SQLITE_OK) rc = vtab_fetch_columns(p, 1, NULL, &e);
  } else {
    rc = vtab_load_columns(p, &e);
    if (rc == SQLITE_NOTFOUND) {
      /* A placeholder keeps DROP TABLE possible; every scan reports e. */
      p->broken = e;
      dbx_error_clear(&e);
      rc = sqlite3_declare_vtab(db, "CREATE TABLE x(\"_missing_columns\")");
    }
  }
  return vtab_finish(p, rc, &e, ppVtab, pzErr);
}

static int vtabCreate(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr) {
  return vtab_init(db, pAux, argc, argv, ppVtab, pzErr, 1);
}

static int vtabConnect(sqlite3 *db, void *pAux, int argc,
                       const char *const *argv, sqlite3_vtab **ppVtab,
                       char **pzErr) {
  return vtab_init(db, pAux, argc, argv, ppVtab, pzErr, 0);
}

/* xDisconnect: nothing is dropped remotely. */
static int vtabDisconnect(sqlite3_vtab *pVtab) {
  vtab_free((DbxVtab *)pVtab);
  return SQLITE_OK;
}

/* xDestroy: drops the shadow table; nothing is dropped remotely. */
static int vtabDestroy(sqlite3_vtab *pVtab) {
  DbxVtab *p = (DbxVtab *)pVtab;
  char *zSql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_columns\"",
                               p->zDb, p->zVtabName);
  int rc = zSql ? sqlite3_exec(p->db, zSql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) vtab_free(p);
  return rc;
}

/* xRename: the shadow table follows the table's new name. */
static int vtabRename(sqlite3_vtab *pVtab, const char *zNew) {
  DbxVtab *p = (DbxVtab *)pVtab;
  char *zName = dbx_strdup(zNew);
  char *zSql = sqlite3_mprintf(
      "ALTER TABLE \"%w\".\"%w_columns\" RENAME TO \"%w_columns\"", p->zDb,
      p->zVtabName, zNew);
  int rc = (zSql && zName) ? sqlite3_exec(p->db, zSql, NULL, NULL, NULL)
                           : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) {
    sqlite3_free(p->zVtabName);
    p->zVtabName = zName;
  } else {
    sqlite3_free(zName);
  }
  return rc;
}

/* xShadowName: "<name>_columns" belongs to the table (SQLite then protects
** it from writes by ordinary SQL in defensive mode). */
static int vtabShadowName(const char *zSuffix) {
  return sqlite3_stricmp(zSuffix, "columns") == 0;
}

/* ---------------------------------------------------------------------
** Planning
*/

/* Our operator for an SQLite constraint operator, or 0. */
static DbxOp op_from(unsigned char op) {
  switch (op) {
  case SQLITE_INDEX_CONSTRAINT_EQ:
    return DBX_OP_EQ;
  case SQLITE_INDEX_CONSTRAINT_NE:
    return DBX_OP_NE;
  case SQLITE_INDEX_CONSTRAINT_LT:
    return DBX_OP_LT;
  case SQLITE_INDEX_CONSTRAINT_LE:
    return DBX_OP_LE;
  case SQLITE_INDEX_CONSTRAINT_GT:
    return DBX_OP_GT;
  case SQLITE_INDEX_CONSTRAINT_GE:
    return DBX_OP_GE;
  case SQLITE_INDEX_CONSTRAINT_IS:
    return DBX_OP_IS;
  case SQLITE_INDEX_CONSTRAINT_ISNOT:
    return DBX_OP_ISNOT;
  case SQLITE_INDEX_CONSTRAINT_ISNULL:
    return DBX_OP_ISNULL;
  case SQLITE_INDEX_CONSTRAINT_ISNOTNULL:
    return DBX_OP_NOTNULL;
  case SQLITE_INDEX_CONSTRAINT_LIKE:
    return DBX_OP_LIKE;
  case SQLITE_INDEX_CONSTRAINT_LIMIT:
    return DBX_OP_LIMIT;
  case SQLITE_INDEX_CONSTRAINT_OFFSET:
    return DBX_OP_OFFSET;
  default:
    return (DbxOp)0;
  }
}

/* Whether values of this class compare numerically (numeric affinity). */
static int class_numeric(DbxColClass e) {
  return e == DBX_COL_INT || e == DBX_COL_DECIMAL || e == DBX_COL_FLOAT ||
         e == DBX_COL_BOOL;
}

/*
** Describes pIn as SQLite's comparison with a column of class eClass sees
** it: text against a numeric column gets numeric affinity, on a copy
** stored in *ppDup (free with sqlite3_value_free; NULL when none was made).
*/
static void value_from(sqlite3_value *pIn, DbxColClass eClass,
                       sqlite3_value **ppDup, DbxValue *pOut) {
  sqlite3_value *v = pIn;
  memset(pOut, 0, sizeof(*pOut));
  *ppDup = NULL;
  if (v == NULL) return;
  if (class_numeric(eClass) && sqlite3_value_type(v) == SQLITE_TEXT) {
    *ppDup = sqlite3_value_dup(v);
    if (*ppDup) {
      v = *ppDup;
      sqlite3_value_numeric_type(v);
    }
  }
  switch (sqlite3_value_type(v)) {
  case SQLITE_INTEGER:
    pOut->eType = DBX_VAL_INT;
    pOut->i = sqlite3_value_int64(v);
    break;
  case SQLITE_FLOAT:
    pOut->eType = DBX_VAL_REAL;
    pOut->r = sqlite3_value_double(v);
    break;
  case SQLITE_TEXT:
    pOut->eType = DBX_VAL_TEXT;
    pOut->z = (const char *)sqlite3_value_text(v);
    pOut->n = sqlite3_value_bytes(v);
    break;
  case SQLITE_BLOB:
    pOut->eType = DBX_VAL_BLOB;
    pOut->z = sqlite3_value_blob(v);
    pOut->n = sqlite3_value_bytes(v);
    break;
  default:
    break;
  }
}

/* How much of the table one term is expected to keep (for costs only). */
static double term_selectivity(DbxOp eOp) {
  switch (eOp) {
  case DBX_OP_EQ:
  case DBX_OP_IS:
    return 0.01;
  case DBX_OP_IN:
    return 0.05;
  case DBX_OP_ISNULL:
    return 0.1;
  case DBX_OP_LIKE:
    return 0.3;
  case DBX_OP_LT:
  case DBX_OP_LE:
  case DBX_OP_GT:
  case DBX_OP_GE:
    return 0.3;
  default:
    return 0.9;
  }
}

/* Rows assumed for a remote relation: unknown, so large. */
#define DBX_ROWS_GUESS 1000000.0
/* Fixed cost of one remote statement, in rows: SQLite then prefers one
** scan with pushed terms over many small statements in a join. */
#define DBX_STATEMENT_COST 10000.0

/*
** What pushdown.c says of constraint i on a column: DBX_JUDGE_SKIP when it
** stays with SQLite. *peOp comes in as the constraint's operator and goes
** out as the one to push (EQ over an IN list becomes DBX_OP_IN). The value
** is judged too when SQLite already knows it.
*/
static DbxJudge plan_judge(const DbxVtab *p, sqlite3_index_info *pInfo, int i,
                           DbxOp *peOp) {
  const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
  DbxColClass eClass = p->aClass[c->iColumn];
  DbxValue val, *pVal = NULL;
  sqlite3_value *pRhs = NULL, *pDup = NULL;
  const char *zColl = sqlite3_vtab_collation(pInfo, i);
  DbxJudge eJudge;
  if (*peOp == DBX_OP_EQ && sqlite3_vtab_in(pInfo, i, -1)) *peOp = DBX_OP_IN;
  if (*peOp != DBX_OP_IN && *peOp != DBX_OP_ISNULL && *peOp != DBX_OP_NOTNULL &&
      sqlite3_vtab_rhs_value(pInfo, i, &pRhs) == SQLITE_OK) {
    value_from(pRhs, eClass, &pDup, &val);
    pVal = &val;
  }
  eJudge = dbx_pushdown_judge(
      eClass, *peOp, zColl == NULL || sqlite3_stricmp(zColl, "BINARY") == 0,
      pVal);
  sqlite3_value_free(pDup);
  return eJudge;
}

/*
** The WHERE terms: each one pushdown.c accepts becomes a plan argument
** (argvIndex), omitted by SQLite when exact. Usable LIMIT and OFFSET
** constraints are only noted in *piLimit / *piOffset. *pRows shrinks by
** each pushed term's selectivity. Returns true when every term is pushed
** exactly, so SQLite has nothing left to filter.
*/
static int plan_terms(const DbxVtab *p, sqlite3_index_info *pInfo,
                      DbxPlan *pPlan, double *pRows, int *piLimit,
                      int *piOffset) {
  int i, bAllExact = 1;
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    DbxOp eOp = op_from(c->op);
    DbxJudge eJudge;
    if (eOp == DBX_OP_LIMIT || eOp == DBX_OP_OFFSET) {
      if (c->usable) *(eOp == DBX_OP_LIMIT ? piLimit : piOffset) = i;
      continue;
    }
    /* two slots stay free for LIMIT and OFFSET */
    if (!c->usable || eOp == 0 || c->iColumn < 0 ||
        c->iColumn >= p->remote.nCol || pPlan->nArg >= DBX_PLAN_MAX_ARG - 2) {
      bAllExact = 0;
      continue;
    }
    eJudge = plan_judge(p, pInfo, i, &eOp);
    if (eJudge == DBX_JUDGE_SKIP) {
      bAllExact = 0;
      continue;
    }
    pPlan->aArg[pPlan->nArg].iCol = c->iColumn;
    pPlan->aArg[pPlan->nArg].eOp = eOp;
    pPlan->aArg[pPlan->nArg].bExact = eJudge == DBX_JUDGE_EXACT;
    pPlan->nArg++;
    pInfo->aConstraintUsage[i].argvIndex = pPlan->nArg;
    pInfo->aConstraintUsage[i].omit = eJudge == DBX_JUDGE_EXACT;
    if (eOp == DBX_OP_IN) sqlite3_vtab_in(pInfo, i, 1);
    if (eJudge != DBX_JUDGE_EXACT) bAllExact = 0;
    *pRows *= term_selectivity(eOp);
  }
  return bAllExact;
}

/* Takes the ORDER BY when every term can be ordered remotely as SQLite
** would order it; otherwise SQLite sorts. */
static void plan_order_by(const DbxVtab *p, sqlite3_index_info *pInfo,
                          DbxPlan *pPlan) {
  int i;
  if (pInfo->nOrderBy <= 0 || pInfo->nOrderBy > DBX_PLAN_MAX_ORDER) return;
  for (i = 0; i < pInfo->nOrderBy; i++) {
    int iCol = pInfo->aOrderBy[i].iColumn;
    if (iCol < 0 || iCol >= p->remote.nCol ||
        !dbx_pushdown_orderable(p->aClass[iCol])) {
      return;
    }
  }
  for (i = 0; i < pInfo->nOrderBy; i++) {
    pPlan->aOrder[i].iCol = pInfo->aOrderBy[i].iColumn;
    pPlan->aOrder[i].bDesc = pInfo->aOrderBy[i].desc;
  }
  pPlan->nOrder = pInfo->nOrderBy;
  pInfo->orderByConsumed = 1;
}

/* Pushes constraint iLimit, and iOffset when >= 0, which SQLite must then
** not apply again; a known LIMIT caps *pRows. */
static void plan_limit(sqlite3_index_info *pInfo, DbxPlan *pPlan, int iLimit,
                       int iOffset, double *pRows) {
  sqlite3_value *pRhs = NULL;
  pPlan->aArg[pPlan->nArg].iCol = -1;
  pPlan->aArg[pPlan->nArg].eOp = DBX_OP_LIMIT;
  pPlan->nArg++;
  pInfo->aConstraintUsage[iLimit].argvIndex = pPlan->nArg;
  if (sqlite3_vtab_rhs_value(pInfo, iLimit, &pRhs) == SQLITE_OK &&
      sqlite3_value_type(pRhs) == SQLITE_INTEGER &&
      sqlite3_value_int64(pRhs) >= 0 &&
      (double)sqlite3_value_int64(pRhs) < *pRows) {
    *pRows = (double)sqlite3_value_int64(pRhs);
  }
  if (iOffset >= 0) {
    pPlan->aArg[pPlan->nArg].iCol = -1;
    pPlan->aArg[pPlan->nArg].eOp = DBX_OP_OFFSET;
    pPlan->nArg++;
    pInfo->aConstraintUsage[iOffset].argvIndex = pPlan->nArg;
    pInfo->aConstraintUsage[iOffset].omit = 1;
  }
}

/*
** xBestIndex: asks pushdown.c about each usable constraint (with its value
** when SQLite knows it), sets argvIndex for what is pushed and omit for
** what is exact, takes the ORDER BY when every term can be ordered
** remotely, and LIMIT/OFFSET when nothing is left for SQLite to filter.
** The plan goes to xFilter as idxStr. Costs: a fixed price per remote
** statement plus the rows expected back, so pushed terms always win.
*/
static int vtabBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DbxPlan plan;
  char *zPlan;
  double rRows = DBX_ROWS_GUESS;
  int bAllExact, iLimit = -1, iOffset = -1;
  memset(&plan, 0, sizeof(plan));
  plan.colUsed = (uint64_t)pInfo->colUsed;
  bAllExact = plan_terms(p, pInfo, &plan, &rRows, &iLimit, &iOffset);
  plan_order_by(p, pInfo, &plan);
  /* LIMIT/OFFSET only when the remote rows are exactly SQLite's rows, in
  ** SQLite's order: otherwise SQLite filters or sorts after the cut. Beyond
  ** 32 constraints SQLite cannot say which EQ is an IN, and an IN handled
  ** one value at a time would apply the OFFSET once per value. */
  if (iLimit >= 0 && bAllExact && pInfo->nConstraint <= 32 &&
      (pInfo->nOrderBy == 0 || plan.nOrder > 0)) {
    plan_limit(pInfo, &plan, iLimit, iOffset, &rRows);
  }
  zPlan = dbx_pushdown_plan_encode(&plan, &p->remote,
                                   p->zQuery ? "(query)" : p->zDisplay);
  if (zPlan == NULL) return SQLITE_NOMEM;
  pInfo->idxStr = zPlan;
  pInfo->needToFreeIdxStr = 1;
  pInfo->idxNum = plan.nArg;
  pInfo->estimatedRows = (sqlite3_int64)(rRows < 1 ? 1 : rRows);
  pInfo->estimatedCost = DBX_STATEMENT_COST + rRows;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Scanning
*/

/* xOpen: a cursor with no statement yet, and its interrupt probe. */
static int vtabOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DbxCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  if (pCur == NULL) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->bEof = 1;
  pCur->aiOut =
      sqlite3_malloc64(sizeof(int) * ((sqlite3_uint64)p->remote.nCol + 1));
  if (pCur->aiOut == NULL) {
    sqlite3_free(pCur);
    return SQLITE_NOMEM;
  }
  /* Without a probe interrupts only stop the scan between rows. */
  pCur->pProbe = dbx_probe_open(p->db);
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

/* xClose: unread rows need no remote call (results expire). */
static int vtabClose(sqlite3_vtab_cursor *pCursor) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  dbx_stmt_free(pCur->pStmt);
  sqlite3_finalize(pCur->pProbe);
  sqlite3_free(pCur->aiOut);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* The argv values of xFilter as pushdown.c reads them. */
typedef struct FilterArgs {
  DbxValue *aVal;        /* owned; one per argv slot */
  DbxValue *aList;       /* owned; IN members of all slots */
  int nList;             /* used entries of aList */
  sqlite3_value **apDup; /* owned; converted copies to free */
  int nDup;              /* used entries of apDup */
  int nDupAlloc;         /* allocated entries of apDup */
} FilterArgs;

/* Frees the converted values of one xFilter call. */
static void filter_args_free(FilterArgs *f) {
  int i;
  for (i = 0; i < f->nDup; i++)
    sqlite3_value_free(f->apDup[i]);
  sqlite3_free(f->apDup);
  sqlite3_free(f->aVal);
  sqlite3_free(f->aList);
}

/*
** Converts one value and keeps its copy, if one was made. bCopy forces a
** copy: IN members come from sqlite3_vtab_in_next(), which reuses one value
** object, so their text would not survive the next member.
*/
static int filter_value(FilterArgs *f, sqlite3_value *pIn, DbxColClass eClass,
                        int bCopy, DbxValue *pOut) {
  sqlite3_value *pDup = NULL, *pOwn = NULL;
  if (bCopy) {
    pOwn = sqlite3_value_dup(pIn);
    if (pOwn == NULL) return SQLITE_NOMEM;
    pIn = pOwn;
  }
  value_from(pIn, eClass, &pDup, pOut);
  if (pDup) {
    /* the converted copy is what pOut points into */
    sqlite3_value_free(pOwn);
    pOwn = pDup;
  }
  pDup = pOwn;
  if (pDup == NULL) return SQLITE_OK;
  if (f->nDup == f->nDupAlloc) {
    int nNew = f->nDupAlloc ? f->nDupAlloc * 2 : 16;
    sqlite3_value **a =
        sqlite3_realloc64(f->apDup, sizeof(*a) * (sqlite3_uint64)nNew);
    if (a == NULL) {
      sqlite3_value_free(pDup);
      return SQLITE_NOMEM;
    }
    f->apDup = a;
    f->nDupAlloc = nNew;
  }
  f->apDup[f->nDup++] = pDup;
  return SQLITE_OK;
}

/* Reads argv into f per the plan: IN lists member by member. */
static int filter_args_read(DbxVtab *p, const DbxPlan *pPlan, int argc,
                            sqlite3_value **argv, FilterArgs *f) {
  int i, rc = SQLITE_OK, nMembers = 0;
  sqlite3_value *pMember;
  memset(f, 0, sizeof(*f));
  f->aVal = sqlite3_malloc64(sizeof(DbxValue) * ((sqlite3_uint64)argc + 1));
  if (f->aVal == NULL) return SQLITE_NOMEM;
  memset(f->aVal, 0, sizeof(DbxValue) * ((size_t)argc + 1));
  /* Count IN members first so aList never moves once pointed into. */
  for (i = 0; i < argc; i++) {
    if (pPlan->aArg[i].eOp != DBX_OP_IN) continue;
    for (rc = sqlite3_vtab_in_first(argv[i], &pMember);
         rc == SQLITE_OK && pMember;
         rc = sqlite3_vtab_in_next(argv[i], &pMember)) {
      nMembers++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_OK) return rc;
  }
  f->aList =
      sqlite3_malloc64(sizeof(DbxValue) * ((sqlite3_uint64)nMembers + 1));
  if (f->aList == NULL) return SQLITE_NOMEM;
  for (i = 0; i < argc; i++) {
    const DbxPlanArg *a = &pPlan->aArg[i];
    DbxColClass eClass = a->iCol >= 0 ? p->aClass[a->iCol] : DBX_COL_INT;
    if (a->eOp == DBX_OP_IN) {
      f->aVal[i].aList = &f->aList[f->nList];
      for (rc = sqlite3_vtab_in_first(argv[i], &pMember);
           rc == SQLITE_OK && pMember;
           rc = sqlite3_vtab_in_next(argv[i], &pMember)) {
        if (f->nList >= nMembers) break;
        if (filter_value(f, pMember, eClass, 1, &f->aList[f->nList]))
          return SQLITE_NOMEM;
        f->nList++;
        f->aVal[i].nList++;
      }
      if (rc != SQLITE_DONE && rc != SQLITE_OK) return rc;
      rc = SQLITE_OK;
    } else if (a->eOp == DBX_OP_ISNULL || a->eOp == DBX_OP_NOTNULL) {
      continue; /* no value */
    } else if (filter_value(f, argv[i], eClass, 0, &f->aVal[i])) {
      return SQLITE_NOMEM;
    }
  }
  return SQLITE_OK;
}

/*
** True when a scan may return a large result: no LIMIT and no equality or
** IN term was pushed. Such scans ask for EXTERNAL_LINKS straight away
** rather than trying INLINE first, which fails past 25 MiB only after the
** warehouse has run the whole query once.
*/
static int plan_may_be_large(const DbxPlan *pPlan) {
  int i;
  for (i = 0; i < pPlan->nArg; i++) {
    switch (pPlan->aArg[i].eOp) {
    case DBX_OP_LIMIT:
    case DBX_OP_EQ:
    case DBX_OP_IS:
    case DBX_OP_IN:
      return 0;
    default:
      break;
    }
  }
  return 1;
}

/*
** xFilter: rebuilds the plan from idxStr, turns argv into typed parameters
** (terms whose value cannot be pushed are dropped unless planned exact),
** runs the statement and positions the cursor on the first row. Errors go
** to the vtab's zErrMsg as one line.
*/
static int vtabFilter(sqlite3_vtab_cursor *pCursor, int idxNum,
                      const char *idxStr, int argc, sqlite3_value **argv) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  DbxVtab *p = (DbxVtab *)pCursor->pVtab;
  DbxPlan plan;
  DbxScanSql s;
  FilterArgs f;
  DbxParam *aParam = NULL;
  DbxStmtOptions o;
  DbxError e;
  int i, rc;
  DBX_UNUSED(idxNum);
  dbx_error_clear(&e);
  memset(&s, 0, sizeof(s));
  memset(&f, 0, sizeof(f));
  dbx_stmt_free(pCur->pStmt);
  pCur->pStmt = NULL;
  pCur->bEof = 1;

  if (p->broken.rc) return dbx_error_to_vtab(&p->base, &p->broken);
  rc = vtab_ready(p, &e);
  if (rc) return dbx_error_to_vtab(&p->base, &e);
  rc = dbx_pushdown_plan_decode(idxStr, &plan, &e);
  if (rc == SQLITE_OK && argc != plan.nArg) {
    rc = dbx_error_set(&e, SQLITE_ERROR,
                       "internal error: %d filter values for a plan of %d",
                       argc, plan.nArg);
  }
  if (rc == SQLITE_OK) {
    rc = filter_args_read(p, &plan, argc, argv, &f);
    if (rc)
      dbx_error_set(&e, rc, "cannot read the filter values (%s)",
                    sqlite3_errstr(rc));
  }
  if (rc == SQLITE_OK)
    rc = dbx_pushdown_build(&p->remote, &plan, f.aVal, argc, &s, &e);
  if (rc == SQLITE_OK && s.nParam) {
    aParam = sqlite3_malloc64(sizeof(DbxParam) * (sqlite3_uint64)s.nParam);
    if (aParam == NULL) rc = dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
    for (i = 0; rc == SQLITE_OK && i < s.nParam; i++) {
      aParam[i].zName = s.aParam[i].zName;
      aParam[i].zValue = s.aParam[i].zValue;
      aParam[i].zType = s.aParam[i].zType;
    }
  }
  if (rc == SQLITE_OK) {
    for (i = 0; i < p->remote.nCol; i++)
      pCur->aiOut[i] = -1;
    for (i = 0; i < s.nOut; i++) {
      if (s.aiCol[i] >= 0) pCur->aiOut[s.aiCol[i]] = i;
    }
    rc = vtab_stmt_options(p, &o, pCur->pProbe, &e);
    if (o.eDisposition == DBX_DISP_AUTO && plan_may_be_large(&plan)) {
      o.eDisposition = DBX_DISP_EXTERNAL_LINKS;
    }
  }
  if (rc == SQLITE_OK) {
    rc = dbx_stmt_execute(p->pClient, s.zSql, aParam, s.nParam, &o,
                          &pCur->pStmt, &e);
  }
  sqlite3_free(aParam);
  dbx_pushdown_scan_clear(&s);
  filter_args_free(&f);
  if (rc == SQLITE_OK) {
    rc = dbx_stmt_next(pCur->pStmt, &e);
    if (rc == SQLITE_ROW) {
      pCur->bEof = 0;
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  if (rc != SQLITE_OK) return dbx_error_to_vtab(&p->base, &e);
  return SQLITE_OK;
}

/* xNext: the next row, fetching the next chunk when needed. */
static int vtabNext(sqlite3_vtab_cursor *pCursor) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  DbxError e;
  int rc;
  dbx_error_clear(&e);
  rc = dbx_stmt_next(pCur->pStmt, &e);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  pCur->bEof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  return dbx_error_to_vtab(pCursor->pVtab, &e);
}

/* xEof */
static int vtabEof(sqlite3_vtab_cursor *pCursor) {
  return ((DbxCursor *)pCursor)->bEof;
}

/* xColumn: a column not fetched (colUsed) reads as NULL; values are copied
** because the cell is only valid until the next row. */
static int vtabColumn(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx,
                      int iCol) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  DbxCell cell;
  DbxError e;
  int iOut = iCol >= 0 ? pCur->aiOut[iCol] : -1;
  if (iOut < 0 || pCur->pStmt == NULL) return SQLITE_OK; /* NULL */
  dbx_error_clear(&e);
  if (dbx_stmt_cell(pCur->pStmt, iOut, &cell, &e) != SQLITE_OK) {
    dbx_error_to_context(ctx, &e);
    return SQLITE_OK;
  }
  switch (cell.eType) {
  case DBX_CELL_INTEGER:
    sqlite3_result_int64(ctx, cell.iVal);
    break;
  case DBX_CELL_REAL:
    sqlite3_result_double(ctx, cell.rVal);
    break;
  case DBX_CELL_TEXT:
    sqlite3_result_text64(ctx, cell.z, cell.n, SQLITE_TRANSIENT, SQLITE_UTF8);
    break;
  case DBX_CELL_BLOB:
    sqlite3_result_blob64(ctx, cell.z, cell.n, SQLITE_TRANSIENT);
    break;
  default:
    break;
  }
  return SQLITE_OK;
}

/* xRowid: the 1-based row number within this scan. */
static int vtabRowid(sqlite3_vtab_cursor *pCursor, sqlite3_int64 *pRowid) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  *pRowid = pCur->pStmt ? dbx_stmt_rownum(pCur->pStmt) : 0;
  return SQLITE_OK;
}

/* Writes come with the commit path; until then say what works today. */
static int vtabUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                      sqlite3_int64 *pRowid) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  DBX_UNUSED(pRowid);
  sqlite3_free(p->base.zErrMsg);
  p->base.zErrMsg = sqlite3_mprintf(
      "databricks: %s is read-only here: change remote data with "
      "dbx_exec('INSERT/UPDATE/DELETE ...')",
      p->zDisplay ? p->zDisplay : "this table");
  return SQLITE_READONLY;
}

static sqlite3_module dbxModule = {
    .iVersion = 3,
    .xCreate = vtabCreate,
    .xConnect = vtabConnect,
    .xBestIndex = vtabBestIndex,
    .xDisconnect = vtabDisconnect,
    .xDestroy = vtabDestroy,
    .xRename = vtabRename,
    .xShadowName = vtabShadowName,
    .xOpen = vtabOpen,
    .xClose = vtabClose,
    .xFilter = vtabFilter,
    .xNext = vtabNext,
    .xEof = vtabEof,
    .xColumn = vtabColumn,
    .xRowid = vtabRowid,
    .xUpdate = vtabUpdate,
};

/* The connected databricks table named zName in this session, or NULL. */
static DbxVtab *vtab_find(DbxSession *pSession, const char *zName) {
  DbxVtab *p = *(DbxVtab **)dbx_session_tables(pSession);
  while (p && sqlite3_stricmp(p->zVtabName, zName) != 0)
    p = p->pNext;
  return p;
}

/*
** dbx_refresh(table): reads the remote columns of a databricks table again
** and stores them; they are declared the next time the database is opened
** (a table's columns are fixed while it is connected). Returns a JSON
** report: {"table", "columns", "changed", "note"}.
*/
static void refreshFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  DbxSession *pSession = sqlite3_user_data(ctx);
  const char *zName = (const char *)sqlite3_value_text(argv[0]);
  DbxVtab *p;
  DbxError e;
  int bChanged = 0, rc;
  DBX_UNUSED(argc);
  dbx_error_clear(&e);
  if (zName == NULL) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_refresh(table) needs the name "
                         "of a databricks virtual table",
                         -1);
    return;
  }
  p = vtab_find(pSession, zName);
  if (p == NULL) {
    /* not connected yet: preparing a statement on it connects it */
    sqlite3_stmt *pStmt = NULL;
    char *zSql = sqlite3_mprintf("SELECT 1 FROM \"%w\" LIMIT 0", zName);
    if (zSql) {
      sqlite3_prepare_v2(sqlite3_context_db_handle(ctx), zSql, -1, &pStmt,
                         NULL);
    }
    sqlite3_free(zSql);
    p = vtab_find(pSession, zName);
    sqlite3_finalize(pStmt);
  }
  if (p == NULL) {
    dbx_error_set(&e, SQLITE_ERROR,
                  "dbx_refresh(): '%.60s' is not a databricks virtual table "
                  "of this database",
                  zName);
    dbx_error_to_context(ctx, &e);
    return;
  }
  rc = vtab_ready(p, &e);
  if (rc == SQLITE_OK) rc = vtab_fetch_columns(p, 0, &bChanged, &e);
  if (rc) {
    dbx_error_to_context(ctx, &e);
    return;
  }
  sqlite3_result_text(
      ctx,
      sqlite3_mprintf("{\"table\":\"%w\",\"changed\":%s,\"note\":\"%s\"}",
                      p->zVtabName, bChanged ? "true" : "false",
                      bChanged ? "the new columns are declared the next time "
                                 "the database is opened"
                               : "the stored columns are up to date"),
      -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

/* Registers the `databricks` module and dbx_refresh(); the session goes
** with them. */
int dbx_vtab_register(sqlite3 *db) {
  DbxSession *pSession;
  int rc;
  if (dbx_session_attach(db, &pSession) != SQLITE_OK) return SQLITE_NOMEM;
  rc = sqlite3_create_module_v2(db, "databricks", &dbxModule, pSession,
                                dbx_session_release);
  if (rc) return rc;
  if (dbx_session_attach(db, &pSession) != SQLITE_OK) return SQLITE_NOMEM;
  return sqlite3_create_function_v2(
      db, "dbx_refresh", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, pSession,
      refreshFunc, NULL, NULL, dbx_session_release);
}
