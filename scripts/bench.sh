#!/usr/bin/env bash
# Benchmarks Confo's storage against raw etcd requests on a throw-away etcd (on loopback, data in
# memory where possible) and prints both, with ratios. Extra arguments go to confo-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh
source scripts/etcd.sh
trap stop_etcd EXIT
start_etcd
cargo run --quiet --release --locked -p confo --bin confo-bench -- --etcd "$CONFO_TEST_ETCD_ENDPOINTS" "$@"
