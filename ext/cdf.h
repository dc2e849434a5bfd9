/*
** cdf.h: reading a Delta table's Change Data Feed (cdf.c), the engine of
** `databricks(table=..., changes=true)` and of dbx_sync().
**
**   SELECT <cols> FROM table_changes('`c`.`s`.`t`', 3, 7) WHERE ...
**
** A change read is bounded by versions (and commit timestamps), both ends
** inclusive as table_changes() takes them. The latest version is read
** first (DESCRIBE HISTORY ... LIMIT 1), so a range beyond it is empty
** rather than Databricks' DELTA_CDC_START_VERSION_AFTER_LATEST, and the end
** is never past it: changes committed during a read wait for the next one.
** Without a lower bound the read starts at the first version that has
** change data (see dbx_cdf_read). The errors of a range that cannot be
** read (change feed off, versions before it was enabled, vacuumed or
** expired history) become one line that says what to do.
**
** No sqlite3 values or vtabs here: the constraints come in as pushdown.h
** values, the rows go out as DbxRows (rows.h).
*/
#ifndef DBX_CDF_H
#define DBX_CDF_H

#include "dbx_int.h"
#include "pushdown.h"
#include "rows.h"

/* "No bound" for a version of DbxCdfRange and DbxCdfHistory. */
#define DBX_CDF_NONE ((int64_t)-1)

/* The columns table_changes() adds to the table's own, in this order. */
#define DBX_CDF_CHANGE_TYPE      "_change_type"
#define DBX_CDF_COMMIT_VERSION   "_commit_version"
#define DBX_CDF_COMMIT_TIMESTAMP "_commit_timestamp"

/* A table whose change feed is read: its three unquoted name parts. */
typedef struct DbxCdfTable {
  const char *zCatalog;
  const char *zSchema;
  const char *zName;
} DbxCdfTable;

/* The latest version of a table, from DESCRIBE HISTORY ... LIMIT 1. */
typedef struct DbxCdfLatest {
  int64_t iVersion;    /* 0 or more */
  char zTimestamp[40]; /* its commit time, 'YYYY-MM-DD HH:MM:SS[.f]' UTC,
                       ** or "" when it could not be read */
} DbxCdfLatest;

/*
** The bounds of a change read, both inclusive. A timestamp bound is a
** text 'YYYY-MM-DD HH:MM:SS[.f]' in UTC (what TIMESTAMP columns read as).
*/
typedef struct DbxCdfRange {
  int64_t iStart;    /* first version, or DBX_CDF_NONE */
  int64_t iEnd;      /* last version, or DBX_CDF_NONE */
  char zStartTs[40]; /* commits at or after this time, or "" */
  char zEndTs[40];   /* commits at or before this time, or "" */
  int bEmpty;        /* the bounds contradict: no change can match */
} DbxCdfRange;

/* What the whole history of a table says about its change feed. */
typedef struct DbxCdfHistory {
  int64_t iLatest;   /* newest version listed */
  int64_t iEarliest; /* oldest version still listed (older ones expired) */
  int64_t iFirstCdf; /* the version from which the change feed has been
                     ** on through iLatest; DBX_CDF_NONE when it is off */
  int bDecided;      /* a listed commit set the feed on or off; when none
                     ** did, iFirstCdf is iEarliest (a guess) */
  int nRows;         /* history rows seen */
} DbxCdfHistory;

/* An empty range: no bound, nothing contradicts. */
void dbx_cdf_range_init(DbxCdfRange *p);

/*
** Narrows p by one constraint as SQLite sees it: `_commit_version <eOp>
** pVal` (bTimestamp 0) or `_commit_timestamp <eOp> pVal` (bTimestamp 1).
** Only what surely holds for every row SQLite keeps narrows the range
** (EQ, IS, LT, LE, GT, GE, and IN on versions, with numbers for versions
** and timestamp texts pushdown.c accepts); anything else leaves p as it is,
** so the range is always a superset and SQLite's own check decides.
*/
void dbx_cdf_range_add(DbxCdfRange *p, int bTimestamp, DbxOp eOp,
                       const DbxValue *pVal);

/*
** Settles p for a read against the latest version: a missing start
** becomes iFirst (when no start timestamp is given either), the end never
** passes pLatest, a start timestamp is kept only without a start version,
** an end timestamp only without an end version and before the latest
** commit. Returns 1 when versions remain to be read, 0 when the range is
** empty (beyond the latest version, after the latest commit, end before
** start, or p->bEmpty).
*/
int dbx_cdf_range_settle(DbxCdfRange *p, const DbxCdfLatest *pLatest,
                         int64_t iFirst);

/*
** Appends table_changes('`c`.`s`.`t`', start [, end]) for a settled range:
** versions as numbers, timestamps as 'YYYY-MM-DD HH:MM:SS[.f]Z' literals.
** Returns SQLITE_OK, or an error in pErr (a bound that is neither).
*/
int dbx_cdf_source(DbxBuf *pBuf, const DbxCdfTable *pT, const DbxCdfRange *p,
                   DbxError *pErr);

/* Appends ALTER TABLE `c`.`s`.`t` SET TBLPROPERTIES
** (delta.enableChangeDataFeed = true): what turns the change feed on. */
void dbx_cdf_enable_sql(DbxBuf *pBuf, const DbxCdfTable *pT);

/* Appends DESCRIBE HISTORY `c`.`s`.`t`, with " LIMIT n" when n > 0. */
void dbx_cdf_history_sql(DbxBuf *pBuf, const DbxCdfTable *pT, int nLimit);

/*
** Feeds one row of DESCRIBE HISTORY (newest first) to *p, after
** dbx_cdf_history_init: its version, operation and operationParameters
** (as text; may be NULL). The newest commit that set
** delta.enableChangeDataFeed (CREATE, REPLACE, SET or UNSET TBLPROPERTIES)
** decides where the feed starts.
*/
void dbx_cdf_history_init(DbxCdfHistory *p);
void dbx_cdf_history_row(DbxCdfHistory *p, int64_t iVersion,
                         const char *zOperation, const char *zParams);

/*
** Rewrites the error of a change read of pT over pRange (settled) into one
** line that says what to do, when its error class is one of the change
** feed's: off, versions without change data, vacuumed or expired history,
** a schema change inside the range. pHist (may be NULL) is the table's
** history, which says which. The error class, HTTP status and statement
** id stay; other errors are left as they are.
*/
void dbx_cdf_error(DbxError *pErr, const DbxCdfTable *pT,
                   const DbxCdfRange *pRange, const DbxCdfHistory *pHist);

/* Whether pErr is one of the errors dbx_cdf_error rewrites: a range the
** change feed cannot give (off, gone, or across a schema change). */
int dbx_cdf_unreadable(const DbxError *pErr);

/* Reads the latest version (DESCRIBE HISTORY ... LIMIT 1), checked to be
** a whole number 0 or more. */
int dbx_cdf_latest(DbxClient *pClient, const DbxCdfTable *pT,
                   const DbxStmtOptions *pOpt, DbxCdfLatest *pOut,
                   DbxError *pErr);

/* Reads the whole history (DESCRIBE HISTORY) into *pOut. */
int dbx_cdf_history(DbxClient *pClient, const DbxCdfTable *pT,
                    const DbxStmtOptions *pOpt, DbxCdfHistory *pOut,
                    DbxError *pErr);

/*
** Builds the SQL of one attempt of a change read around zSource, the
** table_changes(...) call: "SELECT ... FROM <zSource> WHERE ...". Returns a
** string from sqlite3_malloc, or NULL when out of memory.
*/
typedef char *(*DbxCdfSqlFn)(void *pArg, const char *zSource);

/*
** Runs a change read of pT over pRange (as the constraints give it, not
** settled): reads the latest version, settles the range (from version 0
** when it has no start) and runs xSql's statement (NULL: SELECT *) with
** aParam. Returns SQLITE_OK with *ppRows the rows, or NULL when the range
** is empty and nothing was sent; *pSettled (may be NULL) gets the range
** read. Or an error in pErr, in the words of dbx_cdf_error.
**
** The start: a range without one reads from version 0 first, which is
** right for every table created with the feed on and costs no extra
** statement. When Databricks answers that early versions have no change
** data (the feed was enabled later) or are gone (vacuumed, expired), the
** whole history says from where it can be read (the commit that enabled
** the feed, the oldest version still listed) and the read runs once more
** from there. A start the caller gave is kept, and its error reported.
*/
int dbx_cdf_read(DbxClient *pClient, const DbxCdfTable *pT,
                 const DbxCdfRange *pRange, DbxCdfSqlFn xSql, void *pArg,
                 const DbxParam *aParam, int nParam, const DbxStmtOptions *pOpt,
                 DbxRows **ppRows, DbxCdfRange *pSettled, DbxError *pErr);

#endif /* DBX_CDF_H */
