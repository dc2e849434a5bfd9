// Unity Catalog REST (catalogs, schemas, tables, volumes, grants), SQL warehouses and their
// permissions, and SCIM Me, against state created through SQL statements.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api } from './helpers.mjs';

const SP_ID = '6f1c0000-0000-4000-8000-00000000b002';
const WH = '0000000000000001';
const config = {
  users: [
    { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
    { user_name: 'bob@dbx.local', display_name: 'Bob', tokens: ['dapi-bob'] },
    { user_name: 'carol@dbx.local', tokens: ['dapi-carol'] },
    { user_name: 'dave@dbx.local', tokens: ['dapi-dave'] },
  ],
  service_principals: [{ application_id: SP_ID, id: 1002, display_name: 'loader', tokens: ['dapi-sp'] }],
  warehouses: [
    { id: WH, name: 'Local Warehouse', state: 'RUNNING' },
    { id: '0000000000000002', name: 'Slow', state: 'STOPPED', start_seconds: 0.3 },
  ],
  warehouse_permissions: [{ warehouse_id: WH, principal: 'bob@dbx.local', permission_level: 'CAN_USE' }],
};

let srv;
const call = (method, p, body, token = srv.token) => api(srv.url, token, method, p, body);

async function sql(statement) {
  const r = await call('POST', '/api/2.0/sql/statements', { statement, warehouse_id: WH, wait_timeout: '30s' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status.state, 'SUCCEEDED', JSON.stringify(r.body.status));
  return r.body;
}

before(async () => {
  srv = await startServer({ config });
  await sql('CREATE TABLE main.default.events (id BIGINT NOT NULL, name STRING, amount DECIMAL(10,2)) USING DELTA TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await sql('CREATE TABLE main.default.people (id BIGINT, email STRING)');
});
after(() => srv.stop());

test('catalogs and schemas', async () => {
  const cats = await call('GET', '/api/2.1/unity-catalog/catalogs');
  assert.equal(cats.status, 200);
  assert.ok(cats.body.catalogs.some((c) => c.name === 'main'));
  assert.equal((await call('GET', '/api/2.1/unity-catalog/catalogs/main')).body.name, 'main');
  const noCat = await call('GET', '/api/2.1/unity-catalog/catalogs/nope');
  assert.equal(noCat.status, 404);
  assert.equal(noCat.body.error_code, 'CATALOG_DOES_NOT_EXIST');

  const schemas = await call('GET', '/api/2.1/unity-catalog/schemas?catalog_name=main');
  assert.ok(schemas.body.schemas.some((s) => s.full_name === 'main.default'));
  assert.equal((await call('GET', '/api/2.1/unity-catalog/schemas/main.default')).body.name, 'default');
  const noSchema = await call('GET', '/api/2.1/unity-catalog/schemas/main.nope');
  assert.equal(noSchema.status, 404);
  assert.equal(noSchema.body.error_code, 'SCHEMA_DOES_NOT_EXIST');
  assert.equal((await call('GET', '/api/2.1/unity-catalog/schemas')).status, 400);
});

test('tables: get, exists, list with pagination and omissions, delete', async () => {
  const t = await call('GET', '/api/2.1/unity-catalog/tables/main.default.events?include_delta_metadata=true');
  assert.equal(t.status, 200);
  assert.equal(t.body.full_name, 'main.default.events');
  assert.equal(t.body.table_type, 'MANAGED');
  assert.equal(t.body.data_source_format, 'DELTA');
  assert.deepEqual(t.body.columns.map((c) => [c.name, c.type_name, c.position]), [['id', 'LONG', 0], ['name', 'STRING', 1], ['amount', 'DECIMAL', 2]]);
  assert.equal(t.body.columns[2].type_text.toLowerCase(), 'decimal(10,2)');
  assert.equal(t.body.columns[0].nullable, false);
  assert.equal(String(t.body.properties['delta.enableChangeDataFeed']), 'true');

  assert.deepEqual((await call('GET', '/api/2.1/unity-catalog/tables/main.default.events/exists')).body, { table_exists: true });
  assert.deepEqual((await call('GET', '/api/2.1/unity-catalog/tables/main.default.ghost/exists')).body, { table_exists: false });
  const missing = await call('GET', '/api/2.1/unity-catalog/tables/main.default.ghost');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error_code, 'TABLE_DOES_NOT_EXIST');

  const all = await call('GET', '/api/2.1/unity-catalog/tables?catalog_name=main&schema_name=default&max_results=0');
  assert.deepEqual(all.body.tables.map((x) => x.name).sort(), ['events', 'people']);
  const p1 = await call('GET', '/api/2.1/unity-catalog/tables?catalog_name=main&schema_name=default&max_results=1&omit_columns=true&omit_properties=true');
  assert.equal(p1.body.tables.length, 1);
  assert.equal(p1.body.tables[0].columns, undefined);
  assert.equal(p1.body.tables[0].properties, undefined);
  assert.ok(p1.body.next_page_token);
  const p2 = await call('GET', `/api/2.1/unity-catalog/tables?catalog_name=main&schema_name=default&max_results=1&page_token=${p1.body.next_page_token}`);
  assert.equal(p2.body.tables.length, 1);
  assert.equal(p2.body.next_page_token, undefined);
  assert.notEqual(p2.body.tables[0].name, p1.body.tables[0].name);
  assert.equal((await call('GET', '/api/2.1/unity-catalog/tables?catalog_name=main')).status, 400);

  await sql('CREATE TABLE main.default.scratch (x INT)');
  assert.equal((await call('DELETE', '/api/2.1/unity-catalog/tables/main.default.scratch')).status, 200);
  assert.deepEqual((await call('GET', '/api/2.1/unity-catalog/tables/main.default.scratch/exists')).body, { table_exists: false });
  assert.equal((await call('DELETE', '/api/2.1/unity-catalog/tables/main.default.scratch')).status, 404);
});

test('volumes: create, get, list, duplicate, delete', async () => {
  const body = { catalog_name: 'main', schema_name: 'default', name: 'staging', volume_type: 'MANAGED', comment: 'stage' };
  const created = await call('POST', '/api/2.1/unity-catalog/volumes', body);
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.equal(created.body.full_name, 'main.default.staging');
  assert.equal(created.body.volume_type, 'MANAGED');
  const dup = await call('POST', '/api/2.1/unity-catalog/volumes', body);
  assert.equal(dup.status, 409);
  assert.equal((await call('GET', '/api/2.1/unity-catalog/volumes/main.default.staging')).body.name, 'staging');
  const list = await call('GET', '/api/2.1/unity-catalog/volumes?catalog_name=main&schema_name=default');
  assert.ok(list.body.volumes.some((v) => v.name === 'staging'));
  assert.equal((await call('POST', '/api/2.1/unity-catalog/volumes', { catalog_name: 'main', name: 'x', volume_type: 'MANAGED' })).status, 400);
  assert.equal((await call('DELETE', '/api/2.1/unity-catalog/volumes/main.default.staging')).status, 200);
  const gone = await call('GET', '/api/2.1/unity-catalog/volumes/main.default.staging');
  assert.equal(gone.status, 404);
});

test('grants over REST: PATCH, GET, effective permissions, and their effect', async () => {
  const denied = await call('GET', '/api/2.1/unity-catalog/tables/main.default.people', undefined, 'dapi-bob');
  assert.equal(denied.status, 403);
  const patch = await call('PATCH', '/api/2.1/unity-catalog/permissions/catalog/main', { changes: [{ principal: 'bob@dbx.local', add: ['USE_CATALOG', 'USE_SCHEMA'] }] });
  assert.equal(patch.status, 200, JSON.stringify(patch.body));
  const patch2 = await call('PATCH', '/api/2.1/unity-catalog/permissions/TABLE/main.default.people', { changes: [{ principal: 'bob@dbx.local', add: ['SELECT'] }] });
  assert.equal(patch2.status, 200, JSON.stringify(patch2.body));
  const got = await call('GET', '/api/2.1/unity-catalog/permissions/table/main.default.people?principal=bob@dbx.local');
  assert.deepEqual(got.body.privilege_assignments, [{ principal: 'bob@dbx.local', privileges: ['SELECT'] }]);
  const eff = await call('GET', '/api/2.1/unity-catalog/effective-permissions/table/main.default.people?principal=bob@dbx.local');
  const privs = eff.body.privilege_assignments.find((a) => a.principal === 'bob@dbx.local').privileges;
  assert.ok(privs.some((p) => p.privilege === 'SELECT' && p.inherited_from_name === undefined));
  assert.ok(privs.some((p) => p.privilege === 'USE_CATALOG' && p.inherited_from_type === 'CATALOG' && p.inherited_from_name === 'main'));
  assert.equal((await call('GET', '/api/2.1/unity-catalog/tables/main.default.people', undefined, 'dapi-bob')).status, 200);
  assert.equal((await call('GET', '/api/2.1/unity-catalog/permissions/galaxy/main')).status, 400);
});

test('table metadata needs SELECT or ownership beyond USE CATALOG/USE SCHEMA; BROWSE shows it on request', async () => {
  await sql('CREATE SCHEMA main.meta');
  await sql('CREATE TABLE main.meta.secret (id INT)');
  await sql('CREATE TABLE main.meta.open (id INT)');
  await sql('GRANT USE CATALOG ON CATALOG main TO `carol@dbx.local`');
  await sql('GRANT USE SCHEMA ON SCHEMA main.meta TO `carol@dbx.local`');
  await sql('GRANT SELECT ON TABLE main.meta.open TO `carol@dbx.local`');
  const denied = await call('GET', '/api/2.1/unity-catalog/tables/main.meta.secret', undefined, 'dapi-carol');
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error_code, 'PERMISSION_DENIED');
  assert.match(denied.body.message, /SELECT on Table 'main\.meta\.secret'/);
  assert.equal((await call('GET', '/api/2.1/unity-catalog/tables/main.meta.open', undefined, 'dapi-carol')).status, 200);
  const list = await call('GET', '/api/2.1/unity-catalog/tables?catalog_name=main&schema_name=meta', undefined, 'dapi-carol');
  assert.deepEqual(list.body.tables.map((t) => t.name), ['open']);
  assert.equal((await call('GET', '/api/2.1/unity-catalog/tables/main.meta.secret/exists', undefined, 'dapi-carol')).status, 403);
  assert.deepEqual((await call('GET', '/api/2.1/unity-catalog/tables/main.meta.ghost/exists', undefined, 'dapi-carol')).body, { table_exists: false });

  // BROWSE on the catalog: metadata without USE CATALOG/USE SCHEMA, only with include_browse.
  const grant = await call('PATCH', '/api/2.1/unity-catalog/permissions/catalog/main', { changes: [{ principal: 'dave@dbx.local', add: ['BROWSE'] }] });
  assert.equal(grant.status, 200, JSON.stringify(grant.body));
  assert.equal((await call('GET', '/api/2.1/unity-catalog/tables/main.meta.secret', undefined, 'dapi-dave')).status, 403);
  const browsed = await call('GET', '/api/2.1/unity-catalog/tables/main.meta.secret?include_browse=true', undefined, 'dapi-dave');
  assert.equal(browsed.status, 200);
  assert.equal(browsed.body.browse_only, true);
  const blist = await call('GET', '/api/2.1/unity-catalog/tables?catalog_name=main&schema_name=meta&include_browse=true', undefined, 'dapi-dave');
  assert.deepEqual(blist.body.tables.map((t) => t.name), ['open', 'secret']);
  assert.deepEqual((await call('GET', '/api/2.1/unity-catalog/tables?catalog_name=main&schema_name=meta', undefined, 'dapi-dave')).body.tables ?? [], []);
  assert.deepEqual((await call('GET', '/api/2.1/unity-catalog/tables/main.meta.secret/exists', undefined, 'dapi-dave')).body, { table_exists: true });
});

test('warehouses: get, list, start, stop, permissions', async () => {
  const w = await call('GET', `/api/2.0/sql/warehouses/${WH}`);
  assert.equal(w.status, 200);
  assert.equal(w.body.state, 'RUNNING');
  assert.equal(w.body.odbc_params.path, `/sql/1.0/warehouses/${WH}`);
  assert.equal((await call('GET', '/api/2.0/sql/warehouses/ffffffffffffffff')).status, 404);
  assert.equal((await call('GET', '/api/2.0/sql/warehouses')).body.warehouses.length, 2);
  assert.deepEqual((await call('GET', '/api/2.0/sql/warehouses', undefined, 'dapi-bob')).body.warehouses.map((x) => x.id), [WH]);

  const slow = '0000000000000002';
  assert.equal((await call('POST', `/api/2.0/sql/warehouses/${slow}/start`)).status, 200);
  assert.equal((await call('GET', `/api/2.0/sql/warehouses/${slow}`)).body.state, 'STARTING');
  await new Promise((r) => setTimeout(r, 450));
  assert.equal((await call('GET', `/api/2.0/sql/warehouses/${slow}`)).body.state, 'RUNNING');
  assert.equal((await call('POST', `/api/2.0/sql/warehouses/${slow}/stop`)).status, 200);
  assert.equal((await call('GET', `/api/2.0/sql/warehouses/${slow}`)).body.state, 'STOPPED');
  assert.equal((await call('POST', `/api/2.0/sql/warehouses/${WH}/stop`, undefined, 'dapi-bob')).status, 403);

  const acl = await call('GET', `/api/2.0/permissions/warehouses/${WH}`);
  assert.equal(acl.status, 200);
  assert.ok(acl.body.access_control_list.some((e) => e.user_name === 'bob@dbx.local' && e.all_permissions[0].permission_level === 'CAN_USE'));
  assert.equal((await call('GET', `/api/2.0/permissions/warehouses/${WH}`, undefined, 'dapi-bob')).status, 403);
  assert.equal((await call('GET', `/api/2.0/sql/warehouses/${WH}`, undefined, 'dapi-sp')).status, 403);
  const patched = await call('PATCH', `/api/2.0/permissions/warehouses/${WH}`, { access_control_list: [{ service_principal_name: SP_ID, permission_level: 'CAN_USE' }] });
  assert.equal(patched.status, 200);
  assert.ok(patched.body.access_control_list.some((e) => e.service_principal_name === SP_ID));
  assert.equal((await call('GET', `/api/2.0/sql/warehouses/${WH}`, undefined, 'dapi-sp')).status, 200);
  const run = await call('POST', '/api/2.0/sql/statements', { statement: 'SELECT 1', warehouse_id: WH, wait_timeout: '30s' }, 'dapi-sp');
  assert.equal(run.status, 200, 'CAN_USE lets the SP run statements');
});

test('SCIM Me for users and service principals', async () => {
  const bob = await call('GET', '/api/2.0/preview/scim/v2/Me', undefined, 'dapi-bob');
  assert.equal(bob.body.userName, 'bob@dbx.local');
  assert.equal(bob.body.displayName, 'Bob');
  assert.equal(bob.body.emails[0].value, 'bob@dbx.local');
  const sp = await call('GET', '/api/2.0/preview/scim/v2/Me', undefined, 'dapi-sp');
  assert.equal(sp.body.userName, SP_ID);
  assert.equal(sp.body.applicationId, SP_ID);
  assert.equal(sp.body.displayName, 'loader');
  assert.equal(sp.body.id, '1002');
});
