#pragma once

// Shared helpers for the unit tests: a temporary directory per test (removed
// when the test passed, kept for inspection when it failed), small file
// helpers, and FaultyFs, the failure-injection seam over the real FsOps.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fs/fs_ops.hpp"
#include "platform/path.hpp"
#include "sweep/sweep.hpp"

namespace pycache_clean::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device seed;
    std::mt19937_64 rng(seed());
    for (int attempt = 0;; ++attempt) {
      fs::path p = fs::temp_directory_path() / ("pycache-clean-unit-" + std::to_string(rng()));
      std::error_code ec;
      if (fs::create_directory(p, ec)) {
        m_path = p.generic_u8string();
        break;
      }
      if (attempt > 100) throw std::runtime_error("cannot create a temporary directory");
    }
  }
  ~TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    if (info && info->result()->Failed()) {
      std::fprintf(stderr, "kept test directory %s\n", m_path.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  const std::string& path() const { return m_path; }
  std::string operator/(const std::string& rel) const { return m_path + "/" + rel; }

 private:
  std::string m_path;
};

inline void write_file(const std::string& path, const std::string& content = "x") {
  fs::create_directories(fs::u8path(path).parent_path());
  std::ofstream(fs::u8path(path), std::ios::binary) << content;
}

// `v` as 4 bytes, little-endian, as pyc headers hold their words.
inline std::string read_text(const std::string& path) {
  std::ifstream in(fs::u8path(path), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string le32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A PEP 552 pyc header: magic + "\r\n", flags, then the mtime and size
// (timestamp pyc) or the two halves of the source hash (hash-based pyc).
inline std::string pyc_header(std::uint16_t magic, std::uint32_t flags, std::uint32_t a,
                              std::uint32_t b) {
  return le32(magic | (0x0a0dU << 16)) + le32(flags) + le32(a) + le32(b);
}

// The smallest code object CPython 3.11+ loads, as marshal writes it: five
// zero ints (argcount, posonlyargcount, kwonlyargcount, stacksize, flags),
// empty co_code, consts, names, localsplusnames and kinds, empty filename,
// name and qualname, firstlineno 0, empty linetable and exceptiontable.
// `consts` replaces the empty consts tuple (give a whole marshalled tuple).
inline std::string code_311(const std::string& consts = std::string(")\0", 2)) {
  std::string ints(20, '\0');
  std::string empty_bytes("s\0\0\0\0", 5);
  std::string empty_tuple(")\0", 2);
  std::string empty_str("z\0", 2);
  return "c" + ints + empty_bytes + consts + empty_tuple + empty_tuple + empty_bytes + empty_str +
         empty_str + empty_str + std::string(4, '\0') + empty_bytes + empty_bytes;
}

// A directory that git would take for a git directory: HEAD, objects/, refs/.
inline void make_git_dir(const std::string& path) {
  write_file(path + "/HEAD", "ref: refs/heads/main\n");
  fs::create_directories(fs::u8path(path + "/objects"));
  fs::create_directories(fs::u8path(path + "/refs"));
}

inline bool exists(const std::string& path) {
  std::error_code ec;
  return fs::symlink_status(fs::u8path(path), ec).type() != fs::file_type::not_found && !ec;
}

// `path` in this platform's normal form ("C:\\a\\b" for "C:/a/b/." on Windows),
// to compare paths rather than spellings.
inline std::string normal(const std::string& path) {
  return fs::u8path(path).lexically_normal().u8string();
}

// One sweep of `root` with two walker threads (so that the parallel walk is
// what every test exercises).
inline SweepReport run_sweep(FsOps& fs, const std::string& root, SweepOptions options = {}) {
  options.walk.jobs = 2;
  return sweep(fs, {root}, options, nullptr);
}

// Platform parts of the test support (support_posix.cpp, support_windows.cpp).
void set_env(const std::string& name, const std::string& value);
void unset_env(const std::string& name);
// Creates a link at `link` to directory `target` (a symlink on POSIX, a
// junction on Windows). Returns false, with the reason in `why`, where the
// platform or the file system cannot.
bool make_directory_link(const std::string& target, const std::string& link, std::string& why);

enum class Op { open_root, open_dir, read_dir, remove, stat, read_file };

// Wraps the real file system; the `nth` call (1-based, counting only calls on
// an entry named `name`, or every call when `name` is empty) of operation `op`
// fails with `error`. `times` failures in a row (0 = from then on, always).
class FaultyFs final : public FsOps {
 public:
  struct Rule {
    Op op;
    std::string name;
    int nth = 1;
    int error = EACCES;
    int times = 1;
    int seen = 0;
  };
  void fail(Op op, std::string name, int error, int nth = 1, int times = 1) {
    m_rules.push_back(Rule{op, std::move(name), nth, error, times, 0});
  }
  int calls(Op op) const { return m_calls[static_cast<int>(op)]; }

  Result<Handle> open_root(const std::string& path) override {
    if (int e = check(Op::open_root, path)) return Failed{e};
    return real_fs().open_root(path);
  }
  Result<Handle> open_dir(Handle parent, const char* name) override {
    if (int e = check(Op::open_dir, name)) return Failed{e};
    return real_fs().open_dir(parent, name);
  }
  Result<Handle> open_dir_same_mount(Handle parent, const char* name) override {
    if (int e = check(Op::open_dir, name)) return Failed{e};
    return real_fs().open_dir_same_mount(parent, name);
  }
  void close(Handle h) override { real_fs().close(h); }
  int read_dir(Handle dir, DirListing& out) override {
    if (int e = check(Op::read_dir, "")) return e;
    if (!m_unknown_types) return real_fs().read_dir(dir, out);
    DirListing real;
    int err = real_fs().read_dir(dir, real);
    out.clear();
    for (std::size_t i = 0; i < real.size(); ++i) out.add(real.name_view(i), EntryType::unknown);
    if (real.at_end()) out.set_at_end();
    return err;
  }
  // Lists every entry with an unknown type, as some file systems do (d_type DT_UNKNOWN).
  void report_unknown_types() { m_unknown_types = true; }
  int identify(Handle dir, DirIdentity& out) override { return real_fs().identify(dir, out); }
  int remove(Handle parent, const char* name, bool directory) override {
    if (int e = check(Op::remove, name)) return e;
    return real_fs().remove(parent, name, directory);
  }
  int stat(Handle parent, const char* name, FileStat& out) override {
    if (int e = check(Op::stat, name)) return e;
    return real_fs().stat(parent, name, out);
  }
  int stat_follow(Handle parent, const char* name, FileStat& out) override {
    if (int e = check(Op::stat, name)) return e;
    return real_fs().stat_follow(parent, name, out);
  }
  int read_head(Handle parent, const char* name, char* buffer, std::size_t capacity,
                std::size_t& got, FileStat& st) override {
    if (int e = check(Op::read_file, name)) return e;
    return real_fs().read_head(parent, name, buffer, capacity, got, st);
  }
  int read_at(Handle parent, const char* name, std::uint64_t offset, char* buffer,
              std::size_t capacity, std::size_t& got) override {
    if (int e = check(Op::read_file, name)) return e;
    return real_fs().read_at(parent, name, offset, buffer, capacity, got);
  }
  int read_bounded(Handle parent, const char* name, std::size_t max_bytes,
                   const ChunkSink& sink) override {
    if (int e = check(Op::read_file, name)) return e;
    return real_fs().read_bounded(parent, name, max_bytes, sink);
  }
  int read_source(Handle parent, const char* name, const ChunkSink& sink) override {
    if (int e = check(Op::read_file, name)) return e;
    return real_fs().read_source(parent, name, sink);
  }
  int owned_by_caller(Handle parent, const char* name, bool& mine) override {
    if (int e = check(Op::stat, name)) return e;
    return real_fs().owned_by_caller(parent, name, mine);
  }

 private:
  bool m_unknown_types = false;
  int check(Op op, const std::string& name) {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_calls[static_cast<int>(op)];
    for (auto& r : m_rules) {
      if (r.op != op || (!r.name.empty() && r.name != name)) continue;
      ++r.seen;
      if (r.seen >= r.nth && (r.times == 0 || r.seen < r.nth + r.times)) return r.error;
    }
    return 0;
  }
  std::mutex m_mutex;
  std::vector<Rule> m_rules;
  int m_calls[6] = {};
};

}  // namespace pycache_clean::test
