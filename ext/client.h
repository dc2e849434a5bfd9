/*
** client.h: the workspace client (client.c), the one door to Databricks.
**
** A DbxClient belongs to one workspace and one identity: a base URL, a
** credential provider (auth.c) and an HTTP handle (http.c) whose connections
** are reused across calls. Every API file (statements.c, files.c,
** catalog.c) goes through it, so none of them knows about auth, retries or
** TLS. A client is used by one thread at a time. Its clock, sleep and
** jitter are the HTTP handle's, so the API files wait on the same (in unit
** tests, fake) clock as the retries. Serves every SQL function and the
** virtual table that reach a workspace.
*/
#ifndef DBX_CLIENT_H
#define DBX_CLIENT_H

#include <cjson/cJSON.h>

#include "config.h"
#include "dbx_int.h"
#include "http.h"

typedef struct DbxClient DbxClient;

/*
** Called between retries and while waiting, so a caller can stop a long
** call (sqlite3_interrupt): returns non-zero to abandon the call, which then
** fails with SQLITE_INTERRUPT.
*/
typedef int (*DbxInterruptFn)(void *pArg);

/*
** Opens a client for a resolved configuration (see config.h). Nothing is
** sent yet. Returns SQLITE_OK and *ppOut (free with dbx_client_free), or an
** error code with pErr set when a setting is missing or invalid.
*/
int dbx_client_open(const DbxConfig *pConfig, DbxClient **ppOut,
                    DbxError *pErr);
void dbx_client_free(DbxClient *p);

/* Installs the interrupt callback used by every later call (NULL: none). */
void dbx_client_set_interrupt(DbxClient *p, DbxInterruptFn x, void *pArg);

/*
** While x is set, an interrupt abandons a call in flight: the call returns
** SQLITE_INTERRUPT at once and completes in the background, where x gives
** the follow-up to send (see DbxHttpOrphanFn in http.h). For the submit of
** a statement, whose id only the reply names: x returns its cancel URL.
*/
void dbx_client_set_orphan(DbxClient *p, DbxHttpOrphanFn x);

/* The configuration the client was opened with (borrowed). */
const DbxConfig *dbx_client_config(const DbxClient *p);

/*
** The largest body dbx_client_call() accepts: above the 25 MiB of the
** biggest legitimate answer (an INLINE result) with room for its JSON
** framing. More fails the call instead of growing the process.
*/
#define DBX_CLIENT_MAX_BODY ((size_t)32 * 1024 * 1024)

/*
** Calls a workspace REST API: zMethod "GET"/"POST"/..., zPath starting with
** "/api/" (query string included, already escaped), pBody sent as JSON when
** not NULL. Adds Authorization, User-Agent and the workspace-id header,
** retries as the Databricks SDKs do, refreshes the token once on 401.
** On 2xx, *ppOut is the parsed JSON body (cJSON_Delete it), or NULL when the
** body was empty. Otherwise returns an error code with pErr holding the HTTP
** status, the Databricks error_code and a one-line message. A body above
** DBX_CLIENT_MAX_BODY fails with SQLITE_TOOBIG.
*/
int dbx_client_call(DbxClient *p, const char *zMethod, const char *zPath,
                    const cJSON *pBody, cJSON **ppOut, DbxError *pErr);

/*
** A POST that must not be carried out twice (a statement that may write):
** like dbx_client_call, but sent again only when it surely did not reach
** the server (no connection) or the server turned it away (429, 503), and
** on a new connection. When it failed after it went out (connection
** dropped, time-out, a server error) pErr->bUncertain is set: the server
** may have carried it out.
*/
int dbx_client_post_once(DbxClient *p, const char *zPath, const cJSON *pBody,
                         cJSON **ppOut, DbxError *pErr);

/*
** Calls a workspace REST API with raw bodies, both streamed (a staged file
** uploaded to a volume, a large file downloaded), and the given extra
** headers ("Name: value"); *pStatus receives the 2xx status of a call that
** succeeded. pBody (may be NULL) is read
** through its callbacks and rewound before each attempt; a 2xx reply body
** goes to pSink (may be NULL: discarded) in the pieces it arrives in. An
** error reply is read into memory, parsed and retried as for any call and
** never reaches pSink. See DbxHttpBody and DbxHttpSink in http.h for what
** fails the call. The client's orphan callback must not be set.
*/
int dbx_client_call_stream(DbxClient *p, const char *zMethod, const char *zPath,
                           const char *const *azHeader, int nHeader,
                           const DbxHttpBody *pBody, const DbxHttpSink *pSink,
                           long *pStatus, DbxError *pErr);

/*
** dbx_client_call_stream() that also fills *pMeta (may be NULL) with the
** Content-Length and Last-Modified headers of the reply (all "" unless it
** was 2xx and sent them): a file's HEAD, or its GET.
*/
int dbx_client_call_file(DbxClient *p, const char *zMethod, const char *zPath,
                         const char *const *azHeader, int nHeader,
                         const DbxHttpBody *pBody, const DbxHttpSink *pSink,
                         DbxHttpMeta *pMeta, long *pStatus, DbxError *pErr);

/*
** Downloads an external link (a presigned cloud-storage URL): no
** Authorization header, the link's own headers (azHeader, "Name: value")
** sent as given, retried like API calls. The body is appended to pOut. An
** expired link fails with pErr->httpStatus 403 (or 400/410) so the caller
** can ask for a fresh one. Neither the URL's query string nor a header value
** ever appears in pErr.
*/
int dbx_client_download(DbxClient *p, const char *zUrl,
                        const char *const *azHeader, int nHeader, DbxBuf *pOut,
                        DbxError *pErr);

/* dbx_client_download() that accepts at most nMax body bytes (0: no cap);
** a longer body fails with SQLITE_TOOBIG. */
int dbx_client_download_max(DbxClient *p, const char *zUrl,
                            const char *const *azHeader, int nHeader,
                            size_t nMax, DbxBuf *pOut, DbxError *pErr);

/*
** While pKeep is not NULL, every dbx_client_call() that succeeds hands the
** raw bytes of its reply body to *pKeep (replacing what it held; empty
** when the reply had no body), besides parsing them. For callers that
** must read values cJSON cannot hold, such as strings with a NUL. The
** caller owns *pKeep and frees it with dbx_buf_free(); NULL stops it.
*/
void dbx_client_keep_body(DbxClient *p, DbxBuf *pKeep);

/*
** The client's clock, sleep and jitter: the HTTP handle's (http.h), so
** polling and backoff above this layer run on the same fake clock as the
** retries in unit tests. dbx_client_now_ms is monotonic milliseconds;
** dbx_client_sleep_ms does not poll the interrupt callback (callers that
** wait long sleep in slices and poll themselves); dbx_client_rand is not
** fit for secrets.
*/
int64_t dbx_client_now_ms(DbxClient *p);
void dbx_client_sleep_ms(DbxClient *p, int64_t ms);
unsigned dbx_client_rand(DbxClient *p);

/* The workspace base URL without a trailing slash (borrowed), e.g.
** https://x.cloud.databricks.com */
const char *dbx_client_host(const DbxClient *p);

/*
** Whether the host answers at all: one GET of the SCIM Me path without
** credentials and without retries (a workspace answers 401), under the
** TLS policy of every call. *pStatus receives the HTTP status. Returns
** SQLITE_OK when any HTTP reply came, or an error in pErr saying why none
** did (name resolution, connection, TLS, time-out).
*/
int dbx_client_ping(DbxClient *p, long *pStatus, DbxError *pErr);

/*
** Obtains a token for the configured auth type as a call would (from the
** process-wide cache, or from the token endpoint), without calling any
** API. Returns SQLITE_OK or the auth layer's error in pErr.
*/
int dbx_client_token_check(DbxClient *p, DbxError *pErr);

/* The auth type of the client ("pat", "oauth-m2m", ...): static text. */
const char *dbx_client_auth_type(const DbxClient *p);

/*
** Test hook (unit tests only, not thread-safe): clients opened after this
** call use the transport table *pTr (copied at open) instead of libcurl;
** NULL restores libcurl. See http.h.
*/
struct DbxHttpTransport;
void dbx_client_test_transport(struct DbxHttpTransport *pTr);

#endif /* DBX_CLIENT_H */
