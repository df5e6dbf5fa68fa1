// `lock`: serialise a command across terminals with a kernel lock.
//
// The shell idiom this replaces (test-then-create a file, delete it on exit,
// break it after N seconds) lets two waiters win at once, leaves stale files
// after a crash and breaks live locks. flock(2) has none of these faults: the
// kernel grants it to one holder, queues waiters, and drops it when the holder
// dies. The file itself is only a meeting point plus a note of who holds it;
// it is never deleted (deleting a lock file lets a newcomer lock a new inode
// while an old waiter locks the unlinked one).
#include <pycache_clean/lock.hpp>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <pycache_clean/command_line.hpp>
#include <pycache_clean/error.hpp>
#include <pycache_clean/exit_status.hpp>
#include <pycache_clean/git_dir.hpp>
#include <pycache_clean/process.hpp>

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

std::string describe_holder(const std::optional<HolderRecord>& record) {
  const char* unknown =
      "an unrecorded holder (flock(1), or a command left running by a killed lock)";
  if (!record) return unknown;
  bool here = record->host == host_name();
  if (here) {
    if (!process_exists(record->pid)) return unknown;
    auto start = process_start_time(record->pid);
    if (start && record->start_ticks != 0 && *start != record->start_ticks) return unknown;
  }
  std::string out = fmt::format("pid {}", record->pid);
  if (!here) out += " on " + record->host;
  if (!record->command.empty()) out += " (" + record->command + ")";
  return out;
}

void open_lock_file(FileLock& lock, const std::string& path, const LockFileOpen& how,
                    const char* what, int exit_status) {
  int err = lock.open(path, how);
  if (err == 0) return;
  std::string why;
  if (err == ELOOP && !how.follow_links)
    why = "is a symbolic link; refusing to follow it (remove it, or name a file with --file)";
  else if (err == k_err_not_lockable)
    why = fmt::format("is {}, not a regular file; refusing to open it", lock.refused_kind());
  else if (err == EISDIR)
    why = "is a directory, not a regular file";
  else
    why = errno_text(err);
  throw Error(fmt::format("{} {}: {}", what, path, why), exit_status);
}

std::string default_lock_path(const std::string& name, bool& outside_repository) {
  auto dirs = find_git_dirs(".");
  outside_repository = !dirs;
  if (dirs) return dirs->common_dir + "/" + name;
  return "." + name;
}

int run_locked(const LockOptions& options) {
  std::string path = options.file;
  if (path.empty()) {
    bool outside = false;
    path = default_lock_path("pycache-clean.lock", outside);
    if (outside) spdlog::info("not in a git repository: locking {} in the current directory", path);
  }
  FileLock lock;
  LockFileOpen how;
  how.follow_links = how.allow_directory = !options.file.empty();  // typed: as flock(1)
  open_lock_file(lock, path, how, "lock file", k_exit_usage);

  auto start = Clock::now();
  int err = lock.try_lock(FileLock::Mode::exclusive);
  bool waited = false;
  if (err == EWOULDBLOCK) {
    waited = true;
    bool forever = options.wait_seconds < 0;
    auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(forever ? 0 : options.wait_seconds));
    if (!options.quiet && options.wait_seconds != 0)
      spdlog::info("[WAIT] waiting for {}, which holds {}",
                   describe_holder(parse_holder_record(lock.read_record())), path);
    long announced = 0;
    for (;;) {
      auto now = Clock::now();
      if (!forever && now >= deadline) {
        err = ETIMEDOUT;
        break;
      }
      auto tick = std::chrono::milliseconds(1000);
      if (!forever)
        tick =
            std::min(tick, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                               std::chrono::milliseconds(1));
      err = lock.lock(FileLock::Mode::exclusive, tick);
      if (err != ETIMEDOUT) break;
      long elapsed = static_cast<long>(
          std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count());
      if (!options.quiet && elapsed > announced && is_announce_second(elapsed)) {
        announced = elapsed;
        spdlog::info("[WAIT] waiting for {} ... {}s",
                     describe_holder(parse_holder_record(lock.read_record())), elapsed);
      }
    }
  }
  if (err == ETIMEDOUT) {
    spdlog::error("gave up after {}s waiting for {} to release {}; not running: {}",
                  options.wait_seconds, describe_holder(parse_holder_record(lock.read_record())),
                  path, join_command(options.command));
    return options.conflict_exit_code;
  }
  if (err != 0) {
    if (is_lock_unsupported(err))
      throw Error(fmt::format("lock file {}: this file system does not support locks ({}); "
                              "use --file to put the lock elsewhere",
                              path, errno_text(err)),
                  k_exit_usage);
    throw Error(fmt::format("lock file {}: {}", path, errno_text(err)), k_exit_usage);
  }
  if (waited && !options.quiet) {
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    spdlog::info("[LOCK] got {} after {:.1f}s", path, secs);
  }

  HolderRecord me;
  me.pid = current_pid();
  me.host = host_name();
  me.start_ticks = process_start_time(me.pid).value_or(0);
  me.since = static_cast<std::int64_t>(std::time(nullptr));
  me.command = join_command(options.command);
  lock.write_record(format_holder_record(me));  // best effort: a read-only lock file still locks
  lock.set_inheritable(true);

  ChildResult child = run_child(options.command);

  lock.write_record("");  // only the signature stays: nobody holds it
  lock.unlock();
  log_spawn_error(options.command, child);
  return child.status;
}

}  // namespace pycache_clean
