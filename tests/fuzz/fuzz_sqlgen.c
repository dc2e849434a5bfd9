/*
** Fuzz target: the write-statement text of sqlgen.c. Any text, read as a
** column list, either is refused or gives columns from which CREATE TABLE
** and COPY INTO build; any text (up to its first NUL) as a string literal
** and as an identifier decodes back, by Databricks' rules, to itself with
** nothing after the closing quote.
*/
#include "fuzz.h"

#include "sqlgen.h"

/* Decodes the Databricks string literal at z (backslash escapes, as
** sqlgen.c writes them); returns the text (sqlite3_malloc) and sets *pzEnd
** after the closing quote, or NULL for an unterminated literal. */
static char *literal_decode(const char *z, const char **pzEnd) {
  DbxBuf b = {0};
  FUZZ_CHECK(*z == '\'');
  for (z++; *z && *z != '\''; z++) {
    char c = *z;
    if (c == '\\') {
      z++;
      c = *z == 'n' ? '\n' : *z == 'r' ? '\r' : *z == 't' ? '\t' : *z;
      FUZZ_CHECK(*z == 'n' || *z == 'r' || *z == 't' || *z == '\\' ||
                 *z == '\'');
    }
    dbx_buf_append(&b, &c, 1);
  }
  if (*z != '\'') {
    dbx_buf_free(&b);
    return NULL;
  }
  *pzEnd = z + 1;
  return b.z ? dbx_buf_take(&b) : sqlite3_mprintf("");
}

/* Decodes the backticked identifier at z; sets *pzEnd past it. */
static char *ident_decode(const char *z, const char **pzEnd) {
  DbxBuf b = {0};
  FUZZ_CHECK(*z == '`');
  for (z++; !(z[0] == '`' && z[1] != '`'); z++) {
    FUZZ_CHECK(*z != 0);
    if (*z == '`') z++;
    dbx_buf_append(&b, z, 1);
  }
  *pzEnd = z + 1;
  return b.z ? dbx_buf_take(&b) : sqlite3_mprintf("");
}

int LLVMFuzzerTestOneInput(const uint8_t *a, size_t n) {
  char *z = fuzz_text(a, n), *zBack;
  const char *zEnd = NULL;
  DbxSqlCol *aCol = NULL;
  DbxBuf b = {0};
  DbxError e = {0};
  int nCol = 0, rc, i;

  /* a string literal and an identifier decode back to the input */
  FUZZ_CHECK(dbx_sql_string(&b, z, strlen(z), &e) == SQLITE_OK);
  zBack = literal_decode(b.z, &zEnd);
  FUZZ_CHECK(zBack != NULL && strcmp(zBack, z) == 0 && *zEnd == 0);
  sqlite3_free(zBack);
  dbx_buf_reset(&b);
  dbx_sql_ident(&b, z);
  zBack = ident_decode(b.z, &zEnd);
  FUZZ_CHECK(strcmp(zBack, z) == 0 && *zEnd == 0);
  sqlite3_free(zBack);
  dbx_buf_reset(&b);

  /* a column list is refused, or every statement builds from it */
  rc = dbx_sql_cols_parse(z, &aCol, &nCol, &e);
  if (rc == SQLITE_OK) {
    static const char *const azFile[] = {"f.parquet"};
    FUZZ_CHECK(nCol >= 1);
    for (i = 0; i < nCol; i++) {
      FUZZ_CHECK(aCol[i].zName[0] != 0);
      FUZZ_CHECK(dbx_sql_type_check(aCol[i].zType, &e) == SQLITE_OK);
      /* a checked type never ends the statement or opens a comment or a
      ** literal outside backticks */
      FUZZ_CHECK(aCol[i].zType[0] == '`' || strchr(aCol[i].zType, '`') ||
                 (!strchr(aCol[i].zType, ';') && !strchr(aCol[i].zType, '\'') &&
                  !strstr(aCol[i].zType, "--")));
    }
    FUZZ_CHECK(dbx_sql_create_table(&b, "c.s.t", aCol, nCol, 1, &e) ==
               SQLITE_OK);
    dbx_buf_reset(&b);
    FUZZ_CHECK(dbx_sql_copy_into(&b, "c.s.t", aCol, nCol, "/Volumes/c/s/v",
                                 azFile, 1, 0, &e) == SQLITE_OK);
    sqlite3_free(aCol);
  } else {
    FUZZ_CHECK(aCol == NULL && nCol == 0 && e.zMsg[0] != 0);
    FUZZ_CHECK(strchr(e.zMsg, '\n') == NULL);
  }
  dbx_buf_free(&b);
  sqlite3_free(z);
  return 0;
}
