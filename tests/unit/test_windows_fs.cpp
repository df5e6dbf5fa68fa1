// Windows-only unit tests: what makes an entry "locked" there (sharing
// violations, the read-only attribute), paths longer than MAX_PATH, and names
// that are not valid UTF-16.
#include "platform/file_lock.hpp"
#include "sweep/sweep.hpp"

#include "platform/windows/win32.hpp"
#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

std::wstring wide(const std::string& path) {
  return win::long_path(path);
}

TEST(WindowsText, Utf8RoundTripsIncludingUnpairedSurrogates) {
  std::wstring names[] = {L"plain",
                          L"caf\u00e9",
                          L"\U0001F40D.py",
                          std::wstring(L"a\xD800z"),
                          std::wstring(L"\xDC00"),
                          std::wstring(L"\xDBFF\xDFFF")};
  for (const auto& n : names) EXPECT_EQ(win::widen(win::narrow(n)), n);
  EXPECT_EQ(win::narrow(L"\U0001F40D"), "\xF0\x9F\x90\x8D");
  EXPECT_EQ(win::widen("\xFF"
                       "a"),
            L"\xFFFD"
            L"a");  // not UTF-8: replaced, never a crash
}

TEST(WindowsErrors, StatusesMapToTheErrnoTheSweepReports) {
  EXPECT_EQ(win::errno_from_status(static_cast<NTSTATUS>(0xC0000043u)), EBUSY);   // sharing
  EXPECT_EQ(win::errno_from_status(static_cast<NTSTATUS>(0xC0000022u)), EACCES);  // denied
  EXPECT_EQ(win::errno_from_status(static_cast<NTSTATUS>(0xC0000034u)), ENOENT);  // not found
  EXPECT_EQ(win::errno_from_status(static_cast<NTSTATUS>(0xC0000101u)), ENOTEMPTY);
  EXPECT_EQ(win::errno_from_win32(ERROR_SHARING_VIOLATION), EBUSY);
}

TEST(WindowsSweep, ReadOnlyCacheFileIsRemoved) {
  TempDir t;
  write_file(t / "pkg/__pycache__/m.cpython-311.pyc");
  ASSERT_TRUE(SetFileAttributesW(wide(t / "pkg/__pycache__/m.cpython-311.pyc").c_str(),
                                 FILE_ATTRIBUTE_READONLY));
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_FALSE(exists(t / "pkg/__pycache__"));
}

TEST(WindowsSweep, FileHeldWithoutShareDeleteIsKeptReportedAndTheSweepGoesOn) {
  TempDir t;
  write_file(t / "held/__pycache__/m.cpython-311.pyc");
  write_file(t / "free/__pycache__/m.cpython-311.pyc");
  // What a running Python or an editor does: open without FILE_SHARE_DELETE.
  HANDLE h = CreateFileW(wide(t / "held/__pycache__/m.cpython-311.pyc").c_str(), GENERIC_READ,
                         FILE_SHARE_READ, nullptr, OPEN_EXISTING, 0, nullptr);
  ASSERT_NE(h, INVALID_HANDLE_VALUE);
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_EQ(r.found, 2u);
  EXPECT_EQ(r.removed, 1u);
  ASSERT_FALSE(r.kept.empty());
  EXPECT_EQ(r.kept.front().error, EBUSY);
  EXPECT_NE(r.kept.front().path.find("m.cpython-311.pyc"), std::string::npos);
  EXPECT_TRUE(exists(t / "held/__pycache__/m.cpython-311.pyc"));
  EXPECT_FALSE(exists(t / "free/__pycache__"));
  CloseHandle(h);
  r = run_sweep(real_fs(), t.path());  // released: the next sweep takes it
  EXPECT_EQ(r.removed, 1u);
  EXPECT_FALSE(exists(t / "held/__pycache__"));
}

TEST(WindowsSweep, PathsLongerThanMaxPath) {
  TempDir t;
  std::string dir = t.path();
  for (int i = 0; i < 6; ++i) {  // 6 * 61 characters on top of the temp dir > 260
    dir += "/" + std::string(60, static_cast<char>('a' + i));
    ASSERT_TRUE(CreateDirectoryW(wide(dir).c_str(), nullptr)) << GetLastError();
  }
  ASSERT_GT(dir.size(), 300u);
  ASSERT_TRUE(CreateDirectoryW(wide(dir + "/__pycache__").c_str(), nullptr));
  HANDLE f = CreateFileW(wide(dir + "/__pycache__/m.pyc").c_str(), GENERIC_WRITE, 0, nullptr,
                         CREATE_NEW, 0, nullptr);
  ASSERT_NE(f, INVALID_HANDLE_VALUE);
  CloseHandle(f);
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(GetFileAttributesW(wide(dir + "/__pycache__").c_str()), INVALID_FILE_ATTRIBUTES);
  r = run_sweep(real_fs(), dir);  // a root that long, named directly
  EXPECT_EQ(r.found, 0u);
  EXPECT_TRUE(r.kept.empty());
}

TEST(WindowsSweep, NameWithUnpairedSurrogateIsSwept) {
  TempDir t;
  std::wstring odd = std::wstring(L"odd") + L'\xD800';
  std::wstring base = wide(t.path());
  if (!CreateDirectoryW((base + L"\\" + odd).c_str(), nullptr))
    GTEST_SKIP() << "this file system refuses a name with an unpaired surrogate (error "
                 << GetLastError() << ")";
  ASSERT_TRUE(CreateDirectoryW((base + L"\\" + odd + L"\\__pycache__").c_str(), nullptr));
  HANDLE f = CreateFileW((base + L"\\" + odd + L"\\__pycache__\\" + odd + L".pyc").c_str(),
                         GENERIC_WRITE, 0, nullptr, CREATE_NEW, 0, nullptr);
  ASSERT_NE(f, INVALID_HANDLE_VALUE);
  CloseHandle(f);
  SweepReport r = run_sweep(real_fs(), t.path());
  EXPECT_EQ(r.found, 1u);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(GetFileAttributesW((base + L"\\" + odd + L"\\__pycache__").c_str()),
            INVALID_FILE_ATTRIBUTES);
}

TEST(WindowsLock, RecordStaysReadableWhileLocked) {
  TempDir t;
  FileLock holder;
  ASSERT_EQ(holder.open(t / "l.lock", LockFileOpen{}), 0);
  ASSERT_EQ(holder.try_lock(FileLock::Mode::exclusive), 0);
  ASSERT_EQ(holder.write_record("pid=1\n"), 0);
  FileLock waiter;
  LockFileOpen existing;
  existing.create = false;
  ASSERT_EQ(waiter.open(t / "l.lock", existing), 0);
  EXPECT_EQ(waiter.try_lock(FileLock::Mode::exclusive), EWOULDBLOCK);
  EXPECT_EQ(waiter.read_record(), std::string(k_lock_record_signature) +
                                      "pid=1\n");  // the locked range is past the record
  holder.unlock();
  EXPECT_EQ(waiter.try_lock(FileLock::Mode::exclusive), 0);
}

}  // namespace
}  // namespace pycache_clean::test
