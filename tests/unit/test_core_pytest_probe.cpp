#include "guard/pytest_argv.hpp"
#include "guard/pytest_probe.hpp"
#include "platform/file_lock.hpp"
#include "platform/process.hpp"

#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

using Argv = std::vector<std::string>;

TEST(PytestMatch, RecognisesPytestByStructure) {
  for (const Argv& argv : std::vector<Argv>{
           {"pytest"},
           {"/usr/bin/pytest", "-x", "tests"},
           {"py.test"},
           {"pytest-3"},
           {"pytest-3.11", "-q"},
           {"C:\\Python311\\Scripts\\pytest.exe"},
           {"/usr/bin/python3", "/usr/bin/pytest", "-q"},
           {"python3", "-m", "pytest"},
           {"python3.11", "-mpytest", "-n", "2"},
           {"python", "-X", "dev", "-W", "error", "-m", "pytest"},
           {"py", "-3", "-m", "pytest"},
           {"pypy3", "-m", "pytest"},
           {"python3.13t", "-m", "pytest"},
           {"python", "/opt/pycharm/plugins/python/helpers/pycharm/_jb_pytest_runner.py"},
           {"python", "/x/run_pytest_script.py", "--path", "t"},
           {"coverage", "run", "-m", "pytest"},
       }) {
    EXPECT_TRUE(is_pytest_command(argv)) << ::testing::PrintToString(argv);
  }
}

TEST(PytestMatch, NeverBySubstring) {
  for (const Argv& argv : std::vector<Argv>{
           {"bash", "-c", "if pgrep -f pytest; then exit 0; fi; python -m pytest"},
           {"vim", "test_pytest.py"},
           {"vim", "pytest"},
           {"grep", "pytest"},
           {"pre-commit", "run", "--files", "pytest.ini"},
           {"sleep", "100", "pytest"},
           {"python3", "-c", "import pytest; pytest.main()"},
           {"python3", "-m", "pip", "install", "pytest"},
           {"python3", "mypytest.py"},
           {"python3", "script.py", "-m", "pytest"},
           {"pytestify"},
           {"pytest-runner-thing"},
           {},
       }) {
    EXPECT_FALSE(is_pytest_command(argv)) << ::testing::PrintToString(argv);
  }
}

TEST(PytestMatch, Interpreters) {
  EXPECT_TRUE(is_python_interpreter("/usr/bin/python3.11"));
  EXPECT_TRUE(is_python_interpreter("python.exe"));
  EXPECT_TRUE(is_python_interpreter("py"));
  EXPECT_FALSE(is_python_interpreter("pythonista"));
  EXPECT_FALSE(is_python_interpreter("bash"));
}

TEST(PytestMatch, ThisProgramAndItsArguments) {
  EXPECT_TRUE(is_pycache_clean_command({"/usr/local/bin/pycache-clean", "test"}));
  EXPECT_TRUE(is_pycache_clean_command({"C:\\tools\\pycache-clean.exe"}));
  EXPECT_FALSE(is_pycache_clean_command({"pycache-cleaner"}));
  EXPECT_FALSE(is_pycache_clean_command({}));
  EXPECT_TRUE(has_argument({"pytest", "-p", "pycache_clean"}, "pycache_clean"));
  EXPECT_FALSE(has_argument({"pytest", "--", "pycache_clean"}, "pycache_clean"));
}

// The probe judges what it is handed: a process table, an environment, its
// own pid and uid, the repository's worktrees and the marker's path. Nothing
// here changes this process's environment or working directory.
class ProbeTable : public ::testing::Test {
 protected:
  static constexpr long k_self = 4242;
  static constexpr long k_uid = 1000;
  void SetUp() override {
    fs::create_directories(m_dir / "repo/src");
    fs::create_directories(m_dir / "elsewhere");
    m_repo = fs::canonical(fs::u8path(m_dir / "repo")).u8string();
    m_elsewhere = fs::canonical(fs::u8path(m_dir / "elsewhere")).u8string();
  }
  ProcessInfo process(long pid, long ppid, Argv argv, const std::string& cwd) {
    return ProcessInfo{pid, ppid, k_uid, std::move(argv), cwd, 0};
  }
  // Inputs for a probe from process k_self, working in the repository,
  // whose marker lock does not exist.
  ProbeInputs inputs(std::vector<ProcessInfo> table) {
    ProbeInputs in;
    in.self_pid = k_self;
    in.uid = k_uid;
    in.repo_roots = {m_repo};
    in.marker_path = m_dir / "pycache-clean-pytest.lock";
    in.marker_why = "in the test's directory";
    in.processes = std::move(table);
    return in;
  }
  TempDir m_dir;
  std::string m_repo;
  std::string m_elsewhere;
};

TEST_F(ProbeTable, FindsPytestInThisRepositoryOnly) {
  std::vector<ProcessInfo> table = {
      process(900001, 1, {"python3", "-m", "pytest"}, m_repo + "/src"),
      process(900002, 900001, {"python3", "-c", "import sys;exec(eval(sys.stdin.readline()))"},
              m_repo),  // xdist worker
      process(900003, 1, {"pytest"}, m_elsewhere),
      process(900004, 1, {"bash", "-c", "pytest"}, m_repo),
  };
  PytestProbe repo_probe = probe_pytest(PytestScope::repo, inputs(table));
  EXPECT_TRUE(repo_probe.running);
  EXPECT_EQ(repo_probe.evidence, "process");
  ASSERT_EQ(repo_probe.runs.size(), 2u);
  EXPECT_EQ(repo_probe.runs[0].pid, 900001);
  EXPECT_EQ(repo_probe.runs[1].pid, 900002);
  PytestProbe user_probe = probe_pytest(PytestScope::user, inputs(table));
  EXPECT_EQ(user_probe.runs.size(), 3u);
}

// A holder of the marker leaves out the runs that wait for it: started by
// `pycache-clean test`, the plugin on the command line, or a pytest-session
// child (and their xdist workers); a plain pytest still counts.
TEST_F(ProbeTable, HolderIgnoresRunsThatTakePart) {
  const std::string& repo = m_repo;
  std::vector<ProcessInfo> table = {
      process(900010, 1, {"/usr/bin/pycache-clean", "test", "--", "python3", "-m", "pytest"}, repo),
      process(900011, 900010, {"python3", "-m", "pytest"}, repo),
      process(900012, 1, {"python3", "-m", "pytest", "-p", "pycache_clean"}, repo),
      process(900013, 1, {"pytest", "-n", "2"}, repo),
      process(900014, 900013, {"/opt/bin/pycache-clean", "pytest-session", "--wait", "120"}, repo),
      process(900015, 900013, {"python3", "-c", "import sys;exec(eval(sys.stdin.readline()))"},
              repo),
      process(900016, 1, {"pytest", "-q"}, repo),
      // `test` as a PATH after `--` is no `pycache-clean test`.
      process(900017, 1, {"pycache-clean", "lock", "--", "sh", "test"}, repo),
      process(900018, 900017, {"pytest"}, repo),
  };
  PytestProbe all = probe_pytest(PytestScope::repo, inputs(table));
  EXPECT_EQ(all.runs.size(), 7u);  // the `test` wrapper itself holds `-m pytest`
  ProbeInputs holder = inputs(table);
  holder.holds_marker = true;
  PytestProbe outside = probe_pytest(PytestScope::repo, holder);
  ASSERT_EQ(outside.runs.size(), 2u);
  EXPECT_EQ(outside.runs[0].pid, 900016);
  EXPECT_EQ(outside.runs[1].pid, 900018);
}

TEST_F(ProbeTable, OtherUsersCountOnlyWithScopeAll) {
  std::vector<ProcessInfo> table = {process(900001, 1, {"pytest"}, "/")};
  table[0].uid = k_uid + 1;
  EXPECT_FALSE(probe_pytest(PytestScope::user, inputs(table)).running);
  EXPECT_TRUE(probe_pytest(PytestScope::all, inputs(table)).running);
}

TEST_F(ProbeTable, ThisProcessAndItsAncestorsAreExcluded) {
  std::vector<ProcessInfo> table = {
      process(900010, 1, {"pytest"}, m_repo),
      process(900011, 900010, {"bash", "-c", "..."}, m_repo),
      process(k_self, 900011, {"python3", "-m", "pytest"}, m_repo),
  };
  EXPECT_FALSE(probe_pytest(PytestScope::repo, inputs(table)).running);
  table[2].pid = k_self + 1;  // the same table seen from another process
  EXPECT_TRUE(probe_pytest(PytestScope::repo, inputs(table)).running);
}

// Windows keeps a dead parent's pid in its children; a later process may reuse
// it. A "parent" that started after the child is not its ancestor.
TEST_F(ProbeTable, ParentPidReusedByALaterProcessIsNotAnAncestor) {
  ProcessInfo parent = process(900020, 1, {"pytest"}, m_repo);
  ProcessInfo self = process(k_self, 900020, {"python3", "-m", "pytest"}, m_repo);
  self.start_ticks = 100;
  parent.start_ticks = 500;  // the pid was reused by a pytest started later
  PytestProbe p = probe_pytest(PytestScope::repo, inputs({parent, self}));
  EXPECT_TRUE(p.running);
  ASSERT_EQ(p.runs.size(), 1u);
  EXPECT_EQ(p.runs[0].pid, 900020);
  parent.start_ticks = 50;  // the real parent: an ancestor, left out
  EXPECT_FALSE(probe_pytest(PytestScope::repo, inputs({parent, self})).running);
}

TEST_F(ProbeTable, EnvironmentIsTheFirstEvidence) {
  ProbeInputs in = inputs({});
  in.environment["PYTEST_CURRENT_TEST"] = "t.py::test (call)";
  PytestProbe p = probe_pytest(PytestScope::repo, in);
  EXPECT_TRUE(p.running);
  EXPECT_EQ(p.evidence, "environment");
  in.environment = {{"PYTEST_RUNNING", "0"}, {"PYTEST_VERSION", ""}};  // neither counts
  EXPECT_FALSE(probe_pytest(PytestScope::repo, in).running);
}

// The marker lock held shared is a marked test run, with no process to see;
// held exclusively it is a fixer; held by the caller it is no evidence at all.
TEST_F(ProbeTable, MarkerHeldSharedIsATestRun) {
  ProbeInputs in = inputs({});
  write_file(in.marker_path, "");
  // The probe judges what read_marker saw; the lock itself is only read there.
  auto look = [&] {
    in.marker = read_marker(in.marker_path, in.holds_marker);
    return probe_pytest(PytestScope::repo, in);
  };
  EXPECT_FALSE(look().running);  // free
  FileLock held;
  ASSERT_EQ(held.open(in.marker_path, LockFileOpen{}), 0);
  ASSERT_EQ(held.try_lock(FileLock::Mode::shared), 0);
  PytestProbe p = look();
  EXPECT_TRUE(p.running);
  EXPECT_EQ(p.evidence, "marker");
  in.holds_marker = true;
  p = look();
  EXPECT_FALSE(p.running);
  ASSERT_GE(p.considered.size(), 2u);
  EXPECT_EQ(p.considered[1],
            "marker " + in.marker_path + " (in the test's directory): taken by this command");
  in.holds_marker = false;
  held.unlock();
  ASSERT_EQ(held.try_lock(FileLock::Mode::exclusive), 0);
  EXPECT_FALSE(look().running);  // a fixer's, not a test run
  // The judgement is pure: the same inputs, the same answer, whatever the
  // lock does meanwhile.
  in.marker.lock = MarkerState::Lock::shared;
  held.unlock();
  EXPECT_TRUE(probe_pytest(PytestScope::repo, in).running);
}

}  // namespace
}  // namespace pycache_clean::test
