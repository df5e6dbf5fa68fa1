"""End-to-end tests of `pycache-clean lock` with real processes, flock(1) and git."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BIN, base_env, expect, run, wait_for_file, wait_for_text

needs_git = pytest.mark.skipif(not shutil.which("git"), reason="needs git")
needs_flock = pytest.mark.skipif(not shutil.which("flock"), reason="needs util-linux flock")


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env=base_env(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                                GIT_COMMITTER_EMAIL="t@t"))


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    git("init", "-q", "-b", "main", cwd=r)
    (r / "f").write_text("x\n")
    git("add", "f", cwd=r)
    git("commit", "-q", "-m", "init", cwd=r)
    return r


def start_holder(cwd, *cmd, args=()):
    """Start `lock -- CMD` in its own process group and wait until it holds the lock."""
    p = subprocess.Popen([BIN, "lock", *args, "--", *cmd], cwd=cwd, env=base_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    return p


def test_mutual_exclusion_under_contention(tmp_path):
    """8 processes x 50 locked non-atomic read-increment-write: exact count, never two inside."""
    (tmp_path / "counter").write_text("0\n")
    body = ('if [ -e inside ]; then echo overlap >> errors; fi; : > inside; '
            'n=$(cat counter); n=$((n+1)); echo $n > counter.tmp; mv counter.tmp counter; rm inside')
    loop = f'for i in $(seq 50); do "$BIN" lock -q --wait -1 -- sh -c \'{body}\' || exit 1; done'
    procs = [subprocess.Popen(["sh", "-c", loop], cwd=tmp_path, env=base_env(BIN=BIN))
             for _ in range(8)]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    assert (tmp_path / "counter").read_text().strip() == "400"
    assert not (tmp_path / "errors").exists(), (tmp_path / "errors").read_text()


def test_without_the_lock_the_same_workload_does_overlap(tmp_path):
    """The counter check above can fail: without the lock it does."""
    (tmp_path / "counter").write_text("0\n")
    body = ('n=$(cat counter); n=$((n+1)); sleep 0.01; echo $n > counter.tmp; mv counter.tmp counter')
    loop = f"for i in $(seq 10); do sh -c '{body}'; done"
    procs = [subprocess.Popen(["sh", "-c", loop], cwd=tmp_path) for _ in range(8)]
    for p in procs:
        p.wait(timeout=120)
    assert int((tmp_path / "counter").read_text()) < 80


def test_holder_killed_with_sigkill_frees_the_lock_at_once(repo):
    holder = start_holder(repo, "sh", "-c", ": > held; sleep 60")
    wait_for_file(repo / "held")
    errfile = repo.parent / "waiter.err"
    with open(errfile, "w") as fh:
        waiter = subprocess.Popen([BIN, "lock", "--wait", "30", "--", "true"], cwd=repo,
                                  env=base_env(), stderr=fh, text=True)
    wait_for_text(errfile, "[WAIT] waiting for pid")
    assert waiter.poll() is None  # really waiting
    os.killpg(holder.pid, signal.SIGKILL)  # the holder and its command, as OOM or kill -9 -PGID
    holder.wait()
    assert waiter.wait(timeout=10) == 0  # long before its own --wait 30 ran out
    err = errfile.read_text()
    assert "[LOCK] got" in err, err


def test_command_inherits_the_lock_like_flock1(repo):
    """kill -9 of the wrapper alone leaves its command running: it keeps the lock,
    so the two still never overlap."""
    holder = start_holder(repo, "sh", "-c", ": > held; sleep 1.5; : > done")
    wait_for_file(repo / "held")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    r = run("lock", "--wait", "20", "--", "sh", "-c", "test -e done", cwd=repo)
    expect(r, rc=0, err_has="[WAIT]")


def test_time_out_does_not_run_the_command_and_names_the_holder(repo):
    holder = start_holder(repo, "sh", "-c", ": > held; sleep 30")
    try:
        wait_for_file(repo / "held")
        t0 = time.monotonic()
        r = run("lock", "--wait", "1", "--", "touch", "ran", cwd=repo)
        expect(r, rc=75, err_has=[f"pid {holder.pid} (sh -c : > held; sleep 30)",
                                  "not running: touch ran"])
        assert 0.9 < time.monotonic() - t0 < 5
        assert not (repo / "ran").exists()
        expect(run("lock", "--wait", "0", "--conflict-exit-code", "9", "--", "touch", "ran",
                   cwd=repo), rc=9)
        assert not (repo / "ran").exists()
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()


def test_steady_stream_of_holders_does_not_starve_a_waiter(tmp_path):
    stop = tmp_path / "stop"
    loop = (f'while [ ! -e {stop} ]; do "$BIN" lock -q --file {tmp_path}/l --wait -1 -- '
            f'sleep 0.05; done')
    churn = [subprocess.Popen(["sh", "-c", loop], env=base_env(BIN=BIN)) for _ in range(4)]
    try:
        time.sleep(0.5)
        for _ in range(3):
            r = run("lock", "-q", "--file", tmp_path / "l", "--wait", "20", "--", "true")
            assert r.rc == 0, str(r)
    finally:
        stop.touch()
        for p in churn:
            p.wait(timeout=30)


def test_exit_status_is_passed_through():
    expect(run("lock", "--file", "/tmp/pycache-clean-test-status.lock", "--", "sh", "-c",
               "exit 7"), rc=7)
    expect(run("lock", "--file", "/tmp/pycache-clean-test-status.lock", "--", "sh", "-c",
               "kill -TERM $$"), rc=128 + signal.SIGTERM)


def test_signals_are_forwarded_to_the_command(tmp_path):
    p = subprocess.Popen([BIN, "lock", "--file", tmp_path / "l", "--", "sh", "-c",
                          "trap 'echo got-term > trapped; exit 42' TERM; : > ready; "
                          "while :; do sleep 0.05; done"], cwd=tmp_path, env=base_env())
    wait_for_file(tmp_path / "ready")
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == 42
    assert (tmp_path / "trapped").read_text() == "got-term\n"


def test_command_not_found_and_not_executable(tmp_path):
    expect(run("lock", "--file", tmp_path / "l", "--", "no-such-command-xyz"), rc=127,
           err_has="no-such-command-xyz: command not found")
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    expect(run("lock", "--file", tmp_path / "l", "--", script), rc=126 if os.geteuid() else None)


@needs_flock
def test_flock1_excludes_pycache_clean_lock(repo):
    lockfile = repo / ".git/pycache-clean.lock"
    # -o: only flock(1) itself holds the lock, so once it has been reaped the lock is free.
    # Without it the killed `sh` and `sleep` inherit the descriptor and may still be exiting
    # when the next lock attempt runs.
    p = subprocess.Popen(["flock", "-o", lockfile, "sh", "-c", ": > held; sleep 30"], cwd=repo,
                         start_new_session=True)
    try:
        wait_for_file(repo / "held")
        # flock(1) writes no record; the kernel's list of holders names it.
        expect(run("lock", "--wait", "0.5", "--", "true", cwd=repo), rc=75,
               err_has=f"pid {p.pid} (flock -o ")
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    expect(run("lock", "--wait", "0", "--", "true", cwd=repo))


@needs_flock
def test_pycache_clean_lock_excludes_flock1(repo):
    holder = start_holder(repo, "sh", "-c", ": > held; sleep 30")
    try:
        wait_for_file(repo / "held")
        git_common = subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=repo,
                                    capture_output=True, text=True).stdout.strip()
        r = subprocess.run(["flock", "-n", os.path.join(repo, git_common, "pycache-clean.lock"),
                            "true"], cwd=repo)
        assert r.returncode == 1  # flock -n: held elsewhere
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()


@needs_git
def test_worktrees_share_the_lock_and_other_repositories_do_not(repo, tmp_path):
    wt = tmp_path / "wt"
    git("worktree", "add", "-q", "-b", "other", str(wt), cwd=repo)
    assert (wt / ".git").is_file()
    holder = start_holder(repo, "sh", "-c", ": > held; sleep 30")
    try:
        wait_for_file(repo / "held")
        expect(run("lock", "--wait", "0", "--", "true", cwd=wt), rc=75)
        expect(run("lock", "--wait", "0", "--", "true", cwd=wt / "."), rc=75)
        other = tmp_path / "other"
        other.mkdir()
        git("init", "-q", cwd=other)
        expect(run("lock", "--wait", "0", "--", "true", cwd=other))
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    # The lock file lives in the common git dir: never in `git status`.
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True,
                            text=True).stdout
    assert "lock" not in status
    assert (repo / ".git/pycache-clean.lock").exists()


def test_outside_a_repository_falls_back_to_the_current_directory(tmp_path):
    expect(run("lock", "--", "true", cwd=tmp_path, env=base_env(GIT_DIR=None)),
           err_has="not in a git repository")
    assert (tmp_path / ".pycache-clean.lock").exists()


def test_lock_file_that_cannot_be_opened(tmp_path):
    expect(run("lock", "--file", tmp_path / "missing-dir/l", "--", "true"), rc=2,
           err_has=f"lock file {tmp_path}/missing-dir/l: No such file or directory")


def test_bad_input():
    expect(run("lock"), rc=2, err_has="no command given")
    expect(run("lock", "--frob", "--", "true"), rc=2, err_has="--frob")
    expect(run("lock", "--wait", "abc", "--", "true"), rc=2, err_has="--wait: 'abc'")
    expect(run("lock", "--conflict-exit-code", "300", "--", "true"), rc=2,
           err_has="--conflict-exit-code")
