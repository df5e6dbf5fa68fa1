#pragma once

namespace pycache_clean {

enum class Stream { out, err };

// True when `stream` is an interactive terminal.
bool is_terminal(Stream stream);

// True when `stream` is a terminal that draws colour escapes (on Windows, a
// console in virtual-terminal mode, or a pty). Platform code.
bool terminal_takes_colour(Stream stream);

// Whether colour is used on `stream` under --color auto: FORCE_COLOR or
// CLICOLOR_FORCE set (and not "0") force it; else NO_COLOR set
// (https://no-color.org) or TERM=dumb forbid it; else a terminal that takes it.
bool use_colour(Stream stream);

// Prepares the standard streams once at start-up: nothing on POSIX; on Windows
// UTF-8 output and escape-sequence processing for a console.
void prepare_terminal();

}  // namespace pycache_clean
