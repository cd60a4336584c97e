#include "validate.h"
#include <capnp/message.h>
#include <doctest/doctest.h>

using namespace horloge;
using namespace horloge::clockd;

constexpr int64_t NOW = 1'800'000'000LL * 1'000'000'000;

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
  s.setLeap(static_cast<ipc::Leap>(7));   // an enumerant this schema does not know
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
