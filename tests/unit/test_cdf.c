/*
** Unit tests of cdf.c: the table_changes() range from constraints, how it
** settles against the latest version, the SQL of a change read, what the
** history says about the feed, and the one-line errors.
*/
#include "unit.h"

#include "cdf.h"

static const DbxCdfTable T = {"main", "my sch", "t`x"};

static DbxValue int_val(int64_t i) {
  DbxValue v;
  memset(&v, 0, sizeof(v));
  v.eType = DBX_VAL_INT;
  v.i = i;
  return v;
}

static DbxValue real_val(double r) {
  DbxValue v;
  memset(&v, 0, sizeof(v));
  v.eType = DBX_VAL_REAL;
  v.r = r;
  return v;
}

static DbxValue text_val(const char *z) {
  DbxValue v;
  memset(&v, 0, sizeof(v));
  v.eType = DBX_VAL_TEXT;
  v.z = z;
  v.n = (int)strlen(z);
  return v;
}

/* The range of one version constraint. */
static DbxCdfRange version_range(DbxOp eOp, DbxValue v) {
  DbxCdfRange r;
  dbx_cdf_range_init(&r);
  dbx_cdf_range_add(&r, 0, eOp, &v);
  return r;
}

#define ASSERT_RANGE(r, lo, hi, empty)                                         \
  do {                                                                         \
    assert_int_equal((r).iStart, (lo));                                        \
    assert_int_equal((r).iEnd, (hi));                                          \
    assert_int_equal((r).bEmpty, (empty));                                     \
  } while (0)

static void version_constraints_bound_the_range(void **state) {
  DbxCdfRange r;
  DbxValue aList[4];
  DbxValue in;
  (void)state;
  r = version_range(DBX_OP_EQ, int_val(3));
  ASSERT_RANGE(r, 3, 3, 0);
  r = version_range(DBX_OP_IS, int_val(0));
  ASSERT_RANGE(r, 0, 0, 0);
  r = version_range(DBX_OP_GT, int_val(3));
  ASSERT_RANGE(r, 4, DBX_CDF_NONE, 0);
  r = version_range(DBX_OP_GE, int_val(3));
  ASSERT_RANGE(r, 3, DBX_CDF_NONE, 0);
  r = version_range(DBX_OP_LT, int_val(3));
  ASSERT_RANGE(r, DBX_CDF_NONE, 2, 0);
  r = version_range(DBX_OP_LE, int_val(3));
  ASSERT_RANGE(r, DBX_CDF_NONE, 3, 0);
  /* below version 0: a start of 0, an end that leaves nothing */
  r = version_range(DBX_OP_GT, int_val(-5));
  ASSERT_RANGE(r, 0, DBX_CDF_NONE, 0);
  r = version_range(DBX_OP_LT, int_val(0));
  assert_true(r.bEmpty);
  r = version_range(DBX_OP_GT, int_val(INT64_MAX));
  assert_true(r.bEmpty);
  r = version_range(DBX_OP_LT, int_val(INT64_MIN));
  assert_true(r.bEmpty);
  /* reals: the whole versions they let through */
  r = version_range(DBX_OP_GT, real_val(1.5));
  ASSERT_RANGE(r, 2, DBX_CDF_NONE, 0);
  r = version_range(DBX_OP_GE, real_val(1.5));
  ASSERT_RANGE(r, 2, DBX_CDF_NONE, 0);
  r = version_range(DBX_OP_LT, real_val(3.5));
  ASSERT_RANGE(r, DBX_CDF_NONE, 3, 0);
  r = version_range(DBX_OP_LT, real_val(3.0));
  ASSERT_RANGE(r, DBX_CDF_NONE, 2, 0);
  r = version_range(DBX_OP_LE, real_val(3.5));
  ASSERT_RANGE(r, DBX_CDF_NONE, 3, 0);
  r = version_range(DBX_OP_EQ, real_val(2.5));
  ASSERT_RANGE(r, 3, 2, 0); /* end before start: settles as empty */
  r = version_range(DBX_OP_EQ, real_val(2.0));
  ASSERT_RANGE(r, 2, 2, 0);
  r = version_range(DBX_OP_GE, real_val(1e300));
  assert_true(r.bEmpty);
  r = version_range(DBX_OP_LE, real_val(1e300));
  ASSERT_RANGE(r, DBX_CDF_NONE, DBX_CDF_NONE, 0);
  /* text, NULL, NE and LIKE say nothing about the range */
  r = version_range(DBX_OP_GT, text_val("abc"));
  ASSERT_RANGE(r, DBX_CDF_NONE, DBX_CDF_NONE, 0);
  r = version_range(DBX_OP_NE, int_val(3));
  ASSERT_RANGE(r, DBX_CDF_NONE, DBX_CDF_NONE, 0);
  /* several constraints: the tightest of each end (BETWEEN is two) */
  dbx_cdf_range_init(&r);
  aList[0] = int_val(2);
  dbx_cdf_range_add(&r, 0, DBX_OP_GE, &aList[0]);
  aList[0] = int_val(4);
  dbx_cdf_range_add(&r, 0, DBX_OP_GE, &aList[0]);
  aList[0] = int_val(9);
  dbx_cdf_range_add(&r, 0, DBX_OP_LE, &aList[0]);
  aList[0] = int_val(6);
  dbx_cdf_range_add(&r, 0, DBX_OP_LT, &aList[0]);
  ASSERT_RANGE(r, 4, 5, 0);
  /* IN: from the least to the greatest member that can equal a version */
  aList[0] = int_val(7);
  aList[1] = text_val("x");
  aList[2] = real_val(2.0);
  aList[3] = real_val(0.5);
  memset(&in, 0, sizeof(in));
  in.nList = 4;
  in.aList = aList;
  r = version_range(DBX_OP_IN, in);
  ASSERT_RANGE(r, 2, 7, 0);
  in.nList = 2;
  in.aList = &aList[1]; /* "x", 2.0 */
  r = version_range(DBX_OP_IN, in);
  ASSERT_RANGE(r, 2, 2, 0);
  in.nList = 1; /* "x" alone matches nothing */
  r = version_range(DBX_OP_IN, in);
  assert_true(r.bEmpty);
}

static void timestamp_constraints_bound_the_range(void **state) {
  DbxCdfRange r;
  DbxValue v;
  (void)state;
  dbx_cdf_range_init(&r);
  v = text_val("2024-01-02 03:04:05.5");
  dbx_cdf_range_add(&r, 1, DBX_OP_GT, &v);
  assert_string_equal(r.zStartTs, "2024-01-02 03:04:05.5");
  v = text_val("2024-01-02 03:04:05");
  dbx_cdf_range_add(&r, 1, DBX_OP_GE, &v); /* earlier: the later one stays */
  assert_string_equal(r.zStartTs, "2024-01-02 03:04:05.5");
  v = text_val("2024-02-01");
  dbx_cdf_range_add(&r, 1, DBX_OP_LT, &v); /* a bare day is its midnight */
  assert_string_equal(r.zEndTs, "2024-02-01 00:00:00");
  v = text_val("2024-01-20 00:00:00");
  dbx_cdf_range_add(&r, 1, DBX_OP_LE, &v);
  assert_string_equal(r.zEndTs, "2024-01-20 00:00:00");
  assert_int_equal(r.iStart, DBX_CDF_NONE);
  /* EQ bounds both ends; texts that are no time, and a bare day under
  ** EQ, bound nothing */
  dbx_cdf_range_init(&r);
  v = text_val("2024-01-02 03:04:05");
  dbx_cdf_range_add(&r, 1, DBX_OP_EQ, &v);
  assert_string_equal(r.zStartTs, "2024-01-02 03:04:05");
  assert_string_equal(r.zEndTs, "2024-01-02 03:04:05");
  dbx_cdf_range_init(&r);
  v = text_val("2024-01-02T03:04:05Z");
  dbx_cdf_range_add(&r, 1, DBX_OP_GE, &v);
  v = text_val("2024-01-02 03:04:05.10"); /* a trailing 0 is not canonical */
  dbx_cdf_range_add(&r, 1, DBX_OP_GE, &v);
  v = text_val("2024-01-02");
  dbx_cdf_range_add(&r, 1, DBX_OP_EQ, &v);
  v = int_val(5);
  dbx_cdf_range_add(&r, 1, DBX_OP_LT, &v);
  assert_string_equal(r.zStartTs, "");
  assert_string_equal(r.zEndTs, "");
  assert_false(r.bEmpty);
}

static void ranges_settle_against_the_latest_version(void **state) {
  DbxCdfLatest latest = {7, "2024-05-01 10:00:00.5"};
  DbxCdfRange r;
  (void)state;
  /* no bounds: from iFirst to the latest */
  dbx_cdf_range_init(&r);
  assert_true(dbx_cdf_range_settle(&r, &latest, 0));
  ASSERT_RANGE(r, 0, 7, 0);
  dbx_cdf_range_init(&r);
  r.iEnd = 100;
  assert_true(dbx_cdf_range_settle(&r, &latest, 2));
  ASSERT_RANGE(r, 2, 7, 0);
  /* beyond the latest version: empty */
  dbx_cdf_range_init(&r);
  r.iStart = 8;
  assert_false(dbx_cdf_range_settle(&r, &latest, 0));
  dbx_cdf_range_init(&r);
  r.iStart = 5;
  r.iEnd = 4;
  assert_false(dbx_cdf_range_settle(&r, &latest, 0));
  dbx_cdf_range_init(&r);
  r.bEmpty = 1;
  assert_false(dbx_cdf_range_settle(&r, &latest, 0));
  /* a start time after the latest commit: empty; at it: read */
  dbx_cdf_range_init(&r);
  snprintf(r.zStartTs, sizeof(r.zStartTs), "2024-05-01 10:00:00.6");
  assert_false(dbx_cdf_range_settle(&r, &latest, 0));
  dbx_cdf_range_init(&r);
  snprintf(r.zStartTs, sizeof(r.zStartTs), "2024-05-01 10:00:00.5");
  assert_true(dbx_cdf_range_settle(&r, &latest, 0));
  assert_int_equal(r.iStart, DBX_CDF_NONE);
  assert_string_equal(r.zStartTs, "2024-05-01 10:00:00.5");
  assert_int_equal(r.iEnd, 7);
  /* a version wins over a time at the same end; an end time at or after
  ** the latest commit is the latest version */
  dbx_cdf_range_init(&r);
  r.iStart = 3;
  snprintf(r.zStartTs, sizeof(r.zStartTs), "2024-01-01 00:00:00");
  snprintf(r.zEndTs, sizeof(r.zEndTs), "2024-04-01 00:00:00");
  assert_true(dbx_cdf_range_settle(&r, &latest, 0));
  assert_string_equal(r.zStartTs, "");
  assert_int_equal(r.iEnd, DBX_CDF_NONE);
  assert_string_equal(r.zEndTs, "2024-04-01 00:00:00");
  dbx_cdf_range_init(&r);
  snprintf(r.zEndTs, sizeof(r.zEndTs), "2024-06-01 00:00:00");
  assert_true(dbx_cdf_range_settle(&r, &latest, 0));
  ASSERT_RANGE(r, 0, 7, 0);
  assert_string_equal(r.zEndTs, "");
  /* times in the wrong order: empty */
  dbx_cdf_range_init(&r);
  snprintf(r.zStartTs, sizeof(r.zStartTs), "2024-03-01 00:00:00");
  snprintf(r.zEndTs, sizeof(r.zEndTs), "2024-02-01 00:00:00");
  assert_false(dbx_cdf_range_settle(&r, &latest, 0));
}

static void change_reads_are_table_changes_calls(void **state) {
  DbxBuf b = {0};
  DbxCdfRange r;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  dbx_cdf_range_init(&r);
  r.iStart = 3;
  r.iEnd = 7;
  assert_int_equal(dbx_cdf_source(&b, &T, &r, &e), SQLITE_OK);
  /* the name is a string literal of backticked parts (backslash escapes
  ** are active in Databricks literals; a backtick inside is doubled) */
  assert_string_equal(b.z, "table_changes('`main`.`my sch`.`t``x`', 3, 7)");
  dbx_buf_reset(&b);
  dbx_cdf_range_init(&r);
  snprintf(r.zStartTs, sizeof(r.zStartTs), "2024-01-02 03:04:05.5");
  snprintf(r.zEndTs, sizeof(r.zEndTs), "2024-02-01 00:00:00");
  assert_int_equal(dbx_cdf_source(&b, &T, &r, &e), SQLITE_OK);
  assert_string_equal(b.z, "table_changes('`main`.`my sch`.`t``x`', "
                           "'2024-01-02 03:04:05.5Z', '2024-02-01 00:00:00Z')");
  dbx_buf_reset(&b);
  r.iStart = 0;
  r.zEndTs[0] = 0;
  assert_int_equal(dbx_cdf_source(&b, &T, &r, &e), SQLITE_OK);
  assert_string_equal(b.z, "table_changes('`main`.`my sch`.`t``x`', 0)");
  /* a time bound that is not one, and no start, are refused, leaving the
  ** buffer as it was */
  dbx_buf_reset(&b);
  dbx_buf_appendf(&b, "x");
  dbx_cdf_range_init(&r);
  snprintf(r.zStartTs, sizeof(r.zStartTs), "2024-01-01'); DROP");
  assert_int_equal(dbx_cdf_source(&b, &T, &r, &e), SQLITE_ERROR);
  assert_string_equal(b.z, "x");
  dbx_error_clear(&e);
  dbx_cdf_range_init(&r);
  assert_int_equal(dbx_cdf_source(&b, &T, &r, &e), SQLITE_ERROR);
  assert_string_equal(b.z, "x");
  dbx_buf_reset(&b);
  dbx_cdf_history_sql(&b, &T, 1);
  assert_string_equal(b.z, "DESCRIBE HISTORY `main`.`my sch`.`t``x` LIMIT 1");
  dbx_buf_reset(&b);
  dbx_cdf_history_sql(&b, &T, 0);
  assert_string_equal(b.z, "DESCRIBE HISTORY `main`.`my sch`.`t``x`");
  dbx_buf_free(&b);
}

static void history_says_where_the_feed_starts(void **state) {
  DbxCdfHistory h;
  (void)state;
  /* created with the feed on */
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 2, "WRITE", "{\"mode\":\"Append\"}");
  dbx_cdf_history_row(&h, 1, "WRITE", NULL);
  dbx_cdf_history_row(&h, 0, "CREATE TABLE",
                      "{\"properties\":\"{\\\"delta.enableChangeDataFeed\\\""
                      ":\\\"true\\\"}\"}");
  assert_int_equal(h.iLatest, 2);
  assert_int_equal(h.iEarliest, 0);
  assert_int_equal(h.iFirstCdf, 0);
  assert_true(h.bDecided);
  /* enabled later by SET TBLPROPERTIES (key and value as Databricks
  ** writes them too) */
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 3, "WRITE", NULL);
  dbx_cdf_history_row(&h, 2, "SET TBLPROPERTIES",
                      "{\"properties\":{\"delta.enableChangeDataFeed\":"
                      "\"TRUE\"}}");
  dbx_cdf_history_row(&h, 1, "WRITE", NULL);
  dbx_cdf_history_row(&h, 0, "CREATE TABLE", "{\"properties\":\"{}\"}");
  assert_int_equal(h.iFirstCdf, 2);
  /* never enabled, turned off, unset, replaced without it */
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 1, "WRITE", NULL);
  dbx_cdf_history_row(&h, 0, "CREATE TABLE", "{\"properties\":\"{}\"}");
  assert_int_equal(h.iFirstCdf, DBX_CDF_NONE);
  assert_true(h.bDecided);
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 2, "SET TBLPROPERTIES",
                      "{delta.enableChangeDataFeed=false}");
  dbx_cdf_history_row(&h, 0, "CREATE TABLE",
                      "{delta.enableChangeDataFeed=true}");
  assert_int_equal(h.iFirstCdf, DBX_CDF_NONE);
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(
      &h, 2, "UNSET TBLPROPERTIES",
      "{\"properties\":\"[\\\"delta.enableChangeDataFeed\\\"]\"}");
  assert_int_equal(h.iFirstCdf, DBX_CDF_NONE);
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 5, "CREATE OR REPLACE TABLE",
                      "{\"properties\":\"{}\"}");
  dbx_cdf_history_row(&h, 0, "CREATE TABLE",
                      "{delta.enableChangeDataFeed=true}");
  assert_int_equal(h.iFirstCdf, DBX_CDF_NONE);
  /* other properties do not decide */
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 4, "SET TBLPROPERTIES", "{\"owner\":\"x\"}");
  dbx_cdf_history_row(&h, 3, "REPLACE TABLE AS SELECT",
                      "{delta.enableChangeDataFeed=true}");
  assert_int_equal(h.iFirstCdf, 3);
  /* the commit that decided has expired: from the oldest listed */
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 9, "WRITE", NULL);
  dbx_cdf_history_row(&h, 8, "MERGE", NULL);
  assert_int_equal(h.iEarliest, 8);
  assert_int_equal(h.iFirstCdf, 8);
  assert_false(h.bDecided);
}

/* An error as the statement client records a FAILED statement. */
static DbxError failed(const char *zCode) {
  DbxError e;
  dbx_error_clear(&e);
  dbx_error_set_api(&e, SQLITE_ERROR, 0, zCode, "[%s] raw message", zCode);
  snprintf(e.zStatement, sizeof(e.zStatement), "stmt-1");
  return e;
}

static void errors_say_what_to_do(void **state) {
  DbxCdfRange r;
  DbxCdfHistory h;
  DbxError e;
  static const DbxCdfTable U = {"main", "default", "users"};
  (void)state;
  dbx_cdf_range_init(&r);
  r.iStart = 0;
  r.iEnd = 5;
  /* off: the exact ALTER TABLE to run */
  e = failed("DELTA_MISSING_CHANGE_DATA");
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 5, "WRITE", NULL);
  dbx_cdf_history_row(&h, 0, "CREATE TABLE", "{}");
  dbx_cdf_error(&e, &U, &r, &h);
  assert_string_equal(
      e.zMsg,
      "the change data feed of main.default.users is not enabled for "
      "versions 0 to 5: run ALTER TABLE `main`.`default`.`users` SET "
      "TBLPROPERTIES (delta.enableChangeDataFeed = true) to record changes "
      "from now on, and read only versions after that");
  assert_string_equal(e.zCode, "DELTA_MISSING_CHANGE_DATA");
  assert_string_equal(e.zStatement, "stmt-1");
  assert_int_equal(e.rc, SQLITE_ERROR);
  /* without the history, the same way out */
  e = failed("DELTA_MISSING_CHANGE_DATA");
  dbx_cdf_error(&e, &U, &r, NULL);
  assert_non_null(
      strstr(e.zMsg, "SET TBLPROPERTIES (delta.enableChangeDataFeed = true)"));
  /* enabled at version 3: read from there, or resync */
  e = failed("DELTA_MISSING_CHANGE_DATA");
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 5, "WRITE", NULL);
  dbx_cdf_history_row(&h, 3, "SET TBLPROPERTIES",
                      "{delta.enableChangeDataFeed=true}");
  dbx_cdf_error(&e, &U, &r, &h);
  assert_string_equal(
      e.zMsg,
      "versions 0 to 5 of main.default.users include some without change "
      "data (the change data feed is on from version 3): read from version "
      "3 on (_commit_version >= 3), or resync the local copy in full "
      "(dbx_sync with a later start)");
  /* vacuumed or expired: from the oldest version listed */
  e = failed("DELTA_CHANGE_DATA_FILE_NOT_FOUND");
  dbx_cdf_history_init(&h);
  dbx_cdf_history_row(&h, 5, "WRITE", NULL);
  dbx_cdf_history_row(&h, 4, "WRITE", NULL);
  dbx_cdf_error(&e, &U, &r, &h);
  assert_string_equal(
      e.zMsg,
      "the change data of main.default.users before version 4 is gone "
      "(vacuumed or past the log retention), so versions 0 to 5 cannot be "
      "read: read from version 4 on (_commit_version >= 4), or resync the "
      "local copy in full (dbx_sync with a later start)");
  e = failed("DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION");
  dbx_cdf_range_init(&r);
  snprintf(r.zStartTs, sizeof(r.zStartTs), "2024-01-01 00:00:00");
  r.iEnd = 5;
  dbx_cdf_error(&e, &U, &r, NULL);
  assert_string_equal(
      e.zMsg,
      "the change data of main.default.users for versions from 2024-01-01 "
      "00:00:00 to 5 is gone (vacuumed or past the log retention): read a "
      "later range, or resync the local copy in full (dbx_sync with a later "
      "start)");
  e = failed("DELTA_CHANGE_DATA_FEED_INCOMPATIBLE_DATA_SCHEMA");
  dbx_cdf_error(&e, &U, &r, NULL);
  assert_non_null(strstr(e.zMsg, "the schema of main.default.users changed"));
  /* other errors stay as they are */
  e = failed("INSUFFICIENT_PERMISSIONS");
  dbx_cdf_error(&e, &U, &r, &h);
  assert_string_equal(e.zMsg, "[INSUFFICIENT_PERMISSIONS] raw message");
  dbx_error_clear(&e);
  dbx_cdf_error(&e, &U, &r, &h);
  assert_int_equal(e.rc, SQLITE_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version_constraints_bound_the_range),
      cmocka_unit_test(timestamp_constraints_bound_the_range),
      cmocka_unit_test(ranges_settle_against_the_latest_version),
      cmocka_unit_test(change_reads_are_table_changes_calls),
      cmocka_unit_test(history_says_where_the_feed_starts),
      cmocka_unit_test(errors_say_what_to_do),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
