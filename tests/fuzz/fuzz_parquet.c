/*
** Fuzz target: the value conversions and schema parsing of parquet_value.c.
** The first input byte picks a column type from a fixed list; the rest is
** the value, converted as TEXT and again as a BLOB, then read as a schema
** text. An accepted value must hold what its type promises (valid UTF-8
** for STRING and JSON, a DECIMAL within its precision, the byte count of a
** wide DECIMAL); a refusal must be one line that names the column.
*/
#include "fuzz.h"
#include "parquet.h"

static const char *const azType[] = {
    "BOOLEAN",         "TINYINT",        "SMALLINT",      "INT",
    "BIGINT",          "FLOAT",          "DOUBLE",        "DECIMAL(5,2)",
    "DECIMAL(18,4)",   "DECIMAL(38,10)", "DECIMAL(38,0)", "DATE",
    "TIMESTAMP",       "TIMESTAMP_NTZ",  "STRING",        "BINARY",
    "VARIANT NOT NULL"};

/* Checks the outcome rc of converting v for column c into cell, with
** aScratch the conversion's scratch bytes. */
static void check(const DbxPqColumn *c, const DbxPqValue *v, int rc,
                  const DbxPqCell *cell, const unsigned char *aScratch,
                  const DbxError *e) {
  if (rc != SQLITE_OK) {
    FUZZ_CHECK(e->rc != SQLITE_OK);
    FUZZ_CHECK(strchr(e->zMsg, '\n') == NULL);
    FUZZ_CHECK(strncmp(e->zMsg, "column \"fz\" row 7: ", 19) == 0);
    return;
  }
  FUZZ_CHECK(!cell->bNull);
  switch (c->eType) {
  case DBX_PQ_BOOLEAN:
    FUZZ_CHECK(cell->i == 0 || cell->i == 1);
    break;
  case DBX_PQ_TINYINT:
    FUZZ_CHECK(cell->i >= -128 && cell->i <= 127);
    break;
  case DBX_PQ_SMALLINT:
    FUZZ_CHECK(cell->i >= -32768 && cell->i <= 32767);
    break;
  case DBX_PQ_INT:
  case DBX_PQ_DATE:
    FUZZ_CHECK(cell->i >= INT32_MIN && cell->i <= INT32_MAX);
    break;
  case DBX_PQ_DECIMAL:
    if (c->nPrecision <= 18) {
      int64_t m = 1;
      int k;
      for (k = 0; k < c->nPrecision; k++)
        m *= 10;
      FUZZ_CHECK(cell->i > -m && cell->i < m);
    } else {
      FUZZ_CHECK(cell->n == dbx_parquet_decimal_bytes(c->nPrecision));
      FUZZ_CHECK(cell->z == aScratch);
    }
    break;
  case DBX_PQ_STRING:
  case DBX_PQ_JSON:
    FUZZ_CHECK(dbx_parquet_utf8_valid(cell->z, (size_t)cell->n));
    break;
  case DBX_PQ_BINARY:
    FUZZ_CHECK(cell->n == v->n);
    break;
  default:
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *a, size_t n) {
  DbxPqColumn c = {0}, *aCol = NULL;
  DbxPqValue v = {0};
  DbxPqCell cell;
  unsigned char aScratch[DBX_PQ_SCRATCH];
  DbxError e;
  char *z;
  int rc, nCol = 0, k;
  if (n == 0) return 0;
  c.zName = "fz";
  dbx_error_clear(&e);
  FUZZ_CHECK(dbx_parquet_type_parse(azType[a[0] % DBX_ARRAY_SIZE(azType)], &c,
                                    &e) == SQLITE_OK);
  /* the value, NUL-terminated as SQLite's text is */
  z = malloc(n);
  memcpy(z, a + 1, n - 1);
  z[n - 1] = 0;
  for (k = 0; k < 2; k++) {
    v.eType = k == 0 ? SQLITE_TEXT : SQLITE_BLOB;
    v.z = z;
    v.n = (int)(n - 1);
    memset(&cell, 0, sizeof(cell));
    dbx_error_clear(&e);
    rc = dbx_parquet_convert(&c, &v, 7, &cell, aScratch, &e);
    check(&c, &v, rc, &cell, aScratch, &e);
  }
  /* the same bytes as a schema */
  dbx_error_clear(&e);
  rc = dbx_parquet_schema_parse(z, &aCol, &nCol, &e);
  if (rc == SQLITE_OK) {
    FUZZ_CHECK(nCol >= 1);
    for (k = 0; k < nCol; k++)
      FUZZ_CHECK(aCol[k].zName && aCol[k].zName[0]);
  } else {
    FUZZ_CHECK(strchr(e.zMsg, '\n') == NULL);
  }
  dbx_parquet_schema_free(aCol, nCol);
  free(z);
  return 0;
}
