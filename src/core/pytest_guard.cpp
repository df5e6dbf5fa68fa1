// `unless-pytest` and `test`: the two halves of keeping auto-fixers away from
// running tests. A hook that merely exits 0 cannot stop the next hook, so
// unless-pytest wraps the fixer itself; `test` marks a run with a shared
// kernel lock that probe_pytest can see from any process, and keeps the run
// from writing bytecode that a concurrent fixer could make stale.
#include <pycache_clean/pytest_guard.hpp>

#include <cerrno>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <pycache_clean/command_line.hpp>
#include <pycache_clean/error.hpp>
#include <pycache_clean/exit_status.hpp>
#include <pycache_clean/file_lock.hpp>
#include <pycache_clean/lock.hpp>
#include <pycache_clean/process.hpp>

namespace pycache_clean {

std::string describe_pytest_runs(const PytestProbe& probe) {
  if (probe.runs.empty()) return "no pytest run";
  const PytestRun& run = probe.runs.front();
  std::string out = run.pid > 0 ? fmt::format("pid {} ({})", run.pid, run.command) : run.command;
  if (probe.runs.size() > 1) out += fmt::format(" and {} more", probe.runs.size() - 1);
  return out;
}

int run_unless_pytest(const UnlessPytestOptions& options) {
  using Clock = std::chrono::steady_clock;
  PytestProbe probe = probe_pytest(options.scope);
  if (probe.running && options.wait_seconds != 0) {
    auto start = Clock::now();
    auto pause = std::chrono::milliseconds(100);
    if (!options.quiet)
      spdlog::info("[WAIT] pytest is running ({}): waiting to run {}", describe_pytest_runs(probe),
                   join_command(options.command));
    while (probe.running) {
      double waited = std::chrono::duration<double>(Clock::now() - start).count();
      if (options.wait_seconds > 0 && waited >= options.wait_seconds) break;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));  // back off
      probe = probe_pytest(options.scope);
    }
  }
  if (probe.running) {
    if (!options.quiet)
      spdlog::info("[SKIP] pytest is running ({}): not running {}", describe_pytest_runs(probe),
                   join_command(options.command));
    return k_exit_ok;
  }
  ChildResult child = run_child(options.command);
  log_spawn_error(options.command, child);
  return child.status;
}

int run_test_command(std::vector<std::string> command) {
  if (command.empty()) command = {"python3", "-m", "pytest"};
  std::string marker_path = pytest_marker_path();
  FileLock marker;
  open_lock_file(marker, marker_path, LockFileOpen{}, "marker lock", k_exit_failure);
  if (int err = marker.lock(FileLock::Mode::shared, std::chrono::milliseconds(10000)))
    throw Error(fmt::format("marker lock {}: {}", marker_path, errno_text(err)));
  marker.set_inheritable(true);  // pytest and its xdist workers keep the mark alive
  ChildResult child =
      run_child(command, {{"PYTHONDONTWRITEBYTECODE", "1"}, {"PYTEST_RUNNING", "1"}});
  log_spawn_error(command, child);
  return child.status;
}

}  // namespace pycache_clean
