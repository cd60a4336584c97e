#include "state-listener.h"
#include "ntp-time.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <kj/async.h>
#include <cmath>

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
  Snapshot snap = snapshotFromWire(s.asReader(), 1234, 0);
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
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 0), kj::Exception);
  fill(s);
  s.setStratum(17);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 0), kj::Exception);
  fill(s);
  s.setPrecision(1);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 0), kj::Exception);
  fill(s);
  s.setPrecision(-33);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 0), kj::Exception);
  fill(s);
  s.setStratum(16);
  s.setLeap(3);
  CHECK_NOTHROW(snapshotFromWire(s.asReader(), 0, 0));
  // The sim clock's model: a day off and slewing at maxslewrate is fine, past that not.
  fill(s);
  s.setModelOffsetNs(86400'000'000'000);
  s.setModelFrequency(0.0833);
  CHECK_NOTHROW(snapshotFromWire(s.asReader(), 0, 0));
  s.setModelFrequency(0.2);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 0), kj::Exception);
  // `clock sim start` puts it years away, but not past 80 years.
  fill(s);
  s.setModelFrequency(0);
  s.setModelOffsetNs(int64_t(10) * 366 * 86400'000'000'000);
  CHECK_NOTHROW(snapshotFromWire(s.asReader(), 0, 0));
  s.setModelOffsetNs(int64_t(81) * 366 * 86400'000'000'000);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 0), kj::Exception);
  // A pending leap: one second either way, within two days of the push.
  fill(s);
  s.setModelOffsetNs(0);
  s.setModelLeapAtNs(3600'000'000'000);
  s.setModelLeapNs(-1'000'000'000);
  CHECK_NOTHROW(snapshotFromWire(s.asReader(), 0, 0));
  s.setModelLeapNs(-2'000'000'000);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 0), kj::Exception);
  s.setModelLeapNs(1'000'000'000);
  s.setModelLeapAtNs(3 * 86400'000'000'000);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 0), kj::Exception);
}

TEST_CASE("snapshotFromWire puts the planned slew end on the monotonic clock and checks it") {
  capnp::MallocMessageBuilder m;
  auto s = m.initRoot<ipc::ServerState>();
  fill(s);
  Snapshot none = snapshotFromWire(s.asReader(), 5 * ntp::NS_PER_S, 1'800'000'000 * ntp::NS_PER_S);
  CHECK(none.slewRate == 0);
  s.setSlewRate(0.08);
  s.setSlewEndNs(1'800'000'003 * ntp::NS_PER_S);   // 3 s after the push
  Snapshot snap = snapshotFromWire(s.asReader(), 5 * ntp::NS_PER_S, 1'800'000'000 * ntp::NS_PER_S);
  CHECK(snap.slewRate == 0.08);
  CHECK(snap.slewEndMonoNs == 8 * ntp::NS_PER_S);
  s.setSlewRate(0.2);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 1'800'000'000 * ntp::NS_PER_S), kj::Exception);
  s.setSlewRate(-1e-3);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 1'800'000'000 * ntp::NS_PER_S), kj::Exception);
  s.setSlewRate(NAN);
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 1'800'000'000 * ntp::NS_PER_S), kj::Exception);
  s.setSlewRate(0.08);
  s.setSlewEndNs(1'800'200'000 * ntp::NS_PER_S);   // days away
  CHECK_THROWS_AS(snapshotFromWire(s.asReader(), 0, 1'800'000'000 * ntp::NS_PER_S), kj::Exception);
}

TEST_CASE("StateListener stores good pushes and refuses bad ones, keeping the last good one") {
  kj::EventLoop loop;
  kj::WaitScope ws(loop);
  StateCell cell;
  ipc::StateListener::Client client = kj::heap<StateListenerImpl>(cell, 7200 * ntp::NS_PER_S);

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

namespace {

Snapshot synced(int64_t pushedMonoNs) {
  Snapshot s;
  s.pushed = true;
  s.leap = 0;
  s.stratum = 1;
  s.refid = 0x50505300;
  s.rootDispersion = 3;
  s.pushedMonoNs = pushedMonoNs;
  s.model.offsetNs = 1000;
  s.model.frequency = 2e-5;
  s.model.atNs = 10;
  return s;
}

Snapshot unsynced(int64_t pushedMonoNs) {
  Snapshot s;
  s.pushed = true;
  s.refid = 0x494e4954;
  s.pushedMonoNs = pushedMonoNs;
  s.model.offsetNs = 1500;
  s.model.frequency = 1e-6;
  s.model.atNs = 20;
  s.slewRate = 0.05;
  s.slewEndMonoNs = 7 * ntp::NS_PER_S;
  return s;
}

constexpr int64_t HOLD = 60 * ntp::NS_PER_S;

}  // namespace

TEST_CASE("a starting clockd's unsynchronised push keeps the previous synchronised header") {
  Snapshot kept = nextSnapshot(synced(100), unsynced(5 * ntp::NS_PER_S), true, HOLD);
  CHECK(kept.leap == 0);
  CHECK(kept.stratum == 1);
  CHECK(kept.refid == 0x50505300);
  CHECK(kept.rootDispersion == 3);
  CHECK(kept.pushedMonoNs == 100);         // aged from the push it came with
  CHECK(kept.model.offsetNs == 1500);       // the clock model is always the new one
  CHECK(kept.model.frequency == 1e-6);
  CHECK(kept.model.atNs == 20);
  CHECK(kept.slewRate == 0.05);             // and so is its slew
  CHECK(kept.slewEndMonoNs == 7 * ntp::NS_PER_S);
  // It ages as when clockd is away, and past maxholdover the header says so on its own.
  ServerHeader h = makeHeader(kept, 100 + 10 * ntp::NS_PER_S, HOLD);
  CHECK(h.leap == 0);
  CHECK(h.rootDispersion > 3);
  CHECK(makeHeader(kept, 100 + HOLD + 1, HOLD).leap == 3);
}

TEST_CASE("only a starting clockd's push is overridden, and only within maxholdover") {
  // clockd decided (a GPS alarm, holdover ended): LI=3 at once.
  CHECK(nextSnapshot(synced(100), unsynced(200), false, HOLD).leap == 3);
  // Nothing good to keep.
  CHECK(nextSnapshot(unsynced(100), unsynced(200), true, HOLD).pushedMonoNs == 200);
  CHECK(nextSnapshot(Snapshot(), unsynced(200), true, HOLD).pushedMonoNs == 200);
  // The previous state is too old to serve.
  CHECK(nextSnapshot(synced(100), unsynced(100 + HOLD + 1), true, HOLD).leap == 3);
  // The new clockd is synchronised: its state.
  Snapshot mine = synced(300);
  mine.stratum = 2;
  CHECK(nextSnapshot(synced(100), mine, true, HOLD).stratum == 2);
  CHECK(nextSnapshot(synced(100), mine, false, HOLD).pushedMonoNs == 300);
}

TEST_CASE("StateListener keeps serving the previous clockd's state until the new one locks") {
  kj::EventLoop loop;
  kj::WaitScope ws(loop);
  StateCell cell;
  ipc::StateListener::Client before = kj::heap<StateListenerImpl>(cell, HOLD);
  auto good = before.updateRequest();
  fill(good.initState());
  good.send().wait(ws);
  int64_t pushed = cell.load().pushedMonoNs;

  // A new clockd (a new connection, a new listener) says "unsynchronised, starting".
  ipc::StateListener::Client after = kj::heap<StateListenerImpl>(cell, HOLD);
  for (int i = 0; i < 3; ++i) {
    auto starting = after.updateRequest();
    auto st = starting.initState();
    st.setLeap(3);
    st.setStratum(16);
    st.setRefid(0x494e4954);
    st.setModelOffsetNs(77);
    st.setStarting(true);
    starting.send().wait(ws);
    CHECK(cell.load().stratum == 1);
    CHECK(cell.load().pushedMonoNs == pushed);
    CHECK(cell.load().model.offsetNs == 77);
  }
  // Locked: its own state from now on.
  auto locked = after.updateRequest();
  fill(locked.initState());
  locked.getState().setRootDispersion(9);
  locked.send().wait(ws);
  CHECK(cell.load().rootDispersion == 9);
  CHECK(cell.load().pushedMonoNs > pushed);
  // And a later "unsynchronised" from it is obeyed (it is no longer starting).
  auto lost = after.updateRequest();
  fill(lost.initState());
  lost.getState().setLeap(3);
  lost.getState().setStratum(16);
  lost.send().wait(ws);
  CHECK(cell.load().leap == 3);
}
