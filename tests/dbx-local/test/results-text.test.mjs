// The engine's rowText fast path (DuckDB renders each row's text) must give the same bytes as
// the general path (normalised values -> valueText in results.mjs) for every type it covers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEngine } from '../lib/engine.mjs';
import { ResultSet } from '../lib/results.mjs';

const SETTINGS = { chunk_rows: 7, chunk_bytes: 300, inline_limit_bytes: 1 << 20 };

// Both paths over one query, for JSON_ARRAY and CSV; returns the row count compared.
async function compare(engine, sql) {
  const plain = await engine.execute(sql);
  assert.ok(plain.rows, 'general path gives rows');
  for (const format of ['JSON_ARRAY', 'CSV']) {
    const fast = await engine.execute(sql, { rowText: format });
    assert.ok(fast.text, `fast path taken for ${format}`);
    assert.deepEqual(fast.columns, plain.columns);
    const spec = { format, disposition: 'EXTERNAL_LINKS', rowLimit: null, byteLimit: null };
    const a = ResultSet.create(plain, spec, SETTINGS);
    const b = ResultSet.create(fast, spec, SETTINGS);
    assert.deepEqual(b.manifest(), a.manifest());
    for (let i = 0; i < a.chunkCount; i++) {
      assert.equal((await b.chunkBytes(i)).toString(), (await a.chunkBytes(i)).toString(), `${format} chunk ${i}`);
    }
  }
  return plain.rows.length;
}

test('row texts rendered by DuckDB equal the general encoder, value by value', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dbx-text-'));
  const engine = await openEngine({ dataDir });
  try {
    // Scalars of each covered type, with NULLs, edge values and text needing JSON/CSV escapes.
    const ctrl = Array.from({ length: 32 }, (_, i) => `chr(${i})`).join(' || ');
    await compare(engine, `SELECT * FROM VALUES
      (true, CAST(-5 AS TINYINT), CAST(300 AS SMALLINT), 2147483647, CAST(-9223372036854775808 AS BIGINT),
       CAST(12.30 AS DECIMAL(10,2)), DATE'2024-01-31', TIMESTAMP'2024-01-31 10:11:12.5', 'a"b,c\\\\d/', parse_json('{"x":[1,2.5,"\\\\u0001"]}')),
      (false, NULL, NULL, NULL, NULL, CAST(-0.05 AS DECIMAL(10,2)), DATE'0001-01-01', TIMESTAMP'1969-12-31 23:59:59.999999', '', NULL),
      (NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL)
      AS t(b, ti, si, i, bi, d, dt, ts, s, v)`);
    await compare(engine, `SELECT ${ctrl} AS c, 'x\\\\u001Fy' AS lit, chr(127) || chr(8232) || '€\\r\\n' AS u, CAST(NULL AS STRING) AS n`);
    await compare(engine, `SELECT CAST('2024-01-31 10:11:12.123' AS TIMESTAMP_NTZ) AS ntz, CAST('0044-03-15 00:00:00' AS TIMESTAMP) AS old`);
    // Doubles across the whole range: Java-style text built in SQL vs floatText in JS.
    const n = await compare(engine, `SELECT x FROM (
      SELECT CAST(CASE WHEN id % 3 = 0 THEN (sqrt(id) - 30) * pow(10, (id % 40) - 20)
                       WHEN id % 3 = 1 THEN pow(10, (id % 60) - 30) ELSE round(sqrt(id) * 1e7) / pow(10, id % 12) END AS DOUBLE) AS x
      FROM range(3000) t(id)
      UNION ALL SELECT * FROM VALUES (CAST('nan' AS DOUBLE)), (CAST('inf' AS DOUBLE)), (CAST('-inf' AS DOUBLE)), (0.0), (-0.0),
        (5e-324), (1.7976931348623157e308), (0.001), (0.00099999), (1e7), (9999999.999), (1e-7), (123456789012345678), (NULL) AS v(x))`);
    assert.ok(n > 3000);
    // The wrapping SELECT keeps the query's ORDER BY.
    await compare(engine, 'SELECT id, id % 997 AS k FROM range(50000) t(id) ORDER BY id % 997, id DESC');
  } finally {
    await engine.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('columns without an SQL text form keep the general path', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dbx-text-'));
  const engine = await openEngine({ dataDir });
  try {
    const r = await engine.execute("SELECT 1 AS a, array(1, 2) AS arr, X'AB' AS bin", { rowText: 'JSON_ARRAY' });
    assert.equal((await engine.execute('SELECT CAST(0.1 AS FLOAT) AS f', { rowText: 'CSV' })).text, undefined);
    assert.equal(r.text, undefined);
    assert.deepEqual(r.rows[0].slice(0, 2), [1, '[1,2]']);
  } finally {
    await engine.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
