#include "packet.h"
#include "ntp-time.h"
#include <cmath>
#include <cstring>
#include <netinet/in.h>

namespace horloge::netd {

using ntp::load32;
using ntp::load64;
using ntp::store32;
using ntp::store64;

const char* dropName(Drop reason) {
  switch (reason) {
    case Drop::NONE: return "none";
    case Drop::LENGTH: return "length";
    case Drop::VERSION: return "version";
    case Drop::MODE: return "mode";
    case Drop::EXTENSION: return "extension";
    case Drop::AUTH: return "auth";
    case Drop::SOURCE: return "source";
    case Drop::OWN_ADDRESS: return "own-address";
    case Drop::DENIED: return "denied";
    case Drop::NTS: return "nts";
  }
  return "?";
}

ServerHeader makeHeader(const Snapshot& state, int64_t nowMonoNs, int64_t maxHoldoverNs) {
  ServerHeader h = state;
  if (!state.pushed) {
    return ServerHeader{3, 16, state.precision, REFID_INIT, 0, 0, 0};
  }
  int64_t age = nowMonoNs - state.pushedMonoNs;
  if (age < 0) age = 0;
  // 15 ppm of the age in 16.16 seconds, rounded up: ageUs * 15 * 65536 / 1e12. Ages past 2^42 µs
  // (51 days, beyond any maxholdover) would overflow; they saturate instead.
  uint64_t ageUs = static_cast<uint64_t>(age) / 1000;
  constexpr uint64_t SCALE = DISPERSION_RATE_PPM * 65536;
  uint64_t grow = ageUs >= (1ull << 42) ? 0xffffffffu : (ageUs * SCALE + 999'999'999'999) / 1'000'000'000'000;
  uint64_t disp = uint64_t(h.rootDispersion) + grow;
  int64_t late = nowMonoNs - state.slewEndMonoNs;
  if (state.slewRate > 0 && late > 0) {
    // At most 0.1 s/s (validated) over at most 51 days: below 2^48 in 16.16, exact in a double.
    double overshoot = std::ceil(state.slewRate * static_cast<double>(late) * 65536e-9);
    disp += overshoot >= 4294967295.0 ? 0xffffffffu : static_cast<uint64_t>(overshoot);
  }
  h.rootDispersion = disp > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(disp);
  if (age > maxHoldoverNs || h.stratum == 0 || h.stratum >= 16 || h.leap == 3) {
    h.leap = 3;
    h.stratum = 16;
  }
  return h;
}

namespace {

}  // namespace

bool isForbiddenSource(const sockaddr* source) {
  if (source->sa_family == AF_INET) {
    auto sin = reinterpret_cast<const sockaddr_in*>(source);
    return sin->sin_port == 0 || notUnicastV4(ntohl(sin->sin_addr.s_addr));
  }
  if (source->sa_family == AF_INET6) {
    auto sin6 = reinterpret_cast<const sockaddr_in6*>(source);
    if (sin6->sin6_port == 0) return true;
    const in6_addr& a = sin6->sin6_addr;
    if (IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_MULTICAST(&a)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&a)) return notUnicastV4(load32(a.s6_addr + 12));
    return false;
  }
  return true;
}

namespace {

// v4: extension fields (RFC 7822) then possibly a MAC. A remainder of exactly 4 (crypto-NAK),
// 20 or 24 bytes (key id + MD5/SHA-1 digest) is a MAC, as RFC 7822 §7.5 tells them apart.
Drop checkTrailer(const uint8_t* p, size_t length, unsigned version) {
  size_t off = PACKET_SIZE;
  while (off < length) {
    size_t rest = length - off;
    if (rest == 4 || rest == 20 || rest == 24) return Drop::AUTH;
    if (version < 4 || rest < 16) return Drop::EXTENSION;
    size_t fieldLength = (size_t(p[off + 2]) << 8) | p[off + 3];
    if (fieldLength < 16 || fieldLength % 4 != 0 || fieldLength > rest) return Drop::EXTENSION;
    off += fieldLength;   // a well-formed field we do not know: ignored, never echoed
  }
  return Drop::NONE;
}

// Replaces the bits of an NTP timestamp below 2^precision s with random ones.
uint64_t randomBelowPrecision(uint64_t t, int8_t precision, uint32_t random) {
  int bits = 32 + precision;
  if (bits <= 0) return t;
  if (bits > 32) bits = 32;
  uint64_t mask = bits == 32 ? 0xffffffffu : (uint64_t(1) << bits) - 1;
  return (t & ~mask) | (random & mask);
}

// a > b on the NTP circle (valid within 68 years), so comparisons survive the era rollover.
bool later(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b) > 0; }

}  // namespace

Drop prepareReply(const Request& request, const ServerHeader& header, Reply& reply) {
  const uint8_t* p = request.bytes;
  if (request.truncated || request.length < PACKET_SIZE || request.length % 4 != 0) {
    return Drop::LENGTH;
  }
  unsigned version = wire::version(p);
  unsigned mode = wire::mode(p);
  if (version < 1 || version > 4) return Drop::VERSION;
  if (mode != 3) return Drop::MODE;
  if (Drop d = checkTrailer(p, request.length, version); d != Drop::NONE) return d;
  if (isForbiddenSource(request.source)) return Drop::SOURCE;
  if (request.fromOwnAddress) return Drop::OWN_ADDRESS;

  uint8_t* r = reply.bytes;
  r[wire::LI_VN_MODE] = static_cast<uint8_t>((header.leap << 6) | (version << 3) | 4);
  r[wire::STRATUM] = header.stratum;
  r[wire::POLL] = p[wire::POLL];                  // echoed (RFC 5905 fast_xmit)
  r[wire::PRECISION] = static_cast<uint8_t>(header.precision);
  store32(r + wire::ROOT_DELAY, header.rootDelay);
  store32(r + wire::ROOT_DISPERSION, header.rootDispersion);
  store32(r + wire::REFID, header.refid);
  wire::setTimestamp(r, wire::REFERENCE, header.referenceTime);
  // origin = client's transmit, bit for bit
  memcpy(r + wire::ORIGIN, p + wire::TRANSMIT, 8);
  // Receive: the kernel stamp is taken after the packet arrived and fromUnixNs rounds down.
  wire::setTimestamp(r, wire::RECEIVE,
                     randomBelowPrecision(ntp::fromUnixNs(request.rxUnixNs), header.precision,
                                          request.random));
  wire::setTimestamp(r, wire::TRANSMIT, 0);
  return Drop::NONE;
}

void makeKissOfDeath(Reply& reply, uint32_t code) {
  uint8_t* r = reply.bytes;
  r[wire::LI_VN_MODE] = static_cast<uint8_t>(0xc0 | (r[wire::LI_VN_MODE] & 0x3f));   // LI=3
  r[wire::STRATUM] = 0;                               // stratum 0: a kiss code in refid
  store32(r + wire::ROOT_DELAY, 0);
  store32(r + wire::ROOT_DISPERSION, 0);
  store32(r + wire::REFID, code);
  wire::setTimestamp(r, wire::REFERENCE, 0);
  wire::setTimestamp(r, wire::RECEIVE, 0);
  wire::setTimestamp(r, wire::TRANSMIT, 0);           // the origin stays
}

void stampTransmit(Reply& reply, int64_t txUnixNs, uint32_t random) {
  uint8_t* r = reply.bytes;
  if (isKissOfDeath(reply)) return;   // a kiss-o'-death carries no timestamps
  int8_t precision = static_cast<int8_t>(r[wire::PRECISION]);
  uint64_t tx = randomBelowPrecision(ntp::fromUnixNs(txUnixNs), precision, random);
  uint64_t rx = wire::timestamp(r, wire::RECEIVE);
  uint64_t ref = wire::timestamp(r, wire::REFERENCE);
  if (later(rx, tx)) {
    rx = tx;
    wire::setTimestamp(r, wire::RECEIVE, rx);
  }
  if (ref != 0 && later(ref, rx)) wire::setTimestamp(r, wire::REFERENCE, rx);
  wire::setTimestamp(r, wire::TRANSMIT, tx);
}

Drop respond(const Request& request, const Snapshot& state, int64_t nowMonoNs,
             int64_t maxHoldoverNs, Reply& reply, TxClock txClock, void* txParam) {
  ServerHeader header = makeHeader(state, nowMonoNs, maxHoldoverNs);
  Drop d = prepareReply(request, header, reply);
  if (d != Drop::NONE) return d;
  // A different mix of the same random word for transmit than for receive.
  uint32_t txRandom = (request.random >> 16 | request.random << 16) * 0x9e3779b1u;
  stampTransmit(reply, txClock(txParam), txRandom);
  return Drop::NONE;
}

}  // namespace horloge::netd
