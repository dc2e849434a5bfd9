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

/* ---------------------------------------------------------------------
** Statement builders
*/

/* Runs a builder's output check: rc, then the exact text in b. */
#define BUILT(b, expr, zWant)                                                  \
  do {                                                                         \
    DbxError e_ = {0};                                                         \
    DbxBuf *pb_ = (b);                                                         \
    dbx_buf_reset(pb_);                                                        \
    int rc_ = (expr);                                                          \
    if (rc_) fprintf(stderr, "%s\n", e_.zMsg);                                 \
    assert_int_equal(rc_, SQLITE_OK);                                          \
    assert_string_equal(pb_->z ? pb_->z : "", (zWant));                        \
    dbx_error_clear(&e_);                                                      \
  } while (0)

/* A refused input: the error says zPart, and b keeps what it held. */
#define REFUSED(b, expr, zPart)                                                \
  do {                                                                         \
    DbxError e_ = {0};                                                         \
    DbxBuf *pb_ = (b);                                                         \
    dbx_buf_reset(pb_);                                                        \
    dbx_buf_appendf(pb_, "keep");                                              \
    assert_int_equal((expr), SQLITE_ERROR);                                    \
    assert_true(e_.zMsg[0] != 0);                                              \
    assert_non_null(strstr(e_.zMsg, (zPart)));                                 \
    assert_null(strchr(e_.zMsg, '\n'));                                        \
    assert_string_equal(pb_->z, "keep");                                       \
    dbx_error_clear(&e_);                                                      \
  } while (0)

static void string_literals_escape_for_databricks(void **state) {
  DbxBuf b = {0};
  (void)state;
  BUILT(&b, dbx_sql_string(&b, "", 0, &e_), "''");
  BUILT(&b, dbx_sql_string(&b, "abc", 3, &e_), "'abc'");
  /* '' would be two adjacent literals: a quote is \' */
  BUILT(&b, dbx_sql_string(&b, "O'Brien", 7, &e_), "'O\\'Brien'");
  BUILT(&b, dbx_sql_string(&b, "a\\b", 3, &e_), "'a\\\\b'");
  /* a trailing backslash cannot eat the closing quote */
  BUILT(&b, dbx_sql_string(&b, "x\\", 2, &e_), "'x\\\\'");
  BUILT(&b, dbx_sql_string(&b, "\\'; DROP TABLE t; --", 20, &e_),
        "'\\\\\\'; DROP TABLE t; --'");
  BUILT(&b, dbx_sql_string(&b, "l1\nl2\r\tz", 8, &e_), "'l1\\nl2\\r\\tz'");
  /* \u, \%, \_ and unicode stay literal text */
  BUILT(&b, dbx_sql_string(&b, "\\u0041 %_ \xc3\xa9", 12, &e_),
        "'\\\\u0041 %_ \xc3\xa9'");
  /* only the n bytes asked for */
  BUILT(&b, dbx_sql_string(&b, "abcdef", 2, &e_), "'ab'");
  REFUSED(&b, dbx_sql_string(&b, "a\0b", 3, &e_), "NUL byte");
  dbx_buf_free(&b);
}

static void type_texts_are_checked(void **state) {
  static const char *const azOk[] = {
      "BIGINT",
      "string",
      "DECIMAL(10,2)",
      "decimal( 38 , 0 )",
      "ARRAY<INT>",
      "MAP<STRING, BIGINT>",
      "STRUCT<a: INT, `b c`: STRING>",
      "STRUCT<`x``y`: ARRAY<MAP<STRING,DOUBLE>>>",
      "VARIANT",
      "TIMESTAMP_NTZ",
      "  TIMESTAMP  ",
      "STRING COLLATE UTF8_LCASE",
      "string collate UNICODE_CI_AI ",
  };
  static const char *const azBad[] = {
      "",
      "FOO",
      "STRING; DROP TABLE t",
      "INT -- x",
      "INT /* x */",
      "STRING NOT NULL",
      "STRING COMMENT 'x'",
      "DECIMAL(10,2",
      "DECIMAL(10,2))",
      "ARRAY<INT)",
      "ARRAY<INT>>",
      "ARRAY<INT> <INT>",
      "STRUCT<`a: INT>",
      "STRING\"",
      "`BIGINT`",
      "INT(1)(2)",
      "BIGINT COLLATE UTF8_LCASE",
      "STRING COLLATE",
      "STRING COLLATE a b",
      "STRING COLLATE UTF8_LCASE COLLATE UNICODE",
      "STRING COLLATE 'x'",
      "STRING COLLATE; DROP",
      "ARRAY<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<INT>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>"
      ">",
  };
  DbxError e = {0};
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(azOk); i++) {
    if (dbx_sql_type_check(azOk[i], &e)) fail_msg("refused %s", azOk[i]);
  }
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    if (dbx_sql_type_check(azBad[i], &e) != SQLITE_ERROR) {
      fail_msg("accepted %s", azBad[i]);
    }
    assert_non_null(strstr(e.zMsg, "unsupported column type"));
    dbx_error_clear(&e);
  }
  assert_int_equal(dbx_sql_type_check(NULL, &e), SQLITE_ERROR);
  dbx_error_clear(&e);
}

static void column_lists_parse(void **state) {
  DbxSqlCol *a = NULL;
  DbxError e = {0};
  int n = 0;
  (void)state;
  assert_int_equal(dbx_sql_cols_parse("id BIGINT,\n  `we``ird, name` "
                                      "DECIMAL(10, 2) ,m MAP<STRING, INT>\n",
                                      &a, &n, &e),
                   SQLITE_OK);
  assert_int_equal(n, 3);
  assert_string_equal(a[0].zName, "id");
  assert_string_equal(a[0].zType, "BIGINT");
  assert_string_equal(a[1].zName, "we`ird, name");
  assert_string_equal(a[1].zType, "DECIMAL(10, 2)");
  assert_string_equal(a[2].zName, "m");
  assert_string_equal(a[2].zType, "MAP<STRING, INT>");
  sqlite3_free(a);
  assert_int_equal(dbx_sql_cols_parse("x STRUCT<`a,b`: INT>", &a, &n, &e),
                   SQLITE_OK);
  assert_int_equal(n, 1);
  assert_string_equal(a[0].zType, "STRUCT<`a,b`: INT>");
  sqlite3_free(a);
  /* refusals leave nothing behind */
  static const struct {
    const char *zText, *zMsg;
  } aBad[] = {
      {"", "empty column list"},
      {"  \n ", "empty column list"},
      {"a BIGINT,", "bad column list"},
      {"a BIGINT,, b INT", "bad column list"},
      {"BIGINT", "bad column list"},
      {"`` BIGINT", "bad column list"},
      {"`a BIGINT", "bad column list"},
      {"a-b BIGINT", "bad column list"},
      {"a FOO", "unsupported column type 'FOO'"},
      {"a INT; DROP TABLE t", "unsupported column type"},
      {"a INT, A STRING", "column 'A' is listed twice"},
  };
  for (size_t i = 0; i < DBX_ARRAY_SIZE(aBad); i++) {
    a = (DbxSqlCol *)1;
    n = 7;
    assert_int_equal(dbx_sql_cols_parse(aBad[i].zText, &a, &n, &e),
                     SQLITE_ERROR);
    assert_null(a);
    assert_int_equal(n, 0);
    if (strstr(e.zMsg, aBad[i].zMsg) == NULL) {
      fail_msg("%s: %s", aBad[i].zText, e.zMsg);
    }
    dbx_error_clear(&e);
  }
}

static const DbxSqlCol aEv[] = {
    {"id", "BIGINT"}, {"props", "VARIANT"}, {"amount", "DECIMAL(10,2)"}};

static void create_and_alter_statements(void **state) {
  static const DbxSqlCol aHostile[] = {
      {"a`b", "STRING"},
      {"x'); DROP TABLE t; --", "INT"},
      {"new\nline /* c */", "ARRAY<STRUCT<`k`: STRING>>"},
      {"\xc3\xa9t\xc3\xa9", "DATE"}};
  static const DbxSqlCol aBadType[] = {{"a", "INT) USING PARQUET --"}};
  static const DbxSqlCol aNoName[] = {{"", "INT"}};
  DbxBuf b = {0};
  (void)state;
  BUILT(&b, dbx_sql_create_table(&b, "main.sales.ev", aEv, 3, 0, &e_),
        "CREATE TABLE IF NOT EXISTS `main`.`sales`.`ev` (`id` BIGINT, "
        "`props` VARIANT, `amount` DECIMAL(10,2)) USING DELTA");
  BUILT(&b, dbx_sql_create_table(&b, "main.sales.ev", aEv, 1, 1, &e_),
        "CREATE TABLE IF NOT EXISTS `main`.`sales`.`ev` (`id` BIGINT) USING "
        "DELTA TBLPROPERTIES (delta.enableChangeDataFeed = true)");
  BUILT(&b,
        dbx_sql_create_table(&b, "`we.ird`.`s``q`.`t; DROP`", aHostile, 4, 0,
                             &e_),
        "CREATE TABLE IF NOT EXISTS `we.ird`.`s``q`.`t; DROP` (`a``b` STRING, "
        "`x'); DROP TABLE t; --` INT, `new\nline /* c */` "
        "ARRAY<STRUCT<`k`: STRING>>, `\xc3\xa9t\xc3\xa9` DATE) USING DELTA");
  BUILT(&b, dbx_sql_add_columns(&b, "c.s.t", aEv + 1, 2, &e_),
        "ALTER TABLE `c`.`s`.`t` ADD COLUMNS (`props` VARIANT, `amount` "
        "DECIMAL(10,2))");
  REFUSED(&b, dbx_sql_create_table(&b, "c.s.t", aEv, 0, 0, &e_), "1 column");
  REFUSED(&b, dbx_sql_create_table(&b, "c.s.t", aBadType, 1, 0, &e_),
          "unsupported column type");
  REFUSED(&b, dbx_sql_create_table(&b, "c.s.t", aNoName, 1, 0, &e_),
          "has no name");
  REFUSED(&b, dbx_sql_create_table(&b, "c..t", aEv, 1, 0, &e_),
          "bad table name");
  REFUSED(&b, dbx_sql_add_columns(&b, "a.b.c.d", aEv, 1, &e_),
          "bad table name");
  REFUSED(&b, dbx_sql_add_columns(&b, "c.s.t", NULL, 0, &e_), "1 column");
  dbx_buf_free(&b);
}

static void copy_into_statements(void **state) {
  static const char *const az2[] = {"part-0.parquet", "sub/it's.parquet"};
  static const char *const azBad[] = {"../x.parquet", "/abs.parquet", "",
                                      "a//b", "a/./b"};
  static const DbxSqlCol aHostile[] = {{"v`); DROP", "VARIANT"},
                                       {"n'\\", "STRING"}};
  const char **azMany;
  DbxBuf b = {0};
  int i;
  (void)state;
  BUILT(&b,
        dbx_sql_copy_into(&b, "main.sales.ev", aEv, 3,
                          "/Volumes/main/sales/_dbx_staging/c1", az2, 1, 0,
                          &e_),
        "COPY INTO `main`.`sales`.`ev` FROM (SELECT CAST(`id` AS BIGINT) AS "
        "`id`, parse_json(`props`) AS `props`, CAST(`amount` AS "
        "DECIMAL(10,2)) AS `amount` FROM "
        "'/Volumes/main/sales/_dbx_staging/c1/') FILEFORMAT = PARQUET FILES "
        "= ('part-0.parquet')");
  BUILT(&b,
        dbx_sql_copy_into(&b, "t", aHostile, 2, "/Volumes/c/s/v/it's\\dir/",
                          az2, 2, 1, &e_),
        "COPY INTO `t` FROM (SELECT parse_json(`v``); DROP`) AS `v``); "
        "DROP`, CAST(`n'\\` AS STRING) AS `n'\\` FROM "
        "'/Volumes/c/s/v/it\\'s\\\\dir/') FILEFORMAT = PARQUET FILES = "
        "('part-0.parquet', 'sub/it\\'s.parquet') COPY_OPTIONS "
        "('mergeSchema' = 'true')");
  /* 1000 files are taken, 1001 are not */
  azMany = sqlite3_malloc64(sizeof(char *) * 1001);
  assert_non_null(azMany);
  for (i = 0; i < 1001; i++)
    azMany[i] = "f.parquet";
  {
    DbxError e = {0};
    dbx_buf_reset(&b);
    assert_int_equal(dbx_sql_copy_into(&b, "t", aEv, 1, "/Volumes/c/s/v",
                                       azMany, 1000, 0, &e),
                     SQLITE_OK);
    assert_non_null(strstr(b.z, "'f.parquet')"));
  }
  REFUSED(&b,
          dbx_sql_copy_into(&b, "t", aEv, 1, "/Volumes/c/s/v", azMany, 1001, 0,
                            &e_),
          "1 to 1000 files, not 1001");
  sqlite3_free(azMany);
  REFUSED(&b,
          dbx_sql_copy_into(&b, "t", aEv, 1, "/Volumes/c/s/v", az2, 0, 0, &e_),
          "not 0");
  REFUSED(&b, dbx_sql_copy_into(&b, "t", aEv, 1, "/tmp/x", az2, 1, 0, &e_),
          "is not a /Volumes/");
  {
    static const char *const azBadDir[] = {
        "/Volumes/c/../x",  "/Volumes/c/s/v/..",
        "/Volumes/c/s/v/.", "/Volumes/c/s//v",
        "/Volumes/c/s",     "/Volumes/",
        "Volumes/c/s/v",    "",
        "/Volumes/c/s/v//"};
    for (i = 0; i < (int)DBX_ARRAY_SIZE(azBadDir); i++) {
      REFUSED(&b,
              dbx_sql_copy_into(&b, "t", aEv, 1, azBadDir[i], az2, 1, 0, &e_),
              "is not a /Volumes/");
    }
    REFUSED(&b, dbx_sql_copy_into(&b, "t", aEv, 1, NULL, az2, 1, 0, &e_),
            "is not a /Volumes/");
  }
  for (i = 0; i < (int)DBX_ARRAY_SIZE(azBad); i++) {
    REFUSED(&b,
            dbx_sql_copy_into(&b, "t", aEv, 1, "/Volumes/c/s/v", &azBad[i], 1,
                              0, &e_),
            "is not a path inside");
  }
  REFUSED(&b,
          dbx_sql_copy_into(&b, "t", aEv, 0, "/Volumes/c/s/v", az2, 1, 0, &e_),
          "1 column");
  dbx_buf_free(&b);
}

static void stage_statements(void **state) {
  static const DbxSqlCol aOp[] = {{"id", "BIGINT"}, {"_DBX_OP", "STRING"}};
  char zLong[300];
  DbxBuf b = {0};
  (void)state;
  BUILT(&b, dbx_sql_stage_table(&b, "main.crm.persons", "c42_ab", &e_),
        "`main`.`crm`.`persons__dbx_stage_c42_ab`");
  BUILT(&b, dbx_sql_stage_table(&b, "`a``b`.`c.d`", "1", &e_),
        "`a``b`.`c.d__dbx_stage_1`");
  BUILT(&b, dbx_sql_create_stage(&b, "c.s.t", "x1", aEv, 2, &e_),
        "CREATE TABLE IF NOT EXISTS `c`.`s`.`t__dbx_stage_x1` (`id` BIGINT, "
        "`props` VARIANT, `_dbx_op` STRING) USING DELTA");
  BUILT(&b, dbx_sql_drop_stage(&b, "c.s.t", "x1", &e_),
        "DROP TABLE IF EXISTS `c`.`s`.`t__dbx_stage_x1`");
  REFUSED(&b, dbx_sql_stage_table(&b, "c.s.t", "a-b", &e_), "bad stage suffix");
  REFUSED(&b, dbx_sql_stage_table(&b, "c.s.t", "", &e_), "bad stage suffix");
  REFUSED(&b, dbx_sql_drop_stage(&b, "c.s.t", "x`; DROP", &e_),
          "bad stage suffix");
  REFUSED(&b, dbx_sql_drop_stage(&b, "c.s.t", NULL, &e_), "bad stage suffix");
  memset(zLong, 'x', sizeof(zLong) - 1);
  zLong[sizeof(zLong) - 1] = 0;
  REFUSED(
      &b,
      dbx_sql_drop_stage(&b,
                         "c.s.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                         "abc", &e_),
      "too long");
  REFUSED(&b, dbx_sql_stage_table(&b, "c.s.t", zLong, &e_), "bad stage suffix");
  REFUSED(&b, dbx_sql_create_stage(&b, "c.s.t", "x1", aOp, 2, &e_),
          "reserved for merge stages");
  dbx_buf_free(&b);
}

/* A timestamp as the read path gives it, as a parameter's text: a bare day
** is midnight, TIMESTAMP gets its UTC 'Z', TIMESTAMP_NTZ none. */
static void timestamp_parameters(void **state) {
  char z[48];
  (void)state;
  dbx_sql_timestamp_param("2024-05-01 10:03:00.5", 21, 1, z, sizeof(z));
  assert_string_equal(z, "2024-05-01 10:03:00.5Z");
  dbx_sql_timestamp_param("2024-05-01 10:03:00.5", 21, 0, z, sizeof(z));
  assert_string_equal(z, "2024-05-01 10:03:00.5");
  dbx_sql_timestamp_param("2024-05-01", 10, 1, z, sizeof(z));
  assert_string_equal(z, "2024-05-01 00:00:00Z");
  dbx_sql_timestamp_param("2024-05-01 10:03:00", 19, 1, z, 8);
  assert_string_equal(z, "2024-05"); /* cut, never past nOut */
}

static void merge_statements(void **state) {
  static const DbxSqlCol aPerson[] = {{"team_id", "BIGINT"},
                                      {"distinct_id", "STRING"},
                                      {"person_version", "BIGINT"},
                                      {"person_distinct_id_version", "BIGINT"},
                                      {"properties", "VARIANT"}};
  static const char *const azKey[] = {"team_id", "distinct_id"};
  static const char *const azVer[] = {"person_version",
                                      "person_distinct_id_version"};
  static const DbxSqlCol aHostile[] = {{"k`; --", "STRING"}, {"v'\\\n", "INT"}};
  static const char *const azHostile[] = {"K`; --"};
  static const DbxSqlCol aOp[] = {{"k", "INT"}, {"_Dbx_Op", "STRING"}};
  static const DbxSqlCol aNoName[] = {{"k", "INT"}, {"", "STRING"}};
  static const char *const azK[] = {"k"};
  static const char *const azMissing[] = {"nope"};
  static const char *const azNull[] = {NULL};
  DbxBuf b = {0};
  (void)state;
  BUILT(&b,
        dbx_sql_merge(&b, "main.crm.persons", "c7", aPerson, 5, azKey, 2, azVer,
                      2, &e_),
        "MERGE WITH SCHEMA EVOLUTION INTO `main`.`crm`.`persons` AS t USING "
        "`main`.`crm`.`persons__dbx_stage_c7` AS s ON t.`team_id` <=> "
        "s.`team_id` AND t.`distinct_id` <=> s.`distinct_id` WHEN MATCHED AND "
        "s.`_dbx_op` = 'delete' THEN DELETE WHEN MATCHED AND "
        "(s.`person_version` > t.`person_version` OR (t.`person_version` IS "
        "NULL AND s.`person_version` IS NOT NULL) OR "
        "s.`person_distinct_id_version` > t.`person_distinct_id_version` OR "
        "(t.`person_distinct_id_version` IS NULL AND "
        "s.`person_distinct_id_version` IS NOT NULL)) THEN UPDATE SET "
        "`team_id` = s.`team_id`, `distinct_id` = s.`distinct_id`, "
        "`person_version` = s.`person_version`, `person_distinct_id_version` "
        "= s.`person_distinct_id_version`, `properties` = s.`properties` WHEN "
        "NOT MATCHED AND s.`_dbx_op` <> 'delete' THEN INSERT (`team_id`, "
        "`distinct_id`, `person_version`, `person_distinct_id_version`, "
        "`properties`) VALUES (s.`team_id`, s.`distinct_id`, "
        "s.`person_version`, s.`person_distinct_id_version`, s.`properties`)");
  /* no version columns: a matched upsert always updates; a key is found
  ** whatever its case, and written as given */
  BUILT(&b,
        dbx_sql_merge(&b, "t", "z", aHostile, 2, azHostile, 1, NULL, 0, &e_),
        "MERGE WITH SCHEMA EVOLUTION INTO `t` AS t USING `t__dbx_stage_z` AS "
        "s ON t.`K``; --` <=> s.`K``; --` WHEN MATCHED AND s.`_dbx_op` = "
        "'delete' THEN DELETE WHEN MATCHED THEN UPDATE SET `k``; --` = "
        "s.`k``; --`, `v'\\\n` = s.`v'\\\n` WHEN NOT MATCHED AND s.`_dbx_op` "
        "<> 'delete' THEN INSERT (`k``; --`, `v'\\\n`) VALUES (s.`k``; --`, "
        "s.`v'\\\n`)");
  REFUSED(&b, dbx_sql_merge(&b, "t", "z", aPerson, 5, azKey, 0, NULL, 0, &e_),
          "set merge_keys");
  REFUSED(&b, dbx_sql_merge(&b, "t", "z", aOp, 2, azK, 1, NULL, 0, &e_),
          "_dbx_op is reserved");
  REFUSED(&b, dbx_sql_merge(&b, "t", "z", aNoName, 2, azK, 1, NULL, 0, &e_),
          "column 2 has no name");
  REFUSED(&b, dbx_sql_merge(&b, "t", "z", aPerson, 0, azKey, 1, NULL, 0, &e_),
          "1 column or more");
  REFUSED(&b,
          dbx_sql_merge(&b, "t", "z", aPerson, 5, azMissing, 1, NULL, 0, &e_),
          "merge key 'nope' is not a column of the batch");
  REFUSED(&b,
          dbx_sql_merge(&b, "t", "z", aPerson, 5, azKey, 1, azMissing, 1, &e_),
          "version column 'nope' is not a column");
  REFUSED(&b, dbx_sql_merge(&b, "t", "z", aPerson, 5, azNull, 1, NULL, 0, &e_),
          "merge key '' is not a column");
  REFUSED(&b, dbx_sql_merge(&b, "t", "z", aPerson, 5, azKey, 1, NULL, -1, &e_),
          "bad version column list");
  REFUSED(&b, dbx_sql_merge(&b, "t", "z z", aPerson, 5, azKey, 1, NULL, 0, &e_),
          "bad stage suffix");
  REFUSED(&b, dbx_sql_merge(&b, "", "z", aPerson, 5, azKey, 1, NULL, 0, &e_),
          "bad table name");
  dbx_buf_free(&b);
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
      cmocka_unit_test(string_literals_escape_for_databricks),
      cmocka_unit_test(type_texts_are_checked),
      cmocka_unit_test(column_lists_parse),
      cmocka_unit_test(create_and_alter_statements),
      cmocka_unit_test(copy_into_statements),
      cmocka_unit_test(stage_statements),
      cmocka_unit_test(merge_statements),
      cmocka_unit_test(timestamp_parameters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
