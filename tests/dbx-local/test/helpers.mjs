// Test helpers shared by every dbx-local test file: start a real server process on a free
// loopback port with its own data folder, and a small fetch wrapper for API calls.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../server.mjs', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

// Starts `server.mjs --port 0` and resolves once it prints its listening line.
//   config: config object written to a temp file (omit for the default workspace)
//   admin: mount /admin/* (default true); env: extra environment variables
//   dataDir: reuse a data folder (persistence tests); by default a fresh temp folder that
//            stop() removes (a given dataDir is never removed).
// Returns { url, port, dataDir, token: 'dapi-local-admin', proc, stderr(), stop() };
// stop() sends SIGTERM and resolves to { code, signal } of the exited process.
export async function startServer({ config, admin = true, env = {}, dataDir } = {}) {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'dbx-local-test-'));
  const dir = dataDir ?? path.join(scratch, 'data'); // inside scratch: removed by stop()
  const args = [SERVER, '--port', '0', '--data', dir];
  if (admin) args.push('--admin');
  if (config !== undefined) {
    const file = path.join(scratch, 'config.json');
    await writeFile(file, JSON.stringify(config));
    args.push('--config', file);
  }
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

  const cleanup = () => rm(scratch, { recursive: true, force: true });
  let url;
  try {
    url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start in ${START_TIMEOUT_MS} ms; stderr:\n${stderr}`)), START_TIMEOUT_MS);
      proc.stdout.on('data', (d) => {
        out += d;
        const m = /dbx-local listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`server exited early (code ${code}, signal ${signal}); stderr:\n${stderr}`));
      });
    });
  } catch (e) {
    proc.kill('SIGKILL');
    await exited;
    await cleanup();
    throw e;
  }

  let stopped = null;
  const stop = () => {
    stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const result = await exited;
      clearTimeout(timer);
      await cleanup();
      return result;
    })();
    return stopped;
  };
  return { url, port: Number(new URL(url).port), dataDir: dir, token: 'dapi-local-admin', proc, stderr: () => stderr, stop };
}

// fetch wrapper for JSON APIs. body: object (sent as JSON), string/Buffer (sent raw) or
// undefined. Returns { status, headers, body (parsed JSON, or text when not JSON), raw (Buffer) }.
export async function api(url, token, method, pathAndQuery, body, headers = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Uint8Array) payload = body;
    else {
      payload = JSON.stringify(body);
      h['Content-Type'] ??= 'application/json';
    }
  }
  const res = await fetch(url + pathAndQuery, { method, headers: h, body: payload, signal: AbortSignal.timeout(30_000) });
  const raw = Buffer.from(await res.arrayBuffer());
  let parsed = raw.toString('utf8');
  if ((res.headers.get('content-type') ?? '').includes('json') && raw.length) parsed = JSON.parse(parsed);
  return { status: res.status, headers: res.headers, body: parsed, raw };
}

// Polls GET /api/2.0/sql/statements/{id} until its state is one of states;
// fails the test after timeoutMs. Returns the last StatementResponse.
export async function pollStatement(url, token, id, states, { timeoutMs = 10_000, intervalMs = 25 } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await api(url, token, 'GET', `/api/2.0/sql/statements/${id}`);
    if (r.status !== 200) throw new Error(`GET statement ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    if (states.includes(r.body.status.state)) return r.body;
    if (Date.now() > end) throw new Error(`statement ${id} still ${r.body.status.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// Downloads an external link as a client must: no Authorization header, the
// link's http_headers (or the given ones). Returns { status, type, body }.
export async function downloadLink(link, headers = link.http_headers) {
  const res = await fetch(link.external_link, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}
