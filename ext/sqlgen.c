/*
** sqlgen.c: Databricks SQL text and the type table (see sqlgen.h).
**
** Serves every statement the extension writes: the remote SELECT of a
** `databricks` virtual table scan (through pushdown.c), the table name a
** CREATE VIRTUAL TABLE ... USING databricks(table=...) names, and the
** column declarations of that virtual table; and the statements of the
** write path: CREATE TABLE, ALTER TABLE ADD COLUMNS, COPY INTO, the merge
** stage table and MERGE (cdf.c writes table_changes() with these), so
** that quoting, literals and type names have one home. It also says which
** SQL text only reads, so that a submit lost in transit may be sent again
** (statements.c).
**
** Pure: no sqlite3 values and no network; the SQLite allocator only.
*/
#include <ctype.h>
#include <stdio.h>
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

char *dbx_sql_create_volume(const char *zCatalog, const char *zSchema,
                            const char *zVolume) {
  DbxBuf b = {0};
  dbx_buf_appendf(&b, "CREATE VOLUME IF NOT EXISTS ");
  dbx_sql_ident(&b, zCatalog);
  dbx_buf_append(&b, ".", 1);
  dbx_sql_ident(&b, zSchema);
  dbx_buf_append(&b, ".", 1);
  dbx_sql_ident(&b, zVolume);
  if (b.rc) {
    dbx_buf_free(&b);
    return NULL;
  }
  return dbx_buf_take(&b);
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

/* ---------------------------------------------------------------------
** Statement builders of the write path (see sqlgen.h)
**
** Each builder remembers where pBuf ended, and a refusal cuts it back
** there, so a caller never sends half a statement.
*/

/* Ends a builder: on a refusal or an allocation failure pBuf is cut back
** to n0 bytes. Returns the result code. */
static int sql_done(DbxBuf *pBuf, size_t n0, int rc, DbxError *pErr) {
  if (rc == SQLITE_OK && pBuf->rc != SQLITE_OK) {
    rc = dbx_error_set(pErr, pBuf->rc, "out of memory");
  }
  if (rc != SQLITE_OK && pBuf->z) {
    pBuf->n = n0 < pBuf->n ? n0 : pBuf->n;
    pBuf->z[pBuf->n] = 0;
  }
  return rc;
}

void dbx_sql_timestamp_param(const char *z, int n, int bUtc, char *zOut,
                             size_t nOut) {
  snprintf(zOut, nOut, "%.*s%s%s", n, z, n == 10 ? " 00:00:00" : "",
           bUtc ? "Z" : "");
}

int dbx_sql_string(DbxBuf *pBuf, const char *z, size_t n, DbxError *pErr) {
  size_t i;
  if (z == NULL && n > 0) {
    return dbx_error_set(pErr, SQLITE_ERROR, "missing text for a literal");
  }
  if (n > 0 && memchr(z, 0, n) != NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "text with a NUL byte cannot be a Databricks string "
                         "literal: remove the NUL byte");
  }
  dbx_buf_append(pBuf, "'", 1);
  for (i = 0; i < n; i++) {
    /* each byte of zFrom goes as a backslash and the byte below it */
    static const char zFrom[] = "\\'\n\r\t", zTo[] = "\\'nrt";
    const char *p = strchr(zFrom, z[i]); /* z[i] is never NUL here */
    if (p) {
      char a[2] = {'\\', zTo[p - zFrom]};
      dbx_buf_append(pBuf, a, 2);
    } else {
      dbx_buf_append(pBuf, &z[i], 1);
    }
  }
  dbx_buf_append(pBuf, "'", 1);
  return pBuf->rc ? dbx_error_set(pErr, pBuf->rc, "out of memory") : SQLITE_OK;
}

/* Whether c may stand in a type's parameter group outside backticks. */
static int type_char_ok(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == ' ' || c == '\t' ||
         c == '\n' || c == '\r' || c == ',' || c == ':';
}

/* Whether c is a blank or the end of the text. */
static int col_blank_or_end(char c) {
  return c == 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int dbx_sql_type_check(const char *zType, DbxError *pErr) {
  char aOpen[32]; /* closing bracket expected at each depth */
  int nDepth = 0, bGroup = 0, bCollate = 0;
  const DbxSqlType *pHead;
  const char *p;
  if (zType == NULL || (pHead = dbx_sql_type_head(zType, &p)) == NULL) {
    goto bad;
  }
  for (; *p; p++) {
    if (nDepth == 0) {
      if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') continue;
      /* a text type may end with COLLATE <name> (STRING COLLATE UTF8_LCASE,
      ** as Unity Catalog reports such a column) */
      if (!bCollate && pHead->eKind == DBX_KIND_TEXT &&
          strncasecmp(p, "COLLATE", 7) == 0 && col_blank_or_end(p[7])) {
        const char *zName;
        for (p += 7; *p == ' '; p++) {
        }
        for (zName = p; isalnum((unsigned char)*p) || *p == '_'; p++) {
        }
        if (p == zName) goto bad;
        bCollate = bGroup = 1;
        p--;
        continue;
      }
      if (bGroup || (*p != '(' && *p != '<')) goto bad;
      bGroup = 1; /* one group, right after the head */
    }
    if (*p == '(' || *p == '<') {
      if (nDepth == (int)sizeof(aOpen)) goto bad;
      aOpen[nDepth++] = *p == '(' ? ')' : '>';
    } else if (*p == ')' || *p == '>') {
      if (aOpen[--nDepth] != *p) goto bad;
    } else if (*p == '`') {
      for (p++; !(p[0] == '`' && p[1] != '`'); p++) {
        if (*p == 0) goto bad;
        if (*p == '`') p++; /* a doubled backtick */
      }
    } else if (!type_char_ok(*p)) {
      goto bad;
    }
  }
  if (nDepth == 0) return SQLITE_OK;
bad:
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "unsupported column type '%s': write a Databricks type "
                       "such as BIGINT, STRING, DECIMAL(10,2) or ARRAY<INT>",
                       zType ? zType : "");
}

/* Whether c is a blank between the items of a column list. */
static int col_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
** Reads the column list zText: with pOut NULL it only measures, else it
** fills aCol and copies names and types into the bytes at pOut. Returns
** SQLITE_OK with *pnCol set, or SQLITE_ERROR with pErr set.
*/
static int cols_scan(const char *zText, DbxSqlCol *aCol, char *pOut, int *pnCol,
                     DbxError *pErr) {
  const char *p = zText, *zName = zText;
  int nCol = 0;
  for (;;) {
    const char *zType, *zEnd;
    size_t nName;
    int nDepth = 0;
    while (col_blank(*p))
      p++;
    if (*p == 0 && nCol == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "empty column list: write name TYPE, ...");
    }
    /* the name, plain or backticked */
    zName = p;
    if (*p == '`') {
      for (p++; !(p[0] == '`' && p[1] != '`'); p++) {
        if (*p == 0) goto bad_name;
        if (*p == '`') p++;
      }
      p++;
    } else {
      while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    }
    nName = (size_t)(p - zName);
    if (nName == 0 || (zName[0] == '`' && nName == 2)) goto bad_name;
    if (!col_blank(*p)) goto bad_name;
    while (col_blank(*p))
      p++;
    /* the type, to a comma outside brackets and backticks */
    zType = p;
    for (; *p && !(*p == ',' && nDepth == 0); p++) {
      if (*p == '(' || *p == '<') nDepth++;
      if (*p == ')' || *p == '>') nDepth--;
      if (*p == '`') {
        for (p++; *p && !(p[0] == '`' && p[1] != '`'); p++) {
          if (*p == '`') p++;
        }
        if (*p == 0) break;
      }
    }
    for (zEnd = p; zEnd > zType && col_blank(zEnd[-1]); zEnd--) {
    }
    if (pOut) {
      DbxSqlCol *pCol = &aCol[nCol];
      const char *q;
      int i;
      pCol->zName = pOut;
      if (zName[0] == '`') {
        for (q = zName + 1; q < zName + nName - 1; q++) {
          *pOut++ = *q;
          if (*q == '`') q++;
        }
      } else {
        memcpy(pOut, zName, nName);
        pOut += nName;
      }
      *pOut++ = 0;
      pCol->zType = pOut;
      memcpy(pOut, zType, (size_t)(zEnd - zType));
      pOut += zEnd - zType;
      *pOut++ = 0;
      if (dbx_sql_type_check(pCol->zType, pErr)) return SQLITE_ERROR;
      for (i = 0; i < nCol; i++) {
        if (sqlite3_stricmp(aCol[i].zName, pCol->zName) == 0) {
          return dbx_error_set(pErr, SQLITE_ERROR,
                               "column '%s' is listed twice", pCol->zName);
        }
      }
    }
    nCol++;
    if (*p == 0) break;
    p++; /* the comma */
  }
  *pnCol = nCol;
  return SQLITE_OK;
bad_name:
  return dbx_error_set(pErr, SQLITE_ERROR,
                       "bad column list near '%.40s': write name TYPE, with "
                       "`backticks` around a name that is not a plain word",
                       zName);
}

int dbx_sql_cols_parse(const char *zText, DbxSqlCol **paCol, int *pnCol,
                       DbxError *pErr) {
  DbxSqlCol *aCol;
  int nCol = 0;
  *paCol = NULL;
  *pnCol = 0;
  if (zText == NULL) zText = "";
  if (cols_scan(zText, NULL, NULL, &nCol, pErr)) return SQLITE_ERROR;
  /* names and types are never longer than the text, plus two NULs each */
  aCol = sqlite3_malloc64(sizeof(DbxSqlCol) * (size_t)nCol + strlen(zText) +
                          2 * (size_t)nCol);
  if (aCol == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  if (cols_scan(zText, aCol, (char *)&aCol[nCol], &nCol, pErr)) {
    sqlite3_free(aCol);
    return SQLITE_ERROR;
  }
  *paCol = aCol;
  *pnCol = nCol;
  return SQLITE_OK;
}

int dbx_sql_table(DbxBuf *pBuf, const char *zTable, DbxError *pErr) {
  char *azPart[3];
  int nPart, i, rc = dbx_sql_name_split(zTable, azPart, &nPart, pErr);
  if (rc) return rc;
  for (i = 0; i < nPart; i++) {
    if (i) dbx_buf_append(pBuf, ".", 1);
    dbx_sql_ident(pBuf, azPart[i]);
  }
  dbx_sql_name_free(azPart);
  return pBuf->rc ? dbx_error_set(pErr, pBuf->rc, "out of memory") : SQLITE_OK;
}

/* Appends "(`a` TYPE, `b` TYPE)" after checking every column. */
static int sql_col_defs(DbxBuf *pBuf, const DbxSqlCol *aCol, int nCol,
                        DbxError *pErr) {
  int i;
  if (nCol < 1 || aCol == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR, "a table needs 1 column or more");
  }
  dbx_buf_append(pBuf, "(", 1);
  for (i = 0; i < nCol; i++) {
    if (aCol[i].zName == NULL || aCol[i].zName[0] == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR, "column %d has no name", i + 1);
    }
    if (dbx_sql_type_check(aCol[i].zType, pErr)) return SQLITE_ERROR;
    if (i) dbx_buf_append(pBuf, ", ", 2);
    dbx_sql_ident(pBuf, aCol[i].zName);
    dbx_buf_appendf(pBuf, " %s", aCol[i].zType);
  }
  dbx_buf_append(pBuf, ")", 1);
  return SQLITE_OK;
}

int dbx_sql_create_table(DbxBuf *pBuf, const char *zTable,
                         const DbxSqlCol *aCol, int nCol, int bCdf,
                         DbxError *pErr) {
  size_t n0 = pBuf->n;
  int rc;
  dbx_buf_appendf(pBuf, "CREATE TABLE IF NOT EXISTS ");
  rc = dbx_sql_table(pBuf, zTable, pErr);
  if (rc == SQLITE_OK) {
    dbx_buf_append(pBuf, " ", 1);
    rc = sql_col_defs(pBuf, aCol, nCol, pErr);
  }
  if (rc == SQLITE_OK) {
    dbx_buf_appendf(pBuf, " USING DELTA");
    /* CDF data exists only from the enabling commit on: set it at birth */
    if (bCdf) {
      dbx_buf_appendf(pBuf,
                      " TBLPROPERTIES (delta.enableChangeDataFeed = true)");
    }
  }
  return sql_done(pBuf, n0, rc, pErr);
}

int dbx_sql_add_columns(DbxBuf *pBuf, const char *zTable, const DbxSqlCol *aCol,
                        int nCol, DbxError *pErr) {
  size_t n0 = pBuf->n;
  int rc;
  dbx_buf_appendf(pBuf, "ALTER TABLE ");
  rc = dbx_sql_table(pBuf, zTable, pErr);
  if (rc == SQLITE_OK) {
    dbx_buf_appendf(pBuf, " ADD COLUMNS ");
    rc = sql_col_defs(pBuf, aCol, nCol, pErr);
  }
  return sql_done(pBuf, n0, rc, pErr);
}

/* Whether the relative file path z stays inside its directory: not empty,
** not absolute, no empty, "." or ".." part. */
static int file_path_ok(const char *z) {
  const char *p = z;
  if (z == NULL || z[0] == 0 || z[0] == '/') return 0;
  for (;;) {
    const char *zEnd = strchr(p, '/');
    size_t n = zEnd ? (size_t)(zEnd - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') ||
        (n == 2 && p[0] == '.' && p[1] == '.')) {
      return 0;
    }
    if (zEnd == NULL) return 1;
    p = zEnd + 1;
  }
}

/* Whether zDir is /Volumes/<at least catalog, schema, volume>[/...][/]
** with no empty, "." or ".." part. */
static int dir_path_ok(const char *zDir) {
  char *z;
  size_t n;
  int bOk, nPart = 0;
  const char *p;
  if (zDir == NULL || strncmp(zDir, "/Volumes/", 9) != 0) return 0;
  n = strlen(zDir);
  z = sqlite3_mprintf("%.*s", (int)(zDir[n - 1] == '/' ? n - 2 : n - 1),
                      zDir + 1);
  if (z == NULL) return 0;
  bOk = file_path_ok(z);
  for (p = z; *p; p++)
    nPart += *p == '/';
  sqlite3_free(z);
  return bOk && nPart >= 3; /* Volumes/c/s/v */
}

int dbx_sql_copy_into(DbxBuf *pBuf, const char *zTable, const DbxSqlCol *aCol,
                      int nCol, const char *zDir, const char *const *azFile,
                      int nFile, int bMergeSchema, DbxError *pErr) {
  size_t n0 = pBuf->n, nDir;
  int rc, i;
  if (nFile < 1 || nFile > DBX_SQL_COPY_MAX_FILES || azFile == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "COPY INTO takes 1 to %d files, not %d: split the "
                         "batch into several loads",
                         DBX_SQL_COPY_MAX_FILES, nFile);
  }
  if (!dir_path_ok(zDir)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "staging directory '%s' is not a /Volumes/catalog/"
                         "schema/volume/... path",
                         zDir ? zDir : "");
  }
  for (i = 0; i < nFile; i++) {
    if (!file_path_ok(azFile[i])) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "staged file name '%s' is not a path inside the "
                           "staging directory",
                           azFile[i] ? azFile[i] : "");
    }
  }
  if (nCol < 1 || aCol == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "COPY INTO needs 1 column or more");
  }
  dbx_buf_appendf(pBuf, "COPY INTO ");
  rc = dbx_sql_table(pBuf, zTable, pErr);
  /* The SELECT list names every column: Parquet holds VARIANT values as
  ** JSON text, and a CAST to the target type makes a narrower or looser
  ** Parquet type (INT64 into INT, text into DATE) load as the table says
  ** instead of failing on a schema mismatch. */
  dbx_buf_appendf(pBuf, " FROM (SELECT ");
  for (i = 0; rc == SQLITE_OK && i < nCol; i++) {
    const DbxSqlType *pType;
    if (aCol[i].zName == NULL || aCol[i].zName[0] == 0) {
      rc = dbx_error_set(pErr, SQLITE_ERROR, "column %d has no name", i + 1);
      break;
    }
    rc = dbx_sql_type_check(aCol[i].zType, pErr);
    if (rc) break;
    if (i) dbx_buf_append(pBuf, ", ", 2);
    pType = dbx_sql_type_head(aCol[i].zType, NULL);
    if (strcmp(pType->zName, "VARIANT") == 0) {
      dbx_buf_appendf(pBuf, "parse_json(");
      dbx_sql_ident(pBuf, aCol[i].zName);
      dbx_buf_append(pBuf, ")", 1);
    } else {
      dbx_buf_appendf(pBuf, "CAST(");
      dbx_sql_ident(pBuf, aCol[i].zName);
      dbx_buf_appendf(pBuf, " AS %s)", aCol[i].zType);
    }
    dbx_buf_appendf(pBuf, " AS ");
    dbx_sql_ident(pBuf, aCol[i].zName);
  }
  if (rc == SQLITE_OK) {
    /* a directory source needs its trailing '/' */
    nDir = strlen(zDir);
    dbx_buf_appendf(pBuf, " FROM ");
    if (zDir[nDir - 1] == '/') {
      rc = dbx_sql_string(pBuf, zDir, nDir, pErr);
    } else {
      char *zSlash = sqlite3_mprintf("%s/", zDir);
      rc = zSlash ? dbx_sql_string(pBuf, zSlash, nDir + 1, pErr)
                  : dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
      sqlite3_free(zSlash);
    }
  }
  if (rc == SQLITE_OK) {
    dbx_buf_appendf(pBuf, ") FILEFORMAT = PARQUET FILES = (");
    for (i = 0; rc == SQLITE_OK && i < nFile; i++) {
      if (i) dbx_buf_append(pBuf, ", ", 2);
      rc = dbx_sql_string(pBuf, azFile[i], strlen(azFile[i]), pErr);
    }
    dbx_buf_append(pBuf, ")", 1);
  }
  /* never 'force': loading a file twice is what the skip prevents */
  if (rc == SQLITE_OK && bMergeSchema) {
    dbx_buf_appendf(pBuf, " COPY_OPTIONS ('mergeSchema' = 'true')");
  }
  return sql_done(pBuf, n0, rc, pErr);
}

/* The longest table name Unity Catalog takes, in bytes. */
#define SQL_NAME_MAX 255
/* The longest stage suffix. */
#define SQL_SUFFIX_MAX 64

int dbx_sql_stage_table(DbxBuf *pBuf, const char *zTable, const char *zSuffix,
                        DbxError *pErr) {
  char *azPart[3];
  char *zStage;
  int nPart, i, rc = SQLITE_OK;
  size_t n0 = pBuf->n, nSuffix = zSuffix ? strlen(zSuffix) : 0;
  const char *p;
  for (p = zSuffix; p && *p; p++) {
    if (!isalnum((unsigned char)*p) && *p != '_') break;
  }
  if (nSuffix == 0 || nSuffix > SQL_SUFFIX_MAX || *p) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "bad stage suffix '%s': use 1 to %d letters, digits "
                         "or '_'",
                         zSuffix ? zSuffix : "", SQL_SUFFIX_MAX);
  }
  rc = dbx_sql_name_split(zTable, azPart, &nPart, pErr);
  if (rc) return rc;
  if (strlen(azPart[nPart - 1]) + 12 + nSuffix > SQL_NAME_MAX) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "table name '%s' is too long for a stage table name: "
                       "shorten it or the suffix",
                       azPart[nPart - 1]);
  } else {
    for (i = 0; i < nPart - 1; i++) {
      dbx_sql_ident(pBuf, azPart[i]);
      dbx_buf_append(pBuf, ".", 1);
    }
    /* the target's name first, so the stage is found beside its target */
    zStage = sqlite3_mprintf("%s__dbx_stage_%s", azPart[nPart - 1], zSuffix);
    if (zStage == NULL) {
      rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    } else {
      dbx_sql_ident(pBuf, zStage);
      sqlite3_free(zStage);
    }
  }
  dbx_sql_name_free(azPart);
  return sql_done(pBuf, n0, rc, pErr);
}

/* Checks the data columns of a merge batch: 1 or more, each named, none
** the op column. */
static int sql_batch_cols(const DbxSqlCol *aCol, int nCol, DbxError *pErr) {
  int i;
  if (nCol < 1 || aCol == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR, "a batch needs 1 column or more");
  }
  for (i = 0; i < nCol; i++) {
    if (aCol[i].zName == NULL || aCol[i].zName[0] == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR, "column %d has no name", i + 1);
    }
    if (sqlite3_stricmp(aCol[i].zName, DBX_SQL_OP_COLUMN) == 0) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "column name %s is reserved for merge stages: "
                           "rename the column",
                           DBX_SQL_OP_COLUMN);
    }
  }
  return SQLITE_OK;
}

int dbx_sql_create_stage(DbxBuf *pBuf, const char *zTable, const char *zSuffix,
                         const DbxSqlCol *aCol, int nCol, DbxError *pErr) {
  size_t n0 = pBuf->n;
  int rc;
  if (sql_batch_cols(aCol, nCol, pErr)) return SQLITE_ERROR;
  dbx_buf_appendf(pBuf, "CREATE TABLE IF NOT EXISTS ");
  rc = dbx_sql_stage_table(pBuf, zTable, zSuffix, pErr);
  if (rc == SQLITE_OK) {
    dbx_buf_append(pBuf, " ", 1);
    rc = sql_col_defs(pBuf, aCol, nCol, pErr);
  }
  if (rc == SQLITE_OK) {
    /* the op column goes inside the parentheses */
    pBuf->n--;
    dbx_buf_appendf(pBuf, ", `" DBX_SQL_OP_COLUMN "` STRING) USING DELTA");
  }
  return sql_done(pBuf, n0, rc, pErr);
}

int dbx_sql_drop_stage(DbxBuf *pBuf, const char *zTable, const char *zSuffix,
                       DbxError *pErr) {
  size_t n0 = pBuf->n;
  int rc;
  dbx_buf_appendf(pBuf, "DROP TABLE IF EXISTS ");
  rc = dbx_sql_stage_table(pBuf, zTable, zSuffix, pErr);
  return sql_done(pBuf, n0, rc, pErr);
}

int dbx_sql_insert_overwrite(DbxBuf *pBuf, const char *zTable,
                             const char *zSuffix, const DbxSqlCol *aCol,
                             int nCol, DbxError *pErr) {
  size_t n0 = pBuf->n;
  int i, rc;
  if (nCol < 1 || aCol == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "INSERT OVERWRITE needs 1 column or more");
  }
  dbx_buf_appendf(pBuf, "INSERT OVERWRITE TABLE ");
  rc = dbx_sql_table(pBuf, zTable, pErr);
  for (i = 0; rc == SQLITE_OK && i < nCol; i++) {
    dbx_buf_append(pBuf, i ? ", " : " (", 2);
    dbx_sql_ident(pBuf, aCol[i].zName);
  }
  dbx_buf_appendf(pBuf, ") SELECT ");
  for (i = 0; rc == SQLITE_OK && i < nCol; i++) {
    if (i) dbx_buf_append(pBuf, ", ", 2);
    dbx_sql_ident(pBuf, aCol[i].zName);
  }
  dbx_buf_appendf(pBuf, " FROM ");
  if (rc == SQLITE_OK) rc = dbx_sql_stage_table(pBuf, zTable, zSuffix, pErr);
  return sql_done(pBuf, n0, rc, pErr);
}

/* Appends "<alias>.`zName`". */
static void sql_qualified(DbxBuf *pBuf, const char *zAlias, const char *zName) {
  dbx_buf_appendf(pBuf, "%s.", zAlias);
  dbx_sql_ident(pBuf, zName);
}

/* Checks that each of the n names in az is one of the nCol columns. */
static int sql_names_ok(const char *const *az, int n, const DbxSqlCol *aCol,
                        int nCol, const char *zWhat, DbxError *pErr) {
  int i, j;
  for (i = 0; i < n; i++) {
    for (j = 0; j < nCol; j++) {
      if (az[i] && sqlite3_stricmp(az[i], aCol[j].zName) == 0) break;
    }
    if (j == nCol) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s '%s' is not a column of the batch", zWhat,
                           az[i] ? az[i] : "");
    }
  }
  return SQLITE_OK;
}

/*
** The MERGE of a stage into its target. The choices:
** - WITH SCHEMA EVOLUTION, as PostHog's flow runs it: the caller adds
**   missing columns first (ALTER TABLE ADD COLUMNS), so this only lets a
**   runtime that evolves on named columns do the same.
** - Named columns, not UPDATE SET * / INSERT *: with schema evolution a *
**   action would add the stage's op column to the target, and the
**   EXCEPT (...) form that could leave it out is missing from older
**   runtimes. A named list also leaves target columns the batch does not
**   carry as they are (UPDATE) or NULL (INSERT).
** - ON uses <=>, NULL-safe equality: a key that is NULL matches the row
**   with the same NULL key, so re-applying a batch updates that row
**   instead of inserting a second one.
** - The delete clause comes first: clauses are tried in order, so a
**   staged delete never updates. A delete removes the row whatever its
**   version (the caller stages the deletes it means).
** - Versions: a matched row is updated when ANY incoming version column
**   is greater than the target's (persons have two versions, one per
**   kind of change, and either may move alone). NULL compares as lower
**   than any value: an incoming value beats a NULL target version, an
**   incoming NULL beats nothing. Equal versions do not update, so
**   re-applying the same batch changes nothing.
** - Not matched: inserted unless staged as a delete (deleting a missing
**   row does nothing). The op column holds 'upsert' or 'delete'.
*/
int dbx_sql_merge(DbxBuf *pBuf, const char *zTable, const char *zSuffix,
                  const DbxSqlCol *aCol, int nCol, const char *const *azKey,
                  int nKey, const char *const *azVersion, int nVersion,
                  DbxError *pErr) {
  size_t n0 = pBuf->n;
  int rc, i;
  if (nKey < 1 || azKey == NULL) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "merge needs 1 merge key column or more: set "
                         "merge_keys");
  }
  if (nVersion < 0 || (nVersion > 0 && azVersion == NULL)) {
    return dbx_error_set(pErr, SQLITE_ERROR, "bad version column list");
  }
  if (sql_batch_cols(aCol, nCol, pErr)) return SQLITE_ERROR;
  if (sql_names_ok(azKey, nKey, aCol, nCol, "merge key", pErr) ||
      sql_names_ok(azVersion, nVersion, aCol, nCol, "version column", pErr)) {
    return SQLITE_ERROR;
  }
  dbx_buf_appendf(pBuf, "MERGE WITH SCHEMA EVOLUTION INTO ");
  rc = dbx_sql_table(pBuf, zTable, pErr);
  if (rc == SQLITE_OK) {
    dbx_buf_appendf(pBuf, " AS t USING ");
    rc = dbx_sql_stage_table(pBuf, zTable, zSuffix, pErr);
  }
  if (rc == SQLITE_OK) {
    dbx_buf_appendf(pBuf, " AS s ON ");
    for (i = 0; i < nKey; i++) {
      if (i) dbx_buf_appendf(pBuf, " AND ");
      sql_qualified(pBuf, "t", azKey[i]);
      dbx_buf_appendf(pBuf, " <=> ");
      sql_qualified(pBuf, "s", azKey[i]);
    }
    dbx_buf_appendf(pBuf, " WHEN MATCHED AND s.`" DBX_SQL_OP_COLUMN
                          "` = 'delete' THEN DELETE WHEN MATCHED");
    if (nVersion > 0) dbx_buf_appendf(pBuf, " AND (");
    for (i = 0; i < nVersion; i++) {
      if (i) dbx_buf_appendf(pBuf, " OR ");
      sql_qualified(pBuf, "s", azVersion[i]);
      dbx_buf_appendf(pBuf, " > ");
      sql_qualified(pBuf, "t", azVersion[i]);
      dbx_buf_appendf(pBuf, " OR (");
      sql_qualified(pBuf, "t", azVersion[i]);
      dbx_buf_appendf(pBuf, " IS NULL AND ");
      sql_qualified(pBuf, "s", azVersion[i]);
      dbx_buf_appendf(pBuf, " IS NOT NULL)");
    }
    if (nVersion > 0) dbx_buf_append(pBuf, ")", 1);
    dbx_buf_appendf(pBuf, " THEN UPDATE SET ");
    for (i = 0; i < nCol; i++) {
      if (i) dbx_buf_append(pBuf, ", ", 2);
      dbx_sql_ident(pBuf, aCol[i].zName);
      dbx_buf_appendf(pBuf, " = ");
      sql_qualified(pBuf, "s", aCol[i].zName);
    }
    dbx_buf_appendf(pBuf, " WHEN NOT MATCHED AND s.`" DBX_SQL_OP_COLUMN
                          "` <> 'delete' THEN INSERT (");
    for (i = 0; i < nCol; i++) {
      if (i) dbx_buf_append(pBuf, ", ", 2);
      dbx_sql_ident(pBuf, aCol[i].zName);
    }
    dbx_buf_appendf(pBuf, ") VALUES (");
    for (i = 0; i < nCol; i++) {
      if (i) dbx_buf_append(pBuf, ", ", 2);
      sql_qualified(pBuf, "s", aCol[i].zName);
    }
    dbx_buf_append(pBuf, ")", 1);
  }
  return sql_done(pBuf, n0, rc, pErr);
}

/* See sqlgen.h. */
int dbx_sql_name_list(const char *zList, const char *zWhat, char ***pazOut,
                      int *pnOut, DbxError *pErr) {
  size_t nList = strlen(zList);
  int n = 1, i = 0;
  const char *z;
  char **az, *zTok;
  for (z = zList; *z; z++)
    n += *z == ',';
  az = sqlite3_malloc64(sizeof(char *) * (sqlite3_uint64)n + nList + 1);
  if (az == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  zTok = (char *)&az[n];
  memcpy(zTok, zList, nList + 1);
  for (;;) {
    char *zComma = strchr(zTok, ','), *zEnd;
    if (zComma) *zComma = 0;
    while (*zTok == ' ' || *zTok == '\t' || *zTok == '\n')
      zTok++;
    zEnd = zTok + strlen(zTok);
    while (zEnd > zTok &&
           (zEnd[-1] == ' ' || zEnd[-1] == '\t' || zEnd[-1] == '\n'))
      *--zEnd = 0;
    if (zTok[0] == 0) {
      sqlite3_free(az);
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%s has an empty name: write 'a, b'", zWhat);
    }
    az[i++] = zTok;
    if (zComma == NULL) break;
    zTok = zComma + 1;
  }
  *pazOut = az;
  *pnOut = i;
  return SQLITE_OK;
}
