// `pycache-clean pytest-running`: options -> probe_pytest() -> exit 0/1.

#include "cli/command.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"
#include "guard/pytest_guard.hpp"
#include "report/report_json.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace pycache_clean::cli {

namespace {

struct PytestRunningCliOptions {
  CommonOptions common;
  std::string scope = "repo";
};

int run_pytest_running(const PytestRunningCliOptions& o) {
  start_command(o.common);
  PytestProbe probe = probe_pytest(scope_from_name(o.scope));
  for (const auto& note : probe.considered) log_debug("{}", note);
  if (!probe.scan_supported)
    log_warn("no process scan on this platform: only the environment and marker lock count");
  if (o.common.json) {
    JsonWriter json;
    json.begin_object().key("schema_version").value(k_json_schema_version);
    json.key("command").value("pytest-running").key("running").value(probe.running);
    json.key("evidence");
    if (probe.evidence.empty())
      json.null();
    else
      json.value(probe.evidence);
    json.key("scope").value(o.scope);
    json.key("runs").begin_array();
    for (const auto& r : probe.runs)
      json.begin_object()
          .key("pid")
          .value(static_cast<std::int64_t>(r.pid))
          .key("command")
          .value(r.command)
          .end_object();
    json.end_array();
    json.key("considered").begin_array();
    for (const auto& note : probe.considered) json.value(note);
    json.end_array().end_object();
    print_line(json.str());
  }
  if (!o.common.quiet) {
    if (probe.running) {
      for (const auto& r : probe.runs)
        log_info("pytest is running ({}): {}{}", probe.evidence,
                 r.pid > 0 ? "pid " + std::to_string(r.pid) + " " : "", r.command);
    } else {
      log_info("no pytest run in progress (scope: {})", o.scope);
    }
  }
  return probe.running ? k_exit_ok : k_exit_failure;
}

}  // namespace

Command add_pytest_running_command(CLI::App& app) {
  auto o = std::make_shared<PytestRunningCliOptions>();
  CLI::App* sub = app.add_subcommand("pytest-running", "Exit 0 when a pytest run is in progress");
  add_scope_option(*sub, o->scope);
  add_common_options(
      *sub, o->common,
      {"Say each piece of evidence considered and why it was taken or rejected; -vv: every step",
       "Nothing on stderr: the exit status answers",
       "Print one JSON object (running, evidence, runs) on stdout"});
  sub->footer(
      std::string(R"(Evidence, in order: PYTEST_RUNNING=1, PYTEST_VERSION or PYTEST_CURRENT_TEST in
this process's environment; the marker lock held by `pycache-clean test`; a
scan of the process table (Linux /proc; Windows: a process snapshot) for
pytest by command-line structure (pytest or py.test as the program or script,
`-m pytest`, an IDE runner, an xdist worker of such a process), never by
substring. This process and its ancestors are left out.

Examples:
  pycache-clean pytest-running && echo "tests are running"
  pycache-clean pytest-running --scope user --json

)") + exit_status_help("pytest-running"));
  return Command{sub, [o] { return run_pytest_running(*o); }};
}

}  // namespace pycache_clean::cli
