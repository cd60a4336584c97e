// horloge-clknetsim-harness: clockd's discipline (clockd/discipline.c++) and its `system` clock
// backend (clockd/clock.c++, clock_adjtime) in one single-threaded process that reads an NTP
// SHM refclock segment (ntpd's driver 28 layout, as refclockd/shm.c++ reads it) and sleeps in
// poll(). No epoll, threads, fork or Unix stream sockets, so it runs under clknetsim's
// LD_PRELOAD, side by side with chronyd in one simulation (bench/discipline.md).
//
//   horloge-clknetsim-harness [--unit N] [--poll-ms N] [--makestep S] [--log]
//
// It adjusts CLOCK_REALTIME. It refuses to start unless clknetsim's CLKNETSIM_NODE is set
// (clknetsim.bash sets it for every client, and clknetsim.so intercepts clock_adjtime), or
// unless --i-know-this-adjusts-the-host-clock is given. CTest only builds it.
#include "clock.h"
#include "discipline.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <sys/ipc.h>
#include <sys/shm.h>

using namespace horloge;
using namespace horloge::clockd;

namespace {

// ntpd's `struct shmTime` (the writer's time_t), as refclockd/shm.c++.
struct ShmTime {
  int mode;
  volatile int count;
  time_t clockTimeStampSec;
  int clockTimeStampUSec;
  time_t receiveTimeStampSec;
  int receiveTimeStampUSec;
  int leap;
  int precision;
  int nsamples;
  volatile int valid;
  unsigned clockTimeStampNSec;
  unsigned receiveTimeStampNSec;
  int dummy[8];
};

constexpr key_t SHM_KEY_BASE = 0x4e545030;   // "NTP0"

double stamp(time_t sec, int usec, unsigned nsec) {
  // Nanoseconds when they agree with the microseconds, as ntpd and refclockd do.
  bool nsOk = nsec >= unsigned(usec) * 1000u && nsec < unsigned(usec) * 1000u + 1000u;
  return double(sec) + (nsOk ? nsec * 1e-9 : usec * 1e-6);
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

}  // namespace

int main(int argc, char** argv) {
  int unit = 0, pollMs = 100;
  bool iKnow = false, verbose = false;
  DisciplineParams dp;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--unit") && i + 1 < argc) unit = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--poll-ms") && i + 1 < argc) pollMs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--makestep") && i + 1 < argc) {
      dp.stepThreshold = atof(argv[++i]);
      dp.stepLimit = 3;
    } else if (!strcmp(argv[i], "--log")) verbose = true;
    else if (!strcmp(argv[i], "--i-know-this-adjusts-the-host-clock")) iKnow = true;
    else {
      fprintf(stderr, "usage: %s [--unit N] [--poll-ms N] [--makestep S] [--log]\n", argv[0]);
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
  int id = shmget(SHM_KEY_BASE + unit, sizeof(ShmTime), IPC_CREAT | 0600);
  if (id < 0) { perror("shmget"); return 1; }
  void* p = shmat(id, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) { perror("shmat"); return 1; }
  auto* shm = static_cast<ShmTime*>(p);

  kj::Own<Clock> clock = makeClock(ClockBackend::SYSTEM);
  Discipline d(dp);
  d.setAppliedCorrection(clock->initialCorrection());
  setvbuf(stdout, nullptr, _IOLBF, 0);
  uint64_t samples = 0;
  for (;;) {
    // The only wait: poll() with no descriptors, which clknetsim turns into simulated time. A
    // sample is used up to pollMs late, and its correction applied that late (chronyd, too,
    // reads SHM on its own schedule); update() is told when.
    poll(nullptr, 0, pollMs);
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
