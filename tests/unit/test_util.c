/*
** Unit tests of util.c: the first error wins, buffers stay usable, JSON
** that held a secret is wiped before cJSON frees it, no credential
** survives into an error message, also when the message was cut short,
** the shared JSON and URL escapers, and the readers of JSON a server
** sent (integers range-checked, members found in raw text), and the
** digest of a list of strings.
*/
#include <malloc.h>

#include <cjson/cJSON.h>

#include "unit.h"

static void first_error_wins(void **state) {
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_error_set(&e, SQLITE_ERROR, "first %d", 1),
                   SQLITE_ERROR);
  assert_int_equal(dbx_error_set(&e, SQLITE_NOMEM, "second"), SQLITE_NOMEM);
  assert_int_equal(e.rc, SQLITE_ERROR);
  assert_string_equal(e.zMsg, "first 1");
}

static void error_text_is_one_line(void **state) {
  DbxError e;
  char *z;
  (void)state;
  dbx_error_clear(&e);
  dbx_error_set_api(&e, SQLITE_ERROR, 404, "TABLE_OR_VIEW_NOT_FOUND",
                    "table main.x.y not found\nsecond line");
  snprintf(e.zStatement, sizeof(e.zStatement), "01ef-1");
  z = dbx_error_text(&e);
  assert_string_equal(z, "databricks: table main.x.y not found second line "
                         "(TABLE_OR_VIEW_NOT_FOUND, statement 01ef-1)");
  assert_int_equal(e.httpStatus, 404);
  sqlite3_free(z);
}

static void numeric_error_code_is_left_out(void **state) {
  DbxError e;
  char *z;
  (void)state;
  dbx_error_clear(&e);
  dbx_error_set_api(&e, SQLITE_AUTH, 403, "403",
                    "HTTP 403: Invalid access token.");
  z = dbx_error_text(&e);
  assert_string_equal(z, "databricks: HTTP 403: Invalid access token.");
  sqlite3_free(z);
}

static void buf_grows_and_is_taken(void **state) {
  DbxBuf b = {0};
  char *z;
  int i;
  (void)state;
  for (i = 0; i < 1000; i++)
    dbx_buf_appendf(&b, "%d,", i % 10);
  assert_int_equal(b.rc, SQLITE_OK);
  assert_int_equal(b.n, 2000);
  assert_memory_equal(b.z, "0,1,2,", 6);
  z = dbx_buf_take(&b);
  assert_null(b.z);
  assert_int_equal(strlen(z), 2000);
  sqlite3_free(z);
  z = dbx_buf_take(&b);
  assert_string_equal(z, "");
  sqlite3_free(z);
}

static void version_names_every_library(void **state) {
  const char *z = dbx_version_text();
  (void)state;
  assert_non_null(strstr(z, "sqlite-databricks " DBX_VERSION));
  assert_non_null(strstr(z, "sqlite 3."));
  assert_non_null(strstr(z, "libcurl "));
  assert_non_null(strstr(z, "OpenSSL "));
  assert_non_null(strstr(z, "cJSON "));
}

/* cJSON's free, counting blocks that still hold the secret when freed. */
static int nFreedWithSecret;
static void free_checking(void *p) {
  if (p && memmem(p, malloc_usable_size(p), "s3cret", 6)) nFreedWithSecret++;
  free(p);
}

static void json_with_a_secret_is_wiped_before_free(void **state) {
  cJSON_Hooks hooks = {malloc, free_checking};
  cJSON *p;
  (void)state;
  cJSON_InitHooks(&hooks);
  nFreedWithSecret = 0;
  p = cJSON_Parse("{\"token\": \"dapi-s3cret\", \"nested\": "
                  "[{\"client_secret\": \"s3cret-2\"}], \"n\": 1}");
  assert_non_null(p);
  dbx_json_free_secret(p);
  assert_int_equal(nFreedWithSecret, 0);
  p = cJSON_Parse("{\"token\": \"dapi-s3cret\"}"); /* the check works */
  cJSON_Delete(p);
  assert_int_equal(nFreedWithSecret, 1);
  dbx_json_free_secret(NULL);
  cJSON_InitHooks(NULL);
}

/* Scrubs a copy of zIn with the given known secrets. */
static char *scrubbed(const char *zIn, const char *const *azSecret,
                      int nSecret) {
  char *z = sqlite3_mprintf("%s", zIn);
  assert_non_null(z);
  dbx_scrub_text(z, azSecret, nSecret);
  return z;
}

/* Asserts that scrubbing zIn gives zWant, and that a second pass keeps it. */
static void check_scrub(const char *zIn, const char *const *azSecret,
                        int nSecret, const char *zWant) {
  char *z = scrubbed(zIn, azSecret, nSecret);
  char *z2;
  assert_string_equal(z, zWant);
  z2 = scrubbed(z, azSecret, nSecret);
  assert_string_equal(z2, zWant);
  sqlite3_free(z);
  sqlite3_free(z2);
}

static void scrub_known_secret_whole_or_cut(void **state) {
  const char *azS[] = {"dapi0123456789abcdef012", NULL, "abc", "s3cr3t-value"};
  (void)state;
  check_scrub("token dapi0123456789abcdef012 echoed", azS, 4,
              "token *** echoed");
  check_scrub("dapi0123456789abcdef012dapi0123456789abcdef012", azS, 4, "***");
  /* 22 of 23 bytes, as left by a cut in the middle, then more text */
  check_scrub("echo: dapi0123456789abcdef01 (auth pat: check the credentials)",
              azS, 4, "echo: *** (auth pat: check the credentials)");
  check_scrub("end dapi0123", azS, 4, "end ***");
  check_scrub("end dapi012", azS, 4, "end dapi012"); /* under 8: kept */
  check_scrub("s3cr3t-value at the start", azS, 4, "*** at the start");
  check_scrub("abc is too short to look for", azS, 4,
              "abc is too short to look for");
  check_scrub("", azS, 4, "");
  check_scrub("nothing here", NULL, 0, "nothing here");
  dbx_scrub_text(NULL, azS, 4);
}

static void scrub_longest_known_secret_wins(void **state) {
  const char *azS[] = {"secret-one", "secret-one-and-more"};
  const char *azJwt[] = {"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnMQ"};
  (void)state;
  check_scrub("[secret-one-and-more]", azS, 2, "[***]");
  check_scrub("[secret-one-and-m]", azS, 2, "[***]");
  /* where the text leaves the secret, the rest of that token goes too */
  check_scrub("jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiIn0.c2lnMg end", azJwt, 1,
              "jwt *** end");
  check_scrub("[secret-one2/+=x] secret-onely", azS, 2, "[***] ***");
}

static void scrub_authorization_any_scheme(void **state) {
  (void)state;
  check_scrub("headers: Authorization: Bearer dapiabcdef0123456789 Host: x",
              NULL, 0, "headers: Authorization: *** Host: x");
  check_scrub("{\"authorization\":\"Basic Y2xpZW50OnNlY3JldA==\",\"a\":1}",
              NULL, 0, "{\"authorization\":\"***\",\"a\":1}");
  check_scrub("{\\\"Authorization\\\": \\\"Token abc\\\"}", NULL, 0,
              "{\\\"Authorization\\\": \\\"***\\\"}");
  check_scrub("authorization=SharedKey acct:sig", NULL, 0, "authorization=***");
  check_scrub("Proxy-Authorization: Negotiate YIIB", NULL, 0,
              "Proxy-Authorization: ***");
  /* cut short right after the scheme, or inside the credential */
  check_scrub("Authorization: Bearer", NULL, 0, "Authorization: ***");
  check_scrub("Authorization: Bearer da", NULL, 0, "Authorization: ***");
  /* prose is left alone */
  check_scrub("Authorization header missing", NULL, 0,
              "Authorization header missing");
  check_scrub("Authorization: ", NULL, 0, "Authorization: ");
}

static void scrub_scheme_credentials(void **state) {
  (void)state;
  check_scrub("sent Bearer dapi0123456789abcdef and failed", NULL, 0,
              "sent Bearer *** and failed");
  check_scrub("basic Y2xpZW50OnNlY3JldA== was rejected", NULL, 0,
              "basic *** was rejected");
  check_scrub("Invalid bearer token", NULL, 0, "Invalid bearer token");
  check_scrub("Basic authentication is disabled", NULL, 0,
              "Basic authentication is disabled");
}

static void scrub_jwts_and_token_fields(void **state) {
  (void)state;
  check_scrub("bad JWT eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln here", NULL, 0,
              "bad JWT *** here");
  check_scrub("cut eyJhbGciOiJSUz", NULL, 0, "cut ***");
  check_scrub("heyJude and eyJ alone", NULL, 0, "heyJude and eyJ alone");
  check_scrub("{\"access_token\":\"opaque-123\",\"token_type\":\"Bearer\"}",
              NULL, 0, "{\"access_token\":\"***\",\"token_type\":\"Bearer\"}");
  check_scrub("grant_type=x&subject_token=opaque.v&scope=all-apis", NULL, 0,
              "grant_type=x&subject_token=***&scope=all-apis");
  check_scrub("client_secret: dose0123 refresh_token=r1 id_token=i1 "
              "password=p1 client_assertion=a1",
              NULL, 0,
              "client_secret: *** refresh_token=** id_token=** password=** "
              "client_assertion=**");
  check_scrub("my_access_token=x stays", NULL, 0, "my_access_token=x stays");
}

static void scrub_private_keys(void **state) {
  (void)state;
  check_scrub("key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END "
              "PRIVATE KEY----- end",
              NULL, 0, "key: *** end");
  check_scrub("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI", NULL, 0, "***");
  check_scrub("-----BEGIN RSA PRIVATE", NULL, 0, "***");
  check_scrub("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
              NULL, 0,
              "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
}

static void scrub_presigned_url_signatures(void **state) {
  (void)state;
  check_scrub("GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-"
              "SHA256&X-Amz-Credential=AKIA%2F2024&X-Amz-Date=20240101T0000Z"
              "&X-Amz-Security-Token=FwoGZX&X-Amz-Signature=0a1b2c#frag",
              NULL, 0,
              "GET https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-"
              "SHA256&X-Amz-Credential=***&X-Amz-Date=20240101T0000Z"
              "&X-Amz-Security-Token=***&X-Amz-Signature=***#frag");
  check_scrub("https://a.blob.core.windows.net/c/f?sv=2021-08-06&se=2024-01-"
              "01T00%3A00Z&sr=b&sp=r&sig=AbC%2Bd%3D",
              NULL, 0,
              "https://a.blob.core.windows.net/c/f?sv=2021-08-06&se=***"
              "&sr=b&sp=r&sig=***");
  check_scrub("<a href=\"https://g.googleapis.com/o?X-Goog-Credential=sa%40p"
              "&amp;X-Goog-Signature=9f8e\">",
              NULL, 0,
              "<a href=\"https://g.googleapis.com/o?X-Goog-Credential=***"
              "&amp;X-Goog-Signature=***\">");
  check_scrub("https://d.cloudfront.net/x?Signature=abc&Key-Pair-Id=K1", NULL,
              0, "https://d.cloudfront.net/x?Signature=***&Key-Pair-Id=K1");
  check_scrub("design=3 and sig=1 stay", NULL, 0, "design=3 and sig=1 stay");
  /* the encryption key an external link must be fetched with */
  check_scrub("x-amz-server-side-encryption-customer-key: q83vEjRWeJA= "
              "x-amz-server-side-encryption-customer-key-MD5: bWQ1",
              NULL, 0,
              "x-amz-server-side-encryption-customer-key: *** "
              "x-amz-server-side-encryption-customer-key-MD5: bWQ1");
  check_scrub("{\"x-ms-encryption-key\":\"a2V5\"}", NULL, 0,
              "{\"x-ms-encryption-key\":\"***\"}");
}

/* A message longer than zMsg with a credential across the cut. */
static void error_set_scrubs_before_cutting(void **state) {
  DbxError e;
  char zPad[600];
  size_t nPad = sizeof(e.zMsg) - 1 - strlen("Authorization: Bearer ") - 22;
  char *z;
  (void)state;
  memset(zPad, 'x', nPad);
  zPad[nPad] = 0;
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_AUTH, "%sAuthorization: Bearer %s", zPad,
                "dapi0123456789abcdef012");
  assert_null(strstr(e.zMsg, "dapi"));
  assert_int_equal(strlen(e.zMsg), nPad + strlen("Authorization: ***"));

  /* scrubbed first, the text after a long credential still fits */
  memset(zPad, 'a', 450);
  zPad[450] = 0;
  dbx_error_clear(&e);
  dbx_error_set_api(&e, SQLITE_ERROR, 400, "eyJhbGciOiJIUzI1NiJ9",
                    "echo: Bearer dapi%s then the tail", zPad);
  assert_string_equal(e.zMsg, "echo: Bearer *** then the tail");
  assert_string_equal(e.zCode, "***");

  /* the statement id is written directly: dbx_error_text scrubs too */
  snprintf(e.zStatement, sizeof(e.zStatement), "sig Bearer abc123def456");
  z = dbx_error_text(&e);
  assert_string_equal(z, "databricks: echo: Bearer *** then the tail (***, "
                         "statement sig Bearer ***)");
  sqlite3_free(z);
}

static void error_cut_keeps_utf8_whole(void **state) {
  DbxError e;
  char zPad[600];
  size_t nPad = sizeof(e.zMsg) - 2; /* the 2-byte character crosses the cut */
  (void)state;
  memset(zPad, 'x', nPad);
  zPad[nPad] = 0;
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_ERROR, "%s\xc3\xa9", zPad);
  assert_int_equal(strlen(e.zMsg), nPad);
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_ERROR, "%s", "");
  assert_string_equal(e.zMsg, "");
}

static void error_scrub_covers_message_and_code(void **state) {
  DbxError e;
  const char *azS[] = {"marker-secret-42"};
  (void)state;
  dbx_error_clear(&e);
  dbx_error_set_api(&e, SQLITE_AUTH, 401, "marker-secret-42",
                    "server said marker-secret-4");
  dbx_error_scrub(&e, azS, 1);
  assert_string_equal(e.zMsg, "server said ***");
  assert_string_equal(e.zCode, "***");
  dbx_error_scrub(NULL, azS, 1);
}

/* A registered secret is scrubbed from any message, also across the cut,
** until the memory that holds it is wiped. */
static void registered_secrets_are_scrubbed_until_freed(void **state) {
  DbxError e;
  DbxBuf b = {0};
  char zPad[600];
  char *zTok = sqlite3_mprintf("%s", "pat-7c1e2d3f4a5b6c7d8e9f");
  size_t nPad = sizeof(e.zMsg) - 1 - 10;
  (void)state;
  dbx_secret_add(zTok);
  dbx_buf_appendf(&b, "Authorization: Basic %s", "Y2xpZW50OnNlY3JldA");
  dbx_secret_add(b.z + strlen("Authorization: Basic "));
  dbx_secret_add(NULL);
  dbx_secret_add("abc");

  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_ERROR, "statement failed: '%s' and %s", zTok,
                "Y2xpZW50OnNlY3JldA");
  assert_string_equal(e.zMsg, "statement failed: '***' and ***");
  memset(zPad, 'x', nPad);
  zPad[nPad] = 0;
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_ERROR, "%s%s tail", zPad, zTok);
  assert_string_equal(e.zMsg + nPad, "*** tail");

  dbx_buf_free_secret(&b);
  dbx_free_secret(zTok);
  dbx_error_clear(&e);
  dbx_error_set(&e, SQLITE_ERROR, "%s %s", "pat-7c1e2d3f4a5b6c7d8e9f",
                "Y2xpZW50OnNlY3JldA");
  assert_string_equal(e.zMsg, "pat-7c1e2d3f4a5b6c7d8e9f Y2xpZW50OnNlY3JldA");
}

/* JSON string literals: the escapes JSON requires, the short forms for
** the usual controls, NUL and the rest of 0x01..0x1f as \u00XX, and
** every other byte (DEL, UTF-8) as it is. */
static void json_strings_escape_what_json_requires(void **state) {
  static const char zIn[] = "a\"b\\c\nd\re\tf\x01g\x1fh\x7f\xc3\xa9";
  DbxBuf b = {0};
  cJSON *pJson;
  (void)state;
  dbx_buf_append_json(&b, "", 0);
  assert_string_equal(b.z, "\"\"");
  dbx_buf_reset(&b);
  dbx_buf_append_json(&b, zIn, sizeof(zIn) - 1);
  assert_string_equal(
      b.z, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001fh\x7f\xc3\xa9\"");
  /* it reads back as the same bytes */
  pJson = cJSON_Parse(b.z);
  assert_non_null(pJson);
  assert_string_equal(pJson->valuestring, zIn);
  cJSON_Delete(pJson);
  /* a NUL inside the n bytes is escaped, not an end */
  dbx_buf_reset(&b);
  dbx_buf_append_json(&b, "x\0y", 3);
  assert_string_equal(b.z, "\"x\\u0000y\"");
  assert_int_equal(b.rc, SQLITE_OK);
  dbx_buf_free(&b);
}

/* SQLite names: double quotes around, one inside doubled; the text
** SQLite's own %w would write. */
static void sqlite_names_are_double_quoted(void **state) {
  static const char *const az[] = {"", "t", "a\"b", "\"\"", "x\"", "we\u00efrd name"};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(az) / sizeof(az[0]); i++) {
    DbxBuf b = {0};
    char *zWant = sqlite3_mprintf("\"%w\"", az[i]);
    dbx_buf_append_name(&b, az[i]);
    assert_string_equal(b.z, zWant);
    sqlite3_free(zWant);
    dbx_buf_free(&b);
  }
}

/* Percent-encoding: a path segment or query value encodes '.', a form
** value keeps it and writes a space as '+'. */
static void url_encoding_of_segments_and_forms(void **state) {
  DbxBuf b = {0};
  (void)state;
  dbx_buf_append_url(&b, "", 0);
  dbx_buf_append_url(&b, "", 1);
  assert_null(b.z);
  dbx_buf_append_url(&b, "AZaz09-_~ ./%+&=\xc3\xa9\x01\x7f\xff", 0);
  assert_string_equal(b.z, "AZaz09-_~%20%2E%2F%25%2B%26%3D%C3%A9%01%7F%FF");
  dbx_buf_reset(&b);
  dbx_buf_append_url(&b, "AZaz09-_~ ./%+&=\xc3\xa9\x01\x7f\xff", 1);
  assert_string_equal(b.z, "AZaz09-_~+.%2F%25%2B%26%3D%C3%A9%01%7F%FF");
  assert_int_equal(b.rc, SQLITE_OK);
  dbx_buf_free(&b);
}

/* Numbers from the server: whole, in range, checked before any cast. */
static void server_integers_are_range_checked(void **state) {
  static const struct {
    const char *zJson; /* the value as sent, or NULL for a missing one */
    int64_t iMin, iMax;
    int rc;
    int64_t iWant;
  } aCase[] = {
      {"7", 0, 10, SQLITE_OK, 7},
      {"0", 0, 10, SQLITE_OK, 0},
      {"10", 0, 10, SQLITE_OK, 10},
      {"11", 0, 10, SQLITE_RANGE, 0},
      {"-1", 0, 10, SQLITE_RANGE, 0},
      {"1.5", 0, 10, SQLITE_RANGE, 0},
      {"1e74", 0, INT64_MAX, SQLITE_RANGE, 0},
      {"-1e74", INT64_MIN, INT64_MAX, SQLITE_RANGE, 0},
      {"1e400", 0, INT64_MAX, SQLITE_RANGE, 0},
      {"9007199254740992", 0, (int64_t)1 << 53, SQLITE_OK, (int64_t)1 << 53},
      {"9223372036854775807", INT64_MIN, INT64_MAX, SQLITE_RANGE,
       0}, /* 2^63 as a double */
      {"-9223372036854775808", INT64_MIN, INT64_MAX, SQLITE_OK, INT64_MIN},
      {"\"42\"", 0, 100, SQLITE_OK, 42},
      {"\"9223372036854775807\"", INT64_MIN, INT64_MAX, SQLITE_OK, INT64_MAX},
      {"\"9223372036854775808\"", INT64_MIN, INT64_MAX, SQLITE_RANGE, 0},
      {"\"4x\"", 0, 100, SQLITE_RANGE, 0},
      {"\" 4\"", 0, 100, SQLITE_RANGE, 0},
      {"\"\"", 0, 100, SQLITE_RANGE, 0},
      {"true", 0, 100, SQLITE_RANGE, 0},
      {"[1]", 0, 100, SQLITE_RANGE, 0},
      {"null", 0, 100, SQLITE_NOTFOUND, -5},
      {NULL, 0, 100, SQLITE_NOTFOUND, -5},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    cJSON *p = aCase[i].zJson ? cJSON_Parse(aCase[i].zJson) : NULL;
    int64_t v = -5;
    if (aCase[i].zJson) assert_non_null(p);
    print_message("%s\n", aCase[i].zJson ? aCase[i].zJson : "(missing)");
    assert_int_equal(dbx_json_int(p, aCase[i].iMin, aCase[i].iMax, &v),
                     aCase[i].rc);
    if (aCase[i].rc != SQLITE_RANGE) assert_true(v == aCase[i].iWant);
    cJSON_Delete(p);
  }
}

/* Members are found in raw text without decoding, top level only. */
static void json_member_spans_raw_text(void **state) {
  static const struct {
    const char *zJson, *zKey;
    const char *zWant; /* the value's text, or NULL: not found */
  } aCase[] = {
      {"{\"a\":\"x\\\"data_array\\\":[1]\",\"data_array\":[[\"q\\u0000\"]],"
       "\"b\":{}}",
       "data_array", "[[\"q\\u0000\"]]"},
      {" { \"r\" : { \"data_array\" : 1 } , \"data_array\" : null } ",
       "data_array", "null"},
      {"{\"r\":{\"data_array\":[1]}}", "data_array", NULL},
      {"{\"data\\u005farray\":[1]}", "data_array", NULL},
      {"{\"n\":-1.5e3,\"k\":true,\"data_array\":[]}", "data_array", "[]"},
      {"{\"data_array\":[[\"a\"]", "data_array", NULL},
      {"[{\"data_array\":[]}]", "data_array", NULL},
      {"{\"data_array\":[1],\"data_array\":[2]}", "data_array", "[1]"},
      {"{}", "data_array", NULL},
      {"", "data_array", NULL},
      {"{\"a\" 1}", "a", NULL},
  };
  size_t i, iStart, nLen;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    const char *z = aCase[i].zJson;
    int bFound = dbx_json_member(z, strlen(z), aCase[i].zKey, &iStart, &nLen);
    print_message("%s\n", z);
    if (aCase[i].zWant == NULL) {
      assert_int_equal(bFound, 0);
    } else {
      assert_int_equal(bFound, 1);
      assert_int_equal(nLen, strlen(aCase[i].zWant));
      assert_memory_equal(z + iStart, aCase[i].zWant, nLen);
    }
  }
}

/* Digests of string lists: known SHA-256 prefixes, each string ended by
** its NUL (so "a","bc" differs from "ab","c"), NULL read as "". */
static void digests_of_string_lists(void **state) {
  const char *azAbc[] = {"abc"}, *azSplit[] = {"a", "bc"};
  const char *azNull[] = {NULL, "x"};
  char z[33];
  (void)state;
  dbx_digest_hex(azAbc, 1, z);
  assert_string_equal(z, "dc1114cd074914bd872cc1f9a23ec910");
  dbx_digest_hex(azSplit, 2, z);
  assert_string_equal(z, "aa795aa4bbb6117911ef062e271bcb05");
  dbx_digest_hex(NULL, 0, z);
  assert_string_equal(z, "e3b0c44298fc1c149afbf4c8996fb924");
  dbx_digest_hex(azNull, 2, z);
  assert_string_equal(z, "0561374e75d21135ef4df8565a9e09c9");
}

/* The streamed digest is the digest of the bytes, however they are cut. */
static void streamed_digest_matches_the_list_digest(void **state) {
  const char *azAbc[] = {"abc"};
  char zList[33], zStream[33];
  DbxDigest *p;
  (void)state;
  dbx_digest_hex(azAbc, 1, zList);
  p = dbx_digest_new();
  dbx_digest_update(p, "a", 1);
  dbx_digest_update(p, "bc", 3); /* with the NUL, as the list form takes it */
  dbx_digest_final(p, zStream);
  assert_string_equal(zStream, zList);
  dbx_digest_final(NULL, zStream);
  assert_string_equal(zStream, "");
}

static void json_values_are_validated(void **state) {
  static const char *azGood[] = {"0",
                                 "-0",
                                 "1.5e-3",
                                 "-12E+2",
                                 "true",
                                 "false",
                                 "null",
                                 "\"\"",
                                 "\"a\\u00e9\\n\\\"\"",
                                 " {\"a\" : [1, {\"b\": null}], \"c\": {}} ",
                                 "[]",
                                 "[[[[]]]]",
                                 "\"\xc3\xa9\""};
  static const char *azBad[] = {
      "",      " ",       "01",         "1.",          ".5",
      "+1",    "1e",      "-",          "tru",         "nul",
      "True",  "\"abc",   "\"a\\x\"",   "\"\\u12G4\"", "[1,]",
      "[1 2]", "{\"a\"}", "{\"a\":1,}", "{a:1}",       "[1]]",
      "{} {}", "1 2",     "'a'",        "NaN",         "\"tab\there\"",
      "[",     "{\"a\":"};
  char zDeep[2100];
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(azGood); i++) {
    if (!dbx_json_valid(azGood[i], strlen(azGood[i])))
      fail_msg("%s", azGood[i]);
  }
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    if (dbx_json_valid(azBad[i], strlen(azBad[i]))) fail_msg("%s", azBad[i]);
  }
  /* a NUL byte inside the span is not JSON; the length decides the end */
  assert_false(dbx_json_valid("[1]\0", 4));
  assert_true(dbx_json_valid("[1]\0", 3));
  /* 1000 levels pass, 1001 do not: no input runs the stack out */
  memset(zDeep, '[', 1000);
  memset(zDeep + 1000, ']', 1000);
  assert_true(dbx_json_valid(zDeep, 2000));
  memset(zDeep, '[', 1001);
  memset(zDeep + 1001, ']', 1001);
  assert_false(dbx_json_valid(zDeep, 2002));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(first_error_wins),
      cmocka_unit_test(error_text_is_one_line),
      cmocka_unit_test(numeric_error_code_is_left_out),
      cmocka_unit_test(buf_grows_and_is_taken),
      cmocka_unit_test(version_names_every_library),
      cmocka_unit_test(json_with_a_secret_is_wiped_before_free),
      cmocka_unit_test(scrub_known_secret_whole_or_cut),
      cmocka_unit_test(scrub_longest_known_secret_wins),
      cmocka_unit_test(scrub_authorization_any_scheme),
      cmocka_unit_test(scrub_scheme_credentials),
      cmocka_unit_test(scrub_jwts_and_token_fields),
      cmocka_unit_test(scrub_private_keys),
      cmocka_unit_test(scrub_presigned_url_signatures),
      cmocka_unit_test(error_set_scrubs_before_cutting),
      cmocka_unit_test(error_cut_keeps_utf8_whole),
      cmocka_unit_test(error_scrub_covers_message_and_code),
      cmocka_unit_test(registered_secrets_are_scrubbed_until_freed),
      cmocka_unit_test(json_strings_escape_what_json_requires),
      cmocka_unit_test(sqlite_names_are_double_quoted),
      cmocka_unit_test(url_encoding_of_segments_and_forms),
      cmocka_unit_test(server_integers_are_range_checked),
      cmocka_unit_test(json_member_spans_raw_text),
      cmocka_unit_test(digests_of_string_lists),
      cmocka_unit_test(streamed_digest_matches_the_list_digest),
      cmocka_unit_test(json_values_are_validated),
  };
  return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
