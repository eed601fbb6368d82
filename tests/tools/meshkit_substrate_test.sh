#!/usr/bin/env bash
# The substrate/transient reference node in real processes on 127.0.0.1:
# three substrates in one mesh (UDP), four transients attached over TCP. Two
# transients and a substrate publish numbered lines; mid-stream one substrate
# is killed with SIGKILL and another stopped with SIGTERM (it says goodbye).
# Every live node must print every line exactly once (a transient's own lines
# never come back to it), and every published line must arrive.
#   meshkit_substrate_test.sh PATH/TO/meshkit-node
set -euo pipefail
node_bin=$1
source "$(dirname "$0")/common.sh"
lines=150
run=90

# Every process reads a fifo, held open here read-write (which never blocks) so its stdin stays open.
start() { # name role [args...]
  local name=$1; shift
  mkfifo "$work/$name.in"
  exec {fd}<> "$work/$name.in"
  eval "${name}_fd=$fd"
  "$node_bin" --role "$@" --listen 127.0.0.1:0 --heartbeat 1 --run-for $run < "$work/$name.in" > "$work/$name.out" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$!"
  wait_for "$work/$name.out" '^listening' 5
}
udp_of() { awk '/^listening/ {print $2; exit}' "$work/$1.out"; }
tcp_of() { awk '/^listening/ {print $3; exit}' "$work/$1.out"; }

start s1 substrate
start s2 substrate --bootstrap "$(udp_of s1)"
start s3 substrate --bootstrap "$(udp_of s1)"
wait_for "$work/s2.out" '^neighbor up' 5
wait_for "$work/s3.out" '^neighbor up' 5
start t1 transient --substrate "$(tcp_of s1)"
start t2 transient --substrate "$(tcp_of s2)"
start t3 transient --substrate "$(tcp_of s1)"
start t4 transient --substrate "$(tcp_of s2)"
for t in t1 t2 t3 t4; do wait_for "$work/$t.out" '^attached up' 5; done

for i in $(seq 1 $lines); do
  echo "t1 line $i" >&"$t1_fd"
  echo "t2 line $i" >&"$t2_fd"
  echo "s3 line $i" >&"$s3_fd"
  if [ "$i" -eq 50 ]; then kill -KILL "$s1_pid"; wait "$s1_pid" 2>/dev/null || true; fi  # t1, t3 lose it without a word
  if [ "$i" -eq 100 ]; then kill -TERM "$s2_pid"; fi  # t2 and t4 are told to move
  sleep 0.03
done

# Each live node must end with every line it is owed, each exactly once.
check() { # node publishers...
  local node=$1; shift
  for _ in $(seq 1 200); do
    local all=1
    for p in "$@"; do
      n=$(grep -c "^deliver from .*: $p line " "$work/$node.out" || true)
      [ "$n" -ge "$lines" ] || all=0
    done
    [ "$all" = 1 ] && break
    sleep 0.1
  done
  for p in "$@"; do
    for i in $(seq 1 $lines); do
      n=$(grep -c "^deliver from .*: $p line $i\$" "$work/$node.out" || true)
      if [ "$n" -ne 1 ]; then
        echo "$node printed '$p line $i' $n times (want exactly 1):"; cat "$work/$node.out"; exit 1
      fi
    done
  done
}
check s3 t1 t2 s3
check t1 t2 s3
check t2 t1 s3
check t3 t1 t2 s3
check t4 t1 t2 s3
grep -q '^attachment down' "$work/t1.out" || { echo "t1 never lost s1:"; cat "$work/t1.out"; exit 1; }
grep -q '^attachment down' "$work/t2.out" || { echo "t2 never lost s2:"; cat "$work/t2.out"; exit 1; }
echo "meshkit-node substrate/transient: 3 substrates (one SIGKILLed, one stopped), 4 transients, $((3 * lines)) lines each delivered exactly once to every live node"
