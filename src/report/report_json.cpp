// The --json documents of `clean` and `check`: one writer for the part they
// share, so that their failures carry the same fields.
#include "report/report_json.hpp"

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/json.hpp"

namespace pycache_clean {

namespace {

// "failures", "unreadable" and "missing": each path with its error's text
// and number, one piece each (a list may be longer than memory should hold).
void write_list(const JsonSink& out, const char* key, const ProblemLog& list) {
  out(fmt::format(",\"{}\":[", key));
  bool first = true;
  list.for_each([&](const PathProblem& p) {
    JsonWriter json;
    json.begin_object().key("path").value(p.path).key("error").value(errno_text(p.error));
    json.key("errno").value(p.error).end_object();
    out((first ? "" : ",") + json.str());
    first = false;
  });
  out("]");
}

void write_problems(const WalkReport& report, const JsonSink& out) {
  write_list(out, "failures", report.kept);
  write_list(out, "unreadable", report.unreadable);
  write_list(out, "missing", report.bad_roots);
}

// The members of `json` (an object), without its braces.
std::string members(const JsonWriter& json) {
  const std::string& s = json.str();
  return s.substr(1, s.size() - 2);
}

}  // namespace

std::string format_sweep_json_head(bool dry_run) {
  JsonWriter json;
  json.begin_object();
  json.key("schema_version").value(k_json_schema_version);
  json.key("command").value("clean");
  json.key("dry_run").value(dry_run);
  std::string head = json.str();
  return head + ",\"removed_paths\":[";  // the object stays open: paths stream after it
}

void write_sweep_json_tail(const SweepReport& report, const JsonSink& out) {
  JsonWriter counts;
  counts.begin_object();
  counts.key("found").value(report.found);
  counts.key("removed").value(report.removed);
  counts.end_object();
  out("]," + members(counts));  // closes the paths, continues the object
  write_problems(report, out);
  JsonWriter rest;
  rest.begin_object();
  rest.key("tagged").begin_object();
  rest.key("found").value(report.tagged_found).key("removed").value(report.tagged_removed);
  rest.end_object();
  rest.key("stray").begin_object();
  rest.key("found").value(report.stray_found).key("removed").value(report.stray_removed);
  rest.end_object();
  rest.key("elapsed_ms").value(report.elapsed_ms);
  rest.end_object();
  out("," + members(rest) + "}");
}

std::string format_check_json_head(bool stale_clean) {
  JsonWriter json;
  json.begin_object()
      .key("schema_version")
      .value(k_json_schema_version)
      .key("command")
      .value(stale_clean ? "clean --stale-only" : "check");
  std::string head = json.str();
  return head + ",\"findings\":[";  // the object stays open: findings stream after it
}

std::string format_check_json_finding(const CacheVerdict& f, bool first) {
  JsonWriter json;
  json.begin_object()
      .key("path")
      .value(f.path)
      .key("class")
      .value(cache_class_name(f.cls))
      .key("reason")
      .value(f.reason)
      .key("verification")
      .value(verification_name(f.verification))
      .end_object();
  return (first ? "" : ",") + json.str();
}

void write_check_json_tail(const CheckReport& r, bool stale_clean, const JsonSink& out) {
  JsonWriter json;
  json.begin_object();
  json.key("checked").value(r.checked);
  json.key("counts").begin_object();
  for (int i = 0; i < k_cache_class_count; ++i)
    json.key(cache_class_name(static_cast<CacheClass>(i))).value(r.counts[i]);
  json.end_object();
  json.key("verified").value(r.verified);
  json.key("unverified").value(r.unverified);
  json.key("trusted_unproved").value(r.trusted_unproved);
  json.key("unverified_reasons").begin_object();
  for (int i = 0; i < k_unverified_reasons; ++i)
    json.key(unverified_reason_name(static_cast<Unverified>(i))).value(r.unverified_by[i]);
  json.end_object();
  json.key("interpreters").begin_object();
  for (const auto& [version, program] : r.interpreters) json.key(version).value(program);
  json.end_object();
  json.key("tagged").begin_object();
  json.key("directories").value(r.tagged_dirs).key("bytes").value(r.tagged_bytes);
  json.end_object();
  if (stale_clean) {
    json.key("removable").value(r.removable);
    json.key("removed").value(r.removed);
    json.key("dry_run").value(r.dry_run);
  }
  json.end_object();
  out("]," + members(json));  // closes the findings, continues the object
  write_problems(r, out);
  write_list(out, "links_not_followed", r.links);
  JsonWriter rest;
  rest.begin_object().key("elapsed_ms").value(r.elapsed_ms).end_object();
  out("," + members(rest) + "}");
}

}  // namespace pycache_clean
