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
work=$(mktemp -d)
trap 'rm -rf "$work"; stop_etcd' EXIT
cargo run --quiet --release --locked -p confo --bin confo-bench -- --etcd "$CONFO_TEST_ETCD_ENDPOINTS" "$@" |
  tee "$work/bench.txt"
raw_update_us=$(sed -n 's/^RAW_UPDATE_P50_US=//p' "$work/bench.txt")
[ "${CONFO_BENCH_SKIP_SESSIONS:-}" = 1 ] && exit 0

# The dashboard server with 10,000 live sessions against none: sessions live in the store, so the
# server's memory should not grow with them; and signed-in requests should not write to the store.
cargo leptos build --release
wasm_gz=$(gzip -9 -c target/site/pkg/confo.wasm | wc -c)
js_gz=$(gzip -9 -c target/site/pkg/confo.js | wc -c)
echo
echo "hydrate bundle, gzip -9: confo.wasm ${wasm_gz} bytes + confo.js ${js_gz} bytes = $(((wasm_gz + js_gz) / 1024)) KiB (budget 250 KB)"
# The fill tools only write data, so they are built like the tests (not timed, and without
# rebuilding the release server with other features).
cargo build --quiet --locked -p server --example session_fill --example namespace_fill
endpoints="$CONFO_TEST_ETCD_ENDPOINTS"
prefix="bench-sessions-$$/"
port="${CONFO_BENCH_PORT:-3190}"
base="http://127.0.0.1:${port}"
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$work"; stop_etcd' EXIT
printf 'bench passphrase for sessions\n' |
  target/release/confo user add --admin bench --etcd-endpoints "$endpoints" --key-prefix "$prefix" >/dev/null
LEPTOS_SITE_ROOT=target/site RUST_LOG=warn target/release/confo serve --listen "127.0.0.1:${port}" \
  --etcd-endpoints "$endpoints" --key-prefix "$prefix" &
server_pid=$!
until curl -sf "${base}/readyz" >/dev/null; do sleep 0.1; done

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/${server_pid}/status"; }
revision() { etcdctl --endpoints "$endpoints" get "${prefix}confo" -w json | grep -o '"revision":[0-9]*' | head -1 | cut -d: -f2; }
# One curl process sends every request in the file, 8 at a time; every answer must be 200.
requests() {
  local cookies=$1 repeat=$2 config="$work/requests"
  : >"$config"
  for _ in $(seq "$repeat"); do
    while read -r cookie; do
      printf 'next\nurl = "%s/api/auth/me"\nheader = "Cookie: %s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
        "$base" "$cookie" >>"$config"
    done <"$cookies"
  done
  curl -s --no-progress-meter --parallel --parallel-max 8 -K "$config" | sort | uniq -c | tee "$work/statuses"
  if awk '$2 != 200 { bad = 1 } END { exit !bad }' "$work/statuses"; then
    echo "a request failed" >&2
    exit 1
  fi
}
# One request with curl, failing the bench unless it answers 200; prints its time in ms.
timed() {
  local out
  out=$(curl -s -o "$work/body" -w '%{http_code} %{time_total}' "$@")
  if [ "${out%% *}" != 200 ]; then
    echo "request failed (${out%% *}): $* $(head -c 300 "$work/body")" >&2
    exit 1
  fi
  awk -v t="${out#* }" 'BEGIN { printf "%.3f\n", t * 1000 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
p99() { sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.5); if (i < 1) i = 1; print a[i] }'; }

cargo run --quiet --locked -p server --example session_fill -- "$endpoints" "$prefix" bench 1 >"$work/one"
echo "1 session, 2000 signed-in requests (answers by status):"
requests "$work/one" 2000
rss_none=$(rss_kib)
before=$(revision)
requests "$work/one" 1000 >/dev/null
after=$(revision)
echo "store writes during 1000 signed-in requests: $((after - before))"

cargo run --quiet --locked -p server --example session_fill -- "$endpoints" "$prefix" bench 10000 >"$work/many"
echo "10,000 more live sessions, each used once (answers by status):"
requests "$work/many" 1
rss_many=$(rss_kib)
echo "server memory (RSS): ${rss_none} KiB with one session, ${rss_many} KiB with 10,001 sessions" \
  "(ratio $(awk -v a="$rss_many" -v b="$rss_none" 'BEGIN { printf "%.2f", a / b }'))"

# One field updated through the dashboard as a person's browser does it: the page's read of the
# configuration (configurations/get) and the form post of the change (configurations/edit) with
# the revision read, each timed by curl; against the raw etcd-client read and compare-and-swap of
# the same configuration measured above (p50).
cookie=$(head -1 "$work/one")
origin=(-H "Origin: ${base}" -H "Cookie: ${cookie}")
timed "${origin[@]}" -X POST "${base}/api/namespaces/create" --data 'name=bench_http' >/dev/null
timed "${origin[@]}" -X POST "${base}/api/configurations/create" --data 'namespace=bench_http&name=app' >/dev/null
: >"$work/updates"
: >"$work/reads"
: >"$work/saves"
for i in $(seq 200); do
  read_ms=$(timed "${origin[@]}" "${base}/api/configurations/get?namespace=bench_http&name=app")
  revision=$(grep -o '"revision":[0-9]*' "$work/body" | head -1 | cut -d: -f2)
  seq=$(grep -o '"seq":[0-9]*' "$work/body" | head -1 | cut -d: -f2)
  save_ms=$(timed "${origin[@]}" -X POST "${base}/api/configurations/edit" \
    --data "namespace=bench_http&name=app&revision=${revision}&seq=${seq}&comment=" \
    --data 'edit[op]=set&edit[field]=port&edit[kind]=number' --data "edit[value]=${i}")
  awk -v a="$read_ms" -v b="$save_ms" 'BEGIN { printf "%.3f\n", a + b }' >>"$work/updates"
  echo "$read_ms" >>"$work/reads"
  echo "$save_ms" >>"$work/saves"
done
http_p50=$(median <"$work/updates")
http_p99=$(p99 <"$work/updates")
echo
echo "field update through the dashboard (read + form post), 200 sequential (ms): p50 ${http_p50}, p99 ${http_p99};" \
  "raw get + txn p50 $(awk -v r="$raw_update_us" 'BEGIN { printf "%.3f", r / 1000 }');" \
  "ratio (p50) $(awk -v a="$http_p50" -v r="$raw_update_us" 'BEGIN { printf "%.2f", a / (r / 1000) }')" \
  "(of which the read p50 $(median <"$work/reads"), the save p50 $(median <"$work/saves"))"

# The namespace page with 10,000 configurations: rendered by the server (through HTTP, median of
# 20, timed by curl), and its reads through Confo's store and as raw etcd-client gRPC requests
# for the same keys (confo-bench --page).
cargo run --quiet --locked -p server --example namespace_fill -- "$endpoints" "$prefix" bench_ns 10000
page_ms=$(for _ in $(seq 20); do
  timed -H "Cookie: $cookie" -H 'Accept: text/html' "${base}/ns/bench_ns"
done | median)
grep -q 'of 10000 configurations' "$work/body" || { echo "the page does not show 10,000 configurations" >&2; exit 1; }
cargo run --quiet --release --locked -p confo --bin confo-bench -- --etcd "$endpoints" --page "$prefix" bench_ns |
  tee "$work/page.txt" | grep -v '^PAGE_RAW_MS='
raw_ms=$(sed -n 's/^PAGE_RAW_MS=//p' "$work/page.txt")
echo "namespace page through HTTP, 10,000 configurations: ${page_ms} ms (median of 20); raw gRPC reads of the same data ${raw_ms} ms" \
  "(ratio $(awk -v a="$page_ms" -v b="$raw_ms" 'BEGIN { printf "%.2f", a / b }'))"
