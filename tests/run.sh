#!/usr/bin/env bash
# Runs every suite and ends with one line: "N passed, N failed".
#   BUILD=build tests/run.sh               unit + dbx-local + integration
#   BUILD=build-asan SANITIZE=1 tests/run.sh   unit + integration under ASan/UBSan
# The extension is taken from $BUILD; integration suites start their own
# dbx-local on a free loopback port with a fresh data folder.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
out=$BUILD/test-out
mkdir -p "$out"
passed=0
failed=0

if [[ -n ${SANITIZE:-} ]]; then
  # The sqlite3 shell is not instrumented: the ASan runtime must come first.
  export DBX_SQLITE_PRELOAD
  DBX_SQLITE_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
  # intercept_tls_get_addr=0: LeakSanitizer's tracer can crash on the glibc
  # dynamic TLS of the libraries the extension loads ("Tracer caught signal
  # 11"), depending only on memory layout; leaks are still reported.
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:intercept_tls_get_addr=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
export DBX_EXT=$PWD/$BUILD/databricks

echo "== unit tests ($BUILD)"
for bin in "$BUILD"/unit/test_*; do
  [[ -x $bin ]] || continue
  log=$out/$(basename "$bin").log
  "$bin" >"$log" 2>&1
  rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
  p=${p:-0} f=${f:-0}
  if ((rc != 0 && f == 0)); then f=1; fi   # crashed before reporting
  ((passed += p, failed += f))
  if ((f)); then
    echo "FAIL $(basename "$bin"): $f failed"; cat "$log"
  else
    echo "ok   $(basename "$bin"): $p passed"
  fi
done

suites=(tests/integration)
[[ -n ${SANITIZE:-} ]] || suites=(tests/dbx-local/test "${suites[@]}")
files=()
for d in "${suites[@]}"; do
  for f in "$d"/*.test.mjs; do [[ -e $f ]] && files+=("$f"); done
done
if ((${#files[@]})); then
  echo "== node suites: ${suites[*]}"
  tap=$out/node.tap
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "${files[@]}"
  rc=$?
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n1)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n1)
  p=${p:-0} f=${f:-0}
  if ((rc != 0 && f == 0)); then f=1; fi
  ((passed += p, failed += f))
fi

echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
