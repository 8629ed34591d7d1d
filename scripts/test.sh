#!/usr/bin/env bash
# Runs every test: installs what is missing, starts a throw-away etcd on loopback, runs the Rust
# tests (the storage contract on both backends, the server functions' ssr code) and the
# Playwright tests against the real server binary, in Chromium, with JavaScript on and off.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh
source scripts/etcd.sh

# A one-off run gains nothing from incremental compilation, which costs gigabytes of target/.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# The debug build needs about 3 GB; builds left by older revisions can fill the disk. When little
# is free, start the debug build afresh (about 5 minutes) rather than fail for want of space.
free_kb=$(df -Pk . | awk 'NR == 2 { print $4 }')
if [ -d target/debug ] && [ "$free_kb" -lt $((8 * 1024 * 1024)) ]; then
  echo "only $((free_kb / 1024)) MiB free: removing target/debug to make room" >&2
  rm -rf target/debug
fi

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
CONFO_E2E_LOADED=1 env -u CONFO_E2E_ETCD_ENDPOINTS npx playwright test tests/configurations.spec.ts --project=js
kill "${busy[@]}"
