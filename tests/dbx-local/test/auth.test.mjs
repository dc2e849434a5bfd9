// OAuth: discovery documents, client credentials (M2M), token expiry, and token exchange
// (workload identity federation) with RS256 and ES256 subject tokens and every rejection.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { startServer, api } from './helpers.mjs';

const SP_ID = '6f1c0000-0000-4000-8000-00000000a001';
const SP_SECRET = 'dose0123456789abcdef';
const ISSUER = 'https://issuer.example';
const AUDIENCE = 'dbx-local-audience';
const SUBJECT = 'repo:acme/etl:environment:prod';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwks = { keys: [
  { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa1', alg: 'RS256', use: 'sig' },
  { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec1', alg: 'ES256', use: 'sig' },
] };

const config = {
  service_principals: [{
    application_id: SP_ID, id: 1001, display_name: 'ingest', secrets: [SP_SECRET],
    federation_policies: [{ policy_id: 'p1', oidc_policy: { issuer: ISSUER, audiences: [AUDIENCE], subject: SUBJECT, jwks_json: JSON.stringify(jwks) } }],
  }],
};

function jwt(claims, { alg = 'RS256', kid = alg === 'RS256' ? 'rsa1' : 'ec1', key } = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg, kid, typ: 'JWT' })}.${b64(claims)}`;
  const k = key ?? (alg === 'RS256' ? rsa.privateKey : ec.privateKey);
  const sig = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key: k, dsaEncoding: 'ieee-p1363' } : k);
  return `${input}.${sig.toString('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);
const goodClaims = (over = {}) => ({ iss: ISSUER, aud: AUDIENCE, sub: SUBJECT, iat: now(), exp: now() + 600, ...over });

async function tokenRequest(url, form, headers = {}) {
  const res = await fetch(`${url}/oidc/v1/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

const basic = (id, secret) => ({ Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
const exchange = (subjectToken, extra = {}) => ({
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token: subjectToken,
  subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  scope: 'all-apis',
  client_id: SP_ID,
  ...extra,
});

let srv;
before(async () => { srv = await startServer({ config }); });
after(() => srv.stop());

test('discovery documents point at the token endpoint', async () => {
  const meta = await api(srv.url, null, 'GET', '/.well-known/databricks-config');
  assert.equal(meta.status, 200);
  assert.equal(meta.body.oidc_endpoint, `${srv.url}/oidc`);
  assert.equal(meta.body.host_type, 'WORKSPACE_HOST');
  assert.equal(meta.body.workspace_id, '1234567890123456');
  assert.deepEqual(meta.body.token_federation_default_oidc_audiences, [`${srv.url}/oidc/v1/token`]);
  const disc = await api(srv.url, null, 'GET', '/oidc/.well-known/oauth-authorization-server');
  assert.equal(disc.status, 200);
  assert.equal(disc.body.token_endpoint, `${srv.url}/oidc/v1/token`);
  assert.equal(disc.body.authorization_endpoint, `${srv.url}/oidc/v1/authorize`);
});

test('client credentials issue a working bearer token', async () => {
  const r = await tokenRequest(srv.url, { grant_type: 'client_credentials', scope: 'all-apis' }, basic(SP_ID, SP_SECRET));
  assert.equal(r.status, 200);
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal(r.body.scope, 'all-apis');
  assert.equal(r.body.expires_in, 3600);
  const me = await api(srv.url, r.body.access_token, 'GET', '/api/2.0/preview/scim/v2/Me');
  assert.equal(me.status, 200);
  assert.equal(me.body.userName, SP_ID);
});

test('client credentials rejections', async () => {
  const badSecret = await tokenRequest(srv.url, { grant_type: 'client_credentials', scope: 'all-apis' }, basic(SP_ID, 'dose-wrong'));
  assert.equal(badSecret.status, 401);
  assert.equal(badSecret.body.error, 'invalid_client');
  const inBody = await tokenRequest(srv.url, { grant_type: 'client_credentials', scope: 'all-apis', client_id: SP_ID, client_secret: SP_SECRET });
  assert.equal(inBody.status, 401, 'credentials must come in the Basic header');
  assert.equal(inBody.body.error, 'invalid_client');
  const badScope = await tokenRequest(srv.url, { grant_type: 'client_credentials', scope: 'everything' }, basic(SP_ID, SP_SECRET));
  assert.equal(badScope.status, 400);
  assert.equal(badScope.body.error, 'invalid_scope');
  const badGrant = await tokenRequest(srv.url, { grant_type: 'password' }, basic(SP_ID, SP_SECRET));
  assert.equal(badGrant.status, 400);
  assert.equal(badGrant.body.error, 'unsupported_grant_type');
});

test('issued tokens expire after token_ttl_seconds', async () => {
  await api(srv.url, null, 'POST', '/admin/settings', { token_ttl_seconds: 1 });
  try {
    const r = await tokenRequest(srv.url, { grant_type: 'client_credentials', scope: 'all-apis' }, basic(SP_ID, SP_SECRET));
    assert.equal(r.body.expires_in, 1);
    assert.equal((await api(srv.url, r.body.access_token, 'GET', '/api/2.0/preview/scim/v2/Me')).status, 200);
    await new Promise((res) => setTimeout(res, 1100));
    const expired = await api(srv.url, r.body.access_token, 'GET', '/api/2.0/preview/scim/v2/Me');
    assert.equal(expired.status, 403);
    assert.deepEqual(expired.body, { error_code: 403, message: 'Invalid access token.' });
  } finally {
    await api(srv.url, null, 'POST', '/admin/settings', { token_ttl_seconds: 3600 });
  }
});

for (const alg of ['RS256', 'ES256']) {
  test(`token exchange accepts a policy-matching ${alg} JWT`, async () => {
    const r = await tokenRequest(srv.url, exchange(jwt(goodClaims(), { alg })));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.token_type, 'Bearer');
    assert.ok(r.body.expires_in <= 600 && r.body.expires_in > 500, 'lifetime bounded by the JWT exp');
    const me = await api(srv.url, r.body.access_token, 'GET', '/api/2.0/preview/scim/v2/Me');
    assert.equal(me.body.userName, SP_ID);
  });
}

const rejections = {
  'bad signature': () => jwt(goodClaims(), { key: other.privateKey }),
  'wrong issuer': () => jwt(goodClaims({ iss: 'https://evil.example' })),
  'wrong audience': () => jwt(goodClaims({ aud: 'someone-else' })),
  'wrong subject': () => jwt(goodClaims({ sub: 'repo:acme/etl:environment:dev' })),
  expired: () => jwt(goodClaims({ iat: now() - 7200, exp: now() - 3600 })),
  'not yet valid': () => jwt(goodClaims({ nbf: now() + 3600 })),
  'ES256 signed by the wrong key': () => jwt(goodClaims(), { alg: 'ES256', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }),
  'not a JWT': () => 'definitely-not-a-jwt',
};
for (const [name, make] of Object.entries(rejections)) {
  test(`token exchange rejects: ${name}`, async () => {
    const r = await tokenRequest(srv.url, exchange(make()));
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error, 'invalid_grant');
    assert.equal(typeof r.body.error_description, 'string');
    assert.equal(r.body.access_token, undefined);
  });
}

test('token exchange request validation', async () => {
  const wrongType = await tokenRequest(srv.url, exchange(jwt(goodClaims()), { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }));
  assert.equal(wrongType.status, 400);
  assert.equal(wrongType.body.error, 'invalid_request');
  const unknownClient = await tokenRequest(srv.url, exchange(jwt(goodClaims()), { client_id: '00000000-0000-0000-0000-00000000ffff' }));
  assert.equal(unknownClient.status, 401);
  assert.equal(unknownClient.body.error, 'invalid_client');
  const noPolicy = await tokenRequest(srv.url, exchange(jwt(goodClaims()), { client_id: '' }));
  assert.equal(noPolicy.status, 400, 'account-wide federation without a policy is refused');
  assert.equal(noPolicy.body.error, 'invalid_grant');
});
