#include "upstreams.h"
#include <algorithm>
#include <arpa/inet.h>
#include <cmath>
#include <cstdio>
#include <openssl/evp.h>

namespace horloge::clockd {

namespace {
constexpr double PHI = 15e-6;   // RFC 5905 dispersion growth, s/s
}

void ClockFilter::add(const NtpSample& s) {
  ring[head] = s;
  head = (head + 1) % SIZE;
  n = std::min(n + 1, SIZE);
}

std::optional<NtpSample> ClockFilter::best() const {
  if (n == 0) return std::nullopt;
  const NtpSample* b = nullptr;
  for (size_t i = 0; i < n; ++i) {
    if (b == nullptr || ring[i].delay < b->delay) b = &ring[i];
  }
  return *b;
}

double ClockFilter::jitter() const {
  auto b = best();
  if (!b || n < 2) return 0;
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += (ring[i].offset - b->offset) * (ring[i].offset - b->offset);
  return std::sqrt(ss / (n - 1));
}

double UpstreamSource::error(int64_t nowNs) const {
  auto b = filter.best();
  if (!b) return 16;
  double age = std::max(0.0, (nowNs - b->localNs) * 1e-9);
  return b->delay / 2 + rootDelay / 2 + rootDispersion + filter.jitter() + PHI * age + 1e-6;
}

bool UpstreamSource::usable(int64_t nowNs) const {
  double interval = std::ldexp(1.0, poll);
  return heard && filter.count() >= 2 && !loop && !stopped && stratum >= 1 && stratum < 16 &&
         leap != 3 && (nowNs - lastNs) * 1e-9 < std::max(8.0, 3 * interval);
}

Candidate UpstreamSource::candidate(int64_t nowNs) const {
  auto b = filter.best();
  return {SourceKind::NTP, usable(nowNs), b ? b->offset : 0, error(nowNs), filter.jitter()};
}

uint32_t refidOfAddress(const std::string& address) {
  in_addr a4;
  if (inet_pton(AF_INET, address.c_str(), &a4) == 1) return ntohl(a4.s_addr);
  in6_addr a6;
  if (inet_pton(AF_INET6, address.c_str(), &a6) != 1) return 0;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(a6.s6_addr, 16, md, &len, EVP_md5(), nullptr);
  return (uint32_t(md[0]) << 24) | (uint32_t(md[1]) << 16) | (uint32_t(md[2]) << 8) | md[3];
}

bool isLoop(uint32_t refid, const std::vector<uint32_t>& own) {
  return refid != 0 && std::find(own.begin(), own.end(), refid) != own.end();
}

RelayHeader relayHeader(const UpstreamSource& s, int64_t nowNs) {
  auto b = s.filter.best();
  double delay = b ? b->delay : 0;
  double age = b ? std::max(0.0, (nowNs - b->localNs) * 1e-9) : 0;
  return {static_cast<uint8_t>(std::min(16, s.stratum + 1)), refidOfAddress(s.address),
          s.rootDelay + delay, s.rootDispersion + s.filter.jitter() + PHI * age};
}

std::string crossCheck(const Candidate& gps, const std::vector<Candidate>& peers) {
  int asked = 0, disagree = 0;
  double worst = 0;
  for (auto& p: peers) {
    if (!p.usable) continue;
    ++asked;
    double d = gps.offset - p.offset;
    if (std::fabs(d) > gps.error + p.error) {
      ++disagree;
      if (std::fabs(d) > std::fabs(worst)) worst = d;
    }
  }
  if (!gps.usable || asked == 0 || 2 * disagree <= asked) return {};
  char buf[160];
  snprintf(buf, sizeof(buf),
           "GPS disagrees with %d of %d noselect peers by up to %+.6f s: GPS fault or spoofing "
           "suspected", disagree, asked, -worst);
  return buf;
}

bool GpsAlarm::update(const std::string& verdict, int64_t nowNs) {
  if (verdict.empty() != raised()) {
    if (raised()) current = verdict;   // still disagreeing: the newest figures
    pending = false;
    return false;
  }
  if (!pending) {
    pending = true;
    sinceNs = nowNs;
  }
  if ((nowNs - sinceNs) * 1e-9 < (raised() ? CLEAR_S : RAISE_S)) return false;
  current = verdict;
  pending = false;
  return true;
}

}  // namespace horloge::clockd
