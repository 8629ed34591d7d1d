#!/usr/bin/env bash
# Builds the release server and the dashboard's browser bundle into target/site with cargo,
# wasm-bindgen and wasm-opt directly: the steps (commands, environment and target directories)
# `cargo leptos build --release` takes, so that serving needs no cargo-leptos and a later
# `cargo leptos build --release` (the tests') reuses what this built.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# The server's cargo profile: `release` unless told (`scripts/serve.sh` asks for `serve`); the
# binary is `target/<profile>/confo`.
profile="${CONFO_SERVER_PROFILE:-release}"
# The browser part's: `wasm-release` (smallest) unless told (`scripts/serve.sh`: `serve-wasm`).
wasm_profile="${CONFO_WASM_PROFILE:-wasm-release}"
site=target/site
pkg="$site/pkg"
# What cargo-leptos passes to both builds (from [[workspace.metadata.leptos]] in Cargo.toml).
export LEPTOS_OUTPUT_NAME=confo LEPTOS_SITE_ROOT="$site" LEPTOS_SITE_PKG_DIR=pkg \
  LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=app \
  LEPTOS_BIN_DIR=server LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false

# Three builds side by side: each has long stretches that keep one core busy, and together they
# keep both busy. The server (with the pages rendered on it) and wasm-bindgen, when missing, in
# the background; the browser part (the app's islands, compiled to WebAssembly) meanwhile.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
cargo build --package=server --bin=confo --no-default-features --profile="$profile" &
pids+=("$!")
scripts/wasm-bindgen.sh &
pids+=("$!")
cargo build --package=app --lib --target-dir=target/front --target=wasm32-unknown-unknown \
  --no-default-features --features=hydrate --profile="$wasm_profile"
wait "${pids[1]}"

mkdir -p "$pkg"
wasm-bindgen --target=web --out-name=confo --out-dir="$pkg" \
  "target/front/wasm32-unknown-unknown/$wasm_profile/app.wasm"
mv "$pkg/confo_bg.wasm" "$pkg/confo.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$pkg/confo.wasm" -o "$pkg/confo.wasm"
cp style/main.css "$pkg/confo.css"
cp -R public/. "$site/"
wait "${pids[0]}"
