// The process table on Windows.
//
// A Toolhelp snapshot gives every pid and its parent. For each process that we
// may open: the command line from NtQueryInformationProcess with
// ProcessCommandLineInformation (Windows 8.1+), else read from its PEB; the
// working directory from its PEB's RTL_USER_PROCESS_PARAMETERS (64-bit
// processes; a 32-bit one keeps an empty cwd); the creation time, which guards
// the ancestor walk against reused parent pids; and the token's user SID as the
// "uid". Layouts of the undocumented structures are those of the x64 PEB
// (ProcessParameters at 0x20; CurrentDirectory.DosPath at 0x38 and CommandLine
// at 0x70 in the parameters), stable since Windows XP x64.
#include "platform/process_table.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

#include "win32.hpp"

#include <sddl.h>
#include <shellapi.h>
#include <tlhelp32.h>

namespace pycache_clean {

namespace {

constexpr auto k_process_command_line_information = static_cast<PROCESSINFOCLASS>(60);

struct RemoteUnicodeString {
  USHORT length;
  USHORT maximum_length;
  std::uint32_t padding;
  std::uint64_t buffer;
};

bool read_remote(HANDLE h, std::uint64_t address, void* out, std::size_t size) {
  SIZE_T got = 0;
  return ReadProcessMemory(h, reinterpret_cast<LPCVOID>(static_cast<std::uintptr_t>(address)), out,
                           size, &got) &&
         got == size;
}

std::wstring read_remote_string(HANDLE h, std::uint64_t address) {
  RemoteUnicodeString s{};
  if (!read_remote(h, address, &s, sizeof s) || s.length == 0) return {};
  std::wstring out(s.length / sizeof(wchar_t), L'\0');
  if (!read_remote(h, s.buffer, out.data(), s.length)) return {};
  return out;
}

std::uint64_t process_parameters(HANDLE h) {
  BOOL wow64 = FALSE;
  if (IsWow64Process(h, &wow64) && wow64) return 0;  // a 32-bit PEB: other layout
  PROCESS_BASIC_INFORMATION basic{};
  ULONG len = 0;
  if (NtQueryInformationProcess(h, ProcessBasicInformation, &basic, sizeof basic, &len) < 0)
    return 0;
  std::uint64_t parameters = 0;
  auto peb = reinterpret_cast<std::uintptr_t>(basic.PebBaseAddress);
  if (!peb || !read_remote(h, peb + 0x20, &parameters, sizeof parameters)) return 0;
  return parameters;
}

std::wstring command_line_of(HANDLE h, std::uint64_t parameters) {
  std::vector<unsigned char> buf(64 * 1024);
  ULONG len = 0;
  if (NtQueryInformationProcess(h, k_process_command_line_information, buf.data(),
                                static_cast<ULONG>(buf.size()), &len) >= 0) {
    const auto* s = reinterpret_cast<const UNICODE_STRING*>(buf.data());
    if (s->Buffer && s->Length) return std::wstring(s->Buffer, s->Length / sizeof(wchar_t));
  }
  return parameters ? read_remote_string(h, parameters + 0x70) : std::wstring();
}

std::vector<std::string> split_command_line(const std::wstring& line) {
  std::vector<std::string> argv;
  if (line.empty()) return argv;  // CommandLineToArgvW("") would name this program
  int count = 0;
  wchar_t** wide = CommandLineToArgvW(line.c_str(), &count);
  if (!wide) return argv;
  for (int i = 0; i < count; ++i) argv.push_back(win::narrow(wide[i]));
  LocalFree(wide);
  return argv;
}

// A stable number for the user a process runs as: a hash of its SID string.
long user_of(HANDLE process) {
  HANDLE token = nullptr;
  if (!OpenProcessToken(process, TOKEN_QUERY, &token)) return -1;
  std::vector<unsigned char> buf(256);
  DWORD len = 0;
  long uid = -1;
  if (GetTokenInformation(token, TokenUser, buf.data(), static_cast<DWORD>(buf.size()), &len)) {
    wchar_t* sid = nullptr;
    if (ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buf.data())->User.Sid, &sid)) {
      std::uint32_t hash = 2166136261u;  // FNV-1a
      for (const wchar_t* p = sid; *p; ++p)
        hash = (hash ^ static_cast<std::uint32_t>(*p)) * 16777619u;
      uid = static_cast<long>(hash & 0x7FFFFFFF);
      LocalFree(sid);
    }
  }
  CloseHandle(token);
  return uid;
}

std::string trim_separator(std::string dir) {
  while (dir.size() > 3 && (dir.back() == '\\' || dir.back() == '/')) dir.pop_back();
  return dir;
}

}  // namespace

long current_uid() {
  static const long uid = user_of(GetCurrentProcess());
  return uid;
}

std::vector<std::string> process_command_line(long) {
  return {};  // only used with lock holders, which Windows does not list
}

std::vector<ProcessInfo> list_processes(bool& supported) {
  supported = true;
  std::vector<ProcessInfo> out;
  HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snapshot == INVALID_HANDLE_VALUE) return out;
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  for (BOOL more = Process32FirstW(snapshot, &entry); more;
       more = Process32NextW(snapshot, &entry)) {
    ProcessInfo info;
    info.pid = static_cast<long>(entry.th32ProcessID);
    info.ppid = static_cast<long>(entry.th32ParentProcessID);
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, FALSE,
                           entry.th32ProcessID);
    if (!h) h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, entry.th32ProcessID);
    if (h) {
      std::uint64_t parameters = process_parameters(h);
      info.argv = split_command_line(command_line_of(h, parameters));
      if (parameters)
        info.cwd = trim_separator(win::narrow(read_remote_string(h, parameters + 0x38)));
      FILETIME created, exited, kernel, user;
      if (GetProcessTimes(h, &created, &exited, &kernel, &user))
        info.start_ticks =
            (static_cast<std::uint64_t>(created.dwHighDateTime) << 32) | created.dwLowDateTime;
      info.uid = user_of(h);
      CloseHandle(h);
    }
    if (info.argv.empty()) info.argv.push_back(win::narrow(entry.szExeFile));
    out.push_back(std::move(info));
  }
  CloseHandle(snapshot);
  return out;
}

}  // namespace pycache_clean
