// Text and error conversion for the Windows platform files (see win32.hpp).
#include "win32.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "platform/path.hpp"
#include "util/error.hpp"

namespace pycache_clean {

namespace win {

std::wstring widen(std::string_view text) {
  std::wstring out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    unsigned char c = s[i];
    std::uint32_t cp;
    std::size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      len = 4;
    } else {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    bool ok = i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80)
        ok = false;
      else
        cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms and values past U+10FFFF are not text.
    static const std::uint32_t k_min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (!ok || cp < k_min[len] || cp > 0x10FFFF) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<wchar_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<wchar_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<wchar_t>(cp));  // a lone surrogate stays as it was
    }
    i += len;
  }
  return out;
}

std::string narrow(std::wstring_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::uint32_t cp = static_cast<std::uint16_t>(text[i]);
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < text.size()) {
      std::uint32_t low = static_cast<std::uint16_t>(text[i + 1]);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        ++i;
      }
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

int errno_from_win32(DWORD error) {
  switch (error) {
    case ERROR_SUCCESS:
      return 0;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
    case ERROR_BAD_NET_NAME:
      return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
      return EACCES;
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_BUSY:
    case ERROR_USER_MAPPED_FILE:
      return EBUSY;
    case ERROR_DIR_NOT_EMPTY:
      return ENOTEMPTY;
    case ERROR_DIRECTORY:
      return ENOTDIR;
    case ERROR_WRITE_PROTECT:
      return EROFS;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
      return ENOMEM;
    case ERROR_TOO_MANY_OPEN_FILES:
      return EMFILE;
    case ERROR_FILENAME_EXCED_RANGE:
      return ENAMETOOLONG;
    case ERROR_INVALID_NAME:
    case ERROR_INVALID_PARAMETER:
    case ERROR_BAD_PATHNAME:
      return EINVAL;
    case ERROR_CANT_RESOLVE_FILENAME:
    case ERROR_CANT_ACCESS_FILE:
      return ELOOP;
    case ERROR_NOT_SUPPORTED:
    case ERROR_INVALID_FUNCTION:
    case ERROR_CALL_NOT_IMPLEMENTED:
      return EOPNOTSUPP;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return EEXIST;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      return ENOSPC;
    case ERROR_TIMEOUT:
    case WAIT_TIMEOUT:
      return ETIMEDOUT;
    default:
      return EIO;
  }
}

int errno_from_status(NTSTATUS status) {
  if (status >= 0) return 0;
  switch (static_cast<std::uint32_t>(status)) {
    case 0xC0000056u:  // STATUS_DELETE_PENDING: it is already going away
      return ENOENT;
    case 0xC0000103u:  // STATUS_NOT_A_DIRECTORY
      return ENOTDIR;
    case 0xC00000BAu:  // STATUS_FILE_IS_A_DIRECTORY
      return EISDIR;
    case 0xC0000101u:  // STATUS_DIRECTORY_NOT_EMPTY
      return ENOTEMPTY;
    case 0xC0000043u:  // STATUS_SHARING_VIOLATION
      return EBUSY;
    case 0xC0000121u:  // STATUS_CANNOT_DELETE (read-only, or mapped)
      return EACCES;
    default:
      return errno_from_win32(RtlNtStatusToDosError(status));
  }
}

std::wstring long_path(std::string_view path) {
  std::wstring wide = widen(path);
  if (wide.rfind(L"\\\\?\\", 0) == 0 || wide.empty()) return wide;
  DWORD need = GetFullPathNameW(wide.c_str(), 0, nullptr, nullptr);
  if (need == 0) return wide;
  std::wstring full(need, L'\0');
  DWORD got = GetFullPathNameW(wide.c_str(), need, full.data(), nullptr);
  if (got == 0 || got >= need) return wide;
  full.resize(got);
  if (full.rfind(L"\\\\", 0) == 0) return L"\\\\?\\UNC\\" + full.substr(2);  // \\server\share
  return L"\\\\?\\" + full;
}

}  // namespace win

bool is_path_separator(char c) {
  return c == '/' || c == '\\';
}

bool is_absolute_path(const std::string& path) {
  if (!path.empty() && is_path_separator(path[0])) return true;  // \\server\share, \dir
  return path.size() > 2 && path[1] == ':' && is_path_separator(path[2]);
}

std::string errno_text(int err) {
  if (err == k_err_mount_point) return "a mount point (another file system is never entered)";
  if (err == k_err_not_lockable) return "not a regular file";
  if (err == k_err_symlink) return "a symbolic link (never followed)";
  if (err == k_err_foreign_owner) return "owned by another user";
  if (err == k_err_mount_unknown)
    return "perhaps a mount point (this system cannot tell: no openat2, statx mount attribute "
           "or /proc/self/fdinfo), never entered";
  // The C runtime's strerror knows the classic errno values only; name the
  // POSIX ones it leaves as "Unknown error" ourselves.
  switch (err) {
    case ELOOP:
      return "Is a reparse point (symbolic link or junction)";
    case ENOTEMPTY:
      return "Directory not empty";
    case ETIMEDOUT:
      return "Timed out";
    case EOPNOTSUPP:
      return "Operation not supported";
    case EWOULDBLOCK:
      return "Resource temporarily unavailable";
    case EBUSY:
      return "Device or resource busy (in use by another process)";
    default:
      break;
  }
  const char* text = std::strerror(err);
  return text ? text : "error " + std::to_string(err);
}

}  // namespace pycache_clean
