/*
** Shared setup of the libFuzzer targets in this folder. Each target is one
** binary built with clang -fsanitize=fuzzer,address,undefined against the
** extension's sources compiled with SQLITE_CORE (SQLite's allocator is the
** real one, from libsqlite3). A target aborts on a broken invariant so
** libFuzzer saves the input as a crash.
*/
#ifndef DBX_FUZZ_H
#define DBX_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbx_int.h"

/* Stops the run, naming what broke; libFuzzer keeps the input. */
#define FUZZ_CHECK(x)                                                          \
  do {                                                                         \
    if (!(x)) {                                                                \
      fprintf(stderr, "fuzz: check failed at %s:%d: %s\n", __FILE__, __LINE__, \
              #x);                                                             \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static char zFuzzHome[] = "/tmp/dbx-fuzz-XXXXXX";

/* Removes the HOME of fuzz_isolate and the one file a target writes there
** (FUZZ_HOME_FILE), when the run ends. */
#define FUZZ_HOME_FILE "databrickscfg"
static inline void fuzz_cleanup(void) {
  char z[sizeof(zFuzzHome) + sizeof(FUZZ_HOME_FILE) + 1];
  snprintf(z, sizeof(z), "%s/%s", zFuzzHome, FUZZ_HOME_FILE);
  unlink(z);
  rmdir(zFuzzHome);
}

/*
** No DATABRICKS_* setting from the caller, and HOME an empty folder of its
** own, so no ~/.databrickscfg of the machine is read. Called once from
** LLVMFuzzerInitialize; the folder path is static storage.
*/
static inline const char *fuzz_isolate(void) {
  char *zHome = zFuzzHome;
  static const char *const azEnv[] = {
      "DATABRICKS_HOST",
      "DATABRICKS_TOKEN",
      "DATABRICKS_CLIENT_ID",
      "DATABRICKS_CLIENT_SECRET",
      "DATABRICKS_WAREHOUSE_ID",
      "DATABRICKS_CONFIG_PROFILE",
      "DATABRICKS_CONFIG_FILE",
      "DATABRICKS_AUTH_TYPE",
      "DATABRICKS_OIDC_TOKEN",
      "DATABRICKS_OIDC_TOKEN_ENV",
      "DATABRICKS_OIDC_TOKEN_FILEPATH",
      "DATABRICKS_OIDC_TOKEN_FILE",
      "DATABRICKS_WORKSPACE_ID",
      "DATABRICKS_ACCOUNT_ID",
      "DATABRICKS_OIDC_PRIVATE_KEY_FILE",
      "DATABRICKS_CATALOG",
      "DATABRICKS_SCHEMA",
  };
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(azEnv); i++)
    unsetenv(azEnv[i]);
  if (mkdtemp(zHome) == NULL) abort();
  setenv("HOME", zHome, 1);
  atexit(fuzz_cleanup);
  return zHome;
}

/* The input as a NUL-terminated string from sqlite3_malloc (abort when out
** of memory: that is not what is being fuzzed). */
static inline char *fuzz_text(const uint8_t *a, size_t n) {
  char *z = sqlite3_malloc64(n + 1);
  if (z == NULL) abort();
  memcpy(z, a, n);
  z[n] = 0;
  return z;
}

#endif /* DBX_FUZZ_H */
