#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pycache_clean {

// One process as the platform shows it. What cannot be read (another user's
// working directory, say) is left empty.
struct ProcessInfo {
  long pid = 0;
  long ppid = 0;
  long uid = -1;
  std::vector<std::string> argv;
  std::string cwd;
  std::uint64_t start_ticks = 0;
};

// Every process this user may see. Linux: /proc/PID/{stat,cmdline,cwd}.
// Sets `supported` to false where the platform part is not implemented.
std::vector<ProcessInfo> list_processes(bool& supported);

// The real user id of this process.
long current_uid();

// The command line of process `pid`, when it can be read (Linux:
// /proc/PID/cmdline); empty otherwise.
std::vector<std::string> process_command_line(long pid);

}  // namespace pycache_clean
