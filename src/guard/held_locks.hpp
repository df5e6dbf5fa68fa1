#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "platform/file_lock.hpp"
#include "platform/process.hpp"

namespace pycache_clean {

// The environment variable through which a holder tells its descendants which
// locks it holds: `DEV:INO:MODE:PID:START` entries separated by `;` (MODE `x`
// exclusive or `s` shared; START the holder's process start time).
inline constexpr const char* k_held_locks_env = "PYCACHE_CLEAN_LOCKS";

struct HeldLock {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool exclusive = false;
  long pid = 0;
  std::uint64_t start = 0;
};

std::vector<HeldLock> parse_held_locks(const std::string& text);
std::string format_held_lock(const HeldLock& held);

// The entry of $PYCACHE_CLEAN_LOCKS for the file `lock` has open, when its
// holder is still alive (same start time) and an ancestor of this process:
// the lock is then held on our behalf, and waiting for it would wait for
// ourselves. A stale or forged entry (a dead holder, a reused pid, a process
// that is not our ancestor) is ignored.
std::optional<HeldLock> held_by_ancestor(const FileLock& lock);

// $PYCACHE_CLEAN_LOCKS for the children of process `holder`, which holds
// `lock` in `mode`: the inherited entries plus this one.
EnvChanges pass_down(const FileLock& lock, FileLock::Mode mode, long holder);
// The same for several locks held by `holder`, each in its mode.
EnvChanges pass_down(const std::vector<std::pair<const FileLock*, FileLock::Mode>>& locks,
                     long holder);

}  // namespace pycache_clean
