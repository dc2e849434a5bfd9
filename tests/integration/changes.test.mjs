// The change feed through `databricks(table=..., changes=true)`, against
// dbx-local. A table is changed by every kind of write (INSERT, COPY INTO,
// UPDATE, DELETE, MERGE, CREATE OR REPLACE); the vtab returns exactly the
// change rows and versions dbx-local recorded (table_changes read as the
// admin), every constraint on _commit_version, _commit_timestamp and
// _change_type gives SQLite's answer on a local copy of all change rows,
// and a feed that is off, enabled late, expired or not ours to read gives
// one line that says what to do, with no token in it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { readerConfig, workspace } from './harness.mjs';

const READER = 'dapi-cdf-reader';
const CONFIG = readerConfig(READER);
const U = '`main`.`default`.`u`';
const COLS = 'SELECT `id`, `name`, `score`, `_change_type`, `_commit_version`, `_commit_timestamp`';
const HISTORY = `DESCRIBE HISTORY ${U} LIMIT 1`;

let ws, dir, db, stamps;
before(async () => {
  ws = await workspace({ config: CONFIG });
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-changes-'));
  db = path.join(dir, 'c.db');
  await ws.sql('CREATE VOLUME main.default.land');
  await ws.sql(`CREATE TABLE main.default.u (id BIGINT, name STRING, score DOUBLE)
    TBLPROPERTIES (delta.enableChangeDataFeed = true)`); // 0
  await ws.sql("INSERT INTO main.default.u VALUES (1, 'a', 1.0), (2, 'b', 2.0), (3, 'c', 3.0)"); // 1
  const lines = '{"id": 20, "name": "copied", "score": 1.5}\n{"id": 21, "name": "Copied", "score": null}\n';
  const put = await ws.api('PUT', '/api/2.0/fs/files/Volumes/main/default/land/a.json?overwrite=true',
    Buffer.from(lines), { 'Content-Type': 'application/octet-stream' });
  assert.equal(put.status, 204, JSON.stringify(put.body));
  await ws.sql(`COPY INTO main.default.u FROM (SELECT CAST(id AS BIGINT) AS id, name, CAST(score AS DOUBLE) AS score
    FROM '/Volumes/main/default/land/a.json') FILEFORMAT = JSON`); // 2
  await ws.sql('UPDATE main.default.u SET score = score + 10 WHERE id <= 2'); // 3
  await ws.sql('DELETE FROM main.default.u WHERE id = 3'); // 4
  await ws.sql(`MERGE INTO main.default.u AS t USING (SELECT 2 AS id, 'bb' AS name, 0.5 AS score
    UNION ALL SELECT 4, 'd', 4.0) AS s ON t.id = s.id
    WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *`); // 5
  await ws.sql(`CREATE OR REPLACE TABLE main.default.u (id BIGINT, name STRING, score DOUBLE)
    TBLPROPERTIES (delta.enableChangeDataFeed = true)`); // 6
  await ws.sql("INSERT INTO main.default.u VALUES (5, 'e', 5.0), (6, NULL, NULL)"); // 7
  const r = await ws.run(`CREATE VIRTUAL TABLE c USING databricks(table='main.default.u', changes=true);
CREATE TABLE lc(id BIGINT, name STRING TEXT, score DOUBLE, _change_type STRING TEXT,
  _commit_version BIGINT, _commit_timestamp TIMESTAMP);
INSERT INTO lc SELECT * FROM c;
SELECT DISTINCT _commit_timestamp AS ts FROM lc ORDER BY 1;`, { db });
  assert.equal(r.code, 0, r.stderr);
  stamps = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('[{'))).map((x) => x.ts);
});
after(async () => {
  await ws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Runs q over the changes table and over the local copy; asserts equal
// answers, in order, and returns { rows, sqls } of the remote run.
async function same(q) {
  const script = `.mode quote
SELECT 'SEP-T';
${q.replaceAll('$C', 'c')};
SELECT 'SEP-L';
${q.replaceAll('$C', 'lc')};
SELECT 'SEP-S';
.mode json
SELECT sql FROM dbx_statements ORDER BY seq;`;
  const r = await ws.run(script, { db });
  assert.equal(r.code, 0, `${q}\n${r.stderr}`);
  const out = r.stdout;
  const a = out.indexOf("'SEP-T'\n"), b = out.indexOf("'SEP-L'\n"), c = out.indexOf("'SEP-S'\n");
  const remote = out.slice(a + 8, b).split('\n').filter(Boolean);
  const local = out.slice(b + 8, c).split('\n').filter(Boolean);
  assert.deepEqual(remote, local, q);
  const log = out.slice(c + 8).trim();
  return { rows: remote, sqls: log ? JSON.parse(log).map((s) => s.sql) : [] };
}

test('the change rows and versions are those dbx-local recorded, for every kind of write', async () => {
  const ops = (await ws.sql('DESCRIBE HISTORY main.default.u')).result.data_array.map((h) => [Number(h[0]), h[4]]).reverse();
  assert.deepEqual(ops.map((o) => o[1]), ['CREATE TABLE', 'WRITE', 'COPY INTO', 'UPDATE', 'DELETE', 'MERGE',
    'CREATE OR REPLACE TABLE', 'WRITE']);
  const want = (await ws.sql(`SELECT id, name, score, _change_type, _commit_version, _commit_timestamp
    FROM table_changes('main.default.u', 0) ORDER BY _commit_version, _change_type, id`)).result.data_array
    .map(([id, name, score, type, v, ts]) => [Number(id), name, score === null ? null : Number(score), type, Number(v),
      Date.parse(ts.replace(' ', 'T').replace(/Z?$/, 'Z'))]);
  const got = (await ws.query(`SELECT id, name, score, _change_type, _commit_version, _commit_timestamp FROM c
    ORDER BY _commit_version, _change_type, id;`, { db }))
    .map((r) => [r.id, r.name, r.score, r._change_type, r._commit_version, Date.parse(`${r._commit_timestamp.replace(' ', 'T')}Z`)]);
  assert.deepEqual(got, want);
  // every write shows up as Delta reports it
  const kinds = {};
  for (const [, , , type, v] of got) (kinds[v] ??= new Set()).add(type);
  assert.deepEqual(Object.fromEntries(Object.entries(kinds).map(([v, s]) => [v, [...s].sort().join(',')])), {
    1: 'insert', 2: 'insert', 3: 'update_postimage,update_preimage', 4: 'delete',
    5: 'insert,update_postimage,update_preimage', 6: 'delete', 7: 'insert',
  });
  assert.equal(stamps.length, 7);
});

test('a scan without bounds reads from version 0 to the latest version read first', async () => {
  const r = await same('SELECT id, _change_type, _commit_version FROM $C ORDER BY _commit_version, _change_type, id');
  assert.deepEqual(r.sqls, [HISTORY,
    `SELECT \`id\`, \`_change_type\`, \`_commit_version\` FROM table_changes('${U}', 0, 7) ORDER BY \`_commit_version\` ASC NULLS FIRST, \`_change_type\` ASC NULLS FIRST, \`id\` ASC NULLS FIRST`]);
  assert.equal(r.rows.length, 20);
});

test('constraints on _commit_version bound the table_changes() range and give SQLite\'s answer', async () => {
  const cases = [
    ['_commit_version = 3', 3, 3],
    ['_commit_version > 2', 3, 7],
    ['_commit_version >= 5', 5, 7],
    ['_commit_version < 2', 0, 1],
    ['_commit_version <= 1', 0, 1],
    ['_commit_version BETWEEN 2 AND 4', 2, 4],
    ['_commit_version IN (1, 5, 7)', 1, 7],
    ["_commit_version IN (3, 'x', NULL)", 3, 3],
    ['_commit_version > 1.5 AND _commit_version < 3.5', 2, 3],
    ["_commit_version = '3'", 3, 3],
    ['_commit_version IS 4', 4, 4],
    ['_commit_version >= 2 AND _commit_version >= 4 AND _commit_version <= 6 AND _commit_version < 9', 4, 6],
    ['_commit_version + 0 = 3', 0, 7], // not a constraint SQLite offers: no range
    ['_commit_version > -5', 0, 7],
  ];
  for (const [where, lo, hi] of cases) {
    const r = await same(`SELECT id, _change_type, _commit_version FROM $C WHERE ${where} ORDER BY _commit_version, _change_type, id`);
    assert.equal(r.sqls.length, 2, where);
    assert.equal(r.sqls[0], HISTORY, where);
    assert.ok(r.sqls[1].includes(`FROM table_changes('${U}', ${lo}, ${hi})`), `${where}: ${r.sqls[1]}`);
  }
});

test('a range beyond the latest version, or one that holds none, is empty and sends no change read', async () => {
  for (const where of ['_commit_version > 7', '_commit_version = 100', '_commit_version BETWEEN 5 AND 3',
    '_commit_version < 0', '_commit_version = 2.5', '_commit_version IN (100, 200)', "_commit_timestamp > '2999-01-01 00:00:00'"]) {
    const r = await same(`SELECT * FROM $C WHERE ${where}`);
    assert.deepEqual(r.rows, [], where);
    assert.deepEqual(r.sqls, [HISTORY], where);
  }
});

test('constraints on _commit_timestamp bound the range by time and give SQLite\'s answer', async () => {
  const [t1, t2, t3, t4, t5, , t7] = stamps;
  const day = t1.slice(0, 10);
  const cases = [
    [`_commit_timestamp >= '${t3}'`, `'${t3}Z', 7`],
    [`_commit_timestamp > '${t3}'`, `'${t3}Z', 7`],
    [`_commit_timestamp < '${t5}'`, `0, '${t5}Z'`],
    [`_commit_timestamp <= '${t5}'`, `0, '${t5}Z'`],
    [`_commit_timestamp = '${t4}'`, `'${t4}Z', '${t4}Z'`],
    [`_commit_timestamp BETWEEN '${t2}' AND '${t4}'`, `'${t2}Z', '${t4}Z'`],
    [`_commit_timestamp >= '${day}'`, `'${day} 00:00:00Z', 7`],
    [`_commit_timestamp <= '${t7}'`, '0, 7'], // at the latest commit: the latest version
    [`_commit_version >= 2 AND _commit_timestamp <= '${t5}'`, `2, '${t5}Z'`],
    [`_commit_timestamp > '${t2}' AND _commit_version <= 4`, `'${t2}Z', 4`],
  ];
  for (const [where, args] of cases) {
    const r = await same(`SELECT id, _change_type, _commit_version, _commit_timestamp FROM $C WHERE ${where}
      ORDER BY _commit_version, _change_type, id`);
    assert.equal(r.sqls.length, 2, where);
    assert.ok(r.sqls[1].includes(`FROM table_changes('${U}', ${args})`), `${where}: ${r.sqls[1]}`);
  }
  // before the first commit there ever was: nothing, not an error
  const early = await same("SELECT * FROM $C WHERE _commit_timestamp < '2000-01-01 00:00:00'");
  assert.deepEqual(early.rows, []);
  // a text that is not a time stays with SQLite: no time bound
  const odd = await same("SELECT id FROM $C WHERE _commit_timestamp > 'x' ORDER BY 1");
  assert.ok(odd.sqls[1].includes(`FROM table_changes('${U}', 0, 7)`), odd.sqls[1]);
});

test('_change_type and the table\'s columns push down as on any table, with the same answers', async () => {
  const queries = [
    "SELECT id, _commit_version FROM $C WHERE _change_type = 'insert' ORDER BY 2, 1",
    "SELECT id, _change_type FROM $C WHERE _change_type IN ('delete', 'update_preimage') ORDER BY 1, 2",
    "SELECT id, _change_type FROM $C WHERE _change_type LIKE 'UPDATE%' ORDER BY 1, 2",
    "SELECT id FROM $C WHERE _change_type <> 'delete' AND name IS NULL ORDER BY 1",
    "SELECT id, name FROM $C WHERE name LIKE 'c%' ORDER BY 1, 2",
    'SELECT id, score FROM $C WHERE score > 3 ORDER BY 1, 2',
    "SELECT _change_type, count(*) FROM $C WHERE _commit_version >= 3 GROUP BY 1 ORDER BY 1",
    'SELECT id, _commit_version FROM $C ORDER BY _commit_version DESC, id LIMIT 3',
    "SELECT id FROM $C WHERE _commit_version IN (2, 5) AND _change_type = 'insert' ORDER BY 1 LIMIT 2 OFFSET 1",
    "SELECT c1.id FROM $C AS c1 JOIN $C AS c2 ON c1.id = c2.id AND c1._commit_version = c2._commit_version AND c2._change_type = 'update_postimage' WHERE c1._change_type = 'update_preimage' ORDER BY 1",
  ];
  for (const q of queries) await same(q);
  const r = await same("SELECT id FROM $C WHERE _change_type = 'delete' AND _commit_version = 6 ORDER BY 1");
  assert.ok(r.sqls[1].includes(`FROM table_changes('${U}', 6, 6) WHERE \`_change_type\` = :p0`), r.sqls[1]);
});

test('a changes table is read-only', async () => {
  for (const w of ["INSERT INTO c VALUES (1, 'x', 1, 'insert', 1, '2024-01-01 00:00:00')",
    'DELETE FROM c', "UPDATE c SET name = 'y'"]) {
    const err = await ws.fail(`${w};`, { db });
    assert.match(err, /c is a change feed \(changes=true\) and read-only: write to a table without changes=true/, w);
  }
  const viaQuery = await ws.fail("CREATE VIRTUAL TABLE q USING databricks(query='SELECT 1', changes=true);");
  assert.match(viaQuery, /changes=true reads the change feed of a table: give table=/);
  const withWrite = await ws.fail("CREATE VIRTUAL TABLE w USING databricks(table='main.default.u', changes=true, merge_keys='id');");
  assert.match(withWrite, /a changes=true table is read-only/);
  const bad = await ws.fail("CREATE VIRTUAL TABLE w USING databricks(table='main.default.u', changes='maybe');");
  assert.match(bad, /changes must be true or false/);
});

test('a feed that is off, enabled late, expired or not ours gives one line that says what to do', async () => {
  const token = ws.server.token;
  await ws.sql('CREATE TABLE main.default.off (id BIGINT)');
  await ws.sql('INSERT INTO main.default.off VALUES (1)');
  await ws.sql('CREATE TABLE main.default.late (id BIGINT)'); // 0
  await ws.sql('INSERT INTO main.default.late VALUES (1)'); // 1
  await ws.sql('ALTER TABLE main.default.late SET TBLPROPERTIES (delta.enableChangeDataFeed = true)'); // 2
  await ws.sql('INSERT INTO main.default.late VALUES (2)'); // 3
  await ws.sql('CREATE TABLE main.default.gone (id BIGINT) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  for (let i = 1; i <= 4; i++) await ws.sql(`INSERT INTO main.default.gone VALUES (${i})`);
  const ex = await ws.api('POST', '/admin/tables/main.default.gone/expire', { before_version: 3 });
  assert.equal(ex.status, 200, JSON.stringify(ex.body));
  const edb = path.join(dir, 'errors.db');
  const setup = await ws.run(`CREATE VIRTUAL TABLE off USING databricks(table='main.default.off', changes=true);
CREATE VIRTUAL TABLE late USING databricks(table='main.default.late', changes=true);
CREATE VIRTUAL TABLE gone USING databricks(table='main.default.gone', changes=true);`, { db: edb });
  assert.equal(setup.code, 0, setup.stderr);
  const errors = [];
  const fail = async (q, opts) => {
    const e = await ws.fail(q, { db: edb, ...opts });
    assert.equal(e.split('\n').length, 1, e);
    errors.push(e);
    return e;
  };

  const off = await fail('SELECT * FROM off;');
  assert.match(off, /the change data feed of main\.default\.off is not enabled/);
  assert.ok(off.includes('run ALTER TABLE `main`.`default`.`off` SET TBLPROPERTIES (delta.enableChangeDataFeed = true)'), off);

  // without a lower bound: from the version that enabled the feed
  assert.deepEqual(await ws.query('SELECT id, _commit_version FROM late;', { db: edb }), [{ id: 2, _commit_version: 3 }]);
  const late = await fail('SELECT * FROM late WHERE _commit_version >= 0;');
  assert.match(late, /versions 0 to 3 of main\.default\.late include some without change data \(the change data feed is on from version 2\): read from version 2 on \(_commit_version >= 2\), or resync the local copy in full/);

  assert.deepEqual(await ws.query('SELECT id, _commit_version FROM gone ORDER BY 2;', { db: edb }),
    [{ id: 3, _commit_version: 3 }, { id: 4, _commit_version: 4 }]);
  const gone = await fail('SELECT * FROM gone WHERE _commit_version BETWEEN 1 AND 4;');
  assert.match(gone, /the change data of main\.default\.gone before version 3 is gone \(vacuumed or past the log retention\), so versions 1 to 4 cannot be read: read from version 3 on \(_commit_version >= 3\), or resync the local copy in full/);

  const denied = await fail('SELECT * FROM late;', { env: { DATABRICKS_TOKEN: READER } });
  assert.match(denied, /INSUFFICIENT_PERMISSIONS|SELECT/);
  assert.ok(!denied.includes(READER), denied);

  for (const e of errors) assert.ok(!e.includes(token) && !e.includes('dapi-'), e);
});
