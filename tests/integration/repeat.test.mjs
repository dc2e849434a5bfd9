// Never twice, never cut short: a statement that writes is submitted once
// even when the connection drops or times out after the server acted; a
// read-only one is retried; SQL text, parameters and options with a NUL
// character are refused instead of being cut at it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { workspace } from './harness.mjs';

let ws;
before(async () => {
  ws = await workspace();
  await remote('CREATE TABLE main.default.t (id BIGINT, kind STRING)');
});
after(async () => { await ws?.stop(); });

// Runs SQL remotely as the admin; returns the data_array.
async function remote(statement) {
  return (await ws.sql(statement)).result?.data_array ?? [];
}

async function count(where = 'TRUE') {
  return Number((await remote(`SELECT count(*) FROM main.default.t WHERE ${where}`))[0][0]);
}

const SUBMIT = '^/api/2\\.0/sql/statements/?$';

async function withFault(fault, fn) {
  await ws.api('POST', '/admin/faults', { path: SUBMIT, method: 'POST', ...fault });
  try {
    return await fn();
  } finally {
    await ws.api('DELETE', '/admin/faults');
  }
}

test('an INSERT whose connection drops after the server ran it is not sent again', async () => {
  await remote('DELETE FROM main.default.t');
  // The first call opens a connection that the INSERT would reuse: libcurl
  // itself re-sends a request when a reused connection dies unanswered.
  const err = await withFault({ drop: true, count: 5 }, () => ws.fail(`CREATE VIRTUAL TABLE v USING databricks(table='main.default.t');
SELECT dbx_exec('INSERT INTO main.default.t VALUES (1, ''once'')');`));
  assert.equal(err.split('\n').length, 1, err);
  assert.match(err, /databricks: the statement may have run: .*connection dropped after the request was sent/);
  assert.match(err, /check the remote data before running it again/);
  assert.equal(await count("kind = 'once'"), 1);
});

test('a statement that times out after it was sent is not sent again', async () => {
  await remote('DELETE FROM main.default.t');
  // The server runs it at once and answers after 2.5 s; the client gives up
  // after 1 s without a byte.
  const err = await withFault({ hold_ms: 2500, count: 5 }, () => ws.fail(
    `SELECT dbx_exec('INSERT INTO main.default.t VALUES (2, ''slow'')', NULL, '{"http_timeout_seconds": 1}');`));
  assert.match(err, /the statement may have run: .*timed out after the request was sent/);
  assert.equal(await count("kind = 'slow'"), 1);
});

test('a read-only statement is retried after a dropped connection', async () => {
  const rows = await withFault({ drop: true, count: 1 }, () => ws.query(
    `SELECT json_extract(row, '$.n') AS n FROM dbx_query('SELECT 41 + 1 AS n');`));
  assert.deepEqual(rows, [{ n: 42 }]);
});

test('idempotent=true lets a statement that writes be sent again', async () => {
  await remote('DELETE FROM main.default.t');
  const rows = await withFault({ drop: true, count: 1 }, () => ws.query(
    `SELECT json_extract(dbx_exec('CREATE TABLE IF NOT EXISTS main.default.t2 (id BIGINT)', NULL, '{"idempotent": true}'), '$.state') AS s;`));
  assert.deepEqual(rows, [{ s: 'SUCCEEDED' }]);
  const err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"idempotent": "maybe"}');`);
  assert.match(err, /idempotent must be true or false, not 'maybe'/);
});

test('SQL text with a NUL character is refused, not cut short', async () => {
  await remote('DELETE FROM main.default.t');
  await remote("INSERT INTO main.default.t VALUES (1, 'a'), (2, 'b')");
  let err = await ws.fail(`SELECT dbx_exec('DELETE FROM main.default.t' || char(0) || ' WHERE id < 0');`);
  assert.match(err, /databricks: the SQL text contains a NUL character \(char\(0\)\); remove it/);
  err = await ws.fail(`SELECT * FROM dbx_query('SELECT 1' || char(0) || ' AS x');`);
  assert.match(err, /the SQL text contains a NUL character/);
  assert.equal(await count(), 2);
});

test('parameters and options with a NUL character are refused', async () => {
  let err = await ws.fail(`SELECT dbx_exec('DELETE FROM main.default.t WHERE kind = :k', '{"k": "a\\u0000b"}');`);
  assert.match(err, /params_json contains \\u0000, a NUL character/);
  err = await ws.fail(`SELECT * FROM dbx_query('SELECT :k AS k', '{"k": "a' || char(0) || 'b"}');`);
  assert.match(err, /params_json contains a NUL character/);
  err = await ws.fail(`SELECT dbx_exec('SELECT 1', NULL, '{"warehouse": "0000000000000001\\u0000x"}');`);
  assert.match(err, /options_json contains \\u0000/);
  // An escaped backslash before u0000 is text, not a NUL.
  const rows = await ws.query(`SELECT json_extract(row, '$.k') AS k FROM dbx_query('SELECT :k AS k', '{"k": "a\\\\u0000b"}');`);
  assert.deepEqual(rows, [{ k: 'a\\u0000b' }]);
  assert.equal(await count(), 2);
});
