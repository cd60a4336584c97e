#include "responder.h"
#include "ntp-time.h"
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <kj/debug.h>
#include <kj/vector.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

using namespace horloge;
using namespace horloge::netd;

namespace {

struct Fd {
  int fd;
  explicit Fd(int fd): fd(fd) { REQUIRE(fd >= 0); }
  ~Fd() { close(fd); }
};

// A bound UDP socket on the loopback, as horloge-launch would hand it; port chosen by the kernel.
int boundSocket(int family, sockaddr_storage& addr, socklen_t& len) {
  int fd = socket(family, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  addr = {};
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&addr);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(*sin);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = in6addr_loopback;
    len = sizeof(*sin6);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
    close(fd);
    return -1;
  }
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return fd;
}

// Sends `request` and returns the reply length (0 if none within timeoutMs).
ssize_t query(int family, const sockaddr_storage& server, socklen_t len,
              const uint8_t* request, size_t requestLength, uint8_t* reply, int timeoutMs) {
  Fd client(socket(family, SOCK_DGRAM, 0));
  REQUIRE(sendto(client.fd, request, requestLength, 0,
                 reinterpret_cast<const sockaddr*>(&server), len) == ssize_t(requestLength));
  pollfd p{client.fd, POLLIN, 0};
  if (poll(&p, 1, timeoutMs) <= 0) return 0;
  return recv(client.fd, reply, 512, 0);
}

// The worker counts a reply after sendmmsg returns, so a client can hold the reply before the
// count moves: wait (bounded) until the counters satisfy `done`, then return them.
template <typename Done>
ResponderStats statsWhen(const Responder& responder, Done done) {
  int64_t deadline = monotonicNs() + 5 * ntp::NS_PER_S;
  ResponderStats st = responder.stats();
  while (!done(st) && monotonicNs() < deadline) {
    usleep(1000);
    st = responder.stats();
  }
  return st;
}

void clientRequest(uint8_t* p, unsigned mode = 3) {
  memset(p, 0, 48);
  p[0] = (4 << 3) | mode;
  ntp::store64(p + 40, 0x1122334455667788ull);
}

}  // namespace

TEST_CASE("resolveWorkers") {
  CHECK(resolveWorkers(3) == 3);
  CHECK(resolveWorkers(0) >= 1);
  CHECK(resolveWorkers(0) <= 4);
}

TEST_CASE("responder answers over real UDP sockets with kernel RX timestamps") {
  sockaddr_storage addr4, addr6;
  socklen_t len4, len6;
  Fd s4(boundSocket(AF_INET, addr4, len4));
  int fd6 = boundSocket(AF_INET6, addr6, len6);   // may fail on a host without IPv6
  kj::Vector<int> fds;
  fds.add(s4.fd);
  if (fd6 >= 0) fds.add(fd6);

  StateCell cell;
  Responder responder(fds.asPtr(), cell, {2, 7200 * ntp::NS_PER_S});

  uint8_t request[48], reply[512];
  clientRequest(request);
  int64_t before = realtimeNs();
  REQUIRE(query(AF_INET, addr4, len4, request, 48, reply, 2000) == 48);
  int64_t after = realtimeNs();
  CHECK((reply[0] & 7) == 4);
  CHECK((reply[0] >> 6) == 3);        // no state pushed yet
  CHECK(reply[1] == 16);
  CHECK(memcmp(reply + 12, "INIT", 4) == 0);
  CHECK(ntp::load64(reply + 24) == 0x1122334455667788ull);
  int64_t rx = ntp::toUnixNs(ntp::load64(reply + 32), before);
  int64_t tx = ntp::toUnixNs(ntp::load64(reply + 40), before);
  int64_t step = int64_t(1) << 12;  // generous: precision bits plus rounding
  CHECK(rx >= before - step);
  CHECK(rx <= tx);
  CHECK(tx <= after + step);

  // A pushed state shows up in the next reply.
  Snapshot s;
  s.pushed = true;
  s.leap = 0;
  s.stratum = 1;
  s.precision = -20;
  s.refid = 0x50505300;
  s.referenceTime = ntp::fromUnixNs(realtimeNs() - ntp::NS_PER_S);
  s.pushedMonoNs = monotonicNs();
  cell.store(s);
  REQUIRE(query(AF_INET, addr4, len4, request, 48, reply, 2000) == 48);
  CHECK((reply[0] >> 6) == 0);
  CHECK(reply[1] == 1);
  CHECK(ntp::load32(reply + 12) == 0x50505300);

  if (fd6 >= 0) {
    REQUIRE(query(AF_INET6, addr6, len6, request, 48, reply, 2000) == 48);
    CHECK(reply[1] == 1);
  }

  // Dropped: no reply, counted by reason.
  uint8_t control[48];
  clientRequest(control, 6);
  CHECK(query(AF_INET, addr4, len4, control, 48, reply, 300) == 0);
  uint8_t mac[68] = {};
  clientRequest(mac);
  CHECK(query(AF_INET, addr4, len4, mac, sizeof(mac), reply, 300) == 0);

  unsigned expected = fd6 >= 0 ? 5 : 4;
  ResponderStats st = statsWhen(responder, [&](const ResponderStats& s) {
    return s[NetdCounter::RECEIVED] == expected && s[NetdCounter::ANSWERED] == expected - 2 && s.droppedTotal() == 2;
  });
  CHECK(st[NetdCounter::RECEIVED] == expected);
  CHECK(st[NetdCounter::ANSWERED] == expected - 2);
  CHECK(st[dropCounter(Drop::MODE)] == 1);
  CHECK(st[dropCounter(Drop::AUTH)] == 1);
  CHECK(st.droppedTotal() == 2);
  CHECK(st[NetdCounter::KERNEL_RX_STAMPS] == expected);
  CHECK(st[NetdCounter::USER_RX_STAMPS] == 0);
  CHECK(monotonicNs() - responder.oldestHeartbeatNs() < ntp::NS_PER_S);
  if (fd6 >= 0) close(fd6);
}

TEST_CASE("responder: packet info only on a wildcard socket, DF on IPv4 replies, rcvbuf") {
  auto intOption = [](int fd, int level, int name) {
    int v = -1;
    socklen_t l = sizeof(v);
    REQUIRE(getsockopt(fd, level, name, &v, &l) == 0);
    return v;
  };
  sockaddr_storage addr;
  socklen_t len;
  Fd bound(boundSocket(AF_INET, addr, len));   // 127.0.0.1
  Fd any(socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  REQUIRE(bind(any.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  socklen_t alen = sizeof(a);
  REQUIRE(getsockname(any.fd, reinterpret_cast<sockaddr*>(&a), &alen) == 0);

  int rcvbufBefore = intOption(bound.fd, SOL_SOCKET, SO_RCVBUF);
  int fds[2] = {bound.fd, any.fd};
  StateCell cell;
  Responder responder(kj::arrayPtr(fds, 2), cell, {1, 7200 * ntp::NS_PER_S});
  CHECK(intOption(bound.fd, SOL_SOCKET, SO_RCVBUF) >= rcvbufBefore);   // raised up to rmem_max
  CHECK(intOption(bound.fd, IPPROTO_IP, IP_PKTINFO) == 0);
  CHECK(intOption(any.fd, IPPROTO_IP, IP_PKTINFO) == 1);
  CHECK(intOption(bound.fd, IPPROTO_IP, IP_MTU_DISCOVER) == IP_PMTUDISC_PROBE);
  CHECK(intOption(any.fd, IPPROTO_IP, IP_MTU_DISCOVER) == IP_PMTUDISC_PROBE);

  uint8_t request[48], reply[512];
  clientRequest(request);
  REQUIRE(query(AF_INET, addr, len, request, 48, reply, 2000) == 48);

  // Sent to 127.0.0.2, which routing alone would answer from 127.0.0.1: the wildcard socket
  // answers from the address asked.
  Fd client(socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in to = a;
  to.sin_addr.s_addr = htonl(0x7f000002);
  REQUIRE(sendto(client.fd, request, 48, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 48);
  pollfd p{client.fd, POLLIN, 0};
  REQUIRE(poll(&p, 1, 2000) == 1);
  sockaddr_in from{};
  socklen_t flen = sizeof(from);
  REQUIRE(recvfrom(client.fd, reply, sizeof(reply), 0, reinterpret_cast<sockaddr*>(&from), &flen) == 48);
  CHECK(ntohl(from.sin_addr.s_addr) == 0x7f000002u);
  CHECK(from.sin_port == a.sin_port);
  ResponderStats answered =
      statsWhen(responder, [](const ResponderStats& s) { return s[NetdCounter::ANSWERED] == 2; });
  CHECK(answered[NetdCounter::ANSWERED] == 2);
}

TEST_CASE("responder refuses a descriptor that is not a UDP socket") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  StateCell cell;
  int fd = fds[0];
  CHECK_THROWS_AS(Responder(kj::arrayPtr(&fd, 1), cell, {1, 0}), kj::Exception);
  close(fds[0]);
  close(fds[1]);
}
