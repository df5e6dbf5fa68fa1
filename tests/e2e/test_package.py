"""Install layout and the Debian package: `cmake --install` and `cpack -G DEB`.

The .deb is installed with apt-get and removed again only when
PYCACHE_CLEAN_TEST_DEB_INSTALL=1 (CI sets it; it changes the machine)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import base_env

BUILD = Path(os.environ.get("PYCACHE_CLEAN_BUILD_DIR", ""))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not BUILD.is_dir():
        pytest.skip("PYCACHE_CLEAN_BUILD_DIR not set")
    prefix = tmp_path_factory.mktemp("prefix")
    subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(prefix)], check=True,
                   capture_output=True)
    return prefix


def test_install_layout(installed):
    binary = installed / "bin/pycache-clean"
    assert os.access(binary, os.X_OK)
    r = subprocess.run([binary, "--version"], capture_output=True, text=True)
    assert r.stdout.startswith("pycache-clean ")
    assert (installed / "share/bash-completion/completions/pycache-clean").is_file()
    assert (installed / "share/zsh/vendor-completions/_pycache-clean").is_file()
    assert (installed / "share/fish/vendor_completions.d/pycache-clean.fish").is_file()


def test_plugin_conftest_recipe_with_the_installed_layout(installed, tmp_path):
    """The README's conftest.py recipe against an installed tree: the plugin
    finds the binary beside its own installation (PATH does not have it) and
    holds the marker for the session."""
    if subprocess.run(["/usr/bin/python3", "-c", "import pytest"]).returncode:
        pytest.skip("needs Debian's python3-pytest")
    python_dir = installed / "share/pycache-clean/python"
    assert (python_dir / "pycache_clean/__init__.py").is_file()
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(python_dir)!r})  # where it is installed\n"
        "pytest_plugins = [\"pycache_clean\"]\n")
    (repo / "test_held.py").write_text(
        "import os, subprocess, sys\n\ndef test_held():\n"
        "    assert sys.dont_write_bytecode\n"
        "    assert ':s:' in os.environ['PYCACHE_CLEAN_LOCKS']\n"
        f"    r = subprocess.run([{str(installed / 'bin/pycache-clean')!r}, 'pytest-running', "
        "'--json'], env=dict(os.environ, PYTEST_CURRENT_TEST=''), capture_output=True, text=True)\n"
        "    assert r.returncode == 0, r\n")
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                       cwd=repo, env=base_env(PATH="/usr/bin:/bin"), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr


def test_man_page_is_generated_from_help(installed):
    page = installed / "share/man/man1/pycache-clean.1"
    if not page.exists():
        pytest.skip("help2man was not found at build time")
    text = page.read_text()
    for sub in ("clean", "check", "lock", "pytest-running", "unless-pytest", "test"):
        assert f".SS {sub}" in text
    assert "--stale-only" in text and "--conflict-exit-code" in text
    if shutil.which("man"):
        r = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True,
                           env=base_env(MANPAGER="cat", PAGER="cat"))
        assert "pycache-clean" in r.stdout


def test_bash_completion_loads(installed):
    comp = installed / "share/bash-completion/completions/pycache-clean"
    r = subprocess.run(["bash", "-c", f"source {comp} && complete -p pycache-clean && "
                        "COMP_WORDS=(pycache-clean ch); COMP_CWORD=1; _pycache_clean; "
                        'echo "${COMPREPLY[@]}"'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "check" in r.stdout.split()


def test_debian_package(tmp_path):
    if not BUILD.is_dir() or not shutil.which("cpack") or not shutil.which("dpkg-deb"):
        pytest.skip("needs the build directory, cpack and dpkg-deb")
    out = tmp_path / "pkg"
    subprocess.run(["cpack", "-G", "DEB", "-B", str(out)], cwd=BUILD, check=True,
                   capture_output=True)
    debs = list(out.glob("pycache-clean_*.deb"))
    assert len(debs) == 1, list(out.iterdir())
    listing = subprocess.run(["dpkg-deb", "-c", str(debs[0])], capture_output=True,
                             text=True).stdout
    assert "./usr/bin/pycache-clean" in listing
    assert "./usr/share/man/man1/pycache-clean.1" in listing
    if os.environ.get("PYCACHE_CLEAN_TEST_DEB_INSTALL") != "1" or os.geteuid() != 0:
        return
    env = base_env(DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", str(debs[0])], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    try:
        v = subprocess.run(["/usr/bin/pycache-clean", "--version"], capture_output=True, text=True)
        assert v.stdout.startswith("pycache-clean ")
        assert subprocess.run(["man", "-w", "pycache-clean"], capture_output=True).returncode == 0
    finally:
        r = subprocess.run(["apt-get", "remove", "-y", "pycache-clean"], env=env,
                           capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists("/usr/bin/pycache-clean")
