// Statement Execution API of a real dbx-local server (server.mjs + DuckDB engine):
// SQL results and failures, parameters, states, cancel, warehouses, chunking,
// every format x disposition, presigned-link rules and result expiry.
// statements-fake.test.mjs covers the same contract with a scripted engine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { startServer, api, pollStatement, downloadLink } from './helpers.mjs';

const WH = '0000000000000001';
const COLD_WH = '0000000000000002';
const ADMIN = 'dapi-local-admin';
const BOB = 'dapi-bob';
// Long enough that only a cancel ends it (the engine must honour the AbortSignal).
const SLOW_SQL = 'SELECT count(*) AS n FROM range(1000000) a CROSS JOIN range(1000000) b WHERE a.id * b.id = -1';

let srv;

before(async () => {
  srv = await startServer({
    config: {
      warehouses: [{ id: WH, name: 'Local', state: 'RUNNING' }, { id: COLD_WH, name: 'Cold', state: 'STOPPED', start_seconds: 1 }],
      users: [
        { user_name: 'admin@dbx.local', admin: true, tokens: [ADMIN] },
        { user_name: 'bob@dbx.local', tokens: [BOB] },
      ],
      warehouse_permissions: [
        { warehouse_id: WH, principal: 'bob@dbx.local', permission_level: 'CAN_USE' },
      ],
    },
  });
});

after(async () => { await srv?.stop(); });

const exec = (body, token = ADMIN) => api(srv.url, token, 'POST', '/api/2.0/sql/statements', { warehouse_id: WH, ...body });
const get = (id, token = ADMIN) => api(srv.url, token, 'GET', `/api/2.0/sql/statements/${id}`);
const chunk = (id, n) => api(srv.url, ADMIN, 'GET', `/api/2.0/sql/statements/${id}/result/chunks/${n}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function ok(body, token) {
  const r = await exec(body, token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status.state, 'SUCCEEDED', JSON.stringify(r.body.status));
  return r.body;
}

const pollUntil = (id, states, timeoutMs = 10_000) =>
  pollStatement(srv.url, ADMIN, id, states, { timeoutMs, intervalMs: 50 });

// Runs fn with workspace settings patched through the admin API, then restores them.
async function withSettings(patch, fn) {
  const saved = (await api(srv.url, null, 'POST', '/admin/settings', {})).body;
  const set = await api(srv.url, null, 'POST', '/admin/settings', patch);
  assert.equal(set.status, 200);
  try { await fn(); } finally {
    await api(srv.url, null, 'POST', '/admin/settings', Object.fromEntries(Object.keys(patch).map((k) => [k, saved[k]])));
  }
}

const download = downloadLink;

test('typed SELECT: INLINE JSON_ARRAY strings and manifest schema', async () => {
  const b = await ok({
    statement: "SELECT 1 AS i, CAST(7 AS BIGINT) AS l, CAST(1.5 AS DOUBLE) AS d, CAST('12.30' AS DECIMAL(10,2)) AS dec, "
      + "'x' AS s, true AS b, DATE'2024-01-31' AS dt, CAST(NULL AS STRING) AS n",
  });
  const cols = b.manifest.schema.columns.map((c) => [c.name, c.position, c.type_name]);
  assert.deepEqual(cols, [['i', 0, 'INT'], ['l', 1, 'LONG'], ['d', 2, 'DOUBLE'], ['dec', 3, 'DECIMAL'], ['s', 4, 'STRING'],
    ['b', 5, 'BOOLEAN'], ['dt', 6, 'DATE'], ['n', 7, 'STRING']]);
  assert.equal(b.manifest.schema.columns[3].type_precision, 10);
  assert.equal(b.manifest.schema.columns[3].type_scale, 2);
  assert.deepEqual(b.result.data_array, [['1', '7', '1.5', '12.30', 'x', 'true', '2024-01-31', null]]);
});

test('SQL failures are HTTP 200 FAILED with the error class and sql_state', async () => {
  const missing = await exec({ statement: 'SELECT * FROM main.default.no_such_table' });
  assert.equal(missing.status, 200);
  assert.equal(missing.body.status.state, 'FAILED');
  assert.equal(missing.body.status.error.error_code, 'BAD_REQUEST');
  assert.match(missing.body.status.error.message, /^\[TABLE_OR_VIEW_NOT_FOUND\].*SQLSTATE: 42P01/s);
  assert.equal(missing.body.status.sql_state, '42P01');
  const syntax = await exec({ statement: 'SELEC 1' });
  assert.equal(syntax.body.status.state, 'FAILED');
  assert.match(syntax.body.status.error.message, /^\[PARSE_SYNTAX_ERROR\]/);
  assert.equal(syntax.body.status.sql_state, '42601');
});

test('named parameters, NULL values and unbound markers', async () => {
  const b = await ok({
    statement: 'SELECT :a + 1 AS x, :s AS s, :n AS n',
    parameters: [{ name: 'a', value: '41', type: 'INT' }, { name: 's', value: "it's" }, { name: 'n', value: null, type: 'STRING' }],
  });
  assert.deepEqual(b.result.data_array, [['42', "it's", null]]);
  const unbound = await exec({ statement: 'SELECT :missing AS m' });
  assert.equal(unbound.body.status.state, 'FAILED');
  assert.match(unbound.body.status.error.message, /^\[UNBOUND_SQL_PARAMETER\]/);
});

test('DDL and DML: no-column manifest, DML counts, default catalog/schema', async () => {
  const ddl = await ok({ statement: 'CREATE TABLE main.default.stm_t (id BIGINT, name STRING)' });
  assert.equal(ddl.manifest.schema.column_count, 0);
  assert.equal(ddl.manifest.total_row_count, 0);
  assert.equal(ddl.result, undefined);
  const ins = await ok({ statement: "INSERT INTO main.default.stm_t VALUES (1, 'a'), (2, NULL)" });
  assert.deepEqual(ins.manifest.schema.columns.map((c) => c.name), ['num_affected_rows', 'num_inserted_rows']);
  assert.deepEqual(ins.result.data_array, [['2', '2']]);
  const sel = await ok({ statement: 'SELECT id, name FROM stm_t ORDER BY id', catalog: 'main', schema: 'default' });
  assert.deepEqual(sel.result.data_array, [['1', 'a'], ['2', null]]);
});

test('request validation errors are 400 INVALID_PARAMETER_VALUE', async () => {
  for (const body of [
    { statement: 'SELECT 1', wait_timeout: '4s' },
    { statement: 'SELECT 1', wait_timeout: '51s' },
    { statement: 'SELECT 1', format: 'CSV' },
    { statement: 'SELECT 1', format: 'ARROW_STREAM', disposition: 'INLINE' },
    { statement: 'SELECT 1', on_wait_timeout: 'LATER' },
    { warehouse_id: WH },
  ]) {
    const r = await exec(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error_code, 'INVALID_PARAMETER_VALUE');
  }
  const wh = await exec({ statement: 'SELECT 1', warehouse_id: 'ffffffffffffffff' });
  assert.equal(wh.status, 404);
  assert.equal(wh.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
  assert.equal((await exec({ statement: 'SELECT 1', warehouse_id: COLD_WH }, BOB)).status, 403);
});

test('0s: PENDING at once, then SUCCEEDED by polling', async () => {
  const r = await exec({ statement: 'SELECT 40 + 2 AS x', wait_timeout: '0s' });
  assert.equal(r.status, 200);
  assert.equal(r.body.status.state, 'PENDING');
  const done = await pollUntil(r.body.statement_id, ['SUCCEEDED', 'FAILED']);
  assert.deepEqual(done.result.data_array, [['42']]);
});

test('slow statements: CONTINUE returns RUNNING, CANCEL cancels, cancel endpoint', async () => {
  // Submitted together so the two 5 s waits overlap; the engine runs them one after the other.
  const [cont, canc] = await Promise.all([
    exec({ statement: SLOW_SQL, wait_timeout: '5s' }),
    exec({ statement: SLOW_SQL, wait_timeout: '5s', on_wait_timeout: 'CANCEL' }),
  ]);
  assert.equal(cont.body.status.state, 'RUNNING');
  assert.equal(canc.body.status.state, 'CANCELED');
  assert.equal((await get(canc.body.statement_id)).body.status.state, 'CANCELED');
  const c = await api(srv.url, ADMIN, 'POST', `/api/2.0/sql/statements/${cont.body.statement_id}/cancel`, {});
  assert.equal(c.status, 200);
  assert.equal((await pollUntil(cont.body.statement_id, ['CANCELED', 'SUCCEEDED', 'FAILED'])).status.state, 'CANCELED');
  // the engine is free again: the cancels reached DuckDB
  const after = await exec({ statement: 'SELECT 1 AS one', wait_timeout: '10s' });
  assert.equal(after.body.status.state, 'SUCCEEDED');
});

test('stopped warehouse: PENDING while it starts, then SUCCEEDED', async () => {
  const set = await api(srv.url, null, 'POST', `/admin/warehouses/${COLD_WH}`, { state: 'STOPPED' });
  assert.equal(set.status, 200);
  const r = await exec({ statement: 'SELECT 1 AS one', warehouse_id: COLD_WH, wait_timeout: '0s' });
  assert.equal(r.body.status.state, 'PENDING');
  await sleep(300);
  assert.equal((await get(r.body.statement_id)).body.status.state, 'PENDING');
  const done = await pollUntil(r.body.statement_id, ['SUCCEEDED', 'FAILED']);
  assert.deepEqual(done.result.data_array, [['1']]);
});

test('statements are private to their submitter; unknown ids are 404', async () => {
  const b = await ok({ statement: 'SELECT 1 AS one' }, BOB);
  assert.equal((await get(b.statement_id, BOB)).status, 200);
  const other = await get(b.statement_id, ADMIN);
  assert.equal(other.status, 404);
  assert.equal(other.body.error_code, 'NOT_FOUND');
  assert.equal((await get('01f00000-0000-1000-8000-000000000000')).status, 404);
});

test('chunking by chunk_rows, next links, out-of-range chunk', () => withSettings({ chunk_rows: 4 }, async () => {
  const b = await ok({ statement: 'SELECT id FROM range(10) ORDER BY id' });
  assert.equal(b.manifest.total_chunk_count, 3);
  assert.equal(b.manifest.total_row_count, 10);
  const ids = b.result.data_array.map((r) => r[0]);
  let link = b.result.next_chunk_internal_link;
  while (link) {
    const n = await api(srv.url, ADMIN, 'GET', link);
    assert.equal(n.status, 200);
    ids.push(...n.body.data_array.map((r) => r[0]));
    link = n.body.next_chunk_internal_link;
  }
  assert.deepEqual(ids, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal((await chunk(b.statement_id, 3)).status, 400);
}));

test('row_limit and byte_limit set truncated', async () => {
  const r = await ok({ statement: 'SELECT id FROM range(100)', row_limit: 5 });
  assert.equal(r.manifest.total_row_count, 5);
  assert.equal(r.manifest.truncated, true);
  const b = await ok({ statement: 'SELECT id FROM range(100)', byte_limit: 20 });
  assert.ok(b.manifest.total_row_count < 100);
  assert.equal(b.manifest.truncated, true);
});

test('INLINE over inline_limit_bytes fails; EXTERNAL_LINKS still works', () => withSettings({ inline_limit_bytes: 200 }, async () => {
  const r = await exec({ statement: 'SELECT id FROM range(1000)' });
  assert.equal(r.body.status.state, 'FAILED');
  assert.match(r.body.status.error.message, /Inline byte limit exceeded/);
  const e = await ok({ statement: 'SELECT id FROM range(1000)', disposition: 'EXTERNAL_LINKS' });
  assert.equal(e.manifest.total_row_count, 1000);
}));

test('EXTERNAL_LINKS in JSON_ARRAY, CSV and ARROW_STREAM', () => withSettings({ chunk_rows: 3 }, async () => {
  const sql = "SELECT id, CASE WHEN id = 1 THEN NULL ELSE concat('v', id) END AS v FROM range(5) ORDER BY id";
  const expected = [['0', 'v0'], ['1', null], ['2', 'v2'], ['3', 'v3'], ['4', 'v4']];
  const fetchAll = async (format) => {
    const b = await ok({ statement: sql, disposition: 'EXTERNAL_LINKS', format });
    assert.equal(b.manifest.format, format);
    assert.equal(b.manifest.total_chunk_count, 2);
    const bodies = [];
    let link = b.result.external_links[0];
    for (;;) {
      const d = await download(link);
      assert.equal(d.status, 200);
      assert.equal(d.body.length, link.byte_count);
      bodies.push(d.body);
      if (!link.next_chunk_internal_link) break;
      link = (await api(srv.url, ADMIN, 'GET', link.next_chunk_internal_link)).body.external_links[0];
    }
    return bodies;
  };
  const json = await fetchAll('JSON_ARRAY');
  assert.deepEqual(json.flatMap((x) => JSON.parse(x.toString())), expected);
  const csv = await fetchAll('CSV');
  assert.equal(csv[0].toString(), 'id,v\r\n0,v0\r\n1,null\r\n2,v2\r\n');
  assert.equal(csv[1].toString(), '3,v3\r\n4,v4\r\n');
  const arrow = await fetchAll('ARROW_STREAM');
  const rows = arrow.flatMap((x) => tableFromIPC(x).toArray().map((r) => [r.id, r.v]));
  assert.deepEqual(rows, [[0n, 'v0'], [1n, null], [2n, 'v2'], [3n, 'v3'], [4n, 'v4']]);
  assert.equal(String(tableFromIPC(arrow[0]).schema.fields[0].type), 'Int64');
}));

test('empty results SUCCEED: no chunk with EXTERNAL_LINKS in every format, one empty chunk INLINE', async () => {
  await ok({ statement: 'CREATE TABLE main.default.stm_empty (id BIGINT, event_time TIMESTAMP, name STRING, d DOUBLE, v VARIANT)' });
  const columns = [['id', 'LONG'], ['event_time', 'TIMESTAMP'], ['name', 'STRING'], ['d', 'DOUBLE'], ['v', 'VARIANT']];
  for (const statement of ['SELECT * FROM main.default.stm_empty', "SELECT id, 'x' AS name FROM range(3) WHERE id < 0"]) {
    for (const format of ['JSON_ARRAY', 'CSV', 'ARROW_STREAM']) {
      const b = await ok({ statement, disposition: 'EXTERNAL_LINKS', format });
      assert.equal(b.manifest.format, format);
      assert.equal(b.manifest.total_row_count, 0);
      assert.equal(b.manifest.total_chunk_count, 0);
      assert.equal(b.manifest.total_byte_count, 0);
      assert.equal(b.manifest.chunks, undefined);
      assert.equal(b.manifest.truncated, false);
      assert.equal(b.result, undefined, 'no first chunk, so no result and no external_links');
      const again = await get(b.statement_id);
      assert.deepEqual(again.body.manifest, b.manifest);
      assert.equal((await chunk(b.statement_id, 0)).status, 400);
    }
    const inline = await ok({ statement });
    assert.equal(inline.manifest.total_row_count, 0);
    assert.deepEqual(inline.manifest.chunks, [{ chunk_index: 0, row_offset: 0, row_count: 0 }]);
    assert.deepEqual(inline.result, { chunk_index: 0, row_offset: 0, row_count: 0 });
  }
  const b = await ok({ statement: 'SELECT * FROM main.default.stm_empty', disposition: 'EXTERNAL_LINKS' });
  assert.deepEqual(b.manifest.schema.columns.map((c) => [c.name, c.type_name]), columns);
  // row_limit 0 truncates a non-empty result to nothing: also no chunk.
  const cut = await ok({ statement: 'SELECT id FROM range(3)', disposition: 'EXTERNAL_LINKS', row_limit: 0 });
  assert.equal(cut.manifest.total_chunk_count, 0);
  assert.equal(cut.manifest.truncated, true);
});

test('presigned links: Authorization rejected, headers required, expiry, fresh link per chunk call', () => withSettings({ link_ttl_seconds: 2 }, async () => {
  const b = await ok({ statement: 'SELECT id FROM range(3)', disposition: 'EXTERNAL_LINKS' });
  const [link] = b.result.external_links;
  assert.ok(link.external_link.startsWith(`${srv.url}/`));
  const auth = await download(link, { ...link.http_headers, Authorization: `Bearer ${ADMIN}` });
  assert.equal(auth.status, 400);
  assert.match(auth.body.toString(), /<Error><Code>InvalidArgument<\/Code>/);
  assert.equal((await download(link, {})).status, 403);
  assert.equal((await download(link)).status, 200);
  await sleep(Date.parse(link.expiration) - Date.now() + 50);
  const expired = await download(link);
  assert.equal(expired.status, 403);
  assert.match(expired.body.toString(), /Request has expired/);
  const fresh = (await chunk(b.statement_id, 0)).body.external_links[0];
  assert.notEqual(fresh.external_link, link.external_link);
  assert.equal(JSON.parse((await download(fresh)).body.toString()).length, 3);
}));

test('results are CLOSED after results_ttl_seconds', () => withSettings({ results_ttl_seconds: 1 }, async () => {
  const b = await ok({ statement: 'SELECT 1 AS one' });
  await sleep(1100);
  const g = await get(b.statement_id);
  assert.equal(g.body.status.state, 'CLOSED');
  assert.equal(g.body.result, undefined);
  const c = await chunk(b.statement_id, 0);
  assert.equal(c.status, 400);
  assert.equal(c.body.error_code, 'INVALID_STATE');
  // EXTERNAL_LINKS chunks are spilled to the data folder once, and deleted on CLOSED.
  const ext = await ok({ statement: 'SELECT id FROM range(10)', disposition: 'EXTERNAL_LINKS' });
  const spill = path.join(srv.dataDir, 'results', ext.statement_id);
  assert.deepEqual(await readdir(spill), ['chunk-0']);
  await sleep(1100);
  assert.equal((await get(ext.statement_id)).body.status.state, 'CLOSED');
  await assert.rejects(readdir(spill), { code: 'ENOENT' });
}));

test('result column names follow Spark: duplicates kept through subqueries, count(*) and literals', async () => {
  await ok({ statement: 'CREATE TABLE main.default.names_t (id INT, x INT)' });
  await ok({ statement: 'INSERT INTO main.default.names_t VALUES (1, 2)' });
  const sql = "SELECT * FROM (SELECT id, id, count(*), upper('a') FROM main.default.names_t GROUP BY id)";
  const expected = ['id', 'id', 'count(1)', 'upper(a)'];
  const b = await ok({ statement: sql });
  assert.deepEqual(b.manifest.schema.columns.map((c) => c.name), expected);
  for (const format of ['CSV', 'ARROW_STREAM']) {
    const r = await ok({ statement: sql, format, disposition: 'EXTERNAL_LINKS' });
    const d = await download(r.result.external_links[0]);
    assert.equal(d.status, 200);
    const names = format === 'CSV' ? d.body.toString().split('\r\n')[0].split(',') : tableFromIPC(d.body).schema.fields.map((f) => f.name);
    assert.deepEqual(names, expected, format);
  }
  // A real column whose name looks like DuckDB's rename suffix is left alone.
  await ok({ statement: 'CREATE TABLE main.default.names_u (id INT, id_1 INT)' });
  const u = await ok({ statement: 'SELECT * FROM (SELECT id, id_1 FROM main.default.names_u)' });
  assert.deepEqual(u.manifest.schema.columns.map((c) => c.name), ['id', 'id_1']);
});
