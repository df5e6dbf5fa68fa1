#!/usr/bin/env bash
# Times the sweep and the no-op walk of pycache-clean against the classic
# one-liners on the same tree, in one hyperfine run, and prints ratios.
#   bench/compare.sh [BIN] [RUNS]       (BIN defaults to build/src/pycache-clean)
# Needs hyperfine and fd-find (apt-get install -y hyperfine fd-find). The tree
# lives in $BENCH_DIR (default /dev/shm/pycache-clean-bench: tmpfs, so the
# figures are CPU and system-call cost, not disk noise) and is reused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(readlink -f "${1:-$here/../build/src/pycache-clean}")
runs=${2:-10}
dir=${BENCH_DIR:-/dev/shm/pycache-clean-bench}
for tool in hyperfine fdfind python3; do
  command -v $tool >/dev/null || { echo "compare.sh: needs $tool" >&2; exit 2; }
done
[ -d "$dir/full" ] || python3 "$here/make_tree.py" "$dir/full"
if [ ! -d "$dir/bare" ]; then
  cp -a "$dir/full" "$dir/bare"
  find "$dir/bare" -type d -name __pycache__ -prune -exec rm -rf {} +
fi
w=$dir/work
hyperfine -N -w 1 -r "$runs" --export-markdown "$dir/sweep.md" \
  --prepare "bash -c 'rm -rf $w && cp -a $dir/full $w'" \
  -n pycache-clean "$bin clean -q $w" \
  -n "pycache-clean -j1" "$bin clean -q -j1 $w" \
  -n find "bash -c 'cd $w && find . -type d -name __pycache__ -prune -exec rm -rf {} +'" \
  -n fd "bash -c 'cd $w && fdfind -u -t d ^__pycache__\$ -X rm -rf'"
rm -rf "$w"
hyperfine -N -w 2 -r "$runs" --export-markdown "$dir/noop.md" \
  -n pycache-clean "$bin clean -q $dir/bare" \
  -n "pycache-clean -j1" "$bin clean -q -j1 $dir/bare" \
  -n find "find $dir/bare -type d -name __pycache__ -prune -exec rm -rf {} +" \
  -n fd "fdfind -u -t d ^__pycache__\$ $dir/bare -X rm -rf"
mkdir -p "$dir/empty"
hyperfine -N -w 20 -r 300 --export-markdown "$dir/start.md" \
  -n pycache-clean "$bin clean -q $dir/empty" -n /bin/true "/bin/true"
/usr/bin/time -f "peak RSS of the sweep: %M KiB" "$bin" clean -q "$dir/bare"
cat "$dir/sweep.md" "$dir/noop.md" "$dir/start.md"
