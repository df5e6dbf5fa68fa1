// The CACHEDIR.TAG rule (see cachedir_tag.hpp) and the size of a tagged tree.
// The tag is read with read_head: one open that follows no link and never
// blocks on a FIFO, a regular file only; both owners are asked of the entry
// itself, never through a link.
#include "sweep/cachedir_tag.hpp"

#include <cerrno>
#include <vector>

namespace pycache_clean {

CacheTag judge_cache_tag(FsOps& fs, Handle parent, const char* name, Handle dir) {
  char head[k_cache_tag_signature.size()];
  std::size_t got = 0;
  FileStat st;
  int err = fs.read_head(dir, k_cache_tag_name, head, sizeof head, got, st);
  if (err == ENOENT) return CacheTag::missing;
  if (err == ELOOP || err == EINVAL || err == EISDIR || err == ENXIO) return CacheTag::not_a_file;
  if (err != 0) return CacheTag::unreadable;
  if (std::string_view(head, got) != k_cache_tag_signature) return CacheTag::malformed;
  bool tag_mine = false;
  bool dir_mine = false;
  if (fs.owned_by_caller(dir, k_cache_tag_name, tag_mine) != 0 ||
      fs.owned_by_caller(parent, name, dir_mine) != 0)
    return CacheTag::unreadable;
  return tag_mine && dir_mine ? CacheTag::valid : CacheTag::not_ours;
}

const char* cache_tag_refusal(CacheTag tag) {
  switch (tag) {
    case CacheTag::valid:
      return "a valid cache tag";
    case CacheTag::missing:
      return "no CACHEDIR.TAG";
    case CacheTag::not_a_file:
      return "its CACHEDIR.TAG is not a regular file (a link?)";
    case CacheTag::malformed:
      return "its CACHEDIR.TAG does not begin with the signature";
    case CacheTag::not_ours:
      return "it or its CACHEDIR.TAG belongs to another user";
    case CacheTag::unreadable:
      return "its CACHEDIR.TAG could not be read";
  }
  return "";
}

std::uint64_t tree_size(FsOps& fs, Handle parent, const char* name, bool& complete) {
  Result<Handle> dir = fs.open_dir_same_mount(parent, name);
  complete = dir.ok();
  if (!complete) return 0;
  std::uint64_t bytes = 0;
  // An explicit stack of open directories, each with its pending subdirectories.
  struct Level {
    Handle handle;
    std::vector<std::string> subdirs;
  };
  std::vector<Level> stack;
  auto list = [&](Handle h) {
    Level level{h, {}};
    DirListing entries;
    do {
      if (fs.read_dir(h, entries) != 0) {
        complete = false;
        break;
      }
      for (std::size_t i = 0; i < entries.size(); ++i) {
        EntryType type = resolve_entry_type(fs, h, entries.name(i), entries.type(i))
                             .value_or(EntryType::unknown);
        if (type == EntryType::directory) {
          level.subdirs.emplace_back(entries.name(i));
        } else if (type == EntryType::file) {
          FileStat st;
          if (fs.stat(h, entries.name(i), st) == 0 && st.size > 0)
            bytes += static_cast<std::uint64_t>(st.size);
        }
      }
    } while (!entries.at_end());
    stack.push_back(std::move(level));
  };
  list(*dir);
  while (!stack.empty()) {
    Level& top = stack.back();
    if (top.subdirs.empty()) {
      fs.close(top.handle);
      stack.pop_back();
      continue;
    }
    std::string next = std::move(top.subdirs.back());
    top.subdirs.pop_back();
    if (static_cast<int>(stack.size()) >= k_tree_size_depth) {
      complete = false;
      continue;
    }
    Result<Handle> child = fs.open_dir_same_mount(top.handle, next.c_str());
    if (!child) {
      complete = complete && child.error() == ENOENT;
      continue;
    }
    list(*child);
  }
  return bytes;
}

}  // namespace pycache_clean
