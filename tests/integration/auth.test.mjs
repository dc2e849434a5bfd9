// Auth end to end: each auth type (pat, oauth-m2m from a profile, env-oidc,
// file-oidc, oidc-self-signed) runs a remote statement through dbx_query()
// against dbx-local, which verifies OAuth secrets and federation JWTs; token
// expiry mid-use; and no secret ever appears in an error text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { workspace } from './harness.mjs';

const SP = '6f1c0000-aaaa-4bbb-8ccc-000000000001';
const SP_SECRET = 'dose-integration-secret-0001';
const ISSUER = 'https://issuer.sqlite-databricks.test';
const SUBJECT = 'repo:acme/etl:environment:prod';
const AUDIENCE = 'sqlite-databricks-integration';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (k, kid, alg) => ({ ...k.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
// Signs a JWT the way an external IdP would (ES256 signatures as raw r||s).
function jwt(keys, alg, kid, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg, typ: 'JWT', kid })}.${b64({ iss: ISSUER, sub: SUBJECT, aud: AUDIENCE, iat: now, exp: now + 600, ...claims })}`;
  const key = alg === 'ES256' ? { key: keys.privateKey, dsaEncoding: 'ieee-p1363' } : keys.privateKey;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

const CONFIG = {
  service_principals: [{
    application_id: SP, id: 1001, display_name: 'ingest', secrets: [SP_SECRET],
    federation_policies: [{
      policy_id: 'ci',
      oidc_policy: {
        issuer: ISSUER, audiences: [AUDIENCE], subject: SUBJECT,
        jwks_json: JSON.stringify({ keys: [jwk(ec, 'ec-1', 'ES256'), jwk(rsa, 'rsa-1', 'RS256')] }),
      },
    }],
  }],
};

// Settings that switch the harness's PAT off, so only the method under test remains.
const NO_PAT = { DATABRICKS_TOKEN: '' };
const WHO = "SELECT json_extract(row, '$.u') AS u FROM dbx_query('SELECT current_user() AS u');";

let ws;
before(async () => { ws = await workspace({ config: CONFIG }); });
after(async () => { await ws?.stop(); });

async function requests() {
  const r = await ws.api('GET', '/admin/requests');
  return r.body.requests;
}
async function clearRequests() { await ws.api('DELETE', '/admin/requests'); }

test('pat: the statement runs as the token owner, with the User-Agent the SDKs send', async () => {
  await clearRequests();
  const [row] = await ws.query(WHO);
  assert.equal(row.u, 'admin@dbx.local');
  const sent = (await requests()).filter((r) => r.path.startsWith('/api/2.0/sql/statements'));
  assert.ok(sent.length >= 1);
  for (const r of sent) {
    assert.match(r.user_agent, /^sqlite-databricks\/\d+\.\d+\.\d+ os\/linux auth\/pat$/);
    assert.equal(r.has_authorization, true);
  }
});

test('oauth-m2m from a named profile of ~/.databrickscfg', async () => {
  await writeFile(path.join(ws.home, '.databrickscfg'),
    `[DEFAULT]\nhost = https://unused.example.com\n\n[ingest]\nhost = ${ws.server.url}\nclient_id = ${SP}\nclient_secret = ${SP_SECRET}\n`);
  await clearRequests();
  const [row] = await ws.query(WHO, { env: { ...NO_PAT, DATABRICKS_HOST: '', DATABRICKS_CONFIG_PROFILE: 'ingest' } });
  assert.equal(row.u, SP);
  const log = await requests();
  const tok = log.filter((r) => r.path === '/oidc/v1/token');
  assert.equal(tok.length, 1, 'one token request, then the cached token');
  assert.match(tok[0].user_agent, /auth\/oauth-m2m$/);
});

test('a profile named in SQL wins over the shell\'s DATABRICKS_HOST and PAT', async () => {
  // the harness env still holds the admin PAT: the named profile must not mix with it
  const sql = `SELECT json_extract(row, '$.u') AS u FROM dbx_query('SELECT current_user() AS u', NULL, '{"profile":"ingest"}');`;
  const [row] = await ws.query(sql, { env: { DATABRICKS_HOST: 'https://elsewhere.example.com' } });
  assert.equal(row.u, SP);
});

test('env-oidc: an ES256 JWT from DATABRICKS_OIDC_TOKEN, SP federation', async () => {
  const [row] = await ws.query(WHO, { env: { ...NO_PAT, DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_TOKEN: jwt(ec, 'ES256', 'ec-1') } });
  assert.equal(row.u, SP);
});

test('env-oidc: the JWT from the variable named by oidc_token_env (an option)', async () => {
  const sql = `SELECT json_extract(row, '$.u') AS u FROM dbx_query('SELECT current_user() AS u', NULL,
    '{"auth_type":"env-oidc","oidc_token_env":"MY_CI_JWT","client_id":"${SP}"}');`;
  const [row] = await ws.query(sql, { env: { ...NO_PAT, MY_CI_JWT: jwt(rsa, 'RS256', 'rsa-1') } });
  assert.equal(row.u, SP);
});

test('file-oidc: an RS256 JWT from a file', async () => {
  const file = path.join(ws.home, 'id-token.jwt');
  await writeFile(file, `${jwt(rsa, 'RS256', 'rsa-1')}\n`);
  const [row] = await ws.query(WHO, { env: { ...NO_PAT, DATABRICKS_AUTH_TYPE: 'file-oidc', DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_TOKEN_FILEPATH: file } });
  assert.equal(row.u, SP);
});

for (const [name, keys, kid] of [['ES256', ec, 'ec-1'], ['RS256', rsa, 'rsa-1']]) {
  test(`oidc-self-signed: the extension mints and signs the subject JWT (${name})`, async () => {
    const keyFile = path.join(ws.home, `issuer-${name}.pem`);
    await writeFile(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await clearRequests();
    const [row] = await ws.query(WHO, {
      env: {
        ...NO_PAT, DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_PRIVATE_KEY_FILE: keyFile,
        DATABRICKS_OIDC_ISSUER: ISSUER, DATABRICKS_OIDC_SUBJECT: SUBJECT,
        DATABRICKS_OIDC_AUDIENCE: AUDIENCE, DATABRICKS_OIDC_KEY_ID: kid,
      },
    });
    assert.equal(row.u, SP);
    const tok = (await requests()).filter((r) => r.path === '/oidc/v1/token');
    assert.equal(tok.length, 1);
    assert.match(tok[0].user_agent, /auth\/oidc-self-signed$/);
    assert.equal(tok[0].has_authorization, false, 'a token exchange carries no client secret');
  });
}

test('a token that expires mid-use is refreshed; a rejected token forces one refresh and one retry', async () => {
  const env = { ...NO_PAT, DATABRICKS_CLIENT_ID: SP, DATABRICKS_CLIENT_SECRET: SP_SECRET };
  // 1 s tokens: under 40 s left, so every call fetches a fresh one
  await ws.api('POST', '/admin/settings', { token_ttl_seconds: 1 });
  await clearRequests();
  try {
    const rows = await ws.query(`${WHO}\nSELECT dbx_exec('SELECT 1');\n${WHO}`, { env });
    assert.equal(rows[0].u, SP);
  } finally {
    await ws.api('POST', '/admin/settings', { token_ttl_seconds: 3600 });
  }
  const tok = (await requests()).filter((r) => r.path === '/oidc/v1/token');
  assert.ok(tok.length >= 3, `expected a token per call, got ${tok.length}`);

  await ws.api('POST', '/admin/faults', { method: 'POST', path: '^/api/2\\.0/sql/statements$', kind: 'expired_token', count: 1 });
  await clearRequests();
  const [row] = await ws.query(WHO, { env });
  assert.equal(row.u, SP);
  const log = await requests();
  const seq = log.filter((r) => r.path === '/oidc/v1/token' || (r.method === 'POST' && r.path === '/api/2.0/sql/statements')).map((r) => `${r.path}:${r.status}`);
  assert.equal(seq.length, 4, seq.join(' '));
  assert.match(seq[1], /^\/api\/2\.0\/sql\/statements:40[13]$/);
  assert.deepEqual([seq[0], seq[2], seq[3]], ['/oidc/v1/token:200', '/oidc/v1/token:200', '/api/2.0/sql/statements:200']);
});

test('a token rejected mid-result (403 "Invalid access token.", numeric error_code) is refreshed once; rows complete and in order', async () => {
  const env = { ...NO_PAT, DATABRICKS_CLIENT_ID: SP, DATABRICKS_CLIENT_SECRET: SP_SECRET };
  await ws.api('POST', '/admin/settings', { chunk_rows: 3 });
  try {
    for (const disposition of ['inline', 'external_links']) {
      // chunk 2 of 4 is fetched through the chunk endpoint with a token the workspace refuses
      await ws.api('POST', '/admin/faults', { method: 'GET', path: '^/api/2\\.0/sql/statements/[^/]+/result/chunks/2$', kind: 'expired_token', count: 1 });
      await clearRequests();
      const [row] = await ws.query(`SELECT group_concat(json_extract(row, '$.id')) AS ids, count(*) AS n FROM dbx_query(
  'SELECT id FROM range(1, 11) ORDER BY id', NULL, '{"disposition": "${disposition}"}');`, { env });
      assert.deepEqual(row, { ids: '1,2,3,4,5,6,7,8,9,10', n: 10 }, disposition);
      const log = await requests();
      const seq = log.filter((r) => r.path === '/oidc/v1/token' || /\/result\/chunks\/2$/.test(r.path)).map((r) => `${r.path.replace(/.*\//, '')}:${r.status}`);
      assert.deepEqual(seq, ['token:200', '2:403', 'token:200', '2:200'], `${disposition}: ${seq.join(' ')}`);
      const faults = (await ws.api('GET', '/admin/faults')).body;
      assert.equal(JSON.stringify(faults).includes('expired_token'), false, 'the fault was used');
    }
  } finally {
    await ws.api('DELETE', '/admin/faults');
    await ws.api('POST', '/admin/settings', { chunk_rows: 10000 });
  }
});

// Runs WHO expecting an error; checks that none of the secrets appears in it.
async function failsWithout(env, secrets, expect) {
  const err = await ws.fail(WHO, { env });
  assert.match(err, expect);
  assert.doesNotMatch(err, /\n/, 'one line');
  for (const s of secrets) assert.ok(!err.includes(s), `secret leaked into: ${err}`);
  // nor in the statement log (dbx_statements) of the same failure
  const r = await ws.run(`.bail off\n${WHO}\nSELECT state, error FROM dbx_statements;`, { env });
  const all = r.stdout + r.stderr;
  for (const s of secrets) assert.ok(!all.includes(s), `secret leaked into the log: ${all}`);
  return err;
}

test('no secret appears in an error, for each auth type', async () => {
  await failsWithout({ DATABRICKS_TOKEN: 'dapi-wrong-secret-9999' }, ['dapi-wrong-secret-9999'], /HTTP 403: Invalid access token\. \(auth pat: check the credentials\)/);
  await failsWithout({ ...NO_PAT, DATABRICKS_CLIENT_ID: SP, DATABRICKS_CLIENT_SECRET: 'dose-wrong-secret-8888' },
    ['dose-wrong-secret-8888'], /oauth-m2m token request: HTTP 401: Client authentication failed \(invalid_client\)/);
  const bad = jwt(stranger, 'ES256', 'ec-1');
  await failsWithout({ ...NO_PAT, DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_TOKEN: bad },
    [bad, bad.split('.')[2]], /env-oidc token request: HTTP 400: .*signature.*invalid_grant/);
  const file = path.join(ws.home, 'bad.jwt');
  await writeFile(file, bad);
  await failsWithout({ ...NO_PAT, DATABRICKS_AUTH_TYPE: 'file-oidc', DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_TOKEN_FILEPATH: file },
    [bad, bad.split('.')[2]], /file-oidc token request: HTTP 400/);
  const keyFile = path.join(ws.home, 'stranger.pem');
  const pem = stranger.privateKey.export({ type: 'pkcs8', format: 'pem' });
  await writeFile(keyFile, pem, { mode: 0o600 });
  await failsWithout({
    ...NO_PAT, DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_PRIVATE_KEY_FILE: keyFile, DATABRICKS_OIDC_ISSUER: ISSUER,
    DATABRICKS_OIDC_SUBJECT: SUBJECT, DATABRICKS_OIDC_AUDIENCE: AUDIENCE,
  }, [pem.split('\n')[1], 'eyJ'], /oidc-self-signed token request: HTTP 400/);
  // an unreachable host: the PAT must not appear either
  await failsWithout({ DATABRICKS_HOST: 'http://127.0.0.1:9', DATABRICKS_TOKEN: 'dapi-unreachable-7777', DATABRICKS_RETRY_TIMEOUT_SECONDS: '1' },
    ['dapi-unreachable-7777'], /could not connect to http:\/\/127\.0\.0\.1:9/);
});

test('secrets are refused as literal options; env: references work', async () => {
  const err = await ws.fail("SELECT dbx_exec('SELECT 1', NULL, '{\"token\":\"dapi-literal-6666\"}');");
  assert.match(err, /token must not be given as a literal value.*env:NAME/);
  assert.ok(!err.includes('dapi-literal-6666'));
  const rows = await ws.query(`SELECT json_extract(row, '$.u') AS u FROM dbx_query('SELECT current_user() AS u', NULL, '{"token":"env:MY_PAT"}');`,
    { env: { DATABRICKS_TOKEN: '', MY_PAT: ws.server.token } });
  assert.equal(rows[0].u, 'admin@dbx.local');
});

test('more than one authorization method is an error that names them', async () => {
  const err = await ws.fail(WHO, { env: { DATABRICKS_CLIENT_ID: SP } });
  assert.match(err, /more than one authorization method configured: oauth and pat/);
});

test('workload identity federation: a refused exchange names the issuer, audience and subject sent', async () => {
  const wrong = jwt(ec, 'ES256', 'ec-1', { aud: 'https://wrong.example/aud' });
  const err = await failsWithout({ ...NO_PAT, DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_TOKEN: wrong },
    [wrong, wrong.split('.')[1], wrong.split('.')[2]], /env-oidc token request: HTTP 400: .*audience/);
  assert.ok(err.includes(`audience does not match the federation policy. The federation policy rejected the subject token (iss "${ISSUER}", aud "https://wrong.example/aud", sub "${SUBJECT}"): `
    + 'the service principal needs a federation policy whose issuer, audiences and subject match (dbx_federation_policy())'), err);
});

test('dbx_config() shows the effective OIDC audience', async () => {
  const audience = async (env) => {
    const [r] = await ws.query(`SELECT json_extract(dbx_config(), '$.oidc_audience') AS a;`, { env: { ...NO_PAT, ...env } });
    return JSON.parse(r.a);
  };
  // env-oidc and file-oidc: the audience is the one in the identity provider's JWT
  assert.deepEqual(await audience({ DATABRICKS_CLIENT_ID: SP, DATABRICKS_OIDC_TOKEN: jwt(ec, 'ES256', 'ec-1') }),
    { value: AUDIENCE, source: 'subject_token' });
  const file = path.join(ws.home, 'aud.jwt');
  await writeFile(file, jwt(rsa, 'RS256', 'rsa-1', { aud: ['a-1', 'a-2'] }));
  assert.deepEqual(await audience({ DATABRICKS_AUTH_TYPE: 'file-oidc', DATABRICKS_OIDC_TOKEN_FILEPATH: file }),
    { value: 'a-1, a-2', source: 'subject_token' });
  // oidc-self-signed: oidc_audience, by default the workspace token endpoint
  const keyFile = path.join(ws.home, 'issuer-aud.pem');
  await writeFile(keyFile, ec.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const selfSigned = { DATABRICKS_OIDC_PRIVATE_KEY_FILE: keyFile, DATABRICKS_OIDC_ISSUER: ISSUER, DATABRICKS_OIDC_SUBJECT: SUBJECT };
  assert.deepEqual(await audience(selfSigned), { value: `${ws.server.url}/oidc/v1/token`, source: 'default' });
  assert.deepEqual(await audience({ ...selfSigned, DATABRICKS_OIDC_AUDIENCE: AUDIENCE }), { value: AUDIENCE, source: 'env' });
});
