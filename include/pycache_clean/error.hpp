#pragma once

#include <stdexcept>
#include <string>

namespace pycache_clean {

// "Tell the user and stop": caught once in run(), printed as
// `pycache-clean: error: <what>` and turned into `exit_status`.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int exit_status = 1)
      : std::runtime_error(what), m_exit_status(exit_status) {}
  int exit_status() const { return m_exit_status; }

 private:
  int m_exit_status;
};

// The system's text for errno value `err` ("Permission denied").
std::string errno_text(int err);

}  // namespace pycache_clean
