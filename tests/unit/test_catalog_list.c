/*
** Unit tests of the Unity Catalog list calls (catalog.c) against a scripted
** fake workspace client: the exact requests sent (max_results, encoded
** names, omit flags, page tokens), pages followed to the end through empty
** pages, a page token that comes back stopping the walk, every entry of
** the wrong shape refused with one line naming the call, and the messages
** for a missing catalog or schema and a missing privilege.
**
** This binary defines the client.h functions catalog.c uses, so the linker
** takes them instead of client.c.
*/
#include <stdlib.h>

#include "unit.h"
#include "catalog.h"
#include "fake_client.h"

/* Lists everything; returns the final code, names joined with ',' in zOut. */
static int list_all(DbxCatalogKind eKind, const char *zCatalog,
                    const char *zSchema, int nPageSize, int flags, char *zOut,
                    size_t nOut, DbxError *pErr) {
  DbxCatalogList *pList = NULL;
  DbxCatalogEntry e;
  int rc;
  zOut[0] = 0;
  dbx_error_clear(pErr);
  rc = dbx_catalog_list_open(&fake, eKind, zCatalog, zSchema, nPageSize, flags,
                             NULL, NULL, &pList, pErr);
  assert_int_equal(rc, SQLITE_OK);
  while ((rc = dbx_catalog_list_next(pList, &e, pErr)) == SQLITE_ROW) {
    if (zOut[0]) strncat(zOut, ",", nOut - strlen(zOut) - 1);
    strncat(zOut, e.zName, nOut - strlen(zOut) - 1);
  }
  /* The end is sticky: no further request, the same answer. */
  {
    DbxError again;
    int iStep = fake.iStep;
    dbx_error_clear(&again);
    assert_int_equal(dbx_catalog_list_next(pList, &e, &again), rc);
    assert_int_equal(fake.iStep, iStep);
    if (rc != SQLITE_DONE) assert_string_equal(again.zMsg, pErr->zMsg);
  }
  dbx_catalog_list_free(pList);
  return rc;
}

static void pages_followed_with_encoded_names(void **state) {
  static const Step aStep[] = {
      {"/api/2.1/unity-catalog/tables?max_results=2&catalog_name=my%20cat%60"
       "%C3%A9%26%3D&schema_name=s%2F1%2E2&omit_columns=true",
       0, NULL,
       "{\"tables\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
       "\"next_page_token\":\"tok 1+/\"}"},
      /* an empty page (the list left out) that still carries a token */
      {"/api/2.1/unity-catalog/tables?max_results=2&catalog_name=my%20cat%60"
       "%C3%A9%26%3D&schema_name=s%2F1%2E2&omit_columns=true&page_token=tok%"
       "201%2B%2F",
       0, NULL, "{\"next_page_token\":\"t2\"}"},
      {"/api/2.1/unity-catalog/tables?max_results=2&catalog_name=my%20cat%60"
       "%C3%A9%26%3D&schema_name=s%2F1%2E2&omit_columns=true&page_token=t2",
       0, NULL, "{\"tables\":[{\"name\":\"c\"}],\"next_page_token\":\"\"}"},
  };
  char zNames[64];
  DbxError err;
  (void)state;
  script(aStep, 3);
  assert_int_equal(list_all(DBX_UC_TABLES, "my cat`\xC3\xA9&=", "s/1.2", 2,
                            DBX_UC_OMIT_COLUMNS, zNames, sizeof(zNames), &err),
                   SQLITE_DONE);
  assert_string_equal(zNames, "a,b,c");
  assert_int_equal(fake.iStep, 3);
}

static void each_kind_sends_its_call(void **state) {
  static const Step aStep[] = {
      {"/api/2.1/unity-catalog/catalogs?max_results=0", 0, NULL, "{}"},
      {"/api/2.1/unity-catalog/schemas?max_results=0&catalog_name=main", 0,
       NULL, "{\"schemas\":[]}"},
      {"/api/2.1/unity-catalog/volumes?max_results=7&catalog_name=main&"
       "schema_name=default",
       0, NULL, "{\"volumes\":null}"},
      {"/api/2.1/unity-catalog/tables?max_results=0&catalog_name=main&schema_"
       "name=default&omit_properties=true",
       0, NULL, "{\"tables\":[]}"},
  };
  char zNames[64];
  DbxError err;
  (void)state;
  script(aStep, 4);
  assert_int_equal(
      list_all(DBX_UC_CATALOGS, NULL, NULL, 0, 0, zNames, sizeof(zNames), &err),
      SQLITE_DONE);
  assert_int_equal(list_all(DBX_UC_SCHEMAS, "main", NULL, 0, 0, zNames,
                            sizeof(zNames), &err),
                   SQLITE_DONE);
  /* omit flags mean nothing to volumes */
  assert_int_equal(list_all(DBX_UC_VOLUMES, "main", "default", 7,
                            DBX_UC_OMIT_COLUMNS | DBX_UC_OMIT_PROPERTIES,
                            zNames, sizeof(zNames), &err),
                   SQLITE_DONE);
  assert_int_equal(list_all(DBX_UC_TABLES, "main", "default", 0,
                            DBX_UC_OMIT_PROPERTIES, zNames, sizeof(zNames),
                            &err),
                   SQLITE_DONE);
  assert_string_equal(zNames, "");
  assert_int_equal(fake.iStep, 4);
}

static void missing_names_are_misuse(void **state) {
  DbxCatalogList *p = (DbxCatalogList *)&fake;
  DbxError err;
  (void)state;
  dbx_error_clear(&err);
  assert_int_equal(dbx_catalog_list_open(&fake, DBX_UC_TABLES, "main", NULL, 0,
                                         0, NULL, NULL, &p, &err),
                   SQLITE_MISUSE);
  assert_null(p);
  dbx_error_clear(&err);
  assert_int_equal(dbx_catalog_list_open(&fake, DBX_UC_SCHEMAS, NULL, NULL, 0,
                                         0, NULL, NULL, &p, &err),
                   SQLITE_MISUSE);
  dbx_error_clear(&err);
  assert_int_equal(dbx_catalog_list_open(&fake, DBX_UC_CATALOGS, NULL, NULL, -1,
                                         0, NULL, NULL, &p, &err),
                   SQLITE_MISUSE);
}

/* A token that comes back, at once or after others, ends the walk. */
static void repeated_token_stops(void **state) {
  static const Step aCycle[] = {
      {"/api/2.1/unity-catalog/catalogs?max_results=0", 0, NULL,
       "{\"catalogs\":[{\"name\":\"a\"}],\"next_page_token\":\"A\"}"},
      {"/api/2.1/unity-catalog/catalogs?max_results=0&page_token=A", 0, NULL,
       "{\"catalogs\":[{\"name\":\"b\"}],\"next_page_token\":\"B\"}"},
      {"/api/2.1/unity-catalog/catalogs?max_results=0&page_token=B", 0, NULL,
       "{\"catalogs\":[],\"next_page_token\":\"A\"}"},
  };
  static const Step aSame[] = {
      {"/api/2.1/unity-catalog/schemas?max_results=0&catalog_name=c", 0, NULL,
       "{\"next_page_token\":\"X\"}"},
      {"/api/2.1/unity-catalog/schemas?max_results=0&catalog_name=c&page_"
       "token=X",
       0, NULL, "{\"next_page_token\":\"X\"}"},
  };
  char zNames[64];
  DbxError err;
  (void)state;
  script(aCycle, 3);
  assert_int_equal(
      list_all(DBX_UC_CATALOGS, NULL, NULL, 0, 0, zNames, sizeof(zNames), &err),
      SQLITE_ERROR);
  assert_string_equal(zNames, "a,b");
  assert_non_null(strstr(err.zMsg, "next_page_token it had already sent"));
  assert_non_null(strstr(err.zMsg, "listing catalogs "
                                   "(GET /api/2.1/unity-catalog/catalogs)"));
  assert_int_equal(fake.iStep, 3);

  script(aSame, 2);
  assert_int_equal(
      list_all(DBX_UC_SCHEMAS, "c", NULL, 0, 0, zNames, sizeof(zNames), &err),
      SQLITE_ERROR);
  assert_non_null(strstr(err.zMsg, "already sent"));
  assert_non_null(strstr(err.zMsg, "listing schemas of `c`"));
  assert_int_equal(fake.iStep, 2);
}

/* One reply and the words its error must hold. */
typedef struct BadCase {
  DbxCatalogKind eKind;
  const char *zReply;
  const char *zWant;
} BadCase;

static void wrong_shapes_are_errors(void **state) {
  static const BadCase aCase[] = {
      {DBX_UC_CATALOGS, "[1,2]", "a page that is not a JSON object"},
      {DBX_UC_CATALOGS, "{\"catalogs\":{\"name\":\"a\"}}",
       "a page whose catalogs is not a list"},
      {DBX_UC_CATALOGS, "{\"catalogs\":[7]}",
       "a catalog that is not an object"},
      {DBX_UC_CATALOGS, "{\"catalogs\":[{}]}", "a catalog without a name"},
      {DBX_UC_CATALOGS, "{\"catalogs\":[{\"name\":\"\"}]}",
       "a catalog without a name"},
      {DBX_UC_CATALOGS, "{\"catalogs\":[{\"name\":5}]}",
       "a catalog whose name is not a string"},
      {DBX_UC_CATALOGS, "{\"catalogs\":[{\"name\":\"a\",\"owner\":7}]}",
       "a catalog whose owner is not a string"},
      {DBX_UC_CATALOGS, "{\"catalogs\":[{\"name\":\"a\",\"catalog_type\":[]}]}",
       "a catalog whose catalog_type is not a string"},
      {DBX_UC_CATALOGS,
       "{\"catalogs\":[{\"name\":\"a\",\"created_at\":\"1700000000000\"}]}",
       "a catalog whose created_at is not a time in milliseconds"},
      {DBX_UC_CATALOGS, "{\"catalogs\":[{\"name\":\"a\",\"updated_at\":1.5}]}",
       "whose updated_at is not a time"},
      {DBX_UC_CATALOGS,
       "{\"catalogs\":[{\"name\":\"a\",\"created_at\":1e300}]}",
       "whose created_at is not a time"},
      {DBX_UC_CATALOGS,
       "{\"catalogs\":[{\"name\":\"a\",\"created_at\":253402300800000}]}",
       "whose created_at is not a time"},
      {DBX_UC_CATALOGS,
       "{\"catalogs\":[{\"name\":\"a\",\"properties\":{\"k\":1}}]}",
       "catalog `a` with properties that are not strings"},
      {DBX_UC_CATALOGS, "{\"catalogs\":[{\"name\":\"a\",\"properties\":[]}]}",
       "with properties that are not strings"},
      {DBX_UC_CATALOGS, "{\"catalogs\":[],\"next_page_token\":5}",
       "a next_page_token that is not a string"},
      {DBX_UC_TABLES, "{\"tables\":[{\"name\":\"t\",\"columns\":{}}]}",
       "table `t` with columns that are not a list"},
      {DBX_UC_TABLES, "{\"tables\":[{\"name\":\"t\",\"columns\":[1]}]}",
       "table `t` with a column whose entry is malformed"},
      {DBX_UC_TABLES,
       "{\"tables\":[{\"name\":\"t\",\"columns\":[{\"type_text\":\"int\"}]}]}",
       "a column whose name is malformed"},
      {DBX_UC_TABLES,
       "{\"tables\":[{\"name\":\"t\",\"columns\":[{\"name\":\"c\","
       "\"type_text\":3}]}]}",
       "a column whose type_text is malformed"},
      {DBX_UC_TABLES,
       "{\"tables\":[{\"name\":\"t\",\"columns\":[{\"name\":\"c\","
       "\"nullable\":\"yes\"}]}]}",
       "a column whose nullable is malformed"},
      {DBX_UC_TABLES,
       "{\"tables\":[{\"name\":\"t\",\"columns\":[{\"name\":\"c\","
       "\"position\":1.5}]}]}",
       "a column whose position is malformed"},
      {DBX_UC_TABLES,
       "{\"tables\":[{\"name\":\"t\",\"data_source_format\":false}]}",
       "a table whose data_source_format is not a string"},
      {DBX_UC_TABLES, "{\"tables\":[{\"name\":\"t\",\"schema_name\":1}]}",
       "a table whose schema_name is not a string"},
      {DBX_UC_VOLUMES,
       "{\"volumes\":[{\"name\":\"v\",\"storage_location\":{}}]}",
       "a volume whose storage_location is not a string"},
  };
  static const char *const azPath[] = {
      "/api/2.1/unity-catalog/catalogs?max_results=0",
      "/api/2.1/unity-catalog/schemas?max_results=0&catalog_name=c",
      "/api/2.1/unity-catalog/tables?max_results=0&catalog_name=c&schema_name="
      "s",
      "/api/2.1/unity-catalog/volumes?max_results=0&catalog_name=c&schema_"
      "name=s",
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    Step s = {azPath[aCase[i].eKind], 0, NULL, aCase[i].zReply};
    char zNames[64], *zText;
    DbxError err;
    script(&s, 1);
    assert_int_equal(
        list_all(aCase[i].eKind, "c", "s", 0, 0, zNames, sizeof(zNames), &err),
        SQLITE_ERROR);
    assert_string_equal(zNames, "");
    if (strstr(err.zMsg, aCase[i].zWant) == NULL) {
      fail_msg("case %zu: '%s' lacks '%s'", i, err.zMsg, aCase[i].zWant);
    }
    assert_non_null(strstr(err.zMsg, "(GET /api/2.1/unity-catalog/"));
    zText = dbx_error_text(&err);
    assert_null(strchr(zText, '\n'));
    sqlite3_free(zText);
  }
}

static void entry_fields_are_read(void **state) {
  static const Step aStep[] = {
      {"/api/2.1/unity-catalog/tables?max_results=0&catalog_name=c&schema_"
       "name=s",
       0, NULL,
       "{\"tables\":[{\"name\":\"t\",\"catalog_name\":\"c\",\"schema_name\":"
       "\"s\",\"full_name\":\"c.s.t\",\"table_type\":\"MANAGED\","
       "\"data_source_format\":\"DELTA\",\"owner\":\"o\",\"comment\":null,"
       "\"storage_location\":\"s3://b/t\",\"created_at\":1700000000123,"
       "\"created_by\":\"cb\",\"updated_at\":-62167219200000,\"updated_by\":"
       "\"ub\",\"columns\":[{\"name\":\"id\",\"type_text\":\"bigint\","
       "\"nullable\":false,\"position\":0}],\"properties\":{\"k\":\"v\"}},"
       "{\"name\":\"u\",\"created_at\":253402300799999}]}"},
  };
  DbxCatalogList *pList = NULL;
  DbxCatalogEntry e;
  DbxError err;
  (void)state;
  script(aStep, 1);
  dbx_error_clear(&err);
  assert_int_equal(dbx_catalog_list_open(&fake, DBX_UC_TABLES, "c", "s", 0, 0,
                                         NULL, NULL, &pList, &err),
                   SQLITE_OK);
  assert_int_equal(dbx_catalog_list_next(pList, &e, &err), SQLITE_ROW);
  assert_string_equal(e.zName, "t");
  assert_string_equal(e.zCatalog, "c");
  assert_string_equal(e.zSchema, "s");
  assert_string_equal(e.zFullName, "c.s.t");
  assert_string_equal(e.zType, "MANAGED");
  assert_string_equal(e.zFormat, "DELTA");
  assert_string_equal(e.zOwner, "o");
  assert_null(e.zComment);
  assert_string_equal(e.zStorage, "s3://b/t");
  assert_true(e.bCreatedAt);
  assert_true(e.iCreatedAt == INT64_C(1700000000123));
  assert_string_equal(e.zCreatedBy, "cb");
  assert_true(e.bUpdatedAt);
  assert_true(e.iUpdatedAt == INT64_C(-62167219200000));
  assert_string_equal(e.zUpdatedBy, "ub");
  assert_int_equal(cJSON_GetArraySize(e.pColumns), 1);
  assert_non_null(e.pProperties);
  /* the second leaves out what it may: the listed parents stand in */
  assert_int_equal(dbx_catalog_list_next(pList, &e, &err), SQLITE_ROW);
  assert_string_equal(e.zName, "u");
  assert_string_equal(e.zCatalog, "c");
  assert_string_equal(e.zSchema, "s");
  assert_null(e.zFullName);
  assert_null(e.zType);
  assert_null(e.pColumns);
  assert_null(e.pProperties);
  assert_false(e.bUpdatedAt);
  assert_true(e.iCreatedAt == INT64_C(253402300799999));
  assert_int_equal(dbx_catalog_list_next(pList, &e, &err), SQLITE_DONE);
  dbx_catalog_list_free(pList);
}

static void failures_say_what_to_check(void **state) {
  static const Step aSchemas404[] = {
      {"/api/2.1/unity-catalog/schemas?max_results=0&catalog_name=no%20pe", 404,
       "CATALOG_DOES_NOT_EXIST", NULL},
  };
  static const Step aTables404[] = {
      {"/api/2.1/unity-catalog/tables?max_results=0&catalog_name=c&schema_"
       "name=s",
       404, "SCHEMA_DOES_NOT_EXIST", NULL},
  };
  static const Step aTablesNoCatalog[] = {
      {"/api/2.1/unity-catalog/tables?max_results=0&catalog_name=c&schema_"
       "name=s",
       404, "CATALOG_DOES_NOT_EXIST", NULL},
  };
  static const Step aTables403[] = {
      {"/api/2.1/unity-catalog/tables?max_results=0&catalog_name=c&schema_"
       "name=s",
       403, "PERMISSION_DENIED", NULL},
  };
  /* rows of the first page are delivered, then the failure of the second */
  static const Step aMidway[] = {
      {"/api/2.1/unity-catalog/catalogs?max_results=0", 0, NULL,
       "{\"catalogs\":[{\"name\":\"a\"}],\"next_page_token\":\"n\"}"},
      {"/api/2.1/unity-catalog/catalogs?max_results=0&page_token=n", 500,
       "INTERNAL_ERROR", NULL},
  };
  char zNames[64];
  DbxError err;
  (void)state;
  script(aSchemas404, 1);
  assert_int_equal(list_all(DBX_UC_SCHEMAS, "no pe", NULL, 0, 0, zNames,
                            sizeof(zNames), &err),
                   SQLITE_ERROR);
  assert_string_equal(err.zMsg, "catalog `no pe` not found: check its name "
                                "and that you have USE CATALOG on it");
  assert_string_equal(err.zCode, "CATALOG_DOES_NOT_EXIST");
  assert_int_equal(err.httpStatus, 404);

  script(aTables404, 1);
  list_all(DBX_UC_TABLES, "c", "s", 0, 0, zNames, sizeof(zNames), &err);
  assert_string_equal(err.zMsg,
                      "schema `c`.`s` not found: check its name and that you "
                      "have USE CATALOG on `c` and USE SCHEMA on the schema");
  assert_string_equal(err.zCode, "SCHEMA_DOES_NOT_EXIST");

  script(aTablesNoCatalog, 1);
  list_all(DBX_UC_TABLES, "c", "s", 0, 0, zNames, sizeof(zNames), &err);
  assert_non_null(strstr(err.zMsg, "catalog `c` not found"));

  script(aTables403, 1);
  assert_int_equal(
      list_all(DBX_UC_TABLES, "c", "s", 0, 0, zNames, sizeof(zNames), &err),
      SQLITE_AUTH);
  assert_non_null(strstr(err.zMsg, "no permission to list tables of `c`.`s`: "
                                   "ask for USE CATALOG on `c` and USE SCHEMA "
                                   "on the schema"));
  assert_int_equal(err.httpStatus, 403);

  script(aMidway, 2);
  assert_int_equal(
      list_all(DBX_UC_CATALOGS, NULL, NULL, 0, 0, zNames, sizeof(zNames), &err),
      SQLITE_ERROR);
  assert_string_equal(zNames, "a");
  assert_string_equal(err.zCode, "INTERNAL_ERROR");
  assert_int_equal(err.httpStatus, 500);
}

static int nPolled;
static int always_interrupt(void *pArg) {
  (void)pArg;
  nPolled++;
  return 1;
}

static void interrupt_reaches_the_request(void **state) {
  static const Step aStep[] = {
      {"/api/2.1/unity-catalog/catalogs?max_results=0", 0, NULL, "{}"},
  };
  DbxCatalogList *pList = NULL;
  DbxCatalogEntry e;
  DbxError err;
  (void)state;
  script(aStep, 1);
  dbx_error_clear(&err);
  nPolled = 0;
  assert_int_equal(dbx_catalog_list_open(&fake, DBX_UC_CATALOGS, NULL, NULL, 0,
                                         0, always_interrupt, NULL, &pList,
                                         &err),
                   SQLITE_OK);
  assert_int_equal(dbx_catalog_list_next(pList, &e, &err), SQLITE_INTERRUPT);
  assert_int_equal(nPolled, 1);
  assert_int_equal(fake.nInterruptSeen, 1);
  /* not left installed on the shared client */
  assert_null(fake.xInterrupt);
  dbx_catalog_list_free(pList);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(pages_followed_with_encoded_names),
      cmocka_unit_test(each_kind_sends_its_call),
      cmocka_unit_test(missing_names_are_misuse),
      cmocka_unit_test(repeated_token_stops),
      cmocka_unit_test(wrong_shapes_are_errors),
      cmocka_unit_test(entry_fields_are_read),
      cmocka_unit_test(failures_say_what_to_check),
      cmocka_unit_test(interrupt_reaches_the_request),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
