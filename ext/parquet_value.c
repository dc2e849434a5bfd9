/*
** parquet_value.c: column types and SQLite values for the Parquet writer
** (see parquet.h).
**
** A value is converted, or refused with a message that names the column,
** the row and the value, before anything is written, so that a write (and
** later a commit) fails on the row that does not fit rather than loading
** a wrong or NULL value. The rules (the README's input table for
** dbx_parquet()):
**
**   BOOLEAN        integer 0/1, real 0.0/1.0, text true/false/1/0 (any case)
**   TINYINT..BIGINT integer in range; a real with no fraction; integer text
**   FLOAT, DOUBLE  integer, real, number text (NaN, Infinity); a FLOAT out
**                  of range is refused
**   DECIMAL(p,s)   integer, real (as SQLite prints it, 15 or 17 digits),
**                  decimal text with an optional exponent; exact, rounded
**                  half away from zero to s places; more than p digits is
**                  refused
**   DATE           text YYYY-MM-DD
**   TIMESTAMP, _NTZ text YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|+HH:MM|
**                  +HHMM|+HH] (a zone shifts TIMESTAMP to UTC and is
**                  ignored by TIMESTAMP_NTZ); integer or real unix seconds
**   STRING         text or blob that is valid UTF-8; integer or real as
**                  SQLite prints it
**   BINARY         blob, or the bytes of text
**   JSON           text that is valid UTF-8; integer or finite real
** Anything else (a blob for a number, a number for a DATE) is refused.
*/
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parquet.h"
#include "result.h"
#include "sqlgen.h"

/* ---------------------------------------------------------------------
** Column types
*/

void dbx_parquet_type_text(const DbxPqColumn *pCol, DbxBuf *pBuf) {
  static const char *const azName[] = {
      "BOOLEAN",       "TINYINT", "SMALLINT", "INT",  "BIGINT",
      "FLOAT",         "DOUBLE",  "DECIMAL",  "DATE", "TIMESTAMP",
      "TIMESTAMP_NTZ", "STRING",  "BINARY",   "JSON"};
  if (pCol->eType == DBX_PQ_DECIMAL) {
    dbx_buf_appendf(pBuf, "DECIMAL(%d,%d)", pCol->nPrecision, pCol->nScale);
  } else {
    dbx_buf_appendf(pBuf, "%s", azName[pCol->eType]);
  }
}

/* Skips blanks. */
static const char *type_skip(const char *z) {
  while (isspace((unsigned char)*z))
    z++;
  return z;
}

/* Reads a small unsigned number at *pz; -1 when there is none. */
static int type_number(const char **pz) {
  const char *z = type_skip(*pz);
  int n = 0;
  if (!isdigit((unsigned char)*z)) return -1;
  while (isdigit((unsigned char)*z) && n < 1000)
    n = n * 10 + (*z++ - '0');
  *pz = type_skip(z);
  return n;
}

/* Whether z starts with the word zWord (any case); moves *pz past it. */
static int type_word(const char **pz, const char *zWord) {
  const char *z = type_skip(*pz);
  size_t n = strlen(zWord);
  if (sqlite3_strnicmp(z, zWord, (int)n) != 0) return 0;
  if (isalnum((unsigned char)z[n]) || z[n] == '_') return 0;
  *pz = type_skip(z + n);
  return 1;
}

int dbx_parquet_type_parse(const char *zType, DbxPqColumn *pCol,
                           DbxError *pErr) {
  const char *zRest;
  const DbxSqlType *pType = dbx_sql_type_head(zType, &zRest);
  const char *zName = pType ? pType->zName : "";
  static const struct {
    const char *zName;
    DbxPqType eType;
  } aMap[] = {
      {"BOOLEAN", DBX_PQ_BOOLEAN},
      {"TINYINT", DBX_PQ_TINYINT},
      {"SMALLINT", DBX_PQ_SMALLINT},
      {"INT", DBX_PQ_INT},
      {"BIGINT", DBX_PQ_BIGINT},
      {"FLOAT", DBX_PQ_FLOAT},
      {"DOUBLE", DBX_PQ_DOUBLE},
      {"DECIMAL", DBX_PQ_DECIMAL},
      {"DATE", DBX_PQ_DATE},
      {"TIMESTAMP", DBX_PQ_TIMESTAMP},
      {"TIMESTAMP_NTZ", DBX_PQ_TIMESTAMP_NTZ},
      {"STRING", DBX_PQ_STRING},
      {"VARCHAR", DBX_PQ_STRING},
      {"CHAR", DBX_PQ_STRING},
      {"BINARY", DBX_PQ_BINARY},
      {"ARRAY", DBX_PQ_JSON},
      {"MAP", DBX_PQ_JSON},
      {"STRUCT", DBX_PQ_JSON},
      {"VARIANT", DBX_PQ_JSON},
      {"OBJECT", DBX_PQ_JSON},
  };
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(aMap); i++) {
    if (strcmp(aMap[i].zName, zName) == 0) break;
  }
  if (i == DBX_ARRAY_SIZE(aMap)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "column \"%s\": no Parquet type for '%.60s' (use "
                         "BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, "
                         "DOUBLE, DECIMAL(p,s), DATE, TIMESTAMP, "
                         "TIMESTAMP_NTZ, STRING, BINARY, VARIANT, ARRAY, "
                         "MAP or STRUCT)",
                         pCol->zName ? pCol->zName : "", zType ? zType : "");
  }
  pCol->eType = aMap[i].eType;
  pCol->nPrecision = pCol->nScale = 0;
  pCol->bNotNull = 0;
  zRest = type_skip(zRest);
  if (pCol->eType == DBX_PQ_DECIMAL) {
    pCol->nPrecision = DBX_SQL_DECIMAL_PRECISION;
    if (*zRest == '(') {
      zRest++;
      pCol->nPrecision = type_number(&zRest);
      if (*zRest == ',') {
        zRest++;
        pCol->nScale = type_number(&zRest);
      }
      if (*zRest != ')' || pCol->nPrecision < 1 || pCol->nPrecision > 38 ||
          pCol->nScale < 0 || pCol->nScale > pCol->nPrecision) {
        return dbx_error_set(pErr, SQLITE_ERROR,
                             "column \"%s\": '%.60s' is not a valid DECIMAL "
                             "(precision 1 to 38, scale 0 to precision)",
                             pCol->zName ? pCol->zName : "", zType);
      }
      zRest = type_skip(zRest + 1);
    }
  } else if (*zRest == '(' || *zRest == '<') {
    /* VARCHAR(10), ARRAY<INT>, STRUCT<a: INT, b: MAP<...>>: skipped */
    int nDepth = 0;
    for (; *zRest; zRest++) {
      if (*zRest == '(' || *zRest == '<') nDepth++;
      if ((*zRest == ')' || *zRest == '>') && --nDepth == 0) break;
    }
    if (*zRest) zRest = type_skip(zRest + 1);
  }
  if (type_word(&zRest, "COLLATE")) {
    while (isalnum((unsigned char)*zRest) || *zRest == '_')
      zRest++;
    zRest = type_skip(zRest);
  }
  if (type_word(&zRest, "NOT")) {
    if (!type_word(&zRest, "NULL")) zRest = "NOT";
    pCol->bNotNull = 1;
  }
  if (*zRest) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "column \"%s\": unexpected '%.40s' after the type "
                         "(write \"name TYPE [NOT NULL]\")",
                         pCol->zName ? pCol->zName : "", zRest);
  }
  return SQLITE_OK;
}

void dbx_parquet_schema_free(DbxPqColumn *aCol, int nCol) {
  int i;
  for (i = 0; aCol && i < nCol; i++)
    sqlite3_free(aCol[i].zName);
  sqlite3_free(aCol);
}

int dbx_parquet_schema_parse(const char *zSchema, DbxPqColumn **paCol,
                             int *pnCol, DbxError *pErr) {
  DbxPqColumn *aCol = NULL;
  const char *z = zSchema ? zSchema : "";
  int nCol = 0, rc = SQLITE_OK;
  *paCol = NULL;
  *pnCol = 0;
  while (rc == SQLITE_OK) {
    DbxPqColumn *aNew;
    DbxBuf name = {0}, type = {0};
    int nDepth = 0;
    z = type_skip(z);
    if (*z == '`') {
      for (z++; *z && !(*z == '`' && z[1] != '`'); z++) {
        if (*z == '`') z++;
        dbx_buf_append(&name, z, 1);
      }
      if (*z == '`') z++;
    } else {
      while (isalnum((unsigned char)*z) || *z == '_' || (*z & 0x80))
        dbx_buf_append(&name, z++, 1);
    }
    z = type_skip(z);
    for (; *z && (nDepth > 0 || *z != ','); z++) {
      if (*z == '(' || *z == '<') nDepth++;
      if (*z == ')' || *z == '>') nDepth--;
      dbx_buf_append(&type, z, 1);
    }
    if (name.n == 0 || type.n == 0) {
      dbx_buf_free(&name);
      dbx_buf_free(&type);
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "schema: expected \"name TYPE [NOT NULL], ...\" at "
                         "'%.40s'",
                         z);
      break;
    }
    aNew = sqlite3_realloc64(aCol, sizeof(*aCol) * (uint64_t)(nCol + 1));
    if (aNew == NULL || name.rc || type.rc) {
      if (aNew) aCol = aNew;
      dbx_buf_free(&name);
      dbx_buf_free(&type);
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      break;
    }
    aCol = aNew;
    memset(&aCol[nCol], 0, sizeof(*aCol));
    aCol[nCol].zName = dbx_buf_take(&name);
    nCol++;
    rc = dbx_parquet_type_parse(type.z, &aCol[nCol - 1], pErr);
    dbx_buf_free(&type);
    if (*z != ',') break;
    z++;
  }
  if (rc) {
    dbx_parquet_schema_free(aCol, nCol);
    return rc;
  }
  *paCol = aCol;
  *pnCol = nCol;
  return SQLITE_OK;
}

int dbx_parquet_decimal_bytes(int nPrecision) {
  /* the fewest bytes whose signed range holds 10^p - 1 */
  int n = 1;
  while (n < 16 && (double)(8 * n - 1) * 0.30102999566398120 < nPrecision)
    n++;
  return n;
}

/* ---------------------------------------------------------------------
** Errors
*/

static int real_text(double r, char *a);

/* Appends the value as a message shows it: text quoted, its first 60
** characters, bytes that are not printable UTF-8 as \xHH; a blob as
** X'..' hex of its first 30 bytes; numbers as SQLite prints them. */
static void value_show(DbxBuf *b, const DbxPqValue *v) {
  int i, nChar = 0;
  const unsigned char *z = (const unsigned char *)v->z;
  switch (v->eType) {
  case SQLITE_INTEGER:
    dbx_buf_appendf(b, "%lld", (long long)v->i);
    return;
  case SQLITE_FLOAT: {
    char a[40];
    real_text(v->r, a);
    dbx_buf_appendf(b, "%s", a);
    return;
  }
  case SQLITE_BLOB:
    dbx_buf_append(b, "X'", 2);
    for (i = 0; i < v->n && i < 30; i++)
      dbx_buf_appendf(b, "%02X", z[i]);
    dbx_buf_append(b, i < v->n ? "'..." : "'", i < v->n ? 4 : 1);
    return;
  case SQLITE_TEXT:
    dbx_buf_append(b, "'", 1);
    for (i = 0; i < v->n && nChar < 60; nChar++) {
      int nLen = z[i] < 0x80 ? 1 : z[i] < 0xE0 ? 2 : z[i] < 0xF0 ? 3 : 4;
      if (z[i] >= 0x20 && z[i] < 0x7F) {
        dbx_buf_append(b, &z[i], 1);
        i++;
      } else if (z[i] >= 0xC2 && i + nLen <= v->n &&
                 dbx_parquet_utf8_valid(&z[i], (size_t)nLen)) {
        dbx_buf_append(b, &z[i], (size_t)nLen);
        i += nLen;
      } else {
        dbx_buf_appendf(b, "\\x%02X", z[i]);
        i++;
      }
    }
    dbx_buf_append(b, i < v->n ? "'..." : "'", i < v->n ? 4 : 1);
    return;
  default:
    dbx_buf_append(b, "NULL", 4);
  }
}

/* Sets the conversion error "column "c" row n: <zWhy>: <value>". */
static int conv_fail(const DbxPqColumn *pCol, const DbxPqValue *v, int64_t iRow,
                     const char *zWhy, DbxError *pErr) {
  DbxBuf b = {0};
  DbxBuf t = {0};
  dbx_parquet_type_text(pCol, &t);
  value_show(&b, v);
  dbx_error_set(pErr, SQLITE_ERROR, "column \"%s\" row %lld: %s %s: %s",
                pCol->zName ? pCol->zName : "", (long long)iRow, t.z ? t.z : "",
                zWhy, b.z ? b.z : "");
  dbx_buf_free(&b);
  dbx_buf_free(&t);
  return SQLITE_ERROR;
}

/* ---------------------------------------------------------------------
** Text
*/

int dbx_parquet_utf8_valid(const unsigned char *z, size_t n) {
  size_t i;
  /* most text is ASCII: its words at once, and its tail */
  uint64_t w, acc = dbx_parquet_tail(z, n);
  for (i = 0; i + 8 <= n; i += 8) {
    memcpy(&w, z + i, 8);
    acc |= w;
  }
  if ((acc & 0x8080808080808080ull) == 0) return 1;
  /* not all ASCII: sequence by sequence */
  i = 0;
  while (i < n) {
    unsigned c = z[i];
    if (c < 0x80) {
      /* a run of ASCII, 8 bytes at a time */
      while (i + 8 <= n) {
        memcpy(&w, z + i, 8);
        if (w & 0x8080808080808080ull) break;
        i += 8;
      }
      if (i < n && z[i] < 0x80) i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      if (i + 1 >= n || (z[i + 1] & 0xC0) != 0x80) return 0;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      unsigned c1;
      if (i + 2 >= n) return 0;
      c1 = z[i + 1];
      if ((c1 & 0xC0) != 0x80 || (z[i + 2] & 0xC0) != 0x80) return 0;
      if (c == 0xE0 && c1 < 0xA0) return 0;  /* overlong */
      if (c == 0xED && c1 >= 0xA0) return 0; /* surrogate */
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      unsigned c1;
      if (i + 3 >= n) return 0;
      c1 = z[i + 1];
      if ((c1 & 0xC0) != 0x80 || (z[i + 2] & 0xC0) != 0x80 ||
          (z[i + 3] & 0xC0) != 0x80) {
        return 0;
      }
      if (c == 0xF0 && c1 < 0x90) return 0;  /* overlong */
      if (c == 0xF4 && c1 >= 0x90) return 0; /* past U+10FFFF */
      i += 4;
    } else {
      return 0;
    }
  }
  return 1;
}

/* A REAL as SQLite prints it: 15 significant digits, or 17 when 15 do not
** give the same double back. Returns the length written into a (40).
** The texts of the last 8 values are remembered per thread: a column of
** REALs read as STRING repeats a handful of values, and printing one costs
** more than the rest of its conversion. */
static int real_text(double r, char *a) {
  static _Thread_local struct {
    uint64_t bits; /* the double, as bits (-0.0 and NaNs kept apart) */
    int n;         /* the text's length; 0: an empty slot */
    char a[32];
  } aMemo[8];
  static _Thread_local unsigned iNext; /* the slot replaced next */
  uint64_t bits;
  int n, k;
  memcpy(&bits, &r, 8);
  for (k = 0; k < 8; k++) {
    if (aMemo[k].bits == bits && aMemo[k].n) {
      memcpy(a, aMemo[k].a, (size_t)aMemo[k].n + 1);
      return aMemo[k].n;
    }
  }
  sqlite3_snprintf(40, a, "%!.15g", r);
  if (isfinite(r) && strtod(a, NULL) != r) sqlite3_snprintf(40, a, "%!.17g", r);
  n = (int)strlen(a);
  if (n < (int)sizeof(aMemo[0].a)) {
    k = (int)(iNext++ & 7);
    aMemo[k].bits = bits;
    aMemo[k].n = n;
    memcpy(aMemo[k].a, a, (size_t)n + 1);
  }
  return n;
}

/* The n bytes at z without leading and trailing blanks, NUL-terminated
** into a (nA bytes); NULL when they do not fit. */
static const char *text_trim(const char *z, int n, char *a, int nA) {
  while (n > 0 && isspace((unsigned char)*z)) {
    z++;
    n--;
  }
  while (n > 0 && isspace((unsigned char)z[n - 1]))
    n--;
  if (n >= nA || memchr(z, 0, (size_t)n)) return NULL;
  memcpy(a, z, (size_t)n);
  a[n] = 0;
  return a;
}

/* Parses integer text (sign, digits) into *pi. Returns 0 when it is not
** an integer, -1 when it is one out of the int64 range, 1 when done. */
static int text_int(const char *z, int64_t *pi) {
  uint64_t v = 0;
  int bNeg = 0;
  if (*z == '-' || *z == '+') bNeg = *z++ == '-';
  if (!isdigit((unsigned char)*z)) return 0;
  for (; isdigit((unsigned char)*z); z++) {
    unsigned d = (unsigned)(*z - '0');
    if (v > (UINT64_C(1) << 63) / 10 ||
        v * 10 + d > (UINT64_C(1) << 63) - (bNeg ? 0 : 1)) {
      while (isdigit((unsigned char)*z))
        z++;
      return *z ? 0 : -1;
    }
    v = v * 10 + d;
  }
  if (*z) return 0;
  *pi = bNeg ? (int64_t)(0 - v) : (int64_t)v;
  return 1;
}

/* ---------------------------------------------------------------------
** DECIMAL: exact decimal arithmetic on the text
*/

typedef __int128 pq_i128;

/* 10^k for k 0..38. */
static pq_i128 dec_pow10(int k) {
  pq_i128 v = 1;
  while (k-- > 0)
    v *= 10;
  return v;
}

/*
** Parses decimal text z ([sign] digits [. digits] [e [sign] digits]) as
** an integer scaled by 10^nScale, rounded half away from zero, into *pv.
** Returns 1 when done, 0 when z is not a number, -1 when the result needs
** more than nPrecision digits.
*/
static int dec_parse(const char *z, int nPrecision, int nScale, pq_i128 *pv) {
  const char *zDig, *zEnd, *zDot = NULL;
  int bNeg = 0, nDig = 0, iFirst = -1, k;
  long long iExp = 0;
  pq_i128 v = 0, nMax = dec_pow10(nPrecision);
  if (*z == '-' || *z == '+') bNeg = *z++ == '-';
  zDig = z;
  for (; isdigit((unsigned char)*z) || (*z == '.' && zDot == NULL); z++) {
    if (*z == '.') {
      zDot = z;
    } else {
      nDig++;
    }
  }
  if (nDig == 0) return 0;
  zEnd = z;
  if (*z == 'e' || *z == 'E') {
    int bExpNeg = 0;
    z++;
    if (*z == '-' || *z == '+') bExpNeg = *z++ == '-';
    if (!isdigit((unsigned char)*z)) return 0;
    for (; isdigit((unsigned char)*z); z++) {
      if (iExp < 100000) iExp = iExp * 10 + (*z - '0');
    }
    if (bExpNeg) iExp = -iExp;
  }
  if (*z) return 0;
  /* digit i (0-based, dot skipped) has weight 10^(nInt - 1 - i + iExp),
  ** nInt being the digits before the dot; scaled: + nScale */
  {
    int nInt = zDot ? (int)(zDot - zDig) : nDig, i = 0;
    const char *p;
    long long iLast = (long long)nInt - nDig + iExp + nScale; /* weight of
                                                    the last digit, scaled */
    /* the digits of weight 10^0 or more after scaling; the next one
    ** rounds (none does when even the first is further right) */
    long long nKeep = iLast < 0 ? nDig + iLast : nDig;
    for (p = zDig; p < zEnd; p++) {
      if (*p == '.') continue;
      if (i < nKeep) {
        if (iFirst < 0 && *p != '0') iFirst = i;
        if (iFirst >= 0 && i - iFirst >= 38) return -1;
        v = v * 10 + (*p - '0');
      } else if (i == nKeep) {
        if (*p >= '5') v += 1; /* half away from zero */
        break;
      }
      i++;
    }
    if (iLast > 0 && v != 0) {
      if (iLast > 38) return -1;
      for (k = 0; k < iLast; k++) {
        if (v >= nMax / 10) return -1; /* v * 10 would reach 10^p */
        v *= 10;
      }
    }
  }
  if (v >= nMax) return -1;
  *pv = bNeg ? -v : v;
  return 1;
}

/* ---------------------------------------------------------------------
** Dates and times
*/

/* Reads exactly n digits at *pz into *pv. */
static int digits(const char **pz, int n, int *pv) {
  int v = 0, i;
  for (i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*pz)[i])) return 0;
    v = v * 10 + ((*pz)[i] - '0');
  }
  *pz += n;
  *pv = v;
  return 1;
}

/* Reads [+-]YYYY[YY]-MM-DD at *pz into *pDays. Returns 1 when done. */
static int parse_date(const char **pz, int64_t *pDays) {
  const char *z = *pz;
  int64_t y = 0;
  int bNeg = 0, nY = 0, m, d;
  static const int aDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*z == '-' || *z == '+') bNeg = *z++ == '-';
  while (isdigit((unsigned char)*z) && nY < 6) {
    y = y * 10 + (*z++ - '0');
    nY++;
  }
  if (nY < 4 || *z++ != '-' || !digits(&z, 2, &m) || *z++ != '-' ||
      !digits(&z, 2, &d)) {
    return 0;
  }
  if (bNeg) y = -y;
  if (m < 1 || m > 12 || d < 1 || d > aDays[m - 1]) return 0;
  if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
    return 0;
  }
  *pDays = dbx_result_days_from_civil(y, m, d);
  *pz = z;
  return 1;
}

/*
** The common shape of timestamp text, "YYYY-MM-DD HH:MM:SS[.f...]" (or a
** 'T'), with no blank, sign or zone and at most 6 fraction digits, n bytes
** at z, read into *pMicros without copying or trimming. Returns 1 when
** done, 0 when the text has another shape or is not a valid time (then
** parse_timestamp decides, and says why).
*/
static int parse_timestamp_fast(const char *z, int n, int64_t *pMicros) {
  static const int aDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  /* the minute of the last stamp this thread read, "YYYY-MM-DD HH:MM"
  ** (found valid), and its microseconds: stamps in a column, or in a
  ** row, mostly share it */
  static _Thread_local struct {
    uint64_t a, b; /* its 16 bytes */
    int64_t iMicros;
    int bSet;
  } last;
  const unsigned char *u = (const unsigned char *)z;
  uint64_t a, b;
  int s, i, frac = 0;
  if (n < 19 || n > 26 || n == 20 || u[16] != ':' || (n > 19 && u[19] != '.')) {
    return 0;
  }
  for (i = 17; i < n; i++) {
    if (i != 19 && (unsigned)(u[i] - '0') > 9u) return 0;
  }
  s = (u[17] - '0') * 10 + (u[18] - '0');
  if (s > 59) return 0;
  for (i = 20; i < 26; i++)
    frac = frac * 10 + (i < n ? u[i] - '0' : 0);
  memcpy(&a, u, 8);
  memcpy(&b, u + 8, 8);
  if (!last.bSet || a != last.a || b != last.b) {
    int y, m, d, h, mi;
    if (u[4] != '-' || u[7] != '-' ||
        (u[10] != ' ' && u[10] != 'T' && u[10] != 't') || u[13] != ':') {
      return 0;
    }
    for (i = 0; i < 16; i++) {
      if (i == 4 || i == 7 || i == 10 || i == 13) continue;
      if ((unsigned)(u[i] - '0') > 9u) return 0;
    }
#define D2(k) ((u[k] - '0') * 10 + (u[(k) + 1] - '0'))
    y = D2(0) * 100 + D2(2);
    m = D2(5);
    d = D2(8);
    h = D2(11);
    mi = D2(14);
#undef D2
    if (m < 1 || m > 12 || d < 1 || d > aDays[m - 1] || h > 23 || mi > 59) {
      return 0;
    }
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
      return 0;
    }
    last.iMicros =
        (dbx_result_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60) *
        1000000;
    last.a = a;
    last.b = b;
    last.bSet = 1;
  }
  *pMicros = last.iMicros + (int64_t)s * 1000000 + frac;
  return 1;
}

/*
** Parses timestamp text into microseconds since 1970-01-01 00:00:00:
** a zone shifts to UTC unless bNtz. Returns 1 when done, 0 when it does
** not parse, -1 when out of range.
*/
static int parse_timestamp(const char *z, int bNtz, int64_t *pMicros) {
  int64_t days, frac = 0;
  int h = 0, mi = 0, s = 0, nOff = 0;
  pq_i128 v;
  if (!parse_date(&z, &days)) return 0;
  if (*z == ' ' || *z == 'T' || *z == 't') {
    z++;
    if (!digits(&z, 2, &h) || *z++ != ':' || !digits(&z, 2, &mi)) return 0;
    if (*z == ':') {
      z++;
      if (!digits(&z, 2, &s)) return 0;
      if (*z == '.') {
        int n = 0;
        z++;
        if (!isdigit((unsigned char)*z)) return 0;
        for (; isdigit((unsigned char)*z); z++, n++) {
          if (n < 6) {
            frac = frac * 10 + (*z - '0');
          } else if (*z != '0') {
            return 0; /* finer than a microsecond */
          }
        }
        for (; n < 6; n++)
          frac *= 10;
      }
    }
    if (h > 23 || mi > 59 || s > 59) return 0;
    if (*z == ' ') z++;
    if (*z == 'Z' || *z == 'z') {
      z++;
    } else if (*z == '+' || *z == '-') {
      int bNeg = *z++ == '-', oh, om = 0;
      if (!digits(&z, 2, &oh)) return 0;
      if (*z == ':') z++;
      if (isdigit((unsigned char)*z) && !digits(&z, 2, &om)) return 0;
      if (oh > 18 || om > 59) return 0;
      nOff = (oh * 60 + om) * 60 * (bNeg ? -1 : 1);
    }
  }
  if (*z) return 0;
  if (bNtz) nOff = 0;
  v = ((pq_i128)days * 86400 + h * 3600 + mi * 60 + s - nOff) * 1000000 + frac;
  if (v > INT64_MAX || v < INT64_MIN) return -1;
  *pMicros = (int64_t)v;
  return 1;
}

/* ---------------------------------------------------------------------
** Conversion
*/

/* Integer ranges of TINYINT, SMALLINT, INT, BIGINT. */
static void int_range(DbxPqType e, int64_t *piMin, int64_t *piMax) {
  switch (e) {
  case DBX_PQ_TINYINT:
    *piMin = -128;
    *piMax = 127;
    break;
  case DBX_PQ_SMALLINT:
    *piMin = -32768;
    *piMax = 32767;
    break;
  case DBX_PQ_INT:
    *piMin = INT32_MIN;
    *piMax = INT32_MAX;
    break;
  default:
    *piMin = INT64_MIN;
    *piMax = INT64_MAX;
    break;
  }
}

/* The text of a TEXT or BLOB value as a trimmed C string in a. */
#define TRIMMED(v, a) text_trim((v)->z, (v)->n, a, (int)sizeof(a))

/* TINYINT, SMALLINT, INT, BIGINT: into pCell->i, range checked. */
static int conv_int(const DbxPqColumn *pCol, const DbxPqValue *v, int64_t iRow,
                    DbxPqCell *pCell, DbxError *pErr) {
  int64_t iMin, iMax, i = 0;
  int rc;
  char a[64];
  const char *z;
  int_range(pCol->eType, &iMin, &iMax);
  switch (v->eType) {
  case SQLITE_INTEGER:
    i = v->i;
    break;
  case SQLITE_FLOAT:
    if (!(v->r >= -9223372036854775808.0 && v->r < 9223372036854775808.0)) {
      return conv_fail(pCol, v, iRow, "out of range", pErr);
    }
    if (v->r != floor(v->r)) {
      return conv_fail(pCol, v, iRow, "takes no fraction", pErr);
    }
    i = (int64_t)v->r;
    break;
  case SQLITE_TEXT:
    z = TRIMMED(v, a);
    rc = z ? text_int(z, &i) : 0;
    if (rc == 0) return conv_fail(pCol, v, iRow, "needs an integer", pErr);
    if (rc < 0) return conv_fail(pCol, v, iRow, "out of range", pErr);
    break;
  default:
    return conv_fail(pCol, v, iRow, "takes no blob", pErr);
  }
  if (i < iMin || i > iMax) {
    return conv_fail(pCol, v, iRow, "out of range", pErr);
  }
  pCell->i = i;
  return SQLITE_OK;
}

/* FLOAT, DOUBLE: into pCell->r (a FLOAT rounded to float). */
static int conv_real(const DbxPqColumn *pCol, const DbxPqValue *v, int64_t iRow,
                     DbxPqCell *pCell, DbxError *pErr) {
  double r;
  char a[400], *zEnd;
  const char *z;
  switch (v->eType) {
  case SQLITE_INTEGER:
    r = (double)v->i;
    break;
  case SQLITE_FLOAT:
    r = v->r;
    break;
  case SQLITE_TEXT:
    z = TRIMMED(v, a);
    /* strtod also reads hexadecimal ("0x1p3"), which is not SQL */
    if (z == NULL || z[0] == 0 || strpbrk(z, "xX") ||
        (r = strtod(z, &zEnd), *zEnd != 0)) {
      return conv_fail(pCol, v, iRow, "needs a number", pErr);
    }
    break;
  default:
    return conv_fail(pCol, v, iRow, "takes no blob", pErr);
  }
  if (pCol->eType == DBX_PQ_FLOAT) {
    if (isfinite(r) && fabs(r) > FLT_MAX) {
      return conv_fail(pCol, v, iRow, "out of range", pErr);
    }
    r = (double)(float)r;
  }
  pCell->r = r;
  return SQLITE_OK;
}

/* BOOLEAN: 0 or 1 into pCell->i. */
static int conv_bool(const DbxPqColumn *pCol, const DbxPqValue *v, int64_t iRow,
                     DbxPqCell *pCell, DbxError *pErr) {
  char a[16];
  const char *z;
  switch (v->eType) {
  case SQLITE_INTEGER:
    if (v->i == 0 || v->i == 1) {
      pCell->i = v->i;
      return SQLITE_OK;
    }
    break;
  case SQLITE_FLOAT:
    if (v->r == 0.0 || v->r == 1.0) {
      pCell->i = v->r == 1.0;
      return SQLITE_OK;
    }
    break;
  case SQLITE_TEXT:
    z = TRIMMED(v, a);
    if (z && (sqlite3_stricmp(z, "true") == 0 || strcmp(z, "1") == 0)) {
      pCell->i = 1;
      return SQLITE_OK;
    }
    if (z && (sqlite3_stricmp(z, "false") == 0 || strcmp(z, "0") == 0)) {
      pCell->i = 0;
      return SQLITE_OK;
    }
    break;
  default:
    break;
  }
  return conv_fail(pCol, v, iRow, "needs 0, 1, 'true' or 'false'", pErr);
}

/* DECIMAL(p,s): the unscaled value into pCell->i (p <= 18) or as
** big-endian two's complement bytes into aScratch. */
static int conv_decimal(const DbxPqColumn *pCol, const DbxPqValue *v,
                        int64_t iRow, DbxPqCell *pCell, unsigned char *aScratch,
                        DbxError *pErr) {
  char a[512];
  const char *z;
  pq_i128 d;
  int rc;
  switch (v->eType) {
  case SQLITE_INTEGER:
    sqlite3_snprintf(sizeof(a), a, "%lld", (long long)v->i);
    z = a;
    break;
  case SQLITE_FLOAT:
    if (!isfinite(v->r))
      return conv_fail(pCol, v, iRow, "needs a finite number", pErr);
    real_text(v->r, a);
    z = a;
    break;
  case SQLITE_TEXT:
    z = TRIMMED(v, a);
    if (z == NULL) return conv_fail(pCol, v, iRow, "needs a number", pErr);
    break;
  default:
    return conv_fail(pCol, v, iRow, "takes no blob", pErr);
  }
  rc = dec_parse(z, pCol->nPrecision, pCol->nScale, &d);
  if (rc == 0) return conv_fail(pCol, v, iRow, "needs a number", pErr);
  if (rc < 0) return conv_fail(pCol, v, iRow, "overflows", pErr);
  if (pCol->nPrecision <= 18) {
    pCell->i = (int64_t)d;
  } else {
    int n = dbx_parquet_decimal_bytes(pCol->nPrecision), k;
    unsigned __int128 u = (unsigned __int128)d;
    for (k = n - 1; k >= 0; k--) {
      aScratch[k] = (unsigned char)u;
      u >>= 8;
    }
    pCell->z = aScratch;
    pCell->n = n;
  }
  return SQLITE_OK;
}

/* DATE (days) or TIMESTAMP[_NTZ] (microseconds) into pCell->i. */
static int conv_time(const DbxPqColumn *pCol, const DbxPqValue *v, int64_t iRow,
                     DbxPqCell *pCell, DbxError *pErr) {
  char a[80];
  const char *z;
  int rc;
  if (pCol->eType == DBX_PQ_DATE) {
    int64_t days;
    if (v->eType != SQLITE_TEXT) {
      return conv_fail(pCol, v, iRow, "needs text YYYY-MM-DD", pErr);
    }
    z = TRIMMED(v, a);
    if (z == NULL || !parse_date(&z, &days) || *z || days < INT32_MIN ||
        days > INT32_MAX) {
      return conv_fail(pCol, v, iRow, "needs a valid date YYYY-MM-DD", pErr);
    }
    pCell->i = days;
    return SQLITE_OK;
  }
  switch (v->eType) {
  case SQLITE_INTEGER:
    if (v->i > INT64_MAX / 1000000 || v->i < INT64_MIN / 1000000) {
      return conv_fail(pCol, v, iRow, "out of range", pErr);
    }
    pCell->i = v->i * 1000000;
    return SQLITE_OK;
  case SQLITE_FLOAT: {
    double r = v->r * 1e6;
    if (!(r > -9.2e18 && r < 9.2e18)) {
      return conv_fail(pCol, v, iRow, "out of range", pErr);
    }
    pCell->i = llround(r);
    return SQLITE_OK;
  }
  case SQLITE_TEXT:
    if (parse_timestamp_fast(v->z, v->n, &pCell->i)) return SQLITE_OK;
    z = TRIMMED(v, a);
    rc = z ? parse_timestamp(z, pCol->eType == DBX_PQ_TIMESTAMP_NTZ, &pCell->i)
           : 0;
    if (rc < 0) return conv_fail(pCol, v, iRow, "out of range", pErr);
    if (rc == 0) {
      return conv_fail(pCol, v, iRow,
                       "needs 'YYYY-MM-DD HH:MM:SS[.ffffff][zone]' or unix "
                       "seconds",
                       pErr);
    }
    return SQLITE_OK;
  default:
    return conv_fail(pCol, v, iRow, "takes no blob", pErr);
  }
}

/* STRING, BINARY, JSON: bytes into pCell->z / n (borrowed from v, or
** number text in aScratch). */
static int conv_bytes(const DbxPqColumn *pCol, const DbxPqValue *v,
                      int64_t iRow, DbxPqCell *pCell, unsigned char *aScratch,
                      DbxError *pErr) {
  switch (v->eType) {
  case SQLITE_INTEGER:
  case SQLITE_FLOAT:
    if (pCol->eType == DBX_PQ_BINARY) {
      return conv_fail(pCol, v, iRow, "needs a blob or text", pErr);
    }
    if (v->eType == SQLITE_INTEGER) {
      /* as "%lld" prints it, without the formatter */
      char aRev[24];
      uint64_t u = v->i < 0 ? 0 - (uint64_t)v->i : (uint64_t)v->i;
      int nRev = 0, k = 0;
      do {
        aRev[nRev++] = (char)('0' + u % 10);
        u /= 10;
      } while (u);
      if (v->i < 0) aScratch[k++] = '-';
      while (nRev > 0)
        aScratch[k++] = (unsigned char)aRev[--nRev];
      aScratch[k] = 0;
      pCell->n = k;
    } else {
      if (pCol->eType == DBX_PQ_JSON && !isfinite(v->r)) {
        return conv_fail(pCol, v, iRow, "needs a finite number", pErr);
      }
      pCell->n = real_text(v->r, (char *)aScratch);
    }
    pCell->z = aScratch;
    return SQLITE_OK;
  case SQLITE_BLOB:
    if (pCol->eType == DBX_PQ_JSON) {
      return conv_fail(pCol, v, iRow, "needs JSON text, not a blob", pErr);
    }
    /* fall through */
  default:
    pCell->z = (const unsigned char *)(v->z ? v->z : "");
    pCell->n = v->n;
    if (pCol->eType != DBX_PQ_BINARY &&
        !dbx_parquet_utf8_valid(pCell->z, (size_t)pCell->n)) {
      return conv_fail(pCol, v, iRow, "needs valid UTF-8", pErr);
    }
    if (pCol->eType == DBX_PQ_JSON &&
        !dbx_json_valid((const char *)pCell->z, (size_t)pCell->n)) {
      return conv_fail(pCol, v, iRow, "needs one JSON value", pErr);
    }
    return SQLITE_OK;
  }
}

int dbx_parquet_convert(const DbxPqColumn *pCol, const DbxPqValue *pVal,
                        int64_t iRow, DbxPqCell *pCell, unsigned char *aScratch,
                        DbxError *pErr) {
  pCell->bNull = pVal->eType == SQLITE_NULL;
  if (pCell->bNull) {
    if (pCol->bNotNull) {
      return dbx_error_set(pErr, SQLITE_CONSTRAINT,
                           "column \"%s\" row %lld: NULL in a NOT NULL column",
                           pCol->zName ? pCol->zName : "", (long long)iRow);
    }
    return SQLITE_OK;
  }
  switch (pCol->eType) {
  case DBX_PQ_BOOLEAN:
    return conv_bool(pCol, pVal, iRow, pCell, pErr);
  case DBX_PQ_TINYINT:
  case DBX_PQ_SMALLINT:
  case DBX_PQ_INT:
  case DBX_PQ_BIGINT:
    return conv_int(pCol, pVal, iRow, pCell, pErr);
  case DBX_PQ_FLOAT:
  case DBX_PQ_DOUBLE:
    return conv_real(pCol, pVal, iRow, pCell, pErr);
  case DBX_PQ_DECIMAL:
    return conv_decimal(pCol, pVal, iRow, pCell, aScratch, pErr);
  case DBX_PQ_DATE:
  case DBX_PQ_TIMESTAMP:
  case DBX_PQ_TIMESTAMP_NTZ:
    return conv_time(pCol, pVal, iRow, pCell, pErr);
  default:
    return conv_bytes(pCol, pVal, iRow, pCell, aScratch, pErr);
  }
}
