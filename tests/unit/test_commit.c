/*
** Unit tests of commit.c that need no workspace: which columns a table
** lacks and the type each staged column loads as, and a spec that could
** put a file outside its directory refused before any request.
*/
#include "catalog.h"
#include "commit.h"
#include "unit.h"

static void columns_missing_and_types(void **state) {
  DbxTableColumn aRemote[] = {{"ID", "bigint", "LONG", 1},
                              {"name", "string", "STRING", 1}};
  DbxTableInfo info = {"main.s.t", "MANAGED", 2, aRemote};
  const DbxSqlCol aCol[] = {{"id", "INT"},
                            {"score", "DOUBLE"},
                            {"Name", "STRING"},
                            {"tags", "ARRAY<STRING>"}};
  const char *azType[4];
  DbxSqlCol *aAdd = NULL;
  int nAdd = -1;
  (void)state;
  assert_int_equal(dbx_commit_columns(&info, aCol, 4, &aAdd, &nAdd, azType),
                   SQLITE_OK);
  /* names compare ignoring case; an existing column keeps its remote type */
  assert_int_equal(nAdd, 2);
  assert_string_equal(aAdd[0].zName, "score");
  assert_string_equal(aAdd[1].zName, "tags");
  assert_string_equal(azType[0], "bigint");
  assert_string_equal(azType[1], "DOUBLE");
  assert_string_equal(azType[2], "string");
  assert_string_equal(azType[3], "ARRAY<STRING>");
  sqlite3_free(aAdd);
  /* no table yet: everything is missing, in the local types */
  assert_int_equal(dbx_commit_columns(NULL, aCol, 4, &aAdd, &nAdd, azType),
                   SQLITE_OK);
  assert_int_equal(nAdd, 4);
  assert_string_equal(azType[0], "INT");
  sqlite3_free(aAdd);
}

static void bad_names_are_refused_before_any_request(void **state) {
  static const char *const azKeys[] = {"", "../x", "a/b", "k;1", NULL};
  static const char *const azFiles[] = {"/tmp/../", "/tmp/a b.parquet",
                                        "/tmp/x/..", NULL};
  const DbxSqlCol aCol[] = {{"id", "BIGINT"}};
  const char *azGood[] = {"/tmp/part-00000.parquet"};
  DbxCommitSpec spec;
  DbxCommitReport rep;
  DbxStmtOptions opt;
  DbxError e;
  int i;
  (void)state;
  dbx_stmt_options_init(&opt);
  memset(&spec, 0, sizeof(spec));
  spec.zCatalog = "main";
  spec.zSchema = "s";
  spec.zTable = "t";
  spec.aCol = aCol;
  spec.nCol = 1;
  spec.zStageCatalog = "main";
  spec.zStageSchema = "s";
  spec.zStageVolume = "v";
  spec.nParallel = 1;
  spec.azLocal = azGood;
  spec.nLocal = 1;
  /* the client is NULL: any request would crash, so none is made */
  for (i = 0; azKeys[i]; i++) {
    dbx_error_clear(&e);
    spec.zKey = azKeys[i];
    assert_int_equal(dbx_commit_append(NULL, &opt, &spec, &rep, &e),
                     SQLITE_MISUSE);
  }
  spec.zKey = "abc-1-def";
  for (i = 0; azFiles[i]; i++) {
    const char *azOne[1];
    azOne[0] = azFiles[i];
    spec.azLocal = azOne;
    dbx_error_clear(&e);
    assert_int_equal(dbx_commit_append(NULL, &opt, &spec, &rep, &e),
                     SQLITE_MISUSE);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(columns_missing_and_types),
      cmocka_unit_test(bad_names_are_refused_before_any_request),
  };
  return cmocka_run_group_tests_name("commit", tests, NULL, NULL);
}
