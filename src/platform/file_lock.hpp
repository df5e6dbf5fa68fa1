#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace pycache_clean {

// How a lock file is opened. Nothing here ever truncates or writes a file that
// pycache-clean did not create itself, and nothing blocks on opening: a FIFO,
// socket or device at the path is refused (it would hang a blocking open, or
// have side effects), never opened for reading.
struct LockFileOpen {
  // Create the file when it is missing.
  bool create = true;
  // Follow a symbolic link at the last component (a path the user typed, as
  // flock(1) does). Default paths are opened with O_NOFOLLOW: a link planted
  // there is refused.
  bool follow_links = false;
  // A directory may be locked (flock(1) allows it); only for a typed path.
  bool allow_directory = false;
  // A path pycache-clean chose itself (a default lock file or the pytest
  // marker), never one the user named. Such a file is created readable and
  // writable by its owner alone, so that no other user can open it to hold
  // its lock (root creating one gives it to the directory's owner, whose
  // repository it is); one of ours made more open by an older version is
  // narrowed; one owned by another user (neither root nor the directory's
  // owner) is refused with k_err_foreign_owner, since they could hold it for
  // as long as they like;
  // and an empty one of ours (created on a full file system, where its
  // signature could not be written) gets its signature now.
  bool private_default = false;
};

// A process holding a lock on a file, as the kernel lists it (Linux:
// /proc/locks, each lock under the pid that took it; that process may have
// ended while a child that inherited the descriptor keeps it).
struct LockHolder {
  long pid = 0;
  long uid = -1;  // the process's user; -1 when it is gone or cannot be seen
  bool exclusive = false;
};

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

  // Opens `path` as `how` says. Returns 0 or errno: ELOOP for a refused
  // symbolic link, EISDIR for a refused directory, and k_err_not_lockable (see
  // below) for a FIFO, socket or device, whose kind `refused_kind()` names.
  int open(const std::string& path, const LockFileOpen& how);
  // Takes the lock without waiting: 0, EWOULDBLOCK when held elsewhere, or errno.
  int try_lock(Mode mode);
  // Waits for the lock at most `timeout` (negative: forever): 0, ETIMEDOUT, or
  // errno. Waits blocked in the kernel, so the kernel's queue keeps it fair.
  int lock(Mode mode, std::chrono::milliseconds timeout);
  void unlock();
  // Whether the holder record may be written: the file was created by
  // pycache-clean (now, or earlier: it starts with the record signature), is
  // a regular file with a single link and, on POSIX, is ours.
  bool owns_content() const { return m_owns_content; }
  // Replaces the file's content by the signature plus `text`, only when
  // owns_content(); returns 0, EPERM when the file is not ours, or errno.
  int write_record(const std::string& text);
  // The file's content (at most 4 KiB), or empty when it is not a record file.
  std::string read_record() const;
  // The file's identity (device and inode; on Windows volume serial and file
  // index): how nested users recognise the same lock file. 0 or errno.
  int identity(std::uint64_t& device, std::uint64_t& inode) const;
  // Lets child processes inherit the lock (they then keep it alive as well).
  void set_inheritable(bool inheritable);
  // "a FIFO", "a socket", "a device" after open() refused one.
  const char* refused_kind() const { return m_refused_kind; }
  // The owner of the file open() refused with k_err_foreign_owner.
  long foreign_owner() const { return m_foreign_owner; }
  // Who holds locks on this file now (empty where the platform cannot tell).
  std::vector<LockHolder> holders() const;

 private:
  std::intptr_t m_fd = -1;
  bool m_owns_content = false;
  const char* m_refused_kind = "";
  long m_foreign_owner = -1;
};

// The first line of every lock file pycache-clean writes a record into.
inline constexpr const char* k_lock_record_signature = "pycache-clean lock file\n";

// True for the errors a file system without lock support gives.
bool is_lock_unsupported(int err);

}  // namespace pycache_clean
