// The real device code paths, on a real KJ event loop and real time: serial NMEA through a
// pty (and its reopening when the device goes away), the RFC 2783 ioctls through the
// LD_PRELOAD shim (pps-shim.c++), an NTP SHM segment written as gpsd does, and chrony SOCK
// datagrams. A few seconds each.
#include "driver.h"
#include "nmea.h"
#include "ntp-time.h"
#include "sim.h"
#include <doctest/doctest.h>
#include <capnp/message.h>
#include <kj/async-io.h>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

using namespace horloge;
using namespace horloge::refclock;
constexpr int64_t S = 1'000'000'000;

namespace {

struct Got { uint8_t id; Paired p; int64_t errorNs; };

std::string tempDir() {
  char tmpl[] = "/tmp/horloge-devices-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

struct Pty {
  int master = -1;
  std::string path;
  Pty() {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(master >= 0);
    REQUIRE(grantpt(master) == 0);
    REQUIRE(unlockpt(master) == 0);
    path = ptsname(master);
  }
  ~Pty() { if (master >= 0) close(master); }
  void write(const std::string& s) { REQUIRE(::write(master, s.data(), s.size()) == ssize_t(s.size())); }
};

// Runs `drivers` on the loop for `ns`, with `during` called every 100 ms.
void runFor(kj::AsyncIoContext& io, kj::ArrayPtr<kj::Own<Driver>> drivers, SampleSink& sink,
            int64_t ns, kj::Function<void()> during = [] {}) {
  auto promises = kj::heapArrayBuilder<kj::Promise<void>>(drivers.size());
  for (auto& d: drivers) promises.add(d->run(sink).eagerlyEvaluate(nullptr));
  auto all = kj::joinPromises(promises.finish());
  int64_t end = realtimeNs() + ns;
  while (realtimeNs() < end) {
    io.provider->getTimer().afterDelay(100 * kj::MILLISECONDS).wait(io.waitScope);
    during();
  }
}

RefclockConf conf(const char* driver, std::string device = "") {
  RefclockConf c;
  c.driver = driver;
  c.device = device;
  return c;
}

}  // namespace

TEST_CASE("devices: serial NMEA through a pty, reopened after the device goes away") {
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  std::string dir = tempDir();
  std::string link = dir + "/gps";
  auto pty = kj::heap<Pty>();
  REQUIRE(symlink(pty->path.c_str(), link.c_str()) == 0);
  auto c = conf("nmea", link);
  c.baud = 115200;
  c.offset = 0.1;
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(c, 0, ctx));
  std::vector<Got> got;
  SampleSink sink = [&](uint8_t id, const Paired& p, int64_t e) { got.push_back({id, p, e}); };
  int64_t lastSent = 0;
  auto feed = [&]() {
    // Like a receiver: each second's sentences early in that second, never mid-second.
    int64_t now = realtimeNs(), sec = now / S;
    if (pty && sec != lastSent && now % S < 300'000'000) {
      lastSent = sec;
      pty->write(simSentences(sec));
    }
  };
  runFor(io, drivers, sink, 3 * S, feed);
  {
    capnp::MallocMessageBuilder m;
    auto st = m.initRoot<ipc::RefclockStatus>();
    drivers[0]->status(st);
    { std::string msg = std::string("nmea status: ") + std::to_string(st.getSamples()) + " samples, anomaly " + st.getAnomaly().cStr() + ", fault " + st.getFault().cStr(); MESSAGE(msg); }
  }
  REQUIRE(got.size() >= 2);
  // NMEA alone: the sentence's second plus `offset`, stamped at its arrival.
  // Written early in its second, so it arrives within that second (the last one written may
  // still be unread when the run ends).
  CHECK(got.back().p.referenceTimeNs == got.back().p.systemTimeNs / S * S + 100'000'000);
  CHECK(got.back().p.systemTimeNs / S <= lastSent);
  capnp::MallocMessageBuilder m;
  auto st = m.initRoot<ipc::RefclockStatus>();
  drivers[0]->status(st);
  CHECK(st.getDeviceOpen());
  CHECK(st.getSatellitesInView() == 9);

  // Unplug: the pty goes, the link dangles; plug a new one in: it is found again.
  pty = nullptr;
  unlink(link.c_str());
  size_t before = got.size();
  runFor(io, drivers, sink, 2 * S);
  drivers[0]->status(st);
  CHECK_FALSE(st.getDeviceOpen());
  CHECK(st.getFault().size() > 0);
  CHECK(got.size() == before);
  pty = kj::heap<Pty>();
  REQUIRE(symlink(pty->path.c_str(), link.c_str()) == 0);
  runFor(io, drivers, sink, 6 * S, feed);
  drivers[0]->status(st);
  MESSAGE((std::string("after replug: open ") + (st.getDeviceOpen() ? "yes" : "no") +
          " reopens " + std::to_string(st.getReopens()) + " fault '" + st.getFault().cStr() +
          "' anomaly '" + st.getAnomaly().cStr() + "'"));
  CHECK(st.getDeviceOpen());
  CHECK(st.getReopens() >= 1);
  CHECK(got.size() > before);
  unlink(link.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("devices: PPS ioctls (shim) paired with serial NMEA; measured NMEA delay") {
  if (getenv("LD_PRELOAD") == nullptr) {
    MESSAGE("pps-shim.so not preloaded (run through ctest): skipped");
    return;
  }
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  std::string dir = tempDir();
  std::string pps = dir + "/pps0";
  close(open(pps.c_str(), O_CREAT | O_RDWR, 0600));
  Pty pty;
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(conf("nmea", pty.path), 0, ctx));
  drivers.add(openDriver(conf("pps", pps), 1, ctx));
  std::vector<Got> got;
  SampleSink sink = [&](uint8_t id, const Paired& p, int64_t e) { if (id == 1) got.push_back({id, p, e}); };
  int64_t lastSent = 0;
  // The receiver's sentences 150 ms after each second's edge.
  runFor(io, drivers, sink, 4 * S, [&]() {
    int64_t now = realtimeNs();
    int64_t sec = now / S;
    if (sec != lastSent && now % S >= 150'000'000) {
      lastSent = sec;
      pty.write(simSentences(sec));
    }
  });
  REQUIRE(got.size() >= 2);
  for (auto& g: got) {
    CHECK(g.p.systemTimeNs % S == 0);           // the shim's edges are on the second
    CHECK(g.p.referenceTimeNs == g.p.systemTimeNs);
    CHECK_FALSE(g.p.ppsOnly);
    CHECK(g.errorNs == 1000);
  }
  capnp::MallocMessageBuilder m;
  auto st = m.initRoot<ipc::RefclockStatus>();
  drivers[1]->status(st);
  MESSAGE("measured NMEA delay ", st.getNmeaDelayMeanNs() / 1e6, " ms");
  CHECK(st.getNmeaDelayMeanNs() > 150'000'000);
  CHECK(st.getNmeaDelayMeanNs() < 300'000'000);
  CHECK(st.getPpsEdges() >= 3);
  CHECK(st.getFault() == "");
  unlink(pps.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("devices: SHM segment written as gpsd does (unit 7), and SOCK datagrams") {
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  std::string dir = tempDir();
  std::string sockPath = dir + "/chrony.test.sock";
  auto shmConf = conf("shm");
  shmConf.unit = 7;
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(shmConf, 0, ctx));
  drivers.add(openDriver(conf("sock", sockPath), 1, ctx));

  // ntpd's layout, written with the mode-1 count protocol.
  struct ShmTime {
    int mode; volatile int count; time_t clockSec; int clockUSec; time_t recvSec; int recvUSec;
    int leap; int precision; int nsamples; volatile int valid; unsigned clockNSec, recvNSec;
    int dummy[8];
  };
  int id = shmget(0x4e545030 + 7, sizeof(ShmTime), 0);
  REQUIRE(id >= 0);
  auto* shm = static_cast<ShmTime*>(shmat(id, nullptr, 0));
  int out = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strcpy(addr.sun_path, sockPath.c_str());
  REQUIRE(connect(out, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);

  std::vector<Got> got;
  SampleSink sink = [&](uint8_t i, const Paired& p, int64_t e) { got.push_back({i, p, e}); };
  int64_t lastSent = 0;
  runFor(io, drivers, sink, 3 * S, [&]() {
    int64_t now = realtimeNs();
    if (now / S == lastSent) return;
    lastSent = now / S;
    // The system clock read 2.5 ms after the second began: offset -2.5 ms.
    int64_t sys = lastSent * S + 2'500'000;
    shm->mode = 1;
    shm->count = shm->count + 1;   // the writer's odd/even protocol (volatile)
    shm->clockSec = lastSent; shm->clockUSec = 0; shm->clockNSec = 0;
    shm->recvSec = sys / S; shm->recvUSec = (sys % S) / 1000; shm->recvNSec = sys % S;
    shm->precision = -20;
    shm->count = shm->count + 1;
    shm->valid = 1;
    struct { timeval tv; double offset; int pulse, leap, pad, magic; } d{};
    d.tv = {static_cast<time_t>(sys / S), static_cast<suseconds_t>((sys % S) / 1000)};
    d.offset = -0.0025;
    d.magic = 0x534f434b;
    REQUIRE(send(out, &d, sizeof(d), 0) == ssize_t(sizeof(d)));
    REQUIRE(send(out, "junk", 4, 0) == 4);
  });
  int shmSamples = 0, sockSamples = 0;
  for (auto& g: got) {
    CHECK(g.p.systemTimeNs - g.p.referenceTimeNs == 2'500'000);
    (g.id == 0 ? shmSamples : sockSamples)++;
    if (g.id == 0) CHECK(g.errorNs == 953);       // 2^-20 s
  }
  CHECK(shmSamples >= 2);
  CHECK(sockSamples >= 2);
  capnp::MallocMessageBuilder m;
  auto st = m.initRoot<ipc::RefclockStatus>();
  drivers[1]->status(st);
  CHECK(st.getNmeaBad() >= 2);                    // the junk datagrams
  shmdt(shm);
  shmctl(id, IPC_RMID, nullptr);
  close(out);
  drivers.clear();
  unlink(sockPath.c_str());
  rmdir(dir.c_str());
}
