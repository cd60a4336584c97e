#include "status-text.h"
#include "ipc.h"
#include "ntp-time.h"
#include "table.h"
#include <cinttypes>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <kj/vector.h>

namespace horloge::ctl {

namespace {

// Columns padded to their widest cell, two spaces apart; the last column is not padded.
class Table {
public:
  template <typename... Cells>
  void row(Cells&&... cells) { rows.add(kj::arr(kj::str(kj::fwd<Cells>(cells))...)); }

  void renderTo(kj::Vector<char>& out) const {
    kj::Vector<size_t> widths;
    for (auto& r: rows) {
      for (size_t i = 0; i < r.size(); ++i) {
        if (i >= widths.size()) widths.add(0);
        widths[i] = kj::max(widths[i], r[i].size());
      }
    }
    for (auto& r: rows) {
      for (size_t i = 0; i < r.size(); ++i) {
        out.addAll(r[i]);
        if (i + 1 < r.size()) for (size_t n = r[i].size(); n < widths[i] + 2; ++n) out.add(' ');
      }
      out.add('\n');
    }
  }

private:
  kj::Vector<kj::Array<kj::String>> rows;
};

kj::String orDash(kj::StringPtr text) { return text.size() ? printable(text) : kj::str("-"); }

template <typename... Args>
kj::String format(const char* fmt, Args... args) {
  char buf[64];
  snprintf(buf, sizeof(buf), fmt, args...);
  return kj::heapString(buf);
}

// Seconds in the unit a time-keeper reads: ns, us, ms or s.
kj::String seconds(double s, bool sign) {
  double a = std::fabs(s);
  if (!std::isfinite(s)) return format("%g s", s);
  if (a < 1e-6) return format(sign ? "%+.0f ns" : "%.0f ns", s * 1e9);
  if (a < 1e-3) return format(sign ? "%+.3f us" : "%.3f us", s * 1e6);
  if (a < 1) return format(sign ? "%+.3f ms" : "%.3f ms", s * 1e3);
  return format(sign ? "%+.3f s" : "%.3f s", s);
}

kj::String nsAgo(int64_t thenNs, int64_t nowNs) {
  if (thenNs == 0) return kj::str("never");
  return kj::str(seconds(double(nowNs - thenNs) * 1e-9, false), " ago");
}

// "receiver, valid until 2026-12-06 18:00:00 UTC", or "none".
kj::String leapKnowledge(ipc::ClockStatus::Reader clock) {
  if (clock.getLeapSource().size() == 0) return kj::str("none");
  time_t t = clock.getLeapValidUntilNs() / 1'000'000'000;
  struct tm u;
  gmtime_r(&t, &u);
  char buf[40];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &u);
  return kj::str(printable(clock.getLeapSource()), ", valid until ", buf);
}

void daemonRow(Table& table, kj::StringPtr name, bool up, ipc::DaemonInfo::Reader info) {
  if (!up) {
    table.row(name, "down", "-", "-", "-", "-", "-");
    return;
  }
  table.row(name, "up", info.getPid(), info.getUid(), format("%016" PRIx64, info.getCapEff()),
            info.getNoNewPrivs() ? "yes" : "no", seccompName(info.getSeccomp()));
}

void renderClock(ipc::SystemStatus::Reader status, kj::Vector<char>& out) {
  auto clock = status.getClock();
  Table t;
  t.row("clock", orDash(clock.getBackend()));
  auto reason = clock.getReason();
  t.row("state", reason.size() ? kj::str(ipc::syncStateName(clock.getState()), " (", printable(reason), ")")
                               : kj::str(ipc::syncStateName(clock.getState())));
  t.row("stratum", clock.getServer().getStratum());
  t.row("refid", orDash(clock.getRefid()));
  t.row("source", orDash(clock.getSourceKind()));
  auto server = clock.getServer();
  t.row("max error", kj::str(seconds(ntp::secondsFromShort(server.getRootDelay()) / 2 +
                                     ntp::secondsFromShort(server.getRootDispersion()), false),
                             " (root delay/2 + root dispersion)"));
  t.row("offset", seconds(clock.getOffset(), true));
  t.row("jitter", seconds(clock.getJitter(), false));
  t.row("frequency", format("%+.3f ppm", clock.getFrequency()));
  auto temp = clock.getTemperature();
  if (temp.getSensor().size() > 0) {
    kj::String reading = std::isnan(temp.getCelsius()) ? kj::str("-")
                                                      : format("%.1f C", temp.getCelsius());
    if (temp.getProblem().size() > 0) reading = kj::str(reading, " (", printable(temp.getProblem()), ")");
    else if (temp.getActive()) {
      reading = kj::str(reading, format(", %+.4f +/- %.4f ppm/C followed", temp.getLinear(),
                                        temp.getLinearSigma()));
    } else {
      reading = kj::str(reading, ", learning");
    }
    t.row("temperature", reading);
  }
  t.row("samples", kj::str(clock.getSamples(), " (last ",
                           nsAgo(clock.getLastSampleNs(), status.getGeneratedNs()), ")"));
  t.row("rejected", kj::str(clock.getRejectedMessages(), " peer messages"));
  t.row("leap", leapKnowledge(clock));
  if (clock.getGpsAlarm().size() > 0) t.row("GPS alarm", printable(clock.getGpsAlarm()));
  if (clock.getLeapAlarm().size() > 0) t.row("leap alarm", printable(clock.getLeapAlarm()));
  t.renderTo(out);
}

void renderDaemons(ipc::SystemStatus::Reader status, kj::Vector<char>& out) {
  Table t;
  t.row("daemon", "state", "pid", "uid", "CapEff", "NoNewPrivs", "Seccomp");
  daemonRow(t, roleName(Role::CLOCKD), true, status.getClockd());
  daemonRow(t, roleName(Role::REFCLOCKD), status.getRefclockd().getConnected(), status.getRefclockd().getInfo());
  daemonRow(t, roleName(Role::NETD), status.getNetd().getConnected(), status.getNetd().getInfo());
  if (status.getNts().getEnabled()) {
    daemonRow(t, roleName(Role::NTSKD), status.getNtskd().getConnected(), status.getNtskd().getInfo());
  }
  t.renderTo(out);
}

// NTS: the keys clockd holds (count, age, rotations: never the keys), netd's NTS requests and
// ntskd's key exchanges with their failures by reason.
void renderNts(ipc::SystemStatus::Reader status, kj::Vector<char>& out) {
  auto nts = status.getNts();
  Table t;
  t.row("NTS", "keys", "key age", "rotations", "requests", "NAKs", "cookies", "malformed");
  auto netd = status.getNetd();
  bool up = netd.getConnected();
  auto s = netd.getBody();
  t.row("", nts.getKeys(), seconds(double(nts.getCurrentKeyAgeNs()) * 1e-9, false),
        nts.getRotations(), up ? kj::str(s.getNtsRequests()) : kj::str("-"),
        up ? kj::str(s.getNtsNaks()) : kj::str("-"),
        up ? kj::str(s.getNtsCookiesIssued()) : kj::str("-"),
        up ? kj::str(s.getDroppedNts()) : kj::str("-"));
  auto ke = status.getNtskd();
  if (ke.getConnected()) {
    auto k = ke.getBody();
    t.row("NTS-KE", "sessions", "completed", "cookies", "open", "busy", "handshake", "ALPN");
    t.row("", k.getSessions(), k.getCompleted(), k.getCookiesIssued(), k.getOpenConnections(),
          k.getRefusedBusy(), k.getFailedHandshake(), k.getFailedAlpn());
    t.row("", "limited", "timeout", "truncated", "oversized", "critical", "bad request", "I/O");
    t.row("", k.getRefusedRate(), k.getFailedTimeout(), k.getFailedTruncated(),
          k.getFailedOversized(), k.getFailedUnknownCritical(), k.getFailedBadRequest(),
          k.getFailedIo());
  }
  t.renderTo(out);
}

void renderRefclocks(ipc::SystemStatus::Reader status, kj::Vector<char>& out) {
  auto peer = status.getRefclockd();
  if (!peer.getConnected()) return;
  Table t;
  t.row("refclock", "locked", "samples", "NMEA delay", "NMEA bad", "fix", "sats", "fault");
  for (auto rc: peer.getBody()) {
    t.row(orDash(rc.getName()), rc.getLocked() ? "yes" : "no", rc.getSamples(),
          seconds(double(rc.getNmeaDelayNs()) * 1e-9, false),
          kj::str(rc.getNmeaBad(), "/", rc.getNmeaSentences()), rc.getFixQuality(),
          rc.getSatellitesUsed(), orDash(rc.getFault()));
  }
  if (peer.getBody().size() == 0) t.row("(none)");
  t.renderTo(out);
}

void renderNetd(ipc::SystemStatus::Reader status, kj::Vector<char>& out) {
  auto peer = status.getNetd();
  if (!peer.getConnected()) return;
  auto s = peer.getBody();
  Table t;
  t.row(roleName(Role::NETD), "received", "answered", "dropped", "kernel RX", "user RX", "state age");
  t.row("", s.getReceived(), s.getAnswered(), s.getDropped(), s.getKernelRxStamps(),
        s.getUserRxStamps(), seconds(double(s.getStateAgeNs()) * 1e-9, false));
  // One table, so that the three header rows and their values share column widths.
  t.row("", "rate limited", "KoD", "denied", "own addr", "send errors", "interleaved",
        "kernel TX");
  t.row("", s.getRateLimited(), s.getKodSent(), s.getDroppedDenied(), s.getDroppedOwnAddress(),
        s.getSendErrors(), s.getInterleaved(), s.getKernelTxStamps());
  t.row("", "length", "version", "mode", "extension", "auth", "source", "v1/v2/v3/v4");
  t.row("", s.getDroppedLength(), s.getDroppedVersion(), s.getDroppedMode(),
        s.getDroppedExtension(), s.getDroppedAuth(), s.getDroppedSource(),
        kj::str(s.getRequestsV1(), "/", s.getRequestsV2(), "/", s.getRequestsV3(), "/",
                s.getRequestsV4()));
  t.renderTo(out);
}

void renderDownNotes(ipc::SystemStatus::Reader status, kj::Vector<char>& out) {
  auto note = [&](kj::StringPtr name, bool connected, int64_t lastSeenNs) {
    if (connected) return;
    out.addAll(kj::str(name, " is down (last seen ", nsAgo(lastSeenNs, status.getGeneratedNs()),
                       ")\n"));
  };
  note(roleName(Role::REFCLOCKD), status.getRefclockd().getConnected(), status.getRefclockd().getLastSeenNs());
  note(roleName(Role::NETD), status.getNetd().getConnected(), status.getNetd().getLastSeenNs());
  if (status.getNts().getEnabled()) {
    note(roleName(Role::NTSKD), status.getNtskd().getConnected(), status.getNtskd().getLastSeenNs());
  }
}

}  // namespace

kj::StringPtr seccompName(uint8_t mode) {
  switch (mode) {
    case 0: return "off";
    case 1: return "strict";
    case 2: return "filter";
  }
  return "?";
}

kj::String renderStatus(ipc::SystemStatus::Reader status) {
  kj::Vector<char> out;
  renderClock(status, out);
  out.add('\n');
  renderDaemons(status, out);
  if (status.getRefclockd().getConnected()) {
    out.add('\n');
    renderRefclocks(status, out);
  }
  if (status.getNetd().getConnected()) {
    out.add('\n');
    renderNetd(status, out);
  }
  if (status.getNts().getEnabled()) {
    out.add('\n');
    renderNts(status, out);
  }
  if (downPeers(status).size() > 0) {
    out.add('\n');
    renderDownNotes(status, out);
  }
  out.add('\0');
  return kj::String(out.releaseAsArray());
}

kj::Array<kj::StringPtr> downPeers(ipc::SystemStatus::Reader status) {
  kj::Vector<kj::StringPtr> down;
  if (!status.getRefclockd().getConnected()) down.add(roleName(Role::REFCLOCKD));
  if (!status.getNetd().getConnected()) down.add(roleName(Role::NETD));
  if (status.getNts().getEnabled() && !status.getNtskd().getConnected()) {
    down.add(roleName(Role::NTSKD));
  }
  return down.releaseAsArray();
}

}  // namespace horloge::ctl
