#pragma once

#include "platform/process.hpp"
#include "util/error.hpp"

namespace pycache_clean {

// Process exit statuses of every subcommand, in one place so that --help, the
// docs and the code cannot disagree; and the one table from what happened (a
// run stopped by an Error, a command run for the user) to a status.

inline constexpr int k_exit_ok = 0;
// clean: --strict and something was kept, or a runtime error (missing PATH).
// check: something suspect, corrupt or importable-orphan was found.
// pytest-running: no pytest run is in progress.
inline constexpr int k_exit_failure = 1;
inline constexpr int k_exit_usage = 2;
// lock: the lock was not acquired within --wait (sysexits.h EX_TEMPFAIL).
inline constexpr int k_exit_lock_timeout = 75;
// Child command could be found but not executed / not found at all (as a shell).
inline constexpr int k_exit_cannot_execute = 126;
inline constexpr int k_exit_command_not_found = 127;
// A child killed by signal N is reported as 128 + N, as a shell does.
inline constexpr int k_exit_signal_base = 128;

// A run stopped by an Error of `kind`,
inline int exit_status_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_input:
    case ErrorKind::bad_setting:
      return k_exit_usage;
    case ErrorKind::failure:
      break;
  }
  return k_exit_failure;
}

// and a command run for the user, reported as a shell would.
inline int exit_status_for(const ChildResult& child) {
  switch (child.end) {
    case ChildResult::End::exited:
      return child.code;
    case ChildResult::End::signalled:
      return k_exit_signal_base + child.code;
    case ChildResult::End::not_found:
      return k_exit_command_not_found;
    case ChildResult::End::cannot_execute:
      return k_exit_cannot_execute;
    case ChildResult::End::lost:
      break;
  }
  return k_exit_failure;
}

}  // namespace pycache_clean
