#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "guard/held_locks.hpp"
#include "guard/pytest_probe.hpp"
#include "platform/file_lock.hpp"

namespace pycache_clean {

// `pid 123 (python3 -m pytest)`, naming the first run of `probe`.
std::string describe_pytest_runs(const PytestProbe& probe);

// The pytest marker as a reader-writer lock: test runs hold it shared for
// their whole life, a fixer run by unless-pytest holds it exclusively for the
// whole of its command. Both take it through a queue lock beside it
// (`pycache-clean-pytest.queue`), held exclusively only while waiting: once a
// fixer waits, new test runs queue behind it, and a test run that waits is
// next once the fixer is done; a steady stream of either kind cannot starve
// the other (flock(2) alone lets new readers pass a waiting writer).
class PytestMarker {
 public:
  // Opens (creating) the marker at pytest_marker_path() and its queue, and
  // with `with_fixers` the fixer lock beside them
  // (`pycache-clean-fixer.lock`, which fixers hold one at a time), never
  // following a link nor blocking on a FIFO, each private to its owner
  // (LockFileOpen::private_default). 0 or errno, as FileLock::open.
  int open(bool with_fixers = false);
  const std::string& path() const { return m_path; }
  // Why open() failed: "PATH: is a FIFO, not a regular file; ...".
  const std::string& open_problem() const { return m_problem; }
  // An entry of $PYCACHE_CLEAN_LOCKS naming the marker, held by an ancestor.
  std::optional<HeldLock> held_by_ancestor() const {
    return pycache_clean::held_by_ancestor(m_marker);
  }
  // Takes the marker in `mode` through the queue, waiting up to
  // `queue_wait_seconds` for the queue (held for moments by each arrival,
  // longer only by one waiting for an exclusive holder, or by another user
  // who can open an old world-readable queue file), then up to
  // `marker_wait_seconds` in all (0: not at all; negative: for ever) for the
  // marker, with [WAIT] lines that name `holder()`. Returns 0, EWOULDBLOCK,
  // ETIMEDOUT or errno; sets `queue_blocked` when the queue was not had.
  int take(FileLock::Mode mode, double queue_wait_seconds, double marker_wait_seconds, bool quiet,
           const std::function<std::string()>& holder, bool& queue_blocked);
  // Who holds the queue, as the kernel lists them.
  std::string queue_holder() const;
  void release();
  // The exclusive holder's record (a fixer run by unless-pytest), described.
  std::string fixer() const;
  FileLock& marker() { return m_marker; }
  FileLock& fixers() { return m_fixers; }
  const std::string& fixers_path() const { return m_fixers_path; }

  // How others hold the marker right now (this descriptor holding nothing):
  // free, shared (test runs) or exclusively (a fixer: not a test run).
  enum class Held { free, shared, exclusive };
  Held held_by_others();

 private:
  std::string m_path;
  std::string m_fixers_path;
  std::string m_problem;
  FileLock m_marker;
  FileLock m_queue;
  FileLock m_fixers;
};

struct UnlessPytestOptions {
  PytestScope scope = PytestScope::repo;
  double wait_seconds = 0;  // > 0: wait that long for the run to end; < 0: for ever
  // How long to wait for another fixer (or any exclusive holder of the
  // marker, which is no test run); < 0: for ever. Never a reason to skip.
  double fixer_wait_seconds = 600;
  bool quiet = false;
  std::vector<std::string> command;
};

struct UnlessPytestOutcome {
  bool skipped = false;  // a test run is in progress: the command was not run
  bool gave_up = false;  // another fixer held on past fixer_wait_seconds: not run
  std::string reason;    // skipped: what runs ("pytest is running (pid N (pytest))");
                         // gave_up: who held on ("pid N (black src)")
  ChildResult child;     // how the command ended, when it ran
};

// Runs the command holding the marker exclusively, only when no test run
// holds it and the process table shows no pytest run; the decision and the
// run are one step (no test run that takes part can start in between).
// Otherwise skips, after waiting up to `wait_seconds` in the marker's queue.
// Fixers go one at a time: each holds the fixer lock for its whole run, and
// one that finds another fixer (or any exclusive holder of the marker) waits
// for it, up to `fixer_wait_seconds`, and never skips for it. The command
// inherits both locks, as with `lock`: a fixer whose pycache-clean is killed
// keeps test runs out until it ends.
UnlessPytestOutcome run_unless_pytest(const UnlessPytestOptions& options);

struct TestRunOptions {
  std::vector<std::string> command;  // empty: python3 -m pytest
  double wait_seconds = 120;         // for a fixer holding the marker; < 0: for ever
  bool quiet = false;
  // Called once the marker is held, before the command (the sweep).
  std::function<void()> prepare;
  // Called once the command has ended, the marker still held.
  std::function<void()> finish;
  // Give the command PYTHONDONTWRITEBYTECODE=1 (no cache written at all).
  bool no_bytecode = false;
};

struct TestRunOutcome {
  bool timed_out = false;  // a fixer held the marker longer than the wait
  std::string fixer;       // who, when timed out
  ChildResult child;       // how the command ended, when it ran
};

// Runs `command` as a test run: holds the marker shared for its whole life
// (the command inherits it, and learns so through $PYCACHE_CLEAN_LOCKS),
// with PYTEST_RUNNING=1 (and with no_bytecode PYTHONDONTWRITEBYTECODE=1) in
// its environment.
// Throws Error when the marker cannot be opened or locked.
TestRunOutcome run_test_command(const TestRunOptions& options);

struct SessionHold {
  bool timed_out = false;  // a fixer held the marker longer than the wait
  std::string fixer;       // who, when timed out
  // For $PYCACHE_CLEAN_LOCKS in the holder's environment: the marker, held
  // shared on behalf of process `holder`. Empty when an ancestor holds it.
  std::string token;
};

// For the pytest plugin: takes `marker` shared on behalf of process `holder`
// (the pytest that asked), as `test` would, and keeps it until `marker` is
// destroyed. Throws Error when the marker cannot be opened or locked.
SessionHold hold_marker_for(PytestMarker& marker, long holder, double wait_seconds, bool quiet);

}  // namespace pycache_clean
