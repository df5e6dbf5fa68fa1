// `pycache-clean pytest-session`: hold the pytest marker for the process that
// started it (the pytest plugin) until that process closes our stdin.
#include <cstdio>

#include "cli/command.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"
#include "guard/pytest_guard.hpp"
#include "platform/process.hpp"
#include "util/log.hpp"

namespace pycache_clean::cli {

namespace {

struct PytestSessionCliOptions {
  CommonOptions common;
  std::string wait = "120";
};

int run_pytest_session(const PytestSessionCliOptions& o) {
  start_command(o.common);
  long parent = parent_process(current_pid()).value_or(0);
  PytestMarker marker;
  SessionHold hold = hold_marker_for(marker, parent, parse_wait_seconds(o.wait), o.common.quiet);
  if (hold.timed_out) {
    log_error("gave up after {}s waiting for {} to finish; tests not run", o.wait, hold.fixer);
    return k_exit_lock_timeout;
  }
  std::printf("held %s\n", hold.token.c_str());
  std::fflush(stdout);
  // Held until the session ends: its end of our stdin closes, however it ends.
  char buf[256];
  while (std::fread(buf, 1, sizeof buf, stdin) > 0) {
  }
  return k_exit_ok;
}

}  // namespace

Command add_pytest_session_command(CLI::App& app) {
  auto o = std::make_shared<PytestSessionCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "pytest-session",
      "Hold the pytest marker for the pytest run that started it (the plugin's helper)");
  sub->add_option("--wait", o->wait,
                  "Wait up to SECS (-1 or inf: for ever) for a fixer that unless-pytest runs "
                  "(default 120)")
      ->type_name("SECS")
      ->check(parsed_by([](const std::string& v) { parse_wait_seconds(v, "--wait"); }, "--wait"));
  add_common_options(*sub, o->common,
                     {"Say which marker lock was chosen and why; -vv: every step",
                      "No [WAIT] lines: errors only"});
  sub->footer(
      std::string(R"(For the pytest plugin (`pytest -p pycache_clean`) and IDE runners: takes the
pytest marker shared as `pycache-clean test` does (waiting while a fixer holds
it), prints `held TOKEN` (the entry for $PYCACHE_CLEAN_LOCKS that lets the
session's own children recognise the hold) and keeps the marker until its
standard input reaches its end, which happens however the session ends.

)") + exit_status_help("pytest-session"));
  return Command{sub, [o] { return run_pytest_session(*o); }};
}

}  // namespace pycache_clean::cli
