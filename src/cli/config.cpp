// Project settings (pyproject.toml's [tool.pycache-clean], pycache-clean.toml)
// applied to the options of a subcommand: each key names the long option it
// sets (`verify` -> --verify), so one validator and one error text serve the
// command line and the file; `exclude` and `extend-exclude` set hidden
// options of their own (the first replaces the default names, the second
// adds to every list).
#include "cli/config.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/log.hpp"

namespace pycache_clean::cli {

namespace {

// The option of `sub` a key sets, if it has one there: clean judges (verify,
// verify-timeout) only with --stale-only.
CLI::Option* option_for(CLI::App& sub, const std::string& key) {
  if (sub.get_name() == "clean" && (key == "verify" || key == "verify-timeout") &&
      sub.count("--stale-only") == 0)
    return nullptr;
  if (key == "exclude") return sub.get_option_no_throw("--config-exclude");
  if (key == "extend-exclude") return sub.get_option_no_throw("--config-extend-exclude");
  return sub.get_option_no_throw("--" + key);
}

std::vector<std::string> words_of(const ConfigValue& value) {
  struct {
    std::vector<std::string> operator()(bool b) { return {b ? "true" : "false"}; }
    std::vector<std::string> operator()(std::int64_t n) { return {std::to_string(n)}; }
    std::vector<std::string> operator()(double d) { return {fmt::format("{}", d)}; }
    std::vector<std::string> operator()(const std::string& s) { return {s}; }
    std::vector<std::string> operator()(const std::vector<std::string>& v) { return v; }
  } visit;
  return std::visit(visit, value);
}

}  // namespace

std::optional<ConfigFile> load_config(const CLI::App& sub) {
  const CLI::Option* isolated = sub.get_option_no_throw("--isolated");
  const CLI::Option* path = sub.get_option_no_throw("--config");
  bool is_isolated = isolated && isolated->count() > 0;
  bool has_path = path && path->count() > 0;
  if (is_isolated && has_path)
    throw Error("--isolated ignores every configuration file; it does not combine with --config",
                ErrorKind::bad_input);
  if (is_isolated) {
    log_debug("--isolated: no configuration file read");
    return std::nullopt;
  }
  try {
    std::optional<ConfigFile> file;
    if (has_path) {
      std::string given = path->as<std::string>();
      file = read_config_file(given);
      if (!file) throw Error(given + ": has no [tool.pycache-clean] table", ErrorKind::bad_setting);
    } else {
      std::error_code ec;
      file = discover_config(std::filesystem::current_path(ec).u8string());
    }
    if (file)
      log_debug("settings from {}", file->path);
    else
      log_debug("no pycache-clean.toml or [tool.pycache-clean] up to the repository's root");
    return file;
  } catch (const ConfigError& e) {
    throw Error(e.what(), ErrorKind::bad_setting);
  }
}

void apply_config(CLI::App& sub, const ConfigFile& file) {
  for (const auto& [key, value] : file.settings) {
    CLI::Option* option = option_for(sub, key);
    if (!option || option->count() > 0) continue;  // not this subcommand's, or given
    std::vector<std::string> words = words_of(value);
    if (std::holds_alternative<bool>(value) && !std::get<bool>(value)) continue;  // a flag off
    for (auto& w : words) option->add_result(w);
    try {
      option->run_callback();
    } catch (const CLI::Error& e) {
      std::string why = e.what();
      std::string name = option->get_name();
      if (why.compare(0, name.size() + 2, name + ": ") == 0) why.erase(0, name.size() + 2);
      throw Error(fmt::format("{}: '{}': {}", file.path, key, why), ErrorKind::bad_setting);
    }
  }
}

std::string config_text(const ConfigFile* file, const std::string& key) {
  if (!file) return {};
  auto it = file->settings.find(key);
  if (it == file->settings.end()) return {};
  std::string out;
  for (const auto& w : words_of(it->second)) out += (out.empty() ? "" : " ") + w;
  return out;
}

}  // namespace pycache_clean::cli
