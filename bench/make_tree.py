#!/usr/bin/env python3
"""Builds a realistic checkout for timing a __pycache__ sweep.

The Python sources are the running interpreter's standard library, copied
COPIES times and byte-compiled at optimisation levels 0-2, so every
__pycache__ holds what CPython writes. Around them: a .git object store, a
node_modules tree and a virtualenv, which a sweeper should skip.

    make_tree.py DEST [--copies N]
"""
import argparse
import compileall
import os
import shutil
import sysconfig
import warnings


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest")
    ap.add_argument("--copies", type=int, default=2)
    args = ap.parse_args()
    stdlib = sysconfig.get_paths()["stdlib"]
    os.makedirs(args.dest)
    for n in range(args.copies):
        out = os.path.join(args.dest, f"src{n}")
        shutil.copytree(stdlib, out, ignore=lambda d, names: [
            x for x in names if x == "__pycache__"
            or (os.path.isfile(os.path.join(d, x)) and not x.endswith(".py"))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compileall.compile_dir(args.dest, quiet=2, optimize=[0, 1, 2], workers=0)
    for i in range(200):
        d = os.path.join(args.dest, ".git", "objects", f"{i:02x}")
        os.makedirs(d)
        for j in range(30):
            with open(os.path.join(d, f"{j:038x}"), "wb") as fh:
                fh.write(b"blob")
    for i in range(200):
        d = os.path.join(args.dest, "node_modules", f"pkg{i}", "lib")
        os.makedirs(d)
        for j in range(15):
            open(os.path.join(d, f"m{j}.js"), "w").close()
    venv = os.path.join(args.dest, ".venv")
    os.makedirs(os.path.join(venv, "lib", "__pycache__"))
    open(os.path.join(venv, "pyvenv.cfg"), "w").close()
    files = dirs = caches = 0
    for _, ds, fs in os.walk(args.dest):
        files += len(fs)
        dirs += len(ds)
        caches += ds.count("__pycache__")
    print(f"{files} files, {dirs} directories, {caches} __pycache__")


if __name__ == "__main__":
    main()
