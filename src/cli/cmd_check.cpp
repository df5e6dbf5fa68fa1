// `pycache-clean check` (and clean --stale-only): options -> check_caches() -> report.
#include <algorithm>
#include <cstdlib>

#include "check/stale_check.hpp"
#include "cli/check_output.hpp"
#include "cli/command.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"
#include "cli/progress.hpp"
#include "cli/summary.hpp"
#include "report/report_json.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean::cli {

namespace {

struct CheckCliOptions {
  CommonOptions common;
  bool strict = false;
  bool exit_zero = false;
  std::string output_format = "concise";  // or $PYCACHE_CLEAN_OUTPUT_FORMAT
  WalkCliOptions walk;
  JudgeCliOptions judge;
};

// Said as it happens, never gathered: memory does not grow with their number.
void warn_problem(ProblemKind kind, const PathProblem& p) {
  switch (kind) {
    case ProblemKind::bad_root:
      log_error("{}: {}", p.path, errno_text(p.error));
      break;
    case ProblemKind::unreadable:
      log_warn("{}: {} (not checked)", p.path, errno_text(p.error));
      break;
    case ProblemKind::kept:
      log_warn("{}: {} (kept)", p.path, errno_text(p.error));
      break;
    case ProblemKind::link:
      log_warn("{}: a symbolic link, not followed; CPython follows it: check its target itself",
               p.path);
      break;
  }
}

int run_check(const CheckCliOptions& o) {
  start_command(o.common);
  OutputFormat format = output_format_from_name(o.output_format);
  if (o.common.json) {
    if (format != OutputFormat::concise && format != OutputFormat::json)
      throw Error(
          "--json asks for --output-format json; it does not combine with --output-format " +
              o.output_format,
          ErrorKind::bad_input);
    format = OutputFormat::json;
  }
  CheckOptions options;
  options.walk = o.walk.walk_options();
  options.verify = o.judge.verify_mode();
  options.verify_timeout_ms = o.judge.verify_timeout_ms();
  options.written_since = o.judge.written_since_seconds();
  options.pycache_prefix = o.judge.prefix();
  options.walk.tagged = true;  // reported with their size; `clean --tagged` removes them
  if (o.common.verbose > 0 && format == OutputFormat::concise) {
    bool colour = o.common.colour_stdout();
    options.on_tagged = [colour](const std::string& path, std::uint64_t bytes, bool complete) {
      std::string word = fmt::format("{:<17}", "tagged");
      print_styled_line(colour ? "\033[2m" + word + "\033[0m " : word + " ",
                        fmt::format("{}: a cache directory (CACHEDIR.TAG), {}{}", path,
                                    complete ? "" : "at least ", human_bytes(bytes)));
    };
  }
  // Gate failures are always listed: they are what the user must act on.
  CheckReport report =
      check_and_print(o.walk.roots(), options, o.common, o.common.verbose > 0, format);
  if ((format == OutputFormat::concise || format == OutputFormat::github) && !o.common.quiet) {
    std::string summary =
        format_check_summary(report, format == OutputFormat::concise && o.common.colour_stdout());
    for (std::size_t start = 0; start <= summary.size();) {
      std::size_t end = std::min(summary.find('\n', start), summary.size());
      print_styled_line(summary.substr(start, end - start));
      start = end + 1;
    }
  }
  if (report.gate_failed() && !o.exit_zero) return k_exit_failure;
  if (o.strict && !report.links.empty()) return k_exit_failure;
  return walk_exit_status(report, o.strict);
}

// --strict, --output-format, --exit-zero: what makes the gate and how it speaks.
void add_report_options(CLI::App& sub, CheckCliOptions& o) {
  sub.add_flag("--strict", o.strict,
               "Exit 1 also when a cache or directory could not be read, or a symbolic link "
               "CPython follows to caches was not followed");
  sub.add_option("--output-format", o.output_format,
                 "concise (the default, or $PYCACHE_CLEAN_OUTPUT_FORMAT), json (as --json), "
                 "json-lines (a finding per line), "
                 "github (workflow annotations), gitlab (a Code Quality report), sarif (2.1.0)")
      ->option_text("FORMAT")
      ->envname("PYCACHE_CLEAN_OUTPUT_FORMAT")
      ->check(one_of({"concise", "json", "json-lines", "github", "gitlab", "sarif"}));
  sub.add_flag("--exit-zero", o.exit_zero,
               "Exit 0 even when a cache fails the gate (report, do not block)");
}

}  // namespace

// Walks and judges, printing findings as they come, in `format`.
CheckReport check_and_print(const std::vector<std::string>& roots, CheckOptions options,
                            const CommonOptions& common, bool list_all, OutputFormat format) {
  OutputSettings settings;
  settings.format = format;
  settings.stale_clean = options.remove_not_ok;
  settings.lines = {list_all, !settings.stale_clean, settings.stale_clean && options.dry_run};
  settings.colour = common.colour_stdout();
  std::shared_ptr<FindingOutput> output = make_finding_output(settings);
  output->head();
  options.on_finding = [output](const CacheVerdict& f, bool removable) {
    output->finding(f, removable);
  };
  options.on_problem = warn_problem;
  WalkCounters counters;
  options.walk.counters = &counters;
  CheckReport report;
  {
    Progress progress(counters, show_progress(common), Progress::Counts::cache_files);
    report = check_caches(real_fs(), roots, options);
  }
  output->tail(report);
  return report;
}

Command add_check_command(CLI::App& app) {
  auto o = std::make_shared<CheckCliOptions>();
  CLI::App* sub =
      app.add_subcommand("check", "Find the stale bytecode caches CPython would still load");
  add_report_options(*sub, *o);
  add_walk_options(*sub, o->walk);
  add_judge_options(*sub, o->judge, true);
  add_common_options(*sub, o->common,
                     {"List every cache that is not ok; say on stderr what was skipped and why, "
                      "and which interpreter proved what; -vv: every step",
                      "No summary line: findings, warnings and errors only",
                      "Print one JSON object (findings and summary) instead of text"});
  sub->footer(std::string(k_skip_help) + R"(

Each cache is judged as CPython judges it on import (its own rules per
version: int() of the double st_mtime, the 32-bit mask from 3.7, sources
followed through links, the platform's source suffixes, a package directory
before a legacy .pyc). With PYTHONPYCACHEPREFIX (or --pycache-prefix) the
mirror there is judged too.
  ok                 trusted, and matches its source
  stale              CPython recompiles it: header mtime/size or checked hash
                     differ, or the header is unusable; dead weight
  suspect            CPython loads it and its code differs from the source's
                     (compiled), or, not compiled, the source's ctime is after
                     the cache's; also an unchecked-hash pyc that does not
                     match: CPython loads OLD code
  orphan             no source beside it (harmless inside __pycache__), or a
                     legacy .pyc that a source or package of its name shadows
  orphan-importable  a legacy foo.pyc whose foo.py is gone: `import foo` still
                     loads it
  foreign            magic not that of its tag's CPython, or not a CPython tag
  corrupt            CPython would load it and fails: a truncated or garbled
                     body behind a valid header (the marshal stream is walked),
                     or a sourceless legacy pyc with no valid header

--verify: which trusted caches to prove by compiling the source with the
cache's own python3.X (PATH, pyenv, uv, /usr/bin) and comparing code objects:
  auto   those whose source shows a sign of change (ctime at or after the
         cache's)
  all    every one: also finds what leaves no ctime trace (a copy, chmod -R, a
         restore between CPython's read and its cache write); for CI
  none   none; headers and ctimes alone, bodies not read: the fastest pass
Where no interpreter of a version is found, its caches keep the header/ctime
verdict, counted as unverified.

Prints suspect, corrupt and orphan-importable caches (every non-ok one with -v)
and a summary line on stdout; the exit status makes it a CI or pre-commit gate.

Examples:
  pycache-clean check
  pycache-clean check --verify all   in CI
  pycache-clean check -v src --json
  pycache-clean check --output-format github   annotations in a GitHub workflow
  pycache-clean clean --stale-only   remove the caches check does not call ok

)" + exit_status_help("check"));
  set_usage(*sub, "pycache-clean check [OPTIONS] [PATH...]");
  return Command{sub, [o] { return run_check(*o); }};
}

}  // namespace pycache_clean::cli
