// OAuth for dbx-local: discovery documents, and the workspace token endpoint
// /oidc/v1/token with the client-credentials grant (OAuth M2M) and the RFC 8693
// token exchange used by workload identity federation, whose subject JWT is verified
// (RS256/ES256) against the federation policies configured for service principals.
// Token endpoint errors use the RFC 6749 shape {error, error_description} (as Databricks answers).

import { createPublicKey, verify } from 'node:crypto';
import { sendJson } from './http.mjs';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const SCOPES = new Set(['all-apis', 'sql', 'files', 'offline_access']);
const CLOCK_LEEWAY_SECONDS = 30;

class OAuthError extends Error {
  constructor(status, error, description) {
    super(description);
    this.status = status;
    this.error = error;
  }
}

const invalidGrant = (why) => new OAuthError(400, 'invalid_grant', why);

// Checks the requested scopes; returns the normalised scope string.
function checkScope(raw) {
  const scopes = (raw ?? '').split(/[\s,]+/).filter(Boolean);
  if (scopes.length === 0) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: scope');
  const bad = scopes.filter((s) => !SCOPES.has(s));
  if (bad.length) throw new OAuthError(400, 'invalid_scope', `Invalid scope: ${bad.join(' ')}`);
  return [...new Set(scopes)].sort().join(' ');
}

// Decodes an HTTP Basic header into [client_id, client_secret], or null.
function basicCredentials(header) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return null;
  // RFC 6749 §2.3.1 form-encodes both parts before base64 (Go's oauth2 does, Python does not).
  const dec = (s) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return [dec(text.slice(0, i)), dec(text.slice(i + 1))];
}

function b64json(part, what) {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw invalidGrant(`Malformed subject token: ${what} is not base64url JSON.`);
  }
}

// Parses a compact JWS without trusting it. Returns { header, claims, signingInput, signature }.
export function parseJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw invalidGrant('Malformed subject token: expected a JWT with three parts.');
  return {
    header: b64json(parts[0], 'header'),
    claims: b64json(parts[1], 'payload'),
    signingInput: Buffer.from(`${parts[0]}.${parts[1]}`),
    signature: Buffer.from(parts[2], 'base64url'),
  };
}

// True when one key of the JWKS (filtered by kid when the JWT names one) verifies the signature.
function signatureValid(jwt, jwksJson) {
  const alg = jwt.header.alg;
  if (alg !== 'RS256' && alg !== 'ES256') throw invalidGrant(`Unsupported JWT signing algorithm ${alg}; use RS256 or ES256.`);
  let keys;
  try {
    keys = JSON.parse(jwksJson).keys;
  } catch {
    return false;
  }
  const wantKty = alg === 'RS256' ? 'RSA' : 'EC';
  for (const jwk of keys ?? []) {
    if (jwk.kty !== wantKty || (jwt.header.kid && jwk.kid && jwk.kid !== jwt.header.kid)) continue;
    let key;
    try {
      key = createPublicKey({ key: jwk, format: 'jwk' });
    } catch {
      continue;
    }
    // JWS ES256 signatures are raw r||s, not DER.
    const opts = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key;
    if (verify('sha256', jwt.signingInput, opts, jwt.signature)) return true;
  }
  return false;
}

// Checks a parsed JWT against one federation policy; throws invalidGrant with the reason.
// Returns the value of the subject claim (account policies map it to a principal).
function checkPolicy(jwt, oidc, accountId, nowSeconds) {
  const c = jwt.claims;
  if (c.iss !== oidc.issuer) throw invalidGrant(`Token issuer ${c.iss} does not match the federation policy.`);
  if (!oidc.jwks_json) throw invalidGrant('Federation policy has no jwks_json; fetching keys from the issuer is not possible offline.');
  if (!signatureValid(jwt, oidc.jwks_json)) throw invalidGrant('Token signature verification failed.');
  const audiences = oidc.audiences?.length ? oidc.audiences : [accountId];
  const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (!aud.some((a) => audiences.includes(a))) throw invalidGrant('Token audience does not match the federation policy.');
  if (typeof c.exp !== 'number') throw invalidGrant('Token has no exp claim.');
  if (c.exp + CLOCK_LEEWAY_SECONDS <= nowSeconds) throw invalidGrant('Token has expired.');
  if (typeof c.nbf === 'number' && c.nbf - CLOCK_LEEWAY_SECONDS > nowSeconds) throw invalidGrant('Token is not yet valid (nbf).');
  const claim = oidc.subject_claim ?? 'sub';
  if (oidc.subject !== undefined && c[claim] !== oidc.subject) throw invalidGrant(`Token subject claim ${claim} does not match the federation policy.`);
  return c[claim];
}

// Tries every policy; returns the first success. The error reported is that of the first
// policy whose issuer matched (the most useful reason), else the first error.
function firstMatchingPolicy(jwt, policies, accountId, nowSeconds) {
  const failures = [];
  for (const p of policies) {
    try {
      return checkPolicy(jwt, p.oidc_policy ?? {}, accountId, nowSeconds);
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      failures.push({ err: e, sameIssuer: p.oidc_policy?.issuer === jwt.claims.iss });
    }
  }
  const reason = failures.find((f) => f.sameIssuer) ?? failures[0];
  throw reason?.err ?? invalidGrant('No federation policy matches this token.');
}

function clientCredentials(ws, req, form) {
  const creds = basicCredentials(req.headers.authorization);
  if (!creds) {
    throw new OAuthError(401, 'invalid_client', 'Client authentication failed: HTTP Basic client credentials are required.');
  }
  const [clientId, secret] = creds;
  const rec = ws.servicePrincipals.get(clientId);
  if (!rec || !rec.secrets.includes(secret)) throw new OAuthError(401, 'invalid_client', 'Client authentication failed');
  const scope = checkScope(form.get('scope'));
  return { rec, scope, maxSeconds: Infinity };
}

function tokenExchange(ws, form) {
  const subjectToken = form.get('subject_token');
  if (!subjectToken) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: subject_token');
  const type = form.get('subject_token_type');
  if (type !== JWT_TOKEN_TYPE) throw new OAuthError(400, 'invalid_request', `Unsupported subject_token_type ${type}`);
  const scope = checkScope(form.get('scope'));
  const jwt = parseJwt(subjectToken);
  const now = Math.floor(Date.now() / 1000);
  const clientId = form.get('client_id');
  let rec;
  if (clientId) {
    // Service-principal federation: the JWT must satisfy one of that SP's policies.
    rec = ws.servicePrincipals.get(clientId);
    if (!rec) throw new OAuthError(401, 'invalid_client', 'Client authentication failed');
    firstMatchingPolicy(jwt, rec.policies, ws.accountId, now);
  } else {
    // Account-wide federation: the policy's subject claim names the Databricks principal.
    const subject = firstMatchingPolicy(jwt, ws.config.account_federation_policies ?? [], ws.accountId, now);
    rec = ws.recordByName(subject);
    if (!rec) throw invalidGrant(`No user or service principal ${subject} in this workspace.`);
  }
  return { rec, scope, maxSeconds: jwt.claims.exp - now };
}

// Routes of the OAuth endpoints and discovery documents (all without bearer auth).
export function routes(ws) {
  return [
    { auth: false, method: 'GET', path: /^\/\.well-known\/databricks-config$/, handler: async (ctx) => {
      ctx.send(200, {
        oidc_endpoint: `${ws.baseUrl}/oidc`,
        account_id: ws.accountId,
        workspace_id: ws.workspaceId,
        cloud: 'AWS',
        host_type: 'WORKSPACE_HOST',
        token_federation_default_oidc_audiences: [`${ws.baseUrl}/oidc/v1/token`],
      });
    } },
    { auth: false, method: 'GET', path: /^\/oidc\/\.well-known\/oauth-authorization-server$/, handler: async (ctx) => {
      ctx.send(200, {
        issuer: `${ws.baseUrl}/oidc`,
        authorization_endpoint: `${ws.baseUrl}/oidc/v1/authorize`,
        token_endpoint: `${ws.baseUrl}/oidc/v1/token`,
        grant_types_supported: ['client_credentials', TOKEN_EXCHANGE],
        response_types_supported: ['code'],
        scopes_supported: [...SCOPES],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'none'],
        code_challenge_methods_supported: ['S256'],
      });
    } },
    { auth: false, method: 'POST', path: /^\/oidc\/v1\/token$/, handler: async (ctx) => {
      try {
        const ctype = ctx.req.headers['content-type'] ?? '';
        if (!ctype.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
          throw new OAuthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
        }
        const form = new URLSearchParams(ctx.body.toString('utf8'));
        const grant = form.get('grant_type');
        let issued;
        if (grant === 'client_credentials') issued = clientCredentials(ws, ctx.req, form);
        else if (grant === TOKEN_EXCHANGE) issued = tokenExchange(ws, form);
        else if (!grant) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: grant_type');
        else throw new OAuthError(400, 'unsupported_grant_type', `Unsupported grant_type ${grant}`);
        const { token, expiresIn } = ws.issueToken(issued.rec, issued.maxSeconds);
        ctx.send(200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: issued.scope }, { 'Cache-Control': 'no-store' });
      } catch (e) {
        if (!(e instanceof OAuthError)) throw e;
        sendJson(ctx.res, e.status, { error: e.error, error_description: e.message }, { 'Cache-Control': 'no-store' });
      }
    } },
  ];
}
