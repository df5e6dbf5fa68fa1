#pragma once

#include <string>
#include <vector>

#include "platform/process.hpp"

namespace pycache_clean {

// `argv` joined by spaces for messages, newlines flattened, cut to `max_length`.
std::string join_command(const std::vector<std::string>& argv, std::size_t max_length = 200);

// Logs why `command` could not be started (`ruff: command not found`); nothing
// when `child` did start.
void log_spawn_error(const std::vector<std::string>& command, const ChildResult& child);

}  // namespace pycache_clean
