#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>

namespace pycache_clean {

// Leveled messages, formatted with fmt, for every layer (the platform code
// included): a level that is off costs a comparison, one that is on a call
// to the sink. The command line installs the sink (report/logging.cpp, the
// one place spdlog is compiled); until it does, messages from info up go to
// stderr as `pycache-clean: message`.
enum class LogLevel { trace, debug, info, warn, error };
bool log_enabled(LogLevel level);
void log_write(LogLevel level, const std::string& message);

// Where messages at `threshold` and above go from now on.
using LogSink = void (*)(LogLevel level, const std::string& message);
void set_log_sink(LogLevel threshold, LogSink sink);

template <typename... Args>
void log_at(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (log_enabled(level)) log_write(level, fmt::vformat(format, fmt::make_format_args(args...)));
}
template <typename... Args>
void log_trace(fmt::format_string<Args...> format, Args&&... args) {
  log_at(LogLevel::trace, format, std::forward<Args>(args)...);
}
template <typename... Args>
void log_debug(fmt::format_string<Args...> format, Args&&... args) {
  log_at(LogLevel::debug, format, std::forward<Args>(args)...);
}
template <typename... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) {
  log_at(LogLevel::info, format, std::forward<Args>(args)...);
}
template <typename... Args>
void log_warn(fmt::format_string<Args...> format, Args&&... args) {
  log_at(LogLevel::warn, format, std::forward<Args>(args)...);
}
template <typename... Args>
void log_error(fmt::format_string<Args...> format, Args&&... args) {
  log_at(LogLevel::error, format, std::forward<Args>(args)...);
}

}  // namespace pycache_clean
