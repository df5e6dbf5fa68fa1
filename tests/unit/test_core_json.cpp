// The JSON writer, and the --json documents of `clean` and `check` read
// back by a strict JSON reader (on MemFs, which can refuse a removal).
#include <cerrno>
#include <set>

#include "report/report_json.hpp"
#include "util/edit_distance.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

#include "json_reader.hpp"
#include "mem_fs.hpp"
#include "test_support.hpp"

namespace pycache_clean::test {
namespace {

// The tails as one string, as the command line prints them piece by piece.
std::string sweep_tail(const SweepReport& r) {
  std::string out;
  write_sweep_json_tail(r, [&](const std::string& piece) { out += piece + "\n"; });
  return out;
}
std::string check_tail(const CheckReport& r, bool stale_clean) {
  std::string out;
  write_check_json_tail(r, stale_clean, [&](const std::string& piece) { out += piece + "\n"; });
  return out;
}

TEST(Json, EscapesControlAndQuotes) {
  EXPECT_EQ(json_quote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
}

TEST(Json, KeepsValidUtf8AndEscapesInvalidBytesAsSurrogates) {
  EXPECT_EQ(json_quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(json_quote("bad\xff\xfe"), "\"bad\\udcff\\udcfe\"");
  EXPECT_EQ(json_quote("\xc0\xaf"), "\"\\udcc0\\udcaf\"");             // overlong '/'
  EXPECT_EQ(json_quote("\xed\xa0\x80"), "\"\\udced\\udca0\\udc80\"");  // encoded surrogate
}

TEST(Json, WriterNestsWithCommas) {
  JsonWriter w;
  w.begin_object().key("a").value(1).key("b").begin_array().value("x").value(true).end_array();
  w.key("c").begin_object().end_object().end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"b":["x",true],"c":{}})");
}

TEST(Json, QuotedBytesReadBackAsTheirSurrogates) {
  std::string name = "caf\xc3\xa9 \x1b[31m\xff";
  EXPECT_EQ(parse_json(json_quote(name)).text, "caf\xc3\xa9 \x1b[31m\xed\xb3\xbf");  // U+DCFF
  EXPECT_THROW(parse_json("{\"a\":1,}"), std::runtime_error);  // the reader is strict
  EXPECT_THROW(parse_json("\"a\" x"), std::runtime_error);
}

// Keys of each object in `list`, the same for all of them.
std::set<std::string> keys_of_each(const JsonValue& list) {
  std::set<std::string> keys;
  for (const auto& item : list.items) {
    std::set<std::string> these;
    for (const auto& [key, value] : item.members) these.insert(key);
    EXPECT_TRUE(keys.empty() || keys == these);
    keys = these;
  }
  return keys;
}

const std::set<std::string> k_problem_keys = {"path", "error", "errno"};

// Past the first few hundred, problems live in a temporary file: all of them
// come back, in order, with names holding tabs, newlines and odd bytes.
TEST(ReportJson, ThousandsOfProblemsComeBackInOrder) {
  SweepReport r;
  const std::size_t n = 3 * ProblemLog::k_in_memory + 7;
  auto name = [](std::size_t i) { return "/p/\t" + std::to_string(i) + "\n\xff/__pycache__"; };
  for (std::size_t i = 0; i < n; ++i)
    r.unreadable.push_back(PathProblem{name(i), static_cast<int>(i % 50) + 1});
  EXPECT_EQ(r.unreadable.size(), n);
  EXPECT_EQ(r.unreadable[ProblemLog::k_in_memory - 1].path, name(ProblemLog::k_in_memory - 1));
  std::size_t seen = 0;
  r.unreadable.for_each([&](const PathProblem& p) {
    EXPECT_EQ(p.path, name(seen));
    EXPECT_EQ(p.error, static_cast<int>(seen % 50) + 1);
    ++seen;
  });
  EXPECT_EQ(seen, n);
  r.unreadable.push_back(PathProblem{"/late", ENOENT});  // still appends after a read-back
  JsonValue doc = parse_json(format_sweep_json_head(false) + sweep_tail(r));
  ASSERT_EQ(doc["unreadable"].items.size(), n + 1);
  EXPECT_EQ(doc["unreadable"].items[n - 1]["errno"].number, static_cast<double>((n - 1) % 50 + 1));
  EXPECT_EQ(doc["unreadable"].items[n]["path"].text, "/late");
}

TEST(ReportJson, CleanDocumentNamesWhatItRemovedAndWhatItKept) {
  MemFs fs;
  fs.file("/p/a/__pycache__/m.cpython-311.pyc").deny_remove = EACCES;
  fs.file("/p/b/__pycache__/n.cpython-311.pyc");
  fs.file("/p/c/__pycache__/o.cpython-311.pyc");
  fs.dir("/p/d").deny_open = EACCES;
  SweepReport r = sweep(fs, {"/p", "/missing"}, SweepOptions{}, nullptr);
  std::string text = format_sweep_json_head(false) + json_quote("/p/b/__pycache__") + "," +
                     json_quote("/p/c/__pycache__") + sweep_tail(r);
  JsonValue doc = parse_json(text);
  EXPECT_EQ(doc["schema_version"].number, k_json_schema_version);
  EXPECT_EQ(doc["command"].text, "clean");
  EXPECT_FALSE(doc["dry_run"].boolean);
  ASSERT_EQ(doc["removed_paths"].items.size(), 2u);
  EXPECT_EQ(doc["removed_paths"][1].text, "/p/c/__pycache__");
  EXPECT_EQ(doc["found"].number, 3);
  EXPECT_EQ(doc["removed"].number, 2);
  ASSERT_EQ(doc["failures"].items.size(), 1u);
  EXPECT_EQ(doc["failures"][0]["path"].text, "/p/a/__pycache__/m.cpython-311.pyc");
  EXPECT_EQ(doc["failures"][0]["error"].text, errno_text(EACCES));
  EXPECT_EQ(doc["failures"][0]["errno"].number, EACCES);
  EXPECT_EQ(keys_of_each(doc["failures"]), k_problem_keys);
  ASSERT_EQ(doc["unreadable"].items.size(), 1u);
  EXPECT_EQ(doc["unreadable"][0]["path"].text, "/p/d");
  EXPECT_EQ(keys_of_each(doc["unreadable"]), k_problem_keys);
  ASSERT_EQ(doc["missing"].items.size(), 1u);
  EXPECT_EQ(doc["missing"][0]["errno"].number, ENOENT);
  EXPECT_EQ(doc["stray"]["found"].number, 0);
  EXPECT_EQ(doc["elapsed_ms"].kind, JsonValue::Kind::number);
  EXPECT_EQ(parse_json(format_sweep_json_head(true) + sweep_tail(SweepReport{}))["dry_run"].boolean,
            true);
}

// `clean --stale-only` reports its failures with the very fields `clean` does.
TEST(ReportJson, CheckDocumentSharesTheFailureFields) {
  MemFs fs;
  fs.file("/p/__pycache__/gone.cpython-311.pyc").deny_remove = EBUSY;
  fs.file("/p/__pycache__/also_gone.cpython-311.pyc");
  CheckOptions options;
  options.remove_not_ok = true;
  options.verify = VerifyMode::none;
  std::vector<CacheVerdict> findings;
  options.on_finding = [&](const CacheVerdict& v, bool) { findings.push_back(v); };
  CheckReport r = check_caches(fs, {"/p"}, options);
  std::string text = format_check_json_head(true);
  for (std::size_t i = 0; i < findings.size(); ++i)
    text += format_check_json_finding(findings[i], i == 0);
  JsonValue doc = parse_json(text + check_tail(r, true));
  EXPECT_EQ(doc["schema_version"].number, k_json_schema_version);
  EXPECT_EQ(doc["command"].text, "clean --stale-only");
  ASSERT_EQ(doc["findings"].items.size(), 2u);
  EXPECT_EQ(doc["findings"][0]["class"].text, "orphan");
  EXPECT_EQ(doc["findings"][0]["verification"].text, "none");
  EXPECT_EQ(doc["checked"].number, 2);
  EXPECT_EQ(doc["counts"]["orphan"].number, 2);
  EXPECT_EQ(doc["removed"].number, 1);
  ASSERT_EQ(doc["failures"].items.size(), 1u);
  EXPECT_EQ(doc["failures"][0]["path"].text, "/p/__pycache__/gone.cpython-311.pyc");
  EXPECT_EQ(doc["failures"][0]["errno"].number, EBUSY);
  EXPECT_EQ(keys_of_each(doc["failures"]), k_problem_keys);
  EXPECT_TRUE(doc.has("unreadable") && doc.has("missing") && doc.has("elapsed_ms"));
  EXPECT_FALSE(parse_json(format_check_json_head(false) + check_tail(r, false)).has("removed"));
}

TEST(EditDistance, SuggestsTheOnlyCloseCandidate) {
  std::vector<std::string> names = {"clean", "check", "lock", "test"};
  EXPECT_EQ(edit_distance("clen", "clean"), 1u);
  EXPECT_EQ(closest_match("clen", names), "clean");
  EXPECT_EQ(closest_match("lokc", names), "lock");
  EXPECT_EQ(closest_match("zzzzzz", names), "");
}

}  // namespace
}  // namespace pycache_clean::test
