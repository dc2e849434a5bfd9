/*
** Unit tests of config.c: precedence of options, dbx_config defaults,
** environment and profiles; the file-not-read rule; default_profile;
** malformed files; host normalisation; conflicts; secret references.
*/
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "config.h"

static char zHome[256];

/* A clean environment and an empty HOME for each test. */
static int setup(void **state) {
  (void)state;
  snprintf(zHome, sizeof(zHome), "/tmp/dbx-unit-cfg-XXXXXX");
  unit_isolate(zHome);
  return 0;
}

static int teardown(void **state) {
  char z[300];
  (void)state;
  alarm(0);
  snprintf(z, sizeof(z), "rm -rf '%s'", zHome);
  assert_int_equal(system(z), 0);
  return 0;
}

static void write_file(const char *zName, const char *zText) {
  char z[300];
  FILE *f;
  snprintf(z, sizeof(z), "%s/%s", zHome, zName);
  f = fopen(z, "w");
  assert_non_null(f);
  fputs(zText, f);
  fclose(f);
}

/* Writes n bytes (NULs and line breaks as given) to zName in HOME. */
static void write_bytes(const char *zName, const char *a, size_t n) {
  char z[300];
  FILE *f;
  snprintf(z, sizeof(z), "%s/%s", zHome, zName);
  f = fopen(z, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(a, 1, n, f), n);
  fclose(f);
}

/* Resolves a config built from option pairs (NULL-terminated). */
static int resolve(DbxConfig **pp, DbxError *pErr, const char *const *az) {
  int rc = SQLITE_OK;
  dbx_error_clear(pErr);
  assert_int_equal(dbx_config_new(pp), SQLITE_OK);
  for (; az && az[0]; az += 2) {
    rc = dbx_config_set(*pp, az[0], az[1], DBX_SRC_OPTION, pErr);
    if (rc) return rc;
  }
  return dbx_config_resolve(*pp, pErr);
}

static void options_beat_session_beat_env(void **state) {
  DbxConfig *p;
  DbxError e;
  (void)state;
  setenv("DATABRICKS_HOST", "env.example.com", 1);
  setenv("DATABRICKS_TOKEN", "dapi-env", 1);
  setenv("DATABRICKS_WAREHOUSE_ID", "envwh", 1);
  dbx_error_clear(&e);
  dbx_config_new(&p);
  assert_int_equal(dbx_config_set(p, "warehouse", "/sql/1.0/warehouses/sesswh",
                                  DBX_SRC_SESSION, &e),
                   SQLITE_OK);
  assert_int_equal(dbx_config_set(p, "catalog", "sesscat", DBX_SRC_SESSION, &e),
                   SQLITE_OK);
  assert_int_equal(
      dbx_config_set(p, "host", "opt.example.com", DBX_SRC_OPTION, &e),
      SQLITE_OK);
  assert_int_equal(dbx_config_set(p, "catalog", "optcat", DBX_SRC_OPTION, &e),
                   SQLITE_OK);
  /* a weaker source set later does not override */
  assert_int_equal(dbx_config_set(p, "catalog", "later", DBX_SRC_SESSION, &e),
                   SQLITE_OK);
  assert_int_equal(dbx_config_resolve(p, &e), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "host"), "https://opt.example.com");
  assert_int_equal(dbx_config_source(p, "host"), DBX_SRC_OPTION);
  assert_string_equal(dbx_config_get(p, "catalog"), "optcat");
  assert_string_equal(dbx_config_get(p, "warehouse_id"), "sesswh");
  assert_int_equal(dbx_config_source(p, "warehouse_id"), DBX_SRC_SESSION);
  assert_string_equal(dbx_config_get(p, "token"), "dapi-env");
  assert_int_equal(dbx_config_source(p, "token"), DBX_SRC_ENV);
  assert_string_equal(dbx_config_get(p, "auth_type"), "pat");
  dbx_config_free(p);
}

static void file_not_read_when_env_sets_host(void **state) {
  DbxConfig *p;
  DbxError e;
  (void)state;
  write_file(".databrickscfg",
             "[DEFAULT]\nhost = file.example.com\ntoken = dapi-file\n"
             "warehouse_id = filewh\n");
  setenv("DATABRICKS_HOST", "env.example.com", 1);
  setenv("DATABRICKS_TOKEN", "dapi-env", 1);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "host"), "https://env.example.com");
  assert_null(dbx_config_get(p, "warehouse_id")); /* the file was not read */
  dbx_config_free(p);
  /* without host or auth in the environment, [DEFAULT] is read */
  unsetenv("DATABRICKS_HOST");
  unsetenv("DATABRICKS_TOKEN");
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "host"), "https://file.example.com");
  assert_string_equal(dbx_config_get(p, "warehouse_id"), "filewh");
  assert_int_equal(dbx_config_source(p, "token"), DBX_SRC_PROFILE);
  dbx_config_free(p);
}

static void named_profile_fills_what_env_left(void **state) {
  DbxConfig *p;
  DbxError e;
  const char *az[] = {"profile", "prod", NULL};
  (void)state;
  /* a profile named by DATABRICKS_CONFIG_PROFILE: SDK order, env first */
  write_file(".databrickscfg",
             "# comment\n[DEFAULT]\nhost = default.example.com\n\n"
             "[prod]\nhost = https://prod.example.com:443/ # inline\n"
             "client_id = sp-1\nclient_secret = dose-file ; inline\n"
             "http_path = /sql/1.0/warehouses/abc123\n");
  setenv("DATABRICKS_WAREHOUSE_ID", "envwh", 1);
  setenv("DATABRICKS_CONFIG_PROFILE", "prod", 1);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "host"), "https://prod.example.com");
  assert_string_equal(dbx_config_get(p, "client_secret"), "dose-file");
  assert_string_equal(dbx_config_get(p, "warehouse_id"),
                      "envwh"); /* env first */
  assert_string_equal(dbx_config_get(p, "auth_type"), "oauth-m2m");
  dbx_config_free(p);
  /* ...and the SDK's conflict when the shell also has a PAT */
  setenv("DATABRICKS_TOKEN", "dapi-shell", 1);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "more than one authorization method"));
  dbx_config_free(p);
  /* a profile named in SQL comes right after the options (README): the
  ** shell's host, PAT and warehouse do not override or mix with it */
  unsetenv("DATABRICKS_CONFIG_PROFILE");
  setenv("DATABRICKS_HOST", "shell.example.com", 1);
  assert_int_equal(resolve(&p, &e, az), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "host"), "https://prod.example.com");
  assert_null(dbx_config_get(p, "token"));
  assert_string_equal(dbx_config_get(p, "warehouse_id"), "abc123");
  assert_int_equal(dbx_config_source(p, "warehouse_id"), DBX_SRC_PROFILE);
  assert_string_equal(dbx_config_get(p, "auth_type"), "oauth-m2m");
  dbx_config_free(p);
}

static void default_profile_setting(void **state) {
  DbxConfig *p;
  DbxError e;
  const char *az[] = {"profile", "__settings__", NULL};
  (void)state;
  write_file(
      ".databrickscfg",
      "[__settings__]\ndefault_profile = dev\n[DEFAULT]\nhost = d\n"
      "token = t-default\n[dev]\nhost = dev.example.com\ntoken = t-dev\n");
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "host"), "https://dev.example.com");
  assert_string_equal(dbx_config_get(p, "token"), "t-dev");
  dbx_config_free(p);
  assert_int_equal(resolve(&p, &e, az), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "reserved"));
  dbx_config_free(p);
}

static void missing_profiles(void **state) {
  DbxConfig *p;
  DbxError e;
  const char *az[] = {"profile", "nope", NULL};
  (void)state;
  write_file(".databrickscfg", "[other]\nhost = x\n");
  assert_int_equal(resolve(&p, &e, az), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "profile 'nope' not found in"));
  dbx_config_free(p);
  /* a missing DEFAULT is not an error; the missing host is */
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_string_equal(e.zMsg,
                      "no host configured: set host= in the options, "
                      "DATABRICKS_HOST in the environment, or host in a "
                      "profile of ~/.databrickscfg");
  dbx_config_free(p);
}

static void malformed_file(void **state) {
  DbxConfig *p;
  DbxError e;
  (void)state;
  write_file(".databrickscfg", "[DEFAULT]\nhost = x\nthis line is wrong\n");
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "malformed config file"));
  assert_non_null(strstr(e.zMsg, "line 3"));
  dbx_config_free(p);
  write_file(".databrickscfg", "[DEFAULT\nhost = x\n");
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "line 1"));
  dbx_config_free(p);
}

static void host_normalisation(void **state) {
  static const char *const aCase[][2] = {
      {"dbc-1.cloud.databricks.com", "https://dbc-1.cloud.databricks.com"},
      {"https://dbc-1.cloud.databricks.com/",
       "https://dbc-1.cloud.databricks.com"},
      {"https://dbc-1.cloud.databricks.com:443",
       "https://dbc-1.cloud.databricks.com"},
      {"https://x.com:8443/some/path", "https://x.com:8443"},
      {"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
  };
  size_t i;
  DbxConfig *p;
  DbxError e;
  (void)state;
  setenv("DATABRICKS_TOKEN", "t", 1);
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    const char *az[] = {"host", aCase[i][0], NULL};
    assert_int_equal(resolve(&p, &e, az), SQLITE_OK);
    assert_string_equal(dbx_config_get(p, "host"), aCase[i][1]);
    dbx_config_free(p);
  }
  {
    const char *az[] = {"host", "https://u.databricks.com/?o=123456&a=acc-1",
                        NULL};
    assert_int_equal(resolve(&p, &e, az), SQLITE_OK);
    assert_string_equal(dbx_config_get(p, "host"), "https://u.databricks.com");
    assert_string_equal(dbx_config_get(p, "workspace_id"), "123456");
    assert_string_equal(dbx_config_get(p, "account_id"), "acc-1");
    dbx_config_free(p);
  }
}

static void conflicting_methods(void **state) {
  DbxConfig *p;
  DbxError e;
  const char *azType[] = {"auth_type", "file-oidc", NULL};
  (void)state;
  setenv("DATABRICKS_HOST", "h", 1);
  setenv("DATABRICKS_TOKEN", "t", 1);
  setenv("DATABRICKS_CLIENT_ID", "c", 1);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_string_equal(e.zMsg,
                      "more than one authorization method configured: oauth "
                      "and pat; set auth_type to choose one");
  dbx_config_free(p);
  unsetenv("DATABRICKS_TOKEN");
  setenv("DATABRICKS_OIDC_TOKEN_FILEPATH", "/tmp/x", 1);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "configured: file-oidc and oauth"));
  dbx_config_free(p);
  assert_int_equal(resolve(&p, &e, azType), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "auth_type"), "file-oidc");
  dbx_config_free(p);
  /* client_id + DATABRICKS_OIDC_TOKEN is fine: that variable is no attribute */
  unsetenv("DATABRICKS_OIDC_TOKEN_FILEPATH");
  setenv("DATABRICKS_OIDC_TOKEN", "eyJ.x.y", 1);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "auth_type"), "env-oidc");
  dbx_config_free(p);
}

static void secrets_refused_as_literals(void **state) {
  DbxConfig *p;
  DbxError e;
  char zRef[300];
  (void)state;
  dbx_error_clear(&e);
  dbx_config_new(&p);
  assert_int_equal(
      dbx_config_set(p, "token", "dapi-LITERAL", DBX_SRC_OPTION, &e),
      SQLITE_ERROR);
  assert_null(strstr(e.zMsg, "dapi-LITERAL"));
  assert_non_null(strstr(e.zMsg, "token='env:NAME'"));
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_config_set(p, "client_secret", "dose", DBX_SRC_SESSION, &e),
      SQLITE_ERROR);
  dbx_config_free(p);

  setenv("MY_TOKEN_VAR", "dapi-from-env", 1);
  {
    const char *az[] = {"host", "h.example.com", "token", "env:MY_TOKEN_VAR",
                        NULL};
    assert_int_equal(resolve(&p, &e, az), SQLITE_OK);
    assert_string_equal(dbx_config_get(p, "token"), "dapi-from-env");
    dbx_config_free(p);
  }
  write_file("secret.txt", "  dapi-from-file\n");
  snprintf(zRef, sizeof(zRef), "file:%s/secret.txt", zHome);
  {
    const char *az[] = {"host", "h.example.com", "token", zRef, NULL};
    assert_int_equal(resolve(&p, &e, az), SQLITE_OK);
    assert_string_equal(dbx_config_get(p, "token"), "dapi-from-file");
    dbx_config_free(p);
  }
  {
    const char *az[] = {"host", "h.example.com", "token",
                        "env:NOT_SET_ANYWHERE", NULL};
    assert_int_equal(resolve(&p, &e, az), SQLITE_ERROR);
    assert_non_null(strstr(e.zMsg, "NOT_SET_ANYWHERE, which is not set"));
    dbx_config_free(p);
  }
  unsetenv("MY_TOKEN_VAR");
}

static void unknown_key_and_bad_values(void **state) {
  DbxConfig *p;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  dbx_config_new(&p);
  assert_int_equal(dbx_config_set(p, "hots", "x", DBX_SRC_OPTION, &e),
                   SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "unknown setting 'hots'"));
  assert_non_null(strstr(e.zMsg, "host"));
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_config_set(p, "retry_timeout_seconds", "abc", DBX_SRC_OPTION, &e),
      SQLITE_ERROR);
  dbx_error_clear(&e);
  assert_int_equal(dbx_config_set(p, "warehouse", "/sql/1.0/warehouses/",
                                  DBX_SRC_OPTION, &e),
                   SQLITE_ERROR);
  dbx_error_clear(&e);
  assert_int_equal(dbx_config_require(p, "warehouse_id", &e), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "DATABRICKS_WAREHOUSE_ID"));
  dbx_config_free(p);
}

static void json_masks_secrets_and_names_sources(void **state) {
  DbxConfig *p, *q;
  DbxError e;
  char *z, *zId1, *zId2;
  const char *az[] = {"host", "h.example.com", NULL};
  (void)state;
  setenv("DATABRICKS_TOKEN", "dapi-very-secret", 1);
  assert_int_equal(resolve(&p, &e, az), SQLITE_OK);
  z = dbx_config_json(p);
  assert_null(strstr(z, "dapi-very-secret"));
  assert_non_null(
      strstr(z, "\"token\":{\"value\":\"***\",\"source\":\"env\"}"));
  assert_non_null(strstr(
      z,
      "\"host\":{\"value\":\"https://h.example.com\",\"source\":\"option\"}"));
  assert_non_null(
      strstr(z, "\"auth_type\":{\"value\":\"pat\",\"source\":\"default\"}"));
  sqlite3_free(z);
  zId1 = dbx_config_identity(p);
  assert_null(strstr(zId1, "dapi-very-secret"));
  assert_int_equal(dbx_config_dup(p, &q), SQLITE_OK);
  zId2 = dbx_config_identity(q);
  assert_string_equal(zId1, zId2);
  sqlite3_free(zId2);
  dbx_config_free(q);
  dbx_config_free(p);
  setenv("DATABRICKS_TOKEN", "dapi-other", 1);
  assert_int_equal(resolve(&p, &e, az), SQLITE_OK);
  zId2 = dbx_config_identity(p);
  assert_string_not_equal(zId1, zId2);
  sqlite3_free(zId1);
  sqlite3_free(zId2);
  dbx_config_free(p);
}

/* Resolves with only ~/.databrickscfg holding zText (n bytes) and checks
** the error: SQLITE_ERROR naming the file and line iLine, with zWhy in it
** and no trace of the secret "s3cr3t". */
static void expect_file_error(const char *zText, size_t n, int iLine,
                              const char *zWhy) {
  DbxConfig *p;
  DbxError e;
  char zLine[32];
  write_bytes(".databrickscfg", zText, n);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  snprintf(zLine, sizeof(zLine), " line %d: ", iLine);
  if (strstr(e.zMsg, zLine) == NULL || strstr(e.zMsg, zWhy) == NULL ||
      strstr(e.zMsg, "/.databrickscfg") == NULL) {
    fail_msg("for %s: got '%s'", zWhy, e.zMsg);
  }
  assert_null(strstr(e.zMsg, "s3cr3t"));
  dbx_config_free(p);
}

/* Resolves with only ~/.databrickscfg holding zText; returns the config. */
static DbxConfig *resolve_file(const char *zText, size_t n) {
  DbxConfig *p;
  DbxError e;
  write_bytes(".databrickscfg", zText, n);
  if (resolve(&p, &e, NULL) != SQLITE_OK) fail_msg("%s", e.zMsg);
  return p;
}

#define S(z) z, sizeof(z) - 1

/* Where Python's configparser (the SDK's reader) fails, so does this. */
static void ini_refuses_what_the_sdk_refuses(void **state) {
  (void)state;
  expect_file_error(S("[DEFAULT]\nhost = a\n[p]\ntoken = s3cr3t\n[p]\nx = 1\n"),
                    5, "section [p] appears twice (first at line 3)");
  expect_file_error(S("[DEFAULT]\nhost = a\ntoken = s3cr3t\n\n; c\nHOST = b\n"),
                    6, "key host appears twice in [DEFAULT] (first at line 2)");
  /* [DEFAULT] may repeat, but its keys merge: a repeated key is an error */
  expect_file_error(
      S("[DEFAULT]\ntoken = s3cr3t\n[p]\nhost = x\n[DEFAULT]\ntoken = t2\n"), 6,
      "key token appears twice in [DEFAULT]");
  expect_file_error(S("host = a\n[DEFAULT]\n"), 1,
                    "before the first [profile]");
  expect_file_error(S("[DEFAULT]\nhost = a\n= s3cr3t\n"), 3, "empty key");
  expect_file_error(S("[DEFAULT]\nhost = a\ntoken s3cr3t\n"), 3,
                    "expected key = value");
  expect_file_error(S("[DEFAULT]\nhost = a\n[]\n"), 3, "empty section name");
  expect_file_error(S("[DEFAULT]\nhost = a\n[prod\n"), 3, "closing ]");
  /* the first problem in file order wins */
  expect_file_error(S("[p]\nhost = a\nhost = b\nnonsense\n"), 3,
                    "appears twice");
  expect_file_error(S("[p]\nnonsense\nhost = a\nhost = b\n"), 2,
                    "expected key = value");
  /* a NUL no longer ends the file silently; bad UTF-8 is not text */
  expect_file_error(S("[DEFAULT]\nhost = a\ntoken = s3c\0r3t\nx = 1\n"), 3,
                    "NUL byte");
  expect_file_error(S("[DEFAULT]\nhost = a\xff\n"), 2, "not UTF-8");
  expect_file_error(S("[DEFAULT]\nhost = \xc0\xaf\n"), 2, "not UTF-8");
  /* an indented line continues the value (configparser): a host or token
  ** spanning lines is refused with the line of its key */
  expect_file_error(S("[DEFAULT]\nhost = a\ntoken = s3cr3t\n   more\n"), 3,
                    "token of [DEFAULT] holds a line break");
}

/* What configparser accepts, read the same way. */
static void ini_accepts_what_the_sdk_accepts(void **state) {
  DbxConfig *p;
  (void)state;
  /* CR-only and CRLF line ends, a BOM, upper-case keys, a colon */
  p = resolve_file(
      S("[DEFAULT]\rHOST = cr.example.com\rToken: t1\rwarehouse_id:w1\r"));
  assert_string_equal(dbx_config_get(p, "host"), "https://cr.example.com");
  assert_string_equal(dbx_config_get(p, "token"), "t1");
  assert_string_equal(dbx_config_get(p, "warehouse_id"), "w1");
  dbx_config_free(p);
  p = resolve_file(
      S("\xef\xbb\xbf[DEFAULT]\r\nhost=bom.example.com\r\ntoken=t2\r\n"));
  assert_string_equal(dbx_config_get(p, "host"), "https://bom.example.com");
  assert_string_equal(dbx_config_get(p, "token"), "t2");
  dbx_config_free(p);
  /* the first = or : splits; comments; blanks; empty values stay unset;
  ** a key may repeat in another section; [DEFAULT]s merge */
  p = resolve_file(
      S("; top\n# top\n[other]\nhost = o\n[DEFAULT]\n"
        "  # indented comment\n\thost :  https://x.example.com:8443/p  \n"
        "warehouse_id =\ncatalog = a=b\n\n[DEFAULT]\ntoken = t3\n"));
  assert_string_equal(dbx_config_get(p, "host"), "https://x.example.com:8443");
  assert_null(dbx_config_get(p, "warehouse_id"));
  assert_string_equal(dbx_config_get(p, "catalog"), "a=b");
  assert_string_equal(dbx_config_get(p, "token"), "t3");
  dbx_config_free(p);
  /* a continuation of an unused key is harmless; so is a trailing blank */
  p = resolve_file(S("[DEFAULT]\nhost = h\ntoken = t4\nnote = one\n  two\n\n"));
  assert_string_equal(dbx_config_get(p, "token"), "t4");
  dbx_config_free(p);
}

/* A mistyped profile name: the error lists the profiles of the file. */
static void missing_profile_lists_profiles(void **state) {
  DbxConfig *p;
  DbxError e;
  const char *az[] = {"profile", "prdo", NULL};
  const char *azDef[] = {"profile", "DEFAULT", NULL};
  (void)state;
  write_file(
      ".databrickscfg",
      "[__settings__]\nx = 1\n[DEFAULT]\n[prod]\nhost = p\n[dev]\nhost = d\n");
  assert_int_equal(resolve(&p, &e, az), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "profile 'prdo' not found in "));
  assert_non_null(strstr(e.zMsg, "which has [prod], [dev]: name one of them"));
  dbx_config_free(p);
  /* an empty [DEFAULT] is no profile (as in the SDK) when asked for */
  assert_int_equal(resolve(&p, &e, azDef), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "profile 'DEFAULT' not found"));
  dbx_config_free(p);
  write_file(".databrickscfg", "; nothing\n");
  assert_int_equal(resolve(&p, &e, az), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "which has no profiles"));
  dbx_config_free(p);
  write_bytes(".databrickscfg", "",
              0); /* an empty file is no error by itself */
  assert_int_equal(resolve(&p, &e, az), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "which has no profiles"));
  dbx_config_free(p);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR); /* read, then: */
  assert_non_null(strstr(e.zMsg, "no host configured"));
  dbx_config_free(p);
}

/* Files read for configuration and secrets: regular files of bounded size
** only, refused without blocking. */
static void only_small_regular_files_are_read(void **state) {
  DbxConfig *p;
  DbxError e;
  char zFifo[300], zPath[300], zRef[320], *zBig;
  const char *azZero[] = {"config_file", "/dev/zero", NULL};
  const char *azFifo[] = {"config_file", zFifo, NULL};
  const char *azDir[] = {"config_file", zHome, NULL};
  const char *azRef[] = {"host", "h", "token", zRef, NULL};
  (void)state;
  alarm(20); /* a read that blocks fails the test instead of hanging it */
  snprintf(zFifo, sizeof(zFifo), "%s/fifo", zHome);
  assert_int_equal(mkfifo(zFifo, 0600), 0);
  assert_int_equal(resolve(&p, &e, azFifo), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "/fifo is not a regular file"));
  dbx_config_free(p);
  assert_int_equal(resolve(&p, &e, azZero), SQLITE_ERROR);
  assert_string_equal(e.zMsg, "config file /dev/zero is not a regular file: "
                              "give the path of a file of at most 1 MiB");
  dbx_config_free(p);
  assert_int_equal(resolve(&p, &e, azDir), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "is not a regular file"));
  dbx_config_free(p);
  /* one byte over the limit; exactly at the limit is fine */
  zBig = malloc(DBX_CONFIG_FILE_MAX + 1);
  assert_non_null(zBig);
  memset(zBig, '#', DBX_CONFIG_FILE_MAX + 1);
  memcpy(zBig, "[DEFAULT]\nhost = big\ntoken = t\n", 31);
  write_bytes(".databrickscfg", zBig, DBX_CONFIG_FILE_MAX + 1);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "is larger than the limit of 1 MiB"));
  dbx_config_free(p);
  write_bytes(".databrickscfg", zBig, DBX_CONFIG_FILE_MAX);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "host"), "https://big");
  dbx_config_free(p);
  /* a symlink to a regular file is followed */
  write_file("real.cfg", "[DEFAULT]\nhost = linked\ntoken = t\n");
  snprintf(zPath, sizeof(zPath), "%s/real.cfg", zHome);
  snprintf(zRef, sizeof(zRef), "%s/.databrickscfg", zHome);
  unlink(zRef);
  assert_int_equal(symlink(zPath, zRef), 0);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_OK);
  assert_string_equal(dbx_config_get(p, "host"), "https://linked");
  dbx_config_free(p);
  /* file: secret references: 64 KiB, regular files, one line */
  snprintf(zRef, sizeof(zRef), "file:%s", zFifo);
  assert_int_equal(resolve(&p, &e, azRef), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "token file "));
  assert_non_null(strstr(e.zMsg, "not a regular file"));
  dbx_config_free(p);
  write_bytes("secret.txt", zBig, DBX_SECRET_FILE_MAX + 1);
  snprintf(zRef, sizeof(zRef), "file:%s/secret.txt", zHome);
  assert_int_equal(resolve(&p, &e, azRef), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "larger than the limit of 64 KiB"));
  dbx_config_free(p);
  write_bytes("secret.txt", S("s3cr3t\0tail\n"));
  assert_int_equal(resolve(&p, &e, azRef), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "holds a NUL byte"));
  dbx_config_free(p);
  write_bytes("secret.txt", S("s3cr3t\nsecond line\n"));
  assert_int_equal(resolve(&p, &e, azRef), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "holds more than one line"));
  assert_null(strstr(e.zMsg, "s3cr3t"));
  dbx_config_free(p);
  snprintf(zRef, sizeof(zRef), "file:%s/none.txt", zHome);
  assert_int_equal(resolve(&p, &e, azRef), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "none.txt does not exist"));
  dbx_config_free(p);
  free(zBig);
}

/* A password in a host URL is refused wherever the host is set, and
** never printed, not even by dbx_config_json() after the failure. */
static void host_with_userinfo_is_refused(void **state) {
  DbxConfig *p;
  DbxError e;
  char *z;
  const char *az[] = {"host", "https://u:s3cr3t@h.example.com", NULL};
  (void)state;
  setenv("DATABRICKS_TOKEN", "t", 1);
  assert_int_equal(resolve(&p, &e, az), SQLITE_ERROR);
  assert_non_null(
      strstr(e.zMsg, "host must not contain a user name or password"));
  assert_null(strstr(e.zMsg, "s3cr3t"));
  dbx_config_free(p);
  dbx_error_clear(&e);
  dbx_config_new(&p);
  assert_int_equal(
      dbx_config_set(p, "host", "u@h.example.com", DBX_SRC_SESSION, &e),
      SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "in dbx_config()"));
  dbx_config_free(p);
  setenv("DATABRICKS_HOST", "https://u:s3cr3t@env.example.com", 1);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_non_null(
      strstr(e.zMsg, "user name or password (host in DATABRICKS_HOST)"));
  z = dbx_config_json(p);
  assert_null(strstr(z, "s3cr3t"));
  sqlite3_free(z);
  dbx_config_free(p);
  unsetenv("DATABRICKS_HOST");
  unsetenv("DATABRICKS_TOKEN");
  write_file(".databrickscfg",
             "[DEFAULT]\nhost = https://u:s3cr3t@f.example.com\ntoken = t\n");
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "(host in the profile of "));
  assert_null(strstr(e.zMsg, "s3cr3t"));
  z = dbx_config_json(p);
  assert_null(strstr(z, "s3cr3t"));
  sqlite3_free(z);
  dbx_config_free(p);
}

/* Line breaks cannot reach a header or a URL from any source. */
static void control_characters_are_refused(void **state) {
  DbxConfig *p;
  DbxError e;
  const char *az[] = {"host", "h\r\nX-Injected: 1", NULL};
  (void)state;
  assert_int_equal(resolve(&p, &e, az), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "host holds a line break"));
  dbx_config_free(p);
  setenv("DATABRICKS_TOKEN", "t\nX-Injected: 1", 1);
  setenv("DATABRICKS_HOST", "h", 1);
  assert_int_equal(resolve(&p, &e, NULL), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "DATABRICKS_TOKEN holds a line break"));
  assert_null(strstr(e.zMsg, "Injected"));
  dbx_config_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(options_beat_session_beat_env, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(file_not_read_when_env_sets_host, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(named_profile_fills_what_env_left, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(default_profile_setting, setup, teardown),
      cmocka_unit_test_setup_teardown(missing_profiles, setup, teardown),
      cmocka_unit_test_setup_teardown(malformed_file, setup, teardown),
      cmocka_unit_test_setup_teardown(host_normalisation, setup, teardown),
      cmocka_unit_test_setup_teardown(conflicting_methods, setup, teardown),
      cmocka_unit_test_setup_teardown(secrets_refused_as_literals, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(unknown_key_and_bad_values, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(json_masks_secrets_and_names_sources,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(ini_refuses_what_the_sdk_refuses, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(ini_accepts_what_the_sdk_accepts, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(missing_profile_lists_profiles, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(only_small_regular_files_are_read, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(host_with_userinfo_is_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(control_characters_are_refused, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
