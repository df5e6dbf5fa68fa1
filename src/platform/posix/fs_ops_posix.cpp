// FsOps on POSIX: openat/unlinkat/fstatat relative to directory descriptors.
//
// Directories are opened with O_NOFOLLOW|O_DIRECTORY, so a symlink at the last
// component fails with ELOOP (or ENOTDIR) instead of being followed, which is
// what makes the walk safe against a directory swapped for a symlink. On Linux
// entries are read with getdents64 into a per-thread 64 KiB buffer (twice
// glibc's readdir buffer: fewer system calls on large directories, and no DIR
// allocation per directory); elsewhere through fdopendir/readdir on a dup.
#include "fs/fs_ops.hpp"
#include "platform/path.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#if defined(__linux__)
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#endif

namespace pycache_clean {

namespace {

EntryType type_from_mode(mode_t mode) {
  if (S_ISDIR(mode)) return EntryType::directory;
  if (S_ISREG(mode)) return EntryType::file;
  if (S_ISLNK(mode)) return EntryType::symlink;
  return EntryType::other;
}

EntryType type_from_dtype(unsigned char d_type) {
  switch (d_type) {
    case DT_DIR:
      return EntryType::directory;
    case DT_REG:
      return EntryType::file;
    case DT_LNK:
      return EntryType::symlink;
    case DT_UNKNOWN:
      return EntryType::unknown;
    default:
      return EntryType::other;
  }
}

bool is_dot_or_dotdot(const char* n) {
  return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

int fd_of(Handle h) {
  return static_cast<int>(h);
}

#if defined(__linux__)
// The file systems where every metadata operation waits on a round trip, by
// the f_type statfs gives (the kernel's include/uapi/linux/magic.h and the
// out-of-tree ones' own headers). FUSE covers sshfs, virtiofs, Docker
// Desktop's gRPC FUSE, rclone and s3fs; 9p covers WSL2's /mnt/c.
FileSystemKind kind_of_magic(std::uint32_t magic) {
  struct Known {
    std::uint32_t magic;
    const char* name;
  };
  static constexpr Known k_latency_bound[] = {
      {0x6969, "nfs"},        {0x517B, "smb"},          {0xFF534D42, "cifs"},
      {0xFE534D42, "smb2"},   {0x65735546, "fuse"},     {0x01021997, "9p"},
      {0x00C36400, "ceph"},   {0x0BD00BD0, "lustre"},   {0x47504653, "gpfs"},
      {0x5346414F, "afs"},    {0x6B414653, "afs"},      {0x73757245, "coda"},
      {0x19830326, "beegfs"}, {0x20030528, "orangefs"}, {0xAAD7AAEA, "panfs"},
  };
  for (const Known& k : k_latency_bound)
    if (k.magic == magic) return {k.name, true};
  return {};
}
#endif

class PosixFs final : public FsOps {
 public:
  Result<Handle> open_root(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Failed{errno};
    return Handle{fd};
  }

  Result<Handle> open_dir(Handle parent, const char* name) override {
    int fd = ::openat(fd_of(parent), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Failed{errno};
    return Handle{fd};
  }

  Result<Handle> open_dir_same_mount(Handle parent, const char* name) override {
#if defined(__linux__) && defined(SYS_openat2)
    static std::atomic<bool> no_openat2{false};
    if (!no_openat2.load(std::memory_order_relaxed)) {
      struct open_how how {};
      how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      how.resolve = RESOLVE_NO_XDEV;
      long fd = ::syscall(SYS_openat2, fd_of(parent), name, &how, sizeof how);
      if (fd >= 0) return static_cast<Handle>(fd);
      if (errno == EXDEV) return Failed{k_err_mount_point};
      if (errno != ENOSYS && errno != EPERM && errno != EINVAL) return Failed{errno};
      no_openat2 = true;  // an older kernel, or a sandbox that forbids it
    }
#endif
    Result<Handle> dir = open_dir(parent, name);
    if (!dir) return dir;
    if (int status = mount_root_status(fd_of(parent), fd_of(*dir))) {
      close(*dir);
      return Failed{status};
    }
    return dir;
  }

  void close(Handle h) override {
    if (h != k_no_handle) ::close(fd_of(h));
  }

  int read_dir(Handle dir, DirListing& out) override {
    out.clear();
#if defined(__linux__)
    struct Buffer {
      alignas(8) char bytes[64 * 1024];
    };
    thread_local Buffer buffer;
    // Whole getdents64 buffers until the batch is full: the descriptor's
    // offset remembers where the next batch starts.
    while (!out.full()) {
      long n = ::syscall(SYS_getdents64, fd_of(dir), buffer.bytes, sizeof buffer.bytes);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      if (n == 0) {
        out.set_at_end();
        return 0;
      }
      for (long pos = 0; pos < n;) {
        // Layout of struct linux_dirent64 (getdents64(2)): ino, off, reclen, type, name.
        const char* rec = buffer.bytes + pos;
        unsigned short reclen;
        std::memcpy(&reclen, rec + 16, sizeof reclen);
        unsigned char d_type = static_cast<unsigned char>(rec[18]);
        const char* name = rec + 19;
        if (!is_dot_or_dotdot(name)) out.add(name, type_from_dtype(d_type));
        pos += reclen;
      }
    }
    return 0;
#else
    // readdir buffers ahead, so a batch is the whole directory here.
    out.set_at_end();
    int fd = ::dup(fd_of(dir));
    if (fd < 0) return errno;
    DIR* d = ::fdopendir(fd);
    if (!d) {
      int err = errno;
      ::close(fd);
      return err;
    }
    ::rewinddir(d);
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      if (!is_dot_or_dotdot(e->d_name)) out.add(e->d_name, type_from_dtype(e->d_type));
    }
    int err = errno;
    ::closedir(d);
    return err;
#endif
  }

  int identify(Handle dir, DirIdentity& out) override {
    struct stat st;
    if (::fstat(fd_of(dir), &st) != 0) return errno;
    out.device = static_cast<std::uint64_t>(st.st_dev);
    out.inode = static_cast<std::uint64_t>(st.st_ino);
    return 0;
  }

#if defined(__linux__)
  FileSystemKind file_system_kind(Handle dir) override {
    struct statfs st;
    if (::fstatfs(fd_of(dir), &st) != 0) return {};
    return kind_of_magic(static_cast<std::uint32_t>(st.f_type));
  }
#endif

  int remove(Handle parent, const char* name, bool directory) override {
    return ::unlinkat(fd_of(parent), name, directory ? AT_REMOVEDIR : 0) == 0 ? 0 : errno;
  }

  int stat(Handle parent, const char* name, FileStat& out) override {
    return stat_with(parent, name, out, AT_SYMLINK_NOFOLLOW);
  }

  int stat_follow(Handle parent, const char* name, FileStat& out) override {
    return stat_with(parent, name, out, 0);
  }

  int stat_with(Handle parent, const char* name, FileStat& out, int flags) {
    struct stat st;
    if (::fstatat(fd_of(parent), name, &st, flags) != 0) return errno;
    fill(st, out);
    return 0;
  }

  static void fill(const struct stat& st, FileStat& out) {
    out.type = type_from_mode(st.st_mode);
    out.size = st.st_size;
#if defined(__APPLE__)
    out.mtime_sec = st.st_mtimespec.tv_sec;
    out.mtime_nsec = st.st_mtimespec.tv_nsec;
    out.ctime_sec = st.st_ctimespec.tv_sec;
    out.ctime_nsec = st.st_ctimespec.tv_nsec;
#else
    out.mtime_sec = st.st_mtim.tv_sec;
    out.mtime_nsec = st.st_mtim.tv_nsec;
    out.ctime_sec = st.st_ctim.tv_sec;
    out.ctime_nsec = st.st_ctim.tv_nsec;
#endif
  }

  int read_head(Handle parent, const char* name, char* buffer, std::size_t capacity,
                std::size_t& got, FileStat& out) override {
    got = 0;
    int fd = ::openat(fd_of(parent), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return errno;
    struct stat st;
    int err = ::fstat(fd, &st) != 0 ? errno : (S_ISREG(st.st_mode) ? 0 : EINVAL);
    if (err == 0) fill(st, out);
    std::size_t want = std::min(capacity, static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)));
    while (err == 0 && got < want) {
      ssize_t n = ::read(fd, buffer + got, want - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) err = errno;
      if (n <= 0) break;  // shrunk since the fstat: what was read is all there is
      got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return err;
  }

  int read_at(Handle parent, const char* name, std::uint64_t offset, char* buffer,
              std::size_t capacity, std::size_t& got) override {
    got = 0;
    int fd = ::openat(fd_of(parent), name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return errno;
    struct stat st;
    int err = ::fstat(fd, &st) != 0 ? errno : (S_ISREG(st.st_mode) ? 0 : EINVAL);
    while (err == 0 && got < capacity) {
      ssize_t n = ::pread(fd, buffer + got, capacity - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) err = errno;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return err;
  }

  int read_bounded(Handle parent, const char* name, std::size_t max_bytes,
                   const ChunkSink& sink) override {
    return read_regular(parent, name, max_bytes, sink);
  }

  int read_source(Handle parent, const char* name, const ChunkSink& sink) override {
    return read_regular(parent, name, static_cast<std::size_t>(-1), sink, 0);
  }

  int owned_by_caller(Handle parent, const char* name, bool& mine) override {
    struct stat st;
    if (::fstatat(fd_of(parent), name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
    mine = st.st_uid == ::geteuid();
    return 0;
  }

 private:
  // Whether directory `dir`, just opened inside `parent`, is the root of a
  // mount, where openat2 could not say: 0 when it is not, k_err_mount_point
  // when it is, k_err_mount_unknown when nothing here can tell. A change of
  // device proves a mount point; the same device proves nothing (a bind
  // mount keeps it). Then, in turn: statx's STATX_ATTR_MOUNT_ROOT (Linux
  // 5.8), the mount ids in /proc/self/fdinfo (Linux 3.15, as systemd's
  // fd_is_mount_point falls back). glibc answers a statx the kernel lacks
  // (ENOSYS) from fstat, with an empty attribute mask: that says nothing.
  static int mount_root_status(int parent, int dir) {
    struct stat a, b;
    if (::fstat(parent, &a) != 0 || ::fstat(dir, &b) != 0) return k_err_mount_unknown;
    if (a.st_dev != b.st_dev) return k_err_mount_point;
#if defined(__linux__)
#if defined(STATX_ATTR_MOUNT_ROOT)
    struct statx sx;
    if (::statx(dir, "", AT_EMPTY_PATH, 0, &sx) == 0 &&
        (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
      return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0 ? k_err_mount_point : 0;
#endif
    long parent_mount = fdinfo_mount_id(parent);
    long dir_mount = parent_mount < 0 ? -1 : fdinfo_mount_id(dir);
    if (dir_mount >= 0) return dir_mount != parent_mount ? k_err_mount_point : 0;
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      log_warn(
          "this system cannot tell mount points apart (no openat2, no statx mount attribute, "
          "no /proc/self/fdinfo): directories inside caches are kept, never entered");
    return k_err_mount_unknown;
#else
    return 0;  // elsewhere a mount point always has a device of its own
#endif
  }

#if defined(__linux__)
  // The mount id of descriptor `fd` (`mnt_id:` of /proc/self/fdinfo/FD), or
  // -1 when /proc does not say.
  static long fdinfo_mount_id(int fd) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int info = ::open(path, O_RDONLY | O_CLOEXEC);
    if (info < 0) return -1;
    char text[512];
    ssize_t n = ::read(info, text, sizeof text - 1);
    ::close(info);
    if (n <= 0) return -1;
    text[n] = '\0';
    const char* at = std::strstr(text, "mnt_id:");
    if (!at) return -1;
    char* end = nullptr;
    long id = std::strtol(at + 7, &end, 10);
    return end == at + 7 ? -1 : id;
  }
#endif

  // Opens `name` without following a link (unless `follow` is 0) or blocking
  // (a FIFO), checks that it is a regular file, and passes at most
  // `max_bytes` of it to `sink`.
  template <typename Sink>
  int read_regular(Handle parent, const char* name, std::size_t max_bytes, const Sink& sink,
                   int follow = O_NOFOLLOW) {
    int fd = ::openat(fd_of(parent), name, O_RDONLY | follow | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return errno;
    struct stat st;
    int err = ::fstat(fd, &st) != 0 ? errno : (S_ISREG(st.st_mode) ? 0 : EINVAL);
    struct Buffer {
      char bytes[64 * 1024];
    };
    thread_local Buffer buffer;
    std::size_t done = 0;
    while (err == 0 && done < max_bytes) {
      std::size_t want = std::min(sizeof buffer.bytes, max_bytes - done);
      ssize_t n = ::read(fd, buffer.bytes, want);
      if (n < 0) {
        if (errno != EINTR) err = errno;
        continue;
      }
      if (n == 0) break;
      sink(buffer.bytes, static_cast<std::size_t>(n));
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return err;
  }
};

}  // namespace

FsOps& real_fs() {
  static PosixFs fs;
  return fs;
}

std::FILE* open_anonymous_temp_file() {
  return std::tmpfile();  // unlinked at once: nothing is left behind
}

bool is_path_separator(char c) {
  return c == '/';
}

bool is_absolute_path(const std::string& path) {
  return !path.empty() && path[0] == '/';
}

char path_list_separator() {
  return ':';
}

const std::vector<std::string>& source_suffixes() {
  static const std::vector<std::string> suffixes = {".py"};
  return suffixes;
}

std::optional<std::uint64_t> path_device(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_dev);
}

bool is_owned_by_current_user(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  uid_t me = ::geteuid();
  if (me == 0) {
    // Run through sudo: the repository is the invoking user's.
    if (const char* sudo_uid = std::getenv("SUDO_UID")) {
      char* end = nullptr;
      unsigned long id = std::strtoul(sudo_uid, &end, 10);
      if (end && *end == '\0' && end != sudo_uid) me = static_cast<uid_t>(id);
    }
  }
  return st.st_uid == me || (st.st_uid == 0 && ::geteuid() == 0);
}

std::string errno_text(int err) {
  if (err == k_err_mount_point) return "a mount point (another file system is never entered)";
  if (err == k_err_not_lockable) return "not a regular file";
  if (err == k_err_symlink) return "a symbolic link (never followed)";
  if (err == k_err_foreign_owner) return "owned by another user";
  if (err == k_err_mount_unknown)
    return "perhaps a mount point (this system cannot tell: no openat2, statx mount attribute "
           "or /proc/self/fdinfo), never entered";
  // strerror is not thread-safe; strerror_r's GNU and XSI variants differ, so
  // take whichever this libc provides.
  char buf[256] = {};
  auto r = ::strerror_r(err, buf, sizeof buf);
  if constexpr (std::is_same_v<decltype(r), char*>) {
    return r;
  } else {
    return r == 0 ? std::string(buf) : "error " + std::to_string(err);
  }
}

}  // namespace pycache_clean
