#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "check/verdict.hpp"
#include "fs/fs_ops.hpp"
#include "pyc/pyc.hpp"

namespace pycache_clean {

// CPython's rules for trusting a cache, as pure functions of facts gathered
// elsewhere (classify.cpp): no I/O here, so every rule is tested on values.

// What the judgement of a cache knows of its source, gathered once by I/O
// so that the judgement itself (judge_trust) is a pure function of facts.
struct SourceFacts {
  std::string name;  // its file name in the source directory ("mod.py")
  FileStat stat;     // through a link, as CPython's stat
  // A hash-based cache only: the source's hash as _imp.source_hash computes
  // it for the cache's magic (empty where none can be computed).
  std::optional<std::uint64_t> hash;
};

// CPython's trust in a cache whose header it can use (its tag and magic are
// CPython 3.`minor`'s), by the header against the source: the hash, or the
// mtime and size; then the ctimes, for a source changed after its cache.
struct TrustJudgement {
  CacheVerdict verdict;         // stale (CPython recompiles), suspect, or ok
  bool sign_of_change = false;  // what VerifyMode::changed compiles
  bool proved_by_hash = false;  // the source's hash is the header's: nothing to compile
};
TrustJudgement judge_trust(const PycHeader& header, int minor, const FileStat& cache,
                           const SourceFacts& source);

// Whether a source whose inode changed at `src` (seconds, nanoseconds)
// shows a sign of change since its cache's inode changed at `pyc`: it is at
// or after it, within the file system's granularity (whole-second
// timestamps on both: 2 s, as FAT's).
bool changed_since(std::int64_t src_sec, std::int64_t src_nsec, std::int64_t pyc_sec,
                   std::int64_t pyc_nsec);

// The source mtime CPython 3.6+ compares with a timestamp pyc's: int() of the
// double os.stat gives (`sec + nsec * 1e-9`).
std::int64_t cpython_mtime(std::int64_t sec, std::int64_t nsec);
// Whether a timestamp pyc `header` matches a source of `mtime` (cpython_mtime)
// and `size` for CPython 3.`minor` (32-bit mask on mtime from 3.7, not in 3.6).
bool timestamp_matches(const PycHeader& header, int minor, std::int64_t mtime, std::int64_t size);

// Whether CPython 3.`minor` (3.11+) imports top-level module `module` from
// its frozen standard library rather than from a path entry.
bool is_frozen_module(int minor, const std::string& module);

}  // namespace pycache_clean
