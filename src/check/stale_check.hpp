#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "check/code_verifier.hpp"
#include "fs/fs_ops.hpp"
#include "pyc/pyc.hpp"
#include "sweep/remove.hpp"
#include "sweep/sweep.hpp"
#include "sweep/walker.hpp"

namespace pycache_clean {

enum class CacheClass { ok, stale, suspect, orphan, orphan_importable, foreign, corrupt };
inline constexpr int k_cache_class_count = 7;

// `ok`, `stale`, `suspect`, `orphan`, `orphan-importable`, `foreign`, `corrupt`.
const char* cache_class_name(CacheClass c);

// Whether a finding of this class makes `check` exit 1: CPython would load
// code that is not the source's (suspect, importable orphan) or the file is
// not a cache at all (corrupt).
bool is_gate_failure(CacheClass c);

// Whether a verdict was proved by compiling the source (VerifyMode).
enum class Verification {
  none,        // not needed, or not asked for
  compiled,    // the source was compiled and the code compared
  unverified,  // wanted, but no interpreter answered: the header/ctime judgement stands
};

// `none`, `compiled`, `unverified`.
const char* verification_name(Verification v);

// Why a cache that was to be proved by compiling was not (Verification::unverified).
enum class Unverified : std::uint8_t {
  no_interpreter,  // no interpreter of its version answered
  too_large,       // its source or body is larger than CodeVerifier::k_max_verified_bytes
  timed_out,       // the interpreter took longer than the deadline (and was killed)
  unreadable,      // its source or body could not be read to be sent
};
inline constexpr int k_unverified_reasons = 4;
// Its name in --json: `no_interpreter`, `too_large`, `timed_out`, `unreadable`.
const char* unverified_reason_name(Unverified why);

struct CacheVerdict {
  std::string path;
  // Where the cache lies: inside __pycache__, a legacy .pyc beside its
  // source, or in the pycache-prefix mirror (what clears it follows from it).
  CacheFileKind kind = CacheFileKind::in_pycache;
  CacheClass cls = CacheClass::ok;
  std::string reason;
  int error = 0;  // nonzero: the cache or its source could not be read (no verdict)
  Verification verification = Verification::none;
  Unverified unverified = Unverified::no_interpreter;  // with Verification::unverified
  // Its trust is proved: by compiling, or by a source hash equal to the
  // header's. An ok cache not proved was trusted on its header and times.
  bool proved = false;
  // Not judged at all: written before JudgeOptions::written_since.
  bool skipped = false;
};

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

struct CheckOptions {
  WalkOptions walk;
  // clean --stale-only: remove every cache not judged ok, then each
  // __pycache__ left empty.
  bool remove_not_ok = false;
  // With remove_not_ok: also legacy *.pyc/*.pyo outside __pycache__ (--stray).
  bool remove_stray = false;
  // With remove_not_ok: decide as if removing, through the same opens, and
  // remove nothing (removable counts what would go).
  bool dry_run = false;
  // PYTHONPYCACHEPREFIX: also judge the caches CPython mirrors there for each root.
  std::string pycache_prefix;
  // Which trusted caches to prove by compiling their source.
  VerifyMode verify = VerifyMode::changed;
  // How long one compile may take (0: no limit); then it is not verified.
  int verify_timeout_ms = CodeVerifier::k_default_verify_timeout_ms;
  // JudgeOptions::written_since.
  double written_since = -1;
  // Each cache not judged ok, as it is found (one call at a time, from any
  // worker), and whether remove_not_ok removes it (or, dry, would). Nothing
  // keeps them: memory does not grow with their number.
  std::function<void(const CacheVerdict&, bool removable)> on_finding;
  // Each entry kept, unreadable or a missing PATH, as it happens (one call
  // at a time): the report keeps them too, in bounded memory.
  std::function<void(ProblemKind, const PathProblem&)> on_problem;
  // With walk.tagged: each directory carrying a valid CACHEDIR.TAG, with the
  // bytes of its files (`complete` false: some of it could not be read).
  std::function<void(const std::string& path, std::uint64_t bytes, bool complete)> on_tagged;
};

struct CheckReport : WalkReport {
  // Symbolic links CPython would follow to caches that the walk does not
  // (to a directory, named __pycache__, or a cache file): not checked.
  ProblemLog links;
  std::uint64_t checked = 0;
  std::uint64_t counts[k_cache_class_count] = {};
  std::uint64_t removable = 0;     // not ok, and removable with remove_not_ok
  std::uint64_t removed = 0;       // with remove_not_ok
  bool dry_run = false;            // remove_not_ok with dry_run: nothing removed
  std::uint64_t tagged_dirs = 0;   // with walk.tagged: directories with a valid CACHEDIR.TAG
  std::uint64_t tagged_bytes = 0;  // ... and the bytes of their files
  std::uint64_t verified = 0;      // caches whose source was compiled and compared
  std::uint64_t unverified = 0;    // wanted verification, not done
  std::uint64_t unverified_by[k_unverified_reasons] = {};  // ... by Unverified reason
  // ok on the header and inode times alone, no proof (--verify auto or
  // none: what a copy with `cp -p`, a chmod after the edit, or a restore
  // between CPython's read and its write leave no trace of).
  std::uint64_t trusted_unproved = 0;
  std::map<std::string, std::string> interpreters;  // version -> interpreter used
  bool gate_failed() const;
};

// Walks `roots` like `clean` (same walker, excludes, symlink rules) and judges
// every cache found; removes the bad ones with remove_not_ok.
CheckReport check_caches(FsOps& fs, const std::vector<std::string>& roots,
                         const CheckOptions& options);

}  // namespace pycache_clean
