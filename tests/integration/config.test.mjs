// dbx_config(): per-connection defaults, the effective configuration with
// the source of each value and secrets masked, the refusal of literal
// secrets, and the precedence options > dbx_config() > environment > profile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { workspace } from './harness.mjs';

let ws;
before(async () => { ws = await workspace(); });
after(async () => { await ws?.stop(); });

test('dbx_config() shows each value with its source and masks secrets', async () => {
  const [r] = await ws.query(`SELECT dbx_config() AS c;`);
  const c = JSON.parse(r.c);
  assert.deepEqual(c.host, { value: ws.env.DATABRICKS_HOST, source: 'env' });
  assert.deepEqual(c.token, { value: '***', source: 'env' });
  assert.deepEqual(c.warehouse_id, { value: '0000000000000001', source: 'env' });
  assert.ok(!r.c.includes(ws.env.DATABRICKS_TOKEN));
  const [one] = await ws.query(`SELECT dbx_config('token') AS t, dbx_config('warehouse') AS w, dbx_config('catalog') AS c;`);
  assert.deepEqual(one, { t: '***', w: '0000000000000001', c: null });
});

test('dbx_config(key, value) sets a connection default that beats the environment', async () => {
  const rows = await ws.query(`SELECT dbx_config('warehouse', '/sql/1.0/warehouses/abcdef0123456789') AS w;
SELECT json_extract(dbx_config(), '$.warehouse_id') AS w;`);
  assert.deepEqual(rows, [{ w: '{"value":"abcdef0123456789","source":"dbx_config"}' }]);
  // The session default is used ... and an explicit option beats it.
  const err = await ws.fail(`SELECT dbx_config('warehouse', 'abcdef0123456789');
SELECT dbx_exec('SELECT 1');`);
  assert.match(err, /abcdef0123456789.*RESOURCE_DOES_NOT_EXIST/);
  const ok = await ws.query(`SELECT dbx_config('warehouse', 'abcdef0123456789');
SELECT row FROM dbx_query('SELECT 1 AS x', NULL, '{"warehouse": "0000000000000001"}');`);
  assert.deepEqual(ok, [{ row: '{"x":1}' }]);
  // NULL clears the default again.
  const back = await ws.query(`SELECT dbx_config('warehouse', 'abcdef0123456789');
SELECT dbx_config('warehouse', NULL);
SELECT dbx_config('warehouse') AS w;`);
  assert.deepEqual(back, [{ w: '0000000000000001' }]);
});

test('catalog and schema defaults apply to unqualified names', async () => {
  const rows = await ws.query(`SELECT dbx_config('catalog', 'main'), dbx_config('schema', 'default');
SELECT dbx_exec('CREATE TABLE IF NOT EXISTS plain (id INT)');
SELECT dbx_exec('INSERT INTO plain VALUES (7)');
SELECT row FROM dbx_query('SELECT id FROM plain');`);
  assert.deepEqual(rows, [{ row: '{"id":7}' }]);
  const remote = await ws.api('GET', '/api/2.1/unity-catalog/tables/main.default.plain');
  assert.equal(remote.status, 200);
});

test('secrets are refused as literals, with the way to pass them', async () => {
  let err = await ws.fail(`SELECT dbx_config('token', 'dapi-literal-secret');`);
  assert.match(err, /dbx_config\(\) does not take secrets: token .*env:NAME/);
  assert.ok(!err.includes('dapi-literal-secret'));
  err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"token": "dapi-literal-secret"}');`);
  assert.match(err, /token must not be given as a literal value.*token='env:NAME'/);
  assert.ok(!err.includes('dapi-literal-secret'));
  err = await ws.fail(`SELECT dbx_config('http_timeout_seconds', '5');`);
  assert.match(err, /dbx_config\(\) sets profile, host, warehouse, catalog or schema, not 'http_timeout_seconds'/);
  // env: references are fine in options.
  const ok = await ws.query(`SELECT row FROM dbx_query('SELECT 1 AS x', NULL, '{"token": "env:MY_TOKEN"}');`,
    { env: { MY_TOKEN: ws.env.DATABRICKS_TOKEN, DATABRICKS_TOKEN: '' } });
  assert.deepEqual(ok, [{ row: '{"x":1}' }]);
});

test('a named profile of ~/.databrickscfg fills what the environment leaves unset', async () => {
  await writeFile(path.join(ws.home, '.databrickscfg'),
    `[DEFAULT]\nhost = http://127.0.0.1:1\n\n[dev]\nhost = ${ws.env.DATABRICKS_HOST}\ntoken = ${ws.env.DATABRICKS_TOKEN}\nwarehouse_id = 0000000000000001\n`);
  const env = { DATABRICKS_HOST: '', DATABRICKS_TOKEN: '', DATABRICKS_WAREHOUSE_ID: '' };
  const rows = await ws.query(`SELECT dbx_config('profile', 'dev');
SELECT json_extract(dbx_config(), '$.host.source') AS src, json_extract(dbx_config(), '$.token.value') AS tok;
SELECT row FROM dbx_query('SELECT 5 AS five');`, { env });
  assert.deepEqual(rows, [{ row: '{"five":5}' }]);
  const [c] = await ws.query(`SELECT dbx_config('profile', 'dev');
SELECT json_extract(dbx_config(), '$.host.source') AS src, json_extract(dbx_config(), '$.token.value') AS tok;`, { env });
  assert.deepEqual(c, { src: 'profile', tok: '***' });
});

test('with nothing configured, dbx_config() says what is missing and queries fail clearly', async () => {
  const env = { DATABRICKS_HOST: '', DATABRICKS_TOKEN: '', DATABRICKS_WAREHOUSE_ID: '' };
  const [r] = await ws.query(`SELECT dbx_config() AS c;`, { env, home: '/nonexistent-home' });
  const c = JSON.parse(r.c);
  assert.match(c.error, /^databricks: .*host/);
  const err = await ws.fail(`SELECT dbx_exec('SELECT 1');`, { env, home: '/nonexistent-home' });
  assert.match(err, /databricks: .*host/);
  assert.equal(err.split('\n').length, 1);
});
