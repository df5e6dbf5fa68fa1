// FileLock on POSIX with flock(2). A bounded wait blocks in flock itself and is
// interrupted by a one-shot ITIMER_REAL (SIGALRM handled without SA_RESTART),
// so the waiter stays in the kernel's queue instead of polling.
#include "platform/file_lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#if defined(__linux__)
#include <sys/sysmacros.h>
#endif
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/log.hpp"
#include "util/result.hpp"

namespace pycache_clean {

namespace {

void on_alarm(int) {}

int fd_of(std::intptr_t fd) {
  return static_cast<int>(fd);
}

}  // namespace

FileLock::FileLock(FileLock&& other) noexcept : m_fd(other.m_fd) {
  other.m_fd = -1;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(fd_of(m_fd));
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) ::close(fd_of(m_fd));
}

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// Checks what `fd` (or, before opening, `st`) is; 0 or the error open() returns.
int check_type(const struct stat& st, const LockFileOpen& how, const char*& refused) {
  if (S_ISREG(st.st_mode)) return 0;
  if (S_ISDIR(st.st_mode)) return how.allow_directory ? 0 : EISDIR;
  refused = kind_of(st.st_mode);
  return k_err_not_lockable;
}

bool starts_with_signature(int fd) {
  std::size_t n = std::strlen(k_lock_record_signature);
  char buf[64];
  ssize_t got = ::pread(fd, buf, n, 0);
  return got == static_cast<ssize_t>(n) && std::memcmp(buf, k_lock_record_signature, n) == 0;
}

}  // namespace

namespace {

// The directory `path` lies in, looked at (following links, as the open did).
bool stat_directory_of(const std::string& path, struct stat& out) {
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  return ::stat(dir.c_str(), &out) == 0;
}

// Where a lock file of ours goes once root has created it: to the owner of
// the directory it lies in (the repository's owner, whose runs must be able
// to open it), unless that is root too.
void give_to_directory_owner(int fd, const std::string& path, const struct stat& dir) {
  if (::geteuid() != 0 || dir.st_uid == 0) return;
  if (::fchown(fd, dir.st_uid, dir.st_gid) != 0)
    log_debug("{}: could not give it to the directory's owner (uid {})", path, dir.st_uid);
}

}  // namespace

namespace {

// Opens `path` for a lock: created (O_EXCL) when missing and `how` allows,
// else the existing file, read-only where it may not be written (as
// flock(1) does). Returns the descriptor, or why there is none; `created`
// says whether this call made the file.
Result<int> open_lock_path(const std::string& path, const LockFileOpen& how, bool& created) {
  int base = O_NOCTTY | O_CLOEXEC | O_NONBLOCK | (how.follow_links ? 0 : O_NOFOLLOW);
  // A file the user names is created as flock(1) creates it; one of ours,
  // for its owner alone.
  mode_t create_mode = how.private_default ? 0600 : 0666;
  created = false;
  int create_err = ENOENT;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (how.create) {
      int fd = ::open(path.c_str(), base | O_RDWR | O_CREAT | O_EXCL, create_mode);
      if (fd >= 0) {
        created = true;
        return fd;
      }
      if (errno != EEXIST) {
        if (errno != EACCES && errno != EROFS) return Failed{errno};
        create_err = errno;  // may not create here; an existing file still locks
      }
    }
    int fd = ::open(path.c_str(), base | O_RDWR);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EISDIR))
      fd = ::open(path.c_str(), base | O_RDONLY);  // a read-only descriptor locks the same
    if (fd >= 0) return fd;
    if (!(errno == ENOENT && how.create)) return Failed{errno};
    // ENOENT after a refused create: missing and not creatable, or a removal raced us.
  }
  return Failed{create_err};
}

// Whether the lock file `fd` (at `path`, as `st` shows it, `created` by
// this open) is ours to write a record into; settles what is ours to
// settle: a new one goes to the directory's owner `dir` (when root made it),
// an older signed one is narrowed to its owner, an empty one is signed.
bool settle_ownership(int fd, const std::string& path, const LockFileOpen& how,
                      const struct stat& st, bool created, const struct stat* dir) {
  int access = ::fcntl(fd, F_GETFL) & O_ACCMODE;
  bool mine =
      access == O_RDWR && S_ISREG(st.st_mode) && st.st_nlink == 1 && st.st_uid == ::geteuid();
  bool signed_before = !created && starts_with_signature(fd);
  // An empty file of ours at a path we chose was created on a full file
  // system: its signature is written now that there may be room.
  bool adopt = how.private_default && mine && !created && st.st_size == 0;
  bool owns_content = mine && (created || signed_before || adopt);
  if (created && dir) give_to_directory_owner(fd, path, *dir);
  if (how.private_default && mine && signed_before && (st.st_mode & 077) != 0 &&
      ::fchmod(fd, st.st_mode & 0700) != 0)
    log_debug("{}: could not narrow its mode to its owner", path);
  // The signature is best effort: a lock file without one still locks.
  if ((created || adopt) &&
      ::pwrite(fd, k_lock_record_signature, std::strlen(k_lock_record_signature), 0) < 0)
    log_debug("{}: could not write the lock file's signature ({})", path, errno_text(errno));
  return owns_content;
}

}  // namespace

int FileLock::open(const std::string& path, const LockFileOpen& how) {
  // Look before opening: opening a device can have side effects, and a FIFO
  // would block a reader. The descriptor is checked again after opening.
  struct stat before;
  int stat_flags = how.follow_links ? 0 : AT_SYMLINK_NOFOLLOW;
  if (::fstatat(AT_FDCWD, path.c_str(), &before, stat_flags) == 0) {
    if (S_ISLNK(before.st_mode)) return ELOOP;
    if (int err = check_type(before, how, m_refused_kind)) return err;
  }
  bool created = false;
  Result<int> opened = open_lock_path(path, how, created);
  if (!opened) return opened.error();
  int fd = *opened;
  int err = 0;
  struct stat st;
  if (::fstat(fd, &st) != 0 || (err = check_type(st, how, m_refused_kind)) != 0) {
    err = err != 0 ? err : errno;
    ::close(fd);
    return err;
  }
  uid_t me = ::geteuid();
  // Trusted owners of a file at a path we chose: us, root, and the owner of
  // its directory (the repository's, who could replace the file anyway).
  struct stat dir {};
  bool have_dir = how.private_default && stat_directory_of(path, dir);
  if (how.private_default && !created && st.st_uid != me && st.st_uid != 0 &&
      !(have_dir && st.st_uid == dir.st_uid)) {
    m_foreign_owner = static_cast<long>(st.st_uid);
    ::close(fd);
    return k_err_foreign_owner;
  }
  if (m_fd >= 0) ::close(fd_of(m_fd));
  m_fd = fd;
  m_owns_content = settle_ownership(fd, path, how, st, created, have_dir ? &dir : nullptr);
  return 0;
}

std::vector<LockHolder> FileLock::holders() const {
  std::vector<LockHolder> out;
#if defined(__linux__)
  struct stat st;
  if (m_fd < 0 || ::fstat(fd_of(m_fd), &st) != 0) return out;
  std::FILE* f = std::fopen("/proc/locks", "re");
  if (!f) return out;
  // "1: FLOCK  ADVISORY  WRITE 4242 08:01:131 0 EOF"; a waiter's line has "->".
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    char kind[16], advisory[16], mode[16];
    long pid = 0;
    unsigned major_dev = 0, minor_dev = 0;
    unsigned long long inode = 0;
    if (std::strstr(line, "->")) continue;
    if (std::sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, advisory, mode, &pid,
                    &major_dev, &minor_dev, &inode) != 7)
      continue;
    if (std::strcmp(kind, "FLOCK") != 0 || inode != static_cast<unsigned long long>(st.st_ino) ||
        major_dev != major(st.st_dev) || minor_dev != minor(st.st_dev))
      continue;
    LockHolder h;
    h.pid = pid;
    h.exclusive = std::strcmp(mode, "WRITE") == 0;
    struct stat proc;
    std::string dir = "/proc/" + std::to_string(pid);
    if (pid > 0 && ::stat(dir.c_str(), &proc) == 0) h.uid = static_cast<long>(proc.st_uid);
    out.push_back(h);
  }
  std::fclose(f);
#endif
  return out;
}

int FileLock::try_lock(Mode mode) {
  int op = (mode == Mode::exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  while (::flock(fd_of(m_fd), op) != 0) {
    if (errno == EINTR) continue;
    return errno == EAGAIN ? EWOULDBLOCK : errno;
  }
  return 0;
}

int FileLock::lock(Mode mode, std::chrono::milliseconds timeout) {
  int op = mode == Mode::exclusive ? LOCK_EX : LOCK_SH;
  if (timeout.count() < 0) {
    while (::flock(fd_of(m_fd), op) != 0)
      if (errno != EINTR) return errno;
    return 0;
  }
  if (timeout.count() == 0) {
    int r = try_lock(mode);
    return r == EWOULDBLOCK ? ETIMEDOUT : r;
  }

  struct sigaction action {};
  struct sigaction previous {};
  action.sa_handler = on_alarm;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: flock returns EINTR when the timer fires
  ::sigaction(SIGALRM, &action, &previous);
  struct itimerval timer {};
  timer.it_value.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  timer.it_value.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setitimer(ITIMER_REAL, &timer, nullptr);
  int result = 0;
  if (::flock(fd_of(m_fd), op) != 0) result = errno == EINTR ? ETIMEDOUT : errno;
  struct itimerval off {};
  ::setitimer(ITIMER_REAL, &off, nullptr);
  ::sigaction(SIGALRM, &previous, nullptr);
  if (result == ETIMEDOUT && try_lock(mode) == 0) result = 0;  // freed just as the timer fired
  return result;
}

void FileLock::unlock() {
  if (m_fd >= 0) ::flock(fd_of(m_fd), LOCK_UN);
}

int FileLock::write_record(const std::string& text) {
  if (!m_owns_content) return EPERM;
  std::string content = std::string(k_lock_record_signature) + text;
  if (::pwrite(fd_of(m_fd), content.data(), content.size(), 0) < 0) return errno;
  if (::ftruncate(fd_of(m_fd), static_cast<off_t>(content.size())) != 0) return errno;
  return 0;
}

std::string FileLock::read_record() const {
  char buf[4096];
  if (!starts_with_signature(fd_of(m_fd))) return {};
  ssize_t n = ::pread(fd_of(m_fd), buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

int FileLock::identity(std::uint64_t& device, std::uint64_t& inode) const {
  struct stat st;
  if (m_fd < 0 || ::fstat(fd_of(m_fd), &st) != 0) return m_fd < 0 ? EBADF : errno;
  device = static_cast<std::uint64_t>(st.st_dev);
  inode = static_cast<std::uint64_t>(st.st_ino);
  return 0;
}

void FileLock::set_inheritable(bool inheritable) {
  int flags = ::fcntl(fd_of(m_fd), F_GETFD);
  if (flags < 0) return;
  ::fcntl(fd_of(m_fd), F_SETFD, inheritable ? (flags & ~FD_CLOEXEC) : (flags | FD_CLOEXEC));
}

bool is_lock_unsupported(int err) {
  return err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL;
}

}  // namespace pycache_clean
