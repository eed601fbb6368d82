#!/usr/bin/env bash
# The gossip-first reference node on real UDP sockets (loopback, no NAT):
# a registry, two bootstrap nodes on different loopback IPs (two independent
# observers), and two nodes. B is found by cache gossip alone, A connects to
# it by id, a line typed into A reaches B over the connection, and the
# registry receives the connection reports.
#   meshkit_gossip_first_test.sh PATH/TO/meshkit-node
set -euo pipefail
node_bin=$1
source "$(dirname "$0")/common.sh"
addr_of() { awk '/^listening/ {print $2; exit}' "$1"; }
id_of() { awk '/^listening/ {print $4; exit}' "$1"; }

"$node_bin" --role registry --listen 127.0.0.4:0 --metrics 1 --run-for 40 > "$work/r.out" 2>&1 & pids+=($!)
wait_for "$work/r.out" '^listening' 5
reg=$(addr_of "$work/r.out")
"$node_bin" --role bootstrap --listen 127.0.0.2:0 --registry "$reg" --run-for 40 > "$work/b1.out" 2>&1 & pids+=($!)
wait_for "$work/b1.out" '^listening' 5
b1=$(addr_of "$work/b1.out")
"$node_bin" --role bootstrap --listen 127.0.0.3:0 --bootstrap "$b1" --registry "$reg" --run-for 40 > "$work/b2.out" 2>&1 & pids+=($!)
wait_for "$work/b2.out" '^listening' 5
b2=$(addr_of "$work/b2.out")

mkfifo "$work/b.in" "$work/a.in"
"$node_bin" --role node --bootstrap "$b1" --bootstrap "$b2" --registry "$reg" --run-for 40 < "$work/b.in" > "$work/b.out" 2>&1 & pids+=($!)
exec 3> "$work/b.in"
wait_for "$work/b.out" '^listening' 5
b_id=$(id_of "$work/b.out")
# Two observers on different IPs agree on B's address: it knows it is public.
wait_for "$work/b.out" '^address 127.0.0.1:[0-9]* nat open' 10

"$node_bin" --role node --bootstrap "$b1" --bootstrap "$b2" --registry "$reg" --connect "$b_id" --run-for 40 \
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
echo "ok: A reached B by id through cache gossip; messages crossed both ways; the registry has 2 bootstraps and reports"
