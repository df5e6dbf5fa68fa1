#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

// How --help reads: the usage line each subcommand shows, descriptions
// wrapped to 80 columns, and the exit-status table. The table here is the
// only one: `help exit-status`, each subcommand's help, the man page and
// docs/exit-status.md all show it (tests compare them).
namespace pycache_clean::cli {

// One row of the exit-status table: `status` is what the process returns
// ("128+N" for a signal), `commands` the subcommands it applies to ("" for
// every one), `meaning` one sentence.
struct ExitStatusRow {
  const char* status;
  const char* commands;
  const char* meaning;
};
const std::vector<ExitStatusRow>& exit_status_table();

// "Exit status:" and the rows that apply to `subcommand` ("" for all of them,
// each prefixed with the subcommands it is about), for a help footer.
std::string exit_status_help(const std::string& subcommand);

// `text` broken at spaces for a line that starts `indent` columns in: no line
// past 80 columns, each continuation indented as much.
std::string wrap_hanging(const std::string& text, std::size_t indent);

// Installs the formatter on `app` (inherited by subcommands added later).
void use_help_formatter(CLI::App& app);
// The usage line of `sub`, replacing CLI11's "[OPTIONS] [CMD...]" where that
// would mislead (a required command after --).
void set_usage(CLI::App& sub, std::string usage);

}  // namespace pycache_clean::cli
