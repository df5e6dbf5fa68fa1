// Judging one cache: gathers the facts (the cache read once, its source
// found and stat'ed once per directory, its hash or compiled code when
// asked) and hands them to CPython's rules (rules.cpp). A timestamp cache
// CPython trusts is proved by compiling its source with its own interpreter
// where there is a sign of change (or always, with --verify all); hash-based
// caches (PEP 552) by recomputing the source hash as _imp.source_hash does.
#include "check/classify.hpp"

#include <algorithm>
#include <cerrno>
#include <optional>

#include <fmt/format.h>

#include "check/rules.hpp"
#include "pyc/cache_name.hpp"
#include "pyc/marshal_check.hpp"
#include "pyc/pyc.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean {

namespace {

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

// Whether `name` in `dir` is a regular package (a directory holding an
// __init__ of this platform's source suffixes, or __init__.pyc), which the
// path finder imports before a module file of the same name
// (FileFinder.find_spec); a directory without one (a namespace portion)
// does not shadow it.
bool is_regular_package(FsOps& fs, Handle dir, const std::string& name) {
  FileStat st;
  if (fs.stat_follow(dir, name.c_str(), st) != 0 || st.type != EntryType::directory) return false;
  ScopedHandle pkg(fs, fs.open_dir(dir, name.c_str()));
  if (!pkg) return false;
  std::vector<std::string> inits;
  for (const auto& suffix : source_suffixes()) inits.push_back("__init__" + suffix);
  inits.push_back("__init__.pyc");
  return std::any_of(inits.begin(), inits.end(), [&](const std::string& init) {
    return fs.stat_follow(pkg.get(), init.c_str(), st) == 0 && st.type == EntryType::file;
  });
}

}  // namespace

SourceMemo::Entry& SourceMemo::entry(FsOps& fs, Handle dir, const std::string& module) {
  if (m_last && *m_last_key == module) return *m_last;
  auto it = m_entries.find(module);
  if (it == m_entries.end()) {
    Entry e;
    e.name = find_source(fs, dir, module, e.stat);
    it = m_entries.emplace(module, std::move(e)).first;
  }
  m_last_key = &it->first;
  m_last = &it->second;
  return it->second;
}

bool SourceMemo::is_package(FsOps& fs, Handle dir, const std::string& module) {
  Entry& e = entry(fs, dir, module);
  if (e.package < 0) e.package = is_regular_package(fs, dir, module) ? 1 : 0;
  return e.package == 1;
}

std::string SourceMemo::find(FsOps& fs, Handle dir, const std::string& module, FileStat& st) {
  const Entry& e = entry(fs, dir, module);
  st = e.stat;
  return e.name;
}

namespace {

// Why CPython never imports module `module` from `dir` although its source
// is there, or empty: a regular package of its name beside it, or (3.11+) a
// frozen module of its name when `dir` is no package (its modules are
// imported as top-level names, as the frozen ones are).
std::string why_not_used(FsOps& fs, Handle dir, const std::string& module, int minor,
                         SourceMemo* memo) {
  if (memo ? memo->is_package(fs, dir, module) : is_regular_package(fs, dir, module))
    return "not used: the package " + module + "/ is imported instead of " + module + ".py";
  FileStat st;
  if (is_frozen_module(minor, module) &&
      !(fs.stat_follow(dir, "__init__.py", st) == 0 && st.type == EntryType::file))
    return fmt::format(
        "not used: CPython 3.{} imports its frozen standard-library module {} instead "
        "(frozen modules are on by default; -X frozen_modules=off would load this cache)",
        minor, module);
  return {};
}

// A cache is read once, header and body together, when it is at most this
// large; a larger one (rare: a data module) has its first part read so, and
// the rest of its body walked a window at a time. Each thread reuses one
// buffer, so memory stays fixed.
constexpr std::size_t k_max_walked_pyc = 1u << 20;

// One cache as read from disk: its metadata and bytes (all of them, its
// first k_max_walked_pyc, or only its header with --verify none). The bytes
// live in a per-thread buffer.
struct CacheFile {
  FileStat stat;
  std::string_view bytes;
  bool whole = false;
};

// Whether the body behind the header of `cache` is what CPython 3.`minor`
// loads as a code object: walked from memory, and past what was read (a
// cache over k_max_walked_pyc) from the file, a window at a time. Empty when
// it loads (or was not read: --verify none); else why the import fails.
std::string body_fault(FsOps& fs, const CacheSite& site, const CacheFile& cache, int minor) {
  std::size_t header = minor >= 7 ? 16 : 12;                // PEP 552 added the flags word
  if (!cache.whole && cache.bytes.size() <= 16) return {};  // the header alone: not walked
  std::string_view head = cache.bytes.substr(std::min(header, cache.bytes.size()));
  MarshalCheck m;
  if (cache.whole) {
    m = check_marshal(head, minor);
  } else {
    MarshalMore more = [&](std::uint64_t offset, char* buffer, std::size_t capacity,
                           std::size_t& got) {
      return fs.read_at(site.cache_dir, site.name, header + offset, buffer, capacity, got);
    };
    m = check_marshal(head, more, minor);
  }
  if (m.result == MarshalCheck::Result::ok) return {};
  return (m.result == MarshalCheck::Result::truncated ? "truncated body (EOFError): "
                                                      : "bad marshal data: ") +
         m.why;
}

// A legacy NAME.pyc outside __pycache__: imported only when no source (of this
// platform's suffixes) and no package of that name stands beside it, as the
// path finder's order has it (FileFinder.find_spec: a package directory, then
// extension, source and bytecode files).
CacheVerdict judge_legacy(FsOps& fs, const CacheSite& site, const std::string& module,
                          const CacheFile& cache) {
  Handle dir = site.cache_dir;
  std::string_view pyc = cache.bytes;
  std::string_view name(site.name);
  if (module.find('.') != std::string::npos)
    return verdict_of(CacheClass::orphan,
                      is_cache_file_name(name)
                          ? "named as a cache, outside __pycache__: no import loads it from here "
                            "(a PYTHONPYCACHEPREFIX mirror is checked with --pycache-prefix)"
                          : "no import loads it: a module name has no dots");
  if (is_regular_package(fs, dir, module))
    return verdict_of(CacheClass::orphan,
                      "the package " + module + "/ is imported instead of this file");
  FileStat st;
  std::string source = find_source(fs, dir, module, st);
  if (!source.empty())
    return verdict_of(CacheClass::orphan,
                      "legacy bytecode beside " + source + ": Python 3 imports the source");
  if (name.substr(name.size() - 4) == ".pyo")
    return verdict_of(CacheClass::orphan, "legacy .pyo: not imported by Python 3");
  PycHeader header;
  auto info = parse_pyc_header(pyc.substr(0, 16), header) == PycParse::ok ? magic_info(header.magic)
                                                                          : std::nullopt;
  if (!info)
    return verdict_of(CacheClass::corrupt,
                      "`import " + module + "` loads this file and fails: no valid pyc header");
  std::string fault = body_fault(fs, site, cache, info->minor);
  if (!fault.empty())
    return verdict_of(CacheClass::corrupt,
                      "`import " + module + "` loads this file and fails: " + fault);
  return verdict_of(CacheClass::orphan_importable,
                    module + ".py is gone but `import " + module + "` still loads this file");
}

// Reads the cache's metadata and bytes: its header only for `header_only`,
// else the whole file when it is at most k_max_walked_pyc.
int read_cache(FsOps& fs, const CacheSite& site, bool header_only, CacheFile& out) {
  thread_local std::unique_ptr<char[]> buffer;  // per thread, reused: memory stays fixed
  char header[16];
  char* into = header;
  std::size_t capacity = sizeof header;
  if (!header_only) {
    if (!buffer) buffer.reset(new char[k_max_walked_pyc]);
    into = buffer.get();
    capacity = k_max_walked_pyc;
  }
  std::size_t got = 0;
  int err = fs.read_head(site.cache_dir, site.name, into, capacity, got, out.stat);
  if (err == EINVAL) err = EISDIR;  // not a regular file: no cache to judge
  thread_local std::string copy;
  copy.assign(into, header_only ? got : 0);  // the header outlives this frame
  out.bytes = header_only ? std::string_view(copy) : std::string_view(into, got);
  out.whole =
      !header_only && out.stat.size == static_cast<std::int64_t>(got) && got < k_max_walked_pyc;
  return err;
}

// A cache in __pycache__ (or the mirror) that CPython can read, and the
// source it belongs to: the facts the judgement works from.
struct PycacheFacts {
  const CacheSite& site;
  const CacheName& name;
  const CacheFile& cache;
  PycHeader header;
  int minor = 0;  // the CPython 3.minor its tag and magic name
  SourceFacts source;
};

// A judgement that stands without the proof it wanted, and why.
CacheVerdict unproved(CacheVerdict v, Unverified why, const std::string& detail) {
  v.verification = Verification::unverified;
  v.unverified = why;
  if (v.cls != CacheClass::ok) v.reason += " (unverified: " + detail + ")";
  return v;
}

// What the interpreter is sent for cache `f`: source and body, each read
// from its file (or, for a body read whole already, from memory) as it goes.
CodeVerifier::Request verify_request(FsOps& fs, const PycacheFacts& f, const JudgeOptions& judge) {
  const CacheSite& site = f.site;
  std::size_t header_size = f.name.tag_minor >= 7 ? 16 : 12;
  CodeVerifier::Request request;
  request.major = f.name.tag_major;
  request.minor = f.name.tag_minor;
  request.magic = f.header.magic;
  request.opt = f.name.opt;
  request.name = f.source.name;
  request.timeout_ms = judge.verify_timeout_ms;
  request.source = [&fs, &f, &site](const FsOps::ChunkSink& sink) {
    return fs.read_source(site.source_dir, f.source.name.c_str(), sink);
  };
  request.body = [&fs, &f, &site, header_size](const FsOps::ChunkSink& sink) {
    if (f.cache.whole) {  // already read: the bytes after the header
      std::string_view bytes = f.cache.bytes.substr(std::min(header_size, f.cache.bytes.size()));
      sink(bytes.data(), bytes.size());
      return 0;
    }
    std::size_t skipped = 0;  // a cache too large to have been read whole
    return fs.read_file_chunks(site.cache_dir, site.name, [&](const char* data, std::size_t n) {
      std::size_t skip = std::min(n, header_size - skipped);
      skipped += skip;
      if (n > skip) sink(data + skip, n - skip);
    });
  };
  return request;
}

// Compiles the source with the cache's interpreter and compares the code;
// where that cannot be done (no interpreter, a source past the cap, a
// compile past the deadline), the header judgement stands, marked
// unverified. Source and body are streamed from the files, a piece at a
// time: memory does not grow with their size.
CacheVerdict verify_by_compiling(FsOps& fs, const PycacheFacts& f, const TrustJudgement& trusted,
                                 const JudgeOptions& judge) {
  std::size_t header_size = f.name.tag_minor >= 7 ? 16 : 12;
  const auto cap = CodeVerifier::k_max_verified_bytes;
  auto body_size = static_cast<std::uint64_t>(std::max<std::int64_t>(f.cache.stat.size, 0));
  if (static_cast<std::uint64_t>(f.source.stat.size) > cap || body_size > cap + header_size)
    return unproved(trusted.verdict, Unverified::too_large,
                    fmt::format("larger than {} MiB", cap >> 20));
  CodeComparison c = judge.verifier->compare(verify_request(fs, f, judge));
  using Result = CodeComparison::Result;
  CacheVerdict v = trusted.verdict;
  v.verification = Verification::compiled;
  switch (c.result) {
    case Result::same:
      v.cls = CacheClass::ok;
      v.proved = true;
      v.reason = "compiled: the same code as " + f.source.name;
      break;
    case Result::differs:
      v.cls = CacheClass::suspect;
      v.reason = "CPython loads code that differs from " + f.source.name + ": " + c.detail +
                 " (compared by compiling it)";
      break;
    case Result::cache_error:  // its own interpreter says so: a verdict, not a lack of one
      v.cls = CacheClass::corrupt;
      v.reason = "CPython trusts this cache and `import " + f.name.module +
                 "` fails loading it: " + c.detail;
      break;
    case Result::source_error:
      v.cls = CacheClass::suspect;
      v.reason =
          "CPython loads this cache, but " + f.source.name + " does not compile (" + c.detail + ")";
      break;
    case Result::unavailable:
      return unproved(trusted.verdict, Unverified::no_interpreter, c.detail);
    case Result::timed_out:
      return unproved(trusted.verdict, Unverified::timed_out, c.detail);
    case Result::not_sent:
      return unproved(trusted.verdict,
                      c.detail.find("larger than") != std::string::npos ? Unverified::too_large
                                                                        : Unverified::unreadable,
                      c.detail);
  }
  return v;
}

// Whether CPython can use the cache's header at all: a verdict when it
// cannot (a foreign tag or magic; a header it recompiles over), else nothing,
// with the header parsed and the CPython minor version it belongs to.
std::optional<CacheVerdict> unusable_header(const CacheName& name, const CacheFile& cache,
                                            PycHeader& header, int& minor) {
  if (name.tag_minor < 0)
    return verdict_of(CacheClass::foreign, "tag " + name.tag + " is not CPython's");
  auto expected = magic_for_version(name.tag_major, name.tag_minor);
  if (!expected)
    return verdict_of(CacheClass::foreign,
                      fmt::format("unknown CPython {}.{}", name.tag_major, name.tag_minor));
  // A header CPython cannot use makes it recompile (SourceLoader.get_code
  // catches the ImportError/EOFError of _classify_pyc): harmless.
  std::string_view header_bytes = cache.bytes.substr(0, 16);
  switch (parse_pyc_header(header_bytes, header)) {
    case PycParse::too_short:
      return verdict_of(CacheClass::stale,
                        fmt::format("{} bytes, shorter than a pyc header: CPython recompiles",
                                    header_bytes.size()));
    case PycParse::bad_magic:
      return verdict_of(CacheClass::stale, "no pyc magic number: CPython recompiles");
    case PycParse::unknown_flags:
      return verdict_of(CacheClass::stale,
                        fmt::format("unknown flag bits {:#x}: CPython recompiles", header.flags));
    case PycParse::ok:
      break;
  }
  if (header.magic != expected->final)
    return verdict_of(CacheClass::foreign,
                      fmt::format("magic {} is not CPython {}.{}'s ({})", header.magic,
                                  expected->major, expected->minor, expected->final));
  minor = expected->minor;
  return std::nullopt;
}

// The source's hash for a hash-based cache (SourceFacts::hash), read once.
int hash_source(FsOps& fs, PycacheFacts& f) {
  if (!f.header.hash_based) return 0;
  auto hasher = source_hasher_for_magic(f.header.magic);
  int err = fs.read_source(f.site.source_dir, f.source.name.c_str(),
                           [&](const char* data, std::size_t n) {
                             if (hasher) hasher->update(data, n);
                           });
  if (err == 0 && hasher) f.source.hash = hasher->finish();
  return err;
}

// A cache in __pycache__ or the mirror, with a valid name `name`, once read.
CacheVerdict judge_pycache(FsOps& fs, const CacheSite& site, const CacheName& name,
                           const CacheFile& cache, const JudgeOptions& judge) {
  PycacheFacts f{site, name, cache, {}, 0, {}};
  if (site.source_dir != k_no_handle)
    f.source.name = site.sources
                        ? site.sources->find(fs, site.source_dir, name.module, f.source.stat)
                        : find_source(fs, site.source_dir, name.module, f.source.stat);
  if (f.source.name.empty())
    return verdict_of(CacheClass::orphan,
                      site.source_dir_path.empty()
                          ? "no " + name.module + ".py beside __pycache__"
                          : "no " + name.module + ".py in " + std::string(site.source_dir_path));
  if (auto v = unusable_header(name, cache, f.header, f.minor)) return *v;
  if (int err = hash_source(fs, f); err != 0) return unreadable_verdict(err);
  TrustJudgement trusted = judge_trust(f.header, f.minor, cache.stat, f.source);
  if (trusted.verdict.cls == CacheClass::stale) return trusted.verdict;
  // CPython trusts this cache: its body must load.
  std::string fault = body_fault(fs, site, cache, f.minor);
  if (!fault.empty())
    return verdict_of(CacheClass::corrupt,
                      "CPython trusts this cache and `import " + name.module + "` fails: " + fault);
  bool want = judge.verify == VerifyMode::all
                  ? !trusted.proved_by_hash
                  : judge.verify == VerifyMode::changed && trusted.sign_of_change;
  // pytest's caches hold assertion-rewritten code, which compile() does not make.
  if (!want || name.pytest || name.opt < 0 || !judge.verifier) {
    CacheVerdict v = trusted.verdict;
    v.proved = trusted.proved_by_hash;
    return v;
  }
  return verify_by_compiling(fs, f, trusted, judge);
}

// classify_cache without the stamp of path and kind.
CacheVerdict judge_cache(FsOps& fs, const CacheSite& site, const JudgeOptions& judge) {
  std::string_view name(site.name);
  std::optional<CacheName> parsed;
  if (site.kind != CacheFileKind::legacy) {
    parsed = parse_cache_name(name);
    if (!parsed) return verdict_of(CacheClass::foreign, "not named NAME.TAG.pyc");
  }
  CacheFile cache;
  // Without verification, headers and ctimes alone: the body is not read.
  bool header_only = judge.verify == VerifyMode::none;
  if (int err = read_cache(fs, site, header_only, cache); err != 0) return unreadable_verdict(err);
  if (judge.written_since >= 0 && static_cast<double>(cache.stat.ctime_sec) +
                                          static_cast<double>(cache.stat.ctime_nsec) * 1e-9 <
                                      judge.written_since) {
    CacheVerdict v;
    v.skipped = true;
    return v;
  }
  if (parsed) {
    CacheVerdict v = judge_pycache(fs, site, *parsed, cache, judge);
    // A cache CPython never uses is harmless whatever it holds: said so for
    // one that would be blamed (an ok one costs no look for a package).
    if (v.cls == CacheClass::ok || v.cls == CacheClass::orphan || v.error != 0 ||
        site.source_dir == k_no_handle)
      return v;
    std::string unused =
        why_not_used(fs, site.source_dir, parsed->module, parsed->tag_minor, site.sources);
    return unused.empty() ? v : verdict_of(CacheClass::orphan, unused);
  }
  std::string module(name.substr(0, name.size() - 4));  // legacy foo.pyc / foo.pyo
  return judge_legacy(fs, site, module, cache);
}

}  // namespace

CacheVerdict classify_cache(FsOps& fs, const CacheSite& site, const JudgeOptions& judge) {
  CacheVerdict v = judge_cache(fs, site, judge);
  v.path = site.path;
  v.kind = site.kind;
  return v;
}

}  // namespace pycache_clean
