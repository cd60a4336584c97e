#include "server-state.h"
#include <capnp/message.h>
#include <doctest/doctest.h>

using namespace horloge;

TEST_CASE("server state: every field survives the wire, the defaults say unsynchronised") {
  ServerState s;
  CHECK(s.header.leap == 3);
  CHECK(s.header.stratum == 16);
  CHECK(s.header.refid == REFID_INIT);
  s.header = {1, 2, -23, 0xc6120002u, 0x0123456789abcdefull, 77, 88};
  s.model = {-1500, 2e-5, 1'800'000'000'000'000'000, 1'800'000'050'000'000'000, -1'000'000'000};
  s.starting = true;
  s.slew = {1'800'000'002'000'000'000, 0.08};
  capnp::MallocMessageBuilder m;
  auto wire = m.initRoot<ipc::ServerState>();
  writeServerState(wire, s);
  ServerState r = readServerState(wire.asReader());
  CHECK(r.header.leap == 1);
  CHECK(r.header.stratum == 2);
  CHECK(r.header.precision == -23);
  CHECK(r.header.refid == 0xc6120002u);
  CHECK(r.header.referenceTime == 0x0123456789abcdefull);
  CHECK(r.header.rootDelay == 77);
  CHECK(r.header.rootDispersion == 88);
  CHECK(r.model.offsetNs == -1500);
  CHECK(r.model.frequency == 2e-5);
  CHECK(r.model.atNs == 1'800'000'000'000'000'000);
  CHECK(r.model.leapAtNs == 1'800'000'050'000'000'000);
  CHECK(r.model.leapNs == -1'000'000'000);
  CHECK(r.starting);
  CHECK(r.slew.endNs == 1'800'000'002'000'000'000);
  CHECK(r.slew.rate == 0.08);
}

TEST_CASE("server state: the clock model is the identity unless set") {
  CHECK(served(ClockModel{}, 123456789) == 123456789);
  ClockModel m{1000, 1e-3, 0};
  CHECK(served(m, 1'000'000) == 1'000'000 + 1000 + 1000);
}

TEST_CASE("server state: a leap the model has not made yet is served from its moment on") {
  ClockModel m{0, 0, 0, 5'000'000'000, -1'000'000'000};   // a second inserted at 5 s
  CHECK(served(m, 4'999'999'999) == 4'999'999'999);
  CHECK(served(m, 5'000'000'000) == 4'000'000'000);         // 23:59:59 again
  CHECK(served(m, 5'500'000'000) == 4'500'000'000);
  m.leapNs = 1'000'000'000;                                 // a second deleted
  CHECK(served(m, 5'000'000'000) == 6'000'000'000);
}
