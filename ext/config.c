/*
** config.c: settings and where they come from (unified client auth).
**
** A DbxConfig is a table of known keys, each with a value and its source.
** dbx_config_set() fills it from options and dbx_config() defaults;
** dbx_config_resolve() then adds the DATABRICKS_* environment, reads a
** profile of ~/.databrickscfg (or DATABRICKS_CONFIG_FILE) unless the
** SDKs' file-not-read rule applies, dereferences env:NAME / file:PATH
** secret references, normalises host and warehouse, picks the auth type and
** rejects a mix of authorization methods.
**
** Secrets (token, client_secret) are wiped when replaced or freed, shown as
** "***" by dbx_config_json() and never quoted in an error.
*/
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"

#define CFG_SECRET 0x01 /* never literal from options; "***" in JSON */
#define CFG_INT    0x02 /* a positive integer */
#define CFG_NOENV  0x04 /* no environment variable */

/* One known setting. */
typedef struct ConfigKey {
  const char *zName;  /* config-file key */
  const char *zEnv;   /* environment variable, or NULL */
  const char *zGroup; /* auth group for the conflict check, or NULL */
  unsigned flags;     /* CFG_* */
} ConfigKey;

static const ConfigKey aKey[] = {
    {"host", "DATABRICKS_HOST", NULL, 0},
    {"token", "DATABRICKS_TOKEN", "pat", CFG_SECRET},
    {"client_id", "DATABRICKS_CLIENT_ID", "oauth", 0},
    {"client_secret", "DATABRICKS_CLIENT_SECRET", "oauth", CFG_SECRET},
    {"auth_type", "DATABRICKS_AUTH_TYPE", NULL, 0},
    {"warehouse_id", "DATABRICKS_WAREHOUSE_ID", NULL, 0},
    {"catalog", NULL, NULL, CFG_NOENV},
    {"schema", NULL, NULL, CFG_NOENV},
    {"profile", "DATABRICKS_CONFIG_PROFILE", NULL, 0},
    {"config_file", "DATABRICKS_CONFIG_FILE", NULL, 0},
    {"account_id", "DATABRICKS_ACCOUNT_ID", NULL, 0},
    {"workspace_id", "DATABRICKS_WORKSPACE_ID", NULL, 0},
    {"scopes", "DATABRICKS_SCOPES", NULL, 0},
    {"oidc_token_env", "DATABRICKS_OIDC_TOKEN_ENV", "env-oidc", 0},
    {"oidc_token_filepath", "DATABRICKS_OIDC_TOKEN_FILEPATH", "file-oidc", 0},
    {"oidc_private_key_file", "DATABRICKS_OIDC_PRIVATE_KEY_FILE",
     "oidc-self-signed", 0},
    {"oidc_issuer", "DATABRICKS_OIDC_ISSUER", NULL, 0},
    {"oidc_subject", "DATABRICKS_OIDC_SUBJECT", NULL, 0},
    {"oidc_audience", "DATABRICKS_OIDC_AUDIENCE", NULL, 0},
    {"oidc_key_id", "DATABRICKS_OIDC_KEY_ID", NULL, 0},
    {"oidc_token_lifetime_seconds", "DATABRICKS_OIDC_TOKEN_LIFETIME_SECONDS",
     NULL, CFG_INT},
    {"http_timeout_seconds", "DATABRICKS_HTTP_TIMEOUT_SECONDS", NULL, CFG_INT},
    {"connect_timeout_seconds", "DATABRICKS_CONNECT_TIMEOUT_SECONDS", NULL,
     CFG_INT},
    {"retry_timeout_seconds", "DATABRICKS_RETRY_TIMEOUT_SECONDS", NULL,
     CFG_INT},
    {"ca_bundle", "DATABRICKS_CA_BUNDLE", NULL, 0},
};
#define N_KEY ((int)DBX_ARRAY_SIZE(aKey))

/* The auth types this client implements, in the order they are tried. */
static const char *const azAuthType[] = {
    "pat", "oauth-m2m", "env-oidc", "file-oidc", "oidc-self-signed",
};

typedef struct ConfigVal {
  char *z;        /* value from sqlite3_malloc, or NULL when unset */
  DbxSource eSrc; /* where it came from */
} ConfigVal;

struct DbxConfig {
  ConfigVal a[DBX_ARRAY_SIZE(aKey)]; /* one per aKey entry */
  int bResolved;                     /* dbx_config_resolve succeeded */
  char *zFileUsed;                   /* config file read, or NULL */
  char *zProfileUsed;                /* profile read from it, or NULL */
};

/* Index of zKey in aKey, or -1 for an unknown setting. */
static int key_index(const char *zKey) {
  int i;
  for (i = 0; i < N_KEY; i++) {
    if (strcmp(aKey[i].zName, zKey) == 0) return i;
  }
  return -1;
}

int dbx_config_is_secret(const char *zKey) {
  int i = key_index(zKey);
  return i >= 0 && (aKey[i].flags & CFG_SECRET) != 0;
}

/* How dbx_config() names a source; static storage. */
static const char *source_name(DbxSource e) {
  switch (e) {
  case DBX_SRC_OPTION:
    return "option";
  case DBX_SRC_SESSION:
    return "dbx_config";
  case DBX_SRC_ENV:
    return "env";
  case DBX_SRC_PROFILE:
    return "profile";
  case DBX_SRC_DEFAULT:
    return "default";
  default:
    return "unset";
  }
}

/* Unsets key i, wiping the old value when the key is a secret. */
static void val_clear(DbxConfig *p, int i) {
  if (aKey[i].flags & CFG_SECRET)
    dbx_free_secret(p->a[i].z);
  else
    sqlite3_free(p->a[i].z);
  p->a[i].z = NULL;
  p->a[i].eSrc = DBX_SRC_UNSET;
}

/* Stores a copy of z for key i, replacing what was there. */
static int val_put(DbxConfig *p, int i, const char *z, size_t n, DbxSource eSrc,
                   DbxError *pErr) {
  char *zNew = sqlite3_malloc64(n + 1);
  if (zNew == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memcpy(zNew, z, n);
  zNew[n] = 0;
  val_clear(p, i);
  p->a[i].z = zNew;
  p->a[i].eSrc = eSrc;
  return SQLITE_OK;
}

int dbx_config_new(DbxConfig **ppOut) {
  DbxConfig *p = sqlite3_malloc64(sizeof(*p));
  *ppOut = p;
  if (p == NULL) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  return SQLITE_OK;
}

void dbx_config_free(DbxConfig *p) {
  int i;
  if (p == NULL) return;
  for (i = 0; i < N_KEY; i++)
    val_clear(p, i);
  sqlite3_free(p->zFileUsed);
  sqlite3_free(p->zProfileUsed);
  sqlite3_free(p);
}

int dbx_config_dup(const DbxConfig *p, DbxConfig **ppOut) {
  DbxConfig *q;
  int i;
  *ppOut = NULL;
  if (dbx_config_new(&q) != SQLITE_OK) return SQLITE_NOMEM;
  for (i = 0; i < N_KEY; i++) {
    if (p->a[i].z == NULL) continue;
    q->a[i].z = dbx_strdup(p->a[i].z);
    q->a[i].eSrc = p->a[i].eSrc;
    if (q->a[i].z == NULL) goto nomem;
  }
  q->bResolved = p->bResolved;
  if (p->zFileUsed && (q->zFileUsed = dbx_strdup(p->zFileUsed)) == NULL)
    goto nomem;
  if (p->zProfileUsed &&
      (q->zProfileUsed = dbx_strdup(p->zProfileUsed)) == NULL)
    goto nomem;
  *ppOut = q;
  return SQLITE_OK;
nomem:
  dbx_config_free(q);
  return SQLITE_NOMEM;
}

int dbx_config_is_key(const char *zKey) {
  return key_index(zKey) >= 0 || strcmp(zKey, "warehouse") == 0;
}

void dbx_config_known_keys(char *zOut, size_t nOut) {
  size_t n = 0;
  int i;
  zOut[0] = 0;
  for (i = 0; i < N_KEY && n + 1 < nOut; i++) {
    int k = snprintf(zOut + n, nOut - n, "%s%s", i ? ", " : "", aKey[i].zName);
    if (k < 0) break;
    n += (size_t)k;
  }
}

/* True when z holds an ASCII control character (a line break, ...). */
static int has_control(const char *z) {
  for (; *z; z++) {
    if ((unsigned char)*z < 0x20 || *z == 0x7f) return 1;
  }
  return 0;
}

/* Extracts the warehouse id from an id or an HTTP path (last segment). */
static int warehouse_from(const char *zIn, char *zOut, size_t nOut) {
  const char *z = zIn;
  size_t n;
  const char *zSlash = strrchr(zIn, '/');
  if (zSlash) z = zSlash + 1;
  n = strcspn(z, "?#");
  if (n == 0 || n >= nOut) return 1;
  memcpy(zOut, z, n);
  zOut[n] = 0;
  for (z = zOut; *z; z++) {
    if (!isalnum((unsigned char)*z) && *z != '-' && *z != '_') return 1;
  }
  return 0;
}

/* The error for a host with a user name or password in it (never quoted:
** the password would be). zFile names the config file of a profile. */
static int host_userinfo_error(DbxSource eSrc, const char *zFile,
                               DbxError *pErr) {
  const char *zWhere = eSrc == DBX_SRC_OPTION    ? "in the options"
                       : eSrc == DBX_SRC_SESSION ? "in dbx_config()"
                       : eSrc == DBX_SRC_ENV     ? "in DATABRICKS_HOST"
                                                 : "in the profile of";
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "host must not contain a user name or password (host "
                       "%s%s%s): give the workspace URL alone and the "
                       "credentials as token, client_id and client_secret, "
                       "or an OIDC setting",
                       zWhere, eSrc == DBX_SRC_PROFILE ? " " : "",
                       eSrc == DBX_SRC_PROFILE && zFile ? zFile : "");
}

int dbx_config_set(DbxConfig *p, const char *zKey, const char *zValue,
                   DbxSource eSrc, DbxError *pErr) {
  int i;
  char zId[128];
  if (p->bResolved) {
    return dbx_error_set(pErr, SQLITE_MISUSE,
                         "configuration already resolved: set %s before use",
                         zKey);
  }
  if (strcmp(zKey, "warehouse") == 0 || strcmp(zKey, "http_path") == 0) {
    if (zValue == NULL) return SQLITE_OK;
    if (warehouse_from(zValue, zId, sizeof(zId))) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "invalid %s '%s': give a warehouse id or an HTTP "
                           "path /sql/1.0/warehouses/<id>",
                           zKey, zValue);
    }
    zKey = "warehouse_id";
    zValue = zId;
  }
  i = key_index(zKey);
  if (i < 0) {
    char zKnown[800];
    dbx_config_known_keys(zKnown, sizeof(zKnown));
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "unknown setting '%s': known settings are warehouse, "
                         "%s",
                         zKey, zKnown);
  }
  /* a weaker source never overrides a stronger one */
  if (p->a[i].z && p->a[i].eSrc != DBX_SRC_UNSET && p->a[i].eSrc < eSrc) {
    return SQLITE_OK;
  }
  if (zValue == NULL) {
    val_clear(p, i);
    return SQLITE_OK;
  }
  if (has_control(zValue)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s holds a line break or a control character: give "
                         "it on one line",
                         zKey);
  }
  if (i == key_index("host") && strchr(zValue, '@')) {
    return host_userinfo_error(eSrc, NULL, pErr);
  }
  if ((aKey[i].flags & CFG_SECRET) &&
      (eSrc == DBX_SRC_OPTION || eSrc == DBX_SRC_SESSION) &&
      strncmp(zValue, "env:", 4) != 0 && strncmp(zValue, "file:", 5) != 0) {
    return dbx_error_set(
        pErr, SQLITE_ERROR,
        "%s must not be given as a literal value (SQL text and CREATE VIRTUAL "
        "TABLE arguments are stored in plain text): use %s='env:NAME' or "
        "%s='file:PATH', a profile of ~/.databrickscfg, or %s",
        zKey, zKey, zKey, aKey[i].zEnv);
  }
  if (aKey[i].flags & CFG_INT) {
    char *zEnd;
    long v;
    errno = 0;
    v = strtol(zValue, &zEnd, 10);
    if (errno || zEnd == zValue || *zEnd || v <= 0) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "invalid %s '%s': expected a positive integer", zKey,
                           zValue);
    }
  }
  return val_put(p, i, zValue, strlen(zValue), eSrc, pErr);
}

const char *dbx_config_get(const DbxConfig *p, const char *zKey) {
  int i = key_index(zKey);
  return i >= 0 ? p->a[i].z : NULL;
}

DbxSource dbx_config_source(const DbxConfig *p, const char *zKey) {
  int i = key_index(zKey);
  return i >= 0 && p->a[i].z ? p->a[i].eSrc : DBX_SRC_UNSET;
}

long dbx_config_get_int(const DbxConfig *p, const char *zKey, long iDefault) {
  const char *z = dbx_config_get(p, zKey);
  return z ? strtol(z, NULL, 10) : iDefault;
}

int dbx_config_require(const DbxConfig *p, const char *zKey, DbxError *pErr) {
  int i = key_index(zKey);
  if (i >= 0 && p->a[i].z && p->a[i].z[0]) return SQLITE_OK;
  if (i >= 0 && strcmp(zKey, "warehouse_id") == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "no SQL warehouse configured: set warehouse='<id or "
                         "HTTP path>' in the options, dbx_config('warehouse', "
                         "...), DATABRICKS_WAREHOUSE_ID, or warehouse_id in a "
                         "profile of ~/.databrickscfg");
  }
  if (i >= 0 && aKey[i].zEnv && !(aKey[i].flags & CFG_NOENV)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "no %s configured: set %s= in the options, %s in the "
                         "environment, or %s in a profile of ~/.databrickscfg",
                         zKey, zKey, aKey[i].zEnv, zKey);
  }
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "no %s configured: set %s= in the options, "
                       "dbx_config('%s', ...), or %s in a profile of "
                       "~/.databrickscfg",
                       zKey, zKey, zKey, zKey);
}

/* ---------------------------------------------------------------------
** The config file.
*/

/* A size limit as text ("1 MiB", "64 KiB", "100 bytes") in z[0..nz). */
static void size_text(size_t n, char *z, size_t nz) {
  if (n >= (1u << 20) && n % (1u << 20) == 0)
    snprintf(z, nz, "%zu MiB", n >> 20);
  else if (n >= 1024 && n % 1024 == 0)
    snprintf(z, nz, "%zu KiB", n >> 10);
  else
    snprintf(z, nz, "%zu bytes", n);
}

/* read() that retries after a signal. */
static ssize_t read_retry(int fd, void *p, size_t n) {
  ssize_t k;
  do {
    k = read(fd, p, n);
  } while (k < 0 && errno == EINTR);
  return k;
}

int dbx_config_read_file(const char *zPath, size_t nMax, const char *zWhat,
                         char **pzOut, size_t *pnOut, DbxError *pErr) {
  struct stat st;
  char zLimit[32], *z;
  size_t nSize, nRead = 0;
  ssize_t k = 0;
  int fd, e = 0;

  *pzOut = NULL;
  if (pnOut) *pnOut = 0;
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; the type is
  ** checked on the open descriptor, so a symlink to a file is fine */
  do {
    fd = open(zPath, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    e = errno;
    if (e == ENOENT || e == ENOTDIR) {
      dbx_error_set(pErr, SQLITE_ERROR, "%s %s does not exist: check the path",
                    zWhat, zPath);
      return SQLITE_NOTFOUND;
    }
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s %s cannot be opened (%s): check the path and its "
                         "permissions",
                         zWhat, zPath, strerror(e));
  }
  size_text(nMax, zLimit, sizeof(zLimit));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s %s is not a regular file: give the path of a file "
                         "of at most %s",
                         zWhat, zPath, zLimit);
  }
  if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)nMax) {
    close(fd);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s %s is larger than the limit of %s: give a smaller "
                         "file",
                         zWhat, zPath, zLimit);
  }
  nSize = (size_t)st.st_size;
  z = sqlite3_malloc64(nSize + 1);
  if (z == NULL) {
    close(fd);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  while (nRead < nSize && (k = read_retry(fd, z + nRead, nSize - nRead)) > 0)
    nRead += (size_t)k;
  if (k < 0) e = errno;
  if (k >= 0) {
    /* one byte more means the file grew after fstat(): size unknown */
    char c;
    if ((k = read_retry(fd, &c, 1)) > 0) e = EFBIG;
    if (k < 0) e = errno;
  }
  close(fd);
  if (e) {
    OPENSSL_cleanse(z, nRead);
    sqlite3_free(z);
    if (e == EFBIG) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s %s grew while it was read: try again", zWhat,
                           zPath);
    }
    return dbx_error_set(pErr, SQLITE_ERROR, "%s %s cannot be read (%s)", zWhat,
                         zPath, strerror(e));
  }
  z[nRead] = 0;
  *pzOut = z;
  if (pnOut) *pnOut = nRead;
  return SQLITE_OK;
}

/* Trims ASCII whitespace in place; returns the new start. */
static char *trim(char *z) {
  size_t n;
  while (isspace((unsigned char)*z))
    z++;
  n = strlen(z);
  while (n > 0 && isspace((unsigned char)z[n - 1]))
    z[--n] = 0;
  return z;
}

/*
** The INI reader. It follows the reader of the Python SDK (configparser
** with its defaults), which is the strictest of the SDKs' readers:
**   - lines end at \n, \r\n or \r; a UTF-8 byte order mark is skipped;
**   - "[name]" opens a section (up to the last "]"); a key before any
**     section is an error;
**   - "key = value" or "key: value", split at the first = or :; keys are
**     case-insensitive (lower-cased), values are trimmed and may be empty;
**   - lines whose first non-blank character is # or ; are comments; as in
**     the Go SDK's reader, " #" or " ;" after a value starts a comment;
**   - a line indented deeper than its key's line continues the value (joined
**     with a line break, as configparser does);
**   - a section or a key of one section given twice is an error, except
**     that [DEFAULT] may appear more than once (its keys are merged);
**   - a line that is none of these is an error.
** Also refused, since a C string cannot carry them: NUL bytes and text that
** is not UTF-8. Errors name the file and the line, never a value.
*/

/* One [section] header; repeats of [DEFAULT] share the first. */
typedef struct IniSect {
  char *zName; /* owned */
  int iLine;   /* line of the header */
  int nKey;    /* keys in the section */
} IniSect;

/* One key of the file. */
typedef struct IniKey {
  int iSect;  /* index of its section in IniFile.aSect */
  int iLine;  /* line of the key */
  char *zKey; /* lower-cased name; owned */
  DbxBuf val; /* value; continuation lines joined with \n; may be secret */
} IniKey;

/* A parsed config file. */
typedef struct IniFile {
  const char *zPath; /* for errors; borrowed */
  IniSect *aSect;    /* owned */
  int nSect;         /* entries used in aSect */
  int nSectAlloc;    /* entries allocated */
  IniKey *aKey;      /* owned */
  int nKey;          /* entries used in aKey */
  int nKeyAlloc;     /* entries allocated */
  int iDefault;      /* index of [DEFAULT] in aSect, or -1 */
} IniFile;

/* Frees what ini_parse() stored in f, wiping the values. */
static void ini_free(IniFile *f) {
  int i;
  for (i = 0; i < f->nSect; i++)
    sqlite3_free(f->aSect[i].zName);
  for (i = 0; i < f->nKey; i++) {
    sqlite3_free(f->aKey[i].zKey);
    dbx_buf_free_secret(&f->aKey[i].val);
  }
  sqlite3_free(f->aSect);
  sqlite3_free(f->aKey);
  memset(f, 0, sizeof(*f));
}

/* Makes room for one more entry of size sz in *pa; 0 when out of memory. */
static int ini_grow(void **pa, int n, int *pnAlloc, size_t sz) {
  void *aNew;
  int nNew;
  if (n < *pnAlloc) return 1;
  nNew = *pnAlloc ? *pnAlloc * 2 : 16;
  aNew = sqlite3_realloc64(*pa, sz * (size_t)nNew);
  if (aNew == NULL) return 0;
  *pa = aNew;
  *pnAlloc = nNew;
  return 1;
}

/* Blank within a line: configparser's \s, without the line breaks. */
static int ini_space(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* True when z[0..n) is well-formed UTF-8 (no overlong forms, surrogates
** or code points above U+10FFFF). */
static int utf8_ok(const unsigned char *z, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = z[i], nMore, cp, k;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf)
      nMore = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      nMore = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      nMore = 3, cp = c & 0x07;
    else
      return 0;
    if (n - i <= nMore) return 0;
    for (k = 1; k <= nMore; k++) {
      if ((z[i + k] & 0xc0) != 0x80) return 0;
      cp = cp << 6 | (z[i + k] & 0x3f);
    }
    if ((nMore == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (nMore == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      return 0;
    }
    i += nMore + 1;
  }
  return 1;
}

/* A name from the file, safe to print in an error: at most 40 bytes,
** control characters replaced by '?'. */
static void ini_printable(const char *zName, char *zOut, size_t nOut) {
  size_t i;
  for (i = 0; zName[i] && i + 1 < nOut && i < 40; i++) {
    unsigned char c = (unsigned char)zName[i];
    zOut[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  zOut[i] = 0;
}

/* End of the text of z[a..b) before a " #" or " ;" comment, trimmed. */
static size_t ini_cut_comment(const char *z, size_t a, size_t b) {
  size_t k;
  for (k = a + 1; k < b; k++) {
    if ((z[k] == '#' || z[k] == ';') && ini_space(z[k - 1])) {
      b = k;
      break;
    }
  }
  while (b > a && ini_space(z[b - 1]))
    b--;
  return b;
}

/* Records a malformed line: "malformed config file F line N: <why>". */
static int ini_error(const IniFile *f, int iLine, const char *zWhy,
                     DbxError *pErr) {
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "malformed config file %s line %d: %s", f->zPath, iLine,
                       zWhy);
}

/* Opens section z[a..b) (trimmed by the caller); sets *piSect. */
static int ini_section(IniFile *f, const char *z, size_t a, size_t b, int iLine,
                       int *piSect, DbxError *pErr) {
  char *zName;
  if (b - a == 7 && memcmp(z + a, "DEFAULT", 7) == 0 && f->iDefault >= 0) {
    *piSect = f->iDefault; /* configparser merges repeated [DEFAULT]s */
    return SQLITE_OK;
  }
  if (!ini_grow((void **)&f->aSect, f->nSect, &f->nSectAlloc,
                sizeof(IniSect)) ||
      (zName = sqlite3_mprintf("%.*s", (int)(b - a), z + a)) == NULL) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  f->aSect[f->nSect].zName = zName;
  f->aSect[f->nSect].iLine = iLine;
  f->aSect[f->nSect].nKey = 0;
  if (strcmp(zName, "DEFAULT") == 0) f->iDefault = f->nSect;
  *piSect = f->nSect++;
  return SQLITE_OK;
}

/* Adds key z[a..d) with value z[v..e) to section iSect; sets *piKey. */
static int ini_key(IniFile *f, int iSect, const char *z, size_t a, size_t d,
                   size_t v, size_t e, int iLine, int *piKey, DbxError *pErr) {
  IniKey *k;
  size_t i;
  if (!ini_grow((void **)&f->aKey, f->nKey, &f->nKeyAlloc, sizeof(IniKey))) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  k = &f->aKey[f->nKey];
  memset(k, 0, sizeof(*k));
  k->iSect = iSect;
  k->iLine = iLine;
  k->zKey = sqlite3_mprintf("%.*s", (int)(d - a), z + a);
  if (k->zKey == NULL)
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  for (i = 0; k->zKey[i]; i++)
    k->zKey[i] = (char)tolower((unsigned char)k->zKey[i]);
  dbx_buf_append(&k->val, "", 0);
  dbx_buf_append(&k->val, z + v, e - v);
  f->aSect[iSect].nKey++;
  *piKey = f->nKey++;
  return k->val.rc == SQLITE_OK
             ? SQLITE_OK
             : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
}

/*
** Parses one line z[s..e), number iLine. *piSect is the current section
** (-1 before the first), *piKey the key a deeper-indented line continues
** (-1: none), *pnIndent the indentation of that key's line.
*/
static int ini_line(IniFile *f, const char *z, size_t s, size_t e, int iLine,
                    int *piSect, int *piKey, size_t *pnIndent, DbxError *pErr) {
  size_t a = s, b = e, d;
  if (memchr(z + s, 0, e - s)) {
    return ini_error(f, iLine, "NUL byte: save the file as text", pErr);
  }
  if (!utf8_ok((const unsigned char *)z + s, e - s)) {
    return ini_error(f, iLine, "not UTF-8 text: save the file as UTF-8", pErr);
  }
  while (a < b && ini_space(z[a]))
    a++;
  while (b > a && ini_space(z[b - 1]))
    b--;
  if (a == b) { /* a blank line inside a value is kept, as configparser does */
    if (*piKey >= 0) dbx_buf_append(&f->aKey[*piKey].val, "\n", 1);
    return SQLITE_OK;
  }
  if (z[a] == '#' || z[a] == ';') return SQLITE_OK;
  if (*piKey >= 0 && a - s > *pnIndent) { /* continuation line */
    DbxBuf *pVal = &f->aKey[*piKey].val;
    dbx_buf_append(pVal, "\n", 1);
    dbx_buf_append(pVal, z + a, ini_cut_comment(z, a, b) - a);
    return pVal->rc == SQLITE_OK
               ? SQLITE_OK
               : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  *pnIndent = a - s;
  *piKey = -1;
  if (z[a] == '[') {
    size_t r = b;
    while (r > a + 1 && z[r - 1] != ']')
      r--;
    if (r <= a + 1) {
      return ini_error(f, iLine, "a section header needs a closing ]", pErr);
    }
    d = a + 1;
    r--; /* the ] */
    while (d < r && ini_space(z[d]))
      d++;
    while (r > d && ini_space(z[r - 1]))
      r--;
    if (d == r) return ini_error(f, iLine, "empty section name", pErr);
    return ini_section(f, z, d, r, iLine, piSect, pErr);
  }
  if (*piSect < 0) {
    return ini_error(f, iLine,
                     "a setting before the first [profile] header: start "
                     "with a header such as [DEFAULT]",
                     pErr);
  }
  for (d = a; d < b && z[d] != '=' && z[d] != ':'; d++) {
  }
  if (d == b) {
    return ini_error(f, iLine, "expected key = value or [profile]", pErr);
  }
  {
    size_t kEnd = d, v = d + 1;
    while (kEnd > a && ini_space(z[kEnd - 1]))
      kEnd--;
    if (kEnd == a) return ini_error(f, iLine, "empty key", pErr);
    b = ini_cut_comment(z, d, b);
    while (v < b && ini_space(z[v]))
      v++;
    if (v > b) v = b;
    return ini_key(f, *piSect, z, a, kEnd, v, b, iLine, piKey, pErr);
  }
}

/* qsort orders: by name then line; by section, key, then line. */
static int ini_sect_cmp(const void *pA, const void *pB) {
  const IniSect *a = *(IniSect *const *)pA, *b = *(IniSect *const *)pB;
  int c = strcmp(a->zName, b->zName);
  return c ? c : a->iLine - b->iLine;
}
static int ini_key_cmp(const void *pA, const void *pB) {
  const IniKey *a = *(IniKey *const *)pA, *b = *(IniKey *const *)pB;
  int c = a->iSect - b->iSect;
  if (c == 0) c = strcmp(a->zKey, b->zKey);
  return c ? c : a->iLine - b->iLine;
}

/*
** Finds the first line (in file order) that repeats a section or a key of
** a section; sorting keeps this O(n log n) on a hostile file. Returns
** SQLITE_OK with *piLine 0 when there is none, or SQLITE_NOMEM; the
** message for the repeat is written into zWhy[0..nWhy).
*/
static int ini_repeats(const IniFile *f, int *piLine, char *zWhy, size_t nWhy) {
  int n = f->nSect > f->nKey ? f->nSect : f->nKey, i;
  void **ap = sqlite3_malloc64(sizeof(void *) * (size_t)(n + 1));
  char zName[48], zSect[48];
  *piLine = 0;
  if (ap == NULL) return SQLITE_NOMEM;
  for (i = 0; i < f->nSect; i++)
    ap[i] = &f->aSect[i];
  qsort(ap, (size_t)f->nSect, sizeof(void *), ini_sect_cmp);
  for (i = 1; i < f->nSect; i++) {
    const IniSect *a = ap[i - 1], *b = ap[i];
    if (strcmp(a->zName, b->zName) == 0 && (!*piLine || b->iLine < *piLine)) {
      *piLine = b->iLine;
      ini_printable(b->zName, zName, sizeof(zName));
      snprintf(zWhy, nWhy,
               "section [%s] appears twice (first at line %d): merge them",
               zName, a->iLine);
    }
  }
  for (i = 0; i < f->nKey; i++)
    ap[i] = &f->aKey[i];
  qsort(ap, (size_t)f->nKey, sizeof(void *), ini_key_cmp);
  for (i = 1; i < f->nKey; i++) {
    const IniKey *a = ap[i - 1], *b = ap[i];
    if (a->iSect == b->iSect && strcmp(a->zKey, b->zKey) == 0 &&
        (!*piLine || b->iLine < *piLine)) {
      *piLine = b->iLine;
      ini_printable(b->zKey, zName, sizeof(zName));
      ini_printable(f->aSect[b->iSect].zName, zSect, sizeof(zSect));
      snprintf(zWhy, nWhy,
               "key %s appears twice in [%s] (first at line %d): keep one",
               zName, zSect, a->iLine);
    }
  }
  sqlite3_free(ap);
  return SQLITE_OK;
}

/*
** Parses the n bytes of z (the text of file f->zPath) into f. Returns
** SQLITE_OK, or an error for the first line, in file order, that the
** Python SDK's reader would refuse (plus NUL bytes and non-UTF-8 text).
*/
static int ini_parse(IniFile *f, const char *z, size_t n, DbxError *pErr) {
  DbxError eLine;
  size_t i = 0, nIndent = 0;
  int iLine = 0, iSect = -1, iKey = -1, iRepeat, k, rc = SQLITE_OK;
  char zWhy[200];

  dbx_error_clear(&eLine);
  f->iDefault = -1;
  if (n >= 3 && memcmp(z, "\xef\xbb\xbf", 3) == 0) i = 3; /* BOM */
  while (i < n && rc == SQLITE_OK) {
    size_t s = i;
    while (i < n && z[i] != '\n' && z[i] != '\r')
      i++;
    rc = ini_line(f, z, s, i, ++iLine, &iSect, &iKey, &nIndent, &eLine);
    if (i < n) i += (z[i] == '\r' && i + 1 < n && z[i + 1] == '\n') ? 2 : 1;
  }
  if (rc == SQLITE_NOMEM) return dbx_error_set(pErr, rc, "out of memory");
  /* configparser trims the end of a joined value */
  for (k = 0; k < f->nKey; k++) {
    DbxBuf *pVal = &f->aKey[k].val;
    while (pVal->n > 0 && isspace((unsigned char)pVal->z[pVal->n - 1]))
      pVal->z[--pVal->n] = 0;
  }
  /* a repeat before the malformed line is the first error */
  if (ini_repeats(f, &iRepeat, zWhy, sizeof(zWhy)) != SQLITE_OK) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  if (iRepeat && (rc == SQLITE_OK || iRepeat < iLine)) {
    return ini_error(f, iRepeat, zWhy, pErr);
  }
  if (rc != SQLITE_OK) return dbx_error_set(pErr, rc, "%s", eLine.zMsg);
  return SQLITE_OK;
}

/* Index of section zName in f, or -1. [DEFAULT] counts only when it has
** keys, as in the Python SDK. */
static int ini_find(const IniFile *f, const char *zName) {
  int i;
  for (i = 0; i < f->nSect; i++) {
    if (strcmp(f->aSect[i].zName, zName) == 0) {
      return (i == f->iDefault && f->aSect[i].nKey == 0) ? -1 : i;
    }
  }
  return -1;
}

/* The value of zKey in section iSect (borrowed), or NULL. */
static const char *ini_get(const IniFile *f, int iSect, const char *zKey) {
  int i;
  for (i = 0; i < f->nKey; i++) {
    if (f->aKey[i].iSect == iSect && strcmp(f->aKey[i].zKey, zKey) == 0) {
      return f->aKey[i].val.z;
    }
  }
  return NULL;
}

/* The profiles of f for an error: "[a], [b]" (DEFAULT when it has keys,
** never __settings__), shortened past 300 bytes. From sqlite3_malloc. */
static char *ini_profiles(const IniFile *f) {
  DbxBuf b = {0};
  char zName[48];
  int i, n = 0;
  for (i = 0; i < f->nSect; i++) {
    if (strcmp(f->aSect[i].zName, "__settings__") == 0) continue;
    if (i == f->iDefault && f->aSect[i].nKey == 0) continue;
    if (b.n > 300) {
      dbx_buf_appendf(&b, ", ...");
      break;
    }
    ini_printable(f->aSect[i].zName, zName, sizeof(zName));
    dbx_buf_appendf(&b, "%s[%s]", n++ ? ", " : "", zName);
  }
  if (n == 0) dbx_buf_appendf(&b, "no profiles");
  return dbx_buf_take(&b);
}

/* Takes key iKey of the chosen profile into the config. Empty values,
** unknown keys and keys already set are skipped. */
static int profile_pair(DbxConfig *p, const IniFile *f, int iKey,
                        const char *zProfile, DbxError *pErr) {
  const char *zKey = f->aKey[iKey].zKey, *zVal = f->aKey[iKey].val.z;
  char zId[128];
  int i;
  if (strcmp(zKey, "http_path") == 0 || strcmp(zKey, "warehouse") == 0) {
    if (warehouse_from(zVal, zId, sizeof(zId)) == 0) {
      zKey = "warehouse_id";
      zVal = zId;
    }
  }
  i = key_index(zKey);
  if (i < 0 || p->a[i].z || *zVal == 0) return SQLITE_OK; /* unknown/set */
  if (strcmp(zKey, "profile") == 0 || strcmp(zKey, "config_file") == 0) {
    return SQLITE_OK;
  }
  if (has_control(zVal)) {
    char zName[48];
    ini_printable(zProfile, zName, sizeof(zName));
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "config file %s line %d: %s of [%s] holds a line "
                         "break or a control character (an indented line "
                         "continues the value above it): put it on one line",
                         f->zPath, f->aKey[iKey].iLine, zKey, zName);
  }
  return val_put(p, i, zVal, strlen(zVal), DBX_SRC_PROFILE, pErr);
}

/* The config file path: config_file, else $HOME/.databrickscfg. */
static char *config_path(const DbxConfig *p) {
  const char *z = dbx_config_get(p, "config_file");
  const char *zHome = getenv("HOME");
  if (z && z[0] == '~' && (z[1] == '/' || z[1] == 0) && zHome) {
    return sqlite3_mprintf("%s%s", zHome, z + 1);
  }
  if (z) return dbx_strdup(z);
  return sqlite3_mprintf("%s/.databrickscfg", zHome ? zHome : ".");
}

/*
** Picks the profile of f as the SDKs do: the named one, else [__settings__]
** default_profile, else [DEFAULT] (*pbFallback: absence is no error).
** Returns SQLITE_OK with *pzWant borrowed from p or f, or an error.
*/
static int profile_choose(const DbxConfig *p, const IniFile *f,
                          const char **pzWant, int *pbFallback,
                          DbxError *pErr) {
  const char *zWant = dbx_config_get(p, "profile");
  *pbFallback = 0;
  if (zWant == NULL) {
    int iSettings = ini_find(f, "__settings__");
    const char *z =
        iSettings >= 0 ? ini_get(f, iSettings, "default_profile") : NULL;
    if (z && z[0]) {
      zWant = z; /* already trimmed by the reader */
    } else {
      zWant = "DEFAULT";
      *pbFallback = 1;
    }
  }
  *pzWant = zWant;
  if (strcmp(zWant, "__settings__") == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "__settings__ is reserved and is not a profile: name "
                         "another profile");
  }
  return SQLITE_OK;
}

/* Reads the profile as the SDKs do. */
static int load_profile(DbxConfig *p, DbxError *pErr) {
  const char *zProfile = dbx_config_get(p, "profile"), *zWant = NULL;
  char *zPath = config_path(p), *zText = NULL;
  size_t nText = 0;
  IniFile f;
  DbxError eRead;
  int rc, iSect = -1, bFallback = 0, i;

  memset(&f, 0, sizeof(f));
  if (zPath == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  dbx_error_clear(&eRead);
  rc = dbx_config_read_file(zPath, DBX_CONFIG_FILE_MAX, "config file", &zText,
                            &nText, &eRead);
  if (rc == SQLITE_NOTFOUND) {
    /* no file is fine, as in the SDKs, unless a profile was asked for */
    if (zProfile) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "profile '%s' requested but config file %s does not "
                         "exist: create it or set DATABRICKS_CONFIG_FILE",
                         zProfile, zPath);
    } else {
      rc = SQLITE_OK;
    }
    sqlite3_free(zPath);
    return rc;
  }
  if (rc != SQLITE_OK) {
    sqlite3_free(zPath);
    return dbx_error_set(pErr, eRead.rc, "%s", eRead.zMsg);
  }
  f.zPath = zPath;
  rc = ini_parse(&f, zText, nText, pErr);
  OPENSSL_cleanse(zText, nText);
  sqlite3_free(zText);
  if (rc == SQLITE_OK) rc = profile_choose(p, &f, &zWant, &bFallback, pErr);
  if (rc == SQLITE_OK && (iSect = ini_find(&f, zWant)) < 0 && !bFallback) {
    char *zList = ini_profiles(&f);
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "profile '%s' not found in %s, which has %s: name one "
                       "of them or add a [%s] section",
                       zWant, zPath, zList ? zList : "?", zWant);
    sqlite3_free(zList);
  } else if (rc == SQLITE_OK && iSect >= 0) {
    for (i = 0; rc == SQLITE_OK && i < f.nKey; i++) {
      if (f.aKey[i].iSect == iSect) rc = profile_pair(p, &f, i, zWant, pErr);
    }
    if (rc == SQLITE_OK) {
      p->zProfileUsed = dbx_strdup(zWant);
      p->zFileUsed = zPath;
      zPath = NULL;
    }
  }
  ini_free(&f);
  sqlite3_free(zPath);
  return rc;
}

/* ---------------------------------------------------------------------
** Resolution.
*/

/* Replaces an env:NAME / file:PATH reference by what it points at. */
static int deref_secret(DbxConfig *p, int i, DbxError *pErr) {
  const char *z = p->a[i].z;
  if (z == NULL) return SQLITE_OK;
  if (p->a[i].eSrc != DBX_SRC_OPTION && p->a[i].eSrc != DBX_SRC_SESSION) {
    return SQLITE_OK;
  }
  if (strncmp(z, "env:", 4) == 0) {
    const char *zV = getenv(z + 4);
    if (zV == NULL || zV[0] == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s refers to environment variable %s, which is "
                           "not set: export it or change the reference",
                           aKey[i].zName, z + 4);
    }
    if (has_control(zV)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s refers to environment variable %s, which holds "
                           "a line break or a control character: export the "
                           "secret alone",
                           aKey[i].zName, z + 4);
    }
    return val_put(p, i, zV, strlen(zV), p->a[i].eSrc, pErr);
  }
  if (strncmp(z, "file:", 5) == 0) {
    char zWhat[64], *zText = NULL, *zT;
    size_t n = 0;
    int rc;
    snprintf(zWhat, sizeof(zWhat), "%s file", aKey[i].zName);
    rc = dbx_config_read_file(z + 5, DBX_SECRET_FILE_MAX, zWhat, &zText, &n,
                              pErr);
    if (rc) return rc == SQLITE_NOTFOUND ? SQLITE_ERROR : rc;
    zT = memchr(zText, 0, n) ? NULL : trim(zText);
    if (zT == NULL || *zT == 0 || has_control(zT)) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "%s refers to file %s, which %s: write the secret "
                         "there on one line",
                         aKey[i].zName, z + 5,
                         zT == NULL ? "holds a NUL byte"
                         : *zT == 0 ? "is empty"
                                    : "holds more than one line");
    } else {
      rc = val_put(p, i, zT, strlen(zT), p->a[i].eSrc, pErr);
    }
    OPENSSL_cleanse(zText, n);
    sqlite3_free(zText);
    return rc;
  }
  return SQLITE_OK;
}

/* Host normalisation as the SDKs do it; may set workspace_id / account_id. */
static int normalise_host(DbxConfig *p, DbxError *pErr) {
  int iHost = key_index("host");
  const char *z = p->a[iHost].z, *zAuth, *zEnd, *zQ;
  DbxBuf b = {0};
  int rc;
  if (z == NULL) return SQLITE_OK;
  if (strchr(z, '@')) {
    /* not left in the config either: dbx_config() shows a failed one */
    DbxSource eSrc = p->a[iHost].eSrc;
    val_clear(p, iHost);
    return host_userinfo_error(eSrc, p->zFileUsed, pErr);
  }
  while (isspace((unsigned char)*z))
    z++;
  if (strstr(z, "://") == NULL) {
    dbx_buf_appendf(&b, "https://");
    zAuth = z;
  } else {
    zAuth = strstr(z, "://") + 3;
    dbx_buf_append(&b, z, (size_t)(zAuth - z));
  }
  zEnd = zAuth + strcspn(zAuth, "/?# \t");
  if (zEnd == zAuth) {
    dbx_buf_free(&b);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "invalid host '%s': expected a workspace URL such as "
                         "https://dbc-1234.cloud.databricks.com",
                         z);
  }
  dbx_buf_append(&b, zAuth, (size_t)(zEnd - zAuth));
  /* drop :443 on https */
  if (b.rc == SQLITE_OK && strncasecmp(b.z, "https://", 8) == 0 && b.n > 4 &&
      strcmp(b.z + b.n - 4, ":443") == 0) {
    b.n -= 4;
    b.z[b.n] = 0;
  }
  /* promote ?o= / ?workspace_id= / ?w= and ?a= / ?account_id= */
  zQ = strchr(zEnd, '?');
  if (zQ) {
    const char *zP = zQ + 1;
    while (*zP) {
      size_t nPair = strcspn(zP, "&#");
      const char *zEqs = memchr(zP, '=', nPair);
      if (zEqs) {
        size_t nName = (size_t)(zEqs - zP), nVal = nPair - nName - 1;
        const char *zKeyName = NULL;
        if ((nName == 1 && (zP[0] == 'o' || zP[0] == 'w')) ||
            (nName == 12 && strncmp(zP, "workspace_id", 12) == 0)) {
          zKeyName = "workspace_id";
        } else if ((nName == 1 && zP[0] == 'a') ||
                   (nName == 10 && strncmp(zP, "account_id", 10) == 0)) {
          zKeyName = "account_id";
        }
        if (zKeyName && nVal > 0) {
          int k = key_index(zKeyName);
          if (p->a[k].z == NULL) {
            rc = val_put(p, k, zEqs + 1, nVal, p->a[iHost].eSrc, pErr);
            if (rc) {
              dbx_buf_free(&b);
              return rc;
            }
          }
        }
      }
      zP += nPair;
      if (*zP == '#') break;
      if (*zP) zP++;
    }
  }
  if (b.rc != SQLITE_OK) {
    dbx_buf_free(&b);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  rc = val_put(p, iHost, b.z, b.n, p->a[iHost].eSrc, pErr);
  dbx_buf_free(&b);
  return rc;
}

/* True when zKey has a non-empty value. */
static int is_set(const DbxConfig *p, const char *zKey) {
  const char *z = dbx_config_get(p, zKey);
  return z && z[0];
}

/* The env var holding the subject token of env-oidc. */
static const char *oidc_env_name(const DbxConfig *p) {
  const char *z = dbx_config_get(p, "oidc_token_env");
  return z && z[0] ? z : "DATABRICKS_OIDC_TOKEN";
}

/* Fails with "more than one authorization method configured" when the set
** attributes belong to more than one auth group (as in the SDKs); the first two
** group names in sorted order, as the SDKs print them. Returns SQLITE_OK
** otherwise. bSelfSigned: client_id then belongs to the self-signed issuer. */
static int auth_conflict(const DbxConfig *p, int bSelfSigned, DbxError *pErr) {
  const char *azGroup[8];
  int nGroup = 0, i, j;
  for (i = 0; i < N_KEY; i++) {
    const char *zG = aKey[i].zGroup;
    if (zG == NULL || !is_set(p, aKey[i].zName)) continue;
    /* client_id is the companion of the self-signed issuer, not a method */
    if (bSelfSigned && strcmp(aKey[i].zName, "client_id") == 0) continue;
    for (j = 0; j < nGroup && strcmp(azGroup[j], zG) != 0; j++) {
    }
    if (j == nGroup && nGroup < (int)DBX_ARRAY_SIZE(azGroup))
      azGroup[nGroup++] = zG;
  }
  if (nGroup <= 1) return SQLITE_OK;
  for (i = 0; i < nGroup; i++) {
    for (j = i + 1; j < nGroup; j++) {
      if (strcmp(azGroup[j], azGroup[i]) < 0) {
        const char *zT = azGroup[i];
        azGroup[i] = azGroup[j];
        azGroup[j] = zT;
      }
    }
  }
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "more than one authorization method configured: %s "
                       "and %s; set auth_type to choose one",
                       azGroup[0], azGroup[1]);
}

/* The auth type the set attributes imply, in the SDKs' order of
** preference, or NULL when no credentials are configured. */
static const char *auth_implied(const DbxConfig *p, int bSelfSigned) {
  const char *zEnv;
  if (is_set(p, "token")) return "pat";
  if (is_set(p, "client_id") && is_set(p, "client_secret")) return "oauth-m2m";
  if (bSelfSigned) return "oidc-self-signed";
  if (is_set(p, "oidc_token_filepath")) return "file-oidc";
  zEnv = getenv(oidc_env_name(p));
  if (zEnv && zEnv[0]) return "env-oidc";
  return NULL;
}

/* Checks that auth type zType has what it needs. Returns
** SQLITE_OK, or SQLITE_ERROR with pErr naming the missing attribute. */
static int auth_require(const DbxConfig *p, const char *zType, DbxError *pErr) {
  if (strcmp(zType, "pat") == 0) return dbx_config_require(p, "token", pErr);
  if (strcmp(zType, "oauth-m2m") == 0) {
    if (dbx_config_require(p, "client_id", pErr)) return pErr->rc;
    return dbx_config_require(p, "client_secret", pErr);
  }
  if (strcmp(zType, "file-oidc") == 0) {
    return dbx_config_require(p, "oidc_token_filepath", pErr);
  }
  if (strcmp(zType, "env-oidc") == 0) {
    const char *zName = oidc_env_name(p);
    if (getenv(zName) == NULL || getenv(zName)[0] == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "auth_type env-oidc needs an OIDC token in "
                           "environment variable %s: export it or set "
                           "oidc_token_env to the variable that holds it",
                           zName);
    }
    return SQLITE_OK;
  }
  if (strcmp(zType, "oidc-self-signed") == 0) {
    if (dbx_config_require(p, "oidc_private_key_file", pErr)) return pErr->rc;
    if (dbx_config_require(p, "oidc_issuer", pErr)) return pErr->rc;
    return dbx_config_require(p, "oidc_subject", pErr);
  }
  return SQLITE_OK;
}

/* Picks and checks the auth type (conflicts, then requirements):
** an explicit auth_type must be known; otherwise the attributes must name
** one method, which is stored as auth_type. Returns SQLITE_OK (also when
** nothing is configured and host is unset: the host error comes first), or
** an error code with pErr set. */
static int choose_auth(DbxConfig *p, DbxError *pErr) {
  const char *zType = dbx_config_get(p, "auth_type");
  int bSelfSigned = is_set(p, "oidc_private_key_file");
  int i, rc;

  if (zType && zType[0]) {
    for (i = 0; i < (int)DBX_ARRAY_SIZE(azAuthType); i++) {
      if (strcmp(zType, azAuthType[i]) == 0) break;
    }
    if (i == (int)DBX_ARRAY_SIZE(azAuthType)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "unsupported auth_type '%s': use pat, oauth-m2m, "
                           "env-oidc, file-oidc or oidc-self-signed",
                           zType);
    }
  } else {
    rc = auth_conflict(p, bSelfSigned, pErr);
    if (rc != SQLITE_OK) return rc;
    zType = auth_implied(p, bSelfSigned);
    if (zType == NULL) {
      if (!is_set(p, "host")) return SQLITE_OK; /* host error comes first */
      return dbx_error_set(
          pErr, SQLITE_ERROR,
          "no credentials configured for %s: set token (PAT), client_id and "
          "client_secret (oauth-m2m), or an OIDC token source, through "
          "env:/file: options, DATABRICKS_* environment variables or a profile "
          "of ~/.databrickscfg",
          dbx_config_get(p, "host"));
    }
    if (val_put(p, key_index("auth_type"), zType, strlen(zType),
                DBX_SRC_DEFAULT, pErr)) {
      return pErr->rc;
    }
  }
  return auth_require(p, dbx_config_get(p, "auth_type"), pErr);
}

/* True for the attributes of an auth method, and auth_type. */
static int is_auth_key(int i) {
  return aKey[i].zGroup != NULL || strcmp(aKey[i].zName, "auth_type") == 0;
}

/* True when any credential or auth_type is set, from any source. */
static int any_auth_set(const DbxConfig *p) {
  int i;
  for (i = 0; i < N_KEY; i++) {
    if (p->a[i].z && p->a[i].z[0] && is_auth_key(i)) return 1;
  }
  return 0;
}

/* Fills unset keys from DATABRICKS_* (auth keys too unless bSkipAuth). */
static int fill_from_env(DbxConfig *p, int bSkipAuth, DbxError *pErr) {
  int i, rc;
  for (i = 0; i < N_KEY; i++) {
    const char *zV;
    if (p->a[i].z || aKey[i].zEnv == NULL || (aKey[i].flags & CFG_NOENV))
      continue;
    if (bSkipAuth && is_auth_key(i)) continue;
    zV = getenv(aKey[i].zEnv);
    if (zV == NULL && strcmp(aKey[i].zName, "oidc_token_filepath") == 0) {
      zV = getenv("DATABRICKS_OIDC_TOKEN_FILE");
    }
    if (zV == NULL || zV[0] == 0) continue;
    if (has_control(zV)) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s holds a line break or a control character: "
                           "export the value alone",
                           aKey[i].zEnv);
    }
    if (aKey[i].flags & CFG_INT) {
      rc = dbx_config_set(p, aKey[i].zName, zV, DBX_SRC_ENV, pErr);
    } else {
      rc = val_put(p, i, zV, strlen(zV), DBX_SRC_ENV, pErr);
    }
    if (rc) return rc;
  }
  return SQLITE_OK;
}

char *dbx_config_token_url(const DbxConfig *p) {
  const char *zHost = dbx_config_get(p, "host");
  const char *zAccount = dbx_config_get(p, "account_id");
  if (zHost == NULL) return NULL;
  /* an accounts host has a token endpoint per account */
  if (strstr(zHost, "://accounts.") && zAccount && zAccount[0]) {
    return sqlite3_mprintf("%s/oidc/accounts/%s/v1/token", zHost, zAccount);
  }
  return sqlite3_mprintf("%s/oidc/v1/token", zHost);
}

/* oidc-self-signed without oidc_audience: the audience of the JWT it mints
** is the token endpoint, as the SDKs' fallback when they request an ID
** token, and it is stored so dbx_config() shows it. */
static int default_audience(DbxConfig *p, DbxError *pErr) {
  const char *zType = dbx_config_get(p, "auth_type");
  char *zUrl;
  int rc;
  if (zType == NULL || strcmp(zType, "oidc-self-signed") != 0 ||
      is_set(p, "oidc_audience")) {
    return SQLITE_OK;
  }
  zUrl = dbx_config_token_url(p);
  if (zUrl == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  rc = val_put(p, key_index("oidc_audience"), zUrl, strlen(zUrl),
               DBX_SRC_DEFAULT, pErr);
  sqlite3_free(zUrl);
  return rc;
}

int dbx_config_resolve(DbxConfig *p, DbxError *pErr) {
  int i, rc;
  DbxSource eProfile = dbx_config_source(p, "profile");
  if (p->bResolved) return SQLITE_OK;
  if (eProfile == DBX_SRC_OPTION || eProfile == DBX_SRC_SESSION) {
    /*
    ** A profile named in SQL (option or dbx_config) is what the user asked
    ** for: it comes right after options (README), so DATABRICKS_HOST or
    ** DATABRICKS_TOKEN of the shell cannot redirect it to another workspace
    ** or mix in a second auth method. The environment then fills the rest,
    ** auth attributes only when neither options nor the profile had any.
    */
    int iFile = key_index("config_file");
    const char *zFile = getenv("DATABRICKS_CONFIG_FILE");
    if (p->a[iFile].z == NULL && zFile && zFile[0]) {
      rc = val_put(p, iFile, zFile, strlen(zFile), DBX_SRC_ENV, pErr);
      if (rc) return rc;
    }
    rc = load_profile(p, pErr);
    if (rc) return rc;
    rc = fill_from_env(p, any_auth_set(p), pErr);
    if (rc) return rc;
  } else {
    /* 1. the environment fills what options and defaults left unset */
    rc = fill_from_env(p, 0, pErr);
    if (rc) return rc;
    /* 2. the file, unless no profile is named and host or auth is set */
    if (is_set(p, "profile") || !(is_set(p, "host") || any_auth_set(p))) {
      rc = load_profile(p, pErr);
      if (rc) return rc;
    }
  }
  /* 3. secret references, host, auth */
  for (i = 0; i < N_KEY; i++) {
    if (aKey[i].flags & CFG_SECRET) {
      rc = deref_secret(p, i, pErr);
      if (rc) return rc;
    }
  }
  if (is_set(p, "warehouse_id")) {
    char zId[128];
    int iW = key_index("warehouse_id");
    if (warehouse_from(p->a[iW].z, zId, sizeof(zId))) {
      return dbx_error_set(
          pErr, SQLITE_ERROR,
          "invalid warehouse_id '%s' (from %s): give a "
          "warehouse id or an HTTP path /sql/1.0/warehouses/<id>",
          p->a[iW].z, source_name(p->a[iW].eSrc));
    }
    rc = val_put(p, iW, zId, strlen(zId), p->a[iW].eSrc, pErr);
    if (rc) return rc;
  }
  rc = normalise_host(p, pErr);
  if (rc) return rc;
  rc = choose_auth(p, pErr);
  if (rc) return rc;
  rc = dbx_config_require(p, "host", pErr);
  if (rc) return rc;
  rc = default_audience(p, pErr);
  if (rc) return rc;
  p->bResolved = 1;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Reports.
*/

char *dbx_config_json(const DbxConfig *p) {
  DbxBuf b = {0};
  int i, bFirst = 1;
  dbx_buf_append(&b, "{", 1);
  for (i = 0; i < N_KEY; i++) {
    const char *zValue = (aKey[i].flags & CFG_SECRET) ? "***" : p->a[i].z;
    if (p->a[i].z == NULL) continue;
    if (!bFirst) dbx_buf_append(&b, ",", 1);
    bFirst = 0;
    dbx_buf_append_json(&b, aKey[i].zName, strlen(aKey[i].zName));
    dbx_buf_appendf(&b, ":{\"value\":");
    dbx_buf_append_json(&b, zValue, strlen(zValue));
    dbx_buf_appendf(&b, ",\"source\":\"%s\"}", source_name(p->a[i].eSrc));
  }
  if (p->zFileUsed) {
    if (!bFirst) dbx_buf_append(&b, ",", 1);
    bFirst = 0;
    dbx_buf_appendf(&b, "\"config_file_read\":{\"value\":");
    dbx_buf_append_json(&b, p->zFileUsed, strlen(p->zFileUsed));
    dbx_buf_appendf(&b, ",\"source\":\"profile\"}");
  }
  if (p->zProfileUsed) {
    if (!bFirst) dbx_buf_append(&b, ",", 1);
    dbx_buf_appendf(&b, "\"profile_read\":{\"value\":");
    dbx_buf_append_json(&b, p->zProfileUsed, strlen(p->zProfileUsed));
    dbx_buf_appendf(&b, ",\"source\":\"profile\"}");
  }
  dbx_buf_append(&b, "}", 1);
  return dbx_buf_take(&b);
}

/* The identity, with the HTTP settings when bHttp (see config.h). */
static char *config_identity(const DbxConfig *p, int bHttp) {
  const char *az[20];
  char zHex[40];
  int n = 0;
  az[n++] = dbx_config_get(p, "host");
  az[n++] = dbx_config_get(p, "auth_type");
  az[n++] = dbx_config_get(p, "client_id");
  az[n++] = dbx_config_get(p, "token");
  az[n++] = dbx_config_get(p, "client_secret");
  az[n++] = dbx_config_get(p, "oidc_token_env");
  az[n++] = dbx_config_get(p, "oidc_token_filepath");
  az[n++] = dbx_config_get(p, "oidc_private_key_file");
  az[n++] = dbx_config_get(p, "oidc_issuer");
  az[n++] = dbx_config_get(p, "oidc_subject");
  az[n++] = dbx_config_get(p, "oidc_audience");
  az[n++] = dbx_config_get(p, "scopes");
  az[n++] = dbx_config_get(p, "oidc_key_id");
  az[n++] = dbx_config_get(p, "oidc_token_lifetime_seconds");
  if (bHttp) {
    /* settings of the HTTP handle, so a cache of clients keyed by identity
    ** never hands out a client with other time-outs or another CA bundle */
    az[n++] = dbx_config_get(p, "http_timeout_seconds");
    az[n++] = dbx_config_get(p, "connect_timeout_seconds");
    az[n++] = dbx_config_get(p, "retry_timeout_seconds");
    az[n++] = dbx_config_get(p, "ca_bundle");
    az[n++] = dbx_config_get(p, "workspace_id");
  }
  dbx_digest_hex(az, n, zHex);
  return sqlite3_mprintf("%s|%s|%s|%s", az[0] ? az[0] : "", az[1] ? az[1] : "",
                         az[2] ? az[2] : "", zHex);
}

char *dbx_config_identity(const DbxConfig *p) {
  return config_identity(p, 1);
}

char *dbx_config_auth_identity(const DbxConfig *p) {
  return config_identity(p, 0);
}
