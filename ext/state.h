/*
** state.h: how the engine layer reads and writes local state.
**
** An export that resumes from a watermark (dbx_export) and a change-feed
** import that resumes from a table version (dbx_sync) keep small facts
** that must survive a crash and must change together with the rows they
** describe: they live in the SQLite database the user works in, and are
** written inside the user's own transaction. The engine files (the commit
** path, the change-feed reader) never touch sqlite3 themselves: the SQL
** surface hands them a DbxState, a table of callbacks in the manner of
** hiredis's swappable context functions, and unit tests hand them an
** in-memory fake (tests/unit/fake_state.h). No SQL function is served
** here; this is the seam between the surface and the engine.
**
** The SQLite-backed implementation belongs to the SQL surface (the
** per-connection session): a table created on first use in the main
** database, such as
**
**   CREATE TABLE IF NOT EXISTS dbx_state(
**     key   TEXT PRIMARY KEY,
**     value TEXT NOT NULL
**   ) WITHOUT ROWID;
**
** read and written with the connection's own prepared statements. It
** never begins, commits or rolls back: a write becomes durable when the
** caller's transaction commits and disappears with its rollback, which is
** what makes an import exactly-once.
**
** The contract every implementation keeps:
** - Keys are NUL-terminated text of 1..DBX_STATE_MAX_KEY bytes without
**   control characters; by convention the owner's name comes first
**   ("sync:main.sales.orders:version"). Values are NUL-terminated text
**   (JSON or a number written out) of at most DBX_STATE_MAX_VALUE bytes;
**   "" is a value, not an absence. The dbx_state_*() wrappers below check
**   both before any callback runs, so implementations may rely on them.
** - Strings passed in are borrowed for the call only. xGet hands back a
**   copy allocated with sqlite3_malloc (the caller frees it with
**   sqlite3_free), or NULL when the key is absent, which is not an error.
** - Every callback returns SQLITE_OK or an SQLite result code and then
**   sets pErr (first error wins) to one line that says what failed, never
**   a value (a value may be someone's data). On error *pzVal is NULL and
**   nothing was changed. Codes with a meaning for the caller:
**   SQLITE_BUSY / SQLITE_LOCKED (the database is locked: the statement
**   fails and the user may retry it), SQLITE_READONLY (the database cannot
**   keep state), SQLITE_NOMEM, SQLITE_MISUSE (a key or value the contract
**   refuses).
** - Callbacks are called on the connection's thread, within one SQL
**   statement, and never re-entered.
*/
#ifndef DBX_STATE_H
#define DBX_STATE_H

#include <string.h>

#include "dbx_int.h"

/* Longest key, in bytes. */
#define DBX_STATE_MAX_KEY 256
/* Longest value, in bytes. */
#define DBX_STATE_MAX_VALUE (1024 * 1024)

typedef struct DbxState {
  void *pCtx; /* handed to every callback; owned by whoever filled this */
  /* *pzVal: the value of zKey (sqlite3_malloc, caller frees) or NULL */
  int (*xGet)(void *pCtx, const char *zKey, char **pzVal, DbxError *pErr);
  /* sets zKey to zVal, inserting or replacing */
  int (*xPut)(void *pCtx, const char *zKey, const char *zVal, DbxError *pErr);
  /* removes zKey; an absent key is not an error */
  int (*xDelete)(void *pCtx, const char *zKey, DbxError *pErr);
} DbxState;

/* Checks a key against the contract. Returns SQLITE_OK or SQLITE_MISUSE
** with pErr set. */
static inline int dbx_state_check_key(const char *zKey, DbxError *pErr) {
  size_t n = 0;
  if (zKey != NULL) {
    while (n <= DBX_STATE_MAX_KEY && zKey[n] &&
           (unsigned char)zKey[n] >= 0x20 && zKey[n] != 0x7f) {
      n++;
    }
  }
  if (zKey == NULL || n == 0 || n > DBX_STATE_MAX_KEY || zKey[n] != 0) {
    return dbx_error_set(pErr, SQLITE_MISUSE,
                         "local state: a key must be 1 to %d bytes of text "
                         "without control characters",
                         DBX_STATE_MAX_KEY);
  }
  return SQLITE_OK;
}

/* Checks that s can be called. */
static inline int dbx_state_check(const DbxState *s, DbxError *pErr) {
  if (s == NULL || s->xGet == NULL || s->xPut == NULL || s->xDelete == NULL) {
    return dbx_error_set(pErr, SQLITE_MISUSE,
                         "local state: not available to this call");
  }
  return SQLITE_OK;
}

/*
** Reads zKey: SQLITE_OK with *pzVal the value (sqlite3_free it) or NULL
** when absent; else an error code with pErr set and *pzVal NULL.
*/
static inline int dbx_state_get(const DbxState *s, const char *zKey,
                                char **pzVal, DbxError *pErr) {
  int rc;
  *pzVal = NULL;
  rc = dbx_state_check(s, pErr);
  if (rc == SQLITE_OK) rc = dbx_state_check_key(zKey, pErr);
  if (rc == SQLITE_OK) rc = s->xGet(s->pCtx, zKey, pzVal, pErr);
  if (rc != SQLITE_OK) {
    sqlite3_free(*pzVal); /* an implementation that broke the contract */
    *pzVal = NULL;
  }
  return rc;
}

/* Sets zKey to zVal in the caller's transaction. Returns SQLITE_OK or an
** error code with pErr set (nothing changed). */
static inline int dbx_state_put(const DbxState *s, const char *zKey,
                                const char *zVal, DbxError *pErr) {
  int rc = dbx_state_check(s, pErr);
  if (rc == SQLITE_OK) rc = dbx_state_check_key(zKey, pErr);
  if (rc == SQLITE_OK &&
      (zVal == NULL ||
       strnlen(zVal, DBX_STATE_MAX_VALUE + 1) > (size_t)DBX_STATE_MAX_VALUE)) {
    rc = dbx_error_set(pErr, SQLITE_MISUSE,
                       "local state: the value of %s must be text of at "
                       "most %d bytes",
                       zKey, DBX_STATE_MAX_VALUE);
  }
  if (rc == SQLITE_OK) rc = s->xPut(s->pCtx, zKey, zVal, pErr);
  return rc;
}

/* Removes zKey in the caller's transaction (absent: SQLITE_OK). Returns
** SQLITE_OK or an error code with pErr set. */
static inline int dbx_state_delete(const DbxState *s, const char *zKey,
                                   DbxError *pErr) {
  int rc = dbx_state_check(s, pErr);
  if (rc == SQLITE_OK) rc = dbx_state_check_key(zKey, pErr);
  if (rc == SQLITE_OK) rc = s->xDelete(s->pCtx, zKey, pErr);
  return rc;
}

#endif /* DBX_STATE_H */
