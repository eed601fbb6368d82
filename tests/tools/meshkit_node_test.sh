#!/usr/bin/env bash
# Three real meshkit-node processes on 127.0.0.1: a line typed into one must
# be delivered by the other two; after the middle node is killed, a line from
# the last node must still reach the first (the overlay repaired).
#   meshkit_node_test.sh PATH/TO/meshkit-node
set -euo pipefail
node_bin=$1
source "$(dirname "$0")/common.sh"

mkfifo "$work/a.in" "$work/c.in"
"$node_bin" --listen 127.0.0.1:0 --run-for 25 < "$work/a.in" > "$work/a.out" 2>&1 & pids+=($!)
exec 3> "$work/a.in"
wait_for "$work/a.out" '^listening' 5
a_addr=$(awk '/^listening/ {print $2}' "$work/a.out")

"$node_bin" --listen 127.0.0.1:0 --bootstrap "$a_addr" --run-for 25 < /dev/null > "$work/b.out" 2>&1 & pids+=($!)
b_pid=$!
wait_for "$work/b.out" '^listening' 5
b_addr=$(awk '/^listening/ {print $2}' "$work/b.out")
"$node_bin" --listen 127.0.0.1:0 --bootstrap "$b_addr" --run-for 25 < "$work/c.in" > "$work/c.out" 2>&1 & pids+=($!)
exec 4> "$work/c.in"

wait_for "$work/c.out" '^neighbor up' 5
sleep 1.5 # let the join walks settle
echo "hello from a" >&3
wait_for "$work/b.out" 'deliver from .* hops [0-9]* seq [0-9]*: hello from a' 5
wait_for "$work/c.out" 'deliver from .* hops [0-9]* seq [0-9]*: hello from a' 5

b_id=$(awk '/^listening/ {print $4}' "$work/b.out")
downs_before=$(grep -c "^neighbor down $b_id" "$work/a.out" || true)
kill "$b_pid"
# Past the failure timeout (4 s): the survivors must not have dropped each
# other (a pending ICMP error once made their keepalives fail), and the
# dead node must be gone from their views.
sleep 5
downs_after=$(grep -c "^neighbor down $b_id" "$work/a.out" || true)
if [ "$downs_after" -le "$downs_before" ]; then echo "a never saw b ($b_id) go down:"; cat "$work/a.out"; exit 1; fi
if grep -q "^neighbor down $(awk '/^listening/ {print $4}' "$work/c.out")" "$work/a.out"; then
  echo "a dropped c, a live neighbour:"; cat "$work/a.out"; exit 1
fi
echo "hello from c" >&4
wait_for "$work/a.out" 'deliver from .*: hello from c' 5
# Hostile bytes (an 8-bit CSI, invalid UTF-8, ESC, DEL, a backslash) reach the
# operator escaped, never raw.
printf 'evil \x9b31m \xff\xfe \x1b[2J \x7f \\ end\n' >&4
wait_for "$work/a.out" 'deliver from .*: evil \\x9b31m \\xff\\xfe \\x1b\[2J \\x7f \\\\ end' 5
if LC_ALL=C grep -q $'[\x80-\xff\x1b\x7f]' "$work/a.out"; then
  echo "raw peer bytes reached a's output:"; od -c "$work/a.out" | tail -20; exit 1
fi
echo "meshkit-node: 3 processes, broadcast delivered before and after a node was killed; peer bytes printed escaped"
