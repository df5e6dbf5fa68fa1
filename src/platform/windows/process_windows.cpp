// Child processes and process facts on Windows.
//
// run_child resolves the program on PATH with PATHEXT (as cmd.exe does, but
// never in the current directory), builds the command line with the quoting
// CommandLineToArgvW and the C runtime undo, and starts it with CreateProcessW.
// Batch files run through `cmd.exe /d /s /c`; since cmd.exe re-parses its line,
// arguments with cmd metacharacters are refused for them rather than passed
// on mangled. Ctrl-C and Ctrl-Break reach every process on the console, the
// child included, so while it runs this process ignores them and waits for the
// child's own exit code.
//
// The child runs in a job object that kills it when this process ends. A lock
// held by `pycache-clean lock` belongs to this process alone (LockFileEx locks
// are not inherited), so a command outliving a killed pycache-clean would run
// unlocked; with the job, the lock and the command end together.
#include "platform/process.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cwchar>
#include <cwctype>

#include "win32.hpp"

#include <shellapi.h>
#include <tlhelp32.h>

namespace pycache_clean {

namespace {

// https://learn.microsoft.com/cpp/c-language/parsing-c-command-line-arguments
void append_quoted(std::wstring& line, const std::wstring& arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
    line += arg;
    return;
  }
  line.push_back(L'"');
  std::size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    if (c == L'"')
      line.append(backslashes * 2 + 1, L'\\');
    else
      line.append(backslashes, L'\\');
    backslashes = 0;
    line.push_back(c);
  }
  line.append(backslashes * 2, L'\\');
  line.push_back(L'"');
}

bool iequals(const std::wstring& a, const std::wstring& b) {
  return CompareStringOrdinal(a.c_str(), static_cast<int>(a.size()), b.c_str(),
                              static_cast<int>(b.size()), TRUE) == CSTR_EQUAL;
}

std::wstring extension_of(const std::wstring& path) {
  auto slash = path.find_last_of(L"\\/");
  auto dot = path.rfind(L'.');
  if (dot == std::wstring::npos || (slash != std::wstring::npos && dot < slash)) return {};
  return path.substr(dot);
}

bool is_file(const std::wstring& path) {
  DWORD attributes = GetFileAttributesW(path.c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && !(attributes & FILE_ATTRIBUTE_DIRECTORY);
}

std::wstring env_w(const wchar_t* name) {
  DWORD need = GetEnvironmentVariableW(name, nullptr, 0);
  if (need == 0) return {};
  std::wstring value(need, L'\0');
  DWORD got = GetEnvironmentVariableW(name, value.data(), need);
  value.resize(got < need ? got : 0);
  return value;
}

std::vector<std::wstring> path_extensions() {
  std::wstring pathext = env_w(L"PATHEXT");
  if (pathext.empty()) pathext = L".COM;.EXE;.BAT;.CMD";
  std::vector<std::wstring> out;
  std::size_t start = 0;
  while (start <= pathext.size()) {
    auto semi = pathext.find(L';', start);
    std::wstring ext = pathext.substr(start, semi == std::wstring::npos ? semi : semi - start);
    if (!ext.empty()) out.push_back(ext);
    if (semi == std::wstring::npos) break;
    start = semi + 1;
  }
  return out;
}

// `base` itself when it has an extension and exists, else base + each PATHEXT entry.
std::wstring with_extension(const std::wstring& base, const std::vector<std::wstring>& exts) {
  if (!extension_of(base).empty() && is_file(base)) return base;
  for (const auto& ext : exts)
    if (is_file(base + ext)) return base + ext;
  return {};
}

std::wstring resolve_program(const std::wstring& name) {
  auto exts = path_extensions();
  if (name.find_first_of(L"\\/:") != std::wstring::npos) return with_extension(name, exts);
  std::wstring path = env_w(L"PATH");
  std::size_t start = 0;
  while (start <= path.size()) {
    auto semi = path.find(L';', start);
    std::wstring dir = path.substr(start, semi == std::wstring::npos ? semi : semi - start);
    if (dir.size() >= 2 && dir.front() == L'"' && dir.back() == L'"')
      dir = dir.substr(1, dir.size() - 2);
    if (!dir.empty()) {
      if (dir.back() != L'\\' && dir.back() != L'/') dir.push_back(L'\\');
      std::wstring found = with_extension(dir + name, exts);
      if (!found.empty()) return found;
    }
    if (semi == std::wstring::npos) break;
    start = semi + 1;
  }
  return {};
}

// The environment block for the child: ours with `changes` applied. Names
// compare case-insensitively, as Windows treats them.
std::wstring environment_block(const EnvChanges& changes) {
  std::vector<std::wstring> entries;
  if (wchar_t* block = GetEnvironmentStringsW()) {
    for (const wchar_t* p = block; *p; p += std::wcslen(p) + 1) entries.emplace_back(p);
    FreeEnvironmentStringsW(block);
  }
  for (const auto& [key, value] : changes) {
    std::wstring wkey = win::widen(key);
    bool replaced = false;
    for (auto it = entries.begin(); it != entries.end();) {
      // "=C:=C:\dir" entries start with '=': their name ends at the second '='.
      auto eq = it->find(L'=', 1);
      if (eq != std::wstring::npos && iequals(it->substr(0, eq), wkey)) {
        if (value && !replaced) {
          *it = wkey + L"=" + win::widen(*value);
          replaced = true;
          ++it;
        } else {
          it = entries.erase(it);
        }
      } else {
        ++it;
      }
    }
    if (value && !replaced) entries.push_back(wkey + L"=" + win::widen(*value));
  }
  // "All strings in the environment block must be sorted alphabetically by
  // name", case-insensitively (CreateProcess, "Changing Environment Variables").
  auto name_of = [](const std::wstring& e) { return e.substr(0, e.find(L'=', 1)); };
  std::stable_sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
    std::wstring na = name_of(a), nb = name_of(b);
    return CompareStringOrdinal(na.c_str(), static_cast<int>(na.size()), nb.c_str(),
                                static_cast<int>(nb.size()), TRUE) == CSTR_LESS_THAN;
  });
  std::wstring out;
  for (const auto& e : entries) {
    out += e;
    out.push_back(L'\0');
  }
  out.push_back(L'\0');
  return out;
}

BOOL WINAPI ignore_console_event(DWORD) {
  return TRUE;  // the child got the same event; its exit decides ours
}

HANDLE inheritable_std_handle(DWORD which) {
  HANDLE h = GetStdHandle(which);
  if (h != nullptr && h != INVALID_HANDLE_VALUE)
    SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  return h;
}

// A job that kills its processes when its last handle closes: when this
// process exits in any way. Its handle is not inherited.
HANDLE kill_on_close_job() {
  HANDLE job = CreateJobObjectW(nullptr, nullptr);
  if (!job) return nullptr;
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  // BREAKAWAY_OK: a program that starts helpers with CREATE_BREAKAWAY_FROM_JOB
  // still may (without it, CreateProcess would fail for it).
  limits.BasicLimitInformation.LimitFlags =
      JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits)) {
    CloseHandle(job);
    return nullptr;
  }
  return job;
}

}  // namespace

std::vector<std::string> process_arguments(int argc, char** argv) {
  int count = 0;
  wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &count);
  if (!wide) return std::vector<std::string>(argv, argv + argc);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(win::narrow(wide[i]));
  LocalFree(wide);
  return out;
}

namespace {

// Runs a child started suspended to its end inside a job that kills what is
// left of it if we die, then lets what it started in the background live on.
ChildResult finish_child(PROCESS_INFORMATION& pi) {
  HANDLE job = kill_on_close_job();
  if (job && !AssignProcessToJobObject(job, pi.hProcess)) {
    CloseHandle(job);  // best effort: an enclosing job may forbid it
    job = nullptr;
  }
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  WaitForSingleObject(pi.hProcess, INFINITE);
  DWORD code = 0;
  bool known = GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hProcess);
  SetConsoleCtrlHandler(ignore_console_event, FALSE);
  if (job) {
    // The command is done; what it left running in the background stays alive.
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION none{};
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &none, sizeof none);
    CloseHandle(job);
  }
  if (!known) return {ChildResult::End::lost};
  return {ChildResult::End::exited, static_cast<int>(code)};
}

}  // namespace

ChildResult run_child(const std::vector<std::string>& argv, const EnvChanges& env) {
  if (argv.empty()) return {ChildResult::End::not_found, 0, ENOENT};
  std::wstring program = resolve_program(win::widen(argv[0]));
  if (program.empty()) return {ChildResult::End::not_found, 0, ENOENT};

  std::wstring line;
  std::wstring application = program;
  std::wstring ext = extension_of(program);
  bool batch = iequals(ext, L".bat") || iequals(ext, L".cmd");
  for (std::size_t i = 0; i < argv.size(); ++i) {
    // argv[0] as typed (the program itself is named by `application`), as
    // posix_spawnp passes it; a batch file's line names its full path for cmd.exe.
    std::wstring arg = i == 0 && batch ? program : win::widen(argv[i]);
    if (batch && arg.find_first_of(L"%^&|<>!\"\r\n") != std::wstring::npos)
      return {ChildResult::End::cannot_execute, 0, EINVAL};
    if (i > 0) line.push_back(L' ');
    append_quoted(line, arg);
  }
  if (batch) {
    std::wstring comspec = env_w(L"ComSpec");
    application = comspec.empty() ? L"C:\\Windows\\System32\\cmd.exe" : comspec;
    line = L"cmd.exe /d /s /c \"" + line + L"\"";
  }
  std::wstring block = environment_block(env);

  STARTUPINFOW si{};
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = inheritable_std_handle(STD_INPUT_HANDLE);
  si.hStdOutput = inheritable_std_handle(STD_OUTPUT_HANDLE);
  si.hStdError = inheritable_std_handle(STD_ERROR_HANDLE);
  PROCESS_INFORMATION pi{};
  SetConsoleCtrlHandler(ignore_console_event, TRUE);
  // Started suspended so that it is in the job before it can start anything.
  if (!CreateProcessW(application.c_str(), line.data(), nullptr, nullptr, TRUE,
                      CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED, block.data(), nullptr, &si,
                      &pi)) {
    DWORD error = GetLastError();
    SetConsoleCtrlHandler(ignore_console_event, FALSE);
    int err = win::errno_from_win32(error);
    return {err == ENOENT ? ChildResult::End::not_found : ChildResult::End::cannot_execute, 0, err};
  }
  return finish_child(pi);
}

long current_pid() {
  return static_cast<long>(GetCurrentProcessId());
}

bool process_exists(long pid) {
  if (pid <= 0) return false;
  HANDLE h =
      OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(pid));
  if (!h) return GetLastError() == ERROR_ACCESS_DENIED;  // exists, but not ours to open
  bool running = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
  CloseHandle(h);
  return running;
}

std::optional<std::uint64_t> process_start_time(long pid) {
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(pid));
  if (!h) return std::nullopt;
  FILETIME created, exited, kernel, user;
  bool ok = GetProcessTimes(h, &created, &exited, &kernel, &user) != 0;
  CloseHandle(h);
  if (!ok) return std::nullopt;
  return (static_cast<std::uint64_t>(created.dwHighDateTime) << 32) | created.dwLowDateTime;
}

std::optional<long> parent_process(long pid) {
  HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snapshot == INVALID_HANDLE_VALUE) return std::nullopt;
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  std::optional<long> parent;
  for (BOOL more = Process32FirstW(snapshot, &entry); more && !parent;
       more = Process32NextW(snapshot, &entry))
    if (static_cast<long>(entry.th32ProcessID) == pid)
      parent = static_cast<long>(entry.th32ParentProcessID);
  CloseHandle(snapshot);
  return parent;
}

std::string host_name() {
  wchar_t buf[256];
  DWORD size = 256;
  if (!GetComputerNameExW(ComputerNameDnsHostname, buf, &size)) return "?";
  return win::narrow(std::wstring_view(buf, size));
}

void raise_open_file_limit() {
  // Handles are not limited per process the way descriptors are: nothing to raise.
}

std::string find_program(const std::string& name) {
  return win::narrow(resolve_program(win::widen(name)));
}

std::uint64_t open_file_limit() {
  return 0;  // handles are not limited the way descriptors are
}

std::optional<std::string> capture_output(const std::vector<std::string>&) {
  return std::nullopt;  // only asked where ownership is checked, which Windows does not
}

bool is_executable_file(const std::string& path) {
  return is_file(win::widen(path));
}

const char* executable_suffix() {
  return ".exe";
}

std::vector<std::string> system_python_locations(int major, int minor) {
  std::string folder = "Python" + std::to_string(major) + std::to_string(minor);
  std::vector<std::string> out;
  std::string local = win::narrow(env_w(L"LOCALAPPDATA"));
  if (!local.empty()) out.push_back(local + "\\Programs\\Python\\" + folder + "\\python.exe");
  std::string programs = win::narrow(env_w(L"ProgramFiles"));
  if (!programs.empty()) out.push_back(programs + "\\" + folder + "\\python.exe");
  return out;
}

namespace {

// A helper on two anonymous pipes; waits on its output poll PeekNamedPipe,
// since anonymous pipes have no overlapped reads.
class WindowsCoprocess final : public Coprocess {
 public:
  WindowsCoprocess(HANDLE process, HANDLE input, HANDLE output)
      : m_process(process), m_input(input), m_output(output) {}
  ~WindowsCoprocess() override {
    CloseHandle(m_input);
    CloseHandle(m_output);
    TerminateProcess(m_process, 1);
    CloseHandle(m_process);
  }

  bool send(std::string_view data) override {
    while (!data.empty()) {
      DWORD written = 0;
      DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(data.size(), 1u << 20));
      if (!WriteFile(m_input, data.data(), chunk, &written, nullptr) || written == 0) return false;
      data.remove_prefix(written);
    }
    return true;
  }

 protected:
  std::size_t read_some(char* buffer, std::size_t capacity, int timeout_ms) override {
    ULONGLONG deadline = GetTickCount64() + static_cast<ULONGLONG>(timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
      DWORD available = 0;
      if (!PeekNamedPipe(m_output, nullptr, 0, nullptr, &available, nullptr)) return 0;
      if (available == 0) {
        if (timeout_ms >= 0 && GetTickCount64() >= deadline) return 0;
        Sleep(1);
        continue;
      }
      DWORD got = 0;
      DWORD want = available < capacity ? available : static_cast<DWORD>(capacity);
      if (!ReadFile(m_output, buffer, want, &got, nullptr)) return 0;
      return got;
    }
  }

 private:
  HANDLE m_process;
  HANDLE m_input;   // our end of its stdin
  HANDLE m_output;  // our end of its stdout
};

}  // namespace

Result<std::unique_ptr<Coprocess>> start_coprocess(const std::vector<std::string>& argv) {
  if (argv.empty()) return Failed{ENOENT};
  std::wstring line;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) line.push_back(L' ');
    append_quoted(line, win::widen(argv[i]));
  }
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE child_in = nullptr, our_in = nullptr, our_out = nullptr, child_out = nullptr;
  if (!CreatePipe(&child_in, &our_in, &inherit, 0)) return Failed{EIO};
  if (!CreatePipe(&our_out, &child_out, &inherit, 0)) {
    CloseHandle(child_in);
    CloseHandle(our_in);
    return Failed{EIO};
  }
  SetHandleInformation(our_in, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(our_out, HANDLE_FLAG_INHERIT, 0);
  HANDLE null_err = CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                                OPEN_EXISTING, 0, nullptr);
  STARTUPINFOW si{};
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = child_in;
  si.hStdOutput = child_out;
  si.hStdError = null_err;
  PROCESS_INFORMATION pi{};
  std::wstring application = win::widen(argv[0]);
  BOOL started = CreateProcessW(application.c_str(), line.data(), nullptr, nullptr, TRUE,
                                CREATE_NO_WINDOW, nullptr, nullptr, &si, &pi);
  DWORD error = GetLastError();
  CloseHandle(child_in);
  CloseHandle(child_out);
  if (null_err != INVALID_HANDLE_VALUE) CloseHandle(null_err);
  if (!started) {
    CloseHandle(our_in);
    CloseHandle(our_out);
    return Failed{win::errno_from_win32(error)};
  }
  CloseHandle(pi.hThread);
  return std::unique_ptr<Coprocess>(
      std::make_unique<WindowsCoprocess>(pi.hProcess, our_in, our_out));
}

}  // namespace pycache_clean
