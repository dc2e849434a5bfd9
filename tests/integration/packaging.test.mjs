// Packaging: `make install` puts a loadable extension where the README
// says, and the README's recipe for linking the extension into an
// application builds and runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runShell } from './harness.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD = process.env.BUILD ?? 'build';

test('make install copies the extension and the header; .load takes the installed path', async () => {
  const dest = await mkdtemp(path.join(os.tmpdir(), 'dbx-install-'));
  try {
    const r = spawnSync('make', ['--no-print-directory', '-s', 'install', `BUILD=${BUILD}`, `DESTDIR=${dest}`, 'PREFIX=/usr'],
      { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lib = path.join(dest, 'usr/lib/databricks');
    const header = await readFile(path.join(dest, 'usr/include/databricks.h'), 'utf8');
    assert.match(header, /sqlite3_databricks_init/);
    const out = await runShell(`.load ${lib}\nSELECT dbx_version() AS v;`, { load: false });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /sqlite-databricks 0\.\d+\.\d+/);
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
});

test("the README's static-linking recipe builds an app that has the functions", async () => {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const m = readme.match(/```sh\n((?:make [^\n]*\n)?cc -DSQLITE_CORE[^`]*?)\n```/);
  assert.ok(m, 'the README shows the recipe');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-static-'));
  try {
    const cmd = m[1].replace(/\\\n\s*/g, ' ').replace('-o app', `-o ${path.join(dir, 'app')}`);
    const cc = spawnSync('sh', ['-c', cmd], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const run = spawnSync(path.join(dir, 'app'), { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: '' } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^sqlite-databricks 0\.\d+\.\d+/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
