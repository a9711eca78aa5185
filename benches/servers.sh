# Sourced by the benches: starts `wxflow mock` and a reference `wxflow
# backend` pointed at it on free loopback ports, sets $mock and $backend to
# their URLs, and stops both when the script exits. Needs $bin and $out.
server_pids=()
trap 'for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# Starts a server, waits for its URL line, stores the URL in the variable
# named $1 (not printed: a command substitution would lose its pid).
start_server() {
  local var=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  server_pids+=($!)
  for _ in $(seq 100); do grep -q 'on http' "$log" && break; sleep 0.05; done
  printf -v "$var" '%s' "$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)"
}

start_server mock "$out/mock.log" "$bin" mock --addr 127.0.0.1:0
start_server backend "$out/backend.log" "$bin" backend --addr 127.0.0.1:0 --wechat-api "$mock"
