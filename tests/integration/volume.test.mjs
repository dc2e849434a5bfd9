// The volume functions against dbx-local's Files API: dbx_volume_put,
// dbx_volume_get, dbx_volume_rm, dbx_volume_mkdir and dbx_volume_ls. A
// 200 MB file goes up and comes back with the shell's peak memory bounded;
// Range reads; listings of several pages; parallel uploads; every fault of
// the admin API on PUT (429 with Retry-After, 503, a connection dropped
// mid-body) ends in a complete file or a clean error; a missing volume and
// a missing privilege say what to run; paths are refused before any
// request; no token appears in any error. The remote side is checked in
// dbx-local's data folder, byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile, open, readdir } from 'node:fs/promises';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { workspace, EXT } from './harness.mjs';

const HOST_SRC = fileURLToPath(new URL('./interrupt_host.c', import.meta.url));

const SP = '6f1c2a9e-1b7d-4c3e-9a55-0d2f4e6a8b10';
const SP_SECRET = 'dose-volume-secret-1234';
const CONFIG = {
  users: [
    { user_name: 'admin@dbx.local', admin: true, tokens: ['dapi-local-admin'] },
    { user_name: 'reader@dbx.local', tokens: ['dapi-reader'] },
    { user_name: 'nobody@dbx.local', tokens: ['dapi-nobody'] },
  ],
  service_principals: [{ application_id: SP, id: 2001, display_name: 'uploader', secrets: [SP_SECRET] }],
  grants: [
    { principal: SP, securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG', 'USE SCHEMA', 'READ VOLUME', 'WRITE VOLUME'] },
    { principal: 'reader@dbx.local', securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG', 'USE SCHEMA', 'READ VOLUME'] },
    { principal: 'nobody@dbx.local', securable_type: 'CATALOG', full_name: 'main', privileges: ['USE CATALOG', 'USE SCHEMA'] },
  ],
};
const TOKENS = ['dapi-local-admin', 'dapi-reader', 'dapi-nobody', SP_SECRET];
const VOL = '/Volumes/main/default/files';
const BIG_MB = 200;
const MAX_RSS_KB = 64 * 1024;

let ws;
let tmp;
before(async () => {
  ws = await workspace({ config: CONFIG });
  const r = await ws.api('POST', '/api/2.1/unity-catalog/volumes', { catalog_name: 'main', schema_name: 'default', name: 'files', volume_type: 'MANAGED' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dbx-volume-'));
});
after(async () => {
  await ws?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// A SQL string literal.
const lit = (s) => `'${s.replace(/'/g, "''")}'`;
// Where dbx-local keeps the bytes of a volume path.
const remoteDisk = (p) => path.join(ws.server.dataDir, 'volumes', ...p.split('/').slice(2));
const sha = async (file) => {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk);
  return h.digest('hex');
};
const addFault = async (spec) => {
  const r = await ws.api('POST', '/admin/faults', spec);
  assert.equal(r.status, 200, JSON.stringify(r.body));
};
const clearFaults = () => ws.api('DELETE', '/admin/faults');
const requests = async () => (await ws.api('GET', '/admin/requests')).body.requests;
const clearRequests = () => ws.api('DELETE', '/admin/requests');
// An error message, checked for tokens on the way.
const fail = async (sql, opts) => {
  const msg = await ws.fail(sql, opts);
  for (const t of TOKENS) assert.ok(!msg.includes(t), `token in error: ${msg}`);
  return msg;
};
const put = (local, remote, opts) => `SELECT dbx_volume_put(${lit(local)}, ${lit(remote)}${opts ? `, ${lit(JSON.stringify(opts))}` : ''}) AS r;`;
const get = (remote, local, opts) => `SELECT dbx_volume_get(${lit(remote)}, ${lit(local)}${opts ? `, ${lit(JSON.stringify(opts))}` : ''}) AS r;`;

// Writes n MiB of seeded pseudo-random bytes (xorshift32, each MiB stamped
// with its number so no two are alike).
async function bigFile(file, nMiB) {
  const block = Buffer.alloc(1 << 20);
  let x = 0x9e3779b9;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    block.writeUInt32LE(x, i);
  }
  const fh = await open(file, 'w');
  for (let m = 0; m < nMiB; m++) {
    block.writeUInt32LE(m, 0);
    await fh.write(block);
  }
  await fh.close();
}

test('a 200 MB file goes up and comes back streamed: same bytes, peak memory bounded', async () => {
  const src = path.join(tmp, 'big.bin');
  const back = path.join(tmp, 'big.back');
  await bigFile(src, BIG_MB);
  const asan = !!process.env.DBX_SQLITE_PRELOAD;
  const r = await ws.run(`${put(src, `${VOL}/big/big.bin`)}
${get(`${VOL}/big/big.bin`, back)}
.system grep VmHWM /proc/$PPID/status`);
  assert.equal(r.code, 0, r.stderr);
  const reports = [...r.stdout.matchAll(/"r":"(\{.*?\})"/g)].map((m) => JSON.parse(m[1].replace(/\\"/g, '"')));
  assert.equal(reports.length, 2, r.stdout);
  assert.equal(reports[0].files, 1);
  assert.equal(reports[0].bytes, BIG_MB << 20);
  assert.equal(reports[1].bytes, BIG_MB << 20);
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(r.stdout)?.[1]);
  assert.ok(hwm > 0, r.stdout);
  if (!asan) assert.ok(hwm < MAX_RSS_KB, `peak RSS ${hwm} kB`);
  const want = await sha(src);
  assert.equal(await sha(remoteDisk(`${VOL}/big/big.bin`)), want, 'the bytes in the volume');
  assert.equal(await sha(back), want, 'the bytes downloaded');
  // no temporary file left beside the download
  assert.deepEqual((await readdir(tmp)).filter((n) => n.startsWith('big.back.')), []);
  await rm(src);
  await rm(back);
  await rm(remoteDisk(`${VOL}/big/big.bin`));
});

test('names with spaces, ?, #, % and UTF-8 travel encoded and come back whole', async () => {
  const src = path.join(tmp, 'odd.txt');
  await writeFile(src, 'odd bytes \0\xff');
  const remote = `${VOL}/dir ü/a b?c#d%e.txt`;
  const rows = await ws.query(`${put(src, remote)}
SELECT name, file_size, is_directory FROM dbx_volume_ls(${lit(`${VOL}/dir ü`)});`);
  assert.deepEqual(rows, [{ name: 'a b?c#d%e.txt', file_size: (await stat(src)).size, is_directory: 0 }]);
  assert.deepEqual(await readFile(remoteDisk(remote)), await readFile(src));
  const log = (await requests()).filter((q) => q.method === 'PUT' && q.path.startsWith('/api/2.0/fs/files'));
  assert.ok(log.some((q) => q.path.endsWith('/dir%20%C3%BC/a%20b%3Fc%23d%25e.txt')), JSON.stringify(log.map((q) => q.path)));
});

test('Range reads: offset and length, offset to the end, past the end', async () => {
  const src = path.join(tmp, 'digits.txt');
  await writeFile(src, '0123456789');
  await ws.query(put(src, `${VOL}/digits.txt`));
  const out = path.join(tmp, 'part.txt');
  let rows = await ws.query(get(`${VOL}/digits.txt`, out, { offset: 3, length: 4 }));
  assert.equal(JSON.parse(rows[0].r).bytes, 4);
  assert.equal(await readFile(out, 'utf8'), '3456');
  rows = await ws.query(get(`${VOL}/digits.txt`, out, { offset: 7 }));
  assert.equal(await readFile(out, 'utf8'), '789');
  rows = await ws.query(get(`${VOL}/digits.txt`, out, { offset: 8, length: 100 }));
  assert.equal(await readFile(out, 'utf8'), '89');
  // into a directory: under the file's own name
  rows = await ws.query(get(`${VOL}/digits.txt`, tmp));
  assert.equal(await readFile(path.join(tmp, 'digits.txt'), 'utf8'), '0123456789');
  const msg = await fail(get(`${VOL}/digits.txt`, out, { offset: 10 }));
  assert.match(msg, /download of \/Volumes\/main\/default\/files\/digits\.txt.*HTTP 416/);
  assert.equal(await readFile(out, 'utf8'), '89', 'a failed download leaves the old file');
  assert.match(await fail(get(`${VOL}/digits.txt`, out, { offset: -1 })), /offset must be a whole number from 0/);
});

test('a listing of several pages is read to the end', async () => {
  const dir = path.join(tmp, 'many');
  await mkdir(dir);
  for (let i = 0; i < 7; i++) await writeFile(path.join(dir, `f${i}.txt`), 'x'.repeat(i));
  await ws.query(put(dir, `${VOL}/many`));
  await clearRequests();
  const rows = await ws.query(`SELECT path, name, file_size, typeof(last_modified) AS t FROM dbx_volume_ls(${lit(`${VOL}/many`)}, '{"page_size": 3}') ORDER BY name;`);
  assert.deepEqual(rows.map((x) => [x.name, x.file_size]), [0, 1, 2, 3, 4, 5, 6].map((i) => [`f${i}.txt`, i]));
  assert.ok(rows.every((x) => x.path === `${VOL}/many/${x.name}` && x.t === 'text'));
  const lists = (await requests()).filter((q) => q.method === 'GET' && q.path === '/api/2.0/fs/directories/Volumes/main/default/files/many');
  assert.equal(lists.length, 3, 'three pages of three');
  // the volume root lists directories
  const root = await ws.query(`SELECT name, is_directory, file_size FROM dbx_volume_ls(${lit(VOL + '/')}) WHERE name = 'many';`);
  assert.deepEqual(root, [{ name: 'many', is_directory: 1, file_size: null }]);
});

test('a directory uploads its files in parallel; each arrives whole', async () => {
  const dir = path.join(tmp, 'par');
  await mkdir(dir);
  await mkdir(path.join(dir, 'sub')); // not uploaded: files only
  const N = 4;
  for (let i = 0; i < N; i++) await writeFile(path.join(dir, `p${i}.bin`), Buffer.alloc(100_000 + i, i + 1));
  // every PUT waits 1 s: four in a row would take 4 s
  await addFault({ method: 'PUT', path: '/files/par/', delay_ms: 1000, count: N });
  const t0 = Date.now();
  const rows = await ws.query(put(dir, `${VOL}/par/`, { parallel: N }));
  const took = Date.now() - t0;
  const rep = JSON.parse(rows[0].r);
  assert.equal(rep.files, N);
  assert.equal(rep.bytes, N * 100_000 + (N * (N - 1)) / 2);
  assert.ok(took < 3500, `four uploads at once took ${took} ms`);
  for (let i = 0; i < N; i++) {
    assert.deepEqual(await readFile(remoteDisk(`${VOL}/par/p${i}.bin`)), Buffer.alloc(100_000 + i, i + 1));
  }
  await assert.rejects(stat(remoteDisk(`${VOL}/par/sub`)));
  await clearFaults();
});

test('parallel uploads under OAuth fetch one token, shared by every worker', async () => {
  const dir = path.join(tmp, 'oauth');
  await mkdir(dir);
  for (let i = 0; i < 6; i++) await writeFile(path.join(dir, `o${i}.txt`), `file ${i}`);
  await clearRequests();
  const env = { DATABRICKS_TOKEN: '', DATABRICKS_CLIENT_ID: SP, DATABRICKS_CLIENT_SECRET: SP_SECRET };
  const rows = await ws.query(put(dir, `${VOL}/oauth`, { parallel: 4 }), { env });
  assert.equal(JSON.parse(rows[0].r).files, 6);
  const log = await requests();
  assert.equal(log.filter((q) => q.path === '/oidc/v1/token').length, 1, 'one token request');
  const puts = log.filter((q) => q.method === 'PUT' && q.path.includes('/files/oauth/'));
  assert.equal(puts.length, 6);
  assert.ok(puts.every((q) => q.status === 204 && /auth\/oauth-m2m$/.test(q.user_agent)));
  for (let i = 0; i < 6; i++) assert.equal(await readFile(remoteDisk(`${VOL}/oauth/o${i}.txt`), 'utf8'), `file ${i}`);
});

test('an interrupt stops every upload in flight and returns at once', async () => {
  const dir = path.join(tmp, 'intr');
  await mkdir(dir);
  for (let i = 0; i < 4; i++) await writeFile(path.join(dir, `i${i}.bin`), Buffer.alloc(1000, i));
  const hostDir = await mkdtemp(path.join(os.tmpdir(), 'dbx-host-'));
  try {
    const host = path.join(hostDir, 'host');
    const cc = spawnSync(process.env.CC || 'cc', ['-o', host, HOST_SRC, '-lsqlite3', '-lpthread'], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    // every PUT is held back 8 s: the interrupt comes while all four wait
    await addFault({ method: 'PUT', path: '/files/intr/', delay_ms: 8000, count: 4 });
    const env = { ...process.env, ...ws.env, HOME: ws.home };
    if (process.env.DBX_SQLITE_PRELOAD) env.LD_PRELOAD = process.env.DBX_SQLITE_PRELOAD;
    const proc = spawn(host, [EXT, put(dir, `${VOL}/intr/`, { parallel: 4 }), '1000', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const code = await new Promise((resolve) => proc.on('close', resolve));
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout.trim());
    assert.equal(out.rc, 9 /* SQLITE_INTERRUPT */, stdout);
    assert.match(out.error, /interrupted/);
    assert.ok(out.after_interrupt_ms >= 0 && out.after_interrupt_ms < 3000, `control came back after ${out.after_interrupt_ms} ms`);
  } finally {
    await clearFaults();
    await rm(hostDir, { recursive: true, force: true });
  }
});

test('every fault on PUT ends in a complete file, or a clean error and no file', async () => {
  const src = path.join(tmp, 'fault.bin');
  const body = Buffer.alloc(3 << 20);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) & 255;
  await writeFile(src, body);
  const cases = [
    { name: '429 + Retry-After', spec: { status: 429, retry_after: 1, count: 2 } },
    { name: '503', spec: { status: 503, count: 2 } },
    { name: 'dropped mid-body', spec: { kind: 'drop_request', after_bytes: 1 << 20, count: 2 } },
  ];
  for (const c of cases) {
    const remote = `${VOL}/faults/${c.name.replace(/\W+/g, '_')}.bin`;
    await clearRequests();
    await addFault({ method: 'PUT', path: '/files/faults/', ...c.spec });
    const rows = await ws.query(put(src, remote));
    assert.equal(JSON.parse(rows[0].r).bytes, body.length, c.name);
    assert.ok((await readFile(remoteDisk(remote))).equals(body), `${c.name}: the file is complete`);
    const puts = (await requests()).filter((q) => q.method === 'PUT' && q.path.includes('/faults/'));
    assert.equal(puts.length, 3, `${c.name}: two faulted attempts and one that worked`);
  }
  // faults that outlast the retry budget: a clean error and nothing under the name
  for (const c of cases) {
    const remote = `${VOL}/faults/never_${c.name.replace(/\W+/g, '_')}.bin`;
    await addFault({ method: 'PUT', path: '/files/faults/never', ...c.spec, count: 50 });
    const msg = await fail(put(src, remote, { retry_timeout_seconds: 2 }));
    assert.match(msg, /^Runtime error near line \d+: databricks: PUT \/api\/2\.0\/fs\/files\/Volumes\/main\/default\/files\/faults\/never_/);
    assert.ok(!msg.includes('\n'), msg);
    await assert.rejects(stat(remoteDisk(remote)), `${c.name}: no file`);
    await clearFaults();
  }
  const left = (await readdir(remoteDisk(`${VOL}/faults`))).filter((n) => n.startsWith('.'));
  assert.deepEqual(left, [], 'no partial file left');
});

test('a missing volume says how to create it; a missing privilege names the GRANT', async () => {
  const src = path.join(tmp, 'small.txt');
  await writeFile(src, 'small');
  let msg = await fail(put(src, '/Volumes/main/default/nope/x.txt'));
  assert.match(msg, /volume `main`\.`default`\.`nope` does not exist: create it with CREATE VOLUME IF NOT EXISTS `main`\.`default`\.`nope`/);
  msg = await fail(`SELECT * FROM dbx_volume_ls('/Volumes/main/default/nope');`);
  assert.match(msg, /CREATE VOLUME IF NOT EXISTS `main`\.`default`\.`nope`/);
  msg = await fail(get(`${VOL}/no-such-file`, path.join(tmp, 'x')));
  assert.match(msg, /no such file or directory in volume `main`\.`default`\.`files`/);

  const reader = { env: { DATABRICKS_TOKEN: 'dapi-reader' } };
  msg = await fail(put(src, `${VOL}/denied.txt`), reader);
  assert.match(msg, /GRANT WRITE VOLUME ON VOLUME `main`\.`default`\.`files` TO <principal>/);
  await assert.rejects(stat(remoteDisk(`${VOL}/denied.txt`)));
  const rows = await ws.query(get(`${VOL}/digits.txt`, path.join(tmp, 'r.txt')), reader);
  assert.equal(JSON.parse(rows[0].r).bytes, 10, 'READ VOLUME is enough to read');
  msg = await fail(get(`${VOL}/digits.txt`, path.join(tmp, 'n.txt')), { env: { DATABRICKS_TOKEN: 'dapi-nobody' } });
  assert.match(msg, /GRANT READ VOLUME ON VOLUME `main`\.`default`\.`files`/);
  msg = await fail(`SELECT dbx_volume_rm(${lit(`${VOL}/digits.txt`)});`, reader);
  assert.match(msg, /GRANT WRITE VOLUME/);
});

test('paths are refused before any request', async () => {
  const src = path.join(tmp, 'small.txt');
  await writeFile(src, 'small');
  await clearRequests();
  const bad = [`${VOL}/../other/x`, `${VOL}//x`, `${VOL}/./x`, '/tmp/x', '/Volumes/main/default', `${VOL}/a%2e%2e/..`];
  for (const p of bad) {
    const msg = await fail(put(src, p));
    assert.match(msg, /volume path|not in a volume|names no file/, msg);
    await fail(get(p, path.join(tmp, 'x')));
    await fail(`SELECT dbx_volume_rm(${lit(p)});`);
  }
  await fail(`SELECT * FROM dbx_volume_ls(${lit(`${VOL}/a/..`)});`);
  await fail(`SELECT dbx_volume_mkdir(${lit(`${VOL}/a/../b`)});`);
  const sent = (await requests()).filter((q) => q.path.startsWith('/api/2.0/fs/'));
  assert.deepEqual(sent, [], 'nothing reached the Files API');
});

test('mkdir, rm of a file, of an empty directory, and recursive', async () => {
  const src = path.join(tmp, 'small.txt');
  await writeFile(src, 'small');
  await ws.query(`SELECT dbx_volume_mkdir(${lit(`${VOL}/tree/a/b`)});`);
  assert.ok((await stat(remoteDisk(`${VOL}/tree/a/b`))).isDirectory());
  await ws.query(`${put(src, `${VOL}/tree/a/f.txt`)} ${put(src, `${VOL}/tree/a/b/g.txt`)}`);
  let msg = await fail(`SELECT dbx_volume_rm(${lit(`${VOL}/tree/`)});`);
  assert.match(msg, /not empty: pass \{"recursive": true\}/);
  await ws.query(`SELECT dbx_volume_rm(${lit(`${VOL}/tree/a/f.txt`)});`);
  await assert.rejects(stat(remoteDisk(`${VOL}/tree/a/f.txt`)));
  const rows = await ws.query(`SELECT dbx_volume_rm(${lit(`${VOL}/tree`)}, '{"recursive": true}') AS r;`);
  assert.equal(rows[0].r, 1);
  await assert.rejects(stat(remoteDisk(`${VOL}/tree`)));
  await ws.query(`SELECT dbx_volume_mkdir(${lit(`${VOL}/empty`)}); SELECT dbx_volume_rm(${lit(`${VOL}/empty`)});`);
  await assert.rejects(stat(remoteDisk(`${VOL}/empty`)));
  msg = await fail(`SELECT dbx_volume_rm(${lit(`${VOL}/gone.txt`)});`);
  assert.match(msg, /no such file or directory/);
});

test('options are checked; overwrite false keeps an existing file', async () => {
  const src = path.join(tmp, 'small.txt');
  await writeFile(src, 'small');
  await ws.query(put(src, `${VOL}/keep.txt`));
  await writeFile(src, 'other');
  const msg = await fail(put(src, `${VOL}/keep.txt`, { overwrite: false }));
  assert.match(msg, /the file exists .*pass overwrite true/);
  assert.equal(await readFile(remoteDisk(`${VOL}/keep.txt`), 'utf8'), 'small');
  assert.match(await fail(put(src, `${VOL}/k`, { parallel: 0 })), /parallel must be a whole number from 1 to 64/);
  assert.match(await fail(put(src, `${VOL}/k`, { recursive: true })), /dbx_volume_put does not take option recursive/);
  assert.match(await fail(put(src, `${VOL}/k`, { overwrite: 'yes' })), /overwrite must be true or false/);
  assert.match(await fail(put(src, `${VOL}/k`, { bogus: 1 })), /bogus/);
  assert.match(await fail(`SELECT dbx_volume_put(${lit(src)});`), /usage: dbx_volume_put\(local_path, volume_path/);
  assert.match(await fail(put(path.join(tmp, 'missing'), `${VOL}/k`)), /cannot read .*missing/);
});

test('the volume functions cannot run from a view or a trigger (DIRECTONLY)', async () => {
  const msg = await fail(`CREATE VIEW v AS SELECT dbx_volume_mkdir('${VOL}/x'); SELECT * FROM v;`);
  assert.match(msg, /unsafe use of dbx_volume_mkdir/);
  const msg2 = await fail(`CREATE VIEW w AS SELECT * FROM dbx_volume_ls('${VOL}'); SELECT * FROM w;`);
  assert.match(msg2, /unsafe use of virtual table "dbx_volume_ls"/);
});
