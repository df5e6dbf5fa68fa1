// CPython's rules for trusting a cache (importlib._bootstrap_external's
// _validate_timestamp_pyc and _validate_hash_pyc, os.stat's float mtime, the
// frozen modules of 3.11+), pure: facts in, a judgement out.
#include "check/rules.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace pycache_clean {

namespace {

bool later(std::int64_t a_sec, std::int64_t a_nsec, std::int64_t b_sec, std::int64_t b_nsec) {
  return a_sec > b_sec || (a_sec == b_sec && a_nsec > b_nsec);
}

}  // namespace

// CPython 3.11+'s frozen standard-library modules of the top level
// (_imp._frozen_module_names(), the same in 3.11, 3.12 and 3.13): with
// frozen modules on, the default of every installed build, the frozen
// importer, ahead of the path finder, imports these.
bool is_frozen_module(int minor, const std::string& module) {
  static constexpr std::string_view names[] = {"__hello__",
                                               "__hello_alias__",
                                               "__hello_only__",
                                               "__phello__",
                                               "__phello_alias__",
                                               "_collections_abc",
                                               "_frozen_importlib",
                                               "_frozen_importlib_external",
                                               "_sitebuiltins",
                                               "abc",
                                               "codecs",
                                               "genericpath",
                                               "io",
                                               "ntpath",
                                               "os",
                                               "posixpath",
                                               "runpy",
                                               "site",
                                               "stat",
                                               "zipimport"};
  if (minor < 11) return false;
  std::string_view m(module);
  return std::any_of(std::begin(names), std::end(names),
                     [&](std::string_view n) { return n.size() == m.size() && n == m; });
}

std::int64_t cpython_mtime(std::int64_t sec, std::int64_t nsec) {
  // os.stat's st_mtime is the double `sec + nsec * 1e-9` (posixmodule.c,
  // fill_time), and importlib takes int() of it: just below a whole second
  // that rounds up; a negative fraction truncates toward zero.
  double seconds = static_cast<double>(sec) + static_cast<double>(nsec) * 1e-9;
  return static_cast<std::int64_t>(std::trunc(seconds));
}

bool timestamp_matches(const PycHeader& header, int minor, std::int64_t mtime, std::int64_t size) {
  if (header.size != static_cast<std::uint32_t>(size & 0xffffffff)) return false;
  // 3.7+ compare the low 32 bits (_validate_timestamp_pyc); 3.6 compares the
  // stored unsigned 32-bit value with the whole mtime (_validate_bytecode_header).
  if (minor >= 7) return header.mtime == static_cast<std::uint32_t>(mtime & 0xffffffff);
  return mtime >= 0 && mtime <= 0xffffffffLL && header.mtime == static_cast<std::uint32_t>(mtime);
}

bool changed_since(std::int64_t src_sec, std::int64_t src_nsec, std::int64_t pyc_sec,
                   std::int64_t pyc_nsec) {
  if (src_nsec == 0 && pyc_nsec == 0) return src_sec + 2 >= pyc_sec;
  return !later(pyc_sec, pyc_nsec, src_sec, src_nsec);
}

TrustJudgement judge_trust(const PycHeader& header, int minor, const FileStat& cache,
                           const SourceFacts& source) {
  const FileStat& src = source.stat;
  TrustJudgement t{verdict_of(CacheClass::ok, ""),
                   changed_since(src.ctime_sec, src.ctime_nsec, cache.ctime_sec, cache.ctime_nsec),
                   false};
  if (header.hash_based) {
    t.proved_by_hash = source.hash == header.source_hash;
    t.sign_of_change = !t.proved_by_hash;
    if (t.proved_by_hash) return t;
    t.verdict =
        header.check_source
            ? verdict_of(CacheClass::stale, "checked-hash pyc: source hash differs (recompiled)")
            : verdict_of(CacheClass::suspect,
                         "unchecked-hash pyc does not match " + source.name +
                             ": Python loads the code of another version of it");
    return t;
  }
  std::int64_t mtime = cpython_mtime(src.mtime_sec, src.mtime_nsec);
  if (!timestamp_matches(header, minor, mtime, src.size)) {
    t.verdict = verdict_of(
        CacheClass::stale,
        fmt::format("header mtime/size {}/{} differ from {}'s {}/{} (recompiled)", header.mtime,
                    header.size, source.name, mtime & 0xffffffff, src.size & 0xffffffff));
  } else if (later(src.ctime_sec, src.ctime_nsec, cache.ctime_sec, cache.ctime_nsec)) {
    t.verdict = verdict_of(CacheClass::suspect,
                           source.name +
                               " changed after this cache was written, keeping mtime and size: "
                               "Python may load old code");
  }
  return t;
}

}  // namespace pycache_clean
