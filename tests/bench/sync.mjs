// Sync benchmark: a remote user-properties table's change feed applied to a
// local table by dbx_sync(), beside the same change rows read through the
// extension's read path, in the same run against the same dbx-local.
//
// The remote table main.default.users has the change data feed on and is
// filled by one INSERT ... SELECT of N users (version 1), then an UPDATE of
// every tenth user (version 2), so its feed holds N inserts and N/10
// update pre- and post-images: N + N/10 rows to apply (N = 909,091 gives
// 1,000,000).
//
//   scan  the baseline: the change rows but the pre-images, read through a
//         databricks table with changes=true into a local table with
//         CREATE TABLE ... AS SELECT (the read path, no upsert);
//   sync  SELECT dbx_sync('main.default.users', 'users',
//         '{"kind": "user_properties", "key": "user_id"}'): the same rows
//         read and upserted by key, with the version reached recorded.
//
// Each run is a whole sqlite3 process (/usr/bin/time) on a new local
// database. Targets: sync within 1.3x of the scan's time, and its peak RSS
// under 64 MiB.
//
// Usage: node tests/bench/sync.mjs [--rows N] [--runs N]
// (--rows is N, the users in the remote table; default 909,091)
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { startServer } from '../dbx-local/test/helpers.mjs';
import { EXT, WAREHOUSE, median, opt, sql } from './common.mjs';
import { mib, timed } from './amplitude.mjs';

const N = opt('--rows', 909_091);
const RUNS = opt('--runs', 3);
const UPDATED = Math.floor(N / 10); // user_id runs 1..N; every tenth is updated
const APPLIED = N + UPDATED;        // inserts + update post-images

const CREATE_SQL = `CREATE TABLE main.default.users (
  user_id BIGINT, plan STRING, country STRING, city STRING,
  sessions BIGINT, revenue DOUBLE, updated_at TIMESTAMP)
  TBLPROPERTIES (delta.enableChangeDataFeed = true)`;
const INSERT_SQL = `INSERT INTO main.default.users SELECT
  id AS user_id,
  CASE id % 4 WHEN 0 THEN 'free' WHEN 1 THEN 'starter' WHEN 2 THEN 'pro' ELSE 'enterprise' END AS plan,
  CASE id % 5 WHEN 0 THEN 'Germany' WHEN 1 THEN 'Japan' ELSE 'United States' END AS country,
  CASE id % 3 WHEN 0 THEN 'San Francisco' WHEN 1 THEN 'Berlin' ELSE 'Tokyo' END AS city,
  id % 500 AS sessions,
  (id % 10000) / 100.0 AS revenue,
  TIMESTAMP '2024-01-01 00:00:00' + id * INTERVAL 1 SECOND AS updated_at
FROM range(1, ${N + 1})`;
const UPDATE_SQL = `UPDATE main.default.users
  SET plan = 'enterprise', sessions = sessions + 1, revenue = revenue + 9.99,
      updated_at = updated_at + INTERVAL 1 DAY
  WHERE user_id % 10 = 0`;

// One number from a plain sqlite3 query on db (untimed).
function scalar(db, query) {
  const r = spawnSync('sqlite3', [db, query], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sqlite3 failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-sync-bench-'));
const server = await startServer({ config: { settings: { chunk_rows: 100000 } } });
Object.assign(process.env, {
  HOME: tmp,
  DATABRICKS_HOST: server.url,
  DATABRICKS_TOKEN: server.token,
  DATABRICKS_WAREHOUSE_ID: WAREHOUSE,
});
let nDb = 0;

// The baseline: the change rows but the pre-images copied into a local
// table through the read path, in a new database.
async function scanRun() {
  const db = path.join(tmp, `scan_${++nDb}.db`);
  const r = timed('sqlite3', ['-bail', db], `.load ${EXT}
CREATE VIRTUAL TABLE c USING databricks(table='main.default.users', changes=true);
CREATE TABLE copy AS SELECT * FROM c WHERE _change_type <> 'update_preimage';
`);
  const rows = scalar(db, 'SELECT count(*) FROM copy');
  if (rows !== APPLIED) throw new Error(`the scan copied ${rows} rows, not ${APPLIED}`);
  await rm(db, { force: true });
  return r;
}

// One dbx_sync() into a new database; its report checked against the feed.
async function syncRun() {
  const db = path.join(tmp, `sync_${++nDb}.db`);
  const r = timed('sqlite3', ['-bail', db], `.load ${EXT}
SELECT dbx_sync('main.default.users', 'users', '{"kind": "user_properties", "key": "user_id", "progress": false}');
`);
  const rep = JSON.parse(r.stdout);
  const want = { rows: APPLIED, inserted: N, updated: UPDATED };
  for (const [k, v] of Object.entries(want)) {
    if (rep[k] !== v) throw new Error(`dbx_sync reported ${k} = ${rep[k]}, not ${v}: ${r.stdout.trim()}`);
  }
  const count = scalar(db, 'SELECT count(*) FROM users');
  if (count !== N) throw new Error(`the local table has ${count} rows after dbx_sync, not ${N}`);
  await rm(db, { force: true });
  return { ...r, rep };
}

try {
  console.log(`sync benchmark: ${N} users, ${UPDATED} updated: ${APPLIED} change rows applied (inserts + post-images), ${RUNS} runs each, medians`);
  await sql(server, CREATE_SQL);
  await sql(server, INSERT_SQL);
  await sql(server, UPDATE_SQL);

  const scan = [], sync = [];
  for (let i = 0; i < RUNS; i++) {
    scan.push(await scanRun());
    sync.push(await syncRun());
  }

  const row = (runs) => ({ wall: median(runs.map((r) => r.wall)), rss: median(runs.map((r) => r.rss)) });
  const a = row(scan), b = row(sync);
  const rate = (s) => Math.round(APPLIED / s).toLocaleString('en-US');
  const ratio = b.wall / a.wall;
  const rep = sync[sync.map((r) => r.wall).indexOf(b.wall)].rep;
  const phases = Object.keys(rep.seconds ?? {})
    .map((k) => `${k} ${median(sync.map((r) => r.rep.seconds[k])).toFixed(2)}`).join(', ');
  console.log(`  scan  ${a.wall.toFixed(2)} s  ${rate(a.wall)} rows/s  peak RSS ${mib(a.rss)} MiB  (changes=true, CREATE TABLE AS SELECT)`);
  console.log(`  sync  ${b.wall.toFixed(2)} s  ${rate(b.wall)} rows/s  peak RSS ${mib(b.rss)} MiB  (dbx_sync, user_properties on user_id)`);
  console.log(`    its seconds (medians): ${phases}; versions ${rep.from} to ${rep.to}, inserted ${rep.inserted}, updated ${rep.updated}, unchanged ${rep.unchanged}`);
  console.log(`  ratio sync/scan ${ratio.toFixed(2)}x`);
  console.log(`  ${ratio <= 1.3 ? 'PASS' : 'MISS'} sync within 1.3x of the scan (${ratio.toFixed(2)}x)`);
  console.log(`  ${b.rss < 65536 ? 'PASS' : 'MISS'} sync peak RSS < 64 MiB (${mib(b.rss)} MiB)`);
} catch (e) {
  const exit = server.proc.exitCode ?? server.proc.signalCode ?? 'still running';
  console.error(`benchmark failed: ${e.message}\ndbx-local (exit ${exit}) said:\n${server.stderr().slice(-2000)}`);
  process.exitCode = 1;
} finally {
  await server.stop();
  await rm(tmp, { recursive: true, force: true });
}
