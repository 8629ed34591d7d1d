#!/usr/bin/env bash
# Builds Confo and serves the dashboard on the embedded store (no etcd needed).
# Extra arguments go to `confo serve` (see `target/serve/confo serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh

# The bundle, built without cargo-leptos (only the tests and development need it), optimised
# less than a release (see `[profile.serve]` and `[profile.serve-wasm]` in Cargo.toml).
CONFO_SERVER_PROFILE=serve CONFO_WASM_PROFILE=serve-wasm scripts/bundle.sh
listen="${CONFO_LISTEN:-127.0.0.1:3000}"
printf '\n  Confo is starting: open http://%s in your browser (Ctrl-C stops it).\n\n' "$listen"
LEPTOS_SITE_ROOT=target/site exec target/serve/confo serve --listen "$listen" "$@"
