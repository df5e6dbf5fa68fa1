#!/usr/bin/env bash
# Installs, from Debian's archive, what building and testing pycache-clean
# needs; only the packages that are missing. Uses sudo when not root.
#   --windows   also the MinGW-w64 cross compiler, GoogleTest's sources and
#               Wine, for the Windows build and its tests (preset `windows`)
#   --fuzz      also clang and libFuzzer, for scripts/fuzz.sh
#   --aarch64   also the aarch64 cross compiler and qemu-user, for the
#               aarch64 wheel (scripts/build-wheels.sh)
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config clang-tidy-14
  libcli11-dev libfmt-dev libspdlog-dev libtomlplusplus-dev libgtest-dev libgmock-dev
  python3 python3-pytest python3-pytest-xdist pre-commit git make util-linux
  man-db e2fsprogs dpkg dpkg-dev lintian time tar rsync black mypy zsh fish tmux bash-completion
  python3-jsonschema strace libfuse3-dev fuse3
  python3-build python3-venv python3-wheel pipx
)
# --fuzz: clang and its libFuzzer runtime, for scripts/fuzz.sh
for arg in "$@"; do
  case "$arg" in
    --windows) packages+=(g++-mingw-w64-x86-64-posix googletest wine wine64 libwine) ;;
    --fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
    --aarch64) packages+=(g++-aarch64-linux-gnu qemu-user-static binutils-aarch64-linux-gnu) ;;
    *) echo "install-deps.sh: unknown option '$arg' (known: --windows, --fuzz, --aarch64)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
# apt's progress goes to a log, shown only when apt fails.
log=$(mktemp /tmp/pycache-clean-apt.XXXXXX)
echo "installing ${#missing[@]} Debian packages: ${missing[*]} (log: $log)" >&2
if ! { $sudo apt-get update -qq &&
       DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o Dpkg::Use-Pty=0 \
         --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps.sh: apt-get failed (log above, also in $log)" >&2
  exit 1
fi
