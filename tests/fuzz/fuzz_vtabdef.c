/*
** Fuzz target: a virtual table's stored definition, as a hostile database
** file may hold it in sqlite_schema, read back by dbx_vtab_args_from_sql()
** (the table form of dbx_grants_sql()). Any text is refused or gives
** arguments; whatever the arguments parsed to, the module name is one
** token and everything is freed (LeakSanitizer checks).
*/
#include "fuzz.h"

#include "vtab.h"

int LLVMFuzzerTestOneInput(const uint8_t *a, size_t n) {
  char *z = fuzz_text(a, n), *zModule = NULL;
  DbxVtabArgs args;
  DbxError e;
  int rc;
  dbx_error_clear(&e);
  rc = dbx_vtab_args_from_sql(z, &zModule, &args, &e);
  FUZZ_CHECK(rc == SQLITE_OK || e.rc != SQLITE_OK);
  if (rc == SQLITE_OK) {
    FUZZ_CHECK(zModule != NULL && zModule[0] != 0);
    FUZZ_CHECK(args.zTable != NULL || args.zQuery != NULL);
  }
  sqlite3_free(zModule);
  dbx_vtab_args_free(&args);
  sqlite3_free(z);
  return 0;
}
