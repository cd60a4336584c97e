#include "endpoints.h"
#include <capnp/message.h>
#include <doctest/doctest.h>

namespace horloge::monitord {
namespace {

void fillStatus(ipc::SystemStatus::Builder status, ipc::SyncState state, kj::StringPtr reason) {
  status.setGeneratedNs(1'700'000'000'000'000'000);
  status.getClockd().setPid(100);
  auto clock = status.initClock();
  clock.setBackend("observe");
  clock.setState(state);
  clock.setReason(reason);
  clock.setRefid("PPS");
  clock.getServer().setStratum(1);
  clock.setOffset(-2.5e-6);
  status.initRefclockd().setConnected(true);
  // netd serving what clockd says: attached, reported 1 s ago, a 1 s old state, LI=0.
  auto netd = status.initNetd();
  netd.setConnected(true);
  netd.setLastSeenNs(status.getGeneratedNs() - 1'000'000'000);
  netd.getBody().setStateAgeNs(1'000'000'000);
  netd.getBody().setServedLeap(0);
  netd.getBody().setServedStratum(1);
}

TEST_CASE("route matches exact paths and ignores the query") {
  CHECK(route("/status") == Endpoint::STATUS);
  CHECK(route("/status?x=1") == Endpoint::STATUS);
  CHECK(route("/health#top") == Endpoint::HEALTH);
  CHECK(route("/health") == Endpoint::HEALTH);
  CHECK(route("/status/") == Endpoint::NOT_FOUND);
  CHECK(route("/statusx") == Endpoint::NOT_FOUND);
  CHECK(route("/") == Endpoint::DASHBOARD);
  CHECK(route("/metrics") == Endpoint::METRICS);
  CHECK(route("/history.json") == Endpoint::HISTORY);
  CHECK(route("/dashboard.js") == Endpoint::DASHBOARD_JS);
  CHECK(route("/index.html") == Endpoint::NOT_FOUND);
  CHECK(route("") == Endpoint::NOT_FOUND);
  CHECK(route("*") == Endpoint::NOT_FOUND);
  CHECK(route("/../status") == Endpoint::NOT_FOUND);
}

TEST_CASE("status reply carries clockd's status and monitord's own info") {
  capnp::MallocMessageBuilder m1, m2;
  auto status = m1.initRoot<ipc::SystemStatus>();
  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  status.getMonitord().setPid(999);   // whatever clockd says here is replaced
  auto self = m2.initRoot<ipc::DaemonInfo>();
  self.setRole(ipc::Role::MONITORD);
  self.setPid(4242);

  capnp::JsonCodec json;
  Reply reply = statusReply(json, status.asReader(), self.asReader());
  CHECK(reply.status == 200);
  CHECK(reply.contentType == "application/json");
  CHECK(reply.body.endsWith("\n"));

  capnp::MallocMessageBuilder decoded;
  auto back = decoded.initRoot<ipc::SystemStatus>();
  json.decode(reply.body, back);
  CHECK(back.getMonitord().getPid() == 4242);
  CHECK(back.getMonitord().getRole() == ipc::Role::MONITORD);
  CHECK(back.getClockd().getPid() == 100);
  CHECK(back.getClock().getRefid() == "PPS");
  CHECK(back.getClock().getState() == ipc::SyncState::LOCKED);
}

TEST_CASE("unreachable status reply is a 503 SystemStatus saying why") {
  capnp::MallocMessageBuilder m;
  auto self = m.initRoot<ipc::DaemonInfo>();
  self.setPid(4242);
  capnp::JsonCodec json;
  Reply reply = unreachableStatusReply(json, self.asReader(), "not connected", 123);
  CHECK(reply.status == 503);
  CHECK(reply.contentType == "application/json");

  capnp::MallocMessageBuilder decoded;
  auto back = decoded.initRoot<ipc::SystemStatus>();
  json.decode(reply.body, back);
  CHECK(back.getMonitord().getPid() == 4242);
  CHECK(back.getGeneratedNs() == 123);
  CHECK(back.getClock().getReason() == "clockd unreachable: not connected");
  CHECK(back.getClock().getState() == ipc::SyncState::UNSYNCHRONISED);
  CHECK(!back.getRefclockd().getConnected());
  CHECK(!back.getNetd().getConnected());
}

TEST_CASE("health follows clock.state") {
  capnp::MallocMessageBuilder m;
  auto status = m.initRoot<ipc::SystemStatus>();

  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  Reply ok = healthReply(status.asReader());
  CHECK(ok.status == 200);
  CHECK(ok.body == "ok: synchronised to PPS, stratum 1, offset -2.500 us\n");

  fillStatus(status, ipc::SyncState::HOLDOVER, "refclockd lost\nsince 10 s");
  Reply holdover = healthReply(status.asReader());
  CHECK(holdover.status == 503);
  CHECK(holdover.body == "holdover: refclockd lost since 10 s\n");

  fillStatus(status, ipc::SyncState::UNSYNCHRONISED, "");
  CHECK(healthReply(status.asReader()).body == "unsynchronised\n");

  fillStatus(status, ipc::SyncState::LOCKED, "upstream 192.0.2.1 locked");
  status.getClock().setGpsAlarm("GPS disagrees with 2 of 2 noselect peers");
  Reply alarm = healthReply(status.asReader());
  CHECK(alarm.status == 503);
  CHECK(alarm.body == "GPS alarm: GPS disagrees with 2 of 2 noselect peers\n");

  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  status.getClock().setLeapAlarm("leap file expired on 2026-06-28 (/x)");
  Reply warned = healthReply(status.asReader());
  CHECK(warned.status == 200);
  CHECK(warned.body == "ok: synchronised to PPS, stratum 1, offset -2.500 us\n"
                       "warning: leap seconds: leap file expired on 2026-06-28 (/x)\n");
  fillStatus(status, ipc::SyncState::UNSYNCHRONISED, "waiting");
  status.getClock().setLeapAlarm("no usable leap file");
  CHECK(healthReply(status.asReader()).body ==
        "unsynchronised: waiting\nwarning: leap seconds: no usable leap file\n");

  Reply gone = unreachableHealthReply("not connected");
  CHECK(gone.status == 503);
  CHECK(gone.body == "clockd unreachable: not connected\n");
}

TEST_CASE("health is 503 while clockd is locked but netd's clients do not get it") {
  capnp::MallocMessageBuilder m;
  auto status = m.initRoot<ipc::SystemStatus>();
  auto check = [&](kj::StringPtr why) {
    Reply r = healthReply(status.asReader());
    CHECK(r.status == 503);
    CHECK(r.body == kj::str("not serving: ", why, " while clockd is synchronised to PPS\n"));
  };

  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  status.getNetd().setConnected(false);
  check("netd is not attached to clockd");

  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  status.getNetd().setLastSeenNs(status.getGeneratedNs() - 7'000'000'000);
  check("netd has not reported for 7 s");

  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  status.getNetd().getBody().setStateAgeNs(-1);
  check("netd has no state from clockd");

  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  status.getNetd().getBody().setStateAgeNs(12'000'000'000);
  check("netd's state is 12 s old: clockd's pushes do not reach it");

  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  status.getNetd().getBody().setServedLeap(3);
  status.getNetd().getBody().setServedStratum(16);
  check("netd serves LI=3, stratum 16 (unsynchronised)");

  // A netd that never reported: its served fields keep their defaults (LI=3, stratum 16).
  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  status.getNetd().initBody().setStateAgeNs(0);
  check("netd serves LI=3, stratum 16 (unsynchronised)");

  // Within the limits: fine.
  fillStatus(status, ipc::SyncState::LOCKED, "PPS locked");
  status.getNetd().setLastSeenNs(status.getGeneratedNs() - NETD_STALE_NS);
  status.getNetd().getBody().setStateAgeNs(NETD_STALE_NS);
  CHECK(healthReply(status.asReader()).status == 200);
}

}  // namespace
}  // namespace horloge::monitord
