#!/usr/bin/env bash
# A soak: `wxflow run flows/login-first.yaml` for MINUTES at CONCURRENCY
# against `wxflow mock` and `wxflow backend` started as their own processes.
# Every 10 s: RSS (MB) and open descriptors of the runner, the mock and the
# backend. At the end: the run's summary, and first vs last samples: both
# must stay flat (bounded memory, no descriptor leak).
#
#   benches/soak.sh MINUTES CONCURRENCY      e.g. benches/soak.sh 20 1000
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
MINUTES=$1 C=$2
cargo build --release -q
bin=./target/release/wxflow
out=target/bench-soak
mkdir -p "$out"
. benches/servers.sh
"$bin" run flows/login-first.yaml --mock "$mock" --target "$backend" --duration "${MINUTES}m" \
  --concurrency "$C" --report "json=$out/report.json" >"$out/run.log" 2>&1 &
runner=$!
: >"$out/samples.txt"
rss() { awk '/^VmRSS/{printf "%d", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo -; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
sample() { echo "$1  $(rss "$runner") $(fds "$runner")  $(rss "${server_pids[0]}") $(fds "${server_pids[0]}")  $(rss "${server_pids[1]}") $(fds "${server_pids[1]}")"; }
echo "# $(date -u +%F) · $(nproc) cores · $MINUTES min at concurrency $C · $(git rev-parse --short HEAD)"
echo "elapsed_s  runner_mb runner_fds  mock_mb mock_fds  backend_mb backend_fds"
start=$SECONDS
while kill -0 "$runner" 2>/dev/null; do
  sample "$((SECONDS - start))" | tee -a "$out/samples.txt"
  sleep 10
done
rc=0
wait "$runner" || rc=$?
echo "exit $rc"
grep -E 'iterations:|throughput|passed, ' "$out/run.log"
