#include "metrics.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <set>
#include <string_view>

namespace horloge::monitord {
namespace {

bool has(kj::StringPtr text, kj::StringPtr part) {
  return std::string_view(text.cStr()).find(part.cStr()) != std::string_view::npos;
}

// Every family announced once: a second "# TYPE" of the same name makes scrapers refuse the page.
bool eachFamilyOnce(kj::StringPtr text) {
  std::string_view v(text.cStr());
  std::set<std::string_view> seen;
  for (size_t at = v.find("# TYPE "); at != std::string_view::npos; at = v.find("# TYPE ", at + 1)) {
    size_t end = v.find(' ', at + 7);
    if (!seen.insert(v.substr(at + 7, end - at - 7)).second) return false;
  }
  return !seen.empty();
}

void fill(ipc::SystemStatus::Builder s) {
  s.setGeneratedNs(1'700'000'000'000'000'000);
  s.getClockd().setUid(101);
  s.getClockd().setSeccomp(2);
  s.getClockd().setCapEff(1 << 25);
  auto clock = s.initClock();
  clock.setBackend("observe");
  clock.setState(ipc::SyncState::LOCKED);
  clock.setRefid("PPS");
  clock.setSourceKind("pps");
  clock.setOffset(-2.5e-7);
  clock.setJitter(1e-6);
  clock.setFrequency(12.5);
  clock.setLeapExpiresNs(1'798'675'200LL * 1'000'000'000);
  clock.setGpsAlarm("GPS disagrees with 2 of 3 noselect peers");
  clock.setLeapSource("receiver");
  clock.setLeapValidUntilNs(1'796'515'200LL * 1'000'000'000);
  clock.getServer().setStratum(1);
  clock.getServer().setRootDispersion(65536 / 2);
  auto sources = s.initSources(2);
  sources[0].setSourceId(0);
  sources[0].setKind("pps");
  sources[0].setMark("*");
  sources[0].setOffset(1e-7);
  sources[1].setSourceId(0);
  sources[1].setKind("ntp");
  sources[1].setMark("-");
  sources[1].setName("192.0.2.7");
  sources[1].setStratum(2);
  sources[1].setPoll(6);
  sources[1].setReach(0377);
  sources[1].setDelay(0.00042);
  auto rc = s.initRefclockd();
  rc.setConnected(true);
  rc.setRestarts(3);
  auto list = rc.initBody(1);
  list[0].setName("sim \"a\"\nb");
  list[0].setDriver("sim");
  list[0].setSatellitesUsed(9);
  list[0].setUbxFrames(120);
  list[0].setUbxBad(2);
  list[0].setUbxAcks(1);
  list[0].setUbxNaks(5);
  auto leap = list[0].initLeap();
  leap.setReceivedNs(1'796'428'800LL * 1'000'000'000);
  leap.setCurrentValid(true);
  leap.setTaiMinusUtc(37);
  leap.setChangeValid(true);
  leap.setChange(1);
  leap.setAtNs(1'798'761'600LL * 1'000'000'000);
  auto sats = list[0].initSatellites(1);
  sats[0].setSystem("GP");
  sats[0].setPrn(12);
  sats[0].setSnr(41);
  auto netd = s.initNetd();
  netd.setConnected(true);
  netd.initBody().setReceived(1000);
  netd.getBody().setDroppedMode(3);
}

TEST_CASE("metrics: families, labels, escaping") {
  capnp::MallocMessageBuilder m1, m2;
  auto status = m1.initRoot<ipc::SystemStatus>();
  fill(status);
  auto self = m2.initRoot<ipc::DaemonInfo>();
  self.setUid(104);
  self.setVersion("0.1.0");
  auto text = renderMetrics(status.asReader(), self.asReader());
  CHECK(has(text, "# TYPE ntp_system_offset_seconds gauge\nntp_system_offset_seconds -2.5e-07\n"));
  CHECK(has(text, "ntp_system_synchronised 1\n"));
  CHECK(has(text, "ntp_system_frequency_offset_ratio 1.25e-05\n"));
  CHECK(has(text, "horloge_build_info{version=\"0.1.0\"} 1\n"));
  CHECK(has(text, "ntp_source_poll_seconds{source=\"192.0.2.7\",kind=\"ntp\"} 64\n"));
  CHECK(has(text, "ntp_source_reach{source=\"192.0.2.7\",kind=\"ntp\"} 255\n"));
  CHECK(has(text, "ntp_source_stratum{source=\"192.0.2.7\",kind=\"ntp\"} 2\n"));
  CHECK(has(text, "ntp_source_delay_seconds{source=\"192.0.2.7\",kind=\"ntp\"} 0.00042\n"));
  CHECK(has(text, "ntp_source_delay_seconds{source=\"sim \\\"a\\\"\\nb\",kind=\"pps\"} NaN\n"));
  CHECK(has(text, "ntp_source_poll_seconds{source=\"sim \\\"a\\\"\\nb\",kind=\"pps\"} 1\n"));
  CHECK(has(text, "ntp_daemon_restarts_total{daemon=\"refclockd\"} 3\n"));
  CHECK(has(text, "ntp_system_leap_file_expiry_timestamp_seconds 1798675200\n"));
  CHECK(has(text, "ntp_system_gps_alarm 1\n"));
  CHECK(has(text, "ntp_system_leap_source{source=\"receiver\"} 1\n"));
  CHECK(has(text, "ntp_system_leap_source{source=\"file\"} 0\n"));
  CHECK(has(text, "ntp_system_leap_valid_until_timestamp_seconds 1796515200\n"));
  CHECK(has(text, "ntp_refclock_ubx_bad_total{name=\"sim \\\"a\\\"\\nb\",driver=\"sim\"} 2\n"));
  CHECK(has(text, "ntp_refclock_ubx_acks_total{name=\"sim \\\"a\\\"\\nb\",driver=\"sim\"} 1\n"));
  CHECK(has(text, "ntp_refclock_ubx_naks_total{name=\"sim \\\"a\\\"\\nb\",driver=\"sim\"} 5\n"));
  CHECK(has(text, "ntp_gnss_tai_utc_seconds{name=\"sim \\\"a\\\"\\nb\",driver=\"sim\"} 37\n"));
  CHECK(has(text, "ntp_gnss_leap_pending_timestamp_seconds{name=\"sim \\\"a\\\"\\nb\",driver=\"sim\"} 1798761600\n"));
  CHECK(has(text, "ntp_system_root_dispersion_seconds 0.5\n"));
  CHECK(has(text, "ntp_system_info{backend=\"observe\",state=\"locked\",refid=\"PPS\",source_kind=\"pps\"} 1\n"));
  CHECK(has(text, "ntp_source_selection{source=\"sim \\\"a\\\"\\nb\",kind=\"pps\",mark=\"*\"} 1\n"));
  CHECK(has(text, "# TYPE ntp_server_received_packets_total counter\nntp_server_received_packets_total 1000\n"));
  CHECK(has(text, "ntp_server_dropped_packets_total{reason=\"mode\"} 3\n"));
  CHECK(has(text, "ntp_gnss_satellites_used{name=\"sim \\\"a\\\"\\nb\",driver=\"sim\"} 9\n"));
  CHECK(has(text, "ntp_gnss_satellite_snr_dbhz{name=\"sim \\\"a\\\"\\nb\",system=\"GP\",prn=\"12\"} 41\n"));
  CHECK(has(text, "ntp_daemon_capabilities{daemon=\"clockd\"} 33554432\n"));
  CHECK(has(text, "ntp_daemon_seccomp_mode{daemon=\"clockd\"} 2\n"));
  CHECK(has(text, "ntp_daemon_uid{daemon=\"monitord\"} 104\n"));
  CHECK(has(text, "ntp_system_last_sample_timestamp_seconds NaN\n"));
  // Each family announced once.
  std::string_view v(text.cStr());
  auto first = v.find("# TYPE ntp_system_info ");
  CHECK(v.find("# TYPE ntp_system_info ", first + 1) == std::string_view::npos);
}

TEST_CASE("metrics: NTS keys, requests and key exchanges, only with NTS on") {
  capnp::MallocMessageBuilder m1, m2;
  auto status = m1.initRoot<ipc::SystemStatus>();
  fill(status);
  auto self = m2.initRoot<ipc::DaemonInfo>();
  auto off = renderMetrics(status.asReader(), self.asReader());
  CHECK(!has(off, "ntp_nts_"));
  CHECK(!has(off, "daemon=\"ntskd\""));
  status.getNetd().getBody().setNtsRequests(40);
  status.getNetd().getBody().setNtsNaks(2);
  status.getNetd().getBody().setDroppedNts(5);
  auto nts = status.initNts();
  nts.setEnabled(true);
  nts.setKeys(3);
  nts.setCurrentKeyAgeNs(7'200'000'000'000);
  nts.setRotations(2);
  auto ke = status.initNtskd();
  ke.setConnected(true);
  ke.setRestarts(1);
  ke.initBody().setSessions(10);
  ke.getBody().setCompleted(8);
  ke.getBody().setFailedAlpn(1);
  ke.getBody().setRefusedRate(4);
  auto text = renderMetrics(status.asReader(), self.asReader());
  CHECK(has(text, "ntp_nts_keys 3\n"));
  CHECK(has(text, "ntp_nts_key_age_seconds 7200\n"));
  CHECK(has(text, "ntp_nts_key_rotations_total 2\n"));
  CHECK(has(text, "ntp_server_nts_requests_total 40\n"));
  CHECK(has(text, "ntp_server_nts_naks_total 2\n"));
  CHECK(has(text, "ntp_server_dropped_packets_total{reason=\"nts\"} 5\n"));
  CHECK(has(text, "ntp_nts_ke_sessions_total 10\n"));
  CHECK(has(text, "ntp_nts_ke_completed_total 8\n"));
  CHECK(has(text, "ntp_nts_ke_failures_total{reason=\"alpn\"} 1\n"));
  CHECK(has(text, "ntp_nts_ke_failures_total{reason=\"ratelimit\"} 4\n"));
  CHECK(has(text, "ntp_daemon_up{daemon=\"ntskd\"} 1\n"));
  CHECK(has(text, "ntp_daemon_restarts_total{daemon=\"ntskd\"} 1\n"));
  CHECK(eachFamilyOnce(off));
  CHECK(eachFamilyOnce(text));
}

TEST_CASE("metrics: clockd unreachable still scrapes") {
  capnp::MallocMessageBuilder m;
  auto self = m.initRoot<ipc::DaemonInfo>();
  auto text = renderUnreachableMetrics(self.asReader());
  CHECK(has(text, "ntp_daemon_up{daemon=\"clockd\"} 0\n"));
  CHECK(has(text, "ntp_daemon_up{daemon=\"monitord\"} 1\n"));
  CHECK(!has(text, "ntp_daemon_uid{daemon=\"clockd\"}"));
}

TEST_CASE("metrics: monitord's own connections, refusals and cuts by reason") {
  capnp::MallocMessageBuilder m;
  auto self = m.initRoot<ipc::DaemonInfo>();
  ConnectionStats stats;
  stats.open = 3;
  stats.accepted = 10;
  stats.refused[size_t(Refusal::SOURCE_SHARE)] = 96;
  stats.cut[size_t(Cut::HANDSHAKE_DEADLINE)] = 7;
  auto text = renderUnreachableMetrics(self.asReader(), &stats);
  CHECK(has(text, "# TYPE ntp_monitor_connections gauge\nntp_monitor_connections 3\n"));
  CHECK(has(text, "ntp_monitor_connections_accepted_total 10\n"));
  CHECK(has(text, "ntp_monitor_connections_refused_total{reason=\"source_share\"} 96\n"));
  CHECK(has(text, "ntp_monitor_connections_refused_total{reason=\"not_allowed\"} 0\n"));
  CHECK(has(text, "ntp_monitor_connections_cut_total{reason=\"handshake_deadline\"} 7\n"));
  CHECK(has(text, "ntp_monitor_connections_cut_total{reason=\"evicted\"} 0\n"));
  CHECK(!has(renderUnreachableMetrics(self.asReader()), "ntp_monitor_"));
}

}  // namespace
}  // namespace horloge::monitord
