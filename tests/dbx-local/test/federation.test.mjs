// Service principal federation policies through the account API: create, list, get and
// delete as an account admin; the token exchange honours each change at once; the policies
// survive a restart on the same data folder; and the refusals (callers, paths, bodies).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, api } from './helpers.mjs';

const ACCOUNT = '11111111-2222-4333-8444-555555555555';
const SP_APP = '6f1c0000-0000-4000-8000-00000000f001';
const SP_ID = '7001';
const OTHER_APP = '6f1c0000-0000-4000-8000-00000000f002';
const OTHER_PAT = 'dapi-not-an-account-admin';
const ISSUER = 'https://issuer.federation.test';
const SUBJECT = 'etl:prod';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwks = JSON.stringify({ keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }] });

const config = {
  account_id: ACCOUNT,
  users: [{ user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] }],
  service_principals: [
    { application_id: SP_APP, id: Number(SP_ID), display_name: 'wif' },
    // a workspace admin, but not an account admin
    { application_id: OTHER_APP, id: 7002, admin: true, account_admin: false, tokens: [OTHER_PAT] },
  ],
};

const BASE = `/api/2.0/accounts/${ACCOUNT}/servicePrincipals/${SP_ID}/federationPolicies`;

function jwt(claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'ES256', kid: 'k1', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: ACCOUNT, sub: SUBJECT, iat: now, exp: now + 600, ...claims })}`;
  const sig = sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

async function exchange(url, token = jwt()) {
  const res = await fetch(`${url}/oidc/v1/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      scope: 'all-apis',
      client_id: SP_APP,
    }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json() };
}

let server;
let dataDir;
const call = (method, p, body, token = server.token) => api(server.url, token, method, p, body);

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'dbx-local-fed-'));
  server = await startServer({ config, dataDir });
});
after(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('create, list, get and delete; the token exchange follows each change at once', async () => {
  assert.equal((await exchange(server.url)).status, 400, 'no policy yet');

  const created = await call('POST', `${BASE}?policy_id=etl-prod`, {
    description: 'the ETL job', oidc_policy: { issuer: ISSUER, subject: SUBJECT, jwks_json: jwks },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.equal(created.body.policy_id, 'etl-prod');
  assert.equal(created.body.name, `accounts/${ACCOUNT}/servicePrincipals/${SP_ID}/federationPolicies/etl-prod`);
  assert.equal(created.body.service_principal_id, Number(SP_ID));
  assert.equal(created.body.description, 'the ETL job');
  assert.deepEqual(created.body.oidc_policy, { issuer: ISSUER, subject: SUBJECT, jwks_json: jwks });
  assert.match(created.body.uid, /^[0-9a-f-]{36}$/);
  assert.ok(!Number.isNaN(Date.parse(created.body.create_time)));

  // audiences absent: the account id is the audience
  const ok = await exchange(server.url);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const me = await api(server.url, ok.body.access_token, 'GET', '/api/2.0/preview/scim/v2/Me');
  assert.deepEqual([me.body.applicationId, me.body.id], [SP_APP, SP_ID]);

  const list = await call('GET', BASE);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.policies.map((p) => p.policy_id), ['etl-prod']);
  const got = await call('GET', `${BASE}/etl-prod`);
  assert.deepEqual(got.body, created.body);

  assert.equal((await call('DELETE', `${BASE}/etl-prod`)).status, 200);
  const refused = await exchange(server.url);
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error, 'invalid_grant');
  assert.equal((await call('GET', `${BASE}/etl-prod`)).status, 404);
  assert.equal((await call('DELETE', `${BASE}/etl-prod`)).body.error_code, 'RESOURCE_DOES_NOT_EXIST');
  assert.deepEqual((await call('GET', BASE)).body.policies, []);
});

test('a server-assigned policy id, pages of a list, and a policy id with a slash', async () => {
  const a = await call('POST', BASE, { oidc_policy: { issuer: ISSUER, subject: 'a', audiences: ['x'], jwks_json: jwks } });
  assert.equal(a.status, 200);
  assert.match(a.body.policy_id, /^[a-z0-9/-]{2,63}$/);
  const b = await call('POST', `${BASE}?policy_id=team/b`, { oidc_policy: { issuer: ISSUER, subject: 'b', jwks_json: jwks } });
  assert.equal(b.status, 200);
  assert.equal((await call('GET', `${BASE}/team/b`)).body.policy_id, 'team/b');
  const p1 = await call('GET', `${BASE}?page_size=1`);
  assert.equal(p1.body.policies.length, 1);
  const p2 = await call('GET', `${BASE}?page_size=1&page_token=${p1.body.next_page_token}`);
  assert.deepEqual([...p1.body.policies, ...p2.body.policies].map((p) => p.policy_id), [a.body.policy_id, 'team/b']);
  assert.equal(p2.body.next_page_token, undefined);
  await call('DELETE', `${BASE}/${a.body.policy_id}`);
  await call('DELETE', `${BASE}/team/b`);
});

test('refusals: not an account admin, another account, an application id, an unknown SP, bad bodies, a taken id', async () => {
  const body = { oidc_policy: { issuer: ISSUER, subject: SUBJECT, jwks_json: jwks } };
  const r403 = await call('POST', BASE, body, OTHER_PAT);
  assert.deepEqual([r403.status, r403.body.error_code], [403, 'PERMISSION_DENIED']);
  assert.equal((await call('GET', BASE, undefined, OTHER_PAT)).status, 403);
  assert.equal((await call('GET', BASE, undefined, null)).status, 401);
  assert.equal((await call('GET', BASE.replace(ACCOUNT, '00000000-0000-0000-0000-000000000000'))).status, 404);
  const byApp = await call('GET', BASE.replace(`/${SP_ID}/`, `/${SP_APP}/`));
  assert.deepEqual([byApp.status, byApp.body.error_code], [400, 'INVALID_PARAMETER_VALUE']);
  assert.equal((await call('GET', BASE.replace(`/${SP_ID}/`, '/999/'))).status, 404);
  for (const [bad, why] of [
    [{}, /oidc_policy is required/],
    [{ oidc_policy: { subject: SUBJECT } }, /issuer is required/],
    [{ oidc_policy: { issuer: 'http://insecure.example', subject: SUBJECT } }, /https URL/],
    [{ oidc_policy: { issuer: ISSUER } }, /subject is required/],
    [{ oidc_policy: { issuer: ISSUER, subject: SUBJECT, audiences: 'acct' } }, /audiences must be a list/],
    [{ oidc_policy: { issuer: ISSUER, subject: SUBJECT, jwks_json: '{"nokeys":1}' } }, /JSON Web Key Set/],
    [{ oidc_policy: { issuer: ISSUER, subject: SUBJECT, surprise: 1 } }, /Unknown field oidc_policy\.surprise/],
  ]) {
    const r = await call('POST', BASE, bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.match(r.body.message, why);
  }
  assert.equal((await call('POST', `${BASE}?policy_id=UPPER`, body)).status, 400);
  assert.equal((await call('POST', `${BASE}?policy_id=dup`, body)).status, 200);
  const dup = await call('POST', `${BASE}?policy_id=dup`, body);
  assert.deepEqual([dup.status, dup.body.error_code], [409, 'ALREADY_EXISTS']);
  await call('DELETE', `${BASE}/dup`);
});

test('policies made through the API survive a restart on the same data folder', async () => {
  const body = { oidc_policy: { issuer: ISSUER, subject: SUBJECT, jwks_json: jwks } };
  assert.equal((await call('POST', `${BASE}?policy_id=kept`, body)).status, 200);
  await server.stop();
  server = await startServer({ dataDir }); // the remembered config
  assert.deepEqual((await call('GET', BASE)).body.policies.map((p) => p.policy_id), ['kept']);
  assert.equal((await exchange(server.url)).status, 200);
  await call('DELETE', `${BASE}/kept`);
  await server.stop();
  server = await startServer({ dataDir });
  assert.deepEqual((await call('GET', BASE)).body.policies, []);
  assert.equal((await exchange(server.url)).status, 400, 'a deleted policy stays deleted');
});
