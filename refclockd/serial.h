// A serial line in raw mode: how refclockd reads NMEA from a UART, a USB receiver or a pty.
#pragma once
#include <string>

namespace horloge::refclock {

// Opens `path` non-blocking, raw 8N1 at `baud` (4800..115200), read-only unless `writable`
// (a receiver that is sent configuration). Throws on failure.
int openSerial(const std::string& path, int baud, bool writable = false);

// Writes `bytes` whole to a non-blocking serial descriptor, waiting at most `timeoutMs` for room
// (a few hundred bytes at start: the line's buffer takes them). Throws on failure or timeout.
void writeSerial(int fd, const std::string& bytes, int timeoutMs = 1000);

}  // namespace horloge::refclock
