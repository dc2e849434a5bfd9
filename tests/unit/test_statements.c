/*
** Unit tests of statements.c against a scripted fake workspace client.
**
** This binary defines the client.h functions statements.c uses, so the
** linker takes them instead of client.c: every call is checked against the
** next step of a script and answered with that step's canned reply.
*/
#include <stdlib.h>

#include "unit.h"
#include "statements.h"

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
  char zHeaders[256]; /* headers of the last download, joined */
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

int dbx_client_download(DbxClient *p, const char *zUrl,
                        const char *const *azHeader, int nHeader, DbxBuf *pOut,
                        DbxError *pErr) {
  const Step *s = next_step("DOWNLOAD", zUrl);
  int i;
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
  dbx_buf_append(pOut, s->zReply, strlen(s->zReply));
  return SQLITE_OK;
}

void dbx_client_set_interrupt(DbxClient *p, DbxInterruptFn x, void *pArg) {
  p->xInterrupt = x;
  p->pInterruptArg = pArg;
}

const DbxConfig *dbx_client_config(const DbxClient *p) {
  (void)p;
  return NULL;
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
static int read_ids(DbxStmt *p, char *zOut, size_t nOut, DbxError *pErr) {
  int rc;
  DbxCell c;
  zOut[0] = 0;
  while ((rc = dbx_stmt_next(p, pErr)) == SQLITE_ROW) {
    assert_int_equal(dbx_stmt_cell(p, 0, &c, pErr), SQLITE_OK);
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
  DbxStmt *p = NULL;
  DbxError e;
  char zIds[64];
  (void)state;
  script(aStep, 5);
  options(&o);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_stmt_execute(&fake, "SELECT id FROM t", NULL, 0, &o, &p, &e),
      SQLITE_OK);
  assert_string_equal(dbx_stmt_id(p), "s1");
  assert_int_equal(dbx_stmt_total_rows(p), 5);
  assert_int_equal(read_ids(p, zIds, sizeof(zIds), &e), SQLITE_DONE);
  assert_string_equal(zIds, "1,2,3,4,5");
  assert_int_equal(dbx_stmt_next(p, &e), SQLITE_DONE); /* stays done */
  assert_int_equal(fake.iStep, 5);
  dbx_stmt_free(p);
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
  DbxStmt *p = NULL;
  DbxError e;
  char zIds[64];
  (void)state;
  script(aStep, 6);
  options(&o);
  o.eDisposition = DBX_DISP_EXTERNAL_LINKS;
  dbx_error_clear(&e);
  assert_int_equal(dbx_stmt_execute(&fake, "SELECT 1", NULL, 0, &o, &p, &e),
                   SQLITE_OK);
  assert_string_equal(fake.zHeaders, "x-amz-key: k1;");
  assert_int_equal(read_ids(p, zIds, sizeof(zIds), &e), SQLITE_DONE);
  assert_string_equal(zIds, "1,2,3");
  assert_string_equal(fake.zHeaders, "h: v;");
  assert_int_equal(fake.iStep, 6);
  dbx_stmt_free(p);
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
  DbxStmt *p = NULL;
  DbxError e;
  char *z;
  (void)state;
  script(aStep, 1);
  options(&o);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_stmt_execute(&fake, "SELECT * FROM x", NULL, 0, &o, &p, &e),
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
  DbxStmt *p = NULL;
  DbxError e;
  int n = 0;
  (void)state;
  script(aStep, 3);
  options(&o);
  o.xInterrupt = interrupt_now;
  o.pInterruptArg = &n;
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_stmt_execute(&fake, "SELECT slow()", NULL, 0, &o, &p, &e),
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
  DbxStmt *p = NULL;
  DbxError e;
  (void)state;
  script(aStep, 2);
  options(&o);
  dbx_error_clear(&e);
  assert_int_equal(dbx_stmt_execute(&fake, "SELECT big", NULL, 0, &o, &p, &e),
                   SQLITE_OK);
  assert_int_equal(nLogged, 1); /* the failed INLINE attempt */
  assert_string_equal(zLastState, "FAILED");
  assert_string_equal(dbx_stmt_id(p), "s6");
  assert_int_equal(dbx_stmt_next(p, &e), SQLITE_DONE);
  dbx_stmt_free(p);
  assert_int_equal(nLogged, 2);
}

static void params_and_summary(void **state) {
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
  DbxStmtOptions o;
  DbxStmt *p = NULL;
  DbxParam *a;
  DbxError e;
  char *z;
  int n;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_stmt_params_parse(
          "{\"a\":41,\"b\":\"x\",\"c\":null,\"d\":true,\"e\":0.5}", &a, &n, &e),
      SQLITE_OK);
  assert_int_equal(n, 5);
  script(aStep, 1);
  options(&o);
  assert_int_equal(dbx_stmt_execute(&fake, "INSERT :a", a, n, &o, &p, &e),
                   SQLITE_OK);
  sqlite3_free(a);
  z = dbx_stmt_summary_json(p, &e);
  assert_string_equal(z, "{\"statement_id\":\"s7\",\"state\":\"SUCCEEDED\","
                         "\"num_affected_rows\":3,"
                         "\"num_inserted_rows\":3,\"total_row_count\":1}");
  sqlite3_free(z);
  dbx_stmt_free(p);
  assert_int_equal(
      dbx_stmt_params_parse(
          "[{\"name\":\"x\",\"value\":\"2024-01-01\",\"type\":\"DATE\"}]", &a,
          &n, &e),
      SQLITE_OK);
  assert_string_equal(a[0].zType, "DATE");
  assert_string_equal(a[0].zValue, "2024-01-01");
  sqlite3_free(a);
  assert_int_equal(dbx_stmt_params_parse("{\"x\":[1]}", &a, &n, &e),
                   SQLITE_ERROR);
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
  DbxStmt *p = NULL;
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
  assert_int_equal(dbx_stmt_execute(&fake, "SELECT big", NULL, 0, &o, &p, &e),
                   SQLITE_OK);
  while ((rc = dbx_stmt_next(p, &e)) == SQLITE_ROW) {
    assert_int_equal(dbx_stmt_cell(p, 0, &c, &e), SQLITE_OK);
    assert_true(c.iVal == iWant);
    iWant++;
  }
  assert_int_equal(rc, SQLITE_DONE);
  assert_true(iWant == BIG_CHUNKS * BIG_ROWS + 1);
  assert_int_equal(fake.iStep, nStep);
  *pnHeap = sqlite3_memory_highwater(0) - nBase;
  dbx_stmt_free(p);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(polls_then_follows_inline_chunks),
      cmocka_unit_test(external_links_are_refreshed),
      cmocka_unit_test(failed_statement_reports_class_and_id),
      cmocka_unit_test(interrupt_cancels_remotely),
      cmocka_unit_test(inline_too_large_reruns_external),
      cmocka_unit_test(params_and_summary),
      cmocka_unit_test(memory_is_bounded_by_about_one_chunk),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
