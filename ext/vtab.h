/*
** vtab.h: what the files of the `databricks` virtual table module share.
**
**   CREATE VIRTUAL TABLE orders USING databricks(table='main.sales.orders');
**   SELECT * FROM orders WHERE status IN ('open','held') ORDER BY id;
**
** The module is split by what each part serves, as FTS5 is:
**   vtab.c       the module table, xCreate/xConnect/xDisconnect/xDestroy/
**                xRename/xShadowName, the stored-columns shadow table
**                "<name>_columns", writes refused, and dbx_refresh();
**   vtab_args.c  the CREATE VIRTUAL TABLE arguments, parsed into a
**                DbxVtabArgs by a table of known arguments;
**   vtab_scan.c  reading: xBestIndex (the remote plan), xOpen, xFilter,
**                xNext, xEof, xColumn, xRowid, and the cursor; a
**                changes=true table reads through cdf.h.
**   vtab_txn.c   writing: xUpdate staging rows in a spool (spool.h) and
**                xBegin/xSync/xCommit/xRollback/xSavepoint/xRelease/
**                xRollbackTo, the commit handing them to commit.h.
**
** Only these files see DbxVtab; the rest of the extension knows the module
** by dbx_vtab_module (dbx_int.h).
*/
#ifndef DBX_VTAB_H
#define DBX_VTAB_H

#include "args.h"
#include "parquet.h"
#include "pushdown.h"
#include "session.h"
#include "sqlgen.h"

/* ---------------------------------------------------------------------
** vtab_args.c: the arguments of CREATE VIRTUAL TABLE.
*/

/* What an argument is for, which says where it goes. */
typedef enum DbxVtabArgKind {
  DBX_VTAB_ARG_SOURCE = 1, /* what the table reads: table=, query= */
  DBX_VTAB_ARG_STMT,       /* a statement option (statements.h) */
  DBX_VTAB_ARG_SETTING,    /* a config setting (config.h) */
  DBX_VTAB_ARG_WRITE       /* how writes commit: create=, model=, ... */
} DbxVtabArgKind;

/* The parsed arguments of CREATE VIRTUAL TABLE. */
typedef struct DbxVtabArgs {
  int nArg;               /* entries in azKey, azVal and aeKind */
  char **azKey;           /* owned; lower-case keys */
  char **azVal;           /* owned; dequoted values, wiped when freed */
  DbxVtabArgKind *aeKind; /* owned; what each argument is for */
  const char *zTable;     /* borrowed from azVal: table=, or NULL */
  const char *zQuery;     /* borrowed from azVal: query=, or NULL */
  int bChanges;           /* changes=true: the table's change feed */
  /* writes (vtab_txn.c); strings borrowed from azVal, NULL when not given */
  const char *zCreate;         /* create=: the columns of a missing table */
  const char *zModel;          /* model=: a model's columns instead */
  const char *zIngestedAt;     /* ingested_at=: column set to commit time */
  const char *zStagingVolume;  /* staging_volume=: catalog.schema.volume */
  int bCdf;                    /* change_data_feed=true */
  int bJsonString;             /* json_as='string' (default 'variant') */
  const char *zMode;           /* mode=: 'append' or 'merge', or NULL */
  const char *zMergeKeys;      /* merge_keys='k1, k2' */
  const char *zVersionColumns; /* version_columns='v1, v2' */
  int nParallel;               /* parallel_uploads=, default 4 */
  DbxArgsOptions opts;         /* owned; settings (aOpt) and statement options
                               ** (aStmt, checked), borrowing azKey/azVal */
} DbxVtabArgs;

/*
** Parses the key=value arguments argv[3..argc) of xCreate/xConnect into
** *a: each key is looked up in the table of known arguments, settings are
** checked against config.h (unknown keys and literal secrets are refused
** there) and statement options against statements.h, so a mistake shows at
** CREATE time with the list of known options. No argument's text appears
** in an error unless it is a name. Returns SQLITE_OK or an error in pErr;
** dbx_vtab_args_free() after either.
*/
int dbx_vtab_args_parse(int argc, const char *const *argv, DbxVtabArgs *a,
                        DbxError *pErr);

/* Frees what *a owns, wiping the values (they may name secrets). */
void dbx_vtab_args_free(DbxVtabArgs *a);

/*
** The arguments of a stored definition: zSql is the text sqlite_schema
** holds for a virtual table (CREATE VIRTUAL TABLE name USING module(...)),
** split into arguments where SQLite splits them (commas outside
** parentheses and quotes; comments and blanks around each dropped) and
** parsed by dbx_vtab_args_parse. *pzModule gets the module's name as
** written (sqlite3_free), so the caller can check it is `databricks`
** (before trusting an error about the arguments). Returns SQLITE_OK or an
** error in pErr; dbx_vtab_args_free() and sqlite3_free(*pzModule) after
** either.
*/
int dbx_vtab_args_from_sql(const char *zSql, char **pzModule, DbxVtabArgs *a,
                           DbxError *pErr);

/* ---------------------------------------------------------------------
** vtab.c: one `databricks` virtual table.
*/

/* One `databricks` virtual table. */
typedef struct DbxVtab {
  sqlite3_vtab base;       /* must come first */
  sqlite3 *db;             /* the connection (interrupt probe) */
  DbxSession *pSession;    /* borrowed: the module's client data */
  char *zDb;               /* owned; schema holding the table ("main") */
  char *zVtabName;         /* owned; the table's name in SQLite */
  DbxVtabArgs args;        /* owned; the CREATE VIRTUAL TABLE arguments */
  DbxConfig *pConfig;      /* owned; resolved settings, NULL until first use */
  DbxClient *pClient;      /* borrowed from the session; NULL until first use */
  char *zCatalog;          /* owned; table=: resolved catalog */
  char *zSchema;           /* owned; table=: resolved schema */
  char *zName;             /* owned; table=: the table's own name */
  DbxError broken;         /* why the stored columns are missing, or clear */
  int bListed;             /* in the session's list of connected tables */
  struct DbxVtab *pNext;   /* next connected table of the session */
  char *zDisplay;          /* owned; what errors call the table */
  DbxRemote remote;        /* what pushdown.c reads; strings below */
  char *zTable;            /* owned; quoted three-part name, or NULL */
  char *zQuery;            /* owned; query= text, or NULL */
  char **azCol;            /* owned; remote column names */
  char **azType;           /* owned; type_text of each column */
  DbxColClass *aClass;     /* owned; class of each column */
  struct DbxVtabTxn *pTxn; /* owned; the open write transaction, or NULL */
  int bMerge;              /* merge mode: declared WITHOUT ROWID, keyed by the
                           ** hidden column _dbx_key after the others */
  int *aiKey;              /* owned; merge key columns */
  int nKey;
  int *aiVersion; /* owned; version columns */
  int nVersion;
  int iCommitVersion;    /* changes=true: the _commit_version column */
  int iCommitTs;         /* changes=true: the _commit_timestamp column */
} DbxVtab;

/*
** Resolves the settings of the table and finds its client, the first time
** the table needs the network (xCreate, or the first scan after xConnect).
** Returns SQLITE_OK (at once when already done) or an error in pErr, after
** which the next call tries again from the start.
*/
int dbx_vtab_ready(DbxVtab *p, DbxError *pErr);

/*
** Fills *pOpt for a statement of the table: the session's settings, then
** the table's statement options, then pProbe (may be NULL) as the
** interrupt probe. Returns SQLITE_OK or an error in pErr.
*/
int dbx_vtab_stmt_options(DbxVtab *p, DbxStmtOptions *pOpt,
                          sqlite3_stmt *pProbe, DbxError *pErr);

/*
** The columns a write may add to the remote table: those of create= or
** model= (VARIANT as STRING under json_as='string') and the ingested_at
** column (TIMESTAMP; model= may name it) when they do not list it. On
** SQLITE_OK *paCol is one sqlite3_malloc block holding the array and its
** strings (NULL when there are none), *pnCol its length and *pzIngested
** (may be NULL) the ingested_at column's name in it, or NULL. Returns
** SQLITE_OK or an error in pErr.
*/
int dbx_vtab_spec_columns(const DbxVtabArgs *a, DbxSqlCol **paCol, int *pnCol,
                          const char **pzIngested, DbxError *pErr);

/*
** The merge keys and version columns the arguments give (merge_keys= and
** version_columns=, or the model's), as lists of names: *pazKey and
** *pazVersion are each one sqlite3_malloc block (NULL when empty). Sets
** *pbMerge when the table is in merge mode: keys are known and mode= is
** not 'append'. Returns SQLITE_OK or an error in pErr (mode='merge'
** without keys, an empty name).
*/
int dbx_vtab_merge_names(const DbxVtabArgs *a, int *pbMerge, char ***pazKey,
                         int *pnKey, char ***pazVersion, int *pnVersion,
                         DbxError *pErr);

/* The name of the hidden key column of a merge table. */
#define DBX_VTAB_KEY_COLUMN "_dbx_key"

/* ---------------------------------------------------------------------
** vtab_txn.c: writing. INSERT stages rows in the transaction's spool; the
** SQLite commit (xSync) loads them into the remote table (commit.h).
*/

/* The shadow table of a table's commit sequence: "<name>_state". */
int dbx_vtab_state_create(DbxVtab *p, DbxError *pErr);

/*
** The value of the hidden key column of a merge table: the nKey values of
** the key columns of a row, appended to pBuf as a blob that
** dbx_vtab_key_get() reads back (the same values, the same types).
*/
void dbx_vtab_key_put(DbxBuf *pBuf, const DbxPqValue *aVal, int nKey);
int dbx_vtab_key_get(const unsigned char *z, int n, DbxPqValue *aVal, int nKey);

/* Frees the open write transaction, if any (xDisconnect and friends). */
void dbx_vtab_txn_free(DbxVtab *p);

int dbx_vtab_update(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                    sqlite3_int64 *pRowid);
int dbx_vtab_begin(sqlite3_vtab *pVtab);
int dbx_vtab_sync(sqlite3_vtab *pVtab);
int dbx_vtab_commit(sqlite3_vtab *pVtab);
int dbx_vtab_rollback(sqlite3_vtab *pVtab);
int dbx_vtab_savepoint(sqlite3_vtab *pVtab, int iSave);
int dbx_vtab_release(sqlite3_vtab *pVtab, int iSave);
int dbx_vtab_rollback_to(sqlite3_vtab *pVtab, int iSave);

/* ---------------------------------------------------------------------
** vtab_scan.c: reading. The sqlite3_module methods of a scan; errors go to
** the vtab's zErrMsg as one line (xColumn: to the context).
*/

int dbx_vtab_best_index(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo);
int dbx_vtab_open(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCursor);
int dbx_vtab_close(sqlite3_vtab_cursor *pCursor);
int dbx_vtab_filter(sqlite3_vtab_cursor *pCursor, int idxNum,
                    const char *idxStr, int argc, sqlite3_value **argv);
int dbx_vtab_next(sqlite3_vtab_cursor *pCursor);
int dbx_vtab_eof(sqlite3_vtab_cursor *pCursor);
int dbx_vtab_column(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx,
                    int iCol);
int dbx_vtab_rowid(sqlite3_vtab_cursor *pCursor, sqlite3_int64 *pRowid);

#endif /* DBX_VTAB_H */
