// Every permission rule of dbx-local, in one place: Unity Catalog privileges (which privilege
// applies to which securable, inheritance, USE CATALOG / USE SCHEMA on the parents, ownership,
// visibility) and SQL warehouse permission levels (who may see, use, start, stop a warehouse and
// change its permissions). The rules read the metadata Store's grants and owners and the
// workspace's warehouse ACL; they never change them. Callers turn a refusal into the error their
// API answers with (SQL INSUFFICIENT_PERMISSIONS, REST PERMISSION_DENIED).

import { splitName } from './store.mjs';

// ---------------------------------------------------------------- Unity Catalog privileges

// Privileges that may be granted per securable type (SQL spelling).
export const VALID_PRIVILEGES = {
  CATALOG: ['ALL PRIVILEGES', 'USE CATALOG', 'USE SCHEMA', 'CREATE SCHEMA', 'CREATE TABLE', 'CREATE VOLUME', 'CREATE FUNCTION',
    'CREATE MATERIALIZED VIEW', 'CREATE MODEL', 'SELECT', 'MODIFY', 'READ VOLUME', 'WRITE VOLUME', 'BROWSE', 'EXECUTE', 'MANAGE',
    'APPLY TAG', 'REFRESH'],
  SCHEMA: ['ALL PRIVILEGES', 'USE SCHEMA', 'CREATE TABLE', 'CREATE VOLUME', 'CREATE FUNCTION', 'CREATE MATERIALIZED VIEW',
    'CREATE MODEL', 'SELECT', 'MODIFY', 'READ VOLUME', 'WRITE VOLUME', 'BROWSE', 'EXECUTE', 'MANAGE', 'APPLY TAG', 'REFRESH',
    'EXTERNAL USE SCHEMA'],
  TABLE: ['ALL PRIVILEGES', 'SELECT', 'MODIFY', 'MANAGE', 'APPLY TAG', 'BROWSE', 'REFRESH'],
  VOLUME: ['ALL PRIVILEGES', 'READ VOLUME', 'WRITE VOLUME', 'MANAGE', 'APPLY TAG', 'BROWSE'],
};

// How a securable type is named in permission messages.
export const TYPE_LABEL = { CATALOG: 'Catalog', SCHEMA: 'Schema', TABLE: 'Table', VOLUME: 'Volume' };

/** [type, fullName] of the object and its parents, innermost first. */
export function securableChain(type, full) {
  const p = splitName(full);
  const out = [[type, full]];
  if (type === 'TABLE' || type === 'VOLUME') out.push(['SCHEMA', `${p[0]}.${p[1]}`], ['CATALOG', p[0]]);
  if (type === 'SCHEMA') out.push(['CATALOG', p[0]]);
  return out;
}

/**
 * The securables whose grants the effective permissions of `fullName` include, outermost first,
 * itself included, as {type, name}: its catalog, its schema, and a table or volume itself.
 */
export function inheritedFrom(type, fullName) {
  const parts = fullName.split('.');
  const chain = [{ type: 'CATALOG', name: parts[0] }];
  if (parts.length > 1) chain.push({ type: 'SCHEMA', name: parts.slice(0, 2).join('.') });
  if (type === 'TABLE' || type === 'VOLUME') chain.push({ type, name: fullName });
  return chain;
}

/** True when the principal owns the object or one of its parents. */
export function isOwner(store, principal, type, full) {
  return securableChain(type, full).some(([t, n]) => store.object(t, n)?.owner === principal.name);
}

/** True when the principal holds priv on the object directly or through a parent's grant. */
export function holds(store, principal, priv, type, full) {
  return securableChain(type, full).some(([t, n]) => store.grantsOn(t, n).some((g) => g.principal === principal.name
    && (g.privileges.includes(priv) || g.privileges.includes('ALL PRIVILEGES'))));
}

/**
 * Unity Catalog check: admins and owners pass; otherwise priv must be held (inherited) and USE
 * CATALOG / USE SCHEMA on the parents. Returns the first missing [privilege, type, name] or null.
 */
export function missingPrivilege(store, principal, priv, type, full) {
  if (!principal || principal.admin) return null;
  const p = splitName(full);
  const needs = [];
  if (type !== 'CATALOG' || priv !== 'USE CATALOG') needs.push(['USE CATALOG', 'CATALOG', p[0]]);
  if (type === 'TABLE' || type === 'VOLUME' || (type === 'SCHEMA' && priv !== 'USE SCHEMA')) needs.push(['USE SCHEMA', 'SCHEMA', `${p[0]}.${p[1]}`]);
  needs.push([priv, type, full]);
  for (const [pv, t, n] of needs) {
    if (isOwner(store, principal, t, n)) continue;
    if (pv === 'MANAGE' || pv === 'OWNERSHIP') { if (holds(store, principal, 'MANAGE', t, n)) continue; return [pv, t, n]; }
    if (!holds(store, principal, pv, t, n)) return [pv, t, n];
  }
  return null;
}

/** True when the principal owns the object (or a parent), is an admin, or holds any privilege on it or a parent. */
export function mayInspect(store, principal, type, full) {
  if (principal.admin || isOwner(store, principal, type, full)) return true;
  return securableChain(type, full).some(([t, n]) => store.grantsOn(t, n).some((g) => g.principal === principal.name && g.privileges.length > 0));
}

/**
 * Whether schema or volume lists show the object, as the Unity Catalog list APIs do: to admins
 * and owners (of the object or a parent) and to holders (directly or inherited) of one of privs.
 */
export function mayUse(store, principal, type, full, privs) {
  if (!principal || principal.admin || isOwner(store, principal, type, full)) return true;
  return privs.some((p) => holds(store, principal, p, type, full));
}

/** True when the principal holds any privilege on the object or a child, or owns it (visibility). */
export function canSee(store, principal, type, full) {
  if (!principal || principal.admin || isOwner(store, principal, type, full)) return true;
  const inside = (n) => n === full || n.startsWith(full + '.');
  const parents = securableChain(type, full).map(([, n]) => n);
  return store.state.grants.some((g) => g.principal === principal.name && (inside(g.full_name) || parents.includes(g.full_name)));
}

/**
 * Unity Catalog table metadata rule (tables API docs): admins, owners of the catalog, owners of
 * the schema with USE CATALOG, or USE CATALOG + USE SCHEMA with table ownership or SELECT get
 * the full TableInfo. BROWSE (held on the table or a parent) shows it only when the caller asks
 * with include_browse, marked browse_only. Returns 'full', 'browse' or null.
 */
export function tableAccess(store, principal, full) {
  if (missingPrivilege(store, principal, 'SELECT', 'TABLE', full) === null) return 'full';
  return holds(store, principal, 'BROWSE', 'TABLE', full) ? 'browse' : null;
}

// ---------------------------------------------------------------- SQL warehouse permissions

/*
 * Databricks' SQL warehouse access control page
 * (https://docs.databricks.com/en/security/auth-authz/access-control/sql-endpoint-acl.html)
 * gives each level its abilities: Can Use sees the warehouse's details and starts it (and so runs
 * statements on it); Is Owner and Can Manage may also stop, edit and delete it, see all its
 * queries and change its permissions. The Permissions API also accepts CAN_VIEW and CAN_MONITOR,
 * which that table does not list: as their names say, they see the warehouse (CAN_MONITOR also
 * its queries and monitoring, which dbx-local does not emulate) and neither uses nor starts it.
 * For what dbx-local emulates this gives one order, lowest first:
 *   CAN_VIEW = CAN_MONITOR < CAN_USE < CAN_MANAGE = IS_OWNER.
 */

// Every level the permissions API accepts, in the order permissionLevels lists them.
export const WAREHOUSE_LEVELS = ['CAN_VIEW', 'CAN_MONITOR', 'CAN_USE', 'CAN_MANAGE', 'IS_OWNER'];

// For each level an operation requires, the held levels that satisfy it.
const WAREHOUSE_SATISFIES = {
  CAN_VIEW: ['CAN_VIEW', 'CAN_MONITOR', 'CAN_USE', 'CAN_MANAGE', 'IS_OWNER'], // see the warehouse, its permission levels
  CAN_USE: ['CAN_USE', 'CAN_MANAGE', 'IS_OWNER'], // run statements, start
  CAN_MANAGE: ['CAN_MANAGE', 'IS_OWNER'], // stop, read and change the permissions
};

/** Levels a principal holds directly on warehouse id in acl ({warehouse_id, principal, permission_level}[]); admins hold CAN_MANAGE. */
export function warehouseLevels(acl, principal, id) {
  const levels = acl.filter((e) => e.warehouse_id === String(id) && e.principal === principal.name).map((e) => e.permission_level);
  return principal.admin ? [...new Set(['CAN_MANAGE', ...levels])] : levels;
}

/** True when one of the held levels allows what required (CAN_VIEW, CAN_USE or CAN_MANAGE) allows. */
export function warehouseAllows(levels, required) {
  const ok = WAREHOUSE_SATISFIES[required];
  if (!ok) throw new Error(`no warehouse rule for ${required}`);
  return levels.some((l) => ok.includes(l));
}
