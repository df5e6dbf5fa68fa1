#pragma once

#include <functional>
#include <string>

#include "check/stale_check.hpp"
#include "sweep/sweep.hpp"

// The --json documents of `clean` and `check` (docs/clean.schema.json,
// docs/check.schema.json), streamed: a head, one element per removed path or
// finding as it comes, a tail. The part both share (what was kept, unreadable
// or missing, and the time taken) is written by one function for both.
namespace pycache_clean {

// The version of every --json document's layout (docs/*.schema.json): bumped
// when a field changes meaning or goes; new fields do not bump it.
inline constexpr int k_json_schema_version = 1;

// `clean`: the head opens the object and its "removed_paths" array, each
// removed (with dry_run: doomed) path follows as json_quote(path) with a
// comma before all but the first, and the tail closes the array and the
// object. No newlines.
std::string format_sweep_json_head(bool dry_run);
// Where a document's pieces go, in order: what must not be built as one
// string (a list of problems may be long) comes a piece at a time.
using JsonSink = std::function<void(const std::string& piece)>;
void write_sweep_json_tail(const SweepReport& report, const JsonSink& out);

// `check` (and `clean --stale-only`): the head (up to the findings array), one
// element per finding (`first`: no leading comma), then the rest.
std::string format_check_json_head(bool stale_clean);
std::string format_check_json_finding(const CacheVerdict& finding, bool first);
void write_check_json_tail(const CheckReport& report, bool stale_clean, const JsonSink& out);

}  // namespace pycache_clean
