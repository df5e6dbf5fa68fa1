"""The Windows build (pycache-clean.exe) end to end, under Wine.

CTest runs this file for the MinGW cross build. Each test drives the .exe and
the helper hold_open.exe through Wine on real trees of this machine (Wine maps
them to drive Z:). What Wine itself lacks is skipped with the reason: Wine 8
cannot create junctions (FSCTL_SET_REPARSE_POINT), but it shows Unix symbolic
links to Windows programs as reparse points, which stands in for them.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, HELPERS, base_env, expect, make_tree, run, wait_for_file

WINE = os.environ.get("PYCACHE_CLEAN_WINE", "")
HOLD_OPEN = HELPERS / "hold_open.exe"


def _wine_usable():
    if not BIN.endswith(".exe"):
        return "not the Windows build"
    if not WINE or not os.access(WINE, os.X_OK):
        return "no Wine runner (apt-get install wine64)"
    try:
        r = subprocess.run([WINE, BIN, "--version"], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"Wine does not start: {e}"
    return None if r.returncode == 0 else f"Wine cannot run the .exe: {r.stderr.strip()}"


_WHY_NOT = _wine_usable()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=_WHY_NOT or "")


def win(*args, **kw):
    return run(*args, prefix=(WINE,), **kw)


def hold_open(cwd, path, *mode):
    """Start hold_open.exe on `path`; returns the process once the file is held."""
    ready = Path(cwd) / "held.ready"
    p = subprocess.Popen([WINE, str(HOLD_OPEN), path, "held.ready", *mode], cwd=cwd,
                         stdin=subprocess.PIPE, env=base_env())
    wait_for_file(ready, timeout=60)
    return p


def release(p):
    p.stdin.close()
    assert p.wait(timeout=60) == 0


@pytest.fixture
def proj(tmp_path):
    make_tree(tmp_path / "proj", [
        "pkg/__init__.py", "pkg/__pycache__/__init__.cpython-311.pyc",
        "pkg/sub/__pycache__/m.cpython-311.pyc", "pkg/sub/__pycache__/nested/x.txt",
        "tests/__pycache__/test_a.cpython-311-pytest-8.0.0.pyc",
    ])
    return tmp_path


def test_sweep_reports_and_removes_every_cache(proj):
    r = expect(win("proj", cwd=proj), out="Cleared 3/3 __pycache__ directories\n")
    assert not list((proj / "proj").rglob("__pycache__")), r
    assert (proj / "proj/pkg/__init__.py").exists()


def test_paths_print_as_typed_with_backslashes(proj):
    r = expect(win("-v", "proj\\pkg", cwd=proj))
    assert "proj\\pkg\\__pycache__\n" in r.out and "proj\\pkg\\sub\\__pycache__\n" in r.out, r


@pytest.mark.parametrize("mode", ["open", "map"])
def test_cache_held_without_share_delete_is_kept_reported_exit_0(proj, mode):
    held = "proj\\pkg\\sub\\__pycache__\\m.cpython-311.pyc"
    p = hold_open(proj, held, *(["map"] if mode == "map" else []))
    try:
        r = expect(win("proj", cwd=proj), out="Cleared 2/3 __pycache__ directories\n",
                   err_has=["m.cpython-311.pyc", "in use by another process"])
        assert "warning" in r.err
        assert (proj / "proj/pkg/sub/__pycache__/m.cpython-311.pyc").exists()
        assert not (proj / "proj/pkg/__pycache__").exists()
        expect(win("--strict", "proj", cwd=proj), rc=1)
    finally:
        release(p)
    expect(win("proj", cwd=proj), out="Cleared 1/1 __pycache__ directory\n")


def test_read_only_cache_file_is_removed(proj):
    cache = proj / "proj/pkg/__pycache__/__init__.cpython-311.pyc"
    r = subprocess.run([WINE, "cmd", "/c", "attrib", "+r", "proj\\pkg\\__pycache__\\*.pyc"],
                       cwd=proj, capture_output=True, text=True, env=base_env())
    if r.returncode != 0 or cache.stat().st_mode & 0o222:
        cache.chmod(0o444)  # Wine shows a file without write permission as read-only
    expect(win("proj", cwd=proj), out="Cleared 3/3 __pycache__ directories\n")
    assert not cache.exists()


def test_links_are_never_followed(tmp_path):
    make_tree(tmp_path / "outside", ["__pycache__/keep.pyc", "keep.txt"])
    make_tree(tmp_path / "proj", ["real/__pycache__/a.pyc"])
    os.symlink("../outside", tmp_path / "proj/__pycache__")
    os.symlink("../outside", tmp_path / "proj/linked")
    expect(win("proj", cwd=tmp_path), out="Cleared 1/1 __pycache__ directory\n")
    assert (tmp_path / "outside/__pycache__/keep.pyc").exists()
    assert (tmp_path / "outside/keep.txt").exists()
    assert os.path.islink(tmp_path / "proj/__pycache__")


def test_link_inside_a_cache_never_takes_its_target(tmp_path):
    """Wine opens a Unix symlink's target even with FILE_OPEN_REPARSE_POINT; the
    sweep notices (the handle's name is not the link's) and keeps the link."""
    make_tree(tmp_path / "outside", ["__pycache__/keep.pyc", "keep.txt"])
    make_tree(tmp_path / "proj", ["real/__pycache__/a.pyc"])
    os.symlink("../../../outside/__pycache__", tmp_path / "proj/real/__pycache__/dlink")
    os.symlink("../../../outside/keep.txt", tmp_path / "proj/real/__pycache__/flink")
    r = expect(win("proj", cwd=tmp_path))
    assert (tmp_path / "outside/__pycache__/keep.pyc").exists(), r
    assert (tmp_path / "outside/keep.txt").exists(), r
    if (tmp_path / "proj/real/__pycache__").exists():
        assert "reparse point" in r.err and "Cleared 0/1" in r.out, r
    else:
        assert "Cleared 1/1" in r.out, r  # Windows itself: the links go, not their targets


def test_junction_is_never_followed(tmp_path):
    make_tree(tmp_path / "outside", ["keep.pyc"])
    make_tree(tmp_path / "proj", ["real/__pycache__/a.pyc"])
    r = subprocess.run([WINE, "cmd", "/c", "mklink", "/J", "proj\\__pycache__", "outside"],
                       cwd=tmp_path, capture_output=True, text=True, env=base_env())
    if r.returncode != 0 or not (tmp_path / "proj/__pycache__").exists():
        pytest.skip("this Wine cannot create junctions (no FSCTL_SET_REPARSE_POINT); "
                    f"mklink said: {(r.stdout + r.stderr).strip()!r}")
    expect(win("proj", cwd=tmp_path), out="Cleared 1/1 __pycache__ directory\n")
    assert (tmp_path / "outside/keep.pyc").exists()


def test_non_ascii_names_round_trip(tmp_path):
    make_tree(tmp_path / "café", ["módulo/__pycache__/m.cpython-311.pyc", "日本/__pycache__/x.pyc"])
    r = expect(win("-v", "café", cwd=tmp_path), out_has="Cleared 2/2")
    assert "módulo" in r.out and "日本" in r.out, r
    assert not list((tmp_path / "café").rglob("__pycache__"))


def test_exit_codes(tmp_path):
    expect(win("--frobnicate", cwd=tmp_path), rc=2, err_has="--frobnicate")
    expect(win("clen", cwd=tmp_path), rc=2, err_has="did you mean 'clean'?")
    expect(win("missing", cwd=tmp_path), rc=1, err_has="missing: No such file or directory")
    expect(win("lock", "--", "no-such-program-xyz", cwd=tmp_path), rc=127,
           err_has="no-such-program-xyz")
    expect(win("lock", "--", "cmd", "/c", "exit 7", cwd=tmp_path), rc=7)
    r = expect(win("test", "--", "cmd", "/c", "echo [%PYTHONDONTWRITEBYTECODE%]", cwd=tmp_path))
    assert "[1]" in r.out, r


def test_lock_excludes_concurrent_holders(tmp_path):
    """Several processes under `lock`: the sections they run never overlap."""
    helper = str(HOLD_OPEN)
    procs = [subprocess.Popen([WINE, BIN, "lock", "--wait", "120", "--", helper, "section",
                               "inside.marker", "300"],
                              cwd=tmp_path, env=base_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for rc, err in results:
        assert rc == 0, err  # 3 would mean a section found another one inside
    assert not (tmp_path / "inside.marker").exists()


def test_lock_waiter_gives_up_with_75_and_names_the_holder(tmp_path):
    make_tree(tmp_path, ["x.pyc"])
    holder = subprocess.Popen([WINE, BIN, "lock", "--", str(HOLD_OPEN), "x.pyc", "held.ready"],
                              cwd=tmp_path, env=base_env(), stdin=subprocess.PIPE)
    try:
        wait_for_file(tmp_path / "held.ready", timeout=60)
        expect(win("lock", "--wait", "0.5", "--", "cmd", "/c", "exit 0", cwd=tmp_path), rc=75,
               err_has=["gave up", "hold_open"])
    finally:
        release(holder)
    expect(win("lock", "--wait", "0", "--", "cmd", "/c", "exit 0", cwd=tmp_path))


def test_killing_lock_ends_its_command_too(tmp_path):
    """The lock belongs to pycache-clean alone on Windows; its command must not
    run on unlocked after pycache-clean is killed (job object, kill on close)."""
    make_tree(tmp_path, ["__pycache__/x.pyc"])
    holder = subprocess.Popen([WINE, BIN, "lock", "--", str(HOLD_OPEN), "__pycache__\\x.pyc",
                               "held.ready"], cwd=tmp_path, env=base_env(), stdin=subprocess.PIPE)
    try:
        wait_for_file(tmp_path / "held.ready", timeout=60)
        expect(win(cwd=tmp_path), out="Cleared 0/1 __pycache__ directory\n")  # held open
    finally:
        holder.kill()  # as a closed terminal or a task manager would
        holder.wait()
    # hold_open is gone with it: the file is free and the lock too.
    expect(win("lock", "--wait", "10", "--", "cmd", "/c", "exit 0", cwd=tmp_path))
    expect(win(cwd=tmp_path), out="Cleared 1/1 __pycache__ directory\n")


def test_pytest_running_sees_a_pytest_process(tmp_path):
    """A process whose program is pytest.exe, found by snapshot + command line."""
    shutil.copy(HOLD_OPEN, tmp_path / "pytest.exe")
    make_tree(tmp_path, ["x.pyc"])
    expect(win("pytest-running", "--scope", "user", cwd=tmp_path), rc=1)
    p = subprocess.Popen([WINE, str(tmp_path / "pytest.exe"), "x.pyc", "held.ready"],
                         cwd=tmp_path, env=base_env(), stdin=subprocess.PIPE)
    try:
        wait_for_file(tmp_path / "held.ready", timeout=60)
        r = expect(win("pytest-running", "--scope", "user", "--json", cwd=tmp_path))
        assert '"running":true' in r.out and "pytest.exe" in r.out, r
        # --scope repo (the default) reads each process's working directory.
        expect(win("pytest-running", cwd=tmp_path), rc=0)
        (tmp_path.parent / (tmp_path.name + "-elsewhere")).mkdir()
        expect(win("pytest-running", cwd=tmp_path.parent / (tmp_path.name + "-elsewhere")), rc=1)
        expect(win("unless-pytest", "--scope", "user", "--", "cmd", "/c", "exit 9", cwd=tmp_path),
               rc=0, out_has="[SKIP] pytest is running")
    finally:
        release(p)
    expect(win("unless-pytest", "--scope", "user", "--", "cmd", "/c", "exit 9", cwd=tmp_path),
           rc=9)


def test_check_names_a_corrupt_cache_and_stale_only_removes_it(tmp_path):
    """A 3.11 header that matches its source over a truncated body: CPython
    would trust it and fail to import."""
    import struct
    make_tree(tmp_path / "proj", ["pkg/mod.py"])
    st = os.stat(tmp_path / "proj/pkg/mod.py")
    header = struct.pack("<HccIII", 3495, b"\r", b"\n", 0, int(st.st_mtime) & 0xFFFFFFFF,
                         st.st_size & 0xFFFFFFFF)
    (tmp_path / "proj/pkg/__pycache__").mkdir()
    (tmp_path / "proj/pkg/__pycache__/mod.cpython-311.pyc").write_bytes(header + b"c\x00\x00")
    expect(win("check", "proj", cwd=tmp_path), rc=1,
           out_has=["corrupt", "mod.cpython-311.pyc", "1 corrupt"])
    expect(win("clean", "--stale-only", "proj", cwd=tmp_path),
           out="Cleared 1/1 stale cache\n")
    assert not (tmp_path / "proj/pkg/__pycache__").exists()
    assert (tmp_path / "proj/pkg/mod.py").exists()


SYSTEM_DLLS = {"advapi32.dll", "kernel32.dll", "msvcrt.dll", "ntdll.dll", "shell32.dll",
               "user32.dll", "ws2_32.dll"}


def test_the_executable_needs_no_dll_beside_it():
    objdump = shutil.which("x86_64-w64-mingw32-objdump")
    if not objdump:
        pytest.skip("x86_64-w64-mingw32-objdump not installed (binutils-mingw-w64-x86-64)")
    r = subprocess.run([objdump, "-p", BIN], capture_output=True, text=True, check=True)
    dlls = {line.split(":", 1)[1].strip().lower()
            for line in r.stdout.splitlines() if "DLL Name:" in line}
    assert dlls and dlls <= SYSTEM_DLLS, dlls  # no libstdc++-6.dll, libgcc, libwinpthread


def test_tagged_cache_directory_goes_and_a_garbled_one_stays(tmp_path):
    """--tagged on Windows: the owner of the directory and of its tag is
    asked of the file's security descriptor, against the token."""
    signature = "Signature: 8a477f597d28d172789f06886806bc55\n"
    make_tree(tmp_path / "proj", [".pytest_cache/v/cache/nodeids", "garbled/data"])
    (tmp_path / "proj/.pytest_cache/CACHEDIR.TAG").write_text(signature)
    (tmp_path / "proj/garbled/CACHEDIR.TAG").write_text(signature.upper())
    r = expect(win("--tagged", "-v", "proj", cwd=tmp_path), out_has="Cleared 1/1 tagged cache")
    assert not (tmp_path / "proj/.pytest_cache").exists(), r
    assert (tmp_path / "proj/garbled/data").exists()
