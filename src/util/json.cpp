// JsonWriter: just enough JSON for the reports, with byte-exact file names.
#include "util/json.hpp"

#include <cmath>

#include <fmt/format.h>

namespace pycache_clean {

namespace {

// Length of the valid UTF-8 sequence starting at `s[i]`, or 0 when invalid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t len = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  std::uint32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (b(i + k) & 0x3F);
  static const std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// The escapes both outputs write the same way.
const char* short_escape(unsigned char c) {
  switch (c) {
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      return nullptr;
  }
}

// Whether the `len`-byte sequence at `i` is a C1 control (U+0080-U+009F).
bool is_c1(std::string_view text, std::size_t i, std::size_t len) {
  return len == 2 && static_cast<unsigned char>(text[i]) == 0xC2 &&
         static_cast<unsigned char>(text[i + 1]) < 0xA0;
}

}  // namespace

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t len = utf8_sequence(text, i);
    if (len == 0) {
      out += fmt::format("\\udc{:02x}", c);
      ++i;
      continue;
    }
    if (len == 1) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (const char* e = short_escape(c)) {
        out += e;
      } else if (c < 0x20 || c == 0x7F) {
        out += fmt::format("\\u{:04x}", c);
      } else {
        out.push_back(static_cast<char>(c));
      }
    } else if (is_c1(text, i, len)) {
      // C1 controls (U+0080-U+009F): a terminal acts on some of them.
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));
    } else {
      out.append(text.data() + i, len);
    }
    i += len;
  }
  out.push_back('"');
  return out;
}

std::string terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t len = utf8_sequence(text, i);
    bool c1 = is_c1(text, i, len);
    if (len == 0 || c1) {
      // Not UTF-8, or a C1 control: its bytes, escaped.
      for (std::size_t k = 0; k < (c1 ? 2u : 1u); ++k)
        out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i + k]));
      i += c1 ? 2 : 1;
      continue;
    }
    if (len == 1 && (c < 0x20 || c == 0x7F)) {
      const char* e = short_escape(c);
      out += e ? std::string(e) : fmt::format("\\x{:02x}", c);
    } else {
      out.append(text.data() + i, len);
    }
    i += len;
  }
  return out;
}

void JsonWriter::separate() {
  if (m_need_comma) m_out.push_back(',');
  m_need_comma = true;
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  m_out.push_back('{');
  m_need_comma = false;
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  m_out.push_back('}');
  m_need_comma = true;
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  separate();
  m_out.push_back('[');
  m_need_comma = false;
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  m_out.push_back(']');
  m_need_comma = true;
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  m_out += json_quote(name);
  m_out.push_back(':');
  m_need_comma = false;
  return *this;
}
JsonWriter& JsonWriter::value(std::string_view text) {
  separate();
  m_out += json_quote(text);
  return *this;
}
JsonWriter& JsonWriter::value(std::int64_t number) {
  separate();
  m_out += std::to_string(number);
  return *this;
}
JsonWriter& JsonWriter::value(std::uint64_t number) {
  separate();
  m_out += std::to_string(number);
  return *this;
}
JsonWriter& JsonWriter::value(double number) {
  separate();
  m_out += std::isfinite(number) ? fmt::format("{:.3f}", number) : "null";
  return *this;
}
JsonWriter& JsonWriter::value(bool flag) {
  separate();
  m_out += flag ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  m_out += "null";
  return *this;
}

}  // namespace pycache_clean
