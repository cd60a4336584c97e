// NTP wire time formats (RFC 5905 §6) and their conversion to Unix nanoseconds.
// A 64-bit NTP timestamp carries no era; conversions back to Unix time pick the era nearest
// to a pivot (normally "now"), which keeps them right across the 2036 rollover.
#pragma once
#include <cstdint>
#include <ctime>

namespace horloge::ntp {

constexpr int64_t NS_PER_S = 1'000'000'000;
constexpr int64_t UNIX_TO_NTP = 2'208'988'800;   // seconds from 1900-01-01 to 1970-01-01

using Timestamp = uint64_t;   // 32.32 seconds since the start of the era
using Short = uint32_t;       // 16.16 seconds

inline int64_t toNs(const timespec& ts) { return ts.tv_sec * NS_PER_S + ts.tv_nsec; }
inline timespec toTimespec(int64_t ns) {
  int64_t s = ns / NS_PER_S, r = ns % NS_PER_S;
  if (r < 0) { r += NS_PER_S; --s; }
  return timespec{static_cast<time_t>(s), static_cast<long>(r)};
}

// Unix ns -> NTP timestamp. The fraction is rounded down, so a stamp is never late.
inline Timestamp fromUnixNs(int64_t ns) {
  timespec ts = toTimespec(ns);
  uint64_t sec = static_cast<uint64_t>(ts.tv_sec + UNIX_TO_NTP) & 0xffffffffu;
  uint64_t frac = (static_cast<uint64_t>(ts.tv_nsec) << 32) / NS_PER_S;
  return (sec << 32) | frac;
}

// NTP timestamp -> Unix ns, choosing the era that puts the result nearest to pivotNs.
int64_t toUnixNs(Timestamp t, int64_t pivotNs);

// Seconds (non-negative) -> NTP short format, saturating at its maximum.
Short shortFromSeconds(double s);
double secondsFromShort(Short s);

// Signed difference a - b of two timestamps in seconds, valid while |a - b| < 68 years.
inline double diffSeconds(Timestamp a, Timestamp b) {
  return static_cast<double>(static_cast<int64_t>(a - b)) / 4294967296.0;
}

// Precision exponent (log2 seconds) of a clock with the given resolution in ns.
int8_t precisionFromNs(int64_t resolutionNs);

// Big-endian load and store, for packet buffers.
inline uint32_t load32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline uint64_t load64(const uint8_t* p) { return (uint64_t(load32(p)) << 32) | load32(p + 4); }
inline void store32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
inline void store64(uint8_t* p, uint64_t v) { store32(p, v >> 32); store32(p + 4, uint32_t(v)); }

}  // namespace horloge::ntp

namespace horloge {
inline int64_t realtimeNs() { timespec ts; clock_gettime(CLOCK_REALTIME, &ts); return ntp::toNs(ts); }
inline int64_t monotonicNs() { timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ntp::toNs(ts); }
}  // namespace horloge
