#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "platform/file_lock.hpp"
#include "platform/process.hpp"
#include "platform/process_table.hpp"

namespace pycache_clean {

// Who holds a lock: written into the lock file by the holder, read by waiters.
struct HolderRecord {
  long pid = 0;
  std::string host;
  std::uint64_t start_ticks = 0;  // process start time, to tell a reused pid
  std::int64_t since = 0;         // unix seconds when the lock was taken
  std::string command;
};
std::string format_holder_record(const HolderRecord& record);
std::optional<HolderRecord> parse_holder_record(const std::string& text);

// `pid 4242 (pre-commit run)`, or a phrase for an unknown holder (a
// flock(1) user, or a record left by a holder that died) when `record` does
// not name a live process on this host.
// `holders` (FileLock::holders) name a holder the record does not (a
// flock(1) user, another user's process, a command whose pycache-clean was
// killed), with its user when it is not ours.
std::string describe_holder(const std::optional<HolderRecord>& record,
                            const std::vector<LockHolder>& holders = {});
// describe_holder of `lock`'s record and its holders.
std::string describe_holder(const FileLock& lock);

// Why `lock.open(path, how)` failed with `err`, said of the path: "is a FIFO,
// not a regular file; refusing to open it".
std::string lock_open_problem(const FileLock& lock, int err, const LockFileOpen& how);

// Opens `lock` at `path` as `how` says, or throws Error(bad_input) naming
// `what` ("lock file"), the path and why: a refused link, FIFO, socket,
// device or directory is said as such.
void open_lock_file(FileLock& lock, const std::string& path, const LockFileOpen& how,
                    const char* what);

// How long and how visibly acquire_lock waits.
struct LockWait {
  double seconds = 30;  // 0: try once; negative: wait forever
  bool quiet = false;   // no [WAIT]/[LOCK] lines
  // Say the first [WAIT] line only after a second of waiting (for locks
  // held only for moments).
  bool quiet_first_second = false;
  std::string path;                     // the lock file, as said in messages
  std::function<std::string()> holder;  // who holds it, as said in messages
};

// Takes `lock` in `mode`, waiting blocked in the kernel's queue (so waiters
// are served in turn) up to `wait.seconds`, with `[WAIT] waiting for HOLDER`
// lines on the way and `[LOCK] got PATH after Ns` at the end. Returns 0,
// EWOULDBLOCK (seconds 0), ETIMEDOUT, or errno.
int acquire_lock(FileLock& lock, FileLock::Mode mode, const LockWait& wait);

// This process as the holder of a lock while it runs `command`.
HolderRecord this_holder(const std::vector<std::string>& command);

// Throws Error(bad_input) for a lock that could not be taken: `what` ("lock
// file") at `path`, with a hint where the file system cannot lock.
[[noreturn]] void throw_lock_error(const std::string& what, const std::string& path, int err);

struct LockOptions {
  std::string file;          // lock file; empty: lock_location("pycache-clean.lock")
  double wait_seconds = 30;  // 0: try once; negative: wait forever
  bool quiet = false;        // no [WAIT]/[LOCK] messages
  std::vector<std::string> command;
};

// What run_locked did: ran the command (how it ended), or gave up
// waiting (who held the lock, and where).
struct LockOutcome {
  bool ran = false;
  ChildResult child;
  std::string path;    // the lock file
  std::string holder;  // when not ran: who held it ("pid 42 (make test) on host")
};

// Takes the exclusive lock, runs the command while holding it (the command
// inherits the lock, like flock(1)), and says what happened; the command is
// not run when the lock was not had within the wait. When an ancestor
// already holds the same file (held_by_ancestor), runs the command at once.
// Throws Error (bad_input) for a lock file that cannot be opened or locked.
LockOutcome run_locked(const LockOptions& options);

}  // namespace pycache_clean
