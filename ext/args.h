/*
** args.h: the arguments of the SQL functions (args.c).
**
** dbx_exec(), dbx_query() and the discovery functions (dbx_catalogs() ...)
** read their arguments by the same rules, kept here (the databricks
** module's statement options and settings go through DbxArgsOptions too):
**   - a text argument may not hold a NUL byte: SQL text or a name would
**     end there, so what runs would not be what was written;
**   - a JSON argument may not hold the escape \u0000 inside a string: cJSON
**     ends the decoded string there, silently dropping the rest of it;
**   - options_json is an object of strings, numbers, booleans and nulls,
**     each member a setting for dbx_session_connect() or, for a caller
**     that runs statements, a statement option (statements.h), checked at
**     once and applied after the connection's defaults;
**   - params_json is an object {"name": value} or an array of
**     {"name", "value", "type"}, each value a scalar.
** The JSON that dbx_exec() returns for a finished statement is made here
** too.
**
**   DbxArgsOptions o;
**   rc = dbx_args_options_parse(zJson, "{\"host\": \"...\"}", DBX_ARGS_STMT,
**                               NULL, NULL, &o, &err);
**   if (rc == SQLITE_OK)
**     rc = dbx_session_connect(pSession, o.aOpt, o.nOpt, ...);
**   ... dbx_session_stmt_options(...); dbx_args_options_apply(&o, ...);
**   dbx_args_options_free(&o);
*/
#ifndef DBX_ARGS_H
#define DBX_ARGS_H

#include "rows.h"
#include "session.h"

struct cJSON;

/*
** Checks one argument, pVal (NULL or SQL NULL: nothing to check), which
** zWhat names in the error ("params_json"): its text may hold no NUL byte
** and, when bJson, no \u0000 escape inside a JSON string. Returns SQLITE_OK
** or an error in pErr.
*/
int dbx_args_check(sqlite3_value *pVal, const char *zWhat, int bJson,
                   DbxError *pErr);

/*
** The arguments of a scalar function: each checked as dbx_args_check(...,
** azWhat[i], i == iJson) (iJson: the options_json argument, or -1), and
** the first nRequired not NULL ("<zFn>: <what> is NULL"). Returns
** SQLITE_OK or the first error in pErr.
*/
int dbx_args_check_all(int argc, sqlite3_value **argv,
                       const char *const *azWhat, int iJson, int nRequired,
                       const char *zFn, DbxError *pErr);

/*
** The arguments of a table-valued function's xFilter: for k < nArg, when
** bit k of idxNum is set, the next of argv (argc values) is argument k.
** Each is checked as dbx_args_check(..., azWhat[k], bit k of mJson) and
** copied into azArg[k] (owned by the caller: sqlite3_free, or
** dbx_free_secret for options); SQL NULL and absent arguments leave it
** NULL. Returns SQLITE_OK or an error in pErr; what was copied stays.
*/
int dbx_args_copy(int idxNum, int nArg, int argc, sqlite3_value **argv,
                  const char *const *azWhat, int mJson, char **azArg,
                  DbxError *pErr);

/* options_json, parsed: the members, split. */
typedef struct DbxArgsOptions {
  struct cJSON *pJson; /* owned; the parsed object, wiped when freed */
  DbxOption *aOpt;     /* owned; settings for dbx_session_connect() */
  int nOpt;            /* entries in aOpt */
  DbxOption *aStmt;    /* owned; statement options, checked, in order */
  int nStmt;           /* entries in aStmt */
  char **azNum;        /* owned; texts written for numbers */
  int nNum;            /* entries in azNum */
  int nMax;            /* room in each of aOpt, aStmt and azNum */
  int bStmt;           /* statement options go to aStmt (DBX_ARGS_STMT) */
} DbxArgsOptions;

/* Flags of dbx_args_options_init() and dbx_args_options_parse(). */
#define DBX_ARGS_STMT 0x01 /* keep statement options apart from settings */

/*
** A member of options_json that belongs to the caller (as page_size does
** to the list calls), asked about before the member is read as a value:
** sets *pbTaken (0 on entry) when it takes pItem. pArg is the caller's.
** Returns SQLITE_OK or an error in pErr (which ends the parse).
*/
typedef int (*DbxArgsMemberFn)(void *pArg, const struct cJSON *pItem,
                               int *pbTaken, DbxError *pErr);

/*
** Makes *o empty, with room for nMax options (flags: DBX_ARGS_STMT).
** Returns SQLITE_OK or SQLITE_NOMEM in pErr; dbx_args_options_free() after
** either.
*/
int dbx_args_options_init(DbxArgsOptions *o, int nMax, int flags,
                          DbxError *pErr);

/*
** Adds the option zKey = zValue (both borrowed: they must outlive *o;
** zValue NULL for a JSON null) to *o: with DBX_ARGS_STMT, a statement
** option is checked and kept in aStmt; anything else is a setting in
** aOpt, which dbx_session_connect() checks. Returns SQLITE_OK or an error
** in pErr.
*/
int dbx_args_option_add(DbxArgsOptions *o, const char *zKey, const char *zValue,
                        DbxError *pErr);

/*
** Parses options_json, zJson (NULL: no options), into *o: it must be a JSON
** object (else an error shows zExample, a sample object) without a \u0000
** escape. Each member in turn is offered to xMember (when not NULL), then
** read as text (a number as %.17g, true/false, NULL for null; an object or
** array is an error naming it) and added by dbx_args_option_add(). Returns
** SQLITE_OK or an error in pErr; dbx_args_options_free() after either.
*/
int dbx_args_options_parse(const char *zJson, const char *zExample, int flags,
                           DbxArgsMemberFn xMember, void *pArg,
                           DbxArgsOptions *o, DbxError *pErr);

/*
** Applies the statement options of *o to *pStmt, in the order given: call
** it after the connection's defaults (dbx_session_stmt_options), so they
** win. Returns SQLITE_OK or an error in pErr.
*/
int dbx_args_options_apply(const DbxArgsOptions *o, DbxStmtOptions *pStmt,
                           DbxError *pErr);

/* Frees what *o owns, wiping the JSON (a refused secret may be in it). */
void dbx_args_options_free(DbxArgsOptions *o);

/* ---------------------------------------------------------------------
** The arguments (sql [, params_json [, options_json]]) of dbx_exec() and
** dbx_query(), ready to run.
*/

/* What one call needs: its parsed arguments and the connection's client. */
typedef struct DbxArgsCall {
  DbxParam *aParam;    /* owned (sqlite3_free), one allocation */
  int nParam;          /* entries in aParam */
  DbxArgsOptions opts; /* owned; options_json, split */
  DbxStmtOptions stmt; /* statement options */
  DbxConfig *pConfig;  /* owned; resolved */
  DbxClient *pClient;  /* borrowed from the session */
} DbxArgsCall;

/* The three arguments as errors name them: "the SQL text", "params_json",
** "options_json". */
extern const char *const dbx_args_call_what[3];

/* Which of them are JSON (bit k for argument k), whose \u0000 escapes are
** refused (dbx_args_check). */
#define DBX_ARGS_CALL_JSON 0x06

/*
** Parses params_json and options_json (either may be NULL; an empty
** options_json is none) into *a, resolves the configuration and finds the
** client. Statement options of the call are checked first and applied
** after the connection's dbx_config() defaults, so they override them.
** Returns SQLITE_OK or an error in pErr; dbx_args_call_free() after either.
*/
int dbx_args_call_prepare(DbxSession *pSession, const char *zParams,
                          const char *zOptions, DbxArgsCall *a, DbxError *pErr);

/* Frees what dbx_args_call_prepare() made; the options JSON is wiped. */
void dbx_args_call_free(DbxArgsCall *a);

/*
** Parses a params_json argument into parameters:
**   {"name": value, ...}  or  [{"name": n, "value": v, "type": t}, ...]
** A JSON string is STRING, an integral number BIGINT, another number
** DOUBLE, true/false BOOLEAN, null SQL NULL (type from "type" if given, in
** the array form). Objects and arrays as values are refused. *paParam and
** its strings are one allocation: free with sqlite3_free(*paParam). zJson
** NULL or "" gives no parameters.
*/
int dbx_args_params_parse(const char *zJson, DbxParam **paParam, int *pnParam,
                          DbxError *pErr);

/*
** The result summary for dbx_exec(): a JSON object with statement_id,
** state, the columns of a one-row DML result such as num_affected_rows and
** num_inserted_rows (as numbers), and total_row_count. Reads the first row
** if none was read. Returns a string from sqlite3_malloc, or NULL with pErr
** set.
*/
char *dbx_args_exec_summary(DbxRows *pRows, DbxError *pErr);

/* The text of argv[i], or NULL when i >= argc or it is SQL NULL. */
const char *dbx_args_text(int argc, sqlite3_value **argv, int i);

#endif /* DBX_ARGS_H */
