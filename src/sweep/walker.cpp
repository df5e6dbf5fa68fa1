// The parallel tree walker behind `clean` and `check`.
//
// Each pending directory is a task holding a shared reference to its parent's
// open handle plus its own name; a worker opens it with open_dir(parent, name)
// (openat with O_NOFOLLOW on POSIX), reads a batch of entries, hands
// `__pycache__` directories to the visitor while the handle is still open, and
// pushes the remaining subdirectories as new tasks (on a file system where
// each operation is a round trip, a `__pycache__` is a task too, so that one
// slow cache never holds up the rest of a listing). Nothing re-resolves a path
// string, so a directory swapped for a symlink mid-walk is seen as a symlink
// and skipped, and a tree deeper than PATH_MAX walks like any other. Below a
// PYTHONPYCACHEPREFIX mirror root every directory is opened as -x opens it:
// the mirror is a cache, and a mount point inside it is reported, never
// entered.
//
// Tasks are taken last-in first-out, so the walk is depth-first and a parent's
// handle is released as soon as its last child has been opened: a long chain
// of directories holds O(1) handles. A directory read in several batches
// leaves a continuation task under the children of its first batch, so the
// frontier, like each listing, stays bounded whatever the size of one
// directory. Helper threads start only once there is more than one task, so a
// walk of a tiny tree pays no thread cost.
//
// Roots are opened and identified (device, inode) before anything is walked:
// a missing PATH is reported first, and a root named twice or lying inside
// another root is walked once. --one-file-system opens each directory with
// open_dir_same_mount, which refuses a mount point (a bind mount of the same
// file system too, unlike a device comparison) as part of the open itself.
#include "sweep/walker.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "platform/path.hpp"
#include "platform/process.hpp"
#include "pyc/cache_name.hpp"
#include "pyc/pyc.hpp"
#include "sweep/cachedir_tag.hpp"
#include "sweep/remove.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean {

namespace {

constexpr std::string_view k_cache_dir_name = "__pycache__";

class ParallelWalk;

// An open directory, shared by the tasks of its children. In a mirror walk it
// also remembers its parent (to remove itself once emptied) and its caches.
struct DirNode {
  DirNode(FsOps& fs, Handle h) : m_fs(fs), m_handle(h) {}
  DirNode(const DirNode&) = delete;
  DirNode& operator=(const DirNode&) = delete;
  ~DirNode();
  FsOps& m_fs;
  Handle m_handle;
  // Mirror walks only.
  ParallelWalk* m_mirror = nullptr;
  std::shared_ptr<DirNode> m_parent;
  std::string m_name;
  std::string m_path;
  int m_chain = 0;                          // ancestors kept open for the cascade
  std::atomic<std::uint64_t> m_files{0};    // cache files found here
  std::atomic<std::uint64_t> m_removed{0};  // of those, removed (or would be)
  std::atomic<bool> m_emptied_any{false};   // something here was removed
  // Every entry listed, and those removed (or that would be, in a dry run):
  // a directory is left empty exactly when the two are equal.
  std::atomic<std::uint64_t> m_entries{0};
  std::atomic<std::uint64_t> m_gone{0};
};

struct Task {
  std::shared_ptr<DirNode> parent;  // null for a root
  std::string name;                 // relative to parent
  std::string path;                 // for messages only
  std::size_t root = 0;             // index of the root it lies below
  Handle preopened = k_no_handle;   // a root, opened before the walk
  std::shared_ptr<DirNode> resume;  // the next batch of this directory
  bool cache = false;               // a `__pycache__` in parent, for the visitor
};

bool is_excluded(const std::vector<std::string>& excludes, std::string_view name) {
  return std::any_of(excludes.begin(), excludes.end(),
                     [&](const std::string& e) { return e == name; });
}

bool is_fd_exhaustion(int err) {
  return err == EMFILE || err == ENFILE;
}

// How many workers a walk has, and whether its file system is latency-bound.
struct WalkWidth {
  unsigned jobs = 1;
  bool latency_bound = false;
};

class ParallelWalk {
 public:
  ParallelWalk(FsOps& fs, const WalkOptions& options, WalkVisitor& visitor,
               std::vector<DirIdentity> root_ids, bool mirror, bool dry_run, WalkWidth width)
      : m_fs(fs),
        m_options(options),
        m_visitor(visitor),
        m_root_ids(std::move(root_ids)),
        m_mirror(mirror),
        m_dry_run(dry_run),
        m_want_stray(visitor.wants_stray()),
        m_want_links(visitor.wants_links()),
        m_jobs(width.jobs),
        m_caches_as_tasks(width.latency_bound) {}

  void run(std::vector<Task> roots) {
    std::reverse(roots.begin(), roots.end());  // first root first
    m_stack = std::move(roots);
    worker(true);
    for (auto& t : m_threads) t.join();
  }

  // A mirror directory's last reference is gone: count it, and remove it
  // when removing its caches (or emptied subdirectories) left it empty. The
  // visitor hears of it only then: a dry run names just the directories
  // that every one of whose entries would go (never a mirror root).
  void finish_mirror_dir(DirNode& node) {
    if (node.m_files > 0) m_visitor.on_mirror_dir(node.m_path, node.m_files, node.m_removed);
    if (!node.m_parent) return;
    if (m_dry_run) {
      if (node.m_entries == 0 || node.m_gone != node.m_entries) return;
    } else {
      if (!node.m_emptied_any) return;
      m_fs.close(node.m_handle);
      node.m_handle = k_no_handle;
      // The kernel refuses a directory that is not empty (a new cache
      // written meanwhile, anything else): then nothing is said.
      if (remove_emptied_directory(m_fs, node.m_parent->m_handle, node.m_name.c_str()) != 0) return;
      log_debug("{}: left empty by removing its caches, removed", node.m_path);
      node.m_parent->m_emptied_any = true;
    }
    ++node.m_parent->m_gone;
    m_visitor.on_mirror_dir_removed(node.m_path);
  }

 private:
  void start_helpers() {
    // Called with m_mutex held.
    if (m_helpers_started) return;
    m_helpers_started = true;
    for (unsigned i = 1; i < m_jobs; ++i) m_threads.emplace_back([this] { worker(false); });
  }

  void worker(bool is_main) {
    DirListing listing;
    std::vector<Task> children;
    Task task;
    bool have_task = false;
    for (;;) {
      if (!have_task) {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [this] { return !m_stack.empty() || m_busy == 0; });
        if (m_stack.empty()) return;  // nothing pending and nobody busy: done
        task = std::move(m_stack.back());
        m_stack.pop_back();
        ++m_busy;
        have_task = true;
      }
      children.clear();
      process(task, listing, children);
      task = Task{};
      have_task = false;
      if (!children.empty()) {
        // Keep one child for this thread, share the rest (a continuation, at
        // index 0, goes under them: this directory's next batch comes after).
        task = std::move(children.back());
        children.pop_back();
        have_task = true;
      }
      std::unique_lock<std::mutex> lock(m_mutex);
      if (!children.empty()) {
        for (auto& c : children) m_stack.push_back(std::move(c));
        if (is_main && m_jobs > 1) start_helpers();
        if (children.size() == 1)
          m_cv.notify_one();
        else
          m_cv.notify_all();
      }
      if (!have_task) {
        --m_busy;
        if (m_busy == 0 && m_stack.empty()) m_cv.notify_all();
      }
    }
  }

  // Opens the directory of `task`, waiting while other workers hold the
  // descriptors this process may have: a low open-file limit slows the walk
  // down instead of leaving directories unsearched.
  Result<Handle> open_task(const Task& task) {
    if (task.preopened != k_no_handle) return task.preopened;
    for (int attempt = 0;; ++attempt) {
      // -x: opening a mount point fails here, so the walk stays on the mount
      // of its root (each parent is on it already) at no extra cost. A
      // mirror is a cache tree: it is never left either (the deletion
      // contract's rule for a `__pycache__`).
      Result<Handle> h = m_options.one_file_system || m_mirror
                             ? m_fs.open_dir_same_mount(task.parent->m_handle, task.name.c_str())
                             : m_fs.open_dir(task.parent->m_handle, task.name.c_str());
      if (h || !is_fd_exhaustion(h.error()) || attempt == 2000) return h;
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_busy <= 1) return h;  // nobody else will release one
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Whether a directory just opened is to be walked: not another root (that
  // one is walked itself).
  bool admit(const Task& task, Handle h) {
    if (m_root_ids.size() < 2) return true;
    DirIdentity id;
    if (m_fs.identify(h, id) != 0) return true;
    for (std::size_t i = 0; i < m_root_ids.size(); ++i) {
      if (i != task.root && id.same_dir(m_root_ids[i])) {
        log_debug("{}: also named as a PATH, walked once", task.path);
        return false;
      }
    }
    return true;
  }

  std::shared_ptr<DirNode> open_node(Task& task) {
    Result<Handle> opened = open_task(task);
    if (!opened) {
      int err = opened.error();
      if (err == k_err_mount_point && !m_mirror)
        log_debug("{}: on another file system, skipped (--one-file-system)", task.path);
      else if (err == ELOOP || err == ENOTDIR || err == ENOENT)
        // Swapped for a symlink or a file, or removed, since it was listed.
        log_debug("{}: changed during the walk ({}), skipped", task.path, errno_text(err));
      else  // a mount point inside a mirror too: said, never entered
        m_visitor.on_unreadable(task.path, err);
      return nullptr;
    }
    Handle h = *opened;
    auto node = std::make_shared<DirNode>(m_fs, h);
    if (task.preopened == k_no_handle && !admit(task, h)) return nullptr;
    log_trace("{}: reading", task.path);
    if (m_mirror) {
      node->m_mirror = this;
      node->m_name = task.name;
      node->m_path = task.path;
      if (task.parent && task.parent->m_chain < k_mirror_cascade) {
        node->m_parent = task.parent;
        node->m_chain = task.parent->m_chain + 1;
      }
    }
    if (m_options.counters)
      m_options.counters->dirs_visited.fetch_add(1, std::memory_order_relaxed);
    return node;
  }

  // Whether directory `h`, whose first batch is `listing`, holds an entry
  // named `name` (pyvenv.cfg: a virtualenv; CACHEDIR.TAG: a tagged cache).
  bool holds(Handle h, const DirListing& listing, const char* name) {
    if (!listing.at_end()) {
      FileStat st;  // too large for one batch: ask for the entry itself
      return m_fs.stat(h, name, st) == 0;
    }
    for (std::size_t i = 0; i < listing.size(); ++i)
      if (listing.name_view(i) == name) return true;
    return false;
  }

  // With --tagged: whether the visitor took directory `task`, open as `dir`,
  // for carrying a valid CACHEDIR.TAG (then it is not entered).
  bool taken_as_tagged(const Task& task, Handle dir, const DirListing& listing) {
    if (!m_options.tagged || m_mirror || task.preopened != k_no_handle ||
        !holds(dir, listing, k_cache_tag_name))
      return false;
    CacheTag tag = judge_cache_tag(m_fs, task.parent->m_handle, task.name.c_str(), dir);
    if (tag != CacheTag::valid) {
      log_debug("{}: not taken as a cache directory: {}", task.path, cache_tag_refusal(tag));
      return false;
    }
    return m_visitor.on_tagged_dir(task.parent->m_handle, task.name.c_str(), task.path, dir);
  }

  void process(Task& task, DirListing& listing, std::vector<Task>& children) {
    if (task.cache) {
      m_visitor.on_cache_dir(task.parent->m_handle, task.name.c_str(), task.path);
      return;
    }
    bool first_batch = !task.resume;
    std::shared_ptr<DirNode> self = first_batch ? open_node(task) : std::move(task.resume);
    if (!self) return;
    int err = m_fs.read_dir(self->m_handle, listing);
    if (err == ENOENT) return;  // removed meanwhile (getdents on a deleted directory)
    if (err != 0) {
      m_visitor.on_unreadable(task.path, err);
      return;
    }
    if (first_batch && m_options.skip_virtualenvs && task.preopened == k_no_handle &&
        holds(self->m_handle, listing, "pyvenv.cfg")) {
      log_debug("{}: holds pyvenv.cfg (a virtualenv), skipped", task.path);
      return;
    }
    if (first_batch && taken_as_tagged(task, self->m_handle, listing)) return;
    task.parent.reset();  // the parent's handle may close now (unless the node keeps it)
    if (m_mirror) self->m_entries += listing.size();
    if (!listing.at_end())
      children.push_back(Task{nullptr, {}, task.path, task.root, k_no_handle, self});
    for (std::size_t i = 0; i < listing.size(); ++i) visit_entry(task, self, listing, i, children);
  }

  void visit_entry(const Task& task, const std::shared_ptr<DirNode>& self,
                   const DirListing& listing, std::size_t i, std::vector<Task>& children) {
    const char* name = listing.name(i);
    std::string_view name_view = listing.name_view(i);
    Handle h = self->m_handle;
    Result<EntryType> resolved = resolve_entry_type(m_fs, h, name, listing.type(i));
    if (!resolved) {
      if (resolved.error() != ENOENT)
        m_visitor.on_unreadable(join_path(task.path, name_view), resolved.error());
      return;
    }
    EntryType type = *resolved;
    if (type == EntryType::directory) {
      if (name_view == k_cache_dir_name && !m_mirror) {
        if (m_options.counters)
          m_options.counters->caches_found.fetch_add(1, std::memory_order_relaxed);
        if (m_caches_as_tasks)
          // A task of its own, as a directory is: another worker may take it
          // while this one goes on (one slow cache never holds up the rest).
          children.push_back(Task{self, std::string(name_view), join_path(task.path, name_view),
                                  task.root, k_no_handle, nullptr, true});
        else
          m_visitor.on_cache_dir(h, name, join_path(task.path, name_view));
      } else if (!is_excluded(m_options.excludes, name_view)) {
        children.push_back(Task{self, std::string(name_view), join_path(task.path, name_view),
                                task.root, k_no_handle, nullptr});
      } else {
        log_debug("{}: excluded by name, skipped", join_path(task.path, name_view));
      }
    } else if (type == EntryType::symlink) {
      if (name_view == k_cache_dir_name)
        log_debug("{}: a symlink, left alone", join_path(task.path, name_view));
      if (m_want_links && !m_mirror && !is_excluded(m_options.excludes, name_view))
        m_visitor.on_link(h, name, join_path(task.path, name_view));
    } else if (m_mirror) {
      if (type == EntryType::file && is_cache_file_name(name_view)) {
        ++self->m_files;
        if (m_visitor.on_mirror_file(h, name, join_path(task.path, name_view))) {
          ++self->m_removed;
          ++self->m_gone;
          self->m_emptied_any = true;
        }
      }
    } else if (m_want_stray && type == EntryType::file && is_bytecode_name(name_view)) {
      m_visitor.on_stray_file(h, name, join_path(task.path, name_view));
    }
  }

  FsOps& m_fs;
  const WalkOptions& m_options;
  WalkVisitor& m_visitor;
  std::vector<DirIdentity> m_root_ids;
  bool m_mirror;
  bool m_dry_run;
  bool m_want_stray;  // the visitor's wants_stray(), asked once
  bool m_want_links;  // and wants_links()
  unsigned m_jobs;
  // Where each operation is a round trip, a `__pycache__` is a task of its
  // own; elsewhere the worker that lists it takes it at once (cheaper).
  bool m_caches_as_tasks;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<Task> m_stack;
  unsigned m_busy = 0;
  bool m_helpers_started = false;
  std::vector<std::thread> m_threads;
};

DirNode::~DirNode() {
  if (m_mirror) m_mirror->finish_mirror_dir(*this);
  m_parent.reset();
  if (m_handle != k_no_handle) m_fs.close(m_handle);
}

// Opens each root, drops a root met before, and returns the tasks with their
// identities. A named `__pycache__` goes to the visitor once every root was
// opened: a missing PATH is said before anything is removed.
struct NamedCache {
  std::unique_ptr<ScopedHandle> parent;
  std::string base;
  std::string root;
};

std::vector<Task> open_roots(FsOps& fs, const std::vector<std::string>& roots, WalkVisitor& visitor,
                             std::vector<DirIdentity>& ids, std::vector<NamedCache>& named_caches) {
  std::vector<Task> tasks;
  for (const auto& root : roots) {
    auto [dir, base] = split_last(root);
    if (base == k_cache_dir_name) {
      // The user named a cache directory itself: hand it over with its parent open.
      Result<Handle> opened = fs.open_root(dir);
      int err = opened.error();
      auto parent = std::make_unique<ScopedHandle>(fs, opened.value_or(k_no_handle));
      FileStat st;
      if (*parent) err = fs.stat(parent->get(), base.c_str(), st);
      if (!*parent || err != 0) {
        visitor.on_bad_root(root, err);
      } else if (st.type == EntryType::directory) {
        named_caches.push_back(NamedCache{std::move(parent), base, root});
      } else {
        visitor.on_bad_root(root, ENOTDIR);
      }
      continue;
    }
    Result<Handle> opened = fs.open_root(root);
    if (!opened) {
      visitor.on_bad_root(root, opened.error());
      continue;
    }
    Handle h = *opened;
    DirIdentity id;
    fs.identify(h, id);
    if (std::any_of(ids.begin(), ids.end(), [&](const DirIdentity& o) { return o.same_dir(id); })) {
      log_debug("{}: named twice, walked once", root);
      fs.close(h);
      continue;
    }
    ids.push_back(id);
    tasks.push_back(Task{nullptr, root, root, ids.size() - 1, h, nullptr});
  }
  return tasks;
}

// The walk's width, from -j or from what the roots lie on (`roots`: each
// open directory a root is, or a named cache lies in, and its path), told to
// the visitor before anything else; -v says which and why.
WalkWidth start_walk(FsOps& fs, const WalkOptions& options, WalkVisitor& visitor,
                     const std::vector<std::pair<Handle, const std::string*>>& roots) {
  FileSystemKind kind;
  const std::string* where = nullptr;
  for (const auto& [handle, path] : roots) {
    FileSystemKind k = fs.file_system_kind(handle);
    if (k.latency_bound) {
      kind = k;
      where = path;
      break;
    }
  }
  unsigned wanted = walk_jobs(options.jobs, kind, 0);
  if (options.jobs != 0)
    log_debug("{} worker thread(s), as -j asks", wanted);
  else if (where)
    log_debug(
        "{}: on {}, where each operation waits on a round trip: {} worker threads, "
        "to keep that many requests in flight (-j sets the number)",
        *where, kind.name, wanted);
  else
    log_debug("{} worker thread(s): one per core, at most 4", wanted);
  std::uint64_t limit = open_file_limit();
  unsigned jobs = walk_jobs(options.jobs, kind, limit);
  if (jobs < wanted)
    log_debug("open-file limit {}: {} worker(s) instead of {}", limit, jobs, wanted);
  visitor.on_walk_start(jobs, kind);
  return WalkWidth{jobs, kind.latency_bound};
}

}  // namespace

bool WalkVisitor::wants_stray() const {
  return false;
}
bool WalkVisitor::wants_links() const {
  return false;
}
void WalkVisitor::on_walk_start(unsigned, const FileSystemKind&) {}
void WalkVisitor::on_link(Handle, const char*, const std::string&) {}
void WalkVisitor::on_stray_file(Handle, const char*, const std::string&) {}

unsigned default_jobs() {
  static const unsigned jobs = std::clamp(std::thread::hardware_concurrency(), 1U, 4U);
  return jobs;
}

unsigned walk_jobs(unsigned requested, const FileSystemKind& kind, std::uint64_t fd_limit) {
  unsigned jobs = requested != 0 ? requested : kind.latency_bound ? k_latency_jobs : default_jobs();
  // Each worker may hold a chain of directories open: under a low limit on
  // descriptors fewer workers search more of the tree (what still cannot be
  // opened is reported, never skipped silently).
  if (fd_limit != 0 && jobs > 1)
    jobs = static_cast<unsigned>(std::clamp<std::uint64_t>(fd_limit / k_fds_per_job, 1, jobs));
  return jobs;
}
bool WalkVisitor::on_mirror_file(Handle, const char*, const std::string&) {
  return false;
}
void WalkVisitor::on_mirror_dir(const std::string&, std::uint64_t, std::uint64_t) {}
void WalkVisitor::on_mirror_dir_removed(const std::string&) {}
bool WalkVisitor::on_tagged_dir(Handle, const char*, const std::string&, Handle) {
  return false;
}

const std::vector<std::string>& default_excludes() {
  static const std::vector<std::string> names = {".git", ".hg",  ".svn",
                                                 ".tox", ".nox", "node_modules"};
  return names;
}

void walk(FsOps& fs, const std::vector<std::string>& roots, const WalkOptions& options,
          WalkVisitor& visitor) {
  raise_open_file_limit();
  std::vector<DirIdentity> ids;
  std::vector<NamedCache> named_caches;
  std::vector<Task> tasks = open_roots(fs, roots, visitor, ids, named_caches);
  if (tasks.empty() && named_caches.empty()) return;
  std::vector<std::pair<Handle, const std::string*>> where;
  where.reserve(named_caches.size() + tasks.size());
  for (const auto& cache : named_caches) where.emplace_back(cache.parent->get(), &cache.root);
  for (const auto& task : tasks) where.emplace_back(task.preopened, &task.path);
  WalkWidth width = start_walk(fs, options, visitor, where);
  // A named `__pycache__` goes to the visitor once every root was opened: a
  // missing PATH is said before anything is removed.
  for (auto& cache : named_caches) {
    if (options.counters) options.counters->caches_found.fetch_add(1);
    visitor.on_cache_dir(cache.parent->get(), cache.base.c_str(), cache.root);
  }
  if (tasks.empty()) return;
  ParallelWalk(fs, options, visitor, std::move(ids), false, false, width).run(std::move(tasks));
}

void walk_mirror(FsOps& fs, const std::string& prefix, const std::vector<std::string>& relatives,
                 const WalkOptions& options, bool dry_run, WalkVisitor& visitor) {
  raise_open_file_limit();
  std::vector<DirIdentity> ids;
  std::vector<Task> tasks;
  for (const auto& relative : relatives) {
    Result<Handle> opened = fs.open_root(prefix);
    int err = opened.error();
    Handle h = opened.value_or(k_no_handle);
    std::string path = prefix;
    for (std::string_view component : path_parts(relative)) {
      if (h == k_no_handle) break;
      std::string part(component);
      path = join_path(path, part);
      Result<Handle> next = fs.open_dir(h, part.c_str());
      err = next.error();
      Handle child = next.value_or(k_no_handle);
      FileStat st;
      if (child == k_no_handle && (err == ELOOP || err == ENOTDIR) &&
          fs.stat(h, part.c_str(), st) == 0 && st.type == EntryType::symlink)
        err = k_err_symlink;  // planted in a shared prefix, perhaps: never followed
      fs.close(h);
      h = child;
    }
    if (h == k_no_handle) {
      if (err == ENOENT)
        log_debug("{}: no pycache-prefix mirror here", path);
      else
        visitor.on_unreadable(path, err);  // ELOOP: a link planted in the mirror
      continue;
    }
    DirIdentity id;
    fs.identify(h, id);
    if (std::any_of(ids.begin(), ids.end(), [&](const DirIdentity& o) { return o.same_dir(id); })) {
      fs.close(h);
      continue;
    }
    ids.push_back(id);
    tasks.push_back(Task{nullptr, path, path, ids.size() - 1, h, nullptr});
  }
  if (tasks.empty()) return;
  std::vector<std::pair<Handle, const std::string*>> where;
  where.reserve(tasks.size());
  for (const auto& task : tasks) where.emplace_back(task.preopened, &task.path);
  WalkWidth width = start_walk(fs, options, visitor, where);
  ParallelWalk(fs, options, visitor, std::move(ids), true, dry_run, width).run(std::move(tasks));
}

}  // namespace pycache_clean
