// dbx_exec(): DDL and DML with their result summary, and the one-line
// errors of every failure kind (missing table, missing privilege, unknown
// warehouse, bad SQL, unbound parameter, dropped connection).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { workspace } from './harness.mjs';

const READER = '11111111-2222-3333-4444-555555555555';
let ws;
before(async () => {
  ws = await workspace({
    config: {
      service_principals: [{ application_id: READER, id: 1001, display_name: 'reader', tokens: ['dapi-reader'], admin: false }],
      grants: [
        { principal: READER, securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG'] },
        { principal: READER, securable_type: 'SCHEMA', full_name: 'main.default', privileges: ['USE SCHEMA'] },
      ],
    },
  });
});
after(async () => { await ws?.stop(); });

// One line, the error class, the statement id.
const ONE_LINE = (cls) => new RegExp(`^Runtime error near line \\d+: databricks: .*\\(${cls}, statement [0-9a-f-]{36}\\)$`);

test('DDL and DML return their summary as JSON', async () => {
  const rows = await ws.query(`SELECT json_extract(dbx_exec('CREATE TABLE main.default.ev (id BIGINT, kind STRING)'), '$.state') AS ddl;
SELECT dbx_exec('INSERT INTO main.default.ev VALUES (:a, ''x''), (2, ''y''), (3, ''y'')', '{"a": 1}') AS ins;
SELECT dbx_exec('DELETE FROM main.default.ev WHERE kind = :k', '{"k": "y"}') AS del;`);
  const del = JSON.parse(rows[0].del);
  assert.equal(del.num_affected_rows, 2);
  assert.equal(del.state, 'SUCCEEDED');
  assert.match(del.statement_id, /^[0-9a-f-]{36}$/);
  const both = await ws.query(`SELECT dbx_exec('INSERT INTO main.default.ev VALUES (9, ''z'')') AS ins;`);
  const ins = JSON.parse(both[0].ins);
  assert.equal(ins.num_affected_rows, 1);
  assert.equal(ins.num_inserted_rows, 1);
  // The remote table holds what the statements did.
  const remote = await ws.api('POST', '/api/2.0/sql/statements', { statement: 'SELECT id FROM main.default.ev ORDER BY id', warehouse_id: '0000000000000001' });
  assert.deepEqual(remote.body.result.data_array, [['1'], ['9']]);
});

test('dbx_exec is direct-only and checks its arguments', async () => {
  let err = await ws.fail(`CREATE VIEW v AS SELECT dbx_exec('SELECT 1') AS x; SELECT * FROM v;`);
  assert.match(err, /unsafe use of dbx_exec/);
  err = await ws.fail(`SELECT dbx_exec();`);
  assert.match(err, /dbx_exec\(sql \[, params_json \[, options_json\]\]\) needs the SQL text/);
  err = await ws.fail(`SELECT dbx_exec('SELECT 1', '[1]');`);
  assert.match(err, /params entry 1 has no name/);
  err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"disposition": "sideways"}');`);
  assert.match(err, /disposition must be inline, external_links or auto/);
});

test('options_json: statement options are checked first, then the settings', async () => {
  // A bad statement option is named before any setting is resolved.
  for (const opts of ['{"disposition":"sideways","colour":"red"}', '{"colour":"red","disposition":"sideways"}']) {
    const err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '${opts}');`);
    assert.match(err, /disposition must be inline, external_links or auto, not 'sideways'/, opts);
  }
  let err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"colour":"red"}');`);
  assert.match(err, /unknown setting 'colour'/);
  err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"row_limit": 1, "colour": [1]}');`);
  assert.match(err, /option colour must be a string or a number/);
  err = await ws.fail(`SELECT * FROM dbx_query('SELECT 1', NULL, '{"row_limit": {}}');`);
  assert.match(err, /option row_limit must be a string or a number/);
  err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '[1]');`);
  assert.match(err, /options must be a JSON object such as \{"warehouse": "<id>", "statement_timeout": 30\}/);
  // An empty text is no options; numbers, booleans and null are values.
  const rows = await ws.query(`SELECT json_extract(dbx_exec('SELECT 1', NULL, ''), '$.state') AS s,
  (SELECT count(*) FROM dbx_query('SELECT * FROM range(10)', NULL, '{"row_limit": 3, "idempotent": true, "http_timeout_seconds": 30, "catalog": null}')) AS n;`);
  assert.deepEqual(rows, [{ s: 'SUCCEEDED', n: 3 }]);
});

test('arguments are checked in order: usage, then NUL, then JSON', async () => {
  // dbx_exec wants its SQL first; dbx_query looks at every argument first.
  let err = await ws.fail(`SELECT dbx_exec(NULL, '{"a": "' || char(0) || '"}');`);
  assert.match(err, /dbx_exec\(sql \[, params_json \[, options_json\]\]\) needs the SQL text/);
  err = await ws.fail(`SELECT * FROM dbx_query(NULL, '{"a": "' || char(0) || '"}');`);
  assert.match(err, /databricks: params_json contains a NUL character \(char\(0\)\); remove it$/m);
  err = await ws.fail(`SELECT * FROM dbx_query(NULL);`);
  assert.match(err, /dbx_query\(sql \[, params_json \[, options_json\]\]\) needs the SQL text/);
  // A NUL escape in options_json is found before params_json is parsed.
  err = await ws.fail(`SELECT * FROM dbx_query('SELECT 1', '[1]', '{"host": "a\\u0000"}');`);
  assert.match(err, /databricks: options_json contains \\u0000, a NUL character, which a value cannot carry here; remove it$/m);
  err = await ws.fail(`SELECT * FROM dbx_query('SELECT 1', '{"k": "\\u0000"}', '{"host": "a' || char(0) || '"}');`);
  assert.match(err, /params_json contains \\u0000/);
  err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"host": "a' || char(0) || '"}');`);
  assert.match(err, /databricks: options_json contains a NUL character \(char\(0\)\); remove it$/m);
  // A BLOB argument is read as text: its NUL byte counts too.
  err = await ws.fail(`SELECT dbx_exec(CAST('SELECT 1' AS BLOB) || x'00');`);
  assert.match(err, /the SQL text contains a NUL character/);
});

test('missing table', async () => {
  const err = await ws.fail(`SELECT * FROM dbx_query('SELECT * FROM main.default.nope');`);
  assert.match(err, ONE_LINE('TABLE_OR_VIEW_NOT_FOUND'));
  assert.match(err, /\[TABLE_OR_VIEW_NOT_FOUND\] The table or view `main`\.`default`\.`nope` cannot be found/);
});

test('bad SQL', async () => {
  const err = await ws.fail(`SELECT dbx_exec('SELEC 1 FROM');`);
  assert.match(err, ONE_LINE('PARSE_SYNTAX_ERROR'));
});

test('unbound parameter', async () => {
  const err = await ws.fail(`SELECT dbx_exec('SELECT :missing');`);
  assert.match(err, ONE_LINE('UNBOUND_SQL_PARAMETER'));
});

test('missing privilege', async () => {
  await ws.query(`SELECT dbx_exec('CREATE TABLE IF NOT EXISTS main.default.private (id INT)');`);
  const err = await ws.fail(`SELECT * FROM dbx_query('SELECT * FROM main.default.private');`, { env: { DATABRICKS_TOKEN: 'dapi-reader' } });
  assert.match(err, ONE_LINE('INSUFFICIENT_PERMISSIONS'));
  assert.ok(!err.includes('dapi-reader'));
  // The error says what grants it.
  assert.match(err, /does not have SELECT on Table 'main\.default\.private'.*; an owner of it or an admin can grant it: GRANT SELECT ON TABLE `main`\.`default`\.`private` TO `<user, group or application id>`/);
});

test('a missing warehouse permission says how to get it', async () => {
  const w = await workspace({
    config: {
      service_principals: [{ application_id: READER, id: 1001, display_name: 'reader', tokens: ['dapi-reader'], admin: false }],
      warehouse_permissions: [],
    },
  });
  try {
    const err = await w.fail(`SELECT dbx_exec('SELECT 1');`, { env: { DATABRICKS_TOKEN: 'dapi-reader' } });
    assert.equal(err.split('\n').length, 1, err);
    assert.match(err, /CAN_USE permission on SQL warehouse 0000000000000001.*; a workspace admin gives it under SQL Warehouses, the warehouse's Permissions, or with PATCH \/api\/2\.0\/permissions\/warehouses\/0000000000000001 and \{"access_control_list": \[\{"user_name": "<you>", "permission_level": "CAN_USE"\}\]\}/);
  } finally {
    await w.stop();
  }
});

test('unknown warehouse', async () => {
  const err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"warehouse": "/sql/1.0/warehouses/ffffffffffffffff"}');`);
  assert.match(err, /^Runtime error near line \d+: databricks: .*ffffffffffffffff.*\(RESOURCE_DOES_NOT_EXIST\)$/);
});

test('dropped connection', async () => {
  await ws.api('POST', '/admin/faults', { path: '^/api/2\\.0/sql/statements/?$', method: 'POST', drop: true, count: 100 });
  try {
    const started = Date.now();
    const err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"retry_timeout_seconds": 1}');`);
    assert.ok(Date.now() - started < 10000);
    assert.equal(err.split('\n').length, 1);
    assert.match(err, /^Runtime error near line \d+: databricks: .*(connection|dropped|closed)/i);
  } finally {
    await ws.api('DELETE', '/admin/faults');
  }
});

test('USE CATALOG / SCHEMA through dbx_exec sets the connection default, and says so', async () => {
  const admin = async (statement) => {
    const r = await ws.api('POST', '/api/2.0/sql/statements', { statement, warehouse_id: '0000000000000001' });
    assert.equal(r.body.status.state, 'SUCCEEDED', JSON.stringify(r.body));
  };
  await admin('CREATE SCHEMA IF NOT EXISTS main.sales');
  await admin('CREATE TABLE IF NOT EXISTS main.sales.orders (id BIGINT)');
  await admin('INSERT INTO main.sales.orders VALUES (1), (2), (3)');
  await admin('CREATE SCHEMA IF NOT EXISTS main.`odd``name`');
  const rows = await ws.query(`SELECT dbx_exec('USE SCHEMA sales') AS r;
SELECT dbx_config('schema') AS s, (SELECT json_extract(row, '$.n') FROM dbx_query('SELECT count(*) AS n FROM orders')) AS n;`);
  assert.deepEqual(rows, [{ s: 'sales', n: 3 }]);
  const [u] = await ws.query("SELECT dbx_exec('use main.`odd``name`;') AS r;");
  const r = JSON.parse(u.r);
  assert.equal(r.catalog, 'main');
  assert.equal(r.schema, 'odd`name');
  assert.match(r.note, /each remote statement runs in a session of its own, so this is now the default catalog and schema of this connection/);
  const [c] = await ws.query("SELECT dbx_exec('USE CATALOG main') IS NOT NULL AS ok, dbx_config('catalog') AS c, dbx_config('schema') AS s;");
  assert.deepEqual(c, { ok: 1, c: 'main', s: 'default' });
  // A USE that fails remotely changes nothing.
  const err = await ws.fail(`SELECT dbx_exec('USE SCHEMA sales');
SELECT dbx_exec('USE SCHEMA nope');`);
  assert.match(err, /SCHEMA_NOT_FOUND|not found/i);
  const [after] = await ws.query(`SELECT dbx_exec('USE SCHEMA sales') IS NOT NULL AS ok;
SELECT dbx_config('schema') AS s;`);
  assert.deepEqual(after, { s: 'sales' });
});
