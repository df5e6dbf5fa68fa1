// Child processes and process facts on POSIX.
//
// run_child starts the command with posix_spawnp (vfork-fast, and it reports
// "not found" and "cannot execute" as errors instead of a half-started child)
// and waits for it with the forwarded signals blocked, taking them with
// sigwaitinfo: no handler runs, and no signal that arrives while the child is
// being started can be lost. SIGINT, SIGTERM, SIGHUP and SIGQUIT sent with
// kill(2) are passed on; the same signals from the terminal are passed on only
// when the command left our process group (the terminal already reached it
// otherwise), so Ctrl-C ends `lock -- timeout 20 sleep 20` as it ends
// `flock(1)`'s command.
//
// A coprocess talks over one socketpair serving as its stdin and stdout:
// send(MSG_NOSIGNAL) turns a helper that died into an error instead of a
// SIGPIPE that would kill this process (a pipe cannot do that without
// changing a signal disposition every child would inherit).
#include "platform/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "proc_stat.hpp"

extern char** environ;

namespace pycache_clean {

namespace {

// What run_child passes on to its command, and what it waits for.
sigset_t forwarded_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  return set;
}

struct ChildArgs {
  std::vector<std::string> strings;
  std::vector<char*> pointers;
};

ChildArgs c_strings(std::vector<std::string> strings) {
  ChildArgs out{std::move(strings), {}};
  for (auto& s : out.strings) out.pointers.push_back(s.data());
  out.pointers.push_back(nullptr);
  return out;
}

ChildArgs environment_with(const EnvChanges& env) {
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
  std::vector<std::string> strings;
  for (const auto& key : order)
    if (vars.count(key)) strings.push_back(key + "=" + vars[key]);
  return c_strings(std::move(strings));
}

ChildResult child_end(int status) {
  if (WIFEXITED(status)) return {ChildResult::End::exited, WEXITSTATUS(status)};
  if (WIFSIGNALED(status)) return {ChildResult::End::signalled, WTERMSIG(status)};
  return {ChildResult::End::lost};
}

// Passes `sig` on to the child unless the terminal already sent it there: a
// terminal's Ctrl-C reaches the whole foreground process group, but a command
// that moved to a group of its own (`timeout`, some shells) is not in it.
void forward(pid_t child, int sig, const siginfo_t& info) {
#if defined(SI_KERNEL)
  bool from_terminal = info.si_code == SI_KERNEL;
#else
  bool from_terminal = false;  // no way to tell: forward everything
  (void)info;
#endif
  if (from_terminal && ::getpgid(child) == ::getpgrp()) return;
  ::kill(child, sig);
}

// Waits for `child` while the forwarded signals and SIGCHLD are blocked, so
// that none is lost: a signal that arrived while the child was being started
// is pending and is passed on here.
ChildResult wait_forwarding(pid_t child, const sigset_t& waited) {
  for (;;) {
    siginfo_t info{};
    int sig = ::sigwaitinfo(&waited, &info);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      forward(child, sig, info);
      continue;
    }
    int status = 0;
    pid_t r = ::waitpid(child, &status, WNOHANG);
    if (r == child) return child_end(status);
    if (r < 0 && errno != EINTR) return {ChildResult::End::lost};
  }
}

}  // namespace

ChildResult run_child(const std::vector<std::string>& argv, const EnvChanges& env) {
  if (argv.empty()) return {ChildResult::End::not_found, 0, ENOENT};
  ChildArgs envp = environment_with(env);
  ChildArgs args = c_strings(argv);

  // Block what we forward (and SIGCHLD) before the child exists: a signal
  // arriving between its start and our recording its pid stays pending
  // instead of being lost. SIGCHLD must not be ignored, or no signal comes.
  sigset_t forwarded = forwarded_signals();
  sigset_t waited = forwarded;
  sigaddset(&waited, SIGCHLD);
  sigset_t previous_mask;
  ::pthread_sigmask(SIG_BLOCK, &waited, &previous_mask);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  struct sigaction previous_chld {};
  ::sigaction(SIGCHLD, &default_action, &previous_chld);

  // The child starts with the caller's mask and default dispositions.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &previous_mask);
  posix_spawnattr_setsigdefault(&attr, &forwarded);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, args.pointers[0], nullptr, &attr, args.pointers.data(),
                           envp.pointers.data());
  posix_spawnattr_destroy(&attr);
  ChildResult result;
  if (err != 0)
    result = {err == ENOENT || err == ENOTDIR ? ChildResult::End::not_found
                                              : ChildResult::End::cannot_execute,
              0, err};
  else
    result = wait_forwarding(pid, waited);
  ::sigaction(SIGCHLD, &previous_chld, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  return result;
}

std::optional<std::string> capture_output(const std::vector<std::string>& argv) {
  if (argv.empty()) return std::nullopt;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  ChildArgs args = c_strings(argv);
  pid_t pid = 0;
  int err =
      ::posix_spawnp(&pid, args.pointers[0], &actions, nullptr, args.pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  std::string out;
  if (err == 0) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (out.size() < (1u << 20)) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fds[0]);
  if (err != 0) return std::nullopt;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
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

namespace {

// The /proc/PID/stat fields of `pid` (Linux), or nothing.
std::optional<ProcStat> read_proc_stat(long pid) {
#if defined(__linux__)
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  return parse_proc_stat(line);
#else
  (void)pid;
  return std::nullopt;
#endif
}

}  // namespace

std::optional<std::uint64_t> process_start_time(long pid) {
  auto stat = read_proc_stat(pid);
  if (!stat) return std::nullopt;
  return stat->start_ticks;
}

std::optional<long> parent_process(long pid) {
  if (pid == current_pid()) return static_cast<long>(::getppid());
  auto stat = read_proc_stat(pid);
  if (!stat) return std::nullopt;
  return stat->ppid;
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

std::uint64_t open_file_limit() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<std::uint64_t>(limit.rlim_cur);
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

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

const char* executable_suffix() {
  return "";
}

std::vector<std::string> system_python_locations(int major, int minor) {
  std::string exe = "python" + std::to_string(major) + "." + std::to_string(minor);
  return {"/usr/local/bin/" + exe, "/usr/bin/" + exe};
}

namespace {

class PosixCoprocess final : public Coprocess {
 public:
  PosixCoprocess(pid_t pid, int fd) : m_pid(pid), m_fd(fd) {}
  ~PosixCoprocess() override {
    ::close(m_fd);
    ::kill(m_pid, SIGKILL);
    while (::waitpid(m_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }

  bool send(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

 protected:
  std::size_t read_some(char* buffer, std::size_t capacity, int timeout_ms) override {
    for (;;) {
      pollfd p{m_fd, POLLIN, 0};
      int ready = ::poll(&p, 1, timeout_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return 0;
      ssize_t n = ::recv(m_fd, buffer, capacity, 0);
      if (n < 0 && errno == EINTR) continue;
      return n > 0 ? static_cast<std::size_t>(n) : 0;
    }
  }

 private:
  pid_t m_pid;
  int m_fd;
};

}  // namespace

Result<std::unique_ptr<Coprocess>> start_coprocess(const std::vector<std::string>& argv) {
  int fds[2];
  if (argv.empty()) return Failed{ENOENT};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return Failed{errno};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // A walker thread may have signals blocked; the helper starts with none.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  ChildArgs args = c_strings(argv);
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, args.pointers[0], &actions, &attr, args.pointers.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (err != 0) {
    ::close(fds[0]);
    return Failed{err};
  }
  return std::unique_ptr<Coprocess>(std::make_unique<PosixCoprocess>(pid, fds[0]));
}

}  // namespace pycache_clean
