/*
** An in-memory DbxState (state.h) for unit tests of the engine files: a
** small key/value list that plays the user's SQLite transaction (begin,
** commit, rollback restore a snapshot), counts the calls, and can fail the
** next call with a chosen code, as a locked database would. Header-only;
** include after unit.h.
*/
#ifndef DBX_FAKE_STATE_H
#define DBX_FAKE_STATE_H

#include "state.h"

#define FAKE_STATE_MAX 32

typedef struct FakeStateRow {
  char *zKey; /* owned (sqlite3_malloc) */
  char *zVal; /* owned (sqlite3_malloc) */
} FakeStateRow;

typedef struct FakeState {
  FakeStateRow aRow[FAKE_STATE_MAX];   /* the table; zKey NULL: a free slot */
  FakeStateRow aSaved[FAKE_STATE_MAX]; /* the snapshot of fake_state_begin */
  int bInTxn;                          /* a transaction is open */
  int rcNext;                          /* fail the next call with this code */
  int nGet, nPut, nDelete;             /* calls that reached the table */
} FakeState;

static inline char *fake_state_dup(const char *z) {
  size_t n = strlen(z) + 1;
  char *zNew = sqlite3_malloc64(n);
  if (zNew) memcpy(zNew, z, n);
  return zNew;
}

static inline void fake_state_rows_free(FakeStateRow *a) {
  int i;
  for (i = 0; i < FAKE_STATE_MAX; i++) {
    sqlite3_free(a[i].zKey);
    sqlite3_free(a[i].zVal);
    a[i].zKey = a[i].zVal = NULL;
  }
}

/* The slot holding zKey, or -1. */
static inline int fake_state_find(FakeState *f, const char *zKey) {
  int i;
  for (i = 0; i < FAKE_STATE_MAX; i++) {
    if (f->aRow[i].zKey && strcmp(f->aRow[i].zKey, zKey) == 0) return i;
  }
  return -1;
}

/* An injected failure, as a locked database answers. */
static inline int fake_state_fault(FakeState *f, DbxError *pErr) {
  int rc = f->rcNext;
  f->rcNext = SQLITE_OK;
  if (rc == SQLITE_OK) return SQLITE_OK;
  return dbx_error_set(pErr, rc, "local state: %s", sqlite3_errstr(rc));
}

static inline int fake_state_get(void *pCtx, const char *zKey, char **pzVal,
                                 DbxError *pErr) {
  FakeState *f = pCtx;
  int i, rc = fake_state_fault(f, pErr);
  if (rc) return rc;
  f->nGet++;
  i = fake_state_find(f, zKey);
  if (i < 0) return SQLITE_OK;
  *pzVal = fake_state_dup(f->aRow[i].zVal);
  if (*pzVal == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  return SQLITE_OK;
}

static inline int fake_state_put(void *pCtx, const char *zKey, const char *zVal,
                                 DbxError *pErr) {
  FakeState *f = pCtx;
  char *zNew;
  int i, rc = fake_state_fault(f, pErr);
  if (rc) return rc;
  f->nPut++;
  if ((zNew = fake_state_dup(zVal)) == NULL) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  i = fake_state_find(f, zKey);
  if (i < 0) {
    for (i = 0; i < FAKE_STATE_MAX && f->aRow[i].zKey; i++) {
    }
    if (i == FAKE_STATE_MAX ||
        (f->aRow[i].zKey = fake_state_dup(zKey)) == NULL) {
      sqlite3_free(zNew);
      return dbx_error_set(pErr, SQLITE_FULL, "local state: full");
    }
  }
  sqlite3_free(f->aRow[i].zVal);
  f->aRow[i].zVal = zNew;
  return SQLITE_OK;
}

static inline int fake_state_delete(void *pCtx, const char *zKey,
                                    DbxError *pErr) {
  FakeState *f = pCtx;
  int i, rc = fake_state_fault(f, pErr);
  if (rc) return rc;
  f->nDelete++;
  i = fake_state_find(f, zKey);
  if (i >= 0) {
    sqlite3_free(f->aRow[i].zKey);
    sqlite3_free(f->aRow[i].zVal);
    f->aRow[i].zKey = f->aRow[i].zVal = NULL;
  }
  return SQLITE_OK;
}

/* Resets f and returns a DbxState bound to it. */
static inline DbxState fake_state(FakeState *f) {
  DbxState s;
  memset(f, 0, sizeof(*f));
  s.pCtx = f;
  s.xGet = fake_state_get;
  s.xPut = fake_state_put;
  s.xDelete = fake_state_delete;
  return s;
}

/* The caller's transaction: begin takes a snapshot that rollback restores
** and commit drops. */
static inline void fake_state_begin(FakeState *f) {
  int i;
  fake_state_rows_free(f->aSaved);
  for (i = 0; i < FAKE_STATE_MAX; i++) {
    if (f->aRow[i].zKey == NULL) continue;
    f->aSaved[i].zKey = fake_state_dup(f->aRow[i].zKey);
    f->aSaved[i].zVal = fake_state_dup(f->aRow[i].zVal);
  }
  f->bInTxn = 1;
}

static inline void fake_state_commit(FakeState *f) {
  fake_state_rows_free(f->aSaved);
  f->bInTxn = 0;
}

static inline void fake_state_rollback(FakeState *f) {
  fake_state_rows_free(f->aRow);
  memcpy(f->aRow, f->aSaved, sizeof(f->aRow));
  memset(f->aSaved, 0, sizeof(f->aSaved));
  f->bInTxn = 0;
}

/* Frees everything f holds. */
static inline void fake_state_free(FakeState *f) {
  fake_state_rows_free(f->aRow);
  fake_state_rows_free(f->aSaved);
}

#endif /* DBX_FAKE_STATE_H */
