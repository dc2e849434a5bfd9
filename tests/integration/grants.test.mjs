// dbx_grants_sql() and dbx_revoke_sql() against dbx-local's grants: the
// statements they write run as an admin and name exactly the intended
// principal and securable (also for names and principals made to break
// out of the quoting), and for each role a principal granted exactly what
// the function wrote can do its job through the extension, with the
// warehouse permission set from the REST call of the comment lines, and is
// refused one privilege beyond it. REVOKE takes every grant back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { workspace } from './harness.mjs';

const WAREHOUSE = '0000000000000001';
const SP = '6f1c0a8e-1b2c-4d5e-8f90-123456789abc';
// Principals and names made to end a statement, add a grantee or comment
// the rest out if they were not quoted (names are lower case and hold no
// '.' or '/', as Unity Catalog requires).
const EVIL_USER = "a`b'c\\d;e--f/*g*/@x.y";
const EVIL_TO = 'x` TO `admin@dbx.local';
const EVIL_CATALOG = "c`at';--";
const EVIL_SCHEMA = "s -- x \\ ;'";
const EVIL_TABLE = 't`` to `reader@dbx`; --';

const CONFIG = {
  users: [
    { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
    { user_name: 'reader@dbx.local', tokens: ['dapi-reader'] },
    { user_name: 'changes@dbx.local', tokens: ['dapi-changes'] },
    { user_name: 'merger@dbx.local', tokens: ['dapi-merger'] },
    { user_name: 'owner@dbx.local', tokens: ['dapi-owner'] },
    { user_name: EVIL_USER, tokens: [] },
    { user_name: EVIL_TO, tokens: [] },
  ],
  service_principals: [{ application_id: SP, id: '7001', display_name: 'appender', tokens: ['dapi-appender'] }],
  catalogs: [
    { name: 'main', schemas: [{ name: 'default' }] },
    { name: 'seg', schemas: [{ name: 's' }] },
    { name: EVIL_CATALOG, schemas: [{ name: EVIL_SCHEMA }] },
  ],
  // Only the admin may use the warehouse until the comment lines' REST
  // call gives a principal CAN_USE.
  warehouse_permissions: [{ warehouse_id: WAREHOUSE, principal: 'admin@dbx.local', permission_level: 'IS_OWNER' }],
};

const q = (name) => '`' + name.replace(/`/g, '``') + '`';
const sqlText = (s) => "'" + s.replace(/'/g, "''") + "'";

let ws;
let tmp;
before(async () => {
  ws = await workspace({ config: CONFIG });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-grants-'));
  await ws.sql(`CREATE TABLE main.default.events (id BIGINT, name STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)`);
  await ws.sql(`INSERT INTO main.default.events VALUES (1, 'a'), (2, 'b')`);
  await ws.sql(`CREATE TABLE main.default.app (id BIGINT, v STRING)`);
  await ws.sql(`CREATE TABLE main.default.people (id BIGINT, plan STRING, version BIGINT)`);
  await ws.sql(`INSERT INTO main.default.people VALUES (1, 'free', 1)`);
  await ws.sql(`CREATE TABLE main.default.other (id BIGINT)`);
  await ws.sql(`CREATE VOLUME main.default._dbx_staging`);
  await ws.sql(`CREATE TABLE ${q(EVIL_CATALOG)}.${q(EVIL_SCHEMA)}.${q(EVIL_TABLE)} (id BIGINT)`);
});
after(async () => {
  await ws?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let nDb = 0;
const newDb = () => path.join(tmp, `g${++nDb}.db`);

// The statements of a dbx_grants_sql() / dbx_revoke_sql() text, and its
// comment lines.
function split(text) {
  const lines = text.split('\n');
  return {
    statements: lines.filter((l) => !l.startsWith('--')).map((l) => { assert.match(l, /;$/); return l.slice(0, -1); }),
    comments: lines.filter((l) => l.startsWith('--')),
  };
}

// Runs SQL text (statements only) as the admin, each statement once.
async function apply(text) {
  const { statements, comments } = split(text);
  for (const s of statements) await ws.sql(s);
  return { statements, comments };
}

// The warehouse permission, set with the REST call of the comment lines.
async function applyWarehouse(comments) {
  const line = comments.find((l) => l.startsWith('-- PATCH '));
  assert.ok(line, comments.join('\n'));
  const m = /^-- PATCH (\/api\/2\.0\/permissions\/warehouses\/(\w+)) (\{.*\})$/.exec(line);
  assert.ok(m, line);
  assert.equal(m[2], WAREHOUSE);
  const r = await ws.api('PATCH', m[1], JSON.parse(m[3]));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const cli = comments.find((l) => l.startsWith('-- databricks permissions update warehouses '));
  assert.equal(cli, `-- databricks permissions update warehouses ${WAREHOUSE} --json '${m[3].replace(/'/g, "'\\''")}'`);
}

// Every grant on the securable and its parents: [principal, privilege, type, key].
async function grantsOn(securable) {
  const r = await ws.sql(`SHOW GRANTS ON ${securable}`);
  return (r.result?.data_array ?? []).map((row) => row.join(' | ')).sort();
}

const one = async (sql, opts) => (await ws.query(sql, opts))[0];

test('each statement names exactly the intended principal and securable, whatever they hold', async () => {
  const table = `${q(EVIL_CATALOG)}.${q(EVIL_SCHEMA)}.${q(EVIL_TABLE)}`;
  for (const who of [EVIL_USER, EVIL_TO]) {
    const row = await one(`SELECT dbx_grants_sql(${sqlText(who)}, ${sqlText(table)}, 'reader', '{"format": "json"}') AS j;`);
    const list = JSON.parse(row.j);
    assert.deepEqual(list.map((s) => [s.privilege, s.securable]), [
      ['USE CATALOG', `CATALOG ${q(EVIL_CATALOG)}`],
      ['USE SCHEMA', `SCHEMA ${q(EVIL_CATALOG)}.${q(EVIL_SCHEMA)}`],
      ['SELECT', `TABLE ${table}`],
    ]);
    for (const s of list) {
      assert.equal(s.statement, `GRANT ${s.privilege} ON ${s.securable} TO ${q(who)}`);
      await ws.sql(s.statement);
    }
  }
  const key = [EVIL_CATALOG, EVIL_SCHEMA, EVIL_TABLE];
  const want = [];
  for (const who of [EVIL_USER, EVIL_TO]) {
    want.push(`${who} | USE CATALOG | CATALOG | ${key[0]}`);
    want.push(`${who} | USE SCHEMA | SCHEMA | ${key.slice(0, 2).join('.')}`);
    want.push(`${who} | SELECT | TABLE | ${key.join('.')}`);
  }
  assert.deepEqual(await grantsOn(`TABLE ${table}`), want.sort());
  // the SQL text form runs the same statements
  const text = await one(`SELECT dbx_revoke_sql(${sqlText(EVIL_TO)}, ${sqlText(table)}, 'reader') AS t;`);
  await apply(text.t);
  assert.deepEqual(await grantsOn(`TABLE ${table}`), want.filter((w) => w.startsWith(EVIL_USER)));
});

test('newlines and NUL bytes in a principal or a name are refused, nothing written', async () => {
  for (const call of [
    "dbx_grants_sql('a' || char(10) || 'GRANT ALL PRIVILEGES ON CATALOG main TO x', 'main', 'reader')",
    "dbx_grants_sql('reader@dbx.local', 'main.' || char(13) || 'x', 'reader')",
    "dbx_grants_sql(CAST(x'7265616465724064627800' AS TEXT), 'main', 'reader')",
    "dbx_revoke_sql('reader@dbx.local', CAST(x'6d61696e002e78' AS TEXT), 'owner')",
  ]) {
    const err = await ws.fail(`SELECT ${call};`);
    assert.match(err, /control character|NUL/);
    assert.equal(err.split('\n').length, 1, err);
  }
});

// The role's job as the principal: the script, with its token.
const as = (token, sql, db) => ws.run(sql, { db, env: { DATABRICKS_TOKEN: token } });

test('reader: the grants of a databricks table read it, and nothing more', async () => {
  const db = newDb();
  await ws.query(`CREATE VIRTUAL TABLE ev USING databricks(table='main.default.events');`, { db });
  const { g } = await one(`SELECT dbx_grants_sql('reader@dbx.local', 'ev') AS g;`, { db });
  const { statements, comments } = await apply(g);
  assert.deepEqual(statements, [
    'GRANT USE CATALOG ON CATALOG `main` TO `reader@dbx.local`',
    'GRANT USE SCHEMA ON SCHEMA `main`.`default` TO `reader@dbx.local`',
    'GRANT SELECT ON TABLE `main`.`default`.`events` TO `reader@dbx.local`',
  ]);
  assert.match(comments[0], /no write argument/);
  // without the warehouse permission the statement is refused
  let r = await as('dapi-reader', 'SELECT count(*) AS n FROM ev;', db);
  assert.notEqual(r.code, 0);
  await applyWarehouse(comments);
  r = await as('dapi-reader', 'SELECT count(*) AS n FROM ev;', db);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"n":2/);
  // one privilege beyond: writing the table
  r = await as('dapi-reader', "INSERT INTO ev VALUES (3, 'c');", db);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /MODIFY|VOLUME/);
  assert.deepEqual((await ws.sql('SELECT count(*) FROM main.default.events')).result.data_array, [['2']]);
  r = await as('dapi-reader', "SELECT dbx_exec('SELECT * FROM main.default.other');", db);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /SELECT/);
});

test('changes_reader: the change feed and dbx_sync, and no write', async () => {
  const db = newDb();
  await ws.query(`CREATE VIRTUAL TABLE ch USING databricks(table='main.default.events', changes=true);`, { db });
  const { g } = await one(`SELECT dbx_grants_sql('changes@dbx.local', 'ch') AS g;`, { db });
  const { statements, comments } = await apply(g);
  assert.deepEqual(statements.map((s) => s.replace(/ TO .*/, '')), [
    'GRANT USE CATALOG ON CATALOG `main`',
    'GRANT USE SCHEMA ON SCHEMA `main`.`default`',
    'GRANT SELECT ON TABLE `main`.`default`.`events`',
  ]);
  await applyWarehouse(comments);
  let r = await as('dapi-changes', `SELECT count(*) AS n FROM ch WHERE _change_type = 'insert';
SELECT dbx_sync('main.default.events', 'local_events', '{"kind": "events", "key": "id"}') AS s;
SELECT count(*) AS local FROM local_events;`, db);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"n":2/);
  assert.match(r.stdout, /"local":2/);
  r = await as('dapi-changes', "SELECT dbx_exec('INSERT INTO main.default.events VALUES (9, ''z'')');", db);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /MODIFY/);
});

test('appender (a service principal): INSERT into a writable table commits, CREATE TABLE is refused', async () => {
  const db = newDb();
  await ws.query(`CREATE VIRTUAL TABLE ap USING databricks(table='main.default.app', mode='append');`, { db });
  const { g } = await one(`SELECT dbx_grants_sql('${SP}', 'ap') AS g;`, { db });
  const { statements, comments } = await apply(g);
  assert.deepEqual(statements.map((s) => s.replace(/ TO .*/, '')), [
    'GRANT USE CATALOG ON CATALOG `main`',
    'GRANT USE SCHEMA ON SCHEMA `main`.`default`',
    'GRANT CREATE VOLUME ON SCHEMA `main`.`default`',
    'GRANT SELECT ON TABLE `main`.`default`.`app`',
    'GRANT MODIFY ON TABLE `main`.`default`.`app`',
    'GRANT READ VOLUME ON VOLUME `main`.`default`.`_dbx_staging`',
    'GRANT WRITE VOLUME ON VOLUME `main`.`default`.`_dbx_staging`',
  ]);
  assert.ok(statements.every((s) => s.endsWith(` TO \`${SP}\``)));
  assert.match(comments.find((l) => l.startsWith('-- PATCH')), /"service_principal_name":"6f1c0a8e-/);
  await applyWarehouse(comments);
  let r = await as('dapi-appender', "INSERT INTO ap VALUES (1, 'x'), (2, 'y');", db);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await ws.sql('SELECT count(*) FROM main.default.app')).result.data_array, [['2']]);
  // one privilege beyond: creating a table (not asked for: mode='append' on an existing table)
  r = await as('dapi-appender', "SELECT dbx_exec('CREATE TABLE main.default.extra (a INT)');", db);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /CREATE TABLE/);
});

test('appender of a table the first commit creates: the grants ON TABLE wait, the owner needs none', async () => {
  const db = newDb();
  await ws.query(`CREATE VIRTUAL TABLE nw USING databricks(table='main.default.fresh', create='id BIGINT, v STRING');`, { db });
  const { g } = await one(`SELECT dbx_grants_sql('${SP}', 'nw') AS g;`, { db });
  const { statements } = split(g);
  assert.ok(statements.includes(`GRANT CREATE TABLE ON SCHEMA \`main\`.\`default\` TO \`${SP}\``));
  for (const st of statements) {
    if (/ ON TABLE /.test(st)) {
      await assert.rejects(ws.sql(st), /TABLE_OR_VIEW_NOT_FOUND/);
    } else {
      await ws.sql(st);
    }
  }
  const r = await as('dapi-appender', "INSERT INTO nw VALUES (1, 'x');", db);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await ws.sql('SELECT count(*) FROM main.default.fresh')).result.data_array, [['1']]);
});

test('merger: a merge commit through its stage table, and no DROP of the target', async () => {
  const db = newDb();
  await ws.query(`CREATE VIRTUAL TABLE pe USING databricks(table='main.default.people', merge_keys='id', version_columns='version');`, { db });
  const { g } = await one(`SELECT dbx_grants_sql('merger@dbx.local', 'pe') AS g;`, { db });
  const { statements, comments } = split(g);
  const createTable = 'GRANT CREATE TABLE ON SCHEMA `main`.`default` TO `merger@dbx.local`';
  assert.ok(statements.includes(createTable));
  // without CREATE TABLE (the stage table's) the merge is refused
  for (const st of statements.filter((x) => x !== createTable)) await ws.sql(st);
  await applyWarehouse(comments);
  const merge = `BEGIN;
INSERT INTO pe VALUES (1, 'pro', 2), (2, 'free', 1);
COMMIT;`;
  let r = await as('dapi-merger', merge, db);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /CREATE TABLE/);
  await ws.sql(createTable);
  r = await as('dapi-merger', merge, db);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await ws.sql('SELECT id, plan FROM main.default.people ORDER BY id')).result.data_array, [['1', 'pro'], ['2', 'free']]);
  r = await as('dapi-merger', "SELECT dbx_exec('DROP TABLE main.default.people');", db);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /MANAGE|PERMISSION|privilege/i);
});

test('owner: everything in its catalog, nothing outside it; REVOKE takes it back', async () => {
  const { g } = await one(`SELECT dbx_grants_sql('owner@dbx.local', 'seg', 'owner', '{"warehouse": "${WAREHOUSE}"}') AS g;`);
  const { statements, comments } = await apply(g);
  assert.deepEqual(statements, ['GRANT ALL PRIVILEGES ON CATALOG `seg` TO `owner@dbx.local`']);
  await applyWarehouse(comments);
  const db = newDb();
  let r = await as('dapi-owner', `SELECT dbx_exec('CREATE TABLE seg.s.t (a BIGINT)');
SELECT dbx_export('SELECT 1 AS a', 'seg.s.t', '{"create": false}');`, db);
  assert.equal(r.code, 0, r.stderr);
  r = await as('dapi-owner', "SELECT dbx_exec('SELECT * FROM main.default.events');", db);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /USE CATALOG/);
  const { t } = await one(`SELECT dbx_revoke_sql('owner@dbx.local', 'seg', 'owner') AS t;`);
  await apply(t);
  assert.deepEqual((await grantsOn('CATALOG seg')).filter((x) => x.startsWith('owner@')), []);
  r = await as('dapi-owner', "SELECT dbx_exec('SELECT * FROM seg.s.t');", db);
  assert.notEqual(r.code, 0);
});

test('revoking a role leaves none of its grants', async () => {
  const db = newDb();
  await ws.query(`CREATE VIRTUAL TABLE ev USING databricks(table='main.default.events');`, { db });
  const { t } = await one(`SELECT dbx_revoke_sql('reader@dbx.local', 'ev') AS t;`, { db });
  const { statements } = await apply(t);
  assert.equal(statements.length, 3);
  assert.deepEqual((await grantsOn('TABLE main.default.events')).filter((x) => x.startsWith('reader@')), []);
});
