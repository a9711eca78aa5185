#!/usr/bin/env bash
# The README's CI command against `wxflow mock` and `wxflow backend` as
# separate processes, once per seed (default 0 to 9): every run must exit 0.
# Usage: benches/ci_seeds.sh [FIRST_SEED] [LAST_SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
first=${1:-0}
last=${2:-9}
cargo build --release -q
bin=./target/release/wxflow
out=target/bench-ci-seeds
mkdir -p "$out"
failed=0
for seed in $(seq "$first" "$last"); do
  "$bin" mock --addr 127.0.0.1:0 --seed "$seed" >"$out/mock.log" 2>&1 &
  mock=$!
  for _ in $(seq 50); do grep -q "http://" "$out/mock.log" && break; sleep 0.1; done
  mock_url=$(grep -o 'http://127.0.0.1:[0-9]*' "$out/mock.log" | head -1)
  "$bin" backend --addr 127.0.0.1:0 --wechat-api "$mock_url" >"$out/backend.log" 2>&1 &
  backend=$!
  for _ in $(seq 50); do grep -q "http://" "$out/backend.log" && break; sleep 0.1; done
  target=$(grep -o 'http://127.0.0.1:[0-9]*' "$out/backend.log" | head -1)
  code=0
  "$bin" run flows --mock "$mock_url" --target "$target" --seed "$seed" --repeat 2000 --concurrency 32 \
    --report "json=$out/seed$seed.json" >"$out/seed$seed.log" 2>&1 || code=$?
  kill "$mock" "$backend" 2>/dev/null || true
  wait "$mock" "$backend" 2>/dev/null || true
  echo "seed $seed: exit $code ($(tail -1 "$out/seed$seed.log"))"
  [ "$code" = 0 ] || failed=$((failed + 1))
done
echo "$failed of $((last - first + 1)) seeds failed"
[ "$failed" = 0 ]
