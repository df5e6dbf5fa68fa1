// Test helper (Windows).
//
//   hold_open FILE READY [map]
//     Holds FILE open the way a running Python or an editor does, without
//     FILE_SHARE_DELETE (with "map" also mapped into memory, as an imported
//     module is), creates READY, and waits for EOF on its standard input.
//
//   hold_open section MARKER MS
//     A critical section that detects overlap: creates MARKER exclusively
//     (exit 3 if it exists: someone else is inside), stays MS milliseconds,
//     removes it. Run under `pycache-clean lock`, no two may ever overlap.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <cstdio>
#include <cstdlib>
#include <cwchar>

int section(const wchar_t* marker, int ms) {
  HANDLE h = CreateFileW(marker, GENERIC_WRITE, 0, nullptr, CREATE_NEW, 0, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    std::fprintf(stderr, "hold_open: %ls exists: overlapping sections\n", marker);
    return 3;
  }
  CloseHandle(h);
  Sleep(static_cast<DWORD>(ms));
  DeleteFileW(marker);
  return 0;
}

int wmain(int argc, wchar_t** argv) {
  if (argc == 4 && std::wcscmp(argv[1], L"section") == 0)
    return section(argv[2], static_cast<int>(std::wcstol(argv[3], nullptr, 10)));
  if (argc < 3) {
    std::fprintf(stderr, "usage: hold_open FILE READY [map]\n");
    return 2;
  }
  HANDLE file =
      CreateFileW(argv[1], GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING, 0, nullptr);
  if (file == INVALID_HANDLE_VALUE) {
    std::fprintf(stderr, "hold_open: cannot open: error %lu\n", GetLastError());
    return 1;
  }
  HANDLE mapping = nullptr;
  const void* view = nullptr;
  if (argc > 3 && std::wcscmp(argv[3], L"map") == 0) {
    mapping = CreateFileMappingW(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
    view = mapping ? MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0) : nullptr;
    if (!view) {
      std::fprintf(stderr, "hold_open: cannot map: error %lu\n", GetLastError());
      return 1;
    }
  }
  HANDLE ready = CreateFileW(argv[2], GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, 0, nullptr);
  if (ready == INVALID_HANDLE_VALUE) return 1;
  CloseHandle(ready);
  char buf[64];
  DWORD got = 0;
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
  while (ReadFile(in, buf, sizeof buf, &got, nullptr) && got > 0) {
  }
  if (view) UnmapViewOfFile(view);
  if (mapping) CloseHandle(mapping);
  CloseHandle(file);
  return 0;
}
