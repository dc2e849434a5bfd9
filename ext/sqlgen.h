/*
** sqlgen.h: Databricks SQL text and Databricks types (sqlgen.c), part of
** the "formats" layer.
**
** The one place that knows how a Databricks identifier is quoted, how a
** dotted catalog.schema.table name is read, and what each Databricks type
** means on the SQLite side: how result.c decodes its values, how
** pushdown.c compares them, which declared type a virtual table column
** gets, which type a SQLite value gets when a table is written, and
** whether SQL text only reads (so its submit may be repeated). The
** statement builders of the write and change-feed paths (CREATE TABLE,
** ALTER TABLE ADD COLUMNS, COPY INTO, MERGE, table_changes) belong here
** too. Pure: no network and no sqlite3 values; the SQLite allocator only.
*/
#ifndef DBX_SQLGEN_H
#define DBX_SQLGEN_H

#include "dbx_int.h"

/* ---------------------------------------------------------------------
** Types
*/

/* How a column's values are decoded (result.c). */
typedef enum DbxKind {
  DBX_KIND_TEXT = 0,  /* STRING, CHAR, DATE, INTERVAL, anything unknown */
  DBX_KIND_INTEGER,   /* TINYINT (BYTE), SMALLINT (SHORT), INT, BIGINT (LONG) */
  DBX_KIND_BOOLEAN,   /* "true"/"false" -> 1/0 */
  DBX_KIND_REAL,      /* FLOAT, DOUBLE, and DECIMAL with precision <= 15 */
  DBX_KIND_DECIMAL,   /* DECIMAL with precision > 15: exact text */
  DBX_KIND_TIMESTAMP, /* TIMESTAMP (with zone): normalised to UTC */
  DBX_KIND_TIMESTAMP_NTZ, /* TIMESTAMP_NTZ: same text form, no shift */
  DBX_KIND_DATE,          /* DATE: text as sent */
  DBX_KIND_BINARY,        /* hex text -> BLOB */
  DBX_KIND_JSON,          /* ARRAY, MAP, STRUCT, VARIANT: JSON text */
  DBX_KIND_NULL           /* the NULL type (SELECT NULL) */
} DbxKind;

/* How a remote type's values compare once they are SQLite values
** (pushdown.c). */
typedef enum DbxColClass {
  DBX_COL_OTHER =
      0,       /* TIMESTAMP, BINARY, complex, wide DECIMAL: SQLite filters */
  DBX_COL_INT, /* TINYINT..BIGINT: INTEGER values */
  DBX_COL_DECIMAL,      /* DECIMAL(p<=15,s): REAL values, no NaN */
  DBX_COL_FLOAT,        /* FLOAT/DOUBLE: REAL values; NaN arrives as NULL */
  DBX_COL_BOOL,         /* BOOLEAN: 0 or 1 */
  DBX_COL_TEXT,         /* STRING/VARCHAR with binary collation: byte order */
  DBX_COL_DATE,         /* DATE: 'YYYY-MM-DD' text */
  DBX_COL_TIMESTAMP,    /* TIMESTAMP: 'YYYY-MM-DD HH:MM:SS[.f]' UTC text */
  DBX_COL_TIMESTAMP_NTZ /* TIMESTAMP_NTZ: the same text, no zone */
} DbxColClass;

/*
** One row of the type table: a Databricks type, by the words that name it
** as the type_name of a result manifest or as the head of a type_text
** ("DECIMAL" of "decimal(10,2)", "ARRAY" of "ARRAY<INT>").
*/
typedef struct DbxSqlType {
  const char *zName;      /* upper case, as Databricks SQL spells it */
  const char *azAlias[2]; /* other words for it, upper case; NULL if none */
  DbxKind eKind;          /* decoding; DECIMAL: see dbx_sql_decimal_real */
  DbxColClass eClass;     /* comparison; DECIMAL: see dbx_sql_decimal_real */
  int bKeepText;          /* values are text that may look like numbers: the
                          ** declared type must give TEXT affinity */
  int eSqlite;            /* SQLITE_INTEGER/FLOAT/TEXT/BLOB when this is the
                          ** type a column of values of that storage class is
                          ** created with; 0 for every other row */
} DbxSqlType;

/*
** The row for the n bytes at z (a type word, compared case-insensitively),
** or NULL when the word names no known type. Static storage.
*/
const DbxSqlType *dbx_sql_type_find(const char *z, size_t n);

/*
** The row for the head of a type text: blanks skipped, then a word of
** letters, digits and '_'. *pzRest (when not NULL) is set to what follows
** the word, where parameters ("(10,2)") and clauses ("COLLATE ...") are.
** NULL when z is NULL or the word is unknown.
*/
const DbxSqlType *dbx_sql_type_head(const char *z, const char **pzRest);

/* The precision of DECIMAL without one: DECIMAL is DECIMAL(10,0). */
#define DBX_SQL_DECIMAL_PRECISION 10

/*
** Whether values of DECIMAL(nPrecision) are read as REAL (precision up to
** 15 decimal digits, which a double holds exactly) rather than as exact
** TEXT. nPrecision is a real precision, 1 or more.
*/
int dbx_sql_decimal_real(int nPrecision);

/*
** The Databricks type a column gets for values of SQLite storage class
** eSqlite (SQLITE_INTEGER -> BIGINT, SQLITE_FLOAT -> DOUBLE, SQLITE_TEXT ->
** STRING, SQLITE_BLOB -> BINARY: the read mapping in reverse), or NULL for
** any other code. Static storage.
*/
const char *dbx_sql_type_for_sqlite(int eSqlite);

/*
** The affinity SQLite gives a column declared with type text z, by its
** rules (datatype3.html, section 3.1): 'i' INTEGER, 't' TEXT, 'b' BLOB
** (also for an empty z), 'r' REAL, 'n' NUMERIC.
*/
char dbx_sql_affinity(const char *z);

/*
** The declared type for sqlite3_declare_vtab: the remote type text, quoted
** when it is not a plain SQLite type token (ARRAY<INT>), and followed by
** TEXT when SQLite's affinity rules would otherwise turn numeric-looking
** text values into numbers in comparisons (STRING -> "STRING TEXT").
** zTypeText wins over zTypeName unless NULL or empty. Returns a string
** from sqlite3_malloc, or NULL when out of memory.
*/
char *dbx_sql_decltype(const char *zTypeText, const char *zTypeName);

/* ---------------------------------------------------------------------
** Names
*/

/*
** Appends z to pBuf as a backticked Databricks identifier, doubling any
** backtick inside.
*/
void dbx_sql_ident(DbxBuf *pBuf, const char *z);

/*
** Splits a dotted name (`a.b`.c, plain or backticked parts) into at most
** three unquoted parts, each from sqlite3_malloc (free with
** dbx_sql_name_free). Returns SQLITE_OK with *pnPart set, or
** SQLITE_ERROR with pErr set for an empty part, a stray backtick or more
** than three parts.
*/
int dbx_sql_name_split(const char *zName, char *azPart[3], int *pnPart,
                       DbxError *pErr);
void dbx_sql_name_free(char *azPart[3]);

/*
** True when zSql (nSql bytes) only reads: its first keyword is SELECT,
** VALUES, SHOW, DESCRIBE/DESC, EXPLAIN or LIST (or WITH), and no word of
** it outside quotes and comments is one that writes (INSERT, UPDATE,
** MERGE, CREATE, COPY, ...). Such a statement may be submitted again when
** a submit was lost in transit; any other is sent once (see
** dbx_client_post_once) unless DbxStmtOptions.bIdempotent says otherwise.
*/
int dbx_sql_is_read_only(const char *zSql, size_t nSql);

#endif /* DBX_SQLGEN_H */
