// `pycache-clean [clean]`: options -> SweepOptions -> sweep() -> report.
#include <algorithm>
#include <cstdlib>

#include "check/stale_check.hpp"
#include "cli/command.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"
#include "cli/progress.hpp"
#include "cli/summary.hpp"
#include "fs/fs_ops.hpp"
#include "report/report_json.hpp"
#include "sweep/sweep.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

namespace pycache_clean::cli {

namespace {

struct CleanOptions {
  CommonOptions common;
  WalkCliOptions walk;
  bool dry_run = false;
  bool strict = false;
  bool stray = false;
  bool stale_only = false;
  bool tagged = false;
  std::string pycache_prefix;
  JudgeCliOptions judge;  // --verify; its prefix is pycache_prefix
};

// Lists removed paths (text with -v/-n, JSON array elements with --json) and
// warns of what was kept. Called under the sweep's lock, one call at a time.
class PrintingListener final : public SweepListener {
 public:
  PrintingListener(bool list_removed, bool json) : m_list(list_removed), m_json(json) {}
  void on_removed(const std::string& path, bool) override {
    if (m_json) {
      print_json_piece((m_first ? "" : ",") + json_quote(path));
      m_first = false;
    } else if (m_list) {
      print_line(path);
    }
  }
  void on_kept(const PathProblem& p) override {
    log_warn("{}: {} (kept)", p.path, errno_text(p.error));
  }
  void on_unreadable(const PathProblem& p) override {
    log_warn("{}: {} (not searched)", p.path, errno_text(p.error));
  }
  void on_bad_root(const PathProblem& p) override {
    log_error("{}: {}", p.path, errno_text(p.error));
  }

 private:
  bool m_list;
  bool m_json;
  bool m_first = true;
};

int run_clean(const CleanOptions& o) {
  start_command(o.common);
  if (o.stale_only && o.tagged)
    throw Error("--tagged removes whole directories; it does not combine with --stale-only",
                ErrorKind::bad_input);
  if (o.stale_only) {
    JudgeCliOptions judge = o.judge;
    judge.pycache_prefix = o.pycache_prefix;
    return clean_stale_only(o.walk, o.common, {o.strict, o.stray, o.dry_run}, judge);
  }
  if (o.judge.verify != "auto" || o.judge.verify_timeout != "10" || !o.judge.written_since.empty())
    throw Error("--verify, --verify-timeout and --written-since apply to --stale-only (and check)",
                ErrorKind::bad_input);
  SweepOptions options;
  options.dry_run = o.dry_run;
  options.remove_stray = o.stray;
  options.walk = o.walk.walk_options();
  options.walk.tagged = o.tagged;
  options.pycache_prefix = o.pycache_prefix;
  if (options.pycache_prefix.empty()) {
    const char* env = std::getenv("PYTHONPYCACHEPREFIX");
    if (env) options.pycache_prefix = env;
  }
  return sweep_and_report(o.walk.roots(), options, o.common, o.strict);
}

}  // namespace

int clean_stale_only(const WalkCliOptions& walk, const CommonOptions& common,
                     const StaleCleanFlags& flags, const JudgeCliOptions& judge) {
  CheckOptions options;
  options.walk = walk.walk_options();
  options.verify = judge.verify_mode();
  options.verify_timeout_ms = judge.verify_timeout_ms();
  options.written_since = judge.written_since_seconds();
  options.pycache_prefix = judge.prefix();
  options.remove_not_ok = true;
  options.remove_stray = flags.stray;
  options.dry_run = flags.dry_run;
  CheckReport report = check_and_print(walk.roots(), options, common, common.verbose > 0,
                                       common.json ? OutputFormat::json : OutputFormat::concise);
  if (!common.json && !common.quiet) print_line(format_stale_clean_summary(report));
  return walk_exit_status(report, flags.strict);
}

int sweep_and_report(const std::vector<std::string>& roots, const SweepOptions& options,
                     const CommonOptions& common, bool strict) {
  PrintingListener listener(!common.quiet && (common.verbose > 0 || options.dry_run), common.json);
  WalkCounters counters;
  SweepOptions with_counters = options;
  with_counters.walk.counters = &counters;
  SweepReport report;
  if (common.json) print_json_piece(format_sweep_json_head(options.dry_run));
  {
    Progress progress(counters, show_progress(common));
    report = sweep(real_fs(), roots, with_counters, &listener);
  }
  if (common.json) {
    write_sweep_json_tail(report, print_json_piece);
    end_json_document();
  } else if (!common.quiet)
    print_lines(format_sweep_summary(report, options.remove_stray, options.walk.tagged));
  std::fflush(stdout);
  return walk_exit_status(report, strict);
}

Command add_clean_command(CLI::App& app) {
  auto o = std::make_shared<CleanOptions>();
  CLI::App* sub = app.add_subcommand("clean", "Remove every __pycache__ directory below PATHs");
  sub->add_flag("-n,--dry-run", o->dry_run, "List what would be removed; remove nothing");
  sub->add_flag("--strict", o->strict,
                "Exit 1 when anything was kept or a directory could not be searched");
  sub->add_flag("--stray", o->stray,
                "Also remove *.pyc/*.pyo outside __pycache__ (legacy caches Python still imports); "
                "with --stale-only, those check does not call ok");
  sub->add_flag("--stale-only", o->stale_only,
                "Remove only the caches `check` does not call ok (stale, suspect, orphan, "
                "foreign, corrupt); report `Cleared N/Total stale caches`");
  sub->add_flag("--tagged", o->tagged,
                "Also remove directories that say they are caches: a CACHEDIR.TAG with the "
                "signature, owned as the directory by you (.pytest_cache, .ruff_cache, "
                ".mypy_cache)");
  sub->add_option("--pycache-prefix", o->pycache_prefix,
                  "Also clear the mirror tree CPython writes under DIR "
                  "(default: $PYTHONPYCACHEPREFIX)")
      ->type_name("DIR");
  add_walk_options(*sub, o->walk);
  add_judge_options(*sub, o->judge, false);
  add_common_options(*sub, o->common,
                     {"List each removed (with -n: each doomed) directory on stdout; say on stderr "
                      "what was skipped and why; -vv: every step",
                      "No report line: warnings and errors only",
                      "Print one JSON object (summary, removed and kept paths) instead of text"});
  sub->footer(std::string(k_skip_help) + R"(
Entries that cannot be removed (permissions, immutable, busy, read-only) are
reported as warnings and counted; the sweep goes on.

Report: `Cleared N/Total __pycache__ directories` on stdout (N removed of
Total found).

Examples:
  pycache-clean                    sweep the current directory
  pycache-clean -v src tests       sweep two trees, list each removed directory
  pycache-clean -n                 show what would go
  pycache-clean --strict --json .  machine-readable; exit 1 if anything was kept
  pycache-clean --stale-only       after an auto-fix: drop just the lying caches
  pycache-clean --tagged -n        also the tool caches that carry CACHEDIR.TAG

)" + exit_status_help("clean"));
  set_usage(*sub, "pycache-clean [clean] [OPTIONS] [PATH...]");
  return Command{sub, [o] { return run_clean(*o); }};
}

}  // namespace pycache_clean::cli
