/*
** An application that links the extension in, instead of loading it at run
** time: every connection it opens gets the databricks module and the dbx_*
** functions. Build it as the README's "Linking it in" says.
*/
#include <stdio.h>

#include <sqlite3.h>

#include "databricks.h"

static int print_row(void *pArg, int nCol, char **azVal, char **azCol) {
  (void)pArg;
  (void)azCol;
  if (nCol > 0) printf("%s\n", azVal[0] ? azVal[0] : "NULL");
  return 0;
}

int main(void) {
  sqlite3 *db;
  char *zErr = NULL;
  int rc;
  sqlite3_auto_extension((void (*)(void))sqlite3_databricks_init);
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
  rc = sqlite3_exec(db, "SELECT dbx_version()", print_row, NULL, &zErr);
  if (rc != SQLITE_OK) fprintf(stderr, "%s\n", zErr);
  sqlite3_free(zErr);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : 1;
}
