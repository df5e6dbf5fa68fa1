#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <pycache_clean/fs_ops.hpp>

namespace pycache_clean {

// Directory names skipped by default: they never hold a project's caches and
// are expensive to walk. Directories holding `pyvenv.cfg` are skipped too.
const std::vector<std::string>& default_excludes();

// Counters a progress display may read while a walk runs.
struct WalkCounters {
  std::atomic<std::uint64_t> dirs_visited{0};
  std::atomic<std::uint64_t> caches_found{0};
};

struct WalkOptions {
  // Names of directories never entered below a root (a root itself is always walked).
  std::vector<std::string> excludes = default_excludes();
  // Skip every directory below a root that holds a `pyvenv.cfg` (a virtualenv).
  bool skip_virtualenvs = true;
  // Report `*.pyc`/`*.pyo` files lying outside `__pycache__` to on_stray_file.
  bool want_stray = false;
  // Worker threads; 0 picks one per core (at most 4).
  unsigned jobs = 0;
  WalkCounters* counters = nullptr;
};

// What a walk reports. Called from worker threads, concurrently: implementations
// synchronise their own state. `parent` stays open for the duration of a call.
class WalkVisitor {
 public:
  virtual ~WalkVisitor() = default;
  // A real directory (never a symlink) named `__pycache__` inside `parent`.
  virtual void on_cache_dir(Handle parent, const char* name, const std::string& path) = 0;
  // A `*.pyc`/`*.pyo` file outside `__pycache__` (only with want_stray).
  virtual void on_stray_file(Handle parent, const char* name, const std::string& path);
  // A directory that could not be opened or read; its subtree is not walked.
  virtual void on_unreadable(const std::string& path, int err) = 0;
  // A PATH named by the user that cannot be walked (missing, not a directory).
  virtual void on_bad_root(const std::string& path, int err) = 0;
};

// Walks every root in `roots`, in parallel, never following a symlink below a
// root and never re-resolving a path: each directory is opened relative to its
// parent's handle. Memory stays bounded by the width of the pending frontier,
// not by the size of the tree.
void walk(FsOps& fs, const std::vector<std::string>& roots, const WalkOptions& options,
          WalkVisitor& visitor);

// `dir` + "/" + `name`, without doubling a trailing slash.
std::string join_path(const std::string& dir, std::string_view name);

// True for `*.pyc` and `*.pyo`.
bool is_bytecode_name(std::string_view name);

}  // namespace pycache_clean
