#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>

// /proc/PID/stat on Linux (proc(5)): the fields the tool uses, parsed in one
// place for the process table and the single-process queries.
namespace pycache_clean {

struct ProcStat {
  long ppid = 0;                  // field 4
  std::uint64_t start_ticks = 0;  // field 22: start time after boot, in clock ticks
};

// Parses the text of /proc/PID/stat. Field 2 (comm) may hold spaces and
// parentheses: the fields resume after its last ')'.
inline std::optional<ProcStat> parse_proc_stat(const std::string& text) {
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  ProcStat out;
  int i = 3;
  for (; i <= 22 && fields >> field; ++i) {
    if (i == 4) out.ppid = std::strtol(field.c_str(), nullptr, 10);
    if (i == 22) out.start_ticks = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (i <= 22) return std::nullopt;  // cut short
  return out;
}

}  // namespace pycache_clean
