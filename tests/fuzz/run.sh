#!/usr/bin/env bash
# Runs every fuzz target built in $FUZZ_DIR (make fuzz builds them) for
# FUZZ_SECONDS each, starting from the seed corpus tests/fuzz/corpus/<name>
# and its dictionary tests/fuzz/<name>.dict. Inputs committed under
# tests/fuzz/crashes/<name>/ (crashes that were fixed) are replayed first.
# New corpus entries go to $FUZZ_DIR/corpus/<name>, crash inputs to
# $FUZZ_DIR/crashes/<name>/. Ends with one line: "N passed, N failed",
# one count per target.
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=${FUZZ_DIR:-build/fuzz}
secs=${FUZZ_SECONDS:-20}
# intercept_tls_get_addr=0: see tests/run.sh (LeakSanitizer and the dynamic
# TLS of libcurl's dependencies)
export ASAN_OPTIONS=detect_leaks=1:intercept_tls_get_addr=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
passed=0
failed=0

for bin in "$dir"/fuzz_*; do
  [[ -x $bin ]] || continue
  name=${bin##*/fuzz_}
  seeds=tests/fuzz/corpus/$name
  work=$dir/corpus/$name
  crashes=$dir/crashes/$name/
  log=$dir/$name.log
  mkdir -p "$work" "$crashes"
  ok=1
  fixed=(tests/fuzz/crashes/"$name"/*)
  if [[ -e ${fixed[0]} ]] && ! "$bin" "${fixed[@]}" >"$log" 2>&1; then
    ok=0
    echo "FAIL fuzz_$name: a fixed crash came back"
  fi
  if ((ok)); then
    args=(-max_total_time="$secs" -timeout=20 -max_len=16384
          -artifact_prefix="$crashes" -print_final_stats=1)
    [[ -f tests/fuzz/$name.dict ]] && args+=(-dict="tests/fuzz/$name.dict")
    "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1 || ok=0
  fi
  if ((ok)); then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    echo "ok   fuzz_$name: ${runs:-?} inputs in ${secs} s"
    ((passed += 1))
  else
    ((failed += 1))
    echo "FAIL fuzz_$name (log $log):"
    grep -E 'ERROR:|runtime error|fuzz: check failed|SUMMARY' "$log" | head -n 5
    sed -n 's/.*Test unit written to \(.*\)$/  reproducer: \1/p' "$log"
    echo "  replay: $bin <reproducer>"
  fi
done

echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
