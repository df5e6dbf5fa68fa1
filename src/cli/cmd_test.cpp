// `pycache-clean test -- [CMD]`: take the marker, sweep, run_test_command(),
// drop what the run wrote and saw outdated.
#include <chrono>

#include "check/stale_check.hpp"
#include "cli/command.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"
#include "guard/command_line.hpp"
#include "guard/git_dir.hpp"
#include "guard/pytest_guard.hpp"
#include "util/log.hpp"

namespace pycache_clean::cli {

namespace {

struct TestCliOptions {
  CommonOptions common;
  bool no_clean = false;
  bool no_bytecode = false;
  std::string wait = "120";
  std::vector<std::string> command;
};

double seconds_since_epoch() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// Drops the caches below `root` whose source changed after they were
// written (headers and inode times judge, --verify none: one stat a cache);
// with `since` (seconds since the epoch; -1: none), only those written
// after it. Returns how many went.
std::uint64_t drop_outdated(const std::string& root, double since) {
  CheckOptions options;
  options.verify = VerifyMode::none;
  options.remove_not_ok = true;
  options.written_since = since;
  return check_caches(real_fs(), {root}, options).removed;
}

// Before a run that does not sweep (--no-clean): a cache whose source a
// guarded fixer rewrote since, keeping its size and its second (CPython
// cannot tell), would be loaded; it goes, and one line says so.
void drop_outdated_before(const std::string& root, const CommonOptions& common) {
  std::uint64_t n = drop_outdated(root, -1);
  if (n > 0 && !common.quiet)
    log_info("dropped {} {} whose source changed after {} written", n, n == 1 ? "cache" : "caches",
             n == 1 ? "it was" : "they were");
}

// After the run: the caches it wrote whose source changed after they were
// written (an editor's save, a writer no guard knows of) are dropped, so
// that none outlives the run to be loaded later; one line says how many.
// Two seconds of slack for file systems with whole-second times.
void drop_what_the_run_outdated(const std::string& root, double start,
                                const CommonOptions& common) {
  std::uint64_t n = drop_outdated(root, start - 2);
  if (n > 0 && !common.quiet)
    log_info("dropped {} {} this run wrote whose source changed meanwhile", n,
             n == 1 ? "cache" : "caches");
}

int run_test(const TestCliOptions& o) {
  start_command(o.common);
  refuse_empty_command(o.command, "test");
  TestRunOptions options;
  options.command = o.command;
  options.wait_seconds = parse_wait_seconds(o.wait);
  options.quiet = o.common.quiet;
  auto dirs = find_git_dirs(".");
  std::string root = dirs && !dirs->worktree.empty() ? dirs->worktree : ".";
  if (!o.no_clean)
    options.prepare = [&] { sweep_and_report({root}, SweepOptions{}, o.common, false); };
  else if (!o.no_bytecode)
    options.prepare = [&] { drop_outdated_before(root, o.common); };
  options.no_bytecode = o.no_bytecode;
  double start = 0;
  if (!o.no_bytecode) {
    start = seconds_since_epoch();
    options.finish = [&] { drop_what_the_run_outdated(root, start, o.common); };
  }
  TestRunOutcome outcome = run_test_command(options);
  if (outcome.timed_out) {
    log_error("gave up after {}s waiting for {} to finish; tests not run: {}", o.wait,
              outcome.fixer, o.command.empty() ? "python3 -m pytest" : join_command(o.command));
    return k_exit_lock_timeout;
  }
  return exit_status_for(outcome.child);
}

}  // namespace

Command add_test_command(CLI::App& app) {
  auto o = std::make_shared<TestCliOptions>();
  CLI::App* sub = app.add_subcommand("test", "Clear caches, then run the tests, marked as running");
  sub->add_flag("--no-clean", o->no_clean,
                "Do not sweep before running (caches whose source changed after they were "
                "written still go)");
  sub->add_flag("--no-bytecode", o->no_bytecode,
                "Run CMD with PYTHONDONTWRITEBYTECODE=1: no cache written at all (every run "
                "then compiles every module it imports)");
  sub->add_option("--wait", o->wait,
                  "Wait up to SECS (-1 or inf: for ever) for a fixer that unless-pytest runs "
                  "(default 120)")
      ->type_name("SECS")
      ->check(parsed_by([](const std::string& v) { parse_wait_seconds(v, "--wait"); }, "--wait"));
  sub->add_option("CMD", o->command, "The test command (default: python3 -m pytest), after --")
      ->type_name("");
  add_common_options(
      *sub, o->common,
      {"Say which marker lock was chosen and why, and what the sweep skipped; -vv: every step",
       "No sweep report and no [WAIT] lines: errors only"});
  sub->footer(
      std::string(R"(Takes the pytest marker lock (<git common dir>/pycache-clean-pytest.lock)
shared, waiting while a fixer run by `unless-pytest` holds it (`[WAIT] waiting
for pid N (ruff check --fix)`); sweeps the current repository's worktree (or
the current directory outside a repository) as `clean` does; then runs CMD
with PYTEST_RUNNING=1, holding the marker for its whole life, so that
`pytest-running` and `unless-pytest` see it from any process and no fixer
starts until it ends. Caches are written as usual (the next run imports at
full speed); when CMD ends, those it wrote whose source changed after they
were written (a save no guard knows of) are dropped, and a line says how
many. Started by a process that holds the marker already (a fixer's command,
another test run), it runs at once. Signals are passed on.

Examples:
  pycache-clean test
  pycache-clean test -- python3 -m pytest -n 2 tests/
  test:  ; pycache-clean test -- pytest -q        (a Makefile recipe)

)") + exit_status_help("test"));
  set_usage(*sub, "pycache-clean test [OPTIONS] [-- CMD [ARG...]]");
  return Command{sub, [o] { return run_test(*o); }};
}

}  // namespace pycache_clean::cli
