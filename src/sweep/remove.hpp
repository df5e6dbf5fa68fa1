#pragma once

#include <string>

#include "fs/fs_ops.hpp"
#include "util/error.hpp"

namespace pycache_clean {

class WidthShare;

enum class RemoveOutcome {
  removed,         // gone (or vanished before we got to it: ENOENT counts as removed)
  failed,          // something was kept; see the failure
  not_a_directory  // `name` is no longer a directory (e.g. swapped for a symlink): untouched
};

// Removes directory `name` inside `parent` with everything in it, handle-relative
// throughout, never following a symlink and never entering another mount. Removes as much as it can
// when an entry is locked, retries when the directory refills while being emptied, and reports the
// first entry it had to keep in `failure`.
struct TreeRemoval {
  // The files of a large listing batch are unlinked on the helper threads it
  // grants (on a file system where each removal is a round trip).
  WidthShare* share = nullptr;
  // Only the directory of this identity: one swapped in under the name since
  // it was judged (a tagged cache, whose name proves nothing) is left
  // untouched, as not_a_directory.
  const DirIdentity* expected = nullptr;
};
RemoveOutcome remove_directory_tree(FsOps& fs, Handle parent, const char* name,
                                    const std::string& path, PathProblem& failure,
                                    const TreeRemoval& how = {});

// What a single file is removed as; each kind has its own name rule.
enum class CacheFileKind {
  in_pycache,  // a file inside a `__pycache__` (any name: the directory is a cache)
  legacy,      // `*.pyc`/`*.pyo` outside `__pycache__` (--stray)
  mirror,      // in a PYTHONPYCACHEPREFIX mirror: `NAME.TAG[.opt-N].pyc` only
};

// Removes file `name` inside `dir` if its name fits `kind` (EPERM otherwise,
// and nothing is touched). Returns 0, or errno; ENOENT counts as removed.
int remove_cache_file(FsOps& fs, Handle dir, const char* name, CacheFileKind kind);

// Removes directory `name` inside `parent` only if it is empty: for a
// directory that removing caches has just left empty. Returns 0 or errno.
int remove_emptied_directory(FsOps& fs, Handle parent, const char* name);

}  // namespace pycache_clean
