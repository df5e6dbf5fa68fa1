#pragma once

// MemFs: an in-memory file system behind the FsOps seam, for unit tests of
// the walk, the removal and the stale check (after ninja's VirtualFileSystem).
// A test builds a tree of directories, files, symbolic links and "other"
// entries (FIFOs, sockets), each with the times, size, device and listed type
// it wants, which the real disk cannot give: a ctime in the past, an entry
// whose listing says "directory" while it is a file, a mount point, an
// entry that is swapped for a link between read_dir and open_dir (a hook
// runs just before a chosen operation on a chosen path).
//
// It behaves as the POSIX implementation does where the code depends on it:
// open_dir refuses a link (ELOOP) or a non-directory (ENOTDIR) and
// open_dir_same_mount a mount point; remove() of a directory wants it empty;
// an open handle keeps its directory alive after it is moved or removed;
// read_dir hands out batches by name, so entries added or removed between
// batches are seen or not, never twice. Every removal is logged by the path
// the entry had, and removed_outside_caches() lists those not inside a
// `__pycache__` directory: the deletion contract, checked after each test.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fs/fs_ops.hpp"

namespace pycache_clean::test {

class MemFs final : public FsOps {
 public:
  struct Node {
    EntryType type = EntryType::directory;
    std::string data;  // a file's bytes, or a link's target (an absolute MemFs path)
    std::map<std::string, std::shared_ptr<Node>> children;  // a directory's entries
    std::int64_t mtime_sec = 1'700'000'000;
    std::int64_t mtime_nsec = 0;
    std::int64_t ctime_sec = 1'700'000'000;
    std::int64_t ctime_nsec = 0;
    std::uint64_t device = 1;
    std::uint64_t inode = 0;
    // The root of a mount of the same device (a bind mount): refused by
    // open_dir_same_mount, and busy (EBUSY) for remove(), as the kernel has it.
    bool mount_root = false;
    // Owned by another user than the one running the tests.
    bool foreign_owner = false;
    // What read_dir says this entry is (a stale or unknown d_type), when set.
    EntryType listed = EntryType::unknown;
    bool listed_set = false;
    // errno for opening or reading it (EACCES), for removing it (EBUSY).
    int deny_open = 0;
    int deny_remove = 0;
    // Where it is now (the log and the hooks name entries by path).
    std::weak_ptr<Node> parent;
    std::string name;
    void list_as(EntryType t) {
      listed = t;
      listed_set = true;
    }
  };
  enum class Event { open_dir, read_dir, remove, stat, read };

  MemFs();
  MemFs(const MemFs&) = delete;
  MemFs& operator=(const MemFs&) = delete;

  // Builders: absolute '/'-separated paths, missing parents made as
  // directories. Each returns the node, to set its times or listed type.
  Node& dir(const std::string& path);
  Node& file(const std::string& path, std::string data = "x");
  Node& symlink(const std::string& path, std::string target);
  Node& other(const std::string& path);  // a FIFO or socket
  // The node at `path` (links not followed), or null.
  Node* find(const std::string& path);
  bool exists(const std::string& path) { return find(path) != nullptr; }
  // What an attacker's rename does: `path` now holds a link to `target`
  // (whatever it held before is gone from the tree).
  void swap_for_symlink(const std::string& path, const std::string& target);
  // What an attacker's rename(from, to) does: the entry at `from` now lies
  // at `to`, whatever `to` held before gone from the tree.
  void rename_onto(const std::string& from, const std::string& to);
  // Runs `hook` once, just before the first `event` on the entry at `path`
  // (open_dir: the directory opened; read_dir: the directory read; remove,
  // stat, read: the entry named). The hook may change the tree.
  void before(Event event, const std::string& path, std::function<void()> hook);
  // At most `n` entries per read_dir batch (DirListing's own bound otherwise).
  void set_batch(std::size_t n) { m_batch = n; }
  // What file_system_kind() says of every directory (unknown by default).
  void set_kind(FileSystemKind kind) { m_kind = kind; }

  // Every removed path, in order.
  std::vector<std::string> removed() const;
  // The removed paths that lie outside every `__pycache__` directory and
  // are not one themselves; `allowed` names further kinds the caller asked
  // for (a stray `.pyc`/`.pyo`, the mirror under a prefix).
  std::vector<std::string> removed_outside_caches(
      const std::function<bool(const std::string&)>& allowed = {}) const;
  std::size_t open_handles() const;

  Result<Handle> open_root(const std::string& path) override;
  Result<Handle> open_dir(Handle parent, const char* name) override;
  Result<Handle> open_dir_same_mount(Handle parent, const char* name) override;
  void close(Handle h) override;
  int read_dir(Handle dir, DirListing& out) override;
  int identify(Handle dir, DirIdentity& out) override;
  FileSystemKind file_system_kind(Handle) override { return m_kind; }
  int remove(Handle parent, const char* name, bool directory) override;
  int stat(Handle parent, const char* name, FileStat& out) override;
  int stat_follow(Handle parent, const char* name, FileStat& out) override;
  int read_head(Handle parent, const char* name, char* buffer, std::size_t capacity,
                std::size_t& got, FileStat& st) override;
  int read_at(Handle parent, const char* name, std::uint64_t offset, char* buffer,
              std::size_t capacity, std::size_t& got) override;
  int read_bounded(Handle parent, const char* name, std::size_t max_bytes,
                   const ChunkSink& sink) override;
  int read_source(Handle parent, const char* name, const ChunkSink& sink) override;
  int owned_by_caller(Handle parent, const char* name, bool& mine) override;

 private:
  using NodePtr = std::shared_ptr<Node>;
  struct OpenDir {
    NodePtr node;
    std::string next;  // the first name the next batch may hold
    bool started = false;
    bool done = false;
  };
  struct Hook {
    Event event;
    std::string path;
    std::function<void()> run;
  };
  Node& make(const std::string& path, EntryType type);
  Result<NodePtr> resolve(const std::string& path, bool follow_last);
  Result<NodePtr> follow(NodePtr node, int depth = 0);
  Result<NodePtr> child(Handle parent, const char* name);
  Result<Handle> open_child(Handle parent, const char* name, bool same_mount);
  int open_file(Handle parent, const char* name, bool follow_link, NodePtr& out);
  std::string path_of(const Node& node) const;
  std::string path_in(Handle parent, const char* name);
  void fire(Event event, const std::string& path);
  static void fill(const Node& node, FileStat& st);

  mutable std::recursive_mutex m_mutex;
  NodePtr m_root;
  std::map<Handle, OpenDir> m_open;
  Handle m_next_handle = 3;
  std::uint64_t m_next_inode = 2;
  std::size_t m_batch = DirListing::k_batch_entries;
  FileSystemKind m_kind;
  std::vector<Hook> m_hooks;
  std::vector<std::string> m_removed;
};

}  // namespace pycache_clean::test
