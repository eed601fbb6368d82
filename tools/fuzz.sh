#!/usr/bin/env bash
# Builds the libFuzzer target for the wire decoder with clang and runs it.
#   tools/fuzz.sh [seconds]   (default 60)
# Needs: clang, libclang-rt-14-dev (libFuzzer's runtime), and meshkit's build deps.
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DMESHKIT_BUILD_FUZZERS=ON -DMESHKIT_BUILD_TESTS=OFF -DMESHKIT_BUILD_EXAMPLES=OFF \
      -DMESHKIT_BUILD_TOOLS=OFF -DMESHKIT_BUILD_BENCH=OFF -DMESHKIT_INSTALL=OFF >/dev/null
cmake --build "$build" --target fuzz_wire
mkdir -p "$build/corpus"
# Seeds: valid datagrams (ping, pong, and the fuzz target's rich message with
# every field empty), so mutations start past the magic and version checks.
header() { printf 'MK\x01'; printf "$1"; head -c 32 /dev/zero; printf '\x07\x00\x00\x00\x00\x00\x00\x00\x00'; }
{ header '\x01\x00'; printf '\x2a\x00\x00\x00\x00\x00\x00\x00'; } > "$build/corpus/ping"
{ header '\x02\x00'; printf '\x2a\x00\x00\x00\x00\x00\x00\x00'; } > "$build/corpus/pong"
{ header '\x00\x10'; head -c 22 /dev/zero; } > "$build/corpus/everything"
"$build/tests/fuzz/fuzz_wire" -max_total_time="$seconds" -max_len=1200 -print_final_stats=1 "$build/corpus"
