"""Install layout, the man page and the Debian package (scripts/build-deb.sh).

The .deb is installed with apt-get and removed again only when
PYCACHE_CLEAN_TEST_DEB_INSTALL=1 (CI sets it; it changes the machine)."""
import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SOURCE_ROOT, base_env

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


def test_man_page(installed):
    """A written man page, installed gzipped: its sections, every option of
    every subcommand, the binary's version, and no line over 80 columns or
    groff warning when rendered."""
    page = installed / "share/man/man1/pycache-clean.1.gz"
    text = gzip.decompress(page.read_bytes()).decode()
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT", "FILES",
                    '"EXIT STATUS"', "EXAMPLES", '"SEE ALSO"'):
        assert f"\n.SH {section}\n" in text, section
    for variable in ("PYTHONPYCACHEPREFIX", "NO_COLOR", "SPDLOG_LEVEL", "PYCACHE_CLEAN_LOCKS"):
        assert f".B {variable}" in text, variable
    binary = installed / "bin/pycache-clean"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split()
    assert f'"pycache-clean {version[1]}"' in text.splitlines()[0]
    plain = text.replace("\\-", "-")
    for sub in ("clean", "check", "lock", "pytest-running", "unless-pytest", "test",
                "pytest-session"):
        help_text = subprocess.run([binary, sub, "--help"], capture_output=True, text=True).stdout
        options = help_text[help_text.index("Options:"):].split("\n\n")[0]
        for option in set(re.findall(r"^  (?:-\w,)?(--[a-z][a-z-]+)", options, re.M)):
            assert option in plain, (sub, option)
    if not shutil.which("man"):
        pytest.skip("man (man-db) is not installed")
    r = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True,
                       env=base_env(MANPAGER="cat", PAGER="cat", MANWIDTH="80",
                                    LC_ALL="C.UTF-8"))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "EXIT STATUS" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_bash_completion_loads(installed):
    comp = installed / "share/bash-completion/completions/pycache-clean"
    r = subprocess.run(["bash", "-c", f"source {comp} && complete -p pycache-clean && "
                        "COMP_WORDS=(pycache-clean ch); COMP_CWORD=1; _pycache_clean; "
                        'echo "${COMPREPLY[@]}"'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "check" in r.stdout.split()


def test_debian_package(tmp_path):
    """The .deb from scripts/build-deb.sh: linked against Debian's shared
    libfmt/libspdlog, stripped, with copyright, changelog and a gzipped man
    page, lintian-clean; installed with apt and removed again (CI only)."""
    for tool in ("cmake", "cpack", "dpkg-deb", "dpkg-shlibdeps", "readelf"):
        if not shutil.which(tool):
            pytest.skip(f"needs {tool} (scripts/install-deps.sh installs it)")
    out = tmp_path / "pkg"
    r = subprocess.run([SOURCE_ROOT / "scripts/build-deb.sh", out, tmp_path / "build"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = list(out.glob("pycache-clean_*.deb"))
    assert len(debs) == 1, list(out.iterdir())
    deb = debs[0]
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
    for path in ("./usr/bin/pycache-clean", "./usr/share/man/man1/pycache-clean.1.gz",
                 "./usr/share/doc/pycache-clean/copyright",
                 "./usr/share/doc/pycache-clean/changelog.gz"):
        assert path in listing, path
    assert "__pycache__" not in listing
    control = subprocess.run(["dpkg-deb", "-f", deb, "Depends", "Description"],
                             capture_output=True, text=True).stdout
    assert "libfmt9" in control and "libspdlog" in control, control
    assert len(control.splitlines()) > 3, control  # an extended description
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", deb, unpacked], check=True)
    binary = unpacked / "usr/bin/pycache-clean"
    dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
    assert "libfmt.so" in dynamic and "libspdlog.so" in dynamic, dynamic
    sections = subprocess.run(["readelf", "-S", binary], capture_output=True, text=True).stdout
    assert ".symtab" not in sections  # stripped
    if shutil.which("lintian"):
        r = subprocess.run(["lintian", deb], capture_output=True, text=True)
        tags = [line for line in r.stdout.splitlines() if line[:2] in ("E:", "W:")]
        assert not tags, r.stdout
    if os.environ.get("PYCACHE_CLEAN_TEST_DEB_INSTALL") != "1" or os.geteuid() != 0:
        return
    env = base_env(DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", str(deb)], env=env, capture_output=True,
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


def test_setup_installs_the_binary_for_the_user(tmp_path):
    """scripts/setup.sh ends with scripts/install-local.sh: the binary lands in
    the user's bin directory, said on screen, with the exact PATH command when
    that directory is not on PATH."""
    from conftest import BIN
    setup = (SOURCE_ROOT / "scripts/setup.sh").read_text()
    assert 'scripts/install-local.sh" "$src/build/src/pycache-clean"' in setup
    script = SOURCE_ROOT / "scripts/install-local.sh"
    bindir = tmp_path / "home/.local/bin"
    env = base_env(HOME=str(tmp_path / "home"), PYCACHE_CLEAN_BINDIR=str(bindir),
                   PATH="/usr/bin:/bin")
    r = subprocess.run([script, BIN], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"installed {bindir}/pycache-clean (pycache-clean " in r.stderr
    assert f'export PATH="{bindir}:$PATH"' in r.stderr
    v = subprocess.run(["pycache-clean", "--version"], capture_output=True, text=True,
                       env=base_env(PATH=f"{bindir}:/usr/bin:/bin"))
    assert v.stdout.startswith("pycache-clean ")
    # Already on PATH: no hint. Installed again over itself: still fine.
    env["PATH"] = f"{bindir}:/usr/bin:/bin"
    r = subprocess.run([script, BIN], env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "export PATH" not in r.stderr, r.stderr
    r = subprocess.run([script, tmp_path / "nope"], env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "no such executable" in r.stderr
