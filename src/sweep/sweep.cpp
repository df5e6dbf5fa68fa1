// The `clean` sweep: a WalkVisitor that removes each cache directory it is
// handed, counts what it found and removed, and passes each event to a
// listener under one lock so that -v lines and warnings never interleave.
//
// Counting rules (what the report line promises): a directory found and then
// gone before we reached it counts as removed (someone else did the job); one
// swapped for a symlink after listing is not a cache any more and is counted
// neither found nor removed; a dry run counts exactly what a real run would
// find.
//
// The PYTHONPYCACHEPREFIX mirror holds no `__pycache__` directories: CPython
// writes `<prefix>/<abs dir>/NAME.TAG.pyc` directly. It is walked by the same
// walker (walk_mirror: no symlink followed, excludes and virtualenvs skipped,
// no recursion). There each directory that holds caches counts as one cache
// directory; only files named as CPython names caches are removed, then the
// directories that this left empty, so nothing else living under a prefix
// chosen carelessly (`/`, a shared `/tmp/pycache`) is touched. What is listed
// as removed is exactly what went: each cache file of the mirror, and a
// mirror directory only once it is gone (dry: when all it holds would go).
#include "sweep/sweep.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <utility>

#include "sweep/mirror.hpp"
#include "sweep/remove.hpp"
#include "util/log.hpp"

namespace pycache_clean {

namespace {

class SweepVisitor final : public WalkVisitor {
 public:
  SweepVisitor(FsOps& fs, const SweepOptions& options, SweepListener* listener, SweepReport& report)
      : m_fs(fs), m_options(options), m_listener(listener), m_report(report) {}

  // Where each removal is a round trip, the files of one large cache go on
  // as many threads as the walk has (the walk hands out whole directories).
  void on_walk_start(unsigned jobs, const FileSystemKind& kind) override {
    m_width.start(jobs, kind);
  }

  void on_cache_dir(Handle parent, const char* name, const std::string& path) override {
    remove_tree(parent, name, path, {&m_width}, m_report.found, m_report.removed);
  }

  // A directory that says it is a cache (walk.tagged): removed like a
  // `__pycache__`, but only the very directory whose tag was judged.
  bool on_tagged_dir(Handle parent, const char* name, const std::string& path,
                     Handle dir) override {
    DirIdentity id;
    if (m_fs.identify(dir, id) != 0) return false;
    remove_tree(parent, name, path, {&m_width, &id}, m_report.tagged_found,
                m_report.tagged_removed);
    return true;
  }

  bool wants_stray() const override { return m_options.remove_stray; }
  void on_stray_file(Handle parent, const char* name, const std::string& path) override {
    int err = m_options.dry_run ? 0 : remove_cache_file(m_fs, parent, name, CacheFileKind::legacy);
    std::lock_guard<std::mutex> lock(m_mutex);
    if (err == EISDIR) return;  // raced into a directory: not a stray file
    ++m_report.stray_found;
    if (err == 0 || err == ENOENT) {
      if (!m_options.dry_run) ++m_report.stray_removed;
      if (m_listener) m_listener->on_removed(path, m_options.dry_run);
    } else {
      kept(PathProblem{path, err});
    }
  }

  void on_unreadable(const std::string& path, int err) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    PathProblem problem{path, err};
    if (m_listener) m_listener->on_unreadable(problem);
    m_report.unreadable.push_back(std::move(problem));
  }

  void on_bad_root(const std::string& path, int err) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    PathProblem problem{path, err};
    if (m_listener) m_listener->on_bad_root(problem);
    m_report.bad_roots.push_back(std::move(problem));
  }

  // A cache file in the pycache-prefix mirror (named as CPython names
  // caches): listed itself, since its directory may hold other things.
  bool on_mirror_file(Handle dir, const char* name, const std::string& path) override {
    int err = m_options.dry_run ? 0 : remove_cache_file(m_fs, dir, name, CacheFileKind::mirror);
    std::lock_guard<std::mutex> lock(m_mutex);
    if (err == 0 || err == ENOENT) {
      if (m_listener) m_listener->on_removed(path, m_options.dry_run);
      return true;
    }
    kept(PathProblem{path, err});
    return false;
  }

  // A mirror directory that held caches counts as one cache directory.
  void on_mirror_dir(const std::string&, std::uint64_t files, std::uint64_t removed) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_report.found;
    if (removed == files && !m_options.dry_run) ++m_report.removed;
  }

  // Listed only when it really went (or, dry, would go): left empty.
  void on_mirror_dir_removed(const std::string& path) override {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_listener) m_listener->on_removed(path, m_options.dry_run);
  }

 private:
  // Removes (dry: counts) cache directory `name` inside `parent`, counting
  // it in `found` and, once gone, in `removed`.
  void remove_tree(Handle parent, const char* name, const std::string& path, const TreeRemoval& how,
                   std::uint64_t& found, std::uint64_t& removed) {
    if (m_options.dry_run) {
      std::lock_guard<std::mutex> lock(m_mutex);
      ++found;
      if (m_listener) m_listener->on_removed(path, true);
      return;
    }
    log_trace("{}: a cache directory, removing it and all it holds", path);
    PathProblem failure;
    RemoveOutcome outcome = remove_directory_tree(m_fs, parent, name, path, failure, how);
    std::lock_guard<std::mutex> lock(m_mutex);
    switch (outcome) {
      case RemoveOutcome::removed:
        ++found;
        ++removed;
        if (m_listener) m_listener->on_removed(path, false);
        break;
      case RemoveOutcome::failed:
        ++found;
        kept(std::move(failure));
        break;
      case RemoveOutcome::not_a_directory:  // a link now, or another directory: not ours
        log_debug("{}: changed since it was found, left alone", path);
        break;
    }
  }

  void kept(PathProblem problem) {
    if (m_listener) m_listener->on_kept(problem);
    m_report.kept.push_back(std::move(problem));
  }

  FsOps& m_fs;
  const SweepOptions& m_options;
  SweepListener* m_listener;
  SweepReport& m_report;
  std::mutex m_mutex;
  WidthShare m_width;  // threads a large cache is emptied on
};

}  // namespace

SweepReport sweep(FsOps& fs, const std::vector<std::string>& roots, const SweepOptions& options,
                  SweepListener* listener) {
  auto start = std::chrono::steady_clock::now();
  SweepReport report;
  report.dry_run = options.dry_run;
  SweepVisitor visitor(fs, options, listener, report);
  const WalkOptions& walk_options = options.walk;
  walk(fs, roots, walk_options, visitor);

  if (!options.pycache_prefix.empty())
    walk_mirror(fs, options.pycache_prefix, pycache_prefix_relatives(roots), walk_options,
                options.dry_run, visitor);
  report.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace pycache_clean
