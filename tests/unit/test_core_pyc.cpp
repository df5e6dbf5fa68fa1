// The pyc header parser, cache names, the magic table and SipHash, plus a
// bounded random-input property test of the parsers (no crash, no out-of-range
// read under ASan, consistent results).
#include "check/rules.hpp"
#include "check/stale_check.hpp"
#include "pyc/marshal_check.hpp"
#include "pyc/pyc.hpp"
#include "util/siphash.hpp"

#include <chrono>
#include <random>

#include "pyc/cache_name.hpp"
#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

TEST(SipHash, ReferenceVectorOfThePaper) {
  // SipHash-2-4, key 00 01 .. 0f, message 00 01 .. 0e: 0xa129ca6149be45e5
  // (Aumasson & Bernstein, "SipHash: a fast short-input PRF", appendix A).
  unsigned char msg[15];
  for (int i = 0; i < 15; ++i) msg[i] = static_cast<unsigned char>(i);
  EXPECT_EQ(siphash(2, 4, 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, msg, sizeof msg),
            0xa129ca6149be45e5ULL);
}

TEST(MagicTable, ReleasesAndRanges) {
  EXPECT_EQ(magic_info(3495)->minor, 11);
  EXPECT_EQ(magic_info(3460)->minor, 11);  // a 3.11 alpha
  EXPECT_EQ(magic_info(3379)->minor, 6);
  EXPECT_EQ(magic_info(3627)->minor, 14);
  EXPECT_FALSE(magic_info(62211));  // Python 2.7
  EXPECT_EQ(magic_for_version(3, 13)->final, 3571);
  EXPECT_FALSE(magic_for_version(3, 99));
  EXPECT_FALSE(source_hash_for_magic(3379, "x"));  // 3.6: no hash-based pycs
}

TEST(PycHeader, TimestampHashAndLegacyForms) {
  PycHeader h;
  ASSERT_EQ(parse_pyc_header(pyc_header(3495, 0, 1700000000, 42), h), PycParse::ok);
  EXPECT_FALSE(h.hash_based);
  EXPECT_EQ(h.mtime, 1700000000u);
  EXPECT_EQ(h.size, 42u);
  ASSERT_EQ(parse_pyc_header(pyc_header(3495, 3, 0x11223344, 0x55667788), h), PycParse::ok);
  EXPECT_TRUE(h.hash_based && h.check_source);
  EXPECT_EQ(h.source_hash, 0x5566778811223344ULL);
  std::string py36 = le32(3379 | (0x0a0dU << 16)) + le32(123) + le32(7);
  ASSERT_EQ(parse_pyc_header(py36, h), PycParse::ok);
  EXPECT_EQ(h.mtime, 123u);
  EXPECT_EQ(h.size, 7u);
}

TEST(PycHeader, CorruptForms) {
  PycHeader h;
  EXPECT_EQ(parse_pyc_header("", h), PycParse::too_short);
  EXPECT_EQ(parse_pyc_header(pyc_header(3495, 0, 0, 0).substr(0, 15), h), PycParse::too_short);
  EXPECT_EQ(parse_pyc_header(std::string(16, 'x'), h), PycParse::bad_magic);
  EXPECT_EQ(parse_pyc_header(pyc_header(3495, 4, 0, 0), h), PycParse::unknown_flags);
}

TEST(CacheName, PlainOptimisedAndPytest) {
  auto n = parse_cache_name("mod.cpython-311.pyc");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->module, "mod");
  EXPECT_EQ(n->tag_minor, 11);
  n = parse_cache_name("mod.cpython-39.opt-2.pyc");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->tag_minor, 9);
  n = parse_cache_name("test_x.cpython-311-pytest-7.2.1.pyc");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->pytest);
  EXPECT_EQ(n->module, "test_x");
  EXPECT_EQ(n->tag, "cpython-311");
  n = parse_cache_name("mod.pypy39.pyc");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->tag_minor, -1);
  EXPECT_FALSE(parse_cache_name("mod.pyc"));
  EXPECT_FALSE(parse_cache_name("mod.cpython-311.opt.pyc"));
  EXPECT_FALSE(parse_cache_name(".cpython-311.pyc"));
  EXPECT_FALSE(parse_cache_name("mod.cpython-311.py"));
}

TEST(Classify, TimestampStaleSuspectOkOrphan) {
  TempDir t;
  write_file(t / "pkg/mod.py", "X = 1\n");
  FileStat st;
  {
    ScopedHandle pkg(real_fs(), real_fs().open_root(t / "pkg"));
    ASSERT_TRUE(pkg) << pkg.error();
    ASSERT_EQ(real_fs().stat(pkg.get(), "mod.py", st), 0);
  }
  const auto mtime = fs::last_write_time(fs::u8path(t / "pkg/mod.py"));
  write_file(t / "pkg/__pycache__/mod.cpython-311.pyc",
             pyc_header(3495, 0,
                        static_cast<std::uint32_t>(cpython_mtime(st.mtime_sec, st.mtime_nsec)), 6) +
                 code_311());
  write_file(t / "pkg/__pycache__/gone.cpython-311.pyc", pyc_header(3495, 0, 1, 1));
  write_file(t / "pkg/__pycache__/mod.cpython-312.pyc", pyc_header(3495, 0, 1, 1));
  write_file(t / "pkg/__pycache__/mod.cpython-39.pyc", "\x01");
  CheckOptions options;
  CheckReport r = check_caches(real_fs(), {t.path()}, options);
  EXPECT_EQ(r.checked, 4u);
  EXPECT_EQ(r.counts[static_cast<int>(CacheClass::ok)], 1u);
  EXPECT_EQ(r.counts[static_cast<int>(CacheClass::orphan)], 1u);
  EXPECT_EQ(r.counts[static_cast<int>(CacheClass::foreign)], 1u);  // 3.11 magic under a 3.12 tag
  EXPECT_EQ(r.counts[static_cast<int>(CacheClass::stale)], 1u);    // too short: recompiled
  EXPECT_FALSE(r.gate_failed());

  // Same size and mtime, but written after the cache: suspect. Rewritten
  // until the clock shows it (its ctime after the cache's), not slept for.
  auto ctime_of = [&](const std::string& dir, const char* name) {
    ScopedHandle h(real_fs(), real_fs().open_root(dir));
    FileStat now;
    EXPECT_EQ(real_fs().stat(h.get(), name, now), 0) << dir << "/" << name;
    return std::pair{now.ctime_sec, now.ctime_nsec};
  };
  auto cache_ctime = ctime_of(t / "pkg/__pycache__", "mod.cpython-311.pyc");
  for (int tries = 0; tries < 1000000; ++tries) {
    write_file(t / "pkg/mod.py", "X = 2\n");
    fs::last_write_time(fs::u8path(t / "pkg/mod.py"), mtime);
    if (ctime_of(t / "pkg", "mod.py") > cache_ctime) break;
  }
  ASSERT_GT(ctime_of(t / "pkg", "mod.py"), cache_ctime);
  r = check_caches(real_fs(), {t / "pkg"}, options);
  EXPECT_EQ(r.counts[static_cast<int>(CacheClass::suspect)], 1u);

  // A different size: stale, and not a gate failure by itself.
  write_file(t / "pkg/mod.py", "X = 22\n");
  fs::remove(fs::u8path(t / "pkg/__pycache__/mod.cpython-39.pyc"));
  r = check_caches(real_fs(), {t / "pkg"}, options);
  EXPECT_EQ(r.counts[static_cast<int>(CacheClass::stale)], 1u);
  EXPECT_FALSE(r.gate_failed());
}

// The judgement itself, fed plain facts: no file is read.
class JudgeTrust : public ::testing::Test {
 protected:
  static constexpr std::int64_t k_t = 1'700'000'000;
  void SetUp() override {
    m_header.magic = 3495;  // CPython 3.11
    m_header.mtime = static_cast<std::uint32_t>(k_t);
    m_header.size = 6;
    m_source.name = "mod.py";
    m_source.stat.type = EntryType::file;
    m_source.stat.size = 6;
    m_source.stat.mtime_sec = k_t;
    m_source.stat.ctime_sec = k_t;
    m_cache.ctime_sec = k_t + 100;
  }
  TrustJudgement judge(int minor = 11) { return judge_trust(m_header, minor, m_cache, m_source); }
  PycHeader m_header;
  SourceFacts m_source;
  FileStat m_cache;
};

TEST_F(JudgeTrust, TimestampCacheByMtimeSizeAndCtimes) {
  TrustJudgement t = judge();
  EXPECT_EQ(t.verdict.cls, CacheClass::ok);
  EXPECT_FALSE(t.sign_of_change);
  m_source.stat.ctime_sec = k_t + 99;  // whole seconds on both: within 2 s is a sign
  EXPECT_EQ(judge().verdict.cls, CacheClass::ok);
  EXPECT_TRUE(judge().sign_of_change);
  m_source.stat.ctime_sec = k_t + 100;
  m_source.stat.ctime_nsec = 1;  // after the cache: the source changed, mtime and size kept
  EXPECT_EQ(judge().verdict.cls, CacheClass::suspect);
  m_source.stat.size = 7;
  EXPECT_EQ(judge().verdict.cls, CacheClass::stale);
  m_source.stat.size = 6;
  m_source.stat.mtime_sec = k_t - 1;
  EXPECT_EQ(judge().verdict.cls, CacheClass::stale);
}

// 3.7+ compare the low 32 bits of the mtime; 3.6 the whole value, so a
// source dated past 2106 never matches there.
TEST_F(JudgeTrust, MtimePast32BitsMatchesFrom37Only) {
  m_source.stat.mtime_sec = (std::int64_t{1} << 32) + 5;
  m_header.mtime = 5;
  EXPECT_EQ(judge(11).verdict.cls, CacheClass::ok);
  EXPECT_EQ(judge(6).verdict.cls, CacheClass::stale);
}

// The size is compared in its low 32 bits, from 3.6 on: a source of 4 GiB
// + 6 bytes matches a header that says 6.
TEST_F(JudgeTrust, SizePast32BitsIsMasked) {
  m_source.stat.size = (std::int64_t{1} << 32) + 6;
  EXPECT_EQ(judge(11).verdict.cls, CacheClass::ok);
  EXPECT_EQ(judge(6).verdict.cls, CacheClass::ok);
  m_source.stat.size = (std::int64_t{1} << 32) + 7;
  EXPECT_EQ(judge(11).verdict.cls, CacheClass::stale);
}

TEST_F(JudgeTrust, HashCacheByTheSourceHash) {
  m_header.hash_based = true;
  m_header.check_source = true;
  m_header.source_hash = 0x1234;
  m_source.hash = 0x1234;
  m_source.stat.mtime_sec = 1;  // a hash-based cache ignores the mtime
  TrustJudgement t = judge();
  EXPECT_EQ(t.verdict.cls, CacheClass::ok);
  EXPECT_TRUE(t.proved_by_hash);
  m_source.hash = 0x1235;
  EXPECT_EQ(judge().verdict.cls, CacheClass::stale);  // checked: CPython recompiles
  m_source.hash.reset();                              // no hash could be computed
  EXPECT_EQ(judge().verdict.cls, CacheClass::stale);
  m_header.check_source = false;  // unchecked: CPython loads it anyway
  m_source.hash = 0x1235;
  t = judge();
  EXPECT_EQ(t.verdict.cls, CacheClass::suspect);
  EXPECT_TRUE(t.sign_of_change);
}

TEST(Classify, UnreadableCacheIsAProblemNotAVerdict) {
  TempDir t;
  write_file(t / "mod.py", "X = 1\n");
  write_file(t / "__pycache__/mod.cpython-311.pyc", pyc_header(3495, 0, 1, 1));
  FaultyFs fs;
  fs.fail(Op::read_file, "mod.cpython-311.pyc", EACCES, 1, 0);
  CheckReport r = check_caches(fs, {t.path()}, CheckOptions{});
  EXPECT_EQ(r.checked, 0u);
  ASSERT_EQ(r.unreadable.size(), 1u);
  EXPECT_EQ(r.unreadable[0].error, EACCES);
}

TEST(Classify, StaleOnlyRemovesWhatIsNotOkAndEmptyCacheDirs) {
  TempDir t;
  write_file(t / "a/mod.py", "X = 1\n");
  write_file(t / "a/__pycache__/gone.cpython-311.pyc", pyc_header(3495, 0, 1, 1));
  write_file(t / "b/legacy.pyc", pyc_header(3495, 0, 1, 1));
  CheckOptions options;
  options.remove_not_ok = true;
  CheckReport kept_legacy = check_caches(real_fs(), {t.path()}, options);
  EXPECT_EQ(kept_legacy.removed, 1u);
  EXPECT_TRUE(exists(t / "b/legacy.pyc"));  // outside __pycache__: only with remove_stray
  write_file(t / "a/__pycache__/gone.cpython-311.pyc", pyc_header(3495, 0, 1, 1));
  options.remove_stray = true;
  CheckReport r = check_caches(real_fs(), {t.path()}, options);
  EXPECT_EQ(r.removed, 2u);
  EXPECT_EQ(r.removable, 2u);
  EXPECT_FALSE(exists(t / "a/__pycache__"));
  EXPECT_FALSE(exists(t / "b/legacy.pyc"));
  EXPECT_TRUE(exists(t / "a/mod.py"));
}

// Random and mutated headers for a bounded time: parsers never crash, and
// what they accept is consistent with its size and flags.
TEST(PycHeader, PropertyRandomInputs) {
  std::mt19937_64 rng(0x5eed);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  const std::string seeds[] = {pyc_header(3495, 0, 1, 2), pyc_header(3394, 3, 5, 6),
                               le32(3379 | (0x0a0dU << 16)) + le32(1) + le32(2)};
  long iterations = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string input = seeds[rng() % 3];
    input.resize(rng() % 24, static_cast<char>(rng()));
    for (int k = static_cast<int>(rng() % 4); k > 0 && !input.empty(); --k)
      input[rng() % input.size()] = static_cast<char>(rng());
    PycHeader h;
    PycParse result = parse_pyc_header(input, h);
    if (result == PycParse::ok) {
      EXPECT_GE(input.size(), 12u);
      EXPECT_EQ(input.substr(2, 2), "\r\n");
      EXPECT_EQ(h.flags & ~3U, 0u);
      EXPECT_EQ(h.hash_based, (h.flags & 1U) != 0);
    }
    std::string name(rng() % 40, 'a');
    for (char& c : name) c = "abc.-_0123456789pyctesthon"[rng() % 26];
    auto n = parse_cache_name(name);
    if (n) {
      EXPECT_FALSE(n->module.empty());
      EXPECT_FALSE(n->tag.empty());
    }
    ++iterations;
  }
  EXPECT_GT(iterations, 1000);
}

// int(st_mtime) of the double CPython builds: rounds up just below a whole
// second (53-bit doubles), truncates a negative fraction toward zero.
TEST(CPythonRules, MtimeIsIntOfTheDouble) {
  EXPECT_EQ(cpython_mtime(1700000000, 999999999), 1700000001);
  EXPECT_EQ(cpython_mtime(1700000000, 500000000), 1700000000);
  EXPECT_EQ(cpython_mtime(-2, 500000000), -1);
  PycHeader h;
  h.mtime = 5;
  h.size = 6;
  EXPECT_TRUE(timestamp_matches(h, 11, 5 + (std::int64_t{1} << 32), 6));  // masked from 3.7
  EXPECT_FALSE(timestamp_matches(h, 6, 5 + (std::int64_t{1} << 32), 6));  // not in 3.6
  EXPECT_TRUE(timestamp_matches(h, 6, 5, 6 + (std::int64_t{1} << 32)));   // size always masked
}

// `auto` verifies a cache whose source's ctime is at or after its own; with
// whole-second timestamps on both, anything within 2 s counts.
TEST(CPythonRules, SignOfChange) {
  EXPECT_TRUE(changed_since(100, 5, 100, 5));    // a tie: could be either order
  EXPECT_TRUE(changed_since(100, 6, 100, 5));    // after
  EXPECT_FALSE(changed_since(100, 4, 100, 5));   // before, to the nanosecond
  EXPECT_FALSE(changed_since(99, 999, 100, 0));  // before, with fractions known
  EXPECT_TRUE(changed_since(98, 0, 100, 0));     // whole seconds: within 2 s
  EXPECT_FALSE(changed_since(97, 0, 100, 0));
}

// Marshal streams as CPython writes them (3.11: a code object whose fields
// are all empty or small), cut and garbled.
std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

// A code object of 3.11 whose consts tuple holds `items` (each marshalled).
std::string code_with(std::initializer_list<std::string> items) {
  std::string consts = bytes({')', static_cast<int>(items.size())});
  for (const auto& i : items) consts += i;
  return code_311(consts);
}

TEST(Marshal, WalksValidStreamsAndNamesFaults) {
  using R = MarshalCheck::Result;
  EXPECT_EQ(check_marshal(code_311(), 11).result, R::ok) << check_marshal(code_311(), 11).why;
  EXPECT_NE(check_marshal(code_311(), 8).result, R::ok);  // 3.8's layout has one more int field
  for (std::size_t cut = 0; cut < code_311().size(); ++cut)
    EXPECT_EQ(check_marshal(code_311().substr(0, cut), 11).result, R::truncated) << cut;
  // importlib loads code objects only: any other object fails the import.
  EXPECT_EQ(check_marshal("N", 11).result, R::bad);
  EXPECT_EQ(check_marshal(bytes({0xe9, 1, 0, 0, 0}), 11).result, R::bad);
  // (x, x): a flagged short string and a reference to it.
  std::string x_x = code_with({bytes({0xda, 1, 'x'}), bytes({'r', 0, 0, 0, 0})});
  EXPECT_EQ(check_marshal(x_x, 11).result, R::ok) << check_marshal(x_x, 11).why;
  EXPECT_EQ(check_marshal(code_with({bytes({'r', 5, 0, 0, 0})}), 11).result, R::bad);
  EXPECT_EQ(check_marshal(code_with({"Q"}), 11).result, R::bad);
  EXPECT_EQ(check_marshal("", 11).result, R::truncated);
  // A flagged singleton registers no reference (r_object returns it first).
  EXPECT_EQ(check_marshal(code_with({bytes({0xce}), bytes({'r', 0, 0, 0, 0})}), 11).result, R::bad);
  // {1: None} ends with NULL, which may also stand for a value; NULL elsewhere is bad.
  EXPECT_EQ(check_marshal(code_with({bytes({'{', 'i', 1, 0, 0, 0, 'N', '0'})}), 11).result, R::ok);
  EXPECT_EQ(check_marshal(code_with({bytes({'{', 'i', 1, 0, 0, 0, '0'})}), 11).result, R::ok);
  EXPECT_EQ(check_marshal(code_with({bytes({')', 1, '0'})}), 11).result, R::bad);
  // A tuple registers itself before its items (a reference to it inside is
  // valid); a code object and a frozenset only once complete.
  EXPECT_EQ(check_marshal(bytes({0xe3}) + code_311().substr(1), 11).result, R::ok);
  std::string self_tuple = code_with({bytes({0xa9, 1, 'r', 0, 0, 0, 0})});
  EXPECT_EQ(check_marshal(self_tuple, 11).result, R::ok) << check_marshal(self_tuple, 11).why;
  EXPECT_EQ(check_marshal(code_with({bytes({0xbe, 1, 0, 0, 0, 'r', 0, 0, 0, 0})}), 11).result,
            R::bad);
  // Deeper than marshal allows: 2,500 nested one-element tuples.
  std::string deep;
  for (int i = 0; i < 2500; ++i) deep += bytes({')', 1});
  EXPECT_EQ(check_marshal(code_with({deep + "N"}), 11).result, R::bad);
  // A long's digits are 15-bit and normalised.
  EXPECT_EQ(check_marshal(code_with({bytes({'l', 1, 0, 0, 0, 0xff, 0xff})}), 11).result, R::bad);
  EXPECT_EQ(check_marshal(code_with({bytes({'l', 1, 0, 0, 0, 0, 0})}), 11).result, R::bad);
  EXPECT_EQ(check_marshal(code_with({bytes({'l', 1, 0, 0, 0, 5, 0})}), 11).result, R::ok);
  // A float as text must read as one, up to a NUL.
  EXPECT_EQ(check_marshal(code_with({bytes({'f', 4, '1', 'e', '+', '5'})}), 11).result, R::ok);
  EXPECT_EQ(check_marshal(code_with({bytes({'f', 3, '1', 0, 'x'})}), 11).result, R::ok);
  EXPECT_EQ(check_marshal(code_with({bytes({'f', 2, '1', 'x'})}), 11).result, R::bad);
}

// What CPython checks as it builds objects: hashable set members and dict
// keys, and a code object's fields of the right types and counts.
TEST(Marshal, ValidatesWhatCPythonBuilds) {
  using R = MarshalCheck::Result;
  std::string list_of_one = bytes({'[', 1, 0, 0, 0, 'N'});
  EXPECT_EQ(check_marshal(code_with({bytes({'>', 1, 0, 0, 0}) + list_of_one}), 11).result, R::bad);
  EXPECT_EQ(check_marshal(code_with({bytes({'<', 1, 0, 0, 0}) + list_of_one}), 11).result, R::bad);
  EXPECT_EQ(check_marshal(code_with({"{" + list_of_one + "N0"}), 11).result, R::bad);
  EXPECT_EQ(check_marshal(code_with({"{N" + list_of_one + "0"}), 11).result, R::ok);
  std::string tuple_of_list = bytes({')', 1}) + list_of_one;  // hashable only if its items are
  EXPECT_EQ(check_marshal(code_with({bytes({'>', 1, 0, 0, 0}) + tuple_of_list}), 11).result,
            R::bad);
  EXPECT_EQ(check_marshal(code_with({bytes({'>', 1, 0, 0, 0, ')', 1, 'N'})}), 11).result, R::ok);
  std::string code = code_311();
  // names (the third object field) must hold strings only.
  std::string names_int = code;
  names_int.replace(21 + 5 + 2, 2, bytes({')', 1, 'i', 1, 0, 0, 0}));
  EXPECT_EQ(check_marshal(names_int, 11).result, R::bad) << check_marshal(names_int, 11).why;
  // One argument, but no local names: co_varnames is too small.
  std::string one_arg = code;
  one_arg[1] = 1;
  EXPECT_EQ(check_marshal(one_arg, 11).why.rfind("code: co_varnames is too small", 0), 0u);
  // Locals kinds must be as many as their names.
  std::string more_kinds = code;
  more_kinds.replace(21 + 5 + 2 + 2 + 2, 5, bytes({'s', 1, 0, 0, 0, 0x20}));
  EXPECT_EQ(check_marshal(more_kinds, 11).result, R::bad);
  // co_code of an odd length is malformed from 3.11 on.
  std::string odd = code;
  odd.replace(21, 5, bytes({'s', 1, 0, 0, 0, 'x'}));
  EXPECT_EQ(check_marshal(odd, 11).result, R::bad);
  EXPECT_EQ(check_marshal(code_with({"N"}).replace(21, 5, "N"), 11).result, R::bad);
}

// A body larger than what is in memory is read on demand, window by window.
TEST(Marshal, StreamsABodyOfAnySize) {
  using R = MarshalCheck::Result;
  std::string big(3 << 20, 'a');  // a 3 MiB str constant
  std::string body = code_with({"a" + le32(static_cast<std::uint32_t>(big.size())) + big});
  std::size_t reads = 0;
  MarshalMore more = [&](std::uint64_t offset, char* buffer, std::size_t capacity,
                         std::size_t& got) {
    ++reads;
    got = offset >= body.size() ? 0 : std::min<std::size_t>(capacity, body.size() - offset);
    std::memcpy(buffer, body.data() + offset, got);
    return 0;
  };
  MarshalCheck r = check_marshal(std::string_view(body).substr(0, 100), more, 11);
  EXPECT_EQ(r.result, R::ok) << r.why;
  EXPECT_GT(reads, 40u);  // 64 KiB at a time
  std::string cut = body.substr(0, body.size() - 1);
  MarshalMore shorter = [&](std::uint64_t offset, char* buffer, std::size_t capacity,
                            std::size_t& got) {
    got = offset >= cut.size() ? 0 : std::min<std::size_t>(capacity, cut.size() - offset);
    std::memcpy(buffer, cut.data() + offset, got);
    return 0;
  };
  EXPECT_EQ(check_marshal(std::string_view(cut).substr(0, 100), shorter, 11).result, R::truncated);
  MarshalMore failing = [](std::uint64_t, char*, std::size_t, std::size_t& got) {
    got = 0;
    return EIO;
  };
  r = check_marshal(std::string_view(body).substr(0, 100), failing, 11);
  EXPECT_EQ(r.result, R::bad);
  EXPECT_NE(r.why.find("cannot be read"), std::string::npos) << r.why;
}

}  // namespace
}  // namespace pycache_clean::test
