"""Shared harness for the end-to-end tests: run the built binary on real trees.

The binary comes from $PYCACHE_CLEAN_BIN (CTest sets it). `run()` gives a
Result with rc/out/err and a readable failure trace via `expect()`. When every
test of a file was skipped (no pytest-xdist, no pre-commit, not root...), the
session exits 77, which CTest reports as "Skipped" (SKIP_RETURN_CODE) instead
of a silent pass.
"""
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = os.environ.get("PYCACHE_CLEAN_BIN", "")
HELPERS = Path(os.environ.get("PYCACHE_CLEAN_HELPERS", "."))
SKIP_EXIT = 77

# Variables of an enclosing pytest/CPython setup that must not leak into the
# processes under test.
_SCRUB = ("PYTEST_CURRENT_TEST", "PYTEST_VERSION", "PYTEST_RUNNING", "PYTHONPYCACHEPREFIX",
          "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "SPDLOG_LEVEL")


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env["NO_COLOR"] = "1"
    env.update({k: v for k, v in extra.items() if v is not None})
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
    return env


@dataclass
class Result:
    args: list
    rc: int
    out: str
    err: str

    def __str__(self):
        return f"$ {self.args}\nexit {self.rc}\n--- stdout\n{self.out}--- stderr\n{self.err}"


def run(*args, cwd=None, env=None, timeout=120, binary=None, prefix=(), input=None):
    """Run the binary (or `binary`) with `args`; never raises on a nonzero exit."""
    argv = [*prefix, binary or BIN, *map(os.fsdecode, args)]
    p = subprocess.run(argv, cwd=cwd, env=env or base_env(), capture_output=True,
                       timeout=timeout, input=input,
                       errors="surrogateescape", text=True)
    return Result(argv, p.returncode, p.stdout, p.stderr)


def expect(result, rc=0, out=None, err_has=(), out_has=()):
    """Check a Result; on mismatch fail with the whole command trace."""
    problems = []
    if rc is not None and result.rc != rc:
        problems.append(f"exit {result.rc}, expected {rc}")
    if out is not None and result.out != out:
        problems.append(f"stdout {result.out!r}, expected {out!r}")
    for s in ([err_has] if isinstance(err_has, str) else err_has):
        if s not in result.err:
            problems.append(f"stderr lacks {s!r}")
    for s in ([out_has] if isinstance(out_has, str) else out_has):
        if s not in result.out:
            problems.append(f"stdout lacks {s!r}")
    if problems:
        pytest.fail("; ".join(problems) + "\n" + str(result), pytrace=False)
    return result


def wait_for_file(path, timeout=10):
    """Wait until `path` exists (a helper's "ready" signal); fail after `timeout` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def wait_for_text(path, text, timeout=60):
    """Waits until file `path` holds `text` (a waiter's stderr saying it waits):
    never a fixed sleep, which a slow start (ASan, a loaded machine) outlasts."""
    end = time.monotonic() + timeout
    while not (os.path.exists(path) and text in Path(path).read_text(errors="replace")):
        assert time.monotonic() < end, f"{text!r} never appeared in {path}"
        time.sleep(0.02)


def make_tree(root, files):
    """Create `files` (relative paths, str or bytes) under `root` with small contents."""
    root = os.fsencode(root)
    for rel in files:
        path = os.path.join(root, os.fsencode(rel))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(b"x")


def in_mount_namespace(script):
    """Runs shell `script` as root in a private mount namespace (unshare -m),
    where it may mount what it likes; exit 77 from it means "cannot mount
    here" and skips the test."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and util-linux unshare")
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-ec", script],
                       capture_output=True, text=True, env=base_env())
    if p.returncode == 77:
        pytest.skip("cannot mount in a private namespace here: " + p.stderr.strip())
    return p


SOURCE_ROOT = Path(__file__).resolve().parents[2]


def linux_wheel_tags(arch):
    """The platform tags of a static Linux executable for `arch`."""
    return f"manylinux_2_17_{arch}.manylinux2014_{arch}.musllinux_1_1_{arch}"


def build_wheels(out, binary=None, sdist=True):
    """Packs the built binary into this platform's wheel, plus the sdist and
    the pre-commit package, with the in-tree backend through `python3 -m
    build` (offline: the backend needs nothing). Skips without python3-build."""
    py = "/usr/bin/python3"
    if subprocess.run([py, "-c", "import build"], capture_output=True).returncode:
        pytest.skip("needs python3-build")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = base_env(SOURCE_DATE_EPOCH=None)
    steps = [(SOURCE_ROOT / "python", ["--wheel", "-C", f"binary={binary or BIN}", "-C",
                                       f"plat-name={linux_wheel_tags(os.uname().machine)}"]),
             (SOURCE_ROOT, ["--wheel"])]
    if sdist:
        steps.append((SOURCE_ROOT / "python", ["--sdist"]))
    for cwd, args in steps:
        r = subprocess.run([py, "-m", "build", "--no-isolation", *args, "--outdir", str(out)],
                           cwd=cwd, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    return out


def system_python():
    """Debian's interpreter (has python3-pytest); PATH's python3 may be a pyenv one."""
    for cand in ("/usr/bin/python3", shutil.which("python3")):
        if cand and os.access(cand, os.X_OK):
            return cand
    pytest.skip("no python3 interpreter")


@pytest.fixture
def tree(tmp_path):
    return tmp_path


@pytest.fixture(scope="session", autouse=True)
def _binary_present():
    if not BIN or not os.access(BIN, os.X_OK):
        pytest.exit("PYCACHE_CLEAN_BIN does not name the built binary", returncode=2)


_counts = {"passed": 0, "failed": 0, "skipped": 0}


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _counts[report.outcome] = _counts.get(report.outcome, 0) + 1


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _counts["passed"] == 0 and _counts["failed"] == 0 and _counts["skipped"]:
        session.exitstatus = SKIP_EXIT
