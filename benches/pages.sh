#!/usr/bin/env bash
# The seed's own page driven (page.open + page.tap in QuickJS) beside the
# modelled flow of the same order (flows/userinfo-first.yaml), in one run
# each, embedded, same concurrency; then memory of a long page run, RSS
# sampled every 5 s (it must stay flat) and per virtual user.
# Usage: benches/pages.sh [N] [CONCURRENCY] [LONG_N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
C=${2:-16}
LONG=${3:-100000}
cargo build --release -q
out=target/bench-pages
mkdir -p "$out"
declare -A peak_of
for flow in tests/seed-app/flows/seed-page.yaml flows/userinfo-first.yaml; do
  name=$(basename "$flow" .yaml)
  /usr/bin/time -v ./target/release/wxflow run "$flow" --repeat "$N" --concurrency "$C" --rotation 0.3 \
    >"$out/$name.log" 2>"$out/$name.time" || true
  rate=$(grep -o 'throughput [0-9.]* flows/s' "$out/$name.log" | head -1)
  rss=$(awk '/Maximum resident/{print $6}' "$out/$name.time")
  peak_of[$name]=$rss
  echo "$name: $N iterations at C=$C: $rate, peak RSS $((rss / 1024)) MB"
done
./target/release/wxflow run tests/seed-app/flows/seed-page.yaml --repeat "$LONG" --concurrency "$C" \
  >"$out/long.log" 2>&1 &
pid=$!
start=$SECONDS
peak=0
echo "elapsed_s  rss_mb"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  hwm=$(awk '/^VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
  echo "$((SECONDS - start))  $((rss / 1024))"
  sleep 5
done
wait "$pid" || true
extra=$(( (peak - ${peak_of[userinfo-first]}) / C ))
echo "seed-page, $LONG iterations at C=$C: peak RSS $((peak / 1024)) MB; over the modelled flow's peak, $((extra / 1024)).$(( (extra % 1024) * 10 / 1024 )) MB per virtual user"
grep -E 'throughput' "$out/long.log" | head -1
