"""End-to-end tests of the guard: the pytest marker as a reader-writer lock
(test runs shared, fixers run by unless-pytest exclusive), its queue against
starvation, and nested holders that never wait for themselves."""
import os
import subprocess
import time

import pytest

from conftest import BIN, base_env, expect, run

SYS_PATH = "/usr/local/bin:/usr/bin:/bin"


def env(**extra):
    return base_env(PATH=SYS_PATH, **extra)


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
    tests = subprocess.Popen(
        [BIN, "test", "--no-clean", "--", "sh", "-c", "test ! -e fixer.held && : > tested"],
        cwd=repo, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert tests.poll() is None and not (repo / "tested").exists()
    # The fixer's command ends by removing its mark: the tests start after it.
    (repo / "fixer.stop").touch()
    os.unlink(repo / "fixer.held")
    assert fixer.wait(timeout=30) == 0
    out, err = tests.communicate(timeout=30)
    assert tests.returncode == 0, err
    assert (repo / "tested").exists()
    assert f"[WAIT] waiting for pid {fixer.pid} (sh -c" in err, err


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
    waiting = subprocess.Popen([BIN, "unless-pytest", "--wait", "30", "--", "touch", "fixed"],
                               cwd=repo, env=env(), stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert waiting.poll() is None and not (repo / "fixed").exists()
    (repo / "tests.stop").touch()
    assert tests.wait(timeout=30) == 0
    assert waiting.wait(timeout=30) == 0
    assert (repo / "fixed").exists()
    assert "[WAIT]" in waiting.stderr.read()


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
        result["procs"] = stream(repo, [BIN, *streamer], seconds=12, gap=0.2)

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
