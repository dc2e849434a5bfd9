// SIGTERM and SIGINT stop the server promptly even while a long statement runs, and release the
// data folder (DuckDB's file lock) so an immediate restart on the same --data works.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, api, pollStatement } from './helpers.mjs';

const WH = '0000000000000001';
// Runs for minutes unless interrupted: only a prompt stop ends it.
const SLOW_SQL = 'SELECT count(*) AS n FROM range(1000000) a CROSS JOIN range(1000000) b WHERE a.id * b.id = -1';
const STOP_LIMIT_MS = 2000;

async function sql(srv, statement) {
  const r = await api(srv.url, srv.token, 'POST', '/api/2.0/sql/statements', { statement, warehouse_id: WH, wait_timeout: '30s' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status.state, 'SUCCEEDED', JSON.stringify(r.body.status));
  return r.body;
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`${signal} during a long statement exits within ${STOP_LIMIT_MS} ms and frees the data folder`, async (t) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dbx-local-signal-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));

    const first = await startServer({ dataDir });
    let exited;
    try {
      await sql(first, 'CREATE TABLE main.default.survivor (id BIGINT)');
      await sql(first, 'INSERT INTO main.default.survivor VALUES (1), (2)');
      const slow = await api(first.url, first.token, 'POST', '/api/2.0/sql/statements', { statement: SLOW_SQL, warehouse_id: WH, wait_timeout: '0s' });
      assert.equal(slow.status, 200);
      await pollStatement(first.url, first.token, slow.body.statement_id, ['RUNNING']);
      // A write queued behind the long statement must not run once the stop began.
      await api(first.url, first.token, 'POST', '/api/2.0/sql/statements', { statement: 'INSERT INTO main.default.survivor VALUES (3)', warehouse_id: WH, wait_timeout: '0s' });
      await new Promise((resolve) => setTimeout(resolve, 300)); // the join is well under way
      const gone = new Promise((resolve) => first.proc.once('exit', (code, sig) => resolve({ code, sig, at: Date.now() })));
      const sent = Date.now();
      first.proc.kill(signal);
      exited = await Promise.race([gone, new Promise((resolve) => setTimeout(() => resolve(null), 10_000))]);
      assert.ok(exited, `${signal} did not stop the server within 10 s`);
      assert.ok(exited.at - sent < STOP_LIMIT_MS, `${signal} took ${exited.at - sent} ms to stop the server`);
      assert.deepEqual([exited.code, exited.sig], [0, null], first.stderr());
    } finally {
      await first.stop();
    }

    const second = await startServer({ dataDir });
    try {
      const b = await sql(second, 'SELECT id FROM main.default.survivor ORDER BY id');
      assert.deepEqual(b.result.data_array, [['1'], ['2']]);
    } finally {
      assert.deepEqual(await second.stop(), { code: 0, signal: null });
    }
  });
}
