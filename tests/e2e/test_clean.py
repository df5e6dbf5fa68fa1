"""End-to-end tests of `pycache-clean [clean]` on real trees."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BIN, HELPERS, base_env, expect, make_tree, run, system_python

CACHES = ["pkg/__pycache__/a.cpython-311.pyc", "pkg/sub/__pycache__/b.cpython-311.pyc",
          "pkg/sub/__pycache__/nested/odd.txt", "tests/__pycache__/t.cpython-311-pytest-7.2.1.pyc"]


def caches_under(root):
    out = []
    for d, dirs, _ in os.walk(root):
        out += [os.path.join(d, x) for x in dirs if x == "__pycache__"]
    return sorted(out)


def test_report_line_is_exact_and_caches_are_gone(tree):
    make_tree(tree, CACHES + ["pkg/a.py"])
    r = expect(run(cwd=tree), out="Cleared 3/3 __pycache__ directories\n")
    assert r.err == ""
    assert caches_under(tree) == []
    assert (tree / "pkg/a.py").exists()


def test_explicit_clean_subcommand_and_paths(tree):
    make_tree(tree, CACHES)
    expect(run("clean", tree / "pkg"), out="Cleared 2/2 __pycache__ directories\n")
    expect(run("clean", tree / "tests", tree / "pkg"), out="Cleared 1/1 __pycache__ directory\n")


def test_nothing_to_do(tree):
    expect(run(tree), out="Cleared 0/0 __pycache__ directories\n")


def test_real_cpython_caches_are_cleared(tree):
    make_tree(tree, [])
    (tree / "pkg").mkdir()
    (tree / "pkg/__init__.py").write_text("X = 1\n")
    (tree / "pkg/mod.py").write_text("Y = 2\n")
    py = system_python()
    subprocess.run([py, "-m", "compileall", "-q", str(tree)], check=True)
    subprocess.run([py, "-c", "import pkg.mod"], cwd=tree, check=True,
                   env=base_env(PYTHONDONTWRITEBYTECODE=None))
    assert caches_under(tree)
    expect(run(tree), out="Cleared 1/1 __pycache__ directory\n")
    assert caches_under(tree) == []


def test_verbose_lists_each_removed_directory(tree):
    make_tree(tree, CACHES)
    r = expect(run("-v", tree))
    listed = sorted(line for line in r.out.splitlines() if not line.startswith("Cleared"))
    assert listed == sorted(str(tree / d) for d in
                            ["pkg/__pycache__", "pkg/sub/__pycache__", "tests/__pycache__"])


def test_quiet_prints_nothing(tree):
    make_tree(tree, CACHES)
    expect(run("-q", tree), out="")
    assert caches_under(tree) == []


def test_json_report(tree):
    make_tree(tree, CACHES + ["legacy.pyc"])
    r = expect(run("--json", "--stray", tree))
    doc = json.loads(r.out)
    assert doc["found"] == 3 and doc["removed"] == 3
    assert doc["failures"] == [] and doc["missing"] == []
    assert doc["stray"] == {"found": 1, "removed": 1}
    assert isinstance(doc["elapsed_ms"], float)


def test_dry_run_lists_and_removes_nothing(tree):
    make_tree(tree, CACHES)
    r = expect(run("-n", tree))
    assert r.out.splitlines()[-1] == "Would clear 3/3 __pycache__ directories (dry run)"
    assert len(r.out.splitlines()) == 4
    assert len(caches_under(tree)) == 3
    expect(run(tree), out="Cleared 3/3 __pycache__ directories\n")


def test_default_excludes_and_named_path_in_skip_list(tree):
    make_tree(tree, [".git/x/__pycache__/a.pyc", ".tox/py/__pycache__/a.pyc",
                     "node_modules/p/__pycache__/a.pyc", "env/pyvenv.cfg",
                     "env/lib/python3.11/site-packages/__pycache__/a.pyc", "src/__pycache__/a.pyc"])
    expect(run(tree), out="Cleared 1/1 __pycache__ directory\n")
    assert (tree / "env/lib/python3.11/site-packages/__pycache__").exists()
    # A PATH named by the user is swept even when its name is skipped below a root.
    expect(run(tree / ".tox"), out="Cleared 1/1 __pycache__ directory\n")
    expect(run(tree / "env"), out="Cleared 1/1 __pycache__ directory\n")
    expect(run("--no-default-excludes", tree), out="Cleared 2/2 __pycache__ directories\n")


def test_extra_exclude(tree):
    make_tree(tree, ["build/__pycache__/a.pyc", "src/__pycache__/a.pyc"])
    expect(run("--exclude", "build", tree), out="Cleared 1/1 __pycache__ directory\n")
    assert (tree / "build/__pycache__").exists()


def test_help_names_what_is_skipped():
    r = expect(run("clean", "--help"))
    for name in (".git", ".hg", ".svn", ".tox", ".nox", "node_modules", "pyvenv.cfg"):
        assert name in r.out


def test_missing_path_is_an_error_and_others_are_swept(tree):
    make_tree(tree, ["pkg/__pycache__/a.pyc"])
    r = expect(run(tree / "nope", tree / "pkg"), rc=1,
               err_has=f"pycache-clean: error: {tree / 'nope'}: No such file or directory")
    assert r.out == "Cleared 1/1 __pycache__ directory\n"


def test_usage_errors_exit_2():
    expect(run("--frobnicate"), rc=2, err_has="--frobnicate")
    expect(run("clean", "-j", "0"), rc=2, err_has="-j")
    expect(run("clen"), rc=2, err_has="did you mean 'clean'?")


def test_version_matches_project():
    cmake = open(os.path.join(os.path.dirname(__file__), "../../CMakeLists.txt")).read()
    version = re.search(r"project\(pycache-clean VERSION ([0-9.]+)", cmake).group(1)
    expect(run("--version"), out=f"pycache-clean {version}\n")


def test_symlinks_are_never_followed(tree):
    outside = tree / "outside"
    make_tree(outside, ["__pycache__/canary.pyc", "sub/__pycache__/canary.pyc", "canary.txt"])
    proj = tree / "proj"
    make_tree(proj, ["real/__pycache__/a.pyc"])
    os.symlink(outside, proj / "__pycache__")          # a symlink named __pycache__
    os.symlink(outside, proj / "linked")               # a symlinked dir holding caches
    os.symlink(outside / "canary.txt", proj / "real/__pycache__/link")  # link inside a cache
    expect(run(proj), out="Cleared 1/1 __pycache__ directory\n")
    for f in ["__pycache__/canary.pyc", "sub/__pycache__/canary.pyc", "canary.txt"]:
        assert (outside / f).exists(), f
    assert os.path.islink(proj / "__pycache__")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux-only")
def test_directory_swapped_for_symlink_mid_run(tree):
    """A racer exchanges a real directory and a symlink to an outside tree
    (renameat2 RENAME_EXCHANGE) while sweeps run: the outside canary survives."""
    racer = HELPERS / "swap_racer"
    if not racer.exists():
        pytest.skip("swap_racer helper not built")
    outside = tree / "outside"
    canaries = [f"d{i}/__pycache__/canary{j}.pyc" for i in range(20) for j in range(5)]
    make_tree(outside, canaries)
    proj = tree / "proj"
    files = [f"victim/d{i}/__pycache__/m{j}.pyc" for i in range(20) for j in range(5)]
    make_tree(proj, files)
    os.symlink(outside, proj / "swap")
    p = subprocess.Popen([racer, proj / "victim", proj / "swap", "3"], stdout=subprocess.PIPE)
    runs = 0
    try:
        while p.poll() is None:
            r = run(proj)
            assert r.rc == 0, str(r)
            runs += 1
            try:  # refill whichever real directory holds the victim's caches now
                make_tree(proj, files)
            except OSError:
                pass
    finally:
        p.wait()
    assert int(p.stdout.read()) > 100
    assert runs > 0
    for c in canaries:
        assert (outside / c).exists(), c


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux-only")
def test_named_cache_swapped_for_symlink_mid_run(tree):
    """`clean proj/__pycache__` while a racer exchanges that cache and a link
    to an outside tree: whenever the name is a link (when the PATHs are
    opened, or later when the cache is handed over) it is not followed."""
    racer = HELPERS / "swap_racer"
    if not racer.exists():
        pytest.skip("swap_racer helper not built")
    outside = tree / "outside"
    canaries = ["Makefile", "src/keep.py", "__pycache__/canary.pyc"]
    make_tree(outside, canaries)
    proj = tree / "proj"
    files = [f"__pycache__/m{j}.pyc" for j in range(20)] + [f"__pycache__/d/n{j}.pyc"
                                                           for j in range(20)]
    make_tree(proj, files)
    os.symlink(outside, proj / "swap")
    # A second PATH widens the window between opening the named cache's
    # parent and handing the cache over.
    make_tree(tree / "other", [f"d{i}/__pycache__/x.pyc" for i in range(50)])
    p = subprocess.Popen([racer, proj / "__pycache__", proj / "swap", "3"],
                         stdout=subprocess.PIPE)
    runs = 0
    try:
        while p.poll() is None:
            r = run(proj / "__pycache__", tree / "other")
            assert r.rc in (0, 1), str(r)  # 1: the name was a link when looked at
            runs += 1
            for f in files:  # refill whichever real directory the name has now
                try:
                    os.makedirs(os.path.dirname(proj / f), exist_ok=True)
                    (proj / f).touch()
                except OSError:
                    pass
    finally:
        p.wait()
    assert p.returncode == 0
    assert int(p.stdout.read()) > 100
    assert runs > 0
    for c in canaries:
        assert (outside / c).exists(), c


def test_tree_deeper_than_path_max(tree):
    name = "d" * 200
    fd = os.open(tree, os.O_RDONLY)
    for _ in range(30):  # 30 * 201 > 4096
        os.mkdir(name, dir_fd=fd)
        nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.mkdir("__pycache__", dir_fd=fd)
    os.close(os.open("__pycache__/m.pyc", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    r = expect(run("-v", tree))
    assert r.out.endswith("Cleared 1/1 __pycache__ directory\n")
    assert len(r.out.splitlines()[0]) > 4096
    assert "__pycache__" not in os.listdir(fd)
    os.close(fd)
    os.rename(tree / name, tree / "cut")
    subprocess.run(["rm", "-rf", tree / "cut"])


def test_odd_names(tree):
    names = [b"with space/__pycache__/a.pyc", b"new\nline/__pycache__/a.pyc",
             b"bad\xff\xfebytes/__pycache__/a.pyc", "caf\u00e9/__pycache__/a.pyc".encode()]
    make_tree(tree, names)
    r = expect(run("--json", tree))
    assert json.loads(r.out)["removed"] == 4
    assert caches_under(os.fsencode(tree)) == []
    make_tree(tree, names)
    r = expect(run("-v", "-n", tree))
    # Listed one per line, control characters and stray bytes escaped.
    assert f"{tree}/bad\\xff\\xfebytes/__pycache__\n" in r.out
    assert f"{tree}/new\\nline/__pycache__\n" in r.out
    assert f"{tree}/caf\u00e9/__pycache__\n" in r.out


def test_json_file_names_round_trip(tree):
    """A path that is not UTF-8 comes back byte-exact through os.fsencode."""
    make_tree(tree, [b"bad\xffname/__pycache__/a.pyc"])
    r = expect(run("--json", tree / "missing\udcff"), rc=1)
    missing = json.loads(r.out)["missing"][0]["path"]
    assert os.fsencode(missing) == os.fsencode(tree) + b"/missing\xff"


def _can_setpriv():
    return os.geteuid() == 0 and shutil.which("setpriv")


@pytest.fixture
def public_tree():
    """A tree an unprivileged user can reach (pytest's tmp_path is private)."""
    import tempfile
    path = tempfile.mkdtemp(prefix="pycache-clean-e2e-", dir="/tmp")
    os.chmod(path, 0o755)
    from pathlib import Path
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def _locked_tree(tree):
    """Three caches, the tree owned by nobody except one cache that root owns:
    run as nobody, that one cannot be emptied."""
    os.chmod(tree, 0o755)
    make_tree(tree, ["a/__pycache__/x.pyc", "b/__pycache__/x.pyc", "locked/__pycache__/x.pyc"])
    shutil.copy(BIN, tree / "pycache-clean")
    os.chmod(tree / "pycache-clean", 0o755)
    for d, dirs, files in os.walk(tree):
        for x in dirs + files:
            os.chown(os.path.join(d, x), 65534, 65534)
    os.chown(tree, 65534, 65534)
    os.chown(tree / "locked/__pycache__", 0, 0)
    os.chown(tree / "locked/__pycache__/x.pyc", 0, 0)
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.skipif(not _can_setpriv(), reason="needs root and setpriv to run as an unprivileged user")
def test_locked_entry_is_kept_reported_and_exit_0(public_tree):
    tree = public_tree
    prefix = _locked_tree(tree)
    expect(run(tree, binary=str(tree / "pycache-clean"), prefix=prefix),
           out="Cleared 2/3 __pycache__ directories\n",
           err_has=[f"{tree}/locked/__pycache__/x.pyc: Permission denied", "warning"])
    assert (tree / "locked/__pycache__/x.pyc").exists()
    assert not (tree / "a/__pycache__").exists()


@pytest.mark.skipif(not _can_setpriv(), reason="needs root and setpriv to run as an unprivileged user")
def test_locked_entry_with_strict_exits_1(public_tree):
    tree = public_tree
    prefix = _locked_tree(tree)
    expect(run("--strict", tree, binary=str(tree / "pycache-clean"), prefix=prefix), rc=1,
           out="Cleared 2/3 __pycache__ directories\n", err_has="Permission denied")


@pytest.mark.skipif(not _can_setpriv(), reason="needs root and setpriv to run as an unprivileged user")
def test_unreadable_subtree_does_not_stop_the_walk(public_tree):
    tree = public_tree
    prefix = _locked_tree(tree)
    os.makedirs(tree / "secret/__pycache__")
    os.chmod(tree / "secret", 0o700)  # owned by root: nobody cannot enter
    r = expect(run(tree, binary=str(tree / "pycache-clean"), prefix=prefix),
               err_has=f"{tree}/secret: Permission denied")
    assert r.out == "Cleared 2/3 __pycache__ directories\n"


def test_immutable_file_if_supported(tree):
    make_tree(tree, ["a/__pycache__/x.pyc", "b/__pycache__/x.pyc"])
    if os.geteuid() != 0 or not shutil.which("chattr"):
        pytest.skip("needs root and chattr")
    if subprocess.run(["chattr", "+i", tree / "b/__pycache__/x.pyc"],
                      capture_output=True).returncode != 0:
        pytest.skip("this file system does not support the immutable attribute")
    try:
        expect(run(tree), out="Cleared 1/2 __pycache__ directories\n",
               err_has="Operation not permitted")
        expect(run("--strict", tree), rc=1, out="Cleared 0/1 __pycache__ directory\n")
    finally:
        subprocess.run(["chattr", "-i", tree / "b/__pycache__/x.pyc"])


def test_two_sweeps_racing_on_one_tree(tree):
    make_tree(tree, [f"p{i}/q{j}/__pycache__/m{k}.pyc"
                     for i in range(30) for j in range(10) for k in range(3)])
    procs = [subprocess.Popen([BIN, "--json", tree], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=base_env()) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert err == b"", err
        doc = json.loads(out)
        assert doc["failures"] == []
    assert sum(json.loads(o)["found"] for o, _ in outs) >= 300
    assert caches_under(tree) == []


@pytest.mark.parametrize("reader", [["check"], ["clean", "--stale-only", "--strict"]],
                         ids=["check", "stale-only"])
def test_check_racing_a_sweep_reports_no_vanished_cache(tree, reader):
    """A `check` or `clean --stale-only --strict` of a tree that a plain
    sweep empties at the same moment: a cache the sweep removed first is
    nobody's failure (the rule the sweep already follows for a directory
    another run removed). Rounds until the reader saw the sweep's work."""
    raced = 0
    for _ in range(20):
        make_tree(tree, [f"p{i}/q{j}/__pycache__/m{k}.cpython-311.pyc"
                         for i in range(20) for j in range(10) for k in range(8)])
        sweep = subprocess.Popen([BIN, "-q", tree], env=base_env(), stderr=subprocess.PIPE)
        r = run(*reader, "--verify", "none", "--json", tree)
        sweep.communicate(timeout=60)
        assert r.rc == 0, r
        assert "No such file" not in r.err and "not checked" not in r.err, r
        doc = json.loads(r.out)
        assert doc["unreadable"] == [] and doc["failures"] == [], r
        raced += doc["checked"] < 1600
        if raced >= 3:
            break
    assert raced >= 3, "the sweep never overtook the reader: no race was run"


def test_stray_bytecode(tree):
    make_tree(tree, ["legacy.pyc", "pkg/old.pyo", "pkg/__pycache__/a.pyc", "keep.py"])
    expect(run(tree), out="Cleared 1/1 __pycache__ directory\n")
    assert (tree / "legacy.pyc").exists()
    r = expect(run("--stray", "--dry-run", tree))
    assert r.out.splitlines()[-2:] == ["Would clear 0/0 __pycache__ directories (dry run)",
                                      "Would remove 2/2 stray bytecode files (dry run)"], r
    assert (tree / "legacy.pyc").exists()
    expect(run("--stray", tree),
           out="Cleared 0/0 __pycache__ directories\nRemoved 2/2 stray bytecode files\n")
    assert not (tree / "legacy.pyc").exists() and (tree / "keep.py").exists()


def test_pycache_prefix_from_environment(tree):
    proj = tree / "proj"
    proj.mkdir()
    (proj / "mod.py").write_text("X = 1\n")
    prefix = tree / "prefix"
    py = system_python()
    subprocess.run([py, "-S", "-c", "import mod"], cwd=proj, check=True,
                   env=base_env(PYTHONDONTWRITEBYTECODE=None, PYTHONPYCACHEPREFIX=str(prefix)))
    mirror = str(prefix) + str(proj)  # <prefix>/<absolute dir without its root>
    written = [os.path.join(d, f) for d, _, fs in os.walk(mirror) for f in fs]
    assert len(written) == 1 and written[0].endswith(".pyc"), written
    expect(run(proj, env=base_env(PYTHONPYCACHEPREFIX=str(prefix))),
           out="Cleared 1/1 __pycache__ directory\n")
    assert not os.path.exists(written[0])
    # --pycache-prefix does the same without the environment variable.
    subprocess.run([py, "-S", "-c", "import mod"], cwd=proj, check=True,
                   env=base_env(PYTHONDONTWRITEBYTECODE=None, PYTHONPYCACHEPREFIX=str(prefix)))
    assert os.path.exists(written[0])
    r = run("--pycache-prefix", prefix, proj)
    expect(r, out="Cleared 1/1 __pycache__ directory\n")
    assert not os.path.exists(written[0])


def test_deep_bushy_tree_under_a_low_descriptor_limit(tree):
    """Depth 300, a sibling with a cache at every level: the walk keeps one
    descriptor per level with pending siblings. With a soft limit of 64 the
    sweep raises it to the hard limit and still finds every cache."""
    fd = os.open(tree, os.O_RDONLY)
    for _ in range(300):
        os.mkdir("s", dir_fd=fd)
        os.mkdir("s/__pycache__", dir_fd=fd)
        os.mkdir("d", dir_fd=fd)
        nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.close(fd)
    r = subprocess.run(["bash", "-c", f'ulimit -Sn 64 && exec "{BIN}" -j1 "{tree}"'],
                       capture_output=True, text=True, env=base_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Cleared 300/300 __pycache__ directories\n", r.stderr


def test_cache_refilled_while_sweeping(tree):
    """A writer keeps recreating a cache (as a running import does) while sweeps
    run: each sweep exits 0 and counts a refilled directory as kept, with the
    reason; once the writer stops, the next sweep clears everything."""
    import threading
    stop = threading.Event()
    cache = tree / "pkg/__pycache__"

    def writer():
        n = 0
        while not stop.is_set():
            try:
                cache.mkdir(parents=True, exist_ok=True)
                (cache / f"m{n % 50}.pyc").write_bytes(b"x")
            except OSError:
                pass
            n += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(30):
            r = run("--json", tree)
            assert r.rc == 0, str(r)
            doc = json.loads(r.out)
            assert doc["removed"] + len(doc["failures"]) == doc["found"], doc
            for f in doc["failures"]:
                assert f["error"] == "Directory not empty", f
    finally:
        stop.set()
        t.join()
    expect(run(tree))
    assert not cache.exists()


def test_read_only_file_system_and_busy_mount(tree):
    """Real EROFS and a mount, in a private mount namespace (unshare -m, as root):
    a cache on a read-only tmpfs and a cache that is itself a mount point are
    kept and reported (the mount's file untouched); the third cache is
    removed; exit 0."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and util-linux unshare")
    make_tree(tree, ["plain/__pycache__/a.pyc"])
    (tree / "ro").mkdir()
    (tree / "busy/__pycache__").mkdir(parents=True)
    script = f'''
        mount -t tmpfs none "{tree}/ro" &&
        mkdir -p "{tree}/ro/pkg/__pycache__" && : > "{tree}/ro/pkg/__pycache__/a.pyc" &&
        mount -o remount,ro "{tree}/ro" &&
        mount -t tmpfs none "{tree}/busy/__pycache__" || exit 77
        : > "{tree}/busy/__pycache__/on-another-fs.pyc"
        "{BIN}" "{tree}"; rc=$?
        test -e "{tree}/busy/__pycache__/on-another-fs.pyc" || echo "LOST a file of the mount" >&2
        exit $rc
    '''
    p = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                       env=base_env())
    if p.returncode == 77 or "unshare failed" in p.stderr:
        pytest.skip("cannot mount in a private namespace here: " + p.stderr.strip())
    assert p.returncode == 0, p.stderr
    assert p.stdout == "Cleared 1/3 __pycache__ directories\n", p.stdout + p.stderr
    assert f"{tree}/ro/pkg/__pycache__/a.pyc: Read-only file system (kept)" in p.stderr
    assert f"{tree}/busy/__pycache__: a mount point (another file system is never entered)" \
        in p.stderr
    assert "LOST" not in p.stderr
    assert not (tree / "plain/__pycache__").exists()
