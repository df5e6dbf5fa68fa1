#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pycache_clean {

// Paths as text, in this platform's syntax: no file system call here.

// Path syntax of this platform: '/' on POSIX; '/' and '\\' on Windows.
bool is_path_separator(char c);
// Whether `path` is absolute: "/x"; on Windows also "C:\\x" and "\\\\server\\share".
bool is_absolute_path(const std::string& path);
// The separator of path lists such as $GIT_CEILING_DIRECTORIES: ':' on POSIX, ';' on Windows.
char path_list_separator();

// `dir` + "/" + `name`, without doubling a trailing slash.
std::string join_path(const std::string& dir, std::string_view name);
// Splits "a/b/__pycache__/" into ("a/b", "__pycache__"); "__pycache__" into (".", ...).
// Windows: "C:\\x\\__pycache__" into ("C:\\x", ...), "C:\\__pycache__" into ("C:\\", ...).
std::pair<std::string, std::string> split_last(std::string path);
// The components of `path` between separators, empty ones left out:
// "/a//b/" gives "a", "b". Views into `path`.
std::vector<std::string_view> path_parts(std::string_view path);
// "/a/./b/../c" as "/a/c", lexically (no link resolved): the directory
// CPython's sys.path entries name (os.getcwd() and realpath'd script
// directories hold no dot components). Always absolute, "/" at the least.
std::string lexically_normal(const std::string& path);

}  // namespace pycache_clean
