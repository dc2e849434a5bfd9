// The privileges an INSERT into a `databricks` table needs, against
// dbx-local's grants: the least set the README lists is enough, and each
// missing one fails the commit with a line that names what to grant,
// leaving the remote table as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { workspace } from './harness.mjs';

const base = (p) => [
  { principal: p, securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG'] },
  { principal: p, securable_type: 'SCHEMA', full_name: 'main.default', privileges: ['USE SCHEMA'] },
];
const CONFIG = {
  users: [
    { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
    { user_name: 'writer@dbx.local', tokens: ['dapi-writer'] },
    { user_name: 'novolume@dbx.local', tokens: ['dapi-novolume'] },
    { user_name: 'nowrite@dbx.local', tokens: ['dapi-nowrite'] },
    { user_name: 'nomodify@dbx.local', tokens: ['dapi-nomodify'] },
  ],
  grants: [
    ...base('writer@dbx.local'),
    { principal: 'writer@dbx.local', securable_type: 'TABLE', full_name: 'main.default.t', privileges: ['SELECT', 'MODIFY'] },
    { principal: 'writer@dbx.local', securable_type: 'VOLUME', full_name: 'main.default._dbx_staging', privileges: ['READ VOLUME', 'WRITE VOLUME'] },
    ...base('novolume@dbx.local'),
    { principal: 'novolume@dbx.local', securable_type: 'TABLE', full_name: 'main.default.t', privileges: ['SELECT', 'MODIFY'] },
    ...base('nowrite@dbx.local'),
    { principal: 'nowrite@dbx.local', securable_type: 'TABLE', full_name: 'main.default.t', privileges: ['SELECT', 'MODIFY'] },
    { principal: 'nowrite@dbx.local', securable_type: 'VOLUME', full_name: 'main.default._dbx_staging', privileges: ['READ VOLUME'] },
    ...base('nomodify@dbx.local'),
    { principal: 'nomodify@dbx.local', securable_type: 'TABLE', full_name: 'main.default.t', privileges: ['SELECT'] },
    { principal: 'nomodify@dbx.local', securable_type: 'VOLUME', full_name: 'main.default._dbx_staging', privileges: ['READ VOLUME', 'WRITE VOLUME'] },
  ],
};

let ws;
let tmp;
before(async () => {
  ws = await workspace({ config: CONFIG });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-writepriv-'));
  await ws.sql('CREATE TABLE main.default.t (id BIGINT, v STRING)');
});
after(async () => {
  await ws?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const count = async () => (await ws.sql('SELECT count(*) FROM main.default.t')).result.data_array[0][0];

async function insertAs(token, staging) {
  const db = path.join(tmp, `${token}.db`);
  const opt = staging ? `, staging_volume='${staging}'` : '';
  return ws.run(`CREATE VIRTUAL TABLE t USING databricks(table='main.default.t'${opt});
INSERT INTO t VALUES (1, 'x');`, { db, env: { DATABRICKS_TOKEN: token } });
}

test('a principal without CREATE VOLUME, the volume missing: the GRANT to run', async () => {
  const r = await insertAs('dapi-novolume');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /GRANT CREATE VOLUME ON SCHEMA `main`\.`default`/);
  assert.equal(await count(), '0');
});

test('the least privileges of the README are enough', async () => {
  await ws.api('POST', '/api/2.1/unity-catalog/volumes', { catalog_name: 'main', schema_name: 'default', name: '_dbx_staging', volume_type: 'MANAGED' });
  const r = await insertAs('dapi-writer');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await count(), '1');
});

test('a principal without WRITE VOLUME: the GRANT to run', async () => {
  const r = await insertAs('dapi-nowrite');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /WRITE VOLUME/);
  assert.match(r.stderr, /main\.default\._dbx_staging|main`\.`default`\.`_dbx_staging/);
  assert.equal(await count(), '1');
});

test('a principal without MODIFY: the load is refused, the rows stay out', async () => {
  const r = await insertAs('dapi-nomodify');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /MODIFY/);
  assert.doesNotMatch(r.stderr, /may or may not/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.equal(await count(), '1');
});
