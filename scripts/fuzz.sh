#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECS seconds
# (default 60) on its seed corpus; a crash fails the script and leaves the
# input that caused it in build-fuzz/.
#   scripts/fuzz.sh [SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
cxx=$(command -v clang++-14 || command -v clang++)
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DPYCACHE_CLEAN_FUZZ=ON >/dev/null
cmake --build build-fuzz --target fuzz_pyc fuzz_marshal fuzz_holder_record fuzz_quote
for name in pyc marshal holder_record quote; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/$name/* "$work"/
  echo "fuzz_$name: ${secs}s" >&2
  (cd build-fuzz && ./tests/fuzz/fuzz_$name -max_total_time="$secs" -print_final_stats=0 \
     "$work" 2>&1 | tail -n 2)
  rm -rf "$work"
done
