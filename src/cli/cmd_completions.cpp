// `pycache-clean completions bash|zsh|fish`: the completion script for a
// shell, the very file the packages install (embedded at build time), for
// those who installed with pip, pipx or uv and got no completions.
#include <cstdio>

#include "cli/command.hpp"
#include "cli/completions.hpp"
#include "cli/exit_status.hpp"
#include "cli/help.hpp"

namespace pycache_clean::cli {

namespace {

int run_completions(const std::string& shell) {
  const char* script = shell == "bash"  ? k_completion_bash
                       : shell == "zsh" ? k_completion_zsh
                                        : k_completion_fish;
  std::fputs(script, stdout);
  std::fflush(stdout);
  return k_exit_ok;
}

}  // namespace

Command add_completions_command(CLI::App& app) {
  auto shell = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("completions", "Print the completion script for a shell");
  sub->add_option("SHELL", *shell, "bash, zsh or fish")
      ->required()
      ->check(one_of({"bash", "zsh", "fish"}));
  sub->footer(std::string(R"(Examples:
  pycache-clean completions bash > ~/.local/share/bash-completion/completions/pycache-clean
  pycache-clean completions zsh > ~/.zfunc/_pycache-clean   # fpath+=(~/.zfunc)
  pycache-clean completions fish > ~/.config/fish/completions/pycache-clean.fish

)") + exit_status_help("completions"));
  set_usage(*sub, "pycache-clean completions bash|zsh|fish");
  return Command{sub, [shell] { return run_completions(*shell); }};
}

}  // namespace pycache_clean::cli
