// MemFs (see mem_fs.hpp): one lock around the whole tree, since the walker
// calls from several threads; hooks run under it (the lock is recursive, so
// a hook may rebuild the tree).
#include "mem_fs.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "util/error.hpp"

namespace pycache_clean::test {

namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= path.size()) {
    std::size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (slash > at) out.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}

constexpr int k_max_links = 40;  // as Linux's MAXSYMLINKS

// Hands `data` to `sink` in the chunks FsOps promises (at most 64 KiB).
void feed(const std::string& data, const FsOps::ChunkSink& sink) {
  constexpr std::size_t k_chunk = 64 * 1024;
  for (std::size_t at = 0; at < data.size(); at += k_chunk)
    sink(data.data() + at, std::min(k_chunk, data.size() - at));
}

}  // namespace

MemFs::MemFs() : m_root(std::make_shared<Node>()) {
  m_root->inode = 1;
}

MemFs::Node& MemFs::make(const std::string& path, EntryType type) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  auto parts = components(path);
  if (parts.empty()) return *m_root;
  NodePtr at = m_root;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    bool last = i + 1 == parts.size();
    auto& slot = at->children[parts[i]];
    if (!slot || (last && slot->type != type)) {
      if (slot) slot->parent.reset();
      slot = std::make_shared<Node>();
      slot->type = last ? type : EntryType::directory;
      slot->inode = m_next_inode++;
      slot->device = at->device;
      slot->parent = at;
      slot->name = parts[i];
    }
    if (!last && slot->type != EntryType::directory)
      throw std::logic_error("MemFs: " + path + " lies below a non-directory");
    at = slot;
  }
  return *at;
}

MemFs::Node& MemFs::dir(const std::string& path) {
  return make(path, EntryType::directory);
}

MemFs::Node& MemFs::file(const std::string& path, std::string data) {
  Node& n = make(path, EntryType::file);
  n.data = std::move(data);
  return n;
}

MemFs::Node& MemFs::symlink(const std::string& path, std::string target) {
  Node& n = make(path, EntryType::symlink);
  n.data = std::move(target);
  return n;
}

MemFs::Node& MemFs::other(const std::string& path) {
  return make(path, EntryType::other);
}

MemFs::Node* MemFs::find(const std::string& path) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  return resolve(path, false).value_or(nullptr).get();
}

void MemFs::swap_for_symlink(const std::string& path, const std::string& target) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  if (!find(path)) throw std::logic_error("MemFs: nothing at " + path + " to swap");
  symlink(path, target);
}

void MemFs::rename_onto(const std::string& from, const std::string& to) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  NodePtr moving = resolve(from, false).value_or(nullptr);
  NodePtr old = resolve(to, false).value_or(nullptr);
  if (!moving || !old)
    throw std::logic_error("MemFs: rename_onto needs both " + from + " and " + to);
  NodePtr from_parent = moving->parent.lock();
  NodePtr to_parent = old->parent.lock();
  from_parent->children.erase(moving->name);
  old->parent.reset();
  to_parent->children[old->name] = moving;
  moving->name = old->name;
  moving->parent = to_parent;
}

void MemFs::before(Event event, const std::string& path, std::function<void()> hook) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  m_hooks.push_back(Hook{event, path, std::move(hook)});
}

void MemFs::fire(Event event, const std::string& path) {
  auto it = std::find_if(m_hooks.begin(), m_hooks.end(),
                         [&](const Hook& h) { return h.event == event && h.path == path; });
  if (it == m_hooks.end()) return;
  auto run = std::move(it->run);
  m_hooks.erase(it);
  run();
}

std::vector<std::string> MemFs::removed() const {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  return m_removed;
}

std::vector<std::string> MemFs::removed_outside_caches(
    const std::function<bool(const std::string&)>& allowed) const {
  std::vector<std::string> out;
  for (const auto& path : removed()) {
    auto parts = components(path);
    if (std::find(parts.begin(), parts.end(), "__pycache__") != parts.end()) continue;
    if (allowed && allowed(path)) continue;
    out.push_back(path);
  }
  return out;
}

std::size_t MemFs::open_handles() const {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  return m_open.size();
}

std::string MemFs::path_of(const Node& node) const {
  std::vector<const Node*> chain;
  const Node* at = &node;
  NodePtr hold;
  while (at != m_root.get()) {
    chain.push_back(at);
    hold = at->parent.lock();
    if (!hold) return "(removed)/" + node.name;
    at = hold.get();
  }
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) out += "/" + (*it)->name;
  return out.empty() ? "/" : out;
}

std::string MemFs::path_in(Handle parent, const char* name) {
  auto it = m_open.find(parent);
  std::string base = it == m_open.end() ? "(closed)" : path_of(*it->second.node);
  return (base == "/" ? "" : base) + "/" + name;
}

Result<MemFs::NodePtr> MemFs::follow(NodePtr node, int depth) {
  while (node->type == EntryType::symlink) {
    if (++depth > k_max_links) return Failed{ELOOP};
    Result<NodePtr> target = resolve(node->data, false);
    if (!target) return target;
    node = *target;
  }
  return node;
}

Result<MemFs::NodePtr> MemFs::resolve(const std::string& path, bool follow_last) {
  auto parts = components(path);
  NodePtr at = m_root;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (at->type != EntryType::directory) return Failed{ENOTDIR};
    auto it = at->children.find(parts[i]);
    if (it == at->children.end()) return Failed{ENOENT};
    at = it->second;
    if (i + 1 < parts.size() || follow_last) {
      Result<NodePtr> followed = follow(at);
      if (!followed) return followed;
      at = *followed;
    }
  }
  return at;
}

Result<MemFs::NodePtr> MemFs::child(Handle parent, const char* name) {
  auto it = m_open.find(parent);
  if (it == m_open.end()) return Failed{EBADF};
  auto& children = it->second.node->children;
  auto found = children.find(name);
  if (found == children.end()) return Failed{ENOENT};
  return found->second;
}

void MemFs::fill(const Node& node, FileStat& st) {
  st.type = node.type;
  st.size = static_cast<std::int64_t>(node.data.size());
  st.mtime_sec = node.mtime_sec;
  st.mtime_nsec = node.mtime_nsec;
  st.ctime_sec = node.ctime_sec;
  st.ctime_nsec = node.ctime_nsec;
}

Result<Handle> MemFs::open_root(const std::string& path) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  Result<NodePtr> found = resolve(path, true);  // a link named by the user is followed
  if (!found) return Failed{found.error()};
  NodePtr n = *found;
  if (n->type != EntryType::directory) return Failed{ENOTDIR};
  if (n->deny_open) return Failed{n->deny_open};
  m_open[m_next_handle] = OpenDir{n, "", false, false};
  return m_next_handle++;
}

Result<Handle> MemFs::open_child(Handle parent, const char* name, bool same_mount) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  fire(Event::open_dir, path_in(parent, name));
  Result<NodePtr> found = child(parent, name);
  if (!found) return Failed{found.error()};
  NodePtr n = *found;
  if (n->type == EntryType::symlink) return Failed{ELOOP};  // O_NOFOLLOW
  if (n->type != EntryType::directory) return Failed{ENOTDIR};
  if (same_mount && (n->device != m_open[parent].node->device || n->mount_root))
    return Failed{k_err_mount_point};
  if (n->deny_open) return Failed{n->deny_open};
  m_open[m_next_handle] = OpenDir{n, "", false, false};
  return m_next_handle++;
}

Result<Handle> MemFs::open_dir(Handle parent, const char* name) {
  return open_child(parent, name, false);
}

Result<Handle> MemFs::open_dir_same_mount(Handle parent, const char* name) {
  return open_child(parent, name, true);
}

void MemFs::close(Handle h) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  if (m_open.erase(h) == 0) throw std::logic_error("MemFs: closing a handle not open");
}

int MemFs::read_dir(Handle dir, DirListing& out) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  auto it = m_open.find(dir);
  if (it == m_open.end()) return EBADF;
  OpenDir& d = it->second;
  if (!d.started) fire(Event::read_dir, path_of(*d.node));
  d.started = true;
  out.clear();
  auto& children = d.node->children;
  auto entry = d.done ? children.end() : children.lower_bound(d.next);
  for (; entry != children.end() && out.size() < m_batch; ++entry) {
    const Node& n = *entry->second;
    out.add(entry->first, n.listed_set ? n.listed : n.type);
  }
  if (entry == children.end()) {
    d.done = true;
    out.set_at_end();
  } else {
    d.next = entry->first;
  }
  return 0;
}

int MemFs::identify(Handle dir, DirIdentity& out) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  auto it = m_open.find(dir);
  if (it == m_open.end()) return EBADF;
  out.device = it->second.node->device;
  out.inode = it->second.node->inode;
  return 0;
}

int MemFs::remove(Handle parent, const char* name, bool directory) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  std::string path = path_in(parent, name);
  fire(Event::remove, path);
  Result<NodePtr> found = child(parent, name);
  if (!found) return found.error();
  NodePtr n = *found;
  if (n->deny_remove) return n->deny_remove;
  Node& dir = *m_open[parent].node;
  if (n->mount_root) return EBUSY;  // a file or directory something is mounted on
  if (directory) {
    if (n->type != EntryType::directory) return ENOTDIR;
    if (n->device != dir.device) return EBUSY;  // a mount point
    if (!n->children.empty()) return ENOTEMPTY;
  } else if (n->type == EntryType::directory) {
    return EISDIR;
  }
  dir.children.erase(name);
  n->parent.reset();
  m_removed.push_back(path);
  return 0;
}

int MemFs::stat(Handle parent, const char* name, FileStat& out) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  fire(Event::stat, path_in(parent, name));
  Result<NodePtr> found = child(parent, name);
  if (!found) return found.error();
  NodePtr n = *found;
  fill(*n, out);
  return 0;
}

int MemFs::stat_follow(Handle parent, const char* name, FileStat& out) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  fire(Event::stat, path_in(parent, name));
  Result<NodePtr> found = child(parent, name);
  if (found) found = follow(*found);
  if (!found) return found.error();
  NodePtr n = *found;
  fill(*n, out);
  return 0;
}

int MemFs::open_file(Handle parent, const char* name, bool follow_link, NodePtr& out) {
  fire(Event::read, path_in(parent, name));
  Result<NodePtr> found = child(parent, name);
  if (found && follow_link) found = follow(*found);
  if (!found) return found.error();
  out = *found;
  if (out->type == EntryType::symlink) return ELOOP;  // O_NOFOLLOW
  if (out->deny_open) return out->deny_open;
  return out->type == EntryType::file ? 0 : EINVAL;  // opened, but not a regular file
}

int MemFs::read_head(Handle parent, const char* name, char* buffer, std::size_t capacity,
                     std::size_t& got, FileStat& st) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  NodePtr n;
  int err = open_file(parent, name, false, n);
  if (n && (err == 0 || err == EINVAL)) fill(*n, st);
  if (err != 0) return err;
  got = std::min(capacity, n->data.size());
  std::copy_n(n->data.data(), got, buffer);
  return 0;
}

int MemFs::read_at(Handle parent, const char* name, std::uint64_t offset, char* buffer,
                   std::size_t capacity, std::size_t& got) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  NodePtr n;
  got = 0;
  if (int err = open_file(parent, name, false, n)) return err;
  if (offset < n->data.size())
    got = n->data.copy(buffer, capacity, static_cast<std::size_t>(offset));
  return 0;
}

int MemFs::read_bounded(Handle parent, const char* name, std::size_t max_bytes,
                        const ChunkSink& sink) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  NodePtr n;
  if (int err = open_file(parent, name, false, n)) return err;
  feed(n->data.substr(0, max_bytes), sink);
  return 0;
}

int MemFs::read_source(Handle parent, const char* name, const ChunkSink& sink) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  NodePtr n;
  if (int err = open_file(parent, name, true, n)) return err;
  feed(n->data, sink);
  return 0;
}

int MemFs::owned_by_caller(Handle parent, const char* name, bool& mine) {
  std::lock_guard<std::recursive_mutex> lock(m_mutex);
  fire(Event::stat, path_in(parent, name));
  Result<NodePtr> found = child(parent, name);
  if (!found) return found.error();
  NodePtr n = *found;
  mine = !n->foreign_owner;
  return 0;
}

}  // namespace pycache_clean::test
