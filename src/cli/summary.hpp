#pragma once

#include <string>

#include "check/stale_check.hpp"
#include "sweep/sweep.hpp"

namespace pycache_clean::cli {

// `Cleared 3/4 __pycache__ directories` (`Would clear 4/4 ... (dry run)`),
// plus a line for tagged cache directories when `with_tagged` and one for
// stray bytecode when `with_stray`. No trailing newline.
std::string format_sweep_summary(const SweepReport& report, bool with_stray, bool with_tagged);
// `checked N caches: K ok, S stale` (the classes met, coloured with
// `colour`), then what was verified by compiling, etc., one indented line each:
// no line over 80 columns. No trailing newline.
std::string format_check_summary(const CheckReport& report, bool colour);
// "512 bytes", "1.5 KiB", "3.2 MiB".
std::string human_bytes(std::uint64_t bytes);
// A class's name padded to `width`, in its colour (with `colour`): green ok,
// yellow stale, bold red gate failures, dim the harmless rest.
std::string class_word(CacheClass c, bool colour, int width);
// `Cleared N/Total stale caches` (clean --stale-only).
std::string format_stale_clean_summary(const CheckReport& report);

}  // namespace pycache_clean::cli
