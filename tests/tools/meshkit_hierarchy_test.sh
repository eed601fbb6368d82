#!/usr/bin/env bash
# The hierarchical mesh in real processes on 127.0.0.1, beacons on a LAN
# multicast group: a root (level 2), two leaders (level 1) and four leaves
# (level 0) that each report 40 telemetry readings. A 3-level hierarchy must
# form, the readings must reach the root folded into summaries, a command
# from the root must reach every node, and when a leader is SIGKILLed its
# leaves must re-home to the other within 10 s and lose nothing: every leaf
# ends with nothing held and nothing dropped (a reading is released only
# once it is safe at the root), and the root counts every reading.
#   meshkit_hierarchy_test.sh PATH/TO/meshkit-node
set -euo pipefail
node_bin=$1
source "$(dirname "$0")/common.sh"
run=60
readings=40
group="239.255.$(( $$ % 250 + 1 )).$(( ($$ / 250) % 250 + 1 )):$(( 40000 + $$ % 20000 ))"

start() { # name level position [args...]
  local name=$1 level=$2 position=$3; shift 3
  mkfifo "$work/$name.in"
  exec {fd}<> "$work/$name.in"
  eval "${name}_fd=$fd"
  "$node_bin" --role hierarchy --level "$level" --top-level 2 --position "$position" --lan "$group" \
      --beacon-interval 0.2 --listen 127.0.0.1:0 --run-for $run "$@" < "$work/$name.in" > "$work/$name.out" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$!"
  wait_for "$work/$name.out" '^listening' 5
}
short_of() { awk '/^listening/ {print substr($4, 1, 8); exit}' "$work/$1.out"; }

start root 2 59.9100,10.7500
start a 1 59.9110,10.7500
start b 1 59.9090,10.7500
start l1 0 59.9111,10.7502 --report 0.1 --report-count $readings
start l2 0 59.9112,10.7498 --report 0.1 --report-count $readings
start l3 0 59.9089,10.7502 --report 0.1 --report-count $readings
start l4 0 59.9088,10.7498 --report 0.1 --report-count $readings
root=$(short_of root); a=$(short_of a); b=$(short_of b)

# Three levels: each leaf under its nearest leader, each leader under the root.
for n in a b; do wait_for "$work/$n.out" "^parent selected $root" 5; done
for n in l1 l2; do wait_for "$work/$n.out" "^parent selected $a" 5; done
for n in l3 l4; do wait_for "$work/$n.out" "^parent selected $b" 5; done

# Mid-stream, leader a dies without a word; l1 and l2 must move to b within 10 s.
sleep 1.5
kill -KILL "$a_pid"; wait "$a_pid" 2>/dev/null || true
killed_at=$(date +%s.%N)
for n in l1 l2; do wait_for "$work/$n.out" "^parent changed $a to $b failover" 10; done
rehomed_at=$(date +%s.%N)

# A command from the root reaches every live node.
echo '!hold position' >&"$root_fd"
for n in b l1 l2 l3 l4; do wait_for "$work/$n.out" "^received command from $root .*: hold position" 5; done

# Reporting ends after 4 s; let the last summaries go up, then stop everyone.
sleep 5
for n in root b l1 l2 l3 l4; do eval "kill -TERM \$${n}_pid"; done
for n in root b l1 l2 l3 l4; do eval "wait \$${n}_pid 2>/dev/null || true"; done

grep -q "^received aggregated_telemetry from $b readings" "$work/root.out" || {
  echo "the root never got a summary from b:"; cat "$work/root.out"; exit 1; }
for n in l1 l2 l3 l4; do
  grep -q "^done reported $readings consumed 0 held 0 dropped 0\$" "$work/$n.out" || {
    echo "$n did not end with all $readings readings released:"; cat "$work/$n.out"; exit 1; }
done
consumed=$(awk '/^done/ {print $5}' "$work/root.out")
if [ "$consumed" -lt $(( 4 * readings )) ]; then
  echo "the root counted $consumed readings, want at least $(( 4 * readings )):"; cat "$work/root.out"; exit 1
fi
# Static discovery from a file, no LAN: a leaf that knows only the root's address from its peers file.
printf '# nobody yet: it answers whoever beacons to it\n' > "$work/none.toml"
"$node_bin" --role hierarchy --level 1 --top-level 1 --peers "$work/none.toml" --beacon-interval 0.2 \
    --listen 127.0.0.1:0 --run-for 20 < /dev/null > "$work/sroot.out" 2>&1 &
pids+=($!); sroot_pid=$!
wait_for "$work/sroot.out" '^listening' 5
printf '[[peer]]\naddress = "%s"\nname = "the root"\n' "$(awk '/^listening/ {print $2; exit}' "$work/sroot.out")" > "$work/leaf.toml"
"$node_bin" --role hierarchy --level 0 --top-level 1 --peers "$work/leaf.toml" --beacon-interval 0.2 \
    --report 0.1 --report-count 10 --listen 127.0.0.1:0 --run-for 20 < /dev/null > "$work/sleaf.out" 2>&1 &
pids+=($!); sleaf_pid=$!
wait_for "$work/sleaf.out" "^parent selected $(short_of sroot)" 5
sleep 2
kill -TERM "$sleaf_pid" "$sroot_pid"; wait "$sleaf_pid" "$sroot_pid" 2>/dev/null || true
grep -q "^done reported 10 consumed 0 held 0 dropped 0\$" "$work/sleaf.out" || {
  echo "the leaf found by its peers file did not get its readings released:"; cat "$work/sleaf.out"; exit 1; }
# A mistake in the file is an error naming the line and the key, and exit status 2.
printf '[[peer]]\nadress = "127.0.0.1:1"\n' > "$work/typo.toml"
status=0; "$node_bin" --role hierarchy --peers "$work/typo.toml" --run-for 1 < /dev/null > "$work/typo.out" 2>&1 || status=$?
[ "$status" = 2 ] && grep -q "typo.toml:2: unknown key 'peer.adress'" "$work/typo.out" || {
  echo "a typo in the peers file was not reported (status $status):"; cat "$work/typo.out"; exit 1; }

echo "meshkit-node hierarchy: 7 processes, 3 levels formed; leader SIGKILLed, its leaves re-homed in" \
     "$(awk -v a="$killed_at" -v b="$rehomed_at" 'BEGIN {printf "%.1f", b - a}') s; $((4 * readings)) readings all released, root counted $consumed; command delivered to all; static discovery from a peers file"
