// SipHash, written from the reference description: four 64-bit lanes,
// c compression rounds per 8-byte word, d finalisation rounds, the message
// length in the top byte of the last word. Streaming, so that a source of any
// size is hashed in fixed-size chunks.
#include "util/siphash.hpp"

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

SipHasher::SipHasher(int c_rounds, int d_rounds, std::uint64_t k0, std::uint64_t k1)
    : m_c(c_rounds),
      m_d(d_rounds),
      m_v0(0x736f6d6570736575ULL ^ k0),
      m_v1(0x646f72616e646f6dULL ^ k1),
      m_v2(0x6c7967656e657261ULL ^ k0),
      m_v3(0x7465646279746573ULL ^ k1) {}

void SipHasher::compress(std::uint64_t m) {
  m_v3 ^= m;
  for (int r = 0; r < m_c; ++r) round(m_v0, m_v1, m_v2, m_v3);
  m_v0 ^= m;
}

void SipHasher::update(const void* data, std::size_t len) {
  const auto* in = static_cast<const unsigned char*>(data);
  m_length += len;
  while (len > 0 && m_tail_size > 0 && m_tail_size < 8) {
    m_tail[m_tail_size++] = *in++;
    --len;
  }
  if (m_tail_size == 8) {
    compress(load_le64(m_tail));
    m_tail_size = 0;
  }
  for (; len >= 8; in += 8, len -= 8) compress(load_le64(in));
  for (; len > 0; --len) m_tail[m_tail_size++] = *in++;
}

std::uint64_t SipHasher::finish() {
  std::uint64_t last = static_cast<std::uint64_t>(m_length & 0xff) << 56;
  for (std::size_t i = 0; i < m_tail_size; ++i)
    last |= static_cast<std::uint64_t>(m_tail[i]) << (8 * i);
  compress(last);
  m_v2 ^= 0xff;
  for (int r = 0; r < m_d; ++r) round(m_v0, m_v1, m_v2, m_v3);
  return m_v0 ^ m_v1 ^ m_v2 ^ m_v3;
}

std::uint64_t siphash(int c_rounds, int d_rounds, std::uint64_t k0, std::uint64_t k1,
                      const void* data, std::size_t len) {
  SipHasher h(c_rounds, d_rounds, k0, k1);
  h.update(data, len);
  return h.finish();
}

std::uint64_t pyc_source_hash(std::uint32_t raw_magic, bool siphash13, const void* data,
                              std::size_t len) {
  return siphash13 ? siphash(1, 3, raw_magic, 0, data, len)
                   : siphash(2, 4, raw_magic, 0, data, len);
}

}  // namespace pycache_clean
