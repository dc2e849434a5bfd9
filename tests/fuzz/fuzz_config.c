/*
** Fuzz target: the config file reader, through the public functions of
** config.h only. The input is written to a file that config_file names and
** a configuration is resolved from it, with the profile chosen by the first
** byte (none, DEFAULT, or "fuzz"). A resolved configuration is then read
** back as dbx_config() shows it, and an error is turned into its text.
*/
#include "config.h"
#include "fuzz.h"

static char zPath[300];

int LLVMFuzzerInitialize(int *pArgc, char ***pArgv) {
  const char *zHome = fuzz_isolate();
  (void)pArgc;
  (void)pArgv;
  snprintf(zPath, sizeof(zPath), "%s/" FUZZ_HOME_FILE, zHome);
  return 0;
}

/* Writes the input to zPath. */
static void write_input(const uint8_t *a, size_t n) {
  FILE *pf = fopen(zPath, "wb");
  if (pf == NULL) abort();
  if (n && fwrite(a, 1, n, pf) != n) abort();
  fclose(pf);
}

int LLVMFuzzerTestOneInput(const uint8_t *a, size_t n) {
  static const char *const azProfile[] = {NULL, "DEFAULT", "fuzz"};
  const char *zProfile = n ? azProfile[a[0] % 3] : NULL;
  DbxConfig *p = NULL;
  DbxError e;
  int rc;

  write_input(n ? a + 1 : a, n ? n - 1 : 0);
  dbx_error_clear(&e);
  if (dbx_config_new(&p) != SQLITE_OK) abort();
  rc = dbx_config_set(p, "config_file", zPath, DBX_SRC_OPTION, &e);
  if (rc == SQLITE_OK && zProfile) {
    rc = dbx_config_set(p, "profile", zProfile, DBX_SRC_OPTION, &e);
  }
  FUZZ_CHECK(rc == SQLITE_OK);
  rc = dbx_config_resolve(p, &e);
  if (rc == SQLITE_OK) {
    char *zJson = dbx_config_json(p);
    char *zId = dbx_config_identity(p);
    const char *zHost = dbx_config_get(p, "host");
    FUZZ_CHECK(zJson != NULL && zId != NULL);
    FUZZ_CHECK(zHost == NULL || strchr(zHost, '\n') == NULL);
    sqlite3_free(zJson);
    sqlite3_free(zId);
    dbx_config_get_int(p, "http_timeout_seconds", 60);
  } else {
    char *zText = dbx_error_text(&e);
    FUZZ_CHECK(e.rc != SQLITE_OK);
    FUZZ_CHECK(zText != NULL && strchr(zText, '\n') == NULL);
    sqlite3_free(zText);
  }
  dbx_config_free(p);
  return 0;
}
