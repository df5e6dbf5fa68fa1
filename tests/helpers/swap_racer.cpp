// Test helper: atomically exchanges two directory entries (renameat2 with
// RENAME_EXCHANGE) in a tight loop until killed or until SECONDS pass, so that
// a sweep running meanwhile sees a directory turn into a symlink and back.
// While one side is missing (a sweep removed it; the test makes it again)
// it keeps trying; it prints how many exchanges were made.
//   swap_racer PATH_A PATH_B SECONDS
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: swap_racer PATH_A PATH_B SECONDS\n");
    return 2;
  }
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(std::atof(argv[3]));
  long swaps = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (::syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
      if (errno == ENOENT) continue;
      std::perror("renameat2");
      return 1;
    }
    ++swaps;
  }
  std::printf("%ld\n", swaps);
  return 0;
}
