#!/usr/bin/env bash
# Every figure of docs/speed.md from one run on one machine:
#
#   bench/speed.sh [BIN] 2>&1 | tee speed.txt      (BIN: build/src/pycache-clean)
#
# 1. local disk (tmpfs): sweep, no-op walk and check against find, fd and the
#    one-thread C floors: ../shared/bench/compare.sh where it is, else
#    bench/compare.sh (no floors);
# 2. peak memory (/usr/bin/time) of clean and check on that tree;
# 3. one __pycache__ of 1,000,000 entries: clean's time (3 runs) and memory;
# 4. latency-bound file systems: bench/fuse/latency.sh at 0, 200 and 1000 µs
#    per operation (root and /dev/fuse), and sshfs over loopback when
#    `ssh localhost` works without a password;
# 5. the pytest plugin's cost: bench/plugin_cost.py;
# 6. unguarded writers racing guarded test runs: bench/race/race.py.
# Takes about 20 minutes; needs hyperfine, fd-find, libfuse3-dev, fuse3 (and
# sshfs for the loopback run). Quote ratios, with the date and load it prints.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(readlink -f "${1:-$here/../build/src/pycache-clean}")
[ -x "$bin" ] || { echo "speed.sh: $bin: not an executable (build it first)" >&2; exit 2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# bench/speed.sh $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(uname -sr);" \
  "load average $(load); $("$bin" --version)"

echo; echo "## 1. Local disk (tmpfs)"
shared=$here/../../shared/bench/compare.sh
if [ -x "$shared" ]; then
  BENCH_DIR=${BENCH_DIR:-/dev/shm/pycache-bench} "$shared" "$bin" 9
  tree=${BENCH_DIR:-/dev/shm/pycache-bench}
else
  BENCH_DIR=${BENCH_DIR:-/dev/shm/pycache-clean-bench} "$here/compare.sh" "$bin" 9
  tree=${BENCH_DIR:-/dev/shm/pycache-clean-bench}
fi

echo; echo "## 2. Peak memory (maximum resident set size)"
rm -rf "$tree/rss"
cp -a "$tree/full" "$tree/rss"
/usr/bin/time -f "clean of the tree: %M KiB" "$bin" clean -q "$tree/rss"
rm -rf "$tree/rss"
/usr/bin/time -f "check of the tree: %M KiB" "$bin" check -q "$tree/full" || true
/usr/bin/time -f "check --verify none of the tree: %M KiB" \
  "$bin" check -q --verify none "$tree/full" || true

echo; echo "## 3. One __pycache__ of 1,000,000 entries (tmpfs)"
big=/dev/shm/pycache-clean-1m
for run in 1 2 3; do
  rm -rf "$big"
  /usr/bin/python3 - "$big/__pycache__" <<'PY'
import os, sys
os.makedirs(sys.argv[1])
for i in range(1_000_000):
    os.close(os.open(os.path.join(sys.argv[1], f"module_{i:07d}.cpython-311.pyc"),
                     os.O_CREAT | os.O_WRONLY, 0o644))
PY
  /usr/bin/time -f "run $run: %e s wall, %U s user, %S s system, %M KiB peak" \
    "$bin" clean -q "$big"
done
rm -rf "$big"

echo; echo "## 4. Latency-bound file systems"
if [ "$(id -u)" = 0 ] && [ -e /dev/fuse ] && pkg-config --exists fuse3; then
  sshfs=0
  command -v sshfs >/dev/null && ssh -o BatchMode=yes -o StrictHostKeyChecking=no localhost true \
    2>/dev/null && sshfs=1
  SSHFS=$sshfs RUNS=3 "$here/fuse/latency.sh" "$bin" 0 200 1000
else
  echo "skipped: needs root, /dev/fuse and libfuse3-dev"
fi

echo; echo "## 5. The pytest plugin"
/usr/bin/python3 "$here/plugin_cost.py" --runs 21 "$bin"
echo; echo "## 6. Unguarded writers against guarded test runs"
if command -v black >/dev/null; then
  /usr/bin/python3 "$here/race/race.py" --seconds 60 --writers unguarded "$bin"
else
  echo "skipped: needs black (apt-get install black)"
fi
echo; echo "load average at the end: $(load)"
