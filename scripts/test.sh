#!/usr/bin/env bash
# Runs every test: installs what is missing, starts a throw-away etcd on loopback, runs the Rust
# tests (the storage contract on both backends, the server functions' ssr code) and the
# Playwright tests against the real server binary, in Chromium, with JavaScript on and off.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh
source scripts/etcd.sh

trap stop_etcd EXIT
start_etcd
echo "etcd is up at $CONFO_TEST_ETCD_ENDPOINTS"

cargo test --workspace --locked

cargo leptos build --release

cd end2end
CONFO_E2E_ETCD_ENDPOINTS="$CONFO_TEST_ETCD_ENDPOINTS" npx playwright test
