// Merge tables: INSERT, UPDATE and DELETE on a `databricks` table with
// merge keys stage upserts and deletes, one per key, applied at the SQLite
// commit with one MERGE through a stage table. Checked remotely through
// dbx-local: rows, versions, table history, and that no stage table stays.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { workspace } from './harness.mjs';

let ws;
let tmp;
before(async () => {
  ws = await workspace();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-merge-'));
});
after(async () => {
  await ws?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let nDb = 0;
const newDb = () => path.join(tmp, `m${++nDb}.db`);
const remote = async (sql) => (await ws.sql(sql)).result?.data_array ?? [];
const tables = async () => (await remote('SHOW TABLES IN main.default')).map((r) => r[1]);
const PERSONS = `CREATE VIRTUAL TABLE p USING databricks(table='main.default.persons', model='posthog_persons');`;
const persons = () => remote('SELECT team_id, distinct_id, person_id, person_version FROM main.default.persons ORDER BY team_id, distinct_id');

test('a persons model is a merge table: keyed by its merge keys, versions decide', async () => {
  const db = newDb();
  const cols = await ws.query(`${PERSONS}
SELECT name, pk, hidden FROM pragma_table_xinfo('p') WHERE pk OR hidden;`, { db });
  assert.deepEqual(cols, [{ name: '_dbx_key', pk: 1, hidden: 1 }]);
  await ws.query(`BEGIN;
INSERT INTO p(team_id, distinct_id, person_id, properties, person_version, person_distinct_id_version)
  VALUES (1, 'a', 'p1', '{"email": "a@x"}', 2, 1), (1, 'b', 'p2', NULL, 1, 1), (2, 'a', 'p3', NULL, 5, 1);
INSERT INTO p(team_id, distinct_id, person_id, person_version, person_distinct_id_version)
  VALUES (1, 'a', 'older, loses in the batch', 1, 1);
COMMIT;`, { db });
  assert.deepEqual(await persons(), [['1', 'a', 'p1', '2'], ['1', 'b', 'p2', '1'], ['2', 'a', 'p3', '5']]);
  assert.deepEqual(await tables(), ['persons'], 'the stage table is dropped');

  // a stale version is ignored remotely; a newer one replaces the row
  await ws.query(`INSERT INTO p(team_id, distinct_id, person_id, person_version, person_distinct_id_version)
  VALUES (1, 'a', 'stale', 1, 1), (1, 'b', 'p2 v2', 2, 1);`, { db });
  assert.deepEqual(await persons(), [['1', 'a', 'p1', '2'], ['1', 'b', 'p2 v2', '2'], ['2', 'a', 'p3', '5']]);

  // the same batch applied again changes nothing
  const before = await remote('SELECT * FROM main.default.persons ORDER BY team_id, distinct_id');
  await ws.query(`INSERT INTO p(team_id, distinct_id, person_id, person_version, person_distinct_id_version)
  VALUES (1, 'b', 'p2 v2', 2, 1);`, { db });
  assert.deepEqual(await remote('SELECT * FROM main.default.persons ORDER BY team_id, distinct_id'), before);
});

test('UPDATE and DELETE stage upserts and deletes; changing a key moves the row', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.accounts (id BIGINT, region STRING, plan STRING, seats INT)');
  await ws.sql(`INSERT INTO main.default.accounts VALUES (1, 'eu', 'free', 1), (2, 'eu', 'pro', 5), (3, 'us', 'pro', 9), (4, 'us', 'free', 2)`);
  await ws.query(`CREATE VIRTUAL TABLE a USING databricks(table='main.default.accounts', merge_keys='id, region');
BEGIN;
UPDATE a SET plan = 'team', seats = seats + 10 WHERE plan = 'pro';
DELETE FROM a WHERE id = 4;
UPDATE a SET region = 'apac' WHERE id = 1;
INSERT INTO a VALUES (5, 'eu', 'free', 1);
COMMIT;`, { db });
  assert.deepEqual(await remote('SELECT id, region, plan, seats FROM main.default.accounts ORDER BY id'),
    [['1', 'apac', 'free', '1'], ['2', 'eu', 'team', '15'], ['3', 'us', 'team', '19'], ['5', 'eu', 'free', '1']]);
  assert.deepEqual(await ws.query(`SELECT id, region FROM a ORDER BY id;`, { db }),
    [{ id: 1, region: 'apac' }, { id: 2, region: 'eu' }, { id: 3, region: 'us' }, { id: 5, region: 'eu' }]);
  // a transaction rolled back, or a savepoint, takes its changes back
  await ws.query(`BEGIN; DELETE FROM a; ROLLBACK;
BEGIN; SAVEPOINT s; DELETE FROM a WHERE id = 2; ROLLBACK TO s; DELETE FROM a WHERE id = 3; COMMIT;`, { db });
  assert.deepEqual((await remote('SELECT id FROM main.default.accounts ORDER BY id')).map((r) => r[0]), ['1', '2', '5']);
  assert.ok(!(await tables()).some((t) => t.includes('__dbx_stage_')));
});

test('merge arguments are checked when the table is created', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.kv (k STRING, v STRING, ver BIGINT)');
  const err = (sql) => ws.fail(sql, { db });
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.kv', mode='merge');`), /mode='merge' needs merge_keys/);
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.kv', version_columns='ver');`), /version_columns needs merge_keys/);
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.kv', merge_keys='nope');`), /merge key column 'nope' is not a column/);
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.kv', merge_keys='k,');`), /empty name/);
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.kv', merge_keys='k', version_columns='v');
INSERT INTO x VALUES ('a', 'b', 1);`), /version column "v" must hold integers/);
  // mode='append' keeps a model's table append-only
  assert.match(await err(`CREATE VIRTUAL TABLE y USING databricks(table='main.default.kv', merge_keys='k', mode='append');
INSERT INTO y VALUES ('a', 'b', 1); DELETE FROM y;`), /takes INSERT only: UPDATE and DELETE need a merge table \(merge_keys=/);
  // ... also a model with merge keys and version columns: both are left out
  const cols = await ws.query(`CREATE VIRTUAL TABLE pa USING databricks(table='main.default.persons_log',
    model='posthog_persons', mode='append');
SELECT count(*) AS n FROM pragma_table_xinfo('pa') WHERE name = '_dbx_key';`, { db });
  assert.deepEqual(cols, [{ n: 0 }]);
  await ws.query(`INSERT INTO pa(team_id, distinct_id, person_id, person_version, person_distinct_id_version)
  VALUES (1, 'a', 'p1', 1, 1), (1, 'a', 'p1 again', 1, 1);`, { db });
  assert.deepEqual(await remote('SELECT person_id FROM main.default.persons_log ORDER BY person_id'), [['p1'], ['p1 again']]);
  assert.match(await err('UPDATE pa SET person_id = 1;'), /takes INSERT only/);
});

test('without version columns an upsert always replaces the row', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.kv2 (k STRING, v STRING)');
  await ws.query(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.kv2', merge_keys='k');
INSERT INTO x VALUES ('a', '1'), ('b', '1');
INSERT INTO x VALUES ('a', '2');
INSERT INTO x VALUES ('a', '2');`, { db });
  assert.deepEqual(await remote('SELECT k, v FROM main.default.kv2 ORDER BY k'), [['a', '2'], ['b', '1']]);
});

// The statements of a commit into an existing merge table, once the
// staging volume exists: CREATE stage, COPY INTO stage, MERGE, DROP stage.
const STATEMENTS = '^/api/2\\.0/sql/statements/?$';
const MERGE_AT = 2; // POSTs before the MERGE
async function fault(spec) {
  const r = await ws.api('POST', '/admin/faults', spec);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

test('a MERGE whose reply is lost is sent again: applied once, the stage dropped', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.kv3 (k STRING, v STRING, ver BIGINT)');
  const setup = `CREATE VIRTUAL TABLE x USING databricks(table='main.default.kv3', merge_keys='k', version_columns='ver');`;
  await ws.query(`${setup}\nINSERT INTO x VALUES ('a', '1', 1), ('b', '1', 1);`, { db });
  const merges = async () => (await remote('DESCRIBE HISTORY main.default.kv3')).filter((h) => h[4] === 'MERGE').length;
  assert.equal(await merges(), 1);
  // the DELETE reads the remote rows first: one more POST before the MERGE
  await fault({ method: 'POST', path: STATEMENTS, drop: true, skip: MERGE_AT + 1 });
  await ws.query("BEGIN; INSERT INTO x VALUES ('a', '2', 2), ('c', '1', 1); DELETE FROM x WHERE k = 'b'; COMMIT;", { db });
  assert.equal((await ws.api('GET', '/admin/faults')).body.faults.length, 0, 'the fault hit');
  // the MERGE ran twice (the lost reply, then the resend), with one outcome
  assert.equal(await merges(), 3);
  assert.deepEqual(await remote('SELECT k, v, ver FROM main.default.kv3 ORDER BY k'), [['a', '2', '2'], ['c', '1', '1']]);
  assert.ok(!(await tables()).some((t) => t.startsWith('kv3__dbx_stage')), 'no stage table left');
});

test('a MERGE that fails: the commit fails in one line, the target is as it was, the stage is dropped, a retry applies it', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.kv4 (k STRING, v STRING, ver BIGINT)');
  const setup = `CREATE VIRTUAL TABLE x USING databricks(table='main.default.kv4', merge_keys='k', version_columns='ver');`;
  await ws.query(`${setup}\nINSERT INTO x VALUES ('a', '1', 1);`, { db });
  const history = async () => (await remote('DESCRIBE HISTORY main.default.kv4')).length;
  const before = await history();
  await fault({ method: 'POST', path: STATEMENTS, status: 400, error_code: 'INVALID_PARAMETER_VALUE',
    message: 'Injected: the MERGE is refused.', skip: MERGE_AT });
  const txn = "BEGIN; INSERT INTO x VALUES ('a', '2', 2), ('b', '1', 1); COMMIT;";
  const e = await ws.fail(txn, { db });
  assert.equal(e.trim().split('\n').length, 1, e);
  assert.match(e, /MERGE is refused/);
  assert.deepEqual(await remote('SELECT k, v, ver FROM main.default.kv4 ORDER BY k'), [['a', '1', '1']]);
  assert.equal(await history(), before, 'no new version of the target');
  assert.ok(!(await tables()).some((t) => t.startsWith('kv4__dbx_stage')), `stage left: ${await tables()}`);
  // the same transaction again, without the fault
  await ws.query(txn, { db });
  assert.deepEqual(await remote('SELECT k, v, ver FROM main.default.kv4 ORDER BY k'), [['a', '2', '2'], ['b', '1', '1']]);
  assert.ok(!(await tables()).some((t) => t.startsWith('kv4__dbx_stage')));
});
