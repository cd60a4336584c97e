// A serial line in raw mode: how refclockd reads NMEA from a UART, a USB receiver or a pty.
#pragma once
#include <string>

namespace horloge::refclock {

// Opens `path` read-only, non-blocking, raw 8N1 at `baud` (4800..115200). Throws on failure.
int openSerial(const std::string& path, int baud);

}  // namespace horloge::refclock
