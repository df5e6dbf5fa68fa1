// Nested use of one lock: a `lock` started under a holder of the same file.
//
// flock(2) locks belong to open file descriptions, so a child that opens the
// lock file again and asks for it waits for its own ancestor: the git hook
// that runs `pycache-clean lock -- "$0.real"`, around a pre-commit hook whose
// entry is `pycache-clean lock -- black`, would wait until it gave up. Each
// holder therefore names what it holds in the environment it passes to its
// command (device and inode of the file, the mode, its pid and start time).
// A descendant trusts an entry only when the file is the one it opened and
// the named process is alive, started when the entry says, and is one of its
// own ancestors: nothing is guessed from names or paths, and an entry copied
// into an unrelated environment is worth nothing.
#include "guard/held_locks.hpp"

#include <cstdlib>
#include <set>

#include <fmt/format.h>

namespace pycache_clean {

namespace {

bool parse_number(const std::string& text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  out = std::strtoull(text.c_str(), nullptr, 10);
  return true;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

// Whether `pid` is a proper ancestor of this process (bounded: a cycle in a
// racing process table cannot loop).
bool is_ancestor(long pid) {
  std::set<long> seen;
  long at = current_pid();
  for (int depth = 0; depth < 4096 && at > 1 && seen.insert(at).second; ++depth) {
    auto parent = parent_process(at);
    if (!parent || *parent <= 0) return false;
    if (*parent == pid) return true;
    at = *parent;
  }
  return false;
}

}  // namespace

std::vector<HeldLock> parse_held_locks(const std::string& text) {
  std::vector<HeldLock> out;
  for (const auto& entry : split(text, ';')) {
    auto f = split(entry, ':');
    HeldLock h;
    std::uint64_t pid = 0;
    if (f.size() != 5 || (f[2] != "x" && f[2] != "s") || !parse_number(f[0], h.device) ||
        !parse_number(f[1], h.inode) || !parse_number(f[3], pid) || !parse_number(f[4], h.start) ||
        pid == 0 || pid > 0x7fffffff)
      continue;
    h.exclusive = f[2] == "x";
    h.pid = static_cast<long>(pid);
    out.push_back(h);
  }
  return out;
}

std::string format_held_lock(const HeldLock& h) {
  return fmt::format("{}:{}:{}:{}:{}", h.device, h.inode, h.exclusive ? "x" : "s", h.pid, h.start);
}

std::optional<HeldLock> held_by_ancestor(const FileLock& lock) {
  const char* env = std::getenv(k_held_locks_env);
  std::uint64_t device = 0, inode = 0;
  if (!env || lock.identity(device, inode) != 0) return std::nullopt;
  for (const auto& h : parse_held_locks(env)) {
    if (h.device != device || h.inode != inode) continue;
    if (process_start_time(h.pid).value_or(0) != h.start || !is_ancestor(h.pid)) continue;
    return h;
  }
  return std::nullopt;
}

EnvChanges pass_down(const std::vector<std::pair<const FileLock*, FileLock::Mode>>& locks,
                     long holder) {
  const char* env = std::getenv(k_held_locks_env);
  std::string value;
  if (env)
    for (const auto& kept : parse_held_locks(env)) value += format_held_lock(kept) + ";";
  std::uint64_t start = process_start_time(holder).value_or(0);
  for (const auto& [lock, mode] : locks) {
    HeldLock h;
    h.exclusive = mode == FileLock::Mode::exclusive;
    h.pid = holder;
    h.start = start;
    if (lock->identity(h.device, h.inode) != 0) return {};
    value += format_held_lock(h) + ";";
  }
  if (!value.empty()) value.pop_back();  // the last ";"
  return {{k_held_locks_env, value}};
}

EnvChanges pass_down(const FileLock& lock, FileLock::Mode mode, long holder) {
  return pass_down({{&lock, mode}}, holder);
}

}  // namespace pycache_clean
