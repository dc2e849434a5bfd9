// Tokenizer for the Databricks SQL dialect. Everything downstream (statement parsing, translation to
// DuckDB) works on these tokens, never on raw text, so a keyword inside a string literal or a
// backticked name keeps its meaning. String literals are decoded here with Databricks rules
// (backslash escapes, r'' raw strings, adjacent literals concatenated, so '' is NOT a quote escape).
//
// Token: { type, value, text, pos } where type is one of
//   word    unquoted identifier or keyword; value = text as written, upper = upper-cased
//   qident  `backticked` identifier; value = unescaped name
//   string  string literal; value = decoded text
//   hex     X'..' binary literal; value = hex digits
//   number  numeric literal; value = text (suffixes such as 10L or 1.5D are normalised away)
//   param   named parameter marker :name or :`name`; value = name
//   op      operator or punctuation: ( ) , ; . [ ] { } = <> != < <= > >= <=> + - * / % || :: : & | ^ ~ ==
//   eof     end of input
import { SqlError, syntaxError } from './errors.mjs';

// Words after which ":x" is a parameter even though they look like identifiers.
const NON_OPERAND_WORDS = new Set([
  'SELECT', 'WHERE', 'AND', 'OR', 'NOT', 'THEN', 'ELSE', 'WHEN', 'CASE', 'LIMIT', 'OFFSET', 'IN', 'IS',
  'LIKE', 'ILIKE', 'BETWEEN', 'VALUES', 'SET', 'ON', 'BY', 'AS', 'HAVING', 'RETURN', 'FROM', 'JOIN',
  'DISTINCT', 'ALL', 'ANY', 'SOME', 'EXISTS', 'INTERVAL', 'USING', 'TO', 'END', 'RLIKE', 'DIV', 'WITH',
  'OVER', 'PARTITION', 'ROWS', 'RANGE', 'UNION', 'EXCEPT', 'INTERSECT', 'TABLE', 'INTO', 'ESCAPE',
]);

const SIMPLE_ESCAPES = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a' };

function isIdentStart(c) { return /[A-Za-z_]/.test(c) || c > '\x7f'; }
function isIdentPart(c) { return /[A-Za-z0-9_]/.test(c) || c > '\x7f'; }

function readQuoted(sql, i, quote, raw) {
  // i points at the opening quote. Returns [decodedValue, indexAfterClosingQuote].
  let out = '';
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (c === '\\' && !raw) {
      const n = sql[j + 1];
      if (n === undefined) break;
      if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(sql.slice(j + 2, j + 6))) {
        out += String.fromCharCode(parseInt(sql.slice(j + 2, j + 6), 16));
        j += 6;
        continue;
      }
      if (n === '%' || n === '_') out += '\\' + n; // kept so LIKE patterns see the escape
      else out += SIMPLE_ESCAPES[n] ?? n;
      j += 2;
      continue;
    }
    if (c === quote) return [out, j + 1];
    out += c;
    j++;
  }
  throw new SqlError('PARSE_SYNTAX_ERROR', '42601', `Syntax error at or near end of input: unclosed string literal.`);
}

function endsOperand(tok) {
  if (!tok) return false;
  if (tok.type === 'qident' || tok.type === 'string' || tok.type === 'number') return true;
  if (tok.type === 'word') return !NON_OPERAND_WORDS.has(tok.upper);
  if (tok.type === 'op') return tok.value === ')' || tok.value === ']';
  return false;
}

const OPS3 = ['<=>'];
const OPS2 = ['<>', '!=', '<=', '>=', '||', '::', '==', '->', '=>'];

/** Splits sql into tokens (see header). Throws SqlError PARSE_SYNTAX_ERROR on malformed input. */
export function tokenize(sql) {
  const toks = [];
  let i = 0;
  const push = (t) => { toks.push(t); };
  while (i < sql.length) {
    const c = sql[i];
    const start = i;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw syntaxError(null);
      i = end + 2;
      continue;
    }
    // r'..' raw strings and X'..' binary literals: a prefix letter glued to a quote.
    if ((c === 'r' || c === 'R') && (sql[i + 1] === "'" || sql[i + 1] === '"')) {
      const [v, j] = readQuoted(sql, i + 1, sql[i + 1], true);
      push({ type: 'string', value: v, pos: start });
      i = j;
      continue;
    }
    if ((c === 'x' || c === 'X') && sql[i + 1] === "'") {
      const [v, j] = readQuoted(sql, i + 1, "'", true);
      if (!/^[0-9a-fA-F]*$/.test(v)) throw syntaxError(sql.slice(start, j));
      push({ type: 'hex', value: v.length % 2 ? '0' + v : v, pos: start });
      i = j;
      continue;
    }
    if (c === "'" || c === '"') {
      const [v, j] = readQuoted(sql, i, c, false);
      push({ type: 'string', value: v, pos: start });
      i = j;
      continue;
    }
    if (c === '`') {
      let name = '';
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) throw new SqlError('PARSE_SYNTAX_ERROR', '42601', 'Syntax error at or near end of input: unclosed backtick identifier.');
        if (sql[j] === '`') {
          if (sql[j + 1] === '`') { name += '`'; j += 2; continue; }
          break;
        }
        name += sql[j++];
      }
      push({ type: 'qident', value: name, pos: start });
      i = j + 1;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?([lLsSyYdDfF]|BD|bd)?/.exec(sql.slice(i));
      // an identifier glued to digits (e.g. 1abc) is not a number in Spark either
      if (isIdentPart(sql[i + m[0].length] ?? '')) {
        const w = /^[A-Za-z0-9_]+/.exec(sql.slice(i))[0];
        push({ type: 'word', value: w, upper: w.toUpperCase(), pos: start });
        i += w.length;
        continue;
      }
      push({ type: 'number', value: m[1] + (m[2] ?? ''), suffix: (m[3] ?? '').toUpperCase(), pos: start });
      i += m[0].length;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < sql.length && isIdentPart(sql[j])) j++;
      const w = sql.slice(i, j);
      push({ type: 'word', value: w, upper: w.toUpperCase(), pos: start });
      i = j;
      continue;
    }
    if (c === ':' && sql[i + 1] !== ':' && !endsOperand(toks[toks.length - 1])) {
      const n = sql[i + 1];
      if (n === '`') {
        const sub = tokenize(sql.slice(i + 1).match(/^`(?:[^`]|``)*`/)?.[0] ?? '`');
        push({ type: 'param', value: sub[0].value, pos: start });
        i += 1 + sql.slice(i + 1).match(/^`(?:[^`]|``)*`/)[0].length;
        continue;
      }
      if (n !== undefined && isIdentStart(n)) {
        let j = i + 2;
        while (j < sql.length && isIdentPart(sql[j])) j++;
        push({ type: 'param', value: sql.slice(i + 1, j), pos: start });
        i = j;
        continue;
      }
    }
    if (c === '?') throw new SqlError('UNSUPPORTED_FEATURE', '0A000', 'The feature is not supported: positional parameter markers (?) with the Statement Execution API; use named markers (:name).');
    const three = sql.slice(i, i + 3);
    const two = sql.slice(i, i + 2);
    const op = OPS3.includes(three) ? three : OPS2.includes(two) ? two : c;
    if (!'(),;.[]{}=<>!+-*/%:&|^~'.includes(op[0])) throw syntaxError(c);
    push({ type: 'op', value: op, pos: start });
    i += op.length;
  }
  // Adjacent string literals form one literal ('a' 'b' = 'ab'; 'O''Brien' = 'OBrien').
  const merged = [];
  for (const t of toks) {
    const prev = merged[merged.length - 1];
    if (t.type === 'string' && prev && prev.type === 'string') prev.value += t.value;
    else merged.push(t);
  }
  merged.push({ type: 'eof', value: null, pos: sql.length });
  for (const t of merged) t.text = tokenText(t);
  return merged;
}

/** Source-like text of a token, used in error messages. */
export function tokenText(t) {
  switch (t.type) {
    case 'qident': return '`' + t.value.replace(/`/g, '``') + '`';
    case 'string': return "'" + t.value + "'";
    case 'param': return ':' + t.value;
    case 'hex': return "X'" + t.value + "'";
    case 'eof': return '<EOF>';
    default: return t.value;
  }
}

/** True when t is an identifier (plain word or backticked). */
export function isIdent(t) { return t.type === 'word' || t.type === 'qident'; }

/** Normalised identifier value: Databricks names are case-insensitive and stored lower-case. */
export function identName(t) { return t.type === 'qident' ? t.value.toLowerCase() : t.value.toLowerCase(); }

/** Identifier as written (case preserved), used for column names. */
export function identRaw(t) { return t.value; }
