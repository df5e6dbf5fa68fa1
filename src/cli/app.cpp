// The command line: one CLI::App with a subcommand per file (cmd_*.cpp), the
// default subcommand (`clean`), and the single error boundary that turns an
// Error or a parse failure into a message and a documented exit status.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <pycache_clean/edit_distance.hpp>
#include <pycache_clean/error.hpp>
#include <pycache_clean/exit_status.hpp>
#include <pycache_clean/logging.hpp>
#include <pycache_clean/process.hpp>
#include <pycache_clean/terminal.hpp>
#include <pycache_clean/version.hpp>
#include "command.hpp"
#include "help.hpp"

namespace pycache_clean::cli {

namespace {

const char* const k_footer =
    R"(Without a subcommand, `clean` runs: `pycache-clean` sweeps the current
directory.

-v, -q, --color and --json may come before or after the subcommand. A bare
word that is both a subcommand and a directory is the subcommand
(`pycache-clean test` runs the tests; `pycache-clean ./test` sweeps the
directory).

Run `pycache-clean help SUBCOMMAND` (or `SUBCOMMAND --help`) for a
subcommand's options and examples.

)";

bool is_top_level_word(const std::string& arg, const std::vector<Command>& commands) {
  if (arg == "-h" || arg == "--help" || arg == "--version" || arg == "-V") return true;
  for (const auto& c : commands)
    if (c.app->get_name() == arg) return true;
  return false;
}

// -v/-vv/--verbose, -q/--quiet, --color=WHEN and --json: options every
// subcommand takes (--json where it applies), accepted before the subcommand
// too. (`--color WHEN`, two words, is handled by the caller.)
bool is_leading_option(const std::string& a) {
  if (a == "-q" || a == "--quiet" || a == "--json" || a == "--verbose") return true;
  if (a.compare(0, 8, "--color=") == 0) return true;
  return a.size() >= 2 && a[0] == '-' && a.find_first_not_of('v', 1) == std::string::npos;
}

bool is_subcommand(const std::string& word, const std::vector<Command>& commands) {
  return std::any_of(commands.begin(), commands.end(),
                     [&](const Command& c) { return c.app->get_name() == word; });
}

// The arguments as CLI11 is to see them: `help [SUB]` as `[SUB] --help`;
// options given before the subcommand moved after it; `clean` inserted when
// no subcommand is named. A bare word that is both a subcommand and a
// directory here is taken as the subcommand, and said so.
std::vector<std::string> normalise_arguments(std::vector<std::string> args,
                                             const std::vector<Command>& commands) {
  std::size_t lead = 0;
  while (lead < args.size()) {
    if (args[lead] == "--color" && lead + 1 < args.size())
      lead += 2;
    else if (is_leading_option(args[lead]))
      ++lead;
    else
      break;
  }
  std::vector<std::string> leading(args.begin(), args.begin() + static_cast<long>(lead));
  std::vector<std::string> rest(args.begin() + static_cast<long>(lead), args.end());
  if (!rest.empty() && rest.front() == "help") {
    if (rest.size() == 1) return {"--help"};
    if (!is_subcommand(rest[1], commands))
      throw Error("help: no subcommand named '" + rest[1] + "'", k_exit_usage);
    return {rest[1], "--help"};
  }
  if (rest.empty() || !is_top_level_word(rest.front(), commands)) {
    rest.insert(rest.begin(), "clean");
  } else if (rest.front() != "clean" && is_subcommand(rest.front(), commands)) {
    std::error_code ec;
    auto end = std::find(rest.begin(), rest.end(), "--");
    bool quiet = std::any_of(rest.begin(), end,
                             [](const std::string& a) { return a == "-q" || a == "--quiet"; }) ||
                 std::count(leading.begin(), leading.end(), "-q") +
                         std::count(leading.begin(), leading.end(), "--quiet") >
                     0;
    if (!quiet && std::filesystem::is_directory(std::filesystem::u8path(rest.front()), ec))
      log_info(
          "'{}' is taken as the subcommand; to sweep the directory of that name, run "
          "`pycache-clean ./{}`",
          rest.front(), rest.front());
  }
  if (is_subcommand(rest.front(), commands))
    rest.insert(rest.begin() + 1, leading.begin(), leading.end());
  return rest;
}

// "did you mean --strict?" for an unknown --option of the chosen subcommand.
std::string suggest_option(const std::vector<std::string>& args,
                           const std::vector<Command>& commands) {
  if (args.empty()) return {};
  for (const auto& c : commands) {
    if (c.app->get_name() != args.front()) continue;
    std::vector<std::string> known;
    for (const CLI::Option* opt : c.app->get_options())
      for (const auto& name : opt->get_lnames()) known.push_back("--" + name);
    for (std::size_t i = 1; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (a == "--") break;
      if (a.size() < 3 || a.compare(0, 2, "--") != 0) continue;
      std::string word = a.substr(0, a.find('='));
      if (std::find(known.begin(), known.end(), word) != known.end()) continue;
      std::string guess = closest_match(word, known);
      if (!guess.empty()) return "; did you mean " + guess + "?";
    }
  }
  return {};
}

}  // namespace

int run(int argc, char** argv) {
  prepare_terminal();
  configure_logging(0);
  CLI::App app{"Clear Python bytecode caches safely and fast, and keep them from going stale.",
               "pycache-clean"};
  app.set_version_flag("-V,--version", "pycache-clean " PYCACHE_CLEAN_VERSION);
  app.require_subcommand(0, 1);
  use_help_formatter(app);
  app.footer(k_footer + exit_status_help(""));
  set_usage(app, "pycache-clean [SUBCOMMAND] [OPTIONS] [ARG...]");
  std::vector<Command> commands;
  commands.push_back(add_clean_command(app));
  commands.push_back(add_lock_command(app));
  commands.push_back(add_pytest_running_command(app));
  commands.push_back(add_unless_pytest_command(app));
  commands.push_back(add_test_command(app));
  commands.push_back(add_pytest_session_command(app));
  commands.push_back(add_check_command(app));

  std::vector<std::string> args = process_arguments(argc, argv);
  if (!args.empty()) args.erase(args.begin());
  try {
    args = normalise_arguments(std::move(args), commands);
  } catch (const Error& e) {
    log_error("{}", e.what());
    return e.exit_status();
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes it reversed

  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    log_error("{}{}", e.what(), suggest_option(args, commands));
    std::fprintf(stderr, "Run 'pycache-clean %s--help' for usage.\n",
                 is_subcommand(args.front(), commands) ? (args.front() + " ").c_str() : "");
    return k_exit_usage;
  }
  try {
    for (auto& c : commands)
      if (c.app->parsed()) return c.run();
    return k_exit_usage;
  } catch (const Error& e) {
    log_error("{}", e.what());
    if (e.exit_status() == k_exit_usage)
      std::fprintf(stderr, "Run 'pycache-clean %s --help' for usage.\n", args.front().c_str());
    return e.exit_status();
  } catch (const std::exception& e) {
    log_error("{}", e.what());
    return k_exit_failure;
  }
}

}  // namespace pycache_clean::cli
