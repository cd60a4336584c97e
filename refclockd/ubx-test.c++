#include "ubx.h"
#include "nmea-reader.h"
#include "ubx-request.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace horloge;
using namespace horloge::ubx;

namespace {

std::vector<Frame> frames(const std::string& bytes, Framer& f, std::string* rest = nullptr) {
  std::vector<Frame> out;
  for (char c: bytes) {
    auto r = f.push(static_cast<uint8_t>(c));
    if (r == Framer::FRAME) out.push_back(f.frame());
    if (r == Framer::NOT_MINE && rest) *rest += c;
  }
  return out;
}

TimeLs announced() {
  TimeLs t;
  t.currLs = 18;
  t.lsChange = 1;
  t.timeToLsEvent = 2 * 86400 + 1;   // the midnight ending 31 December, from 30 December 00:00:00
  t.srcOfCurrLs = t.srcOfLsChange = 2;
  t.validCurrLs = t.validTimeToLsEvent = true;
  return t;
}
constexpr int64_t DEC30 = 1'798'588'800;   // 2026-12-30 00:00:00 UTC
constexpr int64_t JAN1 = 1'798'761'600;    // 2027-01-01 00:00:00 UTC

}  // namespace

TEST_CASE("ubx: Fletcher checksum of a known frame") {
  // UBX-CFG-MSG enabling NAV-TIMELS on the current port, as u-center writes it.
  std::string f = frame(CLASS_CFG, ID_CFG_MSG, std::string("\x01\x26\x01", 3));
  CHECK(f == std::string("\xB5\x62\x06\x01\x03\x00\x01\x26\x01\x32\x8f", 11));
}

TEST_CASE("ubx: TIMELS round trip and the frames that enable it") {
  TimeLs t = announced();
  std::string bytes = frame(CLASS_NAV, ID_NAV_TIMELS, encodeTimeLs(t));
  CHECK(bytes.size() == 8 + TIMELS_LENGTH);
  Framer f;
  auto got = frames(bytes, f);
  REQUIRE(got.size() == 1);
  auto d = decodeTimeLs(got[0].payload);
  REQUIRE(d);
  CHECK(d->currLs == 18);
  CHECK(d->lsChange == 1);
  CHECK(d->timeToLsEvent == 2 * 86400 + 1);
  CHECK(d->validCurrLs);
  CHECK(d->validTimeToLsEvent);

  auto enable = enableTimeLs();
  REQUIRE(enable.size() == 2);
  Framer g;
  std::string all = enable[0] + enable[1];
  auto cfg = frames(all, g);
  REQUIRE(cfg.size() == 2);
  CHECK(cfg[0].cls == CLASS_CFG);
  CHECK(cfg[0].id == ID_CFG_MSG);
  CHECK(cfg[1].id == ID_CFG_VALSET);
  CHECK(cfg[1].payload.size() == 4 + 2 * 5);
}

TEST_CASE("ubx: leap report in UTC terms") {
  TimeLs t = announced();
  LeapReport r = leapReport(t, DEC30);
  CHECK(r.currentValid);
  CHECK(r.taiMinusUtc == 37);
  CHECK(r.changeValid);
  CHECK(r.change == 1);
  CHECK(r.atUnix == JAN1);
  // A second either side of the epoch still names the same midnight.
  CHECK(leapReport(t, DEC30 + 1).atUnix == JAN1);
  CHECK(leapReport(t, DEC30 - 2).atUnix == JAN1);
  // Without the epoch's UTC second the event is not dated.
  CHECK_FALSE(leapReport(t, 0).changeValid);
  // Invalid flags, an impossible GPS-UTC, an impossible change.
  t.validCurrLs = false;
  CHECK_FALSE(leapReport(t, DEC30).currentValid);
  t = announced();
  t.currLs = -3;
  CHECK_FALSE(leapReport(t, DEC30).currentValid);
  t = announced();
  t.lsChange = 5;
  CHECK_FALSE(leapReport(t, DEC30).changeValid);
}

TEST_CASE("ubx: bad checksum, truncated, oversized and unknown frames") {
  std::string good = frame(CLASS_NAV, ID_NAV_TIMELS, encodeTimeLs(announced()));
  SUBCASE("bad checksum: dropped and counted, the next frame is read") {
    std::string bad = good;
    bad[10] ^= 0x40;   // a payload byte
    Framer f;
    auto got = frames(bad + good, f);
    CHECK(got.size() == 1);
    CHECK(f.bad() == 1);
    CHECK(f.good() == 1);
  }
  SUBCASE("truncated: a frame cut short swallows what follows, up to its length, then resyncs") {
    Framer f;
    auto got = frames(good.substr(0, 12) + good + good, f);
    CHECK(got.size() >= 1);
    CHECK(f.bad() >= 1);
    auto d = decodeTimeLs(got.back().payload);
    CHECK(d);
  }
  SUBCASE("oversized length: dropped at once, without waiting for 64 KiB") {
    std::string huge("\xB5\x62\x01\x26\xff\xff", 6);
    Framer f;
    auto got = frames(huge + good, f);
    CHECK(got.size() == 1);
    CHECK(f.bad() == 1);
  }
  SUBCASE("unknown class: a good frame, not a TIMELS") {
    Framer f;
    auto got = frames(frame(0x7f, 0x01, "hello"), f);
    REQUIRE(got.size() == 1);
    CHECK(got[0].cls == 0x7f);
    CHECK_FALSE(decodeTimeLs(got[0].payload));
  }
  SUBCASE("TIMELS of another length or version is refused") {
    CHECK_FALSE(decodeTimeLs(std::string(23, '\0')));
    std::string v1 = encodeTimeLs(announced());
    v1[4] = 1;
    CHECK_FALSE(decodeTimeLs(v1));
  }
  SUBCASE("ASCII and a stray sync byte go to NMEA") {
    Framer f;
    std::string rest;
    frames("$GP\xB5Z*00\r\n", f, &rest);
    CHECK(rest == "$GPZ*00\r\n");
  }
}

TEST_CASE("ubx: interleaved with NMEA in one stream") {
  using namespace horloge::refclock;
  std::vector<int64_t> seconds;
  NmeaStream stream([&](int64_t s, int64_t) { seconds.push_back(s); });
  std::string zda = nmea::withChecksum("$GPZDA,000000.00,30,12,2026,00,00") + "\r\n";
  std::string timels = frame(CLASS_NAV, ID_NAV_TIMELS, encodeTimeLs(announced()));
  std::string bad = timels;
  bad[12] ^= 1;
  std::string noise = frame(0x0a, 0x04, std::string(40, '$'));   // MON-VER-like, '$' inside
  std::string bytes = zda + timels + noise + bad + zda;
  int64_t arrival = (DEC30 * 1'000'000'000LL) + 150'000'000;
  stream.feed(kj::arrayPtr(bytes.data(), bytes.size()), arrival);
  CHECK(seconds.size() == 2);
  CHECK(stream.figures().bad == 0);             // the '$' inside a UBX payload is no sentence
  CHECK(stream.figures().ubxFrames == 2);
  CHECK(stream.figures().ubxBad == 1);
  REQUIRE(stream.figures().leap);
  CHECK(stream.figures().leap->atUnix == JAN1);

  capnp::MallocMessageBuilder m;
  auto st = m.initRoot<ipc::RefclockStatus>();
  stream.fillStatus(st);
  CHECK(st.getUbxFrames() == 2);
  CHECK(st.getLeap().getReceivedNs() == arrival);
  CHECK(st.getLeap().getTaiMinusUtc() == 37);
  CHECK(st.getLeap().getChange() == 1);
  CHECK(st.getLeap().getAtNs() == JAN1 * 1'000'000'000LL);
}

TEST_CASE("ubx: ACK-ACK and ACK-NAK (class 0x05) framed, checked and decoded") {
  // u-blox's own example: ACK-ACK for CFG-MSG is B5 62 05 01 02 00 06 01 0F 38.
  std::string ack = ackFrame(true, CLASS_CFG, ID_CFG_MSG);
  CHECK(ack == std::string("\xB5\x62\x05\x01\x02\x00\x06\x01\x0F\x38", 10));
  Framer f;
  std::string nmea;
  auto got = frames("$GPZDA\r\n" + ack + ackFrame(false, CLASS_CFG, ID_CFG_VALSET), f, &nmea);
  CHECK(nmea == "$GPZDA\r\n");
  REQUIRE(got.size() == 2);
  auto a = decodeAck(got[0]);
  REQUIRE(a);
  CHECK(a->accepted);
  CHECK(a->cls == CLASS_CFG);
  CHECK(a->id == ID_CFG_MSG);
  auto n = decodeAck(got[1]);
  REQUIRE(n);
  CHECK_FALSE(n->accepted);
  CHECK(n->id == ID_CFG_VALSET);
  // A bad checksum is dropped by the framer; an ACK of the wrong length or id is not an ACK.
  std::string corrupt = ack;
  corrupt[9] ^= 1;
  Framer g;
  CHECK(frames(corrupt, g).empty());
  CHECK(g.bad() == 1);
  CHECK_FALSE(decodeAck(Frame{CLASS_ACK, ID_ACK_ACK, std::string("\x06", 1)}));
  CHECK_FALSE(decodeAck(Frame{CLASS_ACK, 0x02, std::string("\x06\x01", 2)}));
  CHECK_FALSE(decodeAck(Frame{CLASS_NAV, ID_ACK_ACK, std::string("\x06\x01", 2)}));
}

TEST_CASE("ubx: the NAV-TIMELS request: one ACK is enough; refusals and silence retried, bounded") {
  constexpr int64_t S = 1'000'000'000;
  Ack msgOk{true, CLASS_CFG, ID_CFG_MSG}, msgNo{false, CLASS_CFG, ID_CFG_MSG};
  Ack valsetNo{false, CLASS_CFG, ID_CFG_VALSET};

  TimeLsRequest m8;   // knows CFG-MSG, refuses CFG-VALSET
  CHECK(m8.describe().empty());
  CHECK(m8.start(0).size() == 2);
  CHECK(m8.state() == TimeLsRequest::State::WAITING);
  m8.onAck(valsetNo);
  CHECK(m8.poll(S / 2).empty());   // the other frame's answer may still come
  m8.onAck(msgOk);
  CHECK(m8.state() == TimeLsRequest::State::ACCEPTED);
  CHECK(m8.poll(10 * S).empty());
  CHECK(m8.acks() == 1);
  CHECK(m8.naks() == 1);
  CHECK(m8.describe() == "NAV-TIMELS enabled");

  TimeLsRequest old;   // refuses both: sent again at once, three times in all
  bool asked = !old.start(0).empty();
  int sent = 1;
  for (int64_t t = 0; t < 10 * S; t += S) {
    if (asked) {
      old.onAck(msgNo);
      old.onAck(valsetNo);
    }
    asked = !old.poll(t).empty();
    sent += asked;
  }
  CHECK(sent == TimeLsRequest::MAX_ATTEMPTS);
  CHECK(old.attempts() == TimeLsRequest::MAX_ATTEMPTS);
  CHECK(old.state() == TimeLsRequest::State::REFUSED);
  CHECK(old.naks() == 2 * TimeLsRequest::MAX_ATTEMPTS);
  old.onAck(msgNo);                                       // answers after the end still counted
  CHECK(old.naks() == 2 * TimeLsRequest::MAX_ATTEMPTS + 1);
  CHECK(old.state() == TimeLsRequest::State::REFUSED);
  CHECK(old.describe().find("no leap second information") != std::string::npos);

  TimeLsRequest silent;   // not a u-blox, or its RX line not wired
  silent.start(0);
  CHECK(silent.poll(TimeLsRequest::ANSWER_NS - 1).empty());
  CHECK(silent.poll(TimeLsRequest::ANSWER_NS).size() == 2);
  CHECK(silent.poll(2 * TimeLsRequest::ANSWER_NS).size() == 2);
  CHECK(silent.poll(3 * TimeLsRequest::ANSWER_NS).empty());
  CHECK(silent.state() == TimeLsRequest::State::UNANSWERED);
  CHECK(silent.attempts() == 3);

  TimeLsRequest quiet;   // sends TIMELS without acknowledging (answers lost): as good as an ACK
  quiet.start(0);
  quiet.onTimeLs();
  CHECK(quiet.state() == TimeLsRequest::State::ACCEPTED);
  CHECK(quiet.poll(10 * S).empty());
  // Answers to frames we did not send are not ours.
  TimeLsRequest other;
  other.start(0);
  other.onAck(Ack{true, CLASS_CFG, 0x08});
  other.onAck(Ack{true, CLASS_NAV, ID_CFG_MSG});
  CHECK(other.state() == TimeLsRequest::State::WAITING);
  CHECK(other.acks() == 0);
  // A device opened again starts afresh.
  old.start(20 * S);
  CHECK(old.state() == TimeLsRequest::State::WAITING);
  CHECK(old.attempts() == 1);
}
