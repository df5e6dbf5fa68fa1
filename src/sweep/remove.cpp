// Every removal the program makes goes through this file: a `__pycache__`
// tree (remove_directory_tree), a single cache file under the name rule of its
// kind (remove_cache_file), and a directory left empty (rmdir, which the
// kernel refuses for a directory that is not). This is the deletion contract
// of docs/clean.md, enforced in one place.
//
// A tree is removed handle-relative and iteratively.
//
// The tree is emptied depth-first with an explicit stack of open handles (no
// recursion, so a hostile tree nested thousands deep inside a `__pycache__`
// cannot exhaust the C++ stack). Every child is opened with open_dir, which
// never follows a symlink, so a link planted inside a cache is unlinked, never
// traversed. A directory on another mount (a bind mount or a volume mounted
// inside the cache, or on the cache itself) is never entered: it is kept and
// reported as a mount point. Entries are read in bounded batches while the
// ones already read are unlinked (as Rust's remove_dir_all does), so memory
// does not grow with the size of the cache. A locked entry does not stop the
// removal of its siblings: the first failure is remembered and the rest is
// removed anyway, so a single busy .pyc costs one kept directory, not a kept
// tree. When the final rmdir finds the directory refilled (a concurrent
// writer), it is emptied again a few times before giving up with ENOTEMPTY.
//
// Where each removal waits on a round trip (NFS, SMB, FUSE), the files of a
// large batch are unlinked on several threads at once: the same
// handle-relative unlink of the same listed names, only overlapped; whatever
// is not plainly a file (a directory, an unknown type, a file that became a
// directory) is then handled one at a time as above.
#include "sweep/remove.hpp"

#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>
#include <vector>

#include "platform/path.hpp"
#include "pyc/cache_name.hpp"
#include "sweep/walker.hpp"

namespace pycache_clean {

namespace {

constexpr int k_refill_attempts = 4;
// Fewer files in a batch than this are not worth a thread.
constexpr std::size_t k_min_overlapped = 16;

struct Frame {
  Handle handle;
  std::string path;
  DirListing entries;
  std::size_t next = 0;
  bool ok = true;
  std::vector<bool> done;  // entries already removed by the overlapped pass
};

class TreeEmptier {
 public:
  TreeEmptier(FsOps& fs, PathProblem& failure, WidthShare* share)
      : m_fs(fs), m_failure(failure), m_share(share) {}

  // Empties the directory open as `root` (not closed here). Returns true when
  // every entry was removed.
  bool run(Handle root, const std::string& root_path) {
    m_stack.push_back(Frame{root, root_path, {}, 0, true, {}});
    if (!read_batch(m_stack.back())) return false;
    bool root_ok = true;
    while (!m_stack.empty()) {
      Frame& top = m_stack.back();
      if (top.next == top.entries.size() && !top.entries.at_end()) {
        if (!read_batch(top)) top.entries.set_at_end();
        continue;
      }
      if (top.next == top.entries.size()) {
        if (m_stack.size() == 1) {
          root_ok = top.ok;
          m_stack.pop_back();
          break;
        }
        finish_level();
        continue;
      }
      visit(top);  // may push a frame: `top` is invalid from here on
    }
    for (std::size_t i = 1; i < m_stack.size(); ++i) m_fs.close(m_stack[i].handle);
    return root_ok;
  }

  bool failed() const { return m_have_failure; }
  void fail(const std::string& path, int err) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_have_failure) m_failure = PathProblem{path, err};
    m_have_failure = true;
  }

 private:
  // The next batch of `frame`; false (noted) when it cannot be read.
  bool read_batch(Frame& frame) {
    frame.next = 0;
    frame.done.clear();
    int err = m_fs.read_dir(frame.handle, frame.entries);
    if (err == 0) {
      if (m_share && frame.entries.size() >= k_min_overlapped) {
        WidthShare::Taken width(*m_share, frame.entries.size() / k_min_overlapped);
        if (width.width() > 1) remove_files_overlapped(frame, width.width());
      }
      return true;
    }
    frame.entries.clear();
    frame.entries.set_at_end();
    if (err == ENOENT) return true;  // removed meanwhile by someone else
    fail(frame.path, err);
    frame.ok = false;
    return false;
  }

  // Unlinks the entries of the batch listed as files, links or others on
  // `width` threads; marks each one that needs nothing more in frame.done.
  void remove_files_overlapped(Frame& frame, unsigned width) {
    frame.done.assign(frame.entries.size(), false);
    std::vector<std::uint8_t> gone(frame.entries.size(), 0);  // written by one thread each
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i = next++; i < frame.entries.size(); i = next++) {
        EntryType type = frame.entries.type(i);
        if (type == EntryType::directory || type == EntryType::unknown) continue;
        int err = m_fs.remove(frame.handle, frame.entries.name(i), false);
        if (err == EISDIR) continue;  // a directory now, or a link to one: one at a time
        gone[i] = 1;
        if (err != 0 && err != ENOENT) {
          fail(join_path(frame.path, frame.entries.name_view(i)), err);
          gone[i] = 2;
        }
      }
    };
    std::vector<std::thread> threads;
    threads.reserve(width - 1);
    for (unsigned t = 1; t < width; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    for (std::size_t i = 0; i < gone.size(); ++i) {
      frame.done[i] = gone[i] != 0;
      if (gone[i] == 2) frame.ok = false;
    }
  }

  // Done with the top level: close it and remove it from its parent.
  void finish_level() {
    Frame& top = m_stack.back();
    bool ok = top.ok;
    m_fs.close(top.handle);
    m_stack.pop_back();
    Frame& parent = m_stack.back();
    const char* name = parent.entries.name(parent.next - 1);
    if (ok) {
      int err = m_fs.remove(parent.handle, name, true);
      if (err != 0 && err != ENOENT) {
        fail(join_path(parent.path, name), err);
        ok = false;
      }
    }
    if (!ok) parent.ok = false;
  }

  void visit(Frame& top) {
    std::size_t i = top.next++;
    if (!top.done.empty() && top.done[i]) return;
    const char* name = top.entries.name(i);
    Result<EntryType> resolved = resolve_entry_type(m_fs, top.handle, name, top.entries.type(i));
    if (resolved.error() == ENOENT) return;
    if (!resolved) {
      fail(join_path(top.path, name), resolved.error());
      top.ok = false;
      return;
    }
    EntryType type = *resolved;
    if (type != EntryType::directory) {
      int err = m_fs.remove(top.handle, name, false);
      if (err == EISDIR && type != EntryType::symlink) {
        type = EntryType::directory;  // raced: it became a directory
      } else {
        // A link that will not go as a link is never walked into as a directory.
        if (err == EISDIR) err = ELOOP;
        if (err != 0 && err != ENOENT) {
          fail(join_path(top.path, name), err);
          top.ok = false;
        }
        return;
      }
    }
    descend(top, name);
  }

  void descend(Frame& top, const char* name) {
    Result<Handle> opened = m_fs.open_dir_same_mount(top.handle, name);
    if (!opened) {
      int err = opened.error();
      if (err == k_err_mount_point) {
        fail(join_path(top.path, name), err);  // another file system: never entered
        top.ok = false;
        return;
      }
      if (err == ELOOP || err == ENOTDIR) {
        // Became a symlink or file after listing: remove the entry itself.
        err = m_fs.remove(top.handle, name, false);
      }
      if (err != 0 && err != ENOENT) {
        fail(join_path(top.path, name), err);
        top.ok = false;
      }
      return;
    }
    Handle child = *opened;
    std::string child_path = join_path(top.path, name);
    Frame frame{child, std::move(child_path), {}, 0, true, {}};
    if (!read_batch(frame)) {
      m_fs.close(child);
      top.ok = false;
      return;
    }
    m_stack.push_back(std::move(frame));
  }

  FsOps& m_fs;
  PathProblem& m_failure;
  WidthShare* m_share;  // null: one thread
  std::mutex m_mutex;   // guards m_failure and m_have_failure
  bool m_have_failure = false;
  std::vector<Frame> m_stack;
};

}  // namespace

namespace {

// Whether open directory `dir` is the one `expected` names (any, when null).
bool is_expected(FsOps& fs, Handle dir, const DirIdentity* expected) {
  DirIdentity id;
  return !expected || (fs.identify(dir, id) == 0 && id.same_dir(*expected));
}

}  // namespace

RemoveOutcome remove_directory_tree(FsOps& fs, Handle parent, const char* name,
                                    const std::string& path, PathProblem& failure,
                                    const TreeRemoval& how) {
  for (int attempt = 0; attempt < k_refill_attempts; ++attempt) {
    // A cache directory that is itself a mount point: nothing in it is ours.
    Result<Handle> opened = fs.open_dir_same_mount(parent, name);
    if (!opened) {
      int err = opened.error();
      if (err == ENOENT) return RemoveOutcome::removed;
      if (err == ELOOP || err == ENOTDIR) return RemoveOutcome::not_a_directory;
      failure = PathProblem{path, err};
      return RemoveOutcome::failed;
    }
    Handle dir = *opened;
    if (!is_expected(fs, dir, how.expected)) {
      fs.close(dir);
      return RemoveOutcome::not_a_directory;
    }
    TreeEmptier emptier(fs, failure, how.share);
    bool emptied = emptier.run(dir, path);
    fs.close(dir);
    if (!emptied) return RemoveOutcome::failed;
    int err = fs.remove(parent, name, true);
    if (err == 0 || err == ENOENT) return RemoveOutcome::removed;
    if (err != ENOTEMPTY && err != EEXIST) {
      failure = PathProblem{path, err};
      return RemoveOutcome::failed;
    }
    // Refilled by a concurrent writer between emptying and rmdir: go again.
  }
  failure = PathProblem{path, ENOTEMPTY};
  return RemoveOutcome::failed;
}

int remove_cache_file(FsOps& fs, Handle dir, const char* name, CacheFileKind kind) {
  std::string_view n(name);
  bool fits = kind == CacheFileKind::in_pycache ||
              (kind == CacheFileKind::legacy && is_bytecode_name(n)) ||
              (kind == CacheFileKind::mirror && is_cache_file_name(n));
  if (!fits) return EPERM;
  int err = fs.remove(dir, name, false);
  return err == ENOENT ? 0 : err;
}

int remove_emptied_directory(FsOps& fs, Handle parent, const char* name) {
  return fs.remove(parent, name, true);
}

}  // namespace pycache_clean
