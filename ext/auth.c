/*
** auth.c: credential providers and the process-wide token cache.
**
** pat sends the configured token. The OAuth types (oauth-m2m, env-oidc,
** file-oidc, oidc-self-signed) get an access token from the workspace token
** endpoint <host>/oidc/v1/token and keep it in a cache entry
** shared by every DbxAuth with the same dbx_config_identity(). The entry
** has its own mutex, so two connections of one identity refresh once and
** different identities never wait for each other.
**
** Serves every remote call behind the SQL surface (the databricks virtual
** table, dbx_query(), dbx_exec(), dbx_catalogs() and the other catalog
** functions): the workspace client asks here for the Authorization header
** of each request.
*/
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth.h"
#include "jwk.h"

#define MIN_LEFT_MS  40000        /* never use a token with less left */
#define MAX_EARLY_MS (20 * 60000) /* refresh at most 20 min early */
/* The largest token reply read: tokens are a few kilobytes; more is a
** server to stop reading from, not a reason to grow the process. */
#define MAX_TOKEN_REPLY ((size_t)1024 * 1024)

/* One cached OAuth token, shared by identity. */
typedef struct TokenEntry {
  char *zIdentity;          /* dbx_config_identity(); owned */
  pthread_mutex_t mu;       /* guards the token fields below */
  char *zToken;             /* access token, secret; owned */
  char *zTokenType;         /* token_type as returned ("Bearer"); owned */
  int64_t expiryMs;         /* clock time the token expires */
  int64_t refreshAtMs;      /* clock time to fetch a new one */
  int nRef;                 /* DbxAuth objects using the entry */
  struct TokenEntry *pNext; /* next entry of the cache list */
} TokenEntry;

static pthread_mutex_t cacheMutex = PTHREAD_MUTEX_INITIALIZER;
static TokenEntry *pCache = NULL; /* the process-wide list */

struct DbxAuth {
  char zType[24];      /* auth type */
  char *zHost;         /* normalised host; owned */
  char *zToken;        /* pat token, secret; owned */
  char *zClientId;     /* owned, or NULL */
  char *zClientSecret; /* secret; owned, or NULL */
  char *zScopes;       /* space-separated scopes; owned */
  char *zOidcEnv;      /* env-oidc variable name; owned */
  char *zOidcFile;     /* file-oidc path; owned */
  char *zKeyFile;      /* oidc-self-signed key path; owned */
  char *zIssuer;       /* oidc-self-signed iss; owned */
  char *zSubject;      /* oidc-self-signed sub; owned */
  char *zAudience;     /* oidc-self-signed aud; owned */
  char *zKid;          /* oidc-self-signed kid; owned, or NULL */
  long nLifetime;      /* oidc-self-signed exp - iat, seconds */
  char *zTokenUrl;     /* token endpoint; owned */
  char *zLastSubject;  /* last subject JWT sent, secret (for scrubbing) */
  TokenEntry *pEntry;  /* shared cache entry (OAuth types), or NULL */
};

/* ---------------------------------------------------------------------
** The cache.
*/

static void entry_wipe_token(TokenEntry *e) {
  dbx_free_secret(e->zToken);
  sqlite3_free(e->zTokenType);
  e->zToken = NULL;
  e->zTokenType = NULL;
  e->expiryMs = e->refreshAtMs = 0;
}

/* Wipes and frees an entry no DbxAuth uses any more (cacheMutex held). */
static void entry_free(TokenEntry *e) {
  entry_wipe_token(e);
  pthread_mutex_destroy(&e->mu);
  sqlite3_free(e->zIdentity);
  sqlite3_free(e);
}

/* Finds or adds the entry of zIdentity and takes a reference. */
static TokenEntry *cache_acquire(const char *zIdentity) {
  TokenEntry *e;
  pthread_mutex_lock(&cacheMutex);
  for (e = pCache; e; e = e->pNext) {
    if (strcmp(e->zIdentity, zIdentity) == 0) break;
  }
  if (e == NULL) {
    e = sqlite3_malloc64(sizeof(*e));
    if (e) {
      memset(e, 0, sizeof(*e));
      e->zIdentity = dbx_strdup(zIdentity);
      if (e->zIdentity == NULL) {
        sqlite3_free(e);
        e = NULL;
      } else {
        pthread_mutex_init(&e->mu, NULL);
        e->pNext = pCache;
        pCache = e;
      }
    }
  }
  if (e) e->nRef++;
  pthread_mutex_unlock(&cacheMutex);
  return e;
}

/* Drops a reference; the last one wipes and frees the entry. */
static void cache_release(TokenEntry *e) {
  TokenEntry **pp;
  if (e == NULL) return;
  pthread_mutex_lock(&cacheMutex);
  if (--e->nRef == 0) {
    for (pp = &pCache; *pp; pp = &(*pp)->pNext) {
      if (*pp == e) {
        *pp = e->pNext;
        break;
      }
    }
    entry_free(e);
  }
  pthread_mutex_unlock(&cacheMutex);
}

void dbx_auth_cache_clear(void) {
  TokenEntry *e;
  pthread_mutex_lock(&cacheMutex);
  for (e = pCache; e; e = e->pNext) {
    pthread_mutex_lock(&e->mu);
    entry_wipe_token(e);
    pthread_mutex_unlock(&e->mu);
  }
  pthread_mutex_unlock(&cacheMutex);
}

/* ---------------------------------------------------------------------
** Encoding helpers.
*/

char *dbx_auth_base64url(const unsigned char *a, size_t n) {
  static const char zAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  char *z = sqlite3_malloc64(n / 3 * 4 + 5), *zOut;
  size_t i;
  if (z == NULL) return NULL;
  zOut = z;
  for (i = 0; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)a[i] << 16 | (uint32_t)a[i + 1] << 8 | a[i + 2];
    *zOut++ = zAlpha[v >> 18 & 63];
    *zOut++ = zAlpha[v >> 12 & 63];
    *zOut++ = zAlpha[v >> 6 & 63];
    *zOut++ = zAlpha[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)a[i] << 16;
    *zOut++ = zAlpha[v >> 18 & 63];
    *zOut++ = zAlpha[v >> 12 & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)a[i] << 16 | (uint32_t)a[i + 1] << 8;
    *zOut++ = zAlpha[v >> 18 & 63];
    *zOut++ = zAlpha[v >> 12 & 63];
    *zOut++ = zAlpha[v >> 6 & 63];
  }
  *zOut = 0;
  return z;
}

/* Standard base64 with padding (for the Basic header). */
static void base64_std(DbxBuf *b, const unsigned char *a, size_t n) {
  static const char zAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i;
  char q[4];
  for (i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)a[i] << 16;
    if (i + 1 < n) v |= (uint32_t)a[i + 1] << 8;
    if (i + 2 < n) v |= a[i + 2];
    q[0] = zAlpha[v >> 18 & 63];
    q[1] = zAlpha[v >> 12 & 63];
    q[2] = i + 1 < n ? zAlpha[v >> 6 & 63] : '=';
    q[3] = i + 2 < n ? zAlpha[v & 63] : '=';
    dbx_buf_append(b, q, 4);
  }
}

/* Decodes base64url z[0..n) (no padding) into a string from sqlite3_malloc;
** NULL for bad input or no memory. */
static char *base64url_decode(const char *z, size_t n) {
  char *zOut = sqlite3_malloc64(n / 4 * 3 + 4);
  uint32_t v = 0;
  size_t i, o = 0;
  int nBits = 0;
  if (zOut == NULL) return NULL;
  for (i = 0; i < n; i++) {
    const char c = z[i];
    int d = (c >= 'A' && c <= 'Z')   ? c - 'A'
            : (c >= 'a' && c <= 'z') ? c - 'a' + 26
            : (c >= '0' && c <= '9') ? c - '0' + 52
            : c == '-'               ? 62
            : c == '_'               ? 63
                                     : -1;
    if (d < 0) {
      sqlite3_free(zOut);
      return NULL;
    }
    v = v << 6 | (uint32_t)d;
    nBits += 6;
    if (nBits >= 8) {
      nBits -= 8;
      zOut[o++] = (char)(v >> nBits & 0xff);
    }
  }
  zOut[o] = 0;
  return zOut;
}

/* Copies a claim for a message into z[0..n): a string, or the strings of
** an array joined by ", "; control characters and quotes become '?'. */
static void claim_text(const cJSON *pClaim, char *z, size_t n) {
  const cJSON *pItem;
  DbxBuf b = {0};
  size_t i;
  if (cJSON_IsString(pClaim)) {
    dbx_buf_appendf(&b, "%s", pClaim->valuestring);
  } else if (cJSON_IsArray(pClaim)) {
    cJSON_ArrayForEach(pItem, pClaim) {
      if (!cJSON_IsString(pItem)) continue;
      dbx_buf_appendf(&b, "%s%s", b.n ? ", " : "", pItem->valuestring);
    }
  }
  snprintf(z, n, "%s", b.z && b.n ? b.z : "(none)");
  if (b.n >= n && n > 4) memcpy(z + n - 4, "...", 4);
  for (i = 0; z[i]; i++) {
    if ((unsigned char)z[i] < 0x20 || z[i] == 0x7f || z[i] == '"') z[i] = '?';
  }
  dbx_buf_free(&b);
}

int dbx_auth_jwt_claims(const char *zJwt, DbxJwtClaims *pOut) {
  const char *zDot1 = zJwt ? strchr(zJwt, '.') : NULL, *zDot2;
  char *zPayload;
  cJSON *pJson;
  memset(pOut, 0, sizeof(*pOut));
  if (zDot1 == NULL || (zDot2 = strchr(zDot1 + 1, '.')) == NULL) return 1;
  zPayload = base64url_decode(zDot1 + 1, (size_t)(zDot2 - zDot1 - 1));
  pJson = zPayload ? cJSON_Parse(zPayload) : NULL;
  sqlite3_free(zPayload);
  if (!cJSON_IsObject(pJson)) {
    cJSON_Delete(pJson);
    return 1;
  }
  claim_text(cJSON_GetObjectItemCaseSensitive(pJson, "iss"), pOut->zIss,
             sizeof(pOut->zIss));
  claim_text(cJSON_GetObjectItemCaseSensitive(pJson, "aud"), pOut->zAud,
             sizeof(pOut->zAud));
  claim_text(cJSON_GetObjectItemCaseSensitive(pJson, "sub"), pOut->zSub,
             sizeof(pOut->zSub));
  cJSON_Delete(pJson);
  return 0;
}

/*
** After the token endpoint refused a token exchange: adds to pErr's
** message the issuer, audience and subject of the subject JWT that was
** sent (none of them is secret; the JWT itself is never shown), since a
** federation policy that does not match one of them is the usual cause.
** An invalid_grant is the policy's answer: the message says so, and that
** a deleted policy (revoked access) or a wrong one is what to look at.
*/
static void explain_refused_exchange(const DbxAuth *p, DbxError *pErr) {
  DbxJwtClaims c;
  DbxBuf b = {0};
  size_t n = strlen(pErr->zMsg), nAdd;
  if (dbx_auth_jwt_claims(p->zLastSubject, &c) != 0) {
    dbx_buf_appendf(&b, " (the subject token sent is not a JWT with a JSON "
                        "payload)");
  } else if (strcmp(pErr->zCode, "invalid_grant") == 0) {
    /* a sentence of its own after the server's, else a clause */
    dbx_buf_appendf(&b,
                    "%s federation policy rejected the subject token (iss "
                    "\"%s\", aud \"%s\", sub \"%s\"): the service "
                    "principal needs a federation policy whose issuer, "
                    "audiences and subject match (dbx_federation_policy())",
                    n && pErr->zMsg[n - 1] == '.' ? " The" : ": the", c.zIss,
                    c.zAud, c.zSub);
  } else {
    dbx_buf_appendf(&b,
                    " (subject token sent: iss \"%s\", aud \"%s\", sub "
                    "\"%s\"; the federation policy's issuer, audiences and "
                    "subject must match)",
                    c.zIss, c.zAud, c.zSub);
  }
  if (b.rc == SQLITE_OK && n + 1 < sizeof(pErr->zMsg)) {
    nAdd = b.n < sizeof(pErr->zMsg) - n - 1 ? b.n : sizeof(pErr->zMsg) - n - 1;
    memcpy(pErr->zMsg + n, b.z, nAdd);
    pErr->zMsg[n + nAdd] = 0;
  }
  dbx_buf_free(&b);
}

/* ---------------------------------------------------------------------
** JWT minting (self-hosted issuer).
*/

/* Adds a string member (cJSON does the escaping); 0 when out of memory. */
static int json_add(cJSON *p, const char *zName, const char *zVal) {
  return cJSON_AddStringToObject(p, zName, zVal) != NULL;
}

/*
** The signing input "<header>.<claims>", each base64url of its JSON, from
** sqlite3_malloc; NULL when out of memory. zKid may be NULL or "".
*/
static char *jwt_signing_input(const char *zAlg, const char *zKid,
                               const char *zIss, const char *zSub,
                               const char *zAud, const char *zJti, int64_t tNow,
                               long nLifetime) {
  cJSON *pHead = cJSON_CreateObject(), *pClaims = cJSON_CreateObject();
  char *zHead = NULL, *zClaims = NULL, *zH64 = NULL, *zC64 = NULL;
  char *zInput = NULL;
  if (pHead && pClaims && json_add(pHead, "alg", zAlg) &&
      json_add(pHead, "typ", "JWT") &&
      (zKid == NULL || zKid[0] == 0 || json_add(pHead, "kid", zKid)) &&
      json_add(pClaims, "iss", zIss) && json_add(pClaims, "sub", zSub) &&
      json_add(pClaims, "aud", zAud) &&
      cJSON_AddNumberToObject(pClaims, "iat", (double)tNow) &&
      cJSON_AddNumberToObject(pClaims, "exp", (double)(tNow + nLifetime)) &&
      json_add(pClaims, "jti", zJti)) {
    zHead = cJSON_PrintUnformatted(pHead);
    zClaims = cJSON_PrintUnformatted(pClaims);
  }
  if (zHead && zClaims) {
    zH64 = dbx_auth_base64url((const unsigned char *)zHead, strlen(zHead));
    zC64 = dbx_auth_base64url((const unsigned char *)zClaims, strlen(zClaims));
  }
  if (zH64 && zC64) zInput = sqlite3_mprintf("%s.%s", zH64, zC64);
  cJSON_Delete(pHead);
  cJSON_Delete(pClaims);
  cJSON_free(zHead);
  cJSON_free(zClaims);
  sqlite3_free(zH64);
  sqlite3_free(zC64);
  return zInput;
}

/*
** Signs zInput with SHA-256 and pKey and returns the base64url signature
** in *pzSig (sqlite3_free): PKCS#1 v1.5 for RSA, and for EC the raw r||s
** of 32 bytes each that JWS wants rather than the DER of ECDSA_SIG.
*/
static int jwt_sign(EVP_PKEY *pKey, int bEc, const char *zInput, char **pzSig,
                    DbxError *pErr) {
  EVP_MD_CTX *pMd = EVP_MD_CTX_new();
  unsigned char *aSig = NULL, aRaw[64];
  size_t nSig = 0, nInput = strlen(zInput);
  int rc = SQLITE_OK;
  *pzSig = NULL;
  if (pMd == NULL ||
      EVP_DigestSignInit(pMd, NULL, EVP_sha256(), NULL, pKey) != 1 ||
      EVP_DigestSign(pMd, NULL, &nSig, (const unsigned char *)zInput, nInput) !=
          1 ||
      (aSig = OPENSSL_malloc(nSig)) == NULL ||
      EVP_DigestSign(pMd, aSig, &nSig, (const unsigned char *)zInput, nInput) !=
          1) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "signing the OIDC subject token with %s failed: check "
                       "oidc_private_key_file",
                       bEc ? "ES256" : "RS256");
  } else if (bEc) {
    const unsigned char *pDer = aSig;
    ECDSA_SIG *pEcSig = d2i_ECDSA_SIG(NULL, &pDer, (long)nSig);
    const BIGNUM *pR = NULL, *pS = NULL;
    if (pEcSig == NULL) {
      rc = dbx_error_set(pErr, SQLITE_ERROR, "ES256 signature not decodable");
    } else {
      ECDSA_SIG_get0(pEcSig, &pR, &pS);
      BN_bn2binpad(pR, aRaw, 32);
      BN_bn2binpad(pS, aRaw + 32, 32);
      ECDSA_SIG_free(pEcSig);
      *pzSig = dbx_auth_base64url(aRaw, 64);
    }
  } else {
    *pzSig = dbx_auth_base64url(aSig, nSig);
  }
  if (rc == SQLITE_OK && *pzSig == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  EVP_MD_CTX_free(pMd);
  if (aSig) OPENSSL_clear_free(aSig, nSig);
  return rc;
}

int dbx_auth_mint_jwt(const char *zKeyFile, const char *zIss, const char *zSub,
                      const char *zAud, const char *zKid, long nLifetime,
                      int64_t tNow, char **pzJwt, DbxError *pErr) {
  EVP_PKEY *pKey = NULL;
  unsigned char aJti[16];
  char zJti[40], *zInput = NULL, *zSig = NULL, *zThumb = NULL;
  int rc, bEc = 0, i;

  *pzJwt = NULL;
  rc = dbx_jwk_load(zKeyFile, "oidc_private_key_file", 0, &pKey, &bEc, pErr);
  if (rc) return rc;
  if (zKid == NULL || zKid[0] == 0) {
    /* the kid dbx_jwks() gives the same key in the policy's JWKS */
    rc = dbx_jwk_thumbprint(pKey, &zThumb, pErr);
    if (rc) goto done;
    zKid = zThumb;
  }
  if (RAND_bytes(aJti, sizeof(aJti)) != 1) {
    rc = dbx_error_set(pErr, SQLITE_ERROR, "no random bytes for the JWT id");
    goto done;
  }
  for (i = 0; i < 16; i++)
    sprintf(zJti + 2 * i, "%02x", aJti[i]);
  zInput = jwt_signing_input(bEc ? "ES256" : "RS256", zKid, zIss, zSub, zAud,
                             zJti, tNow, nLifetime);
  if (zInput == NULL) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  rc = jwt_sign(pKey, bEc, zInput, &zSig, pErr);
  if (rc) goto done;
  *pzJwt = sqlite3_mprintf("%s.%s", zInput, zSig);
  if (*pzJwt == NULL) rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");

done:
  EVP_PKEY_free(pKey);
  sqlite3_free(zInput);
  sqlite3_free(zSig);
  sqlite3_free(zThumb);
  return rc;
}

/* ---------------------------------------------------------------------
** Providers.
*/

static void scrub_own(const DbxAuth *p, DbxError *pErr);

/* True for the auth types that fetch a token (all but pat). */
static int is_oauth(const DbxAuth *p) {
  return strcmp(p->zType, "pat") != 0;
}

const char *dbx_auth_type(const DbxAuth *p) {
  return p->zType;
}

int dbx_auth_can_refresh(const DbxAuth *p) {
  return is_oauth(p);
}

void dbx_auth_free(DbxAuth *p) {
  if (p == NULL) return;
  cache_release(p->pEntry);
  sqlite3_free(p->zHost);
  dbx_free_secret(p->zToken);
  sqlite3_free(p->zClientId);
  dbx_free_secret(p->zClientSecret);
  sqlite3_free(p->zScopes);
  sqlite3_free(p->zOidcEnv);
  sqlite3_free(p->zOidcFile);
  sqlite3_free(p->zKeyFile);
  sqlite3_free(p->zIssuer);
  sqlite3_free(p->zSubject);
  sqlite3_free(p->zAudience);
  sqlite3_free(p->zKid);
  sqlite3_free(p->zTokenUrl);
  dbx_free_secret(p->zLastSubject);
  sqlite3_free(p);
}

/* Duplicates an optional setting; returns 0 when out of memory. */
static int dup_opt(char **pz, const char *z) {
  if (z == NULL) return 1;
  *pz = dbx_strdup(z);
  return *pz != NULL;
}

/* Space-separated scopes from "a,b c": default all-apis. */
static char *scopes_from(const char *z) {
  DbxBuf b = {0};
  if (z == NULL || z[0] == 0) z = "all-apis";
  while (*z) {
    size_t n;
    while (*z == ',' || isspace((unsigned char)*z))
      z++;
    n = strcspn(z, ", \t");
    if (n) {
      if (b.n) dbx_buf_append(&b, " ", 1);
      dbx_buf_append(&b, z, n);
    }
    z += n;
  }
  return dbx_buf_take(&b);
}

int dbx_auth_new(const DbxConfig *pConfig, DbxAuth **ppOut, DbxError *pErr) {
  DbxAuth *p;
  const char *zType = dbx_config_get(pConfig, "auth_type");
  const char *zHost = dbx_config_get(pConfig, "host");
  char *zIdentity;
  int bOk = 1;

  *ppOut = NULL;
  if (zType == NULL || zHost == NULL) {
    return dbx_error_set(pErr, SQLITE_MISUSE,
                         "configuration not resolved: no host or auth type");
  }
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  snprintf(p->zType, sizeof(p->zType), "%s", zType);
  bOk &= dup_opt(&p->zHost, zHost);
  bOk &= dup_opt(&p->zToken, dbx_config_get(pConfig, "token"));
  bOk &= dup_opt(&p->zClientId, dbx_config_get(pConfig, "client_id"));
  bOk &= dup_opt(&p->zClientSecret, dbx_config_get(pConfig, "client_secret"));
  dbx_secret_add(p->zToken); /* scrubbed from every error from now on */
  dbx_secret_add(p->zClientSecret);
  bOk &= dup_opt(&p->zOidcEnv, dbx_config_get(pConfig, "oidc_token_env"));
  bOk &= dup_opt(&p->zOidcFile, dbx_config_get(pConfig, "oidc_token_filepath"));
  bOk &=
      dup_opt(&p->zKeyFile, dbx_config_get(pConfig, "oidc_private_key_file"));
  bOk &= dup_opt(&p->zIssuer, dbx_config_get(pConfig, "oidc_issuer"));
  bOk &= dup_opt(&p->zSubject, dbx_config_get(pConfig, "oidc_subject"));
  bOk &= dup_opt(&p->zKid, dbx_config_get(pConfig, "oidc_key_id"));
  p->zScopes = scopes_from(dbx_config_get(pConfig, "scopes"));
  p->nLifetime =
      dbx_config_get_int(pConfig, "oidc_token_lifetime_seconds", 300);
  p->zTokenUrl = dbx_config_token_url(pConfig);
  if (dbx_config_get(pConfig, "oidc_audience")) {
    bOk &= dup_opt(&p->zAudience, dbx_config_get(pConfig, "oidc_audience"));
  } else if (p->zTokenUrl) {
    p->zAudience = dbx_strdup(p->zTokenUrl);
  }
  if (!bOk || p->zScopes == NULL || p->zTokenUrl == NULL ||
      p->zAudience == NULL) {
    dbx_auth_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  if (strcmp(zType, "pat") == 0 && (p->zToken == NULL || !p->zToken[0])) {
    dbx_auth_free(p);
    return dbx_config_require(pConfig, "token", pErr);
  }
  if (is_oauth(p)) {
    zIdentity = dbx_config_auth_identity(pConfig);
    p->pEntry = zIdentity ? cache_acquire(zIdentity) : NULL;
    sqlite3_free(zIdentity);
    if (p->pEntry == NULL) {
      dbx_auth_free(p);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  *ppOut = p;
  return SQLITE_OK;
}

/* Reads the subject JWT of the token exchange (fresh on every refresh). */
static int subject_token(DbxAuth *p, char **pzJwt, DbxError *pErr) {
  *pzJwt = NULL;
  if (strcmp(p->zType, "env-oidc") == 0) {
    const char *zName =
        p->zOidcEnv && p->zOidcEnv[0] ? p->zOidcEnv : "DATABRICKS_OIDC_TOKEN";
    const char *zV = getenv(zName);
    if (zV == NULL || zV[0] == 0) {
      return dbx_error_set(pErr, SQLITE_AUTH,
                           "env-oidc: environment variable %s holds no OIDC "
                           "token: export the JWT there",
                           zName);
    }
    *pzJwt = dbx_strdup(zV);
  } else if (strcmp(p->zType, "file-oidc") == 0) {
    DbxError eRead;
    char *zText = NULL;
    size_t n = 0, i, j;
    dbx_error_clear(&eRead);
    if (dbx_config_read_file(p->zOidcFile, DBX_SECRET_FILE_MAX,
                             "file-oidc: oidc_token_filepath", &zText, &n,
                             &eRead) != SQLITE_OK) {
      return dbx_error_set(pErr, SQLITE_AUTH, "%s", eRead.zMsg);
    }
    /* trim */
    for (i = 0; i < n && isspace((unsigned char)zText[i]); i++) {
    }
    for (j = n; j > i && isspace((unsigned char)zText[j - 1]); j--) {
    }
    if (j == i || memchr(zText + i, 0, j - i)) {
      OPENSSL_cleanse(zText, n);
      sqlite3_free(zText);
      return dbx_error_set(
          pErr, SQLITE_AUTH, "file-oidc: %s %s: write the JWT there",
          p->zOidcFile, j == i ? "is empty" : "holds a NUL byte");
    }
    *pzJwt = sqlite3_mprintf("%.*s", (int)(j - i), zText + i);
    OPENSSL_cleanse(zText, n);
    sqlite3_free(zText);
  } else {
    return dbx_auth_mint_jwt(p->zKeyFile, p->zIssuer, p->zSubject, p->zAudience,
                             p->zKid, p->nLifetime, (int64_t)time(NULL), pzJwt,
                             pErr);
  }
  if (*pzJwt == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  return SQLITE_OK;
}

int dbx_auth_subject_claims(const DbxConfig *pConfig, DbxJwtClaims *pOut,
                            DbxError *pErr) {
  const char *zType = dbx_config_get(pConfig, "auth_type");
  DbxAuth *p = NULL;
  char *zJwt = NULL;
  int rc;
  memset(pOut, 0, sizeof(*pOut));
  if (zType == NULL ||
      (strcmp(zType, "env-oidc") != 0 && strcmp(zType, "file-oidc") != 0)) {
    return SQLITE_NOTFOUND;
  }
  rc = dbx_auth_new(pConfig, &p, pErr);
  if (rc == SQLITE_OK) rc = subject_token(p, &zJwt, pErr);
  if (rc == SQLITE_OK && dbx_auth_jwt_claims(zJwt, pOut) != 0) {
    rc = dbx_error_set(pErr, SQLITE_AUTH,
                       "%s: the subject token is not a JWT with a JSON "
                       "payload",
                       zType);
  }
  dbx_free_secret(zJwt);
  dbx_auth_free(p);
  return rc;
}

/*
** The form body of a token request in *pBody and, for oauth-m2m, the
** Basic "Authorization: ..." header line in *pBasic (both secret: free
** them with dbx_buf_free_secret). The token exchange reads a fresh
** subject JWT and remembers it in p->zLastSubject for scrubbing.
*/
static int token_request(DbxAuth *p, DbxBuf *pBody, DbxBuf *pBasic,
                         DbxError *pErr) {
  if (strcmp(p->zType, "oauth-m2m") == 0) {
    DbxBuf cred = {0};
    dbx_buf_appendf(pBody, "grant_type=client_credentials&scope=");
    dbx_buf_append_url(pBody, p->zScopes, 1);
    dbx_buf_appendf(&cred, "%s:%s", p->zClientId, p->zClientSecret);
    dbx_buf_appendf(pBasic, "Authorization: Basic ");
    if (cred.rc == SQLITE_OK) {
      base64_std(pBasic, (unsigned char *)cred.z, cred.n);
      if (pBasic->rc == SQLITE_OK) {
        dbx_secret_add(pBasic->z + strlen("Authorization: Basic "));
      }
    }
    dbx_buf_free_secret(&cred);
  } else {
    char *zJwt = NULL;
    int rc = subject_token(p, &zJwt, pErr);
    if (rc) return rc;
    dbx_free_secret(p->zLastSubject);
    p->zLastSubject = zJwt;
    dbx_secret_add(zJwt);
    dbx_buf_appendf(pBody,
                    "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%"
                    "3Atoken-exchange&subject_token=");
    dbx_buf_append_url(pBody, zJwt, 1);
    dbx_buf_appendf(
        pBody, "&subject_token_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Atoken-"
               "type%%3Ajwt&scope=");
    dbx_buf_append_url(pBody, p->zScopes, 1);
    if (p->zClientId && p->zClientId[0]) {
      dbx_buf_appendf(pBody, "&client_id=");
      dbx_buf_append_url(pBody, p->zClientId, 1);
    }
  }
  if (pBody->rc != SQLITE_OK || pBasic->rc != SQLITE_OK) {
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  return SQLITE_OK;
}

/*
** Keeps the access token of a 2xx token reply in e (its mutex held), with
** its expiry and refresh time on pHttp's clock: expiry - min(ttl/2,
** 20 min). The parsed reply is wiped before it is freed.
*/
static int token_store(TokenEntry *e, DbxHttp *pHttp, const DbxBuf *pReply,
                       const char *zWhat, DbxError *pErr) {
  cJSON *pJson, *pTok, *pType, *pExp;
  int64_t ttlMs, now;
  int rc = SQLITE_OK;
  pJson = cJSON_ParseWithLength(pReply->z ? pReply->z : "", pReply->n);
  pTok = cJSON_GetObjectItemCaseSensitive(pJson, "access_token");
  pType = cJSON_GetObjectItemCaseSensitive(pJson, "token_type");
  pExp = cJSON_GetObjectItemCaseSensitive(pJson, "expires_in");
  if (!cJSON_IsString(pTok) || pTok->valuestring[0] == 0) {
    rc = dbx_error_set(pErr, SQLITE_AUTH,
                       "%s: the token endpoint answered without an "
                       "access_token: check host",
                       zWhat);
    goto done;
  }
  if (cJSON_IsNumber(pExp))
    ttlMs = (int64_t)(pExp->valuedouble * 1000);
  else if (cJSON_IsString(pExp))
    ttlMs = (int64_t)atoll(pExp->valuestring) * 1000;
  else
    ttlMs = 3600 * 1000;
  entry_wipe_token(e);
  e->zToken = dbx_strdup(pTok->valuestring);
  dbx_secret_add(e->zToken);
  e->zTokenType = dbx_strdup(cJSON_IsString(pType) && pType->valuestring[0]
                                 ? pType->valuestring
                                 : "Bearer");
  if (e->zToken == NULL || e->zTokenType == NULL) {
    entry_wipe_token(e);
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    goto done;
  }
  now = dbx_http_now_ms(pHttp);
  e->expiryMs = now + ttlMs;
  e->refreshAtMs =
      e->expiryMs - (ttlMs / 2 < MAX_EARLY_MS ? ttlMs / 2 : MAX_EARLY_MS);
done:
  dbx_json_free_secret(pJson); /* the parsed access token is a secret too */
  return rc;
}

/*
** Fetches a new token into e (its mutex held). A refused request (400,
** 401, 403) is SQLITE_AUTH; the error never holds one of p's secrets.
*/
static int fetch_token(DbxAuth *p, DbxHttp *pHttp, TokenEntry *e,
                       DbxError *pErr) {
  DbxBuf body = {0}, basic = {0};
  DbxHttpRequest req;
  DbxHttpResponse resp;
  const char *azHeader[3];
  int nHeader = 0, rc;
  char zWhat[80];

  memset(&resp, 0, sizeof(resp));
  snprintf(zWhat, sizeof(zWhat), "%s token request", p->zType);
  rc = token_request(p, &body, &basic, pErr);
  if (rc) goto done;
  if (basic.z) azHeader[nHeader++] = basic.z;
  azHeader[nHeader++] = "Content-Type: application/x-www-form-urlencoded";
  azHeader[nHeader++] = "Accept: application/json";
  memset(&req, 0, sizeof(req));
  req.zMethod = "POST";
  req.zUrl = p->zTokenUrl;
  req.azHeader = azHeader;
  req.nHeader = nHeader;
  req.pBody = body.z;
  req.nBody = body.n;
  resp.nMaxBody = MAX_TOKEN_REPLY;
  rc = dbx_http_send(pHttp, &req, DBX_RETRY_TOKEN, zWhat, &resp, pErr);
  if (rc) goto done;
  if (resp.status < 200 || resp.status > 299) {
    rc = dbx_http_error_from_response(resp.status, resp.body.z, resp.body.n,
                                      zWhat, pErr);
    if (resp.status == 400 || resp.status == 401 || resp.status == 403) {
      /* the request was refused: an auth failure, not a transport one */
      pErr->rc = rc = SQLITE_AUTH;
      if (strcmp(p->zType, "oauth-m2m") != 0) explain_refused_exchange(p, pErr);
    }
    scrub_own(p, pErr);
    goto done;
  }
  rc = token_store(e, pHttp, &resp.body, zWhat, pErr);

done:
  dbx_buf_free_secret(&resp.body);
  dbx_buf_free_secret(&body);
  dbx_buf_free_secret(&basic);
  return rc;
}

int dbx_auth_header(DbxAuth *p, DbxHttp *pHttp, int bForce, char **pzHeader,
                    DbxError *pErr) {
  TokenEntry *e = p->pEntry;
  int64_t now;
  int rc = SQLITE_OK;

  *pzHeader = NULL;
  if (!is_oauth(p)) {
    *pzHeader = sqlite3_mprintf("Authorization: Bearer %s", p->zToken);
    return *pzHeader ? SQLITE_OK
                     : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  pthread_mutex_lock(&e->mu);
  now = dbx_http_now_ms(pHttp);
  if (bForce || e->zToken == NULL || now >= e->refreshAtMs ||
      e->expiryMs - now < MIN_LEFT_MS) {
    DbxError err2;
    dbx_error_clear(&err2);
    rc = fetch_token(p, pHttp, e, &err2);
    if (rc != SQLITE_OK) {
      /* keep using a token that is still good for a while */
      if (!bForce && e->zToken && e->expiryMs - now >= MIN_LEFT_MS) {
        rc = SQLITE_OK;
      } else {
        if (pErr && pErr->rc == SQLITE_OK) *pErr = err2;
        entry_wipe_token(e);
      }
    }
  }
  if (rc == SQLITE_OK) {
    *pzHeader =
        sqlite3_mprintf("Authorization: %s %s", e->zTokenType, e->zToken);
    if (*pzHeader == NULL)
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  pthread_mutex_unlock(&e->mu);
  return rc;
}

/* Replaces zSecret in the message and code of pErr, whole or cut short,
** by "***". */
static void scrub_one(DbxError *pErr, const char *zSecret) {
  dbx_error_scrub(pErr, &zSecret, 1);
}

/* Scrubs the provider's own secrets (no lock needed). */
static void scrub_own(const DbxAuth *p, DbxError *pErr) {
  scrub_one(pErr, p->zToken);
  scrub_one(pErr, p->zClientSecret);
  scrub_one(pErr, p->zLastSubject);
}

void dbx_auth_scrub(const DbxAuth *p, DbxError *pErr) {
  if (p == NULL || pErr == NULL) return;
  scrub_own(p, pErr);
  if (p->pEntry) {
    pthread_mutex_lock(&p->pEntry->mu);
    scrub_one(pErr, p->pEntry->zToken);
    pthread_mutex_unlock(&p->pEntry->mu);
  }
}
