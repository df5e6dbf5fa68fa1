// FsOps on Windows: the native API, relative to directory handles.
//
// Every entry is opened with NtCreateFile relative to its parent's handle
// (OBJECT_ATTRIBUTES.RootDirectory), the counterpart of openat: no path string
// is re-resolved, so a directory renamed or swapped during the walk cannot
// redirect it. FILE_OPEN_REPARSE_POINT opens a junction or symbolic link itself
// instead of its target; a directory that turns out to be a reparse point is
// closed again and reported as ELOOP, exactly like O_NOFOLLOW on POSIX.
//
// Deletion sets the disposition on a handle opened the same way. Where the file
// system supports it (NTFS on Windows 10 1709+) FileDispositionInfoEx deletes
// with POSIX semantics (the name is gone at once, even while another process
// still has the file open with FILE_SHARE_DELETE) and ignores the read-only
// attribute. Elsewhere the classic disposition is used, after clearing the
// read-only attribute. A sharing violation (a process holding the file open
// without FILE_SHARE_DELETE, or a mapped .pyc) is retried briefly and then
// returned as EBUSY: a locked entry, which the sweep keeps and reports.
#include "fs/fs_ops.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>

#include "platform/path.hpp"
#include "win32.hpp"

#include <aclapi.h>
#include <wnnc.h>

namespace pycache_clean {

namespace {

HANDLE handle_of(Handle h) {
  return reinterpret_cast<HANDLE>(h);
}

Handle to_handle(HANDLE h) {
  return reinterpret_cast<Handle>(h);
}

constexpr ULONG k_share_all = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
constexpr NTSTATUS k_status_sharing_violation = static_cast<NTSTATUS>(0xC0000043u);

// How long a sharing violation is retried before the entry counts as locked:
// long enough to ride out an editor's or a virus scanner's brief open.
constexpr int k_sharing_retries = 5;
constexpr std::chrono::milliseconds k_sharing_backoff{10};

// Whether `sid` is the user of this process's token (CheckTokenMembership
// says so too on Windows, not under Wine: asked directly).
bool is_token_user(PSID sid) {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return false;
  alignas(TOKEN_USER) unsigned char buffer[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  DWORD size = 0;
  bool ok = GetTokenInformation(token, TokenUser, buffer, sizeof buffer, &size) != 0;
  CloseHandle(token);
  return ok && EqualSid(reinterpret_cast<TOKEN_USER*>(buffer)->User.Sid, sid) != 0;
}

// Opens `name` relative to directory `parent`. Returns the NTSTATUS.
NTSTATUS open_relative(Handle parent, const char* name, ACCESS_MASK access, ULONG options,
                       HANDLE& out) {
  std::wstring wide = win::widen(name);
  UNICODE_STRING uname;
  uname.Buffer = wide.data();
  uname.Length = static_cast<USHORT>(std::min<std::size_t>(wide.size() * sizeof(wchar_t), 0xFFFE));
  uname.MaximumLength = uname.Length;
  OBJECT_ATTRIBUTES attributes;
  // Exact names from a listing: no OBJ_CASE_INSENSITIVE, so that a case-sensitive
  // directory (fsutil setCaseSensitiveInfo) resolves each name to itself.
  InitializeObjectAttributes(&attributes, &uname, 0, handle_of(parent), nullptr);
  IO_STATUS_BLOCK io{};
  out = INVALID_HANDLE_VALUE;
  return NtCreateFile(&out, access | SYNCHRONIZE, &attributes, &io, nullptr, 0, k_share_all,
                      FILE_OPEN,
                      options | FILE_OPEN_REPARSE_POINT | FILE_SYNCHRONOUS_IO_NONALERT |
                          FILE_OPEN_FOR_BACKUP_INTENT,
                      nullptr, 0);
}

NTSTATUS open_relative_retrying(Handle parent, const char* name, ACCESS_MASK access, ULONG options,
                                HANDLE& out) {
  NTSTATUS status = open_relative(parent, name, access, options, out);
  for (int i = 0; i < k_sharing_retries && status == k_status_sharing_violation; ++i) {
    std::this_thread::sleep_for(k_sharing_backoff * (i + 1));
    status = open_relative(parent, name, access, options, out);
  }
  return status;
}

// Whether handle `h`, opened as `name` with FILE_OPEN_REPARSE_POINT, is that
// entry itself. Windows guarantees it; Wine (8.0) ignores the flag for Unix
// symbolic links and opens their target, which a delete would then remove. The
// last component of the handle's own name tells: the link's name, or the target's.
bool opened_itself(HANDLE h, const char* name) {
  struct {
    FILE_NAME_INFO info;
    wchar_t more[32 * 1024];
  } buf;
  if (!GetFileInformationByHandleEx(h, FileNameInfo, &buf, sizeof buf))
    return true;  // no way to tell
  std::wstring_view full(buf.info.FileName, buf.info.FileNameLength / sizeof(wchar_t));
  auto slash = full.find_last_of(L"\\/");
  std::wstring_view last = slash == std::wstring_view::npos ? full : full.substr(slash + 1);
  return last == win::widen(name);
}

EntryType type_from_attributes(DWORD attributes) {
  if (attributes & FILE_ATTRIBUTE_REPARSE_POINT) return EntryType::symlink;
  if (attributes & FILE_ATTRIBUTE_DIRECTORY) return EntryType::directory;
  if (attributes & FILE_ATTRIBUTE_DEVICE) return EntryType::other;
  return EntryType::file;
}

// 100-ns intervals since 1601-01-01 to seconds and nanoseconds since 1970.
void unix_time(LARGE_INTEGER t, std::int64_t& sec, std::int64_t& nsec) {
  constexpr std::int64_t k_epoch_shift = 116444736000000000LL;
  std::int64_t ticks = t.QuadPart - k_epoch_shift;
  sec = ticks / 10000000;
  nsec = (ticks % 10000000) * 100;
  if (nsec < 0) {
    sec -= 1;
    nsec += 1000000000;
  }
}

// FILE_INFO_BY_HANDLE_CLASS FileDispositionInfoEx and its flags (Windows SDK
// winbase.h, Windows 10 1809); spelled out because MinGW-w64 10 guards them
// behind an NTDDI-style version test that no _WIN32_WINNT value passes.
constexpr auto k_file_disposition_info_ex = static_cast<FILE_INFO_BY_HANDLE_CLASS>(21);
constexpr DWORD k_disposition_delete = 0x1;
constexpr DWORD k_disposition_posix_semantics = 0x2;
constexpr DWORD k_disposition_ignore_readonly = 0x10;

int delete_by_handle(HANDLE h) {
  struct {
    DWORD Flags;
  } ex{k_disposition_delete | k_disposition_posix_semantics | k_disposition_ignore_readonly};
  if (SetFileInformationByHandle(h, k_file_disposition_info_ex, &ex, sizeof ex)) return 0;
  DWORD error = GetLastError();
  if (error == ERROR_DIR_NOT_EMPTY) return ENOTEMPTY;
  // Not supported here (FAT, older Windows, Wine): the classic disposition,
  // which refuses read-only files, so clear that attribute first.
  FILE_BASIC_INFO basic{};
  if (GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic) &&
      (basic.FileAttributes & FILE_ATTRIBUTE_READONLY)) {
    basic.FileAttributes &= ~static_cast<DWORD>(FILE_ATTRIBUTE_READONLY);
    if (basic.FileAttributes == 0) basic.FileAttributes = FILE_ATTRIBUTE_NORMAL;
    SetFileInformationByHandle(h, FileBasicInfo, &basic, sizeof basic);
  }
  FILE_DISPOSITION_INFO classic{};
  classic.DeleteFile = TRUE;
  if (SetFileInformationByHandle(h, FileDispositionInfo, &classic, sizeof classic)) return 0;
  return win::errno_from_win32(GetLastError());
}

class WindowsFs final : public FsOps {
 public:
  Result<Handle> open_root(const std::string& path) override {
    // A root named by the user is followed if it is a link, like `find -H`.
    std::wstring wide = win::long_path(path);
    HANDLE h =
        CreateFileW(wide.c_str(), FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                    k_share_all, nullptr, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr);
    if (h == INVALID_HANDLE_VALUE) return Failed{win::errno_from_win32(GetLastError())};
    FILE_BASIC_INFO basic{};
    if (!GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic) ||
        !(basic.FileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
      CloseHandle(h);
      return Failed{ENOTDIR};
    }
    return to_handle(h);
  }

  Result<Handle> open_dir(Handle parent, const char* name) override {
    HANDLE h;
    NTSTATUS status = open_relative(parent, name, FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES,
                                    FILE_DIRECTORY_FILE, h);
    if (status < 0) return Failed{win::errno_from_status(status)};
    FILE_BASIC_INFO basic{};
    if (!GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic)) {
      int err = win::errno_from_win32(GetLastError());
      CloseHandle(h);
      return Failed{err};
    }
    if ((basic.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) || !opened_itself(h, name)) {
      CloseHandle(h);  // a junction or symbolic link: never walked into
      return Failed{ELOOP};
    }
    return to_handle(h);
  }

  void close(Handle h) override {
    if (h != k_no_handle) CloseHandle(handle_of(h));
  }

  // A volume mounted in a folder is a reparse point, which open_dir never
  // enters: no other mount can be reached from here.
  Result<Handle> open_dir_same_mount(Handle parent, const char* name) override {
    return open_dir(parent, name);
  }

  // A source reached through a link is rare here; it is stat'ed as itself.
  int stat_follow(Handle parent, const char* name, FileStat& out) override {
    return stat(parent, name, out);
  }

  int read_dir(Handle dir, DirListing& out) override {
    out.clear();
    struct Buffer {
      alignas(8) unsigned char bytes[64 * 1024];
    };
    thread_local Buffer buffer;
    // The handle remembers where the last call stopped: each batch goes on from there.
    while (!out.full()) {
      if (!GetFileInformationByHandleEx(handle_of(dir), FileFullDirectoryInfo, buffer.bytes,
                                        sizeof buffer.bytes)) {
        DWORD error = GetLastError();
        if (error != ERROR_NO_MORE_FILES) return win::errno_from_win32(error);
        out.set_at_end();
        return 0;
      }
      for (std::size_t pos = 0;;) {
        const auto* info = reinterpret_cast<const FILE_FULL_DIR_INFO*>(buffer.bytes + pos);
        std::wstring_view name(info->FileName, info->FileNameLength / sizeof(wchar_t));
        if (name != L"." && name != L"..")
          out.add(win::narrow(name), type_from_attributes(info->FileAttributes));
        if (info->NextEntryOffset == 0) break;
        pos += info->NextEntryOffset;
      }
    }
    return 0;
  }

  int identify(Handle dir, DirIdentity& out) override {
    BY_HANDLE_FILE_INFORMATION info{};
    if (!GetFileInformationByHandle(handle_of(dir), &info))
      return win::errno_from_win32(GetLastError());
    out.device = info.dwVolumeSerialNumber;
    out.inode = (static_cast<std::uint64_t>(info.nFileIndexHigh) << 32) | info.nFileIndexLow;
    return 0;
  }

  // Only a file on a remote share answers FileRemoteProtocolInfo (SMB, and
  // the redirectors of NFS and WebDAV); a local volume refuses it.
  FileSystemKind file_system_kind(Handle dir) override {
    FILE_REMOTE_PROTOCOL_INFO info{};
    if (!GetFileInformationByHandleEx(handle_of(dir), FileRemoteProtocolInfo, &info, sizeof info))
      return {};
    return {info.Protocol == WNNC_NET_SMB ? "smb" : "a network share", true};
  }

  int remove(Handle parent, const char* name, bool directory) override {
    HANDLE h;
    NTSTATUS status =
        open_relative_retrying(parent, name, DELETE | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES,
                               directory ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE, h);
    if (status < 0 && !directory && static_cast<std::uint32_t>(status) == 0xC00000BAu) {
      // A directory junction or symbolic link listed as a link: remove the link itself.
      status = open_relative_retrying(parent, name, DELETE | FILE_READ_ATTRIBUTES, 0, h);
      if (status >= 0) {
        FILE_BASIC_INFO basic{};
        if (GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic) &&
            !(basic.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
          CloseHandle(h);
          return EISDIR;  // a real directory: not ours to remove as a file
        }
      }
    }
    if (status < 0) return win::errno_from_status(status);
    if (!opened_itself(h, name)) {
      CloseHandle(h);  // a link whose target was opened instead: delete nothing
      return ELOOP;
    }
    // Refused although DELETE access was granted: a mapped image or a sharing
    // conflict that may pass in a moment. Retried like a sharing violation.
    int err = delete_by_handle(h);
    for (int i = 0; i < k_sharing_retries && (err == EBUSY || err == EACCES); ++i) {
      std::this_thread::sleep_for(k_sharing_backoff * (i + 1));
      err = delete_by_handle(h);
    }
    CloseHandle(h);
    return err;
  }

  int stat(Handle parent, const char* name, FileStat& out) override {
    HANDLE h;
    NTSTATUS status = open_relative(parent, name, FILE_READ_ATTRIBUTES, 0, h);
    if (status < 0) return win::errno_from_status(status);
    FILE_BASIC_INFO basic{};
    FILE_STANDARD_INFO standard{};
    bool ok = GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic) &&
              GetFileInformationByHandleEx(h, FileStandardInfo, &standard, sizeof standard);
    int err = ok ? 0 : win::errno_from_win32(GetLastError());
    CloseHandle(h);
    if (err) return err;
    out.type = type_from_attributes(basic.FileAttributes);
    out.size = standard.EndOfFile.QuadPart;
    unix_time(basic.LastWriteTime, out.mtime_sec, out.mtime_nsec);
    unix_time(basic.ChangeTime, out.ctime_sec, out.ctime_nsec);
    return 0;
  }

  int read_head(Handle parent, const char* name, char* buffer, std::size_t capacity,
                std::size_t& got, FileStat& st) override {
    got = 0;
    if (int err = stat(parent, name, st)) return err;
    if (st.type != EntryType::file) return st.type == EntryType::symlink ? ELOOP : EINVAL;
    std::size_t want =
        std::min(capacity, static_cast<std::size_t>(std::max<std::int64_t>(st.size, 0)));
    return read_regular(parent, name, want, [&](const char* data, std::size_t n) {
      std::memcpy(buffer + got, data, n);
      got += n;
    });
  }

  int read_at(Handle parent, const char* name, std::uint64_t offset, char* buffer,
              std::size_t capacity, std::size_t& got) override {
    got = 0;
    HANDLE h;
    NTSTATUS status = open_relative(parent, name, FILE_READ_DATA | FILE_READ_ATTRIBUTES,
                                    FILE_NON_DIRECTORY_FILE, h);
    if (status < 0) return win::errno_from_status(status);
    FILE_BASIC_INFO basic{};
    if (GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic) &&
        (basic.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
      CloseHandle(h);
      return ELOOP;
    }
    int err = 0;
    while (got < capacity) {
      OVERLAPPED at{};
      std::uint64_t position = offset + got;
      at.Offset = static_cast<DWORD>(position & 0xffffffffu);
      at.OffsetHigh = static_cast<DWORD>(position >> 32);
      DWORD want = static_cast<DWORD>(std::min<std::size_t>(capacity - got, 1u << 30));
      DWORD n = 0;
      if (!ReadFile(h, buffer + got, want, &n, &at)) {
        DWORD e = GetLastError();
        if (e != ERROR_HANDLE_EOF) err = win::errno_from_win32(e);
        break;
      }
      if (n == 0) break;
      got += n;
    }
    CloseHandle(h);
    return err;
  }

  int read_bounded(Handle parent, const char* name, std::size_t max_bytes,
                   const ChunkSink& sink) override {
    return read_regular(parent, name, max_bytes, sink);
  }

  // As stat_follow: a source reached through a link is read as itself.
  int read_source(Handle parent, const char* name, const ChunkSink& sink) override {
    return read_file_chunks(parent, name, sink);
  }

  // The owner SID against our token: the user's own SID, or a group the
  // token holds enabled (Administrators owns what an elevated user makes).
  int owned_by_caller(Handle parent, const char* name, bool& mine) override {
    HANDLE h;
    NTSTATUS status = open_relative(parent, name, READ_CONTROL, 0, h);
    if (status < 0) return win::errno_from_status(status);
    PSID owner = nullptr;
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    DWORD rc = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, nullptr,
                               nullptr, nullptr, &descriptor);
    CloseHandle(h);
    if (rc != ERROR_SUCCESS) return win::errno_from_win32(rc);
    BOOL member = FALSE;
    mine = is_token_user(owner) ||
           (CheckTokenMembership(nullptr, owner, &member) != 0 && member != FALSE);
    LocalFree(descriptor);
    return 0;
  }

 private:
  template <typename Sink>
  int read_regular(Handle parent, const char* name, std::size_t max_bytes, const Sink& sink) {
    HANDLE h;
    NTSTATUS status = open_relative(parent, name, FILE_READ_DATA | FILE_READ_ATTRIBUTES,
                                    FILE_NON_DIRECTORY_FILE, h);
    if (status < 0) return win::errno_from_status(status);
    FILE_BASIC_INFO basic{};
    if (GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic) &&
        (basic.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
      CloseHandle(h);
      return ELOOP;
    }
    struct Buffer {
      char bytes[64 * 1024];
    };
    thread_local Buffer buffer;
    int err = 0;
    std::size_t done = 0;
    while (done < max_bytes) {
      DWORD want = static_cast<DWORD>(std::min(sizeof buffer.bytes, max_bytes - done));
      DWORD got = 0;
      if (!ReadFile(h, buffer.bytes, want, &got, nullptr)) {
        err = win::errno_from_win32(GetLastError());
        break;
      }
      if (got == 0) break;
      sink(buffer.bytes, got);
      done += got;
    }
    CloseHandle(h);
    return err;
  }
};

}  // namespace

FsOps& real_fs() {
  static WindowsFs fs;
  return fs;
}

std::FILE* open_anonymous_temp_file() {
  // msvcrt's tmpfile() writes to the root of the current drive, which a
  // user may not write; the user's temporary folder instead, opened with
  // the C runtime's "D" mode: deleted when closed.
  wchar_t dir[MAX_PATH + 1];
  wchar_t name[MAX_PATH + 1];
  DWORD n = GetTempPathW(MAX_PATH + 1, dir);
  if (n == 0 || n > MAX_PATH || GetTempFileNameW(dir, L"pcc", 0, name) == 0) return nullptr;
  std::FILE* f = _wfopen(name, L"w+bD");
  if (!f) DeleteFileW(name);
  return f;
}

char path_list_separator() {
  return ';';
}

const std::vector<std::string>& source_suffixes() {
  static const std::vector<std::string> suffixes = {".py", ".pyw"};
  return suffixes;
}

std::optional<std::uint64_t> path_device(const std::string&) {
  return std::nullopt;  // discovery does not stop at volume boundaries here
}

bool is_owned_by_current_user(const std::string&) {
  return true;  // git's owner-SID check is not done on Windows (see docs/windows.md)
}

}  // namespace pycache_clean
