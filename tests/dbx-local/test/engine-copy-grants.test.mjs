// Engine tests for COPY INTO (idempotency, force, mergeSchema, missing paths, change feed), grant
// enforcement for a non-admin principal, REST permissions, persistence across reopen, cancellation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openEngine, SqlError, ApiError } from '../lib/engine.mjs';

let dir, engine;
const admin = { kind: 'user', name: 'admin@dbx.local', displayName: 'admin', admin: true };
const sp = { kind: 'service_principal', name: '6f1c0000-0000-0000-0000-000000000001', displayName: 'ingest', admin: false };
const x = (sql, opts = {}) => engine.execute(sql, { principal: admin, ...opts });
const rows = async (sql, opts) => (await x(sql, opts)).rows;
const errClass = async (p) => { try { await p; } catch (e) { assert.ok(e instanceof SqlError, e.stack); return e.errorClass; } assert.fail('expected an error'); };

// Writes a parquet file with DuckDB (a separate in-memory instance).
async function parquet(file, selectSql) {
  await mkdir(path.dirname(file), { recursive: true });
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  await c.run(`COPY (${selectSql}) TO '${file}' (FORMAT PARQUET)`);
  c.closeSync();
  inst.closeSync();
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-copy-'));
  engine = await openEngine({ dataDir: dir, config: { users: [{ user_name: admin.name, admin: true }], service_principals: [{ application_id: sp.name }] } });
  await x('CREATE VOLUME main.default.stage');
});
after(async () => { await engine.close(); await rm(dir, { recursive: true, force: true }); });

test('COPY INTO is idempotent per file, force reloads, mergeSchema adds columns, CDF records inserts', async () => {
  const root = engine.volumeRoot('main', 'default', 'stage');
  await parquet(path.join(root, 'b1', 'part-1.parquet'), "SELECT 1::BIGINT AS id, 'a' AS name UNION ALL SELECT 2, 'b'");
  await x('CREATE TABLE events (id BIGINT, name STRING, extra INT) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  const sql = "COPY INTO main.default.events FROM '/Volumes/main/default/stage/b1/' FILEFORMAT = PARQUET";
  const r1 = await x(sql);
  assert.deepEqual(r1.columns.map((c) => [c.name, c.type_text]), [['num_affected_rows', 'BIGINT'], ['num_inserted_rows', 'BIGINT'], ['num_skipped_corrupt_files', 'BIGINT']]);
  assert.deepEqual(r1.rows, [[2n, 2n, 0n]]);
  assert.deepEqual((await x(sql)).rows, [[0n, 0n, 0n]]);
  assert.deepEqual(await rows('SELECT id, name, extra FROM events ORDER BY id'), [[1n, 'a', null], [2n, 'b', null]]);
  assert.deepEqual((await x(sql + " COPY_OPTIONS ('force' = 'true')")).rows, [[2n, 2n, 0n]]);
  await parquet(path.join(root, 'b2', 'p.parquet'), "SELECT 3::BIGINT AS id, 'c' AS name, '2024-01-01'::DATE AS day");
  const r2 = await x("COPY INTO events FROM '/Volumes/main/default/stage/b2/' FILEFORMAT = PARQUET FORMAT_OPTIONS ('mergeSchema' = 'true') COPY_OPTIONS ('mergeSchema' = 'true')");
  assert.deepEqual(r2.rows, [[1n, 1n, 0n]]);
  assert.deepEqual(engine.getTable('main.default.events').columns.map((c) => c.name), ['id', 'name', 'extra', 'day']);
  assert.deepEqual(await rows('SELECT day FROM events WHERE id = 3'), [['2024-01-01']]);
  const ch = await rows("SELECT _change_type, count(*) FROM table_changes('events', 1) GROUP BY 1");
  assert.deepEqual(ch, [['insert', 5n]]);
  const hist = await rows('DESCRIBE HISTORY events');
  assert.equal(hist[0][4], 'COPY INTO');
  assert.equal(await errClass(x("COPY INTO events FROM '/Volumes/main/default/stage/nope/' FILEFORMAT = PARQUET")), 'PATH_NOT_FOUND');
});

test('COPY INTO with a SELECT list, parse_json, FILES and PATTERN', async () => {
  const root = engine.volumeRoot('main', 'default', 'stage');
  await parquet(path.join(root, 'j', 'a.parquet'), `SELECT '10' AS id, '{"k":1}' AS props`);
  await parquet(path.join(root, 'j', 'b.parquet'), `SELECT '11' AS id, '{"k":2}' AS props`);
  await x('CREATE TABLE pj (id BIGINT, props VARIANT)');
  const r = await x("COPY INTO pj FROM (SELECT CAST(id AS BIGINT) AS id, parse_json(props) AS props FROM '/Volumes/main/default/stage/j/') FILEFORMAT = PARQUET FILES = ('a.parquet')");
  assert.deepEqual(r.rows, [[1n, 1n, 0n]]);
  const r2 = await x("COPY INTO pj FROM (SELECT CAST(id AS BIGINT) AS id, parse_json(props) AS props FROM '/Volumes/main/default/stage/j/') FILEFORMAT = PARQUET PATTERN = '*.parquet'");
  assert.deepEqual(r2.rows, [[1n, 1n, 0n]]);
  assert.deepEqual(await rows('SELECT id, props:k FROM pj ORDER BY id'), [[10n, '1'], [11n, '2']]);
});

test('grants: a non-admin principal is denied, then granted; SHOW GRANTS; REST permissions', async () => {
  await x('CREATE TABLE secret (id INT)');
  await x('INSERT INTO secret VALUES (1)');
  const asSp = (sql) => engine.execute(sql, { principal: sp });
  const e = await asSp('SELECT * FROM main.default.secret').catch((err) => err);
  assert.equal(e.errorClass, 'INSUFFICIENT_PERMISSIONS');
  assert.match(e.message, /USE CATALOG on Catalog 'main'/);
  await x(`GRANT USE CATALOG ON CATALOG main TO \`${sp.name}\``);
  await x(`GRANT USE SCHEMA ON SCHEMA main.default TO \`${sp.name}\``);
  const e2 = await asSp('SELECT * FROM secret').catch((err) => err);
  assert.match(e2.message, /User does not have SELECT on Table 'main\.default\.secret'/);
  assert.equal(e2.sqlState, '42501');
  await x(`GRANT SELECT ON TABLE main.default.secret TO \`${sp.name}\``);
  assert.deepEqual((await asSp('SELECT * FROM secret')).rows, [[1]]);
  assert.equal(await errClass(asSp('INSERT INTO secret VALUES (2)')), 'INSUFFICIENT_PERMISSIONS');
  assert.equal(await errClass(asSp(`GRANT MODIFY ON TABLE secret TO \`${sp.name}\``)), 'INSUFFICIENT_PERMISSIONS');
  assert.equal(await errClass(asSp('CREATE TABLE mine (id INT)')), 'INSUFFICIENT_PERMISSIONS');
  await x(`GRANT CREATE TABLE ON SCHEMA main.default TO \`${sp.name}\``);
  await asSp('CREATE TABLE mine (id INT)');
  await asSp('INSERT INTO mine VALUES (1)'); // the creator owns the table
  assert.equal(engine.getTable('main.default.mine', sp).owner, sp.name);
  const g = await rows(`SHOW GRANTS \`${sp.name}\` ON TABLE main.default.secret`);
  assert.deepEqual(g.map((r) => [r[1], r[2]]).sort(), [['CREATE TABLE', 'SCHEMA'], ['SELECT', 'TABLE'], ['USE CATALOG', 'CATALOG'], ['USE SCHEMA', 'SCHEMA']]);
  assert.equal(engine.checkPrivilege(sp, 'SELECT', 'TABLE', 'main.default.secret'), true);
  assert.equal(engine.checkPrivilege(sp, 'READ VOLUME', 'VOLUME', 'main.default.stage'), false);
  await engine.updatePermissions('VOLUME', 'main.default.stage', [{ principal: sp.name, add: ['READ_VOLUME'] }], admin);
  assert.equal(engine.checkPrivilege(sp, 'READ VOLUME', 'VOLUME', 'main.default.stage'), true);
  assert.deepEqual(engine.getPermissions('VOLUME', 'main.default.stage').privilege_assignments, [{ principal: sp.name, privileges: ['READ_VOLUME'] }]);
  await assert.rejects(engine.updatePermissions('VOLUME', 'main.default.stage', [{ principal: sp.name, add: ['SELECT'] }], admin), (err) => err instanceof ApiError && err.status === 400);
  await assert.rejects(engine.updatePermissions('TABLE', 'main.default.secret', [{ principal: sp.name, add: ['MODIFY'] }], sp), (err) => err instanceof ApiError && err.status === 403);
  await x(`REVOKE SELECT ON TABLE main.default.secret FROM \`${sp.name}\``);
  assert.equal(await errClass(asSp('SELECT * FROM secret')), 'INSUFFICIENT_PERMISSIONS');
  assert.equal(engine.getTable('main.default.nope', admin), null);
});

test('state persists across reopen: rows, versions, change feed, grants, volumes, loaded files', async () => {
  await x('CREATE TABLE keep (id INT) TBLPROPERTIES (delta.enableChangeDataFeed = true)');
  await x('INSERT INTO keep VALUES (7)');
  await engine.close();
  engine = await openEngine({ dataDir: dir, config: { users: [{ user_name: admin.name, admin: true }], service_principals: [{ application_id: sp.name }] } });
  assert.deepEqual(await rows('SELECT * FROM keep'), [[7]]);
  assert.deepEqual(await rows("SELECT id, _change_type, _commit_version FROM table_changes('keep', 0)"), [[7, 'insert', 1n]]);
  assert.equal(engine.checkPrivilege(sp, 'READ VOLUME', 'VOLUME', 'main.default.stage'), true);
  assert.ok(engine.volumeRoot('main', 'default', 'stage'));
  assert.deepEqual((await x("COPY INTO events FROM '/Volumes/main/default/stage/b1/' FILEFORMAT = PARQUET")).rows, [[0n, 0n, 0n]]);
});

test('an aborted signal cancels the statement', async () => {
  const ac = new AbortController();
  const p = x('SELECT count(*) FROM range(100000000) a, range(100) b', { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  assert.equal(await errClass(p), 'CANCELLED');
  assert.deepEqual(await rows('SELECT 1'), [[1]]);
});
