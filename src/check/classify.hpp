#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "check/code_verifier.hpp"
#include "check/verdict.hpp"
#include "fs/fs_ops.hpp"
#include "sweep/remove.hpp"

namespace pycache_clean {

// Judging one cache as CPython would when importing its source: the facts
// are gathered here (one open, fstat and read of the cache; the source's
// stat, hash or compiled code), then judged by the rules (rules.hpp).

// The sources of one directory, each looked up once for all its caches
// (one per interpreter, -O level, and pytest's rewrite beside the plain
// one): module -> its file name and stat, or that there is none. Bounded by
// its user, who clears it after each batch of a listing.
class SourceMemo {
 public:
  // find_source's answer for `module` in `dir`, from memory after the first.
  std::string find(FsOps& fs, Handle dir, const std::string& module, FileStat& st);
  // Whether a regular package of `module`'s name stands in `dir`, once.
  bool is_package(FsOps& fs, Handle dir, const std::string& module);
  void clear() {
    m_entries.clear();
    m_last_key = nullptr;
    m_last = nullptr;
  }

 private:
  struct Entry {
    std::string name;  // empty: no source
    FileStat stat;
    int package = -1;  // a regular package of the module's name beside it: -1 not looked
  };
  Entry& entry(FsOps& fs, Handle dir, const std::string& module);
  std::unordered_map<std::string, Entry> m_entries;
  // The last entry looked up (find, then is_package, ask for one module in
  // turn): no second hash. Elements of an unordered_map never move.
  const std::string* m_last_key = nullptr;
  Entry* m_last = nullptr;
};

// Where a cache lies: file `name` in `cache_dir`, its source (if any) in
// `source_dir` (the parent of `__pycache__`, the same directory for a legacy
// `foo.pyc`, the mapped directory for a mirror cache; k_no_handle when that
// directory is missing). `path` names the cache for the user, and
// `source_dir_path` (mirror only) that directory.
struct CacheSite {
  Handle source_dir;
  Handle cache_dir;
  const char* name;
  CacheFileKind kind;
  const std::string& path;
  std::string_view source_dir_path = {};
  SourceMemo* sources = nullptr;  // shared by the caches of one listing batch
};

// How far to go beyond CPython's own header rules.
struct JudgeOptions {
  VerifyMode verify = VerifyMode::none;
  CodeVerifier* verifier = nullptr;  // required unless verify is none
  int verify_timeout_ms = CodeVerifier::k_default_verify_timeout_ms;  // 0: none
  // Judge only caches whose inode changed (they were written) at or after
  // this time, seconds since the epoch; negative: all. For a test run that
  // drops, when it ends, what it wrote and its sources then outdated.
  double written_since = -1;
};

// Judges one bytecode file, as CPython would when importing its source.
// Without verification the verdict depends on the files alone, never on
// which interpreters are installed.
CacheVerdict classify_cache(FsOps& fs, const CacheSite& site, const JudgeOptions& judge = {});

}  // namespace pycache_clean
