#include "views.h"
#include "ipc.h"
#include "netd-counters.h"
#include "source-name.h"
#include "status-text.h"
#include "ntp-time.h"
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <tuple>
#include <utility>

namespace horloge::ctl {

namespace {

View view(kj::StringPtr name, std::initializer_list<Column> columns,
          View::Shape shape = View::TABLE) {
  return View{name, kj::heapArray<Column>(columns.begin(), columns.size()), {}, shape};
}

template <typename... Args>
kj::String format(const char* fmt, Args... args) {
  char buf[96];
  snprintf(buf, sizeof(buf), fmt, args...);
  return kj::heapString(buf);
}

// chronyc's selection state, as its mark and as a word for scripts.
Cell stateCell(kj::StringPtr mark) {
  static const std::pair<kj::StringPtr, kj::StringPtr> known[] = {
    {"*", "selected"}, {"+", "combined"}, {"-", "outlier"}, {"x", "falseticker"}, {"?", "unusable"}};
  for (auto& [m, word]: known) if (mark == m) return text(m, word);
  return text("?", "unusable");   // only the documented marks reach the terminal
}

// chronyc's LastRx: seconds, then minutes, hours, days once it would not fit.
Cell lastRx(int64_t thenNs, int64_t nowNs) {
  if (thenNs == 0) return none();
  double s = double(nowNs - thenNs) * 1e-9;
  kj::String human;
  if (s < 1000) human = format("%.0f", std::max(0.0, s));
  else if (s < 60 * 1000) human = format("%.0fm", s / 60);
  else if (s < 3600 * 100) human = format("%.0fh", s / 3600);
  else human = format("%.0fd", s / 86400);
  auto c = seconds(s, false);
  c.human = kj::mv(human);
  return c;
}

// A Unix time: human in UTC with milliseconds, raw in seconds.
Cell timestamp(int64_t ns) {
  if (ns == 0) return none();
  time_t t = ns / 1'000'000'000;
  tm u;
  gmtime_r(&t, &u);
  char buf[40];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &u);
  return {format("%s.%03d UTC", buf, int(ns / 1'000'000 % 1000)),
          format("%.3f", double(ns) * 1e-9), Cell::NUMBER};
}

// Where the leap second knowledge comes from: file, receiver, both, or none.
Cell leapSource(ipc::ClockStatus::Reader c) {
  return c.getLeapSource().size() > 0 ? text(c.getLeapSource()) : text("none");
}

// CapEff as capability names, as capsh prints them.
kj::String capabilityNames(uint64_t caps) {
  static const char* names[] = {
    "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
    "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
    "cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock",
    "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
    "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice", "cap_sys_resource",
    "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease", "cap_audit_write",
    "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
    "cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
    "cap_checkpoint_restore"};
  if (caps == 0) return kj::str("none");
  kj::Vector<kj::String> out;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!(caps & (1ull << bit))) continue;
    out.add(bit < kj::size(names) ? kj::str(names[bit]) : kj::str("cap_", bit));
  }
  return kj::strArray(out, ",");
}

Cell temperatureCell(ipc::TemperatureStatus::Reader t) {
  return std::isnan(t.getCelsius()) ? none() : fixed(t.getCelsius(), "%.1f", "C");
}

kj::Array<View> statusViews(ipc::SystemStatus::Reader status, const Lookup&) {
  auto c = status.getClock();
  auto server = c.getServer();
  auto v = view("status", {
    {"state", "State"}, {"reason", "Reason"}, {"stratum", "Stratum"}, {"refid", "Refid"},
    {"source", "Source"}, {"max_error", "Max error"}, {"offset", "Offset"}, {"jitter", "Jitter"},
    {"frequency_ppm", "Frequency"}, {"samples", "Samples"}, {"last_sample", "Last sample"},
    {"leap_source", "Leap source"}, {"leap_valid_until", "Leap expiry"},
    {"leap_alarm", "Leap alarm"}, {"gps_alarm", "GPS alarm"},
    {"refclockd_connected", "refclockd"}, {"netd_connected", "netd"},
    {"temperature_c", "Temperature"}}, View::RECORD);
  v.row(text(ipc::syncStateName(c.getState())), text(c.getReason()), count(server.getStratum()),
        text(c.getRefid()), text(c.getSourceKind()),
        seconds(ntp::secondsFromShort(server.getRootDelay()) / 2 +
                ntp::secondsFromShort(server.getRootDispersion()), false),
        seconds(c.getOffset(), true), seconds(c.getJitter(), false),
        fixed(c.getFrequency(), "%+.3f", "ppm"), count(c.getSamples()),
        ago(c.getLastSampleNs(), status.getGeneratedNs()), leapSource(c),
        timestamp(c.getLeapValidUntilNs()), text(c.getLeapAlarm()),
        text(c.getGpsAlarm()), boolean(status.getRefclockd().getConnected()),
        boolean(status.getNetd().getConnected()), temperatureCell(c.getTemperature()));
  return kj::arr(kj::mv(v));
}

constexpr kj::StringPtr SOURCES_LEGEND = R"(  MS: mode  # reference clock (GPS: PPS edges or NMEA time), ^ NTP server
      state * selected, + combined, - outlier (not used), x falseticker, ? unusable
  Stratum  the source's stratum (0: a reference clock)
  Poll     log2 of the polling interval in seconds (a reference clock: 0, every second)
  Reach    octal register of the last 8 polls, newest in the lowest bit (377: all answered)
  LastRx   seconds since the last sample (m, h, d: minutes, hours, days)
  Last sample  the last sample's offset of the local clock from the source (+: the local
           clock is ahead), +/- the source's error interval
)"_kj;

kj::Array<View> sources(ipc::SystemStatus::Reader status, const Lookup&) {
  auto v = view("sources", {
    {"mode", "M"}, {"state", "S"}, {"name", "Name"}, {"kind", "Kind", Column::DATA_ONLY},
    {"stratum", "Stratum"}, {"poll", "Poll"}, {"reach", "Reach"}, {"last_rx", "LastRx"},
    {"last_sample", "Last sample", Column::TEXT_ONLY},
    {"last_offset", "", Column::DATA_ONLY}, {"error", "", Column::DATA_ONLY},
    {"offset", "", Column::DATA_ONLY}, {"jitter", "", Column::DATA_ONLY},
    {"samples", "", Column::DATA_ONLY}, {"delay", "", Column::DATA_ONLY},
    {"noselect", "", Column::DATA_ONLY}});
  for (auto s: status.getSources()) {
    bool ntp = s.getKind() == "ntp";
    auto last = seconds(s.getLastOffset(), true);
    auto error = seconds(s.getError(), false);
    v.row(text(ntp ? "^" : "#", ntp ? "server" : "refclock"), stateCell(s.getMark()),
          text(ipc::sourceName(status, s)), text(s.getKind()), count(s.getStratum()),
          integer(s.getPoll()), octal(s.getReach()),
          lastRx(s.getLastSampleNs(), status.getGeneratedNs()),
          text(kj::str(last.human, " +/- ", error.human)), kj::mv(last), kj::mv(error),
          seconds(s.getOffset(), true), seconds(s.getJitter(), false), count(s.getSamples()),
          ntp ? seconds(s.getDelay(), false) : none(), boolean(s.getNoselect()));
  }
  return kj::arr(kj::mv(v));
}

constexpr kj::StringPtr SOURCESTATS_LEGEND = R"(  NP       samples received from the source
  Offset   the filter's offset of the local clock from the source (median of the newest)
  Std Dev  RMS jitter of the samples around the fitted line
  Freq     the source's frequency against the local clock, fitted over the window (ppm)
  Error    half-width of the source's error interval
)"_kj;

kj::Array<View> sourcestats(ipc::SystemStatus::Reader status, const Lookup&) {
  auto v = view("sourcestats", {{"name", "Name"}, {"kind", "Kind"}, {"samples", "NP"},
                                {"offset", "Offset"}, {"std_dev", "Std Dev"},
                                {"error", "Error"}});
  for (auto s: status.getSources()) {
    v.row(text(ipc::sourceName(status, s)), text(s.getKind()), count(s.getSamples()),
          seconds(s.getOffset(), true), seconds(s.getJitter(), false),
          seconds(s.getError(), false));
  }
  return kj::arr(kj::mv(v));
}

Cell leapCell(uint8_t li) {
  static const std::pair<kj::StringPtr, kj::StringPtr> names[] = {
    {"Normal", "normal"}, {"Insert second", "insert"}, {"Delete second", "delete"},
    {"Not synchronised", "unsynchronised"}};
  return text(names[li & 3].first, names[li & 3].second);
}

constexpr kj::StringPtr TRACKING_LEGEND = R"(  Reference ID     refid served, in hex and as text (PPS, NMEA, an upstream's address)
  Ref time         when the served time was last set from the reference
  System time      the local clock's offset from the reference now (fast: ahead)
  Last offset      the offset of the last sample that steered the clock
  RMS offset       RMS of those offsets over about the last 16 updates
  Frequency        the local oscillator's error, corrected (fast: it gains)
  Residual freq    the selected reference clock's frequency against the corrected clock
  Skew             1-sigma of the frequency estimate
  Root delay/dispersion  what clients are told; max error = root delay/2 + root dispersion
  Update interval  between the last two samples that steered the clock
  Temperature      the crystal's temperature input (sensor or sim clock), the last reading
  Temp coeff       the frequency change per degree learnt while locked, +/- 1 sigma, and per
                   degree squared; "in use": followed in the prediction and in holdover
)"_kj;

kj::Array<View> tracking(ipc::SystemStatus::Reader status, const Lookup&) {
  auto c = status.getClock();
  auto server = c.getServer();
  auto v = view("tracking", {
    {"reference_id", "Reference ID"}, {"stratum", "Stratum"}, {"ref_time", "Ref time (UTC)"},
    {"system_time", "System time"}, {"last_offset", "Last offset"},
    {"rms_offset", "RMS offset"}, {"frequency_ppm", "Frequency"},
    {"residual_frequency_ppm", "Residual freq"}, {"skew_ppm", "Skew"},
    {"root_delay", "Root delay"}, {"root_dispersion", "Root dispersion"},
    {"update_interval", "Update interval"}, {"leap_status", "Leap status"},
    {"leap_source", "Leap source"}, {"leap_valid_until", "Leap expiry"},
    {"state", "State"}, {"reason", "Reason"}, {"source", "Source"}, {"max_error", "Max error"},
    {"offset_sigma", "Offset sigma"}, {"jitter", "Jitter"}, {"wander", "Wander"},
    {"steps", "Steps"}, {"backend", "Clock"}, {"leap_alarm", "Leap alarm"},
    {"gps_alarm", "GPS alarm"}, {"temperature_c", "Temperature"},
    {"temperature_sensor", "Temp sensor"}, {"temperature_active", "Temp comp"},
    {"temperature_linear_ppm_per_c", "Temp coeff"},
    {"temperature_linear_sigma_ppm_per_c", "", Column::DATA_ONLY},
    {"temperature_quadratic_ppm_per_c2", "Temp coeff 2"},
    {"temperature_quadratic_sigma_ppm_per_c2", "", Column::DATA_ONLY},
    {"temperature_lag", "Temp lag"}}, View::RECORD);
  int64_t refNs = server.getReferenceTime() == 0
      ? 0 : ntp::toUnixNs(server.getReferenceTime(), status.getGeneratedNs());
  auto refTime = timestamp(refNs);
  if (refNs != 0) refTime.human = kj::str(refTime.human, " (", ago(refNs, status.getGeneratedNs()).human, ")");
  auto systemTime = seconds(c.getOffset(), false);
  systemTime.human = kj::str(seconds(std::fabs(c.getOffset()), false).human,
                             c.getOffset() >= 0 ? " fast of the reference" : " slow of the reference");
  auto frequency = fixed(c.getFrequency(), "%.3f", "ppm");
  frequency.human = kj::str(format("%.3f ppm ", std::fabs(c.getFrequency())),
                            c.getFrequency() >= 0 ? "fast" : "slow");
  double rootDelay = ntp::secondsFromShort(server.getRootDelay());
  double rootDispersion = ntp::secondsFromShort(server.getRootDispersion());
  auto t = c.getTemperature();
  bool hasFit = t.getWindows() > 0;
  auto coefficient = [&](double v, double sigma, const char* fmt, const char* sigmaFmt,
                         kj::StringPtr unit) {
    if (!hasFit) return none();
    auto cell = fixed(v, fmt, unit);
    cell.human = kj::str(format(fmt, v), " +/- ", format(sigmaFmt, sigma), " ", unit);
    return cell;
  };
  auto active = boolean(t.getActive());
  active.human = kj::str(!hasFit ? "no" : t.getActive() ? "in use" : "learning");
  v.row(text(format("%08X (%s)", server.getRefid(), printable(c.getRefid()).cStr()), c.getRefid()),
        count(server.getStratum()), kj::mv(refTime), kj::mv(systemTime),
        seconds(c.getLastOffset(), true), seconds(c.getRmsOffset(), false), kj::mv(frequency),
        fixed(c.getResidualFrequency(), "%+.3f", "ppm"),
        fixed(c.getFrequencySigma(), "%.3f", "ppm"), seconds(rootDelay, false),
        seconds(rootDispersion, false),
        c.getUpdateIntervalNs() ? seconds(double(c.getUpdateIntervalNs()) * 1e-9, false) : none(),
        leapCell(server.getLeap()), leapSource(c), timestamp(c.getLeapValidUntilNs()),
        text(ipc::syncStateName(c.getState())), text(c.getReason()),
        text(c.getSourceKind()), seconds(rootDelay / 2 + rootDispersion, false),
        seconds(c.getOffsetSigma(), false), seconds(c.getJitter(), false),
        fixed(c.getWander(), "%.3g", "s/s/sqrt(s)"), count(c.getSteps()), text(c.getBackend()),
        text(c.getLeapAlarm()), text(c.getGpsAlarm()), temperatureCell(t),
        text(t.getProblem().size() > 0 ? kj::str(t.getSensor(), " (", t.getProblem(), ")")
                                       : kj::str(t.getSensor()),
             t.getSensor()),
        kj::mv(active),
        coefficient(t.getLinear(), t.getLinearSigma(), "%+.4f", "%.4f", "ppm/C"),
        hasFit ? fixed(t.getLinearSigma(), "%.4f", "ppm/C") : none(),
        coefficient(t.getQuadratic(), t.getQuadraticSigma(), "%+.5f", "%.5f", "ppm/C^2"),
        hasFit ? fixed(t.getQuadraticSigma(), "%.5f", "ppm/C^2") : none(),
        hasFit ? seconds(t.getLag(), false) : none());
  return kj::arr(kj::mv(v));
}

kj::Array<View> serverstats(ipc::SystemStatus::Reader status, const Lookup&) {
  auto s = status.getNetd().getBody();
  auto columns = kj::heapArrayBuilder<Column>(kj::size(NETD_STAT_ROWS) + 1);
  auto cells = kj::heapArrayBuilder<Cell>(kj::size(NETD_STAT_ROWS) + 1);
  for (auto& row: NETD_STAT_ROWS) {
    columns.add(Column{row.key, row.label});
    cells.add(count(row.get(s)));
  }
  columns.add(Column{"state_age", "State age"});
  cells.add(seconds(double(s.getStateAgeNs()) * 1e-9, false));
  View v{"serverstats", columns.finish(), {}, View::RECORD};
  v.rows.add(cells.finish());
  return kj::arr(kj::mv(v));
}

constexpr kj::StringPtr CLIENTS_LEGEND = R"(  Address  an IPv4 client, or an IPv6 /64 (one site), as netd's rate limiter keys them
  NTP      requests since netd started or since the client took its slot in netd's table
  Drop     requests refused by `ratelimit`; KoD: RATE kiss-o'-death replies among them
  Last     time since its last request, when netd last reported
)"_kj;

kj::Array<View> clients(ipc::SystemStatus::Reader status, const Lookup&) {
  auto v = view("clients", {{"address", "Address"}, {"requests", "NTP"},
                            {"rate_limited", "Drop"}, {"kod_sent", "KoD"}, {"last", "Last"}});
  for (auto c: status.getNetd().getBody().getTopClients()) {
    auto last = seconds(double(c.getLastAgoNs()) * 1e-9, false);
    last.human = kj::str(last.human, " ago");
    v.row(text(c.getAddress()), count(c.getRequests()), count(c.getRateLimited()),
          count(c.getKodSent()), kj::mv(last));
  }
  return kj::arr(kj::mv(v));
}

View satelliteView(ipc::SystemStatus::Reader status) {
  auto sats = view("satellites", {{"receiver", "Receiver"}, {"system", "System"}, {"prn", "PRN"},
                                  {"elevation", "Elevation"}, {"azimuth", "Azimuth"},
                                  {"snr", "SNR"}});
  for (auto rc: status.getRefclockd().getBody()) {
    for (auto s: rc.getSatellites()) {
      sats.row(text(rc.getName()), text(s.getSystem()), count(s.getPrn()),
               integer(s.getElevation()), count(s.getAzimuth()), count(s.getSnr()));
    }
  }
  return sats;
}

// What u-blox receivers (`ubx`) say about leap seconds (UBX-NAV-TIMELS), for people (scripts
// read `refclockd.body[].leap` in `status -j`): one row per receiver that sent UBX.
View leapView(ipc::SystemStatus::Reader status) {
  auto v = view("leap", {{"receiver", "Receiver"}, {"tai_utc", "TAI-UTC"}, {"change", "Leap"},
                         {"before", "Before"}, {"reported", "Reported"},
                         {"ubx_frames", "UBX frames"}, {"ubx_bad", "UBX bad"},
                         {"ubx_acks", "ACK"}, {"ubx_naks", "NAK"}, {"ubx_request", "TIMELS request"}});
  v.textOnly = true;
  for (auto rc: status.getRefclockd().getBody()) {
    auto l = rc.getLeap();
    if (rc.getUbxFrames() == 0 && rc.getUbxBad() == 0 && l.getReceivedNs() == 0 &&
        rc.getUbxRequest().size() == 0)
      continue;
    bool known = l.getChangeValid();
    bool pending = known && l.getChange() != 0;
    v.row(text(rc.getName()), l.getCurrentValid() ? integer(l.getTaiMinusUtc()) : none(),
          !known ? none() : text(l.getChange() > 0 ? "insert" : l.getChange() < 0 ? "delete" : "none"),
          timestamp(pending ? l.getAtNs() : 0), ago(l.getReceivedNs(), status.getGeneratedNs()),
          count(rc.getUbxFrames()), count(rc.getUbxBad()), count(rc.getUbxAcks()),
          count(rc.getUbxNaks()), rc.getUbxRequest().size() > 0 ? text(rc.getUbxRequest()) : none());
  }
  return v;
}

kj::String satellitesJson(ipc::RefclockStatus::Reader rc) {
  kj::Vector<kj::String> items;
  for (auto s: rc.getSatellites()) {
    items.add(kj::str("{\"system\":", jsonString(printable(s.getSystem())), ",\"prn\":", s.getPrn(),
                      ",\"elevation\":", s.getElevation(), ",\"azimuth\":", s.getAzimuth(),
                      ",\"snr\":", s.getSnr(), "}"));
  }
  return kj::str("[", kj::strArray(items, ","), "]");
}

constexpr kj::StringPtr GNSS_LEGEND = R"(  Locked   PPS and NMEA paired in the last seconds (or samples flowing, without PPS)
  Fix      GGA fix quality: 0 none, 1 GPS, 2 DGPS; Used/In view: satellites
  HDOP, PDOP  dilution of precision (- : the receiver has not said)
  NMEA delay  the time sentence's arrival after the PPS edge (chrony's and ntpd's time2)
  Anomaly  a failed GNSS integrity check (no sample is sent meanwhile); Fault: what is wrong
  SNR      carrier to noise density, dB-Hz (0: in view, not tracked)
)"_kj;

kj::Array<View> gnss(ipc::SystemStatus::Reader status, const Lookup&) {
  auto receivers = view("receivers", {
    {"receiver", "Receiver"}, {"driver", "Driver", Column::DATA_ONLY},
    {"device_open", "Open", Column::DATA_ONLY}, {"locked", "Locked"}, {"fix", "Fix"},
    {"satellites_used", "Used"}, {"satellites_in_view", "In view"}, {"hdop", "HDOP"},
    {"pdop", "PDOP"}, {"nmea_delay", "NMEA delay"}, {"anomaly", "Anomaly"}, {"fault", "Fault"},
    {"satellites", "", Column::JSON_ONLY}});
  for (auto rc: status.getRefclockd().getBody()) {
    receivers.row(text(rc.getName()), text(rc.getDriver()), boolean(rc.getDeviceOpen()),
                  boolean(rc.getLocked()), count(rc.getFixQuality()),
                  count(rc.getSatellitesUsed()), count(rc.getSatellitesInView()),
                  fixed(rc.getHdop(), "%.1f", ""), fixed(rc.getPdop(), "%.1f", ""),
                  seconds(double(rc.getNmeaDelayNs()) * 1e-9, false), text(rc.getAnomaly()),
                  text(rc.getFault()), nested(satellitesJson(rc)));
  }
  auto sats = satelliteView(status);
  sats.textOnly = true;
  auto leap = leapView(status);
  if (leap.rows.size() == 0) return kj::arr(kj::mv(receivers), kj::mv(sats));
  return kj::arr(kj::mv(receivers), kj::mv(sats), kj::mv(leap));
}

kj::Array<View> satellites(ipc::SystemStatus::Reader status, const Lookup&) {
  return kj::arr(satelliteView(status));
}

constexpr kj::StringPtr DAEMONS_LEGEND = R"(  State    up: running and connected to clockd (clockd: answering)
  User     the account it runs as; Capabilities: its effective set (clockd: cap_sys_time
           only with `clock system`; the others none)
  Seccomp  filter: its own system call allowlist is loaded (mode 2)
  Restarts times it came back with another pid since clockd started (clockd's own: -)
)"_kj;

Cell upCell(bool up) {
  return {kj::str(up ? "up" : "down"), kj::str(up ? "true" : "false"), Cell::BOOL};
}

kj::Array<View> daemons(ipc::SystemStatus::Reader status, const Lookup& lookup) {
  auto v = view("daemons", {
    {"daemon", "Daemon"}, {"up", "State"}, {"pid", "PID"}, {"user", "User"}, {"uid", "UID", Column::DATA_ONLY},
    {"capabilities", "Capabilities"}, {"cap_eff", "CapEff", Column::DATA_ONLY},
    {"no_new_privs", "NoNewPrivs"}, {"seccomp", "Seccomp"}, {"restarts", "Restarts"},
    {"started", "Started"}, {"version", "Version"}});
  auto row = [&](kj::StringPtr name, bool up, ipc::DaemonInfo::Reader info, kj::Maybe<uint32_t> restarts) {
    Cell restartCell = none();
    KJ_IF_MAYBE(n, restarts) restartCell = count(*n);
    if (!up) {
      v.row(text(name), upCell(false), none(), none(), none(), none(), none(), none(),
            none(), kj::mv(restartCell), none(), none());
      return;
    }
    kj::String user = info.getUser().size() > 0 ? kj::str(info.getUser())
                      : lookup.userName ? lookup.userName(info.getUid()) : kj::str("");
    v.row(text(name), upCell(true), count(info.getPid()),
          text(user.size() ? kj::str(user) : kj::str(info.getUid()), user), count(info.getUid()),
          text(capabilityNames(info.getCapEff())), text(format("%016" PRIx64, info.getCapEff())),
          boolean(info.getNoNewPrivs()), text(seccompName(info.getSeccomp())),
          kj::mv(restartCell), ago(info.getStartedNs(), status.getGeneratedNs()),
          text(info.getVersion()));
  };
  row(roleName(Role::CLOCKD), true, status.getClockd(), nullptr);
  row(roleName(Role::REFCLOCKD), status.getRefclockd().getConnected(), status.getRefclockd().getInfo(),
      status.getRefclockd().getRestarts());
  row(roleName(Role::NETD), status.getNetd().getConnected(), status.getNetd().getInfo(),
      status.getNetd().getRestarts());
  if (status.hasMonitord() && status.getMonitord().getPid() != 0) {
    row(roleName(Role::MONITORD), true, status.getMonitord(), nullptr);
  }
  if (status.getNts().getEnabled()) {   // ntskd runs only with NTS on
    row(roleName(Role::NTSKD), status.getNtskd().getConnected(), status.getNtskd().getInfo(),
        status.getNtskd().getRestarts());
  }
  return kj::arr(kj::mv(v));
}

const Command COMMANDS[] = {
  {"status", "", statusViews, "the state, the daemons, the receivers and netd's counters", ""},
  {"sources", "", sources, "the time sources, as chronyc sources", SOURCES_LEGEND},
  {"sourcestats", "", sourcestats, "each source's sample statistics", SOURCESTATS_LEGEND},
  {"tracking", "", tracking, "the system clock, as chronyc tracking", TRACKING_LEGEND},
  {"serverstats", roleName(Role::NETD), serverstats, "netd's counters, as chronyc serverstats", ""},
  {"clients", roleName(Role::NETD), clients, "netd's busiest clients", CLIENTS_LEGEND},
  {"gnss", roleName(Role::REFCLOCKD), gnss, "each receiver's fix, DOP and faults, and its satellites", GNSS_LEGEND},
  {"satellites", roleName(Role::REFCLOCKD), satellites, "every satellite in view", GNSS_LEGEND},
  {"daemons", "", daemons, "each daemon's pid, user, capabilities, seccomp mode, restarts",
   DAEMONS_LEGEND},
};

}  // namespace

kj::ArrayPtr<const Command> commands() { return COMMANDS; }

kj::Maybe<const Command&> findCommand(kj::StringPtr name) {
  for (auto& c: COMMANDS) if (c.name == name) return c;
  return nullptr;
}

}  // namespace horloge::ctl
