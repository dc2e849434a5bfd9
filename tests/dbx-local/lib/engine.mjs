// The dbx-local Engine: executes Databricks SQL on DuckDB and serves Unity Catalog metadata.
// One DuckDB connection; statements run one at a time through a promise queue, each inside a DuckDB
// transaction paired with a snapshot of the metadata Store, so a failed statement leaves nothing
// behind. Databricks catalog.schema.table maps to DuckDB schema "catalog.schema", table "table";
// each table's change feed lives in "__dbx_cdf"."<table_id>". The privilege rules it enforces are
// in grants.mjs, the REST JSON of catalog objects in uc.mjs, the text of result values in results.mjs.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { SqlError, ApiError, syntaxError, unsupported, quoteName } from './sql/errors.mjs';
import { tokenize } from './sql/tokenizer.mjs';
import { Translator, lit, qid } from './sql/translate.mjs';
import { parseTypeText, duckToDatabricks, columnInfo } from './sql/types.mjs';
import { Cursor } from './sql/cursor.mjs';
import { rewriteDivision, DIVISION_MACROS, SUBSCRIPT_MACROS, CAST_MACROS } from './sql/ansi.mjs';
import { Store, splitName } from './store.mjs';
import { VALID_PRIVILEGES, TYPE_LABEL, missingPrivilege, holds, canSee, mayInspect, tableAccess } from './grants.mjs';
import { sparkColumnNames } from './sql/names.mjs';
import { runDml } from './sql/dml.mjs';
import { runDdl } from './sql/ddl.mjs';
import { BUILTIN_MACROS } from './sql/builtins.mjs';
import { infoSchemaSql, isInfoSchemaName, SYSTEM_CATALOG } from './infoschema.mjs';
import { TEXT_MACROS, textSql, normaliser, intervalType } from './results.mjs';
import { catalogInfo, schemaInfo, tableInfo, volumeInfo } from './uc.mjs';

export { SqlError, ApiError };

const CDF_SCHEMA = '__dbx_cdf';

/** Opens (or creates) the engine state in dataDir; config is the workspace JSON config. */
export async function openEngine({ dataDir, config = {} }) {
  await mkdir(path.join(dataDir, 'volumes'), { recursive: true });
  const store = await Store.open(dataDir, config);
  const instance = await DuckDBInstance.create(path.join(dataDir, 'dbx.duckdb'));
  const conn = await instance.connect();
  const engine = new Engine(dataDir, store, instance, conn);
  // Grantees must exist, as in Unity Catalog; groups are not emulated.
  const users = config.users ?? [{ user_name: 'admin@dbx.local' }];
  engine.principalNames = new Set([...users.map((u) => u.user_name), ...(config.service_principals ?? []).map((sp) => sp.application_id)]);
  await engine.init();
  return engine;
}

export class Engine {
  constructor(dataDir, store, instance, conn) {
    this.dataDir = dataDir;
    this.store = store;
    this.instance = instance;
    this.conn = conn;
    this.queue = Promise.resolve();
    this.principalNames = new Set();
    this.closing = false; // set by close(): no further statement starts
  }

  /** Throws PRINCIPAL_DOES_NOT_EXIST (SQL, or REST when rest) unless name is a configured user or service principal. */
  requirePrincipal(name, rest = false) {
    if (this.principalNames.has(name)) return;
    const text = `Could not find principal with name ${name}.`;
    throw rest ? new ApiError(404, 'PRINCIPAL_DOES_NOT_EXIST', text) : new SqlError('PRINCIPAL_DOES_NOT_EXIST', '42704', text);
  }

  async init() {
    const setup = [
      "SET TimeZone = 'UTC'",
      "SET default_null_order = 'nulls_first_on_asc_last_on_desc'",
      `CREATE SCHEMA IF NOT EXISTS ${qid(CDF_SCHEMA)}`,
      'CREATE OR REPLACE TEMP MACRO dbx_parse_json(x) AS CAST(x AS JSON)',
      'CREATE OR REPLACE TEMP MACRO dbx_try_parse_json(x) AS TRY_CAST(x AS JSON)',
      // size() of NULL is -1 on Databricks; JSON makes one macro work for arrays and maps alike.
      "CREATE OR REPLACE TEMP MACRO dbx_size(x) AS CASE WHEN x IS NULL THEN -1 WHEN json_type(to_json(x)) = 'OBJECT' THEN CAST(len(json_keys(to_json(x))) AS INTEGER) ELSE CAST(json_array_length(to_json(x)) AS INTEGER) END",
      ...DIVISION_MACROS,
      ...SUBSCRIPT_MACROS,
      ...CAST_MACROS,
      ...BUILTIN_MACROS,
      ...TEXT_MACROS,
    ];
    for (const s of setup) await this.conn.run(s);
    // DuckDB's keywords: the Translator quotes such a word wherever it is used as a name.
    this.keywords = (await this.raw('SELECT upper(keyword_name) FROM duckdb_keywords()')).map((r) => r[0]);
    for (const full of Object.keys(this.store.state.schemas)) await this.conn.run(`CREATE SCHEMA IF NOT EXISTS ${qid(full)}`);
    await this.store.save();
  }

  /**
   * Stops the engine promptly: statements still queued are refused (CANCELLED), the running one is
   * interrupted, then DuckDB is closed, which releases the database file lock. Resolves true once
   * closed, or false when the running statement did not stop within graceMs (the caller then ends
   * the process, which releases the lock as well).
   */
  async close({ graceMs = 1000 } = {}) {
    this.closing = true;
    // An interrupt only reaches a DuckDB call in progress, and a statement makes several: repeat
    // it until the queue is idle.
    const interrupt = () => { try { this.conn.interrupt(); } catch { /* nothing running */ } };
    interrupt();
    const ticker = setInterval(interrupt, 25);
    let timer;
    const idle = await Promise.race([
      this.queue.then(() => true),
      new Promise((resolve) => { timer = setTimeout(() => resolve(false), graceMs); }),
    ]);
    clearInterval(ticker);
    clearTimeout(timer);
    if (!idle) return false;
    this.conn.closeSync();
    this.instance.closeSync();
    return true;
  }

  // ---------------------------------------------------------------- statement execution

  /**
   * Runs one Databricks SQL statement. Resolves to { columns, rows } (see the Engine interface);
   * rejects with SqlError. Calls are serialised; an aborted signal interrupts DuckDB.
   */
  execute(sql, opts = {}) {
    const run = this.queue.then(() => this.runOne(sql, opts));
    this.queue = run.catch(() => {});
    return run;
  }

  async runOne(sql, { principal, catalog, schema, parameters, signal, rowText } = {}) {
    if (signal?.aborted || this.closing) throw cancelled();
    const ctx = {
      principal: principal ?? { kind: 'user', name: 'admin@dbx.local', displayName: 'admin', admin: true },
      catalog: (catalog || 'main').toLowerCase(),
      schema: (schema || 'default').toLowerCase(),
      params: new Map((parameters ?? []).map((p) => [p.name, p])),
      engine: this,
      rowText,
    };
    const toks = rewriteDivision(tokenize(sql));
    const onAbort = () => { try { this.conn.interrupt(); } catch { /* nothing running */ } };
    signal?.addEventListener('abort', onAbort);
    const snap = this.store.snapshot();
    let inTx = false;
    try {
      await this.conn.run('BEGIN TRANSACTION');
      inTx = true;
      const result = await this.dispatch(toks, ctx);
      if (signal?.aborted) throw cancelled();
      await this.conn.run('COMMIT');
      inTx = false;
      await this.store.save();
      return result;
    } catch (e) {
      if (inTx) await this.conn.run('ROLLBACK').catch(() => {});
      this.store.restore(snap);
      if (signal?.aborted) throw cancelled();
      throw mapError(e);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await this.dropTemps();
    }
  }

  async dropTemps() {
    const r = await this.conn.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE '\\_\\_dbx%' ESCAPE '\\'");
    for (const [name] of r.getRows()) await this.conn.run(`DROP TABLE IF EXISTS temp.${qid(name)}`);
  }

  async dispatch(toks, ctx) {
    const c = new Cursor(toks);
    if (c.atEnd()) throw syntaxError(null);
    const w = c.peek().type === 'word' ? c.peek().upper : c.peek().value;
    if (['SELECT', 'WITH', 'VALUES', 'FROM', '(', 'TABLE'].includes(w)) return this.query(toks, ctx);
    const ddl = await runDdl(this, c, ctx);
    if (ddl) return ddl;
    const dml = await runDml(this, c, ctx);
    if (dml) return dml;
    throw syntaxError(c.peek().text);
  }

  /** A SELECT-like statement: translated and run, values normalised. */
  async query(toks, ctx) {
    let end = toks.length - 1;
    if (toks[end - 1]?.value === ';') end--;
    const read = [];
    const sql = this.translator(toks, { ...ctx, onTable: (full) => read.push(full) }).translate(0, end);
    const result = (ctx.rowText && await this.runTextQuery(sql, ctx.rowText)) || await this.runQuery(sql);
    const known = new Set(toks.filter((t) => t.type === 'word' || t.type === 'qident').map((t) => String(t.value).toLowerCase()));
    for (const full of read) for (const col of this.store.table(full)?.columns ?? []) known.add(col.name.toLowerCase());
    sparkColumnNames(result.columns.map((c) => c.name), known).forEach((name, i) => { result.columns[i].name = name; });
    return result;
  }

  /** Runs DuckDB SQL and converts the result to Databricks columns and values. */
  async runQuery(sql, typeOverrides = {}) {
    const r = await this.conn.runAndReadAll(sql);
    const types = r.columnTypes();
    const raw = r.getColumns();
    const columns = r.columnNames().map((name, i) => {
      const text = typeOverrides[name] ?? duckToDatabricks(types[i]);
      return columnInfo(name, text === 'INTERVAL' ? intervalType(raw[i]) : text);
    });
    // Column-wise read with one converter per column: the hot loop for big results.
    const convert = columns.map((c) => normaliser(c.type_text));
    const cols = raw.map((values, i) => values.map(convert[i]));
    const rows = new Array(r.currentRowCount);
    for (let k = 0; k < rows.length; k++) {
      const row = new Array(cols.length);
      for (let i = 0; i < cols.length; i++) row[i] = cols[i][k];
      rows[k] = row;
    }
    return { columns, rows };
  }

  /**
   * The rowText fast path of execute: for a query whose every column has an exact SQL text form
   * (textSql), DuckDB renders each row's JSON_ARRAY text (and for CSV its line) so JS receives one
   * string per row instead of converting every value. Resolves to { columns, rows: null, text:
   * { json: string[] } | { csv: string[], size: number[] } } (size = JSON text bytes), or null when
   * some column has no SQL text form (the caller then uses runQuery).
   */
  async runTextQuery(sql, format) {
    const prepared = await this.conn.prepare(sql);
    const n = prepared.columnCount;
    const names = [];
    const texts = [];
    const columns = [];
    for (let i = 0; i < n; i++) {
      const name = prepared.columnName(i);
      const text = textSql(`c${i}`, prepared.columnType(i));
      if (text === null) { prepared.destroySync(); return null; }
      names.push(`c${i}`);
      texts.push(text);
      columns.push(columnInfo(name, duckToDatabricks(prepared.columnType(i))));
    }
    prepared.destroySync();
    if (n === 0) return null;
    const json = `to_json([${texts.join(', ')}])`;
    const select = format === 'CSV'
      ? `concat_ws(',', ${texts.map((t) => `dbx_csv_field(${t})`).join(', ')}), strlen(${json})`
      : json;
    const r = await this.conn.runAndReadAll(`SELECT ${select} FROM (${sql}\n) AS dbx_q(${names.join(', ')})`);
    // No rows means no data chunks at all, so no column vectors either.
    const cols = r.currentRowCount > 0 ? r.getColumns() : [[], []];
    if (format === 'CSV') return { columns, rows: null, text: { csv: cols[0], size: cols[1].map(Number) } };
    // DuckDB's JSON writer escapes control characters as upper-case \u001F; JSON.stringify (the
    // reference form) writes lower-case hex. Walk the escapes in order so an escaped backslash
    // followed by "u00" text is left alone.
    const rows = cols[0];
    for (let k = 0; k < rows.length; k++) {
      if (rows[k].includes('\\u00')) rows[k] = rows[k].replace(/\\(u00[0-9A-F]{2}|.)/g, (m) => m.toLowerCase());
    }
    return { columns, rows: null, text: { json: rows } };
  }

  /** Runs DuckDB SQL, returns raw rows (internal bookkeeping queries). */
  async raw(sql) { return (await this.conn.runAndReadAll(sql)).getRows(); }
  async run(sql) { return this.conn.run(sql); }

  /** Number of rows changed by a DuckDB DML statement. */
  async count(sql) {
    const rows = await this.raw(sql);
    return rows.length ? Number(rows[0][0]) : 0;
  }

  /** A Translator for toks bound to this statement's context (tables, parameters, table_changes). */
  translator(toks, ctx) {
    return new Translator(toks, {
      keywords: this.keywords,
      principal: ctx.principal,
      catalog: ctx.catalog,
      schema: ctx.schema,
      resolveTable: (parts) => {
        const full = this.resolveName(parts.map((p) => p.value), ctx);
        if (isInfoSchemaName(full)) return { sql: infoSchemaSql(this, full, ctx.principal), alias: splitName(full)[2] };
        ctx.onTable?.(full);
        return this.tableRef(full, ctx, 'SELECT');
      },
      param: (name, where) => this.paramSql(name, ctx, where),
      tableFunction: (name, ts, args, tr) => (name === 'table_changes' ? this.tableChangesSql(ts, args, tr, ctx) : undefined),
    });
  }

  /**
   * DuckDB SQL for the value of parameter :name, cast to its declared type. A STRING parameter
   * (the default type) becomes an untyped DuckDB string literal: next to a TIMESTAMP, DATE,
   * number or BOOLEAN, DuckDB casts it to that type, as Databricks promotes a STRING to the least
   * common type of a comparison, and a value that does not cast fails with CAST_INVALID_INPUT.
   * where.compared says the marker is an operand of a comparison, where a STRING NULL must stay
   * untyped too.
   */
  paramSql(name, ctx, where = {}) {
    const p = ctx.params.get(name);
    if (!p) {
      throw new SqlError('UNBOUND_SQL_PARAMETER', '42P02', `Found the unbound parameter: ${name}. Please, fix \`args\` and provide a mapping of the parameter to either a SQL literal or collection constructor functions such as \`map()\`, \`array()\`, \`struct()\`.`);
    }
    const ty = parseTypeText(p.type || 'STRING', tokenize);
    if (/^(ARRAY|MAP|STRUCT)/.test(ty.text)) throw new SqlError('INVALID_PARAMETER_VALUE', '22023', `Parameter ${name} has unsupported complex type ${ty.text}.`);
    const string = ty.text === 'STRING';
    if (p.value === null || p.value === undefined) return string && where.compared ? 'NULL' : `CAST(NULL AS ${ty.duck})`;
    return string ? lit(p.value) : `CAST(${lit(p.value)} AS ${ty.duck})`;
  }

  /** Full lower-case name from 1-3 name parts and the session's defaults. */
  resolveName(parts, ctx) {
    const p = parts.map((x) => String(x).toLowerCase());
    if (p.length === 1) return `${ctx.catalog}.${ctx.schema}.${p[0]}`;
    if (p.length === 2) return `${ctx.catalog}.${p[0]}.${p[1]}`;
    if (p.length === 3) return p.join('.');
    throw new SqlError('REQUIRES_SINGLE_PART_NAMESPACE', '42K05', `${quoteName(p)} is not a valid name: at most three parts (catalog.schema.table).`);
  }

  /** Throws the Databricks not-found error for a missing catalog/schema/table, else returns the table. */
  requireTable(full) {
    const t = this.store.table(full);
    if (t) return t;
    const [c, s] = splitName(full);
    if (isInfoSchemaName(full) && (c === SYSTEM_CATALOG || this.store.catalog(c))) {
      infoSchemaSql(this, full, null); // throws for a view that does not exist
      throw new SqlError('EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE', '42809', `The statement expects a table but ${quoteName(splitName(full))} is a view of the read-only information schema.`);
    }
    if (!this.store.catalog(c)) throw catalogNotFound(c);
    if (!this.store.schema(`${c}.${s}`)) throw schemaNotFound(c, s);
    throw new SqlError('TABLE_OR_VIEW_NOT_FOUND', '42P01', `The table or view ${quoteName(splitName(full))} cannot be found. Verify the spelling and correctness of the schema and catalog.\nIf you did not qualify the name with a schema, verify the current_schema() output, or qualify the name with the correct schema and catalog.`);
  }

  requireSchema(full) {
    const [c, s] = splitName(full);
    if (!this.store.catalog(c)) throw catalogNotFound(c);
    const sch = this.store.schema(full);
    if (!sch) throw schemaNotFound(c, s);
    return sch;
  }

  /** Throws [INSUFFICIENT_PERMISSIONS] unless principal holds priv (with USE on parents). */
  requirePrivilege(principal, priv, type, full) {
    const miss = missingPrivilege(this.store, principal, priv, type, full);
    if (miss) {
      const [p, t, n] = miss;
      throw new SqlError('INSUFFICIENT_PERMISSIONS', '42501', `Insufficient privileges:\nUser does not have ${p} on ${TYPE_LABEL[t]} '${n}'.`);
    }
  }

  /** DuckDB name of an existing table after checking priv on it. */
  tableRef(full, ctx, priv) {
    this.requireTable(full);
    this.requirePrivilege(ctx.principal, priv, 'TABLE', full);
    return duckTable(full);
  }

  // ---------------------------------------------------------------- versions and change feed

  /** Starts a commit on table t: returns { version, ts (ms) } for the new version. */
  nextVersion(t) {
    const last = t.history[t.history.length - 1];
    return { version: last ? last.version + 1 : 0, ts: Math.max(Date.now(), last ? last.timestamp + 1 : 0) };
  }

  /** Records a commit in the table history (after its data and change rows were written). */
  commit(t, v, ctx, operation, parameters = {}, metrics = {}) {
    t.history.push({
      version: v.version, timestamp: v.ts, userId: ctx.principal.name, userName: ctx.principal.name, operation,
      operationParameters: parameters, operationMetrics: metrics, readVersion: v.version ? v.version - 1 : null,
      isolationLevel: 'WriteSerializable', isBlindAppend: operation === 'WRITE' || operation === 'COPY INTO', cdf: cdfEnabled(t),
    });
    t.updated_at = v.ts;
    t.updated_by = ctx.principal.name;
  }

  /** INSERT INTO the change feed of t: selectSql yields the table's columns in order. */
  async recordChanges(t, v, kind, selectSql) {
    if (!cdfEnabled(t)) return;
    await this.conn.run(`INSERT INTO ${cdfTable(t)} SELECT *, ${lit(kind)}, ${v.version}, ${tsLit(v.ts)} FROM (${selectSql})`);
  }

  // table_changes('c.s.t', start [, end]) as a DuckDB subquery over the change feed table.
  tableChangesSql(toks, args, tr, ctx) {
    if (args.length < 2 || args.length > 3) throw new SqlError('WRONG_NUM_ARGS.WITHOUT_SUGGESTION', '42605', `The \`table_changes\` requires 2 or 3 parameters but the actual number is ${args.length}.`);
    const value = ([s, e]) => {
      if (e !== s + 1) throw unsupported('table_changes arguments other than literals and parameters');
      const t = toks[s];
      if (t.type === 'param') { const p = ctx.params.get(t.value); if (!p) this.paramSql(t.value, ctx); return p.value ?? null; }
      if (t.type === 'string') return t.value;
      if (t.type === 'number') return Number(t.value);
      if (t.type === 'word' && t.upper === 'NULL') return null;
      throw unsupported('table_changes arguments other than literals and parameters');
    };
    const nameText = value(args[0]);
    const nameToks = tokenize(String(nameText ?? ''));
    const nc = new Cursor(nameToks);
    const full = this.resolveName(nc.nameTokens().map((p) => p.value), ctx);
    nc.end();
    const t = this.requireTable(full);
    this.requirePrivilege(ctx.principal, 'SELECT', 'TABLE', full);
    const start = value(args[1]);
    const end = args[2] ? value(args[2]) : undefined;
    if (start === null || end === null) throw new SqlError('DELTA_CDC_READ_NULL_RANGE_BOUNDARY', '22004', 'CDC read start/end parameters cannot be null. Please provide a valid version or timestamp.');
    const latest = t.history[t.history.length - 1];
    const startV = this.versionAt(t, start, 'start', full);
    // Versions before an expiry (see expireHistory) have lost their change data files.
    if (t.expiredBefore && startV < t.expiredBefore) {
      throw new SqlError('DELTA_CHANGE_DATA_FILE_NOT_FOUND', '42K03', `File _change_data/cdc-${String(startV).padStart(5, '0')}.c000.snappy.parquet referenced in the transaction log cannot be found. This can occur when data has been manually deleted from the file system rather than using the table \`DELETE\` statement. This request appears to be targeting Change Data Feed; the change data files of versions before ${t.expiredBefore} are past the retention period and were deleted by \`VACUUM\`.`);
    }
    if (startV > latest.version) {
      throw new SqlError('DELTA_CDC_START_VERSION_AFTER_LATEST', '22003', `Start version ${startV} for change data feed exceeds the latest table version ${latest.version}.`);
    }
    const endV = end === undefined ? latest.version : Math.min(this.versionAt(t, end, 'end', full), latest.version);
    if (endV < startV) throw new SqlError('DELTA_INVALID_CDC_RANGE', '22003', `CDC range from start ${startV} to end ${endV} was invalid. End cannot be before start.`);
    // A replace that changed the schema ends the readable feed: Delta reads with the latest schema
    // and refuses data files written under another one.
    const reshaped = t.history.filter((h) => h.schemaChange && h.version > startV).pop();
    if (reshaped) {
      throw new SqlError('DELTA_CHANGE_DATA_FEED_INCOMPATIBLE_DATA_SCHEMA', '0AKDC', `Retrieving table changes between version ${startV} and ${endV} failed because of an incompatible data schema.\nYour read schema is the schema of version ${latest.version}, which is incompatible with the data written before version ${reshaped.version}.`);
    }
    for (const h of t.history) {
      if (h.version >= startV && h.version <= endV && !h.cdf) {
        throw new SqlError('DELTA_MISSING_CHANGE_DATA', 'KD002', `Error getting change data for range [${startV} , ${endV}] as change data was not\nrecorded for version [${h.version}]. If you've enabled change data feed on this table,\nuse \`DESCRIBE HISTORY\` to see when it was first enabled.\nOtherwise, to start recording change data, use \`ALTER TABLE table_name SET TBLPROPERTIES\n(delta.enableChangeDataFeed=true)\`.`);
      }
    }
    return `(SELECT * FROM ${cdfTable(t)} WHERE _commit_version BETWEEN ${startV} AND ${endV})`;
  }

  /**
   * Expires the history of a table before version `before` (an integer from 1 to the latest
   * version), as VACUUM and log retention do together: DESCRIBE HISTORY lists only versions
   * from `before` on, and table_changes over an earlier version fails with
   * DELTA_CHANGE_DATA_FILE_NOT_FOUND. The table's data is unchanged. Returns
   * { earliest_version, latest_version }.
   */
  async expireHistory(fullName, before) {
    const full = String(fullName).toLowerCase();
    const run = this.queue.then(async () => {
      const t = this.store.table(full);
      if (!t) throw new ApiError(404, 'TABLE_DOES_NOT_EXIST', `Table '${full}' does not exist.`);
      const latest = t.history[t.history.length - 1].version;
      if (!Number.isInteger(before) || before < 1 || before > latest) {
        throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `before_version must be a whole number from 1 to the latest version ${latest}.`);
      }
      if (before > (t.expiredBefore ?? 0)) {
        await this.conn.run(`DELETE FROM ${cdfTable(t)} WHERE _commit_version < ${before}`);
        t.history = t.history.filter((h) => h.version >= before);
        t.expiredBefore = before;
        await this.store.save();
      }
      return { earliest_version: t.history[0].version, latest_version: latest };
    });
    this.queue = run.catch(() => {});
    return run;
  }

  // Version for a table_changes bound: an integer version, or a timestamp string.
  versionAt(t, bound, which, full) {
    if (typeof bound === 'number' || /^\s*\d+\s*$/.test(String(bound))) return Number(bound);
    const text = String(bound).trim().replace(' ', 'T');
    const ms = Date.parse(/[zZ]$|[+-]\d\d:?\d\d$/.test(text) ? text : text + 'Z');
    if (Number.isNaN(ms)) throw new SqlError('INVALID_TIMESTAMP_FORMAT', '22007', `The provided timestamp '${bound}' doesn't match the expected syntax.`);
    const last = t.history[t.history.length - 1];
    if (which === 'start') {
      if (ms > last.timestamp) {
        throw new SqlError('DELTA_TIMESTAMP_GREATER_THAN_COMMIT', '42816', `The provided timestamp (${isoTs(ms)}) is after the latest version available to this\ntable (${full}). Please use a timestamp before or at ${isoTs(last.timestamp)}.`);
      }
      return t.history.find((h) => h.timestamp >= ms).version;
    }
    const before = t.history.filter((h) => h.timestamp <= ms);
    if (!before.length) {
      throw new SqlError('DELTA_TIMESTAMP_EARLIER_THAN_COMMIT_RETENTION', '42816', `The provided timestamp (${isoTs(ms)}) is before the earliest version available to this table (${full}). Please use a timestamp after ${isoTs(t.history[0].timestamp)}.`);
    }
    return before[before.length - 1].version;
  }

  // ---------------------------------------------------------------- privileges and catalog API

  /** Unity Catalog privilege check (inheritance, USE on parents, owners and admins pass). */
  checkPrivilege(principal, privilege, securableType, fullName) {
    const type = securableType.toUpperCase();
    if (!this.store.object(type, String(fullName).toLowerCase())) return false;
    return missingPrivilege(this.store, principal, privilege.toUpperCase().replace(/_/g, ' '), type, String(fullName).toLowerCase()) === null;
  }

  restVisible(type, full, principal) {
    const obj = this.store.object(type, full);
    if (!obj) return null;
    if (!canSee(this.store, principal, type, full)) {
      throw new ApiError(403, 'PERMISSION_DENIED', `User does not have USE ${type === 'CATALOG' ? 'CATALOG' : 'SCHEMA'} or any privilege on ${TYPE_LABEL[type]} '${full}'.`);
    }
    return obj;
  }

  listCatalogs(principal) {
    return Object.values(this.store.state.catalogs).filter((c) => canSee(this.store, principal, 'CATALOG', c.name)).map((c) => catalogInfo(this, c));
  }

  getCatalog(name, principal) {
    const c = this.restVisible('CATALOG', String(name).toLowerCase(), principal);
    return c ? catalogInfo(this, c) : null;
  }

  listSchemas(catalog, principal) {
    const cat = String(catalog).toLowerCase();
    if (!this.restVisible('CATALOG', cat, principal)) throw new ApiError(404, 'CATALOG_DOES_NOT_EXIST', `Catalog '${cat}' does not exist.`);
    return Object.entries(this.store.state.schemas).filter(([full, s]) => s.catalog_name === cat && canSee(this.store, principal, 'SCHEMA', full)).map(([full]) => schemaInfo(this, full));
  }

  getSchema(fullName, principal) {
    const full = String(fullName).toLowerCase();
    return this.restVisible('SCHEMA', full, principal) ? schemaInfo(this, full) : null;
  }

  /** TableInfo, or null when absent; 403 PERMISSION_DENIED when the caller may not see it. */
  getTable(fullName, principal, { includeBrowse = false } = {}) {
    const full = String(fullName).toLowerCase();
    if (!this.store.table(full)) return null;
    const access = tableAccess(this.store, principal, full);
    if (access === 'full') return tableInfo(this, full);
    if (access === 'browse' && includeBrowse) return { ...tableInfo(this, full), browse_only: true };
    throw this.tableDenied(principal, full);
  }

  tableDenied(principal, full) {
    const [pv, t, n] = missingPrivilege(this.store, principal, 'SELECT', 'TABLE', full);
    return new ApiError(403, 'PERMISSION_DENIED', `User does not have ${pv} on ${TYPE_LABEL[t]} '${n}'.`);
  }

  /**
   * Existence check. Besides the getTable rule, BROWSE on the parent catalog or schema suffices
   * (tables API docs). A caller who could not see the table either way gets 403, not false.
   */
  tableExists(fullName, principal) {
    const full = String(fullName).toLowerCase();
    const [c, s] = splitName(full);
    const exists = Boolean(this.store.table(full));
    if (!principal || principal.admin) return exists;
    if (holds(this.store, principal, 'BROWSE', 'SCHEMA', `${c}.${s}`)) return exists;
    if (exists) {
      if (missingPrivilege(this.store, principal, 'SELECT', 'TABLE', full) === null) return true;
      throw this.tableDenied(principal, full);
    }
    if (!this.store.schema(`${c}.${s}`)) return false;
    const missing = missingPrivilege(this.store, principal, 'USE SCHEMA', 'SCHEMA', `${c}.${s}`);
    if (missing) throw new ApiError(403, 'PERMISSION_DENIED', `User does not have ${missing[0]} on ${TYPE_LABEL[missing[1]]} '${missing[2]}'.`);
    return false;
  }

  /** Tables of a schema the caller may see (see tableAccess); BROWSE-only ones with includeBrowse. */
  listTables(catalog, schema, principal, { includeBrowse = false } = {}) {
    const sfull = `${String(catalog).toLowerCase()}.${String(schema).toLowerCase()}`;
    if (!this.store.schema(sfull)) throw new ApiError(404, 'SCHEMA_DOES_NOT_EXIST', `Schema '${sfull}' does not exist.`);
    this.restVisible('SCHEMA', sfull, principal);
    const out = [];
    for (const f of Object.keys(this.store.state.tables).filter((n) => n.startsWith(sfull + '.')).sort()) {
      const access = tableAccess(this.store, principal, f);
      if (access === 'full') out.push(tableInfo(this, f));
      else if (access === 'browse' && includeBrowse) out.push({ ...tableInfo(this, f), browse_only: true });
    }
    return out;
  }

  /** Drops a table through REST (owner, MANAGE or admin). */
  async deleteTable(fullName, principal) {
    const full = String(fullName).toLowerCase();
    if (!this.store.table(full)) throw new ApiError(404, 'TABLE_DOES_NOT_EXIST', `Table '${full}' does not exist.`);
    this.restOwner(principal, 'TABLE', full);
    await this.execute(`DROP TABLE ${quoteName(splitName(full))}`, { principal: { ...principal, admin: true } });
  }

  restOwner(principal, type, full) {
    if (missingPrivilege(this.store, principal, 'MANAGE', type, full)) {
      throw new ApiError(403, 'PERMISSION_DENIED', `User does not have MANAGE on ${TYPE_LABEL[type]} '${full}'.`);
    }
  }

  /** Creates a managed volume (REST); needs CREATE VOLUME on the schema. */
  async createVolume({ catalog_name, schema_name, name, volume_type = 'MANAGED', comment }, principal) {
    if (!catalog_name || !schema_name || !name) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'catalog_name, schema_name and name are required.');
    if (volume_type !== 'MANAGED') throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'Only MANAGED volumes are supported by dbx-local (EXTERNAL needs a storage location).');
    const sfull = `${catalog_name}.${schema_name}`.toLowerCase();
    if (!this.store.catalog(catalog_name.toLowerCase())) throw new ApiError(404, 'CATALOG_DOES_NOT_EXIST', `Catalog '${catalog_name}' does not exist.`);
    if (!this.store.schema(sfull)) throw new ApiError(404, 'SCHEMA_DOES_NOT_EXIST', `Schema '${sfull}' does not exist.`);
    const full = `${sfull}.${name.toLowerCase()}`;
    if (this.store.volume(full)) throw new ApiError(409, 'RESOURCE_ALREADY_EXISTS', `Volume '${full}' already exists.`);
    if (missingPrivilege(this.store, principal, 'CREATE VOLUME', 'SCHEMA', sfull)) throw new ApiError(403, 'PERMISSION_DENIED', `User does not have CREATE VOLUME on Schema '${sfull}'.`);
    const sqlComment = comment ? ` COMMENT ${quoteString(comment)}` : '';
    await this.execute(`CREATE VOLUME ${quoteName(splitName(full))}${sqlComment}`, { principal });
    return volumeInfo(this, full);
  }

  getVolume(fullName, principal) {
    const full = String(fullName).toLowerCase();
    return this.restVisible('VOLUME', full, principal) ? volumeInfo(this, full) : null;
  }

  listVolumes(catalog, schema, principal) {
    const sfull = `${String(catalog).toLowerCase()}.${String(schema).toLowerCase()}`;
    if (!this.store.schema(sfull)) throw new ApiError(404, 'SCHEMA_DOES_NOT_EXIST', `Schema '${sfull}' does not exist.`);
    return Object.keys(this.store.state.volumes).filter((f) => f.startsWith(sfull + '.') && canSee(this.store, principal, 'VOLUME', f)).sort().map((f) => volumeInfo(this, f));
  }

  async deleteVolume(fullName, principal) {
    const full = String(fullName).toLowerCase();
    if (!this.store.volume(full)) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Volume '${full}' does not exist.`);
    this.restOwner(principal, 'VOLUME', full);
    await this.execute(`DROP VOLUME ${quoteName(splitName(full))}`, { principal: { ...principal, admin: true } });
  }

  /** Directory said to hold a table's data files (its storage_location); the rows live in DuckDB. */
  tableDir(t) { return path.join(this.dataDir, 'tables', t.table_id); }

  /** Directory holding the files of volume c.s.v (whether or not it exists). */
  volumeDir(c, s, v) { return path.join(this.dataDir, 'volumes', c, s, v); }

  /** Directory holding the files of volume c.s.v, or null if the volume does not exist. */
  volumeRoot(catalog, schema, volume) {
    const [c, s, v] = [catalog, schema, volume].map((x) => String(x).toLowerCase());
    return this.store.volume(`${c}.${s}.${v}`) ? this.volumeDir(c, s, v) : null;
  }

  /**
   * REST grants: { privilege_assignments: [{principal, privileges (underscored)}] }. With a principal,
   * only answers one that owns, manages or holds any privilege on the securable or a parent (else 403).
   */
  getPermissions(securableType, fullName, principalFilter, principal) {
    const type = securableType.toUpperCase();
    const full = String(fullName).toLowerCase();
    if (!this.store.object(type, full)) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `${TYPE_LABEL[type] ?? type} '${full}' does not exist.`);
    if (principal && !mayInspect(this.store, principal, type, full)) {
      throw new ApiError(403, 'PERMISSION_DENIED', `User does not have any privilege on ${TYPE_LABEL[type]} '${full}'.`);
    }
    const assignments = this.store.grantsOn(type, full)
      .filter((g) => !principalFilter || g.principal === principalFilter)
      .map((g) => ({ principal: g.principal, privileges: g.privileges.map((p) => p.replace(/ /g, '_')) }));
    return { privilege_assignments: assignments };
  }

  /** REST PATCH of grants: changes = [{principal, add:[..], remove:[..]}]; owners/admins/MANAGE only. */
  async updatePermissions(securableType, fullName, changes, principal) {
    const type = securableType.toUpperCase();
    const full = String(fullName).toLowerCase();
    if (!VALID_PRIVILEGES[type]) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Unsupported securable type '${securableType}'.`);
    if (!this.store.object(type, full)) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `${TYPE_LABEL[type]} '${full}' does not exist.`);
    this.restOwner(principal, type, full);
    const norm = (list) => (list ?? []).map((p) => String(p).toUpperCase().replace(/_/g, ' '));
    for (const ch of changes ?? []) {
      if (!ch.principal) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', "At least one of 'principal' or 'principal_id' must be set.");
      if (norm(ch.add).length) this.requirePrincipal(ch.principal, true);
      for (const p of [...norm(ch.add), ...norm(ch.remove)]) {
        if (!VALID_PRIVILEGES[type].includes(p)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Privilege ${p.replace(/ /g, '_')} is not applicable to this entity [${full}:${type}].`);
      }
    }
    const run = this.queue.then(async () => {
      for (const ch of changes ?? []) this.store.changeGrant(type, full, ch.principal, norm(ch.add), norm(ch.remove));
      await this.store.save();
    });
    this.queue = run.catch(() => {});
    await run;
    return this.getPermissions(type, full, undefined, principal);
  }
}

// ---------------------------------------------------------------- helpers shared with ddl/dml

/** DuckDB table for a full Databricks name. */
export function duckTable(full) {
  const [c, s, t] = splitName(full);
  return `${qid(`${c}.${s}`)}.${qid(t)}`;
}

/** DuckDB change-feed table of a table's metadata. */
export function cdfTable(t) { return `${qid(CDF_SCHEMA)}.${qid(t.table_id)}`; }
export { CDF_SCHEMA };

export function cdfEnabled(t) { return String(t.properties['delta.enableChangeDataFeed'] ?? '').toLowerCase() === 'true'; }

/** DuckDB TIMESTAMPTZ literal for epoch milliseconds. */
export function tsLit(ms) { return `TIMESTAMPTZ ${lit(new Date(ms).toISOString())}`; }

function isoTs(ms) { return new Date(ms).toISOString().replace('T', ' ').replace('Z', ''); }

function quoteString(s) { return "'" + String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'"; }

export function catalogNotFound(c) {
  return new SqlError('NO_SUCH_CATALOG_EXCEPTION', '42704', `The catalog '${c}' was not found. Please verify the catalog name and then retry the query or command again.`);
}

export function schemaNotFound(c, s) {
  return new SqlError('SCHEMA_NOT_FOUND', '42704', `The schema \`${c}\`.\`${s}\` cannot be found. Verify the spelling and correctness of the schema and catalog.\nIf you did not qualify the name with a catalog, verify the current_schema() output, or qualify the name with the correct catalog.\nTo tolerate the error on drop use DROP SCHEMA IF EXISTS.`);
}

function cancelled() { return new SqlError('CANCELLED', '57014', 'The statement was cancelled.'); }

/** Databricks-style SqlError for a DuckDB (or internal) error. */
export function mapError(e) {
  if (e instanceof SqlError || e instanceof ApiError) return e;
  const msg = String(e?.message ?? e);
  let m;
  if (/^INTERRUPT Error/.test(msg)) return cancelled();
  // Errors raised on purpose by our DuckDB macros (error('[CLASS] text SQLSTATE: xxxxx')).
  if ((m = /^Invalid Input Error: \[([A-Z_.]+)\] (.*) SQLSTATE: (\w{5})$/s.exec(msg))) return new SqlError(m[1], m[3], m[2]);
  if ((m = /^Parser Error: syntax error at or near "([^"]*)"/.exec(msg))) return syntaxError(m[1]);
  if ((m = /Referenced column "([^"]+)" not found/.exec(msg)) || (m = /column "?([^"\s]+)"? (?:not found|does not exist)/i.exec(msg)) || (m = /Table "[^"]+" does not have a column named "([^"]+)"/.exec(msg))) {
    return new SqlError('UNRESOLVED_COLUMN.WITHOUT_SUGGESTION', '42703', `A column, variable, or function parameter with name \`${m[1]}\` cannot be resolved.`);
  }
  if ((m = /Function with name (\S+) does not exist/.exec(msg))) {
    return new SqlError('UNRESOLVED_ROUTINE', '42883', `Cannot resolve routine \`${m[1]}\` on search path [\`system\`.\`builtin\`, \`system\`.\`session\`].`);
  }
  if ((m = /Could not parse string "(.*)" according to format specifier/.exec(msg))) {
    return new SqlError('CANNOT_PARSE_TIMESTAMP', '22007', `Text '${m[1]}' could not be parsed. Use \`try_to_timestamp\` to tolerate invalid input string and return NULL instead. If necessary set "ansi_mode" to "false" to bypass this error.`);
  }
  if (/UNNEST\(\) can only be applied to lists/.test(msg)) return unsupported('explode() of a MAP');
  if (/Malformed JSON/.test(msg)) {
    return new SqlError('MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION', '22023', `Malformed records are detected in record parsing: ${msg.replace(/^.*Input: /s, '').split('\n')[0]}.\nParse Mode: FAILFAST. To process malformed records as null result, try setting the option 'mode' as 'PERMISSIVE'.`);
  }
  if ((m = /NOT NULL constraint failed: (?:[^.]+\.)?(\S+)/.exec(msg))) {
    return new SqlError('DELTA_NOT_NULL_CONSTRAINT_VIOLATED', '23502', `NOT NULL constraint violated for column: ${m[1]}.`);
  }
  if ((m = /^Conversion Error: Type (\S+) with value (.*) can't be cast because the value is out of range for the destination type (\S+)/.exec(msg))) {
    const name = (t) => ({ INT8: 'TINYINT', INT16: 'SMALLINT', INT32: 'INT', INT64: 'BIGINT' }[t] ?? t);
    return new SqlError('CAST_OVERFLOW', '22003', `The value ${m[2]} of the type "${name(m[1])}" cannot be cast to "${name(m[3])}" due to an overflow. Use \`try_cast\` to tolerate overflow and return NULL instead. If necessary set "ansi_mode" to "false" to bypass this error.`);
  }
  if ((m = /^Conversion Error: Failed to cast decimal value (\S+) to type (\S+)/.exec(msg))) {
    const name = { INT8: 'TINYINT', INT16: 'SMALLINT', INT32: 'INT', INT64: 'BIGINT' }[m[2]] ?? m[2];
    return new SqlError('CAST_OVERFLOW', '22003', `The value ${m[1]} of the type "DECIMAL" cannot be cast to "${name}" due to an overflow. Use \`try_cast\` to tolerate overflow and return NULL instead. If necessary set "ansi_mode" to "false" to bypass this error.`);
  }
  if (/^Conversion Error/.test(msg)) return new SqlError('CAST_INVALID_INPUT', '22018', msg.replace(/^Conversion Error: /, '').split('\n')[0].replace(/ when casting from source column \S+$/, ''));
  if (/^Out of Range Error/.test(msg)) return new SqlError('ARITHMETIC_OVERFLOW', '22003', msg.replace(/^Out of Range Error: /, '').split('\n')[0]);
  if ((m = /has (\d+) columns but (\d+) values were supplied/.exec(msg))) {
    const [kind, reason] = Number(m[2]) > Number(m[1]) ? ['TOO_MANY_DATA_COLUMNS', 'too many data columns'] : ['NOT_ENOUGH_DATA_COLUMNS', 'not enough data columns'];
    return new SqlError(`INSERT_COLUMN_ARITY_MISMATCH.${kind}`, '21S01', `Cannot write to the table, the reason is ${reason}: the table has ${m[1]} columns, the data has ${m[2]}.`);
  }
  if (/^Binder Error: (No function matches|Could not choose a best candidate function)/.test(msg)) return new SqlError('DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE', '42K09', msg.replace(/^Binder Error: /, '').split('\n')[0]);
  return new SqlError('INTERNAL_ERROR', 'XX000', `dbx-local: ${msg.split('\n')[0]}`);
}
