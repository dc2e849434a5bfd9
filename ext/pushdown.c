/*
** pushdown.c: from what SQLite asks of a `databricks` virtual table scan to
** the Databricks SQL that answers it.
**
**   SELECT * FROM remote WHERE id IN (1,2) AND name LIKE 'a%'
**     ORDER BY id LIMIT 10
**
** becomes, when every term can be answered remotely,
**
**   SELECT `id`, `name` FROM `main`.`default`.`t`
**   WHERE `id` IN (:p0, :p1) AND `name` ILIKE :p2 ESCAPE '!'
**   ORDER BY `id` ASC NULLS FIRST
**
** with typed parameters. The governing rule: pushdown never changes the
** answer SQLite would give. Where Databricks compares differently (LIKE is
** case-sensitive there, NaN is a value there but NULL here, CHAR pads,
** collations, numbers against text) a term is either translated exactly,
** pushed as a superset that SQLite re-checks, or left to SQLite. LIMIT and
** OFFSET are only pushed when every WHERE term is exact and the ORDER BY is
** consumed (vtab.c decides that from dbx_pushdown_judge's verdicts).
**
** Pure: no sqlite3 values and no network; the SQLite allocator only.
*/
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pushdown.h"

/* ---------------------------------------------------------------------
** Column classes
*/

DbxColClass dbx_pushdown_class(const char *zTypeText, const char *zTypeName) {
  const char *zType = (zTypeText && zTypeText[0]) ? zTypeText : zTypeName;
  const char *zRest;
  const DbxSqlType *pType = dbx_sql_type_head(zType, &zRest);
  if (pType == NULL) return DBX_COL_OTHER;
  if (pType->eClass == DBX_COL_DECIMAL) {
    /* Only a DECIMAL that result.c delivers as REAL compares as a number. */
    long nPrec = DBX_SQL_DECIMAL_PRECISION;
    while (*zRest == ' ')
      zRest++;
    if (*zRest == '(') nPrec = strtol(zRest + 1, NULL, 10);
    return nPrec >= 1 && nPrec <= 1000 && dbx_sql_decimal_real((int)nPrec)
               ? DBX_COL_DECIMAL
               : DBX_COL_OTHER;
  }
  if (pType->eClass == DBX_COL_TEXT) {
    /* A non-binary collation (UTF8_LCASE ...) compares differently. */
    if (strcasestr(zRest, "COLLATE") && !strcasestr(zRest, "UTF8_BINARY")) {
      return DBX_COL_OTHER;
    }
  }
  return pType->eClass;
}

/* ---------------------------------------------------------------------
** Judging terms
*/

/* Valid UTF-8 without NUL: anything else cannot travel as a JSON string. */
static int text_ok(const char *z, int n) {
  int i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)z[i];
    int k, nCont;
    if (c == 0) return 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF)
      nCont = 1;
    else if (c >= 0xE0 && c <= 0xEF)
      nCont = 2;
    else if (c >= 0xF0 && c <= 0xF4)
      nCont = 3;
    else
      return 0;
    if (i + nCont >= n) return 0;
    for (k = 1; k <= nCont; k++) {
      if (((unsigned char)z[i + k] & 0xC0) != 0x80) return 0;
    }
    i += nCont + 1;
  }
  return 1;
}

/* A 'YYYY-MM-DD' text naming a real day (what a DATE column delivers). */
static int date_ok(const char *z, int n) {
  static const int aDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int i, y, m, d;
  if (n != 10 || z[4] != '-' || z[7] != '-') return 0;
  for (i = 0; i < 10; i++) {
    if (i != 4 && i != 7 && !isdigit((unsigned char)z[i])) return 0;
  }
  y = atoi(z);
  m = (z[5] - '0') * 10 + (z[6] - '0');
  d = (z[8] - '0') * 10 + (z[9] - '0');
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > aDays[m - 1]) return 0;
  if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
    return 0;
  }
  return 1;
}

/* Whether a class holds timestamps. */
static int is_ts(DbxColClass e) {
  return e == DBX_COL_TIMESTAMP || e == DBX_COL_TIMESTAMP_NTZ;
}

/*
** A timestamp text exactly as result.c writes one: 'YYYY-MM-DD HH:MM:SS'
** with an optional fraction that does not end in 0. Only such a text
** compares with the column's values the way the times compare.
*/
static int ts_canonical(const char *z, int n) {
  int i;
  if (n < 19 || !date_ok(z, 10) || z[10] != ' ' || z[13] != ':' ||
      z[16] != ':') {
    return 0;
  }
  for (i = 11; i < 19; i++) {
    if (i != 13 && i != 16 && !isdigit((unsigned char)z[i])) return 0;
  }
  if (atoi(z + 11) > 23 || atoi(z + 14) > 59 || atoi(z + 17) > 59) return 0;
  if (n == 19) return 1;
  if (z[19] != '.' || n == 20 || n > 29 || z[n - 1] == '0') return 0;
  for (i = 20; i < n; i++) {
    if (!isdigit((unsigned char)z[i])) return 0;
  }
  return 1;
}

/* Whether v is a bare 'YYYY-MM-DD' compared with a timestamp column: every
** value of that day is longer, so sorts after it. */
static int ts_day(DbxColClass eClass, const DbxValue *v) {
  return is_ts(eClass) && v->eType == DBX_VAL_TEXT && date_ok(v->z, v->n);
}

/* Whether v can be bound for a column of class eClass (one IN member or
** a scalar): the value's comparison with that column's values is the same
** remotely. NULL values are bindable (typed NULL parameters). */
static int value_bindable(DbxColClass eClass, const DbxValue *v) {
  switch (v->eType) {
  case DBX_VAL_NULL:
    return 1;
  case DBX_VAL_INT:
    if (eClass == DBX_COL_BOOL) return v->i == 0 || v->i == 1;
    return eClass == DBX_COL_INT || eClass == DBX_COL_DECIMAL ||
           eClass == DBX_COL_FLOAT;
  case DBX_VAL_REAL:
    return isfinite(v->r) &&
           (eClass == DBX_COL_INT || eClass == DBX_COL_DECIMAL ||
            eClass == DBX_COL_FLOAT);
  case DBX_VAL_TEXT:
    if (!text_ok(v->z, v->n)) return 0;
    if (eClass == DBX_COL_TEXT) return 1;
    if (eClass == DBX_COL_DATE) return date_ok(v->z, v->n);
    if (is_ts(eClass)) return ts_canonical(v->z, v->n);
    return 0; /* non-numeric text against a number: SQLite orders types */
  default:
    return 0;
  }
}

/* Whether an IN member that cannot be bound can simply be dropped, i.e. it
** never equals a value of the column. True for classes whose values are
** all numbers (affinity was applied) or all valid dates. */
static int member_droppable(DbxColClass eClass) {
  return eClass == DBX_COL_INT || eClass == DBX_COL_DECIMAL ||
         eClass == DBX_COL_FLOAT || eClass == DBX_COL_BOOL ||
         eClass == DBX_COL_DATE || is_ts(eClass);
}

DbxJudge dbx_pushdown_judge(DbxColClass eClass, DbxOp eOp, int bBinary,
                            const DbxValue *pVal) {
  switch (eOp) {
  case DBX_OP_ISNULL:
  case DBX_OP_NOTNULL:
    return DBX_JUDGE_EXACT; /* FLOAT spells out isnan() in the SQL */
  case DBX_OP_LIKE:
    /* ILIKE folds all of Unicode, SQLite only ASCII: a superset. */
    if (eClass != DBX_COL_TEXT) return DBX_JUDGE_SKIP;
    if (pVal == NULL || pVal->eType == DBX_VAL_NULL) return DBX_JUDGE_SUPERSET;
    if (pVal->eType == DBX_VAL_INT) return DBX_JUDGE_SUPERSET;
    if (pVal->eType == DBX_VAL_TEXT && text_ok(pVal->z, pVal->n)) {
      return DBX_JUDGE_SUPERSET;
    }
    return DBX_JUDGE_SKIP;
  case DBX_OP_LIMIT:
  case DBX_OP_OFFSET:
    return DBX_JUDGE_SKIP; /* decided by vtab.c, not per term */
  default:
    break;
  }
  if (eClass == DBX_COL_OTHER) return DBX_JUDGE_SKIP;
  if ((eClass == DBX_COL_TEXT || eClass == DBX_COL_DATE || is_ts(eClass)) &&
      !bBinary) {
    return DBX_JUDGE_SKIP;
  }
  if (eClass == DBX_COL_BOOL && eOp != DBX_OP_EQ && eOp != DBX_OP_NE &&
      eOp != DBX_OP_IS && eOp != DBX_OP_ISNOT && eOp != DBX_OP_IN) {
    return DBX_JUDGE_SKIP;
  }
  if (eOp == DBX_OP_IN) {
    int i;
    if (member_droppable(eClass)) return DBX_JUDGE_EXACT;
    /* TEXT: a member from a numeric-affinity subquery column would turn
    ** the comparison numeric, so only all-text lists are pushed. */
    if (pVal == NULL) return DBX_JUDGE_SUPERSET;
    for (i = 0; i < pVal->nList; i++) {
      if (!value_bindable(eClass, &pVal->aList[i])) return DBX_JUDGE_SKIP;
    }
    return DBX_JUDGE_SUPERSET;
  }
  if (pVal == NULL) {
    /* An unknown right side may be a column with numeric affinity: then
    ** SQLite compares '5' as the number 5, which sorts before every text,
    ** while Databricks compares bytes. Equality agrees either way (a number
    ** never equals a text); order does not. */
    if (eClass == DBX_COL_TEXT && eOp >= DBX_OP_LT && eOp <= DBX_OP_GE) {
      return DBX_JUDGE_SKIP;
    }
    return DBX_JUDGE_SUPERSET;
  }
  if (ts_day(eClass, pVal)) {
    /* ts >= 'D' and ts > 'D' both mean "on day D or later"; ts < 'D' and
    ** ts <= 'D' both "before day D"; no value equals 'D'. */
    return eOp >= DBX_OP_LT && eOp <= DBX_OP_GE ? DBX_JUDGE_EXACT
                                                : DBX_JUDGE_SKIP;
  }
  if (!value_bindable(eClass, pVal)) return DBX_JUDGE_SKIP;
  if (eClass == DBX_COL_FLOAT) {
    /* NaN (NULL here) is greater than every number and distinct from
    ** everything there: only these operators never let it through. */
    if (eOp == DBX_OP_EQ || eOp == DBX_OP_LT || eOp == DBX_OP_LE ||
        (eOp == DBX_OP_IS && pVal->eType != DBX_VAL_NULL)) {
      return DBX_JUDGE_EXACT;
    }
    return DBX_JUDGE_SUPERSET;
  }
  return DBX_JUDGE_EXACT;
}

int dbx_pushdown_orderable(DbxColClass eClass) {
  /* FLOAT: NaN sorts last there, NULL (first) here. */
  return eClass == DBX_COL_INT || eClass == DBX_COL_DECIMAL ||
         eClass == DBX_COL_BOOL || eClass == DBX_COL_TEXT ||
         eClass == DBX_COL_DATE || is_ts(eClass);
}

/* ---------------------------------------------------------------------
** Plans as idxStr: the shape of the remote statement for EXPLAIN QUERY
** PLAN, then the plan as a comment:
** "/" "* c<hex colUsed>;a<col>:<op>:<exact>,...;o<col>:<desc>,... *" "/"
*/

static int col_used(uint64_t colUsed, int iCol);
static const char *op_text(DbxOp eOp);

/* Appends to pB the shape of the remote statement a plan leads to, with
** ? for values, for EXPLAIN QUERY PLAN. A term whose value turns out not
** to be bindable at run time stays with SQLite, so this is the most that
** can be sent. */
static void plan_describe(DbxBuf *pB, const DbxRemote *pRemote,
                          const DbxPlan *pPlan, const char *zFrom) {
  int i, nOut = 0, nWhere = 0;
  const char *zLimit = "", *zOffset = "";
  dbx_buf_appendf(pB, "SELECT ");
  for (i = 0; !pRemote->bNoProject && i < pRemote->nCol; i++) {
    if (!col_used(pPlan->colUsed, i)) continue;
    if (nOut++) dbx_buf_appendf(pB, ", ");
    dbx_sql_ident(pB, pRemote->azCol[i]);
  }
  if (pRemote->bNoProject)
    dbx_buf_appendf(pB, "*");
  else if (nOut == 0)
    dbx_buf_appendf(pB, "1");
  dbx_buf_appendf(pB, " FROM %s", zFrom);
  for (i = 0; i < pPlan->nArg; i++) {
    const DbxPlanArg *a = &pPlan->aArg[i];
    if (a->eOp == DBX_OP_LIMIT) {
      zLimit = " LIMIT ?";
      continue;
    }
    if (a->eOp == DBX_OP_OFFSET) {
      zOffset = " OFFSET ?";
      continue;
    }
    dbx_buf_appendf(pB, nWhere++ ? " AND " : " WHERE ");
    dbx_sql_ident(pB, pRemote->azCol[a->iCol]);
    switch (a->eOp) {
    case DBX_OP_ISNULL:
      dbx_buf_appendf(pB, " IS NULL");
      break;
    case DBX_OP_NOTNULL:
      dbx_buf_appendf(pB, " IS NOT NULL");
      break;
    case DBX_OP_LIKE:
      dbx_buf_appendf(pB, " ILIKE ?");
      break;
    case DBX_OP_IN:
      dbx_buf_appendf(pB, " IN (?, ...)");
      break;
    default:
      dbx_buf_appendf(pB, "%s?", op_text(a->eOp));
      break;
    }
  }
  for (i = 0; i < pPlan->nOrder; i++) {
    dbx_buf_appendf(pB, "%s", i ? ", " : " ORDER BY ");
    dbx_sql_ident(pB, pRemote->azCol[pPlan->aOrder[i].iCol]);
    dbx_buf_appendf(pB, pPlan->aOrder[i].bDesc ? " DESC" : "");
  }
  dbx_buf_appendf(pB, "%s%s", zLimit, zOffset);
}

char *dbx_pushdown_plan_encode(const DbxPlan *pPlan, const DbxRemote *pRemote,
                               const char *zFrom) {
  DbxBuf b = {0};
  int i;
  if (pRemote) {
    plan_describe(&b, pRemote, pPlan, zFrom ? zFrom : "?");
    dbx_buf_append(&b, " ", 1);
  }
  dbx_buf_appendf(&b, "/* c%" PRIx64 ";a", pPlan->colUsed);
  for (i = 0; i < pPlan->nArg; i++) {
    const DbxPlanArg *a = &pPlan->aArg[i];
    dbx_buf_appendf(&b, "%s%d:%d:%d", i ? "," : "", a->iCol, (int)a->eOp,
                    a->bExact ? 1 : 0);
  }
  dbx_buf_appendf(&b, ";o");
  for (i = 0; i < pPlan->nOrder; i++) {
    dbx_buf_appendf(&b, "%s%d:%d", i ? "," : "", pPlan->aOrder[i].iCol,
                    pPlan->aOrder[i].bDesc ? 1 : 0);
  }
  dbx_buf_appendf(&b, " */");
  return dbx_buf_take(&b);
}

/* Reads a decimal integer at *pz; returns 0 when there is none. */
static int read_int(const char **pz, long *pOut) {
  char *zEnd;
  *pOut = strtol(*pz, &zEnd, 10);
  if (zEnd == *pz) return 0;
  *pz = zEnd;
  return 1;
}

int dbx_pushdown_plan_decode(const char *z, DbxPlan *pPlan, DbxError *pErr) {
  const char *p;
  char *zEnd;
  long a, b, c;
  memset(pPlan, 0, sizeof(*pPlan));
  /* the plan is the last comment of idxStr, after the readable shape */
  p = z ? strstr(z, "/* c") : NULL;
  while (p && strstr(p + 1, "/* c"))
    p = strstr(p + 1, "/* c");
  if (p == NULL) goto bad;
  p += 3;
  if (*p++ != 'c') goto bad;
  pPlan->colUsed = strtoull(p, &zEnd, 16);
  p = zEnd;
  if (*p++ != ';' || *p++ != 'a') goto bad;
  while (*p != ';') {
    if (pPlan->nArg >= DBX_PLAN_MAX_ARG) goto bad;
    if (pPlan->nArg && *p++ != ',') goto bad;
    if (!read_int(&p, &a) || *p++ != ':' || !read_int(&p, &b) || *p++ != ':' ||
        !read_int(&p, &c)) {
      goto bad;
    }
    if (b < DBX_OP_EQ || b > DBX_OP_OFFSET) goto bad;
    pPlan->aArg[pPlan->nArg].iCol = (int)a;
    pPlan->aArg[pPlan->nArg].eOp = (DbxOp)b;
    pPlan->aArg[pPlan->nArg].bExact = c != 0;
    pPlan->nArg++;
  }
  p++;
  if (*p++ != 'o') goto bad;
  while (*p && *p != ' ') {
    if (pPlan->nOrder >= DBX_PLAN_MAX_ORDER) goto bad;
    if (pPlan->nOrder && *p++ != ',') goto bad;
    if (!read_int(&p, &a) || *p++ != ':' || !read_int(&p, &b)) goto bad;
    pPlan->aOrder[pPlan->nOrder].iCol = (int)a;
    pPlan->aOrder[pPlan->nOrder].bDesc = b != 0;
    pPlan->nOrder++;
  }
  if (strcmp(p, " */") != 0) goto bad;
  return SQLITE_OK;
bad:
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "internal error: unreadable scan plan; re-prepare the "
                       "statement");
}

/* ---------------------------------------------------------------------
** Building the SQL
*/

void dbx_pushdown_scan_clear(DbxScanSql *p) {
  int i;
  sqlite3_free(p->zSql);
  for (i = 0; i < p->nParam; i++)
    sqlite3_free(p->aParam[i].zValue);
  sqlite3_free(p->aParam);
  sqlite3_free(p->aiCol);
  memset(p, 0, sizeof(*p));
}

/* The parameter type of a NULL for a column class. */
static const char *null_type(DbxColClass eClass) {
  switch (eClass) {
  case DBX_COL_INT:
    return "BIGINT";
  case DBX_COL_DECIMAL:
  case DBX_COL_FLOAT:
    return "DOUBLE";
  case DBX_COL_BOOL:
    return "BOOLEAN";
  case DBX_COL_DATE:
    return "DATE";
  case DBX_COL_TIMESTAMP:
    return "TIMESTAMP";
  case DBX_COL_TIMESTAMP_NTZ:
    return "TIMESTAMP_NTZ";
  default:
    return "STRING";
  }
}

/* The state of one build. */
typedef struct Builder {
  DbxBuf sql;       /* the SQL text */
  DbxScanSql *pOut; /* receives the parameters */
  int nAlloc;       /* slots in pOut->aParam */
  int rc;           /* SQLITE_NOMEM once an allocation failed */
} Builder;

/* Adds parameter ":pN" with the given type and value (copied; NULL for SQL
** NULL) and writes its marker into the SQL. */
static void add_param(Builder *pB, const char *zType, const char *zValue,
                      int nValue) {
  DbxPushParam *p;
  if (pB->rc) return;
  if (pB->pOut->nParam == pB->nAlloc) {
    int nNew = pB->nAlloc ? pB->nAlloc * 2 : 8;
    DbxPushParam *aNew = sqlite3_realloc64(
        pB->pOut->aParam, (sqlite3_uint64)nNew * sizeof(DbxPushParam));
    if (aNew == NULL) {
      pB->rc = SQLITE_NOMEM;
      return;
    }
    pB->pOut->aParam = aNew;
    pB->nAlloc = nNew;
  }
  p = &pB->pOut->aParam[pB->pOut->nParam];
  memset(p, 0, sizeof(*p));
  snprintf(p->zName, sizeof(p->zName), "p%d", pB->pOut->nParam);
  p->zType = zType;
  if (zValue) {
    p->zValue = sqlite3_malloc64((sqlite3_uint64)nValue + 1);
    if (p->zValue == NULL) {
      pB->rc = SQLITE_NOMEM;
      return;
    }
    memcpy(p->zValue, zValue, (size_t)nValue);
    p->zValue[nValue] = 0;
  }
  pB->pOut->nParam++;
  dbx_buf_appendf(&pB->sql, ":%s", p->zName);
}

/* Binds one value (value_bindable() said yes) for a column of eClass. */
static void bind_value(Builder *pB, DbxColClass eClass, const DbxValue *v) {
  char zNum[40];
  switch (v->eType) {
  case DBX_VAL_INT:
    if (eClass == DBX_COL_BOOL) {
      add_param(pB, "BOOLEAN", v->i ? "true" : "false", v->i ? 4 : 5);
    } else {
      snprintf(zNum, sizeof(zNum), "%" PRId64, v->i);
      add_param(pB, "BIGINT", zNum, (int)strlen(zNum));
    }
    break;
  case DBX_VAL_REAL:
    snprintf(zNum, sizeof(zNum), "%.17g", v->r);
    add_param(pB, "DOUBLE", zNum, (int)strlen(zNum));
    break;
  case DBX_VAL_TEXT:
    if (is_ts(eClass)) {
      char zTs[48];
      dbx_sql_timestamp_param(v->z, v->n, eClass == DBX_COL_TIMESTAMP, zTs,
                              sizeof(zTs));
      add_param(pB, null_type(eClass), zTs, (int)strlen(zTs));
    } else {
      add_param(pB, eClass == DBX_COL_DATE ? "DATE" : "STRING", v->z, v->n);
    }
    break;
  default:
    add_param(pB, null_type(eClass), NULL, 0);
    break;
  }
}

/* SQLite's LIKE pattern as an ILIKE pattern with ESCAPE '!': SQLite has no
** escape character, so only '!' itself needs escaping. */
static void bind_like(Builder *pB, const DbxValue *v) {
  DbxBuf pat = {0};
  char zNum[40];
  const char *z = v->z;
  int i, n = v->n;
  if (v->eType == DBX_VAL_NULL) {
    add_param(pB, "STRING", NULL, 0);
    return;
  }
  if (v->eType == DBX_VAL_INT) {
    snprintf(zNum, sizeof(zNum), "%" PRId64, v->i);
    z = zNum;
    n = (int)strlen(zNum);
  }
  for (i = 0; i < n; i++) {
    if (z[i] == '!') dbx_buf_append(&pat, "!", 1);
    dbx_buf_append(&pat, &z[i], 1);
  }
  if (pat.rc) pB->rc = SQLITE_NOMEM;
  add_param(pB, "STRING", pat.z ? pat.z : "", (int)pat.n);
  dbx_buf_free(&pat);
}

/* The Databricks SQL text of a binary operator, spaces included. */
static const char *op_text(DbxOp eOp) {
  switch (eOp) {
  case DBX_OP_EQ:
    return " = ";
  case DBX_OP_NE:
    return " <> ";
  case DBX_OP_LT:
    return " < ";
  case DBX_OP_LE:
    return " <= ";
  case DBX_OP_GT:
    return " > ";
  case DBX_OP_GE:
    return " >= ";
  case DBX_OP_IS:
    return " IS NOT DISTINCT FROM ";
  case DBX_OP_ISNOT:
    return " IS DISTINCT FROM ";
  default:
    return " ? ";
  }
}

/* Appends one WHERE term for argv slot a with value v; returns 0 when the
** term is left to SQLite. */
static int add_term(Builder *pB, const DbxRemote *pRemote, const DbxPlanArg *a,
                    const DbxValue *v) {
  DbxColClass eClass = pRemote->aClass[a->iCol];
  const char *zCol = pRemote->azCol[a->iCol];
  DbxJudge eJudge = dbx_pushdown_judge(eClass, a->eOp, 1, v);
  int i, nIn = 0;
  if (eJudge == DBX_JUDGE_SKIP) return 0;
  switch (a->eOp) {
  case DBX_OP_ISNULL:
  case DBX_OP_NOTNULL: {
    int bNull = a->eOp == DBX_OP_ISNULL;
    if (eClass == DBX_COL_FLOAT) {
      /* NaN is NULL on this side. */
      dbx_buf_appendf(&pB->sql, "(");
      dbx_sql_ident(&pB->sql, zCol);
      dbx_buf_appendf(&pB->sql, bNull ? " IS NULL OR isnan("
                                      : " IS NOT NULL AND NOT isnan(");
      dbx_sql_ident(&pB->sql, zCol);
      dbx_buf_appendf(&pB->sql, "))");
    } else {
      dbx_sql_ident(&pB->sql, zCol);
      dbx_buf_appendf(&pB->sql, bNull ? " IS NULL" : " IS NOT NULL");
    }
    return 1;
  }
  case DBX_OP_LIKE:
    dbx_sql_ident(&pB->sql, zCol);
    dbx_buf_appendf(&pB->sql, " ILIKE ");
    bind_like(pB, v);
    dbx_buf_appendf(&pB->sql, " ESCAPE '!'");
    return 1;
  case DBX_OP_IN:
    for (i = 0; i < v->nList; i++) {
      const DbxValue *m = &v->aList[i];
      /* NULL never equals anything; droppable members never match. */
      if (m->eType == DBX_VAL_NULL || !value_bindable(eClass, m)) continue;
      if (nIn++ == 0) {
        dbx_sql_ident(&pB->sql, zCol);
        dbx_buf_appendf(&pB->sql, " IN (");
      } else {
        dbx_buf_appendf(&pB->sql, ", ");
      }
      bind_value(pB, eClass, m);
    }
    dbx_buf_appendf(&pB->sql, nIn ? ")" : "FALSE");
    return 1;
  default: {
    DbxOp eOp = a->eOp;
    if (ts_day(eClass, v)) {
      /* against a bare day, > means >= midnight and <= means < midnight */
      if (eOp == DBX_OP_GT) eOp = DBX_OP_GE;
      if (eOp == DBX_OP_LE) eOp = DBX_OP_LT;
    }
    dbx_sql_ident(&pB->sql, zCol);
    dbx_buf_appendf(&pB->sql, "%s", op_text(eOp));
    bind_value(pB, eClass, v);
    return 1;
  }
  }
}

/* Whether vtab column iCol is marked used (bit 63 covers 63 and above). */
static int col_used(uint64_t colUsed, int iCol) {
  return (colUsed >> (iCol < 63 ? iCol : 63)) & 1;
}

/* Writes "SELECT <columns>" and fills pOut->aiCol (sized nCol + 1 by the
** caller) with the remote column behind each output column. */
static void build_projection(Builder *pB, const DbxRemote *pRemote,
                             uint64_t colUsed) {
  DbxScanSql *pOut = pB->pOut;
  int i;
  dbx_buf_appendf(&pB->sql, "SELECT ");
  if (pRemote->bNoProject) {
    dbx_buf_appendf(&pB->sql, "*");
    for (i = 0; i < pRemote->nCol; i++)
      pOut->aiCol[pOut->nOut++] = i;
    return;
  }
  for (i = 0; i < pRemote->nCol; i++) {
    if (!col_used(colUsed, i)) continue;
    if (pOut->nOut) dbx_buf_appendf(&pB->sql, ", ");
    dbx_sql_ident(&pB->sql, pRemote->azCol[i]);
    pOut->aiCol[pOut->nOut++] = i;
  }
  if (pOut->nOut == 0) {
    dbx_buf_appendf(&pB->sql, "1"); /* count(*) and friends need rows only */
    pOut->aiCol[pOut->nOut++] = -1;
  }
}

/* Writes " FROM <table>" or " FROM (<query>) AS `_dbx_q`", the query
** stripped of trailing spaces and semicolons. */
static void build_source(Builder *pB, const DbxRemote *pRemote) {
  size_t n;
  if (pRemote->zTable) {
    dbx_buf_appendf(&pB->sql, " FROM %s", pRemote->zTable);
    return;
  }
  n = strlen(pRemote->zQuery);
  while (n && (isspace((unsigned char)pRemote->zQuery[n - 1]) ||
               pRemote->zQuery[n - 1] == ';')) {
    n--;
  }
  dbx_buf_appendf(&pB->sql, " FROM (%.*s) AS `_dbx_q`", (int)n,
                  pRemote->zQuery);
}

/* Writes the WHERE clause for the plan's constraints and takes the LIMIT
** and OFFSET values into *piLimit and *piOffset. Returns SQLITE_OK, or an
** error code with pErr set (bad plan, non-integer LIMIT/OFFSET). */
static int build_where(Builder *pB, const DbxRemote *pRemote,
                       const DbxPlan *pPlan, const DbxValue *aArg,
                       int64_t *piLimit, int64_t *piOffset, DbxError *pErr) {
  int i, nWhere = 0;
  for (i = 0; i < pPlan->nArg; i++) {
    const DbxPlanArg *a = &pPlan->aArg[i];
    size_t nMark = pB->sql.n;
    if (a->eOp == DBX_OP_LIMIT || a->eOp == DBX_OP_OFFSET) {
      if (aArg[i].eType != DBX_VAL_INT) {
        return dbx_error_set(pErr, SQLITE_MISMATCH,
                             "LIMIT and OFFSET take integers");
      }
      if (a->eOp == DBX_OP_LIMIT)
        *piLimit = aArg[i].i;
      else
        *piOffset = aArg[i].i;
      continue;
    }
    if (a->iCol < 0 || a->iCol >= pRemote->nCol) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "internal error: scan plan names column %d of %d",
                           a->iCol, pRemote->nCol);
    }
    dbx_buf_appendf(&pB->sql, nWhere ? " AND " : " WHERE ");
    if (add_term(pB, pRemote, a, &aArg[i])) {
      nWhere++;
      continue;
    }
    if (a->bExact) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "internal error: a constraint planned as exact "
                           "cannot be pushed for its value; re-prepare the "
                           "statement");
    }
    pB->sql.n = nMark; /* drop the " AND " */
    if (pB->sql.z) pB->sql.z[nMark] = 0;
  }
  return SQLITE_OK;
}

/* Writes ORDER BY, LIMIT and OFFSET. Returns SQLITE_OK, or SQLITE_ERROR
** with pErr set when the plan orders by a column that does not exist. */
static int build_order(Builder *pB, const DbxRemote *pRemote,
                       const DbxPlan *pPlan, int64_t iLimit, int64_t iOffset,
                       DbxError *pErr) {
  int i;
  for (i = 0; i < pPlan->nOrder; i++) {
    const DbxPlanOrder *o = &pPlan->aOrder[i];
    if (o->iCol < 0 || o->iCol >= pRemote->nCol) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "internal error: scan plan orders by column %d",
                           o->iCol);
    }
    dbx_buf_appendf(&pB->sql, i ? ", " : " ORDER BY ");
    dbx_sql_ident(&pB->sql, pRemote->azCol[o->iCol]);
    /* SQLite puts NULLs first ascending and last descending. */
    dbx_buf_appendf(&pB->sql,
                    o->bDesc ? " DESC NULLS LAST" : " ASC NULLS FIRST");
  }
  /* Counts are integers formatted here, never text from the query. */
  if (iLimit >= 0) dbx_buf_appendf(&pB->sql, " LIMIT %" PRId64, iLimit);
  if (iOffset > 0) dbx_buf_appendf(&pB->sql, " OFFSET %" PRId64, iOffset);
  return SQLITE_OK;
}

/* See pushdown.h. On failure pOut is cleared and pErr set. */
int dbx_pushdown_build(const DbxRemote *pRemote, const DbxPlan *pPlan,
                       const DbxValue *aArg, int nArg, DbxScanSql *pOut,
                       DbxError *pErr) {
  Builder B;
  int rc;
  int64_t iLimit = -1, iOffset = 0;
  memset(pOut, 0, sizeof(*pOut));
  memset(&B, 0, sizeof(B));
  B.pOut = pOut;
  if (nArg != pPlan->nArg) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "internal error: scan plan expects %d values, got %d",
                         pPlan->nArg, nArg);
  }
  pOut->aiCol =
      sqlite3_malloc64(sizeof(int) * ((sqlite3_uint64)pRemote->nCol + 1));
  if (pOut->aiCol == NULL)
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");

  build_projection(&B, pRemote, pPlan->colUsed);
  build_source(&B, pRemote);
  rc = build_where(&B, pRemote, pPlan, aArg, &iLimit, &iOffset, pErr);
  if (rc == SQLITE_OK)
    rc = build_order(&B, pRemote, pPlan, iLimit, iOffset, pErr);
  if (rc != SQLITE_OK) goto fail;

  if (B.rc == SQLITE_OK) B.rc = B.sql.rc;
  if (B.rc != SQLITE_OK) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto fail;
  }
  pOut->zSql = dbx_buf_take(&B.sql);
  return SQLITE_OK;
fail:
  dbx_buf_free(&B.sql);
  dbx_pushdown_scan_clear(pOut);
  return rc;
}
