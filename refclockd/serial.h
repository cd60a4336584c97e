// A serial line in raw mode: how refclockd reads NMEA from a UART, a USB receiver or a pty.
#pragma once
#include <kj/string.h>

namespace horloge::refclock {

struct SerialOpen {
  int fd = -1;            // the line, or -1
  int err = 0;            // errno of the call that failed
  bool notSerial = false; // it opened, but termios refused it: not a serial port
};

// Opens `path` read-only, non-blocking, raw 8N1 at `baud` (4800..115200, as the configuration
// checked). Never throws: a missing or wrong device is the caller's state to report.
SerialOpen openSerial(kj::StringPtr path, int baud);

}  // namespace horloge::refclock
