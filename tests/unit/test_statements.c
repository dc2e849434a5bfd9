/*
** Unit tests of statements.c, read through rows.c as the SQL surface reads
** it, against a scripted fake workspace client.
**
** This binary defines the client.h functions statements.c uses, so the
** linker takes them instead of client.c: every call is checked against the
** next step of a script and answered with that step's canned reply.
*/
#include <stdlib.h>
#include <time.h>

#include "unit.h"
#include "rows.h"

/* One expected call and its reply. */
typedef struct Step {
  const char *zMethod;  /* "GET", "POST", or "DOWNLOAD" for an external link */
  const char *zPath;    /* expected path (or URL) */
  long status;          /* 0: success; else the failing HTTP status */
  const char *zReply;   /* JSON (or chunk file) text of the reply */
  const char *zBodyHas; /* a substring the request body must contain, or NULL */
} Step;

struct DbxClient {
  const Step *aStep; /* the script */
  int nStep;         /* steps in it */
  int iStep;         /* next step */
  DbxInterruptFn xInterrupt;
  void *pInterruptArg;
  char zHeaders[256];    /* headers of the last download, joined */
  size_t nMax;           /* the cap of the last download */
  DbxBuf *pKeep;         /* where raw replies go (dbx_client_keep_body) */
  const DbxConfig *pConfig; /* what dbx_client_config returns, or NULL */
};

static DbxClient fake;

static void script(const Step *aStep, int nStep) {
  memset(&fake, 0, sizeof(fake));
  fake.aStep = aStep;
  fake.nStep = nStep;
}

/* Takes the next step, checking method and path. */
static const Step *next_step(const char *zMethod, const char *zPath) {
  const Step *s;
  if (fake.iStep >= fake.nStep)
    fail_msg("unexpected call %s %s", zMethod, zPath);
  s = &fake.aStep[fake.iStep++];
  assert_string_equal(s->zMethod, zMethod);
  assert_string_equal(s->zPath, zPath);
  return s;
}

int dbx_client_call(DbxClient *p, const char *zMethod, const char *zPath,
                    const cJSON *pBody, cJSON **ppOut, DbxError *pErr) {
  const Step *s = next_step(zMethod, zPath);
  *ppOut = NULL;
  if (p->xInterrupt && p->xInterrupt(p->pInterruptArg)) {
    return dbx_error_set(pErr, SQLITE_INTERRUPT, "interrupted");
  }
  if (s->zBodyHas) {
    char *z = cJSON_PrintUnformatted(pBody);
    assert_non_null(strstr(z, s->zBodyHas));
    cJSON_free(z);
  }
  if (s->status) {
    return dbx_error_set_api(pErr, SQLITE_ERROR, s->status, "FAKE", "HTTP %ld",
                             s->status);
  }
  if (s->zReply) *ppOut = cJSON_Parse(s->zReply);
  if (p->pKeep) {
    dbx_buf_free(p->pKeep);
    if (s->zReply) dbx_buf_append(p->pKeep, s->zReply, strlen(s->zReply));
  }
  return SQLITE_OK;
}

/* The fake network never abandons a call: the follow-up is not needed. */
void dbx_client_set_orphan(DbxClient *p, DbxHttpOrphanFn x) {
  (void)p;
  (void)x;
}

/* Statements that write are posted once; the fake treats both alike. */
int dbx_client_post_once(DbxClient *p, const char *zPath, const cJSON *pBody,
                         cJSON **ppOut, DbxError *pErr) {
  return dbx_client_call(p, "POST", zPath, pBody, ppOut, pErr);
}

void dbx_client_keep_body(DbxClient *p, DbxBuf *pKeep) {
  p->pKeep = pKeep;
}

int dbx_client_download_max(DbxClient *p, const char *zUrl, const char *const *azHeader,
                            int nHeader, size_t nMax, DbxBuf *pOut, DbxError *pErr);
int dbx_client_download(DbxClient *p, const char *zUrl, const char *const *azHeader,
                        int nHeader, DbxBuf *pOut, DbxError *pErr) {
  return dbx_client_download_max(p, zUrl, azHeader, nHeader, 0, pOut, pErr);
}

/* Answers with the step's file, cut at nMax like the real client. */
int dbx_client_download_max(DbxClient *p, const char *zUrl, const char *const *azHeader,
                            int nHeader, size_t nMax, DbxBuf *pOut, DbxError *pErr) {
  const Step *s = next_step("DOWNLOAD", zUrl);
  int i;
  p->nMax = nMax;
  p->zHeaders[0] = 0;
  for (i = 0; i < nHeader; i++) {
    strncat(p->zHeaders, azHeader[i],
            sizeof(p->zHeaders) - strlen(p->zHeaders) - 2);
    strcat(p->zHeaders, ";");
  }
  if (s->status) {
    return dbx_error_set_api(pErr, SQLITE_AUTH, s->status, "", "HTTP %ld",
                             s->status);
  }
  if (nMax && strlen(s->zReply) > nMax) {
    return dbx_error_set(pErr, SQLITE_TOOBIG, "more than %zu bytes", nMax);
  }
  dbx_buf_append(pOut, s->zReply, strlen(s->zReply));
  return SQLITE_OK;
}

void dbx_client_set_interrupt(DbxClient *p, DbxInterruptFn x, void *pArg) {
  p->xInterrupt = x;
  p->pInterruptArg = pArg;
}

const DbxConfig *dbx_client_config(const DbxClient *p) {
  return p->pConfig;
}

/* The client's clock: a fake one that only sleeping moves, so polling and
** backoff run instantly and every delay asked for is on record. */
static int64_t fakeNowMs = 1000000;
static int64_t aFakeSleep[256]; /* each sleep, ms */
static int nFakeSleep;          /* sleeps made (may exceed the array) */
static unsigned uFakeRand;      /* what dbx_client_rand returns */

int64_t dbx_client_now_ms(DbxClient *p) {
  (void)p;
  return fakeNowMs;
}

void dbx_client_sleep_ms(DbxClient *p, int64_t ms) {
  (void)p;
  if (nFakeSleep < (int)DBX_ARRAY_SIZE(aFakeSleep)) aFakeSleep[nFakeSleep] = ms;
  nFakeSleep++;
  fakeNowMs += ms;
}

unsigned dbx_client_rand(DbxClient *p) {
  (void)p;
  return uFakeRand;
}

/* The xLog hook: keeps the last report (its strings are only valid during the
 * call). */
static DbxStmtInfo lastInfo;
static char zLastState[32];
static char zLastError[512];
static int nLogged;
static void log_hook(void *pArg, const DbxStmtInfo *pInfo) {
  (void)pArg;
  lastInfo = *pInfo;
  snprintf(zLastState, sizeof(zLastState), "%s", pInfo->zState);
  snprintf(zLastError, sizeof(zLastError), "%s",
           pInfo->zError ? pInfo->zError : "");
  nLogged++;
}

static void options(DbxStmtOptions *o) {
  dbx_stmt_options_init(o);
  o->zWarehouseId = "wh1";
  o->nPollFirstMs = 1;
  o->xLog = log_hook;
  nLogged = 0;
}

#define SCHEMA_ID                                                              \
  "\"manifest\":{\"schema\":{\"columns\":[{\"name\":\"id\",\"position\":0,"    \
  "\"type_name\":\"LONG\",\"type_text\":\"BIGINT\"}]},\"total_row_count\":%s}"
#define STMT "/api/2.0/sql/statements"

/* Reads every row's id, joined by commas. */
static int read_ids(DbxRows *p, char *zOut, size_t nOut, DbxError *pErr) {
  int rc;
  DbxCell c;
  zOut[0] = 0;
  while ((rc = dbx_rows_next(p, pErr)) == SQLITE_ROW) {
    assert_int_equal(dbx_rows_cell(p, 0, &c, pErr), SQLITE_OK);
    assert_int_equal(c.eType, DBX_CELL_INTEGER);
    snprintf(zOut + strlen(zOut), nOut - strlen(zOut), "%s%lld",
             zOut[0] ? "," : "", (long long)c.iVal);
  }
  return rc;
}

static void polls_then_follows_inline_chunks(void **state) {
  static const Step aStep[] = {
      {"POST", STMT, 0,
       "{\"statement_id\":\"s1\",\"status\":{\"state\":\"PENDING\"}}",
       "\"wait_timeout\":\"10s\",\"on_wait_timeout\":\"CONTINUE\","
       "\"disposition\":\"INLINE\""},
      {"GET", STMT "/s1", 0,
       "{\"statement_id\":\"s1\",\"status\":{\"state\":\"RUNNING\"}}", NULL},
      {"GET", STMT "/s1", 0,
       "{\"statement_id\":\"s1\",\"status\":{\"state\":\"SUCCEEDED\"},"
       "\"manifest\":{\"schema\":{\"columns\":[{\"name\":\"id\",\"position\":0,"
       "\"type_name\":\"LONG\"}]},"
       "\"total_row_count\":5,\"total_chunk_count\":3},"
       "\"result\":{\"chunk_index\":0,\"data_array\":[[\"1\"],[\"2\"]],\"next_"
       "chunk_index\":1,"
       "\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/"
       "chunks/1\"}}",
       NULL},
      {"GET", STMT "/s1/result/chunks/1", 0,
       "{\"chunk_index\":1,\"data_array\":[[\"3\"],[\"4\"]],\"next_chunk_"
       "index\":2}",
       NULL},
      {"GET", STMT "/s1/result/chunks/2", 0,
       "{\"chunk_index\":2,\"data_array\":[[\"5\"]]}", NULL},
  };
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  char zIds[64];
  (void)state;
  script(aStep, 5);
  options(&o);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_rows_execute(&fake, "SELECT id FROM t", NULL, 0, &o, &p, &e),
      SQLITE_OK);
  assert_string_equal(dbx_stmt_id(dbx_rows_stmt(p)), "s1");
  assert_int_equal(dbx_stmt_total_rows(dbx_rows_stmt(p)), 5);
  assert_int_equal(read_ids(p, zIds, sizeof(zIds), &e), SQLITE_DONE);
  assert_string_equal(zIds, "1,2,3,4,5");
  assert_int_equal(dbx_rows_next(p, &e), SQLITE_DONE); /* stays done */
  assert_int_equal(fake.iStep, 5);
  dbx_rows_free(p);
  assert_int_equal(nLogged, 1);
  assert_string_equal(zLastState, "SUCCEEDED");
  assert_int_equal(lastInfo.nRows, 5);
  assert_int_equal(lastInfo.nChunks, 3);
}

static void external_links_are_refreshed(void **state) {
  static const Step aStep[] = {
      {"POST", STMT, 0,
       "{\"statement_id\":\"s2\",\"status\":{\"state\":\"SUCCEEDED\"},"
       "\"manifest\":{\"schema\":{\"columns\":[{\"name\":\"id\",\"type_name\":"
       "\"INT\"}]}},"
       "\"result\":{\"external_links\":[{\"chunk_index\":0,\"external_link\":"
       "\"https://s3/x0?sig=1\","
       "\"expiration\":\"2999-01-01T00:00:00Z\",\"http_headers\":{\"x-amz-"
       "key\":\"k1\"},"
       "\"next_chunk_index\":1}]}}",
       "\"disposition\":\"EXTERNAL_LINKS\""},
      {"DOWNLOAD", "https://s3/x0?sig=1", 0, "[[\"1\"],[\"2\"]]", NULL},
      {"GET", STMT "/s2/result/chunks/1", 0,
       "{\"external_links\":[{\"chunk_index\":1,\"external_link\":\"https://s3/"
       "x1?sig=old\","
       "\"expiration\":\"2999-01-01T00:00:00Z\"}]}",
       NULL},
      {"DOWNLOAD", "https://s3/x1?sig=old", 403, NULL, NULL},
      {"GET", STMT "/s2/result/chunks/1", 0,
       "{\"external_links\":[{\"chunk_index\":1,\"external_link\":\"https://s3/"
       "x1?sig=new\","
       "\"expiration\":\"2999-01-01T00:00:00Z\",\"http_headers\":{\"h\":\"v\"}}"
       "]}",
       NULL},
      {"DOWNLOAD", "https://s3/x1?sig=new", 0, "[[\"3\"]]", NULL},
  };
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  char zIds[64];
  (void)state;
  script(aStep, 6);
  options(&o);
  o.eDisposition = DBX_DISP_EXTERNAL_LINKS;
  dbx_error_clear(&e);
  assert_int_equal(dbx_rows_execute(&fake, "SELECT 1", NULL, 0, &o, &p, &e),
                   SQLITE_OK);
  assert_string_equal(fake.zHeaders, "x-amz-key: k1;");
  assert_int_equal(read_ids(p, zIds, sizeof(zIds), &e), SQLITE_DONE);
  assert_string_equal(zIds, "1,2,3");
  assert_string_equal(fake.zHeaders, "h: v;");
  assert_int_equal(fake.iStep, 6);
  dbx_rows_free(p);
}

/* Warehouse, catalog and schema come from the options alone: a client is
** shared by calls whose configurations name different ones, so its own
** configuration is never a default. */
static void options_alone_choose_warehouse_catalog_schema(void **state) {
  static const Step aStep[] = {
      {"POST", STMT, 0,
       "{\"statement_id\":\"s1\",\"status\":{\"state\":\"SUCCEEDED\"},"
       "\"manifest\":{\"schema\":{\"columns\":[]},\"total_row_count\":0}}",
       "\"warehouse_id\":\"wh1\",\"wait_timeout\""},
  };
  DbxConfig *pConfig = NULL;
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_config_new(&pConfig), SQLITE_OK);
  assert_int_equal(
      dbx_config_set(pConfig, "warehouse_id", "other", DBX_SRC_OPTION, &e),
      SQLITE_OK);
  assert_int_equal(
      dbx_config_set(pConfig, "catalog", "cat9", DBX_SRC_OPTION, &e),
      SQLITE_OK);
  assert_int_equal(
      dbx_config_set(pConfig, "schema", "sch9", DBX_SRC_OPTION, &e), SQLITE_OK);
  script(aStep, 1);
  fake.pConfig = pConfig;
  options(&o);
  o.zWarehouseId = NULL;
  assert_int_equal(dbx_rows_execute(&fake, "SELECT 1", NULL, 0, &o, &p, &e),
                   SQLITE_ERROR);
  assert_null(p);
  assert_string_equal(e.zMsg, "no SQL warehouse configured");
  assert_int_equal(fake.iStep, 0); /* nothing was sent */
  dbx_error_clear(&e);
  options(&o);
  assert_int_equal(dbx_rows_execute(&fake, "SELECT 1", NULL, 0, &o, &p, &e),
                   SQLITE_OK);
  assert_int_equal(fake.iStep, 1);
  dbx_rows_free(p);
  fake.pConfig = NULL;
  dbx_config_free(pConfig);
}

static void failed_statement_reports_class_and_id(void **state) {
  static const Step aStep[] = {
      {"POST", STMT, 0,
       "{\"statement_id\":\"s3\",\"status\":{\"state\":\"FAILED\",\"error\":{"
       "\"error_code\":"
       "\"BAD_REQUEST\",\"message\":\"[TABLE_OR_VIEW_NOT_FOUND] The table x "
       "cannot be found. "
       "SQLSTATE: 42P01\"},\"sql_state\":\"42P01\"}}",
       NULL},
  };
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  char *z;
  (void)state;
  script(aStep, 1);
  options(&o);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_rows_execute(&fake, "SELECT * FROM x", NULL, 0, &o, &p, &e),
      SQLITE_ERROR);
  assert_null(p);
  z = dbx_error_text(&e);
  assert_string_equal(
      z, "databricks: [TABLE_OR_VIEW_NOT_FOUND] The table x cannot be found. "
         "SQLSTATE: 42P01 (TABLE_OR_VIEW_NOT_FOUND, statement s3)");
  sqlite3_free(z);
  assert_int_equal(nLogged, 1);
  assert_string_equal(zLastState, "FAILED");
  assert_non_null(strstr(zLastError, "TABLE_OR_VIEW_NOT_FOUND"));
}

static int interrupt_now(void *pArg) {
  int *pn = pArg;
  return ++*pn >= 2; /* the first poll passes, then the user presses Ctrl-C */
}

static void interrupt_cancels_remotely(void **state) {
  static const Step aStep[] = {
      {"POST", STMT, 0,
       "{\"statement_id\":\"s4\",\"status\":{\"state\":\"RUNNING\"}}", NULL},
      {"POST", STMT "/s4/cancel", 0, "{}", "{}"},
      {"GET", STMT "/s4", 0,
       "{\"statement_id\":\"s4\",\"status\":{\"state\":\"CANCELED\"}}", NULL},
  };
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  int n = 0;
  (void)state;
  script(aStep, 3);
  options(&o);
  o.xInterrupt = interrupt_now;
  o.pInterruptArg = &n;
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_rows_execute(&fake, "SELECT slow()", NULL, 0, &o, &p, &e),
      SQLITE_INTERRUPT);
  assert_int_equal(fake.iStep, 3);
  assert_string_equal(e.zStatement, "s4");
  assert_string_equal(zLastState, "CANCELED");
}

static void inline_too_large_reruns_external(void **state) {
  static const Step aStep[] = {
      {"POST", STMT, 0,
       "{\"statement_id\":\"s5\",\"status\":{\"state\":\"FAILED\",\"error\":{"
       "\"error_code\":"
       "\"BAD_REQUEST\",\"message\":\"Inline byte limit exceeded. Please "
       "execute the statement "
       "with disposition=EXTERNAL_LINKS\"}}}",
       "\"disposition\":\"INLINE\""},
      {"POST", STMT, 0,
       "{\"statement_id\":\"s6\",\"status\":{\"state\":\"SUCCEEDED\"},"
       "\"manifest\":{\"schema\":{\"columns\":[]},\"total_row_count\":0}}",
       "\"disposition\":\"EXTERNAL_LINKS\""},
  };
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  (void)state;
  script(aStep, 2);
  options(&o);
  dbx_error_clear(&e);
  assert_int_equal(dbx_rows_execute(&fake, "SELECT big", NULL, 0, &o, &p, &e),
                   SQLITE_OK);
  assert_int_equal(nLogged, 1); /* the failed INLINE attempt */
  assert_string_equal(zLastState, "FAILED");
  assert_string_equal(dbx_stmt_id(dbx_rows_stmt(p)), "s6");
  assert_int_equal(dbx_rows_next(p, &e), SQLITE_DONE);
  dbx_rows_free(p);
  assert_int_equal(nLogged, 2);
}

/* Parameters go out typed, a missing type as STRING and NULL as null
** (params_json is parsed into this array by args.c). */
static void params_are_sent_typed(void **state) {
  static const Step aStep[] = {
      {"POST", STMT, 0,
       "{\"statement_id\":\"s7\",\"status\":{\"state\":\"SUCCEEDED\"},"
       "\"manifest\":{\"schema\":{\"columns\":[{\"name\":\"num_affected_rows\","
       "\"type_name\":\"LONG\"},"
       "{\"name\":\"num_inserted_rows\",\"type_name\":\"LONG\",\"position\":1}]"
       "},\"total_row_count\":1},"
       "\"result\":{\"data_array\":[[\"3\",\"3\"]]}}",
       "\"parameters\":[{\"name\":\"a\",\"value\":\"41\",\"type\":\"BIGINT\"},"
       "{\"name\":\"b\",\"value\":\"x\",\"type\":\"STRING\"},{\"name\":\"c\","
       "\"value\":null,"
       "\"type\":\"STRING\"},{\"name\":\"d\",\"value\":\"true\",\"type\":"
       "\"BOOLEAN\"},"
       "{\"name\":\"e\",\"value\":\"0.5\",\"type\":\"DOUBLE\"}]"},
  };
  static const DbxParam a[] = {{"a", "41", "BIGINT"},
                               {"b", "x", NULL},
                               {"c", NULL, NULL},
                               {"d", "true", "BOOLEAN"},
                               {"e", "0.5", "DOUBLE"}};
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  DbxCell c;
  (void)state;
  dbx_error_clear(&e);
  script(aStep, 1);
  options(&o);
  assert_int_equal(dbx_rows_execute(&fake, "INSERT :a", a, 5, &o, &p, &e),
                   SQLITE_OK);
  assert_int_equal(fake.iStep, 1);
  assert_int_equal(dbx_rows_next(p, &e), SQLITE_ROW);
  assert_int_equal(dbx_rows_cell(p, 1, &c, &e), SQLITE_OK);
  assert_int_equal(c.eType, DBX_CELL_INTEGER);
  assert_int_equal(c.iVal, 3);
  dbx_rows_free(p);
}

/*
** cJSON allocations counted with a size header, to see how much of a
** result is held at once (chunks are cJSON trees; downloads use our heap).
*/
static size_t nLive, nPeak, nTotal;
static void *count_malloc(size_t n) {
  size_t *p = malloc(n + sizeof(size_t) * 2);
  if (p == NULL) return NULL;
  p[0] = n;
  nLive += n;
  nTotal += n;
  if (nLive > nPeak) nPeak = nLive;
  return p + 2;
}
static void count_free(void *pv) {
  size_t *p = pv;
  if (p == NULL) return;
  nLive -= p[-2];
  free(p - 2);
}

#define BIG_CHUNKS 8
#define BIG_ROWS   2000

/* Builds chunk i of a BIG_CHUNKS x BIG_ROWS result: INLINE ResultData, or
** (bFile) the row array of an external file. */
static char *big_chunk(int i, int bFile) {
  DbxBuf b = {0};
  int r;
  if (!bFile) dbx_buf_appendf(&b, "{\"chunk_index\":%d,\"data_array\":", i);
  dbx_buf_append(&b, "[", 1);
  for (r = 0; r < BIG_ROWS; r++) {
    dbx_buf_appendf(&b, "%s[\"%d\",\"row %d of a large result\"]", r ? "," : "",
                    i * BIG_ROWS + r + 1, i * BIG_ROWS + r + 1);
  }
  dbx_buf_append(&b, "]", 1);
  if (!bFile && i + 1 < BIG_CHUNKS)
    dbx_buf_appendf(&b, ",\"next_chunk_index\":%d", i + 1);
  if (!bFile) dbx_buf_append(&b, "}", 1);
  return dbx_buf_take(&b);
}

/* Reads a BIG result to the end through the script; checks order; returns
** the peak of cJSON bytes held while reading. */
/* Reads the scripted big result; returns the cJSON peak, and in *pnHeap
** the peak growth of SQLite's heap while reading. */
static size_t read_big(Step *aStep, int nStep, DbxDisposition eDisp,
                       sqlite3_int64 *pnHeap) {
  sqlite3_int64 nBase;
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  DbxCell c;
  int64_t iWant = 1;
  int rc;
  script(aStep, nStep);
  options(&o);
  o.eDisposition = eDisp;
  dbx_error_clear(&e);
  nLive = nPeak = nTotal = 0;
  cJSON_InitHooks(&(cJSON_Hooks){count_malloc, count_free});
  nBase = sqlite3_memory_used();
  sqlite3_memory_highwater(1);
  assert_int_equal(dbx_rows_execute(&fake, "SELECT big", NULL, 0, &o, &p, &e),
                   SQLITE_OK);
  while ((rc = dbx_rows_next(p, &e)) == SQLITE_ROW) {
    assert_int_equal(dbx_rows_cell(p, 0, &c, &e), SQLITE_OK);
    assert_true(c.iVal == iWant);
    iWant++;
  }
  assert_int_equal(rc, SQLITE_DONE);
  assert_true(iWant == BIG_CHUNKS * BIG_ROWS + 1);
  assert_int_equal(fake.iStep, nStep);
  *pnHeap = sqlite3_memory_highwater(0) - nBase;
  dbx_rows_free(p);
  assert_int_equal(nLive, 0); /* every chunk was released */
  cJSON_InitHooks(NULL);
  return nPeak;
}

static void memory_is_bounded_by_about_one_chunk(void **state) {
  Step aStep[2 * BIG_CHUNKS];
  char *azText[2 * BIG_CHUNKS];
  char *zFirst, azPath[BIG_CHUNKS][80], azUrl[BIG_CHUNKS][80];
  size_t nPeak1, nOneChunk, nFile;
  sqlite3_int64 nHeap;
  int i, n = 0;
  (void)state;

  /* INLINE: the first chunk in the response, the others from the chunk endpoint
   */
  memset(aStep, 0, sizeof(aStep));
  azText[0] = big_chunk(0, 0);
  zFirst = sqlite3_mprintf(
      "{\"statement_id\":\"sb\",\"status\":{\"state\":\"SUCCEEDED\"},"
      "\"manifest\":{\"schema\":{\"columns\":[{\"name\":\"id\",\"position\":0,"
      "\"type_name\":\"LONG\"},{\"name\":\"s\",\"position\":1,\"type_name\":"
      "\"STRING\"}]},\"total_chunk_count\":%d},\"result\":%s}",
      BIG_CHUNKS, azText[0]);
  aStep[n++] = (Step){"POST", STMT, 0, zFirst, NULL};
  for (i = 1; i < BIG_CHUNKS; i++) {
    snprintf(azPath[i], sizeof(azPath[i]), STMT "/sb/result/chunks/%d", i);
    azText[i] = big_chunk(i, 0);
    aStep[n++] = (Step){"GET", azPath[i], 0, azText[i], NULL};
  }
  nPeak1 = read_big(aStep, n, DBX_DISP_INLINE, &nHeap);
  /* the size of one chunk's tree, measured the same way */
  nLive = nPeak = 0;
  cJSON_InitHooks(&(cJSON_Hooks){count_malloc, count_free});
  cJSON_Delete(cJSON_Parse(azText[1]));
  nOneChunk = nPeak;
  cJSON_InitHooks(NULL);
  print_message("INLINE: one chunk %zu bytes, peak %zu, total %zu\n", nOneChunk,
                nPeak1, nTotal);
  assert_true(nTotal > 6 * nOneChunk);     /* the whole result went through */
  assert_true(nPeak1 < nOneChunk * 3 / 2); /* one chunk at a time */
  sqlite3_free(zFirst);
  for (i = 0; i < BIG_CHUNKS; i++)
    sqlite3_free(azText[i]);

  /* EXTERNAL_LINKS: a link per chunk, each file downloaded then parsed */
  n = 0;
  for (i = 0; i < BIG_CHUNKS; i++) {
    snprintf(azUrl[i], sizeof(azUrl[i]), "https://s3/big%d?sig=1", i);
    snprintf(azPath[i], sizeof(azPath[i]), STMT "/sb/result/chunks/%d", i);
    azText[2 * i] = sqlite3_mprintf(
        "%s\"external_links\":[{\"chunk_index\":%d,\"external_link\":\"%s\","
        "\"expiration\":\"2999-01-01T00:00:00Z\"%s}]%s",
        i == 0
            ? "{\"statement_id\":\"sb\",\"status\":{\"state\":\"SUCCEEDED\"},"
              "\"manifest\":{\"schema\":{\"columns\":[{\"name\":\"id\","
              "\"position\":0,"
              "\"type_name\":\"LONG\"},{\"name\":\"s\",\"position\":1,\"type_"
              "name\":"
              "\"STRING\"}]}},\"result\":{"
            : "{",
        i, azUrl[i], i + 1 < BIG_CHUNKS ? ",\"next_chunk_index\":1" : "",
        i == 0 ? "}}" : "}");
    if (i + 1 < BIG_CHUNKS) {
      /* next_chunk_index must name the next chunk */
      char *z = strstr(azText[2 * i], "\"next_chunk_index\":1");
      char *zFixed = sqlite3_mprintf(
          "%.*s\"next_chunk_index\":%d%s", (int)(z - azText[2 * i]),
          azText[2 * i], i + 1, z + strlen("\"next_chunk_index\":1"));
      sqlite3_free(azText[2 * i]);
      azText[2 * i] = zFixed;
    }
    azText[2 * i + 1] = big_chunk(i, 1);
    aStep[n++] = (Step){i == 0 ? "POST" : "GET", i == 0 ? STMT : azPath[i], 0,
                        azText[2 * i], NULL};
    aStep[n++] = (Step){"DOWNLOAD", azUrl[i], 0, azText[2 * i + 1], NULL};
  }
  /* Downloaded chunks are scanned in place, not parsed into a tree: the
  ** memory is the chunk's own bytes, one chunk at a time. */
  nFile = strlen(azText[3]);
  nPeak1 = read_big(aStep, n, DBX_DISP_EXTERNAL_LINKS, &nHeap);
  print_message(
      "EXTERNAL_LINKS: one file %zu bytes, heap peak %lld, cJSON peak %zu\n",
      nFile, (long long)nHeap, nPeak1);
  assert_true(nHeap < (sqlite3_int64)(nFile * 5 /
                                      2)); /* one body (and its buffer slack) */
  assert_true(nPeak1 < nFile / 10);        /* no tree of the rows */
  for (i = 0; i < 2 * BIG_CHUNKS; i++)
    sqlite3_free(azText[i]);
}

/* ---------------------------------------------------------------------
** A hostile server: what it sends is checked before it is used. Each case
** is a script whose replies break one promise; the statement must fail
** with an error naming the statement and the chunk, and send nothing the
** script does not expect (an unexpected call fails the test).
*/

#define OK_HEAD(id) "{\"statement_id\":\"" id "\",\"status\":{\"state\":\"SUCCEEDED\"},"
#define COLS_ID "\"schema\":{\"column_count\":1,\"columns\":[{\"name\":\"id\",\"position\":0,\"type_name\":\"LONG\"}]}"
#define COLS_S "\"schema\":{\"columns\":[{\"name\":\"s\",\"position\":0,\"type_name\":\"STRING\"}]}"
#define LINK(url) "\"external_link\":\"" url "\",\"expiration\":\"2999-01-01T00:00:00Z\""

typedef struct Hostile {
  const char *zName;    /* what the server does wrong */
  Step aStep[4];        /* the script */
  int rcExec;           /* what dbx_stmt_execute returns */
  int rcEnd;            /* then what reading every row ends with */
  const char *zMsgHas;  /* a substring of the error */
} Hostile;

/* Runs one case: execute, read every row, compare the outcome. */
static void run_hostile(const Hostile *h, DbxDisposition eDisp) {
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  int nStep = 0, rc;
  char *zText;
  while (nStep < 4 && h->aStep[nStep].zMethod) nStep++;
  print_message("case: %s\n", h->zName);
  script(h->aStep, nStep);
  options(&o);
  o.eDisposition = eDisp;
  dbx_error_clear(&e);
  rc = dbx_rows_execute(&fake, "SELECT x", NULL, 0, &o, &p, &e);
  assert_int_equal(rc, h->rcExec);
  if (rc == SQLITE_OK) {
    while ((rc = dbx_rows_next(p, &e)) == SQLITE_ROW) {
    }
    assert_int_equal(rc, h->rcEnd);
    assert_int_equal(dbx_rows_next(p, &e), h->rcEnd); /* sticky */
    dbx_rows_free(p);
  } else {
    assert_null(p);
  }
  assert_int_equal(fake.iStep, nStep);
  if (h->zMsgHas == NULL) {
    assert_int_equal(e.rc, SQLITE_OK);
    return;
  }
  zText = dbx_error_text(&e);
  print_message("  -> %s\n", zText);
  if (strstr(zText, h->zMsgHas) == NULL) fail_msg("'%s' lacks '%s'", zText, h->zMsgHas);
  assert_null(strchr(zText, '\n'));
  assert_null(strstr(zText, "sig=")); /* never a presigned query */
  assert_null(strstr(zText, "secret-value"));
  sqlite3_free(zText);
}

static void statement_ids_are_checked_before_use(void **state) {
  static char zLong[5200], zReply[5400];
  static const Hostile aCase[] = {
      {"path traversal in the id",
       {{"POST", STMT, 0, OK_HEAD("../../../admin/x?y=1#") "\"manifest\":{" COLS_ID "}}", NULL}},
       SQLITE_ERROR, 0, "statement_id that is not 1 to 64 letters"},
      {"empty id", {{"POST", STMT, 0, OK_HEAD("") "\"manifest\":{" COLS_ID "}}", NULL}},
       SQLITE_ERROR, 0, "statement_id that is not"},
      {"CR LF in the id",
       {{"POST", STMT, 0, "{\"statement_id\":\"a\\r\\nX: 1\",\"status\":{\"state\":\"RUNNING\"}}", NULL}},
       SQLITE_ERROR, 0, "statement_id that is not"},
      {"a number for an id",
       {{"POST", STMT, 0, "{\"statement_id\":17,\"status\":{\"state\":\"RUNNING\"}}", NULL}},
       SQLITE_ERROR, 0, "without a statement_id"},
  };
  Hostile h;
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) run_hostile(&aCase[i], DBX_DISP_AUTO);
  /* 5,000 characters: refused, not cut to a prefix that names another */
  memset(zLong, 'a', 5000);
  zLong[5000] = 0;
  snprintf(zReply, sizeof(zReply), "{\"statement_id\":\"%s\",\"status\":{\"state\":\"RUNNING\"}}", zLong);
  memset(&h, 0, sizeof(h));
  h.zName = "5000-character id";
  h.aStep[0] = (Step){"POST", STMT, 0, zReply, NULL};
  h.rcExec = SQLITE_ERROR;
  h.zMsgHas = "statement_id that is not";
  run_hostile(&h, DBX_DISP_AUTO);
  /* 64 characters of the allowed set are fine; 65 are not */
  memset(zLong, 'A', 64);
  memcpy(zLong, "01ef-_9z", 8);
  zLong[64] = 0;
  snprintf(zReply, sizeof(zReply), OK_HEAD("%s") "\"manifest\":{" COLS_ID ",\"total_row_count\":0}}", zLong);
  h.zName = "64-character id";
  h.rcExec = SQLITE_OK;
  h.rcEnd = SQLITE_DONE;
  h.zMsgHas = NULL;
  run_hostile(&h, DBX_DISP_AUTO);
  zLong[64] = 'B';
  zLong[65] = 0;
  snprintf(zReply, sizeof(zReply), OK_HEAD("%s") "\"manifest\":{" COLS_ID "}}", zLong);
  h.zName = "65-character id";
  h.rcExec = SQLITE_ERROR;
  h.zMsgHas = "statement_id that is not";
  run_hostile(&h, DBX_DISP_AUTO);
}

static void chunk_links_name_this_statement_and_the_next_chunk(void **state) {
#define FIRST(next) OK_HEAD("s1") "\"manifest\":{" COLS_ID ",\"total_chunk_count\":3},\"result\":{\"chunk_index\":0,\"data_array\":[[\"1\"]]," next "}}"
  static const Hostile aCase[] = {
      {"another statement's chunk",
       {{"POST", STMT, 0, FIRST("\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s2/result/chunks/1\""), NULL}},
       SQLITE_ERROR, 0, "result chunk 0 does not match what Databricks promised: "
                        "next_chunk_internal_link is not the path of a chunk of this statement"},
      {"a query string after the path",
       {{"POST", STMT, 0, FIRST("\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/chunks/1?x=1\""), NULL}},
       SQLITE_ERROR, 0, "next_chunk_internal_link is not the path"},
      {"another API",
       {{"POST", STMT, 0, FIRST("\"next_chunk_internal_link\":\"/api/2.0/admin/x\""), NULL}},
       SQLITE_ERROR, 0, "next_chunk_internal_link is not the path"},
      {"dot segments",
       {{"POST", STMT, 0, FIRST("\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/chunks/../../../../admin\""), NULL}},
       SQLITE_ERROR, 0, "next_chunk_internal_link is not the path"},
      {"a leading zero",
       {{"POST", STMT, 0, FIRST("\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/chunks/01\""), NULL}},
       SQLITE_ERROR, 0, "next_chunk_internal_link is not the path"},
      {"index and link disagree",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":1,\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/chunks/2\""), NULL}},
       SQLITE_ERROR, 0, "next_chunk_index 1 and next_chunk_internal_link disagree"},
      {"a second query field after row_offset",
       {{"POST", STMT, 0, FIRST("\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/chunks/1?row_offset=1&x=2\""), NULL}},
       SQLITE_ERROR, 0, "next_chunk_internal_link is not the path"},
      {"a negative row_offset",
       {{"POST", STMT, 0, FIRST("\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/chunks/1?row_offset=-1\""), NULL}},
       SQLITE_ERROR, 0, "next_chunk_internal_link is not the path"},
      {"a row_offset that skips rows",
       {{"POST", STMT, 0, FIRST("\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/chunks/1?row_offset=5\""), NULL}},
       SQLITE_OK, SQLITE_ERROR, "result chunk 0 does not match what Databricks promised: its next_chunk_internal_link "
                                "says the next chunk starts at row 5, but it ends at row 1"},
      {"the link with its row_offset is followed as written",
       {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_ID ",\"total_chunk_count\":2},"
                           "\"result\":{\"data_array\":[[\"1\"]],\"next_chunk_index\":1,"
                           "\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/chunks/1?row_offset=1\"}}", NULL},
        {"GET", STMT "/s1/result/chunks/1?row_offset=1", 0, "{\"chunk_index\":1,\"row_offset\":1,\"data_array\":[[\"2\"]]}", NULL}},
       SQLITE_OK, SQLITE_DONE, NULL},
      {"the link alone is followed (by index)",
       {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_ID ",\"total_chunk_count\":2,\"total_row_count\":2},"
                           "\"result\":{\"data_array\":[[\"1\"]],\"next_chunk_internal_link\":\"/api/2.0/sql/statements/s1/result/chunks/1\"}}", NULL},
        {"GET", STMT "/s1/result/chunks/1", 0, "{\"chunk_index\":1,\"row_offset\":1,\"row_count\":1,\"data_array\":[[\"2\"]]}", NULL}},
       SQLITE_OK, SQLITE_DONE, NULL},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) run_hostile(&aCase[i], DBX_DISP_AUTO);
}

static void chunk_indexes_only_go_forward(void **state) {
  static const Hostile aCase[] = {
      {"chunk 0 points to itself",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":0"), NULL}},
       SQLITE_ERROR, 0, "it names chunk 0 as the next one, but chunks only go forward"},
      {"chunk 1 points to itself",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":1"), NULL},
        {"GET", STMT "/s1/result/chunks/1", 0, "{\"chunk_index\":1,\"data_array\":[[\"2\"]],\"next_chunk_index\":1}", NULL}},
       SQLITE_OK, SQLITE_ERROR, "result chunk 1 does not match what Databricks promised: it names chunk 1"},
      {"past total_chunk_count",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":3"), NULL}},
       SQLITE_ERROR, 0, "it names chunk 3 as the next one, but total_chunk_count is 3"},
      {"a negative index",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":-1"), NULL}},
       SQLITE_ERROR, 0, "next_chunk_index is not an integer from 0 to 2147483647"},
      {"an index of 1e74",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":1e74"), NULL}},
       SQLITE_ERROR, 0, "next_chunk_index is not an integer"},
      {"a fractional index",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":1.5"), NULL}},
       SQLITE_ERROR, 0, "next_chunk_index is not an integer"},
      {"the result stops before total_chunk_count",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":1"), NULL},
        {"GET", STMT "/s1/result/chunks/1", 0, "{\"chunk_index\":1,\"data_array\":[[\"2\"]]}", NULL}},
       SQLITE_OK, SQLITE_ERROR, "result chunk 1 does not match what Databricks promised: the result ends there, but total_chunk_count is 3"},
      {"the chunk endpoint answers with another chunk",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":1"), NULL},
        {"GET", STMT "/s1/result/chunks/1", 0, "{\"chunk_index\":2,\"data_array\":[[\"3\"]]}", NULL}},
       SQLITE_OK, SQLITE_ERROR, "result chunk 1 does not match what Databricks promised: Databricks sent chunk 2 instead"},
      {"the chunk endpoint answers nothing",
       {{"POST", STMT, 0, FIRST("\"next_chunk_index\":1"), NULL},
        {"GET", STMT "/s1/result/chunks/1", 0, NULL, NULL}},
       SQLITE_OK, SQLITE_ERROR, "the chunk endpoint answered nothing"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) run_hostile(&aCase[i], DBX_DISP_AUTO);
#undef FIRST
}

static void rows_are_checked_against_the_manifest(void **state) {
#define ONE(man, res) {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_ID man "},\"result\":{" res "}}", NULL}}
  static const Hostile aCase[] = {
      {"fewer rows than row_count", ONE("", "\"row_count\":3,\"data_array\":[[\"1\"],[\"2\"]]"),
       SQLITE_ERROR, 0, "result chunk 0 does not match what Databricks promised: it holds 2 rows, its row_count says 3"},
      {"more rows than row_count", ONE("", "\"row_count\":1,\"data_array\":[[\"1\"],[\"2\"]]"),
       SQLITE_ERROR, 0, "it holds 2 rows, its row_count says 1"},
      {"more rows than total_row_count", ONE(",\"total_row_count\":1", "\"data_array\":[[\"1\"],[\"2\"]]"),
       SQLITE_ERROR, 0, "its 2 rows go past total_row_count 1"},
      {"fewer rows than total_row_count", ONE(",\"total_row_count\":3", "\"data_array\":[[\"1\"],[\"2\"]]"),
       SQLITE_OK, SQLITE_ERROR, "the result ends after 2 rows, but total_row_count is 3"},
      {"total_row_count without any chunk", ONE(",\"total_row_count\":3,\"total_chunk_count\":0", "\"row_count\":0"),
       SQLITE_OK, SQLITE_ERROR, "the result ends after 0 rows, but total_row_count is 3"},
      {"row_count differs from the manifest's chunk",
       ONE(",\"chunks\":[{\"chunk_index\":0,\"row_offset\":0,\"row_count\":5}]", "\"row_count\":2,\"data_array\":[[\"1\"],[\"2\"]]"),
       SQLITE_ERROR, 0, "its row_count is 2 in one place and 5 in another"},
      {"the first chunk is not chunk 0", ONE("", "\"chunk_index\":1,\"data_array\":[[\"1\"]]"),
       SQLITE_ERROR, 0, "result chunk 0 does not match what Databricks promised: Databricks sent chunk 1 instead"},
      {"a row_offset past the rows before", ONE("", "\"row_offset\":5,\"data_array\":[[\"1\"]]"),
       SQLITE_ERROR, 0, "its row_offset is 5, but 0 rows came before it"},
      {"a row wider than the schema", ONE("", "\"data_array\":[[\"1\"],[\"2\",\"x\"]]"),
       SQLITE_OK, SQLITE_ERROR, "result chunk 0 does not match what Databricks promised: row 2 has 2 values for 1 columns"},
      {"a row narrower than the schema", ONE("", "\"data_array\":[[]]"),
       SQLITE_OK, SQLITE_ERROR, "row 1 has 0 values for 1 columns"},
      {"rows that are not arrays", ONE("", "\"data_array\":[\"1\",\"2\"]"),
       SQLITE_OK, SQLITE_ERROR, "result chunk 0: the chunk is not a JSON array of rows"},
      {"data_array an object", ONE("", "\"data_array\":{\"a\":[\"1\"]}"),
       SQLITE_ERROR, 0, "data_array is not an array"},
      {"data_array a string", ONE("", "\"data_array\":\"[[1]]\""),
       SQLITE_ERROR, 0, "data_array is not an array"},
      {"the result not an object", ONE("", "\"x\":1},\"zz\":{"),
       SQLITE_OK, SQLITE_DONE, NULL},
      {"row_count of 1e30", ONE("", "\"row_count\":1e30,\"data_array\":[[\"1\"]]"),
       SQLITE_ERROR, 0, "row_count is not an integer from 0 to 9007199254740992"},
      {"a negative total_row_count", ONE(",\"total_row_count\":-1", "\"data_array\":[[\"1\"]]"),
       SQLITE_ERROR, 0, "the result manifest does not match what Databricks promised: total_row_count is not an integer"},
      {"a fractional row_offset", ONE("", "\"row_offset\":0.5,\"data_array\":[[\"1\"]]"),
       SQLITE_ERROR, 0, "row_offset is not an integer"},
      {"a word for row_count", ONE("", "\"row_count\":\"many\",\"data_array\":[[\"1\"]]"),
       SQLITE_ERROR, 0, "row_count is not an integer"},
      {"column_count unlike the columns",
       {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{\"schema\":{\"column_count\":2,\"columns\":[{\"name\":\"id\"}]}},"
                           "\"result\":{\"data_array\":[[\"1\"]]}}", NULL}},
       SQLITE_ERROR, 0, "column_count is 2 for 1 columns"},
      {"an ARROW_STREAM result", ONE(",\"format\":\"ARROW_STREAM\"", "\"data_array\":[[\"1\"]]"),
       SQLITE_ERROR, 0, "the format is not the JSON_ARRAY asked for"},
      {"a column position of 1e74",
       {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{\"schema\":{\"columns\":[{\"name\":\"id\",\"position\":1e74}]}}}", NULL}},
       SQLITE_ERROR, 0, "position of column 1 is not an integer from 0 to 0"},
      /* what Databricks may leave out, a legitimate answer keeps working */
      {"numbers as numeric strings",
       ONE(",\"total_row_count\":\"2\",\"total_chunk_count\":\"1\",\"chunks\":[{\"chunk_index\":0,\"row_offset\":0,\"row_count\":2,\"byte_count\":28}]",
           "\"chunk_index\":\"0\",\"row_offset\":0,\"row_count\":\"2\",\"data_array\":[[\"1\"],[null]]"),
       SQLITE_OK, SQLITE_DONE, NULL},
      {"an empty result without data_array",
       ONE(",\"total_row_count\":0,\"total_chunk_count\":1,\"chunks\":[{\"chunk_index\":0,\"row_offset\":0,\"row_count\":0}]",
           "\"chunk_index\":0,\"row_offset\":0,\"row_count\":0"),
       SQLITE_OK, SQLITE_DONE, NULL},
      {"an empty result with no chunks", ONE(",\"total_row_count\":0,\"total_chunk_count\":0", "\"row_count\":0"),
       SQLITE_OK, SQLITE_DONE, NULL},
      {"DDL: no manifest at all",
       {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{\"schema\":{\"column_count\":0}}}", NULL}},
       SQLITE_OK, SQLITE_DONE, NULL},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) run_hostile(&aCase[i], DBX_DISP_AUTO);
#undef ONE
}

static void external_links_are_checked_before_download(void **state) {
#define EXT(link) {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_ID "},\"result\":{\"external_links\":[{" link "}]}}", NULL}}
#define EXT_DL(link, url, file) {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_ID "},\"result\":{\"external_links\":[{" link "}]}}", NULL}, {"DOWNLOAD", url, 0, file, NULL}}
  static const Hostile aCase[] = {
      {"plain http to another host", EXT(LINK("http://evil.example/x?sig=1")),
       SQLITE_ERROR, 0, "result chunk 0 does not match what Databricks promised: its external link is not an https URL"},
      {"another scheme", EXT(LINK("file:///etc/passwd")),
       SQLITE_ERROR, 0, "its external link is not an https URL"},
      {"a relative link", EXT(LINK("/api/2.0/admin?sig=1")),
       SQLITE_ERROR, 0, "its external link is not an https URL"},
      {"CR LF in the URL", EXT(LINK("https://s3/x?sig=1\\r\\nX-Injected: 1")),
       SQLITE_ERROR, 0, "its external link holds a blank or a control byte"},
      {"no URL", EXT("\"expiration\":\"2999-01-01T00:00:00Z\""),
       SQLITE_ERROR, 0, "its external link has no URL"},
      {"CR LF in a header value", EXT(LINK("https://s3/x?sig=1") ",\"http_headers\":{\"x-key\":\"secret-value\\r\\nX-Injected: 1\"}"),
       SQLITE_ERROR, 0, "the value of http_headers x-key is not a string free of control characters"},
      {"NUL-free control byte in a header value", EXT(LINK("https://s3/x?sig=1") ",\"http_headers\":{\"x-key\":\"secret-value\\u0007\"}"),
       SQLITE_ERROR, 0, "the value of http_headers x-key is not"},
      {"CR LF in a header name", EXT(LINK("https://s3/x?sig=1") ",\"http_headers\":{\"x-key\\r\\nX-Injected\":\"v\"}"),
       SQLITE_ERROR, 0, "http_headers holds a name that is not an HTTP header name"},
      {"a colon in a header name", EXT(LINK("https://s3/x?sig=1") ",\"http_headers\":{\"x-key: a\":\"v\"}"),
       SQLITE_ERROR, 0, "http_headers holds a name that is not"},
      {"an empty header name", EXT(LINK("https://s3/x?sig=1") ",\"http_headers\":{\"\":\"v\"}"),
       SQLITE_ERROR, 0, "http_headers holds a name that is not"},
      {"a number as a header value", EXT(LINK("https://s3/x?sig=1") ",\"http_headers\":{\"x-key\":5}"),
       SQLITE_ERROR, 0, "the value of http_headers x-key is not"},
      {"http_headers a list", EXT(LINK("https://s3/x?sig=1") ",\"http_headers\":[\"x-key: v\"]"),
       SQLITE_ERROR, 0, "http_headers is not a JSON object"},
      {"two links in one response",
       {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_ID "},\"result\":{\"external_links\":[{" LINK("https://s3/a") "},{" LINK("https://s3/b") "}]}}", NULL}},
       SQLITE_ERROR, 0, "it holds 2 external links"},
      {"a link and data_array",
       {{"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_ID "},\"result\":{\"data_array\":[],\"external_links\":[{" LINK("https://s3/a") "}]}}", NULL}},
       SQLITE_ERROR, 0, "both data_array and an external link"},
      {"a body shorter than byte_count", EXT_DL(LINK("https://s3/x?sig=1") ",\"byte_count\":20", "https://s3/x?sig=1", "[[\"1\"]]"),
       SQLITE_ERROR, 0, "result chunk 0 does not match what Databricks promised: its download holds 7 bytes, its byte_count says 20"},
      {"a body longer than byte_count", EXT_DL(LINK("https://s3/x?sig=1") ",\"byte_count\":3", "https://s3/x?sig=1", "[[\"1\"],[\"2\"]]"),
       SQLITE_ERROR, 0, "its download is larger than the 3 bytes of its byte_count"},
      {"a body when byte_count is 0", EXT_DL(LINK("https://s3/x?sig=1") ",\"byte_count\":0", "https://s3/x?sig=1", "[]"),
       SQLITE_ERROR, 0, "its download is larger than the 0 bytes of its byte_count"},
      {"rows unlike the link's row_count", EXT_DL(LINK("https://s3/x?sig=1") ",\"row_count\":3,\"byte_count\":13", "https://s3/x?sig=1", "[[\"1\"],[\"2\"]]"),
       SQLITE_OK, SQLITE_ERROR, "result chunk 0 does not match what Databricks promised: it holds 2 rows, its row_count says 3"},
      {"the link's chunk_index is another", EXT(LINK("https://s3/x?sig=1") ",\"chunk_index\":4"),
       SQLITE_ERROR, 0, "Databricks sent chunk 4 instead"},
      {"a loopback http link and exact sizes",
       EXT_DL(LINK("http://127.0.0.1:9/x?sig=1") ",\"chunk_index\":0,\"row_offset\":0,\"row_count\":2,\"byte_count\":13,"
              "\"http_headers\":{\"x-amz-server-side-encryption-customer-key\":\"a+/=b\"}",
              "http://127.0.0.1:9/x?sig=1", "[[\"1\"],[\"2\"]]"),
       SQLITE_OK, SQLITE_DONE, NULL},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) run_hostile(&aCase[i], DBX_DISP_EXTERNAL_LINKS);
#undef EXT
#undef EXT_DL
}

/* The download cap: the chunk's byte_count, or 256 MiB when none is given. */
static void downloads_are_capped_by_byte_count(void **state) {
  static const Step aSized[] = {
      {"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_ID ",\"chunks\":[{\"chunk_index\":0,\"byte_count\":7}]},"
                         "\"result\":{\"external_links\":[{" LINK("https://s3/x") "}]}}", NULL},
      {"DOWNLOAD", "https://s3/x", 0, "[[\"1\"]]", NULL},
  };
  static const Step aUnsized[] = {
      {"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_ID "},\"result\":{\"external_links\":[{" LINK("https://s3/x") "}]}}", NULL},
      {"DOWNLOAD", "https://s3/x", 0, "[[\"1\"]]", NULL},
  };
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  char zIds[16];
  (void)state;
  script(aSized, 2);
  options(&o);
  dbx_error_clear(&e);
  assert_int_equal(dbx_rows_execute(&fake, "SELECT 1", NULL, 0, &o, &p, &e), SQLITE_OK);
  assert_int_equal(fake.nMax, 7); /* the manifest's byte_count for chunk 0 */
  assert_int_equal(read_ids(p, zIds, sizeof(zIds), &e), SQLITE_DONE);
  assert_string_equal(zIds, "1");
  dbx_rows_free(p);
  script(aUnsized, 2);
  assert_int_equal(dbx_rows_execute(&fake, "SELECT 1", NULL, 0, &o, &p, &e), SQLITE_OK);
  assert_int_equal(fake.nMax, (size_t)256 * 1024 * 1024);
  dbx_rows_free(p);
}

/* Reads the one STRING cell of a one-row result into *pn bytes at zOut. */
static void read_string(const Step *aStep, int nStep, DbxDisposition eDisp, char *zOut,
                        size_t *pn) {
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  DbxCell c;
  script(aStep, nStep);
  options(&o);
  o.eDisposition = eDisp;
  dbx_error_clear(&e);
  assert_int_equal(dbx_rows_execute(&fake, "SELECT s", NULL, 0, &o, &p, &e), SQLITE_OK);
  assert_int_equal(dbx_rows_next(p, &e), SQLITE_ROW);
  assert_int_equal(dbx_rows_cell(p, 0, &c, &e), SQLITE_OK);
  assert_int_equal(c.eType, DBX_CELL_TEXT);
  assert_true(c.n < 64);
  memcpy(zOut, c.z, c.n);
  *pn = c.n;
  assert_int_equal(dbx_rows_next(p, &e), SQLITE_DONE);
  assert_int_equal(fake.iStep, nStep);
  dbx_rows_free(p);
}

static void embedded_nul_is_kept(void **state) {
  static const Step aInline[] = {
      {"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_S ",\"total_row_count\":1},"
                         "\"result\":{\"row_count\":1,\"data_array\":[[\"a\\u0000b\\u0000\"]]}}", NULL},
  };
  static const Step aPolled[] = {
      {"POST", STMT, 0, "{\"statement_id\":\"s1\",\"status\":{\"state\":\"PENDING\"}}", NULL},
      {"GET", STMT "/s1", 0, OK_HEAD("s1") "\"manifest\":{" COLS_S ",\"total_chunk_count\":2},"
                               "\"result\":{\"data_array\":[],\"next_chunk_index\":1}}", NULL},
      {"GET", STMT "/s1/result/chunks/1", 0, "{\"data_array\":[[\"a\\u0000b\\u0000\"]]}", NULL},
  };
  static const Step aLink[] = {
      {"POST", STMT, 0, OK_HEAD("s1") "\"manifest\":{" COLS_S "},\"result\":{\"external_links\":[{" LINK("https://s3/n") "}]}}", NULL},
      {"DOWNLOAD", "https://s3/n", 0, "[[\"a\\u0000b\\u0000\"]]", NULL},
  };
  char z[64];
  size_t n;
  (void)state;
  read_string(aInline, 1, DBX_DISP_INLINE, z, &n);
  assert_int_equal(n, 4);
  assert_memory_equal(z, "a\0b\0", 4);
  read_string(aPolled, 3, DBX_DISP_INLINE, z, &n);
  assert_int_equal(n, 4);
  assert_memory_equal(z, "a\0b\0", 4);
  read_string(aLink, 2, DBX_DISP_EXTERNAL_LINKS, z, &n);
  assert_int_equal(n, 4);
  assert_memory_equal(z, "a\0b\0", 4);
}

/* The progress hook: the elapsed time of each poll, on the fake clock. */
static int64_t aPollMs[32];
static int nPollMs;
static void progress_hook(void *pArg, const DbxStmtInfo *pInfo, int bDone) {
  (void)pArg;
  if (!bDone && nPollMs < (int)DBX_ARRAY_SIZE(aPollMs))
    aPollMs[nPollMs++] = pInfo->nMs;
}

static int64_t real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ten polls wait 100 ms doubling up to the 10 s cap, plus the jitter the
** client's generator gives, all on the client's clock: no real sleep. */
static void polling_backoff_runs_on_the_client_clock(void **state) {
  static const int64_t aWant[] = {113,  213,  413,   813,   1613,
                                  3213, 6413, 10013, 10013, 10013};
  static const char zRunning[] =
      "{\"statement_id\":\"s9\",\"status\":{\"state\":\"RUNNING\"}}";
  Step aStep[12];
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  char z[64];
  int64_t tReal = real_ms(), nSumMs = 0;
  int i;
  (void)state;
  aStep[0] = (Step){"POST", STMT, 0, zRunning, NULL};
  for (i = 1; i < 10; i++)
    aStep[i] = (Step){"GET", STMT "/s9", 0, zRunning, NULL};
  aStep[10] = (Step){
      "GET", STMT "/s9", 0,
      "{\"statement_id\":\"s9\",\"status\":{\"state\":\"SUCCEEDED\"},"
      "\"manifest\":{\"schema\":{\"columns\":[{\"name\":\"id\",\"position\":0,"
      "\"type_name\":\"LONG\"}]},\"total_row_count\":1,"
      "\"total_chunk_count\":1},"
      "\"result\":{\"chunk_index\":0,\"data_array\":[[\"7\"]]}}",
      NULL};
  script(aStep, 11);
  options(&o);
  o.nPollFirstMs = 100;
  o.bProgress = 1;
  o.xProgress = progress_hook;
  nPollMs = 0;
  uFakeRand = 13; /* below every jitter range (delay/4 + 1 >= 26) */
  fakeNowMs = 5000;
  nFakeSleep = 0;
  dbx_error_clear(&e);
  assert_int_equal(dbx_rows_execute(&fake, "SELECT 7", NULL, 0, &o, &p, &e),
                   SQLITE_OK);
  assert_int_equal(fake.iStep, 11);
  assert_int_equal(nPollMs, 10);
  for (i = 0; i < 10; i++) {
    nSumMs += aWant[i];
    assert_int_equal(aPollMs[i], nSumMs);
  }
  assert_int_equal(fakeNowMs, 5000 + nSumMs);
  /* the sleeps are slices of at most 25 ms: the interrupt is polled often */
  for (i = 0; i < nFakeSleep && i < (int)DBX_ARRAY_SIZE(aFakeSleep); i++)
    assert_true(aFakeSleep[i] > 0 && aFakeSleep[i] <= 25);
  assert_int_equal(read_ids(p, z, sizeof(z), &e), SQLITE_DONE);
  assert_string_equal(z, "7");
  dbx_rows_free(p);
  /* 42.8 s of backoff went by on the fake clock, none on the real one */
  assert_true(real_ms() - tReal < 5000);
}

/* The statement_timeout and the wait for the cancel to take hold also run
** on the client's clock: 1 s of polls (100, 200, 400 ms, then the timeout
** inside the 800 ms wait), the cancel, then polls 50 ms doubling to 1.6 s
** until 15 s have passed without the statement ending. */
static void statement_timeout_and_cancel_wait_on_the_client_clock(
    void **state) {
  static const char zRunning[] =
      "{\"statement_id\":\"s8\",\"status\":{\"state\":\"RUNNING\"}}";
  Step aStep[19];
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  int i, n = 0;
  int64_t tReal = real_ms();
  (void)state;
  aStep[n++] = (Step){"POST", STMT, 0, zRunning, NULL};
  for (i = 0; i < 3; i++)
    aStep[n++] = (Step){"GET", STMT "/s8", 0, zRunning, NULL};
  aStep[n++] = (Step){"POST", STMT "/s8/cancel", 0, "{}", NULL};
  /* cancel polls end at 50+100+200+400+800+9*1600 = 15950 ms > 15 s */
  for (i = 0; i < 14; i++)
    aStep[n++] = (Step){"GET", STMT "/s8", 0, zRunning, NULL};
  script(aStep, n);
  options(&o);
  o.nPollFirstMs = 100;
  o.rTimeoutSeconds = 1;
  uFakeRand = 0;
  fakeNowMs = 20000;
  nFakeSleep = 0;
  dbx_error_clear(&e);
  assert_int_equal(dbx_rows_execute(&fake, "SELECT slow()", NULL, 0, &o, &p,
                                    &e),
                   SQLITE_ERROR);
  assert_null(p);
  assert_int_equal(fake.iStep, 19);
  assert_string_equal(e.zCode, "STATEMENT_TIMEOUT");
  assert_string_equal(e.zStatement, "s8");
  assert_int_equal(fakeNowMs, 20000 + 1000 + 15950);
  assert_true(real_ms() - tReal < 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(polls_then_follows_inline_chunks),
      cmocka_unit_test(external_links_are_refreshed),
      cmocka_unit_test(options_alone_choose_warehouse_catalog_schema),
      cmocka_unit_test(failed_statement_reports_class_and_id),
      cmocka_unit_test(interrupt_cancels_remotely),
      cmocka_unit_test(inline_too_large_reruns_external),
      cmocka_unit_test(params_are_sent_typed),
      cmocka_unit_test(memory_is_bounded_by_about_one_chunk),
      cmocka_unit_test(statement_ids_are_checked_before_use),
      cmocka_unit_test(chunk_links_name_this_statement_and_the_next_chunk),
      cmocka_unit_test(chunk_indexes_only_go_forward),
      cmocka_unit_test(rows_are_checked_against_the_manifest),
      cmocka_unit_test(external_links_are_checked_before_download),
      cmocka_unit_test(downloads_are_capped_by_byte_count),
      cmocka_unit_test(embedded_nul_is_kept),
      cmocka_unit_test(polling_backoff_runs_on_the_client_clock),
      cmocka_unit_test(statement_timeout_and_cancel_wait_on_the_client_clock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
