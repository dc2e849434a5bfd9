/*
** commit.h: loading staged Parquet files into a Delta table, once
** (commit.c, engine layer).
**
** The SQL surface (an INSERT into a `databricks` table at its commit,
** dbx_export()) writes the rows to local Parquet files and hands them here
** with a DbxCommitSpec. dbx_commit_append() then
**
**   1. makes sure the target exists: CREATE TABLE IF NOT EXISTS from the
**      spec's columns when it is missing and may be created, ALTER TABLE
**      ... ADD COLUMNS for columns it lacks (never a drop or a retype);
**   2. makes sure the staging volume exists (CREATE VOLUME IF NOT EXISTS);
**   3. uploads the files, several at a time, to one directory of the
**      volume whose name is fixed by the commit (see "Exactly once" in
**      commit.c), overwriting what an earlier try left there;
**   4. runs one COPY INTO ... FILES = (...) without `force`, sent again
**      after a lost reply: files already loaded are skipped, so a repeat
**      loads nothing. A merge instead copies the files into a stage table
**      (CREATE TABLE IF NOT EXISTS, named after the commit), applies it
**      with one MERGE WITH SCHEMA EVOLUTION (sqlgen.h: versions decide,
**      so applying it twice changes nothing) and drops it, also when the
**      merge failed. A replace goes through a stage table the same way,
**      applied with one INSERT OVERWRITE;
**   5. removes the directory (unless bKeep). A failure here does not undo
**      the commit: it is reported in the report's zCleanup and the files
**      stay behind.
**
** Any failure before the load leaves the table's rows as they were (a
** table created or columns added in step 1 stay: both are harmless to
** repeat), and the files of a load that failed are removed. When the load's
*outcome cannot be known (its reply was lost
** and the retries ran out), the error says so, with the staged path and
** the statement id, and pErr->bUncertain is set.
*/
#ifndef DBX_COMMIT_H
#define DBX_COMMIT_H

#include "client.h"
#include "sqlgen.h"
#include "statements.h"

/* One commit: what is loaded where. Strings are borrowed. */
typedef struct DbxCommitSpec {
  const char *zCatalog; /* the target table, unquoted parts */
  const char *zSchema;
  const char *zTable;
  const DbxSqlCol *aCol; /* the staged files' columns and their Databricks
                         ** types, which a created table or added column
                         ** takes; nCol >= 1 */
  int nCol;
  const DbxSqlCol *aCreate; /* the columns a created table gets (a model's),
                            ** NULL: aCol; columns of aCol it lacks are
                            ** then added */
  int nCreate;
  int bCreate;               /* create the table when it is missing */
  int bCdf;                  /* ... with delta.enableChangeDataFeed = true */
  const char *zHowToCreate;  /* what the error for a missing table suggests
                             ** ("give create='col TYPE, ...' or model=") */
  const char *zStageCatalog; /* the staging volume, unquoted parts */
  const char *zStageSchema;
  const char *zStageVolume;
  const char *zKey;           /* the commit's name in the volume: [A-Za-z0-9_-]
                              ** 1..200 bytes, fixed for one commit and different
                              ** for every other (see commit.c) */
  int nParallel;              /* uploads at once, 1..64 */
  const char *const *azLocal; /* the local Parquet files, nLocal >= 1 */
  int nLocal;
  const char *zPlanLocal; /* NULL, or a local file uploaded first as
                          ** "_plan.json" in the directory and never loaded:
                          ** what a repeat of the commit must do again */
  int bKeep;              /* leave the directory (step 5) to the caller */
  /* merge: the files hold upserts and deletes, one row per key, with the
  ** last column DBX_SQL_OP_COLUMN ('upsert' or 'delete', not in aCol) */
  const char *const *azKey; /* merge key columns; nKey 0: an append */
  int nKey;
  const char *const *azVersion; /* version columns (0 or more) */
  int nVersion;
  int bReplace; /* the files replace every row of the table (through
                ** a stage table and INSERT OVERWRITE) */
} DbxCommitSpec;

/* What a commit did. */
typedef struct DbxCommitReport {
  int bCreated;        /* the table was created */
  int nAdded;          /* columns added */
  int bVolumeCreated;  /* the staging volume was created */
  int nFile;           /* files uploaded */
  int64_t nByte;       /* bytes uploaded */
  int64_t nLoaded;     /* rows COPY INTO inserted (0: already loaded) */
  char zStatement[80]; /* COPY INTO's statement id, or "" */
  char zDir[512];      /* the staged directory (/Volumes/...) */
  int64_t msPrepare;   /* steps 1-2 */
  int64_t msUpload;    /* step 3 */
  int64_t msLoad;      /* step 4 */
  int64_t msCleanup;   /* step 5 */
  char zCleanup[256];  /* why step 5 failed, or "" */
} DbxCommitReport;

/*
** Runs the commit described by pSpec on the warehouse of pOpt (its
** interrupt probe stops uploads and statements). Returns SQLITE_OK with
** *pRep filled, or an error in pErr (pRep holds what was done so far).
*/
int dbx_commit_append(DbxClient *pClient, const DbxStmtOptions *pOpt,
                      const DbxCommitSpec *pSpec, DbxCommitReport *pRep,
                      DbxError *pErr);

/* The name of the plan file a commit uploads first (zPlanLocal). */
#define DBX_COMMIT_PLAN "_plan.json"

/*
** The directory a commit stages its files in: "/Volumes/<azStage, three
** parts>/<digest of azTable's three parts>/<zKey>/", unencoded (the Files
** API client encodes each part). sqlite3_malloc; NULL when out of memory.
*/
char *dbx_commit_dir(const char *const azStage[3], const char *const azTable[3],
                     const char *zKey);

/*
** The columns of aCol that table pInfo lacks (names compared ignoring
** ASCII case, as Databricks does) into *paOut (sqlite3_malloc; borrowing
** aCol's strings) and *pnOut; and, for each column of aCol, the type to
** load it as into azType (borrowed): the remote type when the table has
** the column, else its own. Returns SQLITE_OK or SQLITE_NOMEM.
*/
struct DbxTableInfo;
int dbx_commit_columns(const struct DbxTableInfo *pInfo, const DbxSqlCol *aCol,
                       int nCol, DbxSqlCol **paOut, int *pnOut,
                       const char **azType);

#endif /* DBX_COMMIT_H */
