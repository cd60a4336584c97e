// horlogectl's human rendering of clockd's SystemStatus: a pure function from the message to
// text, so the layout is pinned by a golden test. Strings that came over IPC are printed with
// control characters replaced, so that no peer can drive the operator's terminal.
#pragma once
#include <horloge.capnp.h>
#include <kj/string.h>
#include <kj/array.h>

namespace horloge::ctl {

kj::String renderStatus(ipc::SystemStatus::Reader status);

// The peers of clockd that the status reports as not connected ("refclockd", "netd").
kj::Array<kj::StringPtr> downPeers(ipc::SystemStatus::Reader status);

// /proc's Seccomp field in words: "off", "strict", "filter".
kj::StringPtr seccompName(uint8_t mode);

}  // namespace horloge::ctl
