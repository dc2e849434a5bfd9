/*
** Unit tests of the Files API client (files.c) on the fake transport:
** volume paths checked before any request (empty, '.', '..' segments,
** control characters, paths outside a volume) and percent-encoded one
** segment at a time (spaces, '?', '#', '%', UTF-8); an upload streamed
** from disk and sent again from its first byte on a retry; listings read
** page by page through empty pages, and every listing that lies (wrong
** types, negative or fractional sizes, names outside the directory, a
** page token that loops, a NUL in a name) refused with one line; a 404
** told apart (missing volume or missing file) and a 403 turned into the
** GRANT to run, never with the token; HEAD's size and date; Range reads.
*/
#include <fcntl.h>
#include <unistd.h>

#include "unit.h"

#include "client.h"
#include "config.h"
#include "fake_transport.h"
#include "files.h"

#define HOST "https://h.example.com"
#define VOL  "/Volumes/main/default/stage"

static char zDir[256];
static Fake f;
static DbxHttpTransport tr;
static DbxClient *pClient;

static int setup(void **state) {
  DbxConfig *p;
  DbxError e;
  (void)state;
  snprintf(zDir, sizeof(zDir), "/tmp/dbx-unit-files-XXXXXX");
  unit_isolate(zDir);
  setenv("DATABRICKS_TOKEN", "dapi-SECRET", 1);
  tr = fake_transport(&f);
  dbx_client_test_transport(&tr);
  dbx_error_clear(&e);
  assert_int_equal(dbx_config_new(&p), SQLITE_OK);
  assert_int_equal(dbx_config_set(p, "host", HOST, DBX_SRC_OPTION, &e),
                   SQLITE_OK);
  assert_int_equal(dbx_config_resolve(p, &e), SQLITE_OK);
  assert_int_equal(dbx_client_open(p, &pClient, &e), SQLITE_OK);
  dbx_config_free(p);
  return 0;
}

static int teardown(void **state) {
  char z[300];
  (void)state;
  dbx_client_free(pClient);
  dbx_client_test_transport(NULL);
  unsetenv("DATABRICKS_TOKEN");
  snprintf(z, sizeof(z), "rm -rf '%s'", zDir);
  assert_int_equal(system(z), 0);
  return 0;
}

/* Writes n bytes of z to a file in the scratch folder; returns its path. */
static const char *local_file(const char *zName, const char *z, size_t n) {
  static char zPath[400];
  int fd;
  snprintf(zPath, sizeof(zPath), "%s/%s", zDir, zName);
  fd = open(zPath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, z, n), (ssize_t)n);
  close(fd);
  return zPath;
}

/* ---------------------------------------------------------------------
** Paths
*/

static void paths_are_checked(void **state) {
  static const struct {
    const char *zPath;
    int eKind;
    int bOk;
  } aCase[] = {
      {VOL "/a.parquet", DBX_FILES_FILE, 1},
      {VOL "/d/e/f", DBX_FILES_FILE, 1},
      {VOL "/...", DBX_FILES_FILE, 1}, /* three dots is a name */
      {VOL "/.hidden", DBX_FILES_FILE, 1},
      {VOL, DBX_FILES_DIR, 1},
      {VOL "/", DBX_FILES_DIR, 1},
      {VOL "/d/", DBX_FILES_DIR, 1},
      {VOL, DBX_FILES_FILE, 0}, /* the root is no file */
      {VOL "/", DBX_FILES_FILE, 0},
      {VOL "/a/", DBX_FILES_FILE, 0},
      {VOL "//a", DBX_FILES_FILE, 0},
      {VOL "/./a", DBX_FILES_FILE, 0},
      {VOL "/../a", DBX_FILES_FILE, 0},
      {VOL "/d/..", DBX_FILES_DIR, 0},
      {VOL "/.", DBX_FILES_DIR, 0},
      {VOL "//", DBX_FILES_DIR, 0},
      {"/Volumes/main/default", DBX_FILES_DIR, 0},
      {"/Volumes//default/stage/a", DBX_FILES_FILE, 0},
      {"/Volumes/main/../stage/a", DBX_FILES_FILE, 0},
      {"/volumes/main/default/stage/a", DBX_FILES_FILE, 0},
      {"Volumes/main/default/stage/a", DBX_FILES_FILE, 0},
      {"/tmp/a", DBX_FILES_FILE, 0},
      {"/Volumes", DBX_FILES_DIR, 0},
      {"", DBX_FILES_FILE, 0},
      {VOL "/a\nb", DBX_FILES_FILE, 0},
      {VOL "/a\x7f", DBX_FILES_FILE, 0},
      {VOL "/a\tb", DBX_FILES_FILE, 0},
  };
  size_t i;
  char zLong[DBX_FILES_MAX_PATH + 64];
  DbxError e;
  (void)state;
  for (i = 0; i < sizeof(aCase) / sizeof(aCase[0]); i++) {
    dbx_error_clear(&e);
    int rc = dbx_files_check_path(aCase[i].zPath, aCase[i].eKind, &e);
    if (aCase[i].bOk) {
      assert_int_equal(rc, SQLITE_OK);
    } else {
      assert_int_equal(rc, SQLITE_ERROR);
      assert_null(strchr(e.zMsg, '\n')); /* one line, even for a '\n' */
      assert_true(strlen(e.zMsg) > 20);
    }
  }
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_check_path(NULL, DBX_FILES_FILE, &e),
                   SQLITE_ERROR);
  /* the longest accepted, and one byte more */
  memset(zLong, 'x', sizeof(zLong));
  memcpy(zLong, VOL "/", strlen(VOL "/"));
  zLong[DBX_FILES_MAX_PATH] = 0;
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_check_path(zLong, DBX_FILES_FILE, &e), SQLITE_OK);
  zLong[DBX_FILES_MAX_PATH] = 'x';
  zLong[DBX_FILES_MAX_PATH + 1] = 0;
  assert_int_equal(dbx_files_check_path(zLong, DBX_FILES_FILE, &e),
                   SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "longer than"));
}

static void segments_are_encoded(void **state) {
  DbxBuf b = {0};
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_request_path("/api/2.0/fs/files",
                                          VOL
                                          "/a b?c#d%e/\xc3\xa9t\xc3\xa9.v1.txt",
                                          DBX_FILES_FILE, &b, &e),
                   SQLITE_OK);
  assert_string_equal(b.z, "/api/2.0/fs/files" VOL
                           "/a%20b%3Fc%23d%25e/%C3%A9t%C3%A9.v1.txt");
  dbx_buf_free(&b);
  /* a directory loses its trailing '/'; names with '+', '&', '=' too */
  assert_int_equal(dbx_files_request_path("/api/2.0/fs/directories",
                                          VOL "/x+y&z=1/", DBX_FILES_DIR, &b,
                                          &e),
                   SQLITE_OK);
  assert_string_equal(b.z, "/api/2.0/fs/directories" VOL "/x%2By%26z%3D1");
  dbx_buf_free(&b);
}

/* A refused path sends nothing, whatever the call. */
static void refused_paths_send_nothing(void **state) {
  static const char *const azBad[] = {VOL "/../x", VOL "//x", "/tmp/x",
                                      VOL "/./x", "/Volumes/a/b"};
  const char *zLocal = local_file("f.bin", "abc", 3);
  DbxFilesList *pList = NULL;
  DbxFileInfo info;
  DbxFilesJob job;
  DbxError e;
  size_t i;
  (void)state;
  fake_reply(&f, 200, "", NULL);
  for (i = 0; i < sizeof(azBad) / sizeof(azBad[0]); i++) {
    dbx_error_clear(&e);
    assert_int_equal(dbx_files_upload(pClient, zLocal, azBad[i], 1, NULL, &e),
                     SQLITE_ERROR);
    dbx_error_clear(&e);
    assert_int_equal(dbx_files_head(pClient, azBad[i], &info, &e),
                     SQLITE_ERROR);
    dbx_error_clear(&e);
    assert_int_equal(dbx_files_delete(pClient, azBad[i], &e), SQLITE_ERROR);
    dbx_error_clear(&e);
    assert_int_equal(
        dbx_files_download_to(pClient, azBad[i], zLocal, 0, -1, NULL, &e),
        SQLITE_ERROR);
    dbx_error_clear(&e);
    job.zLocal = zLocal;
    job.zRemote = azBad[i];
    assert_int_equal(
        dbx_files_upload_many(pClient, &job, 1, 4, 1, NULL, NULL, NULL, &e),
        SQLITE_ERROR);
  }
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_list_open(pClient, VOL "/a/../b", 0, &pList, &e),
                   SQLITE_ERROR);
  assert_null(pList);
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_rmdir(pClient, "/Volumes/a/b", 1, &e),
                   SQLITE_ERROR);
  assert_int_equal(f.nSent, 0);
}

/* ---------------------------------------------------------------------
** Uploads and downloads
*/

static void upload_streams_and_retries_from_the_start(void **state) {
  static const char zData[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  const char *zLocal = local_file("up.bin", zData, sizeof(zData) - 1);
  int64_t n = -1;
  DbxError e;
  (void)state;
  fake_reply(&f, 503, "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\"}", "1");
  fake_reply(&f, 204, "", NULL);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_files_upload(pClient, zLocal, VOL "/b 1/x.bin", 1, &n, &e),
      SQLITE_OK);
  assert_int_equal(n, sizeof(zData) - 1);
  assert_int_equal(f.nSent, 2);
  assert_string_equal(f.aSent[0].zMethod, "PUT");
  assert_string_equal(f.aSent[0].zUrl, HOST "/api/2.0/fs/files" VOL
                                            "/b%201/x.bin?overwrite=true");
  assert_non_null(
      strstr(f.aSent[0].zHeaders, "Content-Type: application/octet-stream"));
  assert_string_equal(f.aSent[0].zBody, zData);
  assert_string_equal(f.aSent[1].zBody, zData); /* all of it again */
  assert_int_equal(f.aSent[1].nBody, sizeof(zData) - 1);

  /* overwrite=false; an empty file is one empty body */
  zLocal = local_file("empty.bin", "", 0);
  fake_reply(&f, 204, "", NULL);
  assert_int_equal(dbx_files_upload(pClient, zLocal, VOL "/e", 0, &n, &e),
                   SQLITE_OK);
  assert_int_equal(n, 0);
  assert_string_equal(f.aSent[2].zUrl,
                      HOST "/api/2.0/fs/files" VOL "/e?overwrite=false");
  assert_int_equal(f.aSent[2].nBody, 0);
}

static void upload_of_a_missing_or_odd_local_file(void **state) {
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_files_upload(pClient, "/nonexistent/x", VOL "/x", 1, NULL, &e),
      SQLITE_CANTOPEN);
  assert_non_null(strstr(e.zMsg, "cannot open /nonexistent/x"));
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_upload(pClient, zDir, VOL "/x", 1, NULL, &e),
                   SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "not a regular file"));
  assert_int_equal(f.nSent, 0);
}

static void head_reads_size_and_date(void **state) {
  DbxFileInfo info;
  DbxError e;
  (void)state;
  fake_reply_meta(&f, 200, "1234", "Sun, 06 Nov 1994 08:49:37 GMT");
  fake_reply_meta(&f, 200, "12x", "yesterday");
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_head(pClient, VOL "/a", &info, &e), SQLITE_OK);
  assert_string_equal(f.aSent[0].zMethod, "HEAD");
  assert_int_equal(info.nSize, 1234);
  assert_int_equal(info.iModifiedMs, 784111777000LL);
  assert_int_equal(dbx_files_head(pClient, VOL "/a", &info, &e), SQLITE_OK);
  assert_int_equal(info.nSize, -1);
  assert_int_equal(info.iModifiedMs, -1);
}

static void http_dates(void **state) {
  (void)state;
  assert_int_equal(dbx_files_parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
                   0);
  assert_int_equal(dbx_files_parse_http_date("Sat, 29 Feb 2020 23:59:59 GMT"),
                   1583020799000LL);
  assert_int_equal(dbx_files_parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"),
                   -1);
  assert_int_equal(dbx_files_parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"),
                   -1);
  assert_int_equal(
      dbx_files_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT junk"), -1);
  assert_int_equal(dbx_files_parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"),
                   -1);
  assert_int_equal(dbx_files_parse_http_date(""), -1);
  assert_int_equal(dbx_files_parse_http_date(NULL), -1);
}

static int sink_write(void *pArg, const void *pData, size_t nData) {
  DbxBuf *pGot = pArg;
  dbx_buf_append(pGot, pData, nData);
  return pGot->rc;
}

static void range_reads(void **state) {
  DbxBuf got = {0};
  DbxHttpSink sink = {sink_write, &got};
  int64_t n = 0;
  DbxError e;
  (void)state;
  fake_reply(&f, 206, "56789", NULL);
  fake_reply(&f, 206, "tail", NULL);
  fake_reply(&f, 200, "0123456789", NULL); /* a server that ignored Range */
  fake_reply(&f, 206, "0123456789", NULL); /* more than asked for */
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_download(pClient, VOL "/r", 5, 5, &sink, &n, &e),
                   SQLITE_OK);
  assert_int_equal(n, 5);
  assert_non_null(strstr(f.aSent[0].zHeaders, "Range: bytes=5-9\n"));
  assert_non_null(
      strstr(f.aSent[0].zHeaders, "Accept: application/octet-stream"));
  assert_int_equal(dbx_files_download(pClient, VOL "/r", 6, -1, &sink, &n, &e),
                   SQLITE_OK);
  assert_non_null(strstr(f.aSent[1].zHeaders, "Range: bytes=6-\n"));
  assert_int_equal(got.n, 9);
  assert_memory_equal(got.z, "56789tail", 9);
  assert_int_equal(dbx_files_download(pClient, VOL "/r", 3, -1, &sink, &n, &e),
                   SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "ignored the range"));
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_download(pClient, VOL "/r", 0, 4, &sink, &n, &e),
                   SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "more than the 4 bytes"));
  /* the whole file sends no Range; bad bounds send nothing */
  fake_reply(&f, 200, "all", NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_download(pClient, VOL "/r", 0, -1, &sink, &n, &e),
                   SQLITE_OK);
  assert_null(strstr(f.aSent[4].zHeaders, "Range:"));
  assert_int_equal(dbx_files_download(pClient, VOL "/r", -1, 5, &sink, &n, &e),
                   SQLITE_ERROR);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_files_download(pClient, VOL "/r", INT64_MAX, 5, &sink, &n, &e),
      SQLITE_ERROR);
  assert_int_equal(f.nSent, 5);
  dbx_buf_free(&got);
}

/* ---------------------------------------------------------------------
** Errors
*/

static void missing_volume_and_missing_file(void **state) {
  const char *zLocal = local_file("m.bin", "m", 1);
  DbxError e;
  (void)state;
  /* the upload's 404, then the volume root's 404 */
  fake_reply(&f, 404, "{\"error_code\":\"NOT_FOUND\",\"message\":\"nope\"}",
             NULL);
  fake_reply(&f, 404, "", NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_upload(pClient, zLocal, VOL "/m", 1, NULL, &e),
                   SQLITE_ERROR);
  assert_int_equal(e.httpStatus, 404);
  assert_string_equal(f.aSent[1].zMethod, "HEAD");
  assert_string_equal(f.aSent[1].zUrl, HOST "/api/2.0/fs/directories" VOL);
  assert_non_null(strstr(e.zMsg, "volume `main`.`default`.`stage` does not "
                                 "exist: create it with CREATE VOLUME IF NOT "
                                 "EXISTS `main`.`default`.`stage`"));
  /* the volume is there: the file is missing */
  fake_reply(&f, 404, "{\"error_code\":\"NOT_FOUND\",\"message\":\"nope\"}",
             NULL);
  fake_reply(&f, 200, "", NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_delete(pClient, VOL "/gone", &e), SQLITE_ERROR);
  assert_int_equal(e.httpStatus, 404);
  assert_non_null(strstr(e.zMsg, "no such file or directory in volume "
                                 "`main`.`default`.`stage`"));
}

static void missing_privilege_names_the_grant(void **state) {
  static const char zDenied[] =
      "{\"error_code\":\"PERMISSION_DENIED\",\"message\":\"User does not "
      "have WRITE VOLUME on Volume 'main.default.stage'.\"}";
  const char *zLocal = local_file("p.bin", "p", 1);
  DbxBuf got = {0};
  DbxHttpSink sink = {sink_write, &got};
  DbxError e;
  (void)state;
  fake_reply(&f, 403, zDenied, NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_upload(pClient, zLocal, VOL "/p", 1, NULL, &e),
                   SQLITE_AUTH);
  assert_non_null(strstr(e.zMsg, "GRANT WRITE VOLUME ON VOLUME "
                                 "`main`.`default`.`stage` TO <principal>"));
  assert_null(strstr(e.zMsg, "dapi-SECRET"));
  fake_reply(&f, 403, zDenied, NULL);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_files_download(pClient, VOL "/p", 0, -1, &sink, NULL, &e),
      SQLITE_AUTH);
  assert_non_null(strstr(e.zMsg, "GRANT READ VOLUME ON VOLUME "
                                 "`main`.`default`.`stage`"));
  assert_int_equal(got.n, 0);
  /* a rejected token is not a privilege: the client's message stays */
  fake_reply(&f, 403,
             "{\"error_code\":403,\"message\":\"Invalid access "
             "token.\"}",
             NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_delete(pClient, VOL "/p", &e), SQLITE_AUTH);
  assert_null(strstr(e.zMsg, "GRANT"));
  assert_null(strstr(e.zMsg, "dapi-SECRET"));
  dbx_buf_free(&got);
}

static void existing_file_and_nonempty_directory(void **state) {
  const char *zLocal = local_file("c.bin", "c", 1);
  DbxError e;
  (void)state;
  fake_reply(&f, 409, "{\"error_code\":\"ALREADY_EXISTS\"}", NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_upload(pClient, zLocal, VOL "/c", 0, NULL, &e),
                   SQLITE_CONSTRAINT);
  assert_non_null(strstr(e.zMsg, "pass overwrite true"));
  fake_reply(&f, 409, "{\"error_code\":\"DIRECTORY_NOT_EMPTY\"}", NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_rmdir(pClient, VOL "/d", 0, &e), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "\"recursive\": true"));
}

/* ---------------------------------------------------------------------
** Listing
*/

/* Lists VOL/d to the end; names joined with ',' into zOut. */
static int list_all(int nPageSize, char *zOut, size_t nOut, DbxError *pErr) {
  DbxFilesList *pList = NULL;
  DbxFileEntry ent;
  int rc;
  zOut[0] = 0;
  dbx_error_clear(pErr);
  rc = dbx_files_list_open(pClient, VOL "/d/", nPageSize, &pList, pErr);
  while (rc == SQLITE_OK &&
         (rc = dbx_files_list_next(pList, &ent, pErr)) == SQLITE_ROW) {
    size_t n = strlen(zOut);
    snprintf(zOut + n, nOut - n, "%s%s:%s:%lld:%lld", n ? "," : "", ent.zName,
             ent.bDirectory ? "d" : "f", (long long)ent.nSize,
             (long long)ent.iModifiedMs);
    rc = SQLITE_OK;
  }
  if (rc == SQLITE_DONE) {
    /* stays done */
    assert_int_equal(dbx_files_list_next(pList, &ent, pErr), SQLITE_DONE);
    rc = SQLITE_OK;
  }
  dbx_files_list_free(pList);
  return rc;
}

#define E(name, rest)                                                          \
  "{\"path\":\"" VOL "/d/" name "\",\"name\":\"" name "\"" rest "}"

static void list_follows_every_page(void **state) {
  char zOut[512];
  DbxError e;
  (void)state;
  fake_reply(
      &f, 200,
      "{\"contents\":[" E(
          "a",
          ",\"is_directory\":false,\"file_size\":"
          "3,\"last_modified\":1700000000000") ","
                                               "{\"path\":\"" VOL
                                               "/d/sub/\",\"name\":\"sub\","
                                               "\"is_directory\":true,\"last_"
                                               "modified\":5}"
                                               "],\"next_page_token\":\"t/"
                                               "1+\"}",
      NULL);
  fake_reply(&f, 200, "{\"contents\":[],\"next_page_token\":\"t2\"}", NULL);
  fake_reply(&f, 200, "{\"next_page_token\":\"t3\"}", NULL);
  fake_reply(&f, 200,
             "{\"contents\":[" E(
                 "b c", ",\"file_size\":0") "]"
                                            ",\"next_page_token\":\"\"}",
             NULL);
  assert_int_equal(list_all(2, zOut, sizeof(zOut), &e), SQLITE_OK);
  assert_string_equal(zOut, "a:f:3:1700000000000,sub:d:-1:5,b c:f:0:-1");
  assert_int_equal(f.nSent, 4);
  assert_string_equal(f.aSent[0].zUrl,
                      HOST "/api/2.0/fs/directories" VOL "/d?page_size=2");
  assert_string_equal(f.aSent[1].zUrl,
                      HOST "/api/2.0/fs/directories" VOL
                           "/d?page_size=2&page_token=t%2F1%2B");
  assert_string_equal(f.aSent[3].zUrl, HOST "/api/2.0/fs/directories" VOL
                                            "/d?page_size=2&page_token=t3");
  /* an empty directory: {} and no page size */
  fake_reply(&f, 200, "{}", NULL);
  assert_int_equal(list_all(0, zOut, sizeof(zOut), &e), SQLITE_OK);
  assert_string_equal(zOut, "");
  assert_string_equal(f.aSent[4].zUrl, HOST "/api/2.0/fs/directories" VOL "/d");
}

static void listings_that_lie_are_refused(void **state) {
  static const char *const azBad[] = {
      "[]",
      "{\"contents\":{}}",
      "{\"contents\":[1]}",
      "{\"contents\":[{\"name\":\"a\"}]}",
      "{\"contents\":[{\"path\":\"" VOL "/d/a\"}]}",
      "{\"contents\":[" E("a", ",\"is_directory\":\"yes\"") "]}",
      "{\"contents\":[" E("a", ",\"file_size\":\"12\"") "]}",
      "{\"contents\":[" E("a", ",\"file_size\":-1") "]}",
      "{\"contents\":[" E("a", ",\"file_size\":1.5") "]}",
      "{\"contents\":[" E("a", ",\"file_size\":1e300") "]}",
      "{\"contents\":[" E("a", ",\"last_modified\":\"now\"") "]}",
      "{\"contents\":[{\"path\":\"" VOL "/d/../x\",\"name\":\"..\"}]}",
      "{\"contents\":[{\"path\":\"" VOL "/d/.\",\"name\":\".\"}]}",
      "{\"contents\":[{\"path\":\"" VOL "/d/a/b\",\"name\":\"a/b\"}]}",
      "{\"contents\":[{\"path\":\"" VOL "/d/\",\"name\":\"\"}]}",
      "{\"contents\":[{\"path\":\"" VOL "/other/a\",\"name\":\"a\"}]}",
      "{\"contents\":[{\"path\":\"/Volumes/main/default/stage/da\","
      "\"name\":\"a\"}]}",
      "{\"contents\":[{\"path\":\"" VOL "/d/b\",\"name\":\"a\"}]}",
      "{\"contents\":[{\"path\":\"" VOL "/d/a/\",\"name\":\"a\"}]}",
      "{\"contents\":[{\"path\":\"" VOL
      "/d/a\\u0000b\",\"name\":\"a\\u0000b\"}]}",
      "{\"contents\":[],\"next_page_token\":7}",
  };
  char zOut[512];
  size_t i;
  DbxError e;
  (void)state;
  for (i = 0; i < sizeof(azBad) / sizeof(azBad[0]); i++) {
    f.nReply = f.nSent = 0;
    fake_reply(&f, 200, azBad[i], NULL);
    if (list_all(0, zOut, sizeof(zOut), &e) != SQLITE_ERROR) {
      fail_msg("accepted listing %zu: %s", i, azBad[i]);
    }
    assert_non_null(strstr(e.zMsg, "listing of " VOL "/d: the server sent"));
    assert_null(strchr(e.zMsg, '\n'));
    assert_string_equal(zOut, "");
  }
}

static void a_page_token_that_loops_is_refused(void **state) {
  char zOut[512];
  DbxError e;
  (void)state;
  fake_reply(&f, 200,
             "{\"contents\":[" E("a", "") "],\"next_page_token\":\"x\"}", NULL);
  fake_reply(&f, 200,
             "{\"contents\":[" E("b", "") "],\"next_page_token\":\"y\"}", NULL);
  fake_reply(&f, 200,
             "{\"contents\":[" E("c", "") "],\"next_page_token\":\"x\"}", NULL);
  assert_int_equal(list_all(0, zOut, sizeof(zOut), &e), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "a page token it had sent before"));
  assert_int_equal(f.nSent, 3);
}

static void missing_directory_when_listing(void **state) {
  char zOut[512];
  DbxError e;
  (void)state;
  fake_reply(&f, 404, "{\"error_code\":\"NOT_FOUND\"}", NULL);
  fake_reply(&f, 200, "", NULL); /* the volume exists */
  assert_int_equal(list_all(0, zOut, sizeof(zOut), &e), SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "listing of " VOL "/d/: no such file or "
                                 "directory in volume"));
}

/* A recursive delete lists, deletes the files and the directories below,
** then the directory. */
static void recursive_delete(void **state) {
  DbxError e;
  (void)state;
  fake_reply(
      &f, 200,
      "{\"contents\":[" E("f1", "") "," E("s", ",\"is_directory\":true") "]}",
      NULL);
  fake_reply(&f, 204, "", NULL); /* DELETE f1 */
  fake_reply(&f, 200,
             "{\"contents\":[{\"path\":\"" VOL "/d/s/g\",\"name\":\"g\"}]}",
             NULL);
  fake_reply(&f, 204, "", NULL); /* DELETE s/g */
  fake_reply(&f, 204, "", NULL); /* DELETE dir s */
  fake_reply(&f, 204, "", NULL); /* DELETE dir d */
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_rmdir(pClient, VOL "/d", 1, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 6);
  assert_string_equal(f.aSent[1].zMethod, "DELETE");
  assert_string_equal(f.aSent[1].zUrl, HOST "/api/2.0/fs/files" VOL "/d/f1");
  assert_string_equal(f.aSent[2].zUrl,
                      HOST "/api/2.0/fs/directories" VOL "/d/s");
  assert_string_equal(f.aSent[3].zUrl, HOST "/api/2.0/fs/files" VOL "/d/s/g");
  assert_string_equal(f.aSent[4].zUrl,
                      HOST "/api/2.0/fs/directories" VOL "/d/s");
  assert_string_equal(f.aSent[5].zUrl, HOST "/api/2.0/fs/directories" VOL "/d");
  assert_string_equal(f.aSent[5].zMethod, "DELETE");
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
      T(paths_are_checked),
      T(segments_are_encoded),
      T(refused_paths_send_nothing),
      T(upload_streams_and_retries_from_the_start),
      T(upload_of_a_missing_or_odd_local_file),
      T(head_reads_size_and_date),
      T(http_dates),
      T(range_reads),
      T(missing_volume_and_missing_file),
      T(missing_privilege_names_the_grant),
      T(existing_file_and_nonempty_directory),
      T(list_follows_every_page),
      T(listings_that_lie_are_refused),
      T(a_page_token_that_loops_is_refused),
      T(missing_directory_when_listing),
      T(recursive_delete),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
