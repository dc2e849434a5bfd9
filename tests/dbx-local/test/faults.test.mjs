// Fault injection through /admin/faults: each fault kind, method/path matching, counts,
// clearing, validation (drop_request: an upload cut off mid-body); plus the other admin endpoints (settings, warehouse state).

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, api } from './helpers.mjs';

const ME = '/api/2.0/preview/scim/v2/Me';
let srv;
before(async () => { srv = await startServer(); });
after(() => srv.stop());
beforeEach(() => api(srv.url, null, 'DELETE', '/admin/faults'));

const addFault = async (spec) => {
  const r = await api(srv.url, null, 'POST', '/admin/faults', spec);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.id;
};
const me = () => api(srv.url, srv.token, 'GET', ME);

test('status fault with Retry-After hits `count` requests, then expires', async () => {
  await addFault({ path: '^/api/2\\.0/preview/scim/v2/Me$', status: 503, retry_after: 2, count: 2 });
  for (let i = 0; i < 2; i++) {
    const r = await me();
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '2');
    assert.equal(r.body.error_code, 'TEMPORARILY_UNAVAILABLE');
  }
  assert.equal((await me()).status, 200);
  assert.deepEqual((await api(srv.url, null, 'GET', '/admin/faults')).body.faults, []);
});

test('skip lets that many matching requests pass before the fault hits', async () => {
  await addFault({ path: 'Me$', status: 503, skip: 2 });
  assert.equal((await me()).status, 200);
  assert.equal((await me()).status, 200);
  assert.equal((await me()).status, 503);
  assert.equal((await me()).status, 200);
  const bad = await api(srv.url, null, 'POST', '/admin/faults', { path: 'x', status: 503, skip: -1 });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /skip/);
});

test('custom error code and message; method filter', async () => {
  await addFault({ method: 'POST', path: 'Me$', status: 429, error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' });
  assert.equal((await me()).status, 200, 'GET does not match a POST fault');
  const faults = (await api(srv.url, null, 'GET', '/admin/faults')).body.faults;
  assert.equal(faults.length, 1);
  await addFault({ path: 'Me$', status: 429, error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' });
  const r = await me();
  assert.equal(r.status, 429);
  assert.deepEqual(r.body, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' });
});

test('delay-only fault delays the real answer', async () => {
  await addFault({ path: 'Me$', delay_ms: 400 });
  const t0 = Date.now();
  const r = await me();
  assert.equal(r.status, 200);
  assert.equal(r.body.userName, 'admin@dbx.local');
  assert.ok(Date.now() - t0 >= 390, `took ${Date.now() - t0} ms`);
});

test('drop fault cuts the connection mid-body', async () => {
  await addFault({ path: 'Me$', drop: true });
  const res = await fetch(srv.url + ME, { headers: { Authorization: `Bearer ${srv.token}` }, signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200, 'headers arrive');
  const declared = Number(res.headers.get('content-length'));
  assert.ok(declared > 0);
  await assert.rejects(res.arrayBuffer(), 'the body never completes');
  assert.equal((await me()).status, 200, 'the next request is served normally');
});

test('drop_request fault cuts an upload mid-body: no answer, no file, not even a partial one', async () => {
  const v = await api(srv.url, srv.token, 'POST', '/api/2.1/unity-catalog/volumes', { catalog_name: 'main', schema_name: 'default', name: 'faulty', volume_type: 'MANAGED' });
  assert.equal(v.status, 200, JSON.stringify(v.body));
  const FILE = '/api/2.0/fs/files/Volumes/main/default/faulty/big.bin';
  await addFault({ method: 'PUT', path: 'faulty/big\\.bin$', kind: 'drop_request', after_bytes: 65536 });
  const body = Buffer.alloc(1 << 20, 7);
  const u = new URL(srv.url);
  const outcome = await new Promise((resolve) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'PUT', path: FILE, headers: { Authorization: `Bearer ${srv.token}`, 'Content-Length': body.length } }, (res) => resolve({ status: res.statusCode }));
    req.on('error', (e) => resolve({ error: e.code ?? e.message }));
    req.end(body);
  });
  assert.ok(outcome.error, `the upload fails without an answer, got ${JSON.stringify(outcome)}`);
  assert.equal((await api(srv.url, srv.token, 'HEAD', FILE)).status, 404, 'nothing under the name');
  const list = await api(srv.url, srv.token, 'GET', '/api/2.0/fs/directories/Volumes/main/default/faulty');
  assert.deepEqual(list.body.contents ?? [], [], 'no partial file left in the listing');
  assert.deepEqual((await api(srv.url, null, 'GET', '/admin/faults')).body.faults, [], 'the fault is used up');
  assert.equal((await api(srv.url, srv.token, 'PUT', FILE, body)).status, 204, 'the next upload is served');
  assert.equal((await api(srv.url, srv.token, 'GET', FILE)).raw.length, body.length);
});

test('drop_request validates after_bytes', async () => {
  const r = await api(srv.url, null, 'POST', '/admin/faults', { path: 'x', kind: 'drop_request', after_bytes: -1 });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /after_bytes/);
});

test('expired_token fault answers 403 Invalid access token, as for an expired OAuth token', async () => {
  await addFault({ path: 'Me$', kind: 'expired_token' });
  const r = await me();
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, { error_code: 403, message: 'Invalid access token.' });
  assert.equal(r.headers.get('x-databricks-reason-phrase'), 'Invalid access token.');
});

test('expired_link fault answers 403 with the cloud storage XML error', async () => {
  await addFault({ path: '^/dbx-local-presigned/', kind: 'expired_link' });
  const r = await api(srv.url, null, 'GET', '/dbx-local-presigned/results/x/chunk-0-abc.json');
  assert.equal(r.status, 403);
  assert.match(r.headers.get('content-type'), /xml/);
  assert.match(r.body, /<Code>AccessDenied<\/Code>/);
  assert.match(r.body, /Request has expired/);
});

test('faults apply to unauthenticated endpoints too, never to /admin', async () => {
  await addFault({ path: '.*', status: 500 });
  const admin = await api(srv.url, null, 'GET', '/admin/faults');
  assert.equal(admin.status, 200);
  const token = await fetch(`${srv.url}/oidc/v1/token`, { method: 'POST', body: 'grant_type=client_credentials', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(token.status, 500);
});

test('DELETE /admin/faults clears pending faults; invalid specs are refused', async () => {
  await addFault({ path: 'Me$', status: 500, count: 5 });
  await api(srv.url, null, 'DELETE', '/admin/faults');
  assert.equal((await me()).status, 200);
  for (const bad of [{}, { path: '(' }, { path: 'Me$' }, { path: 'Me$', status: 99 }, { path: 'Me$', kind: 'meteor' }, { path: 'Me$', status: 500, count: 0 }]) {
    const r = await api(srv.url, null, 'POST', '/admin/faults', bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.error_code, 'INVALID_PARAMETER_VALUE');
  }
});

test('admin settings and warehouse state', async () => {
  const s = await api(srv.url, null, 'POST', '/admin/settings', { chunk_rows: 7 });
  assert.equal(s.status, 200);
  assert.equal(s.body.chunk_rows, 7);
  assert.equal((await api(srv.url, null, 'POST', '/admin/settings', { nope: 1 })).status, 400);

  const stop = await api(srv.url, null, 'POST', '/admin/warehouses/0000000000000001', { state: 'STOPPED' });
  assert.equal(stop.status, 200);
  const wh = await api(srv.url, srv.token, 'GET', '/api/2.0/sql/warehouses/0000000000000001');
  assert.equal(wh.body.state, 'STOPPED');
  await api(srv.url, null, 'POST', '/admin/warehouses/0000000000000001', { state: 'RUNNING' });
  assert.equal((await api(srv.url, null, 'POST', '/admin/warehouses/nope', { state: 'RUNNING' })).status, 404);
});
