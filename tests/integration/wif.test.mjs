// Workload identity federation end to end, as a user sets it up: dbx_keygen() makes the
// issuer's key, dbx_jwks() publishes its public half, dbx_federation_policy() writes the
// service principal's policy, which the account API of dbx-local creates; the grants of
// dbx_grants_sql(..., 'appender') and the warehouse's CAN_USE follow; then the extension,
// given only the private key and the issuer (no secret, no PAT), exports a local table as the
// service principal. Deleting the policy revokes it: the next export fails with one line that
// says the federation policy rejected the token, and nothing moves, remotely or locally.
// Also: the functions' own refusals, and hostile input that must stay inside its quotes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { EXT, workspace } from './harness.mjs';

const ACCOUNT = '8a4e2f10-3b5c-4d6e-9f70-81a2b3c4d5e6';
const SP_APP = '6f1c0000-aaaa-4bbb-8ccc-00000000f00d';
const SP_ID = '4242';
const ISSUER = 'https://etl.sqlite-databricks.test';
const SUBJECT = 'sqlite-etl:prod';
const TARGET = 'main.default.wif_events';
const POLICIES = `/api/2.0/accounts/${ACCOUNT}/servicePrincipals/${SP_ID}/federationPolicies`;

const CONFIG = {
  account_id: ACCOUNT,
  // no secret, no token: the service principal can only come in through a policy
  service_principals: [{ application_id: SP_APP, id: Number(SP_ID), display_name: 'sqlite-etl' }],
  // only admins may use the warehouse until CAN_USE is granted
  warehouse_permissions: [],
};

let ws;
before(async () => { ws = await workspace({ config: CONFIG }); });
after(async () => { await ws?.stop(); });

const sq = (s) => `'${String(s).replace(/'/g, "''")}'`;
const remote = async (sql) => (await ws.sql(sql)).result?.data_array ?? [];

// The settings of the service principal's runs: the self-hosted issuer and nothing secret.
const spEnv = (keyFile) => ({
  DATABRICKS_TOKEN: '',
  DATABRICKS_CLIENT_ID: SP_APP,
  DATABRICKS_OIDC_PRIVATE_KEY_FILE: keyFile,
  DATABRICKS_OIDC_ISSUER: ISSUER,
  DATABRICKS_OIDC_SUBJECT: SUBJECT,
});

test('keygen, JWKS, policy, grants, export as the service principal; a deleted policy stops the next export', async () => {
  const key = path.join(ws.home, 'issuer.pem');
  const db = path.join(ws.home, 'wif.db');

  // 1. the key: mode 0600, never replaced
  const [made] = await ws.query(`SELECT dbx_keygen(${sq(key)}, 'ec') AS k;`);
  const info = JSON.parse(made.k);
  assert.deepEqual([info.path, info.kty, info.alg], [key, 'EC', 'ES256']);
  assert.equal((await stat(key)).mode & 0o777, 0o600);
  const pem = await readFile(key, 'utf8');
  assert.match(await ws.fail(`SELECT dbx_keygen(${sq(key)});`), /issuer\.pem already exists: a key file is never replaced/);
  assert.equal(await readFile(key, 'utf8'), pem, 'the key is untouched');

  // 2. the JWKS: public members only, kid = the RFC 7638 thumbprint
  const [{ j }] = await ws.query(`SELECT dbx_jwks(${sq(key)}) AS j;`);
  const jwks = JSON.parse(j);
  assert.equal(jwks.keys.length, 1);
  const jwk = jwks.keys[0];
  assert.deepEqual(Object.keys(jwk), ['kty', 'crv', 'x', 'y', 'kid', 'use', 'alg']);
  const pub = createPrivateKey(pem).export({ format: 'jwk' });
  assert.deepEqual([jwk.kty, jwk.crv, jwk.x, jwk.y], [pub.kty, pub.crv, pub.x, pub.y]);
  const thumb = createHash('sha256').update(JSON.stringify({ crv: pub.crv, kty: pub.kty, x: pub.x, y: pub.y })).digest('base64url');
  assert.equal(jwk.kid, thumb);
  assert.equal(info.kid, thumb);

  // 3. the policy, through the account API, as the REST body the function writes
  const audience = `${ws.server.url}/oidc/v1/token`; // the audience of the extension's JWTs
  const [{ body }] = await ws.query(`SELECT dbx_federation_policy(${SP_ID}, ${sq(ISSUER)}, ${sq(SUBJECT)},
    json_object('format', 'json', 'jwks_json', dbx_jwks(${sq(key)}), 'audiences', json_array(${sq(audience)}))) AS body;`);
  const policy = JSON.parse(body);
  assert.deepEqual(policy, { oidc_policy: { issuer: ISSUER, audiences: [audience], subject: SUBJECT, jwks_json: j } });
  const created = await ws.api('POST', `${POLICIES}?policy_id=sqlite-etl`, policy);
  assert.equal(created.status, 200, JSON.stringify(created.body));

  // 4. the grants (as the admin, through dbx_exec) and the warehouse's CAN_USE
  await ws.query(`SELECT dbx_exec('CREATE VOLUME IF NOT EXISTS main.default._dbx_staging');
SELECT dbx_exec(json_extract(value, '$.statement'))
  FROM json_each(dbx_grants_sql(${sq(SP_APP)}, 'main.default', 'appender', '{"format": "json"}'));`);
  const acl = await ws.api('PATCH', '/api/2.0/permissions/warehouses/0000000000000001',
    { access_control_list: [{ service_principal_name: SP_APP, permission_level: 'CAN_USE' }] });
  assert.equal(acl.status, 200);

  // 5. the export, as the service principal, with the private key and no secret
  const env = spEnv(key);
  const [cfg] = await ws.query(`SELECT json_extract(dbx_config(), '$.auth_type.value') AS t,
    json_extract(dbx_config(), '$.client_secret') AS s, json_extract(dbx_config(), '$.token') AS p;`, { env });
  assert.deepEqual(cfg, { t: 'oidc-self-signed', s: null, p: null });
  await ws.query(`CREATE TABLE events(id INTEGER PRIMARY KEY, kind TEXT);
INSERT INTO events VALUES (1, 'signup'), (2, 'checkout'), (3, 'churn');
SELECT dbx_export('events', '${TARGET}', '{"watermark": "id"}');`, { db, env });
  assert.deepEqual(await remote(`SELECT id, kind FROM ${TARGET} ORDER BY id`), [['1', 'signup'], ['2', 'checkout'], ['3', 'churn']]);
  const table = await ws.api('GET', `/api/2.1/unity-catalog/tables/${TARGET}`);
  assert.equal(table.body.owner, SP_APP, 'the service principal made the table');
  const history = await remote(`DESCRIBE HISTORY ${TARGET}`);
  const [state] = await ws.query('SELECT * FROM dbx_export_state;', { db });

  // 6. revoke: delete the policy; the next run is refused and changes nothing
  assert.equal((await ws.api('DELETE', `${POLICIES}/sqlite-etl`)).status, 200);
  const err = await ws.fail(`INSERT INTO events VALUES (4, 'signup'), (5, 'checkout');
SELECT dbx_export('events', '${TARGET}', '{"watermark": "id"}');`, { db, env });
  assert.doesNotMatch(err, /\n/, 'one line');
  assert.match(err, /oidc-self-signed token request: HTTP 400: No federation policy matches this token\. The federation policy rejected the subject token .*\(invalid_grant\)/);
  assert.ok(err.includes(`(iss "${ISSUER}", aud "${audience}", sub "${SUBJECT}")`), err);
  assert.ok(!err.includes(pem.split('\n')[1]) && !err.includes('eyJ'), 'no key, no JWT');
  assert.deepEqual(await remote(`SELECT count(*) FROM ${TARGET}`), [['3']]);
  assert.deepEqual(await remote(`DESCRIBE HISTORY ${TARGET}`), history);
  assert.deepEqual(await ws.query('SELECT * FROM dbx_export_state;', { db }), [state]);
  const [local] = await ws.query('SELECT count(*) AS n FROM events;', { db });
  assert.equal(local.n, 5, 'the local rows stay, for the next run');
});

test('the key id of a minted JWT is the thumbprint unless oidc_key_id names another', async () => {
  const key = path.join(ws.home, 'rsa.pem');
  const [made] = await ws.query(`SELECT dbx_keygen(${sq(key)}, 'rsa') AS k;`);
  const { kid, kty, alg } = JSON.parse(made.k);
  assert.deepEqual([kty, alg], ['RSA', 'RS256']);
  const [{ j }] = await ws.query(`SELECT dbx_jwks(${sq(key)}) AS j;`);
  const jwk = JSON.parse(j).keys[0];
  assert.deepEqual(Object.keys(jwk), ['kty', 'n', 'e', 'kid', 'use', 'alg']);
  const pub = createPrivateKey(await readFile(key, 'utf8')).export({ format: 'jwk' });
  assert.equal(jwk.kid, createHash('sha256').update(JSON.stringify({ e: pub.e, kty: 'RSA', n: pub.n })).digest('base64url'));
  assert.equal(jwk.kid, kid);
  for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(jwk[m], undefined, m);

  // a policy whose JWKS names the key by another kid refuses the JWT (kid mismatch),
  // until oidc_key_id says that kid
  const other = JSON.stringify({ keys: [{ ...jwk, kid: 'rotated-2026' }] });
  const audience = `${ws.server.url}/oidc/v1/token`;
  const [{ body }] = await ws.query(`SELECT dbx_federation_policy(${SP_ID}, ${sq(ISSUER)}, ${sq(SUBJECT)},
    json_object('format', 'json', 'jwks_json', ${sq(other)}, 'audiences', json_array(${sq(audience)}))) AS body;`);
  assert.equal((await ws.api('POST', `${POLICIES}?policy_id=kid-test`, JSON.parse(body))).status, 200);
  try {
    const who = "SELECT json_extract(row, '$.u') AS u FROM dbx_query('SELECT current_user() AS u');";
    assert.match(await ws.fail(who, { env: spEnv(key) }), /signature/);
    const [row] = await ws.query(who, { env: { ...spEnv(key), DATABRICKS_OIDC_KEY_ID: 'rotated-2026' } });
    assert.equal(row.u, SP_APP);
  } finally {
    await ws.api('DELETE', `${POLICIES}/kid-test`);
  }
});

test('dbx_jwks() lists several keys (a rotation) once each, and takes public keys too', async () => {
  const a = path.join(ws.home, 'rot-a.pem');
  const b = path.join(ws.home, 'rot-b.pem');
  await ws.query(`SELECT dbx_keygen(${sq(a)}); SELECT dbx_keygen(${sq(b)}, 'rsa');`);
  const pubFile = path.join(ws.home, 'rot-b.pub.pem');
  execFileSync('openssl', ['pkey', '-in', b, '-pubout', '-out', pubFile]);
  const [{ j }] = await ws.query(`SELECT dbx_jwks(${sq(a)}, ${sq(b)}, ${sq(a)}, ${sq(pubFile)}) AS j;`);
  assert.deepEqual(JSON.parse(j).keys.map((k) => k.kty), ['EC', 'RSA']);
  assert.match(await ws.fail(`SELECT dbx_jwks(${sq(path.join(ws.home, 'nope.pem'))});`), /nope\.pem does not exist/);
  assert.match(await ws.fail(`SELECT dbx_keygen(${sq(path.join(ws.home, 'k3.pem'))}, 'dsa');`), /key type must be 'ec' .* or 'rsa'/);
  assert.match(await ws.fail(`SELECT dbx_keygen(${sq(path.join(ws.home, 'no-dir', 'k.pem'))});`), /cannot be created \(No such file or directory\)/);
  // files: DIRECTONLY, so no view of a database file may call them
  assert.match(await ws.fail(`CREATE VIEW v AS SELECT dbx_jwks(${sq(a)}) AS j; SELECT * FROM v;`), /unsafe use of dbx_jwks/);
});

test('dbx_federation_policy(): the CLI command, revoke commands, and its refusals', async () => {
  const q = async (args) => (await ws.query(`SELECT dbx_federation_policy(${args}) AS t;`))[0].t;
  assert.equal(await q(`1234, 'https://issuer.example', 'repo:acme/etl:environment:prod', '{"account_id": "acc-1"}'`),
    `databricks account service-principal-federation-policy create 1234 --json '{"oidc_policy":{"issuer":"https://issuer.example","audiences":["acc-1"],"subject":"repo:acme/etl:environment:prod"}}'`);
  assert.equal(await q(`1234, 'https://issuer.example', 'sub', '{"policy_id": "etl", "subject_claim": "email", "description": "nightly", "profile": "acct"}'`),
    `databricks account service-principal-federation-policy create 1234 --policy-id 'etl' --json '{"description":"nightly","oidc_policy":{"issuer":"https://issuer.example","subject":"sub","subject_claim":"email"}}' --profile 'acct'`);
  assert.equal(await q(`1234, 'https://issuer.example', 'sub', '{"format": "revoke", "policy_id": "etl"}'`),
    `databricks account service-principal-federation-policy list 1234
databricks account service-principal-federation-policy delete 1234 'etl'
# the next token exchange is refused; access tokens issued before stay valid until they expire (an hour at most): to end data access at once, also run the REVOKE statements of dbx_revoke_sql()
`);
  const revoke = await q(`1234, 'https://issuer.example', 'sub', '{"format": "revoke"}'`);
  assert.match(revoke, /^# set POLICY_ID to the policy_id of the policy with issuer https:\/\/issuer\.example and subject sub in this list:\n.* list 1234\n.* delete 1234 "\$POLICY_ID"\n/);
  for (const [args, why] of [
    [`'${SP_APP}', 'https://i.example', 's'`, /service_principal_id must be the numeric id/],
    [`1, 'http://i.example', 's'`, /issuer must be an https:\/\/ URL/],
    [`1, 'https://i.example', ''`, /subject is empty/],
    [`1, NULL, 's'`, /issuer is NULL: usage: dbx_federation_policy/],
    [`1, 'https://i.example', 's', '{"format": "yaml"}'`, /format must be "cli" \(the default\), "json" .* or "revoke"/],
    [`1, 'https://i.example', 's', '{"audience": "x"}'`, /unknown option 'audience': known options are format, audiences/],
    [`1, 'https://i.example', 's', '{"audiences": []}'`, /audiences must be a string or an array/],
    [`1, 'https://i.example', 's', '{"policy_id": "Etl Prod"}'`, /policy_id must be 2 to 63 lower-case/],
    [`1, 'https://i.example', 's', '{"jwks_json": "{}"}'`, /jwks_json must be a JWKS/],
    [`1, 'https://i.example', 's', '{"jwks_json": {"keys": [{"kty": "EC", "d": "secret"}]}}'`, /private key member "d"/],
    [`1, 'https://i.example', 's' || char(10) || 'rm -rf /'`, /subject holds a control character/],
  ]) {
    assert.match(await ws.fail(`SELECT dbx_federation_policy(${args});`), why, args);
  }
  // pure: usable in a view
  const [v] = await ws.query(`CREATE VIEW p AS SELECT dbx_federation_policy(1, 'https://i.example', 's', '{"format":"json"}') AS t; SELECT t FROM p;`);
  assert.deepEqual(JSON.parse(v.t), { oidc_policy: { issuer: 'https://i.example', subject: 's' } });
});

test('hostile input stays inside its quotes: the shell sees exactly the arguments meant', async () => {
  const hostile = [
    "it's", "'; touch /tmp/pwned; '", '$(touch /tmp/pwned)', '`id`', '" ; echo "', '\\', '\\\'', "''", "a'\\''b",
    '$HOME', '!!', '*', '#', '--json', ';', '&&', '|', '>', 'ü—✓',
  ];
  // a fake databricks that prints its arguments one a line, NUL-separated for exactness
  const fake = path.join(ws.home, 'bin');
  execFileSync('sh', ['-c', `mkdir -p "${fake}" && printf '#!/bin/sh\\nprintf "%%s\\\\0" "$@"\\n' > "${fake}/databricks" && chmod +x "${fake}/databricks"`]);
  for (const h of hostile) {
    const issuer = `https://issuer.example/${h}`;
    const opts = JSON.stringify({ policy_id: 'p1', description: h, audiences: [h, 'x'], subject_claim: h, profile: h });
    const [{ t }] = await ws.query(`SELECT dbx_federation_policy(77, ${sq(issuer)}, ${sq(h)}, ${sq(opts)}) AS t;`);
    assert.doesNotMatch(t, /\n/);
    const argv = execFileSync('sh', ['-c', t], { env: { PATH: `${fake}:${process.env.PATH}`, HOME: ws.home } })
      .toString('utf8').split('\0').slice(0, -1);
    assert.deepEqual(argv.slice(0, 6), ['account', 'service-principal-federation-policy', 'create', '77', '--policy-id', 'p1'], h);
    assert.equal(argv[6], '--json');
    assert.deepEqual(JSON.parse(argv[7]), {
      description: h, oidc_policy: { issuer, audiences: [h, 'x'], subject: h, subject_claim: h },
    }, h);
    assert.deepEqual(argv.slice(8), ['--profile', h], h);
    // the revoke form too: comment lines and commands
    const [{ r }] = await ws.query(`SELECT dbx_federation_policy(77, ${sq(issuer)}, ${sq(h)}, json_object('format', 'revoke', 'profile', ${sq(h)})) AS r;`);
    const out = execFileSync('sh', ['-c', r], { env: { PATH: `${fake}:${process.env.PATH}`, HOME: ws.home, POLICY_ID: 'pid' } }).toString('utf8');
    assert.deepEqual(out.split('\0').slice(0, -1), [
      'account', 'service-principal-federation-policy', 'list', '77', '--profile', h,
      'account', 'service-principal-federation-policy', 'delete', '77', 'pid', '--profile', h,
    ], h);
  }
  await assert.rejects(stat('/tmp/pwned'));
});

test('examples/workload_identity.sh runs against dbx-local: export as the service principal, then revoked', async () => {
  const dir = path.join(ws.home, 'example');
  await mkdir(dir);
  const script = fileURLToPath(new URL('../../examples/workload_identity.sh', import.meta.url));
  const env = { PATH: process.env.PATH, HOME: ws.home, ...ws.env, DBX_EXT: EXT, WIF_DIR: dir, WIF_ACCOUNT_ID: ACCOUNT, WIF_SP_ID: SP_ID, WIF_SP_APP: SP_APP };
  if (process.env.DBX_SQLITE_PRELOAD) {
    // under `make asan` the ASan runtime goes in front of the shell only, not of curl
    const bin = path.join(ws.home, 'asan-bin');
    const real = execFileSync('sh', ['-c', 'command -v sqlite3'], { encoding: 'utf8' }).trim();
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, 'sqlite3'), `#!/bin/sh\nLD_PRELOAD='${process.env.DBX_SQLITE_PRELOAD}' exec '${real}' "$@"\n`, { mode: 0o755 });
    env.PATH = `${bin}:${env.PATH}`;
  }
  const r = spawnSync('sh', [script], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
  assert.match(r.stdout, /service-principal-federation-policy create 4242 --policy-id 'sqlite-etl' --json '\{"oidc_policy":/);
  assert.match(r.stdout, /^oidc-self-signed$/m);
  assert.match(r.stdout, /service-principal-federation-policy delete 4242 'sqlite-etl' --profile 'ACCOUNT'/);
  assert.match(r.stderr, /The federation policy rejected the subject token/);
  assert.deepEqual(await remote('SELECT kind FROM main.default.wif_example_events ORDER BY id'), [['signup'], ['checkout']]);
});
