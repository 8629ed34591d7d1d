# Sourced by the test script: starts a throw-away etcd on loopback and stops it on exit.
# Sets CONFO_TEST_ETCD_ENDPOINTS for the tests.

etcd_client_port="${CONFO_TEST_ETCD_PORT:-23790}"
etcd_peer_port=$((etcd_client_port + 10))
# In memory where possible: the tests need etcd's semantics, not its disk's fsync latency.
etcd_tmp=/dev/shm
[ -d "$etcd_tmp" ] && [ -w "$etcd_tmp" ] || etcd_tmp="${TMPDIR:-/tmp}"
etcd_dir=$(mktemp -d "$etcd_tmp/confo-etcd.XXXXXX")

stop_etcd() {
  if [ -n "${etcd_pid:-}" ]; then
    kill "$etcd_pid" 2>/dev/null || true
    wait "$etcd_pid" 2>/dev/null || true
  fi
  rm -rf "$etcd_dir"
}

start_etcd() {
  # Another etcd on the port would be used silently (its data would leak into the tests).
  if ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:${etcd_client_port}" --dial-timeout 1s endpoint health >/dev/null 2>&1; then
    echo "an etcd already answers on 127.0.0.1:${etcd_client_port}; stop it, or set CONFO_TEST_ETCD_PORT to a free port" >&2
    return 1
  fi
  etcd --name confo-test \
    --data-dir "$etcd_dir/data" \
    --listen-client-urls "http://127.0.0.1:${etcd_client_port}" \
    --advertise-client-urls "http://127.0.0.1:${etcd_client_port}" \
    --listen-peer-urls "http://127.0.0.1:${etcd_peer_port}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${etcd_peer_port}" \
    --initial-cluster "confo-test=http://127.0.0.1:${etcd_peer_port}" \
    --log-level error >"$etcd_dir/etcd.log" 2>&1 &
  etcd_pid=$!
  export CONFO_TEST_ETCD_ENDPOINTS="127.0.0.1:${etcd_client_port}"
  for _ in $(seq 1 100); do
    if ETCDCTL_API=3 etcdctl --endpoints "$CONFO_TEST_ETCD_ENDPOINTS" --dial-timeout 1s endpoint health >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$etcd_pid" 2>/dev/null; then
      echo "etcd did not start:" >&2
      cat "$etcd_dir/etcd.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "etcd did not become healthy on port ${etcd_client_port}" >&2
  return 1
}
