#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace pycache_clean {

// Environment changes for a child: set (value) or, with no value, unset.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

// How a child command ended. The command line turns it into this program's
// exit status as a shell would (cli/exit_status.hpp).
struct ChildResult {
  enum class End {
    exited,          // `code` is its exit status
    signalled,       // `code` is the signal that killed it
    not_found,       // it could not be started: no such program (`spawn_error`)
    cannot_execute,  // it could not be started otherwise (`spawn_error`)
    lost,            // it could not be waited for
  };
  End end = End::exited;
  int code = 0;
  // The errno of a failed start, else 0.
  int spawn_error = 0;

  bool started() const { return end != End::not_found && end != End::cannot_execute; }
};

// Runs `argv` (searched in PATH) as a child and waits for it, forwarding
// SIGINT/SIGTERM/SIGHUP sent to this process (a terminal's Ctrl-C already
// reaches the whole process group, so it is not sent twice).
ChildResult run_child(const std::vector<std::string>& argv, const EnvChanges& env = {});

// This process's arguments as UTF-8, argv[0] first. POSIX: argv as given;
// Windows: the UTF-16 command line (argv there is in the ANSI code page, which
// cannot hold every file name).
std::vector<std::string> process_arguments(int argc, char** argv);

// This process's id.
long current_pid();

// Whether process `pid` exists, and when it started (an opaque number that
// differs between two processes that had the same pid; Linux: clock ticks since
// boot from /proc/PID/stat). Empty when unknown.
bool process_exists(long pid);
std::optional<std::uint64_t> process_start_time(long pid);

// The parent of process `pid`, when known (Linux: /proc/PID/stat; Windows:
// a process snapshot).
std::optional<long> parent_process(long pid);

std::string host_name();

// Raises this process's soft limit on open files to its hard limit (once):
// a deep walk keeps one descriptor per level that still has pending siblings.
void raise_open_file_limit();
// The soft limit on open files (after raise_open_file_limit), 0 when unknown.
std::uint64_t open_file_limit();

// Runs `argv` (searched in PATH) with no input and returns its standard
// output when it exits 0; empty when it cannot start or fails. For short
// queries (`git config`), not for the user's commands.
std::optional<std::string> capture_output(const std::vector<std::string>& argv);

// The full path of executable `name` found on PATH, or empty.
std::string find_program(const std::string& name);

// Whether `path` names a regular file this process may execute.
bool is_executable_file(const std::string& path);

// How this platform names executables: "" on POSIX, ".exe" on Windows.
const char* executable_suffix();
// Where this platform's installers put CPython `major`.`minor`, beyond
// PATH and pyenv: /usr/local/bin and /usr/bin on POSIX; the python.org
// installer's per-user and all-users folders on Windows.
std::vector<std::string> system_python_locations(int major, int minor);

// A helper process answering requests over one two-way channel: its standard
// input and output. Its standard error goes to the null device. Destroying it
// ends it (its input closed, then killed: it holds nothing worth finishing).
class Coprocess {
 public:
  virtual ~Coprocess() = default;
  // Sends `data`; false when the helper is gone (never a SIGPIPE).
  virtual bool send(std::string_view data) = 0;
  // Reads one line of its output, without the newline, waiting at most
  // `timeout_ms` for each piece (negative: no limit); false at its end, on
  // error or timeout.
  bool read_line(std::string& line, int timeout_ms) {
    for (;;) {
      auto newline = m_buffer.find('\n');
      if (newline != std::string::npos) {
        line.assign(m_buffer, 0, newline);
        m_buffer.erase(0, newline + 1);
        return true;
      }
      char piece[4096];
      std::size_t got = read_some(piece, sizeof piece, timeout_ms);
      if (got == 0) return false;
      m_buffer.append(piece, got);
    }
  }

 protected:
  // Reads what output there is, at most `capacity` bytes, waiting at most
  // `timeout_ms` (negative: no limit) for some; 0 at its end, on error or
  // timeout. The platform's part.
  virtual std::size_t read_some(char* buffer, std::size_t capacity, int timeout_ms) = 0;

 private:
  std::string m_buffer;  // read, not yet returned
};

// Starts program `argv[0]` (a path; PATH is not searched) with `argv`, or
// says why it cannot be started.
Result<std::unique_ptr<Coprocess>> start_coprocess(const std::vector<std::string>& argv);

}  // namespace pycache_clean
