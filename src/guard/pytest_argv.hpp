#pragma once

#include <string>
#include <vector>

namespace pycache_clean {

// Rules over a process's arguments, pure: what the probe asks of each
// command line in the process table. Structure, never a substring match over
// the whole line (`pgrep -f pytest` matches its own shell, an editor with
// test_pytest.py open, `grep pytest`).

// True when `argv` is, structurally, a pytest run: the basename of argv[0]
// (or of argv[1] after a Python interpreter) is pytest/py.test (optionally
// -X.Y, .exe); or the arguments hold `-m pytest`/`-mpytest`; or argv[1] is an
// IDE's runner script. Never a substring match over the whole line.
bool is_pytest_command(const std::vector<std::string>& argv);

// True for a Python interpreter's basename: python, python3, python3.11, py,
// pypy3, each optionally with .exe.
bool is_python_interpreter(const std::string& argv0);

// True when `argv` runs this program (pycache-clean, pycache-clean.exe).
bool is_pycache_clean_command(const std::vector<std::string>& argv);

// Whether `word` is one of the arguments before a `--`.
bool has_argument(const std::vector<std::string>& argv, const char* word);

}  // namespace pycache_clean
