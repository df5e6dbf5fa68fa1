"""The command line as a new user meets it: options on either side of the
subcommand, `help`, and a word that is both a subcommand and a directory."""
import errno
import json
import os
import subprocess
import time

import pytest

from conftest import SOURCE_ROOT, base_env, expect, run


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
    assert "Usage: pycache-clean" in top.out and "help exit-status" in top.out
    assert "Exit status:" in expect(run("help", "exit-status")).out
    sub = expect(run("help", "check"), rc=0)
    assert "Usage: pycache-clean check" in sub.out and "--verify" in sub.out
    assert sub.out == run("check", "--help").out
    expect(run("help", "nope"), rc=2, err_has="help: no subcommand or topic named 'nope'")
    expect(run("help", "exit-stauts"), rc=2, err_has="did you mean 'exit-status'?")


def test_top_level_help_leads_with_the_subcommands_in_use_order():
    """Subcommands in the order people reach for them, the global options
    listed, the plugin's helper hidden, no exit-status table (a topic of its own)."""
    top = expect(run("--help")).out
    listed = [line.split()[0] for line in
              top[top.index("Subcommands:"):top.index("Global options")].splitlines()[1:]
              if line.startswith("  ") and not line.startswith("    ")]
    assert listed == ["clean", "check", "unless-pytest", "test", "lock", "pytest-running",
                      "config", "completions"], listed
    for option in ("-v, --verbose", "-q, --quiet", "--json", "--color WHEN"):
        assert option in top, option
    assert "pytest-session" not in top and "Exit status:" not in top
    assert top.count("\n") < 45, top  # one screen
    expect(run("pytest-session", "--help"), rc=0, out_has="Usage:")  # hidden, still there


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


def git_repo(path):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_verbose_explains_every_decision(tmp_path):
    """-v says what was skipped and why, which lock file and why, which evidence
    pytest-running weighed; -vv adds the steps; SPDLOG_LEVEL works as -v."""
    repo = git_repo(tmp_path / "repo")
    (repo / ".tox/py311/__pycache__").mkdir(parents=True)
    (repo / "venv").mkdir()
    (repo / "venv/pyvenv.cfg").write_text("home = /usr/bin\n")
    (repo / "pkg/__pycache__").mkdir(parents=True)
    plain = expect(run("-n", cwd=repo))
    assert plain.err == "", plain  # silent without -v
    r = expect(run("-v", "-n", cwd=repo))
    assert "./.tox: excluded by name, skipped" in r.err
    assert "./venv: holds pyvenv.cfg (a virtualenv), skipped" in r.err
    assert "reading" not in r.err  # a step, for -vv
    assert "./pkg: reading" in expect(run("-vv", "-n", cwd=repo)).err
    env_debug = expect(run("-n", cwd=repo, env=base_env(SPDLOG_LEVEL="debug")))
    assert "./.tox: excluded by name, skipped" in env_debug.err, env_debug
    # lock: the file and why it is there.
    r = expect(run("lock", "-v", "--", "true", cwd=repo))
    assert f"lock file {repo}/.git/pycache-clean.lock: the git common directory of {repo}" in r.err
    r = expect(run("lock", "-v", "--file", tmp_path / "my.lock", "--", "true", cwd=repo))
    assert "given by --file" in r.err
    assert "holding" in expect(run("lock", "-vv", "--", "true", cwd=repo)).err
    # pytest-running: each piece of evidence, and a pytest elsewhere rejected with its reason.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    decoy = subprocess.Popen(["bash", "-c", "exec -a pytest sleep 30"], cwd=elsewhere)
    try:
        end = time.monotonic() + 30
        while not open(f"/proc/{decoy.pid}/cmdline").read().startswith("pytest\0"):
            assert time.monotonic() < end, "the decoy never became `pytest 30`"
            time.sleep(0.02)
        r = expect(run("pytest-running", "-v", cwd=repo), rc=1)
        assert "environment: no PYTEST_RUNNING=1" in r.err
        assert f"marker {repo}/.git/pycache-clean-pytest.lock" in r.err
        assert "process table:" in r.err
        assert f"pid {decoy.pid} (pytest 30): not counted, working in {elsewhere}" in r.err, r
        r = expect(run("pytest-running", "-v", "--scope", "user", cwd=repo), rc=0)
        assert f"pid {decoy.pid} (pytest 30): counted" in r.err, r
    finally:
        decoy.kill()
        decoy.wait()
    r = expect(run("unless-pytest", "-v", "--", "true", cwd=repo))
    assert "pytest marker" in r.err and "taken by this command" in r.err
    # check: the interpreter that proves, and each verdict with -vv.
    src = tmp_path / "src"
    src.mkdir()
    (src / "m.py").write_text("X = 1\n")
    subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", str(src)], check=True)
    r = expect(run("check", "-v", "--verify", "all", src))
    assert "verifying CPython 3." in r.err and "by compiling with" in r.err, r
    assert "m.cpython-3" in expect(run("check", "-vv", src)).err


def exit_table(text):
    """The rows of an `Exit status:` block: [(status, meaning)], wrapped lines joined."""
    rows = []
    lines = text[text.index("Exit status:"):].splitlines()[1:]
    for line in lines:
        if not line.strip():
            break
        if line.startswith("         "):
            rows[-1] = (rows[-1][0], rows[-1][1] + " " + line.strip())
        else:
            status, meaning = line.strip().split(None, 1)
            rows.append((status, meaning))
    return rows


SUBCOMMANDS = ["clean", "check", "lock", "pytest-running", "unless-pytest", "test",
               "pytest-session", "config"]


def test_help_texts_read_well():
    """Each subcommand's -v/-q say what they do there; no CLI11 type noise; the
    usage line shows a required command; every line fits 80 columns; each
    subcommand's exit statuses are rows of the one top-level table."""
    top = expect(run("--help")).out
    table = exit_table(expect(run("help", "exit-status")).out)
    assert ("75", "lock: the lock was not had within --wait (or --conflict-exit-code); "
                  "CMD not run") in table
    words = set()
    for sub in SUBCOMMANDS:
        h = expect(run(sub, "--help")).out
        for noise in ("TEXT", "INT", "UINT", ":{", "in ["):
            assert noise not in h, (sub, noise, h)
        assert all(len(line) <= 80 for line in h.splitlines()), (sub, h)
        verbose = next(line for line in h.splitlines() if "-v,--verbose" in line)
        assert "clean: list" not in verbose
        words.add(verbose)
        for status, meaning in exit_table(h):
            assert any(s == status and m.endswith(meaning) for s, m in table), (sub, status)
    assert len(words) == len(SUBCOMMANDS)  # worded for each
    assert all(len(line) <= 80 for line in top.splitlines()), top
    assert "Usage: pycache-clean lock [OPTIONS] -- CMD [ARG...]" in run("lock", "--help").out
    assert "unless-pytest [OPTIONS] -- CMD [ARG...]" in run("unless-pytest", "--help").out
    assert "--scope repo|user|all" in run("pytest-running", "--help").out
    # An error inside a subcommand points to that subcommand's help.
    expect(run("lock", "--bogus", "--", "true"), rc=2,
           err_has="Run 'pycache-clean lock --help' for usage.")
    expect(run("check", "--verify", "maybe"), rc=2,
           err_has="Run 'pycache-clean check --help' for usage.")


def test_exit_status_table_is_the_same_in_help_readme_and_man_page():
    table = exit_table(expect(run("help", "exit-status")).out)
    readme = (SOURCE_ROOT / "docs/exit-status.md").read_text()
    block = readme[readme.index("| status | subcommands | meaning |"):]
    readme_rows = []
    for line in block.splitlines()[2:]:
        if not line.startswith("|"):
            break
        status, commands, meaning = [c.strip() for c in line.strip("|").split("|")]
        commands = ", ".join(c.strip("`") for c in commands.split(", ")) if commands != "all" else ""
        readme_rows.append((status.strip("`"), (commands + ": " if commands else "") + meaning))
    assert readme_rows == table
    man = (SOURCE_ROOT / "docs/pycache-clean.1").read_text()
    section = man[man.index('.SH "EXIT STATUS"'):]
    section = section[:section.index("\n.SH", 1)]
    man_rows = []
    lines = section.splitlines()
    for i, line in enumerate(lines):
        if line == ".TP":
            status = lines[i + 1].removeprefix(".B ").strip('"')
            man_rows.append((status, lines[i + 2].replace("\\-", "-")))
    assert man_rows == table


def validator(name):
    jsonschema = pytest.importorskip("jsonschema", reason="needs python3-jsonschema")
    schema = json.loads((SOURCE_ROOT / "docs" / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_json_documents_follow_their_schemas(tmp_path):
    """Every --json document parses, carries schema_version and validates
    against its schema under docs/; clean --json lists what was (or, dry,
    would be) removed; pytest-running's evidence is null when none runs."""
    clean, check, running = validator("clean"), validator("check"), validator("pytest-running")
    tree = tmp_path / "tree"
    for d in ("a/__pycache__", "b/c/__pycache__", "my dir/__pycache__"):
        (tree / d).mkdir(parents=True)
        (tree / d / "m.cpython-311.pyc").write_bytes(b"x")
    (tree / "old.pyc").write_bytes(b"x")
    expected = {str(tree / d) for d in ("a/__pycache__", "b/c/__pycache__", "my dir/__pycache__")}

    dry = json.loads(expect(run("--json", "-n", tree)).out)
    clean.validate(dry)
    assert dry["schema_version"] == 1 and dry["dry_run"] is True
    assert set(dry["removed_paths"]) == expected and dry["found"] == 3
    assert all(os.path.isdir(p) for p in expected)  # a dry run removes nothing

    r = expect(run("clean", "--json", "--stray", tree, tmp_path / "nope"), rc=1)
    doc = json.loads(r.out)
    clean.validate(doc)
    assert set(doc["removed_paths"]) == expected | {str(tree / "old.pyc")}
    assert doc["removed"] == 3 and doc["stray"] == {"found": 1, "removed": 1}
    assert [m["path"] for m in doc["missing"]] == [str(tmp_path / "nope")]
    assert doc["missing"][0]["errno"] == errno.ENOENT
    assert not any(os.path.exists(p) for p in expected)

    src = tmp_path / "src"
    src.mkdir()
    (src / "m.py").write_text("X = 1\n")
    (src / "n.py").write_text("Y = 1\n")
    subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", str(src)], check=True)
    (src / "m.py").write_text("X = 12345\n")  # size differs: stale
    (src / "n.py").unlink()  # orphan inside __pycache__
    doc = json.loads(expect(run("check", "--json", src)).out)
    check.validate(doc)
    assert doc["schema_version"] == 1 and doc["command"] == "check"
    assert sorted(f["class"] for f in doc["findings"]) == ["orphan", "stale"]
    doc = json.loads(expect(run("clean", "--stale-only", "--json", src)).out)
    check.validate(doc)
    assert doc["command"] == "clean --stale-only" and doc["removed"] == 2

    repo = git_repo(tmp_path / "repo")
    doc = json.loads(expect(run("pytest-running", "--json", cwd=repo), rc=1).out)
    running.validate(doc)
    assert doc["running"] is False and doc["evidence"] is None and doc["considered"]
    doc = json.loads(expect(run("pytest-running", "--json", cwd=repo,
                                env=base_env(PYTEST_RUNNING="1")), rc=0).out)
    running.validate(doc)
    assert doc["evidence"] == "environment"


# Each subcommand: the arguments that make it run without input of its own.
RUNNABLE = {
    "clean": [], "check": [], "lock": ["--", "true"], "pytest-running": [],
    "unless-pytest": ["--", "true"], "test": ["--no-clean", "--", "true"], "pytest-session": [],
    "config": [],
}
# Each subcommand with each bad value: (arguments, what the message must name).
BAD_VALUES = {
    "clean": [(["--jobs", "abc"], "--jobs: 'abc' is not a number"),
              (["-j", "0"], "'0' is out of range"), ([""], "an empty PATH"),
              (["--exclude", "a/b"], "--exclude: 'a/b' is not a directory NAME"),
              (["--config-exclude", "build"], "unexpected argument '--config-exclude'"),
              (["--verify", "all"], "--verify, --verify-timeout and --written-since apply to --stale-only"),
              (["--stale-only", "--dry"], "did you mean --dry-run?")],
    "check": [(["--jobs", "abc"], "--jobs: 'abc' is not a number"), ([""], "an empty PATH"),
              (["--verify", "maybe"], "--verify: 'maybe'"),
              (["--verify-timeout", "-1"], "--verify-timeout: '-1'"),
              (["--verify-timeout", "soon"], "--verify-timeout: 'soon'")],
    "lock": [([], "lock: no command given"), (["--", ""], "lock: the command name is empty"),
             (["--wait", "soon", "--", "true"], "--wait: 'soon'"),
             (["--file", "", "--", "true"], "--file: an empty path"),
             (["--conflict-exit-code", "0", "--", "true"], "--conflict-exit-code")],
    "pytest-running": [(["--scope", "team"], "--scope: 'team' is not one of repo, user, all")],
    "unless-pytest": [([], "unless-pytest: no command given"),
                      (["--", ""], "the command name is empty"),
                      (["--wait", "x", "--", "true"], "--wait: 'x'"),
                      (["--skip-exit-code", "300", "--", "true"], "--skip-exit-code"),
                      (["--scope", "team", "--", "true"], "--scope: 'team'")],
    "test": [(["--", ""], "test: the command name is empty"),
             (["--wait", "x", "--", "true"], "--wait: 'x'")],
    "pytest-session": [(["--wait", "x"], "--wait: 'x'")],
    "config": [(["--get", "verfy"], "--get 'verfy': no such setting; did you mean 'verify'?"),
               (["--isolated", "--config", "x.toml"], "--isolated"),
               (["--config", "missing.toml"], "missing.toml")],
}


def test_every_subcommand_with_help_nothing_bad_values_and_options_on_both_sides(tmp_path):
    repo = git_repo(tmp_path / "repo")
    for sub in SUBCOMMANDS:
        h = expect(run(sub, "--help", cwd=repo))
        assert f"Usage: pycache-clean {'[clean]' if sub == 'clean' else sub}" in h.out, h
        assert "Exit status:" in h.out
        assert expect(run("help", sub, cwd=repo)).out == h.out
        # Options on either side of the subcommand mean the same.
        for before, after in ((["-q"], []), ([], ["-q"]), (["--color=never"], []),
                              (["--color", "never"], []), ([], ["--color", "never"])):
            r = run(*before, sub, *after, *RUNNABLE[sub], cwd=repo)
            assert r.rc in (0, 1), (sub, before, after, r)  # 1: pytest-running, none runs
            assert "error" not in r.err, (sub, before, after, r)
        # An unknown option is named, with the subcommand's help to turn to.
        expect(run(sub, "--bogus", cwd=repo), rc=2,
               err_has=["--bogus", f"Run 'pycache-clean {sub} --help'"])
        expect(run("--bogus", sub, cwd=repo), rc=2, err_has="--bogus")
        for args, named in BAD_VALUES[sub]:
            expect(run(sub, *args, cwd=repo), rc=2, err_has=named)
    # With no argument at all: what each does on its own.
    expect(run("clean", cwd=repo), rc=0, out="Cleared 0/0 __pycache__ directories\n")
    expect(run("check", cwd=repo), rc=0, out_has="checked 0 caches")
    expect(run("pytest-running", cwd=repo), rc=1, err_has="no pytest run in progress")
    r = run("pytest-session", cwd=repo, input="")
    assert r.rc == 0 and r.out.startswith("held "), r
    expect(run(cwd=repo), rc=0, out="Cleared 0/0 __pycache__ directories\n")
    expect(run("-V", cwd=repo), rc=0, out_has="pycache-clean ")


def test_color_option(tmp_path):
    (tmp_path / "x").write_text("")
    for argv, coloured in ((["--color", "always"], True), (["--color=never"], False), ([], False)):
        r = run(*argv, "check", "-v", tmp_path / "missing", env=base_env(NO_COLOR=None))
        assert ("\x1b[" in r.err) == coloured, (argv, r)
    (tmp_path / "node_modules").mkdir()
    r = run("--color", "always", "-v", "check", tmp_path / "missing", env=base_env(NO_COLOR="1"))
    assert "\x1b[" in r.err  # asked for in so many words


def test_completions_print_the_installed_scripts():
    for shell, name in (("bash", "pycache-clean.bash"), ("zsh", "_pycache-clean"),
                        ("fish", "pycache-clean.fish")):
        r = expect(run("completions", shell), rc=0)
        assert r.out == (SOURCE_ROOT / "completions" / name).read_text(), shell
    expect(run("completions", "tcsh"), rc=2, err_has="'tcsh' is not one of bash, zsh, fish")
    expect(run("completions"), rc=2, err_has="SHELL")
    # Every subcommand the help lists is completed by each script.
    top = expect(run("--help")).out
    listed = [line.split()[0] for line in
              top[top.index("Subcommands:"):top.index("Global options")].splitlines()[1:]
              if line.startswith("  ") and not line.startswith("    ")]
    for name in ("pycache-clean.bash", "_pycache-clean", "pycache-clean.fish"):
        text = (SOURCE_ROOT / "completions" / name).read_text()
        for sub in listed:
            assert sub in text, (name, sub)
