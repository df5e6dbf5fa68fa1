// Unit tests of the walker and the sweep on real trees, with FaultyFs injecting
// each error class the sweep must tolerate.
#include "sweep/sweep.hpp"

#include <cctype>

#include "platform/path.hpp"
#include "pyc/cache_name.hpp"
#include "sweep/mirror.hpp"
#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

// Three caches: one plain, one nested deeper, one holding a subfolder and a
// file that is not bytecode.
void make_project(const TempDir& t) {
  write_file(t / "pkg/__pycache__/a.cpython-311.pyc");
  write_file(t / "pkg/sub/__pycache__/b.cpython-311.pyc");
  write_file(t / "pkg/sub/__pycache__/nested/deeper/c.txt");
  write_file(t / "pkg/sub/__pycache__/notes.txt");
  write_file(t / "other/__pycache__/d.cpython-311.opt-1.pyc");
  write_file(t / "pkg/a.py");
}

TEST(Sweep, RemovesEveryCacheWithEverythingInIt) {
  TempDir t;
  make_project(t);
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_EQ(r.found, 3u);
  EXPECT_EQ(r.removed, 3u);
  EXPECT_TRUE(r.kept.empty());
  EXPECT_FALSE(exists(t / "pkg/__pycache__"));
  EXPECT_FALSE(exists(t / "pkg/sub/__pycache__"));
  EXPECT_FALSE(exists(t / "other/__pycache__"));
  EXPECT_TRUE(exists(t / "pkg/a.py"));
}

TEST(Sweep, EmptyTreeReportsZeroOfZero) {
  TempDir t;
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_EQ(r.found, 0u);
  EXPECT_EQ(r.removed, 0u);
  EXPECT_TRUE(r.kept.empty() && r.unreadable.empty() && r.bad_roots.empty());
}

TEST(Sweep, DryRunRemovesNothingAndFindsTheSame) {
  TempDir t;
  make_project(t);
  SweepOptions dry;
  dry.dry_run = true;
  SweepReport r = run_sweep(real_fs(), t.path(), dry);
  EXPECT_EQ(r.found, 3u);
  EXPECT_EQ(r.removed, 0u);
  EXPECT_TRUE(exists(t / "pkg/sub/__pycache__/notes.txt"));
  SweepReport real = run_sweep(real_fs(), t.path());
  EXPECT_EQ(real.found, r.found);
}

// Records the order of what the sweep tells its listener.
class OrderListener final : public SweepListener {
 public:
  void on_removed(const std::string& path, bool) override { events.push_back("removed " + path); }
  void on_kept(const PathProblem& p) override { events.push_back("kept " + p.path); }
  void on_unreadable(const PathProblem& p) override { events.push_back("unreadable " + p.path); }
  void on_bad_root(const PathProblem& p) override { events.push_back("missing " + p.path); }
  std::vector<std::string> events;
};

// `pycache-clean a/__pycache__ b nope`: the missing PATH is said before
// anything is removed, whatever its place among the PATHs.
TEST(Sweep, MissingPathIsReportedBeforeAnythingIsRemoved) {
  TempDir t;
  write_file(t / "a/__pycache__/x.cpython-311.pyc");
  write_file(t / "b/__pycache__/y.cpython-311.pyc");
  OrderListener listener;
  SweepOptions options;
  options.walk.jobs = 1;
  SweepReport r =
      sweep(real_fs(), {(t / "a/__pycache__"), (t / "b"), (t / "nope")}, options, &listener);
  EXPECT_EQ(r.removed, 2u);
  ASSERT_EQ(listener.events.size(), 3u);
  EXPECT_EQ(listener.events[0], "missing " + (t / "nope"));
  EXPECT_FALSE(exists(t / "a/__pycache__"));
}

struct ErrorCase {
  Op op;
  const char* name;
  int error;
};

std::string case_name(const ::testing::TestParamInfo<ErrorCase>& info) {
  std::string name = info.param.op == Op::remove ? "remove_" : "open_";
  for (char c : std::string(info.param.name))
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name + "_errno" + std::to_string(info.param.error);
}

// How gtest (and so ctest's test list) shows a case: its name, not its bytes.
void PrintTo(const ErrorCase& c, std::ostream* out) {
  *out << case_name(::testing::TestParamInfo<ErrorCase>(c, 0));
}

class LockedEntry : public ::testing::TestWithParam<ErrorCase> {};

// Each error class on one cache: that cache is kept and reported with the
// path at fault, the others are removed, the walk goes on.
TEST_P(LockedEntry, IsKeptReportedAndTheSweepGoesOn) {
  TempDir t;
  make_project(t);
  FaultyFs fs;
  fs.fail(GetParam().op, GetParam().name, GetParam().error, 1, 0);
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.found, 3u);
  EXPECT_EQ(r.removed, 2u);
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].error, GetParam().error);
  EXPECT_NE(r.kept[0].path.find(GetParam().name), std::string::npos) << r.kept[0].path;
}

INSTANTIATE_TEST_SUITE_P(
    ErrorClasses, LockedEntry,
    ::testing::Values(ErrorCase{Op::remove, "a.cpython-311.pyc", EACCES},       // permission
                      ErrorCase{Op::remove, "b.cpython-311.pyc", EPERM},        // immutable
                      ErrorCase{Op::remove, "d.cpython-311.opt-1.pyc", EBUSY},  // busy
                      ErrorCase{Op::remove, "a.cpython-311.pyc", EROFS},        // read-only fs
                      ErrorCase{Op::remove, "nested", EBUSY},  // a mount point inside a cache
                      ErrorCase{Op::open_dir, "deeper", EACCES}),
    case_name);

TEST(Sweep, LockedFileDoesNotStopItsSiblingsFromGoing) {
  TempDir t;
  write_file(t / "__pycache__/a.pyc");
  write_file(t / "__pycache__/b.pyc");
  write_file(t / "__pycache__/c.pyc");
  FaultyFs fs;
  fs.fail(Op::remove, "b.pyc", EACCES, 1, 0);
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.removed, 0u);
  EXPECT_TRUE(exists(t / "__pycache__/b.pyc"));
  EXPECT_FALSE(exists(t / "__pycache__/a.pyc"));
  EXPECT_FALSE(exists(t / "__pycache__/c.pyc"));
}

TEST(Sweep, DirectoryThatRefillsOnceIsEmptiedAgain) {
  TempDir t;
  make_project(t);
  FaultyFs fs;
  fs.fail(Op::remove, "__pycache__", ENOTEMPTY, 1, 1);
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.removed, 3u);
  EXPECT_TRUE(r.kept.empty());
}

TEST(Sweep, DirectoryThatKeepsRefillingIsReportedNotEmpty) {
  TempDir t;
  write_file(t / "__pycache__/a.pyc");
  FaultyFs fs;
  fs.fail(Op::remove, "__pycache__", ENOTEMPTY, 1, 0);
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 0u);
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].error, ENOTEMPTY);
}

TEST(Sweep, VanishedCacheCountsAsRemoved) {
  TempDir t;
  make_project(t);
  FaultyFs fs;
  fs.fail(Op::open_dir, "__pycache__", ENOENT, 1, 1);
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.found, 3u);
  EXPECT_EQ(r.removed, 3u);
}

TEST(Sweep, CacheSwappedForSymlinkIsNotCountedNorFollowed) {
  TempDir t;
  make_project(t);
  FaultyFs fs;
  fs.fail(Op::open_dir, "__pycache__", ELOOP, 1, 1);
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.found, 2u);
  EXPECT_EQ(r.removed, 2u);
  EXPECT_TRUE(r.kept.empty());
}

TEST(Sweep, UnreadableSubtreeIsReportedAndTheWalkGoesOn) {
  TempDir t;
  make_project(t);
  FaultyFs fs;
  fs.fail(Op::open_dir, "sub", EACCES, 1, 0);
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.found, 2u);
  EXPECT_EQ(r.removed, 2u);
  ASSERT_EQ(r.unreadable.size(), 1u);
  EXPECT_EQ(r.unreadable[0].error, EACCES);
  EXPECT_TRUE(exists(t / "pkg/sub/__pycache__"));
}

TEST(Sweep, ReadErrorInsideCacheKeepsIt) {
  TempDir t;
  write_file(t / "__pycache__/a.pyc");
  FaultyFs fs;
  fs.fail(Op::read_dir, "", EIO, 2, 1);  // 1st read: the root; 2nd: the cache
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.removed, 0u);
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].error, EIO);
}

TEST(Sweep, MissingRootIsReportedAndOtherRootsAreSwept) {
  TempDir t;
  make_project(t);
  SweepOptions options;
  SweepReport r = sweep(real_fs(), {t / "missing", t / "pkg"}, options, nullptr);
  ASSERT_EQ(r.bad_roots.size(), 1u);
  EXPECT_EQ(r.bad_roots[0].error, ENOENT);
  EXPECT_EQ(r.removed, 2u);
}

TEST(Sweep, DefaultExcludesAndVirtualenvsAreSkipped) {
  TempDir t;
  for (const char* d : {".git", ".hg", ".svn", ".tox", ".nox", "node_modules"})
    write_file(t / (std::string(d) + "/x/__pycache__/a.pyc"));
  write_file(t / "venv/pyvenv.cfg");
  write_file(t / "venv/lib/__pycache__/a.pyc");
  write_file(t / "src/__pycache__/a.pyc");
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_EQ(r.found, 1u);
  EXPECT_TRUE(exists(t / "venv/lib/__pycache__/a.pyc"));
  EXPECT_TRUE(exists(t / ".tox/x/__pycache__/a.pyc"));

  SweepOptions all;
  all.walk.excludes.clear();
  all.walk.skip_virtualenvs = false;
  r = run_sweep(real_fs(), t.path(), all);
  EXPECT_EQ(r.found, 7u);
}

TEST(Sweep, ExtraExcludeAndExcludedRootIsStillSwept) {
  TempDir t;
  write_file(t / "build/__pycache__/a.pyc");
  write_file(t / "src/__pycache__/a.pyc");
  write_file(t / "node_modules/__pycache__/a.pyc");
  SweepOptions options;
  options.walk.excludes.push_back("build");
  SweepReport r = run_sweep(real_fs(), t.path(), options);
  EXPECT_EQ(r.found, 1u);
  EXPECT_TRUE(exists(t / "build/__pycache__"));
  r = run_sweep(real_fs(), t / "node_modules", options);
  EXPECT_EQ(r.removed, 1u);
}

TEST(Sweep, RootNamedPycacheIsRemovedItself) {
  TempDir t;
  write_file(t / "pkg/__pycache__/a.pyc");
  SweepReport r = run_sweep(real_fs(), t / "pkg/__pycache__/");
  EXPECT_EQ(r.removed, 1u);
  EXPECT_FALSE(exists(t / "pkg/__pycache__"));
}

TEST(Sweep, LinksAreNeverFollowed) {
  TempDir outside;
  write_file(outside / "__pycache__/keep.pyc");
  write_file(outside / "keep.txt");
  TempDir t;
  fs::create_directories(fs::u8path(t / "proj"));
  std::string why;
  if (!make_directory_link(outside.path(), t / "proj/__pycache__", why)) GTEST_SKIP() << why;
  ASSERT_TRUE(make_directory_link(outside.path(), t / "proj/linked", why)) << why;
  write_file(t / "proj/real/__pycache__/a.pyc");
  ASSERT_TRUE(make_directory_link(outside / "__pycache__", t / "proj/real/__pycache__/link", why))
      << why;
  SweepReport r = run_sweep(real_fs(), t / "proj");
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_TRUE(exists(outside / "__pycache__/keep.pyc"));
  EXPECT_TRUE(exists(outside / "keep.txt"));
  EXPECT_TRUE(exists(t / "proj/__pycache__"));
  EXPECT_TRUE(exists(t / "proj/linked/keep.txt"));
}

// A platform that cannot delete a link as a link says EISDIR (Wine opens a
// Unix symlink's target): the remover must not take that as "it became a
// directory" and walk into the target.
TEST(Sweep, LinkThatWillNotGoAsALinkIsNeverWalkedInto) {
  TempDir outside;
  write_file(outside / "keep.pyc");
  TempDir t;
  write_file(t / "__pycache__/a.pyc");
  std::string why;
  if (!make_directory_link(outside.path(), t / "__pycache__/link", why)) GTEST_SKIP() << why;
  FaultyFs fs;
  fs.fail(Op::remove, "link", EISDIR, 1, 0);
  fs.fail(Op::open_dir, "link", EIO, 1, 0);  // would show up if it were opened
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 0u);
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].error, ELOOP);
  EXPECT_TRUE(exists(outside / "keep.pyc"));
}

// The one rule for entries whose type the listing does not give (DT_UNKNOWN
// on some file systems): walker and remover look each one up without
// following it, so links stay links and caches are still found.
TEST(EntryRule, UnknownTypesAreLookedUpNeverFollowed) {
  TempDir outside;
  write_file(outside / "__pycache__/keep.pyc");
  write_file(outside / "keep.txt");
  TempDir t;
  make_project(t);
  std::string why;
  if (!make_directory_link(outside.path(), t / "pkg/linked", why)) GTEST_SKIP() << why;
  ASSERT_TRUE(make_directory_link(outside / "__pycache__", t / "pkg/__pycache__/link", why));
  FaultyFs fs;
  fs.report_unknown_types();
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_EQ(r.found, 3u);
  EXPECT_EQ(r.removed, 3u);
  EXPECT_TRUE(exists(outside / "__pycache__/keep.pyc"));
  EXPECT_TRUE(exists(outside / "keep.txt"));
  EXPECT_TRUE(exists(t / "pkg/a.py"));
  EXPECT_TRUE(exists(t / "pkg/linked"));
}

// An entry that cannot be looked at is reported, never skipped in silence.
TEST(EntryRule, LookupFailureIsReported) {
  TempDir t;
  make_project(t);
  FaultyFs fs;
  fs.report_unknown_types();
  fs.fail(Op::stat, "other", EACCES, 1, 0);
  SweepReport r = run_sweep(fs, t.path());
  ASSERT_EQ(r.unreadable.size(), 1u);
  EXPECT_EQ(r.unreadable[0].error, EACCES);
  EXPECT_NE(r.unreadable[0].path.find("other"), std::string::npos);
  EXPECT_TRUE(exists(t / "other/__pycache__"));
  EXPECT_EQ(r.removed, 2u);
}

// Vanished between listing and looking: someone else removed it, no error.
TEST(EntryRule, VanishedEntryIsNoError) {
  TempDir t;
  make_project(t);
  FaultyFs fs;
  fs.report_unknown_types();
  fs.fail(Op::stat, "notes.txt", ENOENT, 1, 0);
  SweepReport r = run_sweep(fs, t.path());
  EXPECT_TRUE(r.unreadable.empty());
  EXPECT_EQ(r.removed, 2u);
  // The fake said "gone" while notes.txt stayed: its cache is kept, not emptied.
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].error, ENOTEMPTY);
}

// Listings come in bounded batches: a cache larger than one batch goes whole.
TEST(Batches, CacheLargerThanOneBatchIsRemovedWhole) {
  TempDir t;
  std::size_t n = DirListing::k_batch_entries + 17;
  for (std::size_t i = 0; i < n; ++i)
    write_file(t / ("pkg/__pycache__/m" + std::to_string(i) + ".cpython-311.pyc"));
  for (std::size_t i = 0; i < n; ++i)
    fs::create_directories(fs::u8path(t / ("d" + std::to_string(i))));
  write_file(t / ("d" + std::to_string(n - 1) + "/__pycache__/x.pyc"));
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_EQ(r.found, 2u);
  EXPECT_EQ(r.removed, 2u);
  EXPECT_FALSE(exists(t / "pkg/__pycache__"));
}

TEST(MirrorNames, OnlyWhatCPythonNamesACache) {
  EXPECT_TRUE(is_cache_file_name("m.cpython-311.pyc"));
  EXPECT_TRUE(is_cache_file_name("m.cpython-311.opt-2.pyc"));
  EXPECT_TRUE(is_cache_file_name("m.pypy39.pyc"));
  EXPECT_TRUE(is_cache_file_name("test_a.cpython-311-pytest-7.2.1.pyc"));
  EXPECT_FALSE(is_cache_file_name("blob.pyc"));
  EXPECT_FALSE(is_cache_file_name("m.cpython-311.pyo"));
  EXPECT_FALSE(is_cache_file_name("foo.bar.pyc"));
  EXPECT_FALSE(is_cache_file_name("m.cpython-311.opt-x.y.pyc"));
}

TEST(Sweep, StrayBytecodeOnlyWithStray) {
  TempDir t;
  write_file(t / "legacy.pyc");
  write_file(t / "pkg/old.pyo");
  write_file(t / "pkg/keep.py");
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_TRUE(exists(t / "legacy.pyc"));
  SweepOptions options;
  options.remove_stray = true;
  r = run_sweep(real_fs(), t.path(), options);
  EXPECT_EQ(r.stray_found, 2u);
  EXPECT_EQ(r.stray_removed, 2u);
  EXPECT_FALSE(exists(t / "legacy.pyc"));
  EXPECT_TRUE(exists(t / "pkg/keep.py"));
  EXPECT_EQ(r.found, 0u);
}

TEST(Sweep, PycachePrefixMirrorIsCleared) {
  TempDir t;
  write_file(t / "proj/pkg/mod.py");
  std::string mirror = pycache_prefix_mirror(t / "prefix", t / "proj", "/");
  std::string head = t.path();
  if (head.size() > 1 && head[1] == ':') head.erase(0, 2);  // CPython drops a drive
  EXPECT_EQ(mirror, t / "prefix" + head + "/proj");
  write_file(mirror + "/pkg/mod.cpython-311.pyc");
  write_file(mirror + "/mod2.cpython-311.pyc");
  write_file(mirror + "/pkg/README");  // not bytecode: stays
  SweepOptions options;
  options.pycache_prefix = t / "prefix";
  SweepReport r = run_sweep(real_fs(), t / "proj", options);
  EXPECT_EQ(r.found, 2u);
  EXPECT_EQ(r.removed, 2u);
  EXPECT_FALSE(exists(mirror + "/pkg/mod.cpython-311.pyc"));
  EXPECT_TRUE(exists(mirror + "/pkg/README"));
  EXPECT_TRUE(exists(t / "proj/pkg/mod.py"));
}

TEST(Sweep, PrefixMirrorPathIsLexical) {
  EXPECT_EQ(pycache_prefix_mirror("/tmp/pc", "src/./pkg/", "/home/u/proj"),
            "/tmp/pc/home/u/proj/src/pkg");
  EXPECT_EQ(pycache_prefix_mirror("pc", ".", "/w"), "/w/pc/w");
  EXPECT_EQ(pycache_prefix_mirror("/pc", "/", "/w"), "/pc");
}

TEST(Walk, ManyThreadsFindEachCacheOnce) {
  TempDir t;
  for (int i = 0; i < 60; ++i)
    for (int j = 0; j < 5; ++j)
      write_file(t / ("p" + std::to_string(i) + "/q" + std::to_string(j) + "/__pycache__/m.pyc"));
  SweepOptions options;
  options.dry_run = true;
  for (unsigned jobs : {1U, 2U, 4U, 8U}) {
    options.walk.jobs = jobs;
    SweepReport r = sweep(real_fs(), {t.path()}, options, nullptr);
    EXPECT_EQ(r.found, 300u) << "jobs=" << jobs;
  }
}

// Paths as text: the walks name what they open with these, never resolve them.
TEST(Paths, SplitJoinAndNormaliseLexically) {
  EXPECT_EQ(split_last("a/b/__pycache__/"),
            std::make_pair(std::string("a/b"), std::string("__pycache__")));
  EXPECT_EQ(split_last("__pycache__"),
            std::make_pair(std::string("."), std::string("__pycache__")));
  EXPECT_EQ(split_last("/__pycache__"),
            std::make_pair(std::string("/"), std::string("__pycache__")));
  EXPECT_EQ(join_path("a/", "b"), "a/b");
  EXPECT_EQ(join_path("a", "b"), "a/b");
  std::vector<std::string_view> parts = path_parts("/a//b/");
  EXPECT_EQ(parts, (std::vector<std::string_view>{"a", "b"}));
  EXPECT_TRUE(path_parts("//").empty());
  EXPECT_EQ(lexically_normal("/a/./b/../c/"), "/a/c");
  EXPECT_EQ(lexically_normal("/../.."), "/");
  EXPECT_EQ(lexically_normal("a/b"), "/a/b");
}

}  // namespace
}  // namespace pycache_clean::test
