// The pycache-prefix mirror's paths. importlib._bootstrap_external's
// cache_from_source joins a relative directory to os.getcwd(), strips a
// drive ("C:") and the leading separators, and joins the rest to
// sys.pycache_prefix; nothing is resolved through links.
#include "sweep/mirror.hpp"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "platform/path.hpp"

namespace pycache_clean {

namespace {

// Removes and returns a leading drive ("C:"), which only Windows paths have.
std::string strip_drive(std::string& path) {
  if (path.size() < 2 || path[1] != ':' || is_path_separator(path[0])) return {};
  std::string drive = path.substr(0, 2);
  path.erase(0, 2);
  return drive;
}

}  // namespace

std::string pycache_prefix_relative(const std::string& root, const std::string& cwd) {
  std::string abs_root = is_absolute_path(root) ? root : cwd + "/" + root;
  strip_drive(abs_root);
  return lexically_normal(abs_root).substr(1);
}

std::vector<std::string> pycache_prefix_relatives(const std::vector<std::string>& roots) {
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).u8string();
  if (ec) cwd = "/";
  std::vector<std::string> relatives;
  relatives.reserve(roots.size());
  for (const auto& root : roots) relatives.push_back(pycache_prefix_relative(root, cwd));
  return relatives;
}

std::string pycache_prefix_mirror(const std::string& prefix, const std::string& root,
                                  const std::string& cwd) {
  // importlib._bootstrap_external.cache_from_source: a relative head is joined
  // to os.getcwd(), a drive ("C:") is stripped, then the leading separators,
  // and the result is joined to sys.pycache_prefix. No symlink resolution.
  std::string abs_root = is_absolute_path(root) ? root : cwd + "/" + root;
  std::string abs_prefix = is_absolute_path(prefix) ? prefix : cwd + "/" + prefix;
  strip_drive(abs_root);
  std::string drive = strip_drive(abs_prefix);
  std::string normal_root = lexically_normal(abs_root);
  std::string normal_prefix = lexically_normal(abs_prefix);
  if (normal_root == "/") return drive + normal_prefix;
  return drive + (normal_prefix == "/" ? normal_root : normal_prefix + normal_root);
}

std::string mirror_path(const std::string& prefix, const std::string& relative) {
  std::string path = prefix;
  for (std::string_view part : path_parts(relative)) path = join_path(path, part);
  return path;
}

MirrorMap::MirrorMap(const std::string& prefix, const std::vector<std::string>& roots)
    : m_relatives(pycache_prefix_relatives(roots)) {
  for (std::size_t i = 0; i < roots.size(); ++i)
    m_roots.push_back({mirror_path(prefix, m_relatives[i]), roots[i]});
}

std::string MirrorMap::source_dir_of(const std::string& path) const {
  for (const auto& root : m_roots) {
    if (path.size() <= root.mirror.size() + 1 ||
        path.compare(0, root.mirror.size(), root.mirror) != 0 || path[root.mirror.size()] != '/')
      continue;
    std::string rest = path.substr(root.mirror.size() + 1);
    auto slash = rest.rfind('/');
    return slash == std::string::npos ? root.source : join_path(root.source, rest.substr(0, slash));
  }
  return {};
}

}  // namespace pycache_clean
