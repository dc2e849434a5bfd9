/*
** A scripted workspace client for the unit tests of the API files that
** make JSON GET calls (catalog.c, stage.c): each call must be the next
** step of the script, whose reply it returns; an interrupt callback, when
** installed, is polled once per call. The binary that includes this
** defines dbx_client_call and dbx_client_set_interrupt, so the linker
** takes them instead of client.c. Header-only; include after unit.h.
*/
#ifndef DBX_FAKE_CLIENT_H
#define DBX_FAKE_CLIENT_H

#include "client.h"

/* One expected call and its reply. */
typedef struct Step {
  const char *zPath;  /* expected path with its query string */
  long status;        /* 0: success; else the failing HTTP status */
  const char *zCode;  /* error_code of a failure */
  const char *zReply; /* JSON text of a successful reply */
} Step;

struct DbxClient {
  const Step *aStep;         /* the script */
  int nStep;                 /* steps in it */
  int iStep;                 /* next step */
  DbxInterruptFn xInterrupt; /* as set by the code under test */
  void *pInterruptArg;       /* its argument */
  int nInterruptSeen;        /* calls made with an interrupt installed */
};

static DbxClient fake;

static void script(const Step *aStep, int nStep) {
  memset(&fake, 0, sizeof(fake));
  fake.aStep = aStep;
  fake.nStep = nStep;
}

int dbx_client_call(DbxClient *p, const char *zMethod, const char *zPath,
                    const cJSON *pBody, cJSON **ppOut, DbxError *pErr) {
  const Step *s;
  *ppOut = NULL;
  assert_null(pBody);
  assert_string_equal(zMethod, "GET");
  if (p->iStep >= p->nStep) fail_msg("unexpected call GET %s", zPath);
  s = &p->aStep[p->iStep++];
  assert_string_equal(zPath, s->zPath);
  if (p->xInterrupt) {
    p->nInterruptSeen++;
    if (p->xInterrupt(p->pInterruptArg)) {
      return dbx_error_set(pErr, SQLITE_INTERRUPT, "interrupted");
    }
  }
  if (s->status) {
    return dbx_error_set_api(
        pErr, s->status == 403 ? SQLITE_AUTH : SQLITE_ERROR, s->status,
        s->zCode, "GET %s: HTTP %ld: refused", "/api/...", s->status);
  }
  *ppOut = cJSON_Parse(s->zReply);
  assert_non_null(*ppOut);
  return SQLITE_OK;
}

void dbx_client_set_interrupt(DbxClient *p, DbxInterruptFn x, void *pArg) {
  p->xInterrupt = x;
  p->pInterruptArg = pArg;
}

#endif /* DBX_FAKE_CLIENT_H */
