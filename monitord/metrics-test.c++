#include "metrics.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <string_view>

namespace horloge::monitord {
namespace {

bool has(kj::StringPtr text, kj::StringPtr part) {
  return std::string_view(text.cStr()).find(part.cStr()) != std::string_view::npos;
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
  clock.getServer().setStratum(1);
  clock.getServer().setRootDispersion(65536 / 2);
  auto sources = s.initSources(1);
  sources[0].setSourceId(0);
  sources[0].setKind("pps");
  sources[0].setMark("*");
  sources[0].setOffset(1e-7);
  auto rc = s.initRefclockd();
  rc.setConnected(true);
  auto list = rc.initBody(1);
  list[0].setName("sim \"a\"\nb");
  list[0].setDriver("sim");
  list[0].setSatellitesUsed(9);
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
  auto text = renderMetrics(status.asReader(), self.asReader());
  CHECK(has(text, "# TYPE ntp_system_offset_seconds gauge\nntp_system_offset_seconds -2.5e-07\n"));
  CHECK(has(text, "ntp_system_synchronised 1\n"));
  CHECK(has(text, "ntp_system_frequency_ppm 12.5\n"));
  CHECK(has(text, "ntp_system_leap_file_expiry_timestamp_seconds 1798675200\n"));
  CHECK(has(text, "ntp_system_gps_alarm 1\n"));
  CHECK(has(text, "ntp_system_root_dispersion_seconds 0.5\n"));
  CHECK(has(text, "ntp_system_info{backend=\"observe\",state=\"locked\",refid=\"PPS\",source_kind=\"pps\"} 1\n"));
  CHECK(has(text, "ntp_source_selection{name=\"sim \\\"a\\\"\\nb\",kind=\"pps\",mark=\"*\"} 1\n"));
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
  ke.initBody().setSessions(10);
  ke.getBody().setCompleted(8);
  ke.getBody().setFailedAlpn(1);
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
  CHECK(has(text, "ntp_daemon_up{daemon=\"ntskd\"} 1\n"));
}

TEST_CASE("metrics: clockd unreachable still scrapes") {
  capnp::MallocMessageBuilder m;
  auto self = m.initRoot<ipc::DaemonInfo>();
  auto text = renderUnreachableMetrics(self.asReader());
  CHECK(has(text, "ntp_daemon_up{daemon=\"clockd\"} 0\n"));
  CHECK(has(text, "ntp_daemon_up{daemon=\"monitord\"} 1\n"));
  CHECK(!has(text, "ntp_daemon_uid{daemon=\"clockd\"}"));
}

}  // namespace
}  // namespace horloge::monitord
