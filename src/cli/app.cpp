// The command line: one CLI::App with a subcommand per file (cmd_*.cpp), the
// default subcommand (`clean`), and the single error boundary that turns an
// Error or a parse failure into a message and a documented exit status.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <optional>

#include "cli/command.hpp"
#include "cli/config.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"
#include "cli/version.hpp"
#include "fs/fs_ops.hpp"
#include "platform/path.hpp"
#include "platform/process.hpp"
#include "platform/terminal.hpp"
#include "report/logging.hpp"
#include "util/edit_distance.hpp"
#include "util/error.hpp"

namespace pycache_clean::cli {

namespace {

const char* const k_footer =
    R"(Global options (before or after the subcommand):
  -v, --verbose               Say what was skipped and why; -vv: every step
  -q, --quiet                 No report line: warnings and errors only
  --json                      One JSON document on stdout (clean, check,
                              pytest-running)
  --color WHEN                auto (a terminal; NO_COLOR, FORCE_COLOR and
                              CLICOLOR_FORCE respected), always, never

Without a subcommand, `clean` runs: `pycache-clean` sweeps the current
directory. A bare word that is both a subcommand and a directory is the
subcommand (`pycache-clean test` runs the tests; `pycache-clean ./test` sweeps
the directory).

Run `pycache-clean help SUBCOMMAND` (or `SUBCOMMAND --help`) for a
subcommand's options, examples and exit statuses, and
`pycache-clean help exit-status` for every exit status.
)";

bool is_top_level_word(const std::string& arg, const std::vector<Command>& commands) {
  if (arg == "-h" || arg == "--help" || arg == "--version" || arg == "-V") return true;
  for (const auto& c : commands)
    if (c.app->get_name() == arg) return true;
  return false;
}

// -v/-vv/--verbose, -q/--quiet, --color=WHEN, --config=PATH, --isolated and
// --json: options every subcommand takes (--json where it applies), accepted
// before the subcommand too. (`--color WHEN` and `--config PATH`, two words,
// are handled by the caller.)
bool is_leading_option(const std::string& a) {
  if (a == "-q" || a == "--quiet" || a == "--json" || a == "--verbose" || a == "--isolated")
    return true;
  if (a.compare(0, 8, "--color=") == 0 || a.compare(0, 9, "--config=") == 0) return true;
  return a.size() >= 2 && a[0] == '-' && a.find_first_not_of('v', 1) == std::string::npos;
}

bool is_subcommand(const std::string& word, const std::vector<Command>& commands) {
  return std::any_of(commands.begin(), commands.end(),
                     [&](const Command& c) { return c.app->get_name() == word; });
}

// The subcommand `args` (normalised) chose, or null.
const CLI::App* chosen_subcommand(const std::vector<std::string>& args,
                                  const std::vector<Command>& commands) {
  if (args.empty()) return nullptr;
  for (const auto& c : commands)
    if (c.app->get_name() == args.front()) return c.app;
  return nullptr;
}

// `help exit-status`: the topic that prints every exit status.
const char* const k_exit_status_topic = "exit-status";

std::vector<std::string> subcommand_names(const std::vector<Command>& commands) {
  std::vector<std::string> names;
  for (const auto& c : commands)
    if (!c.app->get_group().empty()) names.push_back(c.app->get_name());
  names.emplace_back("help");
  return names;
}

// The first word of an implicit `clean` that names nothing on disk but is a
// subcommand's name mistyped (`chek`): a usage error, not a missing PATH.
void reject_mistyped_subcommand(const std::string& word, const std::vector<Command>& commands) {
  if (word.empty() || word[0] == '-' || std::any_of(word.begin(), word.end(), is_path_separator))
    return;
  std::error_code ec;
  if (std::filesystem::symlink_status(std::filesystem::u8path(word), ec).type() !=
      std::filesystem::file_type::not_found)
    return;
  std::string guess = closest_match(word, subcommand_names(commands));
  if (!guess.empty())
    throw Error(
        "'" + word + "' is neither a subcommand nor a directory; did you mean '" + guess + "'?",
        ErrorKind::bad_input);
}

// The arguments as CLI11 is to see them: `help [SUB]` as `[SUB] --help`;
// options given before the subcommand moved after it; `clean` inserted when
// no subcommand is named. A bare word that is both a subcommand and a
// directory here is taken as the subcommand, and said so.
std::vector<std::string> normalise_arguments(std::vector<std::string> args,
                                             const std::vector<Command>& commands) {
  // The hidden options that carry a settings file's exclude keys are set
  // from the file alone (cli/config.cpp), never typed.
  for (auto a = args.begin(); a != args.end() && *a != "--"; ++a)
    for (const char* hidden : {"--config-exclude", "--config-extend-exclude"})
      if (a->rfind(hidden, 0) == 0)
        throw Error(fmt::format("unexpected argument '{}'", hidden), ErrorKind::bad_input);
  std::size_t lead = 0;
  while (lead < args.size()) {
    if ((args[lead] == "--color" || args[lead] == "--config") && lead + 1 < args.size())
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
    if (rest[1] == k_exit_status_topic) return {k_exit_status_topic};
    if (!is_subcommand(rest[1], commands)) {
      std::vector<std::string> topics = subcommand_names(commands);
      topics.emplace_back(k_exit_status_topic);
      std::string guess = closest_match(rest[1], topics);
      throw Error("help: no subcommand or topic named '" + rest[1] + "'" +
                      (guess.empty() ? "" : "; did you mean '" + guess + "'?"),
                  ErrorKind::bad_input);
    }
    return {rest[1], "--help"};
  }
  if (rest.empty() || !is_top_level_word(rest.front(), commands)) {
    if (!rest.empty()) reject_mistyped_subcommand(rest.front(), commands);
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
  const CLI::App* sub = chosen_subcommand(args, commands);
  if (!sub) return {};
  std::vector<std::string> known;
  for (const CLI::Option* opt : sub->get_options())
    for (const auto& name : opt->get_lnames()) known.push_back("--" + name);
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) continue;
    std::string word = a.substr(0, a.find('='));
    if (std::find(known.begin(), known.end(), word) != known.end()) continue;
    std::string guess = closest_match(word, known);
    if (guess.empty()) {  // `--dry` for `--dry-run`: the one option it begins
      std::vector<std::string> longer;
      std::copy_if(known.begin(), known.end(), std::back_inserter(longer),
                   [&](const std::string& k) { return k.compare(0, word.size(), word) == 0; });
      if (longer.size() == 1) guess = longer.front();
    }
    if (!guess.empty()) return "; did you mean " + guess + "?";
  }
  return {};
}

// A bad value an option took from its environment variable is the
// variable's fault: `PYCACHE_CLEAN_OUTPUT_FORMAT: 'yaml' is not one of ...`
// rather than naming an option nobody typed.
std::string blame_environment(std::string text, const std::vector<std::string>& args,
                              const std::vector<Command>& commands) {
  const CLI::App* sub = chosen_subcommand(args, commands);
  if (!sub) return text;
  auto end = std::find(args.begin(), args.end(), "--");
  for (const CLI::Option* opt : sub->get_options()) {
    if (opt->get_envname().empty()) continue;
    for (const auto& lname : opt->get_lnames()) {
      std::string name = "--" + lname;
      if (text.compare(0, name.size() + 1, name + ":") != 0) continue;
      bool typed = std::any_of(args.begin() + 1, end, [&](const std::string& a) {
        return a == name || a.compare(0, name.size() + 1, name + "=") == 0;
      });
      if (!typed) return opt->get_envname() + text.substr(name.size());
    }
  }
  return text;
}

// CLI11's "--color: 1 required TEXT:auto, always, never missing" and
// "--x: Value 300 not in range 0 to 255" in the words of the tool's own
// checks; any other text unchanged.
std::string reword_value_error(const std::string& text) {
  const std::string required = ": 1 required ", missing = " missing";
  std::size_t at = text.find(required);
  if (at != std::string::npos && text.size() >= at + required.size() + missing.size() &&
      text.compare(text.size() - missing.size(), missing.size(), missing) == 0) {
    std::string type =
        text.substr(at + required.size(), text.size() - missing.size() - at - required.size());
    std::size_t colon = type.find(':');
    bool listed = colon != std::string::npos && type.find(", ", colon) != std::string::npos;
    return text.substr(0, at) + ": a value is required" +
           (listed ? ": " + type.substr(colon + 1) : "");
  }
  const std::string value = ": Value ", range = " not in range ";
  at = text.find(value);
  std::size_t in = text.find(range);
  if (at != std::string::npos && in != std::string::npos && in > at)
    return text.substr(0, at) + ": '" + text.substr(at + value.size(), in - at - value.size()) +
           "' is out of range: " + text.substr(in + range.size());
  return text;
}

// CLI11's words in the tool's style: lowercase, the culprit quoted
// (`unexpected argument '--verfy'`).
std::string parse_error_text(const CLI::ParseError& e) {
  std::string text = reword_value_error(e.what());
  for (const char* head : {"The following argument was not expected: ",
                           "The following arguments were not expected: "}) {
    std::string h = head;
    if (text.compare(0, h.size(), h) != 0) continue;
    std::string words = text.substr(h.size());
    return (words.find(' ') == std::string::npos ? "unexpected argument '"
                                                 : "unexpected arguments '") +
           words + "'";
  }
  if (text.size() > 1 && std::isupper(static_cast<unsigned char>(text[0])) &&
      std::islower(static_cast<unsigned char>(text[1])))
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// The top-level app and its subcommands, in the order people reach for them;
// the plugin's helper is not listed.
std::vector<Command> set_up(CLI::App& app) {
  app.set_version_flag("-V,--version", "pycache-clean " PYCACHE_CLEAN_VERSION);
  app.require_subcommand(0, 1);
  use_help_formatter(app);
  app.footer(k_footer);
  set_usage(app, "pycache-clean [SUBCOMMAND] [OPTIONS] [ARG...]");
  std::vector<Command> commands;
  commands.push_back(add_clean_command(app));
  commands.push_back(add_check_command(app));
  commands.push_back(add_unless_pytest_command(app));
  commands.push_back(add_test_command(app));
  commands.push_back(add_lock_command(app));
  commands.push_back(add_pytest_running_command(app));
  commands.push_back(add_config_command(app));
  commands.push_back(add_completions_command(app));
  commands.push_back(add_pytest_session_command(app));
  commands.back().app->group("");
  return commands;
}

// Parses `args` (normalised); a status when that ends the run (help,
// version, a usage error), else nothing.
std::optional<int> parse(CLI::App& app, const std::vector<std::string>& args,
                         const std::vector<Command>& commands) {
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
    log_error("{}{}", blame_environment(parse_error_text(e), args, commands),
              suggest_option(args, commands));
    std::fprintf(stderr, "Run 'pycache-clean %s--help' for usage.\n",
                 is_subcommand(args.front(), commands) ? (args.front() + " ").c_str() : "");
    return k_exit_usage;
  }
  return std::nullopt;
}

// The settings file's values for the options the command line left unset,
// said with -v (logging set up early for that).
void configure_settings(CLI::App& sub) {
  const CLI::Option* verbose = sub.get_option_no_throw("--verbose");
  const CLI::Option* quiet = sub.get_option_no_throw("--quiet");
  bool is_quiet = quiet && quiet->count() > 0;
  configure_logging(is_quiet ? -1 : static_cast<int>(verbose ? verbose->count() : 0));
  if (sub.get_name() == "config") return;  // it reads the file itself, to show it
  if (std::optional<ConfigFile> file = load_config(sub)) apply_config(sub, *file);
}

}  // namespace

int run(int argc, char** argv) {
  prepare_terminal();
  configure_logging(0);
  CLI::App app{"Clear Python bytecode caches safely and fast, and keep them from going stale.",
               "pycache-clean"};
  std::vector<Command> commands = set_up(app);
  std::vector<std::string> args = process_arguments(argc, argv);
  if (!args.empty()) args.erase(args.begin());
  try {
    args = normalise_arguments(std::move(args), commands);
  } catch (const Error& e) {
    log_error("{}", e.what());
    std::fprintf(stderr, "Run 'pycache-clean --help' for usage.\n");
    return exit_status_for(e.kind());
  }
  if (args.size() == 1 && args.front() == k_exit_status_topic) {
    std::printf("%s\n", exit_status_help("").c_str());
    return k_exit_ok;
  }
  if (auto status = parse(app, args, commands)) return *status;
  try {
    for (auto& c : commands)
      if (c.app->parsed()) {
        configure_settings(*c.app);
        return c.run();
      }
    return k_exit_usage;
  } catch (const Error& e) {
    log_error("{}", e.what());
    if (e.kind() == ErrorKind::bad_input)
      std::fprintf(stderr, "Run 'pycache-clean %s --help' for usage.\n", args.front().c_str());
    return exit_status_for(e.kind());
  } catch (const std::exception& e) {
    log_error("{}", e.what());
    return k_exit_failure;
  }
}

}  // namespace pycache_clean::cli
