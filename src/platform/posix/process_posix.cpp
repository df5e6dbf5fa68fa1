// Child processes and process facts on POSIX.
//
// run_child starts the command with posix_spawnp (vfork-fast, and it reports
// "not found" and "cannot execute" as errors instead of a half-started child)
// and waits for it. SIGINT, SIGTERM and SIGHUP sent to us with kill(2) are
// passed on to the child; the same signals coming from the terminal (si_code
// SI_KERNEL) already reached the whole foreground process group, child
// included, so they are not sent a second time.
#include <pycache_clean/process.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <pycache_clean/exit_status.hpp>

extern char** environ;

namespace pycache_clean {

namespace {

volatile sig_atomic_t g_child_pid = 0;

void forward_signal(int sig, siginfo_t* info, void*) {
#if defined(SI_KERNEL)
  bool from_terminal = info != nullptr && info->si_code == SI_KERNEL;
#else
  bool from_terminal = false;  // no way to tell: forward everything
  (void)info;
#endif
  if (g_child_pid > 0 && !from_terminal) ::kill(static_cast<pid_t>(g_child_pid), sig);
}

const int k_forwarded[] = {SIGINT, SIGTERM, SIGHUP};

}  // namespace

ChildResult run_child(const std::vector<std::string>& argv, const EnvChanges& env) {
  if (argv.empty()) return ChildResult{k_exit_command_not_found, ENOENT};
  std::map<std::string, std::string> vars;
  std::vector<std::string> order;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    std::string key = kv.substr(0, eq);
    if (!vars.count(key)) order.push_back(key);
    vars[key] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  for (const auto& [key, value] : env) {
    if (value) {
      if (!vars.count(key)) order.push_back(key);
      vars[key] = *value;
    } else {
      vars.erase(key);
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& key : order)
    if (vars.count(key)) env_strings.push_back(key + "=" + vars[key]);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);

  // Install the forwarders before spawning so that no signal is lost between.
  struct sigaction action {};
  action.sa_sigaction = forward_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  struct sigaction previous[3];
  for (int i = 0; i < 3; ++i) ::sigaction(k_forwarded[i], &action, &previous[i]);

  // The child starts with default dispositions for the forwarded signals.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : k_forwarded) sigaddset(&defaults, s);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, argp[0], nullptr, &attr, argp.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  int status = 0;
  int result;
  if (err != 0) {
    result = err == ENOENT || err == ENOTDIR ? k_exit_command_not_found : k_exit_cannot_execute;
  } else {
    g_child_pid = pid;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    g_child_pid = 0;
    if (WIFEXITED(status))
      result = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
      result = k_exit_signal_base + WTERMSIG(status);
    else
      result = k_exit_failure;
  }
  for (int i = 0; i < 3; ++i) ::sigaction(k_forwarded[i], &previous[i], nullptr);
  return ChildResult{result, err};
}

std::vector<std::string> process_arguments(int argc, char** argv) {
  return std::vector<std::string>(argv, argv + argc);
}

long current_pid() {
  return static_cast<long>(::getpid());
}

bool process_exists(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

std::optional<std::uint64_t> process_start_time(long pid) {
#if defined(__linux__)
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // Field 2 (comm) may hold spaces and parentheses: fields resume after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return std::stoull(field);
  }
#else
  (void)pid;
#endif
  return std::nullopt;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

void raise_open_file_limit() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct rlimit limit;
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
  });
}

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto colon = dirs.find(':', start);
    std::string dir =
        dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

}  // namespace pycache_clean
