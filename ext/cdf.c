/*
** cdf.c: reading a Delta table's Change Data Feed (see cdf.h).
**
**   DESCRIBE HISTORY `main`.`default`.`users` LIMIT 1      -> version 7
**   SELECT `id`, `_commit_version` FROM
**     table_changes('`main`.`default`.`users`', 3, 7)
**    WHERE `_change_type` = :p0
**
** The range comes from the constraints on _commit_version and
** _commit_timestamp (dbx_cdf_range_add), always as a superset of what
** SQLite keeps: the same constraints also go into the WHERE clause the
** usual way (pushdown.c), so the answer never depends on how Databricks
** maps a timestamp to a version. Errors of the change feed are rewritten
** into one line that names the way out (dbx_cdf_error).
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cdf.h"
#include "sqlgen.h"

/* ---------------------------------------------------------------------
** Ranges
*/

void dbx_cdf_range_init(DbxCdfRange *p) {
  memset(p, 0, sizeof(*p));
  p->iStart = DBX_CDF_NONE;
  p->iEnd = DBX_CDF_NONE;
}

/* Raises the start to iLo (0 or more). */
static void range_lo(DbxCdfRange *p, int64_t iLo) {
  if (iLo < 0) iLo = 0;
  if (p->iStart == DBX_CDF_NONE || iLo > p->iStart) p->iStart = iLo;
}

/* Lowers the end to iHi; below 0 nothing can match. */
static void range_hi(DbxCdfRange *p, int64_t iHi) {
  if (iHi < 0) {
    p->bEmpty = 1;
    return;
  }
  if (p->iEnd == DBX_CDF_NONE || iHi < p->iEnd) p->iEnd = iHi;
}

/* The largest double below 2^63, so that a conversion cannot overflow. */
#define CDF_MAX_REAL 9.2e18

/* A version constraint: versions are integers 0 or more. */
static void range_version(DbxCdfRange *p, DbxOp eOp, const DbxValue *v) {
  double rLo, rHi;
  int i, nUsed = 0;
  int64_t iMin = 0, iMax = 0;
  if (eOp == DBX_OP_IN) {
    for (i = 0; i < v->nList; i++) {
      const DbxValue *m = &v->aList[i];
      int64_t x;
      if (m->eType == DBX_VAL_INT) {
        x = m->i;
      } else if (m->eType == DBX_VAL_REAL && m->r == floor(m->r) &&
                 fabs(m->r) < CDF_MAX_REAL) {
        x = (int64_t)m->r;
      } else {
        continue; /* NULL, text, a fraction: never equals a version */
      }
      if (nUsed++ == 0 || x < iMin) iMin = x;
      if (nUsed == 1 || x > iMax) iMax = x;
    }
    if (nUsed == 0) {
      if (v->nList > 0) p->bEmpty = 1;
      return;
    }
    range_lo(p, iMin);
    range_hi(p, iMax);
    return;
  }
  if (v->eType == DBX_VAL_INT) {
    int64_t x = v->i;
    switch (eOp) {
    case DBX_OP_EQ:
    case DBX_OP_IS:
      range_lo(p, x);
      range_hi(p, x);
      break;
    case DBX_OP_GT:
      if (x == INT64_MAX)
        p->bEmpty = 1;
      else
        range_lo(p, x + 1);
      break;
    case DBX_OP_GE:
      range_lo(p, x);
      break;
    case DBX_OP_LT:
      range_hi(p, x == INT64_MIN ? -1 : x - 1);
      break;
    case DBX_OP_LE:
      range_hi(p, x);
      break;
    default:
      break;
    }
    return;
  }
  if (v->eType != DBX_VAL_REAL || isnan(v->r)) return;
  /* a real bound: the whole versions it lets through */
  switch (eOp) {
  case DBX_OP_EQ:
  case DBX_OP_IS:
    rLo = ceil(v->r);
    rHi = floor(v->r);
    break;
  case DBX_OP_GT:
    rLo = floor(v->r) + 1;
    rHi = NAN;
    break;
  case DBX_OP_GE:
    rLo = ceil(v->r);
    rHi = NAN;
    break;
  case DBX_OP_LT:
    rLo = NAN;
    rHi = ceil(v->r) - 1;
    break;
  case DBX_OP_LE:
    rLo = NAN;
    rHi = floor(v->r);
    break;
  default:
    return;
  }
  if (!isnan(rLo)) {
    if (rLo > CDF_MAX_REAL)
      p->bEmpty = 1;
    else if (rLo > 0)
      range_lo(p, (int64_t)rLo);
  }
  if (!isnan(rHi)) {
    if (rHi < 0)
      p->bEmpty = 1;
    else if (rHi < CDF_MAX_REAL)
      range_hi(p, (int64_t)rHi);
  }
}

/* A timestamp constraint: only texts that pushdown.c binds for a
** TIMESTAMP column (a UTC time as result.c writes one, or a bare day,
** meaning its midnight) narrow the range. */
static void range_timestamp(DbxCdfRange *p, DbxOp eOp, const DbxValue *v) {
  char zTs[40];
  if (eOp != DBX_OP_EQ && eOp != DBX_OP_IS && eOp != DBX_OP_GT &&
      eOp != DBX_OP_GE && eOp != DBX_OP_LT && eOp != DBX_OP_LE) {
    return;
  }
  if (v->eType != DBX_VAL_TEXT || v->n >= 30 ||
      dbx_pushdown_judge(DBX_COL_TIMESTAMP, eOp, 1, v) == DBX_JUDGE_SKIP) {
    return;
  }
  snprintf(zTs, sizeof(zTs), "%.*s%s", v->n, v->z,
           v->n == 10 ? " 00:00:00" : "");
  /* Canonical texts order as the times do. Both ends are inclusive, a
  ** superset of > and <. */
  if (eOp != DBX_OP_LT && eOp != DBX_OP_LE) {
    if (p->zStartTs[0] == 0 || strcmp(zTs, p->zStartTs) > 0) {
      memcpy(p->zStartTs, zTs, sizeof(zTs));
    }
  }
  if (eOp != DBX_OP_GT && eOp != DBX_OP_GE) {
    if (p->zEndTs[0] == 0 || strcmp(zTs, p->zEndTs) < 0) {
      memcpy(p->zEndTs, zTs, sizeof(zTs));
    }
  }
}

void dbx_cdf_range_add(DbxCdfRange *p, int bTimestamp, DbxOp eOp,
                       const DbxValue *pVal) {
  if (pVal == NULL) return;
  if (bTimestamp)
    range_timestamp(p, eOp, pVal);
  else
    range_version(p, eOp, pVal);
}

int dbx_cdf_range_settle(DbxCdfRange *p, const DbxCdfLatest *pLatest,
                         int64_t iFirst) {
  const char *zLast = pLatest->zTimestamp;
  if (p->bEmpty) return 0;
  if (p->iStart == DBX_CDF_NONE && p->zStartTs[0] == 0) p->iStart = iFirst;
  if (p->iStart != DBX_CDF_NONE) p->zStartTs[0] = 0;
  if (p->iStart != DBX_CDF_NONE && p->iStart > pLatest->iVersion) return 0;
  if (p->zStartTs[0] && zLast[0] && strcmp(p->zStartTs, zLast) > 0) return 0;
  if (p->iEnd != DBX_CDF_NONE) {
    p->zEndTs[0] = 0;
    if (p->iEnd > pLatest->iVersion) p->iEnd = pLatest->iVersion;
  } else if (p->zEndTs[0] == 0 || (zLast[0] && strcmp(p->zEndTs, zLast) >= 0)) {
    /* an end at or after the latest commit is the latest version */
    p->zEndTs[0] = 0;
    p->iEnd = pLatest->iVersion;
  }
  if (p->iStart != DBX_CDF_NONE && p->iEnd != DBX_CDF_NONE &&
      p->iEnd < p->iStart) {
    return 0;
  }
  if (p->zStartTs[0] && p->zEndTs[0] && strcmp(p->zStartTs, p->zEndTs) > 0) {
    return 0;
  }
  return 1;
}

/* ---------------------------------------------------------------------
** SQL text
*/

/* Appends `c`.`s`.`t`. */
static void table_ident(DbxBuf *pBuf, const DbxCdfTable *pT) {
  dbx_sql_ident(pBuf, pT->zCatalog);
  dbx_buf_append(pBuf, ".", 1);
  dbx_sql_ident(pBuf, pT->zSchema);
  dbx_buf_append(pBuf, ".", 1);
  dbx_sql_ident(pBuf, pT->zName);
}

/* Appends a timestamp bound as a UTC literal: 'YYYY-MM-DD HH:MM:SS[.f]Z'.
** Only digits and the separators of that form pass. */
static int ts_literal(DbxBuf *pBuf, const char *zTs, DbxError *pErr) {
  char z[48];
  size_t n = strlen(zTs);
  if (n < 10 || n > 29 || strspn(zTs, "0123456789-: .") != n) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "a change feed time bound must read "
                         "'YYYY-MM-DD HH:MM:SS' (UTC)");
  }
  snprintf(z, sizeof(z), "%sZ", zTs);
  return dbx_sql_string(pBuf, z, strlen(z), pErr);
}

int dbx_cdf_source(DbxBuf *pBuf, const DbxCdfTable *pT, const DbxCdfRange *p,
                   DbxError *pErr) {
  DbxBuf name = {0};
  size_t nMark = pBuf->n;
  int rc;
  table_ident(&name, pT);
  if (name.rc) {
    dbx_buf_free(&name);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  dbx_buf_appendf(pBuf, "table_changes(");
  rc = dbx_sql_string(pBuf, name.z, name.n, pErr);
  dbx_buf_free(&name);
  if (rc == SQLITE_OK) {
    dbx_buf_appendf(pBuf, ", ");
    if (p->iStart != DBX_CDF_NONE) {
      dbx_buf_appendf(pBuf, "%" PRId64, p->iStart);
    } else if (p->zStartTs[0]) {
      rc = ts_literal(pBuf, p->zStartTs, pErr);
    } else {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "internal error: a change read without a start");
    }
  }
  if (rc == SQLITE_OK && p->iEnd != DBX_CDF_NONE) {
    dbx_buf_appendf(pBuf, ", %" PRId64, p->iEnd);
  } else if (rc == SQLITE_OK && p->zEndTs[0]) {
    dbx_buf_appendf(pBuf, ", ");
    rc = ts_literal(pBuf, p->zEndTs, pErr);
  }
  dbx_buf_appendf(pBuf, ")");
  if (rc == SQLITE_OK && pBuf->rc) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  if (rc && pBuf->z) {
    pBuf->n = nMark;
    pBuf->z[nMark] = 0;
  }
  return rc;
}

void dbx_cdf_enable_sql(DbxBuf *pBuf, const DbxCdfTable *pT) {
  dbx_buf_appendf(pBuf, "ALTER TABLE ");
  table_ident(pBuf, pT);
  dbx_buf_appendf(pBuf,
                  " SET TBLPROPERTIES (delta.enableChangeDataFeed = true)");
}

void dbx_cdf_history_sql(DbxBuf *pBuf, const DbxCdfTable *pT, int nLimit) {
  dbx_buf_appendf(pBuf, "DESCRIBE HISTORY ");
  table_ident(pBuf, pT);
  if (nLimit > 0) dbx_buf_appendf(pBuf, " LIMIT %d", nLimit);
}

/* ---------------------------------------------------------------------
** History
*/

void dbx_cdf_history_init(DbxCdfHistory *p) {
  memset(p, 0, sizeof(*p));
  p->iLatest = DBX_CDF_NONE;
  p->iEarliest = DBX_CDF_NONE;
  p->iFirstCdf = DBX_CDF_NONE;
}

/* Whether zParams names delta.enableChangeDataFeed; *pbOn says whether the
** value after the name is true. The parameters come as text of a map,
** whose values may themselves be JSON ({"properties": "{\"delta...\":
** \"true\"}"}), so quotes, backslashes, ':' and '=' are skipped. */
static int params_cdf(const char *zParams, int *pbOn) {
  static const char zKey[] = "delta.enableChangeDataFeed";
  const char *z = zParams ? strcasestr(zParams, zKey) : NULL;
  *pbOn = 0;
  if (z == NULL) return 0;
  z += sizeof(zKey) - 1;
  z += strspn(z, "\"\\': =");
  *pbOn = sqlite3_strnicmp(z, "true", 4) == 0;
  return 1;
}

void dbx_cdf_history_row(DbxCdfHistory *p, int64_t iVersion,
                         const char *zOperation, const char *zParams) {
  const char *zOp = zOperation ? zOperation : "";
  int bOn = 0, bDecides = 0;
  if (p->nRows++ == 0 || iVersion > p->iLatest) p->iLatest = iVersion;
  if (p->iEarliest == DBX_CDF_NONE || iVersion < p->iEarliest) {
    p->iEarliest = iVersion;
  }
  if (p->bDecided) return;
  if (strcasestr(zOp, "UNSET TBLPROPERTIES")) {
    bDecides = params_cdf(zParams, &bOn);
    bOn = 0;
  } else if (strcasestr(zOp, "SET TBLPROPERTIES")) {
    bDecides = params_cdf(zParams, &bOn);
  } else if (strcasestr(zOp, "CREATE") || strcasestr(zOp, "REPLACE")) {
    /* a new or replaced table has the properties it was given */
    params_cdf(zParams, &bOn);
    bDecides = 1;
  }
  if (bDecides) {
    p->bDecided = 1;
    p->iFirstCdf = bOn ? iVersion : DBX_CDF_NONE;
  } else {
    p->iFirstCdf = p->iEarliest; /* no newer commit said otherwise */
  }
}

/* ---------------------------------------------------------------------
** Errors
*/

/* Error classes of the change feed, by what they mean. */
static const char *const azMissing[] = {"DELTA_MISSING_CHANGE_DATA",
                                        "DELTA_CHANGE_TABLE_FEED_DISABLED"};
static const char *const azGone[] = {
    "DELTA_CHANGE_DATA_FILE_NOT_FOUND",
    "DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION", "DELTA_FILE_NOT_FOUND",
    "DELTA_LOG_FILE_NOT_FOUND", "DELTA_FILE_NOT_FOUND_DETAILED"};
static const char *const azSchema[] = {
    "DELTA_CHANGE_DATA_FEED_INCOMPATIBLE_DATA_SCHEMA",
    "DELTA_CHANGE_DATA_FEED_INCOMPATIBLE_SCHEMA_CHANGE"};

/* Whether zCode is one of the n classes of az. */
static int code_in(const char *zCode, const char *const *az, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (strcmp(zCode, az[i]) == 0) return 1;
  }
  return 0;
}
#define CODE_IN(z, a) code_in((z), (a), DBX_ARRAY_SIZE(a))

/* The range as words: "3 to 7", "from 2024-01-01 00:00:00 to 7". */
static void range_text(char *z, size_t n, const DbxCdfRange *p) {
  char zA[48], zB[48];
  if (p->iStart != DBX_CDF_NONE)
    snprintf(zA, sizeof(zA), "%" PRId64, p->iStart);
  else
    snprintf(zA, sizeof(zA), "from %s", p->zStartTs[0] ? p->zStartTs : "0");
  if (p->iEnd != DBX_CDF_NONE)
    snprintf(zB, sizeof(zB), "%" PRId64, p->iEnd);
  else
    snprintf(zB, sizeof(zB), "%s", p->zEndTs[0] ? p->zEndTs : "the latest");
  snprintf(z, n, "%s to %s", zA, zB);
}

int dbx_cdf_unreadable(const DbxError *pErr) {
  return pErr->rc != SQLITE_OK &&
         (CODE_IN(pErr->zCode, azMissing) || CODE_IN(pErr->zCode, azGone) ||
          CODE_IN(pErr->zCode, azSchema));
}

void dbx_cdf_error(DbxError *pErr, const DbxCdfTable *pT,
                   const DbxCdfRange *pRange, const DbxCdfHistory *pHist) {
  DbxError old;
  DbxBuf alter = {0};
  char zName[400], zRange[120];
  int64_t iFrom;
  if (pErr == NULL || pErr->rc == SQLITE_OK) return;
  if (!CODE_IN(pErr->zCode, azMissing) && !CODE_IN(pErr->zCode, azGone) &&
      !CODE_IN(pErr->zCode, azSchema)) {
    return;
  }
  old = *pErr;
  snprintf(zName, sizeof(zName), "%s.%s.%s", pT->zCatalog, pT->zSchema,
           pT->zName);
  range_text(zRange, sizeof(zRange), pRange);
  dbx_cdf_enable_sql(&alter, pT);
  dbx_error_clear(pErr);
  if (alter.rc) {
    dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  } else if (CODE_IN(old.zCode, azMissing) &&
             (pHist == NULL || pHist->iFirstCdf == DBX_CDF_NONE ||
              !pHist->bDecided)) {
    dbx_error_set_api(pErr, old.rc, old.httpStatus, old.zCode,
                      "the change data feed of %s is not enabled for "
                      "versions %s: run %s to record changes from now on, "
                      "and read only versions after that",
                      zName, zRange, alter.z);
  } else if (CODE_IN(old.zCode, azMissing)) {
    iFrom = pHist->iFirstCdf > pHist->iEarliest ? pHist->iFirstCdf
                                                : pHist->iEarliest;
    dbx_error_set_api(pErr, old.rc, old.httpStatus, old.zCode,
                      "versions %s of %s include some without change data "
                      "(the change data feed is on from version %" PRId64
                      "): read from version %" PRId64
                      " on (_commit_version >= %" PRId64
                      "), or resync the local copy in full (dbx_sync with "
                      "a later start)",
                      zRange, zName, iFrom, iFrom, iFrom);
  } else if (CODE_IN(old.zCode, azGone) && pHist &&
             pHist->iEarliest != DBX_CDF_NONE) {
    dbx_error_set_api(pErr, old.rc, old.httpStatus, old.zCode,
                      "the change data of %s before version %" PRId64
                      " is gone (vacuumed or past the log retention), so "
                      "versions %s cannot be read: read from version %" PRId64
                      " on (_commit_version >= %" PRId64
                      "), or resync the local copy in full (dbx_sync with "
                      "a later start)",
                      zName, pHist->iEarliest, zRange, pHist->iEarliest,
                      pHist->iEarliest);
  } else if (CODE_IN(old.zCode, azGone)) {
    dbx_error_set_api(pErr, old.rc, old.httpStatus, old.zCode,
                      "the change data of %s for versions %s is gone "
                      "(vacuumed or past the log retention): read a later "
                      "range, or resync the local copy in full (dbx_sync "
                      "with a later start)",
                      zName, zRange);
  } else {
    dbx_error_set_api(pErr, old.rc, old.httpStatus, old.zCode,
                      "the schema of %s changed within versions %s (CREATE "
                      "OR REPLACE with other columns), and the change data "
                      "feed is not read across that: read from a later "
                      "version, or resync the local copy in full (dbx_sync "
                      "with a later start)",
                      zName, zRange);
  }
  dbx_buf_free(&alter);
  memcpy(pErr->zStatement, old.zStatement, sizeof(old.zStatement));
  pErr->bUncertain = old.bUncertain;
}

/* ---------------------------------------------------------------------
** Remote calls
*/

/* The index of the result column named zName (ASCII case ignored), or -1. */
static int rows_column(DbxRows *pRows, const char *zName) {
  int i;
  for (i = 0; i < dbx_rows_column_count(pRows); i++) {
    const DbxColumn *c = dbx_rows_column(pRows, i);
    if (c->zName && sqlite3_stricmp(c->zName, zName) == 0) return i;
  }
  return -1;
}

/* Runs DESCRIBE HISTORY (nLimit rows, 0: all) and finds its version,
** timestamp, operation and operationParameters columns (-1 when absent;
** version must be there). */
static int history_run(DbxClient *pClient, const DbxCdfTable *pT, int nLimit,
                       const DbxStmtOptions *pOpt, DbxRows **ppRows,
                       int aiCol[4], DbxError *pErr) {
  static const char *const azName[4] = {"version", "timestamp", "operation",
                                        "operationParameters"};
  DbxStmtOptions o = *pOpt;
  DbxBuf sql = {0};
  int i, rc;
  *ppRows = NULL;
  dbx_cdf_history_sql(&sql, pT, nLimit);
  if (sql.rc) {
    dbx_buf_free(&sql);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  o.eDisposition = DBX_DISP_INLINE;
  o.nRowLimit = 0;
  rc = dbx_rows_execute(pClient, sql.z, NULL, 0, &o, ppRows, pErr);
  dbx_buf_free(&sql);
  if (rc) return rc;
  for (i = 0; i < 4; i++)
    aiCol[i] = rows_column(*ppRows, azName[i]);
  if (aiCol[0] < 0) {
    dbx_rows_free(*ppRows);
    *ppRows = NULL;
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "DESCRIBE HISTORY of %s.%s.%s has no version column",
                         pT->zCatalog, pT->zSchema, pT->zName);
  }
  return SQLITE_OK;
}

/* The version of the current history row: a whole number 0 or more. */
static int history_version(DbxRows *pRows, int iCol, const DbxCdfTable *pT,
                           int64_t *piOut, DbxError *pErr) {
  DbxCell c;
  int rc = dbx_rows_cell(pRows, iCol, &c, pErr);
  if (rc) return rc;
  if (c.eType != DBX_CELL_INTEGER || c.iVal < 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "DESCRIBE HISTORY of %s.%s.%s gave a version that "
                         "is not a whole number 0 or more",
                         pT->zCatalog, pT->zSchema, pT->zName);
  }
  *piOut = c.iVal;
  return SQLITE_OK;
}

/* Text of a cell of the current row into z (n bytes), "" for NULL. */
static int history_text(DbxRows *pRows, int iCol, char *z, size_t n,
                        DbxError *pErr) {
  DbxCell c;
  int rc;
  z[0] = 0;
  if (iCol < 0) return SQLITE_OK;
  rc = dbx_rows_cell(pRows, iCol, &c, pErr);
  if (rc == SQLITE_OK && c.eType == DBX_CELL_TEXT) {
    snprintf(z, n, "%.*s", (int)(c.n < n ? c.n : n - 1), c.z);
  }
  return rc;
}

int dbx_cdf_latest(DbxClient *pClient, const DbxCdfTable *pT,
                   const DbxStmtOptions *pOpt, DbxCdfLatest *pOut,
                   DbxError *pErr) {
  DbxRows *pRows = NULL;
  int aiCol[4], rc;
  memset(pOut, 0, sizeof(*pOut));
  rc = history_run(pClient, pT, 1, pOpt, &pRows, aiCol, pErr);
  if (rc == SQLITE_OK) {
    rc = dbx_rows_next(pRows, pErr);
    if (rc == SQLITE_DONE) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "DESCRIBE HISTORY of %s.%s.%s returned no version",
                         pT->zCatalog, pT->zSchema, pT->zName);
    } else if (rc == SQLITE_ROW) {
      rc = history_version(pRows, aiCol[0], pT, &pOut->iVersion, pErr);
      if (rc == SQLITE_OK) {
        rc = history_text(pRows, aiCol[1], pOut->zTimestamp,
                          sizeof(pOut->zTimestamp), pErr);
      }
    }
  }
  dbx_rows_free(pRows);
  return rc;
}

int dbx_cdf_history(DbxClient *pClient, const DbxCdfTable *pT,
                    const DbxStmtOptions *pOpt, DbxCdfHistory *pOut,
                    DbxError *pErr) {
  DbxRows *pRows = NULL;
  char zOp[128], zParams[2048];
  int aiCol[4], rc;
  dbx_cdf_history_init(pOut);
  rc = history_run(pClient, pT, 0, pOpt, &pRows, aiCol, pErr);
  while (rc == SQLITE_OK && (rc = dbx_rows_next(pRows, pErr)) == SQLITE_ROW) {
    int64_t iVersion = 0;
    rc = history_version(pRows, aiCol[0], pT, &iVersion, pErr);
    if (rc == SQLITE_OK)
      rc = history_text(pRows, aiCol[2], zOp, sizeof(zOp), pErr);
    if (rc == SQLITE_OK)
      rc = history_text(pRows, aiCol[3], zParams, sizeof(zParams), pErr);
    if (rc == SQLITE_OK) dbx_cdf_history_row(pOut, iVersion, zOp, zParams);
  }
  if (rc == SQLITE_DONE) {
    rc = pOut->nRows ? SQLITE_OK
                     : dbx_error_set(pErr, SQLITE_ERROR,
                                     "DESCRIBE HISTORY of %s.%s.%s returned "
                                     "no version",
                                     pT->zCatalog, pT->zSchema, pT->zName);
  }
  dbx_rows_free(pRows);
  return rc;
}

/* Runs one attempt over the settled range r. */
static int read_once(DbxClient *pClient, const DbxCdfTable *pT,
                     const DbxCdfRange *r, DbxCdfSqlFn xSql, void *pArg,
                     const DbxParam *aParam, int nParam,
                     const DbxStmtOptions *pOpt, DbxRows **ppRows,
                     DbxError *pErr) {
  DbxBuf src = {0};
  char *zSql;
  int rc = dbx_cdf_source(&src, pT, r, pErr);
  if (rc) {
    dbx_buf_free(&src);
    return rc;
  }
  zSql = xSql ? xSql(pArg, src.z) : sqlite3_mprintf("SELECT * FROM %s", src.z);
  dbx_buf_free(&src);
  if (zSql == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  rc = dbx_rows_execute(pClient, zSql, aParam, nParam, pOpt, ppRows, pErr);
  sqlite3_free(zSql);
  return rc;
}

int dbx_cdf_read(DbxClient *pClient, const DbxCdfTable *pT,
                 const DbxCdfRange *pRange, DbxCdfSqlFn xSql, void *pArg,
                 const DbxParam *aParam, int nParam, const DbxStmtOptions *pOpt,
                 DbxRows **ppRows, DbxCdfRange *pSettled, DbxError *pErr) {
  DbxCdfLatest latest;
  DbxCdfHistory hist;
  DbxCdfRange r = *pRange;
  DbxError e;
  int rc, bHist = 0, bEmpty = 0, iTry;
  *ppRows = NULL;
  rc = dbx_cdf_latest(pClient, pT, pOpt, &latest, pErr);
  if (rc) return rc;
  if (!dbx_cdf_range_settle(&r, &latest, 0)) {
    if (pSettled) *pSettled = r;
    return SQLITE_OK;
  }
  for (iTry = 0; iTry < 2; iTry++) {
    int64_t iFrom;
    dbx_error_clear(&e);
    rc = read_once(pClient, pT, &r, xSql, pArg, aParam, nParam, pOpt, ppRows,
                   &e);
    if (rc == SQLITE_OK) break;
    /* our own bounds met in the wrong order: the range holds nothing */
    if (strcmp(e.zCode, "DELTA_INVALID_CDC_RANGE") == 0) {
      bEmpty = 1;
      break;
    }
    if (!CODE_IN(e.zCode, azMissing) && !CODE_IN(e.zCode, azGone)) break;
    if (!bHist) {
      DbxError eHist;
      dbx_error_clear(&eHist);
      bHist = dbx_cdf_history(pClient, pT, pOpt, &hist, &eHist) == SQLITE_OK;
    }
    if (!bHist || iTry > 0) break;
    /* an end time before the first commit there ever was: nothing */
    if (strcmp(e.zCode, "DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION") == 0 &&
        hist.iEarliest == 0 && pRange->zEndTs[0]) {
      bEmpty = 1;
      break;
    }
    if (pRange->iStart != DBX_CDF_NONE) break; /* the caller's start */
    iFrom = hist.iFirstCdf != DBX_CDF_NONE && hist.iFirstCdf > hist.iEarliest
                ? hist.iFirstCdf
                : hist.iEarliest;
    if (hist.iFirstCdf == DBX_CDF_NONE && hist.bDecided) break; /* off */
    if (r.iStart != DBX_CDF_NONE && iFrom <= r.iStart) break;
    r = *pRange;
    r.iStart = iFrom;
    if (!dbx_cdf_range_settle(&r, &latest, iFrom)) {
      bEmpty = 1;
      break;
    }
  }
  if (pSettled) *pSettled = r;
  if (bEmpty) {
    dbx_rows_free(*ppRows);
    *ppRows = NULL;
    return SQLITE_OK;
  }
  if (rc) {
    dbx_cdf_error(&e, pT, &r, bHist ? &hist : NULL);
    if (pErr && pErr->rc == SQLITE_OK) *pErr = e;
  }
  return rc;
}
