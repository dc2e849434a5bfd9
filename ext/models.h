/*
** models.h: the fixed table schemas shipped with the extension (models.c),
** part of the "formats" layer.
**
** A model is a file sql/models/<name>.sql that the build embeds: a few
** header lines "-- key: value" (description, merge_keys, version_columns,
** ingested_at) and a column list "name TYPE, ..." as dbx_sql_cols_parse
** reads it. CREATE VIRTUAL TABLE ... (model=...) and dbx_export() take a
** model's columns, and its merge keys and version columns as defaults;
** dbx_models lists them. Pure: no network; the SQLite allocator only.
*/
#ifndef DBX_MODELS_H
#define DBX_MODELS_H

#include "sqlgen.h"

/* One embedded model file (generated from sql/models/ by the build). */
typedef struct DbxModelText {
  const char *zName; /* the file name without .sql */
  const char *zText; /* the whole file */
} DbxModelText;

extern const DbxModelText dbx_model_text[]; /* in file name order */
extern const int dbx_model_text_count;

/* A model, read from its text. Every string is owned by the model. */
typedef struct DbxModel {
  const char *zName;     /* static: the model's name */
  char *zDescription;    /* one line; "" when the file gives none */
  char *zColumns;        /* "a TYPE, b TYPE, ...": usable as create='...' */
  char *zMergeKeys;      /* "k1, k2"; "" for an append-only model */
  char *zVersionColumns; /* "v1, v2"; "" when none */
  char *zIngestedAt;     /* TIMESTAMP column set to the commit time, or "" */
  DbxSqlCol *aCol;       /* nCol columns (one sqlite3_malloc block) */
  int nCol;
  char **azMergeKey; /* nMergeKey names, each a column of aCol */
  int nMergeKey;
  char **azVersion; /* nVersion names, each a BIGINT/INT column of aCol */
  int nVersion;
} DbxModel;

/* The number of models, and the name of model i (0 <= i < count), which
** is static; NULL for any other i. */
int dbx_model_count(void);
const char *dbx_model_name(int i);

/*
** Reads the model named zName (exact, lower case) into *ppModel (free it
** with dbx_model_free). Returns SQLITE_OK, or SQLITE_ERROR with pErr set
** for an unknown name (the message lists the known ones) or a model file
** that does not hold together (a merge key that is not a column, ...),
** or SQLITE_NOMEM.
*/
int dbx_model_find(const char *zName, DbxModel **ppModel, DbxError *pErr);

/*
** Reads a model from zText, the text of a model file, as dbx_model_find
** does for the embedded ones; zName (static, borrowed) names it in errors.
*/
int dbx_model_parse(const char *zName, const char *zText, DbxModel **ppModel,
                    DbxError *pErr);

/* Frees a model; NULL is a no-op. */
void dbx_model_free(DbxModel *p);

#endif /* DBX_MODELS_H */
