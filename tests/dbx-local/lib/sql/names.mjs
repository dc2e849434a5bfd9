// Result column names as Databricks (Spark) would give them, repaired from DuckDB's names.
// DuckDB renames duplicate columns of a subquery or CTE (`id`, `id_1`) and spells a few
// auto-generated expression names differently from Spark; Databricks keeps duplicates as
// they are and names unaliased expressions with Spark's pretty SQL. Only cheap, unambiguous
// repairs are made here: anything else keeps DuckDB's name (see README, deviations).

const DUP_SUFFIX = /^(.+)_(\d+)$/;

/**
 * names: DuckDB result column names in order. known: lower-case identifiers the statement
 * could legitimately produce (its own identifier tokens and the columns of the tables it
 * reads); a `x_N` name found there is the user's and is left alone.
 */
export function sparkColumnNames(names, known) {
  const seen = new Set();
  return names.map((name) => {
    let out = name;
    const m = DUP_SUFFIX.exec(name);
    if (m && seen.has(m[1].toLowerCase()) && !known.has(name.toLowerCase())) out = m[1];
    seen.add(out.toLowerCase());
    return sparkExpressionName(out);
  });
}

// DuckDB's expansion of a single-unit interval literal, e.g. INTERVAL '1' DAY.
const INTERVAL_LITERAL = /^to_(year|month|day|hour|minute|second)s\(CAST\(trunc\(CAST\('?(-?[\d.]+)'? AS DOUBLE\)\) AS \w+\)\)$/;

// Spark prints count(*) as count(1), interval literals in their canonical form, and string
// literals and column names inside auto-generated names without their quotes (upper('a') is
// `upper(a)`, max(`at`) is `max(at)`; DuckDB quotes names that are DuckDB keywords).
function sparkExpressionName(name) {
  if (name === 'count_star()') return 'count(1)';
  const m = INTERVAL_LITERAL.exec(name);
  if (m) return `INTERVAL '${m[2]}' ${m[1].toUpperCase()}`;
  if (!name.includes("'") && !name.includes('"')) return name;
  return name.replace(/'((?:[^']|'')*)'|"((?:[^"]|"")*)"/g, (_, text, ident) => (text !== undefined ? text.replace(/''/g, "'") : ident.replace(/""/g, '"')));
}
