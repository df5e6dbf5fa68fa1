"""pycache-clean for Python: find the binary, and a pytest plugin.

`pytest -p pycache_clean` (or `pytest_plugins = ["pycache_clean"]` in a
conftest.py, or the `pytest11` entry point of an installed wheel) makes every
pytest run take part in pycache-clean's guard: the controlling process holds
the pytest marker lock for the whole session (a fixer run through
`pycache-clean unless-pytest` waits or skips meanwhile, and the session waits
for a fixer that is running), and the session writes no bytecode caches.
"""
from ._binary import find_binary
from ._plugin import (pytest_addoption, pytest_configure, pytest_unconfigure)

__all__ = ["find_binary", "pytest_addoption", "pytest_configure", "pytest_unconfigure"]
