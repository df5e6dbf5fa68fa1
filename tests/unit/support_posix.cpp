// POSIX part of the unit-test support (see test_support.hpp).
#include <cstdlib>

#include "test_support.hpp"

namespace pycache_clean::test {

void set_env(const std::string& name, const std::string& value) {
  ::setenv(name.c_str(), value.c_str(), 1);
}

void unset_env(const std::string& name) {
  ::unsetenv(name.c_str());
}

bool make_directory_link(const std::string& target, const std::string& link, std::string& why) {
  std::error_code ec;
  fs::create_directory_symlink(target, link, ec);
  if (ec) why = "symlink: " + ec.message();
  return !ec;
}

}  // namespace pycache_clean::test
