#!/usr/bin/env bash
# One command from a fresh Debian machine to a first sweep: installs the
# packages, builds the static binary, installs it for the user (see
# scripts/install-local.sh: ~/.local/bin, or /usr/local/bin for root) and
# sweeps the directory you run it in.
#   /path/to/pycache-clean/scripts/setup.sh [clean options and PATHs]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/scripts/install-deps.sh"
# The executable only (33 s from scratch on two cores, 2026-12-07); the tests
# and their helpers build under the test preset (`cmake --workflow --preset test`).
echo "building $src/build/src/pycache-clean (about 35 s on two cores)" >&2
start=$SECONDS
(cd "$src" && cmake --preset release >/dev/null &&
  cmake --build --preset release --target pycache-clean)
echo "built in $((SECONDS - start)) s" >&2
"$src/scripts/install-local.sh" "$src/build/src/pycache-clean"
exec "$src/build/src/pycache-clean" clean "$@"
