// Fault registry: test-injected misbehaviour for requests matching a method and a path
// pattern (error statuses with Retry-After, delays, connections dropped mid-body, expired
// tokens, expired presigned links). Faults exist only with --admin; lib/admin.mjs edits them.

import { sendError, sendInvalidToken } from './http.mjs';

const KINDS = new Set(['expired_token', 'expired_link', 'drop_request']);

export class FaultRegistry {
  constructor() {
    this.faults = [];
  }

  // Validates and adds a fault spec (see lib/admin.mjs for fields). Returns the stored fault;
  // throws Error with a message meant for the admin caller when the spec is invalid.
  add(spec) {
    if (typeof spec?.path !== 'string') throw new Error('path (a RegExp source) is required');
    const re = new RegExp(spec.path);
    if (spec.kind !== undefined && !KINDS.has(spec.kind)) throw new Error(`unknown kind ${spec.kind}`);
    const count = spec.count === undefined ? 1 : Number(spec.count);
    if (!Number.isInteger(count) || count < 1) throw new Error('count must be a positive integer');
    if (spec.status !== undefined && !(Number.isInteger(spec.status) && spec.status >= 100 && spec.status <= 599)) {
      throw new Error('status must be an HTTP status code');
    }
    const skip = spec.skip === undefined ? 0 : Number(spec.skip);
    if (!Number.isInteger(skip) || skip < 0) throw new Error('skip must be a whole number');
    if (spec.after_bytes !== undefined && !(Number.isInteger(spec.after_bytes) && spec.after_bytes >= 0)) {
      throw new Error('after_bytes must be a whole number of bytes');
    }
    if (spec.status === undefined && !spec.drop && !spec.kind && !spec.delay_ms && !spec.hold_ms) {
      throw new Error('a fault needs status, drop, kind, delay_ms or hold_ms');
    }
    const fault = {
      id: this.faults.length ? this.faults[this.faults.length - 1].id + 1 : 1,
      method: spec.method ? String(spec.method).toUpperCase() : null,
      re,
      remaining: count,
      skip,
      status: spec.status,
      error_code: spec.error_code,
      message: spec.message,
      retry_after: spec.retry_after,
      delay_ms: Number(spec.delay_ms ?? 0),
      hold_ms: Number(spec.hold_ms ?? 0),
      drop: !!spec.drop,
      kind: spec.kind,
      after_bytes: spec.after_bytes,
    };
    this.faults.push(fault);
    return fault;
  }

  clear() {
    this.faults = [];
  }

  // Public view for GET /admin/faults.
  list() {
    return this.faults.map((f) => ({ id: f.id, method: f.method, path: f.re.source, remaining: f.remaining, skip: f.skip, status: f.status, kind: f.kind, drop: f.drop, delay_ms: f.delay_ms }));
  }

  #take(method, pathname) {
    if (pathname.startsWith('/admin/')) return null; // the test tool itself is never faulted
    const f = this.faults.find((x) => (!x.method || x.method === method) && x.re.test(pathname));
    if (!f) return null;
    if (f.skip > 0) { // this one passes untouched
      f.skip--;
      return null;
    }
    if (--f.remaining === 0) this.faults.splice(this.faults.indexOf(f), 1);
    return f;
  }

  // Applies the first matching fault to a request. Returns true when the fault answered
  // the request itself; false lets normal routing continue (delay-only faults, and drops,
  // which truncate whatever the real handler answers).
  async intercept(req, res, url) {
    const f = this.#take(req.method, url.pathname);
    if (!f) return false;
    if (f.delay_ms > 0) await new Promise((r) => setTimeout(r, f.delay_ms));
    if (f.kind === 'expired_token') {
      sendInvalidToken(res);
      return true;
    }
    if (f.kind === 'drop_request') {
      await dropRequest(req, f.after_bytes);
      return true;
    }
    if (f.kind === 'expired_link') {
      // What cloud object storage answers for a presigned URL past its expiry.
      const xml = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message>'
        + `<Expires>${new Date(Date.now() - 1000).toISOString()}</Expires><ServerTime>${new Date().toISOString()}</ServerTime></Error>`;
      res.writeHead(403, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
      res.end(xml);
      return true;
    }
    if (f.status !== undefined) {
      const headers = f.retry_after !== undefined ? { 'Retry-After': String(f.retry_after) } : {};
      sendError(res, f.status, f.error_code ?? defaultCode(f.status), f.message ?? `Injected fault (HTTP ${f.status}).`, {}, headers);
      if (f.drop) res.socket?.destroy();
      return true;
    }
    if (f.hold_ms > 0) holdResponse(res, f.hold_ms);
    if (f.drop) truncateResponse(res);
    return false;
  }
}

// Reads afterBytes of the request body (default: half its Content-Length), then destroys
// the socket without an answer: an upload cut off mid-body, which the handler never sees.
function dropRequest(req, afterBytes) {
  const limit = afterBytes ?? Math.floor(Number(req.headers['content-length'] ?? 0) / 2);
  return new Promise((resolve) => {
    let seen = 0;
    const cut = () => {
      req.socket?.destroy();
      resolve();
    };
    if (limit <= 0) return cut();
    req.on('data', (d) => {
      seen += d.length;
      if (seen >= limit) cut();
    });
    req.on('end', cut);
    req.on('error', resolve);
    req.on('close', resolve);
  });
}

function defaultCode(status) {
  return { 400: 'BAD_REQUEST', 401: 401, 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'RESOURCE_CONFLICT', 429: 'REQUEST_LIMIT_EXCEEDED', 500: 'INTERNAL_ERROR', 502: 'BAD_GATEWAY', 503: 'TEMPORARILY_UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' }[status] ?? 'UNKNOWN';
}

// Holds the real answer back for ms: the handler runs at once, and the response leaves
// (if the client still waits) only afterwards. Node sends no header before the first
// write or end, so deferring those defers everything.
function holdResponse(res, ms) {
  const origWrite = res.write.bind(res);
  const origEnd = res.end.bind(res);
  const released = new Promise((r) => setTimeout(r, ms));
  res.write = (...args) => { released.then(() => origWrite(...args)); return true; };
  res.end = (...args) => { released.then(() => origEnd(...args)); return res; };
}

// Makes the response die mid-body: headers (with the real Content-Length) and the first
// half of the body reach the client, then the socket is destroyed.
function truncateResponse(res) {
  const chunks = [];
  const origWrite = res.write.bind(res);
  res.write = (chunk, enc, cb) => {
    if (chunk) chunks.push(Buffer.from(chunk, typeof enc === 'string' ? enc : undefined));
    if (typeof cb === 'function') cb();
    else if (typeof enc === 'function') enc();
    return true;
  };
  res.end = (chunk, enc, cb) => {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk, typeof enc === 'string' ? enc : undefined));
    const body = Buffer.concat(chunks);
    // After writeHead the header block is already built (_header); only set it when not.
    if (!res._header && !res.hasHeader('Content-Length')) res.setHeader('Content-Length', body.length);
    const half = body.subarray(0, Math.floor(body.length / 2));
    // The real end() is never called: the connection dies instead.
    if (!half.length) res.flushHeaders();
    origWrite(half, () => setImmediate(() => res.socket?.destroy()));
    return res;
  };
}
