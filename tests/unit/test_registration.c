/*
** Unit tests of sqlite3_databricks_init(): when one registration fails, the
** entry point stops there and its error names the function that failed.
**
** SQLite refuses to replace a function while a statement of the connection
** is running (SQLITE_BUSY), which makes a chosen registration fail: the
** test registers a function of the same name and arity first, then loads
** the extension with a statement still running.
*/
#include "unit.h"

/* A stand-in for a function the extension registers. */
static void stand_in(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_int(ctx, 7);
}

/*
** Loads the extension into a new connection on which zName (nArg) already
** exists and a statement is running. Returns the entry point's result code
** and its error in *pzErr (sqlite3_free); *pbStandIn says whether zName
** still answers as the stand-in afterwards.
*/
static int load_while_busy(const char *zName, int nArg, char **pzErr,
                           int *pbStandIn) {
  sqlite3 *db = NULL;
  sqlite3_stmt *pBusy = NULL, *pCall = NULL;
  char *zSql;
  int rc;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(sqlite3_create_function(db, zName, nArg, SQLITE_UTF8, NULL,
                                           stand_in, NULL, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "WITH RECURSIVE c(i) AS (SELECT 1 "
                                      "UNION ALL SELECT i + 1 FROM c "
                                      "WHERE i < 3) SELECT i FROM c",
                                      -1, &pBusy, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(pBusy), SQLITE_ROW); /* stays running */
  *pzErr = NULL;
  rc = sqlite3_databricks_init(db, pzErr, NULL);
  sqlite3_finalize(pBusy);
  zSql = sqlite3_mprintf("SELECT %s(%s)", zName, nArg == 1 ? "'x'" : "");
  assert_non_null(zSql);
  *pbStandIn = sqlite3_prepare_v2(db, zSql, -1, &pCall, NULL) == SQLITE_OK &&
               sqlite3_step(pCall) == SQLITE_ROW &&
               sqlite3_column_int(pCall, 0) == 7;
  sqlite3_finalize(pCall);
  sqlite3_free(zSql);
  sqlite3_close(db);
  return rc;
}

/* The error names the one function that failed, not a group of them. */
static void failure_names_the_function(void **state) {
  static const struct {
    const char *zName;
    int nArg;
  } aCase[] = {{"dbx_version", 0},
               {"dbx_config", -1},
               {"dbx_exec", -1},
               {"dbx_refresh", 1},
               {"dbx_volume_put", -1},
               {"dbx_volume_mkdir", -1},
               {"dbx_parquet", -1}};
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    char *zErr = NULL, *zWant;
    int bStandIn = 0;
    int rc = load_while_busy(aCase[i].zName, aCase[i].nArg, &zErr, &bStandIn);
    assert_int_equal(rc, SQLITE_BUSY);
    zWant = sqlite3_mprintf("databricks: cannot register %s: ", aCase[i].zName);
    assert_non_null(zErr);
    assert_memory_equal(zErr, zWant, strlen(zWant));
    assert_true(bStandIn); /* the existing function was left alone */
    sqlite3_free(zWant);
    sqlite3_free(zErr);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(failure_names_the_function),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
