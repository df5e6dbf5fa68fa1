// `pycache-clean unless-pytest -- CMD`: options -> run_unless_pytest() -> words.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"
#include "guard/command_line.hpp"
#include "guard/pytest_guard.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean::cli {

namespace {

struct UnlessPytestCliOptions {
  CommonOptions common;
  std::string scope = "repo";
  std::string wait = "0";
  std::string fixer_wait = "600";
  int skip_exit_code = 0;
  std::vector<std::string> command;
};

int run_unless_pytest_command(const UnlessPytestCliOptions& o) {
  start_command(o.common);
  if (o.command.empty())
    throw Error(
        "unless-pytest: no command given "
        "(usage: pycache-clean unless-pytest [OPTIONS] -- CMD [ARG...])",
        ErrorKind::bad_input);
  refuse_empty_command(o.command, "unless-pytest");
  UnlessPytestOptions options;
  options.scope = scope_from_name(o.scope);
  options.wait_seconds = parse_wait_seconds(o.wait);
  options.fixer_wait_seconds = parse_wait_seconds(o.fixer_wait, "--fixer-wait");
  options.quiet = o.common.quiet;
  options.command = o.command;
  UnlessPytestOutcome outcome = run_unless_pytest(options);
  if (outcome.gave_up) {
    // Not a skip: the fix was not made, and the status says so.
    log_error("gave up after {}s waiting for {} to finish; not running: {}", o.fixer_wait,
              outcome.reason, join_command(o.command));
    return k_exit_lock_timeout;
  }
  if (!outcome.skipped) return exit_status_for(outcome.child);
  // On stdout: a pre-commit hook's output is shown when it fails or with
  // `verbose: true`; a skipped fixer must not pass unseen.
  if (!o.common.quiet)
    print_line(fmt::format("[SKIP] {}: not running {}", outcome.reason, join_command(o.command)));
  return o.skip_exit_code;
}

}  // namespace

Command add_unless_pytest_command(CLI::App& app) {
  auto o = std::make_shared<UnlessPytestCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "unless-pytest", "Run a command only when no pytest run is in progress (else skip, exit 0)");
  add_scope_option(*sub, o->scope);
  sub->add_option("--wait", o->wait,
                  "Instead of skipping, wait up to SECS (-1 or inf: for ever) for the run to end")
      ->type_name("SECS")
      ->check(parsed_by([](const std::string& v) { parse_wait_seconds(v, "--wait"); }, "--wait"));
  sub->add_option("--fixer-wait", o->fixer_wait,
                  "Wait up to SECS (default 600; -1 or inf: for ever) for another fixer to "
                  "finish; then exit 75 without running CMD (a fixer never skips for a fixer)")
      ->type_name("SECS")
      ->check(parsed_by([](const std::string& v) { parse_wait_seconds(v, "--fixer-wait"); },
                        "--fixer-wait"));
  sub->add_option("--skip-exit-code", o->skip_exit_code,
                  "Exit with N when skipping (default 0; 1 fails a pre-commit hook instead of "
                  "committing unfixed code)")
      ->option_text("N")
      ->check(CLI::Range(0, 255));
  sub->add_option("CMD", o->command, "The command and its arguments, after --")->type_name("");
  add_common_options(
      *sub, o->common,
      {"Say each piece of evidence considered, and which marker lock; -vv: every step",
       "No [SKIP] or [WAIT] lines: errors only"});
  sub->footer(
      std::string(R"(Runs CMD holding the pytest marker lock exclusively, so that no test run
started through `pycache-clean test` or the pytest plugin can begin until CMD
ends; deciding and running are one step. While tests run (they hold the
marker, or the process table shows pytest), prints `[SKIP] pytest is running
(pid N ...): not running CMD` on stdout and exits 0 (or --skip-exit-code);
with --wait, queues for the marker instead and runs CMD once the tests are
done. Fixers run one at a time: one that finds another fixer at work waits
for it (--fixer-wait) and then runs; it never skips for it. CMD inherits the
locks, as with `lock`. Detection as in `pycache-clean pytest-running`.

Examples: (a pre-commit `entry:`)
  pycache-clean unless-pytest -- ruff check --fix
  pycache-clean unless-pytest --wait 600 -- ruff format
  pycache-clean unless-pytest --skip-exit-code 1 -- black .

)") + exit_status_help("unless-pytest"));
  set_usage(*sub, "pycache-clean unless-pytest [OPTIONS] -- CMD [ARG...]");
  return Command{sub, [o] { return run_unless_pytest_command(*o); }};
}

}  // namespace pycache_clean::cli
