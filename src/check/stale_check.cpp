// `check` and `clean --stale-only`: which caches would CPython still trust,
// and does the code it would load match the source?
//
// importlib's SourceLoader trusts a timestamp pyc when the header's source
// mtime (whole seconds, low 32 bits) and size (low 32 bits) equal the
// source's (_bootstrap_external._validate_timestamp_pyc). A source rewritten
// within the same second to the same size keeps its stale pyc alive. The
// inode change time hints at that case (nothing but a write or metadata
// change moves it, and os.utime cannot set it back), but a hint is all it is:
// a copy or a chmod moves it too, and a restore between CPython's read and
// its cache write leaves no trace. So a trusted cache with any sign of change
// (or every one, with --verify all) is proved by compiling its source with
// its own interpreter (code_verifier.cpp). Hash-based pycs (PEP 552) are
// judged by recomputing the source hash exactly as _imp.source_hash does.
// Facts are gathered once per cache (one open, fstat and read), then judged.
#include "check/stale_check.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "platform/process.hpp"
#include "pyc/marshal_check.hpp"
#include "pyc/pyc.hpp"
#include "sweep/cache_tag.hpp"
#include "sweep/remove.hpp"
#include "sweep/sweep.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace pycache_clean {

namespace {

// Verdicts of the judging functions; classify_cache stamps the cache's path
// and kind on them once.
CacheVerdict verdict(CacheClass cls, std::string reason) {
  CacheVerdict v;
  v.cls = cls;
  v.reason = std::move(reason);
  return v;
}

CacheVerdict unreadable(int err) {
  CacheVerdict v;
  v.error = err;
  return v;
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

// CPython 3.11+'s frozen standard-library modules of the top level
// (_imp._frozen_module_names(), the same in 3.11, 3.12 and 3.13): with
// frozen modules on, the default of every installed build, the frozen
// importer, ahead of the path finder, imports these.
bool is_frozen_module(int minor, const std::string& module) {
  static constexpr std::string_view names[] = {"__hello__",
                                               "__hello_alias__",
                                               "__hello_only__",
                                               "__phello__",
                                               "__phello_alias__",
                                               "_collections_abc",
                                               "_frozen_importlib",
                                               "_frozen_importlib_external",
                                               "_sitebuiltins",
                                               "abc",
                                               "codecs",
                                               "genericpath",
                                               "io",
                                               "ntpath",
                                               "os",
                                               "posixpath",
                                               "runpy",
                                               "site",
                                               "stat",
                                               "zipimport"};
  if (minor < 11) return false;
  std::string_view m(module);
  return std::any_of(std::begin(names), std::end(names),
                     [&](std::string_view n) { return n.size() == m.size() && n == m; });
}

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

// A mirror root below PYTHONPYCACHEPREFIX and the directory it mirrors.
struct MirrorRoot {
  std::string mirror;  // as walk_mirror names it
  std::string source;  // the root as the user named it
};

class CheckVisitor final : public WalkVisitor {
 public:
  CheckVisitor(FsOps& fs, const CheckOptions& options, JudgeOptions judge, CheckReport& report)
      : m_fs(fs),
        m_options(options),
        m_judge(judge),
        m_report(report),
        m_jobs(options.walk.jobs == 0 ? default_jobs() : options.walk.jobs) {}

  void set_mirror_roots(std::vector<MirrorRoot> roots) { m_mirror_roots = std::move(roots); }

  void on_walk_start(unsigned jobs, const FileSystemKind& kind) override {
    m_latency_width.start(jobs, kind);
  }

  void on_cache_dir(Handle parent, const char* name, const std::string& path) override {
    // Removing, a cache is opened as the sweep opens it: a mount point (a
    // bind mount included) is kept, never entered. Reading crosses nothing
    // that matters, so `check` judges what CPython would import from there.
    ScopedHandle dir(m_fs, m_options.remove_not_ok ? m_fs.open_dir_same_mount(parent, name)
                                                   : m_fs.open_dir(parent, name));
    int err = dir.error();
    if (!dir) {
      if (err == k_err_mount_point) {
        std::lock_guard<std::mutex> lock(m_mutex);
        add_problem(ProblemKind::kept, PathProblem{path, err});
      } else if (err != ENOENT && err != ELOOP && err != ENOTDIR) {
        on_unreadable(path, err);
      }
      return;
    }
    DirListing entries;  // one bounded batch at a time
    std::atomic<bool> removed_any{false};
    do {
      if ((err = m_fs.read_dir(dir.get(), entries)) != 0) {
        if (err != ENOENT) on_unreadable(path, err);
        break;
      }
      judge_batch(parent, dir.get(), path, entries, removed_any);
    } while (!entries.at_end());
    if (removed_any) remove_emptied_directory(m_fs, parent, name);  // fails unless empty
  }

  // Judges the caches of one listing batch of the `__pycache__` `dir`. When
  // their sources are compiled (--verify all), or each read waits on a round
  // trip (NFS, FUSE), on as many threads as the walk has: compiling or
  // waiting dominates, and the walk hands out whole directories, so one large
  // `__pycache__` (a package's top, the standard library's) would otherwise
  // keep one thread busy while the others wait.
  void judge_batch(Handle parent, Handle dir, const std::string& path, const DirListing& entries,
                   std::atomic<bool>& removed_any) {
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      SourceMemo sources;  // bounded by the batch
      for (std::size_t i = next++; i < entries.size(); i = next++) {
        std::string_view file = entries.name_view(i);
        if (file.size() < 5 || file.substr(file.size() - 4) != ".pyc") continue;
        if (entries.type(i) == EntryType::symlink) {  // a cache CPython reads through a link
          on_link(dir, entries.name(i), join_path(path, file));
          continue;
        }
        if (entries.type(i) != EntryType::file && entries.type(i) != EntryType::unknown) continue;
        std::string file_path = join_path(path, file);
        CacheSite site{parent,    dir, entries.name(i), CacheFileKind::in_pycache,
                       file_path, {},  &sources};
        if (record(classify_cache(m_fs, site, m_judge), site, m_options.remove_not_ok))
          removed_any = true;
      }
    };
    constexpr std::size_t k_min_shared = 16;  // fewer: not worth a thread
    // Where every trusted cache is compiled (auto compiles a few, if any), or
    // where each read is a round trip.
    WidthShare::Taken latency(m_latency_width, entries.size() / k_min_shared);
    unsigned width = m_judge.verify == VerifyMode::all ? m_jobs : latency.width();
    unsigned helpers = entries.size() < k_min_shared ? 0 : width - 1;
    std::vector<std::thread> threads;
    threads.reserve(helpers);
    for (unsigned t = 0; t < helpers; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
  }

  bool wants_stray() const override { return true; }  // legacy caches are judged too

  // Links are never followed (the walk is the one that removes); CPython
  // follows them. Those that can lead it to caches are said and counted: a
  // link to a directory (a package elsewhere, a __pycache__), a cache file.
  bool wants_links() const override { return true; }

  // A directory that says it is a cache (walk.tagged): counted with its
  // size, then walked as any other (check removes nothing whole).
  bool on_tagged_dir(Handle parent, const char* name, const std::string& path, Handle) override {
    bool complete = true;
    std::uint64_t bytes = tree_size(m_fs, parent, name, complete);
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_report.tagged_dirs;
    m_report.tagged_bytes += bytes;
    if (m_options.on_tagged) m_options.on_tagged(path, bytes, complete);
    return false;
  }
  void on_link(Handle parent, const char* name, const std::string& path) override {
    FileStat target;
    if (m_fs.stat_follow(parent, name, target) != 0) return;  // dangling: nothing to load
    if (target.type == EntryType::directory ||
        (target.type == EntryType::file && is_bytecode_name(name))) {
      std::lock_guard<std::mutex> lock(m_mutex);
      add_problem(ProblemKind::link, PathProblem{path, k_err_symlink});
    }
  }
  void on_stray_file(Handle parent, const char* name, const std::string& path) override {
    // Outside __pycache__ a file is removed only when asked (--stray): a
    // sourceless module or a .pyo fixture is not a cache of anything.
    CacheSite site{parent, parent, name, CacheFileKind::legacy, path};
    record(classify_cache(m_fs, site, m_judge), site,
           m_options.remove_not_ok && m_options.remove_stray);
  }

  // A cache in the PYTHONPYCACHEPREFIX mirror: judged against the source
  // directory it mirrors (importlib's source_from_cache), opened by path and
  // followed through links as CPython's own lookup is.
  bool on_mirror_file(Handle dir, const char* name, const std::string& path) override {
    std::string source_dir = mirrored_directory(path);
    ScopedHandle source(
        m_fs, source_dir.empty() ? Result<Handle>(k_no_handle) : m_fs.open_root(source_dir));
    CacheSite site{source.get(), dir, name, CacheFileKind::mirror, path, source_dir};
    return record(classify_cache(m_fs, site, m_judge), site, m_options.remove_not_ok);
  }

  void on_unreadable(const std::string& path, int err) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    add_problem(ProblemKind::unreadable, PathProblem{path, err});
  }

  void on_bad_root(const std::string& path, int err) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    add_problem(ProblemKind::bad_root, PathProblem{path, err});
  }

 private:
  // Said at once, kept in the report's bounded lists. Called with m_mutex held.
  void add_problem(ProblemKind kind, PathProblem problem) {
    if (m_options.on_problem) m_options.on_problem(kind, problem);
    ProblemLog& list = kind == ProblemKind::kept         ? m_report.kept
                       : kind == ProblemKind::unreadable ? m_report.unreadable
                       : kind == ProblemKind::link       ? m_report.links
                                                         : m_report.bad_roots;
    list.push_back(std::move(problem));
  }

  // The source directory of mirror file `path`: its root's, joined with
  // the directories between the mirror root and the file.
  std::string mirrored_directory(const std::string& path) const {
    for (const auto& root : m_mirror_roots) {
      if (path.size() <= root.mirror.size() + 1 ||
          path.compare(0, root.mirror.size(), root.mirror) != 0 || path[root.mirror.size()] != '/')
        continue;
      std::string rest = path.substr(root.mirror.size() + 1);
      auto slash = rest.rfind('/');
      return slash == std::string::npos ? root.source
                                        : join_path(root.source, rest.substr(0, slash));
    }
    return {};
  }

  // Counts `v`; removes the file when asked and it is not ok. True if removed.
  bool record(const CacheVerdict& v, const CacheSite& site, bool removable) {
    if (v.skipped) return false;  // written before the time asked for: not judged
    if (v.error == ENOENT) {
      // Removed between listing and reading (a sweep running beside us, as
      // the sweep counts a cache another run removed): nothing to judge.
      log_trace("{}: gone before it was read (removed meanwhile), not judged", v.path);
      return false;
    }
    if (v.error != 0) {
      on_unreadable(v.path, v.error);
      return false;
    }
    log_trace("{}: {}{}{}", v.path, cache_class_name(v.cls), v.reason.empty() ? "" : ": ",
              v.reason);
    int err = 0;
    bool remove = removable && v.cls != CacheClass::ok;
    if (remove && !m_options.dry_run)
      err = remove_cache_file(m_fs, site.cache_dir, site.name, site.kind);
    if (m_options.walk.counters)
      m_options.walk.counters->caches_checked.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_report.checked;
    ++m_report.counts[static_cast<int>(v.cls)];
    m_report.verified += v.verification == Verification::compiled;
    m_report.trusted_unproved +=
        v.cls == CacheClass::ok && !v.proved && v.verification == Verification::none;
    if (v.verification == Verification::unverified) {
      ++m_report.unverified;
      ++m_report.unverified_by[static_cast<int>(v.unverified)];
    }
    if (v.cls != CacheClass::ok) {
      // Handed on at once, never kept: memory does not grow with the findings.
      if (removable) ++m_report.removable;
      if (m_options.on_finding) m_options.on_finding(v, removable);
    }
    if (!remove || m_options.dry_run) return false;
    if (err == 0 || err == ENOENT) {
      ++m_report.removed;
      return true;
    }
    add_problem(ProblemKind::kept, PathProblem{v.path, err});
    return false;
  }

  FsOps& m_fs;
  const CheckOptions& m_options;
  JudgeOptions m_judge;
  CheckReport& m_report;
  std::vector<MirrorRoot> m_mirror_roots;
  unsigned m_jobs;             // threads a large batch is judged on, with --verify all
  WidthShare m_latency_width;  // or where each read is a round trip
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

const char* unverified_reason_name(Unverified why) {
  switch (why) {
    case Unverified::no_interpreter:
      return "no_interpreter";
    case Unverified::too_large:
      return "too_large";
    case Unverified::timed_out:
      return "timed_out";
    case Unverified::unreadable:
      return "unreadable";
  }
  return "?";
}

const char* verification_name(Verification v) {
  switch (v) {
    case Verification::none:
      return "none";
    case Verification::compiled:
      return "compiled";
    case Verification::unverified:
      return "unverified";
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
    return verdict(CacheClass::orphan,
                   is_cache_file_name(name)
                       ? "named as a cache, outside __pycache__: no import loads it from here "
                         "(a PYTHONPYCACHEPREFIX mirror is checked with --pycache-prefix)"
                       : "no import loads it: a module name has no dots");
  if (is_regular_package(fs, dir, module))
    return verdict(CacheClass::orphan,
                   "the package " + module + "/ is imported instead of this file");
  FileStat st;
  std::string source = find_source(fs, dir, module, st);
  if (!source.empty())
    return verdict(CacheClass::orphan,
                   "legacy bytecode beside " + source + ": Python 3 imports the source");
  if (name.substr(name.size() - 4) == ".pyo")
    return verdict(CacheClass::orphan, "legacy .pyo: not imported by Python 3");
  PycHeader header;
  auto info = parse_pyc_header(pyc.substr(0, 16), header) == PycParse::ok ? magic_info(header.magic)
                                                                          : std::nullopt;
  if (!info)
    return verdict(CacheClass::corrupt,
                   "`import " + module + "` loads this file and fails: no valid pyc header");
  std::string fault = body_fault(fs, site, cache, info->minor);
  if (!fault.empty())
    return verdict(CacheClass::corrupt,
                   "`import " + module + "` loads this file and fails: " + fault);
  return verdict(CacheClass::orphan_importable,
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

bool changed_since(std::int64_t src_sec, std::int64_t src_nsec, std::int64_t pyc_sec,
                   std::int64_t pyc_nsec) {
  if (src_nsec == 0 && pyc_nsec == 0) return src_sec + 2 >= pyc_sec;
  return !later(pyc_sec, pyc_nsec, src_sec, src_nsec);
}

TrustJudgement judge_trust(const PycHeader& header, int minor, const FileStat& cache,
                           const SourceFacts& source) {
  const FileStat& src = source.stat;
  TrustJudgement t{verdict(CacheClass::ok, ""),
                   changed_since(src.ctime_sec, src.ctime_nsec, cache.ctime_sec, cache.ctime_nsec),
                   false};
  if (header.hash_based) {
    t.proved_by_hash = source.hash == header.source_hash;
    t.sign_of_change = !t.proved_by_hash;
    if (t.proved_by_hash) return t;
    t.verdict =
        header.check_source
            ? verdict(CacheClass::stale, "checked-hash pyc: source hash differs (recompiled)")
            : verdict(CacheClass::suspect, "unchecked-hash pyc does not match " + source.name +
                                               ": Python loads the code of another version of it");
    return t;
  }
  std::int64_t mtime = cpython_mtime(src.mtime_sec, src.mtime_nsec);
  if (!timestamp_matches(header, minor, mtime, src.size)) {
    t.verdict = verdict(
        CacheClass::stale,
        fmt::format("header mtime/size {}/{} differ from {}'s {}/{} (recompiled)", header.mtime,
                    header.size, source.name, mtime & 0xffffffff, src.size & 0xffffffff));
  } else if (later(src.ctime_sec, src.ctime_nsec, cache.ctime_sec, cache.ctime_nsec)) {
    t.verdict = verdict(CacheClass::suspect,
                        source.name +
                            " changed after this cache was written, keeping mtime and size: "
                            "Python may load old code");
  }
  return t;
}

namespace {

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
    return verdict(CacheClass::foreign, "tag " + name.tag + " is not CPython's");
  auto expected = magic_for_version(name.tag_major, name.tag_minor);
  if (!expected)
    return verdict(CacheClass::foreign,
                   fmt::format("unknown CPython {}.{}", name.tag_major, name.tag_minor));
  // A header CPython cannot use makes it recompile (SourceLoader.get_code
  // catches the ImportError/EOFError of _classify_pyc): harmless.
  std::string_view header_bytes = cache.bytes.substr(0, 16);
  switch (parse_pyc_header(header_bytes, header)) {
    case PycParse::too_short:
      return verdict(CacheClass::stale,
                     fmt::format("{} bytes, shorter than a pyc header: CPython recompiles",
                                 header_bytes.size()));
    case PycParse::bad_magic:
      return verdict(CacheClass::stale, "no pyc magic number: CPython recompiles");
    case PycParse::unknown_flags:
      return verdict(CacheClass::stale,
                     fmt::format("unknown flag bits {:#x}: CPython recompiles", header.flags));
    case PycParse::ok:
      break;
  }
  if (header.magic != expected->final)
    return verdict(CacheClass::foreign,
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
    return verdict(CacheClass::orphan,
                   site.source_dir_path.empty()
                       ? "no " + name.module + ".py beside __pycache__"
                       : "no " + name.module + ".py in " + std::string(site.source_dir_path));
  if (auto v = unusable_header(name, cache, f.header, f.minor)) return *v;
  if (int err = hash_source(fs, f); err != 0) return unreadable(err);
  TrustJudgement trusted = judge_trust(f.header, f.minor, cache.stat, f.source);
  if (trusted.verdict.cls == CacheClass::stale) return trusted.verdict;
  // CPython trusts this cache: its body must load.
  std::string fault = body_fault(fs, site, cache, f.minor);
  if (!fault.empty())
    return verdict(CacheClass::corrupt,
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

}  // namespace

namespace {

// classify_cache without the stamp of path and kind.
CacheVerdict judge_cache(FsOps& fs, const CacheSite& site, const JudgeOptions& judge) {
  std::string_view name(site.name);
  std::optional<CacheName> parsed;
  if (site.kind != CacheFileKind::legacy) {
    parsed = parse_cache_name(name);
    if (!parsed) return verdict(CacheClass::foreign, "not named NAME.TAG.pyc");
  }
  CacheFile cache;
  // Without verification, headers and ctimes alone: the body is not read.
  bool header_only = judge.verify == VerifyMode::none;
  if (int err = read_cache(fs, site, header_only, cache); err != 0) return unreadable(err);
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
    return unused.empty() ? v : verdict(CacheClass::orphan, unused);
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

CheckReport check_caches(FsOps& fs, const std::vector<std::string>& roots,
                         const CheckOptions& options) {
  auto start = std::chrono::steady_clock::now();
  CheckReport report;
  report.dry_run = options.remove_not_ok && options.dry_run;
  CodeVerifier verifier;
  CheckVisitor visitor(
      fs, options,
      JudgeOptions{options.verify, &verifier, options.verify_timeout_ms, options.written_since},
      report);
  const WalkOptions& walk_options = options.walk;
  walk(fs, roots, walk_options, visitor);
  if (!options.pycache_prefix.empty()) {
    std::vector<std::string> relatives = pycache_prefix_relatives(roots);
    std::vector<MirrorRoot> mirror_roots;
    for (std::size_t i = 0; i < roots.size(); ++i)
      mirror_roots.push_back({mirror_path(options.pycache_prefix, relatives[i]), roots[i]});
    visitor.set_mirror_roots(std::move(mirror_roots));
    // A dry run unless removing: walk_mirror removes only directories that
    // on_mirror_file's removals left empty.
    walk_mirror(fs, options.pycache_prefix, relatives, walk_options, !options.remove_not_ok,
                visitor);
  }
  report.interpreters = verifier.interpreters();
  report.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace pycache_clean
