// A scripted hostile workspace for the integration tests: an HTTP server on
// a free 127.0.0.1 port that answers the extension's requests with canned,
// malicious replies (bad statement ids, links to other paths, header
// injection, chunks that lie about their rows, endless bodies), and records
// every request so a test can check what the extension sent, and what it
// did not.
//
//   const h = await startHostile();
//   h.script([
//     { method: 'POST', path: '/api/2.0/sql/statements', json: { ... } },
//     { method: 'GET', path: /\/result\/chunks\/1$/, reply: (req, res) => ... },
//   ]);
//   ... run the extension against h.url ...
//   h.requests      // [{ method, url, headers }] in arrival order
//   await h.stop();
//
// A route answers every request it matches (the first matching route wins);
// an unmatched request gets a 404 with a Databricks error body. `json` is
// sent as JSON text: a string is sent as is, so a test can write JSON that
// JavaScript cannot produce (1e74, duplicate keys, \u0000 in a key).

import http from 'node:http';

// The most bytes an endless body sends before giving up on a client that
// does not hang up (a client without a cap would otherwise never finish).
const ENDLESS_LIMIT = 96 * 1024 * 1024;

function matches(route, req) {
  if (route.method && route.method !== req.method) return false;
  if (route.path instanceof RegExp) return route.path.test(req.url);
  return route.path === undefined || route.path === req.url;
}

// Writes 64 KiB pieces until the client hangs up or ENDLESS_LIMIT is sent.
export function endless(res, { status = 200, contentLength } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (contentLength !== undefined) headers['content-length'] = String(contentLength);
  res.writeHead(status, headers);
  const piece = Buffer.alloc(64 * 1024, 0x20); // JSON white space
  let sent = 0;
  const pump = () => {
    while (!res.destroyed && sent < ENDLESS_LIMIT) {
      sent += piece.length;
      if (!res.write(piece)) return res.once('drain', pump);
    }
    if (!res.destroyed) res.destroy();
    return undefined;
  };
  res.write('{"statement_id":"s1","pad":"');
  pump();
}

export async function startHostile() {
  let routes = [];
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const entry = { method: req.method, url: req.url, headers: req.headers, body: '' };
    requests.push(entry);
    req.setEncoding('utf8');
    req.on('data', (d) => { entry.body += d; });
    req.on('end', () => {
      const route = routes.find((r) => matches(r, req));
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error_code: 'ENDPOINT_NOT_FOUND', message: `no route for ${req.method} ${req.url}` }));
        return;
      }
      if (route.reply) {
        route.reply(req, res, entry);
        return;
      }
      const body = typeof route.json === 'string' ? route.json : JSON.stringify(route.json);
      res.writeHead(route.status ?? 200, { 'content-type': 'application/json', ...route.headers });
      res.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    // Replaces the routes and forgets the requests seen so far.
    script(list) {
      routes = list;
      requests.length = 0;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
