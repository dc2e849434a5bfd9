/*
** config.c: settings and where they come from (spec section 1).
**
** A DbxConfig is a table of known keys, each with a value and its source.
** dbx_config_set() fills it from options and dbx_config() defaults;
** dbx_config_resolve() then adds the DATABRICKS_* environment, reads a
** profile of ~/.databrickscfg (or DATABRICKS_CONFIG_FILE) unless the
** file-not-read rule of spec 1.1 applies, dereferences env:NAME / file:PATH
** secret references, normalises host and warehouse, picks the auth type and
** rejects a mix of authorization methods.
**
** Secrets (token, client_secret) are wiped when replaced or freed, shown as
** "***" by dbx_config_json() and never quoted in an error.
*/
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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

/* Reads a whole file into a string from sqlite3_malloc. */
static char *read_file(const char *zPath, size_t *pn) {
  FILE *f = fopen(zPath, "rb");
  DbxBuf b = {0};
  char aChunk[4096];
  size_t n;
  if (f == NULL) return NULL;
  while ((n = fread(aChunk, 1, sizeof(aChunk), f)) > 0) {
    dbx_buf_append(&b, aChunk, n);
  }
  OPENSSL_cleanse(aChunk, sizeof(aChunk));
  fclose(f);
  if (b.rc != SQLITE_OK) {
    dbx_buf_free_secret(&b);
    return NULL;
  }
  if (pn) *pn = b.n;
  return dbx_buf_take(&b);
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
** Parses INI text. For each key=value of section zWant, calls
** xPair(pArg, key, value). Sets *pbFound when the section exists. Returns
** SQLITE_OK or an error naming the file and line of a malformed line.
** The text is modified in place.
*/
static int ini_scan(char *zText, const char *zFile, const char *zWant,
                    int *pbFound,
                    int (*xPair)(void *, const char *, const char *),
                    void *pArg, DbxError *pErr) {
  char *zLine = zText, *zNext;
  int iLine = 0, bIn = 0, rc;
  *pbFound = 0;
  for (; zLine && *zLine; zLine = zNext) {
    char *z, *zEq;
    iLine++;
    zNext = strchr(zLine, '\n');
    if (zNext) *zNext++ = 0;
    z = trim(zLine);
    if (*z == 0 || *z == '#' || *z == ';') continue;
    if (*z == '[') {
      char *zEnd = strchr(z, ']');
      if (zEnd == NULL) {
        return dbx_error_set(pErr, SQLITE_ERROR,
                             "malformed config file %s line %d: a section "
                             "header needs a closing ]",
                             zFile, iLine);
      }
      *zEnd = 0;
      z = trim(z + 1);
      bIn = strcmp(z, zWant) == 0;
      if (bIn) *pbFound = 1;
      continue;
    }
    zEq = strchr(z, '=');
    if (zEq == NULL) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "malformed config file %s line %d: expected "
                           "key = value or [profile]",
                           zFile, iLine);
    }
    if (!bIn) continue;
    *zEq = 0;
    {
      char *zKey = trim(z), *zVal = zEq + 1, *zC;
      /* an inline comment starts at " #" or " ;" (go-ini) */
      for (zC = zVal; *zC; zC++) {
        if ((*zC == '#' || *zC == ';') && zC > zVal &&
            isspace((unsigned char)zC[-1])) {
          *zC = 0;
          break;
        }
      }
      zVal = trim(zVal);
      if (*zKey == 0) {
        return dbx_error_set(pErr, SQLITE_ERROR,
                             "malformed config file %s line %d: empty key",
                             zFile, iLine);
      }
      rc = xPair(pArg, zKey, zVal);
      if (rc != SQLITE_OK) return rc;
    }
  }
  return SQLITE_OK;
}

typedef struct ProfileFill {
  DbxConfig *p;       /* config being filled */
  DbxError *pErr;     /* error sink */
  char zDefault[128]; /* [__settings__] default_profile */
} ProfileFill;

/* Collects [__settings__] default_profile; other keys are ignored. */
static int settings_pair(void *pArg, const char *zKey, const char *zVal) {
  ProfileFill *pF = (ProfileFill *)pArg;
  if (strcmp(zKey, "default_profile") == 0) {
    snprintf(pF->zDefault, sizeof(pF->zDefault), "%s", zVal);
  }
  return SQLITE_OK;
}

/* Takes one key = value of the chosen profile into the config. */
static int profile_pair(void *pArg, const char *zKey, const char *zVal) {
  ProfileFill *pF = (ProfileFill *)pArg;
  int i;
  char zId[128];
  if (strcmp(zKey, "http_path") == 0 || strcmp(zKey, "warehouse") == 0) {
    if (warehouse_from(zVal, zId, sizeof(zId)) == 0) {
      zKey = "warehouse_id";
      zVal = zId;
    }
  }
  i = key_index(zKey);
  if (i < 0 || pF->p->a[i].z || *zVal == 0) return SQLITE_OK; /* unknown/set */
  if (strcmp(zKey, "profile") == 0 || strcmp(zKey, "config_file") == 0) {
    return SQLITE_OK;
  }
  return val_put(pF->p, i, zVal, strlen(zVal), DBX_SRC_PROFILE, pF->pErr);
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

/* Reads the profile per spec 1.1. */
static int load_profile(DbxConfig *p, DbxError *pErr) {
  const char *zProfile = dbx_config_get(p, "profile");
  char *zPath = config_path(p), *zText = NULL;
  ProfileFill fill;
  int rc = SQLITE_OK, bFound = 0;
  const char *zWant;

  if (zPath == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(&fill, 0, sizeof(fill));
  fill.p = p;
  fill.pErr = pErr;
  zText = read_file(zPath, NULL);
  if (zText == NULL) {
    if (zProfile) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "profile '%s' requested but config file %s cannot be "
                         "read: create it or set DATABRICKS_CONFIG_FILE",
                         zProfile, zPath);
    }
    sqlite3_free(zPath);
    return rc;
  }
  /* pass 1: [__settings__] default_profile (on a copy: parsing is in place) */
  {
    char *zCopy = dbx_strdup(zText);
    if (zCopy == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    } else {
      rc = ini_scan(zCopy, zPath, "__settings__", &bFound, settings_pair, &fill,
                    pErr);
      dbx_free_secret(zCopy);
    }
  }
  if (rc == SQLITE_OK) {
    zWant =
        zProfile ? zProfile : (fill.zDefault[0] ? fill.zDefault : "DEFAULT");
    if (strcmp(zWant, "__settings__") == 0) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "__settings__ is reserved and is not a profile: name "
                         "another profile");
    } else {
      rc = ini_scan(zText, zPath, zWant, &bFound, profile_pair, &fill, pErr);
      if (rc == SQLITE_OK && !bFound && strcmp(zWant, "DEFAULT") != 0) {
        rc = dbx_error_set(pErr, SQLITE_ERROR,
                           "profile '%s' not found in %s: add a [%s] section "
                           "or name another profile",
                           zWant, zPath, zWant);
      }
      if (rc == SQLITE_OK && bFound) {
        p->zFileUsed = zPath;
        zPath = NULL;
        p->zProfileUsed = dbx_strdup(zWant);
      }
    }
  }
  dbx_free_secret(zText);
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
    return val_put(p, i, zV, strlen(zV), p->a[i].eSrc, pErr);
  }
  if (strncmp(z, "file:", 5) == 0) {
    size_t n = 0;
    char *zText = read_file(z + 5, &n), *zT;
    int rc;
    if (zText == NULL) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s refers to file %s, which cannot be read: check "
                           "the path and its permissions",
                           aKey[i].zName, z + 5);
    }
    zT = trim(zText);
    if (*zT == 0) {
      dbx_free_secret(zText);
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s refers to file %s, which is empty",
                           aKey[i].zName, z + 5);
    }
    rc = val_put(p, i, zT, strlen(zT), p->a[i].eSrc, pErr);
    OPENSSL_cleanse(zText, n);
    sqlite3_free(zText);
    return rc;
  }
  return SQLITE_OK;
}

/* Host normalisation of spec 1.1; may set workspace_id / account_id. */
static int normalise_host(DbxConfig *p, DbxError *pErr) {
  int iHost = key_index("host");
  const char *z = p->a[iHost].z, *zAuth, *zEnd, *zQ;
  DbxBuf b = {0};
  int rc;
  if (z == NULL) return SQLITE_OK;
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
** attributes belong to more than one auth group (spec 1.1); the first two
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

/* Checks that auth type zType has what it needs (spec 1.4). Returns
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

/* Picks and checks the auth type (spec 1.1 conflicts, 1.4 requirements):
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
    if (aKey[i].flags & CFG_INT) {
      rc = dbx_config_set(p, aKey[i].zName, zV, DBX_SRC_ENV, pErr);
    } else {
      rc = val_put(p, i, zV, strlen(zV), DBX_SRC_ENV, pErr);
    }
    if (rc) return rc;
  }
  return SQLITE_OK;
}

int dbx_config_resolve(DbxConfig *p, DbxError *pErr) {
  int i, rc;
  DbxSource eProfile = dbx_config_source(p, "profile");
  if (p->bResolved) return SQLITE_OK;
  if (eProfile == DBX_SRC_OPTION || eProfile == DBX_SRC_SESSION) {
    /*
    ** A profile named in SQL (option or dbx_config) is what the user asked
    ** for: it comes right after options (DESIGN.md), so DATABRICKS_HOST or
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
  p->bResolved = 1;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Reports.
*/

static void json_str(DbxBuf *b, const char *z) {
  dbx_buf_append(b, "\"", 1);
  for (; *z; z++) {
    unsigned char c = (unsigned char)*z;
    if (c == '"' || c == '\\')
      dbx_buf_appendf(b, "\\%c", c);
    else if (c < 0x20)
      dbx_buf_appendf(b, "\\u%04x", c);
    else
      dbx_buf_append(b, z, 1);
  }
  dbx_buf_append(b, "\"", 1);
}

char *dbx_config_json(const DbxConfig *p) {
  DbxBuf b = {0};
  int i, bFirst = 1;
  dbx_buf_append(&b, "{", 1);
  for (i = 0; i < N_KEY; i++) {
    if (p->a[i].z == NULL) continue;
    if (!bFirst) dbx_buf_append(&b, ",", 1);
    bFirst = 0;
    json_str(&b, aKey[i].zName);
    dbx_buf_appendf(&b, ":{\"value\":");
    json_str(&b, (aKey[i].flags & CFG_SECRET) ? "***" : p->a[i].z);
    dbx_buf_appendf(&b, ",\"source\":\"%s\"}", source_name(p->a[i].eSrc));
  }
  if (p->zFileUsed) {
    if (!bFirst) dbx_buf_append(&b, ",", 1);
    bFirst = 0;
    dbx_buf_appendf(&b, "\"config_file_read\":{\"value\":");
    json_str(&b, p->zFileUsed);
    dbx_buf_appendf(&b, ",\"source\":\"profile\"}");
  }
  if (p->zProfileUsed) {
    if (!bFirst) dbx_buf_append(&b, ",", 1);
    dbx_buf_appendf(&b, "\"profile_read\":{\"value\":");
    json_str(&b, p->zProfileUsed);
    dbx_buf_appendf(&b, ",\"source\":\"profile\"}");
  }
  dbx_buf_append(&b, "}", 1);
  return dbx_buf_take(&b);
}

/* Hex SHA-256 of the NUL-separated strings, first 16 bytes. */
static void digest_hex(const char *const *az, int n, char *zOut) {
  unsigned char aMd[EVP_MAX_MD_SIZE];
  unsigned int nMd = 0;
  EVP_MD_CTX *pCtx = EVP_MD_CTX_new();
  int i;
  zOut[0] = 0;
  if (pCtx == NULL) return;
  EVP_DigestInit_ex(pCtx, EVP_sha256(), NULL);
  for (i = 0; i < n; i++) {
    const char *z = az[i] ? az[i] : "";
    EVP_DigestUpdate(pCtx, z, strlen(z) + 1);
  }
  EVP_DigestFinal_ex(pCtx, aMd, &nMd);
  EVP_MD_CTX_free(pCtx);
  for (i = 0; i < 16 && i < (int)nMd; i++)
    sprintf(zOut + 2 * i, "%02x", aMd[i]);
  OPENSSL_cleanse(aMd, sizeof(aMd));
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
  digest_hex(az, n, zHex);
  return sqlite3_mprintf("%s|%s|%s|%s", az[0] ? az[0] : "", az[1] ? az[1] : "",
                         az[2] ? az[2] : "", zHex);
}

char *dbx_config_identity(const DbxConfig *p) {
  return config_identity(p, 1);
}

char *dbx_config_auth_identity(const DbxConfig *p) {
  return config_identity(p, 0);
}
