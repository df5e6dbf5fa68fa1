# bash completion for pycache-clean
_pycache_clean() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
  }
  local subcommands="clean check lock pytest-running unless-pytest test"
  local sub="" i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --) return 0 ;;  # a command follows: let the default completion work
      clean|check|lock|pytest-running|unless-pytest|test) sub=${words[i]}; break ;;
    esac
  done
  case $prev in
    --scope) COMPREPLY=($(compgen -W "repo user all" -- "$cur")); return ;;
    --verify) COMPREPLY=($(compgen -W "auto all none" -- "$cur")); return ;;
    --file|--pycache-prefix) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --exclude|--wait|-j|--jobs|--conflict-exit-code) return ;;
  esac
  local opts
  case $sub in
    ""|clean) opts="-n --dry-run -v --verbose -q --quiet --json --strict --stray --stale-only --verify --exclude --no-default-excludes -x --one-file-system --pycache-prefix -j --jobs -h --help"
       [ -z "$sub" ] && opts="$opts --version" ;;
    check) opts="-v --verbose -q --quiet --json --verify --pycache-prefix --exclude --no-default-excludes -x --one-file-system -j --jobs -h --help" ;;
    lock) opts="--wait --file --conflict-exit-code -v -q --help --" ;;
    pytest-running) opts="--scope -v -q --json -h --help" ;;
    unless-pytest) opts="--scope --wait -v -q -h --help --" ;;
    test) opts="--no-clean -v -q -h --help --" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ -z "$sub" ]; then
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur") $(compgen -d -- "$cur"))
  elif [ "$sub" = clean ] || [ "$sub" = check ]; then
    COMPREPLY=($(compgen -d -- "$cur"))
  fi
}
complete -F _pycache_clean pycache-clean
