#pragma once

#include <cstddef>
#include <cstdint>

namespace pycache_clean {

// SipHash-c-d fed in pieces: update() any number of times, then finish() once.
class SipHasher {
 public:
  SipHasher(int c_rounds, int d_rounds, std::uint64_t k0, std::uint64_t k1);
  void update(const void* data, std::size_t len);
  std::uint64_t finish();

 private:
  void compress(std::uint64_t m);
  int m_c, m_d;
  std::uint64_t m_v0, m_v1, m_v2, m_v3;
  unsigned char m_tail[8] = {};
  std::size_t m_tail_size = 0;
  std::uint64_t m_length = 0;
};

// SipHash-c-d (Aumasson and Bernstein) of `len` bytes at `data` with the
// 128-bit key (k0, k1), as a little-endian 64-bit value.
std::uint64_t siphash(int c_rounds, int d_rounds, std::uint64_t k0, std::uint64_t k1,
                      const void* data, std::size_t len);

// CPython's pyc source hash (importlib.util.source_hash): keyed with k0 = the
// interpreter's 4-byte magic read little-endian and k1 = 0; SipHash-1-3 from
// Python 3.11 on, SipHash-2-4 in 3.7-3.10 (Python/pyhash.c, _Py_KeyedHash).
std::uint64_t pyc_source_hash(std::uint32_t raw_magic, bool siphash13, const void* data,
                              std::size_t len);

}  // namespace pycache_clean
