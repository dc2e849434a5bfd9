// Admin API of dbx-local: the test tool's remote control. Mounted only with --admin
// (without it every /admin/* path is an unknown endpoint, 404). No authentication: the
// server listens on loopback only and these endpoints exist for test harnesses.
//
// POST   /admin/faults       add a fault; body:
//          { "path": "<RegExp source matched against the URL pathname, no query string>",
//            "method": "GET"            (optional, any method when absent),
//            "count": 1                 (how many matching requests it hits, then it is gone),
//            "skip": 0                  (how many matching requests pass untouched first),
//            "status": 503, "error_code": "TEMPORARILY_UNAVAILABLE", "message": "...",
//            "retry_after": 2           (Retry-After header, seconds),
//            "delay_ms": 1500           (sleep first; alone it only delays the real answer),
//            "hold_ms": 1500            (the request is carried out at once and its answer held
//                                        back this long: a server that acted but answers late),
//            "drop": true               (the real answer is cut: headers and half the body are
//                                        sent, then the socket is destroyed),
//            "kind": "expired_token"    (403 "Invalid access token.", as for an expired OAuth token)
//                  | "expired_link"     (403 XML AccessDenied "Request has expired", as cloud
//                                        storage answers an expired presigned URL)
//                  | "drop_request",    (the request body is read up to after_bytes, then the
//                                        socket is destroyed unanswered: an upload cut off)
//            "after_bytes": 65536 }     (for drop_request; default half the Content-Length)
//          -> 200 {"id": n}. Faults are checked in insertion order, before authentication.
// GET    /admin/faults       -> {"faults": [...]} pending faults with remaining counts
// DELETE /admin/faults       remove every fault
// GET    /admin/requests     -> {"requests": [{time, method, path, status, user_agent,
//                               has_authorization, header_names, headers}]} newest last;
//                               ?since=<index> returns entries from that index. Authorization
//                               and presigned-link key headers are shown as "[REDACTED]".
// DELETE /admin/requests     clear the request log
// POST   /admin/settings     merge keys into the workspace settings (token_ttl_seconds,
//                            link_ttl_seconds, chunk_rows, chunk_bytes, inline_limit_bytes,
//                            results_ttl_seconds) -> the settings now in force
// POST   /admin/warehouses/{id}   {"state": "RUNNING"|"STOPPED"|"STARTING"} set a warehouse state
// POST   /admin/tables/{full_name}/expire   {"before_version": N} expire the history of a table
//                            before version N, as VACUUM and log retention do: DESCRIBE HISTORY
//                            lists versions from N on and table_changes over an earlier version
//                            fails with DELTA_CHANGE_DATA_FILE_NOT_FOUND
//                            -> {"earliest_version", "latest_version"}

import { ApiError } from './sql/errors.mjs';

const WAREHOUSE_STATES = new Set(['RUNNING', 'STOPPED', 'STARTING', 'STOPPING']);

// Routes of the admin API (see the header comment for the contract).
export function routes(ws) {
  const open = { auth: false };
  return [
    { ...open, method: 'POST', path: /^\/admin\/faults$/, handler: async (ctx) => {
      let fault;
      try {
        fault = ws.faults.add(ctx.json());
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw new ApiError(400, 'INVALID_PARAMETER_VALUE', e.message);
      }
      ctx.send(200, { id: fault.id });
    } },
    { ...open, method: 'GET', path: /^\/admin\/faults$/, handler: async (ctx) => ctx.send(200, { faults: ws.faults.list() }) },
    { ...open, method: 'DELETE', path: /^\/admin\/faults$/, handler: async (ctx) => {
      ws.faults.clear();
      ctx.send(200, {});
    } },
    { ...open, method: 'GET', path: /^\/admin\/requests$/, handler: async (ctx) => {
      const since = Number(ctx.url.searchParams.get('since') ?? 0);
      ctx.send(200, { requests: ws.requestLog.slice(since) });
    } },
    { ...open, method: 'DELETE', path: /^\/admin\/requests$/, handler: async (ctx) => {
      ws.requestLog.length = 0;
      ctx.send(200, {});
    } },
    { ...open, method: 'POST', path: /^\/admin\/settings$/, handler: async (ctx) => {
      const body = ctx.json();
      for (const [k, v] of Object.entries(body)) {
        if (!(k in ws.settings)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Unknown setting ${k}.`);
        if (typeof v !== 'number' || !(v > 0)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Setting ${k} must be a positive number.`);
      }
      Object.assign(ws.settings, body);
      ctx.send(200, ws.settings);
    } },
    { ...open, method: 'POST', path: /^\/admin\/warehouses\/([^/]+)$/, handler: async (ctx) => {
      const { state } = ctx.json();
      if (!WAREHOUSE_STATES.has(state)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `state must be one of ${[...WAREHOUSE_STATES].join(', ')}.`);
      const w = ws.setWarehouseState(decodeURIComponent(ctx.params[0]), state);
      if (!w) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Warehouse ${ctx.params[0]} does not exist.`);
      ctx.send(200, { id: w.id, state: w.state });
    } },
    { ...open, method: 'POST', path: /^\/admin\/tables\/([^/]+)\/expire$/, handler: async (ctx) => {
      const { before_version: before } = ctx.json();
      ctx.send(200, await ws.engine.expireHistory(decodeURIComponent(ctx.params[0]), before));
    } },
  ];
}
