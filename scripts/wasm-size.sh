#!/usr/bin/env bash
# Builds the release bundle and prints the size of the hydrate WASM, raw and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo leptos build --release >&2
for file in target/site/pkg/confo.wasm target/site/pkg/confo.js; do
  raw=$(stat -c %s "$file")
  gz=$(gzip -9 -c "$file" | wc -c)
  printf '%-28s %8d bytes raw  %8d bytes gzip (%d KB)\n' "$file" "$raw" "$gz" $(((gz + 1023) / 1024))
done
