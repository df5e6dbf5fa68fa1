// The pyc format in one place: the magic-number table of CPython 3.6-3.14
// (ranges from the comment table in CPython's
// Include/internal/pycore_magic_number.h, formerly
// Lib/importlib/_bootstrap_external.py), the PEP 552 header and the source
// hash of hash-based caches. Cache file names: cache_name.cpp.
#include "pyc/pyc.hpp"

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

}  // namespace pycache_clean
