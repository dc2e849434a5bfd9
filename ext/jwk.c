/*
** jwk.c: the keys of the self-hosted issuer as JWKs, their RFC 7638
** thumbprints, and new keys (see jwk.h).
**
** Serves the auth layer (auth.c names the key of each JWT it mints by its
** thumbprint) and the SQL functions dbx_jwks() and dbx_keygen()
** (fn_federation.c). OpenSSL 3 EVP APIs only: the key parameters are read
** by name (OSSL_PKEY_PARAM_*), never through the deprecated RSA and EC_KEY
** structures.
*/
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "auth.h"
#include "config.h"
#include "jwk.h"

/* The public members of a key, base64url: n and e, or x and y. */
typedef struct JwkPublic {
  int bEc;  /* EC P-256 (else RSA) */
  char *zA; /* n (RSA) or x (EC); sqlite3_malloc */
  char *zB; /* e (RSA) or y (EC); sqlite3_malloc */
} JwkPublic;

static void jwk_public_free(JwkPublic *p) {
  sqlite3_free(p->zA);
  sqlite3_free(p->zB);
  p->zA = p->zB = NULL;
}

/* A passphrase callback that gives none: an encrypted key is refused
** rather than asked for on the terminal of whoever runs the shell. */
static int jwk_no_passphrase(char *zBuf, int nBuf, int bWrite, void *pArg) {
  DBX_UNUSED(zBuf);
  DBX_UNUSED(nBuf);
  DBX_UNUSED(bWrite);
  DBX_UNUSED(pArg);
  return -1;
}

int dbx_jwk_load(const char *zPath, const char *zWhat, int flags,
                 EVP_PKEY **ppKey, int *pbEc, DbxError *pErr) {
  EVP_PKEY *pKey = NULL;
  char zGroup[64] = "", *zPem = NULL;
  size_t nGroup = 0, nPem = 0;
  BIO *pBio;
  int rc;

  *ppKey = NULL;
  *pbEc = 0;
  rc = dbx_config_read_file(zPath, DBX_SECRET_FILE_MAX, zWhat, &zPem, &nPem,
                            pErr);
  if (rc) return rc == SQLITE_NOTFOUND ? SQLITE_ERROR : rc;
  pBio = BIO_new_mem_buf(zPem, (int)nPem);
  if (pBio) {
    pKey = PEM_read_bio_PrivateKey(pBio, NULL, jwk_no_passphrase, NULL);
    BIO_free(pBio);
  }
  if (pKey == NULL && (flags & DBX_JWK_PUBLIC_OK)) {
    pBio = BIO_new_mem_buf(zPem, (int)nPem);
    if (pBio) {
      pKey = PEM_read_bio_PUBKEY(pBio, NULL, jwk_no_passphrase, NULL);
      BIO_free(pBio);
    }
  }
  OPENSSL_cleanse(zPem, nPem);
  sqlite3_free(zPem);
  if (pKey == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s %s holds no PEM %s: give an unencrypted RSA or "
                         "P-256 key",
                         zWhat, zPath,
                         (flags & DBX_JWK_PUBLIC_OK) ? "key" : "private key");
  }
  *pbEc = EVP_PKEY_get_base_id(pKey) == EVP_PKEY_EC;
  if (!*pbEc && EVP_PKEY_get_base_id(pKey) != EVP_PKEY_RSA) {
    EVP_PKEY_free(pKey);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%s %s: unsupported key type; use RSA (RS256) or EC "
                         "P-256 (ES256)",
                         zWhat, zPath);
  }
  if (*pbEc) {
    EVP_PKEY_get_group_name(pKey, zGroup, sizeof(zGroup), &nGroup);
    if (strcmp(zGroup, "prime256v1") != 0 && strcmp(zGroup, "P-256") != 0) {
      EVP_PKEY_free(pKey);
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s %s: EC curve %s is not supported; ES256 needs "
                           "P-256",
                           zWhat, zPath, zGroup[0] ? zGroup : "(unknown)");
    }
  }
  *ppKey = pKey;
  return SQLITE_OK;
}

/*
** base64url of the big-endian bytes of the key parameter zParam; nPad > 0
** pads to that many bytes (EC coordinates are always 32), 0 gives the
** shortest form (RSA n and e, as RFC 7518 wants). NULL on failure.
*/
static char *jwk_param(EVP_PKEY *pKey, const char *zParam, int nPad) {
  BIGNUM *pBn = NULL;
  unsigned char a[1024];
  char *z = NULL;
  int n;
  if (EVP_PKEY_get_bn_param(pKey, zParam, &pBn) != 1) return NULL;
  n = nPad > 0 ? nPad : BN_num_bytes(pBn);
  if (n > 0 && n <= (int)sizeof(a) && BN_num_bytes(pBn) <= n &&
      BN_bn2binpad(pBn, a, n) == n) {
    z = dbx_auth_base64url(a, (size_t)n);
  }
  BN_free(pBn);
  return z;
}

/* Reads the public members of pKey into *p (jwk_public_free). */
static int jwk_public(EVP_PKEY *pKey, JwkPublic *p, DbxError *pErr) {
  memset(p, 0, sizeof(*p));
  p->bEc = EVP_PKEY_get_base_id(pKey) == EVP_PKEY_EC;
  if (p->bEc) {
    p->zA = jwk_param(pKey, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    p->zB = jwk_param(pKey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
  } else if (EVP_PKEY_get_base_id(pKey) == EVP_PKEY_RSA) {
    p->zA = jwk_param(pKey, OSSL_PKEY_PARAM_RSA_N, 0);
    p->zB = jwk_param(pKey, OSSL_PKEY_PARAM_RSA_E, 0);
  }
  if (p->zA == NULL || p->zB == NULL) {
    jwk_public_free(p);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "the public key cannot be read: give an RSA or "
                         "P-256 key");
  }
  return SQLITE_OK;
}

/* The thumbprint of the public members *p (sqlite3_free), or NULL. */
static char *jwk_thumbprint_of(const JwkPublic *p) {
  unsigned char aHash[SHA256_DIGEST_LENGTH];
  char *zCanon, *zKid = NULL;
  /* RFC 7638 section 3.2: the required members only, sorted, no spaces;
  ** base64url never needs JSON escaping */
  if (p->bEc) {
    zCanon = sqlite3_mprintf("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
                             "\"y\":\"%s\"}",
                             p->zA, p->zB);
  } else {
    zCanon = sqlite3_mprintf("{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
                             p->zB, p->zA);
  }
  if (zCanon == NULL) return NULL;
  if (EVP_Digest(zCanon, strlen(zCanon), aHash, NULL, EVP_sha256(), NULL) ==
      1) {
    zKid = dbx_auth_base64url(aHash, sizeof(aHash));
  }
  sqlite3_free(zCanon);
  return zKid;
}

int dbx_jwk_thumbprint(EVP_PKEY *pKey, char **pzKid, DbxError *pErr) {
  JwkPublic pub;
  int rc = jwk_public(pKey, &pub, pErr);
  *pzKid = NULL;
  if (rc) return rc;
  *pzKid = jwk_thumbprint_of(&pub);
  jwk_public_free(&pub);
  if (*pzKid == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  return SQLITE_OK;
}

int dbx_jwk_append(EVP_PKEY *pKey, cJSON *pKeys, DbxError *pErr) {
  JwkPublic pub;
  cJSON *pJwk;
  char *zKid;
  int bOk, rc = jwk_public(pKey, &pub, pErr);
  if (rc) return rc;
  zKid = jwk_thumbprint_of(&pub);
  pJwk = cJSON_CreateObject();
  bOk = zKid && pJwk && cJSON_AddItemToArray(pKeys, pJwk);
  if (!bOk) cJSON_Delete(pJwk);
  if (bOk && pub.bEc) {
    bOk = cJSON_AddStringToObject(pJwk, "kty", "EC") &&
          cJSON_AddStringToObject(pJwk, "crv", "P-256") &&
          cJSON_AddStringToObject(pJwk, "x", pub.zA) &&
          cJSON_AddStringToObject(pJwk, "y", pub.zB);
  } else if (bOk) {
    bOk = cJSON_AddStringToObject(pJwk, "kty", "RSA") &&
          cJSON_AddStringToObject(pJwk, "n", pub.zA) &&
          cJSON_AddStringToObject(pJwk, "e", pub.zB);
  }
  bOk = bOk && cJSON_AddStringToObject(pJwk, "kid", zKid) &&
        cJSON_AddStringToObject(pJwk, "use", "sig") &&
        cJSON_AddStringToObject(pJwk, "alg", pub.bEc ? "ES256" : "RS256");
  sqlite3_free(zKid);
  jwk_public_free(&pub);
  return bOk ? SQLITE_OK : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
}

/* write() of all n bytes, retried after a signal; 0 or an errno. */
static int jwk_write_all(int fd, const char *z, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, z, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return k < 0 ? errno : EIO;
    z += k;
    n -= (size_t)k;
  }
  return 0;
}

int dbx_jwk_keygen(const char *zPath, const char *zType, char **pzKid,
                   DbxError *pErr) {
  EVP_PKEY *pKey = NULL;
  BIO *pBio = NULL;
  char *zPem = NULL;
  long nPem = 0;
  int fd = -1, e = 0, rc;

  *pzKid = NULL;
  if (strcmp(zType, "rsa") == 0) {
    pKey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  } else if (strcmp(zType, "ec") == 0) {
    pKey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  } else {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "key type must be 'ec' (P-256, ES256) or 'rsa' "
                         "(2048 bits, RS256)");
  }
  if (pKey == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR, "OpenSSL could not make a %s key",
                         zType);
  }
  rc = dbx_jwk_thumbprint(pKey, pzKid, pErr);
  /* secure memory for the PEM text where OpenSSL has it */
  if (rc == SQLITE_OK) {
    pBio = BIO_new(BIO_s_secmem());
    if (pBio == NULL ||
        PEM_write_bio_PrivateKey(pBio, pKey, NULL, NULL, 0, NULL, NULL) != 1 ||
        (nPem = BIO_get_mem_data(pBio, &zPem)) <= 0) {
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "OpenSSL could not write the key as PEM");
    }
  }
  if (rc == SQLITE_OK) {
    /* O_EXCL: never replace a file, nor follow a symlink planted there */
    do {
      fd =
          open(zPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      e = errno;
      if (e == EEXIST) {
        rc = dbx_error_set(pErr, SQLITE_ERROR,
                           "%s already exists: a key file is never replaced; "
                           "give a new path, or delete the old key once no "
                           "federation policy lists it",
                           zPath);
      } else {
        rc = dbx_error_set(pErr, SQLITE_ERROR,
                           "%s cannot be created (%s): check the path and its "
                           "directory's permissions",
                           zPath, strerror(e));
      }
    }
  }
  if (rc == SQLITE_OK) {
    /* the umask may only take bits away, but say exactly what is meant */
    e = fchmod(fd, 0600) != 0 ? errno : 0;
    if (e == 0) e = jwk_write_all(fd, zPem, (size_t)nPem);
    if (e == 0 && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && e == 0) e = errno;
    if (e) {
      unlink(zPath);
      rc = dbx_error_set(pErr, SQLITE_ERROR,
                         "writing %s failed (%s): no key was kept", zPath,
                         strerror(e));
    }
  }
  if (zPem && nPem > 0) OPENSSL_cleanse(zPem, (size_t)nPem);
  BIO_free(pBio);
  EVP_PKEY_free(pKey);
  if (rc) {
    sqlite3_free(*pzKid);
    *pzKid = NULL;
  }
  return rc;
}
