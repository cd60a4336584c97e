// `refclock shm UNIT [offset S]`: the NTP shared-memory segment (ntpd's driver 28) that gpsd
// fills: unit 0 its serial time, unit 1 its PPS (gpsd's convention for the first device).
// The segment (key 0x4e545030 + unit) is attached before lockdown, created 0600 if gpsd has
// not made it yet so that either may start first; afterwards it is only read (and its `valid`
// flag cleared), which needs no system call at all.
#include "driver.h"
#include "shm-layout.h"
#include "ntp-time.h"
#include <kj/io.h>
#include "receiver.h"
#include "log.h"
#include <kj/debug.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <sys/ipc.h>
#include <sys/shm.h>

namespace horloge::refclock {

namespace {

constexpr int64_t S = ntp::NS_PER_S;

// A segment refclockd creates (gpsd not started yet) has the C library's own time_t layout:
// the one gpsd on the same system was built with.
#if defined(__TIMESIZE) && __TIMESIZE == 32
constexpr size_t NATIVE_SHM_SIZE = sizeof(ShmTime32);
#else
constexpr size_t NATIVE_SHM_SIZE = sizeof(ShmTime64);
#endif

int64_t stamp(int64_t sec, int32_t usec, uint32_t nsec) {
  return int64_t(sec) * S + shmSubsecondNs(usec, nsec);
}

class ShmDriver final: public Driver {
public:
  static constexpr auto POLL = 200 * kj::MILLISECONDS;

  ShmDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx)
      : conf(conf), id(id), timer(ctx.io.provider->getTimer()),
        receiver(static_cast<int64_t>(conf.offset * S), ctx.hint, ctx.buildNs, ctx.store,
                 [this](const Paired& p) { (*sink)(this->id, p, errorNs); }) {
    // gpsd's segment, whatever its size, else a new one. Attaching is possible only now, before
    // lockdown: a failure is a state, reported until refclockd is restarted.
    int shmid = shmget(SHM_KEY_BASE + conf.unit, 0, 0);
    if (shmid < 0 && errno == ENOENT) {
      shmid = shmget(SHM_KEY_BASE + conf.unit, NATIVE_SHM_SIZE, IPC_CREAT | 0600);
    }
    shmid_ds ds;
    if (shmid < 0 || shmctl(shmid, IPC_STAT, &ds) < 0) {
      fail(errno == EACCES || errno == EPERM
               ? kj::str("another user's, 0600 (gpsd as root makes units 0, 1 so: start refclockd first)")
               : kj::str(strerror(errno)));
      return;
    }
    if (ds.shm_segsz < sizeof(ShmTime32)) {
      fail(kj::str("it has ", ds.shm_segsz, " bytes, too few for ntpd's layout (another program's?)"));
      return;
    }
    wide = ds.shm_segsz >= sizeof(ShmTime64);
    void* p = shmat(shmid, nullptr, 0);
    if (p == reinterpret_cast<void*>(-1)) {
      fail(kj::str(strerror(errno)));
      return;
    }
    shm = p;
  }
  ~ShmDriver() noexcept(false) { if (shm != nullptr) shmdt(shm); }

  kj::Promise<void> run(SampleSink& s) override {
    sink = &s;
    if (shm == nullptr) return kj::NEVER_DONE;
    return poll();
  }

  void status(ipc::RefclockStatus::Builder out) override {
    out.setSourceId(id);
    out.setName(kj::str("shm:", conf.unit));
    out.setDriver("shm");
    noNmeaFigures(out);
    out.setDeviceOpen(shm != nullptr);
    receiver.fillStatus(out, realtimeNs(), false, true,
                        problem.size() > 0 ? problem.asPtr()
                        : torn > 0 && receiver.samples() == 0 ? "SHM: only torn reads"_kj : ""_kj);
  }

private:
  RefclockConf conf;
  uint8_t id;
  kj::Timer& timer;
  Receiver receiver;
  SampleSink* sink = nullptr;
  void* shm = nullptr;
  bool wide = true;        // ShmTime64, else ShmTime32
  int64_t errorNs = 1000;
  uint64_t torn = 0;
  kj::String problem = kj::str("");

  void fail(kj::String why) {
    problem = kj::str("NTP SHM unit ", conf.unit, " cannot be attached: ", why);
    log::error(kj::str("refclock shm: ", problem, "; restart refclockd once fixed"));
  }

  kj::Promise<void> poll() {
    readOnce();
    return timer.afterDelay(POLL).then([this]() { return poll(); });
  }

  void readOnce() {
    if (wide) readOnce(static_cast<ShmTime64*>(shm));
    else readOnce(static_cast<ShmTime32*>(shm));
  }

  template <typename ShmTime>
  void readOnce(ShmTime* shm) {
    if (!shm->valid) return;
    int before = shm->count;
    std::atomic_thread_fence(std::memory_order_acquire);
    ShmTime copy;
    copy.mode = shm->mode;
    copy.clockTimeStampSec = shm->clockTimeStampSec;
    copy.clockTimeStampUSec = shm->clockTimeStampUSec;
    copy.clockTimeStampNSec = shm->clockTimeStampNSec;
    copy.receiveTimeStampSec = shm->receiveTimeStampSec;
    copy.receiveTimeStampUSec = shm->receiveTimeStampUSec;
    copy.receiveTimeStampNSec = shm->receiveTimeStampNSec;
    copy.precision = shm->precision;
    std::atomic_thread_fence(std::memory_order_acquire);
    bool changed = copy.mode == 1 && shm->count != before;
    shm->valid = 0;          // consumed, torn or not: the writer sets it again
    if (changed) { ++torn; return; }
    int64_t ref = stamp(copy.clockTimeStampSec, copy.clockTimeStampUSec, copy.clockTimeStampNSec);
    int64_t sys = stamp(copy.receiveTimeStampSec, copy.receiveTimeStampUSec,
                        copy.receiveTimeStampNSec);
    int prec = std::clamp(copy.precision, -30, 0);
    errorNs = std::max<int64_t>(1, static_cast<int64_t>(std::ldexp(1.0, prec) * 1e9));
    // gpsd's serial time (unit 0) says precision -1; its PPS (unit 1) about -20.
    bool edge = errorNs < 1'000'000;
    receiver.onSample(Paired{sys, ref + static_cast<int64_t>(conf.offset * S), 0, false, !edge},
                      realtimeNs());
  }
};

}  // namespace

kj::Own<Driver> openShmDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx) {
  return kj::heap<ShmDriver>(conf, id, ctx);
}

}  // namespace horloge::refclock
