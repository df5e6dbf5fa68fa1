#pragma once

#include <memory>
#include <string>

#include "check/stale_check.hpp"

// How `check` (and `clean --stale-only`) print their findings: the text a
// person reads, or what a CI system reads (--output-format).
namespace pycache_clean::cli {

enum class OutputFormat { concise, json, json_lines, github, gitlab, sarif };

// "concise", "json", ... (the --output-format words).
const char* output_format_name(OutputFormat format);
// The format named `word`, for --output-format and PYCACHE_CLEAN_OUTPUT_FORMAT.
OutputFormat output_format_from_name(const std::string& word);

// Which findings a format shows: every non-ok one (`all`, -v), those that
// fail the gate (check), those removed or to be (clean --stale-only -n).
// JSON documents hold every non-ok finding whatever this says.
struct FindingLines {
  bool all = false;
  bool gate = false;
  bool removable = false;
};

struct OutputSettings {
  OutputFormat format = OutputFormat::concise;
  FindingLines lines;
  bool stale_clean = false;  // clean --stale-only's report
  bool colour = false;       // concise: classes coloured
};

// Writes findings as they come, between a head written before the walk and a
// tail after it. Called one finding at a time.
class FindingOutput {
 public:
  virtual ~FindingOutput() = default;
  virtual void head() {}
  virtual void finding(const CacheVerdict& f, bool removable) = 0;
  virtual void tail(const CheckReport&) {}
  // Whether the text summary lines follow (concise, github).
  virtual bool wants_text_summary() const { return false; }
};
std::unique_ptr<FindingOutput> make_finding_output(const OutputSettings& settings);

// What clears a finding that fails the gate: " (fix: pycache-clean ...)".
std::string fix_hint(const CacheVerdict& f);

}  // namespace pycache_clean::cli
