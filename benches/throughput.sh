#!/usr/bin/env bash
# Throughput on this machine, all of wxflow's parts in one process (mock,
# reference backend, runner), against the raw HTTP capacity of one mock
# endpoint measured by wrk in the same run.
#
#   benches/throughput.sh [SECONDS]      (default 10 s per measurement)
#
# "runner req/s" counts the runner's own requests: per login-first
# iteration 2 wx.* calls to the mock's client side, the login to the
# backend, and 2 ground-truth lookups = 5. "all req/s" adds the backend's
# jscode2session call to the mock, one per iteration: every request the
# flows cause. "CPU used" is the process's CPU time over wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)…" >&2
  (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) || { echo "cannot install wrk" >&2; exit 2; }
fi
cargo build --release -q
bin=./target/release/wxflow
out=target/bench-throughput
mkdir -p "$out"

# 1. wrk against the mock's client-side login endpoint (what flows call most).
"$bin" mock --addr 127.0.0.1:0 >"$out/mock.log" 2>&1 &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q 'on http' "$out/mock.log" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$out/mock.log" | head -1)
cat >"$out/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"user":"wrk-' .. (counter % 1000) .. '"}')
end
LUA
wrk_line=$(wrk -t2 -c64 -d"${SECS}s" -s "$out/login.lua" "$url/__wxflow/client/login" | tee "$out/wrk.txt" | awk '/Requests\/sec/{print $2}')
kill $mock_pid 2>/dev/null || true
trap - EXIT

echo "wrk 4.1 (2 threads, 64 connections, ${SECS}s) on POST /__wxflow/client/login: ${wrk_line} requests/s"
echo
printf "%-12s %9s %16s %18s %9s %8s %8s\n" concurrency "flows/s" "runner req/s" "all req/s (+1/it)" "CPU used" "p50 ms" "p99 ms"
ticks=$(getconf CLK_TCK)
for c in 1 8 32 64; do
  "$bin" run flows/login-first.yaml --duration "${SECS}s" --concurrency "$c" \
    --report "json=$out/c$c.json" >"$out/c$c.log" 2>&1 &
  pid=$!
  sleep 1
  # CPU time of the whole process over SECS-2 seconds of steady state.
  cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  sleep $((SECS - 2))
  cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  wait "$pid" || true
  cores=$(python3 -c "print(f'{($cpu1 - $cpu0) / $ticks / ($SECS - 2):.2f} cores')")
  python3 - "$out/c$c.json" "$c" "$cores" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["flows"][0]
fl, rq = f["throughput"]["flows_per_sec"], f["throughput"]["http_requests_per_sec"]
print(f'{sys.argv[2]:<12} {fl:9.0f} {rq:16.0f} {rq + fl:18.0f} {sys.argv[3]:>9} {f["latency_ms"]["p50"]:8.2f} {f["latency_ms"]["p99"]:8.2f}')
PY
done
