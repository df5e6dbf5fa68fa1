#!/bin/sh
# Runs a Windows program under Wine for the tests: a private, quiet prefix and
# a persistent wineserver, so that only the first call pays Wine's start-up.
set -e
: "${WINEPREFIX:=${TMPDIR:-/tmp}/pycache-clean-wine-$(id -u)}"
: "${WINEDEBUG:=-all}"
# No .NET (Mono) or HTML (Gecko) engines: nothing here needs them, and a new
# prefix would otherwise look for their installers.
: "${WINEDLLOVERRIDES:=mscoree,mshtml=}"
export WINEPREFIX WINEDEBUG WINEDLLOVERRIDES
wine=$(command -v wine64 || true)
[ -n "$wine" ] || wine=/usr/lib/wine/wine64
server=$(command -v wineserver || true)
[ -n "$server" ] || server=/usr/lib/wine/wineserver
mkdir -p "$WINEPREFIX"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  # First use: create the prefix once (about 10 s), serialized between callers,
  # so that no test sees Wine's "configuration has been updated" chatter.
  flock "$WINEPREFIX" sh -c '[ -f "$1/system.reg" ] || "$2" wineboot -i >/dev/null 2>&1' \
    sh "$WINEPREFIX" "$wine"
fi
"$server" -p 2>/dev/null || true
exec "$wine" "$@"
