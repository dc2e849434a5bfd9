// What `.load` registers: exactly these functions and modules, no more.
// The lists grow with each feature; a change here is a change of the SQL
// surface and belongs in the README too.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { runShell, parseResultSets } from './harness.mjs';

const FUNCTIONS = ['dbx_version', 'dbx_exec', 'dbx_config', 'dbx_refresh', 'dbx_volume_put', 'dbx_volume_get', 'dbx_volume_rm', 'dbx_volume_mkdir', 'dbx_parquet', 'dbx_parquet_row', 'dbx_export', 'dbx_sync', 'dbx_grants_sql', 'dbx_revoke_sql', 'dbx_federation_policy', 'dbx_jwks', 'dbx_keygen', 'dbx_grants_apply', 'dbx_warehouse_grant'];
const MODULES = ['databricks', 'dbx_query', 'dbx_statements', 'dbx_catalogs', 'dbx_schemas', 'dbx_tables', 'dbx_volumes', 'dbx_volume_ls', 'dbx_models', 'dbx_check'];

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

// SQLite's function flags, as pragma_function_list reports them.
const DETERMINISTIC = 0x800;
const DIRECTONLY = 0x80000;
const INNOCUOUS = 0x200000;

test('each function is registered with its arity and flags', async () => {
  const r = await runShell(`SELECT name, narg, flags FROM pragma_function_list
  WHERE name IN (${FUNCTIONS.map((f) => `'${f}'`).join(', ')}) ORDER BY 1, 2;`);
  assert.equal(r.code, 0, r.stderr);
  const [rows] = parseResultSets(r.stdout);
  // dbx_exec and dbx_config take any number of arguments so that a wrong
  // count gets their own usage line; functions that use the network are
  // DIRECTONLY (no view or trigger can call them); a pure one may be used
  // anywhere.
  assert.deepEqual(rows, [
    { name: 'dbx_config', narg: -1, flags: DIRECTONLY },
    { name: 'dbx_exec', narg: -1, flags: DIRECTONLY },
    { name: 'dbx_export', narg: -1, flags: DIRECTONLY },
    // text only: pure; the key functions read and write files
    { name: 'dbx_federation_policy', narg: 3, flags: DETERMINISTIC | INNOCUOUS },
    { name: 'dbx_federation_policy', narg: 4, flags: DETERMINISTIC | INNOCUOUS },
    { name: 'dbx_grants_apply', narg: -1, flags: DIRECTONLY },
    // with a role: pure; with a databricks table: reads its definition
    // and the connection's settings
    { name: 'dbx_grants_sql', narg: 2, flags: DIRECTONLY },
    { name: 'dbx_grants_sql', narg: 3, flags: DETERMINISTIC | INNOCUOUS },
    { name: 'dbx_grants_sql', narg: 4, flags: DETERMINISTIC | INNOCUOUS },
    { name: 'dbx_jwks', narg: -1, flags: DIRECTONLY },
    { name: 'dbx_keygen', narg: -1, flags: DIRECTONLY },
    { name: 'dbx_parquet', narg: -1, flags: DIRECTONLY }, // it writes files
    { name: 'dbx_parquet_row', narg: -1, flags: DIRECTONLY }, // dbx_parquet()'s own
    { name: 'dbx_refresh', narg: 1, flags: DIRECTONLY },
    { name: 'dbx_revoke_sql', narg: 2, flags: DIRECTONLY },
    { name: 'dbx_revoke_sql', narg: 3, flags: DETERMINISTIC | INNOCUOUS },
    { name: 'dbx_revoke_sql', narg: 4, flags: DETERMINISTIC | INNOCUOUS },
    { name: 'dbx_sync', narg: -1, flags: DIRECTONLY },
    { name: 'dbx_version', narg: 0, flags: DETERMINISTIC | INNOCUOUS },
    { name: 'dbx_volume_get', narg: -1, flags: DIRECTONLY },
    { name: 'dbx_volume_mkdir', narg: -1, flags: DIRECTONLY },
    { name: 'dbx_volume_put', narg: -1, flags: DIRECTONLY },
    { name: 'dbx_volume_rm', narg: -1, flags: DIRECTONLY },
    { name: 'dbx_warehouse_grant', narg: -1, flags: DIRECTONLY },
  ]);
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
