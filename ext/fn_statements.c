/*
** fn_statements.c: dbx_statements, what this connection ran remotely.
**
**   SELECT seq, statement_id, state, rows, ms, error FROM dbx_statements;
**
** One row per recent remote statement of the connection (the ring kept by
** session.c, DBX_SESSION_LOG_SIZE entries): its id, SQL, parameters,
** final state, rows, bytes, chunks, time and error.
** An eponymous module only; it reads local memory, no network.
*/
#include <string.h>

#include "session.h"

/* ---------------------------------------------------------------------
** dbx_statements: the recent remote statements of this connection.
*/

typedef struct LogVtab {
  sqlite3_vtab base;    /* must be first */
  DbxSession *pSession; /* borrowed */
} LogVtab;

typedef struct LogCursor {
  sqlite3_vtab_cursor base; /* must be first */
  int64_t iSeq;             /* current entry */
  int64_t iLast;            /* last entry when the scan began */
} LogCursor;

/* xConnect: the fixed schema of dbx_statements. */
static int logConnect(sqlite3 *db, void *pAux, int argc,
                      const char *const *argv, sqlite3_vtab **ppVtab,
                      char **pzErr) {
  LogVtab *p;
  int rc;
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  DBX_UNUSED(pzErr);
  rc = sqlite3_declare_vtab(db,
                            "CREATE TABLE x(seq INTEGER, statement_id TEXT, "
                            "sql TEXT, params TEXT, state TEXT, rows INTEGER, "
                            "bytes INTEGER, chunks INTEGER, ms INTEGER, "
                            "error TEXT)");
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->pSession = pAux;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

/* xDisconnect: the table holds nothing but the session it borrows. */
static int logDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* xBestIndex: always a full scan of the small ring. */
static int logBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  DBX_UNUSED(pVtab);
  pInfo->estimatedCost = DBX_SESSION_LOG_SIZE;
  pInfo->estimatedRows = DBX_SESSION_LOG_SIZE;
  return SQLITE_OK;
}

/* xOpen */
static int logOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  LogCursor *p = sqlite3_malloc64(sizeof(*p));
  DBX_UNUSED(pVtab);
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  *ppCur = &p->base;
  return SQLITE_OK;
}

/* xClose */
static int logClose(sqlite3_vtab_cursor *pCur) {
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* Moves to the first entry still held at or after iSeq. */
static void logSkip(LogCursor *p, DbxSession *pSession) {
  while (p->iSeq <= p->iLast &&
         dbx_session_log_entry(pSession, p->iSeq) == NULL) {
    p->iSeq++;
  }
}

/* xFilter: the entries held now; later statements are not seen. */
static int logFilter(sqlite3_vtab_cursor *pCur, int idxNum, const char *idxStr,
                     int argc, sqlite3_value **argv) {
  LogCursor *p = (LogCursor *)pCur;
  DbxSession *pSession = ((LogVtab *)pCur->pVtab)->pSession;
  DBX_UNUSED(idxNum);
  DBX_UNUSED(idxStr);
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  dbx_session_log_range(pSession, &p->iSeq, &p->iLast);
  logSkip(p, pSession);
  return SQLITE_OK;
}

/* xNext */
static int logNext(sqlite3_vtab_cursor *pCur) {
  LogCursor *p = (LogCursor *)pCur;
  p->iSeq++;
  logSkip(p, ((LogVtab *)pCur->pVtab)->pSession);
  return SQLITE_OK;
}

/* xEof */
static int logEof(sqlite3_vtab_cursor *pCur) {
  LogCursor *p = (LogCursor *)pCur;
  return p->iSeq > p->iLast;
}

/* Sets a text result, NULL for a NULL pointer. */
static void result_text_or_null(sqlite3_context *ctx, const char *z) {
  if (z)
    sqlite3_result_text(ctx, z, -1, SQLITE_TRANSIENT);
  else
    sqlite3_result_null(ctx);
}

/* xColumn: one field of the entry, in the order the schema declares. */
static int logColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx,
                     int iCol) {
  LogCursor *p = (LogCursor *)pCur;
  const DbxLogEntry *e =
      dbx_session_log_entry(((LogVtab *)pCur->pVtab)->pSession, p->iSeq);
  if (e == NULL) return SQLITE_OK;
  /* One line per column reads as the schema does. */
  /* clang-format off */
  switch (iCol) {
    case 0: sqlite3_result_int64(ctx, e->iSeq); break;
    case 1: result_text_or_null(ctx, e->zStatementId); break;
    case 2: result_text_or_null(ctx, e->zSql); break;
    case 3: result_text_or_null(ctx, e->zParams); break;
    case 4: result_text_or_null(ctx, e->zState); break;
    case 5: sqlite3_result_int64(ctx, e->nRows); break;
    case 6: sqlite3_result_int64(ctx, e->nBytes); break;
    case 7: sqlite3_result_int(ctx, e->nChunks); break;
    case 8: sqlite3_result_int64(ctx, e->nMs); break;
    default: result_text_or_null(ctx, e->zError); break;
  }
  /* clang-format on */
  return SQLITE_OK;
}

/* xRowid: the entry's sequence number. */
static int logRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  *pRowid = ((LogCursor *)pCur)->iSeq;
  return SQLITE_OK;
}

/* Eponymous only (no xCreate): the table exists in every schema. */
const sqlite3_module dbx_statements_module = {
    .iVersion = 0,
    .xConnect = logConnect,
    .xBestIndex = logBestIndex,
    .xDisconnect = logDisconnect,
    .xOpen = logOpen,
    .xClose = logClose,
    .xFilter = logFilter,
    .xNext = logNext,
    .xEof = logEof,
    .xColumn = logColumn,
    .xRowid = logRowid,
};
