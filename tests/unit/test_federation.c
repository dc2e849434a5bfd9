/*
** Unit tests of jwk.c (keys as JWKs, RFC 7638 thumbprints, new keys) and
** federation.c (a federation policy as CLI, REST or revoke text): the
** thumbprint of the RFC's own example, JWKs without private members, the
** kid the auth layer mints with, key files that are never overwritten,
** golden policy texts and their refusals, and shell quoting.
*/
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "unit.h"

#include "auth.h"
#include "federation.h"
#include "jwk.h"

/* The RSA key of RFC 7638 section 3.1, as a PEM public key; its
** thumbprint is given there. */
static const char zRfcKey[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0vx7agoebGcQSuuPiLJX\n"
    "ZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS\n"
    "oc/BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ/2W+5JsGY4Hc5n9yBXArwl93lqt\n"
    "7/RN5w6Cf0h4QyQ5v+65YGjQR0/FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0\n"
    "zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt+bFTWhAI4vMQFh6WeZu0f\n"
    "M4lFd2NcRwr3XPksINHaQ+G/xBniIqbw0Ls1jF44+csFCur+kEgU8awapJzKnqDK\n"
    "gwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static char zDir[] = "/tmp/dbx-unit-fed-XXXXXX";

/* A path in the test's folder (sqlite3_free). */
static char *path_of(const char *zName) {
  return sqlite3_mprintf("%s/%s", zDir, zName);
}

static void write_file(const char *zPath, const char *zText) {
  FILE *f = fopen(zPath, "w");
  assert_non_null(f);
  fputs(zText, f);
  fclose(f);
}

/* RFC 7638 section 3.1: the thumbprint of the example key. */
static void thumbprint_of_the_rfc_example(void **state) {
  char *zPath = path_of("rfc.pub.pem"), *zKid = NULL;
  EVP_PKEY *pKey = NULL;
  DbxError e;
  int bEc = 1;
  (void)state;
  dbx_error_clear(&e);
  write_file(zPath, zRfcKey);
  /* a public key is not a private key, unless asked for */
  assert_int_equal(
      dbx_jwk_load(zPath, "oidc_private_key_file", 0, &pKey, &bEc, &e),
      SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "holds no PEM private key"));
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_jwk_load(zPath, "key file", DBX_JWK_PUBLIC_OK, &pKey, &bEc, &e),
      SQLITE_OK);
  assert_false(bEc);
  assert_int_equal(dbx_jwk_thumbprint(pKey, &zKid, &e), SQLITE_OK);
  assert_string_equal(zKid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  sqlite3_free(zKid);
  EVP_PKEY_free(pKey);
  unlink(zPath);
  sqlite3_free(zPath);
}

/* A JWK has the public members in order, and never a private one. */
static void jwks_have_public_members_only(void **state) {
  static const char *const azType[] = {"ec", "rsa"};
  static const char *const azPrivate[] = {"d", "p", "q", "dp", "dq", "qi"};
  size_t t, i;
  (void)state;
  for (t = 0; t < 2; t++) {
    char *zPath = path_of(azType[t]), *zKid = NULL, *zKid2 = NULL, *zText;
    EVP_PKEY *pKey = NULL;
    cJSON *pKeys = cJSON_CreateArray(), *pJwk, *pItem;
    DbxError e;
    int bEc = 0, n = 0;
    dbx_error_clear(&e);
    assert_int_equal(dbx_jwk_keygen(zPath, azType[t], &zKid, &e), SQLITE_OK);
    assert_int_equal(dbx_jwk_load(zPath, "k", 0, &pKey, &bEc, &e), SQLITE_OK);
    assert_int_equal(bEc, t == 0);
    assert_int_equal(dbx_jwk_append(pKey, pKeys, &e), SQLITE_OK);
    pJwk = cJSON_GetArrayItem(pKeys, 0);
    zText = cJSON_PrintUnformatted(pJwk);
    for (i = 0; i < DBX_ARRAY_SIZE(azPrivate); i++) {
      assert_null(cJSON_GetObjectItemCaseSensitive(pJwk, azPrivate[i]));
    }
    cJSON_ArrayForEach(pItem, pJwk) {
      static const char *const azEc[] = {"kty", "crv", "x",  "y",
                                         "kid", "use", "alg"};
      static const char *const azRsa[] = {"kty", "n",   "e", "kid",
                                          "use", "alg", NULL};
      assert_string_equal(pItem->string, t == 0 ? azEc[n] : azRsa[n]);
      n++;
    }
    assert_int_equal(n, t == 0 ? 7 : 6);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(pJwk, "kid")->valuestring, zKid);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(pJwk, "alg")->valuestring,
        t == 0 ? "ES256" : "RS256");
    assert_int_equal(strlen(zKid), 43); /* SHA-256, base64url */
    assert_int_equal(dbx_jwk_thumbprint(pKey, &zKid2, &e), SQLITE_OK);
    assert_string_equal(zKid, zKid2);
    cJSON_free(zText);
    cJSON_Delete(pKeys);
    EVP_PKEY_free(pKey);
    sqlite3_free(zKid);
    sqlite3_free(zKid2);
    unlink(zPath);
    sqlite3_free(zPath);
  }
}

/* The JWT the auth layer mints names its key by the thumbprint, unless
** oidc_key_id gives a kid. */
static void minted_jwt_kid_is_the_thumbprint(void **state) {
  char *zPath = path_of("mint.pem"), *zKid = NULL, *zJwt = NULL, *zHead;
  const char *zDot;
  cJSON *pHead;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_jwk_keygen(zPath, "ec", &zKid, &e), SQLITE_OK);
  for (int bGiven = 0; bGiven < 2; bGiven++) {
    assert_int_equal(dbx_auth_mint_jwt(zPath, "https://i.example", "s", "a",
                                       bGiven ? "my-kid" : NULL, 60, 1000,
                                       &zJwt, &e),
                     SQLITE_OK);
    zDot = strchr(zJwt, '.');
    assert_non_null(zDot);
    /* decode the header by hand: base64url of a short JSON object */
    {
      static const char zAlpha[] =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      size_t n = (size_t)(zDot - zJwt), i, o = 0;
      uint32_t v = 0;
      int nBits = 0;
      zHead = sqlite3_malloc64(n);
      for (i = 0; i < n; i++) {
        v = v << 6 | (uint32_t)(strchr(zAlpha, zJwt[i]) - zAlpha);
        nBits += 6;
        if (nBits >= 8) {
          nBits -= 8;
          zHead[o++] = (char)(v >> nBits & 0xff);
        }
      }
      zHead[o] = 0;
    }
    pHead = cJSON_Parse(zHead);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(pHead, "kid")->valuestring,
        bGiven ? "my-kid" : zKid);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(pHead, "alg")->valuestring, "ES256");
    cJSON_Delete(pHead);
    sqlite3_free(zHead);
    dbx_free_secret(zJwt);
  }
  sqlite3_free(zKid);
  unlink(zPath);
  sqlite3_free(zPath);
}

/* New keys: mode 0600, never over an existing file or through a symlink,
** nothing left behind on failure. */
static void keygen_never_overwrites(void **state) {
  char *zPath = path_of("once.pem"), *zLink = path_of("link.pem"),
       *zTarget = path_of("target.pem"), *zKid = NULL;
  struct stat st;
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_jwk_keygen(zPath, "ec", &zKid, &e), SQLITE_OK);
  sqlite3_free(zKid);
  assert_int_equal(stat(zPath, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(dbx_jwk_keygen(zPath, "rsa", &zKid, &e), SQLITE_ERROR);
  assert_null(zKid);
  assert_non_null(
      strstr(e.zMsg, "already exists: a key file is never replaced"));
  /* a symlink, even to nowhere, is not followed */
  assert_int_equal(symlink(zTarget, zLink), 0);
  dbx_error_clear(&e);
  assert_int_equal(dbx_jwk_keygen(zLink, "ec", &zKid, &e), SQLITE_ERROR);
  assert_int_not_equal(access(zTarget, F_OK), 0);
  dbx_error_clear(&e);
  assert_int_equal(dbx_jwk_keygen(zTarget, "ed25519", &zKid, &e), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "key type must be 'ec'"));
  assert_int_not_equal(access(zTarget, F_OK), 0);
  unlink(zLink);
  unlink(zPath);
  sqlite3_free(zPath);
  sqlite3_free(zLink);
  sqlite3_free(zTarget);
}

/* dbx_federation_policy_text(), expected to succeed. */
static char *policy(const char *zSp, const char *zIss, const char *zSub,
                    const char *zOpts) {
  DbxError e;
  char *z = NULL;
  dbx_error_clear(&e);
  if (dbx_federation_policy_text(zSp, zIss, zSub, zOpts, &z, &e) != SQLITE_OK)
    fail_msg("unexpected error: %s", e.zMsg);
  return z;
}

#define CLI "databricks account service-principal-federation-policy"

static void policy_golden_texts(void **state) {
  static const struct {
    const char *zOpts;
    const char *zWant;
  } aCase[] = {
      {NULL, CLI " create 42 --json '{\"oidc_policy\":{\"issuer\":\"https://i."
                 "example\",\"subject\":\"s\"}}'"},
      {"{\"account_id\":\"acc\"}",
       CLI " create 42 --json '{\"oidc_policy\":{\"issuer\":\"https://i."
           "example\",\"audiences\":[\"acc\"],\"subject\":\"s\"}}'"},
      /* audiences win over the account id; a string is a list of one */
      {"{\"account_id\":\"acc\",\"audiences\":\"aud\",\"format\":\"json\"}",
       "{\"oidc_policy\":{\"issuer\":\"https://i.example\",\"audiences\":"
       "[\"aud\"],\"subject\":\"s\"}}"},
      {"{\"format\":\"json\",\"audiences\":[\"a\",\"b\"],\"subject_claim\":"
       "\"email\",\"description\":\"d\",\"jwks_json\":{\"keys\":[{\"kty\":"
       "\"EC\",\"kid\":\"k\"}]}}",
       "{\"description\":\"d\",\"oidc_policy\":{\"issuer\":\"https://i."
       "example\",\"audiences\":[\"a\",\"b\"],\"subject\":\"s\","
       "\"subject_claim\":\"email\",\"jwks_json\":\"{\\\"keys\\\":[{\\\"kty"
       "\\\":\\\"EC\\\",\\\"kid\\\":\\\"k\\\"}]}\"}}"},
      {"{\"policy_id\":\"etl/prod-1\",\"profile\":\"acct\"}",
       CLI " create 42 --policy-id 'etl/prod-1' --json '{\"oidc_policy\":{"
           "\"issuer\":\"https://i.example\",\"subject\":\"s\"}}' --profile "
           "'acct'"},
      {"{\"format\":\"revoke\",\"policy_id\":\"etl\"}",
       CLI " list 42\n" CLI
           " delete 42 'etl'\n# the next token exchange is refused; access "
           "tokens issued before stay valid until they expire (an hour at "
           "most): to end data access at once, also run the REVOKE "
           "statements of dbx_revoke_sql()\n"},
      {"{\"format\":\"revoke\"}",
       "# set POLICY_ID to the policy_id of the policy with issuer "
       "https://i.example and subject s in this list:\n" CLI " list 42\n" CLI
       " delete 42 \"$POLICY_ID\"\n# the next token exchange is refused; "
       "access tokens issued before stay valid until they expire (an hour at "
       "most): to end data access at once, also run the REVOKE statements "
       "of dbx_revoke_sql()\n"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    char *z = policy("42", "https://i.example", "s", aCase[i].zOpts);
    assert_string_equal(z, aCase[i].zWant);
    sqlite3_free(z);
  }
}

static void policy_refusals(void **state) {
  static const struct {
    const char *zSp, *zIss, *zSub, *zOpts, *zWant;
  } aCase[] = {
      {"6f1c-aa", "https://i", "s", NULL,
       "numeric id of the service principal"},
      {"", "https://i", "s", NULL, "numeric id"},
      {"12345678901234567890", "https://i", "s", NULL, "numeric id"},
      {"1", "http://i", "s", NULL, "issuer must be an https:// URL"},
      {"1", "", "s", NULL, "issuer is empty"},
      {"1", "https://i\n", "s", NULL, "issuer holds a control character"},
      {"1", "https://i", "a\tb", NULL, "subject holds a control character"},
      {"1", "https://i", "s", "[]", "options_json must be a JSON object"},
      {"1", "https://i", "s", "{\"format\":1}",
       "option format must be a string"},
      {"1", "https://i", "s", "{\"x\":1}", "unknown option 'x'"},
      {"1", "https://i", "s", "{\"audiences\":[1]}", "strings only"},
      {"1", "https://i", "s", "{\"audiences\":[\"\"]}", "audiences is empty"},
      {"1", "https://i", "s", "{\"policy_id\":\"a\"}",
       "policy_id must be 2 to 63"},
      {"1", "https://i", "s", "{\"policy_id\":\"a b\"}",
       "policy_id must be 2 to 63"},
      {"1", "https://i", "s", "{\"profile\":\"a\\nb\"}",
       "option profile holds a control"},
      {"1", "https://i", "s", "{\"jwks_json\":\"not json\"}", "must be a JWKS"},
      {"1", "https://i", "s", "{\"jwks_json\":{\"keys\":[]}}",
       "at least one key"},
      {"1", "https://i", "s", "{\"jwks_json\":{\"keys\":[{\"n\":\"x\"}]}}",
       "with a kty"},
      {"1", "https://i", "s",
       "{\"jwks_json\":{\"keys\":[{\"kty\":\"RSA\",\"n\":\"x\",\"qi\":\"y\"}]}"
       "}",
       "private key member \"qi\""},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    DbxError e;
    char *z = NULL;
    dbx_error_clear(&e);
    assert_int_equal(dbx_federation_policy_text(aCase[i].zSp, aCase[i].zIss,
                                                aCase[i].zSub, aCase[i].zOpts,
                                                &z, &e),
                     SQLITE_ERROR);
    assert_null(z);
    if (strstr(e.zMsg, aCase[i].zWant) == NULL) {
      fail_msg("case %zu: '%s' does not say '%s'", i, e.zMsg, aCase[i].zWant);
    }
    assert_null(strchr(e.zMsg, '\n'));
  }
}

/* Single quotes with '\'' for a quote; nothing else is special inside. */
static void shell_quoting(void **state) {
  static const struct {
    const char *zIn, *zWant;
  } aCase[] = {
      {"", "''"},
      {"plain", "'plain'"},
      {"it's", "'it'\\''s'"},
      {"''", "''\\'''\\'''"},
      {"$(id) `id` \\ \" ; # *", "'$(id) `id` \\ \" ; # *'"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    DbxBuf b = {0};
    dbx_federation_sh_quote(&b, aCase[i].zIn);
    dbx_buf_append(&b, "", 1);
    assert_string_equal(b.z, aCase[i].zWant);
    dbx_buf_free(&b);
  }
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(zDir) == NULL;
}

static int teardown(void **state) {
  (void)state;
  return rmdir(zDir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(thumbprint_of_the_rfc_example),
      cmocka_unit_test(jwks_have_public_members_only),
      cmocka_unit_test(minted_jwt_kid_is_the_thumbprint),
      cmocka_unit_test(keygen_never_overwrites),
      cmocka_unit_test(policy_golden_texts),
      cmocka_unit_test(policy_refusals),
      cmocka_unit_test(shell_quoting),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
