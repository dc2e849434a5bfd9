/*
** statements.h: the Statement Execution API client (statements.c).
**
** One DbxStmt is one remote statement: dbx_stmt_execute() submits it
** (wait_timeout, on_wait_timeout=CONTINUE), polls with backoff while it is
** PENDING or RUNNING, cancels it remotely when the interrupt callback fires
** or the statement timeout passes, and returns once it SUCCEEDED. The result
** then comes chunk by chunk from dbx_stmt_chunk(), as bytes: the rows of an
** INLINE data_array, or an EXTERNAL_LINKS file downloaded without
** Authorization (fresh link through the chunk endpoint when one expired).
** At most one chunk is held at a time. This client never decodes a value:
** the caller reads the rows (rows.h does, with result.h's reader) and
** reports each one with dbx_stmt_row(), so that every chunk is checked
** against what the manifest promised (chunk order, row counts, row width,
** byte counts): a mismatch is an error naming the statement and the chunk,
** never a short or padded result.
**
**   DbxStmtOptions o;
**   dbx_stmt_options_init(&o);             then set what you need
**   rc = dbx_stmt_execute(pClient, zSql, aParam, nParam, &o, &pStmt, &err);
**   schema: dbx_stmt_schema(pStmt)
**   while ((rc = dbx_stmt_chunk(pStmt, &chunk, &err)) == SQLITE_ROW) {
**     for each row of chunk.z: dbx_stmt_row(pStmt, nValues, &err)
**   }
**   dbx_stmt_free(pStmt);                  reports to o.xLog, frees
*/
#ifndef DBX_STATEMENTS_H
#define DBX_STATEMENTS_H

#include <cjson/cJSON.h>

#include "client.h"
#include "dbx_int.h"

/* One named parameter (:name in the SQL text). */
typedef struct DbxParam {
  const char *zName;  /* marker name without the colon */
  const char *zValue; /* value as text; NULL is SQL NULL */
  const char *zType;  /* SQL type ("BIGINT", "DOUBLE", ...); NULL: STRING */
} DbxParam;

/* How results are fetched. */
typedef enum DbxDisposition {
  DBX_DISP_AUTO = 0,      /* INLINE; re-run with EXTERNAL_LINKS if too big */
  DBX_DISP_INLINE,        /* INLINE only */
  DBX_DISP_EXTERNAL_LINKS /* EXTERNAL_LINKS (for results known to be large) */
} DbxDisposition;

/* What a finished statement reports to DbxStmtOptions.xLog. */
typedef struct DbxStmtInfo {
  const char *zStatementId; /* remote id, or "" when the submit failed */
  const char *zSql;         /* SQL text as sent (values are parameters) */
  const char *zParams;      /* ":a BIGINT, :b STRING" (names, no values) */
  const char *zState;       /* SUCCEEDED, FAILED, CANCELED, CLOSED, ... */
  int64_t nRows;            /* rows delivered to the caller */
  int64_t nBytes;           /* result bytes received */
  int nChunks;              /* chunks fetched (the first one included) */
  int64_t nMs;              /* submit until finished, in milliseconds */
  const char *zError;       /* one-line error, or NULL */
} DbxStmtInfo;

/* Options of one statement; dbx_stmt_options_init() sets the defaults. */
typedef struct DbxStmtOptions {
  const char *zWarehouseId;    /* required; dbx_session_stmt_options() sets it,
                               ** with catalog and schema, from the config */
  const char *zCatalog;        /* NULL or "": the warehouse's default */
  const char *zSchema;         /* NULL or "": the warehouse's default */
  DbxDisposition eDisposition; /* default DBX_DISP_AUTO */
  int nWaitSeconds;          /* wait_timeout: 0 (async) or 5..50; default 10 */
  double rTimeoutSeconds;    /* cancel after this long; 0: no limit */
  int64_t nRowLimit;         /* row_limit, 0: none */
  int bIdempotent;           /* running it twice is harmless: it only
                             ** reads (dbx_rows_execute sets this for
                             ** read-only text) or the caller says so
                             ** (COPY INTO a fixed file); a submit lost in
                             ** transit may then be sent again */
  int nPollFirstMs;          /* first poll delay (default 100), grows to 10 s */
  DbxInterruptFn xInterrupt; /* non-zero return cancels the statement */
  void *pInterruptArg;       /* passed to xInterrupt */
  void (*xLog)(void *pArg, const DbxStmtInfo *pInfo); /* once, at the end */
  void *pLogArg;                                      /* passed to xLog */
  int bProgress; /* call xProgress ("progress" option: on / off) */
  void (*xProgress)(void *pArg, const DbxStmtInfo *pInfo,
                    int bDone); /* while waiting and per chunk; bDone once */
  void *pProgressArg;           /* passed to xProgress */
} DbxStmtOptions;

typedef struct DbxStmt DbxStmt;

void dbx_stmt_options_init(DbxStmtOptions *pOpt);

/*
** Sets one statement option from text, for options given as vtab
** arguments or JSON: "disposition" (inline | external_links | auto),
** "statement_timeout" (seconds, may be fractional), "wait_timeout" (seconds
** or "Ns"), "row_limit". Returns SQLITE_OK, SQLITE_NOTFOUND when zKey is
** not a statement option (so the caller can try the config keys), or
** SQLITE_ERROR with pErr set for a bad value.
*/
int dbx_stmt_option(DbxStmtOptions *pOpt, const char *zKey, const char *zValue,
                    DbxError *pErr);

/* The statement option names, for messages that list what is accepted. */
#define DBX_STMT_OPTION_NAMES                                                  \
  "disposition, statement_timeout, wait_timeout, row_limit, idempotent, "      \
  "progress"

/* True when zKey names a statement option (dbx_stmt_option knows it). */
int dbx_stmt_is_option(const char *zKey);

/*
** Runs zSql on the warehouse and waits until it is done. On SUCCEEDED,
** returns SQLITE_OK and *ppOut positioned before the first row (free it with
** dbx_stmt_free). Otherwise returns an error code, *ppOut = NULL, and pErr
** holds one line with the Databricks error class ("[TABLE_OR_VIEW_NOT_FOUND]
** ...") in zCode and the statement id in zStatement; SQLITE_INTERRUPT when
** the interrupt callback fired, after the remote statement was canceled.
** xLog, if set, has then already been called. aParam may be NULL when
** nParam is 0; the strings are copied. A statement that is not read-only
** (nor declared idempotent) is never submitted twice: when its submit
** failed after it went out, pErr->bUncertain is set and the message says
** it may have run.
*/
int dbx_stmt_execute(DbxClient *pClient, const char *zSql,
                     const DbxParam *aParam, int nParam,
                     const DbxStmtOptions *pOpt, DbxStmt **ppOut,
                     DbxError *pErr);

/* One chunk of a result, as it came. */
typedef struct DbxStmtChunk {
  char *z;             /* its rows; owned by the statement, which the reader
                       ** may rewrite in place; valid until the next
                       ** dbx_stmt_chunk() or dbx_stmt_free() */
  size_t n;            /* bytes at z */
  const char *zFormat; /* how the rows are written: "JSON_ARRAY", that is
                       ** `[[v, ...], ...]` (static storage) */
  int64_t iChunk;      /* chunk_index */
} DbxStmtChunk;

/*
** Hands out the next chunk of the result: SQLITE_ROW with *pChunk set,
** SQLITE_DONE after the last one, or an error code with pErr set (the
** statement is then finished: later calls return the same code). Before
** moving on, checks that the chunk before held the rows it promised (as
** reported with dbx_stmt_row), and at the end that the whole result did.
*/
int dbx_stmt_chunk(DbxStmt *p, DbxStmtChunk *pChunk, DbxError *pErr);

/*
** Reports a row just read from the current chunk, holding nVal values.
** Returns SQLITE_OK when it may be handed out, or SQLITE_ERROR with pErr
** set when its width or the row counts do not match the manifest (the
** statement is then finished, as for dbx_stmt_chunk).
*/
int dbx_stmt_row(DbxStmt *p, int nVal, DbxError *pErr);

/*
** Finishes the statement with the caller's error *pWhy (a chunk or a
** schema it could not read), so that its log and later calls report it.
** Returns the error code, with pErr (when not NULL) set to the error.
*/
int dbx_stmt_fail(DbxStmt *p, const DbxError *pWhy, DbxError *pErr);

/*
** The result schema as sent, manifest.schema ({"column_count":N,
** "columns":[...]}; borrowed; NULL when there was none), and the number of
** columns it lists (0 for most DDL). Only the count is checked here.
*/
const cJSON *dbx_stmt_schema(const DbxStmt *p);
int dbx_stmt_column_count(const DbxStmt *p);

/* The remote statement id (borrowed). */
const char *dbx_stmt_id(const DbxStmt *p);

/* 1-based number of the current row; 0 before the first. */
int64_t dbx_stmt_rownum(const DbxStmt *p);

/* manifest.total_row_count, or -1 when Databricks did not say. */
int64_t dbx_stmt_total_rows(const DbxStmt *p);

/* The last state Databricks reported ("SUCCEEDED" once executed). */
const char *dbx_stmt_state(const DbxStmt *p);

/*
** Frees the statement (NULL is fine). A statement whose rows were not all
** read needs no remote call: results expire by themselves. Calls xLog.
*/
void dbx_stmt_free(DbxStmt *p);

#endif /* DBX_STATEMENTS_H */
