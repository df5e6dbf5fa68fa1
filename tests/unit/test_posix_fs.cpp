// Unit tests that need POSIX calls to build their trees.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pycache_clean/sweep.hpp>

#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

TEST(Sweep, TreeDeeperThanPathMax) {
  TempDir t;
  std::string name(200, 'd');
  int fd = ::open(t.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 40; ++i) {  // 40 * 201 bytes > PATH_MAX (4096)
    ASSERT_EQ(::mkdirat(fd, name.c_str(), 0755), 0);
    int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY);
    ::close(fd);
    fd = next;
  }
  ASSERT_EQ(::mkdirat(fd, "__pycache__", 0755), 0);
  int cache = ::openat(fd, "__pycache__", O_RDONLY | O_DIRECTORY);
  ::close(::openat(cache, "m.pyc", O_CREAT | O_WRONLY, 0644));
  ::close(cache);
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(::faccessat(fd, "__pycache__", F_OK, 0), -1);
  ::close(fd);
  // Let TempDir's remove_all cope with the depth: cut the chain from the top.
  fs::rename(t / name, t / "x");
  std::error_code ec;
  fs::remove_all(t / "x", ec);
}

}  // namespace
}  // namespace pycache_clean::test
