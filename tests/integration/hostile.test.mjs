// Never trust the server: the extension against a scripted hostile
// workspace (tests/hostile/server.mjs). Statement ids, chunk links, external
// links and their headers are checked before they reach a URL or a header;
// every chunk is checked against its manifest; numbers are range-checked;
// response bodies are capped; an escaped NUL survives end to end. Each
// failure is one line naming the statement and the chunk, and the server
// sees no request the extension should not have sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { runShell, parseResultSets } from './harness.mjs';
import { startHostile, endless } from '../hostile/server.mjs';

const SUBMIT = '/api/2.0/sql/statements';
const ID = '01ef0123-4567-89ab-cdef-0123456789ab';
const COLS = { column_count: 1, columns: [{ name: 'id', position: 0, type_name: 'LONG', type_text: 'BIGINT' }] };
const QUERY = "SELECT row FROM dbx_query('SELECT id FROM t');";

let h;
before(async () => { h = await startHostile(); });
after(async () => { await h?.stop(); });

const env = () => ({
  DATABRICKS_HOST: h.url,
  DATABRICKS_TOKEN: 'dapi-hostile-secret-token',
  DATABRICKS_WAREHOUSE_ID: 'wh1',
  DATABRICKS_RETRY_TIMEOUT_SECONDS: '2',
});

// A SUCCEEDED StatementResponse with the given manifest extras and result.
const succeeded = (result, manifest = {}, id = ID) => ({
  statement_id: id,
  status: { state: 'SUCCEEDED' },
  manifest: { format: 'JSON_ARRAY', schema: COLS, ...manifest },
  ...(result === undefined ? {} : { result }),
});

// Runs sql in the shell; resolves to { code, err, sets }.
async function run(sql, opts = {}) {
  const r = await runShell(sql, { env: { ...env(), ...opts.env } });
  return { code: r.code, err: r.stderr.trim(), sets: parseResultSets(r.stdout) };
}

// Runs sql expecting one error line that matches re; returns it.
async function fails(sql, re) {
  const r = await run(sql);
  assert.notEqual(r.code, 0, `expected an error, got ${JSON.stringify(r.sets)}`);
  assert.equal(r.err.split('\n').length, 1, r.err);
  assert.match(r.err, re);
  assert.doesNotMatch(r.err, /dapi-hostile|X-Amz-Signature|sig=|secret-value/);
  return r.err;
}

const paths = () => h.requests.map((r) => `${r.method} ${r.url}`);

test('a statement id with path segments is refused before any URL is built from it', async () => {
  h.script([{ method: 'POST', path: SUBMIT, json: { statement_id: '../../../admin/x?y=1#', status: { state: 'RUNNING' } } }]);
  await fails(QUERY, /databricks: Databricks answered with a statement_id that is not 1 to 64 letters, digits, '-' or '_'/);
  assert.deepEqual(paths(), [`POST ${SUBMIT}`], 'no poll of another path');
});

test('a 5,000-character statement id is refused, not cut down to another id', async () => {
  h.script([{ method: 'POST', path: SUBMIT, json: { statement_id: 'a'.repeat(5000), status: { state: 'RUNNING' } } }]);
  await fails(QUERY, /statement_id that is not 1 to 64/);
  assert.deepEqual(paths(), [`POST ${SUBMIT}`]);
});

test('a next_chunk_internal_link to another path is refused', async () => {
  h.script([{
    method: 'POST', path: SUBMIT,
    json: succeeded({ chunk_index: 0, row_count: 1, data_array: [['1']], next_chunk_internal_link: '/api/2.0/preview/scim/v2/Me' },
      { total_chunk_count: 2 }),
  }]);
  await fails(QUERY, new RegExp(`result chunk 0 does not match what Databricks promised: next_chunk_internal_link is not the path of a chunk of this statement; run the query again \\(statement ${ID}\\)$`));
  assert.deepEqual(paths(), [`POST ${SUBMIT}`]);
});

test('a chunk that names itself as the next one ends with an error, not a loop', async () => {
  h.script([
    { method: 'POST', path: SUBMIT, json: succeeded({ chunk_index: 0, data_array: [['1']], next_chunk_index: 1 }) },
    { method: 'GET', path: `${SUBMIT}/${ID}/result/chunks/1`, json: { chunk_index: 1, data_array: [['2']], next_chunk_index: 1 } },
  ]);
  const t0 = Date.now();
  await fails(QUERY, /result chunk 1 does not match what Databricks promised: it names chunk 1 as the next one, but chunks only go forward/);
  assert.ok(Date.now() - t0 < 10_000);
  assert.deepEqual(paths(), [`POST ${SUBMIT}`, `GET ${SUBMIT}/${ID}/result/chunks/1`]);
});

test('CR LF in an external link header is refused; nothing is downloaded', async () => {
  h.script([
    {
      method: 'POST', path: SUBMIT,
      json: succeeded({
        external_links: [{
          chunk_index: 0, row_count: 1, external_link: `${h.url}/links/0?sig=1`, expiration: '2999-01-01T00:00:00Z',
          http_headers: { 'x-amz-key': 'secret-value\r\nX-Injected: 1' },
        }],
      }),
    },
    { method: 'GET', path: /^\/links\//, json: [['1']] },
  ]);
  await fails("SELECT row FROM dbx_query('SELECT id FROM t', NULL, '{\"disposition\": \"external_links\"}');",
    /result chunk 0 does not match what Databricks promised: the value of http_headers x-amz-key is not a string free of control characters/);
  assert.deepEqual(paths(), [`POST ${SUBMIT}`]);
  assert.ok(h.requests.every((r) => !('x-injected' in r.headers)));
});

test('an external link over plain http to another host is not followed', async () => {
  h.script([{
    method: 'POST', path: SUBMIT,
    json: succeeded({ external_links: [{ chunk_index: 0, external_link: 'http://example.invalid/x?sig=1', expiration: '2999-01-01T00:00:00Z' }] }),
  }]);
  await fails(QUERY, /its external link is not an https URL \(or http to a loopback host\)/);
});

test('rows fewer or more than promised, or another chunk\'s rows, are errors', async () => {
  const cases = [
    [succeeded({ chunk_index: 0, row_count: 3, data_array: [['1'], ['2']] }), /it holds 2 rows, its row_count says 3/],
    [succeeded({ chunk_index: 0, data_array: [['1'], ['2']] }, { total_row_count: 3 }), /the result ends after 2 rows, but total_row_count is 3/],
    [succeeded({ chunk_index: 0, data_array: [['1'], ['2'], ['3']] }, { total_row_count: 2 }), /its 3 rows go past total_row_count 2/],
    [succeeded({ chunk_index: 0, data_array: [['1', 'extra']] }), /row 1 has 2 values for 1 columns/],
    [succeeded({ chunk_index: 0, data_array: { rows: 1 } }), /data_array is not an array/],
    [succeeded({ chunk_index: 0, data_array: ['1'] }), /result chunk 0: the chunk is not a JSON array of rows/],
  ];
  for (const [reply, re] of cases) {
    h.script([{ method: 'POST', path: SUBMIT, json: reply }]);
    await fails(QUERY, re);
  }
  h.script([
    { method: 'POST', path: SUBMIT, json: succeeded({ chunk_index: 0, row_offset: 0, row_count: 1, data_array: [['1']], next_chunk_index: 1 }, { total_chunk_count: 3 }) },
    { method: 'GET', path: `${SUBMIT}/${ID}/result/chunks/1`, json: { chunk_index: 2, row_offset: 2, row_count: 1, data_array: [['3']] } },
  ]);
  await fails(QUERY, /result chunk 1 does not match what Databricks promised: Databricks sent chunk 2 instead/);
});

test('a link body shorter or longer than its byte_count is an error', async () => {
  const file = '[["1"],["2"]]';
  for (const [byteCount, body, re] of [
    [file.length + 5, file, /its download holds 13 bytes, its byte_count says 18/],
    [file.length - 5, file, /its download is larger than the 8 bytes of its byte_count/],
  ]) {
    h.script([
      {
        method: 'POST', path: SUBMIT,
        json: succeeded({ external_links: [{ chunk_index: 0, row_count: 2, byte_count: byteCount, external_link: `${h.url}/links/0?sig=1`, expiration: '2999-01-01T00:00:00Z' }] }),
      },
      { method: 'GET', path: /^\/links\//, reply: (req, res) => { res.writeHead(200); res.end(body); } },
    ]);
    await fails("SELECT row FROM dbx_query('SELECT id FROM t', NULL, '{\"disposition\": \"external_links\"}');", re);
  }
});

test('numbers out of range fail cleanly (no float-to-integer overflow)', async () => {
  for (const [json, re] of [
    [`{"statement_id":"${ID}","status":{"state":"SUCCEEDED"},"manifest":{"schema":{"columns":[{"name":"id","position":1e74,"type_name":"LONG"}]}}}`,
      /position of column 1 is not an integer from 0 to 0/],
    [`{"statement_id":"${ID}","status":{"state":"SUCCEEDED"},"manifest":{"schema":{"columns":[{"name":"id","type_name":"LONG"}]},"total_row_count":1e30}}`,
      /the result manifest does not match what Databricks promised: total_row_count is not an integer/],
    [`{"statement_id":"${ID}","status":{"state":"SUCCEEDED"},"manifest":{"schema":{"columns":[{"name":"id","type_name":"LONG"}]}},"result":{"row_count":-1,"data_array":[]}}`,
      /row_count is not an integer from 0/],
    [`{"statement_id":"${ID}","status":{"state":"SUCCEEDED"},"manifest":{"schema":{"columns":[{"name":"id","type_name":"LONG"}]}},"result":{"data_array":[["1"]],"next_chunk_index":2.5}}`,
      /next_chunk_index is not an integer/],
  ]) {
    h.script([{ method: 'POST', path: SUBMIT, json }]);
    await fails(QUERY, re);
  }
});

test('an escaped NUL in a string keeps every byte, in dbx_query and in a scan', async () => {
  const cols = { columns: [{ name: 's', position: 0, type_name: 'STRING', type_text: 'STRING' }] };
  h.script([{
    method: 'POST', path: SUBMIT,
    json: `{"statement_id":"${ID}","status":{"state":"SUCCEEDED"},"manifest":{"format":"JSON_ARRAY","schema":${JSON.stringify(cols)},"total_row_count":1},"result":{"chunk_index":0,"row_count":1,"data_array":[["a\\u0000b"]]}}`,
  }]);
  const r = await run(`SELECT row FROM dbx_query('SELECT s FROM t');
CREATE VIRTUAL TABLE v USING databricks(query='SELECT s FROM t');
SELECT hex(s) AS h, length(CAST(s AS BLOB)) AS n FROM v;`);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.sets[0], [{ row: '{"s":"a\\u0000b"}' }]);
  assert.deepEqual(r.sets[r.sets.length - 1], [{ h: '610062', n: 3 }]);
});

test('an endless API body stops at the cap instead of growing the process', async () => {
  h.script([{ method: 'POST', path: SUBMIT, reply: (req, res) => endless(res) }]);
  await fails(QUERY, /POST \/api\/2\.0\/sql\/statements: the server sent more than 33554432 bytes, the most this call expects/);
});

test('a 2 GB Content-Length is refused before the body is read', async () => {
  h.script([{ method: 'POST', path: SUBMIT, reply: (req, res) => endless(res, { contentLength: 2 * 1024 ** 3 }) }]);
  const t0 = Date.now();
  await fails(QUERY, /the server sent more than 33554432 bytes/);
  assert.ok(Date.now() - t0 < 10_000);
});

test('an endless external link body stops at the chunk\'s byte_count', async () => {
  h.script([
    {
      method: 'POST', path: SUBMIT,
      json: succeeded({ external_links: [{ chunk_index: 0, row_count: 1, byte_count: 7, external_link: `${h.url}/links/0?sig=1`, expiration: '2999-01-01T00:00:00Z' }] }),
    },
    { method: 'GET', path: /^\/links\//, reply: (req, res) => endless(res) },
  ]);
  await fails("SELECT row FROM dbx_query('SELECT id FROM t', NULL, '{\"disposition\": \"external_links\"}');",
    /result chunk 0 does not match what Databricks promised: its download is larger than the 7 bytes of its byte_count/);
});

test('a legitimate answer with every field still reads (row_offset in the chunk link too)', async () => {
  h.script([
    {
      method: 'POST', path: SUBMIT,
      json: succeeded({ chunk_index: 0, row_offset: 0, row_count: 2, data_array: [['1'], [null]], next_chunk_index: 1, next_chunk_internal_link: `${SUBMIT}/${ID}/result/chunks/1?row_offset=2` },
        { total_chunk_count: 2, total_row_count: 3, chunks: [{ chunk_index: 0, row_offset: 0, row_count: 2, byte_count: 20 }, { chunk_index: 1, row_offset: 2, row_count: 1, byte_count: 7 }] }),
    },
    {
      method: 'GET', path: `${SUBMIT}/${ID}/result/chunks/1?row_offset=2`,
      json: { external_links: [{ chunk_index: 1, row_offset: 2, row_count: 1, byte_count: 7, external_link: `${h.url}/links/1?sig=1`, expiration: '2999-01-01T00:00:00Z', http_headers: { 'x-amz-server-side-encryption-customer-key': 'a2V5+/==' } }] },
    },
    { method: 'GET', path: /^\/links\//, reply: (req, res) => { res.writeHead(200); res.end('[["3"]]'); } },
  ]);
  const r = await run(QUERY);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.sets[0], [{ row: '{"id":1}' }, { row: '{"id":null}' }, { row: '{"id":3}' }]);
  const link = h.requests.find((x) => x.url.startsWith('/links/'));
  assert.equal(link.headers['x-amz-server-side-encryption-customer-key'], 'a2V5+/==');
  assert.equal(link.headers.authorization, undefined);
});
