#pragma once

#include <string>

#include <pycache_clean/error.hpp>
#include <pycache_clean/fs_ops.hpp>

namespace pycache_clean {

// Why an entry was kept: the path at fault and the system's reason.
struct RemoveFailure {
  std::string path;
  int error = 0;
};

enum class RemoveOutcome {
  removed,         // gone (or vanished before we got to it: ENOENT counts as removed)
  failed,          // something was kept; see the failure
  not_a_directory  // `name` is no longer a directory (e.g. swapped for a symlink): untouched
};

// Removes directory `name` inside `parent` with everything in it, handle-relative
// throughout, never following a symlink and never entering another mount. Removes as much as it can
// when an entry is locked, retries when the directory refills while being emptied, and reports the
// first entry it had to keep in `failure`.
RemoveOutcome remove_directory_tree(FsOps& fs, Handle parent, const char* name,
                                    const std::string& path, RemoveFailure& failure);

}  // namespace pycache_clean
