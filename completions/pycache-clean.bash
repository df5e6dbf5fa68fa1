# bash completion for pycache-clean
# Works with and without the bash-completion package. Names are read from
# compgen one per line (a directory named "my dir" stays one word), and
# `compopt -o filenames` lets bash quote them and end a directory with `/`.

# Appends compgen's answers (one per line) to COMPREPLY.
_pycache_clean_add() {
  local line
  while IFS= read -r line; do
    COMPREPLY+=("$line")
  done < <(compgen "$@")
}

# The word being completed as the shell will pass it: quotes and backslashes
# removed ("my\ d" -> "my d", "'my d" -> "my d").
_pycache_clean_dequote() {
  local word=$1
  case $word in
    \'*) word=${word#\'} ;;
    \"*) word=${word#\"} ;;
    *) word=$(printf '%s' "$word" | sed 's/\\\(.\)/\1/g') ;;
  esac
  printf '%s' "$word"
}

_pycache_clean() {
  COMPREPLY=()
  local cword=$COMP_CWORD
  local cur prev=${COMP_WORDS[cword - 1]}
  cur=$(_pycache_clean_dequote "${COMP_WORDS[cword]}")
  local sub="" i
  for ((i = 1; i < cword; i++)); do
    case ${COMP_WORDS[i]} in
      --)
        # A command follows: complete it as bash would on its own.
        if declare -F _command_offset >/dev/null; then
          _command_offset $((i + 1))
        elif ((cword == i + 1)); then
          _pycache_clean_add -c -- "$cur"
        else
          compopt -o filenames 2>/dev/null
          _pycache_clean_add -f -- "$cur"
        fi
        return 0
        ;;
      clean | check | lock | pytest-running | unless-pytest | test | pytest-session | config | completions | help)
        [[ -z $sub ]] && sub=${COMP_WORDS[i]}
        ;;
    esac
  done
  case $prev in
    --scope) _pycache_clean_add -W "repo user all" -- "$cur"; return 0 ;;
    --verify) _pycache_clean_add -W "auto all none" -- "$cur"; return 0 ;;
    --output-format) _pycache_clean_add -W "concise json json-lines github gitlab sarif" -- "$cur"; return 0 ;;
    --color) _pycache_clean_add -W "auto always never" -- "$cur"; return 0 ;;
    --get) _pycache_clean_add -W "exclude extend-exclude fixer-wait jobs output-format pycache-prefix pytest-clean stray tagged verify verify-timeout wait" -- "$cur"; return 0 ;;
    --file | --config)
      compopt -o filenames 2>/dev/null
      _pycache_clean_add -f -- "$cur"
      return 0
      ;;
    --pycache-prefix)
      compopt -o filenames 2>/dev/null
      _pycache_clean_add -d -- "$cur"
      return 0
      ;;
    --exclude | --wait | -j | --jobs | --conflict-exit-code | --skip-exit-code | --fixer-wait | --verify-timeout | --written-since) return 0 ;;
  esac
  local common="-v --verbose -q --quiet --color --config --isolated -h --help"
  local walk="--exclude --no-default-excludes -x --one-file-system -j --jobs"
  local opts
  case $sub in
    "" | clean)
      opts="$common $walk --json -n --dry-run --strict --stray --tagged --stale-only --verify --verify-timeout --written-since --pycache-prefix"
      [[ -z $sub ]] && opts="$opts -V --version"
      ;;
    check) opts="$common $walk --json --strict --output-format --exit-zero --verify --verify-timeout --written-since --pycache-prefix" ;;
    lock) opts="$common --wait --file --conflict-exit-code --" ;;
    pytest-running) opts="$common --scope --json" ;;
    unless-pytest) opts="$common --scope --wait --fixer-wait --skip-exit-code --" ;;
    test) opts="$common --no-clean --no-bytecode --wait --" ;;
    pytest-session) opts="$common --wait" ;;
    config) opts="$common --get --json" ;;
    completions) opts="-h --help" ;;
    help) opts="" ;;
  esac
  if [[ $cur == -* ]]; then
    _pycache_clean_add -W "$opts" -- "$cur"
  elif [[ $sub == help ]]; then
    _pycache_clean_add -W "clean check lock pytest-running unless-pytest test config completions exit-status" -- "$cur"
  elif [[ $sub == completions ]]; then
    _pycache_clean_add -W "bash zsh fish" -- "$cur"
  elif [[ -z $sub ]]; then
    compopt -o filenames 2>/dev/null
    _pycache_clean_add -W "clean check lock pytest-running unless-pytest test config completions help" -- "$cur"
    _pycache_clean_add -d -- "$cur"
  elif [[ $sub == clean || $sub == check ]]; then
    compopt -o filenames 2>/dev/null
    _pycache_clean_add -d -- "$cur"
  fi
  return 0
}
complete -F _pycache_clean pycache-clean
