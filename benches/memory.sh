#!/usr/bin/env bash
# Memory of a long run: N iterations (default 1,000,000) of login-first with
# everything in one process (mock, reference backend, runner). Prints RSS
# every 10 s and the peak (VmHWM) at the end; the figures must stay flat.
# Usage: benches/memory.sh [N] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
C=${2:-32}
cargo build --release -q
out=target/bench-memory
mkdir -p "$out"
./target/release/wxflow run flows/login-first.yaml --repeat "$N" --concurrency "$C" \
  --report "json=$out/report.json" >"$out/run.log" 2>&1 &
pid=$!
start=$SECONDS
peak=0
echo "elapsed_s  rss_mb  iterations_so_far"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  hwm=$(awk '/^VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
  done_so_far=$(grep -o '… [0-9]* iterations' "$out/run.log" | tail -1 | grep -o '[0-9]*' || echo 0)
  echo "$((SECONDS - start))  $((rss / 1024))  ${done_so_far:-0}"
  sleep 10
done
wait "$pid" || true
echo "peak RSS: $((peak / 1024)) MB over $N iterations"
grep -E 'iterations:|throughput' "$out/run.log"
