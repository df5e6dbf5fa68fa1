#!/usr/bin/env bash
# Builds the Debian package into OUTDIR from the `deb` preset: linked against
# Debian's shared libfmt and libspdlog (as Debian packages are), hardened with
# dpkg-buildflags' flags, stripped, its dependencies found by dpkg-shlibdeps.
#   scripts/build-deb.sh OUTDIR [BUILD_DIR]    (BUILD_DIR default: build-deb)
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: scripts/build-deb.sh OUTDIR [BUILD_DIR]" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
build=${2:-$src/build-deb}
cmake -S "$src" --preset deb -B "$build" >/dev/null
cmake --build "$build"
(cd "$build" && cpack -G DEB -B "$out" >/dev/null)
rm -rf "$out/_CPack_Packages"
ls "$out"/pycache-clean_*.deb
