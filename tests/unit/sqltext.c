/*
** sqltext: prints the write statements of sqlgen.c for the integration
** tests (tests/integration/sqltext.test.mjs), which run them against
** dbx-local. Built with the unit tests; not a test itself.
**
**   echo '[{"op": "create", "table": "c.s.t", "columns": [["id", "BIGINT"]],
**           "cdf": true}, ...]' | build/unit/sqltext
**
** Reads a JSON array of cases on stdin and writes a JSON array of the same
** length: {"sql": "..."} for a built statement, {"error": "..."} for a
** refusal. A case has "op" (create, add_columns, copy_into, create_stage,
** drop_stage, merge), "table", and as the op needs: "columns" (an array
** of [name, type] pairs) or "columns_text" (a column list read with
** dbx_sql_cols_parse), "cdf", "dir", "files", "merge_schema", "suffix",
** "keys", "versions".
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sqlgen.h"

/* The string of member zKey of pObj, or NULL. */
static const char *str(const cJSON *pObj, const char *zKey) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(pObj, zKey);
  return cJSON_IsString(p) ? p->valuestring : NULL;
}

/* The array of strings pArr as a C array (malloc), its length in *pn. */
static const char **strings(const cJSON *pArr, int *pn) {
  int n = cJSON_GetArraySize(pArr), i = 0;
  const char **az = calloc((size_t)n + 1, sizeof(char *));
  const cJSON *p;
  cJSON_ArrayForEach(p, pArr) {
    az[i++] = cJSON_IsString(p) ? p->valuestring : NULL;
  }
  *pn = n;
  return az;
}

/* Builds the statement of one case into pBuf. */
static int build(const cJSON *pCase, DbxBuf *pBuf, DbxError *pErr) {
  const char *zOp = str(pCase, "op"), *zTable = str(pCase, "table");
  const cJSON *pCols = cJSON_GetObjectItemCaseSensitive(pCase, "columns");
  DbxSqlCol *aCol = NULL, *aParsed = NULL;
  int nCol = 0, rc = SQLITE_OK;
  if (str(pCase, "columns_text")) {
    rc = dbx_sql_cols_parse(str(pCase, "columns_text"), &aParsed, &nCol, pErr);
    aCol = aParsed;
  } else if (cJSON_IsArray(pCols)) {
    const cJSON *p;
    aCol = calloc((size_t)cJSON_GetArraySize(pCols) + 1, sizeof(DbxSqlCol));
    cJSON_ArrayForEach(p, pCols) {
      aCol[nCol].zName = cJSON_GetStringValue(cJSON_GetArrayItem(p, 0));
      aCol[nCol].zType = cJSON_GetStringValue(cJSON_GetArrayItem(p, 1));
      nCol++;
    }
  }
  if (rc == SQLITE_OK) {
    if (zOp == NULL) {
      rc = dbx_error_set(pErr, SQLITE_ERROR, "no op");
    } else if (strcmp(zOp, "create") == 0) {
      rc = dbx_sql_create_table(
          pBuf, zTable, aCol, nCol,
          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pCase, "cdf")), pErr);
    } else if (strcmp(zOp, "add_columns") == 0) {
      rc = dbx_sql_add_columns(pBuf, zTable, aCol, nCol, pErr);
    } else if (strcmp(zOp, "copy_into") == 0) {
      int nFile;
      const char **azFile =
          strings(cJSON_GetObjectItemCaseSensitive(pCase, "files"), &nFile);
      rc = dbx_sql_copy_into(
          pBuf, zTable, aCol, nCol, str(pCase, "dir"), azFile, nFile,
          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pCase, "merge_schema")),
          pErr);
      free(azFile);
    } else if (strcmp(zOp, "create_stage") == 0) {
      rc = dbx_sql_create_stage(pBuf, zTable, str(pCase, "suffix"), aCol, nCol,
                                pErr);
    } else if (strcmp(zOp, "drop_stage") == 0) {
      rc = dbx_sql_drop_stage(pBuf, zTable, str(pCase, "suffix"), pErr);
    } else if (strcmp(zOp, "merge") == 0) {
      int nKey, nVersion;
      const char **azKey =
          strings(cJSON_GetObjectItemCaseSensitive(pCase, "keys"), &nKey);
      const char **azVersion = strings(
          cJSON_GetObjectItemCaseSensitive(pCase, "versions"), &nVersion);
      rc = dbx_sql_merge(pBuf, zTable, str(pCase, "suffix"), aCol, nCol, azKey,
                         nKey, azVersion, nVersion, pErr);
      free(azKey);
      free(azVersion);
    } else {
      rc = dbx_error_set(pErr, SQLITE_ERROR, "unknown op %s", zOp);
    }
  }
  if (aParsed) {
    sqlite3_free(aParsed);
  } else {
    free(aCol);
  }
  return rc;
}

int main(void) {
  DbxBuf in = {0};
  char ach[4096];
  size_t n;
  cJSON *pCases, *pOut, *pCase;
  char *zOut;
  while ((n = fread(ach, 1, sizeof(ach), stdin)) > 0)
    dbx_buf_append(&in, ach, n);
  pCases = cJSON_Parse(in.z ? in.z : "");
  if (!cJSON_IsArray(pCases)) {
    fprintf(stderr, "sqltext: stdin is not a JSON array\n");
    return 2;
  }
  pOut = cJSON_CreateArray();
  cJSON_ArrayForEach(pCase, pCases) {
    DbxBuf b = {0};
    DbxError e = {0};
    cJSON *pRes = cJSON_CreateObject();
    if (build(pCase, &b, &e) == SQLITE_OK) {
      cJSON_AddStringToObject(pRes, "sql", b.z ? b.z : "");
    } else {
      cJSON_AddStringToObject(pRes, "error", e.zMsg);
    }
    cJSON_AddItemToArray(pOut, pRes);
    dbx_buf_free(&b);
  }
  zOut = cJSON_PrintUnformatted(pOut);
  puts(zOut);
  free(zOut);
  cJSON_Delete(pOut);
  cJSON_Delete(pCases);
  dbx_buf_free(&in);
  return 0;
}
