// The pyc format in one place: the magic-number table of CPython 3.6-3.14
// (ranges from the comment table in CPython's
// Include/internal/pycore_magic_number.h, formerly
// Lib/importlib/_bootstrap_external.py), the PEP 552 header, and the PEP 3147
// / PEP 488 cache file names, plus pytest's assertion-rewrite names.
#include "pyc/pyc.hpp"

#include <cctype>

#include <cstdlib>
#include "util/siphash.hpp"

namespace pycache_clean {

namespace {

constexpr MagicInfo k_magic_table[] = {
    {3, 6, 3360, 3379},  {3, 7, 3390, 3394},  {3, 8, 3400, 3413},
    {3, 9, 3420, 3425},  {3, 10, 3430, 3439}, {3, 11, 3450, 3495},
    {3, 12, 3500, 3531}, {3, 13, 3550, 3571}, {3, 14, 3600, 3627},
};

std::uint32_t le32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::optional<MagicInfo> magic_info(std::uint16_t magic) {
  for (const auto& m : k_magic_table)
    if (magic >= m.first && magic <= m.final) return m;
  return std::nullopt;
}

std::optional<MagicInfo> magic_for_version(int major, int minor) {
  for (const auto& m : k_magic_table)
    if (m.major == major && m.minor == minor) return m;
  return std::nullopt;
}

std::optional<SipHasher> source_hasher_for_magic(std::uint16_t magic) {
  auto info = magic_info(magic);
  if (!info || info->minor < 7) return std::nullopt;
  // The key is the whole 4-byte magic (number + "\r\n") read little-endian;
  // SipHash-1-3 from 3.11, SipHash-2-4 before (Python/pyhash.c).
  std::uint32_t raw = magic | (std::uint32_t{'\r'} << 16) | (std::uint32_t{'\n'} << 24);
  bool siphash13 = info->minor >= 11;
  return SipHasher(siphash13 ? 1 : 2, siphash13 ? 3 : 4, raw, 0);
}

std::optional<std::uint64_t> source_hash_for_magic(std::uint16_t magic, std::string_view data) {
  auto hasher = source_hasher_for_magic(magic);
  if (!hasher) return std::nullopt;
  hasher->update(data.data(), data.size());
  return hasher->finish();
}

PycParse parse_pyc_header(std::string_view bytes, PycHeader& out) {
  if (bytes.size() < 4) return PycParse::too_short;
  if (bytes[2] != '\r' || bytes[3] != '\n') return PycParse::bad_magic;
  out.raw_magic = le32(bytes.data());
  out.magic = static_cast<std::uint16_t>(out.raw_magic & 0xffff);
  auto info = magic_info(out.magic);
  bool has_flags = !info || info->minor >= 7;  // PEP 552 (3.7) added the flags word
  if (!has_flags) {
    if (bytes.size() < 12) return PycParse::too_short;
    out.mtime = le32(bytes.data() + 4);
    out.size = le32(bytes.data() + 8);
    return PycParse::ok;
  }
  if (bytes.size() < 16) return PycParse::too_short;
  out.flags = le32(bytes.data() + 4);
  if (out.flags & ~3U) return PycParse::unknown_flags;
  out.hash_based = out.flags & 1U;
  out.check_source = out.flags & 2U;
  if (out.hash_based) {
    out.source_hash = static_cast<std::uint64_t>(le32(bytes.data() + 8)) |
                      (static_cast<std::uint64_t>(le32(bytes.data() + 12)) << 32);
  } else {
    out.mtime = le32(bytes.data() + 8);
    out.size = le32(bytes.data() + 12);
  }
  return PycParse::ok;
}

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

}  // namespace pycache_clean
