#pragma once

#include <string>

#include "util/log.hpp"

namespace pycache_clean {

// The stderr logger behind util/log.hpp's facade, the live status line and
// stdout, for the command line.

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
