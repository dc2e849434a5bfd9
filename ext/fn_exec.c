/*
** fn_exec.c: the scalar functions that run a statement or change a setting.
**
**   SELECT dbx_exec('INSERT INTO main.default.t VALUES (1)');
**   SELECT dbx_exec('DELETE FROM main.default.t WHERE id = :id',
**                   '{"id": 1}', '{"warehouse": "..."}');
**   SELECT dbx_exec('USE CATALOG dev');         -- the connection's default
**   SELECT dbx_config();                        -- effective settings, sources
**   SELECT dbx_config('warehouse');
**   SELECT dbx_config('warehouse', '/sql/1.0/warehouses/abc');
**
** params_json is {"name": value} or [{"name","value","type"}]: strings are
** STRING, integral numbers BIGINT, other numbers DOUBLE, true/false BOOLEAN,
** null SQL NULL; the SQL refers to them as :name. options_json holds
** config settings (profile, host, warehouse, catalog, schema, token as
** env:NAME ...) and statement options (disposition, statement_timeout,
** wait_timeout, row_limit). Both are read by args.c, as dbx_query() reads
** them.
**
** Both functions take any number of arguments, so that a wrong count gets
** their own usage line, and are SQLITE_DIRECTONLY: dbx_exec() uses the
** network and dbx_config() may point it elsewhere.
*/
#include <ctype.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "args.h"

/* ---------------------------------------------------------------------
** dbx_exec(sql [, params_json [, options_json]])
*/

/* Reads one identifier at *pz (bare, or `quoted` with `` for a backtick)
** into a new string; NULL when there is none or out of memory. */
static char *use_ident(const char **pz) {
  const char *z = *pz;
  DbxBuf b = {0};
  if (*z == '`') {
    for (z++; *z; z++) {
      if (*z == '`' && z[1] != '`') break;
      if (*z == '`') z++;
      dbx_buf_append(&b, z, 1);
    }
    if (*z != '`' || b.n == 0) {
      dbx_buf_free(&b);
      return NULL;
    }
    z++;
  } else {
    while (isalnum((unsigned char)*z) || *z == '_')
      dbx_buf_append(&b, z++, 1);
  }
  *pz = z;
  if (b.rc == SQLITE_OK && b.n) return dbx_buf_take(&b);
  dbx_buf_free(&b);
  return NULL;
}

/* Skips blanks at z. */
static const char *use_skip(const char *z) {
  while (isspace((unsigned char)*z))
    z++;
  return z;
}

/* Whether z starts with the keyword zWord followed by a blank. */
static int use_word(const char **pz, const char *zWord) {
  size_t n = strlen(zWord);
  if (sqlite3_strnicmp(*pz, zWord, (int)n) != 0 ||
      !isspace((unsigned char)(*pz)[n])) {
    return 0;
  }
  *pz = use_skip(*pz + n);
  return 1;
}

/*
** Recognises USE [CATALOG | SCHEMA | DATABASE | NAMESPACE] name (a schema
** may be catalog.schema): each remote statement runs in a session of its
** own, so USE can only take effect as a connection default. Sets
** *pzCatalog and/or *pzSchema (sqlite3_free them); USE CATALOG resets the
** schema to `default`, as Databricks does. Returns 1 when zSql is a USE.
*/
static int use_target(const char *zSql, char **pzCatalog, char **pzSchema) {
  const char *z = use_skip(zSql);
  char *zA, *zB = NULL;
  int bCatalog = 0;
  *pzCatalog = *pzSchema = NULL;
  if (!use_word(&z, "USE")) return 0;
  if (use_word(&z, "CATALOG")) {
    bCatalog = 1;
  } else if (!use_word(&z, "SCHEMA") && !use_word(&z, "DATABASE")) {
    use_word(&z, "NAMESPACE");
  }
  zA = use_ident(&z);
  if (zA && !bCatalog && *z == '.') {
    z++;
    zB = use_ident(&z);
    if (zB == NULL) {
      sqlite3_free(zA);
      return 0;
    }
  }
  z = use_skip(z);
  if (*z == ';') z = use_skip(z + 1);
  if (zA == NULL || *z) {
    sqlite3_free(zA);
    sqlite3_free(zB);
    return 0;
  }
  if (bCatalog) {
    *pzCatalog = zA;
    *pzSchema = dbx_strdup("default");
  } else if (zB) {
    *pzCatalog = zA;
    *pzSchema = zB;
  } else {
    *pzSchema = zA;
  }
  return 1;
}

/*
** After a USE ran remotely (so the catalog or schema exists and may be
** used): makes it the connection default and says so in the summary
** *pzOut (replaced). Returns SQLITE_OK or an error in pErr.
*/
static int use_apply(DbxSession *pSession, const char *zCatalog,
                     const char *zSchema, char **pzOut, DbxError *pErr) {
  DbxBuf b = {0};
  int rc = SQLITE_OK;
  if (zCatalog)
    rc = dbx_session_set_default(pSession, "catalog", zCatalog, pErr);
  if (rc == SQLITE_OK && zSchema) {
    rc = dbx_session_set_default(pSession, "schema", zSchema, pErr);
  }
  if (rc) return rc;
  dbx_buf_append(&b, *pzOut, strlen(*pzOut) - 1); /* without the '}' */
  if (zCatalog) {
    dbx_buf_append(&b, ",\"catalog\":", 11);
    dbx_buf_append_json(&b, zCatalog, strlen(zCatalog));
  }
  if (zSchema) {
    dbx_buf_append(&b, ",\"schema\":", 10);
    dbx_buf_append_json(&b, zSchema, strlen(zSchema));
  }
  dbx_buf_appendf(&b,
                  ",\"note\":\"each remote statement runs in a session "
                  "of its own, so this is now the default %s of this "
                  "connection (see dbx_config())\"}",
                  zCatalog ? "catalog and schema" : "schema");
  if (b.rc) {
    dbx_buf_free(&b);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  sqlite3_free(*pzOut);
  *pzOut = dbx_buf_take(&b);
  return SQLITE_OK;
}
/*
** dbx_exec(sql [, params_json [, options_json]]): runs one statement and
** returns its summary as JSON; a USE becomes the connection's default.
*/
void dbx_fn_exec(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  DbxSession *pSession = sqlite3_user_data(ctx);
  const char *zSql = dbx_args_text(argc, argv, 0);
  sqlite3_stmt *pProbe;
  DbxRows *pRows = NULL;
  DbxError err;
  DbxArgsCall a;
  char *zOut = NULL;
  int i, rc;

  dbx_error_clear(&err);
  if (argc < 1 || argc > 3 || zSql == NULL) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_exec(sql [, params_json [, "
                         "options_json]]) needs the SQL text",
                         -1);
    return;
  }
  memset(&a, 0, sizeof(a));
  for (i = 0, rc = SQLITE_OK; rc == SQLITE_OK && i < argc; i++) {
    rc = dbx_args_check(argv[i], dbx_args_call_what[i],
                        (DBX_ARGS_CALL_JSON >> i) & 1, &err);
  }
  if (rc == SQLITE_OK) {
    rc = dbx_args_call_prepare(pSession, dbx_args_text(argc, argv, 1),
                               dbx_args_text(argc, argv, 2), &a, &err);
  }
  pProbe = dbx_probe_open(sqlite3_context_db_handle(ctx));
  a.stmt.xInterrupt = dbx_probe_interrupted;
  a.stmt.pInterruptArg = pProbe;
  if (rc == SQLITE_OK) {
    rc = dbx_rows_execute(a.pClient, zSql, a.aParam, a.nParam, &a.stmt, &pRows,
                          &err);
  }
  if (rc == SQLITE_OK) {
    zOut = dbx_args_exec_summary(pRows, &err);
    if (zOut == NULL) rc = err.rc ? err.rc : SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    char *zCatalog, *zSchema;
    if (use_target(zSql, &zCatalog, &zSchema)) {
      rc = use_apply(pSession, zCatalog, zSchema, &zOut, &err);
    }
    sqlite3_free(zCatalog);
    sqlite3_free(zSchema);
  }
  dbx_rows_free(pRows);
  sqlite3_finalize(pProbe);
  dbx_args_call_free(&a);
  if (rc) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  sqlite3_result_text(ctx, zOut, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J'); /* JSON, for json_extract() and friends */
}

/* ---------------------------------------------------------------------
** dbx_config([key [, value]])
*/

/*
** dbx_config(): every effective setting and its source, as JSON;
** dbx_config(key): one effective value ("***" for a secret) or NULL;
** dbx_config(key, value): sets a default of this connection first.
*/
void dbx_fn_config(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  DbxSession *pSession = sqlite3_user_data(ctx);
  const char *zKey = dbx_args_text(argc, argv, 0);
  DbxError err;
  char *zJson = NULL;
  int rc;

  dbx_error_clear(&err);
  if (argc > 2 || (argc >= 1 && zKey == NULL)) {
    sqlite3_result_error(ctx,
                         "databricks: dbx_config([key [, value]]) takes a "
                         "setting name and optionally its new value",
                         -1);
    return;
  }
  if (argc == 1 && dbx_session_check_key(zKey, &err) != SQLITE_OK &&
      strcmp(zKey, "config_file_read") != 0 &&
      strcmp(zKey, "profile_read") != 0) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  dbx_error_clear(&err);
  if (argc == 2) {
    rc = dbx_session_set_default(pSession, zKey, dbx_args_text(argc, argv, 1),
                                 &err);
    if (rc) {
      dbx_error_to_context(ctx, &err);
      return;
    }
  }
  rc = dbx_session_config_json(pSession, &zJson, &err);
  if (rc) {
    dbx_error_to_context(ctx, &err);
    return;
  }
  if (argc == 0) {
    sqlite3_result_text(ctx, zJson, -1, sqlite3_free);
    sqlite3_result_subtype(ctx, 'J');
    return;
  }
  /* One key: its effective value ("***" for a secret), or NULL. */
  {
    cJSON *pRoot = cJSON_Parse(zJson);
    const char *zName = zKey;
    const cJSON *pVal;
    if (sqlite3_stricmp(zName, "warehouse") == 0 ||
        sqlite3_stricmp(zName, "http_path") == 0) {
      zName = "warehouse_id";
    } else if (sqlite3_stricmp(zName, "timeout") == 0) {
      zName = "statement_timeout";
    }
    pVal = cJSON_GetObjectItem(cJSON_GetObjectItemCaseSensitive(pRoot, zName),
                               "value");
    if (cJSON_IsString(pVal)) {
      sqlite3_result_text(ctx, pVal->valuestring, -1, SQLITE_TRANSIENT);
    } else {
      sqlite3_result_null(ctx);
    }
    cJSON_Delete(pRoot);
    sqlite3_free(zJson);
  }
}
