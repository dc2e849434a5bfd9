// The `databricks` virtual table: table= columns from Unity Catalog with the
// remote types declared, query= columns from the query's result schema,
// option parsing (quotes, '=' inside values, unknown options, literal
// secrets), rows streamed over many chunks, read-only and DIRECTONLY, and
// the one-line errors for a missing table and a missing privilege.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { workspace, parseResultSets } from './harness.mjs';

const CONFIG = {
  users: [
    { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
    { user_name: 'reader@dbx.local', tokens: ['dapi-reader'] },
  ],
  grants: [
    { principal: 'reader@dbx.local', securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG'] },
    { principal: 'reader@dbx.local', securable_type: 'SCHEMA', full_name: 'main.default', privileges: ['USE SCHEMA'] },
  ],
};

let ws;
before(async () => {
  ws = await workspace({ config: CONFIG });
  await sql(`CREATE TABLE main.default.orders (id BIGINT, customer STRING, amount DECIMAL(10,2),
    big DECIMAL(30,4), ratio DOUBLE, paid BOOLEAN, day DATE, event_time TIMESTAMP, tags ARRAY<STRING>,
    payload VARIANT, raw BINARY)`);
  await sql(`INSERT INTO main.default.orders VALUES
    (1, 'ann', 12.50, 12345678901234567890.1234, 0.25, true, DATE'2024-01-31',
     TIMESTAMP'2024-01-31 10:11:12.5', array('a','b'), parse_json('{"k":1}'), X'CAFE'),
    (2, '007', NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL)`);
  await sql('CREATE TABLE main.default.secret (id BIGINT)');
});
after(async () => { await ws?.stop(); });

// Runs SQL remotely as the admin, through the Statement Execution API.
const sql = (statement) => ws.sql(statement);

const ORDERS = "CREATE VIRTUAL TABLE orders USING databricks(table='main.default.orders');";

test('table= declares the remote columns with their remote types', async () => {
  const cols = await ws.query(`${ORDERS}\nSELECT name, type FROM pragma_table_info('orders');`);
  assert.deepEqual(cols.map((c) => `${c.name} ${c.type}`), [
    'id BIGINT', 'customer STRING TEXT', 'amount DECIMAL(10,2)', 'big DECIMAL(30,4)', 'ratio DOUBLE',
    'paid BOOLEAN', 'day DATE', 'event_time TIMESTAMP', 'tags array<string>', 'payload VARIANT TEXT',
    'raw BINARY',
  ]);
});

test('table= returns every row with the read type mapping', async () => {
  const rows = await ws.query(`${ORDERS}
SELECT id, customer, amount, big, ratio, paid, day, event_time, tags, payload, hex(raw) AS raw,
  typeof(amount) AS ta, typeof(big) AS tb, datetime(event_time) AS dt FROM orders ORDER BY id;`);
  assert.deepEqual(rows, [
    { id: 1, customer: 'ann', amount: 12.5, big: '12345678901234567890.1234', ratio: 0.25, paid: 1,
      day: '2024-01-31', event_time: '2024-01-31 10:11:12.5', tags: '["a","b"]', payload: '{"k":1}',
      raw: 'CAFE', ta: 'real', tb: 'text', dt: '2024-01-31 10:11:12' },
    { id: 2, customer: '007', amount: null, big: null, ratio: null, paid: 0, day: null, event_time: null,
      tags: null, payload: null, raw: '', ta: 'null', tb: 'null', dt: null },
  ]);
  // STRING keeps text affinity: '007' is not the number 7.
  const [r] = await ws.query(`${ORDERS}
SELECT (SELECT count(*) FROM orders WHERE customer = '7') AS seven,
       (SELECT count(*) FROM orders WHERE customer = '007') AS zero07;`);
  assert.deepEqual(r, { seven: 0, zero07: 1 });
});

test('a short name takes catalog and schema from the settings', async () => {
  const rows = await ws.query(`CREATE VIRTUAL TABLE o USING databricks(table = "orders", catalog='main', schema = 'default');
SELECT id FROM o ORDER BY id;`);
  assert.deepEqual(rows, [{ id: 1 }, { id: 2 }]);
  const err = await ws.fail("CREATE VIRTUAL TABLE o USING databricks(table='orders');");
  assert.match(err, /needs a catalog and a schema/);
});

test('query= takes its columns from the result schema (run under LIMIT 0)', async () => {
  const rows = await ws.query(`CREATE VIRTUAL TABLE q USING databricks(
  query='SELECT id, upper(customer) AS who, amount * 2 AS twice FROM main.default.orders WHERE customer <> ''x'' AND 1=1');
SELECT name, type FROM pragma_table_info('q');
SELECT * FROM q WHERE id = 1;
SELECT sql FROM dbx_statements ORDER BY seq;`);
  assert.deepEqual(rows.map((r) => r.sql), [
    "SELECT * FROM (SELECT id, upper(customer) AS who, amount * 2 AS twice FROM main.default.orders WHERE customer <> 'x' AND 1=1) AS `_dbx_q` LIMIT 0",
    "SELECT `id`, `who`, `twice` FROM (SELECT id, upper(customer) AS who, amount * 2 AS twice FROM main.default.orders WHERE customer <> 'x' AND 1=1) AS `_dbx_q` WHERE `id` = :p0",
  ]);
  const r = await ws.run(`CREATE VIRTUAL TABLE q USING databricks(query='SELECT id, upper(customer) AS who, amount * 2 AS twice FROM main.default.orders');
.mode list
SELECT name || ' ' || type FROM pragma_table_info('q');
SELECT who, twice FROM q WHERE id = 1;`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /^id BIGINT\nwho STRING TEXT\ntwice DECIMAL\(\d+,2\)\nANN\|25\.0+$/);
});

test('query= with one name twice still reads every column', async () => {
  const rows = await ws.query(`CREATE VIRTUAL TABLE d USING databricks(query='SELECT id, id, customer FROM main.default.orders');
SELECT * FROM d WHERE id = 2;`);
  // Databricks may send the name twice; SQLite then sees id and id:2.
  assert.equal(rows.length, 1);
  assert.deepEqual(Object.values(rows[0]), [2, 2, '007']);
  assert.equal(Object.keys(rows[0])[0], 'id');
});

test('options: unknown ones are listed, secrets refused, table or query required', async () => {
  let err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(table='main.default.orders', colour='red');");
  assert.match(err, /unknown option 'colour': known options are table, query, .*warehouse.*catalog/);
  assert.equal(err.split('\n').length, 1);
  err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(table='main.default.orders', token='dapi-local-admin');");
  assert.match(err, /env:/);
  assert.doesNotMatch(err, /dapi-local-admin/);
  err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(warehouse='0000000000000001');");
  assert.match(err, /exactly one of table=.* or query=/);
  err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(table='a.b.c.d');");
  assert.match(err, /bad table name 'a.b.c.d'/);
  err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(table='main.default.orders', TABLE='x');");
  assert.match(err, /given twice/);
  // an argument without '=' is named by its position, never echoed: it may be a token
  err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks('dapi0123456789abcdef0123456789abcdef');");
  assert.match(err, /databricks: argument 1 is not key=value: write it as name='value', for example databricks\(table='main\.default\.orders'\)$/);
  assert.doesNotMatch(err, /dapi/);
  err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(table='main.default.orders', dapi0123456789abcdef0123456789abcdef);");
  assert.match(err, /argument 2 is not key=value/);
  assert.doesNotMatch(err, /dapi/);
  // an option name that is not a name is no safer to echo (a base64 secret may end in '=')
  err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(table='main.default.orders', 'c2VjcmV0LXRva2Vu==');");
  assert.match(err, /argument 2 is not key=value/);
  assert.doesNotMatch(err, /c2VjcmV0/);
  // a token by reference is fine, and so is a warehouse given as an HTTP path
  const rows = await ws.query(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.orders', token='env:MY_TOKEN',
  warehouse='/sql/1.0/warehouses/0000000000000001', wait_timeout='5s');
SELECT count(*) AS n FROM x;`, { env: { MY_TOKEN: 'dapi-local-admin', DATABRICKS_TOKEN: '' } });
  assert.deepEqual(rows, [{ n: 2 }]);
});

test('a missing table is one line with the error class', async () => {
  const err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(table='main.default.nope');");
  assert.equal(err.split('\n').length, 1, err);
  assert.match(err, /table main\.default\.nope not found.*\((TABLE_DOES_NOT_EXIST|TABLE_OR_VIEW_NOT_FOUND|RESOURCE_DOES_NOT_EXIST|NOT_FOUND)\)/);
  const err2 = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(query='SELECT * FROM main.default.nope');");
  assert.equal(err2.split('\n').length, 1, err2);
  assert.match(err2, /TABLE_OR_VIEW_NOT_FOUND.*statement [0-9a-f-]+\)/);
});

test('a missing privilege is one line with the error class', async () => {
  // Unity Catalog may refuse the lookup (PERMISSION_DENIED) or, when the
  // table is visible, the warehouse refuses the read: one line either way.
  const err = await ws.fail(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.secret');
SELECT * FROM x;`, { env: { DATABRICKS_TOKEN: 'dapi-reader' } });
  assert.equal(err.split('\n').length, 1, err);
  assert.match(err, /(no permission to read table main\.default\.secret.*SELECT.*\(PERMISSION_DENIED\))|(\(INSUFFICIENT_PERMISSIONS, statement [0-9a-f-]+\))/);
  const err2 = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(query='SELECT * FROM main.default.secret');",
    { env: { DATABRICKS_TOKEN: 'dapi-reader' } });
  assert.equal(err2.split('\n').length, 1, err2);
  assert.match(err2, /INSUFFICIENT_PERMISSIONS.*statement [0-9a-f-]+\)/);
});

test('bad SQL is one line with the error class and statement id', async () => {
  const err = await ws.fail("CREATE VIRTUAL TABLE x USING databricks(query='SELEC id FROM');");
  assert.equal(err.split('\n').length, 1, err);
  assert.match(err, /databricks: .*\(PARSE_SYNTAX_ERROR, statement [0-9a-f-]{36}\)$/);
});

test('a dropped connection during a scan is one line and says what failed', async () => {
  await ws.api('POST', '/admin/faults', { path: '^/api/2\\.0/sql/statements/?$', method: 'POST', drop: true, count: 100 });
  try {
    const started = Date.now();
    const err = await ws.fail(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.orders', retry_timeout_seconds=1);
SELECT * FROM x;`);
    assert.ok(Date.now() - started < 10000, 'the retry budget ends the retries');
    assert.equal(err.split('\n').length, 1, err);
    assert.match(err, /databricks: POST \/api\/2\.0\/sql\/statements: .*(connection|dropped|closed)/i);
    assert.doesNotMatch(err, /dapi-/);
  } finally {
    await ws.api('DELETE', '/admin/faults');
  }
});

test('a stopped warehouse that does not start in time: canceled, one line with class and id', async () => {
  const r = await ws.api('POST', '/admin/warehouses/0000000000000001', { state: 'STOPPED' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const err = await ws.fail(`CREATE VIRTUAL TABLE x USING databricks(table='main.default.orders', statement_timeout=0.3, wait_timeout=0);
SELECT * FROM x;`);
  assert.equal(err.split('\n').length, 1, err);
  assert.match(err, /databricks: statement canceled after the statement_timeout of 0\.3 s; .*\(STATEMENT_TIMEOUT, statement ([0-9a-f-]{36})\)$/);
  const id = err.match(/statement ([0-9a-f-]{36})\)$/)[1];
  const remote = await ws.api('GET', `/api/2.0/sql/statements/${id}`);
  assert.equal(remote.body.status.state, 'CANCELED');
});

test('rows stream over many chunks, complete and in order', async () => {
  const values = Array.from({ length: 500 }, (_, i) => `(${i + 1}, 'row ${i + 1}')`).join(', ');
  await sql('CREATE TABLE main.default.many (id BIGINT, label STRING)');
  await sql(`INSERT INTO main.default.many VALUES ${values}`);
  const r = await ws.api('POST', '/admin/settings', { chunk_rows: 40 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const r2 = await ws.run(`CREATE VIRTUAL TABLE many USING databricks(table='main.default.many');
SELECT id, label FROM many ORDER BY id;
SELECT chunks, rows, sql FROM dbx_statements;`);
  assert.equal(r2.code, 0, r2.stderr);
  const [rows, log] = parseResultSets(r2.stdout);
  assert.equal(rows.length, 500);
  rows.forEach((row, i) => assert.deepEqual(row, { id: i + 1, label: `row ${i + 1}` }));
  assert.deepEqual(log, [{ chunks: 13, rows: 500, sql: 'SELECT `id`, `label` FROM `main`.`default`.`many` ORDER BY `id` ASC NULLS FIRST' }]);
  await ws.api('POST', '/admin/settings', { chunk_rows: 10000 });
});

test('UPDATE and DELETE are refused with a message that says what to use', async () => {
  let err = await ws.fail(`${ORDERS}\nUPDATE orders SET id = id + 10;`);
  assert.match(err, /main\.default\.orders takes INSERT only.*dbx_exec/);
  err = await ws.fail(`${ORDERS}\nDELETE FROM orders WHERE id = 1;`);
  assert.match(err, /main\.default\.orders takes INSERT only/);
  const [n] = (await sql('SELECT count(*) AS n FROM main.default.orders')).result.data_array;
  assert.deepEqual(n, ['2']);
});

test('the module is DIRECTONLY: not usable from views or triggers', async () => {
  const err = await ws.fail(`${ORDERS}
CREATE VIEW v AS SELECT id FROM orders;
SELECT * FROM v;`);
  assert.match(err, /unsafe use of virtual table "orders"/);
});
