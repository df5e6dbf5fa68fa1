// The output formats of `check`: concise text (coloured on a terminal), one
// JSON document, JSON lines, GitHub workflow commands, a GitLab Code Quality
// report and SARIF 2.1.0. Each streams: memory does not grow with the number
// of findings, and the JSON documents are one line each.
//
// Formats read by CI systems name each cache by a path relative to the
// working directory where the walk gave one (`./pkg/...` loses its `./`),
// as GitHub's annotations, GitLab's report and SARIF's artifact locations
// expect; absolute paths stay absolute (in SARIF as file:// URIs).
#include "cli/check_output.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/summary.hpp"
#include "cli/version.hpp"
#include "report/report_json.hpp"
#include "util/json.hpp"
#include "util/siphash.hpp"

namespace pycache_clean::cli {

namespace {

constexpr const char* k_names[] = {"concise", "json", "json-lines", "github", "gitlab", "sarif"};

bool shown(const FindingLines& lines, const CacheVerdict& f, bool removable) {
  return lines.all || (lines.gate && is_gate_failure(f.cls)) || (lines.removable && removable);
}

// `./pkg/x.pyc` as `pkg/x.pyc`; on Windows `.\pkg\x.pyc` as `pkg/x.pyc`.
std::string relative_path(const std::string& path) {
  std::string out = path;
#ifdef _WIN32
  for (char& c : out)
    if (c == '\\') c = '/';
#endif
  while (out.size() > 2 && out[0] == '.' && out[1] == '/') out.erase(0, 2);
  return out;
}

// What the finding says, with the way to clear it.
std::string message(const CacheVerdict& f) {
  return fmt::format("{} cache: {}{}", cache_class_name(f.cls), f.reason, fix_hint(f));
}

class Concise final : public FindingOutput {
 public:
  explicit Concise(const OutputSettings& s) : m_s(s) {}
  void finding(const CacheVerdict& f, bool removable) override {
    if (!shown(m_s.lines, f, removable)) return;
    print_styled_line(class_word(f.cls, m_s.colour, 17) + " ",
                      fmt::format("{}: {}{}", f.path, f.reason, fix_hint(f)));
  }
  bool wants_text_summary() const override { return true; }

 private:
  OutputSettings m_s;
};

class Json final : public FindingOutput {
 public:
  explicit Json(bool stale_clean) : m_stale_clean(stale_clean) {}
  void head() override { print_json_piece(format_check_json_head(m_stale_clean)); }
  void finding(const CacheVerdict& f, bool) override {
    print_json_piece(format_check_json_finding(f, m_first));
    m_first = false;
  }
  void tail(const CheckReport& r) override {
    write_check_json_tail(r, m_stale_clean, print_json_piece);
    end_json_document();
  }

 private:
  bool m_stale_clean;
  bool m_first = true;
};

// One finding per line, each a JSON object as in --json's findings.
class JsonLines final : public FindingOutput {
 public:
  void finding(const CacheVerdict& f, bool) override {
    print_line(format_check_json_finding(f, true));
  }
};

// GitHub Actions workflow commands: an annotation per finding shown, `error`
// for those that fail the gate, `notice` for the rest (-v). Data escaped as
// the runner unescapes it: % CR LF, and in properties also : and ,.
class Github final : public FindingOutput {
 public:
  explicit Github(const OutputSettings& s) : m_s(s) {}
  void finding(const CacheVerdict& f, bool removable) override {
    if (!shown(m_s.lines, f, removable)) return;
    print_line(fmt::format("::{} file={},title={}::{}", is_gate_failure(f.cls) ? "error" : "notice",
                           escape(relative_path(f.path), true),
                           escape(std::string("pycache-clean: ") + cache_class_name(f.cls), true),
                           escape(message(f), false)));
  }
  bool wants_text_summary() const override { return true; }

 private:
  static std::string escape(const std::string& text, bool property) {
    std::string out;
    for (char c : text) {
      switch (c) {
        case '%':
          out += "%25";
          break;
        case '\r':
          out += "%0D";
          break;
        case '\n':
          out += "%0A";
          break;
        case ':':
          out += property ? "%3A" : ":";
          break;
        case ',':
          out += property ? "%2C" : ",";
          break;
        default:
          out += c;
      }
    }
    return out;
  }
  OutputSettings m_s;
};

// A stable identifier of a finding: the same cache and class, the same print.
std::string fingerprint(const CacheVerdict& f) {
  SipHasher h(2, 4, 0x7079636163686521ULL, 0x636c65616e2d6370ULL);
  std::string path = relative_path(f.path);
  const char* cls = cache_class_name(f.cls);
  h.update(path.data(), path.size());
  h.update("\0", 1);
  h.update(cls, std::char_traits<char>::length(cls));
  return fmt::format("{:016x}", h.finish());
}

// A GitLab Code Quality report: a JSON array of issues, gate failures
// `major`, the rest (-v) `info`.
class Gitlab final : public FindingOutput {
 public:
  explicit Gitlab(const OutputSettings& s) : m_s(s) {}
  void head() override { print_json_piece("["); }
  void finding(const CacheVerdict& f, bool removable) override {
    if (!shown(m_s.lines, f, removable)) return;
    JsonWriter json;
    json.begin_object()
        .key("description")
        .value(message(f))
        .key("check_name")
        .value(std::string("pycache-clean/") + cache_class_name(f.cls))
        .key("fingerprint")
        .value(fingerprint(f))
        .key("severity")
        .value(is_gate_failure(f.cls) ? "major" : "info")
        .key("location")
        .begin_object()
        .key("path")
        .value(relative_path(f.path))
        .key("lines")
        .begin_object()
        .key("begin")
        .value(1)
        .end_object()
        .end_object()
        .end_object();
    print_json_piece((m_first ? "" : ",") + json.str());
    m_first = false;
  }
  void tail(const CheckReport&) override {
    print_json_piece("]");
    end_json_document();
  }

 private:
  OutputSettings m_s;
  bool m_first = true;
};

// A path as a SARIF artifact URI: relative paths as URI references,
// absolute ones as file:// URIs, bytes outside the unreserved set and '/'
// percent-encoded.
std::string artifact_uri(const std::string& path) {
  std::string p = relative_path(path);
  std::string out;
  if (!p.empty() && p[0] == '/')
    out = "file://";
  else if (p.size() > 2 && p[1] == ':' && p[2] == '/')
    out = "file:///";
  for (unsigned char c : p) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || c == '/' ||
                 (c == ':' && out == "file:///");
    out += plain ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
  }
  return out;
}

// SARIF 2.1.0: one run, a rule per class, a result per finding shown
// (`error` for gate failures, `note` for the rest with -v).
class Sarif final : public FindingOutput {
 public:
  explicit Sarif(const OutputSettings& s) : m_s(s) {}
  void head() override {
    JsonWriter rules;
    rules.begin_array();
    for (int i = 0; i < k_cache_class_count; ++i) {
      auto c = static_cast<CacheClass>(i);
      if (c == CacheClass::ok) continue;
      rules.begin_object()
          .key("id")
          .value(cache_class_name(c))
          .key("shortDescription")
          .begin_object()
          .key("text")
          .value(class_description(c))
          .end_object()
          .key("defaultConfiguration")
          .begin_object()
          .key("level")
          .value(is_gate_failure(c) ? "error" : "note")
          .end_object()
          .end_object();
    }
    rules.end_array();
    print_json_piece(
        R"({"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0",)"
        R"("runs":[{"tool":{"driver":{"name":"pycache-clean","version":")" PYCACHE_CLEAN_VERSION
        R"(","rules":)" +
        rules.str() + R"(}},"results":[)");
  }
  void finding(const CacheVerdict& f, bool removable) override {
    if (!shown(m_s.lines, f, removable)) return;
    JsonWriter json;
    json.begin_object()
        .key("ruleId")
        .value(cache_class_name(f.cls))
        .key("ruleIndex")
        .value(static_cast<int>(f.cls) - 1)
        .key("level")
        .value(is_gate_failure(f.cls) ? "error" : "note")
        .key("message")
        .begin_object()
        .key("text")
        .value(message(f))
        .end_object()
        .key("locations")
        .begin_array()
        .begin_object()
        .key("physicalLocation")
        .begin_object()
        .key("artifactLocation")
        .begin_object()
        .key("uri")
        .value(artifact_uri(f.path))
        .end_object()
        .end_object()
        .end_object()
        .end_array()
        .end_object();
    print_json_piece((m_first ? "" : ",") + json.str());
    m_first = false;
  }
  void tail(const CheckReport&) override {
    print_json_piece("]}]}");
    end_json_document();
  }

 private:
  static const char* class_description(CacheClass c) {
    switch (c) {
      case CacheClass::stale:
        return "CPython recompiles this cache: dead weight";
      case CacheClass::suspect:
        return "CPython loads this cache although its code differs from the source's";
      case CacheClass::orphan:
        return "No source beside this cache (harmless inside __pycache__)";
      case CacheClass::orphan_importable:
        return "A legacy .pyc whose source is gone: import still loads it";
      case CacheClass::foreign:
        return "Not a cache of its tag's CPython";
      case CacheClass::corrupt:
        return "CPython would load this cache and fail";
      default:
        return "";
    }
  }
  OutputSettings m_s;
  bool m_first = true;
};

}  // namespace

const char* output_format_name(OutputFormat format) {
  return k_names[static_cast<int>(format)];
}

OutputFormat output_format_from_name(const std::string& word) {
  for (int i = 0; i < static_cast<int>(std::size(k_names)); ++i)
    if (word == k_names[i]) return static_cast<OutputFormat>(i);
  return OutputFormat::concise;
}

std::string fix_hint(const CacheVerdict& f) {
  // A legacy .pyc goes only with --stray, whatever its directory is called.
  bool stray = f.kind == CacheFileKind::legacy;
  switch (f.cls) {
    case CacheClass::suspect:
    case CacheClass::corrupt:
      return stray ? " (fix: pycache-clean clean --stale-only --stray)"
                   : " (fix: pycache-clean clean --stale-only)";
    case CacheClass::orphan_importable:
      return " (fix: pycache-clean clean --stale-only --stray)";
    default:
      return "";
  }
}

std::unique_ptr<FindingOutput> make_finding_output(const OutputSettings& s) {
  switch (s.format) {
    case OutputFormat::json:
      return std::make_unique<Json>(s.stale_clean);
    case OutputFormat::json_lines:
      return std::make_unique<JsonLines>();
    case OutputFormat::github:
      return std::make_unique<Github>(s);
    case OutputFormat::gitlab:
      return std::make_unique<Gitlab>(s);
    case OutputFormat::sarif:
      return std::make_unique<Sarif>(s);
    case OutputFormat::concise:
      break;
  }
  return std::make_unique<Concise>(s);
}

}  // namespace pycache_clean::cli
