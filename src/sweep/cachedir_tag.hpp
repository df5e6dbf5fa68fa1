#pragma once

#include <cstdint>
#include <string_view>

#include "fs/fs_ops.hpp"

// Directories that say they are caches: a CACHEDIR.TAG file whose first 43
// bytes are the Cache Directory Tagging Specification's signature
// (https://bford.info/cachedir/), as pytest's .pytest_cache, ruff's
// .ruff_cache and mypy's .mypy_cache carry. A directory is never taken for
// its name; only for a tag that is a regular file, begins with the
// signature, and belongs, as the directory does, to the user running us.
namespace pycache_clean {

inline constexpr const char* k_cache_tag_name = "CACHEDIR.TAG";
inline constexpr std::string_view k_cache_tag_signature =
    "Signature: 8a477f597d28d172789f06886806bc55";

enum class CacheTag {
  valid,
  missing,     // no CACHEDIR.TAG (or it vanished)
  not_a_file,  // a link, a FIFO, a directory... named CACHEDIR.TAG
  malformed,   // does not begin with the signature
  not_ours,    // the tag or the directory belongs to another user
  unreadable,  // could not be read (permissions, I/O)
};

// What the tag of directory `name` inside `parent`, open as `dir`, is worth.
CacheTag judge_cache_tag(FsOps& fs, Handle parent, const char* name, Handle dir);

// Why a tagged directory is not taken, for -v ("its CACHEDIR.TAG is a link").
const char* cache_tag_refusal(CacheTag tag);

// The bytes of the regular files below directory `name` inside `parent`,
// never following a link or leaving its mount (its own handle: a walk's is
// already read); `complete` is false when a part could not be read (or lies
// deeper than k_tree_size_depth).
std::uint64_t tree_size(FsOps& fs, Handle parent, const char* name, bool& complete);
inline constexpr int k_tree_size_depth = 64;

}  // namespace pycache_clean
