#include "nmea-reader.h"
#include <kj/debug.h>
#include <cmath>

namespace horloge::refclock {

void NmeaStream::feed(kj::ArrayPtr<const char> bytes, int64_t arrivalNs) {
  for (char c: bytes) {
    switch (ubxFramer.push(static_cast<uint8_t>(c))) {
      case ubx::Framer::NOT_MINE: break;
      case ubx::Framer::TAKEN: fig.ubxBad = ubxFramer.bad(); continue;
      case ubx::Framer::FRAME: onUbx(ubxFramer.frame(), arrivalNs); continue;
    }
    uint64_t droppedBefore = framer.overlong() + framer.torn();
    if (framer.push(c)) onSentence(framer.sentence(), arrivalNs);
    fig.bad += framer.overlong() + framer.torn() - droppedBefore;
  }
}

void NmeaStream::onSentence(std::string_view line, int64_t arrivalNs) {
  nmea::Sentence s;
  switch (nmea::parse(line, s)) {
    case nmea::Error::NONE: break;
    case nmea::Error::UNSUPPORTED: ++fig.sentences; return;
    case nmea::Error::SYNTAX:
    case nmea::Error::CHECKSUM: ++fig.bad; return;
  }
  ++fig.sentences;
  if (s.type == "GGA" || s.type == "GNS") {
    fig.fixQuality = s.fixQuality;
    if (s.satellitesUsed >= 0) fig.satellitesUsed = s.satellitesUsed;
    if (s.hdop >= 0) fig.hdop = s.hdop;
  }
  if (s.type == "GSA" && s.pdop >= 0) fig.pdop = s.pdop;
  if (s.type == "GSA" && s.hdop >= 0) fig.hdop = s.hdop;
  if (s.position) {
    // RMC has no altitude: keep the one GGA/GNS gave.
    auto alt = s.position->altitude ? s.position->altitude
                                    : (fig.position ? fig.position->altitude : std::nullopt);
    fig.position = s.position;
    fig.position->altitude = alt;
  }
  if (s.type == "GSV") onGsv(s);
  if (s.time) {
    fig.lastTimeNs = arrivalNs;
    fig.lastUtcSecond = s.time->unixSeconds();
    onTime(s.time->unixSeconds(), arrivalNs);
  }
}

void NmeaStream::onUbx(const ubx::Frame& f, int64_t arrivalNs) {
  fig.ubxFrames = ubxFramer.good();
  if (auto ack = ubx::decodeAck(f)) {
    request.onAck(*ack);
    return;
  }
  if (f.cls != ubx::CLASS_NAV || f.id != ubx::ID_NAV_TIMELS) return;   // other classes
  auto t = ubx::decodeTimeLs(f.payload);
  if (!t) {
    ++fig.ubxBad;   // a TIMELS of another length or version: not what we can read
    return;
  }
  // The epoch TIMELS belongs to is the one the time sentences of this burst name; without a
  // recent one the event cannot be dated (a system clock at boot may be hours off).
  bool recent = fig.lastTimeNs != 0 && arrivalNs - fig.lastTimeNs < 2 * ntp::NS_PER_S;
  fig.leap = ubx::leapReport(*t, recent ? fig.lastUtcSecond : 0);
  request.onTimeLs();
  fig.leapReceivedNs = arrivalNs;
}

void NmeaStream::onGsv(const nmea::Sentence& s) {
  Cycle& c = building[s.talker];
  if (s.gsvIndex == 1) c = Cycle{};
  c.inView = s.inView;
  for (int i = 0; i < s.satCount; ++i) c.sats.push_back(s.sats[i]);
  if (s.gsvIndex != s.gsvCount) return;
  complete[s.talker] = kj::mv(c);
  building.erase(s.talker);
  fig.satellitesInView = 0;
  fig.satellites.clear();
  for (auto& [talker, cycle]: complete) {
    fig.satellitesInView += cycle.inView;
    for (auto& sv: cycle.sats) fig.satellites.push_back({talker, sv});
  }
}

void NmeaStream::fillStatus(ipc::RefclockStatus::Builder out) const {
  out.setNmeaSentences(fig.sentences);
  out.setNmeaBad(fig.bad);
  out.setFixQuality(static_cast<uint8_t>(fig.fixQuality));
  out.setSatellitesUsed(static_cast<uint8_t>(fig.satellitesUsed));
  out.setSatellitesInView(static_cast<uint8_t>(fig.satellitesInView));
  out.setHdop(fig.hdop >= 0 ? fig.hdop : NAN);
  out.setPdop(fig.pdop >= 0 ? fig.pdop : NAN);
  out.setLatitude(fig.position ? fig.position->latitude : NAN);
  out.setLongitude(fig.position ? fig.position->longitude : NAN);
  out.setAltitude(fig.position && fig.position->altitude ? *fig.position->altitude : NAN);
  out.setUbxFrames(fig.ubxFrames);
  out.setUbxBad(fig.ubxBad);
  out.setUbxAcks(request.acks());
  out.setUbxNaks(request.naks());
  out.setUbxRequest(request.describe().c_str());
  if (fig.leap) {
    auto l = out.initLeap();
    l.setReceivedNs(fig.leapReceivedNs);
    l.setCurrentValid(fig.leap->currentValid);
    l.setTaiMinusUtc(static_cast<int16_t>(fig.leap->taiMinusUtc));
    l.setChangeValid(fig.leap->changeValid);
    l.setChange(static_cast<int8_t>(fig.leap->change));
    l.setAtNs(fig.leap->atUnix * ntp::NS_PER_S);
  }
  size_t n = std::min<size_t>(fig.satellites.size(), 128);
  auto list = out.initSatellites(n);
  for (size_t i = 0; i < n; ++i) {
    auto& s = fig.satellites[i];
    list[i].setSystem(s.system.c_str());
    list[i].setPrn(static_cast<uint16_t>(std::max(0, s.sv.prn)));
    list[i].setElevation(static_cast<int8_t>(s.sv.elevation));
    list[i].setAzimuth(static_cast<uint16_t>(std::max(0, s.sv.azimuth)));
    list[i].setSnr(static_cast<uint8_t>(std::max(0, s.sv.snr)));
  }
}

kj::Promise<void> readNmea(kj::AsyncInputStream& in, NmeaStream& stream) {
  auto buf = kj::heapArray<char>(256);
  auto ptr = buf.begin();
  auto size = buf.size();
  return in.tryRead(ptr, 1, size).then(
      [&in, &stream, buf = kj::mv(buf)](size_t n) mutable -> kj::Promise<void> {
    if (n == 0) return KJ_EXCEPTION(DISCONNECTED, "NMEA stream ended");
    stream.feed(buf.slice(0, n), realtimeNs());   // as soon as the bytes are ours
    return readNmea(in, stream);
  });
}

}  // namespace horloge::refclock
