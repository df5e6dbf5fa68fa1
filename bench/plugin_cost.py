#!/usr/bin/env python3
"""What the pytest plugin costs a test run.

  plugin_cost.py [--modules 400] [--lines 121000] [--tests 20] [--runs 21] [BIN]

Builds a project of MODULES modules (LINES lines in all: functions, classes,
constants) and TESTS test files that import all of them, warms its caches
with one run of each kind, then runs, interleaved, RUNS times each:

  none          python3 -m pytest -q -p no:cacheprovider
  plugin        ... -p pycache_clean              (caches written as usual)
  no-bytecode   ... -p pycache_clean -o pycache_clean_no_bytecode=true
                (in a copy of the project: no kind's caches help it)

and prints the median user+sys CPU and wall time of each (the interpreter
and every child it waited for: the plugin's helper and its end-of-session
`clean --stale-only`), and each one's CPU against `none`: the median of
the ratios of the runs of one round (each round runs every kind once), so
that the machine's drift does not move it. Where valgrind is installed, each
kind also runs once under callgrind, which counts the instructions of the
run and its children: a figure that a busy machine does not move.

BIN is the pycache-clean binary the plugin runs (default: build/src/pycache-clean).
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(HERE)
PLUGIN_DIR = os.path.join(SOURCE_ROOT, "python")
PY = "/usr/bin/python3"  # Debian's, with its pytest

FUNCTION = '''

def {name}(items, factor={n}):
    """Scale the items that pass the filter, {n}."""
    total = 0
    for index, item in enumerate(items):
        if item % {m} == 0:
            total += item * factor
        elif index > {n}:
            total -= index
        else:
            total += len(str(item))
    return total
'''
CLASS = '''

class {name}:
    LIMIT = {n}

    def __init__(self, value):
        self.value = value

    def grow(self, by=1):
        self.value += by
        return self.value if self.value < self.LIMIT else self.LIMIT
'''


def module_text(i, lines):
    parts = [f'"""Module {i}."""\nimport os\nimport re\n\nNAME = "mod{i}"\n']
    n = 0
    while sum(p.count("\n") for p in parts) < lines:
        n += 1
        if n % 4 == 0:
            parts.append(CLASS.format(name=f"Thing{n}", n=n))
        else:
            parts.append(FUNCTION.format(name=f"f{n}", n=n, m=n % 7 + 2))
    return "".join(parts)


def make_project(root, modules, lines, tests):
    pkg = os.path.join(root, "proj")
    os.makedirs(pkg)
    open(os.path.join(pkg, "__init__.py"), "w").close()
    per = lines // modules
    for i in range(modules):
        with open(os.path.join(pkg, f"mod{i}.py"), "w") as f:
            f.write(module_text(i, per))
    names = [f"mod{i}" for i in range(modules)]
    for t in range(tests):
        mine = names[t::tests]
        with open(os.path.join(root, f"test_part{t}.py"), "w") as f:
            f.write("".join(f"from proj import {m}\n" for m in mine))
            f.write("\n\ndef test_names():\n")
            f.write("".join(f"    assert {m}.NAME == {m!r}\n" for m in mine))
            f.write("\n\ndef test_calls():\n")
            f.write("".join(f"    assert {m}.f1([1, 2, 3]) >= 0\n" for m in mine))
    with open(os.path.join(root, "pytest.ini"), "w") as f:
        f.write("[pytest]\n")
    total = sum(open(os.path.join(pkg, f"mod{i}.py")).read().count("\n") for i in range(modules))
    return total


def run_once(argv, cwd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    r = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"plugin_cost.py: {' '.join(argv)} failed:\n{r.stdout}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def instructions(argv, cwd, env, scratch):
    """Instructions a run executes, its children included, by callgrind."""
    out = os.path.join(scratch + "-callgrind")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    env = dict(env, PYTHONHASHSEED="0")
    subprocess.run(["valgrind", "--tool=callgrind", "--trace-children=yes",
                    f"--callgrind-out-file={out}/cg.%p"] + argv, cwd=cwd, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    total = 0
    for name in os.listdir(out):
        with open(os.path.join(out, name)) as f:
            total += sum(int(line.split()[1]) for line in f if line.startswith("summary:"))
    shutil.rmtree(out)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default=os.path.join(SOURCE_ROOT, "build", "src",
                                                             "pycache-clean"))
    ap.add_argument("--modules", type=int, default=400)
    ap.add_argument("--lines", type=int, default=121000)
    ap.add_argument("--tests", type=int, default=20)
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    if args.runs < 5:
        ap.error("--runs: at least 5 (the figure is a median)")
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"plugin_cost.py: {binary}: not an executable (build it first)")
    root = tempfile.mkdtemp(prefix="plugin-cost-")
    try:
        lines = make_project(root, args.modules, args.lines, args.tests)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_RUNNING", "PYCACHE_CLEAN_LOCKS",
                            "PYTEST_ADDOPTS", "PYTHONPYCACHEPREFIX")}
        env["PYTHONPATH"] = PLUGIN_DIR
        env["PYCACHE_CLEAN_BINARY"] = binary
        base = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        kinds = {
            "none": base,
            "plugin": base + ["-p", "pycache_clean"],
            "no-bytecode": base + ["-p", "pycache_clean", "-o", "pycache_clean_no_bytecode=true"],
        }
        # Caches written by the other kinds would be read by no-bytecode
        # runs: those run in a copy of the project that never gets any.
        cwd = {"none": root, "plugin": root, "no-bytecode": root + "-no-bytecode"}
        shutil.copytree(root, cwd["no-bytecode"])
        for k, argv in kinds.items():  # warm: caches written, files in the page cache
            run_once(argv, cwd[k], env)
        cpu = {k: [] for k in kinds}
        wall = {k: [] for k in kinds}
        for _ in range(args.runs):
            for k, argv in kinds.items():
                c, w = run_once(argv, cwd[k], env)
                cpu[k].append(c)
                wall[k].append(w)
        print(f"project: {args.modules} modules, {lines} lines, {args.tests} test files; "
              f"{args.runs} warm runs each, interleaved; medians")
        for k in kinds:
            c, w = statistics.median(cpu[k]), statistics.median(wall[k])
            # Each round runs every kind once: the ratio is taken round by
            # round, so a drift of the machine's speed does not move it.
            ratio = statistics.median(a / b for a, b in zip(cpu[k], cpu["none"]))
            print(f"{k:12} cpu {c:6.3f} s  wall {w:6.3f} s  cpu vs none {100 * (ratio - 1):+6.1f}%"
                  f"  (median of {args.runs} paired ratios)")
        if shutil.which("valgrind"):
            print("instructions (callgrind, every process of the run, PYTHONHASHSEED=0; "
                  "the same on a busy machine):")
            counts = {k: instructions(argv, cwd[k], env, root) for k, argv in kinds.items()}
            for k, n in counts.items():
                print(f"{k:12} {n / 1e9:7.3f} G instructions  vs none "
                      f"{100 * (n / counts['none'] - 1):+6.1f}%")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(root + "-no-bytecode", ignore_errors=True)


if __name__ == "__main__":
    main()
