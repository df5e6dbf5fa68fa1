"""End-to-end tests of `check` and `clean --stale-only` with every CPython on the machine."""
import glob
import json
import os
import subprocess
import time

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


def py_env(exe, **extra):
    # The interpreter's own directory first, so that `python3.X` is on PATH
    # (check calls a cache foreign when its interpreter is not installed).
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
    assert "mod.py changed after this cache was written" in r.out
    assert r.out.splitlines()[-1].startswith("checked 1 caches: 0 ok, 0 stale, 1 suspect")
    expect(run("clean", "--stale-only", tmp_path, env=py_env(exe)),
           out="Cleared 1/1 stale caches\n")
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
    expect(run("clean", "--stale-only", tmp_path), out="Cleared 1/1 stale caches\n")
    assert py(exe, "import gone; print(gone.X)", tmp_path) == "ghost"
    expect(run("clean", "--stale-only", "--stray", tmp_path), out="Cleared 1/1 stale caches\n")
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


def test_truncated_and_garbage_pycs_are_corrupt(tmp_path):
    (tmp_path / "mod.py").write_text("X = 1\n")
    py("/usr/bin/python3", "import mod", tmp_path)
    cache = tmp_path / "__pycache__"
    good = (cache / "mod.cpython-311.pyc").read_bytes()
    (cache / "mod.cpython-311.pyc").write_bytes(good[:10])
    (tmp_path / "b.py").write_text("")
    (cache / "b.cpython-311.pyc").write_bytes(os.urandom(64).replace(b"\r\n", b"xx"))
    (tmp_path / "c.py").write_text("")
    (cache / "c.cpython-311.pyc").write_bytes(good[:4] + b"\xff\x00\x00\x00" + good[8:])
    (cache / "empty.cpython-311.pyc").write_bytes(b"")
    r = expect(run("check", tmp_path), rc=1)
    assert r.out.count("corrupt ") == 4, r.out  # an empty file is corrupt before anything else
    assert "4 corrupt" in r.out


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


def test_check_walks_like_clean_and_bad_input(tmp_path):
    (tmp_path / "node_modules/x").mkdir(parents=True)
    (tmp_path / "node_modules/x/__pycache__").mkdir()
    (tmp_path / "node_modules/x/__pycache__/m.cpython-311.pyc").write_bytes(b"")
    expect(run("check", tmp_path), out="checked 0 caches: 0 ok, 0 stale, 0 suspect, 0 orphan, "
                                        "0 orphan-importable, 0 foreign, 0 corrupt\n")
    expect(run("check", tmp_path / "missing"), rc=1, err_has="No such file or directory")
    expect(run("check", "--bogus"), rc=2, err_has="--bogus")
    expect(run("clean", "--stale-only", "--dry-run", tmp_path), rc=2, err_has="--stale-only")
