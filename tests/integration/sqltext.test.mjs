// The write statements of sqlgen.c run for real: build/unit/sqltext prints
// them (CREATE TABLE, ALTER TABLE ADD COLUMNS, COPY INTO, merge stage
// tables, MERGE) for each case, the extension's dbx_exec() sends them to
// dbx-local, and the remote side is checked: columns and types, the change
// feed property, rows loaded from a Parquet file uploaded to a volume,
// a repeated COPY INTO loading nothing, MERGE upserting and deleting by
// version, and hostile names creating exactly the objects asked for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { workspace, EXT } from './harness.mjs';

const SQLTEXT = path.join(path.dirname(EXT), 'unit', 'sqltext');
// DuckDB writes the Parquet files; it is installed for dbx-local.
const requireLocal = createRequire(new URL('../dbx-local/package.json', import.meta.url));
const { DuckDBInstance } = await import(pathToFileURL(requireLocal.resolve('@duckdb/node-api')).href);

let ws, tmp;
before(async () => {
  assert.ok(existsSync(SQLTEXT), `${SQLTEXT} is missing: build it with make unit`);
  ws = await workspace();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-sqltext-'));
  await ws.sql('CREATE VOLUME main.default.stage');
});
after(async () => {
  await ws?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// The builders' answers for a list of cases: [{sql} | {error}].
function built(cases) {
  return JSON.parse(execFileSync(SQLTEXT, { input: JSON.stringify(cases) }).toString());
}

// The statement of one case; fails the test on a refusal.
function stmt(c) {
  const [r] = built([c]);
  assert.ok(r.sql, `refused: ${r.error}`);
  return r.sql;
}

// Runs one statement through the extension's dbx_exec(); returns its JSON.
async function exec(sql) {
  const rows = await ws.query(`SELECT dbx_exec('${sql.replaceAll("'", "''")}') AS r;`);
  return JSON.parse(rows[0].r);
}

// [name, full_data_type] of each column of table c.s.t, in order.
async function columns(c, s, t) {
  const r = await ws.sql(
    'SELECT column_name, full_data_type FROM system.information_schema.columns ' +
      'WHERE table_catalog = :c AND table_schema = :s AND table_name = :t ORDER BY ordinal_position',
    [{ name: 'c', value: c }, { name: 's', value: s }, { name: 't', value: t }]);
  return r.result?.data_array ?? [];
}

// Every table name in schema c.s.
async function tables(c, s) {
  const r = await ws.sql(
    'SELECT table_name FROM system.information_schema.tables WHERE table_catalog = :c AND table_schema = :s ORDER BY 1',
    [{ name: 'c', value: c }, { name: 's', value: s }]);
  return (r.result?.data_array ?? []).map((x) => x[0]);
}

// Rows of a remote query as arrays of text (as JSON_ARRAY sends them).
async function remote(sql) {
  return (await ws.sql(sql)).result?.data_array ?? [];
}

// Writes selectSql to a Parquet file with DuckDB and uploads it to the
// volume main.default.stage at relPath with a plain Files API PUT.
async function stageParquet(relPath, selectSql) {
  const file = path.join(tmp, relPath.replaceAll('/', '_'));
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run(`COPY (${selectSql}) TO '${file}' (FORMAT PARQUET)`);
  c.closeSync();
  inst.closeSync();
  const put = await ws.api('PUT', `/api/2.0/fs/files/Volumes/main/default/stage/${relPath}?overwrite=true`,
    new Uint8Array(await readFile(file)), { 'Content-Type': 'application/octet-stream' });
  assert.equal(put.status, 204, JSON.stringify(put.body));
}

test('CREATE TABLE makes exactly the columns and types asked for, with the change feed when asked', async () => {
  const cols = [['id', 'BIGINT'], ['props', 'VARIANT'], ['amount', 'DECIMAL(10,2)'], ['at', 'TIMESTAMP'],
    ['tags', 'ARRAY<STRING>'], ['ok', 'BOOLEAN'], ['day', 'DATE'], ['ratio', 'DOUBLE']];
  const sql = stmt({ op: 'create', table: 'main.default.ev', columns: cols, cdf: true });
  assert.equal((await exec(sql)).state, 'SUCCEEDED');
  assert.deepEqual(await columns('main', 'default', 'ev'), cols.map(([n, t]) => [n, t.toLowerCase()]));
  const t = await ws.api('GET', '/api/2.1/unity-catalog/tables/main.default.ev');
  assert.equal(t.body.properties['delta.enableChangeDataFeed'], 'true');
  assert.equal(t.body.data_source_format, 'DELTA');
  // IF NOT EXISTS: a second run changes nothing
  assert.equal((await exec(sql)).state, 'SUCCEEDED');
  assert.equal((await columns('main', 'default', 'ev')).length, cols.length);
  // without cdf no property
  await exec(stmt({ op: 'create', table: 'main.default.plain', columns: [['a', 'INT']] }));
  const p = await ws.api('GET', '/api/2.1/unity-catalog/tables/main.default.plain');
  assert.notEqual(p.body.properties?.['delta.enableChangeDataFeed'], 'true');
});

test('ALTER TABLE ADD COLUMNS appends the new columns', async () => {
  await exec(stmt({ op: 'create', table: 'main.default.grow', columns: [['id', 'BIGINT']] }));
  await exec(stmt({ op: 'add_columns', table: 'main.default.grow', columns: [['note', 'STRING'], ['m', 'MAP<STRING, BIGINT>']] }));
  assert.deepEqual(await columns('main', 'default', 'grow'), [['id', 'bigint'], ['note', 'string'], ['m', 'map<string, bigint>']]);
});

test('hostile names create exactly the intended objects', async () => {
  // Unity Catalog keeps schema and table names in lower case, column
  // names as written; its names may not hold '.', ' ' or '/'
  const schema = "s`;drop_schema_default;--";
  const table = "t'\\\";drop_table_ev;--*é";
  const cols = [['a`b', 'STRING'], ["x'); DROP TABLE t; --", 'INT'], ['new\nline', 'BIGINT'],
    ['back\\slash', 'DOUBLE'], ['été 東京 🙂', 'DATE'], ['-- c', 'STRING'], ['/* c */', 'STRING'], ['a;b', 'STRING']];
  // a name Unity Catalog refuses is refused, not cut at its dot
  const dotted = await ws.fail(`SELECT dbx_exec('${stmt({ op: 'create', table: 'main.default.`a.b`', columns: cols }).replaceAll("'", "''")}');`);
  assert.match(dotted, /INVALID_SCHEMA_OR_RELATION_NAME/);
  const before = await tables('main', 'default');
  const q = (s) => '`' + s.replaceAll('`', '``') + '`';
  await ws.sql(`CREATE SCHEMA main.${q(schema)}`);
  const sql = stmt({ op: 'create', table: `main.${q(schema)}.${q(table)}`, columns: cols, cdf: true });
  assert.equal((await exec(sql)).state, 'SUCCEEDED');
  assert.deepEqual(await tables('main', schema), [table]);
  assert.deepEqual(await columns('main', schema, table), cols.map(([n, t]) => [n, t.toLowerCase()]));
  // nothing else was created or dropped
  assert.deepEqual(await tables('main', 'default'), before);
  // ALTER, stage, MERGE and DROP on the same hostile names
  await exec(stmt({ op: 'add_columns', table: `main.${q(schema)}.${q(table)}`, columns: [["it's", 'BIGINT']] }));
  assert.deepEqual((await columns('main', schema, table)).at(-1), ["it's", 'bigint']);
  const stage = { table: `main.${q(schema)}.${q(table)}`, suffix: 'h1' };
  await exec(stmt({ op: 'create_stage', ...stage, columns: cols.slice(0, 2) }));
  assert.deepEqual(await tables('main', schema), [table, `${table}__dbx_stage_h1`].sort());
  await ws.sql(`INSERT INTO main.${q(schema)}.${q(table + '__dbx_stage_h1')} VALUES ('k1', 7, 'upsert')`);
  const m = await exec(stmt({ op: 'merge', ...stage, columns: cols.slice(0, 2), keys: ['a`b'], versions: [] }));
  assert.equal(m.num_inserted_rows, 1);
  assert.deepEqual(await remote(`SELECT ${q('a`b')}, ${q(cols[1][0])} FROM main.${q(schema)}.${q(table)}`), [['k1', '7']]);
  await exec(stmt({ op: 'drop_stage', ...stage }));
  assert.deepEqual(await tables('main', schema), [table]);
});

test('COPY INTO loads a staged Parquet file once, casting each column and parsing VARIANT', async () => {
  const cols = [['id', 'BIGINT'], ['props', 'VARIANT'], ['amount', 'DECIMAL(10,2)'], ['at', 'TIMESTAMP'], ['name', 'STRING']];
  await exec(stmt({ op: 'create', table: 'main.default.loads', columns: cols }));
  // Parquet types differ from the table's: INT32 id, text amount and time, JSON text props
  await stageParquet('c1/part-0.parquet', `SELECT * FROM (VALUES
    (1::INTEGER, '{"k": [1, 2]}', '12.50', '2024-05-01 10:00:00', 'it''s'),
    (2, NULL, '0.01', '2024-05-02 00:00:00', 'back\\slash'),
    (3, '"s"', '-3', NULL, NULL)) AS v(id, props, amount, "at", name)`);
  const copy = { op: 'copy_into', table: 'main.default.loads', columns: cols, dir: '/Volumes/main/default/stage/c1', files: ['part-0.parquet'] };
  const sql = stmt(copy);
  assert.doesNotMatch(sql, /force/i);
  const r1 = await exec(sql);
  assert.equal(r1.num_inserted_rows, 3);
  assert.deepEqual(await remote('SELECT id, to_json(props), amount, at, name FROM main.default.loads ORDER BY id'), [
    ['1', '{"k":[1,2]}', '12.50', '2024-05-01T10:00:00Z', "it's"],
    ['2', null, '0.01', '2024-05-02T00:00:00Z', 'back\\slash'],
    ['3', '"s"', '-3.00', null, null],
  ]);
  // the same statement again: the file was loaded, nothing is
  const r2 = await exec(sql);
  assert.equal(r2.num_inserted_rows, 0);
  assert.deepEqual(await remote('SELECT count(*) FROM main.default.loads'), [['3']]);
  // invalid JSON for a VARIANT column fails the load and loads nothing
  await stageParquet('c2/bad.parquet', `SELECT 9::BIGINT AS id, '{not json' AS props, '1' AS amount, NULL AS "at", 'x' AS name`);
  const bad = await ws.fail(`SELECT dbx_exec('${stmt({ ...copy, dir: '/Volumes/main/default/stage/c2/', files: ['bad.parquet'] }).replaceAll("'", "''")}');`);
  assert.match(bad, /databricks: /);
  assert.deepEqual(await remote('SELECT count(*) FROM main.default.loads'), [['3']]);
  // mergeSchema lets a column the target lacks be added by the load
  await stageParquet('c3/p.parquet', `SELECT 4::BIGINT AS id, 'new' AS extra`);
  const r3 = await exec(stmt({ op: 'copy_into', table: 'main.default.loads', columns: [['id', 'BIGINT'], ['extra', 'STRING']],
    dir: '/Volumes/main/default/stage/c3/', files: ['p.parquet'], merge_schema: true }));
  assert.equal(r3.num_inserted_rows, 1);
  assert.deepEqual((await columns('main', 'default', 'loads')).at(-1), ['extra', 'string']);
});

test('the builders refuse what cannot be sent', () => {
  const cols = [['id', 'BIGINT']];
  const many = Array.from({ length: 1001 }, (_, i) => `f${i}.parquet`);
  const out = built([
    { op: 'copy_into', table: 't', columns: cols, dir: '/Volumes/c/s/v', files: many },
    { op: 'copy_into', table: 't', columns: cols, dir: '/Volumes/c/s/v', files: many.slice(0, 1000) },
    { op: 'copy_into', table: 't', columns: cols, dir: '/Volumes/c/s/v', files: ['../../etc/passwd'] },
    { op: 'copy_into', table: 't', columns: cols, dir: 'dbfs:/tmp', files: ['a'] },
    { op: 'create', table: 't', columns: [['a', 'INT) USING CSV --']] },
    { op: 'create', table: 't', columns_text: 'a INT, b STRING; DROP TABLE x' },
    { op: 'create', table: 'a.b.c.d', columns: cols },
    { op: 'create_stage', table: 't', suffix: "x'; DROP", columns: cols },
    { op: 'merge', table: 't', suffix: 'x', columns: cols, keys: [], versions: [] },
  ]);
  assert.match(out[0].error, /COPY INTO takes 1 to 1000 files, not 1001/);
  assert.match(out[1].sql, /'f999\.parquet'\)$/);
  assert.match(out[2].error, /not a path inside the staging directory/);
  assert.match(out[3].error, /is not a \/Volumes\//);
  assert.match(out[4].error, /unsupported column type/);
  assert.match(out[5].error, /unsupported column type/);
  assert.match(out[6].error, /bad table name/);
  assert.match(out[7].error, /bad stage suffix/);
  assert.match(out[8].error, /set merge_keys/);
});

test('MERGE through a stage upserts by version, deletes, fills added columns, and is idempotent', async () => {
  const cols = [['team_id', 'BIGINT'], ['distinct_id', 'STRING'], ['person_id', 'STRING'], ['properties', 'VARIANT'],
    ['person_version', 'BIGINT'], ['person_distinct_id_version', 'BIGINT']];
  const T = 'main.default.persons';
  await exec(stmt({ op: 'create', table: T, columns: cols }));
  await ws.sql(`INSERT INTO ${T} VALUES
    (1, 'a', 'p-a', parse_json('{"v":1}'), 5, 5),
    (1, 'b', 'p-b', parse_json('{"v":1}'), 5, 5),
    (1, 'c', 'p-c', parse_json('{"v":1}'), 5, 5),
    (1, 'd', 'p-d', parse_json('{"v":1}'), NULL, NULL),
    (1, 'e', 'p-e', parse_json('{"v":1}'), 5, 5),
    (NULL, 'n', 'p-n', parse_json('{"v":1}'), 1, 1),
    (1, 'z', 'p-z', parse_json('{"v":1}'), 5, 5)`);
  // the batch, with one more column than the target has
  const stageCols = [...cols, ['email', 'STRING']];
  const stage = { table: T, suffix: 'c1' };
  await exec(stmt({ op: 'create_stage', ...stage, columns: stageCols }));
  assert.deepEqual((await columns('main', 'default', 'persons__dbx_stage_c1')).map((x) => x[0]), [...stageCols.map((x) => x[0]), '_dbx_op']);
  await stageParquet('m1/part-0.parquet', `SELECT * FROM (VALUES
    (1, 'a', 'p-a2', '{"v":2}', 6, 5, 'a@x', 'upsert'),
    (1, 'b', 'p-b2', '{"v":2}', 5, 5, 'b@x', 'upsert'),
    (1, 'c', 'p-c2', '{"v":2}', 4, 6, 'c@x', 'upsert'),
    (1, 'd', 'p-d2', '{"v":2}', 1, NULL, 'd@x', 'upsert'),
    (1, 'e', 'p-e2', '{"v":2}', NULL, NULL, 'e@x', 'upsert'),
    (NULL, 'n', 'p-n2', '{"v":2}', 2, 1, 'n@x', 'upsert'),
    (1, 'z', NULL, NULL, 9, 9, NULL, 'delete'),
    (1, 'gone', NULL, NULL, 1, 1, NULL, 'delete'),
    (2, 'new', 'p-new', '{"v":1}', 1, 1, 'new@x', 'upsert'))
    AS v(team_id, distinct_id, person_id, properties, person_version, person_distinct_id_version, email, _dbx_op)`);
  const load = await exec(stmt({ op: 'copy_into', table: `${T}__dbx_stage_c1`, columns: [...stageCols, ['_dbx_op', 'STRING']],
    dir: '/Volumes/main/default/stage/m1/', files: ['part-0.parquet'] }));
  assert.equal(load.num_inserted_rows, 9);
  // the caller adds missing columns first
  await exec(stmt({ op: 'add_columns', table: T, columns: [['email', 'STRING']] }));
  const mergeSql = stmt({ op: 'merge', ...stage, columns: stageCols, keys: ['team_id', 'distinct_id'],
    versions: ['person_version', 'person_distinct_id_version'] });
  const m1 = await exec(mergeSql);
  assert.equal(m1.num_updated_rows, 4);
  assert.equal(m1.num_deleted_rows, 1);
  assert.equal(m1.num_inserted_rows, 1);
  const state = () => remote(`SELECT team_id, distinct_id, person_id, to_json(properties), person_version,
    person_distinct_id_version, email FROM ${T} ORDER BY distinct_id`);
  const want = [
    ['1', 'a', 'p-a2', '{"v":2}', '6', '5', 'a@x'], // person_version went up
    ['1', 'b', 'p-b', '{"v":1}', '5', '5', null], // equal versions: unchanged
    ['1', 'c', 'p-c2', '{"v":2}', '4', '6', 'c@x'], // the other version went up
    ['1', 'd', 'p-d2', '{"v":2}', '1', null, 'd@x'], // a NULL target version loses
    ['1', 'e', 'p-e', '{"v":1}', '5', '5', null], // an incoming NULL version wins nothing
    [null, 'n', 'p-n2', '{"v":2}', '2', '1', 'n@x'], // a NULL key matched its row
    ['2', 'new', 'p-new', '{"v":1}', '1', '1', 'new@x'], // inserted; 'gone' was not
  ];
  assert.deepEqual(await state(), want);
  // the op column never reaches the target
  assert.ok(!(await columns('main', 'default', 'persons')).some(([n]) => n === '_dbx_op'));
  // the same batch again changes nothing
  const m2 = await exec(mergeSql);
  assert.equal(m2.num_affected_rows, 0);
  assert.deepEqual(await state(), want);
  await exec(stmt({ op: 'drop_stage', ...stage }));
  assert.ok(!(await tables('main', 'default')).includes('persons__dbx_stage_c1'));
  // dropping again is not an error
  assert.equal((await exec(stmt({ op: 'drop_stage', ...stage }))).state, 'SUCCEEDED');
});
