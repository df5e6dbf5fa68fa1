#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "check/classify.hpp"
#include "check/code_verifier.hpp"
#include "fs/fs_ops.hpp"
#include "pyc/pyc.hpp"
#include "sweep/remove.hpp"
#include "sweep/sweep.hpp"
#include "sweep/walker.hpp"

namespace pycache_clean {

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
