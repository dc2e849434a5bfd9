// Engine tests for named parameters: a STRING parameter (declared STRING, or without a type)
// compared with a TIMESTAMP, DATE, numeric or BOOLEAN column is promoted to the column's type,
// as Databricks does (a STRING promotes to BIGINT, DOUBLE, DATE, TIMESTAMP, BOOLEAN); a value
// that does not cast fails with CAST_INVALID_INPUT rather than comparing as text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEngine, SqlError } from '../lib/engine.mjs';

let dir, engine;
const admin = { kind: 'user', name: 'admin@dbx.local', displayName: 'admin', admin: true };
const x = (sql, parameters = []) => engine.execute(sql, { principal: admin, parameters });
const ids = async (sql, parameters) => (await x(sql, parameters)).rows.map((r) => r[0]);
// Both spellings of a STRING parameter: no type, and type STRING.
const both = (name, value) => [[{ name, value }], [{ name, value, type: 'STRING' }]];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-params-'));
  engine = await openEngine({ dataDir: dir, config: {} });
  await x(`CREATE TABLE main.default.ev (id INT, event_time TIMESTAMP, day DATE, n BIGINT, small TINYINT,
    price DECIMAL(10,2), score DOUBLE, ok BOOLEAN, name STRING)`);
  await x(`INSERT INTO ev VALUES
    (1, TIMESTAMP'2023-12-31 23:59:59', DATE'2023-12-31', -9223372036854775808, -128, 0.50, -1.5, false, 'a'),
    (2, TIMESTAMP'2024-01-01 00:00:00', DATE'2024-01-01', 0, 0, 10.00, 0.0, true, '2024-01-01'),
    (3, TIMESTAMP'2024-06-15 12:30:00.5', DATE'2024-06-15', 9223372036854775807, 127, 99.99, 2.5, NULL, NULL)`);
});
after(async () => { await engine.close(); await rm(dir, { recursive: true, force: true }); });

test('STRING parameter compared with a TIMESTAMP column', async () => {
  for (const p of both('a', '2024-01-01 00:00:00')) {
    assert.deepEqual(await ids('SELECT id FROM ev WHERE event_time >= :a ORDER BY id', p), [2, 3]);
    assert.deepEqual(await ids('SELECT id FROM ev WHERE :a > event_time ORDER BY id', p), [1]);
  }
  assert.deepEqual(await ids('SELECT id FROM ev WHERE event_time = :a', [{ name: 'a', value: '2024-06-15T12:30:00.5Z' }]), [3]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE event_time < :a ORDER BY id', [{ name: 'a', value: '2024-01-01' }]), [1]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE event_time BETWEEN :a AND :b ORDER BY id',
    [{ name: 'a', value: '2024-01-01 00:00:00' }, { name: 'b', value: '2024-12-31 00:00:00' }]), [2, 3]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE event_time IN (:a, :b) ORDER BY id',
    [{ name: 'a', value: '2024-01-01 00:00:00' }, { name: 'b', value: null }]), [2]);
});

test('STRING parameter compared with DATE, integral, DECIMAL, DOUBLE and BOOLEAN columns', async () => {
  for (const p of both('d', '2024-01-01')) assert.deepEqual(await ids('SELECT id FROM ev WHERE day <= :d ORDER BY id', p), [1, 2]);
  for (const p of both('v', '9223372036854775807')) assert.deepEqual(await ids('SELECT id FROM ev WHERE n = :v', p), [3]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE n = :v', [{ name: 'v', value: '-9223372036854775808' }]), [1]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE small >= :v ORDER BY id', [{ name: 'v', value: '0' }]), [2, 3]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE id <> :v ORDER BY id', [{ name: 'v', value: '2' }]), [1, 3]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE price > :v ORDER BY id', [{ name: 'v', value: '9.99' }]), [2, 3]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE score < :v ORDER BY id', [{ name: 'v', value: '1e0' }]), [1, 2]);
  for (const p of both('b', 'true')) assert.deepEqual(await ids('SELECT id FROM ev WHERE ok = :b', p), [2]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE ok <=> :b', [{ name: 'b', value: null }]), [3]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE ok = :b', [{ name: 'b', value: 'false' }]), [1]);
});

test('a STRING parameter stays a string next to STRING columns and in the select list', async () => {
  for (const p of both('s', '2024-01-01')) assert.deepEqual(await ids('SELECT id FROM ev WHERE name = :s', p), [2]);
  await x("INSERT INTO ev (id, name) VALUES (4, 'it\\'s \\\\ \\0 x')");
  assert.deepEqual(await ids('SELECT id FROM ev WHERE name = :s', [{ name: 's', value: "it's \\ \u0000 x" }]), [4]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE name = :s', [{ name: 's', value: "it's \\ x" }]), []);
  await x('DELETE FROM ev WHERE id = 4');
  const r = await x('SELECT :s AS s, :n AS n', [{ name: 's', value: '007' }, { name: 'n', value: null }]);
  assert.deepEqual(r.columns.map((c) => c.type_text), ['STRING', 'STRING']);
  assert.deepEqual(r.rows, [['007', null]]);
  assert.deepEqual(await ids('SELECT id FROM ev WHERE name = :s', [{ name: 's', value: null }]), []);
});

test('a STRING parameter that does not cast to the column type fails with CAST_INVALID_INPUT', async () => {
  for (const [sql, value] of [['event_time >= :v', 'yesterday'], ['day = :v', '2024-13-01'], ['n = :v', '9223372036854775808'],
    ['small = :v', 'x1'], ['ok = :v', 'maybe']]) {
    await assert.rejects(x(`SELECT id FROM ev WHERE ${sql}`, [{ name: 'v', value }]),
      (e) => e instanceof SqlError && e.errorClass === 'CAST_INVALID_INPUT' && e.sqlState === '22018', `${sql} with ${value}`);
  }
});

test('a LIKE pattern parameter escapes with backslash, as a LIKE literal does', async () => {
  await x("INSERT INTO ev (id, name) VALUES (5, 'a_b'), (6, 'axb'), (7, 'a%b')");
  const like = (pattern, sql = 'name LIKE :p') => ids(`SELECT id FROM ev WHERE ${sql} ORDER BY id`, [{ name: 'p', value: pattern }]);
  assert.deepEqual(await like('a\\_b'), [5]);
  assert.deepEqual(await like('a_b'), [5, 6, 7]);
  assert.deepEqual(await like('A\\%B', 'name ILIKE :p'), [7]);
  assert.deepEqual(await like('a!_b', "name LIKE :p ESCAPE '!'"), [5]);
  assert.deepEqual(await like(null), []);
  await x('DELETE FROM ev WHERE id >= 5');
});

test('typed parameters keep their declared type', async () => {
  assert.deepEqual(await ids('SELECT id FROM ev WHERE event_time >= :a ORDER BY id', [{ name: 'a', value: '2024-01-01 00:00:00', type: 'TIMESTAMP' }]), [2, 3]);
  const r = await x('SELECT :a AS a, :d AS d', [{ name: 'a', value: '42', type: 'BIGINT' }, { name: 'd', value: '2024-02-29', type: 'DATE' }]);
  assert.deepEqual(r.columns.map((c) => c.type_text), ['BIGINT', 'DATE']);
  assert.deepEqual(r.rows, [[42n, '2024-02-29']]);
});
