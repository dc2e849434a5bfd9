// Unity Catalog REST (catalogs, schemas, tables, volumes, grants), SQL warehouses and
// their permissions, and SCIM Me. Catalog state lives in the Engine and the permission rules
// in grants.mjs; this module speaks HTTP and shapes the JSON objects (CatalogInfo, SchemaInfo,
// TableInfo, VolumeInfo) as the Databricks REST API does.

import { ApiError } from './sql/errors.mjs';
import { ucTypeName, ucTypeJson } from './sql/types.mjs';
import { splitName } from './store.mjs';
import { WAREHOUSE_LEVELS, warehouseAllows, inheritedFrom } from './grants.mjs';

const SECURABLES = new Set(['CATALOG', 'SCHEMA', 'TABLE', 'VOLUME']);

const notFound = (code, what) => new ApiError(404, code, `${what} does not exist.`);
const badParam = (msg) => new ApiError(400, 'INVALID_PARAMETER_VALUE', msg);

function required(value, name) {
  if (value === undefined || value === null || value === '') throw badParam(`Missing required field: ${name}`);
  return value;
}

// Page tokens are opaque to clients; here they carry the offset of the next page.
function paginate(items, searchParams, key, { defaultSize = 1000, maxSize = 1000 } = {}) {
  const raw = searchParams.get('max_results') ?? searchParams.get('page_size');
  let size = raw === null ? defaultSize : Number(raw);
  if (!Number.isInteger(size) || size < 0) throw badParam(`Invalid max_results ${raw}: must be a non-negative integer.`);
  if (size === 0 || size > maxSize) size = Math.min(defaultSize, maxSize); // 0 = server chooses
  const token = searchParams.get('page_token');
  let start = 0;
  if (token) {
    start = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw badParam('Invalid page_token.');
  }
  const out = { [key]: items.slice(start, start + size) };
  if (start + size < items.length) out.next_page_token = Buffer.from(String(start + size)).toString('base64url');
  return out;
}

const flag = (searchParams, name) => searchParams.get(name) === 'true';

function securableType(segment) {
  const t = decodeURIComponent(segment).toUpperCase();
  if (!SECURABLES.has(t)) throw badParam(`Unsupported securable type ${segment}.`);
  return t;
}

// ---------------------------------------------------------------- Unity Catalog objects
// Each takes the Engine and an existing object's metadata (or full name) and returns the JSON
// the REST API answers with; the caller has checked existence and visibility.

/** CatalogInfo of catalog metadata c. */
export function catalogInfo(engine, c) {
  return { name: c.name, owner: c.owner, comment: c.comment ?? undefined, metastore_id: engine.store.state.metastore_id, created_at: c.created_at, created_by: c.created_by, updated_at: c.updated_at, updated_by: c.updated_by, catalog_type: 'MANAGED_CATALOG', full_name: c.name, id: c.id, securable_type: 'CATALOG', isolation_mode: 'OPEN' };
}

/** SchemaInfo of schema `catalog.schema`. */
export function schemaInfo(engine, full) {
  const s = engine.store.schema(full);
  return { name: s.name, catalog_name: s.catalog_name, full_name: full, owner: s.owner, comment: s.comment ?? undefined, metastore_id: engine.store.state.metastore_id, schema_id: s.id, created_at: s.created_at, created_by: s.created_by, updated_at: s.updated_at, updated_by: s.updated_by, securable_type: 'SCHEMA' };
}

// type_precision / type_scale of a column: those of a DECIMAL, else 0.
function decimalInfo(text) {
  const m = /^DECIMAL\((\d+),(\d+)\)$/.exec(text);
  return m ? { type_precision: Number(m[1]), type_scale: Number(m[2]) } : { type_precision: 0, type_scale: 0 };
}

/** TableInfo (with columns and properties) of table `catalog.schema.table`. */
export function tableInfo(engine, full) {
  const t = engine.store.table(full);
  const [c, s, n] = splitName(full);
  return {
    name: n, catalog_name: c, schema_name: s, full_name: full, table_type: 'MANAGED', data_source_format: 'DELTA',
    columns: t.columns.map((col, i) => ({
      name: col.name, position: i, type_name: ucTypeName(col.type_text), type_text: col.type_text.toLowerCase(),
      type_json: ucTypeJson(col.name, col.type_text, col.nullable), ...decimalInfo(col.type_text), nullable: col.nullable,
      ...(col.comment ? { comment: col.comment } : {}),
    })),
    properties: { ...t.properties }, owner: t.owner, comment: t.comment ?? undefined, table_id: t.table_id,
    created_at: t.created_at, created_by: t.created_by, updated_at: t.updated_at, updated_by: t.updated_by,
    storage_location: `file://${engine.tableDir(t)}`, metastore_id: engine.store.state.metastore_id,
    securable_type: 'TABLE',
  };
}

/** VolumeInfo of volume `catalog.schema.volume`. */
export function volumeInfo(engine, full) {
  const v = engine.store.volume(full);
  const [c, s, n] = splitName(full);
  return { catalog_name: c, schema_name: s, name: n, full_name: full, volume_type: 'MANAGED', volume_id: v.volume_id, storage_location: `file://${engine.volumeDir(c, s, n)}`, owner: v.owner, comment: v.comment ?? undefined, created_at: v.created_at, created_by: v.created_by, updated_at: v.updated_at, updated_by: v.updated_by, metastore_id: engine.store.state.metastore_id, securable_type: 'VOLUME' };
}

// ---------------------------------------------------------------- SQL warehouses and identity

function warehouseInfo(ws, w) {
  const host = new URL(ws.baseUrl).host;
  return {
    id: w.id,
    name: w.name,
    state: w.state,
    cluster_size: 'X-Small',
    min_num_clusters: 1,
    max_num_clusters: 1,
    num_clusters: w.state === 'RUNNING' ? 1 : 0,
    num_active_sessions: 0,
    auto_stop_mins: 10,
    warehouse_type: 'PRO',
    enable_serverless_compute: true,
    enable_photon: true,
    spot_instance_policy: 'COST_OPTIMIZED',
    channel: { name: 'CHANNEL_NAME_CURRENT' },
    creator_name: 'admin@dbx.local',
    health: { status: 'HEALTHY' },
    jdbc_url: `jdbc:databricks://${host}/default;transportMode=http;ssl=0;httpPath=/sql/1.0/warehouses/${w.id};`,
    odbc_params: { hostname: new URL(ws.baseUrl).hostname, path: `/sql/1.0/warehouses/${w.id}`, protocol: 'http', port: Number(new URL(ws.baseUrl).port) },
  };
}

function warehouseAcl(ws, w) {
  const byPrincipal = new Map();
  for (const e of ws.warehouseAcl.filter((x) => x.warehouse_id === w.id)) {
    if (!byPrincipal.has(e.principal)) byPrincipal.set(e.principal, []);
    byPrincipal.get(e.principal).push({ permission_level: e.permission_level, inherited: false });
  }
  const acl = [{ group_name: 'admins', all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: true, inherited_from_object: ['/sql/warehouses/'] }] }];
  for (const [name, perms] of byPrincipal) {
    const rec = ws.recordByName(name);
    const who = rec?.principal.kind === 'service_principal' ? { service_principal_name: name } : { user_name: name };
    acl.push({ ...who, display_name: rec?.principal.displayName ?? name, all_permissions: perms });
  }
  return { object_id: `/sql/warehouses/${w.id}`, object_type: 'warehouses', access_control_list: acl };
}

// Applies an access_control_list request body; `replace` drops existing direct grants first (PUT).
function updateWarehouseAcl(ws, w, body, replace) {
  const entries = body.access_control_list;
  if (!Array.isArray(entries)) throw badParam('access_control_list must be an array.');
  const parsed = entries.map((e) => {
    if (e.group_name) throw badParam(`Group ${e.group_name}: groups are not emulated by dbx-local.`);
    const name = e.user_name ?? e.service_principal_name;
    if (!name) throw badParam('Each entry needs user_name or service_principal_name.');
    if (!ws.recordByName(name)) throw badParam(`Principal ${name} does not exist.`);
    if (!WAREHOUSE_LEVELS.includes(e.permission_level)) throw badParam(`Invalid permission_level ${e.permission_level}.`);
    return { warehouse_id: w.id, principal: name, permission_level: e.permission_level };
  });
  if (replace) ws.warehouseAcl = ws.warehouseAcl.filter((x) => x.warehouse_id !== w.id);
  for (const p of parsed) {
    if (!ws.warehouseAcl.some((x) => x.warehouse_id === p.warehouse_id && x.principal === p.principal && x.permission_level === p.permission_level)) ws.warehouseAcl.push(p);
  }
}

function scimMe(ws, principal) {
  const rec = ws.recordByName(principal.name);
  const me = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: rec?.id,
    userName: principal.name,
    displayName: principal.displayName,
    active: true,
    groups: principal.admin ? [{ display: 'admins', type: 'direct' }, { display: 'users', type: 'direct' }] : [{ display: 'users', type: 'direct' }],
  };
  if (principal.kind === 'user') me.emails = [{ type: 'work', value: principal.name, primary: true }];
  else me.applicationId = principal.name;
  return me;
}

// ---------------------------------------------------------------- routes

// A path parameter of the matched route, URL-decoded.
const pathName = (ctx, i = 0) => decodeURIComponent(ctx.params[i]);

// The warehouse named by the path, after checking the caller holds a level that allows minimum.
function warehouseFor(ws, ctx, minimum) {
  const w = ws.getWarehouse(pathName(ctx));
  if (!w) throw notFound('RESOURCE_DOES_NOT_EXIST', `Warehouse ${pathName(ctx)}`);
  if (!warehouseAllows(ws.warehousePermissions(ctx.principal, w.id), minimum)) {
    throw new ApiError(403, 'PERMISSION_DENIED', `User ${ctx.principal.name} does not have ${minimum} permission on warehouse ${w.id}.`);
  }
  return w;
}

// Catalogs and schemas: list and get.
function catalogRoutes(ws) {
  return [
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/catalogs$/, handler: async (ctx) => {
      const all = await ws.engine.listCatalogs(ctx.principal);
      ctx.send(200, paginate(all, ctx.url.searchParams, 'catalogs'));
    } },
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/catalogs\/([^/]+)$/, handler: async (ctx) => {
      const c = await ws.engine.getCatalog(pathName(ctx), ctx.principal);
      if (!c) throw notFound('CATALOG_DOES_NOT_EXIST', `Catalog '${pathName(ctx)}'`);
      ctx.send(200, c);
    } },
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/schemas$/, handler: async (ctx) => {
      const catalog = required(ctx.url.searchParams.get('catalog_name'), 'catalog_name');
      if (!(await ws.engine.getCatalog(catalog, ctx.principal))) throw notFound('CATALOG_DOES_NOT_EXIST', `Catalog '${catalog}'`);
      const all = await ws.engine.listSchemas(catalog, ctx.principal);
      ctx.send(200, paginate(all, ctx.url.searchParams, 'schemas'));
    } },
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/schemas\/([^/]+)$/, handler: async (ctx) => {
      const s = await ws.engine.getSchema(pathName(ctx), ctx.principal);
      if (!s) throw notFound('SCHEMA_DOES_NOT_EXIST', `Schema '${pathName(ctx)}'`);
      ctx.send(200, s);
    } },
  ];
}

// Tables: list (paged, with omissions), get, exists, delete.
function tableRoutes(ws) {
  return [
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/tables$/, handler: async (ctx) => {
      const sp = ctx.url.searchParams;
      const catalog = required(sp.get('catalog_name'), 'catalog_name');
      const schema = required(sp.get('schema_name'), 'schema_name');
      if (!(await ws.engine.getSchema(`${catalog}.${schema}`, ctx.principal))) throw notFound('SCHEMA_DOES_NOT_EXIST', `Schema '${catalog}.${schema}'`);
      let tables = await ws.engine.listTables(catalog, schema, ctx.principal, { includeBrowse: flag(sp, 'include_browse') });
      if (flag(sp, 'omit_columns') || flag(sp, 'omit_properties')) {
        tables = tables.map((t) => {
          const copy = { ...t };
          if (flag(sp, 'omit_columns')) delete copy.columns;
          if (flag(sp, 'omit_properties')) delete copy.properties;
          return copy;
        });
      }
      ctx.send(200, paginate(tables, sp, 'tables', { defaultSize: 1000, maxSize: 50 * 1000 }));
    } },
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/tables\/([^/]+)\/exists$/, handler: async (ctx) => {
      ctx.send(200, { table_exists: await ws.engine.tableExists(pathName(ctx), ctx.principal) });
    } },
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/tables\/([^/]+)$/, handler: async (ctx) => {
      // include_delta_metadata and include_manifest_capabilities change nothing here.
      const t = await ws.engine.getTable(pathName(ctx), ctx.principal, { includeBrowse: flag(ctx.url.searchParams, 'include_browse') });
      if (!t) throw notFound('TABLE_DOES_NOT_EXIST', `Table '${pathName(ctx)}'`);
      ctx.send(200, t);
    } },
    { method: 'DELETE', path: /^\/api\/2\.1\/unity-catalog\/tables\/([^/]+)$/, handler: async (ctx) => {
      await ws.engine.deleteTable(pathName(ctx), ctx.principal);
      ctx.send(200, {});
    } },
  ];
}

// Volumes: create (managed only), list, get, delete.
function volumeRoutes(ws) {
  return [
    { method: 'POST', path: /^\/api\/2\.1\/unity-catalog\/volumes$/, handler: async (ctx) => {
      const b = ctx.json();
      for (const f of ['catalog_name', 'schema_name', 'name', 'volume_type']) required(b[f], f);
      if (!['MANAGED', 'EXTERNAL'].includes(b.volume_type)) throw badParam(`Invalid volume_type ${b.volume_type}.`);
      const v = await ws.engine.createVolume(
        { catalog_name: b.catalog_name, schema_name: b.schema_name, name: b.name, volume_type: b.volume_type, comment: b.comment, storage_location: b.storage_location },
        ctx.principal,
      );
      ctx.send(200, v);
    } },
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/volumes$/, handler: async (ctx) => {
      const sp = ctx.url.searchParams;
      const catalog = required(sp.get('catalog_name'), 'catalog_name');
      const schema = required(sp.get('schema_name'), 'schema_name');
      if (!(await ws.engine.getSchema(`${catalog}.${schema}`, ctx.principal))) throw notFound('SCHEMA_DOES_NOT_EXIST', `Schema '${catalog}.${schema}'`);
      const all = await ws.engine.listVolumes(catalog, schema, ctx.principal);
      ctx.send(200, paginate(all, sp, 'volumes', { defaultSize: 10000, maxSize: 10000 }));
    } },
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/volumes\/([^/]+)$/, handler: async (ctx) => {
      const v = await ws.engine.getVolume(pathName(ctx), ctx.principal);
      if (!v) throw notFound('RESOURCE_DOES_NOT_EXIST', `Volume '${pathName(ctx)}'`);
      ctx.send(200, v);
    } },
    { method: 'DELETE', path: /^\/api\/2\.1\/unity-catalog\/volumes\/([^/]+)$/, handler: async (ctx) => {
      if (!(await ws.engine.getVolume(pathName(ctx), ctx.principal))) throw notFound('RESOURCE_DOES_NOT_EXIST', `Volume '${pathName(ctx)}'`);
      await ws.engine.deleteVolume(pathName(ctx), ctx.principal);
      ctx.send(200, {});
    } },
  ];
}

// Unity Catalog grants: read and change direct grants, read effective ones.
function grantRoutes(ws) {
  return [
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/permissions\/([^/]+)\/([^/]+)$/, handler: async (ctx) => {
      const type = securableType(ctx.params[0]);
      const r = await ws.engine.getPermissions(type, pathName(ctx, 1), ctx.url.searchParams.get('principal') ?? undefined, ctx.principal);
      ctx.send(200, r);
    } },
    { method: 'PATCH', path: /^\/api\/2\.1\/unity-catalog\/permissions\/([^/]+)\/([^/]+)$/, handler: async (ctx) => {
      const type = securableType(ctx.params[0]);
      const { changes } = ctx.json();
      if (!Array.isArray(changes)) throw badParam('changes must be an array.');
      const r = await ws.engine.updatePermissions(type, pathName(ctx, 1), changes, ctx.principal);
      ctx.send(200, r);
    } },
    { method: 'GET', path: /^\/api\/2\.1\/unity-catalog\/effective-permissions\/([^/]+)\/([^/]+)$/, handler: async (ctx) => {
      // Effective = direct grants on the securable plus those inherited from its parents.
      const type = securableType(ctx.params[0]);
      const filter = ctx.url.searchParams.get('principal') ?? undefined;
      const byPrincipal = new Map();
      // Visibility is decided on the securable asked for; its parents' grants are part of the answer.
      const target = { type, name: pathName(ctx, 1) };
      for (const s of inheritedFrom(type, pathName(ctx, 1))) {
        const asker = s.type === target.type && s.name === target.name ? ctx.principal : undefined;
        const { privilege_assignments: assignments = [] } = await ws.engine.getPermissions(s.type, s.name, filter, asker);
        for (const a of assignments) {
          if (!byPrincipal.has(a.principal)) byPrincipal.set(a.principal, []);
          for (const p of a.privileges) {
            const entry = { privilege: p };
            if (s.type !== type || s.name !== pathName(ctx, 1)) Object.assign(entry, { inherited_from_type: s.type, inherited_from_name: s.name });
            byPrincipal.get(a.principal).push(entry);
          }
        }
      }
      ctx.send(200, { privilege_assignments: [...byPrincipal].map(([principal, privileges]) => ({ principal, privileges })) });
    } },
  ];
}

// SQL warehouses: list, get, start, stop, and their permissions (rules in grants.mjs).
function warehouseRoutes(ws) {
  return [
    { method: 'GET', path: /^\/api\/2\.0\/sql\/warehouses$/, handler: async (ctx) => {
      const visible = [...ws.warehouses.values()].filter((w) => warehouseAllows(ws.warehousePermissions(ctx.principal, w.id), 'CAN_VIEW'));
      ctx.send(200, { warehouses: visible.map((w) => warehouseInfo(ws, w)) });
    } },
    { method: 'GET', path: /^\/api\/2\.0\/sql\/warehouses\/([^/]+)$/, handler: async (ctx) => {
      ctx.send(200, warehouseInfo(ws, warehouseFor(ws, ctx, 'CAN_VIEW')));
    } },
    { method: 'POST', path: /^\/api\/2\.0\/sql\/warehouses\/([^/]+)\/start$/, handler: async (ctx) => {
      const w = warehouseFor(ws, ctx, 'CAN_USE');
      ws.startWarehouse(w.id); // asynchronous, as on Databricks: poll GET for RUNNING
      ctx.send(200, {});
    } },
    { method: 'POST', path: /^\/api\/2\.0\/sql\/warehouses\/([^/]+)\/stop$/, handler: async (ctx) => {
      ws.stopWarehouse(warehouseFor(ws, ctx, 'CAN_MANAGE').id);
      ctx.send(200, {});
    } },
    { method: 'GET', path: /^\/api\/2\.0\/permissions\/warehouses\/([^/]+)$/, handler: async (ctx) => {
      ctx.send(200, warehouseAcl(ws, warehouseFor(ws, ctx, 'CAN_MANAGE')));
    } },
    { method: 'PATCH', path: /^\/api\/2\.0\/permissions\/warehouses\/([^/]+)$/, handler: async (ctx) => {
      const w = warehouseFor(ws, ctx, 'CAN_MANAGE');
      updateWarehouseAcl(ws, w, ctx.json(), false);
      ctx.send(200, warehouseAcl(ws, w));
    } },
    { method: 'PUT', path: /^\/api\/2\.0\/permissions\/warehouses\/([^/]+)$/, handler: async (ctx) => {
      const w = warehouseFor(ws, ctx, 'CAN_MANAGE');
      updateWarehouseAcl(ws, w, ctx.json(), true);
      ctx.send(200, warehouseAcl(ws, w));
    } },
    { method: 'GET', path: /^\/api\/2\.0\/permissions\/warehouses\/([^/]+)\/permissionLevels$/, handler: async (ctx) => {
      warehouseFor(ws, ctx, 'CAN_VIEW');
      ctx.send(200, { permission_levels: WAREHOUSE_LEVELS.filter((l) => l !== 'IS_OWNER').map((l) => ({ permission_level: l, description: `Can ${l.slice(4).toLowerCase()}` })) });
    } },
  ];
}

// Identity: SCIM Me.
function identityRoutes(ws) {
  return [
    { method: 'GET', path: /^\/api\/2\.0\/preview\/scim\/v2\/Me$/, handler: async (ctx) => {
      ctx.send(200, scimMe(ws, ctx.principal), { 'X-Databricks-Org-Id': ws.workspaceId });
    } },
  ];
}

// Routes for UC REST, warehouses and SCIM Me.
export function routes(ws) {
  return [...catalogRoutes(ws), ...tableRoutes(ws), ...volumeRoutes(ws), ...grantRoutes(ws), ...warehouseRoutes(ws), ...identityRoutes(ws)];
}
