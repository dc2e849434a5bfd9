/*
** fn_federation.c: workload identity federation from SQL: a key pair for
** the extension's own issuer, its public keys, and the service principal's
** federation policy.
**
**   SELECT dbx_keygen('/etc/etl/issuer.pem');            -- EC P-256
**   SELECT dbx_keygen('/etc/etl/issuer.pem', 'rsa');     -- RSA 2048
**   SELECT dbx_jwks('/etc/etl/issuer.pem');              -- {"keys":[...]}
**   SELECT dbx_federation_policy('1234', 'https://etl.example.com',
**            'etl-prod', json_object('jwks_json', dbx_jwks('...')));
**
** dbx_keygen() writes a new private key file (mode 0600, never over an
** existing file) and returns {"path", "kty", "alg", "kid"}. dbx_jwks()
** reads one or more key files (private or public PEM; a rotation lists the
** old key and the new one) and returns their public JWKs, each named by
** its RFC 7638 thumbprint, which is also the kid of the JWTs the auth type
** oidc-self-signed mints (jwk.h). Both touch files, so both are
** SQLITE_DIRECTONLY: no view or trigger of a database file may call them.
**
** dbx_federation_policy() writes text only (federation.h), so it is
** SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS; it takes the JWKS as text,
** never a file name, to stay that way.
*/
#include <string.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "federation.h"
#include "jwk.h"

/* dbx_federation_policy(service_principal_id, issuer, subject
** [, options_json]) */
void dbx_fn_federation_policy(sqlite3_context *ctx, int argc,
                              sqlite3_value **argv) {
  static const char *const azWhat[] = {"service_principal_id", "issuer",
                                       "subject", "options_json"};
  DbxError e;
  char *zOut = NULL;
  int i, rc = SQLITE_OK;
  dbx_error_clear(&e);
  for (i = 0; rc == SQLITE_OK && i < argc; i++) {
    rc = dbx_args_check(argv[i], azWhat[i], i == 3, &e);
    if (rc == SQLITE_OK && i < 3 &&
        sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      rc = dbx_error_set(&e, SQLITE_ERROR,
                         "%s is NULL: usage: dbx_federation_policy("
                         "service_principal_id, issuer, subject [, "
                         "options_json])",
                         azWhat[i]);
    }
  }
  if (rc == SQLITE_OK) {
    rc = dbx_federation_policy_text((const char *)sqlite3_value_text(argv[0]),
                                    (const char *)sqlite3_value_text(argv[1]),
                                    (const char *)sqlite3_value_text(argv[2]),
                                    dbx_args_text(argc, argv, 3), &zOut, &e);
  }
  if (rc == SQLITE_OK) {
    sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  } else {
    dbx_error_to_context(ctx, &e);
  }
}

/* dbx_jwks(key_file [, key_file ...]) */
void dbx_fn_jwks(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  cJSON *pRoot = cJSON_CreateObject(), *pKeys = NULL;
  DbxError e;
  char *zOut = NULL;
  int i, rc = SQLITE_OK;
  dbx_error_clear(&e);
  if (argc < 1) {
    rc = dbx_error_set(&e, SQLITE_ERROR,
                       "usage: dbx_jwks(key_file [, key_file ...]): the PEM "
                       "key files whose public keys a federation policy "
                       "accepts");
  } else if (pRoot == NULL ||
             (pKeys = cJSON_AddArrayToObject(pRoot, "keys")) == NULL) {
    rc = dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
  }
  for (i = 0; rc == SQLITE_OK && i < argc; i++) {
    EVP_PKEY *pKey = NULL;
    int bEc = 0;
    rc = dbx_args_check(argv[i], "key_file", 0, &e);
    if (rc == SQLITE_OK && sqlite3_value_type(argv[i]) == SQLITE_NULL) {
      rc = dbx_error_set(&e, SQLITE_ERROR,
                         "key_file is NULL: usage: dbx_jwks(key_file [, "
                         "key_file ...])");
    }
    if (rc == SQLITE_OK) {
      rc = dbx_jwk_load((const char *)sqlite3_value_text(argv[i]), "key file",
                        DBX_JWK_PUBLIC_OK, &pKey, &bEc, &e);
    }
    if (rc == SQLITE_OK) rc = dbx_jwk_append(pKey, pKeys, &e);
    EVP_PKEY_free(pKey);
    if (rc == SQLITE_OK) {
      /* the same key named twice is listed once */
      const cJSON *pNew =
          cJSON_GetArrayItem(pKeys, cJSON_GetArraySize(pKeys) - 1);
      const cJSON *pOld;
      const char *zKid =
          cJSON_GetObjectItemCaseSensitive(pNew, "kid")->valuestring;
      cJSON_ArrayForEach(pOld, pKeys) {
        if (pOld == pNew) break;
        if (strcmp(cJSON_GetObjectItemCaseSensitive(pOld, "kid")->valuestring,
                   zKid) == 0) {
          cJSON_DeleteItemFromArray(pKeys, cJSON_GetArraySize(pKeys) - 1);
          break;
        }
      }
    }
  }
  if (rc == SQLITE_OK) {
    char *z = cJSON_PrintUnformatted(pRoot);
    zOut = z ? dbx_strdup(z) : NULL;
    cJSON_free(z);
    if (zOut == NULL) rc = dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
  }
  cJSON_Delete(pRoot);
  if (rc == SQLITE_OK) {
    sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  } else {
    dbx_error_to_context(ctx, &e);
  }
}

/* dbx_keygen(path [, 'ec' | 'rsa']) */
void dbx_fn_keygen(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *zPath, *zType = "ec";
  DbxError e;
  char *zKid = NULL, *zOut = NULL;
  int i, rc = SQLITE_OK;
  dbx_error_clear(&e);
  for (i = 0; rc == SQLITE_OK && i < argc; i++) {
    rc = dbx_args_check(argv[i], i ? "key type" : "path", 0, &e);
  }
  if (rc == SQLITE_OK &&
      (argc < 1 || argc > 2 || sqlite3_value_type(argv[0]) == SQLITE_NULL ||
       sqlite3_value_text(argv[0])[0] == 0)) {
    rc = dbx_error_set(&e, SQLITE_ERROR,
                       "usage: dbx_keygen(path [, 'ec' | 'rsa']): writes a "
                       "new private key to a file that does not exist yet");
  }
  if (rc == SQLITE_OK) {
    zPath = (const char *)sqlite3_value_text(argv[0]);
    if (argc == 2 && sqlite3_value_type(argv[1]) != SQLITE_NULL) {
      zType = (const char *)sqlite3_value_text(argv[1]);
    }
    rc = dbx_jwk_keygen(zPath, zType, &zKid, &e);
    if (rc == SQLITE_OK) {
      DbxBuf b = {0};
      int bEc = strcmp(zType, "ec") == 0;
      dbx_buf_appendf(&b, "{\"path\":");
      dbx_buf_append_json(&b, zPath, strlen(zPath));
      dbx_buf_appendf(&b, ",\"kty\":\"%s\",\"alg\":\"%s\",\"kid\":\"%s\"}",
                      bEc ? "EC" : "RSA", bEc ? "ES256" : "RS256", zKid);
      zOut = dbx_buf_take(&b);
      if (zOut == NULL) rc = dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
    }
  }
  sqlite3_free(zKid);
  if (rc == SQLITE_OK) {
    sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  } else {
    dbx_error_to_context(ctx, &e);
  }
}
