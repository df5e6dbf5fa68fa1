#!/usr/bin/env bash
# One command from a fresh Debian machine to a first sweep: installs the
# packages, builds the static binary, and sweeps the directory you run it in.
#   /path/to/pycache-clean/scripts/setup.sh [clean options and PATHs]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/scripts/install-deps.sh"
(cd "$src" && cmake --preset release >/dev/null && cmake --build --preset release)
echo "built $src/build/src/pycache-clean" >&2
exec "$src/build/src/pycache-clean" clean "$@"
