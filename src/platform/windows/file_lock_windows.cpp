// FileLock on Windows with LockFileEx.
//
// The locked range is one byte far past the end of the file, not the record at
// its start: Windows byte-range locks are mandatory, so locking the record
// would stop waiters from reading who holds the lock. Windows has no blocking
// lock with a timeout, so a bounded wait polls with LOCKFILE_FAIL_IMMEDIATELY,
// backing off from 1 ms to 50 ms with jitter (several waiters do not retry in
// step); an unbounded wait blocks in the kernel.
//
// The lock belongs to the handle in this process: unlike flock(2) it is not
// kept alive by a child that inherited the handle. It is released when this
// process exits in any way.
#include "platform/file_lock.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <thread>

#include "win32.hpp"

namespace pycache_clean {

namespace {

HANDLE handle_of(std::intptr_t h) {
  return reinterpret_cast<HANDLE>(h);
}

constexpr DWORD k_range_offset_high = 0x7FFFFFFF;  // 2^62 and up: never file data
constexpr DWORD k_share_all = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

OVERLAPPED lock_range() {
  OVERLAPPED o{};
  o.Offset = 0;
  o.OffsetHigh = k_range_offset_high;
  return o;
}

// Opens `path` without following a reparse point unless `follow`; 0 or errno.
int open_handle(const std::string& path, DWORD access, DWORD disposition, bool follow,
                std::intptr_t& out) {
  std::wstring wide = win::long_path(path);
  DWORD flags = FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS |
                (follow ? 0 : FILE_FLAG_OPEN_REPARSE_POINT);
  HANDLE h = CreateFileW(wide.c_str(), access, k_share_all, nullptr, disposition, flags, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD error = GetLastError();
    if (error == ERROR_FILE_EXISTS) return EEXIST;
    return win::errno_from_win32(error);
  }
  out = reinterpret_cast<std::intptr_t>(h);
  return 0;
}

bool starts_with_signature(HANDLE h) {
  std::size_t n = std::strlen(k_lock_record_signature);
  char buf[64];
  OVERLAPPED at_start{};
  DWORD got = 0;
  return ReadFile(h, buf, static_cast<DWORD>(n), &got, &at_start) && got == n &&
         std::memcmp(buf, k_lock_record_signature, n) == 0;
}

}  // namespace

FileLock::FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) {
  other.m_fd = -1;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) CloseHandle(handle_of(m_fd));
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) CloseHandle(handle_of(m_fd));
}

int FileLock::open(const std::string& path, const LockFileOpen& how) {
  std::intptr_t fd = -1;
  bool created = false;
  bool writable = true;
  int err = ENOENT;
  if (how.create) {
    err = open_handle(path, GENERIC_READ | GENERIC_WRITE, CREATE_NEW, how.follow_links, fd);
    created = err == 0;
  }
  if (err != 0 && (err == EEXIST || err == ENOENT || err == EACCES))
    err = open_handle(path, GENERIC_READ | GENERIC_WRITE, OPEN_EXISTING, how.follow_links, fd);
  if (err == EACCES || err == EROFS) {
    // A read-only lock file (or medium) still locks, as with flock(2).
    writable = false;
    err = open_handle(path, GENERIC_READ, OPEN_EXISTING, how.follow_links, fd);
  }
  if (err != 0) return err;
  HANDLE h = handle_of(fd);
  BY_HANDLE_FILE_INFORMATION info{};
  bool disk = GetFileType(h) == FILE_TYPE_DISK && GetFileInformationByHandle(h, &info);
  if (!disk || (!how.follow_links && (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT))) {
    m_refused_kind = disk ? "a link" : "a device";
    CloseHandle(h);
    return disk ? ELOOP : k_err_not_lockable;
  }
  if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) && !how.allow_directory) {
    CloseHandle(h);
    return EISDIR;
  }
  if (m_fd >= 0) CloseHandle(handle_of(m_fd));
  m_fd = fd;
  m_owns_content = writable && !(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) &&
                   info.nNumberOfLinks == 1 && (created || starts_with_signature(h));
  if (created) write_record("");
  return 0;
}

std::vector<LockHolder> FileLock::holders() const {
  return {};  // Windows lists no lock holders
}

int FileLock::try_lock(Mode mode) {
  OVERLAPPED o = lock_range();
  DWORD flags = LOCKFILE_FAIL_IMMEDIATELY | (mode == Mode::exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
  if (LockFileEx(handle_of(m_fd), flags, 0, 1, 0, &o)) return 0;
  DWORD error = GetLastError();
  return error == ERROR_LOCK_VIOLATION || error == ERROR_IO_PENDING ? EWOULDBLOCK
                                                                    : win::errno_from_win32(error);
}

int FileLock::lock(Mode mode, std::chrono::milliseconds timeout) {
  if (timeout.count() < 0) {
    OVERLAPPED o = lock_range();
    DWORD flags = mode == Mode::exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0;
    return LockFileEx(handle_of(m_fd), flags, 0, 1, 0, &o) ? 0
                                                           : win::errno_from_win32(GetLastError());
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::minstd_rand jitter(GetCurrentProcessId() ^ GetTickCount());
  std::chrono::milliseconds pause{1};
  for (;;) {
    int r = try_lock(mode);
    if (r != EWOULDBLOCK) return r;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return ETIMEDOUT;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    auto sleep = std::min(pause + std::chrono::milliseconds(jitter() % (pause.count() + 1)), left);
    std::this_thread::sleep_for(std::max(sleep, std::chrono::milliseconds(1)));
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

void FileLock::unlock() {
  if (m_fd < 0) return;
  OVERLAPPED o = lock_range();
  UnlockFileEx(handle_of(m_fd), 0, 1, 0, &o);
}

int FileLock::write_record(const std::string& text) {
  if (!m_owns_content) return EPERM;
  HANDLE h = handle_of(m_fd);
  std::string content = std::string(k_lock_record_signature) + text;
  LARGE_INTEGER zero{};
  DWORD written = 0;
  if (!SetFilePointerEx(h, zero, nullptr, FILE_BEGIN) ||
      !WriteFile(h, content.data(), static_cast<DWORD>(content.size()), &written, nullptr) ||
      !SetEndOfFile(h))
    return win::errno_from_win32(GetLastError());
  return 0;
}

std::string FileLock::read_record() const {
  char buf[4096];
  if (!starts_with_signature(handle_of(m_fd))) return {};
  OVERLAPPED at_start{};  // reads from offset 0 on a synchronous handle
  DWORD got = 0;
  if (!ReadFile(handle_of(m_fd), buf, sizeof buf, &got, &at_start)) return {};
  return std::string(buf, got);
}

int FileLock::identity(std::uint64_t& device, std::uint64_t& inode) const {
  BY_HANDLE_FILE_INFORMATION info{};
  if (m_fd < 0) return EBADF;
  if (!GetFileInformationByHandle(handle_of(m_fd), &info))
    return win::errno_from_win32(GetLastError());
  device = info.dwVolumeSerialNumber;
  inode = (static_cast<std::uint64_t>(info.nFileIndexHigh) << 32) | info.nFileIndexLow;
  return 0;
}

void FileLock::set_inheritable(bool inheritable) {
  SetHandleInformation(handle_of(m_fd), HANDLE_FLAG_INHERIT, inheritable ? HANDLE_FLAG_INHERIT : 0);
}

bool is_lock_unsupported(int err) {
  return err == EOPNOTSUPP || err == ENOSYS || err == ENOLCK;
}

}  // namespace pycache_clean
