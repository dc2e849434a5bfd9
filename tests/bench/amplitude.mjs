// What the staging and export benchmarks share: Amplitude-shaped event
// rows (the 37 columns of the amplitude_events model, each with the SQL
// that generates its value from the row number n), and a timer for whole
// processes.
import { spawnSync } from 'node:child_process';

// [name, Databricks type, value from n] for each column of the model.
export const COLUMNS = [
  ['amplitude_attribution_ids', 'VARIANT', `'["a' || (n % 97) || '"]'`],
  ['amplitude_id', 'BIGINT', '2234540891 + n % 50000'],
  ['app', 'BIGINT', '123456'],
  ['city', 'STRING', `CASE n % 3 WHEN 0 THEN 'San Francisco' WHEN 1 THEN 'Berlin' ELSE 'Tokyo' END`],
  ['client_event_time', 'TIMESTAMP', `strftime('%Y-%m-%d %H:%M:%f', 1704067200 + n, 'unixepoch')`],
  ['client_upload_time', 'TIMESTAMP', `strftime('%Y-%m-%d %H:%M:%f', 1704067205 + n, 'unixepoch')`],
  ['country', 'STRING', `'United States'`],
  ['data', 'VARIANT', `'{"first_event":' || (CASE WHEN n % 50 = 0 THEN 'true' ELSE 'false' END) || '}'`],
  ['device_carrier', 'STRING', `CASE n % 4 WHEN 0 THEN 'Verizon' WHEN 1 THEN 'AT&T' WHEN 2 THEN 'T-Mobile' ELSE NULL END`],
  ['device_family', 'STRING', `'Apple iPhone'`],
  ['device_id', 'STRING', `'device-' || (n % 100000)`],
  ['device_type', 'STRING', `'Apple iPhone ' || (10 + n % 6)`],
  ['dma', 'STRING', `'San Francisco-Oakland-San Jose, CA'`],
  ['event_id', 'BIGINT', 'n'],
  ['event_properties', 'VARIANT', `'{"plan":"pro","step":' || (n % 7) || ',"amount":' || (n % 1000) / 10.0 || '}'`],
  ['event_time', 'TIMESTAMP', `strftime('%Y-%m-%d %H:%M:%f', 1704067200 + n, 'unixepoch')`],
  ['event_type', 'STRING', `'event_' || (n % 40)`],
  ['group_properties', 'VARIANT', `'{}'`],
  ['groups', 'VARIANT', `'{"company":"c' || (n % 300) || '"}'`],
  ['ip_address', 'STRING', `'10.' || (n % 256) || '.' || (n / 256 % 256) || '.' || (n % 7)`],
  ['language', 'STRING', `CASE n % 5 WHEN 0 THEN 'German' ELSE 'English' END`],
  ['library', 'STRING', `'amplitude-ios/8.17.1'`],
  ['location_lat', 'DOUBLE', '37.7749 + (n % 100) / 1000.0'],
  ['location_lng', 'DOUBLE', '-122.4194 - (n % 100) / 1000.0'],
  ['os_name', 'STRING', `'ios'`],
  ['os_version', 'STRING', `'17.' || (n % 5)`],
  ['paying', 'STRING', `CASE WHEN n % 10 = 0 THEN 'true' END`],
  ['platform', 'STRING', `'iOS'`],
  ['processed_time', 'TIMESTAMP', `strftime('%Y-%m-%d %H:%M:%f', 1704067260 + n, 'unixepoch')`],
  ['region', 'STRING', `'California'`],
  ['sample_rate', 'BIGINT', 'NULL'],
  ['server_received_time', 'TIMESTAMP', `strftime('%Y-%m-%d %H:%M:%f', 1704067206 + n, 'unixepoch')`],
  ['server_upload_time', 'TIMESTAMP', `strftime('%Y-%m-%d %H:%M:%f', 1704067207 + n, 'unixepoch')`],
  ['session_id', 'BIGINT', '1396381378123 + n / 20'],
  ['start_version', 'STRING', `'1.0.' || (n % 3)`],
  ['user_id', 'STRING', `'user-' || (n % 20000)`],
  ['user_properties', 'VARIANT', `'{"cohort":"c' || (n % 12) || '","beta":' || (CASE WHEN n % 2 = 0 THEN 'true' ELSE 'false' END) || '}'`],
];
export const SELECT = `SELECT ${COLUMNS.map(([c, , e]) => `${e} AS ${c}`).join(',\n  ')}\nFROM (SELECT value AS n FROM generate_series(1, ROWS))`;

// Runs a command under /usr/bin/time; returns wall seconds, peak RSS (KiB)
// and stdout.
export function timed(cmd, cmdArgs, input) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...cmdArgs], {
    input, encoding: 'utf8', maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(0, 800)}`);
  const [wall, rss] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall, rss, stdout: r.stdout };
}

export const mib = (kib) => (kib / 1024).toFixed(1);

// Creates the table `events` of n generated rows in the database file db.
export function makeTable(db, n) {
  const ddl = `CREATE TABLE events (${COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')});`;
  const gen = spawnSync('sqlite3', [db], {
    input: `${ddl}\nINSERT INTO events ${SELECT.replace('ROWS', String(n))};\n`, encoding: 'utf8',
  });
  if (gen.status !== 0) throw new Error(`setup failed: ${gen.stderr}`);
}

// The SQLite floor: the sqlite3 shell reading every value of the rows of
// `events` in db (length() of each), timed whole.
export function sqliteScan(db) {
  const touch = COLUMNS.map(([c]) => `length(${c})`).join(' + ');
  return timed('sqlite3', [db], `SELECT sum(${touch}) FROM events;\n`);
}

// DuckDB (one thread, ZSTD) writing the rows of the Parquet file `from`
// to dir/duck.parquet, runs times, in a child process of its own so that
// its RSS is its own: its in-memory table is loaded first, untimed, and its
// peak RSS reset (/proc/self/clear_refs) before each write. Returns
// [{ wall, rss, bytes }].
export function duckdbWrite(from, dir, runs) {
  const script = `
    import { DuckDBInstance } from '@duckdb/node-api';
    import { writeFileSync, readFileSync, statSync } from 'node:fs';
    const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
    const c = await inst.connect();
    await c.run("CREATE TABLE events AS SELECT * FROM read_parquet('${from}')");
    const out = [];
    for (let i = 0; i < ${runs}; i++) {
      writeFileSync('/proc/self/clear_refs', '5');
      const t0 = process.hrtime.bigint();
      await c.run("COPY events TO '${dir}/duck.parquet' (FORMAT parquet, COMPRESSION zstd)");
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const rss = Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
      out.push({ wall, rss, bytes: statSync('${dir}/duck.parquet').size });
    }
    console.log(JSON.stringify(out));`;
  const d = spawnSync('node', ['--input-type=module', '-e', script], {
    encoding: 'utf8', cwd: new URL('../dbx-local/', import.meta.url).pathname,
  });
  if (d.status !== 0) throw new Error(`duckdb failed: ${d.stderr.slice(0, 800)}`);
  return JSON.parse(d.stdout.trim().split('\n').pop());
}
