#!/bin/sh
# Generates the man page from the binary's own --help texts with help2man, so
# the page and --help cannot disagree.   make-man.sh BINARY OUTPUT
set -eu
bin=$1
out=$2
include=$(mktemp)
trap 'rm -f "$include"' EXIT
{
  echo "[SUBCOMMANDS]"
  for sub in clean check lock pytest-running unless-pytest test; do
    echo ".SS $sub"
    echo ".nf"
    "$bin" "$sub" --help | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"
    echo ".fi"
  done
} > "$include"
help2man --no-info --no-discard-stderr --name "clear Python bytecode caches safely and fast" \
  --include "$include" --output "$out" "$bin"
