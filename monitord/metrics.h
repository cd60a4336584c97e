// /metrics: clockd's SystemStatus as Prometheus text, under neutral `ntp_*` names, in base units
// (seconds; frequencies as ratios, s/s):
//   horloge_build_info{version}
//   ntp_system_*    the clock (state, offset, jitter, frequency, root delay and dispersion, leap)
//   ntp_source_*    each time source, labelled {source, kind}; its selection mark as a label
//   ntp_server_*    netd's counters (`..._packets_total`)
//   ntp_refclock_*  each receiver (pairing, NMEA health, integrity), labelled {name, driver}
//   ntp_gnss_*      each receiver's fix, satellites, DOP, NMEA delay, per-satellite SNR
//   ntp_daemon_*    each daemon's sandbox (uid, capabilities, no_new_privs, seccomp mode), restarts
// Adding a field: add one row to the table of its object in metrics.c++.
#pragma once
#include <horloge.capnp.h>
#include <kj/string.h>

namespace horloge::monitord {

// The whole exposition; `self` replaces what clockd says about monitord.
kj::String renderMetrics(ipc::SystemStatus::Reader status, ipc::DaemonInfo::Reader self);

// When clockd cannot be asked: only ntp_daemon_up{daemon="clockd"} 0 and monitord's own
// sandbox. Served with 200, so that the scrape itself succeeds and alerts can fire on it.
kj::String renderUnreachableMetrics(ipc::DaemonInfo::Reader self);

}  // namespace horloge::monitord
