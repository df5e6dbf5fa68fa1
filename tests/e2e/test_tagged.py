"""`clean --tagged` and check's report of directories that say they are caches
(CACHEDIR.TAG, https://bford.info/cachedir/): caches made by the real tools
(pytest; mypy where installed) go whole; fakes planted to look like them -
no tag, a garbled one, a link or FIFO named CACHEDIR.TAG, another user's
directory or tag, a bind mount - are kept, under the same deletion contract
as every `__pycache__`."""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import base_env, expect, in_mount_namespace, make_tree, run, BIN

SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                reason="needs root and setpriv to act as a second user")
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def tool_caches(root):
    """Runs real pytest (and mypy, where installed) in `root`; returns the
    cache directories they made, each with its CACHEDIR.TAG."""
    (root / "test_a.py").write_text("def test_a():\n    assert True\n")
    subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:xdist", "-p",
                    "no:pycache_clean", str(root)], cwd=root, check=True, capture_output=True,
                   env=base_env())
    made = [root / ".pytest_cache"]
    if shutil.which("mypy"):
        (root / "typed.py").write_text("x: int = 1\n")
        subprocess.run(["mypy", "typed.py"], cwd=root, check=True, capture_output=True,
                       env=base_env(MYPY_CACHE_DIR=None))
        made.append(root / ".mypy_cache")
    for d in made:
        assert (d / "CACHEDIR.TAG").read_text().startswith(SIGNATURE), d
    return made


def file_bytes(tree):
    return sum(p.stat().st_size for p in Path(tree).rglob("*") if p.is_file() and not p.is_symlink())


def test_real_tool_caches_are_reported_with_their_size_then_removed(tmp_path):
    made = tool_caches(tmp_path)
    if len(made) == 1:
        print("mypy not installed: only pytest's cache is made by its tool")
    r = expect(run("check", "-v", tmp_path), rc=0)
    for d in made:
        assert f"{d}: a cache directory (CACHEDIR.TAG)" in r.out, r.out
    total = sum(file_bytes(d) for d in made)
    doc = json.loads(run("check", "--json", tmp_path).out)
    assert doc["tagged"] == {"directories": len(made), "bytes": total}
    assert f"{len(made)} tagged cache director" in r.out
    # Without --tagged a sweep leaves them.
    expect(run(tmp_path), rc=0)
    assert all(d.is_dir() for d in made)
    dry = expect(run("--tagged", "-n", tmp_path), rc=0)
    assert sorted(dry.out.splitlines()[:-2]) == sorted(str(d) for d in made), dry.out
    assert all(d.is_dir() for d in made)
    r = expect(run("--tagged", "--json", tmp_path), rc=0)
    doc = json.loads(r.out)
    assert sorted(doc["removed_paths"]) == sorted(str(d) for d in made)
    assert doc["tagged"] == {"found": len(made), "removed": len(made)}
    assert not any(d.exists() for d in made)
    assert (tmp_path / "test_a.py").exists()


def test_fakes_are_kept(tmp_path):
    """Only a regular file that begins with the signature makes a cache: a
    cache's name alone, a garbled tag, a link to a real tag, a FIFO (never
    waited on), a directory named CACHEDIR.TAG, an excluded or virtualenv
    directory, and a PATH itself are kept."""
    real = tmp_path / "real"
    make_tree(real, ["data"])
    (real / "CACHEDIR.TAG").write_text(SIGNATURE + "\n")
    fakes = {
        ".pytest_cache": None,                                   # a name, no tag
        "garbled": SIGNATURE[:-1] + "\n",                         # one byte short
        "lower": SIGNATURE.lower() + "\n",
        "linked": "link",
        "fifo": "fifo",
        "tagdir": "dir",
        "node_modules/c": SIGNATURE,                              # excluded
        "venv/c": SIGNATURE,                                      # in a virtualenv
    }
    proj = tmp_path / "proj"
    for name, tag in fakes.items():
        make_tree(proj / name, ["data"])
        t = proj / name / "CACHEDIR.TAG"
        if tag == "link":
            t.symlink_to(real / "CACHEDIR.TAG")
        elif tag == "fifo":
            os.mkfifo(t)
        elif tag == "dir":
            t.mkdir()
        elif tag is not None:
            t.write_text(tag)
    (proj / "venv/pyvenv.cfg").write_text("home = /usr/bin\n")
    (proj / "CACHEDIR.TAG").write_text(SIGNATURE + "\n")     # the PATH itself
    (proj / "escape\x1b[31m").mkdir()
    (proj / "escape\x1b[31m/CACHEDIR.TAG").write_text(SIGNATURE)
    r = expect(run("--tagged", "-v", proj), rc=0)
    assert r.out.splitlines()[-1] == "Cleared 1/1 tagged cache directory", r.out
    assert "\x1b[31m" not in r.out and "escape\\x1b[31m" in r.out  # said safely
    for name in fakes:
        assert (proj / name / "data").exists(), name
    assert (proj / "CACHEDIR.TAG").exists() and (real / "data").exists()
    assert "its CACHEDIR.TAG is not a regular file" in r.err
    assert "does not begin with the signature" in r.err


@needs_root
def test_another_users_tagged_directory_is_kept(tmp_path):
    """Root sweeping a shared tree keeps what a second user tagged - their
    directory, or our directory holding their tag - and says why with -v."""
    shared = Path(tempfile.mkdtemp(prefix="pycache-clean-tagged-", dir="/tmp"))
    try:
        os.chmod(shared, 0o1777)
        for cmd in (["mkdir", f"{shared}/theirs"], ["sh", "-c", f"echo '{SIGNATURE}' > "
                                                    f"{shared}/theirs/CACHEDIR.TAG"],
                    ["touch", f"{shared}/theirs/data"]):
            subprocess.run([*AS_NOBODY, *cmd], check=True, env=base_env(HOME="/nonexistent"))
        mine = shared / "mine"
        make_tree(mine, ["data"])
        os.chmod(mine, 0o777)
        subprocess.run([*AS_NOBODY, "sh", "-c", f"echo '{SIGNATURE}' > {mine}/CACHEDIR.TAG"],
                       check=True, env=base_env(HOME="/nonexistent"))
        r = expect(run("--tagged", "-v", shared), rc=0)
        assert "Cleared 0/0 tagged cache directories" in r.out, r.out
        assert (shared / "theirs/data").exists() and (mine / "data").exists()
        assert r.err.count("belongs to another user") == 2, r.err
    finally:
        subprocess.run(["rm", "-rf", str(shared)], check=False)


def test_a_bind_mounted_tagged_directory_is_kept(tmp_path):
    """A tagged directory that is a mount point (a bind mount of the same
    file system), and a mount inside a tagged directory, are never entered:
    what lies on them stays, the rest goes."""
    data = tmp_path / "volume"
    make_tree(data, ["keep.txt"])
    (data / "CACHEDIR.TAG").write_text(SIGNATURE)
    make_tree(tmp_path / "proj", ["a/.keep", "b/cache.bin", "b/mnt/.keep"])
    (tmp_path / "proj/b/CACHEDIR.TAG").write_text(SIGNATURE)
    p = in_mount_namespace(f'''
        mount --bind "{data}" "{tmp_path}/proj/a" || exit 77
        mount --bind "{data}" "{tmp_path}/proj/b/mnt" || exit 77
        set +e
        "{BIN}" --tagged "{tmp_path}/proj"; echo "rc=$?"
    ''')
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    assert f"{tmp_path}/proj/a: a mount point" in p.stderr, p.stderr
    assert f"{tmp_path}/proj/b/mnt: a mount point" in p.stderr, p.stderr
    assert sorted(os.listdir(data)) == ["CACHEDIR.TAG", "keep.txt"]
    assert not (tmp_path / "proj/b/cache.bin").exists()


def test_tagged_does_not_combine_with_stale_only(tmp_path):
    expect(run("clean", "--tagged", "--stale-only", tmp_path), rc=2, err_has="--tagged")
