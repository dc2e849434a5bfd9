// Server process basics: the listening line, PAT authentication, unknown endpoints,
// the request log, and a clean exit on SIGTERM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServer, api } from './helpers.mjs';

test('server authenticates PATs and rejects others', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());

  const me = await api(srv.url, srv.token, 'GET', '/api/2.0/preview/scim/v2/Me');
  assert.equal(me.status, 200);
  assert.equal(me.body.userName, 'admin@dbx.local');
  assert.equal(me.headers.get('x-databricks-org-id'), '1234567890123456');
  assert.match(me.headers.get('content-type'), /^application\/json/);

  // Unknown PAT: 403 with a numeric error_code, as a workspace answers (see lib/http.mjs).
  const bad = await api(srv.url, 'dapi-nope', 'GET', '/api/2.0/preview/scim/v2/Me');
  assert.equal(bad.status, 403);
  assert.deepEqual(bad.body, { error_code: 403, message: 'Invalid access token.' });
  assert.equal(bad.headers.get('x-databricks-reason-phrase'), 'Invalid access token.');

  const none = await api(srv.url, null, 'GET', '/api/2.0/preview/scim/v2/Me');
  assert.equal(none.status, 401);
  assert.deepEqual(none.body, { error_code: 401, message: 'Credential was not sent or was of an unsupported type for this API.' });
  const basicAuth = await fetch(`${srv.url}/api/2.0/preview/scim/v2/Me`, { headers: { Authorization: 'Basic YTpi' }, signal: AbortSignal.timeout(5000) });
  assert.equal(basicAuth.status, 401);

  const unknown = await api(srv.url, srv.token, 'GET', '/api/2.0/nothing/here');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error_code, 'ENDPOINT_NOT_FOUND');

  const wrongMethod = await api(srv.url, srv.token, 'DELETE', '/api/2.0/preview/scim/v2/Me');
  assert.equal(wrongMethod.status, 405);
});

test('request log records headers without secret values', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  await api(srv.url, srv.token, 'GET', '/api/2.0/preview/scim/v2/Me?x=1', undefined, { 'User-Agent': 'sqlite-databricks/0.1.0 os/linux auth/pat' });
  const log = await api(srv.url, null, 'GET', '/admin/requests');
  const entry = log.body.requests.find((r) => r.path === '/api/2.0/preview/scim/v2/Me');
  assert.equal(entry.status, 200);
  assert.equal(entry.user_agent, 'sqlite-databricks/0.1.0 os/linux auth/pat');
  assert.equal(entry.has_authorization, true);
  assert.ok(entry.header_names.includes('authorization'));
  assert.ok(!JSON.stringify(log.body).includes(srv.token), 'token value must never be logged');
});

test('admin endpoints exist only with --admin', async (t) => {
  const srv = await startServer({ admin: false });
  t.after(() => srv.stop());
  const r = await api(srv.url, null, 'GET', '/admin/requests');
  assert.equal(r.status, 404);
});

test('SIGTERM stops a server started without --data with exit code 0', async () => {
  const server = fileURLToPath(new URL('../server.mjs', import.meta.url));
  const proc = spawn(process.execPath, [server, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const line = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('no listening line')), 20_000);
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out);
      }
    });
  });
  assert.match(line, /^dbx-local listening on http:\/\/127\.0\.0\.1:\d+\n$/);
  const url = line.trim().split(' ').pop();
  const ok = await api(url, 'dapi-local-admin', 'GET', '/api/2.0/preview/scim/v2/Me');
  assert.equal(ok.status, 200);
  proc.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null });
  await assert.rejects(fetch(url, { signal: AbortSignal.timeout(2000) }));
});

test('stop() through the helper exits 0', async () => {
  const srv = await startServer();
  assert.deepEqual(await srv.stop(), { code: 0, signal: null });
});
