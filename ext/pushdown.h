/*
** pushdown.h: the remote plan of a `databricks` virtual table scan
** (pushdown.c).
**
** vtab.c describes what SQLite offers in xBestIndex (columns, constraints,
** ORDER BY, LIMIT/OFFSET) with the neutral types below; pushdown.c decides
** what can run remotely without changing the answer SQLite would give,
** carries that plan to xFilter as an idxStr, and turns it plus the actual
** values into Databricks SQL with named :parameters. Nothing here touches
** sqlite3 values, vtabs or the network.
**
** Exactness. A term is "exact" when the remote filter selects precisely the
** rows SQLite's own comparison would keep, so SQLite may omit its check;
** "superset" when the remote filter keeps at least those rows (SQLite
** re-checks); "skip" when it cannot be pushed for that value. The rules
** depend on the column's class (below) and on the value's type as SQLite's
** comparison sees it, i.e. after the column affinity was applied (vtab.c
** applies numeric affinity for numeric classes before calling in).
*/
#ifndef DBX_PUSHDOWN_H
#define DBX_PUSHDOWN_H

#include "dbx_int.h"
#include "sqlgen.h"

/*
** The class of a remote column from its type_text (e.g. "DECIMAL(10,2)",
** "STRING COLLATE UTF8_LCASE"), falling back to type_name when type_text is
** NULL or empty. Case-insensitive. The class of each type is in the type
** table of sqlgen.c; a DECIMAL is DBX_COL_DECIMAL only when it is read as
** REAL, and a text type with a non-binary collation is DBX_COL_OTHER.
*/
DbxColClass dbx_pushdown_class(const char *zTypeText, const char *zTypeName);

/* Constraint operators, as SQLite offers them. */
typedef enum DbxOp {
  DBX_OP_EQ = 1,
  DBX_OP_NE,
  DBX_OP_LT,
  DBX_OP_LE,
  DBX_OP_GT,
  DBX_OP_GE,
  DBX_OP_IS,      /* null-safe equality: <=> */
  DBX_OP_ISNOT,   /* NOT (a <=> b) */
  DBX_OP_ISNULL,  /* no value */
  DBX_OP_NOTNULL, /* no value */
  DBX_OP_LIKE,    /* SQLite LIKE: ASCII case-insensitive, no escape */
  DBX_OP_IN,      /* an IN list handed over all at once (sqlite3_vtab_in) */
  DBX_OP_LIMIT,   /* the LIMIT count */
  DBX_OP_OFFSET   /* the OFFSET count */
} DbxOp;

/* A value as SQLite's comparison would see it. */
typedef enum DbxValType {
  DBX_VAL_NULL = 0,
  DBX_VAL_INT,
  DBX_VAL_REAL,
  DBX_VAL_TEXT,
  DBX_VAL_BLOB
} DbxValType;

typedef struct DbxValue DbxValue;
struct DbxValue {
  DbxValType eType;      /* what the fields below hold */
  int64_t i;             /* DBX_VAL_INT */
  double r;              /* DBX_VAL_REAL */
  const char *z;         /* DBX_VAL_TEXT (UTF-8) or BLOB bytes; borrowed */
  int n;                 /* bytes in z */
  int nList;             /* DBX_OP_IN: number of values in aList, else 0 */
  const DbxValue *aList; /* DBX_OP_IN: the list members; borrowed */
};

/* The verdict of dbx_pushdown_judge(). */
typedef enum DbxJudge {
  DBX_JUDGE_SKIP = 0, /* not pushed: SQLite filters */
  DBX_JUDGE_SUPERSET, /* pushed; SQLite must re-check (omit=0) */
  DBX_JUDGE_EXACT     /* pushed exactly; SQLite may omit its check */
} DbxJudge;

/*
** Judges constraint eOp on a column of class eClass. bBinary says the
** comparison's collation is BINARY (sqlite3_vtab_collation). pVal is the
** value when it is known (xFilter, or sqlite3_vtab_rhs_value in
** xBestIndex), NULL when it is not: then the verdict is the best the term
** can get for some value, and DBX_JUDGE_EXACT only when every value would
** be exact (IS NULL, IN on numeric columns).
*/
DbxJudge dbx_pushdown_judge(DbxColClass eClass, DbxOp eOp, int bBinary,
                            const DbxValue *pVal);

/* Whether ORDER BY on a column of this class can run remotely unchanged. */
int dbx_pushdown_orderable(DbxColClass eClass);

#define DBX_PLAN_MAX_ARG   64 /* argv slots one plan can use */
#define DBX_PLAN_MAX_ORDER 16 /* ORDER BY terms one plan can push */

/* One argv slot of xFilter: a WHERE term, or the LIMIT or OFFSET count. */
typedef struct DbxPlanArg {
  int iCol;   /* vtab column; -1 for LIMIT/OFFSET */
  DbxOp eOp;  /* operator */
  int bExact; /* 1: SQLite omits its check, so the term must be pushed */
} DbxPlanArg;

/* One ORDER BY term pushed remotely. */
typedef struct DbxPlanOrder {
  int iCol;  /* vtab column */
  int bDesc; /* DESC (NULLS LAST) rather than ASC (NULLS FIRST) */
} DbxPlanOrder;

/* What xBestIndex chose; travels to xFilter as idxStr. */
typedef struct DbxPlan {
  uint64_t colUsed;                        /* sqlite3_index_info.colUsed */
  int nArg;                                /* argv slots used */
  DbxPlanArg aArg[DBX_PLAN_MAX_ARG];       /* in argv order */
  int nOrder;                              /* ORDER BY terms pushed */
  DbxPlanOrder aOrder[DBX_PLAN_MAX_ORDER]; /* in ORDER BY order */
} DbxPlan;

struct DbxRemote;

/*
** Writes pPlan as idxStr (sqlite3_malloc; NULL when out of memory) and
** reads one back. With pRemote, the string starts with the shape of the
** remote statement (values as ?, zFrom naming the source), which is what
** EXPLAIN QUERY PLAN shows; the plan itself follows as a comment
** "/" "* c<hex colUsed>;a<col>:<op>:<exact>,...;o<col>:<desc>,... *" "/".
** dbx_pushdown_plan_decode returns SQLITE_OK, or SQLITE_ERROR with pErr
** set when z is not a plan this file wrote.
*/
char *dbx_pushdown_plan_encode(const DbxPlan *pPlan,
                               const struct DbxRemote *pRemote,
                               const char *zFrom);
int dbx_pushdown_plan_decode(const char *z, DbxPlan *pPlan, DbxError *pErr);

/* The remote relation a vtab reads: a table or a query. */
typedef struct DbxRemote {
  const char *zTable;        /* quoted three-part name (`c`.`s`.`t`), or NULL */
  const char *zQuery;        /* the query= text when zTable is NULL */
  int nCol;                  /* columns of the vtab */
  const char *const *azCol;  /* remote column names (unquoted) */
  const DbxColClass *aClass; /* class of each column */
  int bNoProject; /* select every column (duplicate names in a query) */
} DbxRemote;

/* One named statement parameter of the generated SQL. */
typedef struct DbxPushParam {
  char zName[16];    /* "p0", "p1" ... (the SQL says :p0) */
  const char *zType; /* Databricks type: BIGINT, DOUBLE, STRING, DATE, BOOLEAN;
                        static */
  char *zValue;      /* value text (sqlite3_malloc), NULL for SQL NULL */
} DbxPushParam;

/* The SQL one scan runs, with its parameters and result layout. */
typedef struct DbxScanSql {
  char *zSql;           /* owned (sqlite3_malloc) */
  int nParam;           /* parameters in aParam */
  DbxPushParam *aParam; /* owned */
  int nOut;             /* result columns */
  int *aiCol; /* result column i holds vtab column aiCol[i]; -1 none */
} DbxScanSql;

/*
** Builds the remote SELECT of pPlan for the argv values aArg (nArg of them,
** in plan order; IN slots carry their list in aList). Terms whose value
** cannot be pushed are left to SQLite unless the plan marked them exact,
** which is an error (the plan no longer matches the values). Returns
** SQLITE_OK and fills *pOut (release with dbx_pushdown_scan_clear), or an
** error code with pErr set.
*/
int dbx_pushdown_build(const DbxRemote *pRemote, const DbxPlan *pPlan,
                       const DbxValue *aArg, int nArg, DbxScanSql *pOut,
                       DbxError *pErr);
void dbx_pushdown_scan_clear(DbxScanSql *p);

#endif /* DBX_PUSHDOWN_H */
