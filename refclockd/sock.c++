// `refclock sock PATH [offset S]`: chrony's SOCK refclock protocol, as gpsd speaks it.
//
// What gpsd does (verified with Debian's gpsd 3.22 as root, tests/integration/gpsd_test.py):
// it sends one datagram per PPS edge of a /dev/ppsN device, never for NMEA time, to
// /run/chrony.DEV.sock (DEV the basename of the device). It looks for that socket once, when
// it activates the device, and connects to it then; it never looks again while it keeps the
// device (with -n: until it restarts). From gpsd's source, not exercised here: a serial
// port's PPS line is sent the same way, and an unprivileged gpsd uses /tmp/chrony.DEV.sock;
// a device on a pty (gpsfake) gets no SHM and no SOCK at all. So:
//   - the socket must exist before gpsd activates the device: refclockd first, or gpsd
//     restarted after it (gpsd started earlier sends nothing to us meanwhile);
//   - gpsd stays connected to the socket object, not the path: had refclockd bound its own
//     socket, a refclockd restart would leave gpsd sending into the old, dead one.
// Hence a socket handed over (LISTEN_FDS "refclock-sock": horloge-launch binds one for every
// `refclock sock` line; packaged, packaging/systemd/horloge-refclock-sock@.socket, which starts
// before gpsd) is adopted when it is bound to PATH: it outlives refclockd's restarts. Without
// one, the socket is bound here before lockdown, replacing a stale file, and left in place on
// exit (under the packaged unit's sandbox /run is read-only: the .socket unit is needed).
#include "driver.h"
#include "ntp-time.h"
#include <kj/io.h>
#include "receiver.h"
#include "log.h"
#include <kj/debug.h>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace horloge::refclock {

namespace {

constexpr int64_t S = ntp::NS_PER_S;

// Whether `fd` is a Unix datagram socket bound to `path`.
bool boundTo(int fd, kj::StringPtr path) {
  sockaddr_un addr{};
  socklen_t len = sizeof(addr);
  int type = 0;
  socklen_t typeLen = sizeof(type);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0 ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &typeLen) < 0)
    return false;
  if (addr.sun_family != AF_UNIX || type != SOCK_DGRAM || len <= offsetof(sockaddr_un, sun_path))
    return false;
  size_t n = strnlen(addr.sun_path, len - offsetof(sockaddr_un, sun_path));
  return path.asArray() == kj::ArrayPtr<const char>(addr.sun_path, n);
}

constexpr int SOCK_MAGIC = 0x534f434b;   // "SOCK"
// gpsd sends its PPS stamps to /run/chrony.ppsN.sock (user-space PPS when the kernel has none:
// design.md), and its serial (NMEA) time to /run/chrony.DEVICE.sock: the path tells which.
constexpr int64_t SOCK_PPS_ERROR_NS = 20'000;
bool carriesPps(kj::StringPtr path) {
  KJ_IF_MAYBE(slash, path.findLast('/')) path = path.slice(*slash + 1);
  return strstr(path.cStr(), "pps") != nullptr;
}

// chrony's `struct sock_sample`, laid out with its writer's time_t (struct timeval): 64-bit
// on amd64 and arm64 (40 bytes); 32-bit from a gpsd built for a 32-bit system such as Debian 12
// armhf (32 bytes), while refclockd itself always has a 64-bit time_t. The datagram's size
// tells which.
template <typename Seconds>
struct SockSampleOf {
  Seconds sec, usec;   // struct timeval: system time of the measurement
  double offset;       // true time minus system time, seconds
  int32_t pulse;       // non-zero: only the fraction of the second is known
  int32_t leap;
  int32_t pad;
  int32_t magic;
};
using SockSample64 = SockSampleOf<int64_t>;
using SockSample32 = SockSampleOf<int32_t>;
static_assert(sizeof(SockSample64) == 40 && sizeof(SockSample32) == 32, "chrony's layouts");

struct SockSample {
  int64_t sec = 0, usec = 0;
  double offset = 0;
  int32_t pulse = 0, magic = 0;
};

// The sample in a datagram of either layout; false for any other size.
bool decode(const uint8_t* bytes, size_t n, SockSample& out) {
  auto take = [&](auto wire) {
    memcpy(&wire, bytes, sizeof(wire));
    out = {wire.sec, wire.usec, wire.offset, wire.pulse, wire.magic};
  };
  if (n == sizeof(SockSample64)) take(SockSample64{});
  else if (n == sizeof(SockSample32)) take(SockSample32{});
  else return false;
  return true;
}

class SockDriver final: public Driver {
public:
  SockDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx)
      : conf(conf), id(id), ctx(ctx),
        receiver(static_cast<int64_t>(conf.offset * S), ctx.hint, ctx.buildNs, ctx.store,
                 [this](const Paired& p) {
                   (*sink)(this->id, p, p.nmeaOnly ? serialTime.errorNs : SOCK_PPS_ERROR_NS);
                 }),
        serialTime(nmeaTiming(static_cast<int64_t>(conf.offset * S), 0, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (conf.device.size() >= sizeof(addr.sun_path)) {
      fail(kj::str("the path is longer than a Unix socket's ", sizeof(addr.sun_path) - 1, " bytes"));
      return;
    }
    strcpy(addr.sun_path, conf.device.c_str());
    for (int& handed: ctx.handedSockets) {
      if (handed >= 0 && boundTo(handed, conf.device)) {
        int flags;
        KJ_SYSCALL(flags = fcntl(handed, F_GETFL));
        KJ_SYSCALL(fcntl(handed, F_SETFL, flags | O_NONBLOCK));
        KJ_SYSCALL(fcntl(handed, F_SETFD, FD_CLOEXEC));
        in = ctx.io.lowLevelProvider->wrapInputFd(kj::AutoCloseFd(handed));
        handed = -1;
        log::info(kj::str("SOCK ", conf.device, ": using the handed socket"));
        return;
      }
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      fail(kj::str(strerror(errno)));
      return;
    }
    kj::AutoCloseFd owned(fd);
    unlink(conf.device.c_str());   // a stale socket from our previous run
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
      // Under the packaged unit's sandbox /run is read-only: the socket unit must make it.
      auto name = conf.device.substr(conf.device.rfind('/') + 1);
      bool chrony = name.rfind("chrony.", 0) == 0 && name.size() > 12;
      fail(kj::str(strerror(errno),
                   chrony ? kj::str(": enable horloge-refclock-sock@",
                                    name.substr(7, name.size() - 12).c_str(), ".socket")
                          : kj::str(": no socket was handed over for it")));
      return;
    }
    // gpsd may have dropped to an unprivileged user when it activates the device. Injected
    // datagrams still pass the integrity gate and clockd's filter.
    if (chmod(conf.device.c_str(), 0666) < 0) {
      log::warn(kj::str("refclock sock ", conf.device.c_str(), ": cannot make it writable by "
                        "gpsd's user (", strerror(errno), ")"));
    }
    in = ctx.io.lowLevelProvider->wrapInputFd(kj::mv(owned));
  }

  kj::Promise<void> run(SampleSink& s) override {
    sink = &s;
    if (in.get() == nullptr) return kj::NEVER_DONE;
    return readLoop();
  }

  void status(ipc::RefclockStatus::Builder out) override {
    out.setSourceId(id);
    out.setName(kj::str("sock:", conf.device));
    out.setDriver("sock");
    noNmeaFigures(out);
    out.setDeviceOpen(in.get() != nullptr);
    receiver.fillStatus(out, realtimeNs(), false, true,
                        problem.size() > 0 ? problem.asPtr()
                        : bad > 0 && receiver.samples() == 0 ? "SOCK: malformed datagrams"_kj : ""_kj);
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
  uint8_t buf[sizeof(SockSample64) + 1];   // one byte more: a longer datagram is refused
  uint64_t bad = 0, pulses = 0;
  NmeaTiming serialTime;   // for a serial-time socket: its error bound
  kj::String problem = kj::str("");

  void fail(kj::String why) {
    problem = kj::str("SOCK socket ", conf.device.c_str(), " cannot be bound: ", why);
    log::error(kj::str("refclock sock: ", problem, "; restart refclockd once fixed "
                       "(packaging/README.md)"));
  }

  kj::Promise<void> readLoop() {
    return in->tryRead(buf, 1, sizeof(buf)).then([this](size_t n) {
      onDatagram(n);
      return readLoop();
    });
  }

  void onDatagram(size_t n) {
    SockSample d;
    if (!decode(buf, n, d) || d.magic != SOCK_MAGIC || !std::isfinite(d.offset) ||
        std::fabs(d.offset) > 1e9 || d.usec < 0 || d.usec >= 1'000'000 || d.sec < 0 ||
        d.sec > INT64_MAX / S - 2) {   // nanoseconds in an int64 (2262)
      ++bad;
      return;
    }
    int64_t sys = d.sec * S + d.usec * 1000;
    int64_t ref = sys + static_cast<int64_t>(std::llround(d.offset * 1e9));
    if (d.pulse) {
      // Only the phase is known: number it from clockd's clock, as PPS alone.
      int64_t now = realtimeNs();
      if (!ctx.hint.usable(now)) { ++pulses; return; }
      int64_t t = sys - ctx.hint.offsetNs;   // the true time of the pulse, roughly
      int64_t frac = ((t % S) + S) % S;
      if (frac > S / 2) frac -= S;
      if (std::llabs(frac) >= 400'000'000) { ++pulses; return; }
      ref = t - frac;
    }
    bool edge = d.pulse || carriesPps(conf.device);
    receiver.onSample(Paired{sys, ref + static_cast<int64_t>(conf.offset * S), 0, false, !edge},
                      realtimeNs());
  }
};

}  // namespace

kj::Own<Driver> openSockDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx) {
  return kj::heap<SockDriver>(conf, id, ctx);
}

}  // namespace horloge::refclock
