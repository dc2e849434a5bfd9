// Service principal federation policies (workload identity federation): the account API
//   POST   /api/2.0/accounts/{account_id}/servicePrincipals/{id}/federationPolicies[?policy_id=]
//   GET    /api/2.0/accounts/{account_id}/servicePrincipals/{id}/federationPolicies[?page_size=&page_token=]
//   GET    /api/2.0/accounts/{account_id}/servicePrincipals/{id}/federationPolicies/{policy_id}
//   DELETE /api/2.0/accounts/{account_id}/servicePrincipals/{id}/federationPolicies/{policy_id}
// served on the workspace host (dbx-local has one host for both), for account admins only.
// `{id}` is the numeric id of the service principal, not its application id.
//
// The policies live on each service principal's record (rec.policies), which the token
// exchange of auth.mjs reads on every request: a created policy admits the next exchange and a
// deleted one refuses it at once. Policies of the config apply until the API changes a
// service principal's list; from then on federation-policies.json in the data folder holds
// that list (written atomically before the API answers), so they survive a restart.

import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from './sql/errors.mjs';

const FILE = 'federation-policies.json';
const POLICY_ID = /^[a-z0-9/-]{2,63}$/;
const BASE = '^/api/2\\.0/accounts/([^/]+)/servicePrincipals/([^/]+)/federationPolicies';
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

const badParam = (m) => new ApiError(400, 'INVALID_PARAMETER_VALUE', m);
const notFound = (m) => new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', m);

// Reads the policies the API wrote earlier into the records of the service principals that
// still exist (ws.dataDir must be set). Records absent from the file keep the config's.
export async function loadFederationPolicies(ws) {
  let saved;
  try {
    saved = JSON.parse(await readFile(path.join(ws.dataDir, FILE), 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') return;
    throw e;
  }
  for (const [applicationId, policies] of Object.entries(saved ?? {})) {
    const rec = ws.servicePrincipals.get(applicationId);
    if (rec && Array.isArray(policies)) {
      rec.policies = policies;
      rec.policiesFromApi = true;
    }
  }
}

// Writes every service principal list the API has changed, one write at a time.
function savePolicies(ws) {
  const doc = {};
  for (const [id, rec] of ws.servicePrincipals) if (rec.policiesFromApi) doc[id] = rec.policies;
  const text = JSON.stringify(doc, null, 2);
  const file = path.join(ws.dataDir, FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  ws.policyWrites = (ws.policyWrites ?? Promise.resolve()).catch(() => {}).then(async () => {
    await writeFile(tmp, text);
    await rename(tmp, file);
  });
  return ws.policyWrites;
}

// The policy as the API shows it; config policies get their missing output fields once.
function policyView(ws, rec, p) {
  p.policy_id ??= `policy-${randomBytes(6).toString('hex')}`;
  p.uid ??= randomUUID();
  p.create_time ??= new Date().toISOString();
  p.update_time ??= p.create_time;
  const out = {
    name: `accounts/${ws.accountId}/servicePrincipals/${rec.id}/federationPolicies/${p.policy_id}`,
    policy_id: p.policy_id,
    uid: p.uid,
    service_principal_id: Number(rec.id),
  };
  if (p.description !== undefined) out.description = p.description;
  out.oidc_policy = p.oidc_policy ?? {};
  out.create_time = p.create_time;
  out.update_time = p.update_time;
  return out;
}

// Checks the caller and the path; returns the service principal's record.
function servicePrincipalFor(ws, ctx) {
  const [accountId, spId] = ctx.params.map(decodeURIComponent);
  if (!ctx.principal.accountAdmin) {
    throw new ApiError(403, 'PERMISSION_DENIED', 'Only account admins may manage federation policies.');
  }
  if (accountId !== ws.accountId) throw notFound(`Account ${accountId} does not exist.`);
  if (!/^\d{1,19}$/.test(spId)) {
    throw badParam(`service_principal_id must be the numeric id of a service principal, not '${spId}'.`);
  }
  const rec = [...ws.servicePrincipals.values()].find((r) => r.id === spId);
  if (!rec) throw notFound(`Service principal ${spId} does not exist.`);
  return rec;
}

// Checks the oidc_policy of a create request; returns the one to store.
function checkOidcPolicy(oidc) {
  if (typeof oidc !== 'object' || oidc === null || Array.isArray(oidc)) {
    throw badParam('oidc_policy is required: {issuer, audiences, subject, subject_claim, jwks_json}.');
  }
  const known = ['issuer', 'audiences', 'subject', 'subject_claim', 'jwks_json', 'jwks_uri'];
  const extra = Object.keys(oidc).filter((k) => !known.includes(k));
  if (extra.length) throw badParam(`Unknown field oidc_policy.${extra[0]}.`);
  const text = (v) => typeof v === 'string' && v.length > 0;
  if (!text(oidc.issuer)) throw badParam('oidc_policy.issuer is required.');
  let url;
  try {
    url = new URL(oidc.issuer);
  } catch {
    url = null;
  }
  if (url?.protocol !== 'https:') throw badParam('oidc_policy.issuer must be an https URL.');
  if (!text(oidc.subject)) throw badParam('oidc_policy.subject is required for a service principal federation policy.');
  if (oidc.audiences !== undefined && !(Array.isArray(oidc.audiences) && oidc.audiences.every(text))) {
    throw badParam('oidc_policy.audiences must be a list of strings.');
  }
  if (oidc.subject_claim !== undefined && !text(oidc.subject_claim)) throw badParam('oidc_policy.subject_claim must be a string.');
  if (oidc.jwks_json !== undefined) {
    let keys;
    try {
      keys = JSON.parse(oidc.jwks_json).keys;
    } catch {
      keys = null;
    }
    if (!Array.isArray(keys)) throw badParam('oidc_policy.jwks_json must be a JSON Web Key Set: {"keys": [...]}.');
  }
  return { ...oidc };
}

// The policy of a request path, or a 404.
function policyFor(rec, policyId) {
  const p = rec.policies.find((x) => x.policy_id === policyId);
  if (!p) throw notFound(`Federation policy ${policyId} does not exist.`);
  return p;
}

export function routes(ws) {
  return [
    { method: 'POST', path: new RegExp(`${BASE}$`), handler: async (ctx) => {
      const rec = servicePrincipalFor(ws, ctx);
      const body = ctx.json();
      const policyId = ctx.url.searchParams.get('policy_id') ?? `policy-${randomBytes(6).toString('hex')}`;
      if (!POLICY_ID.test(policyId)) {
        throw badParam('policy_id must be 2 to 63 lower-case letters, digits, hyphens and slashes.');
      }
      if (body.description !== undefined && typeof body.description !== 'string') throw badParam('description must be a string.');
      const oidc = checkOidcPolicy(body.oidc_policy);
      for (const p of rec.policies) policyView(ws, rec, p); // config policies get their ids
      if (rec.policies.some((p) => p.policy_id === policyId)) {
        throw new ApiError(409, 'ALREADY_EXISTS', `Federation policy ${policyId} already exists.`);
      }
      const now = new Date().toISOString();
      const p = { policy_id: policyId, uid: randomUUID(), oidc_policy: oidc, create_time: now, update_time: now };
      if (body.description !== undefined) p.description = body.description;
      rec.policies = [...rec.policies, p];
      rec.policiesFromApi = true;
      await savePolicies(ws);
      ctx.send(200, policyView(ws, rec, p));
    } },
    { method: 'GET', path: new RegExp(`${BASE}$`), handler: async (ctx) => {
      const rec = servicePrincipalFor(ws, ctx);
      const size = Number(ctx.url.searchParams.get('page_size') ?? DEFAULT_PAGE_SIZE);
      if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
        throw badParam(`page_size must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
      }
      const token = ctx.url.searchParams.get('page_token');
      const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
      if (!Number.isInteger(start) || start < 0) throw badParam('page_token is not valid.');
      const all = rec.policies.map((p) => policyView(ws, rec, p));
      const out = { policies: all.slice(start, start + size) };
      if (start + size < all.length) out.next_page_token = Buffer.from(String(start + size)).toString('base64url');
      ctx.send(200, out);
    } },
    { method: 'GET', path: new RegExp(`${BASE}/(.+)$`), handler: async (ctx) => {
      const rec = servicePrincipalFor(ws, ctx);
      for (const p of rec.policies) policyView(ws, rec, p);
      ctx.send(200, policyView(ws, rec, policyFor(rec, decodeURIComponent(ctx.params[2]))));
    } },
    { method: 'DELETE', path: new RegExp(`${BASE}/(.+)$`), handler: async (ctx) => {
      const rec = servicePrincipalFor(ws, ctx);
      for (const p of rec.policies) policyView(ws, rec, p);
      const p = policyFor(rec, decodeURIComponent(ctx.params[2]));
      // a new array: an exchange that is verifying against the old list finishes with it
      rec.policies = rec.policies.filter((x) => x !== p);
      rec.policiesFromApi = true;
      await savePolicies(ws);
      ctx.send(200, {});
    } },
  ];
}
