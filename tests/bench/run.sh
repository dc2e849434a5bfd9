#!/usr/bin/env bash
# make bench: the benchmark suite. Each figure is reported beside a baseline
# measured in the same run on the same machine, as a ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build} node tests/bench/read.mjs "$@"
BUILD=${BUILD:-build} node tests/bench/latency.mjs
BUILD=${BUILD:-build} node tests/bench/staging.mjs
BUILD=${BUILD:-build} node tests/bench/export.mjs
BUILD=${BUILD:-build} node tests/bench/sync.mjs
