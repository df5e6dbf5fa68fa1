// `unless-pytest` and `test`: fixers and test runs never overlap.
//
// A reader-writer lock on the pytest marker: every test run holds it shared
// for its whole life, and a fixer started by unless-pytest holds it
// exclusively while it runs. Deciding and running are one step: once
// unless-pytest has the marker, no test run that takes part can start until
// the fixer is done (it waits in the kernel's queue instead), and a fixer
// never starts while one runs. Runs that hold no marker (a plain `pytest` in
// another terminal) are still seen through the process table, checked while
// the marker is held. Both sides queue through a second lock so that neither
// can starve the other; an ancestor's hold (a fixer's command that runs
// tests, a test that runs a fixer) is recognised through
// $PYCACHE_CLEAN_LOCKS, so nesting never waits for itself.
#include <pycache_clean/pytest_guard.hpp>

#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include <pycache_clean/command_line.hpp>
#include <pycache_clean/error.hpp>
#include <pycache_clean/exit_status.hpp>
#include <pycache_clean/git_dir.hpp>
#include <pycache_clean/lock.hpp>
#include <pycache_clean/logging.hpp>
#include <pycache_clean/process.hpp>

namespace pycache_clean {

namespace {

using Clock = std::chrono::steady_clock;

// The queue lock beside the marker: `x-pytest.lock` -> `x-pytest.queue`.
std::string queue_path_of(const std::string& marker) {
  const std::string suffix = ".lock";
  if (marker.size() > suffix.size() &&
      marker.compare(marker.size() - suffix.size(), suffix.size(), suffix) == 0)
    return marker.substr(0, marker.size() - suffix.size()) + ".queue";
  return marker + ".queue";
}

double seconds_left(Clock::time_point start, double wait_seconds) {
  if (wait_seconds <= 0) return wait_seconds;
  double used = std::chrono::duration<double>(Clock::now() - start).count();
  return std::max(wait_seconds - used, 0.001);
}

ChildResult run_logged(const std::vector<std::string>& command, const EnvChanges& env = {}) {
  ChildResult child = run_child(command, env);
  log_spawn_error(command, child);
  return child;
}

}  // namespace

std::string describe_pytest_runs(const PytestProbe& probe) {
  if (probe.runs.empty()) return "no pytest run";
  const PytestRun& run = probe.runs.front();
  std::string out = run.pid > 0 ? fmt::format("pid {} ({})", run.pid, run.command) : run.command;
  if (probe.runs.size() > 1) out += fmt::format(" and {} more", probe.runs.size() - 1);
  return out;
}

int PytestMarker::open() {
  LockLocation where = lock_location("pycache-clean-pytest.lock");
  m_path = where.path;
  log_debug("pytest marker {}: {}", m_path, where.why);
  std::string queue = queue_path_of(m_path);
  for (auto [lock, path] : {std::pair{&m_marker, &m_path}, std::pair{&m_queue, &queue}}) {
    if (int err = lock->open(*path, LockFileOpen{})) {
      m_problem = *path + ": " + lock_open_problem(*lock, err, LockFileOpen{});
      return err;
    }
  }
  return 0;
}

int PytestMarker::take(FileLock::Mode mode, double wait_seconds, bool quiet,
                       const std::function<std::string()>& holder) {
  auto start = Clock::now();
  LockWait wait;
  wait.quiet = quiet;
  wait.holder = holder;
  // The queue is held for moments by every arrival, for longer only by one
  // that waits for the marker: no line for the moments.
  wait.seconds = wait_seconds;
  wait.quiet_first_second = true;
  wait.path = m_path;
  int err = acquire_lock(m_queue, FileLock::Mode::exclusive, wait);
  if (err != 0) return err;
  wait.seconds = seconds_left(start, wait_seconds);
  wait.quiet_first_second = false;
  err = acquire_lock(m_marker, mode, wait);
  m_queue.unlock();
  return err;
}

void PytestMarker::release() {
  m_marker.write_record("");
  m_marker.unlock();
}

std::string PytestMarker::fixer() const {
  return describe_holder(parse_holder_record(m_marker.read_record()));
}

namespace {

// Takes the marker exclusively once no test run is seen: the marker free and
// the process table showing no pytest that ignores the marker. Returns
// nothing when it holds the marker, else why it gives up (pytest still runs
// at --wait). Backs off between looks, never past the deadline.
std::optional<std::string> take_marker_when_no_tests(PytestMarker& marker,
                                                     const UnlessPytestOptions& options) {
  auto start = Clock::now();
  auto pause = std::chrono::milliseconds(100);
  for (bool first_look = true;; first_look = false) {
    PytestProbe seen;  // the test runs seen while waiting, for the messages
    auto holder = [&] {
      seen = probe_pytest(options.scope);
      return seen.runs.empty() ? std::string("a test run") : describe_pytest_runs(seen);
    };
    int err = marker.take(FileLock::Mode::exclusive, seconds_left(start, options.wait_seconds),
                          options.quiet, holder);
    if (err == EWOULDBLOCK || err == ETIMEDOUT) {
      std::string who = holder();
      for (const auto& note : seen.considered) log_debug("{}", note);
      return "pytest is running (" + who + ")";
    }
    if (err != 0) throw_lock_error("marker lock", marker.path(), err, k_exit_usage);
    // No run that takes part can start now (those seen wait for the marker);
    // one that does not may already run.
    PytestProbe probe = probe_pytest(options.scope, /*holds_marker=*/true);
    if (first_look)
      for (const auto& note : probe.considered) log_debug("{}", note);
    if (!probe.running) return std::nullopt;
    marker.release();
    double left = seconds_left(start, options.wait_seconds);
    if (options.wait_seconds == 0 || (options.wait_seconds > 0 && left <= 0.001))
      return "pytest is running (" + describe_pytest_runs(probe) + ")";
    if (!options.quiet && pause == std::chrono::milliseconds(100))
      log_info("[WAIT] pytest is running ({}): waiting to run {}", describe_pytest_runs(probe),
               join_command(options.command));
    // Never past the deadline: the last look comes at --wait, not up to a pause later.
    auto nap = pause;
    if (options.wait_seconds > 0)
      nap = std::min(nap, std::chrono::milliseconds(static_cast<long>(left * 1000)));
    log_trace("pytest still running: next look in {} ms ({:.3f} s left)", nap.count(),
              options.wait_seconds > 0 ? left : -1.0);
    std::this_thread::sleep_for(nap);
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));  // back off
  }
}

}  // namespace

UnlessPytestOutcome run_unless_pytest(const UnlessPytestOptions& options) {
  PytestMarker marker;
  if (marker.open() != 0) {
    // A FIFO or link planted at the marker path: the process table decides alone.
    log_warn("pytest marker {}: ignored, only the process table counts", marker.open_problem());
    PytestProbe probe = probe_pytest(options.scope);
    if (probe.running) return {true, "pytest is running (" + describe_pytest_runs(probe) + ")", 0};
    return {false, "", run_logged(options.command).status};
  }
  if (auto held = marker.held_by_ancestor()) {
    if (!held->exclusive)  // we run inside a test run: it is the pytest that runs
      return {true, fmt::format("pytest is running (pid {}, which started this)", held->pid), 0};
    log_debug("{} is held by ancestor pid {}: running at once", marker.path(), held->pid);
    return {false, "", run_logged(options.command).status};
  }
  if (auto skip = take_marker_when_no_tests(marker, options)) return {true, *skip, 0};
  marker.marker().write_record(format_holder_record(this_holder(options.command)));
  ChildResult child = run_logged(
      options.command, pass_down(marker.marker(), FileLock::Mode::exclusive, current_pid()));
  marker.release();
  return {false, "", child.status};
}

TestRunOutcome run_test_command(const TestRunOptions& options) {
  std::vector<std::string> command = options.command;
  if (command.empty()) command = {"python3", "-m", "pytest"};
  PytestMarker marker;
  if (marker.open() != 0) throw Error("marker lock " + marker.open_problem(), k_exit_usage);
  EnvChanges env = {{"PYTHONDONTWRITEBYTECODE", "1"}, {"PYTEST_RUNNING", "1"}};
  if (auto held = marker.held_by_ancestor()) {
    // Inside a test run already, or inside the fixer that holds it: never wait for ourselves.
    log_debug("{} is held by ancestor pid {}: running at once", marker.path(), held->pid);
  } else {
    int err = marker.take(FileLock::Mode::shared, options.wait_seconds, options.quiet,
                          [&] { return marker.fixer(); });
    if (err == ETIMEDOUT || err == EWOULDBLOCK) return {true, marker.fixer(), 0};
    if (err != 0) throw_lock_error("marker lock", marker.path(), err, k_exit_usage);
    marker.marker().set_inheritable(true);  // pytest and its xdist workers keep the mark alive
    for (auto& e : pass_down(marker.marker(), FileLock::Mode::shared, current_pid()))
      env.push_back(e);
  }
  if (options.prepare) options.prepare();
  return {false, "", run_logged(command, env).status};
}

SessionHold hold_marker_for(PytestMarker& marker, long holder, double wait_seconds, bool quiet) {
  if (marker.open() != 0) throw Error("marker lock " + marker.open_problem(), k_exit_usage);
  if (auto held = marker.held_by_ancestor()) {
    log_debug("{} is held by ancestor pid {}: nothing to take", marker.path(), held->pid);
    return {};
  }
  int err =
      marker.take(FileLock::Mode::shared, wait_seconds, quiet, [&] { return marker.fixer(); });
  if (err == ETIMEDOUT || err == EWOULDBLOCK) return {true, marker.fixer(), ""};
  if (err != 0) throw_lock_error("marker lock", marker.path(), err, k_exit_usage);
  EnvChanges env = pass_down(marker.marker(), FileLock::Mode::shared, holder);
  std::string value = env.empty() || !env.back().second ? "" : *env.back().second;
  // Only this hold's entry: the holder's environment keeps its own.
  auto last = value.rfind(';');
  return {false, "", last == std::string::npos ? value : value.substr(last + 1)};
}

}  // namespace pycache_clean
