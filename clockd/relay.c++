#include "relay.h"
#include <algorithm>
#include <cmath>

namespace horloge::clockd {

Intake takeReport(UpstreamSource& u, const UpstreamReport& r, double bias, double phaseNow,
                  const std::vector<uint32_t>& own) {
  u.heard = true;
  u.address = kj::str(r.address);
  u.noselect = r.noselect;
  u.prefer = r.prefer;
  u.poll = r.poll;
  u.reach = r.reach;
  u.stopped = r.stopped;
  if (!r.valid) return Intake::NO_SAMPLE;
  // Local minus server.
  double offset = ((r.t1Ns - r.t2Ns) + (r.t4Ns - r.t3Ns)) * 0.5e-9 + bias;
  double delay = ((r.t4Ns - r.t1Ns) - (r.t3Ns - r.t2Ns)) * 1e-9;
  // A round trip shorter than nothing: the server's clock, or ours, moved between the stamps.
  // Within what our own slew can do to the stamps it is a true round trip mismeasured, and its
  // size still bounds the error; beyond that the timestamps are not to be believed at all.
  if (delay < -(NEGATIVE_DELAY_FLOOR + NEGATIVE_DELAY_SLEW * (r.t4Ns - r.t1Ns) * 1e-9)) {
    ++u.inconsistent;
    return Intake::NO_SAMPLE;
  }
  delay = std::fabs(delay);
  u.stratum = r.stratum;
  u.leap = r.leap;
  u.refid = r.refid;
  u.rootDelay = r.rootDelay;
  u.rootDispersion = r.rootDispersion;
  bool wasLoop = u.loop;
  u.loop = isLoop(u.refid, own);
  if (u.firstNs == 0) u.firstNs = r.t4Ns;
  u.lastNs = r.t4Ns;
  // An unsynchronised server's time is no sample (RFC 5905's peer tests, chrony's): a
  // Stratum-1 answers LI=3 while it slews its own start-up offset.
  if (r.leap == 3 || r.stratum == 0 || r.stratum >= 16) {
    return u.loop && !wasLoop ? Intake::NO_SAMPLE_NEW_LOOP : Intake::NO_SAMPLE;
  }
  u.add(r.t4Ns, offset, delay, phaseNow);
  ++u.total;
  u.beenUsable = u.beenUsable || u.usable(r.t4Ns);
  return u.loop && !wasLoop ? Intake::SAMPLE_NEW_LOOP : Intake::SAMPLE;
}

bool startingUp(const UpstreamSource& u, int64_t nowNs) {
  double interval = std::ldexp(1.0, u.poll);
  return u.heard && !u.noselect && !u.loop && !u.stopped && !u.beenUsable && u.firstNs != 0 &&
         (nowNs - u.lastNs) * 1e-9 < std::max(8.0, 3 * interval) &&
         (nowNs - u.firstNs) * 1e-9 < STARTUP_WAIT;
}

bool relayBounded(const UpstreamSource& u, const Discipline& d, int64_t nowNs, double reading) {
  if (!d.started()) return false;
  double sigma = d.predictedSigma(std::max(0.0, reading - d.lastUpdate()));
  return std::fabs(d.predictedOffset(reading)) + 3 * sigma <= u.error(nowNs);
}

}  // namespace horloge::clockd
