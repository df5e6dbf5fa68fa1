#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

// Settings kept in the project, as ruff and typos keep theirs: the table
// `[tool.pycache-clean]` of a pyproject.toml, or the top level of a
// pycache-clean.toml, found upward from the working directory and not past
// the repository's root. Values only; what each means for a subcommand is
// the command line's business.
namespace pycache_clean {

// A setting's value as the file gives it (TOML integers, floats, booleans,
// strings, arrays of strings).
using ConfigValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;

struct ConfigFile {
  std::string path;                             // the file read
  std::map<std::string, ConfigValue> settings;  // key -> value, in key order
};

// A file that cannot be used: unreadable, not TOML, an unknown key, a value
// of the wrong type. `what()` names the file (and line, or key).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The keys a file may set and the TOML type each takes.
enum class ConfigType { boolean, integer, number, string, strings };
struct ConfigKey {
  const char* name;
  ConfigType type;
};
const std::vector<ConfigKey>& config_keys();

// Reads `path`: a pyproject.toml's [tool.pycache-clean] table (nothing when
// it has none), any other file's top level. Throws ConfigError.
std::optional<ConfigFile> read_config_file(const std::string& path);

// The settings that apply in `start` (a directory): the first of
// pycache-clean.toml or a pyproject.toml with [tool.pycache-clean] in it or
// a directory above, stopping at the directory holding .git (a repository's
// root) or the file system's root. Nothing when none is found.
std::optional<ConfigFile> discover_config(const std::string& start);

}  // namespace pycache_clean
