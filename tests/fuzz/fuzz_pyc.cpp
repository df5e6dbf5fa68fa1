// libFuzzer target: the pyc header and cache-name parsers never crash, read
// out of bounds or contradict themselves on any input.
#include "pyc/cache_name.hpp"
#include "pyc/pyc.hpp"
#include "sweep/walker.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pycache_clean::PycHeader header;
  auto parsed = pycache_clean::parse_pyc_header(bytes, header);
  if (parsed == pycache_clean::PycParse::ok && size < 16 && header.hash_based) std::abort();
  auto name = pycache_clean::parse_cache_name(bytes);
  if (name && name->module.empty()) std::abort();
  // A mirror file name must be a cache name first.
  if (pycache_clean::is_cache_file_name(bytes) && !name) std::abort();
  if (size >= 2) (void)pycache_clean::source_hash_for_magic(header.magic, bytes);
  return 0;
}
