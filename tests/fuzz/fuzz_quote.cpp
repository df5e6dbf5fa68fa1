// libFuzzer target: what reaches a terminal never holds a control character
// (C0, DEL, C1) whatever the name, and JSON quoting never emits a raw one.
#include "util/json.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

bool has_control(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0 &&
        static_cast<unsigned char>(s[i + 1]) >= 0x80)
      return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (has_control(pycache_clean::terminal_safe(text))) std::abort();
  std::string quoted = pycache_clean::json_quote(text);
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') std::abort();
  if (has_control(quoted)) std::abort();
  return 0;
}
