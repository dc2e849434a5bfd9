/*
** vtab.c: the `databricks` virtual table module: its table of methods, the
** life of a table, and dbx_refresh().
**
**   CREATE VIRTUAL TABLE orders USING databricks(table='main.sales.orders');
**   CREATE VIRTUAL TABLE big USING databricks(
**     query='SELECT user_id, count(*) AS n FROM main.web.events GROUP BY 1',
**     warehouse='/sql/1.0/warehouses/abc123', profile='prod');
**   SELECT dbx_refresh('orders');
**   ALTER TABLE orders RENAME TO sales;  DROP TABLE sales;
**
** table= columns come from the Unity Catalog table API, query= columns from
** running the query wrapped as `SELECT * FROM (<query>) AS _dbx_q LIMIT 0`
** (LIMIT 0 rather than row_limit=0, whose meaning the API leaves open).
** Declared types say the remote type (`amount DECIMAL(10,2)`); see
** dbx_sql_decltype for the few that need a TEXT suffix. xCreate
** stores them in the shadow table "<name>_columns", from which xConnect
** declares them without a network call; dbx_refresh() reads them again.
**
** changes=true declares the table's columns plus _change_type,
** _commit_version and _commit_timestamp, stored like the others; its scans
** read table_changes() (cdf.h) and it refuses writes.
**
** The arguments are parsed in vtab_args.c and scans run in vtab_scan.c
** (vtab.h), writes in vtab_txn.c. The module is SQLITE_VTAB_DIRECTONLY (it
** talks to the network). A table= table also has the shadow table
** "<name>_state" (vtab_txn.c: the identity and commit number of its
** writes); a merge table (merge_keys=) is declared WITHOUT ROWID on a
** hidden key made of its key columns.
*/
#include <string.h>

#include "catalog.h"
#include "cdf.h"
#include "vtab.h"

/* The columns table_changes() adds, as a changes=true table declares them. */
static const struct {
  const char *zName;
  const char *zType;
} aChangeCol[] = {{DBX_CDF_CHANGE_TYPE, "STRING"},
                  {DBX_CDF_COMMIT_VERSION, "BIGINT"},
                  {DBX_CDF_COMMIT_TIMESTAMP, "TIMESTAMP"}};

/* ---------------------------------------------------------------------
** Connecting: options, columns, the declared schema
*/

/* Frees a vtab and everything it owns (NULL is fine). */
static void vtab_free(DbxVtab *p) {
  int i;
  if (p == NULL) return;
  dbx_vtab_txn_free(p);
  sqlite3_free(p->aiKey);
  sqlite3_free(p->aiVersion);
  for (i = 0; i < p->remote.nCol; i++) {
    sqlite3_free(p->azCol[i]);
    sqlite3_free(p->azType[i]);
  }
  sqlite3_free(p->azCol);
  sqlite3_free(p->azType);
  sqlite3_free(p->aClass);
  sqlite3_free(p->zTable);
  sqlite3_free(p->zQuery);
  sqlite3_free(p->zDisplay);
  sqlite3_free(p->zCatalog);
  sqlite3_free(p->zSchema);
  sqlite3_free(p->zName);
  sqlite3_free(p->zDb);
  sqlite3_free(p->zVtabName);
  dbx_vtab_args_free(&p->args);
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

/* dbx_vtab_stmt_options: see vtab.h. */
int dbx_vtab_stmt_options(DbxVtab *p, DbxStmtOptions *pOpt,
                          sqlite3_stmt *pProbe, DbxError *pErr) {
  int rc;
  dbx_stmt_options_init(pOpt);
  dbx_session_stmt_options(p->pSession, p->pConfig, pOpt);
  rc = dbx_args_options_apply(&p->args.opts, pOpt, pErr);
  pOpt->xInterrupt = dbx_probe_interrupted;
  pOpt->pInterruptArg = pProbe;
  return rc;
}

/* Allocates the column arrays for nCol columns; SQLITE_NOMEM on failure. */
static int vtab_alloc_cols(DbxVtab *p, int nCol) {
  p->azCol = sqlite3_malloc64(sizeof(char *) * (sqlite3_uint64)(nCol + 1));
  p->azType = sqlite3_malloc64(sizeof(char *) * (sqlite3_uint64)(nCol + 1));
  p->aClass =
      sqlite3_malloc64(sizeof(DbxColClass) * (sqlite3_uint64)(nCol + 1));
  if (p->azCol) memset(p->azCol, 0, sizeof(char *) * (size_t)(nCol + 1));
  if (p->azType) memset(p->azType, 0, sizeof(char *) * (size_t)(nCol + 1));
  if (!p->azCol || !p->azType || !p->aClass) return SQLITE_NOMEM;
  return SQLITE_OK;
}

/*
** dbx_vtab_ready: connecting a table only reads what xCreate stored. The
** options are those of the table definition, so the trust rule of
** dbx_session_connect_stored applies. Also sets p->zTable / p->zDisplay
** for table= (a one- or two-part name takes catalog and schema from the
** settings).
*/
int dbx_vtab_ready(DbxVtab *p, DbxError *pErr) {
  char *azPart[3];
  int rc;
  if (p->pClient) return SQLITE_OK;
  rc = dbx_session_connect_stored(p->pSession, p->args.opts.aOpt,
                                  p->args.opts.nOpt, &p->pConfig, &p->pClient,
                                  pErr);
  if (rc || p->args.zTable == NULL) return rc;

  rc = dbx_session_name3(p->pConfig, p->args.zTable, "table", azPart, pErr);
  if (rc == SQLITE_OK) {
    sqlite3_free(p->zCatalog);
    sqlite3_free(p->zSchema);
    sqlite3_free(p->zName);
    sqlite3_free(p->zTable);
    p->zCatalog = azPart[0];
    p->zSchema = azPart[1];
    p->zName = azPart[2];
    DbxBuf q = {0};
    dbx_sql_ident(&q, p->zCatalog);
    dbx_buf_append(&q, ".", 1);
    dbx_sql_ident(&q, p->zSchema);
    dbx_buf_append(&q, ".", 1);
    dbx_sql_ident(&q, p->zName);
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
** returns its rows in *ppRows for the columns.
*/
static int vtab_run_schema_query(DbxVtab *p, DbxRows **ppRows, DbxError *pErr) {
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
  rc = dbx_vtab_stmt_options(p, &o, NULL, pErr);
  if (rc == SQLITE_OK) {
    o.eDisposition = DBX_DISP_INLINE;
    rc = dbx_rows_execute(p->pClient, zSql, NULL, 0, &o, ppRows, pErr);
  }
  sqlite3_free(zSql);
  if (rc == SQLITE_OK && dbx_rows_column_count(*ppRows) == 0) {
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

/* The index of the column named zName (ASCII case ignored), or -1. */
static int vtab_column_index(DbxVtab *p, const char *zName) {
  int i;
  for (i = 0; i < p->remote.nCol; i++) {
    if (sqlite3_stricmp(p->azCol[i], zName) == 0) return i;
  }
  return -1;
}

/*
** Ends the declaration in pDecl: ")" for an append table; for a merge
** table the hidden key column, the primary key on it, and WITHOUT ROWID,
** after finding the key and version columns (p->aiKey, p->aiVersion).
*/
static int vtab_declare_merge(DbxVtab *p, DbxBuf *pDecl, DbxError *pErr) {
  char **azKey = NULL, **azVersion = NULL;
  int i, nKey = 0, nVersion = 0, rc;
  rc = dbx_vtab_merge_names(&p->args, &p->bMerge, &azKey, &nKey, &azVersion,
                            &nVersion, pErr);
  if (rc == SQLITE_OK && p->bMerge) {
    p->aiKey = sqlite3_malloc64(sizeof(int) * (sqlite3_uint64)(nKey + 1));
    p->aiVersion =
        sqlite3_malloc64(sizeof(int) * (sqlite3_uint64)(nVersion + 1));
    if (p->aiKey == NULL || p->aiVersion == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    for (i = 0; rc == SQLITE_OK && i < nKey + nVersion; i++) {
      const char *zName = i < nKey ? azKey[i] : azVersion[i - nKey];
      int iCol = vtab_column_index(p, zName);
      if (iCol < 0) {
        rc = dbx_error_set(
            pErr, SQLITE_ERROR, "%s column '%s' is not a column of %s",
            i < nKey ? "merge key" : "version", zName, p->zDisplay);
      } else if (i < nKey) {
        p->aiKey[p->nKey++] = iCol;
      } else {
        p->aiVersion[p->nVersion++] = iCol;
      }
    }
    if (rc == SQLITE_OK && vtab_column_index(p, DBX_VTAB_KEY_COLUMN) >= 0) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "%s has a column named " DBX_VTAB_KEY_COLUMN
                         ", which a merge table uses itself",
                         p->zDisplay);
    }
    dbx_buf_appendf(pDecl, ", \"" DBX_VTAB_KEY_COLUMN
                           "\" HIDDEN, PRIMARY KEY(\"" DBX_VTAB_KEY_COLUMN
                           "\")) WITHOUT ROWID");
  } else {
    dbx_buf_appendf(pDecl, ")");
  }
  sqlite3_free(azKey);
  sqlite3_free(azVersion);
  return rc;
}

/*
** Declares the columns of the table and fills p->azCol, p->aClass and
** p->remote (what pushdown.c reads). The names and types may come from a
** database file someone else wrote: names are quoted, types pass through
** dbx_sql_decltype, which quotes anything but a plain type.
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
    char *zDecl = dbx_sql_decltype(aCol[i].zTypeText, aCol[i].zTypeName);
    p->azCol[i] = dbx_strdup(aCol[i].zName);
    p->azType[i] = dbx_strdup(aCol[i].zTypeText);
    p->aClass[i] = dbx_pushdown_class(aCol[i].zTypeText, aCol[i].zTypeName);
    if (p->azCol[i] == NULL || p->azType[i] == NULL || zDecl == NULL) {
      sqlite3_free(zDecl);
      dbx_buf_free(&decl);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    vtab_decl_column(p, i, zDecl, &decl);
    sqlite3_free(zDecl);
  }
  rc = vtab_declare_merge(p, &decl, pErr);
  if (rc) {
    dbx_buf_free(&decl);
    return rc;
  }
  if (decl.rc) {
    dbx_buf_free(&decl);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  p->iCommitVersion = vtab_column_index(p, DBX_CDF_COMMIT_VERSION);
  p->iCommitTs = vtab_column_index(p, DBX_CDF_COMMIT_TIMESTAMP);
  if (p->args.bChanges && (p->iCommitVersion < 0 || p->iCommitTs < 0)) {
    dbx_buf_free(&decl);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "the stored columns of %s lack those of the change "
                         "feed: DROP TABLE %s and create it again",
                         p->zVtabName, p->zVtabName);
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
  DbxRows *pRows = NULL;
  VtabColumn *aCol = NULL;
  DbxSqlCol *aSpec = NULL;
  int i, j, nCol = 0, nRemote, nSpec = 0, rc;
  if (p->args.zTable) {
    DbxError e;
    dbx_error_clear(&e);
    rc = dbx_vtab_spec_columns(&p->args, &aSpec, &nSpec, NULL, pErr);
    if (rc) goto done;
    rc = dbx_catalog_table_get(p->pClient, p->zCatalog, p->zSchema, p->zName,
                               &pInfo, &e);
    /* a table that create= or model= describes may come with the first
    ** commit; until then it has their columns */
    if (rc && e.httpStatus == 404 && (p->args.zCreate || p->args.zModel)) {
      rc = SQLITE_OK;
    } else if (rc && pErr && pErr->rc == SQLITE_OK) {
      *pErr = e;
    }
  } else {
    rc = vtab_run_schema_query(p, &pRows, pErr);
  }
  if (rc) goto done;
  nRemote = pInfo ? pInfo->nCol : pRows ? dbx_rows_column_count(pRows) : 0;
  aCol = sqlite3_malloc64(sizeof(VtabColumn) *
                          (sqlite3_uint64)(nRemote + nSpec + 4));
  if (aCol == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  nCol = nRemote;
  for (i = 0; i < nRemote; i++) {
    const char *zN, *zT, *zTn;
    if (pInfo) {
      zN = pInfo->aCol[i].zName;
      zT = pInfo->aCol[i].zTypeText;
      zTn = pInfo->aCol[i].zTypeName;
    } else {
      const DbxColumn *pCol = dbx_rows_column(pRows, i);
      zN = pCol->zName;
      zT = pCol->zTypeText;
      zTn = pCol->zTypeName;
    }
    aCol[i].zName = zN ? zN : "";
    aCol[i].zTypeText = zT ? zT : "";
    aCol[i].zTypeName = zTn ? zTn : "";
  }
  /* then the columns a write adds, which the commit adds remotely */
  for (i = 0; i < nSpec; i++) {
    for (j = 0; j < nRemote; j++) {
      if (sqlite3_stricmp(aCol[j].zName, aSpec[i].zName) == 0) break;
    }
    if (j == nRemote) {
      aCol[nCol].zName = aSpec[i].zName;
      aCol[nCol].zTypeText = aSpec[i].zType;
      aCol[nCol].zTypeName = "";
      nCol++;
    }
  }
  /* changes=true: then the columns of the change feed */
  for (i = 0; p->args.bChanges && i < (int)DBX_ARRAY_SIZE(aChangeCol); i++) {
    for (j = 0; j < nRemote; j++) {
      if (sqlite3_stricmp(aCol[j].zName, aChangeCol[i].zName) == 0) {
        rc = dbx_error_set(pErr, SQLITE_ERROR,
                           "%s has a column named %s, which its change feed "
                           "uses itself: read it without changes=true",
                           p->zDisplay, aChangeCol[i].zName);
        goto done;
      }
    }
    aCol[nCol].zName = aChangeCol[i].zName;
    aCol[nCol].zTypeText = aChangeCol[i].zType;
    aCol[nCol].zTypeName = aChangeCol[i].zType;
    nCol++;
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
  sqlite3_free(aSpec);
  dbx_catalog_table_free(pInfo);
  dbx_rows_free(pRows);
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
  int rc;
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
  rc = dbx_vtab_args_parse(argc, argv, &p->args, pErr);
  if (rc == SQLITE_OK) {
    p->zDisplay = dbx_strdup(p->args.zTable ? p->args.zTable : "query");
    p->zQuery = p->args.zQuery ? dbx_strdup(p->args.zQuery) : NULL;
    if (p->zDisplay == NULL || (p->args.zQuery && p->zQuery == NULL)) {
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
    rc = dbx_vtab_ready(p, &e);
    if (rc == SQLITE_OK) rc = vtab_fetch_columns(p, 1, NULL, &e);
    if (rc == SQLITE_OK && p->args.zTable && !p->args.bChanges) {
      rc = dbx_vtab_state_create(p, &e);
    }
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

/* xDestroy: drops the shadow tables; nothing is dropped remotely. */
static int vtabDestroy(sqlite3_vtab *pVtab) {
  DbxVtab *p = (DbxVtab *)pVtab;
  char *zSql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_columns\";"
                               "DROP TABLE IF EXISTS \"%w\".\"%w_state\"",
                               p->zDb, p->zVtabName, p->zDb, p->zVtabName);
  int rc = zSql ? sqlite3_exec(p->db, zSql, NULL, NULL, NULL) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) vtab_free(p);
  return rc;
}

/* xRename: the shadow tables follow the table's new name ("_state" only
** for a table= table, which has one). */
static int vtabRename(sqlite3_vtab *pVtab, const char *zNew) {
  DbxVtab *p = (DbxVtab *)pVtab;
  char *zName = dbx_strdup(zNew);
  char *zSql = sqlite3_mprintf(
      "ALTER TABLE \"%w\".\"%w_columns\" RENAME TO \"%w_columns\"", p->zDb,
      p->zVtabName, zNew);
  int rc = (zSql && zName) ? sqlite3_exec(p->db, zSql, NULL, NULL, NULL)
                           : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc == SQLITE_OK && p->args.zTable && !p->args.bChanges) {
    zSql = sqlite3_mprintf(
        "ALTER TABLE \"%w\".\"%w_state\" RENAME TO \"%w_state\"", p->zDb,
        p->zVtabName, zNew);
    rc = zSql ? sqlite3_exec(p->db, zSql, NULL, NULL, NULL) : SQLITE_NOMEM;
    sqlite3_free(zSql);
  }
  if (rc == SQLITE_OK) {
    sqlite3_free(p->zVtabName);
    p->zVtabName = zName;
  } else {
    sqlite3_free(zName);
  }
  return rc;
}

/* xShadowName: "<name>_columns" and "<name>_state" belong to the table
** (SQLite then protects them from writes by ordinary SQL in defensive
** mode). A changes=true table has no "_state": it is never written. */
static int vtabShadowName(const char *zSuffix) {
  return sqlite3_stricmp(zSuffix, "columns") == 0 ||
         sqlite3_stricmp(zSuffix, "state") == 0;
}

/* ---------------------------------------------------------------------
** Writes, the module, dbx_refresh()
*/

const sqlite3_module dbx_vtab_module = {
    .iVersion = 3,
    .xCreate = vtabCreate,
    .xConnect = vtabConnect,
    .xBestIndex = dbx_vtab_best_index,
    .xDisconnect = vtabDisconnect,
    .xDestroy = vtabDestroy,
    .xRename = vtabRename,
    .xShadowName = vtabShadowName,
    .xOpen = dbx_vtab_open,
    .xClose = dbx_vtab_close,
    .xFilter = dbx_vtab_filter,
    .xNext = dbx_vtab_next,
    .xEof = dbx_vtab_eof,
    .xColumn = dbx_vtab_column,
    .xRowid = dbx_vtab_rowid,
    .xUpdate = dbx_vtab_update,
    .xBegin = dbx_vtab_begin,
    .xSync = dbx_vtab_sync,
    .xCommit = dbx_vtab_commit,
    .xRollback = dbx_vtab_rollback,
    .xSavepoint = dbx_vtab_savepoint,
    .xRelease = dbx_vtab_release,
    .xRollbackTo = dbx_vtab_rollback_to,
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
** report: {"table", "changed", "note"}.
*/
void dbx_vtab_refresh(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
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
  rc = dbx_vtab_ready(p, &e);
  if (rc == SQLITE_OK) rc = vtab_fetch_columns(p, 0, &bChanged, &e);
  if (rc == SQLITE_OK && p->args.zTable && !p->args.bChanges) {
    rc = dbx_vtab_state_create(p, &e);
  }
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
