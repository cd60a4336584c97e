// The real device code paths, on a real KJ event loop and real time: serial NMEA through a
// pty (and its reopening when the device goes away), the RFC 2783 ioctls through the
// LD_PRELOAD shim (pps-shim.c++), an NTP SHM segment written as gpsd does, and chrony SOCK
// datagrams. A few seconds each.
#include "driver.h"
#include "nmea.h"
#include "ntp-time.h"
#include "sim.h"
#include "ubx-request.h"
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
constexpr int64_t S = horloge::ntp::NS_PER_S;

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
  void write(kj::StringPtr s) { REQUIRE(::write(master, s.begin(), s.size()) == ssize_t(s.size())); }
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

namespace {

// ntpd's SHM layout and chrony's SOCK sample as a writer lays them out with its time_t:
// Seconds is int64_t (amd64, arm64) or int32_t (gpsd on a 32-bit system: Debian 12 armhf).
template <typename Seconds>
struct ShmTimeOf {
  int32_t mode; volatile int32_t count; Seconds clockSec; int32_t clockUSec; Seconds recvSec;
  int32_t recvUSec; int32_t leap, precision, nsamples; volatile int32_t valid;
  uint32_t clockNSec, recvNSec; int32_t dummy[8];
};
template <typename Seconds>
struct SockSampleOf { Seconds sec, usec; double offset; int32_t pulse, leap, pad, magic; };

// One second as gpsd writes it, with the mode-1 count protocol (volatile).
template <typename Seconds>
void writeShm(void* segment, int64_t ref, int64_t sys) {
  auto* shm = static_cast<ShmTimeOf<Seconds>*>(segment);
  shm->mode = 1;
  shm->count = shm->count + 1;
  shm->clockSec = Seconds(ref / S); shm->clockUSec = 0; shm->clockNSec = 0;
  shm->recvSec = Seconds(sys / S); shm->recvUSec = int32_t((sys % S) / 1000);
  shm->recvNSec = uint32_t(sys % S);
  shm->precision = -20;
  shm->count = shm->count + 1;
  shm->valid = 1;
}

template <typename Seconds>
void sendSock(int fd, int64_t sys, double offset) {
  SockSampleOf<Seconds> d{};
  d.sec = Seconds(sys / S);
  d.usec = Seconds((sys % S) / 1000);
  d.offset = offset;
  d.magic = 0x534f434b;
  REQUIRE(send(fd, &d, sizeof(d), 0) == ssize_t(sizeof(d)));
}

// SHM unit `unit` and a SOCK socket, written for 3 s by a writer with a 32- or 64-bit time_t.
// With `writerFirst`, the writer makes the SHM segment before refclockd opens it, as gpsd
// started first does; else refclockd makes it, in its C library's own layout.
void shmAndSock(int unit, bool narrow, bool writerFirst) {
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  std::string dir = tempDir();
  std::string sockPath = dir + "/chrony.test.sock";
  key_t key = 0x4e545030 + unit;
  int stale = shmget(key, 0, 0);   // left by an interrupted run
  if (stale >= 0) shmctl(stale, IPC_RMID, nullptr);
  if (writerFirst) {
    size_t size = narrow ? sizeof(ShmTimeOf<int32_t>) : sizeof(ShmTimeOf<int64_t>);
    REQUIRE(shmget(key, size, IPC_CREAT | IPC_EXCL | 0600) >= 0);
  }
  auto shmConf = conf("shm");
  shmConf.unit = unit;
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(shmConf, 0, ctx));
  drivers.add(openDriver(conf("sock", sockPath), 1, ctx));

  int id = shmget(key, 0, 0);
  REQUIRE(id >= 0);
  shmid_ds ds;
  REQUIRE(shmctl(id, IPC_STAT, &ds) == 0);
  // The segment refclockd made has the C library's layout: 32-bit time_t only where that is
  // the system's own (armhf), whatever refclockd's time_t.
  bool shmNarrow = ds.shm_segsz == sizeof(ShmTimeOf<int32_t>);
  if (writerFirst) CHECK(shmNarrow == narrow);
  else CHECK(ds.shm_segsz == (sizeof(long) == 4 ? 80u : 96u));
  void* shm = shmat(id, nullptr, 0);
  REQUIRE(shm != reinterpret_cast<void*>(-1));
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
    if (shmNarrow) writeShm<int32_t>(shm, lastSent * S, sys);
    else writeShm<int64_t>(shm, lastSent * S, sys);
    if (narrow) sendSock<int32_t>(out, sys, -0.0025);
    else sendSock<int64_t>(out, sys, -0.0025);
    REQUIRE(send(out, "junk", 4, 0) == 4);
    char longer[41] = {};   // neither layout: refused
    REQUIRE(send(out, longer, sizeof(longer), 0) == ssize_t(sizeof(longer)));
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
  CHECK(st.getNmeaBad() >= 4);                    // the junk and the 41-byte datagrams
  shmdt(shm);
  shmctl(id, IPC_RMID, nullptr);
  close(out);
  drivers.clear();
  unlink(sockPath.c_str());
  rmdir(dir.c_str());
}

}  // namespace

TEST_CASE("devices: SHM segment written as gpsd does (unit 7), and SOCK datagrams") {
  shmAndSock(7, false, false);
}

TEST_CASE("devices: gpsd with a 32-bit time_t (Debian 12 armhf) made its SHM segment first") {
  shmAndSock(6, true, true);
}

TEST_CASE("devices: gpsd with a 64-bit time_t made its SHM segment first") {
  shmAndSock(5, false, true);
}

// The simulator's u-blox model at the far end of `pty`: it answers what the driver writes
// (CFG frames: ACK/NAK, then TIMELS) and sends each second's NMEA early in the second.
kj::Function<void()> ubloxOnPty(Pty& pty, SimReceiver& receiver) {
  return [&pty, &receiver, lastSent = int64_t(0)]() mutable {
    char buf[256];
    ssize_t n;
    std::string answer;
    while ((n = read(pty.master, buf, sizeof(buf))) > 0)
      answer += receiver.fromHost(std::string_view(buf, size_t(n)));
    if (!answer.empty()) pty.write(kj::StringPtr(answer.c_str(), answer.size()));
    int64_t now = realtimeNs(), sec = now / S;
    if (sec != lastSent && now % S < 300'000'000) {
      lastSent = sec;
      pty.write(receiver.at(sec, 0).nmea);
    }
  };
}

TEST_CASE("devices: `refclock nmea DEVICE ubx` asks a u-blox for TIMELS and reads it beside NMEA") {
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  Pty pty;
  REQUIRE(fcntl(pty.master, F_SETFL, O_NONBLOCK) == 0);
  // The receiver: the simulator's u-blox model, which sends TIMELS only once asked.
  RefclockConf model = conf("sim");
  model.ubx = true;
  model.simLeap = 1;
  SimReceiver receiver(model, 3);
  auto c = conf("nmea", pty.path);
  c.ubx = true;
  c.offset = 0.1;
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(c, 0, ctx));   // sends CFG-MSG and CFG-VALSET now
  std::vector<Got> got;
  SampleSink sink = [&](uint8_t id, const Paired& p, int64_t e) { got.push_back({id, p, e}); };
  runFor(io, drivers, sink, 3 * S, ubloxOnPty(pty, receiver));
  CHECK(receiver.sendsTimeLs());
  CHECK(receiver.answers() == 2);   // one request was enough: not sent again
  capnp::MallocMessageBuilder m;
  auto st = m.initRoot<ipc::RefclockStatus>();
  drivers[0]->status(st);
  CHECK(got.size() >= 1);
  CHECK(st.getNmeaBad() == 0);
  CHECK(st.getUbxFrames() >= 1);
  CHECK(st.getUbxBad() == 0);
  CHECK(st.getUbxAcks() == 1);      // as an M8: CFG-MSG taken, CFG-VALSET refused
  CHECK(st.getUbxNaks() == 1);
  CHECK(st.getUbxRequest() == "NAV-TIMELS enabled");
  auto l = st.getLeap();
  CHECK(l.getReceivedNs() > 0);
  CHECK(l.getCurrentValid());
  CHECK(l.getTaiMinusUtc() == 37);
  CHECK(l.getChange() == 1);
  CHECK(l.getAtNs() == receiver.leapAt() * S);
}

TEST_CASE("devices: a u-blox that refuses NAV-TIMELS is asked a bounded number of times, and it is said") {
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  Pty pty;
  REQUIRE(fcntl(pty.master, F_SETFL, O_NONBLOCK) == 0);
  RefclockConf model = conf("sim");
  model.ubx = model.simUbxRefuse = true;
  SimReceiver receiver(model, 3);
  auto c = conf("nmea", pty.path);
  c.ubx = true;
  c.offset = 0.1;
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(c, 0, ctx));
  std::vector<Got> got;
  SampleSink sink = [&](uint8_t id, const Paired& p, int64_t e) { got.push_back({id, p, e}); };
  runFor(io, drivers, sink, 5 * S, ubloxOnPty(pty, receiver));   // refusals are resent on the next second
  CHECK_FALSE(receiver.sendsTimeLs());
  CHECK(receiver.answers() == 2 * ubx::TimeLsRequest::MAX_ATTEMPTS);
  capnp::MallocMessageBuilder m;
  auto st = m.initRoot<ipc::RefclockStatus>();
  drivers[0]->status(st);
  CHECK(got.size() >= 1);           // still a receiver of NMEA
  CHECK(st.getUbxAcks() == 0);
  CHECK(st.getUbxNaks() == 2 * ubx::TimeLsRequest::MAX_ATTEMPTS);
  CHECK(std::string(st.getUbxRequest().cStr()).find("refused NAV-TIMELS") != std::string::npos);
  CHECK(st.getLeap().getReceivedNs() == 0);
}

namespace {

ipc::RefclockStatus::Reader statusOf(Driver& d, capnp::MallocMessageBuilder& m) {
  auto st = m.initRoot<ipc::RefclockStatus>();
  d.status(st);
  return st.asReader();
}

bool startsWith(kj::StringPtr s, const std::string& prefix) {
  return std::string(s.cStr()).rfind(prefix, 0) == 0;
}

// No status text may look like source code: no call with its arguments, no `name = value`; and
// each fits what clockd accepts, with the names a Pi has (/dev/pps0, /dev/serial0).
void checkWords(kj::StringPtr fault) {
  std::string f = fault.cStr();
  std::string onPi = f;
  for (auto dir = onPi.find("/tmp/horloge-devices-"); dir != std::string::npos;
       dir = onPi.find("/tmp/horloge-devices-")) {
    onPi.replace(dir, onPi.find('/', dir + 5) - dir, "/dev");
  }
  CHECK(onPi.size() <= ipc::MAX_TEXT);
  CHECK(f.find("c_str()") == std::string::npos);
  CHECK(f.find("O_RDWR") == std::string::npos);
  CHECK(f.find(" = ") == std::string::npos);
  CHECK(f.find("(fd") == std::string::npos);
}

}  // namespace

TEST_CASE("devices: a PPS device missing at start is a state; it is opened once it appears") {
  if (getenv("LD_PRELOAD") == nullptr) {
    MESSAGE("pps-shim.so not preloaded (run through ctest): skipped");
    return;
  }
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  std::string dir = tempDir();
  std::string pps = dir + "/pps0";
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(conf("pps", pps), 0, ctx));   // no throw
  std::vector<Got> got;
  SampleSink sink = [&](uint8_t id, const Paired& p, int64_t e) { got.push_back({id, p, e}); };
  runFor(io, drivers, sink, 1 * S);
  capnp::MallocMessageBuilder m;
  auto st = statusOf(*drivers[0], m);
  { std::string m = "missing: " + std::string(st.getFault().cStr()); MESSAGE(m); }
  CHECK_FALSE(st.getDeviceOpen());
  CHECK(startsWith(st.getFault(), "PPS device " + pps + " is missing: is dtoverlay=pps-gpio in "
                                 "/boot/firmware/config.txt (and the Pi rebooted)?; retrying in "));
  CHECK(std::string(st.getFault().cStr()).find("retrying in") != std::string::npos);
  checkWords(st.getFault());

  // The overlay loaded: the device appears, and is found by the back-off's next attempt.
  close(open(pps.c_str(), O_CREAT | O_RDWR, 0600));
  hint.synced = true;          // clockd vouches for the clock: edges alone make samples
  hint.receivedNs = realtimeNs();
  runFor(io, drivers, sink, 4 * S, [&]() { hint.receivedNs = realtimeNs(); });
  st = statusOf(*drivers[0], m);
  { std::string m = "appeared: open " + std::to_string(st.getDeviceOpen()) + ", edges " +
                    std::to_string(st.getPpsEdges()) + ", fault '" + st.getFault().cStr() + "'";
    MESSAGE(m); }
  CHECK(st.getDeviceOpen());
  CHECK(st.getReopens() >= 1);
  CHECK(st.getPpsEdges() >= 1);
  CHECK(st.getFault() == "");

  // It goes away (the shim fails fetches on a removed file, as on a removed device).
  unlink(pps.c_str());
  runFor(io, drivers, sink, 3 * S);
  st = statusOf(*drivers[0], m);
  { std::string m = "removed: " + std::string(st.getFault().cStr()); MESSAGE(m); }
  CHECK_FALSE(st.getDeviceOpen());
  CHECK(startsWith(st.getFault(), "PPS device " + pps + " "));
  checkWords(st.getFault());
  rmdir(dir.c_str());
}

TEST_CASE("devices: a PPS device that is not one, and a silent one, are said in words") {
  if (getenv("LD_PRELOAD") == nullptr) {
    MESSAGE("pps-shim.so not preloaded (run through ctest): skipped");
    return;
  }
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  std::string dir = tempDir();
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(conf("pps", dir), 0, ctx));   // a directory: open() refuses O_RDWR
  Pty pty;                                             // a tty: PPS_GETCAP refused
  drivers.add(openDriver(conf("pps", pty.path), 1, ctx));
  SampleSink sink = [&](uint8_t, const Paired&, int64_t) {};
  runFor(io, drivers, sink, 500'000'000);
  capnp::MallocMessageBuilder m0, m1;
  auto st0 = statusOf(*drivers[0], m0);
  auto st1 = statusOf(*drivers[1], m1);
  { std::string m = st0.getFault().cStr(); MESSAGE(m); }
  { std::string m = st1.getFault().cStr(); MESSAGE(m); }
  CHECK(startsWith(st0.getFault(), "cannot open PPS device " + dir + ": Is a directory"));
  CHECK(startsWith(st1.getFault(), "PPS device " + pty.path + " is not a PPS device"));
  checkWords(st0.getFault());
  checkWords(st1.getFault());
  rmdir(dir.c_str());
}

TEST_CASE("devices: PPS open but silent: the status names the device and what to check") {
  if (getenv("LD_PRELOAD") == nullptr) {
    MESSAGE("pps-shim.so not preloaded (run through ctest): skipped");
    return;
  }
  setenv("HORLOGE_FAKE_PPS_MISSING", "1", 1);
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  std::string dir = tempDir();
  std::string pps = dir + "/pps0";
  close(open(pps.c_str(), O_CREAT | O_RDWR, 0600));
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(conf("pps", pps), 0, ctx));
  SampleSink sink = [&](uint8_t, const Paired&, int64_t) {};
  runFor(io, drivers, sink, 3 * S);
  capnp::MallocMessageBuilder m;
  auto st = statusOf(*drivers[0], m);
  { std::string m = st.getFault().cStr(); MESSAGE(m); }
  CHECK(st.getDeviceOpen());
  CHECK(startsWith(st.getFault(), "no PPS pulse on " + pps + " for "));
  drivers.clear();
  unsetenv("HORLOGE_FAKE_PPS_MISSING");
  unlink(pps.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("devices: NMEA on a missing UART, and at the wrong baud rate, said in words") {
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  std::string dir = tempDir();
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(conf("nmea", dir + "/serial0"), 0, ctx));
  drivers.add(openDriver(conf("nmea", dir + "/ttyUSB0"), 1, ctx));
  Pty pty;
  drivers.add(openDriver(conf("nmea", pty.path), 2, ctx));
  SampleSink sink = [&](uint8_t, const Paired&, int64_t) {};
  // What a receiver at 115200 looks like to a line set to 9600: bytes, never a valid sentence.
  runFor(io, drivers, sink, 3 * S, [&]() { pty.write("\x80\xfe\x13\xf0\x0b\xe6\xff\n$G\xf7\xe0*\n"); });
  capnp::MallocMessageBuilder m0, m1, m2;
  auto st0 = statusOf(*drivers[0], m0), st1 = statusOf(*drivers[1], m1), st2 = statusOf(*drivers[2], m2);
  for (auto& st: {st0, st1, st2}) {
    { std::string m = st.getFault().cStr(); MESSAGE(m); }
    checkWords(st.getFault());
  }
  CHECK(startsWith(st0.getFault(), "serial device " + dir + "/serial0 is missing: is enable_uart=1"));
  CHECK(startsWith(st1.getFault(), "serial device " + dir + "/ttyUSB0 is missing: is the USB receiver plugged in?"));
  CHECK(startsWith(st2.getFault(), "only unreadable bytes from " + pty.path));
  rmdir(dir.c_str());
}

TEST_CASE("devices: SHM and SOCK that cannot be set up are a state, not a crash") {
  auto io = kj::setupAsyncIo();
  ClockHint hint;
  DriverContext ctx{io, hint, 0, nullptr};
  key_t key = 0x4e545030 + 4;
  int stale = shmget(key, 0, 0);
  if (stale >= 0) shmctl(stale, IPC_RMID, nullptr);
  int small = shmget(key, 16, IPC_CREAT | IPC_EXCL | 0600);   // another program's segment
  REQUIRE(small >= 0);
  auto shmConf = conf("shm");
  shmConf.unit = 4;
  kj::Vector<kj::Own<Driver>> drivers;
  drivers.add(openDriver(shmConf, 0, ctx));
  drivers.add(openDriver(conf("sock", "/nonexistent-horloge-dir/chrony.pps0.sock"), 1, ctx));
  SampleSink sink = [&](uint8_t, const Paired&, int64_t) {};
  runFor(io, drivers, sink, 300'000'000);
  capnp::MallocMessageBuilder m0, m1;
  auto st0 = statusOf(*drivers[0], m0), st1 = statusOf(*drivers[1], m1);
  { std::string m = st0.getFault().cStr(); MESSAGE(m); }
  { std::string m = st1.getFault().cStr(); MESSAGE(m); }
  CHECK_FALSE(st0.getDeviceOpen());
  CHECK_FALSE(st1.getDeviceOpen());
  CHECK(startsWith(st0.getFault(), "NTP SHM unit 4 cannot be attached: it has 16 bytes"));
  CHECK(startsWith(st1.getFault(), "SOCK socket /nonexistent-horloge-dir/chrony.pps0.sock cannot be "
                                   "bound: No such file or directory: enable "
                                   "horloge-refclock-sock@pps0.socket"));
  shmctl(small, IPC_RMID, nullptr);
}
