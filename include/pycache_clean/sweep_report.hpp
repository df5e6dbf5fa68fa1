#pragma once

#include <string>

#include <pycache_clean/sweep.hpp>

namespace pycache_clean {

// The one-line summary, e.g. `Cleared 3/4 __pycache__ directories`, plus a
// second line for stray bytecode when `with_stray`. No trailing newline.
std::string format_sweep_summary(const SweepReport& report, bool with_stray);

// The version of every --json document's layout (docs/*.schema.json): bumped
// when a field changes meaning or goes; new fields do not bump it.
inline constexpr int k_json_schema_version = 1;

// The report as one JSON object (docs/clean.schema.json), streamed: the head
// opens the object and its "removed_paths" array, each removed (with
// dry_run: doomed) path follows as json_quote(path) with a comma before all
// but the first, and the tail closes the array and the object. No newlines.
std::string format_sweep_json_head(bool dry_run);
std::string format_sweep_json_tail(const SweepReport& report);

}  // namespace pycache_clean
