/*
** Unit tests of parquet.c and parquet_value.c: the Thrift compact encoder
** and the RLE / bit-packing hybrid encoder against byte sequences worked
** out by hand from the specifications (Thrift's compact protocol: a field
** header is (id delta << 4) | type when the delta is 1..15, else the type
** byte and the zigzag varint id; integers are zigzag varints; a list
** header is (size << 4) | element type below 15, else 0xF0 | type and a
** varint size; a struct ends with 0x00. Parquet's hybrid encoding: an RLE
** run is the varint (count << 1) then the value in ceil(width / 8) bytes
** little-endian; a bit-packed run is the varint (groups << 1) | 1 then 8
** values per group packed from the least significant bit), the value
** conversions with every error message, and the writer's file handling.
*/
#include <math.h>
#include <unistd.h>

#include "unit.h"

#include "parquet.h"

/* Asserts that b holds exactly the n bytes at a. */
static void assert_bytes(const DbxBuf *b, const unsigned char *a, size_t n) {
  size_t i;
  assert_int_equal(b->rc, SQLITE_OK);
  if (b->n != n) {
    for (i = 0; i < b->n; i++)
      fprintf(stderr, "%02X ", (unsigned char)b->z[i]);
    fprintf(stderr, "\n");
  }
  assert_int_equal(b->n, n);
  assert_memory_equal(b->z, a, n);
}

/* ---------------------------------------------------------------------
** Thrift compact protocol
*/

static void thrift_varints(void **state) {
  DbxBuf b = {0};
  static const unsigned char a[] = {0x00, 0x7F, 0x80, 0x01, 0xAC, 0x02,
                                    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                    0xFF, 0xFF, 0xFF, 0x01};
  (void)state;
  dbx_thrift_varint(&b, 0);
  dbx_thrift_varint(&b, 127);
  dbx_thrift_varint(&b, 128);
  dbx_thrift_varint(&b, 300);
  dbx_thrift_varint(&b, UINT64_MAX);
  assert_bytes(&b, a, sizeof(a));
  dbx_buf_free(&b);
}

static void thrift_struct_fields(void **state) {
  DbxBuf b = {0};
  DbxThrift t;
  /*
  ** field 1 i32 1:       0x15 (delta 1, type 5), zigzag(1) = 0x02
  ** field 3 i64 -1:      0x26 (delta 2, type 6), zigzag(-1) = 0x01
  ** field 4 bool true:   0x11 (delta 1, type 1: true)
  ** field 5 bool false:  0x12 (delta 1, type 2: false)
  ** field 6 binary "ab": 0x18, length 0x02, 'a' 'b'
  ** field 30 i32 -64:    delta 24 > 15: 0x05, zigzag(30) = 0x3C, then
  **                      zigzag(-64) = 127 = 0x7F
  ** field 31 i64 2^40:   0x16, zigzag = 2^41: varint 80 80 80 80 80 40
  ** stop:                0x00
  */
  static const unsigned char a[] = {0x15, 0x02, 0x26, 0x01, 0x11, 0x12, 0x18,
                                    0x02, 'a',  'b',  0x05, 0x3C, 0x7F, 0x16,
                                    0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x00};
  (void)state;
  dbx_thrift_init(&t, &b);
  dbx_thrift_begin(&t, 0);
  dbx_thrift_i32(&t, 1, 1);
  dbx_thrift_i64(&t, 3, -1);
  dbx_thrift_bool(&t, 4, 1);
  dbx_thrift_bool(&t, 5, 0);
  dbx_thrift_binary(&t, 6, "ab", 2);
  dbx_thrift_i32(&t, 30, -64);
  dbx_thrift_i64(&t, 31, (int64_t)1 << 40);
  dbx_thrift_end(&t);
  assert_bytes(&b, a, sizeof(a));
  assert_int_equal(t.nDepth, -1);
  dbx_buf_free(&b);
}

static void thrift_lists_and_nesting(void **state) {
  DbxBuf b = {0};
  DbxThrift t;
  int i;
  /*
  ** field 2 list<i32> of 3: 0x29, header 0x35 (3 << 4 | 5), elements as
  **                         zigzag varints 1, -1, 2: 0x02 0x01 0x04
  ** field 3 struct:         0x1C; inside, field 1 i32 7: 0x15 0x0E; 0x00
  ** field 4 list<struct> of 20: 0x19, 0xFC (long form), varint 20 = 0x14,
  **                         then 20 empty structs: 20 x 0x00
  ** field 5 i32 0:          0x15 0x00 (the outer delta resumes at 4)
  ** stop:                   0x00
  */
  unsigned char a[64] = {0x29, 0x35, 0x02, 0x01, 0x04, 0x1C,
                         0x15, 0x0E, 0x00, 0x19, 0xFC, 0x14};
  size_t n = 12;
  (void)state;
  for (i = 0; i < 20; i++)
    a[n++] = 0x00;
  a[n++] = 0x15;
  a[n++] = 0x00;
  a[n++] = 0x00;
  dbx_thrift_init(&t, &b);
  dbx_thrift_begin(&t, 0);
  dbx_thrift_list(&t, 2, DBX_TH_I32, 3);
  dbx_thrift_varint(&b, 2);
  dbx_thrift_varint(&b, 1);
  dbx_thrift_varint(&b, 4);
  dbx_thrift_begin(&t, 3);
  dbx_thrift_i32(&t, 1, 7);
  dbx_thrift_end(&t);
  dbx_thrift_list(&t, 4, DBX_TH_STRUCT, 20);
  for (i = 0; i < 20; i++) {
    dbx_thrift_begin(&t, 0);
    dbx_thrift_end(&t);
  }
  dbx_thrift_i32(&t, 5, 0);
  dbx_thrift_end(&t);
  assert_bytes(&b, a, n);
  dbx_buf_free(&b);
}

/* ---------------------------------------------------------------------
** RLE / bit-packing hybrid
*/

static void rle_runs_and_bit_packing(void **state) {
  DbxBuf b = {0};
  uint32_t a[32];
  int i;
  (void)state;

  /* ten 1s, width 1: one RLE run, header 10 << 1 = 0x14, value 0x01 */
  for (i = 0; i < 10; i++)
    a[i] = 1;
  dbx_parquet_rle(&b, a, 10, 1);
  assert_bytes(&b, (const unsigned char *)"\x14\x01", 2);

  /* 0..7, width 3: the example of the format's encoding page: one group,
  ** header 0x03, bits 10001000 11000110 11111010 */
  dbx_buf_reset(&b);
  for (i = 0; i < 8; i++)
    a[i] = (uint32_t)i;
  dbx_parquet_rle(&b, a, 8, 3);
  assert_bytes(&b, (const unsigned char *)"\x03\x88\xC6\xFA", 4);

  /* 1 0 1, width 1: one group padded with zeros: 0x03, 0b00000101 */
  dbx_buf_reset(&b);
  a[0] = 1;
  a[1] = 0;
  a[2] = 1;
  dbx_parquet_rle(&b, a, 3, 1);
  assert_bytes(&b, (const unsigned char *)"\x03\x05", 2);

  /* eight 0s then three 1s: RLE 0x10 0x00, then a group 0x03 0x07 */
  dbx_buf_reset(&b);
  for (i = 0; i < 8; i++)
    a[i] = 0;
  a[8] = a[9] = a[10] = 1;
  dbx_parquet_rle(&b, a, 11, 1);
  assert_bytes(&b, (const unsigned char *)"\x10\x00\x03\x07", 4);

  /* 1 2 then nine 5s, width 3: the run does not start at a group
  ** boundary, so two groups (0x05) hold 1 2 5 5 5 5 5 5 | 5 5 5 0..:
  ** 1|2<<3|5<<6 = 0x51, 5>>2|5<<1|5<<4|5<<7 = 0xDB, 5>>1|5<<2|5<<5 = 0xB6,
  ** then 5|5<<3|5<<6 = 0x6D, 5>>2 = 0x01, 0x00 */
  dbx_buf_reset(&b);
  a[0] = 1;
  a[1] = 2;
  for (i = 2; i < 11; i++)
    a[i] = 5;
  dbx_parquet_rle(&b, a, 11, 3);
  assert_bytes(&b, (const unsigned char *)"\x05\x51\xDB\xB6\x6D\x01\x00", 7);

  /* width 17: the RLE value takes 3 bytes, little-endian; 300 values need
  ** a two-byte header: 600 = varint D8 04 */
  dbx_buf_reset(&b);
  {
    uint32_t *aBig = malloc(300 * sizeof(uint32_t));
    for (i = 0; i < 300; i++)
      aBig[i] = 0x10203;
    dbx_parquet_rle(&b, aBig, 300, 17);
    free(aBig);
  }
  assert_bytes(&b, (const unsigned char *)"\xD8\x04\x03\x02\x01", 5);

  /* nothing: no bytes */
  dbx_buf_reset(&b);
  dbx_parquet_rle(&b, a, 0, 1);
  assert_int_equal(b.n, 0);
  dbx_buf_free(&b);
}

/* ---------------------------------------------------------------------
** Types and schemas
*/

static void types_and_schemas_parse(void **state) {
  DbxPqColumn *aCol, c = {0};
  int nCol;
  DbxError err;
  DbxBuf b = {0};
  (void)state;
  dbx_error_clear(&err);
  assert_int_equal(
      dbx_parquet_schema_parse("a BIGINT NOT NULL, `b ``c` decimal(10, 2), "
                               "m MAP<STRING, INT>, s STRUCT<x: INT, y: "
                               "ARRAY<STRING>> not null, d DECIMAL, t tinyint",
                               &aCol, &nCol, &err),
      SQLITE_OK);
  assert_int_equal(nCol, 6);
  assert_string_equal(aCol[0].zName, "a");
  assert_int_equal(aCol[0].eType, DBX_PQ_BIGINT);
  assert_true(aCol[0].bNotNull);
  assert_string_equal(aCol[1].zName, "b `c");
  assert_int_equal(aCol[1].eType, DBX_PQ_DECIMAL);
  assert_int_equal(aCol[1].nPrecision, 10);
  assert_int_equal(aCol[1].nScale, 2);
  assert_false(aCol[1].bNotNull);
  assert_int_equal(aCol[2].eType, DBX_PQ_JSON);
  assert_int_equal(aCol[3].eType, DBX_PQ_JSON);
  assert_true(aCol[3].bNotNull);
  assert_int_equal(aCol[4].nPrecision, 10);
  assert_int_equal(aCol[4].nScale, 0);
  assert_int_equal(aCol[5].eType, DBX_PQ_TINYINT);
  dbx_parquet_type_text(&aCol[1], &b);
  assert_string_equal(b.z, "DECIMAL(10,2)");
  dbx_buf_free(&b);
  dbx_parquet_schema_free(aCol, nCol);

  c.zName = "x";
  assert_int_equal(dbx_parquet_type_parse("INTERVAL DAY", &c, &err),
                   SQLITE_ERROR);
  assert_string_equal(err.zMsg,
                      "column \"x\": no Parquet type for 'INTERVAL DAY' (use "
                      "BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, "
                      "DECIMAL(p,s), DATE, TIMESTAMP, TIMESTAMP_NTZ, STRING, "
                      "BINARY, VARIANT, ARRAY, MAP or STRUCT)");
  dbx_error_clear(&err);
  assert_int_equal(dbx_parquet_type_parse("DECIMAL(39,2)", &c, &err),
                   SQLITE_ERROR);
  assert_string_equal(err.zMsg, "column \"x\": 'DECIMAL(39,2)' is not a valid "
                                "DECIMAL (precision 1 to 38, scale 0 to "
                                "precision)");
  dbx_error_clear(&err);
  assert_int_equal(dbx_parquet_type_parse("DECIMAL(5,6)", &c, &err),
                   SQLITE_ERROR);
  dbx_error_clear(&err);
  assert_int_equal(dbx_parquet_type_parse("INT PRIMARY KEY", &c, &err),
                   SQLITE_ERROR);
  assert_string_equal(err.zMsg, "column \"x\": unexpected 'PRIMARY KEY' after "
                                "the type (write \"name TYPE [NOT NULL]\")");
  dbx_error_clear(&err);
  assert_int_equal(dbx_parquet_schema_parse("a INT,", &aCol, &nCol, &err),
                   SQLITE_ERROR);
  assert_string_equal(err.zMsg, "schema: expected \"name TYPE [NOT NULL], "
                                "...\" at ''");
  dbx_error_clear(&err);
  assert_int_equal(dbx_parquet_schema_parse("", &aCol, &nCol, &err),
                   SQLITE_ERROR);

  assert_int_equal(dbx_parquet_decimal_bytes(1), 1);
  assert_int_equal(dbx_parquet_decimal_bytes(2), 1);
  assert_int_equal(dbx_parquet_decimal_bytes(3), 2);
  assert_int_equal(dbx_parquet_decimal_bytes(9), 4);
  assert_int_equal(dbx_parquet_decimal_bytes(18), 8);
  assert_int_equal(dbx_parquet_decimal_bytes(19), 9);
  assert_int_equal(dbx_parquet_decimal_bytes(38), 16);
}

/* ---------------------------------------------------------------------
** Value conversions
*/

static DbxPqValue v_int(int64_t i) {
  DbxPqValue v = {.eType = SQLITE_INTEGER, .i = i};
  return v;
}
static DbxPqValue v_real(double r) {
  DbxPqValue v = {.eType = SQLITE_FLOAT, .r = r};
  return v;
}
static DbxPqValue v_text(const char *z) {
  DbxPqValue v = {.eType = SQLITE_TEXT, .n = (int)strlen(z), .z = z};
  return v;
}

/* Converts v for a column of type text zType; returns the cell (its bytes
** valid until the next call), or asserts the error message zErr when it
** is not NULL. */
static DbxPqCell conv(const char *zType, DbxPqValue v, const char *zErr) {
  static unsigned char aScratch[DBX_PQ_SCRATCH];
  DbxPqColumn c = {0};
  DbxPqCell cell;
  DbxError err;
  int rc;
  dbx_error_clear(&err);
  c.zName = "c";
  assert_int_equal(dbx_parquet_type_parse(zType, &c, &err), SQLITE_OK);
  memset(&cell, 0, sizeof(cell));
  rc = dbx_parquet_convert(&c, &v, 3, &cell, aScratch, &err);
  if (zErr) {
    assert_int_not_equal(rc, SQLITE_OK);
    assert_string_equal(err.zMsg, zErr);
  } else {
    if (rc) fprintf(stderr, "%s\n", err.zMsg);
    assert_int_equal(rc, SQLITE_OK);
  }
  return cell;
}

static void conversions_of_numbers(void **state) {
  DbxPqCell c;
  (void)state;
  assert_int_equal(conv("BOOLEAN", v_int(1), NULL).i, 1);
  assert_int_equal(conv("BOOLEAN", v_text("FALSE"), NULL).i, 0);
  assert_int_equal(conv("BOOLEAN", v_text(" true "), NULL).i, 1);
  assert_int_equal(conv("BOOLEAN", v_real(0.0), NULL).i, 0);
  conv("BOOLEAN", v_int(2),
       "column \"c\" row 3: BOOLEAN needs 0, 1, 'true' or 'false': 2");
  conv("BOOLEAN", v_text("yes"),
       "column \"c\" row 3: BOOLEAN needs 0, 1, 'true' or 'false': 'yes'");

  assert_int_equal(conv("TINYINT", v_int(-128), NULL).i, -128);
  conv("TINYINT", v_int(128), "column \"c\" row 3: TINYINT out of range: 128");
  conv("SMALLINT", v_int(-32769),
       "column \"c\" row 3: SMALLINT out of range: -32769");
  conv("INT", v_text("2147483648"),
       "column \"c\" row 3: INT out of range: '2147483648'");
  assert_int_equal(conv("INT", v_real(-2147483648.0), NULL).i, INT32_MIN);
  assert_int_equal(conv("BIGINT", v_text("-9223372036854775808"), NULL).i,
                   INT64_MIN);
  assert_int_equal(conv("BIGINT", v_text(" +42 "), NULL).i, 42);
  conv("BIGINT", v_text("9223372036854775808"),
       "column \"c\" row 3: BIGINT out of range: '9223372036854775808'");
  conv("BIGINT", v_real(9223372036854775808.0),
       "column \"c\" row 3: BIGINT out of range: 9.2233720368547758e+18");
  conv("BIGINT", v_text("abc"),
       "column \"c\" row 3: BIGINT needs an integer: 'abc'");
  conv("BIGINT", v_text("12abc"),
       "column \"c\" row 3: BIGINT needs an integer: '12abc'");
  conv("BIGINT", v_text(""), "column \"c\" row 3: BIGINT needs an integer: ''");
  conv("BIGINT", v_real(1.5),
       "column \"c\" row 3: BIGINT takes no fraction: 1.5");
  {
    DbxPqValue blob = {.eType = SQLITE_BLOB, .n = 1, .z = "\x01"};
    conv("BIGINT", blob, "column \"c\" row 3: BIGINT takes no blob: X'01'");
  }

  assert_true(conv("DOUBLE", v_text("-0.0"), NULL).r == 0.0);
  assert_true(signbit(conv("DOUBLE", v_text("-0.0"), NULL).r));
  assert_true(isnan(conv("DOUBLE", v_text("NaN"), NULL).r));
  assert_true(isinf(conv("DOUBLE", v_text("-Infinity"), NULL).r));
  assert_true(conv("DOUBLE", v_int(INT64_MAX), NULL).r ==
              9223372036854775807.0);
  conv("DOUBLE", v_text("0x10"),
       "column \"c\" row 3: DOUBLE needs a number: '0x10'");
  conv("DOUBLE", v_text("1,5"),
       "column \"c\" row 3: DOUBLE needs a number: '1,5'");
  conv("FLOAT", v_real(1e39),
       "column \"c\" row 3: FLOAT out of range: 1.0e+39");
  assert_true(isinf(conv("FLOAT", v_text("inf"), NULL).r));
  c = conv("FLOAT", v_real(0.1), NULL);
  assert_true(c.r == (double)0.1f);
}

static void conversions_of_decimals(void **state) {
  DbxPqCell c;
  static const unsigned char aMinus1[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                            0xFF, 0xFF, 0xFF, 0xFF};
  (void)state;
  assert_int_equal(conv("DECIMAL(5,2)", v_text("999.99"), NULL).i, 99999);
  assert_int_equal(conv("DECIMAL(5,2)", v_text("-1.005"), NULL).i, -101);
  assert_int_equal(conv("DECIMAL(5,2)", v_text("1.004"), NULL).i, 100);
  assert_int_equal(conv("DECIMAL(5,2)", v_text("1e2"), NULL).i, 10000);
  assert_int_equal(conv("DECIMAL(5,2)", v_text("0.5e-2"), NULL).i, 1);
  assert_int_equal(conv("DECIMAL(5,2)", v_text("5e-10"), NULL).i, 0);
  assert_int_equal(conv("DECIMAL(5,2)", v_text("000123.4"), NULL).i, 12340);
  assert_int_equal(conv("DECIMAL(5,2)", v_int(-3), NULL).i, -300);
  /* a REAL as SQLite prints it, then exact: 1.005 is not rounded down by
  ** its binary value 1.00499999999999989... */
  assert_int_equal(conv("DECIMAL(5,2)", v_real(1.005), NULL).i, 101);
  assert_int_equal(conv("DECIMAL(18,0)", v_text("999999999999999999"), NULL).i,
                   999999999999999999LL);
  conv("DECIMAL(5,2)", v_text("1000"),
       "column \"c\" row 3: DECIMAL(5,2) overflows: '1000'");
  conv("DECIMAL(5,2)", v_text("999.995"),
       "column \"c\" row 3: DECIMAL(5,2) overflows: '999.995'");
  conv("DECIMAL(5,2)", v_text("1e400"),
       "column \"c\" row 3: DECIMAL(5,2) overflows: '1e400'");
  conv("DECIMAL(5,2)", v_text("1.2.3"),
       "column \"c\" row 3: DECIMAL(5,2) needs a number: '1.2.3'");
  conv("DECIMAL(5,2)", v_text("."),
       "column \"c\" row 3: DECIMAL(5,2) needs a number: '.'");
  conv("DECIMAL(5,2)", v_real(INFINITY),
       "column \"c\" row 3: DECIMAL(5,2) needs a finite number: Inf");

  /* FIXED_LEN_BYTE_ARRAY: big-endian two's complement, 16 bytes for 38 */
  c = conv("DECIMAL(38,0)", v_text("-1"), NULL);
  assert_int_equal(c.n, 16);
  assert_memory_equal(c.z, aMinus1, 16);
  c = conv("DECIMAL(20,2)", v_text("1.5"), NULL);
  assert_int_equal(c.n, 9);
  assert_memory_equal(c.z, "\0\0\0\0\0\0\0\0\x96", 9);
  c = conv("DECIMAL(38,0)", v_text("99999999999999999999999999999999999999"),
           NULL);
  /* 10^38 - 1 = 0x4B3B4CA85A86C47A098A223FFFFFFFFF */
  assert_memory_equal(c.z,
                      "\x4B\x3B\x4C\xA8\x5A\x86\xC4\x7A\x09\x8A\x22\x3F\xFF"
                      "\xFF\xFF\xFF",
                      16);
  conv("DECIMAL(38,0)", v_text("100000000000000000000000000000000000000"),
       "column \"c\" row 3: DECIMAL(38,0) overflows: "
       "'100000000000000000000000000000000000000'");
  conv("DECIMAL(38,37)", v_text("10"),
       "column \"c\" row 3: DECIMAL(38,37) overflows: '10'");
}

/* The start of the message for timestamp text that does not parse. */
#define TS_NEEDS                                                               \
  "column \"c\" row 3: TIMESTAMP needs 'YYYY-MM-DD HH:MM:SS[.ffffff][zone]' "  \
  "or unix seconds: "

static void conversions_of_dates_and_times(void **state) {
  (void)state;
  assert_int_equal(conv("DATE", v_text("1970-01-01"), NULL).i, 0);
  assert_int_equal(conv("DATE", v_text("2000-03-01"), NULL).i, 11017);
  assert_int_equal(conv("DATE", v_text("1969-12-31"), NULL).i, -1);
  assert_int_equal(conv("DATE", v_text("0001-01-01"), NULL).i, -719162);
  assert_int_equal(conv("DATE", v_text("2024-02-29"), NULL).i, 19782);
  conv("DATE", v_text("2023-02-29"),
       "column \"c\" row 3: DATE needs a valid date YYYY-MM-DD: '2023-02-29'");
  conv("DATE", v_text("2024-1-01"),
       "column \"c\" row 3: DATE needs a valid date YYYY-MM-DD: '2024-1-01'");
  conv("DATE", v_text("2024-01-01 00:00:00"),
       "column \"c\" row 3: DATE needs a valid date YYYY-MM-DD: "
       "'2024-01-01 00:00:00'");
  conv("DATE", v_int(0), "column \"c\" row 3: DATE needs text YYYY-MM-DD: 0");

  /* SQLite datetime() text, ISO-8601 with T, Z, offsets, fractions */
  assert_int_equal(conv("TIMESTAMP", v_text("2024-01-01 00:00:00"), NULL).i,
                   1704067200000000LL);
  assert_int_equal(
      conv("TIMESTAMP", v_text("2024-01-01T01:00:00+01:00"), NULL).i,
      1704067200000000LL);
  assert_int_equal(
      conv("TIMESTAMP", v_text("2024-01-01T01:30:00+0130"), NULL).i,
      1704067200000000LL);
  assert_int_equal(conv("TIMESTAMP", v_text("2023-12-31T22:00-02"), NULL).i,
                   1704067200000000LL);
  assert_int_equal(conv("TIMESTAMP", v_text("2024-01-01T00:00:00.5Z"), NULL).i,
                   1704067200500000LL);
  assert_int_equal(
      conv("TIMESTAMP", v_text("1969-12-31 23:59:59.999999"), NULL).i, -1);
  assert_int_equal(conv("TIMESTAMP", v_text("2024-01-01"), NULL).i,
                   1704067200000000LL);
  assert_int_equal(
      conv("TIMESTAMP", v_text("2024-01-01 00:00:00.123456000"), NULL).i,
      1704067200123456LL);
  /* TIMESTAMP_NTZ keeps the wall clock and ignores a zone */
  assert_int_equal(
      conv("TIMESTAMP_NTZ", v_text("2024-01-01T00:00:00+05:00"), NULL).i,
      1704067200000000LL);
  /* unix seconds */
  assert_int_equal(conv("TIMESTAMP", v_int(1), NULL).i, 1000000);
  assert_int_equal(conv("TIMESTAMP", v_real(-0.5), NULL).i, -500000);
  conv("TIMESTAMP", v_int(INT64_MAX / 10),
       "column \"c\" row 3: TIMESTAMP out of range: 922337203685477580");
  conv("TIMESTAMP", v_text("2024-01-01 24:00:00"),
       TS_NEEDS "'2024-01-01 24:00:00'");
  conv("TIMESTAMP", v_text("2024-01-01 00:00:00.1234567"),
       TS_NEEDS "'2024-01-01 00:00:00.1234567'");
  conv("TIMESTAMP", v_text("now"), TS_NEEDS "'now'");
  conv("TIMESTAMP", v_text("2024-01-01 00:00:00+25:00"),
       TS_NEEDS "'2024-01-01 00:00:00+25:00'");
  conv("TIMESTAMP", v_text("999999-12-31 00:00:00"),
       "column \"c\" row 3: TIMESTAMP out of range: '999999-12-31 00:00:00'");
}

/*
** Timestamp text of the common shape ("YYYY-MM-DD HH:MM:SS.fff") takes a
** shorter path than text with blanks around it; both must agree, on the
** value and on the refusal, for every variation of a few valid and
** invalid stamps (each byte changed to a digit, a blank, a separator).
*/
static void timestamps_agree_with_and_without_blanks(void **state) {
  static const char *const azBase[] = {
      "2024-01-01 00:00:00.000", "2024-02-29 23:59:59",
      "2023-02-29 12:00:00",     "1999-12-31T23:59:59.999999",
      "2024-13-01 00:00:00.5",   "2024-04-31 10:20:30.1234567",
      "0000-01-01 00:00:00",     "9999-12-31 24:00:00.00"};
  static const char acSub[] = "0159 -:.TZ";
  const char *azType[] = {"TIMESTAMP", "TIMESTAMP_NTZ"};
  size_t i, k, t;
  (void)state;
  for (t = 0; t < 2; t++) {
    DbxPqColumn c = {0};
    DbxError err;
    dbx_error_clear(&err);
    c.zName = "c";
    assert_int_equal(dbx_parquet_type_parse(azType[t], &c, &err), SQLITE_OK);
    for (i = 0; i < sizeof(azBase) / sizeof(azBase[0]); i++) {
      size_t n = strlen(azBase[i]), j;
      for (j = 0; j <= n; j++) {
        for (k = 0; k < sizeof(acSub); k++) {
          char a[40], b[48];
          DbxPqCell c1, c2;
          unsigned char aScratch[DBX_PQ_SCRATCH];
          DbxPqValue v1, v2;
          int rc1, rc2;
          memcpy(a, azBase[i], n + 1);
          if (j < n) {
            if (acSub[k] == 0) continue;
            a[j] = acSub[k];
          } else if (k > 0) {
            break; /* the stamp as it is, once */
          }
          snprintf(b, sizeof(b), " %s", a);
          v1 = v_text(a);
          v2 = v_text(b);
          memset(&c1, 0, sizeof(c1));
          memset(&c2, 0, sizeof(c2));
          rc1 = dbx_parquet_convert(&c, &v1, 1, &c1, aScratch, &err);
          dbx_error_clear(&err);
          rc2 = dbx_parquet_convert(&c, &v2, 1, &c2, aScratch, &err);
          dbx_error_clear(&err);
          if (rc1 != rc2 || (rc1 == SQLITE_OK && c1.i != c2.i)) {
            fprintf(stderr, "'%s': %d %lld, '%s': %d %lld\n", a, rc1,
                    (long long)c1.i, b, rc2, (long long)c2.i);
          }
          assert_int_equal(rc1, rc2);
          if (rc1 == SQLITE_OK) assert_true(c1.i == c2.i);
        }
      }
    }
  }
}

/* A REAL read as text gives the same text every time (the text of a
** repeated value is remembered); an INTEGER reads as "%lld" prints it. */
static void reals_as_text_repeat(void **state) {
  static const double aR[] = {17.1, 17.0, -0.0, 0.1, 1e300, 1.0 / 3, 100.0};
  static const char *const azR[] = {
      "17.1", "17.0", "0.0", "0.1", "1.0e+300", "0.33333333333333331", "100.0"};
  int i, k;
  (void)state;
  for (k = 0; k < 3; k++) {
    for (i = 0; i < 7; i++) {
      DbxPqCell c = conv("STRING", v_real(aR[i]), NULL);
      assert_int_equal(c.n, (int)strlen(azR[i]));
      assert_memory_equal(c.z, azR[i], (size_t)c.n);
    }
  }
  {
    static const int64_t aI[] = {0, 7, -7, INT64_MAX, INT64_MIN};
    for (i = 0; i < 5; i++) {
      char a[32];
      DbxPqCell c = conv("STRING", v_int(aI[i]), NULL);
      snprintf(a, sizeof(a), "%lld", (long long)aI[i]);
      assert_int_equal(c.n, (int)strlen(a));
      assert_memory_equal(c.z, a, (size_t)c.n + 1);
    }
  }
}

static void conversions_of_text(void **state) {
  DbxPqCell c;
  DbxPqValue blob = {.eType = SQLITE_BLOB, .n = 3, .z = "a\0b"};
  DbxPqValue bad = {.eType = SQLITE_TEXT, .n = 3, .z = "a\xFF\x01"};
  char aLong[200];
  (void)state;
  c = conv("STRING", v_text("h\xC3\xA9"), NULL);
  assert_int_equal(c.n, 3);
  c = conv("STRING", v_int(-7), NULL);
  assert_int_equal(c.n, 2);
  assert_memory_equal(c.z, "-7", 2);
  c = conv("STRING", v_real(17.0), NULL);
  assert_memory_equal(c.z, "17.0", 4);
  c = conv("STRING", v_real(0.1), NULL);
  assert_memory_equal(c.z, "0.1", 3);
  c = conv("STRING", blob, NULL); /* a blob of valid UTF-8, NUL included */
  assert_int_equal(c.n, 3);
  conv("STRING", bad,
       "column \"c\" row 3: STRING needs valid UTF-8: 'a\\xFF\\x01'");
  c = conv("BINARY", bad, NULL);
  assert_int_equal(c.n, 3);
  conv("BINARY", v_int(1),
       "column \"c\" row 3: BINARY needs a blob or text: 1");
  c = conv("VARIANT", v_real(2.5), NULL);
  assert_memory_equal(c.z, "2.5", 3);
  conv("VARIANT", blob,
       "column \"c\" row 3: JSON needs JSON text, not a blob: "
       "X'610062'");
  conv("ARRAY<INT>", v_real(NAN),
       "column \"c\" row 3: JSON needs a finite number: NaN");

  /* the value is cut at 60 characters (not bytes) */
  memset(aLong, 'x', sizeof(aLong));
  aLong[0] = '\xC3';
  aLong[1] = '\xA9';
  aLong[150] = '\xFF';
  aLong[199] = 0;
  {
    char zWant[160];
    snprintf(zWant, sizeof(zWant),
             "column \"c\" row 3: STRING needs valid UTF-8: '%.61s'...",
             aLong); /* the 2 bytes of U+00E9 and 59 more characters */
    conv("STRING", v_text(aLong), zWant);
  }

  {
    DbxPqColumn col = {0};
    DbxPqValue nul = {.eType = SQLITE_NULL};
    DbxError err;
    DbxPqCell cell;
    unsigned char aScratch[DBX_PQ_SCRATCH];
    dbx_error_clear(&err);
    col.zName = "id";
    col.eType = DBX_PQ_BIGINT;
    assert_int_equal(dbx_parquet_convert(&col, &nul, 9, &cell, aScratch, &err),
                     SQLITE_OK);
    assert_true(cell.bNull);
    col.bNotNull = 1;
    assert_int_equal(dbx_parquet_convert(&col, &nul, 9, &cell, aScratch, &err),
                     SQLITE_CONSTRAINT);
    assert_string_equal(err.zMsg,
                        "column \"id\" row 9: NULL in a NOT NULL column");
  }
}

static void utf8_validation(void **state) {
  (void)state;
  assert_true(dbx_parquet_utf8_valid((const unsigned char *)"", 0));
  assert_true(dbx_parquet_utf8_valid((const unsigned char *)"abc\0def", 7));
  assert_true(
      dbx_parquet_utf8_valid((const unsigned char *)"\xF0\x9F\x98\x80", 4));
  assert_true(
      dbx_parquet_utf8_valid((const unsigned char *)"\xF4\x8F\xBF\xBF", 4));
  assert_true(
      dbx_parquet_utf8_valid((const unsigned char *)"abcdefgh\xC3\xA9", 10));
  assert_false(dbx_parquet_utf8_valid((const unsigned char *)"\xC0\x80", 2));
  assert_false(
      dbx_parquet_utf8_valid((const unsigned char *)"\xE0\x80\x80", 3));
  assert_false(
      dbx_parquet_utf8_valid((const unsigned char *)"\xED\xA0\x80", 3));
  assert_false(
      dbx_parquet_utf8_valid((const unsigned char *)"\xF4\x90\x80\x80", 4));
  assert_false(
      dbx_parquet_utf8_valid((const unsigned char *)"\xF0\x9F\x98", 3));
  assert_false(
      dbx_parquet_utf8_valid((const unsigned char *)"abcdefgh\x80", 9));
  assert_false(dbx_parquet_utf8_valid((const unsigned char *)"\xFF", 1));
}

/* ---------------------------------------------------------------------
** The writer
*/

/* The whole file at zPath into a new buffer (*pn bytes). */
static unsigned char *file_slurp(const char *zPath, long *pn) {
  FILE *f = fopen(zPath, "rb");
  unsigned char *a;
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *pn = ftell(f);
  fseek(f, 0, SEEK_SET);
  a = malloc((size_t)*pn + 1);
  assert_non_null(a);
  assert_int_equal(fread(a, 1, (size_t)*pn, f), (size_t)*pn);
  fclose(f);
  return a;
}

/*
** Rows appended many at a time (cells stored column by column) make the
** same file as rows appended one by one: row groups and pages ending in
** the middle of a batch, NULLs, dictionaries that fill up and values too
** distinct for one.
*/
static void writer_rows_at_once_match_one_by_one(void **state) {
  char zDir[] = "/tmp/dbx-pq-XXXXXX";
  char azPath[2][64];
  DbxPqColumn aCol[4] = {{"id", DBX_PQ_BIGINT, 0, 0, 1},
                         {"name", DBX_PQ_STRING, 0, 0, 0},
                         {"r", DBX_PQ_DOUBLE, 0, 0, 0},
                         {"u", DBX_PQ_STRING, 0, 0, 0}};
  enum { N_ROW = 5000, N_COL = 4 };
  static DbxPqCell aCell[N_ROW * N_COL], aByCol[N_ROW * N_COL];
  static char azText[N_ROW][2][24];
  DbxPqOptions o;
  DbxError err;
  unsigned char *a0, *a1;
  long n0, n1;
  int v, i;
  (void)state;
  assert_non_null(mkdtemp(zDir));
  dbx_error_clear(&err);
  memset(aCell, 0, sizeof(aCell));
  for (i = 0; i < N_ROW; i++) {
    DbxPqCell *c = &aCell[i * N_COL];
    snprintf(azText[i][0], 24, "name-%d", i % 37);
    snprintf(azText[i][1], 24, "u-%d", i * 7919);
    c[0].i = i;
    c[1].bNull = i % 5 == 0;
    c[1].z = (const unsigned char *)azText[i][0];
    c[1].n = (int)strlen(azText[i][0]);
    c[2].bNull = i % 7 == 0;
    c[2].r = i / 3.0;
    c[3].z = (const unsigned char *)azText[i][1];
    c[3].n = (int)strlen(azText[i][1]);
    for (v = 0; v < N_COL; v++)
      aByCol[v * N_ROW + i] = c[v];
  }
  dbx_parquet_options_init(&o);
  o.nRowGroupRows = 777;
  o.nRowGroupBytes = 20000;
  o.nDictBytes = 300;
  o.nPageBytes = 1500;
  o.nFileBytes = 5000;
  for (v = 0; v < 2; v++) {
    DbxParquet *p;
    DbxPqReport rep;
    snprintf(azPath[v], sizeof(azPath[v]), "%s/%d.parquet", zDir, v);
    assert_int_equal(dbx_parquet_open(azPath[v], aCol, N_COL, &o, &p, &err),
                     SQLITE_OK);
    if (v == 0) {
      for (i = 0; i < N_ROW; i++)
        assert_int_equal(dbx_parquet_append_cells(p, &aCell[i * N_COL], &err),
                         SQLITE_OK);
    } else {
      for (i = 0; i < N_ROW; i += 300) {
        int n = N_ROW - i < 300 ? N_ROW - i : 300;
        assert_int_equal(dbx_parquet_append_rows(p, &aByCol[i], n, N_ROW, &err),
                         SQLITE_OK);
      }
    }
    assert_int_equal(dbx_parquet_rows(p), N_ROW);
    assert_int_equal(dbx_parquet_close(p, &rep, &err), SQLITE_OK);
    assert_true(rep.nFile > 1);
    for (i = 0; i < rep.nFile; i++) {
      char zOther[80];
      /* 1.parquet.2 was written as 0.parquet.2 */
      snprintf(zOther, sizeof(zOther), "%s/%d.parquet%s", zDir, 1 - v,
               rep.azPath[i] + strlen(azPath[v]));
      if (v == 1) {
        a0 = file_slurp(zOther, &n0);
        a1 = file_slurp(rep.azPath[i], &n1);
        assert_int_equal(n0, n1);
        assert_memory_equal(a0, a1, (size_t)n0);
        free(a0);
        free(a1);
        unlink(zOther);
        unlink(rep.azPath[i]);
      }
    }
    dbx_parquet_report_free(&rep);
  }
  rmdir(zDir);
}

static void writer_renames_on_close_and_removes_on_abort(void **state) {
  char zDir[] = "/tmp/dbx-pq-XXXXXX";
  char zPath[64], zTmp[80];
  DbxPqColumn aCol[2] = {{"id", DBX_PQ_BIGINT, 0, 0, 1},
                         {"name", DBX_PQ_STRING, 0, 0, 0}};
  DbxPqValue aVal[2] = {{.eType = SQLITE_INTEGER, .i = 1},
                        {.eType = SQLITE_TEXT, .n = 1, .z = "a"}};
  DbxPqValue aBad[2] = {{.eType = SQLITE_TEXT, .n = 1, .z = "x"},
                        {.eType = SQLITE_NULL}};
  DbxParquet *p;
  DbxPqReport rep;
  DbxError err;
  FILE *f;
  unsigned char aHead[4], aTail[8];
  long nSize;
  (void)state;
  assert_non_null(mkdtemp(zDir));
  snprintf(zPath, sizeof(zPath), "%s/a.parquet", zDir);
  snprintf(zTmp, sizeof(zTmp), "%s.tmp", zPath);
  dbx_error_clear(&err);

  assert_int_equal(dbx_parquet_open(zPath, aCol, 2, NULL, &p, &err), SQLITE_OK);
  assert_int_equal(dbx_parquet_append(p, aVal, &err), SQLITE_OK);
  /* a value that does not convert leaves the row out, the writer usable */
  assert_int_equal(dbx_parquet_append(p, aBad, &err), SQLITE_ERROR);
  assert_string_equal(err.zMsg,
                      "column \"id\" row 2: BIGINT needs an integer: 'x'");
  dbx_error_clear(&err);
  assert_int_equal(dbx_parquet_append(p, aVal, &err), SQLITE_OK);
  assert_int_equal(dbx_parquet_rows(p), 2);
  assert_int_equal(access(zPath, F_OK), -1); /* nothing under the name yet */
  assert_int_equal(dbx_parquet_close(p, &rep, &err), SQLITE_OK);
  assert_int_equal(rep.nRow, 2);
  assert_int_equal(rep.nFile, 1);
  assert_string_equal(rep.azPath[0], zPath);
  assert_int_equal(access(zTmp, F_OK), -1);
  f = fopen(zPath, "rb");
  assert_non_null(f);
  assert_int_equal(fread(aHead, 1, 4, f), 4);
  fseek(f, -8, SEEK_END);
  nSize = ftell(f) + 8;
  assert_int_equal(fread(aTail, 1, 8, f), 8);
  fclose(f);
  assert_int_equal(nSize, rep.nByte);
  assert_memory_equal(aHead, "PAR1", 4);
  assert_memory_equal(aTail + 4, "PAR1", 4);
  {
    uint32_t nMeta;
    memcpy(&nMeta, aTail, 4);
    assert_true(nMeta > 0 && nMeta < (uint32_t)nSize - 12);
  }
  dbx_parquet_report_free(&rep);
  unlink(zPath);

  /* abort: the file being written is removed */
  assert_int_equal(dbx_parquet_open(zPath, aCol, 2, NULL, &p, &err), SQLITE_OK);
  {
    DbxPqOptions o;
    int i;
    dbx_parquet_abort(p);
    dbx_parquet_options_init(&o);
    o.nRowGroupRows = 1;
    assert_int_equal(dbx_parquet_open(zPath, aCol, 2, &o, &p, &err), SQLITE_OK);
    for (i = 0; i < 3; i++)
      assert_int_equal(dbx_parquet_append(p, aVal, &err), SQLITE_OK);
    assert_int_equal(access(zTmp, F_OK), 0);
    dbx_parquet_abort(p);
  }
  assert_int_equal(access(zTmp, F_OK), -1);
  assert_int_equal(access(zPath, F_OK), -1);

  /* a directory that does not exist */
  snprintf(zPath, sizeof(zPath), "%s/no/a.parquet", zDir);
  assert_int_equal(dbx_parquet_open(zPath, aCol, 2, NULL, &p, &err), SQLITE_OK);
  assert_int_equal(dbx_parquet_close(p, NULL, &err), SQLITE_CANTOPEN);
  assert_non_null(strstr(err.zMsg, "cannot create "));
  assert_non_null(
      strstr(err.zMsg, "/no/a.parquet.tmp: No such file or directory"));
  rmdir(zDir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(thrift_varints),
      cmocka_unit_test(thrift_struct_fields),
      cmocka_unit_test(thrift_lists_and_nesting),
      cmocka_unit_test(rle_runs_and_bit_packing),
      cmocka_unit_test(types_and_schemas_parse),
      cmocka_unit_test(conversions_of_numbers),
      cmocka_unit_test(conversions_of_decimals),
      cmocka_unit_test(conversions_of_dates_and_times),
      cmocka_unit_test(timestamps_agree_with_and_without_blanks),
      cmocka_unit_test(reals_as_text_repeat),
      cmocka_unit_test(conversions_of_text),
      cmocka_unit_test(utf8_validation),
      cmocka_unit_test(writer_rows_at_once_match_one_by_one),
      cmocka_unit_test(writer_renames_on_close_and_removes_on_abort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
