"""`python -m pycache_clean ARGS`: the executable with ARGS."""
import os
import subprocess
import sys

from ._binary import find_binary


def main():
    binary = find_binary()
    argv = [binary, *sys.argv[1:]]
    if sys.platform == "win32":
        # No exec on Windows: run it and pass its status on.
        sys.exit(subprocess.call(argv))
    os.execv(binary, argv)


if __name__ == "__main__":
    main()
