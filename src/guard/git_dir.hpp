#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pycache_clean {

// Where a repository keeps what its worktrees share.
struct GitDirs {
  std::string git_dir;     // this worktree's git directory
  std::string common_dir;  // shared by every worktree (`git rev-parse --git-common-dir`)
  std::string worktree;    // top of this worktree
};

// Finds the repository holding `start` the way git does, without running git:
// $GIT_DIR/$GIT_COMMON_DIR when set, else the nearest `.git` upwards, where a
// `.git` file (`gitdir: ...`, a linked worktree or submodule) is followed and
// a `commondir` file in the git directory names the shared directory. Empty
// when `start` is in no repository. Paths are absolute and lexically normal.
std::optional<GitDirs> find_git_dirs(const std::string& start);

// Where a lock file `name` lives by default, and why there: in the common git
// directory of the repository holding the current directory (shared by all
// worktrees, never shown by `git status`), or `./.name` outside a repository.
struct LockLocation {
  std::string path;
  std::string why;  // for -v: "the git common directory of /repo, shared by ..."
  bool outside_repository = false;
};
LockLocation lock_location(const std::string& name);

// Every worktree of the repository whose common directory is `common_dir`:
// the main one and each listed under `<common_dir>/worktrees/*/gitdir`.
std::vector<std::string> list_worktrees(const std::string& common_dir);

}  // namespace pycache_clean
