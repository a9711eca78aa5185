#!/usr/bin/env bash
# The README's throughput figures, measured in one go on this machine: wrk
# and wxflow side by side, so every figure is a ratio to what the machine
# does that day, and medians of REPS runs.
#
#   benches/side_by_side.sh [SECONDS] [REPS]     (default 10 s, 3 runs each)
#
# 1. wrk (2 threads, 64 connections) on the mock's client-side login
#    endpoint, in its own process: the machine's raw HTTP capacity.
# 2. Embedded: `wxflow run flows/login-first.yaml` at concurrency 1 and 16,
#    mock and reference backend in the runner's process.
# 3. External: the mock and the backend as their own processes,
#    `wxflow run … --mock URL --target URL` at concurrency 16, with the
#    default threads (half the cores: the servers are on this machine) and
#    with one thread per core (--threads $(nproc)).
#    "tester CPU per flow" is the runner process's user+system CPU time (the
#    kernel's rusage of the exited process) over the iterations it ran.
# Targets (issue 13): embedded flows/s >= 0.13 x wrk req/s; external >= 8000
# flows/s at C=16 with tester CPU <= 100 us/flow.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
REPS=${2:-3}
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)…" >&2
  (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) || { echo "cannot install wrk" >&2; exit 2; }
fi
cargo build --release -q
bin=./target/release/wxflow
out=target/bench-side-by-side
mkdir -p "$out"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

. benches/servers.sh

cat >"$out/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"user":"wrk-' .. (counter % 1000) .. '"}')
end
LUA

# One run of wxflow; prints "flows/s p99_ms cpu_us_per_flow". The CPU is
# the runner process's user+system time, read from the kernel when it exits
# (getrusage of the waited child).
measure() {
  local tag=$1; shift
  local cpu
  cpu=$(python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as log:
    subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_utime + r.ru_stime)' "$out/$tag.log" "$bin" run flows/login-first.yaml --duration "${SECS}s" --report "json=$out/$tag.json" "$@")
  python3 - "$out/$tag.json" "$cpu" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["flows"][0]
cpu_s = float(sys.argv[2])
print(f'{f["throughput"]["flows_per_sec"]:.0f} {f["latency_ms"]["p99"]:.3f} {cpu_s * 1e6 / max(f["iterations"], 1):.1f}')
PY
}

for r in $(seq "$REPS"); do
  wrk -t2 -c64 -d"${SECS}s" -s "$out/login.lua" "$mock/__wxflow/client/login" | awk '/Requests\/sec/{print $2}' >>"$out/wrk.$$"
  measure "emb1-$r" --concurrency 1 >>"$out/emb1.$$"
  measure "emb16-$r" --concurrency 16 >>"$out/emb16.$$"
  measure "ext16-$r" --concurrency 16 --mock "$mock" --target "$backend" >>"$out/ext16.$$"
  measure "ext16all-$r" --concurrency 16 --threads "$(nproc)" --mock "$mock" --target "$backend" >>"$out/ext16all.$$"
done

wrk_rps=$(median <"$out/wrk.$$")
col() { awk -v c="$2" '{print $c}' "$out/$1.$$" | median; }
emb1=$(col emb1 1); emb1_p99=$(col emb1 2)
emb16=$(col emb16 1); emb16_cpu=$(col emb16 3)
ext16=$(col ext16 1); ext16_cpu=$(col ext16 3); ext16_p99=$(col ext16 2)
ext16all=$(col ext16all 1); ext16all_cpu=$(col ext16all 3)
rm -f "$out"/*.$$

echo "benches/side_by_side.sh ${SECS} ${REPS} · $(nproc) cores · medians of ${REPS} runs of ${SECS} s · $(date -u +%Y-%m-%d)"
printf "%-46s %12s\n" "wrk, POST /__wxflow/client/login (req/s)" "$wrk_rps"
printf "%-46s %12s   p99 %s ms\n" "embedded login-first, C=1 (flows/s)" "$emb1" "$emb1_p99"
printf "%-46s %12s   runner CPU %s us/flow (mock+backend included)\n" "embedded login-first, C=16 (flows/s)" "$emb16" "$emb16_cpu"
printf "%-46s %12s\n" "  ratio to wrk (target >= 0.13)" "$(python3 -c "print(f'{$emb16 / $wrk_rps:.3f}')")"
printf "%-46s %12s   p99 %s ms\n" "external mock+backend, C=16 (flows/s)" "$ext16" "$ext16_p99"
printf "%-46s %12s\n" "  tester CPU per flow, us (target <= 100)" "$ext16_cpu"
printf "%-46s %12s   tester CPU %s us/flow\n" "  the same, one thread per core (flows/s)" "$ext16all" "$ext16all_cpu"
