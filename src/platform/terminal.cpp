// Whether to colour a stream under `--color auto`: the environment's say
// first (FORCE_COLOR and CLICOLOR_FORCE force it, as Node, Rust's anstream and
// https://bixense.com/clicolors do; NO_COLOR and TERM=dumb forbid it, as
// https://no-color.org asks), then whether the terminal draws escapes.
#include "platform/terminal.hpp"

#include <cstdlib>
#include <cstring>

namespace pycache_clean {

namespace {

// Set, not empty and not "0".
bool set_on(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace

bool use_colour(Stream stream) {
  if (set_on("FORCE_COLOR") || set_on("CLICOLOR_FORCE")) return true;
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour && *no_colour) return false;
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return terminal_takes_colour(stream);
}

}  // namespace pycache_clean
