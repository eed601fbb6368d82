#!/usr/bin/env bash
# Real meshkit-node processes in topics, on 127.0.0.1:
#   a (alpha, beta) is the contact; b (alpha, beta) keeps its state in SQLite;
#   c (alpha) joins beta at run time.
# A broadcast reaches the topic's members only. b is killed, misses two
# broadcasts, and is restarted on its state directory: it reads its log back
# from SQLite (what it had is not delivered again) and anti-entropy brings
# exactly what it missed. c, joining beta late, receives beta's history the
# same way.
#   meshkit_topics_test.sh PATH/TO/meshkit-node
set -euo pipefail
node_bin=$1
source "$(dirname "$0")/common.sh"

mkfifo "$work/a.in" "$work/c.in"
"$node_bin" --listen 127.0.0.1:0 --topic alpha --topic beta --run-for 40 < "$work/a.in" > "$work/a.out" 2>&1 & pids+=($!)
exec 3> "$work/a.in"
wait_for "$work/a.out" '^listening' 5
a_addr=$(awk '/^listening/ {print $2}' "$work/a.out")

"$node_bin" --listen 127.0.0.1:0 --bootstrap "$a_addr" --topic alpha --topic beta --state "$work/b" --run-for 40 \
  < /dev/null > "$work/b1.out" 2>&1 & pids+=($!)
b_pid=$!
wait_for "$work/b1.out" '^listening' 5
b_addr=$(awk '/^listening/ {print $2}' "$work/b1.out")
"$node_bin" --listen 127.0.0.1:0 --bootstrap "$a_addr" --topic alpha --run-for 40 < "$work/c.in" > "$work/c.out" 2>&1 & pids+=($!)
exec 4> "$work/c.in"

wait_for "$work/b1.out" '^neighbor up topic beta' 5
wait_for "$work/c.out" '^neighbor up topic alpha' 5
sleep 1
echo "alpha: one" >&3
echo "beta: two" >&3
wait_for "$work/b1.out" 'deliver topic alpha from .*: one$' 5
wait_for "$work/b1.out" 'deliver topic beta from .*: two$' 5
wait_for "$work/c.out" 'deliver topic alpha from .*: one$' 5
sleep 1
if grep -q 'two$' "$work/c.out"; then echo "c is not in beta, yet it got beta's broadcast:"; cat "$work/c.out"; exit 1; fi

kill -9 "$b_pid"
echo "alpha: three" >&3
echo "beta: four" >&3
wait_for "$work/c.out" 'deliver topic alpha from .*: three$' 5

"$node_bin" --listen "$b_addr" --bootstrap "$a_addr" --topic alpha --topic beta --state "$work/b" --run-for 30 \
  < /dev/null > "$work/b2.out" 2>&1 & pids+=($!)
# Read back from SQLite before any peer answered: one broadcast in each topic.
wait_for "$work/b2.out" '^joined topic alpha log 1$' 5
wait_for "$work/b2.out" '^joined topic beta log 1$' 5
wait_for "$work/b2.out" 'deliver topic alpha from .* hops 0 .*: three$' 15
wait_for "$work/b2.out" 'deliver topic beta from .* hops 0 .*: four$' 15
if grep -qE ': (one|two)$' "$work/b2.out"; then
  echo "b delivered again what it held before the restart:"; cat "$work/b2.out"; exit 1
fi
[ "$(awk '/^listening/ {print $4}' "$work/b1.out")" = "$(awk '/^listening/ {print $4}' "$work/b2.out")" ] \
  || { echo "b's identity did not survive the restart"; exit 1; }

echo "/join beta" >&4
wait_for "$work/c.out" '^joined topic beta log 0$' 5
wait_for "$work/c.out" 'deliver topic beta from .* hops 0 .*: two$' 15
wait_for "$work/c.out" 'deliver topic beta from .* hops 0 .*: four$' 15
echo "beta: five" >&4
wait_for "$work/a.out" 'deliver topic beta from .*: five$' 5
wait_for "$work/b2.out" 'deliver topic beta from .*: five$' 5
echo "/leave alpha" >&4
wait_for "$work/c.out" '^left topic alpha$' 5
echo "meshkit-node: topics kept apart; a node restarted on its SQLite state read its log back and caught up on exactly what it missed; a topic joined at run time received its history"
