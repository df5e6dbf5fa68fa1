// The walk, the removal and the stale check on MemFs: the cases the real disk
// cannot stage on demand (an entry swapped for a link between listing and
// opening, a listing whose types are wrong, a mount point without root, a
// ctime to the nanosecond). After every test, the removal log must hold
// nothing outside a `__pycache__` directory and every handle must be closed.
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <string>
#include <tuple>

#include "check/stale_check.hpp"
#include "platform/process.hpp"
#include "sweep/cachedir_tag.hpp"
#include "sweep/sweep.hpp"
#include "sweep/walker.hpp"
#include "util/error.hpp"

#include "mem_fs.hpp"
#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

using Event = MemFs::Event;

class OnMemFs : public ::testing::Test {
 protected:
  void TearDown() override {
    EXPECT_EQ(m_fs.removed_outside_caches(m_allowed), std::vector<std::string>{});
    EXPECT_EQ(m_fs.open_handles(), 0u);
  }
  // Something that is no cache, which must survive every sweep.
  void precious(const std::string& path) { m_fs.file(path, "keep me"); }
  SweepReport sweep_of(const std::string& root, SweepOptions options = {}) {
    return run_sweep(m_fs, root, options);
  }
  MemFs m_fs;
  // What else a test asked to remove (a stray `.pyc`, mirror caches).
  std::function<bool(const std::string&)> m_allowed;
};

// Each sweep test runs with one entry per batch and the default batch, and
// on a file system that is local and one that is latency-bound (FUSE: 32
// workers, a large cache's files removed by several threads at once).
class MemSweep : public OnMemFs,
                 public ::testing::WithParamInterface<std::tuple<std::size_t, bool>> {
 protected:
  void SetUp() override {
    m_fs.set_batch(std::get<0>(GetParam()));
    if (std::get<1>(GetParam())) m_fs.set_kind(FileSystemKind{"fuse", true});
  }
};

TEST_P(MemSweep, RemovesCachesAndNothingElse) {
  m_fs.file("/p/a/__pycache__/m.cpython-311.pyc");
  m_fs.file("/p/a/__pycache__/deep/er/n.cpython-311.pyc");
  m_fs.other("/p/a/__pycache__/fifo");
  m_fs.symlink("/p/a/__pycache__/link", "/p/b");
  precious("/p/a/m.py");
  precious("/p/b/Makefile");
  precious("/p/.git/HEAD");
  SweepReport r = sweep_of("/p");
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_FALSE(m_fs.exists("/p/a/__pycache__"));
  EXPECT_TRUE(m_fs.exists("/p/a/m.py"));
  EXPECT_TRUE(m_fs.exists("/p/b/Makefile"));
  EXPECT_TRUE(m_fs.exists("/p/.git/HEAD"));
  EXPECT_EQ(m_fs.removed().size(), 7u);  // 2 files, a FIFO, a link, 3 directories
}

// The attack the walk is built against: `__pycache__` listed as a directory,
// then swapped for a link to the user's files before it is opened for removal.
TEST_P(MemSweep, CacheSwappedForALinkBeforeItIsOpened) {
  m_fs.file("/p/__pycache__/m.cpython-311.pyc");
  precious("/home/u/Makefile");
  precious("/home/u/__pycache__/theirs.pyc");
  m_fs.before(Event::open_dir, "/p/__pycache__",
              [&] { m_fs.swap_for_symlink("/p/__pycache__", "/home/u"); });
  SweepReport r = sweep_of("/p");
  EXPECT_TRUE(m_fs.exists("/home/u/Makefile"));
  EXPECT_TRUE(m_fs.exists("/home/u/__pycache__/theirs.pyc"));
  EXPECT_EQ(r.found, 0u);  // a link is no cache: neither found nor removed
  EXPECT_TRUE(r.kept.empty());
  MemFs::Node* link = m_fs.find("/p/__pycache__");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->type, EntryType::symlink);
}

// --tagged: a directory is taken for a valid CACHEDIR.TAG, never for its
// name; a tag that is missing, garbled, a link, a FIFO, another user's, or
// in another user's directory leaves it alone; excludes apply; a root is
// walked, never removed.
constexpr const char* k_tag = "Signature: 8a477f597d28d172789f06886806bc55\n# a test\n";

SweepOptions tagged_sweep() {
  SweepOptions options;
  options.walk.tagged = true;
  return options;
}

TEST_P(MemSweep, TaggedDirectoriesGoOnlyForAValidTagOfTheirOwner) {
  m_allowed = [](const std::string& path) { return path.rfind("/p/.pytest_cache", 0) == 0; };
  m_fs.file("/p/CACHEDIR.TAG", k_tag);  // the root: walked, never removed
  m_fs.file("/p/.pytest_cache/CACHEDIR.TAG", k_tag);
  m_fs.file("/p/.pytest_cache/v/cache/nodeids", "[]");
  m_fs.file("/p/.pytest_cache/__pycache__/x.pyc");
  precious("/p/.mypy_cache/3.11/mod.json");  // a cache's name, no tag
  m_fs.file("/p/garbled/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc5");
  precious("/p/garbled/data");
  m_fs.symlink("/p/linked/CACHEDIR.TAG", "/p/.pytest_cache/CACHEDIR.TAG");
  precious("/p/linked/data");
  m_fs.other("/p/fifo/CACHEDIR.TAG");
  precious("/p/fifo/data");
  m_fs.file("/p/their_tag/CACHEDIR.TAG", k_tag).foreign_owner = true;
  precious("/p/their_tag/data");
  m_fs.file("/p/their_dir/CACHEDIR.TAG", k_tag);
  m_fs.dir("/p/their_dir").foreign_owner = true;
  precious("/p/their_dir/data");
  m_fs.file("/p/node_modules/c/CACHEDIR.TAG", k_tag);
  precious("/p/node_modules/c/data");
  m_fs.dir("/p/tag_is_dir/CACHEDIR.TAG");
  precious("/p/tag_is_dir/data");
  SweepReport r = sweep_of("/p", tagged_sweep());
  EXPECT_EQ(r.tagged_found, 1u);
  EXPECT_EQ(r.tagged_removed, 1u);
  EXPECT_EQ(r.found, 0u);  // the __pycache__ inside went with its tagged directory
  EXPECT_FALSE(m_fs.exists("/p/.pytest_cache"));
  EXPECT_TRUE(m_fs.exists("/p/CACHEDIR.TAG"));
  for (const char* kept :
       {"/p/.mypy_cache/3.11/mod.json", "/p/garbled/data", "/p/linked/data", "/p/fifo/data",
        "/p/their_tag/data", "/p/their_dir/data", "/p/node_modules/c/data", "/p/tag_is_dir/data"})
    EXPECT_TRUE(m_fs.exists(kept)) << kept;
  // Without --tagged nothing of it is looked at.
  m_fs.file("/p/.ruff_cache/CACHEDIR.TAG", k_tag);
  EXPECT_EQ(sweep_of("/p").tagged_found, 0u);
  EXPECT_TRUE(m_fs.exists("/p/.ruff_cache/CACHEDIR.TAG"));
}

// The name of a tagged directory proves nothing: one renamed into its place
// after the tag was judged is left whole.
TEST_P(MemSweep, TaggedDirectorySwappedAfterItsTagWasJudgedIsLeftAlone) {
  m_fs.file("/p/c/CACHEDIR.TAG", k_tag);
  m_fs.file("/p/c/data", "cache");
  precious("/home/u/work/Makefile");
  // The owner of /p/c is the last thing judged: the swap comes right after.
  m_fs.before(Event::stat, "/p/c", [&] { m_fs.rename_onto("/home/u/work", "/p/c"); });
  SweepReport r = sweep_of("/p", tagged_sweep());
  EXPECT_EQ(r.tagged_removed, 0u);
  EXPECT_TRUE(m_fs.exists("/p/c/Makefile"));
  EXPECT_TRUE(r.kept.empty());
}

// A dry run counts and lists what the run removes, and removes nothing.
TEST_P(MemSweep, TaggedDryRunRemovesNothing) {
  m_fs.file("/p/.pytest_cache/CACHEDIR.TAG", k_tag);
  SweepOptions options = tagged_sweep();
  options.dry_run = true;
  SweepReport r = sweep_of("/p", options);
  EXPECT_EQ(r.tagged_found, 1u);
  EXPECT_EQ(r.tagged_removed, 0u);
  EXPECT_TRUE(m_fs.exists("/p/.pytest_cache/CACHEDIR.TAG"));
  EXPECT_TRUE(m_fs.removed().empty());
}

// A tagged directory that is a mount point (a bind mount) is kept and said.
TEST_P(MemSweep, TaggedMountPointIsKept) {
  m_fs.file("/p/.pytest_cache/CACHEDIR.TAG", k_tag);
  m_fs.file("/p/.pytest_cache/data", "theirs");
  m_fs.dir("/p/.pytest_cache").mount_root = true;
  SweepReport r = sweep_of("/p", tagged_sweep());
  EXPECT_EQ(r.tagged_removed, 0u);
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept.front().error, k_err_mount_point);
  EXPECT_TRUE(m_fs.exists("/p/.pytest_cache/data"));
}

// A cache named as a PATH itself (`clean proj/__pycache__`) is handed over
// only after every PATH was opened; swapped for a link in that window, it is
// not followed.
TEST_P(MemSweep, NamedCacheSwappedForALinkBeforeItIsHandedOver) {
  m_fs.file("/p/__pycache__/m.cpython-311.pyc");
  precious("/home/u/Makefile");
  m_fs.before(Event::open_dir, "/p/__pycache__",
              [&] { m_fs.swap_for_symlink("/p/__pycache__", "/home/u"); });
  SweepReport r = sweep(m_fs, {"/p/__pycache__", "/q"}, SweepOptions{}, nullptr);
  EXPECT_TRUE(m_fs.exists("/home/u/Makefile"));
  EXPECT_EQ(r.removed, 0u);
  EXPECT_EQ(r.bad_roots.size(), 1u);  // /q
}

// The same one level down, while the cache is being emptied: the link is
// unlinked (it lies inside the cache), what it points at is never entered.
TEST_P(MemSweep, DirectoryInsideACacheSwappedForALinkMidRemoval) {
  m_fs.file("/p/__pycache__/a.cpython-311.pyc");
  m_fs.file("/p/__pycache__/sub/b.cpython-311.pyc");
  precious("/home/u/Makefile");
  m_fs.before(Event::open_dir, "/p/__pycache__/sub",
              [&] { m_fs.swap_for_symlink("/p/__pycache__/sub", "/home/u"); });
  SweepReport r = sweep_of("/p");
  EXPECT_EQ(r.removed, 1u);
  EXPECT_FALSE(m_fs.exists("/p/__pycache__"));
  EXPECT_TRUE(m_fs.exists("/home/u/Makefile"));
}

// A directory on the way down swapped for a link after its parent was
// listed: the walk does not follow it into the user's caches.
TEST_P(MemSweep, WalkedDirectorySwappedForALinkIsNotFollowed) {
  m_fs.dir("/p/src/pkg");
  precious("/home/u/__pycache__/theirs.cpython-311.pyc");
  m_fs.before(Event::open_dir, "/p/src", [&] { m_fs.swap_for_symlink("/p/src", "/home/u"); });
  SweepReport r = sweep_of("/p");
  EXPECT_EQ(r.found, 0u);
  EXPECT_TRUE(r.unreadable.empty());  // changed during the walk: skipped, no error
  EXPECT_TRUE(m_fs.exists("/home/u/__pycache__/theirs.cpython-311.pyc"));
}

// A listing whose type is wrong: `__pycache__` listed as a directory is a
// file or a FIFO. Nothing is removed and nothing is counted.
TEST_P(MemSweep, ListedAsADirectoryButIsNot) {
  m_fs.file("/p/a/__pycache__", "a file, whatever the listing says").list_as(EntryType::directory);
  m_fs.other("/p/b/__pycache__").list_as(EntryType::directory);
  m_fs.file("/p/c", "not a directory").list_as(EntryType::directory);
  SweepReport r = sweep_of("/p");
  EXPECT_EQ(r.found, 0u);
  EXPECT_TRUE(r.unreadable.empty());
  EXPECT_TRUE(m_fs.exists("/p/a/__pycache__"));
  EXPECT_TRUE(m_fs.exists("/p/b/__pycache__"));
  EXPECT_TRUE(m_fs.exists("/p/c"));
}

// No type in the listing (d_type DT_UNKNOWN): each entry is looked up without
// following links, so a link to someone's caches stays a link.
TEST_P(MemSweep, UnknownTypesAreLookedUpWithoutFollowingLinks) {
  m_fs.file("/p/__pycache__/m.cpython-311.pyc").list_as(EntryType::unknown);
  m_fs.find("/p/__pycache__")->list_as(EntryType::unknown);
  m_fs.symlink("/p/link", "/home/u").list_as(EntryType::unknown);
  m_fs.symlink("/p/linked/__pycache__", "/home/u/__pycache__").list_as(EntryType::unknown);
  precious("/home/u/__pycache__/theirs.cpython-311.pyc");
  SweepReport r = sweep_of("/p");
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_FALSE(m_fs.exists("/p/__pycache__"));
  EXPECT_TRUE(m_fs.exists("/home/u/__pycache__/theirs.cpython-311.pyc"));
}

// A file system mounted inside a cache (a bind mount, a volume) is never
// entered; the rest of the cache goes, the cache is reported kept.
TEST_P(MemSweep, MountPointInsideACacheIsNeverEntered) {
  m_fs.file("/p/__pycache__/m.cpython-311.pyc");
  m_fs.dir("/p/__pycache__/mnt").device = 2;
  m_fs.file("/p/__pycache__/mnt/data.db").device = 2;
  m_fs.dir("/q/__pycache__").device = 3;  // a cache that is a mount point itself
  m_fs.file("/q/__pycache__/other.db").device = 3;
  SweepReport r = sweep_of("/p");
  SweepReport q = sweep_of("/q");
  EXPECT_TRUE(m_fs.exists("/p/__pycache__/mnt/data.db"));
  EXPECT_FALSE(m_fs.exists("/p/__pycache__/m.cpython-311.pyc"));
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].path, "/p/__pycache__/mnt");
  EXPECT_EQ(r.kept[0].error, k_err_mount_point);
  EXPECT_TRUE(m_fs.exists("/q/__pycache__/other.db"));
  ASSERT_EQ(q.kept.size(), 1u);
  EXPECT_EQ(q.kept[0].error, k_err_mount_point);
}

// A bind mount of the same file system (same device: only the mount table
// tells) inside a cache, and as the cache itself.
TEST_P(MemSweep, BindMountOfTheSameDeviceIsNeverEntered) {
  m_fs.file("/p/__pycache__/m.cpython-311.pyc");
  m_fs.dir("/p/__pycache__/mnt").mount_root = true;
  precious("/p/__pycache__/mnt/Makefile");
  m_fs.dir("/q/__pycache__").mount_root = true;
  precious("/q/__pycache__/Makefile");
  SweepReport r = sweep_of("/p");
  SweepReport q = sweep_of("/q");
  EXPECT_TRUE(m_fs.exists("/p/__pycache__/mnt/Makefile"));
  EXPECT_TRUE(m_fs.exists("/q/__pycache__/Makefile"));
  EXPECT_FALSE(m_fs.exists("/p/__pycache__/m.cpython-311.pyc"));
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].error, k_err_mount_point);
  ASSERT_EQ(q.kept.size(), 1u);
  EXPECT_EQ(q.kept[0].error, k_err_mount_point);
}

// --stray: a legacy `.pyc` something is mounted on (a bind-mounted file) is
// busy, kept and reported; the others go.
TEST_P(MemSweep, StrayFileThatIsAMountPointIsKept) {
  m_fs.file("/p/old.pyc");
  m_fs.file("/p/mounted.pyc", "their data").mount_root = true;
  m_allowed = [](const std::string& path) { return path == "/p/old.pyc"; };
  SweepOptions options;
  options.remove_stray = true;
  SweepReport r = sweep_of("/p", options);
  EXPECT_FALSE(m_fs.exists("/p/old.pyc"));
  EXPECT_TRUE(m_fs.exists("/p/mounted.pyc"));
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].path, "/p/mounted.pyc");
  EXPECT_EQ(r.kept[0].error, EBUSY);
}

// The PYTHONPYCACHEPREFIX mirror is a cache tree: a mount point inside it (a
// volume, a bind mount) is reported and never entered, whatever it holds.
TEST_P(MemSweep, MountPointInsideTheMirrorIsNeverEntered) {
  m_fs.dir("/p");
  m_fs.file("/pfx/p/a/m.cpython-311.pyc");
  m_fs.dir("/pfx/p/vol").mount_root = true;
  precious("/pfx/p/vol/n.cpython-311.pyc");  // named as a cache, on another mount
  m_fs.dir("/pfx/p/dev").device = 2;
  precious("/pfx/p/dev/o.cpython-311.pyc");
  m_allowed = [](const std::string& path) { return path.rfind("/pfx/p/a", 0) == 0; };
  SweepOptions options;
  options.pycache_prefix = "/pfx";
  SweepReport r = sweep_of("/p", options);
  EXPECT_FALSE(m_fs.exists("/pfx/p/a"));
  EXPECT_TRUE(m_fs.exists("/pfx/p/vol/n.cpython-311.pyc"));
  EXPECT_TRUE(m_fs.exists("/pfx/p/dev/o.cpython-311.pyc"));
  ASSERT_EQ(r.unreadable.size(), 2u);
  EXPECT_EQ(r.unreadable[0].error, k_err_mount_point);
  EXPECT_EQ(r.unreadable[1].error, k_err_mount_point);
}

TEST_P(MemSweep, OneFileSystemStopsAtAMountPoint) {
  m_fs.dir("/p/mnt").device = 2;
  m_fs.file("/p/mnt/__pycache__/m.cpython-311.pyc").device = 2;
  m_fs.file("/p/__pycache__/n.cpython-311.pyc");
  SweepOptions options;
  options.walk.one_file_system = true;
  SweepReport r = sweep_of("/p", options);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_TRUE(m_fs.exists("/p/mnt/__pycache__/m.cpython-311.pyc"));
  EXPECT_EQ(sweep_of("/p").removed, 1u);  // without -x the mount is walked
  EXPECT_FALSE(m_fs.exists("/p/mnt/__pycache__"));
}

// A locked cache file (EBUSY, as Windows reports an open one) costs its own
// directory, not its siblings.
TEST_P(MemSweep, LockedEntryKeepsOnlyItself) {
  m_fs.file("/p/__pycache__/a.cpython-311.pyc");
  m_fs.file("/p/__pycache__/locked.cpython-311.pyc").deny_remove = EBUSY;
  m_fs.file("/p/__pycache__/z.cpython-311.pyc");
  SweepReport r = sweep_of("/p");
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 0u);
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].path, "/p/__pycache__/locked.cpython-311.pyc");
  EXPECT_EQ(r.kept[0].error, EBUSY);
  EXPECT_FALSE(m_fs.exists("/p/__pycache__/a.cpython-311.pyc"));
  EXPECT_FALSE(m_fs.exists("/p/__pycache__/z.cpython-311.pyc"));
}

// A writer refills the cache while it is emptied and again just before the
// final rmdir: it is emptied again, and then removed.
TEST_P(MemSweep, CacheRefilledDuringRemovalIsEmptiedAgain) {
  m_fs.file("/p/__pycache__/a.cpython-311.pyc");
  m_fs.file("/p/__pycache__/b.cpython-311.pyc");
  m_fs.before(Event::remove, "/p/__pycache__/a.cpython-311.pyc",
              [&] { m_fs.file("/p/__pycache__/zz.cpython-311.pyc"); });
  m_fs.before(Event::remove, "/p/__pycache__",
              [&] { m_fs.file("/p/__pycache__/late.cpython-311.pyc"); });
  SweepReport r = sweep_of("/p");
  EXPECT_EQ(r.removed, 1u);
  EXPECT_FALSE(m_fs.exists("/p/__pycache__"));
}

TEST_P(MemSweep, UnreadableDirectoryIsReportedAndTheRestSwept) {
  m_fs.dir("/p/private").deny_open = EACCES;
  m_fs.file("/p/private/__pycache__/m.cpython-311.pyc");
  m_fs.file("/p/open/__pycache__/n.cpython-311.pyc");
  SweepReport r = sweep_of("/p");
  EXPECT_EQ(r.removed, 1u);
  ASSERT_EQ(r.unreadable.size(), 1u);
  EXPECT_EQ(r.unreadable[0].path, "/p/private");
  EXPECT_EQ(r.unreadable[0].error, EACCES);
}

// A large cache on a latency-bound file system: its files go on several
// threads at once, each by the same handle-relative unlink. A link among
// them goes as a link, a directory, one swapped for a link mid-removal and a
// mount point are handled one at a time as ever, a locked file costs only
// itself.
TEST_P(MemSweep, LargeCacheRemovedByManyThreadsLosesNothingElse) {
  for (int i = 0; i < 100; ++i) m_fs.file("/p/__pycache__/f" + std::to_string(i) + ".pyc");
  m_fs.symlink("/p/__pycache__/link.pyc", "/p/keep");
  m_fs.symlink("/p/__pycache__/dirlink", "/p/keepdir");
  m_fs.file("/p/__pycache__/sub/s.pyc");
  m_fs.file("/p/__pycache__/swapped/t.pyc");
  m_fs.before(Event::open_dir, "/p/__pycache__/swapped",
              [&] { m_fs.swap_for_symlink("/p/__pycache__/swapped", "/p/keepdir"); });
  m_fs.dir("/p/__pycache__/mnt").mount_root = true;
  m_fs.file("/p/__pycache__/mnt/other.txt");
  m_fs.file("/p/__pycache__/f7.pyc").deny_remove = EBUSY;
  precious("/p/keep");
  precious("/p/keepdir/x");
  SweepReport r = sweep_of("/p");
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 0u);
  ASSERT_EQ(r.kept.size(), 1u);  // the first failure of the cache
  EXPECT_EQ(r.kept[0].path, "/p/__pycache__/f7.pyc");
  EXPECT_EQ(r.kept[0].error, EBUSY);
  EXPECT_TRUE(m_fs.exists("/p/__pycache__/f7.pyc"));
  EXPECT_TRUE(m_fs.exists("/p/__pycache__/mnt/other.txt"));
  EXPECT_TRUE(m_fs.exists("/p/keep"));
  EXPECT_TRUE(m_fs.exists("/p/keepdir/x"));
  for (const char* gone :
       {"/p/__pycache__/f0.pyc", "/p/__pycache__/f99.pyc", "/p/__pycache__/link.pyc",
        "/p/__pycache__/dirlink", "/p/__pycache__/sub", "/p/__pycache__/swapped"})
    EXPECT_FALSE(m_fs.exists(gone)) << gone;
}

TEST(WalkJobs, ChosenByTheFileSystemUnlessAsked) {
  FileSystemKind local;
  FileSystemKind fuse{"fuse", true};
  EXPECT_EQ(walk_jobs(0, local, 0), default_jobs());
  EXPECT_EQ(walk_jobs(0, fuse, 0), k_latency_jobs);
  EXPECT_EQ(walk_jobs(3, fuse, 0), 3u);  // -j decides
  EXPECT_EQ(walk_jobs(5, local, 1u << 20), 5u);
  EXPECT_EQ(walk_jobs(0, fuse, 4 * k_fds_per_job), 4u);  // the open-file limit bounds it
  EXPECT_EQ(walk_jobs(0, fuse, 10), 1u);
}

// The walk asks the file system what the root lies on and tells the visitor.
class WidthVisitor final : public WalkVisitor {
 public:
  void on_walk_start(unsigned jobs, const FileSystemKind& kind) override {
    m_jobs = jobs;
    m_name = kind.name ? kind.name : "";
  }
  void on_cache_dir(Handle, const char*, const std::string&) override { ++m_caches; }
  void on_unreadable(const std::string&, int) override {}
  void on_bad_root(const std::string&, int) override {}
  unsigned m_jobs = 0;
  std::string m_name;
  std::atomic<int> m_caches{0};
};

TEST(WalkJobs, TheVisitorHearsTheWidthBeforeAnyCache) {
  MemFs fs;
  fs.file("/p/a/__pycache__/m.pyc");
  fs.set_kind(FileSystemKind{"nfs", true});
  WidthVisitor latency;
  walk(fs, {"/p"}, WalkOptions{}, latency);
  EXPECT_EQ(latency.m_name, "nfs");
  EXPECT_EQ(latency.m_jobs, walk_jobs(0, FileSystemKind{"nfs", true}, open_file_limit()));
  EXPECT_EQ(latency.m_caches, 1);
  fs.set_kind(FileSystemKind{});
  WidthVisitor local;
  walk(fs, {"/p/a/__pycache__"}, WalkOptions{}, local);  // a named cache too
  EXPECT_EQ(local.m_name, "");
  EXPECT_EQ(local.m_jobs, walk_jobs(0, FileSystemKind{}, open_file_limit()));
  EXPECT_EQ(local.m_caches, 1);
}

// One entry per batch exercises every continuation of the walk and of the
// removal; the default batch, the common case.
INSTANTIATE_TEST_SUITE_P(Batches, MemSweep,
                         ::testing::Combine(::testing::Values(1, DirListing::k_batch_entries),
                                            ::testing::Bool()));

// A CPython 3.11 timestamp pyc for a source of `mtime` and `size`.
std::string pyc311(std::uint32_t mtime, std::uint32_t size) {
  return pyc_header(3495, 0, mtime, size) + code_311();
}

// The stale check against times set to the nanosecond.
class MemCheck : public OnMemFs {
 protected:
  static constexpr std::int64_t k_t = 1'700'000'000;
  // mod.py of 6 bytes and its cache; the cache written at k_t + 10 s.
  MemFs::Node& source() { return *m_fs.find("/p/mod.py"); }
  MemFs::Node& cache() { return *m_fs.find("/p/__pycache__/mod.cpython-311.pyc"); }
  void SetUp() override {
    m_fs.file("/p/mod.py", "X = 1\n");
    m_fs.file("/p/__pycache__/mod.cpython-311.pyc", pyc311(k_t, 6));
    source().mtime_sec = source().ctime_sec = k_t;
    cache().mtime_sec = cache().ctime_sec = k_t + 10;
  }
  CacheClass verdict() {
    CheckOptions options;
    options.verify = VerifyMode::none;
    options.walk.jobs = 2;
    CacheClass cls = CacheClass::ok;
    options.on_finding = [&](const CacheVerdict& v, bool) { cls = v.cls; };
    CheckReport r = check_caches(m_fs, {"/p"}, options);
    EXPECT_EQ(r.checked, 1u);
    return cls;
  }
};

TEST_F(MemCheck, SourceChangedAfterItsCacheKeepingMtimeAndSizeIsSuspect) {
  EXPECT_EQ(verdict(), CacheClass::ok);
  source().ctime_sec = cache().ctime_sec;  // the same instant: no sign of change
  EXPECT_EQ(verdict(), CacheClass::ok);
  source().ctime_nsec = 1;  // one nanosecond later
  EXPECT_EQ(verdict(), CacheClass::suspect);
}

TEST_F(MemCheck, HeaderMtimeOrSizeDifferentIsStale) {
  source().mtime_sec = k_t + 1;
  EXPECT_EQ(verdict(), CacheClass::stale);
  source().mtime_sec = k_t;
  source().data = "X = 12\n";
  EXPECT_EQ(verdict(), CacheClass::stale);
}

// CPython compares int(st_mtime), a double: k_t + 0.999999999 s rounds up to
// k_t + 1 (os.stat: sec + nsec * 1e-9), so the cache holding k_t is stale
// and one holding k_t + 1 is trusted.
TEST_F(MemCheck, MtimeIsTheDoubleCPythonSees) {
  source().mtime_nsec = 999'999'999;
  EXPECT_EQ(verdict(), CacheClass::stale);
  cache().data = pyc311(k_t + 1, 6);
  EXPECT_EQ(verdict(), CacheClass::ok);
  source().mtime_nsec = 999'999'000;  // below the double's rounding: still k_t
  EXPECT_EQ(verdict(), CacheClass::stale);
}

// A source reached through a link is judged by its target, as CPython's
// stat follows it; a cache is never read through a link: one listed as a
// link is passed over, one swapped for a link after listing is unreadable.
TEST_F(MemCheck, SourceThroughALinkCacheNeverThroughOne) {
  m_fs.file("/src/real.py", "X = 1\n");
  m_fs.find("/src/real.py")->mtime_sec = k_t;
  m_fs.symlink("/p/mod.py", "/src/real.py");
  EXPECT_EQ(verdict(), CacheClass::ok);
  m_fs.file("/elsewhere/x.pyc", pyc311(k_t, 6));
  m_fs.symlink("/p/__pycache__/mod.cpython-311.pyc", "/elsewhere/x.pyc");
  CheckOptions options;
  options.remove_not_ok = true;
  CheckReport r = check_caches(m_fs, {"/p"}, options);
  EXPECT_EQ(r.checked, 0u);
  EXPECT_TRUE(r.unreadable.empty());
  cache().list_as(EntryType::file);
  r = check_caches(m_fs, {"/p"}, options);
  EXPECT_EQ(r.checked, 0u);
  ASSERT_EQ(r.unreadable.size(), 1u);
  EXPECT_EQ(r.unreadable[0].error, ELOOP);
  EXPECT_TRUE(m_fs.exists("/elsewhere/x.pyc"));
}

// Another run (a sweep) removes a cache between the listing and the read, or
// its whole `__pycache__`: nothing is unreadable, nothing is judged.
TEST_F(MemCheck, CacheRemovedMeanwhileIsNoFailure) {
  m_fs.file("/p/__pycache__/gone.cpython-311.pyc", pyc311(k_t, 6));
  m_fs.before(Event::read, "/p/__pycache__/gone.cpython-311.pyc",
              [&] { m_fs.find("/p/__pycache__")->children.erase("gone.cpython-311.pyc"); });
  m_fs.file("/q/mod.py", "X = 1\n");
  m_fs.file("/q/__pycache__/mod.cpython-311.pyc", pyc311(k_t, 6));
  m_fs.before(Event::read, "/q/__pycache__/mod.cpython-311.pyc", [&] {
    m_fs.find("/q/__pycache__")->children.clear();   // the sweep empties it...
    m_fs.find("/q")->children.erase("__pycache__");  // ...and removes it
  });
  for (bool removing : {false, true}) {  // the hooks run in the first round
    CheckOptions options;
    options.verify = VerifyMode::none;
    options.remove_not_ok = removing;
    CheckReport r = check_caches(m_fs, {"/p", "/q"}, options);
    EXPECT_TRUE(r.unreadable.empty()) << r.unreadable.front().path;
    EXPECT_TRUE(r.kept.empty());
    EXPECT_EQ(r.checked, 1u);  // /p/__pycache__/mod.cpython-311.pyc alone, ok
    EXPECT_EQ(r.removed, 0u);
  }
}

// clean --stale-only removes what check does not call ok, through the same
// mount-safe opens as the sweep: a cache that is a mount point (another
// device, or a bind mount of the same one) is kept and reported, its stale
// caches untouched; in the mirror, a mount point is never entered.
class MemStaleOnly : public OnMemFs {
 protected:
  CheckReport clean_stale(const std::string& prefix = {}, bool stray = false) {
    CheckOptions options;
    options.verify = VerifyMode::none;
    options.remove_not_ok = true;
    options.remove_stray = stray;
    options.pycache_prefix = prefix;
    options.walk.jobs = 2;
    return check_caches(m_fs, {"/p"}, options);
  }
};

TEST_F(MemStaleOnly, CacheThatIsAMountPointIsKept) {
  m_fs.file("/p/a.py", "A = 1\n");
  m_fs.dir("/p/__pycache__").device = 2;
  m_fs.file("/p/__pycache__/a.cpython-311.pyc", "not a pyc").device = 2;
  m_fs.file("/p/b.py", "B = 1\n");
  m_fs.dir("/p/sub/__pycache__").mount_root = true;
  m_fs.file("/p/sub/c.py", "C = 1\n");
  m_fs.file("/p/sub/__pycache__/c.cpython-311.pyc", "not a pyc either");
  m_fs.file("/p/other/d.py", "D = 1\n");
  m_fs.file("/p/other/__pycache__/d.cpython-311.pyc", "stale");
  CheckReport r = clean_stale();
  EXPECT_TRUE(m_fs.exists("/p/__pycache__/a.cpython-311.pyc"));
  EXPECT_TRUE(m_fs.exists("/p/sub/__pycache__/c.cpython-311.pyc"));
  EXPECT_FALSE(m_fs.exists("/p/other/__pycache__"));
  EXPECT_EQ(r.removed, 1u);
  ASSERT_EQ(r.kept.size(), 2u);
  EXPECT_EQ(r.kept[0].error, k_err_mount_point);
  EXPECT_EQ(r.kept[1].error, k_err_mount_point);
}

TEST_F(MemStaleOnly, StrayFileThatIsAMountPointIsKept) {
  m_fs.file("/p/old.pyc");
  m_fs.file("/p/mounted.pyc", "their data").mount_root = true;
  m_allowed = [](const std::string& path) { return path == "/p/old.pyc"; };
  CheckReport r = clean_stale({}, true);
  EXPECT_FALSE(m_fs.exists("/p/old.pyc"));
  EXPECT_TRUE(m_fs.exists("/p/mounted.pyc"));
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(r.kept[0].error, EBUSY);
}

TEST_F(MemStaleOnly, MountPointInsideTheMirrorIsNeverEntered) {
  m_fs.file("/p/a.py", "A = 1\n");
  m_fs.file("/pfx/p/a.cpython-311.pyc", "stale");
  m_fs.dir("/pfx/p/vol").mount_root = true;
  precious("/pfx/p/vol/n.cpython-311.pyc");
  m_allowed = [](const std::string& path) { return path == "/pfx/p/a.cpython-311.pyc"; };
  CheckReport r = clean_stale("/pfx");
  EXPECT_FALSE(m_fs.exists("/pfx/p/a.cpython-311.pyc"));
  EXPECT_TRUE(m_fs.exists("/pfx/p/vol/n.cpython-311.pyc"));
  ASSERT_EQ(r.unreadable.size(), 1u);
  EXPECT_EQ(r.unreadable[0].error, k_err_mount_point);
}

}  // namespace
}  // namespace pycache_clean::test
