/*
** fn_sync.c: dbx_sync(source, local_table [, options_json]), a remote
** table's changes applied to a local table, exactly once.
**
**   SELECT dbx_sync('main.crm.users', 'users',
**                   '{"kind": "user_properties", "key": "user_id"}');
**
** Each call reads the latest version of the source (DESCRIBE HISTORY
** LIMIT 1), reads the change feed from the version after the last one
** synced up to that one (cdf.h), and applies the change rows to the local
** table inside a savepoint that also records the version reached in
** dbx_sync_state: a crash at any point leaves both as they were, and the
** next call reads the same changes again. Changes committed during a call
** wait for the next one. A call with nothing new sends only the version
** check.
**
** Kinds (option `kind`, required):
**   events            insert changes are inserted; updates and deletes are
**                     ignored. With a key, an insert whose key is already
**                     present changes nothing.
**   user_properties,  inserts and update post-images are upserts on `key`
**   group_properties  (one column or several: "a, b"); deletes are ignored
**                     unless {"deletes": "apply"}.
**   mirror            upserts and deletes: the local table follows the
**                     remote one.
** Upserts apply in _commit_version order, and within a version deletes
** before the rest (a commit that replaces a row deletes and inserts it),
** so several changes to one key collapse to the last. A row equal to the
** local one changes nothing ("unchanged" in the report).
**
** Options, besides connection settings and statement options:
**   key           the key columns (required but for events)
**   deletes       'ignore' (default; 'apply' for mirror) or 'apply'
**   start         where the first call starts: 'first' (default: every
**                 change from the first version with change data),
**                 'latest' (only changes after now) or a version number.
**                 Later calls go on from dbx_sync_state; to start over,
**                 delete the row there (and empty the local table).
**   transform     a SELECT over `changes` (the change rows of the range
**                 the kind can use, with _change_type, _commit_version,
**                 _commit_timestamp: no update pre-images, and for events
**                 only inserts) run remotely; it may join other tables.
**                 Kinds other than events need it to keep _commit_version,
**                 and to keep _change_type to tell deletes (without it
**                 every row is an upsert).
**   test          true: the rows the call would apply (at most `limit`,
**                 default 10) as {"from", "to", "columns", "rows"}, with
**                 nothing changed and nothing stored (no rows for a first
**                 call with start 'latest').
**   since_column  timestamp mode, for tables without a change feed: the
**                 rows whose column is at or beyond the last value synced
**                 are read and applied (upserts, or for events inserts
**                 that skip a present key), so a row that ties the
**                 boundary is read again but changes nothing. Needs a key;
**                 deletes cannot be seen. `changes` is then those rows.
**                 With start 'latest' the rows at the largest value are
**                 history too: the next call reads only rows beyond it.
**   progress      one self-updating line on stderr (default: when stderr
**                 is a terminal)
**
** The local table is created when missing, with the columns of the rows
** read (their Databricks types as declared types, as the databricks
** virtual table declares them) and the key as PRIMARY KEY (one integer
** column: INTEGER PRIMARY KEY, the rowid); a column the rows have and the
** table lacks is added. Keys need a PRIMARY KEY or UNIQUE index over
** exactly the key columns.
**
** Returns a JSON report: source, table, kind, from and to (the versions
** applied, from null when there was nothing new), rows read, inserted,
** updated, deleted, unchanged, ignored, created, columns_added,
** statement_ids, seconds. Timestamp mode reports the watermark reached.
**
** What the server sends is checked before it is applied: a change type
** that is not one of Delta's four, a _commit_version outside the range
** asked for or out of order, or a key column missing from the rows fails
** the call with nothing applied.
**
** SQLITE_DIRECTONLY: it talks to the network and writes local tables.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "cdf.h"
#include "rows.h"
#include "session.h"

/* ---------------------------------------------------------------------
** Options
*/

typedef enum SyncKind {
  SYNC_NONE = 0,
  SYNC_EVENTS,
  SYNC_USER_PROPERTIES,
  SYNC_GROUP_PROPERTIES,
  SYNC_MIRROR
} SyncKind;

static const char *const azKind[] = {"", "events", "user_properties",
                                     "group_properties", "mirror"};

typedef struct SyncOpts {
  SyncKind eKind;
  const char *zKey;       /* key, or NULL */
  int eDeletes;           /* -1 unset, 0 ignore, 1 apply */
  const char *zStart;     /* 'first', 'latest', or NULL */
  int64_t iStart;         /* start as a version, or DBX_CDF_NONE */
  const char *zTransform; /* transform, or NULL */
  int bTest;              /* test */
  int nLimit;             /* limit of test */
  const char *zSince;     /* since_column, or NULL */
  int eProgress;          /* progress: -1 when stderr is a terminal */
} SyncOpts;

/* The DbxArgsMemberFn of dbx_sync(). */
static int sync_member(void *pArg, const cJSON *pItem, int *pbTaken,
                       DbxError *pErr) {
  SyncOpts *o = (SyncOpts *)pArg;
  const char *zKey = pItem->string;
  const char *zText = cJSON_IsString(pItem) ? pItem->valuestring : NULL;
  double r = cJSON_IsNumber(pItem) ? pItem->valuedouble : -1;
  size_t i;
  *pbTaken = 1;
  if (strcmp(zKey, "kind") == 0) {
    for (i = 1; zText && i < DBX_ARRAY_SIZE(azKind); i++) {
      if (strcmp(zText, azKind[i]) == 0) o->eKind = (SyncKind)i;
    }
    if (o->eKind == SYNC_NONE) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "dbx_sync: kind must be 'events' (inserts only), "
                           "'user_properties' or 'group_properties' "
                           "(upserts on key) or 'mirror' (upserts and "
                           "deletes)");
    }
    return SQLITE_OK;
  }
  if (strcmp(zKey, "key") == 0 && zText && zText[0]) {
    o->zKey = zText;
  } else if (strcmp(zKey, "deletes") == 0 && zText &&
             (strcmp(zText, "ignore") == 0 || strcmp(zText, "apply") == 0)) {
    o->eDeletes = strcmp(zText, "apply") == 0;
  } else if (strcmp(zKey, "start") == 0 && zText &&
             (strcmp(zText, "first") == 0 || strcmp(zText, "latest") == 0)) {
    o->zStart = zText;
  } else if (strcmp(zKey, "start") == 0 && r >= 0 && r < 9e15 &&
             r == (double)(int64_t)r) {
    o->iStart = (int64_t)r;
  } else if (strcmp(zKey, "transform") == 0 && zText && zText[0]) {
    o->zTransform = zText;
  } else if (strcmp(zKey, "test") == 0 && cJSON_IsBool(pItem)) {
    o->bTest = cJSON_IsTrue(pItem);
  } else if (strcmp(zKey, "limit") == 0 && r >= 1 && r <= 10000 &&
             r == (int)r) {
    o->nLimit = (int)r;
  } else if (strcmp(zKey, "since_column") == 0 && zText && zText[0]) {
    o->zSince = zText;
  } else if (strcmp(zKey, "progress") == 0 && cJSON_IsBool(pItem)) {
    o->eProgress = cJSON_IsTrue(pItem);
  } else {
    static const char *const azOwn[] = {"key",          "deletes", "start",
                                        "transform",    "test",    "limit",
                                        "since_column", "progress"};
    for (i = 0; i < DBX_ARRAY_SIZE(azOwn); i++) {
      if (strcmp(zKey, azOwn[i]) == 0) {
        return dbx_error_set(
            pErr, SQLITE_ERROR,
            "dbx_sync: option %s has a bad value (key, since_column: column "
            "names; deletes: 'ignore' or 'apply'; start: 'first', 'latest' "
            "or a version number; transform: a SELECT; limit: 1 to 10000; "
            "test and progress: true or false)",
            zKey);
      }
    }
    *pbTaken = 0; /* a setting or a statement option */
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** The call
*/

/* A change row's type. */
enum { CHANGE_INSERT, CHANGE_PRE, CHANGE_POST, CHANGE_DELETE };

/* What the call did, for the report. */
typedef struct SyncCounts {
  int64_t nRow, nInserted, nUpdated, nDeleted, nUnchanged, nIgnored;
  int bCreated, nAdded;
} SyncCounts;

/* Everything one call holds, freed by sync_free. */
typedef struct Sync {
  sqlite3 *db;
  sqlite3_context *ctx;
  SyncOpts o;
  DbxArgsOptions args;
  DbxConfig *pConfig;
  DbxClient *pClient; /* borrowed from the session */
  DbxStmtOptions stmt;
  sqlite3_stmt *pProbe;
  char *azSource[3];
  char *zSource;    /* "catalog.schema.table" */
  char *zTransform; /* the transform without a trailing ';', or NULL */
  const char *zLocal;
  char **azKey; /* key columns (one block) */
  int nKey;
  /* the state */
  int bState;       /* a row exists */
  int64_t iVersion; /* last version synced, DBX_CDF_NONE for none */
  char *zMark;      /* since mode: the watermark reached (text), or NULL */
  char *zMarkType;  /* its Databricks type */
  int bMarkAfter;   /* the rows at the watermark were not applied (start
                    ** 'latest'): read only the rows beyond it */
  /* the read */
  DbxCdfRange range; /* as read */
  char *zNewMark;    /* since mode: the largest value read */
  char *zNewMarkType;
  DbxBuf ids; /* statement ids, a JSON array's inside */
  SyncCounts n;
  DbxProgress prog;
  int64_t msRemote, msApply;
} Sync;

static void sync_free(Sync *x) {
  sqlite3_free(x->zMark);
  sqlite3_free(x->zMarkType);
  sqlite3_free(x->zNewMark);
  sqlite3_free(x->zNewMarkType);
  sqlite3_free(x->zSource);
  sqlite3_free(x->zTransform);
  sqlite3_free(x->azKey);
  dbx_buf_free(&x->ids);
  dbx_sql_name_free(x->azSource);
  sqlite3_finalize(x->pProbe);
  dbx_args_options_free(&x->args);
  dbx_config_free(x->pConfig);
}

/* Checks the options against each other; connects. */
static int sync_setup(Sync *x, const char *zSource, const char *zOpts,
                      DbxError *pErr) {
  DbxSession *pSession = sqlite3_user_data(x->ctx);
  int rc;
  x->o.eDeletes = -1;
  x->o.iStart = DBX_CDF_NONE;
  x->o.nLimit = 10;
  x->o.eProgress = -1;
  x->iVersion = DBX_CDF_NONE;
  rc =
      dbx_args_options_parse(zOpts && zOpts[0] ? zOpts : NULL,
                             "{\"kind\": \"user_properties\", \"key\": "
                             "\"user_id\"}",
                             DBX_ARGS_STMT, sync_member, &x->o, &x->args, pErr);
  if (rc) return rc;
  if (x->o.eKind == SYNC_NONE) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: give a kind, for example {\"kind\": "
                         "\"user_properties\", \"key\": \"user_id\"} "
                         "(events, user_properties, group_properties or "
                         "mirror)");
  }
  if (x->o.eDeletes < 0) x->o.eDeletes = x->o.eKind == SYNC_MIRROR;
  if (x->o.eKind == SYNC_MIRROR && !x->o.eDeletes) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: kind 'mirror' applies deletes; for "
                         "upserts alone use 'user_properties'");
  }
  if (x->o.zKey == NULL && (x->o.eKind != SYNC_EVENTS || x->o.zSince)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: kind '%s'%s needs a key: the column(s) "
                         "that identify a row, as {\"key\": \"user_id\"}",
                         azKind[x->o.eKind],
                         x->o.zSince ? " with since_column" : "");
  }
  if (x->o.eDeletes && x->o.zKey == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: deletes are applied by key: give one");
  }
  if (x->o.zSince && x->o.eDeletes) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: since_column reads rows as they are "
                         "now, so deletes cannot be seen: use the change "
                         "data feed (leave out since_column) for '%s'",
                         x->o.eKind == SYNC_MIRROR ? "mirror"
                                                   : "deletes: apply");
  }
  if (x->o.zSince && x->o.iStart != DBX_CDF_NONE) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: a start version needs the change data "
                         "feed; with since_column start is 'first' or "
                         "'latest'");
  }
  if (x->o.zKey) {
    rc = dbx_sql_name_list(x->o.zKey, "key", &x->azKey, &x->nKey, pErr);
    if (rc) return rc;
  }
  if (x->o.zTransform) {
    /* it goes inside a subquery: a closing ';' would end the statement */
    size_t n = strlen(x->o.zTransform);
    while (n > 0 && strchr(" \t\r\n;", x->o.zTransform[n - 1]))
      n--;
    x->zTransform = sqlite3_mprintf("%.*s", (int)n, x->o.zTransform);
    if (x->zTransform == NULL)
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  rc = dbx_session_connect(pSession, x->args.aOpt, x->args.nOpt, &x->pConfig,
                           &x->pClient, pErr);
  if (rc) return rc;
  dbx_stmt_options_init(&x->stmt);
  dbx_session_stmt_options(pSession, x->pConfig, &x->stmt);
  /* a sync reads many rows: links unless the options say otherwise */
  x->stmt.eDisposition = x->o.bTest ? DBX_DISP_INLINE : DBX_DISP_EXTERNAL_LINKS;
  rc = dbx_args_options_apply(&x->args, &x->stmt, pErr);
  if (rc) return rc;
  x->pProbe = dbx_probe_open(x->db);
  x->stmt.xInterrupt = dbx_probe_interrupted;
  x->stmt.pInterruptArg = x->pProbe;
  rc = dbx_session_name3(x->pConfig, zSource, "dbx_sync: source", x->azSource,
                         pErr);
  if (rc) return rc;
  x->zSource = sqlite3_mprintf("%s.%s.%s", x->azSource[0], x->azSource[1],
                               x->azSource[2]);
  if (x->zSource == NULL)
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Local state: dbx_sync_state, one row per (source, local table)
*/

/* The words of a state row that cannot be used, with how to start over. */
static int state_damaged(Sync *x, const char *zWhy, DbxError *pErr) {
  return dbx_error_set(pErr, SQLITE_CORRUPT,
                       "dbx_sync: the row of %s into %s in dbx_sync_state "
                       "%s: to start over, empty %s and delete that row",
                       x->zSource, x->zLocal, zWhy, x->zLocal);
}

/* Whether z is a type text as Databricks writes one: letters, digits and
** "_(), <>". */
static int type_text_ok(const char *z) {
  return z && z[0] && strlen(z) < 200 &&
         strspn(z, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789_(), <>") == strlen(z);
}

/* Creates dbx_sync_state when missing and reads the row of this call. What
** the file holds is checked: it may come from someone else. */
static int state_read(Sync *x, DbxError *pErr) {
  sqlite3_stmt *pStmt = NULL;
  int rc;
  if (x->o.bTest &&
      sqlite3_table_column_metadata(x->db, "main", "dbx_sync_state", NULL, NULL,
                                    NULL, NULL, NULL, NULL) != SQLITE_OK) {
    return SQLITE_OK; /* a test creates nothing */
  }
  rc = sqlite3_exec(
      x->db,
      "CREATE TABLE IF NOT EXISTS main.dbx_sync_state("
      "source TEXT NOT NULL, local_table TEXT NOT NULL, "
      "kind TEXT NOT NULL, version INTEGER, watermark TEXT, "
      "watermark_type TEXT, watermark_applied INTEGER, rows INTEGER, "
      "synced_at TEXT, "
      "PRIMARY KEY (source, local_table))",
      NULL, NULL, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(x->db,
                            "SELECT kind, version, watermark, watermark_type, "
                            "watermark_applied "
                            "FROM main.dbx_sync_state WHERE source = ?1 AND "
                            "local_table = ?2",
                            -1, &pStmt, NULL);
  }
  if (rc) {
    return dbx_error_set(pErr, rc,
                         "dbx_sync: cannot read its state in table "
                         "dbx_sync_state: %s",
                         sqlite3_errmsg(x->db));
  }
  sqlite3_bind_text(pStmt, 1, x->zSource, -1, SQLITE_STATIC);
  sqlite3_bind_text(pStmt, 2, x->zLocal, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *zKind = (const char *)sqlite3_column_text(pStmt, 0);
    const char *zMark = (const char *)sqlite3_column_text(pStmt, 2);
    const char *zType = (const char *)sqlite3_column_text(pStmt, 3);
    int eVer = sqlite3_column_type(pStmt, 1);
    x->bState = 1;
    x->iVersion = sqlite3_column_int64(pStmt, 1);
    if (eVer == SQLITE_NULL) x->iVersion = DBX_CDF_NONE;
    if (zKind == NULL || strcmp(zKind, azKind[x->o.eKind]) != 0) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: %s is synced into %s as kind '%s', not "
                         "'%s': to start over with another kind, empty %s "
                         "and delete its row in dbx_sync_state",
                         x->zSource, x->zLocal, zKind ? zKind : "?",
                         azKind[x->o.eKind], x->zLocal);
    } else if (x->o.zSince == NULL &&
               (eVer != SQLITE_INTEGER || x->iVersion < 0)) {
      rc = state_damaged(
          x,
          zMark ? "was made with since_column (leave it in the options)"
                : "has no version number",
          pErr);
    } else if (x->o.zSince &&
               (eVer != SQLITE_NULL ||
                (zMark && (sqlite3_column_type(pStmt, 2) != SQLITE_TEXT ||
                           !type_text_ok(zType))))) {
      rc = state_damaged(x,
                         eVer != SQLITE_NULL
                             ? "was made from the change data feed (leave "
                               "out since_column)"
                             : "has a watermark that cannot be read",
                         pErr);
    } else if (zMark) {
      x->bMarkAfter = sqlite3_column_int(pStmt, 4) == 0;
      x->zMark = dbx_strdup(zMark);
      x->zMarkType = dbx_strdup(zType);
      if (x->zMark == NULL || x->zMarkType == NULL) {
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      }
    }
  }
  sqlite3_finalize(pStmt);
  return rc;
}

/* Records the version (or watermark) reached, in the savepoint. */
static int state_write(Sync *x, int64_t iVersion, const char *zMark,
                       const char *zType, int bApplied, DbxError *pErr) {
  sqlite3_stmt *pStmt = NULL;
  int rc = sqlite3_prepare_v2(
      x->db,
      "INSERT INTO main.dbx_sync_state(source, local_table, kind, version, "
      "watermark, watermark_type, watermark_applied, rows, synced_at) VALUES "
      "(?1, ?2, ?3, ?4, ?5, ?6, ?8, ?7, strftime('%Y-%m-%d %H:%M:%f', "
      "'now')) ON CONFLICT "
      "(source, local_table) DO UPDATE SET version = excluded.version, "
      "watermark = excluded.watermark, watermark_type = "
      "excluded.watermark_type, watermark_applied = "
      "excluded.watermark_applied, rows = excluded.rows, synced_at = "
      "excluded.synced_at",
      -1, &pStmt, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(pStmt, 1, x->zSource, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, x->zLocal, -1, SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 3, azKind[x->o.eKind], -1, SQLITE_STATIC);
    if (iVersion != DBX_CDF_NONE) sqlite3_bind_int64(pStmt, 4, iVersion);
    if (zMark) sqlite3_bind_text(pStmt, 5, zMark, -1, SQLITE_STATIC);
    if (zMark) sqlite3_bind_text(pStmt, 6, zType, -1, SQLITE_STATIC);
    sqlite3_bind_int64(pStmt, 7, x->n.nRow);
    if (zMark) sqlite3_bind_int(pStmt, 8, bApplied);
    rc =
        sqlite3_step(pStmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(x->db);
  }
  sqlite3_finalize(pStmt);
  if (rc) {
    return dbx_error_set(pErr, rc,
                         "dbx_sync: cannot store its state in "
                         "dbx_sync_state: %s",
                         sqlite3_errmsg(x->db));
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** The remote read
*/

/* Appends `c`.`s`.`t` of the source. */
static void sql_source(Sync *x, DbxBuf *b) {
  int i;
  for (i = 0; i < 3; i++) {
    if (i) dbx_buf_append(b, ".", 1);
    dbx_sql_ident(b, x->azSource[i]);
  }
}

/*
** The statement of the read around zFrom, the rows it reads (a
** table_changes() call, or the source beyond the watermark): the
** transform over them as `changes`, preimages left out, in version order
** for the kinds that upsert, and under LIMIT for a test. A DbxCdfSqlFn.
*/
static char *sync_sql(void *pArg, const char *zFrom) {
  Sync *x = (Sync *)pArg;
  DbxBuf b = {0};
  int bCdf = x->o.zSince == NULL;
  if (x->zTransform) {
    /* `changes` holds the rows the kind can use: never a pre-image, and
    ** for events only inserts, so a transform may drop _change_type */
    dbx_buf_appendf(&b,
                    "WITH changes AS (SELECT * FROM %s%s) SELECT * FROM "
                    "(%s\n) AS dbx_transform",
                    zFrom,
                    !bCdf ? ""
                    : x->o.eKind == SYNC_EVENTS
                        ? " WHERE _change_type = 'insert'"
                        : " WHERE _change_type <> 'update_preimage'",
                    x->zTransform);
  } else {
    dbx_buf_appendf(&b, "SELECT * FROM %s", zFrom);
    if (bCdf) dbx_buf_appendf(&b, " WHERE _change_type <> 'update_preimage'");
  }
  if (bCdf && x->o.eKind != SYNC_EVENTS) {
    /* within one commit a key deleted and inserted again (a replace) must
    ** end inserted: deletes first */
    dbx_buf_appendf(&b, " ORDER BY _commit_version%s",
                    x->zTransform ? ""
                                  : ", CASE WHEN _change_type = 'delete' THEN "
                                    "0 ELSE 1 END");
  }
  if (x->o.bTest) dbx_buf_appendf(&b, " LIMIT %d", x->o.nLimit);
  if (b.rc) {
    dbx_buf_free(&b);
    return NULL;
  }
  return dbx_buf_take(&b);
}

/* Keeps the statement id of pRows for the report. */
static void sync_note_id(Sync *x, DbxRows *pRows) {
  const char *zId = pRows ? dbx_stmt_id(dbx_rows_stmt(pRows)) : NULL;
  if (zId && zId[0]) {
    if (x->ids.n) dbx_buf_append(&x->ids, ",", 1);
    dbx_buf_append_json(&x->ids, zId, strlen(zId));
  }
}

/* Since mode: the rows at or beyond the watermark. */
static int sync_read_since(Sync *x, DbxRows **ppRows, DbxError *pErr) {
  DbxBuf from = {0};
  DbxParam since = {"dbx_since", NULL, NULL};
  char zTs[64], *zSql;
  int rc;
  dbx_buf_append(&from, "(SELECT * FROM ", 15);
  sql_source(x, &from);
  if (x->zMark) {
    dbx_buf_appendf(&from, " WHERE ");
    dbx_sql_ident(&from, x->o.zSince);
    dbx_buf_appendf(&from, " %s :dbx_since", x->bMarkAfter ? ">" : ">=");
    since.zValue = x->zMark;
    since.zType = x->zMarkType;
    if (sqlite3_strnicmp(x->zMarkType, "TIMESTAMP", 9) == 0 &&
        strlen(x->zMark) < sizeof(zTs) - 12) {
      dbx_sql_timestamp_param(x->zMark, (int)strlen(x->zMark),
                              sqlite3_stricmp(x->zMarkType, "TIMESTAMP") == 0,
                              zTs, sizeof(zTs));
      since.zValue = zTs;
    }
  }
  dbx_buf_append(&from, ")", 1);
  zSql = from.rc ? NULL : sync_sql(x, from.z);
  dbx_buf_free(&from);
  if (zSql == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  rc = dbx_rows_execute(x->pClient, zSql, x->zMark ? &since : NULL,
                        x->zMark ? 1 : 0, &x->stmt, ppRows, pErr);
  sqlite3_free(zSql);
  return rc;
}

/* ---------------------------------------------------------------------
** Applying the rows
*/

/* How the rows read become local writes. */
typedef struct Apply {
  Sync *x;
  DbxRows *pRows;
  int nCol;    /* result columns */
  int iType;   /* _change_type, or -1 */
  int iVer;    /* _commit_version, or -1 */
  int iMark;   /* since mode: the watermark column, or -1 */
  int iTs;     /* _commit_timestamp, never decoded, or -1 */
  int *aiData; /* result columns written locally, nData of them */
  int nData;
  int *aiKey;     /* nKey: positions in aiData of the key columns */
  DbxCell *aCell; /* the current row, by result column */
  sqlite3_stmt *pIns, *pUpd, *pDel;
  int64_t iLastVer; /* version of the previous row */
} Apply;

static void apply_free(Apply *a) {
  sqlite3_finalize(a->pIns);
  sqlite3_finalize(a->pUpd);
  sqlite3_finalize(a->pDel);
  sqlite3_free(a->aiData);
  sqlite3_free(a->aCell);
}

/* The name of result column i. */
static const char *col_name(Apply *a, int i) {
  return dbx_rows_column(a->pRows, i)->zName;
}

/* Sorts the result columns into change columns and data columns; finds
** the key and watermark columns among them. */
static int apply_columns(Apply *a, DbxError *pErr) {
  Sync *x = a->x;
  int i, k;
  a->nCol = dbx_rows_column_count(a->pRows);
  a->iType = a->iVer = a->iMark = a->iTs = -1;
  a->aiData =
      sqlite3_malloc64(sizeof(int) * (sqlite3_uint64)(a->nCol + x->nKey + 1));
  a->aCell = sqlite3_malloc64(sizeof(DbxCell) * (sqlite3_uint64)(a->nCol + 1));
  if (a->aiData == NULL || a->aCell == NULL) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  a->aiKey = a->aiData + a->nCol;
  for (i = 0; i < a->nCol; i++) {
    const char *z = col_name(a, i);
    if (x->o.zSince == NULL && sqlite3_stricmp(z, DBX_CDF_CHANGE_TYPE) == 0) {
      a->iType = i;
    } else if (x->o.zSince == NULL &&
               sqlite3_stricmp(z, DBX_CDF_COMMIT_VERSION) == 0) {
      a->iVer = i;
    } else if (x->o.zSince == NULL &&
               sqlite3_stricmp(z, DBX_CDF_COMMIT_TIMESTAMP) == 0) {
      a->iTs = i; /* not kept: a transform can name it otherwise */
    } else {
      if (x->o.zSince && sqlite3_stricmp(z, x->o.zSince) == 0) a->iMark = i;
      a->aiData[a->nData++] = i;
    }
  }
  for (k = 0; k < x->nKey; k++) {
    for (i = 0; i < a->nData; i++) {
      if (sqlite3_stricmp(col_name(a, a->aiData[i]), x->azKey[k]) == 0) break;
    }
    if (i == a->nData) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "dbx_sync: key column %s is not a column of the "
                           "rows read from %s",
                           x->azKey[k], x->zSource);
    }
    a->aiKey[k] = i;
  }
  if (x->o.zSince && a->iMark < 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: since_column %s is not a column of the "
                         "rows read from %s",
                         x->o.zSince, x->zSource);
  }
  if (a->iMark >= 0) {
    const DbxColumn *c = dbx_rows_column(a->pRows, a->iMark);
    sqlite3_free(x->zNewMarkType);
    x->zNewMarkType = dbx_strdup(c->zTypeText);
    if (x->zNewMarkType == NULL || !type_text_ok(c->zTypeText)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "dbx_sync: since_column %s has a type that cannot "
                           "be read back (%.40s)",
                           x->o.zSince, c->zTypeText ? c->zTypeText : "");
    }
  }
  if (x->o.zSince == NULL && x->o.eKind != SYNC_EVENTS && a->iVer < 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: the transform must keep %s, which "
                         "orders the changes kind '%s' applies",
                         DBX_CDF_COMMIT_VERSION, azKind[x->o.eKind]);
  }
  if (a->nData == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: the rows read from %s have no column to "
                         "keep",
                         x->zSource);
  }
  return SQLITE_OK;
}

/* Runs one statement of text z, or sets pErr. */
static int local_exec(Sync *x, const char *z, DbxError *pErr) {
  int rc = sqlite3_exec(x->db, z, NULL, NULL, NULL);
  if (rc) {
    return dbx_error_set(pErr, rc, "dbx_sync: %s: %s", x->zLocal,
                         sqlite3_errmsg(x->db));
  }
  return SQLITE_OK;
}

/* Whether the names pStmt gives (column 0 of its rows) are exactly the
** key columns. Returns 1 or 0; *pRc gets the error of a step. */
static int key_names(Sync *x, sqlite3_stmt *pStmt, int *pRc) {
  int nName = 0, nMatch = 0, k, rc;
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    nName++;
    for (k = 0; z && k < x->nKey; k++) {
      if (sqlite3_stricmp(z, x->azKey[k]) == 0) nMatch++;
    }
  }
  if (rc != SQLITE_DONE) *pRc = rc;
  sqlite3_reset(pStmt);
  return nName == x->nKey && nMatch == x->nKey;
}

/* Whether the local table has a PRIMARY KEY (a rowid alias too, which
** index_list omits) or a UNIQUE index, not partial, over exactly the key
** columns. */
static int local_has_key(Sync *x, int *pbOk, DbxError *pErr) {
  sqlite3_stmt *pPk = NULL, *pList = NULL, *pInfo = NULL;
  int rc = sqlite3_prepare_v2(x->db,
                              "SELECT name FROM pragma_table_info(?1, 'main') "
                              "WHERE pk > 0",
                              -1, &pPk, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(x->db,
                            "SELECT name FROM pragma_index_list(?1, 'main') "
                            "WHERE \"unique\" AND NOT partial",
                            -1, &pList, NULL);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_prepare_v2(x->db,
                            "SELECT name FROM pragma_index_info(?1, 'main')",
                            -1, &pInfo, NULL);
  }
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(pPk, 1, x->zLocal, -1, SQLITE_STATIC);
    sqlite3_bind_text(pList, 1, x->zLocal, -1, SQLITE_STATIC);
    *pbOk = key_names(x, pPk, &rc);
    while (rc == SQLITE_OK && !*pbOk && sqlite3_step(pList) == SQLITE_ROW) {
      sqlite3_bind_text(pInfo, 1, (const char *)sqlite3_column_text(pList, 0),
                        -1, SQLITE_TRANSIENT);
      *pbOk = key_names(x, pInfo, &rc);
    }
  }
  if (rc) {
    dbx_error_set(pErr, rc, "dbx_sync: cannot read the indexes of %s: %s",
                  x->zLocal, sqlite3_errmsg(x->db));
  }
  sqlite3_finalize(pPk);
  sqlite3_finalize(pList);
  sqlite3_finalize(pInfo);
  return rc;
}

/* Creates the local table, or adds the columns it lacks; checks its key. */
static int apply_table(Apply *a, DbxError *pErr) {
  Sync *x = a->x;
  sqlite3_stmt *pStmt = NULL;
  DbxBuf b = {0};
  char *zSql;
  int i, k, rc, nHave = 0, bOk = 0;
  char *abHave = sqlite3_malloc(a->nData + 1);
  if (abHave == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(abHave, 0, (size_t)a->nData + 1);
  zSql = sqlite3_mprintf("SELECT name FROM pragma_table_info(%Q, 'main')",
                         x->zLocal);
  rc = zSql ? sqlite3_prepare_v2(x->db, zSql, -1, &pStmt, NULL) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *z = (const char *)sqlite3_column_text(pStmt, 0);
    nHave++;
    for (i = 0; z && i < a->nData; i++) {
      if (sqlite3_stricmp(z, col_name(a, a->aiData[i])) == 0) abHave[i] = 1;
    }
  }
  sqlite3_finalize(pStmt);
  if (rc) {
    sqlite3_free(abHave);
    return dbx_error_set(pErr, rc,
                         "dbx_sync: cannot read the columns of %s: %s",
                         x->zLocal, sqlite3_errmsg(x->db));
  }
  if (nHave == 0) {
    /* CREATE TABLE with the remote types declared, and the key */
    dbx_buf_appendf(&b, "CREATE TABLE main.");
    dbx_buf_append_name(&b, x->zLocal);
    dbx_buf_append(&b, "(", 1);
    /* one integer key: the rowid itself, no separate index to keep */
    int iRowid =
        x->nKey == 1 &&
                dbx_rows_column(a->pRows, a->aiData[a->aiKey[0]])->eKind ==
                    DBX_KIND_INTEGER
            ? a->aiKey[0]
            : -1;
    for (i = 0; i < a->nData; i++) {
      const DbxColumn *c = dbx_rows_column(a->pRows, a->aiData[i]);
      char *zDecl = dbx_sql_decltype(c->zTypeText, c->zTypeName);
      if (i) dbx_buf_append(&b, ", ", 2);
      dbx_buf_append_name(&b, c->zName);
      if (i == iRowid)
        dbx_buf_appendf(&b, " INTEGER PRIMARY KEY");
      else if (zDecl && zDecl[0])
        dbx_buf_appendf(&b, " %s", zDecl);
      if (zDecl == NULL) b.rc = SQLITE_NOMEM;
      sqlite3_free(zDecl);
    }
    if (x->nKey && iRowid < 0) {
      dbx_buf_appendf(&b, ", PRIMARY KEY (");
      for (k = 0; k < x->nKey; k++) {
        if (k) dbx_buf_append(&b, ", ", 2);
        dbx_buf_append_name(&b, col_name(a, a->aiData[a->aiKey[k]]));
      }
      dbx_buf_append(&b, ")", 1);
    }
    dbx_buf_append(&b, ")", 1);
    rc = b.rc ? dbx_error_set(pErr, SQLITE_NOMEM, "out of memory")
              : local_exec(x, b.z, pErr);
    x->n.bCreated = rc == SQLITE_OK;
    dbx_buf_free(&b);
    sqlite3_free(abHave);
    return rc;
  }
  for (i = 0; rc == SQLITE_OK && i < a->nData; i++) {
    const DbxColumn *c = dbx_rows_column(a->pRows, a->aiData[i]);
    char *zDecl;
    if (abHave[i]) continue;
    zDecl = dbx_sql_decltype(c->zTypeText, c->zTypeName);
    b.n = 0;
    dbx_buf_appendf(&b, "ALTER TABLE main.");
    dbx_buf_append_name(&b, x->zLocal);
    dbx_buf_appendf(&b, " ADD COLUMN ");
    dbx_buf_append_name(&b, c->zName);
    if (zDecl && zDecl[0]) dbx_buf_appendf(&b, " %s", zDecl);
    rc = b.rc || zDecl == NULL
             ? dbx_error_set(pErr, SQLITE_NOMEM, "out of memory")
             : local_exec(x, b.z, pErr);
    if (rc == SQLITE_OK) x->n.nAdded++;
    sqlite3_free(zDecl);
  }
  dbx_buf_free(&b);
  sqlite3_free(abHave);
  if (rc == SQLITE_OK && x->nKey) rc = local_has_key(x, &bOk, pErr);
  if (rc == SQLITE_OK && x->nKey && !bOk) {
    DbxBuf cols = {0};
    for (k = 0; k < x->nKey; k++) {
      if (k) dbx_buf_append(&cols, ", ", 2);
      dbx_buf_append_name(&cols, x->azKey[k]);
    }
    char *zIdx = sqlite3_mprintf("%s_key", x->zLocal);
    DbxBuf idx = {0};
    dbx_buf_append_name(&idx, zIdx ? zIdx : "key");
    dbx_buf_append(&idx, " ON ", 4);
    dbx_buf_append_name(&idx, x->zLocal);
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "dbx_sync: %s needs a PRIMARY KEY or UNIQUE index on "
                       "its key to apply changes by key: CREATE UNIQUE INDEX "
                       "%s(%s)",
                       x->zLocal, idx.rc ? "?" : idx.z, cols.rc ? "?" : cols.z);
    sqlite3_free(zIdx);
    dbx_buf_free(&idx);
    dbx_buf_free(&cols);
  }
  return rc;
}

/* Prepares the writes: INSERT, UPDATE of a changed row, DELETE by key.
** Parameter i+1 is data column i in all three. */
static int apply_prepare(Apply *a, DbxError *pErr) {
  Sync *x = a->x;
  DbxBuf b = {0};
  int i, k, nSet = 0, rc;
  /* INSERT [OR IGNORE] INTO t(c, ...) VALUES (?1, ...) */
  dbx_buf_appendf(&b, "INSERT %sINTO main.", x->nKey ? "OR IGNORE " : "");
  dbx_buf_append_name(&b, x->zLocal);
  dbx_buf_append(&b, "(", 1);
  for (i = 0; i < a->nData; i++) {
    if (i) dbx_buf_append(&b, ", ", 2);
    dbx_buf_append_name(&b, col_name(a, a->aiData[i]));
  }
  dbx_buf_appendf(&b, ") VALUES (");
  for (i = 0; i < a->nData; i++)
    dbx_buf_appendf(&b, "%s?%d", i ? ", " : "", i + 1);
  dbx_buf_append(&b, ")", 1);
  rc = b.rc ? SQLITE_NOMEM : sqlite3_prepare_v2(x->db, b.z, -1, &a->pIns, NULL);
  if (rc == SQLITE_OK && x->nKey) {
    /* UPDATE t SET c = ?i, ... WHERE k = ?j AND (c IS NOT ?i OR ...) */
    DbxBuf where = {0};
    b.n = 0;
    dbx_buf_appendf(&b, "UPDATE main.");
    dbx_buf_append_name(&b, x->zLocal);
    dbx_buf_appendf(&b, " SET ");
    for (k = 0; k < x->nKey; k++) {
      dbx_buf_appendf(&where, "%s", k ? " AND " : " WHERE ");
      dbx_buf_append_name(&where, col_name(a, a->aiData[a->aiKey[k]]));
      dbx_buf_appendf(&where, " = ?%d", a->aiKey[k] + 1);
    }
    for (i = 0; i < a->nData; i++) {
      for (k = 0; k < x->nKey && a->aiKey[k] != i; k++) {
      }
      if (k < x->nKey) continue;
      dbx_buf_appendf(&b, "%s", nSet ? ", " : "");
      dbx_buf_append_name(&b, col_name(a, a->aiData[i]));
      dbx_buf_appendf(&b, " = ?%d", i + 1);
      nSet++;
    }
    dbx_buf_append(&b, where.z, where.n);
    dbx_buf_appendf(&b, " AND (");
    for (i = 0, nSet = 0; i < a->nData; i++) {
      for (k = 0; k < x->nKey && a->aiKey[k] != i; k++) {
      }
      if (k < x->nKey) continue;
      dbx_buf_appendf(&b, "%s", nSet++ ? " OR " : "");
      dbx_buf_append_name(&b, col_name(a, a->aiData[i]));
      dbx_buf_appendf(&b, " IS NOT ?%d", i + 1);
    }
    dbx_buf_append(&b, ")", 1);
    if (nSet) {
      rc = b.rc || where.rc
               ? SQLITE_NOMEM
               : sqlite3_prepare_v2(x->db, b.z, -1, &a->pUpd, NULL);
    }
    /* DELETE FROM t WHERE k = ?j ... */
    if (rc == SQLITE_OK) {
      b.n = 0;
      dbx_buf_appendf(&b, "DELETE FROM main.");
      dbx_buf_append_name(&b, x->zLocal);
      dbx_buf_append(&b, where.z, where.n);
      rc = b.rc || where.rc
               ? SQLITE_NOMEM
               : sqlite3_prepare_v2(x->db, b.z, -1, &a->pDel, NULL);
    }
    dbx_buf_free(&where);
  }
  dbx_buf_free(&b);
  if (rc == SQLITE_NOMEM) return dbx_error_set(pErr, rc, "out of memory");
  if (rc) {
    return dbx_error_set(pErr, rc, "dbx_sync: cannot write to %s: %s",
                         x->zLocal, sqlite3_errmsg(x->db));
  }
  return SQLITE_OK;
}

/* Binds the data cells of the current row to pStmt and runs it. Returns
** SQLITE_OK with *pnChanged the rows it changed, or an error in pErr. */
static int apply_step(Apply *a, sqlite3_stmt *pStmt, int *pnChanged,
                      DbxError *pErr) {
  int i, n = sqlite3_bind_parameter_count(pStmt), rc;
  for (i = 0; i < n && i < a->nData; i++) {
    const DbxCell *c = &a->aCell[a->aiData[i]];
    switch (c->eType) {
    case DBX_CELL_INTEGER:
      sqlite3_bind_int64(pStmt, i + 1, c->iVal);
      break;
    case DBX_CELL_REAL:
      sqlite3_bind_double(pStmt, i + 1, c->rVal);
      break;
    case DBX_CELL_TEXT:
      sqlite3_bind_text64(pStmt, i + 1, c->z, c->n, SQLITE_STATIC, SQLITE_UTF8);
      break;
    case DBX_CELL_BLOB:
      sqlite3_bind_blob64(pStmt, i + 1, c->z, c->n, SQLITE_STATIC);
      break;
    default:
      sqlite3_bind_null(pStmt, i + 1);
    }
  }
  rc = sqlite3_step(pStmt);
  sqlite3_reset(pStmt);
  if (rc != SQLITE_DONE) {
    return dbx_error_set(pErr, rc == SQLITE_ROW ? SQLITE_ERROR : rc,
                         "dbx_sync: cannot apply a change to %s: %s",
                         a->x->zLocal, sqlite3_errmsg(a->x->db));
  }
  *pnChanged = sqlite3_changes(a->x->db);
  return SQLITE_OK;
}

/* The change type of the current row. */
static int apply_change_type(Apply *a, int *peChange, DbxError *pErr) {
  static const char *const az[] = {"insert", "update_preimage",
                                   "update_postimage", "delete"};
  const DbxCell *c;
  int i;
  *peChange = CHANGE_INSERT; /* rows without a change type are inserts */
  if (a->iType < 0) return SQLITE_OK;
  c = &a->aCell[a->iType];
  for (i = 0; c->eType == DBX_CELL_TEXT && i < 4; i++) {
    if (strcmp(c->z, az[i]) == 0) {
      *peChange = i;
      return SQLITE_OK;
    }
  }
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "dbx_sync: %s sent a change of type '%.40s', which "
                       "is none of Delta's: nothing was applied",
                       a->x->zSource,
                       c->eType == DBX_CELL_TEXT ? c->z : "(not text)");
}

/* Checks the version of the current row against the range read and the
** order asked for. */
static int apply_check_version(Apply *a, DbxError *pErr) {
  Sync *x = a->x;
  const DbxCell *c;
  int64_t v;
  if (a->iVer < 0 || x->o.zSince) return SQLITE_OK;
  c = &a->aCell[a->iVer];
  v = c->iVal;
  if (c->eType != DBX_CELL_INTEGER || v < x->range.iStart ||
      v > x->range.iEnd) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: %s sent a change %s%lld, outside the "
                         "versions read (%lld to %lld): nothing was applied",
                         x->zSource,
                         c->eType == DBX_CELL_INTEGER ? "of version "
                                                      : "without a version",
                         c->eType == DBX_CELL_INTEGER ? (long long)v : 0LL,
                         (long long)x->range.iStart, (long long)x->range.iEnd);
  }
  if (x->o.eKind != SYNC_EVENTS && v < a->iLastVer) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: %s sent the changes out of version "
                         "order (%lld after %lld): nothing was applied",
                         x->zSource, (long long)v, (long long)a->iLastVer);
  }
  a->iLastVer = v;
  return SQLITE_OK;
}

/* Since mode: keeps the largest watermark value seen. */
static int sync_mark(Sync *x, const DbxCell *c, DbxError *pErr) {
  char zNum[40];
  const char *z = zNum;
  int bMore;
  if (c->eType == DBX_CELL_NULL) return SQLITE_OK;
  if (c->eType == DBX_CELL_INTEGER) {
    snprintf(zNum, sizeof(zNum), "%lld", (long long)c->iVal);
    bMore = x->zNewMark == NULL || c->iVal > strtoll(x->zNewMark, NULL, 10);
  } else if (c->eType == DBX_CELL_REAL) {
    snprintf(zNum, sizeof(zNum), "%.17g", c->rVal);
    bMore = x->zNewMark == NULL || c->rVal > strtod(x->zNewMark, NULL);
  } else if (c->eType == DBX_CELL_TEXT && !c->bJson && c->n < 100) {
    z = c->z;
    bMore = x->zNewMark == NULL || strcmp(z, x->zNewMark) > 0;
  } else {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "dbx_sync: since_column %s must be a number, a "
                         "date or a timestamp",
                         x->o.zSince);
  }
  if (bMore) {
    sqlite3_free(x->zNewMark);
    x->zNewMark = dbx_strdup(z);
    if (x->zNewMark == NULL)
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  return SQLITE_OK;
}

/* Applies the current row. */
static int apply_row(Apply *a, DbxError *pErr) {
  Sync *x = a->x;
  SyncCounts *n = &x->n;
  sqlite3_stmt *apTry[2] = {NULL, NULL};
  int64_t *apHit[2] = {NULL, NULL};
  int eChange, k, rc;
  rc = apply_change_type(a, &eChange, pErr);
  if (rc == SQLITE_OK) rc = apply_check_version(a, pErr);
  if (rc == SQLITE_OK && a->iMark >= 0) {
    rc = sync_mark(x, &a->aCell[a->iMark], pErr);
  }
  if (rc || eChange == CHANGE_PRE) return rc;
  n->nRow++;
  for (k = 0; k < x->nKey; k++) {
    if (a->aCell[a->aiData[a->aiKey[k]]].eType == DBX_CELL_NULL) {
      n->nIgnored++; /* no key: nothing to match it by */
      return SQLITE_OK;
    }
  }
  /* the writes to try in turn: the first that changes a row counts it, and
  ** when none does the row was there already */
  if (eChange == CHANGE_DELETE) {
    if (!x->o.eDeletes) {
      n->nIgnored++;
      return SQLITE_OK;
    }
    apTry[0] = a->pDel;
    apHit[0] = &n->nDeleted;
  } else if (x->o.eKind == SYNC_EVENTS) {
    if (eChange != CHANGE_INSERT) {
      n->nIgnored++;
      return SQLITE_OK;
    }
    apTry[0] = a->pIns;
    apHit[0] = &n->nInserted;
  } else {
    /* an upsert, the likelier write first (no UPDATE when every column is
    ** in the key) */
    int iUpd = eChange == CHANGE_POST ? 0 : 1;
    apTry[iUpd] = a->pUpd;
    apHit[iUpd] = &n->nUpdated;
    apTry[!iUpd] = a->pIns;
    apHit[!iUpd] = &n->nInserted;
  }
  for (k = 0; k < 2; k++) {
    int nChanged = 0;
    if (apTry[k] == NULL) continue;
    rc = apply_step(a, apTry[k], &nChanged, pErr);
    if (rc) return rc;
    if (nChanged) {
      (*apHit[k])++;
      return SQLITE_OK;
    }
  }
  n->nUnchanged++;
  return SQLITE_OK;
}

/* Applies every row of pRows, creating or widening the table first. */
static int apply_rows(Sync *x, DbxRows *pRows, DbxError *pErr) {
  Apply a;
  int64_t nShown = 0;
  int rc, i;
  memset(&a, 0, sizeof(a));
  a.x = x;
  a.pRows = pRows;
  a.iLastVer = -1;
  rc = apply_columns(&a, pErr);
  if (rc == SQLITE_OK) rc = apply_table(&a, pErr);
  if (rc == SQLITE_OK) rc = apply_prepare(&a, pErr);
  while (rc == SQLITE_OK && (rc = dbx_rows_next(pRows, pErr)) == SQLITE_ROW) {
    rc = SQLITE_OK;
    for (i = 0; rc == SQLITE_OK && i < a.nCol; i++) {
      if (i != a.iTs) rc = dbx_rows_cell(pRows, i, &a.aCell[i], pErr);
    }
    if (rc == SQLITE_OK) rc = apply_row(&a, pErr);
    if (rc == SQLITE_OK && x->prog.bOn && x->n.nRow - nShown >= 65536) {
      nShown = x->n.nRow;
      dbx_progress_show(&x->prog, "apply", nShown, -1, 0);
    }
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  apply_free(&a);
  return rc;
}

/* ---------------------------------------------------------------------
** The call
*/

/* The report: see the top of this file. */
static char *sync_report(Sync *x, int64_t iFrom, int64_t iTo, int64_t msTotal) {
  const SyncCounts *n = &x->n;
  DbxBuf b = {0};
  dbx_buf_appendf(&b, "{\"source\":");
  dbx_buf_append_json(&b, x->zSource, strlen(x->zSource));
  dbx_buf_appendf(&b, ",\"table\":");
  dbx_buf_append_json(&b, x->zLocal, strlen(x->zLocal));
  dbx_buf_appendf(&b, ",\"kind\":\"%s\"", azKind[x->o.eKind]);
  if (x->o.zSince) {
    const char *z = x->zNewMark ? x->zNewMark : x->zMark;
    dbx_buf_appendf(&b, ",\"watermark\":");
    if (z)
      dbx_buf_append_json(&b, z, strlen(z));
    else
      dbx_buf_append(&b, "null", 4);
  } else {
    if (iFrom == DBX_CDF_NONE)
      dbx_buf_appendf(&b, ",\"from\":null");
    else
      dbx_buf_appendf(&b, ",\"from\":%lld", (long long)iFrom);
    if (iTo == DBX_CDF_NONE)
      dbx_buf_appendf(&b, ",\"to\":null");
    else
      dbx_buf_appendf(&b, ",\"to\":%lld", (long long)iTo);
  }
  dbx_buf_appendf(&b,
                  ",\"rows\":%lld,\"inserted\":%lld,\"updated\":%lld,"
                  "\"deleted\":%lld,\"unchanged\":%lld,\"ignored\":%lld,"
                  "\"created\":%s,\"columns_added\":%d,\"statement_ids\":[",
                  (long long)n->nRow, (long long)n->nInserted,
                  (long long)n->nUpdated, (long long)n->nDeleted,
                  (long long)n->nUnchanged, (long long)n->nIgnored,
                  n->bCreated ? "true" : "false", n->nAdded);
  if (x->ids.n) dbx_buf_append(&b, x->ids.z, x->ids.n);
  dbx_buf_appendf(&b,
                  "],\"seconds\":{\"query\":%.3f,\"apply\":%.3f,"
                  "\"total\":%.3f}}",
                  (double)x->msRemote / 1000, (double)x->msApply / 1000,
                  (double)msTotal / 1000);
  if (b.rc) {
    dbx_buf_free(&b);
    return NULL;
  }
  return dbx_buf_take(&b);
}

/* Test: the rows the call would apply, as {"from", "to", "rows"}. */
static int sync_test_rows(Sync *x, DbxRows *pRows, char **pzOut,
                          DbxError *pErr) {
  DbxBuf b = {0};
  DbxCell *aCell;
  int nCol = pRows ? dbx_rows_column_count(pRows) : 0, i, nRow = 0, rc;
  aCell = sqlite3_malloc64(sizeof(DbxCell) * (sqlite3_uint64)(nCol + 1));
  if (aCell == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  if (x->o.zSince) {
    dbx_buf_appendf(&b, "{\"watermark\":");
    if (x->zMark)
      dbx_buf_append_json(&b, x->zMark, strlen(x->zMark));
    else
      dbx_buf_append(&b, "null", 4);
  } else if (pRows) {
    dbx_buf_appendf(&b, "{\"from\":%lld,\"to\":%lld",
                    (long long)x->range.iStart, (long long)x->range.iEnd);
  } else {
    dbx_buf_appendf(&b, "{\"from\":null,\"to\":null");
  }
  dbx_buf_appendf(&b, ",\"columns\":[");
  for (i = 0; i < nCol; i++) {
    const DbxColumn *c = dbx_rows_column(pRows, i);
    dbx_buf_appendf(&b, "%s{\"name\":", i ? "," : "");
    dbx_buf_append_json(&b, c->zName, strlen(c->zName));
    dbx_buf_appendf(&b, ",\"type\":");
    dbx_buf_append_json(&b, c->zTypeText ? c->zTypeText : "",
                        c->zTypeText ? strlen(c->zTypeText) : 0);
    dbx_buf_append(&b, "}", 1);
  }
  dbx_buf_appendf(&b, "],\"rows\":[");
  rc = pRows ? SQLITE_OK : SQLITE_DONE;
  while (rc == SQLITE_OK && (rc = dbx_rows_next(pRows, pErr)) == SQLITE_ROW) {
    rc = SQLITE_OK;
    for (i = 0; rc == SQLITE_OK && i < nCol; i++) {
      rc = dbx_rows_cell(pRows, i, &aCell[i], pErr);
    }
    if (rc == SQLITE_OK) {
      if (nRow++) dbx_buf_append(&b, ",", 1);
      dbx_result_row_json(dbx_rows_column(pRows, 0), aCell, nCol, &b);
    }
  }
  sqlite3_free(aCell);
  if (rc != SQLITE_DONE) {
    dbx_buf_free(&b);
    return rc;
  }
  dbx_buf_appendf(&b, "]}");
  if (b.rc) {
    dbx_buf_free(&b);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  *pzOut = dbx_buf_take(&b);
  return SQLITE_OK;
}

/* start = 'latest' on a first call: only the version (or the watermark)
** is stored. */
static int sync_skip_history(Sync *x, int64_t *piTo, DbxError *pErr) {
  int rc;
  if (x->o.zSince == NULL) {
    DbxCdfTable t = {x->azSource[0], x->azSource[1], x->azSource[2]};
    DbxCdfLatest latest;
    rc = dbx_cdf_latest(x->pClient, &t, &x->stmt, &latest, pErr);
    if (rc == SQLITE_OK) {
      rc = state_write(x, latest.iVersion, NULL, NULL, 1, pErr);
    }
    *piTo = latest.iVersion;
  } else {
    DbxRows *pRows = NULL;
    DbxBuf b = {0};
    DbxCell c;
    dbx_buf_appendf(&b, "SELECT max(");
    dbx_sql_ident(&b, x->o.zSince);
    dbx_buf_appendf(&b, ") AS mark FROM ");
    sql_source(x, &b);
    rc = b.rc ? dbx_error_set(pErr, SQLITE_NOMEM, "out of memory")
              : dbx_rows_execute(x->pClient, b.z, NULL, 0, &x->stmt, &pRows,
                                 pErr);
    dbx_buf_free(&b);
    sync_note_id(x, pRows);
    if (rc == SQLITE_OK) {
      rc = dbx_rows_next(pRows, pErr);
      if (rc == SQLITE_ROW)
        rc = dbx_rows_cell(pRows, 0, &c, pErr);
      else if (rc == SQLITE_DONE)
        rc = SQLITE_OK; /* no row: nothing to skip */
    }
    if (rc == SQLITE_OK && dbx_rows_column_count(pRows) == 1) {
      rc = sync_mark(x, &c, pErr);
    }
    if (rc == SQLITE_OK && x->zNewMark) {
      const DbxColumn *pCol = dbx_rows_column(pRows, 0);
      x->zNewMarkType = dbx_strdup(pCol->zTypeText);
      rc = x->zNewMarkType ? state_write(x, DBX_CDF_NONE, x->zNewMark,
                                         x->zNewMarkType, 0, pErr)
                           : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    dbx_rows_free(pRows);
  }
  return rc;
}

/* Reads the changes (or the rows beyond the watermark) and applies them,
** or in a test returns them; stores where the call got to. */
static int sync_run(Sync *x, char **pzOut, DbxError *pErr) {
  DbxRows *pRows = NULL;
  int64_t t0 = dbx_now_ms(), iFrom = DBX_CDF_NONE, iTo = DBX_CDF_NONE, t1;
  int rc;
  dbx_cdf_range_init(&x->range);
  if (!x->bState && x->o.zStart && strcmp(x->o.zStart, "latest") == 0) {
    /* nothing present is applied: a test shows no rows */
    if (x->o.bTest) return sync_test_rows(x, NULL, pzOut, pErr);
    rc = sync_skip_history(x, &iTo, pErr);
    x->msRemote = dbx_now_ms() - t0;
    if (rc == SQLITE_OK) {
      *pzOut = sync_report(x, DBX_CDF_NONE, iTo, dbx_now_ms() - t0);
      if (*pzOut == NULL)
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    return rc;
  }
  dbx_progress_show(&x->prog, "query", 0, -1, 0);
  if (x->o.zSince) {
    rc = sync_read_since(x, &pRows, pErr);
  } else {
    DbxCdfTable t = {x->azSource[0], x->azSource[1], x->azSource[2]};
    DbxCdfRange want;
    dbx_cdf_range_init(&want);
    if (x->bState)
      want.iStart = x->iVersion + 1;
    else if (x->o.iStart != DBX_CDF_NONE)
      want.iStart = x->o.iStart;
    rc = dbx_cdf_read(x->pClient, &t, &want, sync_sql, x, NULL, 0, &x->stmt,
                      &pRows, &x->range, pErr);
    if (rc && x->bState && dbx_cdf_unreadable(pErr)) {
      char *z = sqlite3_mprintf("dbx_sync: %s is synced into %s up to "
                                "version %lld, and %s (to start over: empty "
                                "%s and delete its row in dbx_sync_state)",
                                x->zSource, x->zLocal, (long long)x->iVersion,
                                pErr->zMsg, x->zLocal);
      if (z) snprintf(pErr->zMsg, sizeof(pErr->zMsg), "%s", z);
      sqlite3_free(z);
    }
    if (pRows) {
      iFrom = x->range.iStart;
      iTo = x->range.iEnd;
    } else if (x->bState) {
      iTo = x->iVersion;
    }
  }
  if (rc && x->o.zTransform && pErr->zCode[0] && !dbx_cdf_unreadable(pErr)) {
    int bCol = strncmp(pErr->zCode, "UNRESOLVED_COLUMN", 17) == 0;
    char *z = sqlite3_mprintf("dbx_sync: the transform does not run%s: %s",
                              bCol && x->o.zSince == NULL
                                  ? " (it must keep _commit_version, and "
                                    "_change_type to tell updates and "
                                    "deletes)"
                                  : "",
                              pErr->zMsg);
    if (z) snprintf(pErr->zMsg, sizeof(pErr->zMsg), "%s", z);
    sqlite3_free(z);
  }
  sync_note_id(x, pRows);
  t1 = dbx_now_ms();
  x->msRemote = t1 - t0;
  if (rc == SQLITE_OK && x->o.bTest) {
    rc = sync_test_rows(x, pRows, pzOut, pErr);
    dbx_rows_free(pRows);
    return rc;
  }
  if (rc == SQLITE_OK && pRows) {
    dbx_progress_show(&x->prog, "apply", 0, -1, 0);
    rc = apply_rows(x, pRows, pErr);
  }
  dbx_rows_free(pRows);
  x->msApply = dbx_now_ms() - t1;
  if (rc == SQLITE_OK && pRows) {
    if (x->o.zSince) {
      /* no value beyond the watermark: the state stays as it is */
      if (x->zNewMark) {
        rc =
            state_write(x, DBX_CDF_NONE, x->zNewMark, x->zNewMarkType, 1, pErr);
      }
    } else {
      rc = state_write(x, iTo, NULL, NULL, 1, pErr);
    }
  }
  if (rc == SQLITE_OK) {
    dbx_progress_show(&x->prog, "done", x->n.nRow, -1, 1);
    *pzOut = sync_report(x, iFrom, iTo, dbx_now_ms() - t0);
    if (*pzOut == NULL) rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  return rc;
}

/*
** dbx_sync(source, local_table [, options_json]): see the top of this
** file. Returns the JSON report.
*/
void dbx_fn_sync(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char *const azWhat[] = {"the source", "the local table",
                                       "options_json"};
  Sync x;
  DbxError err;
  char *zOut = NULL;
  int rc, bOuter, bSave = 0;
  dbx_error_clear(&err);
  memset(&x, 0, sizeof(x));
  x.db = sqlite3_context_db_handle(ctx);
  x.ctx = ctx;
  if (argc < 2 || argc > 3) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_sync(source, local_table [, "
                         "options_json]) needs a catalog.schema.table and a "
                         "local table name",
                         -1);
    return;
  }
  rc = dbx_args_check_all(argc, argv, azWhat, 2, 2, "dbx_sync", &err);
  if (rc == SQLITE_OK) {
    x.zLocal = dbx_args_text(argc, argv, 1);
    if (x.zLocal[0] == 0 || sqlite3_strnicmp(x.zLocal, "sqlite_", 7) == 0 ||
        sqlite3_stricmp(x.zLocal, "dbx_sync_state") == 0) {
      rc = dbx_error_set(&err, SQLITE_ERROR,
                         "dbx_sync: '%s' cannot be the local table: name a "
                         "table of your own",
                         x.zLocal);
    }
  }
  if (rc == SQLITE_OK) {
    rc = sync_setup(&x, dbx_args_text(argc, argv, 0),
                    dbx_args_text(argc, argv, 2), &err);
  }
  x.prog.zWho = "dbx_sync";
  x.prog.bOn = rc == SQLITE_OK && !x.o.bTest &&
               (x.o.eProgress < 0 ? isatty(2) : x.o.eProgress);
  x.prog.t0 = dbx_now_ms();
  /* one savepoint holds the rows and the state: both or neither */
  bOuter = sqlite3_get_autocommit(x.db);
  if (rc == SQLITE_OK && !x.o.bTest) {
    rc = sqlite3_exec(x.db, "SAVEPOINT dbx_sync", NULL, NULL, NULL);
    if (rc) {
      dbx_error_set(&err, rc, "dbx_sync: cannot begin a transaction: %s",
                    sqlite3_errmsg(x.db));
    }
    bSave = rc == SQLITE_OK;
  }
  if (rc == SQLITE_OK) rc = state_read(&x, &err);
  if (rc == SQLITE_OK) rc = sync_run(&x, &zOut, &err);
  if (bSave && rc == SQLITE_OK) {
    rc = sqlite3_exec(x.db, "RELEASE dbx_sync", NULL, NULL, NULL);
    if (rc) {
      dbx_error_set(&err, rc,
                    "dbx_sync: the changes could not be committed "
                    "locally (%s): nothing was applied; run it again",
                    sqlite3_errmsg(x.db));
    }
  }
  if (bSave && rc) {
    sqlite3_exec(x.db, bOuter ? "ROLLBACK" : "ROLLBACK TO dbx_sync", NULL, NULL,
                 NULL);
    if (!bOuter) sqlite3_exec(x.db, "RELEASE dbx_sync", NULL, NULL, NULL);
  }
  if (x.prog.bOn && rc) fprintf(stderr, "\n");
  sync_free(&x);
  if (rc) {
    sqlite3_free(zOut);
    dbx_error_to_context(ctx, &err);
    return;
  }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J');
}
