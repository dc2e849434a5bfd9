// dbx_query(): every Databricks type read back through the extension, and
// results that arrive in several chunks, INLINE or through external links
// (including an expired link that must be refreshed through the chunk
// endpoint), complete and in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { workspace } from './harness.mjs';

let ws;
before(async () => { ws = await workspace(); });
after(async () => { await ws?.stop(); });

const TYPES = `CREATE TABLE IF NOT EXISTS main.default.types (i BIGINT, n INT, s SMALLINT, t TINYINT,
  b BOOLEAN, f FLOAT, d DOUBLE, dec1 DECIMAL(10,2), dec2 DECIMAL(30,4), str STRING, dt DATE,
  ts TIMESTAMP, ntz TIMESTAMP_NTZ, bin BINARY, arr ARRAY<INT>, m MAP<STRING,INT>,
  st STRUCT<a:INT,b:STRING>, v VARIANT)`;
const TYPES_ROW = `(9007199254740993, -5, 7, 1, true, 1.5, 0.1, 12.30, 12345678901234567890.1234,
  'hé "q"', DATE'2024-01-31', TIMESTAMP'2024-01-31 10:11:12.5', TIMESTAMP_NTZ'2024-01-31 10:11:12',
  X'CAFE', array(1,2), map('k',1), named_struct('a',1,'b','x'), parse_json('{"k":[1,2]}'))`;
const NULLS_ROW = `(${Array(18).fill('NULL').join(',')})`;

const q = (s) => `'${s.replace(/'/g, "''")}'`;

async function settings(body) {
  const r = await ws.api('POST', '/admin/settings', body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

async function seedNumbers(table, n) {
  const values = Array.from({ length: n }, (_, i) => `(${i + 1}, 'row ${i + 1}')`).join(', ');
  await ws.query(`SELECT dbx_exec(${q(`CREATE TABLE IF NOT EXISTS ${table} (id BIGINT, label STRING)`)});
SELECT dbx_exec(${q(`INSERT INTO ${table} VALUES ${values}`)});`);
}

test('every type maps as the type table of the README says', async () => {
  const rows = await ws.query(`SELECT dbx_exec(${q(TYPES)});
SELECT dbx_exec(${q(`INSERT INTO main.default.types VALUES ${TYPES_ROW}, ${NULLS_ROW}`)});
SELECT rownum, row FROM dbx_query('SELECT * FROM main.default.types ORDER BY i NULLS LAST');`);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((r) => r.rownum), [1, 2]);
  const text = rows[0].row;
  // Exact integers survive (no double rounding on the way).
  assert.match(text, /"i":9007199254740993,/);
  const r = JSON.parse(text);
  assert.equal(r.n, -5);
  assert.equal(r.s, 7);
  assert.equal(r.t, 1);
  assert.equal(r.b, true);
  assert.equal(r.f, 1.5);
  assert.equal(r.d, 0.1);
  assert.equal(r.dec1, 12.3);                            // precision 10: REAL
  assert.equal(r.dec2, '12345678901234567890.1234');     // precision 30: exact text
  assert.equal(r.str, 'hé "q"');
  assert.equal(r.dt, '2024-01-31');
  assert.equal(r.ts, '2024-01-31 10:11:12.5');            // UTC, SQLite-readable
  assert.equal(r.ntz, '2024-01-31 10:11:12');
  assert.equal(r.bin, 'cafe');                           // BLOB as hex in the JSON
  assert.deepEqual(r.arr, [1, 2]);
  assert.deepEqual(r.m, { k: 1 });
  assert.deepEqual(r.st, { a: 1, b: 'x' });
  assert.deepEqual(r.v, { k: [1, 2] });
  assert.deepEqual(Object.values(JSON.parse(rows[1].row)), Array(18).fill(null));
});

test('JSON types and SQLite date functions agree with the decoded values', async () => {
  const [r] = await ws.query(`SELECT json_type(row, '$.i') AS ti, json_type(row, '$.d') AS td,
  json_type(row, '$.dec1') AS tdec1, json_type(row, '$.dec2') AS tdec2, json_type(row, '$.b') AS tb,
  json_type(row, '$.arr') AS tarr, json_type(row, '$.ts') AS tts,
  strftime('%Y-%m-%d %H:%M:%f', json_extract(row, '$.ts')) AS ts,
  julianday(json_extract(row, '$.ts')) - julianday('2024-01-31 10:11:12') AS dj
FROM dbx_query('SELECT * FROM main.default.types WHERE i IS NOT NULL');`);
  assert.deepEqual({ ...r, dj: undefined }, {
    ti: 'integer', td: 'real', tdec1: 'real', tdec2: 'text', tb: 'true', tarr: 'array',
    tts: 'text', ts: '2024-01-31 10:11:12.500', dj: undefined,
  });
  assert.ok(Math.abs(r.dj * 86400 - 0.5) < 1e-3, `sub-second kept: ${r.dj}`);
});

test('parameters travel typed and are never spliced into the SQL', async () => {
  const [r] = await ws.query(`SELECT row FROM dbx_query(
  'SELECT :a + 1 AS a, :b * 2 AS b, :c AS c, :d AS d, :e IS NULL AS e',
  '{"a": 41, "b": 1.25, "c": true, "d": "it''s", "e": null}');`);
  assert.deepEqual(JSON.parse(r.row), { a: 42, b: 2.5, c: true, d: "it's", e: true });
  const [t] = await ws.query(`SELECT row FROM dbx_query('SELECT :x AS x',
  '[{"name": "x", "value": "2024-02-01", "type": "DATE"}]');`);
  assert.deepEqual(JSON.parse(t.row), { x: '2024-02-01' });
});

test('a result in many INLINE chunks comes back complete and in order', async () => {
  await seedNumbers('main.default.nums', 10);
  await settings({ chunk_rows: 3 });
  try {
    const rows = await ws.query(`SELECT rownum, json_extract(row, '$.id') AS id FROM dbx_query(
  'SELECT id FROM main.default.nums ORDER BY id');
SELECT chunks, rows, state FROM dbx_statements ORDER BY seq DESC LIMIT 1;`);
    assert.deepEqual(rows, [{ chunks: 4, rows: 10, state: 'SUCCEEDED' }]);
    const ids = await ws.query(`SELECT group_concat(json_extract(row, '$.id')) AS ids, max(rownum) AS n
  FROM dbx_query('SELECT id FROM main.default.nums ORDER BY id');`);
    assert.deepEqual(ids, [{ ids: '1,2,3,4,5,6,7,8,9,10', n: 10 }]);
  } finally {
    await settings({ chunk_rows: 10000 });
  }
});

test('EXTERNAL_LINKS: no Authorization on downloads, an expired link is refreshed', async () => {
  await seedNumbers('main.default.links', 10);
  await settings({ chunk_rows: 4 });
  await ws.api('DELETE', '/admin/requests');
  // The second download answers as cloud storage does for an expired link.
  let f = await ws.api('POST', '/admin/faults', { path: '^/dbx-local-presigned/', method: 'GET', kind: 'expired_link', count: 1 });
  assert.equal(f.status, 200);
  try {
    const rows = await ws.query(`SELECT group_concat(json_extract(row, '$.id')) AS ids FROM dbx_query(
  'SELECT id FROM main.default.links ORDER BY id', NULL, '{"disposition": "external_links"}');`);
    assert.deepEqual(rows, [{ ids: '1,2,3,4,5,6,7,8,9,10' }]);
    const log = (await ws.api('GET', '/admin/requests')).body.requests;
    const downloads = log.filter((x) => x.path.startsWith('/dbx-local-presigned/'));
    assert.equal(downloads.length, 4, 'three chunks plus one refused download');
    assert.ok(downloads.every((x) => x.has_authorization === false));
    assert.equal(downloads.filter((x) => x.status === 403).length, 1);
    const chunkCalls = log.filter((x) => /\/result\/chunks\/\d+$/.test(x.path));
    assert.ok(chunkCalls.length >= 3, 'the refused chunk was asked for again');
  } finally {
    await settings({ chunk_rows: 10000 });
  }
});

test('an expired link in the middle of a result is re-requested; rows complete and in order', async () => {
  await seedNumbers('main.default.links_mid', 10);
  await settings({ chunk_rows: 3 });
  await ws.api('DELETE', '/admin/requests');
  // chunk 2 of 4: storage refuses its first download as expired
  await ws.api('POST', '/admin/faults', { path: '^/dbx-local-presigned/results/[^/]+/chunk-2-', method: 'GET', kind: 'expired_link', count: 1 });
  try {
    const rows = await ws.query(`SELECT group_concat(json_extract(row, '$.id')) AS ids, count(*) AS n FROM dbx_query(
  'SELECT id FROM main.default.links_mid ORDER BY id', NULL, '{"disposition": "external_links"}');
SELECT chunks, rows, state FROM dbx_statements;`);
    assert.deepEqual(rows, [{ chunks: 4, rows: 10, state: 'SUCCEEDED' }]);
    const log = (await ws.api('GET', '/admin/requests')).body.requests;
    const seq = log.filter((x) => /\/chunk-2-|\/result\/chunks\/2$/.test(x.path)).map((x) => (x.path.includes('presigned') ? `download:${x.status}` : `chunk:${x.status}`));
    assert.deepEqual(seq, ['chunk:200', 'download:403', 'chunk:200', 'download:200']);
    const [ids] = await ws.query(`SELECT group_concat(json_extract(row, '$.id')) AS ids FROM dbx_query(
  'SELECT id FROM main.default.links_mid ORDER BY id', NULL, '{"disposition": "external_links"}');`);
    assert.equal(ids.ids, '1,2,3,4,5,6,7,8,9,10');
  } finally {
    await ws.api('DELETE', '/admin/faults');
    await settings({ chunk_rows: 10000 });
  }
});

test('a link past its expiration is re-requested before use', async () => {
  await settings({ chunk_rows: 4, link_ttl_seconds: 1 });
  // Hold the first download long enough for its link to expire on the way.
  await ws.api('POST', '/admin/faults', { path: '^/dbx-local-presigned/', method: 'GET', delay_ms: 1500, count: 1 });
  try {
    const rows = await ws.query(`SELECT count(*) AS n, sum(json_extract(row, '$.id')) AS s FROM dbx_query(
  'SELECT id FROM main.default.links', NULL, '{"disposition": "external_links"}');`);
    assert.deepEqual(rows, [{ n: 10, s: 55 }]);
  } finally {
    await settings({ chunk_rows: 10000, link_ttl_seconds: 900 });
  }
});

test('an INLINE result too large is re-run with EXTERNAL_LINKS automatically', async () => {
  await settings({ inline_limit_bytes: 100 });
  try {
    const rows = await ws.query(`SELECT count(*) AS n FROM dbx_query('SELECT * FROM main.default.nums');
SELECT state, error IS NOT NULL AS has_error FROM dbx_statements ORDER BY seq;`);
    assert.deepEqual(rows, [{ state: 'FAILED', has_error: 1 }, { state: 'SUCCEEDED', has_error: 0 }]);
    const [n] = await ws.query(`SELECT count(*) AS n FROM dbx_query('SELECT * FROM main.default.nums');`);
    assert.equal(n.n, 10);
    const err = await ws.fail(`SELECT count(*) FROM dbx_query('SELECT * FROM main.default.nums', NULL, '{"disposition":"inline"}');`);
    assert.match(err, /Inline byte limit exceeded.*statement [0-9a-f-]{36}\)$/);
  } finally {
    await settings({ inline_limit_bytes: 26214400 });
  }
});

test('an empty result is not an error; DDL has no rows', async () => {
  const rows = await ws.query(`SELECT count(*) AS n FROM dbx_query('SELECT * FROM main.default.nums WHERE id < 0');`);
  assert.deepEqual(rows, [{ n: 0 }]);
});
