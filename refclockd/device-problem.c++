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
kj::String missingHint(DeviceKind kind, kj::StringPtr device) {
  auto name = baseName(device);
  if (kind == DeviceKind::PPS) {
    if (startsWith(name, "pps")) {
      return kj::str("is `dtoverlay=pps-gpio,gpiopin=N` (N: the GPIO of the PPS wire) in "
                     "/boot/firmware/config.txt, and was the Pi rebooted since?");
    }
    return kj::str("is the receiver connected?");
  }
  if (startsWith(name, "ttyUSB") || startsWith(name, "ttyACM")) {
    return kj::str("is the USB receiver plugged in?");
  }
  if (startsWith(name, "serial") || startsWith(name, "ttyAMA") || startsWith(name, "ttyS")) {
    return kj::str("is `enable_uart=1` in /boot/firmware/config.txt, and was the Pi rebooted "
                   "since?");
  }
  return kj::str("is the receiver connected?");
}

}  // namespace

kj::String openProblem(DeviceKind kind, kj::StringPtr device, int err) {
  switch (err) {
    case ENOENT:
      return kj::str(noun(kind), " ", device, " is missing: ", missingHint(kind, device));
    case EACCES:
    case EPERM:
      if (kind == DeviceKind::PPS) {
        return kj::str(noun(kind), " ", device, " is not readable by refclockd's user (uid ",
                       geteuid(), "): /dev/pps* must be root:dialout 0660, which the package's "
                       "udev rule does (`udevadm trigger -s pps`; check with `ls -l ", device,
                       "`)");
      }
      return kj::str(noun(kind), " ", device, " is not readable by refclockd's user (uid ",
                     geteuid(), "): it must be in group dialout, mode 0660 (`ls -l ", device, "`)");
    case EBUSY:
      return kj::str(noun(kind), " ", device, " is busy: another program holds it (a serial "
                     "console or getty? gpsd?)");
    case ENODEV:
    case ENXIO:
    case EIO:
      return kj::str(noun(kind), " ", device, " has no device behind it (", strerror(err),
                     "): unplugged, or its driver is not loaded");
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
  return kj::str("no PPS pulse on ", device, " for ", seconds, " s: does the receiver have a fix "
                 "(most pulse only then), and is its PPS wire on the GPIO the overlay names?");
}

kj::String silentSerial(kj::StringPtr device, int64_t seconds, uint64_t sentences, uint64_t bad,
                        int baud) {
  if (sentences == 0 && bad > 0) {
    return kj::str("only unreadable bytes from ", device, " (", bad, " bad lines): wrong baud "
                   "rate? horloge.conf says ", baud, "; a u-blox NEO-M8 starts at 9600");
  }
  if (sentences > 0) {
    return kj::str("no time from ", device, " for ", seconds, " s although NMEA arrives: enable "
                   "RMC (or ZDA, GGA) in the receiver");
  }
  return kj::str("nothing from ", device, " for ", seconds, " s: is the receiver powered, its TX "
                 "wired to the Pi's RX (GPIO 15), and the console off the UART?");
}

kj::String retrying(int64_t inNs) {
  return kj::str("; retrying in ", int64_t(std::ceil(double(inNs) * 1e-9)), " s");
}

}  // namespace horloge::refclock
