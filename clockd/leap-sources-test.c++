#include "leap-sources.h"
#include <doctest/doctest.h>

using namespace horloge::clockd;

namespace {

constexpr int64_t JAN1 = 1'798'761'600;    // 2027-01-01 00:00:00 UTC
constexpr int64_t DEC5 = 1'796'428'800;    // 2026-12-05 00:00:00 UTC
constexpr int64_t NOV1 = 1'793'491'200;    // 2026-11-01
constexpr int64_t EXPIRED = 1'782'604'800; // 2026-06-28: Debian 12's copy
constexpr int64_t Y2030 = 1'893'456'000;

LeapTable fileTable(int64_t expires, bool withJan1) {
  LeapTable t;
  t.entries = {{63072000, 10}, {1483228800, 37}};
  if (withJan1) t.entries.push_back({JAN1, 38});
  t.expiresUnix = expires;
  return t;
}

ReceiverLeap announcing(int64_t received) {
  ReceiverLeap r;
  r.receivedUnix = received;
  r.currentValid = true;
  r.taiMinusUtc = 37;
  r.changeValid = true;
  r.change = 1;
  r.atUnix = JAN1;
  return r;
}

ReceiverLeap quiet(int64_t received) {
  ReceiverLeap r = announcing(received);
  r.change = 0;
  r.atUnix = 0;
  return r;
}

}  // namespace

TEST_CASE("leap sources: the receiver alone announces in the last month, tells the kernel the last day") {
  LeapKnowledge k = combineLeap({}, announcing(DEC5), DEC5 + 10);
  CHECK(k.source == "receiver");
  CHECK(k.status.announce == LeapAction::INSERT);
  CHECK(k.status.at == JAN1);
  CHECK(k.status.kernel == LeapAction::NONE);
  CHECK(k.validUntil == DEC5 + RECEIVER_LEAP_VALID_S);
  CHECK(k.alarm.empty());
  // More than a month before: known, not yet announced.
  CHECK(combineLeap({}, announcing(NOV1), NOV1 + 10).status.announce == LeapAction::NONE);
  // The last day: the kernel is told.
  CHECK(combineLeap({}, announcing(JAN1 - 3600), JAN1 - 3000).status.kernel == LeapAction::INSERT);
  // A report a day old is no longer trusted: nothing valid, the file's alarm stands.
  LeapKnowledge stale = combineLeap({nullptr, "", "no usable leap file: x"}, announcing(DEC5),
                                    DEC5 + RECEIVER_LEAP_VALID_S + 1);
  CHECK(stale.source.empty());
  CHECK(stale.status.announce == LeapAction::NONE);
  CHECK(stale.alarm == "no usable leap file: x");
  // A report without the event (changeValid false) cannot vouch for the next month.
  ReceiverLeap unsure = announcing(DEC5);
  unsure.changeValid = false;
  CHECK(combineLeap({}, unsure, DEC5 + 10).source.empty());
}

TEST_CASE("leap sources: an expired file is covered by the receiver, no alarm") {
  LeapTable t = fileTable(EXPIRED, false);
  LeapFileInput f{&t, "/usr/share/zoneinfo/leap-seconds.list", ""};
  LeapKnowledge alone = combineLeap(f, std::nullopt, DEC5);
  CHECK(alone.source.empty());
  CHECK(alone.alarm ==
        "leap file expired on 2026-06-28 (/usr/share/zoneinfo/leap-seconds.list): a leap second "
        "after that date cannot be announced");
  LeapKnowledge k = combineLeap(f, announcing(DEC5), DEC5 + 1);
  CHECK(k.source == "receiver");
  CHECK(k.alarm.empty());
  CHECK(k.status.announce == LeapAction::INSERT);
}

TEST_CASE("leap sources: file and receiver agree") {
  LeapTable t = fileTable(Y2030, true);
  LeapFileInput f{&t, "leap.list", ""};
  LeapKnowledge k = combineLeap(f, announcing(DEC5), DEC5 + 1);
  CHECK(k.source == "both");
  CHECK(k.alarm.empty());
  CHECK(k.validUntil == Y2030);
  CHECK(k.status.announce == LeapAction::INSERT);
  // No leap in either.
  LeapTable none = fileTable(Y2030, false);
  LeapKnowledge q = combineLeap({&none, "leap.list", ""}, quiet(DEC5), DEC5 + 1);
  CHECK(q.source == "both");
  CHECK(q.status.announce == LeapAction::NONE);
  // A leap the file lists months ahead that the receiver does not broadcast yet is no conflict.
  CHECK(combineLeap(f, quiet(NOV1 - 86400 * 60), NOV1 - 86400 * 60 + 1).alarm.empty());
}

TEST_CASE("leap sources: disagreements are alarms, the receiver is followed") {
  SUBCASE("the receiver announces, the valid file has no such leap") {
    LeapTable t = fileTable(Y2030, false);
    LeapKnowledge k = combineLeap({&t, "leap.list", ""}, announcing(DEC5), DEC5 + 1);
    CHECK(k.disagree);
    CHECK(k.source == "receiver");
    CHECK(k.status.announce == LeapAction::INSERT);
    CHECK(k.alarm == "leap file (leap.list) and receiver disagree: the receiver announces an "
                     "inserted leap second before 2027-01-01 00:00 UTC, the leap file none; "
                     "following the receiver");
  }
  SUBCASE("the file announces, the receiver says none") {
    LeapTable t = fileTable(Y2030, true);
    LeapKnowledge k = combineLeap({&t, "leap.list", ""}, quiet(DEC5), DEC5 + 1);
    CHECK(k.disagree);
    CHECK(k.status.announce == LeapAction::NONE);
    CHECK(k.alarm.find("the leap file announces an inserted leap second before 2027-01-01 00:00 "
                       "UTC, the receiver none") != std::string::npos);
  }
  SUBCASE("TAI-UTC now") {
    LeapTable t = fileTable(Y2030, false);
    ReceiverLeap r = quiet(DEC5);
    r.taiMinusUtc = 36;
    LeapKnowledge k = combineLeap({&t, "leap.list", ""}, r, DEC5 + 1);
    CHECK(k.alarm.find("the receiver says TAI-UTC is 36 s, the leap file 37 s") != std::string::npos);
  }
  SUBCASE("opposite directions") {
    LeapTable t = fileTable(Y2030, true);
    ReceiverLeap r = announcing(DEC5);
    r.change = -1;
    CHECK(combineLeap({&t, "leap.list", ""}, r, DEC5 + 1).disagree);
  }
}

TEST_CASE("leap sources: the receiver's leap after the file's expiry is no conflict") {
  LeapTable t = fileTable(DEC5 + 86400 * 3, false);   // valid, but silent past 8 December
  LeapKnowledge k = combineLeap({&t, "leap.list", ""}, announcing(DEC5), DEC5 + 1);
  CHECK_FALSE(k.disagree);
  CHECK(k.source == "both");
  CHECK(k.status.announce == LeapAction::INSERT);
}
