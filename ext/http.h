/*
** http.h: the HTTP core (http.c): one libcurl easy handle per DbxHttp,
** reused so connections stay open, with the TLS policy, bounded timeouts,
** the retry loop the Databricks SDKs use and the parser of Databricks error
** bodies.
**
** The network itself sits behind a transport table (DbxHttpTransport), in
** the manner of hiredis: unit tests swap in a fake that checks the exact
** request sent and answers with a canned reply, and a fake clock and sleep
** so retry and backoff run instantly.
**
** Bodies travel in memory (a JSON request, a reply of bounded size) or
** streamed through callbacks (DbxHttpBody, DbxHttpSink), so a staged file
** is uploaded and a large file downloaded without holding it whole.
**
** Redaction: no URL query string, header value or body of a request ever
** reaches a DbxError from here; URLs appear as scheme://host/path at most.
**
** Serves every SQL function and the virtual table that reach a workspace,
** always through the workspace client (client.h).
*/
#ifndef DBX_HTTP_H
#define DBX_HTTP_H

#include "dbx_int.h"

/*
** The follow-up of a request that an interrupt abandoned while it was in
** flight (see DbxHttpRequest.xOrphan): called on a background thread once
** the reply arrived, with the request URL and the reply (status 0 when the
** transfer failed). Returns a URL (sqlite3_malloc) to POST "{}" to with
** the same headers, or NULL for none. Must not touch SQLite connections.
*/
typedef char *(*DbxHttpOrphanFn)(const char *zUrl, long status,
                                 const char *zBody, size_t nBody);

/*
** A request body read piece by piece instead of held in memory (a staged
** file on its way to a volume). xRead fills up to nBuf bytes of pBuf and
** sets *pnRead; *pnRead 0 means the end. xRewind goes back to the first
** byte: it is called before every attempt, so a retried request sends the
** same bytes again. Both return SQLITE_OK or an error code, which fails
** the call (not retried). nLength is the exact number of bytes: the request
** announces it as Content-Length, and a body that ends sooner fails.
*/
typedef struct DbxHttpBody {
  int (*xRead)(void *pArg, void *pBuf, size_t nBuf, size_t *pnRead);
  int (*xRewind)(void *pArg);
  int64_t nLength; /* bytes in the body, >= 0 */
  void *pArg;      /* handed to xRead and xRewind */
} DbxHttpBody;

/*
** Where a successful (2xx) reply body goes instead of memory, in the pieces
** it arrives in (a large download). xWrite returns SQLITE_OK to go on, or
** an error code that stops the transfer and fails the call with that code.
** An error reply (not 2xx) is still read into DbxHttpResponse.body, so it
** can be parsed and retried, and never reaches the sink. Once a byte went
** to the sink, a failed transfer is not sent again (the sink would see the
** reply twice).
*/
typedef struct DbxHttpSink {
  int (*xWrite)(void *pArg, const void *pData, size_t nData);
  void *pArg; /* handed to xWrite */
} DbxHttpSink;

/* One request as handed to the transport. */
typedef struct DbxHttpRequest {
  const char *zMethod;         /* "GET", "POST", "PUT", "DELETE", "HEAD" */
  const char *zUrl;            /* absolute URL, borrowed */
  const char *const *azHeader; /* "Name: value" lines, borrowed */
  int nHeader;                 /* entries in azHeader */
  const void *pBody;           /* request body or NULL, borrowed */
  size_t nBody;                /* bytes in pBody */
  const DbxHttpBody *pStream;  /* streamed body instead of pBody, or NULL;
                               ** borrowed. The retry loop rewinds it
                               ** before each attempt; a transport reads it
                               ** through xRead and rewinds it only to send
                               ** it again within one attempt (libcurl on a
                               ** reused connection found dead) */
  int bFreshConnection;        /* open a new connection for this request, so
                               ** the transport never re-sends it on a reused
                               ** connection that died (DBX_RETRY_ONCE) */
  DbxHttpOrphanFn xOrphan;     /* NULL, or: an interrupt returns at once
                               ** and the request completes in the
                               ** background, then xOrphan's follow-up is
                               ** sent (a statement's cancel) */
} DbxHttpRequest;

/* How a transfer failed before an HTTP status arrived. */
typedef enum DbxNetError {
  DBX_NET_OK = 0,  /* a response (any status) arrived */
  DBX_NET_RESOLVE, /* the host name does not resolve: not retried */
  DBX_NET_CONNECT, /* refused, unreachable, connect time-out: nothing was
                   ** sent; retried for a short while */
  DBX_NET_TIMEOUT, /* inactivity time-out after the request went out:
                   ** retried unless DBX_RETRY_ONCE */
  DBX_NET_DROPPED, /* connection closed after the request went out:
                   ** retried unless DBX_RETRY_ONCE */
  DBX_NET_TLS,     /* certificate or handshake failure: not retried */
  DBX_NET_ABORTED, /* the interrupt callback stopped the transfer */
  DBX_NET_OTHER    /* anything else: not retried */
} DbxNetError;

/* The reply headers that describe a file (Files API HEAD and GET), as
** sent, or "" when absent or too long to be valid. */
typedef struct DbxHttpMeta {
  char zLength[24];   /* Content-Length */
  char zModified[48]; /* Last-Modified (an RFC 7231 date) */
} DbxHttpMeta;

/* What came back. The transport fills it; the caller frees body. */
typedef struct DbxHttpResponse {
  DbxNetError eNet;         /* DBX_NET_OK when status is valid */
  long status;              /* HTTP status, or 0 */
  char zRetryAfter[32];     /* the Retry-After header value, or "" */
  DbxHttpMeta meta;         /* Content-Length and Last-Modified */
  char zNetMsg[160];        /* transport failure text (no URL), or "" */
  DbxBuf body;              /* response body; owned by the response */
  size_t nKeep;             /* leading body bytes kept across retries (a
                            ** caller's buffer appended to); the reply
                            ** starts at body.z + nKeep */
  size_t nMaxBody;          /* set by the caller: the most reply bytes (after
                            ** nKeep) accepted, 0 for no cap; more fails the
                            ** call with SQLITE_TOOBIG */
  int bTooBig;              /* the transport stopped reading at nMaxBody */
  const DbxHttpSink *pSink; /* set by the caller: receives a 2xx body
                            ** instead of body, or NULL; borrowed */
  int64_t nSunk;            /* bytes handed to pSink (all attempts) */
  int rcSink;               /* the code pSink stopped the transfer with */
} DbxHttpResponse;

/*
** How a transport hands over reply bytes, in any number of pieces, once
** pResp->status holds the status of the reply: to pResp->pSink when it is
** set and the status is 2xx, else appended to pResp->body within
** nMaxBody. Returns SQLITE_OK, or non-zero when the transport must stop
** reading: the cap was reached (bTooBig), memory ran out (body.rc) or the
** sink refused (rcSink).
*/
int dbx_http_response_write(DbxHttpResponse *pResp, const void *pData,
                            size_t nData);

/*
** The swappable network and clock. xPerform sends one request (no retry)
** and fills *pResp; it returns SQLITE_OK when it did what it could (even a
** network failure is reported through pResp->eNet) or SQLITE_NOMEM. It
** reads a streamed request body through pReq->pStream->xRead, and hands
** the reply over with dbx_http_response_write() once pResp->status is set
** (required when pResp->pSink is set; appending to pResp->body is the
** same otherwise), stopping when that refuses. xNowMs is a monotonic
** clock in milliseconds; xSleepMs sleeps. A NULL member means the libcurl
** / real-clock default.
*/
typedef struct DbxHttpTransport {
  int (*xPerform)(void *pCtx, const DbxHttpRequest *pReq,
                  DbxHttpResponse *pResp);
  int64_t (*xNowMs)(void *pCtx);
  void (*xSleepMs)(void *pCtx, int64_t ms);
  void *pCtx; /* handed to every member */
} DbxHttpTransport;

/* Settings of one handle; dbx_http_settings_default() fills them. */
typedef struct DbxHttpSettings {
  long connectTimeoutMs; /* TCP + TLS connect bound (connect_timeout_seconds) */
  long inactivityTimeoutMs; /* abort when no byte flows this long
                               (http_timeout_seconds) */
  int64_t retryBudgetMs; /* total time spent retrying (retry_timeout_seconds) */
  int64_t maxRetryAfterMs; /* cap on an honoured Retry-After */
  char zCaBundle[512];     /* CA bundle file, or "" for the system store */
  char zUserAgent[160];    /* User-Agent header value */
  int bNotify;             /* say on stderr when a call waits to retry (for
                           ** a person at a terminal) */
} DbxHttpSettings;

/* Which responses a call retries (besides connection errors/time-outs). */
typedef enum DbxRetryKind {
  DBX_RETRY_API = 0, /* 429, 503 and the SDKs' transient messages */
  DBX_RETRY_TOKEN,   /* 429, 502, 503, 504 within one minute */
  DBX_RETRY_NONE,    /* a single attempt */
  DBX_RETRY_ONCE     /* a request that must not be carried out twice (a
                     ** statement that writes): sent again only when it
                     ** surely did not arrive (no connection) or the server
                     ** turned it away unread (429, 503); a failure after it
                     ** went out sets DbxError.bUncertain */
} DbxRetryKind;

typedef struct DbxHttp DbxHttp;

void dbx_http_settings_default(DbxHttpSettings *pSet);

/*
** Opens a handle. pTransport may be NULL (libcurl and the real clock); a
** non-NULL table is copied. Returns SQLITE_OK and *ppOut, or an error.
*/
int dbx_http_new(const DbxHttpSettings *pSet,
                 const DbxHttpTransport *pTransport, DbxHttp **ppOut,
                 DbxError *pErr);
void dbx_http_free(DbxHttp *p);

/* The handle's settings (borrowed, may be changed before a call). */
DbxHttpSettings *dbx_http_settings(DbxHttp *p);

/* Installs a callback polled while transferring and between retries. */
void dbx_http_set_interrupt(DbxHttp *p, int (*xInterrupt)(void *), void *pArg);

/* Milliseconds of the handle's clock (the fake one in tests). */
int64_t dbx_http_now_ms(DbxHttp *p);

/* Sleeps ms on the handle's clock (the fake one advances instantly). */
void dbx_http_sleep_ms(DbxHttp *p, int64_t ms);

/* The next value of the handle's jitter generator (xorshift, not secure). */
unsigned dbx_http_rand(DbxHttp *p);

/*
** Checks the TLS policy for zUrl: https anywhere, plain http only to a
** loopback host (127.0.0.0/8, ::1, localhost). Returns SQLITE_OK or an
** error that says so.
*/
int dbx_http_check_url(const char *zUrl, DbxError *pErr);

/*
** Sends pReq, retrying per eRetry, and fills *pResp with the final
** response (whatever its status; the caller frees pResp->body with
** dbx_buf_free). Returns SQLITE_OK when an HTTP response arrived, or an
** error code with pErr set when the URL is refused, the network failed
** after all retries, the budget ran out or the call was interrupted
** (SQLITE_INTERRUPT). zWhat names the call in messages ("GET
** /api/2.0/sql/statements"); it must not contain secrets. A reply longer
** than pResp->nMaxBody (when set) is cut off there and fails with
** SQLITE_TOOBIG, pErr saying how many bytes were the most expected.
** pReq->pStream and pResp->pSink stream the two bodies (see DbxHttpBody
** and DbxHttpSink); neither may be combined with pReq->xOrphan, since an
** abandoned transfer outlives the caller's callbacks (SQLITE_MISUSE).
*/
int dbx_http_send(DbxHttp *p, const DbxHttpRequest *pReq, DbxRetryKind eRetry,
                  const char *zWhat, DbxHttpResponse *pResp, DbxError *pErr);

/*
** The delay before retry number nAttempt (1-based) of a response: the
** Retry-After seconds when given (capped at maxRetryAfterMs, 1 s when
** absent or not an integer for 429/503), otherwise min(nAttempt, 10) s,
** plus a jitter of 50..750 ms taken from uJitter. Exposed for tests.
*/
int64_t dbx_http_backoff_ms(const DbxHttpSettings *pSet, int nAttempt,
                            const char *zRetryAfter, unsigned uJitter);

/*
** Whether a response is worth retrying under eRetry: status and the
** transient messages the SDKs retry found in the body. Exposed for tests.
*/
int dbx_http_is_retryable(DbxRetryKind eRetry, const DbxHttpResponse *pResp);

/*
** Records a non-2xx response in pErr, in every shape Databricks answers
** errors: JSON error_code/message,
** {"error": ...} (also RFC 6749 error/error_description), SCIM
** detail/status/scimType, plain "CODE: message" text, HTML <pre>/<title>,
** else the raw text (shortened). zWhat prefixes the message. Returns the
** SQLite code recorded (SQLITE_ERROR, SQLITE_AUTH for 401/403,
** SQLITE_NOTFOUND never: not found is SQLITE_ERROR with the status kept).
*/
int dbx_http_error_from_response(long status, const char *zBody, size_t nBody,
                                 const char *zWhat, DbxError *pErr);

/*
** Adds what to do to an error that says a privilege is missing ("User does
** not have SELECT on Table 'main.sales.orders'"): the GRANT statement an
** owner or admin runs, or for a warehouse's CAN_USE the permissions page
** and the REST call. Leaves other errors as they are.
*/
void dbx_http_hint_permission(DbxError *pErr);

/* The reason phrase of an HTTP status ("Not Found"), or "HTTP error". */
const char *dbx_http_reason(long status);

/*
** Writes the redacted form of zUrl (scheme://host/path, no query, no
** userinfo) into zOut. Returns zOut.
*/
char *dbx_http_redact_url(const char *zUrl, char *zOut, size_t nOut);

/*
** Writes only scheme://host[:port] of zUrl into zOut: how a presigned link
** is named, whose path may be signed too. Returns zOut.
*/
char *dbx_http_redact_host(const char *zUrl, char *zOut, size_t nOut);

#endif /* DBX_HTTP_H */
