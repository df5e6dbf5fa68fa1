// The one-line summaries `clean` and `check` print: the words users read
// and scripts grep (`Cleared N/Total ...`), decided here with the rest of
// what the program says.
#include "summary.hpp"

#include <fmt/format.h>

namespace pycache_clean::cli {

std::string format_sweep_summary(const SweepReport& report, bool with_stray) {
  auto dirs = [](std::size_t n) { return n == 1 ? "directory" : "directories"; };
  auto files = [](std::size_t n) { return n == 1 ? "file" : "files"; };
  std::string out = report.dry_run ? fmt::format("Would clear {}/{} __pycache__ {} (dry run)",
                                                 report.found, report.found, dirs(report.found))
                                   : fmt::format("Cleared {}/{} __pycache__ {}", report.removed,
                                                 report.found, dirs(report.found));
  if (with_stray) {
    out += report.dry_run
               ? fmt::format("\nWould remove {}/{} stray bytecode {} (dry run)", report.stray_found,
                             report.stray_found, files(report.stray_found))
               : fmt::format("\nRemoved {}/{} stray bytecode {}", report.stray_removed,
                             report.stray_found, files(report.stray_found));
  }
  return out;
}

namespace {

// "no interpreter", or "2 no interpreter, 1 compile timed out" when the
// unverified caches have several reasons.
std::string why_unverified(const CheckReport& r) {
  std::vector<std::pair<std::uint64_t, std::string>> parts;
  for (int i = 0; i < k_unverified_reasons; ++i) {
    if (r.unverified_by[i] == 0) continue;
    switch (static_cast<Unverified>(i)) {
      case Unverified::no_interpreter:
        parts.emplace_back(r.unverified_by[i], "no interpreter");
        break;
      case Unverified::too_large:
        parts.emplace_back(
            r.unverified_by[i],
            fmt::format("larger than {} MiB", CodeVerifier::k_max_verified_bytes >> 20));
        break;
      case Unverified::timed_out:
        parts.emplace_back(r.unverified_by[i], "compile timed out");
        break;
      case Unverified::unreadable:
        parts.emplace_back(r.unverified_by[i], "could not be read");
        break;
    }
  }
  if (parts.size() == 1) return parts[0].second;
  std::string out;
  for (const auto& [n, why] : parts) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, why);
  return out;
}

}  // namespace

std::string format_check_summary(const CheckReport& r) {
  std::string out = fmt::format("checked {} {}", r.checked, r.checked == 1 ? "cache" : "caches");
  for (int i = 0; i < k_cache_class_count; ++i)
    out += fmt::format("{} {} {}", i == 0 ? ":" : ",", r.counts[i],
                       cache_class_name(static_cast<CacheClass>(i)));
  if (r.verified > 0 || r.unverified > 0) {
    std::string with;
    for (const auto& [version, program] : r.interpreters)
      with += (with.empty() ? "" : ", ") + ("python" + version);
    out += fmt::format("; {} verified by compiling", r.verified);
    if (!with.empty()) out += " (" + with + ")";
    if (r.unverified > 0)
      out += fmt::format(", {} unverified ({})", r.unverified, why_unverified(r));
  }
  if (r.trusted_unproved > 0)
    out += fmt::format("; {} trusted without proof (no sign of change)", r.trusted_unproved);
  if (!r.links.empty())
    out +=
        fmt::format("; {} {} not followed", r.links.size(), r.links.size() == 1 ? "link" : "links");
  return out;
}

std::string format_stale_clean_summary(const CheckReport& r) {
  return fmt::format("Cleared {}/{} stale {}", r.removed, r.removable,
                     r.removable == 1 ? "cache" : "caches");
}

}  // namespace pycache_clean::cli
