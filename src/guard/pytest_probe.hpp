#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "guard/pytest_argv.hpp"
#include "platform/process_table.hpp"

namespace pycache_clean {

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

// What the marker lock showed when it was looked at (read_marker): never
// created, followed or blocked on.
struct MarkerState {
  enum class Lock {
    absent,     // no marker file: no run marked itself
    free,       // nobody holds it
    shared,     // held shared: marked test runs
    exclusive,  // held exclusively: a fixer that unless-pytest runs
    unusable,   // a link, a FIFO, a directory...: `problem` says what
    taken,      // held by this very command (not evidence)
  };
  Lock lock = Lock::absent;
  std::string holders;  // who holds it, as the kernel lists them (shared, exclusive)
  std::string problem;  // unusable: why
};

// Looks at the marker at `path` (the caller holds it when `held_by_us`).
MarkerState read_marker(const std::string& path, bool held_by_us);

// Everything the probe looks at, gathered first (probe_inputs) so that the
// judgement itself reads no process-wide state, takes no lock and resolves
// no path, and tests hand it their own.
struct ProbeInputs {
  // The PYTEST_RUNNING, PYTEST_VERSION and PYTEST_CURRENT_TEST variables of
  // this process that are set (name -> value).
  std::map<std::string, std::string> environment;
  long self_pid = 0;  // this process: it and its ancestors are never another run
  long uid = -1;      // this user: other users' runs count only with PytestScope::all
  // PytestScope::repo: the canonical worktree directories of the repository
  // around the working directory (the working directory outside one).
  std::vector<std::string> repo_roots;
  std::string marker_path;  // the marker lock, and why it lives there
  std::string marker_why;
  MarkerState marker;  // what it showed
  // The caller holds the marker (unless-pytest, exclusively): the marker is
  // not evidence, and runs that take part in the marker protocol (started by
  // `pycache-clean test`, `-p pycache_clean` on their command line, or a
  // `pycache-clean pytest-session` child) are left out, since they wait for
  // the marker before importing anything.
  bool holds_marker = false;
  std::vector<ProcessInfo> processes;  // the process table to scan
  bool scan_supported = true;
  // PytestScope::repo: the canonical working directory of each process that
  // could count (pytest runs and their workers), by pid; others are absent.
  std::map<long, std::string> canonical_cwd;
};

// The inputs as this process sees them: its environment, pid and uid, the
// repository around its working directory (scope repo only), the marker's
// location and the live process table; only the environment when it alone
// says that a pytest run started this process.
ProbeInputs probe_inputs(PytestScope scope, bool holds_marker = false);

// Whether a pytest run is in progress, by the evidence in order: the
// environment, the marker lock (not created, followed or blocked on), the
// process table within `scope` (excluding self_pid and its ancestors).
PytestProbe probe_pytest(PytestScope scope, const ProbeInputs& inputs);

// probe_pytest(scope, probe_inputs(scope, holds_marker)), warning about an
// unusable marker.
PytestProbe probe_pytest(PytestScope scope, bool holds_marker = false);

}  // namespace pycache_clean
