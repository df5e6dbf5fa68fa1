"""The deletion contract and the guarantees against a hostile neighbour, each
shown with the real adversary: a second user (setpriv as nobody) planting
links, FIFOs and `.git` directories in shared directories, real bind mounts in
a private mount namespace (unshare -m), real signals, names that are escape
sequences, a real low open-file limit, a very large cache directory."""
import json
import os
import pty
import random
import re
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN, base_env, expect, in_mount_namespace, make_tree, run, system_python

NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                reason="needs root and setpriv to act as a second user")
needs_git = pytest.mark.skipif(not shutil.which("git"), reason="needs git")
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def as_nobody(*cmd, cwd=None):
    """Run `cmd` as the other user; fail the test if it fails."""
    p = subprocess.run([*AS_NOBODY, *cmd], cwd=cwd, capture_output=True, text=True,
                       env=base_env(HOME="/nonexistent"))
    assert p.returncode == 0, f"{cmd} as nobody: {p.stderr}"
    return p


@pytest.fixture
def shared():
    """A world-writable sticky directory like /tmp, that both users can reach."""
    path = Path(tempfile.mkdtemp(prefix="pycache-clean-shared-", dir="/tmp"))
    os.chmod(path, 0o1777)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


@pytest.fixture
def victim(tmp_path):
    """A file of ours that must survive whatever is pointed at it."""
    f = tmp_path / "victim.txt"
    f.write_text("precious\n")
    os.chmod(tmp_path, 0o755)
    return f


def git(*args, cwd, env=None):
    e = base_env(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                 GIT_COMMITTER_EMAIL="t@t")
    e.update(env or {})
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=e)


# --- 1. lock never truncates or follows -------------------------------------------------

def test_lock_file_named_with_file_is_locked_untouched(tmp_path):
    makefile = tmp_path / "Makefile"
    makefile.write_text("all:\n\t@echo built\n")
    expect(run("lock", "--file", makefile, "--", "make", "-s", "-C", tmp_path), out="built\n")
    assert makefile.read_text() == "all:\n\t@echo built\n"
    script = tmp_path / "job.sh"
    script.write_text("echo from script\n")
    expect(run("lock", "--file", script, "--", "sh", script), out="from script\n")
    assert script.read_text() == "echo from script\n"


@needs_root
def test_link_planted_at_default_lock_path_is_refused(shared, victim):
    """Outside a repository the lock lives in the current directory; another
    user plants a symlink there to our file."""
    as_nobody("ln", "-s", str(victim), str(shared / ".pycache-clean.lock"))
    r = expect(run("lock", "--", "true", cwd=shared), rc=2,
               err_has=["lock file .pycache-clean.lock", "symbolic link"])
    assert "command not" not in r.err
    assert victim.read_text() == "precious\n"


@needs_git
def test_link_at_marker_and_lock_in_git_dir_is_refused(tmp_path, victim):
    repo = tmp_path / "repo"
    repo.mkdir()
    assert git("init", "-q", cwd=repo).returncode == 0
    (repo / ".git/pycache-clean.lock").symlink_to(victim)
    (repo / ".git/pycache-clean-pytest.lock").symlink_to(victim)
    expect(run("lock", "--", "true", cwd=repo), rc=2, err_has="symbolic link")
    # The wrapper refused (2), which a CI script must tell from failing tests (1).
    expect(run("test", "--no-clean", "--", "true", cwd=repo), rc=2,
           err_has=["pycache-clean-pytest.lock", "symbolic link"])
    r = expect(run("pytest-running", cwd=repo), rc=1, err_has="symbolic link")
    assert "only the process table counts" in r.err
    assert victim.read_text() == "precious\n"


def test_lock_record_goes_only_into_a_file_the_tool_created(tmp_path):
    mine = tmp_path / "mine.lock"
    theirs = tmp_path / "theirs.lock"
    theirs.write_text("")
    holder = subprocess.Popen([BIN, "lock", "--file", mine, "--", "sleep", "5"], env=base_env())
    other = subprocess.Popen([BIN, "lock", "--file", theirs, "--", "sleep", "5"], env=base_env())
    try:
        deadline = time.monotonic() + 10
        while (not mine.exists() or "pid: " not in mine.read_text()) and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        assert f"pid: {holder.pid}" in mine.read_text()
        r = expect(run("lock", "--wait", "0", "--file", mine, "--", "true"), rc=75)
        assert f"pid {holder.pid}" in r.err
        assert theirs.read_text() == ""  # an existing file stays as it was
    finally:
        holder.kill(), other.kill()
        holder.wait(), other.wait()


# --- 2. FIFOs never hang it ----------------------------------------------------------------

@needs_root
def test_fifo_at_marker_path_does_not_hang(shared):
    as_nobody("mkfifo", str(shared / ".pycache-clean-pytest.lock"))
    r = expect(run("pytest-running", cwd=shared, timeout=20), rc=1, err_has="a FIFO")
    assert "only the process table counts" in r.err
    expect(run("unless-pytest", "--", "echo", "ran", cwd=shared, timeout=20), out="ran\n")
    expect(run("unless-pytest", "--wait", "0", "--", "echo", "ran", cwd=shared, timeout=20),
           out="ran\n")
    expect(run("test", "--no-clean", "--", "true", cwd=shared, timeout=20), rc=2,
           err_has="a FIFO")


@needs_root
def test_fifo_lock_file_is_refused_at_once(shared):
    fifo = shared / "fifo.lock"
    as_nobody("mkfifo", "-m", "0644", str(fifo))  # we may read it, not write it
    t0 = time.monotonic()
    r = expect(run("lock", "--wait", "0", "--file", fifo, "--", "echo", "ran", timeout=20), rc=2,
               err_has=[str(fifo), "a FIFO"])
    assert "ran" not in r.out
    assert time.monotonic() - t0 < 5
    os.symlink(fifo, shared / ".pycache-clean.lock")  # and behind a default path
    expect(run("lock", "--", "true", cwd=shared, timeout=20), rc=2, err_has="symbolic link")


@needs_git
def test_test_refuses_a_read_only_checkout_with_status_2(tmp_path):
    """A read-only checkout (a real read-only bind mount) has no marker to
    take: `test` says so and exits 2, the documented status for a refused
    wrapper, never 1, which is what failing tests give."""
    repo = tmp_path / "repo"
    repo.mkdir()
    assert git("init", "-q", cwd=repo).returncode == 0
    p = in_mount_namespace(f'''
        mount --bind "{repo}" "{repo}" || exit 77
        mount -o remount,bind,ro "{repo}" || exit 77
        cd "{repo}"
        set +e
        "{BIN}" test --no-clean -- echo ran; echo "rc=$?"
    ''')
    assert "rc=2" in p.stdout, p.stdout + p.stderr
    assert "ran" not in p.stdout.replace("rc=", "")
    assert "pycache-clean-pytest.lock" in p.stderr and "Read-only file system" in p.stderr, p.stderr


# --- 3. a .git planted by another user is not trusted ----------------------------------------

@needs_root
@needs_git
def test_git_dir_of_another_user_is_refused(shared, victim):
    as_nobody("git", "init", "-q", str(shared))
    as_nobody("ln", "-s", str(victim), str(shared / ".git/pycache-clean.lock"))
    as_nobody("mkdir", "-p", str(shared / "theirs/__pycache__"))
    as_nobody("touch", str(shared / "theirs/__pycache__/m.cpython-311.pyc"))
    mine = shared / "mine"
    mine.mkdir()
    assert "dubious ownership" in git("rev-parse", "--git-common-dir", cwd=mine).stderr
    expect(run("lock", "--", "true", cwd=mine), rc=2,
           err_has=[f"dubious ownership in repository at '{shared}'", "safe.directory"])
    expect(run("test", "--", "true", cwd=mine), rc=2, err_has="dubious ownership")
    expect(run("pytest-running", cwd=mine), rc=2, err_has="dubious ownership")
    assert victim.read_text() == "precious\n"
    assert (shared / "theirs/__pycache__/m.cpython-311.pyc").exists()  # not swept


@needs_root
@needs_git
def test_safe_directory_in_global_config_allows_it(shared, tmp_path):
    as_nobody("git", "init", "-q", str(shared))
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[safe]\n\tdirectory = {shared}\n")
    mine = shared / "mine"
    mine.mkdir()
    env = base_env(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    expect(run("lock", "--", "true", cwd=mine, env=env))
    assert (shared / ".git/pycache-clean.lock").is_file()


@needs_git
@pytest.mark.parametrize("layout", ["plain", "subdir", "worktree", "submodule", "git_dir_env",
                                    "ceiling", "bare", "not_a_repo_dot_git", "common_dir_env"])
def test_discovery_agrees_with_git(tmp_path, layout):
    """Where `lock` puts its file is `git rev-parse --git-common-dir`, or the
    current directory where git finds no repository."""
    main = tmp_path / "main"
    main.mkdir()
    assert git("init", "-q", "-b", "main", cwd=main).returncode == 0
    (main / "f").write_text("x\n")
    git("add", "f", cwd=main)
    assert git("commit", "-q", "-m", "i", cwd=main).returncode == 0
    (main / "pkg/deep").mkdir(parents=True)
    env = {}
    cwd = main
    if layout == "subdir":
        cwd = main / "pkg/deep"
    elif layout == "worktree":
        assert git("worktree", "add", "-q", str(tmp_path / "wt"), cwd=main).returncode == 0
        cwd = tmp_path / "wt"
    elif layout == "submodule":
        sub = tmp_path / "subsrc"
        sub.mkdir()
        git("init", "-q", cwd=sub), (sub / "s").write_text("s"), git("add", "s", cwd=sub)
        git("commit", "-q", "-m", "s", cwd=sub)
        r = git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "lib",
                cwd=main)
        assert r.returncode == 0, r.stderr
        cwd = main / "lib"
    elif layout == "git_dir_env":
        cwd = tmp_path
        env = {"GIT_DIR": str(main / ".git")}
    elif layout == "common_dir_env":
        cwd = tmp_path
        env = {"GIT_DIR": str(main / ".git"), "GIT_COMMON_DIR": str(main / ".git")}
    elif layout == "ceiling":
        cwd = main / "pkg/deep"
        env = {"GIT_CEILING_DIRECTORIES": str(main / "pkg")}
    elif layout == "bare":
        assert git("clone", "-q", "--bare", str(main), str(tmp_path / "b.git"),
                   cwd=tmp_path).returncode == 0
        cwd = tmp_path / "b.git/refs"
    elif layout == "not_a_repo_dot_git":
        (tmp_path / "outside/.git").mkdir(parents=True)  # an empty .git: not a repository
        (tmp_path / "outside/src").mkdir()
        cwd = tmp_path / "outside/src"
        env = {"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    full_env = base_env(**env)
    g = git("rev-parse", "--git-common-dir", cwd=cwd, env=env)
    if g.returncode == 0:
        expected = (Path(cwd) / g.stdout.strip()).resolve() / "pycache-clean.lock"
    else:
        assert "not a git repository" in g.stderr, g.stderr
        expected = Path(cwd) / ".pycache-clean.lock"
    r = run("lock", "--", "true", cwd=cwd, env=full_env)
    assert r.rc == 0, str(r)
    assert expected.is_file(), f"{layout}: expected {expected}\n{r}"
    for p in tmp_path.rglob("*pycache-clean.lock"):
        assert p.resolve() == expected.resolve(), f"{layout}: also made {p}"


# --- 4. the PYTHONPYCACHEPREFIX mirror ---------------------------------------------------------

@needs_git
def test_prefix_slash_removes_only_caches(tmp_path):
    """PYTHONPYCACHEPREFIX=/ makes CPython write NAME.TAG.pyc beside each
    source; the sweep removes those and nothing else: the repository's empty
    directories, a sourceless module, excluded trees and virtualenvs stay."""
    proj = tmp_path / "proj"
    proj.mkdir()
    assert git("init", "-q", cwd=proj).returncode == 0
    (proj / "m.py").write_text("X = 1\n")
    (proj / "f").write_text("x\n")
    git("add", ".", cwd=proj)
    assert git("commit", "-q", "-m", "i", cwd=proj).returncode == 0
    py = system_python()
    subprocess.run([py, "-c", "import m"], cwd=proj, check=True,
                   env=base_env(PYTHONPYCACHEPREFIX="/", PYTHONDONTWRITEBYTECODE=None))
    caches = list(proj.glob("m.*.pyc"))
    assert caches, "CPython wrote no cache beside m.py"
    make_tree(proj, ["vendor/blob.pyc", "vendor/mod.pyo", ".tox/py/x.cpython-311.pyc",
                     "venv/lib/y.cpython-311.pyc", "venv/pyvenv.cfg", "emptyish/.keep"])
    (proj / "empty").mkdir()
    before = sorted(p.relative_to(proj) for p in proj.rglob("*") if p.is_dir())
    r = expect(run(proj, env=base_env(PYTHONPYCACHEPREFIX="/")))
    assert not any(proj.glob("m.*.pyc")), r
    after = sorted(p.relative_to(proj) for p in proj.rglob("*") if p.is_dir())
    assert after == before  # no directory removed: none was left empty by the removal
    for keep in ["vendor/blob.pyc", "vendor/mod.pyo", ".tox/py/x.cpython-311.pyc",
                 "venv/lib/y.cpython-311.pyc"]:
        assert (proj / keep).exists(), keep
    assert git("fsck", "--no-progress", cwd=proj).returncode == 0
    assert git("status", "--porcelain", cwd=proj).returncode == 0


def _files_and_dirs(root):
    out = set()
    for d, dirs, files in os.walk(root):
        out.update(os.path.join(d, n) for n in dirs + files)
    return out


@needs_git
@pytest.mark.parametrize("where", ["prefix", "slash"])
def test_dry_run_paths_fed_to_rm_rf_lose_nothing(tmp_path, where):
    """The README's machine-readable dry run, `pycache-clean -n --json | jq -r
    '.removed_paths[]'`, handed to a real `rm -rf`: only caches go, in a
    PYTHONPYCACHEPREFIX mirror holding other files and with
    PYTHONPYCACHEPREFIX=/ (the mirror is the project itself); a real run
    removes and lists exactly the same paths."""
    proj = tmp_path / "proj"
    (proj / "pkg/sub").mkdir(parents=True)
    for rel in ["m.py", "pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/s.py"]:
        (proj / rel).write_text("X = 1\n")
    (proj / "Makefile").write_text("all:\n")
    assert git("init", "-q", cwd=proj).returncode == 0
    git("add", ".", cwd=proj)
    assert git("commit", "-q", "-m", "i", cwd=proj).returncode == 0
    prefix = Path("/") if where == "slash" else tmp_path / "prefix"
    env = base_env(PYTHONPYCACHEPREFIX=str(prefix))
    subprocess.run([system_python(), "-c", "import m, pkg.sub.s"], cwd=proj, check=True,
                   env=base_env(PYTHONPYCACHEPREFIX=str(prefix), PYTHONDONTWRITEBYTECODE=None))
    mirror = prefix / str(proj).lstrip("/")
    assert list((mirror / "pkg/sub").glob("s.*.pyc")), "CPython wrote no cache"
    if where == "prefix":
        (mirror / "pkg/notes.txt").write_text("not a cache\n")  # pkg/ must stay
        (mirror / "empty").mkdir()  # already empty: stays
    top = tmp_path if where == "prefix" else proj
    shutil.copytree(top, tmp_path.parent / (tmp_path.name + "-backup"), symlinks=True)
    before = _files_and_dirs(top)
    caches = {p for p in before if p.endswith(".pyc")}

    dry = json.loads(expect(run("-n", "--json", proj, env=env)).out)
    listed = set(dry["removed_paths"])
    assert str(proj) not in listed and str(mirror) not in listed, listed
    assert listed, dry
    subprocess.run(["rm", "-rf", "--", *listed], check=True)
    lost = before - _files_and_dirs(top)
    for p in lost - caches:  # a directory, and then only one that held caches alone
        assert p in listed, f"{p} went without being a cache"
        assert all(q in caches or q in listed for q in before if q.startswith(p + "/")), p
    assert (proj / "Makefile").exists() and git("fsck", "--no-progress", cwd=proj).returncode == 0
    if where == "prefix":
        assert (mirror / "pkg/notes.txt").exists() and (mirror / "empty").is_dir()

    shutil.rmtree(top)
    shutil.copytree(tmp_path.parent / (tmp_path.name + "-backup"), top, symlinks=True)
    shutil.rmtree(tmp_path.parent / (tmp_path.name + "-backup"))
    real = json.loads(expect(run("--json", proj, env=env)).out)
    assert set(real["removed_paths"]) == listed
    assert _files_and_dirs(top) == before - lost


def test_mirror_removes_the_directories_it_empties(tmp_path):
    proj = tmp_path / "proj"
    (proj / "pkg").mkdir(parents=True)
    (proj / "pkg/a.py").write_text("A = 1\n")
    prefix = tmp_path / "prefix"
    py = system_python()
    subprocess.run([py, "-c", "import pkg.a"], cwd=proj, check=True,
                   env=base_env(PYTHONPYCACHEPREFIX=str(prefix), PYTHONDONTWRITEBYTECODE=None))
    mirror = prefix / str(proj).lstrip("/")
    assert list((mirror / "pkg").glob("a.*.pyc"))
    (mirror / "other").mkdir()  # already empty: stays
    expect(run("--pycache-prefix", prefix, proj), out="Cleared 1/1 __pycache__ directory\n")
    assert not (mirror / "pkg").exists()
    assert (mirror / "other").is_dir() and mirror.is_dir()


@needs_root
def test_link_planted_in_shared_prefix_is_not_followed(shared, tmp_path):
    """Another user who can write a shared prefix points <prefix>/<our project>
    at a directory of ours; the sweep must not empty it."""
    prefix = shared / "pycache"
    as_nobody("mkdir", "-p", str(prefix))
    proj = Path(tempfile.mkdtemp(prefix="proj-", dir="/tmp"))
    try:
        target = tmp_path / "ours"
        make_tree(target, ["m.cpython-311.pyc", "sub/n.cpython-311.pyc"])
        mirror_parent = prefix / str(proj.parent).lstrip("/")
        as_nobody("mkdir", "-p", str(mirror_parent))
        as_nobody("ln", "-s", str(target), str(mirror_parent / proj.name))
        r = expect(run("--strict", proj, env=base_env(PYTHONPYCACHEPREFIX=str(prefix))), rc=1)
        assert f"{mirror_parent / proj.name}: a symbolic link (never followed)" in r.err, r
        assert (target / "m.cpython-311.pyc").exists() and (target / "sub/n.cpython-311.pyc").exists()
    finally:
        shutil.rmtree(proj)


def test_mirror_20000_levels_deep_does_not_crash(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    prefix = tmp_path / "prefix"
    mirror = prefix / str(proj).lstrip("/")
    mirror.mkdir(parents=True)
    fd = os.open(mirror, os.O_RDONLY)
    for _ in range(20000):
        os.mkdir("d", dir_fd=fd)
        nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.close(os.open("m.cpython-311.pyc", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    os.close(fd)
    try:
        r = expect(run("--pycache-prefix", prefix, proj, timeout=300),
                   out="Cleared 1/1 __pycache__ directory\n")
        assert r.err == ""
    finally:
        subprocess.run(["rm", "-rf", str(prefix)], check=False)


def test_dotdot_path_finds_its_mirror(tmp_path):
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    prefix = tmp_path / "prefix"
    make_tree(prefix / str(proj).lstrip("/"), ["m.cpython-311.pyc"])
    expect(run("--pycache-prefix", prefix, "..", cwd=proj / "sub"),
           out="Cleared 1/1 __pycache__ directory\n")


def test_mirror_that_cannot_be_opened_fails_strict(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    (prefix / str(tmp_path).lstrip("/")).parent.mkdir(parents=True)
    # a file where the mirror's directory should be
    (prefix / str(tmp_path).lstrip("/")).write_text("not a directory")
    expect(run("--strict", "--pycache-prefix", prefix, proj), rc=1, err_has="Not a directory")


# --- 5. mounts inside caches, and -x ------------------------------------------------------------

def test_bind_mount_inside_a_cache_is_never_emptied(tmp_path):
    """A bind mount of the same file system (same st_dev) inside a cache."""
    data = tmp_path / "volume"
    make_tree(data, ["keep.txt", "deep/keep2.txt"])
    make_tree(tmp_path / "proj", ["pkg/__pycache__/a.pyc", "pkg/__pycache__/mnt/.x",
                                  "other/__pycache__/b.pyc"])
    p = in_mount_namespace(f'''
        mount --bind "{data}" "{tmp_path}/proj/pkg/__pycache__/mnt" || exit 77
        set +e
        "{BIN}" "{tmp_path}/proj"; echo "rc=$?"
    ''')
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    assert "Cleared 1/2 __pycache__ directories" in p.stdout
    assert f"{tmp_path}/proj/pkg/__pycache__/mnt: a mount point" in p.stderr
    assert (data / "keep.txt").exists() and (data / "deep/keep2.txt").exists()
    assert not (tmp_path / "proj/other/__pycache__").exists()


@pytest.mark.parametrize("flags", [[], ["-x"]], ids=["plain", "one-file-system"])
def test_stale_only_keeps_a_bind_mounted_cache(tmp_path, flags):
    """`clean --stale-only` removes through the sweep's mount-safe opens: a
    `__pycache__` that is a bind mount of the same file system, holding files
    `check` does not call ok, is kept and reported; a real stale cache beside
    it goes. Also in the PYTHONPYCACHEPREFIX mirror."""
    data = tmp_path / "volume"
    make_tree(data, ["m.cpython-311.pyc", "n.cpython-311.pyc"])
    make_tree(tmp_path / "proj", ["pkg/m.py", "pkg/n.py", "pkg/__pycache__/.mnt",
                                  "other/o.py", "other/__pycache__/o.cpython-311.pyc"])
    prefix = tmp_path / "prefix"
    mirror = prefix / str(tmp_path / "proj").lstrip("/")
    make_tree(mirror, ["other/o.cpython-311.pyc", "vol/.mnt"])
    make_tree(tmp_path / "proj", ["vol/x.py"])
    p = in_mount_namespace(f'''
        mount --bind "{data}" "{tmp_path}/proj/pkg/__pycache__" || exit 77
        mount --bind "{data}" "{mirror}/vol" || exit 77
        set +e
        "{BIN}" clean --stale-only {" ".join(flags)} --pycache-prefix "{prefix}" "{tmp_path}/proj"
        echo "rc=$?"
    ''')
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    assert f"{tmp_path}/proj/pkg/__pycache__: a mount point" in p.stderr, p.stderr
    assert f"{mirror}/vol: a mount point" in p.stderr, p.stderr
    assert sorted(os.listdir(data)) == ["m.cpython-311.pyc", "n.cpython-311.pyc"]
    assert not (tmp_path / "proj/other/__pycache__/o.cpython-311.pyc").exists()
    assert not (mirror / "other/o.cpython-311.pyc").exists()


def test_stale_only_dry_run_names_exactly_what_the_run_then_removes(tmp_path):
    """`clean --stale-only -n` decides through the same mount-safe opens as
    the run: the caches of a bind-mounted `__pycache__` are neither listed nor
    removed, the stale ones beside it are listed, and nothing goes until the
    real run, which removes exactly the listed ones."""
    data = tmp_path / "volume"
    make_tree(data, ["m.cpython-311.pyc"])
    make_tree(tmp_path / "proj", ["pkg/m.py", "pkg/__pycache__/.mnt", "other/o.py",
                                  "other/__pycache__/o.cpython-311.pyc",
                                  "other/__pycache__/p.cpython-311.pyc"])
    p = in_mount_namespace(f'''
        mount --bind "{data}" "{tmp_path}/proj/pkg/__pycache__" || exit 77
        set +e
        "{BIN}" clean --stale-only -n "{tmp_path}/proj"; echo "rc=$?"
        "{BIN}" clean --stale-only -n --json "{tmp_path}/proj" > "{tmp_path}/dry.json"
        find "{tmp_path}/proj" -name "*.pyc" | sort > "{tmp_path}/after-dry.txt"
        "{BIN}" clean --stale-only --json "{tmp_path}/proj" > "{tmp_path}/real.json"
    ''')
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    listed = [line.split()[1].rstrip(":") for line in p.stdout.splitlines()
              if line.startswith(("orphan", "stale", "corrupt"))]
    other = tmp_path / "proj/other/__pycache__"
    assert sorted(listed) == [f"{other}/o.cpython-311.pyc", f"{other}/p.cpython-311.pyc"], p.stdout
    assert "Would clear 2/2 stale caches (dry run)" in p.stdout
    assert f"{tmp_path}/proj/pkg/__pycache__: a mount point" in p.stderr
    # Nothing was removed by the dry runs.
    assert len((tmp_path / "after-dry.txt").read_text().splitlines()) == 3
    dry = json.loads((tmp_path / "dry.json").read_text())
    real = json.loads((tmp_path / "real.json").read_text())
    assert dry["dry_run"] is True and dry["removed"] == 0 and dry["removable"] == 2
    assert real["dry_run"] is False and real["removed"] == 2
    assert {f["path"] for f in dry["findings"]} == {f["path"] for f in real["findings"]}
    assert sorted(os.listdir(data)) == ["m.cpython-311.pyc"]
    assert not other.exists()


OLD_KERNEL = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "inject=openat2:error=ENOSYS",
              "-e", "inject=statx:error=ENOSYS"]


@pytest.mark.parametrize("proc", ["with-proc", "without-proc"])
@pytest.mark.parametrize("mode", [[], ["--stale-only"], ["-x"]], ids=["plain", "stale-only", "x"])
def test_bind_mount_kept_on_a_kernel_without_openat2_and_statx(tmp_path, mode, proc):
    """A kernel before 5.6/5.8 (or a sandbox) answers openat2 and statx with
    ENOSYS, played by strace's fault injection; a bind mount of the same file
    system keeps its st_dev. The mount ids in /proc/self/fdinfo still tell;
    without /proc nothing can, and then nothing inside a cache is entered."""
    if not shutil.which("strace"):
        pytest.skip("needs strace")
    if proc == "without-proc" and "ASAN_OPTIONS" in os.environ:
        pytest.skip("AddressSanitizer's runtime cannot run without /proc")
    data = tmp_path / "volume"
    make_tree(data, ["keep.txt", "deep/keep2.txt", "m.cpython-311.pyc"])  # not a pyc: stale
    make_tree(tmp_path / "proj", ["pkg/m.py", "pkg/__pycache__/.x",
                                  "other/o.py", "other/__pycache__/o.cpython-311.pyc"])
    hide_proc = "umount -l /proc || exit 77" if proc == "without-proc" else ""
    p = in_mount_namespace(f'''
        mount --bind "{data}" "{tmp_path}/proj/pkg/__pycache__" || exit 77
        {hide_proc}
        set +e
        # LeakSanitizer cannot work under ptrace (strace), nor without /proc.
        ASAN_OPTIONS="${{ASAN_OPTIONS:+$ASAN_OPTIONS:}}detect_leaks=0" \
          {" ".join(OLD_KERNEL)} "{BIN}" {" ".join(mode)} "{tmp_path}/proj"; echo "rc=$?"
    ''')
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    assert sorted(os.listdir(data)) == ["deep", "keep.txt", "m.cpython-311.pyc"], p.stderr
    assert (data / "deep/keep2.txt").exists()
    if proc == "with-proc":
        assert f"{tmp_path}/proj/pkg/__pycache__: a mount point" in p.stderr, p.stderr
        assert not (tmp_path / "proj/other/__pycache__/o.cpython-311.pyc").exists(), p.stderr
    else:
        assert p.stderr.count("cannot tell mount points apart") == 1, p.stderr
        assert "never entered" in p.stderr, p.stderr


def test_one_file_system_stays_on_each_path_mount(tmp_path):
    data = tmp_path / "volume"
    make_tree(data, ["m/__pycache__/x.pyc"])
    make_tree(tmp_path / "proj", ["a/__pycache__/y.pyc", "mnt/.keep"])
    p = in_mount_namespace(f'''
        mount --bind "{data}" "{tmp_path}/proj/mnt" || exit 77
        "{BIN}" -x "{tmp_path}/proj"
        test -e "{tmp_path}/proj/mnt/m/__pycache__/x.pyc" && echo "kept across mount"
        "{BIN}" "{tmp_path}/proj"
    ''')
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["Cleared 1/1 __pycache__ directory", "kept across mount",
                                     "Cleared 1/1 __pycache__ directory"], p.stdout + p.stderr


# --- 7. signals ----------------------------------------------------------------------------------

def test_sigterm_at_any_moment_is_never_lost(tmp_path):
    """SIGTERM sent in the first milliseconds of `lock -- CMD` ends CMD."""
    lock = tmp_path / "l"
    rng = random.Random(7)
    lost = []
    for i in range(120):
        p = subprocess.Popen([BIN, "lock", "--file", lock, "--", "sh", "-c", "sleep 1; echo done"],
                             env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, 0.004))
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=30)
        if b"done" in out or p.returncode == 0:
            lost.append((i, p.returncode))
    assert lost == []


def test_kill_9_of_a_sweep_at_any_moment_loses_nothing_else(tmp_path):
    """SIGKILL in the middle of removals (a half-emptied cache, a directory
    between its last unlink and its rmdir): what is left is cache only, and
    the next sweep clears it and says so."""
    rng = random.Random(11)
    keep = [f"p{i}/mod{i}.py" for i in range(30)] + ["Makefile", ".git/HEAD"]
    for round_ in range(6):
        root = tmp_path / f"r{round_}"
        make_tree(root, keep + [f"p{i}/__pycache__/sub{j}/m{k}.cpython-311.pyc"
                                for i in range(30) for j in range(4) for k in range(15)])
        p = subprocess.Popen([BIN, "-q", root], env=base_env())
        time.sleep(rng.uniform(0.001, 0.03))
        p.send_signal(signal.SIGKILL)
        p.wait()
        for rel in keep:
            assert (root / rel).exists(), (round_, rel)
        left = [d for d, _, _ in os.walk(root) if d.endswith("__pycache__")]
        r = expect(run(root))
        assert r.out == f"Cleared {len(left)}/{len(left)} __pycache__ " \
                        f"{'directory' if len(left) == 1 else 'directories'}\n", r
        assert not [d for d, _, _ in os.walk(root) if "__pycache__" in d]
        assert all((root / rel).exists() for rel in keep)


def _run_in_pty(argv, keys, settle=0.7, timeout=8):
    """Run `argv` as a terminal's foreground job, type `keys`, return (status, seconds)."""
    pid, master = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, base_env())
    try:
        time.sleep(settle)
        os.write(master, keys)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            r, status = os.waitpid(pid, os.WNOHANG)
            if r == pid:
                return status, time.monotonic() - t0
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 4096)
                except OSError:
                    pass
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return None, timeout
    finally:
        os.close(master)


def test_ctrl_c_ends_a_command_in_its_own_process_group(tmp_path):
    """`timeout` moves to a process group of its own, out of the terminal's reach."""
    if not shutil.which("timeout"):
        pytest.skip("needs coreutils timeout")
    status, secs = _run_in_pty([BIN, "lock", "--file", str(tmp_path / "l"), "--",
                                shutil.which("timeout"), "20", "sleep", "20"], b"\x03")
    assert status is not None, "Ctrl-C did not end lock -- timeout 20 sleep 20"
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 128 + signal.SIGINT


# --- 8. names never drive the terminal ---------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def test_escape_sequences_in_names_are_escaped(tmp_path):
    names = ["\x1b]0;pwned\x07/__pycache__/a.pyc", "evil\nCleared 0/0 __pycache__ directories/"
             "__pycache__/a.pyc", "\x1b[2J\x1b[H/__pycache__/b.pyc", "c1\u009b31m/__pycache__/c.pyc"]
    make_tree(tmp_path, names)
    r = expect(run("-v", "-n", tmp_path))
    assert not CONTROL.search(r.out.replace("\n", "")), repr(r.out)
    assert r.out.count("\n") == 5  # four caches and the report: no forged line
    assert "\\x1b]0;pwned\\x07/__pycache__" in r.out and "evil\\nCleared" in r.out
    assert "c1\\xc2\\x9b31m" in r.out
    doc = json.loads(expect(run("check", "--json", "-v", tmp_path), rc=None).out)
    assert any("\x1b]0;pwned\x07" in f["path"] for f in doc["findings"])  # lossless


def test_other_users_command_lines_are_escaped(tmp_path):
    fake = tmp_path / "bin/pytest"  # run as `python3 .../pytest ARGS`: a pytest run by shape
    fake.parent.mkdir()
    fake.write_text("import time\ntime.sleep(30)\n")
    p = subprocess.Popen([system_python(), str(fake), "\x1b]0;title\x07", "\x1b[2J"],
                         cwd=tmp_path)
    try:  # Popen returns once the program is exec'd: its command line is there
        r = expect(run("pytest-running", "--scope", "all", cwd=tmp_path))
        assert str(p.pid) in r.out + r.err
        assert not CONTROL.search((r.out + r.err).replace("\n", "")), repr(r.out + r.err)
        assert "\\x1b]0;title\\x07" in r.out + r.err
    finally:
        p.kill()
        p.wait()


def test_holder_record_is_escaped_for_the_waiter(tmp_path):
    lock = tmp_path / "l"
    holder = subprocess.Popen([BIN, "lock", "--file", lock, "--", "sh", "-c", "sleep 5", "\x1b[2J"],
                              env=base_env(), stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while (not lock.exists() or "pid:" not in lock.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        r = expect(run("lock", "--wait", "0", "--file", lock, "--", "true"), rc=75)
        assert "\\x1b[2J" in r.err and "\x1b" not in r.err, repr(r.err)
    finally:
        holder.kill()
        holder.wait()


# --- 9. memory stays bounded ---------------------------------------------------------------------

def _peak_rss_kib(argv):
    p = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True,
                       env=base_env())
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    assert m, p.stderr
    return int(m.group(1)), p


@pytest.mark.skipif(not os.path.exists("/usr/bin/time"), reason="needs GNU time (package time)")
@pytest.mark.skipif("ASAN_OPTIONS" in os.environ,
                    reason="peak memory says nothing under AddressSanitizer (shadow memory)")
def test_huge_cache_directory_in_bounded_memory(tmp_path):
    """300,000 entries in one __pycache__: clean and check stay under 8 MiB.
    (Each is an empty file: a header CPython cannot use, so `stale`.)"""
    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else tmp_path
    root = Path(tempfile.mkdtemp(prefix="pycache-clean-huge-", dir=base))
    try:
        cache = root / "pkg/__pycache__"
        cache.mkdir(parents=True)
        (root / "pkg/m.py").write_text("X = 1\n")
        fd = os.open(cache, os.O_RDONLY)
        for i in range(300_000):
            os.close(os.open(f"m{i}.cpython-311.pyc", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
        os.close(fd)
        rss, p = _peak_rss_kib([BIN, "check", "-q", str(root)])
        assert p.returncode == 0 and rss < 8 * 1024, (rss, p.stderr[-500:])  # empty: stale
        rss, p = _peak_rss_kib([BIN, str(root)])
        assert p.stdout == "Cleared 1/1 __pycache__ directory\n", p.stdout + p.stderr[-500:]
        assert rss < 8 * 1024, rss
    finally:
        shutil.rmtree(root, ignore_errors=True)


@needs_root
@pytest.mark.skipif(not os.path.exists("/usr/bin/time"), reason="needs GNU time (package time)")
@pytest.mark.skipif("ASAN_OPTIONS" in os.environ,
                    reason="peak memory says nothing under AddressSanitizer (shadow memory)")
def test_300000_unreadable_caches_in_bounded_memory(tmp_path):
    """Another user's 300,000 caches that we may list but not read: each is
    said as it is met, and the --json document lists every one, yet `check`
    stays under 16 MiB (every problem used to be held until the end)."""
    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else tmp_path
    root = Path(tempfile.mkdtemp(prefix="pycache-clean-unreadable-", dir=base))
    os.chmod(root, 0o755)
    try:
        cache = root / "pkg/__pycache__"
        cache.mkdir(parents=True)
        os.chmod(root / "pkg", 0o755), os.chmod(cache, 0o755)
        (root / "pkg/m.py").write_text("X = 1\n")
        fd = os.open(cache, os.O_RDONLY)
        for i in range(300_000):
            os.close(os.open(f"m{i}.cpython-311.pyc", os.O_CREAT | os.O_WRONLY, 0o000, dir_fd=fd))
        os.close(fd)
        for args in (["check", "-q"], ["check", "--json"]):
            rss, p = _peak_rss_kib([*AS_NOBODY, BIN, *args, "--verify", "none", str(root)])
            assert p.returncode == 0, p.stderr[-500:]
            if "--json" in args:
                assert len(json.loads(p.stdout)["unreadable"]) == 300_000
            else:
                assert p.stderr.count("Permission denied (not checked)") == 300_000
            assert rss < 16 * 1024, (args, rss)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _cache_with_header_of(source, py, tmp_path):
    """A real CPython 3.x cache of a one-line module, its header patched to
    the mtime and size of `source`: CPython would trust it for `source`."""
    tiny = tmp_path / "tiny.py"
    tiny.write_text("X = 1\n")
    tag = subprocess.run([py, "-c", "import sys; print(sys.implementation.cache_tag)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    cache = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
    cache.parent.mkdir(exist_ok=True)
    subprocess.run([py, "-c", f"import py_compile; py_compile.compile({str(tiny)!r}, "
                              f"cfile={str(cache)!r}, doraise=True)"], check=True)
    st = os.stat(source)
    data = bytearray(cache.read_bytes())
    data[8:16] = (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") + \
        (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    cache.write_bytes(bytes(data))
    return cache


@pytest.mark.skipif(not os.path.exists("/usr/bin/time"), reason="needs GNU time (package time)")
@pytest.mark.skipif("ASAN_OPTIONS" in os.environ,
                    reason="peak memory says nothing under AddressSanitizer (shadow memory)")
def test_huge_sparse_source_is_not_sent_to_an_interpreter(tmp_path):
    """A sparse 1 GiB m.py (4 KiB on disk) behind a matching header, and a
    9 MiB cache body: `check --verify all` sends neither to an interpreter
    (not verified: larger than 8 MiB, counted) and stays under 16 MiB."""
    py = system_python()
    big = tmp_path / "big.py"
    with open(big, "wb") as f:
        f.write(b"X = 1\n")
        f.truncate(1 << 30)
    _cache_with_header_of(big, py, tmp_path)
    fat = tmp_path / "fat.py"
    fat.write_text("X = 1\n")
    fat_cache = _cache_with_header_of(fat, py, tmp_path)
    with open(fat_cache, "ab") as f:
        f.write(b"\0" * (9 << 20))  # CPython reads a code object and ignores the rest
    t0 = time.monotonic()
    rss, p = _peak_rss_kib([BIN, "check", "--json", "--verify", "all", str(tmp_path)])
    assert time.monotonic() - t0 < 30, "the huge source was read or sent"
    doc = json.loads(p.stdout)
    assert p.returncode == 0, p.stderr
    assert doc["unverified_reasons"]["too_large"] == 2, p.stdout
    assert doc["verified"] == 0
    assert rss < 16 * 1024, rss


# --- 10. smaller ones ---------------------------------------------------------------------------

def test_overlapping_paths_count_each_cache_once(tmp_path):
    make_tree(tmp_path, ["a/__pycache__/x.pyc", "a/b/__pycache__/y.pyc"])
    expect(run("-n", "-j1", tmp_path / "a", tmp_path / "a/b", tmp_path / "a"),
           out=f"{tmp_path}/a/__pycache__\n{tmp_path}/a/b/__pycache__\n"
               "Would clear 2/2 __pycache__ directories (dry run)\n")


def test_exclude_takes_a_name_not_a_path(tmp_path):
    expect(run("--exclude", "a/b", tmp_path), rc=2,
           err_has=["--exclude: 'a/b' is not a directory NAME"])


def test_dry_run_quiet_prints_nothing(tmp_path):
    make_tree(tmp_path, ["a/__pycache__/x.pyc"])
    expect(run("-n", "-q", tmp_path), out="")
    assert (tmp_path / "a/__pycache__/x.pyc").exists()


def test_low_open_file_limit_is_never_a_silent_partial_sweep(tmp_path):
    """Under a real RLIMIT_NOFILE of 11 (soft and hard) the walk adapts (fewer
    workers) and clears every cache; what it could not would be named."""
    if not shutil.which("prlimit"):
        pytest.skip("needs util-linux prlimit")
    files = []
    for i in range(31):
        files.append("/".join(f"d{j}" for j in range(i % 8 + 1)) + f"/x{i}/__pycache__/a.pyc")
    make_tree(tmp_path, files)
    r = run("--strict", "--json", tmp_path, prefix=["prlimit", "--nofile=11:11"])
    doc = json.loads(r.out)
    assert (doc["found"], doc["removed"], doc["failures"], doc["unreadable"]) == (31, 31, [], []), r
    assert r.rc == 0
    assert not [d for d, _, _ in os.walk(tmp_path) if d.endswith("__pycache__")]
