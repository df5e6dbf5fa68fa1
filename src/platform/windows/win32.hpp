// Shared by the Windows platform files only: <windows.h> with the usual
// trimming, text conversion between the UTF-8 used everywhere else and the
// UTF-16 of the Windows API, and error-code translation to errno values (the
// core reports errors as errno values on every platform).
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <winternl.h>

#include <string>
#include <string_view>

namespace pycache_clean::win {

// UTF-8 to UTF-16. Names are converted as WTF-8 (https://simonsapin.github.io/wtf-8/):
// an unpaired surrogate, which NTFS allows in a name, is encoded like any other
// code point, so every name read from a directory converts back to the same
// UTF-16 and can be opened and deleted. Bytes that are not UTF-8 become U+FFFD.
std::wstring widen(std::string_view text);
// UTF-16 to UTF-8 (WTF-8 for unpaired surrogates, see above).
std::string narrow(std::wstring_view text);

// A Win32 error code (GetLastError) as the errno value the core understands.
int errno_from_win32(DWORD error);
// An NTSTATUS from the native API as an errno value.
int errno_from_status(NTSTATUS status);

// A path as CreateFileW takes it, for any length: absolute, with the "\\?\"
// prefix that lifts the 260-character MAX_PATH limit.
std::wstring long_path(std::string_view path);

}  // namespace pycache_clean::win
