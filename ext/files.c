/*
** files.c: the Files API client for Unity Catalog volumes.
**
** Serves dbx_volume_put(), dbx_volume_get(), dbx_volume_rm(),
** dbx_volume_mkdir() and dbx_volume_ls() (fn_volume.c), and the staging
** of a commit, which uploads its Parquet files to a volume before COPY
** INTO. Every request goes through the workspace client; this file builds
** paths, streams bodies from and to disk, checks listing replies, and
** turns failures into messages that name the volume and what to do.
**
** Paths. A volume path is /Volumes/<catalog>/<schema>/<volume>/<rest>.
** Each segment is percent-encoded on its own and '/' kept, as the SDKs do
** (names may hold spaces, '?', '#', '%'); a path with an empty, "." or ".."
** segment, a control character, or outside a volume is refused before any
** request, so a name never resolves somewhere the caller did not write.
**
** Atomic uploads. An upload is one PUT of the whole file. The Files API
** stores the body of a PUT as the file only once the request completed:
** a PUT that fails or is cut off leaves the previous file (or none), never
** a partial one, under the name (single-part PUT of at most 5 GiB; the
** service writes the object when the body is complete, and dbx-local does
** the same with a hidden temporary file renamed at the end). So a retried
** upload sends the whole file again to the same, deterministic name with
** overwrite=true, and the file is either the old one or the new one.
** There is no rename call in the API to publish a temporary name.
*/
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "sqlgen.h"

#define FILES_API "/api/2.0/fs/files"
#define DIRS_API  "/api/2.0/fs/directories"

/* The largest single PUT the Files API takes. */
#define MAX_UPLOAD ((int64_t)5 * 1024 * 1024 * 1024)

/* Directory levels a recursive delete descends. */
#define MAX_DEPTH 64

/* ---------------------------------------------------------------------
** Paths
*/

int dbx_files_check_path(const char *zPath, int eKind, DbxError *pErr) {
  static const char zUsage[] =
      "volume paths look like /Volumes/<catalog>/<schema>/<volume>/<file>";
  size_t n, i, iSeg;
  int nSeg = 0;
  if (zPath == NULL || zPath[0] == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR, "no volume path given: %s",
                         zUsage);
  }
  n = strlen(zPath);
  if (n > DBX_FILES_MAX_PATH) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "volume path of %zu bytes is longer than the %d "
                         "accepted",
                         n, DBX_FILES_MAX_PATH);
  }
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)zPath[i];
    if (c < 0x20 || c == 0x7f) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "volume path has a control character (byte %zu): "
                           "rename it without one",
                           i + 1);
    }
  }
  if (strncmp(zPath, "/Volumes/", 9) != 0) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "path '%.200s' is not in a volume: %s", zPath, zUsage);
  }
  if (eKind == DBX_FILES_DIR && zPath[n - 1] == '/') n--;
  for (iSeg = 1; iSeg <= n; iSeg = i + 1) {
    size_t nSegLen;
    for (i = iSeg; i < n && zPath[i] != '/'; i++) {
    }
    nSegLen = i - iSeg;
    if (nSegLen == 0 || (nSegLen == 1 && zPath[iSeg] == '.') ||
        (nSegLen == 2 && zPath[iSeg] == '.' && zPath[iSeg + 1] == '.')) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "volume path '%.200s' has an empty, '.' or '..' "
                           "segment: write the path without them",
                           zPath);
    }
    nSeg++;
  }
  if (nSeg < (eKind == DBX_FILES_DIR ? 4 : 5)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "path '%.200s' names no %s inside a volume: %s", zPath,
                         eKind == DBX_FILES_DIR ? "directory" : "file", zUsage);
  }
  return SQLITE_OK;
}

int dbx_files_request_path(const char *zEndpoint, const char *zPath, int eKind,
                           DbxBuf *pOut, DbxError *pErr) {
  char *zSeg;
  size_t n, i, iSeg;
  int rc = dbx_files_check_path(zPath, eKind, pErr);
  if (rc) return rc;
  n = strlen(zPath);
  if (zPath[n - 1] == '/') n--;
  zSeg = sqlite3_malloc64(n + 1);
  if (zSeg == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  dbx_buf_appendf(pOut, "%s", zEndpoint);
  for (iSeg = 1; iSeg <= n; iSeg = i + 1) {
    for (i = iSeg; i < n && zPath[i] != '/'; i++) {
    }
    memcpy(zSeg, zPath + iSeg, i - iSeg);
    zSeg[i - iSeg] = 0;
    dbx_buf_append(pOut, "/", 1);
    dbx_buf_append_url(pOut, zSeg, 2);
  }
  sqlite3_free(zSeg);
  if (pOut->rc) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  return SQLITE_OK;
}

/*
** The request path for zPath into a new buffer *pOut (freed by the caller
** with dbx_buf_free), with zQuery (may be NULL) appended.
*/
static int request_path(const char *zEndpoint, const char *zPath, int eKind,
                        const char *zQuery, DbxBuf *pOut, DbxError *pErr) {
  int rc;
  memset(pOut, 0, sizeof(*pOut));
  rc = dbx_files_request_path(zEndpoint, zPath, eKind, pOut, pErr);
  if (rc == SQLITE_OK && zQuery) {
    dbx_buf_appendf(pOut, "%s", zQuery);
    if (pOut->rc) rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  return rc;
}

/* The three names of the volume of a checked path. */
typedef struct VolumeName {
  char azPart[3][256]; /* catalog, schema, volume (cut at 255 bytes) */
} VolumeName;

/* Fills *pV from checked path zPath. */
static void volume_name(const char *zPath, VolumeName *pV) {
  const char *z = zPath + 9; /* after "/Volumes/" */
  int k;
  for (k = 0; k < 3; k++) {
    size_t n = strcspn(z, "/");
    snprintf(pV->azPart[k], sizeof(pV->azPart[k]), "%.*s", (int)n, z);
    z += n + (z[n] == '/');
  }
}

/* Appends the backticked full name of the volume (or of its schema with
** nPart 2) to pBuf. */
static void volume_sql_name(DbxBuf *pBuf, const VolumeName *pV, int nPart) {
  int k;
  for (k = 0; k < nPart; k++) {
    if (k) dbx_buf_append(pBuf, ".", 1);
    dbx_sql_ident(pBuf, pV->azPart[k]);
  }
}

/* ---------------------------------------------------------------------
** Errors
*/

/* What an operation needs of a volume. */
typedef enum Access { ACCESS_READ, ACCESS_WRITE } Access;

/*
** Turns the failure e of an operation on zPath (zWhat: "upload of",
** "download of", ...) into *pErr, naming the volume and what to do. A 404
** is told apart by a HEAD of the volume root: a missing volume says how to
** create it; a missing file or directory says so. A refused privilege
** names the GRANT to run. Other failures keep the client's message.
** Returns the error code.
*/
static int files_error(DbxClient *pClient, const char *zWhat, const char *zPath,
                       Access eAccess, const DbxError *e, DbxError *pErr) {
  VolumeName v;
  DbxBuf name = {0}, schema = {0};
  int rc = e->rc ? e->rc : SQLITE_ERROR;
  volume_name(zPath, &v);
  volume_sql_name(&name, &v, 3);
  volume_sql_name(&schema, &v, 2);
  if (name.rc || schema.rc) {
    rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  } else if (e->httpStatus == 404) {
    DbxBuf root = {0}, probe = {0};
    DbxError eProbe;
    long status = 0;
    int bVolume = 0;
    dbx_error_clear(&eProbe);
    dbx_buf_appendf(&root, "/Volumes/%s/%s/%s", v.azPart[0], v.azPart[1],
                    v.azPart[2]);
    if (root.rc == SQLITE_OK &&
        request_path(DIRS_API, root.z, DBX_FILES_DIR, NULL, &probe, &eProbe) ==
            SQLITE_OK) {
      bVolume = dbx_client_call_stream(pClient, "HEAD", probe.z, NULL, 0, NULL,
                                       NULL, &status, &eProbe) == SQLITE_OK ||
                eProbe.httpStatus != 404;
    }
    dbx_buf_free(&root);
    dbx_buf_free(&probe);
    if (!bVolume) {
      dbx_error_set_api(pErr, SQLITE_ERROR, 404, e->zCode,
                        "%s %.200s: volume %s does not exist: create it with "
                        "CREATE VOLUME IF NOT EXISTS %s (needs CREATE VOLUME "
                        "on schema %s), or check the path",
                        zWhat, zPath, name.z, name.z, schema.z);
    } else {
      dbx_error_set_api(pErr, SQLITE_ERROR, 404, e->zCode,
                        "%s %.200s: no such file or directory in volume %s",
                        zWhat, zPath, name.z);
    }
  } else if (e->httpStatus == 403 && strstr(e->zMsg, "(auth ") == NULL) {
    const char *zPriv =
        eAccess == ACCESS_WRITE ? "WRITE VOLUME" : "READ VOLUME";
    dbx_error_set_api(pErr, SQLITE_AUTH, 403, e->zCode,
                      "%s %.200s: no permission on volume %s (%s): an owner "
                      "or admin can run GRANT %s ON VOLUME %s TO "
                      "<principal>, with USE CATALOG on %s and USE SCHEMA on "
                      "%s",
                      zWhat, zPath, name.z, e->zCode[0] ? e->zCode : "HTTP 403",
                      zPriv, name.z, v.azPart[0], schema.z);
  } else if (e->httpStatus == 409 && eAccess == ACCESS_WRITE &&
             strstr(zWhat, "upload")) {
    dbx_error_set_api(pErr, SQLITE_CONSTRAINT, 409, e->zCode,
                      "%s %.200s: the file exists in volume %s (or a "
                      "directory has its name): pass overwrite true to "
                      "replace a file",
                      zWhat, zPath, name.z);
  } else if (e->httpStatus == 416) {
    dbx_error_set_api(pErr, SQLITE_ERROR, 416, e->zCode,
                      "%s %.200s: HTTP 416: the range starts at or past the "
                      "end of the file: ask for an offset below its size",
                      zWhat, zPath);
  } else if (e->httpStatus == 409 && strstr(zWhat, "directory")) {
    dbx_error_set_api(pErr, SQLITE_ERROR, 409, e->zCode,
                      "%s %.200s: the directory is not empty: pass "
                      "{\"recursive\": true} to delete what it holds too",
                      zWhat, zPath);
  } else if (pErr && pErr->rc == SQLITE_OK) {
    *pErr = *e;
  }
  dbx_buf_free(&name);
  dbx_buf_free(&schema);
  return pErr && pErr->rc ? pErr->rc : rc;
}

/*
** One Files API call on zPath: the request path is built and checked, the
** call made through the client, a failure mapped by files_error().
*/
static int files_call(DbxClient *pClient, const char *zMethod,
                      const char *zEndpoint, const char *zPath, int eKind,
                      const char *zQuery, const char *const *azHeader,
                      int nHeader, const DbxHttpBody *pBody,
                      const DbxHttpSink *pSink, DbxHttpMeta *pMeta,
                      long *pStatus, const char *zWhat, Access eAccess,
                      DbxError *pErr) {
  DbxBuf path;
  DbxError e;
  long status = 0;
  int rc = request_path(zEndpoint, zPath, eKind, zQuery, &path, pErr);
  if (rc == SQLITE_OK) {
    dbx_error_clear(&e);
    rc = dbx_client_call_file(pClient, zMethod, path.z, azHeader, nHeader,
                              pBody, pSink, pMeta, &status, &e);
    if (rc) rc = files_error(pClient, zWhat, zPath, eAccess, &e, pErr);
  }
  dbx_buf_free(&path);
  if (pStatus) *pStatus = status;
  return rc;
}

/* ---------------------------------------------------------------------
** Uploads
*/

/* A local file read as a request body. */
typedef struct FileBody {
  int fd;         /* open for reading */
  int64_t nTotal; /* bytes announced */
  int64_t nSent;  /* bytes read since the last rewind */
} FileBody;

/* DbxHttpBody.xRead: the next bytes, never past the size announced. */
static int file_body_read(void *pArg, void *pBuf, size_t nBuf, size_t *pnRead) {
  FileBody *p = (FileBody *)pArg;
  int64_t nLeft = p->nTotal - p->nSent;
  ssize_t n;
  *pnRead = 0;
  if (nLeft <= 0) return SQLITE_OK;
  if ((int64_t)nBuf > nLeft) nBuf = (size_t)nLeft;
  do {
    n = read(p->fd, pBuf, nBuf);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return SQLITE_IOERR_READ;
  p->nSent += n;
  *pnRead = (size_t)n; /* 0 before nTotal: the file shrank, the call fails */
  return SQLITE_OK;
}

/* DbxHttpBody.xRewind: back to the first byte for another attempt. */
static int file_body_rewind(void *pArg) {
  FileBody *p = (FileBody *)pArg;
  if (lseek(p->fd, 0, SEEK_SET) != 0) return SQLITE_IOERR_SEEK;
  p->nSent = 0;
  return SQLITE_OK;
}

int dbx_files_upload(DbxClient *pClient, const char *zLocal, const char *zPath,
                     int bOverwrite, int64_t *pnBytes, DbxError *pErr) {
  static const char *const azHdr[] = {"Content-Type: application/octet-stream"};
  FileBody fb;
  DbxHttpBody body;
  struct stat st;
  int rc;
  if (pnBytes) *pnBytes = 0;
  rc = dbx_files_check_path(zPath, DBX_FILES_FILE, pErr);
  if (rc) return rc;
  memset(&fb, 0, sizeof(fb));
  fb.fd = open(zLocal, O_RDONLY | O_CLOEXEC);
  if (fb.fd < 0) {
    return dbx_error_set(pErr, SQLITE_CANTOPEN, "cannot open %.200s: %s",
                         zLocal, strerror(errno));
  }
  if (fstat(fb.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fb.fd);
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "%.200s is not a regular file: give a file, or a "
                         "directory to upload its files",
                         zLocal);
  }
  if ((int64_t)st.st_size > MAX_UPLOAD) {
    close(fb.fd);
    return dbx_error_set(pErr, SQLITE_TOOBIG,
                         "%.200s has %lld bytes, more than the 5 GiB one "
                         "upload takes: split it",
                         zLocal, (long long)st.st_size);
  }
  fb.nTotal = (int64_t)st.st_size;
  memset(&body, 0, sizeof(body));
  body.xRead = file_body_read;
  body.xRewind = file_body_rewind;
  body.nLength = fb.nTotal;
  body.pArg = &fb;
  rc = files_call(pClient, "PUT", FILES_API, zPath, DBX_FILES_FILE,
                  bOverwrite ? "?overwrite=true" : "?overwrite=false", azHdr, 1,
                  &body, NULL, NULL, NULL, "upload to", ACCESS_WRITE, pErr);
  close(fb.fd);
  if (rc == SQLITE_OK && pnBytes) *pnBytes = fb.nTotal;
  return rc;
}

/* Bytes in memory read as a request body. */
typedef struct MemBody {
  const unsigned char *a; /* the bytes, borrowed */
  size_t n;               /* how many */
  size_t iPos;            /* bytes read since the last rewind */
} MemBody;

/* DbxHttpBody.xRead of a MemBody. */
static int mem_body_read(void *pArg, void *pBuf, size_t nBuf, size_t *pnRead) {
  MemBody *p = (MemBody *)pArg;
  size_t n = p->n - p->iPos;
  if (n > nBuf) n = nBuf;
  memcpy(pBuf, p->a + p->iPos, n);
  p->iPos += n;
  *pnRead = n;
  return SQLITE_OK;
}

/* DbxHttpBody.xRewind of a MemBody. */
static int mem_body_rewind(void *pArg) {
  ((MemBody *)pArg)->iPos = 0;
  return SQLITE_OK;
}

int dbx_files_put_bytes(DbxClient *pClient, const void *pData, size_t nData,
                        const char *zPath, int bOverwrite, DbxError *pErr) {
  static const char *const azHdr[] = {"Content-Type: application/octet-stream"};
  MemBody mb;
  DbxHttpBody body;
  int rc = dbx_files_check_path(zPath, DBX_FILES_FILE, pErr);
  if (rc) return rc;
  mb.a = pData;
  mb.n = nData;
  mb.iPos = 0;
  memset(&body, 0, sizeof(body));
  body.xRead = mem_body_read;
  body.xRewind = mem_body_rewind;
  body.nLength = (int64_t)nData;
  body.pArg = &mb;
  return files_call(pClient, "PUT", FILES_API, zPath, DBX_FILES_FILE,
                    bOverwrite ? "?overwrite=true" : "?overwrite=false", azHdr,
                    1, &body, NULL, NULL, NULL, "upload to", ACCESS_WRITE,
                    pErr);
}

/* What the workers of dbx_files_upload_many() share. */
typedef struct UploadPool {
  pthread_mutex_t mu;       /* guards everything below but bStop */
  pthread_cond_t cond;      /* signalled when a worker ends */
  const DbxConfig *pConfig; /* the caller's client's, borrowed */
  DbxFilesJob *aJob;        /* the uploads, borrowed */
  int nJob;                 /* entries in aJob */
  int iNext;                /* next job to take */
  int nRunning;             /* workers not yet ended */
  int bOverwrite;           /* overwrite=true */
  int bStop;                /* stop: an error or an interrupt (atomic) */
  DbxError err;             /* the first error */
} UploadPool;

/* The interrupt callback of a worker's client. */
static int pool_stopped(void *pArg) {
  return __atomic_load_n(&((UploadPool *)pArg)->bStop, __ATOMIC_RELAXED);
}

/* Records the first error and tells everyone to stop (mu not held). */
static void pool_fail(UploadPool *p, const DbxError *e) {
  pthread_mutex_lock(&p->mu);
  if (p->err.rc == SQLITE_OK) p->err = *e;
  __atomic_store_n(&p->bStop, 1, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&p->mu);
}

/* A worker: its own client, jobs taken one by one until none is left. */
static void *pool_worker(void *pArg) {
  UploadPool *p = (UploadPool *)pArg;
  DbxClient *pClient = NULL;
  DbxError e;
  dbx_error_clear(&e);
  if (dbx_client_open(p->pConfig, &pClient, &e) != SQLITE_OK) {
    pool_fail(p, &e);
  } else {
    dbx_client_set_interrupt(pClient, pool_stopped, p);
  }
  while (pClient && !pool_stopped(p)) {
    int i;
    pthread_mutex_lock(&p->mu);
    i = p->iNext < p->nJob ? p->iNext++ : -1;
    pthread_mutex_unlock(&p->mu);
    if (i < 0) break;
    if (dbx_files_upload(pClient, p->aJob[i].zLocal, p->aJob[i].zRemote,
                         p->bOverwrite, &p->aJob[i].nBytes, &e) != SQLITE_OK) {
      pool_fail(p, &e);
    }
  }
  dbx_client_free(pClient);
  pthread_mutex_lock(&p->mu);
  p->nRunning--;
  pthread_cond_signal(&p->cond);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

int dbx_files_upload_many(DbxClient *pClient, DbxFilesJob *aJob, int nJob,
                          int nParallel, int bOverwrite,
                          DbxInterruptFn xInterrupt, void *pArg,
                          int64_t *pnBytes, DbxError *pErr) {
  UploadPool pool;
  pthread_t aTid[64];
  int i, nThread = 0, rc = SQLITE_OK;
  if (pnBytes) *pnBytes = 0;
  if (nParallel < 1 || nParallel > 64) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "parallel must be from 1 to 64 (got %d)", nParallel);
  }
  for (i = 0; i < nJob; i++) {
    rc = dbx_files_check_path(aJob[i].zRemote, DBX_FILES_FILE, pErr);
    if (rc) return rc;
    aJob[i].nBytes = 0;
  }
  if (nParallel > nJob) nParallel = nJob;
  if (!dbx_threads_ok()) nParallel = 1; /* a single-threaded SQLite */
  if (nParallel <= 1) {
    /* one at a time on the caller's client and its interrupt callback */
    for (i = 0; i < nJob && rc == SQLITE_OK; i++) {
      rc = dbx_files_upload(pClient, aJob[i].zLocal, aJob[i].zRemote,
                            bOverwrite, &aJob[i].nBytes, pErr);
      if (rc == SQLITE_OK && pnBytes) *pnBytes += aJob[i].nBytes;
    }
    return rc;
  }
  memset(&pool, 0, sizeof(pool));
  pthread_mutex_init(&pool.mu, NULL);
  pthread_cond_init(&pool.cond, NULL);
  pool.pConfig = dbx_client_config(pClient);
  pool.aJob = aJob;
  pool.nJob = nJob;
  pool.bOverwrite = bOverwrite;
  pthread_mutex_lock(&pool.mu);
  for (i = 0; i < nParallel; i++) {
    if (pthread_create(&aTid[nThread], NULL, pool_worker, &pool) != 0) break;
    nThread++;
    pool.nRunning++;
  }
  if (nThread == 0) {
    dbx_error_set(&pool.err, SQLITE_ERROR, "cannot start an upload thread");
    pool.bStop = 1;
  }
  /* wait, polling the interrupt on this (the connection's) thread */
  while (pool.nRunning > 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&pool.cond, &pool.mu, &ts);
    if (xInterrupt && !pool_stopped(&pool) && xInterrupt(pArg)) {
      if (pool.err.rc == SQLITE_OK) {
        dbx_error_set(&pool.err, SQLITE_INTERRUPT, "uploads interrupted");
      }
      __atomic_store_n(&pool.bStop, 1, __ATOMIC_RELAXED);
    }
  }
  pthread_mutex_unlock(&pool.mu);
  for (i = 0; i < nThread; i++)
    pthread_join(aTid[i], NULL);
  pthread_cond_destroy(&pool.cond);
  pthread_mutex_destroy(&pool.mu);
  if (pool.err.rc) {
    if (pErr && pErr->rc == SQLITE_OK) *pErr = pool.err;
    return pool.err.rc;
  }
  for (i = 0; i < nJob && pnBytes; i++)
    *pnBytes += aJob[i].nBytes;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** HEAD, downloads, deletes, directories
*/

int64_t dbx_files_parse_http_date(const char *z) {
  static const char azMon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char zWday[4], zMon[4], zZone[4];
  struct tm tm;
  const char *pMon;
  int n = 0;
  time_t t;
  memset(&tm, 0, sizeof(tm));
  if (z == NULL ||
      sscanf(z, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", zWday,
             &tm.tm_mday, zMon, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
             &tm.tm_sec, zZone, &n) != 8 ||
      z[n] != 0 || strcmp(zZone, "GMT") != 0 ||
      (pMon = strstr(azMon, zMon)) == NULL || (pMon - azMon) % 3 != 0 ||
      tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return -1;
  }
  tm.tm_mon = (int)(pMon - azMon) / 3;
  tm.tm_year -= 1900;
  t = timegm(&tm);
  return t < 0 ? -1 : (int64_t)t * 1000;
}

/* A Content-Length value: decimal digits only. Returns -1 otherwise. */
static int64_t parse_length(const char *z) {
  int64_t n = 0;
  if (z == NULL || z[0] == 0) return -1;
  for (; *z; z++) {
    if (*z < '0' || *z > '9' || n > (INT64_MAX - 9) / 10) return -1;
    n = n * 10 + (*z - '0');
  }
  return n;
}

int dbx_files_head(DbxClient *pClient, const char *zPath, DbxFileInfo *pInfo,
                   DbxError *pErr) {
  DbxHttpMeta meta;
  int rc;
  pInfo->nSize = pInfo->iModifiedMs = -1;
  rc = files_call(pClient, "HEAD", FILES_API, zPath, DBX_FILES_FILE, NULL, NULL,
                  0, NULL, NULL, &meta, NULL, "metadata of", ACCESS_READ, pErr);
  if (rc == SQLITE_OK) {
    pInfo->nSize = parse_length(meta.zLength);
    pInfo->iModifiedMs = dbx_files_parse_http_date(meta.zModified);
  }
  return rc;
}

/* The sink of a download: counts, caps, forwards. */
typedef struct CountSink {
  const DbxHttpSink *pNext; /* the caller's sink */
  int64_t nMax;             /* most bytes accepted, or -1 */
  int64_t nSeen;            /* bytes handed on */
  int bOver;                /* more than nMax arrived */
} CountSink;

static int count_sink_write(void *pArg, const void *pData, size_t nData) {
  CountSink *p = (CountSink *)pArg;
  if (p->nMax >= 0 && (int64_t)nData > p->nMax - p->nSeen) {
    p->bOver = 1;
    return SQLITE_ERROR;
  }
  p->nSeen += (int64_t)nData;
  return p->pNext->xWrite(p->pNext->pArg, pData, nData);
}

int dbx_files_download(DbxClient *pClient, const char *zPath, int64_t iOffset,
                       int64_t nLength, const DbxHttpSink *pSink,
                       int64_t *pnBytes, DbxError *pErr) {
  char zRange[80];
  const char *azHdr[2];
  int nHdr = 0, rc;
  long status = 0;
  CountSink cs;
  DbxHttpSink sink;
  if (pnBytes) *pnBytes = 0;
  if (iOffset < 0 || (nLength >= 0 && nLength > INT64_MAX - iOffset)) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "offset and length must be whole numbers from 0, "
                         "their sum within 2^63 (got %lld and %lld)",
                         (long long)iOffset, (long long)nLength);
  }
  if (nLength == 0) {
    DbxFileInfo info; /* nothing to read: the file must still exist */
    return dbx_files_head(pClient, zPath, &info, pErr);
  }
  azHdr[nHdr++] = "Accept: application/octet-stream";
  if (iOffset > 0 || nLength > 0) {
    if (nLength > 0) {
      snprintf(zRange, sizeof(zRange), "Range: bytes=%lld-%lld",
               (long long)iOffset, (long long)(iOffset + nLength - 1));
    } else {
      snprintf(zRange, sizeof(zRange), "Range: bytes=%lld-",
               (long long)iOffset);
    }
    azHdr[nHdr++] = zRange;
  }
  memset(&cs, 0, sizeof(cs));
  cs.pNext = pSink;
  cs.nMax = nLength;
  sink.xWrite = count_sink_write;
  sink.pArg = &cs;
  rc = files_call(pClient, "GET", FILES_API, zPath, DBX_FILES_FILE, NULL, azHdr,
                  nHdr, NULL, &sink, NULL, &status, "download of", ACCESS_READ,
                  pErr);
  if (cs.bOver) {
    dbx_error_clear(pErr);
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "download of %.200s: the server sent more than the "
                       "%lld bytes asked for (range ignored?)",
                       zPath, (long long)nLength);
  } else if (rc == SQLITE_OK && iOffset > 0 && status != 206) {
    rc = dbx_error_set(pErr, SQLITE_ERROR,
                       "download of %.200s: HTTP %ld instead of 206 for a "
                       "range from byte %lld: the server ignored the range",
                       zPath, status, (long long)iOffset);
  }
  if (pnBytes) *pnBytes = cs.nSeen;
  return rc;
}

/* The sink of dbx_files_download_to(): a file descriptor. */
static int fd_sink_write(void *pArg, const void *pData, size_t nData) {
  int fd = *(int *)pArg;
  const char *z = (const char *)pData;
  while (nData > 0) {
    ssize_t n = write(fd, z, nData);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return SQLITE_IOERR_WRITE;
    z += n;
    nData -= (size_t)n;
  }
  return SQLITE_OK;
}

int dbx_files_download_to(DbxClient *pClient, const char *zPath,
                          const char *zLocal, int64_t iOffset, int64_t nLength,
                          int64_t *pnBytes, DbxError *pErr) {
  char *zTmp;
  int fd, rc;
  DbxHttpSink sink;
  if (pnBytes) *pnBytes = 0;
  rc = dbx_files_check_path(zPath, DBX_FILES_FILE, pErr);
  if (rc) return rc;
  if (zLocal == NULL || zLocal[0] == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR, "no local file name given");
  }
  zTmp = sqlite3_mprintf("%s.dbx-XXXXXX", zLocal);
  if (zTmp == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  fd = mkostemp(zTmp, O_CLOEXEC);
  if (fd < 0) {
    rc = dbx_error_set(pErr, SQLITE_CANTOPEN,
                       "cannot write beside %.200s: %s (check that its "
                       "directory exists and is writable)",
                       zLocal, strerror(errno));
    sqlite3_free(zTmp);
    return rc;
  }
  sink.xWrite = fd_sink_write;
  sink.pArg = &fd;
  rc = dbx_files_download(pClient, zPath, iOffset, nLength, &sink, pnBytes,
                          pErr);
  if (rc == SQLITE_IOERR_WRITE) {
    dbx_error_clear(pErr);
    rc = dbx_error_set(pErr, SQLITE_IOERR_WRITE,
                       "cannot write %.200s: %s (disk full?)", zLocal,
                       strerror(errno));
  }
  if (rc == SQLITE_OK) {
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || fsync(fd) != 0) {
      rc = dbx_error_set(pErr, SQLITE_IOERR, "cannot write %.200s: %s", zLocal,
                         strerror(errno));
    }
  }
  if (close(fd) != 0 && rc == SQLITE_OK) {
    rc = dbx_error_set(pErr, SQLITE_IOERR, "cannot write %.200s: %s", zLocal,
                       strerror(errno));
  }
  if (rc == SQLITE_OK && rename(zTmp, zLocal) != 0) {
    rc = dbx_error_set(pErr, SQLITE_IOERR, "cannot rename to %.200s: %s",
                       zLocal, strerror(errno));
  }
  if (rc) unlink(zTmp);
  sqlite3_free(zTmp);
  return rc;
}

int dbx_files_delete(DbxClient *pClient, const char *zPath, DbxError *pErr) {
  return files_call(pClient, "DELETE", FILES_API, zPath, DBX_FILES_FILE, NULL,
                    NULL, 0, NULL, NULL, NULL, NULL, "delete of", ACCESS_WRITE,
                    pErr);
}

int dbx_files_mkdir(DbxClient *pClient, const char *zPath, DbxError *pErr) {
  return files_call(pClient, "PUT", DIRS_API, zPath, DBX_FILES_DIR, NULL, NULL,
                    0, NULL, NULL, NULL, NULL, "mkdir of", ACCESS_WRITE, pErr);
}

/* ---------------------------------------------------------------------
** Listing
*/

struct DbxFilesList {
  DbxClient *pClient; /* borrowed */
  char *zDir;         /* owned; the directory, without a trailing '/' */
  char *zBase;        /* owned; its request path */
  int nPageSize;      /* page_size to send, or 0 */
  cJSON *pPage;       /* owned; the current page */
  const cJSON *pNext; /* next entry of pPage, or NULL */
  char *zToken;       /* owned; next_page_token to send, or NULL */
  int bStarted;       /* the first page was asked for */
  DbxTokenSet seen;   /* owned; the tokens sent */
  DbxError done;      /* sticky: what ended the walk */
  int bDone;          /* the walk is over */
};

int dbx_files_list_open(DbxClient *pClient, const char *zPath, int nPageSize,
                        DbxFilesList **ppOut, DbxError *pErr) {
  DbxFilesList *p;
  DbxBuf base;
  size_t n;
  int rc;
  *ppOut = NULL;
  rc = request_path(DIRS_API, zPath, DBX_FILES_DIR, NULL, &base, pErr);
  if (rc) {
    dbx_buf_free(&base);
    return rc;
  }
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) {
    dbx_buf_free(&base);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memset(p, 0, sizeof(*p));
  p->pClient = pClient;
  p->zBase = dbx_buf_take(&base);
  p->zDir = dbx_strdup(zPath);
  p->nPageSize = nPageSize > 0 ? nPageSize : 0;
  if (p->zBase == NULL || p->zDir == NULL) {
    dbx_files_list_free(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  n = strlen(p->zDir);
  if (p->zDir[n - 1] == '/') p->zDir[n - 1] = 0;
  *ppOut = p;
  return SQLITE_OK;
}

void dbx_files_list_free(DbxFilesList *p) {
  if (p == NULL) return;
  cJSON_Delete(p->pPage);
  sqlite3_free(p->zDir);
  sqlite3_free(p->zBase);
  sqlite3_free(p->zToken);
  dbx_token_set_free(&p->seen);
  sqlite3_free(p);
}

/* Ends the walk with an error about the reply (a one-liner naming the
** directory). Returns the code. */
static int list_bad(DbxFilesList *p, const char *zWhy, DbxError *pErr) {
  dbx_error_set(&p->done, SQLITE_ERROR,
                "listing of %.200s: the server sent %s: refused", p->zDir,
                zWhy);
  p->bDone = 1;
  if (pErr && pErr->rc == SQLITE_OK) *pErr = p->done;
  return p->done.rc;
}

/* Asks for the next page into p->pPage. Returns SQLITE_OK or an error. */
static int list_fetch(DbxFilesList *p, DbxError *pErr) {
  DbxBuf path = {0}, raw = {0};
  DbxError e;
  cJSON *pBody = NULL;
  const cJSON *pContents, *pToken;
  int rc;
  const char *zSep = "?";
  dbx_buf_appendf(&path, "%s", p->zBase);
  if (p->nPageSize > 0) {
    dbx_buf_appendf(&path, "?page_size=%d", p->nPageSize);
    zSep = "&";
  }
  if (p->zToken) {
    dbx_buf_appendf(&path, "%spage_token=", zSep);
    dbx_buf_append_url(&path, p->zToken, 0);
  }
  if (path.rc) {
    dbx_buf_free(&path);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  dbx_error_clear(&e);
  dbx_client_keep_body(p->pClient, &raw);
  rc = dbx_client_call(p->pClient, "GET", path.z, NULL, &pBody, &e);
  dbx_client_keep_body(p->pClient, NULL);
  dbx_buf_free(&path);
  if (rc) {
    char zPath[DBX_FILES_MAX_PATH + 2];
    dbx_buf_free(&raw);
    snprintf(zPath, sizeof(zPath), "%s/", p->zDir);
    files_error(p->pClient, "listing of", zPath, ACCESS_READ, &e, &p->done);
    p->bDone = 1;
    if (pErr && pErr->rc == SQLITE_OK) *pErr = p->done;
    return p->done.rc;
  }
  /* cJSON ends a string at an escaped NUL, which would hide the rest of
  ** a name: refuse the page instead */
  if (raw.z && memmem(raw.z, raw.n, "\\u0000", 6)) {
    dbx_buf_free(&raw);
    cJSON_Delete(pBody);
    return list_bad(p, "a NUL character in a page", pErr);
  }
  dbx_buf_free(&raw);
  cJSON_Delete(p->pPage);
  p->pPage = pBody;
  p->pNext = NULL;
  sqlite3_free(p->zToken);
  p->zToken = NULL;
  if (!cJSON_IsObject(pBody))
    return list_bad(p, "a page that is not an object", pErr);
  pContents = cJSON_GetObjectItemCaseSensitive(pBody, "contents");
  if (pContents && !cJSON_IsArray(pContents) && !cJSON_IsNull(pContents)) {
    return list_bad(p, "contents that is not an array", pErr);
  }
  p->pNext = cJSON_IsArray(pContents) ? pContents->child : NULL;
  pToken = cJSON_GetObjectItemCaseSensitive(pBody, "next_page_token");
  if (pToken && !cJSON_IsNull(pToken) && !cJSON_IsString(pToken)) {
    return list_bad(p, "a next_page_token that is not a string", pErr);
  }
  if (cJSON_IsString(pToken) && pToken->valuestring[0]) {
    int rcSeen = dbx_token_set_add(&p->seen, pToken->valuestring);
    if (rcSeen == SQLITE_CONSTRAINT) {
      return list_bad(p, "a page token it had sent before (a loop)", pErr);
    }
    p->zToken = dbx_strdup(pToken->valuestring);
    if (rcSeen || p->zToken == NULL) {
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  return SQLITE_OK;
}

/* A JSON number (not a numeric string) that is whole, 0..2^53, into *pn. */
static int json_whole(const cJSON *pItem, int64_t *pn) {
  return cJSON_IsNumber(pItem) &&
         dbx_json_int(pItem, 0, (int64_t)1 << 53, pn) == SQLITE_OK;
}

/* Checks one listed entry and fills *pEntry from it. Returns SQLITE_OK or
** an error (list_bad). */
static int list_entry(DbxFilesList *p, cJSON *pItem, DbxFileEntry *pEntry,
                      DbxError *pErr) {
  cJSON *pPath = cJSON_GetObjectItemCaseSensitive(pItem, "path");
  const cJSON *pName = cJSON_GetObjectItemCaseSensitive(pItem, "name");
  const cJSON *pDir = cJSON_GetObjectItemCaseSensitive(pItem, "is_directory");
  const cJSON *pSize = cJSON_GetObjectItemCaseSensitive(pItem, "file_size");
  const cJSON *pTime = cJSON_GetObjectItemCaseSensitive(pItem, "last_modified");
  const char *zName;
  size_t nDir = strlen(p->zDir), nPath;
  memset(pEntry, 0, sizeof(*pEntry));
  pEntry->nSize = pEntry->iModifiedMs = -1;
  if (!cJSON_IsObject(pItem))
    return list_bad(p, "an entry that is not an object", pErr);
  if (!cJSON_IsString(pName) || !cJSON_IsString(pPath)) {
    return list_bad(p, "an entry without a path and a name", pErr);
  }
  zName = pName->valuestring;
  if (zName[0] == 0 || strchr(zName, '/') || strcmp(zName, ".") == 0 ||
      strcmp(zName, "..") == 0) {
    return list_bad(p, "an entry whose name is empty, '.', '..' or has a '/'",
                    pErr);
  }
  if (pDir && !cJSON_IsBool(pDir)) {
    return list_bad(p, "an is_directory that is not a boolean", pErr);
  }
  pEntry->bDirectory = cJSON_IsTrue(pDir);
  /* the path must be the listed directory, '/', the name (and a '/' for a
  ** directory, as some replies write them) */
  nPath = strlen(pPath->valuestring);
  if (pEntry->bDirectory && nPath > 0 && pPath->valuestring[nPath - 1] == '/') {
    pPath->valuestring[--nPath] = 0;
  }
  if (nPath != nDir + 1 + strlen(zName) ||
      strncmp(pPath->valuestring, p->zDir, nDir) != 0 ||
      pPath->valuestring[nDir] != '/' ||
      strcmp(pPath->valuestring + nDir + 1, zName) != 0) {
    return list_bad(p, "an entry outside the listed directory", pErr);
  }
  if (pSize && !cJSON_IsNull(pSize) && !json_whole(pSize, &pEntry->nSize)) {
    return list_bad(p, "a file_size that is not a whole number from 0", pErr);
  }
  if (pEntry->bDirectory) pEntry->nSize = -1;
  if (pTime && !cJSON_IsNull(pTime) &&
      !json_whole(pTime, &pEntry->iModifiedMs)) {
    return list_bad(p, "a last_modified that is not a time in ms", pErr);
  }
  pEntry->zPath = pPath->valuestring;
  pEntry->zName = zName;
  return SQLITE_OK;
}

int dbx_files_list_next(DbxFilesList *p, DbxFileEntry *pEntry, DbxError *pErr) {
  int rc;
  for (;;) {
    if (p->bDone) {
      if (p->done.rc && pErr && pErr->rc == SQLITE_OK) *pErr = p->done;
      return p->done.rc ? p->done.rc : SQLITE_DONE;
    }
    if (p->pNext) {
      cJSON *pItem = (cJSON *)p->pNext;
      p->pNext = pItem->next;
      rc = list_entry(p, pItem, pEntry, pErr);
      return rc ? rc : SQLITE_ROW;
    }
    if (p->bStarted && p->zToken == NULL) {
      p->bDone = 1;
      continue;
    }
    p->bStarted = 1;
    rc = list_fetch(p, pErr);
    if (rc) {
      if (!p->bDone) {
        p->bDone = 1;
        p->done.rc = rc;
      }
      return rc;
    }
  }
}

/* One entry kept by a recursive delete. */
typedef struct Child {
  char *zPath; /* owned */
  int bDir;    /* a directory */
} Child;

/* Deletes directory zPath, its contents first when bRecursive. */
static int rmdir_depth(DbxClient *pClient, const char *zPath, int bRecursive,
                       int nDepth, DbxError *pErr) {
  int rc = SQLITE_OK;
  if (bRecursive) {
    DbxFilesList *pList = NULL;
    DbxFileEntry e;
    Child *aChild = NULL;
    int nChild = 0, i;
    if (nDepth > MAX_DEPTH) {
      return dbx_error_set(pErr, SQLITE_ERROR,
                           "%.200s is more than %d directories deep: delete "
                           "its lower levels first",
                           zPath, MAX_DEPTH);
    }
    /* collect first: deleting while paging could move the page tokens */
    rc = dbx_files_list_open(pClient, zPath, 0, &pList, pErr);
    while (rc == SQLITE_OK &&
           (rc = dbx_files_list_next(pList, &e, pErr)) == SQLITE_ROW) {
      Child *aNew =
          sqlite3_realloc64(aChild, sizeof(Child) * (size_t)(nChild + 1));
      if (aNew == NULL || (aNew[nChild].zPath = dbx_strdup(e.zPath)) == NULL) {
        if (aNew) aChild = aNew;
        rc = dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
        break;
      }
      aChild = aNew;
      aChild[nChild++].bDir = e.bDirectory;
      rc = SQLITE_OK;
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
    dbx_files_list_free(pList);
    for (i = 0; i < nChild; i++) {
      if (rc == SQLITE_OK) {
        rc = aChild[i].bDir
                 ? rmdir_depth(pClient, aChild[i].zPath, 1, nDepth + 1, pErr)
                 : dbx_files_delete(pClient, aChild[i].zPath, pErr);
      }
      sqlite3_free(aChild[i].zPath);
    }
    sqlite3_free(aChild);
  }
  if (rc == SQLITE_OK) {
    rc = files_call(pClient, "DELETE", DIRS_API, zPath, DBX_FILES_DIR, NULL,
                    NULL, 0, NULL, NULL, NULL, NULL, "delete of directory",
                    ACCESS_WRITE, pErr);
  }
  return rc;
}

int dbx_files_rmdir(DbxClient *pClient, const char *zPath, int bRecursive,
                    DbxError *pErr) {
  return rmdir_depth(pClient, zPath, bRecursive, 0, pErr);
}
