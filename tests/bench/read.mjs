// Read benchmark: a remote table of Amplitude-shaped events read into a
// local SQLite table with `CREATE TABLE ... AS SELECT * FROM remote`.
//
// Baselines, measured in the same run against the same dbx-local:
//   server the warehouse side alone: submitting the scan and waiting until
//          it SUCCEEDED (no download); the extension's time includes it;
//   curl   the same result fetched as raw JSON_ARRAY chunks (EXTERNAL_LINKS)
//          with curl, one process, no decoding: the transfer floor;
//   sqlite a plain sqlite3 copy of the same rows from a local table: the
//          SQLite insert floor.
// Usage: node tests/bench/read.mjs [--rows N] [--runs N]
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { startServer, api } from '../dbx-local/test/helpers.mjs';
import { EXT, WAREHOUSE, median, opt, sql } from './common.mjs';

const ROWS = opt('--rows', 1_000_000);
const RUNS = opt('--runs', 3);

// The Amplitude export schema (seeds/000): synthetic but realistic values.
const EVENTS_SQL = `CREATE TABLE main.default.events AS SELECT
  id AS event_id,
  1000000 + id % 50000 AS amplitude_id,
  123456 AS app,
  CASE id % 3 WHEN 0 THEN 'San Francisco' WHEN 1 THEN 'Berlin' ELSE 'Tokyo' END AS city,
  TIMESTAMP '2024-01-01 00:00:00' + id * INTERVAL 1 SECOND AS client_event_time,
  'United States' AS country,
  concat('device-', id % 100000) AS device_id,
  concat('event_', id % 40) AS event_type,
  TIMESTAMP '2024-01-01 00:00:00' + id * INTERVAL 1 SECOND AS event_time,
  parse_json(concat('{"plan":"pro","step":', id % 7, '}')) AS event_properties,
  37.7749 + (id % 100) / 1000.0 AS location_lat,
  -122.4194 - (id % 100) / 1000.0 AS location_lng,
  'ios' AS os_name,
  1396381378123 + id AS session_id,
  concat('user-', id % 20000) AS user_id
FROM range(${ROWS})`;

// Runs a command under /usr/bin/time; returns wall seconds and peak RSS (KiB).
function timed(cmd, cmdArgs, env, input) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...cmdArgs], {
    env: { ...process.env, ...env }, input, encoding: 'utf8', maxBuffer: 1 << 30,
  });
  const last = r.stderr.trim().split('\n').pop();
  const [wall, rss] = last.split(' ').map(Number);
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(0, 800)}`);
  return { wall, rss };
}


const tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-bench-'));
const server = await startServer({ config: { settings: { chunk_rows: 100000 } } });
try {
  console.log(`read benchmark: ${ROWS} Amplitude-shaped rows, ${RUNS} runs each, medians`);
  await sql(server, EVENTS_SQL);

  // Baseline 1: the result bytes with curl. Each run submits the scan
  // (timed: the warehouse side alone), lists its links (untimed) and
  // downloads them all with one curl process (timed).
  const cfgFile = path.join(tmp, 'curl.cfg');
  let bytes = 0;
  const submit = async () => {
    const t = process.hrtime.bigint();
    const res = await sql(server, 'SELECT * FROM main.default.events', {
      disposition: 'EXTERNAL_LINKS', format: 'JSON_ARRAY',
    });
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const cfg = [];
    for (let i = 0; i < res.manifest.total_chunk_count; i++) {
      const c = await api(server.url, server.token, 'GET', `/api/2.0/sql/statements/${res.statement_id}/result/chunks/${i}`);
      for (const l of c.body.external_links) {
        if (cfg.length) cfg.push('next');  // headers belong to one link only
        cfg.push(`url = "${l.external_link}"`, 'output = "/dev/null"', 'silent', 'show-error', 'fail');
        for (const [k, v] of Object.entries(l.http_headers ?? {})) cfg.push(`header = "${k}: ${v}"`);
      }
    }
    await writeFile(cfgFile, cfg.join('\n') + '\n');
    bytes = res.manifest.total_byte_count ?? 0;
    return seconds;
  };

  // Baseline 2: a plain SQLite copy of the same rows from a local table.
  const localDb = path.join(tmp, 'local.db');
  const extDb = path.join(tmp, 'ext.db');
  const env = { DATABRICKS_HOST: server.url, DATABRICKS_TOKEN: server.token, DATABRICKS_WAREHOUSE_ID: WAREHOUSE, HOME: tmp };
  const readScript = `.load ${EXT}\nCREATE VIRTUAL TABLE remote USING databricks(table='main.default.events');\nDROP TABLE IF EXISTS events;\nCREATE TABLE events AS SELECT * FROM remote;\n`;
  timed('sqlite3', ['-bail', localDb], env, readScript);  // also builds the local copy
  const copyScript = 'DROP TABLE IF EXISTS copy;\nCREATE TABLE copy AS SELECT * FROM events;\n';

  const ext = [], curl = [], copy = [], exec = [];
  for (let i = 0; i < RUNS; i++) {
    await rm(extDb, { force: true });
    ext.push(timed('sqlite3', ['-bail', extDb], env, readScript));
    exec.push(await submit());
    curl.push(timed('curl', ['--config', cfgFile], {}));
    copy.push(timed('sqlite3', ['-bail', localDb], {}, copyScript));
  }
  const dbBytes = (await stat(extDb)).size;
  const e = median(ext.map((x) => x.wall)), c = median(curl.map((x) => x.wall)), s = median(copy.map((x) => x.wall));
  const x = median(exec);
  const fmt = (v) => v.toFixed(2);
  console.log(`extension  ${fmt(e)} s  ${Math.round(ROWS / e)} rows/s  ${fmt(bytes / e / 1e6)} MB/s of result  peak RSS ${Math.round(median(ext.map((x) => x.rss)) / 1024)} MiB  (local db ${fmt(dbBytes / 1e6)} MB)`);
  console.log(`server     ${fmt(x)} s  (the remote query alone; extension minus server: ${fmt(e - x)} s, ${Math.round(ROWS / (e - x))} rows/s)`);
  console.log(`curl       ${fmt(c)} s  ${fmt(bytes / c / 1e6)} MB/s  (${fmt(bytes / 1e6)} MB of JSON_ARRAY chunks)`);
  console.log(`sqlite     ${fmt(s)} s  ${Math.round(ROWS / s)} rows/s  (local CREATE TABLE AS SELECT of the same rows)`);
  console.log(`ratios     extension/curl ${fmt(e / c)}  extension/sqlite ${fmt(e / s)}  (extension-server)/curl ${fmt((e - x) / c)}`);
} catch (e) {
  const exit = server.proc.exitCode ?? server.proc.signalCode ?? 'still running';
  console.error(`benchmark failed: ${e.message}\ndbx-local (exit ${exit}) said:\n${server.stderr().slice(-2000)}`);
  process.exitCode = 1;
} finally {
  await server.stop();
  await rm(tmp, { recursive: true, force: true });
}
