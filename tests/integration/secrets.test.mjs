// Secret-leak sweep: a marker secret for each auth type (pat token, oauth-m2m
// client secret and its Basic value, env-oidc and file-oidc subject JWTs, the
// private key of oidc-self-signed, the access tokens a token endpoint hands
// out) is driven through every error path reachable here: an unknown host, a
// refused connection, 401/403, invalid_grant, a bad warehouse, failing
// statements, faults injected into dbx-local, and a hostile server that
// echoes the request headers and body back in its error answers (as JSON, as
// text, as HTML, cut right inside a credential, inside a FAILED statement,
// and behind presigned links). Then every output (stdout, stderr,
// dbx_statements, dbx_config()) and every file written (the database, HOME
// and TMPDIR of the shell) is searched for each marker, for any JWT, and for
// presigned-URL signatures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { workspace } from './harness.mjs';

const hex = (n = 8) => randomBytes(n).toString('hex');
const SP = '6f1c0000-aaaa-4bbb-8ccc-0000000000a1';
const PAT = `dapi-marker-pat-${hex()}`;
const SP_SECRET = `dose-marker-m2m-${hex()}`;
const BASIC = Buffer.from(`${SP}:${SP_SECRET}`).toString('base64');
const ACCESS = `dbxat-marker-access-${hex()}`; // what the hostile token endpoint issues
const ISSUER = 'https://issuer.secrets.test';
const SUBJECT = 'repo:acme/etl:environment:prod';
const AUDIENCE = 'sqlite-databricks-secrets';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' });
const jwk = (k, kid, alg) => ({ ...k.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function jwt(claims) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', typ: 'JWT', kid: 'ec-1' })}.${b64({ iss: ISSUER, sub: SUBJECT, aud: AUDIENCE, iat: now, exp: now + 600, ...claims })}`;
  const sig = sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}
const JWT_ENV = jwt({ jti: `env-${hex()}` });
const JWT_FILE = jwt({ jti: `file-${hex()}` });

// Presigned-link signatures the hostile server hands out.
const SIGS = {
  s3: `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAMARKER${hex(4)}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request`
    + `&X-Amz-Security-Token=FwoGMARKER${hex()}&X-Amz-Signature=s3sigmarker${hex()}`,
  azure: `sv=2021-08-06&se=2099-01-01T00%3A00%3A00Z&sr=b&sp=r&sig=azsigmarker${hex()}%3D`,
  gcs: `X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=gcsmarker${hex(4)}%40p.iam&X-Goog-Signature=googsigmarker${hex()}`,
};
const SSE_KEY = randomBytes(32).toString('base64');

const CONFIG = {
  service_principals: [{
    application_id: SP, id: 1101, display_name: 'leak-sweep', secrets: [SP_SECRET], tokens: [PAT],
    federation_policies: [{
      policy_id: 'sweep',
      oidc_policy: {
        issuer: ISSUER, audiences: [AUDIENCE], subject: SUBJECT,
        jwks_json: JSON.stringify({ keys: [jwk(ec, 'ec-1', 'ES256'), jwk(rsa, 'rsa-1', 'RS256')] }),
      },
    }],
  }],
};

let ws;
let echo;
let secretDir; // files the test itself writes secrets to: never searched
const JWT_FILE_PATH = () => path.join(secretDir, 'id-token.jwt');
const KEY_FILE_PATH = () => path.join(secretDir, 'issuer.pem');

// The auth types, each with its settings and the markers that must never show.
const AUTH = [
  { name: 'pat', env: () => ({ DATABRICKS_TOKEN: PAT }), markers: [PAT] },
  {
    name: 'oauth-m2m',
    env: () => ({ DATABRICKS_TOKEN: '', DATABRICKS_CLIENT_ID: SP, DATABRICKS_CLIENT_SECRET: SP_SECRET }),
    markers: [SP_SECRET, BASIC],
  },
  {
    name: 'env-oidc',
    env: () => ({ DATABRICKS_TOKEN: '', DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_TOKEN: JWT_ENV }),
    markers: [JWT_ENV, ...JWT_ENV.split('.')],
  },
  {
    name: 'file-oidc',
    env: () => ({ DATABRICKS_TOKEN: '', DATABRICKS_AUTH_TYPE: 'file-oidc', DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_TOKEN_FILEPATH: JWT_FILE_PATH() }),
    markers: [JWT_FILE, ...JWT_FILE.split('.')],
  },
  {
    name: 'oidc-self-signed',
    env: () => ({
      DATABRICKS_TOKEN: '', DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_PRIVATE_KEY_FILE: KEY_FILE_PATH(),
      DATABRICKS_OIDC_ISSUER: ISSUER, DATABRICKS_OIDC_SUBJECT: SUBJECT, DATABRICKS_OIDC_AUDIENCE: AUDIENCE,
      DATABRICKS_OIDC_KEY_ID: 'rsa-1',
    }),
    markers: PEM.split('\n').filter((l) => l && !l.startsWith('-----')),
  },
];

// Reads a request body as text.
function bodyOf(req) {
  return new Promise((resolve) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { s += d; });
    req.on('end', () => resolve(s));
  });
}

// A hostile workspace: it answers with errors that echo what it was sent.
// The statement's SQL text picks the answer ("echo:<mode>"); tokenMode picks
// what the token endpoint does ('ok': issue ACCESS, 'echo': invalid_grant
// with the request echoed).
function startEcho() {
  const state = { tokenMode: 'ok', url: '' };
  const server = http.createServer(async (req, res) => {
    const body = await bodyOf(req);
    const dump = `${req.method} ${req.url}\r\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
    const auth = req.headers.authorization ?? '';
    const cred = auth.replace(/^\S+\s+/, '');
    const send = (status, type, text) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const json = (status, o) => send(status, 'application/json', JSON.stringify(o));
    if (req.url.startsWith('/oidc/')) {
      if (state.tokenMode === 'ok') return json(200, { access_token: ACCESS, token_type: 'Bearer', expires_in: 3600 });
      return json(400, { error: 'invalid_grant', error_description: `rejected ${dump}` });
    }
    if (req.url.startsWith('/presigned/')) {
      const kind = req.url.split('/')[2];
      if (kind === 's3') return send(403, 'application/xml', `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>${dump}</Message></Error>`);
      if (kind === 'azure') return send(500, 'text/plain', `ServerError: ${dump}`);
      return send(200, 'application/octet-stream', `not a chunk ${dump}`);
    }
    let sql = '';
    try { sql = JSON.parse(body).statement ?? ''; } catch { /* not a submit */ }
    const mode = /echo:(\S+)/.exec(sql)?.[1] ?? 'json401';
    const pad = /^pad(\d+)$/.exec(mode);
    if (pad) {
      // the credential cut by the 400-byte message limit after pad[1] bytes
      return json(400, { error_code: 'BAD_REQUEST', message: `${'p'.repeat(399 - Number(pad[1]))}${cred} tail` });
    }
    const link = (kind) => ({
      statement_id: `st-${kind}`, status: { state: 'SUCCEEDED' },
      manifest: { format: 'JSON_ARRAY', schema: { column_count: 1, columns: [{ name: 'a', position: 0, type_name: 'INT', type_text: 'INT' }] }, total_row_count: 1, total_chunk_count: 1, chunks: [{ chunk_index: 0, row_offset: 0, row_count: 1 }] },
      result: { external_links: [{ chunk_index: 0, row_offset: 0, row_count: 1, external_link: `${state.url}/presigned/${kind}/chunk-0.json?${SIGS[kind]}`, expiration: '2099-01-01T00:00:00Z', http_headers: { 'x-amz-server-side-encryption-customer-key': SSE_KEY } }] },
    });
    switch (mode) {
      case 'json401': return json(401, { error_code: 'UNAUTHENTICATED', message: `bad credentials; request was ${dump}` });
      case 'code403': return json(403, { error_code: auth, message: `Invalid access token ${cred}` });
      case 'text500': return send(500, 'text/plain', dump);
      case 'html502': return send(502, 'text/html', `<html><head><title>502 Bad Gateway</title></head><body><pre>${dump}</pre></body></html>`);
      case 'scim': return json(403, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], detail: `token ${cred} refused`, status: '403' });
      case 'failed': return json(200, { statement_id: 'st-failed', status: { state: 'FAILED', error: { error_code: 'BAD_REQUEST', message: `[UNRESOLVED_ROUTINE] ${cred} ${dump}` } } });
      case 's3': case 'azure': case 'gcs': return json(200, link(mode));
      default: return json(500, { error_code: 'INTERNAL_ERROR', message: dump });
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      state.url = `http://127.0.0.1:${server.address().port}`;
      resolve({ state, url: state.url, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

before(async () => {
  ws = await workspace({ config: CONFIG });
  echo = await startEcho();
  secretDir = await mkdtemp(path.join(os.tmpdir(), 'dbx-secrets-'));
  await writeFile(JWT_FILE_PATH(), `${JWT_FILE}\n`, { mode: 0o600 });
  await writeFile(KEY_FILE_PATH(), PEM, { mode: 0o600 });
});
after(async () => {
  await echo?.close();
  await ws?.stop();
  if (secretDir) await rm(secretDir, { recursive: true, force: true });
});

// Every file below dir, as [path, bytes].
async function filesUnder(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath ?? e.path, e.name);
    out.push([p, await readFile(p)]);
  }
  return out;
}

// What may never appear: the markers, the first 8 bytes of one (what the
// scrubber promises for a credential cut short), any JWT, presigned
// signatures and the SSE-C key.
function leaksIn(text, markers) {
  const found = [];
  for (const m of markers) {
    if (m.length >= 8 && text.includes(m.slice(0, 8))) found.push(m.slice(0, 8));
  }
  for (const re of [/eyJ[A-Za-z0-9_-]{8,}/, /X-Amz-(Signature|Credential|Security-Token)=(?!\*\*\*)/i,
    /[?&;]sig=(?!\*\*\*)/, /X-Goog-(Signature|Credential)=(?!\*\*\*)/i, /AKIAMARKER|FwoGMARKER|sigmarker|gcsmarker/i,
    /DBXLOCAL/, new RegExp(SSE_KEY.slice(0, 12).replace(/[+/]/g, '\\$&'))]) {
    const m = re.exec(text);
    if (m) found.push(m[0]);
  }
  return found;
}

// Runs a script against the given host with the given auth, in a fresh HOME
// and TMPDIR, saving dbx_statements into a database file; then searches the
// shell's output and every file it could have written. Returns the output.
async function sweep(auth, host, script, extraEnv = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-sweep-'));
  const home = path.join(dir, 'home');
  const tmp = path.join(dir, 'tmp');
  await mkdir(home);
  await mkdir(tmp);
  try {
    const db = path.join(dir, 'sweep.db');
    const r = await ws.run(`.bail off
${script}
SELECT * FROM dbx_statements;
SELECT dbx_config();
SELECT dbx_config('token'), dbx_config('client_secret'), dbx_config('host');
CREATE TABLE saved AS SELECT * FROM dbx_statements;`, {
      db, home,
      env: {
        ...auth.env(), DATABRICKS_HOST: host, TMPDIR: tmp,
        DATABRICKS_RETRY_TIMEOUT_SECONDS: '2', DATABRICKS_HTTP_TIMEOUT_SECONDS: '10', ...extraEnv,
      },
    });
    const out = `${r.stdout}\n${r.stderr}`;
    const markers = [...auth.markers, ACCESS];
    const leaks = leaksIn(out, markers).map((l) => `output: ${l}`);
    for (const [p, bytes] of await filesUnder(dir)) {
      for (const l of leaksIn(bytes.toString('latin1'), markers)) leaks.push(`${path.relative(dir, p)}: ${l}`);
    }
    if (process.env.SWEEP_DEBUG) console.error(out); // to see what each path says
    assert.deepEqual(leaks, [], `${auth.name} leaked:\n${out}`);
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const ECHO_MODES = ['json401', 'code403', 'text500', 'html502', 'scim', 'pad1', 'pad8', 'pad12', 'pad21', 'failed', 's3', 'azure', 'gcs'];
const echoScript = ECHO_MODES.map((m) => `SELECT * FROM dbx_query('SELECT 1 AS echo:${m}');`).join('\n');

for (const auth of AUTH) {
  test(`${auth.name}: a server echoing requests into its errors gets no secret into any output or file`, async () => {
    echo.state.tokenMode = 'ok';
    const out = await sweep(auth, echo.url, echoScript);
    // each mode failed on its own and said so (no silent success)
    const errors = out.split('\n').filter((l) => /^(Runtime |Parse )?[Ee]rror/.test(l) || l.includes('databricks:'));
    assert.ok(errors.length >= ECHO_MODES.length, `expected ${ECHO_MODES.length} errors, got:\n${out}`);
    assert.match(out, /HTTP 401/);
    assert.match(out, /\*\*\*/, 'something was scrubbed');
    assert.match(out, /external link/);
    if (auth.name !== 'pat') {
      echo.state.tokenMode = 'echo';
      const out2 = await sweep(auth, echo.url, 'SELECT dbx_exec(\'SELECT 1\');');
      assert.match(out2, /token request: HTTP 400: .*invalid_grant/);
    }
  });

  test(`${auth.name}: dbx-local errors and injected faults leak no secret`, async () => {
    const faults = [
      // a 500 whose message quotes the credentials, as a careless proxy might
      { method: 'POST', path: '^/api/2\\.0/sql/statements$', status: 500, message: `upstream refused Authorization: Bearer ${PAT} basic ${BASIC} secret ${SP_SECRET} jwt ${JWT_ENV}` },
      { method: 'POST', path: '^/api/2\\.0/sql/statements$', status: 503, retry_after: 0, count: 50 },
      { method: 'GET', path: '^/dbx-local-presigned/', kind: 'expired_link', count: 50 },
    ];
    await ws.api('DELETE', '/admin/faults');
    try {
      for (const f of faults.slice(0, 1)) await ws.api('POST', '/admin/faults', f);
      const out = await sweep(auth, ws.server.url, `SELECT dbx_exec('SELECT 1');
SELECT dbx_exec('SELECT * FROM main.default.no_such_table');
SELECT * FROM dbx_query('SELECT 1', NULL, '{"warehouse":"/sql/1.0/warehouses/no-such-warehouse"}');`);
      assert.match(out, /HTTP 500/);
      assert.match(out, /TABLE_OR_VIEW_NOT_FOUND/);
      await ws.api('POST', '/admin/faults', faults[1]);
      await sweep(auth, ws.server.url, 'SELECT dbx_exec(\'SELECT 2\');');
      await ws.api('DELETE', '/admin/faults');
      await ws.api('POST', '/admin/faults', faults[2]);
      const out3 = await sweep(auth, ws.server.url,
        'SELECT count(*) FROM dbx_query(\'SELECT id FROM range(1, 5)\', NULL, \'{"disposition":"external_links"}\');');
      assert.match(out3, /external link/);
    } finally {
      await ws.api('DELETE', '/admin/faults');
    }
  });
}

test('unknown host, refused connection and a wrong secret leak nothing', async () => {
  for (const auth of AUTH) {
    await sweep(auth, 'https://no-such-workspace.invalid', 'SELECT dbx_exec(\'SELECT 1\');');
    await sweep(auth, 'http://127.0.0.1:9', 'SELECT dbx_exec(\'SELECT 1\');', { DATABRICKS_RETRY_TIMEOUT_SECONDS: '1' });
  }
  // credentials dbx-local does not know: 403 for the PAT, 401 / 400 at the token endpoint
  const wrong = [
    { name: 'pat', env: () => ({ DATABRICKS_TOKEN: `${PAT}x` }), markers: [PAT] },
    { name: 'oauth-m2m', env: () => ({ DATABRICKS_TOKEN: '', DATABRICKS_CLIENT_ID: SP, DATABRICKS_CLIENT_SECRET: `${SP_SECRET}x` }), markers: [SP_SECRET] },
    { name: 'env-oidc', env: () => ({ DATABRICKS_TOKEN: '', DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_TOKEN: `${JWT_ENV}x` }), markers: [JWT_ENV, ...JWT_ENV.split('.')] },
  ];
  for (const auth of wrong) {
    const out = await sweep(auth, ws.server.url, 'SELECT dbx_exec(\'SELECT 1\');');
    assert.match(out, /HTTP 40[013]/);
  }
});

test('credential files that do not parse leak nothing: config file, subject JWT file, private key', async () => {
  const cfg = path.join(secretDir, 'broken.cfg');
  await writeFile(cfg, `[DEFAULT]\nhost = ${ws.server.url}\ntoken = ${PAT}\n${PAT} ${SP_SECRET}\n[broken ${PAT}\nclient_secret = ${SP_SECRET}\n`, { mode: 0o600 });
  const fromFile = { name: 'config file', env: () => ({ DATABRICKS_TOKEN: '', DATABRICKS_CONFIG_FILE: cfg }), markers: [PAT, SP_SECRET] };
  assert.match(await sweep(fromFile, '', 'SELECT dbx_exec(\'SELECT 1\');'), /config file/);
  const badKey = path.join(secretDir, 'broken.pem');
  await writeFile(badKey, PEM.slice(0, 200), { mode: 0o600 });
  const selfSigned = AUTH.find((a) => a.name === 'oidc-self-signed');
  const keyOut = await sweep({ ...selfSigned, env: () => ({ ...selfSigned.env(), DATABRICKS_OIDC_PRIVATE_KEY_FILE: badKey }) },
    ws.server.url, 'SELECT dbx_exec(\'SELECT 1\');');
  assert.match(keyOut, /oidc_private_key_file/);
  // a subject JWT file the workspace refuses, and one refused before it is
  // sent (it holds a NUL byte)
  const fileOidc = AUTH.find((a) => a.name === 'file-oidc');
  for (const [name, text, expect] of [
    ['broken.jwt', `${JWT_FILE.slice(0, 60)}\n${JWT_FILE}\n${JWT_FILE}`, /file-oidc token request: HTTP 400/],
    ['nul.jwt', `${JWT_FILE.slice(0, 60)}\n${JWT_FILE}\n\0${JWT_FILE}`, /nul\.jwt holds a NUL byte/],
  ]) {
    const badJwt = path.join(secretDir, name);
    await writeFile(badJwt, text, { mode: 0o600 });
    const jwtOut = await sweep({ ...fileOidc, env: () => ({ ...fileOidc.env(), DATABRICKS_OIDC_TOKEN_FILEPATH: badJwt }) },
      ws.server.url, 'SELECT dbx_exec(\'SELECT 1\');');
    assert.match(jwtOut, expect);
  }
});
