# fish completion for pycache-clean

set -l subs clean check lock pytest-running unless-pytest test pytest-session config completions help
set -l runners lock unless-pytest test

# True once `--` was typed: a command of its own follows.
function __pycache_clean_after_dashdash
    contains -- -- (commandline -opc)
end

# Completes the command after `--` as fish would on its own.
function __pycache_clean_command
    set -l tokens (commandline -opc) (commandline -ct)
    set -l at (contains -i -- -- $tokens)
    and __fish_complete_subcommand --commandline $tokens[(math $at + 1)..-1]
end

# The options and arguments of the subcommands; none of them after `--`.
function __pycache_clean_in
    not __pycache_clean_after_dashdash
    and __fish_seen_subcommand_from $argv
end
function __pycache_clean_default
    not __pycache_clean_after_dashdash
    and not __fish_seen_subcommand_from lock pytest-running unless-pytest test pytest-session config completions help check
end
function __pycache_clean_walks
    not __pycache_clean_after_dashdash
    and not __fish_seen_subcommand_from lock pytest-running unless-pytest test pytest-session config completions help
end

complete -c pycache-clean -f
complete -c pycache-clean -n __pycache_clean_after_dashdash -x -a '(__pycache_clean_command)'

complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -a clean -d 'Remove every __pycache__ below PATHs'
complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -a check -d 'Find stale caches CPython would still load'
complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -a lock -d 'Run a command under an exclusive lock'
complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -a pytest-running -d 'Exit 0 when pytest runs'
complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -a unless-pytest -d 'Run a command unless pytest runs'
complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -a test -d 'Clear caches, run the tests'
complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -a config -d 'Show the settings file and its values'
complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -a completions -d 'Print a completion script'
complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -a help -d 'Print the help of a subcommand'
complete -c pycache-clean -n "not __fish_seen_subcommand_from $subs" -s V -l version -d 'Print the version'
complete -c pycache-clean -n "__pycache_clean_in help" -a "clean check lock pytest-running unless-pytest test config completions exit-status"
complete -c pycache-clean -n "__pycache_clean_in completions" -a "bash zsh fish"
complete -c pycache-clean -n "__pycache_clean_in config" -l get -x -a "exclude extend-exclude fixer-wait jobs output-format pycache-prefix pytest-clean stray tagged verify verify-timeout wait" -d 'Print one setting'
complete -c pycache-clean -n "__pycache_clean_in config" -l json -d 'One JSON object'

complete -c pycache-clean -n "not __pycache_clean_after_dashdash" -s v -l verbose -d 'Explain each decision (-vv: each step)'
complete -c pycache-clean -n "not __pycache_clean_after_dashdash" -s q -l quiet -d 'Warnings and errors only'
complete -c pycache-clean -n "not __pycache_clean_after_dashdash" -s h -l help -d 'Print the help'
complete -c pycache-clean -n "not __pycache_clean_after_dashdash" -l color -x -a 'auto always never' -d 'Colour: auto, always, never'
complete -c pycache-clean -n "not __pycache_clean_after_dashdash" -l config -r -F -d 'Read settings from this file only'
complete -c pycache-clean -n "not __pycache_clean_after_dashdash" -l isolated -d 'Read no settings file'

complete -c pycache-clean -n __pycache_clean_walks -a '(__fish_complete_directories)'
complete -c pycache-clean -n __pycache_clean_walks -l json -d 'One JSON object'
complete -c pycache-clean -n __pycache_clean_walks -l exclude -x -d 'Also skip this directory name'
complete -c pycache-clean -n __pycache_clean_walks -l no-default-excludes -d 'Walk .git, node_modules too'
complete -c pycache-clean -n __pycache_clean_walks -s x -l one-file-system -d 'Stay on the file system of each PATH'
complete -c pycache-clean -n __pycache_clean_walks -s j -l jobs -x -d 'Worker threads'
complete -c pycache-clean -n __pycache_clean_walks -l pycache-prefix -x -a '(__fish_complete_directories)' -d 'PYTHONPYCACHEPREFIX mirror'
complete -c pycache-clean -n __pycache_clean_walks -l verify -x -a 'auto all none' -d 'Prove trusted caches by compiling'
complete -c pycache-clean -n __pycache_clean_walks -l verify-timeout -x -d 'Seconds one compile may take'
complete -c pycache-clean -n __pycache_clean_walks -l written-since -x -d 'Only caches written since (epoch seconds)'
complete -c pycache-clean -n __pycache_clean_default -s n -l dry-run -d 'List, remove nothing'
complete -c pycache-clean -n __pycache_clean_default -l strict -d 'Exit 1 if anything was kept'
complete -c pycache-clean -n "__pycache_clean_in check" -l strict -d 'Exit 1 also for what was not read or followed'
complete -c pycache-clean -n "__pycache_clean_in check" -l output-format -x -a 'concise json json-lines github gitlab sarif' -d 'How findings are written'
complete -c pycache-clean -n "__pycache_clean_in check" -l exit-zero -d 'Exit 0 even when a cache fails the gate'
complete -c pycache-clean -n __pycache_clean_default -l stray -d 'Also legacy *.pyc'
complete -c pycache-clean -n __pycache_clean_default -l tagged -d 'Also directories with a CACHEDIR.TAG'
complete -c pycache-clean -n __pycache_clean_default -l stale-only -d 'Only caches check does not call ok'

complete -c pycache-clean -n "__pycache_clean_in lock" -l wait -x -d 'Seconds to wait'
complete -c pycache-clean -n "__pycache_clean_in lock" -l file -r -F -d 'Lock file'
complete -c pycache-clean -n "__pycache_clean_in lock" -l conflict-exit-code -x -d 'Status on time-out'
complete -c pycache-clean -n "__pycache_clean_in pytest-running" -l json -d 'One JSON object'
complete -c pycache-clean -n "__pycache_clean_in pytest-running unless-pytest" -l scope -x -a 'repo user all' -d 'Which processes count'
complete -c pycache-clean -n "__pycache_clean_in unless-pytest" -l wait -x -d 'Wait for the run to end'
complete -c pycache-clean -n "__pycache_clean_in unless-pytest" -l skip-exit-code -x -d 'Status when skipping'
complete -c pycache-clean -n "__pycache_clean_in unless-pytest" -l fixer-wait -x -d 'Wait for another fixer'
complete -c pycache-clean -n "__pycache_clean_in test pytest-session" -l wait -x -d 'Wait for a fixer'
complete -c pycache-clean -n "__pycache_clean_in test" -l no-clean -d 'Do not sweep first'
complete -c pycache-clean -n "__pycache_clean_in test" -l no-bytecode -d 'Write no caches'
