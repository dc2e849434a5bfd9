// Persistence across restarts of the same data folder (catalog objects, volume files,
// remembered config), and several clients working at once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, api } from './helpers.mjs';

const WH = '0000000000000001';
const config = {
  users: [
    { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
    { user_name: 'bob@dbx.local', tokens: ['dapi-bob'] },
  ],
};

async function sql(srv, statement) {
  const r = await api(srv.url, srv.token, 'POST', '/api/2.0/sql/statements', { statement, warehouse_id: WH, wait_timeout: '30s' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status.state, 'SUCCEEDED', JSON.stringify(r.body.status));
  return r.body;
}

test('state survives a restart of the same data folder', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dbx-local-persist-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));

  const first = await startServer({ config, dataDir });
  try {
    await sql(first, 'CREATE TABLE main.default.kept (id BIGINT, v STRING)');
    await sql(first, "INSERT INTO main.default.kept VALUES (1, 'a'), (2, 'b')");
    const vol = await api(first.url, first.token, 'POST', '/api/2.1/unity-catalog/volumes', { catalog_name: 'main', schema_name: 'default', name: 'keep', volume_type: 'MANAGED' });
    assert.equal(vol.status, 200, JSON.stringify(vol.body));
    assert.equal((await api(first.url, first.token, 'PUT', '/api/2.0/fs/files/Volumes/main/default/keep/f.csv', 'id\n1\n')).status, 204);
  } finally {
    assert.deepEqual(await first.stop(), { code: 0, signal: null });
  }

  const second = await startServer({ dataDir }); // no --config: the remembered one applies
  try {
    assert.equal((await api(second.url, 'dapi-bob', 'GET', '/api/2.0/preview/scim/v2/Me')).body.userName, 'bob@dbx.local');
    const table = await api(second.url, second.token, 'GET', '/api/2.1/unity-catalog/tables/main.default.kept');
    assert.equal(table.status, 200);
    const rows = await sql(second, 'SELECT id, v FROM main.default.kept ORDER BY id');
    assert.deepEqual(rows.result.data_array, [['1', 'a'], ['2', 'b']]);
    const file = await api(second.url, second.token, 'GET', '/api/2.0/fs/files/Volumes/main/default/keep/f.csv');
    assert.equal(file.raw.toString(), 'id\n1\n');
  } finally {
    assert.deepEqual(await second.stop(), { code: 0, signal: null });
  }
});

test('several clients at once', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  await api(srv.url, srv.token, 'POST', '/api/2.1/unity-catalog/volumes', { catalog_name: 'main', schema_name: 'default', name: 'many', volume_type: 'MANAGED' });
  const jobs = [];
  for (let i = 0; i < 12; i++) {
    jobs.push(api(srv.url, srv.token, 'PUT', `/api/2.0/fs/files/Volumes/main/default/many/f${i}.txt`, `file ${i}`));
    jobs.push(api(srv.url, srv.token, 'POST', '/api/2.0/sql/statements', { statement: `SELECT ${i} AS n`, warehouse_id: WH, wait_timeout: '30s' }));
    jobs.push(api(srv.url, srv.token, 'GET', '/api/2.0/preview/scim/v2/Me'));
  }
  const results = await Promise.all(jobs);
  for (const r of results) assert.ok(r.status === 200 || r.status === 204, `${r.status} ${JSON.stringify(r.body)}`);
  const statements = results.filter((r) => r.body?.statement_id);
  assert.deepEqual(statements.map((r) => r.body.result.data_array[0][0]).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => String(i)));
  const list = await api(srv.url, srv.token, 'GET', '/api/2.0/fs/directories/Volumes/main/default/many');
  assert.equal(list.body.contents.length, 12);
});
