/*
** Unit tests of models.c: the models embedded from sql/models/ read
** whole, and a model file that does not hold together is refused.
*/
#include "unit.h"

#include "models.h"

static void three_models_in_name_order(void **state) {
  (void)state;
  assert_int_equal(dbx_model_count(), 3);
  assert_string_equal(dbx_model_name(0), "amplitude_events");
  assert_string_equal(dbx_model_name(1), "posthog_events");
  assert_string_equal(dbx_model_name(2), "posthog_persons");
  assert_null(dbx_model_name(3));
  assert_null(dbx_model_name(-1));
}

/* Every embedded model reads, and its columns text reads back the same. */
static void every_model_reads(void **state) {
  int i;
  (void)state;
  for (i = 0; i < dbx_model_count(); i++) {
    DbxModel *p = NULL;
    DbxSqlCol *a = NULL;
    DbxError e = {0};
    int n = 0, j;
    if (dbx_model_find(dbx_model_name(i), &p, &e)) fail_msg("%s", e.zMsg);
    assert_string_equal(p->zName, dbx_model_name(i));
    assert_true(strlen(p->zDescription) > 10);
    assert_int_equal(dbx_sql_cols_parse(p->zColumns, &a, &n, &e), SQLITE_OK);
    assert_int_equal(n, p->nCol);
    for (j = 0; j < n; j++) {
      assert_string_equal(a[j].zName, p->aCol[j].zName);
      assert_string_equal(a[j].zType, p->aCol[j].zType);
    }
    sqlite3_free(a);
    dbx_model_free(p);
  }
}

static void amplitude_events_has_37_columns(void **state) {
  DbxModel *p = NULL;
  DbxError e = {0};
  int i, nVariant = 0;
  (void)state;
  assert_int_equal(dbx_model_find("amplitude_events", &p, &e), SQLITE_OK);
  assert_int_equal(p->nCol, 37);
  assert_string_equal(p->aCol[0].zName, "amplitude_attribution_ids");
  assert_string_equal(p->aCol[0].zType, "VARIANT");
  assert_string_equal(p->aCol[22].zName, "location_lat");
  assert_string_equal(p->aCol[22].zType, "DOUBLE");
  assert_string_equal(p->aCol[36].zName, "user_properties");
  for (i = 0; i < p->nCol; i++) {
    if (strcmp(p->aCol[i].zType, "VARIANT") == 0) nVariant++;
  }
  assert_int_equal(nVariant, 6);
  assert_string_equal(p->zMergeKeys, "");
  assert_int_equal(p->nMergeKey, 0);
  assert_int_equal(p->nVersion, 0);
  assert_string_equal(p->zIngestedAt, "");
  assert_true(strncmp(p->zColumns,
                      "amplitude_attribution_ids VARIANT, amplitude_id "
                      "BIGINT, app BIGINT, city STRING, ",
                      80) == 0);
  dbx_model_free(p);
}

static void posthog_models_carry_keys_and_versions(void **state) {
  DbxModel *p = NULL;
  DbxError e = {0};
  (void)state;
  assert_int_equal(dbx_model_find("posthog_persons", &p, &e), SQLITE_OK);
  assert_int_equal(p->nCol, 7);
  assert_string_equal(p->zMergeKeys, "team_id, distinct_id");
  assert_int_equal(p->nMergeKey, 2);
  assert_string_equal(p->azMergeKey[0], "team_id");
  assert_string_equal(p->azMergeKey[1], "distinct_id");
  assert_string_equal(p->zVersionColumns,
                      "person_version, person_distinct_id_version");
  assert_int_equal(p->nVersion, 2);
  assert_string_equal(p->azVersion[1], "person_distinct_id_version");
  dbx_model_free(p);
  assert_int_equal(dbx_model_find("posthog_events", &p, &e), SQLITE_OK);
  assert_string_equal(p->zColumns,
                      "uuid STRING, event STRING, properties VARIANT, "
                      "distinct_id STRING, team_id BIGINT, timestamp "
                      "TIMESTAMP, databricks_ingested_timestamp TIMESTAMP");
  assert_string_equal(p->zIngestedAt, "databricks_ingested_timestamp");
  assert_int_equal(p->nMergeKey, 0);
  dbx_model_free(p);
}

static void unknown_names_list_the_known(void **state) {
  DbxModel *p = (DbxModel *)1;
  DbxError e = {0};
  (void)state;
  assert_int_equal(dbx_model_find("posthog_sessions", &p, &e), SQLITE_ERROR);
  assert_null(p);
  assert_string_equal(e.zMsg, "unknown model 'posthog_sessions': use one of "
                              "amplitude_events, posthog_events, "
                              "posthog_persons");
  dbx_error_clear(&e);
  /* exact names only */
  assert_int_equal(dbx_model_find("PostHog_Events", &p, &e), SQLITE_ERROR);
  dbx_error_clear(&e);
  assert_int_equal(dbx_model_find(NULL, &p, &e), SQLITE_ERROR);
  dbx_error_clear(&e);
}

static void bad_model_files_are_refused(void **state) {
  static const struct {
    const char *zText, *zMsg;
  } aCase[] = {
      {"-- colour: red\na INT", "bad header line '-- colour: red'"},
      {"-- description x\na INT", "bad header line"},
      {"-- merge_keys: a\n-- merge_keys: a\na INT", "bad header line"},
      {"-- merge_keys: b\na INT", "merge key 'b' is not a column"},
      {"-- merge_keys: a\n-- version_columns: v\na INT, v STRING",
       "version column 'v' is not a column of the right type"},
      {"-- version_columns: v\na INT, v BIGINT", "need merge keys"},
      {"-- ingested_at: a\na INT", "ingested_at 'a' is not a TIMESTAMP"},
      {"-- description: d\n", "model m: empty column list"},
      {"a INT -- trailing comment", "model m: unsupported column type"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    DbxModel *p = NULL;
    DbxError e = {0};
    assert_int_equal(dbx_model_parse("m", aCase[i].zText, &p, &e),
                     SQLITE_ERROR);
    assert_null(p);
    if (strstr(e.zMsg, aCase[i].zMsg) == NULL) {
      fail_msg("%s: %s", aCase[i].zText, e.zMsg);
    }
  }
  /* a good one, with blanks and case as people write them */
  {
    DbxModel *p = NULL;
    DbxError e = {0};
    assert_int_equal(dbx_model_parse("m",
                                     "--   description:  spaced  \n"
                                     "-- merge_keys: K , b\n"
                                     "-- version_columns: V\n"
                                     "k STRING,\n  b BIGINT,\n  v BIGINT\n",
                                     &p, &e),
                     SQLITE_OK);
    assert_string_equal(p->zDescription, "spaced");
    assert_string_equal(p->zMergeKeys, "k, b");
    assert_string_equal(p->zVersionColumns, "v");
    assert_string_equal(p->zColumns, "k STRING, b BIGINT, v BIGINT");
    dbx_model_free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(three_models_in_name_order),
      cmocka_unit_test(every_model_reads),
      cmocka_unit_test(amplitude_events_has_37_columns),
      cmocka_unit_test(posthog_models_carry_keys_and_versions),
      cmocka_unit_test(unknown_names_list_the_known),
      cmocka_unit_test(bad_model_files_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
