// libFuzzer target for netd's pure request -> reply function (netd/packet.h).
// Input: the tail holds the fuzz-chosen parameters (snapshot, clocks, source address, flags;
// FuzzedDataProvider reads integers from the end), the rest is the request datagram.
// Asserts the issue 3 rules: amplification <= 1, a 48-byte reply only to a well-formed v1..v4
// mode 3 request from a possible client, mode 4 and same version, origin = the request's
// transmit bit for bit, reference <= receive <= transmit on the NTP circle.
#include "packet.h"
#include "ntp-time.h"
#include <fuzzer/FuzzedDataProvider.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace horloge;
using namespace horloge::netd;

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "netd-packet-fuzz: violated: %s\n", what);
  abort();
}
#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

// a later than b on the NTP circle.
bool later(uint64_t a, uint64_t b) { return static_cast<int64_t>(a - b) > 0; }

bool forbiddenV4(uint32_t a) {
  return (a >> 24) == 0 || (a >> 28) == 0xe || a == 0xffffffffu;
}

// The source rules, written independently of packet.c++.
bool expectForbidden(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    auto& sin = reinterpret_cast<const sockaddr_in&>(ss);
    return sin.sin_port == 0 || forbiddenV4(ntohl(sin.sin_addr.s_addr));
  }
  if (ss.ss_family == AF_INET6) {
    auto& sin6 = reinterpret_cast<const sockaddr_in6&>(ss);
    const uint8_t* a = sin6.sin6_addr.s6_addr;
    if (sin6.sin6_port == 0 || a[0] == 0xff) return true;
    static const uint8_t zero[16] = {};
    if (memcmp(a, zero, 16) == 0) return true;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0) return forbiddenV4(ntp::load32(a + 12));
    return false;
  }
  return true;
}

// The trailer after the 48-byte header of a well-formed request we answer: v4 only, a chain of
// extension fields (length >= 16, multiple of 4, inside the datagram), and never a MAC or
// crypto-NAK (a remainder of 4, 20 or 24 bytes).
bool expectTrailerOk(const uint8_t* p, size_t length, unsigned version) {
  if (length == PACKET_SIZE) return true;
  if (version != 4) return false;
  size_t off = PACKET_SIZE;
  while (off < length) {
    size_t rest = length - off;
    if (rest == 4 || rest == 20 || rest == 24 || rest < 16) return false;
    size_t n = size_t(p[off + 2]) << 8 | p[off + 3];
    if (n < 16 || n % 4 != 0 || n > rest) return false;
    off += n;
  }
  return true;
}

struct TxParam { int64_t tx; int calls; };
int64_t txClock(void* param) {
  auto* t = static_cast<TxParam*>(param);
  ++t->calls;
  return t->tx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  // The snapshot in the domain state-listener.c++ validates: LI 0..3, stratum 0..16,
  // precision -32..0; monotonic times are never negative.
  Snapshot s;
  s.pushed = fdp.ConsumeBool();
  s.leap = fdp.ConsumeIntegralInRange<uint8_t>(0, 3);
  s.stratum = fdp.ConsumeIntegralInRange<uint8_t>(0, 16);
  s.precision = fdp.ConsumeIntegralInRange<int8_t>(-32, 0);
  s.refid = fdp.ConsumeIntegral<uint32_t>();
  s.referenceTime = fdp.ConsumeIntegral<uint64_t>();
  s.rootDelay = fdp.ConsumeIntegral<uint32_t>();
  s.rootDispersion = fdp.ConsumeIntegral<uint32_t>();
  s.pushedMonoNs = fdp.ConsumeIntegralInRange<int64_t>(0, INT64_MAX);
  int64_t nowMonoNs = fdp.ConsumeIntegralInRange<int64_t>(0, INT64_MAX);
  int64_t maxHoldoverNs = fdp.ConsumeIntegralInRange<int64_t>(0, INT64_MAX);
  // Any RX time; TX within ~13 days of it either way (the clock may step back in between).
  int64_t rxUnixNs = fdp.ConsumeIntegral<int64_t>();
  int64_t delta = fdp.ConsumeIntegralInRange<int64_t>(-(int64_t(1) << 50), int64_t(1) << 50);
  int64_t txUnixNs = rxUnixNs;
  if (__builtin_add_overflow(rxUnixNs, delta, &txUnixNs)) txUnixNs = rxUnixNs;
  uint32_t random = fdp.ConsumeIntegral<uint32_t>();
  bool truncated = fdp.ConsumeIntegralInRange<uint8_t>(0, 15) == 0;
  bool own = fdp.ConsumeIntegralInRange<uint8_t>(0, 15) == 0;

  sockaddr_storage ss{};
  uint8_t family = fdp.ConsumeIntegralInRange<uint8_t>(0, 4);
  if (family <= 1) {
    auto& sin = reinterpret_cast<sockaddr_in&>(ss);
    sin.sin_family = AF_INET;
    sin.sin_port = fdp.ConsumeIntegral<uint16_t>();
    sin.sin_addr.s_addr = fdp.ConsumeIntegral<uint32_t>();
  } else if (family <= 3) {
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(ss);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = fdp.ConsumeIntegral<uint16_t>();
    uint8_t* a = sin6.sin6_addr.s6_addr;
    if (family == 3) {   // IPv4-mapped
      a[10] = a[11] = 0xff;
      ntp::store32(a + 12, fdp.ConsumeIntegral<uint32_t>());
    } else {
      ntp::store64(a, fdp.ConsumeIntegral<uint64_t>());
      ntp::store64(a + 8, fdp.ConsumeIntegral<uint64_t>());
    }
  } else {
    ss.ss_family = fdp.ConsumeIntegral<uint16_t>();
  }

  // The datagram: an exact-size heap copy so that ASan sees any read past its end.
  std::vector<uint8_t> rest = fdp.ConsumeRemainingBytes<uint8_t>();
  size_t length = rest.size();
  uint8_t* bytes = static_cast<uint8_t*>(malloc(length ? length : 1));
  if (length) memcpy(bytes, rest.data(), length);

  Request req{};
  req.bytes = bytes;
  req.length = length;
  req.truncated = truncated;
  req.rxUnixNs = rxUnixNs;
  req.source = reinterpret_cast<const sockaddr*>(&ss);
  req.random = random;
  req.fromOwnAddress = own;

  Reply reply;
  memset(reply.bytes, 0xa5, sizeof reply.bytes);
  TxParam tp{txUnixNs, 0};
  Drop d = respond(req, s, nowMonoNs, maxHoldoverNs, reply, txClock, &tp);
  CHECK(static_cast<int>(d) >= 0 && static_cast<int>(d) < DROP_REASONS);
  static const bool verbose = getenv("NETD_FUZZ_VERBOSE") != nullptr;   // to check seeds
  if (verbose) fprintf(stderr, "length %zu: %s\n", length, dropName(d));

  // The drop rules, in packet.c++'s order for the reasons the issue names.
  bool lengthOk = !truncated && length >= PACKET_SIZE && length % 4 == 0;
  unsigned version = length ? (bytes[0] >> 3) & 7 : 0;
  unsigned mode = length ? bytes[0] & 7 : 0;
  if (!lengthOk) {
    CHECK(d == Drop::LENGTH);
  } else if (version == 0 || version > 4) {
    CHECK(d == Drop::VERSION);
  } else if (mode != 3) {
    CHECK(d == Drop::MODE);
  }
  bool expectAnswer = lengthOk && version >= 1 && version <= 4 && mode == 3 &&
                      expectTrailerOk(bytes, length, version) && !expectForbidden(ss) && !own;
  CHECK(expectAnswer == (d == Drop::NONE));
  if (expectForbidden(ss) || own) CHECK(d != Drop::NONE);

  if (d != Drop::NONE) {
    CHECK(tp.calls == 0);   // no clock read for a dropped request
    free(bytes);
    return 0;
  }
  CHECK(tp.calls == 1);
  const uint8_t* r = reply.bytes;
  // Amplification <= 1: the reply is exactly 48 bytes, the request at least that.
  static_assert(sizeof(Reply::bytes) == PACKET_SIZE && PACKET_SIZE == 48);
  CHECK(length >= sizeof reply.bytes);
  CHECK((r[0] & 7) == 4);                       // server mode
  CHECK(((r[0] >> 3) & 7) == version);          // same version
  CHECK(memcmp(r + 24, bytes + 40, 8) == 0);    // origin = client's transmit, bit for bit
  CHECK(r[2] == bytes[2]);                      // poll echoed
  // Never a kiss code, and unsynchronised is always the one form LI=3 stratum 16.
  unsigned li = r[0] >> 6, stratum = r[1];
  CHECK(stratum >= 1 && stratum <= 16);
  CHECK((li == 3) == (stratum == 16));
  if (!s.pushed) CHECK(li == 3 && ntp::load32(r + 12) == REFID_INIT);
  else CHECK(ntp::load32(r + 12) == s.refid);
  CHECK(static_cast<int8_t>(r[3]) == s.precision);
  // Dispersion never shrinks with age.
  if (s.pushed) CHECK(ntp::load32(r + 8) >= s.rootDispersion);

  uint64_t ref = ntp::load64(r + 16), rx = ntp::load64(r + 32), tx = ntp::load64(r + 40);
  CHECK(!later(rx, tx));                        // receive <= transmit, era-safe
  CHECK(ref == 0 || !later(ref, rx));           // reference <= receive
  // Only the bits below the precision are random: above them, the stamps are the clocks'.
  int bits = 32 + s.precision;
  uint64_t mask = bits <= 0 ? 0 : (uint64_t(1) << bits) - 1;
  CHECK((tx & ~mask) == (ntp::fromUnixNs(txUnixNs) & ~mask));
  CHECK(rx == tx || (rx & ~mask) == (ntp::fromUnixNs(rxUnixNs) & ~mask));
  free(bytes);
  return 0;
}
