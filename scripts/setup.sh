#!/usr/bin/env bash
# One command from a fresh Debian machine to a first sweep: installs the
# packages, builds the static binary, installs it for the user (see
# scripts/install-local.sh: ~/.local/bin, or /usr/local/bin for root) and
# sweeps the directory you run it in.
#   /path/to/pycache-clean/scripts/setup.sh [clean options and PATHs]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/scripts/install-deps.sh"
echo "building $src/build/src/pycache-clean (about half a minute)" >&2
(cd "$src" && cmake --preset release >/dev/null && cmake --build --preset release)
"$src/scripts/install-local.sh" "$src/build/src/pycache-clean"
exec "$src/build/src/pycache-clean" clean "$@"
