#!/usr/bin/env bash
# Installs the Debian 12 packages meshkit builds, tests and benchmarks with.
# docs/dependencies.md says why each is needed.
set -euo pipefail
packages=(
  g++ cmake ninja-build ccache
  libasio-dev libboost1.81-dev libcereal-dev libsodium-dev libsqlite3-dev
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev
  iproute2 nftables python3 python3-dissononce
)
run_as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "meshkit: installing ${missing[*]}"
  run_as_root apt-get update -qq
  run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
