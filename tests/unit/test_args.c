/*
** Unit tests of args.c: NUL bytes and \u0000 escapes in arguments are
** refused with a message naming the argument, arguments land where idxNum
** says, and options_json becomes option texts split into settings and
** statement options, in the order given; params_json becomes typed
** parameters, and a finished statement becomes the dbx_exec() summary.
*/
#include <cjson/cJSON.h>

#include "unit.h"

#include "args.h"
#include "fake_transport.h"

/* One value made by SQLite from the expression zExpr (sqlite3_value_free). */
static sqlite3_value *value_of(const char *zExpr) {
  sqlite3 *db;
  sqlite3_stmt *pStmt;
  sqlite3_value *pVal;
  char *zSql = sqlite3_mprintf("SELECT %s", zExpr);
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, zSql, -1, &pStmt, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(pStmt), SQLITE_ROW);
  pVal = sqlite3_value_dup(sqlite3_column_value(pStmt, 0));
  assert_non_null(pVal);
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  sqlite3_free(zSql);
  return pVal;
}

/* dbx_args_check of the value of zExpr, as params_json: its result code. */
static int check(const char *zExpr, int bJson, DbxError *pErr) {
  sqlite3_value *pVal = value_of(zExpr);
  int rc;
  dbx_error_clear(pErr);
  rc = dbx_args_check(pVal, "params_json", bJson, pErr);
  assert_int_equal(rc, pErr->rc);
  sqlite3_value_free(pVal);
  return rc;
}

static void nul_bytes_are_refused(void **state) {
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_args_check(NULL, "x", 1, &e), SQLITE_OK);
  assert_int_equal(check("NULL", 1, &e), SQLITE_OK);
  assert_int_equal(check("''", 1, &e), SQLITE_OK);
  assert_int_equal(check("'abc'", 0, &e), SQLITE_OK);
  assert_int_equal(check("-9223372036854775808", 1, &e), SQLITE_OK);
  assert_int_equal(check("x'616263'", 0, &e), SQLITE_OK);
  assert_int_equal(check("'a' || char(0) || 'b'", 0, &e), SQLITE_ERROR);
  assert_string_equal(e.zMsg, "params_json contains a NUL character (char(0)); "
                              "remove it");
  /* at either end, and inside a BLOB read as text */
  assert_int_equal(check("char(0) || 'b'", 0, &e), SQLITE_ERROR);
  assert_int_equal(check("'a' || char(0)", 0, &e), SQLITE_ERROR);
  assert_int_equal(check("char(0)", 0, &e), SQLITE_ERROR);
  assert_int_equal(check("x'00'", 0, &e), SQLITE_ERROR);
  assert_int_equal(check("x'610062'", 1, &e), SQLITE_ERROR);
}

static void nul_escapes_in_json_strings_are_refused(void **state) {
  static const char *const azBad[] = {
      "'{\"k\": \"a\\u0000b\"}'", /* in a value */
      "'{\"k\\u0000\": 1}'",      /* in a key */
      "'[\"\\\"\\u0000\"]'",      /* after an escaped quote */
      "'[\"\\\\\\u0000\"]'",      /* after an escaped backslash */
      "'[\"\\u00000\"]'",         /* followed by a digit */
      "'{\"a\": \"x\", \"b\": \"\\u0000\"}'",
  };
  static const char *const azGood[] = {
      "'{\"k\": \"a\\\\u0000b\"}'", /* an escaped backslash, then text */
      "'[1] \\u0000'",              /* outside any string: bad JSON, no NUL */
      "'{\"k\": \"\\u0001\"}'",
      "'[\"\\u000\"]'",
      "'[\"abc\\'", /* ends on a backslash inside a string */
      "'\"'",
  };
  DbxError e;
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    assert_int_equal(check(azBad[i], 1, &e), SQLITE_ERROR);
    assert_string_equal(e.zMsg, "params_json contains \\u0000, a NUL "
                                "character, which a value cannot carry here; "
                                "remove it");
    /* not JSON: the escape is text like any other */
    assert_int_equal(check(azBad[i], 0, &e), SQLITE_OK);
  }
  for (i = 0; i < DBX_ARRAY_SIZE(azGood); i++) {
    assert_int_equal(check(azGood[i], 1, &e), SQLITE_OK);
  }
}

/* Frees the copies of dbx_args_copy. */
static void copies_free(char **azArg, int n) {
  int k;
  for (k = 0; k < n; k++) {
    sqlite3_free(azArg[k]);
    azArg[k] = NULL;
  }
}

static void arguments_land_where_idxnum_says(void **state) {
  static const char *const azWhat[] = {"the catalog name", "the schema name",
                                       "options_json"};
  sqlite3_value *apVal[3];
  char *azArg[3] = {NULL, NULL, NULL};
  DbxError e;
  int i;
  (void)state;
  apVal[0] = value_of("'main'");
  apVal[1] = value_of("NULL");
  apVal[2] = value_of("'{\"a\": \"\\u0000\"}'");

  /* bits 0 and 2: argv[0] is argument 0, argv[1] argument 2 */
  dbx_error_clear(&e);
  assert_int_equal(dbx_args_copy(5, 3, 2, apVal, azWhat, 0, azArg, &e),
                   SQLITE_OK);
  assert_string_equal(azArg[0], "main");
  assert_null(azArg[1]);
  assert_null(azArg[2]); /* SQL NULL stays NULL */
  copies_free(azArg, 3);

  /* more bits than values: the missing ones stay NULL */
  assert_int_equal(dbx_args_copy(7, 3, 1, apVal, azWhat, 0, azArg, &e),
                   SQLITE_OK);
  assert_string_equal(azArg[0], "main");
  assert_null(azArg[1]);
  assert_null(azArg[2]);
  copies_free(azArg, 3);

  /* no bits, or no room: nothing */
  assert_int_equal(dbx_args_copy(0, 3, 3, apVal, azWhat, 0, azArg, &e),
                   SQLITE_OK);
  assert_int_equal(dbx_args_copy(7, 0, 3, apVal, azWhat, 0, azArg, &e),
                   SQLITE_OK);
  assert_null(azArg[0]);

  /* the JSON bit of the argument decides; what was copied stays */
  assert_int_equal(dbx_args_copy(7, 3, 3, apVal, azWhat, 3, azArg, &e),
                   SQLITE_OK);
  assert_string_equal(azArg[2], "{\"a\": \"\\u0000\"}");
  copies_free(azArg, 3);
  assert_int_equal(dbx_args_copy(7, 3, 3, apVal, azWhat, 4, azArg, &e),
                   SQLITE_ERROR);
  assert_string_equal(e.zMsg, "options_json contains \\u0000, a NUL "
                              "character, which a value cannot carry here; "
                              "remove it");
  assert_string_equal(azArg[0], "main");
  assert_null(azArg[2]);
  copies_free(azArg, 3);

  /* a NUL byte is named by the argument it is in */
  sqlite3_value_free(apVal[1]);
  apVal[1] = value_of("'de' || char(0) || 'fault'");
  dbx_error_clear(&e);
  assert_int_equal(dbx_args_copy(3, 3, 2, apVal, azWhat, 0, azArg, &e),
                   SQLITE_ERROR);
  assert_string_equal(e.zMsg, "the schema name contains a NUL character "
                              "(char(0)); remove it");
  assert_null(azArg[1]);
  copies_free(azArg, 3);
  for (i = 0; i < 3; i++)
    sqlite3_value_free(apVal[i]);
}

/* dbx_args_options_parse with DBX_ARGS_STMT and no member function. */
static int parse(const char *zJson, int flags, DbxArgsOptions *o,
                 DbxError *pErr) {
  dbx_error_clear(pErr);
  return dbx_args_options_parse(zJson, "{\"host\": \"...\"}", flags, NULL, NULL,
                                o, pErr);
}

static void options_are_objects_of_scalars(void **state) {
  static const char *const azNotObject[] = {"",     "[1]", "1",      "\"x\"",
                                            "null", "{",   "{\"a\"}"};
  DbxArgsOptions o;
  DbxError e;
  size_t i;
  (void)state;
  assert_int_equal(parse(NULL, DBX_ARGS_STMT, &o, &e), SQLITE_OK);
  assert_int_equal(o.nOpt + o.nStmt, 0);
  dbx_args_options_free(&o);
  assert_int_equal(parse("{}", DBX_ARGS_STMT, &o, &e), SQLITE_OK);
  assert_int_equal(o.nOpt + o.nStmt, 0);
  dbx_args_options_free(&o);
  for (i = 0; i < DBX_ARRAY_SIZE(azNotObject); i++) {
    assert_int_equal(parse(azNotObject[i], 0, &o, &e), SQLITE_ERROR);
    assert_string_equal(e.zMsg, "options must be a JSON object such as "
                                "{\"host\": \"...\"}");
    assert_null(o.pJson);
    dbx_args_options_free(&o);
  }
  assert_int_equal(parse("{\"host\": \"a\\u0000b\"}", 0, &o, &e), SQLITE_ERROR);
  assert_string_equal(e.zMsg, "options_json contains \\u0000, a NUL "
                              "character, which a value cannot carry here; "
                              "remove it");
  dbx_args_options_free(&o);

  /* every scalar becomes text; the first object or array is named */
  assert_int_equal(parse("{\"a\": \"s\", \"b\": 30, \"c\": -1.5, \"d\": true, "
                         "\"e\": false, \"f\": null, \"g\": 9007199254740993, "
                         "\"h\": 1e400, \"i\": \"\"}",
                         0, &o, &e),
                   SQLITE_OK);
  assert_int_equal(o.nOpt, 9);
  assert_int_equal(o.nStmt, 0);
  assert_string_equal(o.aOpt[0].zKey, "a");
  assert_string_equal(o.aOpt[0].zValue, "s");
  assert_string_equal(o.aOpt[1].zValue, "30");
  assert_string_equal(o.aOpt[2].zValue, "-1.5");
  assert_string_equal(o.aOpt[3].zValue, "true");
  assert_string_equal(o.aOpt[4].zValue, "false");
  assert_null(o.aOpt[5].zValue);
  assert_string_equal(o.aOpt[6].zValue, "9007199254740992"); /* a double */
  assert_string_equal(o.aOpt[7].zValue, "Inf"); /* sqlite3_mprintf */
  assert_string_equal(o.aOpt[8].zValue, "");
  assert_string_equal(o.aOpt[8].zKey, "i");
  dbx_args_options_free(&o);
  assert_int_equal(parse("{\"a\": 1, \"b\": [], \"c\": {}}", 0, &o, &e),
                   SQLITE_ERROR);
  assert_string_equal(e.zMsg, "option b must be a string or a number");
  dbx_args_options_free(&o);
}

static void statement_options_are_kept_apart(void **state) {
  DbxArgsOptions o;
  DbxStmtOptions s;
  DbxError e;
  const char *zJson =
      "{\"row_limit\": 5, \"warehouse\": \"w\", \"disposition\": "
      "\"external_links\", \"row_limit\": \"7\", \"profile\": \"p\"}";
  (void)state;
  assert_int_equal(parse(zJson, DBX_ARGS_STMT, &o, &e), SQLITE_OK);
  assert_int_equal(o.nOpt, 2);
  assert_string_equal(o.aOpt[0].zKey, "warehouse");
  assert_string_equal(o.aOpt[1].zKey, "profile");
  assert_int_equal(o.nStmt, 3);
  assert_string_equal(o.aStmt[0].zKey, "row_limit");
  assert_string_equal(o.aStmt[0].zValue, "5");
  assert_string_equal(o.aStmt[2].zValue, "7");
  /* applied in order over what was there: the last row_limit wins */
  dbx_stmt_options_init(&s);
  s.nRowLimit = 99;
  assert_int_equal(dbx_args_options_apply(&o, &s, &e), SQLITE_OK);
  assert_int_equal(s.nRowLimit, 7);
  assert_int_equal(s.eDisposition, DBX_DISP_EXTERNAL_LINKS);
  dbx_args_options_free(&o);

  /* without the flag they are settings like any other */
  assert_int_equal(parse(zJson, 0, &o, &e), SQLITE_OK);
  assert_int_equal(o.nOpt, 5);
  assert_int_equal(o.nStmt, 0);
  assert_string_equal(o.aOpt[2].zKey, "disposition");
  dbx_stmt_options_init(&s);
  assert_int_equal(dbx_args_options_apply(&o, &s, &e), SQLITE_OK);
  assert_int_equal(s.nRowLimit, 0);
  dbx_args_options_free(&o);

  /* a bad statement option is refused at once, before later members */
  assert_int_equal(parse("{\"disposition\": \"sideways\", \"x\": []}",
                         DBX_ARGS_STMT, &o, &e),
                   SQLITE_ERROR);
  assert_string_equal(e.zMsg, "disposition must be inline, external_links or "
                              "auto, not 'sideways'");
  dbx_args_options_free(&o);
  assert_int_equal(parse("{\"x\": [], \"disposition\": \"sideways\"}",
                         DBX_ARGS_STMT, &o, &e),
                   SQLITE_ERROR);
  assert_string_equal(e.zMsg, "option x must be a string or a number");
  dbx_args_options_free(&o);
}

/* A member function that takes "size" (any JSON) and counts the calls. */
typedef struct SizeArg {
  int nCall;   /* members offered */
  int nSize;   /* the value of size, -1 when not a number */
  int bRefuse; /* refuse size with an error */
} SizeArg;

static int take_size(void *pArg, const cJSON *pItem, int *pbTaken,
                     DbxError *pErr) {
  SizeArg *p = pArg;
  assert_int_equal(*pbTaken, 0);
  p->nCall++;
  if (strcmp(pItem->string, "size") != 0) return SQLITE_OK;
  *pbTaken = 1;
  if (p->bRefuse) return dbx_error_set(pErr, SQLITE_ERROR, "bad size");
  p->nSize = cJSON_IsNumber(pItem) ? pItem->valueint : -1;
  return SQLITE_OK;
}

static void a_caller_takes_its_own_members_first(void **state) {
  SizeArg a = {0, 0, 0};
  DbxArgsOptions o;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  /* an array is fine for the caller's own member: it is asked first */
  assert_int_equal(dbx_args_options_parse("{\"host\": \"h\", \"size\": [], "
                                          "\"size\": 4}",
                                          "{}", 0, take_size, &a, &o, &e),
                   SQLITE_OK);
  assert_int_equal(a.nCall, 3);
  assert_int_equal(a.nSize, 4);
  assert_int_equal(o.nOpt, 1);
  assert_string_equal(o.aOpt[0].zKey, "host");
  dbx_args_options_free(&o);
  /* its error ends the parse, before the bad member after it */
  a.bRefuse = 1;
  a.nCall = 0;
  assert_int_equal(dbx_args_options_parse("{\"size\": 1, \"x\": []}", "{}", 0,
                                          take_size, &a, &o, &e),
                   SQLITE_ERROR);
  assert_string_equal(e.zMsg, "bad size");
  assert_int_equal(a.nCall, 1);
  dbx_args_options_free(&o);
}

static void options_from_key_value_pairs(void **state) {
  DbxArgsOptions o;
  DbxStmtOptions s;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_args_options_init(&o, 2, DBX_ARGS_STMT, &e), SQLITE_OK);
  assert_int_equal(dbx_args_option_add(&o, "wait_timeout", "20s", &e),
                   SQLITE_OK);
  assert_int_equal(dbx_args_option_add(&o, "host", "https://h", &e), SQLITE_OK);
  assert_int_equal(dbx_args_option_add(&o, "profile", "p", &e), SQLITE_MISUSE);
  assert_int_equal(o.nOpt, 1);
  assert_int_equal(o.nStmt, 1);
  dbx_stmt_options_init(&s);
  assert_int_equal(dbx_args_options_apply(&o, &s, &e), SQLITE_OK);
  assert_int_equal(s.nWaitSeconds, 20);
  dbx_args_options_free(&o);
  assert_null(o.aOpt);
  dbx_args_options_free(&o); /* twice is fine */

  dbx_error_clear(&e);
  assert_int_equal(dbx_args_options_init(&o, 0, DBX_ARGS_STMT, &e), SQLITE_OK);
  assert_int_equal(dbx_args_option_add(&o, "host", "h", &e), SQLITE_MISUSE);
  dbx_args_options_free(&o);
}

/* Parameter i of a is named zName, holds zValue and has type zType (NULL:
** none given, sent as STRING). */
static void param_is(const DbxParam *a, int i, const char *zName,
                     const char *zValue, const char *zType) {
  assert_string_equal(a[i].zName, zName);
  if (zValue)
    assert_string_equal(a[i].zValue, zValue);
  else
    assert_null(a[i].zValue);
  if (zType)
    assert_string_equal(a[i].zType, zType);
  else
    assert_null(a[i].zType);
}

static void params_json_becomes_typed_parameters(void **state) {
  DbxParam *a;
  DbxError e;
  int n;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_args_params_parse(
          "{\"a\":41,\"b\":\"x\",\"c\":null,\"d\":true,\"e\":0.5}", &a, &n, &e),
      SQLITE_OK);
  assert_int_equal(n, 5);
  param_is(a, 0, "a", "41", "BIGINT");
  param_is(a, 1, "b", "x", NULL);
  param_is(a, 2, "c", NULL, NULL);
  param_is(a, 3, "d", "true", "BOOLEAN");
  param_is(a, 4, "e", "0.5", "DOUBLE");
  sqlite3_free(a);
  assert_int_equal(
      dbx_args_params_parse(
          "[{\"name\":\"x\",\"value\":\"2024-01-01\",\"type\":\"DATE\"}]", &a,
          &n, &e),
      SQLITE_OK);
  assert_int_equal(n, 1);
  assert_string_equal(a[0].zType, "DATE");
  assert_string_equal(a[0].zValue, "2024-01-01");
  sqlite3_free(a);
  assert_int_equal(dbx_args_params_parse("{\"x\":[1]}", &a, &n, &e),
                   SQLITE_ERROR);
}

/* The summary of a DML statement: its counters as numbers. */
static void exec_summary_reports_the_counters(void **state) {
  char zDir[64], zCmd[100];
  Fake f;
  DbxHttpTransport tr;
  DbxConfig *pConfig;
  DbxClient *pClient;
  DbxStmtOptions o;
  DbxRows *p = NULL;
  DbxError e;
  char *z;
  (void)state;
  snprintf(zDir, sizeof(zDir), "/tmp/dbx-unit-args-XXXXXX");
  unit_isolate(zDir);
  setenv("DATABRICKS_TOKEN", "dapi-SECRET", 1);
  tr = fake_transport(&f);
  dbx_client_test_transport(&tr);
  dbx_error_clear(&e);
  assert_int_equal(dbx_config_new(&pConfig), SQLITE_OK);
  assert_int_equal(dbx_config_set(pConfig, "host", "https://h.example.com",
                                  DBX_SRC_OPTION, &e),
                   SQLITE_OK);
  assert_int_equal(dbx_config_resolve(pConfig, &e), SQLITE_OK);
  assert_int_equal(dbx_client_open(pConfig, &pClient, &e), SQLITE_OK);
  dbx_config_free(pConfig);
  fake_reply(&f, 200,
             "{\"statement_id\":\"s7\",\"status\":{\"state\":\"SUCCEEDED\"},"
             "\"manifest\":{\"schema\":{\"columns\":[{\"name\":\"num_"
             "affected_rows\",\"type_name\":\"LONG\"},"
             "{\"name\":\"num_inserted_rows\",\"type_name\":\"LONG\","
             "\"position\":1}]},\"total_row_count\":1},"
             "\"result\":{\"data_array\":[[\"3\",\"3\"]]}}",
             NULL);
  dbx_stmt_options_init(&o);
  o.zWarehouseId = "wh1";
  assert_int_equal(dbx_rows_execute(pClient, "INSERT 1", NULL, 0, &o, &p, &e),
                   SQLITE_OK);
  z = dbx_args_exec_summary(p, &e);
  assert_string_equal(z, "{\"statement_id\":\"s7\",\"state\":\"SUCCEEDED\","
                         "\"num_affected_rows\":3,"
                         "\"num_inserted_rows\":3,\"total_row_count\":1}");
  sqlite3_free(z);
  dbx_rows_free(p);
  assert_int_equal(f.nSent, 1);
  dbx_client_free(pClient);
  dbx_client_test_transport(NULL);
  unsetenv("DATABRICKS_TOKEN");
  snprintf(zCmd, sizeof(zCmd), "rm -rf '%s'", zDir);
  assert_int_equal(system(zCmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nul_bytes_are_refused),
      cmocka_unit_test(nul_escapes_in_json_strings_are_refused),
      cmocka_unit_test(arguments_land_where_idxnum_says),
      cmocka_unit_test(options_are_objects_of_scalars),
      cmocka_unit_test(statement_options_are_kept_apart),
      cmocka_unit_test(a_caller_takes_its_own_members_first),
      cmocka_unit_test(options_from_key_value_pairs),
      cmocka_unit_test(params_json_becomes_typed_parameters),
      cmocka_unit_test(exec_summary_reports_the_counters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
