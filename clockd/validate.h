// clockd trusts nothing its peers send: every field of every message is range-checked here
// before it touches the discipline or the status. A violation throws (KJ_REQUIRE), which fails
// that call back to the sender; clockd counts it and carries on.
#pragma once
#include "ntp-time.h"
#include "sources.h"
#include <horloge.capnp.h>
#include <cstdint>

namespace horloge::clockd {

constexpr int64_t EARLIEST_NS = 1'577'836'800LL * ntp::NS_PER_S;   // 2020-01-01
constexpr int64_t LATEST_NS = 4'102'444'800LL * ntp::NS_PER_S;     // 2100-01-01
constexpr uint32_t MAX_TEXT = ipc::MAX_TEXT;

void validateSample(ipc::RefSample::Reader s);
void validateReceiverLeap(ipc::ReceiverLeap::Reader l);
void validateRefclockStatus(capnp::List<ipc::RefclockStatus>::Reader list);
void validateNetdStats(ipc::NetdStats::Reader s);
void validateUpstreamSample(ipc::UpstreamSample::Reader s);
void validateNtskeStats(ipc::NtskeStats::Reader s);
void validateDaemonInfo(ipc::DaemonInfo::Reader info, ipc::Role expected);

}  // namespace horloge::clockd
