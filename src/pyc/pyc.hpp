#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/siphash.hpp"

namespace pycache_clean {

// One CPython minor version's bytecode magic: the number its releases write
// and the range its pre-releases used.
struct MagicInfo {
  int major;
  int minor;
  std::uint16_t first;  // first pre-release magic of the series
  std::uint16_t final;  // what every release of the series writes
};

// The release a magic number belongs to (3.6 to 3.14), or empty.
std::optional<MagicInfo> magic_info(std::uint16_t magic);
// The release series for cache tag `cpython-311`, or empty.
std::optional<MagicInfo> magic_for_version(int major, int minor);

// importlib.util.source_hash(data) as CPython with bytecode magic `magic`
// computes it, as the 8 stored bytes read little-endian; empty for a magic
// outside the table or older than 3.7 (no hash-based pycs).
std::optional<std::uint64_t> source_hash_for_magic(std::uint16_t magic, std::string_view data);
// The same hash fed in chunks: empty where source_hash_for_magic would be.
std::optional<SipHasher> source_hasher_for_magic(std::uint16_t magic);

// A parsed pyc header (PEP 552; 3.6 and older: no flags word).
struct PycHeader {
  std::uint16_t magic = 0;
  std::uint32_t raw_magic = 0;  // the 4 bytes read little-endian (the hash key)
  std::uint32_t flags = 0;
  bool hash_based = false;    // flags bit 0
  bool check_source = false;  // flags bit 1
  std::uint32_t mtime = 0;    // timestamp pycs: source mtime, whole seconds, low 32 bits
  std::uint32_t size = 0;     // timestamp pycs: source size, low 32 bits
  std::uint64_t source_hash = 0;
};

enum class PycParse { ok, too_short, bad_magic, unknown_flags };

// Parses the first bytes of a .pyc (`bytes`, at least 16 if the file has them).
PycParse parse_pyc_header(std::string_view bytes, PycHeader& out);

}  // namespace pycache_clean
