// The one-line summaries `clean` and `check` print: the words users read
// and scripts grep (`Cleared N/Total ...`), decided here with the rest of
// what the program says.
#include "cli/summary.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "cli/help.hpp"

namespace pycache_clean::cli {

std::string format_sweep_summary(const SweepReport& report, bool with_stray, bool with_tagged) {
  auto dirs = [](std::size_t n) { return n == 1 ? "directory" : "directories"; };
  auto files = [](std::size_t n) { return n == 1 ? "file" : "files"; };
  std::string out = report.dry_run ? fmt::format("Would clear {}/{} __pycache__ {} (dry run)",
                                                 report.found, report.found, dirs(report.found))
                                   : fmt::format("Cleared {}/{} __pycache__ {}", report.removed,
                                                 report.found, dirs(report.found));
  if (with_tagged) {
    auto dirs_tagged = [&](std::size_t n) {
      return n == 1 ? "tagged cache directory" : "tagged cache directories";
    };
    out += report.dry_run ? fmt::format("\nWould clear {}/{} {} (dry run)", report.tagged_found,
                                        report.tagged_found, dirs_tagged(report.tagged_found))
                          : fmt::format("\nCleared {}/{} {}", report.tagged_removed,
                                        report.tagged_found, dirs_tagged(report.tagged_found));
  }
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

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} {}", bytes, bytes == 1 ? "byte" : "bytes");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

std::string class_word(CacheClass c, bool colour, int width) {
  std::string word = cache_class_name(c);
  if (width > 0)
    word.resize(std::max<std::size_t>(word.size(), static_cast<std::size_t>(width)), ' ');
  if (!colour) return word;
  const char* style = "\033[2m";  // orphan, foreign: harmless
  switch (c) {
    case CacheClass::ok:
      style = "\033[32m";
      break;
    case CacheClass::stale:
      style = "\033[33m";
      break;
    case CacheClass::suspect:
    case CacheClass::corrupt:
    case CacheClass::orphan_importable:
      style = "\033[1;31m";
      break;
    default:
      break;
  }
  return style + word + "\033[0m";
}

std::string format_check_summary(const CheckReport& r, bool colour) {
  std::string out = fmt::format("checked {} {}", r.checked, r.checked == 1 ? "cache" : "caches");
  const char* sep = ": ";
  for (int i = 0; i < k_cache_class_count; ++i) {
    if (r.counts[i] == 0) continue;
    out +=
        fmt::format("{}{} {}", sep, r.counts[i], class_word(static_cast<CacheClass>(i), colour, 0));
    sep = ", ";
  }
  // Each further fact on a line of its own, indented, so that none runs past 80 columns.
  std::vector<std::string> facts;
  if (r.verified > 0 || r.unverified > 0) {
    std::string with;
    for (const auto& [version, program] : r.interpreters)
      with += (with.empty() ? "" : ", ") + ("python" + version);
    std::string fact = fmt::format("{} verified by compiling", r.verified);
    if (!with.empty()) fact += " (" + with + ")";
    facts.push_back(fact);
    if (r.unverified > 0)
      facts.push_back(fmt::format("{} unverified ({})", r.unverified, why_unverified(r)));
  }
  if (r.trusted_unproved > 0)
    facts.push_back(
        fmt::format("{} trusted without proof (no sign of change)", r.trusted_unproved));
  if (r.tagged_dirs > 0)
    facts.push_back(fmt::format("{} tagged cache {}, {} (clean --tagged removes them)",
                                r.tagged_dirs, r.tagged_dirs == 1 ? "directory" : "directories",
                                human_bytes(r.tagged_bytes)));
  if (!r.links.empty())
    facts.push_back(
        fmt::format("{} {} not followed", r.links.size(), r.links.size() == 1 ? "link" : "links"));
  for (const auto& fact : facts) out += "\n  " + wrap_hanging(fact, 4);
  return out;
}

std::string format_stale_clean_summary(const CheckReport& r) {
  if (r.dry_run)
    return fmt::format("Would clear {}/{} stale {} (dry run)", r.removable, r.removable,
                       r.removable == 1 ? "cache" : "caches");
  return fmt::format("Cleared {}/{} stale {}", r.removed, r.removable,
                     r.removable == 1 ? "cache" : "caches");
}

}  // namespace pycache_clean::cli
