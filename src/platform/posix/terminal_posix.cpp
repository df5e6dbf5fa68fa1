// Terminal detection on POSIX: isatty on the standard descriptors.
#include "platform/terminal.hpp"

#include <unistd.h>

namespace pycache_clean {

bool is_terminal(Stream stream) {
  return ::isatty(stream == Stream::out ? STDOUT_FILENO : STDERR_FILENO) == 1;
}

bool terminal_takes_colour(Stream stream) {
  return is_terminal(stream);
}

void prepare_terminal() {}

}  // namespace pycache_clean
