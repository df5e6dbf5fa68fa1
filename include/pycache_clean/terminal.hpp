#pragma once

namespace pycache_clean {

enum class Stream { out, err };

// True when `stream` is an interactive terminal.
bool is_terminal(Stream stream);

// True when colour may be used on `stream`: a terminal, NO_COLOR unset
// (https://no-color.org), TERM not "dumb".
bool use_colour(Stream stream);

// Prepares the standard streams once at start-up: nothing on POSIX; on Windows
// UTF-8 output and escape-sequence processing for a console.
void prepare_terminal();

}  // namespace pycache_clean
