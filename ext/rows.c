/*
** rows.c: a statement's result read as rows.
**
** The statement client hands out each chunk as the bytes it came in;
** the result reader (result.c) finds the rows in them and decodes cells;
** each row's width goes back to the statement (dbx_stmt_row), which
** checks it and the row counts against the manifest. Serves the
** databricks virtual table, dbx_query() and dbx_exec(); see rows.h.
*/
#include <stdio.h>
#include <string.h>

#include "rows.h"
#include "sqlgen.h"

struct DbxRows {
  DbxStmt *pStmt;           /* owned */
  DbxResultReader *pReader; /* owned; schema, rows and cells */
  int64_t iChunk;           /* index of the chunk fed to pReader */
  int bChunk;               /* a chunk is fed and not used up */
  int bRow;                 /* a row is current */
};

int dbx_rows_execute(DbxClient *pClient, const char *zSql,
                     const DbxParam *aParam, int nParam,
                     const DbxStmtOptions *pOpt, DbxRows **ppOut,
                     DbxError *pErr) {
  DbxRows *p;
  DbxStmt *pStmt = NULL;
  DbxError e;
  DbxStmtOptions opt;
  int rc;
  *ppOut = NULL;
  if (pOpt) {
    opt = *pOpt;
  } else {
    dbx_stmt_options_init(&opt);
  }
  /* text that only reads may be submitted again if a submit is lost */
  if (zSql && dbx_sql_is_read_only(zSql, strlen(zSql))) opt.bIdempotent = 1;
  rc = dbx_stmt_execute(pClient, zSql, aParam, nParam, &opt, &pStmt, pErr);
  if (rc) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) {
    dbx_error_clear(&e);
    dbx_error_set(&e, SQLITE_NOMEM, "out of memory");
    dbx_stmt_fail(pStmt, &e, pErr);
    dbx_stmt_free(pStmt);
    return SQLITE_NOMEM;
  }
  memset(p, 0, sizeof(*p));
  p->pStmt = pStmt;
  dbx_error_clear(&e);
  /* the reader lists the columns the statement counted, or fails */
  rc = dbx_result_reader_new(dbx_stmt_schema(pStmt), &p->pReader, &e);
  if (rc) {
    if (dbx_stmt_id(pStmt)[0]) {
      snprintf(e.zStatement, sizeof(e.zStatement), "%s", dbx_stmt_id(pStmt));
    }
    dbx_stmt_fail(pStmt, &e, pErr);
    dbx_rows_free(p);
    return rc;
  }
  *ppOut = p;
  return SQLITE_OK;
}

int dbx_rows_next(DbxRows *p, DbxError *pErr) {
  p->bRow = 0;
  for (;;) {
    DbxStmtChunk chunk;
    int rc, nVal = 0;
    if (p->bChunk) {
      DbxError e;
      dbx_error_clear(&e);
      rc = dbx_result_reader_next(p->pReader, &nVal, &e);
      if (rc == SQLITE_ROW) {
        rc = dbx_stmt_row(p->pStmt, nVal, pErr);
        if (rc) {
          p->bChunk = 0;
          return rc;
        }
        p->bRow = 1;
        return SQLITE_ROW;
      }
      p->bChunk = 0;
      if (rc != SQLITE_DONE) {
        DbxError why;
        dbx_error_clear(&why);
        dbx_error_set(&why, rc, "result chunk %lld: %s", (long long)p->iChunk,
                      e.zMsg);
        return dbx_stmt_fail(p->pStmt, &why, pErr);
      }
    }
    rc = dbx_stmt_chunk(p->pStmt, &chunk, pErr);
    if (rc != SQLITE_ROW) return rc;
    if (strcmp(chunk.zFormat, "JSON_ARRAY") != 0) {
      DbxError why;
      dbx_error_clear(&why);
      dbx_error_set(&why, SQLITE_ERROR,
                    "result chunk %lld is %s, a format this reader cannot "
                    "read",
                    (long long)chunk.iChunk, chunk.zFormat);
      return dbx_stmt_fail(p->pStmt, &why, pErr);
    }
    dbx_result_reader_feed(p->pReader, chunk.z, chunk.n);
    p->iChunk = chunk.iChunk;
    p->bChunk = 1;
  }
}

int dbx_rows_cell(DbxRows *p, int iCol, DbxCell *pCell, DbxError *pErr) {
  if (!p->bRow || iCol < 0 || iCol >= dbx_stmt_column_count(p->pStmt)) {
    memset(pCell, 0, sizeof(*pCell));
    pCell->eType = DBX_CELL_NULL;
    return dbx_error_set(pErr, SQLITE_RANGE, "no such result column %d", iCol);
  }
  return dbx_result_reader_cell(p->pReader, iCol, pCell, pErr);
}

int dbx_rows_column_count(const DbxRows *p) {
  return dbx_stmt_column_count(p->pStmt);
}

const DbxColumn *dbx_rows_column(const DbxRows *p, int iCol) {
  return iCol >= 0 && iCol < dbx_rows_column_count(p)
             ? dbx_result_reader_column(p->pReader, iCol)
             : NULL;
}

DbxStmt *dbx_rows_stmt(const DbxRows *p) {
  return p->pStmt;
}

void dbx_rows_free(DbxRows *p) {
  if (p == NULL) return;
  dbx_stmt_free(p->pStmt);
  dbx_result_reader_free(p->pReader);
  sqlite3_free(p);
}
