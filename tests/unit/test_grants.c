/*
** Unit tests of grants.c (the grants of each role as SQL text) and of the
** SQL functions over it (fn_grants.c): golden outputs for every role at
** every securable level it takes, GRANT and REVOKE, the JSON form, the
** errors, inputs that try to change the statements, and the form derived
** from a stored databricks table definition.
*/
#include <sqlite3.h>
#include <unistd.h>

#include "unit.h"

#include "grants.h"
#include "vtab.h"

int sqlite3_databricks_init(sqlite3 *db, char **pzErrMsg,
                            const sqlite3_api_routines *pApi);

/* The principal of the golden outputs, and the lines that end them. */
#define WHO "`alf@melmak.et`"
#define WH_GRANT                                                               \
  "-- the SQL warehouse's CAN USE permission is not granted by SQL: grant "    \
  "it in the warehouse's Permissions, or with the Permissions API or the "     \
  "databricks CLI:\n"                                                          \
  "-- PATCH /api/2.0/permissions/warehouses/<warehouse-id> "                   \
  "{\"access_control_list\":[{\"user_name\":\"alf@melmak.et\","                \
  "\"permission_level\":\"CAN_USE\"}]}\n"                                      \
  "-- databricks permissions update warehouses <warehouse-id> --json "         \
  "'{\"access_control_list\":[{\"user_name\":\"alf@melmak.et\","               \
  "\"permission_level\":\"CAN_USE\"}]}'"
#define WH_REVOKE                                                              \
  "-- the SQL warehouse's CAN USE permission is not revoked by SQL: remove "   \
  "it in the warehouse's Permissions, or read the warehouse's access "         \
  "control list, drop the entry {\"user_name\":\"alf@melmak.et\"} and put "    \
  "the rest back (PUT replaces every direct permission):\n"                    \
  "-- GET /api/2.0/permissions/warehouses/<warehouse-id>, then PUT "           \
  "/api/2.0/permissions/warehouses/<warehouse-id> "                            \
  "{\"access_control_list\":[<the other entries>]}\n"                          \
  "-- databricks permissions get warehouses <warehouse-id>, then databricks "  \
  "permissions set warehouses <warehouse-id> --json "                          \
  "'{\"access_control_list\":[<the other entries>]}'"
#define EXISTS                                                                 \
  "-- a GRANT ON TABLE or ON VOLUME fails while the object does not exist: "   \
  "an object the principal creates itself is its own and needs no grant\n"

/* GRANT / REVOKE lines of the golden outputs. */
#define G(priv, on) "GRANT " priv " ON " on " TO " WHO ";\n"
#define R(priv, on) "REVOKE " priv " ON " on " FROM " WHO ";\n"
#define CAT         "CATALOG `main`"
#define SCH         "SCHEMA `main`.`web`"
#define TAB         "TABLE `main`.`web`.`events`"
#define VOL         "VOLUME `main`.`web`.`_dbx_staging`"

/* Runs one request; returns the text (sqlite3_free) or NULL with *pErr. */
static char *grants(const char *zRole, const char *zSecurable,
                    const char *zOptions, int bRevoke, DbxError *pErr) {
  DbxGrantRequest req;
  char *zOut = NULL;
  int rc;
  dbx_error_clear(pErr);
  dbx_grants_request_init(&req);
  req.zPrincipal = "alf@melmak.et";
  req.zSecurable = zSecurable;
  req.zRole = zRole;
  req.bRevoke = bRevoke;
  rc = dbx_grants_options(&req, zOptions, pErr);
  if (rc == SQLITE_OK) rc = dbx_grants_text(&req, &zOut, pErr);
  dbx_grants_request_free(&req);
  if (rc) assert_null(zOut);
  return zOut;
}

/* Every role at every level it takes, as GRANT and as REVOKE. */
static void golden_outputs(void **state) {
  static const struct {
    const char *zRole, *zSecurable, *zOptions;
    int bRevoke;
    const char *zWant;
  } aCase[] = {
      /* reader: a table, a schema (every table of it), a catalog */
      {"reader", "main.web.events", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("SELECT", TAB) WH_GRANT},
      {"reader", "main.web", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("SELECT", SCH) WH_GRANT},
      {"reader", "main", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", CAT) G("SELECT", CAT) WH_GRANT},
      {"reader", "main.web.events", "{\"browse\": true}", 0,
       G("USE CATALOG", CAT) G("BROWSE", CAT) G("USE SCHEMA", SCH)
           G("SELECT", TAB) WH_GRANT},
      {"reader", "main.web.events", "{\"browse\": false}", 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("SELECT", TAB) WH_GRANT},
      {"reader", "main.web.events", "{\"browse\": true}", 1,
       R("SELECT", TAB) R("USE SCHEMA", SCH) R("BROWSE", CAT)
           R("USE CATALOG", CAT) WH_REVOKE},
      {"reader", "main", NULL, 1,
       R("SELECT", CAT) R("USE SCHEMA", CAT) R("USE CATALOG", CAT) WH_REVOKE},
      /* changes_reader: SELECT is what table_changes() and DESCRIBE
      ** HISTORY need */
      {"changes_reader", "main.web.events", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("SELECT", TAB) WH_GRANT},
      {"changes_reader", "main.web", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("SELECT", SCH) WH_GRANT},
      {"changes_reader", "main", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", CAT) G("SELECT", CAT) WH_GRANT},
      {"changes_reader", "main.web.events", NULL, 1,
       R("SELECT", TAB) R("USE SCHEMA", SCH) R("USE CATALOG", CAT) WH_REVOKE},
      /* appender: the table and volume may be created by default */
      {"appender", "main.web.events", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE TABLE", SCH)
           G("CREATE VOLUME", SCH) G("SELECT", TAB) G("MODIFY", TAB)
               G("READ VOLUME", VOL) G("WRITE VOLUME", VOL) EXISTS WH_GRANT},
      {"appender", "main.web", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE TABLE", SCH)
           G("CREATE VOLUME", SCH) G("SELECT", SCH) G("MODIFY", SCH)
               G("READ VOLUME", VOL) G("WRITE VOLUME", VOL) EXISTS WH_GRANT},
      {"appender", "main.web.events",
       "{\"create_table\": false, \"create_volume\": false}", 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("SELECT", TAB)
           G("MODIFY", TAB) G("READ VOLUME", VOL) G("WRITE VOLUME", VOL)
               WH_GRANT},
      {"appender", "main.web.events", "{\"create_volume\": false}", 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE TABLE", SCH)
           G("SELECT", TAB) G("MODIFY", TAB) G("READ VOLUME", VOL)
               G("WRITE VOLUME", VOL) EXISTS WH_GRANT},
      {"appender", "main.web",
       "{\"create_volume\": false, "
       "\"create_table\": false}",
       0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("SELECT", SCH)
           G("MODIFY", SCH) G("READ VOLUME", VOL) G("WRITE VOLUME", VOL)
               WH_GRANT},
      /* a staging volume elsewhere needs USE on its own parents */
      {"appender", "main.web.events",
       "{\"staging_volume\": \"ops.stage.files\", \"create_table\": false}", 0,
       G("USE CATALOG", CAT) G("USE CATALOG", "CATALOG `ops`")
           G("USE SCHEMA", SCH) G("USE SCHEMA", "SCHEMA `ops`.`stage`") G(
               "CREATE VOLUME", "SCHEMA `ops`.`stage`") G("SELECT", TAB)
               G("MODIFY", TAB) G("READ VOLUME", "VOLUME `ops`.`stage`.`files`")
                   G("WRITE VOLUME", "VOLUME `ops`.`stage`.`files`")
                       EXISTS WH_GRANT},
      {"appender", "main.web.events",
       "{\"staging_volume\": \"main.web.mine\", \"create_volume\": false, "
       "\"create_table\": false}",
       0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("SELECT", TAB)
           G("MODIFY", TAB) G("READ VOLUME", "VOLUME `main`.`web`.`mine`")
               G("WRITE VOLUME", "VOLUME `main`.`web`.`mine`") WH_GRANT},
      {"appender", "main.web.events", NULL, 1,
       R("WRITE VOLUME", VOL) R("READ VOLUME", VOL) R("MODIFY", TAB)
           R("SELECT", TAB) R("CREATE VOLUME", SCH) R("CREATE TABLE", SCH)
               R("USE SCHEMA", SCH) R("USE CATALOG", CAT) WH_REVOKE},
      /* merger: CREATE TABLE for the stage table in any case */
      {"merger", "main.web.events", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE TABLE", SCH)
           G("CREATE VOLUME", SCH) G("SELECT", TAB) G("MODIFY", TAB)
               G("READ VOLUME", VOL) G("WRITE VOLUME", VOL) EXISTS WH_GRANT},
      {"merger", "main.web", NULL, 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE TABLE", SCH)
           G("CREATE VOLUME", SCH) G("SELECT", SCH) G("MODIFY", SCH)
               G("READ VOLUME", VOL) G("WRITE VOLUME", VOL) EXISTS WH_GRANT},
      {"merger", "main.web.events", "{\"create_volume\": false}", 0,
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE TABLE", SCH)
           G("SELECT", TAB) G("MODIFY", TAB) G("READ VOLUME", VOL)
               G("WRITE VOLUME", VOL) EXISTS WH_GRANT},
      {"merger", "main.web", NULL, 1,
       R("WRITE VOLUME", VOL) R("READ VOLUME", VOL) R("MODIFY", SCH)
           R("SELECT", SCH) R("CREATE VOLUME", SCH) R("CREATE TABLE", SCH)
               R("USE SCHEMA", SCH) R("USE CATALOG", CAT) WH_REVOKE},
      /* owner: a dedicated catalog */
      {"owner", "main", NULL, 0, G("ALL PRIVILEGES", CAT) WH_GRANT},
      {"owner", "main", NULL, 1, R("ALL PRIVILEGES", CAT) WH_REVOKE},
      /* names quoted part by part, a dotted part backticked */
      {"reader", "`my.cat`.`a``b`.t", NULL, 0,
       G("USE CATALOG", "CATALOG `my.cat`")
           G("USE SCHEMA", "SCHEMA `my.cat`.`a``b`")
               G("SELECT", "TABLE `my.cat`.`a``b`.`t`") WH_GRANT},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    DbxError e;
    char *z = grants(aCase[i].zRole, aCase[i].zSecurable, aCase[i].zOptions,
                     aCase[i].bRevoke, &e);
    if (z == NULL) fail_msg("case %d: %s", (int)i, e.zMsg);
    if (strcmp(z, aCase[i].zWant) != 0) {
      fail_msg("case %d (%s %s):\n%s\nwanted:\n%s", (int)i, aCase[i].zRole,
               aCase[i].zSecurable, z, aCase[i].zWant);
    }
    sqlite3_free(z);
  }
}

/* The warehouse id and the principal's kind in the comment lines. */
static void warehouse_lines(void **state) {
  DbxGrantRequest req;
  DbxError e;
  char *z = NULL;
  (void)state;
  dbx_error_clear(&e);
  dbx_grants_request_init(&req);
  req.zPrincipal = "6f1c0a8e-1b2c-4d5e-8f90-123456789abc";
  req.zSecurable = "main";
  req.zRole = "owner";
  assert_int_equal(dbx_grants_options(&req,
                                      "{\"warehouse\": "
                                      "\"/sql/1.0/warehouses/abc123\"}",
                                      &e),
                   SQLITE_OK);
  assert_int_equal(dbx_grants_text(&req, &z, &e), SQLITE_OK);
  assert_non_null(strstr(
      z, "\n-- PATCH /api/2.0/permissions/warehouses/abc123 "
         "{\"access_control_list\":[{\"service_principal_name\":\"6f1c0a8e-"
         "1b2c-4d5e-8f90-123456789abc\",\"permission_level\":\"CAN_USE\"}]}\n"
         "-- databricks permissions update warehouses abc123 --json '"));
  sqlite3_free(z);
  dbx_grants_request_free(&req);

  /* a group, named so by a space; a quote in a shell word */
  dbx_grants_request_init(&req);
  req.zPrincipal = "data 'team'";
  req.zSecurable = "main";
  req.zRole = "owner";
  assert_int_equal(dbx_grants_text(&req, &z, &e), SQLITE_OK);
  assert_non_null(strstr(z, "{\"group_name\":\"data 'team'\","));
  assert_non_null(strstr(z, "--json '{\"access_control_list\":[{\"group_name\":"
                            "\"data '\\''team'\\''\","));
  sqlite3_free(z);
  /* principal_type wins over the guess */
  assert_int_equal(dbx_grants_options(&req,
                                      "{\"principal_type\": \"user\", "
                                      "\"warehouse\": \"w1\"}",
                                      &e),
                   SQLITE_OK);
  assert_int_equal(dbx_grants_text(&req, &z, &e), SQLITE_OK);
  assert_non_null(strstr(z, "warehouses/w1 {\"access_control_list\":[{"
                            "\"user_name\":\"data 'team'\","));
  sqlite3_free(z);
  dbx_grants_request_free(&req);

  /* a warehouse id that could change the command is refused */
  assert_null(
      grants("owner", "main", "{\"warehouse\": \"a b; rm -rf\"}", 0, &e));
  assert_non_null(strstr(e.zMsg, "warehouse must be a warehouse id"));
}

/* {"format": "json"}: the statements as objects, no comment lines. */
static void json_form(void **state) {
  DbxError e;
  char *z;
  (void)state;
  z = grants("changes_reader", "main.web.events", "{\"format\": \"json\"}", 0,
             &e);
  assert_non_null(z);
  assert_string_equal(
      z, "[{\"statement\":\"GRANT USE CATALOG ON CATALOG `main` TO "
         "`alf@melmak.et`\",\"privilege\":\"USE CATALOG\",\"securable\":"
         "\"CATALOG `main`\"},"
         "{\"statement\":\"GRANT USE SCHEMA ON SCHEMA `main`.`web` TO "
         "`alf@melmak.et`\",\"privilege\":\"USE SCHEMA\",\"securable\":"
         "\"SCHEMA `main`.`web`\"},"
         "{\"statement\":\"GRANT SELECT ON TABLE `main`.`web`.`events` TO "
         "`alf@melmak.et`\",\"privilege\":\"SELECT\",\"securable\":"
         "\"TABLE `main`.`web`.`events`\"}]");
  sqlite3_free(z);
  z = grants("owner", "main", "{\"format\": \"json\"}", 1, &e);
  assert_string_equal(z, "[{\"statement\":\"REVOKE ALL PRIVILEGES ON CATALOG "
                         "`main` FROM `alf@melmak.et`\",\"privilege\":\"ALL "
                         "PRIVILEGES\",\"securable\":\"CATALOG `main`\"}]");
  sqlite3_free(z);
  z = grants("owner", "main", "{\"format\": \"sql\"}", 0, &e);
  assert_string_equal(z, G("ALL PRIVILEGES", CAT) WH_GRANT);
  sqlite3_free(z);
}

/* Each refusal says what to give. */
static void errors_say_what_to_give(void **state) {
  static const struct {
    const char *zRole, *zSecurable, *zOptions, *zWant;
  } aCase[] = {
      {"writer", "main", NULL,
       "unknown role 'writer': give one of reader, changes_reader, appender, "
       "merger, owner"},
      {"Reader", "main", NULL, "unknown role 'Reader'"},
      {"appender", "main", NULL,
       "role appender takes catalog.schema (every table of the schema) or "
       "catalog.schema.table, not 'main'"},
      {"merger", "main", NULL, "role merger takes catalog.schema"},
      {"owner", "main.web", NULL, "role owner takes a catalog alone"},
      {"owner", "main.web.events", NULL, "role owner takes a catalog alone"},
      {"reader", "", NULL,
       "securable '' must be catalog, catalog.schema or catalog.schema.table"},
      {"reader", "a.b.c.d", NULL, "securable 'a.b.c.d' must be catalog"},
      {"reader", "a..c", NULL, "securable 'a..c' must be"},
      {"reader", "`a", NULL, "securable '`a' must be"},
      {"reader", "a`b", NULL, "securable 'a`b' must be"},
      {"reader", "main", "{\"create_table\": false}",
       "role reader does not take option create_table: it takes browse"},
      {"changes_reader", "main", "{\"browse\": true}",
       "role changes_reader does not take option browse"},
      {"owner", "main", "{\"staging_volume\": \"a.b.c\"}",
       "role owner does not take option staging_volume"},
      {"merger", "main.web", "{\"create_table\": false}",
       "role merger does not take option create_table (a merge creates and "
       "drops its stage table in the table's schema, so it always needs "
       "CREATE TABLE): it takes create_volume, staging_volume"},
      {"appender", "main.web", "{\"staging_volume\": \"a.b\"}",
       "staging_volume 'a.b' must be catalog.schema.volume"},
      {"reader", "main", "{\"browse\": \"yes\"}",
       "option browse must be true or false"},
      {"reader", "main", "{\"format\": \"csv\"}",
       "option format must be \"sql\" or \"json\""},
      {"reader", "main", "{\"principal_type\": \"robot\"}",
       "option principal_type must be"},
      {"reader", "main", "{\"colour\": 1}",
       "unknown option 'colour': known options are format, browse, "
       "create_table, create_volume, staging_volume, warehouse, "
       "principal_type"},
      {"reader", "main", "[1]", "options_json must be a JSON object"},
      {"reader", "main", "{", "options_json must be a JSON object"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    DbxError e;
    char *z =
        grants(aCase[i].zRole, aCase[i].zSecurable, aCase[i].zOptions, 0, &e);
    if (z) fail_msg("case %d: no error:\n%s", (int)i, z);
    assert_int_equal(e.rc, SQLITE_ERROR);
    if (strstr(e.zMsg, aCase[i].zWant) == NULL) {
      fail_msg("case %d: %s\nwanted: %s", (int)i, e.zMsg, aCase[i].zWant);
    }
  }
}

/*
** Whether line z (up to its newline) is exactly
** "GRANT <priv> ON <type> <name> TO <ident>;": each name a run of
** backticked parts whose backticks are doubled, so that reading the
** identifiers back gives azPart and zWho.
*/
static int line_names(const char *z, char *azName[4], int *pnName) {
  int n = 0;
  *pnName = 0;
  while (*z && *z != '\n') {
    if (*z == '`') {
      DbxBuf b = {0};
      for (z++;; z++) {
        if (*z == 0 || *z == '\n') return 0;
        if (*z == '`') {
          if (z[1] != '`') break;
          z++;
        }
        dbx_buf_append(&b, z, 1);
      }
      z++;
      if (n == 4) return 0;
      azName[n++] = dbx_buf_take(&b);
      if (azName[n - 1] == NULL) azName[n - 1] = sqlite3_mprintf("");
    } else {
      z++;
    }
  }
  *pnName = n;
  return 1;
}

/* Inputs that would change a statement if they were not quoted. */
static void injection_inputs(void **state) {
  static const char *const azHostile[] = {
      "a`b",
      "`; DROP TABLE x; --",
      "x` TO `admins",
      "o'brien",
      "back\\slash\\`",
      "semi;colon",
      "-- comment",
      "/* c */ x",
      "\"dq\"",
      "``",
      "a.b", /* a dot inside one part */
  };
  size_t i, j;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(azHostile); i++) {
    DbxGrantRequest req;
    DbxBuf sec = {0};
    DbxError e;
    char *z = NULL, *azName[4];
    const char *p;
    int nName, nLine = 0;
    /* the hostile text as principal and as each part of the securable */
    dbx_error_clear(&e);
    for (j = 0; j < 3; j++) {
      const char *q;
      if (j) dbx_buf_append(&sec, ".", 1);
      dbx_buf_append(&sec, "`", 1);
      for (q = azHostile[i]; *q; q++) {
        dbx_buf_append(&sec, q, 1);
        if (*q == '`') dbx_buf_append(&sec, "`", 1);
      }
      dbx_buf_append(&sec, "`", 1);
    }
    dbx_grants_request_init(&req);
    req.zPrincipal = azHostile[i];
    req.zSecurable = sec.z;
    req.zRole = "reader";
    assert_int_equal(dbx_grants_text(&req, &z, &e), SQLITE_OK);
    for (p = z; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
      if (strncmp(p, "-- ", 3) == 0) continue;
      nLine++;
      assert_true(strncmp(p, "GRANT ", 6) == 0);
      assert_true(line_names(p, azName, &nName));
      /* the securable's parts, then the principal: nothing else */
      assert_true(nName >= 2);
      for (j = 0; j < (size_t)nName; j++) {
        assert_string_equal(azName[j], azHostile[i]);
        sqlite3_free(azName[j]);
      }
      assert_true(strchr(p, '\n')[-1] == ';');
    }
    assert_int_equal(nLine, 3);
    /* comment lines hold no newline of their own: still 3 of them */
    sqlite3_free(z);
    dbx_buf_free(&sec);
  }
}

/* Control characters (a newline would split a statement) are refused. */
static void control_characters_are_refused(void **state) {
  static const char *const azBad[] = {"a\nb", "a\rb", "tab\there", "\x7f",
                                      "\x1b[31m"};
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(azBad); i++) {
    DbxGrantRequest req;
    DbxError e;
    char *z = NULL, *zSec;
    dbx_error_clear(&e);
    dbx_grants_request_init(&req);
    req.zPrincipal = azBad[i];
    req.zSecurable = "main";
    req.zRole = "reader";
    assert_int_equal(dbx_grants_text(&req, &z, &e), SQLITE_ERROR);
    assert_null(z);
    assert_non_null(strstr(e.zMsg, "the principal holds a control character"));
    zSec = sqlite3_mprintf("main.`%s`", azBad[i]);
    dbx_error_clear(&e);
    req.zPrincipal = "alf@melmak.et";
    req.zSecurable = zSec;
    assert_int_equal(dbx_grants_text(&req, &z, &e), SQLITE_ERROR);
    assert_non_null(strstr(e.zMsg, "securable holds a control character"));
    sqlite3_free(zSec);
  }
}

/* ---------------------------------------------------------------------
** Through SQL: the functions, NUL bytes, and the form derived from a
** stored databricks table
*/

/* A connection with the extension and the tables of azDef (name, text)
** written into its schema as CREATE VIRTUAL TABLE would store them. */
static sqlite3 *open_db(void) {
  sqlite3 *db = NULL;
  char *zErr = NULL;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(sqlite3_databricks_init(db, &zErr, NULL), SQLITE_OK);
  return db;
}

static void add_definition(sqlite3 *db, const char *zName, const char *zSql) {
  char *z = sqlite3_mprintf("PRAGMA writable_schema = ON;"
                            "INSERT INTO sqlite_schema VALUES "
                            "('table', %Q, %Q, 0, %Q);"
                            "PRAGMA writable_schema = OFF;",
                            zName, zName, zSql);
  assert_int_equal(sqlite3_exec(db, z, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_free(z);
}

/* Runs zSql (one value); returns its text or error (sqlite3_free). */
static char *one_value(sqlite3 *db, const char *zSql, int *pbError) {
  sqlite3_stmt *p = NULL;
  char *z;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &p, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(p);
  *pbError = rc != SQLITE_ROW;
  z = sqlite3_mprintf("%s", *pbError ? sqlite3_errmsg(db)
                                     : (const char *)sqlite3_column_text(p, 0));
  sqlite3_finalize(p);
  return z;
}

static void nul_bytes_are_refused(void **state) {
  static const char *const azSql[] = {
      "SELECT dbx_grants_sql(CAST(x'61006200' AS TEXT), 'main', 'reader')",
      "SELECT dbx_grants_sql('a', CAST(x'6d00' AS TEXT), 'reader')",
      "SELECT dbx_revoke_sql('a', 'main', CAST(x'7265616465720078' AS TEXT))",
      "SELECT dbx_grants_sql('a', 'main', 'reader', "
      "'{\"warehouse\": \"a\\u0000b\"}')",
      "SELECT dbx_grants_sql('a', CAST(x'7400' AS TEXT))",
  };
  sqlite3 *db = open_db();
  size_t i;
  (void)state;
  for (i = 0; i < DBX_ARRAY_SIZE(azSql); i++) {
    int bError;
    char *z = one_value(db, azSql[i], &bError);
    if (!bError) fail_msg("case %d: no error: %s", (int)i, z);
    assert_true(strstr(z, "NUL") || strstr(z, "\\u0000"));
    sqlite3_free(z);
  }
  sqlite3_close(db);
}

static void functions_answer_through_sql(void **state) {
  sqlite3 *db = open_db();
  int bError;
  char *z;
  (void)state;
  z = one_value(db, "SELECT dbx_grants_sql('alf@melmak.et', 'main', 'owner')",
                &bError);
  assert_false(bError);
  assert_string_equal(z, G("ALL PRIVILEGES", CAT) WH_GRANT);
  sqlite3_free(z);
  z = one_value(db,
                "SELECT json_array_length(dbx_revoke_sql('alf@melmak.et', "
                "'main.web', 'appender', '{\"format\": \"json\"}'))",
                &bError);
  assert_false(bError);
  assert_string_equal(z, "8");
  sqlite3_free(z);
  z = one_value(db, "SELECT dbx_grants_sql(NULL, 'main', 'reader')", &bError);
  assert_true(bError);
  assert_non_null(strstr(z, "principal is NULL: usage: dbx_grants_sql("));
  sqlite3_free(z);
  /* pure: usable in a view and a CHECK constraint */
  assert_int_equal(
      sqlite3_exec(db,
                   "PRAGMA trusted_schema = OFF; "
                   "CREATE VIEW v AS SELECT dbx_grants_sql('a@b', 'c', "
                   "'owner') AS g; CREATE TABLE t(x CHECK "
                   "(length(dbx_revoke_sql('a@b', 'c', 'owner')) > 0)); "
                   "INSERT INTO t VALUES (1)",
                   NULL, NULL, NULL),
      SQLITE_OK);
  z = one_value(db, "SELECT substr(g, 1, 40) FROM v", &bError);
  assert_false(bError);
  assert_string_equal(z, "GRANT ALL PRIVILEGES ON CATALOG `c` TO `");
  sqlite3_free(z);
  /* the form of a stored table reads the schema: not from a view */
  add_definition(db, "r",
                 "CREATE VIRTUAL TABLE r USING databricks("
                 "table='main.web.events')");
  assert_int_equal(sqlite3_exec(db,
                                "CREATE VIEW w AS SELECT "
                                "dbx_grants_sql('a@b', 'r') AS g",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  z = one_value(db, "SELECT g FROM w", &bError);
  assert_true(bError);
  assert_non_null(strstr(z, "unsafe use of dbx_grants_sql()"));
  sqlite3_free(z);
  sqlite3_close(db);
}

static void stored_tables_give_their_role(void **state) {
  char zHome[] = "/tmp/dbx-grants-XXXXXX";
  static const struct {
    const char *zName, *zDef, *zWant;
  } aCase[] = {
      {"r", "CREATE VIRTUAL TABLE r USING databricks(table='main.web.events')",
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G(
           "SELECT",
           TAB) "-- the table gives no write argument (create=, model=, mode=, "
                "staging_volume=, ...), so these grants read it; INSERT into "
                "it "
                "needs the role appender on the same remote table\n" WH_GRANT},
      {"c",
       "CREATE VIRTUAL TABLE c USING databricks(table='main.web.events', "
       "changes=true)",
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("SELECT", TAB) WH_GRANT},
      /* an existing table, appended to: no CREATE TABLE */
      {"a",
       "CREATE VIRTUAL TABLE a USING databricks(table='main.web.events', "
       "mode='append')",
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE VOLUME", SCH)
           G("SELECT", TAB) G("MODIFY", TAB) G("READ VOLUME", VOL)
               G("WRITE VOLUME", VOL) EXISTS WH_GRANT},
      /* created at the first commit; comments, quotes and parentheses
      ** inside the arguments; a volume elsewhere */
      {"w",
       "CREATE VIRTUAL TABLE \"w\" USING Databricks( /* first */ "
       "table = \"main.web.events\", -- the target\n"
       "  create='id BIGINT, amount DECIMAL(10,2)', "
       "staging_volume='ops.stage.`a,b`')",
       G("USE CATALOG", CAT) G("USE CATALOG", "CATALOG `ops`")
           G("USE SCHEMA", SCH) G("USE SCHEMA", "SCHEMA `ops`.`stage`")
               G("CREATE TABLE", SCH) G("CREATE VOLUME", "SCHEMA `ops`.`stage`")
                   G("SELECT", TAB) G("MODIFY", TAB)
                       G("READ VOLUME", "VOLUME `ops`.`stage`.`a,b`")
                           G("WRITE VOLUME", "VOLUME `ops`.`stage`.`a,b`")
                               EXISTS WH_GRANT},
      /* merge keys: a merge; a short name with catalog= and schema= */
      {"m",
       "CREATE VIRTUAL TABLE m USING databricks(table='events', "
       "catalog='main', schema='web', merge_keys='id', "
       "warehouse='/sql/1.0/warehouses/abc')",
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE TABLE", SCH)
           G("CREATE VOLUME", SCH) G("SELECT", TAB) G("MODIFY", TAB)
               G("READ VOLUME", VOL) G("WRITE VOLUME", VOL) EXISTS
       "-- the SQL warehouse's CAN USE permission is not granted by SQL: "
       "grant it in the warehouse's Permissions, or with the Permissions API "
       "or the databricks CLI:\n"
       "-- PATCH /api/2.0/permissions/warehouses/abc "
       "{\"access_control_list\":[{\"user_name\":\"alf@melmak.et\","
       "\"permission_level\":\"CAN_USE\"}]}\n"
       "-- databricks permissions update warehouses abc --json "
       "'{\"access_control_list\":[{\"user_name\":\"alf@melmak.et\","
       "\"permission_level\":\"CAN_USE\"}]}'"},
      /* a model without merge keys: created at the first commit */
      {"e",
       "CREATE VIRTUAL TABLE e USING databricks(table='main.web.events', "
       "model='posthog_events')",
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE TABLE", SCH)
           G("CREATE VOLUME", SCH) G("SELECT", TAB) G("MODIFY", TAB)
               G("READ VOLUME", VOL) G("WRITE VOLUME", VOL) EXISTS WH_GRANT},
      /* a model with merge keys: a merge */
      {"p",
       "CREATE VIRTUAL TABLE p USING databricks(table='main.web.events', "
       "model='posthog_persons')",
       G("USE CATALOG", CAT) G("USE SCHEMA", SCH) G("CREATE TABLE", SCH)
           G("CREATE VOLUME", SCH) G("SELECT", TAB) G("MODIFY", TAB)
               G("READ VOLUME", VOL) G("WRITE VOLUME", VOL) EXISTS WH_GRANT},
  };
  sqlite3 *db;
  size_t i;
  (void)state;
  unit_isolate(zHome);
  db = open_db();
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    char *zSql, *z;
    int bError;
    add_definition(db, aCase[i].zName, aCase[i].zDef);
    zSql = sqlite3_mprintf("SELECT dbx_grants_sql('alf@melmak.et', %Q)",
                           aCase[i].zName);
    z = one_value(db, zSql, &bError);
    if (bError || strcmp(z, aCase[i].zWant) != 0) {
      fail_msg("case %s:\n%s\nwanted:\n%s", aCase[i].zName, z, aCase[i].zWant);
    }
    sqlite3_free(z);
    sqlite3_free(zSql);
  }
  /* revoking a stored table: the same statements, inner ones first */
  {
    int bError;
    char *z =
        one_value(db, "SELECT dbx_revoke_sql('alf@melmak.et', 'C')", &bError);
    assert_false(bError);
    assert_string_equal(z, R("SELECT", TAB) R("USE SCHEMA", SCH)
                               R("USE CATALOG", CAT) WH_REVOKE);
    sqlite3_free(z);
  }
  sqlite3_close(db);
  rmdir(zHome);
}

static void stored_tables_that_give_no_grants(void **state) {
  static const struct {
    const char *zName, *zDef, *zWant;
  } aCase[] = {
      {"q", "CREATE VIRTUAL TABLE q USING databricks(query='SELECT 1')",
       "'q' reads a query (query=), whose tables its text names: grant "
       "reader on each of them"},
      {"f", "CREATE VIRTUAL TABLE f USING fts5(a)",
       "'f' is not a databricks table"},
      {"s", "CREATE VIRTUAL TABLE s USING databricks(table='events')",
       "the table of 's', 'events', takes its catalog and schema from the "
       "settings, which do not resolve"},
      {"plain", "CREATE TABLE plain(x)", "'plain' is not a databricks table"},
  };
  char zHome[] = "/tmp/dbx-grants-XXXXXX";
  sqlite3 *db;
  size_t i;
  (void)state;
  unit_isolate(zHome);
  db = open_db();
  for (i = 0; i < DBX_ARRAY_SIZE(aCase); i++) {
    char *zSql, *z;
    int bError;
    if (strncmp(aCase[i].zDef, "CREATE TABLE", 12) == 0) {
      assert_int_equal(sqlite3_exec(db, aCase[i].zDef, NULL, NULL, NULL),
                       SQLITE_OK);
    } else {
      add_definition(db, aCase[i].zName, aCase[i].zDef);
    }
    zSql = sqlite3_mprintf("SELECT dbx_grants_sql('alf@melmak.et', %Q)",
                           aCase[i].zName);
    z = one_value(db, zSql, &bError);
    if (!bError || strstr(z, aCase[i].zWant) == NULL) {
      fail_msg("case %s: %s\nwanted: %s", aCase[i].zName, z, aCase[i].zWant);
    }
    sqlite3_free(z);
    sqlite3_free(zSql);
  }
  {
    int bError;
    char *z = one_value(db, "SELECT dbx_grants_sql('a@b', 'nope')", &bError);
    assert_true(bError);
    assert_non_null(strstr(z, "no table 'nope' in the main database"));
    sqlite3_free(z);
  }
  sqlite3_close(db);
  rmdir(zHome);
}

/* The stored text splits into the arguments SQLite gave the module. */
static void stored_definitions_split_like_sqlite(void **state) {
  DbxVtabArgs a;
  DbxError e;
  char *zModule = NULL;
  (void)state;
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_vtab_args_from_sql(
          "create virtual table if not exists \"t(x\" using databricks "
          "( table='a.b.c' /* , mode='merge' */ , create = 'a DECIMAL(3, 1), "
          "b STRING' ,json_as=string,-- , x\n parallel_uploads=(8))",
          &zModule, &a, &e),
      SQLITE_ERROR); /* parallel_uploads=(8) is not a number */
  assert_string_equal(zModule, "databricks");
  sqlite3_free(zModule);
  dbx_vtab_args_free(&a);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_vtab_args_from_sql(
          "CREATE VIRTUAL TABLE \"t(x\" USING databricks ( table='a.b.c' "
          "/* , mode='merge' */ , create = 'a DECIMAL(3, 1), b STRING' "
          ",json_as=string,-- , x\n parallel_uploads=8)",
          &zModule, &a, &e),
      SQLITE_OK);
  assert_int_equal(a.nArg, 4);
  assert_string_equal(a.zTable, "a.b.c");
  assert_string_equal(a.zCreate, "a DECIMAL(3, 1), b STRING");
  assert_int_equal(a.bJsonString, 1);
  assert_int_equal(a.nParallel, 8);
  assert_null(a.zMode);
  sqlite3_free(zModule);
  dbx_vtab_args_free(&a);
  /* a quote doubled inside a value; no arguments at all */
  assert_int_equal(dbx_vtab_args_from_sql("CREATE VIRTUAL TABLE t USING "
                                          "databricks(query='SELECT ''a,b''')",
                                          &zModule, &a, &e),
                   SQLITE_OK);
  assert_string_equal(a.zQuery, "SELECT 'a,b'");
  sqlite3_free(zModule);
  dbx_vtab_args_free(&a);
  assert_int_equal(dbx_vtab_args_from_sql("CREATE VIRTUAL TABLE t USING "
                                          "databricks",
                                          &zModule, &a, &e),
                   SQLITE_ERROR); /* needs table= or query= */
  assert_string_equal(zModule, "databricks");
  sqlite3_free(zModule);
  dbx_vtab_args_free(&a);
  dbx_error_clear(&e);
  assert_int_equal(
      dbx_vtab_args_from_sql("CREATE TABLE t(x)", &zModule, &a, &e),
      SQLITE_ERROR);
  assert_null(zModule);
  dbx_vtab_args_free(&a);
  /* a stored definition cut short anywhere (a hostile database file):
  ** an error, never a read past its end (the ASan build checks) */
  {
    static const char *const azCut[] = {
        "CREATE VIRTUAL TABLE t USING",
        "CREATE VIRTUAL TABLE t USING ",
        "CREATE VIRTUAL TABLE t USING databricks(",
        "CREATE VIRTUAL TABLE t USING databricks(table='a.b.c",
        "CREATE VIRTUAL TABLE t USING databricks(table=\"a.b.c\", x=(",
        "CREATE VIRTUAL TABLE t USING databricks /* (",
        "CREATE VIRTUAL TABLE t USING databricks -- (",
        "CREATE VIRTUAL TABLE [t USING databricks(table='a.b.c')",
        "CREATE VIRTUAL"};
    size_t i;
    for (i = 0; i < sizeof(azCut) / sizeof(azCut[0]); i++) {
      /* an exact-size copy, so that a read past the end is seen */
      size_t n = strlen(azCut[i]) + 1;
      char *z = malloc(n);
      memcpy(z, azCut[i], n);
      assert_int_equal(dbx_vtab_args_from_sql(z, &zModule, &a, &e),
                       SQLITE_ERROR);
      sqlite3_free(zModule);
      zModule = NULL;
      dbx_vtab_args_free(&a);
      dbx_error_clear(&e);
      free(z);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(golden_outputs),
      cmocka_unit_test(warehouse_lines),
      cmocka_unit_test(json_form),
      cmocka_unit_test(errors_say_what_to_give),
      cmocka_unit_test(injection_inputs),
      cmocka_unit_test(control_characters_are_refused),
      cmocka_unit_test(nul_bytes_are_refused),
      cmocka_unit_test(functions_answer_through_sql),
      cmocka_unit_test(stored_tables_give_their_role),
      cmocka_unit_test(stored_tables_that_give_no_grants),
      cmocka_unit_test(stored_definitions_split_like_sqlite),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
