"""Where the pycache-clean executable is."""
import os
import shutil
import sys
import sysconfig

_EXE = "pycache-clean" + (".exe" if sys.platform == "win32" else "")


def _candidates():
    # Installed from a wheel: beside this interpreter's (or the user's) scripts.
    for scheme in (None, "posix_user" if os.name == "posix" else "nt_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        if scripts:
            yield os.path.join(scripts, _EXE)
    # Installed by `cmake --install` or the .deb: PREFIX/share/pycache-clean/python/pycache_clean.
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.normpath(os.path.join(here, "..", "..", "..", "..", "bin", _EXE))


def find_binary():
    """The path of the pycache-clean executable: $PYCACHE_CLEAN_BINARY when
    set, else beside this package's installation, else on PATH. Raises
    FileNotFoundError naming where it looked."""
    chosen = os.environ.get("PYCACHE_CLEAN_BINARY")
    if chosen:
        if os.path.isfile(chosen) and os.access(chosen, os.X_OK):
            return chosen
        raise FileNotFoundError("pycache-clean: $PYCACHE_CLEAN_BINARY (%s) is not an executable "
                                "file" % chosen)
    looked = []
    for path in _candidates():
        looked.append(path)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which(_EXE)
    if found:
        return found
    raise FileNotFoundError(
        "pycache-clean: the executable was not found (looked at %s and on PATH); "
        "install it (see its README) or put it on PATH" % ", ".join(looked))
