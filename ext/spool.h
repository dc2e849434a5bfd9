/*
** spool.h: the rows of an open write transaction, converted and kept on
** disk until the commit (spool.c, engine layer).
**
** INSERT into a `databricks` table converts each row for the remote column
** types at once (parquet.h's conversions, so a bad value fails the
** statement that wrote it) and appends the converted cells to a spool: an
** unlinked temporary file behind a small buffer, so memory stays bounded
** whatever the row count and nothing is left behind by a crash. SQLite's
** savepoints map onto byte offsets of that file: a savepoint marks the
** offset, ROLLBACK TO cuts the file back to it, which is why rows go
** through a spool rather than straight into the Parquet writer, whose
** files cannot take rows back. At the commit the spool is replayed into
** the writer (dbx_spool_write), which also gives the digest of the rows:
** the content part of a staged file's name.
**
**   dbx_spool_open(aCol, nCol, iFill, &p, &err);
**   dbx_spool_append(p, aVal, &err);          (per row)
**   dbx_spool_savepoint(p, 2, &err); ... dbx_spool_rollback_to(p, 2, &err);
**   dbx_spool_write(p, pWriter, iNowUs, zDigest, &err);
**   dbx_spool_free(p);
**
** A keyed spool (dbx_spool_open_keyed) serves a merge: it keeps one
** operation per key, an upsert or a delete, in a private SQLite database
** of its own on disk (bounded memory again), whose savepoints follow
** SQLite's. Per key, a delete replaces what came before it, an upsert
** after a delete replaces the delete, and of two upserts the one with
** the greater version columns stays (compared in order, NULL lowest; on a
** tie the later). dbx_spool_write() then writes one row per key, in the
** order the keys were last written, with an extra last column, the
** operation ('upsert' or 'delete'; a delete carries only its key).
*/
#ifndef DBX_SPOOL_H
#define DBX_SPOOL_H

#include "parquet.h"

typedef struct DbxSpool DbxSpool;

/*
** Opens an empty spool for nCol columns aCol (copied). Column iFill (-1:
** none) is not taken from the rows: dbx_spool_write() sets it, as the
** commit time of an ingested_at column. Returns SQLITE_OK and *pp, or an
** error (the temporary file cannot be made: the message names the
** directory and how to choose another).
*/
int dbx_spool_open(const DbxPqColumn *aCol, int nCol, int iFill, DbxSpool **pp,
                   DbxError *pErr);

/*
** Opens an empty keyed spool: as dbx_spool_open, with the key columns
** aiKey (nKey >= 1) and the version columns aiVersion (nVersion >= 0,
** integers or NULL), all indexes into aCol.
*/
int dbx_spool_open_keyed(const DbxPqColumn *aCol, int nCol, int iFill,
                         const int *aiKey, int nKey, const int *aiVersion,
                         int nVersion, DbxSpool **pp, DbxError *pErr);

/*
** Keyed spool: stages the delete of the row whose key columns hold aKey
** (nKey values, in the order of aiKey). Returns SQLITE_OK or an error.
*/
int dbx_spool_delete(DbxSpool *p, const DbxPqValue *aKey, DbxError *pErr);

/*
** Converts the nCol values of one row (dbx_parquet_convert; text for a
** JSON column must also be one JSON value) and appends them. A value that
** does not fit is SQLITE_ERROR naming the column, the row (counted from 1
** in the transaction) and the value, and nothing is appended; an I/O error
** is sticky. Returns SQLITE_OK or an error in pErr.
*/
int dbx_spool_append(DbxSpool *p, const DbxPqValue *aVal, DbxError *pErr);

/* Rows in the spool now (keyed: operations kept, one per key). */
int64_t dbx_spool_rows(const DbxSpool *p);

/* SQLite's xSavepoint(iSave): the state to return to on ROLLBACK TO. */
int dbx_spool_savepoint(DbxSpool *p, int iSave, DbxError *pErr);

/* xRelease(iSave): savepoints iSave and above are gone. */
void dbx_spool_release(DbxSpool *p, int iSave);

/* xRollbackTo(iSave): the rows appended since savepoint iSave are gone;
** the savepoint stays. Returns SQLITE_OK or an I/O error in pErr. */
int dbx_spool_rollback_to(DbxSpool *p, int iSave, DbxError *pErr);

/*
** Appends every row to the writer pW (whose columns are the spool's, and
** for a keyed spool one more, the operation, a STRING), the
** fill column set to iFillUs (microseconds since 1970 UTC), and writes
** into zDigest (33 bytes) 32 hex digits of the SHA-256 of the rows as
** converted, the fill column left out: equal rows in equal order give the
** same digest whenever they are committed. The spool is left as it was.
** Returns SQLITE_OK or an error in pErr.
*/
int dbx_spool_write(DbxSpool *p, DbxParquet *pW, int64_t iFillUs, char *zDigest,
                    DbxError *pErr);

/* Closes (and so deletes) the file and frees p (NULL is fine). */
void dbx_spool_free(DbxSpool *p);

#endif /* DBX_SPOOL_H */
