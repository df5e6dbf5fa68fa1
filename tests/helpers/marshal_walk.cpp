// Test helper: what the marshal walker says of pyc bodies, for the fuzz test
// that holds it against each interpreter's own marshal.loads. Reads lines
// `MINOR PATH` on stdin (PATH a whole pyc: its header is skipped) and prints
// one line each: `ok`, `truncated\tWHY` or `bad\tWHY`.
//   marshal_walk < list
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "pyc/marshal_check.hpp"

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    int minor = 0;
    std::string path;
    words >> minor;
    std::getline(words >> std::ws, path);
    std::ifstream in(path, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t header = minor >= 7 ? 16 : 12;
    auto r = pycache_clean::check_marshal(
        std::string_view(data).substr(std::min(header, data.size())), minor);
    using R = pycache_clean::MarshalCheck::Result;
    if (r.result == R::ok)
      std::printf("ok\n");
    else
      std::printf("%s\t%s\n", r.result == R::truncated ? "truncated" : "bad", r.why.c_str());
  }
  return 0;
}
