/*
 * Result values and encoding for the Statement Execution API emulation.
 *
 * DuckDB values become normalised JS values for their Databricks type
 * (normaliser); textSql and TEXT_MACROS give the same text forms in DuckDB SQL,
 * for the Engine's fast path that reads whole rows as text.
 *
 * A finished statement's rows (normalised JS values from the Engine) become a
 * ResultSet: the row/byte limits and the INLINE cap are applied once, the rows
 * are split into chunks by settings.chunk_rows / chunk_bytes, and each chunk is
 * encoded once (INLINE data_array, or the bytes behind an external link as
 * compact JSON, CSV or an Arrow IPC stream, spilled to the data folder).
 *
 * External links imitate presigned cloud-storage URLs: they live on their own
 * path (/dbx-local-presigned/...), carry X-Amz-* query fields, expire, demand
 * the SSE-C headers advertised in http_headers and refuse an Authorization
 * header, answering with S3-style XML errors the way cloud storage does.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  Binary, Bool, DateDay, Decimal, Field, Float32, Float64, Int8, Int16, Int32, Int64,
  RecordBatch, Schema, Struct, Table, TimeUnit, Timestamp, Utf8, makeData, tableToIPC,
} from 'apache-arrow';
import { DuckDBTypeId } from '@duckdb/node-api';
import { SqlError } from './sql/errors.mjs';

const PRESIGNED_PREFIX = '/dbx-local-presigned/';

/* ------------------------------------------------------------------ DuckDB values */

/*
 * SQL text forms, identical to valueText(normalise(v)) (test/results-text.test.mjs checks them
 * value by value): Java-style DOUBLE text from DuckDB's shortest round-trip digits, and the CSV
 * field quoting of csvField. The Engine creates these macros in its DuckDB session.
 */
export const TEXT_MACROS = [
  `CREATE OR REPLACE TEMP MACRO dbx_float_sci(sign, digits, e) AS
     sign || digits[1] || '.' || CASE WHEN length(digits) > 1 THEN digits[2:] ELSE '0' END || 'E' || CAST(e AS VARCHAR)`,
  `CREATE OR REPLACE TEMP MACRO dbx_float_exp(sign, a) AS CASE
     WHEN contains(a, 'e') THEN sign || split_part(a, 'e', 1) || CASE WHEN contains(split_part(a, 'e', 1), '.') THEN '' ELSE '.0' END
       || 'E' || CAST(CAST(split_part(a, 'e', 2) AS INTEGER) AS VARCHAR)
     WHEN split_part(a, '.', 1) <> '0' THEN dbx_float_sci(sign, rtrim(split_part(a, '.', 1) || split_part(a, '.', 2), '0'), length(split_part(a, '.', 1)) - 1)
     ELSE dbx_float_sci(sign, rtrim(ltrim(split_part(a, '.', 2), '0'), '0'), length(ltrim(split_part(a, '.', 2), '0')) - length(split_part(a, '.', 2)) - 1)
   END`,
  `CREATE OR REPLACE TEMP MACRO dbx_float_text(s) AS CASE
     WHEN s IS NULL THEN NULL
     WHEN s IN ('nan', '-nan') THEN 'NaN' WHEN s = 'inf' THEN 'Infinity' WHEN s = '-inf' THEN '-Infinity'
     WHEN CAST(s AS DOUBLE) = 0 OR (abs(CAST(s AS DOUBLE)) >= CAST('0.001' AS DOUBLE) AND abs(CAST(s AS DOUBLE)) < CAST('10000000' AS DOUBLE)) THEN s
     ELSE dbx_float_exp(CASE WHEN s[1] = '-' THEN '-' ELSE '' END, ltrim(s, '-'))
   END`,
  `CREATE OR REPLACE TEMP MACRO dbx_csv_field(t) AS CASE
     WHEN t IS NULL THEN 'null'
     WHEN t = '' OR contains(t, '"') OR contains(t, ',') OR contains(t, chr(13)) OR contains(t, chr(10)) THEN '"' || replace(t, '"', '""') || '"'
     ELSE t
   END`,
];

/**
 * DuckDB SQL giving the JSON_ARRAY/CSV text of column expression x of DuckDB type t, exactly as
 * valueText(normalise(value)) renders it; null for types whose text is made in JS only (intervals,
 * binary, nested types, HUGEINT's range check, ...).
 */
export function textSql(x, t) {
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN: case DuckDBTypeId.TINYINT: case DuckDBTypeId.SMALLINT: case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT: case DuckDBTypeId.UTINYINT: case DuckDBTypeId.USMALLINT: case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.DECIMAL: case DuckDBTypeId.DATE:
      return `CAST(${x} AS VARCHAR)`;
    case DuckDBTypeId.VARCHAR: return `CAST(${x} AS VARCHAR)`; // also JSON (VARIANT), as its text
    // Not FLOAT: DuckDB prints e.g. 3985863.75 where the shortest float32 text is 3985863.8.
    case DuckDBTypeId.DOUBLE: return `dbx_float_text(CAST(${x} AS VARCHAR))`;
    case DuckDBTypeId.TIMESTAMP_TZ: return `regexp_replace(regexp_replace(CAST(${x} AS VARCHAR), ' ', 'T'), '\\+00(:00)?$', '') || 'Z'`;
    case DuckDBTypeId.TIMESTAMP: return `regexp_replace(regexp_replace(CAST(${x} AS VARCHAR), ' ', 'T'), '\\+00(:00)?$', '')`;
    default: return null;
  }
}

/** Converts a DuckDB value to the normalised JS value for a Databricks type (see interface). */
export function normalise(v, typeText) { return normaliser(typeText)(v); }

/**
 * The qualified Databricks type of a DuckDB INTERVAL result column, from its values: DuckDB has
 * one INTERVAL type, Databricks a year-month and a day-time family. A column holding any month
 * count is YEAR TO MONTH; otherwise (including all NULL or zero) DAY TO SECOND, as intervalText
 * prints it. Narrower forms (e.g. DAY TO HOUR) cannot be told apart from the values.
 */
export function intervalType(values) {
  return values.some((v) => v && Number(v.months ?? 0) !== 0) ? 'INTERVAL YEAR TO MONTH' : 'INTERVAL DAY TO SECOND';
}

/** The value converter of normalise for one Databricks type, chosen once per result column. */
export function normaliser(typeText) {
  const nullable = (f) => (v) => (v === null || v === undefined ? null : f(v));
  if (/^INTERVAL YEAR/i.test(typeText)) return nullable((v) => intervalText(v, true));
  switch (typeText.split(/[<(\s]/)[0]) {
    case 'BOOLEAN': return nullable(Boolean);
    case 'TINYINT': case 'SMALLINT': case 'INT': case 'FLOAT': case 'DOUBLE': return nullable(Number);
    case 'BIGINT': return nullable((v) => {
      const b = BigInt(v);
      if (BigInt.asIntN(64, b) !== b) throw new SqlError('ARITHMETIC_OVERFLOW', '22003', 'long overflow. Use \'try_add\' to tolerate overflow and return NULL instead. If necessary set "ansi_mode" to "false" to bypass this error.');
      return b;
    });
    case 'STRING': return nullable((v) => (typeof v === 'string' ? v : String(v)));
    case 'INTERVAL': return nullable((v) => intervalText(v, false));
    case 'TIMESTAMP': return nullable((v) => tsText(String(v), true));
    case 'TIMESTAMP_NTZ': return nullable((v) => tsText(String(v), false));
    case 'BINARY': return nullable((v) => new Uint8Array(v.bytes));
    case 'ARRAY': case 'MAP': case 'STRUCT': return nullable(jsonText);
    default: return nullable(String); // DECIMAL, VARIANT, DATE, VOID and anything else: text
  }
}

/**
 * Databricks text for an interval: year-month as `Y-M` (e.g. `1-2`, `-0-3`), day-time as
 * `D HH:MM:SS.NNNNNNNNN` (e.g. `1 02:03:04.500000000`), as in the docs' examples
 * (make_ym_interval, make_dt_interval) and the Databricks JDBC driver. DuckDB has one INTERVAL
 * type (months, days, micros), so the kind comes from the value: months only is year-month, a
 * zero interval is day-time unless the column is year-month (yearMonth), and a mix (impossible
 * in Databricks) keeps DuckDB's text.
 */
function intervalText(v, yearMonth) {
  const months = Number(v.months ?? 0);
  const micros = BigInt(v.days ?? 0) * 86_400_000_000n + BigInt(v.micros ?? 0);
  if (months !== 0 && micros !== 0n) return String(v);
  if (months !== 0 || yearMonth) {
    const abs = Math.abs(months);
    return `${months < 0 ? '-' : ''}${Math.floor(abs / 12)}-${abs % 12}`;
  }
  const abs = micros < 0n ? -micros : micros;
  const pad = (n) => String(n).padStart(2, '0');
  const day = abs / 86_400_000_000n;
  const rest = abs % 86_400_000_000n;
  const secs = rest / 1_000_000n;
  const frac = String(rest % 1_000_000n).padStart(6, '0') + '000';
  return `${micros < 0n ? '-' : ''}${day} ${pad(secs / 3600n)}:${pad((secs / 60n) % 60n)}:${pad(secs % 60n)}.${frac}`;
}

// DuckDB renders '2024-01-01 10:00:00.5+00'; Databricks-style output is ISO with T (and Z for instants).
function tsText(s, utc) {
  const base = s.replace(' ', 'T').replace(/\+00(:00)?$/, '');
  return utc ? base + 'Z' : base;
}

// JSON text for nested values: numbers stay numbers (exact decimal text), maps become objects.
function jsonText(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  const name = v.constructor?.name ?? '';
  if (name === 'DuckDBListValue' || name === 'DuckDBArrayValue') return `[${v.items.map(jsonText).join(',')}]`;
  if (name === 'DuckDBMapValue') return `{${v.entries.map((e) => `${JSON.stringify(String(e.key))}:${jsonText(e.value)}`).join(',')}}`;
  if (name === 'DuckDBStructValue') return `{${Object.entries(v.entries).map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
  if (name === 'DuckDBDecimalValue') return v.toString();
  if (name === 'DuckDBTimestampTZValue') return JSON.stringify(tsText(v.toString(), true));
  if (name === 'DuckDBTimestampValue') return JSON.stringify(tsText(v.toString(), false));
  if (name === 'DuckDBBlobValue') return JSON.stringify(Buffer.from(v.bytes).toString('base64'));
  return JSON.stringify(String(v));
}

/* ------------------------------------------------------------------ text forms */

/* Shortest decimal digits that round-trip through float32, so a FLOAT 0.1
 * prints as 0.1 and not as the widened double 0.10000000149011612. */
function shortestFloat32(x) {
  for (let p = 1; p < 10; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

/* FLOAT/DOUBLE text as Spark's CAST(... AS STRING) prints it (Java's
 * Double.toString): plain notation with at least one fractional digit for
 * 1e-3 <= |x| < 1e7, otherwise d.dddE<exp>; NaN / Infinity / -Infinity. */
function floatText(x, single) {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const v = single ? shortestFloat32(x) : x;
  const abs = Math.abs(v);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(v);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mant, exp] = v.toExponential().split('e');
  return `${mant.includes('.') ? mant : `${mant}.0`}E${exp.replace('+', '')}`;
}

/* Returns the JSON_ARRAY / CSV text of one engine value (null stays null).
 * BINARY is upper-case hex (Databricks' drivers decode it as hex). */
export function valueText(value, column) {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string': return value;
    case 'boolean': return value ? 'true' : 'false';
    case 'bigint': return value.toString();
    case 'number':
      if (column.type_name === 'DOUBLE') return floatText(value, false);
      if (column.type_name === 'FLOAT') return floatText(value, true);
      return Number.isInteger(value) ? String(value) : floatText(value, false);
    default:
      if (value instanceof Uint8Array) return Buffer.from(value).toString('hex').toUpperCase();
      return String(value);
  }
}

function rowText(row, columns) {
  return row.map((v, i) => valueText(v, columns[i]));
}

/* ------------------------------------------------------------------ encoders */

function csvField(text) {
  if (text === null) return 'null';
  if (text === '' || /[",\r\n]/.test(text)) return `"${text.replaceAll('"', '""')}"`;
  return text;
}

/* Arrow type chosen for a statement-API column. DECIMAL is Decimal128 and
 * TIMESTAMP is microseconds in UTC, as Spark's Arrow conversion produces;
 * INTERVAL, complex types and VARIANT travel as Utf8 text. */
function arrowType(column) {
  switch (column.type_name) {
    case 'BOOLEAN': return new Bool();
    case 'BYTE': return new Int8();
    case 'SHORT': return new Int16();
    case 'INT': return new Int32();
    case 'LONG': return new Int64();
    case 'FLOAT': return new Float32();
    case 'DOUBLE': return new Float64();
    case 'BINARY': return new Binary();
    case 'DATE': return new DateDay();
    case 'DECIMAL': {
      const m = /\(\s*(\d+)\s*,\s*(\d+)\s*\)/.exec(column.type_text || '');
      const precision = column.type_precision ?? (m ? Number(m[1]) : 10);
      const scale = column.type_scale ?? (m ? Number(m[2]) : 0);
      return new Decimal(scale, precision, 128);
    }
    case 'TIMESTAMP': return new Timestamp(TimeUnit.MICROSECOND, 'UTC');
    default:
      if (/^TIMESTAMP_NTZ/i.test(column.type_text || '')) return new Timestamp(TimeUnit.MICROSECOND);
      return new Utf8();
  }
}

const TS_RE = /^(-?\d{4,})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/;

/* Microseconds since the epoch for the engine's TIMESTAMP text; no zone
 * suffix (TIMESTAMP_NTZ) is read as wall-clock time in UTC. */
function timestampMicros(text) {
  const m = TS_RE.exec(text);
  if (!m) throw new Error(`unreadable timestamp ${JSON.stringify(text)}`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  let micros = BigInt(ms) * 1000n + BigInt((m[7] || '').padEnd(6, '0').slice(0, 6));
  if (m[8] && m[8] !== 'Z') {
    const sign = m[8][0] === '-' ? -1n : 1n;
    const digits = m[8].slice(1).replace(':', '');
    micros -= sign * BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000_000n;
  }
  return micros;
}

function dateDays(text) {
  const m = /^(-?\d{4,})-(\d\d)-(\d\d)/.exec(text);
  if (!m) throw new Error(`unreadable date ${JSON.stringify(text)}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000;
}

/* Unscaled 128-bit two's complement words (little endian) of a decimal text. */
function decimalWords(text, scale, out, at) {
  const neg = text.startsWith('-');
  const [int, frac = ''] = text.replace(/^[-+]/, '').split('.');
  let v = BigInt(`${int || '0'}${frac.padEnd(scale, '0').slice(0, scale)}`);
  if (neg) v = -v;
  v = BigInt.asUintN(128, v);
  for (let w = 0; w < 4; w++) out[at + w] = Number((v >> BigInt(32 * w)) & 0xffffffffn);
}

function variableWidth(type, texts) {
  const parts = texts.map((t) => (t === null ? null : (t instanceof Uint8Array ? t : Buffer.from(t, 'utf8'))));
  const offsets = new Int32Array(parts.length + 1);
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i] + (parts[i] ? parts[i].length : 0);
  const data = new Uint8Array(offsets[parts.length]);
  parts.forEach((p, i) => { if (p) data.set(p, offsets[i]); });
  return { type, valueOffsets: offsets, data };
}

/* One Arrow Data column from engine values. Built directly with makeData so
 * BIGINT and microsecond timestamps keep full precision. */
function arrowColumn(column, values) {
  const type = arrowType(column);
  const n = values.length;
  const validity = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) nullCount++;
    else validity[i >> 3] |= 1 << (i & 7);
  });
  let props;
  if (type instanceof Utf8) {
    props = variableWidth(type, values.map((v) => valueText(v, column)));
  } else if (type instanceof Binary) {
    props = variableWidth(type, values.map((v) => (v == null ? null : v)));
  } else if (type instanceof Bool) {
    const bits = new Uint8Array((n + 7) >> 3);
    values.forEach((v, i) => { if (v) bits[i >> 3] |= 1 << (i & 7); });
    props = { type, data: bits };
  } else if (type instanceof Decimal) {
    const words = new Uint32Array(n * 4);
    values.forEach((v, i) => { if (v != null) decimalWords(String(v), type.scale, words, i * 4); });
    props = { type, data: words };
  } else {
    const data = new type.ArrayType(n);
    const convert = type instanceof Timestamp ? timestampMicros
      : type instanceof DateDay ? dateDays
        : type instanceof Int64 ? (v) => BigInt(v)
          : (v) => Number(v);
    values.forEach((v, i) => { if (v != null) data[i] = convert(v); });
    props = { type, data };
  }
  return makeData({ ...props, length: n, nullCount, nullBitmap: nullCount ? validity : null });
}

function encodeArrow(columns, rows) {
  const fields = columns.map((c) => new Field(c.name, arrowType(c), true));
  const schema = new Schema(fields);
  const children = columns.map((c, ci) => arrowColumn(c, rows.map((r) => r[ci])));
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children }));
  return Buffer.from(tableToIPC(new Table(schema, [batch]), 'stream'));
}

/* ------------------------------------------------------------------ ResultSet */

/* Thrown by ResultSet.create when an INLINE result is over the cap; the
 * statement fails with it (BAD_REQUEST, Databricks' wording). */
export class InlineLimitError extends Error {
  constructor(limit) {
    super(`Inline byte limit exceeded. Statements executed with disposition=INLINE can have a result size of at most ${limit} bytes. Please execute the statement with disposition=EXTERNAL_LINKS if you want to download the full result.`);
  }
}

/* The chunked result of one SUCCEEDED statement. Each chunk is encoded once,
 * when the statement finishes: INLINE chunks keep their JSON_ARRAY rows (text),
 * EXTERNAL_LINKS chunks their file bytes, spilled to spillDir when one is given
 * so that big results do not sit in the server's memory. The engine's rows are
 * not kept. */
export class ResultSet {
  /* create(result, {format, disposition, rowLimit, byteLimit}, settings,
   * {spillDir}) -> ResultSet. Applies row_limit / byte_limit (setting
   * truncated) and the INLINE cap (throws InlineLimitError). Sizes are
   * measured on the compact JSON text of each row, our stand-in for
   * Databricks' internal size. One pass: each row is turned into text once. */
  static create(result, { format, disposition, rowLimit, byteLimit }, settings, { spillDir = null } = {}) {
    const columns = result.columns || [];
    if (result.text && columns.length) return ResultSet.fromText(result, { format, disposition, rowLimit, byteLimit }, settings, spillDir);
    const rows = result.rows || [];
    const set = new ResultSet(columns, format, disposition, spillDir);
    if (columns.length === 0) return set;
    const external = disposition === 'EXTERNAL_LINKS';
    const maxRows = Math.max(1, settings.chunk_rows);
    const end = rowLimit != null ? Math.min(rows.length, rowLimit) : rows.length;
    set.truncated = end < rows.length;
    let total = 0;
    let start = 0;
    let bytes = 0;
    let pending = []; // INLINE: text rows; JSON_ARRAY: row JSON; CSV: CSV lines; ARROW_STREAM: unused
    const flush = (stop) => {
      set.addChunk(start, stop - start, bytes, pending, rows);
      start = stop;
      bytes = 0;
      pending = [];
    };
    let i = 0;
    for (; i < end; i++) {
      const texts = rowText(rows[i], columns);
      const json = JSON.stringify(texts);
      const size = Buffer.byteLength(json) + 1;
      if (byteLimit != null && total + size > byteLimit) { set.truncated = true; break; }
      total += size;
      if (i > start && (i - start >= maxRows || bytes + size > settings.chunk_bytes)) flush(i);
      bytes += size;
      if (!external) pending.push(texts);
      else if (format === 'JSON_ARRAY') pending.push(json);
      else if (format === 'CSV') pending.push(texts.map(csvField).join(','));
    }
    if (!external && total > settings.inline_limit_bytes) {
      set.release();
      throw new InlineLimitError(settings.inline_limit_bytes);
    }
    // An empty EXTERNAL_LINKS result has no chunk and so no link; INLINE keeps one empty chunk.
    if (i > 0 || !external) flush(i);
    set.rowCount = i;
    set.internalBytes = total;
    return set;
  }

  /* create() for an engine result carrying row texts instead of rows (the engine's rowText
   * option, EXTERNAL_LINKS JSON_ARRAY or CSV only): text.json holds each row's JSON_ARRAY text,
   * or text.csv each CSV line and text.size its JSON text's byte length. Same limits, sizes and
   * chunk boundaries as create(). */
  static fromText(result, { format, disposition, rowLimit, byteLimit }, settings, spillDir) {
    const { json, csv, size: sizes } = result.text;
    const lines = format === 'CSV' ? csv : json;
    if (!lines || disposition !== 'EXTERNAL_LINKS') throw new Error(`row texts do not fit ${disposition} ${format}`);
    const set = new ResultSet(result.columns, format, disposition, spillDir);
    const maxRows = Math.max(1, settings.chunk_rows);
    const end = rowLimit != null ? Math.min(lines.length, rowLimit) : lines.length;
    set.truncated = end < lines.length;
    let total = 0;
    let start = 0;
    let bytes = 0;
    let i = 0;
    for (; i < end; i++) {
      const size = (sizes ? sizes[i] : Buffer.byteLength(lines[i])) + 1;
      if (byteLimit != null && total + size > byteLimit) { set.truncated = true; break; }
      total += size;
      if (i > start && (i - start >= maxRows || bytes + size > settings.chunk_bytes)) {
        set.addChunk(start, i - start, bytes, lines.slice(start, i), null);
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    if (i > 0) set.addChunk(start, i - start, bytes, lines.slice(start, i), null);
    set.rowCount = i;
    set.internalBytes = total;
    return set;
  }

  constructor(columns, format, disposition, spillDir) {
    this.columns = columns;
    this.format = format;
    this.disposition = disposition;
    this.spillDir = spillDir;
    this.truncated = false;
    this.chunks = [];
    this.rowCount = 0;
    this.internalBytes = 0;
    this.released = false;
  }

  /* Encodes and stores one chunk: rows [offset, offset+count) whose per-format
   * pieces (see create) are in pending. */
  addChunk(offset, count, size, pending, rows) {
    const c = { chunk_index: this.chunks.length, row_offset: offset, row_count: count, size };
    if (this.disposition === 'INLINE') c.data = pending;
    else {
      let body;
      if (this.format === 'ARROW_STREAM') body = encodeArrow(this.columns, rows.slice(offset, offset + count));
      else if (this.format === 'CSV') {
        if (c.chunk_index === 0) pending.unshift(this.columns.map((col) => csvField(col.name)).join(','));
        body = Buffer.from(pending.length ? `${pending.join('\r\n')}\r\n` : '', 'utf8');
      } else body = Buffer.from(`[${pending.join(',')}]`, 'utf8');
      c.byte_count = body.length;
      if (this.spillDir) {
        if (c.chunk_index === 0) mkdirSync(this.spillDir, { recursive: true });
        c.file = path.join(this.spillDir, `chunk-${c.chunk_index}`);
        writeFileSync(c.file, body);
      } else c.body = body;
    }
    this.chunks.push(c);
  }

  get chunkCount() { return this.chunks.length; }

  /* The statement's `manifest` object. A result without columns
   * (DDL) has column_count 0 and no chunks, and so has an EXTERNAL_LINKS result
   * without rows (a link to an empty file would serve nothing). Per-chunk byte_count is given for
   * EXTERNAL_LINKS only, where it is the size of the downloadable file. */
  manifest() {
    const external = this.disposition === 'EXTERNAL_LINKS';
    const m = {
      format: this.format,
      schema: { column_count: this.columns.length },
      total_chunk_count: this.chunks.length,
      total_row_count: this.rowCount,
      total_byte_count: external ? this.chunks.reduce((s, c) => s + c.byte_count, 0) : this.internalBytes,
      truncated: this.truncated,
    };
    if (this.columns.length) {
      m.schema.columns = this.columns.map((c, i) => {
        const col = { name: c.name, position: i, type_name: c.type_name, type_text: c.type_text };
        if (c.type_precision != null) col.type_precision = c.type_precision;
        if (c.type_scale != null) col.type_scale = c.type_scale;
        if (c.type_interval_type != null) col.type_interval_type = c.type_interval_type;
        return col;
      });
    }
    if (this.chunks.length) m.chunks = this.chunks.map((c) => this.chunkInfo(c));
    return m;
  }

  chunkInfo(c) {
    const info = { chunk_index: c.chunk_index, row_offset: c.row_offset, row_count: c.row_count };
    if (this.disposition === 'EXTERNAL_LINKS') info.byte_count = c.byte_count;
    return info;
  }

  /* The next_* fields that let a client walk to chunk index+1 (absent on the last). */
  nextFields(index, statementId) {
    if (index + 1 >= this.chunks.length) return {};
    return {
      next_chunk_index: index + 1,
      next_chunk_internal_link: `/api/2.0/sql/statements/${statementId}/result/chunks/${index + 1}`,
    };
  }

  /* INLINE ResultData for one chunk (data_array omitted when it has no rows). */
  inlineChunk(index, statementId) {
    const c = this.chunks[index];
    const out = { chunk_index: c.chunk_index, row_offset: c.row_offset, row_count: c.row_count };
    if (c.row_count > 0) out.data_array = c.data;
    return Object.assign(out, this.nextFields(index, statementId));
  }

  /* The file behind an external link: compact JSON, CSV (header in chunk 0
   * only) or an Arrow IPC stream. Resolves to null once the result is released. */
  async chunkBytes(index) {
    if (this.released) return null;
    const c = this.chunks[index];
    if (!c.file) return c.body;
    try {
      return await readFile(c.file);
    } catch (err) {
      if (err.code === 'ENOENT') return null; // released while we read
      throw err;
    }
  }

  /* Drops the chunks (statement CLOSED); outstanding links then answer NoSuchKey. */
  release() {
    this.released = true;
    this.chunks = this.chunks.map(({ data, body, file, ...rest }) => rest);
    if (this.spillDir) rmSync(this.spillDir, { recursive: true, force: true });
  }
}

/* ------------------------------------------------------------------ presigned links */

/* Per-workspace link registry: token -> {resultSet, index, expiresAt, headers}. */
const registries = new WeakMap();

function registry(ws) {
  let r = registries.get(ws);
  if (!r) {
    r = { links: new Map(), secret: randomBytes(32) };
    registries.set(ws, r);
  }
  return r;
}

function sign(secret, text) {
  return createHmac('sha256', secret).update(text).digest('hex');
}

function amzDate(ms) {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/* Returns a fresh ExternalLink for one chunk of a ResultSet,
 * valid for settings.link_ttl_seconds (read now, so tests can shorten it). */
export function issueLink(ws, statementId, resultSet, index) {
  const reg = registry(ws);
  const now = Date.now();
  for (const [token, link] of reg.links) {
    if (link.expiresAt <= now || link.resultSet.released) reg.links.delete(token);
  }
  const ttl = Number(ws.settings.link_ttl_seconds);
  const expiresAt = now + ttl * 1000;
  const token = randomBytes(18).toString('hex');
  const key = randomBytes(32);
  const headers = {
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': key.toString('base64'),
    'x-amz-server-side-encryption-customer-key-MD5': createHash('md5').update(key).digest('base64'),
  };
  reg.links.set(token, { resultSet, index, expiresAt, headers });
  const ext = { CSV: 'csv', ARROW_STREAM: 'arrow', JSON_ARRAY: 'json' }[resultSet.format];
  const path = `${PRESIGNED_PREFIX}results/${statementId}/chunk-${index}-${token}.${ext}`;
  const query = new URLSearchParams({
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `DBXLOCAL${token.slice(0, 12).toUpperCase()}/${amzDate(now).slice(0, 8)}/local/s3/aws4_request`,
    'X-Amz-Date': amzDate(now),
    'X-Amz-Expires': String(ttl),
    'X-Amz-SignedHeaders': ['host', ...Object.keys(headers).map((h) => h.toLowerCase())].join(';'),
  });
  query.set('X-Amz-Signature', sign(reg.secret, `${path}?${query}`));
  const c = resultSet.chunks[index];
  return {
    chunk_index: c.chunk_index,
    row_offset: c.row_offset,
    row_count: c.row_count,
    byte_count: c.byte_count,
    ...resultSet.nextFields(index, statementId),
    external_link: `${ws.baseUrl}${path}?${query}`,
    expiration: new Date(expiresAt).toISOString(),
    http_headers: headers,
  };
}

function xmlError(ctx, status, code, message) {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`;
  ctx.sendRaw(status, Buffer.from(body, 'utf8'), { 'content-type': 'application/xml' });
}

function sameText(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

/* GET of a presigned link. Checks run in the order cloud storage applies
 * them: auth mechanism, signature, expiry, SSE-C headers, object existence. */
async function download(ctx) {
  const reg = registry(ctx.ws);
  if (ctx.req.headers.authorization !== undefined) {
    return xmlError(ctx, 400, 'InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
  }
  const params = new URLSearchParams(ctx.url.search);
  const signature = params.get('X-Amz-Signature') || '';
  params.delete('X-Amz-Signature');
  const token = /-([0-9a-f]{36})\.[a-z]+$/.exec(ctx.url.pathname)?.[1];
  const link = token && reg.links.get(token);
  if (!link || !sameText(signature, sign(reg.secret, `${ctx.url.pathname}?${params}`))) {
    return xmlError(ctx, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  if (Date.now() >= link.expiresAt) {
    return xmlError(ctx, 403, 'AccessDenied', 'Request has expired');
  }
  for (const [name, value] of Object.entries(link.headers)) {
    if (!sameText(ctx.req.headers[name.toLowerCase()] ?? '', value)) {
      return xmlError(ctx, 403, 'AccessDenied', `Missing or wrong required header ${name}`);
    }
  }
  const body = await link.resultSet.chunkBytes(link.index);
  if (!body) return xmlError(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
  ctx.sendRaw(200, body, { 'content-type': 'application/octet-stream' });
}

/* Router entries for the presigned download path (no workspace auth: the
 * URL itself is the credential, as with real cloud storage). */
export function routes() {
  return [{ method: 'GET', path: /^\/dbx-local-presigned\/results\/[^/]+\/[^/]+$/, auth: false, handler: download }];
}
