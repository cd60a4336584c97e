// The name operators know a source by, in every view of the status (horlogectl, /metrics).
#pragma once
#include <horloge.capnp.h>
#include <kj/string.h>

namespace horloge::ipc {

// An upstream server's address; a refclock's receiver name (as refclockd reports it); else its
// kind and number ("pps0").
kj::String sourceName(SystemStatus::Reader status, SourceStatus::Reader source);

}  // namespace horloge::ipc
