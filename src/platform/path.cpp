// Paths as text: joining, splitting and normalising them in this platform's
// syntax (is_path_separator and is_absolute_path come from posix/ or
// windows/). The walks never resolve a path: these only name what they open
// relative to a parent handle.
#include "platform/path.hpp"

#include <algorithm>

namespace pycache_clean {

std::string join_path(const std::string& dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out = dir;
  // Windows: continue a path the way it was typed, "C:\\src" + "pkg" -> "C:\\src\\pkg".
  char separator = is_path_separator('\\') && dir.find('\\') != std::string::npos ? '\\' : '/';
  if (out.empty() || !is_path_separator(out.back())) out.push_back(separator);
  out.append(name.data(), name.size());
  return out;
}

std::pair<std::string, std::string> split_last(std::string path) {
  while (path.size() > 1 && is_path_separator(path.back())) path.pop_back();
  auto it = std::find_if(path.rbegin(), path.rend(), is_path_separator);
  if (it == path.rend()) return {".", path};
  std::size_t slash = static_cast<std::size_t>(path.rend() - it) - 1;
  bool at_root = slash == 0 || (slash == 2 && path[1] == ':' && is_absolute_path(path));
  return {path.substr(0, at_root ? slash + 1 : slash), path.substr(slash + 1)};
}

std::vector<std::string_view> path_parts(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    auto cut = static_cast<std::size_t>(std::find_if(path.begin(), path.end(), is_path_separator) -
                                        path.begin());
    if (cut > 0) parts.push_back(path.substr(0, cut));
    path.remove_prefix(std::min(path.size(), cut + 1));
  }
  return parts;
}

std::string lexically_normal(const std::string& path) {
  std::vector<std::string_view> parts;
  for (std::string_view part : path_parts(path)) {
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (part != ".") {
      parts.push_back(part);
    }
  }
  std::string out;
  for (auto p : parts) {
    out.push_back('/');
    out.append(p.data(), p.size());
  }
  return out.empty() ? "/" : out;
}

}  // namespace pycache_clean
