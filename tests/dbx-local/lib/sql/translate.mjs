// Translates Databricks query/expression tokens into DuckDB SQL text. Table references in FROM/JOIN
// positions are resolved through the caller (three-part names, default catalog/schema, CTE names),
// which also checks existence and privileges. Literals are re-encoded for DuckDB, parameters bound,
// and the Databricks built-ins whose DuckDB namesakes differ are rewritten.
import { SqlError, syntaxError, unsupported } from './errors.mjs';
import { isIdent, tokenize } from './tokenizer.mjs';
import { parseType, parseTypeText } from './types.mjs';
import { isClauseWord, INTEGRAL_CASTS } from './ansi.mjs';
import { builtinCall, intervalLiteral, javaToStrftime } from './builtins.mjs';

/** DuckDB string literal for a JS string. DuckDB's parser ends a statement at a NUL character,
 * so a string holding one is spelled as a concatenation with chr(0). */
export function lit(s) {
  const text = String(s);
  if (text.includes('\0')) return `(${text.split('\0').map(lit).join(' || chr(0) || ')})`;
  return "'" + text.replace(/'/g, "''") + "'";
}

/** DuckDB quoted identifier. */
export function qid(s) { return '"' + String(s).replace(/"/g, '""') + '"'; }

// Keywords that end a FROM clause at the current nesting level.
const END_FROM = new Set(['WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'QUALIFY', 'WINDOW', 'UNION', 'EXCEPT',
  'INTERSECT', 'ON', 'USING', 'SELECT', 'SET', 'VALUES', 'WHEN', 'OFFSET', 'CLUSTER', 'DISTRIBUTE', 'SORT', 'RETURNING']);
const JOIN_WORDS = new Set(['JOIN']);
const COMPARISON_OPS = new Set(['=', '==', '<>', '!=', '<', '<=', '>', '>=', '<=>']);

/*
 * Identifiers. Databricks reserves no word as a name, DuckDB reserves many, so every word used as
 * a name is emitted quoted. A word is a name when it is part of a dotted name, follows AS, names
 * a CTE, aliases a table, is no keyword at all (neither DuckDB's nor one of the dialect words
 * below), or stands alone where an operand is expected (after SELECT, an operator, '(' ...) and
 * ends there. Words Databricks always reads as keywords inside expressions stay keywords; to use
 * them as column names, write them in backticks or qualify them (as Databricks asks for NULL).
 */
const ALWAYS_KEYWORDS = new Set(['NULL', 'TRUE', 'FALSE', 'DEFAULT', 'CASE', 'NOT', 'DISTINCT', 'ALL', 'INTERVAL', 'EXISTS', 'SELECT', 'WITH',
  'CURRENT_DATE', 'CURRENT_TIMESTAMP', 'CURRENT_TIME', 'CURRENT_USER', 'SESSION_USER', 'USER', 'LOCALTIMESTAMP', 'LOCALTIME']);
// Dialect words missing from DuckDB's keyword list that must reach DuckDB (or our errors) bare.
const DIALECT_KEYWORDS = ['DIV', 'MINUS', 'RLIKE', 'REGEXP', 'DISTRIBUTE', 'SORT', 'DATE', 'TIMESTAMP_NTZ', 'TIMESTAMP_LTZ',
  ...ALWAYS_KEYWORDS];
// Words after which an operand starts.
const BEFORE_OPERAND = new Set(['SELECT', 'WHERE', 'AND', 'OR', 'NOT', 'WHEN', 'THEN', 'ELSE', 'ON', 'HAVING', 'BY', 'BETWEEN',
  'LIKE', 'ILIKE', 'CASE', 'QUALIFY', 'RETURN', 'SET', 'DISTINCT', 'ALL']);
const BEFORE_OPERAND_OPS = new Set(['(', ',', '[', '+', '-', '*', '/', '%', '||', '&', '|', '^', '~', ...COMPARISON_OPS]);
// Words that may follow a complete operand.
const AFTER_OPERAND = new Set(['FROM', 'WHERE', 'AND', 'OR', 'AS', 'IS', 'IN', 'NOT', 'BETWEEN', 'LIKE', 'ILIKE', 'RLIKE', 'REGEXP',
  'GROUP', 'ORDER', 'HAVING', 'LIMIT', 'OFFSET', 'UNION', 'EXCEPT', 'INTERSECT', 'MINUS', 'THEN', 'WHEN', 'ELSE', 'END', 'ASC',
  'DESC', 'NULLS', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'NATURAL', 'SEMI', 'ANTI', 'ON', 'USING', 'WINDOW',
  'QUALIFY', 'DIV', 'ESCAPE', 'COLLATE', 'OVER', 'FILTER', 'WITHIN', 'IGNORE', 'RESPECT', 'SORT', 'CLUSTER', 'DISTRIBUTE', 'FOR']);
const AFTER_OPERAND_OPS = new Set([',', ')', ']', ';', '+', '-', '*', '/', '%', '||', '&', '|', '^', '::', ':', '[', '->',
  ...COMPARISON_OPS]);
// Words that may follow a table reference without being its alias.
const AFTER_TABLE = new Set(['WHERE', 'GROUP', 'ORDER', 'HAVING', 'LIMIT', 'OFFSET', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL',
  'CROSS', 'NATURAL', 'SEMI', 'ANTI', 'OUTER', 'ON', 'USING', 'UNION', 'EXCEPT', 'INTERSECT', 'MINUS', 'WINDOW', 'QUALIFY', 'AS',
  'LATERAL', 'TABLESAMPLE', 'PIVOT', 'UNPIVOT', 'FETCH', 'CLUSTER', 'DISTRIBUTE', 'SORT', 'VERSION', 'TIMESTAMP', 'WITH', 'WHEN',
  'SET', 'VALUES', 'SELECT', 'POSITIONAL', 'ASOF']);
// Words that may follow AS without being a name.
const AFTER_AS = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'FROM', 'OF']);

/** Index of the ')' matching the '(' at toks[i]. */
export function matchParen(toks, i) {
  let depth = 0;
  for (let j = i; j < toks.length; j++) {
    const v = toks[j].type === 'op' ? toks[j].value : null;
    if (v === '(' || v === '[') depth++;
    else if (v === ')' || v === ']') { depth--; if (depth === 0) return j; }
  }
  throw syntaxError(null);
}

/** Splits toks[start, end) on top-level commas into [start, end) ranges. */
export function splitArgs(toks, start, end) {
  const out = [];
  let depth = 0, s = start;
  for (let j = start; j < end; j++) {
    const v = toks[j].type === 'op' ? toks[j].value : null;
    if (v === '(' || v === '[') depth++;
    else if (v === ')' || v === ']') depth--;
    else if (v === ',' && depth === 0) { out.push([s, j]); s = j + 1; }
  }
  if (end > start) out.push([s, end]);
  return out;
}

/** Names introduced by WITH (the CTEs) anywhere in toks, lower-cased. */
export function cteNames(toks) {
  const names = new Set();
  for (let j = 1; j + 2 < toks.length; j++) {
    const prev = toks[j - 1];
    if (!(prev.type === 'word' && prev.upper === 'WITH') && !(prev.type === 'op' && prev.value === ',')) continue;
    if (!isIdent(toks[j])) continue;
    let k = j + 1;
    if (toks[k].value === '(') k = matchParen(toks, k) + 1;
    if (toks[k].type === 'word' && toks[k].upper === 'AS' && toks[k + 1].value === '(') names.add(toks[j].value.toLowerCase());
  }
  return names;
}

// Removes and returns the operand emitted last: a name chain (a.b.c emitted as 'a' '.' 'b' ...), or a
// parenthesised group with the function name before it, if any.
function takeOperand(out) {
  let k = out.length - 1;
  if (out[k]?.startsWith('(') && /^[A-Za-z_][A-Za-z0-9_]*$/.test(out[k - 1] ?? '') && !isClauseWord(out[k - 1].toUpperCase())) k--;
  while (k >= 2 && out[k - 1] === '.') k -= 2;
  return out.splice(k).join('');
}

function wrongArgs(name, want, got) {
  return new SqlError('WRONG_NUM_ARGS.WITHOUT_SUGGESTION', '42605', `The \`${name.toLowerCase()}\` requires ${want} parameters but the actual number is ${got}.`);
}

/**
 * Translator over one token array. ctx provides:
 *   resolveTable(partTokens) -> DuckDB table SQL (checks existence and SELECT privilege)
 *   tableFunction(lowerName, toks, argRanges) -> DuckDB SQL or undefined
 *   param(name) -> DuckDB literal SQL (throws UNBOUND_SQL_PARAMETER)
 *   principal, catalog, schema: the session values for current_user() etc.
 */
export class Translator {
  constructor(toks, ctx) {
    this.toks = toks;
    this.ctx = ctx;
    this.ctes = cteNames(toks);
    this.keywords = new Set([...(ctx.keywords ?? []), ...DIALECT_KEYWORDS]);
  }

  /** True when the keyword at toks[i] could be an implicit alias: it ends a select item and is
   * no word that continues an expression or opens a clause. */
  aliasAt(i) {
    const t = this.toks;
    const tok = t[i];
    const next = t[i + 1];
    if (tok?.type !== 'word' || ALWAYS_KEYWORDS.has(tok.upper) || AFTER_OPERAND.has(tok.upper) || isClauseWord(tok.upper)) return false;
    return !next || next.type === 'eof' || (next.type === 'op' && (next.value === ',' || next.value === ';'))
      || (next.type === 'word' && next.upper === 'FROM');
  }

  /** isName(i), remembered: a word's neighbours ask for it again. */
  isNameCached(i) {
    this.names ??= new Map();
    if (!this.names.has(i)) this.names.set(i, this.isName(i));
    return this.names.get(i);
  }

  /**
   * True when the word toks[i] is used as a name (see Identifiers above); aliasOfTable when it
   * directly follows a table reference.
   */
  isName(i, aliasOfTable = false) {
    const t = this.toks;
    const tok = t[i];
    const prev = t[i - 1];
    const next = t[i + 1];
    const op = (x, v) => x?.type === 'op' && (v === undefined || x.value === v);
    const word = (x) => x?.type === 'word';
    if (op(prev, '.') || (op(next, '.') && (isIdent(t[i + 2]) || op(t[i + 2], '*')))) return true;
    if (word(prev) && prev.upper === 'AS' && !AFTER_AS.has(tok.upper)) return true;
    if (word(next) && next.upper === 'AS' && op(t[i + 2], '(')) return !ALWAYS_KEYWORDS.has(tok.upper); // a CTE
    if (next?.type === 'string' || op(next, '(')) return false; // typed literal, function or keyword
    if (aliasOfTable) return !AFTER_TABLE.has(tok.upper) && !ALWAYS_KEYWORDS.has(tok.upper);
    if (ALWAYS_KEYWORDS.has(tok.upper)) return false;
    if (!this.keywords.has(tok.upper)) return true;
    // An implicit column alias: after a complete operand, ending a select item (SELECT b key FROM t),
    // but not an interval unit (INTERVAL 1 DAY).
    const afterOperand = prev && (['string', 'number', 'qident', 'param'].includes(prev.type) || op(prev, ')') || (word(prev) && this.isNameCached(i - 1)));
    if (afterOperand && this.aliasAt(i) && t[i - 2]?.upper !== 'INTERVAL') return true;
    // After a keyword that takes an operand, unless that word is itself a name (WHERE and IS NULL).
    const expected = !prev || (op(prev) && BEFORE_OPERAND_OPS.has(prev.value))
      || (word(prev) && BEFORE_OPERAND.has(prev.upper) && !this.isNameCached(i - 1));
    const ends = !next || next.type === 'eof' || (op(next) && AFTER_OPERAND_OPS.has(next.value))
      || (word(next) && AFTER_OPERAND.has(next.upper))
      // A name after it would be an implicit alias, unless the word starts a clause (SELECT x).
      || (word(next) && (!this.keywords.has(next.upper) || this.aliasAt(i + 1)) && !isClauseWord(tok.upper));
    return expected && ends;
  }

  /** DuckDB SQL for toks[start, end) as a query or expression. */
  translate(start, end) {
    return this.walk(start, end, false);
  }

  /** Like translate, but the range starts in table position (e.g. a MERGE source or UPDATE target). */
  translateTableRef(start, end) {
    return this.walk(start, end, true);
  }

  walk(start, end, expectTableAtStart) {
    const t = this.toks;
    const out = [];
    let inFrom = expectTableAtStart;
    let expectTable = expectTableAtStart;
    let i = start;
    let afterTable = false; // the previous token ended a table reference (its alias may follow)
    const emitParenGroup = (open) => {
      const close = matchParen(t, open);
      out.push('(' + this.walk(open + 1, close, false) + ')');
      return close + 1;
    };
    while (i < end) {
      const tok = t[i];
      const aliasOfTable = afterTable;
      afterTable = false;
      if (tok.type === 'word' && aliasOfTable && this.isName(i, true)) { out.push(qid(tok.value)); i++; continue; }
      if (tok.type === 'word' && !(t[i - 1]?.type === 'op' && t[i - 1].value === '.')) {
        const u = tok.upper;
        if (u === 'FROM' || JOIN_WORDS.has(u)) { out.push(u); inFrom = true; expectTable = true; i++; continue; }
        if (u === 'LATERAL' && t[i + 1]?.upper === 'VIEW') throw unsupported('LATERAL VIEW');
        if (inFrom && END_FROM.has(u)) { inFrom = false; expectTable = false; }
      }
      if (expectTable) {
        if (tok.type === 'op' && tok.value === '(') { i = emitParenGroup(i); expectTable = false; afterTable = true; continue; }
        if (isIdent(tok)) {
          const parts = [tok];
          let j = i + 1;
          while (t[j]?.value === '.' && t[j].type === 'op' && isIdent(t[j + 1])) { parts.push(t[j + 1]); j += 2; }
          if (t[j]?.type === 'op' && t[j].value === '(' && j < end) {
            const close = matchParen(t, j);
            const name = parts.map((p) => p.value.toLowerCase()).join('.');
            const sql = this.tableFunction(name, j, close);
            out.push(sql);
            i = close + 1;
          } else if (parts.length === 1 && this.ctes.has(tok.value.toLowerCase())) {
            out.push(qid(tok.value));
            i = j;
          } else {
            // A table's DuckDB name, or { sql, alias } for a query standing for a view, which keeps
            // the view's name for qualified columns unless the statement gives an alias.
            const ref = this.ctx.resolveTable(parts);
            if (typeof ref === 'string') out.push(ref);
            else {
              out.push(ref.sql);
              const a = t[j];
              const aliased = a?.type === 'qident' || (a?.type === 'word' && (a.upper === 'AS' || this.isName(j, true)));
              if (!aliased) out.push(`AS ${qid(ref.alias)}`);
            }
            i = j;
            const tt = t[i]?.type === 'word' ? t[i].upper : null;
            if ((tt === 'VERSION' || tt === 'TIMESTAMP') && t[i + 1]?.upper === 'AS' && t[i + 2]?.upper === 'OF') throw unsupported('time travel (VERSION AS OF / TIMESTAMP AS OF)');
            if (tt === 'WITH' && t[i + 1]?.value === '(') throw unsupported('table options (WITH (...)) on a table reference');
          }
          expectTable = false;
          afterTable = true;
          continue;
        }
        if (tok.type === 'string') throw unsupported('file paths as table references outside COPY INTO');
      }
      if (tok.type === 'op') {
        const v = tok.value;
        if (v === ',' && inFrom) { out.push(','); expectTable = true; i++; continue; }
        if (v === '(') { i = emitParenGroup(i); continue; }
        if (v === '[') {
          const close = matchParen(t, i);
          const inner = this.walk(i + 1, close, false);
          // A string literal key can only index a map; anything else goes through dbx_element, which
          // handles 0-based array indexes (DuckDB lists are 1-based) and the ANSI bounds check.
          if (t[i + 1].type === 'string' && close === i + 2) out.push(`[${inner}]`);
          else out.push(`dbx_element(${takeOperand(out)}, ${inner})`);
          i = close + 1;
          continue;
        }
        if (v === '::') {
          const ty = parseType(t, i + 1);
          out.push(this.castSql(takeOperand(out), ty));
          i = ty.next;
          continue;
        }
        if (v === ':') { i = this.pathAccess(out, i); continue; }
        if (v === '==') { out.push('='); i++; continue; }
        if (v === '<=>') { out.push('IS NOT DISTINCT FROM'); i++; continue; }
        if (v === ';') throw syntaxError(';');
        out.push(v);
        i++;
        continue;
      }
      if (tok.type === 'string') { out.push(lit(tok.value)); i++; continue; }
      if (tok.type === 'qident') { out.push(qid(tok.value)); i++; continue; }
      if (tok.type === 'param') { out.push(this.ctx.param(tok.value, { compared: this.compared(i) })); i++; continue; }
      if (tok.type === 'hex') { out.push(`'${tok.value.replace(/(..)/g, '\\x$1')}'::BLOB`); i++; continue; }
      if (tok.type === 'number') { out.push(this.number(tok)); i++; continue; }
      if (tok.type === 'word') { i = this.word(out, i, end); continue; }
      throw syntaxError(tok.text);
    }
    return out.join(' ');
  }

  /** True when toks[i] is an operand of a comparison: next to a comparison operator, a bound of
   * BETWEEN, or an item of an IN list. */
  compared(i) {
    const t = this.toks;
    const op = (x) => x?.type === 'op' && COMPARISON_OPS.has(x.value);
    const word = (x, w) => x?.type === 'word' && x.upper === w;
    if (op(t[i - 1]) || op(t[i + 1]) || word(t[i - 1], 'BETWEEN') || word(t[i - 1], 'AND')) return true;
    // An IN list item: the nearest unclosed '(' before it follows IN.
    let depth = 0;
    for (let j = i - 1; j >= 0; j--) {
      const v = t[j].type === 'op' ? t[j].value : null;
      if (v === ')' || v === ']') depth++;
      else if (v === '(' || v === '[') {
        if (depth === 0) return v === '(' && word(t[j - 1], 'IN');
        depth--;
      } else if (depth === 0 && v !== ',' && j === i - 1) return false;
    }
    return false;
  }

  number(tok) {
    switch (tok.suffix) {
      case 'L': return `${tok.value}::BIGINT`;
      case 'S': return `${tok.value}::SMALLINT`;
      case 'Y': return `${tok.value}::TINYINT`;
      case 'D': return `${tok.value}::DOUBLE`;
      case 'F': return `${tok.value}::FLOAT`;
      case 'BD': return `${tok.value}::DECIMAL(38,${(tok.value.split('.')[1] ?? '').length})`;
      default: return tok.value;
    }
  }

  // DuckDB SQL casting the operand SQL to ty.
  castSql(operand, ty) {
    // A VARIANT path cast to STRING yields the unquoted string, as on Databricks.
    if (operand.startsWith('json_extract(') && ty.duck === 'VARCHAR') return 'json_extract_string' + operand.slice('json_extract'.length);
    // Spark truncates fractions when casting to an integral type; DuckDB would round.
    // Spark reads a number cast to TIMESTAMP as seconds since the epoch.
    if (ty.duck === 'TIMESTAMPTZ') return `dbx_to_timestamp(${operand})`;
    const integral = INTEGRAL_CASTS[ty.duck];
    return integral ? `${integral}(${operand})` : `CAST(${operand} AS ${ty.duck})`;
  }

  // col:field.sub[0] -> json_extract(col, '$.field.sub[0]') ; the operand must be a (qualified) name.
  pathAccess(out, i) {
    const t = this.toks;
    let path = '$';
    let j = i + 1;
    let first = true;
    for (;;) {
      if (first || (t[j]?.value === '.' && t[j].type === 'op')) {
        if (!first) j++;
        if (!isIdent(t[j])) throw syntaxError(t[j]?.text);
        path += '.' + (t[j].type === 'qident' || /[^A-Za-z0-9_]/.test(t[j].value) ? JSON.stringify(t[j].value) : t[j].value);
        j++;
        first = false;
        continue;
      }
      if (t[j]?.value === '[' && t[j + 1]?.type === 'number' && t[j + 2]?.value === ']') { path += `[${t[j + 1].value}]`; j += 3; continue; }
      if (t[j]?.value === '[' && t[j + 1]?.type === 'string' && t[j + 2]?.value === ']') { path += '.' + JSON.stringify(t[j + 1].value); j += 3; continue; }
      break;
    }
    out.push(`json_extract(${takeOperand(out)}, ${lit(path)})`);
    return j;
  }

  tableFunction(name, open, close) {
    const args = splitArgs(this.toks, open + 1, close);
    if (name === 'range') {
      const sql = args.map(([a, b]) => this.walk(a, b, false)).join(', ');
      return `(SELECT range AS id FROM range(${sql}))`;
    }
    const r = this.ctx.tableFunction?.(name, this.toks, args, this);
    if (r !== undefined) return r;
    throw new SqlError('UNRESOLVABLE_TABLE_VALUED_FUNCTION', '42883', `Could not resolve \`${name}\` to a table-valued function.`);
  }

  // Words: function-call rewrites, typed literals, * EXCEPT; everything else passes through.
  word(out, i, end) {
    const t = this.toks;
    const tok = t[i];
    const u = tok.upper;
    const call = t[i + 1]?.type === 'op' && t[i + 1].value === '(' && i + 1 < end;
    if (call) {
      const close = matchParen(t, i + 1);
      const args = splitArgs(t, i + 2, close);
      const a = () => args.map(([s, e]) => this.walk(s, e, false));
      const next = close + 1;
      switch (u) {
        case 'CURRENT_USER': case 'USER': case 'SESSION_USER': out.push(lit(this.ctx.principal?.name ?? '')); return next;
        case 'CURRENT_CATALOG': out.push(lit(this.ctx.catalog)); return next;
        case 'CURRENT_SCHEMA': case 'CURRENT_DATABASE': out.push(lit(this.ctx.schema)); return next;
        case 'CURRENT_TIMESTAMP': case 'NOW': out.push('get_current_timestamp()'); return next;
        case 'CURRENT_DATE': out.push('current_date'); return next;
        case 'NVL': out.push(`coalesce(${a().join(', ')})`); return next;
        case 'SIZE': case 'CARDINALITY': out.push(`dbx_size(${a().join(', ')})`); return next;
        case 'CONCAT': out.push(args.length ? `(${a().map((x) => `(${x})`).join(' || ')})` : "''"); return next;
        case 'PARSE_JSON': out.push(`dbx_parse_json(${a().join(', ')})`); return next;
        case 'TRY_PARSE_JSON': out.push(`dbx_try_parse_json(${a().join(', ')})`); return next;
        case 'TO_JSON': out.push(`CAST(to_json(${a().join(', ')}) AS VARCHAR)`); return next;
        case 'ARRAY': out.push(`list_value(${a().join(', ')})`); return next;
        case 'MAP': {
          const v = a();
          out.push(`MAP([${v.filter((_, k) => k % 2 === 0).join(', ')}], [${v.filter((_, k) => k % 2 === 1).join(', ')}])`);
          return next;
        }
        case 'NAMED_STRUCT': {
          const parts = [];
          for (let k = 0; k + 1 < args.length; k += 2) {
            const nameTok = t[args[k][0]];
            if (nameTok.type !== 'string') throw unsupported('named_struct with a non-literal field name');
            parts.push(`${qid(nameTok.value)} := ${this.walk(args[k + 1][0], args[k + 1][1], false)}`);
          }
          out.push(`struct_pack(${parts.join(', ')})`);
          return next;
        }
        case 'DATE_FORMAT': {
          const fmt = t[args[1]?.[0]];
          if (args.length !== 2 || fmt.type !== 'string' || args[1][1] !== args[1][0] + 1) throw unsupported('date_format with a non-literal pattern');
          out.push(`strftime(${this.walk(args[0][0], args[0][1], false)}, ${lit(javaToStrftime(fmt.value))})`);
          return next;
        }
        case 'CAST': case 'TRY_CAST': {
          let asAt = -1, depth = 0;
          for (let k = i + 2; k < close; k++) {
            const v = t[k].type === 'op' ? t[k].value : null;
            if (v === '(' || v === '[') depth++;
            else if (v === ')' || v === ']') depth--;
            else if (depth === 0 && t[k].type === 'word' && t[k].upper === 'AS') asAt = k;
          }
          if (asAt < 0) throw syntaxError(t[close].text);
          const ty = parseType(t, asAt + 1);
          if (ty.next !== close) throw syntaxError(t[ty.next].text);
          const operand = this.walk(i + 2, asAt, false);
          out.push(u === 'TRY_CAST' ? `TRY_CAST(${operand} AS ${ty.duck})` : this.castSql(operand, ty));
          return next;
        }
        // Divisions were guarded by rewriteDivision; these are the NULL-tolerant and function forms.
        case 'TRY_DIVIDE': case 'TRY_MOD': {
          const [x, y] = a();
          if (args.length !== 2) throw wrongArgs(tok.value, 2, args.length);
          out.push(`((${x}) ${u === 'TRY_DIVIDE' ? '/' : '%'} nullif(${y}, 0))`);
          return next;
        }
        // Spark counts a start position of 0 as 1; DuckDB's substring would then take one character less.
        case 'SUBSTR': case 'SUBSTRING': {
          if (args.length !== 2 && args.length !== 3) break; // SUBSTRING(s FROM p FOR n) passes through
          const [str, pos, len] = a();
          out.push(`substring(${str}, CASE WHEN (${pos}) = 0 THEN 1 ELSE (${pos}) END${len === undefined ? '' : `, greatest(${len}, 0)`})`);
          return next;
        }
        case 'GET': {
          if (args.length !== 2) throw wrongArgs(tok.value, 2, args.length);
          out.push(`dbx_get(${a().join(', ')})`);
          return next;
        }
        case 'MOD': {
          const [x, y] = a();
          if (args.length !== 2) throw wrongArgs(tok.value, 2, args.length);
          out.push(`((${x}) % dbx_nonzero(${y}))`);
          return next;
        }
        case 'RLIKE': case 'REGEXP_LIKE': out.push(`regexp_matches(${a().join(', ')})`); return next;
        case 'GET_JSON_OBJECT': out.push(`json_extract_string(${a().join(', ')})`); return next;
        default: {
          const after = t[next];
          const sql = builtinCall({
            name: u, raw: tok.value, args: a(), tok: (k) => (args[k] ? t[args[k][0]] : undefined),
            literal: (k) => (args[k] && args[k][1] === args[k][0] + 1 && t[args[k][0]].type === 'string' ? t[args[k][0]].value : undefined),
            parseType: (text) => parseTypeText(text, tokenize),
            over: after?.type === 'word' && after.upper === 'OVER',
            aliased: after?.type === 'qident' || (after?.type === 'word' && (after.upper === 'AS' || !isClauseWord(after.upper))),
          });
          if (sql !== undefined) { out.push(sql); return next; }
          break;
        }
      }
      out.push(tok.value);
      return i + 1;
    }
    if (this.isName(i)) { out.push(qid(tok.value)); return i + 1; }
    // Multi-field interval literals, which DuckDB's parser refuses.
    if (u === 'INTERVAL' && t[i + 1]?.type === 'string' && t[i + 2]?.type === 'word' && t[i + 3]?.upper === 'TO' && t[i + 4]?.type === 'word') {
      out.push(intervalLiteral(t[i + 1].value, t[i + 2].upper, t[i + 4].upper));
      return i + 5;
    }
    if ((u === 'TIMESTAMP' || u === 'TIMESTAMP_LTZ') && t[i + 1]?.type === 'string') { out.push(`TIMESTAMPTZ ${lit(t[i + 1].value)}`); return i + 2; }
    if (u === 'TIMESTAMP_NTZ' && t[i + 1]?.type === 'string') { out.push(`TIMESTAMP ${lit(t[i + 1].value)}`); return i + 2; }
    if ((u === 'RLIKE' || u === 'REGEXP') && out.length) throw unsupported('RLIKE/REGEXP operator (use regexp_like())');
    if (u === 'EXCEPT' && out[out.length - 1] === '*' && t[i + 1]?.value === '(') { out.push('EXCLUDE'); return i + 1; }
    if ((u === 'LIKE' || u === 'ILIKE') && ['string', 'param'].includes(t[i + 1]?.type) && t[i + 2]?.upper !== 'ESCAPE') {
      // Databricks LIKE escapes with backslash by default; DuckDB needs it spelled out.
      const pattern = t[i + 1].type === 'string' ? lit(t[i + 1].value) : this.ctx.param(t[i + 1].value, { compared: true });
      out.push(u, pattern, "ESCAPE '\\'");
      return i + 2;
    }
    if (u === 'CURRENT_USER') { out.push(lit(this.ctx.principal?.name ?? '')); return i + 1; }
    if (u === 'CURRENT_TIMESTAMP') { out.push('get_current_timestamp()'); return i + 1; }
    // Keywords pass as written (names were quoted above).
    out.push(tok.value);
    return i + 1;
  }
}
