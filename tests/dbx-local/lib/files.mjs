// Files API for Unity Catalog volumes: /api/2.0/fs/files{path} and
// /api/2.0/fs/directories{path} with path = /Volumes/<catalog>/<schema>/<volume>/...
// Bytes live under the directory the Engine assigns to each volume (engine.volumeRoot);
// privileges are READ VOLUME (read, list, metadata) and WRITE VOLUME (write, delete).

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rmdir, stat, unlink, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { ApiError } from './sql/errors.mjs';

const MAX_UPLOAD_BYTES = 5 * 1024 ** 3; // single PUT limit of the Files API
const MAX_PAGE_SIZE = 1000;

const notFound = (msg) => new ApiError(404, 'NOT_FOUND', msg);
const badRequest = (msg) => new ApiError(400, 'INVALID_PARAMETER_VALUE', msg);

// Parses the raw (still percent-encoded) volume path that follows the endpoint prefix.
// Returns { catalog, schema, volume, rel: [segments...], display: '/Volumes/...' }.
function parseVolumePath(raw) {
  const trimmed = raw.replace(/^\/+/, '/').replace(/\/+$/, ''); // clients may add // or a trailing /
  const segments = trimmed.split('/').slice(1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw badRequest(`Invalid percent-encoding in path ${raw}.`);
    }
  });
  if (segments[0] !== 'Volumes' || segments.length < 4) {
    throw badRequest(`Path ${trimmed || '/'} is not a volume path /Volumes/<catalog>/<schema>/<volume>/...`);
  }
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\0')) {
      throw badRequest(`Invalid path ${trimmed}: empty, '.' or '..' segments are not allowed.`);
    }
  }
  const [, catalog, schema, volume, ...rel] = segments;
  return { catalog, schema, volume, rel, display: `/${segments.join('/')}` };
}

// The volume path as the client sent it. ctx.url is WHATWG-normalised, which silently
// resolves `..` and `%2e%2e`; Databricks refuses such paths, so they are judged raw.
function rawVolumePath(ctx) {
  const m = /^\/api\/2\.0\/fs\/(?:files|directories)(\/.*)$/.exec(ctx.req.url.split(/[?#]/)[0]);
  if (!m) throw badRequest(`Invalid path ${ctx.url.pathname}: '.' and '..' segments are not allowed.`);
  return m[1];
}

// Resolves the request's volume path to a location on disk after the existence and
// privilege checks.
async function resolve(ctx, privilege) {
  const p = parseVolumePath(rawVolumePath(ctx));
  const engine = ctx.ws.engine;
  const root = await engine.volumeRoot(p.catalog, p.schema, p.volume);
  if (!root) throw notFound(`Volume '${p.catalog}.${p.schema}.${p.volume}' does not exist.`);
  const fullName = `${p.catalog}.${p.schema}.${p.volume}`;
  if (!(await engine.checkPrivilege(ctx.principal, privilege, 'VOLUME', fullName))) {
    throw new ApiError(403, 'PERMISSION_DENIED', `User does not have ${privilege} on Volume '${fullName}'.`);
  }
  return { ...p, root, disk: path.join(root, ...p.rel) };
}

async function statOrNull(file) {
  try {
    return await stat(file);
  } catch (e) {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null;
    throw e;
  }
}

function fileHeaders(st) {
  return {
    'Content-Type': 'application/octet-stream',
    'Last-Modified': st.mtime.toUTCString(),
    'Accept-Ranges': 'bytes',
  };
}

// Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range. Returns {start, end} (inclusive),
// null to serve the whole file (no or unsupported multi-range header), or 'unsatisfiable'.
function parseRange(header, size) {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start;
  let end;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null; // syntactically invalid: ignore (RFC 9110)
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

async function download(ctx, withBody) {
  const loc = await resolve(ctx, 'READ VOLUME');
  const st = await statOrNull(loc.disk);
  if (!st || !st.isFile()) throw notFound(`File ${loc.display} does not exist.`);
  const since = ctx.req.headers['if-unmodified-since'];
  if (since && !Number.isNaN(Date.parse(since)) && Math.floor(st.mtimeMs / 1000) > Math.floor(Date.parse(since) / 1000)) {
    throw new ApiError(412, 'FAILED_PRECONDITION', `File ${loc.display} was modified after ${since}.`);
  }
  const headers = fileHeaders(st);
  const range = parseRange(ctx.req.headers.range, st.size);
  if (range === 'unsatisfiable') {
    ctx.res.writeHead(416, { 'Content-Range': `bytes */${st.size}`, 'Content-Type': 'application/json' });
    ctx.res.end(JSON.stringify({ error_code: 'INVALID_PARAMETER_VALUE', message: `Range not satisfiable for a file of ${st.size} bytes.` }));
    return;
  }
  const { start, end } = range ?? { start: 0, end: st.size - 1 };
  const status = range ? 206 : 200;
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  headers['Content-Length'] = Math.max(0, end - start + 1);
  ctx.res.writeHead(status, headers);
  if (!withBody || st.size === 0) {
    ctx.res.end();
    return;
  }
  await pipeline(createReadStream(loc.disk, { start, end }), ctx.res);
}

// Counts bytes on the way to disk and stops an upload over the single-PUT limit.
function sizeGuard() {
  let total = 0;
  return new Transform({
    transform(chunk, _enc, cb) {
      total += chunk.length;
      if (total > MAX_UPLOAD_BYTES) cb(new ApiError(413, 'REQUEST_ENTITY_TOO_LARGE', 'Upload exceeds the 5 GiB limit of a single PUT.'));
      else cb(null, chunk);
    },
  });
}

// Creates every missing directory between the volume root and `dir`; a file in the way is a conflict.
async function mkdirs(loc, dirRel) {
  let cur = loc.root;
  for (const seg of dirRel) {
    cur = path.join(cur, seg);
    const st = await statOrNull(cur);
    if (st && !st.isDirectory()) throw new ApiError(409, 'RESOURCE_ALREADY_EXISTS', `A file exists where a directory is needed: ${seg}.`);
    if (!st) await mkdir(cur).catch((e) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  }
}

async function upload(ctx) {
  const loc = await resolve(ctx, 'WRITE VOLUME');
  const ow = ctx.url.searchParams.get('overwrite');
  if (ow !== null && ow !== 'true' && ow !== 'false') throw badRequest(`Invalid overwrite value ${ow}: expected true or false.`);
  if (loc.rel.length === 0) throw badRequest('Cannot write a file at the volume root path.');
  const declared = Number(ctx.req.headers['content-length'] ?? 0);
  if (declared > MAX_UPLOAD_BYTES) throw new ApiError(413, 'REQUEST_ENTITY_TOO_LARGE', 'Upload exceeds the 5 GiB limit of a single PUT.');
  const existing = await statOrNull(loc.disk);
  if (existing?.isDirectory()) throw new ApiError(409, 'RESOURCE_ALREADY_EXISTS', `${loc.display} is a directory.`);
  if (existing && ow === 'false') throw new ApiError(409, 'ALREADY_EXISTS', `The file being created already exists: ${loc.display}.`);
  await mkdirs(loc, loc.rel.slice(0, -1));
  // Stream to a hidden temp file beside the target, then rename: readers never see half a file.
  const tmp = path.join(path.dirname(loc.disk), `.upload-${randomBytes(8).toString('hex')}`);
  try {
    await pipeline(ctx.req, sizeGuard(), createWriteStream(tmp, { flags: 'wx' }));
    if (ow === 'false' && (await statOrNull(loc.disk))) {
      throw new ApiError(409, 'ALREADY_EXISTS', `The file being created already exists: ${loc.display}.`);
    }
    await rename(tmp, loc.disk);
  } finally {
    await rm(tmp, { force: true });
  }
  ctx.res.writeHead(204);
  ctx.res.end();
}

async function deleteFile(ctx) {
  const loc = await resolve(ctx, 'WRITE VOLUME');
  const st = await statOrNull(loc.disk);
  if (!st || !st.isFile()) throw notFound(`File ${loc.display} does not exist.`);
  await unlink(loc.disk);
  ctx.res.writeHead(204);
  ctx.res.end();
}

async function createDirectory(ctx) {
  const loc = await resolve(ctx, 'WRITE VOLUME');
  await mkdirs(loc, loc.rel);
  ctx.res.writeHead(204);
  ctx.res.end();
}

async function directoryMetadata(ctx) {
  const loc = await resolve(ctx, 'READ VOLUME');
  const st = await statOrNull(loc.disk);
  if (!st || !st.isDirectory()) throw notFound(`Directory ${loc.display} does not exist.`);
  ctx.res.writeHead(200);
  ctx.res.end();
}

async function listDirectory(ctx) {
  const loc = await resolve(ctx, 'READ VOLUME');
  const st = await statOrNull(loc.disk);
  if (!st || !st.isDirectory()) throw notFound(`Directory ${loc.display} does not exist.`);
  const sp = ctx.url.searchParams;
  const rawSize = sp.get('page_size');
  let size = rawSize === null ? MAX_PAGE_SIZE : Number(rawSize);
  if (!Number.isInteger(size) || size < 0) throw badRequest(`Invalid page_size ${rawSize}.`);
  if (size === 0 || size > MAX_PAGE_SIZE) size = MAX_PAGE_SIZE;
  // The page token names the last entry already returned, so listing stays stable under inserts.
  const token = sp.get('page_token');
  const after = token ? Buffer.from(token, 'base64url').toString('utf8') : null;

  const names = (await readdir(loc.disk)).filter((n) => !n.startsWith('.upload-')).sort();
  const rest = after === null ? names : names.filter((n) => n > after);
  const page = rest.slice(0, size);
  const contents = [];
  for (const name of page) {
    const est = await statOrNull(path.join(loc.disk, name));
    if (!est) continue; // deleted while listing
    const entry = { path: `${loc.display}/${name}`, name, is_directory: est.isDirectory(), last_modified: Math.floor(est.mtimeMs) };
    // Directory entries carry a trailing slash and no size [UNCONF exact form].
    if (est.isDirectory()) entry.path += '/';
    else entry.file_size = est.size;
    contents.push(entry);
  }
  const body = { contents };
  if (rest.length > size) body.next_page_token = Buffer.from(page[page.length - 1]).toString('base64url');
  ctx.send(200, body);
}

async function deleteDirectory(ctx) {
  const loc = await resolve(ctx, 'WRITE VOLUME');
  if (loc.rel.length === 0) throw badRequest('Cannot delete the volume root directory; drop the volume instead.');
  const st = await statOrNull(loc.disk);
  if (!st || !st.isDirectory()) throw notFound(`Directory ${loc.display} does not exist.`);
  try {
    await rmdir(loc.disk);
  } catch (e) {
    if (e.code === 'ENOTEMPTY' || e.code === 'EEXIST') {
      throw new ApiError(409, 'DIRECTORY_NOT_EMPTY', `Directory ${loc.display} is not empty; delete its contents first.`);
    }
    throw e;
  }
  ctx.res.writeHead(204);
  ctx.res.end();
}

// Routes of the Files API. Uploads stream their body (stream: true) instead of buffering it.
export function routes() {
  const files = /^\/api\/2\.0\/fs\/files(\/.*)$/;
  const dirs = /^\/api\/2\.0\/fs\/directories(\/.*)$/;
  return [
    { method: 'PUT', path: files, stream: true, handler: upload },
    { method: 'GET', path: files, handler: (ctx) => download(ctx, true) },
    { method: 'HEAD', path: files, handler: (ctx) => download(ctx, false) },
    { method: 'DELETE', path: files, handler: deleteFile },
    { method: 'PUT', path: dirs, handler: createDirectory },
    { method: 'HEAD', path: dirs, handler: directoryMetadata },
    { method: 'GET', path: dirs, handler: listDirectory },
    { method: 'DELETE', path: dirs, handler: deleteDirectory },
  ];
}
