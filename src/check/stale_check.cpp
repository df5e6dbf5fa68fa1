// `check` and `clean --stale-only`: the walk that judges every cache it
// finds (classify.cpp) and, removing, drops each one CPython should not load.
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
// its own interpreter (code_verifier.cpp).
#include "check/stale_check.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "platform/path.hpp"
#include "platform/process.hpp"
#include "pyc/cache_name.hpp"
#include "pyc/pyc.hpp"
#include "sweep/cachedir_tag.hpp"
#include "sweep/mirror.hpp"
#include "sweep/remove.hpp"
#include "sweep/sweep.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace pycache_clean {

namespace {

class CheckVisitor final : public WalkVisitor {
 public:
  CheckVisitor(FsOps& fs, const CheckOptions& options, JudgeOptions judge, CheckReport& report)
      : m_fs(fs),
        m_options(options),
        m_judge(judge),
        m_report(report),
        m_jobs(options.walk.jobs == 0 ? default_jobs() : options.walk.jobs) {}

  void set_mirrors(const MirrorMap* mirrors) { m_mirrors = mirrors; }

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
    std::string source_dir = m_mirrors ? m_mirrors->source_dir_of(path) : std::string();
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
  const MirrorMap* m_mirrors = nullptr;  // with a pycache prefix
  unsigned m_jobs;                       // threads a large batch is judged on, with --verify all
  WidthShare m_latency_width;            // or where each read is a round trip
  std::mutex m_mutex;
};

}  // namespace

bool CheckReport::gate_failed() const {
  for (int i = 0; i < k_cache_class_count; ++i)
    if (counts[i] > 0 && is_gate_failure(static_cast<CacheClass>(i))) return true;
  return false;
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
    MirrorMap mirrors(options.pycache_prefix, roots);
    visitor.set_mirrors(&mirrors);
    // A dry run unless removing: walk_mirror removes only directories that
    // on_mirror_file's removals left empty.
    walk_mirror(fs, options.pycache_prefix, mirrors.relatives(), walk_options,
                !options.remove_not_ok, visitor);
  }
  report.interpreters = verifier.interpreters();
  report.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace pycache_clean
