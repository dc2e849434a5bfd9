// The discovery functions dbx_catalogs, dbx_schemas, dbx_tables and
// dbx_volumes: what they return (types, times, the columns JSON), pages
// followed to the end, Unity Catalog visibility for a non-admin principal,
// odd names passed through unchanged, one-line errors for a missing
// catalog or schema, options_json (token by reference, host, page_size),
// and refusal inside views and triggers (DIRECTONLY).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { workspace } from './harness.mjs';

const ODD_SCHEMA = 'odd sch`ema é';
const ODD_TABLE = 'a b`c ü';
const MANY = 23; // tables in main.many: several pages at page_size 5

const CONFIG = {
  users: [
    { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
    { user_name: 'reader@dbx.local', tokens: ['dapi-reader'] },
  ],
  catalogs: [
    { name: 'main', comment: 'the main catalog', schemas: [{ name: 'default' }, { name: 'many' }, { name: ODD_SCHEMA }] },
    { name: 'one', schemas: [{ name: 'only', comment: 'the only schema' }] },
    { name: 'empty', schemas: [] },
  ],
  grants: [
    { principal: 'reader@dbx.local', securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG'] },
    { principal: 'reader@dbx.local', securable_type: 'SCHEMA', full_name: 'main.default', privileges: ['USE SCHEMA'] },
    { principal: 'reader@dbx.local', securable_type: 'TABLE', full_name: 'main.default.visible', privileges: ['SELECT'] },
  ],
};

const READER = { env: { DATABRICKS_TOKEN: 'dapi-reader' } };

let ws;
before(async () => {
  ws = await workspace({ config: CONFIG });
  await sql("CREATE TABLE main.default.visible (id BIGINT NOT NULL COMMENT 'the key', amount DECIMAL(10,2), tags ARRAY<STRING>) COMMENT 'seen by the reader'");
  await sql('CREATE TABLE main.default.hidden (id BIGINT)');
  await sql(`CREATE TABLE main.\`${ODD_SCHEMA.replace(/`/g, '``')}\`.\`${ODD_TABLE.replace(/`/g, '``')}\` (x INT)`);
  for (let i = 0; i < MANY; i++) await sql(`CREATE TABLE main.many.t${String(i).padStart(2, '0')} (id BIGINT)`);
  const r = await ws.api('POST', '/api/2.1/unity-catalog/volumes', { catalog_name: 'main', schema_name: 'default', name: 'landing', volume_type: 'MANAGED', comment: 'files' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
});
after(async () => { await ws?.stop(); });

// Runs SQL remotely as the admin, through the Statement Execution API.
const sql = (statement) => ws.sql(statement);

// GET requests dbx-local logged for a Unity Catalog list path since the log was cleared.
async function listCalls(what) {
  const r = await ws.api('GET', '/admin/requests');
  return r.body.requests.filter((x) => x.method === 'GET' && x.path === `/api/2.1/unity-catalog/${what}`).length;
}

// A SQL string literal.
const lit = (s) => `'${s.replace(/'/g, "''")}'`;

test('dbx_catalogs lists every catalog with its fields; times are UTC text', async () => {
  const rows = await ws.query(`SELECT name, catalog_type, owner, comment, created_by, typeof(created_at) AS t,
  datetime(created_at) IS NOT NULL AS parses, created_at <= updated_at AS ordered,
  created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*' AS shape
FROM dbx_catalogs() ORDER BY name;`);
  assert.deepEqual(rows, [
    { name: 'empty', catalog_type: 'MANAGED_CATALOG', owner: 'admin@dbx.local', comment: null, created_by: 'admin@dbx.local', t: 'text', parses: 1, ordered: 1, shape: 1 },
    { name: 'main', catalog_type: 'MANAGED_CATALOG', owner: 'admin@dbx.local', comment: 'the main catalog', created_by: 'admin@dbx.local', t: 'text', parses: 1, ordered: 1, shape: 1 },
    { name: 'one', catalog_type: 'MANAGED_CATALOG', owner: 'admin@dbx.local', comment: null, created_by: 'admin@dbx.local', t: 'text', parses: 1, ordered: 1, shape: 1 },
  ]);
  // the time is the one Unity Catalog sent, in milliseconds
  const uc = await ws.api('GET', '/api/2.1/unity-catalog/catalogs/main');
  const [t] = await ws.query("SELECT CAST(round((julianday(created_at) - 2440587.5) * 86400000) AS INTEGER) AS ms FROM dbx_catalogs() WHERE name = 'main';");
  assert.equal(t.ms, uc.body.created_at);
});

test('an empty catalog has no schemas; one schema is one row', async () => {
  assert.deepEqual(await ws.query("SELECT count(*) AS n FROM dbx_schemas('empty');"), [{ n: 0 }]);
  const rows = await ws.query("SELECT catalog, name, full_name, comment, owner, catalog_name FROM dbx_schemas('one');");
  assert.deepEqual(rows, [{ catalog: 'one', name: 'only', full_name: 'one.only', comment: 'the only schema', owner: 'admin@dbx.local', catalog_name: 'one' }]);
});

test('dbx_tables gives each table its columns as JSON', async () => {
  const [row] = await ws.query(`SELECT catalog, schema, name, full_name, table_type, data_source_format, comment, owner,
  columns, json_valid(properties) AS props FROM dbx_tables('main', 'default') WHERE name = 'visible';`);
  assert.deepEqual({ ...row, columns: JSON.parse(row.columns) }, {
    catalog: 'main', schema: 'default', name: 'visible', full_name: 'main.default.visible', table_type: 'MANAGED',
    data_source_format: 'DELTA', comment: 'seen by the reader', owner: 'admin@dbx.local', props: 1,
    columns: [
      { name: 'id', type: 'bigint', nullable: false, comment: 'the key' },
      { name: 'amount', type: 'decimal(10,2)', nullable: true, comment: null },
      { name: 'tags', type: 'array<string>', nullable: true, comment: null },
    ],
  });
  // columns is JSON to SQLite's json functions
  const cols = await ws.query(`SELECT c.value ->> 'name' AS col FROM dbx_tables('main', 'default') t, json_each(t.columns) c
WHERE t.name = 'visible' AND c.value ->> 'nullable' = 1;`);
  assert.deepEqual(cols.map((c) => c.col), ['amount', 'tags']);
});

test('many tables: every page is followed, page by page', async () => {
  const want = Array.from({ length: MANY }, (_, i) => `t${String(i).padStart(2, '0')}`);
  for (const [pageSize, pages] of [[5, Math.ceil(MANY / 5)], [1, MANY], [0, 1]]) {
    await ws.api('DELETE', '/admin/requests');
    const rows = await ws.query(`SELECT rowid, name FROM dbx_tables('main', 'many', '{"page_size": ${pageSize}}');`);
    assert.deepEqual(rows.map((r) => r.name).sort(), want, `page_size ${pageSize}`);
    assert.deepEqual(rows.map((r) => r.rowid), want.map((_, i) => i + 1));
    assert.equal(await listCalls('tables'), pages, `page_size ${pageSize}`);
  }
  // a LIMIT stops reading: no page after the one that held the last row
  await ws.api('DELETE', '/admin/requests');
  const rows = await ws.query(`SELECT name FROM dbx_tables('main', 'many', '{"page_size": 5}') LIMIT 3;`);
  assert.equal(rows.length, 3);
  assert.equal(await listCalls('tables'), 1);
});

test('a non-admin principal sees only what it may', async () => {
  const cats = await ws.query('SELECT name FROM dbx_catalogs() ORDER BY name;', READER);
  assert.deepEqual(cats, [{ name: 'main' }]);
  const tables = await ws.query("SELECT name FROM dbx_tables('main', 'default') ORDER BY name;", READER);
  assert.deepEqual(tables, [{ name: 'visible' }]);
  const err = await ws.fail("SELECT * FROM dbx_schemas('one');", READER);
  assert.equal(err.split('\n').length, 1, err);
  assert.match(err, /no permission to list schemas of `one`: ask for USE CATALOG on `one`.*\(PERMISSION_DENIED\)/);
  // the admin's token by reference, in options_json, sees more
  const all = await ws.query(`SELECT name FROM dbx_catalogs('{"token": "env:ADMIN_TOKEN"}') ORDER BY name;`,
    { env: { DATABRICKS_TOKEN: 'dapi-reader', ADMIN_TOKEN: 'dapi-local-admin' } });
  assert.deepEqual(all.map((r) => r.name), ['empty', 'main', 'one']);
});

test('odd names (spaces, backticks, unicode) pass through unchanged', async () => {
  const schemas = await ws.query("SELECT name FROM dbx_schemas('main') ORDER BY name;");
  assert.deepEqual(schemas.map((r) => r.name), ['default', 'many', ODD_SCHEMA]);
  const rows = await ws.query(`SELECT catalog, schema, name, full_name FROM dbx_tables('main', ${lit(ODD_SCHEMA)});`);
  assert.deepEqual(rows, [{ catalog: 'main', schema: ODD_SCHEMA, name: ODD_TABLE, full_name: `main.${ODD_SCHEMA}.${ODD_TABLE}` }]);
  // a join feeds each schema's name to dbx_tables; WHERE works like the arguments
  const joined = await ws.query(`SELECT t.schema, count(*) AS n FROM dbx_schemas('main') s, dbx_tables(s.catalog, s.name) t
GROUP BY 1 ORDER BY 1;`);
  assert.deepEqual(joined, [{ schema: 'default', n: 2 }, { schema: 'many', n: MANY }, { schema: ODD_SCHEMA, n: 1 }]);
  const where = await ws.query(`SELECT name FROM dbx_tables WHERE catalog = 'main' AND schema = ${lit(ODD_SCHEMA)};`);
  assert.deepEqual(where, [{ name: ODD_TABLE }]);
});

test('dbx_volumes lists the volumes of a schema', async () => {
  const rows = await ws.query("SELECT catalog, schema, name, full_name, volume_type, comment, owner FROM dbx_volumes('main', 'default');");
  assert.deepEqual(rows, [{ catalog: 'main', schema: 'default', name: 'landing', full_name: 'main.default.landing', volume_type: 'MANAGED', comment: 'files', owner: 'admin@dbx.local' }]);
  assert.deepEqual(await ws.query("SELECT count(*) AS n FROM dbx_volumes('main', 'many');"), [{ n: 0 }]);
});

test('a missing catalog or schema is one line with the error class', async () => {
  let err = await ws.fail("SELECT * FROM dbx_schemas('nope');");
  assert.equal(err.split('\n').length, 1, err);
  assert.match(err, /catalog `nope` not found: check its name and that you have USE CATALOG on it \(CATALOG_DOES_NOT_EXIST\)/);
  err = await ws.fail("SELECT * FROM dbx_tables('main', 'nope');");
  assert.equal(err.split('\n').length, 1, err);
  assert.match(err, /schema `main`\.`nope` not found: .*USE SCHEMA.*\(SCHEMA_DOES_NOT_EXIST\)/);
  err = await ws.fail("SELECT * FROM dbx_volumes('nope', 'x');");
  assert.match(err, /(catalog `nope`|schema `nope`\.`x`) not found/);
});

test('arguments: names required, no NUL, options checked', async () => {
  let err = await ws.fail('SELECT * FROM dbx_schemas();');
  assert.match(err, /dbx_schemas\(catalog \[, options_json\]\) needs the catalog name/);
  err = await ws.fail("SELECT * FROM dbx_tables('main');");
  assert.match(err, /dbx_tables\(catalog, schema \[, options_json\]\) needs the schema name/);
  err = await ws.fail("SELECT * FROM dbx_tables('main', NULL);");
  assert.match(err, /needs the schema name/);
  err = await ws.fail("SELECT * FROM dbx_tables('', 'default');");
  assert.match(err, /needs the catalog name \(got ''\)/);
  err = await ws.fail("SELECT * FROM dbx_schemas('main' || char(0) || 'x');");
  assert.match(err, /the catalog name contains a NUL character/);
  err = await ws.fail("SELECT * FROM dbx_catalogs('{\"host\": \"a\\u0000b\"}');");
  assert.match(err, /options_json contains \\u0000/);
  err = await ws.fail("SELECT * FROM dbx_catalogs('[1]');");
  assert.match(err, /options must be a JSON object/);
  for (const bad of ['-1', '1.5', '"x"', '3000000000', 'true']) {
    err = await ws.fail(`SELECT * FROM dbx_catalogs('{"page_size": ${bad}}');`);
    assert.match(err, /page_size must be a whole number from 0/, bad);
  }
  err = await ws.fail(`SELECT * FROM dbx_catalogs('{"colour": "red"}');`);
  assert.match(err, /unknown setting 'colour'/);
  err = await ws.fail(`SELECT * FROM dbx_catalogs('{"token": "dapi-local-admin"}');`);
  assert.match(err, /env:/);
  assert.doesNotMatch(err, /dapi-local-admin/);
  // page_size as a numeric string is fine, and the hidden columns echo the arguments
  const rows = await ws.query(`SELECT catalog_name, schema_name, options FROM dbx_tables('main', 'default', '{"page_size": "1"}') LIMIT 1;`);
  assert.deepEqual(rows, [{ catalog_name: 'main', schema_name: 'default', options: '{"page_size": "1"}' }]);
});

test('arguments: the order of the checks, and what options_json accepts', async () => {
  // Names are checked before options_json is read; a NUL byte is found first.
  let err = await ws.fail("SELECT * FROM dbx_tables('', 'default', '{\"host\": \"a\\u0000b\"}');");
  assert.match(err, /dbx_tables\(catalog, schema \[, options_json\]\) needs the catalog name \(got ''\)/);
  err = await ws.fail("SELECT * FROM dbx_tables('main', 'd' || char(0), '{\"host\": \"a\\u0000b\"}');");
  assert.match(err, /the schema name contains a NUL character \(char\(0\)\); remove it/);
  err = await ws.fail("SELECT * FROM dbx_tables('main', 'default', '{\"host\": \"a' || char(0) || '\"}');");
  assert.match(err, /databricks: options_json contains a NUL character \(char\(0\)\); remove it$/m);
  err = await ws.fail("SELECT * FROM dbx_catalogs('{\"host\": \"a\\u0000b\"}');");
  assert.match(err, /databricks: options_json contains \\u0000, a NUL character, which a value cannot carry here; remove it$/m);
  // An empty text is not an object here (dbx_query takes it as no options).
  err = await ws.fail("SELECT * FROM dbx_catalogs('');");
  assert.match(err, /options must be a JSON object such as \{"host": "https:\/\/\.\.\.", "page_size": 100\}/);
  // Members are read in order: the first bad one is named.
  err = await ws.fail(`SELECT * FROM dbx_catalogs('{"x": [], "page_size": -1}');`);
  assert.match(err, /option x must be a string or a number/);
  for (const bad of ['[]', 'null', '""', '{}']) {
    err = await ws.fail(`SELECT * FROM dbx_catalogs('{"page_size": ${bad}, "x": []}');`);
    assert.match(err, /page_size must be a whole number from 0/, bad);
  }
  // Statement options mean nothing to a list call: they are unknown settings.
  err = await ws.fail(`SELECT * FROM dbx_catalogs('{"disposition": "inline"}');`);
  assert.match(err, /unknown setting 'disposition'/);
  // Numbers, booleans and null are values of settings; a bad one is named.
  err = await ws.fail(`SELECT * FROM dbx_catalogs('{"http_timeout_seconds": true}');`);
  assert.match(err, /http_timeout_seconds/);
  const rows = await ws.query(`SELECT count(*) AS n FROM dbx_schemas('one', '{"http_timeout_seconds": 30, "catalog": null, "page_size": 1e1}');`);
  assert.deepEqual(rows, [{ n: 1 }]);
});

test('host and token from options_json work without the environment', async () => {
  const opts = JSON.stringify({ host: ws.server.url, token: 'env:MY_TOKEN' });
  const rows = await ws.query(`SELECT name FROM dbx_catalogs(${lit(opts)}) ORDER BY name;`,
    { env: { DATABRICKS_HOST: '', DATABRICKS_TOKEN: '', MY_TOKEN: 'dapi-local-admin' } });
  assert.deepEqual(rows.map((r) => r.name), ['empty', 'main', 'one']);
  const err = await ws.fail('SELECT name FROM dbx_catalogs();', { env: { DATABRICKS_HOST: '', DATABRICKS_TOKEN: '' } });
  assert.match(err, /host/);
});

test('refused inside views and triggers (they use the network)', async () => {
  for (const fn of ["dbx_catalogs()", "dbx_schemas('main')", "dbx_tables('main', 'default')", "dbx_volumes('main', 'default')"]) {
    let err = await ws.fail(`CREATE VIEW v AS SELECT * FROM ${fn};\nSELECT * FROM v;`);
    assert.match(err, /unsafe use of virtual table/, fn);
    err = await ws.fail(`CREATE TABLE t(x); CREATE TABLE log(n);
CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log SELECT count(*) FROM ${fn}; END;
INSERT INTO t VALUES (1);`);
    assert.match(err, /unsafe use of virtual table/, fn);
  }
});

// A stand-in server that answers the list calls with canned pages, for what
// dbx-local would never send: odd times, a page token that comes back,
// fields of the wrong type.
async function cannedServer(pages) {
  const http = await import('node:http');
  const seen = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    seen.push(url.pathname + url.search);
    const body = pages(url);
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error_code: 'NOT_FOUND', message: 'no such page' }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `http://127.0.0.1:${server.address().port}`;
  return {
    seen,
    env: { env: { DATABRICKS_HOST: host, DATABRICKS_TOKEN: 'dapi-canned' } },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

test('times: UTC text to the millisecond, from year 0000 to 9999', async () => {
  const times = [0, -1, 1500, 951782400000, 1700000000120, 253402300799999, -62167219200000];
  const srv = await cannedServer((url) => (url.pathname.endsWith('/catalogs')
    ? { catalogs: times.map((t) => ({ name: `c${t}`, created_at: t, updated_at: null })) } : undefined));
  try {
    const rows = await ws.query('SELECT created_at, updated_at FROM dbx_catalogs() ORDER BY rowid;', srv.env);
    assert.deepEqual(rows.map((r) => r.created_at), [
      '1970-01-01 00:00:00', '1969-12-31 23:59:59.999', '1970-01-01 00:00:01.5', '2000-02-29 00:00:00',
      '2023-11-14 22:13:20.12', '9999-12-31 23:59:59.999', '0000-01-01 00:00:00',
    ]);
    assert.ok(rows.every((r) => r.updated_at === null));
    // SQLite's date functions read them back as the same instants
    const back = await ws.query(`SELECT CAST(round((julianday(created_at) - 2440587.5) * 86400000) AS INTEGER) AS ms,
  CAST(substr(name, 2) AS INTEGER) AS sent FROM dbx_catalogs() ORDER BY rowid;`, srv.env);
    assert.deepEqual(back.map((r) => r.ms), times);
    assert.deepEqual(back.map((r) => r.sent), times);
  } finally {
    await srv.close();
  }
});

test('a page token that comes back is an error, not an endless loop', async () => {
  const srv = await cannedServer((url) => {
    const tok = url.searchParams.get('page_token');
    if (!url.pathname.endsWith('/catalogs')) return undefined;
    return { catalogs: [{ name: `after-${tok ?? 'start'}` }], next_page_token: tok === 'B' ? 'A' : tok === 'A' ? 'B' : 'A' };
  });
  try {
    const err = await ws.fail('SELECT name FROM dbx_catalogs();', srv.env);
    assert.equal(err.split('\n').length, 1, err);
    assert.match(err, /Unity Catalog sent a next_page_token it had already sent.*listing catalogs \(GET \/api\/2\.1\/unity-catalog\/catalogs\)/);
    assert.deepEqual(srv.seen, [
      '/api/2.1/unity-catalog/catalogs?max_results=0',
      '/api/2.1/unity-catalog/catalogs?max_results=0&page_token=A',
      '/api/2.1/unity-catalog/catalogs?max_results=0&page_token=B',
    ]);
  } finally {
    await srv.close();
  }
});

test('fields of the wrong type are one-line errors; a type_name stands in for type_text', async () => {
  let reply;
  const srv = await cannedServer((url) => (url.pathname.startsWith('/api/2.1/unity-catalog/') ? reply : undefined));
  try {
    for (const [body, want] of [
      [{ catalogs: [{ name: 42 }] }, /a catalog whose name is not a string/],
      [{ catalogs: [{ comment: 'x' }] }, /a catalog without a name/],
      [{ catalogs: [{ name: 'a', owner: { x: 1 } }] }, /a catalog whose owner is not a string/],
      [{ catalogs: [{ name: 'a', created_at: '2024-01-01' }] }, /a catalog whose created_at is not a time in milliseconds/],
      [{ catalogs: 'all of them' }, /a page whose catalogs is not a list/],
    ]) {
      reply = body;
      const err = await ws.fail('SELECT * FROM dbx_catalogs();', srv.env);
      assert.equal(err.split('\n').length, 1, err);
      assert.match(err, want);
    }
    reply = { tables: [{ name: 't', columns: [{ name: 'a', type_name: 'LONG' }, { name: 'b', type_text: 'string', nullable: true, position: 1 }] }] };
    const [row] = await ws.query("SELECT columns, catalog, schema FROM dbx_tables('c', 's');", srv.env);
    assert.deepEqual(JSON.parse(row.columns), [
      { name: 'a', type: 'LONG', nullable: true, comment: null },
      { name: 'b', type: 'string', nullable: true, comment: null },
    ]);
    assert.deepEqual([row.catalog, row.schema], ['c', 's']);
    reply = { tables: [{ name: 't', columns: [{ name: 'a', nullable: 'no' }] }] };
    const err = await ws.fail("SELECT name FROM dbx_tables('c', 's');", srv.env);
    assert.match(err, /table `t` with a column whose nullable is malformed/);
  } finally {
    await srv.close();
  }
});

test('only the columns read are asked for: omit_columns and omit_properties', async () => {
  const srv = await cannedServer(() => ({ tables: [{ name: 't' }] }));
  try {
    await ws.query("SELECT name FROM dbx_tables('c', 's');", srv.env);
    await ws.query("SELECT columns FROM dbx_tables('c', 's');", srv.env);
    await ws.query("SELECT properties FROM dbx_tables('c', 's', '{\"page_size\": 3}');", srv.env);
    await ws.query("SELECT * FROM dbx_tables('c', 's');", srv.env);
    assert.deepEqual(srv.seen, [
      '/api/2.1/unity-catalog/tables?max_results=0&catalog_name=c&schema_name=s&omit_columns=true&omit_properties=true',
      '/api/2.1/unity-catalog/tables?max_results=0&catalog_name=c&schema_name=s&omit_properties=true',
      '/api/2.1/unity-catalog/tables?max_results=3&catalog_name=c&schema_name=s&omit_columns=true',
      '/api/2.1/unity-catalog/tables?max_results=0&catalog_name=c&schema_name=s',
    ]);
  } finally {
    await srv.close();
  }
});
