#include "nmea-reader.h"
#include <kj/debug.h>

namespace horloge::refclock {

kj::Promise<void> NmeaReader::run(kj::Function<void(const Paired&)> onPaired) {
  sink = kj::mv(onPaired);
  return readMore();
}

kj::Promise<void> NmeaReader::readMore() {
  return in->tryRead(buf, 1, sizeof(buf)).then([this](size_t n) -> kj::Promise<void> {
    if (n == 0) return KJ_EXCEPTION(DISCONNECTED, "NMEA stream ended");
    int64_t arrival = realtimeNs();   // as soon as the bytes are ours
    for (size_t i = 0; i < n; ++i) {
      uint64_t overlongBefore = framer.overlong();
      if (framer.push(buf[i])) onSentence(framer.sentence(), arrival);
      fig.bad += framer.overlong() - overlongBefore;
    }
    return readMore();
  });
}

void NmeaReader::onSentence(std::string_view line, int64_t arrivalNs) {
  nmea::Sentence s;
  switch (nmea::parse(line, s)) {
    case nmea::Error::NONE: break;
    case nmea::Error::UNSUPPORTED: ++fig.sentences; return;
    case nmea::Error::SYNTAX:
    case nmea::Error::CHECKSUM: ++fig.bad; return;
  }
  ++fig.sentences;
  if (s.fixQuality >= 0) fig.fixQuality = s.fixQuality;
  if (s.satellitesUsed >= 0) fig.satellitesUsed = s.satellitesUsed;
  if (s.time) {
    if (auto p = pairing.onTime(s.time->unixSeconds(), arrivalNs)) sink(*p);
  }
}

}  // namespace horloge::refclock
