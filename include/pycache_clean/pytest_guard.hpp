#pragma once

#include <string>
#include <vector>

#include <pycache_clean/pytest_probe.hpp>

namespace pycache_clean {

// `pid 123 (python3 -m pytest)`, naming the first run of `probe`.
std::string describe_pytest_runs(const PytestProbe& probe);

struct UnlessPytestOptions {
  PytestScope scope = PytestScope::repo;
  double wait_seconds = 0;  // > 0: wait that long for the run to end; < 0: for ever
  bool quiet = false;
  std::vector<std::string> command;
};

// Runs the command (status passed through) only when no pytest run is in
// progress; otherwise says `[SKIP] pytest is running (pid N): not running CMD`
// and returns 0, so a pre-commit hook skips rather than fails.
int run_unless_pytest(const UnlessPytestOptions& options);

// Runs `command` (default `python3 -m pytest`) as a test run: holds the shared
// marker lock for its whole life (the command inherits it), with
// PYTHONDONTWRITEBYTECODE=1 and PYTEST_RUNNING=1 in its environment. Returns
// its shell-style status. Throws Error when the marker cannot be taken.
int run_test_command(std::vector<std::string> command);

}  // namespace pycache_clean
