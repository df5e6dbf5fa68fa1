// FileLock on POSIX with flock(2). A bounded wait blocks in flock itself and is
// interrupted by a one-shot ITIMER_REAL (SIGALRM handled without SA_RESTART),
// so the waiter stays in the kernel's queue instead of polling.
#include <pycache_clean/file_lock.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

int FileLock::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
  if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EISDIR)) {
    int write_err = errno;
    // flock(1) opens read-only; a lock on a read-only descriptor works the same.
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return errno == ENOENT ? write_err : errno;
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd);
      return EISDIR;
    }
  }
  if (fd < 0) return errno;
  m_fd = fd;
  return 0;
}

int FileLock::open_existing(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errno;
  m_fd = fd;
  return 0;
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
  if (::ftruncate(fd_of(m_fd), 0) != 0) return errno;
  if (!text.empty() && ::pwrite(fd_of(m_fd), text.data(), text.size(), 0) < 0) return errno;
  return 0;
}

std::string FileLock::read_record() const {
  char buf[4096];
  ssize_t n = ::pread(fd_of(m_fd), buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
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
