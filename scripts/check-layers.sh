#!/usr/bin/env bash
# Shows that the build enforces the layers (src/CMakeLists.txt): in a copy of
# the tree, each library first builds as it is, then an #include of a folder
# it may not use is planted in one of its files, and that file must fail to
# compile, naming the header. Also refuses includes that climb out of their
# folder ("../x.hpp"), which no include root can stop.
#   scripts/check-layers.sh [WORK_DIR]     (exit 0: every planted include failed)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
trap '[ -z "${1:-}" ] && rm -rf "$work"' EXIT

if grep -rnE '#include +"\.\./|#include +<pycache_clean/' "$src/src" "$src/tests" --include='*.[ch]pp'; then
  echo "check-layers: the includes above bypass the layers: include by folder, \"sweep/walker.hpp\"" >&2
  exit 1
fi

# FOLDER FILE HEADER: FILE (in FOLDER) may not include HEADER.
plants=(
  "guard guard/lock.cpp sweep/walker.hpp"
  "guard guard/pytest_probe.cpp check/stale_check.hpp"
  "sweep sweep/walker.cpp check/stale_check.hpp"
  "sweep sweep/remove.cpp guard/lock.hpp"
  "check check/stale_check.cpp report/report_json.hpp"
  "pyc pyc/pyc.cpp fs/fs_ops.hpp"
  "platform platform/terminal.cpp sweep/walker.hpp"
  "fs fs/fs_ops.cpp platform/process.hpp"
  "util util/json.cpp fs/fs_ops.hpp"
  "config config/config.cpp platform/process.hpp"
  "report report/report_json.cpp guard/lock.hpp"
)

mkdir -p "$work/tree"
tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$work/tree" -xf -
cmake -S "$work/tree" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O0 \
  -DPYCACHE_CLEAN_TESTS=OFF >/dev/null
targets=$(printf 'pycache_clean_%s\n' util fs platform pyc sweep check guard report config)
# shellcheck disable=SC2086  # one argument per target
cmake --build "$work/build" --target $targets >/dev/null
echo "check-layers: every library builds as it is"

failed=0
for plant in "${plants[@]}"; do
  read -r folder file header <<<"$plant"
  target=$work/tree/src/$file
  cp "$target" "$target.orig"
  printf '#include "%s"\n' "$header" >>"$target"
  if out=$(cmake --build "$work/build" --target "pycache_clean_$folder" 2>&1); then
    echo "check-layers: $folder may not include $header, yet $file built with it" >&2
    failed=1
  elif grep -q "$header: No such file" <<<"$out"; then
    echo "check-layers: $folder cannot include $header (the build refused it)"
  else
    echo "check-layers: $file failed to build for another reason:" >&2
    echo "$out" | tail -20 >&2
    failed=1
  fi
  mv "$target.orig" "$target"
done
exit $failed
