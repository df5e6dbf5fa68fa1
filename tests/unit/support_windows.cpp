// Windows part of the unit-test support (see test_support.hpp). Directory links
// are junctions (mount-point reparse points): unlike symbolic links they need
// no privilege, and they are what tools on Windows create in place of symlinks.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <winioctl.h>

#include <cstdlib>

#include "test_support.hpp"

namespace pycache_clean::test {

void set_env(const std::string& name, const std::string& value) {
  ::_putenv_s(name.c_str(), value.c_str());
}

void unset_env(const std::string& name) {
  ::_putenv_s(name.c_str(), "");  // an empty value removes the variable
}

bool make_directory_link(const std::string& target, const std::string& link, std::string& why) {
  // REPARSE_DATA_BUFFER for IO_REPARSE_TAG_MOUNT_POINT: the substitute name is
  // the NT path (\??\C:\dir), the print name the DOS path.
  std::wstring print = fs::absolute(fs::u8path(target)).make_preferred().wstring();
  std::wstring substitute = L"\\??\\" + print;
  std::error_code ec;
  if (!fs::create_directory(fs::u8path(link), ec)) {
    why = "mkdir: " + ec.message();
    return false;
  }
  HANDLE h =
      CreateFileW(fs::u8path(link).wstring().c_str(), GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                  FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    why = "open: error " + std::to_string(GetLastError());
    return false;
  }
  std::vector<unsigned char> buf(16 * 1024);
  auto put16 = [&](std::size_t at, std::size_t v) {
    buf[at] = static_cast<unsigned char>(v & 0xFF);
    buf[at + 1] = static_cast<unsigned char>(v >> 8);
  };
  std::size_t sub_bytes = substitute.size() * 2, print_bytes = print.size() * 2;
  std::size_t path_buffer = 16;  // after the 8-byte header and 4 ushort offsets/lengths
  std::size_t data_len = 8 + sub_bytes + 2 + print_bytes + 2;
  DWORD tag = IO_REPARSE_TAG_MOUNT_POINT;
  std::memcpy(buf.data(), &tag, 4);
  put16(4, data_len);
  put16(8, 0);
  put16(10, sub_bytes);
  put16(12, sub_bytes + 2);
  put16(14, print_bytes);
  std::memcpy(buf.data() + path_buffer, substitute.data(), sub_bytes);
  std::memcpy(buf.data() + path_buffer + sub_bytes + 2, print.data(), print_bytes);
  DWORD returned = 0;
  BOOL ok = DeviceIoControl(h, FSCTL_SET_REPARSE_POINT, buf.data(),
                            static_cast<DWORD>(8 + data_len), nullptr, 0, &returned, nullptr);
  DWORD error = GetLastError();
  CloseHandle(h);
  if (!ok) {
    why =
        "this file system or Windows layer cannot create junctions (FSCTL_SET_REPARSE_POINT "
        "failed with error " +
        std::to_string(error) + ")";
    fs::remove(fs::u8path(link), ec);
    return false;
  }
  return true;
}

}  // namespace pycache_clean::test
