// dbx_check(), dbx_grants_apply() and dbx_warehouse_grant() against
// dbx-local: a principal set up with exactly a role's grants passes every
// check; without any one of them the privileges check fails with that
// GRANT as its fix, and passes once the fix is applied; a missing warehouse
// permission fails with the dbx_warehouse_grant() call that fixes it; a bad
// host or token fails its own check and skips the rest; the change feed
// off fails with the ALTER TABLE that turns it on; the probe file is gone
// afterwards; and a server that answers with the wrong JSON types gives
// failed rows, never a crash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { workspace, runShell, parseResultSets } from './harness.mjs';
import { startHostile } from '../hostile/server.mjs';

const WAREHOUSE = '0000000000000001';
const SP = '6f1c0a8e-1b2c-4d5e-8f90-123456789abc';
const USERS = {
  reader: 'reader@dbx.local',
  changes_reader: 'changes@dbx.local',
  appender: 'appender@dbx.local',
  merger: 'merger@dbx.local',
};
const TOKENS = {
  'reader@dbx.local': 'dapi-reader',
  'changes@dbx.local': 'dapi-changes',
  'appender@dbx.local': 'dapi-appender',
  'merger@dbx.local': 'dapi-merger',
  'nowh@dbx.local': 'dapi-nowh',
  [SP]: 'dapi-sp',
};
const CONFIG = {
  users: [
    { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
    ...Object.values(USERS).map((u) => ({ user_name: u, tokens: [TOKENS[u]] })),
    { user_name: 'nowh@dbx.local', tokens: ['dapi-nowh'] },
  ],
  service_principals: [{ application_id: SP, id: '7001', display_name: 'etl', tokens: ['dapi-sp'], secrets: ['dose-check-secret-0001'] }],
  catalogs: [{ name: 'main', schemas: [{ name: 'default' }] }],
  // every role user may use the warehouse; nowh@ and the SP may not
  warehouse_permissions: [
    { warehouse_id: WAREHOUSE, principal: 'admin@dbx.local', permission_level: 'IS_OWNER' },
    ...Object.values(USERS).map((u) => ({ warehouse_id: WAREHOUSE, principal: u, permission_level: 'CAN_USE' })),
  ],
};
// The table and operation each role is checked against.
const JOBS = {
  reader: { table: 'main.default.events', operation: 'read' },
  changes_reader: { table: 'main.default.events', operation: 'changes' },
  appender: { table: 'main.default.app', operation: 'append' },
  merger: { table: 'main.default.people', operation: 'merge' },
};

const sqlText = (s) => "'" + String(s).replace(/'/g, "''") + "'";

let ws;
let tmp;
before(async () => {
  ws = await workspace({ config: CONFIG });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-check-'));
  await ws.sql('CREATE TABLE main.default.events (id BIGINT, name STRING) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await ws.sql('CREATE TABLE main.default.app (id BIGINT, v STRING)');
  await ws.sql('CREATE TABLE main.default.people (id BIGINT, plan STRING, version BIGINT)');
  await ws.sql('CREATE TABLE main.default.plain (id BIGINT)');
  await ws.sql('CREATE VOLUME main.default._dbx_staging');
});
after(async () => {
  await ws?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// The rows of dbx_check(options) run as token.
async function check(options, token, env = {}) {
  const arg = options === undefined ? '' : sqlText(JSON.stringify(options));
  return ws.query(`SELECT "check", status, detail, fix FROM dbx_check(${arg});`,
    { env: { DATABRICKS_TOKEN: token, ...env } });
}
const row = (rows, name) => {
  const r = rows.find((x) => x.check === name);
  assert.ok(r, `no ${name} row in ${JSON.stringify(rows)}`);
  return r;
};
const allOk = (rows) => {
  for (const r of rows) assert.equal(r.status, 'ok', JSON.stringify(r));
};

// The statements of a role for a job, with the options that say the table
// and staging volume exist (so each statement is needed).
async function statements(who, role) {
  const opts = role === 'appender' ? { create_table: false, create_volume: false }
    : role === 'merger' ? { create_volume: false } : {};
  opts.format = 'json';
  const rows = await ws.query(`SELECT dbx_grants_sql(${sqlText(who)}, ${sqlText(JOBS[role].table)}, ${sqlText(role)}, ${sqlText(JSON.stringify(opts))}) AS j;`);
  return JSON.parse(rows[0].j).map((s) => s.statement);
}

test('a principal granted exactly its role passes every check, for each role', async () => {
  for (const [role, who] of Object.entries(USERS)) {
    for (const s of await statements(who, role)) await ws.sql(s);
    const rows = await check(JOBS[role], TOKENS[who]);
    allOk(rows);
    const names = rows.map((r) => r.check);
    const tail = role === 'changes_reader' ? ['change_data_feed']
      : role === 'appender' || role === 'merger' ? ['staging_volume'] : [];
    assert.deepEqual(names, ['config', 'host', 'token', 'identity', 'warehouse', 'warehouse_can_use', 'select_1',
      'catalog', 'schema', 'table', 'privileges', ...tail]);
    assert.match(row(rows, 'identity').detail, new RegExp(`^user ${who.replace('.', '\\.')}`));
    assert.match(row(rows, 'privileges').detail, new RegExp(`role ${role}`));
  }
});

test('each missing privilege fails with its GRANT as the fix, and passes once the fix is applied', async () => {
  let nApply = 0;
  for (const [role, who] of Object.entries(USERS)) {
    for (const stmt of await statements(who, role)) {
      await ws.sql(stmt.replace(/^GRANT /, 'REVOKE ').replace(/ TO `/, ' FROM `'));
      let rows = await check(JOBS[role], TOKENS[who]);
      const priv = row(rows, 'privileges');
      assert.equal(priv.status, 'fail', `${role}: ${stmt}: ${JSON.stringify(rows)}`);
      assert.equal(priv.fix, `${stmt};`, `${role}: ${stmt}`);
      assert.equal(row(rows, 'select_1').status, 'ok');
      // apply the fix: the whole role through dbx_grants_apply(), or the
      // one statement through dbx_exec(), as the admin
      if (nApply++ % 2 === 0) {
        const opts = role === 'appender' ? ', \'{"create_table": false, "create_volume": false}\''
          : role === 'merger' ? ', \'{"create_volume": false}\'' : '';
        const r = await ws.query(`SELECT dbx_grants_apply(${sqlText(who)}, ${sqlText(JOBS[role].table)}, ${sqlText(role)}${opts}) AS j;`);
        const out = JSON.parse(r[0].j);
        assert.ok(out.length > 0);
        for (const o of out) assert.equal(o.ok, true, JSON.stringify(o));
        assert.ok(out.some((o) => o.statement === stmt));
      } else {
        await ws.query(`SELECT dbx_exec(${sqlText(priv.fix)});`);
      }
      rows = await check(JOBS[role], TOKENS[who]);
      allOk(rows);
    }
  }
});

test('a table the job creates needs CREATE TABLE on the schema, not grants on the table', async () => {
  const who = USERS.appender;
  const job = { table: 'main.default.newtab', operation: 'append' };
  await ws.sql(`REVOKE CREATE TABLE ON SCHEMA main.default FROM \`${who}\``).catch(() => {});
  let rows = await check(job, TOKENS[who]);
  assert.equal(row(rows, 'table').status, 'ok');
  assert.match(row(rows, 'table').detail, /does not exist; the first commit creates it/);
  assert.equal(row(rows, 'privileges').fix, `GRANT CREATE TABLE ON SCHEMA \`main\`.\`default\` TO \`${who}\`;`);
  await ws.query(`SELECT dbx_exec(${sqlText(row(rows, 'privileges').fix)});`);
  allOk(await check(job, TOKENS[who]));
  // told it may not create the table: a missing table fails
  rows = await check({ ...job, create_table: false }, TOKENS[who]);
  assert.equal(row(rows, 'table').status, 'fail');
});

test('a databricks table: its definition says the operation', async () => {
  const db = path.join(tmp, 'vtab.db');
  await ws.query(`CREATE VIRTUAL TABLE app USING databricks(table='main.default.app', mode='append'); SELECT 1;`, { db });
  const rows = await ws.query(`SELECT "check", status, detail, fix FROM dbx_check('{"vtab": "app"}');`,
    { db, env: { DATABRICKS_TOKEN: TOKENS[USERS.appender] } });
  allOk(rows);
  assert.match(row(rows, 'privileges').detail, /append of `main`\.`default`\.`app` needs \(role appender\)/);
  // a name that is not a databricks table fails the table check
  const bad = await ws.query(`SELECT "check", status, detail FROM dbx_check('{"vtab": "nope"}');`, { db });
  assert.equal(row(bad, 'table').status, 'fail');
  assert.match(row(bad, 'table').detail, /no table 'nope' in the main database/);
  assert.equal(row(bad, 'privileges').status, 'skip');
});

test('the warehouse permission: fails with the dbx_warehouse_grant() call, which fixes it', async () => {
  const who = 'nowh@dbx.local';
  for (const s of await statements(who, 'reader')) await ws.sql(s);
  let rows = await check(JOBS.reader, TOKENS[who]);
  const use = row(rows, 'warehouse_can_use');
  assert.equal(use.status, 'fail', JSON.stringify(rows));
  assert.equal(use.fix.split('\n')[0], `SELECT dbx_warehouse_grant('${WAREHOUSE}', '${who}');`);
  assert.equal(row(rows, 'select_1').status, 'fail');
  assert.equal(row(rows, 'privileges').status, 'ok', 'Unity Catalog checks go on without the warehouse');
  const r = await ws.query(use.fix.split('\n')[0]);
  const entry = JSON.parse(Object.values(r[0])[0]);
  assert.equal(entry.user_name, who);
  assert.ok(entry.all_permissions.some((p) => p.permission_level === 'CAN_USE'));
  rows = await check(JOBS.reader, TOKENS[who]);
  allOk(rows);
});

test('dbx_warehouse_grant(): a service principal, a level, and what it refuses', async () => {
  const r = await ws.query(`SELECT dbx_warehouse_grant('/sql/1.0/warehouses/${WAREHOUSE}', '${SP}', 'can_monitor') AS j;`);
  const entry = JSON.parse(r[0].j);
  assert.equal(entry.service_principal_name, SP);
  assert.deepEqual(entry.all_permissions.map((p) => p.permission_level), ['CAN_MONITOR']);
  // CAN_MONITOR does not run statements
  let rows = await check(undefined, TOKENS[SP]);
  assert.equal(row(rows, 'warehouse').status, 'ok');
  assert.equal(row(rows, 'warehouse_can_use').status, 'fail');
  assert.match(row(rows, 'identity').detail, new RegExp(`^service principal ${SP}`));
  await ws.query(`SELECT dbx_warehouse_grant('${WAREHOUSE}', '${SP}');`);
  allOk(await check(undefined, TOKENS[SP]));
  assert.match(await ws.fail(`SELECT dbx_warehouse_grant('${WAREHOUSE}', '${SP}', 'CAN_FLY');`), /level must be CAN_USE/);
  assert.match(await ws.fail(`SELECT dbx_warehouse_grant('a/b', '${SP}');`), /is not a warehouse id/);
  assert.match(await ws.fail(`SELECT dbx_warehouse_grant('${WAREHOUSE}', 'x', 'CAN_USE', '{"browse": true}');`), /takes principal_type/);
  // a user who may not manage the warehouse is refused by the server
  assert.match(await ws.fail(`SELECT dbx_warehouse_grant('${WAREHOUSE}', '${SP}');`, { env: { DATABRICKS_TOKEN: 'dapi-reader' } }),
    /PERMISSION_DENIED|CAN_MANAGE/);
});

test('a bad host or a bad token fails its check and skips the later ones', async () => {
  let rows = await check(JOBS.reader, TOKENS[USERS.reader], { DATABRICKS_HOST: 'http://127.0.0.1:1' });
  assert.equal(row(rows, 'config').status, 'ok');
  assert.equal(row(rows, 'host').status, 'fail');
  assert.ok(row(rows, 'host').fix);
  for (const r of rows.slice(2)) assert.equal(r.status, 'skip', JSON.stringify(r));
  assert.equal(rows.length, 11);

  // plain http to another machine is refused before anything is sent
  rows = await check(undefined, TOKENS[USERS.reader], { DATABRICKS_HOST: 'http://example.com' });
  assert.deepEqual(rows.map((r) => r.status), ['ok', 'fail', 'skip', 'skip', 'skip', 'skip', 'skip']);
  assert.match(row(rows, 'host').detail, /http/);
  assert.match(row(rows, 'host').fix, /https:\/\//);

  rows = await check(undefined, 'dapi-not-a-token');
  assert.deepEqual(rows.map((r) => r.status), ['ok', 'ok', 'ok', 'fail', 'skip', 'skip', 'skip']);
  assert.match(row(rows, 'identity').fix, /refused the token/);
  assert.doesNotMatch(JSON.stringify(rows), /dapi-not-a-token/);

  // OAuth: a wrong client secret fails the token check; the right one
  // passes it and names the service principal
  const m2m = { DATABRICKS_TOKEN: '', DATABRICKS_CLIENT_ID: SP };
  rows = await check(undefined, '', { ...m2m, DATABRICKS_CLIENT_SECRET: 'dose-wrong-secret-0002' });
  assert.deepEqual(rows.map((r) => r.status), ['ok', 'ok', 'fail', 'skip', 'skip', 'skip', 'skip']);
  assert.match(row(rows, 'token').detail, /^auth oauth-m2m: /);
  assert.match(row(rows, 'token').fix, /client_secret/);
  assert.doesNotMatch(JSON.stringify(rows), /dose-wrong-secret/);
  rows = await check(undefined, '', { ...m2m, DATABRICKS_CLIENT_SECRET: 'dose-check-secret-0001' });
  assert.equal(row(rows, 'token').status, 'ok');
  assert.match(row(rows, 'config').detail, /auth oauth-m2m \(client_id from environment\)/);
  assert.match(row(rows, 'identity').detail, new RegExp(`^service principal ${SP}`));

  // nothing configured: config fails and says what to set
  const r = await runShell(`SELECT "check", status, fix FROM dbx_check();`, { env: {} });
  const out = parseResultSets(r.stdout).at(-1);
  assert.equal(out[0].status, 'fail');
  assert.match(out[0].fix, /DATABRICKS_HOST/);
  assert.ok(out.slice(1).every((x) => x.status === 'skip'));
});

test('the change feed off fails with the ALTER TABLE that turns it on', async () => {
  const who = USERS.changes_reader;
  for (const s of await statements(who, 'reader')) await ws.sql(s.replace('`events`', '`plain`'));
  const job = { table: 'main.default.plain', operation: 'changes' };
  let rows = await check(job, TOKENS[who]);
  const cdf = row(rows, 'change_data_feed');
  assert.equal(cdf.status, 'fail');
  assert.equal(cdf.fix, 'ALTER TABLE `main`.`default`.`plain` SET TBLPROPERTIES (delta.enableChangeDataFeed = true);');
  await ws.sql(cdf.fix.slice(0, -1));
  rows = await check(job, TOKENS[who]);
  allOk(rows);
});

test('the probe file is written and deleted, and nothing else changes', async () => {
  const who = USERS.appender;
  const before = await ws.sql('SELECT count(*) FROM main.default.app');
  const rows = await check(JOBS.appender, TOKENS[who]);
  assert.equal(row(rows, 'staging_volume').status, 'ok');
  assert.match(row(rows, 'staging_volume').detail, /accepted a probe file \(written and deleted\)/);
  const list = await ws.api('GET', '/api/2.0/fs/directories/Volumes/main/default/_dbx_staging');
  assert.equal(list.status, 200);
  assert.deepEqual((list.body.contents ?? []).filter((e) => /dbx_check/.test(e.name)), []);
  const after = await ws.sql('SELECT count(*) FROM main.default.app');
  assert.deepEqual(after.result.data_array, before.result.data_array);
  // without WRITE VOLUME the probe is refused, and says so
  await ws.sql(`REVOKE WRITE VOLUME ON VOLUME main.default._dbx_staging FROM \`${who}\``);
  const r2 = await check(JOBS.appender, TOKENS[who]);
  assert.equal(row(r2, 'staging_volume').status, 'fail');
  assert.equal(row(r2, 'privileges').fix, `GRANT WRITE VOLUME ON VOLUME \`main\`.\`default\`.\`_dbx_staging\` TO \`${who}\`;`);
  await ws.sql(row(r2, 'privileges').fix.slice(0, -1));
});

test('options are checked', async () => {
  assert.match(await ws.fail(`SELECT * FROM dbx_check('{"table": "main.default.app", "operation": "upsert"}');`),
    /operation must be read, append, merge or changes/);
  assert.match(await ws.fail(`SELECT * FROM dbx_check('{"table": "a.b.c", "vtab": "x"}');`), /not both/);
  assert.match(await ws.fail(`SELECT * FROM dbx_check('{"operation": "read"}');`), /operation needs a table/);
  // an unknown setting is the config check's failure
  const rows = await ws.query(`SELECT "check", status, detail FROM dbx_check('{"nope": 1}');`);
  assert.equal(row(rows, 'config').status, 'fail');
  assert.match(row(rows, 'config').detail, /unknown setting 'nope'/);
  assert.match(await ws.fail(`SELECT * FROM dbx_check('[1]');`), /JSON object/);
  assert.match(await ws.fail(`SELECT dbx_grants_apply('x');`), /dbx_grants_apply\(principal/);
  assert.match(await ws.fail(`SELECT dbx_grants_apply('x', 'main.default.app', 'boss');`), /unknown role 'boss'/);
  assert.match(await ws.fail(`CREATE VIEW v AS SELECT * FROM dbx_check(); SELECT * FROM v;`), /unsafe use of|dbx_check/);
});

test('a hostile server: wrong JSON types give failed rows, not a crash', async () => {
  const h = await startHostile();
  try {
    const env = { DATABRICKS_HOST: h.url, DATABRICKS_TOKEN: 'dapi-hostile-secret', DATABRICKS_WAREHOUSE_ID: 'wh1', DATABRICKS_RETRY_TIMEOUT_SECONDS: '2' };
    const run = async () => {
      const r = await runShell(`SELECT "check", status, detail FROM dbx_check('{"table": "c.s.t", "operation": "append"}');`, { env });
      assert.equal(r.code, 0, r.stderr);
      return parseResultSets(r.stdout).at(-1);
    };
    const me = { userName: 'x@y.z', groups: [{ display: 'users' }] };
    const wrong = [
      { method: 'GET', path: '/api/2.0/preview/scim/v2/Me', json: { userName: 42 } },
    ];
    h.script(wrong);
    let rows = await run();
    assert.equal(row(rows, 'identity').status, 'fail');
    assert.match(row(rows, 'identity').detail, /userName, applicationId or displayName that is not text/);

    h.script([
      { method: 'GET', path: '/api/2.0/preview/scim/v2/Me', json: { ...me, groups: 'all' } },
    ]);
    rows = await run();
    assert.match(row(rows, 'identity').detail, /groups that are not a list/);

    h.script([
      { method: 'GET', path: '/api/2.0/preview/scim/v2/Me', json: me },
      { method: 'GET', path: '/api/2.0/sql/warehouses/wh1', json: { id: 'wh1', state: ['RUNNING'] } },
      { method: 'GET', path: '/api/2.0/permissions/warehouses/wh1', json: { access_control_list: [{ user_name: 'x@y.z', all_permissions: [{ permission_level: 7 }] }] } },
      { method: 'POST', path: '/api/2.0/sql/statements', json: { statement_id: 's1', status: { state: 'SUCCEEDED' }, manifest: { format: 'JSON_ARRAY', schema: { column_count: 1, columns: [{ name: '1', position: 0, type_name: 'INT', type_text: 'INT' }] } }, result: { data_array: [['2']] } } },
      { method: 'GET', path: '/api/2.1/unity-catalog/catalogs/c', json: { name: 'c', owner: { a: 1 } } },
      { method: 'GET', path: '/api/2.1/unity-catalog/schemas/c.s', json: { name: 'other' } },
      { method: 'GET', path: '/api/2.1/unity-catalog/tables/c.s.t/exists', json: { table_exists: 'yes' } },
      { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/effective-permissions\//, json: { privilege_assignments: [{ principal: 1, privileges: ['SELECT'] }] } },
      { method: 'GET', path: '/api/2.1/unity-catalog/volumes/c.s._dbx_staging', json: '{"name": "_dbx_staging", "owner": [' },
    ]);
    rows = await run();
    assert.match(row(rows, 'warehouse').detail, /an id, name or state that is not text/);
    assert.match(row(rows, 'warehouse_can_use').detail, /a permission without a level/);
    assert.match(row(rows, 'select_1').detail, /SELECT 1 did not answer 1/);
    assert.match(row(rows, 'catalog').detail, /an owner that is not text/);
    assert.match(row(rows, 'schema').detail, /another object's name/);
    assert.match(row(rows, 'table').detail, /no table_exists true or false/);
    assert.equal(row(rows, 'privileges').status, 'fail');
    assert.match(row(rows, 'privileges').detail, /could not be read \(.*without a principal/);
    assert.equal(row(rows, 'staging_volume').status, 'fail');
    for (const r of rows) assert.ok(['ok', 'fail', 'warn', 'skip'].includes(r.status));
    assert.doesNotMatch(JSON.stringify(rows), /dapi-hostile/);
  } finally {
    await h.stop();
  }
});
