/*
** sqlgen.h: Databricks SQL text and Databricks types (sqlgen.c), part of
** the "formats" layer.
**
** The one place that knows how a Databricks identifier is quoted, how a
** dotted catalog.schema.table name is read, and what each Databricks type
** means on the SQLite side: how result.c decodes its values, how
** pushdown.c compares them, which declared type a virtual table column
** gets, which type a SQLite value gets when a table is written, and
** whether SQL text only reads (so its submit may be repeated); and the
** statement builders of the write path (CREATE TABLE, ALTER TABLE ADD
** COLUMNS, COPY INTO, the merge stage, MERGE). The change feed's
** table_changes() and DESCRIBE HISTORY are written by cdf.c with the
** quoting of this file. Pure: no network and no sqlite3 values;
** the SQLite allocator only.
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
** CREATE VOLUME IF NOT EXISTS `c`.`s`.`v`, each part quoted by
** dbx_sql_ident. Returns a string from sqlite3_malloc, or NULL when out of
** memory.
*/
char *dbx_sql_create_volume(const char *zCatalog, const char *zSchema,
                            const char *zVolume);

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
** Splits a list of column names, "a, b ,c" (blanks around each name
** dropped, nothing quoted), into *pazOut, one sqlite3_malloc block holding
** the array and the names, and *pnOut. An empty name is SQLITE_ERROR with
** pErr naming zWhat, the option the list came from.
*/
int dbx_sql_name_list(const char *zList, const char *zWhat, char ***pazOut,
                      int *pnOut, DbxError *pErr);

/*
** True when zSql (nSql bytes) only reads: its first keyword is SELECT,
** VALUES, SHOW, DESCRIBE/DESC, EXPLAIN or LIST (or WITH), and no word of
** it outside quotes and comments is one that writes (INSERT, UPDATE,
** MERGE, CREATE, COPY, ...). Such a statement may be submitted again when
** a submit was lost in transit; any other is sent once (see
** dbx_client_post_once) unless DbxStmtOptions.bIdempotent says otherwise.
*/
int dbx_sql_is_read_only(const char *zSql, size_t nSql);

/* ---------------------------------------------------------------------
** Statement builders of the write path
**
** Each appends one complete statement (no trailing ';') to pBuf and
** returns SQLITE_OK, or leaves pBuf as it was and returns SQLITE_ERROR
** with a one-line message in pErr (a refused input) or SQLITE_NOMEM.
** Names are unquoted text: dotted table names as dbx_sql_name_split reads
** them, column names as they are (any bytes but NUL). Every name is
** backticked and every string is a literal from dbx_sql_string, so no
** input can end a statement, add one, or comment the rest out.
*/

/* One column of a table: its name and its Databricks type text. */
typedef struct DbxSqlCol {
  const char *zName; /* unquoted name, 1 byte or more */
  const char *zType; /* type text that dbx_sql_type_check accepts */
} DbxSqlCol;

/* The most files one COPY INTO may name (FILES = (...)). */
#define DBX_SQL_COPY_MAX_FILES 1000

/* The column of a merge stage table that says what a row does. */
#define DBX_SQL_OP_COLUMN "_dbx_op"

/*
** The text of a TIMESTAMP (bUtc) or TIMESTAMP_NTZ parameter for a value as
** the read path gives it, 'YYYY-MM-DD[ HH:MM:SS[.f]]' (TIMESTAMP in UTC):
** a bare day is its midnight, and a TIMESTAMP is spelled in UTC with a
** 'Z', since a zone-less text would be read in the session time zone.
** Writes at most nOut bytes, NUL included, to zOut.
*/
void dbx_sql_timestamp_param(const char *z, int n, int bUtc, char *zOut,
                             size_t nOut);

/*
** Appends the n bytes at z as a Databricks string literal. Backslash
** escapes are active in Databricks literals and '' is not a quote (two
** adjacent literals), so '\' becomes \\, a quote \', and newline, carriage
** return and tab \n \r \t (a statement stays on one line); other bytes go
** as they are. A NUL byte is refused: Databricks would read \0 as one and
** C text cannot hold it.
*/
int dbx_sql_string(DbxBuf *pBuf, const char *z, size_t n, DbxError *pErr);

/*
** Checks a type text before it is spliced into a statement: a head word
** of the type table (dbx_sql_type_head), then at most one parameter group,
** (...) or <...>, properly nested, that holds only words, digits, blanks,
** ',' and ':' and `backticked` field names; then, for a text type only,
** COLLATE and a collation name; nothing after. So "DECIMAL(10,2)",
** "ARRAY<STRUCT<a: INT, `b c`: STRING>>", "STRING COLLATE UTF8_LCASE" pass
** and "STRING; DROP", "INT -- x", "STRING NOT NULL" and "FOO" do not. Returns
** SQLITE_OK, or SQLITE_ERROR with pErr naming the type.
*/
int dbx_sql_type_check(const char *zType, DbxError *pErr);

/*
** Reads a column list, "name TYPE, `other name` TYPE, ..." (blanks and
** newlines anywhere between items; a comma inside (...) or <...> belongs to
** the type). Each type is checked with dbx_sql_type_check and names must
** differ ignoring ASCII case, as Databricks compares them. On SQLITE_OK
** *paCol is one sqlite3_malloc block holding the array and its strings
** (free it with sqlite3_free) and *pnCol is 1 or more; on error both are
** zeroed and pErr is set.
*/
int dbx_sql_cols_parse(const char *zText, DbxSqlCol **paCol, int *pnCol,
                       DbxError *pErr);

/*
** Appends the dotted name zTable (1 to 3 parts) with each part
** backticked: `c`.`s`.`t`.
*/
int dbx_sql_table(DbxBuf *pBuf, const char *zTable, DbxError *pErr);

/*
** CREATE TABLE IF NOT EXISTS t (`a` TYPE, ...) USING DELTA, followed by
** TBLPROPERTIES (delta.enableChangeDataFeed = true) when bCdf. USING
** DELTA is always written: COPY INTO, MERGE and the change feed need a
** Delta table. nCol >= 1.
*/
int dbx_sql_create_table(DbxBuf *pBuf, const char *zTable,
                         const DbxSqlCol *aCol, int nCol, int bCdf,
                         DbxError *pErr);

/*
** ALTER TABLE t ADD COLUMNS (`a` TYPE, ...): the columns must be missing
** remotely (there is no IF NOT EXISTS). nCol >= 1.
*/
int dbx_sql_add_columns(DbxBuf *pBuf, const char *zTable, const DbxSqlCol *aCol,
                        int nCol, DbxError *pErr);

/*
** COPY INTO t FROM (SELECT <list> FROM 'zDir') FILEFORMAT = PARQUET
** FILES = ('f1', ...) [COPY_OPTIONS ('mergeSchema' = 'true')].
** aCol are the target's types for the Parquet columns of the same names:
** a VARIANT column is read with parse_json(`c`) AS `c` (the Parquet
** column holds JSON text), every other one with CAST(`c` AS TYPE) AS `c`.
** zDir is a /Volumes/... directory (a '/' is added when missing); azFile
** are paths relative to it, 1 to DBX_SQL_COPY_MAX_FILES of them, none
** empty, absolute or with a '..' part. 'force' is never written: a file
** already loaded into t is skipped, which is what makes a retry safe.
*/
int dbx_sql_copy_into(DbxBuf *pBuf, const char *zTable, const DbxSqlCol *aCol,
                      int nCol, const char *zDir, const char *const *azFile,
                      int nFile, int bMergeSchema, DbxError *pErr);

/*
** The name of the merge stage table of zTable: the same catalog and
** schema, table name "<table>__dbx_stage_<zSuffix>", appended quoted.
** zSuffix (the caller's unique id of one commit) is 1 to 64 bytes of
** A-Z a-z 0-9 _; the table name may not pass 255 bytes.
*/
int dbx_sql_stage_table(DbxBuf *pBuf, const char *zTable, const char *zSuffix,
                        DbxError *pErr);

/*
** CREATE TABLE IF NOT EXISTS <stage> (`a` TYPE, ..., `_dbx_op` STRING)
** USING DELTA. IF NOT EXISTS: a retried commit with the same suffix finds
** its stage again, and COPY INTO skips the files already in it.
*/
int dbx_sql_create_stage(DbxBuf *pBuf, const char *zTable, const char *zSuffix,
                         const DbxSqlCol *aCol, int nCol, DbxError *pErr);

/* DROP TABLE IF EXISTS <stage>. */
int dbx_sql_drop_stage(DbxBuf *pBuf, const char *zTable, const char *zSuffix,
                       DbxError *pErr);

/*
** INSERT OVERWRITE TABLE t (`a`, ...) SELECT `a`, ... FROM <stage>: the
** rows of t become the stage's, in one version. nCol >= 1.
*/
int dbx_sql_insert_overwrite(DbxBuf *pBuf, const char *zTable,
                             const char *zSuffix, const DbxSqlCol *aCol,
                             int nCol, DbxError *pErr);

/*
** MERGE WITH SCHEMA EVOLUTION INTO t AS t USING <stage> AS s ON (each key
** t.k <=> s.k) WHEN MATCHED AND s._dbx_op = 'delete' THEN DELETE WHEN
** MATCHED AND (versions) THEN UPDATE SET `a` = s.`a`, ... WHEN NOT MATCHED
** AND s._dbx_op <> 'delete' THEN INSERT (`a`, ...) VALUES (s.`a`, ...).
** aCol: the stage's data columns (not the op column), which the target
** must have; azKey: 1 or more merge key columns; azVersion: 0 or more
** version columns (0: a matched upsert always updates). The stage must
** hold at most one row per key (the caller keeps the highest version).
** See sqlgen.c for each choice.
*/
int dbx_sql_merge(DbxBuf *pBuf, const char *zTable, const char *zSuffix,
                  const DbxSqlCol *aCol, int nCol, const char *const *azKey,
                  int nKey, const char *const *azVersion, int nVersion,
                  DbxError *pErr);

#endif /* DBX_SQLGEN_H */
