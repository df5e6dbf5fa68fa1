// The help formatter (usage lines that say what is required, descriptions
// wrapped to 80 columns) and the one exit-status table every help text, the
// man page and docs/exit-status.md show.
#include "cli/help.hpp"

#include <map>
#include <memory>
#include <sstream>

namespace pycache_clean::cli {

namespace {

constexpr std::size_t k_width = 80;
constexpr std::size_t k_name_column = 30;

// Breaks `text` at spaces so that no line is longer than `width`.
std::string wrap(const std::string& text, std::size_t width) {
  std::istringstream words(text);
  std::string out;
  std::string line;
  std::string word;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

class HelpFormatter final : public CLI::Formatter {
 public:
  HelpFormatter() { column_width(k_name_column); }
  void set_usage(const CLI::App* app, std::string usage) { m_usage[app] = std::move(usage); }

  std::string make_usage(const CLI::App* app, std::string name) const override {
    auto it = m_usage.find(app);
    if (it == m_usage.end()) return CLI::Formatter::make_usage(app, std::move(name));
    return "Usage: " + it->second + "\n";
  }
  std::string make_subcommand(const CLI::App* sub) const override {
    std::ostringstream out;
    CLI::detail::format_help(out, sub->get_name(),
                             wrap(sub->get_description(), k_width - k_name_column), column_width_);
    return out.str();
  }
  std::string make_option_desc(const CLI::Option* opt) const override {
    return wrap(opt->get_description(), k_width - k_name_column);
  }

 private:
  std::map<const CLI::App*, std::string> m_usage;
};

// The subcommands that run a command of the user's and pass its status on.
constexpr const char* k_runners = "lock unless-pytest test";

// "lock unless-pytest test" as "lock, unless-pytest, test".
std::string listed(const std::string& commands) {
  std::string out;
  for (char c : commands) out += c == ' ' ? std::string(", ") : std::string(1, c);
  return out;
}

}  // namespace

std::string wrap_hanging(const std::string& text, std::size_t indent) {
  std::string out;
  for (char c : wrap(text, k_width - indent))
    out += c == '\n' ? "\n" + std::string(indent, ' ') : std::string(1, c);
  return out;
}

const std::vector<ExitStatusRow>& exit_status_table() {
  static const std::vector<ExitStatusRow> table = {
      {"0", "clean", "done, also when locked entries were kept and reported (see --strict)"},
      {"0", "check", "nothing suspect, corrupt or orphan-importable"},
      {"0", "pytest-running", "a pytest run is in progress"},
      {"0", "pytest-session", "the session ended"},
      {"0", "config", "the settings were shown"},
      {"0", "completions", "the script was printed"},
      {"0", "unless-pytest", "CMD skipped: pytest is running (--skip-exit-code changes it)"},
      {"1", "clean",
       "--strict and something was kept or not searched; a PATH is missing or not a "
       "directory (the others are still swept); another runtime error"},
      {"1", "check", "a cache is suspect, corrupt or orphan-importable; a PATH is missing"},
      {"1", "pytest-running", "no pytest run is in progress"},
      {"2", "",
       "usage error: unknown option, bad value, mistyped subcommand; a lock file or the pytest "
       "marker that cannot be opened or locked"},
      {"75", "lock", "the lock was not had within --wait (or --conflict-exit-code); CMD not run"},
      {"75", "unless-pytest", "another fixer held on past --fixer-wait; CMD not run"},
      {"75", "test pytest-session", "a fixer held the pytest marker past --wait; CMD not run"},
      {"N", k_runners, "CMD ran: its own exit status"},
      {"126", k_runners, "CMD was found but could not be executed"},
      {"127", k_runners, "CMD was not found"},
      {"128+N", k_runners, "CMD died of signal N"},
  };
  return table;
}

std::string exit_status_help(const std::string& subcommand) {
  std::string out = "Exit status:";
  for (const auto& row : exit_status_table()) {
    std::string commands = row.commands;
    std::string meaning = row.meaning;
    if (subcommand.empty()) {
      if (!commands.empty()) meaning = listed(commands) + ": " + meaning;
    } else if (!commands.empty() &&
               (" " + commands + " ").find(" " + subcommand + " ") == std::string::npos) {
      continue;
    }
    std::string status = row.status;
    status.resize(7, ' ');
    out += "\n  " + status + wrap_hanging(meaning, 9);
  }
  return out;
}

void use_help_formatter(CLI::App& app) {
  app.formatter(std::make_shared<HelpFormatter>());
}

void set_usage(CLI::App& sub, std::string usage) {
  auto formatter = std::dynamic_pointer_cast<HelpFormatter>(sub.get_formatter());
  if (formatter) formatter->set_usage(&sub, std::move(usage));
}

}  // namespace pycache_clean::cli
