#!/usr/bin/env bash
# Installs the wasm-bindgen command that matches the `wasm-bindgen` crate in Cargo.lock (both
# cargo-leptos and scripts/bundle.sh use the one on PATH), unless it is already there. Only the
# `wasm-bindgen` binary, without the test runner's TLS support, which is half of its build. Not
# `--locked`: its lock file can name versions a registry mirror does not have yet.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " ${version}\$"; then
  printf '\033[1m==> %s\033[0m\n' "installing wasm-bindgen-cli ${version}" >&2
  cargo install --quiet wasm-bindgen-cli --version "=${version}" \
    --no-default-features --bin wasm-bindgen
fi
