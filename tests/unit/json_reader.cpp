// The strict JSON reader of json_reader.hpp: recursive descent, one
// function per production of RFC 8259's grammar.
#include "json_reader.hpp"

#include <cstdlib>

namespace pycache_clean::test {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view text) : m_text(text) {}

  JsonValue document() {
    JsonValue v = value();
    skip_space();
    if (m_at != m_text.size()) fail("text after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(m_at));
  }
  void skip_space() {
    while (m_at < m_text.size() && (m_text[m_at] == ' ' || m_text[m_at] == '\t' ||
                                    m_text[m_at] == '\r' || m_text[m_at] == '\n'))
      ++m_at;
  }
  char peek() const { return m_at < m_text.size() ? m_text[m_at] : '\0'; }
  void expect(char c) {
    if (peek() != c) fail(std::string("'") + c + "' expected");
    ++m_at;
  }
  bool word(std::string_view w) {
    if (m_text.substr(m_at, w.size()) != w) return false;
    m_at += w.size();
    return true;
  }

  JsonValue value() {
    skip_space();
    JsonValue v;
    char c = peek();
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"') {
      v.kind = JsonValue::Kind::string;
      v.text = string();
    } else if (word("true")) {
      v.kind = JsonValue::Kind::boolean;
      v.boolean = true;
    } else if (word("false")) {
      v.kind = JsonValue::Kind::boolean;
    } else if (word("null")) {
      v.kind = JsonValue::Kind::null;
    } else {
      v.kind = JsonValue::Kind::number;
      v.number = number();
    }
    return v;
  }

  JsonValue object() {
    JsonValue v;
    v.kind = JsonValue::Kind::object;
    expect('{');
    skip_space();
    if (peek() == '}') return ++m_at, v;
    for (;;) {
      skip_space();
      std::string key = string();
      skip_space();
      expect(':');
      if (v.members.count(key)) fail("duplicate key \"" + key + "\"");
      v.members[key] = value();
      skip_space();
      if (peek() == '}') return ++m_at, v;
      expect(',');
    }
  }

  JsonValue array() {
    JsonValue v;
    v.kind = JsonValue::Kind::array;
    expect('[');
    skip_space();
    if (peek() == ']') return ++m_at, v;
    for (;;) {
      v.items.push_back(value());
      skip_space();
      if (peek() == ']') return ++m_at, v;
      expect(',');
    }
  }

  double number() {
    std::size_t start = m_at;
    auto digits = [&] {
      std::size_t from = m_at;
      while (peek() >= '0' && peek() <= '9') ++m_at;
      if (m_at == from) fail("digit expected");
    };
    if (peek() == '-') ++m_at;
    if (peek() == '0')
      ++m_at;
    else
      digits();
    if (peek() == '.') ++m_at, digits();
    if (peek() == 'e' || peek() == 'E') {
      ++m_at;
      if (peek() == '+' || peek() == '-') ++m_at;
      digits();
    }
    return std::strtod(std::string(m_text.substr(start, m_at - start)).c_str(), nullptr);
  }

  unsigned hex4() {
    if (m_at + 4 > m_text.size()) fail("\\u needs four hex digits");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = m_text[m_at++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        fail("hex digit expected");
    }
    return v;
  }

  static void utf8(unsigned cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  void escape(std::string& out) {
    char c = m_text[m_at++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out += c;
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'n':
        out += '\n';
        return;
      case 'r':
        out += '\r';
        return;
      case 't':
        out += '\t';
        return;
      case 'u':
        break;
      default:
        fail("unknown escape");
    }
    unsigned cp = hex4();
    if (cp >= 0xd800 && cp < 0xdc00 && word("\\u")) {
      unsigned low = hex4();
      if (low >= 0xdc00 && low < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
      } else {
        utf8(cp, out);
        cp = low;
      }
    }
    utf8(cp, out);
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (m_at >= m_text.size()) fail("unterminated string");
      char c = m_text[m_at++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c == '\\') {
        if (m_at >= m_text.size()) fail("unterminated escape");
        escape(out);
      } else {
        out += c;
      }
    }
  }

  std::string_view m_text;
  std::size_t m_at = 0;
};

}  // namespace

JsonValue parse_json(std::string_view text) {
  return Reader(text).document();
}

}  // namespace pycache_clean::test
