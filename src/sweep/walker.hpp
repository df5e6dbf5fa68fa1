#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "fs/fs_ops.hpp"
#include "sweep/problem_log.hpp"

namespace pycache_clean {

// Directory names skipped by default: they never hold a project's caches and
// are expensive to walk. Directories holding `pyvenv.cfg` are skipped too.
const std::vector<std::string>& default_excludes();

// Counters a progress display may read while a walk runs.
struct WalkCounters {
  std::atomic<std::uint64_t> dirs_visited{0};
  std::atomic<std::uint64_t> caches_found{0};    // __pycache__ directories
  std::atomic<std::uint64_t> caches_checked{0};  // cache files judged by `check`
};

// What a walk that acts on caches reports besides its counts (SweepReport,
// CheckReport): what it had to leave, and how long it took.
struct WalkReport {
  ProblemLog kept;        // entries that could not be removed
  ProblemLog unreadable;  // directories that could not be walked
  ProblemLog bad_roots;   // PATHs that are missing or not directories
  double elapsed_ms = 0;
};

struct WalkOptions {
  // Names of directories never entered below a root (a root itself is always walked).
  std::vector<std::string> excludes = default_excludes();
  // Skip every directory below a root that holds a `pyvenv.cfg` (a virtualenv).
  bool skip_virtualenvs = true;
  // Stay on the file system (mount) of each root, as `find -xdev` does.
  bool one_file_system = false;
  // Worker threads; 0: default_jobs().
  unsigned jobs = 0;
  // Look for directories below a root carrying a valid CACHEDIR.TAG
  // (judge_cache_tag) and report them to on_tagged_dir.
  bool tagged = false;
  WalkCounters* counters = nullptr;
};

// What a walk reports. Called from worker threads, concurrently: implementations
// synchronise their own state. `parent` stays open for the duration of a call.
class WalkVisitor {
 public:
  virtual ~WalkVisitor() = default;
  // Once the roots are open, before anything below them is visited: the
  // walk's worker threads and what its first latency-bound root lies on
  // (unknown when none is). Where each operation is a round trip, a visitor
  // may spread the work of one large directory over that many threads.
  virtual void on_walk_start(unsigned jobs, const FileSystemKind& kind);
  // A real directory (never a symlink) named `__pycache__` inside `parent`.
  virtual void on_cache_dir(Handle parent, const char* name, const std::string& path) = 0;
  // Whether the walk reports `*.pyc`/`*.pyo` files outside `__pycache__`
  // (their names are then matched in every directory listed).
  virtual bool wants_stray() const;
  // Whether the walk reports symbolic links (never followed) below a root.
  virtual bool wants_links() const;
  // A symbolic link (only when wants_links()); the walk does not follow it.
  virtual void on_link(Handle parent, const char* name, const std::string& path);
  // A `*.pyc`/`*.pyo` file outside `__pycache__` (only when wants_stray()).
  virtual void on_stray_file(Handle parent, const char* name, const std::string& path);
  // A directory that could not be opened or read; its subtree is not walked.
  virtual void on_unreadable(const std::string& path, int err) = 0;
  // walk_mirror only: a file named as CPython names caches (`NAME.TAG[.opt-N].pyc`)
  // in directory `dir`. Returns true when it was removed (or would be, in a
  // dry run); the walk then removes each directory this left empty.
  virtual bool on_mirror_file(Handle dir, const char* name, const std::string& path);
  // walk_mirror only: directory `path` held `files` caches, of which `removed` went.
  virtual void on_mirror_dir(const std::string& path, std::uint64_t files, std::uint64_t removed);
  // walk_mirror only: directory `path` below a mirror root was removed, left
  // empty by the removals (in a dry run: every entry of it would go).
  virtual void on_mirror_dir_removed(const std::string& path);
  // With WalkOptions::tagged: directory `name` inside `parent`, open as `dir`,
  // carries a valid CACHEDIR.TAG. Returns true when the visitor takes it
  // (removes it): the walk then does not enter it.
  virtual bool on_tagged_dir(Handle parent, const char* name, const std::string& path, Handle dir);
  // A PATH named by the user that cannot be walked (missing, not a directory).
  virtual void on_bad_root(const std::string& path, int err) = 0;
};

// Helper threads for the large directories of a walk on a latency-bound
// file system, where one directory's entries are worth working on at once
// (each operation waits on a round trip; the walk itself hands out whole
// directories). A directory takes up to jobs - 1 helpers for as long as it
// works, from a pool of 2 x jobs shared by the whole walk, so the threads in
// flight stay a small multiple of jobs. Nothing is taken on a file system
// that is not latency-bound.
class WidthShare {
 public:
  // From WalkVisitor::on_walk_start, before any worker runs.
  void start(unsigned jobs, const FileSystemKind& kind) {
    m_jobs = kind.latency_bound ? jobs : 1;
    m_spare = kind.latency_bound ? static_cast<int>(2 * jobs) : 0;
  }
  // Helpers for `wanted` threads' worth of work, given back when it ends.
  class Taken {
   public:
    Taken(WidthShare& share, std::size_t wanted) : m_share(share) {
      int want = static_cast<int>(std::min<std::size_t>(wanted, share.m_jobs)) - 1;
      int spare = share.m_spare.load(std::memory_order_relaxed);
      int take = 0;
      do {
        take = std::max(0, std::min(want, spare));
      } while (take > 0 && !share.m_spare.compare_exchange_weak(spare, spare - take));
      m_helpers = take;
    }
    Taken(const Taken&) = delete;
    Taken& operator=(const Taken&) = delete;
    ~Taken() { m_share.m_spare += m_helpers; }
    // This thread and its helpers.
    unsigned width() const { return 1 + static_cast<unsigned>(m_helpers); }

   private:
    WidthShare& m_share;
    int m_helpers = 0;
  };

 private:
  unsigned m_jobs = 1;
  std::atomic<int> m_spare{0};
};

// Walks every root in `roots`, in parallel, never following a symlink below a
// root and never re-resolving a path: each directory is opened relative to its
// parent's handle. Memory stays bounded by the width of the pending frontier,
// not by the size of the tree.
void walk(FsOps& fs, const std::vector<std::string>& roots, const WalkOptions& options,
          WalkVisitor& visitor);

// The worker threads of a walk with `jobs = 0` on a local file system: one
// per core, at most 4.
unsigned default_jobs();

// Where each operation waits on a round trip (FileSystemKind::latency_bound),
// a walk with `jobs = 0` keeps this many requests in flight: waiting, not
// computing, is what takes the time there.
inline constexpr unsigned k_latency_jobs = 32;
// Each worker may hold up to this many directories open.
inline constexpr std::uint64_t k_fds_per_job = 64;

// The worker threads of a walk: `requested` (-j) when not 0; otherwise
// default_jobs(), or k_latency_jobs where `kind` is latency-bound; either
// way at most one per k_fds_per_job of `fd_limit` open files (0: no limit).
unsigned walk_jobs(unsigned requested, const FileSystemKind& kind, std::uint64_t fd_limit);

// Walks the PYTHONPYCACHEPREFIX mirror below `prefix`: for each of
// `relatives` (a root made absolute, its anchor dropped: `home/u/proj`, see
// pycache_prefix_relative), `<prefix>/<relative>`, opening `prefix` as named
// (it may be a link, as /var is on macOS) and every component below it
// relative to its parent without following links; below the mirror root a
// mount point (a bind mount included) goes to on_unreadable, never entered,
// as in a `__pycache__`. Excludes and the
// virtualenv skip apply as in walk(); files CPython names as caches go to
// on_mirror_file, and a directory whose last entries that removed is removed
// in turn, up to k_mirror_cascade levels up (each keeps a descriptor open
// meanwhile). `dry_run`: nothing is removed. A missing mirror is no error;
// one that cannot be opened goes to on_unreadable.
void walk_mirror(FsOps& fs, const std::string& prefix, const std::vector<std::string>& relatives,
                 const WalkOptions& options, bool dry_run, WalkVisitor& visitor);
inline constexpr int k_mirror_cascade = 64;

}  // namespace pycache_clean
