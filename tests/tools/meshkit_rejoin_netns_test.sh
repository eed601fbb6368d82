#!/usr/bin/env bash
# Real network namespaces (root only; otherwise skipped with exit 77):
# b, in its own namespace, runs two topics with a and loses its link
# (`ip link set down`) while a publishes in both. When the link comes back
# the rtnetlink notification must reach b's rejoin supervisor, b must
# rejoin, and anti-entropy must deliver every broadcast it missed.
#   meshkit_rejoin_netns_test.sh PATH/TO/meshkit-node
set -euo pipefail
node_bin=$1
if [ "$(id -u)" -ne 0 ]; then echo "skipped: network namespaces need root (CI runs as root)"; exit 77; fi
command -v ip >/dev/null || { echo "skipped: no ip(8) (install iproute2)"; exit 77; }
source "$(dirname "$0")/common.sh"
na=mkrja$$; nb=mkrjb$$
cleanup_ns() { ip netns del "$na" 2>/dev/null || true; ip netns del "$nb" 2>/dev/null || true; }
trap 'cleanup; cleanup_ns' EXIT
if ! ip netns add "$na" 2>/dev/null; then echo "skipped: cannot create network namespaces here"; exit 77; fi
ip netns add "$nb"
ip link add "va$$" type veth peer name "vb$$" 2>/dev/null || { echo "skipped: no veth support here"; exit 77; }
ip link set "va$$" netns "$na"; ip link set "vb$$" netns "$nb"
ip -n "$na" addr add 10.231.0.1/24 dev "va$$"; ip -n "$na" link set "va$$" up; ip -n "$na" link set lo up
ip -n "$nb" addr add 10.231.0.2/24 dev "vb$$"; ip -n "$nb" link set "vb$$" up; ip -n "$nb" link set lo up

mkfifo "$work/a.in"
ip netns exec "$na" "$node_bin" --listen 10.231.0.1:7000 --topic alpha --topic beta --run-for 60 \
  < "$work/a.in" > "$work/a.out" 2>&1 & pids+=($!)
exec 3> "$work/a.in"
wait_for "$work/a.out" '^listening' 5
ip netns exec "$nb" "$node_bin" --listen 10.231.0.2:7000 --bootstrap 10.231.0.1:7000 --topic alpha --topic beta \
  --run-for 60 < /dev/null > "$work/b.out" 2>&1 & pids+=($!)
wait_for "$work/b.out" '^neighbor up topic alpha' 10
wait_for "$work/b.out" '^neighbor up topic beta' 10
echo "alpha: before" >&3
wait_for "$work/b.out" 'deliver topic alpha from .*: before$' 5

ip -n "$nb" link set "vb$$" down
wait_for "$work/b.out" '^network change link-down' 5
for k in 1 2 3; do echo "alpha: missed-$k" >&3; echo "beta: missed-$k" >&3; sleep 0.5; done
sleep 4 # past the probes' failure time: b's links end, and a's
ip -n "$nb" link set "vb$$" up
up_at=$(date +%s.%N)
wait_for "$work/b.out" '^network change link-up' 5
for k in 1 2 3; do
  wait_for "$work/b.out" "deliver topic alpha from .* hops 0 .*: missed-$k\$" 20
  wait_for "$work/b.out" "deliver topic beta from .* hops 0 .*: missed-$k\$" 20
done
took=$(awk -v a="$up_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
# The link-up notification itself led to a rejoin (within its topic window, 2 s, of the one before).
rejoined_after_up() { awk '/^network change link-up/ { up = 1 } up && /^rejoin network-change topics alpha,beta/ { found = 1 } END { exit !found }' "$work/b.out"; }
for _ in $(seq 1 50); do rejoined_after_up && break; sleep 0.1; done
rejoined_after_up || { echo "no rejoin after the link came up:"; cat "$work/b.out"; exit 1; }
for k in 1 2 3; do
  for t in alpha beta; do
    n=$(grep -c "deliver topic $t from .*: missed-$k\$" "$work/b.out" || true)
    [ "$n" -eq 1 ] || { echo "b delivered $t missed-$k $n times"; cat "$work/b.out"; exit 1; }
  done
done
echo "meshkit-node: link down and up in a network namespace; rtnetlink fired, b rejoined and anti-entropy delivered all 6 missed broadcasts once (${took} s after the link came up)"
grep -E '^(network change|rejoin)' "$work/b.out"
