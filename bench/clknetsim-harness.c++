// horloge-clknetsim-harness: clockd's discipline (clockd/discipline.c++) and its `system` clock
// backend (clockd/clock.c++, clock_adjtime) in one single-threaded process that sleeps in
// poll(). No epoll, threads, fork or Unix stream sockets, so it runs under clknetsim's
// LD_PRELOAD, side by side with chronyd in one simulation. Two modes:
//
//   horloge-clknetsim-harness [--unit N] [--poll-ms N] [--makestep S] [--log]
//     a Stratum-1: reads an NTP SHM refclock segment (ntpd's driver 28 layout, as
//     refclockd/shm.c++ reads it) every --poll-ms (bench/discipline.md);
//   horloge-clknetsim-harness --server ADDR [--server ADDR...] [--minpoll N] [--maxpoll N]
//                             [--iburst] [--makestep S] [--wander W] [--log]
//     a relay: polls the servers with netd's poller (netd/poller.c++: requests, origin check,
//     poll adaptation, iburst), one connected UDP socket per request as netd/upstream.c++
//     does; takes the replies through clockd's upstream filter, selection and the relay's
//     rules (clockd/upstreams.c++, sources.c++, relay.c++) into the same discipline, and
//     ends each slew by timer as clockd/hub.c++ does (bench/relay.md).
// --wander fixes the filter's W (tests and benchmarks only: an oracle); --log prints each sample.
//
// It adjusts CLOCK_REALTIME. It refuses to start unless clknetsim's CLKNETSIM_NODE is set
// (clknetsim.bash sets it for every client, and clknetsim.so intercepts clock_adjtime), or
// unless --i-know-this-adjusts-the-host-clock is given. CTest only builds it.
#include "clock.h"
#include "discipline.h"
#include "ntp-time.h"
#include "poller.h"
#include "relay.h"
#include "shm-layout.h"
#include "sources.h"
#include <arpa/inet.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace horloge;
using namespace horloge::clockd;

namespace {

// The segment as gpsd writes it on this system (the native time_t).
using ShmTime = refclock::ShmTimeOf<time_t>;
using refclock::SHM_KEY_BASE;

double stamp(time_t sec, int usec, unsigned nsec) {
  return double(sec) + refclock::shmSubsecondNs(usec, nsec) * 1e-9;
}

// One consistent sample (mode 1: `count` unchanged around the copy), or false.
bool readSample(ShmTime* shm, double& reference, double& receive) {
  if (!shm->valid) return false;
  int before = shm->count;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  ShmTime copy;
  memcpy(&copy, const_cast<ShmTime*>(shm), sizeof copy);
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  bool same = shm->count == before;
  shm->valid = 0;
  if (!same && copy.mode == 1) return false;
  reference = stamp(copy.clockTimeStampSec, copy.clockTimeStampUSec, copy.clockTimeStampNSec);
  receive = stamp(copy.receiveTimeStampSec, copy.receiveTimeStampUSec,
                  copy.receiveTimeStampNSec);
  return true;
}

double nowSeconds() { return realtimeNs() * 1e-9; }

// The relay: netd's poller and clockd's upstream rules (clockd/relay.h) around one discipline,
// as clockd/hub.c++ netdUpstream() and follow() run them.
class RelayHarness {
public:
  RelayHarness(const std::vector<ServerConf>& confs, DisciplineParams dp, bool verbose)
      : discipline(dp), verbose(verbose) {
    for (auto& c: confs) servers.push_back({c, netd::Poller(c)});
    clock = makeClock(ClockBackend::SYSTEM);
    discipline.setAppliedCorrection(clock->initialCorrection(), clock->reading(realtimeNs()));
  }

  [[noreturn]] void run() {
    double start = nowSeconds();
    for (size_t k = 0; k < servers.size(); ++k) servers[k].sendAt = start + 0.01 * double(k);
    for (;;) {
      double now = nowSeconds();
      double wake = discipline.slewEnd();
      if (std::isnan(wake)) wake = INFINITY;
      std::vector<pollfd> fds;
      std::vector<size_t> owner;
      for (size_t k = 0; k < servers.size(); ++k) {
        Server& s = servers[k];
        if (s.fd >= 0) {
          fds.push_back({s.fd, POLLIN, 0});
          owner.push_back(k);
          wake = std::min(wake, s.deadline);
        } else if (!s.poller.stopped()) {
          wake = std::min(wake, s.sendAt);
        }
      }
      // Rounded up: a timer never fires early (clknetsim's poll() counts milliseconds).
      int ms = static_cast<int>(std::ceil(std::max(0.0, wake - now) * 1e3));
      int r = poll(fds.data(), fds.size(), std::isinf(wake) ? -1 : ms);
      if (r < 0) { perror("poll"); exit(1); }
      now = nowSeconds();
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents & POLLIN) receive(owner[i], now);
      }
      for (size_t k = 0; k < servers.size(); ++k) {
        Server& s = servers[k];
        if (s.fd >= 0 && now >= s.deadline) {
          s.poller.onTimeout();
          finish(k, now);
        }
      }
      if (discipline.slewEnd() <= now) endSlew(now);
      for (size_t k = 0; k < servers.size(); ++k) {
        if (servers[k].fd < 0 && !servers[k].poller.stopped() && now >= servers[k].sendAt) send(k);
      }
    }
  }

private:
  struct Server {
    ServerConf conf;
    netd::Poller poller;
    int fd = -1;
    double sendAt = 0, deadline = 0;
  };
  Discipline discipline;
  kj::Own<Clock> clock;
  bool verbose;
  std::vector<Server> servers;
  Sources sources;   // the servers are its upstreams, in order
  std::mt19937_64 random{12345};

  void send(size_t k) {
    Server& s = servers[k];
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(s.conf.port);
    inet_pton(AF_INET, s.conf.address.c_str(), &a.sin_addr);
    s.fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (s.fd < 0) { perror("socket"); exit(1); }
    uint8_t request[48];
    int64_t t1 = realtimeNs();
    s.poller.makeRequest(request, t1, random());
    if (connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 ||
        ::send(s.fd, request, sizeof request, 0) < 0) {
      perror("send");
      s.poller.onTimeout();
      finish(k, t1 * 1e-9);
      return;
    }
    s.deadline = t1 * 1e-9 + std::min(2.0, 0.75 * std::ldexp(1.0, s.poller.poll()));
  }

  void finish(size_t k, double now) {
    Server& s = servers[k];
    close(s.fd);
    s.fd = -1;
    s.sendAt = now + s.poller.nextDelay();
  }

  void receive(size_t k, double now) {
    Server& s = servers[k];
    uint8_t buf[1024];
    ssize_t n = recv(s.fd, buf, sizeof buf, 0);
    if (n < 0) return;
    // Time stands still between clknetsim's poll() and here: this is the arrival time.
    int64_t t4 = static_cast<int64_t>(std::llround(now * 1e9));
    netd::Exchange e;
    switch (s.poller.onReply(buf, static_cast<size_t>(n), t4, e)) {
      case netd::Verdict::SAMPLE: break;
      case netd::Verdict::BOGUS:
      case netd::Verdict::DUPLICATE: return;   // keep waiting
      default: finish(k, now); return;
    }
    finish(k, now);
    UpstreamReport r;
    r.address = kj::str(s.conf.address);
    r.poll = static_cast<int8_t>(s.poller.poll());
    r.reach = s.poller.reach();
    r.valid = true;
    r.t1Ns = e.t1Ns;
    r.t2Ns = e.t2Ns;
    r.t3Ns = e.t3Ns;
    r.t4Ns = e.t4Ns;
    r.stratum = e.stratum;
    r.leap = e.leap;
    r.refid = e.refid;
    r.rootDelay = ntp::secondsFromShort(e.rootDelay);
    r.rootDispersion = ntp::secondsFromShort(e.rootDispersion);
    // Under clknetsim the system clock is the steered one: its reading is the discipline's time.
    UpstreamSource& u = sources.upstream(static_cast<uint8_t>(k));
    takeReport(u, r, 0, discipline.phaseCorrection(t4 * 1e-9), {});
    SourceId chosen = sources.select(t4, discipline.phaseCorrection(t4 * 1e-9));
    Mark mark = sources.upstreamMark(static_cast<uint8_t>(k));
    if (chosen.none() || !steers(mark)) return;
    if (discipline.slewEnd() <= now) endSlew(now);
    const NtpSample& sample = u.filter.newest();
    double sigma = u.sigma(sample);
    bool accepted = true;
    Command c = discipline.updateKnownNoise(t4 * 1e-9, u.offsetOf(sample), sigma, &accepted, now);
    if (accepted) clock->apply(c);
    if (verbose) {
      Estimate est = discipline.estimate();
      printf("%.3f %s %c offset %+.9f delay %.6f sigma %.3e est %+.9f freq %+.3fppm "
             "jitter %.3e base %.3e asym %+.3f corr %+.3fppm slew %.1f wander %.1e%s\n", now,
             s.conf.address.c_str(), static_cast<char>(mark), sample.offset, sample.delay,
             sigma, est.offset, est.frequency * 1e6, u.stats.jitter, std::sqrt(u.model.base),
             u.model.asymmetry, c.correction * 1e6, c.slewFor, est.wander,
             accepted ? "" : " rejected");
    }
  }

  void endSlew(double now) {
    KJ_IF_MAYBE(c, discipline.endSlew(now)) clock->apply(*c);
  }
};

}  // namespace

int main(int argc, char** argv) {
  int unit = 0, pollMs = 100;
  bool iKnow = false, verbose = false;
  DisciplineParams dp;
  std::vector<ServerConf> servers;
  int minpoll = 6, maxpoll = 10;
  bool iburst = false;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--unit") && i + 1 < argc) unit = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--server") && i + 1 < argc) {
      ServerConf c;
      c.address = argv[++i];
      servers.push_back(c);
    } else if (!strcmp(argv[i], "--minpoll") && i + 1 < argc) minpoll = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--maxpoll") && i + 1 < argc) maxpoll = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--iburst")) iburst = true;
    else if (!strcmp(argv[i], "--wander") && i + 1 < argc) dp.fixedWander = atof(argv[++i]);
    else if (!strcmp(argv[i], "--poll-ms") && i + 1 < argc) pollMs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--makestep") && i + 1 < argc) {
      dp.stepThreshold = atof(argv[++i]);
      dp.stepLimit = 3;
    } else if (!strcmp(argv[i], "--log")) verbose = true;
    else if (!strcmp(argv[i], "--i-know-this-adjusts-the-host-clock")) iKnow = true;
    else {
      fprintf(stderr, "usage: %s [--unit N] [--poll-ms N] [--makestep S] [--log]\n"
                      "       %s --server ADDR [--server ADDR...] [--minpoll N] [--maxpoll N] "
                      "[--iburst] [--makestep S] [--wander W] [--log]\n", argv[0], argv[0]);
      return 2;
    }
  }
  if (getenv("CLKNETSIM_NODE") == nullptr && !iKnow) {
    fprintf(stderr,
            "%s: refusing to run: CLKNETSIM_NODE is not set, so this is not under clknetsim and\n"
            "clock_adjtime would adjust the real host clock (see bench/discipline.md).\n",
            argv[0]);
    return 77;
  }
  if (unit < 0 || unit > 3 || pollMs < 1 || pollMs > 1000) {
    fprintf(stderr, "--unit: 0..3, --poll-ms: 1..1000\n");
    return 2;
  }
  if (!servers.empty()) {
    in_addr unused;
    for (auto& c: servers) {
      if (inet_pton(AF_INET, c.address.c_str(), &unused) != 1) {
        fprintf(stderr, "--server %s: an IPv4 address, please\n", c.address.c_str());
        return 2;
      }
    }
    if (minpoll < 0 || maxpoll > 17 || minpoll > maxpoll || servers.size() > MAX_SERVERS) {
      fprintf(stderr, "--minpoll <= --maxpoll, 0..17; at most %zu servers\n", MAX_SERVERS);
      return 2;
    }
    for (auto& c: servers) {
      c.minpoll = minpoll;
      c.maxpoll = maxpoll;
      c.iburst = iburst;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    RelayHarness(servers, dp, verbose).run();
  }
  int id = shmget(SHM_KEY_BASE + unit, sizeof(ShmTime), IPC_CREAT | 0600);
  if (id < 0) { perror("shmget"); return 1; }
  void* p = shmat(id, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) { perror("shmat"); return 1; }
  auto* shm = static_cast<ShmTime*>(p);

  kj::Own<Clock> clock = makeClock(ClockBackend::SYSTEM);
  Discipline d(dp);
  d.setAppliedCorrection(clock->initialCorrection(), clock->reading(realtimeNs()));
  setvbuf(stdout, nullptr, _IOLBF, 0);
  uint64_t samples = 0;
  for (;;) {
    // The only wait: poll() with no descriptors, which clknetsim turns into simulated time. A
    // sample is used up to pollMs late, and its correction applied that late (chronyd, too,
    // reads SHM on its own schedule); update() is told when.
    poll(nullptr, 0, pollMs);
    // A slew outlasting the samples (a gap) ends on time, as in clockd.
    if (d.slewEnd() <= nowSeconds()) {
      KJ_IF_MAYBE(c, d.endSlew(nowSeconds())) clock->apply(*c);
    }
    double reference, receive;
    if (!readSample(shm, reference, receive)) continue;
    double offset = receive - reference;     // local minus reference, s
    // The command takes effect now, up to pollMs after the sample (in the daemon, up to the
    // 200 ms of refclockd's SHM poll): the discipline counts the old correction until then.
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    bool accepted = true;
    Command c = d.update(receive, offset, 1e-6, &accepted, now.tv_sec + now.tv_nsec * 1e-9);
    clock->apply(c);
    ++samples;
    if (verbose) {
      Estimate e = d.estimate();
      printf("%.3f offset %+.9f est %+.9f freq %+.3fppm jitter %.3e wander %.3e corr %+.3fppm%s\n",
             receive, offset, e.offset, e.frequency * 1e6, e.jitter, e.wander,
             c.correction * 1e6, accepted ? "" : " rejected");
    }
  }
}
