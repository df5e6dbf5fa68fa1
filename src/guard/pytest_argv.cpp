// How a command line reads: a pytest run however it was started (its script,
// `python -m pytest`, a launcher's `-m pytest`, an IDE's runner), a Python
// interpreter of any version or build, this program.
#include "guard/pytest_argv.hpp"

#include <algorithm>
#include <cctype>

namespace pycache_clean {

namespace {

std::string basename_of(const std::string& path) {
  auto slash = path.find_last_of("/\\");
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string strip_exe(std::string name) {
  if (name.size() > 4) {
    std::string tail = name.substr(name.size() - 4);
    std::transform(tail.begin(), tail.end(), tail.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (tail == ".exe") name.resize(name.size() - 4);
  }
  return name;
}

bool is_version_suffix(const std::string& s) {  // "3", "3.11", "7.2"
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
}

bool is_pytest_name(const std::string& path) {
  std::string name = strip_exe(basename_of(path));
  for (const char* stem : {"pytest", "py.test"}) {
    std::string s = stem;
    if (name == s) return true;
    if (name.size() > s.size() + 1 && name.compare(0, s.size() + 1, s + "-") == 0 &&
        is_version_suffix(name.substr(s.size() + 1)))
      return true;
  }
  return false;
}

bool is_ide_runner(const std::string& path) {
  std::string name = basename_of(path);
  return name == "_jb_pytest_runner.py" || name == "run_pytest_script.py";
}

bool is_pytest_module_arg(const std::vector<std::string>& argv, std::size_t i) {
  if (argv[i] == "-mpytest") return true;
  return argv[i] == "-m" && i + 1 < argv.size() && argv[i + 1] == "pytest";
}

}  // namespace

bool is_python_interpreter(const std::string& argv0) {
  std::string name = strip_exe(basename_of(argv0));
  if (name == "py" || name == "pythonw") return true;
  for (const char* stem : {"python", "pypy"}) {
    std::string s = stem;
    if (name.compare(0, s.size(), s) != 0) continue;
    std::string rest = name.substr(s.size());
    while (!rest.empty() && std::string("dmtu").find(rest.back()) != std::string::npos)
      rest.pop_back();  // python3.13t, python3.11d
    if (rest.empty() || is_version_suffix(rest)) return true;
  }
  return false;
}

bool is_pytest_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return false;
  if (is_pytest_name(argv[0])) return true;
  if (is_python_interpreter(argv[0])) {
    // Interpreter options, then either -m MODULE, -c CODE or a script.
    for (std::size_t i = 1; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (is_pytest_module_arg(argv, i)) return true;
      if (a == "-m" || a.compare(0, 2, "-m") == 0 || a == "-c" || a == "-" || a == "--")
        return false;
      if (a == "-W" || a == "-X" || a == "-Q") {
        ++i;  // takes a value
        continue;
      }
      if (!a.empty() && a[0] == '-') continue;
      return is_pytest_name(a) || is_ide_runner(a);  // the script
    }
    return false;
  }
  // A launcher such as `coverage run -m pytest` or `uv run -m pytest`.
  for (std::size_t i = 1; i < argv.size(); ++i)
    if (is_pytest_module_arg(argv, i)) return true;
  return false;
}

bool is_pycache_clean_command(const std::vector<std::string>& argv) {
  return !argv.empty() && strip_exe(basename_of(argv[0])) == "pycache-clean";
}

bool has_argument(const std::vector<std::string>& argv, const char* word) {
  auto end = std::find(argv.begin(), argv.end(), "--");
  return std::find(argv.begin(), end, word) != end;
}

}  // namespace pycache_clean
