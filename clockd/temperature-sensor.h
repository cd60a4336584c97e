// The temperature input outside `clock sim`: a file holding the temperature in millidegrees
// Celsius, as Linux thermal zones and hwmon give it (a Pi's SoC: thermal_zone0). Opened before
// lockdown and read again from offset 0 each time: sysfs makes a fresh value for each read that
// starts at 0, so the descriptor serves for the daemon's life without reopening (which the
// sandbox's user may not be allowed to do).
//
// A sensor that is missing, unreadable or says something that is not a temperature is a state
// (problem()), logged when it changes: the discipline then behaves as without one.
#pragma once
#include <kj/array.h>
#include <kj/common.h>
#include <kj/io.h>
#include <kj/string.h>

namespace horloge::clockd {

// Where a Pi (and most Linux boards) report the SoC's temperature.
constexpr kj::StringPtr DEFAULT_TEMPERATURE_SENSOR = "/sys/class/thermal/thermal_zone0/temp"_kj;

// "45123\n" -> 45.123 °C; nullptr for anything else (text, an empty file, a value outside
// -100..200 °C, which no crystal on a working board reaches).
kj::Maybe<double> parseMillidegrees(kj::ArrayPtr<const char> text);

class TemperatureSensor {
public:
  // Opens `path` read-only; failing to is the first problem(), not an exception.
  explicit TemperatureSensor(kj::StringPtr path);

  // The temperature now, °C; nullptr when it cannot be had (problem() says why).
  kj::Maybe<double> read();

  kj::StringPtr path() const { return where; }
  // Why there is no reading, "" while readings come.
  kj::StringPtr problem() const { return why; }

private:
  kj::String where;
  kj::AutoCloseFd fd;
  kj::String why;
  void setProblem(kj::String text);
};

}  // namespace horloge::clockd
