// Engine-level tests of the Databricks SQL dialect on DuckDB: tokenizer edge cases, parameters,
// types and value normalisation, DDL, DML with change feed and history, MERGE, table_changes errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEngine, SqlError } from '../lib/engine.mjs';
import { tokenize } from '../lib/sql/tokenizer.mjs';

let dir, engine;
const x = (sql, opts) => engine.execute(sql, opts);
const rows = async (sql, opts) => (await x(sql, opts)).rows;
const errClass = async (p) => { try { await p; } catch (e) { assert.ok(e instanceof SqlError, e.stack); return e.errorClass; } assert.fail('expected an error'); };

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-sql-'));
  engine = await openEngine({ dataDir: dir, config: {} });
});
after(async () => { await engine.close(); await rm(dir, { recursive: true, force: true }); });

test('tokenizer: escapes, raw strings, concatenation, backticks, params vs paths', () => {
  const t = tokenize("SELECT 'O''Brien', 'a\\'b\\\\c\\n', r'\\n', `a``b`, :p, :`q-1`, v:x, 'x' \"y\" -- from\n/* where */");
  const vals = t.map((k) => [k.type, k.value]);
  assert.deepEqual(vals.slice(1), [
    ['string', 'OBrien'], ['op', ','], ['string', "a'b\\c\n"], ['op', ','], ['string', '\\n'], ['op', ','], ['qident', 'a`b'],
    ['op', ','], ['param', 'p'], ['op', ','], ['param', 'q-1'], ['op', ','], ['word', 'v'], ['op', ':'], ['word', 'x'], ['op', ','],
    ['string', 'xy'], ['eof', null],
  ]);
});

test('keywords inside strings and backticks keep their meaning', async () => {
  await x('CREATE TABLE `select` (`from` STRING, `where x` INT)');
  await x("INSERT INTO `main`.`default`.`select` VALUES ('DROP TABLE t; from where', 1)");
  assert.deepEqual(await rows('SELECT `from`, `where x` FROM main.default.`select`'), [['DROP TABLE t; from where', 1]]);
  const r = await x("SELECT 'a' 'b' AS c, 'it''s' AS d");
  assert.deepEqual(r.rows, [['ab', 'its']]);
});

test('parameters are typed, NULL-able, and unbound markers fail', async () => {
  const r = await x('SELECT :a + 1 AS a, :b AS b, :c AS c, :`d e` AS d', { parameters: [
    { name: 'a', value: '41', type: 'INT' }, { name: 'b', value: null, type: 'STRING' }, { name: 'c', value: '1.50', type: 'DECIMAL(10,2)' }, { name: 'd e', value: "x' OR 1=1" }] });
  assert.deepEqual(r.rows, [[42, null, '1.50', "x' OR 1=1"]]);
  assert.equal(r.columns[2].type_text, 'DECIMAL(10,2)');
  assert.equal(await errClass(x('SELECT :missing')), 'UNBOUND_SQL_PARAMETER');
  assert.equal(await errClass(x('SELECT :n', { parameters: [{ name: 'n', value: 'abc', type: 'INT' }] })), 'CAST_INVALID_INPUT');
});

test('value normalisation for every type', async () => {
  await x(`CREATE TABLE types (b BOOLEAN, ti TINYINT, si SMALLINT, i INT, l BIGINT, f FLOAT, d DOUBLE, dec DECIMAL(10,2), s STRING,
    dt DATE, ts TIMESTAMP, ntz TIMESTAMP_NTZ, bin BINARY, arr ARRAY<INT>, m MAP<STRING, INT>, st STRUCT<a: INT, b: STRING>, v VARIANT) USING DELTA`);
  await x(`INSERT INTO types VALUES (true, 1, 2, 3, 4, 1.5, 2.5, 12.3, 's', DATE '2024-01-31', TIMESTAMP '2024-01-31 10:11:12.5',
    TIMESTAMP_NTZ '2024-01-31 10:11:12', X'01FF', array(1, 2), map('k', 1), named_struct('a', 1, 'b', 'x'), parse_json('{"k":[1,true]}'))`);
  const r = await x('SELECT * FROM types');
  assert.deepEqual(r.columns.map((c) => c.type_name), ['BOOLEAN', 'BYTE', 'SHORT', 'INT', 'LONG', 'FLOAT', 'DOUBLE', 'DECIMAL', 'STRING', 'DATE',
    'TIMESTAMP', 'TIMESTAMP_NTZ', 'BINARY', 'ARRAY', 'MAP', 'STRUCT', 'VARIANT']);
  const [row] = r.rows;
  assert.deepEqual(row.slice(0, 12), [true, 1, 2, 3, 4n, 1.5, 2.5, '12.30', 's', '2024-01-31', '2024-01-31T10:11:12.5Z', '2024-01-31T10:11:12']);
  assert.deepEqual([...row[12]], [1, 255]);
  assert.deepEqual(row.slice(13).map((j) => JSON.parse(j)), [[1, 2], { k: 1 }, { a: 1, b: 'x' }, { k: [1, true] }]);
  assert.equal(r.columns[15].type_text, 'STRUCT<a: INT, b: STRING>');
  assert.equal(await errClass(x("SELECT parse_json('{')")), 'MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION');
  assert.deepEqual(await rows("SELECT try_parse_json('{'), to_json(parse_json('[1]'))"), [[null, '[1]']]);
});

test('Databricks built-ins: range, size, nvl, concat with NULL, division, LIKE, current_*', async () => {
  const r = await x('SELECT * FROM range(2, 4)');
  assert.deepEqual(r.columns.map((c) => [c.name, c.type_text]), [['id', 'BIGINT']]);
  assert.deepEqual(r.rows, [[2n], [3n]]);
  assert.deepEqual(await rows("SELECT size(array(1,2,3)), size(map('a',1)), nvl(NULL, 'z'), concat('a', NULL), concat('a','b'), 7 / 2, 7 div 2, 'abc' LIKE 'A%', 'a' = 'A'"),
    [[3, 1, 'z', null, 'ab', 3.5, 3n, false, false]]);
  assert.deepEqual(await rows('SELECT current_user(), current_catalog(), current_schema()', { principal: { name: 'u@x', admin: true } }), [['u@x', 'main', 'default']]);
  assert.deepEqual(await rows("SELECT date_format(TIMESTAMP '2024-02-03 04:05:06', 'yyyy-MM-dd HH:mm:ss')"), [['2024-02-03 04:05:06']]);
  assert.equal(await errClass(x('SELEC 1')), 'PARSE_SYNTAX_ERROR');
});

test('DDL: IF NOT EXISTS, ADD COLUMNS, DESCRIBE, SHOW, schemas and volumes', async () => {
  await x('CREATE SCHEMA IF NOT EXISTS main.ddl');
  await x('CREATE TABLE main.ddl.t (id BIGINT NOT NULL COMMENT "key")');
  await x('CREATE TABLE IF NOT EXISTS main.ddl.t (other INT)');
  assert.equal(await errClass(x('CREATE TABLE main.ddl.t (id INT)')), 'TABLE_OR_VIEW_ALREADY_EXISTS');
  await x('ALTER TABLE main.ddl.t ADD COLUMNS (name STRING, tags ARRAY<STRING>)');
  assert.equal(await errClass(x('ALTER TABLE main.ddl.t ADD COLUMN name STRING')), 'FIELD_ALREADY_EXISTS');
  assert.deepEqual(await rows('DESCRIBE TABLE main.ddl.t'), [['id', 'bigint', 'key'], ['name', 'string', null], ['tags', 'array<string>', null]]);
  assert.deepEqual(await rows('SHOW TABLES IN main.ddl'), [['ddl', 't', false]]);
  assert.ok((await rows('SHOW SCHEMAS IN main')).some(([n]) => n === 'ddl'));
  await x('CREATE VOLUME main.ddl.vol');
  assert.equal(await errClass(x('CREATE VOLUME main.ddl.vol')), 'VOLUME_ALREADY_EXISTS');
  await x('CREATE VOLUME IF NOT EXISTS main.ddl.vol');
  assert.ok(engine.volumeRoot('main', 'ddl', 'vol'));
  await x('DROP VOLUME main.ddl.vol');
  assert.equal(engine.volumeRoot('main', 'ddl', 'vol'), null);
  await x('DROP TABLE main.ddl.t');
  assert.equal(await errClass(x('SELECT * FROM main.ddl.t')), 'TABLE_OR_VIEW_NOT_FOUND');
  assert.equal(await errClass(x('SELECT * FROM main.nope.t')), 'SCHEMA_NOT_FOUND');
  await x('DROP TABLE IF EXISTS main.ddl.t');
  const ctas = await x('CREATE TABLE main.ddl.c AS SELECT id, id * 2 AS dbl FROM range(3)');
  assert.deepEqual(ctas.rows, [[3n, 3n]]);
  assert.deepEqual(engine.getTable('main.ddl.c').columns.map((c) => c.type_text), ['bigint', 'bigint']);
});

test('change feed and history for insert, update, delete, merge; table_changes errors', async () => {
  await x('CREATE TABLE cdf (id BIGINT, v STRING) USING DELTA TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await x("INSERT INTO cdf VALUES (1, 'a'), (2, 'b')");
  await x("UPDATE cdf SET v = 'a2' WHERE id = 1");
  await x('DELETE FROM cdf WHERE id = 2');
  const ch = await rows('SELECT id, v, _change_type, _commit_version FROM table_changes(\'main.default.cdf\', 1) ORDER BY _commit_version, _change_type, id');
  assert.deepEqual(ch, [[1n, 'a', 'insert', 1n], [2n, 'b', 'insert', 1n], [1n, 'a2', 'update_postimage', 2n], [1n, 'a', 'update_preimage', 2n], [2n, 'b', 'delete', 3n]]);
  const hist = await rows('DESCRIBE HISTORY cdf LIMIT 2');
  assert.deepEqual(hist.map((h) => [h[0], h[4]]), [[3n, 'DELETE'], [2n, 'UPDATE']]);
  assert.equal(await errClass(x("SELECT * FROM table_changes('cdf', 9)")), 'DELTA_CDC_START_VERSION_AFTER_LATEST');
  assert.equal(await errClass(x("SELECT * FROM table_changes('cdf', 2, 1)")), 'DELTA_INVALID_CDC_RANGE');
  assert.equal(await errClass(x("SELECT * FROM table_changes('cdf', NULL)")), 'DELTA_CDC_READ_NULL_RANGE_BOUNDARY');
  assert.equal(await errClass(x("SELECT * FROM table_changes('cdf', '2999-01-01 00:00:00')")), 'DELTA_TIMESTAMP_GREATER_THAN_COMMIT');
  assert.equal(await errClass(x("SELECT * FROM table_changes('nope', 0)")), 'TABLE_OR_VIEW_NOT_FOUND');
  const byTs = await rows("SELECT count(*) FROM table_changes('cdf', '2000-01-01T00:00:00Z') WHERE _change_type = 'insert'");
  assert.deepEqual(byTs, [[2n]]);
  // CDF enabled later: versions before the enabling commit have no change data.
  await x('CREATE TABLE late (id INT)');
  await x('INSERT INTO late VALUES (1)');
  await x('ALTER TABLE late SET TBLPROPERTIES (\'delta.enableChangeDataFeed\' = \'true\')');
  await x('INSERT INTO late VALUES (2)');
  assert.equal(await errClass(x("SELECT * FROM table_changes('late', 0)")), 'DELTA_MISSING_CHANGE_DATA');
  assert.deepEqual(await rows("SELECT id, _change_type FROM table_changes('late', 2)"), [[2, 'insert']]);
});

test('MERGE: version conditions, insert/delete/by-source clauses, multiple-match error, schema evolution', async () => {
  await x('CREATE TABLE persons (id BIGINT, version INT, name STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await x("INSERT INTO persons VALUES (1, 1, 'a'), (2, 5, 'b'), (3, 1, 'gone')");
  const r = await x(`MERGE INTO persons AS t USING (SELECT * FROM VALUES (1, 2, 'a2'), (2, 4, 'stale'), (4, 1, 'd') AS v(id, version, name)) AS s
    ON t.id = s.id
    WHEN MATCHED AND s.version > t.version THEN UPDATE SET *
    WHEN NOT MATCHED THEN INSERT *
    WHEN NOT MATCHED BY SOURCE THEN DELETE`);
  assert.deepEqual(r.rows, [[3n, 1n, 1n, 1n]]);
  assert.deepEqual(await rows('SELECT * FROM persons ORDER BY id'), [[1n, 2, 'a2'], [2n, 5, 'b'], [4n, 1, 'd']]);
  const ch = await rows("SELECT id, _change_type FROM table_changes('persons', 2) ORDER BY id, _change_type");
  assert.deepEqual(ch, [[1n, 'update_postimage'], [1n, 'update_preimage'], [3n, 'delete'], [4n, 'insert']]);
  assert.equal(await errClass(x('MERGE INTO persons t USING (SELECT 1 AS id UNION ALL SELECT 1) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET name = \'x\'')),
    'DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE');
  await x("MERGE WITH SCHEMA EVOLUTION INTO persons t USING (SELECT 9 AS id, 1 AS version, 'n' AS name, 'x@y' AS email) s ON t.id = s.id WHEN NOT MATCHED THEN INSERT *");
  assert.deepEqual(await rows('SELECT email FROM persons WHERE id = 9'), [['x@y']]);
  assert.equal(await errClass(x("MERGE INTO persons t USING (SELECT 10 AS id, 'q' AS extra) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")),
    'DELTA_MERGE_UNRESOLVED_EXPRESSION');
});

test('a failed statement leaves no partial change', async () => {
  await x('CREATE TABLE atomic (id INT NOT NULL) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  assert.equal(await errClass(x('INSERT INTO atomic VALUES (1), (NULL)')), 'DELTA_NOT_NULL_CONSTRAINT_VIOLATED');
  assert.deepEqual(await rows('SELECT count(*) FROM atomic'), [[0n]]);
  assert.deepEqual((await rows('DESCRIBE HISTORY atomic')).length, 1);
});

test('INTERVAL values print as Databricks does (Y-M, D HH:MM:SS.NNNNNNNNN) and keep literal names', async () => {
  const r = await x("SELECT INTERVAL '3' MONTH, INTERVAL 2 YEARS, -INTERVAL '15' MONTH, INTERVAL '1' DAY, INTERVAL '90' MINUTE, "
    + "timestamp'2024-01-02 00:00:00.5' - timestamp'2024-01-01' AS diff");
  assert.deepEqual(r.rows, [['0-3', '2-0', '-1-3', '1 00:00:00.000000000', '0 01:30:00.000000000', '1 00:00:00.500000000']]);
  assert.deepEqual(r.columns.map((c) => c.name).slice(0, 2), ["INTERVAL '3' MONTH", "INTERVAL '2' YEAR"]);
  assert.equal(r.columns[4].name, "INTERVAL '90' MINUTE");
});
