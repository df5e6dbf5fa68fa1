// Is a pytest run in progress? The usual answer, `pgrep -f pytest`, matches its
// own `bash -c '... pytest ...'` parent, any editor with test_pytest.py open
// and `grep pytest`; and PYTEST_RUNNING=1 set inside pytest is invisible to
// every process but its children. Here the evidence is, in order: our own
// environment (we were started from inside a test run), the marker lock that
// `pycache-clean test` holds for the whole run (a kernel lock: no false
// positive once the run is gone), and a scan of the process table that
// matches command lines by structure, excluding ourselves and our ancestors.
#include "guard/pytest_probe.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "guard/command_line.hpp"
#include "guard/git_dir.hpp"
#include "guard/lock.hpp"
#include "guard/pytest_argv.hpp"
#include "platform/file_lock.hpp"
#include "platform/process.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean {

namespace {

std::string canonical_or_same(const std::string& path) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(std::filesystem::u8path(path), ec);
  return ec ? path : c.u8string();
}

// Whether `dir` is `root` or below it, component by component (so "C:\\a" and
// "C:/a/" agree on Windows, and "/a/bc" is not inside "/a/b").
bool is_inside(const std::string& dir, const std::string& root) {
  auto parts = [](const std::string& p) {
    std::vector<std::string> out;
    for (const auto& part : std::filesystem::u8path(p).lexically_normal())
      if (!part.empty()) out.push_back(part.u8string());
    return out;
  };
  auto d = parts(dir);
  auto r = parts(root);
  return r.size() <= d.size() && std::equal(r.begin(), r.end(), d.begin());
}

// The directories whose processes count under --scope repo.
std::vector<std::string> find_repo_roots() {
  std::vector<std::string> roots;
  if (auto dirs = find_git_dirs(".")) {
    roots = list_worktrees(dirs->common_dir);
    if (!dirs->worktree.empty()) roots.push_back(dirs->worktree);
  } else {
    std::error_code ec;
    roots.push_back(std::filesystem::current_path(ec).u8string());
  }
  for (auto& r : roots) r = canonical_or_same(r);
  std::sort(roots.begin(), roots.end());
  roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
  return roots;
}

}  // namespace

std::string pytest_marker_path() {
  return lock_location("pycache-clean-pytest.lock").path;
}

namespace {

// Whether run `p` takes part in the marker protocol, so that a holder of the
// marker need not fear it (it waits for the marker before it imports
// anything): started by `pycache-clean test`, the plugin named on its
// command line (`-p pycache_clean`), or holding the marker through its
// `pycache-clean pytest-session` child.
bool takes_part(const ProcessInfo& p, const std::map<long, const ProcessInfo*>& by_pid,
                const std::vector<ProcessInfo>& processes) {
  for (std::size_t i = 0; i + 1 < p.argv.size(); ++i)
    if (p.argv[i] == "-p" && p.argv[i + 1] == "pycache_clean") return true;
  if (std::find(p.argv.begin(), p.argv.end(), "-ppycache_clean") != p.argv.end()) return true;
  if (is_pycache_clean_command(p.argv) && has_argument(p.argv, "test")) return true;
  long at = p.ppid;
  for (int depth = 0; depth < 64 && at > 1; ++depth) {
    auto it = by_pid.find(at);
    if (it == by_pid.end()) break;
    if (is_pycache_clean_command(it->second->argv) && has_argument(it->second->argv, "test"))
      return true;
    at = it->second->ppid;
  }
  return std::any_of(processes.begin(), processes.end(), [&](const ProcessInfo& c) {
    return c.ppid == p.pid && is_pycache_clean_command(c.argv) &&
           has_argument(c.argv, "pytest-session");
  });
}

// Evidence 1: this process's environment says it runs inside pytest.
bool environment_says_inside(const std::map<std::string, std::string>& environment) {
  auto set = [&](const char* name) {
    auto it = environment.find(name);
    return it != environment.end() && !it->second.empty();
  };
  return (set("PYTEST_RUNNING") && environment.at("PYTEST_RUNNING") == "1") ||
         set("PYTEST_VERSION") || set("PYTEST_CURRENT_TEST");
}

bool inside_pytest_by_environment(const ProbeInputs& in, PytestProbe& probe) {
  bool inside = environment_says_inside(in.environment);
  probe.considered.push_back(
      inside ? "environment: PYTEST_RUNNING=1, PYTEST_VERSION or PYTEST_CURRENT_TEST is set: "
               "started from inside a pytest run"
             : "environment: no PYTEST_RUNNING=1, PYTEST_VERSION or PYTEST_CURRENT_TEST: not "
               "inside a pytest run");
  return inside;
}

// Evidence 2: the marker lock is held shared (by marked test runs), as
// read_marker found it. A FIFO or link planted at the marker path is reported
// (probe.marker_problem) and the process table decides alone.
bool marker_held_by_tests(const ProbeInputs& in, PytestProbe& probe, std::string& holders) {
  const MarkerState& m = in.marker;
  std::string state;
  switch (m.lock) {
    case MarkerState::Lock::taken:
      state = "taken by this command";
      break;
    case MarkerState::Lock::absent:
      state = "absent: no run marked itself";
      break;
    case MarkerState::Lock::free:
      state = "free: no marked run";
      break;
    case MarkerState::Lock::shared:
      holders = m.holders;
      state = "held shared: a marked test run" + (holders.empty() ? "" : " (" + holders + ")");
      break;
    case MarkerState::Lock::exclusive:
      holders = m.holders;
      state = "held exclusively by " + m.holders + ": a fixer, not a test run";
      break;
    case MarkerState::Lock::unusable:
      probe.marker_problem = in.marker_path + m.problem;
      state = "unusable: " + probe.marker_problem;
      break;
  }
  probe.considered.push_back(
      fmt::format("marker {} ({}): {}", in.marker_path, in.marker_why, state));
  return m.lock == MarkerState::Lock::shared;
}

// This process and its ancestors: whatever started us (a shell whose command
// line mentions pytest, or pytest itself) is not "another run". A parent that
// started after its child is a newer process that reused the dead parent's
// pid (Windows keeps the old parent pid in every child), not an ancestor: the
// walk stops there.
std::set<long> this_process_and_ancestors(long self,
                                          const std::map<long, const ProcessInfo*>& by_pid) {
  std::set<long> excluded;
  for (long pid = self; pid > 0 && !excluded.count(pid);) {
    excluded.insert(pid);
    auto it = by_pid.find(pid);
    if (it == by_pid.end()) break;
    auto parent = by_pid.find(it->second->ppid);
    if (parent != by_pid.end() && parent->second->start_ticks && it->second->start_ticks &&
        parent->second->start_ticks > it->second->start_ticks)
      break;
    pid = it->second->ppid;
  }
  return excluded;
}

// Evidence 3, one process: why a pytest process (or xdist worker) is not
// counted, or empty when it is.
struct ScanContext {
  PytestScope scope;
  bool ignore_participants;  // the caller holds the marker
  long uid;
  std::vector<std::string> roots;  // --scope repo: the worktrees
  std::set<long> excluded;         // this process and its ancestors
  std::map<long, const ProcessInfo*> by_pid;
  const std::vector<ProcessInfo>* processes;
  const std::map<long, std::string>* canonical_cwd;
};

std::string why_not_counted(const ProcessInfo& p, bool is_worker, const ScanContext& c) {
  if (c.excluded.count(p.pid)) return "this process or one that started it";
  if (c.scope != PytestScope::all && p.uid != c.uid)
    return fmt::format("another user's (uid {}; --scope all counts it)", p.uid);
  if (c.ignore_participants) {
    const ProcessInfo* run = &p;
    if (is_worker) run = c.by_pid.count(p.ppid) ? c.by_pid.at(p.ppid) : &p;
    if (takes_part(*run, c.by_pid, *c.processes))
      return "it takes part in the marker protocol (waits for the marker)";
  }
  if (c.scope == PytestScope::repo) {
    auto known = c.canonical_cwd->find(p.pid);
    std::string cwd = known != c.canonical_cwd->end() ? known->second : p.cwd;
    bool inside =
        !cwd.empty() && std::any_of(c.roots.begin(), c.roots.end(),
                                    [&](const std::string& r) { return is_inside(cwd, r); });
    if (!inside)
      return cwd.empty()
                 ? "its working directory cannot be read (--scope user counts it)"
                 : "working in " + cwd + ", outside this repository (--scope user counts it)";
  }
  return "";
}

// Evidence 3: the pytest runs in the process table within the scope.
void scan_process_table(PytestProbe& probe, ScanContext& c) {
  const auto& processes = *c.processes;
  std::set<long> pytest_pids;
  for (const auto& p : processes)
    if (is_pytest_command(p.argv)) pytest_pids.insert(p.pid);
  probe.considered.push_back(fmt::format(
      "process table: {} processes, {} run pytest{}", processes.size(), pytest_pids.size(),
      c.scope == PytestScope::repo ? " (counted when working in " + join_command(c.roots) + ")"
                                   : ""));
  for (const auto& p : processes) {
    bool is_pytest = pytest_pids.count(p.pid) > 0;
    // An xdist/execnet worker: an interpreter started with -c by a pytest run
    // that is not our own (the workers of our ancestor run are our siblings).
    bool is_worker = !is_pytest && pytest_pids.count(p.ppid) && !c.excluded.count(p.ppid) &&
                     p.argv.size() > 1 && is_python_interpreter(p.argv[0]) &&
                     std::find(p.argv.begin(), p.argv.end(), "-c") != p.argv.end();
    if (!is_pytest && !is_worker) continue;
    std::string why = why_not_counted(p, is_worker, c);
    if (!why.empty()) {
      probe.considered.push_back(
          fmt::format("pid {} ({}): not counted, {}", p.pid, join_command(p.argv, 200), why));
      continue;
    }
    probe.considered.push_back(
        fmt::format("pid {} ({}): counted{}", p.pid, join_command(p.argv, 200),
                    is_worker ? fmt::format(", a worker of pid {}", p.ppid) : ""));
    probe.runs.push_back(PytestRun{p.pid, join_command(p.argv, 4096)});
  }
}

// The canonical working directories of the processes that could count under
// --scope repo (pytest runs, and interpreters started with -c, which xdist's
// workers are); the rest are never compared with the repository.
std::map<long, std::string> canonical_candidate_cwds(const std::vector<ProcessInfo>& processes) {
  std::map<long, std::string> out;
  for (const auto& p : processes) {
    bool candidate = is_pytest_command(p.argv) ||
                     (p.argv.size() > 1 && is_python_interpreter(p.argv[0]) &&
                      std::find(p.argv.begin(), p.argv.end(), "-c") != p.argv.end());
    if (candidate && !p.cwd.empty()) out[p.pid] = canonical_or_same(p.cwd);
  }
  return out;
}

}  // namespace

MarkerState read_marker(const std::string& path, bool held_by_us) {
  MarkerState m;
  if (held_by_us) {
    m.lock = MarkerState::Lock::taken;
    return m;
  }
  FileLock marker;
  LockFileOpen how;
  how.create = false;
  int err = marker.open(path, how);
  if (err == ENOENT) return m;
  if (err != 0) {
    m.lock = MarkerState::Lock::unusable;
    m.problem = err == ELOOP                ? " is a symbolic link"
                : err == k_err_not_lockable ? std::string(" is ") + marker.refused_kind()
                : err == EISDIR             ? " is a directory"
                                            : ": " + errno_text(err);
    return m;
  }
  // Held: by test runs (shared) if a shared lock can join them, else by a
  // fixer that unless-pytest runs (exclusive), which is no test run.
  err = marker.try_lock(FileLock::Mode::exclusive);
  m.lock = MarkerState::Lock::free;
  if (err == EWOULDBLOCK) {
    bool shared = marker.try_lock(FileLock::Mode::shared) == 0;
    if (shared) marker.unlock();
    std::vector<LockHolder> listed = marker.holders();
    m.lock = shared ? MarkerState::Lock::shared : MarkerState::Lock::exclusive;
    m.holders = shared ? (listed.empty() ? "" : describe_holder(std::nullopt, listed))
                       : describe_holder(marker);
  } else if (err == 0) {
    marker.unlock();
  }
  return m;
}

ProbeInputs probe_inputs(PytestScope scope, bool holds_marker) {
  ProbeInputs in;
  for (const char* name : {"PYTEST_RUNNING", "PYTEST_VERSION", "PYTEST_CURRENT_TEST"})
    if (const char* value = std::getenv(name)) in.environment[name] = value;
  in.holds_marker = holds_marker;
  // When the environment says so it decides alone: nothing else is gathered
  // (no repository discovery, no process table).
  if (environment_says_inside(in.environment)) return in;
  in.self_pid = current_pid();
  in.uid = current_uid();
  if (scope == PytestScope::repo) in.repo_roots = find_repo_roots();
  LockLocation where = lock_location("pycache-clean-pytest.lock");
  in.marker_path = where.path;
  in.marker_why = where.why;
  in.marker = read_marker(in.marker_path, holds_marker);
  in.processes = list_processes(in.scan_supported);
  if (scope == PytestScope::repo) in.canonical_cwd = canonical_candidate_cwds(in.processes);
  return in;
}

PytestProbe probe_pytest(PytestScope scope, const ProbeInputs& in) {
  PytestProbe probe;
  probe.scan_supported = in.scan_supported;
  if (inside_pytest_by_environment(in, probe)) {
    probe.running = true;
    probe.evidence = "environment";
    probe.runs.push_back(PytestRun{0, "this process was started from inside a pytest run"});
    return probe;
  }
  std::string holders;  // who holds the marker, as the kernel lists them
  bool marker_held = marker_held_by_tests(in, probe, holders);
  ScanContext context{scope, in.holds_marker, in.uid,           in.repo_roots, {},
                      {},    &in.processes,   &in.canonical_cwd};
  for (const auto& p : in.processes) context.by_pid[p.pid] = &p;
  context.excluded = this_process_and_ancestors(in.self_pid, context.by_pid);
  scan_process_table(probe, context);
  if (marker_held) {
    probe.running = true;
    probe.evidence = "marker";
    if (probe.runs.empty())
      probe.runs.push_back(PytestRun{
          0, "a run holding the pytest marker" + (holders.empty() ? "" : ": " + holders)});
  } else if (!probe.runs.empty()) {
    probe.running = true;
    probe.evidence = "process";
  }
  return probe;
}

PytestProbe probe_pytest(PytestScope scope, bool holds_marker) {
  PytestProbe probe = probe_pytest(scope, probe_inputs(scope, holds_marker));
  if (!probe.marker_problem.empty())
    log_warn("pytest marker {}: ignored, only the process table counts", probe.marker_problem);
  return probe;
}

}  // namespace pycache_clean
