// libFuzzer target: the marshal walker never crashes, never reads out of
// bounds and ends on any input; the first byte picks the CPython version.
#include "pyc/marshal_check.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  int minor = 6 + data[0] % 9;  // 3.6 to 3.14
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto result = pycache_clean::check_marshal(body, minor);
  if (result.result != pycache_clean::MarshalCheck::Result::ok && result.why.empty()) std::abort();
  return 0;
}
