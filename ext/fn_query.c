/*
** fn_query.c: dbx_query, the table-valued function that runs any query.
**
**   SELECT row, rownum FROM dbx_query('SELECT * FROM main.default.t WHERE
**          id > :min', '{"min": 10}', '{"warehouse": "..."}');
**   SELECT json_extract(row, '$.id') FROM dbx_query('SELECT id FROM t');
**
** The arguments are those of dbx_exec() (fn_exec.c), read by args.c.
** `row` is a JSON object of the row: integers and REAL as JSON numbers,
** BOOLEAN as true/false, DECIMAL over 15 digits, TIMESTAMP, DATE and
** STRING as strings, ARRAY/MAP/STRUCT/VARIANT embedded as JSON, BINARY as
** a lower-case hex string, NULL as null. Rows stream chunk by chunk.
**
** An eponymous module only (no CREATE VIRTUAL TABLE), SQLITE_VTAB_DIRECTONLY
** since it uses the network.
*/
#include <string.h>

#include "args.h"

/* ---------------------------------------------------------------------
** dbx_query: an eponymous table-valued function.
*/

#define QUERY_COL_ROW     0
#define QUERY_COL_ROWNUM  1
#define QUERY_COL_SQL     2 /* hidden: argument 1 */
#define QUERY_COL_PARAMS  3 /* hidden: argument 2 */
#define QUERY_COL_OPTIONS 4 /* hidden: argument 3 */

typedef struct QueryVtab {
  sqlite3_vtab base;    /* must be first */
  sqlite3 *db;          /* the connection, for the interrupt probe */
  DbxSession *pSession; /* borrowed: the module's client data */
} QueryVtab;

typedef struct QueryCursor {
  sqlite3_vtab_cursor base; /* must be first */
  DbxRows *pRows;           /* owned; NULL at EOF before any query */
  sqlite3_stmt *pProbe;     /* owned; interrupt probe */
  DbxArgsCall args;         /* owned; the call's options */
  char *azArg[3];           /* owned; sql, params, options as given */
  DbxCell *aCell;           /* owned; decoded cells of the current row */
  DbxBuf row;               /* the JSON object of the current row */
  int bRowBuilt;            /* row holds the current row */
  int bEof;                 /* no current row */
} QueryCursor;

/* xConnect: the fixed schema; the session is the module's client data. */
static int queryConnect(sqlite3 *db, void *pAux, int argc,
                        const char *const *argv, sqlite3_vtab **ppVtab,
                        char **pzErr) {
  QueryVtab *p;
  int rc;
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  DBX_UNUSED(pzErr);
  rc = sqlite3_declare_vtab(db, "CREATE TABLE x(row, rownum, sql HIDDEN, "
                                "params HIDDEN, options HIDDEN)");
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->pSession = pAux;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &p->base;
  return SQLITE_OK;
}

/* xDisconnect: nothing remote to drop. */
static int queryDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/*
** The hidden arguments must be given as equality constraints; idxNum has a
** bit per argument present (1 sql, 2 params, 4 options). Without sql the
** plan is refused, which SQLite reports as "no query solution".
*/
static int queryBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  int i, aIdx[3] = {-1, -1, -1}, nArg = 0, mask = 0;
  DBX_UNUSED(pVtab);
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    int iArg = c->iColumn - QUERY_COL_SQL;
    if (iArg < 0 || iArg > 2) continue;
    if (c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c->usable) return SQLITE_CONSTRAINT;
    aIdx[iArg] = i;
  }
  if (aIdx[0] < 0) return SQLITE_CONSTRAINT;
  for (i = 0; i < 3; i++) {
    if (aIdx[i] < 0) continue;
    pInfo->aConstraintUsage[aIdx[i]].argvIndex = ++nArg;
    pInfo->aConstraintUsage[aIdx[i]].omit = 1;
    mask |= 1 << i;
  }
  pInfo->idxNum = mask;
  pInfo->estimatedCost = 1e6; /* a remote round trip */
  pInfo->estimatedRows = 1000;
  return SQLITE_OK;
}

/* xOpen: a cursor at EOF until xFilter runs a query. */
static int queryOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  QueryCursor *p = sqlite3_malloc64(sizeof(*p));
  DBX_UNUSED(pVtab);
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->bEof = 1;
  *ppCur = &p->base;
  return SQLITE_OK;
}

/* Drops the cursor's query, keeping the cursor. */
static void queryReset(QueryCursor *p) {
  int i;
  dbx_rows_free(p->pRows);
  p->pRows = NULL;
  sqlite3_finalize(p->pProbe);
  p->pProbe = NULL;
  dbx_args_call_free(&p->args);
  for (i = 0; i < 3; i++) {
    dbx_free_secret(p->azArg[i]); /* options may hold a refused secret */
    p->azArg[i] = NULL;
  }
  sqlite3_free(p->aCell);
  p->aCell = NULL;
  dbx_buf_free(&p->row);
  p->bRowBuilt = 0;
  p->bEof = 1;
}

/* xClose: unread rows need no remote call (results expire). */
static int queryClose(sqlite3_vtab_cursor *pCur) {
  QueryCursor *p = (QueryCursor *)pCur;
  queryReset(p);
  sqlite3_free(p);
  return SQLITE_OK;
}

/* Advances to the next row (or EOF). */
static int queryStep(QueryCursor *p) {
  DbxError err;
  int rc;
  dbx_error_clear(&err);
  p->bRowBuilt = 0;
  rc = dbx_rows_next(p->pRows, &err);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  p->bEof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  return dbx_error_to_vtab(p->base.pVtab, &err);
}

/*
** xFilter: takes sql, params and options from argv as idxNum says, runs
** the statement and stands on its first row. Errors go to zErrMsg.
*/
static int queryFilter(sqlite3_vtab_cursor *pCur, int idxNum,
                       const char *idxStr, int argc, sqlite3_value **argv) {
  QueryCursor *p = (QueryCursor *)pCur;
  QueryVtab *pTab = (QueryVtab *)pCur->pVtab;
  DbxError err;
  int rc;
  DBX_UNUSED(idxStr);
  queryReset(p);
  dbx_error_clear(&err);
  rc = dbx_args_copy(idxNum, 3, argc, argv, dbx_args_call_what,
                     DBX_ARGS_CALL_JSON, p->azArg, &err);
  if (rc) return dbx_error_to_vtab(pCur->pVtab, &err);
  if (p->azArg[0] == NULL) {
    dbx_error_set(
        &err, SQLITE_ERROR,
        "dbx_query(sql [, params_json [, options_json]]) needs the SQL text");
    return dbx_error_to_vtab(pCur->pVtab, &err);
  }
  rc = dbx_args_call_prepare(pTab->pSession, p->azArg[1], p->azArg[2], &p->args,
                             &err);
  if (rc) return dbx_error_to_vtab(pCur->pVtab, &err);
  p->pProbe = dbx_probe_open(pTab->db);
  p->args.stmt.xInterrupt = dbx_probe_interrupted;
  p->args.stmt.pInterruptArg = p->pProbe;
  rc = dbx_rows_execute(p->args.pClient, p->azArg[0], p->args.aParam,
                        p->args.nParam, &p->args.stmt, &p->pRows, &err);
  if (rc) return dbx_error_to_vtab(pCur->pVtab, &err);
  if (dbx_rows_column_count(p->pRows) > 0) {
    p->aCell = sqlite3_malloc64(sizeof(DbxCell) *
                                (size_t)dbx_rows_column_count(p->pRows));
    if (p->aCell == NULL) return SQLITE_NOMEM;
  }
  p->bEof = 0;
  return queryStep(p);
}

/* xNext: the next row, fetching the next chunk when needed. */
static int queryNext(sqlite3_vtab_cursor *pCur) {
  return queryStep((QueryCursor *)pCur);
}

/* xEof */
static int queryEof(sqlite3_vtab_cursor *pCur) {
  return ((QueryCursor *)pCur)->bEof;
}

/* Builds the JSON object of the current row into p->row. */
static int queryBuildRow(QueryCursor *p, DbxError *pErr) {
  int i, nCol = dbx_rows_column_count(p->pRows), rc;
  DbxColumn *aCol;
  if (p->bRowBuilt) return SQLITE_OK;
  dbx_buf_reset(&p->row);
  for (i = 0; i < nCol; i++) {
    rc = dbx_rows_cell(p->pRows, i, &p->aCell[i], pErr);
    if (rc) return rc;
  }
  aCol = (DbxColumn *)dbx_rows_column(p->pRows, 0);
  dbx_result_row_json(aCol, p->aCell, nCol, &p->row);
  if (p->row.rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  p->bRowBuilt = 1;
  return SQLITE_OK;
}

/* xColumn: row (JSON, built once per row), rownum or an argument. */
static int queryColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx,
                       int iCol) {
  QueryCursor *p = (QueryCursor *)pCur;
  DbxError err;
  switch (iCol) {
  case QUERY_COL_ROW:
    dbx_error_clear(&err);
    if (queryBuildRow(p, &err)) return dbx_error_to_vtab(pCur->pVtab, &err);
    sqlite3_result_text(ctx, p->row.z ? p->row.z : "{}", (int)p->row.n,
                        SQLITE_TRANSIENT);
    sqlite3_result_subtype(ctx, 'J');
    break;
  case QUERY_COL_ROWNUM:
    sqlite3_result_int64(ctx, dbx_stmt_rownum(dbx_rows_stmt(p->pRows)));
    break;
  default:
    if (p->azArg[iCol - QUERY_COL_SQL]) {
      sqlite3_result_text(ctx, p->azArg[iCol - QUERY_COL_SQL], -1,
                          SQLITE_TRANSIENT);
    }
    break;
  }
  return SQLITE_OK;
}

/* xRowid: the 1-based row number. */
static int queryRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  *pRowid = dbx_stmt_rownum(dbx_rows_stmt(((QueryCursor *)pCur)->pRows));
  return SQLITE_OK;
}

/* Eponymous only (no xCreate): the table exists in every schema. */
const sqlite3_module dbx_query_module = {
    .iVersion = 0,
    .xConnect = queryConnect,
    .xBestIndex = queryBestIndex,
    .xDisconnect = queryDisconnect,
    .xOpen = queryOpen,
    .xClose = queryClose,
    .xFilter = queryFilter,
    .xNext = queryNext,
    .xEof = queryEof,
    .xColumn = queryColumn,
    .xRowid = queryRowid,
};
