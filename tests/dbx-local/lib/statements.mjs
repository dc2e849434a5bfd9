/*
 * Statement Execution API of dbx-local: POST /api/2.0/sql/statements,
 * GET .../{id}, GET .../{id}/result/chunks/{n}, POST .../{id}/cancel.
 *
 * Each statement runs asynchronously through ws.engine.execute and moves
 * PENDING -> RUNNING -> SUCCEEDED | FAILED | CANCELED; a SUCCEEDED statement
 * becomes CLOSED (results released) results_ttl_seconds after it finished and
 * is forgotten (404) after 12 hours in a terminal state, as on Databricks.
 * Request validation answers non-200 errors; SQL failures are HTTP 200 with
 * status.state FAILED, because that is what clients are written against.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ApiError } from './sql/errors.mjs';
import { InlineLimitError, ResultSet, issueLink, routes as downloadRoutes } from './results.mjs';

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'CLOSED']);
const FORGET_AFTER_MS = 12 * 3600 * 1000;
const SWEEP_MS = 30_000;
const MAX_STATEMENT_BYTES = 16 * 1024 * 1024;
const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const invalid = (message) => new ApiError(400, 'INVALID_PARAMETER_VALUE', message);

/* A time-ordered id shaped like Databricks' ("01f0xxxx-xxxx-1xxx-8xxx-..."). */
function newStatementId() {
  const h = randomBytes(16).toString('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `01f0${h.slice(0, 4)}-${h.slice(4, 8)}-1${h.slice(9, 12)}-${variant}${h.slice(13, 16)}-${h.slice(20, 32)}`;
}

/* ------------------------------------------------------------------ validation */

function enumField(body, name, allowed, fallback) {
  const v = body[name] ?? fallback;
  if (!allowed.includes(v)) {
    throw invalid(`Invalid value for ${name}: ${JSON.stringify(v)}. Allowed values: ${allowed.join(', ')}.`);
  }
  return v;
}

function limitField(body, name) {
  const v = body[name];
  if (v === undefined || v === null) return null;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${name} must be a non-negative integer, got ${JSON.stringify(v)}.`);
  return n;
}

/* Returns the wait in milliseconds: "0s" or "5s".."50s" (default 10s). */
function waitField(body) {
  const v = body.wait_timeout ?? '10s';
  const m = typeof v === 'string' ? /^(\d+)s$/.exec(v) : null;
  const secs = m ? Number(m[1]) : NaN;
  if (!(secs === 0 || (secs >= 5 && secs <= 50))) {
    throw invalid(`wait_timeout must be 0s or between 5s and 50s, got ${JSON.stringify(v)}.`);
  }
  return secs * 1000;
}

function parametersField(body) {
  const list = body.parameters ?? [];
  if (!Array.isArray(list)) throw invalid('parameters must be an array of {name, value, type}.');
  return list.map((p, i) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalid(`parameters[${i}] must be an object.`);
    if (typeof p.name !== 'string' || p.name === '') throw invalid(`parameters[${i}].name is required.`);
    if (p.value !== undefined && p.value !== null && typeof p.value !== 'string') {
      throw invalid(`parameters[${i}].value must be a string or null (parameter ${p.name}).`);
    }
    if (p.type !== undefined && p.type !== null && typeof p.type !== 'string') {
      throw invalid(`parameters[${i}].type must be a SQL type string (parameter ${p.name}).`);
    }
    const out = { name: p.name, value: p.value ?? null };
    if (p.type != null) out.type = p.type;
    return out;
  });
}

function optionalString(body, name) {
  const v = body[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(`${name} must be a string.`);
  return v;
}

/* Parses an execute request into a plain spec; throws ApiError 400. */
function parseRequest(body) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('Request body must be a JSON object.');
  if (typeof body.statement !== 'string' || body.statement.trim() === '') throw invalid('statement is required.');
  if (Buffer.byteLength(body.statement) > MAX_STATEMENT_BYTES) {
    throw invalid(`statement is larger than the maximum of ${MAX_STATEMENT_BYTES} bytes.`);
  }
  if (typeof body.warehouse_id !== 'string' || body.warehouse_id === '') throw invalid('warehouse_id is required.');
  const disposition = enumField(body, 'disposition', ['INLINE', 'EXTERNAL_LINKS'], 'INLINE');
  const format = enumField(body, 'format', ['JSON_ARRAY', 'ARROW_STREAM', 'CSV'], 'JSON_ARRAY');
  if (disposition === 'INLINE' && format !== 'JSON_ARRAY') {
    throw invalid(`The ${format} format is not supported with the INLINE disposition; use EXTERNAL_LINKS.`);
  }
  const tags = body.query_tags ?? [];
  if (!Array.isArray(tags) || tags.length > 20) throw invalid('query_tags must be an array of at most 20 {key, value}.');
  return {
    sql: body.statement,
    warehouseId: body.warehouse_id,
    catalog: optionalString(body, 'catalog'),
    schema: optionalString(body, 'schema'),
    waitMs: waitField(body),
    onTimeout: enumField(body, 'on_wait_timeout', ['CONTINUE', 'CANCEL'], 'CONTINUE'),
    disposition,
    format,
    rowLimit: limitField(body, 'row_limit'),
    byteLimit: limitField(body, 'byte_limit'),
    parameters: parametersField(body),
  };
}

/* ------------------------------------------------------------------ lifecycle */

/* Per-workspace statement table, with a sweeper that releases expired results
 * even when nobody asks for them again. */
const tables = new WeakMap();

function statements(ws) {
  let t = tables.get(ws);
  if (!t) {
    t = new Map();
    tables.set(ws, t);
    const timer = setInterval(() => { for (const st of t.values()) age(ws, t, st); }, SWEEP_MS);
    timer.unref();
  }
  return t;
}

/* Applies the passage of time: SUCCEEDED -> CLOSED after results_ttl_seconds,
 * forgotten 12 h after reaching a terminal state. */
function age(ws, table, st) {
  if (!st.finishedAt) return;
  const now = Date.now();
  if (st.state === 'SUCCEEDED' && now >= st.finishedAt + Number(ws.settings.results_ttl_seconds) * 1000) {
    st.state = 'CLOSED';
    st.resultSet.release();
    st.resultSet = null;
  }
  if (now >= st.finishedAt + FORGET_AFTER_MS) table.delete(st.id);
}

function finish(st, state, fields = {}) {
  if (TERMINAL.has(st.state)) return;
  Object.assign(st, fields, { state, finishedAt: Date.now() });
  st.settle();
}

/* Runs one statement: wait for the warehouse (PENDING), execute (RUNNING),
 * then build the ResultSet or record the failure. A cancel that lands while
 * the engine works wins; the engine's late answer is dropped. */
async function run(ws, st) {
  try {
    const wh = ws.getWarehouse(st.spec.warehouseId);
    if (wh && wh.state !== 'RUNNING') await ws.startWarehouse(st.spec.warehouseId);
    if (st.state !== 'PENDING') return;
    st.state = 'RUNNING';
    const { sql, catalog, schema, parameters, disposition, format } = st.spec;
    // Linked JSON_ARRAY / CSV files need only each row's text, which the engine can have DuckDB
    // render (far cheaper than normalised values for big results).
    const rowText = disposition === 'EXTERNAL_LINKS' && format !== 'ARROW_STREAM' ? format : undefined;
    const result = await ws.engine.execute(sql, {
      principal: st.principal, catalog, schema, parameters, signal: st.abort.signal, rowText,
    });
    if (st.state !== 'RUNNING') return;
    const spillDir = ws.resultsDir ? path.join(ws.resultsDir, st.id) : null;
    const resultSet = ResultSet.create(result, st.spec, ws.settings, { spillDir });
    finish(st, 'SUCCEEDED', { resultSet });
  } catch (err) {
    if (TERMINAL.has(st.state)) return;
    finish(st, 'FAILED', { failure: failureOf(err) });
  }
}

/* status.error / sql_state for an exception. Engine errors are
 * recognised by shape (errorClass/sqlState, status/errorCode) rather than by
 * class, so any engine honouring the interface is reported the same way. */
function failureOf(err) {
  if (err instanceof InlineLimitError) return { error_code: 'BAD_REQUEST', message: err.message };
  if (typeof err?.errorClass === 'string' || typeof err?.sqlState === 'string') {
    return { error_code: 'BAD_REQUEST', message: err.message, sql_state: err.sqlState };
  }
  if (Number.isInteger(err?.status) && typeof err?.errorCode === 'string') {
    const code = { 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS', 503: 'TEMPORARILY_UNAVAILABLE' }[err.status] ?? 'BAD_REQUEST';
    return { error_code: code, message: err.message };
  }
  process.stderr.write(`dbx-local: statement failed unexpectedly: ${err?.stack ?? err}\n`);
  return { error_code: 'INTERNAL_ERROR', message: String(err?.message ?? err).split('\n')[0] };
}

function cancel(st) {
  if (TERMINAL.has(st.state)) return;
  finish(st, 'CANCELED');
  st.abort.abort();
}

/* ------------------------------------------------------------------ responses */

function statusOf(st) {
  const status = { state: st.state };
  if (st.state === 'FAILED') {
    status.error = { error_code: st.failure.error_code, message: st.failure.message };
    if (st.failure.sql_state) status.sql_state = st.failure.sql_state;
  }
  return status;
}

/* ResultData of chunk `index`: data_array for INLINE, a fresh link otherwise. */
function resultData(ws, st, index) {
  const rs = st.resultSet;
  if (rs.disposition === 'INLINE') return rs.inlineChunk(index, st.id);
  return { external_links: [issueLink(ws, st.id, rs, index)] };
}

/* StatementResponse: manifest and first chunk only once SUCCEEDED. */
function responseOf(ws, st) {
  const out = { statement_id: st.id, status: statusOf(st) };
  if (st.state === 'SUCCEEDED') {
    out.manifest = st.resultSet.manifest();
    if (st.resultSet.chunkCount > 0) out.result = resultData(ws, st, 0);
  }
  return out;
}

const sameOwner = (a, b) => a.kind === b.kind && a.name === b.name;

/* The caller's statement or a 404 identical to an unknown id, so that other
 * principals cannot probe which statements exist. */
function lookup(ctx) {
  const id = ctx.params[0];
  if (!ID_RE.test(id)) throw invalid(`Invalid statement id ${JSON.stringify(id)}: expected a UUID.`);
  const table = statements(ctx.ws);
  const st = table.get(id);
  if (st) age(ctx.ws, table, st);
  if (!table.has(id) || !sameOwner(st.principal, ctx.principal)) {
    throw new ApiError(404, 'NOT_FOUND', `Statement ${id} not found.`);
  }
  return st;
}

/* ------------------------------------------------------------------ handlers */

async function execute(ctx) {
  const spec = parseRequest(ctx.json());
  const { ws } = ctx;
  const wh = ws.getWarehouse(spec.warehouseId);
  if (!wh || wh.state === 'DELETED') {
    throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `SQL warehouse ${spec.warehouseId} does not exist.`);
  }
  if (typeof ws.canUseWarehouse === 'function' && !ws.canUseWarehouse(ctx.principal, spec.warehouseId)) {
    throw new ApiError(403, 'PERMISSION_DENIED',
      `${ctx.principal.name} does not have CAN_USE permission on SQL warehouse ${spec.warehouseId}.`);
  }
  let settle;
  const st = {
    id: newStatementId(),
    principal: ctx.principal,
    spec,
    state: 'PENDING',
    abort: new AbortController(),
    done: new Promise((resolve) => { settle = resolve; }),
    finishedAt: null,
    resultSet: null,
    failure: null,
  };
  st.settle = settle;
  statements(ws).set(st.id, st);
  // Started on the next turn so that a 0s wait reliably observes PENDING.
  setImmediate(() => { run(ws, st); });

  if (spec.waitMs > 0) {
    let timer;
    const elapsed = new Promise((resolve) => { timer = setTimeout(resolve, spec.waitMs); });
    await Promise.race([st.done, elapsed]);
    clearTimeout(timer);
    if (!TERMINAL.has(st.state) && spec.onTimeout === 'CANCEL') cancel(st);
  }
  ctx.send(200, responseOf(ws, st));
}

async function getStatement(ctx) {
  ctx.send(200, responseOf(ctx.ws, lookup(ctx)));
}

async function getChunk(ctx) {
  const st = lookup(ctx);
  const raw = ctx.params[1];
  if (!/^\d+$/.test(raw)) throw invalid(`chunk_index must be a non-negative integer, got ${JSON.stringify(raw)}.`);
  if (st.state !== 'SUCCEEDED') {
    throw new ApiError(400, 'INVALID_STATE',
      `Statement ${st.id} is in state ${st.state}; result chunks are only available for SUCCEEDED statements.`);
  }
  const index = Number(raw);
  if (index >= st.resultSet.chunkCount) {
    throw invalid(`chunk_index ${index} is out of range: the result has ${st.resultSet.chunkCount} chunk(s).`);
  }
  ctx.send(200, resultData(ctx.ws, st, index));
}

async function cancelStatement(ctx) {
  cancel(lookup(ctx));
  ctx.send(200, {});
}

/* Router entries (SERVER's router contract). The presigned download route
 * of results.mjs rides along, so links work whether or not the server mounts
 * results.mjs itself (a duplicate entry is harmless: the first match wins). */
export function routes(ws) {
  const base = '^/api/2\\.0/sql/statements';
  return [
    ...downloadRoutes(),
    { method: 'POST', path: new RegExp(`${base}/?$`), auth: true, handler: execute },
    { method: 'GET', path: new RegExp(`${base}/([^/]+)$`), auth: true, handler: getStatement },
    { method: 'GET', path: new RegExp(`${base}/([^/]+)/result/chunks/([^/]+)$`), auth: true, handler: getChunk },
    { method: 'POST', path: new RegExp(`${base}/([^/]+)/cancel$`), auth: true, handler: cancelStatement },
  ];
}
