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

# The editing specs once more with every core busy: a page's own save and its live update race
# hardest under load. On a fresh embedded store, so that the first run's set-up link works again.
busy=()
trap 'kill "${busy[@]}" 2>/dev/null || true; stop_etcd' EXIT
for _ in $(seq "$(nproc)"); do
  (while :; do :; done) &
  busy+=("$!")
done
env -u CONFO_E2E_ETCD_ENDPOINTS npx playwright test tests/configurations.spec.ts --project=js
kill "${busy[@]}"
