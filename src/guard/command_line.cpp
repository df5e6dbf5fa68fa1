// Small helpers for the subcommands that run a command: how a command line
// reads in a message, and how a failed start is reported (as a shell would).
#include "guard/command_line.hpp"

#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean {

std::string join_command(const std::vector<std::string>& argv, std::size_t max_length) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out.push_back(' ');
    out += a;
  }
  if (out.size() > max_length && max_length > 3) out = out.substr(0, max_length - 3) + "...";
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

void log_spawn_error(const std::vector<std::string>& command, const ChildResult& child) {
  if (child.started() || command.empty()) return;
  log_error("{}: {}", command.front(),
            child.end == ChildResult::End::not_found ? "command not found"
                                                     : errno_text(child.spawn_error));
}

}  // namespace pycache_clean
