// libFuzzer target: a lock file's holder record, written by anyone who can
// write the file, parses without crashing, and a parsed record survives
// formatting and parsing again.
#include "guard/lock.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto record = pycache_clean::parse_holder_record(text);
  if (!record) return 0;
  if (record->pid <= 0) std::abort();
  auto again = pycache_clean::parse_holder_record(pycache_clean::format_holder_record(*record));
  if (!again || again->pid != record->pid) std::abort();
  return 0;
}
