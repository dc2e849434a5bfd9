/*
** Unit tests of auth.c and client.c against a fake transport: the exact
** token requests of oauth-m2m and the token exchange, caching and refresh
** timing, the 401 refresh-and-retry, token endpoint errors, and JWT minting
** verified here with OpenSSL.
*/
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "unit.h"

#include "auth.h"
#include "client.h"
#include "config.h"
#include "fake_transport.h"

static char zDir[256];
static Fake f;
static DbxHttpTransport tr;

static int setup(void **state) {
  (void)state;
  snprintf(zDir, sizeof(zDir), "/tmp/dbx-unit-auth-XXXXXX");
  unit_isolate(zDir);
  tr = fake_transport(&f);
  dbx_client_test_transport(&tr);
  dbx_auth_cache_clear();
  return 0;
}

static int teardown(void **state) {
  char z[300];
  (void)state;
  dbx_client_test_transport(NULL);
  snprintf(z, sizeof(z), "rm -rf '%s'", zDir);
  assert_int_equal(system(z), 0);
  return 0;
}

static char *path_in_dir(const char *zName) {
  return sqlite3_mprintf("%s/%s", zDir, zName);
}

static void write_text(const char *zPath, const char *zText) {
  FILE *pf = fopen(zPath, "w");
  assert_non_null(pf);
  fputs(zText, pf);
  fclose(pf);
}

/* Opens a client from option pairs (NULL-terminated) plus the env. */
static DbxClient *open_client(const char *const *az) {
  DbxConfig *p;
  DbxClient *c = NULL;
  DbxError e;
  dbx_error_clear(&e);
  assert_int_equal(dbx_config_new(&p), SQLITE_OK);
  for (; az && az[0]; az += 2) {
    assert_int_equal(dbx_config_set(p, az[0], az[1], DBX_SRC_OPTION, &e),
                     SQLITE_OK);
  }
  assert_int_equal(dbx_config_resolve(p, &e), SQLITE_OK);
  assert_int_equal(dbx_client_open(p, &c, &e), SQLITE_OK);
  dbx_config_free(p);
  return c;
}

static int call(DbxClient *c, DbxError *pErr) {
  cJSON *pOut = NULL;
  int rc;
  dbx_error_clear(pErr);
  rc = dbx_client_call(c, "GET", "/api/2.0/sql/warehouses?x=1", NULL, &pOut,
                       pErr);
  cJSON_Delete(pOut);
  return rc;
}

#define TOKEN_REPLY(tok, ttl)                                                  \
  "{\"access_token\":\"" tok                                                   \
  "\",\"token_type\":\"Bearer\",\"expires_in\":" #ttl                          \
  ",\"scope\":\"all-apis\"}"

static void pat_sends_bearer_and_user_agent(void **state) {
  DbxClient *c;
  DbxError e;
  const char *az[] = {"host", "https://h.example.com", "workspace_id", "42",
                      NULL};
  (void)state;
  setenv("DATABRICKS_TOKEN", "dapi-pat", 1);
  c = open_client(az);
  fake_reply(&f, 200, "{\"ok\":1}", NULL);
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 1);
  assert_string_equal(f.aSent[0].zUrl,
                      "https://h.example.com/api/2.0/sql/warehouses?x=1");
  assert_string_equal(f.aSent[0].zHeaders,
                      "User-Agent: sqlite-databricks/" DBX_VERSION
                      " os/linux auth/pat\n"
                      "Authorization: Bearer dapi-pat\n"
                      "X-Databricks-Workspace-Id: 42\n"
                      "Accept: application/json\n");
  dbx_client_free(c);
}

static void pat_401_is_not_retried_and_hides_token(void **state) {
  DbxClient *c;
  DbxError e;
  const char *az[] = {"host", "https://h.example.com", NULL};
  (void)state;
  setenv("DATABRICKS_TOKEN", "dapi-pat-secret", 1);
  c = open_client(az);
  fake_reply(
      &f, 401,
      "{\"error_code\":\"401\",\"message\":\"bad token dapi-pat-secret\"}",
      NULL);
  assert_int_equal(call(c, &e), SQLITE_AUTH);
  assert_int_equal(f.nSent, 1);
  assert_int_equal(e.httpStatus, 401);
  assert_null(strstr(e.zMsg, "dapi-pat-secret"));
  assert_non_null(strstr(e.zMsg, "GET /api/2.0/sql/warehouses: HTTP 401"));
  assert_null(strstr(e.zMsg, "x=1"));
  dbx_client_free(c);
}

static void m2m_request_cache_and_refresh(void **state) {
  DbxClient *c, *c2;
  DbxError e;
  const char *az[] = {"host", "https://h.example.com", NULL};
  (void)state;
  setenv("DATABRICKS_CLIENT_ID", "sp-1", 1);
  setenv("DATABRICKS_CLIENT_SECRET", "dose-s3cret", 1);
  c = open_client(az);
  fake_reply(&f, 200, TOKEN_REPLY("tok-1", 60), NULL);
  fake_reply(&f, 200, "{}", NULL);
  fake_reply(&f, 200, "{}", NULL);
  fake_reply(&f, 200, "{}", NULL);
  fake_reply(&f, 200, TOKEN_REPLY("tok-2", 3600), NULL);
  fake_reply(&f, 200, "{}", NULL);
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_string_equal(f.aSent[0].zMethod, "POST");
  assert_string_equal(f.aSent[0].zUrl, "https://h.example.com/oidc/v1/token");
  /* base64("sp-1:dose-s3cret") */
  assert_string_equal(f.aSent[0].zHeaders,
                      "User-Agent: sqlite-databricks/" DBX_VERSION
                      " os/linux auth/oauth-m2m\n"
                      "Authorization: Basic c3AtMTpkb3NlLXMzY3JldA==\n"
                      "Content-Type: application/x-www-form-urlencoded\n"
                      "Accept: application/json\n");
  assert_string_equal(f.aSent[0].zBody,
                      "grant_type=client_credentials&scope=all-apis");
  assert_non_null(strstr(f.aSent[1].zHeaders, "Authorization: Bearer tok-1\n"));
  /* 10 s later: 50 s left, before expiry - min(ttl/2, 20 min): cached */
  f.nowMs += 10000;
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 3);
  /* a second client of the same identity shares the token */
  c2 = open_client(az);
  assert_int_equal(call(c2, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 4);
  assert_non_null(strstr(f.aSent[3].zHeaders, "Authorization: Bearer tok-1\n"));
  /* 21 s after issue: 39 s left, under 40 s: refreshed */
  f.nowMs += 11000;
  assert_int_equal(call(c2, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 6);
  assert_string_equal(f.aSent[4].zUrl, "https://h.example.com/oidc/v1/token");
  assert_non_null(strstr(f.aSent[5].zHeaders, "Authorization: Bearer tok-2\n"));
  dbx_client_free(c);
  dbx_client_free(c2);
}

static void clients_with_other_http_settings_share_the_token(void **state) {
  DbxClient *c, *c2;
  DbxError e;
  const char *az[] = {"host", "https://h9.example.com", NULL};
  const char *az2[] = {"host", "https://h9.example.com", "http_timeout_seconds",
                       "5", NULL};
  char *zA, *zB;
  (void)state;
  setenv("DATABRICKS_CLIENT_ID", "sp-1", 1);
  setenv("DATABRICKS_CLIENT_SECRET", "dose-x", 1);
  c = open_client(az);
  c2 = open_client(az2);
  zA = dbx_config_identity(dbx_client_config(c));
  zB = dbx_config_identity(dbx_client_config(c2));
  assert_string_not_equal(zA, zB); /* distinct clients in a client cache */
  sqlite3_free(zA);
  sqlite3_free(zB);
  fake_reply(&f, 200, TOKEN_REPLY("tok-1", 3600), NULL);
  fake_reply(&f, 200, "{}", NULL);
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_int_equal(call(c2, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 3); /* one token request for both */
  assert_non_null(strstr(f.aSent[2].zHeaders, "Bearer tok-1"));
  dbx_client_free(c);
  dbx_client_free(c2);
}

/*
** An OAuth token of zFirst's ttl is still sent nKeepS seconds after it was
** issued and replaced by zSecond's token nNewS seconds after it was issued.
*/
static void check_refresh_time(const char *zHost, const char *zFirst,
                               const char *zSecond, int nKeepS, int nNewS) {
  DbxClient *c;
  DbxError e;
  const char *az[] = {"host", zHost, NULL};
  setenv("DATABRICKS_CLIENT_ID", "sp-1", 1);
  setenv("DATABRICKS_CLIENT_SECRET", "dose-x", 1);
  c = open_client(az);
  fake_reply(&f, 200, zFirst, NULL);
  fake_reply(&f, 200, "{}", NULL);
  fake_reply(&f, 200, "{}", NULL);
  fake_reply(&f, 200, zSecond, NULL);
  fake_reply(&f, 200, "{}", NULL);
  assert_int_equal(call(c, &e), SQLITE_OK);
  f.nowMs += (int64_t)nKeepS * 1000;
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 3);
  assert_non_null(strstr(f.aSent[2].zHeaders, "Bearer tok-1"));
  f.nowMs += (int64_t)(nNewS - nKeepS) * 1000;
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 5);
  assert_non_null(strstr(f.aSent[4].zHeaders, "Bearer tok-2"));
  dbx_client_free(c);
}

static void refresh_window_is_half_ttl_capped(void **state) {
  (void)state;
  /* refresh at expiry - min(1800 s, 1200 s) = 2400 s after issue */
  check_refresh_time("https://h2.example.com", TOKEN_REPLY("tok-1", 3600),
                     TOKEN_REPLY("tok-2", 3600), 2399, 2401);
}

static void token_with_under_40_s_left_is_never_used(void **state) {
  (void)state;
  /* half the ttl would be 30 s before expiry; 40 s left is the floor */
  check_refresh_time("https://h2b.example.com", TOKEN_REPLY("tok-1", 60),
                     TOKEN_REPLY("tok-2", 60), 19, 21);
}

static void api_401_forces_one_refresh(void **state) {
  DbxClient *c;
  DbxError e;
  const char *az[] = {"host", "https://h3.example.com", NULL};
  (void)state;
  setenv("DATABRICKS_CLIENT_ID", "sp-1", 1);
  setenv("DATABRICKS_CLIENT_SECRET", "dose-x", 1);
  c = open_client(az);
  fake_reply(&f, 200, TOKEN_REPLY("tok-1", 3600), NULL);
  fake_reply(&f, 401, "{\"error_code\":\"401\",\"message\":\"expired\"}", NULL);
  fake_reply(&f, 200, TOKEN_REPLY("tok-2", 3600), NULL);
  fake_reply(&f, 200, "{}", NULL);
  fake_reply(&f, 401, "{\"error_code\":\"401\",\"message\":\"expired\"}", NULL);
  fake_reply(&f, 200, TOKEN_REPLY("tok-3", 3600), NULL);
  fake_reply(&f, 401, "{\"error_code\":\"401\",\"message\":\"still\"}", NULL);
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 4);
  assert_non_null(strstr(f.aSent[3].zHeaders, "Bearer tok-2"));
  /* a second 401 after the refresh is an error: one retry only */
  assert_int_equal(call(c, &e), SQLITE_AUTH);
  assert_int_equal(f.nSent, 7);
  assert_int_equal(e.httpStatus, 401);
  assert_null(strstr(e.zMsg, "tok-"));
  dbx_client_free(c);
}

static void
invalid_token_403_refreshes_but_permission_denied_does_not(void **state) {
  DbxClient *c;
  DbxError e;
  const char *az[] = {"host", "https://h10.example.com", NULL};
  (void)state;
  setenv("DATABRICKS_CLIENT_ID", "sp-1", 1);
  setenv("DATABRICKS_CLIENT_SECRET", "dose-x", 1);
  c = open_client(az);
  fake_reply(&f, 200, TOKEN_REPLY("tok-1", 3600), NULL);
  fake_reply(&f, 403,
             "{\"error_code\":403,\"message\":\"Invalid access token.\"}",
             NULL);
  fake_reply(&f, 200, TOKEN_REPLY("tok-2", 3600), NULL);
  fake_reply(&f, 200, "{}", NULL);
  fake_reply(
      &f, 403,
      "{\"error_code\":\"PERMISSION_DENIED\",\"message\":\"no CAN_USE\"}",
      NULL);
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 4);
  assert_non_null(strstr(f.aSent[3].zHeaders, "Bearer tok-2"));
  assert_int_equal(call(c, &e), SQLITE_AUTH);
  assert_int_equal(f.nSent, 5);
  assert_string_equal(e.zCode, "PERMISSION_DENIED");
  dbx_client_free(c);
}

static void token_endpoint_errors_and_retries(void **state) {
  DbxClient *c;
  DbxError e;
  const char *az[] = {"host", "https://h4.example.com", NULL};
  (void)state;
  setenv("DATABRICKS_CLIENT_ID", "sp-1", 1);
  setenv("DATABRICKS_CLIENT_SECRET", "dose-wrong", 1);
  c = open_client(az);
  fake_reply(&f, 503, "", NULL);
  fake_reply(&f, 429, "", "1");
  fake_reply(&f, 401,
             "{\"error\":\"invalid_client\",\"error_description\":\"Client "
             "authentication failed for dose-wrong\"}",
             NULL);
  assert_int_equal(call(c, &e), SQLITE_AUTH);
  assert_int_equal(f.nSent, 3); /* 503, 429 retried; 401 not; no API call */
  assert_string_equal(e.zCode, "invalid_client");
  assert_non_null(strstr(
      e.zMsg,
      "oauth-m2m token request: HTTP 401: Client authentication failed"));
  assert_null(strstr(e.zMsg, "dose-wrong"));
  dbx_client_free(c);
}

static void env_oidc_exchange_request(void **state) {
  DbxClient *c;
  DbxError e;
  const char *az[] = {
      "host",     "https://h5.example.com", "client_id", "sp-9", "auth_type",
      "env-oidc", "oidc_token_env",         "MY_JWT",    NULL};
  (void)state;
  setenv("MY_JWT", "aaa.bbb.ccc", 1);
  c = open_client(az);
  fake_reply(&f, 200, TOKEN_REPLY("tok-x", 3600), NULL);
  fake_reply(&f, 200, "{}", NULL);
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_string_equal(f.aSent[0].zUrl, "https://h5.example.com/oidc/v1/token");
  assert_null(strstr(f.aSent[0].zHeaders, "Authorization"));
  assert_string_equal(
      f.aSent[0].zBody,
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
      "&subject_token=aaa.bbb.ccc"
      "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
      "&scope=all-apis&client_id=sp-9");
  assert_non_null(strstr(f.aSent[1].zHeaders, "auth/env-oidc"));
  dbx_client_free(c);
  unsetenv("MY_JWT");
}

static void file_oidc_rereads_file(void **state) {
  DbxClient *c;
  DbxError e;
  char *zFile = path_in_dir("jwt.txt");
  const char *az[] = {"host", "https://h6.example.com", "oidc_token_filepath",
                      zFile, NULL};
  (void)state;
  write_text(zFile, "jwt.one.1\n");
  c = open_client(az);
  fake_reply(&f, 200, TOKEN_REPLY("tok-1", 3600), NULL);
  fake_reply(&f, 200, "{}", NULL);
  fake_reply(&f, 401, "{}", NULL);
  fake_reply(&f, 200, TOKEN_REPLY("tok-2", 3600), NULL);
  fake_reply(&f, 200, "{}", NULL);
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_non_null(strstr(f.aSent[0].zBody, "subject_token=jwt.one.1&"));
  assert_null(strstr(f.aSent[0].zBody, "client_id")); /* account-wide */
  /* the file rotates; a 401 forces a refresh, which re-reads it */
  write_text(zFile, "jwt.two.2");
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 5);
  assert_non_null(strstr(f.aSent[3].zBody, "subject_token=jwt.two.2&"));
  assert_non_null(strstr(f.aSent[4].zHeaders, "Bearer tok-2"));
  dbx_client_free(c);
  sqlite3_free(zFile);
}

/* ---- JWT minting, verified with OpenSSL ---- */

static unsigned char *b64url_decode(const char *z, size_t n, size_t *pn) {
  char *zStd = malloc(n + 4);
  unsigned char *a = malloc(n + 4);
  size_t i, m;
  int k;
  for (i = 0; i < n; i++)
    zStd[i] = z[i] == '-' ? '+' : z[i] == '_' ? '/' : z[i];
  m = n;
  while (m % 4)
    zStd[m++] = '=';
  k = EVP_DecodeBlock(a, (unsigned char *)zStd, (int)m);
  assert_true(k >= 0);
  *pn = (size_t)k - (m - n);
  a[*pn] = 0;
  free(zStd);
  return a;
}

static void write_key(EVP_PKEY *pKey, const char *zPath) {
  FILE *pf = fopen(zPath, "w");
  assert_non_null(pf);
  assert_int_equal(PEM_write_PrivateKey(pf, pKey, NULL, NULL, 0, NULL, NULL),
                   1);
  fclose(pf);
}

static void verify_jwt(EVP_PKEY *pKey, const char *zJwt, int bEc) {
  const char *zDot1 = strchr(zJwt, '.'), *zDot2 = strrchr(zJwt, '.');
  size_t nHead, nClaims, nSig;
  unsigned char *aHead, *aClaims, *aSig;
  cJSON *pHead, *pClaims;
  EVP_MD_CTX *pMd = EVP_MD_CTX_new();
  unsigned char *aDer = NULL;
  int nDer;

  assert_non_null(zDot1);
  assert_true(zDot2 > zDot1);
  aHead = b64url_decode(zJwt, (size_t)(zDot1 - zJwt), &nHead);
  aClaims = b64url_decode(zDot1 + 1, (size_t)(zDot2 - zDot1 - 1), &nClaims);
  aSig = b64url_decode(zDot2 + 1, strlen(zDot2 + 1), &nSig);
  pHead = cJSON_Parse((char *)aHead);
  pClaims = cJSON_Parse((char *)aClaims);
  assert_string_equal(cJSON_GetObjectItem(pHead, "alg")->valuestring,
                      bEc ? "ES256" : "RS256");
  assert_string_equal(cJSON_GetObjectItem(pHead, "typ")->valuestring, "JWT");
  assert_string_equal(cJSON_GetObjectItem(pHead, "kid")->valuestring, "key-1");
  assert_string_equal(cJSON_GetObjectItem(pClaims, "iss")->valuestring,
                      "https://issuer.example");
  assert_string_equal(cJSON_GetObjectItem(pClaims, "sub")->valuestring,
                      "repo:x");
  assert_string_equal(cJSON_GetObjectItem(pClaims, "aud")->valuestring,
                      "https://h/oidc/v1/token");
  assert_int_equal((long)cJSON_GetObjectItem(pClaims, "iat")->valuedouble,
                   1700000000);
  assert_int_equal((long)cJSON_GetObjectItem(pClaims, "exp")->valuedouble,
                   1700000300);
  assert_int_equal(strlen(cJSON_GetObjectItem(pClaims, "jti")->valuestring),
                   32);
  assert_int_equal(EVP_DigestVerifyInit(pMd, NULL, EVP_sha256(), NULL, pKey),
                   1);
  if (bEc) {
    /* JWS ES256 is raw r||s: 64 bytes; convert to DER to verify */
    ECDSA_SIG *pSig = ECDSA_SIG_new();
    assert_int_equal(nSig, 64);
    ECDSA_SIG_set0(pSig, BN_bin2bn(aSig, 32, NULL),
                   BN_bin2bn(aSig + 32, 32, NULL));
    nDer = i2d_ECDSA_SIG(pSig, &aDer);
    ECDSA_SIG_free(pSig);
    assert_int_equal(EVP_DigestVerify(pMd, aDer, (size_t)nDer,
                                      (const unsigned char *)zJwt,
                                      (size_t)(zDot2 - zJwt)),
                     1);
    OPENSSL_free(aDer);
  } else {
    assert_int_equal(nSig, 256);
    assert_int_equal(EVP_DigestVerify(pMd, aSig, nSig,
                                      (const unsigned char *)zJwt,
                                      (size_t)(zDot2 - zJwt)),
                     1);
  }
  EVP_MD_CTX_free(pMd);
  cJSON_Delete(pHead);
  cJSON_Delete(pClaims);
  free(aHead);
  free(aClaims);
  free(aSig);
}

static void mint_rs256_and_es256(void **state) {
  char *zRsa = path_in_dir("rsa.pem"), *zEc = path_in_dir("ec.pem"),
       *zJwt = NULL;
  EVP_PKEY *pRsa = EVP_RSA_gen(2048), *pEc = EVP_EC_gen("P-256");
  DbxError e;
  (void)state;
  write_key(pRsa, zRsa);
  write_key(pEc, zEc);
  dbx_error_clear(&e);
  assert_int_equal(dbx_auth_mint_jwt(zRsa, "https://issuer.example", "repo:x",
                                     "https://h/oidc/v1/token", "key-1", 300,
                                     1700000000, &zJwt, &e),
                   SQLITE_OK);
  verify_jwt(pRsa, zJwt, 0);
  dbx_free_secret(zJwt);
  assert_int_equal(dbx_auth_mint_jwt(zEc, "https://issuer.example", "repo:x",
                                     "https://h/oidc/v1/token", "key-1", 300,
                                     1700000000, &zJwt, &e),
                   SQLITE_OK);
  verify_jwt(pEc, zJwt, 1);
  dbx_free_secret(zJwt);
  /* a missing key file names the setting */
  assert_int_equal(dbx_auth_mint_jwt("/nonexistent.pem", "i", "s", "a", NULL,
                                     300, 1, &zJwt, &e),
                   SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "oidc_private_key_file"));
  EVP_PKEY_free(pRsa);
  EVP_PKEY_free(pEc);
  sqlite3_free(zRsa);
  sqlite3_free(zEc);
}

static void self_signed_exchange(void **state) {
  char *zEc = path_in_dir("ec.pem");
  EVP_PKEY *pEc = EVP_EC_gen("P-256");
  DbxClient *c;
  DbxError e;
  const char *az[] = {"host",
                      "https://h7.example.com",
                      "client_id",
                      "sp-7",
                      "oidc_private_key_file",
                      zEc,
                      "oidc_issuer",
                      "https://issuer.example",
                      "oidc_subject",
                      "repo:x",
                      "oidc_key_id",
                      "key-1",
                      NULL};
  (void)state;
  write_key(pEc, zEc);
  c = open_client(az);
  fake_reply(&f, 200, TOKEN_REPLY("tok-s", 3600), NULL);
  fake_reply(&f, 200, "{}", NULL);
  assert_int_equal(call(c, &e), SQLITE_OK);
  assert_non_null(strstr(f.aSent[0].zBody, "&subject_token=eyJ"));
  assert_non_null(strstr(f.aSent[0].zBody, "&client_id=sp-7"));
  assert_non_null(strstr(f.aSent[1].zHeaders, "auth/oidc-self-signed"));
  assert_non_null(strstr(f.aSent[1].zHeaders, "Bearer tok-s"));
  dbx_client_free(c);
  EVP_PKEY_free(pEc);
  sqlite3_free(zEc);
}

static void download_has_no_authorization(void **state) {
  DbxClient *c;
  DbxError e;
  DbxBuf out = {0};
  const char *azH[] = {"x-amz-server-side-encryption-customer-key: SSEKEY"};
  const char *az[] = {"host", "https://h8.example.com", NULL};
  (void)state;
  setenv("DATABRICKS_TOKEN", "dapi-pat", 1);
  c = open_client(az);
  dbx_buf_appendf(&out, "prefix|");
  fake_reply(&f, 503, "busy", NULL);
  fake_reply(&f, 200, "[[\"1\"]]", NULL);
  fake_reply(&f, 403,
             "<Error><Message>Request has expired "
             "X-Amz-Signature=SIG</Message></Error>",
             NULL);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_client_download(
          c, "https://bucket.s3.amazonaws.com/chunk0?X-Amz-Signature=SIG", azH,
          1, &out, &e),
      SQLITE_OK);
  assert_string_equal(out.z, "prefix|[[\"1\"]]");
  assert_null(strstr(f.aSent[1].zHeaders, "Authorization"));
  assert_non_null(strstr(f.aSent[1].zHeaders, "customer-key: SSEKEY"));
  assert_int_equal(
      dbx_client_download(
          c, "https://bucket.s3.amazonaws.com/chunk1?X-Amz-Signature=SIG", azH,
          1, &out, &e),
      SQLITE_AUTH);
  assert_int_equal(e.httpStatus, 403);
  assert_string_equal(out.z, "prefix|[[\"1\"]]");
  assert_null(strstr(e.zMsg, "SIG"));
  assert_null(strstr(e.zMsg, "SSEKEY"));
  assert_null(strstr(e.zMsg, "chunk1"));
  assert_non_null(strstr(e.zMsg, "https://bucket.s3.amazonaws.com"));
  dbx_buf_free(&out);
  dbx_client_free(c);
}

/* A compact JWT with payload zPayload (unsigned: the server here is fake). */
static char *fake_jwt(const char *zPayload) {
  char *zH =
      dbx_auth_base64url((const unsigned char *)"{\"alg\":\"RS256\"}", 15);
  char *zP =
      dbx_auth_base64url((const unsigned char *)zPayload, strlen(zPayload));
  char *z = sqlite3_mprintf("%s.%s.c2lnbmF0dXJl", zH, zP);
  sqlite3_free(zH);
  sqlite3_free(zP);
  return z;
}

/* A refused token exchange says which issuer, audience and subject were
** sent, decoded from the subject JWT, without showing the JWT. */
static void refused_exchange_names_the_claims(void **state) {
  DbxClient *c;
  DbxError e;
  char *zJwt =
      fake_jwt("{\"iss\":\"https://issuer.example\",\"aud\":[\"acc-1\","
               "\"x\\ny\"],\"sub\":\"repo:org/app\",\"exp\":9}");
  const char *az[] = {
      "host",     "https://h9.example.com", "client_id", "sp-9", "auth_type",
      "env-oidc", "oidc_token_env",         "MY_JWT",    NULL};
  (void)state;
  setenv("MY_JWT", zJwt, 1);
  c = open_client(az);
  fake_reply(&f, 400,
             "{\"error\":\"invalid_grant\",\"error_description\":\"Token "
             "audience does not match the federation policy.\"}",
             NULL);
  assert_int_equal(call(c, &e), SQLITE_AUTH);
  assert_string_equal(e.zCode, "invalid_grant");
  assert_non_null(strstr(e.zMsg, "Token audience does not match"));
  assert_non_null(strstr(e.zMsg,
                         "match the federation policy. The federation "
                         "policy rejected the subject token "
                         "(iss \"https://issuer.example\", aud \"acc-1, "
                         "x?y\", sub \"repo:org/app\"): the service "
                         "principal needs a federation policy whose issuer, "
                         "audiences and subject match"));
  assert_null(strstr(e.zMsg, zJwt));
  assert_null(strchr(e.zMsg, '\n'));
  dbx_client_free(c);
  /* not a JWT: said so, and the token is not shown */
  setenv("MY_JWT", "opaque-token-value", 1);
  c = open_client(az);
  fake_reply(&f, 400, "{\"error\":\"invalid_grant\"}", NULL);
  assert_int_equal(call(c, &e), SQLITE_AUTH);
  assert_non_null(strstr(e.zMsg, "not a JWT with a JSON payload"));
  assert_null(strstr(e.zMsg, "opaque-token-value"));
  dbx_client_free(c);
  unsetenv("MY_JWT");
  sqlite3_free(zJwt);
}

/* Without oidc_audience, the self-signed JWT is for the token endpoint of
** the host, and the resolved config says so. */
static void self_signed_default_audience(void **state) {
  char *zEc = path_in_dir("ec.pem");
  EVP_PKEY *pEc = EVP_EC_gen("P-256");
  DbxConfig *p;
  DbxError e;
  const char *az[][14] = {
      {"host", "https://h10.example.com", "oidc_private_key_file", zEc,
       "oidc_issuer", "https://i", "oidc_subject", "s", NULL},
      {"host", "https://accounts.cloud.databricks.com", "account_id", "acc-7",
       "oidc_private_key_file", zEc, "oidc_issuer", "https://i", "oidc_subject",
       "s", NULL},
  };
  const char *azWant[] = {
      "https://h10.example.com/oidc/v1/token",
      "https://accounts.cloud.databricks.com/oidc/accounts/acc-7/v1/token"};
  size_t i;
  const char *const *pz;
  (void)state;
  write_key(pEc, zEc);
  for (i = 0; i < 2; i++) {
    char *zJson;
    dbx_error_clear(&e);
    assert_int_equal(dbx_config_new(&p), SQLITE_OK);
    for (pz = az[i]; *pz; pz += 2)
      assert_int_equal(dbx_config_set(p, pz[0], pz[1], DBX_SRC_OPTION, &e),
                       SQLITE_OK);
    assert_int_equal(dbx_config_resolve(p, &e), SQLITE_OK);
    assert_string_equal(dbx_config_get(p, "oidc_audience"), azWant[i]);
    assert_int_equal(dbx_config_source(p, "oidc_audience"), DBX_SRC_DEFAULT);
    zJson = dbx_config_json(p);
    assert_non_null(strstr(zJson, "\"oidc_audience\":{\"value\":\"https://"));
    sqlite3_free(zJson);
    dbx_config_free(p);
  }
  EVP_PKEY_free(pEc);
  sqlite3_free(zEc);
}

/* Key and token files: regular files of at most 64 KiB, never a FIFO. */
static void key_and_token_files_are_bounded(void **state) {
  char *zFifo = path_in_dir("fifo"), *zBig = path_in_dir("big"), *zJwt = NULL;
  DbxClient *c;
  DbxError e;
  FILE *pf;
  const char *azFile[] = {"host", "https://h11.example.com",
                          "oidc_token_filepath", zFifo, NULL};
  const char *azBig[] = {"host", "https://h11.example.com",
                         "oidc_token_filepath", zBig, NULL};
  (void)state;
  alarm(20); /* a blocking read fails the test rather than hanging it */
  assert_int_equal(mkfifo(zFifo, 0600), 0);
  pf = fopen(zBig, "w");
  assert_non_null(pf);
  for (int i = 0; i < 64 * 1024 + 1; i++)
    fputc('a', pf);
  fclose(pf);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_auth_mint_jwt(zFifo, "i", "s", "a", NULL, 300, 1, &zJwt, &e),
      SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "oidc_private_key_file "));
  assert_non_null(strstr(e.zMsg, "/fifo is not a regular file"));
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_auth_mint_jwt(zBig, "i", "s", "a", NULL, 300, 1, &zJwt, &e),
      SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "larger than the limit of 64 KiB"));
  c = open_client(azFile);
  assert_int_equal(call(c, &e), SQLITE_AUTH);
  assert_non_null(strstr(e.zMsg, "/fifo is not a regular file"));
  assert_int_equal(f.nSent, 0);
  dbx_client_free(c);
  c = open_client(azBig);
  assert_int_equal(call(c, &e), SQLITE_AUTH);
  assert_non_null(strstr(e.zMsg, "larger than the limit of 64 KiB"));
  dbx_client_free(c);
  alarm(0);
  sqlite3_free(zFifo);
  sqlite3_free(zBig);
}

/* A token endpoint that sends more than a token reply can hold is cut
** off at the cap, not read into memory whole. */
static void token_reply_is_capped(void **state) {
  DbxClient *c;
  DbxError e;
  const char *az[] = {"host", "https://h.example.com", NULL};
  size_t nPad = 2 * 1024 * 1024, nTok = strlen(TOKEN_REPLY("tok-big", 3600));
  char *zBig = malloc(nTok + nPad + 1);
  (void)state;
  assert_non_null(zBig);
  memcpy(zBig, TOKEN_REPLY("tok-big", 3600), nTok);
  memset(zBig + nTok, ' ', nPad); /* valid JSON, just far too long */
  zBig[nTok + nPad] = 0;
  setenv("DATABRICKS_CLIENT_ID", "sp-big-reply", 1);
  setenv("DATABRICKS_CLIENT_SECRET", "dose-big", 1);
  c = open_client(az);
  fake_reply(&f, 200, zBig, NULL);
  assert_int_equal(call(c, &e), SQLITE_TOOBIG);
  assert_int_equal(f.nSent, 1);
  assert_non_null(strstr(e.zMsg, "token request: the server sent more than"));
  dbx_client_free(c);
  free(zBig);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(pat_sends_bearer_and_user_agent, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(pat_401_is_not_retried_and_hides_token,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(m2m_request_cache_and_refresh, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(token_reply_is_capped, setup, teardown),
      cmocka_unit_test_setup_teardown(
          clients_with_other_http_settings_share_the_token, setup, teardown),
      cmocka_unit_test_setup_teardown(refresh_window_is_half_ttl_capped, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(token_with_under_40_s_left_is_never_used,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(api_401_forces_one_refresh, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          invalid_token_403_refreshes_but_permission_denied_does_not, setup,
          teardown),
      cmocka_unit_test_setup_teardown(token_endpoint_errors_and_retries, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(env_oidc_exchange_request, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(file_oidc_rereads_file, setup, teardown),
      cmocka_unit_test_setup_teardown(mint_rs256_and_es256, setup, teardown),
      cmocka_unit_test_setup_teardown(self_signed_exchange, setup, teardown),
      cmocka_unit_test_setup_teardown(download_has_no_authorization, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(refused_exchange_names_the_claims, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(self_signed_default_audience, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(key_and_token_files_are_bounded, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
