#!/usr/bin/env bash
# Key latency of the dashboard during a load run at full speed: in tmux,
# start login-first at concurrency 64 (closed model: as fast as the machine
# goes), then 20 times press `?` and time until the help overlay is on the
# screen, and a key until it is gone. The figure includes tmux's own
# send-keys/capture-pane round trip (polled every 2 ms), so it is an upper
# bound on the dashboard's own reaction.
# Usage: benches/tui_keys.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { apt-get update -qq && apt-get install -y -qq tmux >/dev/null; }
cargo build --release -q
s=wxflow-keys-$$
tmux new-session -d -s "$s" -x 100 -y 30 "env -u CI ./target/release/wxflow tui flows/login-first.yaml"
trap 'tmux kill-session -t $s 2>/dev/null || true' EXIT
sleep 1.5
# repeat 10,000,000 (three ×10), concurrency 64 (three ×2), start.
tmux send-keys -t "$s" ] ] ] C C C l
sleep 3
now_ms() { date +%s%3N; }
wait_for() { # $1: 1 to wait for the help, 0 for its absence
  while :; do
    if tmux capture-pane -p -t "$s" | grep -q 'any key closes this help'; then [ "$1" = 1 ] && return; else [ "$1" = 0 ] && return; fi
    sleep 0.002
  done
}
lat=()
for _ in $(seq 20); do
  t0=$(now_ms); tmux send-keys -t "$s" '?'; wait_for 1; t1=$(now_ms)
  lat+=($((t1 - t0)))
  t0=$(now_ms); tmux send-keys -t "$s" x; wait_for 0; t1=$(now_ms)
  lat+=($((t1 - t0)))
  sleep 0.2
done
rate=$(tmux capture-pane -p -t "$s" | grep -o '[0-9]* flows/s' | head -1)
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
echo "load running at: ${rate}"
echo "key → screen (ms) over ${#lat[@]} presses: median $(echo "$sorted" | sed -n "$(( ${#lat[@]} / 2 ))p"), p90 $(echo "$sorted" | sed -n "$(( ${#lat[@]} * 9 / 10 ))p"), max $(echo "$sorted" | tail -1)"
tmux send-keys -t "$s" q
