#pragma once

#include <string>
#include <string_view>

namespace pycache_clean {

// Whether CPython 3.`minor`'s marshal.loads would read one object from
// `data` (a pyc's body, after its header), walking the stream's structure
// without building anything: type codes, lengths, references, nesting, the
// code object's fields of that version (Python/marshal.c, r_object). A body
// that fails here makes the import fail (EOFError, "bad marshal data").
struct MarshalCheck {
  enum class Result { ok, truncated, bad } result = Result::ok;
  std::string why;  // for truncated/bad: what is wrong and at which offset
};
MarshalCheck check_marshal(std::string_view data, int minor);

}  // namespace pycache_clean
