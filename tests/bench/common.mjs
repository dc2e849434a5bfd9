// What the benchmarks share: their command-line numbers, the extension
// they load, the median they report, and running setup SQL on dbx-local.
import path from 'node:path';

import { api } from '../dbx-local/test/helpers.mjs';

const args = process.argv.slice(2);

// The number after `name` on the command line (--rows 1000), or dflt.
export const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

// The extension under test: $BUILD/databricks (default build/).
export const EXT = path.resolve(process.env.BUILD ?? 'build', 'databricks');

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// dbx-local's one warehouse.
export const WAREHOUSE = '0000000000000001';

// Runs one statement on dbx-local as the server's token, waiting for it;
// extra joins the request body. Returns the response; throws unless it
// succeeded.
export async function sql(server, statement, extra = {}) {
  let r = await api(server.url, server.token, 'POST', '/api/2.0/sql/statements', {
    statement, warehouse_id: WAREHOUSE, wait_timeout: '5s', ...extra,
  });
  while (r.status === 200 && ['PENDING', 'RUNNING'].includes(r.body.status.state)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    r = await api(server.url, server.token, 'GET', `/api/2.0/sql/statements/${r.body.statement_id}`);
  }
  if (r.status !== 200 || r.body.status.state !== 'SUCCEEDED') {
    throw new Error(`setup statement failed: ${JSON.stringify(r.body).slice(0, 500)}`);
  }
  return r.body;
}
