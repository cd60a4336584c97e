// libFuzzer target for the UBX frames refclockd reads beside NMEA (refclockd/ubx.h) and for the
// stream that splits the two (refclockd/nmea-reader.h). Asserts: a frame is only returned with
// a payload within MAX_PAYLOAD whose checksum recomputes; the counters only grow; a TIMELS is
// decoded only at its documented length and version and survives a re-encoding; the leap report
// made of it names a UTC midnight and a plausible TAI - UTC; NMEA and UBX interleaved never
// crash the stream; after any garbage, 264 bytes of silence and one good TIMELS are read (resync);
// an ACK-ACK/NAK is decoded only at its documented class, ids and length and re-encodes to the
// same frame; the NAV-TIMELS request, fed the input's ACKs, never sends more than MAX_ATTEMPTS.
#include "nmea-reader.h"
#include "ubx.h"
#include "ubx-request.h"
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace horloge;

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "ubx-fuzz: violated: %s\n", what);
  abort();
}
#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

void checkFrame(const ubx::Frame& f, ubx::TimeLsRequest& request, int64_t& now) {
  CHECK(f.payload.size() <= ubx::MAX_PAYLOAD);
  if (auto a = ubx::decodeAck(f)) {
    CHECK(f.cls == ubx::CLASS_ACK && f.payload.size() == 2);
    CHECK(ubx::ackFrame(a->accepted, a->cls, a->id) == ubx::frame(f.cls, f.id, f.payload));
    request.onAck(*a);
    now += ubx::TimeLsRequest::ANSWER_NS / 3;
    if (!request.poll(now).empty()) CHECK(request.attempts() <= ubx::TimeLsRequest::MAX_ATTEMPTS);
    return;
  }
  std::string again = ubx::frame(f.cls, f.id, f.payload);
  CHECK(again.size() == f.payload.size() + 8);
  auto [a, b] = ubx::checksum(std::string_view(again).substr(2, again.size() - 4));
  CHECK(uint8_t(again[again.size() - 2]) == a && uint8_t(again[again.size() - 1]) == b);
  auto t = ubx::decodeTimeLs(f.payload);
  if (!t) return;
  CHECK(f.payload.size() == ubx::TIMELS_LENGTH && f.payload[4] == 0);
  auto back = ubx::decodeTimeLs(ubx::encodeTimeLs(*t));
  CHECK(back && back->currLs == t->currLs && back->lsChange == t->lsChange &&
        back->timeToLsEvent == t->timeToLsEvent && back->validCurrLs == t->validCurrLs &&
        back->validTimeToLsEvent == t->validTimeToLsEvent && back->iTowMs == t->iTowMs);
  for (int64_t epoch: {int64_t(0), int64_t(1'796'428'800)}) {
    ubx::LeapReport r = ubx::leapReport(*t, epoch);
    if (r.currentValid) CHECK(r.taiMinusUtc >= 19 && r.taiMinusUtc <= 99);
    if (r.changeValid) {
      CHECK(epoch != 0 && r.change >= -1 && r.change <= 1);
      if (r.change != 0) CHECK(r.atUnix % 86400 == 0);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ubx::Framer framer;
  ubx::TimeLsRequest request;
  int64_t now = 0;
  request.start(now);
  uint64_t good = 0, bad = 0;
  for (size_t i = 0; i < size; ++i) {
    auto r = framer.push(data[i]);
    if (r == ubx::Framer::FRAME) checkFrame(framer.frame(), request, now);
    if (r == ubx::Framer::NOT_MINE) CHECK(!framer.inside());
    CHECK(framer.good() >= good && framer.bad() >= bad);
    CHECK(framer.good() + framer.bad() <= good + bad + 1);
    good = framer.good();
    bad = framer.bad();
  }

  CHECK(request.attempts() >= 1 && request.attempts() <= ubx::TimeLsRequest::MAX_ATTEMPTS);
  CHECK(request.poll(now + 10 * ubx::TimeLsRequest::ANSWER_NS).empty() ||
        request.attempts() <= ubx::TimeLsRequest::MAX_ATTEMPTS);

  // The whole input as a serial stream of NMEA and UBX, split over two reads.
  uint64_t times = 0;
  refclock::NmeaStream stream([&](int64_t, int64_t) { ++times; });
  std::string bytes(reinterpret_cast<const char*>(data), size);
  size_t half = size / 2;
  stream.feed(kj::arrayPtr(bytes.data(), half), 1'796'428'800'000'000'000);
  stream.feed(kj::arrayPtr(bytes.data() + half, size - half), 1'796'428'800'500'000'000);
  auto& fig = stream.figures();
  CHECK(fig.ubxFrames * 8 <= size && fig.sentences <= size);

  // Resync: silence longer than any frame, then a good TIMELS is read.
  std::string quiet(ubx::MAX_PAYLOAD + 8, '\0');
  for (char c: quiet) framer.push(static_cast<uint8_t>(c));
  CHECK(!framer.inside());
  ubx::TimeLs t;
  t.currLs = 18;
  t.validCurrLs = true;
  std::string frame = ubx::frame(ubx::CLASS_NAV, ubx::ID_NAV_TIMELS, ubx::encodeTimeLs(t));
  int frames = 0;
  for (char c: frame) frames += framer.push(static_cast<uint8_t>(c)) == ubx::Framer::FRAME;
  CHECK(frames == 1 && ubx::decodeTimeLs(framer.frame().payload)->currLs == 18);
  return 0;
}
