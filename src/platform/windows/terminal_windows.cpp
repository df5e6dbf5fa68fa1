// Terminal detection and set-up on Windows. A console is a terminal; so is the
// pty of mintty (Git Bash, MSYS2, Cygwin), which shows up as a named pipe
// called msys-*-pty* or cygwin-*-pty*: the same name test that the MSYS and
// Cygwin runtimes' own isatty() makes.
#include "platform/terminal.hpp"

#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <vector>

#include "win32.hpp"

namespace pycache_clean {

namespace {

HANDLE std_handle(Stream stream) {
  return GetStdHandle(stream == Stream::out ? STD_OUTPUT_HANDLE : STD_ERROR_HANDLE);
}

bool is_msys_pty(HANDLE h) {
  if (GetFileType(h) != FILE_TYPE_PIPE) return false;
  std::vector<unsigned char> buf(sizeof(FILE_NAME_INFO) + MAX_PATH * sizeof(wchar_t));
  if (!GetFileInformationByHandleEx(h, FileNameInfo, buf.data(), static_cast<DWORD>(buf.size())))
    return false;
  const auto* info = reinterpret_cast<const FILE_NAME_INFO*>(buf.data());
  std::wstring name(info->FileName, info->FileNameLength / sizeof(wchar_t));
  bool msys =
      name.find(L"msys-") != std::wstring::npos || name.find(L"cygwin-") != std::wstring::npos;
  return msys && name.find(L"-pty") != std::wstring::npos;
}

}  // namespace

bool is_terminal(Stream stream) {
  HANDLE h = std_handle(stream);
  if (h == nullptr || h == INVALID_HANDLE_VALUE) return false;
  DWORD mode = 0;
  return GetConsoleMode(h, &mode) != 0 || is_msys_pty(h);
}

bool terminal_takes_colour(Stream stream) {
  if (!is_terminal(stream)) return false;
  // A console draws colour only with virtual-terminal processing on
  // (Windows 10 1511+); prepare_terminal asked for it.
  HANDLE h = std_handle(stream);
  DWORD mode = 0;
  if (GetConsoleMode(h, &mode)) return (mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING) != 0;
  return true;  // a pty: the terminal emulator understands escapes
}

void prepare_terminal() {
  // Everything is written as UTF-8; the console must not read it as the OEM
  // code page. Escape sequences (colour, erasing the progress line) need VT mode.
  SetConsoleOutputCP(CP_UTF8);
  for (DWORD which : {STD_OUTPUT_HANDLE, STD_ERROR_HANDLE}) {
    HANDLE h = GetStdHandle(which);
    DWORD mode = 0;
    if (h != nullptr && h != INVALID_HANDLE_VALUE && GetConsoleMode(h, &mode))
      SetConsoleMode(h, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING | ENABLE_PROCESSED_OUTPUT);
  }
}

}  // namespace pycache_clean
