#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "check/code_verifier.hpp"
#include "check/stale_check.hpp"
#include "cli/check_output.hpp"
#include "cli/run.hpp"
#include "guard/pytest_probe.hpp"
#include "sweep/sweep.hpp"

// The command-line layer: each subcommand file turns its options into one call
// of the core library. Nothing below src/cli is seen by the core or its tests.
namespace pycache_clean::cli {

// A registered subcommand and the function that runs it once parsed.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// -v/-vv, -q and (optionally) --json, shared by every subcommand.
struct CommonOptions {
  int verbose = 0;
  bool quiet = false;
  bool json = false;
  std::string color = "auto";  // --color auto|always|never
  std::string config;          // --config PATH: this settings file, none other
  bool isolated = false;       // --isolated: no settings file at all
  // -1 quiet, 0 normal, 1 debug, 2+ trace.
  int verbosity() const { return quiet ? -1 : verbose; }
  // Whether stdout is coloured: --color, else the environment and the terminal.
  bool colour_stdout() const;
};
// What -v, -q and --json do for one subcommand, in its help; `json` null: no --json.
struct CommonHelp {
  const char* verbose;
  const char* quiet;
  const char* json = nullptr;
};
void add_common_options(CLI::App& sub, CommonOptions& options, const CommonHelp& help);

// What to walk and skip, shared by `clean` and `check`.
struct WalkCliOptions {
  std::vector<std::string> paths;
  std::vector<std::string> excludes;
  bool no_default_excludes = false;
  // From the settings file: `exclude` (replaces the default names; set when
  // the file has the key) and `extend-exclude` (adds to them).
  std::vector<std::string> configured_excludes;
  bool has_configured_excludes = false;
  std::vector<std::string> extend_excludes;
  bool one_file_system = false;
  unsigned jobs = 0;
  // The roots to walk (default ".") and the walker options they ask for.
  std::vector<std::string> roots() const;
  WalkOptions walk_options() const;
};
void add_walk_options(CLI::App& sub, WalkCliOptions& options);

// How `check` and `clean --stale-only` judge: --verify and --pycache-prefix.
struct JudgeCliOptions {
  std::string verify = "auto";
  std::string verify_timeout = "10";  // seconds per compile; 0: no limit
  std::string written_since;          // seconds since the epoch; empty: every cache
  std::string pycache_prefix;         // empty: $PYTHONPYCACHEPREFIX
  VerifyMode verify_mode() const;
  int verify_timeout_ms() const;
  double written_since_seconds() const;  // -1 when not given
  std::string prefix() const;
};
// `with_prefix`: also --pycache-prefix (clean has its own).
void add_judge_options(CLI::App& sub, JudgeCliOptions& options, bool with_prefix);

// The help footer part that says what is skipped.
extern const char* const k_skip_help;

// Refuses a command whose name is empty (`lock -- ""`), naming `subcommand`.
void refuse_empty_command(const std::vector<std::string>& command, const char* subcommand);

// Applies the logging level of `options` (refusing -q with -v); every
// command calls it first.
void start_command(const CommonOptions& options);

// Whether a live progress line may be drawn: stderr is a terminal and not -q.
bool show_progress(const CommonOptions& options);

// Writes `text` and a newline to stdout; control characters in it (from file
// names, command lines) are escaped, so it stays one line.
void print_line(const std::string& text);
// Writes each line of our own multi-line `text` with print_line.
void print_lines(const std::string& text);
// --json: one document on one line, streamed in pieces (head, each finding or
// path, tail), then its newline.
void print_json_piece(const std::string& piece);
void end_json_document();
// Writes our own `styled` words (colour escapes kept) and then `text` as
// print_line does.
void print_styled_line(const std::string& styled, const std::string& text = {});

Command add_clean_command(CLI::App& app);
Command add_lock_command(CLI::App& app);
Command add_pytest_running_command(CLI::App& app);
Command add_unless_pytest_command(CLI::App& app);
Command add_test_command(CLI::App& app);
Command add_pytest_session_command(CLI::App& app);
Command add_check_command(CLI::App& app);
Command add_config_command(CLI::App& app);
Command add_completions_command(CLI::App& app);

// Runs the sweep over `roots` and prints its report as `clean` does (text,
// JSON or nothing); returns clean's exit status.
int sweep_and_report(const std::vector<std::string>& roots, const SweepOptions& options,
                     const CommonOptions& common, bool strict);

// Walks and judges `roots` as `check` does, printing each finding as it comes
// in `format` (every non-ok one with `list_all`, else the gate failures; a
// JSON document holds them all), then warns of the problems.
CheckReport check_and_print(const std::vector<std::string>& roots, CheckOptions options,
                            const CommonOptions& common, bool list_all, OutputFormat format);

// The exit status of a walk: 1 when a PATH is missing, or with `strict` when
// anything was kept or could not be searched; else 0.
int walk_exit_status(const WalkReport& report, bool strict);

// clean --stale-only: removes the caches `check` does not call ok inside
// __pycache__ (and, with `stray`, legacy *.pyc/*.pyo outside it) and prints
// `Cleared N/Total stale caches`; returns clean's exit status.
struct StaleCleanFlags {
  bool strict = false;
  bool stray = false;
  bool dry_run = false;  // -n: list what would go (each finding), remove nothing
};
int clean_stale_only(const WalkCliOptions& walk, const CommonOptions& common,
                     const StaleCleanFlags& flags, const JudgeCliOptions& judge);

// A validator accepting one of `words`, refusing anything else with
// "'x' is not one of a, b, c".
CLI::Validator one_of(const std::vector<std::string>& words);

// --scope repo|user|all.
CLI::Option* add_scope_option(CLI::App& sub, std::string& scope);
PytestScope scope_from_name(const std::string& name);

// --wait SECS: a number >= 0, or -1/inf for ever (returned as -1). Throws a
// usage Error naming the bad value.
double parse_wait_seconds(const std::string& text, const char* option = "--wait");
// A validator running `parse` (which throws a usage Error naming `option`)
// on the option's value, so that a bad value from a settings file is caught
// where it is applied; its message without the option's name, which CLI11
// puts in front.
CLI::Validator parsed_by(const std::function<void(const std::string&)>& parse,
                         const std::string& option);

}  // namespace pycache_clean::cli
