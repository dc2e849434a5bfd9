/*
** sqlgen.c: Databricks SQL text and the type table (see sqlgen.h).
**
** Serves every statement the extension writes: the remote SELECT of a
** `databricks` virtual table scan (through pushdown.c), the table name a
** CREATE VIRTUAL TABLE ... USING databricks(table=...) names, and the
** column declarations of that virtual table. The write and change-feed
** statements (CREATE TABLE, ALTER TABLE ADD COLUMNS, COPY INTO, MERGE,
** table_changes) are to be built here as well, so that quoting and type
** names have one home. It also says which SQL text only reads, so that a
** submit lost in transit may be sent again (statements.c).
**
** Pure: no sqlite3 values and no network; the SQLite allocator only.
*/
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "sqlgen.h"

/* ---------------------------------------------------------------------
** The type table
*/

/*
** Every Databricks type the extension recognises, by its name and the
** other words that mean it: the type_name enum of a result manifest says
** BYTE, SHORT, LONG; type_text may use a synonym (INTEGER, REAL, DEC,
** NUMERIC, TIMESTAMP_LTZ). A word missing here decodes as TEXT and is
** filtered by SQLite.
*/
/* clang-format off */
static const DbxSqlType aType[] = {
  /* zName, azAlias, eKind, eClass, bKeepText, eSqlite (see sqlgen.h) */
  {"TINYINT",       {"BYTE"},           DBX_KIND_INTEGER,       DBX_COL_INT,           0, 0},
  {"SMALLINT",      {"SHORT"},          DBX_KIND_INTEGER,       DBX_COL_INT,           0, 0},
  {"INT",           {"INTEGER"},        DBX_KIND_INTEGER,       DBX_COL_INT,           0, 0},
  {"BIGINT",        {"LONG"},           DBX_KIND_INTEGER,       DBX_COL_INT,           0, SQLITE_INTEGER},
  {"BOOLEAN",       {0},                DBX_KIND_BOOLEAN,       DBX_COL_BOOL,          0, 0},
  {"FLOAT",         {"REAL"},           DBX_KIND_REAL,          DBX_COL_FLOAT,         0, 0},
  {"DOUBLE",        {0},                DBX_KIND_REAL,          DBX_COL_FLOAT,         0, SQLITE_FLOAT},
  {"DECIMAL",       {"DEC", "NUMERIC"}, DBX_KIND_DECIMAL,       DBX_COL_DECIMAL,       0, 0},
  /* timestamps arrive as canonical UTC text (result.c), whose byte order
  ** is time order: the fraction has no trailing zeros */
  {"TIMESTAMP",     {"TIMESTAMP_LTZ"},  DBX_KIND_TIMESTAMP,     DBX_COL_TIMESTAMP,     0, 0},
  {"TIMESTAMP_NTZ", {0},                DBX_KIND_TIMESTAMP_NTZ, DBX_COL_TIMESTAMP_NTZ, 0, 0},
  {"DATE",          {0},                DBX_KIND_DATE,          DBX_COL_DATE,          0, 0},
  {"BINARY",        {0},                DBX_KIND_BINARY,        DBX_COL_OTHER,         0, SQLITE_BLOB},
  {"ARRAY",         {0},                DBX_KIND_JSON,          DBX_COL_OTHER,         0, 0},
  {"MAP",           {0},                DBX_KIND_JSON,          DBX_COL_OTHER,         0, 0},
  {"STRUCT",        {0},                DBX_KIND_JSON,          DBX_COL_OTHER,         0, 0},
  {"VARIANT",       {0},                DBX_KIND_JSON,          DBX_COL_OTHER,         1, 0},
  {"OBJECT",        {0},                DBX_KIND_JSON,          DBX_COL_OTHER,         0, 0},
  /* a non-binary collation (STRING COLLATE UTF8_LCASE) makes pushdown.c
  ** treat a text column as DBX_COL_OTHER */
  {"STRING",        {0},                DBX_KIND_TEXT,          DBX_COL_TEXT,          1, SQLITE_TEXT},
  {"VARCHAR",       {0},                DBX_KIND_TEXT,          DBX_COL_TEXT,          1, 0},
  /* CHAR(n) pads on comparison */
  {"CHAR",          {0},                DBX_KIND_TEXT,          DBX_COL_OTHER,         0, 0},
  {"INTERVAL",      {0},                DBX_KIND_TEXT,          DBX_COL_OTHER,         0, 0},
  {"VOID",          {"NULL"},           DBX_KIND_NULL,          DBX_COL_OTHER,         0, 0},
};
/* clang-format on */

/* Whether the n bytes at z spell zWord (upper case), ignoring case. */
static int word_is(const char *zWord, const char *z, size_t n) {
  return zWord && strlen(zWord) == n && strncasecmp(zWord, z, n) == 0;
}

const DbxSqlType *dbx_sql_type_find(const char *z, size_t n) {
  size_t i;
  if (z == NULL) return NULL;
  for (i = 0; i < DBX_ARRAY_SIZE(aType); i++) {
    const DbxSqlType *p = &aType[i];
    if (word_is(p->zName, z, n) || word_is(p->azAlias[0], z, n) ||
        word_is(p->azAlias[1], z, n)) {
      return p;
    }
  }
  return NULL;
}

const DbxSqlType *dbx_sql_type_head(const char *z, const char **pzRest) {
  const char *zWord;
  if (pzRest) *pzRest = z;
  if (z == NULL) return NULL;
  while (*z == ' ')
    z++;
  zWord = z;
  while (isalnum((unsigned char)*z) || *z == '_')
    z++;
  if (pzRest) *pzRest = z;
  return dbx_sql_type_find(zWord, (size_t)(z - zWord));
}

int dbx_sql_decimal_real(int nPrecision) {
  /* 15 significant decimal digits survive a round trip through a double */
  return nPrecision <= 15;
}

const char *dbx_sql_type_for_sqlite(int eSqlite) {
  size_t i;
  if (eSqlite == 0) return NULL;
  for (i = 0; i < DBX_ARRAY_SIZE(aType); i++) {
    if (aType[i].eSqlite == eSqlite) return aType[i].zName;
  }
  return NULL;
}

char dbx_sql_affinity(const char *z) {
  if (strcasestr(z, "INT")) return 'i';
  if (strcasestr(z, "CHAR") || strcasestr(z, "CLOB") || strcasestr(z, "TEXT")) {
    return 't';
  }
  if (z[0] == 0 || strcasestr(z, "BLOB")) return 'b';
  if (strcasestr(z, "REAL") || strcasestr(z, "FLOA") || strcasestr(z, "DOUB")) {
    return 'r';
  }
  return 'n';
}

char *dbx_sql_decltype(const char *zTypeText, const char *zTypeName) {
  const char *zType = (zTypeText && zTypeText[0]) ? zTypeText
                      : zTypeName                 ? zTypeName
                                                  : "";
  const DbxSqlType *pType;
  const char *p;
  int bPlain = zType[0] != 0, nDepth = 0;
  DbxBuf b = {0};
  /* Plain: letters, digits and _ with balanced parentheses around any
  ** comma, as in DECIMAL(10,2); anything else is quoted, so a type can
  ** never add a column or a constraint to the declaration. */
  for (p = zType; *p; p++) {
    if (*p == '(') {
      nDepth++;
    } else if (*p == ')') {
      if (--nDepth < 0) bPlain = 0;
    } else if (*p == ',') {
      if (nDepth == 0) bPlain = 0;
    } else if (!isalnum((unsigned char)*p) && *p != '_') {
      bPlain = 0;
    }
  }
  if (nDepth != 0) bPlain = 0;
  if (bPlain) {
    /* Unity Catalog spells types in lower case (bigint, decimal(10,2)). */
    for (p = zType; *p; p++) {
      char c = (char)toupper((unsigned char)*p);
      dbx_buf_append(&b, &c, 1);
    }
  } else if (zType[0]) {
    dbx_buf_append(&b, "\"", 1);
    for (p = zType; *p; p++) {
      dbx_buf_append(&b, p, 1);
      if (*p == '"') dbx_buf_append(&b, "\"", 1);
    }
    dbx_buf_append(&b, "\"", 1);
  }
  /* STRING and VARIANT values are text that may look like a number: with
  ** NUMERIC affinity '007' = '7' would hold. TEXT affinity keeps text. */
  pType = dbx_sql_type_head(zType, NULL);
  if (pType && pType->bKeepText && dbx_sql_affinity(zType) == 'n') {
    dbx_buf_appendf(&b, " TEXT");
  }
  if (b.n == 0) dbx_buf_appendf(&b, "TEXT");
  return dbx_buf_take(&b);
}

/* ---------------------------------------------------------------------
** Names
*/

void dbx_sql_ident(DbxBuf *pBuf, const char *z) {
  dbx_buf_append(pBuf, "`", 1);
  for (; *z; z++) {
    dbx_buf_append(pBuf, z, 1);
    if (*z == '`') dbx_buf_append(pBuf, "`", 1);
  }
  dbx_buf_append(pBuf, "`", 1);
}

void dbx_sql_name_free(char *azPart[3]) {
  int i;
  for (i = 0; i < 3; i++) {
    sqlite3_free(azPart[i]);
    azPart[i] = NULL;
  }
}

int dbx_sql_name_split(const char *zName, char *azPart[3], int *pnPart,
                       DbxError *pErr) {
  const char *p = zName;
  int n = 0;
  azPart[0] = azPart[1] = azPart[2] = NULL;
  *pnPart = 0;
  if (zName == NULL || zName[0] == 0) goto bad;
  for (;;) {
    DbxBuf b = {0};
    if (n == 3) goto bad;
    if (*p == '`') {
      for (p++;; p++) {
        if (*p == 0) {
          dbx_buf_free(&b);
          goto bad;
        }
        if (*p == '`') {
          if (p[1] != '`') break;
          p++;
        }
        dbx_buf_append(&b, p, 1);
      }
      p++;
    } else {
      while (*p && *p != '.') {
        if (*p == '`') {
          dbx_buf_free(&b);
          goto bad;
        }
        dbx_buf_append(&b, p, 1);
        p++;
      }
    }
    if (b.n == 0) {
      dbx_buf_free(&b);
      goto bad;
    }
    azPart[n] = dbx_buf_take(&b);
    if (azPart[n++] == NULL) {
      dbx_sql_name_free(azPart);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    if (*p == 0) break;
    if (*p++ != '.') goto bad;
  }
  *pnPart = n;
  return SQLITE_OK;
bad:
  dbx_sql_name_free(azPart);
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "bad table name '%s': write catalog.schema.table, with "
                       "`backticks` around a part that contains a dot",
                       zName ? zName : "");
}

/* ---------------------------------------------------------------------
** Which statements may be submitted twice.
*/

/* Skips blanks and comments from z[i]; returns the next index. */
static size_t sql_skip_space(const char *z, size_t n, size_t i) {
  while (i < n) {
    if (isspace((unsigned char)z[i])) {
      i++;
    } else if (z[i] == '-' && i + 1 < n && z[i + 1] == '-') {
      while (i < n && z[i] != '\n')
        i++;
    } else if (z[i] == '/' && i + 1 < n && z[i + 1] == '*') {
      i += 2;
      while (i + 1 < n && !(z[i] == '*' && z[i + 1] == '/'))
        i++;
      i = i + 2 < n ? i + 2 : n;
    } else {
      break;
    }
  }
  return i;
}

/* Whether the word z[0..n) is one of azWord (case-insensitive). */
static int sql_word_in(const char *z, size_t n, const char *const *azWord,
                       size_t nWord) {
  size_t i;
  for (i = 0; i < nWord; i++) {
    if (strlen(azWord[i]) == n && strncasecmp(z, azWord[i], n) == 0) return 1;
  }
  return 0;
}

/* See sqlgen.h. */
int dbx_sql_is_read_only(const char *zSql, size_t nSql) {
  static const char *const azRead[] = {"SELECT", "VALUES",  "SHOW", "DESCRIBE",
                                       "DESC",   "EXPLAIN", "LIST", "WITH",
                                       "FROM",   "TABLE"};
  static const char *const azWrite[] = {
      "INSERT",  "UPDATE", "DELETE",   "MERGE",   "CREATE",    "DROP",
      "ALTER",   "COPY",   "TRUNCATE", "REPLACE", "OVERWRITE", "OPTIMIZE",
      "VACUUM",  "GRANT",  "REVOKE",   "CALL",    "EXECUTE",   "REFRESH",
      "RESTORE", "MSCK",   "REPAIR",   "CACHE",   "UNCACHE",   "SET",
      "RESET",   "USE",    "ANALYZE",  "COMMENT", "PUT",       "REMOVE",
      "GET",     "LOAD",   "CLONE",    "UNDROP",  "DECLARE"};
  size_t i = 0, nWords = 0;
  while (i < nSql) {
    size_t j;
    i = sql_skip_space(zSql, nSql, i);
    if (i >= nSql) break;
    if (zSql[i] == '\'' || zSql[i] == '"' || zSql[i] == '`') {
      char q = zSql[i++];
      while (i < nSql && zSql[i] != q) {
        if (zSql[i] == '\\' && q != '`') i++; /* Databricks escapes */
        i++;
      }
      i++;
      continue;
    }
    if (!isalpha((unsigned char)zSql[i]) && zSql[i] != '_') {
      if (zSql[i] == ';') { /* only a trailing one: no second statement */
        if (sql_skip_space(zSql, nSql, i + 1) < nSql) return 0;
        break;
      }
      if (nWords == 0 && zSql[i] != '(') return 0;
      i++;
      continue;
    }
    for (j = i; j < nSql && (isalnum((unsigned char)zSql[j]) || zSql[j] == '_');
         j++) {
    }
    if (nWords++ == 0 &&
        !sql_word_in(zSql + i, j - i, azRead, DBX_ARRAY_SIZE(azRead))) {
      return 0;
    }
    if (sql_word_in(zSql + i, j - i, azWrite, DBX_ARRAY_SIZE(azWrite))) {
      return 0;
    }
    i = j;
  }
  return nWords > 0;
}
