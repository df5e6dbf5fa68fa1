#!/usr/bin/env python3
"""Fixers against test runs in one checkout, for a fixed time: does any test
run see code that differs from the file on disk, and does any cache that
CPython would load lie about its source?

  race.py [--seconds 60] [--mode guard|control|both] [--writers guarded|unguarded]
          [--fixers 2] [--runs 2] BIN

Fixers, each on its own modules, in a loop:
  * black: the module is un-formatted (same value), then Debian's `black`
    rewrites it (black truncates and writes the file in place);
  * rollback: a real edit (the value changes), then a same-size wrong
    version written with the edit's mtime, kept for 0.8 s, and the edit put
    back with its mtime, as a fix, a checkout and its rollback do.
Test runs, in a loop: a pytest suite that imports every module and compares
its VALUE with the one the file on disk holds.

`guard`: fixers run through `pycache-clean unless-pytest --wait`; test runs
alternate between `pycache-clean test` and plain `python3 -m pytest -p
pycache_clean` (the plugin). With `--writers unguarded` the fixers run bare,
as an editor's save does, racing the guarded test runs; those then sweep
before they start (`test` without --no-clean, the plugin with
`pycache_clean = stale`) and drop, when they end, the caches they wrote that
a writer outdated. The writers stop first, then each test loop runs once
more, so that what counts is what is left once the sessions have ended. `control`: what people write by hand today --
fixers behind a `pgrep -f pytest` check, test runs with an environment
variable set in conftest.py, caches written as usual.

Prints, per mode: test runs done, runs that saw wrong code, fixes done, and
the caches `pycache-clean check --verify all` calls suspect afterwards.
Needs /usr/bin/python3 with pytest, and black (apt-get install black
python3-pytest).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "python"))
PY = "/usr/bin/python3"
MODULES_PER_FIXER = 3

TEST_FILE = '''import importlib, os, re, sys

def test_values():
    here = os.path.dirname(__file__)
    wrong = []
    for name in sorted(os.listdir(os.path.join(here, "pkg"))):
        if not re.fullmatch(r"m\\d+\\.py", name):
            continue
        module = importlib.import_module("pkg." + name[:-3])
        with open(os.path.join(here, "pkg", name)) as f:
            on_disk = re.search(r"VALUE\\s*=\\s*(\\d+)", f.read())
        got = getattr(module, "VALUE", None)
        if on_disk is None or got != int(on_disk.group(1)):
            wrong.append((name, got, on_disk and on_disk.group(1)))
    assert not wrong, wrong
'''

ROLLBACK = '''import os, re, sys, time
path = sys.argv[1]
with open(path) as f:
    old = f.read()
# A real edit first (VALUE 1xxx <-> 2xxx): the caches of the old text are void.
good = re.sub(r"VALUE = (\\d)", lambda m: "VALUE = " + ("2" if m.group(1) == "1" else "1"), old)
with open(path, "w") as f:
    f.write(good)
st = os.stat(path)
bad = re.sub(r"VALUE = \\d", "VALUE = 9", good)  # same size, other code
with open(path, "w") as f:
    f.write(bad)
os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # a checkout keeps the times
time.sleep(0.8)
with open(path, "w") as f:
    f.write(good)
os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
'''

UNFORMAT = '''import sys
path = sys.argv[1]
with open(path) as f:
    text = f.read()
with open(path, "w") as f:
    f.write(text.replace("VALUE = ", "VALUE=").replace("\\n", "  \\n"))
'''

# The control's hook: a script file (so that pgrep's own pattern is not on
# its command line), as users put in a Makefile or a git hook.
PGREP_GUARD = '#!/bin/sh\npgrep -f pytest >/dev/null && echo "[SKIP]" && exit 0\nexec "$@"\n'
CONTROL_CONFTEST = 'import os\nos.environ["PYTEST_RUNNING"] = "1"\n'


def make_repo(root, modules):
    subprocess.run(["git", "init", "-q", root], check=True)
    os.makedirs(os.path.join(root, "pkg"))
    open(os.path.join(root, "pkg", "__init__.py"), "w").close()
    for i in range(modules):
        with open(os.path.join(root, "pkg", f"m{i}.py"), "w") as f:
            f.write(f"VALUE = {1000 + i}\n")
    with open(os.path.join(root, "test_values.py"), "w") as f:
        f.write(TEST_FILE)
    tools = os.path.join(root, ".race")
    os.makedirs(tools)
    for name, text in [("rollback.py", ROLLBACK), ("unformat.py", UNFORMAT),
                       ("pgrep-guard.sh", PGREP_GUARD)]:
        with open(os.path.join(tools, name), "w") as f:
            f.write(text)
    os.chmod(os.path.join(tools, "pgrep-guard.sh"), 0o755)
    return tools


class Race:
    def __init__(self, binary, mode, root, fixers, runs, gap=0.3, writers="guarded"):
        self.binary, self.mode, self.root, self.gap = binary, mode, root, gap
        self.unguarded = writers == "unguarded"
        self.fixers, self.runs = fixers, runs
        self.tools = make_repo(root, fixers * MODULES_PER_FIXER)
        if mode == "control":
            with open(os.path.join(root, "conftest.py"), "w") as f:
                f.write(CONTROL_CONFTEST)
        self.lock = threading.Lock()
        self.counts = {"test runs": 0, "wrong imports": 0, "fixes": 0, "fixers skipped": 0}
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_RUNNING", "PYCACHE_CLEAN_LOCKS")}
        self.env["PATH"] = os.path.dirname(binary) + ":/usr/local/bin:/usr/bin:/bin"
        self.env["PYTHONPATH"] = PLUGIN_DIR
        self.env["PYCACHE_CLEAN_BINARY"] = binary

    def count(self, key, n=1):
        with self.lock:
            self.counts[key] += n

    def fixer_command(self, kind, path):
        if kind == "rollback":
            fix = [PY, os.path.join(self.tools, "rollback.py"), path]
        else:
            fix = ["sh", "-c", f'"{PY}" "{self.tools}/unformat.py" "$1" && black -q "$1"', "fix",
                   path]
        if self.mode == "guard" and not self.unguarded:
            return [self.binary, "unless-pytest", "--wait", "120", "--", *fix]
        if self.unguarded:
            return fix
        return [os.path.join(self.tools, "pgrep-guard.sh"), *fix]

    def fixer(self, index, deadline):
        kind = "rollback" if index % 2 == 0 else "black"
        modules = [os.path.join(self.root, "pkg", f"m{index * MODULES_PER_FIXER + k}.py")
                   for k in range(MODULES_PER_FIXER)]
        n = 0
        while time.monotonic() < deadline:
            path = modules[n % len(modules)]
            n += 1
            before = open(path).read()
            r = subprocess.run(self.fixer_command(kind, path), cwd=self.root, env=self.env,
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"fixer failed: {r.stdout}{r.stderr}")
            ran = "[SKIP]" not in r.stdout and (kind == "rollback" or open(path).read() == before)
            self.count("fixes" if ran else "fixers skipped")
            time.sleep(0.05)

    def test_command(self, n):
        pytest = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_values.py"]
        if self.mode == "control":
            return pytest
        if n % 2 == 0:
            sweep = [] if self.unguarded else ["--no-clean"]
            return [self.binary, "test", *sweep, "--wait", "120", "--", *pytest]
        plugin = ["-p", "pycache_clean"] + (["-o", "pycache_clean=stale"] if self.unguarded else [])
        return pytest[:3] + plugin + pytest[3:]

    def tester(self, index, deadline, writers_done):
        n = index
        last = False
        while not last:
            # Once the writers have stopped, one last run: its end is the end.
            last = time.monotonic() >= deadline and writers_done.is_set()
            r = subprocess.run(self.test_command(n), cwd=self.root, env=self.env,
                               capture_output=True, text=True)
            n += 1
            self.count("test runs")
            if r.returncode != 0:
                self.count("wrong imports")
            time.sleep(self.gap)  # someone starts the next run a moment later

    def run(self, seconds):
        deadline = time.monotonic() + seconds
        writers_done = threading.Event()
        fixers = [threading.Thread(target=self.fixer, args=(i, deadline))
                  for i in range(self.fixers)]
        testers = [threading.Thread(target=self.tester, args=(i, deadline, writers_done))
                   for i in range(self.runs)]
        for t in fixers + testers:
            t.start()
        for t in fixers:
            t.join()
        writers_done.set()
        for t in testers:
            t.join()
        r = subprocess.run([self.binary, "check", "--verify", "all", "--json", self.root],
                           env=self.env, capture_output=True, text=True)
        report = json.loads(r.stdout)
        self.counts["suspect caches"] = report["counts"]["suspect"]
        self.counts["caches checked"] = report["checked"]
        return self.counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--mode", choices=["guard", "control", "both"], default="both")
    ap.add_argument("--writers", choices=["guarded", "unguarded"], default="guarded",
                    help="guard mode: fixers through unless-pytest, or bare (an editor's save)")
    ap.add_argument("--fixers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="one JSON object per mode")
    ap.add_argument("--keep", action="store_true", help="keep the checkouts (printed)")
    args = ap.parse_args()
    if not shutil.which("black"):
        raise SystemExit("race.py: needs black (apt-get install black)")
    binary = os.path.abspath(args.binary)
    modes = ["guard", "control"] if args.mode == "both" else [args.mode]
    for mode in modes:
        root = tempfile.mkdtemp(prefix=f"race-{mode}-")
        try:
            counts = Race(binary, mode, root, args.fixers, args.runs,
                          writers=args.writers).run(args.seconds)
        finally:
            if args.keep:
                print(f"kept {root}", file=sys.stderr)
            else:
                shutil.rmtree(root, ignore_errors=True)
        if args.json:
            print(json.dumps({"mode": mode, "writers": args.writers, "seconds": args.seconds,
                              **counts}))
        else:
            print(f"{mode:8} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
