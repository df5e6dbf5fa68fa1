"""Latency-bound file systems, for real: latency_fs (bench/fuse/latency_fs.c,
a FUSE passthrough that waits before answering) mounted in a private mount
namespace. The walk sees FUSE and keeps many requests in flight, -j still
decides when given, and every deletion-contract guarantee about mount points
holds there as on a local disk: a `__pycache__` that is a mount point, a
mount inside a cache, -x, and the overlapped removal of one large cache."""
import os
import shutil
from pathlib import Path

import pytest

from conftest import BIN, HELPERS, in_mount_namespace, make_tree

LATENCY_FS = HELPERS / "latency_fs"
UNCACHED = "entry_timeout=0,attr_timeout=0,negative_timeout=0,max_threads=64"


@pytest.fixture(autouse=True)
def needs_fuse():
    if not LATENCY_FS.exists():
        pytest.skip("latency_fs was not built (needs libfuse3-dev)")
    if not os.path.exists("/dev/fuse") or os.geteuid() != 0:
        pytest.skip("needs root and /dev/fuse")


def mounted(lower, mnt, body, delay_us=0, stats=None):
    """Shell text: latency_fs serving `lower` at `mnt` while `body` runs, then
    unmounted (its daemon ends with the mount)."""
    stats_arg = f'--stats "{stats}"' if stats else ""
    return f'''
        mkdir -p "{mnt}"
        "{LATENCY_FS}" "{lower}" "{mnt}" --delay-us {delay_us} {stats_arg} -o {UNCACHED} || exit 77
        trap 'umount -l "{mnt}"' EXIT
        set +e
        {body}
        set -e
        umount "{mnt}"; trap - EXIT
    '''


def project(root, dirs):
    files = []
    for i in range(dirs):
        files += [f"p{i}/m.py", f"p{i}/__pycache__/m.cpython-311.pyc",
                  f"p{i}/__pycache__/m.cpython-311.opt-1.pyc"]
    make_tree(root, files)


def test_a_walk_on_fuse_keeps_many_requests_in_flight(tmp_path):
    """Detected as FUSE: 32 workers, and the file system really sees many
    requests waiting at once; with -j1 it sees one at a time."""
    lower = tmp_path / "lower"
    project(lower / "a", 40)
    project(lower / "b", 40)
    mnt = tmp_path / "mnt"
    p = in_mount_namespace(
        mounted(lower, mnt, f'''
        "{BIN}" -v "{mnt}/a"; echo "rc=$?"
        "{BIN}" -v -j1 "{mnt}/b"; echo "rc=$?"
        ''', delay_us=2000, stats=tmp_path / "most-default"))
    assert p.stdout.count("rc=0") == 2, p.stdout + p.stderr
    assert f"{mnt}/a: on fuse, where each operation waits on a round trip: 32 worker threads" \
        in p.stderr, p.stderr
    assert "1 worker thread(s), as -j asks" in p.stderr, p.stderr
    assert "Cleared 40/40 __pycache__ directories" in p.stdout
    for part in "ab":
        assert not list((lower / part).glob("*/__pycache__")), part
        assert len(list((lower / part).glob("*/m.py"))) == 40, part
    assert int((tmp_path / "most-default").read_text()) >= 8


def test_one_thread_keeps_one_request_in_flight(tmp_path):
    """The control for the test above: the same walk with -j1 never has two
    requests waiting at once, so the count above comes from the workers."""
    lower = tmp_path / "lower"
    project(lower, 40)
    mnt = tmp_path / "mnt"
    p = in_mount_namespace(
        mounted(lower, mnt, f'"{BIN}" -j1 "{mnt}"; echo "rc=$?"', delay_us=500,
                stats=tmp_path / "most"))
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    assert int((tmp_path / "most").read_text()) == 1


@pytest.mark.parametrize("mode", [[], ["-x"], ["--stale-only"], ["--stale-only", "-x"]],
                         ids=["plain", "x", "stale-only", "stale-only-x"])
def test_mount_points_on_fuse_are_kept(tmp_path, mode):
    """On FUSE as on a local disk: a `__pycache__` that is a bind mount is
    kept and never entered, so is a mount inside a cache; a link inside a
    large cache (removed by several threads at once) goes as a link, its
    target stays; what is not a cache stays."""
    lower = tmp_path / "lower"
    volume = tmp_path / "volume"
    make_tree(volume, ["m.cpython-311.pyc", "keep.txt"])
    inner = tmp_path / "inner"
    make_tree(inner, ["deep/keep2.txt", "x.cpython-311.pyc"])
    precious = tmp_path / "precious.txt"
    precious.write_text("mine")
    big = [f"big/__pycache__/f{i}.cpython-311.pyc" for i in range(60)]
    make_tree(lower, ["pkg/m.py", "pkg/__pycache__/.mnt", "big/__pycache__/mnt/.mnt",
                      "big/__pycache__/sub/s.pyc", "other/o.py",
                      "other/__pycache__/o.cpython-311.pyc", "Makefile", *big])
    os.symlink(precious, lower / "big/__pycache__/link.cpython-311.pyc")
    mnt = tmp_path / "mnt"
    p = in_mount_namespace(mounted(lower, mnt, f'''
        mount --bind "{volume}" "{mnt}/pkg/__pycache__" || exit 77
        mount --bind "{inner}" "{mnt}/big/__pycache__/mnt" || exit 77
        "{BIN}" {" ".join(mode)} "{mnt}"; echo "rc=$?"
        umount "{mnt}/pkg/__pycache__" "{mnt}/big/__pycache__/mnt"
    '''))
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    assert f"{mnt}/pkg/__pycache__: a mount point" in p.stderr, p.stderr
    assert sorted(os.listdir(volume)) == ["keep.txt", "m.cpython-311.pyc"]
    assert sorted(os.listdir(inner)) == ["deep", "x.cpython-311.pyc"]
    assert (inner / "deep/keep2.txt").exists()
    assert precious.read_text() == "mine"
    assert (lower / "Makefile").exists() and (lower / "pkg/m.py").exists()
    assert not (lower / "other/__pycache__/o.cpython-311.pyc").exists()
    if "--stale-only" not in mode:
        # Everything in the large cache went but the mount point it holds.
        assert f"{mnt}/big/__pycache__/mnt: a mount point" in p.stderr, p.stderr
        assert sorted(os.listdir(lower / "big/__pycache__")) == ["mnt"]
        assert sorted(os.listdir(lower / "big/__pycache__/mnt")) == [".mnt"]
