#include "metrics.h"
#include "ipc.h"
#include "netd-counters.h"
#include "source-name.h"
#include "exposition.h"
#include "ntp-time.h"
#include <cmath>

namespace horloge::monitord {

namespace {

// One metric of an object of reader type R: a table row, so that a new schema field is one line.
template <typename R>
struct Row {
  const char* name;
  const char* type;   // "gauge" | "counter"
  const char* help;
  double (*get)(R);
};

constexpr double NS = 1e-9;
constexpr double PER_MILLION = 1e6;   // the status says ppm; Prometheus wants the ratio
double nsToSeconds(int64_t ns) { return double(ns) * NS; }
double timestampOrNan(int64_t ns) { return ns == 0 ? NAN : double(ns) * NS; }

using Clock = ipc::ClockStatus::Reader;
const Row<Clock> CLOCK_ROWS[] = {
  {"ntp_system_synchronised", "gauge", "1 while serving synchronised time (locked)",
   [](Clock c) { return c.getState() == ipc::SyncState::LOCKED ? 1.0 : 0.0; }},
  {"ntp_system_stratum", "gauge", "Stratum advertised to clients",
   [](Clock c) { return double(c.getServer().getStratum()); }},
  {"ntp_system_offset_seconds", "gauge", "Local clock minus reference",
   [](Clock c) { return c.getOffset(); }},
  {"ntp_system_offset_sigma_seconds", "gauge", "1-sigma of the offset estimate",
   [](Clock c) { return c.getOffsetSigma(); }},
  {"ntp_system_jitter_seconds", "gauge", "RMS jitter of the samples",
   [](Clock c) { return c.getJitter(); }},
  {"ntp_system_frequency_offset_ratio", "gauge",
   "Estimated frequency error of the local oscillator, s/s (1e-6: 1 ppm fast)",
   [](Clock c) { return c.getFrequency() / PER_MILLION; }},
  {"ntp_system_frequency_sigma_ratio", "gauge", "1-sigma of the frequency estimate, s/s",
   [](Clock c) { return c.getFrequencySigma() / PER_MILLION; }},
  {"ntp_system_residual_frequency_ratio", "gauge",
   "The selected reference clock's frequency against the disciplined clock, s/s",
   [](Clock c) { return c.getResidualFrequency() / PER_MILLION; }},
  {"ntp_system_last_offset_seconds", "gauge", "Offset of the last sample that steered the clock",
   [](Clock c) { return c.getLastOffset(); }},
  {"ntp_system_rms_offset_seconds", "gauge", "RMS of the offsets that steered the clock",
   [](Clock c) { return c.getRmsOffset(); }},
  {"ntp_system_update_interval_seconds", "gauge", "Between the last two clock updates",
   [](Clock c) { return nsToSeconds(c.getUpdateIntervalNs()); }},
  {"ntp_system_wander", "gauge", "Measured frequency wander (s/s per sqrt(s))",
   [](Clock c) { return c.getWander(); }},
  {"ntp_system_temperature_celsius", "gauge",
   "The crystal's temperature input (the SoC sensor), the last reading; NaN without one",
   [](Clock c) { return c.getTemperature().getCelsius(); }},
  {"ntp_system_temperature_compensation_active", "gauge",
   "1 while the learnt frequency-temperature relation is used in the prediction and holdover",
   [](Clock c) { return c.getTemperature().getActive() ? 1.0 : 0.0; }},
  {"ntp_system_temperature_coefficient_ratio_per_celsius", "gauge",
   "Learnt frequency change per degree Celsius, s/s (the linear term)",
   [](Clock c) { return c.getTemperature().getLinear() / PER_MILLION; }},
  {"ntp_system_temperature_coefficient_sigma_ratio_per_celsius", "gauge",
   "1-sigma of the learnt linear temperature coefficient, s/s per degree Celsius",
   [](Clock c) { return c.getTemperature().getLinearSigma() / PER_MILLION; }},
  {"ntp_system_temperature_quadratic_ratio_per_celsius_squared", "gauge",
   "Learnt frequency change per degree Celsius squared, s/s (the quadratic term)",
   [](Clock c) { return c.getTemperature().getQuadratic() / PER_MILLION; }},
  {"ntp_system_temperature_quadratic_sigma_ratio_per_celsius_squared", "gauge",
   "1-sigma of the learnt quadratic temperature coefficient, s/s per degree Celsius squared",
   [](Clock c) { return c.getTemperature().getQuadraticSigma() / PER_MILLION; }},
  {"ntp_system_temperature_reference_celsius", "gauge",
   "The temperature the learnt coefficients are about; NaN before a reading",
   [](Clock c) { return c.getTemperature().getReference(); }},
  {"ntp_system_root_delay_seconds", "gauge", "Root delay advertised to clients",
   [](Clock c) { return ntp::secondsFromShort(c.getServer().getRootDelay()); }},
  {"ntp_system_root_dispersion_seconds", "gauge", "Root dispersion advertised to clients",
   [](Clock c) { return ntp::secondsFromShort(c.getServer().getRootDispersion()); }},
  {"ntp_system_leap_indicator", "gauge", "Leap indicator advertised (0 none, 1 insert, 2 delete, 3 alarm)",
   [](Clock c) { return double(c.getServer().getLeap()); }},
  {"ntp_system_leap_pending_timestamp_seconds", "gauge", "Announced leap second (0 if none)",
   [](Clock c) { return nsToSeconds(c.getLeapPendingNs()); }},
  {"ntp_system_leap_alarm", "gauge", "1 when the leap second table cannot be trusted",
   [](Clock c) { return c.getLeapAlarm().size() > 0 ? 1.0 : 0.0; }},
  {"ntp_system_leap_file_expiry_timestamp_seconds", "gauge",
   "Unix time the leap second table expires (0 without a table)",
   [](Clock c) { return nsToSeconds(c.getLeapExpiresNs()); }},
  {"ntp_system_leap_valid_until_timestamp_seconds", "gauge",
   "Unix time the leap second knowledge in use stops being valid (0: none valid)",
   [](Clock c) { return nsToSeconds(c.getLeapValidUntilNs()); }},
  {"ntp_system_gps_alarm", "gauge",
   "1 when the GPS disagrees with the majority of the noselect peers (fault or spoofing suspected)",
   [](Clock c) { return c.getGpsAlarm().size() > 0 ? 1.0 : 0.0; }},
  {"ntp_system_samples_total", "counter", "Samples accepted by clockd",
   [](Clock c) { return double(c.getSamples()); }},
  {"ntp_system_last_sample_timestamp_seconds", "gauge", "Unix time of the last sample",
   [](Clock c) { return timestampOrNan(c.getLastSampleNs()); }},
  {"ntp_system_rejected_messages_total", "counter", "Peer messages refused by validation",
   [](Clock c) { return double(c.getRejectedMessages()); }},
  {"ntp_system_clock_steps_total", "counter", "Clock steps made",
   [](Clock c) { return double(c.getSteps()); }},
  {"ntp_system_foreign_adjustments_total", "counter", "Clock adjustments by another process",
   [](Clock c) { return double(c.getForeignAdjustments()); }},
};

using Source = ipc::SourceStatus::Reader;
const Row<Source> SOURCE_ROWS[] = {
  {"ntp_source_offset_seconds", "gauge", "Local clock minus the source",
   [](Source s) { return s.getOffset(); }},
  {"ntp_source_error_seconds", "gauge", "Half-width of the source's error interval",
   [](Source s) { return s.getError(); }},
  {"ntp_source_jitter_seconds", "gauge", "RMS jitter of the source",
   [](Source s) { return s.getJitter(); }},
  {"ntp_source_samples_total", "counter", "Samples from the source",
   [](Source s) { return double(s.getSamples()); }},
  {"ntp_source_last_sample_timestamp_seconds", "gauge", "Unix time of the source's last sample",
   [](Source s) { return timestampOrNan(s.getLastSampleNs()); }},
  {"ntp_source_last_offset_seconds", "gauge", "The newest sample's offset, local minus the source",
   [](Source s) { return s.getLastOffset(); }},
  {"ntp_source_stratum", "gauge", "The source's stratum (0: a reference clock)",
   [](Source s) { return double(s.getStratum()); }},
  {"ntp_source_poll_seconds", "gauge", "Polling interval (a reference clock: 1 s)",
   [](Source s) { return std::ldexp(1.0, s.getPoll()); }},
  {"ntp_source_reach", "gauge", "Reach register of the last 8 polls, newest in bit 0 (255: all)",
   [](Source s) { return double(s.getReach()); }},
  {"ntp_source_inconsistent_replies_total", "counter",
   "Replies refused because their timestamps give a negative round trip (a server's broken clock)",
   [](Source s) { return double(s.getInconsistent()); }},
  {"ntp_source_delay_seconds", "gauge", "Round-trip delay of the sample in use (NaN: a reference clock)",
   [](Source s) { return s.getKind() == "ntp" ? s.getDelay() : NAN; }},
};

using Netd = ipc::NetdStats::Reader;
// netd's counters come from NETD_STAT_ROWS (common/netd-counters.c++); its gauges from here.
const Row<Netd> SERVER_ROWS[] = {
  {"ntp_server_state_age_seconds", "gauge", "Time since clockd last pushed the server state (-1e-9: never)",
   [](Netd s) { return nsToSeconds(s.getStateAgeNs()); }},
};

using Ntske = ipc::NtskeStats::Reader;
const Row<Ntske> NTSKE_ROWS[] = {
  {"ntp_nts_ke_sessions_total", "counter", "NTS-KE connections accepted",
   [](Ntske s) { return double(s.getSessions()); }},
  {"ntp_nts_ke_completed_total", "counter", "NTS-KE exchanges that issued cookies",
   [](Ntske s) { return double(s.getCompleted()); }},
  {"ntp_nts_ke_cookies_issued_total", "counter", "Cookies issued by key exchanges",
   [](Ntske s) { return double(s.getCookiesIssued()); }},
  {"ntp_nts_ke_open_connections", "gauge", "NTS-KE sessions open now",
   [](Ntske s) { return double(s.getOpenConnections()); }},
};

using Refclock = ipc::RefclockStatus::Reader;
const Row<Refclock> REFCLOCK_ROWS[] = {
  {"ntp_refclock_locked", "gauge", "1 while PPS and NMEA are paired",
   [](Refclock r) { return r.getLocked() ? 1.0 : 0.0; }},
  {"ntp_refclock_device_open", "gauge", "1 while the device is open",
   [](Refclock r) { return r.getDeviceOpen() ? 1.0 : 0.0; }},
  {"ntp_refclock_fault", "gauge", "1 while the receiver reports a fault",
   [](Refclock r) { return r.getFault().size() > 0 ? 1.0 : 0.0; }},
  {"ntp_refclock_anomaly", "gauge", "1 while a GNSS integrity check fails (no samples sent)",
   [](Refclock r) { return r.getAnomaly().size() > 0 ? 1.0 : 0.0; }},
  {"ntp_refclock_samples_total", "counter", "Samples sent to clockd",
   [](Refclock r) { return double(r.getSamples()); }},
  {"ntp_refclock_pps_edges_total", "counter", "PPS edges seen",
   [](Refclock r) { return double(r.getPpsEdges()); }},
  {"ntp_refclock_pps_only_samples_total", "counter", "Edges numbered from clockd's clock",
   [](Refclock r) { return double(r.getPpsOnlySamples()); }},
  {"ntp_refclock_refused_pairings_total", "counter", "Edges refused as ambiguous",
   [](Refclock r) { return double(r.getRefusedPairings()); }},
  {"ntp_refclock_nmea_sentences_total", "counter", "NMEA sentences read",
   [](Refclock r) { return double(r.getNmeaSentences()); }},
  {"ntp_refclock_nmea_bad_total", "counter", "NMEA sentences with checksum or syntax errors",
   [](Refclock r) { return double(r.getNmeaBad()); }},
  {"ntp_refclock_anomalies_total", "counter", "GNSS integrity failures",
   [](Refclock r) { return double(r.getAnomalies()); }},
  {"ntp_refclock_reopens_total", "counter", "Device reopens",
   [](Refclock r) { return double(r.getReopens()); }},
  {"ntp_refclock_last_good_timestamp_seconds", "gauge", "Last GNSS time that passed the integrity checks",
   [](Refclock r) { return timestampOrNan(r.getLastGoodNs()); }},
  {"ntp_refclock_ubx_frames_total", "counter", "UBX frames read beside the NMEA (any class)",
   [](Refclock r) { return double(r.getUbxFrames()); }},
  {"ntp_refclock_ubx_bad_total", "counter", "UBX frames dropped (checksum, length, unknown TIMELS layout)",
   [](Refclock r) { return double(r.getUbxBad()); }},
  {"ntp_refclock_ubx_acks_total", "counter", "UBX-ACK-ACK answers to horloge's configuration frames",
   [](Refclock r) { return double(r.getUbxAcks()); }},
  {"ntp_refclock_ubx_naks_total", "counter", "UBX-ACK-NAK answers (a frame the receiver refused)",
   [](Refclock r) { return double(r.getUbxNaks()); }},
  {"ntp_gnss_leap_report_timestamp_seconds", "gauge", "Unix time of the receiver's last UBX-NAV-TIMELS",
   [](Refclock r) { return timestampOrNan(r.getLeap().getReceivedNs()); }},
  {"ntp_gnss_tai_utc_seconds", "gauge", "TAI - UTC as the receiver says (NaN when it has not)",
   [](Refclock r) {
     return r.getLeap().getCurrentValid() ? double(r.getLeap().getTaiMinusUtc()) : NAN;
   }},
  {"ntp_gnss_leap_pending_timestamp_seconds", "gauge",
   "Leap second the receiver announces: the first second after it (0 if none)",
   [](Refclock r) {
     auto l = r.getLeap();
     bool pending = l.getChangeValid() && l.getChange() != 0 && l.getAtNs() > l.getReceivedNs();
     return pending ? nsToSeconds(l.getAtNs()) : 0.0;
   }},
  {"ntp_gnss_fix_quality", "gauge", "GGA fix quality (0 none, 1 GPS, 2 DGPS...)",
   [](Refclock r) { return double(r.getFixQuality()); }},
  {"ntp_gnss_satellites_used", "gauge", "Satellites used in the fix",
   [](Refclock r) { return double(r.getSatellitesUsed()); }},
  {"ntp_gnss_satellites_in_view", "gauge", "Satellites in view",
   [](Refclock r) { return double(r.getSatellitesInView()); }},
  {"ntp_gnss_hdop", "gauge", "Horizontal dilution of precision",
   [](Refclock r) { return double(r.getHdop()); }},
  {"ntp_gnss_pdop", "gauge", "Position dilution of precision",
   [](Refclock r) { return double(r.getPdop()); }},
  {"ntp_gnss_nmea_delay_seconds", "gauge", "NMEA arrival after the PPS edge, last second",
   [](Refclock r) { return nsToSeconds(r.getNmeaDelayNs()); }},
  {"ntp_gnss_nmea_delay_mean_seconds", "gauge", "NMEA arrival after the PPS edge, averaged",
   [](Refclock r) { return nsToSeconds(r.getNmeaDelayMeanNs()); }},
};

using Info = ipc::DaemonInfo::Reader;
const Row<Info> DAEMON_ROWS[] = {
  {"ntp_daemon_uid", "gauge", "User id the daemon runs as",
   [](Info i) { return double(i.getUid()); }},
  {"ntp_daemon_capabilities", "gauge", "Effective capability set (CapEff bitmask)",
   [](Info i) { return double(i.getCapEff()); }},
  {"ntp_daemon_no_new_privs", "gauge", "1 when no_new_privs is set",
   [](Info i) { return i.getNoNewPrivs() ? 1.0 : 0.0; }},
  {"ntp_daemon_seccomp_mode", "gauge", "Seccomp mode (0 off, 1 strict, 2 filter)",
   [](Info i) { return double(i.getSeccomp()); }},
  {"ntp_daemon_start_timestamp_seconds", "gauge", "Unix time the daemon started",
   [](Info i) { return timestampOrNan(i.getStartedNs()); }},
};

struct Daemon {
  kj::StringPtr name;
  bool up;
  Info info;
};

// The build monitord is, as Prometheus' *_build_info convention has it.
void buildInfo(Exposition& e, Info self) {
  e.family("horloge_build_info", "gauge", "The horloge version that serves these metrics, as a label");
  e.sample(1, {{"version", self.getVersion()}});
}

void daemons(Exposition& e, kj::ArrayPtr<const Daemon> list) {
  e.family("ntp_daemon_up", "gauge", "1 while the daemon is running and connected");
  for (auto& d: list) e.sample(d.up ? 1 : 0, {{"daemon", d.name}});
  for (auto& row: DAEMON_ROWS) {
    e.family(row.name, row.type, row.help);
    for (auto& d: list) if (d.up) e.sample(row.get(d.info), {{"daemon", d.name}});
  }
}

void connectionFamilies(Exposition& e, const ConnectionStats* c) {
  if (c == nullptr) return;
  e.family("ntp_monitor_connections", "gauge", "HTTPS connections open now");
  e.sample(double(c->open));
  e.family("ntp_monitor_connections_accepted_total", "counter", "HTTPS connections given a slot");
  e.sample(double(c->accepted));
  e.family("ntp_monitor_connections_refused_total", "counter",
           "HTTPS connections closed at accept, before any byte was read, by reason");
  for (size_t i = 0; i < REFUSAL_KINDS; ++i) {
    e.sample(double(c->refused[i]), {{"reason", refusalName(static_cast<Refusal>(i))}});
  }
  e.family("ntp_monitor_connections_cut_total", "counter",
           "HTTPS connections monitord closed before the client did, by reason");
  for (size_t i = 0; i < CUT_KINDS; ++i) {
    e.sample(double(c->cut[i]), {{"reason", cutName(static_cast<Cut>(i))}});
  }
}

}  // namespace

kj::String renderMetrics(ipc::SystemStatus::Reader status, ipc::DaemonInfo::Reader self,
                         const ConnectionStats* connections) {
  Exposition e;
  buildInfo(e, self);
  auto clock = status.getClock();
  e.family("ntp_system_info", "gauge",
           "Clock backend, sync state, refid and the served time's source kind, as labels");
  e.sample(1, {{"backend", clock.getBackend()}, {"state", ipc::syncStateName(clock.getState())},
               {"refid", clock.getRefid()}, {"source_kind", clock.getSourceKind()}});
  e.family("ntp_system_state", "gauge", "Sync state (0 unsynchronised, 1 locked, 2 holdover)");
  e.sample(double(clock.getState()));
  e.family("ntp_system_leap_source", "gauge",
           "Where the leap second knowledge in use comes from, as a label; 1 for the current one");
  kj::StringPtr leapSource = clock.getLeapSource().size() > 0 ? clock.getLeapSource() : "none";
  for (kj::StringPtr s: {"file"_kj, "receiver"_kj, "both"_kj, "none"_kj})
    e.sample(s == leapSource ? 1 : 0, {{"source", s}});
  for (auto& row: CLOCK_ROWS) {
    e.family(row.name, row.type, row.help);
    e.sample(row.get(clock));
  }

  auto sources = status.getSources();
  kj::Vector<kj::String> names;
  for (auto s: sources) names.add(ipc::sourceName(status, s));
  e.family("ntp_source_selection", "gauge", "Selection mark (* selected, + combined, - outlier, x falseticker, ? unusable) as a label; 1 when selected");
  for (auto i: kj::indices(sources)) {
    auto s = sources[i];
    e.sample(s.getMark() == "*" ? 1 : 0,
             {{"source", names[i]}, {"kind", s.getKind()}, {"mark", s.getMark()}});
  }
  for (auto& row: SOURCE_ROWS) {
    e.family(row.name, row.type, row.help);
    for (auto i: kj::indices(sources)) {
      e.sample(row.get(sources[i]), {{"source", names[i]}, {"kind", sources[i].getKind()}});
    }
  }

  auto netd = status.getNetd();
  if (netd.getConnected()) {
    auto s = netd.getBody();
    kj::StringPtr family;
    for (auto& row: NETD_STAT_ROWS) {
      if (row.metric != family) e.family(family = row.metric, "counter", row.help);
      if (*row.metricLabel == 0) e.sample(double(row.get(s)));
      else e.sample(double(row.get(s)), {{row.metricLabel, row.metricLabelValue}});
    }
    for (auto& row: SERVER_ROWS) {
      e.family(row.name, row.type, row.help);
      e.sample(row.get(s));
    }
  }

  // NTS: clockd's keys (age and count, never the keys) and ntskd's sessions.
  if (status.getNts().getEnabled()) {
    auto nts = status.getNts();
    e.family("ntp_nts_keys", "gauge", "NTS server keys accepted (the current one and its predecessors)");
    e.sample(double(nts.getKeys()));
    e.family("ntp_nts_key_age_seconds", "gauge", "Age of the key new cookies are sealed under");
    e.sample(nsToSeconds(nts.getCurrentKeyAgeNs()));
    e.family("ntp_nts_key_rotations_total", "counter", "NTS server key rotations since clockd started");
    e.sample(double(nts.getRotations()));
    auto ntskd = status.getNtskd();
    if (ntskd.getConnected()) {
      auto s = ntskd.getBody();
      for (auto& row: NTSKE_ROWS) {
        e.family(row.name, row.type, row.help);
        e.sample(row.get(s));
      }
      e.family("ntp_nts_ke_failures_total", "counter", "NTS-KE sessions that failed, by reason");
      const std::pair<kj::StringPtr, uint64_t> reasons[] = {
        {"busy", s.getRefusedBusy()}, {"ratelimit", s.getRefusedRate()},
        {"handshake", s.getFailedHandshake()},
        {"alpn", s.getFailedAlpn()}, {"timeout", s.getFailedTimeout()},
        {"truncated", s.getFailedTruncated()}, {"oversized", s.getFailedOversized()},
        {"unknown_critical", s.getFailedUnknownCritical()},
        {"bad_request", s.getFailedBadRequest()}, {"io", s.getFailedIo()}};
      for (auto& [reason, n]: reasons) e.sample(double(n), {{"reason", reason}});
    }
  }

  auto refclocks = status.getRefclockd().getBody();
  if (status.getRefclockd().getConnected()) {
    for (auto& row: REFCLOCK_ROWS) {
      e.family(row.name, row.type, row.help);
      for (auto rc: refclocks) e.sample(row.get(rc), {{"name", rc.getName()}, {"driver", rc.getDriver()}});
    }
    e.family("ntp_gnss_satellite_snr_dbhz", "gauge", "Signal to noise ratio per satellite in view (0: not tracked)");
    for (auto rc: refclocks) {
      for (auto sat: rc.getSatellites()) {
        e.sample(sat.getSnr(), {{"name", rc.getName()}, {"system", sat.getSystem()},
                                {"prn", kj::str(sat.getPrn())}});
      }
    }
  }

  const Daemon list[] = {
    {roleName(Role::CLOCKD), true, status.getClockd()},
    {roleName(Role::REFCLOCKD), status.getRefclockd().getConnected(), status.getRefclockd().getInfo()},
    {roleName(Role::NETD), netd.getConnected(), netd.getInfo()},
    {roleName(Role::MONITORD), true, self},
    {roleName(Role::NTSKD), status.getNtskd().getConnected(), status.getNtskd().getInfo()},
  };
  // ntskd only where NTS is on: elsewhere its absence is no outage.
  daemons(e, kj::arrayPtr(list, status.getNts().getEnabled() ? 5 : 4));
  e.family("ntp_daemon_restarts_total", "counter",
           "Times the daemon came back with another pid since clockd started");
  e.sample(double(status.getRefclockd().getRestarts()), {{"daemon", "refclockd"}});
  e.sample(double(netd.getRestarts()), {{"daemon", "netd"}});
  if (status.getNts().getEnabled()) {
    e.sample(double(status.getNtskd().getRestarts()), {{"daemon", "ntskd"}});
  }
  connectionFamilies(e, connections);
  return e.finish();
}

kj::String renderUnreachableMetrics(ipc::DaemonInfo::Reader self,
                                    const ConnectionStats* connections) {
  Exposition e;
  buildInfo(e, self);
  const Daemon list[] = {
    {roleName(Role::CLOCKD), false, self}, {roleName(Role::REFCLOCKD), false, self},
    {roleName(Role::NETD), false, self}, {roleName(Role::MONITORD), true, self},
  };
  daemons(e, list);
  connectionFamilies(e, connections);
  return e.finish();
}

}  // namespace horloge::monitord
