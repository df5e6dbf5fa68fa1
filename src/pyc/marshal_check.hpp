#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace pycache_clean {

// Whether CPython 3.`minor`'s import would load a pyc body (the bytes after
// its header): marshal.loads reads one object, which must be a code object
// (importlib's _compile_bytecode). The stream's structure is walked without
// building anything: type codes, lengths, references, nesting, and what
// CPython checks as it builds each object (Python/marshal.c r_object;
// Objects/codeobject.c): set members and dict keys hashable, each code
// object's fields of the right types and lengths for that version
// (co_varnames covering the arguments, names that are strings, 3.11's
// locals kinds as long as their names, an even co_code). A body that fails
// here makes the import fail (EOFError, ValueError "bad marshal data",
// TypeError "unhashable", SystemError or ValueError from the code object).
struct MarshalCheck {
  enum class Result { ok, truncated, bad } result = Result::ok;
  std::string why;  // for truncated/bad: what is wrong and at which offset
};

// The body wholly in memory.
MarshalCheck check_marshal(std::string_view data, int minor);

// Reads up to `capacity` bytes of the body at `offset` into `buffer`,
// setting `got` (0 at its end); 0 or errno.
using MarshalMore =
    std::function<int(std::uint64_t offset, char* buffer, std::size_t capacity, std::size_t& got)>;

// A body of any size: `head` is its start, already in memory; the rest is
// read through `more` a window at a time, so memory stays bounded (a few
// bytes per reference the stream registers). A read error is `bad`, naming it.
MarshalCheck check_marshal(std::string_view head, const MarshalMore& more, int minor);

}  // namespace pycache_clean
