/*
** Unit tests of util.c: the first error wins, buffers stay usable, JSON
** that held a secret is wiped before cJSON frees it.
*/
#include <malloc.h>

#include <cjson/cJSON.h>

#include "unit.h"

static void first_error_wins(void **state) {
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_error_set(&e, SQLITE_ERROR, "first %d", 1), SQLITE_ERROR);
  assert_int_equal(dbx_error_set(&e, SQLITE_NOMEM, "second"), SQLITE_NOMEM);
  assert_int_equal(e.rc, SQLITE_ERROR);
  assert_string_equal(e.zMsg, "first 1");
}

static void error_text_is_one_line(void **state) {
  DbxError e;
  char *z;
  (void)state;
  dbx_error_clear(&e);
  dbx_error_set_api(&e, SQLITE_ERROR, 404, "TABLE_OR_VIEW_NOT_FOUND",
                    "table main.x.y not found\nsecond line");
  snprintf(e.zStatement, sizeof(e.zStatement), "01ef-1");
  z = dbx_error_text(&e);
  assert_string_equal(z, "databricks: table main.x.y not found second line "
                         "(TABLE_OR_VIEW_NOT_FOUND, statement 01ef-1)");
  assert_int_equal(e.httpStatus, 404);
  sqlite3_free(z);
}

static void numeric_error_code_is_left_out(void **state) {
  DbxError e;
  char *z;
  (void)state;
  dbx_error_clear(&e);
  dbx_error_set_api(&e, SQLITE_AUTH, 403, "403", "HTTP 403: Invalid access token.");
  z = dbx_error_text(&e);
  assert_string_equal(z, "databricks: HTTP 403: Invalid access token.");
  sqlite3_free(z);
}

static void buf_grows_and_is_taken(void **state) {
  DbxBuf b = {0};
  char *z;
  int i;
  (void)state;
  for (i = 0; i < 1000; i++) dbx_buf_appendf(&b, "%d,", i % 10);
  assert_int_equal(b.rc, SQLITE_OK);
  assert_int_equal(b.n, 2000);
  assert_memory_equal(b.z, "0,1,2,", 6);
  z = dbx_buf_take(&b);
  assert_null(b.z);
  assert_int_equal(strlen(z), 2000);
  sqlite3_free(z);
  z = dbx_buf_take(&b);
  assert_string_equal(z, "");
  sqlite3_free(z);
}

static void version_names_every_library(void **state) {
  const char *z = dbx_version_text();
  (void)state;
  assert_non_null(strstr(z, "sqlite-databricks " DBX_VERSION));
  assert_non_null(strstr(z, "sqlite 3."));
  assert_non_null(strstr(z, "libcurl "));
  assert_non_null(strstr(z, "OpenSSL "));
  assert_non_null(strstr(z, "cJSON "));
}

/* cJSON's free, counting blocks that still hold the secret when freed. */
static int nFreedWithSecret;
static void free_checking(void *p) {
  if (p && memmem(p, malloc_usable_size(p), "s3cret", 6)) nFreedWithSecret++;
  free(p);
}

static void json_with_a_secret_is_wiped_before_free(void **state) {
  cJSON_Hooks hooks = {malloc, free_checking};
  cJSON *p;
  (void)state;
  cJSON_InitHooks(&hooks);
  nFreedWithSecret = 0;
  p = cJSON_Parse("{\"token\": \"dapi-s3cret\", \"nested\": "
                  "[{\"client_secret\": \"s3cret-2\"}], \"n\": 1}");
  assert_non_null(p);
  dbx_json_free_secret(p);
  assert_int_equal(nFreedWithSecret, 0);
  p = cJSON_Parse("{\"token\": \"dapi-s3cret\"}"); /* the check works */
  cJSON_Delete(p);
  assert_int_equal(nFreedWithSecret, 1);
  dbx_json_free_secret(NULL);
  cJSON_InitHooks(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(first_error_wins),
      cmocka_unit_test(error_text_is_one_line),
      cmocka_unit_test(numeric_error_code_is_left_out),
      cmocka_unit_test(buf_grows_and_is_taken),
      cmocka_unit_test(version_names_every_library),
      cmocka_unit_test(json_with_a_secret_is_wiped_before_free),
  };
  return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
