// `check` and `clean --stale-only`: which caches would CPython still trust?
//
// importlib's SourceLoader trusts a timestamp pyc when the header's source
// mtime (whole seconds, low 32 bits) and size (low 32 bits) equal the
// source's (_bootstrap_external._validate_timestamp_pyc). A source rewritten
// within the same second to the same size keeps its stale pyc alive. The
// inode change time exposes that case: nothing but a write or metadata change
// moves it and os.utime cannot set it back, so a source whose ctime is later
// than its pyc's own ctime changed after the cache was written. Hash-based
// pycs (PEP 552) are judged by recomputing the source hash exactly as
// _imp.source_hash does.
#include <pycache_clean/stale_check.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include <pycache_clean/error.hpp>
#include <pycache_clean/json.hpp>
#include <pycache_clean/marshal_check.hpp>
#include <pycache_clean/process.hpp>
#include <pycache_clean/pyc.hpp>
#include <pycache_clean/remove.hpp>

namespace pycache_clean {

namespace {

CacheVerdict verdict(const std::string& path, CacheClass cls, std::string reason) {
  return CacheVerdict{path, cls, std::move(reason), 0};
}

CacheVerdict unreadable(const std::string& path, int err) {
  return CacheVerdict{path, CacheClass::ok, "", err};
}

bool later(std::int64_t a_sec, std::int64_t a_nsec, std::int64_t b_sec, std::int64_t b_nsec) {
  return a_sec > b_sec || (a_sec == b_sec && a_nsec > b_nsec);
}

// Finds the source NAME.py (NAME.pyw too on Windows: the platform's
// SOURCE_SUFFIXES) in `dir`, following a symbolic link as CPython's stat does;
// returns the file name or empty.
std::string find_source(FsOps& fs, Handle dir, const std::string& module, FileStat& st) {
  for (const auto& suffix : source_suffixes()) {
    std::string name = module + suffix;
    if (fs.stat_follow(dir, name.c_str(), st) == 0 && st.type == EntryType::file) return name;
  }
  return {};
}

class CheckVisitor final : public WalkVisitor {
 public:
  CheckVisitor(FsOps& fs, const CheckOptions& options, CheckReport& report)
      : m_fs(fs), m_options(options), m_report(report) {}

  void on_cache_dir(Handle parent, const char* name, const std::string& path) override {
    int err = 0;
    ScopedHandle dir(m_fs, m_fs.open_dir(parent, name, err));
    if (!dir) {
      if (err != ENOENT && err != ELOOP && err != ENOTDIR) on_unreadable(path, err);
      return;
    }
    DirListing entries;  // one bounded batch at a time
    bool removed_any = false;
    do {
      if ((err = m_fs.read_dir(dir.get(), entries)) != 0) {
        if (err != ENOENT) on_unreadable(path, err);
        break;
      }
      for (std::size_t i = 0; i < entries.size(); ++i) {
        std::string_view file = entries.name_view(i);
        if (file.size() < 5 || file.substr(file.size() - 4) != ".pyc") continue;
        if (entries.type(i) != EntryType::file && entries.type(i) != EntryType::unknown) continue;
        std::string file_path = join_path(path, file);
        CacheVerdict v = classify_cache(m_fs, parent, dir.get(), entries.name(i), true, file_path);
        removed_any |= record(v, dir.get(), entries.name(i), m_options.remove_not_ok, true);
      }
    } while (!entries.at_end());
    if (removed_any) remove_emptied_directory(m_fs, parent, name);  // fails unless empty
  }

  void on_stray_file(Handle parent, const char* name, const std::string& path) override {
    // Outside __pycache__ a file is removed only when asked (--stray): a
    // sourceless module or a .pyo fixture is not a cache of anything.
    CacheVerdict v = classify_cache(m_fs, parent, parent, name, false, path);
    record(v, parent, name, m_options.remove_not_ok && m_options.remove_stray, false);
  }

  void on_unreadable(const std::string& path, int err) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_report.unreadable.push_back(SweepProblem{path, err});
  }

  void on_bad_root(const std::string& path, int err) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_report.bad_roots.push_back(SweepProblem{path, err});
  }

 private:
  // Counts `v`; removes the file when asked and it is not ok. True if removed.
  bool record(const CacheVerdict& v, Handle dir, const char* name, bool removable,
              bool in_pycache) {
    if (v.error != 0) {
      on_unreadable(v.path, v.error);
      return false;
    }
    int err = 0;
    bool remove = removable && v.cls != CacheClass::ok;
    if (remove)
      err = remove_cache_file(m_fs, dir, name,
                              in_pycache ? CacheFileKind::in_pycache : CacheFileKind::legacy);
    if (m_options.walk.counters)
      m_options.walk.counters->caches_checked.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_report.checked;
    ++m_report.counts[static_cast<int>(v.cls)];
    if (v.cls != CacheClass::ok) {
      // Handed on at once, never kept: memory does not grow with the findings.
      if (removable) ++m_report.removable;
      if (m_options.on_finding) m_options.on_finding(v);
    }
    if (!remove) return false;
    if (err == 0 || err == ENOENT) {
      ++m_report.removed;
      return true;
    }
    m_report.kept.push_back(SweepProblem{v.path, err});
    return false;
  }

  FsOps& m_fs;
  const CheckOptions& m_options;
  CheckReport& m_report;
  std::mutex m_mutex;
};

}  // namespace

const char* cache_class_name(CacheClass c) {
  switch (c) {
    case CacheClass::ok:
      return "ok";
    case CacheClass::stale:
      return "stale";
    case CacheClass::suspect:
      return "suspect";
    case CacheClass::orphan:
      return "orphan";
    case CacheClass::orphan_importable:
      return "orphan-importable";
    case CacheClass::foreign:
      return "foreign";
    case CacheClass::corrupt:
      return "corrupt";
  }
  return "?";
}

bool is_gate_failure(CacheClass c) {
  return c == CacheClass::suspect || c == CacheClass::corrupt || c == CacheClass::orphan_importable;
}

bool CheckReport::gate_failed() const {
  for (int i = 0; i < k_cache_class_count; ++i)
    if (counts[i] > 0 && is_gate_failure(static_cast<CacheClass>(i))) return true;
  return false;
}

namespace {

// A cache is read once, header and body together, when it is at most this
// large; a larger one (rare: a data module) has only its header read, and its
// body is not walked. Each thread reuses one buffer, so memory stays fixed.
constexpr std::size_t k_max_walked_pyc = 1u << 20;

// Whether the body behind the header of `pyc` (the file's bytes, or only its
// header when it was too large to walk) is a marshal stream that CPython
// 3.`minor` can load. Empty when it is, or was not walked; else why the
// import fails.
std::string body_fault(std::string_view pyc, bool whole, int minor) {
  if (!whole) return {};
  std::size_t header = minor >= 7 ? 16 : 12;  // PEP 552 added the flags word
  MarshalCheck m = check_marshal(pyc.substr(std::min(header, pyc.size())), minor);
  if (m.result == MarshalCheck::Result::ok) return {};
  return (m.result == MarshalCheck::Result::truncated ? "truncated body (EOFError): "
                                                      : "bad marshal data: ") +
         m.why;
}

// A legacy NAME.pyc outside __pycache__: imported only when no source (of this
// platform's suffixes) and no package of that name stands beside it, as the
// path finder's order has it (FileFinder.find_spec: a package directory, then
// extension, source and bytecode files).
CacheVerdict judge_legacy(FsOps& fs, Handle dir, const char* pyc_name, const std::string& module,
                          std::string_view pyc, bool whole, const std::string& path) {
  std::string_view name(pyc_name);
  FileStat st;
  if (fs.stat_follow(dir, module.c_str(), st) == 0 && st.type == EntryType::directory) {
    int err = 0;
    ScopedHandle pkg(fs, fs.open_dir(dir, module.c_str(), err));
    std::vector<std::string> inits;
    for (const auto& suffix : source_suffixes()) inits.push_back("__init__" + suffix);
    inits.push_back("__init__.pyc");
    for (const auto& init : inits)
      if (pkg && fs.stat_follow(pkg.get(), init.c_str(), st) == 0 && st.type == EntryType::file)
        return verdict(path, CacheClass::orphan,
                       "the package " + module + "/ is imported instead of this file");
  }
  std::string source = find_source(fs, dir, module, st);
  if (!source.empty())
    return verdict(path, CacheClass::orphan,
                   "legacy bytecode beside " + source + ": Python 3 imports the source");
  if (name.substr(name.size() - 4) == ".pyo")
    return verdict(path, CacheClass::orphan, "legacy .pyo: not imported by Python 3");
  PycHeader header;
  auto info = parse_pyc_header(pyc.substr(0, 16), header) == PycParse::ok ? magic_info(header.magic)
                                                                          : std::nullopt;
  if (!info)
    return verdict(path, CacheClass::corrupt,
                   "`import " + module + "` loads this file and fails: no valid pyc header");
  std::string fault = body_fault(pyc, whole, info->minor);
  if (!fault.empty())
    return verdict(path, CacheClass::corrupt,
                   "`import " + module + "` loads this file and fails: " + fault);
  return verdict(path, CacheClass::orphan_importable,
                 module + ".py is gone but `import " + module + "` still loads this file");
}

}  // namespace

std::int64_t cpython_mtime(std::int64_t sec, std::int64_t nsec) {
  // os.stat's st_mtime is the double `sec + nsec * 1e-9` (posixmodule.c,
  // fill_time), and importlib takes int() of it: just below a whole second
  // that rounds up; a negative fraction truncates toward zero.
  double seconds = static_cast<double>(sec) + static_cast<double>(nsec) * 1e-9;
  return static_cast<std::int64_t>(std::trunc(seconds));
}

bool timestamp_matches(const PycHeader& header, int minor, std::int64_t mtime, std::int64_t size) {
  if (header.size != static_cast<std::uint32_t>(size & 0xffffffff)) return false;
  // 3.7+ compare the low 32 bits (_validate_timestamp_pyc); 3.6 compares the
  // stored unsigned 32-bit value with the whole mtime (_validate_bytecode_header).
  if (minor >= 7) return header.mtime == static_cast<std::uint32_t>(mtime & 0xffffffff);
  return mtime >= 0 && mtime <= 0xffffffffLL && header.mtime == static_cast<std::uint32_t>(mtime);
}

CacheVerdict classify_cache(FsOps& fs, Handle source_dir, Handle cache_dir, const char* pyc_name,
                            bool in_pycache, const std::string& path) {
  std::string_view name(pyc_name);
  std::string module;
  std::optional<CacheName> parsed;
  if (in_pycache) {
    parsed = parse_cache_name(name);
    if (!parsed) return verdict(path, CacheClass::foreign, "not named NAME.TAG.pyc");
    module = parsed->module;
  } else {
    module = std::string(name.substr(0, name.size() - 4));  // legacy foo.pyc / foo.pyo
  }

  FileStat pyc_stat;
  int err = fs.stat(cache_dir, pyc_name, pyc_stat);
  if (err == 0 && pyc_stat.type != EntryType::file) err = EISDIR;
  thread_local std::string pyc;  // reused: its capacity stays at most k_max_walked_pyc
  bool whole = pyc_stat.size <= static_cast<std::int64_t>(k_max_walked_pyc);
  if (err == 0) err = fs.read_file(cache_dir, pyc_name, pyc, whole ? k_max_walked_pyc : 16);
  if (err != 0) return unreadable(path, err);
  whole = whole && pyc.size() < k_max_walked_pyc;  // grown since the stat: not walked
  std::string_view header_bytes = std::string_view(pyc).substr(0, 16);
  if (!in_pycache) return judge_legacy(fs, cache_dir, pyc_name, module, pyc, whole, path);

  FileStat src;
  std::string source = find_source(fs, source_dir, module, src);
  if (source.empty())
    return verdict(path, CacheClass::orphan, "no " + module + ".py beside __pycache__");
  if (parsed->tag_minor < 0)
    return verdict(path, CacheClass::foreign, "tag " + parsed->tag + " is not CPython's");
  auto expected = magic_for_version(parsed->tag_major, parsed->tag_minor);
  if (!expected)
    return verdict(path, CacheClass::foreign,
                   fmt::format("unknown CPython {}.{}", parsed->tag_major, parsed->tag_minor));

  // A header CPython cannot use makes it recompile (SourceLoader.get_code
  // catches the ImportError/EOFError of _classify_pyc): harmless.
  PycHeader header;
  switch (parse_pyc_header(header_bytes, header)) {
    case PycParse::too_short:
      return verdict(path, CacheClass::stale,
                     fmt::format("{} bytes, shorter than a pyc header: CPython recompiles",
                                 header_bytes.size()));
    case PycParse::bad_magic:
      return verdict(path, CacheClass::stale, "no pyc magic number: CPython recompiles");
    case PycParse::unknown_flags:
      return verdict(path, CacheClass::stale,
                     fmt::format("unknown flag bits {:#x}: CPython recompiles", header.flags));
    case PycParse::ok:
      break;
  }
  if (header.magic != expected->final)
    return verdict(path, CacheClass::foreign,
                   fmt::format("magic {} is not CPython {}.{}'s ({})", header.magic,
                               expected->major, expected->minor, expected->final));

  CacheVerdict trusted = verdict(path, CacheClass::ok, "");
  if (header.hash_based) {
    auto hasher = source_hasher_for_magic(header.magic);
    err = fs.read_file_chunks(source_dir, source.c_str(), [&](const char* data, std::size_t n) {
      if (hasher) hasher->update(data, n);
    });
    if (err != 0) return unreadable(path, err);
    if (!hasher || hasher->finish() != header.source_hash) {
      if (header.check_source)
        return verdict(path, CacheClass::stale,
                       "checked-hash pyc: source hash differs (recompiled)");
      trusted =
          verdict(path, CacheClass::suspect,
                  "unchecked-hash pyc does not match " + source + ": Python loads the old code");
    }
  } else {
    std::int64_t mtime = cpython_mtime(src.mtime_sec, src.mtime_nsec);
    if (!timestamp_matches(header, expected->minor, mtime, src.size))
      return verdict(
          path, CacheClass::stale,
          fmt::format("header mtime/size {}/{} differ from {}'s {}/{} (recompiled)", header.mtime,
                      header.size, source, mtime & 0xffffffff, src.size & 0xffffffff));
    if (later(src.ctime_sec, src.ctime_nsec, pyc_stat.ctime_sec, pyc_stat.ctime_nsec))
      trusted = verdict(path, CacheClass::suspect,
                        source +
                            " changed after this cache was written, keeping mtime and size: "
                            "Python loads the old code");
  }
  // CPython trusts this cache: its body must load.
  std::string fault = body_fault(pyc, whole, expected->minor);
  if (!fault.empty())
    return verdict(path, CacheClass::corrupt,
                   "CPython trusts this cache and `import " + module + "` fails: " + fault);
  return trusted;
}

CheckReport check_caches(FsOps& fs, const std::vector<std::string>& roots,
                         const CheckOptions& options) {
  auto start = std::chrono::steady_clock::now();
  CheckReport report;
  CheckVisitor visitor(fs, options, report);
  WalkOptions walk_options = options.walk;
  walk_options.want_stray = true;
  walk(fs, roots, walk_options, visitor);
  report.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string format_check_summary(const CheckReport& r) {
  std::string out = fmt::format("checked {} {}", r.checked, r.checked == 1 ? "cache" : "caches");
  for (int i = 0; i < k_cache_class_count; ++i)
    out += fmt::format("{} {} {}", i == 0 ? ":" : ",", r.counts[i],
                       cache_class_name(static_cast<CacheClass>(i)));
  return out;
}

std::string format_stale_clean_summary(const CheckReport& r) {
  return fmt::format("Cleared {}/{} stale caches", r.removed, r.removable);
}

std::string format_check_json_head(bool stale_clean) {
  JsonWriter json;
  json.begin_object().key("command").value(stale_clean ? "clean --stale-only" : "check");
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
      .end_object();
  return (first ? "" : ",") + json.str();
}

std::string format_check_json_tail(const CheckReport& r, bool stale_clean) {
  JsonWriter json;
  json.begin_object();
  json.key("checked").value(r.checked);
  json.key("counts").begin_object();
  for (int i = 0; i < k_cache_class_count; ++i)
    json.key(cache_class_name(static_cast<CacheClass>(i))).value(r.counts[i]);
  json.end_object();
  if (stale_clean) json.key("removed").value(r.removed);
  for (auto [key, list] : {std::pair{"failures", &r.kept}, std::pair{"unreadable", &r.unreadable},
                           std::pair{"missing", &r.bad_roots}}) {
    json.key(key).begin_array();
    for (const auto& p : *list)
      json.begin_object()
          .key("path")
          .value(p.path)
          .key("error")
          .value(errno_text(p.error))
          .end_object();
    json.end_array();
  }
  json.key("elapsed_ms").value(r.elapsed_ms).end_object();
  std::string body = json.str();
  return "]," + body.substr(1);  // closes the findings, continues the object
}

}  // namespace pycache_clean
