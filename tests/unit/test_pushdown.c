/*
** Unit tests of pushdown.c: the SQL generated for each constraint kind, the
** exactness verdicts that decide whether SQLite re-checks a term, and plans
** as idxStr (quoting and declared types are in test_sqlgen.c). Also catalog.c,
*the
** table lookup the virtual table runs first, against canned replies.
*/
#include <math.h>
#include <stdlib.h>

#include "unit.h"

#include "catalog.h"
#include "fake_transport.h"
#include "pushdown.h"

/* A remote table `main`.`default`.`t` with one column of each class. */
static const char *azCol[] = {"id",  "name", "price",  "score", "flag",
                              "day", "bin",  "we`ird", "ts",    "ntz"};
static const DbxColClass aClass[] = {
    DBX_COL_INT,       DBX_COL_TEXT,         DBX_COL_DECIMAL, DBX_COL_FLOAT,
    DBX_COL_BOOL,      DBX_COL_DATE,         DBX_COL_OTHER,   DBX_COL_TEXT,
    DBX_COL_TIMESTAMP, DBX_COL_TIMESTAMP_NTZ};
#define ALL_COLS 0x3ffu

static DbxRemote remote_table(void) {
  DbxRemote r;
  memset(&r, 0, sizeof(r));
  r.zTable = "`main`.`default`.`t`";
  r.nCol = 10;
  r.azCol = azCol;
  r.aClass = aClass;
  return r;
}

static DbxValue v_int(int64_t i) {
  DbxValue v;
  memset(&v, 0, sizeof(v));
  v.eType = DBX_VAL_INT;
  v.i = i;
  return v;
}
static DbxValue v_real(double r) {
  DbxValue v;
  memset(&v, 0, sizeof(v));
  v.eType = DBX_VAL_REAL;
  v.r = r;
  return v;
}
static DbxValue v_text(const char *z) {
  DbxValue v;
  memset(&v, 0, sizeof(v));
  v.eType = DBX_VAL_TEXT;
  v.z = z;
  v.n = (int)strlen(z);
  return v;
}
static DbxValue v_null(void) {
  DbxValue v;
  memset(&v, 0, sizeof(v));
  return v;
}

/* Builds the SQL of a one-term plan on column iCol and checks it. */
static void check_term(int iCol, DbxOp eOp, DbxValue v, const char *zWhere,
                       const char *zType, const char *zValue) {
  DbxRemote r = remote_table();
  DbxPlan plan;
  DbxScanSql s;
  DbxError e;
  char zWant[512];
  memset(&plan, 0, sizeof(plan));
  dbx_error_clear(&e);
  plan.colUsed = 1; /* id only */
  plan.nArg = 1;
  plan.aArg[0].iCol = iCol;
  plan.aArg[0].eOp = eOp;
  assert_int_equal(dbx_pushdown_build(&r, &plan, &v, 1, &s, &e), SQLITE_OK);
  snprintf(zWant, sizeof(zWant), "SELECT `id` FROM `main`.`default`.`t`%s%s",
           zWhere[0] ? " WHERE " : "", zWhere);
  assert_string_equal(s.zSql, zWant);
  if (zType) {
    assert_int_equal(s.nParam, 1);
    assert_string_equal(s.aParam[0].zName, "p0");
    assert_string_equal(s.aParam[0].zType, zType);
    if (zValue)
      assert_string_equal(s.aParam[0].zValue, zValue);
    else
      assert_null(s.aParam[0].zValue);
  } else {
    assert_int_equal(s.nParam, 0);
  }
  dbx_pushdown_scan_clear(&s);
}

static void classes_from_type_text(void **state) {
  (void)state;
  assert_int_equal(dbx_pushdown_class("BIGINT", "LONG"), DBX_COL_INT);
  assert_int_equal(dbx_pushdown_class("int", NULL), DBX_COL_INT);
  assert_int_equal(dbx_pushdown_class(NULL, "SHORT"), DBX_COL_INT);
  assert_int_equal(dbx_pushdown_class("", "BYTE"), DBX_COL_INT);
  assert_int_equal(dbx_pushdown_class("DECIMAL(10,2)", "DECIMAL"),
                   DBX_COL_DECIMAL);
  assert_int_equal(dbx_pushdown_class("decimal(15,0)", NULL), DBX_COL_DECIMAL);
  assert_int_equal(dbx_pushdown_class("DECIMAL(38,2)", NULL), DBX_COL_OTHER);
  assert_int_equal(dbx_pushdown_class("DECIMAL", NULL), DBX_COL_DECIMAL);
  assert_int_equal(dbx_pushdown_class("DOUBLE", NULL), DBX_COL_FLOAT);
  assert_int_equal(dbx_pushdown_class("FLOAT", NULL), DBX_COL_FLOAT);
  assert_int_equal(dbx_pushdown_class("BOOLEAN", NULL), DBX_COL_BOOL);
  assert_int_equal(dbx_pushdown_class("STRING", NULL), DBX_COL_TEXT);
  assert_int_equal(dbx_pushdown_class("VARCHAR(20)", NULL), DBX_COL_TEXT);
  assert_int_equal(dbx_pushdown_class("STRING COLLATE UTF8_BINARY", NULL),
                   DBX_COL_TEXT);
  assert_int_equal(dbx_pushdown_class("STRING COLLATE UTF8_LCASE", NULL),
                   DBX_COL_OTHER);
  assert_int_equal(dbx_pushdown_class("CHAR(3)", NULL), DBX_COL_OTHER);
  assert_int_equal(dbx_pushdown_class("DATE", NULL), DBX_COL_DATE);
  assert_int_equal(dbx_pushdown_class("TIMESTAMP", NULL), DBX_COL_TIMESTAMP);
  assert_int_equal(dbx_pushdown_class("timestamp_ntz", NULL),
                   DBX_COL_TIMESTAMP_NTZ);
  assert_int_equal(dbx_pushdown_class("TIME", NULL), DBX_COL_OTHER);
  assert_int_equal(dbx_pushdown_class("ARRAY<INT>", "ARRAY"), DBX_COL_OTHER);
  assert_int_equal(dbx_pushdown_class("BINARY", NULL), DBX_COL_OTHER);
  assert_int_equal(dbx_pushdown_class(NULL, NULL), DBX_COL_OTHER);
}

static void verdicts_follow_sqlite_semantics(void **state) {
  DbxValue i5 = v_int(5), r = v_real(2.5), t = v_text("abc"), n = v_null();
  DbxValue d = v_text("2024-02-29"), bad = v_text("2023-02-29");
  DbxValue two = v_int(2), one = v_int(1);
  (void)state;
  /* numbers: exact with numbers, text never equals a number */
  assert_int_equal(dbx_pushdown_judge(DBX_COL_INT, DBX_OP_GT, 1, &i5),
                   DBX_JUDGE_EXACT);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_INT, DBX_OP_EQ, 1, &r),
                   DBX_JUDGE_EXACT);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_INT, DBX_OP_EQ, 1, &t),
                   DBX_JUDGE_SKIP);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_INT, DBX_OP_EQ, 1, NULL),
                   DBX_JUDGE_SUPERSET);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_INT, DBX_OP_IN, 1, NULL),
                   DBX_JUDGE_EXACT);
  /* text: collation and value type matter */
  assert_int_equal(dbx_pushdown_judge(DBX_COL_TEXT, DBX_OP_LT, 1, &t),
                   DBX_JUDGE_EXACT);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_TEXT, DBX_OP_LT, 0, &t),
                   DBX_JUDGE_SKIP);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_TEXT, DBX_OP_EQ, 1, &i5),
                   DBX_JUDGE_SKIP);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_TEXT, DBX_OP_IS, 1, &n),
                   DBX_JUDGE_EXACT);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_TEXT, DBX_OP_IN, 1, NULL),
                   DBX_JUDGE_SUPERSET);
  /* LIKE is always re-checked (ILIKE folds more than ASCII) */
  assert_int_equal(dbx_pushdown_judge(DBX_COL_TEXT, DBX_OP_LIKE, 1, &t),
                   DBX_JUDGE_SUPERSET);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_TEXT, DBX_OP_LIKE, 0, &t),
                   DBX_JUDGE_SUPERSET);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_INT, DBX_OP_LIKE, 1, &t),
                   DBX_JUDGE_SKIP);
  /* NaN is NULL here, a big number there */
  assert_int_equal(dbx_pushdown_judge(DBX_COL_FLOAT, DBX_OP_LT, 1, &r),
                   DBX_JUDGE_EXACT);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_FLOAT, DBX_OP_GT, 1, &r),
                   DBX_JUDGE_SUPERSET);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_FLOAT, DBX_OP_NE, 1, &r),
                   DBX_JUDGE_SUPERSET);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_FLOAT, DBX_OP_ISNULL, 1, NULL),
                   DBX_JUDGE_EXACT);
  /* booleans: 0/1 equality only */
  assert_int_equal(dbx_pushdown_judge(DBX_COL_BOOL, DBX_OP_EQ, 1, &one),
                   DBX_JUDGE_EXACT);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_BOOL, DBX_OP_EQ, 1, &two),
                   DBX_JUDGE_SKIP);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_BOOL, DBX_OP_GT, 1, &one),
                   DBX_JUDGE_SKIP);
  /* dates: only real days */
  assert_int_equal(dbx_pushdown_judge(DBX_COL_DATE, DBX_OP_GE, 1, &d),
                   DBX_JUDGE_EXACT);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_DATE, DBX_OP_GE, 1, &bad),
                   DBX_JUDGE_SKIP);
  /* other types: NULL tests only */
  assert_int_equal(dbx_pushdown_judge(DBX_COL_OTHER, DBX_OP_EQ, 1, &t),
                   DBX_JUDGE_SKIP);
  assert_int_equal(dbx_pushdown_judge(DBX_COL_OTHER, DBX_OP_NOTNULL, 1, NULL),
                   DBX_JUDGE_EXACT);
}

static void each_operator_becomes_sql(void **state) {
  (void)state;
  check_term(0, DBX_OP_EQ, v_int(42), "`id` = :p0", "BIGINT", "42");
  check_term(0, DBX_OP_NE, v_int(-1), "`id` <> :p0", "BIGINT", "-1");
  check_term(0, DBX_OP_LT, v_real(2.5), "`id` < :p0", "DOUBLE", "2.5");
  check_term(2, DBX_OP_LE, v_real(9.99), "`price` <= :p0", "DOUBLE",
             "9.9900000000000002");
  check_term(1, DBX_OP_GT, v_text("b"), "`name` > :p0", "STRING", "b");
  check_term(1, DBX_OP_GE, v_text("O'Brien \\ `x`"), "`name` >= :p0", "STRING",
             "O'Brien \\ `x`");
  check_term(1, DBX_OP_IS, v_null(), "`name` IS NOT DISTINCT FROM :p0",
             "STRING", NULL);
  check_term(0, DBX_OP_ISNOT, v_int(3), "`id` IS DISTINCT FROM :p0", "BIGINT",
             "3");
  check_term(1, DBX_OP_ISNULL, v_null(), "`name` IS NULL", NULL, NULL);
  check_term(1, DBX_OP_NOTNULL, v_null(), "`name` IS NOT NULL", NULL, NULL);
  check_term(3, DBX_OP_ISNULL, v_null(), "(`score` IS NULL OR isnan(`score`))",
             NULL, NULL);
  check_term(3, DBX_OP_NOTNULL, v_null(),
             "(`score` IS NOT NULL AND NOT isnan(`score`))", NULL, NULL);
  check_term(4, DBX_OP_EQ, v_int(1), "`flag` = :p0", "BOOLEAN", "true");
  check_term(4, DBX_OP_NE, v_int(0), "`flag` <> :p0", "BOOLEAN", "false");
  check_term(5, DBX_OP_LT, v_text("2024-01-31"), "`day` < :p0", "DATE",
             "2024-01-31");
  check_term(7, DBX_OP_EQ, v_text("x"), "`we``ird` = :p0", "STRING", "x");
  /* LIKE: case-insensitive, '!' is the escape, backslash stays literal */
  check_term(1, DBX_OP_LIKE, v_text("a_b%!\\"), "`name` ILIKE :p0 ESCAPE '!'",
             "STRING", "a_b%!!\\");
  check_term(1, DBX_OP_LIKE, v_int(12), "`name` ILIKE :p0 ESCAPE '!'", "STRING",
             "12");
  /* values SQLite compares differently are left to SQLite */
  check_term(1, DBX_OP_EQ, v_int(5), "", NULL, NULL);
  check_term(0, DBX_OP_EQ, v_text("abc"), "", NULL, NULL);
  check_term(6, DBX_OP_EQ, v_text("CAFE"), "", NULL, NULL);
  /* timestamps: canonical UTC text as result.c writes it, bound with Z */
  check_term(8, DBX_OP_EQ, v_text("2024-01-31 10:11:12.5"), "`ts` = :p0",
             "TIMESTAMP", "2024-01-31 10:11:12.5Z");
  check_term(9, DBX_OP_LT, v_text("2024-01-31 10:11:12"), "`ntz` < :p0",
             "TIMESTAMP_NTZ", "2024-01-31 10:11:12");
  /* a bare day: > is >= midnight, <= is < midnight */
  check_term(8, DBX_OP_GT, v_text("2024-02-29"), "`ts` >= :p0", "TIMESTAMP",
             "2024-02-29 00:00:00Z");
  check_term(8, DBX_OP_LE, v_text("2024-02-29"), "`ts` < :p0", "TIMESTAMP",
             "2024-02-29 00:00:00Z");
  check_term(8, DBX_OP_EQ, v_text("2024-02-29"), "", NULL, NULL);
  /* not canonical: the text order would differ from the time order */
  check_term(8, DBX_OP_GT, v_text("2024-01-31T10:11:12Z"), "", NULL, NULL);
  check_term(8, DBX_OP_GT, v_text("2024-01-31 10:11:12.50"), "", NULL, NULL);
  check_term(8, DBX_OP_GT, v_text("2024-01-31 24:00:00"), "", NULL, NULL);
  check_term(5, DBX_OP_EQ, v_text("2024-13-01"), "", NULL, NULL);
  check_term(0, DBX_OP_GT, v_real(INFINITY), "", NULL, NULL);
}

static void in_lists(void **state) {
  DbxRemote r = remote_table();
  DbxPlan plan;
  DbxScanSql s;
  DbxError e;
  DbxValue aNum[4], aTxt[2], arg;
  (void)state;
  aNum[0] = v_int(1);
  aNum[1] = v_null();      /* never equal: dropped */
  aNum[2] = v_text("abc"); /* never equals a number: dropped */
  aNum[3] = v_real(2.5);
  memset(&plan, 0, sizeof(plan));
  dbx_error_clear(&e);
  plan.colUsed = 1;
  plan.nArg = 1;
  plan.aArg[0].iCol = 0;
  plan.aArg[0].eOp = DBX_OP_IN;
  plan.aArg[0].bExact = 1;
  arg = v_null();
  arg.nList = 4;
  arg.aList = aNum;
  assert_int_equal(dbx_pushdown_build(&r, &plan, &arg, 1, &s, &e), SQLITE_OK);
  assert_string_equal(
      s.zSql, "SELECT `id` FROM `main`.`default`.`t` WHERE `id` IN (:p0, :p1)");
  assert_int_equal(s.nParam, 2);
  assert_string_equal(s.aParam[0].zValue, "1");
  assert_string_equal(s.aParam[1].zType, "DOUBLE");
  dbx_pushdown_scan_clear(&s);

  /* nothing left: no row can match */
  arg.nList = 2;
  arg.aList = &aNum[1];
  assert_int_equal(dbx_pushdown_build(&r, &plan, &arg, 1, &s, &e), SQLITE_OK);
  assert_string_equal(s.zSql,
                      "SELECT `id` FROM `main`.`default`.`t` WHERE FALSE");
  dbx_pushdown_scan_clear(&s);

  /* text lists: all text or not pushed */
  aTxt[0] = v_text("a");
  aTxt[1] = v_text("b");
  plan.aArg[0].iCol = 1;
  plan.aArg[0].bExact = 0;
  arg.nList = 2;
  arg.aList = aTxt;
  assert_int_equal(dbx_pushdown_build(&r, &plan, &arg, 1, &s, &e), SQLITE_OK);
  assert_string_equal(
      s.zSql,
      "SELECT `id` FROM `main`.`default`.`t` WHERE `name` IN (:p0, :p1)");
  dbx_pushdown_scan_clear(&s);
  aTxt[1] = v_int(7);
  assert_int_equal(dbx_pushdown_build(&r, &plan, &arg, 1, &s, &e), SQLITE_OK);
  assert_string_equal(s.zSql, "SELECT `id` FROM `main`.`default`.`t`");
  dbx_pushdown_scan_clear(&s);
}

static void projection_order_limit(void **state) {
  DbxRemote r = remote_table();
  DbxPlan plan;
  DbxScanSql s;
  DbxError e;
  DbxValue a[4];
  (void)state;
  memset(&plan, 0, sizeof(plan));
  dbx_error_clear(&e);
  plan.colUsed = (1u << 1) | (1u << 7);
  plan.nArg = 4;
  plan.aArg[0].iCol = 0;
  plan.aArg[0].eOp = DBX_OP_GE;
  plan.aArg[0].bExact = 1;
  plan.aArg[1].iCol = 1;
  plan.aArg[1].eOp = DBX_OP_NOTNULL;
  plan.aArg[1].bExact = 1;
  plan.aArg[2].iCol = -1;
  plan.aArg[2].eOp = DBX_OP_LIMIT;
  plan.aArg[3].iCol = -1;
  plan.aArg[3].eOp = DBX_OP_OFFSET;
  plan.nOrder = 2;
  plan.aOrder[0].iCol = 1;
  plan.aOrder[1].iCol = 0;
  plan.aOrder[1].bDesc = 1;
  a[0] = v_int(10);
  a[1] = v_null();
  a[2] = v_int(5);
  a[3] = v_int(20);
  assert_int_equal(dbx_pushdown_build(&r, &plan, a, 4, &s, &e), SQLITE_OK);
  assert_string_equal(s.zSql,
                      "SELECT `name`, `we``ird` FROM `main`.`default`.`t` "
                      "WHERE `id` >= :p0 AND `name` IS NOT NULL "
                      "ORDER BY `name` ASC NULLS FIRST, `id` DESC NULLS LAST "
                      "LIMIT 5 OFFSET 20");
  assert_int_equal(s.nOut, 2);
  assert_int_equal(s.aiCol[0], 1);
  assert_int_equal(s.aiCol[1], 7);
  dbx_pushdown_scan_clear(&s);

  /* no column used (count(*)): one constant column */
  plan.colUsed = 0;
  plan.nArg = 0;
  plan.nOrder = 0;
  assert_int_equal(dbx_pushdown_build(&r, &plan, a, 0, &s, &e), SQLITE_OK);
  assert_string_equal(s.zSql, "SELECT 1 FROM `main`.`default`.`t`");
  assert_int_equal(s.aiCol[0], -1);
  dbx_pushdown_scan_clear(&s);

  /* query= source, trailing semicolon dropped */
  r.zTable = NULL;
  r.zQuery = "SELECT * FROM x WHERE y = 'a;b';  \n";
  plan.colUsed = ALL_COLS;
  assert_int_equal(dbx_pushdown_build(&r, &plan, a, 0, &s, &e), SQLITE_OK);
  assert_string_equal(s.zSql,
                      "SELECT `id`, `name`, `price`, `score`, `flag`, `day`, "
                      "`bin`, `we``ird`, `ts`, `ntz` FROM (SELECT * FROM x "
                      "WHERE y = 'a;b') AS `_dbx_q`");
  dbx_pushdown_scan_clear(&s);
}

static void exact_terms_must_be_pushed(void **state) {
  DbxRemote r = remote_table();
  DbxPlan plan;
  DbxScanSql s;
  DbxError e;
  DbxValue v = v_text("not a number");
  (void)state;
  memset(&plan, 0, sizeof(plan));
  dbx_error_clear(&e);
  plan.nArg = 1;
  plan.aArg[0].iCol = 0;
  plan.aArg[0].eOp = DBX_OP_EQ;
  plan.aArg[0].bExact = 1;
  assert_int_equal(dbx_pushdown_build(&r, &plan, &v, 1, &s, &e), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "re-prepare"));
  assert_null(s.zSql);
}

static void plans_round_trip(void **state) {
  DbxPlan p, q;
  DbxError e;
  char *z;
  (void)state;
  memset(&p, 0, sizeof(p));
  dbx_error_clear(&e);
  p.colUsed = 0x8000000000000005ull;
  p.nArg = 3;
  p.aArg[0].iCol = 2;
  p.aArg[0].eOp = DBX_OP_LIKE;
  p.aArg[1].iCol = 0;
  p.aArg[1].eOp = DBX_OP_IN;
  p.aArg[1].bExact = 1;
  p.aArg[2].iCol = -1;
  p.aArg[2].eOp = DBX_OP_LIMIT;
  p.nOrder = 1;
  p.aOrder[0].iCol = 3;
  p.aOrder[0].bDesc = 1;
  z = dbx_pushdown_plan_encode(&p, NULL, NULL);
  assert_string_equal(z, "/* c8000000000000005;a2:11:0,0:12:1,-1:13:0;o3:1 */");
  assert_int_equal(dbx_pushdown_plan_decode(z, &q, &e), SQLITE_OK);
  assert_memory_equal(&p, &q, sizeof(p));
  sqlite3_free(z);
  {
    /* with the shape of the remote statement first, for EXPLAIN */
    static const char *const azName[] = {"id", "b", "note", "ts"};
    DbxColClass aKind[4] = {DBX_COL_INT, DBX_COL_TEXT, DBX_COL_TEXT,
                            DBX_COL_TIMESTAMP};
    DbxRemote r;
    memset(&r, 0, sizeof(r));
    r.nCol = 4;
    r.azCol = azName;
    r.aClass = aKind;
    z = dbx_pushdown_plan_encode(&p, &r, "main.x.t");
    assert_string_equal(
        z, "SELECT `id`, `note` FROM main.x.t WHERE `note` ILIKE ? AND "
           "`id` IN (?, ...) ORDER BY `ts` DESC LIMIT ? "
           "/* c8000000000000005;a2:11:0,0:12:1,-1:13:0;o3:1 */");
    dbx_error_clear(&e);
    assert_int_equal(dbx_pushdown_plan_decode(z, &q, &e), SQLITE_OK);
    assert_memory_equal(&p, &q, sizeof(p));
    sqlite3_free(z);
  }
  assert_int_equal(dbx_pushdown_plan_decode("/* c1;a0:99:0;o */", &q, &e),
                   SQLITE_ERROR);
  assert_int_equal(dbx_pushdown_plan_decode("/* c1;a;o trailing", &q, &e),
                   SQLITE_ERROR);
  assert_int_equal(dbx_pushdown_plan_decode(NULL, &q, &e), SQLITE_ERROR);
  memset(&p, 0, sizeof(p));
  z = dbx_pushdown_plan_encode(&p, NULL, NULL);
  assert_string_equal(z, "/* c0;a;o */");
  dbx_error_clear(&e);
  assert_int_equal(dbx_pushdown_plan_decode(z, &q, &e), SQLITE_OK);
  sqlite3_free(z);
}

/* ---- catalog.c ---- */

static Fake f;
static DbxHttpTransport tr;

/* A client for https://h.example.com with a PAT, on the fake network. */
static DbxClient *catalog_client(void) {
  DbxConfig *p;
  DbxClient *c = NULL;
  DbxError e;
  dbx_error_clear(&e);
  tr = fake_transport(&f);
  dbx_client_test_transport(&tr);
  setenv("HOME", "/nonexistent-dbx-unit", 1);
  setenv("DATABRICKS_TOKEN", "dapi-unit", 1);
  assert_int_equal(dbx_config_new(&p), SQLITE_OK);
  assert_int_equal(
      dbx_config_set(p, "host", "https://h.example.com", DBX_SRC_OPTION, &e),
      SQLITE_OK);
  assert_int_equal(dbx_config_resolve(p, &e), SQLITE_OK);
  assert_int_equal(dbx_client_open(p, &c, &e), SQLITE_OK);
  dbx_config_free(p);
  dbx_client_test_transport(NULL);
  return c;
}

static void catalog_reads_columns_by_position(void **state) {
  DbxClient *c = catalog_client();
  DbxTableInfo *t = NULL;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  fake_reply(&f, 200,
             "{\"full_name\":\"main.my sch.t\",\"table_type\":\"MANAGED\","
             "\"columns\":[{\"name\":\"b\",\"position\":1,\"type_text\":"
             "\"decimal(10,2)\",\"type_name\":\"DECIMAL\",\"nullable\":false},"
             "{\"name\":\"a\",\"position\":0,\"type_text\":\"bigint\","
             "\"type_name\":\"LONG\"}]}",
             NULL);
  assert_int_equal(dbx_catalog_table_get(c, "main", "my sch", "t/x", &t, &e),
                   SQLITE_OK);
  assert_string_equal(f.aSent[0].zMethod, "GET");
  assert_string_equal(f.aSent[0].zUrl,
                      "https://h.example.com/api/2.1/"
                      "unity-catalog/tables/main.my%20sch.t%2Fx");
  assert_int_equal(t->nCol, 2);
  assert_string_equal(t->aCol[0].zName, "a");
  assert_string_equal(t->aCol[0].zTypeName, "LONG");
  assert_true(t->aCol[0].bNullable);
  assert_string_equal(t->aCol[1].zTypeText, "decimal(10,2)");
  assert_false(t->aCol[1].bNullable);
  assert_string_equal(t->zTableType, "MANAGED");
  dbx_catalog_table_free(t);
  dbx_client_free(c);
}

static void catalog_errors_say_what_to_check(void **state) {
  DbxClient *c = catalog_client();
  DbxTableInfo *t = NULL;
  DbxError e;
  (void)state;
  fake_reply(&f, 404,
             "{\"error_code\":\"TABLE_DOES_NOT_EXIST\",\"message\":"
             "\"Table 'main.s.t' does not exist.\"}",
             NULL);
  fake_reply(&f, 403,
             "{\"error_code\":\"PERMISSION_DENIED\",\"message\":"
             "\"User does not have SELECT on Table 'main.s.t'.\"}",
             NULL);
  fake_reply(&f, 200, "{\"full_name\":\"main.s.t\",\"columns\":[]}", NULL);
  dbx_error_clear(&e);
  assert_int_not_equal(dbx_catalog_table_get(c, "main", "s", "t", &t, &e),
                       SQLITE_OK);
  assert_null(t);
  assert_int_equal(e.httpStatus, 404);
  assert_string_equal(e.zCode, "TABLE_DOES_NOT_EXIST");
  assert_non_null(strstr(e.zMsg, "table main.s.t not found: check"));
  dbx_error_clear(&e);
  assert_int_not_equal(dbx_catalog_table_get(c, "main", "s", "t", &t, &e),
                       SQLITE_OK);
  assert_int_equal(e.httpStatus, 403);
  assert_string_equal(e.zCode, "PERMISSION_DENIED");
  assert_non_null(strstr(e.zMsg, "no permission to read table main.s.t: ask "
                                 "its owner for USE CATALOG on main, USE "
                                 "SCHEMA on main.s and SELECT"));
  dbx_error_clear(&e);
  assert_int_not_equal(dbx_catalog_table_get(c, "main", "s", "t", &t, &e),
                       SQLITE_OK);
  assert_non_null(strstr(e.zMsg, "has no columns"));
  assert_null(strstr(e.zMsg, "dapi-unit"));
  dbx_client_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(classes_from_type_text),
      cmocka_unit_test(verdicts_follow_sqlite_semantics),
      cmocka_unit_test(each_operator_becomes_sql),
      cmocka_unit_test(in_lists),
      cmocka_unit_test(projection_order_limit),
      cmocka_unit_test(exact_terms_must_be_pushed),
      cmocka_unit_test(plans_round_trip),
      cmocka_unit_test(catalog_reads_columns_by_position),
      cmocka_unit_test(catalog_errors_say_what_to_check),
  };
  return cmocka_run_group_tests_name("pushdown", tests, NULL, NULL);
}
