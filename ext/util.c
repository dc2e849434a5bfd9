/*
** util.c: the error object and the growable buffer every layer uses, and
** the scrubbing that keeps credentials out of error text: the credential
** forms the extension sends or receives, presigned-URL signatures, and the
** secrets the process holds (dbx_secret_add). Also the escapers more than
** one layer needs: JSON string literals (dbx_config(), dbx_statements,
** result rows as JSON) and percent-encoding (Unity Catalog paths, OAuth
** token request bodies); and the two readers of JSON a server sent that
** the API clients and the result reader share: a member's bytes found
** without decoding them, and an integer checked before it is converted.
**
** Nothing here talks to the network or to SQLite beyond its allocator.
*/
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dbx_int.h"

void dbx_error_clear(DbxError *pErr) {
  /* Cheap enough for a per-cell path: the strings only need terminating. */
  pErr->rc = SQLITE_OK;
  pErr->httpStatus = 0;
  pErr->bUncertain = 0;
  pErr->zCode[0] = pErr->zStatement[0] = pErr->zMsg[0] = 0;
}

/* ---------------------------------------------------------------------
** Scrubbing: credentials out of error text.
**
** A server may echo what it was sent (a header dump, a token response, a
** presigned URL) and any of that can end up in a message. Each matcher
** below looks at z (the rest of the text) and cPrev (the last character
** written, after earlier replacements) and returns how many bytes it
** claims, 0 for none; the first *pnKeep of them are kept as they are
** (a label such as "Authorization: "), the rest become "***". Matchers
** run on the whole text before it is cut to fit, and each one also
** matches a credential cut short at the end of the text, so a cut made
** earlier (a body shortened to a snippet) cannot leave most of a secret.
*/

/* A known secret cut to at least this many leading bytes is still one. */
#define SCRUB_MIN_PREFIX 8
/* Known secrets shorter than this are not looked for (too many false
** matches, and nothing of value to hide). */
#define SCRUB_MIN_SECRET 4

static int is_alnum(int c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

/* base64url, also the alphabet of a JWT segment. */
static int is_b64url(int c) {
  return is_alnum(c) || c == '-' || c == '_';
}

/* A byte that can belong to a credential: printable, not a separator of
** headers, JSON, form fields, URLs or markup. */
static int is_cred(int c) {
  return c > 0x20 && c < 0x7f && strchr("\"'`,;(){}[]<>\\&#?", c) == NULL;
}

/* True when z[0..n) can be an auth scheme name ("Bearer", "AWS4-HMAC"). */
static int is_scheme(const char *z, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (!is_alnum((unsigned char)z[i]) && z[i] != '-') return 0;
  }
  return n > 0;
}

/* Length of zWord when z starts with it (ASCII case-insensitive), else 0. */
static size_t starts_ci(const char *z, const char *zWord) {
  size_t i;
  for (i = 0; zWord[i]; i++) {
    int a = (unsigned char)z[i], b = (unsigned char)zWord[i];
    if (a >= 'A' && a <= 'Z') a += 32;
    if (b >= 'A' && b <= 'Z') b += 32;
    if (a != b) return 0;
  }
  return i;
}

/* A byte of a token as credentials are written: base64, base64url, hex,
** JWT dots, and the rest of RFC 6750's token68. */
static int is_token68(int c) {
  return is_alnum(c) || (c && strchr("-._~+/=", c) != NULL);
}

/*
** A known secret, whole or cut to at least SCRUB_MIN_PREFIX bytes, with the
** token it begins: two JWTs share their first bytes, so where a secret and
** the text part ways the text may still be another credential.
*/
static size_t match_known(const char *z, const char *const *azSecret,
                          int nSecret) {
  int k;
  size_t nBest = 0;
  for (k = 0; k < nSecret; k++) {
    const char *zS = azSecret[k];
    size_t i;
    if (zS == NULL || zS[0] != z[0]) continue;
    for (i = 0; zS[i] && z[i] == zS[i]; i++) {
    }
    if (zS[i] ? i < SCRUB_MIN_PREFIX : i < SCRUB_MIN_SECRET) continue;
    if (i > nBest) nBest = i;
  }
  if (nBest > 0) {
    while (is_token68((unsigned char)z[nBest]))
      nBest++;
  }
  return nBest;
}

/* A PEM private key block, through its END line or the end of the text. */
static size_t match_pem_key(const char *z) {
  const char *zLabelEnd, *zEnd;
  if (strncmp(z, "-----BEGIN ", 11) != 0) return 0;
  zLabelEnd = strstr(z + 11, "-----");
  if (zLabelEnd != NULL) {
    /* only keys: a certificate is public; a label cut short may be a key */
    size_t nLabel = (size_t)(zLabelEnd - z);
    char zLabel[64];
    if (nLabel >= sizeof(zLabel)) nLabel = sizeof(zLabel) - 1;
    memcpy(zLabel, z, nLabel);
    zLabel[nLabel] = 0;
    if (strstr(zLabel, "PRIVATE") == NULL) return 0;
  }
  zEnd = strstr(z, "-----END ");
  if (zEnd == NULL) return strlen(z);
  zEnd = strstr(zEnd + 9, "-----");
  return zEnd ? (size_t)(zEnd + 5 - z) : strlen(z);
}

/* Skips spaces from z[i]; returns the new index. */
static size_t skip_spaces(const char *z, size_t i) {
  while (z[i] == ' ')
    i++;
  return i;
}

/*
** zName followed by a separator, as a header ("Name: v"), a JSON member
** ("name": "v") or a form field (name=v): the value is claimed, the label
** kept. bTwo also claims a second word ("Bearer <token>": any scheme).
*/
static size_t match_labelled(const char *z, const char *zName, int bTwo,
                             size_t *pnKeep) {
  size_t i = starts_ci(z, zName), nVal;
  if (i == 0) return 0;
  if (z[i] == '\\' && z[i + 1] == '"') i++; /* JSON inside a JSON string */
  if (z[i] == '"' || z[i] == '\'') i++;
  i = skip_spaces(z, i);
  if (z[i] != ':' && z[i] != '=') return 0;
  i = skip_spaces(z, i + 1);
  if (z[i] == '\\' && z[i + 1] == '"') i++;
  if (z[i] == '"' || z[i] == '\'') i++;
  *pnKeep = i;
  for (nVal = 0; is_cred((unsigned char)z[i + nVal]); nVal++) {
  }
  if (nVal == 0) return 0;
  i += nVal;
  if (bTwo && z[i] == ' ' && is_scheme(z + i - nVal, nVal)) {
    size_t j = skip_spaces(z, i), n2;
    for (n2 = 0; is_cred((unsigned char)z[j + n2]); n2++) {
    }
    if (n2 > 0) i = j + n2;
  }
  return i;
}

/* Headers of external links that carry a customer-provided encryption
** key (S3 SSE-C, Azure, GCS): the key is as secret as a token. */
static const char *const azKeyHeader[] = {
    "x-amz-server-side-encryption-customer-key",
    "x-ms-encryption-key",
    "x-goog-encryption-key",
};

/* Names whose value is a credential wherever they appear. */
static const char *const azSecretKey[] = {
    "access_token",  "refresh_token",    "id_token", "client_secret",
    "subject_token", "client_assertion", "password",
};

/* Query parameters of presigned URLs (S3, Azure SAS, GCS, CloudFront)
** that sign or authorise the request. */
static const char *const azSignedParam[] = {
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "X-Goog-Signature",
    "X-Goog-Credential",
    "Signature",
    "sig",
    "se",
};

/* A presigned URL parameter after '?', '&' or "&amp;": the value goes. */
static size_t match_signed_param(const char *z, char cPrev, size_t *pnKeep) {
  size_t k, i, n;
  if (cPrev != '?' && cPrev != '&' && cPrev != ';') return 0;
  for (k = 0; k < DBX_ARRAY_SIZE(azSignedParam); k++) {
    i = starts_ci(z, azSignedParam[k]);
    if (i == 0 || z[i] != '=') continue;
    i++;
    n = strcspn(z + i, "&#\"' <>\\");
    if (n == 0) return 0;
    *pnKeep = i;
    return i + n;
  }
  return 0;
}

/*
** A credential after an auth scheme word ("Bearer <token>", "Basic
** <base64>"). The word alone is common prose, so the credential must look
** like one: 8 or more bytes with a digit or a symbol of base64 or a token.
*/
static size_t match_scheme(const char *z, size_t *pnKeep) {
  static const char *const azScheme[] = {"Bearer", "Basic"};
  size_t k, i, n, j;
  for (k = 0; k < DBX_ARRAY_SIZE(azScheme); k++) {
    int bLooks = 0;
    i = starts_ci(z, azScheme[k]);
    if (i == 0 || z[i] != ' ') continue;
    i = skip_spaces(z, i);
    for (n = 0; is_cred((unsigned char)z[i + n]); n++) {
    }
    for (j = 0; j < n; j++) {
      int c = (unsigned char)z[i + j];
      if ((c >= '0' && c <= '9') || strchr("+/=_-.~", c)) bLooks = 1;
    }
    if (n < 8 || (!bLooks && n < 20)) return 0;
    *pnKeep = i;
    return i + n;
  }
  return 0;
}

/* Something that is a JWT or its start: base64url JSON ("eyJ") segments. */
static size_t match_jwt(const char *z) {
  size_t n;
  if (strncmp(z, "eyJ", 3) != 0) return 0;
  for (n = 3; is_b64url((unsigned char)z[n]) || z[n] == '.'; n++) {
  }
  return n >= 10 ? n : 0;
}

/* The first matcher that claims z; see the section comment. */
static size_t scrub_match(const char *z, char cPrev,
                          const char *const *azSecret, int nSecret,
                          size_t *pnKeep) {
  int bWordStart = !is_alnum((unsigned char)cPrev) && cPrev != '_';
  size_t n, k;
  *pnKeep = 0;
  if ((n = match_known(z, azSecret, nSecret)) > 0) return n;
  if ((n = match_pem_key(z)) > 0) return n;
  if ((n = match_labelled(z, "authorization", 1, pnKeep)) > 0) return n;
  for (k = 0; k < DBX_ARRAY_SIZE(azKeyHeader); k++) {
    if ((n = match_labelled(z, azKeyHeader[k], 0, pnKeep)) > 0) return n;
  }
  if ((n = match_signed_param(z, cPrev, pnKeep)) > 0) return n;
  if (!bWordStart) return 0;
  for (k = 0; k < DBX_ARRAY_SIZE(azSecretKey); k++) {
    if ((n = match_labelled(z, azSecretKey[k], 0, pnKeep)) > 0) return n;
  }
  if ((n = match_scheme(z, pnKeep)) > 0) return n;
  if (!is_b64url((unsigned char)cPrev) && cPrev != '.') return match_jwt(z);
  return 0;
}

void dbx_scrub_text(char *z, const char *const *azSecret, int nSecret) {
  size_t i = 0, j = 0;
  if (z == NULL) return;
  while (z[i]) {
    size_t nKeep,
        n = scrub_match(z + i, j ? z[j - 1] : 0, azSecret, nSecret, &nKeep);
    if (n == 0) {
      z[j++] = z[i++];
      continue;
    }
    /* j <= i throughout: a replacement is never longer than its match */
    memmove(z + j, z + i, nKeep);
    j += nKeep;
    n -= nKeep;
    i += nKeep;
    memset(z + j, '*', n < 3 ? n : 3);
    j += n < 3 ? n : 3;
    i += n;
  }
  z[j] = 0;
}

void dbx_error_scrub(DbxError *pErr, const char *const *azSecret, int nSecret) {
  if (pErr == NULL) return;
  dbx_scrub_text(pErr->zMsg, azSecret, nSecret);
  dbx_scrub_text(pErr->zCode, azSecret, nSecret);
}

/*
** The secrets in use in this process (borrowed pointers), scrubbed from
** every message dbx_error_set* and dbx_error_text write. A registration
** ends when its memory is wiped by dbx_free_secret or dbx_buf_free_secret,
** so the list never points at freed memory.
*/
static pthread_mutex_t liveMutex = PTHREAD_MUTEX_INITIALIZER;
static const char **azLive; /* sqlite3_malloc'ed array of borrowed strings */
static int nLive;           /* entries used */
static int nLiveAlloc;      /* entries allocated */

void dbx_secret_add(const char *z) {
  if (z == NULL || strlen(z) < SCRUB_MIN_SECRET) return;
  pthread_mutex_lock(&liveMutex);
  if (nLive == nLiveAlloc) {
    int nNew = nLiveAlloc ? nLiveAlloc * 2 : 16;
    const char **aNew = sqlite3_realloc64(azLive, nNew * sizeof(*aNew));
    if (aNew) { /* out of memory: the patterns still apply */
      azLive = aNew;
      nLiveAlloc = nNew;
    }
  }
  if (nLive < nLiveAlloc) azLive[nLive++] = z;
  pthread_mutex_unlock(&liveMutex);
}

/* Ends the registrations of secrets stored in p[0..n). */
static void secret_forget(const char *p, size_t n) {
  int i;
  pthread_mutex_lock(&liveMutex);
  for (i = 0; i < nLive; i++) {
    uintptr_t u = (uintptr_t)azLive[i], uStart = (uintptr_t)p;
    if (u >= uStart && u - uStart < n) azLive[i--] = azLive[--nLive];
  }
  if (nLive == 0) {
    sqlite3_free(azLive);
    azLive = NULL;
    nLiveAlloc = 0;
  }
  pthread_mutex_unlock(&liveMutex);
}

/* dbx_scrub_text with the secrets in use. */
static void scrub_live(char *z) {
  pthread_mutex_lock(&liveMutex);
  dbx_scrub_text(z, azLive, nLive);
  pthread_mutex_unlock(&liveMutex);
}

/* Makes z one line: newlines and tabs become spaces. */
static void one_line(char *z) {
  for (; *z; z++) {
    if (*z == '\n' || *z == '\r' || *z == '\t') *z = ' ';
  }
}

/* Copies z into zOut[0..nOut), cut at a UTF-8 character boundary. */
static void copy_cut(char *zOut, size_t nOut, const char *z) {
  size_t n = strlen(z);
  if (n >= nOut) {
    n = nOut - 1;
    while (n > 0 && ((unsigned char)z[n] & 0xc0) == 0x80)
      n--;
  }
  memcpy(zOut, z, n);
  zOut[n] = 0;
}

/*
** Formats into pErr->zMsg: the whole text first, made one line and
** scrubbed, then cut to fit. Out of memory, the text is cut first and
** scrubbed after, which still catches a credential cut short.
*/
static void error_vformat(DbxError *pErr, const char *zFmt, va_list ap) {
  DbxBuf full = {0};
  va_list ap2;
  va_copy(ap2, ap);
  dbx_buf_vappendf(&full, zFmt, ap);
  if (full.rc == SQLITE_OK) {
    char *z = full.z ? full.z : "";
    one_line(z);
    scrub_live(z);
    copy_cut(pErr->zMsg, sizeof(pErr->zMsg), z);
  } else {
    vsnprintf(pErr->zMsg, sizeof(pErr->zMsg), zFmt, ap2);
    one_line(pErr->zMsg);
    scrub_live(pErr->zMsg);
  }
  va_end(ap2);
  dbx_buf_free_secret(&full); /* held the text before scrubbing */
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
  scrub_live(pErr->zCode); /* the server chose it */
  va_start(ap, zFmt);
  error_vformat(pErr, zFmt, ap);
  va_end(ap);
  return rc;
}

/* True when z is all digits: some APIs send the HTTP status as error_code,
** which the message already says better. */
static int is_number(const char *z) {
  if (*z == 0) return 0;
  while (*z >= '0' && *z <= '9')
    z++;
  return *z == 0;
}

/* The text of dbx_error_text(), before the last scrub. */
static char *error_text(const DbxError *pErr) {
  const char *zMsg = pErr->zMsg[0] ? pErr->zMsg : sqlite3_errstr(pErr->rc);
  if (is_number(pErr->zCode)) {
    DbxError e = *pErr;
    e.zCode[0] = 0;
    return error_text(&e);
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

char *dbx_error_text(const DbxError *pErr) {
  /* again: callers may have written the fields without dbx_error_set */
  char *z = error_text(pErr);
  if (z) scrub_live(z);
  return z;
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
  if (p->z) secret_forget(p->z, p->nAlloc);
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

/* ---------------------------------------------------------------------
** Escapers shared by the layers: JSON strings and percent-encoding.
*/

void dbx_buf_append_name(DbxBuf *p, const char *z) {
  dbx_buf_append(p, "\"", 1);
  for (;;) {
    const char *zQuote = strchr(z, '"');
    size_t n = zQuote ? (size_t)(zQuote - z) + 1 : strlen(z);
    dbx_buf_append(p, z, n);
    if (zQuote == NULL) break;
    dbx_buf_append(p, "\"", 1); /* the quote again */
    z = zQuote + 1;
  }
  dbx_buf_append(p, "\"", 1);
}

void dbx_buf_append_json(DbxBuf *p, const char *z, size_t n) {
  size_t i, iStart = 0;
  dbx_buf_append(p, "\"", 1);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)z[i];
    const char *zEsc = NULL;
    char zU[8];
    if (c == '"')
      zEsc = "\\\"";
    else if (c == '\\')
      zEsc = "\\\\";
    else if (c == '\n')
      zEsc = "\\n";
    else if (c == '\r')
      zEsc = "\\r";
    else if (c == '\t')
      zEsc = "\\t";
    else if (c < 0x20) {
      snprintf(zU, sizeof(zU), "\\u%04x", c);
      zEsc = zU;
    }
    if (zEsc) {
      dbx_buf_append(p, z + iStart, i - iStart);
      dbx_buf_append(p, zEsc, strlen(zEsc));
      iStart = i + 1;
    }
  }
  dbx_buf_append(p, z + iStart, n - iStart);
  dbx_buf_append(p, "\"", 1);
}

void dbx_buf_append_url(DbxBuf *p, const char *z, int bForm) {
  static const char zHex[] = "0123456789ABCDEF";
  for (; *z; z++) {
    unsigned char c = (unsigned char)*z;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~' ||
        (bForm && c == '.')) {
      dbx_buf_append(p, z, 1);
    } else if (bForm == 1 && c == ' ') {
      dbx_buf_append(p, "+", 1);
    } else {
      char zEsc[3] = {'%', zHex[c >> 4], zHex[c & 15]};
      dbx_buf_append(p, zEsc, 3);
    }
  }
}

int dbx_token_set_add(DbxTokenSet *p, const char *zToken) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
  const char *z;
  int i;
  for (z = zToken; *z; z++) {
    h ^= (unsigned char)*z;
    h *= 0x100000001b3ULL;
  }
  for (i = 0; i < p->n; i++) {
    if (p->aHash[i] == h) return SQLITE_CONSTRAINT;
  }
  if (p->n == p->nAlloc) {
    int nNew = p->nAlloc ? 2 * p->nAlloc : 16;
    uint64_t *aNew =
        sqlite3_realloc64(p->aHash, sizeof(uint64_t) * (sqlite3_uint64)nNew);
    if (aNew == NULL) return SQLITE_NOMEM;
    p->aHash = aNew;
    p->nAlloc = nNew;
  }
  p->aHash[p->n++] = h;
  return SQLITE_OK;
}

void dbx_token_set_free(DbxTokenSet *p) {
  sqlite3_free(p->aHash);
  memset(p, 0, sizeof(*p));
}

int64_t dbx_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *dbx_strdup(const char *z) {
  return z ? sqlite3_mprintf("%s", z) : NULL;
}

void dbx_free_secret(char *z) {
  if (z) secret_forget(z, strlen(z) + 1);
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

int dbx_threads_ok(void) {
  return sqlite3_threadsafe() != 0;
}

/* See dbx_int.h. */
DbxDigest *dbx_digest_new(void) {
  EVP_MD_CTX *pCtx = EVP_MD_CTX_new();
  if (pCtx && EVP_DigestInit_ex(pCtx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(pCtx);
    pCtx = NULL;
  }
  return (DbxDigest *)pCtx;
}

void dbx_digest_update(DbxDigest *p, const void *pData, size_t n) {
  if (p && n) EVP_DigestUpdate((EVP_MD_CTX *)p, pData, n);
}

void dbx_digest_final(DbxDigest *p, char *zOut) {
  unsigned char aMd[EVP_MAX_MD_SIZE];
  unsigned int nMd = 0;
  int i;
  zOut[0] = 0;
  if (p == NULL) return;
  if (EVP_DigestFinal_ex((EVP_MD_CTX *)p, aMd, &nMd) == 1) {
    for (i = 0; i < 16 && i < (int)nMd; i++)
      sprintf(zOut + 2 * i, "%02x", aMd[i]);
  }
  EVP_MD_CTX_free((EVP_MD_CTX *)p);
  OPENSSL_cleanse(aMd, sizeof(aMd));
}

void dbx_digest_hex(const char *const *az, int n, char *zOut) {
  DbxDigest *p = dbx_digest_new();
  int i;
  for (i = 0; p && i < n; i++) {
    const char *z = az[i] ? az[i] : "";
    dbx_digest_update(p, z, strlen(z) + 1);
  }
  dbx_digest_final(p, zOut);
}

/* ---------------------------------------------------------------------
** JSON a server sent: integers and members read without trusting it
*/

/* See dbx_int.h. The double is range-checked before any conversion: a
** cast of an out-of-range double to an integer is undefined behaviour. */
int dbx_json_int(const cJSON *pItem, int64_t iMin, int64_t iMax,
                 int64_t *piOut) {
  int64_t v;
  if (pItem == NULL || cJSON_IsNull(pItem)) return SQLITE_NOTFOUND;
  if (cJSON_IsNumber(pItem)) {
    double r = pItem->valuedouble;
    /* -2^63 <= r < 2^63, exactly representable bounds */
    if (!isfinite(r) || r != floor(r) || r < -9223372036854775808.0 ||
        r >= 9223372036854775808.0) {
      return SQLITE_RANGE;
    }
    v = (int64_t)r;
  } else if (cJSON_IsString(pItem)) {
    /* Lenient: a numeric string, but all of it. */
    const char *z = pItem->valuestring;
    char *zEnd = NULL;
    long long ll;
    if (!(z[0] == '-' || (z[0] >= '0' && z[0] <= '9'))) return SQLITE_RANGE;
    errno = 0;
    ll = strtoll(z, &zEnd, 10);
    if (errno != 0 || zEnd == z || *zEnd != 0) return SQLITE_RANGE;
    v = (int64_t)ll;
  } else {
    return SQLITE_RANGE;
  }
  if (v < iMin || v > iMax) return SQLITE_RANGE;
  *piOut = v;
  return SQLITE_OK;
}

/* Skips JSON white space from z[i]; returns the index of the next byte. */
static size_t skip_space(const char *z, size_t n, size_t i) {
  while (i < n && (z[i] == ' ' || z[i] == '\n' || z[i] == '\r' || z[i] == '\t'))
    i++;
  return i;
}

/* Returns the index just after the string whose opening quote is z[i], or 0
** when it does not end within n bytes. */
static size_t skip_string(const char *z, size_t n, size_t i) {
  for (i++; i < n; i++) {
    if (z[i] == '\\') {
      i++;
    } else if (z[i] == '"') {
      return i + 1;
    }
  }
  return 0;
}

/* Returns the index just after the JSON value starting at z[i], or 0 when
** it is malformed or runs past n. Containers are matched by bracket depth,
** strings by their quotes; the inside of scalars is not checked. */
static size_t skip_value(const char *z, size_t n, size_t i) {
  size_t depth = 0;
  if (i >= n) return 0;
  if (z[i] == '"') return skip_string(z, n, i);
  if (z[i] != '[' && z[i] != '{') {
    size_t s = i;
    while (i < n && z[i] != ',' && z[i] != ']' && z[i] != '}' && z[i] != ' ' &&
           z[i] != '\n' && z[i] != '\r' && z[i] != '\t' && z[i] != '"' &&
           z[i] != ':')
      i++;
    return i > s ? i : 0;
  }
  for (; i < n; i++) {
    char c = z[i];
    if (c == '"') {
      i = skip_string(z, n, i);
      if (i == 0) return 0;
      i--; /* the loop steps over the closing quote */
    } else if (c == '[' || c == '{') {
      depth++;
    } else if (c == ']' || c == '}') {
      if (--depth == 0) return i + 1;
    }
  }
  return 0;
}

/* See dbx_int.h. */
int dbx_json_member(const char *z, size_t n, const char *zKey, size_t *piStart,
                    size_t *pnLen) {
  size_t nKey = strlen(zKey), i = skip_space(z, n, 0);
  if (i >= n || z[i] != '{') return 0;
  i = skip_space(z, n, i + 1);
  if (i < n && z[i] == '}') return 0;
  while (i < n && z[i] == '"') {
    size_t k = i + 1, e = skip_string(z, n, i), v;
    if (e == 0) return 0;
    i = skip_space(z, n, e);
    if (i >= n || z[i] != ':') return 0;
    v = skip_space(z, n, i + 1);
    i = skip_value(z, n, v);
    if (i == 0) return 0;
    /* the raw key text: an escaped spelling of zKey does not match */
    if (e - 1 - k == nKey && memcmp(z + k, zKey, nKey) == 0) {
      *piStart = v;
      *pnLen = i - v;
      return 1;
    }
    i = skip_space(z, n, i);
    if (i >= n || z[i] != ',') return 0;
    i = skip_space(z, n, i + 1);
  }
  return 0;
}

/* ---------------------------------------------------------------------
** JSON validation
*/

/* The scanner of dbx_json_valid: z[0..n), at *pi. */
typedef struct JsonScan {
  const unsigned char *z;
  size_t n, i;
  int nDepth;
} JsonScan;

/* (The scanners below work on copies of s->i: a store through the byte
** pointer z could otherwise be s->i, for all the compiler knows.) */
static void json_ws(JsonScan *s) {
  const unsigned char *z = s->z;
  size_t i = s->i;
  while (i < s->n &&
         (z[i] == ' ' || z[i] == '\t' || z[i] == '\n' || z[i] == '\r')) {
    i++;
  }
  s->i = i;
}

static int json_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

/* A string at s->i (which holds '"'). UTF-8 is the caller's check. */
static int json_string(JsonScan *s) {
  const unsigned char *z = s->z;
  size_t i = s->i + 1, n = s->n;
  while (i < n) {
    unsigned char c = z[i++];
    if (c == '"') {
      s->i = i;
      return 1;
    }
    if (c < 0x20) return 0;
    if (c == '\\') {
      if (i >= n) return 0;
      c = z[i++];
      if (c == 'u') {
        int k;
        for (k = 0; k < 4; k++) {
          if (i >= n || !json_hex(z[i])) return 0;
          i++;
        }
      } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
        return 0;
      }
    }
  }
  return 0;
}

static int json_digits(JsonScan *s) {
  const unsigned char *z = s->z;
  size_t i = s->i;
  while (i < s->n && z[i] >= '0' && z[i] <= '9')
    i++;
  if (i == s->i) return 0;
  s->i = i;
  return 1;
}

/* A number as RFC 8259 writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 */
static int json_number(JsonScan *s) {
  if (s->z[s->i] == '-') s->i++;
  if (s->i < s->n && s->z[s->i] == '0') {
    s->i++;
  } else if (!json_digits(s)) {
    return 0;
  }
  if (s->i < s->n && s->z[s->i] == '.') {
    s->i++;
    if (!json_digits(s)) return 0;
  }
  if (s->i < s->n && (s->z[s->i] == 'e' || s->z[s->i] == 'E')) {
    s->i++;
    if (s->i < s->n && (s->z[s->i] == '+' || s->z[s->i] == '-')) s->i++;
    if (!json_digits(s)) return 0;
  }
  return 1;
}

static int json_word(JsonScan *s, const char *zWord, size_t n) {
  if (s->n - s->i < n || memcmp(s->z + s->i, zWord, n) != 0) return 0;
  s->i += n;
  return 1;
}

/* One value at s->i; objects and arrays recurse up to a fixed depth. */
static int json_value(JsonScan *s) {
  json_ws(s);
  if (s->i >= s->n) return 0;
  switch (s->z[s->i]) {
  case '"':
    return json_string(s);
  case 't':
    return json_word(s, "true", 4);
  case 'f':
    return json_word(s, "false", 5);
  case 'n':
    return json_word(s, "null", 4);
  case '[':
  case '{': {
    unsigned char close = s->z[s->i] == '[' ? ']' : '}';
    if (++s->nDepth > 1000) return 0;
    s->i++;
    json_ws(s);
    if (s->i < s->n && s->z[s->i] == close) {
      s->i++;
      s->nDepth--;
      return 1;
    }
    for (;;) {
      if (close == '}') {
        json_ws(s);
        if (s->i >= s->n || s->z[s->i] != '"' || !json_string(s)) return 0;
        json_ws(s);
        if (s->i >= s->n || s->z[s->i] != ':') return 0;
        s->i++;
      }
      if (!json_value(s)) return 0;
      json_ws(s);
      if (s->i >= s->n) return 0;
      if (s->z[s->i] == ',') {
        s->i++;
        continue;
      }
      if (s->z[s->i] != close) return 0;
      s->i++;
      s->nDepth--;
      return 1;
    }
  }
  default:
    return json_number(s);
  }
}

int dbx_json_valid(const char *z, size_t n) {
  JsonScan s;
  s.z = (const unsigned char *)z;
  s.n = n;
  s.i = 0;
  s.nDepth = 0;
  if (!json_value(&s)) return 0;
  json_ws(&s);
  return s.i == n;
}

/* ---------------------------------------------------------------------
** Temporary files
*/

const char *dbx_temp_dir(void) {
  static const char *azEnv[] = {"SQLITE_TMPDIR", "TMPDIR"};
  const char *z;
  size_t i;
  for (i = 0; i < DBX_ARRAY_SIZE(azEnv); i++) {
    z = getenv(azEnv[i]);
    if (z && z[0]) return z;
  }
  return "/tmp";
}

/* ---------------------------------------------------------------------
** Progress
*/

void dbx_progress_show(const DbxProgress *p, const char *zPhase, int64_t nRow,
                       int64_t nByte, int bDone) {
  char zMb[32] = "";
  double rSec;
  if (!p->bOn) return;
  rSec = (double)(dbx_now_ms() - p->t0) / 1000.0;
  if (nByte >= 0) snprintf(zMb, sizeof(zMb), " %.1f MB,", (double)nByte / 1e6);
  fprintf(stderr, "\r%s: %-8s %lld rows,%s %.0f rows/s, %.1f s\033[K%s",
          p->zWho, zPhase, (long long)nRow, zMb,
          rSec > 0 ? (double)nRow / rSec : 0.0, rSec, bDone ? "\n" : "");
  fflush(stderr);
}
