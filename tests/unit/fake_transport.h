/*
** A fake network for the transport unit tests (hiredis style): it records
** every request sent and answers with canned replies in order, on a fake
** clock that sleeping advances. Header-only; include after unit.h.
*/
#ifndef DBX_FAKE_TRANSPORT_H
#define DBX_FAKE_TRANSPORT_H

#include "http.h"

#define FAKE_MAX 16

typedef struct FakeReply {
  long status;             /* HTTP status (0 with eNet set) */
  const char *zBody;       /* response body or NULL */
  const char *zRetryAfter; /* Retry-After value or NULL */
  DbxNetError eNet;        /* DBX_NET_OK or a failure */
} FakeReply;

typedef struct FakeSent {
  char zMethod[8];   /* method */
  char zUrl[512];    /* full URL */
  char zHeaders[2048]; /* header lines joined with '\n' */
  char zBody[4096];  /* body as text */
} FakeSent;

typedef struct Fake {
  FakeReply aReply[FAKE_MAX]; /* canned replies, in order */
  int nReply;                 /* replies queued */
  FakeSent aSent[FAKE_MAX];   /* requests recorded */
  int nSent;                  /* requests made */
  int64_t nowMs;              /* fake clock */
  int64_t aSleep[64];         /* each sleep, ms */
  int nSleep;                 /* sleeps made */
  int64_t totalSleepMs;       /* sum of sleeps */
} Fake;

static inline int fake_perform(void *pCtx, const DbxHttpRequest *pReq,
                        DbxHttpResponse *pResp) {
  Fake *f = (Fake *)pCtx;
  FakeSent *s;
  const FakeReply *r;
  int i;
  size_t n = 0;
  if (f->nSent >= FAKE_MAX) return SQLITE_ERROR;
  s = &f->aSent[f->nSent];
  memset(s, 0, sizeof(*s));
  snprintf(s->zMethod, sizeof(s->zMethod), "%s", pReq->zMethod);
  snprintf(s->zUrl, sizeof(s->zUrl), "%s", pReq->zUrl);
  for (i = 0; i < pReq->nHeader; i++) {
    int k = snprintf(s->zHeaders + n, sizeof(s->zHeaders) - n, "%s\n",
                     pReq->azHeader[i]);
    if (k > 0) n += (size_t)k;
    if (n >= sizeof(s->zHeaders)) n = sizeof(s->zHeaders) - 1;
  }
  if (pReq->pBody) {
    snprintf(s->zBody, sizeof(s->zBody), "%.*s", (int)pReq->nBody,
             (const char *)pReq->pBody);
  }
  r = f->nSent < f->nReply ? &f->aReply[f->nSent] : &f->aReply[f->nReply - 1];
  f->nSent++;
  pResp->eNet = r->eNet;
  pResp->status = r->eNet == DBX_NET_OK ? r->status : 0;
  if (r->eNet != DBX_NET_OK) snprintf(pResp->zNetMsg, sizeof(pResp->zNetMsg), "fake failure");
  if (r->zRetryAfter) snprintf(pResp->zRetryAfter, sizeof(pResp->zRetryAfter), "%s", r->zRetryAfter);
  if (r->zBody) dbx_buf_append(&pResp->body, r->zBody, strlen(r->zBody));
  return SQLITE_OK;
}

static inline int64_t fake_now(void *pCtx) { return ((Fake *)pCtx)->nowMs; }

static inline void fake_sleep(void *pCtx, int64_t ms) {
  Fake *f = (Fake *)pCtx;
  if (f->nSleep < 64) f->aSleep[f->nSleep] = ms;
  f->nSleep++;
  f->totalSleepMs += ms;
  f->nowMs += ms;
}

/* Resets f and returns a transport table bound to it. */
static inline DbxHttpTransport fake_transport(Fake *f) {
  DbxHttpTransport t;
  memset(f, 0, sizeof(*f));
  f->nowMs = 1000000;
  t.xPerform = fake_perform;
  t.xNowMs = fake_now;
  t.xSleepMs = fake_sleep;
  t.pCtx = f;
  return t;
}

static inline void fake_reply(Fake *f, long status, const char *zBody,
                       const char *zRetryAfter) {
  FakeReply *r = &f->aReply[f->nReply++];
  r->status = status;
  r->zBody = zBody;
  r->zRetryAfter = zRetryAfter;
  r->eNet = DBX_NET_OK;
}

static inline void fake_net_error(Fake *f, DbxNetError e) {
  FakeReply *r = &f->aReply[f->nReply++];
  memset(r, 0, sizeof(*r));
  r->eNet = e;
}

#endif /* DBX_FAKE_TRANSPORT_H */
