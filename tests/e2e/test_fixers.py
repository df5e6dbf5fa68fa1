"""Fixers never lose a fix: the guard against its adversaries, each real. Two
fixers at once (a minimal pair, and pre-commit running black in parallel
batches), `kill -9` of a fixer's pycache-clean while its command still
writes, another local user (setpriv as nobody) who can open a lock file an
older version left world-readable or who plants one, and a file system that
is full when a lock file is first made."""
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, base_env, expect, in_mount_namespace, run, wait_for_file, wait_for_text

SYS_PATH = "/usr/local/bin:/usr/bin:/bin"
NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                reason="needs root and setpriv to act as a second user")
SIGNATURE = "pycache-clean lock file\n"
LOCK_FILES = ["pycache-clean-pytest.lock", "pycache-clean-pytest.queue",
              "pycache-clean-fixer.lock", "pycache-clean.lock"]


def env(**extra):
    return base_env(**{"PATH": SYS_PATH, **extra})


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


_STARTED = []


@pytest.fixture(autouse=True)
def _stop_holders():
    """Whatever a test does, the holders it started end with it (a failed
    assertion must not leave a loop running for the next test to meet)."""
    yield
    while _STARTED:
        p = _STARTED.pop()
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the wrapper's session: its command too
        except ProcessLookupError:
            pass
        p.wait()


def start(repo, *argv, name):
    """`pycache-clean ARGV -- sh` whose command touches NAME.held, then runs
    until NAME.stop exists and touches NAME.done; in a session of its own."""
    script = f": > {name}.held; while [ ! -e {name}.stop ]; do sleep 0.02; done; : > {name}.done"
    p = subprocess.Popen([BIN, *argv, "--", "sh", "-c", script], cwd=repo, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    _STARTED.append(p)
    wait_for_file(repo / f"{name}.held", timeout=30)
    return p


# --- 1. two fixers: the second waits, then runs; never a skip ------------------------------------

def test_second_fixer_waits_for_the_first_then_runs(repo):
    first = start(repo, "unless-pytest", name="first")
    expect(run("pytest-running", cwd=repo, env=env()), rc=1)  # a fixer is no test run
    errfile = repo.parent / "second.err"
    with open(errfile, "w") as err:
        second = subprocess.Popen([BIN, "unless-pytest", "--", "sh", "-c",
                                   "test -e first.done && echo after the first"],
                                  cwd=repo, env=env(), stdout=subprocess.PIPE, stderr=err,
                                  text=True)
    wait_for_text(errfile, f"[WAIT] waiting for pid {first.pid} (sh -c")
    assert "another fixer" in errfile.read_text()
    (repo / "first.stop").touch()
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 0, errfile.read_text()
    assert out == "after the first\n", out
    assert "pytest is running" not in out + errfile.read_text()
    assert first.wait(timeout=30) == 0


def test_fixer_that_waits_too_long_exits_75_never_skips(repo):
    first = start(repo, "unless-pytest", name="first")
    try:
        r = expect(run("unless-pytest", "--fixer-wait", "0.5", "--skip-exit-code", "0", "--",
                       "touch", "second-ran", cwd=repo, env=env()), rc=75,
                   err_has=["gave up after 0.5s waiting for", f"pid {first.pid} (sh -c"])
        assert "[SKIP]" not in r.out and "pytest is running" not in r.out + r.err, r
        assert not (repo / "second-ran").exists()
    finally:
        (repo / "first.stop").touch()
        first.wait(timeout=30)


def test_fixer_behind_a_fixer_waiting_for_tests_skips_for_the_tests(repo):
    """A test run holds the marker; fixer A waits for it (--wait); fixer B,
    which does not wait for tests, skips for the test run at once instead of
    queueing behind A for the fixer lock."""
    tests = start(repo, "test", "--no-clean", name="tests")
    errfile = repo.parent / "a.err"
    with open(errfile, "w") as err:
        a = subprocess.Popen([BIN, "unless-pytest", "--wait", "60", "--", "touch", "a-ran"],
                             cwd=repo, env=env(), stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        wait_for_text(errfile, "[WAIT]")
        t0 = time.monotonic()
        r = expect(run("unless-pytest", "--", "touch", "b-ran", cwd=repo, env=env()),
                   out_has="[SKIP] pytest is running")
        assert time.monotonic() - t0 < 10 and not (repo / "b-ran").exists(), r
    finally:
        (repo / "tests.stop").touch()
    assert tests.wait(timeout=30) == 0
    assert a.wait(timeout=60) == 0, errfile.read_text()
    assert (repo / "a-ran").exists()


def _black_repo(path, config):
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    for i in range(8):
        (path / f"m{i}.py").write_text(f"x  =  {{ 'a':{i} }}\n")  # black rewrites each
    (path / ".pre-commit-config.yaml").write_text(config)
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)


README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("serial", ["readme-recipe", "without-require-serial"])
def test_precommit_black_in_parallel_batches_loses_no_fix(tmp_path, serial):
    """The README's `repo: local` recipe with the real pre-commit, the real
    black (behind a `ruff` that sleeps a second, so that batches overlap) and
    eight files; then the same recipe without `require_serial`, which
    pre-commit runs as parallel batches: every file is fixed either way, no
    batch is skipped, and no two fixers ever run at once."""
    for tool in ("pre-commit", "black", "git"):
        if not shutil.which(tool, path=SYS_PATH):
            pytest.skip(f"needs {tool}")
    if serial == "without-require-serial" and (os.cpu_count() or 1) < 2:
        pytest.skip("pre-commit runs batches in parallel only with two cores or more")
    import re
    blocks = re.findall(r"<!-- example: precommit-local -->\n```yaml\n(.*?)```", README.read_text(),
                        re.S)
    assert blocks, "the README lost its precommit-local example"
    config = blocks[0]
    assert "require_serial: true" in config, "the recipe runs fixers as parallel batches"
    if serial == "without-require-serial":
        config = config.replace("        require_serial: true\n", "")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(BIN, bindir / "pycache-clean")
    log = tmp_path / "fixer.log"
    ruff = bindir / "ruff"  # `ruff check --fix FILE...`, played by black
    ruff.write_text(f'#!/bin/sh\nshift 2\necho "start $$" >> {log}\nsleep 1\n'
                    f'black -q "$@"; s=$?\necho "end $$" >> {log}\nexit $s\n')
    ruff.chmod(0o755)
    repo = tmp_path / "repo"
    repo.mkdir()
    _black_repo(repo, config)
    r = subprocess.run(["pre-commit", "run", "--all-files"], cwd=repo, capture_output=True,
                       text=True, timeout=600,
                       env=base_env(PATH=f"{bindir}:{SYS_PATH}",
                                    PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home")))
    assert "[SKIP]" not in r.stdout and "pytest is running" not in r.stdout, r.stdout
    for i in range(8):
        assert (repo / f"m{i}.py").read_text() == f'x = {{"a": {i}}}\n', r.stdout
    lines = log.read_text().splitlines()
    assert len(lines) >= (4 if serial == "without-require-serial" else 2), lines  # batches
    running = 0
    for line in lines:
        running += 1 if line.startswith("start") else -1
        assert running <= 1, f"two fixers overlapped: {lines}"


# --- 2. kill -9 of the wrapper: the command keeps the marker ---------------------------------------

def test_kill_9_of_unless_pytest_keeps_test_runs_out_until_its_command_ends(repo):
    fixer = start(repo, "unless-pytest", name="fixer")
    os.kill(fixer.pid, signal.SIGKILL)  # the OOM killer, a supervisor: one pid only
    fixer.wait()
    try:
        r = expect(run("test", "--no-clean", "--wait", "0", "--", "touch", "tested", cwd=repo,
                       env=env()), rc=75, err_has=f"pid {fixer.pid}")
        assert "has ended" in r.err, r.err
        assert not (repo / "tested").exists()
        expect(run("unless-pytest", "--fixer-wait", "0", "--", "touch", "fixed", cwd=repo,
                   env=env()), rc=75)
        expect(run("pytest-running", cwd=repo, env=env()), rc=1)
    finally:
        (repo / "fixer.stop").touch()
    wait_for_file(repo / "fixer.done")
    expect(run("test", "--no-clean", "--wait", "30", "--", "touch", "tested", cwd=repo,
               env=env()))
    assert (repo / "tested").exists()


# --- 3. another local user ------------------------------------------------------------------------

@pytest.fixture
def shared_repo():
    """A repository of ours that another user can reach (a shared /tmp)."""
    top = Path(tempfile.mkdtemp(prefix="pycache-clean-shared-", dir="/tmp"))
    os.chmod(top, 0o1777)
    repo = top / "repo"
    repo.mkdir()
    os.chmod(repo, 0o755)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    yield repo
    subprocess.run(["rm", "-rf", str(top)], check=False)


def nobody(*cmd, **kw):
    return subprocess.run([*AS_NOBODY, *cmd], capture_output=True, text=True,
                          env=base_env(HOME="/nonexistent"), **kw)


def hold_as_nobody(path, mode):
    """Another user holds `path` with flock(1) (-x or -s) until killed."""
    p = subprocess.Popen([*AS_NOBODY, "flock", mode, str(path), "sleep", "120"],
                         env=base_env(HOME="/nonexistent"), start_new_session=True)
    deadline = time.monotonic() + 10
    while subprocess.run(["flock", "-n", "-x", str(path), "true"]).returncode == 0:
        assert time.monotonic() < deadline and p.poll() is None, "nobody never held " + str(path)
        time.sleep(0.02)
    return p


def plant_old_world_readable_files(repo):
    """Lock files as an older pycache-clean left them: ours, signed, 0644."""
    for name in LOCK_FILES:
        f = repo / ".git" / name
        f.write_text(SIGNATURE)
        os.chmod(f, 0o644)


@needs_root
def test_lock_files_are_private_to_their_owner(shared_repo):
    for argv in (["unless-pytest", "--", "true"], ["lock", "--", "true"],
                 ["test", "--no-clean", "--", "true"]):
        expect(run(*argv, cwd=shared_repo, env=env()))
    for name in LOCK_FILES:
        path = shared_repo / ".git" / name
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name
        held = nobody("flock", "-n", "-x", str(path), "true")
        assert held.returncode != 0 and "Permission denied" in held.stderr, (name, held)


@needs_root
def test_another_user_holding_an_old_queue_is_named_never_a_test_run(shared_repo):
    plant_old_world_readable_files(shared_repo)
    hog = hold_as_nobody(shared_repo / ".git/pycache-clean-pytest.queue", "-x")
    try:
        r = expect(run("unless-pytest", "--fixer-wait", "1", "--", "touch", "fixed",
                       cwd=shared_repo, env=env()), rc=75, err_has=f"uid {NOBODY}")
        assert "[SKIP]" not in r.out and "pytest is running" not in r.out + r.err, r
        assert not (shared_repo / "fixed").exists()
        r = expect(run("test", "--no-clean", "--wait", "1", "--", "true", cwd=shared_repo,
                       env=env()), rc=75, err_has=f"uid {NOBODY}")
        expect(run("pytest-running", cwd=shared_repo, env=env()), rc=1)
        for name in LOCK_FILES[:2]:  # narrowed to their owner once used
            assert stat.S_IMODE(os.stat(shared_repo / ".git" / name).st_mode) == 0o600, name
    finally:
        os.killpg(hog.pid, signal.SIGKILL)
        hog.wait()
    expect(run("unless-pytest", "--", "touch", "fixed", cwd=shared_repo, env=env()))
    assert (shared_repo / "fixed").exists()


@needs_root
def test_another_user_holding_the_marker_exclusively_is_waited_for_and_named(shared_repo):
    plant_old_world_readable_files(shared_repo)
    hog = hold_as_nobody(shared_repo / ".git/pycache-clean-pytest.lock", "-x")
    try:
        r = expect(run("unless-pytest", "--fixer-wait", "1", "--", "touch", "fixed",
                       cwd=shared_repo, env=env()), rc=75,
                   err_has=[f"uid {NOBODY}", "no test run"])
        assert "[SKIP]" not in r.out and "pytest is running" not in r.out + r.err, r
        expect(run("test", "--no-clean", "--wait", "1", "--", "true", cwd=shared_repo,
                   env=env()), rc=75, err_has=f"uid {NOBODY}")
        r = expect(run("pytest-running", "-v", cwd=shared_repo, env=env()), rc=1)
    finally:
        os.killpg(hog.pid, signal.SIGKILL)
        hog.wait()


@needs_root
def test_a_shared_hold_by_another_user_is_a_test_run_named_with_its_uid(shared_repo):
    plant_old_world_readable_files(shared_repo)
    hog = hold_as_nobody(shared_repo / ".git/pycache-clean-pytest.lock", "-s")
    try:
        r = expect(run("unless-pytest", "--", "touch", "fixed", cwd=shared_repo, env=env()),
                   out_has="[SKIP] pytest is running")
        assert f"uid {NOBODY}" in r.out, r
    finally:
        os.killpg(hog.pid, signal.SIGKILL)
        hog.wait()


@needs_root
def test_lock_file_planted_by_another_user_is_refused_naming_them(shared_repo):
    """Outside a repository (a shared /tmp directory) the lock lives in the
    current directory, where another user can plant a file they may lock."""
    outside = shared_repo.parent
    for name in (".pycache-clean.lock", ".pycache-clean-pytest.lock"):
        assert nobody("sh", "-c", f"umask 022 && : > {outside / name}").returncode == 0
    r = expect(run("lock", "--", "touch", "locked", cwd=outside, env=env()), rc=2,
               err_has=[".pycache-clean.lock", f"owned by uid {NOBODY}"])
    assert not (outside / "locked").exists()
    expect(run("test", "--no-clean", "--", "true", cwd=outside, env=env()), rc=2,
           err_has=f"owned by uid {NOBODY}")
    r = expect(run("unless-pytest", "--", "echo", "ran", cwd=outside, env=env()), out="ran\n",
               err_has="only the process table counts")


# --- 5. a full file system --------------------------------------------------------------------------

def test_lock_file_made_on_a_full_file_system_is_signed_once_there_is_room(tmp_path):
    """A real tmpfs, full when the lock file is first made: it is created
    empty (no room for its signature). Once there is room, the next holder
    signs it and writes its record, so waiters name it."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    p = in_mount_namespace(f'''
        mount -t tmpfs -o size=64k tmpfs "{mnt}" || exit 77
        cd "{mnt}"
        dd if=/dev/zero of=fill bs=4k 2>/dev/null || true
        "{BIN}" lock -q -- true
        test -s .pycache-clean.lock && echo "signed at once" || echo "made empty"
        rm fill
        "{BIN}" lock -q -- sh -c ': > held; sleep 3' &
        while [ ! -e held ]; do sleep 0.02; done
        set +e
        "{BIN}" lock --wait 0 -- true; echo "rc=$?"
        head -c 200 .pycache-clean.lock; echo
        wait
    ''')
    assert "made empty" in p.stdout, p.stdout + p.stderr  # the file system was full
    assert "rc=75" in p.stdout, p.stdout + p.stderr
    assert "(sh -c : > held; sleep 3)" in p.stderr, p.stderr
    assert SIGNATURE + "pid: " in p.stdout, p.stdout
