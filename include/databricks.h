/*
** sqlite-databricks: the public face of the extension.
**
** Apps that load the extension at run time need nothing from this header:
** `.load ./build/databricks` (shell) or sqlite3_load_extension() finds the
** entry point by name. Apps that link the extension statically call
** sqlite3_databricks_init() themselves, for example through
** sqlite3_auto_extension().
*/
#ifndef DATABRICKS_H
#define DATABRICKS_H

#include <sqlite3.h>

#define DBX_VERSION_MAJOR 0
#define DBX_VERSION_MINOR 1
#define DBX_VERSION_PATCH 0
#define DBX_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/*
** Registers the `databricks` virtual table module and the dbx_* SQL
** functions on db. Returns SQLITE_OK, or an error code with *pzErrMsg set
** (freed by the caller with sqlite3_free) when a registration failed.
*/
int sqlite3_databricks_init(sqlite3 *db, char **pzErrMsg,
                            const sqlite3_api_routines *pApi);

#ifdef __cplusplus
}
#endif

#endif /* DATABRICKS_H */
