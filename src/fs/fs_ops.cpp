// The platform-independent half of the file-system seam: the one rule for
// entries whose type a listing did not give (see fs_ops.hpp).
#include "fs/fs_ops.hpp"

namespace pycache_clean {

FileSystemKind FsOps::file_system_kind(Handle) {
  return {};
}

int FsOps::read_file(Handle parent, const char* name, std::string& out, std::size_t max_bytes) {
  out.clear();
  return read_bounded(parent, name, max_bytes,
                      [&](const char* data, std::size_t n) { out.append(data, n); });
}

int FsOps::read_file_chunks(Handle parent, const char* name, const ChunkSink& sink) {
  return read_bounded(parent, name, static_cast<std::size_t>(-1), sink);
}

Result<EntryType> resolve_entry_type(FsOps& fs, Handle parent, const char* name, EntryType listed) {
  if (listed != EntryType::unknown) return listed;
  FileStat st;
  if (int err = fs.stat(parent, name, st)) return Failed{err};
  return st.type;
}

}  // namespace pycache_clean
