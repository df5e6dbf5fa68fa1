#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

// The file-system seam. Every walk and delete goes through FsOps, handle-relative
// (openat/unlinkat on POSIX), so that no path string is ever re-resolved and so
// that unit tests can inject a failure on the Nth call of any operation.
namespace pycache_clean {

// An open directory: a file descriptor on POSIX. -1 is "none".
using Handle = std::intptr_t;
inline constexpr Handle k_no_handle = -1;

enum class EntryType : std::uint8_t { unknown, directory, file, symlink, other };

// One batch of the entries of a directory ("." and ".." left out), names
// packed in one buffer that is reused between reads so that a walk allocates
// almost nothing. A batch holds about k_batch_entries entries at most (as
// gnulib fts reads a bounded number at a time), so memory never grows with
// the size of one directory; at_end() says that the directory has no more.
class DirListing {
 public:
  static constexpr std::size_t k_batch_entries = 4096;
  struct Entry {
    std::uint32_t offset;
    std::uint32_t length;
    EntryType type;
  };
  void clear() {
    m_names.clear();
    m_entries.clear();
    m_at_end = false;
  }
  void set_at_end() { m_at_end = true; }
  bool at_end() const { return m_at_end; }
  bool full() const { return m_entries.size() >= k_batch_entries; }
  void add(std::string_view name, EntryType type) {
    m_entries.push_back({static_cast<std::uint32_t>(m_names.size()),
                         static_cast<std::uint32_t>(name.size()), type});
    m_names.append(name.data(), name.size());
    m_names.push_back('\0');
  }
  std::size_t size() const { return m_entries.size(); }
  bool empty() const { return m_entries.empty(); }
  // NUL-terminated name of entry `i`.
  const char* name(std::size_t i) const { return m_names.data() + m_entries[i].offset; }
  std::string_view name_view(std::size_t i) const {
    return {m_names.data() + m_entries[i].offset, m_entries[i].length};
  }
  EntryType type(std::size_t i) const { return m_entries[i].type; }

 private:
  std::string m_names;
  std::vector<Entry> m_entries;
  bool m_at_end = false;
};

// Which directory an open handle is: its device (file system) and inode.
struct DirIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool same_dir(const DirIdentity& o) const { return device == o.device && inode == o.inode; }
};

// A path that had to be left (kept, unreadable, missing), with the system's
// reason (an errno value).
struct PathProblem {
  std::string path;
  int error = 0;
};

struct FileStat {
  EntryType type = EntryType::unknown;
  std::int64_t size = 0;
  std::int64_t mtime_sec = 0;
  std::int64_t mtime_nsec = 0;
  std::int64_t ctime_sec = 0;
  std::int64_t ctime_nsec = 0;
};

// The file system a directory lies on, as far as the width of a walk depends
// on it. `latency_bound`: each operation is a round trip to a server or to a
// daemon in user space (NFS, SMB, FUSE such as sshfs or virtiofs, 9p such as
// WSL2's /mnt/c, cluster file systems), so the number of requests in flight,
// not the number of cores, decides the speed.
struct FileSystemKind {
  const char* name = nullptr;  // "nfs", "fuse", ...; null when not known
  bool latency_bound = false;
};

// Low-level operations return 0 or an errno value, or a Result when they
// produce something; expected failures (EACCES, EBUSY, ENOENT) are values,
// never exceptions.
class FsOps {
 public:
  virtual ~FsOps() = default;
  // Opens the directory at `path` as named by the user (a symlink named on the
  // command line is followed, like `find -H`).
  virtual Result<Handle> open_root(const std::string& path) = 0;
  // Opens directory `name` inside `parent` without following a symlink there.
  // ELOOP/ENOTDIR mean "not a directory (any more)".
  virtual Result<Handle> open_dir(Handle parent, const char* name) = 0;
  // open_dir that also refuses to cross into another mount: `name` being a
  // mount point (a bind mount of the same file system included) fails with
  // k_err_mount_point, and one whose mount cannot be established with
  // k_err_mount_unknown. Linux: openat2 RESOLVE_NO_XDEV, no extra system
  // call; on older kernels the mount ids of both directories.
  virtual Result<Handle> open_dir_same_mount(Handle parent, const char* name) = 0;
  virtual void close(Handle h) = 0;
  // Replaces `out` by the next batch of entries of `dir` (the first batch on a
  // freshly opened handle), setting out.at_end() once the directory is
  // exhausted. Returns 0 or errno.
  virtual int read_dir(Handle dir, DirListing& out) = 0;
  // Where directory `dir` lives. Returns 0 or errno.
  virtual int identify(Handle dir, DirIdentity& out) = 0;
  // What file system `dir` lies on; unknown (not latency-bound) by default.
  virtual FileSystemKind file_system_kind(Handle dir);
  // Removes `name` inside `parent`: a directory (must be empty) when `directory`.
  virtual int remove(Handle parent, const char* name, bool directory) = 0;
  // lstat of `name` inside `parent` (never follows a symlink).
  virtual int stat(Handle parent, const char* name, FileStat& out) = 0;
  // stat of `name` inside `parent`, following a symlink (as CPython stats a
  // source); for facts only, never for what is walked or removed.
  virtual int stat_follow(Handle parent, const char* name, FileStat& out) = 0;
  // Opens regular file `name` inside `parent` (never following a link, never
  // blocking on a FIFO), fills `st` from the open file, and reads its first
  // min(`capacity`, st.size) bytes into `buffer`, setting `got`: one open,
  // one fstat and (for a file that fits) one read.
  virtual int read_head(Handle parent, const char* name, char* buffer, std::size_t capacity,
                        std::size_t& got, FileStat& st) = 0;
  // Reads at most `capacity` bytes of regular file `name` inside `parent`,
  // from `offset` on, into `buffer`, setting `got` (0 at its end); never
  // follows a link. For reading a large file a window at a time.
  virtual int read_at(Handle parent, const char* name, std::uint64_t offset, char* buffer,
                      std::size_t capacity, std::size_t& got) = 0;
  // Hands at most `max_bytes` of regular file `name` inside `parent` to
  // `sink` in chunks of at most 64 KiB (memory stays fixed whatever the
  // file's size); never follows a link, never blocks on a FIFO. The one
  // reading primitive each file system implements.
  using ChunkSink = std::function<void(const char* data, std::size_t size)>;
  virtual int read_bounded(Handle parent, const char* name, std::size_t max_bytes,
                           const ChunkSink& sink) = 0;
  // Reads at most `max_bytes` of regular file `name` inside `parent` into
  // `out` (read_bounded, gathered).
  virtual int read_file(Handle parent, const char* name, std::string& out, std::size_t max_bytes);
  // Reads all of regular file `name` inside `parent` (read_bounded, no bound).
  virtual int read_file_chunks(Handle parent, const char* name, const ChunkSink& sink);
  // read_file_chunks for a source, through a symbolic link as CPython's
  // open does (stat_follow's rule); for facts only.
  virtual int read_source(Handle parent, const char* name, const ChunkSink& sink) = 0;
  // Whether entry `name` inside `parent` (never followed) belongs to the
  // user this process runs as: its owner is our effective uid (POSIX), or a
  // SID our token holds (Windows: the user, or Administrators when elevated).
  virtual int owned_by_caller(Handle parent, const char* name, bool& mine) = 0;
};

// The one rule for an entry whose listed type may be stale or unknown, used by
// every walk and removal (after Rust's remove_dir_all, post-CVE-2022-21658):
// a known type from the listing is taken as it is, because whatever acts on it
// next (open_dir with O_NOFOLLOW, unlinkat) fails safely if it changed; an
// unknown type is looked up without following links. Returns the type, or
// ENOENT when the entry vanished (someone else removed it: not an error),
// another errno when it cannot be looked at.
Result<EntryType> resolve_entry_type(FsOps& fs, Handle parent, const char* name, EntryType listed);

// The real file system of this platform.
FsOps& real_fs();

// A new temporary file, open for reading and writing, that the system
// removes once it is closed (or the process ends); null when none can be
// made. For spilling what must not be held in memory.
std::FILE* open_anonymous_temp_file();

// CPython's importlib SOURCE_SUFFIXES on this platform: {".py"} on POSIX,
// {".py", ".pyw"} on Windows.
const std::vector<std::string>& source_suffixes();

// The device (file system) holding `path`, without following a final symlink;
// empty when unknown (Windows) or when `path` cannot be looked at.
std::optional<std::uint64_t> path_device(const std::string& path);
// Whether `path` (not followed) belongs to the user running us; as root under
// sudo, to the user in $SUDO_UID (git's is_path_owned_by_current_uid). Always
// true where ownership is not checked (Windows).
bool is_owned_by_current_user(const std::string& path);

// Owns a handle and closes it through its FsOps.
class ScopedHandle {
 public:
  ScopedHandle(FsOps& fs, Handle h) : m_fs(&fs), m_h(h) {}
  // Owns what an open returned: the handle, or nothing and why (error()).
  ScopedHandle(FsOps& fs, const Result<Handle>& opened)
      : m_fs(&fs), m_h(opened.value_or(k_no_handle)), m_err(opened.error()) {}
  ScopedHandle(const ScopedHandle&) = delete;
  ScopedHandle& operator=(const ScopedHandle&) = delete;
  ~ScopedHandle() {
    if (m_h != k_no_handle) m_fs->close(m_h);
  }
  Handle get() const { return m_h; }
  explicit operator bool() const { return m_h != k_no_handle; }
  // Why the open failed (0 when it did not, or when built from a Handle).
  int error() const { return m_err; }

 private:
  FsOps* m_fs;
  Handle m_h;
  int m_err = 0;
};

}  // namespace pycache_clean
