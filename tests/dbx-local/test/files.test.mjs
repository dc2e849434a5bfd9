// Files API on UC volumes: upload/download round trip, Range, overwrite, metadata,
// directory create/list/paginate/delete, path validation, missing volume, privileges.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, api } from './helpers.mjs';

const config = {
  users: [
    { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
    { user_name: 'reader@dbx.local', tokens: ['dapi-reader'] },
    { user_name: 'nobody@dbx.local', tokens: ['dapi-nobody'] },
  ],
  grants: [
    { principal: 'reader@dbx.local', securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG', 'USE SCHEMA', 'READ VOLUME'] },
  ],
};
const VOL = '/Volumes/main/default/landing';
const F = '/api/2.0/fs/files';
const D = '/api/2.0/fs/directories';

let srv;
const call = (method, p, body, headers, token = srv.token) => api(srv.url, token, method, p, body, headers);

// Sends a request with the path exactly as given (fetch would normalise `..` and `%2e%2e`).
function rawRequest(method, rawPath, token) {
  return new Promise((resolve, reject) => {
    const u = new URL(srv.url);
    const req = http.request({ host: u.hostname, port: u.port, method, path: rawPath, headers: { Authorization: `Bearer ${token}` }, timeout: 5000 }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: data ? JSON.parse(data) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  srv = await startServer({ config });
  const v = await call('POST', '/api/2.1/unity-catalog/volumes', { catalog_name: 'main', schema_name: 'default', name: 'landing', volume_type: 'MANAGED' });
  assert.equal(v.status, 200, JSON.stringify(v.body));
});
after(() => srv.stop());

test('upload and download round trip with percent-encoded names', async () => {
  const p = `${F}${VOL}/dir%20a/hello%3F%23.txt`;
  const put = await call('PUT', p, 'hello world', { 'Content-Type': 'application/octet-stream' });
  assert.equal(put.status, 204);
  const get = await call('GET', p);
  assert.equal(get.status, 200);
  assert.equal(get.raw.toString(), 'hello world');
  assert.equal(get.headers.get('content-type'), 'application/octet-stream');
  assert.equal(get.headers.get('content-length'), '11');
  assert.ok(Math.abs(Date.parse(get.headers.get('last-modified')) - Date.now()) < 60_000);

  const head = await call('HEAD', p);
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '11');
  assert.equal(head.raw.length, 0);

  const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  assert.equal((await call('PUT', `${F}${VOL}/bin/data.parquet`, binary)).status, 204);
  assert.deepEqual((await call('GET', `${F}${VOL}/bin/data.parquet`)).raw, binary);
});

test('Range requests answer 206 with Content-Range, or 416', async () => {
  const p = `${F}${VOL}/range.txt`;
  await call('PUT', p, 'hello world');
  const mid = await call('GET', p, undefined, { Range: 'bytes=6-10' });
  assert.equal(mid.status, 206);
  assert.equal(mid.raw.toString(), 'world');
  assert.equal(mid.headers.get('content-range'), 'bytes 6-10/11');
  const suffix = await call('GET', p, undefined, { Range: 'bytes=-5' });
  assert.equal(suffix.raw.toString(), 'world');
  const open = await call('GET', p, undefined, { Range: 'bytes=4-' });
  assert.equal(open.raw.toString(), 'o world');
  const beyond = await call('GET', p, undefined, { Range: 'bytes=20-' });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), 'bytes */11');
});

test('overwrite=false refuses an existing file; default overwrites', async () => {
  const p = `${F}${VOL}/ow.txt`;
  assert.equal((await call('PUT', `${p}?overwrite=false`, 'one')).status, 204);
  const conflict = await call('PUT', `${p}?overwrite=false`, 'two');
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error_code, 'ALREADY_EXISTS');
  assert.equal((await call('GET', p)).raw.toString(), 'one');
  assert.equal((await call('PUT', p, 'three')).status, 204);
  assert.equal((await call('GET', p)).raw.toString(), 'three');
  assert.equal((await call('PUT', `${p}?overwrite=true`, 'four')).status, 204);
  assert.equal((await call('GET', p)).raw.toString(), 'four');
  const bad = await call('PUT', `${p}?overwrite=maybe`, 'x');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_code, 'INVALID_PARAMETER_VALUE');
});

test('directories: create, metadata, paginated listing, delete only when empty', async () => {
  const dir = `${VOL}/staging/batch-1`;
  assert.equal((await call('PUT', `${D}${dir}`)).status, 204);
  assert.equal((await call('PUT', `${D}${dir}`)).status, 204, 'idempotent');
  assert.equal((await call('HEAD', `${D}${dir}`)).status, 200);
  assert.equal((await call('HEAD', `${D}${VOL}/staging/missing`)).status, 404);

  const names = ['a.parquet', 'b.parquet', 'c.parquet', 'd.parquet', 'e.parquet'];
  for (const n of names) await call('PUT', `${F}${dir}/${n}`, `data ${n}`);
  await call('PUT', `${D}${dir}/sub`);

  const seen = [];
  let token = null;
  let pages = 0;
  do {
    const q = `?page_size=2${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
    const r = await call('GET', `${D}${dir}${q}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.contents.length <= 2);
    seen.push(...r.body.contents);
    token = r.body.next_page_token;
    pages++;
  } while (token && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(seen.map((e) => e.name), [...names, 'sub']);
  const a = seen[0];
  assert.equal(a.path, `${dir}/a.parquet`);
  assert.equal(a.is_directory, false);
  assert.equal(a.file_size, 'data a.parquet'.length);
  assert.equal(typeof a.last_modified, 'number');
  const sub = seen[5];
  assert.equal(sub.is_directory, true);
  assert.equal(sub.file_size, undefined);

  const notEmpty = await call('DELETE', `${D}${dir}`);
  assert.equal(notEmpty.status, 409);
  for (const n of names) assert.equal((await call('DELETE', `${F}${dir}/${n}`)).status, 204);
  assert.equal((await call('DELETE', `${D}${dir}/sub`)).status, 204);
  assert.equal((await call('DELETE', `${D}${dir}`)).status, 204);
  assert.equal((await call('GET', `${D}${dir}`)).status, 404);
});

test('missing files, missing volumes and bad paths', async () => {
  const missing = await call('GET', `${F}${VOL}/nope.txt`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error_code, 'NOT_FOUND');
  assert.equal((await call('DELETE', `${F}${VOL}/nope.txt`)).status, 404);
  const noVol = await call('PUT', `${F}/Volumes/main/default/ghost/x.txt`, 'x');
  assert.equal(noVol.status, 404);
  assert.equal((await call('GET', `${F}/tmp/x.txt`)).status, 400);
  const traversal = await rawRequest('GET', `${F}${VOL}/../other/x.txt`, srv.token);
  assert.equal(traversal.status, 400);
  const encoded = await rawRequest('GET', `${F}${VOL}/%2E%2E/%2E%2E/x.txt`, srv.token);
  assert.equal(encoded.status, 400);
});

test('privileges: READ VOLUME reads, WRITE VOLUME is needed to write', async () => {
  const p = `${F}${VOL}/shared.txt`;
  await call('PUT', p, 'shared');
  const read = await call('GET', p, undefined, {}, 'dapi-reader');
  assert.equal(read.status, 200);
  assert.equal(read.raw.toString(), 'shared');
  assert.equal((await call('GET', `${D}${VOL}`, undefined, {}, 'dapi-reader')).status, 200);
  const write = await call('PUT', `${F}${VOL}/mine.txt`, 'x', {}, 'dapi-reader');
  assert.equal(write.status, 403);
  assert.equal(write.body.error_code, 'PERMISSION_DENIED');
  assert.equal((await call('DELETE', p, undefined, {}, 'dapi-reader')).status, 403);
  assert.equal((await call('GET', p, undefined, {}, 'dapi-nobody')).status, 403);
  assert.equal((await call('GET', p)).raw.toString(), 'shared', 'nothing changed');
});
