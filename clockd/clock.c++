#include "clock.h"
#include "log.h"

namespace horloge::clockd {

namespace {

class ObserveClock final: public Clock {
public:
  explicit ObserveClock(const char* n): n(n) {}
  const char* name() const override { return n; }
  void discipline(const SourceStats&) override {}   // by definition: never touch the clock
private:
  const char* n;
};

}  // namespace

kj::Own<Clock> makeClock(horloge::ClockBackend kind) {
  switch (kind) {
    case horloge::ClockBackend::OBSERVE:
      return kj::heap<ObserveClock>("observe");
    case horloge::ClockBackend::SYSTEM:
      // The clock_adjtime discipline is not written yet: say so rather than pretend.
      log::warn("clock system: discipline not implemented yet; observing only");
      return kj::heap<ObserveClock>("system");
    case horloge::ClockBackend::SIM:
      log::warn("clock sim: simulated clock not implemented yet; observing only");
      return kj::heap<ObserveClock>("sim");
  }
  KJ_UNREACHABLE;
}

}  // namespace horloge::clockd
