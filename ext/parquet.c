/*
** parquet.c: a streaming Parquet writer (see parquet.h).
**
** Layout of what it writes, per the Apache Parquet format specification:
**   "PAR1" | row group ... | FileMetaData (Thrift compact) | u32 len | "PAR1"
** A row group holds one column chunk per column: an optional dictionary
** page (PLAIN entries) and data pages v1 whose values are RLE_DICTIONARY
** indices or PLAIN values, each after its definition levels (RLE hybrid,
** bit width 1) when the column is OPTIONAL. Page bodies are compressed
** with ZSTD or stored as they are.
**
** Memory is bounded by one row group: the compressed pages of each column
** chunk, the current page of each column and each dictionary (at most
** nDictBytes before the column falls back to PLAIN for the rest of the row
** group). Nothing depends on the clock or on addresses, so the same rows
** and options give the same bytes.
**
** Sections: Thrift compact encoder, RLE hybrid encoder, dictionary,
** statistics, pages, column chunks and row groups, files, the writer.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "databricks.h"
#include "parquet.h"

/* Parquet enums (parquet.thrift). */
#define PQ_BOOLEAN            0
#define PQ_INT32              1
#define PQ_INT64              2
#define PQ_FLOAT              4
#define PQ_DOUBLE             5
#define PQ_BYTE_ARRAY         6
#define PQ_FLBA               7
#define PQ_ENC_PLAIN          0
#define PQ_ENC_RLE            3
#define PQ_ENC_RLE_DICTIONARY 8
#define PQ_PAGE_DATA          0
#define PQ_PAGE_DICTIONARY    2

/* Values of a column chunk looked at before its dictionary is dropped
** when more than half of them are distinct. */
#define PQ_DICT_PROBE 4096

/* Longest min/max statistic kept for a byte array; longer ones are cut
** (and marked inexact). */
#define PQ_STAT_MAX 64

/* ---------------------------------------------------------------------
** Thrift compact protocol encoder
*/

void dbx_thrift_init(DbxThrift *t, DbxBuf *pBuf) {
  memset(t, 0, sizeof(*t));
  t->pBuf = pBuf;
  t->nDepth = -1;
}

void dbx_thrift_varint(DbxBuf *p, uint64_t v) {
  unsigned char a[10];
  int n = 0;
  while (v >= 0x80) {
    a[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  a[n++] = (unsigned char)v;
  dbx_buf_append(p, a, (size_t)n);
}

/* ZigZag: small magnitudes, of either sign, become small varints. */
static uint64_t thrift_zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void dbx_thrift_field(DbxThrift *t, int id, int eType) {
  int delta = id - t->aLast[t->nDepth];
  unsigned char c;
  if (delta > 0 && delta <= 15) {
    c = (unsigned char)((delta << 4) | eType);
    dbx_buf_append(t->pBuf, &c, 1);
  } else {
    c = (unsigned char)eType;
    dbx_buf_append(t->pBuf, &c, 1);
    dbx_thrift_varint(t->pBuf, thrift_zigzag(id));
  }
  t->aLast[t->nDepth] = id;
}

void dbx_thrift_i32(DbxThrift *t, int id, int32_t v) {
  dbx_thrift_field(t, id, DBX_TH_I32);
  dbx_thrift_varint(t->pBuf, thrift_zigzag(v));
}

void dbx_thrift_i64(DbxThrift *t, int id, int64_t v) {
  dbx_thrift_field(t, id, DBX_TH_I64);
  dbx_thrift_varint(t->pBuf, thrift_zigzag(v));
}

void dbx_thrift_bool(DbxThrift *t, int id, int b) {
  dbx_thrift_field(t, id, b ? DBX_TH_BOOL_TRUE : DBX_TH_BOOL_FALSE);
}

void dbx_thrift_binary(DbxThrift *t, int id, const void *z, size_t n) {
  dbx_thrift_field(t, id, DBX_TH_BINARY);
  dbx_thrift_varint(t->pBuf, n);
  dbx_buf_append(t->pBuf, z, n);
}

void dbx_thrift_list(DbxThrift *t, int id, int eType, int nElem) {
  unsigned char c;
  dbx_thrift_field(t, id, DBX_TH_LIST);
  if (nElem < 15) {
    c = (unsigned char)((nElem << 4) | eType);
    dbx_buf_append(t->pBuf, &c, 1);
  } else {
    c = (unsigned char)(0xF0 | eType);
    dbx_buf_append(t->pBuf, &c, 1);
    dbx_thrift_varint(t->pBuf, (uint64_t)nElem);
  }
}

void dbx_thrift_begin(DbxThrift *t, int id) {
  if (id > 0) dbx_thrift_field(t, id, DBX_TH_STRUCT);
  t->nDepth++;
  t->aLast[t->nDepth] = 0;
}

void dbx_thrift_end(DbxThrift *t) {
  dbx_buf_append(t->pBuf, "", 1); /* the stop byte, 0 */
  t->nDepth--;
}

/* A list element of type i32 (an enum): its zigzag varint. */
static void thrift_elem_i32(DbxThrift *t, int32_t v) {
  dbx_thrift_varint(t->pBuf, thrift_zigzag(v));
}

/* ---------------------------------------------------------------------
** RLE / bit-packing hybrid encoder
*/

/* Packs the 8 values at a (bit width nBit) LSB first into pBuf. */
static void rle_pack8(DbxBuf *p, const uint32_t *a, int nBit) {
  unsigned char aOut[32];
  uint64_t acc = 0;
  int nAcc = 0, nOut = 0, i;
  for (i = 0; i < 8; i++) {
    acc |= (uint64_t)a[i] << nAcc;
    nAcc += nBit;
    while (nAcc >= 8) {
      aOut[nOut++] = (unsigned char)acc;
      acc >>= 8;
      nAcc -= 8;
    }
  }
  dbx_buf_append(p, aOut, (size_t)nOut);
}

/* How many values from a[i] on equal a[i], counting at most nMax. */
static size_t rle_run(const uint32_t *a, size_t i, size_t n, size_t nMax) {
  size_t j = i + 1;
  while (j < n && j - i < nMax && a[j] == a[i])
    j++;
  return j - i;
}

void dbx_parquet_rle(DbxBuf *p, const uint32_t *a, size_t n, int nBit) {
  size_t i = 0;
  int nByte = (nBit + 7) / 8;
  while (i < n) {
    size_t nRun = rle_run(a, i, n, (size_t)-1);
    if (nRun >= 8) {
      unsigned char aVal[4];
      int k;
      dbx_thrift_varint(p, (uint64_t)nRun << 1);
      for (k = 0; k < nByte; k++)
        aVal[k] = (unsigned char)(a[i] >> (8 * k));
      dbx_buf_append(p, aVal, (size_t)nByte);
      i += nRun;
    } else {
      /* Groups of 8 until a run of 8 starts at a group boundary. The
      ** header counts groups, so it is written after them, in front. */
      size_t nGroup = 0;
      DbxBuf body = {0};
      do {
        uint32_t aG[8] = {0};
        size_t k;
        for (k = 0; k < 8 && i + k < n; k++)
          aG[k] = a[i + k];
        rle_pack8(&body, aG, nBit);
        i += 8;
        nGroup++;
      } while (i < n && rle_run(a, i, n, 8) < 8);
      dbx_thrift_varint(p, ((uint64_t)nGroup << 1) | 1);
      dbx_buf_append(p, body.z, body.n);
      if (body.rc) p->rc = body.rc;
      dbx_buf_free(&body);
    }
  }
}

/* dbx_parquet_rle() of n values 1 of bit width 1 (the definition levels
** of a page without a NULL), without the values. */
static void rle_ones(DbxBuf *p, size_t n) {
  static const uint32_t aOne[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  if (n >= 8) {
    dbx_thrift_varint(p, (uint64_t)n << 1); /* one run */
    dbx_buf_append(p, "\1", 1);
  } else {
    dbx_parquet_rle(p, aOne, n, 1);
  }
}

/* Bits needed for values 0..nMax (at least 1). */
static int rle_bit_width(uint32_t nMax) {
  int n = 1;
  while (n < 32 && (nMax >> n) != 0)
    n++;
  return n;
}

/* ---------------------------------------------------------------------
** Dictionary: distinct values of a column chunk, in a flat open-addressing
** table of entry numbers over their PLAIN encoding.
*/

typedef struct PqDict {
  uint32_t *aSlot; /* owned; entry number + 1, 0 for an empty slot */
  uint32_t nSlot;  /* a power of two, or 0 */
  uint32_t nEntry;
  DbxBuf plain;   /* the entries, PLAIN encoded: the dictionary page body */
  uint32_t *aOff; /* owned; byte arrays: where entry k starts in plain */
  uint32_t nOff;  /* room in aOff */
  uint32_t iLast; /* entry number + 1 of the last value found, or 0: a
                  ** repeat of it needs no hash */
} PqDict;

/* A 64-bit hash of the n bytes at z (8 at a time, then a finalizer). */
static inline uint64_t pq_hash(const unsigned char *z, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n, v;
  size_t k;
  for (k = 8; k <= n; k += 8) {
    memcpy(&v, z + k - 8, 8);
    h = (h ^ v) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  v = dbx_parquet_tail(z, n);
  /* the finalizer of MurmurHash3: every input bit reaches the low bits
  ** that pick the slot */
  h ^= v;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

/* The value bytes of entry k (nWidth 0: a byte array). */
static const unsigned char *dict_entry(const PqDict *d, uint32_t k, int nWidth,
                                       size_t *pn) {
  if (nWidth > 0) {
    *pn = (size_t)nWidth;
    return (const unsigned char *)d->plain.z + (size_t)k * (size_t)nWidth;
  } else {
    uint32_t n;
    memcpy(&n, d->plain.z + d->aOff[k], 4);
    *pn = n;
    return (const unsigned char *)d->plain.z + d->aOff[k] + 4;
  }
}

/* Doubles the table (or makes the first one). Returns SQLITE_OK/NOMEM. */
static int dict_grow(PqDict *d, int nWidth) {
  uint32_t nNew = d->nSlot ? d->nSlot * 2 : 1024, k;
  uint32_t *aNew = sqlite3_malloc64((uint64_t)nNew * sizeof(uint32_t));
  if (aNew == NULL) return SQLITE_NOMEM;
  memset(aNew, 0, (size_t)nNew * sizeof(uint32_t));
  for (k = 0; k < d->nEntry; k++) {
    size_t n;
    const unsigned char *z = dict_entry(d, k, nWidth, &n);
    uint32_t h = (uint32_t)pq_hash(z, n) & (nNew - 1);
    while (aNew[h])
      h = (h + 1) & (nNew - 1);
    aNew[h] = k + 1;
  }
  sqlite3_free(d->aSlot);
  d->aSlot = aNew;
  d->nSlot = nNew;
  return SQLITE_OK;
}

/*
** Finds the n bytes at z in the dictionary, or adds them when the
** dictionary stays within nLimit bytes. Sets *piEntry and *pbNew. Returns
** SQLITE_OK, SQLITE_FULL when the value would pass the limit, or
** SQLITE_NOMEM.
*/
static int dict_find(PqDict *d, int nWidth, const unsigned char *z, size_t n,
                     int64_t nLimit, uint32_t *piEntry, int *pbNew) {
  uint32_t h;
  *pbNew = 0;
  if (d->iLast) {
    size_t nE;
    const unsigned char *zE = dict_entry(d, d->iLast - 1, nWidth, &nE);
    if (nE == n && dbx_parquet_same(zE, z, n)) {
      *piEntry = d->iLast - 1;
      return SQLITE_OK;
    }
  }
  if ((uint64_t)(d->nEntry + 1) * 2 > d->nSlot && dict_grow(d, nWidth)) {
    return SQLITE_NOMEM;
  }
  h = (uint32_t)pq_hash(z, n) & (d->nSlot - 1);
  while (d->aSlot[h]) {
    size_t nE;
    const unsigned char *zE = dict_entry(d, d->aSlot[h] - 1, nWidth, &nE);
    if (nE == n && dbx_parquet_same(zE, z, n)) {
      *piEntry = d->aSlot[h] - 1;
      d->iLast = d->aSlot[h];
      return SQLITE_OK;
    }
    h = (h + 1) & (d->nSlot - 1);
  }
  if ((int64_t)(d->plain.n + n + 4) > nLimit) return SQLITE_FULL;
  if (nWidth == 0) {
    uint32_t n32 = (uint32_t)n;
    if (d->nEntry == d->nOff) {
      uint32_t nNew = d->nOff ? d->nOff * 2 : 256;
      uint32_t *a = sqlite3_realloc64(d->aOff, (uint64_t)nNew * 4);
      if (a == NULL) return SQLITE_NOMEM;
      d->aOff = a;
      d->nOff = nNew;
    }
    d->aOff[d->nEntry] = (uint32_t)d->plain.n;
    dbx_buf_append(&d->plain, &n32, 4);
  }
  dbx_buf_append(&d->plain, z, n);
  if (d->plain.rc) return SQLITE_NOMEM;
  d->aSlot[h] = d->nEntry + 1;
  *piEntry = d->nEntry++;
  d->iLast = d->nEntry;
  *pbNew = 1;
  return SQLITE_OK;
}

/* Empties the dictionary, keeping its memory. */
static void dict_reset(PqDict *d) {
  if (d->aSlot) memset(d->aSlot, 0, (size_t)d->nSlot * sizeof(uint32_t));
  d->nEntry = 0;
  d->iLast = 0;
  dbx_buf_reset(&d->plain);
}

/* Frees what the dictionary owns and empties it. */
static void dict_free(PqDict *d) {
  sqlite3_free(d->aSlot);
  sqlite3_free(d->aOff);
  dbx_buf_free(&d->plain);
  memset(d, 0, sizeof(*d));
}

/* ---------------------------------------------------------------------
** Columns: the state of one column in the current row group
*/

typedef struct PqColumn {
  DbxPqColumn def; /* zName owned */
  int ePhys;       /* PQ_BOOLEAN ... PQ_FLBA */
  int nWidth;      /* bytes of a fixed-width value; 0 byte array;
                   ** 1 for BOOLEAN (one byte per value until packed) */
  /* the current page */
  DbxBuf defs;        /* uint32 definition levels (OPTIONAL only); empty
                      ** until the page's first NULL: all 1 until then */
  DbxBuf vals;        /* PLAIN values, or uint32 dictionary indices */
  int nPageValues;    /* rows in the page, NULLs included */
  int nPageNonNull;   /* values in the page */
  int64_t nPageBytes; /* PLAIN size of the page's values */
  /* the column chunk */
  int bDict; /* values still go to the dictionary */
  PqDict dict;
  DbxBuf chunk;      /* data pages, each header then body */
  int64_t nChunkRaw; /* uncompressed size of chunk's pages, headers in */
  int64_t nNull;
  int bUsedDict; /* a page holds dictionary indices */
  /* statistics of the chunk */
  int bMinMax; /* min and max were seen */
  int64_t iMin, iMax;
  double rMin, rMax;
  DbxBuf min, max; /* byte arrays and FIXED_LEN_BYTE_ARRAY */
} PqColumn;

/* ---------------------------------------------------------------------
** Statistics: min and max in the sort order of each type
*/

/* Signed comparison of two big-endian two's complement numbers of n
** bytes (a wide DECIMAL). */
static int stat_cmp_be_signed(const unsigned char *a, const unsigned char *b,
                              size_t n) {
  if (a[0] != b[0]) return (signed char)a[0] < (signed char)b[0] ? -1 : 1;
  return memcmp(a + 1, b + 1, n - 1);
}

/* Unsigned byte order, a prefix first (STRING, BINARY, JSON). */
static int stat_cmp_bytes(const unsigned char *a, size_t na,
                          const unsigned char *b, size_t nb) {
  int c = memcmp(a, b, na < nb ? na : nb);
  if (c) return c;
  return na < nb ? -1 : na > nb;
}

/* Folds one non-NULL cell into the statistics of c. */
static void stat_add(PqColumn *c, const DbxPqCell *pCell) {
  switch (c->ePhys) {
  case PQ_BOOLEAN:
  case PQ_INT32:
  case PQ_INT64:
    if (!c->bMinMax || pCell->i < c->iMin) c->iMin = pCell->i;
    if (!c->bMinMax || pCell->i > c->iMax) c->iMax = pCell->i;
    c->bMinMax = 1;
    break;
  case PQ_FLOAT:
  case PQ_DOUBLE:
    if (isnan(pCell->r)) break; /* NaN is never a min or a max */
    if (!c->bMinMax || pCell->r < c->rMin) c->rMin = pCell->r;
    if (!c->bMinMax || pCell->r > c->rMax) c->rMax = pCell->r;
    c->bMinMax = 1;
    break;
  case PQ_FLBA:
    if (!c->bMinMax || stat_cmp_be_signed(pCell->z, (unsigned char *)c->min.z,
                                          (size_t)pCell->n) < 0) {
      dbx_buf_reset(&c->min);
      dbx_buf_append(&c->min, pCell->z, (size_t)pCell->n);
    }
    if (!c->bMinMax || stat_cmp_be_signed(pCell->z, (unsigned char *)c->max.z,
                                          (size_t)pCell->n) > 0) {
      dbx_buf_reset(&c->max);
      dbx_buf_append(&c->max, pCell->z, (size_t)pCell->n);
    }
    c->bMinMax = 1;
    break;
  default: /* PQ_BYTE_ARRAY */
    if (!c->bMinMax ||
        stat_cmp_bytes(pCell->z, (size_t)pCell->n, (unsigned char *)c->min.z,
                       c->min.n) < 0) {
      dbx_buf_reset(&c->min);
      dbx_buf_append(&c->min, pCell->z, (size_t)pCell->n);
    }
    if (!c->bMinMax ||
        stat_cmp_bytes(pCell->z, (size_t)pCell->n, (unsigned char *)c->max.z,
                       c->max.n) > 0) {
      dbx_buf_reset(&c->max);
      dbx_buf_append(&c->max, pCell->z, (size_t)pCell->n);
    }
    c->bMinMax = 1;
    break;
  }
}

/* The PLAIN bytes of an integer or float statistic into a (4 or 8). */
static size_t stat_plain(const PqColumn *c, int bMax, unsigned char *a) {
  if (c->ePhys == PQ_BOOLEAN) {
    a[0] = (unsigned char)(bMax ? c->iMax : c->iMin);
    return 1;
  }
  if (c->ePhys == PQ_INT32) {
    int32_t v = (int32_t)(bMax ? c->iMax : c->iMin);
    memcpy(a, &v, 4);
    return 4;
  }
  if (c->ePhys == PQ_INT64) {
    int64_t v = bMax ? c->iMax : c->iMin;
    memcpy(a, &v, 8);
    return 8;
  }
  {
    /* A zero min is written as -0.0 and a zero max as +0.0, so that a
    ** reader comparing either zero against them is right. */
    double r = bMax ? c->rMax : c->rMin;
    if (r == 0.0) r = bMax ? 0.0 : -0.0;
    if (c->ePhys == PQ_FLOAT) {
      float f = (float)r;
      memcpy(a, &f, 4);
      return 4;
    }
    memcpy(a, &r, 8);
    return 8;
  }
}

/*
** Writes the Statistics struct of column c as field id of t: null_count
** always; min_value and max_value when a non-NULL (non-NaN) value was
** seen. A byte-array min longer than PQ_STAT_MAX is cut (a prefix sorts
** first); such a max is cut and its last byte below 0xFF raised (so it
** still sorts last), or left out when no such byte exists.
*/
static void stat_write(DbxThrift *t, int id, const PqColumn *c) {
  unsigned char aMin[16], aMax[16], aCut[PQ_STAT_MAX];
  const unsigned char *zMin = aMin, *zMax = aMax;
  size_t nMin = 0, nMax = 0;
  int bMinExact = 1, bMaxExact = 1, bMax = c->bMinMax;
  dbx_thrift_begin(t, id);
  dbx_thrift_i64(t, 3, c->nNull);
  if (c->bMinMax) {
    if (c->ePhys == PQ_BYTE_ARRAY || c->ePhys == PQ_FLBA) {
      zMin = (const unsigned char *)c->min.z;
      nMin = c->min.n;
      zMax = (const unsigned char *)c->max.z;
      nMax = c->max.n;
      if (nMin > PQ_STAT_MAX) {
        nMin = PQ_STAT_MAX;
        bMinExact = 0;
      }
      if (nMax > PQ_STAT_MAX) {
        size_t n = PQ_STAT_MAX;
        memcpy(aCut, zMax, n);
        while (n > 0 && aCut[n - 1] == 0xFF)
          n--;
        if (n == 0) {
          bMax = 0;
        } else {
          aCut[n - 1]++;
        }
        zMax = aCut;
        nMax = n;
        bMaxExact = 0;
      }
    } else {
      nMin = stat_plain(c, 0, aMin);
      nMax = stat_plain(c, 1, aMax);
    }
    if (bMax) dbx_thrift_binary(t, 5, zMax, nMax);
    dbx_thrift_binary(t, 6, zMin, nMin);
    if (bMax && !bMaxExact) dbx_thrift_bool(t, 7, 0);
    if (!bMinExact) dbx_thrift_bool(t, 8, 0);
  }
  dbx_thrift_end(t);
}

/* ---------------------------------------------------------------------
** The writer object
*/

struct DbxParquet {
  DbxPqOptions opt;
  PqColumn *aCol;
  int nCol;
  char *zPath; /* owned: the path as given */
  int bDir;    /* zPath names a directory */
  /* files */
  FILE *pFile;     /* the open file, or NULL */
  int64_t iOff;    /* bytes written to it */
  char **azFinal;  /* owned: the final name of each file created */
  char **azTmp;    /* owned: the temporary name of each */
  int64_t *anByte; /* owned: each file's size */
  int nFile;
  DbxBuf groups; /* the RowGroup structs of the open file, serialized */
  int nGroup;    /* RowGroups in groups */
  int64_t nFileRows;
  /* the current row group */
  int64_t nGroupRows;
  int64_t nGroupBytes;
  int64_t nRows; /* rows appended, all files */
  /* scratch */
  DbxBuf page;       /* a page body before compression */
  DbxBuf packed;     /* a page body after compression */
  DbxBuf hdr;        /* a page header */
  ZSTD_CCtx *pZstd;  /* owned when compressing */
  DbxPqCell *aCell;  /* owned: nCol cells for dbx_parquet_append */
  uint8_t *aScratch; /* owned: DBX_PQ_SCRATCH bytes for each cell */
  int64_t *aRowSize; /* owned: row sizes for dbx_parquet_append_rows */
  int nRowSize;      /* room in aRowSize */
  int rc;            /* sticky I/O or memory error */
  DbxError err;      /* its message */
};

/*
** Records a sticky error (the first one wins) and copies it to pErr.
** SQLITE_NOMEM says so; any other rc says "cannot <zVerb> <zPath>: <errno
** text>" with the advice zHint (may be ""). zVerb NULL: only the copy.
** Returns the sticky rc.
*/
static int writer_fail(DbxParquet *p, DbxError *pErr, int rc, const char *zVerb,
                       const char *zPath, const char *zHint) {
  if (p->rc == SQLITE_OK) {
    p->rc = rc;
    if (rc == SQLITE_NOMEM || zVerb == NULL) {
      dbx_error_set(&p->err, rc, "out of memory while writing Parquet");
    } else {
      dbx_error_set(&p->err, rc, "cannot %s %s: %s%s", zVerb, zPath,
                    strerror(errno), zHint);
    }
  }
  if (pErr && pErr->rc == SQLITE_OK) *pErr = p->err;
  return p->rc;
}

/* Out of memory, as a sticky error. */
static int writer_nomem(DbxParquet *p, DbxError *pErr) {
  return writer_fail(p, pErr, SQLITE_NOMEM, NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
** Pages
*/

/* Writes the PageHeader of a page into p->hdr (emptied first). */
static void page_header(DbxParquet *p, int eType, int64_t nRaw, int64_t nZip,
                        int nValue, int eEncoding, int bOptional) {
  DbxThrift t;
  dbx_buf_reset(&p->hdr);
  dbx_thrift_init(&t, &p->hdr);
  dbx_thrift_begin(&t, 0);
  dbx_thrift_i32(&t, 1, eType);
  dbx_thrift_i32(&t, 2, (int32_t)nRaw);
  dbx_thrift_i32(&t, 3, (int32_t)nZip);
  if (eType == PQ_PAGE_DATA) {
    dbx_thrift_begin(&t, 5);
    dbx_thrift_i32(&t, 1, nValue);
    dbx_thrift_i32(&t, 2, eEncoding);
    dbx_thrift_i32(&t, 3, PQ_ENC_RLE);
    dbx_thrift_i32(&t, 4, PQ_ENC_RLE);
    dbx_thrift_end(&t);
  } else {
    dbx_thrift_begin(&t, 7);
    dbx_thrift_i32(&t, 1, nValue);
    dbx_thrift_i32(&t, 2, PQ_ENC_PLAIN);
    dbx_thrift_end(&t);
  }
  dbx_thrift_end(&t);
  (void)bOptional;
}

/*
** Compresses p->page (when the codec says so) into p->packed, then appends
** header and body to pOut. Adds the uncompressed size (header included)
** to *pnRaw. Returns SQLITE_OK or an error.
*/
static int page_emit(DbxParquet *p, DbxBuf *pOut, int eType, int nValue,
                     int eEncoding, int64_t *pnRaw, DbxError *pErr) {
  const DbxBuf *pBody = &p->page;
  if (p->page.rc) return writer_nomem(p, pErr);
  if (p->opt.eCodec == DBX_PQ_ZSTD) {
    size_t nBound = ZSTD_compressBound(p->page.n), nZip;
    if (p->packed.nAlloc < nBound + 1) {
      dbx_buf_reset(&p->packed);
      dbx_buf_append(&p->packed, NULL, 0);
      if (p->packed.nAlloc < nBound + 1) {
        char *z = sqlite3_realloc64(p->packed.z, nBound + 1);
        if (z == NULL) return writer_nomem(p, pErr);
        p->packed.z = z;
        p->packed.nAlloc = nBound + 1;
      }
    }
    nZip = ZSTD_compressCCtx(p->pZstd, p->packed.z, nBound, p->page.z,
                             p->page.n, p->opt.iZstdLevel);
    if (ZSTD_isError(nZip)) {
      if (p->rc == SQLITE_OK) {
        p->rc = SQLITE_ERROR;
        dbx_error_set(&p->err, SQLITE_ERROR, "zstd compression failed: %s",
                      ZSTD_getErrorName(nZip));
      }
      return writer_fail(p, pErr, p->rc, NULL, NULL, NULL);
    }
    p->packed.n = nZip;
    pBody = &p->packed;
  }
  page_header(p, eType, (int64_t)p->page.n, (int64_t)pBody->n, nValue,
              eEncoding, 0);
  dbx_buf_append(pOut, p->hdr.z, p->hdr.n);
  if (pBody->n) dbx_buf_append(pOut, pBody->z, pBody->n);
  if (pOut->rc || p->hdr.rc) {
    return writer_nomem(p, pErr);
  }
  *pnRaw += (int64_t)(p->hdr.n + p->page.n);
  return SQLITE_OK;
}

/* Rewrites the dictionary indices of the current page of column c as
** PLAIN values and drops the dictionary for the rest of the row group. */
static int dict_to_plain(DbxParquet *p, PqColumn *c, DbxError *pErr) {
  const uint32_t *aIdx = (const uint32_t *)c->vals.z;
  DbxBuf plain = {0};
  int i;
  for (i = 0; i < c->nPageNonNull; i++) {
    size_t n;
    const unsigned char *z = dict_entry(&c->dict, aIdx[i], c->nWidth, &n);
    if (c->nWidth == 0) {
      uint32_t n32 = (uint32_t)n;
      dbx_buf_append(&plain, &n32, 4);
    }
    dbx_buf_append(&plain, z, n);
  }
  if (plain.rc) {
    dbx_buf_free(&plain);
    return writer_nomem(p, pErr);
  }
  dbx_buf_free(&c->vals);
  c->vals = plain;
  dict_reset(&c->dict);
  c->bDict = 0;
  return SQLITE_OK;
}

/* Turns the current page of column c into a data page at the end of its
** chunk. Returns SQLITE_OK or an error. */
static int page_flush(DbxParquet *p, PqColumn *c, DbxError *pErr) {
  int eEncoding = PQ_ENC_PLAIN, rc;
  if (c->nPageValues == 0) return SQLITE_OK;
  dbx_buf_reset(&p->page);
  if (!c->def.bNotNull) {
    uint32_t n32;
    size_t iLen = p->page.n;
    dbx_buf_append(&p->page, "\0\0\0\0", 4);
    if (c->defs.n == 0) {
      rle_ones(&p->page, (size_t)c->nPageValues);
    } else {
      dbx_parquet_rle(&p->page, (const uint32_t *)c->defs.z,
                      (size_t)c->nPageValues, 1);
    }
    if (p->page.rc) return writer_nomem(p, pErr);
    n32 = (uint32_t)(p->page.n - iLen - 4);
    memcpy(p->page.z + iLen, &n32, 4);
  }
  if (c->bDict && !c->bUsedDict &&
      (int64_t)c->dict.nEntry * 2 > (int64_t)c->nPageNonNull) {
    /* Most values of the first page are distinct: a dictionary would
    ** only add to the file. PLAIN for the rest of the row group. */
    rc = dict_to_plain(p, c, pErr);
    if (rc) return rc;
  }
  if (c->bDict) {
    unsigned char nBit =
        (unsigned char)rle_bit_width(c->dict.nEntry ? c->dict.nEntry - 1 : 0);
    dbx_buf_append(&p->page, &nBit, 1);
    dbx_parquet_rle(&p->page, (const uint32_t *)c->vals.z,
                    (size_t)c->nPageNonNull, nBit);
    eEncoding = PQ_ENC_RLE_DICTIONARY;
    c->bUsedDict = 1;
  } else if (c->ePhys == PQ_BOOLEAN) {
    /* PLAIN booleans: one bit each, LSB first */
    int i;
    unsigned char b = 0;
    for (i = 0; i < c->nPageNonNull; i++) {
      if (c->vals.z[i]) b |= (unsigned char)(1 << (i & 7));
      if ((i & 7) == 7) {
        dbx_buf_append(&p->page, &b, 1);
        b = 0;
      }
    }
    if (i & 7) dbx_buf_append(&p->page, &b, 1);
  } else {
    if (c->vals.n) dbx_buf_append(&p->page, c->vals.z, c->vals.n);
  }
  rc = page_emit(p, &c->chunk, PQ_PAGE_DATA, c->nPageValues, eEncoding,
                 &c->nChunkRaw, pErr);
  dbx_buf_reset(&c->defs);
  dbx_buf_reset(&c->vals);
  c->nPageValues = c->nPageNonNull = 0;
  c->nPageBytes = 0;
  return rc;
}

/* ---------------------------------------------------------------------
** Columns: appending a cell
*/

/* The PLAIN bytes of a fixed-width cell into a; returns their count. */
static size_t col_fixed(const PqColumn *c, const DbxPqCell *pCell,
                        unsigned char *a) {
  switch (c->ePhys) {
  case PQ_BOOLEAN:
    a[0] = (unsigned char)(pCell->i != 0);
    return 1;
  case PQ_INT32: {
    int32_t v = (int32_t)pCell->i;
    memcpy(a, &v, 4);
    return 4;
  }
  case PQ_INT64:
    memcpy(a, &pCell->i, 8);
    return 8;
  case PQ_FLOAT: {
    float f = (float)pCell->r;
    memcpy(a, &f, 4);
    return 4;
  }
  case PQ_DOUBLE:
    memcpy(a, &pCell->r, 8);
    return 8;
  default: /* PQ_FLBA */
    memcpy(a, pCell->z, (size_t)pCell->n);
    return (size_t)pCell->n;
  }
}

/* Appends one cell to column c. Returns SQLITE_OK or an error. */
static int col_append(DbxParquet *p, PqColumn *c, const DbxPqCell *pCell,
                      DbxError *pErr) {
  uint32_t lvl;
  if (!pCell->bNull) {
    unsigned char aFix[16];
    const unsigned char *z = aFix;
    size_t n;
    if (c->nWidth == 0) {
      z = pCell->z;
      n = (size_t)pCell->n;
    } else {
      n = col_fixed(c, pCell, aFix);
    }
    if (c->bDict) {
      uint32_t iEntry;
      int bNew, rc;
      rc = dict_find(&c->dict, c->nWidth, z, n, p->opt.nDictBytes, &iEntry,
                     &bNew);
      if (rc == SQLITE_NOMEM) {
        return writer_nomem(p, pErr);
      }
      if (rc == SQLITE_FULL) {
        /* the dictionary is full: PLAIN for the rest of the row group */
        rc = page_flush(p, c, pErr);
        if (rc) return rc;
        c->bDict = 0;
      } else {
        dbx_buf_put(&c->vals, &iEntry, 4);
        /* a value seen before cannot move the min or the max */
        if (bNew) stat_add(c, pCell);
      }
    }
    if (!c->bDict) {
      stat_add(c, pCell);
      if (c->nWidth == 0) {
        uint32_t n32 = (uint32_t)n;
        dbx_buf_put(&c->vals, &n32, 4);
      }
      dbx_buf_put(&c->vals, z, n);
    }
    c->nPageBytes += (int64_t)n + (c->nWidth == 0 ? 4 : 0);
    p->nGroupBytes += (int64_t)n + (c->nWidth == 0 ? 4 : 0);
    c->nPageNonNull++;
    lvl = 1;
    if (c->bDict && !c->bUsedDict && c->nPageNonNull == PQ_DICT_PROBE &&
        (int64_t)c->dict.nEntry * 2 > PQ_DICT_PROBE) {
      /* mostly distinct so far: PLAIN for the rest of the row group */
      int rc = dict_to_plain(p, c, pErr);
      if (rc) return rc;
    }
  } else {
    c->nNull++;
    lvl = 0;
  }
  if (!c->def.bNotNull && (lvl == 0 || c->defs.n > 0)) {
    if (c->defs.n == 0) {
      /* the page's first NULL: the levels of the values before it */
      static const uint32_t aOne[64] = {
          1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
          1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
          1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
      int k;
      for (k = 0; k < c->nPageValues; k += 64) {
        int n = c->nPageValues - k < 64 ? c->nPageValues - k : 64;
        dbx_buf_append(&c->defs, aOne, (size_t)n * 4);
      }
    }
    dbx_buf_put(&c->defs, &lvl, 4);
  }
  c->nPageValues++;
  if (c->vals.rc || c->defs.rc) {
    return writer_nomem(p, pErr);
  }
  /* a definition level takes 4 bytes until the page is encoded */
  if (c->nPageBytes + 4 * (int64_t)c->nPageValues >= p->opt.nPageBytes) {
    return page_flush(p, c, pErr);
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** Column chunks and row groups
*/

/* Forgets the row group's data of column c, keeping its memory. */
static void col_reset(DbxParquet *p, PqColumn *c) {
  dict_reset(&c->dict);
  dbx_buf_reset(&c->chunk);
  c->bDict = p->opt.bDictionary && c->ePhys != PQ_BOOLEAN;
  c->nChunkRaw = c->nNull = 0;
  c->bUsedDict = 0;
  c->bMinMax = 0;
  dbx_buf_reset(&c->min);
  dbx_buf_reset(&c->max);
}

/* Writes n bytes at z to the open file. Returns SQLITE_OK or an error. */
static int file_write(DbxParquet *p, const void *z, size_t n, DbxError *pErr) {
  if (n && fwrite(z, 1, n, p->pFile) != n) {
    return writer_fail(p, pErr, SQLITE_IOERR, "write", p->azTmp[p->nFile - 1],
                       "");
  }
  p->iOff += (int64_t)n;
  return SQLITE_OK;
}

/*
** Writes the chunk of column c (dictionary page, then its data pages) to
** the file and its ColumnChunk struct to t. Adds its sizes to *pnRaw and
** *pnZip. Returns SQLITE_OK or an error.
*/
static int chunk_write(DbxParquet *p, PqColumn *c, DbxThrift *t, int64_t *pnRaw,
                       int64_t *pnZip, DbxError *pErr) {
  int64_t iStart = p->iOff, nRaw = c->nChunkRaw, iData;
  int rc, nEnc = 0, aEnc[3];
  if (c->bUsedDict) {
    dbx_buf_reset(&p->page);
    dbx_buf_append(&p->page, c->dict.plain.z, c->dict.plain.n);
    dbx_buf_reset(&p->hdr);
    {
      DbxBuf dictPage = {0};
      rc = page_emit(p, &dictPage, PQ_PAGE_DICTIONARY, (int)c->dict.nEntry,
                     PQ_ENC_PLAIN, &nRaw, pErr);
      if (rc == SQLITE_OK) rc = file_write(p, dictPage.z, dictPage.n, pErr);
      dbx_buf_free(&dictPage);
    }
    if (rc) return rc;
  }
  iData = p->iOff;
  rc = file_write(p, c->chunk.z, c->chunk.n, pErr);
  if (rc) return rc;

  aEnc[nEnc++] = PQ_ENC_PLAIN; /* PLAIN values, or the dictionary page */
  if (!c->def.bNotNull || c->bUsedDict) aEnc[nEnc++] = PQ_ENC_RLE;
  if (c->bUsedDict) aEnc[nEnc++] = PQ_ENC_RLE_DICTIONARY;

  dbx_thrift_begin(t, 0); /* ColumnChunk */
  dbx_thrift_i64(t, 2, iStart);
  dbx_thrift_begin(t, 3); /* ColumnMetaData */
  dbx_thrift_i32(t, 1, c->ePhys);
  dbx_thrift_list(t, 2, DBX_TH_I32, nEnc);
  {
    int k;
    for (k = 0; k < nEnc; k++)
      thrift_elem_i32(t, aEnc[k]);
  }
  dbx_thrift_list(t, 3, DBX_TH_BINARY, 1);
  dbx_thrift_varint(t->pBuf, strlen(c->def.zName));
  dbx_buf_append(t->pBuf, c->def.zName, strlen(c->def.zName));
  dbx_thrift_i32(t, 4, p->opt.eCodec);
  dbx_thrift_i64(t, 5, p->nGroupRows);
  dbx_thrift_i64(t, 6, nRaw);
  dbx_thrift_i64(t, 7, p->iOff - iStart);
  dbx_thrift_i64(t, 9, iData);
  if (c->bUsedDict) dbx_thrift_i64(t, 11, iStart);
  stat_write(t, 12, c);
  dbx_thrift_end(t);
  dbx_thrift_end(t);
  *pnRaw += nRaw;
  *pnZip += p->iOff - iStart;
  return SQLITE_OK;
}

static int file_begin(DbxParquet *p, DbxError *pErr);
static int file_finish(DbxParquet *p, DbxError *pErr);

/* Writes the current row group (if it has rows) and starts the next.
** Rotates to a new file once this one reached nFileBytes. */
static int group_flush(DbxParquet *p, DbxError *pErr) {
  DbxThrift t;
  int64_t nRaw = 0, nZip = 0, iStart;
  int i, rc = SQLITE_OK;
  if (p->nGroupRows == 0) return SQLITE_OK;
  if (p->pFile == NULL && (rc = file_begin(p, pErr)) != SQLITE_OK) return rc;
  for (i = 0; rc == SQLITE_OK && i < p->nCol; i++)
    rc = page_flush(p, &p->aCol[i], pErr);
  if (rc) return rc;
  iStart = p->iOff;
  dbx_thrift_init(&t, &p->groups);
  dbx_thrift_begin(&t, 0); /* RowGroup */
  dbx_thrift_list(&t, 1, DBX_TH_STRUCT, p->nCol);
  for (i = 0; rc == SQLITE_OK && i < p->nCol; i++)
    rc = chunk_write(p, &p->aCol[i], &t, &nRaw, &nZip, pErr);
  if (rc) return rc;
  dbx_thrift_i64(&t, 2, nRaw);
  dbx_thrift_i64(&t, 3, p->nGroupRows);
  dbx_thrift_i64(&t, 5, iStart);
  dbx_thrift_i64(&t, 6, nZip);
  dbx_thrift_field(&t, 7, DBX_TH_I16);
  dbx_thrift_varint(t.pBuf, thrift_zigzag(p->nGroup));
  dbx_thrift_end(&t);
  if (p->groups.rc) return writer_nomem(p, pErr);
  p->nGroup++;
  p->nFileRows += p->nGroupRows;
  p->nGroupRows = p->nGroupBytes = 0;
  for (i = 0; i < p->nCol; i++)
    col_reset(p, &p->aCol[i]);
  if (p->opt.nFileBytes > 0 && p->iOff >= p->opt.nFileBytes) {
    rc = file_finish(p, pErr);
  }
  return rc;
}

/* ---------------------------------------------------------------------
** Files
*/

/* The SchemaElement of column c. */
static void schema_write(DbxThrift *t, const PqColumn *c) {
  const DbxPqColumn *d = &c->def;
  int eConv = -1;
  dbx_thrift_begin(t, 0);
  dbx_thrift_i32(t, 1, c->ePhys);
  if (c->ePhys == PQ_FLBA) dbx_thrift_i32(t, 2, c->nWidth);
  dbx_thrift_i32(t, 3, d->bNotNull ? 0 : 1);
  dbx_thrift_binary(t, 4, d->zName, strlen(d->zName));
  switch (d->eType) {
  case DBX_PQ_TINYINT:
    eConv = 15; /* INT_8 */
    break;
  case DBX_PQ_SMALLINT:
    eConv = 16; /* INT_16 */
    break;
  case DBX_PQ_DECIMAL:
    eConv = 5;
    break;
  case DBX_PQ_DATE:
    eConv = 6;
    break;
  case DBX_PQ_TIMESTAMP:
    eConv = 10; /* TIMESTAMP_MICROS: UTC only, so not for NTZ */
    break;
  case DBX_PQ_STRING:
    eConv = 0; /* UTF8 */
    break;
  case DBX_PQ_JSON:
    eConv = 19;
    break;
  default:
    break;
  }
  if (eConv >= 0) dbx_thrift_i32(t, 6, eConv);
  if (d->eType == DBX_PQ_DECIMAL) {
    dbx_thrift_i32(t, 7, d->nScale);
    dbx_thrift_i32(t, 8, d->nPrecision);
  }
  /* logicalType (a union: one field set) */
  switch (d->eType) {
  case DBX_PQ_TINYINT:
  case DBX_PQ_SMALLINT:
    dbx_thrift_begin(t, 10);
    dbx_thrift_begin(t, 10); /* INTEGER */
    dbx_thrift_field(t, 1, DBX_TH_I8);
    dbx_buf_append(t->pBuf, d->eType == DBX_PQ_TINYINT ? "\x08" : "\x10", 1);
    dbx_thrift_bool(t, 2, 1);
    dbx_thrift_end(t);
    dbx_thrift_end(t);
    break;
  case DBX_PQ_DECIMAL:
    dbx_thrift_begin(t, 10);
    dbx_thrift_begin(t, 5);
    dbx_thrift_i32(t, 1, d->nScale);
    dbx_thrift_i32(t, 2, d->nPrecision);
    dbx_thrift_end(t);
    dbx_thrift_end(t);
    break;
  case DBX_PQ_DATE:
  case DBX_PQ_STRING:
  case DBX_PQ_JSON:
    dbx_thrift_begin(t, 10);
    dbx_thrift_begin(t, d->eType == DBX_PQ_DATE     ? 6
                        : d->eType == DBX_PQ_STRING ? 1
                                                    : 12);
    dbx_thrift_end(t);
    dbx_thrift_end(t);
    break;
  case DBX_PQ_TIMESTAMP:
  case DBX_PQ_TIMESTAMP_NTZ:
    dbx_thrift_begin(t, 10);
    dbx_thrift_begin(t, 8);
    dbx_thrift_bool(t, 1, d->eType == DBX_PQ_TIMESTAMP);
    dbx_thrift_begin(t, 2); /* TimeUnit */
    dbx_thrift_begin(t, 2); /* MICROS */
    dbx_thrift_end(t);
    dbx_thrift_end(t);
    dbx_thrift_end(t);
    dbx_thrift_end(t);
    break;
  default:
    break;
  }
  dbx_thrift_end(t);
}

/* Makes the names of file number iFile into p->azFinal/azTmp. */
static int file_names(DbxParquet *p, int iFile) {
  char **azF, **azT;
  int64_t *an;
  char *zF;
  azF = sqlite3_realloc64(p->azFinal, sizeof(char *) * (uint64_t)(iFile + 1));
  if (azF) p->azFinal = azF;
  azT = sqlite3_realloc64(p->azTmp, sizeof(char *) * (uint64_t)(iFile + 1));
  if (azT) p->azTmp = azT;
  an = sqlite3_realloc64(p->anByte, sizeof(int64_t) * (uint64_t)(iFile + 1));
  if (an) p->anByte = an;
  if (azF == NULL || azT == NULL || an == NULL) return SQLITE_NOMEM;
  if (p->bDir) {
    zF = sqlite3_mprintf("%spart-%05d.parquet", p->zPath, iFile);
  } else if (iFile == 0) {
    zF = sqlite3_mprintf("%s", p->zPath);
  } else {
    zF = sqlite3_mprintf("%s.%d", p->zPath, iFile);
  }
  if (zF == NULL) return SQLITE_NOMEM;
  p->azTmp[iFile] = sqlite3_mprintf("%s.tmp", zF);
  if (p->azTmp[iFile] == NULL) {
    sqlite3_free(zF);
    return SQLITE_NOMEM;
  }
  p->azFinal[iFile] = zF;
  p->anByte[iFile] = 0;
  return SQLITE_OK;
}

/* Creates the next file (under its temporary name) and writes "PAR1". */
static int file_begin(DbxParquet *p, DbxError *pErr) {
  if (file_names(p, p->nFile)) {
    return writer_nomem(p, pErr);
  }
  p->nFile++;
  p->pFile = fopen(p->azTmp[p->nFile - 1], "wb");
  if (p->pFile == NULL) {
    return writer_fail(p, pErr, SQLITE_CANTOPEN, "create",
                       p->azTmp[p->nFile - 1],
                       " (check that the directory exists and is writable)");
  }
  p->iOff = 0;
  p->nGroup = 0;
  p->nFileRows = 0;
  dbx_buf_reset(&p->groups);
  return file_write(p, "PAR1", 4, pErr);
}

/* Writes the footer of the open file and closes it. */
static int file_finish(DbxParquet *p, DbxError *pErr) {
  DbxBuf meta = {0};
  DbxThrift t;
  const char *zBy = "sqlite-databricks version " DBX_VERSION;
  uint32_t n32;
  int i, rc;
  dbx_thrift_init(&t, &meta);
  dbx_thrift_begin(&t, 0); /* FileMetaData */
  dbx_thrift_i32(&t, 1, 1);
  dbx_thrift_list(&t, 2, DBX_TH_STRUCT, p->nCol + 1);
  dbx_thrift_begin(&t, 0); /* the root */
  dbx_thrift_binary(&t, 4, "schema", 6);
  dbx_thrift_i32(&t, 5, p->nCol);
  dbx_thrift_end(&t);
  for (i = 0; i < p->nCol; i++)
    schema_write(&t, &p->aCol[i]);
  dbx_thrift_i64(&t, 3, p->nFileRows);
  dbx_thrift_list(&t, 4, DBX_TH_STRUCT, p->nGroup);
  dbx_buf_append(&meta, p->groups.z, p->groups.n);
  dbx_thrift_binary(&t, 6, zBy, strlen(zBy));
  dbx_thrift_list(&t, 7, DBX_TH_STRUCT, p->nCol);
  for (i = 0; i < p->nCol; i++) {
    dbx_thrift_begin(&t, 0); /* ColumnOrder */
    dbx_thrift_begin(&t, 1); /* TYPE_ORDER */
    dbx_thrift_end(&t);
    dbx_thrift_end(&t);
  }
  dbx_thrift_end(&t);
  if (meta.rc) {
    dbx_buf_free(&meta);
    return writer_nomem(p, pErr);
  }
  n32 = (uint32_t)meta.n;
  rc = file_write(p, meta.z, meta.n, pErr);
  if (rc == SQLITE_OK) rc = file_write(p, &n32, 4, pErr);
  if (rc == SQLITE_OK) rc = file_write(p, "PAR1", 4, pErr);
  dbx_buf_free(&meta);
  if (rc) return rc;
  p->anByte[p->nFile - 1] = p->iOff;
  rc = fclose(p->pFile);
  p->pFile = NULL;
  if (rc != 0) {
    return writer_fail(p, pErr, SQLITE_IOERR, "write", p->azTmp[p->nFile - 1],
                       "");
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------
** The writer
*/

void dbx_parquet_options_init(DbxPqOptions *p) {
  memset(p, 0, sizeof(*p));
  p->nFileBytes = 128 * 1000 * 1000;
  p->nRowGroupBytes = 32 << 20;
  p->nRowGroupRows = 1000000;
  p->eCodec = DBX_PQ_ZSTD;
  /* level 1: on the benchmark's event rows both smaller and faster than 3 */
  p->iZstdLevel = 1;
  p->bDictionary = 1;
  p->nDictBytes = 1 << 20;
  p->nPageBytes = 256 << 10;
}

/* The physical type and width of a column. */
static void col_physical(PqColumn *c) {
  switch (c->def.eType) {
  case DBX_PQ_BOOLEAN:
    c->ePhys = PQ_BOOLEAN;
    c->nWidth = 1;
    break;
  case DBX_PQ_TINYINT:
  case DBX_PQ_SMALLINT:
  case DBX_PQ_INT:
  case DBX_PQ_DATE:
    c->ePhys = PQ_INT32;
    c->nWidth = 4;
    break;
  case DBX_PQ_BIGINT:
  case DBX_PQ_TIMESTAMP:
  case DBX_PQ_TIMESTAMP_NTZ:
    c->ePhys = PQ_INT64;
    c->nWidth = 8;
    break;
  case DBX_PQ_FLOAT:
    c->ePhys = PQ_FLOAT;
    c->nWidth = 4;
    break;
  case DBX_PQ_DOUBLE:
    c->ePhys = PQ_DOUBLE;
    c->nWidth = 8;
    break;
  case DBX_PQ_DECIMAL:
    if (c->def.nPrecision <= 9) {
      c->ePhys = PQ_INT32;
      c->nWidth = 4;
    } else if (c->def.nPrecision <= 18) {
      c->ePhys = PQ_INT64;
      c->nWidth = 8;
    } else {
      c->ePhys = PQ_FLBA;
      c->nWidth = dbx_parquet_decimal_bytes(c->def.nPrecision);
    }
    break;
  default:
    c->ePhys = PQ_BYTE_ARRAY;
    c->nWidth = 0;
    break;
  }
}

int dbx_parquet_open(const char *zPath, const DbxPqColumn *aCol, int nCol,
                     const DbxPqOptions *pOpt, DbxParquet **ppOut,
                     DbxError *pErr) {
  DbxParquet *p;
  int i;
  *ppOut = NULL;
  if (zPath == NULL || zPath[0] == 0) {
    return dbx_error_set(pErr, SQLITE_ERROR, "the Parquet path is empty");
  }
  if (nCol < 1) {
    return dbx_error_set(pErr, SQLITE_ERROR,
                         "a Parquet file needs at least one column");
  }
  p = sqlite3_malloc64(sizeof(*p));
  if (p == NULL) return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  memset(p, 0, sizeof(*p));
  if (pOpt) {
    p->opt = *pOpt;
  } else {
    dbx_parquet_options_init(&p->opt);
  }
  if (p->opt.nRowGroupRows < 1) p->opt.nRowGroupRows = 1;
  if (p->opt.nPageBytes < 1024) p->opt.nPageBytes = 1024;
  p->zPath = dbx_strdup(zPath);
  p->aCol = sqlite3_malloc64(sizeof(PqColumn) * (uint64_t)nCol);
  p->aCell = sqlite3_malloc64(sizeof(DbxPqCell) * (uint64_t)nCol);
  p->aScratch = sqlite3_malloc64((uint64_t)DBX_PQ_SCRATCH * (uint64_t)nCol);
  if (p->zPath == NULL || p->aCol == NULL || p->aCell == NULL ||
      p->aScratch == NULL) {
    dbx_parquet_abort(p);
    return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
  }
  memset(p->aCol, 0, sizeof(PqColumn) * (size_t)nCol);
  p->nCol = nCol;
  for (i = 0; i < nCol; i++) {
    PqColumn *c = &p->aCol[i];
    c->def = aCol[i];
    c->def.zName = dbx_strdup(aCol[i].zName ? aCol[i].zName : "");
    if (c->def.zName == NULL) {
      dbx_parquet_abort(p);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
    col_physical(c);
    col_reset(p, c);
  }
  if (p->opt.eCodec == DBX_PQ_ZSTD) {
    p->pZstd = ZSTD_createCCtx();
    if (p->pZstd == NULL) {
      dbx_parquet_abort(p);
      return dbx_error_set(pErr, SQLITE_NOMEM, "out of memory");
    }
  }
  p->bDir = zPath[strlen(zPath) - 1] == '/';
  if (p->bDir && mkdir(zPath, 0777) != 0 && errno != EEXIST) {
    dbx_error_set(pErr, SQLITE_CANTOPEN,
                  "cannot create the directory %s: %s (check that its "
                  "parent exists and is writable)",
                  zPath, strerror(errno));
    dbx_parquet_abort(p);
    return SQLITE_CANTOPEN;
  }
  *ppOut = p;
  return SQLITE_OK;
}

int dbx_parquet_append_cells(DbxParquet *p, const DbxPqCell *aCell,
                             DbxError *pErr) {
  int i, rc = SQLITE_OK;
  if (p->rc) return writer_fail(p, pErr, p->rc, NULL, NULL, NULL);
  for (i = 0; rc == SQLITE_OK && i < p->nCol; i++)
    rc = col_append(p, &p->aCol[i], &aCell[i], pErr);
  if (rc) return rc;
  p->nGroupRows++;
  p->nRows++;
  p->nGroupBytes += p->nCol; /* a NULL costs a little too */
  if (p->nGroupRows >= p->opt.nRowGroupRows ||
      p->nGroupBytes >= p->opt.nRowGroupBytes ||
      (p->opt.nFileBytes > 0 && p->nGroupBytes >= p->opt.nFileBytes)) {
    rc = group_flush(p, pErr);
  }
  return rc;
}

int dbx_parquet_append_rows(DbxParquet *p, const DbxPqCell *aCell, int nRow,
                            int nStride, DbxError *pErr) {
  int r0 = 0, r, i, rc = SQLITE_OK;
  int64_t *aSize;
  if (p->rc) return writer_fail(p, pErr, p->rc, NULL, NULL, NULL);
  if (nRow <= 0) return SQLITE_OK;
  /* what each row adds to the row group's size: each column a little,
  ** each value its PLAIN size (as col_append counts them) */
  if (p->nRowSize < nRow) {
    aSize = sqlite3_realloc64(p->aRowSize, sizeof(int64_t) * (uint64_t)nRow);
    if (aSize == NULL) return writer_nomem(p, pErr);
    p->aRowSize = aSize;
    p->nRowSize = nRow;
  }
  aSize = p->aRowSize;
  for (r = 0; r < nRow; r++)
    aSize[r] = p->nCol;
  for (i = 0; i < p->nCol; i++) {
    const PqColumn *c = &p->aCol[i];
    const DbxPqCell *pCell = &aCell[(size_t)i * (size_t)nStride];
    for (r = 0; r < nRow; r++) {
      if (pCell[r].bNull) continue;
      aSize[r] += c->nWidth == 0 ? (int64_t)pCell[r].n + 4 : c->nWidth;
    }
  }
  while (rc == SQLITE_OK && r0 < nRow) {
    /* the rows up to the one that fills the row group */
    int64_t nGroupRows = p->nGroupRows, nGroupBytes = p->nGroupBytes;
    int r1 = r0, bFlush = 0;
    while (r1 < nRow && !bFlush) {
      nGroupBytes += aSize[r1++];
      nGroupRows++;
      bFlush = nGroupRows >= p->opt.nRowGroupRows ||
               nGroupBytes >= p->opt.nRowGroupBytes ||
               (p->opt.nFileBytes > 0 && nGroupBytes >= p->opt.nFileBytes);
    }
    /* column by column: each column's pages and dictionary stay in
    ** cache; what a column writes depends on its own cells only */
    for (i = 0; rc == SQLITE_OK && i < p->nCol; i++) {
      PqColumn *c = &p->aCol[i];
      const DbxPqCell *pCell = &aCell[(size_t)i * (size_t)nStride];
      for (r = r0; rc == SQLITE_OK && r < r1; r++)
        rc = col_append(p, c, &pCell[r], pErr);
    }
    if (rc) return rc;
    p->nGroupRows = nGroupRows;
    p->nGroupBytes = nGroupBytes;
    p->nRows += r1 - r0;
    if (bFlush) rc = group_flush(p, pErr);
    r0 = r1;
  }
  return rc;
}

int dbx_parquet_append(DbxParquet *p, const DbxPqValue *aVal, DbxError *pErr) {
  int i, rc;
  if (p->rc) return writer_fail(p, pErr, p->rc, NULL, NULL, NULL);
  for (i = 0; i < p->nCol; i++) {
    rc = dbx_parquet_convert(&p->aCol[i].def, &aVal[i], p->nRows + 1,
                             &p->aCell[i], &p->aScratch[i * DBX_PQ_SCRATCH],
                             pErr);
    if (rc) return rc;
  }
  return dbx_parquet_append_cells(p, p->aCell, pErr);
}

int64_t dbx_parquet_rows(const DbxParquet *p) {
  return p->nRows;
}

/* Frees p and everything it owns; removes no file. */
static void writer_free(DbxParquet *p) {
  int i;
  if (p->pFile) fclose(p->pFile);
  for (i = 0; p->aCol && i < p->nCol; i++) {
    PqColumn *c = &p->aCol[i];
    sqlite3_free(c->def.zName);
    dbx_buf_free(&c->defs);
    dbx_buf_free(&c->vals);
    dbx_buf_free(&c->chunk);
    dbx_buf_free(&c->min);
    dbx_buf_free(&c->max);
    dict_free(&c->dict);
  }
  for (i = 0; i < p->nFile; i++) {
    sqlite3_free(p->azFinal[i]);
    sqlite3_free(p->azTmp[i]);
  }
  sqlite3_free(p->azFinal);
  sqlite3_free(p->azTmp);
  sqlite3_free(p->anByte);
  sqlite3_free(p->aCol);
  sqlite3_free(p->aCell);
  sqlite3_free(p->aScratch);
  sqlite3_free(p->aRowSize);
  sqlite3_free(p->zPath);
  dbx_buf_free(&p->groups);
  dbx_buf_free(&p->page);
  dbx_buf_free(&p->packed);
  dbx_buf_free(&p->hdr);
  ZSTD_freeCCtx(p->pZstd);
  sqlite3_free(p);
}

void dbx_parquet_abort(DbxParquet *p) {
  int i;
  if (p == NULL) return;
  if (p->pFile) {
    fclose(p->pFile);
    p->pFile = NULL;
  }
  for (i = 0; i < p->nFile; i++) {
    unlink(p->azTmp[i]);
  }
  writer_free(p);
}

int dbx_parquet_close(DbxParquet *p, DbxPqReport *pReport, DbxError *pErr) {
  int rc = p->rc, i;
  if (pReport) memset(pReport, 0, sizeof(*pReport));
  if (rc) {
    writer_fail(p, pErr, rc, NULL, NULL, NULL);
    dbx_parquet_abort(p);
    return rc;
  }
  rc = group_flush(p, pErr);
  if (rc == SQLITE_OK && p->pFile == NULL && p->nFile == 0) {
    rc = file_begin(p, pErr); /* zero rows: a file with no row group */
  }
  if (rc == SQLITE_OK && p->pFile) rc = file_finish(p, pErr);
  for (i = 0; rc == SQLITE_OK && i < p->nFile; i++) {
    if (rename(p->azTmp[i], p->azFinal[i]) != 0) {
      int j;
      rc = writer_fail(p, pErr, SQLITE_IOERR, "rename a file to", p->azFinal[i],
                       "");
      for (j = 0; j < i; j++)
        unlink(p->azFinal[j]);
    }
  }
  if (rc) {
    dbx_parquet_abort(p);
    return rc;
  }
  if (pReport) {
    pReport->nRow = p->nRows;
    pReport->nFile = p->nFile;
    for (i = 0; i < p->nFile; i++)
      pReport->nByte += p->anByte[i];
    pReport->azPath = p->azFinal;
    p->azFinal = sqlite3_malloc64(sizeof(char *) * (uint64_t)p->nFile);
    if (p->azFinal == NULL) {
      /* keep the names with the report; free the temporary ones only */
      for (i = 0; i < p->nFile; i++)
        sqlite3_free(p->azTmp[i]);
      sqlite3_free(p->azTmp);
      p->azTmp = NULL;
      p->nFile = 0;
    } else {
      memset(p->azFinal, 0, sizeof(char *) * (size_t)p->nFile);
    }
  }
  writer_free(p);
  return SQLITE_OK;
}

void dbx_parquet_report_free(DbxPqReport *p) {
  int i;
  if (p == NULL) return;
  for (i = 0; p->azPath && i < p->nFile; i++)
    sqlite3_free(p->azPath[i]);
  sqlite3_free(p->azPath);
  memset(p, 0, sizeof(*p));
}
