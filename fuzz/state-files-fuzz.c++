// libFuzzer target for what clockd reads back from its state directory and driftfile
// (clockd/persist.h). The first byte picks the file: 0 the driftfile, 1 clockd.state,
// 2 sim-clock.state (with a fixed model and boot), 3 clockd.temperature; the rest is its text.
//   driftfile: nothing, or a frequency within the kernel's +-500 ppm and a sigma in [0, 100] ppm;
//   clockd.state: nothing, or an update count in [0, MAX_SAVED_UPDATES] (never negative, however
//     large the number written), which round-trips through the format writeStepState() uses;
//   sim-clock.state: nothing, or a state of this boot and this model with finite values.
//   clockd.temperature: nothing, or finite values of a lag the model has, which a model
//     restores and fits from without NaN coefficients in a relation it calls active.
// No exception at all may escape: a damaged file is one clockd starts without.
#include "persist.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace horloge::clockd;

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "state-files-fuzz: violated: %s\n", what);
  abort();
}
#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > MAX_STATE_FILE_BYTES + 1) return 0;   // the readers stop there
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      if (auto d = parseDrift(text)) {
        CHECK(std::isfinite(d->frequency) && std::fabs(d->frequency) <= 500e-6);
        CHECK(std::isfinite(d->sigma) && d->sigma >= 0 && d->sigma <= 100e-6);
      }
      break;
    case 1:
      if (auto s = parseStepState(text)) {
        CHECK(s->updates >= 0 && s->updates <= MAX_SAVED_UPDATES);
        CHECK(!s->bootId.empty());
        auto again = parseStepState(s->bootId + " " + std::to_string(s->updates) + " " +
                                    std::to_string(s->lastGoodNs) + "\n");
        CHECK(again && again->updates == s->updates && again->bootId == s->bootId &&
              again->lastGoodNs == s->lastGoodNs);
        CHECK(updatesAtStart(s, s->bootId) == s->updates);
      }
      break;
    case 3:
      if (auto m = parseTemperatureMemory(text)) {
        TemperatureModel model;
        model.restore(*m);
        TemperatureFit f = model.fit();
        if (f.active) CHECK(std::isfinite(f.linear) && std::isfinite(f.quadratic));
        CHECK(f.reference == m->reference);
      }
      break;
    default: {
      SimClockParams p;   // the default model
      if (auto s = parseSimState(text, "boot-a", p)) {
        CHECK(std::isfinite(s->trueTime) && s->trueTime > 0);
        CHECK(std::isfinite(s->offset) && std::isfinite(s->frequency) &&
              std::isfinite(s->correction));
        CHECK(s->leap >= -1 && s->leap <= 1);
      }
      CHECK(!parseSimState(text, "", p));   // no boot id: never continued
      break;
    }
  }
  return 0;
}
