#pragma once

// The whole command line behind one call, so that main() needs no CLI11.
namespace pycache_clean::cli {

// Owns the single error boundary: parses, runs one subcommand, maps errors to
// exit statuses.
int run(int argc, char** argv);

}  // namespace pycache_clean::cli
