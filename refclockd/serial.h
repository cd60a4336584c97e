// A serial line in raw mode: how refclockd reads NMEA from a UART, a USB receiver or a pty.
#pragma once
#include <kj/string.h>

namespace horloge::refclock {

struct SerialOpen {
  int fd = -1;            // the line, or -1
  int err = 0;            // errno of the call that failed
  bool notSerial = false; // it opened, but termios refused it: not a serial port
};

// Opens `path` non-blocking, raw 8N1 at `baud` (4800..115200, as the configuration checked),
// read-only unless `writable` (a receiver that is sent configuration). Never throws: a missing
// or wrong device is the caller's state to report.
SerialOpen openSerial(kj::StringPtr path, int baud, bool writable = false);

// Writes `bytes` whole to a non-blocking serial descriptor, waiting at most `timeoutMs` for room
// (a few hundred bytes at start: the line's buffer takes them). 0, or the errno of the failure
// (ETIMEDOUT when the line took nothing for that long).
int writeSerial(int fd, kj::ArrayPtr<const char> bytes, int timeoutMs = 1000);

}  // namespace horloge::refclock
