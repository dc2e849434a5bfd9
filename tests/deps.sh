#!/usr/bin/env bash
# Installs the Debian packages that building and testing need, when any is
# missing (clang and its sanitizer and libFuzzer runtimes for make fuzz
# too). Quiet and quick when everything is there. Node.js comes from the
# system when it is present (dbx-local needs version 20 or newer).
set -euo pipefail

packages=(gcc make pkg-config sqlite3 libsqlite3-dev libcurl4-openssl-dev
          libcjson-dev libssl-dev libzstd-dev libcmocka-dev curl openssl time
          clang-14 libclang-rt-14-dev)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "  APT     ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 20)); then
  echo "deps: dbx-local needs Node.js 20 or newer (found $(node --version))" >&2
  exit 1
fi
