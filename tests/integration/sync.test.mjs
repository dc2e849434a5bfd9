// dbx_sync(): a remote table's changes applied to a local table, exactly
// once, against dbx-local. The expected local table is computed here, in
// JavaScript, from the change rows dbx-local recorded (table_changes read
// as the admin) by the rules of each kind, and compared with the local
// table after every call, with the report's counts and versions. Also:
// incremental calls, a call with nothing new, a kill -9 between the fetch
// and the local commit, where the first call starts, test mode, transforms,
// timestamp mode, errors that change nothing, and the local table's
// columns. What the server sends is checked before it is applied: rows
// that lie (an unknown change type, a version outside the range read, a
// missing version) are made by transforms, since dbx-local's faults cannot
// rewrite a result.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { EXT, parseResultSets, readerConfig, runShell, workspace } from './harness.mjs';

const READER = 'dapi-sync-reader';
const CONFIG = readerConfig(READER);
const CDF = 'TBLPROPERTIES (delta.enableChangeDataFeed = true)';
const NUMERIC = new Set(['LONG', 'INT', 'SHORT', 'BYTE', 'DOUBLE', 'FLOAT']);

let ws, tmp;
before(async () => {
  ws = await workspace({ config: CONFIG });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-sync-'));
});
after(async () => {
  await ws?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let nDb = 0;
const newDb = () => path.join(tmp, `s${++nDb}.db`);
const full = (name) => `main.default.${name}`;
const sqlText = (s) => `'${String(s).replaceAll("'", "''")}'`;
const qi = (s) => `"${s.replaceAll('"', '""')}"`;
const remote = async (sql) => (await ws.sql(sql)).result?.data_array ?? [];
const latest = async (name) => Number((await remote(`DESCRIBE HISTORY ${full(name)} LIMIT 1`))[0][0]);
const call = (source, table, opts) => `SELECT dbx_sync(${sqlText(full(source))}, ${sqlText(table)}, ${sqlText(JSON.stringify(opts))}) AS r;`;

// Runs dbx_sync for each [source, table, options] in one shell; returns
// the reports in order.
async function syncs(db, calls, opts = {}) {
  const r = await ws.run(calls.map(([s, t, o]) => call(s, t, o)).join('\n'), { db, ...opts });
  assert.equal(r.code, 0, r.stderr);
  return parseResultSets(r.stdout).map((set) => JSON.parse(set[0].r));
}
const sync = async (db, source, table, opts, o) => (await syncs(db, [[source, table, opts]], o))[0];

// One dbx_sync call and the remote statements it sent: { report, sqls }.
async function syncLogged(db, source, table, opts) {
  const r = await ws.run(`${call(source, table, opts)}\nSELECT sql FROM dbx_statements ORDER BY seq;`, { db });
  assert.equal(r.code, 0, r.stderr);
  const [[{ r: text }], sqls] = parseResultSets(r.stdout);
  return { report: JSON.parse(text), sqls: sqls.map((x) => x.sql) };
}

// The one-line error of a dbx_sync call expected to fail, after checking
// that the database is as it was.
async function fails(db, source, table, opts, runOpts = {}) {
  const before = await dump(db);
  const r = await ws.run(call(source, table, opts), { db, ...runOpts });
  assert.notEqual(r.code, 0, `expected an error, got ${r.stdout}`);
  const err = r.stderr.trim();
  assert.equal(err.split('\n').length, 1, err);
  assert.ok(!err.includes('dapi-'), err);
  assert.equal(await dump(db), before, `${err}: the database changed`);
  return err;
}

// The whole database as text (.dump, without the extension).
async function dump(db) {
  const r = await runShell('.dump', { db, load: false });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

// Names of the tables of a database.
async function tables(db) {
  return (await ws.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1;", { db })).map((x) => x.name);
}

// The change rows of a remote table as the admin reads them: one object a
// row, numbers as numbers.
async function changesOf(name, from = 0, to) {
  const body = await ws.sql(`SELECT * FROM table_changes('${full(name)}', ${from}${to === undefined ? '' : `, ${to}`})`);
  const cols = body.manifest.schema.columns;
  return (body.result?.data_array ?? []).map((row) => Object.fromEntries(cols.map((c, i) =>
    [c.name, row[i] !== null && NUMERIC.has(c.type_name) ? Number(row[i]) : row[i]])));
}

// The rows of a remote table, as changesOf gives them.
async function remoteRows(name, cols) {
  const body = await ws.sql(`SELECT ${cols.join(', ')} FROM ${full(name)}`);
  const types = body.manifest.schema.columns;
  return (body.result?.data_array ?? []).map((row) => Object.fromEntries(types.map((c, i) =>
    [c.name, row[i] !== null && NUMERIC.has(c.type_name) ? Number(row[i]) : row[i]])));
}

// The rows of a local table, in a canonical order.
async function localRows(db, table, cols) {
  return sorted(await ws.query(`SELECT ${cols.map(qi).join(', ')} FROM ${qi(table)};`, { db }));
}
const sorted = (rows) => rows.map((r) => JSON.stringify(r)).sort().map((s) => JSON.parse(s));

// The local table of one kind, as the rules of dbx_sync make it: a Map of
// key to row (a row without a key has a key of its own), and apply() to
// take a range of change rows. Upserts and deletes go in _commit_version
// order; within a version, what went (delete, update_preimage) before what
// came (insert, update_postimage), as the remote table itself changed.
// Returns the counts one call reports: `either` counts the rows that
// change nothing where the spec does not say whether that is "unchanged"
// or "ignored", `pre` the update_preimage rows (ignored, or never read).
const RANK = { delete: 0, update_preimage: 0, insert: 1, update_postimage: 1 };
function localModel({ kind, key, deletes }, cols) {
  const keys = key ? key.split(',').map((k) => k.trim()) : [];
  const applyDeletes = (deletes ?? (kind === 'mirror' ? 'apply' : 'ignore')) === 'apply';
  const rows = new Map();
  let serial = 0;
  const apply = (changes) => {
    const n = { inserted: 0, updated: 0, deleted: 0, unchanged: 0, ignored: 0, either: 0, pre: 0 };
    const order = [...changes].sort((a, b) => a._commit_version - b._commit_version
      || RANK[a._change_type] - RANK[b._change_type]);
    for (const ch of order) {
      const row = Object.fromEntries(cols.map((c) => [c, ch[c]]));
      const k = keys.length ? JSON.stringify(keys.map((c) => row[c])) : `#${++serial}`;
      const type = ch._change_type;
      if (type === 'update_preimage') n.pre++;
      else if (kind === 'events') {
        if (type !== 'insert') n.ignored++;
        else if (rows.has(k)) n.either++;
        else { rows.set(k, row); n.inserted++; }
      } else if (type === 'delete') {
        if (!applyDeletes) n.ignored++;
        else if (rows.delete(k)) n.deleted++;
        else n.either++;
      } else {
        const old = rows.get(k);
        if (!old) n.inserted++;
        else if (JSON.stringify(old) === JSON.stringify(row)) n.unchanged++;
        else n.updated++;
        rows.set(k, row);
      }
    }
    return n;
  };
  return { rows: () => sorted([...rows.values()]), apply };
}

// Checks the counts of a report against the model's for the same range.
function checkCounts(r, n, what) {
  const msg = `${what}: ${JSON.stringify(r)} vs ${JSON.stringify(n)}`;
  assert.equal(r.inserted, n.inserted, msg);
  assert.equal(r.updated, n.updated, msg);
  assert.equal(r.deleted, n.deleted, msg);
  assert.ok(r.unchanged >= n.unchanged && r.unchanged <= n.unchanged + n.either, msg);
  const quiet = r.unchanged + r.ignored;
  const want = n.unchanged + n.ignored + n.either;
  assert.ok(quiet === want || quiet === want + n.pre, msg);
  // every row read is counted once (update_preimage rows may be read and not counted)
  const sum = r.inserted + r.updated + r.deleted + r.unchanged + r.ignored;
  assert.ok(r.rows === sum || r.rows === sum + n.pre, msg);
}

// The six ways to sync the test tables: kind, key, deletes.
const WAYS = [
  ['ev', { kind: 'events' }],
  ['evk', { kind: 'events', key: 'id' }],
  ['up', { kind: 'user_properties', key: 'id' }],
  ['gp', { kind: 'group_properties', key: 'org, id' }],
  ['mi', { kind: 'mirror', key: 'id' }],
  ['upd', { kind: 'user_properties', key: 'id', deletes: 'apply' }],
];
const UCOLS = ['id', 'org', 'name', 'score'];
const UTABLE = `(id BIGINT, org STRING, name STRING, score DOUBLE) ${CDF}`;

test('every kind of write, every kind: the local table the rules give, and the counts', async () => {
  await ws.sql('CREATE VOLUME main.default.land');
  const lines = '{"id": 4, "org": "b", "name": "four", "score": 4.0}\n{"id": 5, "org": "c", "name": "five", "score": null}\n';
  const put = await ws.api('PUT', '/api/2.0/fs/files/Volumes/main/default/land/u.json?overwrite=true',
    Buffer.from(lines), { 'Content-Type': 'application/octet-stream' });
  assert.equal(put.status, 204, JSON.stringify(put.body));
  await ws.sql(`CREATE TABLE main.default.u ${UTABLE}`); // 0
  const steps = [
    ['INSERT', "INSERT INTO main.default.u VALUES (1, 'a', 'one', 1.0), (2, 'a', 'two', 2.0), (3, 'b', 'three', 3.0)"],
    ['COPY INTO', `COPY INTO main.default.u FROM (SELECT CAST(id AS BIGINT) AS id, org, name, CAST(score AS DOUBLE) AS score
      FROM '/Volumes/main/default/land/u.json') FILEFORMAT = JSON`],
    // 1 and 2 change, 2 moves to another org (a new key for org, id), 3 stays as it was
    ['UPDATE', `UPDATE main.default.u SET score = CASE WHEN id <= 2 THEN score + 10 ELSE score END,
      org = CASE WHEN id = 2 THEN 'c' ELSE org END WHERE id IN (1, 2, 3)`],
    ['DELETE', 'DELETE FROM main.default.u WHERE id = 3'],
    // 2 updated, 3 back (a key events already had), 4 deleted, 6 new
    ['MERGE', `MERGE INTO main.default.u AS t USING (SELECT 2 AS id, 'c' AS org, 'TWO' AS name, 20.0 AS score
      UNION ALL SELECT 3, 'b', 'three again', 3.0 UNION ALL SELECT 4, 'b', 'gone', 0.0
      UNION ALL SELECT 6, 'd', 'six', 6.0) AS s ON t.id = s.id
      WHEN MATCHED AND s.name = 'gone' THEN DELETE WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *`],
  ];
  const db = newDb();
  const models = WAYS.map(([, o]) => localModel(o, UCOLS));
  let last = -1;
  for (const [op, sql] of steps) {
    await ws.sql(sql);
    const v = await latest('u');
    assert.equal(v, last === -1 ? 1 : last + 1, op);
    const changes = await changesOf('u', last + 1, v);
    assert.ok(changes.length > 0, op);
    const reports = await syncs(db, WAYS.map(([t, o]) => ['u', t, o]));
    for (let i = 0; i < WAYS.length; i++) {
      const [t, o] = WAYS[i];
      const r = reports[i];
      const what = `${op} into ${t}`;
      assert.equal(r.kind, o.kind, what);
      assert.equal(r.table, t, what);
      assert.equal(r.source, 'main.default.u', what);
      assert.equal(r.from, last + 1, `${what}: from`);
      assert.equal(r.to, v, `${what}: to`);
      assert.equal(r.created, last === -1, `${what}: created`);
      assert.equal(r.columns_added, 0, what);
      assert.ok(Array.isArray(r.statement_ids) && r.statement_ids.length === 1, what);
      checkCounts(r, models[i].apply(changes), what);
      assert.deepEqual(await localRows(db, t, UCOLS), models[i].rows(), what);
    }
    last = v;
  }
  // the kinds that apply deletes follow the remote table
  const now = sorted(await remoteRows('u', UCOLS));
  assert.deepEqual(await localRows(db, 'mi', UCOLS), now);
  assert.deepEqual(await localRows(db, 'upd', UCOLS), now);
  // the org, id key kept the row of the org 2 left
  assert.ok((await localRows(db, 'gp', UCOLS)).some((x) => x.id === 2 && x.org === 'a'));
  // events without a key: one row per insert, 3 twice; with a key, 3 once
  assert.equal((await localRows(db, 'ev', UCOLS)).filter((x) => x.id === 3).length, 2);
  assert.deepEqual((await localRows(db, 'evk', UCOLS)).filter((x) => x.id === 3).map((x) => x.name), ['three']);
});

test('CREATE OR REPLACE (same columns): rows gone, kept, changed and new, for every kind', async () => {
  await ws.sql(`CREATE TABLE main.default.rep ${UTABLE}`); // 0
  await ws.sql("INSERT INTO main.default.rep VALUES (1, 'a', 'one', 1.0), (2, 'a', 'two', 2.0), (3, 'b', 'three', 3.0)"); // 1
  const db = newDb();
  const models = WAYS.map(([, o]) => localModel(o, UCOLS));
  await syncs(db, WAYS.map(([t, o]) => ['rep', t, o]));
  for (const m of models) m.apply(await changesOf('rep', 0, 1));
  // 1 as it was, 2 changed, 3 gone, 4 new: in one version, every old row
  // is a delete and every new one an insert
  await ws.sql(`CREATE OR REPLACE TABLE main.default.rep ${CDF} AS SELECT CAST(id AS BIGINT) AS id,
    CAST(org AS STRING) AS org, CAST(name AS STRING) AS name, CAST(score AS DOUBLE) AS score
    FROM (VALUES (1, 'a', 'one', 1.0), (2, 'a', 'TWO', 2.5), (4, 'd', 'four', 4.0)) AS v(id, org, name, score)`); // 2
  const changes = await changesOf('rep', 2, 2);
  assert.deepEqual(changes.map((c) => c._change_type).sort(), ['delete', 'delete', 'delete', 'insert', 'insert', 'insert']);
  const reports = await syncs(db, WAYS.map(([t, o]) => ['rep', t, o]));
  for (let i = 0; i < WAYS.length; i++) {
    const [t, o] = WAYS[i];
    const r = reports[i];
    assert.equal(r.from, 2, t);
    assert.equal(r.to, 2, t);
    const n = models[i].apply(changes);
    if (o.kind !== 'mirror' && !o.deletes) {
      // no delete applied: each key changes once, whatever the order
      assert.equal(r.inserted, n.inserted, `${t}: ${JSON.stringify(r)}`);
      assert.equal(r.updated, n.updated, `${t}: ${JSON.stringify(r)}`);
      assert.equal(r.deleted, 0, t);
    }
    assert.deepEqual(await localRows(db, t, UCOLS), models[i].rows(), t);
  }
  const now = sorted(await remoteRows('rep', UCOLS));
  assert.deepEqual(await localRows(db, 'mi', UCOLS), now, 'mirror follows the replace');
  assert.deepEqual(await localRows(db, 'upd', UCOLS), now);
});

test('a replace with other columns: one line that says how to start over, and starting over works', async () => {
  await ws.sql(`CREATE TABLE main.default.rs (id BIGINT, name STRING) ${CDF}`); // 0
  await ws.sql("INSERT INTO main.default.rs VALUES (1, 'a'), (2, 'b')"); // 1
  const opts = { kind: 'mirror', key: 'id' };
  const db = newDb();
  await sync(db, 'rs', 'r', opts);
  await ws.sql("INSERT INTO main.default.rs VALUES (3, 'c')"); // 2
  await ws.sql(`CREATE OR REPLACE TABLE main.default.rs (id BIGINT, name STRING, extra DOUBLE) ${CDF}`); // 3
  await ws.sql("INSERT INTO main.default.rs VALUES (4, 'd', 1.5)"); // 4
  const err = await fails(db, 'rs', 'r', opts);
  assert.match(err, /main\.default\.rs/);
  assert.match(err, /CREATE OR REPLACE|schema/);
  assert.match(err, /dbx_sync_state/, 'says how to start over');
  // as it says: empty the table, delete the state row, start at the replace
  await ws.query('DELETE FROM r; DELETE FROM dbx_sync_state;', { db });
  const r = await sync(db, 'rs', 'r', { ...opts, start: 3 });
  assert.deepEqual([r.from, r.to, r.inserted], [3, 4, 1]);
  const cols = ['id', 'name', 'extra'];
  assert.deepEqual(await localRows(db, 'r', cols), sorted(await remoteRows('rs', cols)));
});

test('incremental: each call reads only the versions after the last one; the result is a full sync\'s', async () => {
  await ws.sql(`CREATE TABLE main.default.inc ${UTABLE}`); // 0
  await ws.sql("INSERT INTO main.default.inc VALUES (1, 'a', 'one', 1.0), (2, 'a', 'two', 2.0), (3, 'b', 'three', 3.0)"); // 1
  const db = newDb();
  const ways = [['up', { kind: 'user_properties', key: 'id' }], ['mi', { kind: 'mirror', key: 'id' }],
    ['ev', { kind: 'events' }]];
  const models = ways.map(([, o]) => localModel(o, UCOLS));
  const calls = ways.map(([t, o]) => ['inc', t, o]);
  let reports = await syncs(db, calls);
  for (let i = 0; i < ways.length; i++) {
    assert.deepEqual([reports[i].from, reports[i].to], [0, 1]);
    models[i].apply(await changesOf('inc', 0, 1));
  }
  const more = [
    ["UPDATE main.default.inc SET name = 'ONE' WHERE id = 1", "INSERT INTO main.default.inc VALUES (4, 'b', 'four', 4.0)"], // 2, 3
    ['DELETE FROM main.default.inc WHERE id IN (2, 3)', "UPDATE main.default.inc SET score = 9.5 WHERE id IN (1, 4)",
      "INSERT INTO main.default.inc VALUES (2, 'c', 'two again', 2.0)"], // 4, 5, 6
  ];
  let last = 1;
  for (const batch of more) {
    for (const s of batch) await ws.sql(s);
    const v = await latest('inc');
    const changes = await changesOf('inc', last + 1, v);
    reports = await syncs(db, calls);
    for (let i = 0; i < ways.length; i++) {
      assert.deepEqual([reports[i].from, reports[i].to], [last + 1, v], ways[i][0]);
      assert.equal(reports[i].created, false);
      models[i].apply(changes);
      assert.deepEqual(await localRows(db, ways[i][0], UCOLS), models[i].rows(), ways[i][0]);
    }
    last = v;
  }
  // what a call reads: the version check, then the versions after the last one
  await ws.sql("UPDATE main.default.inc SET name = 'FOUR' WHERE id = 4"); // 7
  const { report, sqls } = await syncLogged(db, 'inc', 'up', ways[0][1]);
  assert.deepEqual([report.from, report.to, report.updated], [last + 1, last + 1, 1]);
  assert.equal(sqls.length, 2, sqls.join('\n'));
  assert.equal(sqls[0], 'DESCRIBE HISTORY `main`.`default`.`inc` LIMIT 1');
  assert.ok(sqls[1].includes(`FROM table_changes('\`main\`.\`default\`.\`inc\`', ${last + 1}, ${last + 1})`), sqls[1]);
  // in version order, and within a version deletes first, as the model here applies them
  assert.ok(sqls[1].endsWith("ORDER BY _commit_version, CASE WHEN _change_type = 'delete' THEN 0 ELSE 1 END"), sqls[1]);
  models[0].apply(await changesOf('inc', last + 1, last + 1));
  assert.deepEqual(await localRows(db, 'up', UCOLS), models[0].rows());
  await syncs(db, calls.slice(1));
  for (let i = 1; i < ways.length; i++) {
    models[i].apply(await changesOf('inc', last + 1, last + 1));
    assert.deepEqual(await localRows(db, ways[i][0], UCOLS), models[i].rows(), ways[i][0]);
  }
  last++;
  // one call over the whole history gives the same tables
  const fresh = newDb();
  reports = await syncs(fresh, calls);
  for (let i = 0; i < ways.length; i++) {
    assert.deepEqual([reports[i].from, reports[i].to], [0, last]);
    assert.deepEqual(await localRows(fresh, ways[i][0], UCOLS), await localRows(db, ways[i][0], UCOLS), ways[i][0]);
  }
  assert.deepEqual(await localRows(fresh, 'mi', UCOLS), sorted(await remoteRows('inc', UCOLS)));
});

test('a change committed during a call waits for the next one', async () => {
  await ws.sql(`CREATE TABLE main.default.dur ${UTABLE}`); // 0
  await ws.sql("INSERT INTO main.default.dur VALUES (1, 'a', 'one', 1.0)"); // 1
  const opts = { kind: 'user_properties', key: 'id' };
  const db = newDb();
  // the version check answers at once, the change read waits a little:
  // meanwhile version 2 is committed
  await ws.api('DELETE', '/admin/faults');
  for (const delay of [1, 1500]) {
    const f = await ws.api('POST', '/admin/faults', { method: 'POST', path: '^/api/2\\.0/sql/statements$', delay_ms: delay, count: 1 });
    assert.equal(f.status, 200, JSON.stringify(f.body));
  }
  const running = sync(db, 'dur', 'd', opts);
  const t0 = Date.now();
  while ((await ws.api('GET', '/admin/faults')).body.faults.length) {
    assert.ok(Date.now() - t0 < 10000, 'the change read was not sent');
    await new Promise((r) => setTimeout(r, 20));
  }
  await ws.sql("INSERT INTO main.default.dur VALUES (2, 'b', 'two', 2.0)"); // 2
  let r = await running;
  assert.deepEqual([r.from, r.to, r.inserted], [0, 1, 1]);
  assert.deepEqual((await localRows(db, 'd', UCOLS)).map((x) => x.id), [1]);
  r = await sync(db, 'dur', 'd', opts);
  assert.deepEqual([r.from, r.to, r.inserted], [2, 2, 1]);
  assert.deepEqual(await localRows(db, 'd', UCOLS), sorted(await remoteRows('dur', UCOLS)));
});

test('a call with nothing new changes nothing and sends only the version check', async () => {
  await ws.sql(`CREATE TABLE main.default.quiet ${UTABLE}`);
  await ws.sql("INSERT INTO main.default.quiet VALUES (1, 'a', 'one', 1.0), (2, 'a', 'two', 2.0)");
  await ws.sql("UPDATE main.default.quiet SET name = 'TWO' WHERE id = 2");
  const db = newDb();
  const opts = { kind: 'user_properties', key: 'id' };
  const first = await sync(db, 'quiet', 'q', opts);
  assert.deepEqual([first.from, first.to], [0, 2]);
  const before = await dump(db);
  const { report, sqls } = await syncLogged(db, 'quiet', 'q', opts);
  assert.equal(report.from, null);
  assert.ok(report.to === 2 || report.to === null, JSON.stringify(report));
  for (const k of ['rows', 'inserted', 'updated', 'deleted', 'unchanged']) assert.equal(report[k], 0, k);
  assert.deepEqual(sqls, ['DESCRIBE HISTORY `main`.`default`.`quiet` LIMIT 1']);
  assert.equal(await dump(db), before);
});

test('kill -9 between the fetch and the local commit: nothing applied, the re-run applies it once', async () => {
  await ws.sql(`CREATE TABLE main.default.kl ${UTABLE}`); // 0
  await ws.sql("INSERT INTO main.default.kl VALUES (1, 'a', 'one', 1.0), (2, 'a', 'two', 2.0)"); // 1
  const opts = { kind: 'user_properties', key: 'id', deletes: 'apply' };
  const db = newDb();
  await sync(db, 'kl', 'k', opts);
  await ws.sql("UPDATE main.default.kl SET name = 'TWO' WHERE id = 2"); // 2
  await ws.sql("INSERT INTO main.default.kl VALUES (3, 'b', 'three', 3.0), (4, 'b', 'four', 4.0)"); // 3
  await ws.sql('DELETE FROM main.default.kl WHERE id = 1'); // 4
  const before = await dump(db);

  // the caller's transaction holds the savepoint: rolled back, nothing stays
  await ws.query(`BEGIN;\n${call('kl', 'k', opts)}\nROLLBACK;`, { db });
  assert.equal(await dump(db), before);

  // A reader holds a read transaction (rollback journal), so the sync's
  // commit waits for it under .timeout.
  const reader = spawn('sqlite3', ['-batch', db], { stdio: ['pipe', 'pipe', 'pipe'] });
  const readerGone = new Promise((resolve) => reader.once('exit', resolve));
  let said = '';
  reader.stdout.on('data', (d) => { said += d; });
  reader.stdin.write("PRAGMA journal_mode;\nBEGIN;\nSELECT count(*) FROM k;\nSELECT 'reading';\n");
  const t0 = Date.now();
  const waitFor = async (done, what) => {
    while (!(await done())) {
      assert.ok(Date.now() - t0 < 30000, `${what} was not reached`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  let syncer;
  try {
    await waitFor(() => said.includes('reading'), 'the read transaction');
    assert.match(said, /^delete$/m, 'rollback journal mode');
    await ws.api('DELETE', '/admin/requests');
    syncer = ws.spawn(['-bail', db]);
    let stderr = '';
    syncer.stderr.on('data', (d) => { stderr += d; });
    const gone = new Promise((resolve) => syncer.once('exit', (code, signal) => resolve(signal)));
    syncer.stdin.end(`.load ${EXT}\n.timeout 60000\n${call('kl', 'k', opts)}\n`);
    // the change read answered, the rows written to the journal: the commit waits
    const answered = async () => (await ws.api('GET', '/admin/requests')).body.requests
      .filter((q) => q.method === 'POST' && q.path === '/api/2.0/sql/statements' && q.status === 200).length >= 2;
    await waitFor(async () => existsSync(`${db}-journal`) && await answered(), `the commit (${stderr})`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(syncer.exitCode, null, `the sync ended before the kill: ${stderr}`);
    syncer.kill('SIGKILL');
    assert.equal(await gone, 'SIGKILL');
  } finally {
    syncer?.kill('SIGKILL');
    reader.stdin.end();
    await readerGone;
  }
  // the hot journal rolls back: table and dbx_sync_state as before the call
  assert.equal(await dump(db), before);
  const r = await sync(db, 'kl', 'k', opts);
  assert.deepEqual([r.from, r.to], [2, 4]);
  const other = newDb();
  await sync(other, 'kl', 'k', opts);
  await sync(other, 'kl', 'k', opts);
  assert.deepEqual(await localRows(db, 'k', UCOLS), await localRows(other, 'k', UCOLS));
  assert.deepEqual(await localRows(db, 'k', UCOLS), sorted(await remoteRows('kl', UCOLS)));
  const state = async (d) => ws.query("SELECT * FROM dbx_sync_state;", { db: d });
  assert.deepEqual((await state(db)).length, 1);
});

test('start: the first call starts where asked; later calls go on from the stored state', async () => {
  const C3 = ['id', 'name'];
  await ws.sql('CREATE TABLE main.default.st (id BIGINT, name STRING)'); // 0, no change feed
  await ws.sql("INSERT INTO main.default.st VALUES (1, 'one'), (2, 'two')"); // 1
  await ws.sql(`ALTER TABLE main.default.st SET ${CDF}`); // 2
  await ws.sql("INSERT INTO main.default.st VALUES (3, 'three')"); // 3
  await ws.sql("UPDATE main.default.st SET name = 'ONE' WHERE id = 1"); // 4
  const opts = { kind: 'user_properties', key: 'id' };

  // no start is 'first': from the version that turned the feed on
  const dFirst = newDb();
  let r = await sync(dFirst, 'st', 's', opts);
  assert.deepEqual([r.from, r.to], [2, 4]);
  const mFirst = localModel(opts, C3);
  mFirst.apply(await changesOf('st', 2, 4));
  assert.deepEqual(await localRows(dFirst, 's', C3), mFirst.rows());
  assert.deepEqual(await localRows(dFirst, 's', C3), [{ id: 1, name: 'ONE' }, { id: 3, name: 'three' }]);

  // a version number
  const dN = newDb();
  r = await sync(dN, 'st', 's', { ...opts, start: 4 });
  assert.deepEqual([r.from, r.to], [4, 4]);
  assert.deepEqual(await localRows(dN, 's', C3), [{ id: 1, name: 'ONE' }]);

  // 'latest': nothing of the history, the changes after it
  const dL = newDb();
  r = await sync(dL, 'st', 's', { ...opts, start: 'latest' });
  assert.equal(r.from, null);
  assert.equal(r.inserted + r.updated + r.deleted, 0);
  if ((await tables(dL)).includes('s')) assert.deepEqual(await localRows(dL, 's', C3), []);
  await ws.sql("INSERT INTO main.default.st VALUES (5, 'five')"); // 5
  r = await sync(dL, 'st', 's', { ...opts, start: 'latest' });
  assert.deepEqual([r.from, r.to, r.inserted], [5, 5, 1]);
  assert.deepEqual(await localRows(dL, 's', C3), [{ id: 5, name: 'five' }]);

  // a start on a later call is ignored: the state decides
  await ws.sql("UPDATE main.default.st SET name = 'FIVE' WHERE id = 5"); // 6
  r = await sync(dL, 'st', 's', { ...opts, start: 0 });
  assert.deepEqual([r.from, r.to, r.updated, r.inserted], [6, 6, 1, 0]);
  assert.deepEqual(await localRows(dL, 's', C3), [{ id: 5, name: 'FIVE' }]);
  r = await sync(dN, 'st', 's', { ...opts, start: 'first' });
  assert.deepEqual([r.from, r.to], [5, 6]);
  assert.deepEqual(await localRows(dN, 's', C3), [{ id: 1, name: 'ONE' }, { id: 5, name: 'FIVE' }]);
});

test('test: true returns the rows it would apply and changes nothing', async () => {
  await ws.sql(`CREATE TABLE main.default.tt ${UTABLE}`); // 0
  const values = Array.from({ length: 12 }, (_, i) => `(${i + 1}, 'o', 'n${i + 1}', ${i + 1}.5)`).join(', ');
  await ws.sql(`INSERT INTO main.default.tt VALUES ${values}`); // 1
  await ws.sql("UPDATE main.default.tt SET name = 'first' WHERE id = 1"); // 2
  const opts = { kind: 'user_properties', key: 'id' };
  const db = newDb();
  let r = await sync(db, 'tt', 't', { ...opts, test: true });
  assert.deepEqual([r.from, r.to], [0, 2]);
  assert.equal(r.rows.length, 10, 'at most limit (10) rows');
  const first = r;
  r = await sync(db, 'tt', 't', { ...opts, test: true, limit: 3 });
  assert.equal(r.rows.length, 3);
  const names = await tables(db);
  assert.ok(!names.includes('t'), 'no local table');
  if (names.includes('dbx_sync_state')) assert.deepEqual(await ws.query('SELECT * FROM dbx_sync_state;', { db }), []);

  // after a real call: the rows of the new versions, and still nothing changed
  await sync(db, 'tt', 't', opts);
  await ws.sql("UPDATE main.default.tt SET score = 0.25 WHERE id IN (3, 4)"); // 3
  const before = await dump(db);
  r = await sync(db, 'tt', 't', { ...opts, test: true });
  assert.deepEqual([r.from, r.to], [3, 3]);
  assert.ok(r.rows.length >= 2 && r.rows.length <= 4, JSON.stringify(r.rows));
  assert.ok(JSON.stringify(r.rows).includes('0.25'), JSON.stringify(r.rows));
  assert.equal(await dump(db), before);
  r = await sync(db, 'tt', 't', opts);
  assert.deepEqual([r.from, r.to, r.updated], [3, 3, 2]);
  // {"from", "to", "columns", "rows"}
  assert.ok(first.columns !== undefined, `no columns in ${JSON.stringify(Object.keys(first))}`);
  for (const c of ['id', 'name', 'score']) assert.ok(JSON.stringify(first.columns).includes(`"${c}"`), JSON.stringify(first.columns));
});

test('transform: a SELECT over changes joined with another remote table, applied; errors and test mode', async () => {
  await ws.sql(`CREATE TABLE main.default.tx (id BIGINT, name STRING) ${CDF}`); // 0
  await ws.sql('CREATE TABLE main.default.plans (id BIGINT, plan STRING)');
  await ws.sql("INSERT INTO main.default.plans VALUES (1, 'free'), (2, 'pro'), (4, 'team')");
  await ws.sql("INSERT INTO main.default.tx VALUES (1, 'one'), (2, 'two'), (3, 'three')"); // 1
  await ws.sql("UPDATE main.default.tx SET name = 'TWO' WHERE id = 2"); // 2
  await ws.sql("INSERT INTO main.default.tx VALUES (4, 'four')"); // 3
  const transform = `SELECT c.id, c.name, p.plan, c._change_type, c._commit_version
    FROM changes AS c JOIN main.default.plans AS p ON p.id = c.id`;
  const opts = { kind: 'user_properties', key: 'id', transform };
  const plans = new Map((await remote('SELECT id, plan FROM main.default.plans')).map(([id, plan]) => [Number(id), plan]));
  const joined = (await changesOf('tx')).filter((c) => plans.has(c.id)).map((c) => ({ ...c, plan: plans.get(c.id) }));
  const cols = ['id', 'name', 'plan'];
  const model = localModel(opts, cols);
  const n = model.apply(joined);

  const db = newDb();
  // test mode first: the transformed rows, nothing stored
  const t = await sync(db, 'tx', 'x', { ...opts, test: true });
  assert.ok(t.rows.length >= 3 && t.rows.length <= joined.length, JSON.stringify(t.rows));
  assert.ok(JSON.stringify(t.rows).includes('team'));
  assert.ok(!JSON.stringify(t.rows).includes('three'), 'the join drops 3');
  assert.ok(!(await tables(db)).includes('x'));

  const r = await sync(db, 'tx', 'x', opts);
  assert.deepEqual([r.from, r.to], [0, 3]);
  assert.equal(r.inserted, n.inserted);
  assert.deepEqual(await localRows(db, 'x', cols), model.rows());
  assert.deepEqual(await localRows(db, 'x', cols),
    [{ id: 1, name: 'one', plan: 'free' }, { id: 2, name: 'TWO', plan: 'pro' }, { id: 4, name: 'four', plan: 'team' }]);

  // without _commit_version, a kind with a key cannot order the changes
  const err = await fails(db, 'tx', 'x2', { kind: 'user_properties', key: 'id',
    transform: 'SELECT id, name, _change_type FROM changes' });
  assert.match(err, /_commit_version/);

  // events: `changes` holds only inserts, so a transform may drop _change_type;
  // a closing ';' and a trailing comment are harmless
  const e = await sync(db, 'tx', 'e', { kind: 'events', transform: 'SELECT id, name FROM changes -- names\n; ' });
  const inserts = (await changesOf('tx')).filter((c) => c._change_type === 'insert');
  assert.ok(inserts.length < (await changesOf('tx')).length);
  assert.equal(e.inserted, inserts.length);
  assert.deepEqual(await ws.query('SELECT id, name FROM e ORDER BY id, name;', { db }),
    inserts.map((c) => ({ id: c.id, name: c.name })).sort((a, b) => a.id - b.id || (a.name < b.name ? -1 : 1)));
  assert.ok(t.columns !== undefined, `no columns in the test output ${JSON.stringify(Object.keys(t))}`);
  assert.ok(JSON.stringify(t.columns).includes('"plan"'), JSON.stringify(t.columns));
});

test('since_column: rows at the boundary are read again and change nothing; a late row of the same time is applied', async () => {
  await ws.sql('CREATE TABLE main.default.ts (id BIGINT, name STRING, modified_at TIMESTAMP)');
  await ws.sql(`INSERT INTO main.default.ts VALUES (1, 'a', TIMESTAMP '2024-01-01 00:00:01'),
    (2, 'b', TIMESTAMP '2024-01-01 00:00:02'), (3, 'c', TIMESTAMP '2024-01-01 00:00:02')`);
  const db = newDb();
  const up = { kind: 'user_properties', key: 'id', since_column: 'modified_at' };
  const ev = { kind: 'events', key: 'id', since_column: 'modified_at' };
  const both = [['ts', 'u', up], ['ts', 'e', ev]];
  const cols = ['id', 'name'];
  const stamp = (w) => String(w).replace('T', ' ').replace(/(\.0+)?Z?$/, '');
  let [u, e] = await syncs(db, both);
  assert.deepEqual([u.inserted, u.updated, u.unchanged], [3, 0, 0]);
  assert.equal(e.inserted, 3);
  assert.equal(stamp(u.watermark), '2024-01-01 00:00:02');

  // a row with the time of the last synced ones, and one changed later
  await ws.sql("INSERT INTO main.default.ts VALUES (4, 'd', TIMESTAMP '2024-01-01 00:00:02')");
  await ws.sql("UPDATE main.default.ts SET name = 'A', modified_at = TIMESTAMP '2024-01-01 00:00:03' WHERE id = 1");
  [u, e] = await syncs(db, both);
  assert.equal(u.rows, 4, '2 and 3 (the tie), 4 and 1');
  assert.deepEqual([u.inserted, u.updated, u.unchanged, u.deleted], [1, 1, 2, 0]);
  assert.equal(stamp(u.watermark), '2024-01-01 00:00:03');
  assert.equal(e.inserted, 1, 'events: only 4 is new');
  assert.deepEqual(await localRows(db, 'u', cols), sorted(await remoteRows('ts', cols)));
  assert.deepEqual(await localRows(db, 'e', cols),
    [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: 'c' }, { id: 4, name: 'd' }]);

  // again: only the boundary row, which changes nothing
  [u, e] = await syncs(db, both);
  assert.deepEqual([u.rows, u.inserted, u.updated, u.unchanged], [1, 0, 0, 1]);
  assert.equal(e.inserted, 0);
  assert.equal((await ws.query('SELECT count(*) AS n FROM u;', { db }))[0].n, 4);
  assert.equal((await ws.query('SELECT count(*) AS n FROM e;', { db }))[0].n, 4);

  // a transform: `changes` is the rows at or beyond the watermark
  const tx = { ...up, transform: 'SELECT id, upper(name) AS name, modified_at FROM changes WHERE id <> 3' };
  u = await sync(db, 'ts', 'tu', tx);
  assert.equal(u.inserted, 3);
  assert.deepEqual(await localRows(db, 'tu', cols), [{ id: 1, name: 'A' }, { id: 2, name: 'B' }, { id: 4, name: 'D' }]);
  await ws.sql("UPDATE main.default.ts SET name = 'bb', modified_at = TIMESTAMP '2024-01-01 00:00:04' WHERE id = 2");
  u = await sync(db, 'ts', 'tu', tx);
  assert.deepEqual([u.rows, u.updated, u.unchanged], [2, 1, 1], JSON.stringify(u));
  assert.deepEqual(await localRows(db, 'tu', cols), [{ id: 1, name: 'A' }, { id: 2, name: 'BB' }, { id: 4, name: 'D' }]);
});

test('start \'latest\' in test mode: the call would apply nothing, so no rows', async () => {
  await ws.sql(`CREATE TABLE main.default.la (id BIGINT, name STRING) ${CDF}`);
  await ws.sql("INSERT INTO main.default.la VALUES (1, 'a'), (2, 'b')");
  const db = newDb();
  const t = await sync(db, 'la', 'l', { kind: 'user_properties', key: 'id', start: 'latest', test: true });
  const r = await sync(db, 'la', 'l', { kind: 'user_properties', key: 'id', start: 'latest' });
  assert.equal(r.inserted, 0);
  assert.deepEqual(t.rows, [], `test mode with start 'latest': ${JSON.stringify(t).slice(0, 300)}`);
});

test('start \'latest\' in timestamp mode: the rows at the watermark are history too', async () => {
  await ws.sql('CREATE TABLE main.default.lts (id BIGINT, name STRING, modified_at TIMESTAMP)');
  await ws.sql(`INSERT INTO main.default.lts VALUES (1, 'a', TIMESTAMP '2024-01-01 00:00:01'),
    (2, 'b', TIMESTAMP '2024-01-01 00:00:02')`);
  const db = newDb();
  const up = { kind: 'user_properties', key: 'id', since_column: 'modified_at' };
  const first = await sync(db, 'lts', 'lt', { ...up, start: 'latest' });
  assert.equal(first.inserted, 0);
  await ws.sql("INSERT INTO main.default.lts VALUES (3, 'c', TIMESTAMP '2024-01-01 00:00:05')");
  const next = await sync(db, 'lts', 'lt', up);
  assert.deepEqual(await localRows(db, 'lt', ['id', 'name']), [{ id: 3, name: 'c' }],
    `only the row added after start 'latest': ${JSON.stringify(next)}`);
  assert.equal(next.inserted, 1);
});

test('errors are one line and change nothing locally', async () => {
  await ws.sql('CREATE TABLE main.default.off (id BIGINT, name STRING)');
  await ws.sql("INSERT INTO main.default.off VALUES (1, 'a')");
  await ws.sql(`CREATE TABLE main.default.vac (id BIGINT, name STRING) ${CDF}`); // 0
  await ws.sql("INSERT INTO main.default.vac VALUES (1, 'a')"); // 1
  const opts = { kind: 'user_properties', key: 'id' };
  const db = newDb();

  const off = await fails(db, 'off', 'o', opts);
  assert.ok(off.includes('ALTER TABLE `main`.`default`.`off` SET TBLPROPERTIES (delta.enableChangeDataFeed = true)'), off);

  // a range that was vacuumed or expired after the first call
  await sync(db, 'vac', 'g', opts);
  for (let i = 2; i <= 4; i++) await ws.sql(`INSERT INTO main.default.vac VALUES (${i}, 'x')`); // 2..4
  const ex = await ws.api('POST', '/admin/tables/main.default.vac/expire', { before_version: 4 });
  assert.equal(ex.status, 200, JSON.stringify(ex.body));
  const gone = await fails(db, 'vac', 'g', opts);
  assert.match(gone, /main\.default\.vac/);
  assert.match(gone, /is gone|vacuumed|expired|retention/);
  assert.match(gone, /\b4\b/);

  const denied = await fails(db, 'vac', 'g2', opts, { env: { DATABRICKS_TOKEN: READER } });
  assert.match(denied, /SELECT/);
  assert.match(denied, /vac/);

  assert.match(await fails(db, 'vac', 'g3', { kind: 'everything', key: 'id' }), /kind/);
  assert.match(await fails(db, 'vac', 'g3', { key: 'id' }), /kind/);
  assert.match(await fails(db, 'vac', 'g3', { kind: 'user_properties' }), /key/);
  assert.match(await fails(db, 'vac', 'g3', { kind: 'mirror' }), /key/);
  assert.match(await fails(db, 'off', 'g3', { kind: 'user_properties', since_column: 'id' }), /key/);
  for (const [k, v] of [['deletes', 'sometimes'], ['start', -1], ['start', 'never'], ['limit', 0], ['test', 'yes']]) {
    assert.match(await fails(db, 'vac', 'g3', { ...opts, [k]: v }), new RegExp(`option ${k} has a bad value`), k);
  }
  assert.match(await fails(db, 'vac', 'g3', { kind: 'user_properties', key: 'nope' }), /nope/);
  assert.match(await fails(db, 'vac', 'g3', { kind: 'group_properties', key: 'id, nope' }), /nope/);

  // a local table of that name without a PRIMARY KEY or UNIQUE index on the key
  await ws.query('CREATE TABLE pre(id INTEGER, name TEXT); INSERT INTO pre VALUES (7, \'z\');', { db });
  const plain = await fails(db, 'vac', 'pre', { ...opts, start: 4 });
  assert.match(plain, /PRIMARY KEY|UNIQUE/i);
  assert.match(plain, /\bid\b/);
  // one over other columns is not one over the key
  await ws.query('CREATE TABLE pre2(id INTEGER, name TEXT UNIQUE);', { db });
  assert.match(await fails(db, 'vac', 'pre2', { ...opts, start: 4 }), /PRIMARY KEY|UNIQUE/i);

  // it talks to the network and writes tables: not from a view or a trigger
  await ws.query(`CREATE VIEW sv AS ${call('vac', 'g4', opts).replace(/;$/, '')};
CREATE TABLE tr(x); CREATE TRIGGER trg AFTER INSERT ON tr BEGIN ${call('vac', 'g4', opts)} END;`, { db });
  const before = await dump(db);
  for (const q of ['SELECT * FROM sv;', 'INSERT INTO tr VALUES (1);']) {
    const e = await ws.fail(q, { db });
    assert.match(e, /unsafe use of dbx_sync/, q);
  }
  assert.equal(await dump(db), before);
});

test('rows that lie about their change are refused with nothing applied', async () => {
  await ws.sql(`CREATE TABLE main.default.liar (id BIGINT, name STRING) ${CDF}`); // 0
  await ws.sql("INSERT INTO main.default.liar VALUES (1, 'a'), (2, 'b')"); // 1
  const db = newDb();
  const base = { kind: 'mirror', key: 'id' };
  await sync(db, 'liar', 'l', base); // versions 0..1 applied, state at 1
  await ws.sql("INSERT INTO main.default.liar VALUES (3, 'c')"); // 2
  const lies = [
    ["SELECT id, name, 'upsert' AS _change_type, _commit_version FROM changes", /type 'upsert'/],
    ['SELECT id, name, _change_type, _commit_version + 100 AS _commit_version FROM changes', /version 102, outside the versions read \(2 to 2\)/],
    ['SELECT id, name, _change_type, _commit_version - 2 AS _commit_version FROM changes', /version 0, outside/],
    ['SELECT id, name, _change_type, CAST(NULL AS BIGINT) AS _commit_version FROM changes', /without a version/],
  ];
  for (const [transform, re] of lies) {
    assert.match(await fails(db, 'liar', 'l', { ...base, transform }), re, transform);
  }
  // the honest read still applies version 2, once
  const r = await sync(db, 'liar', 'l', base);
  assert.deepEqual([r.from, r.to, r.inserted], [2, 2, 1]);
  assert.deepEqual((await ws.query('SELECT id FROM l ORDER BY id;', { db })).map((x) => x.id), [1, 2, 3]);
});

test('examples/user_properties.sql: the local users are the remote ones, the delete ignored', async () => {
  const db = newDb();
  const script = await readFile(fileURLToPath(new URL('../../examples/user_properties.sql', import.meta.url)), 'utf8');
  await ws.query(script.replace(/^\.load .*$/m, ''), { db });
  const rows = await remote('SELECT user_id, plan, country FROM main.default.crm_users ORDER BY user_id');
  const local = await ws.query('SELECT user_id, plan, country FROM users ORDER BY user_id;', { db });
  // user 3 was deleted remotely; user_properties ignores deletes
  assert.deepEqual(rows.map((x) => x[0]), ['1', '2', '4']);
  assert.deepEqual(local.map((x) => [String(x.user_id), x.plan, x.country]),
    [['1', 'pro', 'DE'], ['2', 'pro', 'US'], ['3', 'free', 'JP'], ['4', 'team', 'FR']]);
  const state = await ws.query('SELECT kind, version FROM dbx_sync_state;', { db });
  assert.deepEqual(state, [{ kind: 'user_properties', version: await latest('crm_users') }]);
});

test('the local table: the remote columns and declared types, the key as PRIMARY KEY; a column added remotely is added', async () => {
  await ws.sql(`CREATE TABLE main.default.ty (id BIGINT, name STRING, score DOUBLE, at TIMESTAMP, day DATE,
    ok BOOLEAN, amount DECIMAL(10,2), n INT) ${CDF}`); // 0
  await ws.sql(`INSERT INTO main.default.ty VALUES (1, 'a', 1.5, TIMESTAMP '2024-03-01 09:30:00', DATE '2024-03-01',
    true, 12.34, 7)`); // 1
  const db = newDb();
  const r = await sync(db, 'ty', 'loc', { kind: 'user_properties', key: 'id' });
  assert.equal(r.created, true);
  await sync(db, 'ty', 'loc2', { kind: 'group_properties', key: 'name, id' });
  const info = async (t) => ws.query(`SELECT name, type, pk FROM pragma_table_info('${t}') ORDER BY cid;`, { db });
  const declared = async () => {
    await ws.query("DROP TABLE IF EXISTS v; CREATE VIRTUAL TABLE v USING databricks(table='main.default.ty');", { db });
    return (await info('v')).map((c) => ({ name: c.name, type: c.type }));
  };
  const want = await declared();
  assert.deepEqual(want.map((c) => c.name), ['id', 'name', 'score', 'at', 'day', 'ok', 'amount', 'n']);
  // one integer key is the rowid: INTEGER PRIMARY KEY
  let got = await info('loc');
  assert.deepEqual(got.slice(0, want.length).map((c) => ({ name: c.name, type: c.type })),
    [{ name: 'id', type: 'INTEGER' }, ...want.slice(1)]);
  assert.deepEqual(got.map((c) => c.pk).slice(0, want.length), [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(await ws.query('SELECT count(*) AS n FROM loc WHERE rowid = id;', { db }), [{ n: 1 }]);
  const got2 = await info('loc2');
  assert.deepEqual(got2.slice(0, want.length).map((c) => ({ name: c.name, type: c.type })), want);
  assert.deepEqual(got2.slice(0, 2).map((c) => [c.name, c.pk]), [['id', 2], ['name', 1]]);
  const row = (await ws.query('SELECT id, name, score, at, day, n FROM loc;', { db }))[0];
  assert.deepEqual(row, { id: 1, name: 'a', score: 1.5, at: '2024-03-01 09:30:00', day: '2024-03-01', n: 7 });

  await ws.sql('ALTER TABLE main.default.ty ADD COLUMNS (tier STRING)'); // 2
  await ws.sql("UPDATE main.default.ty SET tier = 'gold' WHERE id = 1"); // 3
  await ws.sql("INSERT INTO main.default.ty (id, name, tier) VALUES (2, 'b', 'free')"); // 4
  const a = await sync(db, 'ty', 'loc', { kind: 'user_properties', key: 'id' });
  assert.deepEqual([a.from, a.to, a.inserted, a.updated, a.created], [2, 4, 1, 1, false]);
  assert.ok(a.columns_added === 1 || JSON.stringify(a.columns_added) === '["tier"]', JSON.stringify(a));
  got = await info('loc');
  const tier = (await declared()).find((c) => c.name === 'tier');
  assert.deepEqual(got.filter((c) => c.name === 'tier').map((c) => ({ name: c.name, type: c.type })), [tier]);
  assert.deepEqual(await ws.query('SELECT id, tier FROM loc ORDER BY id;', { db }), [{ id: 1, tier: 'gold' }, { id: 2, tier: 'free' }]);

  // a table of one's own with a UNIQUE index over the key: used as it is,
  // its own columns kept, the missing remote ones added
  await ws.query(`CREATE TABLE mine(note TEXT DEFAULT 'local', id INTEGER, name TEXT);
CREATE UNIQUE INDEX mine_id ON mine(id); INSERT INTO mine(id, name) VALUES (2, 'old');`, { db });
  const m = await sync(db, 'ty', 'mine', { kind: 'user_properties', key: 'id' });
  assert.deepEqual([m.created, m.inserted, m.updated], [false, 1, 2], JSON.stringify(m));
  got = await info('mine');
  assert.deepEqual(got.slice(0, 3).map((c) => `${c.name} ${c.type}`), ['note TEXT', 'id INTEGER', 'name TEXT']);
  assert.deepEqual(got.slice(3).map((c) => c.name).sort(), ['amount', 'at', 'day', 'n', 'ok', 'score', 'tier']);
  assert.deepEqual(await ws.query('SELECT note, id, name, tier FROM mine ORDER BY id;', { db }),
    [{ note: 'local', id: 1, name: 'a', tier: 'gold' }, { note: 'local', id: 2, name: 'b', tier: 'free' }]);
});

test('progress: one line on stderr, rewritten, when asked; nothing by default', async () => {
  await ws.sql(`CREATE TABLE main.default.pg (id BIGINT, name STRING) ${CDF}`);
  await ws.sql("INSERT INTO main.default.pg VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  const db = newDb();
  const opts = { kind: 'user_properties', key: 'id' };
  let r = await ws.run(call('pg', 'p', { ...opts, progress: true }), { db });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\rdbx_sync: +done +3 rows/);
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, JSON.stringify(r.stderr));
  await ws.sql("INSERT INTO main.default.pg VALUES (4, 'd')");
  r = await ws.run(call('pg', 'p', opts), { db });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});
