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
    assert screen.rstrip().endswith("checked 0 caches"), screen


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


def test_typos_get_suggestions():
    expect(run("clen"), rc=2, err_has="did you mean 'clean'?")
    expect(run("chek"), rc=2, err_has="did you mean 'check'?")
    expect(run("--strct"), rc=2, err_has="did you mean --strict?")
    expect(run("lock", "--wiat", "1", "--", "true"), rc=2, err_has="did you mean --wait?")


def test_a_mistyped_subcommand_points_to_the_top_level_help(tmp_path):
    r = expect(run("chek", cwd=tmp_path), rc=2, err_has="did you mean 'check'?")
    assert "Run 'pycache-clean --help' for usage." in r.err and "clean clean" not in r.err
    # A directory of that name is swept, as always.
    (tmp_path / "chek/__pycache__").mkdir(parents=True)
    expect(run("chek", cwd=tmp_path), rc=0, out="Cleared 1/1 __pycache__ directory\n")


def test_parser_messages_read_as_the_tools_own(tmp_path):
    """Lowercase, the culprit quoted, the closest option suggested - also for
    the beginning of a long option (`--dry`)."""
    r = expect(run("clean", "--dry", cwd=tmp_path), rc=2)
    assert "pycache-clean: error: unexpected argument '--dry'; did you mean --dry-run?" in r.err
    r = expect(run("check", "--verfy", cwd=tmp_path), rc=2)
    assert "error: unexpected argument '--verfy'; did you mean --verify?" in r.err
    assert "The following" not in r.err
    for args in (["check", "--verify"], ["lock", "--wait"], ["clean", "-j", "x"]):
        err = expect(run(*args, cwd=tmp_path), rc=2).err
        message = err.split("error: ", 1)[1]
        assert not message[0].isupper(), err
    # A missing value and a number out of range, in the words the tool's own
    # checks use (`'99999' is out of range: 1 to 64 threads`), not the
    # parser's type names (`1 required TEXT:auto, always, never missing`).
    for args, said in ((["check", "--verify"], "--verify: a value is required\n"),
                       (["--color"], "--color: a value is required: auto, always, never\n"),
                       (["clean", "--exclude"], "--exclude: a value is required\n"),
                       (["unless-pytest", "--skip-exit-code", "300", "--", "true"],
                        "--skip-exit-code: '300' is out of range: 0 to 255\n"),
                       (["lock", "--conflict-exit-code", "0", "--", "true"],
                        "--conflict-exit-code: '0' is out of range: 1 to 255\n")):
        expect(run(*args, cwd=tmp_path), rc=2, err_has="pycache-clean: error: " + said)


def test_verbose_explanations_are_information_not_debug(tmp_path):
    (tmp_path / "node_modules").mkdir()
    err = expect(run("-v", tmp_path)).err
    assert "node_modules: excluded by name" in err
    assert "debug" not in err and "info:" not in err


def caches_of_four_classes(root):
    """One ok, one stale, two orphan and one orphan-importable cache, written by
    CPython itself (compileall) and then outdated."""
    for name in ("ok", "stale", "gone", "legacy"):
        (root / f"{name}.py").write_text(f"X = {name!r}\n")
    subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", str(root)], check=True,
                   env=base_env(PYTHONDONTWRITEBYTECODE=None))
    subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", "-b", str(root / "legacy.py")],
                   check=True, env=base_env(PYTHONDONTWRITEBYTECODE=None))
    (root / "stale.py").write_text("X = 'stale, and longer now'\n")
    (root / "gone.py").unlink()
    (root / "legacy.py").unlink()


def test_check_summary_names_the_classes_met_within_80_columns(tmp_path):
    caches_of_four_classes(tmp_path)
    r = expect(run("check", "--verify", "none", tmp_path), rc=1)
    lines = r.out.splitlines()
    # legacy.py's __pycache__ cache is an orphan too.
    assert lines[-2:] == ["checked 5 caches: 1 ok, 1 stale, 2 orphan, 1 orphan-importable",
                          "  1 trusted without proof (no sign of change)"], r.out
    assert " 0 " not in r.out
    many = expect(run("check", "-v", "--verify", "all", tmp_path), rc=1).out
    assert all(len(line) <= 80 for line in many.splitlines() if not line.startswith(
        ("ok ", "stale ", "orphan", "suspect", "corrupt", "foreign"))), many
    assert any(line.startswith("  ") and "verified by compiling" in line
               for line in many.splitlines()), many


@needs_script
def test_check_colours_its_findings_on_a_terminal_as_the_environment_allows(tmp_path):
    caches_of_four_classes(tmp_path)
    args = ["check", "--verify", "none", str(tmp_path)]
    red, yellow = "\x1b[1;31morphan-importable", "\x1b[33mstale"
    _, screen = on_tty(args, base_env(NO_COLOR=None))
    assert red in screen and yellow in screen, screen
    _, screen = on_tty(args, base_env(NO_COLOR="1"))
    assert "\x1b[" not in screen.replace("\x1b[K", ""), screen
    _, screen = on_tty(["--color=never", *args], base_env(NO_COLOR=None, FORCE_COLOR="1"))
    assert "\x1b[" not in screen.replace("\x1b[K", ""), screen
    # Not a terminal: plain, unless forced.
    assert "\x1b[" not in run(*args, env=base_env(NO_COLOR=None)).out
    for forcing in ({"FORCE_COLOR": "1"}, {"CLICOLOR_FORCE": "1"}):
        out = run(*args, env=base_env(NO_COLOR="1", **forcing)).out
        assert red in out and yellow in out, (forcing, out)
    assert "\x1b[" not in run(*args, env=base_env(NO_COLOR=None, FORCE_COLOR="0")).out
    assert red in run("--color", "always", *args, env=base_env(NO_COLOR="1")).out


def test_json_is_one_compact_valid_line_per_document(tmp_path):
    import json
    caches_of_four_classes(tmp_path)
    for args in (["-n", "--json"], ["check", "--json"], ["clean", "--stale-only", "-n", "--json"],
                 ["--json", str(tmp_path / "empty-dir-missing")], ["--json"]):
        r = run(*args, str(tmp_path))
        assert r.out.endswith("\n") and r.out.count("\n") == 1, (args, r.out)
        doc = json.loads(r.out)
        assert ": " not in r.out and ", " not in r.out.replace("', '", ""), r.out
        assert doc["schema_version"] == 1
