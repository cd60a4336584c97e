#include "device-problem.h"
#include <cerrno>
#include <cmath>
#include <cstring>
#include <unistd.h>

namespace horloge::refclock {

namespace {

kj::StringPtr noun(DeviceKind kind) { return kind == DeviceKind::PPS ? "PPS device" : "serial device"; }

bool startsWith(kj::StringPtr s, kj::StringPtr prefix) {
  return s.size() >= prefix.size() && memcmp(s.begin(), prefix.begin(), prefix.size()) == 0;
}

kj::StringPtr baseName(kj::StringPtr path) {
  const char* slash = strrchr(path.cStr(), '/');
  return slash ? kj::StringPtr(slash + 1) : path;
}

// What to check when the device node does not exist, by the name it has on a Pi.
kj::StringPtr missingHint(DeviceKind kind, kj::StringPtr device) {
  auto name = baseName(device);
  if (kind == DeviceKind::PPS) {
    if (startsWith(name, "pps")) {
      return "is dtoverlay=pps-gpio in /boot/firmware/config.txt (and the Pi rebooted)?";
    }
    return "is the receiver connected?";
  }
  if (startsWith(name, "ttyUSB") || startsWith(name, "ttyACM")) return "is the USB receiver plugged in?";
  if (startsWith(name, "serial") || startsWith(name, "ttyAMA") || startsWith(name, "ttyS")) {
    return "is enable_uart=1 in /boot/firmware/config.txt (and the Pi rebooted)?";
  }
  return "is the receiver connected?";
}

}  // namespace

kj::String openProblem(DeviceKind kind, kj::StringPtr device, int err) {
  switch (err) {
    case ENOENT:
      return kj::str(noun(kind), " ", device, " is missing: ", missingHint(kind, device));
    case EACCES:
    case EPERM:
      if (kind == DeviceKind::PPS) {
        return kj::str(noun(kind), " ", device, " is not readable by uid ", geteuid(),
                       ": it must be root:dialout 0660 (udevadm trigger -s pps)");
      }
      return kj::str(noun(kind), " ", device, " is not readable by uid ", geteuid(),
                     ": the user must be in group dialout");
    case EBUSY:
      return kj::str(noun(kind), " ", device, " is busy: a serial console, a getty or gpsd holds it");
    case ENODEV:
    case ENXIO:
    case EIO:
      return kj::str(noun(kind), " ", device, " has no device behind it (", strerror(err),
                     "): unplugged, or no driver");
    case ENOTDIR:
    case ELOOP:
      return kj::str(noun(kind), " ", device, " is a broken link (", strerror(err), ")");
  }
  return kj::str("cannot open ", noun(kind), " ", device, ": ", strerror(err));
}

kj::String wrongDevice(DeviceKind kind, kj::StringPtr device, kj::StringPtr what) {
  return kj::str(noun(kind), " ", device, " ", what);
}

kj::String lostProblem(DeviceKind kind, kj::StringPtr device, int err) {
  if (err == 0) return kj::str(noun(kind), " ", device, " closed (end of file): unplugged?");
  return kj::str(noun(kind), " ", device, " went away (", strerror(err), "): unplugged or removed?");
}

kj::String silentPps(kj::StringPtr device, int64_t seconds) {
  return kj::str("no PPS pulse on ", device, " for ", seconds, " s: no GPS fix yet, or the PPS "
                 "wire is not on the overlay's GPIO");
}

kj::String silentSerial(kj::StringPtr device, int64_t seconds, uint64_t sentences, uint64_t bad,
                        int baud) {
  if (sentences == 0 && bad > 0) {
    return kj::str("only unreadable bytes from ", device, ": wrong baud rate? (horloge.conf: ",
                   baud, "; a NEO-M8 starts at 9600)");
  }
  if (sentences > 0) {
    return kj::str("NMEA from ", device, " has no time for ", seconds, " s: enable RMC or ZDA "
                   "in the receiver");
  }
  return kj::str("nothing from ", device, " for ", seconds, " s: receiver off, its TX not on the "
                 "Pi's RX (GPIO 15), or a console there");
}

kj::String retrying(int64_t inNs) {
  return kj::str("; retrying in ", int64_t(std::ceil(double(inNs) * 1e-9)), " s");
}

kj::String clamp(kj::StringPtr text, size_t max) {
  if (text.size() <= max) return kj::str(text);
  size_t n = max - 3;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;   // UTF-8 continuation
  return kj::str(text.slice(0, n), "...");
}

}  // namespace horloge::refclock
