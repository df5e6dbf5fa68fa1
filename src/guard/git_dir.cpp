// Repository discovery without running git on the common path (no fork on a
// hot path such as a pre-commit entry), agreeing with `git rev-parse
// --git-common-dir` (git's setup.c, setup_git_directory_gently_1):
//
// - $GIT_DIR (and $GIT_COMMON_DIR) when set, trusted as git trusts them;
// - else, from the current directory upwards: `DIR/.git` as a file
//   (`gitdir: PATH`: linked worktrees, submodules) or a directory, then DIR
//   itself as a bare repository. A candidate counts only when it looks like a
//   git directory (is_git_directory: a valid HEAD, `objects/` and `refs/` in
//   its common directory), so an empty `.git` someone made is passed over;
// - the search never enters a directory of $GIT_CEILING_DIRECTORIES and stops
//   at a file-system boundary unless $GIT_DISCOVERY_ACROSS_FILESYSTEM is true;
// - a repository found must be owned by the current user (CVE-2022-24765):
//   otherwise it is refused with git's "dubious ownership" message unless
//   `safe.directory` (system or global git config) allows it. Only then is
//   git asked, once, for that setting.
// A git directory holding a `commondir` file shares objects, refs and our lock
// files with the directory it names (relative to the git directory).
#include "guard/git_dir.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "fs/fs_ops.hpp"
#include "platform/path.hpp"
#include "platform/process.hpp"
#include "util/error.hpp"

namespace pycache_clean {

namespace {

namespace fs = std::filesystem;

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

fs::path absolute_normal(const fs::path& p, const fs::path& base) {
  fs::path abs = p.is_absolute() ? p : base / p;
  return abs.lexically_normal();
}

// Paths are UTF-8 strings everywhere outside this file (u8path/u8string, so
// that a Windows build does not go through the ANSI code page).
std::string strip_slash(const fs::path& p) {
  std::string s = p.u8string();
  if (!p.has_relative_path()) return s;  // "/" or "C:\" stays whole
  while (s.size() > 1 && (s.back() == '/' || s.back() == '\\')) s.pop_back();
  return s;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// The common directory of git directory `git_dir`.
fs::path common_of(const fs::path& git_dir) {
  std::error_code ec;
  fs::path commondir = git_dir / "commondir";
  if (fs::is_regular_file(commondir, ec)) {
    std::string target = first_line(commondir);
    if (!target.empty()) return absolute_normal(fs::u8path(target), git_dir);
  }
  return git_dir;
}

bool is_hex_object_id(const std::string& s) {
  return (s.size() == 40 || s.size() == 64) &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(c) != 0; });
}

// git's validate_headref: a symlink into refs/, `ref: refs/...`, or an object id.
bool valid_head(const fs::path& head) {
  std::error_code ec;
  auto status = fs::symlink_status(head, ec);
  if (fs::is_symlink(status)) {
    std::string target = fs::read_symlink(head, ec).generic_u8string();
    return !ec && target.compare(0, 5, "refs/") == 0;
  }
  if (!fs::is_regular_file(status)) return false;
  std::string line = first_line(head);
  if (line.compare(0, 4, "ref:") == 0) {
    std::size_t at = line.find_first_not_of(" \t", 4);
    return at != std::string::npos && line.compare(at, 5, "refs/") == 0;
  }
  return is_hex_object_id(line);
}

// git's is_git_directory.
bool is_git_directory(const fs::path& dir) {
  std::error_code ec;
  if (!valid_head(dir / "HEAD")) return false;
  fs::path common = common_of(dir);
  const char* objects = env("GIT_OBJECT_DIRECTORY");
  if (!fs::is_directory(objects ? fs::u8path(objects) : common / "objects", ec)) return false;
  return fs::is_directory(common / "refs", ec);
}

// The ceilings as git reads them: absolute entries of $GIT_CEILING_DIRECTORIES,
// resolved through symbolic links (as git's real_path does).
std::vector<std::string> ceilings() {
  std::vector<std::string> out;
  const char* list = env("GIT_CEILING_DIRECTORIES");
  if (!list) return out;
  std::string all = list;
  std::size_t start = 0;
  while (start <= all.size()) {
    std::size_t end = all.find(path_list_separator(), start);
    std::string entry =
        all.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!entry.empty() && is_absolute_path(entry)) {
      std::error_code ec;
      fs::path real = fs::weakly_canonical(fs::u8path(entry), ec);
      out.push_back(strip_slash(ec ? fs::u8path(entry).lexically_normal() : real));
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// Whether `ceiling` is a proper ancestor of `dir` (git's longest_ancestor_length).
bool is_proper_ancestor(const std::string& ceiling, const fs::path& dir) {
  fs::path c = fs::u8path(ceiling);
  auto d = dir.begin();
  std::size_t n = 0;
  for (auto it = c.begin(); it != c.end(); ++it, ++d, ++n) {
    if (it->empty()) continue;  // a trailing separator
    if (d == dir.end() || *it != *d) return false;
  }
  return std::distance(dir.begin(), dir.end()) > static_cast<long>(n);
}

bool env_true(const char* name) {
  const char* v = env(name);
  if (!v) return false;
  std::string s = v;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

// Whether `safe.directory` in the system or global git config names `dir`
// (or is `*`). Asks git; no git means no exception.
bool safe_directory_allows(const std::string& dir) {
  auto out = capture_output({"git", "config", "--show-scope", "--get-all", "safe.directory"});
  if (!out) return false;
  std::size_t start = 0;
  bool allowed = false;
  while (start < out->size()) {
    std::size_t end = out->find('\n', start);
    std::string line =
        out->substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? out->size() : end + 1;
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string scope = line.substr(0, tab);
    std::string value = line.substr(tab + 1);
    if (scope != "system" && scope != "global" && scope != "command") continue;
    if (value.empty())
      allowed = false;  // an empty value resets the list
    else if (value == "*" || strip_slash(fs::u8path(value).lexically_normal()) == dir)
      allowed = true;
  }
  return allowed;
}

// git's ensure_valid_ownership: each path given must be owned by us.
void ensure_valid_ownership(const std::vector<fs::path>& paths, const std::string& shown) {
  bool owned = std::all_of(paths.begin(), paths.end(), [](const fs::path& p) {
    return is_owned_by_current_user(p.u8string());
  });
  if (owned || safe_directory_allows(shown)) return;
  throw Error(fmt::format("detected dubious ownership in repository at '{}' (another user owns "
                          "it); to trust it: git config --global --add safe.directory {}",
                          shown, shown),
              ErrorKind::bad_input);
}

GitDirs found(const fs::path& git_dir, const std::string& worktree) {
  return GitDirs{strip_slash(git_dir), strip_slash(common_of(git_dir)), worktree};
}

}  // namespace

std::optional<GitDirs> find_git_dirs(const std::string& start) {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  fs::path here = absolute_normal(fs::u8path(start.empty() ? "." : start), cwd);

  if (const char* env_git_dir = env("GIT_DIR")) {
    fs::path git_dir = absolute_normal(fs::u8path(env_git_dir), cwd);
    const char* env_common = env("GIT_COMMON_DIR");
    fs::path common =
        env_common ? absolute_normal(fs::u8path(env_common), cwd) : common_of(git_dir);
    const char* env_tree = env("GIT_WORK_TREE");
    fs::path tree = env_tree ? absolute_normal(fs::u8path(env_tree), cwd) : here;
    return GitDirs{strip_slash(git_dir), strip_slash(common), strip_slash(tree)};
  }

  std::vector<std::string> ceiling = ceilings();
  bool across = env_true("GIT_DISCOVERY_ACROSS_FILESYSTEM");
  auto device = path_device(here.u8string());
  for (fs::path dir = here;; dir = dir.parent_path()) {
    fs::path dot_git = dir / ".git";
    auto status = fs::symlink_status(dot_git, ec);
    if (fs::is_regular_file(status)) {
      std::string line = first_line(dot_git);
      const std::string tag = "gitdir:";
      if (line.compare(0, tag.size(), tag) != 0)
        throw Error(fmt::format("invalid gitfile format: {}", dot_git.u8string()),
                    ErrorKind::bad_input);
      std::string target = line.substr(tag.size());
      target.erase(0, target.find_first_not_of(' '));
      fs::path git_dir = absolute_normal(fs::u8path(target), dir);
      if (!is_git_directory(git_dir))
        throw Error(fmt::format("not a git repository: {}", git_dir.u8string()),
                    ErrorKind::bad_input);
      ensure_valid_ownership({dot_git, dir, git_dir}, strip_slash(dir));
      return found(git_dir, strip_slash(dir));
    }
    if (fs::is_directory(fs::status(dot_git, ec)) && is_git_directory(dot_git)) {
      ensure_valid_ownership({dir, dot_git}, strip_slash(dir));
      return found(dot_git, strip_slash(dir));
    }
    if (is_git_directory(dir)) {  // a bare repository: no worktree
      ensure_valid_ownership({dir}, strip_slash(dir));
      return found(dir, "");
    }
    fs::path parent = dir.parent_path();
    if (dir == dir.root_path() || parent == dir) break;
    // A ceiling itself is never looked at (git's longest_ancestor_length).
    bool under_ceiling = std::any_of(ceiling.begin(), ceiling.end(), [&](const std::string& c) {
      return is_proper_ancestor(c, dir) && !is_proper_ancestor(c, parent);
    });
    if (under_ceiling) break;
    if (!across && device && path_device(parent.u8string()) != device) break;
  }
  return std::nullopt;
}

std::vector<std::string> list_worktrees(const std::string& common_dir) {
  std::vector<std::string> trees;
  fs::path common = fs::u8path(common_dir);
  std::error_code ec;
  // The main worktree: the parent of a `.git` common directory (none when bare).
  if (common.filename() == ".git") trees.push_back(strip_slash(common.parent_path()));
  for (const auto& entry : fs::directory_iterator(common / "worktrees", ec)) {
    fs::path gitdir_file = entry.path() / "gitdir";  // holds PATH/.git of the worktree
    std::string line = first_line(gitdir_file);
    if (line.empty()) continue;
    fs::path dot_git = absolute_normal(fs::u8path(line), entry.path());
    trees.push_back(strip_slash(dot_git.parent_path()));
  }
  return trees;
}

LockLocation lock_location(const std::string& name) {
  LockLocation where;
  if (auto dirs = find_git_dirs(".")) {
    where.path = dirs->common_dir + "/" + name;
    where.why = fmt::format("the git common directory of {}, shared by all its worktrees",
                            dirs->worktree.empty() ? dirs->common_dir : dirs->worktree);
  } else {
    where.path = "." + name;
    where.why = "no git repository here: the current directory";
    where.outside_repository = true;
  }
  return where;
}

}  // namespace pycache_clean
