"""End-to-end tests of pytest-running, unless-pytest and test with a real pytest."""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, base_env, expect, run, wait_for_text

PY = "/usr/bin/python3"
SYS_PATH = "/usr/local/bin:/usr/bin:/bin"


def _has_pytest():
    return os.access(PY, os.X_OK) and subprocess.run(
        [PY, "-c", "import pytest"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _has_pytest(), reason="needs Debian's python3-pytest")


def env(**extra):
    return base_env(PATH=SYS_PATH, **extra)


PLUGIN_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "python")


def plugin_env(**extra):
    """The built binary on PATH, the plugin's directory on PYTHONPATH."""
    return base_env(**{"PATH": os.path.dirname(BIN) + ":" + SYS_PATH,
                       "PYTHONPATH": os.path.abspath(PLUGIN_DIR), "PYCACHE_CLEAN_BINARY": BIN,
                       **extra})


SLOW_SUITE = '''
import os, time

def test_slow():
    open(os.path.join(os.path.dirname(__file__), "started"), "a").close()
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(os.path.dirname(__file__), "stop")):
        assert time.time() < deadline
        time.sleep(0.05)
'''


def make_repo(path, suite=SLOW_SUITE):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "test_slow.py").write_text(suite)
    return path


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


class Background:
    """A test run started in the background and stopped through the `stop` file."""

    def __init__(self, argv, cwd, wait_started=True):
        self.cwd = cwd
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if wait_started:
            end = time.monotonic() + 60
            while not (cwd / "started").exists():
                assert self.proc.poll() is None, self.proc.stdout.read()
                assert time.monotonic() < end, "the test run never started"
                time.sleep(0.05)

    def stop(self):
        (self.cwd / "stop").touch()
        rc = self.proc.wait(timeout=60)
        for f in ("started", "stop"):
            try:
                (self.cwd / f).unlink()
            except FileNotFoundError:
                pass
        return rc

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def background():
    runs = []

    def start(argv, cwd):
        b = Background(argv, cwd)
        runs.append(b)
        return b
    yield start
    for b in runs:
        b.kill()


def probe(cwd, *args):
    return run("pytest-running", *args, cwd=cwd, env=env())


@pytest.mark.parametrize("argv", [["/usr/bin/pytest", "-q", "-p", "no:cacheprovider"],
                                  [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"]],
                         ids=["pytest", "python-m-pytest"])
def test_running_then_not(repo, background, argv):
    expect(probe(repo), rc=1, err_has="no pytest run in progress")
    b = background(argv, repo)
    expect(probe(repo), rc=0, err_has=[f"pid {b.proc.pid}", "pytest is running (process)"])
    doc = json.loads(expect(probe(repo / ".", "--json")).out)
    assert doc["running"] and doc["runs"][0]["pid"] == b.proc.pid
    expect(probe(repo, "-q"), rc=0)
    assert b.stop() == 0
    expect(probe(repo), rc=1)


def test_through_pycache_clean_test(repo, background):
    b = background([BIN, "test", "--", PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"], repo)
    r = expect(probe(repo, "--json"))
    doc = json.loads(r.out)
    assert doc["evidence"] == "marker"
    assert any("pytest" in x["command"] for x in doc["runs"])
    assert b.stop() == 0
    expect(probe(repo), rc=1)


def test_xdist_workers(repo, background):
    if subprocess.run([PY, "-c", "import xdist"], capture_output=True).returncode != 0:
        pytest.skip("needs python3-pytest-xdist")
    b = background([PY, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider"], repo)
    deadline = time.monotonic() + 30
    while True:  # until the workers have started (or the deadline passed)
        doc = json.loads(expect(probe(repo, "--json")).out)
        pids = [x["pid"] for x in doc["runs"]]
        if len(pids) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert b.proc.pid in pids
    assert len(pids) >= 3, doc  # the controller and its two workers
    b.stop()
    expect(probe(repo), rc=1)


def test_no_false_positives(repo, tmp_path, background):
    decoys = [
        subprocess.Popen(["bash", "-c", "sleep 30; echo pytest; pytest --version"], cwd=repo),
        subprocess.Popen(["bash", "-c", 'exec -a "sleep pytest" sleep 30'], cwd=repo),
        subprocess.Popen(["bash", "-c", "exec -a test_pytest.py sleep 30"], cwd=repo),
        subprocess.Popen([PY, "-c", "import time; time.sleep(30)", "-m", "pytest"], cwd=repo),
    ]
    try:
        # Each decoy as the scan will see it: the shells that exec have done so.
        deadline = time.monotonic() + 10
        for d in decoys[1:3]:
            while Path(f"/proc/{d.pid}/cmdline").read_bytes().startswith(b"bash") and \
                    time.monotonic() < deadline:
                time.sleep(0.01)
            assert not Path(f"/proc/{d.pid}/cmdline").read_bytes().startswith(b"bash")
        expect(probe(repo), rc=1)
        # Other pytest runs of this user (this very suite) may exist: under
        # --scope user only the decoys must not be among the runs found.
        doc = json.loads(run("pytest-running", "--scope", "user", "--json", cwd=repo,
                             env=env()).out)
        found = {x["pid"] for x in doc["runs"]}
        assert not found & {d.pid for d in decoys}, doc
        # A real run in another repository counts only beyond --scope repo.
        other = make_repo(tmp_path / "other")
        b = background(["/usr/bin/pytest", "-q", "-p", "no:cacheprovider"], other)
        expect(probe(repo), rc=1)
        expect(probe(repo, "--scope", "user"), rc=0, err_has=f"pid {b.proc.pid}")
        expect(probe(other), rc=0)
        b.stop()
    finally:
        for d in decoys:
            d.kill()
            d.wait()


def test_probe_started_from_a_shell_mentioning_pytest(repo):
    """The pgrep -f pitfall: the shell that runs the check mentions pytest itself."""
    r = subprocess.run(["bash", "-c", f'echo pytest >/dev/null; "{BIN}" pytest-running -q'],
                       cwd=repo, env=env())
    assert r.returncode == 1


def test_environment_evidence(repo):
    expect(run("pytest-running", cwd=repo, env=env(PYTEST_RUNNING="1")), rc=0,
           err_has="environment")
    expect(run("pytest-running", cwd=repo, env=env(PYTEST_VERSION="7.2.1")), rc=0)


def test_unless_pytest_skips_while_tests_run(repo, background):
    b = background(["/usr/bin/pytest", "-q", "-p", "no:cacheprovider"], repo)
    r = expect(run("unless-pytest", "--", "touch", "x", cwd=repo, env=env()), rc=0,
               out_has=f"[SKIP] pytest is running (pid {b.proc.pid}")
    assert "not running touch x" in r.out
    assert not (repo / "x").exists()
    b.stop()
    expect(run("unless-pytest", "--", "touch", "x", cwd=repo, env=env()))
    assert (repo / "x").exists()
    expect(run("unless-pytest", "--", "sh", "-c", "exit 4", cwd=repo, env=env()), rc=4)


def test_unless_pytest_wait_runs_after_the_run(repo, background):
    b = background(["/usr/bin/pytest", "-q", "-p", "no:cacheprovider"], repo)
    errfile = repo.parent / "waiter.err"
    with open(errfile, "w") as fh:
        p = subprocess.Popen([BIN, "unless-pytest", "--wait", "30", "--", "touch", "x"],
                             cwd=repo, env=env(), stderr=fh, text=True)
    wait_for_text(errfile, "[WAIT]")
    assert p.poll() is None and not (repo / "x").exists()
    b.stop()
    assert p.wait(timeout=30) == 0
    assert (repo / "x").exists()


def test_test_sweeps_runs_and_passes_status(repo):
    """`test` sweeps, runs the tests writing caches as usual (the next run
    imports at full speed), and passes the status on; --no-bytecode writes
    none."""
    (repo / "test_slow.py").unlink()
    (repo / "pkg").mkdir()
    (repo / "pkg/__init__.py").write_text("")
    (repo / "pkg/mod.py").write_text("def f():\n    return 1\n")
    (repo / "test_ok.py").write_text(
        "import os\nfrom pkg.mod import f\n\ndef test_ok():\n    assert f() == 1\n"
        "    assert os.environ['PYTEST_RUNNING'] == '1'\n")
    subprocess.run([PY, "-m", "compileall", "-q", str(repo / "pkg")], check=True)
    assert (repo / "pkg/__pycache__").exists()
    r = expect(run("test", "--", PY, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   cwd=repo, env=env(PYTHONDONTWRITEBYTECODE=None)))
    assert r.out.startswith("Cleared 1/1 __pycache__ directory\n"), r.out
    assert "1 passed" in r.out and "dropped" not in r.err, r
    assert list((repo / "pkg/__pycache__").glob("mod.*.pyc")), "the run wrote no cache"
    expect(run("test", "-q", "--no-bytecode", "--", PY, "-m", "pytest", "-q", "-p",
               "no:cacheprovider", cwd=repo, env=env(PYTHONDONTWRITEBYTECODE=None)))
    assert not (repo / "pkg/__pycache__").exists()  # swept, and none written
    (repo / "test_bad.py").write_text("def test_bad():\n    assert False\n")
    expect(run("test", "-q", "--", PY, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               cwd=repo, env=env()), rc=1)
    # The default command is python3 -m pytest.
    expect(run("test", "--no-clean", cwd=repo, env=env()), rc=1, out_has="1 failed, 1 passed")


# A test that imports pkg.mod (writing its cache) and then plays an editor no
# guard knows of: it rewrites mod.py with a same-size edit and puts the mtime
# back, so CPython would keep trusting the cache it has just written.
EDITOR_DURING_THE_RUN = """import os, time
from pkg import mod

def test_edit_behind_the_runs_back():
    path = mod.__file__
    st = os.stat(path)
    time.sleep(0.01)
    with open(path, "w") as f:
        f.write("VALUE = 2\\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
"""


def guarded_argv(how, pytest_argv):
    """`pytest_argv` guarded by `test --no-clean` or by the plugin."""
    if how == "test":
        return [BIN, "test", "--no-clean", "--", *pytest_argv]
    return pytest_argv[:3] + ["-p", "pycache_clean"] + pytest_argv[3:]


@pytest.mark.parametrize("how", ["test", "plugin"])
def test_a_cache_outdated_during_the_run_does_not_outlive_it(repo, how):
    """The run wrote mod's cache, then its source changed behind its back
    keeping size and mtime: when the run ends the cache is dropped (it says
    so), and the next import reads the source. Plain pytest leaves it, and
    the next import runs the old code."""
    (repo / "test_slow.py").unlink()
    (repo / "pkg").mkdir()
    (repo / "pkg/__init__.py").write_text("")
    (repo / "test_edit.py").write_text(EDITOR_DURING_THE_RUN)
    value = [PY, "-c", "from pkg import mod; print(mod.VALUE)"]
    pytest_argv = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_edit.py"]
    for guarded in (False, True):
        (repo / "pkg/mod.py").write_text("VALUE = 1\n")
        shutil.rmtree(repo / "pkg/__pycache__", ignore_errors=True)
        argv = guarded_argv(how, pytest_argv) if guarded else pytest_argv
        r = subprocess.run(argv, cwd=repo, env=plugin_env(PYTHONDONTWRITEBYTECODE=None),
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        after = subprocess.run(value, cwd=repo, env=env(PYTHONDONTWRITEBYTECODE=None),
                               capture_output=True, text=True).stdout.strip()
        if guarded:
            assert "dropped 1 cache" in r.stderr, r.stderr
            assert after == "2", "the outdated cache outlived the run"
        else:
            assert after == "1", "the control should load the outdated cache"


VALUE_TEST = """from pkg import mod
import re

def test_value_is_the_files():
    with open(mod.__file__) as f:
        assert mod.VALUE == int(re.search(r"VALUE = (\\d+)", f.read()).group(1))
"""


@pytest.mark.parametrize("how", ["test", "plugin"])
def test_a_fix_between_runs_keeping_size_and_second_is_never_imported_stale(repo, how):
    """A run writes mod's cache; between runs a (guarded) fixer rewrites mod.py
    keeping its size and its mtime (a rollback, a fix in the same second):
    CPython would trust the cache. The next guarded run drops it before it
    starts (test --no-clean, the plugin's default) and says so; the control,
    plain pytest, runs the old code."""
    (repo / "test_slow.py").unlink()
    (repo / "pkg").mkdir()
    (repo / "pkg/__init__.py").write_text("")
    (repo / "test_value.py").write_text(VALUE_TEST)
    pytest_argv = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_value.py"]
    for guarded in (False, True):
        argv = guarded_argv(how, pytest_argv) if guarded else pytest_argv
        mod = repo / "pkg/mod.py"
        mod.write_text("VALUE = 1000\n")
        shutil.rmtree(repo / "pkg/__pycache__", ignore_errors=True)
        first = subprocess.run(argv, cwd=repo, env=plugin_env(PYTHONDONTWRITEBYTECODE=None),
                               capture_output=True, text=True)
        assert first.returncode == 0, first.stdout + first.stderr
        assert list((repo / "pkg/__pycache__").glob("mod.*.pyc")), "no cache was written"
        st = mod.stat()
        mod.write_text("VALUE = 2000\n")
        os.utime(mod, ns=(st.st_atime_ns, st.st_mtime_ns))
        second = subprocess.run(argv, cwd=repo, env=plugin_env(PYTHONDONTWRITEBYTECODE=None),
                                capture_output=True, text=True)
        if guarded:
            assert second.returncode == 0, second.stdout + second.stderr
            if how == "test":
                assert "dropped 1 cache whose source changed after it was written" in \
                    second.stderr, second.stderr
        else:
            assert second.returncode == 1, "the control should run the old code"


def test_test_exit_status_and_signals(repo, tmp_path):
    expect(run("test", "--no-clean", "--", "sh", "-c", "exit 3", cwd=repo, env=env()), rc=3)
    expect(run("test", "--no-clean", "--", "sh", "-c", "kill -TERM $$", cwd=repo, env=env()),
           rc=128 + signal.SIGTERM)
    expect(run("test", "--no-clean", "--", "no-such-test-runner", cwd=repo, env=env()), rc=127,
           err_has="no-such-test-runner: command not found")
    p = subprocess.Popen([BIN, "test", "--no-clean", "--", "sh", "-c",
                          "trap 'exit 42' INT; : > ready; while :; do sleep 0.05; done"],
                         cwd=repo, env=env(), stdout=subprocess.DEVNULL)
    end = time.monotonic() + 20
    while not (repo / "ready").exists():
        assert time.monotonic() < end
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=20) == 42


def test_bad_input(repo):
    expect(run("unless-pytest", cwd=repo), rc=2, err_has="no command given")
    expect(run("unless-pytest", "--scope", "galaxy", "--", "true", cwd=repo), rc=2,
           err_has="--scope")
    expect(run("pytest-running", "--scope", "nope", cwd=repo), rc=2, err_has="--scope")
    expect(run("unless-pytest", "--wait", "soon", "--", "true", cwd=repo), rc=2,
           err_has="--wait: 'soon'")


def test_unless_pytest_wait_ends_at_its_deadline(repo, background):
    """--wait SECS while a pytest runs outside the marker: the back-off between
    looks never sleeps past the deadline (it once overshot by up to a second)."""
    import re
    b = background([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"], repo)
    r = expect(run("unless-pytest", "-vv", "--wait", "2", "--", "touch", "fixed", cwd=repo,
                   env=env()), rc=0, out_has="[SKIP] pytest is running")
    looks = [(int(ms), float(left)) for ms, left in
             re.findall(r"next look in (\d+) ms \((-?[\d.]+) s left\)", r.err)]
    assert len(looks) >= 3, r.err
    assert all(ms <= left * 1000 + 1 for ms, left in looks), looks
    assert not (repo / "fixed").exists()
    assert b.stop() == 0
