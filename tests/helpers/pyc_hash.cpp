// Test helper: prints, as importlib.util.source_hash(...).hex() would, the
// source hash pycache-clean computes for FILE under bytecode magic MAGIC.
//   pyc_hash MAGIC FILE
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "pyc/pyc.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: pyc_hash MAGIC FILE\n");
    return 2;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto hash =
      pycache_clean::source_hash_for_magic(static_cast<std::uint16_t>(std::atoi(argv[1])), data);
  if (!hash) {
    std::fprintf(stderr, "no hash-based pycs for magic %s\n", argv[1]);
    return 1;
  }
  for (int i = 0; i < 8; ++i) std::printf("%02x", static_cast<unsigned>((*hash >> (8 * i)) & 0xff));
  std::printf("\n");
  return 0;
}
