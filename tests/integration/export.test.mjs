// dbx_export(): a local table or query loaded into a Delta table through
// dbx-local, exactly once. The remote rows are checked against the local
// ones after every call: none lost, none twice, also when the sqlite3
// process is killed (SIGKILL) at each phase of an export and run again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { workspace, EXT } from './harness.mjs';

let ws;
let tmp;
before(async () => {
  ws = await workspace();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-export-'));
});
after(async () => {
  await ws?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let nDb = 0;
const newDb = () => path.join(tmp, `e${++nDb}.db`);
const remote = async (sql) => (await ws.sql(sql)).result?.data_array ?? [];
const report = (rows) => JSON.parse(Object.values(rows[0])[0]);
const STATEMENTS = '^/api/2\\.0/sql/statements$';

// Local events table with n rows (ids 1..n), added to by addRows.
const EVENTS = `CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, kind TEXT,
  at DATETIME, amount DECIMAL(10,2), score REAL, props JSON, raw BLOB, flag BOOLEAN);`;
const addRows = (from, to) => `WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to})
INSERT INTO events SELECT i, CASE i % 3 WHEN 0 THEN 'checkout' WHEN 1 THEN 'view' ELSE 'signup' END,
  datetime(1700000000 + i, 'unixepoch'), i * 0.25, i / 7.0, json_object('i', i), randomblob(4), i % 2 FROM n;`;

async function sameIds(db, table, where = '') {
  const local = (await ws.query(`SELECT group_concat(id) AS ids FROM (SELECT id FROM events ${where} ORDER BY id);`, { db }))[0].ids;
  const rem = (await remote(`SELECT id FROM ${table} ORDER BY id`)).map((r) => r[0]).join(',');
  assert.equal(rem, local ?? '', 'remote ids are the local ids, each once');
}

test('the first export creates the table from the declared types; a watermark exports only what is new', async () => {
  const db = newDb();
  let r = report(await ws.query(`${EVENTS}${addRows(1, 1000)}
SELECT dbx_export('events', 'main.default.ex1', '{"watermark": "id"}');`, { db }));
  assert.equal(r.rows, 1000);
  assert.equal(r.loaded, 1000);
  assert.equal(r.created, true);
  assert.equal(r.watermark, 1000);
  assert.ok(r.statement_id);
  const cols = (await remote('DESCRIBE TABLE main.default.ex1')).map((x) => `${x[0]}:${x[1]}`);
  assert.deepEqual(cols.slice(0, 8), ['id:bigint', 'kind:string', 'at:timestamp', 'amount:decimal(10,2)', 'score:double', 'props:variant', 'raw:binary', 'flag:boolean']);
  const row = (await remote('SELECT id, kind, at, amount, props FROM main.default.ex1 WHERE id = 7'))[0];
  assert.deepEqual(row.slice(0, 4), ['7', 'view', '2023-11-14T22:13:27Z', '1.75']);
  assert.deepEqual(JSON.parse(row[4]), { i: 7 });
  await sameIds(db, 'main.default.ex1');

  r = report(await ws.query(`SELECT dbx_export('events', 'main.default.ex1', '{"watermark": "id"}');`, { db }));
  assert.equal(r.rows, 0);
  assert.equal(r.watermark, 1000);
  assert.equal(r.statement_id, null);

  r = report(await ws.query(`${addRows(1001, 1010)}
SELECT dbx_export('events', 'main.default.ex1', '{"watermark": "id"}');`, { db }));
  assert.equal(r.rows, 10);
  assert.equal(r.watermark, 1010);
  await sameIds(db, 'main.default.ex1');
  const state = await ws.query(`SELECT target, seq, watermark, rows FROM dbx_export_state;`, { db });
  assert.deepEqual(state, [{ target: 'main.default.ex1', seq: 2, watermark: 1010, rows: 10 }]);
  // the directory of the last export stays for the next one; older ones go
  const root = path.join(ws.server.dataDir, 'volumes', 'main', 'default', '_dbx_staging');
  const [tdir] = await readdir(root);
  const kept = await readdir(path.join(root, tdir));
  assert.equal(kept.length, 1);
  assert.match(kept[0], /^[0-9a-f]{32}-2$/);
  assert.deepEqual((await readdir(path.join(root, tdir, kept[0]))).sort(), ['_plan.json', 'part-00000.parquet']);
});

test('without a watermark every call exports every row: equal rows twice, as two INSERTs would', async () => {
  const db = newDb();
  await ws.query(`${EVENTS}${addRows(1, 5)}
SELECT dbx_export('SELECT id, kind FROM events', 'main.default.ex2');
SELECT dbx_export('SELECT id, kind FROM events', 'main.default.ex2');`, { db });
  assert.deepEqual(await remote('SELECT id, count(*) FROM main.default.ex2 GROUP BY id ORDER BY id'),
    [['1', '2'], ['2', '2'], ['3', '2'], ['4', '2'], ['5', '2']]);
});

test('fan-out: one source, two filters, two targets (examples/fanout.sql)', async () => {
  const db = newDb();
  const script = await readFile(fileURLToPath(new URL('../../examples/fanout.sql', import.meta.url)), 'utf8');
  await ws.query(script.replace(/^\.load .*$/m, ''), { db });
  const checkouts = await remote('SELECT count(*), min(event_type), max(event_type) FROM main.default.checkout_events');
  const engagement = await remote('SELECT count(*), min(event_type), max(event_type) FROM main.default.engagement_events');
  const local = await ws.query(`SELECT sum(event_type = 'checkout') AS c, sum(event_type <> 'checkout') AS e FROM app_events;`, { db });
  assert.deepEqual(checkouts, [[String(local[0].c), 'checkout', 'checkout']]);
  assert.equal(engagement[0][0], String(local[0].e));
  assert.notEqual(engagement[0][1], 'checkout');
  // the model's 37 columns, JSON fields as VARIANT
  assert.equal((await remote('DESCRIBE TABLE main.default.checkout_events')).filter((x) => x[0] && !x[0].startsWith('#')).length, 37);
});

test('columns the source gains are added; create false refuses a missing table; bad options say what is allowed', async () => {
  const db = newDb();
  await ws.query(`CREATE TABLE s(id INTEGER, a TEXT); INSERT INTO s VALUES (1, 'x');
SELECT dbx_export('s', 'main.default.ex4');
ALTER TABLE s ADD COLUMN b REAL; INSERT INTO s VALUES (2, 'y', 2.5);
SELECT dbx_export('SELECT * FROM s WHERE id = 2', 'main.default.ex4');`, { db });
  assert.deepEqual(await remote('SELECT id, a, b FROM main.default.ex4 ORDER BY id'), [['1', 'x', null], ['2', 'y', '2.5']]);
  assert.match(await ws.fail(`SELECT dbx_export('s', 'main.default.nope', '{"create": false}');`, { db }), /main\.default\.nope does not exist/);
  assert.match(await ws.fail(`SELECT dbx_export('s', 'main.default.ex4', '{"mode": "upsert"}');`, { db }), /mode must be 'append' \(the default\), 'merge' or 'replace'/);
  assert.match(await ws.fail(`SELECT dbx_export('s', 'main.default.ex4', '{"file_size_mb": 0}');`, { db }), /file_size_mb: 1 to 1024/);
  assert.match(await ws.fail(`SELECT dbx_export('DELETE FROM s', 'main.default.ex4');`, { db }), /table name or one SELECT|does not prepare/);
  assert.match(await ws.fail(`SELECT dbx_export('nosuch', 'main.default.ex4');`, { db }), /does not prepare: no such table: nosuch/);
  assert.match(await ws.fail(`SELECT dbx_export('s', 'main.default.ex4', '{"watermark": "a"}') FROM (SELECT 1);
UPDATE dbx_export_state SET identity = 'zz';
SELECT dbx_export('s', 'main.default.ex4', '{"watermark": "a"}');`, { db }), /dbx_export_state is damaged/);
});

// Runs `script` in a shell and kills it once fault `spec` was hit (and,
// when given, once the remote count reached nAtLeast).
async function killDuring(db, script, spec, table, nAtLeast) {
  await ws.api('DELETE', '/admin/faults');
  const f = await ws.api('POST', '/admin/faults', spec);
  assert.equal(f.status, 200);
  const proc = ws.spawn(['-bail', db]);
  const gone = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(signal)));
  proc.stdin.end(`.load ${EXT}\n${script}\n`);
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const t0 = Date.now();
  const waitFor = async (done) => {
    while (!(await done())) {
      assert.ok(Date.now() - t0 < 30000, `the phase was not reached: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    // the fault first (a query of ours must not be the one it catches)
    await waitFor(async () => (await ws.api('GET', '/admin/faults')).body.faults.length === 0);
    if (nAtLeast) await waitFor(async () => Number((await remote(`SELECT count(*) FROM ${table}`))[0][0]) >= nAtLeast);
  } finally {
    proc.kill('SIGKILL');
    await ws.api('DELETE', '/admin/faults');
  }
  assert.equal(await gone, 'SIGKILL');
}

test('kill -9 at every phase, then a re-run: every row exactly once', async () => {
  const db = newDb();
  const T = 'main.default.ex5';
  const call = `SELECT dbx_export('events', '${T}', '{"watermark": "id"}');`;
  await ws.query(`${EVENTS}${addRows(1, 100)}${call}`, { db });
  await sameIds(db, T);

  // while a file uploads: nothing loaded, the re-run loads the range
  await ws.query(addRows(101, 200), { db });
  await killDuring(db, call, { method: 'PUT', path: '^/api/2\\.0/fs/files/.*\\.parquet$', delay_ms: 30000, count: 1 });
  assert.equal((await remote(`SELECT count(*) FROM ${T}`))[0][0], '100');
  await ws.query(call, { db });
  await sameIds(db, T);

  // after the upload, COPY INTO held before it ran
  await ws.query(addRows(201, 300), { db });
  await killDuring(db, call, { method: 'POST', path: STATEMENTS, delay_ms: 30000, count: 1 });
  assert.equal((await remote(`SELECT count(*) FROM ${T}`))[0][0], '200');
  await ws.query(addRows(301, 310), { db }); // more rows before the re-run: they wait
  let r = report(await ws.query(call, { db }));
  assert.equal(r.watermark, 300, 'the re-run follows the plan of the killed try');
  await sameIds(db, T, 'WHERE id <= 300');
  r = report(await ws.query(call, { db }));
  assert.equal(r.rows, 10);
  await sameIds(db, T);

  // COPY INTO ran, its answer held: the rows are in, the local state is not
  await ws.query(addRows(311, 400), { db });
  await killDuring(db, call, { method: 'POST', path: STATEMENTS, hold_ms: 30000, count: 1 }, T, 400);
  await ws.query(addRows(401, 450), { db });
  r = report(await ws.query(call, { db }));
  assert.equal(r.loaded, 0, 'the files of the killed try are not loaded again');
  assert.equal(r.watermark, 400);
  await sameIds(db, T, 'WHERE id <= 400');

  // after the load and the state, before the local commit (the old
  // directory's removal held)
  await killDuring(db, call, { method: 'DELETE', path: '^/api/2\\.0/fs/', delay_ms: 30000, count: 1 }, T, 450);
  r = report(await ws.query(call, { db }));
  assert.equal(r.loaded, 0);
  await sameIds(db, T);
  const seq = await ws.query(`SELECT seq FROM dbx_export_state;`, { db });
  assert.deepEqual(seq, [{ seq: 6 }]);
});

test('progress: one line rewritten on stderr when asked', async () => {
  const db = newDb();
  const r = await ws.run(`${EVENTS}${addRows(1, 50)}
SELECT dbx_export('events', 'main.default.ex6', '{"progress": true}');`, { db });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\rdbx_export: done +50 rows, [0-9.]+ MB, [0-9]+ rows\/s, [0-9.]+ s/);
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1);
  const quiet = await ws.run(`SELECT dbx_export('events', 'main.default.ex6');`, { db });
  assert.equal(quiet.stderr, '');
});

test('mode merge: one row per key, greatest version, applied with MERGE; the watermark still bounds each call', async () => {
  const db = newDb();
  const call = `SELECT dbx_export('people', 'main.default.people', '{"mode": "merge", "model": "posthog_persons", "watermark": "seen"}');`;
  let r = report(await ws.query(`CREATE TABLE people(team_id INTEGER, distinct_id TEXT, person_id TEXT,
  person_version INTEGER, person_distinct_id_version INTEGER, seen INTEGER);
INSERT INTO people VALUES (1, 'a', 'old', 1, 1, 1), (1, 'a', 'new', 3, 1, 2), (1, 'b', 'b1', NULL, 1, 3), (1, 'b', 'b2', 1, 1, 4);
${call}`, { db }));
  assert.equal(r.rows, 2);
  assert.deepEqual(await remote('SELECT team_id, distinct_id, person_id, person_version FROM main.default.people ORDER BY distinct_id'),
    [['1', 'a', 'new', '3'], ['1', 'b', 'b2', '1']]);
  // a stale version and a newer one, both past the watermark
  r = report(await ws.query(`INSERT INTO people VALUES (1, 'a', 'stale', 2, 1, 5), (1, 'b', 'b3', 2, 1, 6);
${call}`, { db }));
  assert.equal(r.rows, 2);
  assert.deepEqual(await remote('SELECT distinct_id, person_id, person_version FROM main.default.people ORDER BY distinct_id'),
    [['a', 'new', '3'], ['b', 'b3', '2']]);
  assert.ok(!(await remote('SHOW TABLES IN main.default')).some((t) => t[1].includes('__dbx_stage_')));
  assert.match(await ws.fail(`SELECT dbx_export('people', 'main.default.people', '{"mode": "merge"}');`, { db }), /needs merge_keys/);
  assert.match(await ws.fail(`SELECT dbx_export('people', 'main.default.people', '{"merge_keys": "team_id"}');`, { db }), /need \{"mode": "merge"\}/);
  assert.match(await ws.fail(`SELECT dbx_export('people', 'main.default.people', '{"mode": "merge", "merge_keys": "nope"}');`, { db }), /merge key column nope is not a column of the source/);
});

test('mode replace: the table holds exactly the source rows after each call, also an empty source', async () => {
  const db = newDb();
  const call = `SELECT dbx_export('SELECT id, kind FROM events WHERE id % 2 = 0', 'main.default.ex8', '{"mode": "replace"}');`;
  await ws.query(`${EVENTS}${addRows(1, 10)}${call}`, { db });
  assert.deepEqual((await remote('SELECT id FROM main.default.ex8 ORDER BY id')).map((r) => r[0]), ['2', '4', '6', '8', '10']);
  await ws.query(`DELETE FROM events WHERE id < 7; ${call} ${call}`, { db });
  assert.deepEqual((await remote('SELECT id FROM main.default.ex8 ORDER BY id')).map((r) => r[0]), ['8', '10']);
  await ws.query(`DELETE FROM events; ${call}`, { db });
  assert.deepEqual(await remote('SELECT count(*) FROM main.default.ex8'), [['0']]);
  assert.ok(!(await remote('SHOW TABLES IN main.default')).some((t) => t[1].includes('__dbx_stage_')));
  assert.match(await ws.fail(`SELECT dbx_export('events', 'main.default.ex8', '{"mode": "replace", "watermark": "id"}');`, { db }), /leave out the watermark/);
});

test('an empty source writes nothing remotely (it only looks); one row is one row', async () => {
  const db = newDb();
  await ws.api('DELETE', '/admin/requests');
  let r = report(await ws.query(`CREATE TABLE e(id INTEGER, v TEXT);
SELECT dbx_export('e', 'main.default.ex9');`, { db }));
  assert.equal(r.rows, 0);
  assert.equal(r.statement_id, null);
  // a look for an earlier try's plan and at the table's columns, nothing else
  const sent = (await ws.api('GET', '/admin/requests')).body.requests.filter((q) => !q.path.startsWith('/admin'));
  assert.deepEqual(sent.filter((q) => q.method !== 'GET' && q.method !== 'HEAD'), []);
  assert.ok(sent.length <= 3, JSON.stringify(sent.map((q) => q.path)));
  assert.equal((await ws.api('GET', '/api/2.1/unity-catalog/tables/main.default.ex9')).status, 404);
  r = report(await ws.query(`INSERT INTO e VALUES (1, 'x' || char(0) || 'y'); SELECT dbx_export('e', 'main.default.ex9');`, { db }));
  assert.equal(r.rows, 1);
  assert.deepEqual(await remote('SELECT id, v FROM main.default.ex9'), [['1', 'x\u0000y']]);
  assert.match(await ws.fail(`SELECT dbx_export('e', 'main.default.ex9', '{"create": "id BIGINT", "model": "amplitude_events"}');`, { db }), /give create or model, not both/);
  assert.match(await ws.fail(`SELECT dbx_export('e', 'main.default.ex9', '{"staging_volume": "main.v"}');`, { db }), /staging_volume must be catalog\.schema\.volume/);
  assert.match(await ws.fail(`CREATE TABLE b(w BLOB); INSERT INTO b VALUES (x'00');
SELECT dbx_export('b', 'main.default.ex10', '{"watermark": "w"}');`, { db }), /watermark column w holds blobs/);
});
