// Export benchmark: Amplitude-shaped event rows (the full 37-column model)
// in a local SQLite table exported to dbx-local with dbx_export(), and the
// same rows written by INSERT ... SELECT into a databricks virtual table,
// beside two baselines measured in the same run:
//
//   sqlite  the sqlite3 shell reading every value of the same rows (a
//           yardstick for anything that reads them through SQLite);
//   duckdb  DuckDB writing the same rows to ZSTD Parquet with one thread
//           (its in-memory table loaded first, untimed).
//
// Each export goes to a new table, so every run does the same work. The
// figures are whole sqlite3 processes (/usr/bin/time), and the target
// leaves out the time dbx-local spends inside COPY INTO (the export's own
// "load" seconds), which is the server's work, not the extension's.
//
// Usage: node tests/bench/export.mjs [--rows N] [--runs N]
// EXPORT_10M=1 also measures the peak RSS of an export of 10,000,000 rows.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { startServer } from '../dbx-local/test/helpers.mjs';
import { EXT, median, opt } from './common.mjs';
import { COLUMNS, duckdbWrite, makeTable, mib, sqliteScan, timed } from './amplitude.mjs';

const ROWS = opt('--rows', 1_000_000);
const RUNS = opt('--runs', 3);

const tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-export-bench-'));
const server = await startServer();
Object.assign(process.env, {
  HOME: tmp,
  DATABRICKS_HOST: server.url,
  DATABRICKS_TOKEN: server.token,
  DATABRICKS_WAREHOUSE_ID: '0000000000000001',
});
let nTable = 0;

// One export of `events` in db to a new table; its report and the process.
function exportRun(db) {
  const target = `main.default.bench_${++nTable}`;
  const r = timed('sqlite3', [db],
    `.load ${EXT}\nSELECT dbx_export('events', '${target}', '{"model": "amplitude_events", "progress": false}');\n`);
  const rep = JSON.parse(r.stdout);
  return { ...r, rep };
}

// INSERT ... SELECT of every row into a databricks table over a new target;
// the COPY INTO time comes from dbx_statements.
function insertRun(db) {
  const target = `main.default.bench_${++nTable}`;
  const r = timed('sqlite3', [db], `.load ${EXT}
CREATE TEMP TABLE _t AS SELECT 1;
CREATE VIRTUAL TABLE temp.vt USING databricks(table='${target}', model='amplitude_events');
INSERT INTO vt SELECT * FROM events;
SELECT coalesce(sum(ms), 0) FROM dbx_statements WHERE sql LIKE 'COPY INTO%';
`);
  return { ...r, loadMs: Number(r.stdout.trim().split('\n').pop()) };
}

try {
  console.log(`export benchmark: ${ROWS} Amplitude-shaped rows, ${COLUMNS.length} columns, ${RUNS} runs each, medians`);
  const db = path.join(tmp, 'events.db');
  makeTable(db, ROWS);

  // DuckDB writes from the same rows, which it loads from a Parquet file
  // (untimed); then the four commands are taken in turn, run after run,
  // so that a machine whose speed drifts slows them alike
  const pq = path.join(tmp, 'rows.parquet');
  timed('sqlite3', [db], `.load ${EXT}\nSELECT dbx_parquet('SELECT * FROM events', '${pq}', '{"file_size_mb": 0}');\n`);
  const ex = [];
  const ins = [];
  const scan = [];
  const duck = [];
  for (let i = 0; i < RUNS; i++) {
    ex.push(exportRun(db));
    ins.push(insertRun(db));
    scan.push(sqliteScan(db));
    duck.push(...duckdbWrite(pq, tmp, 1));
  }
  for (const e of ex) if (e.rep.rows !== ROWS) throw new Error(`dbx_export sent ${e.rep.rows} rows`);

  const floor = median(scan.map((r) => r.wall));
  const wall = median(ex.map((r) => r.wall));
  const load = median(ex.map((r) => r.rep.seconds.load));
  const own = median(ex.map((r) => r.wall - r.rep.seconds.load));
  const phase = (k) => median(ex.map((r) => r.rep.seconds[k])).toFixed(2);
  const bytes = ex[0].rep.bytes;
  const rss = median(ex.map((r) => r.rss));
  const insWall = median(ins.map((r) => r.wall));
  const insOwn = median(ins.map((r) => r.wall - r.loadMs / 1000));
  const insRss = median(ins.map((r) => r.rss));
  const duckWall = median(duck.map((r) => r.wall));
  const rate = (s) => Math.round(ROWS / s).toLocaleString('en-US');

  console.log(`  dbx_export()      ${wall.toFixed(2)} s whole, ${own.toFixed(2)} s without COPY INTO (${load.toFixed(2)} s)  ${rate(own)} rows/s  ${(bytes / 1e6 / own).toFixed(1)} MB/s staged  peak RSS ${mib(rss)} MiB`);
  console.log(`    phases (s): stage ${phase('stage')}, prepare ${phase('prepare')}, upload ${phase('upload')}, load ${phase('load')}, cleanup ${phase('cleanup')}; ${(bytes / 1e6).toFixed(1)} MB of Parquet`);
  console.log(`  INSERT ... SELECT ${insWall.toFixed(2)} s whole, ${insOwn.toFixed(2)} s without COPY INTO  ${rate(insOwn)} rows/s  peak RSS ${mib(insRss)} MiB`);
  console.log(`  sqlite3 scan      ${floor.toFixed(2)} s  ${rate(floor)} rows/s (every value read)`);
  console.log(`  duckdb 1 thread   ${duckWall.toFixed(2)} s  ${rate(duckWall)} rows/s (ZSTD Parquet of the same rows, its table in memory)`);
  console.log(`  ratios: export without COPY INTO / sqlite3 scan ${(own / floor).toFixed(2)}x, INSERT ... SELECT / scan ${(insOwn / floor).toFixed(2)}x, export / duckdb ${(own / duckWall).toFixed(2)}x`);
  console.log(`  targets: export within 2x of the scan: ${own <= 2 * floor ? 'met' : 'NOT met'}; peak RSS < 64 MiB: ${rss < 65536 ? 'met' : 'NOT met'}`);

  if (process.env.EXPORT_10M) {
    const big = path.join(tmp, 'big.db');
    makeTable(big, 10_000_000);
    const r = exportRun(big);
    console.log(`  10,000,000 rows: ${r.wall.toFixed(1)} s whole, peak RSS ${mib(r.rss)} MiB (${r.rss < 65536 ? 'under' : 'NOT under'} 64 MiB)`);
  } else {
    console.log('  (peak RSS at 10,000,000 rows: set EXPORT_10M=1)');
  }
} finally {
  await server.stop();
  await rm(tmp, { recursive: true, force: true });
}
