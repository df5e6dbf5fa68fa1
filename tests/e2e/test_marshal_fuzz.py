"""The marshal walker against the truth: each CPython on the machine (3.6 to
3.13 where installed) compiles real modules of its own standard library, the
caches are mutated (bytes flipped, type codes swapped in, cut short), and for
every mutant the walker's verdict must be what the interpreter's own
`marshal.loads` does with it, a code object or not (importlib's
_compile_bytecode). An interpreter that dies on a mutant (3.6 and 3.7 abort
on a name that is no string) counts as a failed import.

PYCACHE_CLEAN_FUZZ_MUTANTS sets the mutants per interpreter (default 400);
`python3 -m pytest test_marshal_fuzz.py` with a large value is the long
fuzz run."""
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HELPERS
from test_check import INTERPRETERS

WALK = HELPERS / "marshal_walk"
MUTANTS = int(os.environ.get("PYCACHE_CLEAN_FUZZ_MUTANTS", "400"))
SEED = int(os.environ.get("PYCACHE_CLEAN_FUZZ_SEED", "20261205"))

# Compiles the given sources (one per line: SOURCE CACHE) with py_compile.
COMPILE = """
import py_compile, sys
for line in sys.stdin:
    src, dst = line.rstrip("\\n").split("\\t")
    try:
        py_compile.compile(src, cfile=dst, doraise=True)
    except Exception:
        pass
"""

# For each pyc named on stdin: does marshal.loads give a code object?
LOADS = """
import marshal, sys, types
header = 16 if sys.version_info >= (3, 7) else 12
out = sys.stdout
for line in sys.stdin:
    path = line.rstrip("\\n")
    with open(path, "rb") as f:
        data = f.read()
    try:
        ok = isinstance(marshal.loads(data[header:]), types.CodeType)
        out.write("ok\\n" if ok else "fail\\tnot a code object\\n")
    except BaseException as e:
        out.write("fail\\t%s: %s\\n" % (type(e).__name__, ascii(str(e)[:200])))
    out.flush()
"""


def _limit_memory():
    # A flipped size can ask marshal for a tuple of 2**31 items.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _ask(exe, paths):
    p = subprocess.run([exe, "-I", "-S", "-c", LOADS], input="".join(f"{x}\n" for x in paths),
                       capture_output=True, text=True, preexec_fn=_limit_memory, timeout=600)
    return p.returncode, p.stdout.split("\n")[:-1]  # ascii(): no line break but "\n"


def interpreter_verdicts(exe, paths):
    """What `exe`'s marshal.loads says of each pyc. When the interpreter
    dies, the file it was reading is asked again alone, in a fresh one (an
    earlier mutant's leftovers may have been what crashed), and the rest
    after it."""
    verdicts = []
    while len(verdicts) < len(paths):
        rest = paths[len(verdicts):]
        status, lines = _ask(exe, rest)
        verdicts += lines
        if status != 0 and len(lines) < len(rest):
            status, alone = _ask(exe, rest[len(lines):len(lines) + 1])
            verdicts += alone or [f"fail\tthe interpreter died (status {status})"]
    return verdicts


def mutate(data, header, rng):
    body = bytearray(data[header:])
    kind = rng.randrange(4)
    if kind == 0:  # flip one to three bytes
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(body))
            body[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # a random type code (flagged or not) in place of a byte
        body[rng.randrange(len(body))] = rng.choice(b"NFTS.iglsuatzZAr()[]{}<>c0x y") | \
            rng.choice((0, 0x80))
    elif kind == 2:  # a random byte
        body[rng.randrange(len(body))] = rng.randrange(256)
    else:  # cut short
        del body[rng.randrange(len(body)):]
    return bytes(data[:header]) + bytes(body)


@pytest.mark.parametrize("exe", INTERPRETERS)
def test_walker_agrees_with_marshal_loads_on_mutated_stdlib_caches(tmp_path, exe):
    if not os.access(WALK, os.X_OK):
        pytest.skip("marshal_walk helper not built")
    info = subprocess.run([exe, "-I", "-c", "import sys, sysconfig; print(sys.version_info[1]); "
                                            "print(sysconfig.get_paths()['stdlib'])"],
                          capture_output=True, text=True, check=True).stdout.split("\n")
    minor, stdlib = int(info[0]), Path(info[1])
    header = 16 if minor >= 7 else 12
    rng = random.Random(SEED + minor)
    sources = sorted(p for p in stdlib.glob("*.py"))
    sources += sorted(stdlib.glob("*/[a-z]*.py"))[:400]
    rng.shuffle(sources)
    sources = sources[:min(len(sources), max(40, MUTANTS // 2))]
    caches = tmp_path / "caches"
    caches.mkdir()
    pairs = [(s, caches / f"{i}.pyc") for i, s in enumerate(sources)]
    subprocess.run([exe, "-I", "-S", "-c", COMPILE], check=True, timeout=600,
                   input="".join(f"{s}\t{d}\n" for s, d in pairs), text=True)
    compiled = [d for _, d in pairs if d.exists()]
    assert len(compiled) > len(pairs) // 2, "the interpreter compiled too few of its modules"
    mutants = tmp_path / "mutants"
    mutants.mkdir()
    paths = list(compiled)  # the unmutated caches first: every one must load
    for n in range(MUTANTS):
        source = rng.choice(compiled)
        target = mutants / f"{n}.pyc"
        target.write_bytes(mutate(source.read_bytes(), header, rng))
        paths.append(target)
    truth = interpreter_verdicts(exe, [str(p) for p in paths])
    walked = subprocess.run([str(WALK)], input="".join(f"{minor} {p}\n" for p in paths),
                            capture_output=True, text=True, check=True, timeout=600).stdout
    walked = walked.split("\n")[:-1]
    assert len(truth) == len(walked) == len(paths)
    missed, false_alarms, failed = [], [], 0
    for path, t, w in zip(paths, truth, walked):
        loads = t == "ok"
        failed += not loads
        if loads and w != "ok":
            false_alarms.append(f"{path}: loads, walker says {w}")
        elif not loads and w == "ok":
            missed.append(f"{path}: {t.split(chr(9))[-1]}, walker says ok")
    assert not missed and not false_alarms, (
        f"py3.{minor}: {len(missed)} missed, {len(false_alarms)} false alarms of {len(paths)} "
        f"({failed} fail to load)\n" + "\n".join((missed + false_alarms)[:30]))
    assert failed >= MUTANTS // 10, "too few mutants fail to load: the mutation is too weak"
