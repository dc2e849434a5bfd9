// The integration harness: drives the built extension through the sqlite3
// shell, against a dbx-local workspace that each test file starts for itself.
//
//   const ws = await workspace();            // dbx-local on a free port
//   const rows = await ws.query("SELECT dbx_version() AS v");
//   await ws.stop();
//
// DBX_EXT names the extension to load (tests/run.sh sets it; default
// build/databricks). Under `make asan`, DBX_SQLITE_PRELOAD puts the ASan
// runtime in front of the uninstrumented shell, and any sanitizer report on
// stderr fails the call.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer, api } from '../dbx-local/test/helpers.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const EXT = process.env.DBX_EXT ?? path.join(ROOT, 'build', 'databricks');
const SQLITE_TIMEOUT_MS = 120_000;
const SANITIZER = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;

// Environment for the shell: nothing of the caller's Databricks settings or
// home leaks in, so every test states its own configuration.
function shellEnv(home, extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('DATABRICKS_')) env[k] = v;
  }
  env.HOME = home;
  if (process.env.DBX_SQLITE_PRELOAD) env.LD_PRELOAD = process.env.DBX_SQLITE_PRELOAD;
  return { ...env, ...extra };
}

// Runs a script in `sqlite3 -bail` after loading the extension, with output
// in JSON mode. Resolves to { code, stdout, stderr }; rejects on a sanitizer
// report or a time-out (the shell is killed).
export function runShell(script, { db = ':memory:', env = {}, home, load = true } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn('sqlite3', ['-bail', '-batch', db], {
      env: shellEnv(home ?? os.tmpdir(), env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => proc.kill('SIGKILL'), SQLITE_TIMEOUT_MS);
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return reject(new Error(`sqlite3 timed out after ${SQLITE_TIMEOUT_MS} ms`));
      if (SANITIZER.test(stderr)) return reject(new Error(`sanitizer report:\n${stderr}`));
      resolve({ code, stdout, stderr });
    });
    const head = load ? `.load ${EXT}\n` : '';
    proc.stdin.end(`${head}.mode json\n${script}\n`);
  });
}

// Starts the sqlite3 shell with arguments args and the same environment as
// runShell (the ASan runtime first under `make asan`), stdout ignored, for
// tests that feed it, watch it or kill it themselves. Returns the process.
export function spawnShell(args, { env = {}, home } = {}) {
  return spawn('sqlite3', args, {
    env: shellEnv(home ?? os.tmpdir(), env),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}

// Parses the shell's JSON output: one array per statement that returned
// rows, concatenated. Returns the list of result sets.
export function parseResultSets(stdout) {
  const sets = [];
  let depth = 0, start = -1, inStr = false;
  for (let i = 0; i < stdout.length; i++) {
    const c = stdout[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '[') { if (depth++ === 0) start = i; }
    else if (c === ']' && --depth === 0) sets.push(JSON.parse(stdout.slice(start, i + 1)));
  }
  return sets;
}

// A workspace config with the admin and reader@dbx.local, whose token
// is given, holding only USE CATALOG main and USE SCHEMA main.default:
// a principal that may see the schema but read none of its tables.
export function readerConfig(token) {
  return {
    users: [
      { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
      { user_name: 'reader@dbx.local', tokens: [token] },
    ],
    grants: [
      { principal: 'reader@dbx.local', securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG'] },
      { principal: 'reader@dbx.local', securable_type: 'SCHEMA', full_name: 'main.default', privileges: ['USE SCHEMA'] },
    ],
  };
}

// Starts dbx-local and returns helpers bound to it:
//   env: DATABRICKS_* settings pointing the extension at it (PAT auth)
//   query(sql, opts): rows of the last result set; throws the shell's error text
//   fail(sql, opts): the error text of a script expected to fail
//   spawn(args, opts): the shell as a process (spawnShell), to kill midway
//   api(method, path, body): dbx-local REST as the admin (to check remote state)
//   sql(statement, parameters): one remote statement as the admin
//   stop(): stop the server and remove temporary folders
export async function workspace(options = {}) {
  const server = await startServer(options);
  const home = await mkdtemp(path.join(os.tmpdir(), 'dbx-home-'));
  const env = {
    DATABRICKS_HOST: server.url,
    DATABRICKS_TOKEN: server.token,
    DATABRICKS_WAREHOUSE_ID: '0000000000000001',
  };
  const run = (script, opts = {}) => runShell(script, { home, ...opts, env: { ...env, ...opts.env } });
  return {
    server, env, home, run,
    spawn: (args, opts = {}) => spawnShell(args, { home, ...opts, env: { ...env, ...opts.env } }),
    async query(sql, opts) {
      const r = await run(sql, opts);
      if (r.code !== 0) throw new Error(r.stderr.trim() || `sqlite3 exited with ${r.code}`);
      const sets = parseResultSets(r.stdout);
      return sets.length ? sets[sets.length - 1] : [];
    },
    async fail(sql, opts) {
      const r = await run(sql, opts);
      if (r.code === 0) throw new Error(`expected an error, got: ${r.stdout}`);
      return r.stderr.trim();
    },
    api: (method, p, body, headers) => api(server.url, server.token, method, p, body, headers),
    // Runs one remote statement as the admin (to set up or check remote
    // state) and returns the response body; throws unless it SUCCEEDED.
    async sql(statement, parameters) {
      const r = await api(server.url, server.token, 'POST', '/api/2.0/sql/statements',
        { statement, warehouse_id: env.DATABRICKS_WAREHOUSE_ID, parameters });
      if (r.status !== 200 || r.body.status?.state !== 'SUCCEEDED') {
        throw new Error(`remote statement failed: ${JSON.stringify(r.body).slice(0, 500)}`);
      }
      return r.body;
    },
    async stop() {
      await server.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}
