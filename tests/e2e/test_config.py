"""Settings in the project: [tool.pycache-clean] in pyproject.toml, or a
pycache-clean.toml, found upward from the working directory and not past the
repository's root; command line > file > defaults; --config and --isolated;
an unknown key or a bad value names the file and the key. Each setting is
shown by what it changes: the walk's width, what a sweep removes, how long a
lock waits, what the pytest plugin sweeps."""
import json
import os
import subprocess
import time

import pytest

from conftest import BIN, SOURCE_ROOT, base_env, expect, make_tree, run


@pytest.fixture
def repo(tmp_path):
    """A repository (a .git directory) with a subdirectory to run in."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "src/deep").mkdir(parents=True)
    return root


def pyproject(root, body, name="pyproject.toml"):
    header = "" if name != "pyproject.toml" else '[project]\nname = "x"\n\n[tool.pycache-clean]\n'
    (root / name).write_text(header + body)


def workers(r):
    return next(line for line in r.err.splitlines() if "worker thread" in line)


def test_found_upward_and_the_command_line_wins(repo):
    pyproject(repo, "jobs = 3\n")
    here = repo / "src/deep"
    r = expect(run("-v", "check", cwd=here))
    assert f"settings from {repo}/pyproject.toml" in r.err, r.err
    assert "3 worker thread(s), as -j asks" in workers(r)
    assert "1 worker thread(s)" in workers(expect(run("-v", "check", "-j", "1", cwd=here)))
    assert "one per core" in workers(expect(run("-v", "--isolated", "check", cwd=here)))
    # A nearer file wins; in one directory pycache-clean.toml wins over pyproject.toml.
    pyproject(repo / "src", "jobs = 2\n")
    assert "2 worker thread(s)" in workers(expect(run("-v", "check", cwd=here)))
    pyproject(repo / "src", "jobs = 4\n", name="pycache-clean.toml")
    assert "4 worker thread(s)" in workers(expect(run("-v", "check", cwd=here)))


def test_stops_at_the_repository_root_and_skips_a_pyproject_without_the_table(tmp_path, repo):
    pyproject(tmp_path, "jobs = 3\n")  # above the repository: not ours
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no table: skipped
    r = expect(run("-v", "check", cwd=repo / "src/deep"))
    assert "one per core" in workers(r) and "no pycache-clean.toml" in r.err, r.err
    (repo / ".git").rmdir()  # no repository: the search goes on up
    assert "3 worker thread(s)" in workers(expect(run("-v", "check", cwd=repo / "src")))


def test_excludes_stray_and_tagged_from_the_file(repo):
    make_tree(repo, ["build/__pycache__/a.pyc", "node_modules/p/__pycache__/b.pyc",
                     "src/__pycache__/c.pyc", "legacy.pyc", ".pytest_cache/v/x"])
    (repo / ".pytest_cache/CACHEDIR.TAG").write_text(
        "Signature: 8a477f597d28d172789f06886806bc55\n")
    pyproject(repo, 'exclude = ["build"]\nstray = true\ntagged = true\n')
    expect(run("-n", cwd=repo))  # nothing removed by a dry run
    r = expect(run(cwd=repo))
    assert (repo / "build/__pycache__/a.pyc").exists()  # the file's exclude
    assert not (repo / "node_modules/p/__pycache__").exists()  # no longer a default exclude
    assert not (repo / "src/__pycache__").exists()
    assert not (repo / "legacy.pyc").exists() and not (repo / ".pytest_cache").exists(), r.out
    # extend-exclude adds to the defaults, and the command line's --exclude adds more.
    make_tree(repo, ["build/__pycache__/a.pyc", "node_modules/p/__pycache__/b.pyc",
                     "gen/__pycache__/d.pyc", "src/__pycache__/c.pyc"])
    pyproject(repo, 'extend-exclude = ["build"]\n')
    expect(run("--exclude", "gen", cwd=repo), out="Cleared 1/1 __pycache__ directory\n")
    assert (repo / "build/__pycache__").exists() and (repo / "gen/__pycache__").exists()
    assert (repo / "node_modules/p/__pycache__").exists()


def test_lock_wait_from_the_file(repo):
    pyproject(repo, "wait = 0\n")
    holder = subprocess.Popen([BIN, "lock", "--", "sleep", "30"], cwd=repo, env=base_env())
    try:
        deadline = time.monotonic() + 10
        while not (repo / ".git/pycache-clean.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        start = time.monotonic()
        expect(run("lock", "--", "true", cwd=repo), rc=75)
        assert time.monotonic() - start < 5  # the file's 0, not the default 30
        expect(run("lock", "--wait", "0.2", "--", "true", cwd=repo), rc=75)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("body, named", [
    ("verfy = \"none\"\n", "unknown key 'verfy'; did you mean 'verify'?"),
    ("jobs = \"three\"\n", "'jobs' takes an integer"),
    ("verify = \"maybe\"\n", "'verify': 'maybe': expected auto, all or none"),
    ("jobs = 99\n", "'jobs': '99' is out of range"),
    ("wait = \"soon\"\n", "'wait' takes a number"),
    ("exclude = \"build\"\n", "'exclude' takes an array of strings"),
    ("exclude = [\"build/gen\"]\n", "'exclude': 'build/gen' is not a directory NAME"),
    ("extend-exclude = [\"..\"]\n", "'extend-exclude': '..' is not a directory NAME"),
    ("[oops\n", "not valid TOML"),
])
def test_bad_settings_name_the_file_and_the_key(repo, body, named):
    if body.startswith("[oops"):
        (repo / "pycache-clean.toml").write_text(body)
        where = repo / "pycache-clean.toml"
    else:
        pyproject(repo, body)
        where = repo / "pyproject.toml"
    r = expect(run("check", cwd=repo / "src"), rc=2)
    assert str(where) in r.err and named in r.err, r.err
    assert "--help" not in r.err, r.err  # the file is what to fix, not the command line
    expect(run("--isolated", "check", cwd=repo / "src"), rc=0)  # ignored whole


def test_config_option_and_subcommand(repo, tmp_path):
    other = tmp_path / "elsewhere.toml"
    other.write_text('jobs = 2\npytest-clean = "all"\n')
    pyproject(repo, "jobs = 3\n")
    r = expect(run("-v", "check", "--config", other, cwd=repo))
    assert "2 worker thread(s)" in workers(r) and str(other) in r.err
    expect(run("check", "--config", tmp_path / "missing.toml", cwd=repo), rc=2,
           err_has="missing.toml")
    bare = tmp_path / "pyproject.toml"
    bare.write_text('[project]\nname = "y"\n')
    expect(run("check", "--config", bare, cwd=repo), rc=2, err_has="no [tool.pycache-clean]")
    expect(run("check", "--config", other, "--isolated", cwd=repo), rc=2, err_has="--isolated")
    expect(run("config", cwd=repo), out=f"# {repo}/pyproject.toml\njobs = 3\n")
    expect(run("config", "--get", "pytest-clean", cwd=repo), out="off\n")
    expect(run("config", "--config", other, "--get", "pytest-clean", cwd=repo), out="all\n")
    doc = json.loads(expect(run("config", "--json", cwd=repo)).out)
    assert doc == {"file": f"{repo}/pyproject.toml", "settings": {"jobs": "3"}}


def test_the_pytest_plugin_sweeps_as_the_file_says(repo):
    if subprocess.run(["/usr/bin/python3", "-c", "import pytest"]).returncode:
        pytest.skip("needs Debian's python3-pytest")
    (repo / "src/unused.py").write_text("X = 1\n")
    (repo / "test_a.py").write_text("def test_a():\n    pass\n")
    env = base_env(PATH=os.path.dirname(BIN) + ":/usr/bin:/bin", PYCACHE_CLEAN_BINARY=BIN,
                   PYTHONPATH=str(SOURCE_ROOT / "python"))

    def session():
        subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", str(repo / "src")],
                       check=True, env=base_env(PYTHONDONTWRITEBYTECODE=None))
        r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "pycache_clean",
                            "-p", "no:cacheprovider"], cwd=repo, env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return (repo / "src/__pycache__").exists()

    assert session()  # default: off (only caches whose source changed go)
    pyproject(repo, 'pytest-clean = "all"\n')
    assert not session()  # every __pycache__ swept first
    (repo / "pytest.ini").write_text("[pytest]\npycache_clean = off\n")
    assert session()  # pytest's own setting wins
    (repo / "pytest.ini").unlink()
    pyproject(repo, 'pytest-clean = "sometimes"\n')
    with pytest.raises(AssertionError):
        session()
