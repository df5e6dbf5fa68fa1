#!/usr/bin/env bash
# The sweep, the no-op walk and check on a file system where every operation
# waits: latency_fs (a FUSE passthrough, latency_fs.c beside this script)
# mounted over a benchmark tree, once per delay, against find, fd and the
# one-thread C floors.
#
#   bench/fuse/latency.sh [BIN] [DELAY_US ...]     (default delays: 0 200 1000)
#
# BIN defaults to build/src/pycache-clean. Needs root or a usable
# /dev/fuse, libfuse3-dev, fuse3, hyperfine and fd-find (apt-get install -y
# libfuse3-dev fuse3 hyperfine fd-find). The floors come from
# ../shared/bench/floor when it is there ($FLOOR_DIR elsewhere), else are
# left out. The tree (Debian's standard library, /usr/lib/python3.*, copied
# $COPIES times, default 1, by bench/make_tree.py) lives in $BENCH_DIR (default /dev/shm/pycache-clean-latency);
# it is copied for each sweep beside the mount, not through it, so only the
# timed commands pay the delay. Runs: $RUNS (default 3). With sshd
# listening on localhost and a key for root, the same three run on sshfs
# over loopback too (SSHFS=1). pycache-clean skips .git and node_modules,
# which the others walk: "no excludes" walks them too, the like-for-like
# figure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(readlink -f "${1:-$here/../../build/src/pycache-clean}")
shift || true
delays=("$@")
[ ${#delays[@]} -gt 0 ] || delays=(0 200 1000)
runs=${RUNS:-3}
dir=${BENCH_DIR:-/dev/shm/pycache-clean-latency}
floor_src=${FLOOR_DIR:-$here/../../../shared/bench/floor}
for tool in hyperfine fdfind python3 cc pkg-config; do
  command -v $tool >/dev/null || { echo "latency.sh: needs $tool" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "latency.sh: $bin: not an executable (build it first)" >&2; exit 2; }
mkdir -p "$dir/lower" "$dir/mnt"
fs=$dir/latency_fs
[ "$fs" -nt "$here/latency_fs.c" ] ||
  cc -O2 -o "$fs" "$here/latency_fs.c" $(pkg-config --cflags --libs fuse3)
floors=()
for f in del walk check checkbody; do
  if [ -f "$floor_src/$f.c" ]; then
    [ "$dir/$f" -nt "$floor_src/$f.c" ] || cc -O2 -o "$dir/$f" "$floor_src/$f.c"
    floors+=("$f")
  fi
done
has_floor() { [[ " ${floors[*]} " == *" $1 "* ]]; }
low=$dir/lower
[ -d "$low/full" ] ||
  /usr/bin/python3 -W ignore "$here/../make_tree.py" "$low/full" --copies "${COPIES:-1}"
if [ ! -d "$low/bare" ]; then
  cp -a "$low/full" "$low/bare"
  find "$low/bare" -type d -name __pycache__ -prune -exec rm -rf {} +
fi
m=$dir/mnt
unmount() { mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || umount "$m"; }; true; }
trap unmount EXIT

report() {  # $1 = hyperfine json, $2 = title
  python3 - "$1" "$2" <<'PY'
import json, statistics, sys
res = json.load(open(sys.argv[1]))["results"]
med = {r["command"]: statistics.median(r["times"]) for r in res}
ours = med["pycache-clean"]
print(f"\n{sys.argv[2]}\n| contender | median s | ratio to pycache-clean |\n|---|---|---|")
for name, t in med.items():
    print(f"| {name} | {t:.3f} | {t / ours:.2f} |")
PY
}

# $1: a label; the file system is mounted at $m, the tree's copies below it.
run_all() {
  local label=$1 sweep=() noop=() check=()
  has_floor del && sweep+=(-n floor "$dir/del $m/work")
  has_floor walk && noop+=(-n floor "$dir/walk $m/bare")
  has_floor checkbody && check+=(-n "body floor" "$dir/checkbody $m/full")
  hyperfine -N -w 1 -r "$runs" --style none --export-json "$dir/sweep.json" \
    --prepare "bash -c 'rm -rf $low/work; cp -a $low/full $low/work'" \
    -n pycache-clean "$bin clean -q $m/work" \
    -n "pycache-clean -j2" "$bin clean -q -j2 $m/work" \
    -n "pycache-clean, no excludes" "$bin clean -q --no-default-excludes $m/work" "${sweep[@]}" \
    -n find "bash -c 'cd $m/work && find . -type d -name __pycache__ -prune -exec rm -rf {} +'" \
    -n fd "bash -c 'cd $m/work && fdfind -u -t d ^__pycache__\$ -X rm -rf'" >/dev/null
  rm -rf "$low/work"
  hyperfine -N -w 1 -r "$runs" --style none --export-json "$dir/noop.json" \
    -n pycache-clean "$bin clean -q $m/bare" \
    -n "pycache-clean -j2" "$bin clean -q -j2 $m/bare" \
    -n "pycache-clean, no excludes" "$bin clean -q --no-default-excludes $m/bare" "${noop[@]}" \
    -n find "find $m/bare -type d -name __pycache__ -prune -exec rm -rf {} +" \
    -n fd "fdfind -u -t d ^__pycache__\$ $m/bare -X rm -rf" >/dev/null
  hyperfine -N -i -w 1 -r "$runs" --style none --export-json "$dir/check.json" \
    -n pycache-clean "$bin check -q $m/full" \
    -n "pycache-clean -j2" "$bin check -q -j2 $m/full" "${check[@]}" >/dev/null
  report "$dir/sweep.json" "$label: sweep"
  report "$dir/noop.json" "$label: no-op walk"
  report "$dir/check.json" "$label: check"
}

echo "latency.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tree: $(find "$low/full" -type d | wc -l) directories, $(find "$low/full" -type f | wc -l) files," \
  "$(find "$low/full" -type d -name __pycache__ | wc -l) __pycache__; $runs runs each, medians"
for us in "${delays[@]}"; do
  "$fs" "$low" "$m" --delay-us "$us" \
    -o entry_timeout=0,attr_timeout=0,negative_timeout=0,max_threads=64
  "$bin" clean -v -n "$m/bare" 2>&1 | grep -m1 "worker thread" || true
  run_all "FUSE, ${us} µs per operation"
  unmount
done
if [ "${SSHFS:-0}" = 1 ]; then
  sshfs -o StrictHostKeyChecking=no,cache=no,max_conns=8 "localhost:$low" "$m"
  run_all "sshfs over loopback"
  unmount
fi
