// Databricks built-in functions that DuckDB lacks or whose DuckDB namesakes behave differently
// (argument order, 0- vs 1-based, first vs all matches, NULL handling, result type). The Translator
// calls builtinCall for every function call; it answers DuckDB SQL, or undefined to pass the call
// through unchanged. Dates and times follow the warehouse defaults: session time zone UTC, ANSI on.
import { SqlError, unsupported } from './errors.mjs';

// DuckDB string literal (translate.mjs has the same; repeated here to keep the import graph acyclic).
const lit = (v) => "'" + String(v).replace(/'/g, "''") + "'";

const NUMERIC = "typeof(x) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'FLOAT', 'DOUBLE') OR starts_with(typeof(x), 'DECIMAL')";
const err = (cls, text, state) => `error(${lit(`[${cls}] ${text} SQLSTATE: ${state}`)})`;

/** DuckDB macros behind the rewrites (they use dbx_size, which the Engine defines first). */
export const BUILTIN_MACROS = [
  // Spark casts numbers to TIMESTAMP as seconds since the epoch; DuckDB has no such cast. Both
  // branches must bind for any operand type, hence the detours through VARCHAR.
  `CREATE OR REPLACE TEMP MACRO dbx_to_timestamp(x) AS CASE WHEN ${NUMERIC} THEN to_timestamp(CAST(CAST(x AS VARCHAR) AS DOUBLE)) ELSE CAST(CAST(x AS VARCHAR) AS TIMESTAMPTZ) END`,
  // ceil/floor answer BIGINT for every non-DECIMAL operand (a STRING is read as DOUBLE). Typed
  // overloads pick the branch at bind time, where a CASE would unify the result types.
  ...['ceil', 'floor'].map((f) => `CREATE OR REPLACE TEMP MACRO dbx_${f}${['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT'].map((t) => `(x ${t}) AS CAST(x AS BIGINT)`)
    .concat(['FLOAT', 'DOUBLE'].map((t) => `(x ${t}) AS CAST(${f}(x) AS BIGINT)`), `(x VARCHAR) AS CAST(${f}(CAST(x AS DOUBLE)) AS BIGINT)`).join(', ')}`),
  `CREATE OR REPLACE TEMP MACRO dbx_unix_timestamp(x, fmt) AS CAST(floor(epoch(CASE WHEN typeof(x) = 'VARCHAR' THEN CAST(strptime(CAST(x AS VARCHAR), fmt) AS TIMESTAMPTZ) ELSE CAST(CAST(x AS VARCHAR) AS TIMESTAMPTZ) END)) AS BIGINT)`,
  // array_contains is NULL (not false) when there is no match but the array holds a NULL.
  'CREATE OR REPLACE TEMP MACRO dbx_array_contains(a, v) AS CASE WHEN a IS NULL OR v IS NULL THEN NULL WHEN list_contains(a, v) THEN true WHEN len(a) > len(list_filter(a, lambda e: e IS NOT NULL)) THEN NULL ELSE false END',
  // element_at: 1-based, negative counts from the end (as DuckDB's c[i]); maps look the key up (NULL when absent).
  `CREATE OR REPLACE TEMP MACRO dbx_element_at(c, i, strict) AS CASE WHEN c IS NULL OR i IS NULL THEN NULL WHEN starts_with(typeof(c), 'MAP') THEN c[i]
    WHEN i = 0 THEN ${err('INVALID_INDEX_OF_ZERO', 'The index 0 is invalid. An index shall be either < 0 or > 0 (the first element has index 1).', '22003')}
    WHEN i > dbx_size(c) OR i < -dbx_size(c) THEN (CASE WHEN strict THEN error(concat('[INVALID_ARRAY_INDEX_IN_ELEMENT_AT] The index ', i, ' is out of bounds. The array has ', dbx_size(c), ' elements. Use \`try_element_at\` to tolerate accessing element at invalid index and return NULL instead. If necessary set "ansi_mode" to "false" to bypass this error. SQLSTATE: 22003')) END)
    ELSE c[i] END`,
];

// Java/Spark datetime pattern letters -> strftime/strptime.
const DATE_PATTERNS = [['yyyy', '%Y'], ['yy', '%y'], ['MMMM', '%B'], ['MMM', '%b'], ['MM', '%m'], ['dd', '%d'], ['HH', '%H'],
  ['hh', '%I'], ['mm', '%M'], ['ss', '%S'], ['SSSSSS', '%f'], ['SSS', '%g'], ['EEEE', '%A'], ['EEE', '%a'], ['a', '%p'], ['D', '%j']];

/** strftime/strptime format for a Spark datetime pattern; unknown letters are UNSUPPORTED_FEATURE. */
export function javaToStrftime(p) {
  let out = '';
  for (let i = 0; i < p.length;) {
    if (p[i] === "'") {
      const end = p.indexOf("'", i + 1);
      out += p.slice(i + 1, end < 0 ? p.length : end).replace(/%/g, '%%');
      i = end < 0 ? p.length : end + 1;
      continue;
    }
    const hit = DATE_PATTERNS.find(([k]) => p.startsWith(k, i));
    if (hit) { out += hit[1]; i += hit[0].length; continue; }
    if (/[A-Za-z]/.test(p[i])) throw unsupported(`datetime pattern letter '${p[i]}'`);
    out += p[i] === '%' ? '%%' : p[i];
    i++;
  }
  return out;
}

const DEFAULT_TS_FORMAT = '%Y-%m-%d %H:%M:%S';

// DuckDB interval constructor per Databricks timestampadd/timestampdiff unit.
const ADD_UNITS = { MICROSECOND: 'to_microseconds', MILLISECOND: 'to_milliseconds', SECOND: 'to_seconds', MINUTE: 'to_minutes', HOUR: 'to_hours', DAY: 'to_days', DAYOFYEAR: 'to_days', WEEK: 'to_weeks', MONTH: 'to_months', QUARTER: 'to_months', YEAR: 'to_years' };

function wrongArgs(name, want, got) {
  return new SqlError('WRONG_NUM_ARGS.WITHOUT_SUGGESTION', '42605', `The \`${name.toLowerCase()}\` requires ${want} parameters but the actual number is ${got}.`);
}

/**
 * DuckDB SQL for the call `name(args)`, or undefined to pass it through. call = { name (upper),
 * raw (as written), args (DuckDB SQL per argument), tok(k) (first token of argument k), literal(k)
 * (string value when argument k is one string literal, else undefined), over (an OVER follows),
 * aliased (an alias follows) }.
 */
export function builtinCall(call) {
  const { name, args } = call;
  const n = args.length;
  const arity = (...ok) => { if (!ok.includes(n)) throw wrongArgs(call.raw, ok.join(' or '), n); };
  const format = (k) => {
    const f = call.literal(k);
    if (f === undefined) throw unsupported(`${call.raw.toLowerCase()} with a non-literal format`);
    return lit(javaToStrftime(f));
  };
  const unit = (k) => {
    const t = call.tok(k);
    const u = (t?.type === 'word' || t?.type === 'string') ? String(t.value).toUpperCase() : '';
    if (!ADD_UNITS[u]) throw new SqlError('INVALID_PARAMETER_VALUE.DATETIME_UNIT', '22023', `The value of parameter(s) \`unit\` in \`${call.raw.toLowerCase()}\` is invalid: expects one of the units without quotes YEAR, QUARTER, MONTH, WEEK, DAY, DAYOFYEAR, HOUR, MINUTE, SECOND, MILLISECOND, MICROSECOND, but got the string literal '${t?.value}'.`);
    return u;
  };
  const tsAdd = (u, v, ts) => `(CAST(${ts} AS TIMESTAMPTZ) + ${ADD_UNITS[u]}(CAST(${u === 'QUARTER' ? `3 * (${v})` : v} AS ${['SECOND'].includes(u) ? 'DOUBLE' : 'BIGINT'})))`;
  const tsDiff = (u, a, b) => `date_sub(${lit(u === 'DAYOFYEAR' ? 'day' : u.toLowerCase())}, CAST(${a} AS TIMESTAMPTZ), CAST(${b} AS TIMESTAMPTZ))`;
  switch (name) {
    case 'TIMESTAMP_SECONDS': arity(1); return `to_timestamp(CAST(${args[0]} AS DOUBLE))`;
    case 'TIMESTAMP_MILLIS': arity(1); return `CAST(make_timestamp(CAST(${args[0]} AS BIGINT) * 1000) AS TIMESTAMPTZ)`;
    case 'TIMESTAMP_MICROS': arity(1); return `CAST(make_timestamp(CAST(${args[0]} AS BIGINT)) AS TIMESTAMPTZ)`;
    case 'UNIX_SECONDS': arity(1); return `CAST(floor(epoch(CAST(${args[0]} AS TIMESTAMPTZ))) AS BIGINT)`;
    case 'UNIX_MILLIS': arity(1); return `epoch_ms(CAST(${args[0]} AS TIMESTAMPTZ))`;
    case 'UNIX_MICROS': arity(1); return `epoch_us(CAST(${args[0]} AS TIMESTAMPTZ))`;
    case 'UNIX_DATE': arity(1); return `CAST(CAST(${args[0]} AS DATE) - DATE '1970-01-01' AS INTEGER)`;
    case 'DATE_FROM_UNIX_DATE': arity(1); return `CAST(DATE '1970-01-01' + CAST(${args[0]} AS INTEGER) AS DATE)`;
    case 'UNIX_TIMESTAMP': case 'TO_UNIX_TIMESTAMP':
      arity(...(name === 'UNIX_TIMESTAMP' ? [0, 1, 2] : [1, 2]));
      if (n === 0) return 'CAST(floor(epoch(get_current_timestamp())) AS BIGINT)';
      return `dbx_unix_timestamp(${args[0]}, ${n === 2 ? format(1) : lit(DEFAULT_TS_FORMAT)})`;
    case 'FROM_UNIXTIME': arity(1, 2); return `strftime(to_timestamp(dbx_to_bigint(${args[0]})), ${n === 2 ? format(1) : lit(DEFAULT_TS_FORMAT)})`;
    case 'TO_TIMESTAMP':
      arity(1, 2);
      return n === 1 ? `dbx_to_timestamp(${args[0]})` : `CAST(strptime(CAST(${args[0]} AS VARCHAR), ${format(1)}) AS TIMESTAMPTZ)`;
    case 'TO_DATE':
      arity(1, 2);
      return n === 1 ? `CAST(${args[0]} AS DATE)` : `CAST(strptime(CAST(${args[0]} AS VARCHAR), ${format(1)}) AS DATE)`;
    case 'DATE_ADD': case 'DATEADD':
      arity(2, 3);
      return n === 2 ? `CAST(CAST(${args[0]} AS DATE) + CAST(${args[1]} AS INTEGER) AS DATE)` : tsAdd(unit(0), args[1], args[2]);
    case 'DATE_SUB': arity(2); return `CAST(CAST(${args[0]} AS DATE) - CAST(${args[1]} AS INTEGER) AS DATE)`;
    case 'TIMESTAMPADD': arity(3); return tsAdd(unit(0), args[1], args[2]);
    case 'DATEDIFF': case 'DATE_DIFF':
      arity(2, 3);
      return n === 2 ? `CAST(CAST(${args[0]} AS DATE) - CAST(${args[1]} AS DATE) AS INTEGER)` : tsDiff(unit(0), args[1], args[2]);
    case 'TIMESTAMPDIFF': arity(3); return tsDiff(unit(0), args[1], args[2]);
    case 'DAYOFWEEK': arity(1); return `CAST(dayofweek(CAST(${args[0]} AS DATE)) + 1 AS INTEGER)`;
    case 'WEEKDAY': arity(1); return `CAST(isodow(CAST(${args[0]} AS DATE)) - 1 AS INTEGER)`;
    case 'MAKE_DT_INTERVAL': {
      arity(0, 1, 2, 3, 4);
      const [d = '0', h = '0', m = '0', s = '0'] = args;
      return `(to_days(CAST(${d} AS INTEGER)) + to_hours(CAST(${h} AS BIGINT)) + to_minutes(CAST(${m} AS BIGINT)) + to_microseconds(CAST(round(CAST(${s} AS DECIMAL(18,6)) * 1000000) AS BIGINT)))`;
    }
    case 'MAKE_YM_INTERVAL': {
      arity(0, 1, 2);
      const [y = '0', m = '0'] = args;
      return `to_months(CAST(${y} AS INTEGER) * 12 + CAST(${m} AS INTEGER))`;
    }
    // One argument only: the targetScale forms still reach DuckDB (which has none) and fail.
    case 'CEIL': case 'CEILING': return n === 1 ? `dbx_ceil(${args[0]})` : undefined;
    case 'FLOOR': return n === 1 ? `dbx_floor(${args[0]})` : undefined;
    // Character counts and positions are INT in Databricks; DuckDB answers BIGINT.
    case 'LENGTH': case 'LEN': case 'CHAR_LENGTH': case 'CHARACTER_LENGTH': arity(1); return `CAST(length(${args[0]}) AS INTEGER)`;
    case 'INSTR': arity(2); return `CAST(instr(${args[0]}, ${args[1]}) AS INTEGER)`;
    case 'ELEMENT_AT': case 'TRY_ELEMENT_AT': arity(2); return `dbx_element_at(${args[0]}, ${args[1]}, ${name === 'ELEMENT_AT'})`;
    case 'ARRAY_CONTAINS': arity(2); return `dbx_array_contains(${args[0]}, ${args[1]})`;
    case 'COLLECT_LIST': case 'ARRAY_AGG': case 'COLLECT_SET': {
      arity(1);
      // NULLs are skipped, and an empty group gives an empty array (DuckDB's list() keeps NULLs, gives NULL).
      const distinct = name === 'COLLECT_SET' || /^DISTINCT\b/i.test(args[0]);
      const expr = args[0].replace(/^DISTINCT\s+/i, '');
      const agg = `list(${distinct ? 'DISTINCT ' : ''}${expr}) FILTER (WHERE (${expr}) IS NOT NULL)`;
      return call.over ? agg : `coalesce(${agg}, [])`;
    }
    case 'EXPLODE': {
      arity(1);
      if (call.over) throw unsupported('explode() with OVER');
      // Arrays only: DuckDB refuses to unnest a MAP, which mapError reports as UNSUPPORTED_FEATURE.
      return `unnest(${args[0]})${call.aliased ? '' : ' AS col'}`;
    }
    case 'FROM_JSON': {
      arity(2);
      const schema = call.literal(1);
      if (schema === undefined) throw unsupported('from_json with a non-literal schema');
      const ty = call.parseType(/^\s*(STRUCT|ARRAY|MAP)\s*</i.test(schema) ? schema : `STRUCT<${schema}>`);
      // PERMISSIVE, Spark's default mode: a malformed record gives NULL.
      return `TRY_CAST(TRY_CAST(${args[0]} AS JSON) AS ${ty.duck})`;
    }
    // Spark's pattern functions replace every match and extract group 1 by default.
    case 'REGEXP_REPLACE':
      arity(3, 4);
      if (n === 4) throw unsupported('regexp_replace with a position');
      return `regexp_replace(${args[0]}, ${args[1]}, ${args[2]}, 'g')`;
    case 'REGEXP_EXTRACT': arity(2, 3); return `regexp_extract(${args[0]}, ${args[1]}, ${n === 3 ? args[2] : '1'})`;
    case 'SPLIT': {
      arity(2, 3);
      if (n === 3 && !/^-?\d+$/.test(args[2].trim()) ) throw unsupported('split with a non-literal limit');
      if (n === 3 && Number(args[2]) > 0) throw unsupported('split with a positive limit');
      return `string_split_regex(${args[0]}, ${args[1]})`;
    }
    default: return undefined;
  }
}

/**
 * DuckDB SQL for a Databricks multi-field interval literal (INTERVAL 'text' FROM TO TO), e.g.
 * '1-2' YEAR TO MONTH or '-1 02:03:04.5' DAY TO SECOND.
 */
export function intervalLiteral(text, from, to) {
  const bad = () => new SqlError('INVALID_INTERVAL_FORMAT.UNMATCHED_FORMAT_STRING', '22006', `Error parsing '${text}' to interval. Interval string does not match ${from.toLowerCase()}-time format of \`[+|-]${from === 'YEAR' ? 'y-m' : 'd h:m:s.n'}\` when cast to ${from} TO ${to}.`);
  const s = text.trim();
  const sign = s.startsWith('-') ? -1n : 1n;
  const body = s.replace(/^[+-]/, '');
  if (from === 'YEAR') {
    const m = to === 'MONTH' && /^(\d+)-(\d+)$/.exec(body);
    if (!m || Number(m[2]) > 11) throw bad();
    return `to_months(${sign * (BigInt(m[1]) * 12n + BigInt(m[2]))})`;
  }
  const fields = ['DAY', 'HOUR', 'MINUTE', 'SECOND'];
  const a = fields.indexOf(from);
  const b = fields.indexOf(to);
  if (a < 0 || b <= a) throw bad();
  const pattern = [String.raw`(\d+)`, String.raw`(\d{1,2})`, String.raw`(\d{1,2})`, String.raw`(\d{1,2}(?:\.\d{1,9})?)`].slice(a, b + 1);
  const seps = [' ', ':', ':'].slice(a, b);
  const re = new RegExp('^' + pattern.map((p, k) => (k ? seps[k - 1] : '') + p).join('') + '$');
  const m = re.exec(body);
  if (!m) throw bad();
  const unitMicros = [86_400_000_000n, 3_600_000_000n, 60_000_000n, 1_000_000n];
  let micros = 0n;
  m.slice(1).forEach((v, k) => {
    const f = a + k;
    if (f === 3) {
      const [whole, frac = ''] = v.split('.');
      micros += BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0').slice(0, 6));
    } else micros += BigInt(v) * unitMicros[f];
  });
  return `to_microseconds(${sign * micros})`;
}
