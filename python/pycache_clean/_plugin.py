"""The pytest plugin: every pytest run takes part in pycache-clean's guard.

In the controlling process only (never in an xdist worker), the plugin starts
`pycache-clean pytest-session`, which takes the pytest marker lock shared as
`pycache-clean test` does (waiting while a fixer holds it) and keeps it until
this process closes its stdin: however the session ends, the lock goes with
it. Every process of the session stops writing bytecode caches; with the ini
option `pycache_clean = stale` (or `all`) the caches are swept before
collection.
"""
import os
import subprocess
import sys

from ._binary import find_binary

_ENV = "PYCACHE_CLEAN_LOCKS"
_EXIT_LOCK_TIMEOUT = 75


def pytest_addoption(parser):
    parser.addini("pycache_clean", "sweep before collection: off, stale (caches check does "
                  "not call ok) or all (every __pycache__)", default="off")
    parser.addini("pycache_clean_wait", "seconds to wait for a fixer that holds the marker "
                  "(-1: for ever)", default="120")


def _is_worker(config):
    return hasattr(config, "workerinput")


def pytest_configure(config):
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # for the session's own children
    if _is_worker(config):
        return
    import pytest
    mode = str(config.getini("pycache_clean")).strip() or "off"
    if mode not in ("off", "stale", "all"):
        raise pytest.UsageError("pycache_clean = %r: expected off, stale or all" % mode)
    try:
        binary = find_binary()
    except FileNotFoundError as e:
        raise pytest.UsageError(str(e))
    wait = str(config.getini("pycache_clean_wait")).strip()
    helper = subprocess.Popen([binary, "pytest-session", "--wait", wait], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
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
    token = line[len("held"):].strip()
    if token:
        os.environ[_ENV] = (os.environ[_ENV] + ";" + token) if os.environ.get(_ENV) else token
    if mode != "off":
        argv = [binary, "clean", "-q"] + (["--stale-only"] if mode == "stale" else [])
        subprocess.run(argv + [str(config.rootpath)], check=False)


def pytest_unconfigure(config):
    helper = getattr(config, "_pycache_clean_helper", None)
    if helper is None:
        return
    config._pycache_clean_helper = None
    helper.stdin.close()  # the marker is released as the helper exits
    helper.wait()
