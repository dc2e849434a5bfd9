/*
** session.h: per-connection state (session.c).
**
** Every SQL surface registration of one sqlite3 connection (the dbx_*
** functions, the databricks module) shares one DbxSession as its
** pClientData. It holds
**   - the dbx_config(key, value) defaults of the connection (config keys,
**     secrets only as env:NAME / file:PATH references, and statement
**     options),
**   - a cache of open DbxClients by identity (host + credentials), so one
**     connection reuses its HTTP connections and tokens,
**   - the recent-statements ring behind the dbx_statements table.
**
** Sessions are found by an opaque key (the sqlite3 pointer) and reference
** counted: each registrar calls dbx_session_attach(db, &p) once per
** sqlite3_create_function_v2 / sqlite3_create_module_v2 it makes and passes
** dbx_session_release as that call's destructor, so the session goes with
** the last registration of the connection:
**
**   DbxSession *p;
**   if (dbx_session_attach(db, &p)) return SQLITE_NOMEM;
**   rc = sqlite3_create_module_v2(db, "databricks", &mod, p,
**                                 dbx_session_release);
*/
#ifndef DBX_SESSION_H
#define DBX_SESSION_H

#include "client.h"
#include "config.h"
#include "dbx_int.h"
#include "statements.h"

typedef struct DbxSession DbxSession;

/* An explicit option: a vtab argument or a member of a JSON options. */
typedef struct DbxOption {
  const char *zKey;   /* config key (config.h) */
  const char *zValue; /* its value; env:NAME / file:PATH for secrets */
} DbxOption;

/*
** Returns the session of pKey (creating it) with one more reference in
** *ppOut. Returns SQLITE_OK or SQLITE_NOMEM. Thread-safe.
*/
int dbx_session_attach(const void *pKey, DbxSession **ppOut);

/* Drops one reference (the destructor of a registration); NULL is fine. */
void dbx_session_release(void *pSession);

/*
** dbx_config(key, value): sets (zValue != NULL) or clears (zValue NULL) a
** connection default. Every config key (config.h) is accepted, and the
** statement options (disposition, statement_timeout, wait_timeout,
** row_limit), which then apply to every statement of the connection unless
** a call or a table gives its own. Keys are case-insensitive. A secret is
** refused as a literal (an env:NAME or file:PATH reference is fine); a bad
** value or an unknown key is an error naming what is accepted.
*/
int dbx_session_set_default(DbxSession *p, const char *zKey, const char *zValue,
                            DbxError *pErr);

/* SQLITE_OK when zKey is a setting dbx_config() knows; otherwise an error
** listing them. */
int dbx_session_check_key(const char *zKey, DbxError *pErr);

/*
** Builds and resolves a configuration: aOpt (DBX_SRC_OPTION) over the
** session defaults (DBX_SRC_SESSION) over environment and profile. On
** success *ppConfig is resolved and owned by the caller (dbx_config_free).
*/
int dbx_session_config(DbxSession *p, const DbxOption *aOpt, int nOpt,
                       DbxConfig **ppConfig, DbxError *pErr);

/*
** dbx_config(): the effective configuration of this connection as JSON
** (config.h's dbx_config_json: secrets as "***", the source of each value).
** When resolution fails the settings found so far are shown with an
** "error" member rather than failing. *pzOut from sqlite3_malloc.
*/
int dbx_session_config_json(DbxSession *p, char **pzOut, DbxError *pErr);

/*
** Like dbx_session_config, and also returns the cached client of that
** configuration's identity in *ppClient (opened on first use; borrowed,
** valid until the session is freed). Warehouse, catalog and schema may
** differ between calls that share a client: take them from *ppConfig (see
** dbx_session_stmt_options).
*/
int dbx_session_connect(DbxSession *p, const DbxOption *aOpt, int nOpt,
                        DbxConfig **ppConfig, DbxClient **ppClient,
                        DbxError *pErr);

/*
** dbx_session_connect for options stored in the database file (the
** arguments of CREATE VIRTUAL TABLE): a database file is data, not
** configuration, so nothing in it may send a credential, or the contents
** of an environment variable or a file, to a host the user did not
** configure outside it. Such options may not set config_file, and may set
** host only to the host the same settings give without it (the
** environment, a profile, or dbx_config()). Otherwise an error says how to
** configure the host, before anything is read or sent.
*/
int dbx_session_connect_stored(DbxSession *p, const DbxOption *aOpt, int nOpt,
                               DbxConfig **ppConfig, DbxClient **ppClient,
                               DbxError *pErr);

/*
** Splits zName, a remote table (or volume) name, into azOut[3] (catalog,
** schema, name; free with dbx_sql_name_free): a one- or two-part name
** takes the catalog and schema it lacks from pConfig's settings. zWhat
** names it in the error ("dbx_sync: source"). Returns SQLITE_OK, or an
** error in pErr (a bad name, or no catalog or schema to take).
*/
int dbx_session_name3(const DbxConfig *pConfig, const char *zName,
                      const char *zWhat, char *azOut[3], DbxError *pErr);

/*
** dbx_config('allow_views', 'true'|'false'): whether databricks tables
** connected from now on may be used inside views (and triggers), which
** SQLite then allows when PRAGMA trusted_schema is on (its default). Off
** by default: a view in someone else's database file could otherwise run
** remote queries with this user's credentials. Changing it once a table is
** connected is an error, since a table's flags are fixed when it connects.
*/
int dbx_session_allow_views(const DbxSession *p);

/* The head of vtab.c's list of the connected tables: dbx_refresh() finds
** them there, and allow_views checks that none is connected yet. */
void **dbx_session_tables(DbxSession *p);

/*
** Fills the statement options that come from the session: warehouse,
** catalog and schema of pConfig (borrowed: pConfig must outlive the
** dbx_stmt_execute call; NULL leaves them), the dbx_config() statement
** defaults, and the log hook feeding dbx_statements. Call it after
** dbx_stmt_options_init and before the call's or table's own statement
** options, which override the defaults; xInterrupt stays the caller's.
*/
void dbx_session_stmt_options(DbxSession *p, const DbxConfig *pConfig,
                              DbxStmtOptions *pOpt);

/*
** The xProgress hook (pArg is the session): one line on stderr, rewritten
** in place, with the remote state while the statement waits and then rows,
** MB, rate and time; silent for the first second, cleared at the end.
** dbx_session_stmt_options turns it on when stderr is a terminal; the
** option progress=on/off decides otherwise.
*/
void dbx_session_progress(void *pArg, const DbxStmtInfo *pInfo, int bDone);

/* The xLog hook itself (pArg is the session), for callers that need it. */
void dbx_session_log(void *pArg, const DbxStmtInfo *pInfo);

/* One logged statement (all strings owned by the session). */
typedef struct DbxLogEntry {
  int64_t iSeq;       /* 1, 2, ... in order of completion */
  char *zStatementId; /* remote id, "" when the submit failed */
  char *zSql;         /* SQL text (parameter values are not in it) */
  char *zParams;      /* parameter names and types, "" when none */
  char *zState;       /* final state */
  int64_t nRows;      /* rows delivered */
  int64_t nBytes;     /* result bytes received */
  int nChunks;        /* chunks fetched */
  int64_t nMs;        /* duration in milliseconds */
  char *zError;       /* one-line error or NULL */
} DbxLogEntry;

/* The sequence numbers currently held: [*piFirst, *piLast]; empty when
** first > last. */
void dbx_session_log_range(DbxSession *p, int64_t *piFirst, int64_t *piLast);

/* The entry with sequence iSeq (borrowed until the next statement), or NULL. */
const DbxLogEntry *dbx_session_log_entry(DbxSession *p, int64_t iSeq);

/* Number of statements the ring keeps. */
#define DBX_SESSION_LOG_SIZE 100

#endif /* DBX_SESSION_H */
