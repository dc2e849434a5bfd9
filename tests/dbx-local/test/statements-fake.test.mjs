// Statement Execution API state machine and result encoding, driven in-process
// against a scripted fake engine so that timing (slow statements, cancels,
// warehouse start-up) is deterministic. The same API against the real engine is
// covered by statements.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tableFromIPC } from 'apache-arrow';
import { Workspace } from '../lib/workspace.mjs';
import { createServer } from '../lib/http.mjs';
import { routes as statementRoutes } from '../lib/statements.mjs';
import { valueText } from '../lib/results.mjs';
import { api, pollStatement, downloadLink } from './helpers.mjs';

const WH = '0000000000000001';
const STOPPED_WH = '0000000000000002';
const ADMIN = 'dapi-local-admin';
const BOB = 'dapi-bob';

// A fake engine speaking a tiny script language instead of SQL:
//   SLEEP ms     waits (or rejects with an AbortError when the signal fires)
//   FAIL         throws a SqlError-shaped error
//   ROWS n       n rows of (id BIGINT, name STRING)
//   TYPES        one row of every type plus one row of nulls
//   DDL          no columns, no rows
//   PARAMS       echoes the parameters it received
const calls = [];
const fakeEngine = {
  async execute(sql, opts) {
    calls.push({ sql, opts });
    const [cmd, arg] = sql.trim().split(/\s+/);
    switch (cmd) {
      case 'SLEEP':
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, Number(arg));
          opts.signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          });
        });
        return { columns: [{ name: 'x', type_text: 'INT', type_name: 'INT' }], rows: [[1]] };
      case 'FAIL': {
        const e = new Error('[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`default`.`nope` cannot be found. SQLSTATE: 42P01');
        e.errorClass = 'TABLE_OR_VIEW_NOT_FOUND';
        e.sqlState = '42P01';
        throw e;
      }
      case 'ROWS':
        return {
          columns: [{ name: 'id', type_text: 'BIGINT', type_name: 'LONG' }, { name: 'name', type_text: 'STRING', type_name: 'STRING' }],
          rows: Array.from({ length: Number(arg) }, (_, i) => [BigInt(i), `row-${i}`]),
        };
      case 'TYPES':
        return {
          columns: [
            { name: 'b', type_text: 'BOOLEAN', type_name: 'BOOLEAN' },
            { name: 'i', type_text: 'INT', type_name: 'INT' },
            { name: 'l', type_text: 'BIGINT', type_name: 'LONG' },
            { name: 'f', type_text: 'FLOAT', type_name: 'FLOAT' },
            { name: 'd', type_text: 'DOUBLE', type_name: 'DOUBLE' },
            { name: 'dec', type_text: 'DECIMAL(10,2)', type_name: 'DECIMAL', type_precision: 10, type_scale: 2 },
            { name: 's', type_text: 'STRING', type_name: 'STRING' },
            { name: 'dt', type_text: 'DATE', type_name: 'DATE' },
            { name: 'ts', type_text: 'TIMESTAMP', type_name: 'TIMESTAMP' },
            { name: 'bin', type_text: 'BINARY', type_name: 'BINARY' },
            { name: 'arr', type_text: 'ARRAY<INT>', type_name: 'ARRAY' },
            { name: 'nan', type_text: 'DOUBLE', type_name: 'DOUBLE' },
          ],
          rows: [
            [true, 42, 9007199254740993n, Math.fround(0.1), 1.5, '-12.30', 'a,"b"\nc', '2024-01-31',
              '2024-01-31T10:11:12.123456Z', new Uint8Array([0xde, 0xad]), '[1,2]', NaN],
            Array(12).fill(null),
          ],
        };
      case 'DDL':
        return { columns: [], rows: [] };
      case 'PARAMS':
        return {
          columns: [{ name: 'name', type_text: 'STRING', type_name: 'STRING' }, { name: 'value', type_text: 'STRING', type_name: 'STRING' }, { name: 'type', type_text: 'STRING', type_name: 'STRING' }],
          rows: opts.parameters.map((p) => [p.name, p.value, p.type ?? null]),
        };
      default:
        throw new Error(`fake engine: unknown script ${sql}`);
    }
  },
  async close() {},
};

let ws;
let server;
let url;

before(async () => {
  ws = new Workspace({
    warehouses: [{ id: WH, state: 'RUNNING' }, { id: STOPPED_WH, state: 'STOPPED', start_seconds: 0.6 }],
    users: [
      { user_name: 'admin@dbx.local', admin: true, tokens: [ADMIN] },
      { user_name: 'bob@dbx.local', tokens: [BOB] },
    ],
  }, fakeEngine);
  server = createServer(ws, [statementRoutes(ws)]);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}`;
  ws.baseUrl = url;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const exec = (body, token = ADMIN) => api(url, token, 'POST', '/api/2.0/sql/statements', { warehouse_id: WH, ...body });
const get = (id, token = ADMIN) => api(url, token, 'GET', `/api/2.0/sql/statements/${id}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const pollUntil = (id, states, timeoutMs = 5000) =>
  pollStatement(url, ADMIN, id, states, { timeoutMs, intervalMs: 25 });

function withSettings(patch, fn) {
  return async () => {
    const saved = { ...ws.settings };
    Object.assign(ws.settings, patch);
    try { await fn(); } finally { Object.assign(ws.settings, saved); }
  };
}

test('INLINE JSON_ARRAY stringifies every type and keeps nulls', async () => {
  const r = await exec({ statement: 'TYPES' });
  assert.equal(r.status, 200);
  assert.match(r.body.statement_id, /^01f0[0-9a-f]{4}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(r.body.status.state, 'SUCCEEDED');
  const m = r.body.manifest;
  assert.equal(m.format, 'JSON_ARRAY');
  assert.equal(m.schema.column_count, 12);
  assert.deepEqual(m.schema.columns[5], { name: 'dec', position: 5, type_name: 'DECIMAL', type_text: 'DECIMAL(10,2)', type_precision: 10, type_scale: 2 });
  assert.equal(m.total_row_count, 2);
  assert.equal(m.total_chunk_count, 1);
  assert.equal(m.truncated, false);
  assert.deepEqual(m.chunks, [{ chunk_index: 0, row_offset: 0, row_count: 2 }]);
  assert.deepEqual(r.body.result.data_array[0], ['true', '42', '9007199254740993', '0.1', '1.5', '-12.30', 'a,"b"\nc',
    '2024-01-31', '2024-01-31T10:11:12.123456Z', 'DEAD', '[1,2]', 'NaN']);
  assert.deepEqual(r.body.result.data_array[1], Array(12).fill(null));
  assert.equal(r.body.result.next_chunk_index, undefined);
});

test('valueText prints FLOAT/DOUBLE like Spark and BINARY as hex', () => {
  const dbl = { type_name: 'DOUBLE' };
  const flt = { type_name: 'FLOAT' };
  const cases = [[100, '100.0'], [1e20, '1.0E20'], [1.5e-5, '1.5E-5'], [12345678.9, '1.23456789E7'], [0.001, '0.001'],
    [-0, '-0.0'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [NaN, 'NaN']];
  for (const [v, text] of cases) assert.equal(valueText(v, dbl), text, String(v));
  assert.equal(valueText(Math.fround(3.3), flt), '3.3');
  assert.equal(valueText(Math.fround(1e10), flt), '1.0E10');
  assert.equal(valueText(7, { type_name: 'INT' }), '7');
  assert.equal(valueText(new Uint8Array([0, 255]), { type_name: 'BINARY' }), '00FF');
  assert.equal(valueText(null, dbl), null);
});

test('wait_timeout must be 0s or 5s..50s', async () => {
  for (const bad of ['4s', '51s', '10', '1m', 10, '-5s']) {
    const r = await exec({ statement: 'ROWS 1', wait_timeout: bad });
    assert.equal(r.status, 400, `wait_timeout ${bad}`);
    assert.equal(r.body.error_code, 'INVALID_PARAMETER_VALUE');
  }
  for (const good of ['5s', '50s']) assert.equal((await exec({ statement: 'ROWS 1', wait_timeout: good })).body.status.state, 'SUCCEEDED');
});

test('request validation: statement, warehouse, enums, parameters', async () => {
  const cases = [
    { warehouse_id: WH },
    { statement: 'ROWS 1', warehouse_id: '' },
    { statement: 'ROWS 1', disposition: 'INLINE_OR_EXTERNAL_LINKS' },
    { statement: 'ROWS 1', format: 'PARQUET', disposition: 'EXTERNAL_LINKS' },
    { statement: 'ROWS 1', on_wait_timeout: 'WAIT' },
    { statement: 'ROWS 1', row_limit: -1 },
    { statement: 'ROWS 1', parameters: [{ value: '1' }] },
    { statement: 'ROWS 1', parameters: [{ name: 'a', value: 1 }] },
    { statement: 'ROWS 1', parameters: { a: '1' } },
  ];
  for (const body of cases) {
    const r = await api(url, ADMIN, 'POST', '/api/2.0/sql/statements', { warehouse_id: WH, ...body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error_code, 'INVALID_PARAMETER_VALUE');
  }
});

test('INLINE allows only JSON_ARRAY', async () => {
  for (const format of ['CSV', 'ARROW_STREAM']) {
    const r = await exec({ statement: 'ROWS 1', format });
    assert.equal(r.status, 400);
    assert.equal(r.body.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(r.body.message, /INLINE/);
  }
});

test('unknown warehouse is 404, a warehouse without CAN_USE is 403', async () => {
  const r = await exec({ statement: 'ROWS 1', warehouse_id: 'ffffffffffffffff' });
  assert.equal(r.status, 404);
  assert.equal(r.body.error_code, 'RESOURCE_DOES_NOT_EXIST');
  const denied = await exec({ statement: 'ROWS 1', warehouse_id: STOPPED_WH }, BOB);
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error_code, 'PERMISSION_DENIED');
});

test('0s returns PENDING, then RUNNING, then SUCCEEDED', async () => {
  const r = await exec({ statement: 'SLEEP 600', wait_timeout: '0s' });
  assert.equal(r.status, 200);
  assert.equal(r.body.status.state, 'PENDING');
  assert.equal(r.body.manifest, undefined);
  const running = await pollUntil(r.body.statement_id, ['RUNNING', 'SUCCEEDED']);
  assert.equal(running.status.state, 'RUNNING');
  const done = await pollUntil(r.body.statement_id, ['SUCCEEDED']);
  assert.deepEqual(done.result.data_array, [['1']]);
});

test('FAILED is HTTP 200 with error class and sql_state', async () => {
  const r = await exec({ statement: 'FAIL' });
  assert.equal(r.status, 200);
  assert.equal(r.body.status.state, 'FAILED');
  assert.equal(r.body.status.error.error_code, 'BAD_REQUEST');
  assert.match(r.body.status.error.message, /^\[TABLE_OR_VIEW_NOT_FOUND\] .* SQLSTATE: 42P01$/);
  assert.equal(r.body.status.sql_state, '42P01');
  assert.equal(r.body.manifest, undefined);
});

test('wait_timeout elapsing: CONTINUE returns RUNNING, CANCEL cancels', async () => {
  const [cont, canc] = await Promise.all([
    exec({ statement: 'SLEEP 8000', wait_timeout: '5s' }),
    exec({ statement: 'SLEEP 8000', wait_timeout: '5s', on_wait_timeout: 'CANCEL' }),
  ]);
  assert.equal(cont.body.status.state, 'RUNNING');
  assert.equal(canc.body.status.state, 'CANCELED');
  const aborted = calls.filter((c) => c.sql === 'SLEEP 8000' && c.opts.signal.aborted);
  assert.equal(aborted.length, 1, 'CANCEL aborted the engine call');
  assert.equal((await get(canc.body.statement_id)).body.status.state, 'CANCELED');
  const c = await api(url, ADMIN, 'POST', `/api/2.0/sql/statements/${cont.body.statement_id}/cancel`, {});
  assert.equal(c.status, 200);
  assert.deepEqual(c.body, {});
  assert.equal((await pollUntil(cont.body.statement_id, ['CANCELED'])).status.state, 'CANCELED');
});

test('cancel endpoint aborts the engine call; cancel of a finished statement changes nothing', async () => {
  const r = await exec({ statement: 'SLEEP 3000', wait_timeout: '0s' });
  await pollUntil(r.body.statement_id, ['RUNNING']);
  const call = calls.findLast((c) => c.sql === 'SLEEP 3000');
  const c = await api(url, ADMIN, 'POST', `/api/2.0/sql/statements/${r.body.statement_id}/cancel`);
  assert.equal(c.status, 200);
  assert.equal(call.opts.signal.aborted, true);
  assert.equal((await get(r.body.statement_id)).body.status.state, 'CANCELED');
  const done = await exec({ statement: 'ROWS 1' });
  await api(url, ADMIN, 'POST', `/api/2.0/sql/statements/${done.body.statement_id}/cancel`);
  assert.equal((await get(done.body.statement_id)).body.status.state, 'SUCCEEDED');
});

test('a stopped warehouse keeps the statement PENDING while it starts', async () => {
  ws.setWarehouseState(STOPPED_WH, 'STOPPED');
  const r = await exec({ statement: 'ROWS 2', warehouse_id: STOPPED_WH, wait_timeout: '0s' });
  assert.equal(r.body.status.state, 'PENDING');
  await sleep(250);
  assert.equal((await get(r.body.statement_id)).body.status.state, 'PENDING');
  assert.equal(ws.getWarehouse(STOPPED_WH).state, 'STARTING');
  const done = await pollUntil(r.body.statement_id, ['SUCCEEDED']);
  assert.equal(done.manifest.total_row_count, 2);
  assert.equal(ws.getWarehouse(STOPPED_WH).state, 'RUNNING');
});

test('parameters reach the engine as sent', async () => {
  const parameters = [{ name: 'a', value: '1', type: 'INT' }, { name: 'b', value: null }, { name: 'c' }];
  const r = await exec({ statement: 'PARAMS', parameters });
  assert.deepEqual(r.body.result.data_array, [['a', '1', 'INT'], ['b', null, null], ['c', null, null]]);
});

test('unknown, malformed and foreign statement ids', async () => {
  const unknown = await get('01f00000-0000-1000-8000-000000000000');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error_code, 'NOT_FOUND');
  assert.equal((await get('nope')).status, 400);
  const mine = await exec({ statement: 'ROWS 1' });
  const theirs = await get(mine.body.statement_id, BOB);
  assert.equal(theirs.status, 404);
  assert.equal((await api(url, BOB, 'POST', `/api/2.0/sql/statements/${mine.body.statement_id}/cancel`)).status, 404);
  assert.equal((await api(url, null, 'GET', `/api/2.0/sql/statements/${mine.body.statement_id}`)).status, 401);
});

test('DDL: manifest with no columns and no chunks', async () => {
  const r = await exec({ statement: 'DDL' });
  assert.equal(r.body.status.state, 'SUCCEEDED');
  assert.deepEqual(r.body.manifest, { format: 'JSON_ARRAY', schema: { column_count: 0 }, total_chunk_count: 0, total_row_count: 0, total_byte_count: 0, truncated: false });
  assert.equal(r.body.result, undefined);
  const chunk = await api(url, ADMIN, 'GET', `/api/2.0/sql/statements/${r.body.statement_id}/result/chunks/0`);
  assert.equal(chunk.status, 400);
});

test('an empty result has one empty chunk without data_array', async () => {
  const r = await exec({ statement: 'ROWS 0' });
  assert.deepEqual(r.body.manifest.chunks, [{ chunk_index: 0, row_offset: 0, row_count: 0 }]);
  assert.deepEqual(r.body.result, { chunk_index: 0, row_offset: 0, row_count: 0 });
});

test('INLINE chunking by chunk_rows with next links', withSettings({ chunk_rows: 3 }, async () => {
  const r = await exec({ statement: 'ROWS 10' });
  const id = r.body.statement_id;
  assert.equal(r.body.manifest.total_chunk_count, 4);
  assert.deepEqual(r.body.manifest.chunks.map((c) => [c.row_offset, c.row_count]), [[0, 3], [3, 3], [6, 3], [9, 1]]);
  let data = r.body.result;
  const rows = [...data.data_array];
  while (data.next_chunk_internal_link) {
    assert.equal(data.next_chunk_internal_link, `/api/2.0/sql/statements/${id}/result/chunks/${data.next_chunk_index}`);
    const next = await api(url, ADMIN, 'GET', data.next_chunk_internal_link);
    assert.equal(next.status, 200);
    assert.equal(next.body.chunk_index, data.next_chunk_index);
    data = next.body;
    rows.push(...data.data_array);
  }
  assert.deepEqual(rows.map((x) => x[0]), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const out = await api(url, ADMIN, 'GET', `/api/2.0/sql/statements/${id}/result/chunks/4`);
  assert.equal(out.status, 400);
  assert.equal(out.body.error_code, 'INVALID_PARAMETER_VALUE');
}));

test('chunking by chunk_bytes', withSettings({ chunk_bytes: 40 }, async () => {
  const r = await exec({ statement: 'ROWS 4' });
  // each row ["0","row-0"] is 13 bytes + 1 separator: two rows fit in 40 bytes
  assert.deepEqual(r.body.manifest.chunks.map((c) => c.row_count), [2, 2]);
}));

test('row_limit and byte_limit truncate', async () => {
  const r = await exec({ statement: 'ROWS 10', row_limit: 4 });
  assert.equal(r.body.manifest.total_row_count, 4);
  assert.equal(r.body.manifest.truncated, true);
  const exact = await exec({ statement: 'ROWS 4', row_limit: 4 });
  assert.equal(exact.body.manifest.truncated, false);
  const b = await exec({ statement: 'ROWS 10', byte_limit: 30 });
  assert.equal(b.body.manifest.total_row_count, 2);
  assert.equal(b.body.manifest.truncated, true);
});

test('INLINE results over inline_limit_bytes fail the statement', withSettings({ inline_limit_bytes: 100 }, async () => {
  const r = await exec({ statement: 'ROWS 50' });
  assert.equal(r.status, 200);
  assert.equal(r.body.status.state, 'FAILED');
  assert.equal(r.body.status.error.error_code, 'BAD_REQUEST');
  assert.match(r.body.status.error.message, /Inline byte limit exceeded.*at most 100 bytes.*EXTERNAL_LINKS/);
  const ext = await exec({ statement: 'ROWS 50', disposition: 'EXTERNAL_LINKS' });
  assert.equal(ext.body.status.state, 'SUCCEEDED');
}));

const download = downloadLink;

test('EXTERNAL_LINKS JSON_ARRAY: compact JSON per chunk, links re-issued per request', withSettings({ chunk_rows: 4 }, async () => {
  const r = await exec({ statement: 'ROWS 6', disposition: 'EXTERNAL_LINKS' });
  const m = r.body.manifest;
  assert.equal(m.total_chunk_count, 2);
  assert.ok(m.chunks.every((c) => c.byte_count > 0));
  assert.equal(m.total_byte_count, m.chunks[0].byte_count + m.chunks[1].byte_count);
  assert.equal(r.body.result.data_array, undefined);
  const [link] = r.body.result.external_links;
  assert.equal(link.chunk_index, 0);
  assert.equal(link.row_count, 4);
  assert.equal(link.next_chunk_index, 1);
  assert.ok(link.external_link.startsWith(`${url}/dbx-local-presigned/`));
  assert.match(link.external_link, /X-Amz-Expires=900&.*X-Amz-Signature=[0-9a-f]{64}$/);
  assert.ok(Date.parse(link.expiration) > Date.now() + 800_000);
  assert.ok(Object.keys(link.http_headers).includes('x-amz-server-side-encryption-customer-key'));
  const d = await download(link);
  assert.equal(d.status, 200);
  assert.equal(d.body.length, link.byte_count);
  assert.equal(d.body.toString(), '[["0","row-0"],["1","row-1"],["2","row-2"],["3","row-3"]]');
  const c1 = await api(url, ADMIN, 'GET', link.next_chunk_internal_link);
  const l1 = c1.body.external_links[0];
  assert.equal(l1.next_chunk_index, undefined);
  assert.equal((await download(l1)).body.toString(), '[["4","row-4"],["5","row-5"]]');
  const again = (await api(url, ADMIN, 'GET', link.next_chunk_internal_link)).body.external_links[0];
  assert.notEqual(again.external_link, l1.external_link);
}));

test('EXTERNAL_LINKS CSV: RFC 4180, header in the first chunk only, bare null', withSettings({ chunk_rows: 1 }, async () => {
  const r = await exec({ statement: 'TYPES', disposition: 'EXTERNAL_LINKS', format: 'CSV' });
  assert.equal(r.body.manifest.format, 'CSV');
  const first = (await download(r.body.result.external_links[0])).body.toString();
  assert.equal(first, 'b,i,l,f,d,dec,s,dt,ts,bin,arr,nan\r\n'
    + 'true,42,9007199254740993,0.1,1.5,-12.30,"a,""b""\nc",2024-01-31,2024-01-31T10:11:12.123456Z,DEAD,"[1,2]",NaN\r\n');
  const next = await api(url, ADMIN, 'GET', r.body.result.external_links[0].next_chunk_internal_link);
  const second = (await download(next.body.external_links[0])).body.toString();
  assert.equal(second, `${Array(12).fill('null').join(',')}\r\n`);
}));

test('EXTERNAL_LINKS ARROW_STREAM: a real Arrow IPC stream with typed columns', async () => {
  const r = await exec({ statement: 'TYPES', disposition: 'EXTERNAL_LINKS', format: 'ARROW_STREAM' });
  const d = await download(r.body.result.external_links[0]);
  assert.equal(d.status, 200);
  const t = tableFromIPC(d.body);
  assert.equal(t.numRows, 2);
  const types = Object.fromEntries(t.schema.fields.map((f) => [f.name, String(f.type)]));
  assert.deepEqual(types, {
    b: 'Bool', i: 'Int32', l: 'Int64', f: 'Float32', d: 'Float64', dec: 'Decimal[10e+2]', s: 'Utf8', dt: 'Date32<DAY>',
    ts: 'Timestamp<MICROSECOND, UTC>', bin: 'Binary', arr: 'Utf8', nan: 'Float64',
  });
  const row = t.get(0).toJSON();
  assert.equal(row.b, true);
  assert.equal(row.i, 42);
  assert.equal(row.l, 9007199254740993n);
  assert.equal(row.f, Math.fround(0.1));
  assert.equal(row.s, 'a,"b"\nc');
  assert.equal(row.dt, Date.UTC(2024, 0, 31));
  assert.equal(t.getChild('ts').data[0].values[0], 1706695872123456n);
  assert.deepEqual([...row.bin], [0xde, 0xad]);
  assert.equal(row.arr, '[1,2]');
  assert.ok(Number.isNaN(row.nan));
  // Decimal128 -12.30 at scale 2 is the unscaled two's complement -1230
  const words = t.getChild('dec').data[0].values.slice(0, 4);
  assert.equal(BigInt.asIntN(128, [...words].reduce((acc, w, i) => acc | (BigInt(w) << BigInt(32 * i)), 0n)), -1230n);
  assert.deepEqual(t.toArray()[1].toJSON(), Object.fromEntries(Object.keys(types).map((k) => [k, null])));
});

test('presigned links reject Authorization, missing headers, tampering and expiry', withSettings({ link_ttl_seconds: 2 }, async () => {
  const r = await exec({ statement: 'ROWS 2', disposition: 'EXTERNAL_LINKS' });
  const [link] = r.body.result.external_links;
  const withAuth = await download(link, { ...link.http_headers, Authorization: `Bearer ${ADMIN}` });
  assert.equal(withAuth.status, 400);
  assert.equal(withAuth.type, 'application/xml');
  assert.match(withAuth.body.toString(), /<Code>InvalidArgument<\/Code>/);
  const { 'x-amz-server-side-encryption-customer-key': _key, ...missing } = link.http_headers;
  const noKey = await download(link, missing);
  assert.equal(noKey.status, 403);
  assert.match(noKey.body.toString(), /<Code>AccessDenied<\/Code>/);
  const tampered = await download({ ...link, external_link: link.external_link.replace('X-Amz-Expires=2', 'X-Amz-Expires=9') });
  assert.equal(tampered.status, 403);
  assert.match(tampered.body.toString(), /SignatureDoesNotMatch/);
  assert.equal((await download(link)).status, 200);
  await sleep(Date.parse(link.expiration) - Date.now() + 50);
  const expired = await download(link);
  assert.equal(expired.status, 403);
  assert.match(expired.body.toString(), /<Code>AccessDenied<\/Code><Message>Request has expired<\/Message>/);
  const fresh = await api(url, ADMIN, 'GET', `/api/2.0/sql/statements/${r.body.statement_id}/result/chunks/0`);
  assert.equal((await download(fresh.body.external_links[0])).status, 200);
}));

test('SUCCEEDED becomes CLOSED after results_ttl_seconds', withSettings({ results_ttl_seconds: 1 }, async () => {
  const r = await exec({ statement: 'ROWS 2', disposition: 'EXTERNAL_LINKS' });
  const [link] = r.body.result.external_links;
  await sleep(1100);
  const g = await get(r.body.statement_id);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, { statement_id: r.body.statement_id, status: { state: 'CLOSED' } });
  const chunk = await api(url, ADMIN, 'GET', `/api/2.0/sql/statements/${r.body.statement_id}/result/chunks/0`);
  assert.equal(chunk.status, 400);
  assert.equal(chunk.body.error_code, 'INVALID_STATE');
  const d = await download(link);
  assert.equal(d.status, 404);
  assert.match(d.body.toString(), /NoSuchKey/);
}));
