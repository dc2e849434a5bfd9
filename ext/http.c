/*
** http.c: HTTP for every remote call (spec section 5).
**
** One libcurl easy handle per DbxHttp; curl_easy_reset between requests
** keeps the connection cache, so a client's calls reuse one connection.
** TLS is always verified; plain http is refused unless the host is a
** loopback address. dbx_http_send runs the retry loop: 429/503 honouring
** an integer Retry-After (capped), connection errors and time-outs, the
** transient messages of spec 5.3, backoff min(n,10) s plus jitter, inside
** an overall budget, while polling the interrupt callback.
**
** Nothing here puts a header value, a query string or a request body into
** an error: callers name the call with zWhat and URLs are redacted.
*/
#include <arpa/inet.h>
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

struct DbxHttp {
  CURL *pCurl;                 /* reused easy handle (libcurl transport) */
  DbxHttpSettings set;         /* timeouts, CA bundle, User-Agent */
  DbxHttpTransport tr;         /* network and clock; defaults filled in */
  int (*xInterrupt)(void *);   /* polled while waiting, or NULL */
  void *pInterruptArg;         /* argument of xInterrupt */
  uint64_t uRand;              /* xorshift state for the jitter */
  int64_t tLastByteMs;         /* when the current transfer last moved */
  curl_off_t nLastDl, nLastUl; /* byte counts seen at tLastByteMs */
  int bStalled;                /* the inactivity time-out fired */
};

/* Built-in defaults (spec 1.2: http_timeout 60 s, retry_timeout 300 s). */
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

static int64_t real_now_ms(void *pCtx) {
  struct timespec ts;
  DBX_UNUSED(pCtx);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* CURLOPT_WRITEFUNCTION: appends to the body; 0 (abort) when out of memory
** or past the caller's cap, so a never-ending reply costs at most the cap. */
static size_t curl_on_body(char *pData, size_t sz, size_t n, void *pArg) {
  DbxHttpResponse *pResp = (DbxHttpResponse *)pArg;
  if (pResp->nMaxBody &&
      sz * n > pResp->nMaxBody - (pResp->body.n - pResp->nKeep)) {
    pResp->bTooBig = 1;
    return 0;
  }
  dbx_buf_append(&pResp->body, pData, sz * n);
  return pResp->body.rc == SQLITE_OK ? sz * n : 0;
}

/* Keeps the Retry-After header; every other header is ignored. */
static size_t curl_on_header(char *pData, size_t sz, size_t n, void *pArg) {
  DbxHttpResponse *pResp = (DbxHttpResponse *)pArg;
  size_t nLine = sz * n;
  static const char zName[] = "retry-after:";
  if (nLine > sizeof(zName) - 1 &&
      strncasecmp(pData, zName, sizeof(zName) - 1) == 0) {
    size_t i = sizeof(zName) - 1, j = 0;
    while (i < nLine && (pData[i] == ' ' || pData[i] == '\t'))
      i++;
    while (i < nLine && pData[i] != '\r' && pData[i] != '\n' &&
           j + 1 < sizeof(pResp->zRetryAfter)) {
      pResp->zRetryAfter[j++] = pData[i++];
    }
    pResp->zRetryAfter[j] = 0;
  }
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
  DbxHttp *p = (DbxHttp *)pArg;
  int64_t now = real_now_ms(NULL);
  DBX_UNUSED(dlTotal);
  DBX_UNUSED(ulTotal);
  if (p->xInterrupt && p->xInterrupt(p->pInterruptArg)) return 1;
  if (dlNow != p->nLastDl || ulNow != p->nLastUl) {
    p->nLastDl = dlNow;
    p->nLastUl = ulNow;
    p->tLastByteMs = now;
  } else if (now - p->tLastByteMs > p->set.inactivityTimeoutMs) {
    p->bStalled = 1;
    return 1;
  }
  return 0;
}

/* Classifies a libcurl failure. */
static DbxNetError curl_classify(CURLcode cc) {
  switch (cc) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
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
                       DbxHttpResponse *pResp) {
  CURL *c = p->pCurl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, pReq->zUrl);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (p->set.zCaBundle[0])
    curl_easy_setopt(c, CURLOPT_CAINFO, p->set.zCaBundle);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, p->set.connectTimeoutMs);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, pResp);
  if (pResp->nMaxBody) {
    /* a Content-Length above the cap fails before the body is read */
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)pResp->nMaxBody);
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, curl_on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, pResp);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, curl_on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, p);

  if (strcmp(pReq->zMethod, "GET") == 0) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(pReq->zMethod, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, pReq->zMethod);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)pReq->nBody);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, pReq->pBody ? pReq->pBody : "");
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
** progress callback aborted is reported as a timeout. */
static void curl_net_error(DbxHttp *p, CURLcode cc, DbxHttpResponse *pResp) {
  pResp->eNet = curl_classify(cc);
  pResp->status = 0;
  snprintf(pResp->zNetMsg, sizeof(pResp->zNetMsg), "%s",
           curl_easy_strerror(cc));
  if (cc == CURLE_ABORTED_BY_CALLBACK && p->bStalled) {
    pResp->eNet = DBX_NET_TIMEOUT;
    snprintf(pResp->zNetMsg, sizeof(pResp->zNetMsg),
             "no data for %ld s (http_timeout_seconds)",
             (p->set.inactivityTimeoutMs + 999) / 1000);
  }
}

/* The libcurl transport: one attempt on the reused easy handle. Returns
** SQLITE_OK with pResp's status or network error set, or SQLITE_NOMEM. */
static int curl_perform(void *pCtx, const DbxHttpRequest *pReq,
                        DbxHttpResponse *pResp) {
  DbxHttp *p = (DbxHttp *)pCtx;
  CURL *c = p->pCurl;
  struct curl_slist *pList;
  CURLcode cc;

  curl_setup(p, pReq, pResp);
  if (curl_headers(pReq, &pList) != SQLITE_OK) return SQLITE_NOMEM;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, pList);

  p->tLastByteMs = real_now_ms(NULL);
  p->nLastDl = p->nLastUl = 0;
  p->bStalled = 0;
  pResp->bTooBig = 0;
  cc = curl_easy_perform(c);
  curl_headers_free(pList);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  if (pResp->body.rc != SQLITE_OK) return SQLITE_NOMEM;
  if (cc == CURLE_FILESIZE_EXCEEDED) pResp->bTooBig = 1;
  if (cc != CURLE_OK && !pResp->bTooBig) {
    curl_net_error(p, cc, pResp);
    return SQLITE_OK;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &pResp->status);
  pResp->eNet = DBX_NET_OK;
  return SQLITE_OK;
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

/* xorshift64 for backoff jitter: no need for a secure generator. */
static unsigned http_rand(DbxHttp *p) {
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

/* Messages that mark a transient failure (spec 5.3). */
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
    return pResp->eNet == DBX_NET_CONNECT || pResp->eNet == DBX_NET_TIMEOUT ||
           pResp->eNet == DBX_NET_DROPPED;
  }
  if (s == 429 || s == 503) return 1;
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

/* dbx_http_send without the header assembly. */
static int http_send_loop(DbxHttp *p, const DbxHttpRequest *pReq,
                          DbxRetryKind eRetry, const char *zWhat,
                          DbxHttpResponse *pResp, DbxError *pErr) {
  int64_t tStart, budget, delay;
  int nAttempt, rc;
  char zSafe[256];

  budget = p->set.retryBudgetMs;
  if (eRetry == DBX_RETRY_TOKEN && budget > 60000) budget = 60000;
  tStart = p->tr.xNowMs(p->tr.pCtx);
  for (nAttempt = 1;; nAttempt++) {
    if (p->xInterrupt && p->xInterrupt(p->pInterruptArg)) {
      return dbx_error_set(pErr, SQLITE_INTERRUPT, "%s: interrupted", zWhat);
    }
    response_reset(pResp);
    rc = p->tr.xPerform(p->tr.pCtx, pReq, pResp);
    if (rc != SQLITE_OK) return dbx_error_set(pErr, rc, "out of memory");
    if (pResp->eNet == DBX_NET_ABORTED) {
      return dbx_error_set(pErr, SQLITE_INTERRUPT, "%s: interrupted", zWhat);
    }
    if (!dbx_http_is_retryable(eRetry, pResp)) break;
    {
      /* 429/503 without a usable Retry-After wait 1 s (spec 5.3) */
      const char *zAfter = NULL;
      if (pResp->eNet == DBX_NET_OK &&
          (pResp->status == 429 || pResp->status == 503)) {
        zAfter = pResp->zRetryAfter[0] ? pResp->zRetryAfter : "1";
      }
      delay = dbx_http_backoff_ms(&p->set, nAttempt, zAfter, http_rand(p));
    }
    if (p->tr.xNowMs(p->tr.pCtx) + delay - tStart > budget) break;
    if (http_wait(p, delay)) {
      return dbx_error_set(pErr, SQLITE_INTERRUPT, "%s: interrupted", zWhat);
    }
  }
  if (pResp->eNet != DBX_NET_OK) {
    dbx_http_redact_url(pReq->zUrl, zSafe, sizeof(zSafe));
    {
      /* host only: the path of a presigned link is no business of a log */
      char *zSlash = strstr(zSafe, "://");
      if (zSlash && (zSlash = strchr(zSlash + 3, '/')) != NULL) *zSlash = 0;
    }
    return dbx_error_set(
        pErr, SQLITE_IOERR,
        "%s: %s to %s (%s) after %d attempt%s in %lld s: %s", zWhat,
        net_text(pResp->eNet), zSafe, pResp->zNetMsg, nAttempt,
        nAttempt == 1 ? "" : "s",
        (long long)((p->tr.xNowMs(p->tr.pCtx) - tStart) / 1000),
        pResp->eNet == DBX_NET_TLS
            ? "check the host name, or set ca_bundle to the CA file that "
              "signed its certificate"
            : "check the host and the network, or raise "
              "retry_timeout_seconds");
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Error bodies (spec 5.1).
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
