// A validator for the marshal stream of a pyc body, written from CPython's
// Python/marshal.c (r_object) and Objects/codeobject.c of 3.6 to 3.14, and
// checked against each interpreter's own marshal.loads by a fuzz test that
// flips bytes of real caches (tests/e2e/test_marshal_fuzz.py). It reads every
// type code and length, checks every back-reference against what CPython has
// registered by then, and judges what CPython judges as it builds objects:
// set members and dict keys must be hashable, and a code object's fields must
// have the types, lengths and counts that version's constructor demands. So a
// truncated or garbled cache behind an intact header is found at disk speed,
// with no interpreter.
//
// It builds no object. Each object read leaves a small Value (its kind,
// whether it is hashable, a tuple's size and whether it holds only strings,
// a bytes object's size and how many of its bytes mark a local), kept for
// each registered reference (a dozen bytes each) and passed up to the
// container being read. It is iterative (an explicit stack, bounded like
// CPython's by MAX_MARSHAL_STACK_DEPTH), and it reads its input through a
// window of 64 KiB, so a body of any size costs the same memory but for its
// references.
#include "pyc/marshal_check.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "util/error.hpp"

namespace pycache_clean {

namespace {

constexpr unsigned char k_flag_ref = 0x80;
constexpr std::size_t k_max_depth = 2000;  // MAX_MARSHAL_STACK_DEPTH
constexpr std::size_t k_window = std::size_t{64} * 1024;
constexpr std::uint8_t k_fast_local = 0x20;  // CO_FAST_LOCAL (3.11+ locals kinds)
// Where a bytes object's payload lies in the stream is kept instead of
// counting its CO_FAST_LOCAL bytes (co_code and line tables, most of a body,
// need never be touched): a code object that takes it as its locals kinds
// counts them then, from memory or the window. One whose kinds are no longer
// in the window (a reference far back in a body over 1 MiB) is not checked
// for co_varnames covering its arguments.
constexpr std::uint32_t k_locals_unknown = UINT32_MAX;
// Opcodes the compiler never writes that crash CPython 3.12 and 3.13 when a
// code object holding them is built (instrumentation opcodes): found by
// tests/e2e/test_marshal_fuzz.py, probed for every value.
bool crashes_as_opcode(int minor, unsigned char op) {
  if (minor == 12) return op == 253 || op == 254;
  if (minor == 13) return op == 247 || op == 254;
  return false;
}

// How many of the `n` bytes at `s` have CO_FAST_LOCAL set, eight at a time.
std::uint32_t count_fast_locals(const unsigned char* s, std::size_t n) {
  constexpr std::uint64_t k_bits = 0x2020202020202020u;
  static_assert(k_fast_local == 0x20, "k_bits repeats CO_FAST_LOCAL");
  std::uint32_t count = 0;
  std::size_t i = 0;
  for (std::uint64_t eight = 0; i + 8 <= n; i += 8) {
    std::memcpy(&eight, s + i, 8);
    // Each byte now 0 or 1; the multiply sums the eight into the top byte.
    count += static_cast<std::uint32_t>((((eight & k_bits) >> 5) * 0x0101010101010101u) >> 56);
  }
  for (; i < n; ++i) count += (s[i] & k_fast_local) != 0;
  return count;
}

// How many inline cache code units follow each opcode in 3.12 and 3.13
// (opcode._inline_cache_entries of each family, specialised opcodes as
// their family), as those interpreters report them: where the next
// instruction starts, since CPython skips the caches when it walks them.
const unsigned char* inline_caches(int minor) {
  static const unsigned char caches_312[256] = {
      0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 3, 3, 1, 0, 0, 3,
      3, 0, 0, 0, 0, 3, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 3, 1,
      1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 9, 0, 9, 9, 0, 0, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 1, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0, 4, 4, 4, 0, 0,
      4, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
      0, 0, 0, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 3, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  };
  static const unsigned char caches_313[256] = {
      0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0,
      1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0,
      0, 0, 0, 0, 4, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0,
      0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
      3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
      4, 4, 1, 1, 0, 1, 4, 4, 4, 1, 1, 3, 3, 3, 3, 3, 3, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  };
  return minor == 12 ? caches_312 : caches_313;
}
constexpr std::int32_t k_co_varargs = 0x04;
constexpr std::int32_t k_co_varkeywords = 0x08;

enum class Kind : std::uint8_t {
  none,  // None, Ellipsis, StopIteration, booleans: singletons
  number,
  str,
  bytes,
  tuple,
  list,
  dict,
  set,
  frozenset,
  code,
  slice,
};

// What the containers of an object need to know of it, in one 64-bit word
// (it is made and copied once per object: in a register, never rebuilt from
// pieces in memory, and eight bytes a reference): the kind in bits 0-3,
// four flags, a 28-bit size and a 28-bit stream offset. A size beyond 28
// bits saturates (to an even number: an absurd co_code is not called odd);
// an offset beyond is unknown (its locals kinds are then not counted).
class Value {
 public:
  static constexpr std::uint32_t k_max_size = (1u << 28) - 2;
  static constexpr std::uint32_t k_unknown_at = (1u << 28) - 1;
  Value() = default;  // None: a hashable singleton
  Value(Kind k, bool hashable, bool all_str, bool filled, std::uint32_t size, std::uint32_t at)
      : m_bits(static_cast<std::uint64_t>(k) | (hashable ? k_hashable : 0) |
               (all_str ? k_all_str : 0) | (filled ? k_filled : 0) |
               (std::uint64_t{std::min(size, k_max_size)} << 8) |
               (std::uint64_t{at < k_unknown_at ? at : k_unknown_at} << 36)) {}
  Kind kind() const { return static_cast<Kind>(m_bits & 0xF); }
  bool hashable() const { return (m_bits & k_hashable) != 0; }
  bool all_str() const { return (m_bits & k_all_str) != 0; }  // a tuple: every item a str
  bool filled() const { return (m_bits & k_filled) != 0; }    // a reference slot: registered
  bool crashes() const { return (m_bits & k_crashes) != 0; }  // bytes: an opcode CPython crashes on
  std::uint32_t size() const { return static_cast<std::uint32_t>((m_bits >> 8) & 0xFFFFFFF); }
  std::uint32_t at() const { return static_cast<std::uint32_t>(m_bits >> 36); }  // bytes' payload
  void set_kind(Kind k) { m_bits = (m_bits & ~std::uint64_t{0xF}) | static_cast<std::uint64_t>(k); }
  void set_at(std::uint64_t at) {
    m_bits =
        (m_bits & ((std::uint64_t{1} << 36) - 1)) |
        (std::uint64_t{at < k_unknown_at ? static_cast<std::uint32_t>(at) : k_unknown_at} << 36);
  }
  void and_flags(bool hashable, bool all_str) {
    if (!hashable) m_bits &= ~k_hashable;
    if (!all_str) m_bits &= ~k_all_str;
  }
  void set_crashes(bool crashes) { m_bits = crashes ? m_bits | k_crashes : m_bits & ~k_crashes; }

 private:
  static constexpr std::uint64_t k_hashable = 1 << 4;
  static constexpr std::uint64_t k_all_str = 1 << 5;
  static constexpr std::uint64_t k_filled = 1 << 6;
  static constexpr std::uint64_t k_crashes = 1 << 7;
  std::uint64_t m_bits = k_hashable | k_all_str | k_filled;
};
static_assert(sizeof(Value) == 8, "a reference costs eight bytes");

// The roles of a code object's object fields, in stream order per version.
enum class Field : std::uint8_t {
  code,       // bytes (3.11+: of even length)
  consts,     // tuple
  names,      // tuple of str (also varnames, freevars, cellvars, localsplusnames)
  kinds,      // 3.11+ localspluskinds: bytes as long as localsplusnames
  text,       // str: filename, name, qualname
  table,      // bytes: lnotab, linetable, exceptiontable
  varnames,   // tuple of str, whose size the argument counts must fit (3.6-3.10)
  plusnames,  // 3.11+ localsplusnames: tuple of str
};

// A code object's layout: 'I' a raw 4-byte int, 'O' an object (see fields()).
const char* code_layout(int minor) {
  if (minor <= 7) return "IIIIIOOOOOOOOIO";    // argcount kwonly nlocals stacksize flags ...
  if (minor <= 10) return "IIIIIIOOOOOOOOIO";  // + posonlyargcount (3.8)
  return "IIIIIOOOOOOOOIOO";                   // 3.11: localsplus*, qualname, exceptiontable
}

const Field* code_fields(int minor) {
  static const Field before_311[] = {Field::code,     Field::consts, Field::names,
                                     Field::varnames, Field::names,  Field::names,
                                     Field::text,     Field::text,   Field::table};
  static const Field since_311[] = {Field::code,  Field::consts, Field::names, Field::plusnames,
                                    Field::kinds, Field::text,   Field::text,  Field::text,
                                    Field::table, Field::table};
  return minor <= 10 ? before_311 : since_311;
}

struct Frame {
  enum Type : std::uint8_t { sequence, set, dict, code } type = sequence;
  Value value;                   // the container's, as its items arrive
  std::uint32_t remaining = 0;   // sequence, set: items still to read
  bool expect_key = true;        // dict
  bool register_at_end = false;  // frozenset, code: the reference is filled when done
  long ref = -1;                 // its reference slot
  const char* step = nullptr;    // code: the next field of the layout
  int field = 0;                 // code: objects read so far
  int ints = 0;                  // code: ints read so far
  // A code object's: each written before check_code reads it, so left
  // unset here (zeroing them for every tuple and list costs).
  std::int32_t int_fields[7];
  std::uint32_t plus_names;   // 3.11+: localsplusnames' size
  std::uint32_t kinds;        // 3.11+: localspluskinds' size
  std::uint32_t local_kinds;  // 3.11+
  std::uint32_t varnames;     // 3.6-3.10
  Frame() {}                  // NOLINT: the code object's fields are set as they are read
};

// The stream, read through a window: the caller's head first, then what
// `more` gives, 64 KiB at a time.
class Input {
 public:
  Input(std::string_view head, const MarshalMore* more) : m_view(head), m_more(more) {}

  std::uint64_t offset() const { return m_base + m_pos; }

  // The `n` bytes at stream offset `at`, when they are still in the window
  // (the whole body, when it is in memory); else null.
  const unsigned char* at(std::uint64_t at, std::uint64_t n) const {
    if (at < m_base || at + n > m_base + m_view.size()) return nullptr;
    return reinterpret_cast<const unsigned char*>(m_view.data() + (at - m_base));
  }
  int read_error() const { return m_error; }

  // `n` (at most 16) bytes at the cursor, contiguous; null when the stream
  // ends first.
  const unsigned char* peek(std::size_t n) {
    if (m_view.size() - m_pos >= n || refill(n))
      return reinterpret_cast<const unsigned char*>(m_view.data() + m_pos);
    return nullptr;
  }
  void advance(std::size_t n) { m_pos += n; }

  // Passes the next `n` bytes to `visit` in pieces; false when the stream
  // ends first.
  template <typename Visit>
  bool each(std::uint64_t n, const Visit& visit) {
    while (n > 0) {
      if (m_pos == m_view.size() && !refill(1)) return false;
      std::size_t piece = static_cast<std::size_t>(
          std::min<std::uint64_t>(n, static_cast<std::uint64_t>(m_view.size() - m_pos)));
      if (!visit(reinterpret_cast<const unsigned char*>(m_view.data() + m_pos), piece))
        return true;  // the visitor has seen enough; the caller reports why
      m_pos += piece;
      n -= piece;
    }
    return true;
  }

 private:
  // Makes at least `n` bytes available from the cursor; false at the end.
  __attribute__((noinline)) bool refill(std::size_t n) {
    if (!m_more || m_error != 0 || m_ended) return false;
    std::size_t left = m_view.size() - m_pos;
    if (m_buffer.size() < k_window) m_buffer.resize(k_window);
    std::memmove(m_buffer.data(), m_view.data() + m_pos, left);
    m_base += m_pos;
    m_pos = 0;
    std::size_t have = left;
    while (have < n || have == left) {
      std::size_t got = 0;
      m_error = (*m_more)(m_base + have, m_buffer.data() + have, m_buffer.size() - have, got);
      if (m_error != 0 || got == 0) {
        m_ended = true;
        break;
      }
      have += got;
      if (have == m_buffer.size()) break;
    }
    m_view = std::string_view(m_buffer.data(), have);
    return have >= n;
  }

  std::string_view m_view;
  const MarshalMore* m_more;
  std::vector<char> m_buffer;
  std::uint64_t m_base = 0;  // the stream offset of m_view's first byte
  std::size_t m_pos = 0;
  int m_error = 0;
  bool m_ended = false;
};

// UTF-8 as CPython's "surrogatepass" decoder takes it (marshal's strings),
// fed in pieces: shortest forms only, up to U+10FFFF, surrogates allowed.
class Utf8 {
 public:
  bool feed(const unsigned char* s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      unsigned char c = s[i];
      if (m_need == 0) {
        // Runs of ASCII, eight bytes at a time.
        std::uint64_t eight = 0;
        while (i + 8 <= n && (std::memcpy(&eight, s + i, 8), (eight & 0x8080808080808080u) == 0))
          i += 8;
        if (i == n) break;
        c = s[i];
        if (c < 0x80) continue;
        m_need = (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 0;
        if (m_need == 0) return false;
        m_length = m_need + 1;
        m_cp = c & (0xFF >> (m_length + 1));
        continue;
      }
      if ((c & 0xC0) != 0x80) return false;
      m_cp = (m_cp << 6) | (c & 0x3F);
      if (--m_need == 0) {
        static const std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
        if (m_cp < min_for_length[m_length] || m_cp > 0x10FFFF) return false;
      }
    }
    return true;
  }
  bool complete() const { return m_need == 0; }

 private:
  int m_need = 0;
  int m_length = 0;
  std::uint32_t m_cp = 0;
};

class Walker {
 public:
  // `stack` and `refs` are the caller's (reused: no allocation per stream).
  Walker(Input& in, int minor, std::vector<Frame>& stack, std::vector<Value>& refs)
      : m_in(in), m_minor(minor), m_stack(stack), m_refs(refs) {
    m_stack.clear();
    m_refs.clear();
  }

  MarshalCheck run() {
    Value top;
    if (!read_tree(top)) return m_result;
    if (top.kind() != Kind::code) bad("the body is not a code object (importlib: Non-code object)");
    return m_result;
  }

 private:
  bool fail(MarshalCheck::Result r, const std::string& why) {
    if (!m_result.why.empty()) return false;
    m_result.result = r;
    m_result.why = fmt::format("{} at byte {}", why, m_in.offset());
    return false;
  }
  bool ended() {
    if (m_in.read_error() != 0)
      return fail(MarshalCheck::Result::bad,
                  "cannot be read (" + errno_text(m_in.read_error()) + ")");
    return fail(MarshalCheck::Result::truncated, "ends early");
  }
  bool bad(const std::string& why) { return fail(MarshalCheck::Result::bad, why); }

  bool take(std::uint64_t n) {
    if (n <= 16) {  // a number's fixed payload: at hand in the window
      if (!m_in.peek(static_cast<std::size_t>(n))) return ended();
      m_in.advance(static_cast<std::size_t>(n));
      return true;
    }
    return m_in.each(n, [](const unsigned char*, std::size_t) { return true; }) || ended();
  }
  bool byte(std::uint8_t& out) {
    const unsigned char* p = m_in.peek(1);
    if (!p) return ended();
    out = *p;
    m_in.advance(1);
    return true;
  }
  bool int32(std::int32_t& out) {
    const unsigned char* p = m_in.peek(4);
    if (!p) return ended();
    std::uint32_t v = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
    std::memcpy(&out, &v, 4);
    m_in.advance(4);
    return true;
  }
  bool sized(std::uint32_t& n) {
    std::int32_t v = 0;
    if (!int32(v)) return false;
    if (v < 0) return bad("negative size");
    n = static_cast<std::uint32_t>(v);
    return true;
  }

  // A slot in the reference table: filled now (an object complete, or a
  // mutable container CPython registers before its items), or reserved
  // until the object is done (a frozenset, a code object).
  long reserve(bool flagged, const Value& v) {
    if (!flagged) return -1;
    m_refs.push_back(v);
    return static_cast<long>(m_refs.size()) - 1;
  }

  bool read_string(Kind kind, std::uint64_t n, bool utf8, Value& out) {
    out = Value{
        kind, true, true, true, static_cast<std::uint32_t>(std::min<std::uint64_t>(n, UINT32_MAX)),
        0};
    out.set_at(m_in.offset());
    bool opcodes = kind == Kind::bytes && (m_minor == 12 || m_minor == 13);
    if (!opcodes && n <= k_window / 2) {  // the common case: at hand in the window
      const unsigned char* s = m_in.peek(static_cast<std::size_t>(n));
      if (!s) return ended();
      if (utf8) {
        Utf8 decoder;
        if (!decoder.feed(s, static_cast<std::size_t>(n)) || !decoder.complete())
          return bad("string is not UTF-8");
      }
      m_in.advance(static_cast<std::size_t>(n));
      return true;
    }
    return read_in_pieces(n, utf8, opcodes, out);
  }

  // A string longer than half the window, or bytes whose opcodes are looked
  // at (they may be co_code): read a piece at a time.
  bool read_in_pieces(std::uint64_t n, bool utf8, bool opcodes, Value& out) {
    Utf8 decoder;
    bool valid = true;
    bool crashes = false;
    std::uint64_t skip = 0;  // bytes to the next instruction, across pieces
    const unsigned char* caches = opcodes ? inline_caches(m_minor) : nullptr;
    bool whole = m_in.each(n, [&](const unsigned char* s, std::size_t piece) {
      if (utf8) return valid = decoder.feed(s, piece);
      // Each instruction: its opcode, its argument, then its cache units.
      for (std::size_t i = 0; opcodes;) {
        if (skip >= piece - i) {  // the next opcode lies beyond this piece
          skip -= piece - i;
          break;
        }
        i += skip;
        crashes = crashes || crashes_as_opcode(m_minor, s[i]);
        skip = 1 + 2u * caches[s[i]];
        ++i;
      }
      return true;
    });
    if (!whole) return ended();
    out.set_crashes(crashes);
    if (utf8 && !(valid && decoder.complete())) return bad("string is not UTF-8");
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
    for (std::uint32_t i = 0; i < count; ++i) {
      const unsigned char* p = m_in.peek(2);
      if (!p) return ended();
      unsigned d = p[0] | (static_cast<unsigned>(p[1]) << 8);
      if (d >= 0x8000) return bad("digit out of range in long");
      if (i + 1 == count && d == 0) return bad("unnormalized long data");
      m_in.advance(2);
    }
    return true;
  }

  // The object of a leaf type code (singletons, numbers, strings); `known`
  // false when `type` is no leaf's code.
  bool read_leaf(char type, Value& out, bool& known) {
    known = true;
    out = Value{};
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
        out.set_kind(Kind::number);
        return take(4);
      case 'g':
        out.set_kind(Kind::number);
        return take(8);
      case 'y':
        out.set_kind(Kind::number);
        return take(16);
      case 'f':
      case 'x':
        out.set_kind(Kind::number);
        return read_float_text() && (type == 'f' || read_float_text());
      case 'l':
        out.set_kind(Kind::number);
        return read_long();
      case 'z':
      case 'Z':
        return byte(small) && read_string(Kind::str, small, false, out);
      case 's':
        return sized(n) && read_string(Kind::bytes, n, false, out);
      case 'a':
      case 'A':
        return sized(n) && read_string(Kind::str, n, false, out);
      case 'u':
      case 't':
        return sized(n) && read_string(Kind::str, n, true, out);
      default:
        known = false;
        return true;
    }
  }

  // A float written as text (marshal versions before 2): as
  // PyOS_string_to_double reads it, the whole text a decimal float, inf or nan.
  bool read_float_text() {
    std::uint8_t n = 0;
    if (!byte(n)) return false;
    const unsigned char* p = m_in.peek(n);
    if (!p) return ended();
    // Read as a C string: a NUL ends the text.
    std::string text(reinterpret_cast<const char*>(p), n);
    text.resize(std::strlen(text.c_str()));
    m_in.advance(n);
    if (!is_float_text(text)) return bad("could not convert string to float");
    return true;
  }

  static bool is_float_text(std::string s) {
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::string rest = s.substr(i);
    for (auto& c : rest) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (rest == "inf" || rest == "infinity" || rest == "nan") return true;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    }
    if (digits == 0) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
      std::size_t exponent = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exponent;
      if (exponent == 0) return false;
    }
    return i == s.size();
  }

  // The frame of a container whose items follow; `known` false when `type`
  // is no container's code.
  bool open_container(char type, bool flagged, bool& known) {
    known = true;
    std::uint32_t n = 0;
    std::uint8_t small = 0;
    Frame::Type frame = Frame::sequence;
    Kind kind = Kind::tuple;
    bool hashable = true;
    bool register_at_end = false;  // frozensets, code objects and slices
    switch (type) {
      case ')':
        if (!byte(small)) return false;
        n = small;
        break;
      case '(':
      case '[':
        if (!sized(n)) return false;
        kind = type == '[' ? Kind::list : Kind::tuple;
        hashable = type == '(';
        break;
      case '<':
      case '>':
        if (!sized(n)) return false;
        frame = Frame::set;
        kind = type == '<' ? Kind::set : Kind::frozenset;
        hashable = type == '>';
        // CPython registers a frozenset once built (an empty one at once).
        register_at_end = type == '>' && n > 0;
        break;
      case '{':
        frame = Frame::dict;
        kind = Kind::dict;
        hashable = false;
        break;
      case 'c':
        frame = Frame::code;
        kind = Kind::code;
        register_at_end = true;
        break;
      case ':':  // slice (3.14)
        if (m_minor < 14) return bad("unknown type code ':'");
        n = 3;
        kind = Kind::slice;
        register_at_end = true;
        break;
      default:
        known = false;
        return true;
    }
    long ref = reserve(flagged, Value{kind, hashable, true, !register_at_end, n, 0});
    // Built where it lives: a frame is large, and a copy of one just
    // written costs the processor a stall.
    Frame& f = m_stack.emplace_back();
    f.type = frame;
    f.value = Value{kind, hashable, true, true, n, 0};
    f.remaining = n;
    f.register_at_end = register_at_end;
    f.ref = ref;
    if (frame == Frame::code) f.step = code_layout(m_minor);
    return true;
  }

  // Reads one object. Leaves complete at once (`out`, `complete`); a
  // container is pushed, to be completed by later calls.
  bool read_object(Value& out, bool& complete) {
    if (m_stack.size() >= k_max_depth) return bad("recursion limit exceeded");
    std::uint8_t code = 0;
    if (!byte(code)) return false;
    bool flagged = (code & k_flag_ref) != 0;
    char type = static_cast<char>(code & ~k_flag_ref);
    complete = true;
    if (type == '0') return read_null(out, complete);
    if (type == 'r') {
      std::int32_t index = 0;
      if (!int32(index)) return false;
      if (index < 0 || static_cast<std::size_t>(index) >= m_refs.size() ||
          !m_refs[static_cast<std::size_t>(index)].filled())
        return bad("invalid reference");
      out = m_refs[static_cast<std::size_t>(index)];
      return true;  // a reference is never registered itself
    }
    bool known = false;
    if (!read_leaf(type, out, known)) return false;
    if (known) {
      // Singletons are never registered, flag or not (r_object returns them
      // before R_REF).
      if (out.kind() != Kind::none) reserve(flagged, out);
      return true;
    }
    complete = false;
    if (!open_container(type, flagged, known)) return false;
    if (known) return true;
    return bad(fmt::format("unknown type code {:#04x}", code));
  }

  // TYPE_NULL: the end of a dict (read as its key or as its value); anywhere
  // else an error. Completes the dict.
  bool read_null(Value& out, bool& complete) {
    if (m_stack.empty() || m_stack.back().type != Frame::dict) return bad("NULL object");
    complete = false;
    out = Value{};
    return close_top();
  }

  // Closes the top container: checks it, registers it, and hands its value
  // to the one below (or to the caller when it was the outermost).
  bool close_top() {
    const Frame& f = m_stack.back();
    if (f.type == Frame::code && !check_code(f)) return false;
    if (f.ref >= 0) m_refs[static_cast<std::size_t>(f.ref)] = f.value;
    m_done = f.value;
    m_have_done = true;
    m_stack.pop_back();
    return true;
  }

  // Hands a complete object `v` to the container on top; closes containers
  // that are then full.
  bool deliver(Value v) {
    for (;;) {
      if (m_stack.empty()) {
        m_done = v;
        m_finished = true;
        return true;
      }
      Frame& top = m_stack.back();
      if (!accept(top, v)) return false;
      if (!full(top)) return true;
      if (!close_top()) return false;
      v = m_done;
      m_have_done = false;
    }
  }

  // Whether container `f` is complete after its last item.
  bool full(Frame& f) {
    if (f.type == Frame::code) {
      if (!skip_raw_fields(f)) return false;
      return *f.step == '\0';
    }
    return f.type != Frame::dict && f.remaining == 0;
  }

  bool accept(Frame& f, const Value& v) {
    switch (f.type) {
      case Frame::sequence:
        f.value.and_flags(v.hashable(), v.kind() == Kind::str);
        --f.remaining;
        return true;
      case Frame::set:
        --f.remaining;
        return v.hashable() || bad("unhashable type in a set");
      case Frame::dict:
        if (f.expect_key && !v.hashable()) return bad("unhashable type as a dict key");
        f.expect_key = !f.expect_key;
        return true;
      case Frame::code:
        return accept_field(f, v);
    }
    return true;
  }

  // A code object's object field `v`, by its role in this version's layout.
  bool accept_field(Frame& f, const Value& v) {
    Field role = code_fields(m_minor)[f.field++];
    ++f.step;
    auto wrong = [&](const char* what) {
      return bad(fmt::format("code object field {} is not {}", f.field, what));
    };
    switch (role) {
      case Field::code:
        if (v.kind() != Kind::bytes) return wrong("bytes");
        if (m_minor >= 11 && v.size() % 2 != 0) return bad("code: co_code is malformed");
        if (v.crashes()) return bad("co_code holds an opcode that crashes this CPython");
        return true;
      case Field::consts:
        return v.kind() == Kind::tuple || wrong("a tuple");
      case Field::names:
      case Field::varnames:
      case Field::plusnames:
        if (v.kind() != Kind::tuple) return wrong("a tuple");
        if (!v.all_str()) return bad("non-string found in code slot");
        if (role == Field::varnames) f.varnames = v.size();
        if (role == Field::plusnames) f.plus_names = v.size();
        return true;
      case Field::kinds:
        if (v.kind() != Kind::bytes) return wrong("bytes");
        f.kinds = v.size();
        f.local_kinds = count_kinds(v);
        return true;
      case Field::text:
        return v.kind() == Kind::str || wrong("a str");
      case Field::table:
        return v.kind() == Kind::bytes || wrong("bytes");
    }
    return true;
  }

  // How many of the locals kinds `v` (a bytes object) mark a local, counted
  // where its payload still is at hand; k_locals_unknown where it is not.
  std::uint32_t count_kinds(const Value& v) {
    const unsigned char* s = v.at() == Value::k_unknown_at ? nullptr : m_in.at(v.at(), v.size());
    return s ? count_fast_locals(s, v.size()) : k_locals_unknown;
  }

  // Consumes the raw ints of a code object up to its next object field.
  bool skip_raw_fields(Frame& f) {
    while (*f.step == 'I') {
      std::int32_t v = 0;
      if (!int32(v)) return false;
      if (f.ints < 7) f.int_fields[f.ints] = v;
      ++f.ints;
      ++f.step;
    }
    return true;
  }

  // What the code object's constructor checks once it has every field
  // (PyCode_New, PyCode_NewWithPosOnlyArgs, _PyCode_Validate).
  bool check_code(const Frame& f) {
    const std::int32_t* i = f.int_fields;
    std::int32_t argcount = i[0];
    std::int32_t posonly = m_minor >= 8 ? i[1] : 0;
    std::int32_t kwonly = m_minor >= 8 ? i[2] : i[1];
    std::int32_t flags = m_minor <= 7 ? i[4] : m_minor <= 10 ? i[5] : i[4];
    std::int32_t nlocals = m_minor <= 7 ? i[2] : m_minor <= 10 ? i[3] : 0;
    std::int32_t stacksize = m_minor <= 7 ? i[3] : m_minor <= 10 ? i[4] : i[3];
    if (argcount < posonly || posonly < 0 || kwonly < 0 || nlocals < 0 || argcount < 0 ||
        (m_minor >= 8 && (stacksize < 0 || flags < 0)))
      return bad("code: bad argument to internal function (negative count)");
    std::int64_t args = std::int64_t{argcount} + kwonly + ((flags & k_co_varargs) != 0) +
                        ((flags & k_co_varkeywords) != 0);
    if (m_minor >= 11) {
      if (f.kinds != f.plus_names)
        return bad("code: bad argument to internal function (locals kinds and names differ)");
      if (f.local_kinds != k_locals_unknown && std::int64_t{f.local_kinds} - args < 0)
        return bad("code: co_varnames is too small");
    } else if (args > f.varnames) {  // 3.6 and 3.7 have it too (a backport)
      return bad("code: varnames is too small");
    }
    return true;
  }

  // Reads objects until the outermost is complete.
  bool read_tree(Value& top) {
    for (;;) {
      Value v;
      bool complete = false;
      if (!read_object(v, complete)) return false;
      if (!complete) {
        if (m_have_done) {  // a NULL closed a dict: deliver the dict
          m_have_done = false;
          if (!deliver(m_done)) return false;
        } else {
          Frame& f = m_stack.back();
          if (full(f)) {  // an empty container, or a code object's raw ints
            if (!close_top()) return false;
            m_have_done = false;
            if (!deliver(m_done)) return false;
          }
        }
      } else if (!m_stack.empty() && m_stack.back().type == Frame::sequence &&
                 m_stack.back().remaining > 1) {
        // The commonest case, inline: an item of a tuple or list, not its last.
        Frame& seq = m_stack.back();
        seq.value.and_flags(v.hashable(), v.kind() == Kind::str);
        --seq.remaining;
        continue;
      } else if (!deliver(v)) {
        return false;
      }
      if (m_finished) {
        top = m_done;
        return true;
      }
    }
  }

  Input& m_in;
  int m_minor;
  std::vector<Frame>& m_stack;
  std::vector<Value>& m_refs;
  MarshalCheck m_result;
  Value m_done;
  bool m_have_done = false;
  bool m_finished = false;
};

MarshalCheck walk(std::string_view head, const MarshalMore* more, int minor) {
  thread_local std::vector<Frame> stack;
  thread_local std::vector<Value> refs;
  Input in(head, more);
  MarshalCheck result = Walker(in, minor, stack, refs).run();
  if (refs.capacity() > (1u << 16)) std::vector<Value>().swap(refs);  // give a big table back
  return result;
}

}  // namespace

MarshalCheck check_marshal(std::string_view data, int minor) {
  return walk(data, nullptr, minor);
}

MarshalCheck check_marshal(std::string_view head, const MarshalMore& more, int minor) {
  return walk(head, &more, minor);
}

}  // namespace pycache_clean
