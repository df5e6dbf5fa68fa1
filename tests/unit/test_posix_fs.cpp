// Unit tests that need POSIX calls to build their trees.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check/code_verifier.hpp"
#include "platform/file_lock.hpp"
#include "platform/process.hpp"
#include "sweep/sweep.hpp"

#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

// A lock file at a path pycache-clean chooses is its owner's alone: created
// 0600, an older one of ours (signed, 0644) narrowed, an empty one of ours
// (made on a full file system) signed; a file the user names is left as it is.
TEST(FileLock, DefaultPathFilesArePrivateAndSigned) {
  TempDir t;
  LockFileOpen ours;
  ours.private_default = true;
  struct stat st;
  FileLock made;
  ASSERT_EQ(made.open(t / "made", ours), 0);
  ASSERT_EQ(::stat((t / "made").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  write_file(t / "old", k_lock_record_signature);
  ASSERT_EQ(::chmod((t / "old").c_str(), 0644), 0);
  FileLock old;
  ASSERT_EQ(old.open(t / "old", ours), 0);
  ASSERT_EQ(::stat((t / "old").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  write_file(t / "empty", "");
  FileLock empty;
  ASSERT_EQ(empty.open(t / "empty", ours), 0);
  EXPECT_TRUE(empty.owns_content());
  EXPECT_EQ(read_text(t / "empty"), k_lock_record_signature);
  write_file(t / "typed", "");  // the user's own file: never written
  ASSERT_EQ(::chmod((t / "typed").c_str(), 0644), 0);
  FileLock typed;
  ASSERT_EQ(typed.open(t / "typed", LockFileOpen{}), 0);
  EXPECT_EQ(read_text(t / "typed"), "");
  ASSERT_EQ(::stat((t / "typed").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST(FileLock, AnotherUsersFileAtADefaultPathIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another user";
  TempDir t;
  write_file(t / "planted", "");
  ASSERT_EQ(::chown((t / "planted").c_str(), 65534, 65534), 0);
  LockFileOpen ours;
  ours.private_default = true;
  FileLock lock;
  EXPECT_EQ(lock.open(t / "planted", ours), k_err_foreign_owner);
  EXPECT_EQ(lock.foreign_owner(), 65534);
  EXPECT_EQ(lock.open(t / "planted", LockFileOpen{}), 0);  // named by the user: as flock(1)
}

#if defined(__linux__)
TEST(FileLock, HoldersAreListedByTheKernel) {
  TempDir t;
  FileLock a, b;
  ASSERT_EQ(a.open(t / "l", LockFileOpen{}), 0);
  ASSERT_EQ(b.open(t / "l", LockFileOpen{}), 0);
  EXPECT_TRUE(b.holders().empty());
  ASSERT_EQ(a.try_lock(FileLock::Mode::exclusive), 0);
  auto holders = b.holders();
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(holders[0].pid, current_pid());
  EXPECT_EQ(holders[0].uid, static_cast<long>(::getuid()));
  EXPECT_TRUE(holders[0].exclusive);
  a.unlock();
  ASSERT_EQ(a.try_lock(FileLock::Mode::shared), 0);
  holders = b.holders();
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_FALSE(holders[0].exclusive);
}
#endif

// A helper answers line by line; one that has exited makes send() fail
// instead of raising SIGPIPE, which would end this whole test binary.
TEST(Coprocess, AnswersAndOutlivesADeadHelper) {
  auto cat = start_coprocess({"/bin/cat"});
  ASSERT_TRUE(cat) << cat.error();
  ASSERT_TRUE((*cat)->send("one\ntwo\n"));
  std::string line;
  ASSERT_TRUE((*cat)->read_line(line, 10000));
  EXPECT_EQ(line, "one");
  ASSERT_TRUE((*cat)->read_line(line, 10000));
  EXPECT_EQ(line, "two");

  auto gone = start_coprocess({"/bin/true"});
  ASSERT_TRUE(gone) << gone.error();
  EXPECT_FALSE((*gone)->read_line(line, 10000));  // its end: it has exited
  EXPECT_FALSE((*gone)->send(std::string(1 << 20, 'x')));

  auto silent = start_coprocess({"/bin/sleep", "30"});
  ASSERT_TRUE(silent) << silent.error();
  EXPECT_FALSE((*silent)->read_line(line, 50));  // times out; destroying it ends it

  auto missing = start_coprocess({"/nonexistent/python3.11"});
  EXPECT_FALSE(missing);
  EXPECT_EQ(missing.error(), ENOENT);
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
