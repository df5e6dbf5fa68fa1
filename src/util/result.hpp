#pragma once

#include <cassert>
#include <utility>

namespace pycache_clean {

// The one way an operation that produces something reports an expected
// failure: a value, or the error that left none. Errors are errno values, or
// this program's own numbers beside them (util/error.hpp), named by
// errno_text; an operation that produces nothing returns the int alone (0 or
// the error). Never an exception, never an `int& err` out-parameter: what
// went wrong travels with the answer and cannot be read when there is none.
//
//   Result<Handle> dir = fs.open_dir(parent, name);
//   if (!dir) return dir.error();   // ELOOP: a link, never followed
//   use(*dir);
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_value(std::move(value)) {}  // NOLINT: implicit, as `return value;`
  static Result failed(int err) {
    assert(err != 0);
    Result r;
    r.m_err = err;
    return r;
  }

  bool ok() const { return m_err == 0; }
  explicit operator bool() const { return ok(); }
  // 0 when there is a value.
  int error() const { return m_err; }

  T& operator*() & {
    assert(ok());
    return m_value;
  }
  const T& operator*() const& {
    assert(ok());
    return m_value;
  }
  T&& operator*() && {
    assert(ok());
    return std::move(m_value);
  }
  T* operator->() {
    assert(ok());
    return &m_value;
  }
  // The value, or `fallback` when there is none (k_no_handle for a handle).
  T value_or(T fallback) const& { return ok() ? m_value : std::move(fallback); }

 private:
  Result() = default;
  T m_value{};
  int m_err = 0;
};

// `return Failed{errno};` from a function returning any Result<T>.
struct Failed {
  int err;
  template <typename T>
  operator Result<T>() const {  // NOLINT: implicit by design
    return Result<T>::failed(err);
  }
};

}  // namespace pycache_clean
