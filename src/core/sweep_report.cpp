// Text and JSON renderings of a SweepReport, kept apart from the sweep so that
// the exact report line has one definition that tests can pin.
#include <pycache_clean/sweep_report.hpp>

#include <fmt/format.h>

#include <pycache_clean/error.hpp>
#include <pycache_clean/json.hpp>

namespace pycache_clean {

namespace {

void write_problems(JsonWriter& json, const char* key, const std::vector<PathProblem>& problems) {
  json.key(key).begin_array();
  for (const auto& p : problems) {
    json.begin_object().key("path").value(p.path).key("error").value(errno_text(p.error));
    json.key("errno").value(p.error).end_object();
  }
  json.end_array();
}

}  // namespace

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

std::string format_sweep_json_head(bool dry_run) {
  JsonWriter json;
  json.begin_object();
  json.key("schema_version").value(k_json_schema_version);
  json.key("command").value("clean");
  json.key("dry_run").value(dry_run);
  std::string head = json.str();
  return head + ",\"removed_paths\":[";  // the object stays open: paths stream after it
}

std::string format_sweep_json_tail(const SweepReport& report) {
  JsonWriter json;
  json.begin_object();
  json.key("found").value(report.found);
  json.key("removed").value(report.removed);
  write_problems(json, "failures", report.kept);
  write_problems(json, "unreadable", report.unreadable);
  write_problems(json, "missing", report.bad_roots);
  json.key("stray").begin_object();
  json.key("found").value(report.stray_found).key("removed").value(report.stray_removed);
  json.end_object();
  json.key("elapsed_ms").value(report.elapsed_ms);
  json.end_object();
  return "]," + json.str().substr(1);  // closes the paths, continues the object
}

}  // namespace pycache_clean
