#pragma once

#include <cstdint>
#include <string>

#include "sweep/remove.hpp"

namespace pycache_clean {

// What `check` says of one cache: its class, why, and how sure it is.

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

// A verdict of `cls` for `reason`; classify_cache stamps the cache's path and
// kind on it once.
CacheVerdict verdict_of(CacheClass cls, std::string reason);
// No verdict: the cache or its source could not be read (`err`).
CacheVerdict unreadable_verdict(int err);

}  // namespace pycache_clean
