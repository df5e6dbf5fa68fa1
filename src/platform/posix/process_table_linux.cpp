// The process table on Linux, from /proc. Each process is read independently
// and may vanish mid-read; such a process is simply left out. The command
// line is NUL-separated; a process that rewrote its argv into one string
// (setproctitle) is split on spaces instead.
#include "platform/process_table.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iterator>
#include <sstream>

#include "proc_stat.hpp"

namespace pycache_clean {

long current_uid() {
  return static_cast<long>(::getuid());
}

#if defined(__linux__)

namespace {

bool read_all(const std::string& path, std::string& out) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return n == 0;
}

std::vector<std::string> split_cmdline(const std::string& raw) {
  std::vector<std::string> argv;
  std::string cur;
  for (char c : raw) {
    if (c == '\0') {
      argv.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) argv.push_back(cur);
  if (argv.size() == 1 && argv[0].find(' ') != std::string::npos) {
    std::istringstream words(argv[0]);
    argv.assign(std::istream_iterator<std::string>(words), std::istream_iterator<std::string>());
  }
  return argv;
}

}  // namespace

std::vector<std::string> process_command_line(long pid) {
  std::string cmdline;
  if (pid <= 0 || !read_all("/proc/" + std::to_string(pid) + "/cmdline", cmdline)) return {};
  return split_cmdline(cmdline);
}

std::vector<ProcessInfo> list_processes(bool& supported) {
  supported = true;
  std::vector<ProcessInfo> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) {
    supported = false;
    return out;
  }
  while (struct dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::string base = std::string("/proc/") + e->d_name;
    ProcessInfo info;
    info.pid = pid;
    std::string text;
    if (!read_all(base + "/stat", text)) continue;
    auto stat = parse_proc_stat(text);
    if (!stat) continue;
    info.ppid = stat->ppid;
    info.start_ticks = stat->start_ticks;
    struct stat st;
    if (::stat(base.c_str(), &st) == 0) info.uid = static_cast<long>(st.st_uid);
    std::string cmdline;
    if (!read_all(base + "/cmdline", cmdline) || cmdline.empty()) continue;  // kernel thread
    info.argv = split_cmdline(cmdline);
    char buf[4096];
    ssize_t n = ::readlink((base + "/cwd").c_str(), buf, sizeof buf);
    if (n > 0) info.cwd.assign(buf, static_cast<std::size_t>(n));
    out.push_back(std::move(info));
  }
  ::closedir(proc);
  return out;
}

#else

// macOS (sysctl KERN_PROCARGS2) and the BSDs are not implemented yet.
std::vector<std::string> process_command_line(long) {
  return {};
}

std::vector<ProcessInfo> list_processes(bool& supported) {
  supported = false;
  return {};
}

#endif

}  // namespace pycache_clean
