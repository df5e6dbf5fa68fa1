// Repository discovery without running git (no fork on a hot path such as a
// pre-commit entry), following gitrepository-layout(5): `.git` is a directory,
// or a file `gitdir: PATH` (linked worktrees, submodules); a git directory
// holding a `commondir` file shares objects, refs and our lock files with the
// directory it names (relative paths are relative to the git directory).
#include <pycache_clean/git_dir.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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

}  // namespace

std::optional<GitDirs> find_git_dirs(const std::string& start) {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  fs::path here = absolute_normal(fs::u8path(start.empty() ? "." : start), cwd);

  const char* env_git_dir = std::getenv("GIT_DIR");
  const char* env_common = std::getenv("GIT_COMMON_DIR");
  if (env_git_dir && *env_git_dir) {
    fs::path git_dir = absolute_normal(fs::u8path(env_git_dir), cwd);
    fs::path common = env_common && *env_common ? absolute_normal(fs::u8path(env_common), cwd)
                                                : common_of(git_dir);
    const char* env_tree = std::getenv("GIT_WORK_TREE");
    fs::path tree = env_tree && *env_tree ? absolute_normal(fs::u8path(env_tree), cwd) : here;
    return GitDirs{strip_slash(git_dir), strip_slash(common), strip_slash(tree)};
  }

  for (fs::path dir = here;; dir = dir.parent_path()) {
    fs::path dot_git = dir / ".git";
    auto status = fs::symlink_status(dot_git, ec);
    if (fs::is_directory(status) || (fs::is_symlink(status) && fs::is_directory(dot_git, ec))) {
      return GitDirs{strip_slash(dot_git), strip_slash(common_of(dot_git)), strip_slash(dir)};
    }
    if (fs::is_regular_file(status)) {
      std::string line = first_line(dot_git);
      const std::string tag = "gitdir:";
      if (line.compare(0, tag.size(), tag) == 0) {
        std::string target = line.substr(tag.size());
        target.erase(0, target.find_first_not_of(' '));
        fs::path git_dir = absolute_normal(fs::u8path(target), dir);
        return GitDirs{strip_slash(git_dir), strip_slash(common_of(git_dir)), strip_slash(dir)};
      }
    }
    if (dir == dir.root_path() || dir.parent_path() == dir) break;
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

}  // namespace pycache_clean
