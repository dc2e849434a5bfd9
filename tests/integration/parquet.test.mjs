// dbx_parquet(): files written from SQLite and read back by DuckDB, every
// value compared with its source; the footer checked through DuckDB's
// parquet_metadata() / parquet_schema(); errors leave no file behind; a
// randomized round trip over fixed seeds; and a staged file loaded by
// dbx-local's COPY INTO, VARIANT included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { runShell, parseResultSets, workspace } from './harness.mjs';

// DuckDB comes with dbx-local.
const require = createRequire(new URL('../dbx-local/package.json', import.meta.url));
const { DuckDBInstance } = await import(require.resolve('@duckdb/node-api'));

let tmp, duck;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-parquet-'));
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  await duck.run("SET TimeZone = 'UTC'");
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const q = (s) => `'${String(s).replaceAll("'", "''")}'`;

// Runs a script in the shell; returns the last result set or throws.
async function sqlite(script, db = ':memory:') {
  const r = await runShell(script, { db });
  if (r.code !== 0) throw new Error(r.stderr.trim());
  const sets = parseResultSets(r.stdout);
  return sets.length ? sets[sets.length - 1] : [];
}

// dbx_parquet() over a script's table; returns the parsed report.
async function write(setup, query, file, options) {
  const opt = options === undefined ? '' : `, ${q(JSON.stringify(options))}`;
  const rows = await sqlite(`${setup}\nSELECT dbx_parquet(${q(query)}, ${q(file)}${opt}) AS r;`);
  return JSON.parse(rows[0].r);
}

// The error text of a write expected to fail.
async function writeFails(setup, query, file, options) {
  const opt = options === undefined ? '' : `, ${q(JSON.stringify(options))}`;
  const r = await runShell(`${setup}\nSELECT dbx_parquet(${q(query)}, ${q(file)}${opt});`);
  assert.notEqual(r.code, 0, `expected an error, got ${r.stdout}`);
  return r.stderr.trim();
}

async function duckRows(sql) {
  return (await duck.runAndReadAll(sql)).getRowObjects();
}

// ---------------------------------------------------------------- every type

// One column per type; each row a [sql literal, expected] per column.
const SCHEMA = [
  ['b', 'BOOLEAN', 'b::VARCHAR'],
  ['ti', 'TINYINT', 'ti::VARCHAR'],
  ['si', 'SMALLINT', 'si::VARCHAR'],
  ['i', 'INT', 'i::VARCHAR'],
  ['bi', 'BIGINT', 'bi::VARCHAR'],
  ['f', 'FLOAT', 'f'],
  ['d', 'DOUBLE', 'd'],
  ['d1', 'DECIMAL(5,2)', 'd1::VARCHAR'],
  ['d2', 'DECIMAL(18,4)', 'd2::VARCHAR'],
  ['d3', 'DECIMAL(38,10)', 'd3::VARCHAR'],
  ['d4', 'DECIMAL(38,0)', 'd4::VARCHAR'],
  ['dt', 'DATE', "date_diff('day', DATE '1970-01-01', dt)::VARCHAR"],
  ['ts', 'TIMESTAMP', 'epoch_us(ts)::VARCHAR'],
  ['tn', 'TIMESTAMP_NTZ', 'epoch_us(tn)::VARCHAR'],
  ['s', 'STRING', 's'],
  ['bin', 'BINARY', 'hex(bin)'],
  ['v', 'VARIANT', 'v::VARCHAR'],
  ['inf', 'DOUBLE', 'inf'],
];
const N38 = '9'.repeat(38);
const ROWS = [
  // b, ti, si, i, bi, f, d, d1, d2, d3, d4, dt, ts, tn, s, bin, v
  [['1', 'true'], ['127', '127'], ['32767', '32767'], ['2147483647', '2147483647'],
    ['9223372036854775807', '9223372036854775807'], ['1.5', 1.5], ['1.7976931348623157e308', 1.7976931348623157e308],
    ["'999.99'", '999.99'], ["'99999999999999.9999'", '99999999999999.9999'],
    [`'${'9'.repeat(28)}.${'9'.repeat(10)}'`, `${'9'.repeat(28)}.${'9'.repeat(10)}`], [`'${N38}'`, N38],
    ["'9999-12-31'", '2932896'], ["'2262-04-12 00:00:00.000001'", '9223372800000001'],
    ["'2024-02-29T12:34:56.789012'", '1709210096789012'], ["'héllo ✓ 😀'", 'héllo ✓ 😀'],
    ["x'00ff10'", '00FF10'], [`'{"a":[1,2,{"b":null}],"c":"x"}'`, '{"a":[1,2,{"b":null}],"c":"x"}'], ["'-Infinity'", -Infinity]],
  [["'false'", 'false'], ['-128', '-128'], ['-32768', '-32768'], ['-2147483648', '-2147483648'],
    ['-9223372036854775808', '-9223372036854775808'], ['-2.5', -2.5], ['-0.0', -0],
    ["'-999.99'", '-999.99'], ['-1.5', '-1.5000'],
    [`'-${'9'.repeat(28)}.${'9'.repeat(10)}'`, `-${'9'.repeat(28)}.${'9'.repeat(10)}`], [`'-${N38}'`, `-${N38}`],
    ["'0001-01-01'", '-719162'], ["'1900-01-01 00:00:00+02:00'", '-2208996000000000'],
    ["'1969-12-31 23:59:59.999999'", '-1'], ["''", ''], ["x''", ''], ["'[]'", '[]'], ["'Infinity'", Infinity]],
  [['0', 'false'], ['0', '0'], ['0', '0'], ['0', '0'], ['0', '0'], ["'NaN'", NaN], ["'NaN'", NaN],
    ['0', '0.00'], ['0.00005', '0.0001'], ["'1e-10'", '0.0000000001'], ['0', '0'],
    ["'1970-01-01'", '0'], ['0', '0'], ["'1970-01-01'", '0'], ["'a''b\"c\\'", 'a\'b"c\\'],
    ["'text'", '74657874'], ['42', '42'], ['1e308', 1e308]],
  [['NULL', null], ['NULL', null], ['NULL', null], ['NULL', null], ['NULL', null], ['NULL', null],
    ['NULL', null], ['NULL', null], ['NULL', null], ['NULL', null], ['NULL', null], ['NULL', null],
    ['NULL', null], ['NULL', null], ['NULL', null], ['NULL', null], ['NULL', null], ['NULL', null]],
  [['1', 'true'], ['-1', '-1'], ['1000', '1000'], ['123456', '123456'], ['-5', '-5'], ['3.4028234663852886e38', 3.4028234663852886e38],
    ['5e-324', 5e-324], ['1.005', '1.01'], ["'  12.5  '", '12.5000'], ['-0.00000000005', '-0.0000000001'],
    ["'1e37'", '1' + '0'.repeat(37)], ["'1969-07-20'", '-165'], ['1700000000', '1700000000000000'],
    ["'2024-01-01 10:00:00-05:30'", '1704103200000000'], ['12.5', '12.5'], ["x'00'", '00'], ['1.25', '1.25'], ['-1e308', -1e308]],
];
const setupAll = () => `CREATE TABLE t (${SCHEMA.map(([n]) => n).join(', ')});\n` +
  ROWS.map((r) => `INSERT INTO t VALUES (${r.map(([lit]) => lit).join(', ')});`).join('\n');
const schemaText = SCHEMA.map(([n, t]) => `${n} ${t}`).join(', ');

function sameValue(actual, expected, where) {
  if (typeof expected === 'number') {
    if (Number.isNaN(expected)) return assert.ok(Number.isNaN(actual), `${where}: ${actual} is not NaN`);
    return assert.ok(Object.is(actual, expected), `${where}: ${actual} !== ${expected}`);
  }
  assert.equal(actual, expected, where);
}

test('every type round-trips through DuckDB, NULLs and extremes included', async () => {
  const file = path.join(tmp, 'all.parquet');
  const rep = await write(setupAll(), 'SELECT * FROM t', file, { schema: schemaText });
  assert.equal(rep.rows, ROWS.length);
  assert.equal(rep.files, 1);
  assert.deepEqual(rep.paths, [file]);
  assert.equal(rep.bytes, (await stat(file)).size);
  const got = await duckRows(`SELECT ${SCHEMA.map(([n, , e]) => `${e} AS ${n}`).join(', ')} FROM '${file}'`);
  assert.equal(got.length, ROWS.length);
  got.forEach((row, r) => SCHEMA.forEach(([n], c) => sameValue(row[n], ROWS[r][c][1], `row ${r + 1} ${n}`)));
});

test('the footer: physical and logical types, repetition, statistics, created_by', async () => {
  const file = path.join(tmp, 'meta.parquet');
  const setup = `${setupAll()}\nCREATE TABLE u (id INTEGER NOT NULL, name TEXT);
    INSERT INTO u VALUES (1, 'b'), (2, NULL), (3, 'ab'), (4, 'é'), (5, 'B');`;
  await write(setup, 'SELECT * FROM t', file, { schema: schemaText });
  const schema = Object.fromEntries((await duckRows(`SELECT name, type, type_length, repetition_type, converted_type, logical_type, scale, precision FROM parquet_schema('${file}')`)).map((r) => [r.name, r]));
  const expect = {
    b: ['BOOLEAN', null, null], ti: ['INT32', 'INT_8', 'IntType(bitWidth=\x08, isSigned=1)'], // DuckDB prints the i8 as a character
    si: ['INT32', 'INT_16', 'IntType(bitWidth=\x10, isSigned=1)'], i: ['INT32', null, null], bi: ['INT64', null, null],
    f: ['FLOAT', null, null], d: ['DOUBLE', null, null], d1: ['INT32', 'DECIMAL', 'DecimalType(scale=2, precision=5)'],
    d2: ['INT64', 'DECIMAL', 'DecimalType(scale=4, precision=18)'], d3: ['FIXED_LEN_BYTE_ARRAY', 'DECIMAL', 'DecimalType(scale=10, precision=38)'],
    dt: ['INT32', 'DATE', 'DateType()'], s: ['BYTE_ARRAY', 'UTF8', 'StringType()'], bin: ['BYTE_ARRAY', null, null],
    v: ['BYTE_ARRAY', 'JSON', 'JsonType()'], ts: ['INT64', 'TIMESTAMP_MICROS', null], tn: ['INT64', null, null],
  };
  for (const [n, [type, conv, logical]] of Object.entries(expect)) {
    assert.equal(schema[n].type, type, n);
    assert.equal(schema[n].converted_type, conv, n);
    if (logical) assert.equal(schema[n].logical_type, logical, n);
    assert.equal(schema[n].repetition_type, 'OPTIONAL', n);
  }
  assert.equal(schema.d3.type_length, '16');
  assert.match(schema.ts.logical_type, /isAdjustedToUTC=1.*MICROS=MicroSeconds/);
  assert.match(schema.tn.logical_type, /isAdjustedToUTC=0.*MICROS=MicroSeconds/);
  const [fm] = await duckRows(`SELECT created_by, num_rows FROM parquet_file_metadata('${file}')`);
  const [ver] = await sqlite('SELECT dbx_version() AS v;');
  assert.equal(fm.created_by, `sqlite-databricks version ${/^sqlite-databricks (\S+)/.exec(ver.v)[1]}`);
  assert.equal(fm.num_rows, BigInt(ROWS.length));

  const meta = Object.fromEntries((await duckRows(`SELECT path_in_schema AS n, compression, encodings, stats_min_value AS lo, stats_max_value AS hi, stats_null_count AS nulls FROM parquet_metadata('${file}')`)).map((r) => [r.n, r]));
  assert.equal(meta.bi.compression, 'ZSTD');
  assert.deepEqual([meta.bi.lo, meta.bi.hi], ['-9223372036854775808', '9223372036854775807']);
  assert.deepEqual([meta.ti.lo, meta.ti.hi], ['-128', '127']);
  assert.equal(meta.bi.nulls, 1n);
  // NaN is left out of float statistics; a zero min is -0.0, a zero max +0.0
  assert.deepEqual([meta.f.lo, meta.f.hi], ['-2.5', '3.4028235e+38']);
  assert.deepEqual([meta.d.lo, meta.d.hi], ['-0.0', '1.7976931348623157e+308']);
  assert.deepEqual([meta.dt.lo, meta.dt.hi], ['0001-01-01', '9999-12-31']);
  assert.deepEqual([meta.d1.lo, meta.d1.hi], ['-999.99', '999.99']);
  assert.deepEqual([meta.d4.lo, meta.d4.hi], [`-${N38}`, N38]);
  // strings: unsigned byte order ('' < 'a''b..' < '12.5' ... < 'héllo')
  assert.deepEqual([meta.s.lo, meta.s.hi], ['', 'héllo ✓ 😀']);

  // REQUIRED for NOT NULL; a column of NULLs only has no min/max
  const f2 = path.join(tmp, 'req.parquet');
  await write(setup, 'SELECT id, name, NULL AS empty FROM u', f2, { schema: 'id BIGINT NOT NULL, name STRING, empty INT' });
  const rep2 = Object.fromEntries((await duckRows(`SELECT name, repetition_type FROM parquet_schema('${f2}')`)).map((r) => [r.name, r.repetition_type]));
  assert.equal(rep2.id, 'REQUIRED');
  assert.equal(rep2.name, 'OPTIONAL');
  const m2 = Object.fromEntries((await duckRows(`SELECT path_in_schema AS n, stats_min_value AS lo, stats_max_value AS hi, stats_null_count AS nulls FROM parquet_metadata('${f2}')`)).map((r) => [r.n, r]));
  assert.deepEqual([m2.empty.lo, m2.empty.hi, m2.empty.nulls], [null, null, 5n]);
  assert.deepEqual([m2.name.lo, m2.name.hi], ['B', 'é']); // 'B' < 'ab' < 'b' < 'é' in bytes
});

test('types from declared column types and from values', async () => {
  const file = path.join(tmp, 'infer.parquet');
  await write(`CREATE TABLE e (a INTEGER, b REAL, c TEXT, d BLOB, e TIMESTAMP, f DATE, g DECIMAL(10,2), h VARIANT, k, m NUMERIC);
    INSERT INTO e VALUES (5000000000, 1.5, 'x', x'01', '2024-01-01 00:00:00', '2024-01-02', '1.25', '{"a":1}', 1, 2);
    INSERT INTO e VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 2.5, 'two');`,
  'SELECT *, 1 AS lit, NULL AS nul FROM e', file);
  const types = Object.fromEntries((await duckRows(`SELECT column_name AS n, column_type AS t FROM (DESCRIBE SELECT * FROM '${file}')`)).map((r) => [r.n, r.t]));
  assert.deepEqual(types, {
    a: 'BIGINT', b: 'DOUBLE', c: 'VARCHAR', d: 'BLOB', e: 'TIMESTAMP WITH TIME ZONE', f: 'DATE',
    g: 'DECIMAL(10,2)', h: 'JSON', k: 'DOUBLE', m: 'VARCHAR', lit: 'BIGINT', nul: 'VARCHAR',
  });
});

test('columns typed by the rows read ahead: every row in order around the first 100', async () => {
  // an expression has no declared type: the first 100 rows decide it, are
  // kept aside, and written before the rows after them
  for (const n of [0, 1, 99, 100, 101, 2345]) {
    const file = path.join(tmp, `ahead-${n}.parquet`);
    const r = await write('', `SELECT value * 3 AS a, CASE WHEN value % 2 = 1 THEN 'odd ' || value END AS b,
        value + 0.5 AS c FROM generate_series(1, ${n}) ORDER BY value DESC`, file);
    assert.equal(r.rows, n);
    const got = await duckRows(`SELECT a, b, c FROM '${file}' ORDER BY file_row_number`);
    assert.equal(got.length, n);
    got.forEach((row, i) => {
      const v = n - i;
      assert.equal(row.a, BigInt(v * 3), `${n} rows: row ${i + 1}`);
      assert.equal(row.b, v % 2 === 1 ? `odd ${v}` : null, `${n} rows: row ${i + 1}`);
      assert.equal(row.c, v + 0.5, `${n} rows: row ${i + 1}`);
    });
    if (n > 0) {
      const types = (await duckRows(`SELECT column_type AS t FROM (DESCRIBE SELECT * FROM '${file}')`)).map((x) => x.t);
      assert.deepEqual(types, ['BIGINT', 'VARCHAR', 'DOUBLE'], `${n} rows`);
    }
  }
  // a value that does not fit the type its column took, among the rows read
  // ahead and after them; a query failing while they are read
  const dir = await mkdtemp(path.join(tmp, 'ahead-'));
  // blobs make the column BINARY; an integer among the rows read ahead
  // (row 60), or after them (row 150, and 301 past a UNION), does not fit
  const blobs = (k) => `SELECT CASE WHEN value = ${k} THEN 7 ELSE CAST('b' || value AS BLOB) END AS v FROM generate_series(1, 300)`;
  for (const [query, want] of [
    [blobs(60), /column "v" row 60: BINARY needs a blob or text: 7/],
    [blobs(150), /column "v" row 150: BINARY needs a blob or text: 7/],
    ["SELECT value * 2 AS v FROM generate_series(1, 300) UNION ALL SELECT 'y'", /column "v" row 301: BIGINT needs an integer: 'y'/],
    // the query itself failing while its first rows are read ahead
    ["SELECT value, CASE WHEN value = 30 THEN json('{') ELSE 1 END AS j FROM generate_series(1, 300)",
      /dbx_parquet: the query failed: malformed JSON/],
  ]) {
    assert.match(await writeFails('', query, path.join(dir, 'f.parquet')), want);
    assert.deepEqual(await readdir(dir), [], 'no file (nor .tmp) is left behind');
  }
  // the file cannot be made: found once the rows read ahead are in, while
  // the query is still being read
  assert.match(await writeFails('', 'SELECT value * 2 AS v FROM generate_series(1, 300)', path.join(dir, 'no/such/f.parquet')),
    /cannot create .*f\.parquet\.tmp/);
  assert.match(await writeFails('', 'SELECT value * 2 AS v FROM generate_series(1, 300)', path.join(dir, 'no/such/d/')),
    /cannot create the directory .*no\/such\/d/);
  assert.deepEqual(await readdir(dir), []);
});

test('errors name the column, the row and the value, and leave no file', async () => {
  const dir = path.join(tmp, 'errs');
  const cases = [
    ["s STRING", "SELECT 'ok' UNION ALL SELECT CAST(x'61ff62' AS TEXT)", /column "s" row 2: STRING needs valid UTF-8: 'a\\xFFb'/],
    ['i INT', 'SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 4294967296', /column "i" row 3: INT out of range: 4294967296/],
    ['i BIGINT', "SELECT 'abc'", /column "i" row 1: BIGINT needs an integer: 'abc'/],
    ['i BIGINT', "SELECT '9223372036854775808'", /row 1: BIGINT out of range: '9223372036854775808'/],
    ['i TINYINT', 'SELECT 1.5', /row 1: TINYINT takes no fraction: 1.5/],
    ['d DECIMAL(5,2)', "SELECT '1234.5'", /column "d" row 1: DECIMAL\(5,2\) overflows: '1234.5'/],
    ['d DECIMAL(38,0)', `SELECT '1${'0'.repeat(38)}'`, /DECIMAL\(38,0\) overflows/],
    ['d DATE', "SELECT '2023-02-29'", /column "d" row 1: DATE needs a valid date YYYY-MM-DD: '2023-02-29'/],
    ['t TIMESTAMP', "SELECT '2024-01-01 25:00:00'", /column "t" row 1: TIMESTAMP needs 'YYYY-MM-DD HH:MM:SS/],
    ['t TIMESTAMP', "SELECT 'yesterday'", /TIMESTAMP needs/],
    ['b BOOLEAN', 'SELECT 2', /column "b" row 1: BOOLEAN needs 0, 1, 'true' or 'false': 2/],
    ['f FLOAT', 'SELECT 1e300', /FLOAT out of range/],
    ['x BIGINT NOT NULL', 'SELECT NULL', /column "x" row 1: NULL in a NOT NULL column/],
    ['v VARIANT', "SELECT x'00'", /VARIANT|JSON needs JSON text, not a blob/],
    ['s STRING', `SELECT '${'é'.repeat(100)}' || char(0) || CAST(x'ff' AS TEXT)`, new RegExp(`'${'é'.repeat(60)}'\\.\\.\\.`)],
  ];
  for (const [schema, query, re] of cases) {
    const err = await writeFails('', `SELECT * FROM (${query})`, `${dir}/`, { schema, row_group_rows: 1 });
    assert.match(err, re, `${schema}: ${err}`);
    assert.doesNotMatch(err, /\n/);
  }
  assert.deepEqual(await readdir(dir), [], 'no file (nor .tmp) is left behind');
  // several files written before the failing row are removed too
  const err = await writeFails('', `SELECT CASE WHEN value = 3000 THEN 'x' ELSE value END AS v FROM generate_series(1, 3000)`,
    `${dir}/`, { schema: 'v BIGINT', row_group_rows: 100, file_size_mb: 0.0001 });
  assert.match(err, /row 3000/);
  assert.deepEqual(await readdir(dir), []);
  // so is a query that fails after some batches were written
  const err2 = await writeFails('', "SELECT CASE WHEN value = 2500 THEN json('{bad') ELSE value END AS v FROM generate_series(1, 5000)",
    `${dir}/`, { row_group_rows: 100, file_size_mb: 0.0001 });
  assert.match(err2, /dbx_parquet: the query failed: malformed JSON/);
  assert.deepEqual(await readdir(dir), []);
  // the same with a schema: no rows read ahead, the rows come through
  // dbx_parquet_row(), and the query's own error is the one reported
  const err2b = await writeFails('', "SELECT CASE WHEN value = 2500 THEN json('{bad') ELSE value END AS v FROM generate_series(1, 5000)",
    `${dir}/`, { schema: 'v BIGINT', row_group_rows: 100, file_size_mb: 0.0001 });
  assert.match(err2b, /^[^\n]*dbx_parquet: the query failed: malformed JSON$/);
  assert.deepEqual(await readdir(dir), []);
  // with several columns, whichever thread converts which: the earliest
  // row, and in it the first column
  const bad = (col, row) => `CASE WHEN value = ${row} THEN 'x${col}' ELSE value END AS c${col}`;
  const err3 = await writeFails('', `SELECT ${bad(0, 2500)}, ${bad(1, 2000)}, value AS c2, 'ok' AS c3, ${bad(4, 2000)} FROM generate_series(1, 3000)`,
    `${dir}/`, { schema: 'c0 BIGINT, c1 BIGINT, c2 BIGINT, c3 STRING, c4 BIGINT' });
  assert.match(err3, /column "c1" row 2000: BIGINT needs an integer: 'x1'/);
  assert.deepEqual(await readdir(dir), []);
});

test('bad arguments and options are one-line errors naming what is wrong', async () => {
  const f = path.join(tmp, 'x.parquet');
  assert.match(await writeFails('', 'SELECT 1', f, { bogus: 1 }), /unknown option "bogus"/);
  assert.match(await writeFails('', 'SELECT 1', f, { compression: 'snappy' }), /bad value for option "compression"/);
  assert.match(await writeFails('', 'SELECT 1', f, { schema: 'a INTERVAL' }), /no Parquet type for 'INTERVAL'/);
  assert.match(await writeFails('', 'SELECT 1', f, { schema: 'a INT, b INT' }), /schema has 2 columns but the query returns 1/);
  assert.match(await writeFails('', 'SELECT 1', f, { schema: 'a DECIMAL(40,2)' }), /not a valid DECIMAL/);
  assert.match(await writeFails('CREATE TABLE z(a);', 'DELETE FROM z RETURNING a', f), /must only read/);
  assert.match(await writeFails('', 'SELECT 1; SELECT 2', f), /one statement/);
  assert.match(await writeFails('', 'SELECT 1', path.join(tmp, 'no/such/dir/x.parquet')), /cannot create .*x\.parquet\.tmp/);
  const r = await runShell(`CREATE TABLE z(a); CREATE TRIGGER tr AFTER INSERT ON z BEGIN SELECT dbx_parquet('SELECT 1', ${q(f)}); END; INSERT INTO z VALUES (1);`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unsafe use of dbx_parquet/);
});

test('0 rows, 1 row, row groups, files, a dictionary overflowing to PLAIN, determinism', async () => {
  const zero = path.join(tmp, 'zero.parquet');
  assert.equal((await write('', 'SELECT 1 AS a WHERE 0', zero, { schema: 'a INT' })).rows, 0);
  assert.deepEqual(await duckRows(`SELECT count(*) AS n FROM '${zero}'`), [{ n: 0n }]);
  const one = path.join(tmp, 'one.parquet');
  await write('', "SELECT 7 AS a, 'x' AS b", one);
  assert.deepEqual(await duckRows(`SELECT * FROM '${one}'`), [{ a: 7n, b: 'x' }]);

  // row groups and files
  const dir = path.join(tmp, 'many/');
  const rep = await write('', 'SELECT value AS n, printf(\'%08d\', value % 1000) AS s FROM generate_series(1, 50000)', dir,
    { row_group_rows: 5000, file_size_mb: 0.05, compression: 'none' });
  assert.equal(rep.rows, 50000);
  assert.ok(rep.files > 2, `${rep.files} files`);
  assert.deepEqual(rep.paths, Array.from({ length: rep.files }, (_, k) => `${dir}part-${String(k).padStart(5, '0')}.parquet`));
  const [agg] = await duckRows(`SELECT count(*) AS c, sum(n) AS s, count(DISTINCT s) AS d FROM '${dir}*.parquet'`);
  assert.deepEqual(agg, { c: 50000n, s: 1250025000n, d: 1000n });
  // row groups of at most 5000 rows (fewer where a file's size ends them)
  const groups = await duckRows(`SELECT DISTINCT file_name, row_group_id, row_group_num_rows AS n, compression AS c FROM parquet_metadata('${dir}*.parquet')`);
  assert.ok(groups.length >= 10);
  assert.equal(groups.reduce((s, g) => s + g.n, 0n), 50000n);
  assert.ok(groups.every((g) => g.n <= 5000n && g.c === 'UNCOMPRESSED'));
  // numbered files when the path is a file
  const flat = path.join(tmp, 'flat.parquet');
  const rep2 = await write('', 'SELECT value AS n FROM generate_series(1, 20000)', flat, { row_group_rows: 4000, file_size_mb: 0.01 });
  assert.deepEqual(rep2.paths, [flat, ...Array.from({ length: rep2.files - 1 }, (_, k) => `${flat}.${k + 1}`)]);

  // 1000-byte strings, 100 distinct ones for 5000 rows (a dictionary pays)
  // then new ones: the dictionary passes 1 MiB and the rest of the row
  // group is PLAIN, with every value intact
  const dict = path.join(tmp, 'dict.parquet');
  const key = "CASE WHEN value <= 5000 THEN value % 100 ELSE value END";
  await write('', `SELECT value AS n, printf('%05d', ${key}) || substr(hex(zeroblob(500)), 1, 995) AS s FROM generate_series(1, 8000)`, dict);
  const [m] = await duckRows(`SELECT dictionary_page_offset IS NOT NULL AS has_dict, total_uncompressed_size AS u, encodings FROM parquet_metadata('${dict}') WHERE path_in_schema = 's'`);
  assert.ok(m.has_dict);
  assert.ok(m.u > 2_000_000n, `PLAIN pages after the dictionary: ${m.u} bytes`);
  assert.match(m.encodings, /RLE_DICTIONARY/);
  const [bad] = await duckRows(`SELECT count(*) AS c FROM '${dict}' WHERE s <> printf('%05d', CASE WHEN n <= 5000 THEN n % 100 ELSE n END) || repeat('0', 995)`);
  assert.equal(bad.c, 0n);

  // the same rows and options give the same bytes
  const a = path.join(tmp, 'det-a.parquet');
  const b = path.join(tmp, 'det-b.parquet');
  await write(setupAll(), 'SELECT * FROM t', a, { schema: schemaText });
  await write(setupAll(), 'SELECT * FROM t', b, { schema: schemaText });
  assert.ok((await readFile(a)).equals(await readFile(b)));
});

test('a value repeated in the rows after it converts like the first', async () => {
  // runs of 7 equal texts and blobs for every conversion from text, across
  // batches and past the first 100 rows: the repeats share the first's bytes
  const file = path.join(tmp, 'runs.parquet');
  const k = 'value / 7';
  await write('', `SELECT value AS n,
      printf('%d.%02d', ${k}, ${k} % 100) || '0000000000000000000000000000' AS d,
      printf('2024-01-01 00:00:%02d.%06d', ${k} % 60, ${k}) AS t,
      'text ' || (${k}) AS s,
      CASE WHEN (${k}) % 2 = 0 THEN 'true' ELSE 'false' END AS b,
      '{"k":' || (${k}) || '}' AS j,
      CAST('blob' || (${k}) AS BLOB) AS x
    FROM generate_series(1, 2000)`, file,
  { schema: 'n BIGINT, d DECIMAL(38,2), t TIMESTAMP_NTZ, s STRING, b BOOLEAN, j VARIANT, x BINARY' });
  const got = await duckRows(`SELECT n, CAST(d AS VARCHAR) AS d, epoch_us(t) AS t, s, b, j, decode(x) AS x FROM '${file}' ORDER BY n`);
  assert.equal(got.length, 2000);
  got.forEach((r) => {
    const v = Math.floor(Number(r.n) / 7);
    const where = `row ${r.n}`;
    assert.equal(r.d, `${v}.${String(v % 100).padStart(2, '0')}`, where);
    assert.equal(r.t, BigInt(1704067200 + (v % 60)) * 1000000n + BigInt(v), where);
    assert.equal(r.s, `text ${v}`, where);
    assert.equal(r.b, v % 2 === 0, where);
    assert.equal(r.j, `{"k":${v}}`, where);
    assert.equal(r.x, `blob${v}`, where);
  });
  // a bad value repeated: the first of its run is the one named
  const err = await writeFails('', "SELECT CASE WHEN value BETWEEN 1500 AND 1510 THEN 'x' ELSE value END AS v FROM generate_series(1, 2000)",
    path.join(tmp, 'runs-bad.parquet'), { schema: 'v BIGINT' });
  assert.match(err, /row 1500: BIGINT needs an integer: 'x'/);
});

test('bytes a conversion makes, and stamps of one minute, in many rows', async () => {
  // no value repeats the one before it, so each is converted on its own,
  // by whichever thread converts its column in its batch: number text for
  // STRING and VARIANT, DECIMAL(38,10) bytes; stamps of every length that
  // share their minute with the stamp before, ' ' and 'T' in turn
  const file = path.join(tmp, 'made.parquet');
  const n = 5000;
  await write('', `SELECT value AS n,
      CASE value % 3 WHEN 0 THEN value WHEN 1 THEN value + 0.25
        ELSE printf('%d.%010d', value, value) END AS d,
      CASE value % 2 WHEN 0 THEN value * 1000003 ELSE value + 0.5 END AS s,
      value * -7 AS j,
      printf('2024-%02d-%02d%s%02d:%02d:%02d%s', 1 + value / 1000 % 12,
        1 + value / 50 % 28, CASE WHEN value % 3 = 0 THEN 'T' ELSE ' ' END,
        value / 600 % 24, value / 60 % 60, value % 60,
        CASE value % 4 WHEN 0 THEN '' WHEN 1 THEN '.5' WHEN 2 THEN '.123456'
          ELSE '.0001' END) AS t
    FROM generate_series(1, ${n})`, file,
  { schema: 'n BIGINT, d DECIMAL(38,10), s STRING, j VARIANT, t TIMESTAMP_NTZ' });
  const got = await duckRows(`SELECT n, CAST(d AS VARCHAR) AS d, s, j, epoch_us(t) AS t FROM '${file}' ORDER BY n`);
  assert.equal(got.length, n);
  const frac = [0n, 500000n, 123456n, 100n];
  got.forEach((r) => {
    const v = Number(r.n);
    const where = `row ${v}`;
    const d = [`${v}.0000000000`, `${v}.2500000000`, `${v}.${String(v).padStart(10, '0')}`][v % 3];
    assert.equal(r.d, d, where);
    assert.equal(r.s, v % 2 === 0 ? String(v * 1000003) : `${v}.5`, where);
    assert.equal(r.j, String(-7 * v), where);
    const ms = Date.UTC(2024, Math.floor(v / 1000) % 12, 1 + (Math.floor(v / 50) % 28),
      Math.floor(v / 600) % 24, Math.floor(v / 60) % 60, v % 60);
    assert.equal(r.t, BigInt(ms) * 1000n + frac[v % 4], where);
  });
  // a stamp whose minute is the one before's is still checked whole
  for (const [bad, why] of [['2024-01-01 00:00:60', 'second 60'], ['2024-01-01 00:00:5x', 'a letter'],
    ['2024-01-01 00:00:59.1234567', '7 fraction digits'], ['2024-01-01 00:00:59.', 'no fraction digits']]) {
    const err = await writeFails('', `SELECT CASE WHEN value = 700 THEN ${q(bad)}
        ELSE '2024-01-01 00:00:' || printf('%02d', value % 60) END AS t
      FROM generate_series(1, 1000)`, path.join(tmp, 'made-bad.parquet'), { schema: 't TIMESTAMP_NTZ' });
    assert.match(err, /column "t" row 700: TIMESTAMP_NTZ needs/, why);
  }
  // the same minute with a zone after it: the zone is not dropped
  const zoned = path.join(tmp, 'made-zone.parquet');
  await write('', `SELECT '2024-01-01 10:20:30' AS t UNION ALL SELECT '2024-01-01 10:20:31+02:00'
    UNION ALL SELECT '2024-01-01 10:20:32Z'`, zoned, { schema: 't TIMESTAMP' });
  const z = await duckRows(`SELECT epoch_us(t) AS t FROM '${zoned}' ORDER BY file_row_number`);
  assert.deepEqual(z.map((r) => r.t), [1704104430000000n, 1704097231000000n, 1704104432000000n]);
});

test('the rows in the query\'s order, whatever shape the query has', async () => {
  // most queries are read through dbx_parquet_row(), the rest row by row;
  // either way every row, in the order the query gives them
  // (with a schema: no rows read ahead to type the columns, which would
  // leave the query half read and so read row by row)
  const order = async (setup, query, expected, options = { schema: 'v BIGINT' }) => {
    const file = path.join(tmp, 'order.parquet');
    const rep = await write(setup, query, file, options);
    assert.equal(rep.rows, expected.length, query);
    const got = await duckRows(`SELECT v FROM read_parquet('${file}', file_row_number = true) ORDER BY file_row_number`);
    assert.deepEqual(got.map((r) => Number(r.v)), expected, query);
  };
  const down = Array.from({ length: 3000 }, (_, i) => 3000 - i);
  await order('', 'SELECT value AS v FROM generate_series(1, 3000) ORDER BY value DESC', down);
  await order('', 'SELECT value AS v FROM generate_series(1, 3000) ORDER BY value DESC; ;\n', down);
  await order('', 'SELECT value AS v FROM generate_series(1, 3000) ORDER BY value DESC -- a comment at the end', down);
  await order('', 'WITH t(v) AS (SELECT value FROM generate_series(1, 3000)) SELECT v FROM t ORDER BY v DESC', down);
  await order('', 'SELECT value AS v FROM generate_series(1, 2000) UNION ALL SELECT value FROM generate_series(1, 1000) ORDER BY 1 DESC LIMIT 5', [2000, 1999, 1998, 1997, 1996]);
  await order('', 'VALUES (3), (1), (2)', [3, 1, 2]);
  await order('', 'SELECT v FROM (SELECT value AS v, row_number() OVER (ORDER BY value DESC) AS k FROM generate_series(1, 300)) ORDER BY k', down.slice(2700));
  // a PRAGMA does not fit in a WITH: read row by row
  await order('CREATE TABLE p(a, b, c);', 'SELECT cid AS v FROM pragma_table_info(\'p\')', [0, 1, 2]);
  await order('CREATE TABLE p(a, b, c);', 'PRAGMA table_info(p)', [0, 1, 2].map(() => 0).map((_, i) => i), { schema: 'v BIGINT, name STRING, type STRING, nn BIGINT, dflt STRING, pk BIGINT' });
  // a table named like the query's own WITH: read row by row, all the same
  await order('CREATE TABLE "dbx_parquet rows"(v); INSERT INTO "dbx_parquet rows" SELECT value FROM generate_series(1, 500);',
    'SELECT v FROM "dbx_parquet rows" ORDER BY v DESC', down.slice(2500));
  // a query with parameters of its own is read row by row: its ?1 stays
  // its own (unbound: NULL), not the one the WITH form binds
  await order('', 'SELECT value AS v FROM generate_series(1, 10) WHERE ?1 IS NULL', Array.from({ length: 10 }, (_, i) => i + 1));
  // dbx_parquet_row() serves dbx_parquet() only
  const r = await runShell("SELECT dbx_parquet_row(1, 2);");
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /dbx_parquet_row\(\) only serves dbx_parquet\(\): call that instead/);
  const r2 = await runShell("SELECT dbx_parquet_row(NULL);");
  assert.match(r2.stderr, /only serves dbx_parquet/);
});

test('300 columns: batches of fewer rows, every value in its place', async () => {
  const file = path.join(tmp, 'wide.parquet');
  const cols = Array.from({ length: 300 }, (_, c) => (c % 2 ? `value * ${c} AS c${c}` : `'v' || value || '_' || ${c} AS c${c}`));
  await write('', `SELECT ${cols.join(', ')} FROM generate_series(1, 700)`, file);
  const [bad] = await duckRows(`SELECT count(*) AS n, sum(CASE WHEN c1 = c1 // 1 AND c299 = c1 * 299 AND c298 = 'v' || (c1) || '_298' AND c0 = 'v' || (c1) || '_0' THEN 0 ELSE 1 END) AS wrong, sum(c1) AS s FROM '${file}'`);
  assert.deepEqual(bad, { n: 700n, wrong: 0n, s: 245350n });
});

test('1 MB strings and int64/double extremes in many rows', async () => {
  const file = path.join(tmp, 'big.parquet');
  await write('', "SELECT value AS n, CASE WHEN value % 3 = 0 THEN NULL ELSE printf('%d', value) || substr(hex(zeroblob(524288)), 1, 1000000) END AS s FROM generate_series(1, 12)", file);
  const got = await duckRows(`SELECT n, length(s) AS l, s[1:8] AS head FROM '${file}' ORDER BY n`);
  got.forEach((r) => {
    if (r.n % 3n === 0n) assert.equal(r.l, null);
    else assert.equal(r.l, BigInt(String(r.n).length + 1000000));
  });
  const [st] = await duckRows(`SELECT stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata('${file}') WHERE path_in_schema = 's'`);
  assert.ok(st.lo.length <= 64 && st.hi.length <= 64, 'long statistics are cut');

  // values longer than the reading thread's blocks of bytes (1 MiB), among
  // short ones, past the first 100 rows, in batches of either thread
  const file2 = path.join(tmp, 'bigger.parquet');
  const mb = (k) => `printf('%d', value) || substr(hex(zeroblob(${k * 524288})), 1, ${k * 1000000}) || printf('%d', value)`;
  await write('', `SELECT value AS n, value * 2 AS m, CASE WHEN value % 97 = 0 THEN ${mb(3)} WHEN value % 61 = 0 THEN ${mb(1)} ELSE 'short ' || value END AS s FROM generate_series(1, 400)`, file2);
  const got2 = await duckRows(`SELECT n, m, length(s) AS l, s[1:12] AS head, s[-6:] AS tail FROM '${file2}' ORDER BY n`);
  assert.equal(got2.length, 400);
  got2.forEach((r) => {
    const n = Number(r.n);
    assert.equal(r.m, r.n * 2n);
    const k = n % 97 === 0 ? 3 : n % 61 === 0 ? 1 : 0;
    if (k === 0) {
      assert.equal(r.head, `short ${n}`.slice(0, 12), `row ${n}`);
    } else {
      assert.equal(r.l, BigInt(2 * String(n).length + k * 1000000), `row ${n}`);
      assert.ok(r.head.startsWith(`${n}0`), `row ${n}`);
      assert.ok(r.tail.endsWith(`0${n}`), `row ${n}`);
    }
  });
});

// ------------------------------------------------------------- property test

// A small deterministic generator (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GEN = {
  BIGINT: (r) => { const v = BigInt(Math.floor(r() * 2 ** 53)) * (r() < 0.5 ? -1n : 1n) * (r() < 0.1 ? 1000n : 1n); return [String(v), String(v)]; },
  INT: (r) => { const v = Math.floor(r() * 2 ** 32) - 2 ** 31; return [String(v), String(v)]; },
  SMALLINT: (r) => { const v = Math.floor(r() * 65536) - 32768; return [String(v), String(v)]; },
  DOUBLE: (r) => { const v = (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20); return [String(v), v]; },
  BOOLEAN: (r) => (r() < 0.5 ? ['0', 'false'] : ['1', 'true']),
  STRING: (r) => { const n = Math.floor(r() * 12); let s = ''; for (let i = 0; i < n; i++) s += 'ab é✓'[Math.floor(r() * 5)]; return [q(s), s]; },
  'DECIMAL(20,3)': (r) => { const i = String(Math.floor(r() * 1e15)); const f = String(Math.floor(r() * 1000)).padStart(3, '0'); const s = `${r() < 0.5 ? '-' : ''}${i}.${f}`; return [q(s), String(Number(i) === 0 && s.startsWith('-') && f === '000' ? '0.000' : s.replace(/^(-?)0+(\d)/, '$1$2'))]; },
  DATE: (r) => { const d = Math.floor(r() * 2_000_000) - 700_000; const iso = new Date(d * 86400000).toISOString().slice(0, 10); return d * 86400000 >= -62135596800000 && d * 86400000 < 253402300800000 ? [q(iso), String(d)] : [q('1970-01-01'), '0']; },
  TIMESTAMP: (r) => { const us = BigInt(Math.floor((r() - 0.3) * 4e15)); const ms = Number(us / 1000n) - (us % 1000n < 0n ? 1 : 0); const frac = String(((us % 1000000n) + 1000000n) % 1000000n).padStart(6, '0'); const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' '); return [q(`${iso}.${frac}`), String(us)]; },
};
const TYPES = Object.keys(GEN);

test('randomized schemas and rows round-trip (fixed seeds)', async () => {
  const files = [];
  const script = [];
  for (let seed = 1; seed <= 200; seed++) {
    const r = rng(seed);
    const nCol = 1 + Math.floor(r() * 5);
    const cols = Array.from({ length: nCol }, (_, k) => ({ name: `c${k}`, type: TYPES[Math.floor(r() * TYPES.length)], nullRate: r() < 0.3 ? r() : 0 }));
    const nRow = Math.floor(r() ** 2 * 300);
    const rows = Array.from({ length: nRow }, () => cols.map((c) => (r() < c.nullRate ? ['NULL', null] : GEN[c.type](r))));
    const file = path.join(tmp, `prop-${seed}.parquet`);
    const opts = { schema: cols.map((c) => `${c.name} ${c.type}`).join(', '), row_group_rows: 1 + Math.floor(r() * 200), dictionary: r() < 0.7, compression: r() < 0.8 ? 'zstd' : 'none' };
    script.push(`DROP TABLE IF EXISTS t; CREATE TABLE t (k INTEGER PRIMARY KEY, ${cols.map((c) => c.name).join(', ')});`);
    rows.forEach((row, k) => script.push(`INSERT INTO t VALUES (${k}, ${row.map(([lit]) => lit).join(', ')});`));
    script.push(`SELECT dbx_parquet('SELECT ${cols.map((c) => c.name).join(', ')} FROM t ORDER BY k', ${q(file)}, ${q(JSON.stringify(opts))}) AS r;`);
    files.push({ file, cols, rows });
  }
  const r = await runShell(script.join('\n'));
  assert.equal(r.code, 0, r.stderr);
  for (const { file, cols, rows } of files) {
    const sel = cols.map((c) => {
      if (c.type === 'DOUBLE') return c.name;
      if (c.type === 'DATE') return `date_diff('day', DATE '1970-01-01', ${c.name})::VARCHAR AS ${c.name}`;
      if (c.type === 'TIMESTAMP') return `epoch_us(${c.name})::VARCHAR AS ${c.name}`;
      return `${c.name}::VARCHAR AS ${c.name}`;
    }).join(', ');
    const got = await duckRows(`SELECT ${sel} FROM '${file}'`);
    assert.equal(got.length, rows.length, file);
    got.forEach((g, i) => cols.forEach((c, k) => sameValue(g[c.name], rows[i][k][1], `${file} row ${i + 1} ${c.name}`)));
  }
});

// ------------------------------------------------------------------ COPY INTO

test('a staged file loads with COPY INTO, VARIANT through parse_json', async () => {
  const ws = await workspace();
  try {
    await ws.sql('CREATE VOLUME main.default.stage');
    await ws.sql('CREATE TABLE main.default.ev (id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, props VARIANT, ok BOOLEAN, score DOUBLE)');
    const file = path.join(tmp, 'stage.parquet');
    await write(`CREATE TABLE s (id, name, amount, at, day, props, ok, score);
      INSERT INTO s VALUES (1, 'héllo', '12.34', '2024-05-06 07:08:09.123456', '2024-05-06', '{"plan":"pro","n":[1,2]}', 1, 0.5),
                           (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                           (3, '', '-99999999.99', '1901-01-01T00:00:00Z', '1901-01-01', '[]', 0, -1e300);`,
    'SELECT * FROM s', file, { schema: 'id BIGINT NOT NULL, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, props VARIANT, ok BOOLEAN, score DOUBLE' });
    const put = await fetch(`${ws.server.url}/api/2.0/fs/files/Volumes/main/default/stage/batch-1.parquet?overwrite=true`, {
      method: 'PUT', headers: { Authorization: `Bearer ${ws.server.token}`, 'Content-Type': 'application/octet-stream' }, body: await readFile(file),
    });
    assert.equal(put.status, 204, await put.text());
    const copy = `COPY INTO main.default.ev FROM (SELECT id, name, amount, at, day, parse_json(props) AS props, ok, score FROM '/Volumes/main/default/stage/batch-1.parquet') FILEFORMAT = PARQUET`;
    const rows = await ws.query(`SELECT dbx_exec(${q(copy)}) AS r;`);
    assert.equal(JSON.parse(rows[0].r).num_inserted_rows, 3);
    const back = await ws.sql('SELECT id, name, CAST(amount AS STRING) AS amount, date_format(at, \'yyyy-MM-dd HH:mm:ss.SSSSSS\') AS at, CAST(day AS STRING) AS day, CAST(props AS STRING) AS props, props:plan::STRING AS plan, ok, score FROM main.default.ev ORDER BY id');
    const data = back.result.data_array;
    assert.deepEqual(data[0].slice(0, 5), ['1', 'héllo', '12.34', '2024-05-06 07:08:09.123456', '2024-05-06']);
    assert.deepEqual(JSON.parse(data[0][5]), { plan: 'pro', n: [1, 2] });
    assert.equal(data[0][6], 'pro');
    assert.deepEqual([data[0][7], Number(data[0][8])], ['true', 0.5]);
    assert.deepEqual(data[1], ['2', null, null, null, null, null, null, null, null]);
    assert.deepEqual(data[2].slice(0, 5), ['3', '', '-99999999.99', '1901-01-01 00:00:00.000000', '1901-01-01']);
    assert.deepEqual([data[2][5], data[2][7], Number(data[2][8])], ['[]', 'false', -1e300]);
  } finally {
    await ws.stop();
  }
});
