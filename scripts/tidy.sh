#!/usr/bin/env bash
# clang-tidy-14 (.clang-tidy: short functions, bugprone and performance
# checks, warnings as errors) on every POSIX source of the tool; exits non-zero
# on any finding. Uses its own compile database in build-tidy/.
#   scripts/tidy.sh
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
cmake -S . -B build-tidy -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DCMAKE_UNITY_BUILD=OFF -DPYCACHE_CLEAN_CLI_UNITY=OFF -DPYCACHE_CLEAN_TESTS=OFF >/dev/null
files=$(ls src/*/*.cpp src/platform/posix/*.cpp)
# run-clang-tidy passes over a file the compile database lacks without a word.
for f in $files; do
  if ! grep -q "\"file\": \"$src/$f\"" build-tidy/compile_commands.json; then
    echo "tidy.sh: $f is not in build-tidy/compile_commands.json (a unity build?)" >&2
    exit 1
  fi
done
log=build-tidy/clang-tidy.log
# shellcheck disable=SC2086  # one argument per file
if ! run-clang-tidy-14 -quiet -p build-tidy -j "$(nproc)" $files >"$log" 2>&1 ||
   grep -qE "(warning|error): " "$log"; then
  grep -E -A3 "(warning|error): " "$log" >&2 || cat "$log" >&2
  echo "tidy.sh: clang-tidy found the above (whole output: $log)" >&2
  exit 1
fi
echo "tidy.sh: clean ($(echo "$files" | wc -l) files)"
