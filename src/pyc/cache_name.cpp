// Cache file names: `NAME.TAG[.opt-N].pyc` (PEP 3147, PEP 488) and pytest's
// `NAME.TAG-pytest-X.Y.Z.pyc`, read as CPython's cache_from_source and
// source_from_cache write and read them.
#include "pyc/cache_name.hpp"

#include <cctype>
#include <cstdlib>

namespace pycache_clean {

namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::optional<CacheName> parse_cache_name(std::string_view name) {
  constexpr std::string_view suffix = ".pyc";
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix)
    return std::nullopt;
  std::string_view stem = name.substr(0, name.size() - suffix.size());
  auto dot = stem.find('.');
  if (dot == 0 || dot == std::string_view::npos) return std::nullopt;
  CacheName out;
  out.module = std::string(stem.substr(0, dot));
  std::string_view rest = stem.substr(dot + 1);
  auto pytest = rest.find("-pytest-");
  if (pytest != std::string_view::npos) {
    out.pytest = true;
    out.tag = std::string(rest.substr(0, pytest));
  } else {
    auto opt = rest.find('.');
    out.tag = std::string(rest.substr(0, opt));
    if (opt != std::string_view::npos) {
      std::string_view level = rest.substr(opt + 1);  // PEP 488: opt-1, opt-2
      if (level.substr(0, 4) != "opt-" || level.size() == 4 || level.find('.') != level.npos)
        return std::nullopt;
      out.opt = level == "opt-1" ? 1 : level == "opt-2" ? 2 : -1;
    }
  }
  if (out.tag.empty()) return std::nullopt;
  constexpr std::string_view cpython = "cpython-";
  std::string_view tag(out.tag);
  if (tag.substr(0, cpython.size()) == cpython && all_digits(tag.substr(cpython.size())) &&
      tag.size() > cpython.size() + 1) {
    std::string_view digits = tag.substr(cpython.size());
    out.tag_major = digits[0] - '0';
    out.tag_minor = std::atoi(std::string(digits.substr(1)).c_str());
  }
  return out;
}

bool is_implementation_tag(std::string_view tag) {
  // cpython-311, pypy39: letters, an optional '-', digits.
  std::size_t i = 0;
  while (i < tag.size() && tag[i] >= 'a' && tag[i] <= 'z') ++i;
  if (i == 0) return false;
  if (i < tag.size() && tag[i] == '-') ++i;
  std::size_t digits = i;
  while (i < tag.size() && tag[i] >= '0' && tag[i] <= '9') ++i;
  return i == tag.size() && i > digits;
}

bool is_bytecode_name(std::string_view name) {
  if (name.size() < 5) return false;
  auto ext = name.substr(name.size() - 4);
  return ext == ".pyc" || ext == ".pyo";
}

bool is_cache_file_name(std::string_view name) {
  auto parsed = parse_cache_name(name);
  return parsed && is_implementation_tag(parsed->tag);
}

}  // namespace pycache_clean
