// Unit tests that need POSIX calls to build their trees.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pycache_clean/code_verifier.hpp>
#include <pycache_clean/process.hpp>
#include <pycache_clean/sweep.hpp>

#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

// A helper answers line by line; one that has exited makes send() fail
// instead of raising SIGPIPE, which would end this whole test binary.
TEST(Coprocess, AnswersAndOutlivesADeadHelper) {
  int err = 0;
  auto cat = start_coprocess({"/bin/cat"}, err);
  ASSERT_TRUE(cat) << err;
  ASSERT_TRUE(cat->send("one\ntwo\n"));
  std::string line;
  ASSERT_TRUE(cat->read_line(line, 10000));
  EXPECT_EQ(line, "one");
  ASSERT_TRUE(cat->read_line(line, 10000));
  EXPECT_EQ(line, "two");

  auto gone = start_coprocess({"/bin/true"}, err);
  ASSERT_TRUE(gone) << err;
  EXPECT_FALSE(gone->read_line(line, 10000));  // its end: it has exited
  EXPECT_FALSE(gone->send(std::string(1 << 20, 'x')));

  auto silent = start_coprocess({"/bin/sleep", "30"}, err);
  ASSERT_TRUE(silent) << err;
  EXPECT_FALSE(silent->read_line(line, 50));  // times out; destroying it ends it

  EXPECT_FALSE(start_coprocess({"/nonexistent/python3.11"}, err));
  EXPECT_EQ(err, ENOENT);
}

// Interpreters come from absolute PATH entries (never "" or "." : the tree
// being checked), pyenv's versions newest first (its shims skipped), then
// the system's places.
TEST(PythonCandidates, OrderAndNeverTheCurrentDirectory) {
  TempDir t;
  std::string pyenv = t.path() + "/pyenv";
  for (const char* v : {"3.11.2", "3.11.10", "3.12.1", "3.11-dev-not-a-match"})
    fs::create_directories(pyenv + "/versions/" + v + "/bin");
  std::string path = "bin::.:/opt/py/bin:" + pyenv + "/shims:/usr/bin";
  std::vector<std::string> expected = {
      "/opt/py/bin/python3.11",
      "/usr/bin/python3.11",
      pyenv + "/versions/3.11.10/bin/python3.11",
      pyenv + "/versions/3.11.2/bin/python3.11",
      "/usr/local/bin/python3.11",
  };
  EXPECT_EQ(python_candidates(3, 11, path, "", pyenv), expected);
}

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
