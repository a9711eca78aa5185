#!/usr/bin/env bash
# How many runner processes one mock process serves: one `wxflow mock` and
# one `wxflow backend`, then K runners at once (shards of one plan, as on
# Kubernetes), K = 1..MAX; prints the flows/s the runners reach together.
# When adding a runner stops adding flows/s, the mock (or the machine) is
# the bottleneck.
#
#   benches/many_runners.sh [SECONDS] [MAX]      (default 10 s, up to 4 runners)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
MAX=${2:-4}
cargo build --release -q
bin=./target/release/wxflow
out=target/bench-many-runners
mkdir -p "$out"
. benches/servers.sh
echo "benches/many_runners.sh ${SECS} ${MAX} · $(nproc) cores · one mock, one backend, K runners for ${SECS} s"
printf "%-8s %14s %16s\n" runners "flows/s (sum)" "per runner"
for k in $(seq "$MAX"); do
  runners=()
  for i in $(seq 0 $((k - 1))); do
    "$bin" run flows/login-first.yaml --mock "$mock" --target "$backend" --seed "$k" --duration "${SECS}s" \
      --concurrency 16 --shard "$i/$k" --report "json=$out/k$k-$i.json" >"$out/k$k-$i.log" 2>&1 &
    runners+=($!)
  done
  for p in "${runners[@]}"; do wait "$p" || true; done
  python3 - "$k" "$out"/k"$k"-*.json <<'PY'
import json, sys
k = int(sys.argv[1])
total = sum(json.load(open(p))["flows"][0]["throughput"]["flows_per_sec"] for p in sys.argv[2:])
print(f"{k:<8} {total:14.0f} {total / k:16.0f}")
PY
done
