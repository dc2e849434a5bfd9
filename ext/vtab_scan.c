/*
** vtab_scan.c: reading a `databricks` virtual table.
**
**   SELECT id, amount FROM orders
**    WHERE status IN ('open','held') AND amount > 10
**    ORDER BY id LIMIT 10;
**
** xBestIndex hands the constraints, ORDER BY and LIMIT/OFFSET to
** pushdown.c, which says what can run remotely without changing SQLite's
** answer; the plan travels to xFilter as idxStr, where the actual values
** become typed statement parameters. The cursor streams the statement's
** rows (rows.h), one chunk at a time, and never holds the whole result.
**
** A changes=true table plans the same way: _change_type, _commit_version
** and _commit_timestamp are ordinary columns to pushdown.c, so their terms
** are exact or re-checked by its rules. In xFilter the terms on the last
** two also bound the table_changes() range (cdf.h), which reads the latest
** version first: a range beyond it returns no rows and sends nothing more.
*/
#include <string.h>

#include "cdf.h"
#include "vtab.h"

/* A scan in progress. */
typedef struct DbxCursor {
  sqlite3_vtab_cursor base; /* must come first */
  DbxRows *pRows;           /* owned; the remote statement's rows, or NULL */
  int bEof;                 /* no current row */
  int *aiOut;               /* owned; vtab column -> result column or -1 */
  sqlite3_stmt *pProbe;     /* owned; interrupt probe */
} DbxCursor;

/* ---------------------------------------------------------------------
** Planning
*/

/* Our operator for an SQLite constraint operator, or 0. */
static DbxOp op_from(unsigned char op) {
  switch (op) {
  case SQLITE_INDEX_CONSTRAINT_EQ:
    return DBX_OP_EQ;
  case SQLITE_INDEX_CONSTRAINT_NE:
    return DBX_OP_NE;
  case SQLITE_INDEX_CONSTRAINT_LT:
    return DBX_OP_LT;
  case SQLITE_INDEX_CONSTRAINT_LE:
    return DBX_OP_LE;
  case SQLITE_INDEX_CONSTRAINT_GT:
    return DBX_OP_GT;
  case SQLITE_INDEX_CONSTRAINT_GE:
    return DBX_OP_GE;
  case SQLITE_INDEX_CONSTRAINT_IS:
    return DBX_OP_IS;
  case SQLITE_INDEX_CONSTRAINT_ISNOT:
    return DBX_OP_ISNOT;
  case SQLITE_INDEX_CONSTRAINT_ISNULL:
    return DBX_OP_ISNULL;
  case SQLITE_INDEX_CONSTRAINT_ISNOTNULL:
    return DBX_OP_NOTNULL;
  case SQLITE_INDEX_CONSTRAINT_LIKE:
    return DBX_OP_LIKE;
  case SQLITE_INDEX_CONSTRAINT_LIMIT:
    return DBX_OP_LIMIT;
  case SQLITE_INDEX_CONSTRAINT_OFFSET:
    return DBX_OP_OFFSET;
  default:
    return (DbxOp)0;
  }
}

/* Whether values of this class compare numerically (numeric affinity). */
static int class_numeric(DbxColClass e) {
  return e == DBX_COL_INT || e == DBX_COL_DECIMAL || e == DBX_COL_FLOAT ||
         e == DBX_COL_BOOL;
}

/*
** Describes pIn as SQLite's comparison with a column of class eClass sees
** it: text against a numeric column gets numeric affinity, on a copy
** stored in *ppDup (free with sqlite3_value_free; NULL when none was made).
*/
static void value_from(sqlite3_value *pIn, DbxColClass eClass,
                       sqlite3_value **ppDup, DbxValue *pOut) {
  sqlite3_value *v = pIn;
  memset(pOut, 0, sizeof(*pOut));
  *ppDup = NULL;
  if (v == NULL) return;
  if (class_numeric(eClass) && sqlite3_value_type(v) == SQLITE_TEXT) {
    *ppDup = sqlite3_value_dup(v);
    if (*ppDup) {
      v = *ppDup;
      sqlite3_value_numeric_type(v);
    }
  }
  switch (sqlite3_value_type(v)) {
  case SQLITE_INTEGER:
    pOut->eType = DBX_VAL_INT;
    pOut->i = sqlite3_value_int64(v);
    break;
  case SQLITE_FLOAT:
    pOut->eType = DBX_VAL_REAL;
    pOut->r = sqlite3_value_double(v);
    break;
  case SQLITE_TEXT:
    pOut->eType = DBX_VAL_TEXT;
    pOut->z = (const char *)sqlite3_value_text(v);
    pOut->n = sqlite3_value_bytes(v);
    break;
  case SQLITE_BLOB:
    pOut->eType = DBX_VAL_BLOB;
    pOut->z = sqlite3_value_blob(v);
    pOut->n = sqlite3_value_bytes(v);
    break;
  default:
    break;
  }
}

/* How much of the table one term is expected to keep (for costs only). */
static double term_selectivity(DbxOp eOp) {
  switch (eOp) {
  case DBX_OP_EQ:
  case DBX_OP_IS:
    return 0.01;
  case DBX_OP_IN:
    return 0.05;
  case DBX_OP_ISNULL:
    return 0.1;
  case DBX_OP_LIKE:
    return 0.3;
  case DBX_OP_LT:
  case DBX_OP_LE:
  case DBX_OP_GT:
  case DBX_OP_GE:
    return 0.3;
  default:
    return 0.9;
  }
}

/* Rows assumed for a remote relation: unknown, so large. */
#define DBX_ROWS_GUESS 1000000.0
/* Fixed cost of one remote statement, in rows: SQLite then prefers one
** scan with pushed terms over many small statements in a join. */
#define DBX_STATEMENT_COST 10000.0

/*
** What pushdown.c says of constraint i on a column: DBX_JUDGE_SKIP when it
** stays with SQLite. *peOp comes in as the constraint's operator and goes
** out as the one to push (EQ over an IN list becomes DBX_OP_IN). The value
** is judged too when SQLite already knows it.
*/
static DbxJudge plan_judge(const DbxVtab *p, sqlite3_index_info *pInfo, int i,
                           DbxOp *peOp) {
  const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
  DbxColClass eClass = p->aClass[c->iColumn];
  DbxValue val, *pVal = NULL;
  sqlite3_value *pRhs = NULL, *pDup = NULL;
  const char *zColl = sqlite3_vtab_collation(pInfo, i);
  DbxJudge eJudge;
  if (*peOp == DBX_OP_EQ && sqlite3_vtab_in(pInfo, i, -1)) *peOp = DBX_OP_IN;
  if (*peOp != DBX_OP_IN && *peOp != DBX_OP_ISNULL && *peOp != DBX_OP_NOTNULL &&
      sqlite3_vtab_rhs_value(pInfo, i, &pRhs) == SQLITE_OK) {
    value_from(pRhs, eClass, &pDup, &val);
    pVal = &val;
  }
  eJudge = dbx_pushdown_judge(
      eClass, *peOp, zColl == NULL || sqlite3_stricmp(zColl, "BINARY") == 0,
      pVal);
  sqlite3_value_free(pDup);
  return eJudge;
}

/*
** The WHERE terms: each one pushdown.c accepts becomes a plan argument
** (argvIndex), omitted by SQLite when exact. Usable LIMIT and OFFSET
** constraints are only noted in *piLimit / *piOffset. *pRows shrinks by
** each pushed term's selectivity. Returns true when every term is pushed
** exactly, so SQLite has nothing left to filter.
*/
static int plan_terms(const DbxVtab *p, sqlite3_index_info *pInfo,
                      DbxPlan *pPlan, double *pRows, int *piLimit,
                      int *piOffset) {
  int i, bAllExact = 1;
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    DbxOp eOp = op_from(c->op);
    DbxJudge eJudge;
    if (eOp == DBX_OP_LIMIT || eOp == DBX_OP_OFFSET) {
      if (c->usable) *(eOp == DBX_OP_LIMIT ? piLimit : piOffset) = i;
      continue;
    }
    /* two slots stay free for LIMIT and OFFSET */
    if (!c->usable || eOp == 0 || c->iColumn < 0 ||
        c->iColumn >= p->remote.nCol || pPlan->nArg >= DBX_PLAN_MAX_ARG - 2) {
      bAllExact = 0;
      continue;
    }
    eJudge = plan_judge(p, pInfo, i, &eOp);
    if (eJudge == DBX_JUDGE_SKIP) {
      bAllExact = 0;
      continue;
    }
    pPlan->aArg[pPlan->nArg].iCol = c->iColumn;
    pPlan->aArg[pPlan->nArg].eOp = eOp;
    pPlan->aArg[pPlan->nArg].bExact = eJudge == DBX_JUDGE_EXACT;
    pPlan->nArg++;
    pInfo->aConstraintUsage[i].argvIndex = pPlan->nArg;
    pInfo->aConstraintUsage[i].omit = eJudge == DBX_JUDGE_EXACT;
    if (eOp == DBX_OP_IN) sqlite3_vtab_in(pInfo, i, 1);
    if (eJudge != DBX_JUDGE_EXACT) bAllExact = 0;
    *pRows *= term_selectivity(eOp);
  }
  return bAllExact;
}

/* Takes the ORDER BY when every term can be ordered remotely as SQLite
** would order it; otherwise SQLite sorts. */
static void plan_order_by(const DbxVtab *p, sqlite3_index_info *pInfo,
                          DbxPlan *pPlan) {
  int i;
  if (pInfo->nOrderBy <= 0 || pInfo->nOrderBy > DBX_PLAN_MAX_ORDER) return;
  for (i = 0; i < pInfo->nOrderBy; i++) {
    int iCol = pInfo->aOrderBy[i].iColumn;
    if (iCol < 0 || iCol >= p->remote.nCol ||
        !dbx_pushdown_orderable(p->aClass[iCol])) {
      return;
    }
  }
  for (i = 0; i < pInfo->nOrderBy; i++) {
    pPlan->aOrder[i].iCol = pInfo->aOrderBy[i].iColumn;
    pPlan->aOrder[i].bDesc = pInfo->aOrderBy[i].desc;
  }
  pPlan->nOrder = pInfo->nOrderBy;
  pInfo->orderByConsumed = 1;
}

/* Pushes constraint iLimit, and iOffset when >= 0, which SQLite must then
** not apply again; a known LIMIT caps *pRows. */
static void plan_limit(sqlite3_index_info *pInfo, DbxPlan *pPlan, int iLimit,
                       int iOffset, double *pRows) {
  sqlite3_value *pRhs = NULL;
  pPlan->aArg[pPlan->nArg].iCol = -1;
  pPlan->aArg[pPlan->nArg].eOp = DBX_OP_LIMIT;
  pPlan->nArg++;
  pInfo->aConstraintUsage[iLimit].argvIndex = pPlan->nArg;
  if (sqlite3_vtab_rhs_value(pInfo, iLimit, &pRhs) == SQLITE_OK &&
      sqlite3_value_type(pRhs) == SQLITE_INTEGER &&
      sqlite3_value_int64(pRhs) >= 0 &&
      (double)sqlite3_value_int64(pRhs) < *pRows) {
    *pRows = (double)sqlite3_value_int64(pRhs);
  }
  if (iOffset >= 0) {
    pPlan->aArg[pPlan->nArg].iCol = -1;
    pPlan->aArg[pPlan->nArg].eOp = DBX_OP_OFFSET;
    pPlan->nArg++;
    pInfo->aConstraintUsage[iOffset].argvIndex = pPlan->nArg;
    pInfo->aConstraintUsage[iOffset].omit = 1;
  }
}

/*
** xBestIndex: asks pushdown.c about each usable constraint (with its value
** when SQLite knows it), sets argvIndex for what is pushed and omit for
** what is exact, takes the ORDER BY when every term can be ordered
** remotely, and LIMIT/OFFSET when nothing is left for SQLite to filter.
** The plan goes to xFilter as idxStr. Costs: a fixed price per remote
** statement plus the rows expected back, so pushed terms always win.
*/
int dbx_vtab_best_index(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DbxPlan plan;
  char *zPlan;
  double rRows = DBX_ROWS_GUESS;
  int bAllExact, iLimit = -1, iOffset = -1;
  memset(&plan, 0, sizeof(plan));
  plan.colUsed = (uint64_t)pInfo->colUsed;
  if (p->bMerge) {
    /* the hidden key of a merge table is made of its key columns, which
    ** are always read: SQLite's colUsed does not count the key an UPDATE
    ** or DELETE reads to name its rows */
    int i;
    for (i = 0; i < p->nKey; i++) {
      plan.colUsed |= (uint64_t)1 << (p->aiKey[i] < 63 ? p->aiKey[i] : 63);
    }
  }
  bAllExact = plan_terms(p, pInfo, &plan, &rRows, &iLimit, &iOffset);
  plan_order_by(p, pInfo, &plan);
  /* LIMIT/OFFSET only when the remote rows are exactly SQLite's rows, in
  ** SQLite's order: otherwise SQLite filters or sorts after the cut. Beyond
  ** 32 constraints SQLite cannot say which EQ is an IN, and an IN handled
  ** one value at a time would apply the OFFSET once per value. */
  if (iLimit >= 0 && bAllExact && pInfo->nConstraint <= 32 &&
      (pInfo->nOrderBy == 0 || plan.nOrder > 0)) {
    plan_limit(pInfo, &plan, iLimit, iOffset, &rRows);
  }
  if (p->args.bChanges) {
    char *zFrom = sqlite3_mprintf("table_changes(%s)", p->zDisplay);
    zPlan = zFrom ? dbx_pushdown_plan_encode(&plan, &p->remote, zFrom) : NULL;
    sqlite3_free(zFrom);
  } else {
    zPlan = dbx_pushdown_plan_encode(&plan, &p->remote,
                                     p->zQuery ? "(query)" : p->zDisplay);
  }
  if (zPlan == NULL) return SQLITE_NOMEM;
  pInfo->idxStr = zPlan;
  pInfo->needToFreeIdxStr = 1;
  pInfo->idxNum = plan.nArg;
  pInfo->estimatedRows = (sqlite3_int64)(rRows < 1 ? 1 : rRows);
  pInfo->estimatedCost = DBX_STATEMENT_COST + rRows;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Scanning
*/

/* xOpen: a cursor with no statement yet, and its interrupt probe. */
int dbx_vtab_open(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor) {
  DbxVtab *p = (DbxVtab *)pVtab;
  DbxCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  if (pCur == NULL) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->bEof = 1;
  pCur->aiOut =
      sqlite3_malloc64(sizeof(int) * ((sqlite3_uint64)p->remote.nCol + 1));
  if (pCur->aiOut == NULL) {
    sqlite3_free(pCur);
    return SQLITE_NOMEM;
  }
  /* Without a probe interrupts only stop the scan between rows. */
  pCur->pProbe = dbx_probe_open(p->db);
  *ppCursor = &pCur->base;
  return SQLITE_OK;
}

/* xClose: unread rows need no remote call (results expire). */
int dbx_vtab_close(sqlite3_vtab_cursor *pCursor) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  dbx_rows_free(pCur->pRows);
  sqlite3_finalize(pCur->pProbe);
  sqlite3_free(pCur->aiOut);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* The argv values of xFilter as pushdown.c reads them. */
typedef struct FilterArgs {
  DbxValue *aVal;        /* owned; one per argv slot */
  DbxValue *aList;       /* owned; IN members of all slots */
  int nList;             /* used entries of aList */
  sqlite3_value **apDup; /* owned; converted copies to free */
  int nDup;              /* used entries of apDup */
  int nDupAlloc;         /* allocated entries of apDup */
} FilterArgs;

/* Frees the converted values of one xFilter call. */
static void filter_args_free(FilterArgs *f) {
  int i;
  for (i = 0; i < f->nDup; i++)
    sqlite3_value_free(f->apDup[i]);
  sqlite3_free(f->apDup);
  sqlite3_free(f->aVal);
  sqlite3_free(f->aList);
}

/*
** Converts one value and keeps its copy, if one was made. bCopy forces a
** copy: IN members come from sqlite3_vtab_in_next(), which reuses one value
** object, so their text would not survive the next member.
*/
static int filter_value(FilterArgs *f, sqlite3_value *pIn, DbxColClass eClass,
                        int bCopy, DbxValue *pOut) {
  sqlite3_value *pDup = NULL, *pOwn = NULL;
  if (bCopy) {
    pOwn = sqlite3_value_dup(pIn);
    if (pOwn == NULL) return SQLITE_NOMEM;
    pIn = pOwn;
  }
  value_from(pIn, eClass, &pDup, pOut);
  if (pDup) {
    /* the converted copy is what pOut points into */
    sqlite3_value_free(pOwn);
    pOwn = pDup;
  }
  pDup = pOwn;
  if (pDup == NULL) return SQLITE_OK;
  if (f->nDup == f->nDupAlloc) {
    int nNew = f->nDupAlloc ? f->nDupAlloc * 2 : 16;
    sqlite3_value **a =
        sqlite3_realloc64(f->apDup, sizeof(*a) * (sqlite3_uint64)nNew);
    if (a == NULL) {
      sqlite3_value_free(pDup);
      return SQLITE_NOMEM;
    }
    f->apDup = a;
    f->nDupAlloc = nNew;
  }
  f->apDup[f->nDup++] = pDup;
  return SQLITE_OK;
}

/* Reads argv into f per the plan: IN lists member by member. */
static int filter_args_read(DbxVtab *p, const DbxPlan *pPlan, int argc,
                            sqlite3_value **argv, FilterArgs *f) {
  int i, rc = SQLITE_OK, nMembers = 0;
  sqlite3_value *pMember;
  memset(f, 0, sizeof(*f));
  f->aVal = sqlite3_malloc64(sizeof(DbxValue) * ((sqlite3_uint64)argc + 1));
  if (f->aVal == NULL) return SQLITE_NOMEM;
  memset(f->aVal, 0, sizeof(DbxValue) * ((size_t)argc + 1));
  /* Count IN members first so aList never moves once pointed into. */
  for (i = 0; i < argc; i++) {
    if (pPlan->aArg[i].eOp != DBX_OP_IN) continue;
    for (rc = sqlite3_vtab_in_first(argv[i], &pMember);
         rc == SQLITE_OK && pMember;
         rc = sqlite3_vtab_in_next(argv[i], &pMember)) {
      nMembers++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_OK) return rc;
  }
  f->aList =
      sqlite3_malloc64(sizeof(DbxValue) * ((sqlite3_uint64)nMembers + 1));
  if (f->aList == NULL) return SQLITE_NOMEM;
  for (i = 0; i < argc; i++) {
    const DbxPlanArg *a = &pPlan->aArg[i];
    DbxColClass eClass = a->iCol >= 0 ? p->aClass[a->iCol] : DBX_COL_INT;
    if (a->eOp == DBX_OP_IN) {
      f->aVal[i].aList = &f->aList[f->nList];
      for (rc = sqlite3_vtab_in_first(argv[i], &pMember);
           rc == SQLITE_OK && pMember;
           rc = sqlite3_vtab_in_next(argv[i], &pMember)) {
        if (f->nList >= nMembers) break;
        if (filter_value(f, pMember, eClass, 1, &f->aList[f->nList]))
          return SQLITE_NOMEM;
        f->nList++;
        f->aVal[i].nList++;
      }
      if (rc != SQLITE_DONE && rc != SQLITE_OK) return rc;
      rc = SQLITE_OK;
    } else if (a->eOp == DBX_OP_ISNULL || a->eOp == DBX_OP_NOTNULL) {
      continue; /* no value */
    } else if (filter_value(f, argv[i], eClass, 0, &f->aVal[i])) {
      return SQLITE_NOMEM;
    }
  }
  return SQLITE_OK;
}

/*
** True when a scan may return a large result: no LIMIT and no equality or
** IN term was pushed. Such scans ask for EXTERNAL_LINKS straight away
** rather than trying INLINE first, which fails past 25 MiB only after the
** warehouse has run the whole query once.
*/
static int plan_may_be_large(const DbxPlan *pPlan) {
  int i;
  for (i = 0; i < pPlan->nArg; i++) {
    switch (pPlan->aArg[i].eOp) {
    case DBX_OP_LIMIT:
    case DBX_OP_EQ:
    case DBX_OP_IS:
    case DBX_OP_IN:
      return 0;
    default:
      break;
    }
  }
  return 1;
}

/* What changes_sql() builds a change read's statement from. */
typedef struct ChangesBuild {
  const DbxVtab *p;
  const DbxPlan *pPlan;
  const DbxValue *aVal;
  int nArg;
} ChangesBuild;

/* DbxCdfSqlFn: the scan's statement with table_changes(...) as its
** source. The plan and values built once already, so only memory can
** fail. */
static char *changes_sql(void *pArg, const char *zSource) {
  ChangesBuild *b = pArg;
  DbxRemote r = b->p->remote;
  DbxScanSql s;
  DbxError e;
  char *zSql;
  dbx_error_clear(&e);
  r.zTable = zSource;
  if (dbx_pushdown_build(&r, b->pPlan, b->aVal, b->nArg, &s, &e)) return NULL;
  zSql = s.zSql;
  s.zSql = NULL;
  dbx_pushdown_scan_clear(&s);
  return zSql;
}

/*
** A scan of a changes=true table: the terms on _commit_version and
** _commit_timestamp bound the range, then cdf.h reads the latest version
** and runs the scan's statement over table_changes(). *ppRows is NULL when
** the range is empty.
*/
static int filter_changes(DbxVtab *p, const DbxPlan *pPlan,
                          const FilterArgs *f, int nArg, const DbxParam *aParam,
                          int nParam, const DbxStmtOptions *pOpt,
                          DbxRows **ppRows, DbxError *pErr) {
  DbxCdfTable t;
  DbxCdfRange range;
  ChangesBuild b;
  int i;
  dbx_cdf_range_init(&range);
  for (i = 0; i < nArg; i++) {
    const DbxPlanArg *a = &pPlan->aArg[i];
    if (a->iCol >= 0 && a->iCol == p->iCommitVersion) {
      dbx_cdf_range_add(&range, 0, a->eOp, &f->aVal[i]);
    } else if (a->iCol >= 0 && a->iCol == p->iCommitTs) {
      dbx_cdf_range_add(&range, 1, a->eOp, &f->aVal[i]);
    }
  }
  t.zCatalog = p->zCatalog;
  t.zSchema = p->zSchema;
  t.zName = p->zName;
  b.p = p;
  b.pPlan = pPlan;
  b.aVal = f->aVal;
  b.nArg = nArg;
  return dbx_cdf_read(p->pClient, &t, &range, changes_sql, &b, aParam, nParam,
                      pOpt, ppRows, NULL, pErr);
}

/*
** xFilter: rebuilds the plan from idxStr, turns argv into typed parameters
** (terms whose value cannot be pushed are dropped unless planned exact),
** runs the statement and positions the cursor on the first row. Errors go
** to the vtab's zErrMsg as one line.
*/
int dbx_vtab_filter(sqlite3_vtab_cursor *pCursor, int idxNum,
                    const char *idxStr, int argc, sqlite3_value **argv) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  DbxVtab *p = (DbxVtab *)pCursor->pVtab;
  DbxPlan plan;
  DbxScanSql s;
  FilterArgs f;
  DbxParam *aParam = NULL;
  DbxStmtOptions o;
  DbxError e;
  int i, rc;
  DBX_UNUSED(idxNum);
  dbx_error_clear(&e);
  memset(&s, 0, sizeof(s));
  memset(&f, 0, sizeof(f));
  dbx_rows_free(pCur->pRows);
  pCur->pRows = NULL;
  pCur->bEof = 1;

  if (p->broken.rc) return dbx_error_to_vtab(&p->base, &p->broken);
  rc = dbx_vtab_ready(p, &e);
  if (rc) return dbx_error_to_vtab(&p->base, &e);
  rc = dbx_pushdown_plan_decode(idxStr, &plan, &e);
  if (rc == SQLITE_OK && argc != plan.nArg) {
    rc = dbx_error_set(&e, SQLITE_ERROR,
                       "internal error: %d filter values for a plan of %d",
                       argc, plan.nArg);
  }
  if (rc == SQLITE_OK) {
    rc = filter_args_read(p, &plan, argc, argv, &f);
    if (rc)
      dbx_error_set(&e, rc, "cannot read the filter values (%s)",
                    sqlite3_errstr(rc));
  }
  if (rc == SQLITE_OK)
    rc = dbx_pushdown_build(&p->remote, &plan, f.aVal, argc, &s, &e);
  if (rc == SQLITE_OK && s.nParam) {
    aParam = sqlite3_malloc64(sizeof(DbxParam) * (sqlite3_uint64)s.nParam);
    if (aParam == NULL) rc = dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
    for (i = 0; rc == SQLITE_OK && i < s.nParam; i++) {
      aParam[i].zName = s.aParam[i].zName;
      aParam[i].zValue = s.aParam[i].zValue;
      aParam[i].zType = s.aParam[i].zType;
    }
  }
  if (rc == SQLITE_OK) {
    for (i = 0; i < p->remote.nCol; i++)
      pCur->aiOut[i] = -1;
    for (i = 0; i < s.nOut; i++) {
      if (s.aiCol[i] >= 0) pCur->aiOut[s.aiCol[i]] = i;
    }
    rc = dbx_vtab_stmt_options(p, &o, pCur->pProbe, &e);
    if (o.eDisposition == DBX_DISP_AUTO && plan_may_be_large(&plan)) {
      o.eDisposition = DBX_DISP_EXTERNAL_LINKS;
    }
  }
  if (rc == SQLITE_OK && p->args.bChanges) {
    rc = filter_changes(p, &plan, &f, argc, aParam, s.nParam, &o,
                        &pCur->pRows, &e);
  } else if (rc == SQLITE_OK) {
    rc = dbx_rows_execute(p->pClient, s.zSql, aParam, s.nParam, &o,
                          &pCur->pRows, &e);
  }
  sqlite3_free(aParam);
  dbx_pushdown_scan_clear(&s);
  filter_args_free(&f);
  if (rc == SQLITE_OK && pCur->pRows) {
    rc = dbx_rows_next(pCur->pRows, &e);
    if (rc == SQLITE_ROW) {
      pCur->bEof = 0;
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  if (rc != SQLITE_OK) return dbx_error_to_vtab(&p->base, &e);
  return SQLITE_OK;
}

/* xNext: the next row, fetching the next chunk when needed. */
int dbx_vtab_next(sqlite3_vtab_cursor *pCursor) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  DbxError e;
  int rc;
  dbx_error_clear(&e);
  rc = dbx_rows_next(pCur->pRows, &e);
  if (rc == SQLITE_ROW) return SQLITE_OK;
  pCur->bEof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  return dbx_error_to_vtab(pCursor->pVtab, &e);
}

/* xEof */
int dbx_vtab_eof(sqlite3_vtab_cursor *pCursor) {
  return ((DbxCursor *)pCursor)->bEof;
}

/* xColumn: a column not fetched (colUsed) reads as NULL; values are copied
** because the cell is only valid until the next row. */
/* The hidden key of a merge table's current row (see vtab.h). */
static int column_key(DbxCursor *pCur, sqlite3_context *ctx) {
  DbxVtab *p = (DbxVtab *)pCur->base.pVtab;
  DbxPqValue aVal[8], *a = aVal;
  DbxBuf b = {0};
  DbxError e;
  int i;
  dbx_error_clear(&e);
  if (p->nKey > 8) {
    a = sqlite3_malloc64(sizeof(DbxPqValue) * (sqlite3_uint64)p->nKey);
    if (a == NULL) return SQLITE_NOMEM;
  }
  for (i = 0; i < p->nKey; i++) {
    int iOut = pCur->aiOut[p->aiKey[i]];
    DbxCell cell;
    memset(&a[i], 0, sizeof(a[i]));
    a[i].eType = SQLITE_NULL;
    if (iOut < 0 || pCur->pRows == NULL) continue;
    if (dbx_rows_cell(pCur->pRows, iOut, &cell, &e) != SQLITE_OK) {
      if (a != aVal) sqlite3_free(a);
      dbx_error_to_context(ctx, &e);
      return SQLITE_OK;
    }
    switch (cell.eType) {
    case DBX_CELL_INTEGER:
      a[i].eType = SQLITE_INTEGER;
      a[i].i = cell.iVal;
      break;
    case DBX_CELL_REAL:
      a[i].eType = SQLITE_FLOAT;
      a[i].r = cell.rVal;
      break;
    case DBX_CELL_TEXT:
    case DBX_CELL_BLOB:
      a[i].eType = cell.eType == DBX_CELL_TEXT ? SQLITE_TEXT : SQLITE_BLOB;
      a[i].z = cell.z;
      a[i].n = (int)cell.n;
      break;
    default:
      break;
    }
  }
  dbx_vtab_key_put(&b, a, p->nKey);
  if (a != aVal) sqlite3_free(a);
  if (b.rc) {
    dbx_buf_free(&b);
    return SQLITE_NOMEM;
  }
  sqlite3_result_blob64(ctx, b.z, b.n, sqlite3_free);
  return SQLITE_OK;
}

int dbx_vtab_column(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx,
                    int iCol) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  DbxVtab *p = (DbxVtab *)pCursor->pVtab;
  DbxCell cell;
  DbxError e;
  int iOut;
  if (p->bMerge && iCol == p->remote.nCol) return column_key(pCur, ctx);
  iOut = iCol >= 0 && iCol < p->remote.nCol ? pCur->aiOut[iCol] : -1;
  if (iOut < 0 || pCur->pRows == NULL) return SQLITE_OK; /* NULL */
  dbx_error_clear(&e);
  if (dbx_rows_cell(pCur->pRows, iOut, &cell, &e) != SQLITE_OK) {
    dbx_error_to_context(ctx, &e);
    return SQLITE_OK;
  }
  switch (cell.eType) {
  case DBX_CELL_INTEGER:
    sqlite3_result_int64(ctx, cell.iVal);
    break;
  case DBX_CELL_REAL:
    sqlite3_result_double(ctx, cell.rVal);
    break;
  case DBX_CELL_TEXT:
    sqlite3_result_text64(ctx, cell.z, cell.n, SQLITE_TRANSIENT, SQLITE_UTF8);
    break;
  case DBX_CELL_BLOB:
    sqlite3_result_blob64(ctx, cell.z, cell.n, SQLITE_TRANSIENT);
    break;
  default:
    break;
  }
  return SQLITE_OK;
}

/* xRowid: the 1-based row number within this scan. */
int dbx_vtab_rowid(sqlite3_vtab_cursor *pCursor, sqlite3_int64 *pRowid) {
  DbxCursor *pCur = (DbxCursor *)pCursor;
  *pRowid = pCur->pRows ? dbx_stmt_rownum(dbx_rows_stmt(pCur->pRows)) : 0;
  return SQLITE_OK;
}
