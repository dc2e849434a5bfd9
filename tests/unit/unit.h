/*
** Shared includes for the cmocka unit tests. Each tests/unit/test_*.c is
** one binary linked against the extension's sources built with
** SQLITE_CORE, so SQLite's allocator is the real one.
*/
#ifndef DBX_UNIT_H
#define DBX_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dbx_int.h"

/*
** Gives a test a clean slate: no DATABRICKS_* setting from the caller's
** environment, and HOME set to a new empty folder made from zTemplate
** (a mkdtemp() template, rewritten in place), so no ~/.databrickscfg leaks
** in. The test removes the folder when it is done.
*/
static inline void unit_isolate(char *zTemplate) {
  static const char *const azEnv[] = {
      "DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID",
      "DATABRICKS_CLIENT_SECRET", "DATABRICKS_WAREHOUSE_ID",
      "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE",
      "DATABRICKS_AUTH_TYPE", "DATABRICKS_OIDC_TOKEN",
      "DATABRICKS_OIDC_TOKEN_ENV", "DATABRICKS_OIDC_TOKEN_FILEPATH",
      "DATABRICKS_OIDC_TOKEN_FILE", "DATABRICKS_WORKSPACE_ID",
      "DATABRICKS_ACCOUNT_ID", "DATABRICKS_OIDC_PRIVATE_KEY_FILE",
  };
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(azEnv); i++) unsetenv(azEnv[i]);
  assert_non_null(mkdtemp(zTemplate));
  setenv("HOME", zTemplate, 1);
}

#endif /* DBX_UNIT_H */
