/*
** Fuzz target: the Statement Execution API client (statements.c), read
** through rows.c as the SQL surface reads it, given what a workspace
** answers: submit and poll responses, manifests, INLINE chunks,
** EXTERNAL_LINKS and the chunk files behind them, error bodies.
** The real client, auth and HTTP layers run over a transport table that
** answers each request with the next part of the input:
**
**   #disposition=external_links     leading '#' lines: statement options
**   {"statement_id":"s1","status":{"state":"RUNNING"}}
**   %%
**   {"statement_id":"s1","status":{"state":"SUCCEEDED"},"manifest":...}
**   %%
**   503                              a first line of three digits is the
**   {"error_code":"TEMPORARILY_UNAVAILABLE"}     status, else 200
**
** Once the parts run out every request gets a 400. The clock is fake, so
** polling and retries cost no time. No error may carry the PAT.
*/
#include "args.h"
#include "client.h"
#include "fuzz.h"
#include "http.h"
#include "rows.h"

#define FUZZ_TOKEN     "dapi0fuzz1token2value3"
#define FUZZ_MAX_CALLS 64
#define FUZZ_SEPARATOR "\n%%\n"

/* The input being answered from. */
typedef struct Replies {
  const char *z; /* the rest of the input */
  size_t n;      /* bytes left */
  int nCalls;    /* requests answered */
  int64_t nowMs; /* fake clock */
} Replies;

static Replies g;

/* Cuts the next part off g; returns its bytes in *pn. */
static const char *next_part(size_t *pn) {
  const char *z = g.z, *zSep;
  size_t nSep = strlen(FUZZ_SEPARATOR);
  if (g.z == NULL) return NULL;
  zSep = memmem(g.z, g.n, FUZZ_SEPARATOR, nSep);
  if (zSep) {
    *pn = (size_t)(zSep - z);
    g.n -= *pn + nSep;
    g.z = zSep + nSep;
  } else {
    *pn = g.n;
    g.z = NULL;
    g.n = 0;
  }
  return z;
}

static int fuzz_perform(void *pCtx, const DbxHttpRequest *pReq,
                        DbxHttpResponse *pResp) {
  const char *z;
  size_t n = 0;
  (void)pCtx;
  (void)pReq;
  pResp->eNet = DBX_NET_OK;
  z = ++g.nCalls <= FUZZ_MAX_CALLS ? next_part(&n) : NULL;
  if (z == NULL) {
    static const char zEnd[] = "{\"error_code\":\"BAD_REQUEST\","
                               "\"message\":\"no more replies\"}";
    pResp->status = 400;
    dbx_buf_append(&pResp->body, zEnd, strlen(zEnd));
    return pResp->body.rc;
  }
  pResp->status = 200;
  if (n >= 4 && z[0] >= '1' && z[0] <= '5' && z[1] >= '0' && z[1] <= '9' &&
      z[2] >= '0' && z[2] <= '9' && z[3] == '\n') {
    pResp->status = (z[0] - '0') * 100 + (z[1] - '0') * 10 + (z[2] - '0');
    z += 4;
    n -= 4;
  }
  dbx_buf_append(&pResp->body, z, n);
  return pResp->body.rc;
}

static int64_t fuzz_now(void *pCtx) {
  (void)pCtx;
  return g.nowMs;
}

static void fuzz_sleep(void *pCtx, int64_t ms) {
  (void)pCtx;
  g.nowMs += ms;
}

static DbxHttpTransport tr = {fuzz_perform, fuzz_now, fuzz_sleep, NULL};
static DbxClient *pClient;

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv) {
  DbxConfig *p;
  DbxError e;
  (void)pArgc;
  (void)pArgv;
  fuzz_isolate();
  dbx_error_clear(&e);
  dbx_client_test_transport(&tr);
  if (dbx_config_new(&p) != SQLITE_OK ||
      dbx_config_set(p, "host", "http://127.0.0.1:9", DBX_SRC_OPTION, &e) ||
      dbx_config_set(p, "token", FUZZ_TOKEN, DBX_SRC_ENV, &e) ||
      dbx_config_set(p, "warehouse_id", "wh1", DBX_SRC_OPTION, &e) ||
      dbx_config_resolve(p, &e) || dbx_client_open(p, &pClient, &e)) {
    fprintf(stderr, "fuzz: no client: %s\n", e.zMsg);
    abort();
  }
  dbx_config_free(p);
  return 0;
}

/* No message may hold the token, whole or in part. */
static void check_error(const char *z) {
  FUZZ_CHECK(z == NULL || strstr(z, "dapi0fuz") == NULL);
}

static void log_hook(void *pArg, const DbxStmtInfo *pInfo) {
  (void)pArg;
  FUZZ_CHECK(pInfo->zState != NULL && pInfo->zStatementId != NULL);
  check_error(pInfo->zError);
}

/* Applies the leading "#key=value" lines as statement options. */
static void read_options(DbxStmtOptions *pOpt) {
  while (g.n > 0 && g.z[0] == '#') {
    const char *zEnd = memchr(g.z, '\n', g.n), *zEq;
    size_t nLine = zEnd ? (size_t)(zEnd - g.z) : g.n;
    char zLine[128];
    DbxError e;
    if (nLine < sizeof(zLine)) {
      memcpy(zLine, g.z + 1, nLine - 1);
      zLine[nLine - 1] = 0;
      zEq = strchr(zLine, '=');
      if (zEq) {
        zLine[zEq - zLine] = 0;
        dbx_error_clear(&e);
        dbx_stmt_option(pOpt, zLine, zEq + 1, &e);
      }
    }
    g.z += zEnd ? nLine + 1 : nLine;
    g.n -= zEnd ? nLine + 1 : nLine;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *a, size_t n) {
  DbxStmtOptions o;
  DbxRows *pRows = NULL;
  DbxParam aParam[1] = {{"p", "1", "BIGINT"}};
  DbxError e;
  int rc, nRow = 0;

  memset(&g, 0, sizeof(g));
  g.z = (const char *)a;
  g.n = n;
  g.nowMs = 1000000;
  dbx_stmt_options_init(&o);
  o.zWarehouseId = "wh1";
  o.nPollFirstMs = 1;
  o.xLog = log_hook;
  read_options(&o);
  if (o.nWaitSeconds > 50) o.nWaitSeconds = 50;

  dbx_error_clear(&e);
  rc = dbx_rows_execute(pClient, "SELECT * FROM t WHERE id > :p", aParam, 1, &o,
                        &pRows, &e);
  if (rc != SQLITE_OK) {
    FUZZ_CHECK(pRows == NULL && e.rc != SQLITE_OK);
    check_error(e.zMsg);
    return 0;
  }
  if (n % 2) {
    char *zSummary = dbx_args_exec_summary(pRows, &e);
    if (zSummary == NULL) check_error(e.zMsg);
    sqlite3_free(zSummary);
    dbx_error_clear(&e);
  }
  while ((rc = dbx_rows_next(pRows, &e)) == SQLITE_ROW && nRow++ < 100000) {
    int i, nCol = dbx_rows_column_count(pRows);
    FUZZ_CHECK(dbx_stmt_rownum(dbx_rows_stmt(pRows)) >= 1);
    for (i = 0; i < nCol; i++) {
      DbxCell c;
      if (dbx_rows_cell(pRows, i, &c, &e) != SQLITE_OK) {
        check_error(e.zMsg);
        dbx_error_clear(&e);
        continue;
      }
      FUZZ_CHECK(c.eType >= DBX_CELL_INTEGER && c.eType <= DBX_CELL_NULL);
      if (c.eType == DBX_CELL_TEXT) FUZZ_CHECK(c.z[c.n] == 0);
    }
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) check_error(e.zMsg);
  dbx_rows_free(pRows);
  return 0;
}
