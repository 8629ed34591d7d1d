#!/usr/bin/env bash
# Benchmarks the search index on a throw-away etcd (on loopback): 1,000 namespaces x 100
# configurations x 20 fields by default. Prints the build time beside a raw etcd read of every
# key, the index's memory, and first-page latency for name, path and value queries beside one
# etcd read. Extra arguments go to confo-search-bench (--namespaces N --configurations N
# --queries N).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh
source scripts/etcd.sh
trap stop_etcd EXIT
start_etcd
cargo run --quiet --release --locked -p confo --bin confo-search-bench -- --etcd "$CONFO_TEST_ETCD_ENDPOINTS" "$@"
