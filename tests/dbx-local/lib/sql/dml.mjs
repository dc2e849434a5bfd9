// Databricks DML for the Engine: INSERT, UPDATE, DELETE, MERGE INTO and COPY INTO. Each statement
// writes data, change-feed rows (when delta.enableChangeDataFeed is on) and a history entry inside the
// Engine's statement transaction. Pre/post images are computed with SELECTs over the same snapshot
// before the data changes, because DuckDB may move a row (new rowid) when it updates nested types.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { SqlError, syntaxError, unsupported, quoteName } from './errors.mjs';
import { isIdent, tokenize } from './tokenizer.mjs';
import { lit, qid, splitArgs, matchParen } from './translate.mjs';
import { columnInfo, parseTypeText, duckTextToDatabricks } from './types.mjs';
import { parseProperties, addColumns } from './ddl.mjs';
import { storeCast } from './ansi.mjs';
import { splitName } from '../store.mjs';
import { duckTable } from '../engine.mjs';

const STAGE = '__dbx_stage';
const bigintCols = (names) => names.map((n) => columnInfo(n, 'BIGINT'));

/** Runs the statement at cursor c if it is DML; returns its result or null. */
export async function runDml(engine, c, ctx) {
  if (c.accept('INSERT')) {
    const overwrite = c.accept('OVERWRITE');
    if (!overwrite) c.expect('INTO');
    return insert(engine, c, ctx, overwrite);
  }
  if (c.accept('UPDATE')) return update(engine, c, ctx);
  if (c.accept('DELETE', 'FROM')) return del(engine, c, ctx);
  if (c.accept('MERGE')) return merge(engine, c, ctx);
  if (c.accept('COPY', 'INTO')) return copyInto(engine, c, ctx);
  return null;
}

function stmtEnd(toks) {
  let end = toks.length - 1;
  if (toks[end - 1]?.value === ';') end--;
  return end;
}

// Target table of a write: exists, and the caller holds MODIFY (and SELECT when it reads the table).
function target(engine, c, ctx, needSelect) {
  const full = engine.resolveName(c.nameTokens().map((t) => t.value), ctx);
  const t = engine.requireTable(full);
  engine.requirePrivilege(ctx.principal, 'MODIFY', 'TABLE', full);
  if (needSelect) engine.requirePrivilege(ctx.principal, 'SELECT', 'TABLE', full);
  return { full, t, dt: duckTable(full) };
}

/**
 * Inserts selectSql (optionally into the listed columns) through a stage table; returns the row count.
 * Values are stored with storeCast (Spark's truncation into integral columns); the arity is checked
 * first because the wrapping select would otherwise hide extra or missing data columns.
 */
async function stageInsert(engine, tg, v, cols, selectSql) {
  const targets = (cols ?? tg.t.columns.map((x) => x.name)).map((n) => tg.t.columns.find((x) => x.name.toLowerCase() === n.toLowerCase()));
  const width = (await engine.raw(`DESCRIBE ${selectSql}`)).length;
  if (width !== targets.length) {
    const [kind, reason] = width > targets.length ? ['TOO_MANY_DATA_COLUMNS', 'too many data columns'] : ['NOT_ENOUGH_DATA_COLUMNS', 'not enough data columns'];
    throw new SqlError(`INSERT_COLUMN_ARITY_MISMATCH.${kind}`, '21S01', `Cannot write to ${quoteName(splitName(tg.full))}, the reason is ${reason}: the table has ${targets.length} columns, the data has ${width}.`);
  }
  const names = targets.map((_, i) => `__v${i}`);
  const stored = targets.map((col, i) => storeCast(qid(names[i]), duckTypeOf(col))).join(', ');
  await engine.run(`CREATE TEMP TABLE ${STAGE} AS SELECT * FROM ${tg.dt} LIMIT 0`);
  await engine.run(`INSERT INTO temp.${STAGE} (${targets.map((x) => qid(x.name)).join(', ')}) SELECT ${stored} FROM (${selectSql}) AS __src(${names.map(qid).join(', ')})`);
  const n = await engine.count(`INSERT INTO ${tg.dt} SELECT * FROM temp.${STAGE}`);
  await engine.recordChanges(tg.t, v, 'insert', `SELECT * FROM temp.${STAGE}`);
  await engine.run(`DROP TABLE temp.${STAGE}`);
  return n;
}

function checkColumns(tg, names) {
  for (const n of names) {
    if (!tg.t.columns.some((x) => x.name.toLowerCase() === n.toLowerCase())) {
      throw new SqlError('UNRESOLVED_COLUMN.WITH_SUGGESTION', '42703', `A column, variable, or function parameter with name \`${n}\` cannot be resolved. Did you mean one of the following? [${tg.t.columns.map((x) => '`' + x.name + '`').join(', ')}].`);
    }
  }
}

async function insert(engine, c, ctx, overwrite = false) {
  c.accept('TABLE');
  const tg = target(engine, c, ctx, false);
  let cols = null;
  // A column list, unless the parenthesis opens a query; a column may be named values or select.
  const query = (c.isWord('SELECT', 1) || c.isWord('WITH', 1) || c.isWord('VALUES', 1)) && !c.isOp(',', 2) && !c.isOp(')', 2);
  if (c.isOp('(') && !query) {
    c.next();
    cols = [];
    do { cols.push(c.ident()); } while (c.acceptOp(','));
    c.expectOp(')');
    checkColumns(tg, cols);
  }
  if (c.isWord('BY') || c.isWord('REPLACE')) throw unsupported(`INSERT ... ${c.peek().upper}`);
  let q = engine.translator(c.toks, ctx).translate(c.i, stmtEnd(c.toks));
  const v = engine.nextVersion(tg.t);
  if (overwrite) {
    // INSERT OVERWRITE: the query is read first (it may read the table
    // itself), then every row goes (deletes in the change feed) and the new
    // rows come in, as one version.
    await engine.run(`CREATE TEMP TABLE __dbx_overwrite AS ${q}`);
    q = 'SELECT * FROM temp.__dbx_overwrite';
    await engine.recordChanges(tg.t, v, 'delete', `SELECT * FROM ${tg.dt}`);
    await engine.run(`DELETE FROM ${tg.dt}`);
  }
  const n = await stageInsert(engine, tg, v, cols, q);
  if (overwrite) await engine.run('DROP TABLE temp.__dbx_overwrite');
  engine.commit(tg.t, v, ctx, 'WRITE', { mode: overwrite ? 'Overwrite' : 'Append', statsOnLoad: 'false', partitionBy: '[]' }, { numFiles: '1', numOutputRows: String(n) });
  return { columns: bigintCols(['num_affected_rows', 'num_inserted_rows']), rows: [[BigInt(n), BigInt(n)]] };
}

// Optional table alias after a target/source name: [AS] ident, unless the next word is a keyword.
function alias(c, stopWords) {
  if (c.accept('AS')) return c.ident();
  if (isIdent(c.peek()) && !(c.peek().type === 'word' && stopWords.includes(c.peek().upper))) return c.ident();
  return null;
}

// "col = expr, ..." in toks[start, end) -> [{ col, sql }] with expressions translated.
function assignments(engine, tr, tg, toks, start, end) {
  return splitArgs(toks, start, end).map(([s, e]) => {
    let j = s;
    const parts = [toks[j++]];
    while (toks[j]?.value === '.' && isIdent(toks[j + 1])) { parts.push(toks[j + 1]); j += 2; }
    if (!parts.every(isIdent) || toks[j]?.value !== '=') throw syntaxError(toks[j]?.text);
    const col = parts[parts.length - 1].value;
    checkColumns(tg, [col]);
    return { col: tg.t.columns.find((x) => x.name.toLowerCase() === col.toLowerCase()).name, sql: tr.translate(j + 1, e) };
  });
}

function duckTypeOf(col) { return parseTypeText(col.type_text, tokenize).duck; }

async function update(engine, c, ctx) {
  const tg = target(engine, c, ctx, true);
  const a = alias(c, ['SET']) ?? tg.t.name;
  c.expect('SET');
  const tr = engine.translator(c.toks, ctx);
  // The WHERE keyword, not a column of that name (SET where = where + 1 WHERE ...).
  const whereAt = c.findTop((t, j) => t.type === 'word' && t.upper === 'WHERE' && !tr.isName(j));
  const end = stmtEnd(c.toks);
  const sets = assignments(engine, tr, tg, c.toks, c.i, whereAt);
  const where = whereAt < end ? tr.translate(whereAt + 1, end) : 'true';
  const from = `${tg.dt} AS ${qid(a)}`;
  const v = engine.nextVersion(tg.t);
  const post = tg.t.columns.map((col) => {
    const s = sets.find((x) => x.col === col.name);
    return s ? `${storeCast(`(${s.sql})`, duckTypeOf(col))} AS ${qid(col.name)}` : `${qid(a)}.${qid(col.name)}`;
  }).join(', ');
  await engine.recordChanges(tg.t, v, 'update_preimage', `SELECT ${qid(a)}.* FROM ${from} WHERE ${where}`);
  await engine.recordChanges(tg.t, v, 'update_postimage', `SELECT ${post} FROM ${from} WHERE ${where}`);
  const typeOf = (name) => duckTypeOf(tg.t.columns.find((col) => col.name === name));
  const n = await engine.count(`UPDATE ${from} SET ${sets.map((s) => `${qid(s.col)} = ${storeCast(`(${s.sql})`, typeOf(s.col))}`).join(', ')} WHERE ${where}`);
  engine.commit(tg.t, v, ctx, 'UPDATE', { predicate: JSON.stringify([where]) }, { numUpdatedRows: String(n) });
  return { columns: bigintCols(['num_affected_rows']), rows: [[BigInt(n)]] };
}

async function del(engine, c, ctx) {
  const tg = target(engine, c, ctx, true);
  const a = alias(c, ['WHERE']) ?? tg.t.name;
  const end = stmtEnd(c.toks);
  let where = 'true';
  if (c.accept('WHERE')) where = engine.translator(c.toks, ctx).translate(c.i, end);
  else c.end();
  const from = `${tg.dt} AS ${qid(a)}`;
  const v = engine.nextVersion(tg.t);
  await engine.recordChanges(tg.t, v, 'delete', `SELECT ${qid(a)}.* FROM ${from} WHERE ${where}`);
  const n = await engine.count(`DELETE FROM ${from} WHERE ${where}`);
  engine.commit(tg.t, v, ctx, 'DELETE', { predicate: JSON.stringify([where]) }, { numDeletedRows: String(n) });
  return { columns: bigintCols(['num_affected_rows']), rows: [[BigInt(n)]] };
}

// ------------------------------------------------------------------------------------------ MERGE

// Parses the WHEN clauses of a MERGE into [{ kind: 'matched'|'notMatched'|'notMatchedBySource', cond, action, ... }].
function mergeClauses(c) {
  const clauses = [];
  const nextWhen = () => c.findTop((t, j) => j > c.i && t.type === 'word' && t.upper === 'WHEN');
  while (c.accept('WHEN')) {
    let kind;
    if (c.accept('MATCHED')) kind = 'matched';
    else if (c.accept('NOT', 'MATCHED')) {
      kind = 'notMatched';
      if (c.accept('BY', 'SOURCE')) kind = 'notMatchedBySource';
      else c.accept('BY', 'TARGET');
    } else throw syntaxError(c.peek().text);
    let cond = null;
    if (c.accept('AND')) {
      const thenAt = c.findTop((t) => t.type === 'word' && t.upper === 'THEN');
      cond = [c.i, thenAt];
      c.i = thenAt;
    }
    c.expect('THEN');
    const cl = { kind, cond };
    if (c.accept('DELETE')) cl.action = 'delete';
    else if (c.accept('UPDATE', 'SET')) {
      cl.action = 'update';
      if (c.isOp('*')) { c.next(); cl.star = true; if (c.isWord('EXCEPT')) throw unsupported('UPDATE SET * EXCEPT'); }
      else { const e = nextWhen(); cl.sets = [c.i, e]; c.i = e; }
    } else if (c.accept('INSERT')) {
      cl.action = 'insert';
      if (c.isOp('*')) { c.next(); cl.star = true; if (c.isWord('EXCEPT')) throw unsupported('INSERT * EXCEPT'); }
      else {
        c.expectOp('(');
        cl.cols = [];
        do { cl.cols.push(c.ident()); } while (c.acceptOp(','));
        c.expectOp(')');
        c.expect('VALUES');
        if (!c.isOp('(')) throw syntaxError(c.peek().text);
        const open = c.i;
        const e = nextWhen();
        cl.values = [open + 1, e - 1];
        if (c.toks[e - 1].value !== ')') throw syntaxError(c.toks[e - 1].text);
        c.i = e;
      }
    } else throw syntaxError(c.peek().text);
    if ((kind === 'notMatched') !== (cl.action === 'insert')) throw syntaxError(c.toks[c.i - 1].text);
    clauses.push(cl);
  }
  c.end();
  if (!clauses.length) throw syntaxError(c.peek().text);
  return clauses;
}

async function merge(engine, c, ctx) {
  const evolve = c.accept('WITH', 'SCHEMA', 'EVOLUTION');
  c.expect('INTO');
  const tg = target(engine, c, ctx, true);
  const ta = alias(c, ['USING']) ?? tg.t.name;
  c.expect('USING');
  const tr = engine.translator(c.toks, ctx);
  let srcSql, sa;
  if (c.isOp('(')) {
    const j = matchParen(c.toks, c.i);
    srcSql = tr.translateTableRef(c.i, j + 1);
    c.i = j + 1;
    sa = alias(c, ['ON']) ?? '__source';
  } else {
    const s = c.i;
    const parts = c.nameTokens();
    srcSql = tr.translateTableRef(s, c.i);
    sa = alias(c, ['ON']) ?? parts[parts.length - 1].value;
  }
  c.expect('ON');
  const whenAt = c.findTop((t) => t.type === 'word' && t.upper === 'WHEN');
  const on = tr.translate(c.i, whenAt);
  c.i = whenAt;
  const clauses = mergeClauses(c);

  const T = qid(ta), S = qid(sa);
  await engine.run(`CREATE TEMP TABLE __dbx_src AS SELECT row_number() OVER () AS __srid, * FROM ${srcSql}`);
  const srcCols = (await engine.raw('DESCRIBE temp.__dbx_src')).slice(1).map(([n, ty]) => ({ name: n, duckType: ty }));
  const hasSrc = (n) => srcCols.some((x) => x.name.toLowerCase() === n.toLowerCase());
  const srcName = (n) => srcCols.find((x) => x.name.toLowerCase() === n.toLowerCase()).name;
  const v = engine.nextVersion(tg.t);
  const starUsed = clauses.some((cl) => cl.star);
  if (evolve && starUsed) {
    const missing = srcCols.filter((sc) => !tg.t.columns.some((x) => x.name.toLowerCase() === sc.name.toLowerCase()));
    await addColumns(engine, tg.t, tg.full, missing.map((m) => {
      const text = duckTextToDatabricks(m.duckType);
      return { name: m.name, type_text: text, duck: parseTypeText(text, tokenize).duck, nullable: true };
    }));
  }
  const cols = tg.t.columns;
  const srcFrom = `temp.__dbx_src AS ${S}`;
  await engine.run(`CREATE TEMP TABLE __dbx_m AS SELECT ${T}.rowid AS __trid, ${S}.__srid FROM ${tg.dt} AS ${T} JOIN ${srcFrom} ON ${on}`);
  const matched = clauses.filter((cl) => cl.kind === 'matched');
  // Delta exempts a lone unconditional DELETE: deleting a row twice is not ambiguous.
  const onlyDelete = matched.length === 1 && matched[0].action === 'delete' && !matched[0].cond;
  if (matched.length && !onlyDelete) {
    const dup = await engine.raw('SELECT __trid FROM temp.__dbx_m GROUP BY 1 HAVING count(*) > 1 LIMIT 1');
    if (dup.length) {
      throw new SqlError('DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE', '21506', 'Cannot perform Merge as multiple source rows matched and attempted to modify the same\ntarget row in the Delta table in possibly conflicting ways. By SQL semantics of Merge,\nwhen multiple source rows match on the same target row, the result may be ambiguous\nas it is unclear which source row should be used to update or delete the matching\ntarget row. You can preprocess the source table to eliminate the possibility of\nmultiple matches. Please refer to\nhttps://docs.databricks.com/delta/merge.html#merge-operation-semantics');
    }
  }
  // Chosen clause per row (first whose condition holds; 0 = none), for each of the three row sets.
  const choose = (list) => `CASE ${list.map((cl) => `WHEN ${cl.cond ? tr.translate(...cl.cond) : 'true'} THEN ${clauses.indexOf(cl) + 1}`).join(' ')} ELSE 0 END`;
  const nbs = clauses.filter((cl) => cl.kind === 'notMatchedBySource');
  const nm = clauses.filter((cl) => cl.kind === 'notMatched');
  const joinM = `${tg.dt} AS ${T} JOIN temp.__dbx_ma AS __ma ON ${T}.rowid = __ma.__trid LEFT JOIN ${srcFrom} ON ${S}.__srid = __ma.__srid`;
  await engine.run(`CREATE TEMP TABLE __dbx_ma AS SELECT __m.__trid, __m.__srid, ${matched.length ? choose(matched) : '0'} AS __k FROM (SELECT __trid, min(__srid) AS __srid FROM temp.__dbx_m GROUP BY __trid) AS __m JOIN ${tg.dt} AS ${T} ON ${T}.rowid = __m.__trid JOIN ${srcFrom} ON ${S}.__srid = __m.__srid`);
  await engine.run(`INSERT INTO temp.__dbx_ma SELECT ${T}.rowid, NULL, ${nbs.length ? choose(nbs) : '0'} FROM ${tg.dt} AS ${T} WHERE ${T}.rowid NOT IN (SELECT __trid FROM temp.__dbx_m)`);
  await engine.run(`CREATE TEMP TABLE __dbx_nm AS SELECT ${S}.__srid, ${nm.length ? choose(nm) : '0'} AS __k FROM ${srcFrom} WHERE ${S}.__srid NOT IN (SELECT __srid FROM temp.__dbx_m)`);

  const ks = (action) => clauses.map((cl, i) => (cl.action === action && cl.kind !== 'notMatched' ? i + 1 : null)).filter(Boolean);
  const upd = ks('update'), dels = ks('delete');
  const inList = (list) => (list.length ? list.join(', ') : 'NULL');
  // New value of each target column per update clause.
  const setExpr = (col) => {
    const arms = [];
    for (const k of upd) {
      const cl = clauses[k - 1];
      let sql = null;
      if (cl.star) {
        if (hasSrc(col.name)) sql = `${S}.${qid(srcName(col.name))}`;
        else if (!evolve) throw new SqlError('DELTA_MERGE_UNRESOLVED_EXPRESSION', '42601', `Cannot resolve ${ta}.${col.name} in UPDATE clause given columns ${srcCols.map((x) => `${sa}.${x.name}`).join(', ')}.`);
      } else {
        const a = assignments(engine, tr, tg, c.toks, ...cl.sets).find((x) => x.col === col.name);
        if (a) sql = a.sql;
      }
      if (sql) arms.push(`WHEN ${k} THEN ${storeCast(`(${sql})`, duckTypeOf(col))}`);
    }
    return arms.length ? `CASE __ma.__k ${arms.join(' ')} ELSE ${T}.${qid(col.name)} END` : `${T}.${qid(col.name)}`;
  };
  const setList = cols.map((col) => ({ col, sql: setExpr(col) }));
  const nUpd = await engine.count(`SELECT count(*) FROM temp.__dbx_ma WHERE __k IN (${inList(upd)})`);
  const nDel = await engine.count(`SELECT count(*) FROM temp.__dbx_ma WHERE __k IN (${inList(dels)})`);
  await engine.recordChanges(tg.t, v, 'update_preimage', `SELECT ${T}.* FROM ${joinM} WHERE __ma.__k IN (${inList(upd)})`);
  await engine.recordChanges(tg.t, v, 'update_postimage', `SELECT ${setList.map((s) => `${s.sql} AS ${qid(s.col.name)}`).join(', ')} FROM ${joinM} WHERE __ma.__k IN (${inList(upd)})`);
  await engine.recordChanges(tg.t, v, 'delete', `SELECT ${T}.* FROM ${joinM} WHERE __ma.__k IN (${inList(dels)})`);
  if (nDel) await engine.run(`DELETE FROM ${tg.dt} WHERE rowid IN (SELECT __trid FROM temp.__dbx_ma WHERE __k IN (${inList(dels)}))`);
  if (nUpd) {
    // Compute new rows first, then write them by rowid: one UPDATE with all arms.
    await engine.run(`CREATE TEMP TABLE __dbx_new AS SELECT __ma.__trid AS __trid, ${setList.map((s, i) => `${s.sql} AS __c${i}`).join(', ')} FROM ${joinM} WHERE __ma.__k IN (${inList(upd)})`);
    await engine.run(`UPDATE ${tg.dt} AS ${T} SET ${setList.map((s, i) => `${qid(s.col.name)} = __n.__c${i}`).join(', ')} FROM temp.__dbx_new AS __n WHERE ${T}.rowid = __n.__trid`);
  }
  let nIns = 0;
  for (const cl of nm) {
    const k = clauses.indexOf(cl) + 1;
    let names, exprs;
    if (cl.star) {
      names = cols.filter((col) => hasSrc(col.name)).map((col) => col.name);
      const miss = cols.filter((col) => !hasSrc(col.name));
      if (miss.length && !evolve) throw new SqlError('DELTA_MERGE_UNRESOLVED_EXPRESSION', '42601', `Cannot resolve ${ta}.${miss[0].name} in INSERT clause given columns ${srcCols.map((x) => `${sa}.${x.name}`).join(', ')}.`);
      exprs = names.map((n) => `${S}.${qid(srcName(n))}`);
    } else {
      checkColumns(tg, cl.cols);
      names = cl.cols.map((n) => cols.find((x) => x.name.toLowerCase() === n.toLowerCase()).name);
      exprs = splitArgs(c.toks, ...cl.values).map(([s, e]) => tr.translate(s, e));
      if (exprs.length !== names.length) throw new SqlError('INSERT_COLUMN_ARITY_MISMATCH', '21S01', 'Cannot write to the table: the number of columns and values in the INSERT clause of MERGE differ.');
    }
    nIns += await stageInsert(engine, tg, v, names, `SELECT ${exprs.join(', ')} FROM ${srcFrom} JOIN temp.__dbx_nm AS __nm ON ${S}.__srid = __nm.__srid WHERE __nm.__k = ${k}`);
  }
  engine.commit(tg.t, v, ctx, 'MERGE', { predicate: JSON.stringify([on]), matchedPredicates: JSON.stringify(matched.map((m) => ({ actionType: m.action }))), notMatchedPredicates: JSON.stringify(nm.map(() => ({ actionType: 'insert' }))), notMatchedBySourcePredicates: JSON.stringify(nbs.map((m) => ({ actionType: m.action }))) },
    { numTargetRowsUpdated: String(nUpd), numTargetRowsDeleted: String(nDel), numTargetRowsInserted: String(nIns), numOutputRows: String(nUpd + nIns) });
  const all = nUpd + nDel + nIns;
  return { columns: bigintCols(['num_affected_rows', 'num_updated_rows', 'num_deleted_rows', 'num_inserted_rows']), rows: [[all, nUpd, nDel, nIns].map(BigInt)] };
}

// ------------------------------------------------------------------------------------------ COPY INTO

// '/Volumes/c/s/v/rest' -> { full: 'c.s.v', dir (absolute on disk), rel } ; checks READ VOLUME.
function volumePath(engine, p, ctx) {
  const m = /^(?:dbfs:)?\/Volumes\/([^/]+)\/([^/]+)\/([^/]+)(\/.*)?$/.exec(p);
  if (!m) throw unsupported(`COPY INTO from '${p}' (only /Volumes/<catalog>/<schema>/<volume>/ paths are emulated)`);
  const full = `${m[1]}.${m[2]}.${m[3]}`.toLowerCase();
  const root = engine.volumeRoot(m[1], m[2], m[3]);
  if (!root) {
    const [c, s] = splitName(full);
    engine.requireSchema(`${c}.${s}`);
    throw new SqlError('VOLUME_NOT_FOUND', '42704', `Volume ${quoteName(splitName(full))} does not exist.`);
  }
  engine.requirePrivilege(ctx.principal, 'READ VOLUME', 'VOLUME', full);
  const rel = (m[4] ?? '/').replace(/^\/+/, '');
  return { full, root, abs: path.join(root, rel), uri: p };
}

async function listFiles(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('_') || e.name.startsWith('.')) continue; // Spark skips hidden/metadata files
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...await listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

// Glob (*, ?, [..], {a,b}) to a RegExp over paths relative to the source directory.
function globRegex(g) {
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const ch = g[i];
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') { const j = g.indexOf(']', i); re += '[' + g.slice(i + 1, j).replace(/^!/, '^') + ']'; i = j; }
    else if (ch === '{') { const j = g.indexOf('}', i); re += '(' + g.slice(i + 1, j).split(',').map((x) => x.replace(/[.+^$()|\\]/g, '\\$&')).join('|') + ')'; i = j; }
    else re += ch.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

function readerSql(format, files, fmtOpts) {
  const list = `[${files.map(lit).join(', ')}]`;
  const opt = (k) => { const e = Object.entries(fmtOpts).find(([x]) => x.toLowerCase() === k.toLowerCase()); return e ? String(e[1]).toLowerCase() : undefined; };
  if (format === 'PARQUET') return `read_parquet(${list}, union_by_name = true)`;
  if (format === 'JSON') return `read_json(${list}, format = ${opt('multiLine') === 'true' ? "'auto'" : "'newline_delimited'"}, union_by_name = true)`;
  if (format === 'CSV') {
    const header = opt('header') === 'true';
    const sep = opt('sep') ?? opt('delimiter');
    return `read_csv(${list}, header = ${header}, all_varchar = ${opt('inferSchema') !== 'true'}, union_by_name = true${sep ? `, delim = ${lit(sep)}` : ''})`;
  }
  throw unsupported(`COPY INTO with FILEFORMAT = ${format}`);
}

async function copyInto(engine, c, ctx) {
  const tg = target(engine, c, ctx, false);
  let cols = null;
  if (c.isOp('(')) {
    c.next();
    cols = [];
    do { cols.push(c.ident()); } while (c.acceptOp(','));
    c.expectOp(')');
    checkColumns(tg, cols);
  }
  c.expect('FROM');
  let src, selectRange = null;
  if (c.peek().type === 'string') src = c.next().value;
  else if (c.isOp('(') && c.isWord('SELECT', 1)) {
    const open = c.i;
    const j = matchParen(c.toks, open);
    const fromAt = c.findTop((t) => t.type === 'word' && t.upper === 'FROM', open + 1);
    if (fromAt >= j || c.toks[fromAt + 1].type !== 'string') throw syntaxError(c.toks[fromAt + 1]?.text);
    src = c.toks[fromAt + 1].value;
    selectRange = [open + 2, fromAt];
    if (fromAt + 2 !== j) throw unsupported('COPY INTO source queries with clauses after FROM');
    c.i = j + 1;
  } else throw syntaxError(c.peek().text);
  c.expect('FILEFORMAT');
  c.expectOp('=');
  const format = c.ident().toUpperCase();
  let files = null, pattern = null, fmtOpts = {}, copyOpts = {};
  while (!c.atEnd()) {
    if (c.accept('FILES')) { c.expectOp('='); c.expectOp('('); files = []; do { files.push(c.next().value); } while (c.acceptOp(',')); c.expectOp(')'); }
    else if (c.accept('PATTERN')) { c.expectOp('='); pattern = c.next().value; }
    else if (c.accept('FORMAT_OPTIONS')) fmtOpts = parseProperties(c);
    else if (c.accept('COPY_OPTIONS')) copyOpts = parseProperties(c);
    else if (c.isWord('VALIDATE')) throw unsupported('COPY INTO ... VALIDATE');
    else throw syntaxError(c.peek().text);
  }
  c.end();
  if (files && pattern) throw new SqlError('COPY_INTO_FILES_AND_PATTERN', '42613', 'FILES and PATTERN cannot be used together.');
  const copt = (k) => String(Object.entries(copyOpts).find(([x]) => x.toLowerCase() === k.toLowerCase())?.[1] ?? 'false').toLowerCase() === 'true';
  const force = copt('force');
  const mergeSchema = copt('mergeSchema');
  const vp = volumePath(engine, src, ctx);
  let st;
  try { st = await stat(vp.abs); } catch {
    throw new SqlError('PATH_NOT_FOUND', '42K03', `Path does not exist: ${src}.`);
  }
  let candidates;
  if (st.isDirectory()) {
    const all = await listFiles(vp.abs);
    const rel = (f) => path.relative(vp.abs, f).split(path.sep).join('/');
    if (files) {
      candidates = files.map((f) => path.join(vp.abs, f));
      for (const f of candidates) { try { await stat(f); } catch { throw new SqlError('PATH_NOT_FOUND', '42K03', `Path does not exist: ${path.posix.join(src, path.relative(vp.abs, f))}.`); } }
    } else if (pattern) { const re = globRegex(pattern); candidates = all.filter((f) => re.test(rel(f))); }
    else candidates = all;
  } else candidates = [vp.abs];
  // Idempotency key: the file's /Volumes path.
  const uriOf = (f) => `/Volumes/${splitName(vp.full).join('/')}/${path.relative(vp.root, f).split(path.sep).join('/')}`;
  const todo = candidates.filter((f) => force || !tg.t.loadedFiles[uriOf(f)]);
  const zero = { columns: bigintCols(['num_affected_rows', 'num_inserted_rows', 'num_skipped_corrupt_files']), rows: [[0n, 0n, 0n]] };
  if (!todo.length) return zero;
  const ignoreCorrupt = String(Object.entries(fmtOpts).find(([k]) => k.toLowerCase() === 'ignorecorruptfiles')?.[1] ?? 'false').toLowerCase() === 'true';
  let good = todo, skipped = 0;
  if (ignoreCorrupt) {
    good = [];
    for (const f of todo) {
      try { await engine.raw(`DESCRIBE SELECT * FROM ${readerSql(format, [f], fmtOpts)}`); good.push(f); } catch { skipped++; }
    }
    if (!good.length) return { ...zero, rows: [[0n, 0n, BigInt(skipped)]] };
  }
  const reader = readerSql(format, good, fmtOpts);
  const v = engine.nextVersion(tg.t);
  let selectSql;
  if (selectRange) {
    const tr = engine.translator(c.toks, ctx);
    selectSql = `SELECT ${tr.translate(...selectRange)} FROM ${reader}`;
  } else selectSql = `SELECT * FROM ${reader}`;
  await engine.run(`CREATE TEMP TABLE __dbx_copy AS ${selectSql}`);
  const srcCols = (await engine.raw('DESCRIBE temp.__dbx_copy')).map(([n, ty]) => ({ name: n, duckType: ty }));
  const known = (n) => tg.t.columns.find((x) => x.name.toLowerCase() === n.toLowerCase());
  if (mergeSchema) {
    const missing = srcCols.filter((s) => !known(s.name));
    await addColumns(engine, tg.t, tg.full, missing.map((m) => {
      const text = duckTextToDatabricks(m.duckType);
      return { name: m.name, type_text: text, duck: parseTypeText(text, tokenize).duck, nullable: true };
    }));
  }
  const targetCols = (cols ?? tg.t.columns.map((x) => x.name)).map((n) => known(n));
  const used = targetCols.filter((tc) => srcCols.some((s) => s.name.toLowerCase() === tc.name.toLowerCase()));
  const exprs = used.map((tc) => storeCast(qid(srcCols.find((s) => s.name.toLowerCase() === tc.name.toLowerCase()).name), duckTypeOf(tc)));
  const n = used.length
    ? await stageInsert(engine, tg, v, used.map((x) => x.name), `SELECT ${exprs.join(', ')} FROM temp.__dbx_copy`)
    : await stageInsert(engine, tg, v, null, `SELECT ${tg.t.columns.map(() => 'NULL').join(', ')} FROM temp.__dbx_copy`);
  for (const f of good) tg.t.loadedFiles[uriOf(f)] = v.version;
  engine.commit(tg.t, v, ctx, 'COPY INTO', { source: src, fileFormat: format, force: String(force), mergeSchema: String(mergeSchema) },
    { numFiles: String(good.length), numOutputRows: String(n), numSkippedCorruptFiles: String(skipped) });
  return { ...zero, rows: [[BigInt(n), BigInt(n), BigInt(skipped)]] };
}
