// Latency benchmark: what a person at the shell feels.
//
//   small   N one-row queries (dbx_query('SELECT 1')) in one shell process:
//           round trips per query (counted in dbx-local's request log) and
//           time per query, beside the baseline of one HTTP POST of the same
//           statement with curl (a single round trip, no SQLite);
//   ctrl-c  how long sqlite3_interrupt() takes to return control, during the
//           submit of a statement that waits on a stopped warehouse and
//           while it is polled, beside the 100 ms poll interval it is
//           checked at.
// Usage: node tests/bench/latency.mjs [--queries N] [--runs N]
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer, api } from '../dbx-local/test/helpers.mjs';
import { EXT, median, opt } from './common.mjs';

const QUERIES = opt('--queries', 50);
const RUNS = opt('--runs', 3);
const HOST_SRC = fileURLToPath(new URL('../integration/interrupt_host.c', import.meta.url));
const WAREHOUSE = '0000000000000001';
const SLOW = '0000000000000002';

const fmt = (x) => x.toFixed(1);

function run(cmd, cmdArgs, env, input) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, cmdArgs, { env, input, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return { ms, out: r.stdout };
}

async function main() {
  const server = await startServer({
    config: {
      warehouses: [
        { id: WAREHOUSE, name: 'Local Warehouse', state: 'RUNNING' },
        { id: SLOW, name: 'Stopped Warehouse', state: 'STOPPED', start_seconds: 600 },
      ],
    },
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-latency-'));
  const env = { ...process.env, DATABRICKS_HOST: server.url, DATABRICKS_TOKEN: server.token, DATABRICKS_WAREHOUSE_ID: WAREHOUSE, HOME: dir };
  try {
    console.log(`latency benchmark: ${QUERIES} small queries per shell, ${RUNS} runs each, medians`);
    // small queries
    const script = `.load ${EXT}\n` + `SELECT row FROM dbx_query('SELECT 1 AS one');\n`.repeat(QUERIES);
    const ext = [], curl = [];
    let perQuery = 0;
    for (let i = 0; i < RUNS; i++) {
      await api(server.url, server.token, 'DELETE', '/admin/requests');
      ext.push(run('sqlite3', ['-batch', ':memory:'], env, script).ms / QUERIES);
      const log = (await api(server.url, server.token, 'GET', '/admin/requests')).body.requests;
      perQuery = log.filter((x) => x.path.startsWith('/api/')).length / QUERIES;
      const body = JSON.stringify({ statement: 'SELECT 1 AS one', warehouse_id: WAREHOUSE, wait_timeout: '10s' });
      curl.push(run('curl', ['-sf', '-o', '/dev/null', '-H', `Authorization: Bearer ${server.token}`,
        '-H', 'Content-Type: application/json', '-d', body, `${server.url}/api/2.0/sql/statements`], env).ms);
    }
    const e = median(ext), c = median(curl);
    console.log(`small      ${fmt(e)} ms per query, ${perQuery} HTTP requests per query (one process for ${QUERIES} queries)`);
    console.log(`curl       ${fmt(c)} ms per query (one POST, one process per query)`);
    console.log(`ratios     extension/curl ${fmt(e / c)}`);

    // Ctrl-C
    const host = path.join(dir, 'host');
    const cc = spawnSync(process.env.CC || 'cc', ['-o', host, HOST_SRC, '-lsqlite3', '-lpthread'], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(cc.stderr);
    const cases = {
      submit: `SELECT * FROM dbx_query('SELECT 1', NULL, '{"warehouse": "${SLOW}", "wait_timeout": 30}')`,
      polling: `SELECT * FROM dbx_query('SELECT 1', NULL, '{"warehouse": "${SLOW}", "wait_timeout": 0}')`,
    };
    for (const [name, sql] of Object.entries(cases)) {
      const ms = [];
      for (let i = 0; i < RUNS; i++) {
        const r = run(host, [EXT, sql, '1500', '0'], env);
        ms.push(JSON.parse(r.out.trim()).after_interrupt_ms);
      }
      console.log(`ctrl-c     ${name.padEnd(8)} ${median(ms)} ms from sqlite3_interrupt() to control back (poll interval 100 ms)`);
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
