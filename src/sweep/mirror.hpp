#pragma once

#include <string>
#include <vector>

namespace pycache_clean {

// The PYTHONPYCACHEPREFIX mirror: where CPython puts the caches of a
// directory when a pycache prefix is set, and back from a cache there to the
// directory of its source (importlib's cache_from_source and
// source_from_cache, lexical only). The walk of the mirror is walk_mirror
// (walker.hpp); what a sweep or check does with each file there, their
// visitors.

// Where CPython puts the caches of directory `root` under `prefix`
// (`<prefix>/<absolute root without its anchor>`), with `cwd` making a relative
// `root` absolute. Lexical only, as importlib's cache_from_source does.
std::string pycache_prefix_mirror(const std::string& prefix, const std::string& root,
                                  const std::string& cwd);
// The part of that below the prefix: `root` made absolute with `cwd`, its
// drive and leading separators dropped, `.` and `..` resolved ("home/u/proj").
std::string pycache_prefix_relative(const std::string& root, const std::string& cwd);
// pycache_prefix_relative of each of `roots`, with this process's working
// directory ("/" when it cannot be read, as when it was removed).
std::vector<std::string> pycache_prefix_relatives(const std::vector<std::string>& roots);
// The path walk_mirror gives the mirror of `relative` below `prefix` (and,
// joined with "/", to everything under it).
std::string mirror_path(const std::string& prefix, const std::string& relative);

// The mirror roots of one run: for each root the user named, the directory
// below the prefix that mirrors it.
class MirrorMap {
 public:
  MirrorMap(const std::string& prefix, const std::vector<std::string>& roots);
  // pycache_prefix_relatives of the roots: what walk_mirror takes.
  const std::vector<std::string>& relatives() const { return m_relatives; }
  // The directory holding the source of mirror file `path` (as walk_mirror
  // names it): its root, joined with the directories between the mirror root
  // and the file; empty when `path` lies under no mirror root.
  std::string source_dir_of(const std::string& path) const;

 private:
  struct Root {
    std::string mirror;  // as walk_mirror names it
    std::string source;  // the root as the user named it
  };
  std::vector<std::string> m_relatives;
  std::vector<Root> m_roots;
};

}  // namespace pycache_clean
