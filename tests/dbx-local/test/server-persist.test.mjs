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

test('concurrent writers to one table are serialized: every write lands in its own version', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const run = (statement) => api(srv.url, srv.token, 'POST', '/api/2.0/sql/statements', { statement, warehouse_id: WH, wait_timeout: '30s' });
  assert.equal((await run('CREATE TABLE main.default.hits (w INT, n BIGINT) TBLPROPERTIES (delta.enableChangeDataFeed = true)')).body.status.state, 'SUCCEEDED');
  const writers = [];
  for (let w = 0; w < 8; w++) {
    writers.push(run(`INSERT INTO main.default.hits SELECT ${w}, id FROM range(1000)`));
    writers.push(run(`UPDATE main.default.hits SET n = n + 1 WHERE w = ${w}`));
    writers.push(run('SELECT count(*) FROM main.default.hits'));
  }
  const results = await Promise.all(writers);
  for (const r of results) assert.equal(r.body.status?.state, 'SUCCEEDED', JSON.stringify(r.body));
  // Every reader saw a whole number of committed inserts, never a partial one.
  for (const r of results.filter((_, i) => i % 3 === 2)) assert.equal(Number(r.body.result.data_array[0][0]) % 1000, 0);
  const total = await run('SELECT count(*), count(DISTINCT w) FROM main.default.hits');
  assert.deepEqual(total.body.result.data_array, [['8000', '8']]);
  const hist = (await run('DESCRIBE HISTORY main.default.hits')).body.result.data_array;
  assert.deepEqual(hist.map((h) => h[0]), Array.from({ length: 17 }, (_, i) => String(16 - i)));
  const versions = await run("SELECT count(DISTINCT _commit_version) FROM table_changes('main.default.hits', 1) WHERE _change_type = 'insert'");
  assert.deepEqual(versions.body.result.data_array, [['8']]);
});
