"""The command line as a new user meets it: options on either side of the
subcommand, `help`, and a word that is both a subcommand and a directory."""
import json
import subprocess

from conftest import expect, run


def test_options_before_the_subcommand(tmp_path):
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "node_modules").mkdir()
    r = expect(run("-v", "check", tmp_path), rc=0)
    assert r.out.startswith("checked 0 caches"), r.out
    assert "node_modules: excluded by name" in r.err  # -v reached check
    assert json.loads(run("--json", "check", tmp_path).out)["command"] == "check"
    expect(run("-q", "lock", "--", "true", cwd=tmp_path), rc=0, out="")
    expect(run("-q", "clean", tmp_path), rc=0, out="")
    assert not (tmp_path / "__pycache__").exists()
    # A leading option that the subcommand does not take is still refused by name.
    expect(run("--json", "lock", "--", "true", cwd=tmp_path), rc=2, err_has="--json")


def test_help_and_help_subcommand():
    top = expect(run("help"), rc=0)
    assert "Usage: pycache-clean" in top.out and "Exit status:" in top.out
    sub = expect(run("help", "check"), rc=0)
    assert "Usage: pycache-clean check" in sub.out and "--verify" in sub.out
    assert sub.out == run("check", "--help").out
    expect(run("help", "nope"), rc=2, err_has="help: no subcommand named 'nope'")


def test_a_word_that_is_both_a_subcommand_and_a_directory(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "test/__pycache__").mkdir(parents=True)
    r = expect(run("test", "--no-clean", "--", "true", cwd=tmp_path), rc=0)
    assert "'test' is taken as the subcommand" in r.err and "pycache-clean ./test" in r.err
    assert (tmp_path / "test/__pycache__").exists()
    expect(run("-q", "test", "--no-clean", "--", "true", cwd=tmp_path), rc=0, out="")
    expect(run("./test", cwd=tmp_path), out="Cleared 1/1 __pycache__ directory\n")


def test_bad_input_names_the_culprit(tmp_path):
    expect(run("--jobs", "abc", tmp_path), rc=2, err_has="--jobs: 'abc' is not a number")
    expect(run("-j", "99", tmp_path), rc=2, err_has="'99' is out of range")
    expect(run("", cwd=tmp_path), rc=2, err_has="an empty PATH")
    expect(run("check", "", cwd=tmp_path), rc=2, err_has="an empty PATH")
    expect(run("lock", "--", "", cwd=tmp_path), rc=2, err_has="lock: the command name is empty")
    expect(run("unless-pytest", "--", "", cwd=tmp_path), rc=2, err_has="command name is empty")
    expect(run("lock", "--file", "", "--", "true", cwd=tmp_path), rc=2,
           err_has="--file: an empty path")
    assert not (tmp_path / ".pycache-clean.lock").exists()  # nothing was locked or created
    expect(run("lock", "--conflict-exit-code", "0", "--", "true", cwd=tmp_path), rc=2,
           err_has="--conflict-exit-code")
    expect(run("-q", "-v", "check", tmp_path), rc=2, err_has="-q and -v")
    expect(run("clean", "-v", "-q", tmp_path), rc=2, err_has="-q and -v")
