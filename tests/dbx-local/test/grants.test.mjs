// SQL warehouse permission levels, as grants.mjs settles them from Databricks' warehouse access
// control documentation: CAN_VIEW and CAN_MONITOR see a warehouse only; CAN_USE also runs
// statements and starts it; CAN_MANAGE and IS_OWNER also stop it and manage its permissions.
// Checked once against the rule table and once through the HTTP API of a running server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api } from './helpers.mjs';
import { WAREHOUSE_LEVELS, warehouseAllows, warehouseLevels } from '../lib/grants.mjs';

const RUNNING = '0000000000000001';
const STOPPED = '0000000000000002';
const LEVELS = ['CAN_VIEW', 'CAN_MONITOR', 'CAN_USE', 'CAN_MANAGE', 'IS_OWNER'];
// What each held level may do on a warehouse: [see, run a statement and start, stop and manage permissions].
const EXPECTED = {
  CAN_VIEW: [true, false, false],
  CAN_MONITOR: [true, false, false],
  CAN_USE: [true, true, false],
  CAN_MANAGE: [true, true, true],
  IS_OWNER: [true, true, true],
};
const user = (level) => `${level.toLowerCase()}@dbx.local`;
const token = (level) => `dapi-${level.toLowerCase()}`;

test('the rule table: each level against seeing, using and managing a warehouse', () => {
  assert.deepEqual([...WAREHOUSE_LEVELS].sort(), [...LEVELS].sort());
  for (const level of LEVELS) {
    const got = ['CAN_VIEW', 'CAN_USE', 'CAN_MANAGE'].map((required) => warehouseAllows([level], required));
    assert.deepEqual(got, EXPECTED[level], level);
  }
  for (const required of ['CAN_VIEW', 'CAN_USE', 'CAN_MANAGE']) assert.equal(warehouseAllows([], required), false, `no level, ${required}`);
  assert.equal(warehouseAllows(['CAN_VIEW', 'CAN_USE'], 'CAN_USE'), true, 'the best of several levels counts');
  assert.equal(warehouseAllows(['NOT_A_LEVEL'], 'CAN_VIEW'), false);
  assert.throws(() => warehouseAllows(['CAN_USE'], 'IS_OWNER'), /no warehouse rule/);
});

test('levels held: direct entries of that warehouse only; admins hold CAN_MANAGE', () => {
  const acl = [
    { warehouse_id: RUNNING, principal: 'a@x', permission_level: 'CAN_VIEW' },
    { warehouse_id: STOPPED, principal: 'a@x', permission_level: 'CAN_MANAGE' },
    { warehouse_id: RUNNING, principal: 'b@x', permission_level: 'CAN_USE' },
  ];
  assert.deepEqual(warehouseLevels(acl, { name: 'a@x' }, RUNNING), ['CAN_VIEW']);
  assert.deepEqual(warehouseLevels(acl, { name: 'c@x' }, RUNNING), []);
  assert.deepEqual(warehouseLevels(acl, { name: 'c@x', admin: true }, RUNNING), ['CAN_MANAGE']);
  assert.deepEqual(warehouseLevels(acl, { name: 'a@x', admin: true }, RUNNING), ['CAN_MANAGE', 'CAN_VIEW']);
});

let srv;

before(async () => {
  srv = await startServer({
    config: {
      users: [
        { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
        ...LEVELS.map((level) => ({ user_name: user(level), tokens: [token(level)] })),
        { user_name: 'none@dbx.local', tokens: ['dapi-none'] },
      ],
      warehouses: [
        { id: RUNNING, name: 'Running', state: 'RUNNING' },
        // Long enough that a start never completes during the test: every start finds it STARTING or STOPPED.
        { id: STOPPED, name: 'Stopped', state: 'STOPPED', start_seconds: 600 },
      ],
      warehouse_permissions: LEVELS.flatMap((level) => [RUNNING, STOPPED].map((id) => ({ warehouse_id: id, principal: user(level), permission_level: level }))),
    },
  });
});
after(() => srv?.stop());

test('each level against running a statement, starting, stopping and reading permissions over HTTP', async () => {
  const call = (tok, method, p, body) => api(srv.url, tok, method, p, body);
  for (const level of [...LEVELS, 'NONE']) {
    const tok = level === 'NONE' ? 'dapi-none' : token(level);
    const [see, use, manage] = EXPECTED[level] ?? [false, false, false];
    const status = (allowed) => (allowed ? 200 : 403);

    const get = await call(tok, 'GET', `/api/2.0/sql/warehouses/${RUNNING}`);
    assert.equal(get.status, status(see), `${level}: GET warehouse`);
    const listed = await call(tok, 'GET', '/api/2.0/sql/warehouses');
    assert.equal(listed.body.warehouses.some((w) => w.id === RUNNING), see, `${level}: listed`);

    const run = await call(tok, 'POST', '/api/2.0/sql/statements', { statement: 'SELECT 1', warehouse_id: RUNNING, wait_timeout: '30s' });
    assert.equal(run.status, status(use), `${level}: run a statement`);
    if (use) assert.equal(run.body.status.state, 'SUCCEEDED', `${level}: ${JSON.stringify(run.body.status)}`);
    else assert.equal(run.body.error_code, 'PERMISSION_DENIED', level);

    const start = await call(tok, 'POST', `/api/2.0/sql/warehouses/${STOPPED}/start`);
    assert.equal(start.status, status(use), `${level}: start`);
    if (!use) assert.match(start.body.message, /does not have CAN_USE permission/);

    const perms = await call(tok, 'GET', `/api/2.0/permissions/warehouses/${RUNNING}`);
    assert.equal(perms.status, status(manage), `${level}: read permissions`);
  }
  // Stopping last, so that the starts above all met the same warehouse state.
  for (const level of [...LEVELS].reverse()) {
    const stop = await call(token(level), 'POST', `/api/2.0/sql/warehouses/${STOPPED}/stop`);
    assert.equal(stop.status, EXPECTED[level][2] ? 200 : 403, `${level}: stop`);
  }
});
