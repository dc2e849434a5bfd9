/*
** A fake network for the transport unit tests (hiredis style): it records
** every request sent and answers with canned replies in order, on a fake
** clock that sleeping advances. A streamed request body is read through
** its callback in small pieces, and a reply body is handed over in pieces
** (dbx_http_response_write), as libcurl does. Header-only; include after
** unit.h.
*/
#ifndef DBX_FAKE_TRANSPORT_H
#define DBX_FAKE_TRANSPORT_H

#include "http.h"

#define FAKE_MAX 16
#define FAKE_READ_PIECE 7      /* bytes asked of a streamed body at a time */
#define FAKE_WRITE_PIECE 1000  /* bytes of a reply handed over at a time */

typedef struct FakeReply {
  long status;             /* HTTP status (0 with eNet set) */
  const char *zBody;       /* response body or NULL */
  const char *zRetryAfter; /* Retry-After value or NULL */
  DbxNetError eNet;        /* DBX_NET_OK or a failure */
  int bDropAfterBody;      /* with status: the body arrives, then the
                           ** connection drops */
  const char *zLength;     /* Content-Length header value or NULL */
  const char *zModified;   /* Last-Modified header value or NULL */
} FakeReply;

typedef struct FakeSent {
  char zMethod[8];   /* method */
  char zUrl[512];    /* full URL */
  char zHeaders[2048]; /* header lines joined with '\n' */
  char zBody[4096];  /* body as text (a streamed one: what was read) */
  long long nBody;   /* bytes of a streamed body read */
  int nRead;         /* xRead calls made for it */
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
  if (pReq->pStream) {
    char aPiece[FAKE_READ_PIECE];
    size_t nRead;
    for (;;) {
      nRead = 0;
      s->nRead++;
      if (pReq->pStream->xRead(pReq->pStream->pArg, aPiece, sizeof(aPiece),
                               &nRead) != SQLITE_OK) {
        /* as libcurl: the read callback aborted the transfer */
        pResp->eNet = DBX_NET_ABORTED;
        snprintf(pResp->zNetMsg, sizeof(pResp->zNetMsg), "read aborted");
        return SQLITE_OK;
      }
      if (nRead == 0) break;
      if (s->nBody + (long long)nRead < (long long)sizeof(s->zBody)) {
        memcpy(s->zBody + s->nBody, aPiece, nRead);
      }
      s->nBody += (long long)nRead;
    }
  }
  pResp->eNet = r->eNet;
  pResp->status = r->eNet == DBX_NET_OK || r->bDropAfterBody ? r->status : 0;
  if (r->eNet != DBX_NET_OK) snprintf(pResp->zNetMsg, sizeof(pResp->zNetMsg), "fake failure");
  if (r->zRetryAfter) snprintf(pResp->zRetryAfter, sizeof(pResp->zRetryAfter), "%s", r->zRetryAfter);
  if (r->zLength) snprintf(pResp->meta.zLength, sizeof(pResp->meta.zLength), "%s", r->zLength);
  if (r->zModified) snprintf(pResp->meta.zModified, sizeof(pResp->meta.zModified), "%s", r->zModified);
  if (r->zBody) {
    size_t iAt, nAll = strlen(r->zBody);
    /* an empty body is one empty piece, so the buffer exists */
    if (nAll == 0) dbx_http_response_write(pResp, "", 0);
    for (iAt = 0; iAt < nAll; iAt += FAKE_WRITE_PIECE) {
      size_t nPiece = nAll - iAt < FAKE_WRITE_PIECE ? nAll - iAt : FAKE_WRITE_PIECE;
      if (dbx_http_response_write(pResp, r->zBody + iAt, nPiece) != SQLITE_OK) {
        break; /* refused: as libcurl, stop reading */
      }
    }
    if (pResp->body.rc != SQLITE_OK) return SQLITE_NOMEM;
  }
  if (r->bDropAfterBody) pResp->status = 0;
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
  r->bDropAfterBody = 0;
}

/* A reply with the Content-Length and Last-Modified headers of a file. */
static inline void fake_reply_meta(Fake *f, long status, const char *zLength,
                                   const char *zModified) {
  FakeReply *r = &f->aReply[f->nReply++];
  memset(r, 0, sizeof(*r));
  r->status = status;
  r->zBody = "";
  r->zLength = zLength;
  r->zModified = zModified;
}

/* A reply whose body arrives, after which the connection drops. */
static inline void fake_reply_dropped(Fake *f, long status, const char *zBody) {
  FakeReply *r = &f->aReply[f->nReply++];
  memset(r, 0, sizeof(*r));
  r->status = status;
  r->zBody = zBody;
  r->eNet = DBX_NET_DROPPED;
  r->bDropAfterBody = 1;
}

static inline void fake_net_error(Fake *f, DbxNetError e) {
  FakeReply *r = &f->aReply[f->nReply++];
  memset(r, 0, sizeof(*r));
  r->eNet = e;
}

#endif /* DBX_FAKE_TRANSPORT_H */
