#!/usr/bin/env bash
# make demo: starts dbx-local on a free loopback port with a fresh data
# folder, points the extension at it and runs examples/quickstart.sql in the
# sqlite3 shell. The server stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
data=$(mktemp -d)
fifo=$data/out
mkfifo "$fifo"
node tests/dbx-local/server.mjs --port 0 --data "$data/ws" >"$fifo" 2>"$data/server.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
url=
while read -r -t 30 line; do
  if [[ $line == "dbx-local listening on "* ]]; then url=${line#dbx-local listening on }; break; fi
done <"$fifo"
cat "$fifo" >/dev/null &
if [[ -z $url ]]; then echo "demo: dbx-local did not start:" >&2; cat "$data/server.log" >&2; exit 1; fi
echo "dbx-local workspace at $url (PAT dapi-local-admin, warehouse 0000000000000001)"

export HOME=$data DATABRICKS_HOST=$url DATABRICKS_TOKEN=dapi-local-admin \
       DATABRICKS_WAREHOUSE_ID=0000000000000001
unset DATABRICKS_CONFIG_PROFILE DATABRICKS_CONFIG_FILE DATABRICKS_CLIENT_ID DATABRICKS_CLIENT_SECRET
sed "s#^\.load \./build/databricks#.load ./$BUILD/databricks#" examples/quickstart.sql |
  sqlite3 -bail -header -column :memory:
