// Catalog metadata of dbx-local: catalogs, schemas, tables (Databricks column types, properties,
// version history, files loaded by COPY INTO), volumes, grants and ownership. Row data lives in
// DuckDB; this is the rest, kept as one JSON document written atomically (temp file + rename) after
// every committed statement. The privilege rules that read these grants and owners are in grants.mjs.
import { readFile, writeFile, rename } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

const FILE = 'metadata.json';

/** Splits 'a.b.c' into parts (names never contain dots in dbx-local). */
export function splitName(fullName) { return String(fullName).split('.'); }

export class Store {
  constructor(dataDir, state) {
    this.dataDir = dataDir;
    this.state = state;
  }

  /** Loads metadata.json from dataDir, or builds the initial state from config. */
  static async open(dataDir, config, now = Date.now()) {
    try {
      const state = JSON.parse(await readFile(path.join(dataDir, FILE), 'utf8'));
      return new Store(dataDir, state);
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    const state = { metastore_id: randomUUID(), catalogs: {}, schemas: {}, tables: {}, volumes: {}, grants: [] };
    const admin = (config.users ?? []).find((u) => u.admin)?.user_name ?? 'admin@dbx.local';
    const catalogs = config.catalogs ?? [{ name: 'main', owner: admin, schemas: [{ name: 'default' }] }];
    for (const c of catalogs) {
      const cname = c.name.toLowerCase();
      state.catalogs[cname] = { name: cname, owner: c.owner ?? admin, comment: c.comment ?? null, id: randomUUID(), created_at: now, created_by: c.owner ?? admin, updated_at: now, updated_by: c.owner ?? admin };
      for (const s of c.schemas ?? [{ name: 'default' }]) {
        const sname = s.name.toLowerCase();
        state.schemas[`${cname}.${sname}`] = { name: sname, catalog_name: cname, owner: s.owner ?? c.owner ?? admin, comment: s.comment ?? null, id: randomUUID(), created_at: now, created_by: c.owner ?? admin, updated_at: now, updated_by: c.owner ?? admin };
      }
    }
    for (const g of config.grants ?? []) {
      state.grants.push({ principal: g.principal, securable_type: g.securable_type.toUpperCase(), full_name: g.full_name.toLowerCase(), privileges: g.privileges.map((p) => p.toUpperCase().replace(/_/g, ' ')) });
    }
    return new Store(dataDir, state);
  }

  /** Writes the metadata atomically. */
  async save() {
    const file = path.join(this.dataDir, FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.state));
    await rename(tmp, file);
  }

  /** Deep copy of the state, to restore when a statement fails. */
  snapshot() { return structuredClone(this.state); }
  restore(snap) { this.state = snap; }

  catalog(name) { return this.state.catalogs[name] ?? null; }
  schema(full) { return this.state.schemas[full] ?? null; }
  table(full) { return this.state.tables[full] ?? null; }
  volume(full) { return this.state.volumes[full] ?? null; }

  /** Metadata object of a securable (null when absent). */
  object(type, full) {
    switch (type) {
      case 'CATALOG': return this.catalog(full);
      case 'SCHEMA': return this.schema(full);
      case 'TABLE': return this.table(full);
      case 'VOLUME': return this.volume(full);
      default: return null;
    }
  }

  /** Direct grants on one securable, as [{principal, privileges}]. */
  grantsOn(type, full) {
    return this.state.grants.filter((g) => g.securable_type === type && g.full_name === full);
  }

  /** Adds/removes privileges (SQL spelling) for a principal on a securable. */
  changeGrant(type, full, principal, add, remove) {
    let g = this.state.grants.find((x) => x.securable_type === type && x.full_name === full && x.principal === principal);
    if (!g) { g = { principal, securable_type: type, full_name: full, privileges: [] }; this.state.grants.push(g); }
    for (const p of add) if (!g.privileges.includes(p)) g.privileges.push(p);
    g.privileges = g.privileges.filter((p) => !remove.includes(p));
    if (!g.privileges.length) this.state.grants = this.state.grants.filter((x) => x !== g);
  }

  /** Drops every grant on a securable and its children (when the object is deleted). */
  dropGrants(full) {
    this.state.grants = this.state.grants.filter((g) => g.full_name !== full && !g.full_name.startsWith(full + '.'));
  }
}
