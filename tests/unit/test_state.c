/*
** Unit tests of the local-state interface (state.h) through its in-memory
** fake: what the engine files may rely on from any implementation, and the
** checks the wrappers make before an implementation is called.
*/
#include "unit.h"

#include "fake_state.h"

/* Reads zKey and compares it with zWant (NULL: absent). */
static void check_value(const DbxState *s, const char *zKey,
                        const char *zWant) {
  char *zVal = (char *)1;
  DbxError e;
  dbx_error_clear(&e);
  assert_int_equal(dbx_state_get(s, zKey, &zVal, &e), SQLITE_OK);
  if (zWant == NULL) {
    assert_null(zVal);
  } else {
    assert_non_null(zVal);
    assert_string_equal(zVal, zWant);
  }
  sqlite3_free(zVal);
}

/* Get, put, replace, delete; absence is not an error; "" is a value. */
static void get_put_delete(void **state) {
  FakeState f;
  DbxState s = fake_state(&f);
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  check_value(&s, "sync:main.a.b:version", NULL);
  assert_int_equal(dbx_state_put(&s, "sync:main.a.b:version", "17", &e),
                   SQLITE_OK);
  check_value(&s, "sync:main.a.b:version", "17");
  /* int64 extremes travel as text, unchanged */
  assert_int_equal(
      dbx_state_put(&s, "sync:main.a.b:version", "9223372036854775807", &e),
      SQLITE_OK);
  check_value(&s, "sync:main.a.b:version", "9223372036854775807");
  assert_int_equal(dbx_state_put(&s, "export:x:watermark", "", &e), SQLITE_OK);
  check_value(&s, "export:x:watermark", "");
  /* keys are exact: case and neighbours do not match */
  check_value(&s, "SYNC:main.a.b:version", NULL);
  check_value(&s, "sync:main.a.b:versio", NULL);
  assert_int_equal(dbx_state_delete(&s, "sync:main.a.b:version", &e),
                   SQLITE_OK);
  check_value(&s, "sync:main.a.b:version", NULL);
  check_value(&s, "export:x:watermark", "");
  /* deleting what is not there is fine */
  assert_int_equal(dbx_state_delete(&s, "sync:main.a.b:version", &e),
                   SQLITE_OK);
  assert_int_equal(e.rc, SQLITE_OK);
  assert_int_equal(f.nPut, 3);
  assert_int_equal(f.nDelete, 2);
  fake_state_free(&f);
}

/* The wrappers refuse what the contract refuses before any callback. */
static void keys_and_values_are_checked(void **state) {
  FakeState f;
  DbxState s = fake_state(&f);
  DbxError e;
  char zKey[DBX_STATE_MAX_KEY + 2];
  char *zVal = (char *)1;
  char *zBig;
  const char *azBad[] = {"", "a\tb", "line\nbreak", "del\x7f"};
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    dbx_error_clear(&e);
    assert_int_equal(dbx_state_put(&s, azBad[i], "1", &e), SQLITE_MISUSE);
    assert_non_null(strstr(e.zMsg, "local state: a key must be 1 to 256"));
    dbx_error_clear(&e);
    assert_int_equal(dbx_state_get(&s, azBad[i], &zVal, &e), SQLITE_MISUSE);
    assert_null(zVal);
    dbx_error_clear(&e);
    assert_int_equal(dbx_state_delete(&s, azBad[i], &e), SQLITE_MISUSE);
  }
  dbx_error_clear(&e);
  assert_int_equal(dbx_state_get(&s, NULL, &zVal, &e), SQLITE_MISUSE);
  /* a key of exactly the limit is fine; one byte more is not */
  memset(zKey, 'k', sizeof(zKey));
  zKey[DBX_STATE_MAX_KEY] = 0;
  dbx_error_clear(&e);
  assert_int_equal(dbx_state_put(&s, zKey, "1", &e), SQLITE_OK);
  check_value(&s, zKey, "1");
  zKey[DBX_STATE_MAX_KEY] = 'k';
  zKey[DBX_STATE_MAX_KEY + 1] = 0;
  assert_int_equal(dbx_state_put(&s, zKey, "1", &e), SQLITE_MISUSE);
  /* UTF-8 is text */
  dbx_error_clear(&e);
  assert_int_equal(dbx_state_put(&s, "sync:main.caf\xc3\xa9.t", "2", &e),
                   SQLITE_OK);
  /* values: NULL refused, the limit accepted, one byte more refused */
  assert_int_equal(dbx_state_put(&s, "v", NULL, &e), SQLITE_MISUSE);
  assert_non_null(strstr(e.zMsg, "the value of v must be text"));
  zBig = sqlite3_malloc64(DBX_STATE_MAX_VALUE + 2);
  assert_non_null(zBig);
  memset(zBig, 'v', DBX_STATE_MAX_VALUE + 1);
  zBig[DBX_STATE_MAX_VALUE] = 0;
  dbx_error_clear(&e);
  assert_int_equal(dbx_state_put(&s, "v", zBig, &e), SQLITE_OK);
  zBig[DBX_STATE_MAX_VALUE] = 'v';
  zBig[DBX_STATE_MAX_VALUE + 1] = 0;
  assert_int_equal(dbx_state_put(&s, "v", zBig, &e), SQLITE_MISUSE);
  sqlite3_free(zBig);
  /* only the three good puts reached the table */
  assert_int_equal(f.nPut, 3);
  assert_int_equal(f.nGet, 1);
  assert_int_equal(f.nDelete, 0);
  /* no state at all: refused, not a crash */
  dbx_error_clear(&e);
  assert_int_equal(dbx_state_get(NULL, "k", &zVal, &e), SQLITE_MISUSE);
  assert_non_null(strstr(e.zMsg, "local state: not available"));
  fake_state_free(&f);
}

/* An implementation's error reaches the caller with its code; the first
** error wins; nothing changed; *pzVal stays NULL. */
static void errors_keep_their_code(void **state) {
  FakeState f;
  DbxState s = fake_state(&f);
  DbxError e;
  char *zVal = (char *)1;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_state_put(&s, "k", "1", &e), SQLITE_OK);
  f.rcNext = SQLITE_BUSY;
  assert_int_equal(dbx_state_put(&s, "k", "2", &e), SQLITE_BUSY);
  assert_int_equal(e.rc, SQLITE_BUSY);
  assert_string_equal(e.zMsg, "local state: database is locked");
  check_value(&s, "k", "1");
  f.rcNext = SQLITE_READONLY;
  assert_int_equal(dbx_state_get(&s, "k", &zVal, &e), SQLITE_READONLY);
  assert_null(zVal);
  /* the first error is the one kept */
  assert_int_equal(e.rc, SQLITE_BUSY);
  assert_string_equal(e.zMsg, "local state: database is locked");
  fake_state_free(&f);
}

/* State written in the caller's transaction goes with it: kept by a
** commit, gone after a rollback. */
static void state_follows_the_callers_transaction(void **state) {
  FakeState f;
  DbxState s = fake_state(&f);
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_state_put(&s, "sync:t:version", "4", &e), SQLITE_OK);
  fake_state_begin(&f);
  assert_int_equal(dbx_state_put(&s, "sync:t:version", "5", &e), SQLITE_OK);
  assert_int_equal(dbx_state_put(&s, "sync:u:version", "1", &e), SQLITE_OK);
  check_value(&s, "sync:t:version", "5");
  fake_state_rollback(&f);
  check_value(&s, "sync:t:version", "4");
  check_value(&s, "sync:u:version", NULL);
  fake_state_begin(&f);
  assert_int_equal(dbx_state_delete(&s, "sync:t:version", &e), SQLITE_OK);
  fake_state_commit(&f);
  check_value(&s, "sync:t:version", NULL);
  fake_state_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(get_put_delete),
      cmocka_unit_test(keys_and_values_are_checked),
      cmocka_unit_test(errors_keep_their_code),
      cmocka_unit_test(state_follows_the_callers_transaction),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
