/*
** fn_volume.c: files in Unity Catalog volumes, from SQL.
**
**   SELECT dbx_volume_put('/tmp/out.parquet',
*'/Volumes/main/raw/land/a.parquet');
**   SELECT dbx_volume_put('/tmp/batch', '/Volumes/main/raw/land/b/',
**                         '{"parallel": 8, "overwrite": false}');
**   SELECT dbx_volume_get('/Volumes/main/raw/land/a.parquet', '/tmp/a.parquet',
**                         '{"offset": 0, "length": 4}');
**   SELECT dbx_volume_mkdir('/Volumes/main/raw/land/new');
**   SELECT dbx_volume_rm('/Volumes/main/raw/land/b', '{"recursive": true}');
**   SELECT name, file_size FROM dbx_volume_ls('/Volumes/main/raw/land');
**
** Each takes, last, an options_json with the connection settings that
** dbx_exec() takes (profile, host, token as env:NAME ...) besides its own
** options. dbx_volume_put() and dbx_volume_get() return a JSON report;
** dbx_volume_rm() and dbx_volume_mkdir() return 1. All are DIRECTONLY:
** they read and write local files and use the network, so no view or
** trigger of a database file can call them. The work is files.c's.
**
** This is the SQL surface: sqlite3 contexts and vtabs stop here.
*/
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "files.h"

/* ---------------------------------------------------------------------
** Options
*/

/* Options of the volume functions, besides connection settings. */
#define OPT_PARALLEL  0x01
#define OPT_OVERWRITE 0x02
#define OPT_RECURSIVE 0x04
#define OPT_OFFSET    0x08
#define OPT_LENGTH    0x10
#define OPT_PAGE_SIZE 0x20

typedef struct VolOpts {
  const char *zFunc; /* the function, for messages */
  unsigned mAllowed; /* OPT_* it takes */
  int nParallel;     /* parallel, default 4 */
  int bOverwrite;    /* overwrite, default true */
  int bRecursive;    /* recursive, default false */
  int64_t iOffset;   /* offset, default 0 */
  int64_t nLength;   /* length, default -1 (to the end) */
  int nPageSize;     /* page_size, default 0 (the server's) */
} VolOpts;

/* The options by name. */
static const struct {
  const char *zName; /* member of options_json */
  unsigned m;        /* OPT_* */
  int bBool;         /* a boolean, else a whole number */
  int64_t iMin;      /* smallest number */
  int64_t iMax;      /* largest number */
} aVolOpt[] = {
    {"parallel", OPT_PARALLEL, 0, 1, 64},
    {"overwrite", OPT_OVERWRITE, 1, 0, 1},
    {"recursive", OPT_RECURSIVE, 1, 0, 1},
    {"offset", OPT_OFFSET, 0, 0, INT64_MAX / 2},
    {"length", OPT_LENGTH, 0, 0, INT64_MAX / 2},
    {"page_size", OPT_PAGE_SIZE, 0, 0, 1000000},
};

/* The DbxArgsMemberFn: takes the volume options, leaves the rest to
** dbx_session_connect() (which names an unknown key). */
static int vol_member(void *pArg, const cJSON *pItem, int *pbTaken,
                      DbxError *pErr) {
  VolOpts *p = (VolOpts *)pArg;
  size_t i;
  int64_t v = 0;
  for (i = 0; i < DBX_ARRAY_SIZE(aVolOpt); i++) {
    if (strcmp(pItem->string, aVolOpt[i].zName) == 0) break;
  }
  if (i == DBX_ARRAY_SIZE(aVolOpt)) return SQLITE_OK;
  *pbTaken = 1;
  if ((p->mAllowed & aVolOpt[i].m) == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR, "%s does not take option %s",
                         p->zFunc, aVolOpt[i].zName);
  }
  if (aVolOpt[i].bBool) {
    if (!cJSON_IsBool(pItem)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s: option %s must be true or false", p->zFunc,
                           aVolOpt[i].zName);
    }
    v = cJSON_IsTrue(pItem);
  } else {
    double d = cJSON_IsNumber(pItem) ? pItem->valuedouble : -1;
    if (!cJSON_IsNumber(pItem) || !(d >= (double)aVolOpt[i].iMin) ||
        !(d <= (double)aVolOpt[i].iMax) || d != (double)(int64_t)d) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s: option %s must be a whole number from %lld "
                           "to %lld",
                           p->zFunc, aVolOpt[i].zName,
                           (long long)aVolOpt[i].iMin,
                           (long long)aVolOpt[i].iMax);
    }
    v = (int64_t)d;
  }
  switch (aVolOpt[i].m) {
  case OPT_PARALLEL:
    p->nParallel = (int)v;
    break;
  case OPT_OVERWRITE:
    p->bOverwrite = (int)v;
    break;
  case OPT_RECURSIVE:
    p->bRecursive = (int)v;
    break;
  case OPT_OFFSET:
    p->iOffset = v;
    break;
  case OPT_LENGTH:
    p->nLength = v;
    break;
  default:
    p->nPageSize = (int)v;
    break;
  }
  return SQLITE_OK;
}

/* Sets the defaults of *p for function zFunc taking mAllowed. */
static void vol_opts_init(VolOpts *p, const char *zFunc, unsigned mAllowed) {
  memset(p, 0, sizeof(*p));
  p->zFunc = zFunc;
  p->mAllowed = mAllowed;
  p->nParallel = 4;
  p->bOverwrite = 1;
  p->nLength = -1;
}

/*
** Parses options_json zOpts (may be NULL) into *pV and connects as it
** says: *ppClient is the session's client (borrowed). *pOpts is freed by
** the caller with dbx_args_options_free. Returns SQLITE_OK or an error.
*/
static int vol_connect(DbxSession *pSession, const char *zOpts, VolOpts *pV,
                       DbxArgsOptions *pOpts, DbxClient **ppClient,
                       DbxError *pErr) {
  DbxConfig *pConfig = NULL;
  int rc;
  memset(pOpts, 0, sizeof(*pOpts));
  rc = dbx_args_options_parse(zOpts, "{\"profile\": \"...\"}", 0, vol_member,
                              pV, pOpts, pErr);
  if (rc == SQLITE_OK) {
    rc = dbx_session_connect(pSession, pOpts->aOpt, pOpts->nOpt, &pConfig,
                             ppClient, pErr);
  }
  dbx_config_free(pConfig); /* the client keeps its own copy */
  return rc;
}

/*
** Checks the arguments of a call: nMin..nMax of them, each text without a
** NUL (the last one, options_json, JSON when there are nMax); azWhat names
** them. Returns SQLITE_OK or an error in pErr with zUsage.
*/
static int vol_args(int argc, sqlite3_value **argv, int nMin, int nMax,
                    const char *const *azWhat, const char *zUsage,
                    DbxError *pErr) {
  int i, rc = SQLITE_OK;
  if (argc < nMin || argc > nMax) {
    return dbx_error_set(pErr, SQLITE_ERROR, "usage: %s", zUsage);
  }
  for (i = 0; i < argc && rc == SQLITE_OK; i++) {
    if (i < nMin && (sqlite3_value_type(argv[i]) != SQLITE_TEXT ||
                     sqlite3_value_bytes(argv[i]) == 0)) {
      return dbx_error_set(pErr, SQLITE_ERROR, "%s needs %s as text (%s)",
                           zUsage, azWhat[i],
                           sqlite3_value_type(argv[i]) == SQLITE_NULL
                               ? "got NULL"
                               : "got another type or ''");
    }
    rc = dbx_args_check(argv[i], azWhat[i], i == nMax - 1 && i >= nMin, pErr);
  }
  return rc;
}

/* Seconds since t0 (ms of dbx_now_ms). */
static double vol_seconds(int64_t t0) {
  return (double)(dbx_now_ms() - t0) / 1000.0;
}

/* The last segment of path z (borrowed). */
static const char *vol_basename(const char *z) {
  const char *zSlash = strrchr(z, '/');
  return zSlash ? zSlash + 1 : z;
}

/* Sets a JSON report (sqlite3_mprintf text, freed here) as the result. */
static void vol_result_json(sqlite3_context *ctx, char *z) {
  if (z == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}

/* ---------------------------------------------------------------------
** dbx_volume_put(local_path, volume_path [, options_json])
*/

/* The uploads of one call: names owned, jobs pointing into them. */
typedef struct PutPlan {
  DbxFilesJob *aJob; /* owned */
  char **azName;     /* owned: the strings of aJob, two per job */
  int nJob;          /* entries in aJob */
} PutPlan;

static void put_plan_free(PutPlan *p) {
  int i;
  for (i = 0; i < 2 * p->nJob; i++)
    sqlite3_free(p->azName[i]);
  sqlite3_free(p->azName);
  sqlite3_free(p->aJob);
  memset(p, 0, sizeof(*p));
}

/* Adds the upload zLocal -> zRemote (both copied). */
static int put_plan_add(PutPlan *p, char *zLocal, char *zRemote,
                        DbxError *pErr) {
  DbxFilesJob *aJob =
      sqlite3_realloc64(p->aJob, sizeof(*aJob) * (size_t)(p->nJob + 1));
  char **az = aJob ? sqlite3_realloc64(p->azName, sizeof(char *) *
                                                      (size_t)(2 * p->nJob + 2))
                   : NULL;
  if (aJob) p->aJob = aJob;
  if (az) p->azName = az;
  if (aJob == NULL || az == NULL || zLocal == NULL || zRemote == NULL) {
    sqlite3_free(zLocal);
    sqlite3_free(zRemote);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  az[2 * p->nJob] = zLocal;
  az[2 * p->nJob + 1] = zRemote;
  memset(&aJob[p->nJob], 0, sizeof(aJob[0]));
  aJob[p->nJob].zLocal = zLocal;
  aJob[p->nJob].zRemote = zRemote;
  p->nJob++;
  return SQLITE_OK;
}

/* qsort order of directory entry names. */
static int put_name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
** What to upload: a regular file to zRemote (or, when zRemote ends with
** '/', under its own name there), or each regular file directly inside
** directory zLocal to zRemote/<name>, in name order. Returns SQLITE_OK or
** an error.
*/
static int put_plan(const char *zLocal, const char *zRemote, PutPlan *pPlan,
                    DbxError *pErr) {
  struct stat st;
  size_t nRemote = strlen(zRemote);
  int rc = SQLITE_OK;
  if (nRemote > 0 && zRemote[nRemote - 1] == '/') nRemote--;
  if (stat(zLocal, &st) != 0) {
    return dbx_error_set(pErr, SQLITE_CANTOPEN, "cannot read %.200s: %s",
                         zLocal, strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    DIR *pDir = opendir(zLocal);
    struct dirent *pEnt;
    char **azFile = NULL;
    int nFile = 0, i;
    if (pDir == NULL) {
      return dbx_error_set(pErr, SQLITE_CANTOPEN, "cannot read %.200s: %s",
                           zLocal, strerror(errno));
    }
    while (rc == SQLITE_OK && (pEnt = readdir(pDir)) != NULL) {
      char *zPath = sqlite3_mprintf("%s/%s", zLocal, pEnt->d_name);
      char **az;
      if (zPath == NULL) {
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
        break;
      }
      if (stat(zPath, &st) != 0 || !S_ISREG(st.st_mode)) {
        sqlite3_free(zPath); /* subdirectories and the rest stay home */
        continue;
      }
      sqlite3_free(zPath);
      az = sqlite3_realloc64(azFile, sizeof(char *) * (size_t)(nFile + 1));
      if (az == NULL || (az[nFile] = dbx_strdup(pEnt->d_name)) == NULL) {
        if (az) azFile = az;
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
        break;
      }
      azFile = az;
      nFile++;
    }
    closedir(pDir);
    if (nFile > 1) qsort(azFile, (size_t)nFile, sizeof(char *), put_name_cmp);
    for (i = 0; i < nFile; i++) {
      if (rc == SQLITE_OK) {
        rc = put_plan_add(
            pPlan, sqlite3_mprintf("%s/%s", zLocal, azFile[i]),
            sqlite3_mprintf("%.*s/%s", (int)nRemote, zRemote, azFile[i]), pErr);
      }
      sqlite3_free(azFile[i]);
    }
    sqlite3_free(azFile);
    return rc;
  }
  if (!S_ISREG(st.st_mode)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%.200s is neither a file nor a directory", zLocal);
  }
  if (nRemote < strlen(zRemote)) {
    return put_plan_add(
        pPlan, dbx_strdup(zLocal),
        sqlite3_mprintf("%.*s/%s", (int)nRemote, zRemote, vol_basename(zLocal)),
        pErr);
  }
  return put_plan_add(pPlan, dbx_strdup(zLocal), dbx_strdup(zRemote), pErr);
}

void dbx_fn_volume_put(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char *const azWhat[] = {"the local path", "the volume path",
                                       "options_json"};
  static const char zUsage[] =
      "dbx_volume_put(local_path, volume_path [, options_json])";
  DbxSession *pSession = sqlite3_user_data(ctx);
  sqlite3_stmt *pProbe = NULL;
  DbxArgsOptions opts;
  DbxClient *pClient = NULL;
  PutPlan plan;
  VolOpts v;
  DbxError err;
  int64_t t0 = dbx_now_ms(), nBytes = 0;
  int rc;
  dbx_error_clear(&err);
  memset(&opts, 0, sizeof(opts));
  memset(&plan, 0, sizeof(plan));
  vol_opts_init(&v, "dbx_volume_put", OPT_PARALLEL | OPT_OVERWRITE);
  rc = vol_args(argc, argv, 2, 3, azWhat, zUsage, &err);
  if (rc == SQLITE_OK) {
    rc = vol_connect(pSession, dbx_args_text(argc, argv, 2), &v, &opts,
                     &pClient, &err);
  }
  if (rc == SQLITE_OK) {
    rc = put_plan(dbx_args_text(argc, argv, 0), dbx_args_text(argc, argv, 1),
                  &plan, &err);
  }
  if (rc == SQLITE_OK) {
    pProbe = dbx_probe_open(sqlite3_context_db_handle(ctx));
    dbx_client_set_interrupt(pClient, dbx_probe_interrupted, pProbe);
    rc = dbx_files_upload_many(pClient, plan.aJob, plan.nJob, v.nParallel,
                               v.bOverwrite, dbx_probe_interrupted, pProbe,
                               &nBytes, &err);
    dbx_client_set_interrupt(pClient, NULL, NULL);
  }
  sqlite3_finalize(pProbe);
  dbx_args_options_free(&opts);
  if (rc) {
    put_plan_free(&plan);
    dbx_error_to_context(ctx, &err);
    return;
  }
  vol_result_json(ctx, sqlite3_mprintf("{\"files\":%d,\"bytes\":%lld,"
                                       "\"seconds\":%.3f}",
                                       plan.nJob, (long long)nBytes,
                                       vol_seconds(t0)));
  put_plan_free(&plan);
}

/* ---------------------------------------------------------------------
** dbx_volume_get(volume_path, local_path [, options_json])
*/

void dbx_fn_volume_get(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char *const azWhat[] = {"the volume path", "the local path",
                                       "options_json"};
  static const char zUsage[] =
      "dbx_volume_get(volume_path, local_path [, options_json])";
  DbxSession *pSession = sqlite3_user_data(ctx);
  sqlite3_stmt *pProbe = NULL;
  DbxArgsOptions opts;
  DbxClient *pClient = NULL;
  VolOpts v;
  DbxError err;
  char *zLocal = NULL;
  int64_t t0 = dbx_now_ms(), nBytes = 0;
  int rc;
  dbx_error_clear(&err);
  vol_opts_init(&v, "dbx_volume_get", OPT_OFFSET | OPT_LENGTH);
  rc = vol_args(argc, argv, 2, 3, azWhat, zUsage, &err);
  if (rc == SQLITE_OK) {
    rc = vol_connect(pSession, dbx_args_text(argc, argv, 2), &v, &opts,
                     &pClient, &err);
  } else {
    memset(&opts, 0, sizeof(opts));
  }
  if (rc == SQLITE_OK) {
    const char *zRemote = dbx_args_text(argc, argv, 0);
    const char *zDest = dbx_args_text(argc, argv, 1);
    struct stat st;
    /* into an existing directory: under the file's own name */
    zLocal = stat(zDest, &st) == 0 && S_ISDIR(st.st_mode)
                 ? sqlite3_mprintf("%s/%s", zDest, vol_basename(zRemote))
                 : dbx_strdup(zDest);
    if (zLocal == NULL) rc = dbx_error_set(&err, SQLITE_NOMEM, "out of memory");
  }
  if (rc == SQLITE_OK) {
    pProbe = dbx_probe_open(sqlite3_context_db_handle(ctx));
    dbx_client_set_interrupt(pClient, dbx_probe_interrupted, pProbe);
    rc = dbx_files_download_to(pClient, dbx_args_text(argc, argv, 0), zLocal,
                               v.iOffset, v.nLength, &nBytes, &err);
    dbx_client_set_interrupt(pClient, NULL, NULL);
  }
  sqlite3_finalize(pProbe);
  sqlite3_free(zLocal);
  dbx_args_options_free(&opts);
  if (rc) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  vol_result_json(ctx, sqlite3_mprintf("{\"bytes\":%lld,\"seconds\":%.3f}",
                                       (long long)nBytes, vol_seconds(t0)));
}

/* ---------------------------------------------------------------------
** dbx_volume_rm(volume_path [, options_json]), dbx_volume_mkdir(...)
*/

/* Which of the two. */
typedef enum VolOp { OP_RM, OP_MKDIR } VolOp;

/* dbx_volume_rm() and dbx_volume_mkdir(): returns 1 once done. */
static void vol_path_op(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                        VolOp eOp) {
  static const char *const azWhat[] = {"the volume path", "options_json"};
  DbxSession *pSession = sqlite3_user_data(ctx);
  const char *zUsage = eOp == OP_RM
                           ? "dbx_volume_rm(volume_path [, options_json])"
                           : "dbx_volume_mkdir(volume_path [, options_json])";
  sqlite3_stmt *pProbe = NULL;
  DbxArgsOptions opts;
  DbxClient *pClient = NULL;
  VolOpts v;
  DbxError err;
  int rc;
  dbx_error_clear(&err);
  memset(&opts, 0, sizeof(opts));
  vol_opts_init(&v, eOp == OP_RM ? "dbx_volume_rm" : "dbx_volume_mkdir",
                eOp == OP_RM ? OPT_RECURSIVE : 0);
  rc = vol_args(argc, argv, 1, 2, azWhat, zUsage, &err);
  if (rc == SQLITE_OK) {
    rc = vol_connect(pSession, dbx_args_text(argc, argv, 1), &v, &opts,
                     &pClient, &err);
  }
  if (rc == SQLITE_OK) {
    const char *zPath = dbx_args_text(argc, argv, 0);
    size_t n = strlen(zPath);
    pProbe = dbx_probe_open(sqlite3_context_db_handle(ctx));
    dbx_client_set_interrupt(pClient, dbx_probe_interrupted, pProbe);
    if (eOp == OP_MKDIR) {
      rc = dbx_files_mkdir(pClient, zPath, &err);
    } else if (v.bRecursive || zPath[n - 1] == '/') {
      rc = dbx_files_rmdir(pClient, zPath, v.bRecursive, &err);
    } else {
      /* a file, else an empty directory of that name */
      DbxError e2;
      rc = dbx_files_delete(pClient, zPath, &err);
      dbx_error_clear(&e2);
      if (rc && err.httpStatus == 404 &&
          dbx_files_rmdir(pClient, zPath, 0, &e2) == SQLITE_OK) {
        dbx_error_clear(&err);
        rc = SQLITE_OK;
      } else if (rc && err.httpStatus == 404 && e2.httpStatus != 404) {
        err = e2; /* a directory, not deleted: say why */
        rc = e2.rc;
      }
    }
    dbx_client_set_interrupt(pClient, NULL, NULL);
  }
  sqlite3_finalize(pProbe);
  dbx_args_options_free(&opts);
  if (rc) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  sqlite3_result_int(ctx, 1);
}

void dbx_fn_volume_rm(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  vol_path_op(ctx, argc, argv, OP_RM);
}

void dbx_fn_volume_mkdir(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  vol_path_op(ctx, argc, argv, OP_MKDIR);
}

/* ---------------------------------------------------------------------
** dbx_volume_ls(path [, options_json]): a table-valued function
*/

/* Columns: five visible, then the two arguments. */
#define LS_PATH     0
#define LS_NAME     1
#define LS_IS_DIR   2
#define LS_SIZE     3
#define LS_MODIFIED 4
#define LS_ARG_DIR  5
#define LS_ARG_OPTS 6

typedef struct LsVtab {
  sqlite3_vtab base;    /* must be first */
  sqlite3 *db;          /* the connection, for the interrupt probe */
  DbxSession *pSession; /* borrowed: the module's client data */
} LsVtab;

typedef struct LsCursor {
  sqlite3_vtab_cursor base; /* must be first */
  DbxFilesList *pList;      /* owned; NULL before xFilter */
  DbxClient *pClient;       /* borrowed from the session */
  sqlite3_stmt *pProbe;     /* owned; interrupt probe */
  DbxFileEntry entry;       /* the current row, borrowed from pList */
  char *azArg[2];           /* owned; path and options, or NULL */
  sqlite3_int64 iRow;       /* 1-based number of the current row */
  int bEof;                 /* no current row */
} LsCursor;

static int lsConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                     sqlite3_vtab **ppVtab, char **pzErr) {
  LsVtab *p;
  int rc;
  DBX_UNUSED(argc);
  DBX_UNUSED(argv);
  DBX_UNUSED(pzErr);
  rc = sqlite3_declare_vtab(db,
                            "CREATE TABLE x(path TEXT, name TEXT, "
                            "is_directory INTEGER, file_size INTEGER, "
                            "last_modified TEXT, dir HIDDEN, options HIDDEN)");
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->pSession = pAux;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int lsDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

/* The directory and options come from equality constraints on the hidden
** columns; idxNum has bit k for argument k given. */
static int lsBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  int aIdx[2] = {-1, -1}, i, k, nUsed = 0, mask = 0;
  DBX_UNUSED(pVtab);
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    k = c->iColumn - LS_ARG_DIR;
    if (k < 0 || k > 1 || c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c->usable) return SQLITE_CONSTRAINT;
    aIdx[k] = i;
  }
  for (k = 0; k < 2; k++) {
    if (aIdx[k] < 0) continue;
    pInfo->aConstraintUsage[aIdx[k]].argvIndex = ++nUsed;
    pInfo->aConstraintUsage[aIdx[k]].omit = 1;
    mask |= 1 << k;
  }
  pInfo->idxNum = mask;
  pInfo->estimatedCost = (mask & 1) ? 1e6 : 1e12;
  pInfo->estimatedRows = 1000;
  return SQLITE_OK;
}

static int lsOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  LsCursor *p = sqlite3_malloc64(sizeof(*p));
  DBX_UNUSED(pVtab);
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->bEof = 1;
  *ppCur = &p->base;
  return SQLITE_OK;
}

/* Drops the cursor's listing, keeping the cursor. */
static void lsReset(LsCursor *p) {
  dbx_files_list_free(p->pList);
  p->pList = NULL;
  sqlite3_finalize(p->pProbe);
  p->pProbe = NULL;
  sqlite3_free(p->azArg[0]);
  dbx_free_secret(p->azArg[1]); /* options may hold a refused secret */
  p->azArg[0] = p->azArg[1] = NULL;
  p->pClient = NULL;
  memset(&p->entry, 0, sizeof(p->entry));
  p->iRow = 0;
  p->bEof = 1;
}

static int lsClose(sqlite3_vtab_cursor *pCur) {
  lsReset((LsCursor *)pCur);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

/* Moves to the next entry, fetching a page when needed (interruptible). */
static int lsStep(LsCursor *p) {
  DbxError err;
  int rc;
  dbx_error_clear(&err);
  dbx_client_set_interrupt(p->pClient, dbx_probe_interrupted, p->pProbe);
  rc = dbx_files_list_next(p->pList, &p->entry, &err);
  dbx_client_set_interrupt(p->pClient, NULL, NULL);
  if (rc == SQLITE_ROW) {
    p->iRow++;
    return SQLITE_OK;
  }
  p->bEof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  return dbx_error_to_vtab(p->base.pVtab, &err);
}

static int lsFilter(sqlite3_vtab_cursor *pCur, int idxNum, const char *idxStr,
                    int argc, sqlite3_value **argv) {
  static const char *const azWhat[] = {"the directory path", "options_json"};
  LsCursor *p = (LsCursor *)pCur;
  LsVtab *pTab = (LsVtab *)pCur->pVtab;
  DbxArgsOptions opts;
  VolOpts v;
  DbxError err;
  int rc;
  DBX_UNUSED(idxStr);
  lsReset(p);
  dbx_error_clear(&err);
  memset(&opts, 0, sizeof(opts));
  vol_opts_init(&v, "dbx_volume_ls", OPT_PAGE_SIZE);
  rc = dbx_args_copy(idxNum, 2, argc, argv, azWhat, 0, p->azArg, &err);
  if (rc == SQLITE_OK && p->azArg[0] == NULL) {
    rc = dbx_error_set(&err, SQLITE_ERROR,
                       "dbx_volume_ls(path [, options_json]) needs a "
                       "directory path such as /Volumes/main/default/files");
  }
  if (rc == SQLITE_OK) {
    rc = vol_connect(pTab->pSession, p->azArg[1], &v, &opts, &p->pClient, &err);
  }
  if (rc == SQLITE_OK) {
    rc = dbx_files_list_open(p->pClient, p->azArg[0], v.nPageSize, &p->pList,
                             &err);
  }
  dbx_args_options_free(&opts);
  if (rc) return dbx_error_to_vtab(pCur->pVtab, &err);
  p->pProbe = dbx_probe_open(pTab->db);
  p->bEof = 0;
  return lsStep(p);
}

static int lsNext(sqlite3_vtab_cursor *pCur) {
  return lsStep((LsCursor *)pCur);
}

static int lsEof(sqlite3_vtab_cursor *pCur) {
  return ((LsCursor *)pCur)->bEof;
}

static int lsColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx, int iCol) {
  LsCursor *p = (LsCursor *)pCur;
  const DbxFileEntry *e = &p->entry;
  char zTime[32];
  switch (iCol) {
  case LS_PATH:
    sqlite3_result_text(ctx, e->zPath, -1, SQLITE_TRANSIENT);
    break;
  case LS_NAME:
    sqlite3_result_text(ctx, e->zName, -1, SQLITE_TRANSIENT);
    break;
  case LS_IS_DIR:
    sqlite3_result_int(ctx, e->bDirectory);
    break;
  case LS_SIZE:
    if (e->nSize >= 0) sqlite3_result_int64(ctx, e->nSize);
    break;
  case LS_MODIFIED:
    if (e->iModifiedMs >= 0) {
      dbx_time_format_ms(e->iModifiedMs, zTime);
      sqlite3_result_text(ctx, zTime, -1, SQLITE_TRANSIENT);
    }
    break;
  case LS_ARG_DIR:
  case LS_ARG_OPTS:
    if (p->azArg[iCol - LS_ARG_DIR]) {
      sqlite3_result_text(ctx, p->azArg[iCol - LS_ARG_DIR], -1,
                          SQLITE_TRANSIENT);
    }
    break;
  }
  return SQLITE_OK;
}

static int lsRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *pRowid) {
  *pRowid = ((LsCursor *)pCur)->iRow;
  return SQLITE_OK;
}

/* Eponymous only (no xCreate). */
const sqlite3_module dbx_volume_ls_module = {
    .iVersion = 0,
    .xConnect = lsConnect,
    .xBestIndex = lsBestIndex,
    .xDisconnect = lsDisconnect,
    .xOpen = lsOpen,
    .xClose = lsClose,
    .xFilter = lsFilter,
    .xNext = lsNext,
    .xEof = lsEof,
    .xColumn = lsColumn,
    .xRowid = lsRowid,
};
