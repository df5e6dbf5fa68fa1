#!/bin/sh
# Runs a Windows program under Wine for the tests: a private, quiet prefix and
# a persistent session, so that only the first call pays Wine's start-up.
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

# Whether this prefix's Wine session (its services.exe) is up.
session_up() {
  for pid in $(pgrep -f 'system32.services\.exe' || true); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "WINEPREFIX=$WINEPREFIX" && return 0
  done
  return 1
}

# Start the session detached from our standard streams: the persistent
# wineserver and Wine's background services live on after this call, and if
# they inherited a test's output pipe, whoever reads it (CTest) would wait for
# them forever. The first call also creates the prefix (about 10 s), which
# keeps Wine's "configuration has been updated" chatter out of every test.
if ! session_up; then
  (
    flock 9
    if ! session_up; then
      if [ ! -f "$WINEPREFIX/system.reg" ]; then
        "$wine" wineboot -i 9>&-
        "$server" -w 9>&-  # let the set-up's server finish before the lasting one starts
      fi
      "$server" -p 9>&-
      "$wine" wineboot 9>&-
    fi
  ) 9>"$WINEPREFIX/.session-lock" </dev/null >/dev/null 2>&1 || true
  # A session that failed to come up here (racing another caller's start or a
  # server on its way out) is no reason to fail the program: wine starts one.
fi
exec "$wine" "$@"
