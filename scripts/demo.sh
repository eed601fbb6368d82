#!/usr/bin/env bash
# The main demo: installs what it needs, builds meshkit-sim and runs the
# reference scenario. Extra arguments go to meshkit-sim, e.g. --nodes 5000 --json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
launcher=(); command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$root/build-demo" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
      -DMESHKIT_BUILD_TESTS=OFF -DMESHKIT_BUILD_EXAMPLES=OFF -DMESHKIT_BUILD_BENCH=OFF \
      -DMESHKIT_HEADER_CHECKS=OFF -DMESHKIT_INSTALL=OFF >/dev/null
cmake --build "$root/build-demo" --target meshkit-sim
"$root/build-demo/tools/meshkit-sim" cluster "$@"
