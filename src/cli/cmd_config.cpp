// `pycache-clean config`: which settings file applies here and what it sets
// (as ruff's --show-settings), or one value (`--get pytest-clean`, read by
// the pytest plugin).
#include <algorithm>

#include "cli/command.hpp"
#include "cli/config.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"
#include "config/config.hpp"
#include "util/edit_distance.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace pycache_clean::cli {

namespace {

struct ConfigCliOptions {
  CommonOptions common;
  std::string get;
};

// What a key means when no file sets it, where the plugin needs an answer.
std::string default_text(const std::string& key) {
  return key == "pytest-clean" ? "off" : "";
}

void check_key(const std::string& key) {
  std::vector<std::string> names;
  for (const auto& k : config_keys()) names.emplace_back(k.name);
  if (std::find(names.begin(), names.end(), key) != names.end()) return;
  std::string guess = closest_match(key, names);
  throw Error("--get '" + key + "': no such setting" +
                  (guess.empty() ? "" : "; did you mean '" + guess + "'?"),
              ErrorKind::bad_input);
}

int run_config(const CLI::App& sub, const ConfigCliOptions& o) {
  start_command(o.common);
  std::optional<ConfigFile> file = load_config(sub);
  const ConfigFile* f = file ? &*file : nullptr;
  if (!o.get.empty()) {
    check_key(o.get);
    std::string value = config_text(f, o.get);
    if (value.empty()) value = default_text(o.get);
    if (o.get == "pytest-clean" && value != "off" && value != "stale" && value != "all")
      throw Error(f->path + ": 'pytest-clean': '" + value + "' is not one of off, stale, all",
                  ErrorKind::bad_setting);
    print_line(value);
    return k_exit_ok;
  }
  if (o.common.json) {
    JsonWriter json;
    json.begin_object().key("file");
    if (f)
      json.value(f->path);
    else
      json.null();
    json.key("settings").begin_object();
    for (const auto& k : config_keys()) {
      std::string value = config_text(f, k.name);
      if (!value.empty()) json.key(k.name).value(value);
    }
    json.end_object().end_object();
    print_line(json.str());
    return k_exit_ok;
  }
  print_line(f ? "# " + f->path : "# no settings file (pycache-clean.toml, pyproject.toml)");
  for (const auto& k : config_keys()) {
    std::string value = config_text(f, k.name);
    if (!value.empty()) print_line(std::string(k.name) + " = " + value);
  }
  return k_exit_ok;
}

}  // namespace

Command add_config_command(CLI::App& app) {
  auto o = std::make_shared<ConfigCliOptions>();
  CLI::App* sub =
      app.add_subcommand("config", "Show the settings file that applies here, and its values");
  sub->add_option("--get", o->get, "Print the value of one setting (pytest-clean: off if unset)")
      ->option_text("KEY");
  add_common_options(*sub, o->common,
                     {"Say which file was looked for and read", "Nothing but errors",
                      "Print one JSON object: file and settings"});
  sub->footer(
      std::string(R"(Settings live in the table [tool.pycache-clean] of a pyproject.toml, or at the
top of a pycache-clean.toml (which wins in one directory), found from the
working directory upward, not past the repository's root (the directory
holding .git). The command line wins over the file, the file over the
defaults; --config PATH reads that file only, --isolated none.

Keys: exclude, extend-exclude, verify, verify-timeout, jobs, pycache-prefix,
stray, tagged, output-format, wait, fixer-wait, pytest-clean (the pytest
plugin's sweep: off, stale, all).

Examples:
  pycache-clean config
  pycache-clean config --get pytest-clean

)") + exit_status_help("config"));
  set_usage(*sub, "pycache-clean config [OPTIONS]");
  return Command{sub, [o, sub] { return run_config(*sub, *o); }};
}

}  // namespace pycache_clean::cli
