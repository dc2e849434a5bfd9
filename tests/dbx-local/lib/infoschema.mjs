// The read-only information_schema of Unity Catalog: `<catalog>.information_schema.<view>` describes
// one catalog, `system.information_schema.<view>` every catalog. Views: catalogs, schemata, tables,
// columns, volumes, with the documented column names, in the documented order. Rows are limited to
// what the querying principal may see, as elsewhere in dbx-local: catalogs it owns or holds a
// privilege on (or below), schemas it may USE or BROWSE, volumes it may read, write or BROWSE, tables
// and their columns it may read or BROWSE (admins and owners see theirs). The views
// are built from the metadata Store for each statement, as an inline DuckDB query.
import { SqlError } from './sql/errors.mjs';
import { lit, qid } from './sql/translate.mjs';
import { splitName } from './store.mjs';
import { canSee, mayUse, tableAccess } from './grants.mjs';

export const INFO_SCHEMA = 'information_schema';
export const SYSTEM_CATALOG = 'system';

// Column lists: [name, DuckDB type]. VARCHAR is STRING, INTEGER is INT, TIMESTAMPTZ is TIMESTAMP.
const S = 'VARCHAR';
const I = 'INTEGER';
const T = 'TIMESTAMPTZ';
const AUDIT = [['created', T], ['created_by', S], ['last_altered', T], ['last_altered_by', S]];
const VIEWS = {
  catalogs: [['catalog_name', S], ['catalog_owner', S], ['comment', S], ...AUDIT],
  schemata: [['catalog_name', S], ['schema_name', S], ['schema_owner', S], ['comment', S], ...AUDIT],
  tables: [['table_catalog', S], ['table_schema', S], ['table_name', S], ['table_type', S], ['is_insertable_into', S],
    ['commit_action', S], ['table_owner', S], ['comment', S], ...AUDIT, ['data_source_format', S], ['storage_path', S],
    ['storage_sub_directory', S]],
  columns: [['table_catalog', S], ['table_schema', S], ['table_name', S], ['column_name', S], ['ordinal_position', I],
    ['column_default', S], ['is_nullable', S], ['full_data_type', S], ['data_type', S], ['character_maximum_length', I],
    ['character_octet_length', S], ['numeric_precision', I], ['numeric_precision_radix', I], ['numeric_scale', I],
    ['datetime_precision', I], ['interval_type', S], ['interval_precision', I], ['maximum_cardinality', I],
    ['is_identity', S], ['identity_generation', S], ['identity_start', S], ['identity_increment', S],
    ['identity_maximum', S], ['identity_minimum', S], ['identity_cycle', S], ['is_generated', S],
    ['generation_expression', S], ['is_system_time_period_start', S], ['is_system_time_period_end', S],
    ['system_time_period_timestamp_generation', S], ['is_updatable', S], ['partition_ordinal_position', I], ['comment', S]],
  volumes: [['volume_catalog', S], ['volume_schema', S], ['volume_name', S], ['volume_type', S], ['volume_owner', S],
    ['comment', S], ...AUDIT, ['storage_location', S]],
};

/** True when full ('c.s.t') names something inside an information_schema. */
export function isInfoSchemaName(full) { return splitName(full)[1] === INFO_SCHEMA; }

/**
 * DuckDB SQL (a parenthesised query) for the information_schema view `full`, with the rows the
 * principal may see. Throws NO_SUCH_CATALOG / TABLE_OR_VIEW_NOT_FOUND for unknown names.
 */
export function infoSchemaSql(engine, full, principal) {
  const [catalog, , view] = splitName(full);
  const columns = VIEWS[view];
  if (catalog !== SYSTEM_CATALOG && !engine.store.catalog(catalog)) {
    throw new SqlError('NO_SUCH_CATALOG_EXCEPTION', '42704', `The catalog '${catalog}' was not found. Please verify the catalog name and then retry the query or command again.`);
  }
  if (!columns) {
    throw new SqlError('TABLE_OR_VIEW_NOT_FOUND', '42P01', `The table or view \`${catalog}\`.\`${INFO_SCHEMA}\`.\`${view}\` cannot be found. Verify the spelling and correctness of the schema and catalog.`);
  }
  const rows = ROWS[view](engine, principal, catalog === SYSTEM_CATALOG ? null : catalog);
  const select = columns.map(([name, type], k) => `CAST(${rows.length ? `c${k}` : 'NULL'} AS ${type}) AS ${qid(name)}`).join(', ');
  if (!rows.length) return `(SELECT ${select} LIMIT 0)`;
  const values = rows.map((r) => `(${r.map(sqlValue).join(', ')})`).join(', ');
  return `(SELECT ${select} FROM (VALUES ${values}) AS dbx_info(${columns.map((_, k) => `c${k}`).join(', ')}))`;
}

function sqlValue(v) {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return String(v);
  if (v instanceof Date) return `TIMESTAMPTZ ${lit(v.toISOString())}`;
  return lit(v);
}

const when = (ms) => (ms == null ? null : new Date(ms));
const audit = (o) => [when(o.created_at), o.created_by ?? o.owner, when(o.updated_at ?? o.created_at), o.updated_by ?? o.created_by ?? o.owner];
const inCatalog = (catalog) => (name) => catalog === null || splitName(name)[0] === catalog;

const ROWS = {
  catalogs(engine, principal, catalog) {
    const { store } = engine;
    return Object.values(store.state.catalogs)
      .filter((c) => inCatalog(catalog)(c.name) && canSee(store, principal, 'CATALOG', c.name))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((c) => [c.name, c.owner, c.comment ?? null, ...audit(c)]);
  },
  schemata(engine, principal, catalog) {
    const { store } = engine;
    return Object.keys(store.state.schemas).filter((full) => inCatalog(catalog)(full) && mayUse(store, principal, 'SCHEMA', full, ['USE SCHEMA', 'BROWSE'])).sort()
      .map((full) => { const s = store.schema(full); return [s.catalog_name, s.name, s.owner, s.comment ?? null, ...audit(s)]; });
  },
  tables(engine, principal, catalog) {
    return visibleTables(engine, principal, catalog).map((full) => {
      const t = engine.store.table(full);
      const [c, s, n] = splitName(full);
      return [c, s, n, 'MANAGED', 'YES', 'PRESERVE', t.owner, t.comment ?? null, ...audit(t), 'DELTA', `file://${engine.tableDir(t)}`, null];
    });
  },
  columns(engine, principal, catalog) {
    return visibleTables(engine, principal, catalog).flatMap((full) => {
      const [c, s, n] = splitName(full);
      return engine.store.table(full).columns.map((col, i) => [c, s, n, col.name, i + 1, null, col.nullable === false ? 'NO' : 'YES',
        col.type_text.toLowerCase(), simpleType(col.type_text), null, null, ...numeric(col.type_text), datetimePrecision(col.type_text),
        intervalType(col.type_text), null, null, 'NO', null, null, null, null, null, null, 'NO', null, 'NO', 'NO', null, 'YES', null,
        col.comment ?? null]);
    });
  },
  volumes(engine, principal, catalog) {
    const { store } = engine;
    return Object.keys(store.state.volumes).filter((full) => inCatalog(catalog)(full) && mayUse(store, principal, 'VOLUME', full, ['READ VOLUME', 'WRITE VOLUME', 'BROWSE', 'MANAGE'])).sort()
      .map((full) => {
        const v = store.volume(full);
        const [c, s, n] = splitName(full);
        return [c, s, n, 'MANAGED', v.owner, v.comment ?? null, ...audit(v), `file://${engine.volumeDir(c, s, n)}`];
      });
  },
};

// Tables whose metadata the principal may see: it may read them, or holds BROWSE (which exists to
// show metadata without access to the data).
function visibleTables(engine, principal, catalog) {
  return Object.keys(engine.store.state.tables).filter(inCatalog(catalog)).sort().filter((full) => tableAccess(engine.store, principal, full) !== null);
}

// DATA_TYPE: the type's simple name (DECIMAL, ARRAY, STRUCT, INTERVAL ...).
function simpleType(text) { return text.toUpperCase().split(/[<(\s]/)[0]; }

// [NUMERIC_PRECISION, NUMERIC_PRECISION_RADIX, NUMERIC_SCALE]: bits for binary numbers, digits for DECIMAL.
function numeric(text) {
  const bits = { TINYINT: 8, BYTE: 8, SMALLINT: 16, SHORT: 16, INT: 32, INTEGER: 32, BIGINT: 64, LONG: 64, FLOAT: 24, REAL: 24, DOUBLE: 53 };
  const u = simpleType(text);
  if (u === 'DECIMAL' || u === 'DEC' || u === 'NUMERIC') {
    const m = /\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)/.exec(text);
    return [m ? Number(m[1]) : 10, 10, m ? Number(m[2] ?? 0) : 0];
  }
  if (bits[u]) return [bits[u], 2, u === 'FLOAT' || u === 'REAL' || u === 'DOUBLE' ? null : 0];
  return [null, null, null];
}

// DATETIME_PRECISION: 0 for DATE, 3 for TIMESTAMP and for an INTERVAL ending in SECOND, 0 for other INTERVALs.
function datetimePrecision(text) {
  const u = text.toUpperCase();
  if (u === 'DATE') return 0;
  if (u.startsWith('TIMESTAMP')) return 3;
  if (u.startsWith('INTERVAL')) return /SECOND$/.test(u) ? 3 : 0;
  return null;
}

function intervalType(text) {
  const m = /^INTERVAL\s+(.+)$/i.exec(text.trim());
  return m ? m[1].toUpperCase() : null;
}
