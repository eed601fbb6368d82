#!/usr/bin/env bash
# N real meshkit-node processes (128 by default) join through one seed at
# once, BURSTS times (10 by default). Once a burst has settled (SETTLE
# seconds after the last process is up, 3 by default), no node may be
# without a neighbour, and none may hang off the seed alone. Prints, per
# burst and in all, how many nodes were isolated or seed-only at that
# moment, and the longest time any node spent with no neighbour after its
# first one.
#   meshkit_burst_test.sh PATH/TO/meshkit-node [N] [BURSTS] [SETTLE] [-- EXTRA NODE FLAGS]
set -euo pipefail
node_bin=$1; n=${2:-128}; bursts=${3:-10}; settle=${4:-3}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
source "$(dirname "$0")/common.sh"
ulimit -n 4096 2>/dev/null || true

stamp() { while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }
total_isolated=0; total_seed_only=0; worst_gap=0; worst_alone=0
for b in $(seq 1 "$bursts"); do
  dir="$work/burst$b"; mkdir -p "$dir"
  "$node_bin" --listen 127.0.0.1:0 "${extra[@]}" < /dev/null 2>&1 | stamp > "$dir/seed.out" & pids+=($!)
  wait_for "$dir/seed.out" ' listening' 5
  seed_addr=$(awk '/ listening/ {print $3; exit}' "$dir/seed.out")
  seed_id=$(awk '/ listening/ {print $5; exit}' "$dir/seed.out")
  burst_pids=()
  for i in $(seq 1 $((n - 1))); do
    # Each node on an address of its own, as on separate hosts (the seed's handshake limit is per source IP).
    "$node_bin" --listen "127.0.$((i / 250 + 1)).$((i % 250 + 1)):0" --bootstrap "$seed_addr" "${extra[@]}" < /dev/null 2>&1 | stamp > "$dir/n$i.out" &
    burst_pids+=($!); pids+=($!)
  done
  # Settled: SETTLE seconds after the last process is up (starting 127 processes on two cores takes a while).
  for _ in $(seq 1 300); do
    [ "$(cat "$dir"/n*.out | grep -c ' listening')" -ge $((n - 1)) ] && break; sleep 0.1
  done
  up=$(cat "$dir"/n*.out | grep -c ' listening' || true)
  [ "$up" -ge $((n - 1)) ] || { echo "only $up of $((n - 1)) processes started"; exit 1; }
  sleep "$settle"
  cut=$EPOCHREALTIME
  # Each node's active view at `cut`, rebuilt from its neighbour lines; and its longest spell without one.
  read -r isolated seed_only gap alone < <(awk -v cut="$cut" -v seed="$seed_id" '
    FNR == 1 { if (NR > 1) finish(); prev_file = FILENAME; delete view; size = 0; first = 0; empty_since = 0; longest = 0; alone_since = 0; alone = 0 }
    $1 > cut { next }
    $2 == "neighbor" && ($3 == "up" || $3 == "down") {
      if (NF >= 6 && $4 == "topic") { id = $6 } else { id = $4 }
      if ($3 == "up") { if (!(id in view)) { view[id] = 1; size++ } if (size == 1 && empty_since) { g = $1 - empty_since; if (g > longest) longest = g; empty_since = 0 } first = 1 }
      else if (id in view) { delete view[id]; size--; if (size == 0) empty_since = $1 }
      seed_alone = (size == 1 && (seed in view))
      if (seed_alone && !alone_since) alone_since = $1
      if (!seed_alone && alone_since) { g = $1 - alone_since; if (g > alone) alone = g; alone_since = 0 }
    }
    function finish() {
      if (empty_since) { g = cut - empty_since; if (g > longest) longest = g }
      if (alone_since) { g = cut - alone_since; if (g > alone) alone = g }
      if (alone > worst_alone) worst_alone = alone
      if (size == 0) { iso++; if (ENVIRON["MESHKIT_BURST_SHOW"] != "") system("cat " prev_file " >&2") }
      else if (size == 1 && (seed in view)) only++
      if (longest > worst) worst = longest
    }
    END { finish(); printf "%d %d %.2f %.2f\n", iso, only, worst, worst_alone }' "$dir"/n*.out)
  echo "burst $b: $((n - 1)) nodes through one seed: isolated $isolated, seed-only $seed_only, longest time without a neighbour ${gap} s, with the seed alone ${alone} s"
  total_isolated=$((total_isolated + isolated)); total_seed_only=$((total_seed_only + seed_only))
  worst_gap=$(awk -v a="$worst_gap" -v b="$gap" 'BEGIN { print (b > a ? b : a) }')
  worst_alone=$(awk -v a="$worst_alone" -v b="$alone" 'BEGIN { print (b > a ? b : a) }')
  for p in "${burst_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -P $$ -f "$node_bin" 2>/dev/null || true
  wait 2>/dev/null || true
  pids=()
done
echo "meshkit-node bursts: $bursts x $((n - 1)) nodes: isolated $total_isolated, seed-only $total_seed_only after ${settle} s; longest time without a neighbour ${worst_gap} s, with the seed alone ${worst_alone} s"
[ "$total_isolated" -eq 0 ] && [ "$total_seed_only" -eq 0 ]
