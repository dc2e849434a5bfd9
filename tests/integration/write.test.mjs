// INSERT into a `databricks` table: rows staged in the transaction, loaded
// into the Delta table with COPY INTO when SQLite commits, exactly once.
// Each test drives the sqlite3 shell and checks the remote side through
// dbx-local as the admin: rows, column types, table versions, and the
// staging volume's folder on disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { workspace, EXT } from './harness.mjs';

let ws;
let tmp;
before(async () => {
  ws = await workspace();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-write-'));
});
after(async () => {
  await ws?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let nDb = 0;
const newDb = () => path.join(tmp, `w${++nDb}.db`);

// Remote rows of a statement, as dbx-local's JSON_ARRAY strings.
async function remote(sql) {
  const r = await ws.sql(sql);
  return r.result?.data_array ?? [];
}
// The operations of a table's history, oldest first.
async function history(table) {
  return (await remote(`DESCRIBE HISTORY ${table}`)).map((r) => r[4]).reverse();
}
// Every file left in the default staging volume of main.default.
async function staged() {
  const dir = path.join(ws.server.dataDir, 'volumes', 'main', 'default', '_dbx_staging');
  const out = [];
  const walk = async (d) => {
    let ents;
    try { ents = await readdir(d, { withFileTypes: true }); } catch { return; }
    for (const e of ents) {
      if (e.isDirectory()) await walk(path.join(d, e.name));
      else out.push(path.join(d, e.name));
    }
  };
  await walk(dir);
  return out;
}
async function fault(spec) {
  const r = await ws.api('POST', '/admin/faults', spec);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}
const clearFaults = () => ws.api('DELETE', '/admin/faults');
const STATEMENTS = '^/api/2\\.0/sql/statements$';

test('create= makes the table at the first commit, with its types and an ingested_at time', async () => {
  const db = newDb();
  const out = await ws.query(`
CREATE VIRTUAL TABLE ev USING databricks(table='main.default.ev1',
  create='id BIGINT, name STRING, props VARIANT, ts TIMESTAMP, d DATE, amt DECIMAL(10,2), ok BOOLEAN',
  ingested_at='ingested');
SELECT group_concat(name || ':' || type, ',') AS cols FROM pragma_table_info('ev');`, { db });
  assert.equal(out[0].cols, 'id:BIGINT,name:STRING TEXT,props:VARIANT TEXT,ts:TIMESTAMP,d:DATE,amt:DECIMAL(10,2),ok:BOOLEAN,ingested:TIMESTAMP');
  // nothing remote yet: connecting and creating send no DDL
  const missing = await ws.api('GET', '/api/2.1/unity-catalog/tables/main.default.ev1');
  assert.equal(missing.status, 404);

  const before = Date.now();
  await ws.query(`
BEGIN;
INSERT INTO ev(id, name, props, ts, d, amt, ok) VALUES
  (1, 'signup', '{"plan":"pro","n":[1,2]}', '2024-01-02 03:04:05.123456', '1969-12-31', 12.34, 1),
  (9223372036854775807, 'x' || char(0) || 'y', NULL, '2262-04-12T00:00:00Z', '2999-01-01', '-99999999.99', 'false'),
  (-9223372036854775808, '', '"text"', NULL, NULL, NULL, NULL);
COMMIT;`, { db });
  const rows = await remote('SELECT id, name, props, ts, d, amt, ok, ingested FROM main.default.ev1 ORDER BY id');
  // VARIANT text compared as JSON: key order is the server's business
  for (const r of rows) if (r[2] !== null) r[2] = JSON.parse(r[2]);
  assert.deepEqual(rows.map((r) => r.slice(0, 7)), [
    ['-9223372036854775808', '', 'text', null, null, null, null],
    ['1', 'signup', { plan: 'pro', n: [1, 2] }, '2024-01-02T03:04:05.123456Z', '1969-12-31', '12.34', 'true'],
    ['9223372036854775807', 'x\u0000y', null, '2262-04-12T00:00:00Z', '2999-01-01', '-99999999.99', 'false'],
  ]);
  // one commit time for every row, taken at the commit
  assert.equal(new Set(rows.map((r) => r[7])).size, 1);
  const t = Date.parse(rows[0][7]);
  assert.ok(t >= before - 2000 && t <= Date.now() + 2000, rows[0][7]);
  const cols = (await remote('DESCRIBE TABLE main.default.ev1')).map((r) => `${r[0]}:${r[1]}`);
  assert.deepEqual(cols.slice(0, 8), ['id:bigint', 'name:string', 'props:variant', 'ts:timestamp', 'd:date', 'amt:decimal(10,2)', 'ok:boolean', 'ingested:timestamp']);
  assert.deepEqual(await history('main.default.ev1'), ['CREATE TABLE', 'COPY INTO']);
  assert.deepEqual(await staged(), [], 'the staged files are removed after the load');
  // the same table reads what it wrote
  const back = await ws.query(`SELECT id, name, amt FROM ev WHERE id = 1`, { db });
  assert.deepEqual(back, [{ id: 1, name: 'signup', amt: 12.34 }]);
});

test('two transactions with equal rows load two copies; an empty transaction sends nothing', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev2 (id BIGINT, name STRING)');
  await ws.query(`CREATE VIRTUAL TABLE t USING databricks(table='main.default.ev2');`, { db });
  await ws.query(`INSERT INTO t VALUES (1, 'same');`, { db });
  await ws.query(`INSERT INTO t VALUES (1, 'same');`, { db });
  assert.deepEqual(await remote('SELECT id, name FROM main.default.ev2'), [['1', 'same'], ['1', 'same']]);
  assert.deepEqual(await history('main.default.ev2'), ['CREATE TABLE', 'COPY INTO', 'COPY INTO']);

  await ws.api('DELETE', '/admin/requests');
  await ws.query(`BEGIN; INSERT INTO t SELECT 1, 'x' WHERE 0; COMMIT; BEGIN; INSERT INTO t VALUES (5, 'gone'); ROLLBACK;`, { db });
  const reqs = (await ws.api('GET', '/admin/requests')).body.requests.filter((r) => !r.path.startsWith('/admin'));
  assert.deepEqual(reqs, [], 'no request for an empty or rolled-back transaction');
  assert.equal((await remote('SELECT count(*) FROM main.default.ev2'))[0][0], '2');
  const seq = await ws.query(`SELECT seq FROM t_state`, { db });
  assert.deepEqual(seq, [{ seq: 2 }]);
});

// Runs a script in the shell without -bail, so that a failing statement
// does not end the transaction around it. Resolves to { code, stderr }.
function runNoBail(db, script) {
  return new Promise((resolve, reject) => {
    const proc = ws.spawn(['-batch', db]);
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stderr }));
    proc.stdin.end(`.load ${EXT}\n${script}\n`);
  });
}

test('savepoints and a statement failing midway take their rows back', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev3 (id BIGINT, note STRING)');
  // rows large enough that the spool has written to disk before each cut
  const big = `printf('%.2000c', 'x')`;
  const script = `
CREATE VIRTUAL TABLE t USING databricks(table='main.default.ev3');
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO t SELECT i, ${big} FROM n;
SAVEPOINT a;
WITH RECURSIVE n(i) AS (SELECT 1001 UNION ALL SELECT i + 1 FROM n WHERE i < 1400)
INSERT INTO t SELECT i, ${big} FROM n;
ROLLBACK TO a;
INSERT INTO t VALUES (501, 'kept');
SAVEPOINT b;
INSERT INTO t VALUES (502, 'released');
RELEASE b;
WITH RECURSIVE n(i) AS (SELECT 2001 UNION ALL SELECT i + 1 FROM n WHERE i < 2300)
INSERT INTO t SELECT i, ${big} FROM n UNION ALL SELECT 'bad', 'fails the statement';
COMMIT;`;
  const r = await runNoBail(db, script);
  assert.match(r.stderr, /column "id" row 803: BIGINT needs an integer: 'bad'/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const rows = await remote('SELECT count(*), min(id), max(id), sum(id) FROM main.default.ev3');
  assert.deepEqual(rows, [['502', '1', '502', String((500 * 501) / 2 + 501 + 502)]]);
  assert.deepEqual(await history('main.default.ev3'), ['CREATE TABLE', 'COPY INTO']);
});

test('a bad value fails its statement, naming the column, the row and the value', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev4 (id INT, doc VARIANT, s STRING, d DATE)');
  await ws.query(`CREATE VIRTUAL TABLE t USING databricks(table='main.default.ev4');`, { db });
  const cases = [
    [`INSERT INTO t(id) VALUES (2147483648)`, /column "id" row 1: INT .*2147483648/],
    [`INSERT INTO t(id, doc) VALUES (1, '{"a":1}'), (2, '{"a":')`, /column "doc" row 2: (VARIANT|JSON) needs one JSON value: '\{"a":'/],
    [`INSERT INTO t(s) VALUES (CAST(x'ff41' AS TEXT))`, /column "s" row 1: STRING needs valid UTF-8/],
    [`INSERT INTO t(d) VALUES ('2024-13-45')`, /column "d" row 1: DATE/],
  ];
  for (const [sql, re] of cases) {
    const err = await ws.fail(`${sql};`, { db });
    assert.match(err, re, sql);
    assert.doesNotMatch(err, /dapi|Bearer/);
  }
  assert.equal((await remote('SELECT count(*) FROM main.default.ev4'))[0][0], '0');
  assert.deepEqual(await history('main.default.ev4'), ['CREATE TABLE']);
});

test('UPDATE and DELETE are refused; a query= table is read-only', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev5 (id BIGINT)');
  await ws.query(`CREATE VIRTUAL TABLE t USING databricks(table='main.default.ev5');
CREATE VIRTUAL TABLE q USING databricks(query='SELECT 1 AS id');
INSERT INTO t VALUES (1);`, { db });
  assert.match(await ws.fail(`UPDATE t SET id = 2;`, { db }), /takes INSERT only/);
  assert.match(await ws.fail(`DELETE FROM t;`, { db }), /takes INSERT only/);
  assert.match(await ws.fail(`INSERT INTO q VALUES (1);`, { db }), /query= table is read-only/);
  assert.match(await ws.fail(`CREATE VIRTUAL TABLE z USING databricks(query='SELECT 1', create='a INT');`, { db }), /query= table is read-only/);
  assert.match(await ws.fail(`CREATE VIRTUAL TABLE z USING databricks(table='main.default.nope');`, { db }), /not found/);
  assert.match(await ws.fail(`CREATE VIRTUAL TABLE z USING databricks(table='main.default.nope', create='a INT; DROP TABLE x');`, { db }), /type/i);
  assert.match(await ws.fail(`CREATE VIRTUAL TABLE z USING databricks(table='main.default.nope', json_as='xml');`, { db }), /json_as must be/);
});

test('columns missing remotely are added; model= and json_as=string shape the table', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev6 (id BIGINT, name STRING)');
  await ws.sql(`INSERT INTO main.default.ev6 VALUES (1, 'old')`);
  await ws.query(`
CREATE VIRTUAL TABLE t USING databricks(table='main.default.ev6', create='id BIGINT, name STRING, score DOUBLE, tags ARRAY<STRING>');
INSERT INTO t(id, name, score) VALUES (2, 'new', 0.5);`, { db });
  assert.deepEqual((await remote('DESCRIBE TABLE main.default.ev6')).map((r) => r[0]).slice(0, 4), ['id', 'name', 'score', 'tags']);
  assert.deepEqual(await remote('SELECT id, name, score FROM main.default.ev6 ORDER BY id'), [['1', 'old', null], ['2', 'new', '0.5']]);
  assert.deepEqual(await history('main.default.ev6'), ['CREATE TABLE', 'WRITE', 'ADD COLUMNS', 'COPY INTO']);

  await ws.query(`
CREATE VIRTUAL TABLE p USING databricks(table='main.default.amp', model='amplitude_events', json_as='string');
INSERT INTO p(event_id, event_type, event_time, amplitude_id, event_properties)
  VALUES (7, 'checkout', '2024-05-01 12:00:00', 42, '{"total": 9.5}');`, { db });
  const desc = await remote('DESCRIBE TABLE main.default.amp');
  assert.equal(desc.filter((r) => r[0] && !r[0].startsWith('#')).length, 37);
  assert.equal(desc.find((r) => r[0] === 'event_properties')[1], 'string');
  assert.deepEqual(await remote('SELECT event_id, event_type, amplitude_id, event_properties FROM main.default.amp'),
    [['7', 'checkout', '42', '{"total": 9.5}']]);
});

test('a COPY INTO whose reply is lost is sent again and loads once', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev7 (id BIGINT)');
  await ws.query(`CREATE VIRTUAL TABLE t USING databricks(table='main.default.ev7'); INSERT INTO t VALUES (0);`, { db });
  // the table and the volume exist: the next statement sent is the COPY INTO
  await fault({ method: 'POST', path: STATEMENTS, drop: true, count: 1 });
  await ws.query(`INSERT INTO t VALUES (1), (2);`, { db });
  await clearFaults();
  assert.deepEqual(await remote('SELECT id FROM main.default.ev7 ORDER BY id'), [['0'], ['1'], ['2']]);
  assert.deepEqual(await history('main.default.ev7'), ['CREATE TABLE', 'COPY INTO', 'COPY INTO']);
});

test('an unknown outcome says so, and running the same transaction again loads once', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev8 (id BIGINT)');
  await ws.query(`CREATE VIRTUAL TABLE t USING databricks(table='main.default.ev8'); INSERT INTO t VALUES (0);`, { db });
  await fault({ method: 'POST', path: STATEMENTS, drop: true, count: 50 });
  const err = await ws.fail(`INSERT INTO t VALUES (1), (2);`, { db, env: { DATABRICKS_RETRY_TIMEOUT_SECONDS: '3' } });
  await clearFaults();
  assert.match(err, /may or may not have happened/);
  assert.match(err, /\/Volumes\/main\/default\/_dbx_staging\/[0-9a-f]{32}\/[0-9a-f]{32}-2-[0-9a-f]{32}\//);
  assert.match(err, /running the same transaction again is safe/);
  assert.equal(err.split('\n').length, 1);
  // it did load; the local commit did not happen, so the sequence stayed
  assert.deepEqual(await ws.query(`SELECT seq FROM t_state`, { db }), [{ seq: 1 }]);
  assert.equal((await remote('SELECT count(*) FROM main.default.ev8'))[0][0], '3');
  await ws.query(`INSERT INTO t VALUES (1), (2);`, { db });
  assert.deepEqual(await remote('SELECT id FROM main.default.ev8 ORDER BY id'), [['0'], ['1'], ['2']]);
  assert.deepEqual(await ws.query(`SELECT seq FROM t_state`, { db }), [{ seq: 2 }]);
  assert.deepEqual(await staged(), []);
});

// Starts the shell on a script and kills it (SIGKILL) once the remote
// table holds nRows rows: after the load, before the local commit, which
// a held cleanup request keeps from coming.
async function killAfterLoad(db, script, table, nRows) {
  await fault({ method: 'DELETE', path: '^/api/2\\.0/fs/', delay_ms: 20000, count: 1 });
  const proc = ws.spawn(['-bail', db]);
  const gone = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(signal)));
  proc.stdin.end(`.load ${EXT}\n${script}\n`);
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const t0 = Date.now();
  try {
    for (;;) {
      const n = Number((await remote(`SELECT count(*) FROM ${table}`))[0][0]);
      if (n >= nRows) break;
      assert.ok(Date.now() - t0 < 20000, `the load did not happen: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    proc.kill('SIGKILL');
    await clearFaults();
  }
  assert.equal(await gone, 'SIGKILL');
}

test('kill -9 after the load: the same rows again load once, other rows load', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev9 (id BIGINT, v STRING)');
  await ws.query(`CREATE VIRTUAL TABLE t USING databricks(table='main.default.ev9'); INSERT INTO t VALUES (0, 'first');`, { db });
  const same = `BEGIN; INSERT INTO t VALUES (1, 'a'), (2, 'b'); INSERT INTO t SELECT 3, 'c'; COMMIT;`;
  await killAfterLoad(db, same, 'main.default.ev9', 4);
  assert.deepEqual(await ws.query(`SELECT seq FROM t_state`, { db }), [{ seq: 1 }]);
  await ws.query(same, { db });
  assert.deepEqual(await remote('SELECT id, v FROM main.default.ev9 ORDER BY id'),
    [['0', 'first'], ['1', 'a'], ['2', 'b'], ['3', 'c']]);

  // killed again, then run with different rows: they load, nothing is lost
  await killAfterLoad(db, `INSERT INTO t VALUES (4, 'd');`, 'main.default.ev9', 5);
  await ws.query(`INSERT INTO t VALUES (5, 'e');`, { db });
  assert.deepEqual(await remote('SELECT id FROM main.default.ev9 ORDER BY id'),
    [['0'], ['1'], ['2'], ['3'], ['4'], ['5']]);
  // and a third transaction with the killed one's rows is a new one: two copies
  await ws.query(`INSERT INTO t VALUES (4, 'd');`, { db });
  assert.equal((await remote(`SELECT count(*) FROM main.default.ev9 WHERE id = 4`))[0][0], '2');
});

test('a damaged write state is refused before anything is sent', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev10 (id BIGINT)');
  await ws.query(`CREATE VIRTUAL TABLE t USING databricks(table='main.default.ev10');
PRAGMA writable_schema = ON;`, { db });
  await ws.run(`UPDATE t_state SET identity = '../../x';`, { db, load: false });
  await ws.api('DELETE', '/admin/requests');
  const err = await ws.fail(`INSERT INTO t VALUES (1);`, { db });
  assert.match(err, /write state of t .* damaged: run SELECT dbx_refresh\('t'\)/);
  const reqs = (await ws.api('GET', '/admin/requests')).body.requests.filter((r) => r.method !== 'GET' && !r.path.startsWith('/admin'));
  assert.deepEqual(reqs, []);
  // a missing state table, the same; dbx_refresh makes it again
  await ws.run(`DROP TABLE t_state;`, { db, load: false });
  assert.match(await ws.fail(`INSERT INTO t VALUES (1);`, { db }), /missing or damaged/);
  await ws.query(`SELECT dbx_refresh('t'); INSERT INTO t VALUES (1);`, { db });
  assert.deepEqual(await remote('SELECT id FROM main.default.ev10'), [['1']]);
});

test('change_data_feed=true makes a table whose change feed holds the inserted rows', async () => {
  const db = newDb();
  await ws.query(`CREATE VIRTUAL TABLE c USING databricks(table='main.default.cdf1',
  create='id BIGINT, v STRING', change_data_feed=true);
INSERT INTO c VALUES (1, 'a'), (2, 'b');`, { db });
  const info = await ws.api('GET', '/api/2.1/unity-catalog/tables/main.default.cdf1');
  assert.equal(info.body.properties?.['delta.enableChangeDataFeed'], 'true');
  assert.deepEqual(await remote(`SELECT id, v, _change_type FROM table_changes('main.default.cdf1', 0) ORDER BY id`),
    [['1', 'a', 'insert'], ['2', 'b', 'insert']]);
});

test('bad write arguments are refused with what to write', async () => {
  const db = newDb();
  await ws.sql('CREATE TABLE main.default.ev11 (id BIGINT, note STRING)');
  const err = (sql) => ws.fail(sql, { db });
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.ev11', staging_volume='main.vol');`), /staging_volume must be catalog\.schema\.volume/);
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.ev11', parallel_uploads='0');`), /parallel_uploads must be a number from 1 to 64/);
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.ev11', change_data_feed='yes');`), /change_data_feed must be true or false/);
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.ev11', create='a INT', model='amplitude_events');`), /give create= or model=, not both/);
  assert.match(await err(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.ev11', ingested_at='note');
INSERT INTO x(id) VALUES (1);`), /ingested_at='note' must be a TIMESTAMP column/);
  assert.equal((await remote('SELECT count(*) FROM main.default.ev11'))[0][0], '0');
});
