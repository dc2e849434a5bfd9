/*
** Fuzz target: the error scrubber of util.c. Any text, scrubbed with two
** known secrets, must come out no longer than it went in and without
** either secret, whole or cut to its first 8 bytes; dbx_error_set and
** dbx_error_text must keep to their buffer and to one line.
*/
#include "fuzz.h"

static const char *const azSecret[] = {"dapi5ecret0123456789abcdef",
                                       "dose7777-client-secret"};

int LLVMFuzzerTestOneInput(const uint8_t *a, size_t n) {
  char *z = fuzz_text(a, n), *zText;
  size_t nIn = strlen(z), k;
  DbxError e;

  dbx_scrub_text(z, azSecret, 2);
  FUZZ_CHECK(strlen(z) <= nIn);
  for (k = 0; k < DBX_ARRAY_SIZE(azSecret); k++) {
    char zPrefix[9];
    memcpy(zPrefix, azSecret[k], 8);
    zPrefix[8] = 0;
    FUZZ_CHECK(strstr(z, zPrefix) == NULL);
  }
  sqlite3_free(z);

  z = fuzz_text(a, n);
  dbx_error_clear(&e);
  dbx_error_set_api(&e, SQLITE_ERROR, 400, z, "echo: %s", z);
  FUZZ_CHECK(strlen(e.zMsg) < sizeof(e.zMsg));
  FUZZ_CHECK(strchr(e.zMsg, '\n') == NULL);
  zText = dbx_error_text(&e);
  FUZZ_CHECK(zText != NULL);
  sqlite3_free(zText);
  sqlite3_free(z);
  return 0;
}
