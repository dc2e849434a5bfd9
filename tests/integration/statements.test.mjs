// The statement client's life cycle: dbx_statements shows what ran
// remotely (parameter values elided), a statement on a STOPPED warehouse is
// polled until it finishes, and a statement timeout cancels the remote
// statement.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { workspace, EXT } from './harness.mjs';

const HOST_SRC = fileURLToPath(new URL('./interrupt_host.c', import.meta.url));
const WAREHOUSE = '0000000000000001';
const SLOW = '0000000000000002';
let ws;
before(async () => {
  ws = await workspace({
    config: {
      warehouses: [
        { id: WAREHOUSE, name: 'Local Warehouse', state: 'STOPPED', start_seconds: 1 },
        { id: SLOW, name: 'Slow Warehouse', state: 'STOPPED', start_seconds: 60 },
      ],
    },
  });
});
after(async () => { await ws?.stop(); });

test('a STOPPED warehouse: the statement stays PENDING, is polled, then succeeds', async () => {
  await ws.api('DELETE', '/admin/requests');
  const rows = await ws.query(`SELECT row FROM dbx_query('SELECT 1 AS one', NULL, '{"wait_timeout": 0}');
SELECT row FROM dbx_query('SELECT 2 AS two');`);
  assert.deepEqual(rows, [{ row: '{"two":2}' }]);
  const log = (await ws.api('GET', '/admin/requests')).body.requests;
  const polls = log.filter((x) => x.method === 'GET' && /^\/api\/2\.0\/sql\/statements\/[^/]+$/.test(x.path));
  assert.ok(polls.length >= 2, `polled while the warehouse started (${polls.length} polls)`);
  assert.ok(polls.length < 40, `backoff keeps polls few (${polls.length})`);
});

test('dbx_statements: id, SQL with markers, parameter names without values, counters', async () => {
  const rows = await ws.query(`SELECT count(*) FROM dbx_query('SELECT :pw AS p, :n AS n', '{"pw": "hunter2-secret", "n": 5}');
SELECT seq, statement_id, sql, params, state, rows, bytes > 0 AS has_bytes, chunks, ms >= 0 AS timed, error FROM dbx_statements;`);
  assert.equal(rows.length, 1, 'one shell, one connection, one statement');
  const [r] = rows;
  assert.match(r.statement_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.deepEqual({ ...r, statement_id: undefined }, {
    seq: 1, statement_id: undefined, sql: 'SELECT :pw AS p, :n AS n', params: ':pw STRING, :n BIGINT',
    state: 'SUCCEEDED', rows: 1, has_bytes: 1, chunks: 1, timed: 1, error: null,
  });
  assert.ok(!JSON.stringify(rows).includes('hunter2'));
  const remote = await ws.api('GET', `/api/2.0/sql/statements/${r.statement_id}`);
  assert.equal(remote.body.status.state, 'SUCCEEDED');
});

test('failed statements are logged with their error', async () => {
  const log = await ws.run(`.bail off
SELECT count(*) FROM dbx_query('SELECT * FROM main.default.missing_table');
SELECT state, error FROM dbx_statements;`);
  assert.match(log.stdout, /"state":"FAILED","error":"databricks: \[TABLE_OR_VIEW_NOT_FOUND\][^"]*statement [0-9a-f-]{36}\)"/);
});

test('statement_timeout cancels the remote statement', async () => {
  // The warehouse stopped again: the statement waits PENDING past the timeout.
  let r = await ws.api('POST', `/admin/warehouses/${WAREHOUSE}`, { state: 'STOPPED' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const started = Date.now();
  const err = await ws.fail(`SELECT * FROM dbx_query('SELECT 42', NULL, '{"statement_timeout": 0.3, "wait_timeout": 0}');`);
  assert.ok(Date.now() - started < 5000, 'gave up promptly');
  assert.match(err, /^Runtime error near line \d+: databricks: statement canceled after the statement_timeout of 0\.3 s; .* \(STATEMENT_TIMEOUT, statement ([0-9a-f-]{36})\)/);
  const id = err.match(/statement ([0-9a-f-]{36})\)/)[1];
  const remote = await ws.api('GET', `/api/2.0/sql/statements/${id}`);
  assert.equal(remote.body.status.state, 'CANCELED');
  const log = (await ws.api('GET', '/admin/requests')).body.requests;
  assert.ok(log.some((x) => x.method === 'POST' && x.path === `/api/2.0/sql/statements/${id}/cancel`));
});

// Runs script in a shell, sends SIGINT once a statement is being polled on
// the slow warehouse, and checks the remote statement ended CANCELED.
async function interruptWhilePolling(script) {
  await ws.api('DELETE', '/admin/requests');
  const env = { ...process.env, ...ws.env, HOME: ws.home };
  if (process.env.DBX_SQLITE_PRELOAD) env.LD_PRELOAD = process.env.DBX_SQLITE_PRELOAD;
  const proc = spawn('sqlite3', ['-bail', ':memory:'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
  proc.stdin.end(`.load ${EXT}\n${script}\n`);
  // Wait until the statement is submitted and being polled, then interrupt.
  let id;
  for (let i = 0; i < 100 && !id; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const log = (await ws.api('GET', '/admin/requests')).body.requests;
    const poll = log.find((x) => x.method === 'GET' && /^\/api\/2\.0\/sql\/statements\/[^/]+$/.test(x.path));
    if (poll) id = poll.path.split('/').pop();
  }
  assert.ok(id, 'the statement was polled');
  proc.kill('SIGINT');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
  const code = await done;
  clearTimeout(timer);
  assert.notEqual(code, 0);
  assert.doesNotMatch(stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
  assert.match(stderr, new RegExp(`databricks: interrupted; the remote statement was canceled \\(statement ${id}\\)`));
  const remote = await ws.api('GET', `/api/2.0/sql/statements/${id}`);
  assert.equal(remote.body.status.state, 'CANCELED');
  const log = (await ws.api('GET', '/admin/requests')).body.requests;
  assert.ok(log.some((x) => x.method === 'POST' && x.path === `/api/2.0/sql/statements/${id}/cancel`));
}

test('Ctrl-C (sqlite3_interrupt) cancels the remote statement of dbx_query', async () => {
  await interruptWhilePolling(
    `SELECT * FROM dbx_query('SELECT 7', NULL, '{"warehouse": "${SLOW}", "wait_timeout": 0}');`);
});

test('Ctrl-C (sqlite3_interrupt) cancels the remote statement of a vtab scan', async () => {
  // The table lives on the workspace; the scan runs on the slow warehouse.
  let r = await ws.api('POST', `/admin/warehouses/${WAREHOUSE}`, { state: 'RUNNING' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await ws.api('POST', '/api/2.0/sql/statements',
    { statement: 'CREATE TABLE main.default.ints AS SELECT 1 AS id', warehouse_id: WAREHOUSE, wait_timeout: '30s' });
  assert.equal(r.body.status?.state, 'SUCCEEDED', JSON.stringify(r.body));
  await interruptWhilePolling(`CREATE VIRTUAL TABLE ints USING databricks(table='main.default.ints', warehouse='${SLOW}', wait_timeout=0);
SELECT * FROM ints;`);
});

test('Ctrl-C during the submit returns at once; the statement is canceled once it is named', async () => {
  // The slow warehouse keeps the statement PENDING, so the submit waits its
  // whole wait_timeout (5 s) before Databricks names the statement. An
  // application embedding SQLite interrupts after 1.5 s and lives on.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-host-'));
  try {
    const host = path.join(dir, 'host');
    const cc = spawnSync(process.env.CC || 'cc', ['-o', host, HOST_SRC, '-lsqlite3', '-lpthread'], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    await ws.api('DELETE', '/admin/requests');
    const env = { ...process.env, ...ws.env, HOME: ws.home };
    if (process.env.DBX_SQLITE_PRELOAD) env.LD_PRELOAD = process.env.DBX_SQLITE_PRELOAD;
    const proc = spawn(host, [EXT, `SELECT * FROM dbx_query('SELECT 8', NULL, '{"warehouse": "${SLOW}", "wait_timeout": 5}')`, '1500', '6000'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const done = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
    // While the application lives on, the reply arrives and the statement
    // it names is canceled.
    let cancel;
    for (let i = 0; i < 200 && !cancel; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const log = (await ws.api('GET', '/admin/requests')).body.requests;
      cancel = log.find((x) => x.method === 'POST' && /^\/api\/2\.0\/sql\/statements\/[^/]+\/cancel$/.test(x.path));
    }
    const code = await done;
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
    const out = JSON.parse(stdout.trim());
    assert.equal(out.rc, 9 /* SQLITE_INTERRUPT */, stdout);
    assert.match(out.error, /databricks: interrupted while the statement was being submitted; it is canceled as soon as Databricks names it/);
    assert.ok(out.after_interrupt_ms >= 0 && out.after_interrupt_ms < 1000, `control came back after ${out.after_interrupt_ms} ms`);
    assert.ok(cancel, 'a cancel was sent');
    const id = cancel.path.split('/')[5];
    const remote = await ws.api('GET', `/api/2.0/sql/statements/${id}`);
    assert.equal(remote.body.status.state, 'CANCELED');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('progress: the remote state while waiting, then rows and MB, on stderr; off in a pipe unless asked', async () => {
  // Waiting: the slow warehouse keeps the statement PENDING until the
  // statement_timeout cancels it.
  let r = await ws.run(`SELECT * FROM dbx_query('SELECT 1', NULL, '{"warehouse": "${SLOW}", "wait_timeout": 0, "statement_timeout": 2.5, "progress": "on"}');`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /\rdatabricks: PENDING, [12]\.\d s\x1b\[K/);
  assert.match(r.stderr, /\r\x1b\[K/, 'the line is cleared at the end');
  r = await ws.run(`SELECT * FROM dbx_query('SELECT 1', NULL, '{"warehouse": "${SLOW}", "wait_timeout": 0, "statement_timeout": 1.5}');`);
  assert.doesNotMatch(r.stderr, /PENDING/, 'stderr is not a terminal: no progress by default');
  // Reading: small chunks, each held back a little.
  let w = await ws.api('POST', `/admin/warehouses/${WAREHOUSE}`, { state: 'RUNNING' });
  assert.equal(w.status, 200);
  await ws.api('POST', '/admin/settings', { chunk_rows: 1000 });
  await ws.api('POST', '/admin/faults', { method: 'GET', path: '/result/chunks/', hold_ms: 400, count: 6 });
  try {
    r = await ws.run(`SELECT dbx_config('progress', 'on');
SELECT count(*) AS n FROM dbx_query('SELECT id FROM range(8000)', NULL, '{"disposition": "external_links"}');`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"n":8000/);
    assert.match(r.stderr, /\rdatabricks: \d+ rows, \d+\.\d MB, \d+\.\d MB\/s, \d+\.\d s\x1b\[K/);
    const err = await ws.fail(`SELECT dbx_config('progress', 'loud');`);
    assert.match(err, /progress must be on or off, not 'loud'/);
  } finally {
    await ws.api('DELETE', '/admin/faults');
  }
});
