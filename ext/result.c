/*
** result.c: JSON_ARRAY values -> cells (see result.h for the type mapping).
**
** Serves the read side of dbx_query() and the databricks virtual table.
** Databricks sends every non-null JSON_ARRAY value as a JSON string; this
** file decides per column what that string means and
** converts it, without touching HTTP or sqlite3 contexts. Where the text
** does not parse as its declared type the value is kept as the text that
** was sent rather than lost, except BINARY, where bad hex is an error.
*/
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "result.h"

/*
** Looks up the leading word of z (up to '(', '<', space) in the type table.
** Returns 1 and *peKind when known, 0 otherwise.
*/
static int kind_of_word(const char *z, DbxKind *peKind) {
  const DbxSqlType *pType;
  size_t n = 0;
  if (z == NULL) return 0;
  while (z[n] && z[n] != '(' && z[n] != '<' && z[n] != ' ')
    n++;
  pType = dbx_sql_type_find(z, n);
  if (pType == NULL) return 0;
  *peKind = pType->eKind;
  return 1;
}

/* The decimal number at z (leading blanks skipped), clamped to 0..1000: a
** DECIMAL precision or scale from type_text, whose digits the server
** chose. Anything else is 0. */
static int small_int(const char *z) {
  int v = 0;
  while (*z == ' ')
    z++;
  for (; *z >= '0' && *z <= '9'; z++) {
    if (v < 1000) v = v * 10 + (*z - '0');
  }
  return v > 1000 ? 1000 : v;
}

DbxKind dbx_result_kind(const char *zTypeName, const char *zTypeText,
                        int *pnPrecision, int *pnScale) {
  DbxKind eName = DBX_KIND_TEXT, eText = DBX_KIND_TEXT, e;
  int bName = kind_of_word(zTypeName, &eName);
  int bText = kind_of_word(zTypeText, &eText);
  int nPrec = pnPrecision ? *pnPrecision : 0;
  int nScale = pnScale ? *pnScale : 0;

  /* type_name decides; type_text refines what the enum cannot say
  ** (TIMESTAMP_NTZ, VARIANT) and stands in for unknown names. */
  if (bName &&
      !(bText && (eText == DBX_KIND_TIMESTAMP_NTZ ||
                  (eText == DBX_KIND_JSON && eName == DBX_KIND_TEXT)))) {
    e = eName;
  } else if (bText) {
    e = eText;
  } else {
    e = DBX_KIND_TEXT;
  }
  if (e == DBX_KIND_DECIMAL) {
    if (nPrec <= 0 && zTypeText) {
      const char *z = strchr(zTypeText, '(');
      if (z) {
        nPrec = small_int(z + 1);
        z = strchr(z, ',');
        if (z) nScale = small_int(z + 1);
      }
    }
    if (nPrec <= 0) nPrec = DBX_SQL_DECIMAL_PRECISION;
    if (dbx_sql_decimal_real(nPrec)) e = DBX_KIND_REAL;
  }
  if (pnPrecision) *pnPrecision = nPrec;
  if (pnScale) *pnScale = nScale;
  return e;
}

/* A cJSON member as a string (numbers formatted), or NULL. */
static const char *json_text(const cJSON *p, char *zNum, size_t nNum) {
  if (cJSON_IsString(p)) return p->valuestring;
  if (cJSON_IsNumber(p)) {
    snprintf(zNum, nNum, "%.17g", p->valuedouble);
    return zNum;
  }
  return NULL;
}

/* Reads integer member zName of column entry pItem into *pnOut (left alone
** when absent). Returns SQLITE_OK, or SQLITE_ERROR with pErr set when it is
** not an integer in iMin..iMax. */
static int column_int(const cJSON *pItem, const char *zName, int iCol,
                      int64_t iMin, int64_t iMax, int *pnOut, DbxError *pErr) {
  int64_t v;
  int rc = dbx_json_int(cJSON_GetObjectItemCaseSensitive(pItem, zName), iMin,
                        iMax, &v);
  if (rc == SQLITE_NOTFOUND) return SQLITE_OK;
  if (rc != SQLITE_OK) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "unexpected result schema from Databricks: %s of "
                         "column %d is not an integer from %lld to %lld; run "
                         "the query again",
                         zName, iCol + 1, (long long)iMin, (long long)iMax);
  }
  *pnOut = (int)v;
  return SQLITE_OK;
}

void dbx_result_columns_free(DbxColumn *aCol, int nCol) {
  int i;
  if (aCol == NULL) return;
  for (i = 0; i < nCol; i++) {
    sqlite3_free(aCol[i].zName);
    sqlite3_free(aCol[i].zTypeName);
    sqlite3_free(aCol[i].zTypeText);
  }
  sqlite3_free(aCol);
}

int dbx_result_columns(const cJSON *pSchema, DbxColumn **paCol, int *pnCol,
                       DbxError *pErr) {
  const cJSON *pCols = cJSON_GetObjectItemCaseSensitive(pSchema, "columns");
  const cJSON *pItem;
  DbxColumn *aCol;
  int nCol, i = 0;
  char zNum[32];

  *paCol = NULL;
  *pnCol = 0;
  if (pSchema == NULL || pCols == NULL || cJSON_IsNull(pCols)) return SQLITE_OK;
  if (!cJSON_IsArray(pCols)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "unexpected result schema from Databricks: columns is "
                         "not an array");
  }
  nCol = cJSON_GetArraySize(pCols);
  if (nCol == 0) return SQLITE_OK;
  aCol = sqlite3_malloc64(sizeof(DbxColumn) * (size_t)nCol);
  if (aCol == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(aCol, 0, sizeof(DbxColumn) * (size_t)nCol);
  cJSON_ArrayForEach(pItem, pCols) {
    int iPos = i;
    const char *zName = json_text(
        cJSON_GetObjectItemCaseSensitive(pItem, "name"), zNum, sizeof(zNum));
    const char *zTypeName = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(pItem, "type_name"));
    const char *zTypeText = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(pItem, "type_text"));
    DbxColumn *pCol;
    char *z;
    /* Columns are ordered by position, which must be a permutation. */
    if (column_int(pItem, "position", i, 0, nCol - 1, &iPos, pErr) ||
        (aCol[iPos].zName &&
         dbx_error_set(pErr, SQLITE_ERROR,
                       "unexpected result schema from Databricks: two "
                       "columns at position %d; run the query again",
                       iPos))) {
      dbx_result_columns_free(aCol, nCol);
      return SQLITE_ERROR;
    }
    pCol = &aCol[iPos];
    pCol->zName = dbx_strdup(zName ? zName : "");
    pCol->zTypeName = dbx_strdup(zTypeName ? zTypeName : "");
    pCol->zTypeText = dbx_strdup(zTypeText ? zTypeText : pCol->zTypeName);
    if (pCol->zName == NULL || pCol->zTypeName == NULL ||
        pCol->zTypeText == NULL) {
      dbx_result_columns_free(aCol, nCol);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    for (z = pCol->zTypeName; *z; z++)
      *z = (char)toupper((unsigned char)*z);
    if (column_int(pItem, "type_precision", i, 0, 1000, &pCol->nPrecision,
                   pErr) ||
        column_int(pItem, "type_scale", i, 0, 1000, &pCol->nScale, pErr)) {
      dbx_result_columns_free(aCol, nCol);
      return SQLITE_ERROR;
    }
    pCol->eKind = dbx_result_kind(pCol->zTypeName, pCol->zTypeText,
                                  &pCol->nPrecision, &pCol->nScale);
    i++;
  }
  *paCol = aCol;
  *pnCol = nCol;
  return SQLITE_OK;
}

int64_t dbx_result_days_from_civil(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* The inverse of dbx_result_days_from_civil. */
static void civil_from_days(int64_t z, int64_t *py, int *pm, int *pd) {
  int64_t era, doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *pd = (int)(doy - (153 * mp + 2) / 5 + 1);
  *pm = (int)(mp < 10 ? mp + 3 : mp - 9);
  *py = yoe + era * 400 + (*pm <= 2);
}

/* Reads exactly nDigit digits at *pz into *pVal; advances. */
static int read_digits(const char **pz, const char *zEnd, int nDigit,
                       int *pVal) {
  int v = 0, i;
  for (i = 0; i < nDigit; i++) {
    if (*pz >= zEnd || !isdigit((unsigned char)**pz)) return 0;
    v = v * 10 + (**pz - '0');
    (*pz)++;
  }
  *pVal = v;
  return 1;
}

/* Writes the nDigit low decimal digits of v (0 <= v) at z. */
static void put_digits(char *z, int v, int nDigit) {
  while (nDigit-- > 0) {
    z[nDigit] = (char)('0' + v % 10);
    v /= 10;
  }
}

/*
** Normalises a timestamp text to 'YYYY-MM-DD HH:MM:SS[.fraction]' in UTC
** (bShift: apply a zone offset; TIMESTAMP_NTZ ignores none since it has
** none). Accepts 'T' or ' ' between date and time, optional seconds and
** fraction, and Z / +HH:MM / +HHMM / +HH. Returns 0 when z is not such a
** timestamp (the caller keeps the text).
*/
static int timestamp_normalise(const char *z, size_t n, int bShift,
                               DbxBuf *pOut) {
  const char *zEnd = z + n, *zFrac = NULL;
  int y, mo, d, h, mi, s = 0, nFrac = 0, offMin = 0;
  int64_t days, secs, yy;
  if (!read_digits(&z, zEnd, 4, &y) || z >= zEnd || *z++ != '-') return 0;
  if (!read_digits(&z, zEnd, 2, &mo) || z >= zEnd || *z++ != '-') return 0;
  if (!read_digits(&z, zEnd, 2, &d)) return 0;
  if (z >= zEnd || (*z != 'T' && *z != ' ')) return 0;
  z++;
  if (!read_digits(&z, zEnd, 2, &h) || z >= zEnd || *z++ != ':') return 0;
  if (!read_digits(&z, zEnd, 2, &mi)) return 0;
  if (z < zEnd && *z == ':') {
    z++;
    if (!read_digits(&z, zEnd, 2, &s)) return 0;
    if (z < zEnd && *z == '.') {
      zFrac = ++z;
      while (z < zEnd && isdigit((unsigned char)*z))
        z++;
      nFrac = (int)(z - zFrac);
      while (nFrac > 0 && zFrac[nFrac - 1] == '0')
        nFrac--;
    }
  }
  if (z < zEnd && (*z == 'Z' || *z == 'z')) {
    z++;
  } else if (z < zEnd && (*z == '+' || *z == '-')) {
    int sign = *z++ == '-' ? -1 : 1, oh, om = 0;
    if (!read_digits(&z, zEnd, 2, &oh)) return 0;
    if (z < zEnd && *z == ':') z++;
    if (z < zEnd) {
      if (!read_digits(&z, zEnd, 2, &om)) return 0;
    }
    offMin = sign * (oh * 60 + om);
  }
  if (z != zEnd) return 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return 0;
  }
  if (bShift && offMin != 0) {
    secs = ((dbx_result_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s;
    secs -= (int64_t)offMin * 60;
    days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    secs -= days * 86400;
    civil_from_days(days, &yy, &mo, &d);
    if (yy < 0 || yy > 9999) return 0;
    y = (int)yy;
    h = (int)(secs / 3600);
    mi = (int)(secs / 60 % 60);
    s = (int)(secs % 60);
  }
  {
    /* Written by hand: this runs once per timestamp cell, printf is slow. */
    char zOut[19];
    put_digits(zOut, y, 4);
    zOut[4] = '-';
    put_digits(zOut + 5, mo, 2);
    zOut[7] = '-';
    put_digits(zOut + 8, d, 2);
    zOut[10] = ' ';
    put_digits(zOut + 11, h, 2);
    zOut[13] = ':';
    put_digits(zOut + 14, mi, 2);
    zOut[16] = ':';
    put_digits(zOut + 17, s, 2);
    dbx_buf_append(pOut, zOut, sizeof(zOut));
  }
  if (nFrac > 0) {
    dbx_buf_append(pOut, ".", 1);
    dbx_buf_append(pOut, zFrac, (size_t)nFrac);
  }
  return 1;
}

/* Hex value of c, or -1. */
static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Sets *pCell to the text z (n bytes), borrowed. */
static void cell_text(DbxCell *pCell, const char *z, size_t n) {
  pCell->eType = DBX_CELL_TEXT;
  pCell->z = z;
  pCell->n = n;
}

/* Sets *pCell to the integer z (n bytes) and returns 1, or returns 0 when z
** is not a decimal integer in range (the caller keeps the text). */
static inline int cell_integer(DbxCell *pCell, const char *z, size_t n) {
  char zNum[64];
  char *zEnd;
  long long v;
  if (n == 0 || n >= sizeof(zNum)) return 0;
  memcpy(zNum, z, n);
  zNum[n] = 0;
  errno = 0;
  v = strtoll(zNum, &zEnd, 10);
  if (*zEnd != 0 || errno != 0) return 0;
  pCell->eType = DBX_CELL_INTEGER;
  pCell->iVal = v;
  return 1;
}

/* Sets *pCell to 1 or 0 for true/false (any case) or 1/0 and returns 1, or
** returns 0 for anything else. */
static inline int cell_boolean(DbxCell *pCell, const char *z, size_t n) {
  if ((n == 4 && strncasecmp(z, "true", 4) == 0) || (n == 1 && z[0] == '1')) {
    pCell->eType = DBX_CELL_INTEGER;
    pCell->iVal = 1;
    return 1;
  }
  if ((n == 5 && strncasecmp(z, "false", 5) == 0) || (n == 1 && z[0] == '0')) {
    pCell->eType = DBX_CELL_INTEGER;
    pCell->iVal = 0;
    return 1;
  }
  return 0;
}

/* Sets *pCell to the double z (n bytes; NaN, Infinity and -Infinity too)
** and returns 1, or returns 0 when z is not a number. */
static inline int cell_real(DbxCell *pCell, const char *z, size_t n) {
  char zNum[64];
  char *zEnd;
  double r;
  if (n == 0 || n >= sizeof(zNum)) return 0;
  memcpy(zNum, z, n);
  zNum[n] = 0;
  r = strtod(zNum, &zEnd);
  if (*zEnd != 0) return 0;
  pCell->eType = DBX_CELL_REAL;
  pCell->rVal = r;
  return 1;
}

/* Sets *pCell to the blob that hex text z (n bytes) spells, decoded into
** pScratch (empty on entry). Returns SQLITE_OK, or SQLITE_MISMATCH (not hex)
** or SQLITE_NOMEM with pErr set. */
static inline int cell_binary(const DbxColumn *pCol, const char *z, size_t n,
                              DbxBuf *pScratch, DbxCell *pCell,
                              DbxError *pErr) {
  size_t i;
  unsigned char c;
  if (n % 2) {
    return dbx_error_set(pErr, SQLITE_MISMATCH,
                         "BINARY value of column %s is not hex text; read "
                         "it with hex() in the query instead",
                         pCol->zName);
  }
  for (i = 0; i < n; i += 2) {
    int hi = hex_value(z[i]), lo = hex_value(z[i + 1]);
    if (hi < 0 || lo < 0) {
      return dbx_error_set(pErr, SQLITE_MISMATCH,
                           "BINARY value of column %s is not hex text; "
                           "read it with hex() in the query instead",
                           pCol->zName);
    }
    c = (unsigned char)(hi * 16 + lo);
    dbx_buf_append(pScratch, &c, 1);
  }
  if (pScratch->rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  pCell->eType = DBX_CELL_BLOB;
  pCell->z = n ? pScratch->z : "";
  pCell->n = n / 2;
  return SQLITE_OK;
}

/* See result.h. Per cell on the hot path: no allocation beyond pScratch. */
int dbx_result_decode_text(const DbxColumn *pCol, const char *z, size_t n,
                           DbxBuf *pScratch, DbxCell *pCell, DbxError *pErr) {
  memset(pCell, 0, sizeof(*pCell));
  dbx_buf_reset(pScratch);
  if (z == NULL || pCol->eKind == DBX_KIND_NULL) {
    pCell->eType = DBX_CELL_NULL;
    return SQLITE_OK;
  }
  switch (pCol->eKind) {
  case DBX_KIND_INTEGER:
    /* out of range or not a number: keep the text */
    if (cell_integer(pCell, z, n)) return SQLITE_OK;
    break;
  case DBX_KIND_BOOLEAN:
    if (cell_boolean(pCell, z, n)) return SQLITE_OK;
    break;
  case DBX_KIND_REAL:
    if (cell_real(pCell, z, n)) return SQLITE_OK;
    break;
  case DBX_KIND_TIMESTAMP:
  case DBX_KIND_TIMESTAMP_NTZ:
    if (timestamp_normalise(z, n, pCol->eKind == DBX_KIND_TIMESTAMP,
                            pScratch)) {
      if (pScratch->rc)
        return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      cell_text(pCell, pScratch->z, pScratch->n);
      return SQLITE_OK;
    }
    dbx_buf_reset(pScratch);
    break;
  case DBX_KIND_BINARY:
    return cell_binary(pCol, z, n, pScratch, pCell, pErr);
  case DBX_KIND_JSON:
    pCell->bJson = 1;
    break;
  default:
    break;
  }
  cell_text(pCell, z, n);
  return SQLITE_OK;
}

int dbx_result_decode(const DbxColumn *pCol, const cJSON *pValue,
                      DbxBuf *pScratch, DbxCell *pCell, DbxError *pErr) {
  char zNum[40];
  if (cJSON_IsString(pValue)) {
    return dbx_result_decode_text(pCol, pValue->valuestring,
                                  strlen(pValue->valuestring), pScratch, pCell,
                                  pErr);
  }
  if (cJSON_IsNumber(pValue)) {
    /* Lenient: Databricks sends strings, but a number is unambiguous. */
    double r = pValue->valuedouble;
    memset(pCell, 0, sizeof(*pCell));
    dbx_buf_reset(pScratch);
    if ((pCol->eKind == DBX_KIND_INTEGER || pCol->eKind == DBX_KIND_BOOLEAN) &&
        r == floor(r) && fabs(r) < 9.2e18) {
      pCell->eType = DBX_CELL_INTEGER;
      pCell->iVal = pCol->eKind == DBX_KIND_BOOLEAN ? r != 0 : (int64_t)r;
      return SQLITE_OK;
    }
    if (pCol->eKind == DBX_KIND_REAL || pCol->eKind == DBX_KIND_INTEGER) {
      pCell->eType = DBX_CELL_REAL;
      pCell->rVal = r;
      return SQLITE_OK;
    }
    if (r == floor(r) && fabs(r) < 9.007199254740992e15) {
      snprintf(zNum, sizeof(zNum), "%lld", (long long)r);
    } else {
      snprintf(zNum, sizeof(zNum), "%.17g", r);
    }
    dbx_buf_append(pScratch, zNum, strlen(zNum));
    if (pScratch->rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    cell_text(pCell, pScratch->z, pScratch->n);
    return SQLITE_OK;
  }
  if (cJSON_IsBool(pValue)) {
    memset(pCell, 0, sizeof(*pCell));
    pCell->eType = DBX_CELL_INTEGER;
    pCell->iVal = cJSON_IsTrue(pValue) ? 1 : 0;
    return SQLITE_OK;
  }
  if (pValue == NULL || cJSON_IsNull(pValue)) {
    return dbx_result_decode_text(pCol, NULL, 0, pScratch, pCell, pErr);
  }
  /* An object or array where a string was expected: keep it as JSON. */
  {
    char *z = cJSON_PrintUnformatted(pValue);
    if (z == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    dbx_buf_reset(pScratch);
    dbx_buf_append(pScratch, z, strlen(z));
    cJSON_free(z);
    if (pScratch->rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    memset(pCell, 0, sizeof(*pCell));
    cell_text(pCell, pScratch->z, pScratch->n);
    pCell->bJson = 1;
    return SQLITE_OK;
  }
}

/* Appends r as the shortest JSON number that reads back the same. */
static void json_real(DbxBuf *pOut, double r) {
  char z[40];
  if (!isfinite(r)) {
    dbx_buf_append(pOut, "null", 4);
    return;
  }
  snprintf(z, sizeof(z), "%.15g", r);
  if (strtod(z, NULL) != r) snprintf(z, sizeof(z), "%.17g", r);
  /* Keep a REAL recognisable as one: 2.0 stays 2.0, not 2. */
  if (strspn(z, "-0123456789") == strlen(z)) strcat(z, ".0");
  dbx_buf_append(pOut, z, strlen(z));
}

void dbx_result_row_json(const DbxColumn *aCol, const DbxCell *aCell, int nCol,
                         DbxBuf *pOut) {
  int i;
  size_t k;
  dbx_buf_append(pOut, "{", 1);
  for (i = 0; i < nCol; i++) {
    const DbxCell *c = &aCell[i];
    if (i) dbx_buf_append(pOut, ",", 1);
    dbx_buf_append_json(pOut, aCol[i].zName, strlen(aCol[i].zName));
    dbx_buf_append(pOut, ":", 1);
    switch (c->eType) {
    case DBX_CELL_INTEGER:
      if (aCol[i].eKind == DBX_KIND_BOOLEAN) {
        dbx_buf_appendf(pOut, "%s", c->iVal ? "true" : "false");
      } else {
        dbx_buf_appendf(pOut, "%lld", (long long)c->iVal);
      }
      break;
    case DBX_CELL_REAL:
      json_real(pOut, c->rVal);
      break;
    case DBX_CELL_TEXT: {
      cJSON *pCheck = NULL;
      if (c->bJson) pCheck = cJSON_ParseWithLength(c->z, c->n);
      if (pCheck) {
        dbx_buf_append(pOut, c->z, c->n); /* valid JSON: embed as is */
        cJSON_Delete(pCheck);
      } else {
        dbx_buf_append_json(pOut, c->z, c->n);
      }
      break;
    }
    case DBX_CELL_BLOB:
      dbx_buf_append(pOut, "\"", 1);
      for (k = 0; k < c->n; k++) {
        dbx_buf_appendf(pOut, "%02x", (unsigned char)c->z[k]);
      }
      dbx_buf_append(pOut, "\"", 1);
      break;
    default:
      dbx_buf_append(pOut, "null", 4);
      break;
    }
  }
  dbx_buf_append(pOut, "}", 1);
}

/* ---------------------------------------------------------------------
** Row scanning of downloaded chunks
*/

void dbx_rowscan_init(DbxRowScan *p, char *z, size_t n) {
  memset(p, 0, sizeof(*p));
  p->z = z;
  p->n = z ? n : 0;
}

/* Skips JSON white space; returns the next byte, or 0 at the end. */
static char scan_peek(DbxRowScan *p) {
  while (p->i < p->n && (p->z[p->i] == ' ' || p->z[p->i] == '\n' ||
                         p->z[p->i] == '\r' || p->z[p->i] == '\t'))
    p->i++;
  return p->i < p->n ? p->z[p->i] : 0;
}

/* Appends code point c as UTF-8 at *pzOut. */
static void put_utf8(char **pzOut, unsigned c) {
  unsigned char *z = (unsigned char *)*pzOut;
  if (c < 0x80) {
    *z++ = (unsigned char)c;
  } else if (c < 0x800) {
    *z++ = (unsigned char)(0xC0 | (c >> 6));
    *z++ = (unsigned char)(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    *z++ = (unsigned char)(0xE0 | (c >> 12));
    *z++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    *z++ = (unsigned char)(0x80 | (c & 0x3F));
  } else {
    *z++ = (unsigned char)(0xF0 | (c >> 18));
    *z++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    *z++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    *z++ = (unsigned char)(0x80 | (c & 0x3F));
  }
  *pzOut = (char *)z;
}

/* The 4 hex digits at z as a number, or -1. */
static long hex4(const char *z) {
  long v = 0;
  int k;
  for (k = 0; k < 4; k++) {
    int h = hex_value(z[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/*
** Reads the string starting at the opening quote p->z[p->i] and unescapes
** it one byte to the left (over the quote), which never overtakes the
** input: escapes only shrink. Returns 0 on malformed input.
*/
static int scan_string(DbxRowScan *p, const char **pz, size_t *pn) {
  char *zOut = p->z + p->i, *zStart = zOut;
  size_t i = p->i + 1;
  while (i < p->n && p->z[i] != '"') {
    char c = p->z[i++];
    if (c != '\\') {
      *zOut++ = c;
      continue;
    }
    if (i >= p->n) return 0;
    c = p->z[i++];
    switch (c) {
    case 'b':
      *zOut++ = '\b';
      break;
    case 'f':
      *zOut++ = '\f';
      break;
    case 'n':
      *zOut++ = '\n';
      break;
    case 'r':
      *zOut++ = '\r';
      break;
    case 't':
      *zOut++ = '\t';
      break;
    case 'u': {
      long c1 = i + 4 <= p->n ? hex4(p->z + i) : -1;
      if (c1 < 0) return 0;
      i += 4;
      if (c1 >= 0xD800 && c1 < 0xDC00 && i + 6 <= p->n && p->z[i] == '\\' &&
          p->z[i + 1] == 'u') {
        long c2 = hex4(p->z + i + 2);
        if (c2 >= 0xDC00 && c2 < 0xE000) {
          c1 = 0x10000 + ((c1 - 0xD800) << 10) + (c2 - 0xDC00);
          i += 6;
        }
      }
      put_utf8(&zOut, (unsigned)c1);
      break;
    }
    default: /* \" \\ \/ */
      *zOut++ = c;
      break;
    }
  }
  if (i >= p->n) return 0;
  *zOut = 0;
  p->i = i + 1;
  *pz = zStart;
  *pn = (size_t)(zOut - zStart);
  return 1;
}

/*
** Reads a bare value (number, true, false, null, or a nested array or
** object) and moves its text one byte to the left, over the delimiter
** already read, so it can be NUL-terminated without losing the byte after
** it. Sets *pz to NULL for null. Returns 0 on malformed input.
*/
static int scan_bare(DbxRowScan *p, const char **pz, size_t *pn) {
  size_t s = p->i, e = s;
  int depth = 0, bStr = 0;
  for (; e < p->n; e++) {
    char c = p->z[e];
    if (bStr) {
      if (c == '\\')
        e++;
      else if (c == '"')
        bStr = 0;
    } else if (c == '"') {
      bStr = 1;
    } else if (c == '[' || c == '{') {
      depth++;
    } else if (c == ']' || c == '}') {
      if (depth == 0) break;
      depth--;
    } else if (depth == 0 &&
               (c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t')) {
      break;
    }
  }
  if (e == s || depth || bStr || s == 0) return 0;
  p->i = e;
  if (e - s == 4 && memcmp(p->z + s, "null", 4) == 0) {
    *pz = NULL;
    *pn = 0;
    return 1;
  }
  memmove(p->z + s - 1, p->z + s, e - s);
  p->z[e - 1] = 0;
  *pz = p->z + s - 1;
  *pn = e - s;
  return 1;
}

int dbx_rowscan_next(DbxRowScan *p, int nCol, const char **azVal, size_t *anVal,
                     int *pnVal, DbxError *pErr) {
  int iCol = 0, nVal = 0;
  char c;
  if (!p->bOpen) {
    if (scan_peek(p) != '[') goto bad;
    p->i++;
    p->bOpen = 1;
    if (scan_peek(p) == ']') return SQLITE_DONE;
  } else {
    c = scan_peek(p);
    if (c == ']') return SQLITE_DONE;
    if (c != ',') goto bad;
    p->i++;
  }
  if (scan_peek(p) != '[') goto bad;
  p->i++;
  if (scan_peek(p) != ']') {
    for (;;) {
      const char *z = NULL;
      size_t n = 0;
      c = scan_peek(p);
      if (c == '"' ? !scan_string(p, &z, &n) : !scan_bare(p, &z, &n)) goto bad;
      if (iCol < nCol) {
        azVal[iCol] = z;
        anVal[iCol] = n;
        iCol++;
      }
      if (nVal < INT32_MAX) nVal++;
      c = scan_peek(p);
      if (c == ']') break;
      if (c != ',') goto bad;
      p->i++;
    }
  }
  p->i++; /* the row's ']' */
  if (pnVal) *pnVal = nVal;
  for (; iCol < nCol; iCol++) {
    azVal[iCol] = NULL; /* short row: NULLs */
    anVal[iCol] = 0;
  }
  return SQLITE_ROW;
bad:
  dbx_error_set(pErr, SQLITE_ERROR,
                "the chunk is not a JSON array of rows (at byte %zu); run "
                "the query again",
                p->i);
  p->i = p->n; /* later calls fail too */
  p->bOpen = 1;
  return SQLITE_ERROR;
}

/* ---------------------------------------------------------------------
** The reader of result chunks
*/

struct DbxResultReader {
  DbxColumn *aCol;    /* owned; the result schema */
  int nCol;           /* entries in aCol */
  const char **azVal; /* owned; nCol values of the current row */
  size_t *anVal;      /* owned; their lengths */
  DbxBuf *aScratch;   /* owned; nCol buffers for converted cell bytes */
  DbxRowScan scan;    /* over the rows of the current chunk, when bScan */
  int bScan;          /* a chunk is current */
  int bRow;           /* a row is current */
};

/* See result.h. */
int dbx_result_reader_new(const cJSON *pSchema, DbxResultReader **ppOut,
                          DbxError *pErr) {
  DbxResultReader *p;
  int rc;
  *ppOut = NULL;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  rc = dbx_result_columns(pSchema, &p->aCol, &p->nCol, pErr);
  if (rc == SQLITE_OK && p->nCol > 0) {
    p->azVal = sqlite3_malloc64(sizeof(char *) * (size_t)p->nCol);
    p->anVal = sqlite3_malloc64(sizeof(size_t) * (size_t)p->nCol);
    p->aScratch = sqlite3_malloc64(sizeof(DbxBuf) * (size_t)p->nCol);
    if (p->azVal == NULL || p->anVal == NULL || p->aScratch == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    } else {
      memset(p->aScratch, 0, sizeof(DbxBuf) * (size_t)p->nCol);
    }
  }
  if (rc) {
    dbx_result_reader_free(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

void dbx_result_reader_free(DbxResultReader *p) {
  int i;
  if (p == NULL) return;
  for (i = 0; p->aScratch && i < p->nCol; i++)
    dbx_buf_free(&p->aScratch[i]);
  sqlite3_free(p->aScratch);
  sqlite3_free((void *)p->azVal);
  sqlite3_free(p->anVal);
  dbx_result_columns_free(p->aCol, p->nCol);
  sqlite3_free(p);
}

void dbx_result_reader_feed(DbxResultReader *p, char *z, size_t n) {
  dbx_rowscan_init(&p->scan, z, n);
  p->bScan = 1;
  p->bRow = 0;
}

int dbx_result_reader_next(DbxResultReader *p, int *pnVal, DbxError *pErr) {
  int rc;
  p->bRow = 0;
  *pnVal = 0;
  if (!p->bScan) return SQLITE_DONE;
  rc = dbx_rowscan_next(&p->scan, p->nCol, p->azVal, p->anVal, pnVal, pErr);
  if (rc == SQLITE_ROW) {
    p->bRow = 1;
  } else {
    p->bScan = 0;
  }
  return rc;
}

int dbx_result_reader_cell(DbxResultReader *p, int iCol, DbxCell *pCell,
                           DbxError *pErr) {
  if (!p->bRow || iCol < 0 || iCol >= p->nCol) {
    memset(pCell, 0, sizeof(*pCell));
    pCell->eType = DBX_CELL_NULL;
    return dbx_error_set(pErr, SQLITE_RANGE, "no such result column %d", iCol);
  }
  return dbx_result_decode_text(&p->aCol[iCol], p->azVal[iCol], p->anVal[iCol],
                                &p->aScratch[iCol], pCell, pErr);
}

int dbx_result_reader_column_count(const DbxResultReader *p) {
  return p->nCol;
}

const DbxColumn *dbx_result_reader_column(const DbxResultReader *p, int iCol) {
  return iCol >= 0 && iCol < p->nCol ? &p->aCol[iCol] : NULL;
}
