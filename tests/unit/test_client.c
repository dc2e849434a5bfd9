/*
** Unit tests of the workspace client (client.c) on the fake transport:
** streamed calls (dbx_client_call_stream) carry the workspace headers, send
** their body again from the start on a retry, hand a 2xx reply to the sink
** and turn an error reply into an error without touching the sink; the
** client's clock, sleep and jitter are the transport's.
*/
#include "unit.h"

#include "client.h"
#include "config.h"
#include "fake_transport.h"

static char zDir[256];
static Fake f;
static DbxHttpTransport tr;
static DbxClient *pClient;

static int setup(void **state) {
  DbxConfig *p;
  DbxError e;
  (void)state;
  snprintf(zDir, sizeof(zDir), "/tmp/dbx-unit-client-XXXXXX");
  unit_isolate(zDir);
  setenv("DATABRICKS_TOKEN", "dapi-SECRET", 1);
  tr = fake_transport(&f);
  dbx_client_test_transport(&tr);
  dbx_error_clear(&e);
  assert_int_equal(dbx_config_new(&p), SQLITE_OK);
  assert_int_equal(
      dbx_config_set(p, "host", "https://h.example.com", DBX_SRC_OPTION, &e),
      SQLITE_OK);
  assert_int_equal(dbx_config_resolve(p, &e), SQLITE_OK);
  assert_int_equal(dbx_client_open(p, &pClient, &e), SQLITE_OK);
  dbx_config_free(p);
  return 0;
}

static int teardown(void **state) {
  char z[300];
  (void)state;
  dbx_client_free(pClient);
  dbx_client_test_transport(NULL);
  unsetenv("DATABRICKS_TOKEN");
  snprintf(z, sizeof(z), "rm -rf '%s'", zDir);
  assert_int_equal(system(z), 0);
  return 0;
}

/* A body in memory, read through the streaming callbacks. */
typedef struct Src {
  const char *z; /* the bytes */
  size_t n;      /* how many */
  size_t iOff;   /* next byte */
  int nRewind;   /* xRewind calls */
} Src;

static int src_read(void *pArg, void *pBuf, size_t nBuf, size_t *pnRead) {
  Src *s = pArg;
  size_t n = s->n - s->iOff < nBuf ? s->n - s->iOff : nBuf;
  memcpy(pBuf, s->z + s->iOff, n);
  s->iOff += n;
  *pnRead = n;
  return SQLITE_OK;
}

static int src_rewind(void *pArg) {
  Src *s = pArg;
  s->nRewind++;
  s->iOff = 0;
  return SQLITE_OK;
}

static int sink_write(void *pArg, const void *pData, size_t nData) {
  DbxBuf *pGot = pArg;
  dbx_buf_append(pGot, pData, nData);
  return pGot->rc;
}

#define FILES "/api/2.0/fs/files/Volumes/main/default/stage/b1.parquet"

static void upload_is_streamed_with_the_workspace_headers(void **state) {
  static const char zFile[] = "PAR1\0\1\2 a parquet file, more or less PAR1";
  const char *azH[] = {"Content-Type: application/octet-stream"};
  Src s = {zFile, sizeof(zFile) - 1, 0, 0};
  DbxHttpBody body = {src_read, src_rewind, (int64_t)sizeof(zFile) - 1, &s};
  DbxError e;
  long status = 0;
  (void)state;
  dbx_error_clear(&e);
  fake_reply(&f, 503, "", "1");
  fake_reply(&f, 204, NULL, NULL);
  assert_int_equal(dbx_client_call_stream(pClient, "PUT",
                                          FILES "?overwrite=true", azH, 1,
                                          &body, NULL, &status, &e),
                   SQLITE_OK);
  assert_int_equal(status, 204);
  assert_int_equal(f.nSent, 2);
  assert_int_equal(s.nRewind, 2);
  assert_string_equal(f.aSent[1].zMethod, "PUT");
  assert_string_equal(f.aSent[1].zUrl,
                      "https://h.example.com" FILES "?overwrite=true");
  assert_string_equal(f.aSent[1].zHeaders,
                      "User-Agent: sqlite-databricks/" DBX_VERSION
                      " os/linux auth/pat\n"
                      "Authorization: Bearer dapi-SECRET\n"
                      "Content-Type: application/octet-stream\n");
  assert_int_equal(f.aSent[1].nBody, sizeof(zFile) - 1);
  assert_memory_equal(f.aSent[1].zBody, zFile, sizeof(zFile) - 1);
  /* the 503 waited on the client's clock */
  assert_true(f.totalSleepMs >= 1000);
}

static void download_goes_to_the_sink_and_errors_do_not(void **state) {
  DbxBuf got = {0};
  DbxHttpSink sink = {sink_write, &got};
  DbxError e;
  long status = 7;
  (void)state;
  dbx_error_clear(&e);
  fake_reply(&f, 404,
             "{\"error_code\":\"NOT_FOUND\",\"message\":\"The file being "
             "accessed is not found.\"}",
             NULL);
  assert_int_equal(dbx_client_call_stream(pClient, "GET", FILES, NULL, 0, NULL,
                                          &sink, &status, &e),
                   SQLITE_ERROR);
  assert_int_equal(status, 0);
  assert_int_equal(got.n, 0);
  assert_int_equal(e.httpStatus, 404);
  assert_string_equal(e.zCode, "NOT_FOUND");
  assert_non_null(strstr(e.zMsg, "GET " FILES ": HTTP 404: The file being"));

  f.nReply = f.nSent = 0;
  fake_reply(&f, 200, "0123456789", NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_client_call_stream(pClient, "GET", FILES, NULL, 0, NULL,
                                          &sink, &status, &e),
                   SQLITE_OK);
  assert_int_equal(status, 200);
  assert_int_equal(got.n, 10);
  assert_memory_equal(got.z, "0123456789", 10);
  dbx_buf_free(&got);
}

/* Polling above the client runs on the transport's clock. */
static void clock_sleep_and_jitter_are_the_transports(void **state) {
  int64_t t0;
  unsigned a, b;
  (void)state;
  t0 = dbx_client_now_ms(pClient);
  assert_int_equal(t0, f.nowMs);
  dbx_client_sleep_ms(pClient, 1234);
  assert_int_equal(dbx_client_now_ms(pClient), t0 + 1234);
  assert_int_equal(f.nSleep, 1);
  assert_int_equal(f.aSleep[0], 1234);
  a = dbx_client_rand(pClient);
  b = dbx_client_rand(pClient);
  assert_true(a != b);
  assert_int_equal(f.nSent, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          upload_is_streamed_with_the_workspace_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(
          download_goes_to_the_sink_and_errors_do_not, setup, teardown),
      cmocka_unit_test_setup_teardown(clock_sleep_and_jitter_are_the_transports,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
