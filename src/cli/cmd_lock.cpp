// `pycache-clean lock [OPTIONS] -- CMD [ARG...]`: options -> LockOptions -> run_locked().

#include "cli/command.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"
#include "guard/command_line.hpp"
#include "guard/lock.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean::cli {

namespace {

struct LockCliOptions {
  CommonOptions common;
  std::string wait = "30";
  std::string file;
  bool file_given = false;
  int conflict_exit_code = k_exit_lock_timeout;
  std::vector<std::string> command;
};

int run_lock(const LockCliOptions& o) {
  start_command(o.common);
  if (o.command.empty())
    throw Error("lock: no command given (usage: pycache-clean lock [OPTIONS] -- CMD [ARG...])",
                ErrorKind::bad_input);
  refuse_empty_command(o.command, "lock");
  if (o.file_given && o.file.empty())
    throw Error("--file: an empty path was given (leave --file out for the default lock file)",
                ErrorKind::bad_input);
  LockOptions options;
  options.file = o.file;
  options.wait_seconds = parse_wait_seconds(o.wait);
  options.quiet = o.common.quiet;
  options.command = o.command;
  LockOutcome outcome = run_locked(options);
  if (outcome.ran) return exit_status_for(outcome.child);
  log_error("gave up after {}s waiting for {} to release {}; not running: {}", o.wait,
            outcome.holder, outcome.path, join_command(o.command));
  return o.conflict_exit_code;
}

}  // namespace

Command add_lock_command(CLI::App& app) {
  auto o = std::make_shared<LockCliOptions>();
  CLI::App* sub =
      app.add_subcommand("lock", "Run a command while holding an exclusive lock (flock)");
  sub->add_option("--wait", o->wait,
                  "Seconds to wait for the lock (default 30; 0: try once; -1 or inf: forever)")
      ->type_name("SECS")
      ->check(parsed_by([](const std::string& v) { parse_wait_seconds(v, "--wait"); }, "--wait"));
  sub->add_option("--file", o->file,
                  "Lock file (default: <git common dir>/pycache-clean.lock, shared by all "
                  "worktrees; ./.pycache-clean.lock outside a repository)")
      ->type_name("PATH")
      ->each([o](const std::string&) { o->file_given = true; });
  sub->add_option("--conflict-exit-code", o->conflict_exit_code,
                  "Exit status when the lock was not had in time (default 75)")
      ->option_text("CODE")
      ->check(CLI::Range(1, 255));
  sub->add_option("CMD", o->command, "The command and its arguments, after --")->type_name("");
  add_common_options(
      *sub, o->common,
      {"Say which lock file was chosen and why; -vv: every step", "No [WAIT] lines: errors only"});
  sub->footer(
      std::string(R"(The lock is flock(2) on the lock file: the kernel releases it when the holder
dies in any way, so it is never stale and never broken by age. It excludes and
is excluded by `flock FILE cmd` (util-linux) on the same file. The command
inherits the lock, as with flock(1). A waiter says who holds the lock
(pid and command line) on stderr.

Examples:
  pycache-clean lock -- pre-commit run --all-files
  pycache-clean lock --wait 120 -- git commit -m "message"
  exec pycache-clean lock -- "$0.real" "$@"      (in a git hook script)

)") + exit_status_help("lock"));
  set_usage(*sub, "pycache-clean lock [OPTIONS] -- CMD [ARG...]");
  return Command{sub, [o] { return run_lock(*o); }};
}

}  // namespace pycache_clean::cli
