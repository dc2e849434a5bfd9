// The HTTP layer of dbx-local: routing, the per-request context handed to API modules,
// Databricks-style JSON errors, bearer-token authentication, the request log and the
// fault-injection hook. API modules only declare routes (see `routes(ws)` in each module):
//   { method, path: RegExp on the raw url.pathname, auth?: boolean (default true),
//     stream?: boolean (default false: the body is read into ctx.body first; true: ctx.body
//     is null and the handler reads ctx.req itself, e.g. large uploads), handler(ctx) }

import http from 'node:http';
import { ApiError } from './sql/errors.mjs';

// Bodies above this are refused unless the route streams its own body (Files API uploads).
const MAX_BUFFERED_BODY = 64 * 1024 * 1024;
const LOG_LIMIT = 2000;
// Header values that carry credentials: logged by name only.
const SECRET_HEADERS = /^(authorization|x-amz-server-side-encryption-customer-.*|x-ms-encryption-key.*|x-goog-encryption-key.*)$/i;

// Sends a JSON body; every JSON answer of the emulator goes through here.
export function sendJson(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers });
  res.end(body);
}

// Sends the Databricks error envelope {error_code, message, ...extra}.
export function sendError(res, status, errorCode, message, extra = {}, headers = {}) {
  sendJson(res, status, { error_code: errorCode, message, ...extra }, headers);
}

// Authentication failures as a workspace answers them. Evidence (public issue reports, no official
// document states it):
// - unknown PAT: HTTP 403, header `X-Databricks-Reason-Phrase: Invalid access token.`, body
//   {"error_code": 403, "message": "Invalid access token."} with a numeric error_code
//   (databricks/databricks-sdk-go#873, 2024; the same body in omnigent-ai/omnigent#3231, 2026).
// - expired Databricks OAuth access token: also 403, not 401 (n8n-io/n8n#34147 and its fix #34325,
//   2026: token refresh only triggered once n8n treated 403 as "expired"; databricks/cli#4768 reports
//   an "Invalid Token" failure exactly one hour into a run). Clients must refresh on this 403 too.
// - no (or non-Bearer) credentials: HTTP 401 {"error_code": 401, "message": "Credential was not sent
//   or was of an unsupported type for this API."} (PipedreamHQ/pipedream#20701, 2026).
// Real messages end with " [ReqId: <uuid>]"; dbx-local leaves that out.
export function sendInvalidToken(res) {
  const message = 'Invalid access token.';
  sendError(res, 403, 403, message, {}, { 'X-Databricks-Reason-Phrase': message });
}

export function sendNoCredentials(res) {
  sendError(res, 401, 401, 'Credential was not sent or was of an unsupported type for this API.');
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BUFFERED_BODY) {
        reject(new ApiError(413, 'RESOURCE_EXHAUSTED', `Request body exceeds ${MAX_BUFFERED_BODY} bytes.`));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

// The bearer token of a request, or null when there is no `Authorization: Bearer ...`.
export function bearerToken(req) {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m ? m[1] : null;
}

function logEntry(req, url) {
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = SECRET_HEADERS.test(k) ? '[REDACTED]' : v;
  return {
    time: new Date().toISOString(),
    method: req.method,
    path: url.pathname,
    status: null,
    user_agent: req.headers['user-agent'] ?? null,
    has_authorization: req.headers.authorization !== undefined,
    header_names: Object.keys(req.headers),
    headers,
  };
}

// Builds the request listener. `routeTables` is a list of route arrays as returned by
// each module's routes(ws). The fault registry (ws.faults) is consulted before routing.
export function createHandler(ws, routeTables) {
  const routes = routeTables.flat();
  return async function handle(req, res) {
    const url = new URL(req.url, ws.baseUrl ?? 'http://127.0.0.1');
    const entry = logEntry(req, url);
    ws.requestLog.push(entry);
    if (ws.requestLog.length > LOG_LIMIT) ws.requestLog.splice(0, ws.requestLog.length - LOG_LIMIT);
    res.on('finish', () => { entry.status = res.statusCode; });
    res.on('close', () => { entry.status ??= res.statusCode; });

    try {
      if (ws.faults && (await ws.faults.intercept(req, res, url))) return;

      const matches = routes.map((r) => ({ r, m: r.path.exec(url.pathname) })).filter((x) => x.m);
      if (matches.length === 0) {
        return sendError(res, 404, 'ENDPOINT_NOT_FOUND', `No API found for '${req.method} ${url.pathname}'`);
      }
      const hit = matches.find((x) => x.r.method === req.method);
      if (!hit) {
        return sendError(res, 405, 'ENDPOINT_NOT_FOUND', `No API found for '${req.method} ${url.pathname}'`,
          {}, { Allow: [...new Set(matches.map((x) => x.r.method))].join(', ') });
      }
      const { r: route, m } = hit;

      let principal = null;
      const token = bearerToken(req);
      if (route.auth !== false) {
        if (!token) return sendNoCredentials(res);
        const resolved = ws.resolveToken(token);
        if (!resolved || resolved.expired) return sendInvalidToken(res);
        principal = resolved.principal;
      }

      const body = route.stream ? null : await readBody(req);
      const ctx = {
        req, res, url, ws, principal, body,
        token: route.auth !== false ? token : null,
        method: req.method,
        params: m.slice(1),
        json() {
          if (!body || body.length === 0) return {};
          try {
            return JSON.parse(body.toString('utf8'));
          } catch {
            throw new ApiError(400, 'MALFORMED_REQUEST', 'Could not parse request object: invalid JSON body.');
          }
        },
        send: (status, obj, headers) => sendJson(res, status, obj, headers),
        sendRaw(status, data, headers = {}) {
          const buf = typeof data === 'string' ? Buffer.from(data) : data;
          res.writeHead(status, { 'Content-Length': buf.length, ...headers });
          res.end(buf);
        },
        error: (status, errorCode, message) => sendError(res, status, errorCode, message),
      };
      await route.handler(ctx);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
      } else if (Number.isInteger(err?.status) && typeof err?.errorCode === 'string') {
        // ApiError, or any error shaped like it (status + errorCode), is a deliberate answer.
        sendError(res, err.status, err.errorCode, err.message);
      } else {
        process.stderr.write(`dbx-local: ${req.method} ${url.pathname}: ${err?.stack ?? err}\n`);
        sendError(res, 500, 'INTERNAL_ERROR', String(err?.message ?? err).split('\n')[0]);
      }
    }
  };
}

// Creates (does not start) the node:http server for a workspace and its route tables.
export function createServer(ws, routeTables) {
  const server = http.createServer(createHandler(ws, routeTables));
  // Idle connections stay open as long as cloud front ends keep them (about
  // a minute). A short timeout can fire right after the event loop was busy
  // and close a socket a client has just sent a request on.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 10 * 60 * 1000; // large uploads are allowed to take time
  return server;
}
