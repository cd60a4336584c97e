#include "persist.h"
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace horloge::clockd {

namespace {

void writeAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + tmp);
  bool ok = fputs(text.c_str(), f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + path);
  }
}

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
