// The admin call that expires a table's history before a version, as VACUUM and log retention
// do: DESCRIBE HISTORY lists only the later versions, table_changes over an expired version
// fails with DELTA_CHANGE_DATA_FILE_NOT_FOUND, later versions still read, and the data is
// unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api } from './helpers.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(() => srv?.stop());

const WH = '0000000000000001';
async function sql(statement) {
  const r = await api(srv.url, srv.token, 'POST', '/api/2.0/sql/statements', { warehouse_id: WH, statement, wait_timeout: '30s' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}
async function rows(statement) {
  const b = await sql(statement);
  assert.equal(b.status.state, 'SUCCEEDED', JSON.stringify(b.status));
  return b.result?.data_array ?? [];
}
const expire = (name, body) => api(srv.url, null, 'POST', `/admin/tables/${encodeURIComponent(name)}/expire`, body);

test('expire before a version: history, table_changes and data', async () => {
  await rows('CREATE TABLE main.default.exp (id BIGINT, v STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  for (let i = 1; i <= 4; i++) await rows(`INSERT INTO main.default.exp VALUES (${i}, 'v${i}')`);
  const before = await rows("SELECT id, _commit_version FROM table_changes('main.default.exp', 0) ORDER BY 2");
  assert.equal(before.length, 4);

  const r = await expire('main.default.exp', { before_version: 3 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { earliest_version: 3, latest_version: 4 });

  const hist = await rows('DESCRIBE HISTORY main.default.exp');
  assert.deepEqual(hist.map((h) => h[0]), ['4', '3']);
  for (const start of [0, 2]) {
    const b = await sql(`SELECT * FROM table_changes('main.default.exp', ${start})`);
    assert.equal(b.status.state, 'FAILED');
    assert.match(b.status.error.message, /^\[DELTA_CHANGE_DATA_FILE_NOT_FOUND\]/);
    assert.match(b.status.error.message, /VACUUM/);
  }
  assert.deepEqual(await rows("SELECT id, _commit_version FROM table_changes('main.default.exp', 3) ORDER BY 2"), [['3', '3'], ['4', '4']]);
  assert.deepEqual(await rows('SELECT count(*) FROM main.default.exp'), [['4']]);

  // an earlier version than what already expired changes nothing; new commits read as before
  assert.deepEqual((await expire('main.default.exp', { before_version: 2 })).body, { earliest_version: 3, latest_version: 4 });
  await rows("INSERT INTO main.default.exp VALUES (5, 'v5')");
  assert.deepEqual(await rows("SELECT id FROM table_changes('main.default.exp', 4, 5) ORDER BY 1"), [['4'], ['5']]);
});

test('expire refuses a missing table and a version out of range', async () => {
  await rows('CREATE TABLE main.default.exp2 (id BIGINT) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await rows('INSERT INTO main.default.exp2 VALUES (1)');
  const missing = await expire('main.default.nope', { before_version: 1 });
  assert.equal(missing.status, 404);
  for (const v of [0, 2, -1, 1.5, '1', null]) {
    const r = await expire('main.default.exp2', { before_version: v });
    assert.equal(r.status, 400, `before_version ${JSON.stringify(v)}`);
    assert.equal(r.body.error_code, 'INVALID_PARAMETER_VALUE');
  }
});

test('without --admin the expire call is an unknown endpoint', async () => {
  const plain = await startServer({ admin: false });
  try {
    const r = await api(plain.url, null, 'POST', '/admin/tables/main.default.t/expire', { before_version: 1 });
    assert.equal(r.status, 404);
  } finally {
    await plain.stop();
  }
});
