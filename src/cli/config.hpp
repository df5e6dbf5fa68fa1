#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "config/config.hpp"

// Project settings on the command line: which file applies to a parsed
// subcommand (--config, --isolated, or the one found upward), and its values
// given to the options the command line left unset (command line > file >
// defaults).
namespace pycache_clean::cli {

// The settings for parsed subcommand `sub`; nothing with --isolated or when
// no file is found. Throws a usage Error naming the file for a bad one.
std::optional<ConfigFile> load_config(const CLI::App& sub);

// Gives each setting of `file` that `sub` has an option for to that option,
// unless the command line set it; validated as the option validates.
void apply_config(CLI::App& sub, const ConfigFile& file);

// The value of `key` in `file` as the command line would spell it ("120",
// "true", "a b"); empty when unset.
std::string config_text(const ConfigFile* file, const std::string& key);

}  // namespace pycache_clean::cli
