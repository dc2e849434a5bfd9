/*
** util.c: the error object and the growable buffer every layer uses.
**
** Nothing here talks to the network or to SQLite beyond its allocator.
*/
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "dbx_int.h"

void dbx_error_clear(DbxError *pErr) {
  /* Cheap enough for a per-cell path: the strings only need terminating. */
  pErr->rc = SQLITE_OK;
  pErr->httpStatus = 0;
  pErr->bUncertain = 0;
  pErr->zCode[0] = pErr->zStatement[0] = pErr->zMsg[0] = 0;
}

/* Formats into pErr->zMsg and keeps it on one line. */
static void error_vformat(DbxError *pErr, const char *zFmt, va_list ap) {
  char *z;
  vsnprintf(pErr->zMsg, sizeof(pErr->zMsg), zFmt, ap);
  for (z = pErr->zMsg; *z; z++) {
    if (*z == '\n' || *z == '\r' || *z == '\t') *z = ' ';
  }
}

int dbx_error_set(DbxError *pErr, int rc, const char *zFmt, ...) {
  va_list ap;
  if (pErr == NULL || pErr->rc != SQLITE_OK) return rc;
  pErr->rc = rc;
  va_start(ap, zFmt);
  error_vformat(pErr, zFmt, ap);
  va_end(ap);
  return rc;
}

int dbx_error_set_api(DbxError *pErr, int rc, long httpStatus,
                      const char *zCode, const char *zFmt, ...) {
  va_list ap;
  if (pErr == NULL || pErr->rc != SQLITE_OK) return rc;
  pErr->rc = rc;
  pErr->httpStatus = httpStatus;
  snprintf(pErr->zCode, sizeof(pErr->zCode), "%s", zCode ? zCode : "");
  va_start(ap, zFmt);
  error_vformat(pErr, zFmt, ap);
  va_end(ap);
  return rc;
}

/* True when z is all digits: some APIs send the HTTP status as error_code,
** which the message already says better. */
static int is_number(const char *z) {
  if (*z == 0) return 0;
  while (*z >= '0' && *z <= '9') z++;
  return *z == 0;
}

char *dbx_error_text(const DbxError *pErr) {
  const char *zMsg = pErr->zMsg[0] ? pErr->zMsg : sqlite3_errstr(pErr->rc);
  if (is_number(pErr->zCode)) {
    DbxError e = *pErr;
    e.zCode[0] = 0;
    return dbx_error_text(&e);
  }
  if (pErr->zCode[0] && pErr->zStatement[0]) {
    return sqlite3_mprintf("databricks: %s (%s, statement %s)", zMsg,
                           pErr->zCode, pErr->zStatement);
  }
  if (pErr->zCode[0]) {
    return sqlite3_mprintf("databricks: %s (%s)", zMsg, pErr->zCode);
  }
  if (pErr->zStatement[0]) {
    return sqlite3_mprintf("databricks: %s (statement %s)", zMsg,
                           pErr->zStatement);
  }
  return sqlite3_mprintf("databricks: %s", zMsg);
}

/* Makes room for nMore bytes plus a NUL; sets the sticky rc on failure. */
static int buf_reserve(DbxBuf *p, size_t nMore) {
  size_t nNeed, nNew;
  char *zNew;
  if (p->rc != SQLITE_OK) return p->rc;
  nNeed = p->n + nMore + 1;
  if (nNeed <= p->nAlloc) return SQLITE_OK;
  nNew = p->nAlloc ? p->nAlloc : 64;
  while (nNew < nNeed)
    nNew *= 2;
  zNew = sqlite3_realloc64(p->z, nNew);
  if (zNew == NULL) return p->rc = SQLITE_NOMEM;
  p->z = zNew;
  p->nAlloc = nNew;
  return SQLITE_OK;
}

void dbx_buf_append(DbxBuf *p, const void *pData, size_t nData) {
  if (buf_reserve(p, nData) != SQLITE_OK) return;
  if (nData) memcpy(p->z + p->n, pData, nData);
  p->n += nData;
  p->z[p->n] = 0;
}

void dbx_buf_vappendf(DbxBuf *p, const char *zFmt, va_list ap) {
  va_list ap2;
  int n;
  va_copy(ap2, ap);
  n = vsnprintf(NULL, 0, zFmt, ap2);
  va_end(ap2);
  if (n < 0 || buf_reserve(p, (size_t)n) != SQLITE_OK) return;
  vsnprintf(p->z + p->n, (size_t)n + 1, zFmt, ap);
  p->n += (size_t)n;
}

void dbx_buf_appendf(DbxBuf *p, const char *zFmt, ...) {
  va_list ap;
  va_start(ap, zFmt);
  dbx_buf_vappendf(p, zFmt, ap);
  va_end(ap);
}

void dbx_buf_reset(DbxBuf *p) {
  p->n = 0;
  if (p->z) p->z[0] = 0;
}

void dbx_buf_free(DbxBuf *p) {
  sqlite3_free(p->z);
  memset(p, 0, sizeof(*p));
}

void dbx_buf_free_secret(DbxBuf *p) {
  if (p->z) OPENSSL_cleanse(p->z, p->nAlloc);
  dbx_buf_free(p);
}

char *dbx_buf_take(DbxBuf *p) {
  char *z = p->z;
  if (p->rc != SQLITE_OK) {
    dbx_buf_free(p);
    return NULL;
  }
  if (z == NULL) z = sqlite3_mprintf("");
  memset(p, 0, sizeof(*p));
  return z;
}

char *dbx_strdup(const char *z) {
  return z ? sqlite3_mprintf("%s", z) : NULL;
}

void dbx_free_secret(char *z) {
  if (z) OPENSSL_cleanse(z, strlen(z));
  sqlite3_free(z);
}

/* Wipes the strings of p and of everything below it. */
static void json_wipe(cJSON *p) {
  for (; p; p = p->next) {
    if (p->valuestring) OPENSSL_cleanse(p->valuestring, strlen(p->valuestring));
    json_wipe(p->child);
  }
}

void dbx_json_free_secret(cJSON *pJson) {
  if (pJson == NULL) return;
  json_wipe(pJson->child);
  if (pJson->valuestring) {
    OPENSSL_cleanse(pJson->valuestring, strlen(pJson->valuestring));
  }
  cJSON_Delete(pJson);
}
