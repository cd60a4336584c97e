// Server side of the NTP interleaved client/server mode (RFC 9769 §2): a client that asks for
// it gets, in each reply, the precise (kernel) transmit time of the PREVIOUS reply.
//
// The exchange, as chrony's client and server do it:
//   request  N    origin = our receive timestamp of reply N-1, receive = its own RX of reply
//                 N-1, transmit = its own (or random) TX
//   reply    N    origin = the request's RECEIVE field (bit for bit: the client matches on it),
//                 receive = our RX of request N, transmit = our kernel TX stamp of reply N-1
// A request is taken as interleaved only if it is version 4, its origin is non-zero and equals
// the receive timestamp we put in our last reply to that client address, and its receive and
// transmit differ. Anything else gets a basic reply.
//
// To know which requests can be interleaved without remembering every receive timestamp we
// ever sent, every reply carries a flag in the lowest fraction bit (far below any precision):
// receive is odd, transmit even. Only a request whose origin is odd copies one of our receive
// timestamps, so only such a request claims a slot in the table; basic clients (origin zero or
// our even transmit) never touch it. For a new client the third reply is the first interleaved.
//
// Per-client state lives in a fixed-size table allocated once: 4-way buckets indexed by a keyed
// hash (SipHash, random key per start) of the client address, not port (chrony's client sends
// each request from a new port). A way idle for EVICT_AFTER_S may be taken by another client;
// when all four are busier than that, the newcomer gets basic replies ("table full"). Slots are
// guarded by a try-lock: a worker that finds one busy answers in basic mode instead of waiting.
#pragma once
#include "packet.h"
#include "siphash.h"
#include <atomic>
#include <cstdint>
#include "ntp-time.h"
#include <kj/common.h>
#include <memory>
#include <sys/socket.h>

namespace horloge::netd {

// A client address: IPv6, or IPv4 as ::ffff:a.b.c.d.
struct ClientKey {
  uint8_t addr[16];
  bool operator==(const ClientKey& o) const;
};
ClientKey keyOf(const sockaddr* source);   // AF_INET or AF_INET6 only

// The request asks for an interleaved reply (see above): v4, origin odd, receive != transmit.
bool wantsInterleaved(const uint8_t* request, size_t length);

// Turns a prepared basic reply (prepareReply) into an interleaved one: origin = the request's
// receive field, transmit = `previousTx` (the earlier reply's transmit, kernel stamp if we got
// it). Receive stays the RX time of this request, which is later than transmit by design.
void makeInterleaved(Reply& reply, const uint8_t* request, ntp::Timestamp previousTx);

// Sets the flag bits on a stamped reply: receive odd, transmit even. In a basic reply keeps
// receive <= transmit (lowering receive by one 2^-32 s step if they shared the last bit).
void flagTimestamps(Reply& reply, bool interleaved);

// An NTP timestamp for a transmit time, flag bit clear.
ntp::Timestamp transmitStamp(int64_t unixNs);

class InterleaveTable {
public:
  static constexpr unsigned WAYS = 4;
  static constexpr uint32_t EVICT_AFTER_S = 64;

  // `slots` is rounded up to a power of two, at least WAYS. `hashKey`: 16 random bytes.
  InterleaveTable(size_t slots, const uint8_t hashKey[16]);
  KJ_DISALLOW_COPY(InterleaveTable);

  enum class Outcome : uint8_t {
    FULL,          // no slot for this client (all ways busy and recent, or locked): basic
    BASIC,         // slot found or claimed, but origin does not match the last reply: basic
    INTERLEAVED,   // answer in interleaved mode with `previousTx`
  };
  struct Plan {
    Outcome outcome = Outcome::FULL;
    uint32_t slot = 0;
    ClientKey key;
    ntp::Timestamp previousTx = 0;
  };

  // For a request that wantsInterleaved(): finds the client's slot or claims one.
  // `nowS`: a monotonic clock in seconds (only differences matter).
  Plan begin(const ClientKey& key, ntp::Timestamp origin, uint32_t nowS);

  // Remembers the reply just stamped for the plan's client (skipped if the slot changed hands
  // meanwhile): its receive field, and its transmit time until the kernel stamp replaces it.
  void save(const Plan& plan, ntp::Timestamp replyRx, ntp::Timestamp fallbackTx);

  // A kernel TX stamp for the reply to `key` that carried receive `replyRx`. Returns false if
  // that is no longer the client's last reply (or the client has no slot). `replaced` gets the
  // user-space transmit time the stamp replaces.
  bool kernelStamp(const ClientKey& key, ntp::Timestamp replyRx, ntp::Timestamp kernelTx,
                   ntp::Timestamp& replaced);

  size_t size() const { return count; }

private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> tag{0};        // 0: empty; else a hash fingerprint, read unlocked
    std::atomic<uint32_t> lastSeenS{0};  // read unlocked to pick a victim
    std::atomic<bool> busy{false};       // the try-lock over the fields below
    ClientKey key;
    ntp::Timestamp rx = 0;               // receive field of our last reply
    ntp::Timestamp tx = 0;               // transmit time of that reply (kernel if known)
  };
  std::unique_ptr<Slot[]> slots;   // allocated once, never resized
  size_t count;
  size_t bucketMask;
  SipKey key;   // random per start

  uint64_t hash(const ClientKey& key) const;
  static bool lock(Slot& s) { return !s.busy.exchange(true, std::memory_order_acquire); }
  static void unlock(Slot& s) { s.busy.store(false, std::memory_order_release); }
};

}  // namespace horloge::netd
