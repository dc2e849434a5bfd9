// Engine-level tests added by the issue-2 audit: CREATE OR REPLACE / REPLACE TABLE on Delta
// (identity, history, grants and change feed across a replace) and the Databricks date/time,
// collection and JSON built-ins whose DuckDB namesakes differ or are missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEngine, SqlError } from '../lib/engine.mjs';

let dir, engine;
const x = (sql, opts) => engine.execute(sql, opts);
const rows = async (sql, opts) => (await x(sql, opts)).rows;
const one = async (sql) => (await rows(sql))[0];
const errClass = async (p) => { try { await p; } catch (e) { assert.ok(e instanceof SqlError, e.stack); return e.errorClass; } assert.fail('expected an error'); };
const USER = { kind: 'user', name: 'analyst@dbx.local', displayName: 'analyst', admin: false };

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-audit-'));
  engine = await openEngine({ dataDir: dir, config: { users: [{ user_name: 'admin@dbx.local', admin: true }, { user_name: USER.name }] } });
});
after(async () => { await engine.close(); await rm(dir, { recursive: true, force: true }); });

test('CREATE OR REPLACE TABLE keeps identity, grants and history; replaces schema, properties and data', async () => {
  await x("CREATE OR REPLACE TABLE rep (id INT, v STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true, 'x' = 'old')");
  const created = engine.getTable('main.default.rep');
  await x("INSERT INTO rep VALUES (1, 'a'), (2, 'b')");
  await x(`GRANT USE CATALOG ON CATALOG main TO \`${USER.name}\``);
  await x(`GRANT USE SCHEMA ON SCHEMA main.default TO \`${USER.name}\``);
  await x(`GRANT SELECT ON TABLE rep TO \`${USER.name}\``);
  // Same schema: the replace reads the table it replaces, and the change feed carries on.
  assert.deepEqual(await rows("CREATE OR REPLACE TABLE rep TBLPROPERTIES (delta.enableChangeDataFeed = true) AS SELECT id + 10 AS id, v FROM rep WHERE id = 2"), [[1n, 1n]]);
  assert.deepEqual(await rows('SELECT id, v FROM rep'), [[12, 'b']]);
  const t = engine.getTable('main.default.rep');
  assert.equal(t.table_id, created.table_id);
  assert.equal(t.properties.x, undefined, 'properties are replaced');
  assert.deepEqual(await rows("SELECT id, _change_type, _commit_version FROM table_changes('rep', 1) ORDER BY _commit_version, _change_type, id"),
    [[1, 'insert', 1n], [2, 'insert', 1n], [1, 'delete', 2n], [2, 'delete', 2n], [12, 'insert', 2n]]);
  // A new schema: history goes on, the change feed restarts and refuses ranges from before it.
  await x('CREATE OR REPLACE TABLE rep (k BIGINT, w DOUBLE) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await x('INSERT INTO rep VALUES (7, 0.5)');
  assert.deepEqual(await rows('SELECT * FROM rep'), [[7n, 0.5]]);
  assert.deepEqual(engine.getTable('main.default.rep').columns.map((c) => [c.name, c.type_text]), [['k', 'bigint'], ['w', 'double']]);
  assert.deepEqual((await rows('DESCRIBE HISTORY rep')).map((h) => [h[0], h[4]]),
    [[4n, 'WRITE'], [3n, 'CREATE OR REPLACE TABLE'], [2n, 'CREATE OR REPLACE TABLE AS SELECT'], [1n, 'WRITE'], [0n, 'CREATE TABLE']]);
  assert.equal(await errClass(x("SELECT * FROM table_changes('rep', 1)")), 'DELTA_CHANGE_DATA_FEED_INCOMPATIBLE_DATA_SCHEMA');
  assert.deepEqual(await rows("SELECT k, _change_type, _commit_version FROM table_changes('rep', 3)"), [[7n, 'insert', 4n]]);
  // Grants survive: the analyst still reads the replaced table.
  assert.deepEqual(await rows('SELECT k FROM main.default.rep', { principal: USER }), [[7n]]);
  // ...but may not replace it without MODIFY.
  assert.equal(await errClass(x('CREATE OR REPLACE TABLE main.default.rep (a INT)', { principal: USER })), 'INSUFFICIENT_PERMISSIONS');
});

test('REPLACE TABLE needs an existing table; OR REPLACE is refused for other objects; failed replace changes nothing', async () => {
  assert.equal(await errClass(x('REPLACE TABLE nowhere (a INT)')), 'CANNOT_REPLACE_MISSING_TABLE');
  await x('CREATE TABLE r2 (a INT)');
  await x('INSERT INTO r2 VALUES (1)');
  await x('REPLACE TABLE r2 AS SELECT 5 AS a');
  assert.deepEqual((await rows('DESCRIBE HISTORY r2 LIMIT 1'))[0][4], 'REPLACE TABLE AS SELECT');
  assert.deepEqual(await rows('SELECT a FROM r2'), [[5]]);
  assert.equal(await errClass(x('CREATE OR REPLACE TABLE r2 AS SELECT 1 / 0 AS a')), 'DIVIDE_BY_ZERO');
  assert.deepEqual(await rows('SELECT a FROM r2'), [[5]]);
  assert.equal((await rows('DESCRIBE HISTORY r2')).length, 3);
  assert.equal(await errClass(x('CREATE OR REPLACE SCHEMA s9')), 'PARSE_SYNTAX_ERROR');
  assert.equal(await errClass(x('CREATE OR REPLACE TABLE r3 (a INT) USING PARQUET')), 'UNSUPPORTED_FEATURE');
  // CREATE OR REPLACE of a missing table is a plain CREATE TABLE.
  await x('CREATE OR REPLACE TABLE r4 AS SELECT 1 AS a');
  assert.equal((await rows('DESCRIBE HISTORY r4'))[0][4], 'CREATE TABLE AS SELECT');
});

test('date and time built-ins: epoch conversions, parsing with patterns, arithmetic, intervals', async () => {
  assert.deepEqual(await one("SELECT timestamp_seconds(1700000000), timestamp_millis(1700000000123), CAST(1700000000 AS TIMESTAMP), CAST(NULL AS TIMESTAMP), to_timestamp('31/01/2024 10:11', 'dd/MM/yyyy HH:mm')"),
    ['2023-11-14T22:13:20Z', '2023-11-14T22:13:20.123Z', '2023-11-14T22:13:20Z', null, '2024-01-31T10:11:00Z']);
  assert.deepEqual(await one("SELECT unix_timestamp('2024-01-31 10:00:00'), unix_timestamp(TIMESTAMP '2024-01-31 10:00:00.7'), from_unixtime(0), from_unixtime(86400, 'yyyy/MM/dd'), to_date('2024-01-31'), to_date('31.01.2024', 'dd.MM.yyyy')"),
    [1706695200n, 1706695200n, '1970-01-01 00:00:00', '1970/01/02', '2024-01-31', '2024-01-31']);
  assert.equal(await errClass(x("SELECT to_timestamp('junk', 'yyyy-MM-dd')")), 'CANNOT_PARSE_TIMESTAMP');
  const r = await x("SELECT date_add('2024-01-31', 1), date_sub(DATE '2024-03-01', 1), dateadd(DAY, 1, TIMESTAMP '2024-01-31 10:00:00'), timestampadd(MONTH, 1, TIMESTAMP '2024-01-31 10:00:00'), datediff('2024-03-01', '2024-01-31'), timestampdiff(HOUR, TIMESTAMP '2024-01-01 00:59:00', TIMESTAMP '2024-01-01 01:00:00'), dayofweek('2024-01-07'), date_add(NULL, 1)");
  assert.deepEqual(r.rows[0], ['2024-02-01', '2024-02-29', '2024-02-01T10:00:00Z', '2024-02-29T10:00:00Z', 30, 0n, 1, null]);
  assert.deepEqual(r.columns.map((c) => c.type_text), ['DATE', 'DATE', 'TIMESTAMP', 'TIMESTAMP', 'INT', 'BIGINT', 'INT', 'DATE']);
  assert.equal(await errClass(x("SELECT timestampadd(FORTNIGHT, 1, TIMESTAMP '2024-01-01 00:00:00')")), 'INVALID_PARAMETER_VALUE.DATETIME_UNIT');
  assert.deepEqual(await one("SELECT make_dt_interval(1, 2, 3, 4.5), make_ym_interval(1, 2), INTERVAL '1-2' YEAR TO MONTH, INTERVAL '-1 02:03:04.5' DAY TO SECOND, INTERVAL '02:03' HOUR TO MINUTE, make_dt_interval(NULL)"),
    ['1 02:03:04.500000000', '1-2', '1-2', '-1 02:03:04.500000000', '0 02:03:00.000000000', null]);
  assert.equal(await errClass(x("SELECT INTERVAL '1-13' YEAR TO MONTH")), 'INVALID_INTERVAL_FORMAT.UNMATCHED_FORMAT_STRING');
});

test('collection, JSON and pattern built-ins follow Databricks semantics', async () => {
  assert.deepEqual(await one("SELECT element_at(array(1, 2, 3), 1), element_at(array(1, 2, 3), -1), element_at(map('a', 1), 'a'), element_at(map('a', 1), 'b'), try_element_at(array(1), 5)"), [1, 3, 1, null, null]);
  assert.equal(await errClass(x('SELECT element_at(array(1, 2, 3), 4)')), 'INVALID_ARRAY_INDEX_IN_ELEMENT_AT');
  assert.equal(await errClass(x('SELECT element_at(array(1, 2, 3), 0)')), 'INVALID_INDEX_OF_ZERO');
  assert.deepEqual(await one('SELECT array_contains(array(1, 2), 2), array_contains(array(1), 2), array_contains(array(1, NULL), 2), array_contains(NULL, 1)'), [true, false, null, null]);
  await x('CREATE TABLE coll (g INT, v STRING)');
  await x("INSERT INTO coll VALUES (1, 'a'), (1, NULL), (1, 'a'), (2, NULL)");
  assert.deepEqual(await rows('SELECT g, collect_list(v), collect_set(v) FROM coll GROUP BY g ORDER BY g'), [[1, '["a","a"]', '["a"]'], [2, '[]', '[]']]);
  const ex = await x('SELECT explode(array(10, 20)), 1 AS k');
  assert.deepEqual([ex.columns.map((c) => c.name), ex.rows], [['col', 'k'], [[10, 1], [20, 1]]]);
  assert.equal(await errClass(x("SELECT explode(map('a', 1))")), 'UNSUPPORTED_FEATURE');
  assert.deepEqual(await one(`SELECT from_json('{"a": 1, "c": [1]}', 'a INT, b STRING'), from_json('not json', 'a INT'), get_json_object('{"a": {"b": "x"}}', '$.a.b')`), ['{"a":1,"b":null}', null, 'x']);
  assert.deepEqual(await one("SELECT regexp_replace('aaa', 'a', 'b'), regexp_extract('x12y', '([a-z])([0-9]+)'), split('a1b22c', '[0-9]+')"), ['bbb', 'x', '["a","b","c"]']);
});
