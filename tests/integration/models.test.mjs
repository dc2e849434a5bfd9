// The models of sql/models/: dbx_models lists them, and each creates in
// dbx-local (through the CREATE TABLE builder and dbx_exec) a table whose
// every column name and type is the one the integrations it replaces
// document. The expected lists are written out here by hand.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { workspace, runShell, parseResultSets, EXT } from './harness.mjs';

const SQLTEXT = path.join(path.dirname(EXT), 'unit', 'sqltext');

// Amplitude's Delta event table, in the order of its schema table.
const AMPLITUDE_EVENTS = [
  ['amplitude_attribution_ids', 'variant'], ['amplitude_id', 'bigint'], ['app', 'bigint'], ['city', 'string'],
  ['client_event_time', 'timestamp'], ['client_upload_time', 'timestamp'], ['country', 'string'], ['data', 'variant'],
  ['device_carrier', 'string'], ['device_family', 'string'], ['device_id', 'string'], ['device_type', 'string'],
  ['dma', 'string'], ['event_id', 'bigint'], ['event_properties', 'variant'], ['event_time', 'timestamp'],
  ['event_type', 'string'], ['group_properties', 'variant'], ['groups', 'variant'], ['ip_address', 'string'],
  ['language', 'string'], ['library', 'string'], ['location_lat', 'double'], ['location_lng', 'double'],
  ['os_name', 'string'], ['os_version', 'string'], ['paying', 'string'], ['platform', 'string'],
  ['processed_time', 'timestamp'], ['region', 'string'], ['sample_rate', 'bigint'], ['server_received_time', 'timestamp'],
  ['server_upload_time', 'timestamp'], ['session_id', 'bigint'], ['start_version', 'string'], ['user_id', 'string'],
  ['user_properties', 'variant'],
];

// PostHog's events model (JSON as VARIANT, the default).
const POSTHOG_EVENTS = [
  ['uuid', 'string'], ['event', 'string'], ['properties', 'variant'], ['distinct_id', 'string'],
  ['team_id', 'bigint'], ['timestamp', 'timestamp'], ['databricks_ingested_timestamp', 'timestamp'],
];

// PostHog's persons model.
const POSTHOG_PERSONS = [
  ['team_id', 'bigint'], ['distinct_id', 'string'], ['person_id', 'string'], ['properties', 'variant'],
  ['person_version', 'bigint'], ['person_distinct_id_version', 'bigint'], ['created_at', 'timestamp'],
];

let ws;
before(async () => {
  assert.ok(existsSync(SQLTEXT), `${SQLTEXT} is missing: build it with make unit`);
  ws = await workspace();
});
after(async () => { await ws?.stop(); });

test('dbx_models lists the three models with their keys, versions and ingestion column', async () => {
  // no network: no workspace settings at all
  const r = await runShell('SELECT name, merge_keys, version_columns, ingested_at FROM dbx_models ORDER BY name;');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parseResultSets(r.stdout)[0], [
    { name: 'amplitude_events', merge_keys: '', version_columns: '', ingested_at: '' },
    { name: 'posthog_events', merge_keys: '', version_columns: '', ingested_at: 'databricks_ingested_timestamp' },
    { name: 'posthog_persons', merge_keys: 'team_id, distinct_id', version_columns: 'person_version, person_distinct_id_version', ingested_at: '' },
  ]);
  const d = await ws.query("SELECT description FROM dbx_models WHERE name = 'amplitude_events';");
  assert.match(d[0].description, /Amplitude/);
});

test('dbx_models is innocuous: a view in a database file may use it with trusted_schema off', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dbx-models-'));
  try {
    const db = path.join(dir, 'v.db');
    const r = await runShell(`PRAGMA trusted_schema = OFF;
CREATE VIEW m AS SELECT count(*) AS n FROM dbx_models;
CREATE VIEW s AS SELECT count(*) AS n FROM dbx_statements;
SELECT n FROM m;`, { db });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parseResultSets(r.stdout)[0], [{ n: 3 }]);
    // a module not marked innocuous is refused there
    const s = await runShell('PRAGMA trusted_schema = OFF;\nSELECT n FROM s;', { db });
    assert.notEqual(s.code, 0);
    assert.match(s.stderr, /unsafe use of virtual table "dbx_statements"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('each model creates exactly the documented columns and types', async () => {
  const models = await ws.query('SELECT name, columns FROM dbx_models ORDER BY name;');
  const want = { amplitude_events: AMPLITUDE_EVENTS, posthog_events: POSTHOG_EVENTS, posthog_persons: POSTHOG_PERSONS };
  assert.deepEqual(models.map((m) => m.name), Object.keys(want));
  const cases = models.map((m) => ({ op: 'create', table: `main.default.${m.name}`, columns_text: m.columns, cdf: true }));
  const built = JSON.parse(execFileSync(SQLTEXT, { input: JSON.stringify(cases) }).toString());
  for (const [i, m] of models.entries()) {
    assert.ok(built[i].sql, built[i].error);
    const rows = await ws.query(`SELECT json_extract(dbx_exec('${built[i].sql.replaceAll("'", "''")}'), '$.state') AS s;`);
    assert.equal(rows[0].s, 'SUCCEEDED');
    const r = await ws.sql('SELECT column_name, full_data_type FROM system.information_schema.columns ' +
      "WHERE table_catalog = 'main' AND table_schema = 'default' AND table_name = :t ORDER BY ordinal_position",
    [{ name: 't', value: m.name }]);
    assert.deepEqual(r.result.data_array, want[m.name], m.name);
  }
  assert.equal(AMPLITUDE_EVENTS.length, 37);
});
