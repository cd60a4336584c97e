#include "persist.h"
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <fcntl.h>
#include <unistd.h>

namespace horloge::clockd {

void writeAtomically(const std::string& path, const std::string& text, bool durable, int mode) {
  std::string tmp = path + ".tmp";
  unlink(tmp.c_str());   // a stale one may have a wider mode
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  FILE* f = fd < 0 ? nullptr : fdopen(fd, "w");
  if (f == nullptr) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot write " + tmp);
  }
  bool ok = fputs(text.c_str(), f) >= 0 && fflush(f) == 0 && (!durable || fsync(fileno(f)) == 0);
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + path);
  }
}

namespace {

std::optional<std::string> readAll(const std::string& path) {
  std::ifstream f(path);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<Drift> readDrift(const std::string& path) {
  auto text = readAll(path);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
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
  auto text = readAll(path);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  StepState s;
  if (!(in >> s.bootId >> s.updates >> s.lastGoodNs) || s.updates < 0) return std::nullopt;
  return s;
}

void writeStepState(const std::string& path, const StepState& s) {
  writeAtomically(path, s.bootId + " " + std::to_string(s.updates) + " " +
                            std::to_string(s.lastGoodNs) + "\n");
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
  auto text = readAll(path);
  if (!text || bootId.empty()) return std::nullopt;
  std::istringstream in(*text);
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

std::string currentBootId() {
  auto id = readAll("/proc/sys/kernel/random/boot_id");
  if (!id) return "";
  std::string s = *id;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "-" : s;
}

int updatesAtStart(const std::optional<StepState>& saved, const std::string& bootId) {
  return saved && !bootId.empty() && saved->bootId == bootId ? saved->updates : 0;
}

}  // namespace horloge::clockd
