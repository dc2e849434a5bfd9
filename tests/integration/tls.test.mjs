// TLS verification is always on: a workspace whose certificate no trusted CA
// signed is refused before any request is sent, and the ca_bundle setting
// makes the same server trusted. The server is a local https server with a
// self-signed certificate made by the openssl CLI for this run; it answers
// every request with a canned 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

import { runShell } from './harness.mjs';

let dir, server, url, hits = 0;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  server = https.createServer({
    key: await readFile(path.join(dir, 'key.pem')),
    cert: await readFile(path.join(dir, 'cert.pem')),
  }, (req, res) => {
    hits++;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error_code: 'ENDPOINT_NOT_FOUND', message: 'tls test server' }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${server.address().port}`;
});
after(async () => {
  await new Promise((r) => server?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

const SQL = "SELECT dbx_exec('SELECT 1');";
const ENV = () => ({ DATABRICKS_HOST: url, DATABRICKS_TOKEN: 'dapi-tls-secret-4242', DATABRICKS_WAREHOUSE_ID: '1', DATABRICKS_RETRY_TIMEOUT_SECONDS: '1' });

test('a certificate no trusted CA signed is refused; nothing is sent', async () => {
  hits = 0;
  const r = await runShell(SQL, { env: ENV(), home: dir });
  assert.notEqual(r.code, 0);
  const err = r.stderr.trim();
  assert.equal(err.split('\n').length, 1, err);
  assert.match(err, /TLS failure to https:\/\/127\.0\.0\.1:\d+ .*set ca_bundle to the CA file/);
  assert.doesNotMatch(err, /dapi-tls-secret/);
  assert.equal(hits, 0, 'no request reached the server');
});

test('ca_bundle trusts the workspace certificate', async () => {
  hits = 0;
  const err = (await runShell(`SELECT dbx_exec('SELECT 1', NULL, '{"ca_bundle": "${path.join(dir, 'cert.pem')}"}');`,
    { env: ENV(), home: dir })).stderr.trim();
  assert.match(err, /HTTP 404: tls test server/);
  assert.equal(hits, 1, 'the request went through the verified connection');
});
