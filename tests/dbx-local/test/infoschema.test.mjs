// information_schema: `<catalog>.information_schema.<view>` and `system.information_schema.<view>`
// (catalogs, schemata, tables, columns, volumes) with the documented column names, rows limited to
// what the principal may see, and no writes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEngine, SqlError } from '../lib/engine.mjs';

let dir, engine;
const admin = { kind: 'user', name: 'admin@dbx.local', displayName: 'admin', admin: true };
const alice = { kind: 'user', name: 'alice@dbx.local', displayName: 'alice', admin: false };
const bob = { kind: 'user', name: 'bob@dbx.local', displayName: 'bob', admin: false };
const carol = { kind: 'user', name: 'carol@dbx.local', displayName: 'carol', admin: false };
const x = (sql, principal = admin) => engine.execute(sql, { principal });
const rows = async (sql, principal) => (await x(sql, principal)).rows;
const failure = async (p) => {
  try { await p; } catch (e) { assert.ok(e instanceof SqlError, e.stack); return e; }
  return assert.fail('expected an error');
};

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-info-'));
  engine = await openEngine({
    dataDir: dir,
    config: {
      users: [admin, alice, bob, carol].map((u) => ({ user_name: u.name, admin: u.admin })),
      catalogs: [{ name: 'main', schemas: [{ name: 'default' }, { name: 'sales', comment: 'orders and more' }] }, { name: 'other', schemas: [{ name: 's' }] }],
      grants: [
        { principal: alice.name, securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG'] },
        { principal: alice.name, securable_type: 'SCHEMA', full_name: 'main.sales', privileges: ['USE SCHEMA'] },
        { principal: alice.name, securable_type: 'TABLE', full_name: 'main.sales.orders', privileges: ['SELECT'] },
        { principal: bob.name, securable_type: 'TABLE', full_name: 'main.sales.refunds', privileges: ['BROWSE'] },
      ],
    },
  });
  await x(`CREATE TABLE main.sales.orders (id BIGINT NOT NULL COMMENT 'order id', amount DECIMAL(10,2), placed TIMESTAMP,
    day DATE, tags ARRAY<STRING>, ok BOOLEAN, at INT, v VARIANT) COMMENT 'all orders'`);
  await x('CREATE TABLE main.sales.refunds (id BIGINT, f FLOAT, d DOUBLE)');
  await x('CREATE TABLE main.default.secret (s STRING)');
  await x('CREATE TABLE other.s.t (n SMALLINT)');
  await x("CREATE VOLUME main.sales.files COMMENT 'drops'");
});
after(async () => { await engine.close(); await rm(dir, { recursive: true, force: true }); });

const names = async (sql) => (await x(sql)).columns.map((c) => `${c.name} ${c.type_text}`);

test('views have the documented columns and types', async () => {
  const audit = ['created TIMESTAMP', 'created_by STRING', 'last_altered TIMESTAMP', 'last_altered_by STRING'];
  assert.deepEqual(await names('SELECT * FROM main.information_schema.catalogs'), ['catalog_name STRING', 'catalog_owner STRING', 'comment STRING', ...audit]);
  assert.deepEqual(await names('SELECT * FROM main.information_schema.schemata'), ['catalog_name STRING', 'schema_name STRING', 'schema_owner STRING', 'comment STRING', ...audit]);
  assert.deepEqual(await names('SELECT * FROM main.information_schema.tables'), ['table_catalog STRING', 'table_schema STRING', 'table_name STRING',
    'table_type STRING', 'is_insertable_into STRING', 'commit_action STRING', 'table_owner STRING', 'comment STRING', ...audit,
    'data_source_format STRING', 'storage_path STRING', 'storage_sub_directory STRING']);
  assert.deepEqual(await names('SELECT * FROM main.information_schema.volumes'), ['volume_catalog STRING', 'volume_schema STRING', 'volume_name STRING',
    'volume_type STRING', 'volume_owner STRING', 'comment STRING', ...audit, 'storage_location STRING']);
  const cols = await names('SELECT * FROM system.information_schema.columns');
  assert.deepEqual(cols.slice(0, 14), ['table_catalog STRING', 'table_schema STRING', 'table_name STRING', 'column_name STRING',
    'ordinal_position INT', 'column_default STRING', 'is_nullable STRING', 'full_data_type STRING', 'data_type STRING',
    'character_maximum_length INT', 'character_octet_length STRING', 'numeric_precision INT', 'numeric_precision_radix INT', 'numeric_scale INT']);
  assert.equal(cols[cols.length - 1], 'comment STRING');
  // An empty view keeps its columns.
  const empty = await x("SELECT * FROM main.information_schema.tables WHERE table_name = 'none'");
  assert.deepEqual([empty.columns.length, empty.rows], [15, []]);
});

test('a catalog describes itself; system describes every catalog', async () => {
  assert.deepEqual(await rows('SELECT catalog_name, catalog_owner FROM main.information_schema.catalogs'), [['main', admin.name]]);
  assert.deepEqual(await rows('SELECT catalog_name FROM system.information_schema.catalogs ORDER BY 1'), [['main'], ['other']]);
  assert.deepEqual(await rows('SELECT catalog_name, schema_name, comment FROM information_schema.schemata ORDER BY 2'),
    [['main', 'default', null], ['main', 'sales', 'orders and more']]);
  assert.deepEqual(await rows("SELECT table_catalog, table_schema, table_name, table_type, data_source_format, table_owner, comment FROM system.information_schema.tables ORDER BY 1, 2, 3"), [
    ['main', 'default', 'secret', 'MANAGED', 'DELTA', admin.name, null],
    ['main', 'sales', 'orders', 'MANAGED', 'DELTA', admin.name, 'all orders'],
    ['main', 'sales', 'refunds', 'MANAGED', 'DELTA', admin.name, null],
    ['other', 's', 't', 'MANAGED', 'DELTA', admin.name, null],
  ]);
  assert.deepEqual(await rows('SELECT table_name FROM other.information_schema.tables'), [['t']]);
  assert.deepEqual(await rows('SELECT volume_catalog, volume_schema, volume_name, volume_type, volume_owner, comment FROM main.information_schema.volumes'),
    [['main', 'sales', 'files', 'MANAGED', admin.name, 'drops']]);
  assert.deepEqual(await rows('SELECT count(*) FROM other.information_schema.volumes'), [[0n]]);
  const [[created, altered]] = await rows("SELECT created, last_altered FROM information_schema.tables WHERE table_name = 'orders'");
  assert.match(created, /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  assert.ok(altered >= created);
});

test('columns: 1-based positions, full and simple types, nullability, precision, comments', async () => {
  const r = await rows(`SELECT column_name, ordinal_position, is_nullable, full_data_type, data_type, numeric_precision,
    numeric_precision_radix, numeric_scale, datetime_precision, comment FROM main.information_schema.columns
    WHERE table_schema = 'sales' AND table_name = 'orders' ORDER BY ordinal_position`);
  assert.deepEqual(r, [
    ['id', 1, 'NO', 'bigint', 'BIGINT', 64, 2, 0, null, 'order id'],
    ['amount', 2, 'YES', 'decimal(10,2)', 'DECIMAL', 10, 10, 2, null, null],
    ['placed', 3, 'YES', 'timestamp', 'TIMESTAMP', null, null, null, 3, null],
    ['day', 4, 'YES', 'date', 'DATE', null, null, null, 0, null],
    ['tags', 5, 'YES', 'array<string>', 'ARRAY', null, null, null, null, null],
    ['ok', 6, 'YES', 'boolean', 'BOOLEAN', null, null, null, null, null],
    ['at', 7, 'YES', 'int', 'INT', 32, 2, 0, null, null],
    ['v', 8, 'YES', 'variant', 'VARIANT', null, null, null, null, null],
  ]);
  assert.deepEqual(await rows("SELECT column_name, numeric_precision, numeric_scale FROM information_schema.columns WHERE table_name = 'refunds' ORDER BY ordinal_position"),
    [['id', 64, 0], ['f', 24, null], ['d', 53, null]]);
  // The views join and filter like tables; the view name qualifies columns unless aliased.
  const joined = await rows(`SELECT t.table_name, count(c.column_name) FROM information_schema.tables AS t
    JOIN information_schema.columns c ON c.table_schema = t.table_schema AND c.table_name = t.table_name
    WHERE t.table_type = 'MANAGED' GROUP BY t.table_name ORDER BY 1`);
  assert.deepEqual(joined, [['orders', 8n], ['refunds', 3n], ['secret', 1n]]);
  assert.deepEqual(await rows("SELECT columns.column_name FROM main.information_schema.columns WHERE columns.table_name = 'secret'"), [['s']]);
});

test('rows are limited to what the principal may see', async () => {
  // alice: USE CATALOG main, USE SCHEMA main.sales, SELECT on orders only.
  assert.deepEqual(await rows('SELECT catalog_name FROM system.information_schema.catalogs', alice), [['main']]);
  assert.deepEqual(await rows('SELECT schema_name FROM main.information_schema.schemata', alice), [['sales']]);
  assert.deepEqual(await rows('SELECT table_name FROM system.information_schema.tables', alice), [['orders']]);
  assert.deepEqual(await rows('SELECT DISTINCT table_name FROM main.information_schema.columns', alice), [['orders']]);
  assert.deepEqual(await rows('SELECT count(*) FROM main.information_schema.volumes', alice), [[0n]]);
  // bob: BROWSE on refunds shows its metadata, not its data.
  assert.deepEqual(await rows('SELECT table_name FROM main.information_schema.tables', bob), [['refunds']]);
  assert.deepEqual(await rows("SELECT column_name FROM main.information_schema.columns WHERE table_name = 'refunds' ORDER BY ordinal_position", bob), [['id'], ['f'], ['d']]);
  assert.equal((await failure(x('SELECT * FROM main.sales.refunds', bob))).errorClass, 'INSUFFICIENT_PERMISSIONS');
  // carol: nothing granted, nothing shown.
  for (const view of ['catalogs', 'schemata', 'tables', 'columns', 'volumes']) {
    assert.deepEqual(await rows(`SELECT count(*) FROM system.information_schema.${view}`, carol), [[0n]], view);
  }
  // Granting makes the table appear.
  await x(`GRANT USE CATALOG ON CATALOG main TO \`${carol.name}\``);
  await x(`GRANT USE SCHEMA ON SCHEMA main.default TO \`${carol.name}\``);
  await x(`GRANT SELECT ON TABLE main.default.secret TO \`${carol.name}\``);
  assert.deepEqual(await rows('SELECT table_schema, table_name FROM information_schema.tables', carol), [['default', 'secret']]);
});

test('the views are read-only; unknown views and catalogs are errors', async () => {
  for (const sql of ["INSERT INTO main.information_schema.tables (table_name) VALUES ('x')", 'DELETE FROM main.information_schema.columns',
    "UPDATE system.information_schema.tables SET comment = 'x'", 'DROP TABLE main.information_schema.volumes']) {
    const e = await failure(x(sql));
    assert.equal(e.errorClass, 'EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE', sql);
  }
  assert.equal((await failure(x('SELECT * FROM main.information_schema.nope'))).errorClass, 'TABLE_OR_VIEW_NOT_FOUND');
  assert.equal((await failure(x('SELECT * FROM nope.information_schema.tables'))).errorClass, 'NO_SUCH_CATALOG_EXCEPTION');
  assert.equal((await failure(x('DELETE FROM nope.information_schema.tables'))).errorClass, 'NO_SUCH_CATALOG_EXCEPTION');
});
