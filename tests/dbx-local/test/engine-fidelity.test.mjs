// Engine tests for behaviours where an emulator is easily more lenient than Databricks: ANSI
// division and array subscripts, the type of div and sum(), integral casts, MERGE's multiple-match
// rule and its unconditional-DELETE exemption, visibility of REST grants, unknown grantees, USE
// statements sent through the Statement Execution API, and Databricks error classes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEngine, SqlError, ApiError } from '../lib/engine.mjs';

let dir, engine;
const admin = { kind: 'user', name: 'admin@dbx.local', displayName: 'admin', admin: true };
const alice = { kind: 'user', name: 'alice@dbx.local', displayName: 'alice', admin: false };
const bob = { kind: 'user', name: 'bob@dbx.local', displayName: 'bob', admin: false };
const x = (sql, opts = {}) => engine.execute(sql, { principal: admin, ...opts });
const rows = async (sql, opts) => (await x(sql, opts)).rows;
const failure = async (p) => {
  try { await p; } catch (e) { assert.ok(e instanceof SqlError, e.stack); return e; }
  assert.fail('expected an error');
};

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-fid-'));
  engine = await openEngine({ dataDir: dir, config: { users: [admin, alice, bob].map((u) => ({ user_name: u.name, admin: u.admin })) } });
});
after(async () => { await engine.close(); await rm(dir, { recursive: true, force: true }); });

test('division by zero raises DIVIDE_BY_ZERO for /, div, % and mod(); try_divide tolerates it', async () => {
  for (const sql of ['SELECT 1/0', 'SELECT 1 div 0', 'SELECT 5 % 0', 'SELECT mod(5, 0)', 'SELECT 1.5D / 0', 'SELECT 2 * 3 / (1 - 1)']) {
    const e = await failure(x(sql));
    assert.equal(e.errorClass, 'DIVIDE_BY_ZERO', sql);
    assert.equal(e.sqlState, '22012');
    assert.match(e.message, /^\[DIVIDE_BY_ZERO\] Division by zero\. Use `try_divide`.* SQLSTATE: 22012$/);
  }
  await x('CREATE TABLE main.default.nums (a INT, b INT)');
  await x('INSERT INTO nums VALUES (6, 3), (1, 0)');
  assert.equal((await failure(x('SELECT a / b FROM nums'))).errorClass, 'DIVIDE_BY_ZERO');
  // Rows filtered out, or branches not taken, never divide.
  assert.deepEqual(await rows('SELECT a / b FROM nums WHERE b <> 0'), [[2]]);
  assert.deepEqual(await rows('SELECT CASE WHEN b = 0 THEN -1 ELSE a / b END FROM nums ORDER BY a'), [[-1], [2]]);
  assert.deepEqual(await rows('SELECT try_divide(a, b), try_mod(a, b) FROM nums ORDER BY a'), [[null, null], [2, 0]]);
  // Strings and names containing the operators are untouched; a column named div is a column.
  await x('CREATE TABLE main.default.ops (div INT, `a/b` STRING)');
  await x("INSERT INTO ops VALUES (7, '1/0 % 0')");
  assert.deepEqual(await rows('SELECT div, `a/b`, div div 2 FROM ops'), [[7, '1/0 % 0', 3n]]);
});

test('div returns BIGINT truncated toward zero and binds like * and /', async () => {
  const r = await x('SELECT 7 div 2 AS a, -7 div 2 AS b, 7.9D div 2 AS c, CAST(-7.5 AS DECIMAL(5,1)) div 2 AS d, 2 * 5 div 3 AS e, 1 + 5 div 2 AS f, 9 div 2 div 2 AS g');
  assert.deepEqual(r.columns.map((c) => c.type_text), Array(7).fill('BIGINT'));
  assert.deepEqual(r.rows, [[3n, -3n, 3n, -3n, 3n, 3n, 2n]]);
  assert.deepEqual(await rows('SELECT 10 / 4, 10 % 4, -7 % 3'), [[2.5, 2, -1]]);
});

test('MERGE: several source rows for one target row fail, unless the only MATCHED clause is an unconditional DELETE', async () => {
  await x('CREATE TABLE main.default.tgt (id INT, v STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await x("INSERT INTO tgt VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  await x('CREATE TABLE main.default.src (id INT, v STRING)');
  await x("INSERT INTO src VALUES (1, 'x'), (1, 'y'), (4, 'z')");
  const upd = await failure(x('MERGE INTO tgt t USING src s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v'));
  assert.equal(upd.errorClass, 'DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE');
  const condDel = await failure(x("MERGE INTO tgt t USING src s ON t.id = s.id WHEN MATCHED AND s.v = 'x' THEN DELETE"));
  assert.equal(condDel.errorClass, 'DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE');
  const r = await x('MERGE INTO tgt t USING src s ON t.id = s.id WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT *');
  assert.deepEqual(r.rows, [[2n, 0n, 1n, 1n]]);
  assert.deepEqual(await rows('SELECT id, v FROM tgt ORDER BY id'), [[2, 'b'], [3, 'c'], [4, 'z']]);
  const version = (await rows('DESCRIBE HISTORY tgt LIMIT 1'))[0][0];
  assert.deepEqual(await rows(`SELECT id, _change_type FROM table_changes('main.default.tgt', ${version}) ORDER BY id`), [[1, 'delete'], [4, 'insert']]);
});

test('REST grants are only shown to principals that can see the securable', async () => {
  await x('CREATE SCHEMA main.hidden');
  await x('CREATE TABLE main.hidden.t (id INT)');
  await x('GRANT USE CATALOG ON CATALOG main TO `alice@dbx.local`');
  await x('GRANT SELECT ON TABLE main.hidden.t TO `alice@dbx.local`');
  const grants = engine.getPermissions('TABLE', 'main.hidden.t', undefined, alice);
  assert.deepEqual(grants.privilege_assignments, [{ principal: 'alice@dbx.local', privileges: ['SELECT'] }]);
  assert.equal(engine.getPermissions('CATALOG', 'main', undefined, alice).privilege_assignments.length, 1);
  for (const [type, name, who] of [['TABLE', 'main.hidden.t', bob], ['SCHEMA', 'main.hidden', bob], ['CATALOG', 'main', bob]]) {
    assert.throws(() => engine.getPermissions(type, name, undefined, who), (e) => e instanceof ApiError && e.status === 403 && e.errorCode === 'PERMISSION_DENIED', `${type} ${name} ${who.name}`);
  }
  assert.throws(() => engine.getPermissions('TABLE', 'main.hidden.nope', undefined, alice), (e) => e instanceof ApiError && e.status === 404);
});

test('grants to principals the workspace does not know fail (SQL and REST); revoking is harmless', async () => {
  assert.equal((await failure(x('GRANT SELECT ON TABLE main.hidden.t TO `nobody@dbx.local`'))).errorClass, 'PRINCIPAL_DOES_NOT_EXIST');
  assert.equal((await failure(x('GRANT USE CATALOG ON CATALOG main TO `account users`'))).errorClass, 'PRINCIPAL_DOES_NOT_EXIST');
  await assert.rejects(engine.updatePermissions('TABLE', 'main.hidden.t', [{ principal: 'nobody@dbx.local', add: ['SELECT'] }], admin),
    (e) => e instanceof ApiError && e.status === 404 && e.errorCode === 'PRINCIPAL_DOES_NOT_EXIST');
  await x('REVOKE SELECT ON TABLE main.hidden.t FROM `nobody@dbx.local`');
  assert.deepEqual(await rows('SHOW GRANTS `nobody@dbx.local` ON TABLE main.hidden.t'), []);
});

test('USE CATALOG / USE SCHEMA / USE c.s succeed with no rows and change nothing beyond the statement', async () => {
  await x('CREATE SCHEMA IF NOT EXISTS main.other');
  for (const sql of ['USE CATALOG main', 'USE SCHEMA other', 'USE DATABASE main.other', 'USE main.other', 'USE other', 'USE `main`.`other`;']) {
    assert.deepEqual(await x(sql), { columns: [], rows: [] }, sql);
  }
  assert.deepEqual(await rows('SELECT current_catalog(), current_schema()'), [['main', 'default']]);
  assert.equal((await failure(x('USE CATALOG nope'))).errorClass, 'NO_SUCH_CATALOG_EXCEPTION');
  assert.equal((await failure(x('USE SCHEMA nope'))).errorClass, 'SCHEMA_NOT_FOUND');
  assert.equal((await failure(x('USE main.other extra'))).errorClass, 'PARSE_SYNTAX_ERROR');
});

test('error classes and result types as Databricks reports them: casts, arity, sum(), substr(), time travel', async () => {
  const overflow = await failure(x('SELECT CAST(300 AS TINYINT)'));
  assert.equal(overflow.errorClass, 'CAST_OVERFLOW');
  assert.equal(overflow.sqlState, '22003');
  assert.equal((await failure(x("SELECT CAST('abc' AS INT)"))).errorClass, 'CAST_INVALID_INPUT');
  await x('CREATE TABLE main.default.pair (a INT, b INT)');
  assert.equal((await failure(x('INSERT INTO pair VALUES (1)'))).errorClass, 'INSERT_COLUMN_ARITY_MISMATCH.NOT_ENOUGH_DATA_COLUMNS');
  assert.equal((await failure(x('INSERT INTO pair VALUES (1, 2, 3)'))).errorClass, 'INSERT_COLUMN_ARITY_MISMATCH.TOO_MANY_DATA_COLUMNS');
  // sum() of integers is BIGINT (DuckDB would say HUGEINT) and overflows like Databricks.
  const s = await x('SELECT sum(x) AS s FROM VALUES (1), (2) AS v(x)');
  assert.deepEqual([s.columns[0].type_text, s.columns[0].type_name, s.rows], ['BIGINT', 'LONG', [[3n]]]);
  assert.equal((await failure(x('SELECT sum(x) FROM VALUES (9223372036854775807L), (1L) AS v(x)'))).errorClass, 'ARITHMETIC_OVERFLOW');
  assert.deepEqual(await rows("SELECT substr('hello', 0, 2), substr('hello', 2), substring('hello', -3, 2), substr('hello', 2, -1)"), [['he', 'ello', 'll', '']]);
  assert.equal((await failure(x('SELECT * FROM pair VERSION AS OF 0'))).errorClass, 'UNSUPPORTED_FEATURE');
  assert.equal((await failure(x("SELECT * FROM pair TIMESTAMP AS OF '2024-01-01'"))).errorClass, 'UNSUPPORTED_FEATURE');
});

test('array subscripts are 0-based and bounds-checked (INVALID_ARRAY_INDEX); get() tolerates; map keys are looked up as is', async () => {
  assert.deepEqual(await rows('SELECT array(10, 20)[1], (array(array(1, 2), array(3)))[1][0], get(array(1, 2), 5), get(array(1, 2), -1)'), [[20, 3, null, null]]);
  for (const sql of ['SELECT array(1, 2)[2]', 'SELECT array(1, 2)[-1]']) {
    const e = await failure(x(sql));
    assert.equal(e.errorClass, 'INVALID_ARRAY_INDEX', sql);
    assert.equal(e.sqlState, '22003');
  }
  assert.deepEqual(await rows("SELECT map(1, 'a', 2, 'b')[1], map('k', 1)['k'], map('k', 1)['z'], CAST(NULL AS ARRAY<INT>)[3]"), [['a', 1, null, null]]);
});

test('casts to integral types truncate like Spark; :: applies to whole names and calls', async () => {
  const r = await x("SELECT CAST(1.5 AS INT), CAST(-1.7D AS BIGINT), 2.9::TINYINT, CAST('42' AS SMALLINT), t.a::STRING, abs(t.a - 3)::STRING, (t.a + 1)::INT FROM (SELECT 1 AS a) t");
  assert.deepEqual(r.rows, [[1, -1n, 2, 42, '1', '2', 2]]);
  assert.deepEqual(r.columns.map((c) => c.type_text), ['INT', 'BIGINT', 'TINYINT', 'SMALLINT', 'STRING', 'STRING', 'INT']);
  assert.equal((await failure(x('SELECT CAST(3000000000.5 AS INT)'))).errorClass, 'CAST_OVERFLOW');
  assert.deepEqual(await rows("SELECT try_cast('x' AS INT)"), [[null]]);
});

test('INSERT, UPDATE and MERGE store fractions into integral columns truncated, as Spark does', async () => {
  await x('CREATE TABLE main.default.store (id INT, n BIGINT)');
  await x('INSERT INTO store VALUES (1, 1.7), (2, -2.9D)');
  await x('INSERT INTO store (n, id) SELECT 9.99, 3');
  await x('UPDATE store SET n = 5.5 WHERE id = 3');
  await x('MERGE INTO store t USING (SELECT 2 AS id, 7.8 AS n UNION ALL SELECT 4, 4.4) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET n = s.n WHEN NOT MATCHED THEN INSERT *');
  assert.deepEqual(await rows('SELECT id, n FROM store ORDER BY id'), [[1, 1n], [2, 7n], [3, 5n], [4, 4n]]);
  const bad = await failure(x("INSERT INTO store VALUES (5, 'abc')"));
  assert.equal(bad.errorClass, 'CAST_INVALID_INPUT');
  assert.doesNotMatch(bad.message, /__v\d/);
});

test('INSERT OVERWRITE replaces every row in one version, reading its query first; the change feed has the deletes and inserts', async () => {
  await x(`CREATE TABLE main.default.ow (k INT, v STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)`);
  await x(`INSERT INTO ow VALUES (1, 'a'), (2, 'b')`);
  await x(`INSERT OVERWRITE TABLE ow SELECT k + 10, v FROM ow WHERE k = 2`);
  assert.deepEqual(await rows('SELECT k, v FROM ow ORDER BY k'), [[12, 'b']]);
  await x(`INSERT OVERWRITE ow (v, k) VALUES ('z', 3)`);
  assert.deepEqual(await rows('SELECT k, v FROM ow ORDER BY k'), [[3, 'z']]);
  const hist = await rows('DESCRIBE HISTORY ow');
  assert.deepEqual(hist.slice(0, 3).map((h) => [Number(h[0]), h[4]]), [[3, 'WRITE'], [2, 'WRITE'], [1, 'WRITE']]);
  const last = JSON.stringify(hist[0], (k, v) => (typeof v === 'bigint' ? String(v) : v));
  assert.match(last, /"mode":"Overwrite"|Overwrite/);
  const changes = await rows(`SELECT k, _change_type, _commit_version FROM table_changes('main.default.ow', 2) ORDER BY _commit_version, _change_type, k`);
  assert.deepEqual(changes.map((r) => [Number(r[0]), r[1], Number(r[2])]),
    [[1, 'delete', 2], [2, 'delete', 2], [12, 'insert', 2], [12, 'delete', 3], [3, 'insert', 3]]);
  // alice may not overwrite what she cannot modify
  const e = await failure(x(`INSERT OVERWRITE ow VALUES (9, 'no')`, { principal: alice }));
  assert.match(e.errorClass, /PERMISSION|INSUFFICIENT/);
});
