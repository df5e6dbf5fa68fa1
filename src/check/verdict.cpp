// The names of check's classes and reasons, as --json and the summary print
// them, and the two ways a judgement starts a verdict.
#include "check/verdict.hpp"

namespace pycache_clean {

CacheVerdict verdict_of(CacheClass cls, std::string reason) {
  CacheVerdict v;
  v.cls = cls;
  v.reason = std::move(reason);
  return v;
}

CacheVerdict unreadable_verdict(int err) {
  CacheVerdict v;
  v.error = err;
  return v;
}

const char* cache_class_name(CacheClass c) {
  switch (c) {
    case CacheClass::ok:
      return "ok";
    case CacheClass::stale:
      return "stale";
    case CacheClass::suspect:
      return "suspect";
    case CacheClass::orphan:
      return "orphan";
    case CacheClass::orphan_importable:
      return "orphan-importable";
    case CacheClass::foreign:
      return "foreign";
    case CacheClass::corrupt:
      return "corrupt";
  }
  return "?";
}

const char* unverified_reason_name(Unverified why) {
  switch (why) {
    case Unverified::no_interpreter:
      return "no_interpreter";
    case Unverified::too_large:
      return "too_large";
    case Unverified::timed_out:
      return "timed_out";
    case Unverified::unreadable:
      return "unreadable";
  }
  return "?";
}

const char* verification_name(Verification v) {
  switch (v) {
    case Verification::none:
      return "none";
    case Verification::compiled:
      return "compiled";
    case Verification::unverified:
      return "unverified";
  }
  return "?";
}

bool is_gate_failure(CacheClass c) {
  return c == CacheClass::suspect || c == CacheClass::corrupt || c == CacheClass::orphan_importable;
}

}  // namespace pycache_clean
