// A validator for the marshal stream of a pyc body, written from CPython's
// Python/marshal.c (r_object) of 3.6 to 3.14: it reads every type code and
// length, checks every back-reference against the references registered so
// far, and follows the code object's layout of the interpreter the pyc is for,
// so that a truncated or garbled cache behind an intact header is found at disk
// speed, with no interpreter. It is iterative (an explicit stack, bounded like
// CPython's by MAX_MARSHAL_STACK_DEPTH) and builds no object: memory is one
// frame per open container and one bit per reference.
#include <pycache_clean/marshal_check.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace pycache_clean {

namespace {

constexpr unsigned char k_flag_ref = 0x80;
constexpr std::size_t k_max_depth = 2000;  // MAX_MARSHAL_STACK_DEPTH

// The code object's fields in stream order: 'I' a raw 4-byte int, 'O' an object.
const char* code_layout(int minor) {
  if (minor <= 7) return "IIIIIOOOOOOOOIO";    // argcount kwonly nlocals stacksize flags ...
  if (minor <= 10) return "IIIIIIOOOOOOOOIO";  // + posonlyargcount (3.8)
  return "IIIIIOOOOOOOOIOO";                   // 3.11: localsplus*, qualname, exceptiontable
}

struct Frame {
  enum Kind { sequence, dict, code } kind;
  std::uint32_t remaining = 0;  // sequence: objects still to read
  bool expect_key = true;       // dict
  const char* step = nullptr;   // code: the next field
  long ref = -1;                // the reference slot to fill when done
};

class Walker {
 public:
  // `stack` and `refs` are the caller's (reused: no allocation per stream).
  Walker(std::string_view data, int minor, std::vector<Frame>& stack, std::vector<bool>& refs)
      : m_data(data), m_minor(minor), m_stack(stack), m_refs(refs) {
    m_stack.clear();
    m_refs.clear();
  }

  MarshalCheck run() {
    bool need = true;
    for (;;) {
      if (need) {
        bool done = false;
        if (!read_object(done)) return m_result;
        if (!done) {
          need = next_needs_object();
          if (!m_result.why.empty()) return m_result;
          if (need) continue;
        }
      }
      // An object is complete: advance its container, closing those that end.
      for (;;) {
        if (m_stack.empty()) return m_result;
        Frame& top = m_stack.back();
        bool closed = false;
        if (top.kind == Frame::sequence) {
          closed = --top.remaining == 0;
        } else if (top.kind == Frame::dict) {
          top.expect_key = !top.expect_key;
        } else {
          ++top.step;
          if (!skip_raw_fields(top)) return m_result;
          closed = *top.step == '\0';
        }
        if (!closed) break;
        fill(top.ref);
        m_stack.pop_back();
      }
      need = true;
    }
  }

 private:
  bool fail(MarshalCheck::Result r, const std::string& why) {
    m_result.result = r;
    m_result.why = fmt::format("{} at byte {}", why, m_pos);
    return false;
  }
  bool take(std::size_t n) {
    if (m_data.size() - m_pos < n) return fail(MarshalCheck::Result::truncated, "ends early");
    m_pos += n;
    return true;
  }
  bool byte(std::uint8_t& out) {
    if (m_pos >= m_data.size()) return fail(MarshalCheck::Result::truncated, "ends early");
    out = static_cast<std::uint8_t>(m_data[m_pos++]);
    return true;
  }
  bool int32(std::int32_t& out) {
    if (m_data.size() - m_pos < 4) return fail(MarshalCheck::Result::truncated, "ends early");
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(m_data[m_pos + i]);
    std::memcpy(&out, &v, 4);
    m_pos += 4;
    return true;
  }
  bool bad(const std::string& why) { return fail(MarshalCheck::Result::bad, why); }

  long reserve(bool flagged) {
    if (!flagged) return -1;
    m_refs.push_back(false);
    return static_cast<long>(m_refs.size()) - 1;
  }
  void fill(long ref) {
    if (ref >= 0) m_refs[static_cast<std::size_t>(ref)] = true;
  }

  // Consumes the raw ints of a code object up to its next object field.
  bool skip_raw_fields(Frame& f) {
    while (*f.step == 'I') {
      if (!take(4)) return false;
      ++f.step;
    }
    return true;
  }

  // After opening a container: whether it wants an object now (an empty
  // sequence is complete at once, and is closed here).
  bool next_needs_object() {
    Frame& top = m_stack.back();
    if (top.kind == Frame::sequence && top.remaining == 0) {
      fill(top.ref);
      m_stack.pop_back();
      return false;
    }
    if (top.kind == Frame::code) {
      if (!skip_raw_fields(top)) return false;
    }
    return true;
  }

  bool push(Frame f) {
    if (m_stack.size() >= k_max_depth) return bad("nested deeper than marshal allows");
    m_stack.push_back(f);
    return true;
  }

  bool sized(std::uint32_t& n) {
    std::int32_t v = 0;
    if (!int32(v)) return false;
    if (v < 0) return bad("negative size");
    n = static_cast<std::uint32_t>(v);
    return true;
  }

  bool utf8_surrogatepass(std::size_t start, std::size_t n) {
    const auto* s = reinterpret_cast<const unsigned char*>(m_data.data() + start);
    for (std::size_t i = 0; i < n;) {
      std::uint64_t eight = 0;  // ASCII runs, eight bytes at a time
      if (i + 8 <= n && (std::memcpy(&eight, s + i, 8), (eight & 0x8080808080808080u) == 0)) {
        i += 8;
        continue;
      }
      unsigned char c = s[i];
      std::size_t len = c < 0x80         ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 0;
      if (len == 0 || i + len > n) return false;
      std::uint32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
      for (std::size_t k = 1; k < len; ++k) {
        if ((s[i + k] & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (s[i + k] & 0x3F);
      }
      static const std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < min_for_len[len] || cp > 0x10FFFF) return false;
      i += len;
    }
    return true;
  }

  // A long's digits (15-bit, little-endian pairs), normalised as marshal
  // writes them.
  bool read_long() {
    std::int32_t digits = 0;
    if (!int32(digits)) return false;
    if (digits == INT32_MIN) return bad("long size out of range");
    std::uint32_t count = digits < 0 ? static_cast<std::uint32_t>(-(digits + 1)) + 1u
                                     : static_cast<std::uint32_t>(digits);
    if (m_data.size() - m_pos < std::uint64_t{count} * 2)
      return fail(MarshalCheck::Result::truncated, "ends early");
    for (std::uint32_t i = 0; i < count; ++i) {
      unsigned d = static_cast<unsigned char>(m_data[m_pos]) |
                   static_cast<unsigned>(static_cast<unsigned char>(m_data[m_pos + 1])) << 8;
      if (d >= 0x8000) return bad("digit out of range in long");
      if (i + 1 == count && d == 0) return bad("unnormalized long data");
      m_pos += 2;
    }
    return true;
  }

  // The payload of a leaf object (singletons, numbers, strings); `known`
  // false when `type` is no leaf's code. False when cut short or invalid.
  bool read_leaf(char type, bool& known) {
    known = true;
    std::uint32_t n = 0;
    std::uint8_t small = 0;
    switch (type) {
      case 'N':
      case 'F':
      case 'T':
      case 'S':
      case '.':
        return true;
      case 'i':
        return take(4);
      case 'g':
        return take(8);
      case 'y':
        return take(16);
      case 'f':
      case 'z':
      case 'Z':
        return byte(small) && take(small);
      case 'x':
        return byte(small) && take(small) && byte(small) && take(small);
      case 'l':
        return read_long();
      case 's':
      case 'a':
      case 'A':
        return sized(n) && take(n);
      case 'u':
      case 't': {
        if (!sized(n)) return false;
        std::size_t start = m_pos;
        if (!take(n)) return false;
        return utf8_surrogatepass(start, n) || bad("string is not UTF-8");
      }
      default:
        known = false;
        return true;
    }
  }

  // The frame of a container (tuple, list, set, dict, code, slice), whose
  // children follow; `known` false when `type` is no container's code.
  bool open_container(char type, bool flagged, bool& known) {
    known = true;
    std::uint32_t n = 0;
    std::uint8_t small = 0;
    switch (type) {
      case ')':
        if (!byte(small)) return false;
        return push(Frame{Frame::sequence, small, true, nullptr, reserve(flagged)});
      case '(':
      case '[':
      case '<':
      case '>':
        if (!sized(n)) return false;
        return push(Frame{Frame::sequence, n, true, nullptr, reserve(flagged)});
      case '{':
        return push(Frame{Frame::dict, 0, true, nullptr, reserve(flagged)});
      case 'c':
        return push(Frame{Frame::code, 0, true, code_layout(m_minor), reserve(flagged)});
      case ':':  // slice (3.14)
        if (m_minor < 14) return bad("unknown type code ':'");
        return push(Frame{Frame::sequence, 3, true, nullptr, reserve(flagged)});
      default:
        known = false;
        return true;
    }
  }

  // Reads one object's type code and whatever it holds directly; sets `done`
  // when the object is complete (no children to read).
  bool read_object(bool& done) {
    std::uint8_t code = 0;
    if (!byte(code)) return false;
    bool flagged = (code & k_flag_ref) != 0;
    char type = static_cast<char>(code & ~k_flag_ref);
    done = true;
    if (type == '0') {  // NULL: only as the end of a dict
      if (m_stack.empty() || m_stack.back().kind != Frame::dict || !m_stack.back().expect_key)
        return bad("NULL object");
      fill(m_stack.back().ref);
      m_stack.pop_back();
      return true;  // the dict is the object just completed
    }
    if (type == 'r') {
      std::int32_t index = 0;
      if (!int32(index)) return false;
      if (index < 0 || static_cast<std::size_t>(index) >= m_refs.size() ||
          !m_refs[static_cast<std::size_t>(index)])
        return bad("invalid reference");
      return true;  // a reference is never registered itself
    }
    bool known = false;
    if (!read_leaf(type, known)) return false;
    if (known) {
      fill(reserve(flagged));
      return true;
    }
    done = false;
    if (!open_container(type, flagged, known)) return false;
    if (known) return true;
    return bad(fmt::format("unknown type code {:#04x}", code));
  }

  std::string_view m_data;
  int m_minor;
  std::size_t m_pos = 0;
  std::vector<Frame>& m_stack;
  std::vector<bool>& m_refs;
  MarshalCheck m_result;
};

}  // namespace

MarshalCheck check_marshal(std::string_view data, int minor) {
  thread_local std::vector<Frame> stack;
  thread_local std::vector<bool> refs;
  return Walker(data, minor, stack, refs).run();
}

}  // namespace pycache_clean
