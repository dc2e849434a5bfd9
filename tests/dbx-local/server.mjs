#!/usr/bin/env node
// dbx-local: a local Databricks workspace on 127.0.0.1 for tests and demos.
//
//   node tests/dbx-local/server.mjs [--port N|0] [--data DIR] [--config FILE] [--admin]
//
// Prints exactly `dbx-local listening on http://127.0.0.1:PORT` once ready (test harnesses
// wait for that line). SIGTERM/SIGINT close the server and the engine and exit 0. Without
// --data a fresh temporary data folder is used and removed at exit. --admin mounts the
// /admin/* test endpoints (fault injection, request log, settings); see lib/admin.mjs.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openWorkspace } from './lib/workspace.mjs';
import { createServer } from './lib/http.mjs';
import { FaultRegistry } from './lib/faults.mjs';
import * as statements from './lib/statements.mjs';
import * as auth from './lib/auth.mjs';
import * as files from './lib/files.mjs';
import * as uc from './lib/uc.mjs';
import * as admin from './lib/admin.mjs';
import * as federation from './lib/federation.mjs';

const USAGE = 'usage: node server.mjs [--port N|0] [--data DIR] [--config FILE] [--admin]';

async function main() {
  let args;
  try {
    args = parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        data: { type: 'string' },
        config: { type: 'string' },
        admin: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`invalid --port ${args.port}\n${USAGE}\n`);
    process.exit(2);
  }

  const tempData = args.data ? null : await mkdtemp(path.join(os.tmpdir(), 'dbx-local-'));
  const dataDir = path.resolve(args.data ?? tempData);
  const ws = await openWorkspace({ dataDir, configFile: args.config });

  const routeTables = [statements, auth, files, uc, federation].map((m) => m.routes(ws));
  if (args.admin) {
    ws.faults = new FaultRegistry();
    routeTables.push(admin.routes(ws));
  }

  const server = createServer(ws, routeTables);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  ws.baseUrl = `http://127.0.0.1:${server.address().port}`;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Bounded: a restart on the same --data must not wait for a long statement, and a test
    // harness must never hang on shutdown. The engine interrupts its statement and gets 1 s.
    setTimeout(() => process.exit(1), 1800).unref();
    server.close();
    server.closeAllConnections();
    try {
      await ws.close({ graceMs: 1000 });
    } finally {
      if (tempData) await rm(tempData, { recursive: true, force: true });
    }
    // Exiting also frees the DuckDB file lock should the statement not have stopped in time.
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  process.stdout.write(`dbx-local listening on ${ws.baseUrl}\n`);
}

main().catch((e) => {
  process.stderr.write(`dbx-local: ${e?.stack ?? e}\n`);
  process.exit(1);
});
