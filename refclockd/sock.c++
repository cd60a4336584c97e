// `refclock sock PATH [offset S]`: chrony's SOCK refclock protocol, as gpsd speaks it. We own
// the datagram socket at PATH (gpsd looks for /run/chrony.DEVICE.sock when it activates a
// device and sends one sample per second). It is bound before lockdown, replacing a stale
// file, and left in place when refclockd stops so that a gpsd started later still finds it;
// a gpsd started earlier picks it up when it next activates the device.
#include "driver.h"
#include "ntp-time.h"
#include <kj/io.h>
#include "receiver.h"
#include "log.h"
#include <kj/debug.h>
#include <cmath>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace horloge::refclock {

namespace {

constexpr int64_t S = ntp::NS_PER_S;
constexpr int SOCK_MAGIC = 0x534f434b;   // "SOCK"
// gpsd sends its PPS stamps here (user-space PPS when the kernel has none: design.md).
constexpr int64_t SOCK_ERROR_NS = 20'000;

// chrony's `struct sock_sample`.
struct SockSample {
  timeval tv;        // system time of the measurement
  double offset;     // true time minus system time, seconds
  int pulse;         // non-zero: only the fraction of the second is known
  int leap;
  int pad;
  int magic;
};

class SockDriver final: public Driver {
public:
  SockDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx)
      : conf(conf), id(id), ctx(ctx),
        receiver(static_cast<int64_t>(conf.offset * S), ctx.hint, ctx.buildNs, ctx.store,
                 [this](const Paired& p) { (*sink)(this->id, p, SOCK_ERROR_NS); }) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    KJ_REQUIRE(conf.device.size() < sizeof(addr.sun_path), "socket path too long",
               conf.device.c_str());
    strcpy(addr.sun_path, conf.device.c_str());
    int fd;
    KJ_SYSCALL(fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    kj::AutoCloseFd owned(fd);
    unlink(conf.device.c_str());   // a stale socket from our previous run
    KJ_SYSCALL(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), conf.device);
    // gpsd may have dropped to an unprivileged user when it activates the device. Injected
    // datagrams still pass the integrity gate and clockd's filter.
    KJ_SYSCALL(chmod(conf.device.c_str(), 0666), conf.device);
    in = ctx.io.lowLevelProvider->wrapInputFd(kj::mv(owned));
  }

  kj::Promise<void> run(SampleSink& s) override {
    sink = &s;
    return readLoop();
  }

  void status(ipc::RefclockStatus::Builder out) override {
    out.setSourceId(id);
    out.setName(kj::str("sock:", conf.device.c_str()));
    out.setDriver("sock");
    out.setDeviceOpen(true);
    receiver.fillStatus(out, realtimeNs(), false, true,
                        bad > 0 && receiver.samples() == 0 ? "SOCK: malformed datagrams" : "");
    out.setNmeaBad(bad);
    out.setRefusedPairings(pulses);
  }

private:
  RefclockConf conf;
  uint8_t id;
  DriverContext& ctx;
  Receiver receiver;
  SampleSink* sink = nullptr;
  kj::Own<kj::AsyncInputStream> in;
  SockSample buf;
  uint64_t bad = 0, pulses = 0;

  kj::Promise<void> readLoop() {
    return in->tryRead(&buf, 1, sizeof(buf)).then([this](size_t n) {
      onDatagram(n);
      return readLoop();
    });
  }

  void onDatagram(size_t n) {
    if (n != sizeof(buf) || buf.magic != SOCK_MAGIC || !std::isfinite(buf.offset) ||
        std::fabs(buf.offset) > 1e9 || buf.tv.tv_usec < 0 || buf.tv.tv_usec >= 1'000'000) {
      ++bad;
      return;
    }
    int64_t sys = int64_t(buf.tv.tv_sec) * S + int64_t(buf.tv.tv_usec) * 1000;
    int64_t ref = sys + static_cast<int64_t>(std::llround(buf.offset * 1e9));
    if (buf.pulse) {
      // Only the phase is known: number it from clockd's clock, as PPS alone.
      int64_t now = realtimeNs();
      if (!ctx.hint.usable(now)) { ++pulses; return; }
      int64_t t = sys - ctx.hint.offsetNs;   // the true time of the pulse, roughly
      int64_t frac = ((t % S) + S) % S;
      if (frac > S / 2) frac -= S;
      if (std::llabs(frac) >= 400'000'000) { ++pulses; return; }
      ref = t - frac;
    }
    receiver.onSample(Paired{sys, ref + static_cast<int64_t>(conf.offset * S), 0}, realtimeNs());
  }
};

}  // namespace

kj::Own<Driver> openSockDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx) {
  return kj::heap<SockDriver>(conf, id, ctx);
}

}  // namespace horloge::refclock
