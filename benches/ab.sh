#!/usr/bin/env bash
# Two wxflow builds compared on this machine, alternating, so both see the
# same moments of a shared machine (its speed moves by a quarter within
# minutes). Each run: that build's `wxflow mock` and `wxflow backend`, then
# `wxflow run flows/login-first.yaml --mock … --target …` at concurrency 16.
# Prints flows/s, CPU per flow of the runner, the mock and the backend
# (kernel rusage and /proc), and how idle the machine was (/proc/stat).
#
#   benches/ab.sh BINARY_A BINARY_B [SECONDS] [PAIRS] [-- extra run args]
#   e.g. git worktree add /tmp/old HEAD~3 && (cd /tmp/old && cargo build --release)
#        benches/ab.sh /tmp/old/target/release/wxflow target/release/wxflow 5 3
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
a=$1 b=$2 SECS=${3:-5} PAIRS=${4:-3}
shift $(($# < 4 ? $# : 4))
[ "${1:-}" = -- ] && shift
out=target/bench-ab
mkdir -p "$out"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
idle() { awk '/^cpu /{print $5}' /proc/stat; }

one() {
  local bin=$1 tag=$2; shift 2
  . benches/servers.sh
  local m0 b0 i0 rc
  m0=$(cpu "${server_pids[0]}"); b0=$(cpu "${server_pids[1]}"); i0=$(idle)
  rc=$(python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as log:
    subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_utime + r.ru_stime)' "$out/$tag.log" "$bin" run flows/login-first.yaml --duration "${SECS}s" \
    --concurrency 16 --mock "$mock" --target "$backend" --report "json=$out/$tag.json" "$@")
  python3 - "$out/$tag.json" "$tag" "$rc" "$(($(cpu "${server_pids[0]}") - m0))" \
    "$(($(cpu "${server_pids[1]}") - b0))" "$(($(idle) - i0))" "$SECS" "$(getconf CLK_TCK)" "$(nproc)" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["flows"][0]
tag, runner_s, mock_t, backend_t, idle_t, secs, hz, cores = sys.argv[2:]
n, hz = max(f["iterations"], 1), float(hz)
per = lambda s: s * 1e6 / n
print(f'{tag:6} {f["throughput"]["flows_per_sec"]:6.0f} flows/s  us/flow: runner {per(float(runner_s)):5.1f}'
      f' mock {per(int(mock_t) / hz):5.1f} backend {per(int(backend_t) / hz):5.1f}'
      f'  idle {100 * int(idle_t) / hz / (float(secs) * int(cores)):3.0f}%  passed {f["passed"]}/{f["iterations"]}')
PY
  for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

echo "benches/ab.sh · $(nproc) cores · ${PAIRS} pairs of ${SECS} s runs · A=$a B=$b"
for r in $(seq "$PAIRS"); do
  bin=$a one "$a" "A$r" "$@"
  bin=$b one "$b" "B$r" "$@"
done
