/*
** dbx_int.h: the internal header every file of ext/ includes first.
**
** It holds what the whole extension shares: util.c (DbxError, the first
** error wins and is scrubbed of secrets; DbxBuf; secret wiping; escapers;
** reading JSON a server sent) and the part of databricks.c that the SQL
** surface files share (the interrupt probe, errors handed to SQLite, the
** functions and modules that databricks.c registers). Every other file has
** a header of its own; this is the map, in layer order from the bottom (a
** file may use the headers of the layers below it, never above):
**
**   transport  http.h      libcurl, retries, TLS policy, redaction (http.c)
**              config.h    settings and their sources (config.c)
**              auth.h      credential providers, token cache (auth.c)
**              jwk.h       the self-hosted issuer's keys as JWKs (jwk.c)
**   workspace  client.h    one handle per workspace (client.c)
**   api        statements.h  Statement Execution API (statements.c)
**              catalog.h   Unity Catalog REST (catalog.c)
**              files.h     Files API for volumes (files.c)
**              warehouses.h  warehouses, their permissions, SCIM Me
**                          (warehouses.c)
**   formats    rows.h      a statement's result as rows (rows.c)
**              result.h    the result reader: rows -> cells (result.c)
**              parquet.h   the Parquet writer (parquet.c, parquet_value.c)
**              sqlgen.h    SQL text and Databricks types (sqlgen.c)
**              models.h    the models of sql/models/ (models.c)
**   engine     pushdown.h  a scan's remote plan (pushdown.c)
**              stage.h     the staging volume of a commit (stage.c)
**              cdf.h       reading a table's change feed (cdf.c)
**              grants.h    the grants of a job, as SQL text (grants.c)
**              federation.h  a federation policy as CLI or REST text
**                          (federation.c)
**              commit.h    staged files -> a Delta table (commit.c)
**   surface    session.h   per-connection state (session.c)
**              args.h      how SQL functions read arguments (args.c)
**              vtab.h      the databricks module (vtab.c, vtab_args.c,
**                          vtab_scan.c)
**              this file   databricks.c, fn_exec.c, fn_query.c,
**                          fn_statements.c, fn_volume.c, fn_parquet.c,
**                          fn_export.c, fn_sync.c, fn_grants.c,
**                          fn_federation.c, fn_apply.c, fn_check.c,
**                          fn_models.c, discover.c
**
** Only the SQL surface files touch sqlite3 contexts, vtabs or statements;
** the layers below use SQLite only for its allocator.
**
** Conventions: functions are dbx_<file>_<verb>(); an internal function
** returns an SQLite result code and puts the details in a caller-owned
** DbxError, where the first error wins; objects come from
** dbx_<x>_new(..., &pOut) and go with dbx_<x>_free(p), which accepts NULL.
*/
#ifndef DBX_INT_H
#define DBX_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3ext.h>
#ifndef SQLITE_CORE
SQLITE_EXTENSION_INIT3
#endif

#include "../include/databricks.h"

#define DBX_UNUSED(x)     ((void)(x))
#define DBX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
** util.c: errors, growable buffers, the escapers more than one layer
** uses, and reading JSON a server sent.
*/

/* The error of one operation: what failed, and what Databricks said. */
typedef struct DbxError {
  int rc;              /* SQLite result code; SQLITE_OK while clear */
  long httpStatus;     /* HTTP status of the failing response, else 0 */
  char zCode[64];      /* Databricks error_code or [ERROR_CLASS], or "" */
  char zStatement[80]; /* remote statement id, or "" */
  char zMsg[512];      /* one line, never a secret or a presigned URL */
  int bUncertain;      /* a request failed after it was sent: the server
                       ** may have carried it out */
} DbxError;

/* Clears pErr back to SQLITE_OK. */
void dbx_error_clear(DbxError *pErr);

/*
** Records an error unless one is already recorded (the first error wins).
** zFmt is printf-style and should say what happened and what to do.
** Returns rc, so callers can write `return dbx_error_set(...)`.
*/
int dbx_error_set(DbxError *pErr, int rc, const char *zFmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like dbx_error_set, also recording the HTTP status and the error code. */
int dbx_error_set_api(DbxError *pErr, int rc, long httpStatus,
                      const char *zCode, const char *zFmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
** Replaces credentials in z (NUL-terminated, rewritten in place and never
** made longer) with "***": each of the nSecret strings of azSecret (NULL
** entries and strings under 4 bytes are skipped), also when only its first
** 8 or more bytes are there because the text was cut; the value of any
** Authorization header or member, whatever its scheme; a credential after
** "Bearer " or "Basic "; the customer-provided encryption key header of
** an external link (x-amz-server-side-encryption-customer-key,
** x-ms-encryption-key, x-goog-encryption-key); a JWT or the start of one; a PEM
*private key;
** access_token, refresh_token, id_token, client_secret, subject_token,
** client_assertion and password values; and the signature parameters of
** presigned URLs (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
** X-Goog-Signature, X-Goog-Credential, Signature, and sig and se of an
** Azure SAS). dbx_error_set and dbx_error_set_api apply the patterns and
** the secrets of dbx_secret_add to the whole message before cutting it to
** fit; dbx_error_text applies them once more.
*/
void dbx_scrub_text(char *z, const char *const *azSecret, int nSecret);

/*
** Registers z, a secret the process holds (a token, a client secret, a
** subject JWT, a Basic credential), so that dbx_error_set, dbx_error_set_api
** and dbx_error_text scrub it from every message whatever its origin. z is
** borrowed: the registration ends when dbx_free_secret frees z, or
** dbx_buf_free_secret the buffer that holds it, so free it only that way.
** NULL and strings under 4 bytes are ignored; so is out of memory (the
** patterns of dbx_scrub_text still apply).
*/
void dbx_secret_add(const char *z);

/* dbx_scrub_text over the message and the error code of pErr. */
void dbx_error_scrub(DbxError *pErr, const char *const *azSecret, int nSecret);

/*
** Writes the error as one line into a new string from sqlite3_malloc
** ("databricks: <message> (<code>, statement <id>)"), for *pzErr,
** sqlite3_result_error or zErrMsg. Returns NULL when out of memory.
*/
char *dbx_error_text(const DbxError *pErr);

/*
** A growable byte buffer on SQLite's heap. Its rc is sticky: after an
** allocation fails every append is a no-op and rc stays SQLITE_NOMEM, so a
** run of appends needs one check at the end. z is always NUL-terminated
** once anything was appended.
*/
typedef struct DbxBuf {
  char *z;       /* owned; NULL until the first append */
  size_t n;      /* bytes used, not counting the terminating NUL */
  size_t nAlloc; /* bytes allocated */
  int rc;        /* SQLITE_OK or SQLITE_NOMEM, sticky */
} DbxBuf;

void dbx_buf_append(DbxBuf *p, const void *pData, size_t nData);
/* dbx_buf_append for per-value paths: the copy inline while the buffer has
** room, the call only when it must grow. */
static inline void dbx_buf_put(DbxBuf *p, const void *pData, size_t nData) {
  if (p->n + nData < p->nAlloc) {
    if (nData) memcpy(p->z + p->n, pData, nData); /* pData may be NULL */
    p->n += nData;
    p->z[p->n] = 0;
  } else {
    dbx_buf_append(p, pData, nData);
  }
}
void dbx_buf_appendf(DbxBuf *p, const char *zFmt, ...)
    __attribute__((format(printf, 2, 3)));
void dbx_buf_vappendf(DbxBuf *p, const char *zFmt, va_list ap);
/* Empties the buffer but keeps its memory for reuse. */
void dbx_buf_reset(DbxBuf *p);
/* Frees the memory; optionally wipes it first when it held a secret. */
void dbx_buf_free(DbxBuf *p);
void dbx_buf_free_secret(DbxBuf *p);
/* Hands the string over to the caller (sqlite3_free), leaving p empty. */
char *dbx_buf_take(DbxBuf *p);

/*
** Appends the n bytes at z as a JSON string literal: quotes around, '"'
** and backslash escaped, newline, carriage return and tab as \n \r \t, other
** bytes below 0x20 (NUL included) as \u00XX; every other byte as it is.
*/
void dbx_buf_append_json(DbxBuf *p, const char *z, size_t n);
/* Appends z as a double-quoted SQLite name, a '"' inside doubled. */
void dbx_buf_append_name(DbxBuf *p, const char *z);
/*
** Appends z percent-encoded, bytes other than A-Z a-z 0-9 - _ ~ as %XX
** (upper-case hex). bForm == 0: one URL path segment or query value, where
** '.' is encoded too, so a dot inside a name never reads as the separator
** of a full name. bForm != 0: an application/x-www-form-urlencoded value,
** '.' kept and a space as '+'. bForm == 2: a Files API path segment,
** '.' kept (a file name's dot means nothing to the path) and a space as
** %20.
*/
void dbx_buf_append_url(DbxBuf *p, const char *z, int bForm);

/*
** The page tokens a paged listing was given, so that one that comes back
** (a listing that would never end) is noticed. Zero it to start;
** dbx_token_set_free() empties it.
*/
typedef struct DbxTokenSet {
  uint64_t *aHash; /* owned; fingerprints of the tokens added */
  int n;           /* entries in aHash */
  int nAlloc;      /* slots allocated */
} DbxTokenSet;
/* Adds zToken: SQLITE_OK, SQLITE_CONSTRAINT when it was added before, or
** SQLITE_NOMEM. */
int dbx_token_set_add(DbxTokenSet *p, const char *zToken);
void dbx_token_set_free(DbxTokenSet *p);

/*
** The one self-updating stderr line of a long call (dbx_export, dbx_sync):
** "<zWho>: <phase> N rows, [X MB, ]R rows/s, S s", rewritten in place;
** bDone ends the line. Nothing when bOn is 0. Set t0 with dbx_now_ms().
*/
typedef struct DbxProgress {
  const char *zWho; /* the function's name */
  int bOn;          /* shown at all */
  int64_t t0;       /* when the call started */
} DbxProgress;
/* Shows a phase; nByte < 0 leaves the MB out. */
void dbx_progress_show(const DbxProgress *p, const char *zPhase, int64_t nRow,
                       int64_t nByte, int bDone);

/* Milliseconds of the monotonic clock (CLOCK_MONOTONIC): for measuring
** and pacing, never for dates. Unit tests fake time through the HTTP
** transport table instead (http.h). */
int64_t dbx_now_ms(void);

/*
** The first 16 bytes of the SHA-256 of the n strings az (NULL as ""),
** each taken with its terminating NUL so that no two lists collide, as 32
** lower-case hex digits and a NUL in zOut (33 bytes; "" if OpenSSL fails).
** For names that must be the same for the same inputs: cache keys,
** staged file names.
*/
void dbx_digest_hex(const char *const *az, int n, char *zOut);

/*
** The same digest over bytes fed in pieces: dbx_digest_new() (NULL when
** out of memory; the other two accept NULL), dbx_digest_update() any number
** of times, dbx_digest_final() writes the 33 bytes of hex into zOut ("" on
** failure) and frees the digest.
*/
typedef struct DbxDigest DbxDigest;
DbxDigest *dbx_digest_new(void);
void dbx_digest_update(DbxDigest *p, const void *pData, size_t n);
void dbx_digest_final(DbxDigest *p, char *zOut);

/*
** Whether work may run on threads of the extension's own: not when the
** SQLite it runs in was built single-threaded (SQLITE_THREADSAFE=0), whose
** allocator must not be called from two threads at once. Callers then do
** the same work on the calling thread.
*/
int dbx_threads_ok(void);

/* sqlite3_mprintf duplicate of z (NULL stays NULL). */
char *dbx_strdup(const char *z);
/* Wipes and frees a secret string from SQLite's heap (NULL is fine). */
void dbx_free_secret(char *z);
/*
** Wipes every string of a parsed JSON tree, then cJSON_Delete()s it (NULL
** is fine): for JSON that held, or may have held, a token or a secret.
*/
struct cJSON;
void dbx_json_free_secret(struct cJSON *pJson);

/*
** Finds member zKey of the JSON object that the n bytes at z hold, without
** decoding anything: returns 1 with *piStart and *pnLen the byte span of its
** value, or 0 when z is not an object or has no such member (the key must
** be spelled without escapes). The first of duplicate members wins, as in
** cJSON. Lets a caller scan the rows of an API response in place, where a
** cJSON string would stop at an escaped NUL.
*/
int dbx_json_member(const char *z, size_t n, const char *zKey, size_t *piStart,
                    size_t *pnLen);

/*
** Reads an integer sent by the server: a JSON number or a numeric string
** (accepted leniently) that is whole and within iMin..iMax, into
** *piOut. Returns SQLITE_OK, SQLITE_NOTFOUND when pItem is NULL or JSON
** null (*piOut untouched), or SQLITE_RANGE for anything else (a fraction,
** 1e74, a word, an object). No double is converted before it is known to
** fit.
*/
int dbx_json_int(const struct cJSON *pItem, int64_t iMin, int64_t iMax,
                 int64_t *piOut);

/*
** Whether the n bytes at z are exactly one JSON value (RFC 8259: objects,
** arrays, strings with valid escapes, numbers, true, false, null) with
** only blanks around it, nested at most 1000 deep. Allocates nothing;
** UTF-8 is not checked here.
*/
int dbx_json_valid(const char *z, size_t n);
/*
** The directory for temporary files, as SQLite's unix VFS chooses it:
** $SQLITE_TMPDIR, then $TMPDIR, else /tmp.
*/
const char *dbx_temp_dir(void);

/*
** databricks.c: the entry point, dbx_version(), and what every SQL surface
** file shares. Only these files touch sqlite3 contexts, vtabs and
** statements.
*/

/* The one-line version report of dbx_version(); static storage. */
const char *dbx_version_text(void);

/*
** The interrupt probe of the SQL surface files: dbx_probe_open() prepares
** it for a connection (NULL when it cannot; then only row boundaries stop
** a scan), dbx_probe_interrupted() is a DbxInterruptFn over it that returns
** non-zero once sqlite3_interrupt() was called. sqlite3_finalize() it.
*/
sqlite3_stmt *dbx_probe_open(sqlite3 *db);
int dbx_probe_interrupted(void *pProbe);

/*
** fn_parquet.c, for dbx_export(): writes the rows of pStmt (a prepared
** read-only statement, apParam the nParam values bound to its parameters
** 1..nParam, a NULL entry for NULL) to Parquet at zPath as dbx_parquet()
** does without a schema, except that a column named in aFixed (nFixed, 0
** for none; names compared ignoring ASCII case) takes its type from there.
** *paCol and *pnCol get the columns written (dbx_parquet_schema_free).
** Returns SQLITE_OK or an error in pErr (no file left behind).
*/
struct DbxPqColumn;
struct DbxPqOptions;
struct DbxPqReport;
struct DbxPqValue;
/* fn_parquet.c: reads nCol SQLite values into aVal, the values the
** Parquet conversions take (texts and blobs borrowed from apVal). */
void dbx_parquet_values(sqlite3_value **apVal, int nCol,
                        struct DbxPqValue *aVal);
int dbx_parquet_query(sqlite3 *db, sqlite3_stmt *pStmt,
                      sqlite3_value *const *apParam, int nParam,
                      const char *zPath, const struct DbxPqColumn *aFixed,
                      int nFixed, const struct DbxPqOptions *pOpt,
                      struct DbxPqReport *pReport, struct DbxPqColumn **paCol,
                      int *pnCol, DbxError *pErr);

/*
** Hands pErr to SQLite at the boundary, as its one-line text: into
** pVtab->zErrMsg (replacing any earlier message; returns pErr->rc, or
** SQLITE_ERROR when none was set), or as the result of a function call
** (with pErr->rc as the error code when it is not SQLITE_ERROR).
*/
int dbx_error_to_vtab(sqlite3_vtab *pVtab, const DbxError *pErr);
void dbx_error_to_context(sqlite3_context *ctx, const DbxError *pErr);

/*
** Writes ms (milliseconds since 1970, UTC) as 'YYYY-MM-DD HH:MM:SS[.fff]'
** into zOut, as the read path writes TIMESTAMP values (discover.c).
*/
void dbx_time_format_ms(int64_t ms, char zOut[32]);

/*
** What sqlite3_databricks_init() registers, one row each in its tables.
** The functions and modules take the connection's DbxSession (session.h)
** as their user data, except the discovery modules (dbx_discover_aux)
** and dbx_models (none).
*/
void dbx_fn_exec(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_config(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_vtab_refresh(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_parquet(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_parquet_row(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_parquet_row_final(sqlite3_context *ctx);
/* fn_export.c */
void dbx_fn_export(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_sync(sqlite3_context *ctx, int argc, sqlite3_value **argv);
/* fn_grants.c */
void dbx_fn_grants_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_revoke_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv);
/* fn_federation.c */
void dbx_fn_federation_policy(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv);
void dbx_fn_jwks(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_keygen(sqlite3_context *ctx, int argc, sqlite3_value **argv);
/* fn_grants.c: the grants request of `databricks` table zName of the main
** database (dbx_grants_sql's 2-argument form; see there). */
struct DbxSession;
struct DbxGrantRequest;
struct DbxVtabArgs;
int dbx_grants_from_vtab(sqlite3 *db, struct DbxSession *pSession,
                         const char *zName, struct DbxGrantRequest *pReq,
                         struct DbxVtabArgs *a, char **pzSecurable,
                         char **pzWarehouse, DbxError *pErr);
/* fn_apply.c */
void dbx_fn_grants_apply(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_warehouse_grant(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv);
extern const sqlite3_module dbx_check_module;      /* fn_check.c: dbx_check */
extern const sqlite3_module dbx_vtab_module;       /* vtab.c: databricks */
extern const sqlite3_module dbx_query_module;      /* fn_query.c */
extern const sqlite3_module dbx_statements_module; /* fn_statements.c */
extern const sqlite3_module dbx_discover_module;   /* discover.c: four */
void dbx_fn_volume_put(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_volume_get(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_volume_rm(sqlite3_context *ctx, int argc, sqlite3_value **argv);
void dbx_fn_volume_mkdir(sqlite3_context *ctx, int argc, sqlite3_value **argv);
extern const sqlite3_module dbx_volume_ls_module; /* fn_volume.c */
extern const sqlite3_module dbx_models_module;    /* fn_models.c */

/*
** The client data of the discovery module registered as zName
** (dbx_catalogs, dbx_schemas, dbx_tables, dbx_volumes): which list it
** serves and one reference to the connection's session, freed by
** *pxDestroy. Returns SQLITE_OK, SQLITE_NOMEM, or SQLITE_MISUSE for a name
** it does not serve.
*/
int dbx_discover_aux(sqlite3 *db, const char *zName, void **ppAux,
                     void (**pxDestroy)(void *));

/* The client data of dbx_models: none (it needs no session). */
int dbx_models_aux(sqlite3 *db, const char *zName, void **ppAux,
                   void (**pxDestroy)(void *));

#endif /* DBX_INT_H */
