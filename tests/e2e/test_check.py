"""End-to-end tests of `check` and `clean --stale-only` with every CPython on the machine."""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HELPERS, base_env, expect, run

SYS_PATH = "/usr/local/bin:/usr/bin:/bin"


def interpreters():
    """Debian's python3 and, where pyenv is present, each of its CPythons (3.6+)."""
    found = {}
    cands = ["/usr/bin/python3"] + sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python3")))
    for exe in cands:
        if not os.access(exe, os.X_OK):
            continue
        r = subprocess.run([exe, "-c", "import sys;print(sys.implementation.name, *sys.version_info[:2])"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            continue
        impl, major, minor = r.stdout.split()
        if impl == "cpython" and (int(major), int(minor)) >= (3, 6):
            found.setdefault((int(major), int(minor)), exe)
    return [pytest.param(exe, id=f"py{ma}.{mi}") for (ma, mi), exe in sorted(found.items())]


INTERPRETERS = interpreters()


def exe_version(exe):
    """'3.11' for the interpreter `exe`."""
    return py(exe, "import sys; print('%d.%d' % sys.version_info[:2])", "/")


def py_env(exe, **extra):
    # The interpreter's own directory first, so that `python3.X` is on PATH.
    return base_env(PATH=os.path.dirname(exe) + ":" + SYS_PATH, PYTHONDONTWRITEBYTECODE=None,
                    **extra)


def py(exe, code, cwd):
    r = subprocess.run([exe, "-c", code], cwd=cwd, env=py_env(exe), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def same_second_rewrite(path, text):
    """Replace the file's content by `text` (same size) and put its mtime back."""
    st = os.stat(path)
    assert len(text.encode()) == st.st_size
    time.sleep(0.01)
    with open(path, "w") as fh:
        fh.write(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_same_second_rewrite_is_suspect_and_stale_only_fixes_it(tmp_path, exe):
    (tmp_path / "mod.py").write_text("X = 'old'\n")
    assert py(exe, "import mod; print(mod.X)", tmp_path) == "old"  # writes the cache
    same_second_rewrite(tmp_path / "mod.py", "X = 'new'\n")
    # CPython trusts the cache: it runs the OLD code although the file says new.
    assert py(exe, "import mod; print(mod.X)", tmp_path) == "old"
    r = expect(run("check", tmp_path, env=py_env(exe)), rc=1, out_has="suspect")
    assert "CPython loads code that differs from mod.py" in r.out
    assert r.out.splitlines()[-2:] == ["checked 1 cache: 1 suspect",
                                       "  1 verified by compiling (python%s)" % exe_version(exe)]
    assert "(fix: pycache-clean clean --stale-only)" in r.out
    # Without compiling, the ctime evidence alone says the same.
    r = expect(run("check", "--verify", "none", tmp_path, env=py_env(exe)), rc=1)
    assert "mod.py changed after this cache was written" in r.out
    expect(run("clean", "--stale-only", tmp_path, env=py_env(exe)),
           out="Cleared 1/1 stale cache\n")
    assert py(exe, "import mod; print(mod.X)", tmp_path) == "new"
    expect(run("check", tmp_path, env=py_env(exe)), rc=0, out_has="1 ok")


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_different_size_is_stale_but_not_a_gate_failure(tmp_path, exe):
    (tmp_path / "mod.py").write_text("X = 1\n")
    py(exe, "import mod", tmp_path)
    (tmp_path / "mod.py").write_text("X = 100\n")
    r = expect(run("check", "-v", tmp_path, env=py_env(exe)), rc=0)
    assert "stale" in r.out and "1 stale" in r.out


HASH_INTERPRETERS = [p for p in INTERPRETERS if "py3.6" not in p.id]


@pytest.mark.parametrize("exe", HASH_INTERPRETERS)
def test_source_hash_matches_importlib(tmp_path, exe):
    helper = HELPERS / "pyc_hash"
    if not helper.exists():
        pytest.skip("pyc_hash helper not built")
    magic = int(py(exe, "import importlib.util as u; print(int.from_bytes(u.MAGIC_NUMBER[:2], 'little'))",
                   tmp_path))
    for i, data in enumerate([b"", b"a", b"abcdefg", b"abcdefgh", b"abcdefghi",
                              bytes(range(256)) * 5, "x = 'caf\u00e9'\n".encode()]):
        f = tmp_path / f"in{i}"
        f.write_bytes(data)
        want = py(exe, f"import importlib.util as u; print(u.source_hash(open({str(f)!r},'rb').read()).hex())",
                  tmp_path)
        got = subprocess.run([helper, str(magic), str(f)], capture_output=True, text=True).stdout.strip()
        assert got == want, (exe, i)


@pytest.mark.parametrize("exe", HASH_INTERPRETERS)
@pytest.mark.parametrize("mode", ["CHECKED_HASH", "UNCHECKED_HASH"])
def test_hash_based_pycs(tmp_path, exe, mode):
    (tmp_path / "mod.py").write_text("X = 'old'\n")
    py(exe, "import py_compile as p; p.compile('mod.py', invalidation_mode="
            f"p.PycInvalidationMode.{mode})", tmp_path)
    expect(run("check", tmp_path, env=py_env(exe)), rc=0, out_has="1 ok")
    (tmp_path / "mod.py").write_text("X = 'new'\n")
    r = run("check", "-v", tmp_path, env=py_env(exe))
    loaded = py(exe, "import mod; print(mod.X)", tmp_path)
    if mode == "CHECKED_HASH":
        expect(r, rc=0, out_has="stale")
        assert loaded == "new"
    else:
        expect(r, rc=1, out_has="suspect")
        assert loaded == "old"  # CPython never checks an unchecked-hash pyc


def test_orphans(tmp_path):
    exe = "/usr/bin/python3"
    (tmp_path / "gone.py").write_text("X = 'ghost'\n")
    (tmp_path / "kept.py").write_text("Y = 1\n")
    subprocess.run([exe, "-m", "compileall", "-q", "-b", str(tmp_path / "gone.py")], check=True)
    py(exe, "import kept", tmp_path)
    (tmp_path / "gone.py").unlink()
    # A legacy gone.pyc beside a deleted gone.py still imports.
    assert py(exe, "import gone; print(gone.X)", tmp_path) == "ghost"
    (tmp_path / "__pycache__/lost.cpython-311.pyc").write_bytes(
        (tmp_path / "__pycache__/kept.cpython-311.pyc").read_bytes())
    r = expect(run("check", "-v", "--json", tmp_path), rc=1)
    doc = json.loads(r.out)
    classes = {os.path.basename(f["path"]): f["class"] for f in doc["findings"]}
    assert classes["gone.pyc"] == "orphan-importable"
    assert classes["lost.cpython-311.pyc"] == "orphan"
    # Outside __pycache__ only with --stray: a sourceless module is not a cache.
    expect(run("clean", "--stale-only", tmp_path), out="Cleared 1/1 stale cache\n")
    assert py(exe, "import gone; print(gone.X)", tmp_path) == "ghost"
    expect(run("clean", "--stale-only", "--stray", tmp_path), out="Cleared 1/1 stale cache\n")
    r = subprocess.run([exe, "-c", "import gone"], cwd=tmp_path, env=py_env(exe))
    assert r.returncode != 0


def test_pytest_assertion_rewrite_caches_are_judged_not_orphaned(tmp_path):
    exe = "/usr/bin/python3"
    if subprocess.run([exe, "-c", "import pytest"], capture_output=True).returncode:
        pytest.skip("needs Debian's python3-pytest")
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert 1\n")
    subprocess.run([exe, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                   cwd=tmp_path, env=py_env(exe), check=True, capture_output=True)
    names = os.listdir(tmp_path / "__pycache__")
    assert any("-pytest-" in n for n in names), names
    expect(run("check", tmp_path, env=py_env(exe)), rc=0, out_has="1 ok")


def import_value(exe, module, cwd):
    """What a fresh CPython gets from `import module; module.X`: the value, or
    None when the import fails."""
    r = subprocess.run([exe, "-c", f"import {module}; print({module}.X)"], cwd=cwd,
                       env=py_env(exe), capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def cache_of(tmp_path, module="mod"):
    found = glob.glob(str(tmp_path / "__pycache__" / f"{module}.cpython-*.pyc"))
    assert len(found) == 1, found
    return found[0]


def classes(tmp_path, exe, rc=None, env=None, extra=()):
    r = expect(run("check", "-v", "--json", *extra, tmp_path, env=env or py_env(exe)), rc=rc)
    return {os.path.basename(f["path"]): f["class"] for f in json.loads(r.out)["findings"]}


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_truncated_or_garbled_body_is_corrupt_as_the_import_fails(tmp_path, exe):
    """A valid header over a body marshal cannot read: CPython trusts the
    header, then the import fails (EOFError, bad marshal data)."""
    for name, mangle in [("cut", lambda b, h: b[:h + (len(b) - h) // 2]),
                         ("garbled", lambda b, h: b[:h] + b"\xfe" * (len(b) - h))]:
        d = tmp_path / name
        d.mkdir()
        (d / "mod.py").write_text("X = 'fine'\nY = [1, 2.5, 'three', (4, None)]\n")
        assert import_value(exe, "mod", d) == "fine"
        pyc = cache_of(d)
        data = open(pyc, "rb").read()
        header = 12 if "cpython-36" in pyc else 16
        open(pyc, "wb").write(mangle(data, header))
        os.utime(pyc)
        assert import_value(exe, "mod", d) is None  # CPython: the import fails
        assert classes(d, exe, rc=1) == {os.path.basename(pyc): "corrupt"}


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_garbage_header_is_stale_as_cpython_recompiles(tmp_path, exe):
    (tmp_path / "mod.py").write_text("X = 'fine'\n")
    assert import_value(exe, "mod", tmp_path) == "fine"
    pyc = cache_of(tmp_path)
    for garbage in [b"", b"\x01", os.urandom(64).replace(b"\r\n", b"xx")]:
        open(pyc, "wb").write(garbage)
        assert classes(tmp_path, exe, rc=0) == {os.path.basename(pyc): "stale"}
        assert import_value(exe, "mod", tmp_path) == "fine"  # recompiled, no failure


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_mtime_just_below_a_whole_second(tmp_path, exe):
    """CPython stores int() of the double st_mtime, which rounds up here."""
    src = tmp_path / "mod.py"
    src.write_text("X = 'old'\n")
    whole = int(time.time()) - 100
    os.utime(src, ns=(whole * 10**9, whole * 10**9 + 999_999_999))
    assert import_value(exe, "mod", tmp_path) == "old"
    same_second_rewrite(src, "X = 'new'\n")
    assert import_value(exe, "mod", tmp_path) == "old"  # CPython trusts the cache
    assert classes(tmp_path, exe, rc=1) == {os.path.basename(cache_of(tmp_path)): "suspect"}


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_source_reached_through_a_symlink(tmp_path, exe):
    real = tmp_path / "real"
    real.mkdir()
    (real / "impl.py").write_text("X = 'old'\n")
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "mod.py").symlink_to(real / "impl.py")
    assert import_value(exe, "mod", proj) == "old"
    pyc = os.path.basename(cache_of(proj))
    assert classes(proj, exe, rc=0) == {}  # ok: followed to its source, as CPython does
    same_second_rewrite(real / "impl.py", "X = 'new'\n")
    assert import_value(exe, "mod", proj) == "old"
    assert classes(proj, exe, rc=1) == {pyc: "suspect"}


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_legacy_pyc_beside_pyw_imports_on_posix(tmp_path, exe):
    (tmp_path / "mod.py").write_text("X = 'legacy'\n")
    subprocess.run([exe, "-m", "compileall", "-q", "-b", str(tmp_path / "mod.py")], check=True,
                   env=py_env(exe))
    (tmp_path / "mod.py").rename(tmp_path / "mod.pyw")
    assert import_value(exe, "mod", tmp_path) == "legacy"  # .pyw is no source suffix here
    assert classes(tmp_path, exe, rc=1) == {"mod.pyc": "orphan-importable"}


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_legacy_pyc_shadowed_by_a_package(tmp_path, exe):
    (tmp_path / "mod.py").write_text("X = 'file'\n")
    subprocess.run([exe, "-m", "compileall", "-q", "-b", str(tmp_path / "mod.py")], check=True,
                   env=py_env(exe))
    (tmp_path / "mod.py").unlink()
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod/__init__.py").write_text("X = 'package'\n")
    assert import_value(exe, "mod", tmp_path) == "package"
    assert classes(tmp_path, exe, rc=0).get("mod.pyc") == "orphan"


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_verdict_does_not_depend_on_path(tmp_path, exe):
    (tmp_path / "mod.py").write_text("X = 1\n")
    import_value(exe, "mod", tmp_path)
    with_path = classes(tmp_path, exe, rc=0, extra=["--verify", "none"])
    without = classes(tmp_path, exe, rc=0, env=base_env(PATH="/nonexistent"),
                      extra=["--verify", "none"])
    assert with_path == without == {}


def test_foreign_caches(tmp_path):
    (tmp_path / "mod.py").write_text("X = 1\n")
    py("/usr/bin/python3", "import mod", tmp_path)
    cache = tmp_path / "__pycache__"
    data = (cache / "mod.cpython-311.pyc").read_bytes()
    (cache / "mod.cpython-310.pyc").write_bytes(data)     # 3.11 magic under a 3.10 tag
    (cache / "mod.cpython-399.pyc").write_bytes(data)     # no such CPython
    (cache / "mod.pypy39.pyc").write_bytes(data)          # not CPython
    r = expect(run("check", "-v", tmp_path, env=base_env(PATH=SYS_PATH)), rc=0)
    assert "3 foreign" in r.out, r.out
    assert "1 ok" in r.out, r.out  # the 3.11 cache, whichever interpreters PATH holds


def test_check_walks_like_clean_and_bad_input(tmp_path):
    (tmp_path / "node_modules/x").mkdir(parents=True)
    (tmp_path / "node_modules/x/__pycache__").mkdir()
    (tmp_path / "node_modules/x/__pycache__/m.cpython-311.pyc").write_bytes(b"")
    expect(run("check", tmp_path), out="checked 0 caches\n")
    expect(run("check", tmp_path / "missing"), rc=1, err_has="No such file or directory")
    expect(run("check", "--bogus"), rc=2, err_has="--bogus")
    expect(run("clean", "--stale-only", "--dry", tmp_path), rc=2, err_has="did you mean --dry-run?")
    expect(run("check", "--verify", "some", tmp_path), rc=2, err_has="--verify: 'some'")
    expect(run("clean", "--verify", "all", tmp_path), rc=2, err_has="--verify, --verify-timeout and --written-since apply to --stale-only")


# --- Verification by compiling: the scenario matrix ------------------------

def source_value(exe, path):
    """What the source on disk says X is: compiled from the file itself."""
    return py(exe, f"d = {{}}; exec(compile(open({str(path)!r}, 'rb').read(), 'm', 'exec'), d); "
                   "print(d['X'])", "/")


def make_package(root, exe, count=12):
    """A package of `count` modules, imported (cached) by `exe`."""
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/__init__.py").write_text("")
    for i in range(count):
        (root / f"pkg/m{i}.py").write_text(f"X = 'v{i:02d}'\n")
    py(exe, "import " + ", ".join(f"pkg.m{i}" for i in range(count)), root)


def suspect_modules(root, exe, *extra, rc=None):
    found = classes(root, exe, rc=rc, extra=extra)
    return sorted(n.split(".")[0] for n, c in found.items() if c == "suspect")


def cpython_loads_other_code(root, exe, count=12):
    """The modules whose import (from the cache) gives another X than the file."""
    values = py(exe, "import " + ", ".join(f"pkg.m{i}" for i in range(count)) + "; print("
                + ", ".join(f"pkg.m{i}.X" for i in range(count)) + ")", root).split()
    return sorted(f"m{i}" for i in range(count)
                  if values[i] != source_value(exe, root / f"pkg/m{i}.py"))


COPIERS = {
    "cp -a": lambda a, b: ["cp", "-a", str(a), str(b)],
    "tar": lambda a, b: ["sh", "-c", f"mkdir '{b}' && tar -C '{a}' -cf - . | tar -C '{b}' -xpf -"],
    "rsync -a": lambda a, b: ["rsync", "-a", f"{a}/", f"{b}/"],
}


@pytest.mark.parametrize("exe", INTERPRETERS)
@pytest.mark.parametrize("copier", list(COPIERS))
def test_copies_raise_no_false_alarm_and_keep_a_real_stale_cache_found(tmp_path, exe, copier):
    """A copy that preserves timestamps gives sources and caches new ctimes in
    copy order: by ctime alone a copied cache may look suspect. Compiling
    proves the code equal. A copy also wipes the ctime evidence of a cache
    that really lies: `--verify all` still finds it."""
    argv = COPIERS[copier](tmp_path / "a", tmp_path / "b")
    if not shutil.which(argv[0]) or (copier == "tar" and not shutil.which("tar")):
        pytest.skip(f"{argv[0]} is not installed")
    make_package(tmp_path / "a", exe)
    subprocess.run(argv, check=True)
    assert suspect_modules(tmp_path / "b", exe, rc=0) == []
    assert cpython_loads_other_code(tmp_path / "b", exe) == []
    # Now with one cache that lies: the source rewritten within its second.
    same_second_rewrite(tmp_path / "a/pkg/m3.py", "X = 'n03'\n")
    shutil.rmtree(tmp_path / "b")
    subprocess.run(argv, check=True)
    assert suspect_modules(tmp_path / "b", exe, "--verify", "all", rc=1) == ["m3"]
    assert cpython_loads_other_code(tmp_path / "b", exe) == ["m3"]


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_chmod_and_chown_after_compiling_are_no_alarm(tmp_path, exe):
    make_package(tmp_path, exe)
    time.sleep(0.01)
    os.chmod(tmp_path / "pkg/m1.py", 0o755)
    os.chown(tmp_path / "pkg/m2.py", 65534, 65534)
    # By ctime alone both look changed after their caches were written ...
    assert suspect_modules(tmp_path, exe, "--verify", "none", rc=1) == ["m1", "m2"]
    # ... compiling shows the same code, which is what CPython runs.
    r = expect(run("check", tmp_path, env=py_env(exe)), rc=0)
    assert "\n  2 verified by compiling" in r.out, r.out
    assert cpython_loads_other_code(tmp_path, exe) == []


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_stale_cache_whose_ctimes_chmod_r_reset_is_found_by_verify_all(tmp_path, exe):
    make_package(tmp_path, exe)
    same_second_rewrite(tmp_path / "pkg/m4.py", "X = 'n04'\n")
    time.sleep(0.01)
    subprocess.run(["chmod", "-R", "u+rwX", str(tmp_path)], check=True)
    for pyc in glob.glob(str(tmp_path / "pkg/__pycache__/m4.*.pyc")):
        time.sleep(0.01)
        os.chmod(pyc, 0o644)  # the cache's ctime now after its source's, whatever chmod -R did
    assert cpython_loads_other_code(tmp_path, exe) == ["m4"]
    assert suspect_modules(tmp_path, exe, "--verify", "all", rc=1) == ["m4"]


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_restore_between_read_and_cache_write_is_found_by_verify_all(tmp_path, exe):
    """A fixer's half-written version is read and compiled; the fixer puts the
    good file back (same size, within the second) before CPython writes the
    cache. The header matches, the ctimes look innocent, the code is wrong."""
    make_package(tmp_path, exe)
    src = tmp_path / "pkg/m5.py"
    st = os.stat(src)
    shutil.rmtree(tmp_path / "pkg/__pycache__")
    src.write_text("X = 'bad'\n")           # what the importer reads ...
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    py(exe, "import pkg.m5", tmp_path)
    src.write_text("X = 'v05'\n")           # ... the fixer restores the good file
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    for pyc in glob.glob(str(tmp_path / "pkg/__pycache__/m5.*.pyc")):
        time.sleep(0.01)
        os.chmod(pyc, 0o644)  # ... and the cache is written after that
    assert cpython_loads_other_code(tmp_path, exe) == ["m5"]
    assert suspect_modules(tmp_path, exe, "--verify", "all", rc=1) == ["m5"]
    r = expect(run("check", "--verify", "all", tmp_path, env=py_env(exe)), rc=1)
    assert "CPython loads code that differs from m5.py" in r.out, r.out


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_source_that_no_longer_compiles_behind_a_trusted_cache(tmp_path, exe):
    (tmp_path / "mod.py").write_text("X = 'ok'\n")
    assert import_value(exe, "mod", tmp_path) == "ok"
    same_second_rewrite(tmp_path / "mod.py", "X = 'ok\n\n")  # a syntax error, same size
    assert import_value(exe, "mod", tmp_path) == "ok"  # the old code still runs
    r = expect(run("check", tmp_path, env=py_env(exe)), rc=1)
    assert "mod.py does not compile (SyntaxError" in r.out, r.out


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_optimized_caches_are_compiled_at_their_level(tmp_path, exe):
    (tmp_path / "mod.py").write_text("'''doc'''\nassert False, 'x'\nX = 'opt'\n")
    for flag in ["-O", "-OO"]:
        subprocess.run([exe, flag, "-c", "import mod"], cwd=tmp_path, env=py_env(exe), check=True)
    names = sorted(os.listdir(tmp_path / "__pycache__"))
    assert [n.split(".")[-2] for n in names] == ["opt-1", "opt-2"], names
    r = expect(run("check", "--verify", "all", tmp_path, env=py_env(exe)), rc=0)
    assert "\n  2 verified by compiling" in r.out, r.out


def test_missing_interpreter_says_so_once_and_keeps_the_ctime_verdict(tmp_path):
    """Caches of a CPython this machine lacks: the header/ctime judgement
    stands, marked unverified, with one warning."""
    if any(os.path.exists(f"{d}/python3.8") for d in ("/usr/bin", "/usr/local/bin")):
        pytest.skip("python3.8 is installed system-wide: no version is missing here")
    for name in ["a", "b"]:
        src = tmp_path / f"{name}.py"
        src.write_text("X = 1\n")
        st = os.stat(src)
        header = (3413).to_bytes(2, "little") + b"\r\n" + bytes(4)  # CPython 3.8's magic
        header += (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
        header += st.st_size.to_bytes(4, "little")
        (tmp_path / "__pycache__").mkdir(exist_ok=True)
        # The smallest code object 3.8 loads: six zero ints, empty co_code,
        # five empty tuples, two empty names, firstlineno 0, empty lnotab.
        code_38 = b"c" + bytes(24) + b"s" + bytes(4) + b")\0" * 5 + b"z\0" * 2 + bytes(4) + \
            b"s" + bytes(4)
        (tmp_path / f"__pycache__/{name}.cpython-38.pyc").write_bytes(header + code_38)
        time.sleep(0.01)
        os.chmod(src, 0o644)  # a sign of change: its ctime after the cache's
    env = base_env(PATH="/usr/bin:/bin", HOME=str(tmp_path / "home"), PYENV_ROOT=None)
    r = expect(run("check", "--json", tmp_path, env=env), rc=1)
    report = json.loads(r.out)
    assert report["unverified"] == 2 and report["verified"] == 0, r.out
    assert {f["verification"] for f in report["findings"]} == {"unverified"}
    assert all("(unverified: no python3.8 found)" in f["reason"] for f in report["findings"])
    assert r.err.count("no python3.8 found") == 1, r.err
    r = expect(run("check", tmp_path, env=env), rc=1)
    assert r.out.splitlines()[-2:] == ["  0 verified by compiling", "  2 unverified (no interpreter)"]


def test_compile_past_the_deadline_is_killed_and_the_check_goes_on(tmp_path):
    """A 600 KB source that CPython's compiler takes many seconds on (an
    f-string of 200,000 fields) behind a header CPython trusts: with
    --verify-timeout 2 the interpreter is killed, the cache counted
    unverified ("compile timed out"), and the next cache is still proved by
    a fresh interpreter of the same version (one worker: -j1)."""
    exe = "/usr/bin/python3"
    if not os.access(exe, os.X_OK):
        pytest.skip("needs /usr/bin/python3")
    slow = tmp_path / "a_slow.py"
    slow.write_text('a = 1\nx = f"' + "{a}" * 200_000 + '"\n')
    tiny = tmp_path / "tiny_src.py"
    tiny.write_text("X = 1\n")
    tag = py(exe, "import sys; print(sys.implementation.cache_tag)", tmp_path)
    cache = tmp_path / "__pycache__" / f"a_slow.{tag}.pyc"
    py(exe, f"import py_compile; py_compile.compile('tiny_src.py', cfile={str(cache)!r})", tmp_path)
    st = os.stat(slow)
    data = bytearray(cache.read_bytes())
    data[8:16] = (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") + \
        (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    cache.write_bytes(bytes(data))
    (tmp_path / "b_fast.py").write_text("Y = 2\n")
    py(exe, "import b_fast", tmp_path)
    os.remove(tiny)
    t0 = time.monotonic()
    r = run("check", "-j1", "--json", "--verify", "all", "--verify-timeout", "2", tmp_path,
            env=py_env(exe), timeout=60)
    took = time.monotonic() - t0
    doc = json.loads(r.out)
    assert r.rc == 0, r
    assert doc["unverified_reasons"]["timed_out"] == 1 and doc["verified"] == 1, r.out
    assert took < 15, f"{took:.1f} s: the compile was not stopped at its deadline"
    r = expect(run("check", "-j1", "--verify", "all", "--verify-timeout", "2", tmp_path,
                   env=py_env(exe), timeout=60))
    assert r.out.splitlines()[-2:] == ["  1 verified by compiling (python%s)" % exe_version(exe),
                                       "  1 unverified (compile timed out)"], r


PREFIX_INTERPRETERS = [p for p in INTERPRETERS if p.id not in ("py3.6", "py3.7")]


@pytest.mark.parametrize("exe", PREFIX_INTERPRETERS)
def test_pycache_prefix_mirror_is_judged_and_cleaned(tmp_path, exe):
    """PYTHONPYCACHEPREFIX (3.8+): CPython keeps the caches in a mirror tree."""
    proj, prefix = tmp_path / "proj", tmp_path / "prefix"
    proj.mkdir()
    (proj / "mod.py").write_text("X = 'old'\n")
    with_prefix = py_env(exe, PYTHONPYCACHEPREFIX=str(prefix))

    def value():
        r = subprocess.run([exe, "-c", "import mod; print(mod.X)"], cwd=proj, env=with_prefix,
                           capture_output=True, text=True, check=True)
        return r.stdout.strip()

    assert value() == "old"
    mirrored = glob.glob(str(prefix) + "/**/mod.cpython-*.pyc", recursive=True)
    assert len(mirrored) == 1 and not (proj / "__pycache__").exists(), mirrored
    expect(run("check", proj, env=with_prefix), rc=0, out_has="checked 1 cache: 1 ok")
    same_second_rewrite(proj / "mod.py", "X = 'new'\n")
    assert value() == "old"  # CPython trusts the mirror cache
    r = expect(run("check", proj, env=with_prefix), rc=1)
    assert f"suspect           {mirrored[0]}: CPython loads code that differs from mod.py" in r.out
    # The option does the same without the environment variable.
    expect(run("check", "--pycache-prefix", prefix, proj, env=py_env(exe)), rc=1,
           out_has="1 suspect")
    # The prefix tree itself holds no importable module named mod.cpython-3X.
    # (Startup may have mirrored some of the interpreter's own modules too.)
    found = classes(prefix, exe, rc=0, extra=["--verify", "none"])
    assert found[os.path.basename(mirrored[0])] == "orphan", found
    assert "orphan-importable" not in found.values(), found
    expect(run("clean", "--stale-only", proj, env=with_prefix), out="Cleared 1/1 stale cache\n")
    assert not os.path.exists(mirrored[0])
    assert value() == "new"
    os.unlink(proj / "mod.py")
    r = expect(run("check", "-v", proj, env=with_prefix), rc=0)
    assert f"no mod.py in {proj}" in r.out, r.out


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_verify_all_agrees_on_the_interpreters_own_library(tmp_path, exe):
    """Caches compileall writes (plain and -O) for four of the standard
    library's packages: compiling each source again gives equal code, so
    nothing is called suspect, whatever the version's code object layout."""
    lib = py(exe, "import json, os; print(os.path.dirname(os.path.dirname(json.__file__)))", "/")
    for package in ["json", "email", "asyncio", "collections"]:
        shutil.copytree(os.path.join(lib, package), tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for flag in [[], ["-O"]]:
        subprocess.run([exe, *flag, "-m", "compileall", "-q", str(tmp_path)], env=py_env(exe),
                       check=True, capture_output=True)
    count = len(glob.glob(str(tmp_path / "**/*.pyc"), recursive=True))
    assert count > 50
    r = expect(run("check", "--json", "--verify", "all", tmp_path, env=py_env(exe)), rc=0)
    report = json.loads(r.out)
    assert report["counts"]["ok"] == report["verified"] == count, r.out


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_cp_p_restore_and_size_change_with_mtime_restored(tmp_path, exe):
    """`cp -p` of a backup back over a source restores content and mtime
    (a new ctime): the cache is right again, and compiling proves it. A size
    change keeps no cache alive, whatever its mtime."""
    src = tmp_path / "mod.py"
    src.write_text("X = 'one'\n")
    assert import_value(exe, "mod", tmp_path) == "one"
    subprocess.run(["cp", "-p", str(src), str(tmp_path / "backup")], check=True)
    same_second_rewrite(src, "X = 'two'\n")
    time.sleep(0.01)
    subprocess.run(["cp", "-p", str(tmp_path / "backup"), str(src)], check=True)
    assert import_value(exe, "mod", tmp_path) == source_value(exe, src) == "one"
    assert classes(tmp_path, exe, rc=0) == {}
    st = os.stat(src)
    src.write_text("X = 'three'\n")
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert classes(tmp_path, exe, rc=0) == {os.path.basename(cache_of(tmp_path)): "stale"}
    assert import_value(exe, "mod", tmp_path) == "three"  # recompiled


@pytest.mark.parametrize("exe", HASH_INTERPRETERS)
def test_source_date_epoch_makes_checked_hash_pycs(tmp_path, exe):
    """py_compile writes checked-hash pycs when SOURCE_DATE_EPOCH is set
    (reproducible builds): a rewrite of any size or time makes them stale."""
    src = tmp_path / "mod.py"
    src.write_text("X = 'old'\n")
    subprocess.run([exe, "-m", "py_compile", str(src)], check=True,
                   env=py_env(exe, SOURCE_DATE_EPOCH="1"))
    flags = int.from_bytes(open(cache_of(tmp_path), "rb").read()[4:8], "little")
    assert flags == 3, flags  # hash-based, checked
    expect(run("check", "--verify", "all", tmp_path, env=py_env(exe)), rc=0, out_has="1 ok")
    same_second_rewrite(src, "X = 'new'\n")
    assert classes(tmp_path, exe, rc=0) == {os.path.basename(cache_of(tmp_path)): "stale"}
    assert import_value(exe, "mod", tmp_path) == "new"


# --- check, round 2: what --verify compares, and what it cannot prove ----------------------------

def line_of_x(exe, cwd):
    """The line a fresh CPython reports for module mod's assignment to X."""
    code = ("import mod, dis; print([l for o, l in dis.findlinestarts(mod.__spec__.loader"
            ".get_code('mod'))][-1])")
    return py(exe, code, cwd)


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_an_edit_that_only_shifts_lines_is_suspect(tmp_path, exe):
    """The same code one line lower, same size and mtime: CPython loads the
    cache and its tracebacks point one line off. Before 3.11 `==` on code
    objects ignores line tables; verification compares the lines."""
    (tmp_path / "mod.py").write_text("X = 1\n\n")
    assert py(exe, "import mod", tmp_path) == ""  # writes the cache
    same_second_rewrite(tmp_path / "mod.py", "\nX = 1\n")
    assert line_of_x(exe, tmp_path) == "1"  # CPython runs the cached lines
    r = expect(run("check", "--verify", "all", tmp_path, env=py_env(exe)), rc=1, out_has="suspect")
    assert "line numbers of <module>" in r.out, r.out


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_a_nan_constant_is_no_false_alarm(tmp_path, exe):
    """`1e500 - 1e500` folds to a NaN constant, which `==` never equals."""
    (tmp_path / "mod.py").write_text("X = 1e500 - 1e500\nY = -0.0\n")
    py(exe, "import mod", tmp_path)
    r = expect(run("check", "--json", "--verify", "all", tmp_path, env=py_env(exe)))
    doc = json.loads(r.out)
    assert doc["counts"]["ok"] == doc["verified"] == 1, r.out
    same_second_rewrite(tmp_path / "mod.py", "X = 1e500 - 1e500\nY = +0.0\n")  # -0.0 is not 0.0
    assert py(exe, "import mod; print(mod.Y)", tmp_path) == "-0.0"
    r = expect(run("check", "--verify", "all", tmp_path, env=py_env(exe)), rc=1)
    assert "constants of <module>" in r.out, r.out


FAKE_PYTHON = """#!/usr/bin/python3
# Stands in for python3.11: speaks check's helper protocol, and says of every
# cache what an interpreter says of one it cannot load.
import struct, sys
i, o = sys.stdin.buffer, sys.stdout.buffer
o.write(b"M3495 3.11.99\\n"); o.flush()
def take(n):
    b = i.read(n)
    if len(b) != n: sys.exit(0)
    return b
while True:
    opt, nn = struct.unpack("<II", take(8)); take(nn)
    for _ in range(2):
        while True:
            n, = struct.unpack("<I", take(4))
            if not n: break
            take(n)
    take(1)
    o.write(b"LValueError: bad marshal data (forged)\\n"); o.flush()
"""


def test_an_interpreter_that_cannot_load_the_cache_makes_it_corrupt(tmp_path):
    """What the cache's own interpreter says when it cannot load a cache is
    a verdict (corrupt), never "no interpreter"."""
    exe = "/usr/bin/python3"
    if py(exe, "import sys; print(sys.version_info[:2] == (3, 11))", "/") != "True":
        pytest.skip("needs Debian's python3 to be 3.11 (the stand-in answers for 3.11)")
    (tmp_path / "mod.py").write_text("X = 1\n")
    py(exe, "import mod", tmp_path)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3.11").write_text(FAKE_PYTHON)
    (bindir / "python3.11").chmod(0o755)
    env = base_env(PATH=f"{bindir}:/usr/bin:/bin", HOME=str(tmp_path), PYENV_ROOT=None)
    r = expect(run("check", "--json", "--verify", "all", tmp_path, env=env), rc=1)
    doc = json.loads(r.out)
    assert doc["counts"]["corrupt"] == 1 and doc["unverified"] == 0, r.out
    assert "bad marshal data (forged)" in doc["findings"][0]["reason"], r.out


def test_another_patch_release_wrote_the_caches_no_false_alarm(tmp_path):
    """CPython 3.11.7's standard library (with its tests), compiled by
    3.11.7, plain and -O, then verified where 3.11.2 (Debian's) is found
    first: its compiler lays a few functions out otherwise, and encodes some
    column positions otherwise. Columns are not compared, and where the
    first interpreter finds the code different the other is asked too."""
    newer = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11.*/bin/python3.11")))
    older = "/usr/bin/python3.11"
    if not newer or not os.access(older, os.X_OK):
        pytest.skip("needs two patch releases of CPython 3.11 (Debian's and pyenv's)")
    newer = newer[-1]
    if py(newer, "import sys; print(sys.version_info[2])", "/") == \
            py(older, "import sys; print(sys.version_info[2])", "/"):
        pytest.skip("both CPython 3.11 interpreters are one patch release")
    lib = py(newer, "import json, os; print(os.path.dirname(os.path.dirname(json.__file__)))", "/")
    shutil.copytree(lib, tmp_path / "lib", ignore=shutil.ignore_patterns(
        "__pycache__", "site-packages", "*.so", "lib2to3", "idlelib", "tkinter", "turtledemo"))
    for flag in [[], ["-O"]]:
        subprocess.run([newer, *flag, "-m", "compileall", "-q", "-j0", str(tmp_path / "lib")],
                       capture_output=True)
    count = len(glob.glob(str(tmp_path / "lib/**/*.cpython-311*.pyc"), recursive=True))
    assert count > 1500, count
    env = base_env(PATH=f"/usr/bin:/bin:{os.path.dirname(newer)}", PYTHONDONTWRITEBYTECODE=None)
    r = run("check", "--json", "--verify", "all", tmp_path / "lib", env=env, timeout=900)
    doc = json.loads(r.out)
    assert doc["interpreters"]["3.11"] == older, doc["interpreters"]
    bad = [f for f in doc["findings"] if f["class"] in ("suspect", "corrupt")]
    assert not bad, bad[:5]
    assert doc["verified"] == doc["checked"] - doc["counts"]["stale"] - doc["counts"]["orphan"], r.out


NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to act as a user without override rights")
@pytest.mark.parametrize("exe", INTERPRETERS)
def test_an_unreadable_source_keeps_the_header_verdict(exe):
    """A same-second rewrite, then the source made unreadable (chmod 000) to
    a user who cannot override that: CPython stats the source, trusts the
    cache and runs the old code; a failed verification keeps the header
    verdict (suspect) and says why it could not be proved, in every mode."""
    if subprocess.run([*AS_NOBODY, exe, "-c", "pass"], capture_output=True,
                      env=base_env(HOME="/nonexistent")).returncode != 0:
        pytest.skip(f"{exe} cannot be run by a second user")
    top = Path(tempfile.mkdtemp(prefix="pycache-clean-unreadable-", dir="/tmp"))
    try:
        os.chmod(top, 0o755)
        (top / "mod.py").write_text("X = 'old'\n")
        py(exe, "import mod", top)
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(top)], check=True)
        same_second_rewrite(top / "mod.py", "X = 'new'\n")  # after the cache's last change
        os.chmod(top / "mod.py", 0)
        env = py_env(exe, HOME="/nonexistent")
        r = subprocess.run([*AS_NOBODY, exe, "-c", "import mod; print(mod.X)"], cwd=top, env=env,
                           capture_output=True, text=True)
        assert r.stdout.strip() == "old", r.stderr  # CPython runs the stale cache
        for verify in ("none", "auto", "all"):
            r = run("check", "--json", "--verify", verify, top, env=env, prefix=AS_NOBODY)
            doc = json.loads(r.out)
            assert r.rc == 1 and doc["checked"] == 1 and doc["counts"]["suspect"] == 1, (verify, r)
            assert doc["unreadable"] == [], (verify, r)
            if verify != "none":
                assert "Permission denied" in doc["findings"][0]["reason"], r.out
                assert doc["unverified_reasons"]["unreadable"] == 1, r.out
    finally:
        shutil.rmtree(top, ignore_errors=True)


def verdict_of(tmp_path, exe, name):
    r = run("check", "--json", "-v", "--verify", "none", tmp_path, env=py_env(exe))
    doc = json.loads(r.out)
    found = [f for f in doc["findings"] if os.path.basename(f["path"]).startswith(name + ".")]
    return (found[0]["class"], found[0]["reason"]) if found else ("ok", ""), r


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_a_module_shadowed_by_a_package_is_not_used(tmp_path, exe):
    """m.py's cache, gone stale, beside a package m/: CPython imports the
    package, never that cache, so it is not used, neither stale nor suspect."""
    (tmp_path / "m.py").write_text("X = 'file'\n")
    py(exe, "import m", tmp_path)
    same_second_rewrite(tmp_path / "m.py", "X = 'fil2'\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "m/__init__.py").write_text("X = 'package'\n")
    assert import_value(exe, "m", tmp_path) == "package"
    (cls, reason), r = verdict_of(tmp_path, exe, "m")
    assert cls == "orphan" and "not used: the package m/" in reason, r
    assert r.rc == 0
    shutil.rmtree(tmp_path / "m")  # without the package the stale cache is what loads
    assert import_value(exe, "m", tmp_path) == "file"
    (cls, _), r = verdict_of(tmp_path, exe, "m")
    assert cls == "suspect", r


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_a_local_module_named_as_a_frozen_one_is_judged_as_cpython_imports_it(tmp_path, exe):
    """A local runpy.py whose cache went stale: 3.11+ imports its frozen
    runpy (frozen modules are on by default), never the cache: not used;
    3.6-3.10 import the local file and its stale cache: suspect. Inside a
    package the module is pkg.runpy, which nothing shadows."""
    (tmp_path / "runpy.py").write_text("X = 'old'\n")
    py(exe, "import sys; sys.path.insert(0, '.'); sys.modules.pop('runpy', None); "
            "import importlib.util as u; s = u.spec_from_file_location('runpy', 'runpy.py'); "
            "m = u.module_from_spec(s); s.loader.exec_module(m)", tmp_path)
    assert list((tmp_path / "__pycache__").glob("runpy.*.pyc")), "no cache was written"
    same_second_rewrite(tmp_path / "runpy.py", "X = 'new'\n")
    loaded = py(exe, "import runpy; print(getattr(runpy, 'X', 'frozen'))", tmp_path)
    (cls, reason), r = verdict_of(tmp_path, exe, "runpy")
    if loaded == "frozen":
        assert cls == "orphan" and "frozen standard-library module runpy" in reason, r
    else:
        assert loaded == "old" and cls == "suspect", (loaded, r)
    (tmp_path / "__init__.py").write_text("")  # now a package: pkg.runpy is imported as is
    (cls, _), r = verdict_of(tmp_path, exe, "runpy")
    assert cls == "suspect", r


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_links_to_caches_are_named_and_fail_strict(tmp_path, exe):
    """CPython follows links that check never follows: a package that is a
    link to one elsewhere, a __pycache__ that is a link, a cache file that is
    a link; each holds a stale cache CPython loads. check names each link,
    counts them, and --strict fails on them."""
    real = tmp_path / "real"
    (real / "pkg").mkdir(parents=True)
    (real / "pkg/__init__.py").write_text("")
    (real / "pkg/mod.py").write_text("X = 'old'\n")
    py(exe, "import pkg.mod", real)
    same_second_rewrite(real / "pkg/mod.py", "X = 'new'\n")
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pkg").symlink_to(real / "pkg")
    assert py(exe, "import pkg.mod; print(pkg.mod.X)", proj) == "old"  # through the link
    (proj / "a.py").write_text("X = 'old'\n")
    (proj / "b.py").write_text("X = 'old'\n")
    py(exe, "import a, b", proj)
    stash = tmp_path / "stash"
    shutil.move(str(proj / "__pycache__"), str(stash))
    (proj / "__pycache__").mkdir()
    b_cache = next(stash.glob("b.*.pyc"))
    (proj / "__pycache__" / b_cache.name).symlink_to(b_cache)  # a cache file that is a link
    sub = proj / "sub"
    sub.mkdir()
    (sub / "a.py").write_text("X = 'old'\n")
    st = os.stat(proj / "a.py")  # the cache in the stash is of that file: its mtime too
    os.utime(sub / "a.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    (sub / "__pycache__").symlink_to(stash)  # a __pycache__ that is a link
    for f in (proj / "b.py", sub / "a.py"):
        same_second_rewrite(f, "X = 'new'\n")
    assert import_value(exe, "b", proj) == "old" and import_value(exe, "a", sub) == "old"
    r = expect(run("check", "--json", proj, env=py_env(exe)))
    doc = json.loads(r.out)
    links = sorted(os.path.relpath(p["path"], proj) for p in doc["links_not_followed"])
    assert links == ["__pycache__/" + b_cache.name, "pkg", "sub/__pycache__"], r.out
    assert r.err.count("a symbolic link, not followed") == 3, r.err
    r = expect(run("check", "--strict", proj, env=py_env(exe)), rc=1)
    assert r.out.splitlines()[-1] == "  3 links not followed", r.out


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_a_cache_copied_from_a_sibling_is_counted_as_trusted_without_proof(tmp_path, exe):
    """a.py and b.py of one size and mtime; b's cache copied over a's with
    `cp -p`: its header fits a.py, and its inode changed after a.py's, so
    nothing hints at a change. CPython runs b's code for `import a`; auto
    trusts it (and says how many caches it trusted without proof), all
    proves it wrong."""
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(f"X = '{name}'\n")
    st = os.stat(tmp_path / "a.py")
    os.utime(tmp_path / "b.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    py(exe, "import a, b", tmp_path)
    a_cache, b_cache = cache_of(tmp_path, "a"), cache_of(tmp_path, "b")
    time.sleep(0.01)
    subprocess.run(["cp", "-p", b_cache, a_cache], check=True)
    assert import_value(exe, "a", tmp_path) == "b"  # CPython loads the sibling's code
    r = expect(run("check", "--json", tmp_path, env=py_env(exe)))
    doc = json.loads(r.out)
    assert doc["counts"]["ok"] == 2 and doc["trusted_unproved"] == 2, r.out
    r = expect(run("check", tmp_path, env=py_env(exe)))
    assert "  2 trusted without proof (no sign of change)" in r.out.splitlines(), r.out
    r = expect(run("check", "--verify", "all", tmp_path, env=py_env(exe)), rc=1)
    assert "suspect" in r.out and "constants of <module>" in r.out, r.out


def test_the_fix_named_for_a_legacy_cache_clears_it_whatever_its_directory_is_called(tmp_path):
    """The hint follows the cache's kind, not its path: a corrupt legacy .pyc in
    a directory whose name holds "__pycache__" is cleared only by --stray,
    and the command named does clear it."""
    d = tmp_path / "old__pycache__copy"
    d.mkdir()
    (d / "mod.pyc").write_bytes(b"not a pyc at all")
    r = expect(run("check", tmp_path), rc=1)
    assert "corrupt" in r.out and "(fix: pycache-clean clean --stale-only --stray)" in r.out, r.out
    fix = r.out.split("(fix: ")[1].split(")")[0].split()
    expect(run(*fix[1:], tmp_path), rc=0)
    assert not (d / "mod.pyc").exists()
    expect(run("check", tmp_path), rc=0)
