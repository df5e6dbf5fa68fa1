// Terminal detection on POSIX: isatty on the standard descriptors.
#include <pycache_clean/terminal.hpp>

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace pycache_clean {

bool is_terminal(Stream stream) {
  return ::isatty(stream == Stream::out ? STDOUT_FILENO : STDERR_FILENO) == 1;
}

bool use_colour(Stream stream) {
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour && *no_colour) return false;
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return is_terminal(stream);
}

void prepare_terminal() {}

}  // namespace pycache_clean
