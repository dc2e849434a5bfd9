/*
** Unit tests of auth.c's process-wide token cache under threads: several
** connections of one identity, each with its own client on its own thread,
** share one token fetch and one refresh, and clients opened and freed while
** others call never see a torn or freed token. The fake transport here is
** thread-safe (fake_transport.h is not) and holds every token request open
** for a while, so racing threads really do arrive while a fetch is running.
** Run it under `make asan` to catch a use-after-free in the cache.
*/
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#include "auth.h"
#include "client.h"
#include "http.h"

#define N_THREAD       8
#define TOKEN_DELAY_MS 30 /* a token request stays in flight this long */

/* The shared fake network: counts, the issued tokens and a fake clock. */
typedef struct ThreadFake {
  pthread_mutex_t mu; /* guards every field below */
  int64_t nowMs;      /* fake clock, advanced by the tests only */
  int nToken;         /* token requests served; token k is "tok-k" */
  int nApi;           /* API requests served */
  int nBadAuth;       /* API requests whose token was never issued */
  int nLastToken;     /* k of the token on the latest API request */
} ThreadFake;

static ThreadFake tf = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0};
static DbxHttpTransport tr;
static char zDir[256];

static void sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* The k of "Authorization: Bearer tok-k" among the headers, or 0. */
static int token_number(const DbxHttpRequest *pReq) {
  int i, k;
  for (i = 0; i < pReq->nHeader; i++) {
    if (sscanf(pReq->azHeader[i], "Authorization: Bearer tok-%d", &k) == 1) {
      return k;
    }
  }
  return 0;
}

static int thread_perform(void *pCtx, const DbxHttpRequest *pReq,
                          DbxHttpResponse *pResp) {
  ThreadFake *f = pCtx;
  char zBody[160];
  int k;
  if (strstr(pReq->zUrl, "/oidc/v1/token")) {
    pthread_mutex_lock(&f->mu);
    k = ++f->nToken;
    pthread_mutex_unlock(&f->mu);
    sleep_ms(TOKEN_DELAY_MS); /* others pile up behind this fetch */
    snprintf(zBody, sizeof(zBody),
             "{\"access_token\":\"tok-%d\",\"token_type\":\"Bearer\","
             "\"expires_in\":3600}",
             k);
  } else {
    k = token_number(pReq);
    pthread_mutex_lock(&f->mu);
    f->nApi++;
    if (k < 1 || k > f->nToken) f->nBadAuth++;
    f->nLastToken = k;
    pthread_mutex_unlock(&f->mu);
    snprintf(zBody, sizeof(zBody), "{}");
  }
  pResp->eNet = DBX_NET_OK;
  pResp->status = 200;
  dbx_buf_append(&pResp->body, zBody, strlen(zBody));
  return SQLITE_OK;
}

static int64_t thread_now(void *pCtx) {
  ThreadFake *f = pCtx;
  int64_t t;
  pthread_mutex_lock(&f->mu);
  t = f->nowMs;
  pthread_mutex_unlock(&f->mu);
  return t;
}

static void thread_sleep(void *pCtx, int64_t ms) {
  DBX_UNUSED(pCtx);
  DBX_UNUSED(ms); /* no retries happen: every reply is a 200 */
}

static int setup(void **state) {
  DBX_UNUSED(state);
  snprintf(zDir, sizeof(zDir), "/tmp/dbx-unit-threads-XXXXXX");
  unit_isolate(zDir);
  setenv("DATABRICKS_HOST", "https://threads.example.com", 1);
  setenv("DATABRICKS_CLIENT_ID", "sp-threads", 1);
  setenv("DATABRICKS_CLIENT_SECRET", "dose-threads", 1);
  pthread_mutex_lock(&tf.mu);
  tf.nowMs = 1000000;
  tf.nToken = tf.nApi = tf.nBadAuth = tf.nLastToken = 0;
  pthread_mutex_unlock(&tf.mu);
  memset(&tr, 0, sizeof(tr));
  tr.xPerform = thread_perform;
  tr.xNowMs = thread_now;
  tr.xSleepMs = thread_sleep;
  tr.pCtx = &tf;
  dbx_client_test_transport(&tr);
  dbx_auth_cache_clear();
  return 0;
}

static int teardown(void **state) {
  char z[300];
  DBX_UNUSED(state);
  dbx_client_test_transport(NULL);
  snprintf(z, sizeof(z), "rm -rf '%s'", zDir);
  assert_int_equal(system(z), 0);
  return 0;
}

/* Opens an oauth-m2m client from the environment; NULL on failure. */
static DbxClient *open_client(void) {
  DbxConfig *p = NULL;
  DbxClient *c = NULL;
  DbxError e;
  dbx_error_clear(&e);
  if (dbx_config_new(&p) == SQLITE_OK &&
      dbx_config_resolve(p, &e) == SQLITE_OK) {
    dbx_client_open(p, &c, &e);
  }
  dbx_config_free(p);
  return c;
}

/* One API call; returns its result code. */
static int call(DbxClient *c) {
  cJSON *pOut = NULL;
  DbxError e;
  int rc;
  dbx_error_clear(&e);
  rc = dbx_client_call(c, "GET", "/api/2.0/sql/warehouses", NULL, &pOut, &e);
  cJSON_Delete(pOut);
  return rc;
}

/* ---------------------------------------------------------------------
** Shared fetch and shared refresh.
*/

static pthread_barrier_t barrier;

/* What one thread saw; checked by the main thread (cmocka is not
** thread-safe, so no assertion runs on a worker). */
typedef struct Worker {
  pthread_t tid; /* the thread */
  int iThread;   /* 0 .. N_THREAD-1 */
  int nFail;     /* calls or opens that failed */
} Worker;

/*
** Every thread opens a client, then all call at once (one token fetch),
** then thread 0 moves the clock past the refresh point and all call at
** once again (one refresh). Clients stay open until the end, so the cache
** entry lives throughout.
*/
static void *shared_worker(void *pArg) {
  Worker *w = pArg;
  DbxClient *c = open_client();
  if (c == NULL) w->nFail++;
  pthread_barrier_wait(&barrier);
  if (c && call(c) != SQLITE_OK) w->nFail++;
  pthread_barrier_wait(&barrier);
  if (w->iThread == 0) {
    pthread_mutex_lock(&tf.mu);
    tf.nowMs += 2500 * 1000; /* past expiry - min(ttl/2, 20 min) = 2400 s */
    pthread_mutex_unlock(&tf.mu);
  }
  pthread_barrier_wait(&barrier);
  if (c && call(c) != SQLITE_OK) w->nFail++;
  pthread_barrier_wait(&barrier);
  dbx_client_free(c);
  return NULL;
}

/* Runs xMain on N_THREAD threads and checks that none of them failed. */
static void run_workers(void *(*xMain)(void *)) {
  Worker aW[N_THREAD];
  int i;
  memset(aW, 0, sizeof(aW));
  assert_int_equal(pthread_barrier_init(&barrier, NULL, N_THREAD), 0);
  for (i = 0; i < N_THREAD; i++) {
    aW[i].iThread = i;
    assert_int_equal(pthread_create(&aW[i].tid, NULL, xMain, &aW[i]), 0);
  }
  for (i = 0; i < N_THREAD; i++) {
    pthread_join(aW[i].tid, NULL);
    assert_int_equal(aW[i].nFail, 0);
  }
  pthread_barrier_destroy(&barrier);
}

static void threads_share_one_fetch_and_one_refresh(void **state) {
  DBX_UNUSED(state);
  run_workers(shared_worker);
  assert_int_equal(tf.nToken, 2); /* one fetch, one refresh, for all */
  assert_int_equal(tf.nApi, 2 * N_THREAD);
  assert_int_equal(tf.nBadAuth, 0);
  assert_int_equal(tf.nLastToken, 2);
}

/* ---------------------------------------------------------------------
** Churn: clients come and go while others call.
*/

#define N_ROUND 25

/*
** Each round opens a client, calls twice and frees it, so cache entries
** are acquired, released, freed and re-created while other threads hold
** them; thread 0 also clears the cache now and then (a forced re-fetch).
*/
static void *churn_worker(void *pArg) {
  Worker *w = pArg;
  int i;
  pthread_barrier_wait(&barrier);
  for (i = 0; i < N_ROUND; i++) {
    DbxClient *c = open_client();
    if (c == NULL) {
      w->nFail++;
      continue;
    }
    if (call(c) != SQLITE_OK) w->nFail++;
    if (w->iThread == 0 && i % 5 == 4) dbx_auth_cache_clear();
    if (call(c) != SQLITE_OK) w->nFail++;
    dbx_client_free(c);
  }
  return NULL;
}

static void clients_come_and_go_while_others_call(void **state) {
  DBX_UNUSED(state);
  run_workers(churn_worker);
  assert_int_equal(tf.nApi, 2 * N_ROUND * N_THREAD);
  assert_int_equal(tf.nBadAuth, 0);
  /* fetched again only after a clear or once every client had gone */
  assert_true(tf.nToken >= 1);
  assert_true(tf.nToken < N_ROUND * N_THREAD);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(threads_share_one_fetch_and_one_refresh,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(clients_come_and_go_while_others_call,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
