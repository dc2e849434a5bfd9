/*
** files.h: the Files API client for Unity Catalog volumes (files.c).
**
** Files live at /Volumes/<catalog>/<schema>/<volume>/<path...> and travel
** through /api/2.0/fs/files{path} (PUT, GET, HEAD, DELETE) and
** /api/2.0/fs/directories{path} (PUT, GET = list, DELETE), always through
** the workspace client (client.h), so nothing here knows auth, retries or
** TLS. Bodies are streamed: a file is uploaded from disk and downloaded to
** disk without being held in memory.
**
** Every path is checked before any request (dbx_files_check_path), and
** every error names the volume and what to do: create a missing volume,
** or the GRANT a missing privilege needs. Listing replies are checked
** (types, sizes, names inside the listed directory) before use.
**
**   rc = dbx_files_upload(pClient, "/tmp/a.parquet",
**                         "/Volumes/main/stage/v/batch/a.parquet", 1,
**                         &nBytes, &err);
*/
#ifndef DBX_FILES_H
#define DBX_FILES_H

#include "client.h"
#include "dbx_int.h"

/* Kinds of path, for dbx_files_check_path(). */
#define DBX_FILES_FILE 0 /* a file: below the volume root */
#define DBX_FILES_DIR                                                          \
  1 /* a directory: the volume root or below; one                              \
    ** trailing '/' is allowed */

/* The longest volume path accepted, in bytes. */
#define DBX_FILES_MAX_PATH 4096

/*
** Checks zPath for a file (eKind DBX_FILES_FILE) or directory
** (DBX_FILES_DIR): it must be /Volumes/<catalog>/<schema>/<volume>/...,
** without empty, "." or ".." segments, and at most DBX_FILES_MAX_PATH
** bytes. Returns SQLITE_OK, or SQLITE_ERROR with a one-line message in
** pErr. Sends nothing.
*/
int dbx_files_check_path(const char *zPath, int eKind, DbxError *pErr);

/*
** Appends the request path of zPath (checked) to pOut: zEndpoint
** ("/api/2.0/fs/files" or "/api/2.0/fs/directories") followed by each
** segment of zPath percent-encoded, '/' kept, without a trailing '/'.
** Returns SQLITE_OK or an error in pErr (a refused path, out of memory).
*/
int dbx_files_request_path(const char *zEndpoint, const char *zPath, int eKind,
                           DbxBuf *pOut, DbxError *pErr);

/* What HEAD says of a file. */
typedef struct DbxFileInfo {
  int64_t nSize;       /* bytes, or -1 when the reply did not say */
  int64_t iModifiedMs; /* Last-Modified, ms since 1970 UTC, or -1 */
} DbxFileInfo;

/*
** Uploads the local file zLocal to zPath (a file path), streamed from disk
** with a known Content-Length, overwriting an existing file when
** bOverwrite (else an existing file is an error). Retried by the client
** as the SDKs do (429, 503, connection failures), the file re-read from
** its start each time. *pnBytes (may be NULL) receives the bytes sent.
** Returns SQLITE_OK or an error in pErr.
*/
int dbx_files_upload(DbxClient *pClient, const char *zLocal, const char *zPath,
                     int bOverwrite, int64_t *pnBytes, DbxError *pErr);

/* One upload of dbx_files_upload_many(). */
/*
** Uploads nData bytes from memory to zPath (a small file, such as a
** probe), as dbx_files_upload() does. Returns SQLITE_OK or an error in
** pErr.
*/
int dbx_files_put_bytes(DbxClient *pClient, const void *pData, size_t nData,
                        const char *zPath, int bOverwrite, DbxError *pErr);

typedef struct DbxFilesJob {
  const char *zLocal;  /* local file, borrowed */
  const char *zRemote; /* volume path, borrowed */
  int64_t nBytes;      /* out: bytes sent once done */
} DbxFilesJob;

/*
** Uploads nJob files, nParallel (1..64) at a time, each as
** dbx_files_upload() does. With more than one at a time each worker thread
** has its own client opened from pClient's configuration (an OAuth token
** is shared through the process-wide token cache, not fetched per worker);
** xInterrupt(pArg) (may be NULL) is polled on the calling thread only, and
** stops every upload in flight. The first failure stops the rest and is
** the one reported. *pnBytes (may be NULL) receives the bytes sent in all.
** In a single-threaded SQLite (see dbx_threads_ok) they go one at a time.
** Returns SQLITE_OK or an error in pErr.
*/
int dbx_files_upload_many(DbxClient *pClient, DbxFilesJob *aJob, int nJob,
                          int nParallel, int bOverwrite,
                          DbxInterruptFn xInterrupt, void *pArg,
                          int64_t *pnBytes, DbxError *pErr);

/*
** HEAD of file zPath: its size and last-modified time into *pInfo. Returns
** SQLITE_OK, or an error in pErr (a missing file: pErr->httpStatus 404).
*/
int dbx_files_head(DbxClient *pClient, const char *zPath, DbxFileInfo *pInfo,
                   DbxError *pErr);

/*
** Downloads file zPath, or nLength bytes from iOffset when nLength >= 0
** (a Range request; iOffset > 0 with nLength < 0 reads to the end), to
** pSink in the pieces it arrives in. More bytes than asked for, or a reply
** that ignored the range, is an error. *pnBytes (may be NULL) receives
** the bytes handed to pSink. Returns SQLITE_OK or an error in pErr.
*/
int dbx_files_download(DbxClient *pClient, const char *zPath, int64_t iOffset,
                       int64_t nLength, const DbxHttpSink *pSink,
                       int64_t *pnBytes, DbxError *pErr);

/*
** dbx_files_download() to the local file zLocal: written to a temporary
** name beside it, then renamed, so zLocal is either untouched or complete.
** Returns SQLITE_OK or an error in pErr (the temporary file is removed).
*/
int dbx_files_download_to(DbxClient *pClient, const char *zPath,
                          const char *zLocal, int64_t iOffset, int64_t nLength,
                          int64_t *pnBytes, DbxError *pErr);

/* Deletes file zPath. A missing file is an error with httpStatus 404. */
int dbx_files_delete(DbxClient *pClient, const char *zPath, DbxError *pErr);

/* Creates directory zPath and its parents (mkdir -p; existing is fine). */
int dbx_files_mkdir(DbxClient *pClient, const char *zPath, DbxError *pErr);

/*
** Deletes directory zPath: with bRecursive its files and directories first
** (the API deletes empty directories only), else it must be empty. A
** missing directory is an error with httpStatus 404.
*/
int dbx_files_rmdir(DbxClient *pClient, const char *zPath, int bRecursive,
                    DbxError *pErr);

/*
** Listing. A DbxFilesList reads the pages of one directory listing, one
** page at a time, following next_page_token until the server leaves it
** out; a token that comes back is an error, not an endless loop.
*/
typedef struct DbxFilesList DbxFilesList;

/* One entry; strings borrowed until the next dbx_files_list_next(). */
typedef struct DbxFileEntry {
  const char *zPath;   /* path as listed (a directory's without '/') */
  const char *zName;   /* name: non-empty, no '/', not "." or ".." */
  int bDirectory;      /* is_directory */
  int64_t nSize;       /* file_size, or -1 (directories, not sent) */
  int64_t iModifiedMs; /* last_modified, ms since 1970 UTC, or -1 */
} DbxFileEntry;

/*
** Starts listing directory zPath (checked now; nothing is sent yet),
** nPageSize entries a page (0: the server's choice). Returns SQLITE_OK
** and *ppOut (free with dbx_files_list_free), or an error in pErr.
*/
int dbx_files_list_open(DbxClient *pClient, const char *zPath, int nPageSize,
                        DbxFilesList **ppOut, DbxError *pErr);

/*
** Moves to the next entry, fetching a page when needed. Returns SQLITE_ROW
** with *pEntry filled, SQLITE_DONE, or an error in pErr: an entry of the
** wrong shape (wrong types, a negative or fractional size, a name outside
** the listed directory) is an error naming the directory. After an error
** or SQLITE_DONE it returns the same again.
*/
int dbx_files_list_next(DbxFilesList *p, DbxFileEntry *pEntry, DbxError *pErr);

void dbx_files_list_free(DbxFilesList *p);

/*
** Parses an HTTP date (RFC 7231 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37
** GMT") into ms since 1970 UTC. Returns -1 when it is not one.
*/
int64_t dbx_files_parse_http_date(const char *z);

#endif /* DBX_FILES_H */
