// A serial line in raw mode: how refclockd reads NMEA from a UART, a USB receiver or a pty.
#pragma once
#include <kj/string.h>

namespace horloge::refclock {

// Opens `path` read-only, non-blocking, raw 8N1 at `baud` (4800..115200). Throws on failure.
int openSerial(kj::StringPtr path, int baud);

}  // namespace horloge::refclock
