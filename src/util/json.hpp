#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pycache_clean {

// A minimal streaming JSON writer: objects, arrays, strings, numbers, bools, null.
// File names are bytes, not text: a byte that is not part of valid UTF-8 is
// written as the lone surrogate \udcXX (Python's "surrogateescape"), so that
// `os.fsencode(json.loads(...)["path"])` gives the original bytes back.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(double number);
  JsonWriter& value(bool flag);
  JsonWriter& null();
  const std::string& str() const { return m_out; }

 private:
  void separate();
  std::string m_out;
  bool m_need_comma = false;
};

// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

// `text` as it may reach a terminal: control characters (C0, DEL, C1) and
// bytes that are not UTF-8 written as `\x1b`, `\n`, ...; everything else,
// backslashes included, as it is. A file name, another user's command line or
// a lock record can then neither move the cursor, set the window title nor
// forge a line of output. --json output stays lossless through json_quote.
std::string terminal_safe(std::string_view text);

}  // namespace pycache_clean
