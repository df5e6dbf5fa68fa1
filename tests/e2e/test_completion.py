"""The shell completions in real interactive shells: bash (with and without
the bash-completion package), zsh and fish, each in a tmux pane, typing a
line and Tab as a user does and reading the screen back.

A line is typed, then Tab, then a marker `X`: the screen then shows what the
completion inserted, and whether it ended the word with a space (a finished
argument) or not (a directory, ending in `/`)."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SOURCE_ROOT

COMPLETIONS = SOURCE_ROOT / "completions"
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")

pytestmark = pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux for a real pty")


class Pane:
    """One interactive shell in a tmux pane of a private tmux server."""

    def __init__(self, tmp_path, argv, setup):
        self.socket = str(tmp_path / "tmux.sock")
        env = ["env", "-i", f"HOME={tmp_path}", "PATH=/usr/bin:/bin", "TERM=xterm",
               "LANG=C.UTF-8"]
        self.tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "40", "-c",
                  str(tmp_path / "work"), " ".join([*env, *argv]))
        self.type(setup + "; clear")
        self.tmux("send-keys", "-t", "t", "Enter")
        self.prompt_line(lambda line: line == "$", timeout=20)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], check=True,
                              capture_output=True, text=True).stdout

    def type(self, text):
        self.tmux("send-keys", "-t", "t", "-l", text)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "t")

    def prompt_line(self, done, timeout=10):
        """Waits until the last prompt line on screen satisfies `done`."""
        end = time.monotonic() + timeout
        while True:
            lines = [line.rstrip() for line in self.screen().splitlines()]
            prompts = [line for line in lines if line.startswith("$")]
            if prompts and done(prompts[-1]):
                return prompts[-1]
            if time.monotonic() > end:
                return prompts[-1] if prompts else ""
            time.sleep(0.05)

    def complete(self, line):
        """Types LINE, Tab and the marker X; returns what stands before the X."""
        self.type(line)
        self.tmux("send-keys", "-t", "t", "Tab")
        self.type("X")
        shown = self.prompt_line(lambda text: text.endswith("X"))
        self.cancel()
        return shown.removeprefix("$ ").removesuffix("X")

    def cancel(self):
        """Ctrl-C until the prompt is empty again: where a completion was
        ambiguous, fish's first Ctrl-C only closes its list of candidates."""
        for _ in range(5):
            self.tmux("send-keys", "-t", "t", "C-c")
            if self.prompt_line(lambda text: text == "$", timeout=2) == "$":
                return
        raise AssertionError("the line was not cleared:\n" + self.screen())

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)


def shells():
    yield pytest.param("bash", ["bash", "--norc", "--noprofile"],
                       f"PS1='$ '; source {COMPLETIONS}/pycache-clean.bash", id="bash")
    yield pytest.param(
        "bash", ["bash", "--norc", "--noprofile"],
        f"PS1='$ '; source {BASH_COMPLETION}; source {COMPLETIONS}/pycache-clean.bash",
        id="bash-completion",
        marks=pytest.mark.skipif(not BASH_COMPLETION.exists(),
                                 reason="the bash-completion package is not installed"))
    yield pytest.param(
        "zsh", ["zsh", "-f"],
        f"PS1='$ '; fpath=({COMPLETIONS} $fpath); autoload -Uz compinit; compinit -u -D",
        id="zsh")
    yield pytest.param(
        "fish", ["fish", "--no-config"],
        "function fish_prompt; echo -n '$ '; end; set -g fish_autosuggestion_enabled 0; "
        f"source {COMPLETIONS}/pycache-clean.fish", id="fish")


@pytest.mark.parametrize("shell,argv,setup", list(shells()))
def test_completion_in_a_real_shell(tmp_path, shell, argv, setup):
    if not shutil.which(shell):
        pytest.skip(f"{shell} is not installed (scripts/install-deps.sh installs it)")
    work = tmp_path / "work"
    (work / "my dir").mkdir(parents=True)
    (work / "other").mkdir()
    (work / "file.txt").write_text("")
    pane = Pane(tmp_path, argv, setup)
    try:
        # A directory whose name has a space: one word, quoted, ending in `/`
        # with no space after it (the user may go deeper).
        assert pane.complete("pycache-clean my") == r"pycache-clean my\ dir/"
        assert pane.complete("pycache-clean clean ot") == "pycache-clean clean other/"
        assert pane.complete("pycache-clean check -x ot") == "pycache-clean check -x other/"
        # Subcommands and their options.
        assert pane.complete("pycache-clean pytest-r") == "pycache-clean pytest-running "
        assert pane.complete("pycache-clean pytest-running --sc") == \
            "pycache-clean pytest-running --scope "
        assert pane.complete("pycache-clean unless-pytest --skip") == \
            "pycache-clean unless-pytest --skip-exit-code "
        assert pane.complete("pycache-clean check --verify a").startswith(
            "pycache-clean check --verify a")  # auto, all: ambiguous, nothing wrong inserted
        assert pane.complete("pycache-clean check --verify n") == \
            "pycache-clean check --verify none "
        # After `--` a command of its own: its name, then its arguments (files).
        shown = pane.complete("pycache-clean lock -- ech")
        assert shown.rstrip() == "pycache-clean lock -- echo", shown
        assert pane.complete("pycache-clean lock -q -- cat fil") == \
            "pycache-clean lock -q -- cat file.txt "
        shown = pane.complete("pycache-clean unless-pytest -- ech")
        assert shown.rstrip() == "pycache-clean unless-pytest -- echo", shown
    except AssertionError:
        print(pane.screen())
        raise
    finally:
        pane.close()
