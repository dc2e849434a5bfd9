/*
** session.c: per-connection state shared by the SQL surface (session.h).
**
** Serves dbx_config(), the option handling of dbx_query()/dbx_exec() and
** the databricks module, and the dbx_statements table. A session holds the
** connection's dbx_config() defaults, its open clients (one per identity,
** so tokens and HTTP connections are reused) and a ring of the last
** DBX_SESSION_LOG_SIZE remote statements. Sessions live in a small
** process-wide registry keyed by the sqlite3 pointer, reference counted by
** the registrations that use them.
*/
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "http.h"
#include "session.h"
#include "sqlgen.h"

/*
** One dbx_config(key, value) default of the connection: any config key
** (a secret only as an env:NAME / file:PATH reference, which config.c
** checks) or a statement option.
*/
typedef struct SessionDefault {
  char *zKey;                   /* canonical name; owned */
  char *zValue;                 /* owned */
  int bStmt;                    /* a statement option, not a config key */
  struct SessionDefault *pNext; /* next, in the order they were first set */
} SessionDefault;

/* One cached client. */
typedef struct SessionClient {
  char *zIdentity;             /* owned; dbx_config_identity() */
  DbxConfig *pConfig;          /* owned; the config it was opened with */
  DbxClient *pClient;          /* owned */
  struct SessionClient *pNext; /* next in the list */
} SessionClient;

struct DbxSession {
  const void *pKey;                       /* the sqlite3 connection, opaque */
  int nRef;                               /* registrations using the session */
  SessionDefault *pDefaults;              /* owned; dbx_config() defaults */
  SessionClient *pClients;                /* open clients */
  DbxLogEntry aLog[DBX_SESSION_LOG_SIZE]; /* ring, by iSeq % size */
  int64_t iLastSeq;    /* sequence of the newest entry, 0: none */
  int bAllowViews;     /* dbx_config('allow_views', 'true') was run */
  int bProgressShown;  /* a progress line is on stderr, to be cleared */
  int64_t tProgressMs; /* when the last progress line was written */
  void *pTables;       /* vtab.c's list of the connected databricks
                       ** tables (opaque here) */
  DbxSession *pNext;   /* next in the registry */
};

static pthread_mutex_t registryMutex = PTHREAD_MUTEX_INITIALIZER;
static DbxSession *pRegistry = NULL; /* every live session */

int dbx_session_attach(const void *pKey, DbxSession **ppOut) {
  DbxSession *p;
  pthread_mutex_lock(&registryMutex);
  for (p = pRegistry; p && p->pKey != pKey; p = p->pNext) {
  }
  if (p == NULL) {
    p = sqlite3_malloc64(sizeof(*p));
    if (p) {
      memset(p, 0, sizeof(*p));
      p->pKey = pKey;
      p->pNext = pRegistry;
      pRegistry = p;
    }
  }
  if (p) p->nRef++;
  pthread_mutex_unlock(&registryMutex);
  *ppOut = p;
  return p ? SQLITE_OK : SQLITE_NOMEM;
}

/* Frees one log entry's strings. */
static void log_entry_clear(DbxLogEntry *e) {
  sqlite3_free(e->zStatementId);
  sqlite3_free(e->zSql);
  sqlite3_free(e->zParams);
  sqlite3_free(e->zState);
  sqlite3_free(e->zError);
  memset(e, 0, sizeof(*e));
}

/* Frees a session that no registration uses any more. */
static void session_free(DbxSession *p) {
  int i;
  SessionClient *c, *cNext;
  SessionDefault *d, *dNext;
  for (d = p->pDefaults; d; d = dNext) {
    dNext = d->pNext;
    sqlite3_free(d->zKey);
    sqlite3_free(d->zValue);
    sqlite3_free(d);
  }
  for (c = p->pClients; c; c = cNext) {
    cNext = c->pNext;
    dbx_client_free(c->pClient);
    dbx_config_free(c->pConfig);
    sqlite3_free(c->zIdentity);
    sqlite3_free(c);
  }
  for (i = 0; i < DBX_SESSION_LOG_SIZE; i++)
    log_entry_clear(&p->aLog[i]);
  sqlite3_free(p);
}

void dbx_session_release(void *pArg) {
  DbxSession *p = pArg, **pp;
  int bFree = 0;
  if (p == NULL) return;
  pthread_mutex_lock(&registryMutex);
  if (--p->nRef <= 0) {
    for (pp = &pRegistry; *pp && *pp != p; pp = &(*pp)->pNext) {
    }
    if (*pp) *pp = p->pNext;
    bFree = 1;
  }
  pthread_mutex_unlock(&registryMutex);
  if (bFree) session_free(p);
}

/*
** The statement options a connection default may set. Not "idempotent":
** it vouches for one statement (safe to send twice), never for all.
*/
static const char *const azStmtDefault[] = {"disposition", "statement_timeout",
                                            "wait_timeout", "row_limit",
                                            "progress"};

/*
** The canonical name of a dbx_config() key in zOut[0..nOut): lower case,
** the warehouse spellings folded into warehouse_id, timeout into
** statement_timeout. *pbStmt says whether it is a statement option.
** Returns SQLITE_OK, or an error listing the settings that exist.
*/
static int default_key(const char *zKey, char *zOut, size_t nOut, int *pbStmt,
                       DbxError *pErr) {
  size_t i;
  char zKnown[600];
  for (i = 0; zKey[i] && i + 1 < nOut; i++)
    zOut[i] = (char)tolower((unsigned char)zKey[i]);
  zOut[i] = 0;
  *pbStmt = 0;
  if (zKey[i] == 0) {
    if (!strcmp(zOut, "warehouse") || !strcmp(zOut, "http_path")) {
      snprintf(zOut, nOut, "warehouse_id");
    } else if (!strcmp(zOut, "timeout")) {
      snprintf(zOut, nOut, "statement_timeout");
    }
    for (i = 0; i < DBX_ARRAY_SIZE(azStmtDefault); i++) {
      if (strcmp(zOut, azStmtDefault[i]) == 0) *pbStmt = 1;
    }
    if (*pbStmt || dbx_config_is_key(zOut)) return SQLITE_OK;
    if (strcmp(zOut, "idempotent") == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "dbx_config(): idempotent vouches for one "
                           "statement and is no connection default: give it "
                           "in the options of that call or table");
    }
  }
  dbx_config_known_keys(zKnown, sizeof(zKnown));
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "dbx_config(): unknown setting '%.40s'; the settings "
                       "are warehouse, %s, disposition, statement_timeout, "
                       "wait_timeout, row_limit",
                       zKey, zKnown);
}

int dbx_session_check_key(const char *zKey, DbxError *pErr) {
  char zName[64];
  int bStmt;
  if (strcasecmp(zKey, "allow_views") == 0) return SQLITE_OK;
  return default_key(zKey, zName, sizeof(zName), &bStmt, pErr);
}

/* dbx_config('allow_views', v): see session.h. */
static int session_allow_views(DbxSession *p, const char *zValue,
                               DbxError *pErr) {
  int bOn;
  if (zValue == NULL || strcasecmp(zValue, "false") == 0 ||
      strcmp(zValue, "0") == 0) {
    bOn = 0;
  } else if (strcasecmp(zValue, "true") == 0 || strcmp(zValue, "1") == 0) {
    bOn = 1;
  } else {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "allow_views must be true or false, not '%.40s'",
                         zValue);
  }
  if (bOn != p->bAllowViews && p->pTables) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "allow_views applies to databricks tables as they "
                         "are first used, and some already are: set it right "
                         "after loading the extension, or open the database "
                         "again");
  }
  p->bAllowViews = bOn;
  return SQLITE_OK;
}

int dbx_session_name3(const DbxConfig *pConfig, const char *zName,
                      const char *zWhat, char *azOut[3], DbxError *pErr) {
  char *azPart[3];
  int nPart = 0, rc;
  azOut[0] = azOut[1] = azOut[2] = NULL;
  rc = dbx_sql_name_split(zName, azPart, &nPart, pErr);
  if (rc) return rc;
  azOut[2] = azPart[nPart - 1];
  azOut[1] = nPart >= 2 ? azPart[nPart - 2]
                        : dbx_strdup(dbx_config_get(pConfig, "schema"));
  azOut[0] =
      nPart == 3 ? azPart[0] : dbx_strdup(dbx_config_get(pConfig, "catalog"));
  if (azOut[0] == NULL || azOut[1] == NULL) {
    int bSet = dbx_config_get(pConfig, "catalog") &&
               (nPart == 2 || dbx_config_get(pConfig, "schema"));
    dbx_sql_name_free(azOut);
    return bSet ? dbx_error_set(pErr, SQLITE_NOMEM, "out of memory")
                : dbx_error_set(pErr, SQLITE_ERROR,
                                "%s '%s' needs a catalog and a schema: write "
                                "catalog.schema.table, or set catalog= and "
                                "schema=",
                                zWhat, zName);
  }
  return SQLITE_OK;
}

int dbx_session_allow_views(const DbxSession *p) {
  return p->bAllowViews;
}

void **dbx_session_tables(DbxSession *p) {
  return &p->pTables;
}

int dbx_session_set_default(DbxSession *p, const char *zKey, const char *zValue,
                            DbxError *pErr) {
  SessionDefault *d, **pp;
  char zName[64], *zNew = NULL;
  int bStmt, rc;
  if (strcasecmp(zKey, "allow_views") == 0) {
    return session_allow_views(p, zValue, pErr);
  }
  rc = default_key(zKey, zName, sizeof(zName), &bStmt, pErr);
  if (rc) return rc;
  if (zValue && bStmt) {
    /* checked now, so every later statement can apply it */
    DbxStmtOptions check;
    dbx_stmt_options_init(&check);
    rc = dbx_stmt_option(&check, zName, zValue, pErr);
    if (rc) return rc;
    zNew = dbx_strdup(zValue);
  } else if (zValue) {
    /* config.c checks the value (warehouse path, integer, secret literal,
    ** host userinfo) and gives its canonical form */
    DbxConfig *pCheck = NULL;
    rc = dbx_config_new(&pCheck);
    if (rc) return dbx_error_set(pErr, rc, "out of memory");
    rc = dbx_config_set(pCheck, zName, zValue, DBX_SRC_SESSION, pErr);
    if (rc == SQLITE_OK) zNew = dbx_strdup(dbx_config_get(pCheck, zName));
    dbx_config_free(pCheck);
    if (rc) return rc;
  }
  if (zValue && zNew == NULL) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  for (pp = &p->pDefaults; *pp && strcmp((*pp)->zKey, zName);
       pp = &(*pp)->pNext) {
  }
  d = *pp;
  if (d == NULL && zNew) {
    d = sqlite3_malloc64(sizeof(*d));
    if (d) {
      memset(d, 0, sizeof(*d));
      d->zKey = dbx_strdup(zName);
    }
    if (d == NULL || d->zKey == NULL) {
      sqlite3_free(d);
      sqlite3_free(zNew);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    d->bStmt = bStmt;
    *pp = d;
  }
  if (d == NULL) return SQLITE_OK; /* clearing what was not set */
  sqlite3_free(d->zValue);
  d->zValue = zNew;
  if (zNew == NULL) { /* NULL clears the default */
    *pp = d->pNext;
    sqlite3_free(d->zKey);
    sqlite3_free(d);
  }
  return SQLITE_OK;
}

/* Builds an unresolved config: options over session defaults. */
static int session_build(DbxSession *p, const DbxOption *aOpt, int nOpt,
                         DbxConfig **ppConfig, DbxError *pErr) {
  DbxConfig *pConfig = NULL;
  SessionDefault *d;
  int i, rc = dbx_config_new(&pConfig);
  *ppConfig = NULL;
  if (rc) return dbx_error_set(pErr, rc, "out of memory");
  for (i = 0; rc == SQLITE_OK && i < nOpt; i++) {
    rc = dbx_config_set(pConfig, aOpt[i].zKey, aOpt[i].zValue, DBX_SRC_OPTION,
                        pErr);
  }
  for (d = p->pDefaults; rc == SQLITE_OK && d; d = d->pNext) {
    if (d->bStmt) continue;
    rc = dbx_config_set(pConfig, d->zKey, d->zValue, DBX_SRC_SESSION, pErr);
  }
  if (rc) {
    dbx_config_free(pConfig);
    return rc;
  }
  *ppConfig = pConfig;
  return SQLITE_OK;
}

int dbx_session_config(DbxSession *p, const DbxOption *aOpt, int nOpt,
                       DbxConfig **ppConfig, DbxError *pErr) {
  int rc = session_build(p, aOpt, nOpt, ppConfig, pErr);
  if (rc == SQLITE_OK) rc = dbx_config_resolve(*ppConfig, pErr);
  if (rc && *ppConfig) {
    dbx_config_free(*ppConfig);
    *ppConfig = NULL;
  }
  return rc;
}

/*
** For env-oidc and file-oidc, the effective audience is the "aud" of the
** identity provider's JWT, not a setting: zJson (from dbx_config_json,
** taken over) gets it as oidc_audience with source "subject_token". When
** the token cannot be read, zJson is returned as it was (using it fails
** with the reason). Returns a string from sqlite3_malloc, NULL when out of
** memory.
*/
static char *json_token_audience(char *zJson, const DbxConfig *pConfig) {
  DbxJwtClaims c;
  DbxError e;
  cJSON *pRoot, *pAud;
  char *zNew = NULL, *zPrinted;
  dbx_error_clear(&e);
  if (dbx_auth_subject_claims(pConfig, &c, &e) != SQLITE_OK) return zJson;
  pRoot = cJSON_Parse(zJson);
  pAud = cJSON_CreateObject();
  if (pRoot && pAud && cJSON_AddStringToObject(pAud, "value", c.zAud) &&
      cJSON_AddStringToObject(pAud, "source", "subject_token")) {
    cJSON_DeleteItemFromObjectCaseSensitive(pRoot, "oidc_audience");
    cJSON_AddItemToObject(pRoot, "oidc_audience", pAud);
    pAud = NULL;
    zPrinted = cJSON_PrintUnformatted(pRoot);
    if (zPrinted) zNew = dbx_strdup(zPrinted);
    cJSON_free(zPrinted);
  }
  cJSON_Delete(pAud);
  cJSON_Delete(pRoot);
  sqlite3_free(zJson);
  return zNew;
}

int dbx_session_config_json(DbxSession *p, char **pzOut, DbxError *pErr) {
  DbxConfig *pConfig = NULL;
  DbxError eResolve;
  DbxBuf b = {0};
  SessionDefault *d;
  char *zJson;
  int bFirst, rc = session_build(p, NULL, 0, &pConfig, pErr);
  *pzOut = NULL;
  if (rc) return rc;
  dbx_error_clear(&eResolve);
  dbx_config_resolve(pConfig, &eResolve);
  zJson = dbx_config_json(pConfig);
  if (zJson && eResolve.rc == SQLITE_OK)
    zJson = json_token_audience(zJson, pConfig);
  dbx_config_free(pConfig);
  if (zJson == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  dbx_buf_append(&b, zJson, strlen(zJson) - 1);
  bFirst = strcmp(zJson, "{}") == 0;
  /* the statement defaults, which config.c does not know */
  for (d = p->pDefaults; d; d = d->pNext) {
    if (!d->bStmt) continue;
    if (!bFirst) dbx_buf_append(&b, ",", 1);
    bFirst = 0;
    dbx_buf_append_json(&b, d->zKey, strlen(d->zKey));
    dbx_buf_append(&b, ":{\"value\":", 10);
    dbx_buf_append_json(&b, d->zValue, strlen(d->zValue));
    dbx_buf_appendf(&b, ",\"source\":\"dbx_config\"}");
  }
  if (p->bAllowViews) {
    dbx_buf_appendf(&b,
                    "%s\"allow_views\":{\"value\":\"true\","
                    "\"source\":\"dbx_config\"}",
                    bFirst ? "" : ",");
    bFirst = 0;
  }
  if (eResolve.rc != SQLITE_OK) {
    /* Show what was found, and why it is not usable yet. */
    char *zErr = dbx_error_text(&eResolve);
    if (!bFirst) dbx_buf_append(&b, ",", 1);
    dbx_buf_append(&b, "\"error\":", 8);
    dbx_buf_append_json(&b, zErr ? zErr : "", zErr ? strlen(zErr) : 0);
    sqlite3_free(zErr);
  }
  dbx_buf_append(&b, "}", 1);
  sqlite3_free(zJson);
  if (b.rc) {
    dbx_buf_free(&b);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  *pzOut = dbx_buf_take(&b);
  return SQLITE_OK;
}

int dbx_session_connect(DbxSession *p, const DbxOption *aOpt, int nOpt,
                        DbxConfig **ppConfig, DbxClient **ppClient,
                        DbxError *pErr) {
  SessionClient *c;
  char *zId;
  int rc = dbx_session_config(p, aOpt, nOpt, ppConfig, pErr);
  *ppClient = NULL;
  if (rc) return rc;
  zId = dbx_config_identity(*ppConfig);
  if (zId == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto fail;
  }
  for (c = p->pClients; c && strcmp(c->zIdentity, zId) != 0; c = c->pNext) {
  }
  if (c) {
    sqlite3_free(zId);
    *ppClient = c->pClient;
    return SQLITE_OK;
  }
  c = sqlite3_malloc64(sizeof(*c));
  if (c == NULL) {
    sqlite3_free(zId);
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto fail;
  }
  memset(c, 0, sizeof(*c));
  c->zIdentity = zId;
  /* The client keeps its own copy of the config alive with it. */
  rc = dbx_config_dup(*ppConfig, &c->pConfig);
  if (rc) {
    dbx_error_set(pErr, rc, "out of memory");
  } else {
    rc = dbx_client_open(c->pConfig, &c->pClient, pErr);
  }
  if (rc) {
    dbx_config_free(c->pConfig);
    sqlite3_free(c->zIdentity);
    sqlite3_free(c);
    goto fail;
  }
  c->pNext = p->pClients;
  p->pClients = c;
  *ppClient = c->pClient;
  return SQLITE_OK;

fail:
  dbx_config_free(*ppConfig);
  *ppConfig = NULL;
  return rc;
}

/* The host of a resolved config without its trailing slashes, in zOut. */
static void host_of(const DbxConfig *pConfig, char *zOut, size_t nOut) {
  const char *z = pConfig ? dbx_config_get(pConfig, "host") : NULL;
  size_t n;
  snprintf(zOut, nOut, "%s", z ? z : "");
  n = strlen(zOut);
  while (n > 0 && zOut[n - 1] == '/')
    zOut[--n] = 0;
}

/*
** The trust rule for options stored in the database file: they may choose
** among what the user configured outside it (a profile, a warehouse, a
** catalog) but not name a config file, nor a host other than the one the
** same settings give without it. Returns SQLITE_OK or an error in pErr.
*/
static int stored_options_check(DbxSession *p, const DbxOption *aOpt, int nOpt,
                                DbxError *pErr) {
  DbxOption *aBase;
  DbxConfig *pBase = NULL, *pFull = NULL;
  DbxError eBase;
  char zBase[300], zFull[300], zSafe[256];
  int i, nBase = 0, iHost = -1, rc;
  for (i = 0; i < nOpt; i++) {
    if (strcasecmp(aOpt[i].zKey, "config_file") == 0) {
      return dbx_error_set(
          pErr, SQLITE_ERROR,
          "config_file cannot be set in a table definition, which is stored "
          "in the database file: name the file with DATABRICKS_CONFIG_FILE "
          "instead, and choose its profile with profile=");
    }
    if (strcasecmp(aOpt[i].zKey, "host") == 0) iHost = i;
  }
  if (iHost < 0) return SQLITE_OK;
  aBase = sqlite3_malloc64(sizeof(DbxOption) * (size_t)(nOpt + 1));
  if (aBase == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  for (i = 0; i < nOpt; i++) {
    if (i != iHost) aBase[nBase++] = aOpt[i];
  }
  dbx_error_clear(&eBase);
  rc = dbx_session_config(p, aOpt, nOpt, &pFull, pErr);
  if (rc == SQLITE_OK) {
    dbx_session_config(p, aBase, nBase, &pBase, &eBase);
    host_of(pBase, zBase, sizeof(zBase));
    host_of(pFull, zFull, sizeof(zFull));
    if (strcasecmp(zBase, zFull) != 0) {
      char zHave[256];
      dbx_http_redact_url(zFull, zSafe, sizeof(zSafe));
      dbx_http_redact_url(zBase, zHave, sizeof(zHave));
      rc = dbx_error_set(
          pErr, SQLITE_AUTH,
          "the table definition names host %s, which is not the workspace "
          "configured outside the database file (%s): a table definition "
          "is data, so it may choose a profile= but not a new host; to use "
          "this host, configure it with DATABRICKS_HOST, a profile of "
          "~/.databrickscfg, or SELECT dbx_config('host', '%s')",
          zSafe, zHave[0] ? zHave : "none", zSafe);
    }
  }
  dbx_config_free(pBase);
  dbx_config_free(pFull);
  sqlite3_free(aBase);
  return rc;
}

int dbx_session_connect_stored(DbxSession *p, const DbxOption *aOpt, int nOpt,
                               DbxConfig **ppConfig, DbxClient **ppClient,
                               DbxError *pErr) {
  int rc = stored_options_check(p, aOpt, nOpt, pErr);
  *ppConfig = NULL;
  *ppClient = NULL;
  if (rc) return rc;
  return dbx_session_connect(p, aOpt, nOpt, ppConfig, ppClient, pErr);
}

void dbx_session_progress(void *pArg, const DbxStmtInfo *pInfo, int bDone) {
  DbxSession *p = pArg;
  int64_t now = dbx_now_ms();
  double rSec = (double)pInfo->nMs / 1000.0;
  if (bDone) {
    if (p->bProgressShown) fputs("\r\033[K", stderr);
    p->bProgressShown = 0;
    return;
  }
  /* quiet for the first second, then at most four lines a second */
  if (pInfo->nMs < 1000 || now - p->tProgressMs < 250) return;
  p->tProgressMs = now;
  if (pInfo->nChunks == 0) {
    fprintf(stderr, "\rdatabricks: %s, %.1f s\033[K", pInfo->zState, rSec);
  } else {
    double rMb = (double)pInfo->nBytes / 1e6;
    fprintf(stderr, "\rdatabricks: %lld rows, %.1f MB, %.1f MB/s, %.1f s\033[K",
            (long long)pInfo->nRows, rMb, rSec > 0 ? rMb / rSec : 0.0, rSec);
  }
  fflush(stderr);
  p->bProgressShown = 1;
}

void dbx_session_stmt_options(DbxSession *p, const DbxConfig *pConfig,
                              DbxStmtOptions *pOpt) {
  SessionDefault *d;
  pOpt->bProgress = isatty(STDERR_FILENO);
  pOpt->xProgress = dbx_session_progress;
  pOpt->pProgressArg = p;
  if (pConfig) {
    pOpt->zWarehouseId = dbx_config_get(pConfig, "warehouse_id");
    pOpt->zCatalog = dbx_config_get(pConfig, "catalog");
    pOpt->zSchema = dbx_config_get(pConfig, "schema");
  }
  for (d = p->pDefaults; d; d = d->pNext) {
    /* checked by dbx_session_set_default(): cannot fail here */
    if (d->bStmt) dbx_stmt_option(pOpt, d->zKey, d->zValue, NULL);
  }
  pOpt->xLog = dbx_session_log;
  pOpt->pLogArg = p;
}

void dbx_session_log(void *pArg, const DbxStmtInfo *pInfo) {
  DbxSession *p = pArg;
  DbxLogEntry *e;
  int64_t iSeq = p->iLastSeq + 1;
  e = &p->aLog[iSeq % DBX_SESSION_LOG_SIZE];
  log_entry_clear(e);
  e->iSeq = iSeq;
  e->zStatementId = dbx_strdup(pInfo->zStatementId ? pInfo->zStatementId : "");
  e->zSql = dbx_strdup(pInfo->zSql ? pInfo->zSql : "");
  e->zParams = dbx_strdup(pInfo->zParams ? pInfo->zParams : "");
  e->zState = dbx_strdup(pInfo->zState ? pInfo->zState : "");
  e->nRows = pInfo->nRows;
  e->nBytes = pInfo->nBytes;
  e->nChunks = pInfo->nChunks;
  e->nMs = pInfo->nMs;
  e->zError = pInfo->zError ? dbx_strdup(pInfo->zError) : NULL;
  /* Out of memory: the entry is kept with whatever could be copied. */
  p->iLastSeq = iSeq;
}

void dbx_session_log_range(DbxSession *p, int64_t *piFirst, int64_t *piLast) {
  int64_t iFirst = p->iLastSeq - DBX_SESSION_LOG_SIZE + 1;
  *piFirst = iFirst < 1 ? 1 : iFirst;
  *piLast = p->iLastSeq;
}

const DbxLogEntry *dbx_session_log_entry(DbxSession *p, int64_t iSeq) {
  const DbxLogEntry *e;
  if (iSeq < 1 || iSeq > p->iLastSeq) return NULL;
  e = &p->aLog[iSeq % DBX_SESSION_LOG_SIZE];
  return e->iSeq == iSeq ? e : NULL;
}
