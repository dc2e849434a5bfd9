/*
** Unit tests of dbx_stmt_is_read_only(): which statements may be submitted
** again after a submit was lost in transit. A wrong "yes" runs a write
** twice, so every doubt must answer "no".
*/
#include "unit.h"

#include "statements.h"

static int ro(const char *z) {
  return dbx_stmt_is_read_only(z, strlen(z));
}

static void reads_are_read_only(void **state) {
  (void)state;
  assert_true(ro("SELECT 1"));
  assert_true(ro("  select * from main.default.t where id = :id;"));
  assert_true(
      ro("-- a comment\n/* and another */ (SELECT 1) UNION (SELECT 2)"));
  assert_true(ro("WITH x AS (SELECT 1 AS a) SELECT a FROM x"));
  assert_true(ro("SHOW TABLES IN main.default"));
  assert_true(ro("DESCRIBE HISTORY main.default.t"));
  assert_true(ro("EXPLAIN SELECT 1"));
  assert_true(ro("VALUES (1), (2)"));
  /* write words inside quotes and comments are data, not statements */
  assert_true(ro("SELECT 'insert into t values (1)' AS s"));
  assert_true(ro("SELECT `delete` FROM t -- update me\n"));
  assert_true(ro("SELECT \"it's; DROP\" AS s"));
  assert_true(ro("SELECT 'a\\'; DELETE FROM t' AS s"));
  assert_true(ro("SELECT updates, created_at FROM t"));
}

static void writes_and_doubt_are_not(void **state) {
  (void)state;
  assert_false(ro(""));
  assert_false(ro("   -- nothing but a comment"));
  assert_false(ro("INSERT INTO t VALUES (1)"));
  assert_false(ro("insert overwrite t select 1"));
  assert_false(ro("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"));
  assert_false(
      ro("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE"));
  assert_false(
      ro("COPY INTO t FROM '/Volumes/a/b/c/f.parquet' FILEFORMAT = PARQUET"));
  assert_false(ro("CREATE TABLE t AS SELECT 1"));
  assert_false(ro("SELECT 1; DELETE FROM t"));
  assert_false(ro("SELECT 1;;"));
  assert_false(ro("/* SELECT */ DELETE FROM t"));
  assert_false(ro("USE CATALOG main"));
  assert_false(ro("SET x = 1"));
  assert_false(ro("REFRESH TABLE t"));
  /* an unterminated quote is a syntax error remotely: nothing can run */
  assert_true(ro("SELECT 'x; DELETE"));
  assert_false(ro("1 + 1"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reads_are_read_only),
      cmocka_unit_test(writes_and_doubt_are_not),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
