// dbx_config(): per-connection defaults, the effective configuration with
// the source of each value and secrets masked, the refusal of literal
// secrets, and the precedence options > dbx_config() > environment > profile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { parseResultSets, workspace } from './harness.mjs';

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
  assert.match(err, /token must not be given as a literal value.*token='env:NAME'/);
  assert.ok(!err.includes('dapi-literal-secret'));
  err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"token": "dapi-literal-secret"}');`);
  assert.match(err, /token must not be given as a literal value.*token='env:NAME'/);
  assert.ok(!err.includes('dapi-literal-secret'));
  // env: references are fine in options and as connection defaults.
  const env = { MY_TOKEN: ws.env.DATABRICKS_TOKEN, DATABRICKS_TOKEN: '' };
  const ok = await ws.query(`SELECT row FROM dbx_query('SELECT 1 AS x', NULL, '{"token": "env:MY_TOKEN"}');`, { env });
  assert.deepEqual(ok, [{ row: '{"x":1}' }]);
  const [viaDefault] = await ws.query(`SELECT dbx_config('token', 'env:MY_TOKEN');
SELECT row, json_extract(dbx_config(), '$.token') AS t FROM dbx_query('SELECT 2 AS x');`, { env });
  assert.deepEqual(viaDefault, { row: '{"x":2}', t: '{"value":"***","source":"dbx_config"}' });
});

test('dbx_config(key, value) takes every setting; an unknown key is an error naming them', async () => {
  const [r] = await ws.query(`SELECT dbx_config('HTTP_TIMEOUT_SECONDS', '5'), dbx_config('scopes', 'sql'),
  dbx_config('wait_timeout', '30s'), dbx_config('disposition', 'inline');
SELECT dbx_config() AS c, dbx_config('http_timeout_seconds') AS h, dbx_config('wait_timeout') AS w;`);
  const c = JSON.parse(r.c);
  assert.deepEqual(c.http_timeout_seconds, { value: '5', source: 'dbx_config' });
  assert.deepEqual(c.scopes, { value: 'sql', source: 'dbx_config' });
  assert.deepEqual(c.wait_timeout, { value: '30s', source: 'dbx_config' });
  assert.deepEqual(c.disposition, { value: 'inline', source: 'dbx_config' });
  assert.equal(r.h, '5');
  assert.equal(r.w, '30s');
  for (const sql of [`SELECT dbx_config('hots', 'x');`, `SELECT dbx_config('hots');`]) {
    const err = await ws.fail(sql);
    assert.match(err, /databricks: dbx_config\(\): unknown setting 'hots'; the settings are warehouse, host, .*ca_bundle, disposition, statement_timeout, wait_timeout, row_limit$/);
  }
  let err = await ws.fail(`SELECT dbx_config('wait_timeout', '3');`);
  assert.match(err, /wait_timeout must be 0 or 5 to 50 seconds/);
  err = await ws.fail(`SELECT dbx_config('retry_timeout_seconds', '-1');`);
  assert.match(err, /invalid retry_timeout_seconds/);
  // safe-to-repeat is said of one statement, never of a whole connection
  err = await ws.fail(`SELECT dbx_config('idempotent', 'true');`);
  assert.match(err, /dbx_config\(\): idempotent vouches for one statement and is no connection default/);
});

test('statement defaults of dbx_config() reach dbx_query, dbx_exec and tables; their own options win', async () => {
  const q = 'SELECT id FROM range(10) AS t(id)';
  const [r] = await ws.query(`SELECT dbx_config('row_limit', 2);
CREATE VIRTUAL TABLE q USING databricks(query='${q}');
CREATE VIRTUAL TABLE q3 USING databricks(query='${q}', row_limit=3);
SELECT (SELECT count(*) FROM dbx_query('${q}')) AS query,
  (SELECT count(*) FROM dbx_query('${q}', NULL, '{"row_limit": 5}')) AS own,
  (SELECT count(*) FROM q) AS tab, (SELECT count(*) FROM q3) AS tab3,
  json_extract(dbx_exec('${q}'), '$.total_row_count') AS exec;`);
  assert.deepEqual(r, { query: 2, own: 5, tab: 2, tab3: 3, exec: 2 });
  // the default applies when a statement runs, and clearing it ends it
  const out = await ws.run(`CREATE VIRTUAL TABLE q USING databricks(query='${q}');
SELECT count(*) AS n FROM q;
SELECT dbx_config('row_limit', 4) AS d;
SELECT count(*) AS n FROM q;
SELECT dbx_config('row_limit', NULL) AS d;
SELECT count(*) AS n FROM q;`);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(parseResultSets(out.stdout),
    [[{ n: 10 }], [{ d: '4' }], [{ n: 4 }], [{ d: null }], [{ n: 10 }]]);
});

test('a password in a host URL is refused and never shown', async () => {
  let err = await ws.fail(`SELECT dbx_config('host', 'https://me:pa55word@dbc-1.cloud.databricks.com');`);
  assert.match(err, /databricks: host must not contain a user name or password \(host in dbx_config\(\)\)/);
  assert.ok(!err.includes('pa55word'));
  const env = { DATABRICKS_HOST: ws.env.DATABRICKS_HOST.replace('://', '://me:pa55word@') };
  const [r] = await ws.query(`SELECT dbx_config() AS c;`, { env });
  assert.ok(!r.c.includes('pa55word'));
  assert.match(JSON.parse(r.c).error, /host must not contain a user name or password \(host in DATABRICKS_HOST\)/);
  err = await ws.fail(`SELECT dbx_exec('SELECT 1');`, { env });
  assert.ok(!err.includes('pa55word'));
});

test('config file errors name the file and line, never a value; odd files do not hang', async () => {
  const env = { DATABRICKS_HOST: '', DATABRICKS_TOKEN: '' };
  const cfg = path.join(ws.home, '.databrickscfg');
  await writeFile(cfg, `[DEFAULT]\nhost = ${ws.env.DATABRICKS_HOST}\ntoken = s3cr3t-value\n\n[DEFAULT]\nTOKEN = s3cr3t-value\n`);
  let err = await ws.fail(`SELECT dbx_exec('SELECT 1');`, { env });
  assert.ok(err.endsWith(`databricks: malformed config file ${cfg} line 6: key token appears twice in [DEFAULT] (first at line 3): keep one`), err);
  assert.ok(!err.includes('s3cr3t'));
  // CR-only line ends and a byte order mark, as editors write them
  await writeFile(cfg, `\ufeff[DEFAULT]\rHOST = ${ws.env.DATABRICKS_HOST}\rtoken: ${ws.env.DATABRICKS_TOKEN}\r`);
  assert.deepEqual(await ws.query(`SELECT row FROM dbx_query('SELECT 3 AS x');`, { env }), [{ row: '{"x":3}' }]);
  // a mistyped profile: the error lists those that exist
  await writeFile(cfg, '[prod]\nhost = a\n[dev]\nhost = b\n');
  err = await ws.fail(`SELECT dbx_config('profile', 'prdo'); SELECT dbx_exec('SELECT 1');`, { env });
  assert.match(err, /profile 'prdo' not found in .*, which has \[prod\], \[dev\]: name one of them/);
  // not a regular file: refused at once instead of reading forever
  const t0 = Date.now();
  err = await ws.fail(`SELECT dbx_config('config_file', '/dev/zero'); SELECT dbx_exec('SELECT 1');`, { env });
  assert.match(err, /config file \/dev\/zero is not a regular file: give the path of a file of at most 1 MiB/);
  assert.ok(Date.now() - t0 < 20000);
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
