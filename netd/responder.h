// netd's hot path: worker threads that answer NTP requests on the UDP sockets netd was handed.
// Each worker loops recvmmsg (kernel RX timestamps, SO_TIMESTAMPNS) -> packet.h -> sendmmsg,
// reading the server state once per batch from the StateCell and the transmit time once per
// batch right before sendmmsg. No lock, IPC or allocation per request; counters are per worker,
// on their own cache lines, and summed on demand.
//
// Each handed socket gets its own set of workers, all blocked in recvmmsg on it (the kernel
// wakes one waiter per datagram). A receive timeout (SO_RCVTIMEO) lets them notice stop().
#pragma once
#include "packet.h"
#include "state-cell.h"
#include <atomic>
#include <kj/array.h>
#include <kj/thread.h>

namespace horloge::netd {

struct ResponderStats {
  uint64_t received = 0;
  uint64_t answered = 0;
  uint64_t dropped[DROP_REASONS] = {};   // indexed by Drop; [NONE] stays 0
  uint64_t sendErrors = 0;
  uint64_t kernelRxStamps = 0;
  uint64_t userRxStamps = 0;

  uint64_t droppedTotal() const;
};

struct ResponderOptions {
  unsigned workersPerSocket = 1;
  int64_t maxHoldoverNs = 7200 * 1'000'000'000ll;
};

// Config::workers: 0 means one per CPU, at most 4.
unsigned resolveWorkers(unsigned configured);

class Responder {
public:
  // Configures the sockets (SO_TIMESTAMPNS, packet info, receive timeout, blocking mode) and
  // starts the workers. Throws if a descriptor is not a UDP socket. Does not take ownership
  // of the descriptors. Call before lockdown: it seeds the workers from getrandom().
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
  const StateCell& state;
  ResponderOptions options;
  std::atomic<bool> stopping{false};
  kj::Array<kj::Own<Worker>> workers;
  kj::Array<kj::Own<kj::Thread>> threads;   // declared last: joined before the rest goes

  void run(Worker& worker);
};

}  // namespace horloge::netd
