"""A PEP 517 build backend for pycache-clean, standard library only.

Two projects use it, told apart by their pyproject.toml:

* `pycache-clean` (python/pyproject.toml, and the sdist): a platform wheel
  that carries the static executable in `pycache_clean-VERSION.data/scripts/`
  (installed into the environment's bin/Scripts, mode 0755), the
  `pycache_clean` package (`python -m pycache_clean`, find_binary(), the
  pytest plugin under the `pytest11` entry point), and the sdist, which
  builds the executable from source with CMake;
* `pycache-clean-pre-commit` (the repository's top pyproject.toml): the
  package pre-commit installs for `language: python` hooks; it holds nothing
  but a dependency on `pycache-clean==VERSION`, so the user's machine gets
  the prebuilt wheel and needs no compiler.

The version is CMake's `project(... VERSION X.Y.Z)`, read from
CMakeLists.txt. Archives are reproducible: entries sorted, every timestamp
SOURCE_DATE_EPOCH (default 2000-01-01), modes fixed.

Config settings (`python3 -m build -C KEY=VALUE`):
  binary=PATH      pack this executable instead of building one
  plat-name=TAG    the wheel's platform tag(s), e.g.
                   manylinux_2_17_x86_64.manylinux2014_x86_64.musllinux_1_1_x86_64
"""
import base64
import gzip
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

NAME = "pycache-clean"
DIST = "pycache_clean"
SHIM_NAME = "pycache-clean-pre-commit"
SHIM_DIST = "pycache_clean_pre_commit"
SUMMARY = "Clear Python bytecode caches safely and fast; keep fixers and test runs apart"
# What the sdist carries from the source tree, of what git tracks: enough to
# build the executable.
SDIST_PATHS = ["CMakeLists.txt", "CMakePresets.json", "LICENSE", "README.md", "cmake",
               "completions", "docs/pycache-clean.1", "src", "python/pycache_clean",
               "python/backend", "python/pyproject.toml"]


def _epoch():
    return int(os.environ.get("SOURCE_DATE_EPOCH", "946684800"))


def _source_root():
    """The directory holding CMakeLists.txt: here (an sdist) or the parent (python/)."""
    for root in (os.getcwd(), os.path.dirname(os.getcwd())):
        if os.path.isfile(os.path.join(root, "CMakeLists.txt")):
            return root
    raise RuntimeError("pycache_clean_build: no CMakeLists.txt here or one level up")


def cmake_version(root=None):
    text = open(os.path.join(root or _source_root(), "CMakeLists.txt")).read()
    m = re.search(r"project\(\s*pycache-clean\s+VERSION\s+([0-9]+(?:\.[0-9]+){1,3})", text)
    if not m:
        raise RuntimeError("pycache_clean_build: no project(pycache-clean VERSION ...) in CMakeLists.txt")
    return m.group(1)


def _is_shim():
    """The top pyproject.toml of the repository builds the pre-commit package."""
    try:
        text = open("pyproject.toml").read()
    except OSError:
        return False
    return re.search(r'^name\s*=\s*"%s"' % re.escape(SHIM_NAME), text, re.M) is not None


def _metadata(version, shim):
    readme = ""
    root = _source_root()
    lines = ["Metadata-Version: 2.1",
             "Name: %s" % (SHIM_NAME if shim else NAME),
             "Version: %s" % version,
             "Summary: %s" % (("pre-commit hooks for pycache-clean (installs pycache-clean==%s)"
                               % version) if shim else SUMMARY),
             "License: MIT",
             "Requires-Python: >=3.7"]
    if shim:
        lines.append("Requires-Dist: %s==%s" % (NAME, version))
    else:
        path = os.path.join(root, "README.md")
        if os.path.isfile(path):
            readme = open(path, encoding="utf-8").read()
            lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n" + ("\n" + readme if readme else "")


def _platform_tag(config):
    tag = (config or {}).get("plat-name")
    if tag:
        return tag
    return re.sub(r"[-.]", "_", sysconfig.get_platform())


def _wheel_file(tags):
    lines = ["Wheel-Version: 1.0", "Generator: pycache_clean_build", "Root-Is-Purelib: %s"
             % ("true" if tags == ["py3-none-any"] else "false")]
    lines += ["Tag: %s" % t for t in tags]
    return "\n".join(lines) + "\n"


class _Zip:
    """Entries added in any order, written sorted with fixed times and modes."""

    def __init__(self):
        self.entries = {}

    def add(self, name, data, executable=False):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.entries[name] = (data, executable)

    def record(self, dist_info):
        rows = []
        for name in sorted(self.entries):
            data = self.entries[name][0]
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            rows.append("%s,sha256=%s,%d" % (name, digest.decode(), len(data)))
        rows.append("%s/RECORD,," % dist_info)
        self.add("%s/RECORD" % dist_info, "\n".join(rows) + "\n")

    def write(self, path):
        when = max(_epoch(), 315532800)  # zip cannot hold times before 1980
        import time
        date_time = time.gmtime(when)[:6]
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            # RECORD last, as the wheel format recommends; the rest sorted.
            names = sorted(n for n in self.entries if not n.endswith("/RECORD"))
            names += [n for n in self.entries if n.endswith("/RECORD")]
            for name in names:
                data, executable = self.entries[name]
                info = zipfile.ZipInfo(name, date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix: the mode below is honoured by pip
                info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
                z.writestr(info, data, compresslevel=9)


def _build_executable(root, build_dir):
    """The static release executable, built with CMake from `root`."""
    cmake = shutil.which("cmake")
    if not cmake:
        raise RuntimeError("pycache_clean_build: building from source needs CMake (>= 3.20), a "
                           "C++17 compiler and CLI11, fmt, spdlog and toml++ headers; see docs/install.md")
    args = [cmake, "-S", root, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
            "-DPYCACHE_CLEAN_TESTS=OFF"]
    if shutil.which("ninja"):
        args += ["-G", "Ninja"]
    subprocess.run(args, check=True, stdout=sys.stderr)
    subprocess.run([cmake, "--build", build_dir, "--target", "pycache-clean"], check=True,
                   stdout=sys.stderr)
    exe = "pycache-clean.exe" if sys.platform == "win32" else "pycache-clean"
    return os.path.join(build_dir, "src", exe)


def _package_files(root):
    """The package's modules, as the sdist has them: tracked (or listed)
    regular files only, read without following a link."""
    for rel, kind in _sdist_files(root):
        parts = rel.split("/")
        if kind == "file" and parts[:2] == ["python", "pycache_clean"] and len(parts) == 3 \
                and rel.endswith(".py"):
            fd = os.open(os.path.join(root, rel), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as f:
                yield "pycache_clean/" + parts[2], f.read()


# --- PEP 517 hooks ---------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    root = _source_root()
    version = cmake_version(root)
    shim = _is_shim()
    z = _Zip()
    if shim:
        dist, tags = SHIM_DIST, ["py3-none-any"]
    else:
        dist = DIST
        plat = _platform_tag(config_settings)
        tags = ["py3-none-%s" % p for p in plat.split(".")]
        binary = (config_settings or {}).get("binary")
        with tempfile.TemporaryDirectory() as tmp:
            if not binary:
                binary = _build_executable(root, os.path.join(tmp, "build"))
            exe = os.path.basename(binary)
            if not exe.startswith("pycache-clean"):
                exe = "pycache-clean.exe" if binary.endswith(".exe") else "pycache-clean"
            z.add("%s-%s.data/scripts/%s" % (dist, version, exe), open(binary, "rb").read(),
                  executable=True)
        # The man page, installed to PREFIX/share/man/man1: `man pycache-clean`
        # finds it where PREFIX/bin is on PATH (man-db derives its path from PATH).
        page = os.path.join(root, "docs", "pycache-clean.1")
        if os.path.isfile(page):
            z.add("%s-%s.data/data/share/man/man1/pycache-clean.1.gz" % (dist, version),
                  gzip.compress(open(page, "rb").read(), compresslevel=9, mtime=0))
        for name, data in _package_files(root):
            z.add(name, data)
    dist_info = "%s-%s.dist-info" % (dist, version)
    z.add(dist_info + "/METADATA", _metadata(version, shim))
    z.add(dist_info + "/WHEEL", _wheel_file(tags))
    license_path = os.path.join(root, "LICENSE")
    if os.path.isfile(license_path):
        z.add(dist_info + "/LICENSE", open(license_path, "rb").read())
    if not shim:
        z.add(dist_info + "/entry_points.txt", "[pytest11]\npycache_clean = pycache_clean\n")
    z.record(dist_info)
    filename = "%s-%s-%s.whl" % (dist, version, ".".join(
        sorted({t.split("-")[0] for t in tags})) + "-none-" + ".".join(t.split("-")[2] for t in tags))
    z.write(os.path.join(wheel_directory, filename))
    return filename


def _tar_add(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = _epoch()
    info.mode = mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


MANIFEST = "SDIST-FILES"


def _sdist_files(root):
    """What the sdist packs: the files git tracks under SDIST_PATHS (never an
    untracked or ignored file, such as a `.env` beside the sources), or, in an
    unpacked sdist, those its SDIST-FILES manifest lists. Each is checked on
    disk without following links: a path that is now a link (or a directory,
    FIFO...) where a file was recorded is refused. Returns [(path, kind)]
    with kind "file" or "link" (a link git tracks, packed as the link it is)."""
    if os.path.isdir(os.path.join(root, ".git")) or os.path.isfile(os.path.join(root, ".git")):
        try:
            out = subprocess.run(["git", "-C", root, "ls-files", "-s", "-z", "--", *SDIST_PATHS],
                                 capture_output=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise RuntimeError("pycache_clean_build: cannot list the files git tracks (%s); "
                               "the sdist packs nothing else" % e)
        files = []
        for entry in out.decode("utf-8", "surrogateescape").split("\0"):
            if not entry:
                continue
            meta, rel = entry.split("\t", 1)
            kind = "link" if meta.split()[0] == "120000" else "file"
            if not os.path.lexists(os.path.join(root, rel)):
                continue  # deleted in the work tree, not yet in git
            files.append((rel, kind))
    elif os.path.isfile(os.path.join(root, MANIFEST)):
        files = []
        with open(os.path.join(root, MANIFEST), encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                kind, rel = line.rstrip("\n").split(" ", 1)
                files.append((rel, kind))
    else:
        raise RuntimeError("pycache_clean_build: neither a git checkout nor an unpacked sdist "
                           "(%s): cannot tell which files are the sources" % MANIFEST)
    for rel, kind in files:
        if os.path.isabs(rel) or ".." in rel.split("/"):
            raise RuntimeError("pycache_clean_build: %r lies outside the source tree" % rel)
        mode = os.lstat(os.path.join(root, rel)).st_mode
        if not (stat.S_ISLNK(mode) if kind == "link" else stat.S_ISREG(mode)):
            raise RuntimeError("pycache_clean_build: %s is not the %s it was recorded as; "
                               "refusing to pack it" % (rel, "link" if kind == "link" else
                                                        "regular file"))
    return sorted(set(files))


def _tar_add_link(tar, name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mtime = _epoch()
    info.mode = 0o777
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info)


def build_sdist(sdist_directory, config_settings=None):
    root = _source_root()
    version = cmake_version(root)
    if _is_shim():
        raise RuntimeError("pycache_clean_build: the pre-commit package has no sdist")
    base = "%s-%s" % (DIST, version)
    files = _sdist_files(root)
    # At the sdist's top: a pyproject.toml whose backend is python/backend.
    pyproject = open(os.path.join(root, "python", "pyproject.toml")).read()
    pyproject = pyproject.replace('backend-path = ["backend"]', 'backend-path = ["python/backend"]')
    pkg_info = _metadata(version, False)
    manifest = "".join("%s %s\n" % (kind, rel) for rel, kind in files)
    filename = base + ".tar.gz"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _tar_add(tar, base + "/PKG-INFO", pkg_info.encode("utf-8"))
        _tar_add(tar, base + "/pyproject.toml", pyproject.encode("utf-8"))
        _tar_add(tar, base + "/" + MANIFEST, manifest.encode("utf-8", "surrogateescape"))
        for rel, kind in files:
            full = os.path.join(root, rel)
            name = base + "/" + rel.replace(os.sep, "/")
            if kind == "link":
                _tar_add_link(tar, name, os.readlink(full))
                continue
            # O_NOFOLLOW: a file swapped for a link since it was checked is refused.
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as f:
                data = f.read()
            mode = 0o755 if os.access(full, os.X_OK) else 0o644
            _tar_add(tar, name, data, mode)
    with open(os.path.join(sdist_directory, filename), "wb") as out:
        with gzip.GzipFile(filename=filename, mode="wb", fileobj=out, mtime=_epoch()) as gz:
            gz.write(raw.getvalue())
    return filename
