/*
** http.c: HTTP for every remote call.
**
** One libcurl easy handle per DbxHttp; curl_easy_reset between requests
** keeps the connection cache, so a client's calls reuse one connection.
** TLS is always verified; plain http is refused unless the host is a
** loopback address. dbx_http_send runs the retry loop: 429/503 honouring
** an integer Retry-After (capped), connection errors and time-outs, the
** transient messages the SDKs retry, backoff min(n,10) s plus jitter, inside
** an overall budget, while polling the interrupt callback.
**
** A streamed request body is rewound before every attempt and held to its
** announced length; a streamed reply goes to the caller's sink only when
** it is a 2xx, so error replies are still parsed and retried, and a reply
** is never handed to a sink twice.
**
** Nothing here puts a header value, a query string or a request body into
** an error: callers name the call with zWhat and URLs are redacted. Serves
** every SQL function and the virtual table that reach a workspace, through
** client.c.
*/
#include <arpa/inet.h>
#include <dlfcn.h>
#include <pthread.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "http.h"

/* Connection failures (refused, unreachable) are retried this long at most,
** whatever the retry budget: a host that is down rarely comes back within
** a call, and a user waiting at a prompt deserves a quick answer. */
#define HTTP_CONNECT_BUDGET_MS 10000

struct DbxHttp {
  CURL *pCurl;               /* reused easy handle (libcurl transport) */
  DbxHttpSettings set;       /* timeouts, CA bundle, User-Agent */
  DbxHttpTransport tr;       /* network and clock; defaults filled in */
  int (*xInterrupt)(void *); /* polled while waiting, or NULL */
  void *pInterruptArg;       /* argument of xInterrupt */
  uint64_t uRand;            /* xorshift state for the jitter */
};

/* The state of one transfer (see curl_on_progress, curl_on_body). */
typedef struct HttpXfer {
  DbxHttp *p;                  /* whose interrupt to poll; NULL in a
                               ** background transfer (another thread) */
  CURL *c;                     /* the easy handle doing it */
  DbxHttpResponse *pResp;      /* where the reply goes */
  long inactivityMs;           /* the stall limit */
  int64_t tLastByteMs;         /* when the transfer last moved */
  curl_off_t nLastDl, nLastUl; /* byte counts seen at tLastByteMs */
  int bStalled;                /* the inactivity time-out fired */
} HttpXfer;

/* Built-in defaults, the SDKs': http_timeout 60 s, retry_timeout 300 s. */
void dbx_http_settings_default(DbxHttpSettings *pSet) {
  memset(pSet, 0, sizeof(*pSet));
  pSet->connectTimeoutMs = 30000;
  pSet->inactivityTimeoutMs = 60000;
  pSet->retryBudgetMs = 300000;
  pSet->maxRetryAfterMs = 60000;
  snprintf(pSet->zUserAgent, sizeof(pSet->zUserAgent),
           "sqlite-databricks/%s os/linux", DBX_VERSION);
}

/* ---------------------------------------------------------------------
** The real clock and the libcurl transport.
*/

/* The default xNowMs. */
static int64_t real_now_ms(void *pCtx) {
  DBX_UNUSED(pCtx);
  return dbx_now_ms();
}

/* The default xSleepMs. */
static void real_sleep_ms(void *pCtx, int64_t ms) {
  struct timespec ts;
  DBX_UNUSED(pCtx);
  if (ms <= 0) return;
  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* See http.h. The cap bounds what memory a never-ending reply costs. */
int dbx_http_response_write(DbxHttpResponse *pResp, const void *pData,
                            size_t nData) {
  if (pResp->pSink && pResp->status >= 200 && pResp->status <= 299) {
    int rc = nData ? pResp->pSink->xWrite(pResp->pSink->pArg, pData, nData)
                   : SQLITE_OK;
    if (rc != SQLITE_OK) {
      pResp->rcSink = rc;
      return rc;
    }
    pResp->nSunk += (int64_t)nData;
    return SQLITE_OK;
  }
  if (pResp->nMaxBody &&
      nData > pResp->nMaxBody - (pResp->body.n - pResp->nKeep)) {
    pResp->bTooBig = 1;
    return SQLITE_TOOBIG;
  }
  dbx_buf_append(&pResp->body, pData, nData);
  return pResp->body.rc;
}

/* CURLOPT_WRITEFUNCTION: hands the bytes on; 0 (abort) when the body is
** refused. A sink needs the status first: it is known once the headers
** are in, which is before the first body byte. */
static size_t curl_on_body(char *pData, size_t sz, size_t n, void *pArg) {
  HttpXfer *x = (HttpXfer *)pArg;
  if (x->pResp->pSink && x->pResp->status == 0) {
    curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->pResp->status);
  }
  return dbx_http_response_write(x->pResp, pData, sz * n) == SQLITE_OK ? sz * n
                                                                       : 0;
}

/* CURLOPT_READFUNCTION of a streamed body: a failure aborts the transfer
** (the retry loop has recorded why). */
static size_t curl_on_read(char *pBuf, size_t sz, size_t n, void *pArg) {
  const DbxHttpBody *pBody = (const DbxHttpBody *)pArg;
  size_t nRead = 0;
  if (pBody->xRead(pBody->pArg, pBuf, sz * n, &nRead) != SQLITE_OK) {
    return CURL_READFUNC_ABORT;
  }
  return nRead;
}

/* CURLOPT_SEEKFUNCTION: libcurl rewinds a body to re-send it on a new
** connection when a reused one turned out dead; only the start is
** reachable. */
static int curl_on_seek(void *pArg, curl_off_t offset, int origin) {
  const DbxHttpBody *pBody = (const DbxHttpBody *)pArg;
  if (offset != 0 || origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  return pBody->xRewind(pBody->pArg) == SQLITE_OK ? CURL_SEEKFUNC_OK
                                                  : CURL_SEEKFUNC_FAIL;
}

/* Copies the value of header line pData (nLine bytes) into zOut when its
** name is zName (lower case, with the colon); a value that does not fit is
** cut there, or with bWhole leaves zOut "". */
static void header_keep(const char *pData, size_t nLine, const char *zName,
                        char *zOut, size_t nOut, int bWhole) {
  size_t nName = strlen(zName), i = nName, j = 0;
  if (nLine <= nName || strncasecmp(pData, zName, nName) != 0) return;
  while (i < nLine && (pData[i] == ' ' || pData[i] == '\t'))
    i++;
  while (i < nLine && pData[i] != '\r' && pData[i] != '\n' && j + 1 < nOut) {
    zOut[j++] = pData[i++];
  }
  if (bWhole && i < nLine && pData[i] != '\r' && pData[i] != '\n') j = 0;
  zOut[j] = 0;
}

/* Keeps Retry-After, Content-Length and Last-Modified; every other header
** is ignored. */
static size_t curl_on_header(char *pData, size_t sz, size_t n, void *pArg) {
  DbxHttpResponse *pResp = (DbxHttpResponse *)pArg;
  size_t nLine = sz * n;
  header_keep(pData, nLine, "retry-after:", pResp->zRetryAfter,
              sizeof(pResp->zRetryAfter), 0);
  header_keep(pData, nLine, "content-length:", pResp->meta.zLength,
              sizeof(pResp->meta.zLength), 1);
  header_keep(pData, nLine, "last-modified:", pResp->meta.zModified,
              sizeof(pResp->meta.zModified), 1);
  return nLine;
}

/*
** Called about once a second and whenever bytes move: aborts the transfer
** when the interrupt callback says so, or when no byte went either way for
** the inactivity time-out (curl's LOW_SPEED options average over a window
** that an uploaded body keeps above any limit, so they miss a stall).
*/
static int curl_on_progress(void *pArg, curl_off_t dlTotal, curl_off_t dlNow,
                            curl_off_t ulTotal, curl_off_t ulNow) {
  HttpXfer *x = (HttpXfer *)pArg;
  int64_t now = real_now_ms(NULL);
  DBX_UNUSED(dlTotal);
  DBX_UNUSED(ulTotal);
  if (x->p && x->p->xInterrupt && x->p->xInterrupt(x->p->pInterruptArg)) {
    return 1;
  }
  if (dlNow != x->nLastDl || ulNow != x->nLastUl) {
    x->nLastDl = dlNow;
    x->nLastUl = ulNow;
    x->tLastByteMs = now;
  } else if (now - x->tLastByteMs > x->inactivityMs) {
    x->bStalled = 1;
    return 1;
  }
  return 0;
}

/* Classifies a libcurl failure. */
static DbxNetError curl_classify(CURLcode cc) {
  switch (cc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return DBX_NET_RESOLVE;
  case CURLE_COULDNT_CONNECT:
    return DBX_NET_CONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return DBX_NET_TIMEOUT;
  case CURLE_GOT_NOTHING:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return DBX_NET_DROPPED;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
    return DBX_NET_TLS;
  case CURLE_ABORTED_BY_CALLBACK:
    return DBX_NET_ABORTED;
  default:
    return DBX_NET_OTHER;
  }
}

/* Resets the easy handle (keeping its connection cache) and sets the
** options of one request: TLS verified, no redirects, the body and header
** callbacks filling pResp, the progress callback for stalls and interrupts. */
static void curl_setup(DbxHttp *p, const DbxHttpRequest *pReq,
                       DbxHttpResponse *pResp, HttpXfer *pXfer) {
  CURL *c = p->pCurl;
  pXfer->c = c;
  pXfer->pResp = pResp;
  pXfer->inactivityMs = p->set.inactivityTimeoutMs;
  pXfer->tLastByteMs = real_now_ms(NULL);
  pXfer->nLastDl = pXfer->nLastUl = 0;
  pXfer->bStalled = 0;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, pReq->zUrl);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  /* libcurl silently re-sends a request whose reused connection died
  ** before any reply byte; a new connection rules that out */
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, pReq->bFreshConnection ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (p->set.zCaBundle[0])
    curl_easy_setopt(c, CURLOPT_CAINFO, p->set.zCaBundle);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, p->set.connectTimeoutMs);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, pXfer);
  if (pResp->nMaxBody && pResp->pSink == NULL) {
    /* a Content-Length above the cap fails before the body is read */
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)pResp->nMaxBody);
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, curl_on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, pResp);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, curl_on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, pXfer);

  if (strcmp(pReq->zMethod, "GET") == 0) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(pReq->zMethod, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (pReq->pStream) {
    /* an upload of known length, whatever the method */
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, pReq->zMethod);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                     (curl_off_t)pReq->pStream->nLength);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, curl_on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, (void *)pReq->pStream);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, curl_on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, (void *)pReq->pStream);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, pReq->zMethod);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pReq->nBody);
    if (pReq->xOrphan) {
      /* the transfer may outlive the caller's buffer (http_perform_job) */
      curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS,
                       pReq->pBody ? (const char *)pReq->pBody : "");
    } else {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, pReq->pBody ? pReq->pBody : "");
    }
  }
}

/* Builds the header list of pReq into *ppList (free with
** curl_headers_free()). Returns SQLITE_OK or SQLITE_NOMEM (*ppList NULL). */
static int curl_headers(const DbxHttpRequest *pReq,
                        struct curl_slist **ppList) {
  struct curl_slist *pList, *pNew;
  int i;
  *ppList = NULL;
  /* no "Expect: 100-continue" round trip on uploads */
  pList = curl_slist_append(NULL, "Expect:");
  if (pList == NULL) return SQLITE_NOMEM;
  for (i = 0; i < pReq->nHeader; i++) {
    pNew = curl_slist_append(pList, pReq->azHeader[i]);
    if (pNew == NULL) {
      curl_slist_free_all(pList);
      return SQLITE_NOMEM;
    }
    pList = pNew;
  }
  *ppList = pList;
  return SQLITE_OK;
}

/* Frees a header list; it holds header values (tokens): wiped first. */
static void curl_headers_free(struct curl_slist *pList) {
  struct curl_slist *pL;
  for (pL = pList; pL; pL = pL->next) {
    volatile char *z = pL->data;
    while (*z)
      *z++ = 0;
  }
  curl_slist_free_all(pList);
}

/* Records in pResp the network failure cc of an attempt; a stall that the
** progress callback aborted is reported as a timeout, and a time-out or a
** failure before a single request byte went out as a connect failure
** (nothing can have reached the server). */
static void curl_net_error(CURL *c, const HttpXfer *x, CURLcode cc,
                           DbxHttpResponse *pResp) {
  long nSent = 0;
  pResp->eNet = curl_classify(cc);
  pResp->status = 0;
  if ((pResp->eNet == DBX_NET_TIMEOUT || pResp->eNet == DBX_NET_DROPPED ||
       pResp->eNet == DBX_NET_OTHER) &&
      curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &nSent) == CURLE_OK &&
      nSent == 0) {
    pResp->eNet = DBX_NET_CONNECT;
  }
  snprintf(pResp->zNetMsg, sizeof(pResp->zNetMsg), "%s",
           curl_easy_strerror(cc));
  if (cc == CURLE_ABORTED_BY_CALLBACK && x->bStalled) {
    pResp->eNet = DBX_NET_TIMEOUT;
    snprintf(pResp->zNetMsg, sizeof(pResp->zNetMsg),
             "no data for %ld s (http_timeout_seconds)",
             (x->inactivityMs + 999) / 1000);
  }
}

/* Takes the outcome of a finished transfer on c into pResp. */
static void curl_outcome(CURL *c, const HttpXfer *x, CURLcode cc,
                         DbxHttpResponse *pResp) {
  /* past nMaxBody: the status still counts, the caller reports the size */
  if (cc == CURLE_FILESIZE_EXCEEDED) pResp->bTooBig = 1;
  if (cc != CURLE_OK && !pResp->bTooBig) {
    curl_net_error(c, x, cc, pResp);
    return;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &pResp->status);
  pResp->eNet = DBX_NET_OK;
}

static int http_perform_job(DbxHttp *p, const DbxHttpRequest *pReq,
                            DbxHttpResponse *pResp);

/* The libcurl transport: one attempt on the reused easy handle. Returns
** SQLITE_OK with pResp's status or network error set, or SQLITE_NOMEM. */
static int curl_perform(void *pCtx, const DbxHttpRequest *pReq,
                        DbxHttpResponse *pResp) {
  DbxHttp *p = (DbxHttp *)pCtx;
  CURL *c;
  struct curl_slist *pList;
  HttpXfer x;
  CURLcode cc;

  if (p->pCurl == NULL && (p->pCurl = curl_easy_init()) == NULL) {
    return SQLITE_NOMEM;
  }
  if (pReq->xOrphan) return http_perform_job(p, pReq, pResp);
  c = p->pCurl;
  memset(&x, 0, sizeof(x));
  x.p = p;
  curl_setup(p, pReq, pResp, &x);
  if (curl_headers(pReq, &pList) != SQLITE_OK) return SQLITE_NOMEM;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, pList);
  pResp->bTooBig = 0;
  cc = curl_easy_perform(c);
  curl_headers_free(pList);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  if (pResp->body.rc != SQLITE_OK) return SQLITE_NOMEM;
  curl_outcome(c, &x, cc, pResp);
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Transfers that an interrupt may abandon (DbxHttpRequest.xOrphan).
**
** The request runs on a thread of its own while the caller waits, polling
** its interrupt every HTTP_POLL_MS. On an interrupt the caller returns at
** once and the thread lives on: it finishes the transfer, asks xOrphan for
** a follow-up (a statement's cancel) and sends it with the same headers,
** then frees everything. The easy handle goes with the thread; the DbxHttp
** gets a new one. The library is pinned in memory from then on, so that
** closing the database (which unloads the extension) cannot pull the code
** from under the thread.
*/

#define HTTP_POLL_MS 100

typedef struct HttpJob {
  pthread_mutex_t mu;       /* guards bDone and bOrphaned */
  pthread_cond_t cv;        /* signalled when bDone is set */
  pthread_t tid;            /* the transfer thread */
  int bThread;              /* tid is a running thread to join */
  int bDone;                /* the transfer ended */
  int bOrphaned;            /* the caller left; the thread frees the job */
  CURL *c;                  /* owned by the job while it runs */
  struct curl_slist *pList; /* owned; request headers (a token: wiped) */
  HttpXfer x;               /* progress state, no interrupt polling */
  DbxHttpResponse resp;     /* what arrives; owned */
  CURLcode cc;              /* curl_easy_perform's result */
  char *zUrl;               /* owned; the request URL */
  char *zCaBundle;          /* owned; CA file for the follow-up, or NULL */
  long connectMs;           /* connect time-out for the follow-up */
  DbxHttpOrphanFn xOrphan;  /* the follow-up of an abandoned request */
} HttpJob;

/* Frees a job and what it owns (the easy handle too when bHandle). */
static void job_free(HttpJob *j, int bHandle) {
  if (bHandle) curl_easy_cleanup(j->c);
  curl_headers_free(j->pList);
  dbx_buf_free(&j->resp.body);
  sqlite3_free(j->zUrl);
  sqlite3_free(j->zCaBundle);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  sqlite3_free(j);
}

/* Discards a follow-up's reply. */
static size_t curl_discard(char *pData, size_t sz, size_t n, void *pArg) {
  DBX_UNUSED(pData);
  DBX_UNUSED(pArg);
  return sz * n;
}

/* In the job's thread, after the caller left: the follow-up, then free. */
static void job_orphan_finish(HttpJob *j) {
  long status = 0;
  char *zNext;
  if (j->cc == CURLE_OK) {
    curl_easy_getinfo(j->c, CURLINFO_RESPONSE_CODE, &status);
  }
  zNext = j->xOrphan(j->zUrl, status, j->resp.body.z, j->resp.body.n);
  if (zNext) {
    CURL *c = j->c;
    curl_easy_reset(c); /* the connection stays open for it */
    curl_easy_setopt(c, CURLOPT_URL, zNext);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (j->zCaBundle) curl_easy_setopt(c, CURLOPT_CAINFO, j->zCaBundle);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, j->connectMs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, j->pList);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_discard);
    curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    sqlite3_free(zNext);
  }
  job_free(j, 1);
}

/* The job's thread. */
static void *job_main(void *pArg) {
  HttpJob *j = pArg;
  int bOrphaned;
  j->cc = curl_easy_perform(j->c);
  pthread_mutex_lock(&j->mu);
  j->bDone = 1;
  bOrphaned = j->bOrphaned;
  pthread_cond_signal(&j->cv);
  pthread_mutex_unlock(&j->mu);
  if (bOrphaned) job_orphan_finish(j);
  return NULL;
}

/* Keeps this library mapped for good (see above). */
static void http_pin_library(void) {
  static int bPinned = 0;
  Dl_info info;
  if (__atomic_exchange_n(&bPinned, 1, __ATOMIC_SEQ_CST)) return;
  if (dladdr((void *)http_pin_library, &info) && info.dli_fname) {
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  }
}

/* Waits up to ms for the job; returns whether it is done. */
static int job_wait(HttpJob *j, long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_nsec += (ms % 1000) * 1000000L;
  ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  while (!j->bDone) {
    if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) != 0) break;
  }
  return j->bDone;
}

/* curl_perform for a request with xOrphan: see above. */
static int http_perform_job(DbxHttp *p, const DbxHttpRequest *pReq,
                            DbxHttpResponse *pResp) {
  pthread_condattr_t attr;
  HttpJob *j = sqlite3_malloc64(sizeof(*j));
  const char *zCa = p->set.zCaBundle;
  int bAbandon = 0;
  if (pReq->pStream || pResp->pSink) {
    /* the callbacks could outlive their caller: dbx_http_send refuses it */
    sqlite3_free(j);
    return SQLITE_MISUSE;
  }
  if (j == NULL) return SQLITE_NOMEM;
  memset(j, 0, sizeof(*j));
  pthread_mutex_init(&j->mu, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&j->cv, &attr);
  pthread_condattr_destroy(&attr);
  j->c = p->pCurl;
  j->xOrphan = pReq->xOrphan;
  j->connectMs = p->set.connectTimeoutMs;
  j->zUrl = dbx_strdup(pReq->zUrl);
  j->zCaBundle = zCa[0] ? dbx_strdup(zCa) : NULL;
  j->resp.nMaxBody = pResp->nMaxBody; /* the job's body starts empty */
  curl_setup(p, pReq, &j->resp, &j->x);
  if (j->zUrl == NULL || (zCa[0] && j->zCaBundle == NULL) ||
      curl_headers(pReq, &j->pList) != SQLITE_OK) {
    job_free(j, 0);
    return SQLITE_NOMEM;
  }
  curl_easy_setopt(j->c, CURLOPT_HTTPHEADER, j->pList);
  j->bThread =
      dbx_threads_ok() && pthread_create(&j->tid, NULL, job_main, j) == 0;
  if (!j->bThread) {
    /* no thread: the transfer runs here, and cannot be abandoned */
    j->x.p = p;
    job_main(j);
  }
  pthread_mutex_lock(&j->mu);
  while (!job_wait(j, HTTP_POLL_MS)) {
    if (p->xInterrupt && p->xInterrupt(p->pInterruptArg)) {
      j->bOrphaned = bAbandon = 1;
      break;
    }
  }
  pthread_mutex_unlock(&j->mu);
  if (bAbandon) {
    pthread_detach(j->tid);
    p->pCurl = curl_easy_init(); /* NULL: the next call tries again */
    http_pin_library();
    pResp->eNet = DBX_NET_ABORTED;
    snprintf(pResp->zNetMsg, sizeof(pResp->zNetMsg), "interrupted");
    return SQLITE_OK;
  }
  if (j->bThread) pthread_join(j->tid, NULL);
  curl_easy_setopt(j->c, CURLOPT_HTTPHEADER, NULL);
  dbx_buf_append(&pResp->body, j->resp.body.z ? j->resp.body.z : "",
                 j->resp.body.n);
  memcpy(pResp->zRetryAfter, j->resp.zRetryAfter, sizeof(pResp->zRetryAfter));
  pResp->meta = j->resp.meta;
  pResp->bTooBig = j->resp.bTooBig;
  curl_outcome(j->c, &j->x, j->cc, pResp);
  job_free(j, 0);
  return pResp->body.rc == SQLITE_OK ? SQLITE_OK : SQLITE_NOMEM;
}

/* ---------------------------------------------------------------------
** The handle.
*/

int dbx_http_new(const DbxHttpSettings *pSet,
                 const DbxHttpTransport *pTransport, DbxHttp **ppOut,
                 DbxError *pErr) {
  DbxHttp *p;
  *ppOut = NULL;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  if (pSet)
    p->set = *pSet;
  else
    dbx_http_settings_default(&p->set);
  if (pTransport) p->tr = *pTransport;
  if (p->tr.xPerform == NULL) {
    p->pCurl = curl_easy_init();
    if (p->pCurl == NULL) {
      sqlite3_free(p);
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "libcurl could not start: check the installation");
    }
    p->tr.xPerform = curl_perform;
    p->tr.pCtx = p;
  }
  if (p->tr.xNowMs == NULL) p->tr.xNowMs = real_now_ms;
  if (p->tr.xSleepMs == NULL) p->tr.xSleepMs = real_sleep_ms;
  p->uRand = (uint64_t)real_now_ms(NULL) * 2654435761u ^ (uint64_t)getpid() ^
             (uint64_t)(uintptr_t)p;
  if (p->uRand == 0) p->uRand = 88172645463325252ull;
  *ppOut = p;
  return SQLITE_OK;
}

void dbx_http_free(DbxHttp *p) {
  if (p == NULL) return;
  if (p->pCurl) curl_easy_cleanup(p->pCurl);
  sqlite3_free(p);
}

DbxHttpSettings *dbx_http_settings(DbxHttp *p) {
  return &p->set;
}

void dbx_http_set_interrupt(DbxHttp *p, int (*xInterrupt)(void *), void *pArg) {
  p->xInterrupt = xInterrupt;
  p->pInterruptArg = pArg;
}

int64_t dbx_http_now_ms(DbxHttp *p) {
  return p->tr.xNowMs(p->tr.pCtx);
}

void dbx_http_sleep_ms(DbxHttp *p, int64_t ms) {
  p->tr.xSleepMs(p->tr.pCtx, ms);
}

/* xorshift64 for backoff jitter: no need for a secure generator. */
unsigned dbx_http_rand(DbxHttp *p) {
  uint64_t x = p->uRand;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  p->uRand = x;
  return (unsigned)(x >> 16);
}

/* ---------------------------------------------------------------------
** URL policy and redaction.
*/

/* Copies the host of zUrl (after "scheme://") into zHost, without port,
** userinfo or brackets. Returns 0 on success. */
static int url_host(const char *zUrl, char *zHost, size_t nHost) {
  const char *zStart = strstr(zUrl, "://"), *zEnd, *zAt;
  size_t n;
  if (zStart == NULL) return 1;
  zStart += 3;
  zEnd = zStart + strcspn(zStart, "/?#");
  zAt = memchr(zStart, '@', (size_t)(zEnd - zStart));
  if (zAt) zStart = zAt + 1;
  if (*zStart == '[') {
    const char *zClose = memchr(zStart, ']', (size_t)(zEnd - zStart));
    if (zClose == NULL) return 1;
    zStart++;
    zEnd = zClose;
  } else {
    const char *zColon = memchr(zStart, ':', (size_t)(zEnd - zStart));
    if (zColon) zEnd = zColon;
  }
  n = (size_t)(zEnd - zStart);
  if (n == 0 || n >= nHost) return 1;
  memcpy(zHost, zStart, n);
  zHost[n] = 0;
  return 0;
}

/* True for localhost, 127.0.0.0/8 and ::1. */
static int host_is_loopback(const char *zHost) {
  unsigned char a[16];
  if (strcasecmp(zHost, "localhost") == 0) return 1;
  if (inet_pton(AF_INET, zHost, a) == 1) return a[0] == 127;
  if (inet_pton(AF_INET6, zHost, a) == 1) {
    static const unsigned char aLo[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 1};
    return memcmp(a, aLo, 16) == 0;
  }
  return 0;
}

int dbx_http_check_url(const char *zUrl, DbxError *pErr) {
  char zHost[256];
  if (zUrl == NULL || url_host(zUrl, zHost, sizeof(zHost))) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "invalid URL: expected https://<host>/...");
  }
  if (strncasecmp(zUrl, "https://", 8) == 0) return SQLITE_OK;
  if (strncasecmp(zUrl, "http://", 7) == 0) {
    if (host_is_loopback(zHost)) return SQLITE_OK;
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "plain http is only allowed to a loopback host, not "
                         "%s: use https://%s",
                         zHost, zHost);
  }
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "unsupported URL scheme for host %s: use https://",
                       zHost);
}

char *dbx_http_redact_host(const char *zUrl, char *zOut, size_t nOut) {
  char *zSlash;
  dbx_http_redact_url(zUrl, zOut, nOut);
  zSlash = strstr(zOut, "://");
  if (zSlash && (zSlash = strchr(zSlash + 3, '/')) != NULL) *zSlash = 0;
  return zOut;
}

char *dbx_http_redact_url(const char *zUrl, char *zOut, size_t nOut) {
  const char *zStart, *zAt, *zHostEnd;
  size_t nScheme, nRest;
  if (nOut == 0) return zOut;
  zOut[0] = 0;
  if (zUrl == NULL) return zOut;
  zStart = strstr(zUrl, "://");
  if (zStart == NULL) {
    snprintf(zOut, nOut, "(invalid URL)");
    return zOut;
  }
  nScheme = (size_t)(zStart - zUrl) + 3;
  zStart += 3;
  zHostEnd = zStart + strcspn(zStart, "/?#");
  zAt = memchr(zStart, '@', (size_t)(zHostEnd - zStart));
  if (zAt) zStart = zAt + 1;
  nRest = strcspn(zStart, "?#");
  snprintf(zOut, nOut, "%.*s%.*s", (int)nScheme, zUrl, (int)nRest, zStart);
  return zOut;
}

/* ---------------------------------------------------------------------
** Retry policy.
*/

/* Messages that mark a transient failure (the SDKs retry on these). */
static const char *const azTransient[] = {
    "UnknownWorkerEnvironmentException",
    "does not have any associated worker environments",
    "There is no worker environment with id",
    "Unknown worker environment",
    "ClusterNotReadyException",
    "Unexpected error",
    "Please try again later or try a faster operation.",
    "RPC token bucket limit has been exceeded",
    "Timed out after ",
    "deadline exceeded",
};

int dbx_http_is_retryable(DbxRetryKind eRetry, const DbxHttpResponse *pResp) {
  size_t i;
  long s = pResp->status;
  if (eRetry == DBX_RETRY_NONE) return 0;
  if (pResp->eNet != DBX_NET_OK) {
    if (pResp->eNet == DBX_NET_CONNECT) return 1;
    if (eRetry == DBX_RETRY_ONCE) return 0; /* it may have arrived */
    return pResp->eNet == DBX_NET_TIMEOUT || pResp->eNet == DBX_NET_DROPPED;
  }
  if (s == 429 || s == 503) return 1;
  if (eRetry == DBX_RETRY_ONCE) return 0; /* a 5xx may follow the work */
  if (eRetry == DBX_RETRY_TOKEN) return s == 502 || s == 504;
  if (s >= 200 && s < 300) return 0;
  if (s >= 400 && s < 500) return 0; /* other 4xx never */
  if (pResp->body.z == NULL || pResp->body.n <= pResp->nKeep) return 0;
  for (i = 0; i < DBX_ARRAY_SIZE(azTransient); i++) {
    if (strstr(pResp->body.z + pResp->nKeep, azTransient[i])) return 1;
  }
  return 0;
}

int64_t dbx_http_backoff_ms(const DbxHttpSettings *pSet, int nAttempt,
                            const char *zRetryAfter, unsigned uJitter) {
  int64_t ms;
  int64_t jitter = 50 + (int64_t)(uJitter % 701);
  if (zRetryAfter && zRetryAfter[0]) {
    char *zEnd = NULL;
    long v = strtol(zRetryAfter, &zEnd, 10);
    while (zEnd && isspace((unsigned char)*zEnd))
      zEnd++;
    if (zEnd && *zEnd == 0 && v >= 0) {
      ms = (int64_t)v * 1000;
      if (ms > pSet->maxRetryAfterMs) ms = pSet->maxRetryAfterMs;
      return ms + jitter;
    }
    return 1000 + jitter; /* not an integer (e.g. an HTTP date): 1 s */
  }
  ms = (int64_t)(nAttempt < 10 ? nAttempt : 10) * 1000;
  return ms + jitter;
}

/* Forgets a failed attempt, keeping the caller's nKeep leading bytes. */
static void response_reset(DbxHttpResponse *pResp) {
  pResp->eNet = DBX_NET_OK;
  pResp->status = 0;
  pResp->zRetryAfter[0] = 0;
  memset(&pResp->meta, 0, sizeof(pResp->meta));
  pResp->zNetMsg[0] = 0;
  if (pResp->body.z && pResp->nKeep <= pResp->body.n) {
    pResp->body.n = pResp->nKeep;
    pResp->body.z[pResp->body.n] = 0;
  }
}

/* Sleeps ms in slices, polling the interrupt. Returns 1 if interrupted. */
static int http_wait(DbxHttp *p, int64_t ms) {
  while (ms > 0) {
    int64_t slice = ms < 100 ? ms : 100;
    if (p->xInterrupt && p->xInterrupt(p->pInterruptArg)) return 1;
    p->tr.xSleepMs(p->tr.pCtx, slice);
    ms -= slice;
  }
  return p->xInterrupt && p->xInterrupt(p->pInterruptArg);
}

/* A one-line description of a network failure. */
static const char *net_text(DbxNetError e) {
  switch (e) {
  case DBX_NET_CONNECT:
    return "could not connect";
  case DBX_NET_TIMEOUT:
    return "timed out";
  case DBX_NET_DROPPED:
    return "connection dropped";
  case DBX_NET_TLS:
    return "TLS failure";
  case DBX_NET_ABORTED:
    return "interrupted";
  default:
    return "network error";
  }
}

/*
** A streamed request body as the transport sees it: the caller's, held to
** its announced length and with its first failure kept, so the loop can
** tell a body that could not be read from a network failure whatever the
** transport.
*/
typedef struct HttpStream {
  const DbxHttpBody *pUser; /* the caller's body */
  DbxHttpBody wrap;         /* handed to the transport */
  int64_t nDone;            /* bytes read since the last rewind */
  int rc;                   /* first failure, or SQLITE_OK */
  int bShort;               /* rc: the body ended before nLength */
  int bRewind;              /* rc: xRewind failed */
} HttpStream;

/* DbxHttpBody.xRead of the wrapper: never more than nLength in all. */
static int stream_read(void *pArg, void *pBuf, size_t nBuf, size_t *pnRead) {
  HttpStream *st = (HttpStream *)pArg;
  int64_t nLeft = st->pUser->nLength - st->nDone;
  int rc;
  *pnRead = 0;
  if (st->rc != SQLITE_OK) return st->rc;
  if (nLeft <= 0 || nBuf == 0) return SQLITE_OK;
  if ((uint64_t)nBuf > (uint64_t)nLeft) nBuf = (size_t)nLeft;
  rc = st->pUser->xRead(st->pUser->pArg, pBuf, nBuf, pnRead);
  if (rc == SQLITE_OK && *pnRead > nBuf) {
    rc = SQLITE_MISUSE; /* it claims more than the buffer holds */
  } else if (rc == SQLITE_OK && *pnRead == 0) {
    st->bShort = 1;
    rc = SQLITE_IOERR_SHORT_READ;
  }
  if (rc != SQLITE_OK) {
    *pnRead = 0;
    st->rc = rc;
    return rc;
  }
  st->nDone += (int64_t)*pnRead;
  return SQLITE_OK;
}

/* DbxHttpBody.xRewind of the wrapper. */
static int stream_rewind(void *pArg) {
  HttpStream *st = (HttpStream *)pArg;
  int rc;
  if (st->rc != SQLITE_OK) return st->rc;
  rc = st->pUser->xRewind(st->pUser->pArg);
  if (rc != SQLITE_OK) {
    st->rc = rc;
    st->bRewind = 1;
    return rc;
  }
  st->nDone = 0;
  return SQLITE_OK;
}

/* The error of a streamed body that failed (st->rc set). */
static int stream_error(const HttpStream *st, const char *zWhat,
                        DbxError *pErr) {
  if (st->bRewind) {
    return dbx_error_set(pErr, st->rc,
                         "%s: the request body could not be rewound to "
                         "send it (%s)",
                         zWhat, sqlite3_errstr(st->rc));
  }
  if (st->bShort) {
    return dbx_error_set(pErr, SQLITE_IOERR,
                         "%s: the request body ended after %lld of the %lld "
                         "bytes announced; check that the file did not "
                         "change while it was sent",
                         zWhat, (long long)st->nDone,
                         (long long)st->pUser->nLength);
  }
  return dbx_error_set(pErr, st->rc,
                       "%s: reading the request body failed after %lld of "
                       "%lld bytes (%s)",
                       zWhat, (long long)st->nDone,
                       (long long)st->pUser->nLength, sqlite3_errstr(st->rc));
}

/* Checks the streaming parts of a call. Returns SQLITE_OK or SQLITE_MISUSE
** with pErr set. */
static int stream_check(const DbxHttpRequest *pReq,
                        const DbxHttpResponse *pResp, const char *zWhat,
                        DbxError *pErr) {
  const DbxHttpBody *pB = pReq->pStream;
  if (pB == NULL && pResp->pSink == NULL) return SQLITE_OK;
  if (pReq->xOrphan) {
    return dbx_error_set(pErr, SQLITE_MISUSE,
                         "%s: a streamed body cannot go with a request that "
                         "an interrupt may leave running",
                         zWhat);
  }
  if (pResp->pSink && pResp->pSink->xWrite == NULL) {
    return dbx_error_set(pErr, SQLITE_MISUSE,
                         "%s: the reply sink has no xWrite", zWhat);
  }
  if (pB && (pB->xRead == NULL || pB->xRewind == NULL || pB->nLength < 0 ||
             pReq->pBody != NULL || strcmp(pReq->zMethod, "GET") == 0 ||
             strcmp(pReq->zMethod, "HEAD") == 0)) {
    return dbx_error_set(pErr, SQLITE_MISUSE,
                         "%s: a streamed request body needs xRead, xRewind, "
                         "a length, no in-memory body and a method that "
                         "sends one",
                         zWhat);
  }
  return SQLITE_OK;
}

static int http_send_loop(DbxHttp *p, const DbxHttpRequest *pReq,
                          DbxRetryKind eRetry, const char *zWhat,
                          DbxHttpResponse *pResp, DbxError *pErr);

int dbx_http_send(DbxHttp *p, const DbxHttpRequest *pReq, DbxRetryKind eRetry,
                  const char *zWhat, DbxHttpResponse *pResp, DbxError *pErr) {
  int rc;
  DbxHttpRequest req2;
  const char **azAll;
  char zUa[200];

  rc = dbx_http_check_url(pReq->zUrl, pErr);
  if (rc == SQLITE_OK) rc = stream_check(pReq, pResp, zWhat, pErr);
  if (rc != SQLITE_OK) return rc;
  /* the User-Agent travels as a header line, visible to fake transports */
  azAll = sqlite3_malloc64(sizeof(char *) * (size_t)(pReq->nHeader + 1));
  if (azAll == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  snprintf(zUa, sizeof(zUa), "User-Agent: %s", p->set.zUserAgent);
  azAll[0] = zUa;
  if (pReq->nHeader) {
    memcpy(azAll + 1, pReq->azHeader, sizeof(char *) * (size_t)pReq->nHeader);
  }
  req2 = *pReq;
  req2.azHeader = azAll;
  req2.nHeader = pReq->nHeader + 1;
  if (eRetry == DBX_RETRY_ONCE) req2.bFreshConnection = 1;
  rc = http_send_loop(p, &req2, eRetry, zWhat, pResp, pErr);
  sqlite3_free(azAll);
  /* an error reply cut at the cap still says its status: only a 2xx fails */
  if (rc == SQLITE_OK && pResp->nMaxBody && pResp->status >= 200 &&
      pResp->status <= 299 &&
      (pResp->bTooBig || pResp->body.n - pResp->nKeep > pResp->nMaxBody)) {
    rc = dbx_error_set_api(pErr, SQLITE_TOOBIG, pResp->status, "",
                           "%s: the server sent more than %llu bytes, the "
                           "most this call expects; check the host setting",
                           zWhat, (unsigned long long)pResp->nMaxBody);
  }
  return rc;
}

/*
** Records the network failure that ended a send: one line naming the call,
** the host (never the path or query of a link), what failed and what to
** do. A request of DBX_RETRY_ONCE that failed after it went out is marked
** bUncertain: the server may have carried it out. Returns the error code.
*/
static int http_net_error(DbxHttp *p, const DbxHttpRequest *pReq,
                          DbxRetryKind eRetry, const char *zWhat,
                          const DbxHttpResponse *pResp, int nAttempt,
                          int64_t tStart, DbxError *pErr) {
  char zSafe[256];
  long long nSec = (long long)((p->tr.xNowMs(p->tr.pCtx) - tStart) / 1000);
  int bSent = pResp->eNet == DBX_NET_TIMEOUT ||
              pResp->eNet == DBX_NET_DROPPED || pResp->eNet == DBX_NET_OTHER;

  /* host only: the path of a presigned link is no business of a log */
  dbx_http_redact_host(pReq->zUrl, zSafe, sizeof(zSafe));
  switch (pResp->eNet) {
  case DBX_NET_RESOLVE:
    return dbx_error_set(pErr, SQLITE_IOERR,
                         "%s: the host name of %s does not resolve (%s): "
                         "check the host setting and the DNS",
                         zWhat, zSafe, pResp->zNetMsg);
  case DBX_NET_TLS:
    return dbx_error_set(pErr, SQLITE_IOERR,
                         "%s: TLS failure to %s (%s): check the host name, "
                         "or set ca_bundle to the CA file that signed its "
                         "certificate",
                         zWhat, zSafe, pResp->zNetMsg);
  default:
    break;
  }
  if (pResp->nSunk > 0) {
    return dbx_error_set(pErr, SQLITE_IOERR,
                         "%s: %s from %s after %lld bytes of the reply were "
                         "handed on (%s), so it was not sent again",
                         zWhat, net_text(pResp->eNet), zSafe,
                         (long long)pResp->nSunk, pResp->zNetMsg);
  }
  if (eRetry == DBX_RETRY_ONCE && bSent) {
    dbx_error_set(pErr, SQLITE_IOERR,
                  "%s: %s after the request was sent to %s (%s), so it was "
                  "not sent again",
                  zWhat, net_text(pResp->eNet), zSafe, pResp->zNetMsg);
    if (pErr) pErr->bUncertain = 1;
    return SQLITE_IOERR;
  }
  return dbx_error_set(
      pErr, SQLITE_IOERR,
      "%s: %s to %s (%s) after %d attempt%s in %lld s: check the host and "
      "the network (retry_timeout_seconds bounds the retries)",
      zWhat, net_text(pResp->eNet), zSafe, pResp->zNetMsg, nAttempt,
      nAttempt == 1 ? "" : "s", nSec);
}

/* One line on stderr before a retry: what failed, and how long it waits. */
static void http_notify(const char *zWhat, const DbxHttpResponse *pResp,
                        int nAttempt, int64_t delayMs) {
  char zWhy[200];
  if (pResp->eNet != DBX_NET_OK) {
    snprintf(zWhy, sizeof(zWhy), "%s (%s)", net_text(pResp->eNet),
             pResp->zNetMsg);
  } else {
    snprintf(zWhy, sizeof(zWhy), "HTTP %ld %s", pResp->status,
             dbx_http_reason(pResp->status));
  }
  fprintf(stderr,
          "databricks: %s: %s; retrying in %.1f s (attempt %d), Ctrl-C to "
          "stop\n",
          zWhat, zWhy, (double)delayMs / 1000.0, nAttempt + 1);
}

/* dbx_http_send without the header assembly. */
static int http_send_loop(DbxHttp *p, const DbxHttpRequest *pReq,
                          DbxRetryKind eRetry, const char *zWhat,
                          DbxHttpResponse *pResp, DbxError *pErr) {
  int64_t tStart, budget, delay;
  int nAttempt, rc;
  HttpStream st;
  DbxHttpRequest req = *pReq;

  memset(&st, 0, sizeof(st));
  if (pReq->pStream) {
    st.pUser = pReq->pStream;
    st.wrap.xRead = stream_read;
    st.wrap.xRewind = stream_rewind;
    st.wrap.nLength = pReq->pStream->nLength;
    st.wrap.pArg = &st;
    req.pStream = &st.wrap;
  }
  pReq = &req;
  budget = p->set.retryBudgetMs;
  if (eRetry == DBX_RETRY_TOKEN && budget > 60000) budget = 60000;
  tStart = p->tr.xNowMs(p->tr.pCtx);
  for (nAttempt = 1;; nAttempt++) {
    if (p->xInterrupt && p->xInterrupt(p->pInterruptArg)) {
      return dbx_error_set(pErr, SQLITE_INTERRUPT, "%s: interrupted", zWhat);
    }
    response_reset(pResp);
    /* every attempt, the first too, sends the body from its first byte */
    if (req.pStream && stream_rewind(&st) != SQLITE_OK) {
      return stream_error(&st, zWhat, pErr);
    }
    rc = p->tr.xPerform(p->tr.pCtx, pReq, pResp);
    if (rc == SQLITE_MISUSE) {
      return dbx_error_set(pErr, rc,
                           "%s: the transport cannot send this "
                           "request",
                           zWhat);
    }
    if (rc != SQLITE_OK) return dbx_error_set(pErr, rc, "out of memory");
    if (st.rc != SQLITE_OK) return stream_error(&st, zWhat, pErr);
    if (pResp->rcSink != SQLITE_OK) {
      return dbx_error_set(pErr, pResp->rcSink,
                           "%s: the receiver of the reply stopped it after "
                           "%lld bytes (%s)",
                           zWhat, (long long)pResp->nSunk,
                           sqlite3_errstr(pResp->rcSink));
    }
    if (pResp->eNet == DBX_NET_ABORTED) {
      return dbx_error_set(pErr, SQLITE_INTERRUPT, "%s: interrupted", zWhat);
    }
    /* a sink cannot take the reply twice */
    if (pResp->nSunk > 0 || !dbx_http_is_retryable(eRetry, pResp)) break;
    {
      /* 429/503 without a usable Retry-After wait 1 s */
      const char *zAfter = NULL;
      if (pResp->eNet == DBX_NET_OK &&
          (pResp->status == 429 || pResp->status == 503)) {
        zAfter = pResp->zRetryAfter[0] ? pResp->zRetryAfter : "1";
      }
      delay = dbx_http_backoff_ms(&p->set, nAttempt, zAfter, dbx_http_rand(p));
    }
    if (p->tr.xNowMs(p->tr.pCtx) + delay - tStart >
        (pResp->eNet == DBX_NET_CONNECT && budget > HTTP_CONNECT_BUDGET_MS
             ? HTTP_CONNECT_BUDGET_MS
             : budget))
      break;
    if (p->set.bNotify) http_notify(zWhat, pResp, nAttempt, delay);
    if (http_wait(p, delay)) {
      return dbx_error_set(pErr, SQLITE_INTERRUPT, "%s: interrupted", zWhat);
    }
  }
  if (pResp->eNet != DBX_NET_OK) {
    return http_net_error(p, pReq, eRetry, zWhat, pResp, nAttempt, tStart,
                          pErr);
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Error bodies.
*/

const char *dbx_http_reason(long status) {
  switch (status) {
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "HTTP error";
  }
}

/* Copies at most nMax bytes of z into a one-line, tag-free snippet. */
static void text_snippet(const char *z, size_t n, char *zOut, size_t nOut) {
  size_t i, j = 0;
  int bSpace = 0;
  for (i = 0; i < n && j + 1 < nOut; i++) {
    unsigned char c = (unsigned char)z[i];
    if (isspace(c) || c < 0x20) {
      if (j > 0 && !bSpace) {
        zOut[j++] = ' ';
        bSpace = 1;
      }
      continue;
    }
    bSpace = 0;
    zOut[j++] = (char)c;
  }
  while (j > 0 && zOut[j - 1] == ' ')
    j--;
  zOut[j] = 0;
}

/* Finds the text between <zTag> and </zTag> (case-insensitive). */
static int html_inner(const char *z, const char *zTag, const char **pzStart,
                      size_t *pn) {
  char zOpen[16], zClose[16];
  const char *zA, *zB;
  snprintf(zOpen, sizeof(zOpen), "<%s", zTag);
  snprintf(zClose, sizeof(zClose), "</%s>", zTag);
  zA = strcasestr(z, zOpen);
  if (zA == NULL) return 0;
  zA = strchr(zA, '>');
  if (zA == NULL) return 0;
  zA++;
  zB = strcasestr(zA, zClose);
  if (zB == NULL) return 0;
  *pzStart = zA;
  *pn = (size_t)(zB - zA);
  return 1;
}

/* The SQLite code of a failing HTTP status. */
static int status_rc(long status) {
  return (status == 401 || status == 403) ? SQLITE_AUTH : SQLITE_ERROR;
}

/* The code and message read from an error response body. */
typedef struct ErrText {
  char zCode[64]; /* error code, "" when the body names none */
  char zMsg[400]; /* one-line message, "" for the status reason phrase */
} ErrText;

/* Reads error_code (or errorCode), a string or a number, into pT->zCode. */
static void json_error_code(const cJSON *pJson, ErrText *pT) {
  const cJSON *pCode = cJSON_GetObjectItemCaseSensitive(pJson, "error_code");
  if (pCode == NULL)
    pCode = cJSON_GetObjectItemCaseSensitive(pJson, "errorCode");
  if (pCode && cJSON_IsString(pCode)) {
    snprintf(pT->zCode, sizeof(pT->zCode), "%s", pCode->valuestring);
  } else if (pCode && cJSON_IsNumber(pCode)) {
    snprintf(pT->zCode, sizeof(pT->zCode), "%d", pCode->valueint);
  }
}

/* Reads a SCIM error: code SCIM_<status>, message "<scimType> <detail>". */
static void json_scim_error(const cJSON *pJson, const char *zDetail,
                            ErrText *pT) {
  const cJSON *pStatus = cJSON_GetObjectItemCaseSensitive(pJson, "status");
  const cJSON *pType = cJSON_GetObjectItemCaseSensitive(pJson, "scimType");
  snprintf(pT->zCode, sizeof(pT->zCode), "SCIM_%s",
           cJSON_IsString(pStatus) ? pStatus->valuestring : "");
  if (!cJSON_IsString(pStatus) && cJSON_IsNumber(pStatus)) {
    snprintf(pT->zCode, sizeof(pT->zCode), "SCIM_%d", pStatus->valueint);
  }
  snprintf(pT->zMsg, sizeof(pT->zMsg), "%s%s%s",
           cJSON_IsString(pType) ? pType->valuestring : "",
           cJSON_IsString(pType) ? " " : "", zDetail);
}

/* Reads a JSON object error body: "message"; else {"error": msg} (API
** 1.2) or {"error": code, "error_description": msg} (RFC 6749); else SCIM
** "detail"; else "error_description" alone. */
static void json_error(const cJSON *pJson, ErrText *pT) {
  const cJSON *pM = cJSON_GetObjectItemCaseSensitive(pJson, "message");
  const cJSON *pE = cJSON_GetObjectItemCaseSensitive(pJson, "error");
  const cJSON *pDesc =
      cJSON_GetObjectItemCaseSensitive(pJson, "error_description");
  const cJSON *pDetail = cJSON_GetObjectItemCaseSensitive(pJson, "detail");
  json_error_code(pJson, pT);
  if (cJSON_IsString(pM)) {
    snprintf(pT->zMsg, sizeof(pT->zMsg), "%s", pM->valuestring);
  } else if (cJSON_IsString(pE) && cJSON_IsString(pDesc)) {
    if (!pT->zCode[0])
      snprintf(pT->zCode, sizeof(pT->zCode), "%s", pE->valuestring);
    snprintf(pT->zMsg, sizeof(pT->zMsg), "%s", pDesc->valuestring);
  } else if (cJSON_IsString(pE)) {
    snprintf(pT->zMsg, sizeof(pT->zMsg), "%s", pE->valuestring);
  } else if (cJSON_IsString(pDetail)) {
    json_scim_error(pJson, pDetail->valuestring, pT);
  } else if (cJSON_IsString(pDesc)) {
    snprintf(pT->zMsg, sizeof(pT->zMsg), "%s", pDesc->valuestring);
  }
}

/* Reads a body that is not a JSON object (zBody NUL-terminated): an HTML
** <pre> or <title>, coded by the status reason phrase; plain "CODE:
** message"; else the text itself, coded UNKNOWN. */
static void text_error(const char *zBody, size_t nBody, long status,
                       ErrText *pT) {
  char zText[400];
  const char *zS;
  size_t i = 0, nS;
  if (html_inner(zBody, "pre", &zS, &nS) ||
      html_inner(zBody, "title", &zS, &nS)) {
    const char *zR = dbx_http_reason(status);
    text_snippet(zS, nS, pT->zMsg, sizeof(pT->zMsg));
    for (i = 0; zR[i] && i + 1 < sizeof(pT->zCode); i++) {
      pT->zCode[i] = zR[i] == ' ' ? '_' : (char)toupper((unsigned char)zR[i]);
    }
    pT->zCode[i] = 0;
    return;
  }
  text_snippet(zBody, nBody, zText, sizeof(zText));
  while (zText[i] && (isupper((unsigned char)zText[i]) || zText[i] == '_'))
    i++;
  if (i > 0 && i < sizeof(pT->zCode) && zText[i] == ':' &&
      zText[i + 1] == ' ') {
    memcpy(pT->zCode, zText, i);
    pT->zCode[i] = 0;
    snprintf(pT->zMsg, sizeof(pT->zMsg), "%s", zText + i + 2);
    return;
  }
  snprintf(pT->zCode, sizeof(pT->zCode), "UNKNOWN");
  /* markup that is not HTML we know: the reason phrase, not the tags */
  if (!strchr(zText, '<')) snprintf(pT->zMsg, sizeof(pT->zMsg), "%s", zText);
}

/* See http.h. An empty or unreadable body leaves the reason phrase. */
int dbx_http_error_from_response(long status, const char *zBody, size_t nBody,
                                 const char *zWhat, DbxError *pErr) {
  ErrText t;
  cJSON *pJson = NULL;
  memset(&t, 0, sizeof(t));
  if (zBody != NULL && nBody > 0) {
    pJson = cJSON_ParseWithLength(zBody, nBody);
    if (cJSON_IsObject(pJson))
      json_error(pJson, &t);
    else
      text_error(zBody, nBody, status, &t);
  }
  cJSON_Delete(pJson);
  if (!t.zMsg[0])
    snprintf(t.zMsg, sizeof(t.zMsg), "%s", dbx_http_reason(status));
  return dbx_error_set_api(pErr, status_rc(status), status, t.zCode,
                           "%s: HTTP %ld: %s", zWhat, status, t.zMsg);
}

/* ---------------------------------------------------------------------
** What to do about a missing privilege.
*/

/* Appends to pOut the dotted name z[0..n) with each part in backticks. */
static void hint_quoted_name(DbxBuf *pOut, const char *z, size_t n) {
  size_t i;
  dbx_buf_append(pOut, "`", 1);
  for (i = 0; i < n; i++) {
    if (z[i] == '.') {
      dbx_buf_append(pOut, "`.`", 3);
    } else {
      if (z[i] == '`') dbx_buf_append(pOut, "`", 1);
      dbx_buf_append(pOut, &z[i], 1);
    }
  }
  dbx_buf_append(pOut, "`", 1);
}

/* The GRANT for "does not have PRIV on Type 'name'" at z, into pOut;
** returns 0 when z does not read that way. */
static int hint_grant(const char *z, DbxBuf *pOut) {
  static const char *const azType[] = {"Catalog", "Schema", "Table",
                                       "View",    "Volume", "Function"};
  const char *zPriv = z, *zEnd, *zName;
  size_t i, nPriv;
  /* PRIV: upper-case words, e.g. SELECT, USE SCHEMA, READ VOLUME */
  while (isupper((unsigned char)*z) || *z == '_' ||
         (*z == ' ' && isupper((unsigned char)z[1]))) {
    z++;
  }
  nPriv = (size_t)(z - zPriv);
  if (nPriv == 0) return 0;
  if (strncmp(z, " or any privilege", 17) == 0) z += 17;
  if (strncmp(z, " on ", 4) != 0) return 0;
  z += 4;
  for (i = 0; i < DBX_ARRAY_SIZE(azType); i++) {
    size_t n = strlen(azType[i]);
    if (strncmp(z, azType[i], n) == 0 && strncmp(z + n, " '", 2) == 0) break;
  }
  if (i == DBX_ARRAY_SIZE(azType)) return 0;
  zName = z + strlen(azType[i]) + 2;
  zEnd = strchr(zName, '\'');
  if (zEnd == NULL || zEnd == zName) return 0;
  dbx_buf_appendf(pOut,
                  "; an owner of it or an admin can grant it: GRANT %.*s ON ",
                  (int)nPriv, zPriv);
  for (z = azType[i] == azType[3] ? "TABLE" : azType[i]; *z; z++) {
    char c = (char)toupper((unsigned char)*z);
    dbx_buf_append(pOut, &c, 1);
  }
  dbx_buf_append(pOut, " ", 1);
  hint_quoted_name(pOut, zName, (size_t)(zEnd - zName));
  dbx_buf_appendf(pOut, " TO `<user, group or application id>`");
  return 1;
}

/* The way to CAN_USE for "CAN_USE permission on ... warehouse <id>" at z. */
static int hint_warehouse(const char *z, DbxBuf *pOut) {
  const char *zId = strstr(z, "warehouse ");
  size_t n;
  if (zId == NULL) return 0;
  zId += 10;
  for (n = 0; isalnum((unsigned char)zId[n]); n++) {
  }
  if (n == 0) return 0;
  dbx_buf_appendf(pOut,
                  "; a workspace admin gives it under SQL Warehouses, the "
                  "warehouse's Permissions, or with PATCH "
                  "/api/2.0/permissions/warehouses/%.*s and "
                  "{\"access_control_list\": [{\"user_name\": \"<you>\", "
                  "\"permission_level\": \"CAN_USE\"}]}",
                  (int)n, zId);
  return 1;
}

void dbx_http_hint_permission(DbxError *pErr) {
  const char *z;
  DbxBuf hint = {0};
  if (pErr == NULL || pErr->rc == SQLITE_OK) return;
  if ((z = strstr(pErr->zMsg, "does not have ")) == NULL) return;
  z += 14;
  if (strncmp(z, "CAN_USE permission on", 21) == 0) {
    hint_warehouse(z, &hint);
  } else {
    hint_grant(z, &hint);
  }
  if (hint.rc == SQLITE_OK && hint.n) {
    size_t nMsg = strlen(pErr->zMsg);
    /* the hint is the point: drop the end of a long message for it */
    if (nMsg + hint.n >= sizeof(pErr->zMsg)) {
      nMsg = hint.n < sizeof(pErr->zMsg) / 2 ? sizeof(pErr->zMsg) - 1 - hint.n
                                             : sizeof(pErr->zMsg) / 2;
    }
    snprintf(pErr->zMsg + nMsg, sizeof(pErr->zMsg) - nMsg, "%s", hint.z);
  }
  dbx_buf_free(&hint);
}
