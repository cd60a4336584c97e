#include "persist.h"
#include "log.h"
#include "read-file.h"
#include <kj/exception.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>
#include <cerrno>
#include <kj/debug.h>
#include <fcntl.h>
#include <unistd.h>

namespace horloge::clockd {

void writeAtomically(const std::string& path, const std::string& text, bool durable, int mode) {
  std::string tmp = path + ".tmp";
  unlink(tmp.c_str());   // a stale one may have a wider mode
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) KJ_FAIL_SYSCALL("open", errno, tmp);
  FILE* f = fdopen(fd, "w");
  if (f == nullptr) {
    int error = errno;
    close(fd);
    KJ_FAIL_SYSCALL("fdopen", error, tmp);
  }
  bool ok = fputs(text.c_str(), f) >= 0 && fflush(f) == 0 && (!durable || fsync(fileno(f)) == 0);
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    int error = errno;
    unlink(tmp.c_str());
    KJ_FAIL_SYSCALL("write", error, path);
  }
}

namespace {

// The file, or nullopt when absent (`why` empty) or unusable (`why` says so, naming it).
std::optional<std::string> readAll(const std::string& path, kj::String& why) {
  KJ_IF_MAYBE(text, tryReadSmallFile(path.c_str(), MAX_STATE_FILE_BYTES, why)) {
    return std::string(text->begin(), text->size());
  }
  return std::nullopt;
}

// Our own files in statedir: one we cannot read is as good as absent, and said so.
std::optional<std::string> readOwn(const std::string& path) {
  kj::String why;
  auto text = readAll(path, why);
  if (why.size() > 0) log::warn(kj::str("ignoring ", why));
  return text;
}

}  // namespace

std::optional<Drift> readDrift(const std::string& path) {
  kj::String why;
  auto text = readAll(path, why);
  if (why.size() > 0) {
    kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                          kj::str("driftfile ", why)));
  }
  return text ? parseDrift(*text) : std::nullopt;
}

std::optional<Drift> parseDrift(const std::string& text) {
  std::istringstream in(text);
  double freq, skew;
  if (!(in >> freq >> skew) || !std::isfinite(freq) || !std::isfinite(skew) ||
      std::fabs(freq) > 500 || skew < 0 || skew > 100) {
    return std::nullopt;
  }
  return Drift{freq * 1e-6, skew * 1e-6};
}

void writeDrift(const std::string& path, const Drift& d) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.6f %.6f\n", d.frequency * 1e6, d.sigma * 1e6);
  writeAtomically(path, buf);
}

std::optional<StepState> readStepState(const std::string& path) {
  auto text = readOwn(path);
  return text ? parseStepState(*text) : std::nullopt;
}

std::optional<StepState> parseStepState(const std::string& text) {
  std::istringstream in(text);
  StepState s;
  long long updates;
  if (!(in >> s.bootId >> updates >> s.lastGoodNs) || updates < 0) return std::nullopt;
  s.updates = static_cast<int>(std::min<long long>(updates, MAX_SAVED_UPDATES));
  return s;
}

void writeStepState(const std::string& path, const StepState& s) {
  writeAtomically(path, s.bootId + " " + std::to_string(std::clamp(s.updates, 0, MAX_SAVED_UPDATES)) +
                            " " + std::to_string(s.lastGoodNs) + "\n");
}

namespace {

constexpr char SIM_MAGIC[] = "horloge-sim-clock-1";

}  // namespace

void writeSimState(const std::string& path, const std::string& bootId, const SimClockParams& p,
                   const SimClockState& s) {
  char buf[1024];
  const SimThermalParams& h = p.thermal;
  snprintf(buf, sizeof(buf),
           "%s %s %.17g %.17g %.17g %.17g %d %d %d %.17g %.17g %.17g %.17g %llu %.17g %.17g %.17g "
           "%.17g %.17g %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n",
           SIM_MAGIC, bootId.c_str(), s.trueTime, s.offset, s.frequency, s.correction, s.leap,
           s.waiting ? 1 : 0, s.leaps, p.frequency, p.wander, p.offset, p.jitter,
           static_cast<unsigned long long>(p.seed), s.untilStep, p.frequencyStep, p.frequencyStepAt,
           s.elapsed, s.crystal, h.enabled ? 1 : 0, h.base, h.diurnal, h.dayPhase, h.load, h.loadPeriod, h.lag,
           h.noise, h.resolution, h.linear, h.quadratic);
  writeAtomically(path, buf, false);
}

std::optional<SimClockState> readSimState(const std::string& path, const std::string& bootId,
                                          const SimClockParams& p) {
  auto text = readOwn(path);
  return text ? parseSimState(*text, bootId, p) : std::nullopt;
}

std::optional<SimClockState> parseSimState(const std::string& text, const std::string& bootId,
                                           const SimClockParams& p) {
  if (bootId.empty()) return std::nullopt;
  std::istringstream in(text);
  std::string magic, boot;
  SimClockState s;
  int waiting = 0;
  SimClockParams saved;
  unsigned long long seed = 0;
  int thermal = 0;
  SimThermalParams& h = saved.thermal;
  if (!(in >> magic >> boot >> s.trueTime >> s.offset >> s.frequency >> s.correction >> s.leap >>
        waiting >> s.leaps >> saved.frequency >> saved.wander >> saved.offset >> saved.jitter >>
        seed >> s.untilStep >> saved.frequencyStep >> saved.frequencyStepAt >> s.elapsed >>
        s.crystal >> thermal >> h.base >> h.diurnal >> h.dayPhase >> h.load >> h.loadPeriod >> h.lag >>
        h.noise >> h.resolution >> h.linear >> h.quadratic)) {
    return std::nullopt;
  }
  h.enabled = thermal != 0;
  const SimThermalParams& q = p.thermal;
  s.waiting = waiting != 0;
  bool finite = std::isfinite(s.trueTime) && std::isfinite(s.offset) &&
                std::isfinite(s.frequency) && std::isfinite(s.correction);
  // Printed with 17 digits: the same model reads back exactly.
  bool sameModel = saved.frequency == p.frequency && saved.wander == p.wander &&
                   saved.offset == p.offset && saved.jitter == p.jitter && seed == p.seed &&
                   saved.frequencyStep == p.frequencyStep &&
                   saved.frequencyStepAt == p.frequencyStepAt && h.enabled == q.enabled &&
                   h.base == q.base && h.diurnal == q.diurnal && h.dayPhase == q.dayPhase &&
                   h.load == q.load &&
                   h.loadPeriod == q.loadPeriod && h.lag == q.lag && h.noise == q.noise &&
                   h.resolution == q.resolution && h.linear == q.linear &&
                   h.quadratic == q.quadratic;
  if (magic != SIM_MAGIC || boot != bootId || !finite || !sameModel || s.trueTime <= 0 ||
      s.leap < -1 || s.leap > 1) {
    return std::nullopt;
  }
  return s;
}

namespace {

constexpr char TEMPERATURE_MAGIC[] = "horloge-temperature-1";

}  // namespace

void writeTemperatureMemory(const std::string& path, const TemperatureMemory& m) {
  std::string out = TEMPERATURE_MAGIC;
  char buf[32];
  auto add = [&](double v) {
    snprintf(buf, sizeof(buf), " %.17g", v);
    out += buf;
  };
  add(m.reference);
  add(m.yRef);
  add(m.lag);
  for (auto& row: m.n) for (double v: row) add(v);
  for (double v: m.r) add(v);
  add(m.yy);
  add(m.weight);
  add(m.low);
  add(m.high);
  out += "\n";
  writeAtomically(path, out);
}

std::optional<TemperatureMemory> parseTemperatureMemory(const std::string& text) {
  std::istringstream in(text);
  std::string magic;
  TemperatureMemory m;
  if (!(in >> magic) || magic != TEMPERATURE_MAGIC) return std::nullopt;
  std::vector<double*> fields = {&m.reference, &m.yRef, &m.lag};
  for (auto& row: m.n) for (double& v: row) fields.push_back(&v);
  for (double& v: m.r) fields.push_back(&v);
  for (double* v: {&m.yy, &m.weight, &m.low, &m.high}) fields.push_back(v);
  for (double* v: fields) {
    if (!(in >> *v) || !std::isfinite(*v)) return std::nullopt;
  }
  std::string rest;
  if (in >> rest) return std::nullopt;
  // What the model itself could have written: a lag of its bank, weights and squares that
  // are not negative, symmetric normal equations, temperatures a board sees.
  const auto& lags = TemperatureModel::LAG;
  bool knownLag = std::find(lags.begin(), lags.end(), m.lag) != lags.end();
  bool sane = knownLag && m.weight > 0 && m.yy >= 0 && m.low <= m.high &&
              m.reference >= -100 && m.reference <= 200 && m.low >= -100 && m.high <= 200;
  for (int i = 0; i < 3 && sane; ++i) {
    sane = m.n[i][i] >= 0;
    for (int j = 0; j < 3 && sane; ++j) sane = m.n[i][j] == m.n[j][i];
  }
  if (!sane) return std::nullopt;
  return m;
}

std::optional<TemperatureMemory> readTemperatureMemory(const std::string& path) {
  auto text = readOwn(path);
  if (!text) return std::nullopt;
  auto m = parseTemperatureMemory(*text);
  if (!m) {
    log::warn(kj::str("ignoring ", path, ": not a temperature relation we wrote; learning it "
                      "from scratch"));
  }
  return m;
}

std::string currentBootId() {
  auto id = readOwn("/proc/sys/kernel/random/boot_id");
  if (!id) return "";
  std::string s = *id;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "-" : s;
}

int updatesAtStart(const std::optional<StepState>& saved, const std::string& bootId) {
  return saved && !bootId.empty() && saved->bootId == bootId ? saved->updates : 0;
}

}  // namespace horloge::clockd
