// The emulated workspace: configuration, principals (users, service principals, PATs,
// OAuth secrets, federation policies; workspace and account admins), settings, issued OAuth
// tokens and SQL warehouses.
// It also opens the Engine, which owns every catalog object and grant.
//
// The JSON config is remembered in the data folder on first start, so a restart without
// --config serves the same principals; a --config given later replaces principals and
// settings (catalog objects and grants live in the engine's persisted state).

import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { openEngine } from './engine.mjs';
import { warehouseLevels, warehouseAllows } from './grants.mjs';
import { loadFederationPolicies } from './federation.mjs';

export const DEFAULT_WAREHOUSE_ID = '0000000000000001';
export const DEFAULT_ADMIN_TOKEN = 'dapi-local-admin';

const DEFAULT_SETTINGS = {
  token_ttl_seconds: 3600,
  link_ttl_seconds: 900,
  chunk_rows: 10000,
  chunk_bytes: 4194304,
  inline_limit_bytes: 26214400,
  results_ttl_seconds: 3600,
};

const SAVED_CONFIG = 'workspace-config.json';

// Reads the config to use for dataDir: the explicit file when given (and remembers it),
// else the one remembered from an earlier start, else the default config {}.
export async function loadConfig(dataDir, configFile) {
  const saved = path.join(dataDir, SAVED_CONFIG);
  let text = null;
  if (configFile) text = await readFile(configFile, 'utf8');
  else text = await readFile(saved, 'utf8').catch((e) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
  const config = text === null ? {} : JSON.parse(text);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new Error('config must be a JSON object');
  }
  await mkdir(dataDir, { recursive: true });
  await writeFile(saved, JSON.stringify(config, null, 2));
  return config;
}

export class Workspace {
  // config: parsed JSON config (see common brief); engine: an open Engine or null in unit tests.
  constructor(config, engine) {
    this.config = config;
    this.engine = engine;
    this.workspaceId = String(config.workspace_id ?? '1234567890123456');
    this.accountId = String(config.account_id ?? '00000000-0000-0000-0000-000000000000');
    this.settings = { ...DEFAULT_SETTINGS, ...(config.settings ?? {}) };
    this.baseUrl = null; // set by the server once it listens
    this.resultsDir = null; // set by openWorkspace: where EXTERNAL_LINKS chunks are spilled
    this.dataDir = null; // set by openWorkspace: where API-made federation policies are kept
    this.requestLog = [];
    this.faults = null; // the FaultRegistry, attached by the server

    this.users = new Map(); // user_name -> record
    this.servicePrincipals = new Map(); // application_id -> record
    this.patIndex = new Map(); // PAT -> record
    this.issuedTokens = new Map(); // OAuth access token -> { record, expiresAt }
    this.#loadPrincipals(config);

    this.warehouses = new Map();
    const whs = config.warehouses ?? [{ id: DEFAULT_WAREHOUSE_ID, name: 'Local Warehouse', state: 'RUNNING' }];
    for (const w of whs) {
      this.warehouses.set(String(w.id), {
        id: String(w.id),
        name: w.name ?? `Warehouse ${w.id}`,
        state: w.state ?? 'RUNNING',
        start_seconds: w.start_seconds ?? 2,
        startPromise: null,
      });
    }
    // Direct warehouse ACL entries { warehouse_id, principal, permission_level }. Without the
    // config key every principal may use the first warehouse, like a workspace's default one.
    const firstWarehouse = [...this.warehouses.keys()][0];
    const acl = config.warehouse_permissions
      ?? [...this.allRecords()].map((r) => ({ warehouse_id: firstWarehouse, principal: r.principal.name }));
    this.warehouseAcl = acl.map((e) => ({ warehouse_id: String(e.warehouse_id), principal: e.principal, permission_level: e.permission_level ?? 'CAN_USE' }));
  }

  #loadPrincipals(config) {
    const users = config.users ?? [{ user_name: 'admin@dbx.local', admin: true, tokens: [DEFAULT_ADMIN_TOKEN] }];
    let nextId = 5000;
    for (const u of users) {
      const rec = {
        id: String(u.id ?? nextId++),
        principal: { kind: 'user', name: u.user_name, displayName: u.display_name ?? u.user_name, admin: !!u.admin, accountAdmin: !!(u.account_admin ?? u.admin) },
        secrets: [],
        policies: [],
      };
      this.users.set(u.user_name, rec);
      for (const t of u.tokens ?? []) this.patIndex.set(t, rec);
    }
    for (const sp of config.service_principals ?? []) {
      const rec = {
        id: String(sp.id ?? nextId++),
        principal: { kind: 'service_principal', name: sp.application_id, displayName: sp.display_name ?? sp.application_id, admin: !!sp.admin, accountAdmin: !!(sp.account_admin ?? sp.admin) },
        secrets: sp.secrets ?? [],
        policies: sp.federation_policies ?? [],
      };
      this.servicePrincipals.set(sp.application_id, rec);
      for (const t of sp.tokens ?? []) this.patIndex.set(t, rec);
    }
  }

  *allRecords() {
    yield* this.users.values();
    yield* this.servicePrincipals.values();
  }

  // The principal record (user or SP) named by an email / application id, or null.
  recordByName(name) {
    return this.users.get(name) ?? this.servicePrincipals.get(name) ?? null;
  }

  // Resolves a bearer token. Returns { principal } for a valid PAT or unexpired OAuth token,
  // { expired: true } for an OAuth token past its lifetime, or null when unknown.
  resolveToken(token) {
    const pat = this.patIndex.get(token);
    if (pat) return { principal: pat.principal, record: pat };
    const issued = this.issuedTokens.get(token);
    if (!issued) return null;
    if (Date.now() >= issued.expiresAt) return { expired: true };
    return { principal: issued.record.principal, record: issued.record };
  }

  // The Principal for a valid token, else null (unknown or expired).
  principalByToken(token) {
    return this.resolveToken(token)?.principal ?? null;
  }

  // Issues an OAuth access token for a principal record; lifetime = settings.token_ttl_seconds
  // (capped by maxSeconds, e.g. the remaining life of a federated JWT).
  issueToken(record, maxSeconds = Infinity) {
    const ttl = Math.max(1, Math.floor(Math.min(Number(this.settings.token_ttl_seconds), maxSeconds)));
    // JWT-looking but opaque: clients must never parse it.
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ sub: record.principal.name, jti: randomBytes(12).toString('hex') })}.${randomBytes(24).toString('base64url')}`;
    this.issuedTokens.set(token, { record, expiresAt: Date.now() + ttl * 1000 });
    for (const [t, v] of this.issuedTokens) if (Date.now() >= v.expiresAt + 3600_000) this.issuedTokens.delete(t);
    return { token, expiresIn: ttl };
  }

  // Warehouse record {id, name, state, start_seconds} or null.
  getWarehouse(id) {
    return this.warehouses.get(String(id)) ?? null;
  }

  // Starts a warehouse: STOPPED -> STARTING -> RUNNING after start_seconds. Resolves when RUNNING.
  startWarehouse(id) {
    const w = this.getWarehouse(id);
    if (!w) return Promise.reject(new Error(`warehouse ${id} does not exist`));
    if (w.state === 'RUNNING') return Promise.resolve(w);
    if (!w.startPromise) {
      w.state = 'STARTING';
      w.startPromise = new Promise((resolve) => {
        const timer = setTimeout(() => {
          w.state = 'RUNNING';
          w.startPromise = null;
          resolve(w);
        }, Number(w.start_seconds) * 1000);
        timer.unref();
      });
    }
    return w.startPromise;
  }

  // Stops a warehouse at once (queries in flight are the statements module's business).
  stopWarehouse(id) {
    const w = this.getWarehouse(id);
    if (w) {
      w.state = 'STOPPED';
      w.startPromise = null;
    }
    return w;
  }

  // Sets a warehouse state directly (admin/test tool).
  setWarehouseState(id, state) {
    const w = this.getWarehouse(id);
    if (w) {
      w.state = state;
      w.startPromise = null;
    }
    return w;
  }

  // Permission levels a principal holds directly on a warehouse (admins: CAN_MANAGE implied).
  warehousePermissions(principal, id) {
    return warehouseLevels(this.warehouseAcl, principal, id);
  }

  // True when the principal may run statements on the warehouse (see grants.mjs: CAN_USE, CAN_MANAGE, IS_OWNER).
  canUseWarehouse(principal, id) {
    return warehouseAllows(this.warehousePermissions(principal, id), 'CAN_USE');
  }

  // Stops the engine (see Engine.close); opts.graceMs bounds the wait for a running statement.
  async close(opts) {
    if (this.engine) await this.engine.close(opts);
  }
}

// Opens the workspace for a data folder: reads/remembers the config and opens the Engine.
export async function openWorkspace({ dataDir, configFile }) {
  const config = await loadConfig(dataDir, configFile);
  const engine = await openEngine({ dataDir, config });
  const ws = new Workspace(config, engine);
  ws.dataDir = dataDir;
  await loadFederationPolicies(ws);
  // EXTERNAL_LINKS chunk files of live statements; statements do not survive a restart, nor do they.
  ws.resultsDir = path.join(dataDir, 'results');
  await rm(ws.resultsDir, { recursive: true, force: true });
  return ws;
}
