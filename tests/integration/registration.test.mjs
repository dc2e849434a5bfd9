// What `.load` registers: exactly these functions and modules, no more.
// The lists grow with each feature; a change here is a change of the SQL
// surface and belongs in the README too.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { runShell, parseResultSets } from './harness.mjs';

const FUNCTIONS = ['dbx_version', 'dbx_exec', 'dbx_config', 'dbx_refresh'];
const MODULES = ['databricks', 'dbx_query', 'dbx_statements', 'dbx_catalogs', 'dbx_schemas', 'dbx_tables', 'dbx_volumes'];

const LIST = `SELECT DISTINCT name FROM pragma_function_list ORDER BY 1;
SELECT name FROM pragma_module_list ORDER BY 1;`;

async function surface(load) {
  const r = await runShell(LIST, { load });
  assert.equal(r.code, 0, r.stderr);
  const [fns, mods] = parseResultSets(r.stdout);
  return { fns: fns.map((x) => x.name), mods: mods.map((x) => x.name) };
}

test('registers exactly the documented functions and modules', async () => {
  const before = await surface(false);
  const after = await surface(true);
  const added = (a, b) => b.filter((x) => !a.includes(x)).sort();
  assert.deepEqual(added(before.fns, after.fns), [...FUNCTIONS].sort());
  assert.deepEqual(added(before.mods, after.mods), [...MODULES].sort());
});

test('dbx_version names the extension and the libraries it runs with', async () => {
  const r = await runShell('SELECT dbx_version() AS v, sqlite_version() AS s;');
  assert.equal(r.code, 0, r.stderr);
  const [[row]] = parseResultSets(r.stdout);
  assert.match(row.v, /^sqlite-databricks \d+\.\d+\.\d+ \(sqlite (\S+), libcurl [\d.]+, OpenSSL [\d.]+[^,]*, cJSON [\d.]+, zstd [\d.]+\)$/);
  assert.equal(row.v.match(/sqlite ([\d.]+),/)[1], row.s);
});

test('only the entry point is exported', async () => {
  const { execFileSync } = await import('node:child_process');
  const { EXT } = await import('./harness.mjs');
  const out = execFileSync('nm', ['-D', '--defined-only', `${EXT}.so`], { encoding: 'utf8' });
  const names = out.split('\n').map((l) => l.trim().split(/\s+/)).filter((p) => p.length === 3 && /[TDBR]/.test(p[1])).map((p) => p[2]);
  assert.deepEqual(names.filter((n) => !n.startsWith('_')), ['sqlite3_databricks_init']);
});
