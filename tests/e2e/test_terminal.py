"""Terminal manners: progress only on a TTY, colour only on a TTY without NO_COLOR,
log levels from -v/-vv/-q and SPDLOG_LEVEL. The TTY runs use util-linux `script`."""
import re
import shutil
import subprocess

import pytest

from conftest import BIN, base_env, expect, make_tree, run

needs_script = pytest.mark.skipif(not shutil.which("script"), reason="needs util-linux script")


def on_tty(args, env):
    """Run the binary under a pseudo-terminal; returns everything it drew, raw."""
    cmd = " ".join([BIN, *args])
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], env=env, capture_output=True,
                       timeout=60)
    return r.returncode, r.stdout.decode(errors="replace")


@pytest.fixture
def big_tree(tmp_path):
    make_tree(tmp_path, [f"p{i}/q{j}/__pycache__/m.pyc" for i in range(40) for j in range(10)])
    return tmp_path


@needs_script
def test_progress_line_on_a_tty_then_erased(big_tree):
    env = base_env(PYCACHE_CLEAN_PROGRESS_DELAY_MS="0", NO_COLOR=None)
    rc, screen = on_tty(["-j1", str(big_tree)], env)
    assert rc == 0
    # The progress line counts what the report line counts.
    assert re.search(r"\[pycache-clean\] \d+ directories, \d+ __pycache__ directories", screen), screen
    assert "\r\x1b[K" in screen  # erased at the end
    assert screen.rstrip().endswith("Cleared 400/400 __pycache__ directories")
    rc, screen = on_tty(["check", "-j1", str(big_tree)], env)
    assert re.search(r"\[pycache-clean\] \d+ directories, \d+ caches checked", screen), screen
    assert screen.rstrip().endswith("0 corrupt"), screen


@needs_script
def test_no_progress_before_the_delay(tmp_path):
    env = base_env(NO_COLOR=None)  # default delay: 500 ms, far more than this takes
    rc, screen = on_tty([str(tmp_path)], env)
    assert "[pycache-clean]" not in screen


def test_no_progress_without_a_tty(big_tree):
    r = run("-j1", big_tree, env=base_env(PYCACHE_CLEAN_PROGRESS_DELAY_MS="0"))
    expect(r, out="Cleared 400/400 __pycache__ directories\n")
    assert r.err == ""


@needs_script
def test_colour_only_on_a_tty_and_never_with_no_color(tmp_path):
    env = base_env(NO_COLOR=None, TERM="xterm")
    rc, screen = on_tty([str(tmp_path / "missing")], env)
    assert rc == 1
    assert "\x1b[1;31merror\x1b[0m" in screen, repr(screen)
    rc, screen = on_tty([str(tmp_path / "missing")], base_env(NO_COLOR="1", TERM="xterm"))
    assert "\x1b[" not in screen and "error:" in screen
    r = run(tmp_path / "missing", env=base_env(NO_COLOR=None))
    assert "\x1b[" not in r.err and "pycache-clean: error:" in r.err


def test_log_levels(tmp_path):
    make_tree(tmp_path, ["venv/pyvenv.cfg", "venv/lib/__pycache__/x.pyc"])
    assert "debug:" not in run(tmp_path).err
    assert "holds pyvenv.cfg" in expect(run("-v", tmp_path)).err
    assert "holds pyvenv.cfg" in run(tmp_path, env=base_env(SPDLOG_LEVEL="debug")).err
    r = run("-q", tmp_path / "missing")
    assert r.out == "" and "error" in r.err  # -q keeps errors
    r = run("lock", "-q", "--file", tmp_path / "l", "--", "true", cwd=tmp_path)
    assert r.err == ""


def test_every_subcommand_has_help_with_examples():
    for sub in ("clean", "check", "lock", "pytest-running", "unless-pytest", "test"):
        r = expect(run(sub, "--help"))
        assert "Examples:" in r.out, sub
    top = expect(run("--help")).out
    for sub in ("clean", "check", "lock", "pytest-running", "unless-pytest", "test"):
        assert sub in top
    assert "Exit status:" in top


def test_typos_get_suggestions():
    expect(run("clen"), rc=2, err_has="did you mean 'clean'?")
    expect(run("chek"), rc=2, err_has="did you mean 'check'?")
    expect(run("--strct"), rc=2, err_has="did you mean --strict?")
    expect(run("lock", "--wiat", "1", "--", "true"), rc=2, err_has="did you mean --wait?")
