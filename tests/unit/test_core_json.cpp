#include <pycache_clean/edit_distance.hpp>
#include <pycache_clean/json.hpp>

#include <gtest/gtest.h>

namespace pycache_clean {
namespace {

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

TEST(EditDistance, SuggestsTheOnlyCloseCandidate) {
  std::vector<std::string> names = {"clean", "check", "lock", "test"};
  EXPECT_EQ(edit_distance("clen", "clean"), 1u);
  EXPECT_EQ(closest_match("clen", names), "clean");
  EXPECT_EQ(closest_match("lokc", names), "lock");
  EXPECT_EQ(closest_match("zzzzzz", names), "");
}

}  // namespace
}  // namespace pycache_clean
