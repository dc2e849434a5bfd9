/*
** statements.c: the Statement Execution API client.
**
** Serves dbx_query(), dbx_exec() and the databricks virtual table. The
** flow is the one Databricks recommends: POST with wait_timeout and
** on_wait_timeout=CONTINUE, poll with growing delays while PENDING or
** RUNNING, cancel remotely on interrupt or statement timeout and poll to a
** terminal state, then stream the result chunk by chunk. Only the current
** chunk is held in memory. All HTTP goes through client.h, so nothing here
** knows about auth, retries or TLS; the waits and their jitter use the
** client's clock too, so unit tests run them on a fake one.
**
** Nothing the server sends is trusted: statement ids, chunk links, external
** links and their headers are checked before they reach a URL or a header,
** numbers before they are converted, and each chunk against its manifest.
** The rows of a chunk are handed out as the bytes they came in (the span
** of an INLINE reply that holds them, or a downloaded file), so a value
** keeps every byte it was sent: reading them is the caller's (rows.c,
** with result.c's reader), which reports each row back so that its width
** and the row counts are checked here.
*/
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "statements.h"
#include "http.h"

/* Longest poll delay (linear backoff capped at 10 s, as the SDKs). */
#define STMT_POLL_MAX_MS 10000
/* How long to keep polling after a cancel before giving up on it. */
#define STMT_CANCEL_WAIT_MS 15000
/* Fresh links fetched for one chunk before giving up. */
#define STMT_LINK_RETRIES 3
/* Longest statement id accepted (Databricks sends 36 characters). */
#define STMT_ID_MAX 64
/* Counts and sizes from the server: at most 2^53, exact as JSON numbers. */
#define STMT_MAX_COUNT ((int64_t)1 << 53)
/* Headers an external link may ask for. */
#define STMT_LINK_MAX_HEADERS 64
/* Bytes read from an external link whose byte_count is not given. */
#define STMT_LINK_MAX_BYTES ((size_t)256 * 1024 * 1024)

struct DbxStmt {
  DbxClient *pClient;     /* borrowed; outlives the statement */
  DbxStmtOptions opt;     /* copy; its strings are not used after execute */
  char *zId;              /* owned; statement_id (checked: stmt_id_ok) */
  char *zSql;             /* owned; SQL text for the log */
  char *zParams;          /* owned; ":a BIGINT, :b STRING" for the log */
  char zState[16];        /* last known state */
  cJSON *pSchema;         /* owned; manifest.schema, or NULL */
  int nCol;               /* columns it lists */
  int64_t nTotalRows;     /* manifest.total_row_count or -1 */
  int64_t nTotalChunks;   /* manifest.total_chunk_count or -1 */
  cJSON *pManChunks;      /* owned; manifest.chunks (ChunkInfo) or NULL */
  DbxBuf raw;             /* owned; raw text of the last API reply */
  DbxBuf body;            /* owned; holds the current chunk's rows */
  size_t iRows, nRows;    /* where in body: `[[v, ...], ...]` */
  int bScan;              /* a chunk is current */
  int bFresh;             /* ... and not yet handed out */
  int64_t iChunk;         /* index of the current chunk, -1 before the 1st */
  int64_t nChunkRows;     /* rows read from the current chunk */
  int64_t nChunkWant;     /* rows it holds by its metadata, or -1 */
  int64_t iNextChunk;     /* next chunk index, -1 when none */
  int64_t iNextOffset;    /* row_offset its link names, or -1 */
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
};

/* Monotonic milliseconds on the client's clock (a fake one in unit tests). */
static int64_t now_ms(const DbxStmt *p) {
  return dbx_client_now_ms(p->pClient);
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
  if (p->bWaiting && p->tDeadline && now_ms(p) >= p->tDeadline) {
    p->bTimedOut = 1;
    return 1;
  }
  return 0;
}

/* Sleeps ms in small slices. Returns 1 when the interrupt hook fired. */
static int stmt_sleep(DbxStmt *p, int64_t ms) {
  int64_t tEnd = now_ms(p) + ms;
  for (;;) {
    int64_t left = tEnd - now_ms(p);
    if (stmt_interrupt(p)) return 1;
    if (left <= 0) return 0;
    dbx_client_sleep_ms(p->pClient, left > 25 ? 25 : left);
  }
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
  pInfo->nMs = (p->tEnd ? p->tEnd : now_ms(p)) - p->tStart;
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
  if (p->tEnd == 0) p->tEnd = now_ms(p);
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
  dbx_buf_free(&p->body);
  p->bScan = 0;
  p->bFresh = 0;
}

void dbx_stmt_free(DbxStmt *p) {
  if (p == NULL) return;
  stmt_log(p);
  dbx_client_set_interrupt(p->pClient, NULL, NULL);
  stmt_drop_chunk(p);
  dbx_buf_free(&p->raw);
  cJSON_Delete(p->pManChunks);
  cJSON_Delete(p->pSchema);
  sqlite3_free(p->zId);
  sqlite3_free(p->zSql);
  sqlite3_free(p->zParams);
  sqlite3_free(p);
}

/* ---------------------------------------------------------------------
** Checking what the server sends. Every id, link, header and number that
** comes back is checked before it goes into a URL, a header or an integer,
** and every chunk against what its manifest promised: a mismatch is an
** error naming the statement and the chunk, never a short or padded
** answer.
*/

/*
** Whether z can be a statement id: 1 to STMT_ID_MAX letters, digits, '-'
** or '_' (Databricks ids look like 01ef0123-4567-89ab-cdef-0123456789ab).
** Anything else could steer the URL paths built from it.
*/
static int stmt_id_ok(const char *z) {
  size_t n = 0;
  for (; z[n]; n++) {
    char c = z[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_') ||
        n >= STMT_ID_MAX) {
      return 0;
    }
  }
  return n > 0;
}

static int stmt_bad(DbxStmt *p, DbxError *pErr, int64_t iChunk,
                    const char *zFmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
** Records that chunk iChunk (or the manifest, when iChunk < 0) is not what
** Databricks promised, zFmt saying how. The statement id goes with it.
** Returns SQLITE_ERROR.
*/
static int stmt_bad(DbxStmt *p, DbxError *pErr, int64_t iChunk,
                    const char *zFmt, ...) {
  char zWhy[320], zWhere[48];
  va_list ap;
  if (pErr == NULL || pErr->rc != SQLITE_OK) return SQLITE_ERROR;
  va_start(ap, zFmt);
  vsnprintf(zWhy, sizeof(zWhy), zFmt, ap);
  va_end(ap);
  if (iChunk < 0) {
    snprintf(zWhere, sizeof(zWhere), "the result manifest");
  } else {
    snprintf(zWhere, sizeof(zWhere), "result chunk %lld", (long long)iChunk);
  }
  dbx_error_set(pErr, SQLITE_ERROR,
                "%s does not match what Databricks promised: %s; run the "
                "query again",
                zWhere, zWhy);
  if (p->zId) {
    snprintf(pErr->zStatement, sizeof(pErr->zStatement), "%s", p->zId);
  }
  return SQLITE_ERROR;
}

/*
** Reads integer member zName of pObj, 0..iMax, into *piOut (-1 when it is
** absent). Returns SQLITE_OK, or SQLITE_ERROR with pErr set when it is not
** such an integer. iChunk names the chunk in the message.
*/
static int meta_int(DbxStmt *p, const cJSON *pObj, const char *zName,
                    int64_t iMax, int64_t iChunk, int64_t *piOut,
                    DbxError *pErr) {
  int rc = dbx_json_int(cJSON_GetObjectItemCaseSensitive(pObj, zName), 0, iMax,
                        piOut);
  if (rc == SQLITE_NOTFOUND) {
    *piOut = -1;
    return SQLITE_OK;
  }
  if (rc != SQLITE_OK) {
    return stmt_bad(p, pErr, iChunk, "%s is not an integer from 0 to %lld",
                    zName, (long long)iMax);
  }
  return SQLITE_OK;
}

/* Reads the plain decimal number at *pz (no sign, no leading zero, at most
** nMax) and advances. Returns it, or -1 when there is none. */
static int64_t read_index(const char **pz, int64_t nMax) {
  const char *z = *pz;
  int64_t v = 0;
  int nDigit = 0;
  if (z[0] == '0' && z[1] >= '0' && z[1] <= '9') return -1;
  for (; *z >= '0' && *z <= '9'; z++) {
    if (++nDigit > 16) return -1;
    v = v * 10 + (*z - '0');
  }
  if (nDigit == 0 || v > nMax) return -1;
  *pz = z;
  return v;
}

/*
** The chunk index that z, a next_chunk_internal_link, names, or -1 when z is
** not exactly /api/2.0/sql/statements/<this statement>/result/chunks/<n>,
** optionally followed by ?row_offset=<m> as workspaces write it (*piOffset
** gets m, or -1). The link is a path on the workspace, sent with
** credentials, so nothing else may reach a request.
*/
static int64_t link_index(const DbxStmt *p, const char *z, int64_t *piOffset) {
  static const char zHead[] = "/api/2.0/sql/statements/";
  static const char zTail[] = "/result/chunks/";
  static const char zQuery[] = "?row_offset=";
  size_t nId = strlen(p->zId);
  int64_t v;
  *piOffset = -1;
  if (strncmp(z, zHead, sizeof(zHead) - 1) != 0) return -1;
  z += sizeof(zHead) - 1;
  if (strncmp(z, p->zId, nId) != 0) return -1;
  z += nId;
  if (strncmp(z, zTail, sizeof(zTail) - 1) != 0) return -1;
  z += sizeof(zTail) - 1;
  v = read_index(&z, INT32_MAX);
  if (v >= 0 && strncmp(z, zQuery, sizeof(zQuery) - 1) == 0) {
    z += sizeof(zQuery) - 1;
    *piOffset = read_index(&z, STMT_MAX_COUNT);
    if (*piOffset < 0) return -1;
  }
  return *z == 0 ? v : -1;
}

/* What the ResultData of a chunk, its external link and the manifest's
** entry for it say about it, once checked. */
typedef struct ChunkMeta {
  int64_t nRows;  /* row_count, or -1 when nothing says */
  int64_t nBytes; /* byte_count (the link's before the manifest's), or -1 */
  int64_t iNext;  /* the next chunk, or -1 for the last one */
  int64_t iNextOffset; /* the row_offset its link names, or -1 */
} ChunkMeta;

/*
** Reads the next-chunk pointers of pObj (chunk iChunk) into pMeta->iNext:
** next_chunk_index and next_chunk_internal_link must agree with each other
** and with what was read before, and point forward, below
** total_chunk_count (so a chunk can never lead back to itself).
*/
static int chunk_next(DbxStmt *p, const cJSON *pObj, int64_t iChunk,
                      ChunkMeta *pMeta, DbxError *pErr) {
  const cJSON *pLink =
      cJSON_GetObjectItemCaseSensitive(pObj, "next_chunk_internal_link");
  int64_t iIdx, iLink = -1, iOffset = -1, v;
  int rc =
      meta_int(p, pObj, "next_chunk_index", INT32_MAX, iChunk, &iIdx, pErr);
  if (rc) return rc;
  if (pLink && !cJSON_IsNull(pLink) &&
      (!cJSON_IsString(pLink) ||
       (iLink = link_index(p, pLink->valuestring, &iOffset)) < 0)) {
    return stmt_bad(p, pErr, iChunk,
                    "next_chunk_internal_link is not the path of a chunk of "
                    "this statement");
  }
  if (iIdx >= 0 && iLink >= 0 && iIdx != iLink) {
    return stmt_bad(p, pErr, iChunk,
                    "next_chunk_index %lld and next_chunk_internal_link "
                    "disagree",
                    (long long)iIdx);
  }
  v = iIdx >= 0 ? iIdx : iLink;
  if (v < 0) return SQLITE_OK;
  if (v <= iChunk) {
    return stmt_bad(p, pErr, iChunk,
                    "it names chunk %lld as the next one, but chunks only "
                    "go forward",
                    (long long)v);
  }
  if (p->nTotalChunks >= 0 && v >= p->nTotalChunks) {
    return stmt_bad(p, pErr, iChunk,
                    "it names chunk %lld as the next one, but "
                    "total_chunk_count is %lld",
                    (long long)v, (long long)p->nTotalChunks);
  }
  if (pMeta->iNext >= 0 && pMeta->iNext != v) {
    return stmt_bad(p, pErr, iChunk, "it names two different next chunks");
  }
  pMeta->iNext = v;
  if (iOffset >= 0) pMeta->iNextOffset = iOffset;
  return SQLITE_OK;
}

/*
** Checks one object describing chunk iChunk (a ResultData, an ExternalLink
** or a manifest ChunkInfo) and merges what it says into *pMeta: its
** chunk_index must be the one asked for, its row_offset the rows already
** read, its row_count agree with the others'. bNext: read the next-chunk
** pointers too.
*/
static int chunk_meta(DbxStmt *p, const cJSON *pObj, int64_t iChunk, int bNext,
                      ChunkMeta *pMeta, DbxError *pErr) {
  int64_t v;
  int rc;
  if (!cJSON_IsObject(pObj)) {
    return stmt_bad(p, pErr, iChunk, "its description is not a JSON object");
  }
  rc = meta_int(p, pObj, "chunk_index", INT32_MAX, iChunk, &v, pErr);
  if (rc == SQLITE_OK && v >= 0 && v != iChunk) {
    return stmt_bad(p, pErr, iChunk, "Databricks sent chunk %lld instead",
                    (long long)v);
  }
  if (rc == SQLITE_OK)
    rc = meta_int(p, pObj, "row_offset", STMT_MAX_COUNT, iChunk, &v, pErr);
  if (rc == SQLITE_OK && v >= 0 && v != p->iRow) {
    return stmt_bad(p, pErr, iChunk,
                    "its row_offset is %lld, but %lld rows came before it",
                    (long long)v, (long long)p->iRow);
  }
  if (rc == SQLITE_OK)
    rc = meta_int(p, pObj, "row_count", STMT_MAX_COUNT, iChunk, &v, pErr);
  if (rc == SQLITE_OK && v >= 0) {
    if (pMeta->nRows >= 0 && pMeta->nRows != v) {
      return stmt_bad(p, pErr, iChunk,
                      "its row_count is %lld in one place and %lld in "
                      "another",
                      (long long)pMeta->nRows, (long long)v);
    }
    pMeta->nRows = v;
  }
  if (rc == SQLITE_OK)
    rc = meta_int(p, pObj, "byte_count", STMT_MAX_COUNT, iChunk, &v, pErr);
  if (rc == SQLITE_OK && v >= 0 && pMeta->nBytes < 0) pMeta->nBytes = v;
  if (rc == SQLITE_OK && bNext) rc = chunk_next(p, pObj, iChunk, pMeta, pErr);
  return rc;
}

/* Whether z (a header name) is an RFC 7230 token of sane length. */
static int header_name_ok(const char *z) {
  size_t n = 0;
  if (z == NULL) return 0;
  for (; z[n]; n++) {
    unsigned char c = (unsigned char)z[n];
    if (n >= 256 || !(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c))) return 0;
  }
  return n > 0;
}

/* Whether z (a header value) holds no control byte (CR, LF, NUL, TAB...)
** and is of sane length, so it cannot end its header line early. */
static int header_value_ok(const char *z) {
  size_t n = 0;
  for (; z[n]; n++) {
    unsigned char c = (unsigned char)z[n];
    if (c < 0x20 || c == 0x7f || n >= 8192) return 0;
  }
  return 1;
}

/*
** Checks an ExternalLink before anything is sent to it: an absolute https
** URL (http only to a loopback host) without blanks or control bytes, and
** http_headers an object of token names and clean string values. Neither
** the URL nor a header value appears in an error: they carry credentials.
*/
static int link_check(DbxStmt *p, const cJSON *pLink, int64_t iChunk,
                      DbxError *pErr) {
  const char *zUrl = json_str(pLink, "external_link");
  const cJSON *pHdrs = cJSON_GetObjectItemCaseSensitive(pLink, "http_headers");
  const cJSON *pH;
  const unsigned char *z;
  DbxError e;
  int n = 0;
  if (zUrl == NULL) {
    return stmt_bad(p, pErr, iChunk, "its external link has no URL");
  }
  for (z = (const unsigned char *)zUrl; *z; z++) {
    if (*z <= 0x20 || *z == 0x7f) {
      return stmt_bad(p, pErr, iChunk,
                      "its external link holds a blank or a control byte");
    }
  }
  dbx_error_clear(&e);
  if ((strncasecmp(zUrl, "https://", 8) != 0 &&
       strncasecmp(zUrl, "http://", 7) != 0) ||
      dbx_http_check_url(zUrl, &e) != SQLITE_OK) {
    return stmt_bad(p, pErr, iChunk,
                    "its external link is not an https URL (or http to a "
                    "loopback host)");
  }
  if (pHdrs == NULL || cJSON_IsNull(pHdrs)) return SQLITE_OK;
  if (!cJSON_IsObject(pHdrs)) {
    return stmt_bad(p, pErr, iChunk, "http_headers is not a JSON object");
  }
  cJSON_ArrayForEach(pH, pHdrs) {
    if (++n > STMT_LINK_MAX_HEADERS) {
      return stmt_bad(p, pErr, iChunk, "it asks for more than %d headers",
                      STMT_LINK_MAX_HEADERS);
    }
    if (!header_name_ok(pH->string)) {
      return stmt_bad(p, pErr, iChunk,
                      "http_headers holds a name that is not an HTTP "
                      "header name");
    }
    if (!cJSON_IsString(pH) || !header_value_ok(pH->valuestring)) {
      return stmt_bad(p, pErr, iChunk,
                      "the value of http_headers %s is not a string free "
                      "of control characters",
                      pH->string);
    }
  }
  return SQLITE_OK;
}

/* The manifest's ChunkInfo for chunk iChunk, or NULL. Usually at position
** iChunk; otherwise found by its chunk_index. */
static const cJSON *manifest_chunk(const DbxStmt *p, int64_t iChunk) {
  const cJSON *pC;
  int64_t v;
  if (p->pManChunks == NULL) return NULL;
  if (iChunk < INT32_MAX) {
    pC = cJSON_GetArrayItem(p->pManChunks, (int)iChunk);
    if (dbx_json_int(cJSON_GetObjectItemCaseSensitive(pC, "chunk_index"), 0,
                     INT32_MAX, &v) == SQLITE_OK &&
        v == iChunk) {
      return pC;
    }
  }
  cJSON_ArrayForEach(pC, p->pManChunks) {
    if (dbx_json_int(cJSON_GetObjectItemCaseSensitive(pC, "chunk_index"), 0,
                     INT32_MAX, &v) == SQLITE_OK &&
        v == iChunk) {
      return pC;
    }
  }
  return NULL;
}

/*
** Checks ResultData pData, which should be chunk iChunk, and everything
** it says: data_array or one external link, not both, of the right JSON
** types; the fields read by chunk_meta(), merged with the manifest's entry
** into *pMeta. *ppLink is its ExternalLink (borrowed from pData) or NULL
** for INLINE rows.
*/
static int stmt_examine(DbxStmt *p, const cJSON *pData, int64_t iChunk,
                        ChunkMeta *pMeta, const cJSON **ppLink,
                        DbxError *pErr) {
  const cJSON *pRows, *pLinks, *pMan;
  int rc;
  pMeta->nRows = pMeta->nBytes = pMeta->iNext = pMeta->iNextOffset = -1;
  *ppLink = NULL;
  if (!cJSON_IsObject(pData)) {
    return stmt_bad(p, pErr, iChunk, "it is not a JSON object");
  }
  if (p->nTotalChunks >= 0 && iChunk >= p->nTotalChunks &&
      !(iChunk == 0 && p->nTotalChunks == 0)) {
    return stmt_bad(p, pErr, iChunk, "total_chunk_count is %lld",
                    (long long)p->nTotalChunks);
  }
  pRows = cJSON_GetObjectItemCaseSensitive(pData, "data_array");
  pLinks = cJSON_GetObjectItemCaseSensitive(pData, "external_links");
  if (pRows && !cJSON_IsNull(pRows) && !cJSON_IsArray(pRows)) {
    return stmt_bad(p, pErr, iChunk, "data_array is not an array");
  }
  if (pLinks && !cJSON_IsNull(pLinks)) {
    if (!cJSON_IsArray(pLinks)) {
      return stmt_bad(p, pErr, iChunk, "external_links is not an array");
    }
    if (cJSON_GetArraySize(pLinks) > 1) {
      return stmt_bad(p, pErr, iChunk,
                      "it holds %d external links; Databricks sends one",
                      cJSON_GetArraySize(pLinks));
    }
    *ppLink = pLinks->child;
    if (*ppLink && cJSON_IsArray(pRows)) {
      return stmt_bad(p, pErr, iChunk,
                      "it holds both data_array and an external link");
    }
  }
  rc = chunk_meta(p, pData, iChunk, 1, pMeta, pErr);
  if (rc == SQLITE_OK && *ppLink) {
    rc = chunk_meta(p, *ppLink, iChunk, 1, pMeta, pErr);
    if (rc == SQLITE_OK) rc = link_check(p, *ppLink, iChunk, pErr);
  }
  pMan = manifest_chunk(p, iChunk);
  if (rc == SQLITE_OK && pMan) rc = chunk_meta(p, pMan, iChunk, 0, pMeta, pErr);
  /* no chunks in the manifest: a chunk 0 may come, but empty */
  if (p->nTotalChunks == 0 && pMeta->nRows < 0) pMeta->nRows = 0;
  return rc;
}

/* Seconds since the epoch of an ISO-8601 UTC date-time, or -1 when z is
** not one (every field read digit by digit: nothing overflows). */
static int64_t iso_to_epoch(const char *z) {
  static const int aLen[6] = {4, 2, 2, 2, 2, 2};
  static const char aSep[6] = {'-', '-', 'T', ':', ':', 0};
  int aV[6], i, k;
  struct tm tm;
  if (z == NULL) return -1;
  for (i = 0; i < 6; i++) {
    aV[i] = 0;
    for (k = 0; k < aLen[i]; k++, z++) {
      if (*z < '0' || *z > '9') return -1;
      aV[i] = aV[i] * 10 + (*z - '0');
    }
    if (aSep[i] && *z++ != aSep[i]) return -1;
  }
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = aV[0] - 1900;
  tm.tm_mon = aV[1] - 1;
  tm.tm_mday = aV[2];
  tm.tm_hour = aV[3];
  tm.tm_min = aV[4];
  tm.tm_sec = aV[5];
  return (int64_t)timegm(&tm);
}

/*
** GETs chunk iChunk through the chunk endpoint into *ppOut; the raw reply
** lands in p->raw, for rows cJSON cannot hold.
*/
static int stmt_get_chunk(DbxStmt *p, int64_t iChunk, int64_t iOffset,
                          cJSON **ppOut, DbxError *pErr) {
  char zPath[256], zQuery[40] = "";
  int rc;
  if (iOffset >= 0) {
    snprintf(zQuery, sizeof(zQuery), "?row_offset=%lld", (long long)iOffset);
  }
  snprintf(zPath, sizeof(zPath),
           "/api/2.0/sql/statements/%s/result/chunks/%lld%s", p->zId,
           (long long)iChunk, zQuery);
  dbx_client_keep_body(p->pClient, &p->raw);
  rc = dbx_client_call(p->pClient, "GET", zPath, NULL, ppOut, pErr);
  dbx_client_keep_body(p->pClient, NULL);
  if (rc == SQLITE_OK && *ppOut == NULL) {
    rc = stmt_bad(p, pErr, iChunk, "the chunk endpoint answered nothing");
  }
  return rc;
}

/*
** Downloads the external link pLink (checked by link_check) of chunk
** iChunk, sending its http_headers (each "Name: value", wiped after use),
** into *pBody. At most the chunk's byte_count is read (STMT_LINK_MAX_BYTES
** when none says), and a body of another size than byte_count is an error.
** Returns SQLITE_OK, or an error code with pErr set (its HTTP status
** decides whether a fresh link may help).
*/
static int link_download(DbxStmt *p, const cJSON *pLink, const ChunkMeta *pMeta,
                         int64_t iChunk, DbxBuf *pBody, DbxError *pErr) {
  const cJSON *pHdrs = cJSON_GetObjectItemCaseSensitive(pLink, "http_headers");
  const cJSON *pH;
  const char **azHdr = NULL;
  size_t nMax =
      pMeta->nBytes >= 0 ? (size_t)pMeta->nBytes : STMT_LINK_MAX_BYTES;
  int nHdr = cJSON_GetArraySize(pHdrs), i = 0, rc;
  DbxError e;
  if (nHdr > 0) {
    azHdr = sqlite3_malloc64(sizeof(char *) * (size_t)nHdr);
    if (azHdr == NULL)
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    cJSON_ArrayForEach(pH, pHdrs) {
      azHdr[i++] = sqlite3_mprintf("%s: %s", pH->string, pH->valuestring);
      if (azHdr[i - 1] == NULL) break;
    }
  }
  dbx_error_clear(&e);
  rc = i < nHdr ? dbx_error_set(&e, SQLITE_NOMEM, "out of memory")
                : dbx_client_download_max(p->pClient,
                                          json_str(pLink, "external_link"),
                                          (const char *const *)azHdr, nHdr,
                                          nMax ? nMax : 1, pBody, &e);
  while (i > 0)
    dbx_free_secret((char *)azHdr[--i]);
  sqlite3_free(azHdr);
  if (rc == SQLITE_TOOBIG) {
    return stmt_bad(
        p, pErr, iChunk, "its download is larger than the %llu bytes %s",
        (unsigned long long)nMax,
        pMeta->nBytes >= 0 ? "of its byte_count" : "a chunk may hold");
  }
  if (rc != SQLITE_OK) {
    if (pErr && pErr->rc == SQLITE_OK) *pErr = e;
    return rc;
  }
  if (pMeta->nBytes >= 0 && pBody->n != (size_t)pMeta->nBytes) {
    return stmt_bad(p, pErr, iChunk,
                    "its download holds %zu bytes, its byte_count says %lld",
                    pBody->n, (long long)pMeta->nBytes);
  }
  return SQLITE_OK;
}

/* Makes a downloaded file *pBody (consumed) the rows of the current chunk;
** an empty file holds no rows. Returns SQLITE_OK or SQLITE_NOMEM. */
static int stmt_take_body(DbxStmt *p, DbxBuf *pBody, DbxError *pErr) {
  if (p->nBytes < INT64_MAX - (int64_t)pBody->n) p->nBytes += (int64_t)pBody->n;
  if (pBody->n == 0) dbx_buf_append(pBody, "[]", 2);
  if (pBody->rc) {
    dbx_buf_free(pBody);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  p->body = *pBody;
  p->iRows = 0;
  p->nRows = p->body.n;
  p->bScan = p->bFresh = 1;
  return SQLITE_OK;
}

/* Whether a failed download's status says the link expired or was refused,
** so the chunk endpoint may hand out a fresh one. */
static int link_refused(const DbxError *pE) {
  return pE->httpStatus == 403 || pE->httpStatus == 400 ||
         pE->httpStatus == 404 || pE->httpStatus == 410;
}

/*
** Downloads external link pLink of chunk iChunk (described by *pMeta),
** asking the chunk endpoint for a fresh link when it expired or is refused
** (each fresh ResultData checked like the first). On success, p->body holds
** the file, the rows of the current chunk.
*/
static int stmt_download(DbxStmt *p, const cJSON *pLink, ChunkMeta *pMeta,
                         int64_t iChunk, DbxError *pErr) {
  cJSON *pFresh = NULL;
  int nTry = 0, rc = SQLITE_OK, bRefreshedStale = 0;
  for (;;) {
    int64_t tExp = iso_to_epoch(json_str(pLink, "expiration"));
    /* A link known to be expired is refreshed before use. */
    int bStale = tExp > 0 && tExp <= (int64_t)time(NULL) && !bRefreshedStale;
    if (bStale) bRefreshedStale = 1;
    if (!bStale) {
      DbxBuf body = {0};
      DbxError e;
      dbx_error_clear(&e);
      rc = link_download(p, pLink, pMeta, iChunk, &body, &e);
      if (rc == SQLITE_OK) {
        rc = stmt_take_body(p, &body, pErr);
        break;
      }
      dbx_buf_free(&body);
      if (rc == SQLITE_INTERRUPT || ++nTry > STMT_LINK_RETRIES ||
          !link_refused(&e)) {
        if (pErr && pErr->rc == SQLITE_OK) *pErr = e;
        break;
      }
    }
    /* Expired or refused: ask the chunk endpoint for a fresh link. */
    cJSON_Delete(pFresh);
    pFresh = NULL;
    rc = stmt_get_chunk(p, iChunk, -1, &pFresh, pErr);
    if (rc == SQLITE_OK)
      rc = stmt_examine(p, pFresh, iChunk, pMeta, &pLink, pErr);
    if (rc == SQLITE_OK && pLink == NULL) {
      rc = stmt_bad(p, pErr, iChunk, "a fresh link was asked for; none came");
    }
    if (rc) break;
    p->nChunkWant = pMeta->nRows;
    p->iNextChunk = pMeta->iNext;
    p->iNextOffset = pMeta->iNextOffset;
  }
  cJSON_Delete(pFresh);
  return rc;
}

/*
** Makes the INLINE rows of ResultData pData the current chunk. They are
** scanned from the raw reply (p->raw, where pData spans nRaw bytes from
** iRaw; nRaw 0 when unknown), which keeps every byte of a string; without
** it, from pData's own printout. No data_array: no rows.
*/
static int stmt_inline(DbxStmt *p, const cJSON *pData, size_t iRaw, size_t nRaw,
                       DbxError *pErr) {
  const cJSON *pRows = cJSON_GetObjectItemCaseSensitive(pData, "data_array");
  size_t iStart = 0, nLen = 0;
  int nRows = cJSON_GetArraySize(pRows);
  /* INLINE rows are all here: a count that cannot match fails up front */
  if (p->nChunkWant >= 0 && nRows != p->nChunkWant) {
    return stmt_bad(p, pErr, p->iChunk,
                    "it holds %d rows, its row_count says %lld", nRows,
                    (long long)p->nChunkWant);
  }
  if (p->nTotalRows >= 0 && nRows > p->nTotalRows - p->iRow) {
    return stmt_bad(p, pErr, p->iChunk,
                    "its %d rows go past total_row_count %lld", nRows,
                    (long long)p->nTotalRows);
  }
  if (!cJSON_IsArray(pRows)) {
    dbx_buf_append(&p->body, "[]", 2);
    nLen = 2;
  } else if (nRaw > 0 && dbx_json_member(p->raw.z + iRaw, nRaw, "data_array",
                                         &iStart, &nLen)) {
    p->body = p->raw; /* handed over: the rows are scanned in place */
    memset(&p->raw, 0, sizeof(p->raw));
    iStart += iRaw;
  } else {
    char *z = cJSON_PrintUnformatted(pRows);
    if (z == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    nLen = strlen(z);
    dbx_buf_append(&p->body, z, nLen);
    cJSON_free(z);
  }
  if (p->body.rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  p->iRows = iStart;
  p->nRows = nLen;
  p->bScan = p->bFresh = 1;
  return SQLITE_OK;
}

/*
** Makes ResultData pData (owned, consumed), which must be chunk iChunk, the
** current chunk once checked: INLINE rows are scanned in place; an external
** link is downloaded. iRaw/nRaw: where pData's text sits in p->raw (nRaw 0
** when unknown). p->raw is released either way.
*/
static int stmt_set_chunk(DbxStmt *p, cJSON *pData, int64_t iChunk, size_t iRaw,
                          size_t nRaw, DbxError *pErr) {
  const cJSON *pLink = NULL;
  ChunkMeta m;
  int rc;
  stmt_drop_chunk(p);
  p->iChunk = iChunk;
  p->nChunkRows = 0;
  p->nChunks++;
  rc = stmt_examine(p, pData, iChunk, &m, &pLink, pErr);
  p->nChunkWant = m.nRows;
  p->iNextChunk = rc == SQLITE_OK ? m.iNext : -1;
  p->iNextOffset = m.iNextOffset;
  if (rc == SQLITE_OK && pLink) {
    rc = stmt_download(p, pLink, &m, iChunk, pErr);
  } else if (rc == SQLITE_OK) {
    if (m.nBytes > 0 && p->nBytes < INT64_MAX - m.nBytes) p->nBytes += m.nBytes;
    rc = stmt_inline(p, pData, iRaw, nRaw, pErr);
  }
  cJSON_Delete(pData);
  dbx_buf_free(&p->raw);
  return rc;
}

/* Fetches the chunk after the current one into place. */
static int stmt_next_chunk(DbxStmt *p, DbxError *pErr) {
  cJSON *pData = NULL;
  int64_t iChunk = p->iNextChunk;
  int rc;
  /* The rows read so far go before the next chunk arrives: one at a time. */
  stmt_drop_chunk(p);
  p->iNextChunk = -1;
  if (p->iNextOffset >= 0 && p->iNextOffset != p->iRow) {
    return stmt_bad(p, pErr, p->iChunk,
                    "its next_chunk_internal_link says the next chunk starts "
                    "at row %lld, but it ends at row %lld",
                    (long long)p->iNextOffset, (long long)p->iRow);
  }
  rc = stmt_get_chunk(p, iChunk, p->iNextOffset, &pData, pErr);
  if (rc) {
    cJSON_Delete(pData);
    dbx_buf_free(&p->raw);
    return rc;
  }
  return stmt_set_chunk(p, pData, iChunk, 0, p->raw.n, pErr);
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
  const char *zWarehouse = p->opt.zWarehouseId;
  const char *zCatalog = p->opt.zCatalog;
  const char *zSchema = p->opt.zSchema;
  cJSON *pReq = cJSON_CreateObject();
  char zWait[16];
  int i;
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
  int64_t tGiveUp = now_ms(p) + STMT_CANCEL_WAIT_MS;
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
    while (is_running(p->zState) && now_ms(p) < tGiveUp) {
      dbx_client_sleep_ms(p->pClient, nDelay);
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
  const char *zId;
  char *zOut = NULL;
  if (status < 200 || status > 299 || zBody == NULL) return NULL;
  pResp = cJSON_ParseWithLength(zBody, nBody);
  zId = json_str(pResp, "statement_id");
  if (zId && stmt_id_ok(zId)) {
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
  if (p->opt.bIdempotent) {
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
  if (!stmt_id_ok(p->zId)) {
    /* it would become part of every later URL: refuse it unseen */
    sqlite3_free(p->zId);
    p->zId = NULL;
    cJSON_Delete(pResp);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "Databricks answered with a statement_id that is "
                         "not 1 to %d letters, digits, '-' or '_'; check the "
                         "host setting",
                         STMT_ID_MAX);
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
    /* jitter spreads many pollers */
    nDelay +=
        (int64_t)(dbx_client_rand(p->pClient) % (unsigned)(nDelay / 4 + 1));
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

/*
** Reads the manifest's totals, all checked: total_row_count,
** total_chunk_count, total_byte_count, the chunks list (kept to check each
** chunk against), column_count against the schema, and the format.
*/
static int stmt_manifest(DbxStmt *p, cJSON *pMan, DbxError *pErr) {
  const char *zFormat = json_str(pMan, "format");
  cJSON *pChunks;
  int64_t v;
  int rc;
  if (pMan == NULL || cJSON_IsNull(pMan)) return SQLITE_OK;
  if (!cJSON_IsObject(pMan)) return stmt_bad(p, pErr, -1, "not an object");
  if (zFormat && strcmp(zFormat, "JSON_ARRAY") != 0) {
    return stmt_bad(p, pErr, -1, "the format is not the JSON_ARRAY asked for");
  }
  rc = meta_int(p, p->pSchema, "column_count", INT32_MAX, -1, &v, pErr);
  if (rc == SQLITE_OK && v >= 0 && v != p->nCol) {
    return stmt_bad(p, pErr, -1, "column_count is %lld for %d columns",
                    (long long)v, p->nCol);
  }
  if (rc == SQLITE_OK)
    rc = meta_int(p, pMan, "total_row_count", STMT_MAX_COUNT, -1,
                  &p->nTotalRows, pErr);
  if (rc == SQLITE_OK)
    rc = meta_int(p, pMan, "total_chunk_count", INT32_MAX, -1, &p->nTotalChunks,
                  pErr);
  if (rc == SQLITE_OK)
    rc = meta_int(p, pMan, "total_byte_count", STMT_MAX_COUNT, -1, &v, pErr);
  if (rc) return rc;
  p->nManifestBytes = v > 0 ? v : 0;
  pChunks = cJSON_DetachItemFromObjectCaseSensitive(pMan, "chunks");
  if (pChunks && !cJSON_IsArray(pChunks) && !cJSON_IsNull(pChunks)) {
    cJSON_Delete(pChunks);
    return stmt_bad(p, pErr, -1, "chunks is not an array");
  }
  p->pManChunks = cJSON_IsArray(pChunks) ? pChunks : NULL;
  if (p->pManChunks == NULL) cJSON_Delete(pChunks);
  return SQLITE_OK;
}

/*
** Where the "result" object sits in p->raw, when p->raw is the text of the
** response with this statement's id: sets *piRaw and *pnRaw (left 0 otherwise,
** and the rows then come from the parsed tree).
*/
static void stmt_raw_result(DbxStmt *p, size_t *piRaw, size_t *pnRaw) {
  size_t i, n, nId = strlen(p->zId);
  if (p->raw.z == NULL ||
      !dbx_json_member(p->raw.z, p->raw.n, "statement_id", &i, &n) ||
      n != nId + 2 || memcmp(p->raw.z + i + 1, p->zId, nId) != 0) {
    return;
  }
  if (dbx_json_member(p->raw.z, p->raw.n, "result", &i, &n)) {
    *piRaw = i;
    *pnRaw = n;
  }
}

/* Reads the manifest and the first chunk of a SUCCEEDED response (consumed;
** its raw text, when kept, is in p->raw). */
static int stmt_start(DbxStmt *p, cJSON *pResp, DbxError *pErr) {
  cJSON *pMan = cJSON_GetObjectItemCaseSensitive(pResp, "manifest");
  cJSON *pResult;
  const cJSON *pCols;
  size_t iRaw = 0, nRaw = 0;
  int rc;
  if (cJSON_IsObject(pMan)) {
    p->pSchema = cJSON_DetachItemFromObjectCaseSensitive(pMan, "schema");
  }
  pCols = cJSON_GetObjectItemCaseSensitive(p->pSchema, "columns");
  p->nCol = cJSON_IsArray(pCols) ? cJSON_GetArraySize(pCols) : 0;
  rc = stmt_manifest(p, pMan, pErr);
  if (rc) {
    cJSON_Delete(pResp);
    return rc;
  }
  stmt_raw_result(p, &iRaw, &nRaw);
  pResult = cJSON_DetachItemFromObjectCaseSensitive(pResp, "result");
  cJSON_Delete(pResp);
  if (pResult == NULL || cJSON_IsNull(pResult)) {
    /* No first chunk in the response: ask for chunk 0 if there is one. */
    cJSON_Delete(pResult);
    dbx_buf_free(&p->raw);
    p->iNextChunk = p->nTotalChunks > 0 ? 0 : -1;
    return SQLITE_OK;
  }
  return stmt_set_chunk(p, pResult, 0, iRaw, nRaw, pErr);
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
  p->nTotalChunks = -1;
  p->iChunk = -1;
  p->iNextChunk = -1;
  p->iNextOffset = -1;
  p->tStart = now_ms(p);
  if (p->opt.rTimeoutSeconds > 0) {
    /* capped at a year: a larger double would not fit the cast */
    double r = p->opt.rTimeoutSeconds < 31536000.0 ? p->opt.rTimeoutSeconds
                                                   : 31536000.0;
    p->tDeadline = p->tStart + (int64_t)(r * 1000);
  }
  p->zSql = dbx_strdup(zSql ? zSql : "");
  p->zParams = params_text(aParam, nParam);
  if (p->zSql == NULL || p->zParams == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    p->opt.xLog = NULL; /* nothing ran: nothing to log */
    dbx_stmt_free(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

/* Checks that the options name a warehouse (the session fills them from
** the configuration). Returns SQLITE_OK, or an error code with p->err
** saying which setting to give, in the words of the client's configuration
** when it has one. */
static int stmt_need_warehouse(DbxStmt *p) {
  const DbxConfig *pConfig;
  int rc;
  if (p->opt.zWarehouseId && p->opt.zWarehouseId[0]) return SQLITE_OK;
  pConfig = dbx_client_config(p->pClient);
  rc = pConfig ? dbx_config_require(pConfig, "warehouse_id", &p->err) : 0;
  if (rc == SQLITE_OK) { /* none, or one of another call on this client */
    rc = dbx_error_set(&p->err, SQLITE_ERROR, "no SQL warehouse configured");
  }
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
  info.nMs = now_ms(p) - p->tStart;
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
  /* the raw text of the final response keeps what cJSON cannot hold */
  dbx_client_keep_body(p->pClient, &p->raw);
  rc = stmt_run(p, p->zSql, aParam, nParam, p->opt.eDisposition, &pResp,
                &bTooBig, &p->err);
  if (rc == SQLITE_TOOBIG && bTooBig && !p->opt.bIdempotent) {
    dbx_error_clear(&p->err);
    rc = dbx_error_set(&p->err, SQLITE_ERROR,
                       "the result is too large for an inline result and "
                       "the statement is not run twice; run it with the "
                       "option disposition=external_links");
  } else if (rc == SQLITE_TOOBIG && bTooBig) {
    /* INLINE was too large: log that attempt, re-run with EXTERNAL_LINKS. */
    stmt_log_too_big(p);
    dbx_error_clear(&p->err);
    p->tStart = now_ms(p);
    rc = stmt_run(p, p->zSql, aParam, nParam, DBX_DISP_EXTERNAL_LINKS, &pResp,
                  &bTooBig, &p->err);
  }
  dbx_client_keep_body(p->pClient, NULL);
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
    p->tEnd = now_ms(p);
    dbx_stmt_free(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

/* Records an error that ends the statement (sticky). */
static int stmt_end(DbxStmt *p, int rc, DbxError *pErr) {
  p->rcDone = rc;
  if (p->tEnd == 0) p->tEnd = now_ms(p);
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

/* Checks a row of nVal values just read from the current chunk against the
** schema and the row counts promised, before it is handed out. */
static int stmt_check_row(DbxStmt *p, int nVal) {
  if (nVal != p->nCol) {
    return stmt_bad(p, &p->err, p->iChunk,
                    "row %lld has %d values for %d columns",
                    (long long)p->iRow + 1, nVal, p->nCol);
  }
  if (p->nChunkWant >= 0 && p->nChunkRows >= p->nChunkWant) {
    return stmt_bad(p, &p->err, p->iChunk,
                    "it holds more rows than its row_count of %lld",
                    (long long)p->nChunkWant);
  }
  if (p->nTotalRows >= 0 && p->iRow >= p->nTotalRows) {
    return stmt_bad(p, &p->err, p->iChunk,
                    "the rows go past total_row_count %lld",
                    (long long)p->nTotalRows);
  }
  p->nChunkRows++;
  return SQLITE_OK;
}

/* Checks the counts once the current chunk is read to its end, and once the
** last chunk is (bLast): rows and chunks as many as promised. */
static int stmt_check_end(DbxStmt *p, int bLast) {
  if (p->bScan && p->nChunkWant >= 0 && p->nChunkRows != p->nChunkWant) {
    return stmt_bad(p, &p->err, p->iChunk,
                    "it holds %lld rows, its row_count says %lld",
                    (long long)p->nChunkRows, (long long)p->nChunkWant);
  }
  if (!bLast) return SQLITE_OK;
  if (p->nTotalChunks > 0 && p->iChunk + 1 < p->nTotalChunks) {
    return stmt_bad(p, &p->err, p->iChunk,
                    "the result ends there, but total_chunk_count is %lld",
                    (long long)p->nTotalChunks);
  }
  if (p->nTotalRows >= 0 && p->iRow != p->nTotalRows) {
    return stmt_bad(p, &p->err, p->iChunk < 0 ? 0 : p->iChunk,
                    "the result ends after %lld rows, but total_row_count "
                    "is %lld",
                    (long long)p->iRow, (long long)p->nTotalRows);
  }
  return SQLITE_OK;
}

int dbx_stmt_chunk(DbxStmt *p, DbxStmtChunk *pChunk, DbxError *pErr) {
  int rc;
  memset(pChunk, 0, sizeof(*pChunk));
  if (p->rcDone) {
    if (p->rcDone != SQLITE_DONE && pErr && pErr->rc == SQLITE_OK)
      *pErr = p->err;
    return p->rcDone;
  }
  if (!p->bFresh) {
    rc = stmt_check_end(p, p->iNextChunk < 0);
    if (rc) return stmt_end(p, rc, pErr);
    if (p->iNextChunk < 0) return stmt_end(p, SQLITE_DONE, pErr);
    dbx_client_set_interrupt(p->pClient, stmt_interrupt, p);
    rc = stmt_next_chunk(p, &p->err);
    dbx_client_set_interrupt(p->pClient, NULL, NULL);
    if (rc) return stmt_end(p, rc, pErr);
    stmt_progress(p, 0);
  }
  p->bFresh = 0;
  pChunk->z = p->body.z + p->iRows;
  pChunk->n = p->nRows;
  pChunk->zFormat = "JSON_ARRAY";
  pChunk->iChunk = p->iChunk;
  return SQLITE_ROW;
}

int dbx_stmt_row(DbxStmt *p, int nVal, DbxError *pErr) {
  int rc;
  if (p->rcDone) {
    if (p->rcDone != SQLITE_DONE && pErr && pErr->rc == SQLITE_OK)
      *pErr = p->err;
    return p->rcDone == SQLITE_DONE ? SQLITE_MISUSE : p->rcDone;
  }
  rc = stmt_check_row(p, nVal);
  if (rc) return stmt_end(p, rc, pErr);
  p->iRow++;
  return SQLITE_OK;
}

int dbx_stmt_fail(DbxStmt *p, const DbxError *pWhy, DbxError *pErr) {
  if (p->rcDone == SQLITE_OK) {
    p->err = *pWhy;
    if (p->err.rc == SQLITE_OK) p->err.rc = SQLITE_ERROR;
    stmt_end(p, p->err.rc, NULL);
  }
  if (p->rcDone != SQLITE_DONE && pErr && pErr->rc == SQLITE_OK) *pErr = p->err;
  return p->rcDone;
}

int dbx_stmt_column_count(const DbxStmt *p) {
  return p->nCol;
}

const cJSON *dbx_stmt_schema(const DbxStmt *p) {
  return p->pSchema;
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

const char *dbx_stmt_state(const DbxStmt *p) {
  return p->zState;
}
