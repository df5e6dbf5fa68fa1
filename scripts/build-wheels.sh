#!/usr/bin/env bash
# Builds every wheel this machine can build, plus the sdist and the package
# pre-commit installs, into OUTDIR; nothing is downloaded.
#
#   scripts/build-wheels.sh OUTDIR
#
# - Linux, this machine's architecture (always): the static release build;
#   refused if it has any dynamic dependency.
# - Linux aarch64, when g++-aarch64-linux-gnu is installed (preset aarch64),
#   run once under qemu-aarch64-static when that is installed.
# - Windows x86-64, when g++-mingw-w64-x86-64-posix is installed (preset
#   windows), run once under Wine when that is installed.
# Each executable is packed by python/backend/pycache_clean_build.py through
# `python3 -m build` (python3-build); the version is CMake's project().
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: scripts/build-wheels.sh OUTDIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" -c "import build" 2>/dev/null || { echo "build-wheels.sh: needs python3-build" >&2; exit 1; }

pack() {  # pack BINARY PLATFORM-TAGS
  (cd "$root/python" && "$py" -m build --no-isolation --wheel --outdir "$out" \
    -C binary="$1" -C plat-name="$2" >/dev/null)
  echo "built: $(cd "$out" && ls -t ./*.whl | head -1 | cut -c3-)"
}

static_only() {  # refuse an executable that needs a shared library
  if readelf -d "$1" 2>/dev/null | grep -q NEEDED; then
    echo "build-wheels.sh: $1 is not static:" >&2
    readelf -d "$1" | grep NEEDED >&2
    exit 1
  fi
}

linux_tags() {  # the platform tags of a static Linux executable for ARCH
  echo "manylinux_2_17_$1.manylinux2014_$1.musllinux_1_1_$1"
}

cd "$root"
cmake --preset release >/dev/null
cmake --build --preset release --target pycache-clean >/dev/null
static_only build/src/pycache-clean
build/src/pycache-clean --version >/dev/null
pack "$root/build/src/pycache-clean" "$(linux_tags "$(uname -m)")"

if command -v aarch64-linux-gnu-g++ >/dev/null && [ "$(uname -m)" != aarch64 ]; then
  cmake --preset aarch64 >/dev/null
  cmake --build --preset aarch64 >/dev/null
  static_only build-aarch64/src/pycache-clean
  if command -v qemu-aarch64-static >/dev/null; then
    qemu-aarch64-static build-aarch64/src/pycache-clean --version >/dev/null
  fi
  pack "$root/build-aarch64/src/pycache-clean" "$(linux_tags aarch64)"
else
  echo "skipped: Linux aarch64 (apt-get install g++-aarch64-linux-gnu)"
fi

if command -v x86_64-w64-mingw32-g++-posix >/dev/null; then
  cmake --preset windows >/dev/null
  cmake --build --preset windows --target pycache-clean >/dev/null
  if command -v wine >/dev/null || command -v wine64 >/dev/null; then
    WINEDEBUG=-all cmake/wine-run.sh build-windows/src/pycache-clean.exe --version >/dev/null
  fi
  pack "$root/build-windows/src/pycache-clean.exe" win_amd64
else
  echo "skipped: Windows (apt-get install g++-mingw-w64-x86-64-posix)"
fi

(cd "$root/python" && "$py" -m build --no-isolation --sdist --outdir "$out" >/dev/null)
echo "built: pycache_clean-$("$py" -c "import sys; sys.path.insert(0, 'python/backend');
import pycache_clean_build as b; print(b.cmake_version('.'))").tar.gz"
"$py" -m build --no-isolation --wheel --outdir "$out" >/dev/null
echo "built: the pre-commit package ($(cd "$out" && ls pycache_clean_pre_commit-*.whl))"
