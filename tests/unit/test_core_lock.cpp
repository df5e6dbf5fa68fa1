#include "guard/git_dir.hpp"
#include "guard/lock.hpp"
#include "platform/file_lock.hpp"
#include "platform/process.hpp"
#include "platform/process_table.hpp"

#include <fmt/format.h>

#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

TEST(HolderRecord, RoundTrips) {
  HolderRecord r{4242, "host-a", 123456, 1700000000, "pre-commit run"};
  auto parsed = parse_holder_record(format_holder_record(r));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->pid, 4242);
  EXPECT_EQ(parsed->host, "host-a");
  EXPECT_EQ(parsed->start_ticks, 123456u);
  EXPECT_EQ(parsed->command, "pre-commit run");
}

TEST(HolderRecord, GarbageAndEmptyAreUnknown) {
  EXPECT_FALSE(parse_holder_record(""));
  EXPECT_FALSE(parse_holder_record("pid: abc\n"));
  EXPECT_FALSE(parse_holder_record("\x01\x02 random"));
}

TEST(HolderRecord, DescribesLiveProcessAndRejectsDeadOrReusedPid) {
  HolderRecord me{current_pid(), host_name(), process_start_time(current_pid()).value_or(0), 0,
                  "unit"};
  EXPECT_EQ(describe_holder(me), "pid " + std::to_string(me.pid) + " (unit)");
  HolderRecord reused = me;
  reused.start_ticks = me.start_ticks + 1;  // same pid, another process
  EXPECT_NE(describe_holder(reused).find("unrecorded"), std::string::npos);
  HolderRecord remote = me;
  remote.host = "elsewhere";
  EXPECT_NE(describe_holder(remote).find("on elsewhere"), std::string::npos);
}

// A holder the record does not name (flock(1), another user, a command
// whose pycache-clean was killed) is named from the kernel's list.
TEST(HolderRecord, HoldersTheRecordDoesNotNameAreListed) {
  long me = current_pid();
  std::string other = describe_holder(std::nullopt, {LockHolder{me, current_uid() + 1, true}});
  EXPECT_EQ(other.rfind(fmt::format("pid {} of uid {}", me, current_uid() + 1), 0), 0u) << other;
  std::string mine = describe_holder(std::nullopt, {LockHolder{me, current_uid(), false}});
  EXPECT_EQ(mine.find("of uid"), std::string::npos) << mine;
  long dead = 4194000;  // beyond any pid this test machine hands out
  if (process_exists(dead)) GTEST_SKIP() << "pid " << dead << " exists here";
  HolderRecord killed{dead, host_name(), 1, 0, "black src"};
  std::string left = describe_holder(killed, {LockHolder{dead, -1, true}});
  EXPECT_NE(left.find(fmt::format("left running by pid {} (black src)", dead)), std::string::npos)
      << left;
  EXPECT_NE(describe_holder(std::nullopt, {}).find("unrecorded"), std::string::npos);
}

TEST(FileLock, ExcludesAnotherOpenOfTheSameFile) {
  TempDir t;
  FileLock a, b;
  ASSERT_EQ(a.open(t / "l", LockFileOpen{}), 0);
  ASSERT_EQ(b.open(t / "l", LockFileOpen{}), 0);
  EXPECT_EQ(a.try_lock(FileLock::Mode::exclusive), 0);
  EXPECT_EQ(b.try_lock(FileLock::Mode::exclusive), EWOULDBLOCK);
  EXPECT_EQ(b.try_lock(FileLock::Mode::shared), EWOULDBLOCK);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(b.lock(FileLock::Mode::exclusive, std::chrono::milliseconds(200)), ETIMEDOUT);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(190));
  a.unlock();
  EXPECT_EQ(b.lock(FileLock::Mode::exclusive, std::chrono::milliseconds(200)), 0);
}

TEST(FileLock, SharedLocksCoexist) {
  TempDir t;
  FileLock a, b, c;
  ASSERT_EQ(a.open(t / "l", LockFileOpen{}), 0);
  ASSERT_EQ(b.open(t / "l", LockFileOpen{}), 0);
  ASSERT_EQ(c.open(t / "l", LockFileOpen{}), 0);
  EXPECT_EQ(a.try_lock(FileLock::Mode::shared), 0);
  EXPECT_EQ(b.try_lock(FileLock::Mode::shared), 0);
  EXPECT_EQ(c.try_lock(FileLock::Mode::exclusive), EWOULDBLOCK);
}

TEST(FileLock, RecordIsReplacedNotAppended) {
  TempDir t;
  FileLock a;
  ASSERT_EQ(a.open(t / "l", LockFileOpen{}), 0);
  ASSERT_EQ(a.write_record("a long first record\n"), 0);
  ASSERT_EQ(a.write_record("short\n"), 0);
  EXPECT_EQ(a.read_record(), std::string(k_lock_record_signature) + "short\n");
}

TEST(GitDirs, PlainRepositoryAndSubdirectory) {
  TempDir t;
  make_git_dir(t / "repo/.git");
  fs::create_directories(t / "repo/src/pkg");
  auto d = find_git_dirs(t / "repo/src/pkg");
  ASSERT_TRUE(d);
  EXPECT_EQ(normal(d->common_dir), normal(t / "repo/.git"));
  EXPECT_EQ(normal(d->worktree), normal(t / "repo"));
}

TEST(GitDirs, LinkedWorktreeFileAndCommondir) {
  TempDir t;
  make_git_dir(t / "repo/.git");
  write_file(t / "repo/.git/worktrees/wt/HEAD", "ref: refs/heads/wt\n");
  write_file(t / "repo/.git/worktrees/wt/commondir", "../..\n");
  write_file(t / "repo/.git/worktrees/wt/gitdir", t / "wt/.git\n");
  write_file(t / "wt/.git", "gitdir: " + t / "repo/.git/worktrees/wt\n");
  auto d = find_git_dirs(t / "wt");
  ASSERT_TRUE(d);
  EXPECT_EQ(normal(d->git_dir), normal(t / "repo/.git/worktrees/wt"));
  EXPECT_EQ(normal(d->common_dir), normal(t / "repo/.git"));
  auto trees = list_worktrees(d->common_dir);
  ASSERT_EQ(trees.size(), 2u);
  EXPECT_EQ(normal(trees[0]), normal(t / "repo"));
  EXPECT_EQ(normal(trees[1]), normal(t / "wt"));
}

TEST(GitDirs, RelativeGitdirInDotGitFile) {
  TempDir t;
  make_git_dir(t / "modules/sub");
  write_file(t / "work/sub/.git", "gitdir: ../../modules/sub\n");
  auto d = find_git_dirs(t / "work/sub");
  ASSERT_TRUE(d);
  EXPECT_EQ(normal(d->common_dir), normal(t / "modules/sub"));
}

TEST(GitDirs, NoRepository) {
  TempDir t;
  unset_env("GIT_DIR");
  // /tmp itself is in no repository on a sane machine; guard anyway.
  auto d = find_git_dirs(t.path());
  if (d) GTEST_SKIP() << "the temporary directory lies inside a repository: " << d->worktree;
  EXPECT_FALSE(d);
}

}  // namespace
}  // namespace pycache_clean::test
