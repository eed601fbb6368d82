#!/usr/bin/env bash
# The whole test suite: installs what it needs, then
#   1. builds everything (tests, header checks, examples, tools, benchmarks)
#      and runs every ctest test, including compile-fail and package tests;
#   2. rebuilds the tests and examples under AddressSanitizer and
#      UndefinedBehaviorSanitizer and runs them again;
#   3. fuzzes the wire decoder for MESHKIT_FUZZ_SECONDS (default 30).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
jobs=$(nproc)
launcher=(); command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

echo "== meshkit: full build and test suite"
# -g1 keeps line tables for backtraces at two thirds of full debug info's
# compile time; the suite is template-heavy and the machine has two cores.
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
      -DMESHKIT_BUILD_TESTS=ON -DMESHKIT_BUILD_EXAMPLES=ON -DMESHKIT_BUILD_TOOLS=ON -DMESHKIT_BUILD_BENCH=ON \
      -DMESHKIT_HEADER_CHECKS=ON -DMESHKIT_PACKAGE_TESTS=ON -DMESHKIT_INSTALL=ON -DMESHKIT_WERROR=ON
cmake --build "$root/build" -j "$jobs"
ctest --test-dir "$root/build" --output-on-failure -j "$jobs"

echo "== meshkit: tests again under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug "${launcher[@]}" \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DMESHKIT_SANITIZE=address,undefined \
      -DMESHKIT_BUILD_TESTS=ON -DMESHKIT_BUILD_EXAMPLES=ON -DMESHKIT_BUILD_TOOLS=OFF -DMESHKIT_BUILD_BENCH=OFF \
      -DMESHKIT_HEADER_CHECKS=OFF -DMESHKIT_PACKAGE_TESTS=OFF -DMESHKIT_INSTALL=OFF
cmake --build "$root/build-asan" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j "$jobs" -L 'unit|example'

echo "== meshkit: fuzzing the wire decoder for ${MESHKIT_FUZZ_SECONDS:-30} s"
log="$root/build-fuzz.log"
if ! "$root/tools/fuzz.sh" "${MESHKIT_FUZZ_SECONDS:-30}" > "$log" 2>&1; then
  tail -n 60 "$log"
  echo "meshkit: the wire fuzzer found a failing input (see above)"
  exit 1
fi
grep -E 'DONE|^Done' "$log"
