#include "poller.h"
#include "ntp-time.h"
#include <algorithm>

namespace horloge::netd {

namespace {
constexpr int MAX_POLL = 17;
constexpr int BURST = 4;
constexpr uint32_t KISS_RATE_CODE = 0x52415445;
}  // namespace

Poller::Poller(const ServerConf& c)
    : minpoll(c.minpoll), maxpoll(c.maxpoll), floorPoll(c.minpoll), pollNow(c.minpoll),
      iburst(c.iburst), burstLeft(c.iburst ? BURST : 0) {}

void Poller::makeRequest(uint8_t* out, int64_t t1Ns, uint64_t random) {
  if (random == 0) random = 1;   // 0 means "no request in flight"
  std::fill(out, out + 48, uint8_t(0));
  out[0] = (0 << 6) | (4 << 3) | 3;   // LI 0, version 4, client
  out[2] = static_cast<uint8_t>(pollNow);
  ntp::store64(out + 40, random);
  // A request never answered still counted as a poll: the reach register shifts now.
  reachBits = static_cast<uint8_t>(reachBits << 1);
  expected = random;
  t1 = t1Ns;
  if (burstLeft > 0) --burstLeft;
}

Verdict Poller::onReply(const uint8_t* p, size_t length, int64_t t4Ns, Exchange& out) {
  if (length < 48) return Verdict::BOGUS;
  unsigned version = (p[0] >> 3) & 7, mode = p[0] & 7;
  if (mode != 4 || version < 1 || version > 4) return Verdict::BOGUS;
  uint64_t origin = ntp::load64(p + 24);
  if (expected == 0 || origin != expected) {
    return origin != 0 && origin == answered ? Verdict::DUPLICATE : Verdict::BOGUS;
  }
  uint8_t stratum = p[1];
  uint32_t refid = ntp::load32(p + 12);
  if (stratum == 0) {
    // A kiss: only after the origin check, so an off-path forger cannot silence a server.
    if (refid == KISS_RATE_CODE) {
      answered = expected;
      expected = 0;
      floorPoll = std::min(std::max(pollNow + 1, int(int8_t(p[2]))), MAX_POLL);
      pollNow = floorPoll;
      burstLeft = 0;
      return Verdict::KOD_RATE;
    }
    if (refid == KISS_DENY || refid == KISS_RSTR) {
      answered = expected;
      expected = 0;
      isStopped = true;
      return Verdict::KOD_STOP;
    }
    return Verdict::BOGUS;   // unknown kiss codes: ignored (RFC 5905 7.4)
  }
  uint64_t xmt = ntp::load64(p + 40);
  if (xmt == 0) return Verdict::BOGUS;
  answered = expected;
  expected = 0;
  reachBits |= 1;
  out.t1Ns = t1;
  out.t4Ns = t4Ns;
  out.t2Ns = ntp::toUnixNs(ntp::load64(p + 32), t1);
  out.t3Ns = ntp::toUnixNs(xmt, t1);
  out.leap = p[0] >> 6;
  out.stratum = stratum;
  out.poll = static_cast<int8_t>(pollNow);
  // Past MAXDISP (16 s) a server's distance means only "unusable": said as 16 s, which clockd
  // takes (and rates so), where a larger value would have the whole report refused.
  constexpr uint32_t MAXDISP = 16u << 16;
  out.rootDelay = std::min(ntp::load32(p + 4), MAXDISP);
  out.rootDispersion = std::min(ntp::load32(p + 8), MAXDISP);
  out.refid = refid;
  bool synced = out.leap != 3 && stratum < 16;
  if (synced && unsynced && iburst) burstLeft = BURST - 1;   // this reply was the first
  unsynced = !synced;
  if (!synced || !settled) goodRun = 0;
  else if (++goodRun >= 4 && pollNow < maxpoll) {
    ++pollNow;
    goodRun = 0;
  }
  return Verdict::SAMPLE;
}

void Poller::onTimeout() {
  expected = 0;
  goodRun = 0;
  if (pollNow > floorPoll) --pollNow;
}

double Poller::nextDelay() const {
  constexpr int UNSYNCHRONISED_POLL = 4;
  double interval = double(int64_t(1) << (settled ? pollNow : std::min(pollNow, UNSYNCHRONISED_POLL)));
  return burstLeft > 0 ? std::min(2.0, interval) : interval;
}

}  // namespace horloge::netd
