#!/usr/bin/env bash
# Backpressure through a real meshkit-node: 100,000 lines of 100 bytes are
# written into one node's stdin as fast as it reads them while a neighbour
# is frozen (SIGSTOP) for 1.5 s. The publisher must be refused
# (publish_refused), stop reading stdin instead of dropping lines, and
# resume: every line is then delivered exactly once at both other nodes,
# and never to the publisher itself.
#   meshkit_node_load_test.sh PATH/TO/meshkit-node
set -euo pipefail
node_bin=$1
source "$(dirname "$0")/common.sh"
lines=100000

mkfifo "$work/a.in"
"$node_bin" --listen 127.0.0.1:0 --metrics 1 --run-for 60 < "$work/a.in" > "$work/a.out" 2> "$work/a.err" & pids+=($!)
exec 3> "$work/a.in"
wait_for "$work/a.out" '^listening' 5
a_addr=$(awk '/^listening/ {print $2}' "$work/a.out")
a_id=$(awk '/^listening/ {print $4}' "$work/a.out")
"$node_bin" --listen 127.0.0.1:0 --bootstrap "$a_addr" --run-for 60 < /dev/null > "$work/b.out" 2>&1 & pids+=($!)
b_pid=$!
"$node_bin" --listen 127.0.0.1:0 --bootstrap "$a_addr" --run-for 60 < /dev/null > "$work/c.out" 2>&1 & pids+=($!)
wait_for "$work/b.out" '^neighbor up' 5
wait_for "$work/c.out" '^neighbor up' 5
sleep 1.5 # let the join walks settle

# 100-byte lines, numbered.
awk -v n=$lines 'BEGIN { pad = sprintf("%88s", ""); gsub(/ /, "x", pad); for (i = 1; i <= n; ++i) printf "line %06d %s\n", i, pad }' > "$work/lines"
kill -STOP "$b_pid"
cat "$work/lines" >&3 & feeder=$!
sleep 1.5
kill -CONT "$b_pid"
wait "$feeder"

count() { grep -c "^deliver from $a_id .*: line [0-9]* x" "$1" || true; }
for _ in $(seq 1 300); do
  [ "$(count "$work/b.out")" -ge $lines ] && [ "$(count "$work/c.out")" -ge $lines ] && break
  sleep 0.1
done
sleep 1 # anything delivered twice would arrive by now
fail=0
for n in b c; do
  got=$(count "$work/$n.out")
  distinct=$(grep "^deliver from $a_id " "$work/$n.out" | sed 's/.*: line \([0-9]*\) .*/\1/' | sort -u | wc -l)
  echo "node $n: $got deliveries, $distinct distinct of $lines"
  [ "$got" -eq $lines ] && [ "$distinct" -eq $lines ] || fail=1
done
if grep -q "^deliver from $a_id " "$work/a.out"; then echo "the publisher delivered its own broadcast"; fail=1; fi
if grep -q "not sent" "$work/a.err"; then echo "the publisher dropped lines:"; grep -m5 "not sent" "$work/a.err"; fail=1; fi
sent=$(grep -c '^sent seq' "$work/a.out" || true)
[ "$sent" -eq $lines ] || { echo "the publisher sent $sent of $lines lines"; fail=1; }
metrics=$(grep '^metrics' "$work/a.out" | tail -1)
refused=$(sed -n 's/.*meshkit_broadcast_publish_refused_total=\([0-9]*\).*/\1/p' <<< "$metrics")
echo "publisher: ${refused:-0} refusals (stdin paused until ready_to_publish)"
echo "$metrics" | tr ' ' '\n' | grep -E 'refused|overflow|evicted|dropped|kernel|truncated' || true
[ "${refused:-0}" -gt 0 ] || { echo "the publisher was never refused: no backpressure was exercised"; fail=1; }
[ $fail -eq 0 ] || { tail -5 "$work/a.out"; exit 1; }
echo "meshkit-node: $lines lines through backpressure, each delivered once at both receivers"
