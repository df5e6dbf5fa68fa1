#pragma once

#include <string>

#include <pycache_clean/sweep.hpp>

namespace pycache_clean {

// The one-line summary, e.g. `Cleared 3/4 __pycache__ directories`, plus a
// second line for stray bytecode when `with_stray`. No trailing newline.
std::string format_sweep_summary(const SweepReport& report, bool with_stray);

// The whole report as one JSON object (no trailing newline).
std::string format_sweep_json(const SweepReport& report);

}  // namespace pycache_clean
