/*
** Fuzz target: the result chunk scanner and cell decoding of result.c.
** The input's first line is a manifest schema ({"columns": [...]}); when it
** does not parse, a fixed schema with a column of every kind is used. The
** rest is a JSON_ARRAY chunk, read twice: by the in-place row scanner with
** dbx_result_decode_text, and as a cJSON tree with dbx_result_decode. Each
** decoded row is also written as JSON (dbx_result_row_json).
*/
#include "fuzz.h"
#include "result.h"

/* Columns used when the first line is not a usable schema. */
static const char zDefaultSchema[] =
    "{\"columns\":["
    "{\"name\":\"i\",\"position\":0,\"type_name\":\"LONG\",\"type_text\":"
    "\"BIGINT\"},"
    "{\"name\":\"b\",\"position\":1,\"type_name\":\"BOOLEAN\"},"
    "{\"name\":\"d\",\"position\":2,\"type_name\":\"DOUBLE\"},"
    "{\"name\":\"m\",\"position\":3,\"type_name\":\"DECIMAL\",\"type_text\":"
    "\"DECIMAL(10,2)\",\"type_precision\":10,\"type_scale\":2},"
    "{\"name\":\"x\",\"position\":4,\"type_name\":\"DECIMAL\",\"type_text\":"
    "\"DECIMAL(38,6)\",\"type_precision\":38,\"type_scale\":6},"
    "{\"name\":\"t\",\"position\":5,\"type_name\":\"TIMESTAMP\"},"
    "{\"name\":\"n\",\"position\":6,\"type_name\":\"TIMESTAMP_NTZ\"},"
    "{\"name\":\"dt\",\"position\":7,\"type_name\":\"DATE\"},"
    "{\"name\":\"bin\",\"position\":8,\"type_name\":\"BINARY\"},"
    "{\"name\":\"j\",\"position\":9,\"type_name\":\"ARRAY\",\"type_text\":"
    "\"ARRAY<INT>\"},"
    "{\"name\":\"s\",\"position\":10,\"type_name\":\"STRING\"},"
    "{\"name\":\"z\",\"position\":11,\"type_name\":\"NULL\"}]}";

/* Checks a decoded cell against the promises of result.h. */
static void check_cell(const DbxCell *c) {
  FUZZ_CHECK(c->eType >= DBX_CELL_INTEGER && c->eType <= DBX_CELL_NULL);
  if (c->eType == DBX_CELL_TEXT) {
    FUZZ_CHECK(c->z != NULL && c->z[c->n] == 0);
  }
  if (c->eType == DBX_CELL_BLOB && c->n) FUZZ_CHECK(c->z != NULL);
}

/* Reads the chunk in z[0..n) with the row scanner. */
static void scan_rows(const DbxColumn *aCol, int nCol, char *z, size_t n,
                      DbxBuf *aScratch, DbxCell *aCell) {
  const char *azVal[16];
  size_t anVal[16];
  DbxRowScan scan;
  DbxError e;
  int rc, i, nVal, nRow = 0;
  dbx_rowscan_init(&scan, z, n);
  dbx_error_clear(&e);
  while ((rc = dbx_rowscan_next(&scan, nCol, azVal, anVal, &nVal, &e)) ==
         SQLITE_ROW) {
    FUZZ_CHECK(nVal >= 0);
    DbxBuf json = {0};
    int bOk = 1;
    for (i = 0; i < nCol; i++) {
      rc = dbx_result_decode_text(&aCol[i], azVal[i], anVal[i], &aScratch[i],
                                  &aCell[i], &e);
      if (rc != SQLITE_OK) {
        FUZZ_CHECK(e.rc != SQLITE_OK);
        dbx_error_clear(&e);
        bOk = 0;
        break;
      }
      check_cell(&aCell[i]);
    }
    if (bOk) dbx_result_row_json(aCol, aCell, nCol, &json);
    dbx_buf_free(&json);
    if (++nRow > 10000) break;
  }
  FUZZ_CHECK(rc != SQLITE_ERROR || e.rc != SQLITE_OK);
}

/* Reads the chunk as a parsed tree, value by value. */
static void decode_tree(const DbxColumn *aCol, int nCol, const char *z,
                        size_t n, DbxBuf *aScratch, DbxCell *aCell) {
  cJSON *pChunk = cJSON_ParseWithLength(z, n), *pRow;
  DbxError e;
  if (!cJSON_IsArray(pChunk)) goto done;
  cJSON_ArrayForEach(pRow, pChunk) {
    int i = 0;
    cJSON *pVal;
    if (!cJSON_IsArray(pRow)) continue;
    cJSON_ArrayForEach(pVal, pRow) {
      if (i >= nCol) break;
      dbx_error_clear(&e);
      if (dbx_result_decode(&aCol[i], pVal, &aScratch[i], &aCell[i], &e) ==
          SQLITE_OK) {
        check_cell(&aCell[i]);
      } else {
        FUZZ_CHECK(e.rc != SQLITE_OK);
      }
      i++;
    }
  }
done:
  cJSON_Delete(pChunk);
}

int LLVMFuzzerTestOneInput(const uint8_t *a, size_t n) {
  const uint8_t *pNl = memchr(a, '\n', n);
  size_t nSchema = pNl ? (size_t)(pNl - a) : 0;
  size_t nChunk = pNl ? n - nSchema - 1 : n;
  DbxColumn *aCol = NULL;
  int nCol = 0, i;
  DbxBuf aScratch[16];
  DbxCell aCell[16];
  DbxError e;
  char *zChunk;
  cJSON *pSchema;

  dbx_error_clear(&e);
  pSchema = cJSON_ParseWithLength((const char *)a, nSchema);
  if (pSchema == NULL ||
      dbx_result_columns(pSchema, &aCol, &nCol, &e) != SQLITE_OK || nCol == 0 ||
      nCol > 16) {
    cJSON_Delete(pSchema);
    dbx_result_columns_free(aCol, nCol);
    aCol = NULL;
    nCol = 0;
    dbx_error_clear(&e);
    pSchema = cJSON_Parse(zDefaultSchema);
    if (dbx_result_columns(pSchema, &aCol, &nCol, &e) != SQLITE_OK) abort();
  }
  cJSON_Delete(pSchema);
  for (i = 0; i < nCol; i++) {
    FUZZ_CHECK(aCol[i].zName && aCol[i].zTypeName && aCol[i].zTypeText);
  }

  memset(aScratch, 0, sizeof(aScratch));
  zChunk = fuzz_text(pNl ? pNl + 1 : a, nChunk);
  decode_tree(aCol, nCol, zChunk, nChunk, aScratch, aCell);
  scan_rows(aCol, nCol, zChunk, nChunk, aScratch, aCell);
  sqlite3_free(zChunk);
  for (i = 0; i < 16; i++)
    dbx_buf_free(&aScratch[i]);
  dbx_result_columns_free(aCol, nCol);
  return 0;
}
