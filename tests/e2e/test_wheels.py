"""The wheels, the sdist and the pre-commit package, all offline: built with
the in-tree backend, verified, installed with pip --no-index and pipx, the
pytest plugin loaded from the installed wheel, and a real `pre-commit run`
with `language: python` hooks from a clone of this repository.

PYCACHE_CLEAN_CROSS_WHEELS=1 (CI sets it) also runs scripts/build-wheels.sh,
which cross-builds the aarch64 and Windows executables (minutes), and builds
the sdist from source."""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile

import pytest

from conftest import BIN, SOURCE_ROOT, base_env, build_wheels, linux_wheel_tags

PY = "/usr/bin/python3"
CMAKE_VERSION = re.search(r"project\(\s*pycache-clean\s+VERSION\s+([0-9.]+)",
                          (SOURCE_ROOT / "CMakeLists.txt").read_text()).group(1)
DEBIAN_WHEELS = "/usr/share/python-wheels"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    return build_wheels(tmp_path_factory.mktemp("wheels"))


def native_wheel(wheels):
    tag = linux_wheel_tags(os.uname().machine)
    return wheels / f"pycache_clean-{CMAKE_VERSION}-py3-none-{tag}.whl"


def pip_env(wheels, **extra):
    """No index; the built wheels and Debian's pip/setuptools/wheel as the only source
    (the environment's own PIP_FIND_LINKS points at an empty directory)."""
    return base_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=f"{wheels} {DEBIAN_WHEELS}",
                    PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE=None, **extra)


def venv(path, system_site=False):
    args = [PY, "-m", "venv", str(path)] + (["--system-site-packages"] if system_site else [])
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("needs python3-venv: " + r.stderr.strip())
    return path / "bin"


def test_wheel_layout_record_and_modes(wheels, tmp_path):
    whl = native_wheel(wheels)
    assert whl.is_file(), sorted(os.listdir(wheels))
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        script = f"pycache_clean-{CMAKE_VERSION}.data/scripts/pycache-clean"
        assert script in names
        assert (z.getinfo(script).external_attr >> 16) & 0o777 == 0o755  # pip keeps this mode
        for module in ("__init__", "__main__", "_binary", "_plugin"):
            assert f"pycache_clean/{module}.py" in names
        dist_info = f"pycache_clean-{CMAKE_VERSION}.dist-info"
        assert z.read(f"{dist_info}/entry_points.txt").decode() == \
            "[pytest11]\npycache_clean = pycache_clean\n"
        meta = z.read(f"{dist_info}/METADATA").decode()
        assert f"\nVersion: {CMAKE_VERSION}\n" in meta and "\nName: pycache-clean\n" in meta
        wheel = z.read(f"{dist_info}/WHEEL").decode()
        assert "Root-Is-Purelib: false" in wheel
        assert f"Tag: py3-none-manylinux_2_17_{os.uname().machine}" in wheel
        # Every RECORD line: the file's sha256 and size.
        for line in z.read(f"{dist_info}/RECORD").decode().splitlines():
            name, digest, size = line.rsplit(",", 2)
            if name.endswith("RECORD"):
                continue
            data = z.read(name)
            want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == "sha256=" + want and int(size) == len(data), name
    r = subprocess.run([PY, "-m", "wheel", "unpack", "-d", str(tmp_path), str(whl)],
                       capture_output=True, text=True)
    if "No module named wheel" in r.stderr:
        pytest.skip("needs python3-wheel")
    assert r.returncode == 0, r.stderr  # wheel unpack checks every hash of RECORD


def test_builds_are_byte_identical(wheels, tmp_path):
    again = build_wheels(tmp_path / "again")
    for name in os.listdir(wheels):
        assert (wheels / name).read_bytes() == (again / name).read_bytes(), name


def test_pre_commit_package_pins_the_cmake_version(wheels):
    whl = wheels / f"pycache_clean_pre_commit-{CMAKE_VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(whl) as z:
        meta = z.read(f"pycache_clean_pre_commit-{CMAKE_VERSION}.dist-info/METADATA").decode()
        assert not [n for n in z.namelist() if ".dist-info/" not in n], z.namelist()
    assert f"\nVersion: {CMAKE_VERSION}\n" in meta
    assert f"\nRequires-Dist: pycache-clean=={CMAKE_VERSION}\n" in meta


def test_sdist_carries_the_sources(wheels):
    import tarfile
    with tarfile.open(wheels / f"pycache_clean-{CMAKE_VERSION}.tar.gz") as t:
        names = set(t.getnames())
    base = f"pycache_clean-{CMAKE_VERSION}"
    for f in ("pyproject.toml", "PKG-INFO", "CMakeLists.txt", "src/sweep/walker.cpp",
              "python/backend/pycache_clean_build.py", "python/pycache_clean/_plugin.py",
              "cmake/Dependencies.cmake", "docs/pycache-clean.1"):
        assert f"{base}/{f}" in names, f
    assert not [n for n in names if "__pycache__" in n or n.startswith(f"{base}/tests")]


def _build(cwd, *args, out):
    r = subprocess.run([PY, "-m", "build", "--no-isolation", *args, "--outdir", str(out)],
                       cwd=cwd, env=base_env(SOURCE_DATE_EPOCH=None), capture_output=True,
                       text=True)
    return r


def test_sdist_and_wheel_pack_only_tracked_files_never_a_link_target(tmp_path):
    """A clone of this repository with what a developer's tree holds beside
    the sources: an untracked `.env`, an untracked module, an untracked link
    to /etc/passwd, and a link git tracks. The sdist and the wheel pack what
    git tracks, the tracked link as a link; the sdist's manifest governs a
    rebuild from the unpacked sdist, which refuses a listed file that became
    a link."""
    import tarfile
    if not shutil.which("git") or not (SOURCE_ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of the sources")
    if subprocess.run([PY, "-c", "import build"], capture_output=True).returncode:
        pytest.skip("needs python3-build")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(SOURCE_ROOT), str(clone)], check=True)
    backend = "python/backend/pycache_clean_build.py"  # the one under test, committed or not
    shutil.copy(SOURCE_ROOT / backend, clone / backend)
    (clone / "src/tracked_link").symlink_to("/etc/hostname")
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-f", "src/tracked_link", backend], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a link"], check=True)
    (clone / "src/sweep/.env").write_text("SECRET=hunter2\n")
    (clone / "python/pycache_clean/extra.py").write_text("LEAK = 1\n")
    (clone / "src/leak.txt").symlink_to("/etc/passwd")
    out = tmp_path / "out"
    for args in (["--sdist"], ["--wheel", "-C", f"binary={BIN}", "-C",
                               f"plat-name={linux_wheel_tags(os.uname().machine)}"]):
        r = _build(clone / "python", *args, out=out)
        assert r.returncode == 0, r.stdout + r.stderr
    base = f"pycache_clean-{CMAKE_VERSION}"
    passwd = open("/etc/passwd", "rb").read()
    with tarfile.open(out / f"{base}.tar.gz") as t:
        members = {m.name: m for m in t.getmembers()}
        contents = [t.extractfile(m).read() for m in t.getmembers() if m.isfile()]
    for leaked in (".env", "extra.py", "leak.txt"):
        assert not [n for n in members if n.endswith(leaked)], leaked
    assert passwd not in contents and not any(b"hunter2" in c for c in contents)
    link = members[f"{base}/src/tracked_link"]
    assert link.issym() and link.linkname == "/etc/hostname"
    with zipfile.ZipFile(native_wheel(out)) as z:
        assert not [n for n in z.namelist() if "extra.py" in n or ".env" in n], z.namelist()

    unpacked = tmp_path / "unpacked"
    with tarfile.open(out / f"{base}.tar.gz") as t:
        t.extractall(unpacked)
    sdist = unpacked / base
    (sdist / "src/sweep/.env").write_text("SECRET=hunter2\n")
    (sdist / "src/evil").symlink_to("/etc/passwd")
    again = tmp_path / "again"
    r = _build(sdist, "--sdist", out=again)
    assert r.returncode == 0, r.stdout + r.stderr
    with tarfile.open(again / f"{base}.tar.gz") as t:
        assert set(t.getnames()) == set(members), set(t.getnames()) ^ set(members)
    os.remove(sdist / "src/sweep/walker.cpp")
    (sdist / "src/sweep/walker.cpp").symlink_to("/etc/passwd")
    r = _build(sdist, "--sdist", out=tmp_path / "refused")
    assert r.returncode != 0 and "src/sweep/walker.cpp is not the regular file" in r.stdout + r.stderr


def test_pip_install_into_a_fresh_venv(wheels, tmp_path):
    bindir = venv(tmp_path / "venv")
    r = subprocess.run([bindir / "pip", "install", "-q", str(native_wheel(wheels))],
                       env=pip_env(wheels), capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    for argv in ([bindir / "pycache-clean", "--version"],
                 [bindir / "python", "-m", "pycache_clean", "--version"]):
        r = subprocess.run(argv, capture_output=True, text=True, env=base_env(PATH="/usr/bin:/bin"))
        assert r.returncode == 0 and r.stdout == f"pycache-clean {CMAKE_VERSION}\n", r
    r = subprocess.run([bindir / "python", "-c", "import pycache_clean; print(pycache_clean.find_binary())"],
                       capture_output=True, text=True, env=base_env(PATH="/usr/bin:/bin"))
    assert r.stdout.strip() == str(bindir / "pycache-clean"), r
    # The sweep itself, from the installed wheel.
    (tmp_path / "proj/__pycache__").mkdir(parents=True)
    r = subprocess.run([bindir / "pycache-clean", tmp_path / "proj"], capture_output=True, text=True)
    assert r.stdout == "Cleared 1/1 __pycache__ directory\n", r
    # The man page, where man finds it once the venv's bin is on PATH.
    page = tmp_path / "venv/share/man/man1/pycache-clean.1.gz"
    assert page.is_file()
    if shutil.which("man"):
        env = base_env(PATH=f"{bindir}:/usr/bin:/bin", MANPATH=None, MANPAGER="cat", PAGER="cat",
                       MANWIDTH="80", LC_ALL="C.UTF-8")
        r = subprocess.run(["man", "-w", "pycache-clean"], env=env, capture_output=True, text=True)
        assert r.stdout.strip() == str(page), r
        r = subprocess.run(["man", "pycache-clean"], env=env, capture_output=True, text=True)
        assert r.returncode == 0 and "EXIT STATUS" in r.stdout, r.stderr


def test_pipx_install(wheels, tmp_path):
    if not shutil.which("pipx", path="/usr/bin:/bin"):
        pytest.skip("needs pipx")
    env = pip_env(wheels, PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"),
                  PATH="/usr/bin:/bin", USE_EMOJI="0")
    r = subprocess.run(["pipx", "install", "--python", PY, str(native_wheel(wheels))], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([tmp_path / "bin/pycache-clean", "--version"], capture_output=True, text=True)
    assert r.stdout == f"pycache-clean {CMAKE_VERSION}\n", r


PLUGIN_TEST = '''import os, sys

def test_session_holds_the_marker():
    assert sys.dont_write_bytecode
    assert ":s:" in os.environ["PYCACHE_CLEAN_LOCKS"], os.environ.get("PYCACHE_CLEAN_LOCKS")
'''


@pytest.mark.parametrize("argv", [[], ["-n", "2"]], ids=["pytest.main", "xdist"])
def test_plugin_loads_from_the_installed_wheel(wheels, tmp_path, argv):
    """No -p: the pytest11 entry point of the installed wheel loads it."""
    if subprocess.run([PY, "-c", "import pytest, xdist"], capture_output=True).returncode:
        pytest.skip("needs Debian's python3-pytest and python3-pytest-xdist")
    bindir = venv(tmp_path / "venv", system_site=True)
    r = subprocess.run([bindir / "pip", "install", "-q", str(native_wheel(wheels))],
                       env=pip_env(wheels), capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    proj = tmp_path / "proj"
    proj.mkdir()
    subprocess.run(["git", "init", "-q", str(proj)], check=True)
    (proj / "test_plugin.py").write_text(PLUGIN_TEST)
    (proj / "test_more.py").write_text("def test_more():\n    pass\n")
    code = f"import pytest; raise SystemExit(pytest.main({['-q', '-p', 'no:cacheprovider', *argv]!r}))"
    r = subprocess.run([bindir / "python", "-c", code], cwd=proj, capture_output=True, text=True,
                       env=base_env(PATH="/usr/bin:/bin", PYCACHE_CLEAN_LOCKS=None), timeout=120)
    assert r.returncode == 0 and "2 passed" in r.stdout, r.stdout + r.stderr
    assert not list(proj.rglob("__pycache__"))


def git_clone_at_head(dest):
    if not (SOURCE_ROOT / ".git").exists():
        pytest.skip("the source tree is not a git checkout")
    listed = subprocess.run(["git", "ls-tree", "HEAD", "pyproject.toml", ".pre-commit-hooks.yaml",
                             "python/backend/pycache_clean_build.py"], cwd=SOURCE_ROOT,
                            capture_output=True, text=True).stdout
    if len(listed.splitlines()) != 3:
        pytest.skip("the hook files are not committed in this checkout")
    subprocess.run(["git", "clone", "-q", str(SOURCE_ROOT), str(dest)], check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=dest, capture_output=True,
                          text=True).stdout.strip()


def repo_using_hooks_at_head(tmp_path, name, hook_ids):
    """A new git repository `tmp_path/name` whose pre-commit config takes
    `hook_ids` from a clone of this repository at HEAD."""
    hooks = tmp_path / "hooks"
    rev = git_clone_at_head(hooks)
    repo = tmp_path / name
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    ids = "".join(f"      - id: {h}\n" for h in hook_ids)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n{ids}")
    return repo


def test_pre_commit_language_python_installs_the_wheel_and_sweeps(wheels, tmp_path):
    if not shutil.which("pre-commit", path="/usr/bin:/bin"):
        pytest.skip("needs pre-commit")
    repo = repo_using_hooks_at_head(tmp_path, "repo", ["pycache-check", "pycache-clean"])
    (repo / "pkg/__pycache__").mkdir(parents=True)
    (repo / "pkg/mod.py").write_text("X = 1\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    env = pip_env(wheels, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PATH="/usr/bin:/bin",
                  VIRTUALENV_NO_DOWNLOAD="1")
    r = subprocess.run(["pre-commit", "run", "--all-files"], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Cleared 1/1 __pycache__ directory" in r.stdout, r.stdout
    assert not (repo / "pkg/__pycache__").exists()
    # pycache-clean came from the wheel, into pre-commit's own environment.
    installed = list((tmp_path / "pre-commit-home").rglob("bin/pycache-clean"))
    assert installed, "the wheel's executable is not in pre-commit's environment"


cross = pytest.mark.skipif(os.environ.get("PYCACHE_CLEAN_CROSS_WHEELS") != "1",
                           reason="cross builds take minutes: set PYCACHE_CLEAN_CROSS_WHEELS=1")


@cross
def test_build_wheels_script_builds_and_smoke_tests_every_wheel(tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([SOURCE_ROOT / "scripts/build-wheels.sh", str(out)], capture_output=True,
                       text=True, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    built = sorted(os.listdir(out))
    assert f"pycache_clean-{CMAKE_VERSION}.tar.gz" in built
    assert f"pycache_clean_pre_commit-{CMAKE_VERSION}-py3-none-any.whl" in built
    checks = {"aarch64": (linux_wheel_tags("aarch64"), "pycache-clean", "qemu-aarch64-static"),
              "windows": ("win_amd64", "pycache-clean.exe", str(SOURCE_ROOT / "cmake/wine-run.sh"))}
    toolchains = {"aarch64": "aarch64-linux-gnu-g++", "windows": "x86_64-w64-mingw32-g++-posix"}
    for kind, (tag, exe, runner) in checks.items():
        whl = out / f"pycache_clean-{CMAKE_VERSION}-py3-none-{tag}.whl"
        if not shutil.which(toolchains[kind]):
            assert not whl.exists()
            continue
        assert whl.is_file(), built
        with zipfile.ZipFile(whl) as z:
            name = f"pycache_clean-{CMAKE_VERSION}.data/scripts/{exe}"
            assert (z.getinfo(name).external_attr >> 16) & 0o777 == 0o755
            target = tmp_path / kind / exe
            target.parent.mkdir()
            target.write_bytes(z.read(name))
            target.chmod(0o755)
        if shutil.which(runner.split("/")[-1]) or os.path.exists(runner):
            r = subprocess.run([runner, str(target), "--version"], capture_output=True, text=True,
                               env=base_env(WINEDEBUG="-all"), timeout=300)
            assert r.stdout.strip() == f"pycache-clean {CMAKE_VERSION}", r


@cross
def test_sdist_builds_from_source_with_cmake(wheels, tmp_path):
    """Where no wheel fits: pip builds the executable from the sdist with CMake."""
    bindir = venv(tmp_path / "venv")
    r = subprocess.run([bindir / "pip", "install", "-q", "--no-binary", "pycache-clean",
                        str(wheels / f"pycache_clean-{CMAKE_VERSION}.tar.gz")],
                       env=pip_env(wheels), capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([bindir / "pycache-clean", "--version"], capture_output=True, text=True)
    assert r.stdout == f"pycache-clean {CMAKE_VERSION}\n", r


def test_github_action_installs_the_wheel_and_annotates(wheels, tmp_path):
    """action.yml's steps, run as the runner runs a composite action (each
    step's `run` under bash, its `env` with the inputs put in): the wheel is
    installed with no index, and a lying cache becomes an ::error annotation
    that fails the step; once cleared, the step passes."""
    yaml = pytest.importorskip("yaml")
    action = yaml.safe_load((SOURCE_ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    bindir = venv(tmp_path / "venv")
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg/gone.py").write_text("X = 1\n")
    subprocess.run([PY, "-m", "compileall", "-q", "-b", str(repo / "pkg/gone.py")], check=True)
    (repo / "pkg/gone.py").unlink()
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs.update(wheel=str(wheels / "pycache_clean-*-manylinux*.whl"), paths="pkg")

    def run_steps():
        for step in action["runs"]["steps"]:
            env = {k: re.sub(r"\$\{\{ inputs\.(\w+) \}\}", lambda m: inputs[m.group(1)], v)
                   for k, v in step.get("env", {}).items()}
            r = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, text=True,
                               capture_output=True,
                               env=pip_env(wheels, PATH=f"{bindir}:/usr/bin:/bin", **env))
            if r.returncode != 0:
                return r
        return r

    r = run_steps()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "::error file=pkg/gone.pyc,title=pycache-clean%3A orphan-importable::" in r.stdout, r
    (repo / "pkg/gone.pyc").unlink()
    r = run_steps()
    assert r.returncode == 0 and "::error" not in r.stdout, r.stdout + r.stderr


def test_offline_install_example_runs_as_written(wheels, tmp_path):
    """docs/install.md's offline route, its lines run by bash as written, with
    dist/ holding the wheels this module built (the build line itself is
    test_build_wheels_script_builds_and_smoke_tests_every_wheel): pipx
    installs the wheel, and pre-commit installs its `language: python` hooks
    from dist/ with no index."""
    block = re.search(r"<!-- example: offline-install -->\n```sh\n(.*?)```",
                      (SOURCE_ROOT / "docs/install.md").read_text(), re.S).group(1)
    lines = [line.split("  #")[0].strip() for line in block.splitlines()]
    assert lines[0] == "scripts/build-wheels.sh dist/"
    if not shutil.which("pipx", path="/usr/bin:/bin") or \
            not shutil.which("pre-commit", path="/usr/bin:/bin"):
        pytest.skip("needs pipx and pre-commit")
    work = repo_using_hooks_at_head(tmp_path, "work", ["pycache-clean"])
    (work / "dist").symlink_to(wheels)
    env = base_env(PATH=f"{tmp_path / 'bin'}:/usr/bin:/bin", PIPX_HOME=str(tmp_path / "pipx"),
                   PIPX_BIN_DIR=str(tmp_path / "bin"), USE_EMOJI="0",
                   PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), VIRTUALENV_NO_DOWNLOAD="1",
                   PIP_FIND_LINKS=None, PIP_NO_INDEX=None, PIP_DISABLE_PIP_VERSION_CHECK="1")
    for line in lines[1:]:
        r = subprocess.run(["bash", "-ec", line], cwd=work, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, (line, r.stdout + r.stderr)
    r = subprocess.run([tmp_path / "bin/pycache-clean", "--version"], capture_output=True,
                       text=True)
    assert r.stdout == f"pycache-clean {CMAKE_VERSION}\n", r
    assert list((tmp_path / "pre-commit-home").rglob("bin/pycache-clean"))
