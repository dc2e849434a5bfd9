/*
** Unit tests of the replies dbx_check() reads: a warehouse, its access
** control list and SCIM Me (warehouses.c), a Unity Catalog object and the
** effective privileges on it (catalog.c). Each is read member by member:
** the right shapes give the values, every wrong type is an error naming
** the call, never a crash or a guess. Also the grants of a request as a
** list (grants.c), which the privileges check compares and
** dbx_grants_apply() runs, and, on the fake transport, the exact requests
** of the calls: the host probe without credentials and without retries,
** the PATCH of a warehouse permission, the effective-permissions path, the
** probe file's upload.
*/
#include "unit.h"

#include "catalog.h"
#include "client.h"
#include "config.h"
#include "fake_transport.h"
#include "files.h"
#include "grants.h"
#include "warehouses.h"

/* Parses z (a test's literal JSON). */
static cJSON *json(const char *z) {
  cJSON *p = cJSON_Parse(z);
  assert_non_null(p);
  return p;
}

static void warehouse_reply(void **state) {
  static const char *const azBad[] = {
      "[]",
      "{\"id\":\"abc\",\"state\":[\"RUNNING\"]}",
      "{\"id\":\"abc\",\"name\":7}",
      "{\"id\":\"other\",\"state\":\"RUNNING\"}",
      "{\"id\":\"abc\",\"state\":\"RUNNINGRUNNINGRUNNINGRUNNINGRUNNING\"}",
  };
  DbxWarehouseInfo wh;
  DbxError e;
  cJSON *p;
  size_t i;
  (void)state;
  p = json("{\"id\":\"abc\",\"name\":\"Local\",\"state\":\"STOPPED\"}");
  dbx_error_clear(&e);
  assert_int_equal(dbx_warehouse_parse(p, "abc", &wh, &e), SQLITE_OK);
  assert_string_equal(wh.zName, "Local");
  assert_string_equal(wh.zState, "STOPPED");
  cJSON_Delete(p);
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    p = json(azBad[i]);
    dbx_error_clear(&e);
    assert_int_equal(dbx_warehouse_parse(p, "abc", &wh, &e), SQLITE_ERROR);
    assert_non_null(strstr(e.zMsg, "GET /api/2.0/sql/warehouses answered"));
    cJSON_Delete(p);
  }
}

static void warehouse_ids(void **state) {
  char z[64];
  DbxError e;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_warehouse_id("/sql/1.0/warehouses/ab12", z, sizeof(z), &e),
      SQLITE_OK);
  assert_string_equal(z, "ab12");
  assert_int_equal(dbx_warehouse_id("ab/../x", z, sizeof(z), &e), SQLITE_ERROR);
  dbx_error_clear(&e);
  assert_int_equal(dbx_warehouse_id("", z, sizeof(z), &e), SQLITE_ERROR);
}

static void acl_reply(void **state) {
  static const char *const azBad[] = {
      "{\"access_control_list\":{}}",
      "{\"access_control_list\":[7]}",
      "{\"access_control_list\":[{\"all_permissions\":[]}]}",
      "{\"access_control_list\":[{\"user_name\":5}]}",
      "{\"access_control_list\":[{\"user_name\":\"a@b\","
      "\"all_permissions\":[{\"permission_level\":7}]}]}",
      "{\"access_control_list\":[{\"user_name\":\"a@b\","
      "\"all_permissions\":[{\"permission_level\":\"CAN_FLY\"}]}]}",
      "{\"access_control_list\":[{\"user_name\":\"a@b\","
      "\"all_permissions\":\"CAN_USE\"}]}",
  };
  DbxAcl *pAcl = NULL;
  const DbxAclEntry *pE;
  DbxError e;
  cJSON *p;
  size_t i;
  (void)state;
  p = json("{\"object_id\":\"/sql/warehouses/abc\",\"access_control_list\":["
           "{\"group_name\":\"admins\",\"all_permissions\":[{"
           "\"permission_level\":\"CAN_MANAGE\",\"inherited\":true}]},"
           "{\"user_name\":\"Alf@Melmak.et\",\"all_permissions\":[{"
           "\"permission_level\":\"CAN_VIEW\"},{\"permission_level\":"
           "\"CAN_MONITOR\"}]},"
           "{\"service_principal_name\":\"6f1c\",\"all_permissions\":[{"
           "\"permission_level\":\"CAN_USE\"}]}]}");
  dbx_error_clear(&e);
  assert_int_equal(dbx_acl_parse(p, &pAcl, &e), SQLITE_OK);
  assert_int_equal(pAcl->nEntry, 3);
  assert_string_equal(pAcl->aEntry[0].zKind, "group_name");
  assert_true(pAcl->aEntry[0].bCanUse);
  pE = dbx_acl_find(pAcl, "alf@melmak.et");
  assert_non_null(pE);
  assert_string_equal(pE->zLevels, "CAN_VIEW,CAN_MONITOR");
  assert_false(pE->bCanUse);
  pE = dbx_acl_find(pAcl, "6f1c");
  assert_string_equal(pE->zKind, "service_principal_name");
  assert_true(pE->bCanUse);
  assert_string_equal(pE->zJson, "{\"service_principal_name\":\"6f1c\","
                                 "\"all_permissions\":[{\"permission_level\":"
                                 "\"CAN_USE\"}]}");
  assert_null(dbx_acl_find(pAcl, "6F1C"));
  dbx_acl_free(pAcl);
  cJSON_Delete(p);
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    p = json(azBad[i]);
    dbx_error_clear(&e);
    pAcl = NULL;
    assert_int_equal(dbx_acl_parse(p, &pAcl, &e), SQLITE_ERROR);
    assert_null(pAcl);
    assert_non_null(strstr(e.zMsg, "/api/2.0/permissions/warehouses answered"));
    cJSON_Delete(p);
  }
}

static void identity_reply(void **state) {
  static const char *const azBad[] = {
      "\"me\"",
      "{\"userName\":42}",
      "{\"displayName\":\"x\"}",
      "{\"userName\":\"a@b\",\"applicationId\":[]}",
      "{\"userName\":\"a@b\",\"groups\":\"all\"}",
      "{\"userName\":\"a@b\",\"groups\":[\"admins\"]}",
      "{\"userName\":\"a@b\",\"groups\":[{\"display\":1}]}",
  };
  DbxIdentity *pMe = NULL;
  DbxError e;
  cJSON *p;
  size_t i;
  (void)state;
  p = json("{\"userName\":\"Alf@Melmak.et\",\"displayName\":\"Alf\","
           "\"groups\":[{\"display\":\"admins\"},{\"value\":\"1\"}]}");
  dbx_error_clear(&e);
  assert_int_equal(dbx_identity_parse(p, &pMe, &e), SQLITE_OK);
  assert_string_equal(dbx_identity_name(pMe), "Alf@Melmak.et");
  assert_int_equal(pMe->nGroup, 1);
  assert_true(dbx_identity_is(pMe, "alf@melmak.et"));
  assert_true(dbx_identity_is(pMe, "admins"));
  assert_false(dbx_identity_is(pMe, "Admins"));
  dbx_identity_free(pMe);
  cJSON_Delete(p);

  /* a service principal is named by its application id */
  p = json("{\"userName\":\"6f1c\",\"applicationId\":\"6f1c\"}");
  assert_int_equal(dbx_identity_parse(p, &pMe, &e), SQLITE_OK);
  assert_string_equal(dbx_identity_name(pMe), "6f1c");
  assert_string_equal(pMe->zDisplayName, "");
  dbx_identity_free(pMe);
  cJSON_Delete(p);

  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    p = json(azBad[i]);
    dbx_error_clear(&e);
    pMe = NULL;
    assert_int_equal(dbx_identity_parse(p, &pMe, &e), SQLITE_ERROR);
    assert_null(pMe);
    assert_non_null(strstr(e.zMsg, "GET /api/2.0/preview/scim/v2/Me answered"));
    cJSON_Delete(p);
  }
}

/* xIs of dbx_catalog_effective_has: "me" and the group "team". */
static int is_me(void *pArg, const char *z) {
  (void)pArg;
  return strcmp(z, "me") == 0 || strcmp(z, "team") == 0;
}

static void effective_reply(void **state) {
  static const char *const azBad[] = {
      "[]",
      "{\"privilege_assignments\":{}}",
      "{\"privilege_assignments\":[{\"principal\":1,\"privileges\":[]}]}",
      "{\"privilege_assignments\":[{\"principal\":\"me\",\"privileges\":"
      "\"SELECT\"}]}",
      "{\"privilege_assignments\":[{\"principal\":\"me\",\"privileges\":"
      "[{\"privilege\":5}]}]}",
      "{\"privilege_assignments\":[{\"principal\":\"me\",\"privileges\":"
      "[null]}]}",
  };
  DbxUcEffective *pEff = NULL;
  DbxError e;
  cJSON *p;
  size_t i;
  (void)state;
  p = json("{\"privilege_assignments\":["
           "{\"principal\":\"me\",\"privileges\":[{\"privilege\":"
           "\"USE_CATALOG\",\"inherited_from_type\":\"CATALOG\"},"
           "\"use schema\"]},"
           "{\"principal\":\"team\",\"privileges\":[{\"privilege\":"
           "\"SELECT\"}]},"
           "{\"principal\":\"other\",\"privileges\":[{\"privilege\":"
           "\"ALL_PRIVILEGES\"}]}]}");
  dbx_error_clear(&e);
  assert_int_equal(dbx_catalog_effective_parse(p, &pEff, &e), SQLITE_OK);
  assert_int_equal(pEff->nGrant, 4);
  assert_string_equal(pEff->aGrant[1].zPrivilege, "USE_SCHEMA");
  assert_true(dbx_catalog_effective_has(pEff, "USE CATALOG", is_me, NULL));
  assert_true(dbx_catalog_effective_has(pEff, "USE SCHEMA", is_me, NULL));
  assert_true(dbx_catalog_effective_has(pEff, "SELECT", is_me, NULL));
  assert_false(dbx_catalog_effective_has(pEff, "MODIFY", is_me, NULL));
  dbx_catalog_effective_free(pEff);
  cJSON_Delete(p);
  /* ALL PRIVILEGES covers the rest */
  p = json("{\"privilege_assignments\":[{\"principal\":\"me\",\"privileges\":"
           "[{\"privilege\":\"ALL_PRIVILEGES\"}]}]}");
  assert_int_equal(dbx_catalog_effective_parse(p, &pEff, &e), SQLITE_OK);
  assert_true(dbx_catalog_effective_has(pEff, "WRITE VOLUME", is_me, NULL));
  dbx_catalog_effective_free(pEff);
  cJSON_Delete(p);
  /* none at all is an empty answer, not an error */
  p = json("{}");
  assert_int_equal(dbx_catalog_effective_parse(p, &pEff, &e), SQLITE_OK);
  assert_int_equal(pEff->nGrant, 0);
  dbx_catalog_effective_free(pEff);
  cJSON_Delete(p);
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    p = json(azBad[i]);
    dbx_error_clear(&e);
    pEff = NULL;
    assert_int_equal(dbx_catalog_effective_parse(p, &pEff, &e), SQLITE_ERROR);
    assert_null(pEff);
    assert_non_null(strstr(e.zMsg, "effective-permissions answered"));
    cJSON_Delete(p);
  }
}

static void object_reply(void **state) {
  static const char *const azBad[] = {
      "7",
      "{\"name\":\"t\",\"owner\":{}}",
      "{\"name\":\"other\"}",
      "{\"name\":\"t\",\"properties\":[]}",
      "{\"name\":\"t\",\"properties\":{\"a\":1}}",
  };
  char *azName[3] = {"c", "s", "t"};
  DbxUcObject *pObj = NULL;
  DbxError e;
  cJSON *p;
  size_t i;
  (void)state;
  p = json("{\"name\":\"T\",\"owner\":\"alf@melmak.et\",\"properties\":{"
           "\"delta.enableChangeDataFeed\":\"TRUE\",\"x\":\"y\"}}");
  dbx_error_clear(&e);
  assert_int_equal(dbx_catalog_object_parse(p, "TABLE", azName, 3, &pObj, &e),
                   SQLITE_OK);
  assert_string_equal(pObj->zOwner, "alf@melmak.et");
  assert_true(pObj->bCdf);
  dbx_catalog_object_free(pObj);
  cJSON_Delete(p);
  p = json("{\"properties\":{\"delta.enableChangeDataFeed\":\"false\"}}");
  assert_int_equal(dbx_catalog_object_parse(p, "TABLE", azName, 3, &pObj, &e),
                   SQLITE_OK);
  assert_false(pObj->bCdf);
  assert_string_equal(pObj->zOwner, "");
  dbx_catalog_object_free(pObj);
  cJSON_Delete(p);
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    p = json(azBad[i]);
    dbx_error_clear(&e);
    pObj = NULL;
    assert_int_equal(dbx_catalog_object_parse(p, "TABLE", azName, 3, &pObj, &e),
                     SQLITE_ERROR);
    assert_null(pObj);
    assert_non_null(strstr(e.zMsg, "Unity Catalog answered"));
    assert_non_null(strstr(e.zMsg, "`c`.`s`.`t`"));
    cJSON_Delete(p);
  }
}

static void grants_as_a_list(void **state) {
  DbxGrantRequest req;
  DbxGrantList *pList = NULL;
  DbxError e;
  (void)state;
  dbx_grants_request_init(&req);
  req.zPrincipal = "alf@melmak.et";
  req.zSecurable = "main.web.events";
  req.zRole = "appender";
  req.bCreateTable = 0;
  req.zStagingVolume = "stage.s.v";
  dbx_error_clear(&e);
  assert_int_equal(dbx_grants_list(&req, &pList, &e), SQLITE_OK);
  assert_int_equal(pList->nItem, 9);
  assert_string_equal(pList->aItem[0].zStatement,
                      "GRANT USE CATALOG ON CATALOG `main` TO `alf@melmak.et`");
  assert_string_equal(pList->aItem[1].zType, "CATALOG");
  assert_string_equal(pList->aItem[1].azName[0], "stage");
  assert_int_equal(pList->aItem[1].nName, 1);
  assert_string_equal(pList->aItem[4].zPriv, "CREATE VOLUME");
  assert_string_equal(pList->aItem[4].zOn, "SCHEMA `stage`.`s`");
  assert_string_equal(pList->aItem[5].zType, "TABLE");
  assert_int_equal(pList->aItem[5].nName, 3);
  assert_string_equal(pList->aItem[5].azName[2], "events");
  assert_string_equal(pList->aItem[8].zType, "VOLUME");
  assert_string_equal(pList->aItem[8].zStatement,
                      "GRANT WRITE VOLUME ON VOLUME `stage`.`s`.`v` TO "
                      "`alf@melmak.et`");
  dbx_grants_list_free(pList);
  /* REVOKE in the reverse order */
  req.bRevoke = 1;
  assert_int_equal(dbx_grants_list(&req, &pList, &e), SQLITE_OK);
  assert_string_equal(pList->aItem[0].zStatement,
                      "REVOKE WRITE VOLUME ON VOLUME `stage`.`s`.`v` FROM "
                      "`alf@melmak.et`");
  dbx_grants_list_free(pList);
  /* the errors of dbx_grants_text */
  req.zRole = "boss";
  pList = NULL;
  assert_int_equal(dbx_grants_list(&req, &pList, &e), SQLITE_ERROR);
  assert_null(pList);
  assert_non_null(strstr(e.zMsg, "unknown role 'boss'"));
  dbx_grants_request_free(&req);
}

/* ---------------------------------------------------------------------
** The requests, on the fake transport
*/

static char zDir[256];
static Fake f;
static DbxHttpTransport tr;
static DbxClient *pClient;

static int setup(void **state) {
  DbxConfig *p;
  DbxError e;
  (void)state;
  snprintf(zDir, sizeof(zDir), "/tmp/dbx-unit-wh-XXXXXX");
  unit_isolate(zDir);
  setenv("DATABRICKS_TOKEN", "dapi-SECRET", 1);
  tr = fake_transport(&f);
  dbx_client_test_transport(&tr);
  dbx_error_clear(&e);
  assert_int_equal(dbx_config_new(&p), SQLITE_OK);
  assert_int_equal(
      dbx_config_set(p, "host", "https://h.example.com", DBX_SRC_OPTION, &e),
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
  pClient = NULL;
  dbx_client_test_transport(NULL);
  unsetenv("DATABRICKS_TOKEN");
  snprintf(z, sizeof(z), "rm -rf '%s'", zDir);
  assert_int_equal(system(z), 0);
  return 0;
}

static void ping_sends_no_credentials_once(void **state) {
  DbxError e;
  long status = 0;
  (void)state;
  fake_reply(&f, 401, "{\"error_code\":\"UNAUTHENTICATED\"}", NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_client_ping(pClient, &status, &e), SQLITE_OK);
  assert_int_equal(status, 401);
  assert_int_equal(f.nSent, 1);
  assert_string_equal(f.aSent[0].zMethod, "GET");
  assert_string_equal(f.aSent[0].zUrl,
                      "https://h.example.com/api/2.0/preview/scim/v2/Me");
  assert_null(strstr(f.aSent[0].zHeaders, "Authorization"));
  assert_null(strstr(f.aSent[0].zHeaders, "dapi-SECRET"));
  /* a host that does not answer: one attempt, an error */
  f.nSent = 0;
  f.nReply = 0;
  fake_reply(&f, 0, NULL, NULL);
  f.aReply[0].eNet = DBX_NET_CONNECT;
  dbx_error_clear(&e);
  assert_int_not_equal(dbx_client_ping(pClient, &status, &e), SQLITE_OK);
  assert_int_equal(f.nSent, 1);
  assert_int_equal(f.nSleep, 0);
}

static void warehouse_patch_request(void **state) {
  DbxAcl *pAcl = NULL;
  DbxError e;
  (void)state;
  fake_reply(&f, 200,
             "{\"access_control_list\":[{\"service_principal_name\":"
             "\"6f1c\",\"all_permissions\":[{\"permission_level\":"
             "\"CAN_USE\"}]}]}",
             NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_warehouse_acl_patch(pClient, "/sql/1.0/warehouses/ab1",
                                           "service_principal_name", "6f1c",
                                           "CAN_USE", &pAcl, &e),
                   SQLITE_OK);
  assert_string_equal(f.aSent[0].zMethod, "PATCH");
  assert_string_equal(f.aSent[0].zUrl, "https://h.example.com/api/2.0/"
                                       "permissions/warehouses/ab1");
  assert_string_equal(f.aSent[0].zBody,
                      "{\"access_control_list\":[{\"service_principal_name\""
                      ":\"6f1c\",\"permission_level\":\"CAN_USE\"}]}");
  assert_true(dbx_acl_find(pAcl, "6f1c")->bCanUse);
  dbx_acl_free(pAcl);
  /* an unknown level is refused before anything is sent */
  dbx_error_clear(&e);
  assert_int_equal(dbx_warehouse_acl_patch(pClient, "ab1", "user_name", "a@b",
                                           "CAN_FLY", &pAcl, &e),
                   SQLITE_ERROR);
  assert_int_equal(f.nSent, 1);
}

static void effective_and_exists_paths(void **state) {
  char *azName[3] = {"my cat", "s/x", "t?#"};
  DbxUcEffective *pEff = NULL;
  DbxError e;
  int bExists = 0;
  (void)state;
  fake_reply(&f, 200, "{\"privilege_assignments\":[]}", NULL);
  fake_reply(&f, 200, "{\"table_exists\":true}", NULL);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_catalog_effective_get(pClient, "TABLE", azName, 3, &pEff, &e),
      SQLITE_OK);
  assert_string_equal(f.aSent[0].zUrl,
                      "https://h.example.com/api/2.1/unity-catalog/effective-"
                      "permissions/TABLE/my%20cat.s%2Fx.t%3F%23");
  dbx_catalog_effective_free(pEff);
  assert_int_equal(dbx_catalog_table_exists(pClient, azName, &bExists, &e),
                   SQLITE_OK);
  assert_true(bExists);
  assert_string_equal(f.aSent[1].zUrl,
                      "https://h.example.com/api/2.1/unity-catalog/tables/"
                      "my%20cat.s%2Fx.t%3F%23/exists");
}

static void probe_upload_request(void **state) {
  DbxError e;
  (void)state;
  fake_reply(&f, 204, NULL, NULL);
  dbx_error_clear(&e);
  assert_int_equal(dbx_files_put_bytes(pClient, "probe", 5,
                                       "/Volumes/c/s/v/.dbx_check_1", 0, &e),
                   SQLITE_OK);
  assert_string_equal(f.aSent[0].zMethod, "PUT");
  assert_string_equal(f.aSent[0].zUrl,
                      "https://h.example.com/api/2.0/fs/files/Volumes/c/s/v/"
                      ".dbx_check_1?overwrite=false");
  assert_int_equal(f.aSent[0].nBody, 5);
  assert_string_equal(f.aSent[0].zBody, "probe");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(warehouse_reply),
      cmocka_unit_test(warehouse_ids),
      cmocka_unit_test(acl_reply),
      cmocka_unit_test(identity_reply),
      cmocka_unit_test(effective_reply),
      cmocka_unit_test(object_reply),
      cmocka_unit_test(grants_as_a_list),
      cmocka_unit_test_setup_teardown(ping_sends_no_credentials_once, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(warehouse_patch_request, setup, teardown),
      cmocka_unit_test_setup_teardown(effective_and_exists_paths, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(probe_upload_request, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
