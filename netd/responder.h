// netd's hot path: worker threads that answer NTP requests on the UDP sockets netd was handed.
// Each worker loops recvmmsg (kernel RX timestamps, SO_TIMESTAMPNS) -> packet.h -> sendmmsg,
// reading the server state once per batch from the StateCell and the transmit time once per
// batch right before sendmmsg. No lock, IPC or allocation per request; counters are per worker,
// on their own cache lines, and summed on demand.
//
// Each handed socket gets its own set of workers, all blocked in recvmmsg on it (the kernel
// wakes one waiter per datagram). A receive timeout (SO_RCVTIMEO) lets them notice stop().
//
// NTS (nts-packet.h): after the deny check, malformed NTS fields are a silent drop; the rate
// limiter comes before any cryptography, so a limited client costs no AES; the cookie and the
// authenticator are checked in the batch loop, and the reply is sealed right after its own
// transmit time is read (a fresh clock read per NTS reply: sealing takes microseconds).
//
// Interleaved mode (interleave.h, tx-stamps.h): replies to interleaved clients ask the kernel
// for a TX stamp; whichever worker of that socket runs next reads the error queue (only when
// stamps are pending) before answering its batch, so a client's next request finds the stamp
// of the previous reply in the shared table.
#pragma once
#include "access-list.h"
#include "interleave.h"
#include "nts-key-cell.h"
#include "ntp-time.h"
#include "packet.h"
#include "rate-limiter.h"
#include "top-clients.h"
#include "state-cell.h"
#include <atomic>
#include <kj/array.h>
#include <kj/thread.h>
#include <memory>

namespace horloge::netd {

// The workers' counters summed (common/netd-counters.h says what each counts).
struct ResponderStats {
  uint64_t counts[NETD_COUNTERS] = {};
  uint64_t& operator[](NetdCounter c) { return counts[static_cast<size_t>(c)]; }
  uint64_t operator[](NetdCounter c) const { return counts[static_cast<size_t>(c)]; }

  uint64_t droppedTotal() const;   // the drops of every reason
};

struct ResponderOptions {
  unsigned workersPerSocket = 1;
  int64_t maxHoldoverNs = 7200 * ntp::NS_PER_S;
  // Abuse resistance, each optional (null: off). Not owned: they must outlive the Responder.
  // Checked per request in this order: own addresses (Drop::OWN_ADDRESS), the packet rules,
  // `deny` (Drop::DENIED), then the rate limiter on what would otherwise be answered.
  const AccessList* ownAddresses = nullptr;
  const AccessList* access = nullptr;
  RateLimiter* rateLimiter = nullptr;
  TopClients* topClients = nullptr;   // `horlogectl clients`: well-formed requests past `deny`
  size_t interleaveSlots = 16384;   // clients served in interleaved mode at once (64 B each)
  // NTS on: the server keys clockd pushes (not owned). Null: NTS fields are ignored as any
  // unknown extension field, and the request answered unauthenticated (as before NTS).
  const NtsKeyCell* ntsKeys = nullptr;
};

// Config::workers: 0 means one per CPU, at most 4.
unsigned resolveWorkers(unsigned configured);

class Responder {
public:
  // Configures the sockets (SO_TIMESTAMPNS; packet info unless bound to one address; DF on
  // IPv4 replies; at least a 4 MiB receive buffer where allowed; receive timeout; blocking
  // mode) and starts the workers. Throws if a descriptor is not a UDP socket. Does not take
  // ownership of the descriptors. Call before lockdown: it seeds the workers from getrandom().
  Responder(kj::ArrayPtr<const int> fds, const StateCell& state, ResponderOptions options);
  ~Responder() noexcept(false);   // stops and joins the workers
  KJ_DISALLOW_COPY(Responder);

  ResponderStats stats() const;

  // CLOCK_MONOTONIC of the oldest worker's last loop: a watchdog that only says alive if
  // this is recent catches a wedged worker.
  int64_t oldestHeartbeatNs() const;

  struct Counters;   // one per worker, cache-line aligned
private:
  struct Worker;
  struct alignas(64) SocketShared {
    std::atomic<int64_t> pendingTxStamps{0};   // asked for, not yet read off the error queue
  };
  const StateCell& state;
  ResponderOptions options;
  kj::Own<InterleaveTable> interleave;
  std::unique_ptr<SocketShared[]> sockets;   // one per handed socket
  std::atomic<bool> stopping{false};
  kj::Array<kj::Own<Worker>> workers;
  kj::Array<kj::Own<kj::Thread>> threads;   // declared last: joined before the rest goes

  void run(Worker& worker);
};

}  // namespace horloge::netd
