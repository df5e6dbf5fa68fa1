// `pycache-clean test -- [CMD]`: sweep the repository, then run_test_command().
#include <pycache_clean/git_dir.hpp>
#include <pycache_clean/pytest_guard.hpp>
#include "command.hpp"

namespace pycache_clean::cli {

namespace {

struct Options {
  CommonOptions common;
  bool no_clean = false;
  std::vector<std::string> command;
};

int run(const Options& o) {
  start_command(o.common);
  if (!o.no_clean) {
    auto dirs = find_git_dirs(".");
    SweepOptions options;
    sweep_and_report({dirs && !dirs->worktree.empty() ? dirs->worktree : "."}, options, o.common,
                     false);
  }
  return run_test_command(o.command);
}

}  // namespace

Command add_test_command(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "test", "Clear caches, then run the tests without writing new ones, marked as running");
  sub->add_flag("--no-clean", o->no_clean, "Do not sweep before running");
  sub->add_option("CMD", o->command, "The test command (default: python3 -m pytest), after --")
      ->type_name("");
  add_common_options(*sub, o->common, false);
  sub->footer(R"(Sweeps the current repository's worktree (or the current directory outside a
repository) as `clean` does, then runs CMD with PYTHONDONTWRITEBYTECODE=1 and
PYTEST_RUNNING=1 while holding a shared marker lock
(<git common dir>/pycache-clean-pytest.lock) that `pytest-running` and
`unless-pytest` see from any process. Signals are passed on; the exit status
is CMD's (128+N for signal N, 127 not found).

Examples:
  pycache-clean test
  pycache-clean test -- python3 -m pytest -n 2 tests/
  test:  ; pycache-clean test -- pytest -q        (a Makefile recipe))");
  return Command{sub, [o] { return run(*o); }};
}

}  // namespace pycache_clean::cli
