// /metrics: clockd's SystemStatus as Prometheus text, under neutral `ntp_*` names, in base units
// (seconds; frequencies as ratios, s/s):
//   horloge_build_info{version}
//   ntp_system_*    the clock (state, offset, jitter, frequency, root delay and dispersion, leap)
//   ntp_source_*    each time source, labelled {source, kind}; its selection mark as a label
//   ntp_server_*    netd's counters (`..._packets_total`)
//   ntp_refclock_*  each receiver (pairing, NMEA health, integrity), labelled {name, driver}
//   ntp_gnss_*      each receiver's fix, satellites, DOP, NMEA delay, per-satellite SNR
//   ntp_daemon_*    each daemon's sandbox (uid, capabilities, no_new_privs, seccomp mode), restarts
//   ntp_monitor_*   monitord's own HTTPS connections: open, accepted, refused and cut by reason
// Adding a field: add one row to the table of its object in metrics.c++.
#pragma once
#include "connection-slots.h"
#include <horloge.capnp.h>
#include <kj/string.h>

namespace horloge::monitord {

// The whole exposition; `self` replaces what clockd says about monitord; `connections` (may be
// null: not shown) are monitord's own.
kj::String renderMetrics(ipc::SystemStatus::Reader status, ipc::DaemonInfo::Reader self,
                         const ConnectionStats* connections = nullptr);

// When clockd cannot be asked: only ntp_daemon_up{daemon="clockd"} 0, monitord's own sandbox
// and connections. Served with 200, so that the scrape itself succeeds and alerts can fire.
kj::String renderUnreachableMetrics(ipc::DaemonInfo::Reader self,
                                    const ConnectionStats* connections = nullptr);

}  // namespace horloge::monitord
