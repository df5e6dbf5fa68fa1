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
#include "guard/pytest_guard.hpp"

#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "guard/command_line.hpp"
#include "guard/git_dir.hpp"
#include "guard/lock.hpp"
#include "platform/process.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

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

int PytestMarker::open(bool with_fixers) {
  LockLocation where = lock_location("pycache-clean-pytest.lock");
  m_path = where.path;
  log_debug("pytest marker {}: {}", m_path, where.why);
  std::string queue = queue_path_of(m_path);
  std::vector<std::pair<FileLock*, const std::string*>> files = {{&m_marker, &m_path},
                                                                 {&m_queue, &queue}};
  if (with_fixers) {
    m_fixers_path = lock_location("pycache-clean-fixer.lock").path;
    files.emplace_back(&m_fixers, &m_fixers_path);
  }
  LockFileOpen how;
  how.private_default = true;
  for (auto [lock, path] : files) {
    if (int err = lock->open(*path, how)) {
      m_problem = *path + ": " + lock_open_problem(*lock, err, how);
      return err;
    }
  }
  return 0;
}

int PytestMarker::take(FileLock::Mode mode, double queue_wait_seconds, double marker_wait_seconds,
                       bool quiet, const std::function<std::string()>& holder,
                       bool& queue_blocked) {
  auto start = Clock::now();
  LockWait wait;
  wait.quiet = quiet;
  // The queue is held for moments by every arrival: no line for the
  // moments, and its holder is named as the kernel lists it (nobody writes
  // a record there).
  wait.holder = [this] { return queue_holder(); };
  wait.seconds = queue_wait_seconds;
  wait.quiet_first_second = true;
  wait.path = queue_path_of(m_path);
  int err = acquire_lock(m_queue, FileLock::Mode::exclusive, wait);
  queue_blocked = err == EWOULDBLOCK || err == ETIMEDOUT;
  if (err != 0) return err;
  wait.holder = holder;
  wait.path = m_path;
  wait.seconds = seconds_left(start, marker_wait_seconds);
  wait.quiet_first_second = false;
  err = acquire_lock(m_marker, mode, wait);
  m_queue.unlock();
  return err;
}

std::string PytestMarker::queue_holder() const {
  return describe_holder(m_queue) + ", queued for the pytest marker";
}

void PytestMarker::release() {
  m_marker.write_record("");
  m_marker.unlock();
}

std::string PytestMarker::fixer() const {
  return describe_holder(m_marker);
}

PytestMarker::Held PytestMarker::held_by_others() {
  if (m_marker.try_lock(FileLock::Mode::exclusive) == 0) {
    m_marker.unlock();
    return Held::free;
  }
  if (m_marker.try_lock(FileLock::Mode::shared) == 0) {
    m_marker.unlock();
    return Held::shared;
  }
  return Held::exclusive;
}

namespace {

// What is known of the runs holding the marker shared: those the process
// table shows, else the kernel's holders (with their user, when not ours).
std::string describe_test_runs(const PytestProbe& seen, const FileLock& marker) {
  if (!seen.runs.empty() && seen.runs.front().pid > 0) return describe_pytest_runs(seen);
  std::vector<LockHolder> holders = marker.holders();
  if (holders.empty()) return seen.runs.empty() ? "a test run" : describe_pytest_runs(seen);
  return "a run holding the pytest marker: " + describe_holder(std::nullopt, holders);
}

// Waits, up to `seconds` (< 0: for ever), for whoever holds `lock`
// exclusively to let go (a shared request is granted as soon as no one holds
// it exclusively, however many test runs then hold it shared); saying so.
int wait_for_exclusive_holder(FileLock& lock, const std::string& path, double seconds, bool quiet,
                              const std::string& who) {
  LockWait wait;
  wait.seconds = seconds;
  wait.quiet = quiet;
  wait.path = path;
  wait.holder = [&] { return who; };
  int err = acquire_lock(lock, FileLock::Mode::shared, wait);
  if (err == 0) lock.unlock();
  return err;
}

// How take_marker_when_no_tests ended.
struct MarkerTaken {
  enum class Result { taken, tests_run, gave_up } result = Result::taken;
  std::string text;  // tests_run: "pytest is running (...)"; gave_up: who held on
};

// Takes the marker exclusively once no test run is seen: the marker free and
// the process table showing no pytest that ignores the marker. A marker held
// exclusively is no test run (a fixer of an older pycache-clean, flock -x,
// another user): it is waited for as another fixer is, never a reason to
// skip. Backs off between looks, never past the deadlines.
MarkerTaken take_marker_when_no_tests(PytestMarker& marker, const UnlessPytestOptions& options) {
  using Result = MarkerTaken::Result;
  auto start = Clock::now();
  auto pause = std::chrono::milliseconds(100);
  for (bool first_look = true;; first_look = false) {
    PytestProbe seen;  // the test runs seen while waiting, for the messages
    auto holder = [&] {
      if (marker.held_by_others() == PytestMarker::Held::exclusive)
        return marker.fixer() + ", which holds it exclusively (no test run)";
      seen = probe_pytest(options.scope);
      return describe_test_runs(seen, marker.marker());
    };
    // The queue is waited for as a fixer is (whoever holds it for long waits
    // for an exclusive holder, or is another user), the marker as --wait says.
    bool queue_blocked = false;
    int err = marker.take(
        FileLock::Mode::exclusive, seconds_left(start, options.fixer_wait_seconds),
        seconds_left(start, options.wait_seconds), options.quiet, holder, queue_blocked);
    if (queue_blocked) return {Result::gave_up, marker.queue_holder()};
    if (err == EWOULDBLOCK || err == ETIMEDOUT) {
      PytestMarker::Held held = marker.held_by_others();
      if (held == PytestMarker::Held::free) continue;  // let go meanwhile: look again
      if (held == PytestMarker::Held::exclusive) {
        std::string who = marker.fixer() + ", which holds it exclusively (no test run)";
        err = wait_for_exclusive_holder(marker.marker(), marker.path(),
                                        seconds_left(start, options.fixer_wait_seconds),
                                        options.quiet, who);
        if (err == ETIMEDOUT || err == EWOULDBLOCK) return {Result::gave_up, who};
        if (err != 0) throw_lock_error("marker lock", marker.path(), err);
        continue;
      }
      std::string who = describe_test_runs(seen.runs.empty() ? probe_pytest(options.scope) : seen,
                                           marker.marker());
      for (const auto& note : seen.considered) log_debug("{}", note);
      return {Result::tests_run, "pytest is running (" + who + ")"};
    }
    if (err != 0) throw_lock_error("marker lock", marker.path(), err);
    // No run that takes part can start now (those seen wait for the marker);
    // one that does not may already run.
    PytestProbe probe = probe_pytest(options.scope, /*holds_marker=*/true);
    if (first_look)
      for (const auto& note : probe.considered) log_debug("{}", note);
    if (!probe.running) return {};
    marker.release();
    double left = seconds_left(start, options.wait_seconds);
    if (options.wait_seconds == 0 || (options.wait_seconds > 0 && left <= 0.001))
      return {Result::tests_run, "pytest is running (" + describe_pytest_runs(probe) + ")"};
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

// Takes the fixer lock: fixers run one at a time, each waiting in the
// kernel's queue for the one before (never skipping for it). 0, ETIMEDOUT
// past options.fixer_wait_seconds, EBUSY when a test run holds the marker
// while the other fixer waits for it (a fixer that does not wait for tests
// skips for them now, not after the other fixer), or errno.
int take_fixer_lock(PytestMarker& marker, const UnlessPytestOptions& options) {
  int err = marker.fixers().try_lock(FileLock::Mode::exclusive);
  if (err != EWOULDBLOCK) return err;
  if (options.wait_seconds == 0 && marker.held_by_others() == PytestMarker::Held::shared)
    return EBUSY;
  LockWait wait;
  wait.seconds = options.fixer_wait_seconds;
  wait.quiet = options.quiet;
  wait.path = marker.fixers_path();
  wait.holder = [&] { return describe_holder(marker.fixers()) + ", another fixer"; };
  err = acquire_lock(marker.fixers(), FileLock::Mode::exclusive, wait);
  return err == EWOULDBLOCK ? ETIMEDOUT : err;
}

}  // namespace

UnlessPytestOutcome run_unless_pytest(const UnlessPytestOptions& options) {
  PytestMarker marker;
  if (marker.open(/*with_fixers=*/true) != 0) {
    // A FIFO or link planted at the marker path: the process table decides alone.
    log_warn("pytest marker {}: ignored, only the process table counts", marker.open_problem());
    PytestProbe probe = probe_pytest(options.scope);
    if (probe.running)
      return {true, false, "pytest is running (" + describe_pytest_runs(probe) + ")", {}};
    return {false, false, "", run_logged(options.command)};
  }
  if (auto held = marker.held_by_ancestor()) {
    if (!held->exclusive)  // we run inside a test run: it is the pytest that runs
      return {true,
              false,
              fmt::format("pytest is running (pid {}, which started this)", held->pid),
              {}};
    log_debug("{} is held by ancestor pid {}: running at once", marker.path(), held->pid);
    return {false, false, "", run_logged(options.command)};
  }
  if (auto held = pycache_clean::held_by_ancestor(marker.fixers())) {
    log_debug("{} is held by ancestor pid {}: running at once", marker.fixers_path(), held->pid);
    return {false, false, "", run_logged(options.command)};
  }
  int err = take_fixer_lock(marker, options);
  if (err == ETIMEDOUT) return {false, true, describe_holder(marker.fixers()), {}};
  if (err == EBUSY) {
    PytestProbe seen = probe_pytest(options.scope);
    return {
        true, false, "pytest is running (" + describe_test_runs(seen, marker.marker()) + ")", {}};
  }
  if (err != 0) throw_lock_error("fixer lock", marker.fixers_path(), err);
  HolderRecord me = this_holder(options.command);
  marker.fixers().write_record(format_holder_record(me));
  MarkerTaken taken = take_marker_when_no_tests(marker, options);
  if (taken.result != MarkerTaken::Result::taken) {
    marker.fixers().write_record("");
    marker.fixers().unlock();
    return {taken.result == MarkerTaken::Result::tests_run,
            taken.result == MarkerTaken::Result::gave_up,
            taken.text,
            {}};
  }
  marker.marker().write_record(format_holder_record(me));
  // The command inherits both (as with `lock` and flock(1)): killing this
  // process leaves them held for as long as what it started can write.
  marker.marker().set_inheritable(true);
  marker.fixers().set_inheritable(true);
  ChildResult child =
      run_logged(options.command, pass_down({{&marker.marker(), FileLock::Mode::exclusive},
                                             {&marker.fixers(), FileLock::Mode::exclusive}},
                                            current_pid()));
  marker.release();
  marker.fixers().write_record("");
  marker.fixers().unlock();
  return {false, false, "", child};
}

TestRunOutcome run_test_command(const TestRunOptions& options) {
  std::vector<std::string> command = options.command;
  if (command.empty()) command = {"python3", "-m", "pytest"};
  PytestMarker marker;
  if (marker.open() != 0) throw Error("marker lock " + marker.open_problem(), ErrorKind::bad_input);
  EnvChanges env = {{"PYTEST_RUNNING", "1"}};
  if (options.no_bytecode) env.emplace_back("PYTHONDONTWRITEBYTECODE", "1");
  if (auto held = marker.held_by_ancestor()) {
    // Inside a test run already, or inside the fixer that holds it: never wait for ourselves.
    log_debug("{} is held by ancestor pid {}: running at once", marker.path(), held->pid);
  } else {
    bool queue_blocked = false;
    int err = marker.take(
        FileLock::Mode::shared, options.wait_seconds, options.wait_seconds, options.quiet,
        [&] { return marker.fixer(); }, queue_blocked);
    if (err == ETIMEDOUT || err == EWOULDBLOCK)
      return {true, queue_blocked ? marker.queue_holder() : marker.fixer(), {}};
    if (err != 0) throw_lock_error("marker lock", marker.path(), err);
    marker.marker().set_inheritable(true);  // pytest and its xdist workers keep the mark alive
    for (auto& e : pass_down(marker.marker(), FileLock::Mode::shared, current_pid()))
      env.push_back(e);
  }
  if (options.prepare) options.prepare();
  ChildResult child = run_logged(command, env);
  if (options.finish) options.finish();
  return {false, "", child};
}

SessionHold hold_marker_for(PytestMarker& marker, long holder, double wait_seconds, bool quiet) {
  if (marker.open() != 0) throw Error("marker lock " + marker.open_problem(), ErrorKind::bad_input);
  if (auto held = marker.held_by_ancestor()) {
    log_debug("{} is held by ancestor pid {}: nothing to take", marker.path(), held->pid);
    return {};
  }
  bool queue_blocked = false;
  int err = marker.take(
      FileLock::Mode::shared, wait_seconds, wait_seconds, quiet, [&] { return marker.fixer(); },
      queue_blocked);
  if (err == ETIMEDOUT || err == EWOULDBLOCK)
    return {true, queue_blocked ? marker.queue_holder() : marker.fixer(), ""};
  if (err != 0) throw_lock_error("marker lock", marker.path(), err);
  EnvChanges env = pass_down(marker.marker(), FileLock::Mode::shared, holder);
  std::string value = env.empty() || !env.back().second ? "" : *env.back().second;
  // Only this hold's entry: the holder's environment keeps its own.
  auto last = value.rfind(';');
  return {false, "", last == std::string::npos ? value : value.substr(last + 1)};
}

}  // namespace pycache_clean
