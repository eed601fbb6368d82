#!/usr/bin/env bash
# The main demo: installs what it needs, builds meshkit-sim and runs the
# reference scenario (gossip-first NAT traversal, 1,000 nodes). Extra arguments
# go to meshkit-sim, e.g. --nodes 2000 --nat-mix residential --json; a first
# argument that is not a flag names another scenario (cluster, gossip).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
launcher=(); command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$root/build-demo" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
      -DMESHKIT_BUILD_TESTS=OFF -DMESHKIT_BUILD_EXAMPLES=OFF -DMESHKIT_BUILD_BENCH=OFF \
      -DMESHKIT_HEADER_CHECKS=OFF -DMESHKIT_INSTALL=OFF >/dev/null
cmake --build "$root/build-demo" --target meshkit-sim
scenario=gossip-first
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then scenario=$1; shift; fi
"$root/build-demo/tools/meshkit-sim" "$scenario" "$@"
