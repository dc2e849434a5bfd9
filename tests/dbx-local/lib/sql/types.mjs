// Databricks data types: parsing type text from tokens, mapping to DuckDB storage types, mapping DuckDB
// result types back to Databricks type text, and the enum names the statement API and Unity Catalog
// report. VARIANT is stored as DuckDB JSON, TIMESTAMP as TIMESTAMPTZ (an instant; the session time
// zone is UTC) and TIMESTAMP_NTZ as TIMESTAMP.
import { SqlError, syntaxError } from './errors.mjs';
import { isIdent } from './tokenizer.mjs';

const SIMPLE = {
  BIGINT: ['BIGINT', 'BIGINT'], LONG: ['BIGINT', 'BIGINT'], INT: ['INT', 'INTEGER'], INTEGER: ['INT', 'INTEGER'],
  SMALLINT: ['SMALLINT', 'SMALLINT'], SHORT: ['SMALLINT', 'SMALLINT'], TINYINT: ['TINYINT', 'TINYINT'], BYTE: ['TINYINT', 'TINYINT'],
  BOOLEAN: ['BOOLEAN', 'BOOLEAN'], BOOL: ['BOOLEAN', 'BOOLEAN'], FLOAT: ['FLOAT', 'FLOAT'], REAL: ['FLOAT', 'FLOAT'], DOUBLE: ['DOUBLE', 'DOUBLE'],
  STRING: ['STRING', 'VARCHAR'], DATE: ['DATE', 'DATE'], TIMESTAMP: ['TIMESTAMP', 'TIMESTAMPTZ'], TIMESTAMP_LTZ: ['TIMESTAMP', 'TIMESTAMPTZ'],
  TIMESTAMP_NTZ: ['TIMESTAMP_NTZ', 'TIMESTAMP'], BINARY: ['BINARY', 'BLOB'], VARIANT: ['VARIANT', 'JSON'], VOID: ['VOID', 'INTEGER'],
};

/**
 * Parses a Databricks type starting at toks[i]. Returns { text, duck, next } where text is the
 * canonical Databricks type text (e.g. 'DECIMAL(10,2)', 'ARRAY<INT>') and duck the DuckDB type.
 */
export function parseType(toks, i) {
  const t = toks[i];
  if (!t || t.type !== 'word') throw syntaxError(t?.text);
  const u = t.upper;
  if (u === 'DECIMAL' || u === 'DEC' || u === 'NUMERIC') {
    let p = 10, s = 0, j = i + 1;
    if (toks[j]?.value === '(') {
      p = Number(toks[j + 1].value); j += 2;
      if (toks[j]?.value === ',') { s = Number(toks[j + 1].value); j += 2; }
      if (toks[j]?.value !== ')') throw syntaxError(toks[j]?.text);
      j++;
    }
    if (!(p >= 1 && p <= 38 && s >= 0 && s <= p)) {
      throw new SqlError('DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION', '22003', `Decimal precision ${p} exceeds max precision 38.`);
    }
    return { text: `DECIMAL(${p},${s})`, duck: `DECIMAL(${p},${s})`, next: j };
  }
  if (u === 'VARCHAR' || u === 'CHAR' || u === 'CHARACTER') {
    let j = i + 1;
    let text = 'STRING';
    if (toks[j]?.value === '(') { text = `${u === 'VARCHAR' ? 'VARCHAR' : 'CHAR'}(${toks[j + 1].value})`; j += 3; }
    return { text, duck: 'VARCHAR', next: j };
  }
  if (u === 'ARRAY') {
    expect(toks, i + 1, '<');
    const el = parseType(toks, i + 2);
    const j = closeAngle(toks, el.next);
    return { text: `ARRAY<${el.text}>`, duck: `${el.duck}[]`, next: j };
  }
  if (u === 'MAP') {
    expect(toks, i + 1, '<');
    const k = parseType(toks, i + 2);
    expect(toks, k.next, ',');
    const v = parseType(toks, k.next + 1);
    const j = closeAngle(toks, v.next);
    return { text: `MAP<${k.text}, ${v.text}>`, duck: `MAP(${k.duck}, ${v.duck})`, next: j };
  }
  if (u === 'STRUCT') {
    expect(toks, i + 1, '<');
    let j = i + 2;
    const fields = [];
    if (!(toks[j].value === '>' || toks[j].value === '>>')) {
      for (;;) {
        if (!isIdent(toks[j])) throw syntaxError(toks[j].text);
        const name = toks[j].value;
        j++;
        if (toks[j].value === ':') j++;
        const ft = parseType(toks, j);
        j = ft.next;
        if (toks[j]?.type === 'word' && toks[j].upper === 'NOT' && toks[j + 1]?.upper === 'NULL') j += 2;
        if (toks[j]?.type === 'word' && toks[j].upper === 'COMMENT') j += 2;
        fields.push({ name, ft });
        if (toks[j].value === ',') { j++; continue; }
        break;
      }
    }
    j = closeAngle(toks, j);
    return {
      text: `STRUCT<${fields.map((f) => `${f.name}: ${f.ft.text}`).join(', ')}>`,
      duck: `STRUCT(${fields.map((f) => `"${f.name.replace(/"/g, '""')}" ${f.ft.duck}`).join(', ')})`,
      next: j,
    };
  }
  if (u === 'INTERVAL') {
    // INTERVAL DAY TO SECOND / YEAR TO MONTH etc.: DuckDB has a single INTERVAL type.
    let j = i + 1;
    const parts = [];
    while (toks[j]?.type === 'word' && /^(YEAR|MONTH|DAY|HOUR|MINUTE|SECOND|TO)$/.test(toks[j].upper)) parts.push(toks[j++].upper);
    return { text: parts.length ? `INTERVAL ${parts.join(' ')}` : 'INTERVAL', duck: 'INTERVAL', next: j };
  }
  const m = SIMPLE[u];
  if (!m) throw new SqlError('UNSUPPORTED_DATATYPE', '0A000', `Unsupported data type "${t.value}".`);
  return { text: m[0], duck: m[1], next: i + 1 };
}

function expect(toks, i, v) {
  if (toks[i]?.value !== v) throw syntaxError(toks[i]?.text);
}

// '>>' is tokenized as two '>' since the tokenizer only knows '>' and '>='; nothing to split.
function closeAngle(toks, j) {
  expect(toks, j, '>');
  return j + 1;
}

/** Parses a standalone Databricks type string (e.g. from API parameter types). */
export function parseTypeText(text, tokenize) {
  const toks = tokenize(text);
  const r = parseType(toks, 0);
  if (toks[r.next].type !== 'eof') throw syntaxError(toks[r.next].text);
  return r;
}

/** Databricks type text for a DuckDB logical type from a result (alias JSON means VARIANT). */
export function duckToDatabricks(t) {
  if (t.alias === 'JSON') return 'VARIANT';
  const s = typeof t === 'string' ? t : t.toString();
  return duckTextToDatabricks(s);
}

/**
 * Same as duckToDatabricks, from DuckDB's type text (e.g. from DESCRIBE). HUGEINT is what DuckDB's
 * sum() of integers yields; Databricks answers BIGINT there (the Engine checks the range).
 */
export function duckTextToDatabricks(s) {
  s = s.trim();
  if (s === 'JSON') return 'VARIANT';
  if (s.endsWith('[]')) return `ARRAY<${duckTextToDatabricks(s.slice(0, -2))}>`;
  const arr = /^(.*)\[\d+\]$/.exec(s);
  if (arr) return `ARRAY<${duckTextToDatabricks(arr[1])}>`;
  if (s.startsWith('MAP(')) {
    const [k, v] = splitTop(s.slice(4, -1));
    return `MAP<${duckTextToDatabricks(k)}, ${duckTextToDatabricks(v)}>`;
  }
  if (s.startsWith('STRUCT(')) {
    const fields = splitTop(s.slice(7, -1)).map((f) => {
      const m = /^("(?:[^"]|"")*"|\S+)\s+(.*)$/.exec(f.trim());
      const name = m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1];
      return `${name}: ${duckTextToDatabricks(m[2])}`;
    });
    return `STRUCT<${fields.join(', ')}>`;
  }
  if (s.startsWith('DECIMAL')) return s.replace(/\s/g, '');
  const map = {
    BIGINT: 'BIGINT', INTEGER: 'INT', SMALLINT: 'SMALLINT', TINYINT: 'TINYINT', BOOLEAN: 'BOOLEAN', FLOAT: 'FLOAT',
    DOUBLE: 'DOUBLE', VARCHAR: 'STRING', DATE: 'DATE', 'TIMESTAMP WITH TIME ZONE': 'TIMESTAMP', TIMESTAMPTZ: 'TIMESTAMP',
    TIMESTAMP: 'TIMESTAMP_NTZ', TIMESTAMP_S: 'TIMESTAMP_NTZ', TIMESTAMP_MS: 'TIMESTAMP_NTZ', TIMESTAMP_NS: 'TIMESTAMP_NTZ',
    BLOB: 'BINARY', INTERVAL: 'INTERVAL', UUID: 'STRING', HUGEINT: 'BIGINT', UBIGINT: 'DECIMAL(20,0)',
    UINTEGER: 'BIGINT', USMALLINT: 'INT', UTINYINT: 'SMALLINT', '"NULL"': 'VOID', NULL: 'VOID', TIME: 'STRING',
    BIGNUM: 'DECIMAL(38,0)', VARINT: 'DECIMAL(38,0)',
  };
  const r = map[s];
  if (!r) return 'STRING';
  return r;
}

/** DuckDB storage type for a canonical Databricks type text. */
export function databricksToDuck(text, tokenize) {
  return parseTypeText(text, tokenize).duck;
}

function splitTop(s) {
  const out = [];
  let depth = 0, cur = '', q = false;
  for (const c of s) {
    if (c === '"') q = !q;
    if (!q && (c === '(' || c === '<' || c === '[')) depth++;
    if (!q && (c === ')' || c === '>' || c === ']')) depth--;
    if (!q && c === ',' && depth === 0) { out.push(cur); cur = ''; continue; }
    cur += c;
  }
  out.push(cur);
  return out.map((x) => x.trim());
}

/** The statement-API type_name for a Databricks type text (LONG, INT, STRING, DECIMAL, ...). */
export function statementTypeName(text) {
  const head = text.split(/[<(\s]/)[0].toUpperCase();
  return {
    BIGINT: 'LONG', INT: 'INT', SMALLINT: 'SHORT', TINYINT: 'BYTE', BOOLEAN: 'BOOLEAN', FLOAT: 'FLOAT', DOUBLE: 'DOUBLE',
    DECIMAL: 'DECIMAL', STRING: 'STRING', VARCHAR: 'STRING', CHAR: 'CHAR', DATE: 'DATE', TIMESTAMP: 'TIMESTAMP',
    TIMESTAMP_NTZ: 'TIMESTAMP_NTZ', BINARY: 'BINARY', ARRAY: 'ARRAY', MAP: 'MAP', STRUCT: 'STRUCT', VARIANT: 'VARIANT',
    INTERVAL: 'INTERVAL', VOID: 'NULL',
  }[head] ?? 'STRING';
}

/** Unity Catalog ColumnInfo.type_name (same as the statement enum except for TIMESTAMP_NTZ etc.). */
export function ucTypeName(text) {
  return statementTypeName(text);
}

/** Statement-API column descriptor for a Databricks type text. */
export function columnInfo(name, text) {
  const c = { name, type_text: text, type_name: statementTypeName(text) };
  const m = /^DECIMAL\((\d+),(\d+)\)$/.exec(text);
  if (m) { c.type_precision = Number(m[1]); c.type_scale = Number(m[2]); }
  return c;
}

/** Spark-style type_json for Unity Catalog: {"name":..,"type":..,"nullable":..,"metadata":{}}. */
export function ucTypeJson(name, text, nullable) {
  return JSON.stringify({ name, type: sparkJsonType(text), nullable, metadata: {} });
}

function sparkJsonType(text) {
  const u = text.toUpperCase();
  if (u.startsWith('ARRAY<')) return { type: 'array', elementType: sparkJsonType(text.slice(6, -1)), containsNull: true };
  if (u.startsWith('MAP<')) {
    const [k, v] = splitTop(text.slice(4, -1));
    return { type: 'map', keyType: sparkJsonType(k), valueType: sparkJsonType(v), valueContainsNull: true };
  }
  if (u.startsWith('STRUCT<')) {
    return {
      type: 'struct',
      fields: splitTop(text.slice(7, -1)).filter(Boolean).map((f) => {
        const idx = f.indexOf(':');
        return { name: f.slice(0, idx).trim(), type: sparkJsonType(f.slice(idx + 1).trim()), nullable: true, metadata: {} };
      }),
    };
  }
  const simple = { BIGINT: 'long', INT: 'integer', SMALLINT: 'short', TINYINT: 'byte', STRING: 'string', TIMESTAMP: 'timestamp',
    TIMESTAMP_NTZ: 'timestamp_ntz', BINARY: 'binary', BOOLEAN: 'boolean', FLOAT: 'float', DOUBLE: 'double', DATE: 'date', VARIANT: 'variant' };
  if (u.startsWith('DECIMAL')) return text.toLowerCase().replace(/\s/g, '');
  return simple[u] ?? text.toLowerCase();
}
