// SipHash, written from the reference description: four 64-bit lanes,
// c compression rounds per 8-byte word, d finalisation rounds, the message
// length in the top byte of the last word.
#include <pycache_clean/siphash.hpp>

#include <cstring>

namespace pycache_clean {

namespace {

inline std::uint64_t rotl(std::uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

inline void round(std::uint64_t& v0, std::uint64_t& v1, std::uint64_t& v2, std::uint64_t& v3) {
  v0 += v1;
  v1 = rotl(v1, 13);
  v1 ^= v0;
  v0 = rotl(v0, 32);
  v2 += v3;
  v3 = rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = rotl(v1, 17);
  v1 ^= v2;
  v2 = rotl(v2, 32);
}

inline std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::uint64_t siphash(int c_rounds, int d_rounds, std::uint64_t k0, std::uint64_t k1,
                      const void* data, std::size_t len) {
  std::uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
  std::uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
  std::uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
  std::uint64_t v3 = 0x7465646279746573ULL ^ k1;
  const auto* in = static_cast<const unsigned char*>(data);
  std::size_t whole = len - len % 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    std::uint64_t m = load_le64(in + i);
    v3 ^= m;
    for (int r = 0; r < c_rounds; ++r) round(v0, v1, v2, v3);
    v0 ^= m;
  }
  std::uint64_t last = static_cast<std::uint64_t>(len & 0xff) << 56;
  for (std::size_t i = 0; i < len % 8; ++i)
    last |= static_cast<std::uint64_t>(in[whole + i]) << (8 * i);
  v3 ^= last;
  for (int r = 0; r < c_rounds; ++r) round(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int r = 0; r < d_rounds; ++r) round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

std::uint64_t pyc_source_hash(std::uint32_t raw_magic, bool siphash13, const void* data,
                              std::size_t len) {
  return siphash13 ? siphash(1, 3, raw_magic, 0, data, len)
                   : siphash(2, 4, raw_magic, 0, data, len);
}

}  // namespace pycache_clean
