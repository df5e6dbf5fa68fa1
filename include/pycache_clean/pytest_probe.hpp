#pragma once

#include <optional>
#include <string>
#include <vector>

#include <pycache_clean/process_table.hpp>

namespace pycache_clean {

// True when `argv` is, structurally, a pytest run: the basename of argv[0]
// (or of argv[1] after a Python interpreter) is pytest/py.test (optionally
// -X.Y, .exe); or the arguments hold `-m pytest`/`-mpytest`; or argv[1] is an
// IDE's runner script. Never a substring match over the whole line.
bool is_pytest_command(const std::vector<std::string>& argv);

// True for a Python interpreter's basename: python, python3, python3.11, py,
// pypy3, each optionally with .exe.
bool is_python_interpreter(const std::string& argv0);

enum class PytestScope { repo, user, all };

struct PytestRun {
  long pid = 0;         // 0 when unknown (a marker lock with no process seen)
  std::string command;  // the command line, space-joined
};

struct PytestProbe {
  bool running = false;
  std::string evidence;  // "environment", "marker", "process" or empty
  std::vector<PytestRun> runs;
  bool scan_supported = true;
  // Why the marker at its path could not be used (a FIFO, a link...), or empty.
  std::string marker_problem;
  // Each piece of evidence looked at and what it showed, in order (for -v).
  std::vector<std::string> considered;
};

// The marker lock that `pycache-clean test` holds (shared) for a whole run.
std::string pytest_marker_path();

// Whether a pytest run is in progress, by the evidence in order: this
// process's environment, the marker lock, a process scan within `scope`
// (excluding this process and its ancestors). `processes` is the table to scan.
// `ignore_participants` (for a holder of the marker): leave out runs that take
// part in the marker protocol (started by `pycache-clean test`, `-p
// pycache_clean` on their command line, or a `pycache-clean pytest-session`
// child): they wait for the marker before importing anything.
PytestProbe probe_pytest(PytestScope scope, const std::vector<ProcessInfo>& processes,
                         bool ignore_participants = false);

// The same with the live process table.
PytestProbe probe_pytest(PytestScope scope, bool ignore_participants = false);

}  // namespace pycache_clean
