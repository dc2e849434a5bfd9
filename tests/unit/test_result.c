/* Unit tests of result.c: JSON_ARRAY values of every type -> cells, rows -> JSON. */
#include <math.h>

#include "unit.h"
#include "result.h"

/* Columns of a canned manifest.schema, in shuffled positions. */
static const char *zSchema =
    "{\"column_count\":19,\"columns\":["
    "{\"name\":\"i\",\"position\":0,\"type_name\":\"LONG\",\"type_text\":\"BIGINT\"},"
    "{\"name\":\"n\",\"position\":1,\"type_name\":\"INT\",\"type_text\":\"INT\"},"
    "{\"name\":\"b\",\"position\":2,\"type_name\":\"BOOLEAN\",\"type_text\":\"BOOLEAN\"},"
    "{\"name\":\"d\",\"position\":3,\"type_name\":\"DOUBLE\",\"type_text\":\"DOUBLE\"},"
    "{\"name\":\"dec1\",\"position\":4,\"type_name\":\"DECIMAL\",\"type_text\":\"DECIMAL(10,2)\",\"type_precision\":10,\"type_scale\":2},"
    "{\"name\":\"dec2\",\"position\":5,\"type_name\":\"DECIMAL\",\"type_text\":\"DECIMAL(30,4)\"},"
    "{\"name\":\"s\",\"position\":6,\"type_name\":\"STRING\",\"type_text\":\"STRING\"},"
    "{\"name\":\"dt\",\"position\":7,\"type_name\":\"DATE\",\"type_text\":\"DATE\"},"
    "{\"name\":\"ts\",\"position\":8,\"type_name\":\"TIMESTAMP\",\"type_text\":\"TIMESTAMP\"},"
    "{\"name\":\"ntz\",\"position\":9,\"type_name\":\"TIMESTAMP_NTZ\",\"type_text\":\"TIMESTAMP_NTZ\"},"
    "{\"name\":\"bin\",\"position\":10,\"type_name\":\"BINARY\",\"type_text\":\"BINARY\"},"
    "{\"name\":\"arr\",\"position\":11,\"type_name\":\"ARRAY\",\"type_text\":\"ARRAY<INT>\"},"
    "{\"name\":\"m\",\"position\":12,\"type_name\":\"MAP\",\"type_text\":\"MAP<STRING,INT>\"},"
    "{\"name\":\"st\",\"position\":13,\"type_name\":\"STRUCT\",\"type_text\":\"STRUCT<a:INT>\"},"
    "{\"name\":\"v\",\"position\":14,\"type_name\":\"VARIANT\",\"type_text\":\"VARIANT\"},"
    "{\"name\":\"f\",\"position\":15,\"type_name\":\"float\",\"type_text\":\"float\"},"
    "{\"name\":\"iv\",\"position\":16,\"type_name\":\"INTERVAL\",\"type_text\":\"INTERVAL DAY TO SECOND\"},"
    "{\"name\":\"u\",\"position\":18,\"type_name\":\"GEOGRAPHY_NEW\",\"type_text\":\"SMALLINT\"},"
    "{\"name\":\"sh\",\"position\":17,\"type_name\":\"SHORT\",\"type_text\":\"SMALLINT\"}"
    "]}";

typedef struct Fixture {
  DbxColumn *aCol;
  int nCol;
  DbxBuf scratch;
} Fixture;

static int setup(void **state) {
  static Fixture f;
  DbxError e;
  cJSON *p = cJSON_Parse(zSchema);
  dbx_error_clear(&e);
  memset(&f, 0, sizeof(f));
  assert_int_equal(dbx_result_columns(p, &f.aCol, &f.nCol, &e), SQLITE_OK);
  cJSON_Delete(p);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  Fixture *f = *state;
  dbx_result_columns_free(f->aCol, f->nCol);
  dbx_buf_free(&f->scratch);
  return 0;
}

/* Decodes text z for column iCol. */
static DbxCell decode(Fixture *f, int iCol, const char *z) {
  DbxCell c;
  DbxError e;
  dbx_error_clear(&e);
  assert_int_equal(dbx_result_decode_text(&f->aCol[iCol], z, z ? strlen(z) : 0,
                                          &f->scratch, &c, &e),
                   SQLITE_OK);
  return c;
}

static void columns_are_ordered_and_kinded(void **state) {
  Fixture *f = *state;
  static const DbxKind aWant[] = {
      DBX_KIND_INTEGER, DBX_KIND_INTEGER, DBX_KIND_BOOLEAN, DBX_KIND_REAL,
      DBX_KIND_REAL,    DBX_KIND_DECIMAL, DBX_KIND_TEXT,    DBX_KIND_DATE,
      DBX_KIND_TIMESTAMP, DBX_KIND_TIMESTAMP_NTZ, DBX_KIND_BINARY, DBX_KIND_JSON,
      DBX_KIND_JSON,    DBX_KIND_JSON,    DBX_KIND_JSON,    DBX_KIND_REAL,
      DBX_KIND_TEXT,    DBX_KIND_INTEGER, DBX_KIND_INTEGER};
  int i;
  assert_int_equal(f->nCol, 19);
  for (i = 0; i < f->nCol; i++) assert_int_equal(f->aCol[i].eKind, aWant[i]);
  assert_string_equal(f->aCol[17].zName, "sh"); /* by position, not order */
  assert_string_equal(f->aCol[18].zName, "u");
  assert_string_equal(f->aCol[15].zTypeName, "FLOAT"); /* upper-cased */
  assert_int_equal(f->aCol[5].nPrecision, 30);        /* parsed from type_text */
  assert_int_equal(f->aCol[5].nScale, 4);
}

static void integers_and_booleans(void **state) {
  Fixture *f = *state;
  DbxCell c = decode(f, 0, "9007199254740993");
  assert_int_equal(c.eType, DBX_CELL_INTEGER);
  assert_true(c.iVal == INT64_C(9007199254740993));
  c = decode(f, 0, "-9223372036854775808");
  assert_true(c.iVal == INT64_MIN);
  c = decode(f, 0, "99999999999999999999"); /* out of range: text kept */
  assert_int_equal(c.eType, DBX_CELL_TEXT);
  c = decode(f, 2, "true");
  assert_int_equal(c.eType, DBX_CELL_INTEGER);
  assert_int_equal(c.iVal, 1);
  c = decode(f, 2, "false");
  assert_int_equal(c.iVal, 0);
  c = decode(f, 18, "12"); /* unknown type_name: type_text decides */
  assert_int_equal(c.eType, DBX_CELL_INTEGER);
  assert_int_equal(c.iVal, 12);
}

static void reals_and_decimals(void **state) {
  Fixture *f = *state;
  DbxCell c = decode(f, 3, "0.1");
  assert_int_equal(c.eType, DBX_CELL_REAL);
  assert_true(c.rVal == 0.1);
  c = decode(f, 3, "NaN");
  assert_int_equal(c.eType, DBX_CELL_REAL);
  assert_true(isnan(c.rVal));
  c = decode(f, 3, "Infinity");
  assert_true(isinf(c.rVal) && c.rVal > 0);
  c = decode(f, 15, "-Infinity");
  assert_true(isinf(c.rVal) && c.rVal < 0);
  c = decode(f, 4, "12.30");
  assert_int_equal(c.eType, DBX_CELL_REAL);
  assert_true(c.rVal == 12.3);
  c = decode(f, 5, "12345678901234567890.1234");
  assert_int_equal(c.eType, DBX_CELL_TEXT);
  assert_string_equal(c.z, "12345678901234567890.1234");
}

static void timestamps_become_sqlite_text(void **state) {
  Fixture *f = *state;
  DbxCell c = decode(f, 8, "2024-01-31T10:11:12.5Z");
  assert_int_equal(c.eType, DBX_CELL_TEXT);
  assert_string_equal(c.z, "2024-01-31 10:11:12.5");
  c = decode(f, 8, "2024-01-31T10:11:12.000Z");
  assert_string_equal(c.z, "2024-01-31 10:11:12");
  c = decode(f, 8, "2024-01-31T23:30:00.123456+02:00"); /* shifted to UTC */
  assert_string_equal(c.z, "2024-01-31 21:30:00.123456");
  c = decode(f, 8, "2024-03-01T00:30:00-0100");
  assert_string_equal(c.z, "2024-03-01 01:30:00");
  c = decode(f, 8, "2024-03-01T00:30:00+01"); /* back over a leap day */
  assert_string_equal(c.z, "2024-02-29 23:30:00");
  c = decode(f, 8, "2024-01-31 10:11");
  assert_string_equal(c.z, "2024-01-31 10:11:00");
  c = decode(f, 9, "2024-01-31T10:11:12");
  assert_string_equal(c.z, "2024-01-31 10:11:12");
  c = decode(f, 8, "not a time"); /* kept as sent */
  assert_string_equal(c.z, "not a time");
  c = decode(f, 7, "2024-01-31");
  assert_string_equal(c.z, "2024-01-31");
}

static void binary_is_hex_decoded(void **state) {
  Fixture *f = *state;
  DbxCell c = decode(f, 10, "CAfe00");
  DbxError e;
  assert_int_equal(c.eType, DBX_CELL_BLOB);
  assert_int_equal(c.n, 3);
  assert_memory_equal(c.z, "\xca\xfe\x00", 3);
  c = decode(f, 10, "");
  assert_int_equal(c.eType, DBX_CELL_BLOB);
  assert_int_equal(c.n, 0);
  dbx_error_clear(&e);
  assert_int_equal(dbx_result_decode_text(&f->aCol[10], "xyz", 3, &f->scratch, &c, &e),
                   SQLITE_MISMATCH);
  assert_non_null(strstr(e.zMsg, "column bin"));
}

static void complex_types_are_json_text(void **state) {
  Fixture *f = *state;
  DbxCell c = decode(f, 11, "[1,2]");
  assert_int_equal(c.eType, DBX_CELL_TEXT);
  assert_true(c.bJson);
  c = decode(f, 14, "{\"k\":1}");
  assert_true(c.bJson);
  c = decode(f, 16, "1 02:00:00.000000000");
  assert_false(c.bJson);
  assert_string_equal(c.z, "1 02:00:00.000000000");
}

static void nulls_and_json_values(void **state) {
  Fixture *f = *state;
  DbxCell c;
  DbxError e;
  cJSON *p = cJSON_Parse("[null, 5, true, \"7\"]");
  dbx_error_clear(&e);
  assert_int_equal(dbx_result_decode(&f->aCol[0], cJSON_GetArrayItem(p, 0), &f->scratch, &c, &e), 0);
  assert_int_equal(c.eType, DBX_CELL_NULL);
  assert_int_equal(dbx_result_decode(&f->aCol[0], cJSON_GetArrayItem(p, 1), &f->scratch, &c, &e), 0);
  assert_int_equal(c.eType, DBX_CELL_INTEGER);
  assert_int_equal(c.iVal, 5);
  assert_int_equal(dbx_result_decode(&f->aCol[2], cJSON_GetArrayItem(p, 2), &f->scratch, &c, &e), 0);
  assert_int_equal(c.iVal, 1);
  assert_int_equal(dbx_result_decode(&f->aCol[6], cJSON_GetArrayItem(p, 1), &f->scratch, &c, &e), 0);
  assert_int_equal(c.eType, DBX_CELL_TEXT);
  assert_string_equal(c.z, "5");
  assert_int_equal(dbx_result_decode(&f->aCol[6], cJSON_GetArrayItem(p, 3), &f->scratch, &c, &e), 0);
  assert_string_equal(c.z, "7");
  cJSON_Delete(p);
}

static void row_json_types_each_value(void **state) {
  Fixture *f = *state;
  DbxCell a[19];
  DbxBuf aScratch[19];
  DbxBuf out = {0};
  DbxError e;
  const char *az[19] = {"1", "-2", "true", "2", "12.30", "1.5", "a\"b\n", "2024-01-31",
                        "2024-01-31T10:11:12.5Z", NULL, "cafe", "[1,2]", "{\"k\":1}",
                        "not json", "{\"v\":[true]}", "NaN", "x", "3", "4"};
  int i;
  memset(aScratch, 0, sizeof(aScratch));
  dbx_error_clear(&e);
  for (i = 0; i < 19; i++) {
    assert_int_equal(dbx_result_decode_text(&f->aCol[i], az[i], az[i] ? strlen(az[i]) : 0,
                                            &aScratch[i], &a[i], &e),
                     SQLITE_OK);
  }
  dbx_result_row_json(f->aCol, a, 19, &out);
  assert_int_equal(out.rc, SQLITE_OK);
  assert_string_equal(out.z,
                      "{\"i\":1,\"n\":-2,\"b\":true,\"d\":2.0,\"dec1\":12.3,"
                      "\"dec2\":\"1.5\",\"s\":\"a\\\"b\\n\",\"dt\":\"2024-01-31\","
                      "\"ts\":\"2024-01-31 10:11:12.5\",\"ntz\":null,\"bin\":\"cafe\","
                      "\"arr\":[1,2],\"m\":{\"k\":1},\"st\":\"not json\","
                      "\"v\":{\"v\":[true]},\"f\":null,\"iv\":\"x\",\"sh\":3,\"u\":4}");
  for (i = 0; i < 19; i++) dbx_buf_free(&aScratch[i]);
  dbx_buf_free(&out);
}

static void malformed_schema_is_an_error(void **state) {
  DbxColumn *aCol;
  int nCol;
  DbxError e;
  cJSON *p = cJSON_Parse("{\"columns\": 3}");
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_result_columns(p, &aCol, &nCol, &e), SQLITE_ERROR);
  cJSON_Delete(p);
  assert_int_equal(dbx_result_columns(NULL, &aCol, &nCol, &e), SQLITE_OK);
  assert_int_equal(nCol, 0);
  assert_int_equal(dbx_result_kind(NULL, "DECIMAL", NULL, NULL), DBX_KIND_REAL);
  assert_int_equal(dbx_result_kind("USER_DEFINED_TYPE", "decimal(38,0)", NULL, NULL),
                   DBX_KIND_DECIMAL);
  assert_int_equal(dbx_result_kind("STRING", "VARIANT", NULL, NULL), DBX_KIND_JSON);
  assert_int_equal(dbx_result_kind("WHATEVER", "GEOGRAPHY(4326)", NULL, NULL), DBX_KIND_TEXT);
}

/* Scans z (copied, since the scan rewrites it) and checks every row. */
static void scan_expect(const char *z, int nCol, const char *const *azWant,
                        int nRow) {
  char *zCopy = sqlite3_mprintf("%s", z);
  const char *azVal[4];
  size_t anVal[4];
  DbxRowScan scan;
  DbxError e;
  int iRow, i;
  dbx_error_clear(&e);
  dbx_rowscan_init(&scan, zCopy, strlen(zCopy));
  for (iRow = 0; iRow < nRow; iRow++) {
    assert_int_equal(dbx_rowscan_next(&scan, nCol, azVal, anVal, NULL, &e), SQLITE_ROW);
    for (i = 0; i < nCol; i++) {
      const char *zWant = azWant[iRow * nCol + i];
      if (zWant == NULL) {
        assert_null(azVal[i]);
      } else {
        assert_non_null(azVal[i]);
        assert_int_equal(anVal[i], strlen(zWant));
        assert_string_equal(azVal[i], zWant);
      }
    }
  }
  assert_int_equal(dbx_rowscan_next(&scan, nCol, azVal, anVal, NULL, &e), SQLITE_DONE);
  sqlite3_free(zCopy);
}

static void rowscan_reads_values_in_place(void **state) {
  static const char *const azWant[] = {
      "1",  "a\"b\\c/\n\t", NULL,
      "",   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "7",
      "-2.5e3", "true", "[1,{\"k\":\"]\"}]",
      "x",  NULL, NULL,
  };
  (void)state;
  scan_expect(" [ [\"1\", \"a\\\"b\\\\c\\/\\n\\t\", null],\n"
              "[\"\",\"\\u00e9\\u20ac\\ud83d\\ude00\",7],"
              "[-2.5e3,true,[1,{\"k\":\"]\"}]],"
              "[\"x\"] ] ",
              3, azWant, 4);
  scan_expect("[]", 3, azWant, 0);
  /* extra values beyond nCol are skipped */
  scan_expect("[[\"1\",\"2\",\"3\"]]", 1, azWant, 1);
}

static void rowscan_rejects_what_is_not_rows(void **state) {
  static const char *const azBad[] = {"", "{}", "[1]", "[[\"a\"", "[[\"a]]",
                                      "[[\"a\" \"b\"]]", "[[\"\\u12\"]]",
                                      "[[\"a\"]] [[\"b\"]]x"};
  const char *azVal[2];
  size_t anVal[2];
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    char *z = sqlite3_mprintf("%s", azBad[i]);
    DbxRowScan scan;
    DbxError e;
    int rc;
    dbx_error_clear(&e);
    dbx_rowscan_init(&scan, z, strlen(z));
    while ((rc = dbx_rowscan_next(&scan, 2, azVal, anVal, NULL, &e)) == SQLITE_ROW) {
    }
    if (i == DBX_ARRAY_SIZE(azBad) - 1) {
      /* trailing bytes after the closing bracket are not read */
      assert_int_equal(rc, SQLITE_DONE);
    } else {
      assert_int_equal(rc, SQLITE_ERROR);
      assert_non_null(strstr(e.zMsg, "not a JSON array of rows"));
      /* and it stays failed */
      assert_int_equal(dbx_rowscan_next(&scan, 2, azVal, anVal, NULL, &e), SQLITE_ERROR);
    }
    sqlite3_free(z);
  }
}

/* A schema with a bad number is an error, not a cast out of range. */
static void schema_numbers_are_checked(void **state) {
  static const struct {
    const char *zSchema;
    const char *zMsgHas; /* NULL: accepted */
  } aCase[] = {
      {"{\"columns\":[{\"name\":\"a\",\"position\":1e74}]}", "position of column 1 is not an integer from 0 to 0"},
      {"{\"columns\":[{\"name\":\"a\",\"position\":-1}]}", "position of column 1"},
      {"{\"columns\":[{\"name\":\"a\",\"position\":0.5}]}", "position of column 1"},
      {"{\"columns\":[{\"name\":\"a\",\"position\":0},{\"name\":\"b\",\"position\":0}]}",
       "two columns at position 0"},
      {"{\"columns\":[{\"name\":\"a\",\"type_name\":\"DECIMAL\",\"type_precision\":1e300}]}",
       "type_precision of column 1 is not an integer from 0 to 1000"},
      {"{\"columns\":[{\"name\":\"a\",\"type_name\":\"DECIMAL\",\"type_scale\":-3}]}", "type_scale of column 1"},
      {"{\"columns\":[{\"name\":\"a\",\"type_text\":\"DECIMAL(99999999999999999999,99999999999999999999)\"}]}", NULL},
      {"{\"columns\":[{\"name\":\"a\",\"position\":\"1\"},{\"name\":\"b\",\"position\":\"0\"}]}", NULL},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    DbxColumn *aCol = NULL;
    int nCol = 0, rc;
    DbxError e;
    cJSON *p = cJSON_Parse(aCase[i].zSchema);
    assert_non_null(p);
    dbx_error_clear(&e);
    rc = dbx_result_columns(p, &aCol, &nCol, &e);
    cJSON_Delete(p);
    if (aCase[i].zMsgHas) {
      assert_int_equal(rc, SQLITE_ERROR);
      assert_null(aCol);
      if (strstr(e.zMsg, aCase[i].zMsgHas) == NULL) fail_msg("'%s' lacks '%s'", e.zMsg, aCase[i].zMsgHas);
    } else {
      assert_int_equal(rc, SQLITE_OK);
      dbx_result_columns_free(aCol, nCol);
    }
  }
  /* type_text digits are clamped, not overflowed: a very wide DECIMAL */
  {
    int nPrec = 0, nScale = 0;
    assert_int_equal(dbx_result_kind(NULL, "DECIMAL(99999999999999999999,7)", &nPrec, &nScale),
                     DBX_KIND_DECIMAL);
    assert_int_equal(nPrec, 1000);
    assert_int_equal(nScale, 7);
  }
}

/* The scan reports how wide each row really is, and keeps escaped NULs. */
static void rowscan_counts_values_and_keeps_nul(void **state) {
  char z[] = "[[\"1\",\"2\",\"3\"],[],[\"a\\u0000b\"],[null]]";
  const char *azVal[1];
  size_t anVal[1];
  DbxRowScan scan;
  DbxError e;
  int nVal = -1;
  (void)state;
  dbx_error_clear(&e);
  dbx_rowscan_init(&scan, z, strlen(z));
  assert_int_equal(dbx_rowscan_next(&scan, 1, azVal, anVal, &nVal, &e), SQLITE_ROW);
  assert_int_equal(nVal, 3);
  assert_string_equal(azVal[0], "1");
  assert_int_equal(dbx_rowscan_next(&scan, 1, azVal, anVal, &nVal, &e), SQLITE_ROW);
  assert_int_equal(nVal, 0);
  assert_null(azVal[0]);
  assert_int_equal(dbx_rowscan_next(&scan, 1, azVal, anVal, &nVal, &e), SQLITE_ROW);
  assert_int_equal(nVal, 1);
  assert_int_equal(anVal[0], 3);
  assert_memory_equal(azVal[0], "a\0b", 3);
  assert_int_equal(dbx_rowscan_next(&scan, 1, azVal, anVal, &nVal, &e), SQLITE_ROW);
  assert_int_equal(nVal, 1);
  assert_null(azVal[0]);
  assert_int_equal(dbx_rowscan_next(&scan, 1, azVal, anVal, &nVal, &e), SQLITE_DONE);
}

/* The reader: the rows of each chunk fed to it, their width as sent, and
** the cells of the current row only. */
static void reader_reads_the_chunks_it_is_fed(void **state) {
  cJSON *pSchema = cJSON_Parse(
      "{\"columns\":[{\"name\":\"s\",\"position\":1,\"type_name\":\"STRING\"},"
      "{\"name\":\"i\",\"position\":0,\"type_name\":\"LONG\"}]}");
  char zA[] = "[[\"7\",\"a\\u0000b\"],[\"8\"]]";
  char zB[] = "[[\"9\",null,\"x\"]]";
  char zBad[] = "{\"not\":\"rows\"}";
  DbxResultReader *p = NULL;
  DbxCell c;
  DbxError e;
  int nVal = -1;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_result_reader_new(pSchema, &p, &e), SQLITE_OK);
  cJSON_Delete(pSchema);
  assert_int_equal(dbx_result_reader_column_count(p), 2);
  assert_string_equal(dbx_result_reader_column(p, 0)->zName, "i");
  assert_null(dbx_result_reader_column(p, 2));
  assert_null(dbx_result_reader_column(p, -1));
  /* nothing fed yet: no rows, no cells */
  assert_int_equal(dbx_result_reader_next(p, &nVal, &e), SQLITE_DONE);
  assert_int_equal(dbx_result_reader_cell(p, 0, &c, &e), SQLITE_RANGE);
  assert_int_equal(c.eType, DBX_CELL_NULL);

  dbx_result_reader_feed(p, zA, strlen(zA));
  assert_int_equal(dbx_result_reader_next(p, &nVal, &e), SQLITE_ROW);
  assert_int_equal(nVal, 2);
  assert_int_equal(dbx_result_reader_cell(p, 0, &c, &e), SQLITE_OK);
  assert_int_equal(c.eType, DBX_CELL_INTEGER);
  assert_int_equal(c.iVal, 7);
  assert_int_equal(dbx_result_reader_cell(p, 1, &c, &e), SQLITE_OK);
  assert_int_equal(c.eType, DBX_CELL_TEXT);
  assert_int_equal(c.n, 3);
  assert_memory_equal(c.z, "a\0b", 3);
  dbx_error_clear(&e);
  assert_int_equal(dbx_result_reader_cell(p, 2, &c, &e), SQLITE_RANGE);
  assert_string_equal(e.zMsg, "no such result column 2");
  assert_int_equal(dbx_result_reader_next(p, &nVal, &e), SQLITE_ROW);
  assert_int_equal(nVal, 1); /* narrower than the schema: the caller decides */
  assert_int_equal(dbx_result_reader_cell(p, 1, &c, &e), SQLITE_OK);
  assert_int_equal(c.eType, DBX_CELL_NULL);
  assert_int_equal(dbx_result_reader_next(p, &nVal, &e), SQLITE_DONE);
  assert_int_equal(dbx_result_reader_cell(p, 0, &c, &e), SQLITE_RANGE);
  assert_int_equal(dbx_result_reader_next(p, &nVal, &e), SQLITE_DONE);

  dbx_result_reader_feed(p, zB, strlen(zB));
  assert_int_equal(dbx_result_reader_next(p, &nVal, &e), SQLITE_ROW);
  assert_int_equal(nVal, 3); /* wider: reported as sent */
  assert_int_equal(dbx_result_reader_cell(p, 0, &c, &e), SQLITE_OK);
  assert_int_equal(c.iVal, 9);
  assert_int_equal(dbx_result_reader_cell(p, 1, &c, &e), SQLITE_OK);
  assert_int_equal(c.eType, DBX_CELL_NULL);
  assert_int_equal(dbx_result_reader_next(p, &nVal, &e), SQLITE_DONE);

  dbx_result_reader_feed(p, zBad, strlen(zBad));
  dbx_error_clear(&e);
  assert_int_equal(dbx_result_reader_next(p, &nVal, &e), SQLITE_ERROR);
  assert_int_not_equal(e.zMsg[0], 0);
  assert_int_equal(dbx_result_reader_cell(p, 0, &c, &e), SQLITE_RANGE);
  dbx_result_reader_free(p);
  dbx_result_reader_free(NULL);

  /* no schema (DDL): zero columns; a malformed one is refused */
  assert_int_equal(dbx_result_reader_new(NULL, &p, &e), SQLITE_OK);
  assert_int_equal(dbx_result_reader_column_count(p), 0);
  dbx_result_reader_free(p);
  pSchema = cJSON_Parse("{\"columns\": 3}");
  dbx_error_clear(&e);
  assert_int_equal(dbx_result_reader_new(pSchema, &p, &e), SQLITE_ERROR);
  assert_null(p);
  cJSON_Delete(pSchema);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(columns_are_ordered_and_kinded),
      cmocka_unit_test(integers_and_booleans),
      cmocka_unit_test(reals_and_decimals),
      cmocka_unit_test(timestamps_become_sqlite_text),
      cmocka_unit_test(binary_is_hex_decoded),
      cmocka_unit_test(complex_types_are_json_text),
      cmocka_unit_test(nulls_and_json_values),
      cmocka_unit_test(row_json_types_each_value),
      cmocka_unit_test(malformed_schema_is_an_error),
      cmocka_unit_test(rowscan_reads_values_in_place),
      cmocka_unit_test(rowscan_rejects_what_is_not_rows),
      cmocka_unit_test(schema_numbers_are_checked),
      cmocka_unit_test(rowscan_counts_values_and_keeps_nul),
      cmocka_unit_test(reader_reads_the_chunks_it_is_fed),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
