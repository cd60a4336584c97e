#include "ntp-time.h"
#include "validate.h"
#include <capnp/message.h>
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
