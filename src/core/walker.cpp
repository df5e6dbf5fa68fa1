// The parallel tree walker behind `clean` and `check`.
//
// Each pending directory is a task holding a shared reference to its parent's
// open handle plus its own name; a worker opens it with open_dir(parent, name)
// (openat with O_NOFOLLOW on POSIX), reads every entry, hands `__pycache__`
// directories to the visitor while the handle is still open, and pushes the
// remaining subdirectories as new tasks. Nothing re-resolves a path string, so
// a directory swapped for a symlink mid-walk is seen as a symlink and skipped,
// and a tree deeper than PATH_MAX walks like any other.
//
// Tasks are taken last-in first-out, so the walk is depth-first and a parent's
// handle is released as soon as its last child has been opened: a long chain
// of directories holds O(1) handles, and memory is bounded by the width of the
// frontier, never by the size of the tree. Helper threads start only once
// there is more than one task, so a walk of a tiny tree pays no thread cost.
#include <pycache_clean/walker.hpp>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include <pycache_clean/error.hpp>
#include <pycache_clean/process.hpp>

namespace pycache_clean {

namespace {

constexpr std::string_view k_cache_dir_name = "__pycache__";

struct DirNode {
  DirNode(FsOps& fs, Handle h) : m_fs(fs), m_handle(h) {}
  DirNode(const DirNode&) = delete;
  DirNode& operator=(const DirNode&) = delete;
  ~DirNode() { m_fs.close(m_handle); }
  FsOps& m_fs;
  Handle m_handle;
};

struct Task {
  std::shared_ptr<DirNode> parent;  // null for a root
  std::string name;                 // relative to parent (or the root's path)
  std::string path;                 // for messages only
  bool is_root = false;
};

bool is_excluded(const std::vector<std::string>& excludes, std::string_view name) {
  return std::any_of(excludes.begin(), excludes.end(),
                     [&](const std::string& e) { return e == name; });
}

class ParallelWalk {
 public:
  ParallelWalk(FsOps& fs, const WalkOptions& options, WalkVisitor& visitor)
      : m_fs(fs), m_options(options), m_visitor(visitor) {
    unsigned jobs = options.jobs;
    if (jobs == 0) jobs = std::clamp(std::thread::hardware_concurrency(), 1U, 4U);
    m_jobs = jobs;
  }

  void run(std::vector<Task> roots) {
    std::reverse(roots.begin(), roots.end());  // first root first
    m_stack = std::move(roots);
    worker(true);
    for (auto& t : m_threads) t.join();
  }

 private:
  void start_helpers() {
    // Called with m_mutex held.
    if (m_helpers_started) return;
    m_helpers_started = true;
    for (unsigned i = 1; i < m_jobs; ++i) m_threads.emplace_back([this] { worker(false); });
  }

  void worker(bool is_main) {
    DirListing listing;
    std::vector<Task> children;
    Task task;
    bool have_task = false;
    for (;;) {
      if (!have_task) {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [this] { return !m_stack.empty() || m_busy == 0; });
        if (m_stack.empty()) return;  // nothing pending and nobody busy: done
        task = std::move(m_stack.back());
        m_stack.pop_back();
        ++m_busy;
        have_task = true;
      }
      children.clear();
      process(task, listing, children);
      task = Task{};
      have_task = false;
      if (!children.empty()) {
        // Keep one child for this thread, share the rest.
        task = std::move(children.back());
        children.pop_back();
        have_task = true;
      }
      std::unique_lock<std::mutex> lock(m_mutex);
      if (!children.empty()) {
        for (auto& c : children) m_stack.push_back(std::move(c));
        if (is_main && m_jobs > 1) start_helpers();
        if (children.size() == 1)
          m_cv.notify_one();
        else
          m_cv.notify_all();
      }
      if (!have_task) {
        --m_busy;
        if (m_busy == 0 && m_stack.empty()) m_cv.notify_all();
      }
    }
  }

  void process(Task& task, DirListing& listing, std::vector<Task>& children) {
    int err = 0;
    Handle h = task.is_root ? m_fs.open_root(task.name, err)
                            : m_fs.open_dir(task.parent->m_handle, task.name.c_str(), err);
    if (h == k_no_handle) {
      if (task.is_root) {
        m_visitor.on_bad_root(task.path, err);
      } else if (err == ELOOP || err == ENOTDIR || err == ENOENT) {
        // Swapped for a symlink or a file, or removed, since it was listed.
        spdlog::debug("{}: changed during the walk ({}), skipped", task.path, errno_text(err));
      } else {
        m_visitor.on_unreadable(task.path, err);
      }
      return;
    }
    task.parent.reset();  // the parent's handle may close now
    auto self = std::make_shared<DirNode>(m_fs, h);
    if (m_options.counters)
      m_options.counters->dirs_visited.fetch_add(1, std::memory_order_relaxed);
    err = m_fs.read_dir(h, listing);
    if (err == ENOENT) return;  // removed meanwhile (getdents on a deleted directory)
    if (err != 0) {
      m_visitor.on_unreadable(task.path, err);
      return;
    }
    if (m_options.skip_virtualenvs && !task.is_root) {
      for (std::size_t i = 0; i < listing.size(); ++i) {
        if (listing.name_view(i) == "pyvenv.cfg") {
          spdlog::debug("{}: holds pyvenv.cfg (a virtualenv), skipped", task.path);
          return;
        }
      }
    }
    for (std::size_t i = 0; i < listing.size(); ++i) {
      EntryType type = listing.type(i);
      const char* name = listing.name(i);
      std::string_view name_view = listing.name_view(i);
      if (type == EntryType::unknown) {
        FileStat st;
        if (m_fs.stat(h, name, st) != 0) continue;  // vanished
        type = st.type;
      }
      if (type == EntryType::directory) {
        if (name_view == k_cache_dir_name) {
          if (m_options.counters)
            m_options.counters->caches_found.fetch_add(1, std::memory_order_relaxed);
          m_visitor.on_cache_dir(h, name, join_path(task.path, name_view));
        } else if (!is_excluded(m_options.excludes, name_view)) {
          children.push_back(Task{self, std::string(name_view), join_path(task.path, name_view)});
        }
      } else if (type == EntryType::symlink) {
        if (name_view == k_cache_dir_name)
          spdlog::debug("{}: a symlink, left alone", join_path(task.path, name_view));
      } else if (m_options.want_stray && type == EntryType::file && is_bytecode_name(name_view)) {
        m_visitor.on_stray_file(h, name, join_path(task.path, name_view));
      }
    }
  }

  FsOps& m_fs;
  const WalkOptions& m_options;
  WalkVisitor& m_visitor;
  unsigned m_jobs = 1;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<Task> m_stack;
  unsigned m_busy = 0;
  bool m_helpers_started = false;
  std::vector<std::thread> m_threads;
};

// Splits "a/b/__pycache__/" into ("a/b", "__pycache__"); "__pycache__" into (".", ...).
// Windows: "C:\\x\\__pycache__" into ("C:\\x", ...), "C:\\__pycache__" into ("C:\\", ...).
std::pair<std::string, std::string> split_last(std::string path) {
  while (path.size() > 1 && is_path_separator(path.back())) path.pop_back();
  auto it = std::find_if(path.rbegin(), path.rend(), is_path_separator);
  if (it == path.rend()) return {".", path};
  std::size_t slash = static_cast<std::size_t>(path.rend() - it) - 1;
  bool at_root = slash == 0 || (slash == 2 && path[1] == ':' && is_absolute_path(path));
  return {path.substr(0, at_root ? slash + 1 : slash), path.substr(slash + 1)};
}

}  // namespace

void WalkVisitor::on_stray_file(Handle, const char*, const std::string&) {}

const std::vector<std::string>& default_excludes() {
  static const std::vector<std::string> names = {".git", ".hg",  ".svn",
                                                 ".tox", ".nox", "node_modules"};
  return names;
}

std::string join_path(const std::string& dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out = dir;
  // Windows: continue a path the way it was typed, "C:\\src" + "pkg" -> "C:\\src\\pkg".
  char separator = is_path_separator('\\') && dir.find('\\') != std::string::npos ? '\\' : '/';
  if (out.empty() || !is_path_separator(out.back())) out.push_back(separator);
  out.append(name.data(), name.size());
  return out;
}

bool is_bytecode_name(std::string_view name) {
  if (name.size() < 5) return false;
  auto ext = name.substr(name.size() - 4);
  return ext == ".pyc" || ext == ".pyo";
}

void walk(FsOps& fs, const std::vector<std::string>& roots, const WalkOptions& options,
          WalkVisitor& visitor) {
  std::vector<Task> tasks;
  for (const auto& root : roots) {
    auto [dir, base] = split_last(root);
    if (base == k_cache_dir_name) {
      // The user named a cache directory itself: hand it over with its parent open.
      int err = 0;
      ScopedHandle parent(fs, fs.open_root(dir, err));
      FileStat st;
      if (!parent) {
        visitor.on_bad_root(root, err);
      } else if ((err = fs.stat(parent.get(), base.c_str(), st)) != 0) {
        visitor.on_bad_root(root, err);
      } else if (st.type == EntryType::directory) {
        if (options.counters) options.counters->caches_found.fetch_add(1);
        visitor.on_cache_dir(parent.get(), base.c_str(), root);
      } else {
        visitor.on_bad_root(root, ENOTDIR);
      }
      continue;
    }
    tasks.push_back(Task{nullptr, root, root, true});
  }
  if (tasks.empty()) return;
  raise_open_file_limit();
  ParallelWalk(fs, options, visitor).run(std::move(tasks));
}

}  // namespace pycache_clean
