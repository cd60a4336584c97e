#include "state-listener.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <kj/async.h>

using namespace horloge;
using namespace horloge::netd;

namespace {

void fill(ipc::ServerState::Builder s) {
  s.setLeap(0);
  s.setStratum(1);
  s.setPrecision(-22);
  s.setRefid(0x47505300);
  s.setReferenceTime(0xe90c5f3a00000000ull);
  s.setRootDelay(3);
  s.setRootDispersion(40);
}

}  // namespace

TEST_CASE("snapshotFromWire keeps every field and the push time") {
  capnp::MallocMessageBuilder m;
  auto s = m.initRoot<ipc::ServerState>();
  fill(s);
  Snapshot snap = snapshotFromWire(s.asReader(), 1234);
  CHECK(snap.pushed);
  CHECK(snap.leap == 0);
  CHECK(snap.stratum == 1);
  CHECK(snap.precision == -22);
  CHECK(snap.refid == 0x47505300);
  CHECK(snap.referenceTime == 0xe90c5f3a00000000ull);
  CHECK(snap.rootDelay == 3);
  CHECK(snap.rootDispersion == 40);
  CHECK(snap.pushedMonoNs == 1234);
}

TEST_CASE("snapshotFromWire refuses fields out of range") {
  capnp::MallocMessageBuilder m;
  auto s = m.initRoot<ipc::ServerState>();
  fill(s);
  s.setLeap(4);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0), kj::Exception);
  fill(s);
  s.setStratum(17);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0), kj::Exception);
  fill(s);
  s.setPrecision(1);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0), kj::Exception);
  fill(s);
  s.setPrecision(-33);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0), kj::Exception);
  fill(s);
  s.setStratum(16);
  s.setLeap(3);
  CHECK_NOTHROW(snapshotFromWire(s.asReader(), 0));
  // The sim clock's model: a fast slew runs at up to 8.3 % (the kernel's tick allows 10 %).
  fill(s);
  s.setModelFrequency(-0.0839);
  CHECK_NOTHROW(snapshotFromWire(s.asReader(), 0));
  s.setModelFrequency(0.2);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0), kj::Exception);
}

TEST_CASE("StateListener stores good pushes and refuses bad ones, keeping the last good one") {
  kj::EventLoop loop;
  kj::WaitScope ws(loop);
  StateCell cell;
  ipc::StateListener::Client client = kj::heap<StateListenerImpl>(cell);

  auto good = client.updateRequest();
  fill(good.initState());
  good.send().wait(ws);
  CHECK(cell.load().pushed);
  CHECK(cell.load().stratum == 1);

  auto bad = client.updateRequest();
  fill(bad.initState());
  bad.getState().setStratum(200);
  CHECK_THROWS_AS(bad.send().wait(ws), kj::Exception);
  CHECK(cell.load().stratum == 1);
}
