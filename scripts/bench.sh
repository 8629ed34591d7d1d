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
[ "${CONFO_BENCH_SKIP_SESSIONS:-}" = 1 ] && exit 0

# The dashboard server with 10,000 live sessions against none: sessions live in the store, so the
# server's memory should not grow with them; and signed-in requests should not write to the store.
cargo leptos build --release
cargo build --quiet --release --locked -p server --example session_fill
endpoints="$CONFO_TEST_ETCD_ENDPOINTS"
prefix="bench-sessions-$$/"
port="${CONFO_BENCH_PORT:-3190}"
base="http://127.0.0.1:${port}"
work=$(mktemp -d)
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$work"; stop_etcd' EXIT
printf 'bench passphrase for sessions\n' |
  target/release/confo user add --admin bench --etcd-endpoints "$endpoints" --key-prefix "$prefix" >/dev/null
LEPTOS_SITE_ROOT=target/site RUST_LOG=warn target/release/confo serve --listen "127.0.0.1:${port}" \
  --etcd-endpoints "$endpoints" --key-prefix "$prefix" &
server_pid=$!
until curl -sf "${base}/readyz" >/dev/null; do sleep 0.1; done

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/${server_pid}/status"; }
revision() { etcdctl --endpoints "$endpoints" get "${prefix}confo" -w json | grep -o '"revision":[0-9]*' | head -1 | cut -d: -f2; }
# One curl process sends every request in the file, 8 at a time.
requests() {
  local cookies=$1 repeat=$2 config="$work/requests"
  : >"$config"
  for _ in $(seq "$repeat"); do
    while read -r cookie; do
      printf 'next\nurl = "%s/api/auth/me"\nheader = "Cookie: %s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
        "$base" "$cookie" >>"$config"
    done <"$cookies"
  done
  curl -s --no-progress-meter --parallel --parallel-max 8 -K "$config" | sort | uniq -c
}

cargo run --quiet --release --locked -p server --example session_fill -- "$endpoints" "$prefix" bench 1 >"$work/one"
echo "1 session, 2000 signed-in requests (answers by status):"
requests "$work/one" 2000
rss_none=$(rss_kib)
before=$(revision)
requests "$work/one" 1000 >/dev/null
after=$(revision)
echo "store writes during 1000 signed-in requests: $((after - before))"

cargo run --quiet --release --locked -p server --example session_fill -- "$endpoints" "$prefix" bench 10000 >"$work/many"
echo "10,000 more live sessions, each used once (answers by status):"
requests "$work/many" 1
rss_many=$(rss_kib)
echo "server memory (RSS): ${rss_none} KiB with one session, ${rss_many} KiB with 10,001 sessions" \
  "(ratio $(awk -v a="$rss_many" -v b="$rss_none" 'BEGIN { printf "%.2f", a / b }'))"

# The namespace page rendered on the server with 10,000 configurations in the namespace, against a
# raw etcd range of the same keys (through etcd's HTTP gateway), both timed by curl, median of 20.
cargo build --quiet --release --locked -p server --example namespace_fill
cargo run --quiet --release --locked -p server --example namespace_fill -- "$endpoints" "$prefix" bench_ns 10000
cookie=$(head -1 "$work/one")
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
page_ms=$(for _ in $(seq 20); do
  curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: $cookie" -H 'Accept: text/html' "${base}/ns/bench_ns"
done | median)
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" -H 'Accept: text/html' "${base}/ns/bench_ns")
key=$(printf '%sbench_ns-' "$prefix" | base64 -w0)
end=$(printf '%sbench_ns.' "$prefix" | base64 -w0)
range_ms=$(for _ in $(seq 20); do
  curl -s -o /dev/null -w '%{time_total}\n' -X POST "http://${endpoints}/v3/kv/range" \
    -d "{\"key\":\"${key}\",\"range_end\":\"${end}\"}"
done | median)
count=$(curl -s -X POST "http://${endpoints}/v3/kv/range" -d "{\"key\":\"${key}\",\"range_end\":\"${end}\",\"count_only\":true}" |
  grep -o '"count":"[0-9]*"' | grep -o '[0-9]*')
echo "namespace page, ${count} configurations (answer ${status}): ${page_ms} s; raw etcd range of them: ${range_ms} s" \
  "(ratio $(awk -v a="$page_ms" -v b="$range_ms" 'BEGIN { printf "%.2f", a / b }'))"
