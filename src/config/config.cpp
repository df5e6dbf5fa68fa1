// Project settings from TOML (see config.hpp). The one file that includes
// toml++ (Debian's libtomlplusplus-dev), compiled here once
// (TOML_IMPLEMENTATION), never linked as a shared library: the binary stays
// static. Files are read whole but never past 1 MiB, and only regular files
// (a FIFO named pyproject.toml is not waited on).
#define TOML_HEADER_ONLY 0
#define TOML_IMPLEMENTATION
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
#include "config/config.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "util/edit_distance.hpp"

namespace pycache_clean {

namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t k_max_config_bytes = 1 << 20;
constexpr const char* k_table = "pycache-clean";

bool is_pyproject(const fs::path& p) {
  return p.filename() == "pyproject.toml";
}

std::string read_text(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw ConfigError(path.u8string() + ": not a regular file");
  if (fs::file_size(path, ec) > k_max_config_bytes)
    throw ConfigError(path.u8string() + ": larger than 1 MiB; not a configuration file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path.u8string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const char* type_name(ConfigType t) {
  switch (t) {
    case ConfigType::boolean:
      return "true or false";
    case ConfigType::integer:
      return "an integer";
    case ConfigType::number:
      return "a number";
    case ConfigType::string:
      return "a string";
    case ConfigType::strings:
      return "an array of strings";
  }
  return "";
}

// The value of `node` as `type` wants it, or nothing when it is of another type.
std::optional<ConfigValue> convert(const toml::node& node, ConfigType type) {
  switch (type) {
    case ConfigType::boolean:
      if (auto v = node.value_exact<bool>()) return ConfigValue(*v);
      break;
    case ConfigType::integer:
      if (auto v = node.value_exact<std::int64_t>()) return ConfigValue(*v);
      break;
    case ConfigType::number:
      if (auto v = node.value_exact<std::int64_t>()) return ConfigValue(static_cast<double>(*v));
      if (auto v = node.value_exact<double>()) return ConfigValue(*v);
      break;
    case ConfigType::string:
      if (auto v = node.value_exact<std::string>()) return ConfigValue(*v);
      break;
    case ConfigType::strings: {
      const toml::array* array = node.as_array();
      if (!array) break;
      std::vector<std::string> items;
      for (const toml::node& item : *array) {
        auto s = item.value_exact<std::string>();
        if (!s) return std::nullopt;
        items.push_back(*s);
      }
      return ConfigValue(std::move(items));
    }
  }
  return std::nullopt;
}

ConfigFile settings_of(const toml::table& table, const std::string& path) {
  ConfigFile file{path, {}};
  std::vector<std::string> names;
  for (const auto& key : config_keys()) names.emplace_back(key.name);
  for (const auto& [key, node] : table) {
    std::string name(key.str());
    auto known = std::find_if(config_keys().begin(), config_keys().end(),
                              [&](const ConfigKey& k) { return name == k.name; });
    if (known == config_keys().end()) {
      std::string guess = closest_match(name, names);
      throw ConfigError(path + ": unknown key '" + name + "'" +
                        (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
    auto value = convert(node, known->type);
    if (!value) throw ConfigError(path + ": '" + name + "' takes " + type_name(known->type));
    file.settings.emplace(name, std::move(*value));
  }
  return file;
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = {
      {"exclude", ConfigType::strings},       {"extend-exclude", ConfigType::strings},
      {"fixer-wait", ConfigType::number},     {"jobs", ConfigType::integer},
      {"output-format", ConfigType::string},  {"pycache-prefix", ConfigType::string},
      {"pytest-clean", ConfigType::string},   {"stray", ConfigType::boolean},
      {"tagged", ConfigType::boolean},        {"verify", ConfigType::string},
      {"verify-timeout", ConfigType::number}, {"wait", ConfigType::number},
  };
  return keys;
}

std::optional<ConfigFile> read_config_file(const std::string& path_text) {
  fs::path path = fs::u8path(path_text);
  std::string text = read_text(path);
  toml::parse_result parsed = toml::parse(text, path_text);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    throw ConfigError(path_text + ":" + std::to_string(e.source().begin.line) +
                      ": not valid TOML: " + std::string(e.description()));
  }
  const toml::table& root = parsed.table();
  if (!is_pyproject(path)) return settings_of(root, path_text);
  const toml::node* tool = root.get("tool");
  if (!tool || !tool->is_table()) return std::nullopt;
  const toml::node* ours = tool->as_table()->get(k_table);
  if (!ours) return std::nullopt;
  if (!ours->is_table()) throw ConfigError(path_text + ": [tool.pycache-clean] must be a table");
  return settings_of(*ours->as_table(), path_text);
}

std::optional<ConfigFile> discover_config(const std::string& start) {
  std::error_code ec;
  fs::path dir = fs::absolute(fs::u8path(start), ec);
  if (ec) return std::nullopt;
  for (;;) {
    fs::path own = dir / "pycache-clean.toml";
    if (fs::exists(own, ec)) return read_config_file(own.u8string());
    fs::path pyproject = dir / "pyproject.toml";
    if (fs::exists(pyproject, ec)) {
      if (auto found = read_config_file(pyproject.u8string())) return found;
    }
    if (fs::exists(dir / ".git", ec)) return std::nullopt;  // the repository's root
    fs::path parent = dir.parent_path();
    if (parent == dir) return std::nullopt;
    dir = parent;
  }
}

}  // namespace pycache_clean
