// HTTP behaviour end to end against dbx-local's fault
// injection: 429 with Retry-After, 503, a dropped connection and a stalled
// response are retried; other 4xx are not; the retry budget ends retries;
// plain http only to loopback; an expired external link fails without
// naming the link's query or headers.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import net from 'node:net';

import { workspace } from './harness.mjs';

const SUBMIT = '^/api/2\\.0/sql/statements$';
const ONE = "SELECT json_extract(row, '$.x') AS x FROM dbx_query('SELECT 42 AS x'%s);";
const one = (opts) => ONE.replace('%s', opts ? `, NULL, '${JSON.stringify(opts)}'` : '');

let ws;
before(async () => { ws = await workspace(); });
after(async () => { await ws?.stop(); });
beforeEach(async () => {
  await ws.api('DELETE', '/admin/faults');
  await ws.api('DELETE', '/admin/requests');
});

const fault = (f) => ws.api('POST', '/admin/faults', f);
async function submits() {
  const r = await ws.api('GET', '/admin/requests');
  return r.body.requests.filter((x) => x.method === 'POST' && x.path === '/api/2.0/sql/statements');
}

test('429 with Retry-After is retried after the given delay', async () => {
  await fault({ method: 'POST', path: SUBMIT, status: 429, retry_after: 1, count: 1 });
  const t0 = Date.now();
  const [row] = await ws.query(one());
  assert.equal(row.x, 42);
  assert.ok(Date.now() - t0 >= 1000, 'waited for Retry-After');
  assert.deepEqual((await submits()).map((r) => r.status), [429, 200]);
});

test('503 is retried until the warehouse answers', async () => {
  await fault({ method: 'POST', path: SUBMIT, status: 503, count: 2 });
  const [row] = await ws.query(one());
  assert.equal(row.x, 42);
  assert.deepEqual((await submits()).map((r) => r.status), [503, 503, 200]);
});

test('a connection dropped mid-response is retried', async () => {
  await fault({ method: 'POST', path: SUBMIT, drop: true, count: 1 });
  const [row] = await ws.query(one());
  assert.equal(row.x, 42);
  assert.equal((await submits()).length, 2);
});

test('a stalled response hits the inactivity time-out and is retried', async () => {
  await fault({ method: 'POST', path: SUBMIT, delay_ms: 4000, count: 1 });
  const t0 = Date.now();
  const [row] = await ws.query(one({ http_timeout_seconds: 1 }));
  assert.equal(row.x, 42);
  assert.ok(Date.now() - t0 < 3900, 'did not wait for the stalled answer');
  assert.equal((await submits()).length, 2);
});

test('other 4xx are not retried and give a one-line error with the error code', async () => {
  await fault({ method: 'POST', path: SUBMIT, status: 400, error_code: 'INVALID_PARAMETER_VALUE', message: 'warehouse_id is malformed', count: 5 });
  const err = await ws.fail(one());
  assert.match(err, /POST \/api\/2\.0\/sql\/statements: HTTP 400: warehouse_id is malformed \(INVALID_PARAMETER_VALUE\)/);
  assert.equal((await submits()).length, 1);
});

test('the retry budget (retry_timeout_seconds) ends the retries', async () => {
  await fault({ method: 'POST', path: SUBMIT, status: 503, retry_after: 1, count: 50, message: 'warehouse starting' });
  const t0 = Date.now();
  const err = await ws.fail(one({ retry_timeout_seconds: 2 }));
  const ms = Date.now() - t0;
  assert.match(err, /HTTP 503: warehouse starting \(TEMPORARILY_UNAVAILABLE\)/);
  assert.ok(ms < 6000, `gave up in time (${ms} ms)`);
  const n = (await submits()).length;
  assert.ok(n >= 2 && n <= 4, `retried within the budget (${n} submits)`);
});

test('plain http is refused for a host that is not loopback; nothing is sent', async () => {
  const err = await ws.fail(one(), { env: { DATABRICKS_HOST: 'http://dbc-1234.cloud.databricks.com' } });
  assert.match(err, /plain http is only allowed to a loopback host, not dbc-1234\.cloud\.databricks\.com: use https:\/\/dbc-1234\.cloud\.databricks\.com/);
});

test('an expired external link fails without naming its query string or headers', async () => {
  await fault({ path: '^/dbx-local-presigned/', kind: 'expired_link', count: 100 });
  const sql = "SELECT count(*) AS n FROM dbx_query('SELECT * FROM range(10)', NULL, '{\"disposition\":\"EXTERNAL_LINKS\"}');";
  const err = await ws.fail(sql);
  assert.match(err, /HTTP 403/);
  // no query string, path, http_headers name or value (SSE-C keys are base64 of 32 bytes)
  const leaks = /X-Amz|Signature|Credential|dbx-local-presigned|chunk-\d|server-side|AES256|[A-Za-z0-9+/]{43}=/i;
  assert.doesNotMatch(err, leaks);
  assert.doesNotMatch(err, /\n/);
  // nor in the statement log
  const r = await ws.run(`.bail off\n${sql}\nSELECT state, error FROM dbx_statements;`);
  const logged = r.stdout.slice(r.stdout.lastIndexOf('['));
  assert.match(logged, /"error":"databricks: [^"]*HTTP 403/);
  assert.doesNotMatch(logged, leaks);
  const log = (await ws.api('GET', '/admin/requests')).body.requests;
  const downloads = log.filter((r) => r.path.startsWith('/dbx-local-presigned/'));
  assert.ok(downloads.length >= 1);
  for (const d of downloads) assert.equal(d.has_authorization, false, 'no Authorization header on a presigned link');
});

test('one connection serves every request of a session (connections are reused)', async () => {
  // A TCP proxy in front of dbx-local counts the connections the extension opens.
  let nConn = 0;
  const proxy = net.createServer((c) => {
    nConn++;
    const up = net.connect(ws.server.port, '127.0.0.1');
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    const host = `http://127.0.0.1:${proxy.address().port}`;
    const rows = await ws.query(`${one()}\n${one()}\nSELECT dbx_exec('SELECT 1') IS NOT NULL AS ok;\n${one({ wait_timeout: 0 })}`,
      { env: { DATABRICKS_HOST: host } });
    assert.deepEqual(rows, [{ x: 42 }]);
    const n = (await submits()).length;
    assert.equal(n, 4, 'four statements went through the proxy');
    assert.equal(nConn, 1, `${nConn} connections for ${n} statements`);
  } finally {
    await new Promise((r) => proxy.close(r));
  }
});

test('at a terminal, a call that waits to retry says so on stderr; in a pipe it stays quiet', async () => {
  const { spawnSync } = await import('node:child_process');
  const { writeFile, mkdtemp, rm } = await import('node:fs/promises');
  const os = (await import('node:os')).default;
  const path = (await import('node:path')).default;
  const { EXT } = await import('./harness.mjs');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-tty-'));
  try {
    const script = path.join(dir, 'q.sql');
    await writeFile(script, `.load ${EXT}\n${one()}\n`);
    await fault({ method: 'POST', path: SUBMIT, status: 503, retry_after: 1, count: 1 });
    // script(1) gives the shell a terminal; its input still comes from the file.
    // Under ASan the runtime is preloaded into the shell only, not script.
    const env = { ...process.env, ...ws.env, HOME: ws.home };
    const preload = process.env.DBX_SQLITE_PRELOAD ? `LD_PRELOAD=${process.env.DBX_SQLITE_PRELOAD} ` : '';
    const r = spawnSync('script', ['-qec', `${preload}sqlite3 -batch :memory: < ${script}`, '/dev/null'], { env, encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /databricks: POST \/api\/2\.0\/sql\/statements: HTTP 503 Service Unavailable; retrying in 1\.\d s \(attempt 2\), Ctrl-C to stop/);
    assert.match(r.stdout, /42/);
    await fault({ method: 'POST', path: SUBMIT, status: 503, retry_after: 1, count: 1 });
    const quiet = await ws.run(one());
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /retrying/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
