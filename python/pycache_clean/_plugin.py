"""The pytest plugin: every pytest run takes part in pycache-clean's guard.

In the controlling process only (never in an xdist worker), the plugin starts
`pycache-clean pytest-session`, which takes the pytest marker lock shared as
`pycache-clean test` does (waiting while a fixer holds it) and keeps it until
this process closes its stdin: however the session ends, the lock goes with
it. Before collection the caches whose source changed after they were
written are dropped; with the ini option `pycache_clean = stale` (or `all`)
the caches are swept instead.

Caches are written as usual, so the next run imports at full speed. What a
guard cannot stop is a writer it does not know of (an editor's save) changing
a source while the session imports it; the cache written then would outlive
the session. So when the session ends, still holding the marker, the caches
written since it started whose source changed after they were written are
dropped (`clean --stale-only --verify none --written-since START`: one stat a
cache), and a line says how many. `pycache_clean_no_bytecode = true` brings
back the older protection, no cache written at all, at the cost of compiling
every module on every run.
"""
import json
import os
import subprocess
import sys
import time

from ._binary import find_binary

_ENV = "PYCACHE_CLEAN_LOCKS"
_EXIT_LOCK_TIMEOUT = 75


def pytest_addoption(parser):
    parser.addini("pycache_clean", "sweep before collection: off, stale (caches check does "
                  "not call ok) or all (every __pycache__); default: pytest-clean in "
                  "[tool.pycache-clean], else off", default="")
    parser.addini("pycache_clean_wait", "seconds to wait for a fixer that holds the marker "
                  "(-1: for ever); default: wait in [tool.pycache-clean], else 120", default="")
    parser.addini("pycache_clean_no_bytecode", "write no bytecode caches during the session "
                  "(every run then compiles every module it imports)", type="bool",
                  default=False)


def _is_worker(config):
    return hasattr(config, "workerinput")


def pytest_configure(config):
    if config.getini("pycache_clean_no_bytecode"):
        sys.dont_write_bytecode = True
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # for the session's own children
    if _is_worker(config):
        return
    import pytest
    try:
        binary = find_binary()
    except FileNotFoundError as e:
        raise pytest.UsageError(str(e))
    mode = str(config.getini("pycache_clean")).strip()
    if not mode:  # the project's settings file, read by the binary itself
        r = subprocess.run([binary, "config", "--get", "pytest-clean"], stdout=subprocess.PIPE,
                           check=False)
        if r.returncode != 0:  # a bad settings file: its error is on stderr
            raise pytest.UsageError("pycache-clean: the settings file cannot be used")
        mode = r.stdout.decode("utf-8", "replace").strip()
    if mode not in ("off", "stale", "all"):
        raise pytest.UsageError("pycache_clean = %r: expected off, stale or all" % mode)
    wait = str(config.getini("pycache_clean_wait")).strip()
    helper = subprocess.Popen([binary, "pytest-session"] + (["--wait", wait] if wait else []),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = helper.stdout.readline().decode("utf-8", "replace").strip()
    if not line.startswith("held"):
        status = helper.wait()
        if status == _EXIT_LOCK_TIMEOUT:  # a fixer is still rewriting files: do not import them
            raise pytest.UsageError("pycache-clean: the pytest marker was not taken (exit status "
                                    "%d): a fixer holds it" % status)
        # The marker cannot be used here at all (its error is on stderr): the
        # run goes on, unguarded, rather than failing every pytest run.
        sys.stderr.write("pycache-clean: this pytest run is not guarded (pytest-session "
                         "exit status %d)\n" % status)
        return
    config._pycache_clean_helper = helper
    config._pycache_clean_binary = binary
    # Two seconds of slack for file systems with whole-second times.
    config._pycache_clean_start = time.time() - 2
    token = line[len("held"):].strip()
    if token:
        os.environ[_ENV] = (os.environ[_ENV] + ";" + token) if os.environ.get(_ENV) else token
    # Before collection: with `stale` or `all`, the sweep asked for; otherwise
    # the caches whose source changed after they were written (one stat a
    # cache): a guarded fixer may have rewritten a module keeping its size
    # and its second, which CPython cannot tell from the cached one.
    sweep = {"off": ["--stale-only", "--verify", "none"], "stale": ["--stale-only"], "all": []}
    subprocess.run([binary, "clean", "-q"] + sweep[mode] + [str(config.rootpath)], check=False)


def _drop_what_the_session_outdated(config):
    """Drops the caches written since the session started whose source
    changed after they were written; says how many, when any."""
    if config.getini("pycache_clean_no_bytecode"):
        return
    argv = [config._pycache_clean_binary, "clean", "--stale-only", "--verify", "none",
            "--written-since", "%.3f" % config._pycache_clean_start, "--json",
            str(config.rootpath)]
    r = subprocess.run(argv, stdout=subprocess.PIPE, check=False)
    try:
        dropped = json.loads(r.stdout)["removed"]
    except (ValueError, KeyError):
        return  # its error is on stderr
    if dropped:
        sys.stderr.write("pycache-clean: dropped %d %s this session wrote whose source changed "
                         "meanwhile\n" % (dropped, "cache" if dropped == 1 else "caches"))


def pytest_unconfigure(config):
    helper = getattr(config, "_pycache_clean_helper", None)
    if helper is None:
        return
    config._pycache_clean_helper = None
    try:
        _drop_what_the_session_outdated(config)  # the marker still held: no fixer meanwhile
    finally:
        helper.stdin.close()  # the marker is released as the helper exits
        helper.wait()
