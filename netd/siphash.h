// SipHash (Aumasson & Bernstein), written from the paper, with the round counts as template
// parameters: SipHash-2-4 is checked against the paper's test vector, netd hashes client
// addresses with the faster SipHash-1-3 under a key drawn from getrandom() at every start, so
// that nobody outside can aim many addresses at one slot of a table.
#pragma once
#include <cstddef>
#include <cstdint>

namespace horloge::netd {

struct SipKey {
  uint64_t k0 = 0, k1 = 0;
};

namespace sip {
inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
inline void round(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
  v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
}
inline uint64_t loadLe(const uint8_t* p, size_t n) {
  uint64_t m = 0;
  for (size_t i = 0; i < n; ++i) m |= uint64_t(p[i]) << (8 * i);
  return m;
}
}  // namespace sip

template <int C, int D>
uint64_t sipHash(const SipKey& key, const uint8_t* data, size_t length) {
  uint64_t v0 = 0x736f6d6570736575ull ^ key.k0, v1 = 0x646f72616e646f6dull ^ key.k1;
  uint64_t v2 = 0x6c7967656e657261ull ^ key.k0, v3 = 0x7465646279746573ull ^ key.k1;
  size_t whole = length - length % 8;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = sip::loadLe(data + i, 8);
    v3 ^= m;
    for (int r = 0; r < C; ++r) sip::round(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t b = (uint64_t(length) << 56) | sip::loadLe(data + whole, length - whole);
  v3 ^= b;
  for (int r = 0; r < C; ++r) sip::round(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  for (int r = 0; r < D; ++r) sip::round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

inline uint64_t sipHash13(const SipKey& key, const uint8_t* data, size_t length) {
  return sipHash<1, 3>(key, data, length);
}

}  // namespace horloge::netd
