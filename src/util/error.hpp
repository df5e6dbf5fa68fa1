#pragma once

#include <stdexcept>
#include <string>

namespace pycache_clean {

// What stopped a run. The command line alone turns a kind into an exit
// status and the words around the message (cli/exit_status.hpp).
enum class ErrorKind {
  failure,      // the run could not do what was asked (a PATH vanished, a read failed)
  bad_input,    // what the user gave is wrong or unusable: an option, a lock file,
                // a repository
  bad_setting,  // a settings file says something wrong (the message names the file
                // and the key)
};

// "Tell the user and stop": caught once in run(), printed as
// `pycache-clean: error: <what>`.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, ErrorKind kind = ErrorKind::failure)
      : std::runtime_error(what), m_kind(kind) {}
  ErrorKind kind() const { return m_kind; }

 private:
  ErrorKind m_kind;
};

// Errors of this program's own, outside errno's range on every platform, used
// where errno values are: a lock path that is neither a regular file nor
// (when allowed) a directory, a directory on another mount inside a cache
// (kept untouched), a link where a directory was expected.
inline constexpr int k_err_not_lockable = 100001;
inline constexpr int k_err_mount_point = 100002;
// A symbolic link where a directory of the walk was expected: not followed.
inline constexpr int k_err_symlink = 100003;
// A directory whose mount cannot be established (a kernel or sandbox with
// neither openat2, statx's mount attribute nor /proc/self/fdinfo): it may be
// a mount point, so it is never entered where k_err_mount_point would keep it.
inline constexpr int k_err_mount_unknown = 100004;
// A lock file at a default path that another user owns: they could hold its
// lock to stop every run of ours, so it is not used.
inline constexpr int k_err_foreign_owner = 100005;

// The system's text for errno value `err` ("Permission denied"), or this
// program's for its own errors above.
std::string errno_text(int err);

}  // namespace pycache_clean
