#include "temperature-sensor.h"
#include "log.h"
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace horloge::clockd {

kj::Maybe<double> parseMillidegrees(kj::ArrayPtr<const char> text) {
  // An integer, optionally signed, then at most white space.
  char buf[32];
  size_t n = 0;
  while (n < text.size() && (text[n] == ' ' || text[n] == '\t')) ++n;
  size_t start = n, len = 0;
  while (n < text.size() && len + 1 < sizeof(buf) &&
         ((text[n] >= '0' && text[n] <= '9') || (n == start && (text[n] == '-' || text[n] == '+')))) {
    buf[len++] = text[n++];
  }
  buf[len] = '\0';
  for (; n < text.size(); ++n) {
    if (text[n] != ' ' && text[n] != '\n' && text[n] != '\t' && text[n] != '\r') return nullptr;
  }
  if (len == 0 || (len == 1 && (buf[0] == '-' || buf[0] == '+'))) return nullptr;
  char* end = nullptr;
  errno = 0;
  long long milli = strtoll(buf, &end, 10);
  if (errno != 0 || *end != '\0') return nullptr;
  double celsius = double(milli) / 1000;
  if (!(celsius >= -100 && celsius <= 200)) return nullptr;
  return celsius;
}

TemperatureSensor::TemperatureSensor(kj::StringPtr path)
    : where(kj::str(path)), why(kj::str("")) {
  int f = open(where.cStr(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (f < 0) {
    setProblem(kj::str("cannot open ", where, ": ", strerror(errno)));
  } else {
    fd = kj::AutoCloseFd(f);
  }
}

kj::Maybe<double> TemperatureSensor::read() {
  if (fd.get() < 0) return nullptr;   // never opened: said once at start
  char buf[64];
  ssize_t n = pread(fd.get(), buf, sizeof(buf), 0);
  if (n < 0) {
    setProblem(kj::str("cannot read ", where, ": ", strerror(errno)));
    return nullptr;
  }
  KJ_IF_MAYBE(c, parseMillidegrees(kj::arrayPtr(buf, size_t(n)))) {
    if (why.size() > 0) log::info(kj::str("temperature sensor ", where, " reads again"));
    why = kj::str("");
    return *c;
  }
  setProblem(kj::str(where, " does not hold a temperature in millidegrees"));
  return nullptr;
}

void TemperatureSensor::setProblem(kj::String text) {
  if (text != why) log::warn(kj::str("temperature sensor: ", text));
  why = kj::mv(text);
}

}  // namespace horloge::clockd
