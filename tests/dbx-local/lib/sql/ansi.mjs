// ANSI-mode checks of Databricks SQL warehouses (ANSI mode is on there) emulated over DuckDB, which
// answers NULL where Databricks raises an error.
// Division: a token rewrite runs before any parsing. The divisor of `/` and `%` becomes
// dbx_nonzero(divisor), and `a div b` becomes dbx_div(a, b) (BIGINT, truncated toward zero); both
// macros raise [DIVIDE_BY_ZERO] for a zero divisor. Working on tokens keeps string literals and
// backticked names out of reach, and the result is ordinary function-call syntax for the statement
// parsers and the Translator.
// Casts to TINYINT..BIGINT go through dbx_to_<type>(x), which truncates as Spark does.
// Subscripts: the Translator emits dbx_element(c, i) for `c[i]` (0-based arrays, [INVALID_ARRAY_INDEX]
// when out of range; maps look the key up as is) and dbx_get(c, i) for get().
import { syntaxError } from './errors.mjs';
import { isIdent } from './tokenizer.mjs';
import { parseType } from './types.mjs';

/** The Databricks message for a zero divisor (also raised by the DuckDB macros). */
export const DIVIDE_BY_ZERO = '[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead. If necessary set "ansi_mode" to "false" to bypass this error. SQLSTATE: 22012';

// DuckDB macros behind the rewrite; CASE evaluates lazily, so error() only fires on a zero divisor.
// Integer operands divide exactly as BIGINT; others (DOUBLE, DECIMAL) through trunc() of the quotient.
export const DIVISION_MACROS = [
  `CREATE OR REPLACE TEMP MACRO dbx_nonzero(x) AS CASE WHEN x = 0 THEN error('${DIVIDE_BY_ZERO.replace(/'/g, "''")}') ELSE x END`,
  "CREATE OR REPLACE TEMP MACRO dbx_div(a, b) AS CASE WHEN typeof(a) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT') AND typeof(b) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT') THEN CAST(a AS BIGINT) // CAST(dbx_nonzero(b) AS BIGINT) ELSE CAST(trunc(a / dbx_nonzero(b)) AS BIGINT) END",
];

/** DuckDB macros for subscripts (they use dbx_size, which the Engine defines first). */
export const SUBSCRIPT_MACROS = [
  `CREATE OR REPLACE TEMP MACRO dbx_element(c, i) AS CASE WHEN c IS NULL OR i IS NULL THEN NULL WHEN starts_with(typeof(c), 'MAP') THEN c[i] WHEN i < 0 OR i >= dbx_size(c) THEN error(concat('[INVALID_ARRAY_INDEX] The index ', i, ' is out of bounds. The array has ', dbx_size(c), ' elements. Use the SQL function \`get()\` to tolerate accessing element at invalid index and return NULL instead. If necessary set "ansi_mode" to "false" to bypass this error. SQLSTATE: 22003')) ELSE c[i + 1] END`,
  'CREATE OR REPLACE TEMP MACRO dbx_get(c, i) AS CASE WHEN i < 0 THEN NULL ELSE c[i + 1] END',
];

// Casts to integral types: Spark truncates DOUBLE/FLOAT/DECIMAL toward zero, DuckDB rounds. Below
// 1e18 the fraction is cut through DECIMAL(38,10) (exact); larger values are integral already.
// A TIMESTAMP becomes whole seconds since the epoch, rounded down (Spark); DuckDB has no such cast.
// Every branch must bind for any operand type, hence the detours through VARCHAR.
const INTEGRAL = { TINYINT: 'dbx_to_tinyint', SMALLINT: 'dbx_to_smallint', INTEGER: 'dbx_to_int', BIGINT: 'dbx_to_bigint' };
export const INTEGRAL_CASTS = INTEGRAL;
export const CAST_MACROS = Object.entries(INTEGRAL).map(([t, name]) => `CREATE OR REPLACE TEMP MACRO ${name}(x) AS CASE
  WHEN typeof(x) IN ('FLOAT', 'DOUBLE') OR starts_with(typeof(x), 'DECIMAL') THEN (CASE WHEN abs(TRY_CAST(x AS DOUBLE)) < 1e18 THEN CAST(trunc(TRY_CAST(x AS DECIMAL(38,10))) AS ${t}) ELSE CAST(x AS ${t}) END)
  WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE' THEN CAST(floor(epoch_us(CAST(CAST(x AS VARCHAR) AS TIMESTAMPTZ)) / 1000000) AS ${t})
  ELSE CAST(x AS ${t}) END`);

/** DuckDB SQL storing expression sql into a column of DuckDB type duckType, truncating like Spark. */
export function storeCast(sql, duckType) {
  return INTEGRAL[duckType] ? `${INTEGRAL[duckType]}(${sql})` : `CAST(${sql} AS ${duckType})`;
}

/** True for keywords that cannot end an operand (so `WORD (...)` is not a function call). */
export function isClauseWord(upper) { return NOT_OPERAND.has(upper) && upper !== 'END'; }

// Words that cannot start or end an operand (clause keywords and word operators).
const NOT_OPERAND = new Set(['SELECT', 'FROM', 'WHERE', 'GROUP', 'ORDER', 'LIMIT', 'OFFSET', 'HAVING', 'QUALIFY', 'WINDOW',
  'UNION', 'EXCEPT', 'INTERSECT', 'AS', 'ON', 'USING', 'AND', 'OR', 'NOT', 'THEN', 'ELSE', 'WHEN', 'CASE', 'END', 'JOIN', 'INNER',
  'LEFT', 'RIGHT', 'FULL', 'CROSS', 'IS', 'IN', 'LIKE', 'ILIKE', 'RLIKE', 'BETWEEN', 'INTO', 'SET', 'VALUES', 'BY', 'DIV',
  'DISTINCT', 'ALL', 'EXISTS', 'RETURN', 'ESCAPE', 'OVER', 'PARTITION', 'ROWS', 'RANGE', 'TABLE', 'WITH', 'INTERVAL']);
const TYPED_LITERAL = new Set(['DATE', 'TIMESTAMP', 'TIMESTAMP_NTZ', 'TIMESTAMP_LTZ']);
const MUL_OPS = new Set(['*', '/', '%']);

const op = (t, v) => t?.type === 'op' && t.value === v;
const word = (t, w) => t?.type === 'word' && t.upper === w;
const isDivWord = (t) => word(t, 'DIV');

function endsOperand(t) {
  if (!t) return false;
  if (['qident', 'string', 'number', 'param', 'hex'].includes(t.type)) return true;
  if (t.type === 'word') return !NOT_OPERAND.has(t.upper) || t.upper === 'END';
  return op(t, ')') || op(t, ']');
}

function beginsOperand(t) {
  if (!t) return false;
  if (['qident', 'string', 'number', 'param', 'hex'].includes(t.type)) return true;
  if (t.type === 'word') return !NOT_OPERAND.has(t.upper) || t.upper === 'CASE' || t.upper === 'NOT' || t.upper === 'INTERVAL';
  return op(t, '(') || op(t, '-') || op(t, '+') || op(t, '~');
}

// Index of the bracket matching toks[i], scanning in direction dir (+1 from an opener, -1 from a closer).
function matchBracket(toks, i, dir) {
  let depth = 0;
  for (let j = i; j >= 0 && j < toks.length; j += dir) {
    const t = toks[j];
    if (op(t, '(') || op(t, '[')) depth += dir;
    else if (op(t, ')') || op(t, ']')) depth -= dir;
    if (depth === 0) return j;
  }
  throw syntaxError(null);
}

// Index of the CASE/END partner of toks[i], scanning in direction dir.
function matchCase(toks, i, dir) {
  let depth = 0;
  for (let j = i; j >= 0 && j < toks.length; j += dir) {
    if (word(toks[j], 'CASE')) depth += dir;
    else if (word(toks[j], 'END')) depth -= dir;
    if (depth === 0) return j;
  }
  throw syntaxError(toks[i].text);
}

/** Index just after the unary operand (with postfix subscripts, casts, paths) starting at toks[i]. */
function operandEnd(toks, i) {
  let j = i;
  while (op(toks[j], '-') || op(toks[j], '+') || op(toks[j], '~') || word(toks[j], 'NOT')) j++;
  const t = toks[j];
  if (op(t, '(')) j = matchBracket(toks, j, 1) + 1;
  else if (word(t, 'CASE')) j = matchCase(toks, j, 1) + 1;
  else if (t?.type === 'word' && TYPED_LITERAL.has(t.upper) && toks[j + 1]?.type === 'string') j += 2;
  else if (word(t, 'INTERVAL')) {
    j++;
    while (toks[j] && (toks[j].type === 'string' || toks[j].type === 'number' || op(toks[j], '-') || (toks[j].type === 'word' && !NOT_OPERAND.has(toks[j].upper)) || word(toks[j], 'TO'))) j++;
  } else if (t && (t.type === 'word' || t.type === 'qident') && !(t.type === 'word' && NOT_OPERAND.has(t.upper))) {
    j++;
    if (op(toks[j], '(')) {
      j = matchBracket(toks, j, 1) + 1;
      if (word(toks[j], 'OVER')) j = op(toks[j + 1], '(') ? matchBracket(toks, j + 1, 1) + 1 : j + 2;
    }
  } else if (t && ['string', 'number', 'param', 'hex'].includes(t.type)) j++;
  else throw syntaxError(t?.text);
  for (;;) {
    if (op(toks[j], '[')) { j = matchBracket(toks, j, 1) + 1; continue; }
    if (op(toks[j], '::')) { j = parseType(toks, j + 1).next; continue; }
    if ((op(toks[j], '.') || op(toks[j], ':')) && isIdent(toks[j + 1])) { j += 2; continue; }
    return j;
  }
}

/** Index of the first token of the operand ending at toks[k], extended left over `*`, `/`, `%`, div. */
function termStart(toks, k) {
  let j = k;
  for (;;) {
    const t = toks[j];
    if (op(t, ']')) { j = matchBracket(toks, j, -1) - 1; continue; } // subscript: the operand is before it
    if (op(t, ')')) {
      j = matchBracket(toks, j, -1);
      const fn = toks[j - 1];
      if (fn && (fn.type === 'qident' || (fn.type === 'word' && !NOT_OPERAND.has(fn.upper)))) j--;
      else if (word(fn, 'OVER')) { j -= 2; continue; }
    } else if (word(t, 'END')) j = matchCase(toks, j, -1);
    else if (t?.type === 'string' && toks[j - 1]?.type === 'word' && TYPED_LITERAL.has(toks[j - 1].upper)) j--;
    else if (t?.type === 'word' && word(toks[j - 1], 'OVER')) { j -= 2; continue; }
    else if (!endsOperand(t) && !isDivWord(t)) throw syntaxError(t?.text);
    // A type after '::', a field after '.', a path after ':' belong to the operand before them.
    if (op(toks[j - 1], '.') || op(toks[j - 1], ':') || op(toks[j - 1], '::')) { j -= 2; continue; }
    break;
  }
  while ((op(toks[j - 1], '-') || op(toks[j - 1], '+') || op(toks[j - 1], '~')) && !endsOperand(toks[j - 2])) j--;
  const before = toks[j - 1];
  if ((before?.type === 'op' && MUL_OPS.has(before.value)) || isDivWord(before)) return termStart(toks, j - 2);
  return j;
}

// Whether toks[j] ends an operand; a word div does when it is a name, i.e. not between two operands.
function operandEndsAt(toks, j) {
  return isDivWord(toks[j]) ? j > 0 && !operandEndsAt(toks, j - 1) : endsOperand(toks[j]);
}

const synth = (type, value) => ({ type, value, upper: type === 'word' ? value.toUpperCase() : undefined, text: value, pos: -1 });

/**
 * Returns toks with every division guarded (see the header). `div` written as an identifier (a
 * column or alias named div) is left alone: it is an operator only between two operands.
 */
export function rewriteDivision(toks) {
  const out = [...toks];
  for (let k = out.length - 1; k > 0; k--) {
    const t = out[k];
    if ((op(t, '/') || op(t, '%')) && operandEndsAt(out, k - 1)) {
      const e = operandEnd(out, k + 1);
      out.splice(e, 0, synth('op', ')'));
      out.splice(k + 1, 0, synth('word', 'dbx_nonzero'), synth('op', '('));
    } else if (isDivWord(t) && operandEndsAt(out, k - 1) && beginsOperand(out[k + 1])) {
      const s = termStart(out, k - 1);
      const e = operandEnd(out, k + 1);
      out.splice(e, 0, synth('op', ')'));
      out.splice(k, 1, synth('op', ','));
      out.splice(s, 0, synth('word', 'dbx_div'), synth('op', '('));
      k += 2; // the left operand moved right by two; divisions inside it are still to do
    }
  }
  return out;
}
