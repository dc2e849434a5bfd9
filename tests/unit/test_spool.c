/*
** Unit tests of spool.c: rows read back are the rows appended (the
** Parquet file written from a spool is byte for byte the file written
** straight from the same values), savepoints cut the file back also past
** its write buffer, a refused row leaves no trace, the digest depends on
** the rows only (not on the fill column's time), and values larger than
** the read window survive.
*/
#include <unistd.h>

#include "spool.h"
#include "unit.h"

static const DbxPqColumn aCol[] = {
    {"id", DBX_PQ_BIGINT, 0, 0, 0},    {"name", DBX_PQ_STRING, 0, 0, 0},
    {"score", DBX_PQ_DOUBLE, 0, 0, 0}, {"amt", DBX_PQ_DECIMAL, 38, 2, 0},
    {"doc", DBX_PQ_JSON, 0, 0, 0},     {"at", DBX_PQ_TIMESTAMP, 0, 0, 0},
};
#define NCOL 6

static char zDir[] = "/tmp/dbx-spool-test-XXXXXX";

static int setup(void **state) {
  (void)state;
  assert_non_null(mkdtemp(zDir));
  setenv("TMPDIR", zDir, 1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  rmdir(zDir);
  return 0;
}

/* Row i of a fixed set: every storage class, some NULLs, long text. */
static void row_values(int64_t i, DbxPqValue *a, char *zText, size_t nText) {
  int n = snprintf(zText, nText, "name-%lld-%.*s", (long long)i, (int)(i % 300),
                   "abcdefghijklmnopqrstuvwxyz"
                   "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                   "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                   "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                   "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                   "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
  memset(a, 0, sizeof(DbxPqValue) * NCOL);
  a[0].eType = SQLITE_INTEGER;
  a[0].i = i * 1000003 - 7;
  a[1].eType = i % 7 == 0 ? SQLITE_NULL : SQLITE_TEXT;
  a[1].z = zText;
  a[1].n = n;
  a[2].eType = SQLITE_FLOAT;
  a[2].r = (double)i / 3.0;
  a[3].eType = SQLITE_TEXT;
  a[3].z = i % 2 ? "123456789012345678901234567890.25" : "-0.01";
  a[3].n = (int)strlen(a[3].z);
  a[4].eType = SQLITE_TEXT;
  a[4].z = i % 3 ? "{\"k\":[1,2,3]}" : "null";
  a[4].n = (int)strlen(a[4].z);
  a[5].eType = SQLITE_NULL; /* the fill column */
}

/* The bytes of a file (caller frees), into *pn. */
static unsigned char *file_bytes(const char *zPath, long *pn) {
  FILE *f = fopen(zPath, "rb");
  unsigned char *a;
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *pn = ftell(f);
  fseek(f, 0, SEEK_SET);
  a = malloc((size_t)*pn + 1);
  assert_int_equal(fread(a, 1, (size_t)*pn, f), (size_t)*pn);
  fclose(f);
  return a;
}

/* Writes spool p to zPath with fill time iFill; the digest into zDigest. */
static void spool_to_file(DbxSpool *p, const char *zPath, int64_t iFill,
                          char *zDigest) {
  DbxParquet *w;
  DbxError e;
  dbx_error_clear(&e);
  assert_int_equal(dbx_parquet_open(zPath, aCol, NCOL, NULL, &w, &e),
                   SQLITE_OK);
  assert_int_equal(dbx_spool_write(p, w, iFill, zDigest, &e), SQLITE_OK);
  assert_int_equal(dbx_parquet_close(w, NULL, &e), SQLITE_OK);
  assert_int_equal(strlen(zDigest), 32);
}

/* Rows [iFrom, iTo) written straight to zPath with the fill time set. */
static void direct_to_file(const char *zPath, int64_t iFrom, int64_t iTo,
                           int64_t iFill) {
  DbxParquet *w;
  DbxError e;
  DbxPqValue a[NCOL];
  char zText[400];
  int64_t i;
  dbx_error_clear(&e);
  assert_int_equal(dbx_parquet_open(zPath, aCol, NCOL, NULL, &w, &e),
                   SQLITE_OK);
  for (i = iFrom; i < iTo; i++) {
    row_values(i, a, zText, sizeof(zText));
    a[5].eType = SQLITE_INTEGER; /* microseconds are not what INTEGER
                                 ** means for TIMESTAMP: use seconds */
    a[5].i = iFill / 1000000;
    assert_int_equal(dbx_parquet_append(w, a, &e), SQLITE_OK);
  }
  assert_int_equal(dbx_parquet_close(w, NULL, &e), SQLITE_OK);
}

static void append_rows(DbxSpool *p, int64_t iFrom, int64_t iTo) {
  DbxPqValue a[NCOL];
  char zText[400];
  DbxError e;
  int64_t i;
  dbx_error_clear(&e);
  for (i = iFrom; i < iTo; i++) {
    row_values(i, a, zText, sizeof(zText));
    assert_int_equal(dbx_spool_append(p, a, &e), SQLITE_OK);
  }
}

static void assert_same_file(const char *zA, const char *zB) {
  long nA, nB;
  unsigned char *a = file_bytes(zA, &nA), *b = file_bytes(zB, &nB);
  assert_int_equal(nA, nB);
  assert_memory_equal(a, b, (size_t)nA);
  free(a);
  free(b);
  unlink(zA);
  unlink(zB);
}

static void rows_read_back_are_the_rows_written(void **state) {
  char zA[300], zB[300], zDigest[33];
  const int64_t iFill = 1717243200000000; /* whole seconds */
  DbxSpool *p;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  snprintf(zA, sizeof(zA), "%s/a.parquet", zDir);
  snprintf(zB, sizeof(zB), "%s/b.parquet", zDir);
  assert_int_equal(dbx_spool_open(aCol, NCOL, 5, &p, &e), SQLITE_OK);
  append_rows(p, 0, 5000); /* several write buffers */
  assert_int_equal(dbx_spool_rows(p), 5000);
  spool_to_file(p, zA, iFill, zDigest);
  direct_to_file(zB, 0, 5000, iFill);
  assert_same_file(zA, zB);
  /* the spool is left as it was: written again, the same */
  spool_to_file(p, zA, iFill, zDigest);
  direct_to_file(zB, 0, 5000, iFill);
  assert_same_file(zA, zB);
  dbx_spool_free(p);
}

static void savepoints_cut_back_past_the_buffer(void **state) {
  char zA[300], zB[300], zD1[33], zD2[33];
  DbxSpool *p, *q;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  snprintf(zA, sizeof(zA), "%s/a.parquet", zDir);
  snprintf(zB, sizeof(zB), "%s/b.parquet", zDir);
  assert_int_equal(dbx_spool_open(aCol, NCOL, 5, &p, &e), SQLITE_OK);
  /* a savepoint before any row: rolling back to it empties the spool */
  assert_int_equal(dbx_spool_savepoint(p, 0, &e), SQLITE_OK);
  append_rows(p, 0, 10);
  assert_int_equal(dbx_spool_rollback_to(p, 0, &e), SQLITE_OK);
  assert_int_equal(dbx_spool_rows(p), 0);
  append_rows(p, 0, 1000);
  assert_int_equal(dbx_spool_savepoint(p, 1, &e), SQLITE_OK);
  append_rows(p, 5000, 9000); /* flushed to disk, then cut away */
  assert_int_equal(dbx_spool_savepoint(p, 2, &e), SQLITE_OK);
  append_rows(p, 9000, 9100);
  assert_int_equal(dbx_spool_rollback_to(p, 1, &e), SQLITE_OK);
  assert_int_equal(dbx_spool_rows(p), 1000);
  /* savepoint 1 stays after ROLLBACK TO; 2 is gone */
  append_rows(p, 1000, 1500);
  assert_int_equal(dbx_spool_rollback_to(p, 1, &e), SQLITE_OK);
  append_rows(p, 1000, 2000);
  assert_int_equal(dbx_spool_savepoint(p, 2, &e), SQLITE_OK);
  append_rows(p, 2000, 2100);
  dbx_spool_release(p, 2); /* released: its rows stay */
  assert_int_equal(dbx_spool_rows(p), 2100);
  spool_to_file(p, zA, 0, zD1);
  direct_to_file(zB, 0, 2100, 0);
  assert_same_file(zA, zB);
  /* a spool that never saw the cut rows has the same digest */
  assert_int_equal(dbx_spool_open(aCol, NCOL, 5, &q, &e), SQLITE_OK);
  append_rows(q, 0, 2100);
  spool_to_file(q, zA, 99000000, zD2);
  unlink(zA);
  assert_string_equal(zD1, zD2); /* and the fill time is not in it */
  append_rows(q, 2100, 2101);
  spool_to_file(q, zA, 0, zD2);
  unlink(zA);
  assert_string_not_equal(zD1, zD2);
  dbx_spool_free(q);
  dbx_spool_free(p);
}

static void a_refused_row_leaves_no_trace(void **state) {
  char zA[300], zD1[33], zD2[33];
  DbxPqValue a[NCOL];
  char zText[400];
  DbxSpool *p, *q;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  snprintf(zA, sizeof(zA), "%s/a.parquet", zDir);
  assert_int_equal(dbx_spool_open(aCol, NCOL, -1, &p, &e), SQLITE_OK);
  append_rows(p, 0, 3);
  row_values(3, a, zText, sizeof(zText));
  a[4].z = "{\"k\":";
  a[4].n = 5;
  assert_int_equal(dbx_spool_append(p, a, &e), SQLITE_ERROR);
  assert_string_equal(e.zMsg,
                      "column \"doc\" row 4: JSON needs one JSON value: "
                      "'{\"k\":'");
  dbx_error_clear(&e);
  row_values(3, a, zText, sizeof(zText));
  a[0].eType = SQLITE_TEXT;
  a[0].z = "12x";
  a[0].n = 3;
  assert_int_equal(dbx_spool_append(p, a, &e), SQLITE_ERROR);
  dbx_error_clear(&e);
  assert_int_equal(dbx_spool_rows(p), 3);
  append_rows(p, 3, 4);
  spool_to_file(p, zA, 0, zD1);
  unlink(zA);
  assert_int_equal(dbx_spool_open(aCol, NCOL, -1, &q, &e), SQLITE_OK);
  append_rows(q, 0, 4);
  spool_to_file(q, zA, 0, zD2);
  unlink(zA);
  assert_string_equal(zD1, zD2);
  dbx_spool_free(q);
  dbx_spool_free(p);
}

static void values_larger_than_the_window(void **state) {
  static const DbxPqColumn aBig[] = {{"a", DBX_PQ_BINARY, 0, 0, 0},
                                     {"b", DBX_PQ_STRING, 0, 0, 0}};
  char zA[300], zB[300], zDigest[33];
  const int nBig = 3 * 1024 * 1024;
  char *zData = malloc((size_t)nBig);
  DbxPqValue a[2];
  DbxSpool *p;
  DbxParquet *w;
  DbxError e;
  int i;
  (void)state;
  dbx_error_clear(&e);
  for (i = 0; i < nBig; i++)
    zData[i] = (char)('a' + i % 26);
  zData[17] = 0; /* a NUL byte inside a value */
  snprintf(zA, sizeof(zA), "%s/a.parquet", zDir);
  snprintf(zB, sizeof(zB), "%s/b.parquet", zDir);
  memset(a, 0, sizeof(a));
  a[0].eType = SQLITE_BLOB;
  a[0].z = zData;
  a[0].n = nBig;
  a[1].eType = SQLITE_TEXT;
  a[1].z = zData + 100;
  a[1].n = 1000;
  assert_int_equal(dbx_spool_open(aBig, 2, -1, &p, &e), SQLITE_OK);
  assert_int_equal(dbx_parquet_open(zB, aBig, 2, NULL, &w, &e), SQLITE_OK);
  for (i = 0; i < 3; i++) {
    a[0].n = nBig - i * 1000;
    assert_int_equal(dbx_spool_append(p, a, &e), SQLITE_OK);
    assert_int_equal(dbx_parquet_append(w, a, &e), SQLITE_OK);
  }
  assert_int_equal(dbx_parquet_close(w, NULL, &e), SQLITE_OK);
  assert_int_equal(dbx_parquet_open(zA, aBig, 2, NULL, &w, &e), SQLITE_OK);
  assert_int_equal(dbx_spool_write(p, w, 0, zDigest, &e), SQLITE_OK);
  assert_int_equal(dbx_parquet_close(w, NULL, &e), SQLITE_OK);
  assert_same_file(zA, zB);
  dbx_spool_free(p);
  free(zData);
}

/* Keyed: one operation per key, by the rules of spool.h. */
static const DbxPqColumn aKeyed[] = {{"team", DBX_PQ_BIGINT, 0, 0, 0},
                                     {"id", DBX_PQ_STRING, 0, 0, 0},
                                     {"ver", DBX_PQ_BIGINT, 0, 0, 0},
                                     {"name", DBX_PQ_STRING, 0, 0, 0},
                                     {"_dbx_op", DBX_PQ_STRING, 0, 0, 0}};

static void keyed_put(DbxSpool *p, int64_t team, const char *zId, int64_t ver,
                      const char *zName) {
  DbxPqValue a[4];
  DbxError e;
  dbx_error_clear(&e);
  memset(a, 0, sizeof(a));
  a[0].eType = SQLITE_INTEGER;
  a[0].i = team;
  a[1].eType = SQLITE_TEXT;
  a[1].z = zId;
  a[1].n = (int)strlen(zId);
  a[2].eType = ver < 0 ? SQLITE_NULL : SQLITE_INTEGER;
  a[2].i = ver;
  a[3].eType = SQLITE_TEXT;
  a[3].z = zName;
  a[3].n = (int)strlen(zName);
  assert_int_equal(dbx_spool_append(p, a, &e), SQLITE_OK);
}

static void keyed_del(DbxSpool *p, int64_t team, const char *zId) {
  DbxPqValue a[2];
  DbxError e;
  dbx_error_clear(&e);
  memset(a, 0, sizeof(a));
  a[0].eType = SQLITE_INTEGER;
  a[0].i = team;
  a[1].eType = SQLITE_TEXT;
  a[1].z = zId;
  a[1].n = (int)strlen(zId);
  assert_int_equal(dbx_spool_delete(p, a, &e), SQLITE_OK);
}

/* The expected file: rows of (team, id, ver, name, op), ver < 0 NULL. */
static void keyed_expect(const char *zPath, const int64_t *aTeam,
                         const char *const *azId, const int64_t *aVer,
                         const char *const *azName, const char *const *azOp,
                         int n) {
  DbxParquet *w;
  DbxError e;
  int i;
  dbx_error_clear(&e);
  assert_int_equal(dbx_parquet_open(zPath, aKeyed, 5, NULL, &w, &e), SQLITE_OK);
  for (i = 0; i < n; i++) {
    DbxPqValue a[5];
    memset(a, 0, sizeof(a));
    a[0].eType = SQLITE_INTEGER;
    a[0].i = aTeam[i];
    a[1].eType = SQLITE_TEXT;
    a[1].z = azId[i];
    a[1].n = (int)strlen(azId[i]);
    a[2].eType = aVer[i] < 0 ? SQLITE_NULL : SQLITE_INTEGER;
    a[2].i = aVer[i];
    a[3].eType = azName[i] ? SQLITE_TEXT : SQLITE_NULL;
    a[3].z = azName[i];
    a[3].n = azName[i] ? (int)strlen(azName[i]) : 0;
    a[4].eType = SQLITE_TEXT;
    a[4].z = azOp[i];
    a[4].n = (int)strlen(azOp[i]);
    assert_int_equal(dbx_parquet_append(w, a, &e), SQLITE_OK);
  }
  assert_int_equal(dbx_parquet_close(w, NULL, &e), SQLITE_OK);
}

static void keyed_spool_keeps_one_operation_per_key(void **state) {
  static const int aiKey[] = {0, 1}, aiVer[] = {2};
  char zA[300], zB[300], zDigest[33];
  DbxSpool *p;
  DbxParquet *w;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  snprintf(zA, sizeof(zA), "%s/a.parquet", zDir);
  snprintf(zB, sizeof(zB), "%s/b.parquet", zDir);
  assert_int_equal(
      dbx_spool_open_keyed(aKeyed, 4, -1, aiKey, 2, aiVer, 1, &p, &e),
      SQLITE_OK);
  keyed_put(p, 1, "a", 1, "a-v1");
  keyed_put(p, 1, "a", 3, "a-v3");
  keyed_put(p, 1, "a", 2, "a-v2 loses to v3");
  keyed_put(p, 2, "a", -1, "same id, other team");
  keyed_put(p, 1, "b", 5, "b-v5");
  keyed_del(p, 1, "b"); /* a later delete wins */
  keyed_del(p, 1, "c");
  keyed_put(p, 1, "c", -1, "c after its delete"); /* an upsert after one */
  keyed_put(p, 2, "a", 0, "0 beats NULL");
  keyed_put(p, 1, "d", 7, "d-v7");
  assert_int_equal(dbx_spool_rows(p), 5);
  /* a savepoint rolled back takes its operations, and new keys, back */
  assert_int_equal(dbx_spool_savepoint(p, 3, &e), SQLITE_OK);
  keyed_put(p, 1, "d", 9, "d-v9 rolled back");
  keyed_put(p, 9, "z", 1, "new key rolled back");
  keyed_del(p, 1, "a");
  assert_int_equal(dbx_spool_rows(p), 6);
  assert_int_equal(dbx_spool_rollback_to(p, 3, &e), SQLITE_OK);
  assert_int_equal(dbx_spool_rows(p), 5);
  dbx_spool_release(p, 3);
  keyed_put(p, 1, "d", 7, "d-v7 again: a tie goes to the later");

  assert_int_equal(dbx_parquet_open(zA, aKeyed, 5, NULL, &w, &e), SQLITE_OK);
  assert_int_equal(dbx_spool_write(p, w, 0, zDigest, &e), SQLITE_OK);
  assert_int_equal(dbx_parquet_close(w, NULL, &e), SQLITE_OK);
  {
    /* in the order each key was last written */
    static const int64_t aTeam[] = {1, 1, 1, 2, 1};
    static const char *const azId[] = {"a", "b", "c", "a", "d"};
    static const int64_t aVer[] = {3, -1, -1, 0, 7};
    static const char *const azName[] = {"a-v3", NULL, "c after its delete",
                                         "0 beats NULL",
                                         "d-v7 again: a tie goes to the later"};
    static const char *const azOp[] = {"upsert", "delete", "upsert", "upsert",
                                       "upsert"};
    keyed_expect(zB, aTeam, azId, aVer, azName, azOp, 5);
  }
  assert_same_file(zA, zB);
  dbx_spool_free(p);
}

static void keyed_spool_refuses_what_cannot_be_a_version(void **state) {
  static const int aiKey[] = {1}, aiVer[] = {3};
  DbxSpool *p = NULL;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_spool_open_keyed(aKeyed, 4, -1, aiKey, 1, aiVer, 1, &p, &e),
      SQLITE_ERROR);
  assert_null(p);
  assert_string_equal(e.zMsg, "version column \"name\" must hold integers "
                              "(BIGINT, INT, ...)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rows_read_back_are_the_rows_written),
      cmocka_unit_test(savepoints_cut_back_past_the_buffer),
      cmocka_unit_test(a_refused_row_leaves_no_trace),
      cmocka_unit_test(values_larger_than_the_window),
      cmocka_unit_test(keyed_spool_keeps_one_operation_per_key),
      cmocka_unit_test(keyed_spool_refuses_what_cannot_be_a_version),
  };
  return cmocka_run_group_tests_name("spool", tests, setup, teardown);
}
