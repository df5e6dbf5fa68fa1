// The options several subcommands share (-v/-q/--color/--json, the walk, the
// judging, --wait, --scope), their checks and the exit policy of a walk:
// helpers of the command line kept in one place.
#include <algorithm>
#include <cstdlib>

#include "cli/command.hpp"
#include "cli/exit_status.hpp"
#include "fs/fs_ops.hpp"
#include "platform/path.hpp"
#include "platform/terminal.hpp"
#include "report/logging.hpp"
#include "util/error.hpp"

namespace pycache_clean::cli {

void add_common_options(CLI::App& sub, CommonOptions& options, const CommonHelp& help) {
  sub.add_flag("-v,--verbose", options.verbose, help.verbose);
  sub.add_flag("-q,--quiet", options.quiet, help.quiet);
  if (help.json) sub.add_flag("--json", options.json, help.json);
  sub.add_option("--config", options.config,
                 "Read settings from this file only (pyproject.toml's [tool.pycache-clean], "
                 "or a pycache-clean.toml)")
      ->option_text("PATH");
  sub.add_flag("--isolated", options.isolated,
               "Read no settings file (pyproject.toml, pycache-clean.toml)");
  sub.add_option("--color", options.color,
                 "Colour: auto (a terminal that takes it; FORCE_COLOR and CLICOLOR_FORCE "
                 "force it, NO_COLOR forbids it), always, never")
      ->option_text("WHEN")
      ->check(one_of({"auto", "always", "never"}));
}

CLI::Validator one_of(const std::vector<std::string>& words) {
  std::string list;
  for (const auto& w : words) list += (list.empty() ? "" : ", ") + w;
  return CLI::Validator(
      [words, list](std::string& value) -> std::string {
        if (std::find(words.begin(), words.end(), value) != words.end()) return "";
        return "'" + value + "' is not one of " + list;
      },
      list);
}

namespace {

// Excludes match one directory name, as `fd --exclude NAME` without a glob:
// the same rule for --exclude and the settings file's exclude keys.
CLI::Validator exclude_name() {
  return CLI::Validator(
      [](std::string& name) -> std::string {
        if (!name.empty() && std::none_of(name.begin(), name.end(), is_path_separator) &&
            name != "." && name != "..")
          return "";
        return "'" + name + "' is not a directory NAME (such as build): excludes match names, " +
               "never paths";
      },
      "NAME");
}

}  // namespace

void start_command(const CommonOptions& options) {
  if (options.quiet && options.verbose > 0)
    throw Error("-q and -v ask for opposite things; give one of them", ErrorKind::bad_input);
  configure_logging(options.verbosity(), options.color == "always"  ? ColourChoice::always
                                         : options.color == "never" ? ColourChoice::never
                                                                    : ColourChoice::automatic);
}

void refuse_empty_command(const std::vector<std::string>& command, const char* subcommand) {
  if (!command.empty() && command.front().empty())
    throw Error(std::string(subcommand) + ": the command name is empty", ErrorKind::bad_input);
}

bool show_progress(const CommonOptions& options) {
  // Not between the pieces of a JSON line on the same terminal.
  return !options.quiet && is_terminal(Stream::err) && !(options.json && is_terminal(Stream::out));
}

void print_line(const std::string& text) {
  write_stdout_line(text);
}

void print_json_piece(const std::string& piece) {
  write_stdout(piece);
}

void end_json_document() {
  write_stdout_line("");
}

void print_styled_line(const std::string& styled, const std::string& text) {
  write_stdout_line(text, styled);
}

bool CommonOptions::colour_stdout() const {
  if (color == "always") return true;
  if (color == "never") return false;
  return use_colour(Stream::out);
}

void print_lines(const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    print_line(text.substr(start, end - start));
    start = end + 1;
  }
}

const char* const k_skip_help =
    R"(Skipped below each PATH unless --no-default-excludes: directories named
.git .hg .svn .tox .nox node_modules, and any directory holding pyvenv.cfg
(a virtualenv). A PATH named on the command line is always swept. Symbolic
links are never followed below a PATH; a symlink named __pycache__ is left
alone.)";

std::vector<std::string> WalkCliOptions::roots() const {
  for (const auto& p : paths)
    if (p.empty())
      throw Error("an empty PATH was given (use . for the current directory)",
                  ErrorKind::bad_input);
  return paths.empty() ? std::vector<std::string>{"."} : paths;
}

WalkOptions WalkCliOptions::walk_options() const {
  WalkOptions walk;
  if (has_configured_excludes) walk.excludes = configured_excludes;
  if (no_default_excludes) walk.excludes.clear();
  walk.skip_virtualenvs = !no_default_excludes;
  // Each name was checked as it was given (exclude_name).
  walk.excludes.insert(walk.excludes.end(), extend_excludes.begin(), extend_excludes.end());
  walk.excludes.insert(walk.excludes.end(), excludes.begin(), excludes.end());
  walk.one_file_system = one_file_system;
  walk.jobs = jobs;
  return walk;
}

void add_walk_options(CLI::App& sub, WalkCliOptions& options) {
  sub.add_option("PATH", options.paths, "Directories to walk (default: .)")->option_text("...");
  sub.add_option("--exclude", options.excludes, "Also skip directories with this NAME (repeatable)")
      ->type_name("NAME")
      ->allow_extra_args(false)
      ->take_all()
      ->check(exclude_name());
  // Set from the settings file only (exclude, extend-exclude): hidden.
  sub.add_option_function<std::vector<std::string>>(
         "--config-exclude",
         [&options](const std::vector<std::string>& names) {
           options.configured_excludes = names;
           options.has_configured_excludes = true;
         })
      ->check(exclude_name())
      ->group("");
  sub.add_option("--config-extend-exclude", options.extend_excludes)
      ->check(exclude_name())
      ->group("");
  sub.add_flag("--no-default-excludes", options.no_default_excludes,
               "Walk into .git .hg .svn .tox .nox node_modules and virtualenvs too");
  sub.add_flag("-x,--one-file-system", options.one_file_system,
               "Stay on the file system (mount) of each PATH, as find -xdev");
  sub.add_option("-j,--jobs", options.jobs,
                 fmt::format("Worker threads (default: one per core, at most 4, here {}; {} on a "
                             "network or FUSE file system)",
                             default_jobs(), k_latency_jobs))
      ->option_text("N")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
              return "'" + v + "' is not a number";
            if (v.size() > 2 || std::stoi(v) < 1 || std::stoi(v) > 64)
              return "'" + v + "' is out of range: 1 to 64 threads";
            return "";
          },
          "1-64"));
}

VerifyMode JudgeCliOptions::verify_mode() const {
  if (verify == "auto") return VerifyMode::changed;
  if (verify == "all") return VerifyMode::all;
  if (verify == "none") return VerifyMode::none;
  throw Error("--verify '" + verify + "': expected auto, all or none", ErrorKind::bad_input);
}

int JudgeCliOptions::verify_timeout_ms() const {
  try {
    std::size_t used = 0;
    double seconds = std::stod(verify_timeout, &used);
    if (used == verify_timeout.size() && seconds >= 0 && seconds <= 86400)
      return static_cast<int>(seconds * 1000);
  } catch (const std::exception&) {
  }
  throw Error(
      "--verify-timeout '" + verify_timeout + "': expected seconds from 0 (no limit) to 86400",
      ErrorKind::bad_input);
}

double JudgeCliOptions::written_since_seconds() const {
  if (written_since.empty()) return -1;
  try {
    std::size_t used = 0;
    double seconds = std::stod(written_since, &used);
    if (used == written_since.size() && seconds >= 0) return seconds;
  } catch (const std::exception&) {
  }
  throw Error("--written-since '" + written_since +
                  "': expected seconds since the epoch (as `date +%s` prints them)",
              ErrorKind::bad_input);
}

std::string JudgeCliOptions::prefix() const {
  if (!pycache_prefix.empty()) return pycache_prefix;
  const char* env = std::getenv("PYTHONPYCACHEPREFIX");
  return env ? env : "";
}

void add_judge_options(CLI::App& sub, JudgeCliOptions& options, bool with_prefix) {
  sub.add_option("--verify", options.verify,
                 "Prove trusted caches by compiling their source with their own CPython: "
                 "auto (those whose source shows a sign of change; the default), all, none")
      ->option_text("auto|all|none")
      ->check(parsed_by(
          [](const std::string& v) {
            JudgeCliOptions probe;
            probe.verify = v;
            probe.verify_mode();
          },
          "--verify"));
  sub.add_option("--verify-timeout", options.verify_timeout,
                 "Seconds one compile may take (default 10; 0: no limit); then the interpreter "
                 "is stopped and the cache counted unverified")
      ->type_name("SECS")
      ->check(parsed_by(
          [](const std::string& v) {
            JudgeCliOptions probe;
            probe.verify_timeout = v;
            probe.verify_timeout_ms();
          },
          "--verify-timeout"));
  sub.add_option("--written-since", options.written_since,
                 "Judge only caches written at or after EPOCH (seconds since the epoch, as "
                 "`date +%s` prints them): what one test run wrote")
      ->type_name("EPOCH");
  if (with_prefix)
    sub.add_option("--pycache-prefix", options.pycache_prefix,
                   "Also judge the mirror tree CPython writes under DIR "
                   "(default: $PYTHONPYCACHEPREFIX)")
        ->type_name("DIR");
}

CLI::Validator parsed_by(const std::function<void(const std::string&)>& parse,
                         const std::string& option) {
  return CLI::Validator(
      [parse, option](std::string& value) -> std::string {
        try {
          parse(value);
        } catch (const Error& e) {
          std::string why = e.what();
          for (const std::string& head : {option + ": ", option + " "})
            if (why.compare(0, head.size(), head) == 0) return why.substr(head.size());
          return why;
        }
        return "";
      },
      "");
}

double parse_wait_seconds(const std::string& text, const char* option) {
  if (text == "inf" || text == "forever") return -1;
  try {
    std::size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size() && value == -1) return -1;
    if (used == text.size() && value >= 0 && value < 1e9) return value;
  } catch (const std::exception&) {
  }
  throw Error(std::string(option) + ": '" + text +
                  "' is not a number of seconds (or -1/inf to wait forever)",
              ErrorKind::bad_input);
}

CLI::Option* add_scope_option(CLI::App& sub, std::string& scope) {
  return sub
      .add_option("--scope", scope,
                  "Which processes count: repo (working directory in this repository's "
                  "worktrees; the default), user (any of yours), all")
      ->option_text("repo|user|all")
      ->check(one_of({"repo", "user", "all"}));
}

PytestScope scope_from_name(const std::string& name) {
  if (name == "user") return PytestScope::user;
  if (name == "all") return PytestScope::all;
  return PytestScope::repo;
}

int walk_exit_status(const WalkReport& report, bool strict) {
  if (!report.bad_roots.empty()) return k_exit_failure;
  if (strict && (!report.kept.empty() || !report.unreadable.empty())) return k_exit_failure;
  return k_exit_ok;
}

}  // namespace pycache_clean::cli
