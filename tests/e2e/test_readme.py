"""Every example of the README, run with the real pre-commit, git and GNU make.

Blocks are found by their `<!-- example: ID -->` marker; a fenced yaml/sh/make
block without one fails the suite, so the documentation cannot drift from
what is tested. `ruff` is not packaged by Debian: a stand-in on PATH plays it
(it appends a marker line to each file it is given, as a fixer rewrites them).
"""
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, base_env, build_wheels

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SYS_PATH = "/usr/local/bin:/usr/bin:/bin"
TESTED_LANGS = {"yaml", "sh", "make", "toml"}


DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]


def examples():
    """Every tagged example of the README and of the pages in docs/, by tag;
    untagged blocks of a tested language under "<untagged>"."""
    found = {}
    for page in DOCS:
        text = page.read_text()
        for m in re.finditer(r"(?:<!-- example: ([\w-]+)[^>]*-->\n)?```(\w*)\n(.*?)```", text,
                             re.S):
            ident, lang, body = m.groups()
            if ident:
                assert ident not in found, f"example {ident} twice ({page.name})"
                found[ident] = (lang, body)
            elif lang in TESTED_LANGS:
                found.setdefault("<untagged>", []).append(body)
    return found


EXAMPLES = examples()


def example(ident):
    return EXAMPLES[ident][1]


def test_every_example_is_tagged_and_tested():
    assert "<untagged>" not in EXAMPLES, EXAMPLES.get("<untagged>")
    tested = {"setup", "precommit-manifest", "precommit-local", "precommit-lock-entry",
              "git-hook-lock", "makefile", "windows-build", "github-action", "settings", "offline-install"}
    assert set(EXAMPLES) == tested


@pytest.mark.parametrize("ident", ["setup", "windows-build"])
def test_setup_commands_are_what_ci_runs(ident):
    ci = (ROOT / ".ci/run").read_text()
    for line in example(ident).splitlines():
        command = line.split("#")[0].strip()
        if command:
            assert command in ci, command


def need(tool):
    if not shutil.which(tool, path=SYS_PATH):
        pytest.skip(f"needs {tool}")


@pytest.fixture
def tools(tmp_path):
    """A PATH with pycache-clean and the ruff stand-in first."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(BIN, bindir / "pycache-clean")
    ruff = bindir / "ruff"
    ruff.write_text('#!/bin/sh\n# stand-in for `ruff check --fix FILE...`\n'
                    'shift; [ "$1" = --fix ] && shift\n'
                    'for f in "$@"; do grep -qx "# fixed" "$f" || echo "# fixed" >> "$f"; done\n')
    ruff.chmod(0o755)
    return str(bindir) + ":" + SYS_PATH


def git(*args, cwd, env=None):
    e = env or base_env(PATH=SYS_PATH)
    e.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
             GIT_COMMITTER_EMAIL="t@t")
    return subprocess.run(["git", *args], cwd=cwd, env=e, check=True, capture_output=True,
                          text=True)


def make_repo(path, config):
    need("git")
    path.mkdir()
    git("init", "-q", "-b", "main", cwd=path)
    (path / ".pre-commit-config.yaml").write_text(config)
    (path / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    (path / "pkg").mkdir()
    (path / "pkg/__init__.py").write_text("")
    (path / "pkg/mod.py").write_text("X = 1\n")
    subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", str(path / "pkg")], check=True)
    git("add", "-A", cwd=path)
    return path


def pre_commit(repo, path, *args, **extra_env):
    need("pre-commit")
    env = base_env(PATH=path, PRE_COMMIT_HOME=str(repo.parent / "pre-commit-home"), **extra_env)
    return subprocess.run(["pre-commit", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300)


def test_precommit_local(tmp_path, tools):
    repo = make_repo(tmp_path / "repo", example("precommit-local"))
    assert (repo / "pkg/__pycache__").is_dir()
    r = pre_commit(repo, tools, "run", "--all-files")
    assert r.returncode in (0, 1), r.stdout + r.stderr  # 1: the fixer changed files
    # The fixer grew both modules: their caches are stale, and go.
    assert "Cleared 2/2 stale caches" in r.stdout, r.stdout
    assert not (repo / "pkg/__pycache__").exists()
    assert "# fixed" in (repo / "pkg/mod.py").read_text()
    git("add", "-A", cwd=repo)
    r = pre_commit(repo, tools, "run", "--all-files")
    assert r.returncode == 0 and "Cleared 0/0 stale caches" in r.stdout, r.stdout


def test_precommit_local_lying_cache_dropped_in_one_run_and_the_gate_names_the_rest(tmp_path,
                                                                                  tools):
    """A cache that lies is dropped before the gate looks: one run, one clean
    commit. What the drop leaves (a legacy .pyc whose source is gone, which
    `import` still loads) fails the gate with the command that clears it, and
    after that command the commit passes."""
    repo = make_repo(tmp_path / "repo", example("precommit-local"))
    for f in ("pkg/__init__.py", "pkg/mod.py"):  # already fixed: the fixer changes nothing
        (repo / f).write_text((repo / f).read_text() + "# fixed\n")
    subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", "-f", str(repo / "pkg")],
                   check=True)
    st = os.stat(repo / "pkg/mod.py")
    time.sleep(0.01)
    (repo / "pkg/mod.py").write_text("X = 2\n# fixed\n")  # same size, same second
    os.utime(repo / "pkg/mod.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    git("add", "-A", cwd=repo)
    r = pre_commit(repo, tools, "run", "--all-files")
    assert r.returncode == 0, r.stdout
    assert "Cleared 1/1 stale cache" in r.stdout, r.stdout
    # A sourceless legacy cache: the gate fails once, naming the fix.
    (repo / "pkg/old.py").write_text("Y = 1\n")
    subprocess.run(["/usr/bin/python3", "-m", "compileall", "-q", "-b", str(repo / "pkg/old.py")],
                   check=True)
    (repo / "pkg/old.py").unlink()
    r = pre_commit(repo, tools, "run", "--all-files")
    assert r.returncode == 1, r.stdout
    assert "orphan-importable" in r.stdout and "pkg/old.pyc" in r.stdout, r.stdout
    fix = re.search(r"\(fix: (pycache-clean [^)]*)\)", r.stdout).group(1)
    subprocess.run([*fix.split(), str(repo)], check=True, env=base_env(PATH=tools))
    r = pre_commit(repo, tools, "run", "--all-files")
    assert r.returncode == 0, r.stdout


def test_precommit_local_skips_the_fixer_while_pytest_runs(tmp_path, tools):
    if subprocess.run(["/usr/bin/python3", "-c", "import pytest"]).returncode:
        pytest.skip("needs Debian's python3-pytest")
    repo = make_repo(tmp_path / "repo", example("precommit-local"))
    (repo / "test_wait.py").write_text(
        "import os, time\n\ndef test_wait():\n    open('started', 'w').close()\n"
        "    while not os.path.exists('stop'):\n        time.sleep(0.05)\n")
    before = (repo / "pkg/mod.py").read_text()
    tests = subprocess.Popen(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "test_wait.py"], cwd=repo, env=base_env(PATH=SYS_PATH),
                             stdout=subprocess.DEVNULL)
    try:
        while not (repo / "started").exists():
            assert tests.poll() is None
            time.sleep(0.05)
        r = pre_commit(repo, tools, "run", "--all-files")
        assert r.returncode == 0, r.stdout
        assert (repo / "pkg/mod.py").read_text() == before  # the fixer did not run
        assert "[SKIP] pytest is running" in r.stdout, r.stdout  # and says so
    finally:
        (repo / "stop").touch()
        tests.wait(timeout=60)


def test_precommit_manifest(tmp_path, tools):
    if not (ROOT / ".git").exists():
        pytest.skip("the source tree is not a git checkout")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    listed = subprocess.run(["git", "ls-tree", "HEAD", ".pre-commit-hooks.yaml"], cwd=ROOT,
                            capture_output=True, text=True).stdout
    if not head or not listed:
        pytest.skip("the manifest is not committed in this checkout")
    config = example("precommit-manifest")
    config = re.sub(r"repo: \S+", f"repo: {ROOT}", config, count=1)
    config = re.sub(r"rev: \S+", f"rev: {head}", config, count=1)
    repo = make_repo(tmp_path / "repo", config)
    # `language: python`: pre-commit installs the wheel, offline, from the built ones.
    wheels = build_wheels(tmp_path / "wheels", sdist=False)
    offline = dict(PIP_NO_INDEX="1", PIP_FIND_LINKS=f"{wheels} /usr/share/python-wheels",
                   VIRTUALENV_NO_DOWNLOAD="1", PYTHONDONTWRITEBYTECODE=None)
    r = pre_commit(repo, tools, "run", "--all-files", **offline)
    assert "Cleared 2/2 stale caches" in r.stdout, r.stdout + r.stderr
    assert "# fixed" in (repo / "pkg/mod.py").read_text()
    git("add", "-A", cwd=repo)
    r = pre_commit(repo, tools, "run", "--all-files", **offline)
    assert r.returncode == 0, r.stdout + r.stderr


def test_precommit_lock_entry(tmp_path, tools):
    repo = make_repo(tmp_path / "repo", example("precommit-lock-entry"))
    r = pre_commit(repo, tools, "run", "--all-files")
    assert "# fixed" in (repo / "pkg/mod.py").read_text(), r.stdout
    # While another session holds the repository's lock, the hook waits for
    # it: the holder's command marks when it has the lock and when it is done
    # with it, and the hook can only have run after the second mark.
    held, done = tmp_path / "held", tmp_path / "done"
    holder = subprocess.Popen([BIN, "lock", "--", "sh", "-c", f"touch {held}; sleep 1; touch {done}"],
                              cwd=repo, env=base_env(PATH=SYS_PATH))
    deadline = time.monotonic() + 30
    while not held.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert held.exists()
    git("add", "-A", cwd=repo)
    r = pre_commit(repo, tools, "run", "--all-files")
    assert done.exists(), r.stdout  # the hook waited for the lock
    assert holder.wait() == 0


def test_git_hook_lock_serialises_two_commits(tmp_path, tools):
    config = """repos:
  - repo: local
    hooks:
      - id: slow
        name: slow hook
        entry: sh -c 'echo "start $(date +%s.%N)" >> "$LOG"; sleep 1; echo "end $(date +%s.%N)" >> "$LOG"'
        language: system
        pass_filenames: false
        always_run: true
"""
    repo = make_repo(tmp_path / "repo", config)
    git("commit", "-q", "--no-verify", "-m", "init", cwd=repo)
    r = pre_commit(repo, tools, "install")
    assert r.returncode == 0, r.stderr
    subprocess.run(["sh", "-c", example("git-hook-lock")], cwd=repo, check=True,
                   env=base_env(PATH=tools))
    wt = tmp_path / "wt"
    git("worktree", "add", "-q", "-b", "other", str(wt), cwd=repo)
    log = tmp_path / "hook.log"
    env = base_env(PATH=tools, LOG=str(log), PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
                   GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@t")
    procs = []
    for d in (repo, wt):
        (d / "new.txt").write_text(str(d))
        subprocess.run(["git", "add", "new.txt"], cwd=d, check=True, env=env)
        procs.append(subprocess.Popen(["git", "commit", "-q", "-m", "racing"], cwd=d, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    events = [line.split() for line in log.read_text().splitlines()]
    assert [e[0] for e in events] == ["start", "end", "start", "end"], events
    assert float(events[2][1]) >= float(events[1][1])  # the second started after the first ended


def test_git_hook_lock_around_a_hook_that_locks(tmp_path, tools):
    """The two lock recipes together: the git hook holds the repository's
    lock, and the pre-commit hook inside it asks for the same lock. It runs
    at once (its ancestor holds the lock for it) instead of waiting for
    itself until --wait runs out and the commit is refused."""
    repo = make_repo(tmp_path / "repo", example("precommit-lock-entry"))
    for f in ("pkg/__init__.py", "pkg/mod.py"):  # already fixed: the hook changes nothing
        (repo / f).write_text((repo / f).read_text() + "# fixed\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--no-verify", "-m", "init", cwd=repo)
    env = base_env(PATH=tools, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
                   GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@t")
    assert subprocess.run(["pre-commit", "install"], cwd=repo, env=env,
                          capture_output=True).returncode == 0
    subprocess.run(["sh", "-c", example("git-hook-lock")], cwd=repo, check=True, env=env)
    (repo / "pkg/new.py").write_text("Y = 1\n# fixed\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    start = time.monotonic()
    r = subprocess.run(["git", "commit", "-q", "-m", "nested"], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - start < 60, "the inner lock waited for the outer one"


def locked_cache_tree(path):
    """Two caches, one holding an immutable file; skip where chattr +i is unavailable."""
    for d in ("a", "b"):
        (path / d / "__pycache__").mkdir(parents=True)
        (path / d / "__pycache__/m.cpython-311.pyc").write_bytes(b"x")
    target = path / "b/__pycache__/m.cpython-311.pyc"
    if os.geteuid() != 0 or subprocess.run(["chattr", "+i", str(target)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and a file system with the immutable attribute")
    return target


def test_makefile(tmp_path):
    need("make")
    if subprocess.run(["/usr/bin/python3", "-c", "import pytest"]).returncode:
        pytest.skip("needs Debian's python3-pytest")
    (tmp_path / "Makefile").write_text(example("makefile"))
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    locked = locked_cache_tree(tmp_path)
    env = base_env(PATH=SYS_PATH)
    try:
        r = subprocess.run(["make", "test", f"PYCACHE_CLEAN={BIN}"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Cleared 1/2 __pycache__ directories" in r.stdout
        assert "1 passed" in r.stdout
        assert "Operation not permitted" in r.stderr
        r = subprocess.run(["make", "test", f"PYCACHE_CLEAN={BIN}", "PYCACHE_CLEAN_FLAGS=--strict"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
        assert r.returncode != 0
        assert "Cleared 0/1 __pycache__ directory" in r.stdout
        assert "passed" not in r.stdout  # the tests did not run
    finally:
        subprocess.run(["chattr", "-i", str(locked)])


def test_github_action_recipe_uses_the_actions_inputs():
    """The workflow in the README is valid YAML whose step names only inputs
    that action.yml declares (the action itself runs in test_wheels.py)."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(example("github-action"))
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    step = next(s for s in workflow["jobs"]["caches"]["steps"]
                if "pycache-clean" in s.get("uses", ""))
    assert set(step["with"]) <= set(action["inputs"]), step
    assert "--output-format github" in action["runs"]["steps"][-1]["run"]


def test_settings_example_is_read_whole(tmp_path):
    """The README's [tool.pycache-clean] example: every key known, every value
    of its type (a clean repository with it as its pyproject.toml)."""
    import tomllib
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(example("settings"))
    keys = set(tomllib.loads(example("settings"))["tool"]["pycache-clean"])
    r = subprocess.run([BIN, "config", "--json"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert set(json.loads(r.stdout)["settings"]) == keys
    r = subprocess.run([BIN, "-n", "--stray"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def anchors(page):
    """The anchors GitHub makes of a page's headings."""
    out = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def test_readme_is_short_and_every_link_resolves():
    """The README stays a page a newcomer reads (at most 250 lines); every
    relative link of it and of docs/ names a file that exists, and an anchor
    that its headings make."""
    assert len(README.read_text().splitlines()) <= 250
    for page in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            assert dest.exists(), (page.name, target)
            if anchor and dest.suffix == ".md":
                assert anchor in anchors(dest), (page.name, target, sorted(anchors(dest)))
