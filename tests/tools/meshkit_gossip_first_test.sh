#!/usr/bin/env bash
# The gossip-first reference node on real UDP sockets (loopback, no NAT):
# a registry, two bootstrap nodes on different loopback IPs (two independent
# observers), and two nodes. B is found by cache gossip alone, A connects to
# it by id, a line typed into A reaches B over the connection, and the
# registry receives the connection reports.
#
# With --time-namespaces every process runs in its own Linux time namespace,
# its monotonic and boot clocks offset by hours to days from the others', as
# on five machines booted at different times. Nothing may depend on two
# processes' clocks agreeing. That needs root (unshare --time); without it
# the script exits 77, which ctest reports as skipped.
#   meshkit_gossip_first_test.sh PATH/TO/meshkit-node [--time-namespaces]
set -euo pipefail
node_bin=$1
time_namespaces=${2:-}
source "$(dirname "$0")/common.sh"

# run_at OFFSET_S CMD...: runs CMD with clocks OFFSET_S seconds ahead of the host's (in a time namespace).
run_at() {
  local offset=$1; shift
  if [ -n "$time_namespaces" ]; then
    exec unshare --time --fork --kill-child --monotonic "$offset" --boottime "$((offset + 7 * 86400))" "$@"
  else
    exec "$@"
  fi
}
if [ -n "$time_namespaces" ]; then
  if [ "$(id -u)" -ne 0 ] || ! unshare --time --fork true 2>/dev/null; then
    echo "skipped: time namespaces need root and a kernel with CONFIG_TIME_NS (unshare --time)"
    exit 77
  fi
  # The five clocks, as each process will read them: hours to days apart.
  for offset in 0 86400 10800 864000 25200; do
    unshare --time --fork --monotonic "$offset" --boottime "$((offset + 7 * 86400))" cat /proc/uptime
  done | awk '{printf "uptime in a namespace: %s s\n", $1}'
fi
addr_of() { awk '/^listening/ {print $2; exit}' "$1"; }
id_of() { awk '/^listening/ {print $4; exit}' "$1"; }

(run_at 0 "$node_bin" --role registry --listen 127.0.0.4:0 --metrics 1 --run-for 40) > "$work/r.out" 2>&1 & pids+=($!)
wait_for "$work/r.out" '^listening' 5
reg=$(addr_of "$work/r.out")
(run_at 86400 "$node_bin" --role bootstrap --listen 127.0.0.2:0 --registry "$reg" --run-for 40) > "$work/b1.out" 2>&1 & pids+=($!)
wait_for "$work/b1.out" '^listening' 5
b1=$(addr_of "$work/b1.out")
(run_at 10800 "$node_bin" --role bootstrap --listen 127.0.0.3:0 --bootstrap "$b1" --registry "$reg" --run-for 40) > "$work/b2.out" 2>&1 & pids+=($!)
wait_for "$work/b2.out" '^listening' 5
b2=$(addr_of "$work/b2.out")

mkfifo "$work/b.in" "$work/a.in"
(run_at 864000 "$node_bin" --role node --bootstrap "$b1" --bootstrap "$b2" --registry "$reg" --run-for 40) < "$work/b.in" > "$work/b.out" 2>&1 & pids+=($!)
exec 3> "$work/b.in"
wait_for "$work/b.out" '^listening' 5
b_id=$(id_of "$work/b.out")
# Two observers on different IPs agree on B's address: it knows it is public.
wait_for "$work/b.out" '^address 127.0.0.1:[0-9]* nat open' 10

(run_at 25200 "$node_bin" --role node --bootstrap "$b1" --bootstrap "$b2" --registry "$reg" --connect "$b_id" --run-for 40) \
  < "$work/a.in" > "$work/a.out" 2>&1 & pids+=($!)
exec 4> "$work/a.in"
wait_for "$work/a.out" "^connection up $b_id .* method direct .* initiated" 15
a_id=$(id_of "$work/a.out")
echo "hello over the ladder" >&4
wait_for "$work/b.out" "^message from $a_id: hello over the ladder" 5
echo "and back" >&3
wait_for "$work/a.out" "^message from $b_id: and back" 5
# Reports reach the registry: the bootstraps' introducer sessions and A's connection.
wait_for "$work/r.out" 'registry bootstraps=2 reports=[1-9]' 5
echo "ok: A reached B by id through cache gossip; messages crossed both ways; the registry has 2 bootstraps and reports${time_namespaces:+ (five time namespaces, clocks up to 10 days apart)}"
