// Conformance of dbx-local with the official Databricks SDK for JavaScript
// (@databricks/sdk-experimental): the SDK is used unchanged except for its host,
// which points at the loopback server.
//
// Notes for the README:
// - An http:// host needs no workaround: Config.fixHost keeps the scheme it is given.
// - The package declares node >= 22; nothing used here breaks on node 20.
// - authType is pinned ('pat' / 'oauth-m2m') so that no ambient DATABRICKS_* variable or
//   ~/.databrickscfg profile can switch the test to another credential chain.
// - External links are fetched with plain fetch (the SDK has no download helper): only the
//   advertised http_headers are sent, never the workspace token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tableFromIPC } from 'apache-arrow';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { startServer } from './helpers.mjs';

const WH = '0000000000000001';
const ADMIN = 'dapi-local-admin';
const SP_ID = '6f0c2a64-8f1e-4d3a-9b2c-1e5d7a9c3b21';
const SP_SECRET = 'dose-local-test-secret';
const SLOW_SQL = 'SELECT count(*) AS n FROM range(1000000) a CROSS JOIN range(1000000) b WHERE a.id * b.id = -1';
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELED', 'CLOSED'];

let srv;
let w;

before(async () => {
  srv = await startServer({
    config: {
      users: [{ user_name: 'admin@dbx.local', admin: true, tokens: [ADMIN] }],
      service_principals: [{ application_id: SP_ID, id: 1001, display_name: 'ingest', secrets: [SP_SECRET] }],
      grants: [{ principal: SP_ID, securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG', 'USE SCHEMA', 'SELECT'] }],
    },
  });
  w = new WorkspaceClient({ host: srv.url, token: ADMIN, authType: 'pat' });
});

after(async () => { await srv?.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitTerminal(client, id) {
  const end = Date.now() + 15_000;
  for (;;) {
    const s = await client.statementExecution.getStatement({ statement_id: id });
    if (TERMINAL.includes(s.status.state)) return s;
    if (Date.now() > end) assert.fail(`statement ${id} still ${s.status.state}`);
    await sleep(100);
  }
}

async function fetchLink(link) {
  const res = await fetch(link.external_link, { headers: link.http_headers, signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

test('executeStatement INLINE JSON_ARRAY with parameters', async () => {
  const r = await w.statementExecution.executeStatement({
    warehouse_id: WH,
    statement: 'SELECT :x * 2 AS doubled, :s AS s',
    parameters: [{ name: 'x', value: '21', type: 'INT' }, { name: 's', value: 'hi' }],
    wait_timeout: '10s',
  });
  assert.equal(r.status.state, 'SUCCEEDED');
  assert.deepEqual(r.manifest.schema.columns.map((c) => c.name), ['doubled', 's']);
  assert.deepEqual(r.result.data_array, [['42', 'hi']]);
});

test('SQL failure surfaces as FAILED status, not an exception', async () => {
  const r = await w.statementExecution.executeStatement({ warehouse_id: WH, statement: 'SELECT * FROM main.default.sdk_missing' });
  assert.equal(r.status.state, 'FAILED');
  assert.equal(r.status.error.error_code, 'BAD_REQUEST');
  assert.equal(r.status.sql_state, '42P01');
});

test('request errors surface as SDK ApiError with the error code', async () => {
  await assert.rejects(
    w.statementExecution.executeStatement({ warehouse_id: WH, statement: 'SELECT 1', wait_timeout: '3s' }),
    (e) => e.statusCode === 400 && e.errorCode === 'INVALID_PARAMETER_VALUE',
  );
  await assert.rejects(
    w.statementExecution.getStatement({ statement_id: '01f00000-0000-1000-8000-000000000000' }),
    (e) => e.statusCode === 404,
  );
});

for (const format of ['JSON_ARRAY', 'CSV', 'ARROW_STREAM']) {
  test(`EXTERNAL_LINKS ${format}: walk chunks with getStatementResultChunkN and download`, async () => {
    const r = await w.statementExecution.executeStatement({
      warehouse_id: WH, statement: 'SELECT id FROM range(25) ORDER BY id', disposition: 'EXTERNAL_LINKS', format, row_limit: 20,
    });
    assert.equal(r.status.state, 'SUCCEEDED');
    assert.equal(r.manifest.format, format);
    assert.equal(r.manifest.truncated, true);
    const ids = [];
    for (let n = 0; n < r.manifest.total_chunk_count; n++) {
      const data = n === 0 ? r.result
        : await w.statementExecution.getStatementResultChunkN({ statement_id: r.statement_id, chunk_index: n });
      const [link] = data.external_links;
      assert.equal(link.chunk_index, n);
      const body = await fetchLink(link);
      if (format === 'JSON_ARRAY') ids.push(...JSON.parse(body.toString()).map((row) => row[0]));
      if (format === 'CSV') ids.push(...body.toString().trim().split(/\r?\n/).slice(n === 0 ? 1 : 0));
      if (format === 'ARROW_STREAM') ids.push(...Array.from(tableFromIPC(body).getChild('id').toArray(), String));
    }
    assert.deepEqual(ids, Array.from({ length: 20 }, (_, i) => String(i)));
  });
}

test('INLINE chunks through getStatementResultChunkN', async () => {
  const r = await w.statementExecution.executeStatement({ warehouse_id: WH, statement: 'SELECT id FROM range(3)' });
  const c = await w.statementExecution.getStatementResultChunkN({ statement_id: r.statement_id, chunk_index: 0 });
  assert.deepEqual(c.data_array, r.result.data_array);
});

test('async: wait_timeout 0s then getStatement until terminal', async () => {
  const r = await w.statementExecution.executeStatement({ warehouse_id: WH, statement: 'SELECT 7 AS seven', wait_timeout: '0s' });
  assert.equal(r.status.state, 'PENDING');
  const s = await waitTerminal(w, r.statement_id);
  assert.equal(s.status.state, 'SUCCEEDED');
  assert.deepEqual(s.result.data_array, [['7']]);
});

test('cancelExecution stops a running statement', async () => {
  const r = await w.statementExecution.executeStatement({ warehouse_id: WH, statement: SLOW_SQL, wait_timeout: '0s' });
  await sleep(300);
  await w.statementExecution.cancelExecution({ statement_id: r.statement_id });
  assert.equal((await waitTerminal(w, r.statement_id)).status.state, 'CANCELED');
});

test('Unity Catalog: tables.get/list and volumes.create/read/list', async () => {
  const ddl = await w.statementExecution.executeStatement({
    warehouse_id: WH, statement: 'CREATE TABLE main.default.sdk_t (id BIGINT, amount DECIMAL(10,2))',
  });
  assert.equal(ddl.status.state, 'SUCCEEDED', JSON.stringify(ddl.status));
  const t = await w.tables.get({ full_name: 'main.default.sdk_t' });
  assert.equal(t.full_name, 'main.default.sdk_t');
  assert.deepEqual(t.columns.map((c) => [c.name, c.type_name]), [['id', 'LONG'], ['amount', 'DECIMAL']]);
  const names = [];
  for await (const x of w.tables.list({ catalog_name: 'main', schema_name: 'default' })) names.push(x.name);
  assert.ok(names.includes('sdk_t'));

  const v = await w.volumes.create({ catalog_name: 'main', schema_name: 'default', name: 'sdk_v', volume_type: 'MANAGED' });
  assert.equal(v.full_name, 'main.default.sdk_v');
  const read = await w.volumes.read({ name: 'main.default.sdk_v' });
  assert.equal(read.volume_type, 'MANAGED');
  const vols = [];
  for await (const x of w.volumes.list({ catalog_name: 'main', schema_name: 'default' })) vols.push(x.name);
  assert.ok(vols.includes('sdk_v'));
  await assert.rejects(w.tables.get({ full_name: 'main.default.sdk_absent' }), (e) => e.statusCode === 404);
});

test('OAuth M2M service principal executes a statement', async () => {
  const sp = new WorkspaceClient({ host: srv.url, clientId: SP_ID, clientSecret: SP_SECRET, authType: 'oauth-m2m' });
  const r = await sp.statementExecution.executeStatement({ warehouse_id: WH, statement: 'SELECT 1 AS one' });
  assert.equal(r.status.state, 'SUCCEEDED');
  assert.deepEqual(r.result.data_array, [['1']]);
  // the statement belongs to the SP: the admin's PAT cannot read it
  await assert.rejects(w.statementExecution.getStatement({ statement_id: r.statement_id }), (e) => e.statusCode === 404);
});
