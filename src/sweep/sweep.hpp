#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fs/fs_ops.hpp"
#include "sweep/walker.hpp"

namespace pycache_clean {

struct SweepOptions {
  WalkOptions walk;
  // List what would go; remove nothing.
  bool dry_run = false;
  // Also remove `*.pyc`/`*.pyo` files outside `__pycache__` (legacy caches).
  bool remove_stray = false;
  // PYTHONPYCACHEPREFIX: also clear the tree CPython mirrors there for each root.
  std::string pycache_prefix;
};

struct SweepReport : WalkReport {
  std::uint64_t found = 0;    // cache directories found
  std::uint64_t removed = 0;  // of those, removed (or vanished meanwhile)
  std::uint64_t stray_found = 0;
  std::uint64_t stray_removed = 0;
  // With walk.tagged: directories carrying a valid CACHEDIR.TAG.
  std::uint64_t tagged_found = 0;
  std::uint64_t tagged_removed = 0;
  bool dry_run = false;
};

// Events as they happen, for -v listings and warnings. Called from worker
// threads, one call at a time (the sweep serialises them).
class SweepListener {
 public:
  virtual ~SweepListener() = default;
  // A cache directory (or stray file) removed, or that would be with dry_run.
  virtual void on_removed(const std::string& path, bool dry_run) = 0;
  // Something kept, unreadable or a bad root, with its reason.
  virtual void on_kept(const PathProblem& problem) = 0;
  virtual void on_unreadable(const PathProblem& problem) = 0;
  virtual void on_bad_root(const PathProblem& problem) = 0;
};

// Removes every `__pycache__` below each of `roots` (see WalkOptions for what
// is skipped), plus stray bytecode and the pycache-prefix mirror when asked.
SweepReport sweep(FsOps& fs, const std::vector<std::string>& roots, const SweepOptions& options,
                  SweepListener* listener);

}  // namespace pycache_clean
