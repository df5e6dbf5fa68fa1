#!/usr/bin/env bash
# Puts a built pycache-clean where the shell finds it and says where:
# ~/.local/bin (the XDG place pipx also uses), or /usr/local/bin for root;
# $PYCACHE_CLEAN_BINDIR overrides. When that directory is not on PATH, prints
# the exact command that puts it there.
#   scripts/install-local.sh [BINARY]     (default: build/src/pycache-clean)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-$src/build/src/pycache-clean}
if [ ! -x "$binary" ]; then
  echo "install-local.sh: $binary: no such executable (build it first)" >&2
  exit 1
fi
if [ -n "${PYCACHE_CLEAN_BINDIR:-}" ]; then
  bindir=$PYCACHE_CLEAN_BINDIR
elif [ "$(id -u)" -eq 0 ]; then
  bindir=/usr/local/bin
else
  bindir=$HOME/.local/bin
fi
mkdir -p "$bindir"
# Copied to a temporary name and renamed: a running pycache-clean is never
# overwritten in place.
install -m 0755 "$binary" "$bindir/.pycache-clean.new"
mv -f "$bindir/.pycache-clean.new" "$bindir/pycache-clean"
echo "installed $bindir/pycache-clean ($("$bindir/pycache-clean" --version))" >&2
case ":$PATH:" in
  *":$bindir:"*) ;;
  *) echo "$bindir is not on PATH; add it with:" >&2
     echo "  export PATH=\"$bindir:\$PATH\"   # and put that line in ~/.profile" >&2 ;;
esac
