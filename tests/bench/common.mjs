// What the benchmarks share: their command-line numbers, the extension
// they load and the median they report.
import path from 'node:path';

const args = process.argv.slice(2);

// The number after `name` on the command line (--rows 1000), or dflt.
export const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

// The extension under test: $BUILD/databricks (default build/).
export const EXT = path.resolve(process.env.BUILD ?? 'build', 'databricks');

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
