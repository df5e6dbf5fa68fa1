// Removal of one directory tree, handle-relative and iterative.
//
// The tree is emptied depth-first with an explicit stack of open handles (no
// recursion, so a hostile tree nested thousands deep inside a `__pycache__`
// cannot exhaust the C++ stack). Every child is opened with open_dir, which
// never follows a symlink, so a link planted inside a cache is unlinked, never
// traversed. A locked entry does not stop the removal of its siblings: the
// first failure is remembered and the rest is removed anyway, so a single
// busy .pyc costs one kept directory, not a kept tree. When the final rmdir
// finds the directory refilled (a concurrent writer), it is emptied again a
// few times before giving up with ENOTEMPTY.
#include <pycache_clean/remove.hpp>

#include <cerrno>
#include <vector>

#include <pycache_clean/walker.hpp>

namespace pycache_clean {

namespace {

constexpr int k_refill_attempts = 4;

struct Frame {
  Handle handle;
  std::string path;
  DirListing entries;
  std::size_t next = 0;
  bool ok = true;
};

void note_failure(RemoveFailure& failure, bool& have, const std::string& path, int err) {
  if (!have) {
    failure = RemoveFailure{path, err};
    have = true;
  }
}

// Empties the directory open as `root` (not closed here). Returns true when
// every entry was removed.
bool empty_directory(FsOps& fs, Handle root, const std::string& root_path, RemoveFailure& failure,
                     bool& have_failure) {
  std::vector<Frame> stack;
  stack.push_back(Frame{root, root_path, {}, 0, true});
  int err = fs.read_dir(root, stack.back().entries);
  if (err == ENOENT) return true;  // removed meanwhile by someone else
  if (err != 0) {
    note_failure(failure, have_failure, root_path, err);
    return false;
  }
  bool root_ok = true;
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next == top.entries.size()) {
      // Done with this level: close it and remove it from its parent.
      bool ok = top.ok;
      if (stack.size() == 1) {
        root_ok = ok;
        stack.pop_back();
        break;
      }
      fs.close(top.handle);
      stack.pop_back();
      Frame& parent = stack.back();
      const char* name = parent.entries.name(parent.next - 1);
      if (ok) {
        err = fs.remove(parent.handle, name, true);
        if (err != 0 && err != ENOENT) {
          note_failure(failure, have_failure, join_path(parent.path, name), err);
          ok = false;
        }
      }
      if (!ok) parent.ok = false;
      continue;
    }
    std::size_t i = top.next++;
    const char* name = top.entries.name(i);
    EntryType type = top.entries.type(i);
    if (type == EntryType::unknown) {
      FileStat st;
      err = fs.stat(top.handle, name, st);
      if (err == ENOENT) continue;
      type = err == 0 ? st.type : EntryType::file;
    }
    if (type != EntryType::directory) {
      err = fs.remove(top.handle, name, false);
      if (err == EISDIR && type != EntryType::symlink) {
        type = EntryType::directory;  // raced: it became a directory
      } else {
        // A link that will not go as a link is never walked into as a directory.
        if (err == EISDIR) err = ELOOP;
        if (err != 0 && err != ENOENT) {
          note_failure(failure, have_failure, join_path(top.path, name), err);
          top.ok = false;
        }
        continue;
      }
    }
    Handle child = fs.open_dir(top.handle, name, err);
    if (child == k_no_handle) {
      if (err == ELOOP || err == ENOTDIR) {
        // Became a symlink or file after listing: remove the entry itself.
        err = fs.remove(top.handle, name, false);
      }
      if (err != 0 && err != ENOENT) {
        note_failure(failure, have_failure, join_path(top.path, name), err);
        top.ok = false;
      }
      continue;
    }
    std::string child_path = join_path(top.path, name);
    Frame frame{child, std::move(child_path), {}, 0, true};
    err = fs.read_dir(child, frame.entries);
    if (err == ENOENT) {
      fs.close(child);  // removed meanwhile; nothing left to empty
      continue;
    }
    if (err != 0) {
      note_failure(failure, have_failure, frame.path, err);
      fs.close(child);
      top.ok = false;
      continue;
    }
    stack.push_back(std::move(frame));  // `top` is invalid from here on
  }
  for (std::size_t i = 1; i < stack.size(); ++i) fs.close(stack[i].handle);
  return root_ok;
}

}  // namespace

RemoveOutcome remove_directory_tree(FsOps& fs, Handle parent, const char* name,
                                    const std::string& path, RemoveFailure& failure) {
  bool have_failure = false;
  for (int attempt = 0; attempt < k_refill_attempts; ++attempt) {
    int err = 0;
    Handle dir = fs.open_dir(parent, name, err);
    if (dir == k_no_handle) {
      if (err == ENOENT) return RemoveOutcome::removed;
      if (err == ELOOP || err == ENOTDIR) return RemoveOutcome::not_a_directory;
      note_failure(failure, have_failure, path, err);
      return RemoveOutcome::failed;
    }
    bool emptied = empty_directory(fs, dir, path, failure, have_failure);
    fs.close(dir);
    if (!emptied) return RemoveOutcome::failed;
    err = fs.remove(parent, name, true);
    if (err == 0 || err == ENOENT) return RemoveOutcome::removed;
    if (err != ENOTEMPTY && err != EEXIST) {
      note_failure(failure, have_failure, path, err);
      return RemoveOutcome::failed;
    }
    // Refilled by a concurrent writer between emptying and rmdir: go again.
  }
  note_failure(failure, have_failure, path, ENOTEMPTY);
  return RemoveOutcome::failed;
}

}  // namespace pycache_clean
