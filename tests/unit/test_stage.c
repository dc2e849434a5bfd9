/*
** Unit tests of the staging volume: dbx_catalog_volume_get (catalog.c)
** and dbx_stage_volume_ensure (stage.c) against a scripted workspace
** client and a fake statement runner. The exact GET sent (names
** percent-encoded), a reply about another volume refused, the messages
** for a missing volume and a missing privilege, CREATE VOLUME IF NOT
** EXISTS run only when asked, as an idempotent statement, and a refused
** CREATE VOLUME turned into the GRANT to run.
**
** This binary defines the client.h (fake_client.h) and statements.h
** functions that catalog.c and stage.c use, so the linker takes them
** instead.
*/
#include "unit.h"

#include "fake_client.h"
#include "stage.h"

static char zSqlRun[512];     /* the last statement run */
static int nStmtRun;          /* statements run */
static int bIdempotentSeen;   /* the last one was declared idempotent */
static int rcStmt;            /* what the next statement returns */
static const char *zStmtMsg;  /* its error message */
static const char *zStmtCode; /* and error class */

/* Scripts the GETs and resets the statement runner. */
static void stage_script(const Step *aStep, int nStep) {
  script(aStep, nStep);
  zSqlRun[0] = 0;
  nStmtRun = bIdempotentSeen = 0;
  rcStmt = SQLITE_OK;
  zStmtMsg = zStmtCode = NULL;
}

int dbx_stmt_execute(DbxClient *pClient, const char *zSql,
                     const DbxParam *aParam, int nParam,
                     const DbxStmtOptions *pOpt, DbxStmt **ppOut,
                     DbxError *pErr) {
  (void)pClient;
  (void)aParam;
  assert_int_equal(nParam, 0);
  *ppOut = NULL;
  nStmtRun++;
  snprintf(zSqlRun, sizeof(zSqlRun), "%s", zSql);
  bIdempotentSeen = pOpt->bIdempotent;
  if (rcStmt) {
    return dbx_error_set_api(pErr, rcStmt, 0, zStmtCode, "%s", zStmtMsg);
  }
  return SQLITE_OK;
}

void dbx_stmt_free(DbxStmt *p) {
  assert_null(p);
}

#define GET_V "/api/2.1/unity-catalog/volumes/main.raw.landing"
#define INFO_V                                                                 \
  "{\"catalog_name\":\"main\",\"schema_name\":\"raw\",\"name\":\"landing\","   \
  "\"full_name\":\"main.raw.landing\",\"volume_type\":\"MANAGED\","            \
  "\"storage_location\":\"s3://b/x\",\"owner\":\"me\"}"

static void volume_get_reads_the_info(void **state) {
  static const Step aStep[] = {{GET_V, 0, NULL, INFO_V}};
  DbxVolumeInfo *p = NULL;
  DbxError e;
  (void)state;
  stage_script(aStep, 1);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_catalog_volume_get(&fake, "main", "raw", "landing", &p, &e),
      SQLITE_OK);
  assert_string_equal(p->zFullName, "main.raw.landing");
  assert_string_equal(p->zType, "MANAGED");
  assert_string_equal(p->zStorage, "s3://b/x");
  assert_string_equal(p->zOwner, "me");
  dbx_catalog_volume_free(p);
}

static void volume_get_encodes_names(void **state) {
  static const Step aStep[] = {
      {"/api/2.1/unity-catalog/volumes/a%2Eb.s%20x.v%2F1", 0, NULL,
       "{\"catalog_name\":\"a.b\",\"schema_name\":\"S X\",\"name\":\"v/1\"}"}};
  DbxVolumeInfo *p = NULL;
  DbxError e;
  (void)state;
  stage_script(aStep, 1);
  dbx_error_clear(&e);
  assert_int_equal(dbx_catalog_volume_get(&fake, "a.b", "s x", "v/1", &p, &e),
                   SQLITE_OK);
  assert_string_equal(p->zFullName, ""); /* not sent */
  dbx_catalog_volume_free(p);
}

static void volume_get_refuses_another_volume(void **state) {
  static const Step aStep[] = {
      {GET_V, 0, NULL,
       "{\"catalog_name\":\"main\",\"schema_name\":\"raw\",\"name\":"
       "\"other\"}"},
      {GET_V, 0, NULL, "{\"catalog_name\":\"main\",\"schema_name\":\"raw\"}"},
      {GET_V, 0, NULL, "[]"}};
  DbxVolumeInfo *p = NULL;
  DbxError e;
  int i;
  (void)state;
  stage_script(aStep, 3);
  for (i = 0; i < 3; i++) {
    dbx_error_clear(&e);
    assert_int_equal(
        dbx_catalog_volume_get(&fake, "main", "raw", "landing", &p, &e),
        SQLITE_ERROR);
    assert_null(p);
    assert_non_null(strstr(e.zMsg, "another volume than "
                                   "`main`.`raw`.`landing`"));
  }
}

static void volume_get_failures_say_what_to_do(void **state) {
  static const Step aStep[] = {{GET_V, 404, "RESOURCE_DOES_NOT_EXIST", NULL},
                               {GET_V, 403, "PERMISSION_DENIED", NULL}};
  DbxVolumeInfo *p = NULL;
  DbxError e;
  (void)state;
  stage_script(aStep, 2);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_catalog_volume_get(&fake, "main", "raw", "landing", &p, &e),
      SQLITE_ERROR);
  assert_int_equal(e.httpStatus, 404);
  assert_string_equal(e.zCode, "RESOURCE_DOES_NOT_EXIST");
  assert_non_null(strstr(e.zMsg, "CREATE VOLUME IF NOT EXISTS "
                                 "`main`.`raw`.`landing`"));
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_catalog_volume_get(&fake, "main", "raw", "landing", &p, &e),
      SQLITE_AUTH);
  assert_non_null(strstr(e.zMsg, "READ VOLUME"));
}

static void ensure_finds_an_existing_volume(void **state) {
  static const Step aStep[] = {{GET_V, 0, NULL, INFO_V}};
  DbxStmtOptions o;
  DbxError e;
  int bCreated = -1;
  (void)state;
  stage_script(aStep, 1);
  memset(&o, 0, sizeof(o)); /* stage.c only hands them on */
  dbx_error_clear(&e);
  assert_int_equal(dbx_stage_volume_ensure(&fake, &o, "main", "raw", "landing",
                                           1, &bCreated, &e),
                   SQLITE_OK);
  assert_int_equal(bCreated, 0);
  assert_int_equal(nStmtRun, 0);
}

static void ensure_creates_only_when_asked(void **state) {
  static const Step aStep[] = {{GET_V, 404, "RESOURCE_DOES_NOT_EXIST", NULL},
                               {GET_V, 404, "RESOURCE_DOES_NOT_EXIST", NULL}};
  DbxStmtOptions o;
  DbxError e;
  int bCreated = -1;
  (void)state;
  stage_script(aStep, 2);
  memset(&o, 0, sizeof(o)); /* stage.c only hands them on */
  dbx_error_clear(&e);
  assert_int_equal(dbx_stage_volume_ensure(&fake, &o, "main", "raw", "landing",
                                           0, &bCreated, &e),
                   SQLITE_ERROR);
  assert_int_equal(nStmtRun, 0);
  assert_int_equal(bCreated, 0);
  assert_non_null(strstr(e.zMsg, "CREATE VOLUME IF NOT EXISTS"));
  dbx_error_clear(&e);
  assert_int_equal(dbx_stage_volume_ensure(&fake, &o, "main", "raw", "landing",
                                           1, &bCreated, &e),
                   SQLITE_OK);
  assert_int_equal(nStmtRun, 1);
  assert_int_equal(bCreated, 1);
  assert_string_equal(zSqlRun,
                      "CREATE VOLUME IF NOT EXISTS `main`.`raw`.`landing`");
  assert_true(bIdempotentSeen);
  assert_false(o.bIdempotent); /* the caller's options are untouched */
}

static void ensure_names_the_grant_it_lacks(void **state) {
  static const Step aStep[] = {{GET_V, 404, "RESOURCE_DOES_NOT_EXIST", NULL}};
  DbxStmtOptions o;
  DbxError e;
  (void)state;
  stage_script(aStep, 1);
  rcStmt = SQLITE_ERROR;
  zStmtCode = "PERMISSION_DENIED";
  zStmtMsg = "[PERMISSION_DENIED] User does not have CREATE VOLUME on Schema "
             "'main.raw'.";
  memset(&o, 0, sizeof(o)); /* stage.c only hands them on */
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_stage_volume_ensure(&fake, &o, "main", "raw", "landing", 1, NULL, &e),
      SQLITE_ERROR);
  assert_non_null(strstr(e.zMsg, "GRANT CREATE VOLUME ON SCHEMA `main`.`raw` "
                                 "TO <principal>"));
  assert_non_null(strstr(e.zMsg, "cannot create volume "
                                 "`main`.`raw`.`landing`"));
}

static void ensure_passes_other_failures_on(void **state) {
  static const Step aStep[] = {{GET_V, 500, "INTERNAL_ERROR", NULL},
                               {GET_V, 404, "RESOURCE_DOES_NOT_EXIST", NULL}};
  DbxStmtOptions o;
  DbxError e;
  (void)state;
  stage_script(aStep, 2);
  memset(&o, 0, sizeof(o)); /* stage.c only hands them on */
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_stage_volume_ensure(&fake, &o, "main", "raw", "landing", 1, NULL, &e),
      SQLITE_ERROR);
  assert_int_equal(e.httpStatus, 500);
  assert_int_equal(nStmtRun, 0);
  rcStmt = SQLITE_ERROR;
  zStmtCode = "WAREHOUSE_STOPPED";
  zStmtMsg = "[WAREHOUSE_STOPPED] the warehouse is stopped";
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_stage_volume_ensure(&fake, &o, "main", "raw", "landing", 1, NULL, &e),
      SQLITE_ERROR);
  assert_string_equal(e.zMsg, "[WAREHOUSE_STOPPED] the warehouse is stopped");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(volume_get_reads_the_info),
      cmocka_unit_test(volume_get_encodes_names),
      cmocka_unit_test(volume_get_refuses_another_volume),
      cmocka_unit_test(volume_get_failures_say_what_to_do),
      cmocka_unit_test(ensure_finds_an_existing_volume),
      cmocka_unit_test(ensure_creates_only_when_asked),
      cmocka_unit_test(ensure_names_the_grant_it_lacks),
      cmocka_unit_test(ensure_passes_other_failures_on),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
