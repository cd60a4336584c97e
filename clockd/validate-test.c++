#include "ntp-time.h"
#include "validate.h"
#include "ipc.h"
#include "keys.h"
#include <capnp/message.h>
#include <kj/async-io.h>
#include <doctest/doctest.h>

using namespace horloge;
using namespace horloge::clockd;

constexpr int64_t NOW = 1'800'000'000LL * horloge::ntp::NS_PER_S;

static ipc::RefSample::Builder goodSample(capnp::MallocMessageBuilder& m) {
  auto s = m.initRoot<ipc::RefSample>();
  s.setSystemTimeNs(NOW);
  s.setReferenceTimeNs(NOW);
  s.setErrorNs(1000);
  return s;
}

TEST_CASE("validate: a good sample passes, each bad field is refused") {
  capnp::MallocMessageBuilder m;
  auto s = goodSample(m);
  CHECK_NOTHROW(validateSample(s.asReader()));
  s.setSourceId(8);
  CHECK_THROWS(validateSample(s.asReader()));
  s.setSourceId(0);
  s.setSystemTimeNs(0);
  CHECK_THROWS(validateSample(s.asReader()));
  s.setSystemTimeNs(NOW);
  s.setReferenceTimeNs(LATEST_NS);
  CHECK_THROWS(validateSample(s.asReader()));
  s.setReferenceTimeNs(NOW);
  s.setErrorNs(0);
  CHECK_THROWS(validateSample(s.asReader()));
  s.setErrorNs(1000);
  s.setKind(static_cast<ipc::SampleKind>(7));   // an enumerant this schema does not know
  CHECK_THROWS(validateSample(s.asReader()));
}

TEST_CASE("validate: refclock status, netd stats, daemon info") {
  capnp::MallocMessageBuilder m;
  auto root = m.initRoot<ipc::SystemStatus>();
  auto list = root.getRefclockd().initBody(9);
  CHECK_THROWS(validateRefclockStatus(list.asReader()));
  auto one = root.getRefclockd().initBody(1);
  one[0].setName(kj::str(kj::repeat('x', 200)));
  CHECK_THROWS(validateRefclockStatus(one.asReader()));
  one[0].setName("sim");
  CHECK_NOTHROW(validateRefclockStatus(one.asReader()));

  auto stats = root.getNetd().initBody();
  stats.setReceived(10);
  stats.setAnswered(11);
  CHECK_THROWS(validateNetdStats(stats.asReader()));
  stats.setAnswered(9);
  CHECK_NOTHROW(validateNetdStats(stats.asReader()));
  stats.setRateLimited(10);
  stats.setKodSent(3);
  stats.setRequestsV4(10);
  stats.setDroppedDenied(1);
  CHECK_NOTHROW(validateNetdStats(stats.asReader()));
  stats.setDroppedMode(11);
  CHECK_THROWS(validateNetdStats(stats.asReader()));
  stats.setDroppedMode(0);
  stats.setKodSent(12);
  CHECK_THROWS(validateNetdStats(stats.asReader()));
  stats.setKodSent(3);

  auto info = root.initClockd();
  info.setRole(ipc::Role::NETD);
  info.setPid(42);
  CHECK_NOTHROW(validateDaemonInfo(info.asReader(), ipc::Role::NETD));
  CHECK_THROWS(validateDaemonInfo(info.asReader(), ipc::Role::REFCLOCKD));
  info.setPid(0);
  CHECK_THROWS(validateDaemonInfo(info.asReader(), ipc::Role::NETD));
}

TEST_CASE("validate: a receiver's leap information") {
  capnp::MallocMessageBuilder m;
  auto list = m.initRoot<ipc::SystemStatus>().getRefclockd().initBody(1);
  auto l = list[0].initLeap();
  CHECK_NOTHROW(validateRefclockStatus(list.asReader()));   // never received
  l.setCurrentValid(true);
  CHECK_THROWS(validateRefclockStatus(list.asReader()));    // valid, yet never received
  constexpr int64_t JAN1 = 1'798'761'600LL * 1'000'000'000;
  l.setReceivedNs(NOW);
  l.setTaiMinusUtc(37);
  l.setChangeValid(true);
  l.setChange(1);
  l.setAtNs(JAN1);
  CHECK_NOTHROW(validateRefclockStatus(list.asReader()));
  l.setAtNs(JAN1 + 1'000'000'000);                          // not a midnight
  CHECK_THROWS(validateRefclockStatus(list.asReader()));
  l.setAtNs(JAN1);
  l.setChange(2);
  CHECK_THROWS(validateRefclockStatus(list.asReader()));
  l.setChange(-1);
  l.setTaiMinusUtc(-5);
  CHECK_THROWS(validateRefclockStatus(list.asReader()));
  l.setTaiMinusUtc(37);
  l.setReceivedNs(LATEST_NS);
  CHECK_THROWS(validateRefclockStatus(list.asReader()));
}

// ---- The IPC sockets' message limits (common/ipc.h) against the largest valid messages ----

namespace {

// A RefclockStatus as large as validateRefclockStatus lets through.
void fillLargestRefclock(ipc::RefclockStatus::Builder r, uint8_t id) {
  kj::String text = kj::str(kj::repeat('x', MAX_TEXT));
  r.setSourceId(id);
  r.setName(text);
  r.setDriver(text);
  r.setFault(text);
  r.setAnomaly(text);
  auto sats = r.initSatellites(128);
  for (auto s: sats) {
    s.setSystem("GP");
    s.setPrn(65535);
  }
  auto leap = r.initLeap();
  leap.setReceivedNs(1'800'000'000LL * 1'000'000'000);
  leap.setCurrentValid(true);
  leap.setTaiMinusUtc(37);
  leap.setChangeValid(true);
  leap.setChange(1);
  leap.setAtNs(1'814'400'000LL * 1'000'000'000);
  r.setUbxFrames(~0ull);
  r.setUbxBad(~0ull);
}

void fillLargestNetdStats(ipc::NetdStats::Builder s) {
  auto top = s.initTopClients(16);
  for (auto c: top) c.setAddress(kj::str(kj::repeat('f', 48)));
}

// The whole status clockd may answer: the largest refclockd and netd bodies, a source for every
// refclock and `server` line, its own texts long (leap alarms name files: 1 KiB each here).
void fillLargestStatus(ipc::SystemStatus::Builder st) {
  auto body = st.getRefclockd().initBody(MAX_SOURCES);
  for (uint8_t i = 0; i < MAX_SOURCES; ++i) fillLargestRefclock(body[i], i);
  fillLargestNetdStats(st.getNetd().initBody());
  auto sources = st.initSources(MAX_SOURCES + MAX_SERVERS);
  for (auto s: sources) {
    s.setKind("refclock");
    s.setMark("*");
    s.setName(kj::str(kj::repeat('f', 45)));
  }
  auto clock = st.initClock();
  kj::String long_ = kj::str(kj::repeat('y', 1024));
  clock.setReason(long_);
  clock.setLeapAlarm(long_);
  clock.setGpsAlarm(long_);
  clock.setRefid("GPS");
  clock.setBackend("system");
  st.initClockd().setVersion(kj::str(kj::repeat('v', MAX_TEXT)));
  st.getRefclockd().initInfo().setVersion(kj::str(kj::repeat('v', MAX_TEXT)));
  st.getNetd().initInfo().setVersion(kj::str(kj::repeat('v', MAX_TEXT)));
  st.getNtskd().initInfo().setVersion(kj::str(kj::repeat('v', MAX_TEXT)));
  st.getNtskd().initBody();
  st.initNts().setEnabled(true);
}

// The whole key set clockd pushes to netd and ntskd: as many keys as nts::keySetFromWire takes.
void fillLargestKeySet(ipc::NtsKeySet::Builder set) {
  auto keys = set.initKeys(nts::MAX_SERVER_KEYS);
  for (uint32_t i = 0; i < keys.size(); ++i) {
    keys[i].setId(i + 1);
    keys[i].setCreatedNs(NOW);
    keys[i].initKey(nts::SIV_KEY_SIZE);
  }
  set.setCurrent(keys.size());
}

struct Counts {
  int statuses = 0, stats = 0;
};

struct RefclockFeed final: public ipc::RefclockFeed::Server {
  Counts& counts;
  explicit RefclockFeed(Counts& c): counts(c) {}
  kj::Promise<void> pushStatus(PushStatusContext context) override {
    validateRefclockStatus(context.getParams().getStatus());
    ++counts.statuses;
    return kj::READY_NOW;
  }
};

struct NetdFeed final: public ipc::NetdFeed::Server {
  Counts& counts;
  explicit NetdFeed(Counts& c): counts(c) {}
  kj::Promise<void> pushStats(PushStatsContext context) override {
    validateNetdStats(context.getParams().getStats());
    ++counts.stats;
    return kj::READY_NOW;
  }
};

struct StatusReader final: public ipc::StatusReader::Server {
  kj::Promise<void> getStatus(GetStatusContext context) override {
    fillLargestStatus(context.getResults().initStatus());
    return kj::READY_NOW;
  }
};

}  // namespace

TEST_CASE("IPC limits: each socket carries its largest valid message, with room to spare") {
  // The messages alone, at most half of each limit (the RPC envelope adds a few words).
  capnp::MallocMessageBuilder refclock;
  auto list = refclock.initRoot<ipc::SystemStatus>().getRefclockd().initBody(MAX_SOURCES);
  for (uint8_t i = 0; i < MAX_SOURCES; ++i) fillLargestRefclock(list[i], i);
  CHECK_NOTHROW(validateRefclockStatus(list.asReader()));
  CHECK(refclock.sizeInWords() * 2 <= ipc::REFCLOCK_SOCKET.hubReadWords);
  capnp::MallocMessageBuilder netd;
  fillLargestNetdStats(netd.initRoot<ipc::NetdStats>());
  CHECK_NOTHROW(validateNetdStats(netd.getRoot<ipc::NetdStats>().asReader()));
  CHECK(netd.sizeInWords() * 2 <= ipc::NETD_SOCKET.hubReadWords);
  capnp::MallocMessageBuilder status;
  fillLargestStatus(status.initRoot<ipc::SystemStatus>());
  CHECK(status.sizeInWords() * 2 <= ipc::STATUS_SOCKET.peerReadWords);
  capnp::MallocMessageBuilder keys;
  fillLargestKeySet(keys.initRoot<ipc::NtsKeySet>());
  CHECK_NOTHROW(nts::keySetFromWire(keys.getRoot<ipc::NtsKeySet>().asReader()));
  CHECK(keys.sizeInWords() * 2 <= ipc::NETD_SOCKET.peerReadWords);
  CHECK(keys.sizeInWords() * 2 <= ipc::NTSKE_SOCKET.peerReadWords);
  capnp::MallocMessageBuilder ntske;
  ntske.initRoot<ipc::NtskeStats>();   // fixed size: no lists, no texts
  CHECK(ntske.sizeInWords() * 2 <= ipc::NTSKE_SOCKET.hubReadWords);
  MESSAGE("largest messages (words): refclock status ", refclock.sizeInWords(), ", netd stats ",
          netd.sizeInWords(), ", system status ", status.sizeInWords(), ", NTS key set ",
          keys.sizeInWords());

  // And through real links with those limits, both ways.
  auto io = kj::setupAsyncIo();
  Counts counts;
  auto call = [&](const ipc::Socket& socket, capnp::Capability::Client server, auto body) {
    auto pipe = kj::newTwoWayPipe();
    ipc::Link hub(kj::mv(pipe.ends[0]), socket, kj::mv(server));
    ipc::Link peer(kj::mv(pipe.ends[1]), socket);
    body(peer.bootstrap()).wait(io.waitScope);
  };
  call(ipc::REFCLOCK_SOCKET, kj::heap<RefclockFeed>(counts), [&](capnp::Capability::Client cap) {
    auto req = cap.castAs<ipc::RefclockFeed>().pushStatusRequest();
    req.setStatus(list.asReader());
    return req.send().ignoreResult();
  });
  call(ipc::NETD_SOCKET, kj::heap<NetdFeed>(counts), [&](capnp::Capability::Client cap) {
    auto req = cap.castAs<ipc::NetdFeed>().pushStatsRequest();
    req.setStats(netd.getRoot<ipc::NetdStats>().asReader());
    return req.send().ignoreResult();
  });
  size_t got = 0;
  call(ipc::STATUS_SOCKET, kj::heap<StatusReader>(), [&](capnp::Capability::Client cap) {
    return cap.castAs<ipc::StatusReader>().getStatusRequest().send().then([&](auto answer) {
      got = answer.getStatus().getSources().size();
    });
  });
  CHECK(counts.statuses == 1);
  CHECK(counts.stats == 1);
  CHECK(got == MAX_SOURCES + MAX_SERVERS);
  // A status reader cannot send clockd anything near what clockd may answer it.
  CHECK(ipc::STATUS_SOCKET.hubReadWords * 8 <= ipc::STATUS_SOCKET.peerReadWords);
}
