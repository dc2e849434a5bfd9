/*
** statements.c: the Statement Execution API client (spec section 3).
**
** Serves dbx_query(), dbx_exec() and the databricks virtual table. The
** flow is the spec's recommended one (3.10): POST with wait_timeout and
** on_wait_timeout=CONTINUE, poll with growing delays while PENDING or
** RUNNING, cancel remotely on interrupt or statement timeout and poll to a
** terminal state, then stream the result chunk by chunk. Only the current
** chunk is held in memory. All HTTP goes through client.h, so nothing here
** knows about auth, retries or TLS.
*/
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "statements.h"

/* Longest poll delay (spec 3.4: linear backoff capped at 10 s). */
#define STMT_POLL_MAX_MS 10000
/* How long to keep polling after a cancel before giving up on it. */
#define STMT_CANCEL_WAIT_MS 15000
/* Fresh links fetched for one chunk before giving up. */
#define STMT_LINK_RETRIES 3

struct DbxStmt {
  DbxClient *pClient;     /* borrowed; outlives the statement */
  DbxStmtOptions opt;     /* copy; its strings are not used after execute */
  char *zId;              /* owned; statement_id */
  char *zSql;             /* owned; SQL text for the log */
  char *zParams;          /* owned; ":a BIGINT, :b STRING" for the log */
  char zState[16];        /* last known state */
  DbxColumn *aCol;        /* owned; result schema */
  int nCol;               /* entries in aCol */
  int64_t nTotalRows;     /* manifest.total_row_count or -1 */
  cJSON *pChunk;          /* owned; parsed INLINE chunk (API response) */
  const cJSON *pRows;     /* borrowed from pChunk: the array of rows */
  const cJSON *pRow;      /* current INLINE row */
  const cJSON **apVal;    /* nCol values of the current INLINE row */
  DbxBuf body;            /* owned; downloaded chunk, scanned in place */
  DbxRowScan scan;        /* over body, when bScan */
  int bScan;              /* the current chunk is body, not pChunk */
  const char **azVal;     /* nCol values of the current scanned row */
  size_t *anVal;          /* their lengths */
  int bRow;               /* a row is current */
  DbxBuf *aScratch;       /* nCol buffers for converted cell bytes */
  int bStarted;           /* the first row of pRows was handed out */
  int64_t iNextChunk;     /* next chunk index, -1 when none */
  char *zNextLink;        /* owned; next_chunk_internal_link or NULL */
  int64_t iRow;           /* rows handed out so far */
  int64_t nBytes;         /* result bytes received */
  int64_t nManifestBytes; /* manifest.total_byte_count, for INLINE results */
  int nChunks;            /* chunks fetched */
  int64_t tStart;         /* monotonic ms at submit */
  int64_t tEnd;           /* monotonic ms when finished, 0 while open */
  int64_t tDeadline;      /* monotonic ms of the statement timeout, or 0 */
  int bWaiting;           /* executing: the deadline applies */
  int bInterrupted;       /* the caller's interrupt fired */
  int bTimedOut;          /* the statement timeout passed */
  int rcDone;             /* sticky end: SQLITE_DONE or an error code */
  DbxError err;           /* the error behind rcDone */
  int bLogged;            /* xLog was called */
  int bRepeatable;        /* read-only or declared idempotent: a lost
                          ** submit may be sent again */
};

/* Monotonic clock in milliseconds. */
static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dbx_stmt_options_init(DbxStmtOptions *pOpt) {
  memset(pOpt, 0, sizeof(*pOpt));
  pOpt->nWaitSeconds = 10;
  pOpt->nPollFirstMs = 100;
}

int dbx_stmt_option(DbxStmtOptions *pOpt, const char *zKey, const char *zValue,
                    DbxError *pErr) {
  char *zEnd = NULL;
  if (zValue == NULL) zValue = "";
  if (strcasecmp(zKey, "disposition") == 0) {
    if (strcasecmp(zValue, "inline") == 0)
      pOpt->eDisposition = DBX_DISP_INLINE;
    else if (strcasecmp(zValue, "external_links") == 0) {
      pOpt->eDisposition = DBX_DISP_EXTERNAL_LINKS;
    } else if (strcasecmp(zValue, "auto") == 0)
      pOpt->eDisposition = DBX_DISP_AUTO;
    else {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "disposition must be inline, external_links or "
                           "auto, not '%.40s'",
                           zValue);
    }
    return SQLITE_OK;
  }
  if (strcasecmp(zKey, "statement_timeout") == 0 ||
      strcasecmp(zKey, "timeout") == 0) {
    double r = strtod(zValue, &zEnd);
    if (zEnd == zValue || (*zEnd && strcmp(zEnd, "s") != 0) || r < 0 ||
        !isfinite(r)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "statement_timeout must be a number of seconds "
                           "(0 for none), not '%.40s'",
                           zValue);
    }
    pOpt->rTimeoutSeconds = r;
    return SQLITE_OK;
  }
  if (strcasecmp(zKey, "wait_timeout") == 0) {
    long v = strtol(zValue, &zEnd, 10);
    if (zEnd == zValue || (*zEnd && strcmp(zEnd, "s") != 0) || v < 0 ||
        v > 50 || (v > 0 && v < 5)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "wait_timeout must be 0 or 5 to 50 seconds, not "
                           "'%.40s'",
                           zValue);
    }
    pOpt->nWaitSeconds = (int)v;
    return SQLITE_OK;
  }
  if (strcasecmp(zKey, "row_limit") == 0) {
    long long v = strtoll(zValue, &zEnd, 10);
    if (zEnd == zValue || *zEnd || v < 0) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "row_limit must be a non-negative integer, not "
                           "'%.40s'",
                           zValue);
    }
    pOpt->nRowLimit = v;
    return SQLITE_OK;
  }
  if (strcasecmp(zKey, "progress") == 0) {
    if (strcasecmp(zValue, "on") == 0 || strcasecmp(zValue, "true") == 0) {
      pOpt->bProgress = 1;
    } else if (strcasecmp(zValue, "off") == 0 ||
               strcasecmp(zValue, "false") == 0) {
      pOpt->bProgress = 0;
    } else {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "progress must be on or off, not '%.40s'", zValue);
    }
    return SQLITE_OK;
  }
  if (strcasecmp(zKey, "idempotent") == 0) {
    if (strcasecmp(zValue, "true") == 0 || strcmp(zValue, "1") == 0) {
      pOpt->bIdempotent = 1;
    } else if (strcasecmp(zValue, "false") == 0 || strcmp(zValue, "0") == 0) {
      pOpt->bIdempotent = 0;
    } else {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "idempotent must be true or false, not '%.40s'",
                           zValue);
    }
    return SQLITE_OK;
  }
  return SQLITE_NOTFOUND;
}

/* ---------------------------------------------------------------------
** Which statements may be submitted twice.
*/

/* Skips blanks and comments from z[i]; returns the next index. */
static size_t sql_skip_space(const char *z, size_t n, size_t i) {
  while (i < n) {
    if (isspace((unsigned char)z[i])) {
      i++;
    } else if (z[i] == '-' && i + 1 < n && z[i + 1] == '-') {
      while (i < n && z[i] != '\n')
        i++;
    } else if (z[i] == '/' && i + 1 < n && z[i + 1] == '*') {
      i += 2;
      while (i + 1 < n && !(z[i] == '*' && z[i + 1] == '/'))
        i++;
      i = i + 2 < n ? i + 2 : n;
    } else {
      break;
    }
  }
  return i;
}

/* Whether the word z[0..n) is one of azWord (case-insensitive). */
static int sql_word_in(const char *z, size_t n, const char *const *azWord,
                       size_t nWord) {
  size_t i;
  for (i = 0; i < nWord; i++) {
    if (strlen(azWord[i]) == n && strncasecmp(z, azWord[i], n) == 0) return 1;
  }
  return 0;
}

int dbx_stmt_is_read_only(const char *zSql, size_t nSql) {
  static const char *const azRead[] = {"SELECT", "VALUES",  "SHOW", "DESCRIBE",
                                       "DESC",   "EXPLAIN", "LIST", "WITH",
                                       "FROM",   "TABLE"};
  static const char *const azWrite[] = {
      "INSERT",  "UPDATE", "DELETE",   "MERGE",   "CREATE",    "DROP",
      "ALTER",   "COPY",   "TRUNCATE", "REPLACE", "OVERWRITE", "OPTIMIZE",
      "VACUUM",  "GRANT",  "REVOKE",   "CALL",    "EXECUTE",   "REFRESH",
      "RESTORE", "MSCK",   "REPAIR",   "CACHE",   "UNCACHE",   "SET",
      "RESET",   "USE",    "ANALYZE",  "COMMENT", "PUT",       "REMOVE",
      "GET",     "LOAD",   "CLONE",    "UNDROP",  "DECLARE"};
  size_t i = 0, nWords = 0;
  while (i < nSql) {
    size_t j;
    i = sql_skip_space(zSql, nSql, i);
    if (i >= nSql) break;
    if (zSql[i] == '\'' || zSql[i] == '"' || zSql[i] == '`') {
      char q = zSql[i++];
      while (i < nSql && zSql[i] != q) {
        if (zSql[i] == '\\' && q != '`') i++; /* Databricks escapes */
        i++;
      }
      i++;
      continue;
    }
    if (!isalpha((unsigned char)zSql[i]) && zSql[i] != '_') {
      if (zSql[i] == ';') { /* only a trailing one: no second statement */
        if (sql_skip_space(zSql, nSql, i + 1) < nSql) return 0;
        break;
      }
      if (nWords == 0 && zSql[i] != '(') return 0;
      i++;
      continue;
    }
    for (j = i; j < nSql && (isalnum((unsigned char)zSql[j]) || zSql[j] == '_');
         j++) {
    }
    if (nWords++ == 0 &&
        !sql_word_in(zSql + i, j - i, azRead, DBX_ARRAY_SIZE(azRead))) {
      return 0;
    }
    if (sql_word_in(zSql + i, j - i, azWrite, DBX_ARRAY_SIZE(azWrite))) {
      return 0;
    }
    i = j;
  }
  return nWords > 0;
}

int dbx_stmt_is_option(const char *zKey) {
  static const char *const azKey[] = {
      "disposition", "statement_timeout", "timeout", "wait_timeout",
      "row_limit",   "idempotent",        "progress"};
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(azKey); i++) {
    if (strcasecmp(zKey, azKey[i]) == 0) return 1;
  }
  return 0;
}

/* The client's interrupt hook: the caller's callback, then the deadline. */
static int stmt_interrupt(void *pArg) {
  DbxStmt *p = pArg;
  if (p->opt.xInterrupt && p->opt.xInterrupt(p->opt.pInterruptArg)) {
    p->bInterrupted = 1;
    return 1;
  }
  if (p->bWaiting && p->tDeadline && now_ms() >= p->tDeadline) {
    p->bTimedOut = 1;
    return 1;
  }
  return 0;
}

/* Sleeps ms in small slices. Returns 1 when the interrupt hook fired. */
static int stmt_sleep(DbxStmt *p, int64_t ms) {
  int64_t tEnd = now_ms() + ms;
  for (;;) {
    int64_t left = tEnd - now_ms();
    struct timespec ts;
    if (stmt_interrupt(p)) return 1;
    if (left <= 0) return 0;
    if (left > 25) left = 25;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)left * 1000000L;
    nanosleep(&ts, NULL);
  }
}

/* A JSON member as int64: a number or a numeric string; iDefault if absent. */
static int64_t json_i64(const cJSON *pObj, const char *zName,
                        int64_t iDefault) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(pObj, zName);
  if (cJSON_IsNumber(p)) return (int64_t)p->valuedouble;
  if (cJSON_IsString(p) && p->valuestring[0])
    return strtoll(p->valuestring, NULL, 10);
  return iDefault;
}

/* A string member, or NULL. */
static const char *json_str(const cJSON *pObj, const char *zName) {
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pObj, zName));
}

/* Reports the statement to xLog once. */
/* What the statement has done so far (strings borrowed from p). */
static void stmt_info(const DbxStmt *p, DbxStmtInfo *pInfo) {
  memset(pInfo, 0, sizeof(*pInfo));
  pInfo->zStatementId = p->zId ? p->zId : "";
  pInfo->zSql = p->zSql ? p->zSql : "";
  pInfo->zParams = p->zParams ? p->zParams : "";
  pInfo->zState = p->zState[0] ? p->zState : "UNSUBMITTED";
  pInfo->nRows = p->iRow;
  pInfo->nBytes = p->nBytes ? p->nBytes : p->nManifestBytes;
  pInfo->nChunks = p->nChunks;
  pInfo->nMs = (p->tEnd ? p->tEnd : now_ms()) - p->tStart;
}

/* Tells the progress hook, if it is on, how far the statement is. */
static void stmt_progress(const DbxStmt *p, int bDone) {
  DbxStmtInfo info;
  if (!p->opt.bProgress || p->opt.xProgress == NULL) return;
  stmt_info(p, &info);
  p->opt.xProgress(p->opt.pProgressArg, &info, bDone);
}

static void stmt_log(DbxStmt *p) {
  DbxStmtInfo info;
  char *zErr = NULL;
  if (p->bLogged) return;
  p->bLogged = 1;
  if (p->tEnd == 0) p->tEnd = now_ms();
  stmt_progress(p, 1);
  if (p->opt.xLog == NULL) return;
  if (p->err.rc != SQLITE_OK) zErr = dbx_error_text(&p->err);
  stmt_info(p, &info);
  info.zError = zErr;
  p->opt.xLog(p->opt.pLogArg, &info);
  sqlite3_free(zErr);
}

/* Frees the current chunk and everything pointing into it. */
static void stmt_drop_chunk(DbxStmt *p) {
  cJSON_Delete(p->pChunk);
  p->pChunk = NULL;
  p->pRows = NULL;
  p->pRow = NULL;
  dbx_buf_free(&p->body);
  p->bScan = 0;
  p->bRow = 0;
  p->bStarted = 0;
}

void dbx_stmt_free(DbxStmt *p) {
  int i;
  if (p == NULL) return;
  stmt_log(p);
  dbx_client_set_interrupt(p->pClient, NULL, NULL);
  stmt_drop_chunk(p);
  for (i = 0; p->aScratch && i < p->nCol; i++)
    dbx_buf_free(&p->aScratch[i]);
  sqlite3_free(p->aScratch);
  sqlite3_free((void *)p->apVal);
  sqlite3_free((void *)p->azVal);
  sqlite3_free(p->anVal);
  dbx_result_columns_free(p->aCol, p->nCol);
  sqlite3_free(p->zId);
  sqlite3_free(p->zSql);
  sqlite3_free(p->zParams);
  sqlite3_free(p->zNextLink);
  sqlite3_free(p);
}

/*
** Records the next-chunk pointers of a ResultData or ExternalLink object
** (either may carry them; absence of both means the last chunk).
*/
static int stmt_take_next(DbxStmt *p, const cJSON *pData) {
  const char *zLink = json_str(pData, "next_chunk_internal_link");
  int64_t iNext = json_i64(pData, "next_chunk_index", -1);
  if (iNext < 0 && zLink == NULL) return SQLITE_OK;
  sqlite3_free(p->zNextLink);
  p->zNextLink = NULL;
  p->iNextChunk = iNext;
  if (zLink && strncmp(zLink, "/api/", 5) == 0) {
    p->zNextLink = dbx_strdup(zLink);
    if (p->zNextLink == NULL) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* Seconds since the epoch of an ISO-8601 UTC date-time, or -1. */
static int64_t iso_to_epoch(const char *z) {
  struct tm tm;
  int y, mo, d, h, mi, s;
  if (z == NULL ||
      sscanf(z, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6) {
    return -1;
  }
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return (int64_t)timegm(&tm);
}

/* GETs chunk iChunk through the chunk endpoint into *ppOut. */
static int stmt_get_chunk(DbxStmt *p, int64_t iChunk, cJSON **ppOut,
                          DbxError *pErr) {
  char zPath[256];
  snprintf(zPath, sizeof(zPath),
           "/api/2.0/sql/statements/%s/result/chunks/%lld", p->zId,
           (long long)iChunk);
  return dbx_client_call(p->pClient, "GET", zPath, NULL, ppOut, pErr);
}

/*
** Downloads zUrl, sending the link's http_headers (each "Name: value",
** wiped after use), into *pBody. Returns SQLITE_OK, or an error code with
** pErr set (its HTTP status decides whether a fresh link may help).
*/
static int link_download(DbxStmt *p, const cJSON *pLink, const char *zUrl,
                         DbxBuf *pBody, DbxError *pErr) {
  const cJSON *pHdrs = cJSON_GetObjectItemCaseSensitive(pLink, "http_headers");
  const cJSON *pH;
  const char **azHdr = NULL;
  int nHdr = cJSON_GetArraySize(pHdrs), i = 0, rc;
  if (nHdr > 0) {
    azHdr = sqlite3_malloc64(sizeof(char *) * (size_t)nHdr);
    if (azHdr == NULL)
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    cJSON_ArrayForEach(pH, pHdrs) {
      azHdr[i++] = cJSON_IsString(pH)
                       ? sqlite3_mprintf("%s: %s", pH->string, pH->valuestring)
                       : NULL;
      if (azHdr[i - 1] == NULL) break;
    }
  }
  rc = i < nHdr
           ? dbx_error_set(pErr, SQLITE_NOMEM, "out of memory")
           : dbx_client_download(p->pClient, zUrl, (const char *const *)azHdr,
                                 nHdr, pBody, pErr);
  while (i > 0)
    dbx_free_secret((char *)azHdr[--i]);
  sqlite3_free(azHdr);
  return rc;
}

/* Makes a downloaded file *pBody (consumed) the rows of the current chunk;
** an empty file holds no rows. Returns SQLITE_OK or SQLITE_NOMEM. */
static int stmt_take_body(DbxStmt *p, DbxBuf *pBody, DbxError *pErr) {
  p->nBytes += (int64_t)pBody->n;
  if (pBody->n == 0) dbx_buf_append(pBody, "[]", 2);
  if (pBody->rc) {
    dbx_buf_free(pBody);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  p->body = *pBody;
  dbx_rowscan_init(&p->scan, p->body.z, p->body.n);
  p->bScan = 1;
  return SQLITE_OK;
}

/* Whether a failed download's status says the link expired or was refused,
** so the chunk endpoint may hand out a fresh one. */
static int link_refused(const DbxError *pE) {
  return pE->httpStatus == 403 || pE->httpStatus == 400 ||
         pE->httpStatus == 404 || pE->httpStatus == 410;
}

/*
** Downloads the external link of ResultData pData (chunk iChunk), asking
** the chunk endpoint for a fresh link when it expired or is refused.
** On success, p->body holds the file and p->scan reads its rows.
*/
static int stmt_download(DbxStmt *p, cJSON *pData, int64_t iChunk,
                         DbxError *pErr) {
  cJSON *pFresh = NULL;
  int nTry = 0, rc = SQLITE_OK, bRefreshedStale = 0;
  for (;;) {
    const cJSON *pLink = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(pData, "external_links"), 0);
    const char *zUrl = json_str(pLink, "external_link");
    int64_t tExp = iso_to_epoch(json_str(pLink, "expiration"));
    int bStale;

    if (zUrl == NULL) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "Databricks sent a result chunk without a link; run "
                         "the query again");
      break;
    }
    if (iChunk < 0) iChunk = json_i64(pLink, "chunk_index", -1);
    rc = stmt_take_next(p, pLink);
    if (rc) break;
    /* A link known to be expired is refreshed before use. */
    bStale = tExp > 0 && tExp <= (int64_t)time(NULL) && !bRefreshedStale;
    if (bStale) bRefreshedStale = 1;
    if (!bStale || iChunk < 0) {
      DbxBuf body = {0};
      DbxError e;
      dbx_error_clear(&e);
      rc = link_download(p, pLink, zUrl, &body, &e);
      if (rc == SQLITE_OK) {
        rc = stmt_take_body(p, &body, pErr);
        break;
      }
      dbx_buf_free(&body);
      if (rc == SQLITE_INTERRUPT || iChunk < 0 || ++nTry > STMT_LINK_RETRIES ||
          !link_refused(&e)) {
        if (pErr && pErr->rc == SQLITE_OK) *pErr = e;
        break;
      }
    }
    /* Expired or refused: ask the chunk endpoint for a fresh link. */
    cJSON_Delete(pFresh);
    pFresh = NULL;
    rc = stmt_get_chunk(p, iChunk, &pFresh, pErr);
    if (rc) break;
    pData = pFresh;
  }
  cJSON_Delete(pFresh);
  return rc;
}

/*
** Makes ResultData pData (owned, consumed) the current chunk: INLINE rows
** are used in place; an external link is downloaded. iChunk is its index
** when known, else -1.
*/
static int stmt_set_chunk(DbxStmt *p, cJSON *pData, int64_t iChunk,
                          DbxError *pErr) {
  const cJSON *pRows = cJSON_GetObjectItemCaseSensitive(pData, "data_array");
  int rc;
  stmt_drop_chunk(p);
  p->iNextChunk = -1;
  sqlite3_free(p->zNextLink);
  p->zNextLink = NULL;
  if (pData == NULL) return SQLITE_OK;
  p->nChunks++;
  rc = stmt_take_next(p, pData);
  if (rc) {
    cJSON_Delete(pData);
    return dbx_error_set(pErr, rc, "out of memory");
  }
  if (iChunk < 0) iChunk = json_i64(pData, "chunk_index", -1);
  if (cJSON_GetArraySize(
          cJSON_GetObjectItemCaseSensitive(pData, "external_links")) > 0) {
    rc = stmt_download(p, pData, iChunk, pErr);
    cJSON_Delete(pData);
    return rc;
  }
  p->nBytes += json_i64(pData, "byte_count", 0);
  p->pChunk = pData;
  p->pRows = cJSON_IsArray(pRows) ? pRows : NULL; /* missing: zero rows */
  return SQLITE_OK;
}

/* Fetches the chunk after the current one into place; *pbNone when none. */
static int stmt_next_chunk(DbxStmt *p, int *pbNone, DbxError *pErr) {
  cJSON *pData = NULL;
  int64_t iChunk = p->iNextChunk;
  int rc;
  *pbNone = 0;
  /* The rows read so far go before the next chunk arrives: one at a time. */
  stmt_drop_chunk(p);
  if (p->zNextLink) {
    rc = dbx_client_call(p->pClient, "GET", p->zNextLink, NULL, &pData, pErr);
  } else if (iChunk >= 0) {
    rc = stmt_get_chunk(p, iChunk, &pData, pErr);
  } else {
    *pbNone = 1;
    return SQLITE_OK;
  }
  if (rc) return rc;
  return stmt_set_chunk(p, pData, iChunk, pErr);
}

/* The error class "[CLASS]" at the start of a message, copied to zCode. */
static void error_class(const char *zMsg, char *zCode, size_t nCode) {
  const char *zEnd;
  if (zMsg && zMsg[0] == '[' && (zEnd = strchr(zMsg, ']')) != NULL &&
      (size_t)(zEnd - zMsg - 1) < nCode && zEnd > zMsg + 1) {
    memcpy(zCode, zMsg + 1, (size_t)(zEnd - zMsg - 1));
    zCode[zEnd - zMsg - 1] = 0;
  }
}

/* Whether a FAILED message says the INLINE result was too large. */
static int is_inline_limit(const char *zMsg) {
  if (zMsg == NULL) return 0;
  return strstr(zMsg, "EXTERNAL_LINKS") != NULL ||
         strcasestr(zMsg, "inline byte limit") != NULL ||
         (strcasestr(zMsg, "inline") && strcasestr(zMsg, "exceed"));
}

/* Records the FAILED status of pResp in pErr: error class, statement id. */
static int stmt_failed(DbxStmt *p, const cJSON *pStatus, DbxError *pErr) {
  const cJSON *pE = cJSON_GetObjectItemCaseSensitive(pStatus, "error");
  const char *zMsg = json_str(pE, "message");
  const char *zApiCode = json_str(pE, "error_code");
  char zCode[64] = "";
  error_class(zMsg, zCode, sizeof(zCode));
  if (zCode[0] == 0 && zApiCode) snprintf(zCode, sizeof(zCode), "%s", zApiCode);
  dbx_error_set_api(pErr, SQLITE_ERROR, 0, zCode, "%s",
                    zMsg ? zMsg : "the statement failed without a message");
  dbx_http_hint_permission(pErr);
  if (pErr) snprintf(pErr->zStatement, sizeof(pErr->zStatement), "%s", p->zId);
  return SQLITE_ERROR;
}

/* Builds the POST body of the execute call. */
static cJSON *stmt_request(const DbxStmt *p, const char *zSql,
                           const DbxParam *aParam, int nParam,
                           DbxDisposition eDisp, int nWait) {
  const DbxConfig *pConfig = dbx_client_config(p->pClient);
  const char *zWarehouse = p->opt.zWarehouseId;
  const char *zCatalog = p->opt.zCatalog;
  const char *zSchema = p->opt.zSchema;
  cJSON *pReq = cJSON_CreateObject();
  char zWait[16];
  int i;
  if (zWarehouse == NULL && pConfig)
    zWarehouse = dbx_config_get(pConfig, "warehouse_id");
  if (zCatalog == NULL && pConfig)
    zCatalog = dbx_config_get(pConfig, "catalog");
  if (zSchema == NULL && pConfig) zSchema = dbx_config_get(pConfig, "schema");
  snprintf(zWait, sizeof(zWait), "%ds", nWait);
  if (pReq == NULL) return NULL;
  cJSON_AddStringToObject(pReq, "statement", zSql);
  cJSON_AddStringToObject(pReq, "warehouse_id", zWarehouse ? zWarehouse : "");
  if (zCatalog && zCatalog[0])
    cJSON_AddStringToObject(pReq, "catalog", zCatalog);
  if (zSchema && zSchema[0]) cJSON_AddStringToObject(pReq, "schema", zSchema);
  cJSON_AddStringToObject(pReq, "wait_timeout", zWait);
  cJSON_AddStringToObject(pReq, "on_wait_timeout", "CONTINUE");
  cJSON_AddStringToObject(pReq, "disposition",
                          eDisp == DBX_DISP_EXTERNAL_LINKS ? "EXTERNAL_LINKS"
                                                           : "INLINE");
  cJSON_AddStringToObject(pReq, "format", "JSON_ARRAY");
  if (p->opt.nRowLimit > 0) {
    cJSON_AddNumberToObject(pReq, "row_limit", (double)p->opt.nRowLimit);
  }
  if (nParam > 0) {
    cJSON *pArr = cJSON_AddArrayToObject(pReq, "parameters");
    for (i = 0; pArr && i < nParam; i++) {
      cJSON *pP = cJSON_CreateObject();
      if (pP == NULL) break;
      cJSON_AddItemToArray(pArr, pP);
      cJSON_AddStringToObject(pP, "name",
                              aParam[i].zName ? aParam[i].zName : "");
      if (aParam[i].zValue)
        cJSON_AddStringToObject(pP, "value", aParam[i].zValue);
      else
        cJSON_AddNullToObject(pP, "value");
      cJSON_AddStringToObject(pP, "type",
                              aParam[i].zType ? aParam[i].zType : "STRING");
    }
  }
  return pReq;
}

/* Sets zState from a response; returns the status object. */
static const cJSON *stmt_state(DbxStmt *p, const cJSON *pResp) {
  const cJSON *pStatus = cJSON_GetObjectItemCaseSensitive(pResp, "status");
  const char *z = json_str(pStatus, "state");
  snprintf(p->zState, sizeof(p->zState), "%s", z ? z : "UNKNOWN");
  return pStatus;
}

/* Whether a state is still in progress. */
static int is_running(const char *zState) {
  return strcmp(zState, "PENDING") == 0 || strcmp(zState, "RUNNING") == 0 ||
         strcmp(zState, "STATE_UNSPECIFIED") == 0;
}

/*
** Cancels the remote statement and polls until it is terminal (bounded).
** The interrupt hook is off meanwhile: it is what asked for the cancel.
** Returns the error to report: interrupted or timed out.
*/
static int stmt_cancel(DbxStmt *p, cJSON **ppResp, DbxError *pErr) {
  char zPath[200];
  int64_t tGiveUp = now_ms() + STMT_CANCEL_WAIT_MS;
  int bTimedOut = p->bTimedOut;
  int64_t nDelay = 50;
  DbxError e;
  cJSON *pOut = NULL;
  p->bWaiting = 0;
  dbx_client_set_interrupt(p->pClient, NULL, NULL);
  if (p->zId) {
    dbx_error_clear(&e);
    snprintf(zPath, sizeof(zPath), "/api/2.0/sql/statements/%s/cancel", p->zId);
    {
      cJSON *pEmpty = cJSON_CreateObject();
      dbx_client_call(p->pClient, "POST", zPath, pEmpty, &pOut, &e);
      cJSON_Delete(pEmpty);
      cJSON_Delete(pOut);
    }
    snprintf(zPath, sizeof(zPath), "/api/2.0/sql/statements/%s", p->zId);
    while (is_running(p->zState) && now_ms() < tGiveUp) {
      struct timespec ts = {0, (long)nDelay * 1000000L};
      nanosleep(&ts, NULL);
      if (nDelay < 1000) nDelay *= 2;
      dbx_error_clear(&e);
      pOut = NULL;
      if (dbx_client_call(p->pClient, "GET", zPath, NULL, &pOut, &e) !=
          SQLITE_OK)
        break;
      cJSON_Delete(*ppResp);
      *ppResp = pOut;
      stmt_state(p, pOut);
    }
  }
  if (bTimedOut) {
    dbx_error_set_api(pErr, SQLITE_ERROR, 0, "STATEMENT_TIMEOUT",
                      "statement canceled after the statement_timeout of %g "
                      "s; raise statement_timeout in the options or make the "
                      "query cheaper",
                      p->opt.rTimeoutSeconds);
  } else {
    dbx_error_set(pErr, SQLITE_INTERRUPT,
                  "interrupted; the remote statement "
                  "was canceled");
  }
  if (pErr && p->zId)
    snprintf(pErr->zStatement, sizeof(pErr->zStatement), "%s", p->zId);
  return bTimedOut ? SQLITE_ERROR : SQLITE_INTERRUPT;
}

/* Formats the parameter list for the log: names and types, no values. */
static char *params_text(const DbxParam *aParam, int nParam) {
  DbxBuf b = {0};
  int i;
  for (i = 0; i < nParam; i++) {
    dbx_buf_appendf(&b, "%s:%s %s", i ? ", " : "",
                    aParam[i].zName ? aParam[i].zName : "",
                    aParam[i].zType ? aParam[i].zType : "STRING");
  }
  if (b.rc) {
    dbx_buf_free(&b);
    return NULL;
  }
  return b.z ? dbx_buf_take(&b) : dbx_strdup("");
}

/*
** Rewrites the error of a submit that failed after it went out, for a
** statement that is sent once: it may have run, and its id is unknown.
*/
static int stmt_uncertain(DbxError *pErr) {
  char zWhy[sizeof(pErr->zMsg)];
  int rc = pErr->rc;
  snprintf(zWhy, sizeof(zWhy), "%s", pErr->zMsg);
  dbx_error_clear(pErr);
  dbx_error_set(pErr, rc,
                "the statement may have run: %s; its id is unknown, so check "
                "the remote data before running it again (the option "
                "idempotent=true lets a statement that is safe to repeat be "
                "sent again)",
                zWhy);
  pErr->bUncertain = 1;
  return rc;
}

/*
** The follow-up of a submit that an interrupt abandoned (DbxHttpOrphanFn,
** on a background thread): once the reply names the statement, its cancel
** URL, so the statement does not run on unseen.
*/
static char *stmt_orphan_cancel(const char *zUrl, long status,
                                const char *zBody, size_t nBody) {
  cJSON *pResp;
  const char *zId, *z;
  char *zOut = NULL;
  if (status < 200 || status > 299 || zBody == NULL) return NULL;
  pResp = cJSON_ParseWithLength(zBody, nBody);
  zId = json_str(pResp, "statement_id");
  for (z = zId; z && *z; z++) {
    if (!isalnum((unsigned char)*z) && *z != '-' && *z != '_') break;
  }
  if (zId && *zId && *z == 0 && z - zId <= 128) {
    zOut = sqlite3_mprintf("%s/%s/cancel", zUrl, zId);
  }
  cJSON_Delete(pResp);
  return zOut;
}

/*
** Submits zSql. An interrupt (or the statement timeout) during the submit
** returns at once: the reply then arrives in the background, where the
** statement it names is canceled (stmt_orphan_cancel). Returns SQLITE_OK
** with *ppResp (owned) the first response and p->zId set, or an error code
** with pErr set.
*/
static int stmt_submit(DbxStmt *p, const char *zSql, const DbxParam *aParam,
                       int nParam, DbxDisposition eDisp, cJSON **ppResp,
                       DbxError *pErr) {
  cJSON *pReq, *pResp = NULL;
  int nWait = p->opt.nWaitSeconds, rc;
  *ppResp = NULL;
  if (p->opt.rTimeoutSeconds > 0 && nWait > p->opt.rTimeoutSeconds) {
    nWait = p->opt.rTimeoutSeconds >= 5 ? (int)p->opt.rTimeoutSeconds : 0;
  }
  pReq = stmt_request(p, zSql, aParam, nParam, eDisp, nWait);
  if (pReq == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  dbx_client_set_interrupt(p->pClient, stmt_interrupt, p);
  dbx_client_set_orphan(p->pClient, stmt_orphan_cancel);
  if (p->bRepeatable) {
    rc = dbx_client_call(p->pClient, "POST", "/api/2.0/sql/statements", pReq,
                         &pResp, pErr);
  } else {
    rc = dbx_client_post_once(p->pClient, "/api/2.0/sql/statements", pReq,
                              &pResp, pErr);
  }
  dbx_client_set_orphan(p->pClient, NULL);
  dbx_client_set_interrupt(p->pClient, NULL, NULL);
  cJSON_Delete(pReq);
  if (rc == SQLITE_INTERRUPT && pErr) {
    dbx_error_clear(pErr);
    if (p->bTimedOut) {
      dbx_error_set_api(pErr, SQLITE_ERROR, 0, "STATEMENT_TIMEOUT",
                        "statement canceled after the statement_timeout of "
                        "%g s; raise statement_timeout in the options or "
                        "make the query cheaper",
                        p->opt.rTimeoutSeconds);
      return SQLITE_ERROR;
    }
    dbx_error_set(pErr, SQLITE_INTERRUPT,
                  "interrupted while the statement was being submitted; it "
                  "is canceled as soon as Databricks names it");
    return SQLITE_INTERRUPT;
  }
  if (rc && pErr && pErr->bUncertain) return stmt_uncertain(pErr);
  if (rc) return rc;
  sqlite3_free(p->zId);
  p->zId = dbx_strdup(json_str(pResp, "statement_id"));
  if (p->zId == NULL) {
    cJSON_Delete(pResp);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "Databricks answered the statement without a "
                         "statement_id; check the host setting");
  }
  *ppResp = pResp;
  return SQLITE_OK;
}

/*
** Polls the submitted statement, with backoff and jitter and the interrupt
** hook on, until it leaves PENDING/RUNNING; *ppResp (owned) is replaced by
** each newer response. Returns SQLITE_OK, or with *ppResp freed and NULL:
** the error of the cancel that an interrupt or statement_timeout caused, or
** the error of a poll (pErr set, statement id included).
*/
static int stmt_poll(DbxStmt *p, cJSON **ppResp, DbxError *pErr) {
  char zPath[200];
  int rc, nPoll = 0;
  p->bWaiting = 1;
  dbx_client_set_interrupt(p->pClient, stmt_interrupt, p);
  snprintf(zPath, sizeof(zPath), "/api/2.0/sql/statements/%s", p->zId);
  while (is_running(p->zState)) {
    cJSON *pNext = NULL;
    DbxError e;
    int64_t nDelay =
        (int64_t)p->opt.nPollFirstMs * (nPoll < 7 ? (1 << nPoll) : 128);
    if (nDelay > STMT_POLL_MAX_MS) nDelay = STMT_POLL_MAX_MS;
    nDelay += rand() % (nDelay / 4 + 1); /* jitter spreads many pollers */
    nPoll++;
    /* An interrupt or the statement_timeout, in the sleep or the poll,
    ** cancels the remote statement. */
    rc = SQLITE_INTERRUPT;
    if (stmt_sleep(p, nDelay) == 0) {
      dbx_error_clear(&e);
      rc = dbx_client_call(p->pClient, "GET", zPath, NULL, &pNext, &e);
    }
    if (rc == SQLITE_INTERRUPT) {
      rc = stmt_cancel(p, ppResp, pErr);
      cJSON_Delete(*ppResp);
      *ppResp = NULL;
      return rc;
    }
    cJSON_Delete(*ppResp);
    *ppResp = NULL;
    if (rc) {
      if (pErr && pErr->rc == SQLITE_OK) {
        *pErr = e;
        snprintf(pErr->zStatement, sizeof(pErr->zStatement), "%s", p->zId);
      }
      return rc;
    }
    *ppResp = pNext;
    stmt_state(p, pNext);
    stmt_progress(p, 0);
  }
  p->bWaiting = 0;
  return SQLITE_OK;
}

/*
** One submission and its wait. Returns SQLITE_OK with *ppResp the
** SUCCEEDED response, or an error. *pbTooBig when it FAILED because an
** INLINE result was too large.
*/
static int stmt_run(DbxStmt *p, const char *zSql, const DbxParam *aParam,
                    int nParam, DbxDisposition eDisp, cJSON **ppResp,
                    int *pbTooBig, DbxError *pErr) {
  cJSON *pResp = NULL;
  const cJSON *pStatus;
  int rc;

  *ppResp = NULL;
  *pbTooBig = 0;
  rc = stmt_submit(p, zSql, aParam, nParam, eDisp, &pResp, pErr);
  if (rc) return rc;
  stmt_state(p, pResp);
  rc = stmt_poll(p, &pResp, pErr);
  if (rc) return rc;
  pStatus = stmt_state(p, pResp);
  if (strcmp(p->zState, "SUCCEEDED") == 0) {
    *ppResp = pResp;
    return SQLITE_OK;
  }
  if (strcmp(p->zState, "FAILED") == 0) {
    const cJSON *pE = cJSON_GetObjectItemCaseSensitive(pStatus, "error");
    *pbTooBig =
        eDisp == DBX_DISP_AUTO && is_inline_limit(json_str(pE, "message"));
    rc = *pbTooBig
             ? dbx_error_set(pErr, SQLITE_TOOBIG, "inline result too large")
             : stmt_failed(p, pStatus, pErr);
  } else {
    rc = dbx_error_set_api(pErr, SQLITE_ERROR, 0, p->zState,
                           "statement ended %s without a result; run it again",
                           p->zState);
    if (pErr)
      snprintf(pErr->zStatement, sizeof(pErr->zStatement), "%s", p->zId);
  }
  cJSON_Delete(pResp);
  return rc;
}

/* Reads the manifest and the first chunk of a SUCCEEDED response (consumed). */
static int stmt_start(DbxStmt *p, cJSON *pResp, DbxError *pErr) {
  const cJSON *pMan = cJSON_GetObjectItemCaseSensitive(pResp, "manifest");
  cJSON *pResult;
  int64_t nChunks;
  int rc, i;
  rc = dbx_result_columns(cJSON_GetObjectItemCaseSensitive(pMan, "schema"),
                          &p->aCol, &p->nCol, pErr);
  if (rc) {
    cJSON_Delete(pResp);
    return rc;
  }
  p->nTotalRows = json_i64(pMan, "total_row_count", -1);
  p->nManifestBytes = json_i64(pMan, "total_byte_count", 0);
  if (p->nCol > 0) {
    p->apVal = sqlite3_malloc64(sizeof(cJSON *) * (size_t)p->nCol);
    p->azVal = sqlite3_malloc64(sizeof(char *) * (size_t)p->nCol);
    p->anVal = sqlite3_malloc64(sizeof(size_t) * (size_t)p->nCol);
    p->aScratch = sqlite3_malloc64(sizeof(DbxBuf) * (size_t)p->nCol);
    if (p->apVal == NULL || p->azVal == NULL || p->anVal == NULL ||
        p->aScratch == NULL) {
      cJSON_Delete(pResp);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    for (i = 0; i < p->nCol; i++)
      memset(&p->aScratch[i], 0, sizeof(DbxBuf));
  }
  nChunks = json_i64(pMan, "total_chunk_count", 0);
  pResult = cJSON_DetachItemFromObjectCaseSensitive(pResp, "result");
  cJSON_Delete(pResp);
  if (pResult == NULL) {
    /* No first chunk in the response: ask for chunk 0 if there is one. */
    p->iNextChunk = nChunks > 0 ? 0 : -1;
    return SQLITE_OK;
  }
  return stmt_set_chunk(p, pResult, 0, pErr);
}

/*
** Allocates a statement for zSql on pClient with options pOpt (NULL for the
** defaults; copied). Returns SQLITE_OK with *ppOut (free with
** dbx_stmt_free), or SQLITE_NOMEM with pErr set and *ppOut NULL.
*/
static int stmt_new(DbxClient *pClient, const char *zSql,
                    const DbxParam *aParam, int nParam,
                    const DbxStmtOptions *pOpt, DbxStmt **ppOut,
                    DbxError *pErr) {
  DbxStmt *p;
  DbxStmtOptions def;
  int rc;
  *ppOut = NULL;
  if (pOpt == NULL) {
    dbx_stmt_options_init(&def);
    pOpt = &def;
  }
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  p->pClient = pClient;
  p->opt = *pOpt;
  if (p->opt.nPollFirstMs <= 0) p->opt.nPollFirstMs = 100;
  p->nTotalRows = -1;
  p->iNextChunk = -1;
  p->tStart = now_ms();
  if (p->opt.rTimeoutSeconds > 0) {
    p->tDeadline = p->tStart + (int64_t)(p->opt.rTimeoutSeconds * 1000);
  }
  p->zSql = dbx_strdup(zSql ? zSql : "");
  p->zParams = params_text(aParam, nParam);
  p->bRepeatable =
      p->opt.bIdempotent || (zSql && dbx_stmt_is_read_only(zSql, strlen(zSql)));
  if (p->zSql == NULL || p->zParams == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    p->opt.xLog = NULL; /* nothing ran: nothing to log */
    dbx_stmt_free(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

/* Checks that a warehouse is chosen, by option or configuration. Returns
** SQLITE_OK, or an error code with p->err saying what to set. */
static int stmt_need_warehouse(DbxStmt *p) {
  const DbxConfig *pConfig;
  const char *zW;
  int rc;
  if (p->opt.zWarehouseId && p->opt.zWarehouseId[0]) return SQLITE_OK;
  pConfig = dbx_client_config(p->pClient);
  zW = pConfig ? dbx_config_get(pConfig, "warehouse_id") : NULL;
  if (zW && zW[0]) return SQLITE_OK;
  if (pConfig)
    rc = dbx_config_require(pConfig, "warehouse_id", &p->err);
  else
    rc = dbx_error_set(&p->err, SQLITE_ERROR, "no SQL warehouse configured");
  return rc ? rc : SQLITE_ERROR;
}

/* Logs the INLINE attempt that failed as too large, before the re-run. */
static void stmt_log_too_big(DbxStmt *p) {
  DbxStmtInfo info;
  memset(&info, 0, sizeof(info));
  info.zStatementId = p->zId;
  info.zSql = p->zSql;
  info.zParams = p->zParams;
  info.zState = "FAILED";
  info.nMs = now_ms() - p->tStart;
  info.zError = "INLINE result too large; re-run with EXTERNAL_LINKS";
  if (p->opt.xLog) p->opt.xLog(p->opt.pLogArg, &info);
}

/* See statements.h. */
int dbx_stmt_execute(DbxClient *pClient, const char *zSql,
                     const DbxParam *aParam, int nParam,
                     const DbxStmtOptions *pOpt, DbxStmt **ppOut,
                     DbxError *pErr) {
  DbxStmt *p;
  cJSON *pResp = NULL;
  int rc, bTooBig = 0;

  *ppOut = NULL;
  rc = stmt_new(pClient, zSql, aParam, nParam, pOpt, &p, pErr);
  if (rc) return rc;
  rc = stmt_need_warehouse(p);
  if (rc) {
    if (pErr && pErr->rc == SQLITE_OK) *pErr = p->err;
    dbx_stmt_free(p);
    return rc;
  }
  rc = stmt_run(p, p->zSql, aParam, nParam, p->opt.eDisposition, &pResp,
                &bTooBig, &p->err);
  if (rc == SQLITE_TOOBIG && bTooBig && !p->bRepeatable) {
    dbx_error_clear(&p->err);
    rc = dbx_error_set(&p->err, SQLITE_ERROR,
                       "the result is too large for an inline result and "
                       "the statement is not run twice; run it with the "
                       "option disposition=external_links");
  } else if (rc == SQLITE_TOOBIG && bTooBig) {
    /* INLINE was too large: log that attempt, re-run with EXTERNAL_LINKS. */
    stmt_log_too_big(p);
    dbx_error_clear(&p->err);
    p->tStart = now_ms();
    rc = stmt_run(p, p->zSql, aParam, nParam, DBX_DISP_EXTERNAL_LINKS, &pResp,
                  &bTooBig, &p->err);
  }
  if (rc == SQLITE_OK) {
    dbx_client_set_interrupt(p->pClient, stmt_interrupt, p);
    rc = stmt_start(p, pResp, &p->err);
    dbx_client_set_interrupt(p->pClient, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    if (p->err.zStatement[0] == 0 && p->zId) {
      snprintf(p->err.zStatement, sizeof(p->err.zStatement), "%s", p->zId);
    }
    if (pErr && pErr->rc == SQLITE_OK) *pErr = p->err;
    p->tEnd = now_ms();
    dbx_stmt_free(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

/* Records an error that ends the statement (sticky). */
static int stmt_end(DbxStmt *p, int rc, DbxError *pErr) {
  p->rcDone = rc;
  if (p->tEnd == 0) p->tEnd = now_ms();
  if (rc != SQLITE_DONE && p->err.zStatement[0] == 0 && p->zId) {
    snprintf(p->err.zStatement, sizeof(p->err.zStatement), "%s", p->zId);
  }
  if (rc != SQLITE_DONE && p->zState[0]) {
    snprintf(p->zState, sizeof(p->zState), "%s", "FETCH_FAILED");
  }
  if (rc != SQLITE_DONE && pErr && pErr->rc == SQLITE_OK) *pErr = p->err;
  stmt_drop_chunk(p);
  return rc;
}

int dbx_stmt_next(DbxStmt *p, DbxError *pErr) {
  int rc = SQLITE_OK, bNone, i;
  const cJSON *pV;
  if (p->rcDone) {
    if (p->rcDone != SQLITE_DONE && pErr && pErr->rc == SQLITE_OK)
      *pErr = p->err;
    return p->rcDone;
  }
  p->bRow = 0;
  for (;;) {
    if (p->bScan) {
      rc = dbx_rowscan_next(&p->scan, p->nCol, p->azVal, p->anVal, &p->err);
      if (rc == SQLITE_ROW) break;
      if (rc != SQLITE_DONE) return stmt_end(p, rc, pErr);
    } else if (p->pRows) {
      p->pRow =
          p->bStarted ? (p->pRow ? p->pRow->next : NULL) : p->pRows->child;
      p->bStarted = 1;
      if (p->pRow) {
        i = 0;
        for (pV = p->pRow->child; pV && i < p->nCol; pV = pV->next)
          p->apVal[i++] = pV;
        while (i < p->nCol)
          p->apVal[i++] = NULL; /* short row: NULLs */
        break;
      }
    }
    dbx_client_set_interrupt(p->pClient, stmt_interrupt, p);
    rc = stmt_next_chunk(p, &bNone, &p->err);
    dbx_client_set_interrupt(p->pClient, NULL, NULL);
    if (rc) return stmt_end(p, rc, pErr);
    if (bNone) return stmt_end(p, SQLITE_DONE, pErr);
    stmt_progress(p, 0);
  }
  p->bRow = 1;
  p->iRow++;
  return SQLITE_ROW;
}

int dbx_stmt_cell(DbxStmt *p, int iCol, DbxCell *pCell, DbxError *pErr) {
  if (!p->bRow || iCol < 0 || iCol >= p->nCol) {
    memset(pCell, 0, sizeof(*pCell));
    pCell->eType = DBX_CELL_NULL;
    return dbx_error_set(pErr, SQLITE_RANGE, "no such result column %d", iCol);
  }
  if (p->bScan) {
    return dbx_result_decode_text(&p->aCol[iCol], p->azVal[iCol],
                                  p->anVal[iCol], &p->aScratch[iCol], pCell,
                                  pErr);
  }
  return dbx_result_decode(&p->aCol[iCol], p->apVal[iCol], &p->aScratch[iCol],
                           pCell, pErr);
}

int dbx_stmt_column_count(const DbxStmt *p) {
  return p->nCol;
}

const DbxColumn *dbx_stmt_column(const DbxStmt *p, int iCol) {
  return iCol >= 0 && iCol < p->nCol ? &p->aCol[iCol] : NULL;
}

const char *dbx_stmt_column_name(const DbxStmt *p, int iCol) {
  return iCol >= 0 && iCol < p->nCol ? p->aCol[iCol].zName : NULL;
}

const char *dbx_stmt_column_type_text(const DbxStmt *p, int iCol) {
  return iCol >= 0 && iCol < p->nCol ? p->aCol[iCol].zTypeText : NULL;
}

const char *dbx_stmt_column_type_name(const DbxStmt *p, int iCol) {
  return iCol >= 0 && iCol < p->nCol ? p->aCol[iCol].zTypeName : NULL;
}

const char *dbx_stmt_id(const DbxStmt *p) {
  return p->zId ? p->zId : "";
}

int64_t dbx_stmt_rownum(const DbxStmt *p) {
  return p->iRow;
}

int64_t dbx_stmt_total_rows(const DbxStmt *p) {
  return p->nTotalRows;
}

char *dbx_stmt_summary_json(DbxStmt *p, DbxError *pErr) {
  DbxBuf b = {0};
  int i, rc = SQLITE_ROW;
  if (p->iRow == 0 && p->nCol > 0) rc = dbx_stmt_next(p, pErr);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return NULL;
  dbx_buf_append(&b, "{\"statement_id\":", 16);
  dbx_result_json_string(&b, dbx_stmt_id(p), strlen(dbx_stmt_id(p)));
  dbx_buf_appendf(&b, ",\"state\":\"%s\"", p->zState);
  if (rc == SQLITE_ROW) {
    /* DML answers with one row of counters: num_affected_rows, ... */
    for (i = 0; i < p->nCol; i++) {
      DbxCell c;
      if (strncmp(p->aCol[i].zName, "num_", 4) != 0) continue;
      if (dbx_stmt_cell(p, i, &c, pErr) != SQLITE_OK) {
        dbx_buf_free(&b);
        return NULL;
      }
      dbx_buf_append(&b, ",", 1);
      dbx_result_json_string(&b, p->aCol[i].zName, strlen(p->aCol[i].zName));
      if (c.eType == DBX_CELL_INTEGER)
        dbx_buf_appendf(&b, ":%lld", (long long)c.iVal);
      else if (c.eType == DBX_CELL_TEXT) {
        dbx_buf_append(&b, ":", 1);
        dbx_result_json_string(&b, c.z, c.n);
      } else {
        dbx_buf_append(&b, ":null", 5);
      }
    }
  }
  if (p->nTotalRows >= 0) {
    dbx_buf_appendf(&b, ",\"total_row_count\":%lld", (long long)p->nTotalRows);
  }
  dbx_buf_append(&b, "}", 1);
  if (b.rc) {
    dbx_buf_free(&b);
    dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    return NULL;
  }
  return dbx_buf_take(&b);
}

/* Reads one params entry: the value, name and type (NULL when absent) of
** {"name": value} member pItem, or of array element pItem when bArray. */
static void param_fields(const cJSON *pItem, int bArray, const cJSON **ppV,
                         const char **pzName, const char **pzType) {
  *ppV = bArray ? cJSON_GetObjectItemCaseSensitive(pItem, "value") : pItem;
  *pzName = bArray ? json_str(pItem, "name") : pItem->string;
  *pzType = bArray ? json_str(pItem, "type") : NULL;
}

/* Checks every entry of pRoot and adds to *pnByte the pool bytes its texts
** need (40 for a formatted number). Returns SQLITE_OK, or SQLITE_ERROR with
** pErr set for an entry without a name or with a non-scalar value. */
static int params_size(const cJSON *pRoot, int bArray, size_t *pnByte,
                       DbxError *pErr) {
  const cJSON *pItem, *pV;
  const char *zName, *zType;
  int i = 0;
  cJSON_ArrayForEach(pItem, pRoot) {
    param_fields(pItem, bArray, &pV, &zName, &zType);
    if (zName == NULL || zName[0] == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "params entry %d has no name; write "
                           "[{\"name\":\"x\",\"value\":1}]",
                           i + 1);
    }
    if (cJSON_IsObject(pV) || cJSON_IsArray(pV)) {
      dbx_error_set(pErr, SQLITE_ERROR,
                    "parameter %s is an object or array; Databricks "
                    "parameters are scalars: pass JSON text as a string",
                    zName);
      return SQLITE_ERROR;
    }
    *pnByte += strlen(zName) + 1 + (zType ? strlen(zType) + 1 : 0) + 40 +
               (cJSON_IsString(pV) ? strlen(pV->valuestring) + 1 : 0);
    i++;
  }
  return SQLITE_OK;
}

/* Copies z (with its terminator) to *pzPool, advances it, returns the copy. */
static char *pool_copy(char **pzPool, const char *z) {
  size_t k = strlen(z) + 1;
  char *zCopy = *pzPool;
  memcpy(zCopy, z, k);
  *pzPool += k;
  return zCopy;
}

/* Fills *pParam from entry pItem (checked by params_size()), its texts in
** the pool at *pzPool, which advances. A number or boolean without a
** "type" gets BIGINT, DOUBLE or BOOLEAN. */
static void param_fill(const cJSON *pItem, int bArray, DbxParam *pParam,
                       char **pzPool) {
  const cJSON *pV;
  const char *zName, *zType;
  param_fields(pItem, bArray, &pV, &zName, &zType);
  pParam->zName = pool_copy(pzPool, zName);
  if (cJSON_IsString(pV)) {
    pParam->zValue = pool_copy(pzPool, pV->valuestring);
  } else if (cJSON_IsNumber(pV)) {
    double r = pV->valuedouble;
    size_t k;
    if (r == floor(r) && fabs(r) < 9.2e18) {
      k = (size_t)snprintf(*pzPool, 40, "%lld", (long long)r) + 1;
      if (zType == NULL) zType = "BIGINT";
    } else {
      k = (size_t)snprintf(*pzPool, 40, "%.17g", r) + 1;
      if (zType == NULL) zType = "DOUBLE";
    }
    pParam->zValue = *pzPool;
    *pzPool += k;
  } else if (cJSON_IsBool(pV)) {
    pParam->zValue = cJSON_IsTrue(pV) ? "true" : "false";
    if (zType == NULL) zType = "BOOLEAN";
  }
  if (zType) pParam->zType = pool_copy(pzPool, zType);
}

/* See statements.h. */
int dbx_stmt_params_parse(const char *zJson, DbxParam **paParam, int *pnParam,
                          DbxError *pErr) {
  cJSON *pRoot, *pItem;
  DbxParam *aParam;
  size_t nByte;
  char *zPool;
  int n, i = 0, bArray;

  *paParam = NULL;
  *pnParam = 0;
  if (zJson == NULL || zJson[0] == 0) return SQLITE_OK;
  pRoot = cJSON_Parse(zJson);
  if (pRoot == NULL || !(cJSON_IsObject(pRoot) || cJSON_IsArray(pRoot))) {
    cJSON_Delete(pRoot);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "params must be a JSON object {\"name\": value} or an "
                         "array [{\"name\":..,\"value\":..,\"type\":..}]");
  }
  bArray = cJSON_IsArray(pRoot);
  n = cJSON_GetArraySize(pRoot);
  /* One allocation: the array, then each name, value and type text. */
  nByte = sizeof(DbxParam) * (size_t)(n + 1);
  if (params_size(pRoot, bArray, &nByte, pErr) != SQLITE_OK) {
    cJSON_Delete(pRoot);
    return SQLITE_ERROR;
  }
  aParam = sqlite3_malloc64(nByte);
  if (aParam == NULL) {
    cJSON_Delete(pRoot);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memset(aParam, 0, sizeof(DbxParam) * (size_t)(n + 1));
  zPool = (char *)&aParam[n + 1];
  cJSON_ArrayForEach(pItem, pRoot) {
    param_fill(pItem, bArray, &aParam[i++], &zPool);
  }
  cJSON_Delete(pRoot);
  *paParam = aParam;
  *pnParam = n;
  return SQLITE_OK;
}
