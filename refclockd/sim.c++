// `refclock sim`: a GPS receiver made from the host clock. It writes RMC, GGA and ZDA into a
// pty so that the real serial reading path runs, and makes PPS edges with Gaussian jitter:
// the test double for an antenna and /dev/pps, which this machine cannot have.
#include "driver.h"
#include "nmea-reader.h"
#include "serial.h"
#include "log.h"
#include <kj/debug.h>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <random>
#include <stdlib.h>
#include <unistd.h>

namespace horloge::refclock {

namespace {

constexpr int64_t S = ntp::NS_PER_S;

std::string sentencesFor(int64_t second) {
  time_t t = second;
  tm u;
  gmtime_r(&t, &u);
  char hms[16], dmy[16], buf[128];
  strftime(hms, sizeof(hms), "%H%M%S.00", &u);
  strftime(dmy, sizeof(dmy), "%d%m%y", &u);
  std::string out;
  snprintf(buf, sizeof(buf), "$GPRMC,%s,A,4851.0000,N,00221.0000,E,0.0,0.0,%s,,,A", hms, dmy);
  out += nmea::withChecksum(buf) + "\r\n";
  snprintf(buf, sizeof(buf), "$GPGGA,%s,4851.0000,N,00221.0000,E,1,09,0.9,35.0,M,47.0,M,,", hms);
  out += nmea::withChecksum(buf) + "\r\n";
  snprintf(buf, sizeof(buf), "$GPZDA,%s,%02d,%02d,%04d,00,00", hms, u.tm_mday, u.tm_mon + 1,
           u.tm_year + 1900);
  out += nmea::withChecksum(buf) + "\r\n";
  return out;
}

class SimDriver final: public Driver {
public:
  SimDriver(const RefclockConf& conf, uint8_t id, kj::AsyncIoContext& io)
      : conf(conf), id(id), timer(io.provider->getTimer()),
        pairing(static_cast<int64_t>(conf.offset * S)), rng(std::random_device{}()),
        edgeNoise(0.0, conf.jitter) {
    KJ_SYSCALL(master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    KJ_SYSCALL(grantpt(master));
    KJ_SYSCALL(unlockpt(master));
    KJ_SYSCALL(fcntl(master, F_SETFL, O_NONBLOCK));
    slavePath = ptsname(master);
    int slave = openSerial(slavePath, 9600);
    reader = kj::heap<NmeaReader>(
        io.lowLevelProvider->wrapInputFd(slave, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP),
        pairing);
  }
  ~SimDriver() { close(master); }

  kj::Promise<void> run(SampleSink& sink) override {
    auto reading = reader->run([this, &sink](const Paired& p) {
      ++samples;
      lastSampleNs = p.systemTimeNs;
      sink(id, p, errorNs());
    });
    return reading.exclusiveJoin(second());
  }

  void status(ipc::RefclockStatus::Builder out) override {
    auto& f = reader->figures();
    out.setSourceId(id);
    out.setName("sim");
    out.setDriver("sim");
    out.setLocked(lastSampleNs != 0 && realtimeNs() - lastSampleNs < 2 * S);
    out.setSamples(samples);
    out.setNmeaSentences(f.sentences);
    out.setNmeaBad(f.bad);
    out.setNmeaDelayNs(pairing.lastDelayNs());
    out.setFixQuality(f.fixQuality);
    out.setSatellitesUsed(f.satellitesUsed);
  }

private:
  RefclockConf conf;
  uint8_t id;
  kj::Timer& timer;
  Pairing pairing;
  std::mt19937_64 rng;
  std::normal_distribution<double> edgeNoise;
  int master = -1;
  std::string slavePath;
  kj::Own<NmeaReader> reader;
  uint64_t samples = 0;
  int64_t lastSampleNs = 0;

  int64_t errorNs() const { return std::max<int64_t>(1, static_cast<int64_t>(conf.jitter * S)); }

  kj::Promise<void> sleepUntil(int64_t realNs) {
    int64_t d = realNs - realtimeNs();
    return timer.afterDelay(std::max<int64_t>(0, d) * kj::NANOSECONDS);
  }

  // Each second: the PPS edge at the top of the second, then its sentences nmeaDelay later.
  kj::Promise<void> second() {
    int64_t next = (realtimeNs() / S + 1) * S;
    return sleepUntil(next).then([this, next]() {
      pairing.onEdge(next + static_cast<int64_t>(edgeNoise(rng) * S));
      return sleepUntil(next + static_cast<int64_t>(conf.nmeaDelay * S));
    }).then([this, next]() {
      std::string text = sentencesFor(next / S);
      // A full pty buffer means nobody reads; losing a second of NMEA is then harmless.
      if (write(master, text.data(), text.size()) < 0 && errno != EAGAIN)
        KJ_FAIL_SYSCALL("write(pty)", errno);
      return second();
    });
  }
};

}  // namespace

kj::Own<Driver> openSimDriver(const RefclockConf& conf, uint8_t sourceId, kj::AsyncIoContext& io) {
  return kj::heap<SimDriver>(conf, sourceId, io);
}

}  // namespace horloge::refclock
