/*
** rows.h: a statement's result read as rows (rows.c), the "formats" layer
** of reads.
**
** Joins the two halves of a read: the Statement Execution client
** (statements.h) moves the chunks of a result as bytes, and the result
** reader (result.h) parses and decodes them. DbxRows feeds each chunk to
** the reader and reports each row back to the statement, which checks it
** against the manifest before it is handed out. Another result format is
** taught here and in result.c, never to the API client. Serves the
** databricks virtual table, dbx_query() and dbx_exec().
**
**   rc = dbx_rows_execute(pClient, zSql, aParam, nParam, &opt, &pRows, &e);
**   while ((rc = dbx_rows_next(pRows, &e)) == SQLITE_ROW) {
**     dbx_rows_cell(pRows, i, &cell, &e);   ... valid until the next row
**   }
**   dbx_rows_free(pRows);
*/
#ifndef DBX_ROWS_H
#define DBX_ROWS_H

#include "dbx_int.h"
#include "result.h"
#include "statements.h"

typedef struct DbxRows DbxRows;

/*
** Runs zSql as dbx_stmt_execute() does (same arguments and errors; text
** that only reads, by dbx_sql_is_read_only(), is run as idempotent) and
** reads its result schema. Returns SQLITE_OK with *ppOut positioned before
** the first row (free with dbx_rows_free), or an error code with pErr set
** and *ppOut NULL; a schema that cannot be read is such an error, and the
** statement's log reports it.
*/
int dbx_rows_execute(DbxClient *pClient, const char *zSql,
                     const DbxParam *aParam, int nParam,
                     const DbxStmtOptions *pOpt, DbxRows **ppOut,
                     DbxError *pErr);

/*
** Advances to the next row, taking the next chunk when the current one is
** used up. Returns SQLITE_ROW, SQLITE_DONE, or an error code with pErr set
** (later calls return it again). A row that does not match the manifest,
** or a chunk that is not rows, is such an error.
*/
int dbx_rows_next(DbxRows *p, DbxError *pErr);

/*
** Decodes column iCol of the current row (see result.h). The cell's text
** or blob is borrowed and valid until the next dbx_rows_next(). Returns
** SQLITE_OK, SQLITE_RANGE without a current row or column, or the decoding
** error.
*/
int dbx_rows_cell(DbxRows *p, int iCol, DbxCell *pCell, DbxError *pErr);

/* The result schema (borrowed; zero columns for most DDL). */
int dbx_rows_column_count(const DbxRows *p);
const DbxColumn *dbx_rows_column(const DbxRows *p, int iCol);

/* The statement behind the rows (borrowed): its id, state, row number and
** totals. */
DbxStmt *dbx_rows_stmt(const DbxRows *p);

/* Frees the rows and their statement (NULL is fine); see dbx_stmt_free. */
void dbx_rows_free(DbxRows *p);

#endif /* DBX_ROWS_H */
