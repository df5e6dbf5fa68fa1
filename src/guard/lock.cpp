// `lock`: serialise a command across terminals with a kernel lock.
//
// The shell idiom this replaces (test-then-create a file, delete it on exit,
// break it after N seconds) lets two waiters win at once, leaves stale files
// after a crash and breaks live locks. flock(2) has none of these faults: the
// kernel grants it to one holder, queues waiters, and drops it when the holder
// dies. The file itself is only a meeting point plus a note of who holds it;
// it is never deleted (deleting a lock file lets a newcomer lock a new inode
// while an old waiter locks the unlinked one).
#include "guard/lock.hpp"

#include <cerrno>
#include <chrono>
#include <ctime>
#include <sstream>

#include <fmt/format.h>

#include "guard/command_line.hpp"
#include "guard/git_dir.hpp"
#include "guard/held_locks.hpp"
#include "platform/process.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean {

namespace {

using Clock = std::chrono::steady_clock;

// Seconds at which a waiter says it is still waiting: often at first, then
// every 30 s; never more than once a second.
bool is_announce_second(long s) {
  return s == 1 || s == 2 || s == 5 || s == 10 || s == 20 || (s > 0 && s % 30 == 0);
}

}  // namespace

std::string format_holder_record(const HolderRecord& r) {
  return fmt::format("pid: {}\nhost: {}\nstart: {}\nsince: {}\ncommand: {}\n", r.pid, r.host,
                     r.start_ticks, r.since, r.command);
}

std::optional<HolderRecord> parse_holder_record(const std::string& text) {
  HolderRecord r;
  std::istringstream in(text);
  std::string line;
  bool have_pid = false;
  while (std::getline(in, line)) {
    auto colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 2);
    try {
      if (key == "pid") {
        r.pid = std::stol(value);
        have_pid = r.pid > 0;
      } else if (key == "host") {
        r.host = value;
      } else if (key == "start") {
        r.start_ticks = std::stoull(value);
      } else if (key == "since") {
        r.since = std::stoll(value);
      } else if (key == "command") {
        r.command = value;
      }
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (!have_pid) return std::nullopt;
  return r;
}

namespace {

// ", uid 65534" for a holder that is another user's.
std::string other_user(long uid) {
  return uid >= 0 && uid != current_uid() ? fmt::format(" of uid {}", uid) : "";
}

// What the kernel says of a holder the record does not name: its pid, user
// and command line, or that it has ended and left the lock to a descendant.
std::string describe_listed_holder(const LockHolder& h, const std::string& recorded_command) {
  if (h.pid > 0 && process_exists(h.pid)) {
    std::string command = join_command(process_command_line(h.pid), 200);
    return fmt::format("pid {}{}", h.pid, other_user(h.uid)) +
           (command.empty() ? "" : " (" + command + ")");
  }
  std::string what = recorded_command.empty() ? "" : " (" + recorded_command + ")";
  return h.pid > 0 ? fmt::format(
                         "a process left running by pid {}{}, which has ended (killed?) "
                         "while what it started still holds the lock",
                         h.pid, what)
                   : "a holder in another process namespace";
}

}  // namespace

std::string describe_holder(const std::optional<HolderRecord>& record,
                            const std::vector<LockHolder>& holders) {
  const char* unknown =
      "an unrecorded holder (flock(1), or a command left running by a killed lock)";
  bool here = record && record->host == host_name();
  bool alive = here && process_exists(record->pid);
  if (alive) {
    auto start = process_start_time(record->pid);
    alive = !(start && record->start_ticks != 0 && *start != record->start_ticks);
  }
  if (record && (alive || !here)) {
    long uid = -1;
    for (const auto& h : holders)
      if (h.pid == record->pid) uid = h.uid;
    std::string out = fmt::format("pid {}{}", record->pid, other_user(uid));
    if (!here) out += " on " + record->host;
    if (!record->command.empty()) out += " (" + record->command + ")";
    return out;
  }
  // The record is missing, stale or not ours: the kernel's list of holders.
  for (const auto& h : holders)
    if (h.pid > 0 && process_exists(h.pid)) return describe_listed_holder(h, "");
  if (!holders.empty())
    return describe_listed_holder(holders.front(), record ? record->command : "");
  return unknown;
}

std::string describe_holder(const FileLock& lock) {
  return describe_holder(parse_holder_record(lock.read_record()), lock.holders());
}

std::string lock_open_problem(const FileLock& lock, int err, const LockFileOpen& how) {
  if (err == ELOOP && !how.follow_links)
    return "is a symbolic link; refusing to follow it (remove it, or name a file with --file)";
  if (err == k_err_not_lockable)
    return fmt::format("is {}, not a regular file; refusing to open it", lock.refused_kind());
  if (err == k_err_foreign_owner)
    return fmt::format(
        "is owned by uid {}, not by you: they could hold its lock for as long as they like, so "
        "it is not used (remove it, or name another file)",
        lock.foreign_owner());
  if (err == EISDIR) return "is a directory, not a regular file";
  return errno_text(err);
}

void open_lock_file(FileLock& lock, const std::string& path, const LockFileOpen& how,
                    const char* what) {
  int err = lock.open(path, how);
  if (err == 0) return;
  throw Error(fmt::format("{} {}: {}", what, path, lock_open_problem(lock, err, how)),
              ErrorKind::bad_input);
}

int acquire_lock(FileLock& lock, FileLock::Mode mode, const LockWait& wait) {
  auto start = Clock::now();
  int err = lock.try_lock(mode);
  if (err != EWOULDBLOCK || wait.seconds == 0) return err;
  bool forever = wait.seconds < 0;
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(forever ? 0 : wait.seconds));
  auto holder = [&] { return wait.holder ? wait.holder() : std::string("its holder"); };
  bool said = false;
  auto say = [&] {
    if (!wait.quiet) log_info("[WAIT] waiting for {}, which holds {}", holder(), wait.path);
    said = true;
  };
  if (!wait.quiet_first_second) say();
  long announced = 0;
  for (;;) {
    auto now = Clock::now();
    if (!forever && now >= deadline) return ETIMEDOUT;
    auto tick = std::chrono::milliseconds(1000);
    if (!forever)
      tick = std::min(tick, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                                std::chrono::milliseconds(1));
    err = lock.lock(mode, tick);
    if (err != ETIMEDOUT) break;
    long elapsed = static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count());
    if (!said) {
      say();
    } else if (!wait.quiet && elapsed > announced && is_announce_second(elapsed)) {
      announced = elapsed;
      log_info("[WAIT] waiting for {} ... {}s", holder(), elapsed);
    }
  }
  if (err == 0 && said && !wait.quiet)
    log_info("[LOCK] got {} after {:.1f}s", wait.path,
             std::chrono::duration<double>(Clock::now() - start).count());
  return err;
}

HolderRecord this_holder(const std::vector<std::string>& command) {
  HolderRecord me;
  me.pid = current_pid();
  me.host = host_name();
  me.start_ticks = process_start_time(me.pid).value_or(0);
  me.since = static_cast<std::int64_t>(std::time(nullptr));
  me.command = join_command(command);
  return me;
}

void throw_lock_error(const std::string& what, const std::string& path, int err) {
  if (is_lock_unsupported(err))
    throw Error(fmt::format("{} {}: this file system does not support locks ({}); "
                            "use --file to put the lock elsewhere",
                            what, path, errno_text(err)),
                ErrorKind::bad_input);
  throw Error(fmt::format("{} {}: {}", what, path, errno_text(err)), ErrorKind::bad_input);
}

LockOutcome run_locked(const LockOptions& options) {
  std::string path = options.file;
  if (path.empty()) {
    LockLocation where = lock_location("pycache-clean.lock");
    path = where.path;
    if (where.outside_repository)
      log_info("not in a git repository: locking {} in the current directory", path);
    else
      log_debug("lock file {}: {}", path, where.why);
  } else {
    log_debug("lock file {}: given by --file", path);
  }
  FileLock lock;
  LockFileOpen how;
  how.follow_links = how.allow_directory = !options.file.empty();  // typed: as flock(1)
  how.private_default = options.file.empty();
  open_lock_file(lock, path, how, "lock file");

  if (auto held = held_by_ancestor(lock)) {
    // Our own ancestor holds it for us (a git hook around a hook that locks too).
    log_debug("{} is held by ancestor pid {}: running at once", path, held->pid);
    ChildResult child = run_child(options.command);
    log_spawn_error(options.command, child);
    return {true, child, path, ""};
  }
  LockWait wait;
  wait.seconds = options.wait_seconds;
  wait.quiet = options.quiet;
  wait.path = path;
  wait.holder = [&] { return describe_holder(lock); };
  int err = acquire_lock(lock, FileLock::Mode::exclusive, wait);
  if (err == ETIMEDOUT || (err == EWOULDBLOCK && options.wait_seconds == 0))
    return {false, {}, path, wait.holder()};
  if (err != 0) throw_lock_error("lock file", path, err);

  log_trace("holding {} exclusively; running {}", path, join_command(options.command));
  lock.write_record(format_holder_record(this_holder(options.command)));  // best effort
  lock.set_inheritable(true);
  ChildResult child =
      run_child(options.command, pass_down(lock, FileLock::Mode::exclusive, current_pid()));
  lock.write_record("");  // only the signature stays: nobody holds it
  lock.unlock();
  log_trace("command ended ({}); {} released", child.code, path);
  log_spawn_error(options.command, child);
  return {true, child, path, ""};
}

}  // namespace pycache_clean
