#include "upstream.h"
#include "error-text.h"
#include "log.h"
#include "ntp-time.h"
#include <kj/debug.h>
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <sys/random.h>
#include <unistd.h>

namespace horloge::netd {

namespace {

uint64_t random64() {
  uint64_t r = 0;
  KJ_SYSCALL(getrandom(&r, sizeof(r), 0));
  return r;
}

// Reads one datagram and its kernel RX stamp; false when there is none (EAGAIN).
bool readOne(int fd, uint8_t* buf, size_t size, size_t& length, int64_t& rxNs) {
  alignas(cmsghdr) uint8_t control[128];
  iovec iov{buf, size};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  h.msg_control = control;
  h.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(fd, &h, MSG_DONTWAIT);
  if (n < 0) {
    // ECONNREFUSED: an ICMP port unreachable for our connected socket: nothing to read.
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNREFUSED) return false;
    KJ_FAIL_SYSCALL("recvmsg", errno);
  }
  length = static_cast<size_t>(n);
  rxNs = realtimeNs();   // late rather than early, if the kernel gave no stamp
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      rxNs = ntp::toNs(ts);
    }
  }
  return true;
}

}  // namespace

Upstream::Upstream(kj::Timer& timer, kj::UnixEventPort& events,
                   const std::vector<ServerConf>& confs, const StateCell& served)
    : timer(timer), events(events), served(served), pushes(*this) {
  servers.reserve(confs.size());
  for (auto& c: confs) {
    Server s{c, Poller(c)};
    s.index = static_cast<uint8_t>(servers.size());
    auto* in4 = reinterpret_cast<sockaddr_in*>(&s.address);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.address);
    if (inet_pton(AF_INET, c.address.c_str(), &in4->sin_addr) == 1) {
      in4->sin_family = AF_INET;
      in4->sin_port = htons(c.port);
      s.addressLength = sizeof(sockaddr_in);
    } else {
      KJ_REQUIRE(inet_pton(AF_INET6, c.address.c_str(), &in6->sin6_addr) == 1, c.address);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(c.port);
      s.addressLength = sizeof(sockaddr_in6);
    }
    servers.push_back(kj::mv(s));
  }
}

kj::Promise<void> Upstream::run() {
  auto all = kj::heapArrayBuilder<kj::Promise<void>>(servers.size());
  for (auto& s: servers) all.add(loop(s));
  return kj::joinPromises(all.finish()).then([]() { return kj::Promise<void>(kj::NEVER_DONE); });
}

bool Upstream::synchronised() const {
  Snapshot now = served.load();
  return now.pushed && now.leap != 3 && now.stratum > 0 && now.stratum < 16;
}

kj::Promise<void> Upstream::loop(Server& s) {
  if (s.poller.stopped()) return kj::NEVER_DONE;
  return exchange(s).then([this, &s]() {
    s.poller.ownSync(synchronised());
    auto delay = static_cast<int64_t>(s.poller.nextDelay() * 1e9) * kj::NANOSECONDS;
    return timer.afterDelay(delay).then([this, &s]() { return loop(s); });
  });
}

kj::Promise<void> Upstream::exchange(Server& s) {
  int family = s.address.ss_family;
  int raw = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (raw < 0) {
    log::warn(kj::str("upstream ", s.conf.address, ": socket: ", strerror(errno)));
    s.poller.onTimeout();
    return kj::READY_NOW;
  }
  auto fd = kj::heap<kj::AutoCloseFd>(raw);
  int on = 1;
  setsockopt(raw, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
  // connect(): the kernel binds a random ephemeral port and filters the server's replies.
  uint8_t request[48];
  int64_t t1 = realtimeNs();
  s.poller.makeRequest(request, t1, random64());
  if (connect(raw, reinterpret_cast<sockaddr*>(&s.address), s.addressLength) < 0 ||
      send(raw, request, sizeof(request), 0) < 0) {
    s.poller.onTimeout();
    push(s, nullptr);
    return kj::READY_NOW;
  }
  // The observer must leave the epoll set before the descriptor closes: members go in reverse.
  struct Pending {
    Pending(kj::Own<kj::AutoCloseFd> f, kj::UnixEventPort& e, int raw)
        : fd(kj::mv(f)), observer(e, raw, kj::UnixEventPort::FdObserver::OBSERVE_READ) {}
    kj::Own<kj::AutoCloseFd> fd;
    kj::UnixEventPort::FdObserver observer;
  };
  auto pending = kj::heap<Pending>(kj::mv(fd), events, raw);
  auto& observer = pending->observer;
  // The reply must come before the next poll is due; at most 2 s.
  double wait = std::min(2.0, 0.75 * double(int64_t(1) << s.poller.poll()));
  auto timeout = timer.afterDelay(static_cast<int64_t>(wait * 1e9) * kj::NANOSECONDS)
                     .then([]() { return false; });
  return awaitReply(s, raw, observer)
      .exclusiveJoin(kj::mv(timeout))
      .then([this, &s](bool got) {
        if (!got) {
          s.poller.onTimeout();
          push(s, nullptr);
        }
      })
      .attach(kj::mv(pending));
}

kj::Promise<bool> Upstream::awaitReply(Server& s, int fd, kj::UnixEventPort::FdObserver& observer) {
  uint8_t buf[1024];
  size_t length = 0;
  int64_t t4 = 0;
  // Edge-triggered: read everything there is before waiting again.
  while (readOne(fd, buf, sizeof(buf), length, t4)) {
    Exchange e;
    s.poller.ownSync(synchronised());
    switch (s.poller.onReply(buf, length, t4, e)) {
      case Verdict::SAMPLE:
        push(s, &e);
        return true;
      case Verdict::KOD_RATE:
        log::warn(kj::str("upstream ", s.conf.address, ": RATE kiss, poll now 2^",
                          s.poller.poll(), " s"));
        push(s, nullptr);
        return true;
      case Verdict::KOD_STOP:
        log::warn(kj::str("upstream ", s.conf.address, ": DENY/RSTR kiss, stopped"));
        push(s, nullptr);
        return true;
      case Verdict::BOGUS:
      case Verdict::DUPLICATE:
        break;   // keep waiting for the real reply
    }
  }
  return observer.whenBecomesReadable().then(
      [this, &s, fd, &observer]() { return awaitReply(s, fd, observer); });
}

void Upstream::push(Server& s, const Exchange* e) {
  KJ_IF_MAYBE(f, feed) {
    auto req = f->pushUpstreamRequest();
    auto o = req.initSample();
    o.setServer(s.index);
    o.setAddress(s.conf.address.c_str());
    o.setNoselect(s.conf.noselect);
    o.setPrefer(s.conf.prefer);
    o.setPoll(static_cast<int8_t>(s.poller.poll()));
    o.setReach(s.poller.reach());
    o.setStopped(s.poller.stopped());
    if (e != nullptr) {
      o.setValid(true);
      o.setT1Ns(e->t1Ns);
      o.setT2Ns(e->t2Ns);
      o.setT3Ns(e->t3Ns);
      o.setT4Ns(e->t4Ns);
      o.setStratum(e->stratum);
      o.setLeap(e->leap);
      o.setRootDelay(e->rootDelay);
      o.setRootDispersion(e->rootDispersion);
      o.setRefid(e->refid);
    }
    pushes.add(req.send().ignoreResult());
  }
}

void Upstream::taskFailed(kj::Exception&& e) {
  // clockd went away or refused the sample: the next connection gets the next one.
  log::warn(kj::str("upstream push failed: ", errorText(e)));
}

}  // namespace horloge::netd
