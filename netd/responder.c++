#include "responder.h"
#include "error-text.h"
#include "log.h"
#include "nts-packet.h"
#include "ntp-time.h"
#include "tx-stamps.h"
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <kj/debug.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <sys/random.h>
#include <thread>
#include <unistd.h>

namespace horloge::netd {

namespace {

constexpr unsigned BATCH = 32;
constexpr size_t RX_BUFFER = 2048;     // NTS-sized requests fit; anything longer is truncated
constexpr size_t CONTROL = 256;        // timestamp + packet info, with room to spare
constexpr int RECEIVE_TIMEOUT_MS = 200;
constexpr int RECEIVE_BUFFER = 4 << 20;   // SO_RCVBUF, bytes (see configureSocket)

// The owner thread is the only writer of a counter: a relaxed load+store is enough and cheaper
// than an atomic read-modify-write.
inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// The counter of a well-formed request's NTP version (1..4).
NetdCounter requestsOfVersion(const uint8_t* request) {
  return static_cast<NetdCounter>(static_cast<int>(NetdCounter::REQUESTS_V1) +
                                  wire::version(request) - 1);
}

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int socketFamily(int fd) {
  int type = 0, domain = 0;
  socklen_t len = sizeof(type);
  KJ_SYSCALL(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), fd);
  len = sizeof(domain);
  KJ_SYSCALL(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len), fd);
  KJ_REQUIRE(type == SOCK_DGRAM && (domain == AF_INET || domain == AF_INET6),
             "handed descriptor is not a UDP/IPv4 or UDP/IPv6 socket", fd, type, domain);
  return domain;
}

// True when the socket is bound to one unicast address rather than the wildcard: its replies
// then leave from that address by themselves, and the per-request packet info (a control
// message on every receive and on every send) would only repeat it.
bool boundToOneAddress(int fd, int family) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  KJ_SYSCALL(getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len), fd);
  if (family == AF_INET) {
    return !notUnicastV4(ntohl(reinterpret_cast<const sockaddr_in&>(ss).sin_addr.s_addr));
  }
  const in6_addr& a = reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&a)) return !notUnicastV4(ntp::load32(a.s6_addr + 12));
  return !IN6_IS_ADDR_UNSPECIFIED(&a) && !IN6_IS_ADDR_MULTICAST(&a);
}

void configureSocket(int fd, int family) {
  int on = 1;
  KJ_SYSCALL(setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)), fd);
  // The destination address of each request, to answer from it on a wildcard-bound socket.
  if (!boundToOneAddress(fd, family)) {
    if (family == AF_INET) {
      KJ_SYSCALL(setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)), fd);
    } else {
      KJ_SYSCALL(setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)), fd);
    }
  }
  // IPv4 replies (also IPv4-mapped ones on an IPv6 socket) go out with DF set, hence IP ID 0
  // (RFC 6864: an atomic datagram needs no ID). A reply is 76 bytes and never needs
  // fragmenting, and this spares the kernel its per-packet ID generator for unfragmentable
  // datagrams (__ip_select_ident: a keyed hash and a shared counter per destination), one of
  // the largest single costs of a reply. PROBE ignores the path MTU, so no cached PMTU can
  // fail a send. Best effort: without it replies only cost a little more.
  int pmtu = IP_PMTUDISC_PROBE;
  if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) < 0) {
    log::warn(kj::str("IP_MTU_DISCOVER on fd ", fd, ": ", strerror(errno)));
  }
  // A receive queue for bursts: the kernel charges each datagram's whole buffer (about 800
  // bytes for a 48-byte request), so the default 208 KiB holds some 250 requests and 4 MiB
  // (8 MiB as the kernel counts it) about 10,000, a fraction of a second of a full core's
  // work. A burst, or a worker that is not scheduled for a moment, then costs queueing (inside
  // T3-T2, so it does not bias the client's offset or delay) rather than requests that the
  // kernel has already received, and paid for, being dropped. Never lowers a larger size set
  // by whoever bound the socket (systemd's ReceiveBuffer=); without privileges the kernel caps
  // it at net.core.rmem_max.
  int rcvbuf = 0;
  socklen_t rcvlen = sizeof(rcvbuf);
  KJ_SYSCALL(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rcvlen), fd);
  if (rcvbuf < 2 * RECEIVE_BUFFER) {   // the kernel reports twice what was asked
    int want = RECEIVE_BUFFER;
    KJ_SYSCALL(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want)), fd);
  }
  timeval tv{0, RECEIVE_TIMEOUT_MS * 1000};
  KJ_SYSCALL(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), fd);
  int flags;
  KJ_SYSCALL(flags = fcntl(fd, F_GETFL), fd);
  if (flags & O_NONBLOCK) {
    KJ_SYSCALL(fcntl(fd, F_SETFL, flags & ~O_NONBLOCK), fd);
  }
}

}  // namespace

struct alignas(64) Responder::Counters {
  std::atomic<uint64_t> counts[NETD_COUNTERS] = {};
  std::atomic<int64_t> heartbeatNs{0};
  std::atomic<uint64_t>& operator[](NetdCounter c) { return counts[static_cast<size_t>(c)]; }
};

struct Responder::Worker {
  int fd;
  int family;
  uint64_t rng;
  Counters counters;

  // Receive side.
  uint8_t rx[BATCH][RX_BUFFER];
  sockaddr_in6 from[BATCH];   // large enough for either family
  alignas(cmsghdr) uint8_t rxControl[BATCH][CONTROL];
  iovec rxIov[BATCH];
  mmsghdr rxMsg[BATCH];

  // Send side.
  Reply replies[BATCH];
  alignas(cmsghdr) uint8_t txControl[BATCH][CONTROL];
  iovec txIov[BATCH];
  mmsghdr txMsg[BATCH];

  // Interleaved mode: what begin() said for each reply of the batch (FULL: basic, no slot).
  InterleaveTable::Plan plans[BATCH];
  TxStampReader txStamps;
  SocketShared* shared = nullptr;

  // NTS (only with NTS on): this thread's cipher contexts, keyed with its copy of the server
  // keys, and what each reply of the batch needs once its header is final.
  kj::Own<NtsCrypto> crypto;
  uint64_t keysGeneration = 0;   // of the cell, when the keys were copied; 0: none yet
  enum class NtsKind : uint8_t { NONE, ANSWER, NAK };
  struct NtsSlot {
    NtsKind kind = NtsKind::NONE;
    NtsRequest request;
    size_t requestLength = 0;
    nts::SessionKeys session;
  };
  NtsSlot nts[BATCH];
  uint8_t ntsOut[BATCH][RX_BUFFER];
  // Nonces for NTS replies and their cookies, drawn from OpenSSL's generator a page at a time:
  // a call per reply would cost as much as the reply's cryptography.
  uint8_t randomPool[4096];
  size_t randomLeft = 0;
  const uint8_t* randomBytes(size_t n) {
    if (randomLeft < n) {
      if (RAND_bytes(randomPool, sizeof(randomPool)) != 1) return nullptr;
      randomLeft = sizeof(randomPool);
    }
    randomLeft -= n;
    return randomPool + randomLeft;
  }

  void refreshKeys(const NtsKeyCell& cell) {
    uint64_t g = cell.generation();
    // Keyed once per key set (daily), not per request. Should OpenSSL fail, it holds no keys
    // (requests get NAKs) and the next batch tries again.
    if (g != keysGeneration && crypto->cookies.set(cell.copy())) keysGeneration = g;
  }

  Worker(int fd, int family, uint64_t seed): fd(fd), family(family), rng(seed) {}

  // A request that asks for interleaved mode: finds its client's slot and, if it has one,
  // makes the reply interleaved when the origin matches and asks for a kernel TX stamp.
  // Returns the new length of the reply's control data.
  size_t planInterleaved(unsigned slot, const Request& request, InterleaveTable& table,
                         size_t controlLen) {
    InterleaveTable::Plan& plan = plans[slot];
    plan = table.begin(keyOf(request.source), wire::timestamp(request.bytes, wire::ORIGIN),
                       static_cast<uint32_t>(monotonicNs() / ntp::NS_PER_S));
    if (plan.outcome == InterleaveTable::Outcome::FULL) return controlLen;
    if (plan.outcome == InterleaveTable::Outcome::INTERLEAVED) {
      makeInterleaved(replies[slot], request.bytes, plan.previousTx);
    }
    return appendTxStampRequest(txControl[slot], controlLen);
  }

  // Reads the TX stamps waiting on the socket's error queue, if any were asked for.
  void collectTxStamps(InterleaveTable& table) {
    int64_t pending = shared->pendingTxStamps.load(std::memory_order_relaxed);
    if (pending <= 0) return;
    TxStampReader::Result r = txStamps.drain(fd, table);
    if (r.read == 0) {
      // Stamps the kernel never queued (error queue full) would keep us reading for nothing.
      shared->pendingTxStamps.compare_exchange_strong(pending, 0, std::memory_order_relaxed);
      return;
    }
    int64_t left = shared->pendingTxStamps.fetch_sub(r.read, std::memory_order_relaxed) - r.read;
    if (left < 0) shared->pendingTxStamps.compare_exchange_strong(left, 0, std::memory_order_relaxed);
    bump(counters[NetdCounter::KERNEL_TX_STAMPS], r.stamps);
  }

  void resetReceive() {
    for (unsigned i = 0; i < BATCH; ++i) {
      rxIov[i] = {rx[i], RX_BUFFER};
      msghdr& h = rxMsg[i].msg_hdr;
      h = {};
      h.msg_name = &from[i];
      h.msg_namelen = sizeof(from[i]);
      h.msg_iov = &rxIov[i];
      h.msg_iovlen = 1;
      h.msg_control = rxControl[i];
      h.msg_controllen = CONTROL;
      rxMsg[i].msg_len = 0;
    }
  }

  // Reads the kernel RX time and, into txControl[slot], the packet info to answer with.
  // Returns the length of that control data (0 if none).
  size_t parseControl(const msghdr& h, unsigned slot, int64_t& rxNs, bool& kernelStamp) {
    size_t txLen = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof(ts));
        rxNs = ntp::toNs(ts);
        kernelStamp = true;
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo in;
        memcpy(&in, CMSG_DATA(c), sizeof(in));
        in_pktinfo out{};
        out.ipi_spec_dst = in.ipi_spec_dst;   // the local unicast address the kernel chose
        txLen = putControl(slot, IPPROTO_IP, IP_PKTINFO, &out, sizeof(out));
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo in;
        memcpy(&in, CMSG_DATA(c), sizeof(in));
        // Never answer from a multicast or broadcast address: let the kernel pick then.
        bool usable = !IN6_IS_ADDR_MULTICAST(&in.ipi6_addr);
        if (IN6_IS_ADDR_V4MAPPED(&in.ipi6_addr)) {
          usable = !notUnicastV4(ntp::load32(in.ipi6_addr.s6_addr + 12));
        }
        if (usable) txLen = putControl(slot, IPPROTO_IPV6, IPV6_PKTINFO, &in, sizeof(in));
      }
    }
    return txLen;
  }

  size_t putControl(unsigned slot, int level, int type, const void* data, size_t len) {
    memset(txControl[slot], 0, CMSG_SPACE(len));
    auto c = reinterpret_cast<cmsghdr*>(txControl[slot]);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(c), data, len);
    return CMSG_SPACE(len);
  }
};

uint64_t ResponderStats::droppedTotal() const {
  uint64_t sum = 0;
  for (int d = static_cast<int>(Drop::LENGTH); d < DROP_REASONS; ++d) {
    sum += (*this)[dropCounter(static_cast<Drop>(d))];
  }
  return sum;
}

unsigned resolveWorkers(unsigned configured) {
  if (configured > 0) return configured;
  return std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
}

Responder::Responder(kj::ArrayPtr<const int> fds, const StateCell& state, ResponderOptions options)
    : state(state), options(options) {
  KJ_REQUIRE(options.workersPerSocket > 0);
  uint8_t hashKey[16];
  KJ_SYSCALL(getrandom(hashKey, sizeof(hashKey), 0));
  interleave = kj::heap<InterleaveTable>(options.interleaveSlots, hashKey);
  sockets = std::unique_ptr<SocketShared[]>(new SocketShared[fds.size()]);
  auto ws = kj::heapArrayBuilder<kj::Own<Worker>>(fds.size() * options.workersPerSocket);
  for (size_t f = 0; f < fds.size(); ++f) {
    int fd = fds[f];
    int family = socketFamily(fd);
    configureSocket(fd, family);
    enableTxTimestamps(fd);
    for (unsigned i = 0; i < options.workersPerSocket; ++i) {
      uint64_t seed;
      KJ_SYSCALL(getrandom(&seed, sizeof(seed), 0));
      ws.add(kj::heap<Worker>(fd, family, seed));
      if (options.ntsKeys) ws.back()->crypto = kj::heap<NtsCrypto>();   // before lockdown
      ws.back()->shared = &sockets[f];
      ws.back()->counters.heartbeatNs.store(monotonicNs(), std::memory_order_relaxed);
    }
  }
  workers = ws.finish();
  auto ts = kj::heapArrayBuilder<kj::Own<kj::Thread>>(workers.size());
  for (auto& w: workers) {
    Worker* worker = w.get();
    ts.add(kj::heap<kj::Thread>([this, worker]() {
      KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { run(*worker); })) {
        // A dead worker would leave its share of the socket unanswered: stop the daemon so that
        // the supervisor restarts it.
        log::error(kj::str("worker failed: ", errorText(*e)));
        _exit(1);
      }
    }));
  }
  threads = ts.finish();
}

Responder::~Responder() noexcept(false) {
  stopping.store(true, std::memory_order_relaxed);
  // `threads` is the last member: destroyed (joined) first.
}

void Responder::run(Worker& w) {
  Counters& c = w.counters;
  while (!stopping.load(std::memory_order_relaxed)) {
    c.heartbeatNs.store(monotonicNs(), std::memory_order_relaxed);
    w.resetReceive();
    int n = recvmmsg(w.fd, w.rxMsg, BATCH, MSG_WAITFORONE, nullptr);
    if (n < 0) {
      int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) {
        w.collectTxStamps(*interleave);   // an idle socket still empties its error queue
        continue;
      }
      // Transient conditions under memory pressure, or an ICMP error queued on the socket.
      if (error == ENOMEM || error == ENOBUFS || error == ECONNREFUSED) continue;
      KJ_FAIL_SYSCALL("recvmmsg", error, w.fd);
    }
    // A user-space stamp for datagrams without a kernel one: read after they arrived, so late
    // rather than early.
    int64_t userNs = realtimeNs();
    Snapshot snapshot = state.load();
    int64_t nowMonoNs = monotonicNs();
    ServerHeader header = makeHeader(snapshot, nowMonoNs, options.maxHoldoverNs);
    w.collectTxStamps(*interleave);   // before the batch: a client's next request finds them

    unsigned m = 0;
    for (int i = 0; i < n; ++i) {
      msghdr& h = w.rxMsg[i].msg_hdr;
      int64_t rxNs = userNs;
      bool kernelStamp = false;
      size_t txControlLen = w.parseControl(h, m, rxNs, kernelStamp);
      bump(c[kernelStamp ? NetdCounter::KERNEL_RX_STAMPS : NetdCounter::USER_RX_STAMPS]);
      bump(c[NetdCounter::RECEIVED]);

      uint64_t random = splitmix64(w.rng);
      // served(): the clock model clockd publishes, the identity unless `clock sim`.
      Request request{w.rx[i], w.rxMsg[i].msg_len, (h.msg_flags & MSG_TRUNC) != 0,
                      served(snapshot.model, rxNs),
                      reinterpret_cast<const sockaddr*>(&w.from[i]), static_cast<uint32_t>(random)};
      if (h.msg_namelen < sizeof(sa_family_t)) {
        bump(c[dropCounter(Drop::SOURCE)]);
        continue;
      }
      Address client = addressOf(request.source);
      request.fromOwnAddress = options.ownAddresses && !options.ownAddresses->allows(client);
      Drop drop = prepareReply(request, header, w.replies[m]);
      if (drop == Drop::NONE && options.access && !options.access->allows(client)) {
        drop = Drop::DENIED;
      }
      NtsRequest ntsRequest;
      NtsParse ntsParse = NtsParse::NOT_NTS;
      if (drop == Drop::NONE && w.crypto) {
        ntsParse = parseNts(request.bytes, request.length, ntsRequest);
        if (ntsParse == NtsParse::MALFORMED) drop = Drop::NTS;
      }
      if (drop != Drop::NONE) {
        bump(c[dropCounter(drop)]);
        continue;
      }
      bump(c[requestsOfVersion(request.bytes)]);
      auto* top = options.topClients ? options.topClients->record(client, nowMonoNs) : nullptr;
      // Rate limiting last: only requests we would answer spend a client's credit. The leak
      // draws on bits of `random` that the receive timestamp does not use.
      bool kod = false;
      if (options.rateLimiter) {
        Limit limit = options.rateLimiter->check(client, nowMonoNs, uint32_t(random >> 32));
        if (limit != Limit::ANSWER) {
          bump(c[NetdCounter::RATE_LIMITED]);
          if (top) TopClients::limited(*top, limit == Limit::KOD);
          if (limit == Limit::DROP) continue;
          makeKissOfDeath(w.replies[m]);
          bump(c[NetdCounter::KOD_SENT]);
          kod = true;
        }
      }
      w.nts[m].kind = Worker::NtsKind::NONE;
      if (ntsParse == NtsParse::NTS && !kod) {
        w.refreshKeys(*options.ntsKeys);
        Worker::NtsSlot& slot = w.nts[m];
        if (checkNts(*w.crypto, request.bytes, ntsRequest, slot.session) == NtsCheck::OK) {
          slot.kind = Worker::NtsKind::ANSWER;
          bump(c[NetdCounter::NTS_REQUESTS]);
        } else {
          slot.kind = Worker::NtsKind::NAK;
          makeKissOfDeath(w.replies[m], KISS_NTSN);
          bump(c[NetdCounter::NTS_NAKS]);
        }
        slot.request = ntsRequest;
        slot.requestLength = request.length;
      }
      w.plans[m] = {};
      if (!kod && w.nts[m].kind != Worker::NtsKind::NAK &&
          wantsInterleaved(request.bytes, request.length)) {
        txControlLen = w.planInterleaved(m, request, *interleave, txControlLen);
      }
      w.txIov[m] = {w.replies[m].bytes, PACKET_SIZE};
      msghdr& t = w.txMsg[m].msg_hdr;
      t = {};
      t.msg_name = &w.from[i];
      t.msg_namelen = h.msg_namelen;
      t.msg_iov = &w.txIov[m];
      t.msg_iovlen = 1;
      t.msg_control = txControlLen ? w.txControl[m] : nullptr;
      t.msg_controllen = txControlLen;
      ++m;
    }
    if (m == 0) continue;

    // The transmit time, as late as we can read it: right before the send.
    int64_t txNs = served(snapshot.model, realtimeNs());
    for (unsigned j = 0; j < m; ++j) {
      Worker::NtsSlot& ntsSlot = w.nts[j];
      if (ntsSlot.kind == Worker::NtsKind::NAK) {
        memcpy(w.ntsOut[j], w.replies[j].bytes, PACKET_SIZE);
        w.txIov[j] = {w.ntsOut[j], ntsNak(ntsSlot.request, w.ntsOut[j])};
      }
      if (isKissOfDeath(w.replies[j])) continue;   // no timestamps at all
      using Outcome = InterleaveTable::Outcome;
      const InterleaveTable::Plan& plan = w.plans[j];
      bool interleaved = plan.outcome == Outcome::INTERLEAVED;
      bool ntsAnswer = ntsSlot.kind == Worker::NtsKind::ANSWER;
      // An NTS reply is sealed right after its stamp: its own, fresh, transmit time.
      int64_t tx = ntsAnswer ? served(snapshot.model, realtimeNs()) : txNs;
      if (!interleaved) stampTransmit(w.replies[j], tx, static_cast<uint32_t>(splitmix64(w.rng)));
      flagTimestamps(w.replies[j], interleaved);
      if (plan.outcome != Outcome::FULL) {
        // Saved before the send: the kernel stamp may be read by another worker right after.
        const uint8_t* r = w.replies[j].bytes;
        interleave->save(
            plan, wire::timestamp(r, wire::RECEIVE),
            interleaved ? transmitStamp(txNs) : wire::timestamp(r, wire::TRANSMIT));
        w.shared->pendingTxStamps.fetch_add(1, std::memory_order_relaxed);
        if (interleaved) bump(c[NetdCounter::INTERLEAVED]);
      }
      if (ntsAnswer) {
        memcpy(w.ntsOut[j], w.replies[j].bytes, PACKET_SIZE);
        unsigned cookies = replyCookies(ntsSlot.request, ntsSlot.requestLength);
        const uint8_t* random = w.randomBytes(NTS_NONCE_SIZE + cookies * nts::COOKIE_NONCE_SIZE);
        size_t length = random != nullptr
            ? sealNtsReply(*w.crypto, ntsSlot.session, ntsSlot.request, ntsSlot.requestLength,
                           random, w.ntsOut[j])
            : 0;
        if (length == 0) {
          // OpenSSL failed: a NAK rather than an unauthenticated reply.
          makeKissOfDeath(w.replies[j], KISS_NTSN);
          memcpy(w.ntsOut[j], w.replies[j].bytes, PACKET_SIZE);
          length = ntsNak(ntsSlot.request, w.ntsOut[j]);
        } else {
          bump(c[NetdCounter::NTS_COOKIES_ISSUED], cookies);
        }
        w.txIov[j] = {w.ntsOut[j], length};
      }
      memset(&ntsSlot.session, 0, sizeof(ntsSlot.session));
    }
    unsigned sent = 0;
    while (sent < m) {
      int s = sendmmsg(w.fd, w.txMsg + sent, m - sent, 0);
      if (s < 0) {
        if (errno == EINTR) continue;
        bump(c[NetdCounter::SEND_ERRORS]);   // the first remaining one failed (unreachable, filtered...): skip it
        ++sent;
        continue;
      }
      bump(c[NetdCounter::ANSWERED], s);
      sent += s;
    }
  }
}

ResponderStats Responder::stats() const {
  ResponderStats s;
  for (auto& w: workers) {
    for (size_t i = 0; i < NETD_COUNTERS; ++i) {
      s.counts[i] += w->counters.counts[i].load(std::memory_order_relaxed);
    }
  }
  return s;
}

int64_t Responder::oldestHeartbeatNs() const {
  int64_t oldest = INT64_MAX;
  for (auto& w: workers) {
    oldest = std::min(oldest, w->counters.heartbeatNs.load(std::memory_order_relaxed));
  }
  return oldest;
}

}  // namespace horloge::netd
