/*
** Unit tests of sqlgen.c: the type table that result.c and pushdown.c
** consult, declared types, identifier quoting, dotted-name parsing and
** the read-only classifier of SQL text.
*/
#include <ctype.h>

#include "unit.h"

#include "pushdown.h"
#include "result.h"
#include "sqlgen.h"

static void type_words_are_found_whole(void **state) {
  const DbxSqlType *p;
  (void)state;
  p = dbx_sql_type_find("bigint", 6);
  assert_non_null(p);
  assert_string_equal(p->zName, "BIGINT");
  assert_int_equal(p->eKind, DBX_KIND_INTEGER);
  assert_int_equal(p->eClass, DBX_COL_INT);
  /* a prefix or a longer word is not the type */
  assert_null(dbx_sql_type_find("BIGIN", 5));
  assert_null(dbx_sql_type_find("BIGINTS", 7));
  assert_non_null(dbx_sql_type_find("INTEGER", 3)); /* the first 3 bytes: INT */
  assert_null(dbx_sql_type_find("", 0));
  assert_null(dbx_sql_type_find(NULL, 0));
  assert_null(dbx_sql_type_find("GEOGRAPHY", 9));
  /* a synonym finds the row of its type */
  p = dbx_sql_type_find("long", 4);
  assert_non_null(p);
  assert_string_equal(p->zName, "BIGINT");
  p = dbx_sql_type_find("NUMERIC", 7);
  assert_non_null(p);
  assert_string_equal(p->zName, "DECIMAL");
  p = dbx_sql_type_find("null", 4);
  assert_non_null(p);
  assert_int_equal(p->eKind, DBX_KIND_NULL);
  p = dbx_sql_type_find("Timestamp_Ntz", 13);
  assert_non_null(p);
  assert_int_equal(p->eKind, DBX_KIND_TIMESTAMP_NTZ);
  assert_int_equal(p->eClass, DBX_COL_TIMESTAMP_NTZ);
}

static void type_heads_skip_blanks_and_stop_at_parameters(void **state) {
  const char *zRest = NULL;
  const DbxSqlType *p;
  (void)state;
  p = dbx_sql_type_head("  decimal(10,2)", &zRest);
  assert_non_null(p);
  assert_string_equal(p->zName, "DECIMAL");
  assert_string_equal(zRest, "(10,2)");
  p = dbx_sql_type_head("STRING COLLATE UTF8_LCASE", &zRest);
  assert_non_null(p);
  assert_string_equal(zRest, " COLLATE UTF8_LCASE");
  p = dbx_sql_type_head("ARRAY<INT>", &zRest);
  assert_non_null(p);
  assert_int_equal(p->eKind, DBX_KIND_JSON);
  assert_string_equal(zRest, "<INT>");
  assert_null(dbx_sql_type_head("", &zRest));
  assert_null(dbx_sql_type_head("<INT>", &zRest));
  assert_null(dbx_sql_type_head(NULL, &zRest));
  assert_null(zRest);
  assert_null(dbx_sql_type_head(NULL, NULL));
}

/* The DECIMAL rule: up to 15 digits are REAL, both for decoding and for
** pushdown, and DECIMAL alone is DECIMAL(10,0). */
static void decimal_precision_15_is_the_last_real(void **state) {
  (void)state;
  assert_true(dbx_sql_decimal_real(1));
  assert_true(dbx_sql_decimal_real(DBX_SQL_DECIMAL_PRECISION));
  assert_true(dbx_sql_decimal_real(15));
  assert_false(dbx_sql_decimal_real(16));
  assert_false(dbx_sql_decimal_real(38));
  assert_int_equal(dbx_result_kind(NULL, "DECIMAL(15,2)", NULL, NULL),
                   DBX_KIND_REAL);
  assert_int_equal(dbx_result_kind(NULL, "DECIMAL(16,2)", NULL, NULL),
                   DBX_KIND_DECIMAL);
  assert_int_equal(dbx_pushdown_class("DECIMAL(15,2)", NULL), DBX_COL_DECIMAL);
  assert_int_equal(dbx_pushdown_class("DECIMAL(16,2)", NULL), DBX_COL_OTHER);
  assert_int_equal(dbx_pushdown_class("NUMERIC", NULL), DBX_COL_DECIMAL);
  assert_int_equal(dbx_result_kind("DEC", NULL, NULL, NULL), DBX_KIND_REAL);
}

/* Every word of the table decodes and compares as its row says, whether
** it comes as type_name or type_text, in any case. */
static void result_and_pushdown_follow_the_table(void **state) {
  static const char *const azWord[] = {
      "BYTE",         "TINYINT", "SHORT",   "SMALLINT",  "INT",
      "INTEGER",      "LONG",    "BIGINT",  "BOOLEAN",   "FLOAT",
      "REAL",         "DOUBLE",  "DECIMAL", "DEC",       "NUMERIC",
      "DATE",         "BINARY",  "ARRAY",   "MAP",       "STRUCT",
      "VARIANT",      "OBJECT",  "STRING",  "VARCHAR",   "CHAR",
      "INTERVAL",     "NULL",    "VOID",    "TIMESTAMP", "TIMESTAMP_LTZ",
      "TIMESTAMP_NTZ"};
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(azWord); i++) {
    const char *z = azWord[i];
    char zLower[32];
    size_t k;
    const DbxSqlType *p = dbx_sql_type_find(z, strlen(z));
    DbxKind eWant;
    assert_non_null(p);
    for (k = 0; z[k] && k + 1 < sizeof(zLower); k++)
      zLower[k] = (char)tolower((unsigned char)z[k]);
    zLower[k] = 0;
    /* a bare DECIMAL is DECIMAL(10,0), which reads as REAL */
    eWant = p->eKind == DBX_KIND_DECIMAL ? DBX_KIND_REAL : p->eKind;
    assert_int_equal(dbx_result_kind(z, NULL, NULL, NULL), eWant);
    assert_int_equal(dbx_result_kind(NULL, zLower, NULL, NULL), eWant);
    assert_int_equal(dbx_pushdown_class(zLower, NULL), p->eClass);
    assert_int_equal(dbx_pushdown_class(NULL, z), p->eClass);
  }
}

/* The write path's mapping is the read mapping in reverse. */
static void sqlite_values_get_the_reverse_type(void **state) {
  (void)state;
  assert_string_equal(dbx_sql_type_for_sqlite(SQLITE_INTEGER), "BIGINT");
  assert_string_equal(dbx_sql_type_for_sqlite(SQLITE_FLOAT), "DOUBLE");
  assert_string_equal(dbx_sql_type_for_sqlite(SQLITE_TEXT), "STRING");
  assert_string_equal(dbx_sql_type_for_sqlite(SQLITE_BLOB), "BINARY");
  assert_null(dbx_sql_type_for_sqlite(SQLITE_NULL));
  assert_null(dbx_sql_type_for_sqlite(0));
  assert_null(dbx_sql_type_for_sqlite(-1));
  /* and each reads back as that storage class */
  assert_int_equal(dbx_result_kind("BIGINT", NULL, NULL, NULL),
                   DBX_KIND_INTEGER);
  assert_int_equal(dbx_result_kind("DOUBLE", NULL, NULL, NULL), DBX_KIND_REAL);
  assert_int_equal(dbx_result_kind("STRING", NULL, NULL, NULL), DBX_KIND_TEXT);
  assert_int_equal(dbx_result_kind("BINARY", NULL, NULL, NULL),
                   DBX_KIND_BINARY);
}

static void decltypes_say_the_remote_type(void **state) {
  static const struct {
    const char *zText, *zName, *zWant;
  } a[] = {
      {"bigint", "LONG", "BIGINT"},
      {"decimal(10,2)", "DECIMAL", "DECIMAL(10,2)"},
      {"string", "STRING", "STRING TEXT"},
      {"DECIMAL(10,2)", "DECIMAL", "DECIMAL(10,2)"},
      {"TIMESTAMP", "TIMESTAMP", "TIMESTAMP"},
      {"DOUBLE", NULL, "DOUBLE"},
      {"STRING", "STRING", "STRING TEXT"},
      {"VARIANT", NULL, "VARIANT TEXT"},
      {"VARCHAR(10)", NULL, "VARCHAR(10)"},
      {"ARRAY<INT>", "ARRAY", "\"ARRAY<INT>\""},
      {"STRUCT<a:STRING,\"b\":INT>", NULL,
       "\"STRUCT<a:STRING,\"\"b\"\":INT>\""},
      {"STRING COLLATE UTF8_LCASE", NULL, "\"STRING COLLATE UTF8_LCASE\" TEXT"},
      {NULL, "DATE", "DATE"},
      {NULL, NULL, "TEXT"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(a); i++) {
    char *z = dbx_sql_decltype(a[i].zText, a[i].zName);
    assert_string_equal(z, a[i].zWant);
    sqlite3_free(z);
  }
}

static void names_split_and_quote(void **state) {
  char *a[3];
  int n;
  DbxError e;
  DbxBuf b = {0};
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_sql_name_split("main.sales.orders", a, &n, &e),
                   SQLITE_OK);
  assert_int_equal(n, 3);
  assert_string_equal(a[0], "main");
  assert_string_equal(a[2], "orders");
  dbx_sql_name_free(a);
  assert_int_equal(dbx_sql_name_split("`my.cat`.`a``b`.t-1", a, &n, &e),
                   SQLITE_OK);
  assert_int_equal(n, 3);
  assert_string_equal(a[0], "my.cat");
  assert_string_equal(a[1], "a`b");
  assert_string_equal(a[2], "t-1");
  dbx_sql_name_free(a);
  assert_int_equal(dbx_sql_name_split("orders", a, &n, &e), SQLITE_OK);
  assert_int_equal(n, 1);
  dbx_sql_name_free(a);
  assert_int_equal(dbx_sql_name_split("a..b", a, &n, &e), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "catalog.schema.table"));
  assert_int_equal(dbx_sql_name_split("a.b.c.d", a, &n, &e), SQLITE_ERROR);
  assert_int_equal(dbx_sql_name_split("`open", a, &n, &e), SQLITE_ERROR);
  assert_int_equal(dbx_sql_name_split("a`b", a, &n, &e), SQLITE_ERROR);
  assert_int_equal(dbx_sql_name_split("", a, &n, &e), SQLITE_ERROR);
  assert_null(a[0]);

  dbx_sql_ident(&b, "plain");
  dbx_buf_appendf(&b, ".");
  dbx_sql_ident(&b, "tick`s``");
  assert_string_equal(b.z, "`plain`.`tick``s`````");
  dbx_buf_free(&b);
}

/*
** dbx_sql_is_read_only(): which statements may be submitted again after a
** submit was lost in transit. A wrong "yes" runs a write twice, so every
** doubt must answer "no".
*/
static int ro(const char *z) {
  return dbx_sql_is_read_only(z, strlen(z));
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

static void create_volume_quotes_each_part(void **state) {
  char *z;
  (void)state;
  z = dbx_sql_create_volume("main", "raw", "landing");
  assert_string_equal(z, "CREATE VOLUME IF NOT EXISTS `main`.`raw`.`landing`");
  sqlite3_free(z);
  /* dots, backticks, spaces and quotes stay inside their part */
  z = dbx_sql_create_volume("a.b", "x`y", "it's v\\");
  assert_string_equal(z, "CREATE VOLUME IF NOT EXISTS `a.b`.`x``y`.`it's v\\`");
  sqlite3_free(z);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_volume_quotes_each_part),
      cmocka_unit_test(type_words_are_found_whole),
      cmocka_unit_test(type_heads_skip_blanks_and_stop_at_parameters),
      cmocka_unit_test(decimal_precision_15_is_the_last_real),
      cmocka_unit_test(result_and_pushdown_follow_the_table),
      cmocka_unit_test(sqlite_values_get_the_reverse_type),
      cmocka_unit_test(decltypes_say_the_remote_type),
      cmocka_unit_test(names_split_and_quote),
      cmocka_unit_test(reads_are_read_only),
      cmocka_unit_test(writes_and_doubt_are_not),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
