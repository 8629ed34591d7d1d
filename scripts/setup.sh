#!/usr/bin/env bash
# Installs what Confo needs to build (and, with --test, to test), skipping what is already there.
# Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

want_test=false
[ "${1:-}" = "--test" ] && want_test=true

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages: protoc builds etcd-client; etcd and Chromium are for the tests.
packages=(protobuf-compiler)
$want_test && packages+=(etcd-server etcd-client chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.10 (later releases need a newer rustc than this project's 1.95), for the
# tests and development; serving builds the same bundle with scripts/bundle.sh.
if $want_test && ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (takes about 10 minutes)"
  cargo install --locked cargo-leptos@0.3.10
fi

# cargo-leptos uses the wasm-bindgen on PATH; it must match the version in Cargo.lock. Serving
# builds it beside the bundle instead (scripts/bundle.sh).
if $want_test; then scripts/wasm-bindgen.sh; fi

# npm packages: binaryen's wasm-opt for release builds (Debian's is too old and breaks
# hydration) and, for the tests, Playwright. Debian's Chromium is used; no browser is downloaded.
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing npm packages in end2end/"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
