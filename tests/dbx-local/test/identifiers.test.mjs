// Identifiers: Databricks reserves no word as a column name, DuckDB reserves many. Every word of
// DuckDB's own keyword list is used as a column name: defined, inserted into, selected and
// filtered on, in backticks everywhere and without them wherever Databricks reads the bare word
// as a name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEngine } from '../lib/engine.mjs';

let dir, engine, words;
const admin = { kind: 'user', name: 'admin@dbx.local', displayName: 'admin', admin: true };
const x = (sql) => engine.execute(sql, { principal: admin });

// Words that Databricks reads as keywords inside a query even where a column name could stand:
// its documented special words NULL, TRUE, FALSE, DEFAULT; words that open an expression, a
// query or a clause (CASE, NOT, DISTINCT, ALL, INTERVAL, EXISTS, SELECT, WITH, FROM, JOIN), AS,
// which makes the next word an alias; and USER, a context function Databricks resolves when no
// column of that name exists, which a translator cannot know. They work as names in backticks
// or qualified (t.`null`, t.case).
const KEYWORD_ONLY = new Set(['null', 'true', 'false', 'default', 'case', 'not', 'distinct', 'all', 'interval', 'exists',
  'select', 'with', 'from', 'join', 'as', 'user']);

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-idents-'));
  engine = await openEngine({ dataDir: dir, config: {} });
  words = (await engine.raw('SELECT keyword_name FROM duckdb_keywords() ORDER BY keyword_name')).map((r) => r[0]);
});
after(async () => { await engine.close(); await rm(dir, { recursive: true, force: true }); });

test('DuckDB lists keywords of every category', () => {
  assert.ok(words.length > 400, `only ${words.length} keywords`);
  for (const w of ['at', 'select', 'order', 'year', 'value', 'key', 'timestamp', 'left', 'like', 'qualify']) assert.ok(words.includes(w), w);
});

test('every DuckDB keyword works as a column name in backticks', async () => {
  await x(`CREATE TABLE main.default.kw_bt (${words.map((w) => `\`${w}\` INT`).join(', ')})`);
  const cols = (await x('DESCRIBE TABLE main.default.kw_bt')).rows.map((r) => r[0]);
  assert.deepEqual(cols, words);
  await x(`INSERT INTO main.default.kw_bt VALUES (${words.map((_, k) => k).join(', ')})`);
  for (const [k, w] of words.entries()) {
    const r = await x(`SELECT \`${w}\`, kw.\`${w}\` AS \`${w}\` FROM main.default.kw_bt AS kw
      WHERE \`${w}\` = ${k} AND kw.\`${w}\` IN (${k}, -1) ORDER BY \`${w}\``);
    assert.deepEqual([r.columns.map((c) => c.name), r.rows], [[w, w], [[k, k]]], w);
  }
});

test('keywords work as bare column names wherever Databricks reads them as names', async () => {
  const bare = words.filter((w) => !KEYWORD_ONLY.has(w));
  assert.ok(bare.length > 450);
  await x(`CREATE TABLE main.default.kw_bare (${bare.map((w) => `${w} INT`).join(', ')}, v STRING)`);
  assert.deepEqual((await x('DESCRIBE TABLE main.default.kw_bare')).rows.map((r) => r[0]), [...bare, 'v']);
  await x(`INSERT INTO main.default.kw_bare (${bare.join(', ')}, v) VALUES (${bare.map((_, k) => k).join(', ')}, 'a'), (${bare.map(() => -1).join(', ')}, 'b')`);
  for (const [k, w] of bare.entries()) {
    const r = await x(`SELECT ${w} FROM main.default.kw_bare WHERE ${w} = ${k}`);
    assert.deepEqual([r.columns.map((c) => c.name), r.rows], [[w], [[k]]], `SELECT ${w} ... WHERE ${w} = ${k}`);
    const q = await x(`SELECT t.${w}, ${w} + 1 AS n, count(*) FROM main.default.kw_bare t WHERE ${w} >= 0 AND t.${w} IS NOT NULL AND ${w} IN (${k}, -2)
      GROUP BY t.${w} HAVING max(${w}) = ${k} ORDER BY ${w}`);
    assert.deepEqual(q.rows, [[k, k + 1, 1n]], `qualified, grouped and ordered ${w}`);
  }
  const [w] = bare.filter((x) => x === 'where');
  await x(`UPDATE main.default.kw_bare SET ${w} = ${w} + 1, at = at - 1 WHERE ${w} = -1 AND at = -1`);
  await x(`DELETE FROM main.default.kw_bare WHERE ${w} = 0 AND at = -2`);
  assert.deepEqual((await x('SELECT count(*), min(at) FROM main.default.kw_bare')).rows, [[1n, bare.indexOf('at')]]);
});

test('generated column names spell keyword columns as Spark does, without quotes', async () => {
  await x('CREATE TABLE main.default.kw_names (at INT, `order` INT, name STRING)');
  await x("INSERT INTO main.default.kw_names VALUES (1, 2, 'x')");
  const r = await x('SELECT at + 1, upper(name), `order` * 2, at AS `a"b` FROM main.default.kw_names');
  assert.deepEqual(r.columns.map((c) => c.name), ['(at + 1)', 'upper(name)', '(order * 2)', 'a"b']);
  assert.deepEqual(r.rows, [[2, 'X', 4, 1]]);
  const m = await x("SELECT max(at), min(replace(name, 'x', '\"')) FROM main.default.kw_names");
  assert.deepEqual(m.columns.map((c) => c.name), ['max(at)', 'min(replace(name, x, "))']);
  assert.deepEqual(m.rows, [[1, '"']]);
});

test('keywords as implicit aliases of select items', async () => {
  const r = await x("SELECT name key, at value, at + 1 year, 'x' at, (at) day, upper(name) type FROM main.default.kw_names");
  assert.deepEqual(r.columns.map((c) => c.name), ['key', 'value', 'year', 'at', 'day', 'type']);
  assert.deepEqual(r.rows, [['x', 1, 2, 'x', 1, 'X']]);
  // Not an alias: an interval unit.
  assert.deepEqual((await x("SELECT CAST(TIMESTAMP '2024-01-01 00:00:00Z' + INTERVAL 1 DAY AS DATE), at FROM main.default.kw_names")).rows, [['2024-01-02', 1]]);
});

test('keyword-only words are names when qualified or in backticks, keywords when bare', async () => {
  await x(`CREATE TABLE main.default.kw_only (${[...KEYWORD_ONLY].map((w) => `\`${w}\` STRING`).join(', ')})`);
  await x(`INSERT INTO main.default.kw_only VALUES (${[...KEYWORD_ONLY].map((w) => `'${w}'`).join(', ')})`);
  for (const w of KEYWORD_ONLY) {
    const r = await x(`SELECT t.${w}, t.\`${w}\` FROM main.default.kw_only AS t WHERE \`${w}\` = '${w}'`);
    assert.deepEqual(r.rows, [[w, w]], w);
  }
  const lit = await x('SELECT null IS NULL, true, false, CASE WHEN true THEN 1 END, NOT false FROM main.default.kw_only');
  assert.deepEqual(lit.rows, [[true, true, false, 1, true]]);
});

test('schema, table and volume names follow the Unity Catalog rule: no dot, slash or control character', async () => {
  const err = async (sql) => { try { await x(sql); } catch (e) { return e.errorClass; } assert.fail(`accepted: ${sql}`); };
  // a dot inside backticks is refused, never cut at the dot into another name
  assert.equal(await err('CREATE TABLE main.default.`a.b` (id INT)'), 'INVALID_SCHEMA_OR_RELATION_NAME');
  assert.equal(await err('CREATE TABLE main.default.`a/b` (id INT)'), 'INVALID_SCHEMA_OR_RELATION_NAME');
  assert.equal(await err('CREATE TABLE main.default.`a\nb` (id INT)'), 'INVALID_SCHEMA_OR_RELATION_NAME');
  assert.equal(await err(`CREATE TABLE main.default.\`${'x'.repeat(256)}\` (id INT)`), 'INVALID_SCHEMA_OR_RELATION_NAME');
  assert.equal(await err('CREATE SCHEMA main.`s.t`'), 'INVALID_SCHEMA_OR_RELATION_NAME');
  assert.equal(await err('CREATE VOLUME main.default.`v/w`'), 'INVALID_SCHEMA_OR_RELATION_NAME');
  const tables = (await x("SELECT table_name FROM main.information_schema.tables WHERE table_schema = 'default'")).rows.map((r) => r[0]);
  assert.ok(!tables.includes('a'), 'a part of a refused name was created');
  // anything else is a name: backticks, quotes, semicolons, comment markers, unicode (and, unlike
  // Unity Catalog, a space)
  const odd = "t`';--*é🙂";
  await x(`CREATE TABLE main.default.\`${odd.replaceAll('`', '``')}\` (id INT)`);
  const after = (await x("SELECT table_name FROM main.information_schema.tables WHERE table_schema = 'default'")).rows.map((r) => r[0]);
  assert.ok(after.includes(odd));
  assert.equal((await x(`CREATE TABLE main.default.\`${'y'.repeat(255)}\` (id INT)`)).rows.length, 0);
});
