// `pycache-clean unless-pytest -- CMD`: options -> run_unless_pytest().
#include <pycache_clean/error.hpp>
#include <pycache_clean/exit_status.hpp>
#include <pycache_clean/pytest_guard.hpp>
#include "command.hpp"

namespace pycache_clean::cli {

namespace {

struct Options {
  CommonOptions common;
  std::string scope = "repo";
  std::string wait = "0";
  std::vector<std::string> command;
};

int run(const Options& o) {
  start_command(o.common);
  if (o.command.empty())
    throw Error(
        "unless-pytest: no command given "
        "(usage: pycache-clean unless-pytest [OPTIONS] -- CMD [ARG...])",
        k_exit_usage);
  UnlessPytestOptions options;
  options.scope = scope_from_name(o.scope);
  options.wait_seconds = parse_wait_seconds(o.wait);
  options.quiet = o.common.quiet;
  options.command = o.command;
  return run_unless_pytest(options);
}

}  // namespace

Command add_unless_pytest_command(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "unless-pytest", "Run a command only when no pytest run is in progress (else skip, exit 0)");
  add_scope_option(*sub, o->scope);
  sub->add_option("--wait", o->wait,
                  "Instead of skipping, wait up to SECS (-1 or inf: for ever) for the run to end")
      ->type_name("SECS");
  sub->add_option("CMD", o->command, "The command and its arguments, after --")->type_name("");
  add_common_options(*sub, o->common, false);
  sub->footer(R"(While tests run, prints `[SKIP] pytest is running (pid N): not running CMD` on
stderr and exits 0; otherwise runs CMD and exits with its status. Detection as
in `pycache-clean pytest-running`.

Examples: (a pre-commit `entry:`)
  pycache-clean unless-pytest -- ruff check --fix
  pycache-clean unless-pytest --wait 600 -- ruff format)");
  return Command{sub, [o] { return run(*o); }};
}

}  // namespace pycache_clean::cli
