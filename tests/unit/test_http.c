/*
** Unit tests of http.c: TLS/loopback policy, retry policy and backoff on a
** fake clock, error-body parsing and redaction, streamed request bodies
** and reply sinks.
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "unit.h"

#include "fake_transport.h"

static DbxHttp *open_fake(Fake *f, DbxHttpTransport *pT) {
  DbxHttp *p = NULL;
  DbxError e;
  dbx_error_clear(&e);
  *pT = fake_transport(f);
  assert_int_equal(dbx_http_new(NULL, pT, &p, &e), SQLITE_OK);
  return p;
}

static int send_get(DbxHttp *p, DbxRetryKind k, DbxHttpResponse *pResp,
                    DbxError *pErr) {
  DbxHttpRequest req;
  const char *azH[] = {"Authorization: Bearer dapi-SECRET"};
  memset(&req, 0, sizeof(req));
  req.zMethod = "GET";
  req.zUrl = "https://x.cloud.databricks.com/api/2.0/x?sig=SECRETQUERY";
  req.azHeader = azH;
  req.nHeader = 1;
  memset(pResp, 0, sizeof(*pResp));
  dbx_error_clear(pErr);
  return dbx_http_send(p, &req, k, "GET /api/2.0/x", pResp, pErr);
}

/* The network of one test: a fake transport and the reply of one send. */
typedef struct Net {
  Fake f;             /* canned replies and what was sent */
  DbxHttpTransport t; /* the transport bound to f */
  DbxHttpResponse r;  /* the last response */
  DbxError e;         /* the last error */
  DbxHttp *p;         /* the handle under test */
} Net;

static int net_setup(void **state) {
  static Net n;
  memset(&n, 0, sizeof(n));
  n.p = open_fake(&n.f, &n.t);
  *state = &n;
  return 0;
}

static int net_teardown(void **state) {
  Net *n = *state;
  dbx_buf_free(&n->r.body);
  dbx_http_free(n->p);
  return 0;
}

static void loopback_policy(void **state) {
  DbxError e;
  (void)state;
  const char *azOk[] = {"https://dbc-1.cloud.databricks.com",
                        "http://127.0.0.1:8080/api",
                        "http://127.9.9.9",
                        "http://localhost:1/x",
                        "http://[::1]:99/",
                        "HTTPS://Upper.example.com/"};
  const char *azBad[] = {"http://example.com/",        "http://10.0.0.1/",
                         "ftp://127.0.0.1/",           "http://128.0.0.1",
                         "http://localhost.evil.com/", "nohost"};
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(azOk); i++) {
    dbx_error_clear(&e);
    assert_int_equal(dbx_http_check_url(azOk[i], &e), SQLITE_OK);
  }
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    dbx_error_clear(&e);
    assert_int_equal(dbx_http_check_url(azBad[i], &e), SQLITE_ERROR);
  }
  dbx_error_clear(&e);
  dbx_http_check_url("http://example.com/", &e);
  assert_non_null(
      strstr(e.zMsg, "plain http is only allowed to a loopback host"));
}

static void backoff_rules(void **state) {
  DbxHttpSettings s;
  (void)state;
  dbx_http_settings_default(&s);
  /* Retry-After seconds, plus 50..750 ms jitter */
  assert_int_equal(dbx_http_backoff_ms(&s, 1, "3", 0), 3050);
  assert_int_equal(dbx_http_backoff_ms(&s, 1, "3", 700), 3750);
  assert_int_equal(dbx_http_backoff_ms(&s, 1, "3", 701), 3050);
  /* capped */
  assert_int_equal(dbx_http_backoff_ms(&s, 1, "3600", 0), 60050);
  /* an HTTP date is not parsed: 1 s */
  assert_int_equal(
      dbx_http_backoff_ms(&s, 4, "Wed, 21 Oct 2015 07:28:00 GMT", 0), 1050);
  /* no header: min(attempt, 10) s */
  assert_int_equal(dbx_http_backoff_ms(&s, 1, NULL, 0), 1050);
  assert_int_equal(dbx_http_backoff_ms(&s, 3, "", 0), 3050);
  assert_int_equal(dbx_http_backoff_ms(&s, 25, NULL, 0), 10050);
}

static void retryable_classes(void **state) {
  DbxHttpResponse r;
  (void)state;
  memset(&r, 0, sizeof(r));
  r.status = 429;
  assert_true(dbx_http_is_retryable(DBX_RETRY_API, &r));
  assert_false(dbx_http_is_retryable(DBX_RETRY_NONE, &r));
  r.status = 503;
  assert_true(dbx_http_is_retryable(DBX_RETRY_API, &r));
  r.status = 502;
  assert_false(dbx_http_is_retryable(DBX_RETRY_API, &r));
  assert_true(dbx_http_is_retryable(DBX_RETRY_TOKEN, &r));
  r.status = 504;
  assert_true(dbx_http_is_retryable(DBX_RETRY_TOKEN, &r));
  r.status = 500;
  assert_false(dbx_http_is_retryable(DBX_RETRY_TOKEN, &r));
  assert_false(dbx_http_is_retryable(DBX_RETRY_API, &r));
  dbx_buf_appendf(&r.body, "{\"message\":\"ClusterNotReadyException: wait\"}");
  assert_true(dbx_http_is_retryable(DBX_RETRY_API, &r));
  r.status = 400; /* other 4xx are never retried, whatever they say */
  assert_false(dbx_http_is_retryable(DBX_RETRY_API, &r));
  dbx_buf_free(&r.body);
  r.status = 0;
  r.eNet = DBX_NET_CONNECT;
  assert_true(dbx_http_is_retryable(DBX_RETRY_API, &r));
  r.eNet = DBX_NET_DROPPED;
  assert_true(dbx_http_is_retryable(DBX_RETRY_API, &r));
  r.eNet = DBX_NET_TLS;
  assert_false(dbx_http_is_retryable(DBX_RETRY_API, &r));
}

static void retries_429_with_retry_after(void **state) {
  Net *n = *state;
  fake_reply(&n->f, 429, "{\"error_code\":\"REQUEST_LIMIT_EXCEEDED\"}", "2");
  fake_reply(&n->f, 503, "", NULL);
  fake_reply(&n->f, 200, "{\"ok\":true}", NULL);
  assert_int_equal(send_get(n->p, DBX_RETRY_API, &n->r, &n->e), SQLITE_OK);
  assert_int_equal(n->r.status, 200);
  assert_string_equal(n->r.body.z, "{\"ok\":true}");
  assert_int_equal(n->f.nSent, 3);
  /* slept about 2 s (+jitter) then about 1 s (+jitter) */
  assert_in_range(n->f.totalSleepMs, 2000 + 1000 + 100, 2000 + 1000 + 1500);
  assert_string_equal(n->f.aSent[2].zMethod, "GET");
  assert_non_null(
      strstr(n->f.aSent[2].zHeaders, "Authorization: Bearer dapi-SECRET"));
}

static void no_retry_of_other_4xx(void **state) {
  Net *n = *state;
  fake_reply(&n->f, 404, "{\"error_code\":\"NOT_FOUND\",\"message\":\"gone\"}",
             NULL);
  fake_reply(&n->f, 200, "{}", NULL);
  assert_int_equal(send_get(n->p, DBX_RETRY_API, &n->r, &n->e), SQLITE_OK);
  assert_int_equal(n->r.status, 404);
  assert_int_equal(n->f.nSent, 1);
  assert_int_equal(n->f.nSleep, 0);
}

static void budget_ends_retries(void **state) {
  Net *n = *state;
  dbx_http_settings(n->p)->retryBudgetMs = 20000;
  fake_net_error(&n->f, DBX_NET_DROPPED);
  assert_int_equal(send_get(n->p, DBX_RETRY_API, &n->r, &n->e), SQLITE_IOERR);
  /* 1+2+3+4+5 s of backoff (+jitter) fit in 20 s, the 6th (6 s) does not */
  assert_int_equal(n->f.nSent, 6);
  assert_true(n->f.totalSleepMs <= 20000);
  assert_non_null(strstr(
      n->e.zMsg, "connection dropped to https://x.cloud.databricks.com"));
  assert_non_null(strstr(n->e.zMsg, "after 6 attempts"));
  assert_false(n->e.bUncertain);
  /* the query string and the header never appear */
  assert_null(strstr(n->e.zMsg, "SECRET"));
  assert_null(strstr(n->e.zMsg, "sig="));
}

/* A host that refuses connections is given ten seconds, whatever the
** budget; a name that does not resolve is not retried at all. */
static void connect_failures_fail_fast(void **state) {
  Net *n = *state;
  fake_net_error(&n->f, DBX_NET_CONNECT);
  assert_int_equal(send_get(n->p, DBX_RETRY_API, &n->r, &n->e), SQLITE_IOERR);
  assert_int_equal(n->f.nSent, 4); /* 1+2+3 s of backoff; 4 more pass 10 s */
  assert_true(n->f.totalSleepMs <= 10000);
  assert_non_null(
      strstr(n->e.zMsg, "could not connect to https://x.cloud.databricks.com"));
  /* the message does not end in a number the shell's "(10)" could join */
  assert_non_null(
      strstr(n->e.zMsg, "(retry_timeout_seconds bounds the retries)"));

  dbx_buf_free(&n->r.body);
  n->f.nReply = n->f.nSent = 0;
  n->f.totalSleepMs = 0;
  fake_net_error(&n->f, DBX_NET_RESOLVE);
  assert_int_equal(send_get(n->p, DBX_RETRY_API, &n->r, &n->e), SQLITE_IOERR);
  assert_int_equal(n->f.nSent, 1);
  assert_int_equal(n->f.totalSleepMs, 0);
  assert_non_null(strstr(
      n->e.zMsg,
      "the host name of https://x.cloud.databricks.com does not resolve"));
}

/* DBX_RETRY_ONCE: sent again only when it surely did not arrive or was
** turned away; a failure after it went out is marked uncertain. */
static void once_is_never_sent_twice(void **state) {
  Net *n = *state;
  DbxNetError aSent[] = {DBX_NET_DROPPED, DBX_NET_TIMEOUT, DBX_NET_OTHER};
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(aSent); i++) {
    dbx_buf_free(&n->r.body);
    n->f.nReply = n->f.nSent = 0;
    fake_net_error(&n->f, aSent[i]);
    assert_int_equal(send_get(n->p, DBX_RETRY_ONCE, &n->r, &n->e),
                     SQLITE_IOERR);
    assert_int_equal(n->f.nSent, 1);
    assert_true(n->e.bUncertain);
    assert_non_null(strstr(n->e.zMsg, "after the request was sent"));
    assert_non_null(strstr(n->e.zMsg, "so it was not sent again"));
  }
  /* refused connection, then 429, 503: none arrived or was read; retried */
  dbx_buf_free(&n->r.body);
  n->f.nReply = n->f.nSent = 0;
  fake_net_error(&n->f, DBX_NET_CONNECT);
  fake_reply(&n->f, 429, "", "0");
  fake_reply(&n->f, 503, "", "0");
  fake_reply(&n->f, 200, "{}", NULL);
  assert_int_equal(send_get(n->p, DBX_RETRY_ONCE, &n->r, &n->e), SQLITE_OK);
  assert_int_equal(n->f.nSent, 4);
  assert_false(n->e.bUncertain);
  /* a 500 with a transient message is retried for others, not once */
  dbx_buf_free(&n->r.body);
  n->f.nReply = n->f.nSent = 0;
  fake_reply(&n->f, 500, "{\"message\":\"Unexpected error\"}", NULL);
  fake_reply(&n->f, 200, "{}", NULL);
  assert_int_equal(send_get(n->p, DBX_RETRY_ONCE, &n->r, &n->e), SQLITE_OK);
  assert_int_equal(n->r.status, 500);
  assert_int_equal(n->f.nSent, 1);
}

/* A missing privilege gets the GRANT that cures it; names are quoted. */
static void permission_hints(void **state) {
  DbxError e;
  size_t i;
  (void)state;
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_AUTH,
                "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User "
                "does not have USE SCHEMA on Schema 'main.we`ird'.");
  dbx_http_hint_permission(&e);
  assert_non_null(strstr(e.zMsg, "GRANT USE SCHEMA ON SCHEMA `main`.`we``ird` "
                                 "TO `<user, group or application id>`"));
  /* "or any privilege" and a view */
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_AUTH,
                "User does not have SELECT or any privilege on View 'a.b.v'.");
  dbx_http_hint_permission(&e);
  assert_non_null(strstr(e.zMsg, "GRANT SELECT ON TABLE `a`.`b`.`v`"));
  /* not a privilege message, or not one read to the end: unchanged */
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_ERROR, "User does not have a clue on Table 'x'");
  dbx_http_hint_permission(&e);
  assert_string_equal(e.zMsg, "User does not have a clue on Table 'x'");
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_ERROR,
                "does not have SELECT on Table 'unterminated");
  dbx_http_hint_permission(&e);
  assert_null(strstr(e.zMsg, "GRANT"));
  /* a long message gives way to the hint, which stays whole */
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_AUTH, "User does not have SELECT on Table 'a.b.c'.");
  for (i = strlen(e.zMsg); i + 1 < sizeof(e.zMsg); i++)
    e.zMsg[i] = 'x';
  e.zMsg[sizeof(e.zMsg) - 1] = 0;
  dbx_http_hint_permission(&e);
  assert_non_null(strstr(e.zMsg, "TO `<user, group or application id>`"));
  assert_true(strlen(e.zMsg) < sizeof(e.zMsg));
}

static void token_budget_is_one_minute(void **state) {
  Net *n = *state;
  fake_reply(&n->f, 502, "bad gateway", NULL);
  assert_int_equal(send_get(n->p, DBX_RETRY_TOKEN, &n->r, &n->e), SQLITE_OK);
  assert_int_equal(n->r.status, 502);
  assert_true(n->f.totalSleepMs <= 60000);
  assert_true(n->f.nSent >= 8);
}

static int nInterruptCalls;
static int interrupt_after_two(void *pArg) {
  (void)pArg;
  return ++nInterruptCalls > 2;
}

static void interrupt_stops_waiting(void **state) {
  Net *n = *state;
  fake_reply(&n->f, 503, "", "30");
  nInterruptCalls = 0;
  dbx_http_set_interrupt(n->p, interrupt_after_two, NULL);
  assert_int_equal(send_get(n->p, DBX_RETRY_API, &n->r, &n->e),
                   SQLITE_INTERRUPT);
  assert_int_equal(n->f.nSent, 1);
  assert_true(n->f.totalSleepMs < 1000); /* did not sleep the 30 s */
}

static void refuses_plain_http_before_sending(void **state) {
  Fake f;
  DbxHttpTransport t;
  DbxHttpResponse r;
  DbxHttpRequest req;
  DbxError e;
  DbxHttp *p = open_fake(&f, &t);
  (void)state;
  memset(&req, 0, sizeof(req));
  memset(&r, 0, sizeof(r));
  req.zMethod = "GET";
  req.zUrl = "http://dbc-1.cloud.databricks.com/api";
  dbx_error_clear(&e);
  assert_int_equal(dbx_http_send(p, &req, DBX_RETRY_API, "GET /api", &r, &e),
                   SQLITE_ERROR);
  assert_int_equal(f.nSent, 0);
  dbx_http_free(p);
}

/* Parses a body and checks code and message. */
static void check_error(long status, const char *zBody, int rcWant,
                        const char *zCode, const char *zMsg) {
  DbxError e;
  dbx_error_clear(&e);
  assert_int_equal(dbx_http_error_from_response(
                       status, zBody, zBody ? strlen(zBody) : 0, "GET /x", &e),
                   rcWant);
  assert_int_equal(e.httpStatus, status);
  assert_string_equal(e.zCode, zCode);
  assert_string_equal(e.zMsg, zMsg);
}

static void error_bodies(void **state) {
  (void)state;
  check_error(404,
              "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":"
              "\"Table x not found\",\"details\":[]}",
              SQLITE_ERROR, "RESOURCE_DOES_NOT_EXIST",
              "GET /x: HTTP 404: Table x not found");
  check_error(400, "{\"error_code\":1234,\"message\":\"numeric\"}",
              SQLITE_ERROR, "1234", "GET /x: HTTP 400: numeric");
  check_error(500, "{\"error\":\"API 1.2 message\"}", SQLITE_ERROR, "",
              "GET /x: HTTP 500: API 1.2 message");
  check_error(401,
              "{\"error\":\"invalid_client\",\"error_description\":"
              "\"Client authentication failed\"}",
              SQLITE_AUTH, "invalid_client",
              "GET /x: HTTP 401: Client authentication failed");
  check_error(404,
              "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],"
              "\"detail\":\"User not found\",\"status\":\"404\","
              "\"scimType\":\"invalidValue\"}",
              SQLITE_ERROR, "SCIM_404",
              "GET /x: HTTP 404: invalidValue User not found");
  check_error(400, "INVALID_PARAMETER_VALUE: bad warehouse\n", SQLITE_ERROR,
              "INVALID_PARAMETER_VALUE", "GET /x: HTTP 400: bad warehouse");
  check_error(502,
              "<html><head><title>Bad Gateway</title></head><body><pre>"
              "upstream\n  failed</pre></body></html>",
              SQLITE_ERROR, "BAD_GATEWAY", "GET /x: HTTP 502: upstream failed");
  check_error(403, "<html><head><title>Forbidden</title></head></html>",
              SQLITE_AUTH, "FORBIDDEN", "GET /x: HTTP 403: Forbidden");
  check_error(503, NULL, SQLITE_ERROR, "",
              "GET /x: HTTP 503: Service Unavailable");
  check_error(500, "something odd", SQLITE_ERROR, "UNKNOWN",
              "GET /x: HTTP 500: something odd");
}

static void redacts_urls(void **state) {
  char z[256];
  (void)state;
  assert_string_equal(
      dbx_http_redact_url(
          "https://user:pw@bucket.s3.amazonaws.com/a/b?X-Amz-Signature=1#f", z,
          sizeof(z)),
      "https://bucket.s3.amazonaws.com/a/b");
  assert_string_equal(dbx_http_redact_url("http://127.0.0.1:5/x", z, sizeof(z)),
                      "http://127.0.0.1:5/x");
  /* a link is named by its host alone: its path may be signed too */
  assert_string_equal(
      dbx_http_redact_host(
          "https://user:pw@acct.blob.core.windows.net/c/f.json?sig=1", z,
          sizeof(z)),
      "https://acct.blob.core.windows.net");
  assert_string_equal(dbx_http_redact_host("http://127.0.0.1:5", z, sizeof(z)),
                      "http://127.0.0.1:5");
}

/* ---------------------------------------------------------------------
** Streamed bodies.
*/

/* A request body read from memory through the streaming callbacks. */
typedef struct Src {
  const char *z;   /* the bytes */
  size_t n;        /* how many */
  size_t iOff;     /* next byte to read */
  int nRewind;     /* xRewind calls */
  int nRead;       /* xRead calls */
  int iFailRead;   /* xRead call number (1-based) that fails, or 0 */
  int bFailRewind; /* xRewind fails */
  int bOverClaim;  /* xRead says it read one byte more than asked */
} Src;

static int src_read(void *pArg, void *pBuf, size_t nBuf, size_t *pnRead) {
  Src *s = pArg;
  size_t n = s->n - s->iOff < nBuf ? s->n - s->iOff : nBuf;
  if (++s->nRead == s->iFailRead) return SQLITE_IOERR_READ;
  memcpy(pBuf, s->z + s->iOff, n);
  s->iOff += n;
  *pnRead = s->bOverClaim ? nBuf + 1 : n;
  return SQLITE_OK;
}

static int src_rewind(void *pArg) {
  Src *s = pArg;
  s->nRewind++;
  if (s->bFailRewind) return SQLITE_IOERR_SEEK;
  s->iOff = 0;
  return SQLITE_OK;
}

/* A reply sink that keeps what it gets, and can refuse the nth piece. */
typedef struct Sink {
  DbxBuf got;  /* the bytes received */
  int nWrite;  /* xWrite calls */
  int iRefuse; /* xWrite call number (1-based) refused, or 0 */
} Sink;

static int sink_write(void *pArg, const void *pData, size_t nData) {
  Sink *k = pArg;
  if (++k->nWrite == k->iRefuse) return SQLITE_FULL;
  dbx_buf_append(&k->got, pData, nData);
  return k->got.rc;
}

/* A 40-byte body with a NUL in it. */
static const char zPayload[] = "PAR1\0row one;row two;row three;tail-end!";
#define PAYLOAD_N (sizeof(zPayload) - 1)

/* Sends PUT with the streamed body of s (nLength bytes announced) and the
** sink k (may be NULL). */
static int send_stream(Net *n, Src *s, int64_t nLength, Sink *k) {
  DbxHttpRequest req;
  DbxHttpBody body;
  DbxHttpSink sink;
  const char *azH[] = {"Authorization: Bearer dapi-SECRET"};
  memset(&req, 0, sizeof(req));
  req.zMethod = "PUT";
  req.zUrl = "https://x.cloud.databricks.com/api/2.0/fs/files/Volumes/a/b/c/f";
  req.azHeader = azH;
  req.nHeader = 1;
  if (s) {
    body.xRead = src_read;
    body.xRewind = src_rewind;
    body.nLength = nLength;
    body.pArg = s;
    req.pStream = &body;
  }
  dbx_buf_free(&n->r.body);
  memset(&n->r, 0, sizeof(n->r));
  if (k) {
    sink.xWrite = sink_write;
    sink.pArg = k;
    n->r.pSink = &sink;
  }
  dbx_error_clear(&n->e);
  return dbx_http_send(n->p, &req, DBX_RETRY_API,
                       "PUT /api/2.0/fs/files/Volumes/a/b/c/f", &n->r, &n->e);
}

/* The body goes out in several reads; a 503 sends it again from its first
** byte, after a rewind. */
static void streamed_body_is_rewound_on_retry(void **state) {
  Net *n = *state;
  Src s = {.z = zPayload, .n = PAYLOAD_N};
  int i;
  fake_reply(&n->f, 503, "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\"}", "0");
  fake_reply(&n->f, 204, NULL, NULL);
  assert_int_equal(send_stream(n, &s, PAYLOAD_N, NULL), SQLITE_OK);
  assert_int_equal(n->r.status, 204);
  assert_int_equal(n->f.nSent, 2);
  assert_int_equal(s.nRewind, 2); /* before each attempt */
  for (i = 0; i < 2; i++) {
    assert_string_equal(n->f.aSent[i].zMethod, "PUT");
    assert_int_equal(n->f.aSent[i].nBody, PAYLOAD_N);
    assert_memory_equal(n->f.aSent[i].zBody, zPayload, PAYLOAD_N);
    /* 40 bytes asked 7 at a time: 6 reads and the one that ends it */
    assert_int_equal(n->f.aSent[i].nRead, 7);
  }
  /* the source never read past the announced length */
  assert_int_equal(s.iOff, PAYLOAD_N);

  /* an empty body: no read of the source at all, still sent */
  s.nRead = s.nRewind = 0;
  n->f.nReply = n->f.nSent = 0;
  fake_reply(&n->f, 204, NULL, NULL);
  assert_int_equal(send_stream(n, &s, 0, NULL), SQLITE_OK);
  assert_int_equal(n->f.nSent, 1);
  assert_int_equal(n->f.aSent[0].nBody, 0);
  assert_int_equal(s.nRead, 0);
}

/* A read that fails ends the call with its code, naming the call; it is
** not retried. A body shorter than announced and a failed rewind too. */
static void streamed_body_failures(void **state) {
  Net *n = *state;
  Src s = {.z = zPayload, .n = PAYLOAD_N, .iFailRead = 2};
  fake_reply(&n->f, 200, "{}", NULL);
  assert_int_equal(send_stream(n, &s, PAYLOAD_N, NULL), SQLITE_IOERR_READ);
  assert_int_equal(n->f.nSent, 1);
  assert_int_equal(n->f.nSleep, 0);
  assert_string_equal(n->e.zMsg,
                      "PUT /api/2.0/fs/files/Volumes/a/b/c/f: reading the "
                      "request body failed after 7 of 40 bytes (disk I/O "
                      "error)");

  /* the source ends at 40 bytes of the 41 announced */
  memset(&s, 0, sizeof(s));
  s.z = zPayload;
  s.n = PAYLOAD_N;
  n->f.nReply = n->f.nSent = 0;
  fake_reply(&n->f, 200, "{}", NULL);
  assert_int_equal(send_stream(n, &s, PAYLOAD_N + 1, NULL), SQLITE_IOERR);
  assert_int_equal(n->f.nSent, 1);
  assert_non_null(strstr(n->e.zMsg, "PUT /api/2.0/fs/files/Volumes/a/b/c/f: "
                                    "the request body ended after 40 of the "
                                    "41 bytes announced"));

  /* a source that claims more bytes than it was asked for */
  memset(&s, 0, sizeof(s));
  s.z = zPayload;
  s.n = PAYLOAD_N;
  s.bOverClaim = 1;
  n->f.nReply = n->f.nSent = 0;
  fake_reply(&n->f, 200, "{}", NULL);
  assert_int_equal(send_stream(n, &s, PAYLOAD_N, NULL), SQLITE_MISUSE);
  assert_int_equal(n->f.nSent, 1);
  assert_non_null(strstr(n->e.zMsg, "reading the request body failed after "
                                    "0 of 40 bytes"));

  /* a rewind that fails: nothing is sent */
  memset(&s, 0, sizeof(s));
  s.z = zPayload;
  s.n = PAYLOAD_N;
  s.bFailRewind = 1;
  n->f.nReply = n->f.nSent = 0;
  fake_reply(&n->f, 200, "{}", NULL);
  assert_int_equal(send_stream(n, &s, PAYLOAD_N, NULL), SQLITE_IOERR_SEEK);
  assert_int_equal(n->f.nSent, 0);
  assert_non_null(strstr(n->e.zMsg, "could not be rewound"));
  /* no header value or query in any of them */
  assert_null(strstr(n->e.zMsg, "SECRET"));
}

/* A large 2xx body reaches the sink in pieces and never memory; the error
** body of a 503 before it stays in memory and out of the sink. */
static void sink_receives_a_large_body_in_pieces(void **state) {
  Net *n = *state;
  static char zBig[25001];
  Sink k;
  size_t i;
  for (i = 0; i < sizeof(zBig) - 1; i++)
    zBig[i] = (char)('a' + (i * 7 + i / 13) % 26);
  zBig[sizeof(zBig) - 1] = 0;
  memset(&k, 0, sizeof(k));
  fake_reply(&n->f, 503, "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\"}", "0");
  fake_reply(&n->f, 200, zBig, NULL);
  assert_int_equal(send_stream(n, NULL, 0, &k), SQLITE_OK);
  assert_int_equal(n->f.nSent, 2);
  assert_int_equal(k.nWrite, 25); /* 1000-byte pieces */
  assert_int_equal(k.got.n, sizeof(zBig) - 1);
  assert_memory_equal(k.got.z, zBig, sizeof(zBig) - 1);
  assert_int_equal(n->r.nSunk, (int64_t)sizeof(zBig) - 1);
  assert_int_equal(n->r.body.n, 0);
  dbx_buf_free(&k.got);

  /* a memory cap bounds what is kept, not what is streamed */
  memset(&k, 0, sizeof(k));
  n->f.nReply = n->f.nSent = 0;
  fake_reply(&n->f, 200, zBig, NULL);
  dbx_error_clear(&n->e);
  {
    DbxHttpRequest req;
    DbxHttpSink sink = {sink_write, &k};
    memset(&req, 0, sizeof(req));
    req.zMethod = "GET";
    req.zUrl = "https://x.cloud.databricks.com/api/2.0/fs/files/x";
    dbx_buf_free(&n->r.body);
    memset(&n->r, 0, sizeof(n->r));
    n->r.pSink = &sink;
    n->r.nMaxBody = 100;
    assert_int_equal(
        dbx_http_send(n->p, &req, DBX_RETRY_API, "GET x", &n->r, &n->e),
        SQLITE_OK);
  }
  assert_int_equal(k.got.n, sizeof(zBig) - 1);
  dbx_buf_free(&k.got);
}

/* A sink that refuses stops the call with its code; nothing is sent again.
** A connection that drops after bytes reached the sink is not retried. */
static void sink_refusal_and_drop_end_the_call(void **state) {
  Net *n = *state;
  static char zBig[5001];
  Sink k;
  memset(zBig, 'x', sizeof(zBig) - 1);
  memset(&k, 0, sizeof(k));
  k.iRefuse = 3;
  fake_reply(&n->f, 200, zBig, NULL);
  assert_int_equal(send_stream(n, NULL, 0, &k), SQLITE_FULL);
  assert_int_equal(n->f.nSent, 1);
  assert_int_equal(k.nWrite, 3);
  assert_int_equal(k.got.n, 2000);
  assert_string_equal(n->e.zMsg,
                      "PUT /api/2.0/fs/files/Volumes/a/b/c/f: the receiver of "
                      "the reply stopped it after 2000 bytes (database or "
                      "disk is full)");
  dbx_buf_free(&k.got);

  memset(&k, 0, sizeof(k));
  n->f.nReply = n->f.nSent = 0;
  fake_reply_dropped(&n->f, 200, zBig);
  fake_reply(&n->f, 200, zBig, NULL);
  assert_int_equal(send_stream(n, NULL, 0, &k), SQLITE_IOERR);
  assert_int_equal(n->f.nSent, 1);
  assert_int_equal(k.got.n, 5000);
  assert_non_null(strstr(n->e.zMsg, "connection dropped from "
                                    "https://x.cloud.databricks.com after "
                                    "5000 bytes of the reply were handed on"));
  dbx_buf_free(&k.got);

  /* the same drop before any byte reached the sink is retried */
  memset(&k, 0, sizeof(k));
  n->f.nReply = n->f.nSent = 0;
  fake_reply_dropped(&n->f, 503, "{}");
  fake_reply(&n->f, 200, "ok", NULL);
  assert_int_equal(send_stream(n, NULL, 0, &k), SQLITE_OK);
  assert_int_equal(n->f.nSent, 2);
  assert_int_equal(k.got.n, 2);
  dbx_buf_free(&k.got);
}

static char *no_follow_up(const char *zUrl, long status, const char *zBody,
                          size_t nBody) {
  (void)zUrl;
  (void)status;
  (void)zBody;
  (void)nBody;
  return NULL;
}

/* Streaming cannot go with a request an interrupt may leave running, nor
** with a method that sends no body; nothing is sent. */
static void streaming_misuse_is_refused(void **state) {
  Net *n = *state;
  Src s = {.z = zPayload, .n = PAYLOAD_N};
  DbxHttpBody body = {src_read, src_rewind, PAYLOAD_N, &s};
  Sink k;
  DbxHttpSink sink = {sink_write, &k};
  DbxHttpRequest req;
  memset(&k, 0, sizeof(k));
  memset(&req, 0, sizeof(req));
  req.zMethod = "POST";
  req.zUrl = "https://x.cloud.databricks.com/api/2.0/sql/statements";
  req.pStream = &body;
  req.xOrphan = no_follow_up;
  fake_reply(&n->f, 200, "{}", NULL);
  assert_int_equal(
      dbx_http_send(n->p, &req, DBX_RETRY_ONCE, "POST x", &n->r, &n->e),
      SQLITE_MISUSE);
  assert_non_null(strstr(n->e.zMsg, "POST x: a streamed body cannot go"));
  req.pStream = NULL;
  n->r.pSink = &sink;
  dbx_error_clear(&n->e);
  assert_int_equal(
      dbx_http_send(n->p, &req, DBX_RETRY_ONCE, "POST x", &n->r, &n->e),
      SQLITE_MISUSE);
  n->r.pSink = NULL;
  req.xOrphan = NULL;
  req.zMethod = "GET";
  req.pStream = &body;
  dbx_error_clear(&n->e);
  assert_int_equal(
      dbx_http_send(n->p, &req, DBX_RETRY_API, "GET x", &n->r, &n->e),
      SQLITE_MISUSE);
  body.nLength = -1;
  req.zMethod = "PUT";
  dbx_error_clear(&n->e);
  assert_int_equal(
      dbx_http_send(n->p, &req, DBX_RETRY_API, "PUT x", &n->r, &n->e),
      SQLITE_MISUSE);
  assert_int_equal(n->f.nSent, 0);
  assert_int_equal(s.nRead + s.nRewind, 0);
}

/* ---------------------------------------------------------------------
** The same streams through libcurl, against a small HTTP server on a
** thread of this process (127.0.0.1, one request per connection).
*/

#define LOCAL_MAX 4

/* One scripted reply of the local server, and what it received. */
typedef struct LocalTurn {
  const char *zHead;  /* status line and headers, without the blank line */
  const char *zBody;  /* reply body (nBody bytes) */
  size_t nBody;       /* its length */
  char zRequest[512]; /* request line and headers received (start) */
  DbxBuf body;        /* request body received */
} LocalTurn;

typedef struct Local {
  int fd;                     /* listening socket */
  int port;                   /* its port */
  LocalTurn aTurn[LOCAL_MAX]; /* replies, in order */
  int nTurn;                  /* how many */
  int nServed;                /* connections served */
  pthread_t tid;              /* the server thread */
} Local;

/* Reads one request: headers, then Content-Length bytes (none without
** one), or up to EOF when the client gives up first. */
static void local_read_request(int fd, LocalTurn *t) {
  char a[65536];
  DbxBuf in = {0};
  size_t nHead = 0;
  long long nWant = -1;
  ssize_t k;
  for (;;) {
    if (nHead == 0 && in.z) {
      char *zEnd = strstr(in.z, "\r\n\r\n");
      if (zEnd) {
        const char *zLen = strcasestr(in.z, "\r\nContent-Length:");
        nHead = (size_t)(zEnd - in.z) + 4;
        nWant = zLen && zLen < zEnd ? atoll(zLen + 17) : 0;
        snprintf(t->zRequest, sizeof(t->zRequest), "%.*s", (int)nHead, in.z);
      }
    }
    if (nHead && nWant >= 0 && (long long)(in.n - nHead) >= nWant) break;
    k = recv(fd, a, sizeof(a), 0);
    if (k <= 0) break;
    dbx_buf_append(&in, a, (size_t)k);
  }
  if (nHead && in.n > nHead)
    dbx_buf_append(&t->body, in.z + nHead, in.n - nHead);
  dbx_buf_free(&in);
}

static void *local_main(void *pArg) {
  Local *l = pArg;
  int i;
  for (i = 0; i < l->nTurn; i++) {
    LocalTurn *t = &l->aTurn[i];
    char zHead[512];
    size_t nOff = 0;
    int c = accept(l->fd, NULL, NULL);
    if (c < 0) break;
    local_read_request(c, t);
    snprintf(zHead, sizeof(zHead),
             "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", t->zHead,
             t->nBody);
    if (send(c, zHead, strlen(zHead), MSG_NOSIGNAL) > 0) {
      while (nOff < t->nBody) {
        ssize_t k = send(c, t->zBody + nOff, t->nBody - nOff, MSG_NOSIGNAL);
        if (k <= 0) break;
        nOff += (size_t)k;
      }
    }
    close(c);
    l->nServed++;
  }
  return NULL;
}

/* Starts the server for the turns already scripted in l. */
static void local_start(Local *l) {
  struct sockaddr_in sa;
  socklen_t n = sizeof(sa);
  struct timeval tv = {20, 0}; /* a test that never connects ends anyway */
  l->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(l->fd >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(l->fd, 4), 0);
  setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  assert_int_equal(getsockname(l->fd, (struct sockaddr *)&sa, &n), 0);
  l->port = ntohs(sa.sin_port);
  assert_int_equal(pthread_create(&l->tid, NULL, local_main, l), 0);
}

/* Waits for the server to serve every turn and closes it. */
static void local_stop(Local *l) {
  pthread_join(l->tid, NULL);
  close(l->fd);
}

/* Frees what the server received. */
static void local_free(Local *l) {
  int i;
  for (i = 0; i < l->nTurn; i++)
    dbx_buf_free(&l->aTurn[i].body);
}

static void local_turn(Local *l, const char *zHead, const char *zBody,
                       size_t nBody) {
  LocalTurn *t = &l->aTurn[l->nTurn++];
  memset(t, 0, sizeof(*t));
  t->zHead = zHead;
  t->zBody = zBody;
  t->nBody = nBody;
}

/* A streamed upload of 300000 bytes is rewound and sent again after a 503,
** in full both times, and its reply goes to a sink; through libcurl. */
static void curl_streams_both_ways(void **state) {
  static char zUp[300000], zDown[1000000];
  Local l;
  DbxHttp *p = NULL;
  DbxHttpRequest req;
  DbxHttpResponse r;
  DbxError e;
  Src s;
  DbxHttpBody body = {src_read, src_rewind, sizeof(zUp), &s};
  Sink k;
  DbxHttpSink sink = {sink_write, &k};
  char zUrl[100];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(zUp); i++)
    zUp[i] = (char)(i * 31 + i / 251);
  for (i = 0; i < sizeof(zDown); i++)
    zDown[i] = (char)(i * 17 + i / 509);
  memset(&l, 0, sizeof(l));
  memset(&s, 0, sizeof(s));
  memset(&k, 0, sizeof(k));
  s.z = zUp;
  s.n = sizeof(zUp);
  local_turn(&l, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0", "{}", 2);
  local_turn(&l, "HTTP/1.1 200 OK", zDown, sizeof(zDown));
  local_start(&l);
  dbx_error_clear(&e);
  assert_int_equal(dbx_http_new(NULL, NULL, &p, &e), SQLITE_OK);
  snprintf(zUrl, sizeof(zUrl), "http://127.0.0.1:%d/api/2.0/fs/files/x",
           l.port);
  memset(&req, 0, sizeof(req));
  req.zMethod = "PUT";
  req.zUrl = zUrl;
  req.pStream = &body;
  memset(&r, 0, sizeof(r));
  r.pSink = &sink;
  r.nMaxBody = 1000; /* bounds an error reply, not the sink */
  assert_int_equal(dbx_http_send(p, &req, DBX_RETRY_API, "PUT x", &r, &e),
                   SQLITE_OK);
  local_stop(&l);
  assert_int_equal(r.status, 200);
  assert_int_equal(l.nServed, 2);
  for (i = 0; i < 2; i++) {
    assert_non_null(strstr(l.aTurn[i].zRequest, "PUT /api/2.0/fs/files/x "));
    assert_non_null(
        strstr(l.aTurn[i].zRequest, "\r\nContent-Length: 300000\r\n"));
    assert_int_equal(l.aTurn[i].body.n, sizeof(zUp));
    assert_memory_equal(l.aTurn[i].body.z, zUp, sizeof(zUp));
  }
  assert_true(s.nRewind >= 2);
  assert_true(s.nRead > 2);
  assert_int_equal(k.got.n, sizeof(zDown));
  assert_memory_equal(k.got.z, zDown, sizeof(zDown));
  assert_true(k.nWrite > 1);
  assert_int_equal(r.body.n, 0);
  dbx_buf_free(&k.got);
  dbx_buf_free(&r.body);
  dbx_http_free(p);
  local_free(&l);
}

/* Through libcurl too: a failing read and a refusing sink end the call
** with their own code and message, each after one request. */
static void curl_stream_failures(void **state) {
  static char zUp[100000], zDown[200000];
  Local l;
  DbxHttp *p = NULL;
  DbxHttpRequest req;
  DbxHttpResponse r;
  DbxError e;
  Src s;
  DbxHttpBody body = {src_read, src_rewind, sizeof(zUp), &s};
  Sink k;
  DbxHttpSink sink = {sink_write, &k};
  char zUrl[100];
  (void)state;
  memset(zUp, 'u', sizeof(zUp));
  memset(zDown, 'd', sizeof(zDown));
  memset(&l, 0, sizeof(l));
  memset(&s, 0, sizeof(s));
  memset(&k, 0, sizeof(k));
  s.z = zUp;
  s.n = sizeof(zUp);
  s.iFailRead = 2;
  k.iRefuse = 2;
  local_turn(&l, "HTTP/1.1 200 OK", "{}", 2);
  local_turn(&l, "HTTP/1.1 200 OK", zDown, sizeof(zDown));
  local_start(&l);
  dbx_error_clear(&e);
  assert_int_equal(dbx_http_new(NULL, NULL, &p, &e), SQLITE_OK);
  snprintf(zUrl, sizeof(zUrl), "http://127.0.0.1:%d/api/2.0/fs/files/y",
           l.port);
  memset(&req, 0, sizeof(req));
  req.zMethod = "PUT";
  req.zUrl = zUrl;
  req.pStream = &body;
  memset(&r, 0, sizeof(r));
  assert_int_equal(dbx_http_send(p, &req, DBX_RETRY_API, "PUT y", &r, &e),
                   SQLITE_IOERR_READ);
  assert_non_null(strstr(e.zMsg, "PUT y: reading the request body failed"));
  dbx_buf_free(&r.body);

  req.zMethod = "GET";
  req.pStream = NULL;
  memset(&r, 0, sizeof(r));
  r.pSink = &sink;
  dbx_error_clear(&e);
  assert_int_equal(dbx_http_send(p, &req, DBX_RETRY_API, "GET y", &r, &e),
                   SQLITE_FULL);
  assert_non_null(
      strstr(e.zMsg, "GET y: the receiver of the reply stopped it after"));
  assert_int_equal(k.nWrite, 2);
  dbx_buf_free(&r.body);
  dbx_buf_free(&k.got);
  dbx_http_free(p);
  local_stop(&l);
  assert_int_equal(l.nServed, 2);
  local_free(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(loopback_policy),
      cmocka_unit_test(backoff_rules),
      cmocka_unit_test(retryable_classes),
      cmocka_unit_test_setup_teardown(retries_429_with_retry_after, net_setup,
                                      net_teardown),
      cmocka_unit_test_setup_teardown(no_retry_of_other_4xx, net_setup,
                                      net_teardown),
      cmocka_unit_test_setup_teardown(budget_ends_retries, net_setup,
                                      net_teardown),
      cmocka_unit_test_setup_teardown(connect_failures_fail_fast, net_setup,
                                      net_teardown),
      cmocka_unit_test_setup_teardown(once_is_never_sent_twice, net_setup,
                                      net_teardown),
      cmocka_unit_test(permission_hints),
      cmocka_unit_test_setup_teardown(token_budget_is_one_minute, net_setup,
                                      net_teardown),
      cmocka_unit_test_setup_teardown(interrupt_stops_waiting, net_setup,
                                      net_teardown),
      cmocka_unit_test(refuses_plain_http_before_sending),
      cmocka_unit_test(error_bodies),
      cmocka_unit_test(redacts_urls),
      cmocka_unit_test_setup_teardown(streamed_body_is_rewound_on_retry,
                                      net_setup, net_teardown),
      cmocka_unit_test_setup_teardown(streamed_body_failures, net_setup,
                                      net_teardown),
      cmocka_unit_test_setup_teardown(sink_receives_a_large_body_in_pieces,
                                      net_setup, net_teardown),
      cmocka_unit_test_setup_teardown(sink_refusal_and_drop_end_the_call,
                                      net_setup, net_teardown),
      cmocka_unit_test_setup_teardown(streaming_misuse_is_refused, net_setup,
                                      net_teardown),
      cmocka_unit_test(curl_streams_both_ways),
      cmocka_unit_test(curl_stream_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
