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
#include <cmath>
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
    // gpsd's segment, whatever its size, else a new one.
    int shmid = shmget(SHM_KEY_BASE + conf.unit, 0, 0);
    if (shmid < 0) {
      KJ_SYSCALL(shmid = shmget(SHM_KEY_BASE + conf.unit, NATIVE_SHM_SIZE, IPC_CREAT | 0600),
                 "NTP SHM unit", conf.unit);
    }
    shmid_ds ds;
    KJ_SYSCALL(shmctl(shmid, IPC_STAT, &ds), "NTP SHM unit", conf.unit);
    KJ_REQUIRE(ds.shm_segsz >= sizeof(ShmTime32), "NTP SHM segment too small for ntpd's layout",
               conf.unit, ds.shm_segsz);
    wide = ds.shm_segsz >= sizeof(ShmTime64);
    void* p = shmat(shmid, nullptr, 0);
    if (p == reinterpret_cast<void*>(-1)) KJ_FAIL_SYSCALL("shmat", errno, conf.unit);
    shm = p;
  }
  ~ShmDriver() noexcept(false) { shmdt(shm); }

  kj::Promise<void> run(SampleSink& s) override {
    sink = &s;
    return poll();
  }

  void status(ipc::RefclockStatus::Builder out) override {
    out.setSourceId(id);
    out.setName(kj::str("shm:", conf.unit));
    out.setDriver("shm");
    out.setDeviceOpen(true);
    receiver.fillStatus(out, realtimeNs(), false, true,
                        torn > 0 && receiver.samples() == 0 ? "SHM: only torn reads" : "");
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
