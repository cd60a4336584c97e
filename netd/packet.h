// The NTP server rules (RFC 5905, RFC 8633, RFC 9769 basic mode) as pure functions: one request
// datagram in, one 48-byte reply or a drop reason out. No I/O, no clock reads, no allocation:
// the caller passes every input (kernel RX time, state snapshot, source, randomness), so every
// rule is testable with fixed values, including across the 2036 era rollover.
//
// A reply is built in two steps so that the transmit time can be read as late as possible, once
// per batch, right before sendmmsg():
//   ServerHeader h = makeHeader(snapshot, nowMonoNs, maxHoldoverNs);   // once per batch
//   prepareReply(request, h, reply);                                // every request
//   stampTransmit(reply, realtimeNs(), random);                     // right before sending
// respond() chains the three for a single request.
#pragma once
#include "netd-counters.h"
#include "ntp-time.h"
#include "server-state.h"
#include <cstddef>
#include <cstdint>
#include <sys/socket.h>

namespace horloge::netd {

constexpr size_t PACKET_SIZE = 48;

// Where the fields of an NTP header are (RFC 5905 figure 8): code that reads or patches a
// packet names the field it means.
namespace wire {
constexpr size_t LI_VN_MODE = 0, STRATUM = 1, POLL = 2, PRECISION = 3, ROOT_DELAY = 4,
                 ROOT_DISPERSION = 8, REFID = 12, REFERENCE = 16, ORIGIN = 24, RECEIVE = 32,
                 TRANSMIT = 40;
inline unsigned version(const uint8_t* p) { return (p[LI_VN_MODE] >> 3) & 7; }
inline unsigned mode(const uint8_t* p) { return p[LI_VN_MODE] & 7; }
inline ntp::Timestamp timestamp(const uint8_t* p, size_t field) { return ntp::load64(p + field); }
inline void setTimestamp(uint8_t* p, size_t field, ntp::Timestamp t) { ntp::store64(p + field, t); }
}  // namespace wire

// An IPv4 address (host order) that no unicast datagram comes from or is answered from:
// 0.0.0.0/8 ("this network"), 224.0.0.0/4 multicast, 255.255.255.255.
constexpr bool notUnicastV4(uint32_t a) {
  return (a >> 24) == 0 || (a >> 28) == 0xe || a == 0xffffffffu;
}
constexpr int64_t DISPERSION_RATE_PPM = 15;   // RFC 5905 PHI

// Why a datagram got no answer. Counted per reason by the responder.
enum class Drop : uint8_t {
  NONE,            // answered
  LENGTH,          // shorter than 48 bytes, not a multiple of 4, or truncated on receive
  VERSION,         // version 0 or 5..7
  MODE,            // anything but mode 3 (client)
  EXTENSION,       // malformed extension field, or trailing bytes a v1..v3 packet cannot carry
  AUTH,            // a MAC or crypto-NAK: we have no keys, so its key is unknown
  SOURCE,          // a source that cannot be a client: port 0, unspecified, broadcast, multicast
  OWN_ADDRESS,     // the source is one of our own addresses (a reflection loop)
  DENIED,          // a `deny` rule covers the source (the responder's decision, not prepareReply's)
  NTS,             // malformed NTS extension fields (nts-packet.h), with NTS on
};
constexpr int DROP_REASONS = 10;
const char* dropName(Drop reason);   // "length", "version", ...

// The counter of a drop reason (not NONE): NetdCounter keeps Drop's order.
constexpr NetdCounter dropCounter(Drop reason) {
  return static_cast<NetdCounter>(static_cast<int>(NetdCounter::DROPPED_LENGTH) +
                                  static_cast<int>(reason) - static_cast<int>(Drop::LENGTH));
}
static_assert(dropCounter(Drop::DENIED) == NetdCounter::DROPPED_DENIED &&
              dropCounter(Drop::OWN_ADDRESS) == NetdCounter::DROPPED_OWN_ADDRESS &&
              dropCounter(Drop::NTS) == NetdCounter::DROPPED_NTS &&
              static_cast<int>(Drop::NTS) + 1 == DROP_REASONS);

// The server state as clockd last pushed it (the header, aged by makeHeader()), with when it
// arrived. Trivially copyable so that it can live in a seqlock (state-cell.h).
struct Snapshot: ServerHeader {
  bool pushed = false;          // false until clockd's first push: answer "unsynchronised"
  int64_t pushedMonoNs = 0;     // CLOCK_MONOTONIC of the push; rootDispersion is as of then
  ClockModel model;             // the time to serve (server-state.h)
  int64_t slewEndMonoNs = 0;    // PlannedSlew, on CLOCK_MONOTONIC
  double slewRate = 0;
};

// The reply header fields for a batch: the snapshot aged to "now". Root dispersion grows at
// 15 ppm of the time since the push (rounded up, saturating), and by the slew rate of the time
// since a planned slew end clockd has not yet made (the clock is still slewing), and past `maxHoldoverNs` without
// a push the server says LI=3, stratum 16 (the refid kept, so a client can still tell where the
// time came from). Before any push: LI=3, stratum 16, refid "INIT". Stratum 0 (a kiss code on
// the wire) or 16, or LI=3, all become the one unsynchronised form LI=3, stratum 16.
ServerHeader makeHeader(const Snapshot& state, int64_t nowMonoNs, int64_t maxHoldoverNs);

// True for a source that must never get an answer (port 0; 0.0.0.0/8, 255.255.255.255,
// 224.0.0.0/4; ::, ff00::/8; the same rules for IPv4-mapped IPv6). Unknown families: true.
bool isForbiddenSource(const sockaddr* source);

struct Request {
  const uint8_t* bytes;
  size_t length;
  bool truncated = false;       // the datagram did not fit the receive buffer
  int64_t rxUnixNs;             // kernel RX timestamp (or a user-space read after recv)
  const sockaddr* source;
  uint32_t random;              // fills the bits of receive below the precision
  bool fromOwnAddress = false;  // hook: set by the caller once it knows its own addresses
};

struct Reply {
  uint8_t bytes[PACKET_SIZE];
};

// Checks the request and, if it deserves an answer, writes every field of `reply` except the
// transmit timestamp. Returns Drop::NONE when `reply` must be sent (after stampTransmit()).
Drop prepareReply(const Request& request, const ServerHeader& header, Reply& reply);

// Writes the transmit timestamp, read by the caller as late as possible (rounded down: never
// late), with the bits below the precision random. Then keeps reference <= receive <= transmit
// (era-safe), which only bites when receive and transmit share one precision interval or the
// clock stepped back between them.
void stampTransmit(Reply& reply, int64_t txUnixNs, uint32_t random);

// A reply made into a kiss-o'-death (below): stratum 0, no timestamps.
inline bool isKissOfDeath(const Reply& reply) { return reply.bytes[wire::STRATUM] == 0; }

// Turns a reply made by prepareReply() into a RATE kiss-o'-death (RFC 5905 7.4): LI=3, stratum
// 0, refid "RATE", the origin still the client's transmit (so the client can match it), and no
// other timestamp. Still 48 bytes; stampTransmit() leaves a stratum-0 reply alone.
constexpr uint32_t KISS_RATE = 0x52415445;   // "RATE"
void makeKissOfDeath(Reply& reply, uint32_t code = KISS_RATE);

// All of the above for one request. `txClock(param)` returns the Unix ns transmit time.
using TxClock = int64_t (*)(void* param);
Drop respond(const Request& request, const Snapshot& state, int64_t nowMonoNs,
             int64_t maxHoldoverNs, Reply& reply, TxClock txClock, void* txParam);

}  // namespace horloge::netd
