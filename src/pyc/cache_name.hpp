#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pycache_clean {

// The names CPython gives caches (PEP 3147, PEP 488) and pytest gives its
// assertion rewrites: what the sweep removes in a mirror and what check
// parses for the module, tag and optimisation level.

// What a cache file name says: `NAME.TAG[.opt-N].pyc` in __pycache__, or
// pytest's `NAME.TAG-pytest-X.Y.Z.pyc`.
struct CacheName {
  std::string module;   // NAME
  std::string tag;      // cpython-311 (pytest's suffix removed)
  bool pytest = false;  // an assertion-rewrite cache
  int tag_major = 0;    // 3, from cpython-3XX
  int tag_minor = -1;   // 11; -1 when the tag is not CPython's
  int opt = 0;          // N of `.opt-N` (PEP 488): the -O level, 0-2; -1 for another N
};
std::optional<CacheName> parse_cache_name(std::string_view file_name);

// Whether `tag` names an implementation and version: `cpython-311`, `pypy39`.
bool is_implementation_tag(std::string_view tag);

// Whether `name` is one CPython gives a cache: `NAME.TAG[.opt-N].pyc` or
// pytest's `NAME.TAG-pytest-X.Y.Z.pyc`, TAG an implementation and version
// (`cpython-311`, `pypy39`). A sourceless `blob.pyc` is not.
bool is_cache_file_name(std::string_view name);

// True for `*.pyc` and `*.pyo`.
bool is_bytecode_name(std::string_view name);

}  // namespace pycache_clean
