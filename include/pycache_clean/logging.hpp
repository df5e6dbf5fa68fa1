#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>

namespace pycache_clean {

// Leveled messages, formatted with fmt and written by the one stderr logger
// below. Every file that logs sees only this: a level that is off costs a
// comparison, one that is on a call; spdlog itself is compiled in
// logging.cpp alone.
enum class LogLevel { trace, debug, info, warn, error };
bool log_enabled(LogLevel level);
void log_write(LogLevel level, const std::string& message);

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

// Sets up the one stderr logger: `pycache-clean: warning: ...` lines, level
// from `verbosity` (-1 = -q: warnings and errors only, 0 = info, 1 = debug,
// 2+ = trace). SPDLOG_LEVEL in the environment applies when `verbosity` is 0.
// Colour as `colour` says; `automatic`: only on a terminal, never with
// NO_COLOR set or TERM=dumb.
enum class ColourChoice { automatic, always, never };
void configure_logging(int verbosity, ColourChoice colour = ColourChoice::automatic);

// Hooks a live status line (progress) into the logger, so that a message first
// erases it and it is redrawn afterwards. `redraw` may be empty to unhook.
void set_status_line_hooks(void (*erase)(), void (*redraw)());

// Writes `lead` as it is (the program's own words, colour escapes included),
// then `text` made terminal_safe (one line, whatever names it holds) and a
// newline to stdout, erasing the status line around it.
void write_stdout_line(const std::string& text, const std::string& lead = {});
// Writes `text` (terminal_safe) to stdout with no newline: a piece of a
// document streamed on one line.
void write_stdout(const std::string& text);

}  // namespace pycache_clean
