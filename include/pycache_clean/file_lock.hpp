#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pycache_clean {

// A kernel advisory lock on a file: flock(2) on POSIX (so it excludes and is
// excluded by util-linux flock(1) on the same file), LockFileEx on Windows.
// The kernel drops it when the holder dies in any way: it is never stale.
class FileLock {
 public:
  enum class Mode { exclusive, shared };

  FileLock() = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  ~FileLock();

  // Opens (creating if missing, never truncating) `path`. Returns 0 or errno.
  int open(const std::string& path);
  // Opens `path` only when it exists (ENOENT otherwise), read-only.
  int open_existing(const std::string& path);
  // Takes the lock without waiting: 0, EWOULDBLOCK when held elsewhere, or errno.
  int try_lock(Mode mode);
  // Waits for the lock at most `timeout` (negative: forever): 0, ETIMEDOUT, or
  // errno. Waits blocked in the kernel, so the kernel's queue keeps it fair.
  int lock(Mode mode, std::chrono::milliseconds timeout);
  void unlock();
  // Replaces the file's content by `text` (the holder record); returns 0 or errno.
  int write_record(const std::string& text);
  // The file's content (at most 4 KiB).
  std::string read_record() const;
  // Lets child processes inherit the lock (they then keep it alive as well).
  void set_inheritable(bool inheritable);
  bool is_open() const { return m_fd >= 0; }
  // The open descriptor/handle, for platform code only.
  std::intptr_t native() const { return m_fd; }

 private:
  std::intptr_t m_fd = -1;
};

// True for the errors a file system without lock support gives.
bool is_lock_unsupported(int err);

}  // namespace pycache_clean
