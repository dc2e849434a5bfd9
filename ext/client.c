/*
** client.c: the workspace client, the one door to Databricks.
**
** A DbxClient joins a resolved configuration, a credential provider
** (auth.c) and an HTTP handle (http.c) for one workspace. API files call
** dbx_client_call() with a path and a JSON body and get parsed JSON back;
** this file adds the Authorization, User-Agent and workspace-id headers,
** turns non-2xx replies into DbxError, and retries once with a fresh token
** after a 401. dbx_client_call_stream() does the same with a streamed
** request body and a reply sink (files too large to hold).
** dbx_client_download() fetches external links (presigned URLs) without
** credentials and never names their query or headers. Serves every SQL
** function and the virtual table that reach a workspace.
*/
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "client.h"
#include "http.h"

struct DbxClient {
  DbxConfig *pConfig;      /* owned copy of the resolved config */
  DbxHttp *pHttp;          /* reused connection, settings, retries */
  DbxAuth *pAuth;          /* credential provider */
  char *zHost;             /* base URL without trailing slash; owned */
  char zWorkspaceHdr[96];  /* "X-Databricks-Workspace-Id: <id>" or "" */
  DbxHttpTransport tr;     /* transport override (tests), or zeroed */
  DbxHttpOrphanFn xOrphan; /* set on every request while not NULL */
  int bHaveTransport;      /* tr is set */
  DbxBuf *pKeep;           /* borrowed; receives raw JSON bodies, or NULL */
};

/* Transport override for the next dbx_client_open (unit tests only). */
static DbxHttpTransport *pNextTransport = NULL;

void dbx_client_test_transport(DbxHttpTransport *pTr) {
  pNextTransport = pTr;
}

/* Fills HTTP settings from the configuration. */
static void settings_from(const DbxConfig *pConfig, const char *zAuthType,
                          DbxHttpSettings *pSet) {
  const char *zCa = dbx_config_get(pConfig, "ca_bundle");
  dbx_http_settings_default(pSet);
  pSet->connectTimeoutMs =
      dbx_config_get_int(pConfig, "connect_timeout_seconds", 30) * 1000;
  pSet->inactivityTimeoutMs =
      dbx_config_get_int(pConfig, "http_timeout_seconds", 60) * 1000;
  pSet->retryBudgetMs =
      (int64_t)dbx_config_get_int(pConfig, "retry_timeout_seconds", 300) * 1000;
  if (zCa) snprintf(pSet->zCaBundle, sizeof(pSet->zCaBundle), "%s", zCa);
  snprintf(pSet->zUserAgent, sizeof(pSet->zUserAgent),
           "sqlite-databricks/%s os/linux auth/%s", DBX_VERSION, zAuthType);
  pSet->bNotify = isatty(STDERR_FILENO);
}

int dbx_client_open(const DbxConfig *pConfig, DbxClient **ppOut,
                    DbxError *pErr) {
  DbxClient *p;
  DbxHttpSettings set;
  int rc;
  const char *zHost = dbx_config_get(pConfig, "host");
  const char *zWs = dbx_config_get(pConfig, "workspace_id");

  *ppOut = NULL;
  if (zHost == NULL || dbx_config_get(pConfig, "auth_type") == NULL) {
    DbxConfig *pCopy = NULL;
    /* an unresolved config: resolve a copy so errors name the setting */
    if (dbx_config_dup(pConfig, &pCopy) != SQLITE_OK) {
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    rc = dbx_config_resolve(pCopy, pErr);
    if (rc == SQLITE_OK) rc = dbx_client_open(pCopy, ppOut, pErr);
    dbx_config_free(pCopy);
    return rc;
  }
  rc = dbx_http_check_url(zHost, pErr);
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  if (pNextTransport) {
    p->tr = *pNextTransport;
    p->bHaveTransport = 1;
  }
  if (dbx_config_dup(pConfig, &p->pConfig) != SQLITE_OK ||
      (p->zHost = dbx_strdup(zHost)) == NULL) {
    dbx_client_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  {
    size_t n = strlen(p->zHost);
    while (n > 0 && p->zHost[n - 1] == '/')
      p->zHost[--n] = 0;
  }
  if (zWs && zWs[0]) {
    snprintf(p->zWorkspaceHdr, sizeof(p->zWorkspaceHdr),
             "X-Databricks-Workspace-Id: %s", zWs);
  }
  rc = dbx_auth_new(p->pConfig, &p->pAuth, pErr);
  if (rc == SQLITE_OK) {
    settings_from(p->pConfig, dbx_auth_type(p->pAuth), &set);
    rc = dbx_http_new(&set, p->bHaveTransport ? &p->tr : NULL, &p->pHttp, pErr);
  }
  if (rc) {
    dbx_client_free(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

void dbx_client_free(DbxClient *p) {
  if (p == NULL) return;
  dbx_http_free(p->pHttp);
  dbx_auth_free(p->pAuth);
  dbx_config_free(p->pConfig);
  sqlite3_free(p->zHost);
  sqlite3_free(p);
}

void dbx_client_set_interrupt(DbxClient *p, DbxInterruptFn x, void *pArg) {
  dbx_http_set_interrupt(p->pHttp, x, pArg);
}

void dbx_client_set_orphan(DbxClient *p, DbxHttpOrphanFn x) {
  p->xOrphan = x;
}

const DbxConfig *dbx_client_config(const DbxClient *p) {
  return p->pConfig;
}

const char *dbx_client_host(const DbxClient *p) {
  return p->zHost;
}

int64_t dbx_client_now_ms(DbxClient *p) {
  return dbx_http_now_ms(p->pHttp);
}

void dbx_client_sleep_ms(DbxClient *p, int64_t ms) {
  dbx_http_sleep_ms(p->pHttp, ms);
}

unsigned dbx_client_rand(DbxClient *p) {
  return dbx_http_rand(p->pHttp);
}

/* "METHOD /path" without the query string, for messages. */
static void call_name(const char *zMethod, const char *zPath, char *zOut,
                      size_t nOut) {
  snprintf(zOut, nOut, "%s %.*s", zMethod, (int)strcspn(zPath, "?#"), zPath);
}

/*
** True when a reply says the token was refused: 401, or the 403 "Invalid
** access token." a workspace answers for an unknown or expired token
** (error_code 403; an expired OAuth token is reported this way too), as
** opposed to a 403 PERMISSION_DENIED that a new token cannot cure.
*/
static int is_token_rejected(const DbxHttpResponse *pResp) {
  DbxError e;
  if (pResp->status == 401) return 1;
  if (pResp->status != 403 || pResp->body.z == NULL) return 0;
  dbx_error_clear(&e);
  dbx_http_error_from_response(403, pResp->body.z + pResp->nKeep,
                               pResp->body.n - pResp->nKeep, "", &e);
  return strcmp(e.zCode, "403") == 0 || strcasestr(e.zMsg, "access token") ||
         strcasestr(e.zMsg, "invalid token") ||
         strcasestr(e.zMsg, "token expired");
}

/* What a call sends and where its reply goes, besides the headers. */
typedef struct ClientIo {
  const void *pBody;          /* in-memory request body, or NULL */
  size_t nBody;               /* bytes in pBody */
  const DbxHttpBody *pStream; /* streamed request body, or NULL */
  const DbxHttpSink *pSink;   /* receives a 2xx reply body, or NULL */
  size_t nMax;                /* cap on the reply bytes kept in memory */
  DbxHttpMeta *pMeta;         /* receives the file headers of a 2xx reply,
                              ** or NULL */
} ClientIo;

/*
** One authenticated call with the 401 retry. The reply body is appended to
** pOut (unless pIo->pSink takes it); *pStatus gets the final status.
** Non-2xx replies become errors.
*/
static int client_send(DbxClient *p, const char *zMethod, const char *zPath,
                       const char *const *azExtra, int nExtra,
                       const ClientIo *pIo, DbxRetryKind eRetry, DbxBuf *pOut,
                       long *pStatus, DbxError *pErr) {
  const char **azHeader;
  char *zUrl, *zAuth = NULL, zWhat[200];
  int rc = SQLITE_OK, nHeader, i, bRetried = 0;
  DbxHttpRequest req;
  DbxHttpResponse resp;

  call_name(zMethod, zPath, zWhat, sizeof(zWhat));
  if (zPath[0] != '/') {
    return dbx_error_set(pErr, SQLITE_MISUSE, "%s: path must start with /",
                         zWhat);
  }
  zUrl = sqlite3_mprintf("%s%s", p->zHost, zPath);
  azHeader = sqlite3_malloc64(sizeof(char *) * (size_t)(nExtra + 3));
  if (zUrl == NULL || azHeader == NULL) {
    sqlite3_free(zUrl);
    sqlite3_free(azHeader);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memset(&resp, 0, sizeof(resp));
  resp.body = *pOut; /* append to the caller's buffer, no copy */
  resp.nKeep = pOut->n;
  resp.nMaxBody = pIo->nMax;
  resp.pSink = pIo->pSink;
  memset(pOut, 0, sizeof(*pOut));

  for (;;) {
    rc = dbx_auth_header(p->pAuth, p->pHttp, bRetried, &zAuth, pErr);
    if (rc) break;
    nHeader = 0;
    azHeader[nHeader++] = zAuth;
    if (p->zWorkspaceHdr[0]) azHeader[nHeader++] = p->zWorkspaceHdr;
    for (i = 0; i < nExtra; i++)
      azHeader[nHeader++] = azExtra[i];
    memset(&req, 0, sizeof(req));
    req.zMethod = zMethod;
    req.zUrl = zUrl;
    req.azHeader = azHeader;
    req.nHeader = nHeader;
    req.pBody = pIo->pBody;
    req.nBody = pIo->nBody;
    req.pStream = pIo->pStream;
    req.xOrphan = p->xOrphan;
    rc = dbx_http_send(p->pHttp, &req, eRetry, zWhat, &resp, pErr);
    dbx_free_secret(zAuth);
    zAuth = NULL;
    if (rc) break;
    if (!bRetried && is_token_rejected(&resp) &&
        dbx_auth_can_refresh(p->pAuth)) {
      bRetried = 1; /* the token may have been revoked or expired early */
      continue;
    }
    break;
  }
  if (rc == SQLITE_OK) {
    *pStatus = resp.status;
    if (pIo->pMeta && resp.status >= 200 && resp.status <= 299) {
      *pIo->pMeta = resp.meta;
    }
    if (resp.status < 200 || resp.status > 299) {
      rc = dbx_http_error_from_response(
          resp.status, resp.body.z ? resp.body.z + resp.nKeep : NULL,
          resp.body.n - resp.nKeep, zWhat, pErr);
      /* a server error other than "unavailable" may come after the work */
      if (eRetry == DBX_RETRY_ONCE && resp.status >= 500 &&
          resp.status != 503) {
        pErr->bUncertain = 1;
      }
      if (resp.status == 403) dbx_http_hint_permission(pErr);
      if (is_token_rejected(&resp)) {
        snprintf(pErr->zMsg + strlen(pErr->zMsg),
                 sizeof(pErr->zMsg) - strlen(pErr->zMsg),
                 " (auth %s: check the credentials)", dbx_auth_type(p->pAuth));
      }
      /* drop the error body from the caller's buffer */
      if (resp.body.z) {
        resp.body.n = resp.nKeep;
        resp.body.z[resp.body.n] = 0;
      }
    }
  }
  if (rc) dbx_auth_scrub(p->pAuth, pErr);
  *pOut = resp.body;
  sqlite3_free(zUrl);
  sqlite3_free(azHeader);
  return rc;
}

/* dbx_client_call and dbx_client_post_once: a JSON call under eRetry. */
static int client_call_json(DbxClient *p, const char *zMethod,
                            const char *zPath, const cJSON *pBody,
                            DbxRetryKind eRetry, cJSON **ppOut,
                            DbxError *pErr) {
  static const char *const azJson[] = {"Content-Type: application/json",
                                       "Accept: application/json"};
  char *zBody = NULL;
  DbxBuf out = {0};
  long status = 0;
  int rc;
  ClientIo io;

  if (ppOut) *ppOut = NULL;
  if (pBody) {
    zBody = cJSON_PrintUnformatted(pBody);
    if (zBody == NULL)
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memset(&io, 0, sizeof(io));
  io.pBody = zBody;
  io.nBody = zBody ? strlen(zBody) : 0;
  io.nMax = DBX_CLIENT_MAX_BODY;
  rc = client_send(p, zMethod, zPath, pBody ? azJson : azJson + 1,
                   pBody ? 2 : 1, &io, eRetry, &out, &status, pErr);
  if (zBody) cJSON_free(zBody);
  if (rc == SQLITE_OK && ppOut && out.n > 0) {
    *ppOut = cJSON_ParseWithLength(out.z, out.n);
    if (*ppOut == NULL) {
      char zWhat[200];
      call_name(zMethod, zPath, zWhat, sizeof(zWhat));
      rc = dbx_error_set_api(pErr, SQLITE_ERROR, status, "",
                             "%s: HTTP %ld with a body that is not JSON: "
                             "check that host names a Databricks workspace",
                             zWhat, status);
    }
  }
  if (rc == SQLITE_OK && p->pKeep) {
    dbx_buf_free(p->pKeep);
    *p->pKeep = out; /* handed over, not copied */
    memset(&out, 0, sizeof(out));
  }
  dbx_buf_free(&out);
  return rc;
}

int dbx_client_call(DbxClient *p, const char *zMethod, const char *zPath,
                    const cJSON *pBody, cJSON **ppOut, DbxError *pErr) {
  return client_call_json(p, zMethod, zPath, pBody, DBX_RETRY_API, ppOut, pErr);
}

int dbx_client_post_once(DbxClient *p, const char *zPath, const cJSON *pBody,
                         cJSON **ppOut, DbxError *pErr) {
  return client_call_json(p, "POST", zPath, pBody, DBX_RETRY_ONCE, ppOut, pErr);
}

void dbx_client_keep_body(DbxClient *p, DbxBuf *pKeep) {
  p->pKeep = pKeep;
}

int dbx_client_call_stream(DbxClient *p, const char *zMethod, const char *zPath,
                           const char *const *azHeader, int nHeader,
                           const DbxHttpBody *pBody, const DbxHttpSink *pSink,
                           long *pStatus, DbxError *pErr) {
  return dbx_client_call_file(p, zMethod, zPath, azHeader, nHeader, pBody,
                              pSink, NULL, pStatus, pErr);
}

int dbx_client_call_file(DbxClient *p, const char *zMethod, const char *zPath,
                         const char *const *azHeader, int nHeader,
                         const DbxHttpBody *pBody, const DbxHttpSink *pSink,
                         DbxHttpMeta *pMeta, long *pStatus, DbxError *pErr) {
  ClientIo io;
  DbxBuf kept = {0}; /* an error reply, or a reply nobody asked for */
  long status = 0;
  int rc;
  memset(&io, 0, sizeof(io));
  io.pStream = pBody;
  io.pSink = pSink;
  io.pMeta = pMeta;
  io.nMax = DBX_CLIENT_MAX_BODY; /* what stays in memory */
  if (pMeta) memset(pMeta, 0, sizeof(*pMeta));
  rc = client_send(p, zMethod, zPath, azHeader, nHeader, &io, DBX_RETRY_API,
                   &kept, &status, pErr);
  dbx_buf_free(&kept);
  if (pStatus) *pStatus = rc == SQLITE_OK ? status : 0;
  return rc;
}

int dbx_client_download(DbxClient *p, const char *zUrl,
                        const char *const *azHeader, int nHeader, DbxBuf *pOut,
                        DbxError *pErr) {
  return dbx_client_download_max(p, zUrl, azHeader, nHeader, 0, pOut, pErr);
}

int dbx_client_download_max(DbxClient *p, const char *zUrl,
                            const char *const *azHeader, int nHeader,
                            size_t nMax, DbxBuf *pOut, DbxError *pErr) {
  DbxHttpRequest req;
  DbxHttpResponse resp;
  char zSafe[256];
  int rc;

  /* name the link by its host only: path and query may be signed */
  dbx_http_redact_host(zUrl, zSafe, sizeof(zSafe));
  {
    char zWhat[300];
    snprintf(zWhat, sizeof(zWhat), "download of external link from %s", zSafe);
    memset(&req, 0, sizeof(req));
    req.zMethod = "GET";
    req.zUrl = zUrl;
    req.azHeader = azHeader;
    req.nHeader = nHeader;
    memset(&resp, 0, sizeof(resp));
    resp.body = *pOut;
    resp.nKeep = pOut->n;
    resp.nMaxBody = nMax;
    rc = dbx_http_send(p->pHttp, &req, DBX_RETRY_API, zWhat, &resp, pErr);
    if (rc == SQLITE_OK && (resp.status < 200 || resp.status > 299)) {
      /* no body: storage errors can echo the signed request */
      rc = dbx_error_set_api(
          pErr, resp.status == 403 ? SQLITE_AUTH : SQLITE_ERROR, resp.status,
          "", "%s: HTTP %ld %s%s", zWhat, resp.status,
          dbx_http_reason(resp.status),
          (resp.status == 403 || resp.status == 400 || resp.status == 410)
              ? " (the link may have expired: request the "
                "chunk again)"
              : "");
    }
    if (resp.body.z && resp.body.n >= resp.nKeep && rc != SQLITE_OK) {
      resp.body.n = resp.nKeep;
      resp.body.z[resp.body.n] = 0;
    }
    *pOut = resp.body;
  }
  return rc;
}

/* ---------------------------------------------------------------------
** Probes for a preflight (dbx_check)
*/

int dbx_client_ping(DbxClient *p, long *pStatus, DbxError *pErr) {
  static const char zPath[] = "/api/2.0/preview/scim/v2/Me";
  DbxHttpRequest req;
  DbxHttpResponse resp;
  char *zUrl;
  int rc;
  *pStatus = 0;
  zUrl = sqlite3_mprintf("%s%s", p->zHost, zPath);
  if (zUrl == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(&req, 0, sizeof(req));
  memset(&resp, 0, sizeof(resp));
  req.zMethod = "GET";
  req.zUrl = zUrl;
  resp.nMaxBody = 64 * 1024;
  rc = dbx_http_send(p->pHttp, &req, DBX_RETRY_NONE,
                     "GET /api/2.0/preview/"
                     "scim/v2/Me",
                     &resp, pErr);
  if (rc == SQLITE_TOOBIG) {
    /* a long reply still came from the host */
    dbx_error_clear(pErr);
    rc = SQLITE_OK;
  }
  if (rc == SQLITE_OK) *pStatus = resp.status;
  dbx_buf_free(&resp.body);
  sqlite3_free(zUrl);
  return rc;
}

int dbx_client_token_check(DbxClient *p, DbxError *pErr) {
  char *zAuth = NULL;
  int rc = dbx_auth_header(p->pAuth, p->pHttp, 0, &zAuth, pErr);
  dbx_free_secret(zAuth);
  if (rc) dbx_auth_scrub(p->pAuth, pErr);
  return rc;
}

const char *dbx_client_auth_type(const DbxClient *p) {
  return dbx_auth_type(p->pAuth);
}
