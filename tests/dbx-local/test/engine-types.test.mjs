// Engine tests for result types where DuckDB's answer differs from Databricks': ceil/floor,
// casts of TIMESTAMP to integral types, qualified INTERVAL type texts, and INT-valued string
// functions (length, instr).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEngine } from '../lib/engine.mjs';

let dir, engine;
const admin = { kind: 'user', name: 'admin@dbx.local', displayName: 'admin', admin: true };
const x = (sql) => engine.execute(sql, { principal: admin });
const types = async (sql) => (await x(sql)).columns.map((c) => c.type_text);

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-types-'));
  engine = await openEngine({ dataDir: dir, config: {} });
});
after(async () => { await engine.close(); await rm(dir, { recursive: true, force: true }); });

test('ceil/floor of integral, FLOAT, DOUBLE and STRING operands answer BIGINT', async () => {
  const r = await x("SELECT ceil(1.5D), floor(-1.5D), ceiling(CAST(2.25 AS FLOAT)), floor(7), ceil(CAST(3 AS BIGINT)), ceil('2.5'), floor(CAST(NULL AS DOUBLE))");
  assert.deepEqual(r.columns.map((c) => c.type_text), Array(7).fill('BIGINT'));
  assert.deepEqual(r.columns.map((c) => c.type_name), Array(7).fill('LONG'));
  assert.deepEqual(r.rows, [[2n, -2n, 3n, 7n, 3n, 3n, null]]);
  await x('CREATE TABLE main.default.m (d DOUBLE)');
  await x('INSERT INTO m VALUES (-0.1), (4.0)');
  const t = await x('SELECT ceil(d) AS c, floor(d) AS f FROM m ORDER BY d');
  assert.deepEqual(t.columns.map((c) => c.type_text), ['BIGINT', 'BIGINT']);
  assert.deepEqual(t.rows, [[0n, -1n], [4n, 4n]]);
});

test('CAST of a TIMESTAMP to an integral type gives seconds since the epoch, rounded down', async () => {
  const r = await x("SELECT CAST(TIMESTAMP '2024-01-31 10:11:12.9Z' AS BIGINT), CAST(TIMESTAMP '1969-12-31 23:59:59.5Z' AS BIGINT), CAST(TIMESTAMP '1970-01-01 00:01:40Z' AS INT), CAST(CAST(NULL AS TIMESTAMP) AS BIGINT)");
  assert.deepEqual(r.columns.map((c) => c.type_text), ['BIGINT', 'BIGINT', 'INT', 'BIGINT']);
  assert.deepEqual(r.rows, [[1706695872n, -1n, 100, null]]);
  await x('CREATE TABLE main.default.ts (t TIMESTAMP)');
  await x("INSERT INTO ts VALUES (TIMESTAMP '2000-01-01 00:00:00Z')");
  assert.deepEqual((await x('SELECT t::bigint FROM ts')).rows, [[946684800n]]);
});

test('interval columns report their qualified type_text', async () => {
  assert.deepEqual(await types("SELECT INTERVAL '1-2' YEAR TO MONTH, make_dt_interval(1, 2), INTERVAL '3' MONTH, INTERVAL '90' MINUTE, CAST(NULL AS INTERVAL DAY TO SECOND)"),
    ['INTERVAL YEAR TO MONTH', 'INTERVAL DAY TO SECOND', 'INTERVAL YEAR TO MONTH', 'INTERVAL DAY TO SECOND', 'INTERVAL DAY TO SECOND']);
  const r = await x("SELECT make_ym_interval(1, 2) AS i");
  assert.equal(r.columns[0].type_name, 'INTERVAL');
  assert.deepEqual(r.rows, [['1-2']]);
});

test('length and instr answer INT', async () => {
  const r = await x("SELECT length('héllo'), char_length('ab'), character_length(''), instr('databricks', 'bri'), instr(CAST(NULL AS STRING), 'a')");
  assert.deepEqual(r.columns.map((c) => c.type_text), ['INT', 'INT', 'INT', 'INT', 'INT']);
  assert.deepEqual(r.columns.map((c) => c.type_name), ['INT', 'INT', 'INT', 'INT', 'INT']);
  assert.deepEqual(r.rows, [[5, 2, 0, 5, null]]);
});
