#pragma once

// A strict JSON reader for the unit tests (RFC 8259: objects, arrays,
// strings with every escape, numbers, true/false/null; nothing after the
// value but whitespace), so that tests check the --json documents by their
// structure and values, never by substrings. Throws std::runtime_error
// naming the offset of the first thing that is not JSON.
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pycache_clean::test {

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  double number = 0;
  std::string text;  // a string, as UTF-8 (a lone surrogate as its 3-byte form)
  std::vector<JsonValue> items;
  std::map<std::string, JsonValue> members;

  bool has(const std::string& key) const { return members.count(key) > 0; }
  const JsonValue& operator[](const std::string& key) const {
    auto it = members.find(key);
    if (kind != Kind::object || it == members.end())
      throw std::runtime_error("JSON: no member \"" + key + "\"");
    return it->second;
  }
  const JsonValue& operator[](std::size_t i) const {
    if (kind != Kind::array || i >= items.size()) throw std::runtime_error("JSON: no such item");
    return items[i];
  }
};

JsonValue parse_json(std::string_view text);

}  // namespace pycache_clean::test
