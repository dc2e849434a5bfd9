// Databricks DDL and metadata statements for the Engine: CREATE/DROP TABLE|SCHEMA|VOLUME, ALTER TABLE
// (ADD COLUMNS, SET TBLPROPERTIES), DESCRIBE [TABLE|HISTORY], SHOW TABLES|SCHEMAS|CATALOGS|GRANTS,
// USE, GRANT and REVOKE. Each returns the Databricks result shape; metadata goes to the Store, data to DuckDB.
import { mkdir, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { SqlError, syntaxError, unsupported, quoteName } from './errors.mjs';
import { isIdent } from './tokenizer.mjs';
import { parseType, columnInfo, duckTextToDatabricks } from './types.mjs';
import { qid } from './translate.mjs';
import { splitName } from '../store.mjs';
import { VALID_PRIVILEGES, missingPrivilege, canSee, securableChain } from '../grants.mjs';
import { duckTable, cdfTable, catalogNotFound } from '../engine.mjs';

const EMPTY = () => ({ columns: [], rows: [] });

/** Runs the statement at cursor c if it is DDL/metadata; returns its result or null. */
export async function runDdl(engine, c, ctx) {
  if (c.accept('CREATE')) {
    const orReplace = c.accept('OR', 'REPLACE');
    if (c.accept('TABLE')) return createTable(engine, c, ctx, orReplace ? 'CREATE OR REPLACE' : 'CREATE');
    // Databricks has OR REPLACE for tables, views and functions only (views and functions are not emulated).
    if (orReplace) throw syntaxError(c.peek().text);
    if (c.accept('SCHEMA') || c.accept('DATABASE')) return createSchema(engine, c, ctx);
    if (c.accept('VOLUME') || c.accept('MANAGED', 'VOLUME')) return createVolume(engine, c, ctx);
    if (c.isWord('EXTERNAL')) throw unsupported('EXTERNAL volumes and tables');
    throw unsupported(`CREATE ${c.peek().text}`);
  }
  if (c.accept('DROP')) {
    if (c.accept('TABLE')) return dropTable(engine, c, ctx);
    if (c.accept('VOLUME')) return dropVolume(engine, c, ctx);
    if (c.accept('SCHEMA') || c.accept('DATABASE')) return dropSchema(engine, c, ctx);
    throw unsupported(`DROP ${c.peek().text}`);
  }
  if (c.accept('REPLACE', 'TABLE')) return createTable(engine, c, ctx, 'REPLACE');
  if (c.accept('ALTER', 'TABLE')) return alterTable(engine, c, ctx);
  if (c.accept('DESCRIBE') || c.accept('DESC')) return describe(engine, c, ctx);
  if (c.accept('SHOW')) return show(engine, c, ctx);
  if (c.accept('USE')) return use(engine, c, ctx);
  if (c.accept('GRANT')) return grant(engine, c, ctx, true);
  if (c.accept('REVOKE')) return grant(engine, c, ctx, false);
  return null;
}

// USE [CATALOG c | SCHEMA|DATABASE [c.]s | [c.]s]. Each Statement Execution API call is its own
// session, so the statement only validates the name (as a warehouse does) and changes nothing;
// callers set the defaults with the request's catalog/schema fields.
function use(engine, c, ctx) {
  if (c.accept('CATALOG')) {
    const cat = c.ident().toLowerCase();
    c.end();
    if (!engine.store.catalog(cat)) throw catalogNotFound(cat);
    return EMPTY();
  }
  if (!c.accept('SCHEMA')) c.accept('DATABASE');
  const parts = c.nameTokens().map((t) => t.value.toLowerCase());
  c.end();
  if (parts.length > 2) throw new SqlError('REQUIRES_SINGLE_PART_NAMESPACE', '42K05', `${quoteName(parts)} is not a valid schema name: at most two parts (catalog.schema).`);
  engine.requireSchema(parts.length === 1 ? `${ctx.catalog}.${parts[0]}` : parts.join('.'));
  return EMPTY();
}

function ifNotExists(c) { return c.accept('IF', 'NOT', 'EXISTS'); }

// key = value pairs of TBLPROPERTIES / OPTIONS: keys are dotted words or strings.
export function parseProperties(c) {
  const props = {};
  c.expectOp('(');
  if (c.acceptOp(')')) return props;
  for (;;) {
    let key;
    if (c.peek().type === 'string') key = c.next().value;
    else {
      key = c.ident();
      while (c.acceptOp('.')) key += '.' + c.ident();
    }
    let value = 'true';
    if (c.acceptOp('=') || !(c.isOp(',') || c.isOp(')'))) {
      const v = c.next();
      if (v.type === 'string' || v.type === 'number') value = v.value;
      else if (v.type === 'word') value = v.value.toLowerCase() === 'true' || v.value.toLowerCase() === 'false' ? v.value.toLowerCase() : v.value;
      else if (v.type === 'op' && v.value === '-' && c.peek().type === 'number') value = '-' + c.next().value;
      else throw syntaxError(v.text);
    }
    if (/^(true|false)$/i.test(value)) value = value.toLowerCase();
    props[key] = value;
    if (c.acceptOp(',')) continue;
    c.expectOp(')');
    return props;
  }
}

/** Column definitions "(name type [NOT NULL] [COMMENT 'x'], ...)" -> [{name, type_text, duck, nullable, comment}]. */
export function parseColumns(c) {
  c.expectOp('(');
  const cols = [];
  for (;;) {
    const name = c.ident();
    const ty = parseType(c.toks, c.i);
    c.i = ty.next;
    const col = { name, type_text: ty.text, duck: ty.duck, nullable: true, comment: null };
    for (;;) {
      if (c.accept('NOT', 'NULL')) col.nullable = false;
      else if (c.accept('COMMENT')) col.comment = c.next().value;
      else if (c.isWord(['DEFAULT', 'GENERATED', 'MASK', 'COLLATE'])) throw unsupported(`column ${c.peek().upper} clauses`);
      else if (c.accept('FIRST')) { col.position = 'FIRST'; }
      else if (c.accept('AFTER')) { col.position = c.ident(); }
      else break;
    }
    cols.push(col);
    if (c.acceptOp(',')) continue;
    c.expectOp(')');
    return cols;
  }
}

/**
 * CREATE [OR REPLACE] TABLE / REPLACE TABLE, with a column list or AS SELECT. mode is 'CREATE',
 * 'CREATE OR REPLACE' or 'REPLACE'. Replacing an existing Delta table keeps its identity (table_id,
 * owner, grants, history): it commits a new version named as Delta names it, with the new schema,
 * properties and data.
 */
// Unity Catalog object names (schemas, tables, volumes): at most 255 characters, none of
// '.', '/', ASCII control characters or DEL. A name breaking the rule is refused, never cut
// at the dot as a three-part name would read it. Unity Catalog refuses spaces too; dbx-local
// accepts them (README, deviations).
function checkObjectName(name, kind) {
  // eslint-disable-next-line no-control-regex
  if (name.length <= 255 && !/[./\x00-\x1f\x7f]/.test(name)) return;
  throw new SqlError('INVALID_SCHEMA_OR_RELATION_NAME', '42602',
    `\`${name.replaceAll('`', '``')}\` is not a valid name for ${kind}. Names are at most 255 characters and may not contain '.', '/' or control characters.`);
}

async function createTable(engine, c, ctx, mode) {
  const ine = mode === 'CREATE' && ifNotExists(c);
  const nameParts = c.nameTokens().map((t) => t.value);
  checkObjectName(nameParts[nameParts.length - 1], 'tables');
  const full = engine.resolveName(nameParts, ctx);
  const [cat, sch, name] = splitName(full);
  let cols = null;
  if (c.isOp('(')) cols = parseColumns(c);
  let props = {};
  let comment = null;
  let asStart = null;
  while (!c.atEnd()) {
    if (c.accept('USING')) { const f = c.ident().toUpperCase(); if (f !== 'DELTA') throw unsupported(`CREATE TABLE ... USING ${f} (only DELTA tables are emulated)`); continue; }
    if (c.accept('TBLPROPERTIES')) { props = { ...props, ...parseProperties(c) }; continue; }
    if (c.accept('COMMENT')) { comment = c.next().value; continue; }
    if (c.accept('PARTITIONED', 'BY') || c.accept('CLUSTER', 'BY')) {
      if (c.accept('AUTO')) continue;
      c.expectOp('('); while (!c.acceptOp(')')) c.next(); continue;
    }
    if (c.isWord('LOCATION')) throw unsupported('CREATE TABLE ... LOCATION (external tables)');
    if (c.accept('AS')) { asStart = c.i; break; }
    throw syntaxError(c.peek().text);
  }
  if (!cols && asStart === null) throw syntaxError(c.peek().text);
  if (cols) {
    const dupe = cols.find((x, i) => cols.findIndex((y) => y.name.toLowerCase() === x.name.toLowerCase()) !== i);
    if (dupe) throw new SqlError('COLUMN_ALREADY_EXISTS', '42711', `The column \`${dupe.name.toLowerCase()}\` already exists. Choose another name or rename the existing column.`);
  }
  engine.requireSchema(`${cat}.${sch}`);
  const old = engine.store.table(full);
  if (old && mode === 'CREATE') {
    if (ine) return EMPTY();
    throw new SqlError('TABLE_OR_VIEW_ALREADY_EXISTS', '42P07', `Cannot create table or view ${quoteName([cat, sch, name])} because it already exists.\nChoose a different name, drop the existing object, add the IF NOT EXISTS clause to tolerate pre-existing objects, add the OR REPLACE clause to replace the existing materialized view, or add the OR REFRESH clause to refresh the existing streaming table.`);
  }
  if (!old && mode === 'REPLACE') {
    throw new SqlError('CANNOT_REPLACE_MISSING_TABLE', '42P01', `Table or view ${quoteName([cat, sch, name])} cannot be replaced as it does not exist. Use CREATE OR REPLACE TABLE to create the table.`);
  }
  if (old) engine.requirePrivilege(ctx.principal, 'MODIFY', 'TABLE', full);
  else engine.requirePrivilege(ctx.principal, 'CREATE TABLE', 'SCHEMA', `${cat}.${sch}`);
  const dt = duckTable(full);
  const now = Date.now();
  const t = old ?? {
    name, catalog_name: cat, schema_name: sch, table_id: randomUUID(), owner: ctx.principal.name,
    created_at: now, created_by: ctx.principal.name, history: [],
  };
  // The query runs before the old data goes: it may read the table it replaces.
  let newColumns;
  if (asStart !== null) {
    let end = c.toks.length - 1;
    if (c.toks[end - 1]?.value === ';') end--;
    const q = engine.translator(c.toks, ctx).translate(asStart, end);
    await engine.run(`CREATE TEMP TABLE __dbx_new AS ${q}`);
    const desc = await engine.raw('DESCRIBE temp.__dbx_new');
    newColumns = desc.map(([n, ty]) => ({ name: n, type_text: duckTextToDatabricks(ty), nullable: true, comment: null }));
  } else {
    newColumns = cols.map(({ name: n, type_text, nullable, comment: cm }) => ({ name: n, type_text, nullable, comment: cm }));
  }
  const shape = (list) => JSON.stringify(list.map((x) => [x.name.toLowerCase(), x.type_text]));
  // A new schema starts a new change feed: Delta refuses CDF reads that span it (see tableChangesSql).
  const schemaChanged = Boolean(old) && shape(old.columns) !== shape(newColumns);
  const v = engine.nextVersion(t);
  Object.assign(t, { columns: newColumns, comment, properties: props, updated_at: now, updated_by: ctx.principal.name, loadedFiles: {} });
  if (old) {
    // A replace removes every data file, which the change feed reports as deletes.
    if (!schemaChanged) await engine.recordChanges(t, v, 'delete', `SELECT * FROM ${dt}`);
    await engine.run(`DROP TABLE ${dt}`);
  }
  if (asStart !== null) await engine.run(`CREATE TABLE ${dt} AS SELECT * FROM temp.__dbx_new`);
  else await engine.run(`CREATE TABLE ${dt} (${cols.map((x) => `${qid(x.name)} ${x.duck}${x.nullable ? '' : ' NOT NULL'}`).join(', ')})`);
  const inserted = asStart !== null ? await engine.count(`SELECT count(*) FROM ${dt}`) : 0;
  if (schemaChanged) await engine.run(`DROP TABLE ${cdfTable(t)}`);
  if (!old || schemaChanged) {
    await engine.run(`CREATE TABLE ${cdfTable(t)} AS SELECT *, ''::VARCHAR AS _change_type, 0::BIGINT AS _commit_version, now() AS _commit_timestamp FROM ${dt} LIMIT 0`);
  }
  engine.store.state.tables[full] = t;
  if (inserted) await engine.recordChanges(t, v, 'insert', `SELECT * FROM ${dt}`);
  // Delta's operation names; CREATE OR REPLACE of a missing table is a plain CREATE TABLE.
  const operation = old ? `${mode === 'CREATE OR REPLACE' ? 'CREATE OR ' : ''}REPLACE TABLE` : 'CREATE TABLE';
  engine.commit(t, v, ctx, asStart !== null ? `${operation} AS SELECT` : operation,
    { isManaged: 'true', description: comment, partitionBy: '[]', properties: JSON.stringify(props) },
    asStart !== null ? { numFiles: '1', numOutputRows: String(inserted) } : {});
  if (schemaChanged) t.history[t.history.length - 1].schemaChange = true;
  return asStart !== null ? { columns: [columnInfo('num_affected_rows', 'BIGINT'), columnInfo('num_inserted_rows', 'BIGINT')], rows: [[BigInt(inserted), BigInt(inserted)]] } : EMPTY();
}

async function createSchema(engine, c, ctx) {
  const ine = ifNotExists(c);
  const parts = c.nameTokens().map((t) => t.value.toLowerCase());
  checkObjectName(parts[parts.length - 1], 'schemas');
  const [cat, sch] = parts.length === 1 ? [ctx.catalog, parts[0]] : parts;
  let comment = null;
  while (!c.atEnd()) {
    if (c.accept('COMMENT')) comment = c.next().value;
    else if (c.isWord(['LOCATION', 'MANAGED'])) throw unsupported('CREATE SCHEMA with a storage location');
    else if (c.accept('WITH', 'DBPROPERTIES')) parseProperties(c);
    else throw syntaxError(c.peek().text);
  }
  if (!engine.store.catalog(cat)) throw catalogNotFound(cat);
  const full = `${cat}.${sch}`;
  if (engine.store.schema(full)) {
    if (ine) return EMPTY();
    throw new SqlError('SCHEMA_ALREADY_EXISTS', '42P06', `Cannot create schema \`${cat}\`.\`${sch}\` because it already exists.\nChoose a different name, drop the existing schema, or add the IF NOT EXISTS clause to tolerate pre-existing schema.`);
  }
  engine.requirePrivilege(ctx.principal, 'CREATE SCHEMA', 'CATALOG', cat);
  const now = Date.now();
  engine.store.state.schemas[full] = { name: sch, catalog_name: cat, owner: ctx.principal.name, comment, id: randomUUID(), created_at: now, created_by: ctx.principal.name, updated_at: now, updated_by: ctx.principal.name };
  await engine.run(`CREATE SCHEMA IF NOT EXISTS ${qid(full)}`);
  return EMPTY();
}

async function dropSchema(engine, c, ctx) {
  const ie = c.accept('IF', 'EXISTS');
  const parts = c.nameTokens().map((t) => t.value.toLowerCase());
  const cascade = c.accept('CASCADE');
  c.accept('RESTRICT');
  c.end();
  const [cat, sch] = parts.length === 1 ? [ctx.catalog, parts[0]] : parts;
  const full = `${cat}.${sch}`;
  if (!engine.store.schema(full)) { if (ie) return EMPTY(); engine.requireSchema(full); }
  if (missingPrivilege(engine.store, ctx.principal, 'MANAGE', 'SCHEMA', full)) engine.requirePrivilege(ctx.principal, 'MANAGE', 'SCHEMA', full);
  const children = [...Object.keys(engine.store.state.tables), ...Object.keys(engine.store.state.volumes)].filter((n) => n.startsWith(full + '.'));
  if (children.length && !cascade) throw new SqlError('SCHEMA_NOT_EMPTY', '2BP01', `Cannot drop a schema \`${cat}\`.\`${sch}\` because it contains objects.\nUse DROP SCHEMA ... CASCADE to drop the schema and all its objects.`);
  for (const n of children) {
    if (engine.store.table(n)) { await engine.run(`DROP TABLE ${cdfTable(engine.store.table(n))}`); delete engine.store.state.tables[n]; }
    else { delete engine.store.state.volumes[n]; await rm(engine.volumeDir(...splitName(n)), { recursive: true, force: true }); }
  }
  await engine.run(`DROP SCHEMA ${qid(full)} CASCADE`);
  delete engine.store.state.schemas[full];
  engine.store.dropGrants(full);
  return EMPTY();
}

async function createVolume(engine, c, ctx) {
  const ine = ifNotExists(c);
  const parts = c.nameTokens().map((t) => t.value.toLowerCase());
  let comment = null;
  while (!c.atEnd()) {
    if (c.accept('COMMENT')) comment = c.next().value;
    else if (c.isWord('LOCATION')) throw unsupported('external volumes (LOCATION)');
    else throw syntaxError(c.peek().text);
  }
  checkObjectName(parts[parts.length - 1], 'volumes');
  const full = engine.resolveName(parts, ctx);
  const [cat, sch, vol] = splitName(full);
  engine.requireSchema(`${cat}.${sch}`);
  if (engine.store.volume(full)) {
    if (ine) return EMPTY();
    throw new SqlError('VOLUME_ALREADY_EXISTS', '42000', `Cannot create volume ${quoteName([cat, sch, vol])} because it already exists.\nChoose a different name, drop or replace the existing object, or add the IF NOT EXISTS clause to tolerate pre-existing objects.`);
  }
  engine.requirePrivilege(ctx.principal, 'CREATE VOLUME', 'SCHEMA', `${cat}.${sch}`);
  const now = Date.now();
  engine.store.state.volumes[full] = { name: vol, catalog_name: cat, schema_name: sch, volume_id: randomUUID(), owner: ctx.principal.name, comment, created_at: now, created_by: ctx.principal.name, updated_at: now, updated_by: ctx.principal.name };
  await mkdir(engine.volumeDir(cat, sch, vol), { recursive: true });
  return EMPTY();
}

async function dropVolume(engine, c, ctx) {
  const ie = c.accept('IF', 'EXISTS');
  const full = engine.resolveName(c.nameTokens().map((t) => t.value), ctx);
  c.end();
  if (!engine.store.volume(full)) {
    if (ie) return EMPTY();
    const [cat, sch] = splitName(full);
    engine.requireSchema(`${cat}.${sch}`);
    throw new SqlError('VOLUME_NOT_FOUND', '42704', `Volume ${quoteName(splitName(full))} does not exist. Please use 'SHOW VOLUMES' to list available volumes.`);
  }
  engine.requirePrivilege(ctx.principal, 'MANAGE', 'VOLUME', full);
  delete engine.store.state.volumes[full];
  engine.store.dropGrants(full);
  await rm(engine.volumeDir(...splitName(full)), { recursive: true, force: true });
  return EMPTY();
}

async function dropTable(engine, c, ctx) {
  const ie = c.accept('IF', 'EXISTS');
  const full = engine.resolveName(c.nameTokens().map((t) => t.value), ctx);
  c.accept('PURGE');
  c.end();
  const t = engine.store.table(full);
  if (!t) { if (ie) return EMPTY(); engine.requireTable(full); }
  engine.requirePrivilege(ctx.principal, 'MANAGE', 'TABLE', full);
  await engine.run(`DROP TABLE ${duckTable(full)}`);
  await engine.run(`DROP TABLE ${cdfTable(t)}`);
  delete engine.store.state.tables[full];
  engine.store.dropGrants(full);
  return EMPTY();
}

async function alterTable(engine, c, ctx) {
  const full = engine.resolveName(c.nameTokens().map((t) => t.value), ctx);
  const t = engine.requireTable(full);
  engine.requirePrivilege(ctx.principal, 'MODIFY', 'TABLE', full);
  if (c.accept('ADD')) {
    if (!c.accept('COLUMNS')) c.accept('COLUMN');
    let cols;
    if (c.isOp('(')) cols = parseColumns(c);
    else {
      const name = c.ident();
      const ty = parseType(c.toks, c.i); c.i = ty.next;
      const col = { name, type_text: ty.text, duck: ty.duck, nullable: true, comment: null };
      if (c.accept('COMMENT')) col.comment = c.next().value;
      cols = [col];
    }
    c.end();
    const v = engine.nextVersion(t);
    await addColumns(engine, t, full, cols);
    engine.commit(t, v, ctx, 'ADD COLUMNS', { columns: JSON.stringify(cols.map((x) => ({ column: { name: x.name, type: x.type_text.toLowerCase(), nullable: true, metadata: {} } }))) });
    return EMPTY();
  }
  if (c.accept('SET', 'TBLPROPERTIES')) {
    const props = parseProperties(c);
    c.end();
    const v = engine.nextVersion(t);
    Object.assign(t.properties, props);
    engine.commit(t, v, ctx, 'SET TBLPROPERTIES', { properties: JSON.stringify(props) });
    return EMPTY();
  }
  if (c.accept('UNSET', 'TBLPROPERTIES')) {
    c.accept('IF', 'EXISTS');
    const keys = Object.keys(parseProperties(c));
    c.end();
    const v = engine.nextVersion(t);
    for (const k of keys) delete t.properties[k];
    engine.commit(t, v, ctx, 'UNSET TBLPROPERTIES', { properties: JSON.stringify(keys) });
    return EMPTY();
  }
  throw unsupported(`ALTER TABLE ... ${c.peek().text}`);
}

/** Adds columns to a table, its DuckDB storage and its change feed (fails on an existing name). */
export async function addColumns(engine, t, full, cols) {
  for (const col of cols) {
    if (t.columns.some((x) => x.name.toLowerCase() === col.name.toLowerCase())) {
      throw new SqlError('FIELD_ALREADY_EXISTS', '42710', `Cannot add column, because \`${col.name}\` already exists in ${quoteName(splitName(full))}.`);
    }
    if (col.position) throw unsupported('ADD COLUMNS ... FIRST/AFTER');
    await engine.run(`ALTER TABLE ${duckTable(full)} ADD COLUMN ${qid(col.name)} ${col.duck}`);
    // The change feed keeps its three metadata columns last: rebuild it with the new column inserted.
    const cdf = cdfTable(t);
    const names = t.columns.map((x) => qid(x.name)).join(', ');
    await engine.run(`CREATE TEMP TABLE __dbx_cdf_copy AS SELECT * FROM ${cdf}`);
    await engine.run(`DROP TABLE ${cdf}`);
    await engine.run(`CREATE TABLE ${cdf} AS SELECT ${names}${names ? ', ' : ''}NULL::${col.duck} AS ${qid(col.name)}, _change_type, _commit_version, _commit_timestamp FROM __dbx_cdf_copy`);
    await engine.run('DROP TABLE temp.__dbx_cdf_copy');
    t.columns.push({ name: col.name, type_text: col.type_text, nullable: true, comment: col.comment ?? null });
  }
}

async function describe(engine, c, ctx) {
  if (c.accept('HISTORY')) {
    const full = engine.resolveName(c.nameTokens().map((t) => t.value), ctx);
    let limit = Infinity;
    if (c.accept('LIMIT')) limit = Number(c.next().value);
    c.end();
    const t = engine.requireTable(full);
    engine.requirePrivilege(ctx.principal, 'SELECT', 'TABLE', full);
    const cols = [['version', 'BIGINT'], ['timestamp', 'TIMESTAMP'], ['userId', 'STRING'], ['userName', 'STRING'], ['operation', 'STRING'],
      ['operationParameters', 'MAP<STRING, STRING>'], ['job', 'STRUCT<jobId: STRING, jobName: STRING, runId: STRING>'],
      ['notebook', 'STRUCT<notebookId: STRING>'], ['clusterId', 'STRING'], ['readVersion', 'BIGINT'], ['isolationLevel', 'STRING'],
      ['isBlindAppend', 'BOOLEAN'], ['operationMetrics', 'MAP<STRING, STRING>'], ['userMetadata', 'STRING'], ['engineInfo', 'STRING']];
    const strMap = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)])));
    const rows = [...t.history].reverse().slice(0, limit).map((h) => [BigInt(h.version), new Date(h.timestamp).toISOString().replace('.000Z', 'Z'), h.userId, h.userName,
      h.operation, strMap(h.operationParameters), null, null, null, h.readVersion === null ? null : BigInt(h.readVersion), h.isolationLevel,
      h.isBlindAppend, strMap(h.operationMetrics), null, 'dbx-local Delta-emulation']);
    return { columns: cols.map(([n, ty]) => columnInfo(n, ty)), rows };
  }
  if (c.isWord(['DETAIL', 'FUNCTION', 'SCHEMA', 'DATABASE', 'CATALOG', 'QUERY', 'VOLUME'])) throw unsupported(`DESCRIBE ${c.peek().upper}`);
  c.accept('TABLE');
  const extended = c.accept('EXTENDED') || c.accept('FORMATTED');
  const full = engine.resolveName(c.nameTokens().map((t) => t.value), ctx);
  c.end();
  const t = engine.requireTable(full);
  engine.requirePrivilege(ctx.principal, 'SELECT', 'TABLE', full);
  const rows = t.columns.map((col) => [col.name, col.type_text.toLowerCase(), col.comment ?? null]);
  if (extended) {
    rows.push(['', '', ''], ['# Detailed Table Information', '', ''], ['Catalog', t.catalog_name, ''], ['Database', t.schema_name, ''],
      ['Table', t.name, ''], ['Owner', t.owner, ''], ['Type', 'MANAGED', ''], ['Provider', 'delta', ''],
      ['Table Properties', `[${Object.entries(t.properties).map(([k, v]) => `${k}=${v}`).join(',')}]`, '']);
  }
  return { columns: [columnInfo('col_name', 'STRING'), columnInfo('data_type', 'STRING'), columnInfo('comment', 'STRING')], rows };
}

async function show(engine, c, ctx) {
  const st = engine.store.state;
  if (c.accept('TABLES')) {
    let [cat, sch] = [ctx.catalog, ctx.schema];
    if (c.accept('IN') || c.accept('FROM')) { const p = c.nameTokens().map((t) => t.value.toLowerCase()); [cat, sch] = p.length === 1 ? [ctx.catalog, p[0]] : p; }
    c.end();
    engine.requireSchema(`${cat}.${sch}`);
    engine.requirePrivilege(ctx.principal, 'USE SCHEMA', 'SCHEMA', `${cat}.${sch}`);
    const rows = Object.keys(st.tables).filter((f) => f.startsWith(`${cat}.${sch}.`) && canSee(engine.store, ctx.principal, 'TABLE', f)).sort()
      .map((f) => [sch, splitName(f)[2], false]);
    return { columns: [columnInfo('database', 'STRING'), columnInfo('tableName', 'STRING'), columnInfo('isTemporary', 'BOOLEAN')], rows };
  }
  if (c.accept('SCHEMAS') || c.accept('DATABASES')) {
    let cat = ctx.catalog;
    if (c.accept('IN') || c.accept('FROM')) cat = c.ident().toLowerCase();
    c.end();
    if (!engine.store.catalog(cat)) throw catalogNotFound(cat);
    const rows = Object.values(st.schemas).filter((s) => s.catalog_name === cat && canSee(engine.store, ctx.principal, 'SCHEMA', `${cat}.${s.name}`)).map((s) => [s.name]).sort();
    return { columns: [columnInfo('databaseName', 'STRING')], rows };
  }
  if (c.accept('CATALOGS')) {
    c.end();
    return { columns: [columnInfo('catalog', 'STRING')], rows: Object.keys(st.catalogs).filter((n) => canSee(engine.store, ctx.principal, 'CATALOG', n)).sort().map((n) => [n]) };
  }
  if (c.accept('GRANTS') || c.accept('GRANT')) {
    let who = null;
    if (!c.isWord('ON')) who = c.next().value;
    c.expect('ON');
    const [type, full] = securable(engine, c, ctx);
    c.end();
    const chain = securableChain(type, full);
    const rows = [];
    for (const [ty, n] of chain) {
      for (const g of engine.store.grantsOn(ty, n)) {
        if (who && g.principal !== who) continue;
        for (const p of g.privileges) rows.push([g.principal, p, ty, n]);
      }
    }
    return { columns: ['principal', 'actionType', 'objectType', 'objectKey'].map((n) => columnInfo(n, 'STRING')), rows };
  }
  throw unsupported(`SHOW ${c.peek().text}`);
}

// Securable after ON: CATALOG c | SCHEMA s | [TABLE] t | VOLUME v -> [TYPE, fullName] (must exist).
function securable(engine, c, ctx) {
  let type = 'TABLE';
  if (c.accept('CATALOG')) type = 'CATALOG';
  else if (c.accept('SCHEMA') || c.accept('DATABASE')) type = 'SCHEMA';
  else if (c.accept('VOLUME')) type = 'VOLUME';
  else if (c.isWord(['METASTORE', 'FUNCTION', 'VIEW', 'EXTERNAL', 'STORAGE', 'CONNECTION', 'SHARE', 'ANY'])) throw unsupported(`securable ${c.peek().upper}`);
  else c.accept('TABLE');
  const parts = c.nameTokens().map((t) => t.value.toLowerCase());
  let full;
  if (type === 'CATALOG') full = parts.join('.');
  else if (type === 'SCHEMA') full = parts.length === 1 ? `${ctx.catalog}.${parts[0]}` : parts.join('.');
  else full = engine.resolveName(parts, ctx);
  if (type === 'CATALOG' && !engine.store.catalog(full)) throw catalogNotFound(full);
  if (type === 'SCHEMA') engine.requireSchema(full);
  if (type === 'TABLE') engine.requireTable(full);
  if (type === 'VOLUME' && !engine.store.volume(full)) throw new SqlError('VOLUME_NOT_FOUND', '42704', `Volume ${quoteName(splitName(full))} does not exist.`);
  return [type, full];
}

async function grant(engine, c, ctx, isGrant) {
  const privs = [];
  for (;;) {
    const words = [];
    while (c.peek().type === 'word' && !c.isWord('ON') && !(words.length && c.isOp(','))) words.push(c.next().upper);
    if (!words.length) throw syntaxError(c.peek().text);
    privs.push(words.join(' ') === 'ALL' ? 'ALL PRIVILEGES' : words.join(' '));
    if (c.acceptOp(',')) continue;
    break;
  }
  c.expect('ON');
  const [type, full] = securable(engine, c, ctx);
  if (isGrant) c.expect('TO'); else c.expect('FROM');
  const pt = c.next();
  if (!(isIdent(pt) || pt.type === 'string')) throw syntaxError(pt.text);
  c.end();
  for (const p of privs) {
    if (!VALID_PRIVILEGES[type].includes(p)) {
      throw new SqlError('INVALID_PARAMETER_VALUE.PRIVILEGE_NOT_APPLICABLE', '22023', `Privilege ${p} is not applicable to this entity [${full}:${type}]. If this seems unexpected, please check the privilege version of the metastore in use.`);
    }
  }
  engine.requirePrivilege(ctx.principal, 'MANAGE', type, full);
  if (isGrant) engine.requirePrincipal(pt.value);
  engine.store.changeGrant(type, full, pt.value, isGrant ? privs : [], isGrant ? [] : privs);
  return EMPTY();
}
