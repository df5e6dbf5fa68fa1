"""End-to-end tests of the guard: the pytest marker as a reader-writer lock
(test runs shared, fixers run by unless-pytest exclusive), its queue against
starvation, and nested holders that never wait for themselves."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import BIN, base_env, expect, run, wait_for_text

SYS_PATH = "/usr/local/bin:/usr/bin:/bin"


def env(**extra):
    return base_env(**{"PATH": SYS_PATH, **extra})


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def wait_for(path, timeout=30):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.02)


def hold(repo, *argv, name):
    """A pycache-clean command whose child touches NAME.held, then runs until NAME.stop exists."""
    script = f": > {name}.held; while [ ! -e {name}.stop ]; do sleep 0.02; done"
    p = subprocess.Popen([BIN, *argv, "--", "sh", "-c", script], cwd=repo, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(repo / f"{name}.held")
    return p


def test_a_running_fixer_makes_test_wait_then_run(repo):
    fixer = hold(repo, "unless-pytest", name="fixer")
    errfile = repo.parent / "tests.err"
    with open(errfile, "w") as fh:
        tests = subprocess.Popen(
            [BIN, "test", "--no-clean", "--", "sh", "-c", "test ! -e fixer.held && : > tested"],
            cwd=repo, env=env(), stdout=subprocess.DEVNULL, stderr=fh, text=True)
    wait_for_text(errfile, f"[WAIT] waiting for pid {fixer.pid} (sh -c")
    assert tests.poll() is None and not (repo / "tested").exists()
    # The fixer's command ends by removing its mark: the tests start after it.
    (repo / "fixer.stop").touch()
    os.unlink(repo / "fixer.held")
    assert fixer.wait(timeout=30) == 0
    assert tests.wait(timeout=30) == 0, errfile.read_text()
    assert (repo / "tested").exists()


def test_test_gives_up_after_its_wait_naming_the_fixer(repo):
    fixer = hold(repo, "unless-pytest", name="fixer")
    r = expect(run("test", "--no-clean", "--wait", "1", "--", "touch", "tested", cwd=repo,
                   env=env()), rc=75, err_has=f"waiting for pid {fixer.pid}")
    assert "tests not run" in r.err
    assert not (repo / "tested").exists()
    (repo / "fixer.stop").touch()
    assert fixer.wait(timeout=30) == 0


def test_running_tests_make_unless_pytest_skip_or_wait(repo):
    """A test run marked only by the lock (its process is `sh`, nothing like pytest)."""
    tests = hold(repo, "test", "--no-clean", name="tests")
    r = expect(run("unless-pytest", "--", "touch", "fixed", cwd=repo, env=env()), rc=0)
    assert r.out.startswith("[SKIP] pytest is running") and "not running touch fixed" in r.out
    expect(run("unless-pytest", "--skip-exit-code", "3", "--", "touch", "fixed", cwd=repo,
               env=env()), rc=3, out_has="[SKIP]")
    expect(run("unless-pytest", "-q", "--skip-exit-code", "1", "--", "touch", "fixed", cwd=repo,
               env=env()), rc=1, out="")
    assert not (repo / "fixed").exists()
    errfile = repo.parent / "waiting.err"
    with open(errfile, "w") as fh:
        waiting = subprocess.Popen([BIN, "unless-pytest", "--wait", "30", "--", "touch", "fixed"],
                                   cwd=repo, env=env(), stderr=fh, text=True)
    wait_for_text(errfile, "[WAIT]")
    assert waiting.poll() is None and not (repo / "fixed").exists()
    (repo / "tests.stop").touch()
    assert tests.wait(timeout=30) == 0
    assert waiting.wait(timeout=30) == 0
    assert (repo / "fixed").exists()


def test_pytest_running_tells_a_fixer_from_a_test_run(repo):
    fixer = hold(repo, "unless-pytest", name="fixer")
    expect(run("pytest-running", cwd=repo, env=env()), rc=1)  # a fixer holds it: no tests
    (repo / "fixer.stop").touch()
    fixer.wait(timeout=30)
    tests = hold(repo, "test", "--no-clean", name="tests")
    expect(run("pytest-running", cwd=repo, env=env()), rc=0, err_has="marker")
    (repo / "tests.stop").touch()
    tests.wait(timeout=30)


def test_nested_use_runs_at_once(repo):
    inner = [BIN, "lock", "--wait", "2", "--", "echo", "inner"]
    r = expect(run("lock", "--wait", "2", "--", *inner, cwd=repo, env=env()), rc=0)
    assert r.out == "inner\n"
    expect(run("lock", "--", BIN, "lock", "-v", "--", "true", cwd=repo, env=env()), rc=0,
           err_has="is held by ancestor pid")
    # unless-pytest inside unless-pytest, and a test run started by a fixer's command.
    expect(run("unless-pytest", "--", BIN, "unless-pytest", "--", "echo", "fixed", cwd=repo,
               env=env()), out="fixed\n")
    expect(run("unless-pytest", "--", BIN, "test", "--no-clean", "--wait", "2", "--", "echo",
               "tested", cwd=repo, env=env()), out="tested\n")
    # A test run inside a test run.
    expect(run("test", "--no-clean", "--", BIN, "test", "--no-clean", "--wait", "2", "--",
               "echo", "tested", cwd=repo, env=env()), out="tested\n")
    # A fixer started by a test run is skipped at once, even asked to wait:
    # the run it would wait for is its own ancestor.
    start = time.monotonic()
    r = expect(run("test", "--no-clean", "--", BIN, "unless-pytest", "--wait", "60", "--", "touch",
                   "fixed", cwd=repo, env=env()), rc=0, out_has="[SKIP] pytest is running")
    assert time.monotonic() - start < 30
    assert not (repo / "fixed").exists()


def test_a_forged_or_stale_token_is_worth_nothing(repo):
    """$PYCACHE_CLEAN_LOCKS copied into an unrelated process: its holder is
    alive and holds the lock, but is not that process's ancestor."""
    holder = hold(repo, "lock", name="holder")
    token = subprocess.run(
        ["sh", "-c", f"cat /proc/$(pgrep -P {holder.pid} -x sh)/environ | tr '\\0' '\\n'"],
        capture_output=True, text=True).stdout
    value = [line.split("=", 1)[1] for line in token.splitlines()
             if line.startswith("PYCACHE_CLEAN_LOCKS=")]
    assert len(value) == 1 and f":x:{holder.pid}:" in value[0], token
    r = expect(run("lock", "--wait", "0.5", "--", "touch", "ran", cwd=repo,
                   env=env(PYCACHE_CLEAN_LOCKS=value[0])), rc=75)
    assert "gave up" in r.err and not (repo / "ran").exists()
    (repo / "holder.stop").touch()
    assert holder.wait(timeout=30) == 0
    # The holder is gone: its token is stale, the lock is simply free.
    expect(run("lock", "--wait", "0", "--", "touch", "ran", cwd=repo,
               env=env(PYCACHE_CLEAN_LOCKS=value[0])), rc=0)
    assert (repo / "ran").exists()


def stream(repo, argv, seconds, gap):
    """Starts `argv` every `gap` seconds for `seconds`, overlapping; returns the processes."""
    procs, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        procs.append(subprocess.Popen(argv, cwd=repo, env=env(), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        time.sleep(gap)
    return procs


@pytest.mark.parametrize("waiter, streamer", [
    (["unless-pytest", "--wait", "60", "--", "touch", "done"],
     ["test", "--no-clean", "--wait", "60", "--", "sleep", "0.6"]),
    (["test", "--no-clean", "--wait", "60", "--", "touch", "done"],
     ["unless-pytest", "--wait", "60", "--", "sleep", "0.3"]),
], ids=["fixer-among-test-runs", "test-run-among-fixers"])
def test_neither_side_starves(repo, waiter, streamer):
    """A steady, overlapping stream of one kind; one of the other kind queued
    behind it runs while the stream still flows (flock(2) alone lets new
    readers overtake a waiting writer for as long as readers keep coming)."""
    import threading
    result = {}

    def flow():
        result["procs"] = stream(repo, [BIN, *streamer], seconds=20, gap=0.2)

    t = threading.Thread(target=flow)
    t.start()
    time.sleep(1.5)
    start = time.monotonic()
    p = subprocess.run([BIN, *waiter], cwd=repo, env=env(), capture_output=True, text=True,
                       timeout=90)
    took = time.monotonic() - start
    still_flowing = t.is_alive()
    t.join()
    for q in result["procs"]:
        q.wait(timeout=90)
    assert p.returncode == 0, p.stderr
    assert (repo / "done").exists()
    assert still_flowing, f"waited {took:.1f}s: until the stream ended"


# --- The pytest plugin -------------------------------------------------------

PY = "/usr/bin/python3"
PLUGIN_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "python")


def has_module(name):
    return subprocess.run([PY, "-c", f"import {name}"], capture_output=True).returncode == 0


needs_pytest = pytest.mark.skipif(not has_module("pytest"), reason="needs Debian's python3-pytest")


def plugin_env(**extra):
    """The built binary on PATH, the plugin's directory on PYTHONPATH."""
    return env(**{"PATH": os.path.dirname(BIN) + ":" + SYS_PATH,
                  "PYTHONPATH": os.path.abspath(PLUGIN_DIR), "PYCACHE_CLEAN_BINARY": BIN,
                  **extra})


SLOW = '''import os, sys, time

def test_slow():
    assert sys.dont_write_bytecode
    open("started", "a").close()
    deadline = time.time() + 60
    while not os.path.exists("stop"):
        assert time.time() < deadline
        time.sleep(0.02)
'''


def session(repo, code, **kw):
    """A pytest session started as `python -c CODE` (nothing like a pytest command line)."""
    return subprocess.Popen([PY, "-c", code], cwd=repo, env=plugin_env(**kw),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@needs_pytest
def test_plugin_marks_a_pytest_main_run(repo):
    (repo / "test_slow.py").write_text(SLOW)
    p = session(repo, "import pytest; raise SystemExit(pytest.main("
                      "['-q', '-p', 'pycache_clean', '-p', 'no:cacheprovider']))")
    wait_for(repo / "started")
    expect(run("pytest-running", "--json", cwd=repo, env=env()), rc=0, out_has='"marker"')
    r = expect(run("unless-pytest", "--", "touch", "fixed", cwd=repo, env=env()), rc=0)
    assert "[SKIP]" in r.out and not (repo / "fixed").exists()
    (repo / "stop").touch()
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, out
    expect(run("pytest-running", cwd=repo, env=env()), rc=1)
    assert not list(repo.rglob("__pycache__")), list(repo.rglob("__pycache__"))


@needs_pytest
def test_plugin_in_an_xdist_run_holds_once_in_the_controller(repo):
    if not has_module("xdist"):
        pytest.skip("needs Debian's python3-pytest-xdist")
    (repo / "test_slow.py").write_text(SLOW)
    (repo / "test_more.py").write_text("import sys\n\ndef test_more():\n"
                                       "    assert sys.dont_write_bytecode\n")
    p = session(repo, "import pytest; raise SystemExit(pytest.main("
                      "['-q', '-n', '2', '-p', 'pycache_clean', '-p', 'no:cacheprovider']))")
    wait_for(repo / "started")
    helpers = [pid for pid in subprocess.run(["pgrep", "-f", "pycache-clean pytest-session"],
                                             capture_output=True, text=True).stdout.split()
               if os.path.realpath(f"/proc/{pid}/cwd") == os.path.realpath(repo)]
    assert len(helpers) == 1, helpers  # the controller's; none per worker
    expect(run("pytest-running", cwd=repo, env=env()), rc=0)
    (repo / "stop").touch()
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 0 and "2 passed" in out, out
    assert not list(repo.rglob("__pycache__"))


@needs_pytest
def test_plugin_session_waits_for_a_running_fixer(repo):
    (repo / "test_ok.py").write_text("import os\n\ndef test_ok():\n"
                                     "    assert not os.path.exists('fixer.held')\n")
    fixer = hold(repo, "unless-pytest", name="fixer")
    code = ("import pytest; raise SystemExit(pytest.main(['-q', '-p', 'pycache_clean', "
            "'-p', 'no:cacheprovider']))")
    outfile = repo.parent / "session.out"
    with open(outfile, "w") as fh:
        p = subprocess.Popen([PY, "-c", code], cwd=repo, env=plugin_env(), stdout=fh,
                             stderr=subprocess.STDOUT, text=True)
    wait_for_text(outfile, f"[WAIT] waiting for pid {fixer.pid}")
    assert p.poll() is None  # waiting for the fixer
    (repo / "fixer.stop").touch()
    os.unlink(repo / "fixer.held")
    assert p.wait(timeout=60) == 0, outfile.read_text()
    assert "1 passed" in outfile.read_text()
    fixer.wait(timeout=30)
    # A fixer that outlasts pycache_clean_wait: the session stops, naming it.
    fixer = hold(repo, "unless-pytest", name="again")
    (repo / "pytest.ini").write_text("[pytest]\npycache_clean_wait = 1\n")
    out = subprocess.run([PY, "-c", code], cwd=repo, env=plugin_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    assert f"waiting for pid {fixer.pid}" in out.stderr + out.stdout
    assert "marker was not taken" in out.stderr + out.stdout
    (repo / "again.stop").touch()
    fixer.wait(timeout=30)


def cache_then_rewrite_keeping_size_and_mtime(repo, value):
    """Caches mod.py, then rewrites it to X = `value` (the same size) with its
    old mtime, so that CPython trusts the cache; test_mod.py expects `value`."""
    subprocess.run([PY, "-c", "import mod"], cwd=repo, env=env(PYTHONDONTWRITEBYTECODE=None),
                   check=True)
    st = os.stat(repo / "mod.py")
    time.sleep(0.01)
    (repo / "mod.py").write_text(f"X = {value!r}\n")
    os.utime(repo / "mod.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    (repo / "test_mod.py").write_text(
        f"import mod\n\ndef test_new():\n    assert mod.X == {value!r}\n")


@needs_pytest
def test_plugin_sweeps_stale_caches_before_collection(repo):
    """A cache that lies (its source rewritten keeping size and mtime) is
    gone before the tests import the module, so they run the code on disk:
    by default (the caches whose source changed after they were written)
    and with ini `pycache_clean = stale`. Plain pytest runs the old code."""
    (repo / "mod.py").write_text("X = 'old'\n")
    cache_then_rewrite_keeping_size_and_mtime(repo, "new")
    control = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    r = subprocess.run(control, cwd=repo, env=plugin_env(), capture_output=True, text=True)
    assert r.returncode == 1, r.stdout  # without the plugin the stale cache runs
    argv = [PY, "-m", "pytest", "-q", "-p", "pycache_clean", "-p", "no:cacheprovider"]
    r = subprocess.run(argv, cwd=repo, env=plugin_env(), capture_output=True, text=True)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr
    cache_then_rewrite_keeping_size_and_mtime(repo, "NEW")
    (repo / "pytest.ini").write_text("[pytest]\npycache_clean = stale\n")
    r = subprocess.run(argv, cwd=repo, env=plugin_env(), capture_output=True, text=True)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr
    (repo / "pytest.ini").write_text("[pytest]\npycache_clean = sometimes\n")
    r = subprocess.run(argv, cwd=repo, env=plugin_env(), capture_output=True, text=True)
    assert r.returncode != 0 and "expected off, stale or all" in r.stderr, r.stderr


@needs_pytest
def test_plugin_goes_on_unguarded_where_the_marker_cannot_be_used(repo):
    """A marker that cannot be opened (here a directory) is no reason to fail
    every pytest run: the run goes on, saying it is not guarded."""
    (repo / ".git/pycache-clean-pytest.lock").mkdir()
    (repo / "test_ok.py").write_text("def test_ok():\n    pass\n")
    r = subprocess.run([PY, "-m", "pytest", "-q", "-p", "pycache_clean", "-p", "no:cacheprovider"],
                       cwd=repo, env=plugin_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr
    assert "is a directory" in r.stderr and "not guarded" in r.stderr, r.stderr


@needs_pytest
def test_plugin_without_the_binary_says_so(repo, tmp_path):
    """An interpreter whose scripts directories, and a PATH, hold no
    pycache-clean: a venv (Debian's own python3 would find the one
    scripts/setup.sh puts in /usr/local/bin, as it should) and a bare HOME."""
    venv = tmp_path / "venv"
    subprocess.run([PY, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True)
    (repo / "test_ok.py").write_text("def test_ok():\n    pass\n")
    r = subprocess.run([venv / "bin/python3", "-m", "pytest", "-q", "-p", "pycache_clean"],
                       cwd=repo, env=plugin_env(PATH=str(venv / "bin"), HOME=str(tmp_path),
                                                PYCACHE_CLEAN_BINARY=None),
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "pycache-clean: the executable was not found" in r.stderr, r.stderr


@needs_pytest
def test_fixer_started_inside_a_plugin_session_skips_at_once(repo):
    (repo / "test_fix.py").write_text(
        "import subprocess, time\n\ndef test_fix():\n    start = time.time()\n"
        "    r = subprocess.run(['pycache-clean', 'unless-pytest', '--wait', '60', '--', 'touch',"
        " 'fixed'], capture_output=True, text=True)\n"
        "    assert r.returncode == 0 and '[SKIP]' in r.stdout, r\n"
        "    assert time.time() - start < 30\n")
    r = subprocess.run([PY, "-m", "pytest", "-q", "-p", "pycache_clean", "-p", "no:cacheprovider"],
                       cwd=repo, env=plugin_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (repo / "fixed").exists()


# --- The race, short --------------------------------------------------------

@needs_pytest
def test_race_with_the_guard_has_no_wrong_import_and_both_sides_progress():
    """bench/race/race.py for 12 s in guard mode: real black and a rollback
    fixer through unless-pytest against test runs through `test` and the
    plugin. No test run may see code other than the file's, no cache may lie,
    and neither side may starve."""
    if not shutil.which("black", path=SYS_PATH):
        pytest.skip("needs black (apt-get install black)")
    race = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "race", "race.py")
    r = subprocess.run([PY, race, "--seconds", "12", "--mode", "guard", "--json", BIN],
                       env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    counts = json.loads(r.stdout)
    assert counts["wrong imports"] == 0, counts
    assert counts["suspect caches"] == 0, counts
    assert counts["test runs"] >= 3 and counts["fixes"] >= 3, counts
