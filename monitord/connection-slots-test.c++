#include "connection-slots.h"
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <kj/debug.h>
#include <cstring>

namespace horloge::monitord {
namespace {

sockaddr_storage addr(const char* text) {
  sockaddr_storage ss{};
  if (strchr(text, ':') == nullptr) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, text, &sin->sin_addr);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &sin6->sin6_addr);
  }
  return ss;
}

kj::TimePoint at(double seconds) {
  return kj::origin<kj::TimePoint>() + int64_t(seconds * 1000) * kj::MILLISECONDS;
}

ConnectionSlots::Admission admit(ConnectionSlots& slots, const char* peer, double t) {
  auto ss = addr(peer);
  return slots.admit(reinterpret_cast<const sockaddr*>(&ss), at(t));
}

TEST_CASE("connection slots: a small share per IPv4 address or IPv6 /64") {
  ConnectionSlots slots({}, nullptr);
  for (int i = 0; i < 4; ++i) CHECK(admit(slots, "192.0.2.1", 0).admitted);
  auto fifth = admit(slots, "192.0.2.1", 0);
  CHECK_FALSE(fifth.admitted);
  CHECK(fifth.refusal == Refusal::SOURCE_SHARE);
  CHECK(admit(slots, "192.0.2.2", 0).admitted);
  CHECK(admit(slots, "::ffff:192.0.2.2", 0).admitted);   // the same host over a mapped address
  for (int i = 0; i < 2; ++i) CHECK(admit(slots, "2001:db8::1", 0).admitted);
  for (int i = 0; i < 2; ++i) CHECK(admit(slots, "2001:db8::2", 0).admitted);
  CHECK(admit(slots, "2001:db8::3", 0).refusal == Refusal::SOURCE_SHARE);   // one /64
  CHECK(admit(slots, "2001:db8:0:1::1", 0).admitted);
  CHECK(slots.stats().accepted == 11);
  CHECK(slots.stats().refused[size_t(Refusal::SOURCE_SHARE)] == 2);
  CHECK(slots.stats().open == 11);
}

TEST_CASE("connection slots: `monitor allow` refuses outsiders at once") {
  auto config = parseConfig("monitor allow 10.1.0.0/16\n", "t.conf");
  ClientAccess access(config.monitorAllow);
  ConnectionSlots slots({}, &access);
  CHECK(admit(slots, "10.1.2.3", 0).admitted);
  auto out = admit(slots, "10.2.0.1", 0);
  CHECK_FALSE(out.admitted);
  CHECK(out.refusal == Refusal::NOT_ALLOWED);
  CHECK(slots.stats().refused[size_t(Refusal::NOT_ALLOWED)] == 1);
}

TEST_CASE("connection slots: outsiders take the longest-waiting slot, never the insiders' reserve") {
  auto config = parseConfig("monitor allow all\nmonitor allow 10.1.0.0/16\n", "t.conf");
  ClientAccess access(config.monitorAllow);
  SlotLimits limits;
  limits.total = 8;
  limits.reserved = 2;
  limits.perSource = 100;
  ConnectionSlots slots(limits, &access);
  kj::Vector<uint64_t> outsiders;
  for (int i = 0; i < 6; ++i) outsiders.add(admit(slots, "192.0.2.1", i).id);
  // The seventh outsider finds the unreserved slots taken: the one waiting longest goes.
  auto seventh = admit(slots, "192.0.2.9", 10);
  CHECK(seventh.admitted);
  CHECK(KJ_ASSERT_NONNULL(seventh.evict) == outsiders[0]);
  CHECK(slots.stats().cut[size_t(Cut::EVICTED)] == 1);
  // Outsiders being answered are never cut for another: with all of them busy, refused.
  for (auto id: outsiders) slots.setPhase(id, Phase::ACTIVE, at(11));
  slots.setPhase(seventh.id, Phase::ACTIVE, at(11));
  auto eighth = admit(slots, "192.0.2.10", 12);
  CHECK_FALSE(eighth.admitted);
  CHECK(eighth.refusal == Refusal::FULL);
  // The insiders still have their two.
  auto a = admit(slots, "10.1.0.1", 13), b = admit(slots, "10.1.0.2", 13);
  CHECK(a.admitted);
  CHECK(b.admitted);
  CHECK(a.evict == nullptr);
  CHECK(slots.stats().open == 8);
  // A third insider, every slot taken: it may take an outsider's waiting slot, not a busy one.
  CHECK(admit(slots, "10.1.0.3", 14).refusal == Refusal::FULL);
  slots.setPhase(outsiders[3], Phase::WAITING, at(14));
  auto c = admit(slots, "10.1.0.3", 15);
  CHECK(c.admitted);
  CHECK(KJ_ASSERT_NONNULL(c.evict) == outsiders[3]);
  // Without an `all` rule there are only insiders: no reserve to keep (everyone may fill it).
  auto narrow = parseConfig("monitor allow 10.1.0.0/16\n", "t.conf");
  ClientAccess only(narrow.monitorAllow);
  CHECK_FALSE(only.keepsReserve());
  CHECK(access.keepsReserve());
}

TEST_CASE("connection slots: sources level out instead of taking slots from one another") {
  SlotLimits limits;
  limits.total = 6;
  limits.reserved = 0;
  ConnectionSlots slots(limits, nullptr);
  kj::Vector<uint64_t> a;
  for (int i = 0; i < 4; ++i) a.add(admit(slots, "192.0.2.1", i).id);
  admit(slots, "192.0.2.2", 4);
  admit(slots, "192.0.2.2", 5);
  // Full. B (holding 2) may take from A (holding 4): both then hold 3.
  auto b = admit(slots, "192.0.2.2", 6);
  CHECK(KJ_ASSERT_NONNULL(b.evict) == a[0]);
  // Now A may not take back from B (3 against 3): no churn between them.
  auto back = admit(slots, "192.0.2.1", 7);
  CHECK_FALSE(back.admitted);
  CHECK(back.refusal == Refusal::FULL);
  // A host holding nothing gets in, from the fullest source, the longest waiting there.
  auto c = admit(slots, "192.0.2.3", 8);
  CHECK(KJ_ASSERT_NONNULL(c.evict) == a[1]);
  // And nobody holding one or more takes its only slot.
  CHECK(admit(slots, "192.0.2.2", 9).refusal == Refusal::FULL);
  CHECK(slots.stats().cut[size_t(Cut::EVICTED)] == 2);
}

TEST_CASE("connection slots: deadlines before the first request, shorter under pressure") {
  SlotLimits limits;
  limits.total = 8;
  limits.pressure = 4;
  limits.perSource = 100;
  ConnectionSlots slots(limits, nullptr);
  auto a = admit(slots, "192.0.2.1", 0);
  slots.setPhase(a.id, Phase::WAITING, at(1));   // TLS done, no request yet
  CHECK(slots.overdue(at(4)).size() == 0);
  auto late = slots.overdue(at(6.5));
  REQUIRE(late.size() == 1);
  CHECK(late[0].why == Cut::HEADER_DEADLINE);
  // Four open: the short deadlines apply, to new and old connections alike.
  auto b = admit(slots, "192.0.2.2", 6), c = admit(slots, "192.0.2.3", 6),
       d = admit(slots, "192.0.2.4", 6);
  CHECK(slots.underPressure());
  auto busy = slots.overdue(at(7.2));
  CHECK(busy.size() == 4);
  for (auto& o: busy) CHECK((o.id == a.id ? o.why == Cut::HEADER_DEADLINE
                                          : o.why == Cut::HANDSHAKE_DEADLINE));
  // A request being answered has no such deadline, only the lifetime.
  slots.setPhase(b.id, Phase::ACTIVE, at(6.5));
  slots.release(a.id);
  slots.release(c.id);
  slots.release(d.id);
  CHECK_FALSE(slots.underPressure());
  CHECK(slots.overdue(at(60)).size() == 0);
  auto old = slots.overdue(at(127));
  REQUIRE(old.size() == 1);
  CHECK(old[0].why == Cut::LIFETIME);
  CHECK(slots.stats().open == 1);
}

}  // namespace
}  // namespace horloge::monitord
